//! The conserved Langevin noise on ξ (docs/models/phase-field.md §9.11) on whole runs of the CPU
//! backend: it moves Li without creating any (the charge balance holds as without it), it is a
//! pure function of the seed (the same seed reproduces a run bitwise, also across a restart from
//! a saved state), and its increments have the variance A²Δt Σ m² the model prescribes.

use crate::cell_checks::smoke;
use lipf_core::cpu::xi_noise::xi_noise;
use lipf_core::observables::{faraday_error, li_in_electrolyte_mol_m2};
use lipf_core::{Backend, Config, CpuBackend, StopFlag};

fn noisy(amplitude: f64, seed: u64) -> Config {
    let mut cfg = smoke();
    cfg.model.noise_amplitude_per_sqrt_s = amplitude;
    cfg.model.noise_seed = seed;
    cfg.time.max_dt_s = Some(0.25);
    cfg
}

fn run(cfg: &Config, t: f64) -> CpuBackend {
    let mut b = CpuBackend::new(cfg).expect("initial state");
    b.advance(t, &StopFlag::new()).expect("run succeeds");
    b
}

/// The largest |a − b| over two fields.
fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn noise_moves_li_without_creating_any_and_the_charge_balance_holds() {
    let t = 3.0;
    let mut plain = run(&noisy(0.0, 0), t);
    let mut noisy_run = run(&noisy(0.05, 3), t);
    let moved = max_diff(&plain.state().xi, &noisy_run.state().xi);
    let (cp, cn) = (plain.coeffs.clone(), noisy_run.coeffs.clone());
    let (ep, en) = (
        faraday_error(&cp, plain.state()),
        faraday_error(&cn, noisy_run.state()),
    );
    let (lp, ln) = (
        plain.state().leakage_charge_c_m2,
        noisy_run.state().leakage_charge_c_m2,
    );
    eprintln!(
        "after {t} s: noise moved ξ by up to {moved:.3}; Faraday error {ep:e} without, {en:e} \
         with noise; leakage {lp:e} and {ln:e} C/m²"
    );
    assert!(moved > 0.02, "the noise changes the morphology ({moved})");
    // The Li gained equals the charge plated (the charge less the electrons that leak to the
    // counter electrode) as closely with the noise as without it: the noise moves Li and
    // creates none.
    let (ip, inn) = (
        li_in_electrolyte_mol_m2(&cp, plain.state()),
        li_in_electrolyte_mol_m2(&cn, noisy_run.state()),
    );
    eprintln!(
        "Li beyond the room the scaffold leaves, at every ξ: {ip:e} without, {inn:e} with noise"
    );
    // The noise moves no Li into cells without room (its weight vanishes there, §9.11): the Li
    // beyond the room and the leakage it draws stay those of the run without noise (measured:
    // 1.0005× and 0.9998×; 65× and 21× when the weight ignored the room).
    assert!(
        inn < 1.1 * ip,
        "Li beyond the room: {inn:e} with noise against {ip:e} without"
    );
    assert!(
        (ln - lp).abs() < 0.1 * lp,
        "leakage {ln:e} with noise against {lp:e} without"
    );
    assert!(ep < 1e-6, "Faraday error without noise {ep:e}");
    assert!(en < 1e-6, "Faraday error with noise {en:e}");
}

#[test]
fn the_same_seed_reproduces_a_run_bitwise_also_across_a_restart() {
    let cfg = noisy(0.05, 42);
    // Both land on 1 s (a run lands on every output time), then go on to 2 s.
    let mut straight = run(&cfg, 1.0);
    straight.advance(2.0, &StopFlag::new()).unwrap();
    let mut first = run(&cfg, 1.0);
    let state = Backend::state(&mut first).clone();
    let mut resumed = CpuBackend::with_state(&cfg, state, first.geometry().clone());
    resumed.advance(2.0, &StopFlag::new()).unwrap();
    let (mut a, mut b) = (straight, resumed);
    assert_eq!(a.state().step, b.state().step);
    assert!(
        a.state().xi == b.state().xi,
        "a restart at 1 s continues the same noise (max diff {:e})",
        max_diff(&a.state().xi, &b.state().xi)
    );
    let mut other = run(&noisy(0.05, 43), 2.0);
    assert!(
        max_diff(&a.state().xi, &other.state().xi) > 1e-3,
        "another seed, another run"
    );
}

#[test]
fn noise_increments_have_the_prescribed_variance() {
    // ξ = ½ everywhere: m = 1 on every face, so the increment of an interior cell, √Δt D, is
    // the sum of four independent faces' A√Δt ζ with unit variance: variance 4A²Δt; rows at the
    // top and bottom have three faces. Over 64 × 64 cells and 20 steps the sample variance is
    // within 2 % (standard error 0.5 %).
    let (nx, ny) = (64, 64);
    let (a, dt): (f64, f64) = (0.3, 0.04);
    let xi = vec![0.5; nx * ny];
    let phi = vec![0.0; nx * ny];
    let mut d = vec![0.0; nx * ny];
    let (mut s, mut s2, mut expected, mut count) = (0.0, 0.0, 0.0, 0.0);
    for step in 0..20 {
        xi_noise([nx, ny, 1], a, 1.0, 9, step, &xi, &phi, &mut d);
        for j in 0..ny {
            let faces = if j == 0 || j + 1 == ny { 3.0 } else { 4.0 };
            for i in 0..nx {
                let inc = dt.sqrt() * d[j * nx + i];
                s += inc;
                s2 += inc * inc;
                expected += faces * a * a * dt;
                count += 1.0;
            }
        }
        let total: f64 = d.iter().sum();
        assert!(total.abs() < 1e-12, "step {step}: Σ D = {total:e}");
    }
    let var = s2 / count;
    let want = expected / count;
    eprintln!(
        "increment variance {var:e}, prescribed {want:e}, mean {:e}",
        s / count
    );
    assert!(
        (var / want - 1.0).abs() < 0.02,
        "variance {var:e} against {want:e}"
    );
}
