//! The semi-implicit gradient term of the ξ update (`model.allen_cahn_gradient = "implicit"`,
//! docs/models/phase-field.md §4.1): it converges to the explicit update as Δt → 0 (first order),
//! and runs steps beyond the explicit limit with the explicit run's answer and Li conserved. The
//! GPU backend's kernels and runs against these: `tests/gpu_checks.rs`,
//! `xi_gradient_kernels_match_their_twins` and
//! `the_gpu_backend_follows_the_cpu_with_the_implicit_gradient`.

use super::cell_checks::config_path;
use lipf_core::config::{AllenCahnGradient, NernstPlanck, ObstacleStep};
use lipf_core::observables::{faraday_error, li_amount_mol_m2};
use lipf_core::{Backend, Coefficients, Config, CpuBackend, State, StopFlag};

/// The 1.5 µm channel section (24 × 60 cells at 0.25 µm) at spacing `dx_um` with ℓ = 0.5 µm
/// fixed, implicit obstacle and Nernst–Planck, steps of at most `max_dt_s`.
fn channel(dx_um: f64, gradient: AllenCahnGradient, max_dt_s: f64) -> Config {
    let mut c = Config::from_file(&config_path("3d/channels-1.5um-section.json")).unwrap();
    c.domain.grid_spacing_um = dx_um;
    c.model.interface_half_width_um = Some(0.5);
    c.model.obstacle_step = ObstacleStep::Implicit;
    c.model.nernst_planck = NernstPlanck::Implicit;
    c.model.allen_cahn_gradient = gradient;
    c.time.max_dt_s = Some(max_dt_s);
    c
}

fn run(c: &Config, t: f64) -> (Coefficients, State) {
    let mut b = CpuBackend::new(c).unwrap();
    b.advance(t, &StopFlag::new()).unwrap();
    (Coefficients::from_config(c), b.state().clone())
}

/// Below the explicit limit both updates are stable; they differ by the splitting's first-order
/// term β∇²δ: the largest ξ difference after 40 s halves with Δt (measured 8.2e-3, 4.2e-3,
/// 2.1e-3, 1.1e-3 for Δt = 8, 4, 2, 1 s at Δx = ℓ/4; the limit is 16 s).
#[test]
fn the_implicit_gradient_converges_to_the_explicit_update_as_the_step_shrinks() {
    let t = 40.0;
    let c = Coefficients::from_config(&channel(0.125, AllenCahnGradient::Explicit, 1.0));
    assert!(c.dt_allen_cahn_s() > 8.0, "{}", c.dt_allen_cahn_s());
    let mut diffs = Vec::new();
    for dt in [8.0, 4.0, 2.0, 1.0] {
        let (_, e) = run(&channel(0.125, AllenCahnGradient::Explicit, dt), t);
        let (_, i) = run(&channel(0.125, AllenCahnGradient::Implicit, dt), t);
        assert_eq!((e.step, i.step), ((t / dt) as u64, (t / dt) as u64));
        let dv = (i.v_collector / e.v_collector - 1.0).abs();
        let dxi =
            i.xi.iter()
                .zip(&e.xi)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
        eprintln!(
            "Δt {dt} s: V {:.9e} / {:.9e} V, max |Δξ| {dxi:.3e}",
            e.v_collector, i.v_collector
        );
        assert!(
            dv < 1e-3,
            "Δt {dt} s: V {} against {}",
            i.v_collector,
            e.v_collector
        );
        diffs.push(dxi);
    }
    for w in diffs.windows(2) {
        let order = (w[0] / w[1]).log2();
        assert!(
            (0.9..1.1).contains(&order),
            "ξ differences {diffs:?}: order {order}"
        );
    }
}

/// At Δx = ℓ/8 the explicit gradient term caps the step at 4.4 s; the implicit one takes the
/// 10 s the run allows, in about half the steps, with the voltage of a Δt = 0.5 s reference to
/// 1 % (the explicit run: 0.3 %), the explicit run's fronts to 0.02 µm, the same plated Li and a
/// Faraday balance below 1e-7.
#[test]
fn the_implicit_gradient_steps_beyond_the_explicit_limit_with_the_same_answer() {
    let t = 100.0;
    let ce = channel(0.0625, AllenCahnGradient::Explicit, 10.0);
    let limit = ce.time.stability_safety * Coefficients::from_config(&ce).dt_step_limit_s();
    assert!(limit < 5.0, "{limit}");
    let (coeffs, e) = run(&ce, t);
    let ci = channel(0.0625, AllenCahnGradient::Implicit, 10.0);
    assert!(Coefficients::from_config(&ci).dt_step_limit_s() > 100.0);
    let (_, i) = run(&ci, t);
    let (_, reference) = run(&channel(0.0625, AllenCahnGradient::Explicit, 0.5), t);
    let err = |s: &State| (s.v_collector / reference.v_collector - 1.0).abs();
    eprintln!(
        "V error against Δt = 0.5 s: explicit {:.2e}, implicit {:.2e}",
        err(&e),
        err(&i)
    );
    let fe = faraday_error(&coeffs, &e);
    let fi = faraday_error(&coeffs, &i);
    let li = |s: &State| li_amount_mol_m2(&coeffs, s) - s.li_amount0_mol_m2;
    eprintln!(
        "steps {} / {}, V {:.6e} / {:.6e}, Faraday {fe:.2e} / {fi:.2e}, Li {:.9e} / {:.9e}",
        e.step,
        i.step,
        e.v_collector,
        i.v_collector,
        li(&e),
        li(&i)
    );
    assert!(
        i.step * 100 <= e.step * 55,
        "{} against {} steps",
        i.step,
        e.step
    );
    // Both errors are first order in Δt; the implicit one is larger per second of step
    // (measured 1.4e-3 at 4.4 s explicit, 4.6e-3 at 10 s implicit).
    assert!(err(&e) < 3e-3 && err(&i) < 1e-2, "{} {}", err(&e), err(&i));
    assert!((li(&i) / li(&e) - 1.0).abs() < 1e-6);
    assert!(fi < 1e-7 && fe < 1e-7, "{fi} {fe}");
    let info = lipf_core::geometry::build(&ci, &coeffs.grid, coeffs.ell_m).info;
    let (j0, j1) = lipf_core::morphology::scaffold_rows(&coeffs.grid, &info);
    let centre = (0..coeffs.grid.nx)
        .filter(|&x| e.phi[((j0 + j1) / 2) * coeffs.grid.nx + x] < 0.5)
        .collect::<Vec<_>>();
    for &col in &centre {
        let he = lipf_core::morphology::front_height(&e, col, j0, j1);
        let hi = lipf_core::morphology::front_height(&i, col, j0, j1);
        assert!(
            (he - hi).abs() < lipf_core::units::um_to_m(0.02),
            "column {col}: {he} against {hi} m"
        );
    }
}
