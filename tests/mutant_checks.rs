//! Checks written for the mutation gate (scripts/mutants): what anisotropy does to a moving
//! front, against the Kobayashi form evaluated from the configuration, and the GPU's
//! Nernst–Planck update compared with the CPU's on c̃ − 1, relatively.

use lipf_core::cpu::xi_rate::{xi_rate, XiRateParams};
use lipf_core::cpu::xi_update::xi_update;
use lipf_core::{Backend, Config, CpuBackend, StopFlag};

/// CODATA 2018 (exact in the SI since 2019): F = e·N_A, R = k_B·N_A.
const E_C: f64 = 1.602_176_634e-19;
const N_A: f64 = 6.022_140_76e23;
const K_B: f64 = 1.380_649e-23;

/// Speed (m/s) of a planar Li front whose normal is the grid's y axis, at uniform overpotential
/// [`ETA_V`] and c̃ = 1, for a one-column configuration `cfg` (its anisotropy, ℓ and grid).
fn anisotropic_front_speed(cfg: &Config) -> f64 {
    let c = lipf_core::Coefficients::from_config(cfg);
    let (ny, dx, ell) = (c.grid.ny, c.grid.dx_m, c.ell_m);
    assert_eq!(c.grid.nx, 1);
    let p = XiRateParams::new(&c, true);
    let y0 = 20e-6;
    let mut xi: Vec<f64> = (0..ny)
        .map(|j| 0.5 * (1.0 - (((j as f64 + 0.5) * dx - y0) / ell).tanh()))
        .collect();
    let phi = vec![0.0; ny];
    let conc = vec![1.0; ny];
    let eta = vec![ETA_V; ny];
    let (mut a, mut g) = (vec![0.0; ny], vec![0.0; ny]);
    let dt = (0.5 * c.dt_allen_cahn_s()).min(0.01);
    let mut run = |xi: &mut Vec<f64>, seconds: f64| {
        let n = (seconds / dt) as usize;
        for _ in 0..n {
            xi_rate(&p, xi, &phi, &conc, &eta, &mut a, &mut g);
            // Uniform η equals the linearisation point: the rate is a − g η.
            for k in 0..ny {
                a[k] -= g[k] * eta[k];
            }
            xi_update(1, dt, &a, None, xi);
        }
        n as f64 * dt
    };
    // The profile first relaxes to the width of its orientation (ℓ√(1 + δ cos 4(θ − θ0))).
    run(&mut xi, RELAX_S);
    let before: f64 = xi.iter().sum::<f64>() * dx;
    let t = run(&mut xi, MEASURE_S);
    let after: f64 = xi.iter().sum::<f64>() * dx;
    (after - before) / t
}

/// Overpotential of the front-speed runs, V.
const ETA_V: f64 = -0.01;
/// Relaxation before the speed is measured: ten relaxation times 1/(Lσ W1) at the rate 1 /s
/// (20 s changed the speeds by less than 6e-5 of themselves).
const RELAX_S: f64 = 10.0;
/// Interval over which the speed is measured.
const MEASURE_S: f64 = 10.0;

/// A flat front advancing along y (normal angle θ = −90°; the face gradients have no x part)
/// in the Kobayashi model κ(θ) = κ0[1 + δ cos 4(θ − θ0)]. Along a flat front κ is constant and
/// the rotational flux ½κ'(−ξy, ξx) has no divergence, so the profile is the isotropic one with
/// κ0 → κ(θ): the tanh of half-width ℓ_θ = ℓ√(1 + δ cos 4θ0) (W1 unchanged). The reaction term
/// Lη s(ξ) B with s = 6ξ(1−ξ) = −3ℓ_θ ∂ξ/∂y on that profile translates it at
///   v(θ0) = 3ℓ_θ Lη |B| = √(1 + δ cos 4θ0) · i0 |B(η)| / (nF c_s),
/// Lη = i0/(3ℓ nF c_s) and B(η) = e^{(1−α)fη} − e^{−βfη}, all from the configuration with CODATA
/// F and R. Turning the anisotropy's axis θ0 by 0°, 22.5° and 45° puts the front on the stiff
/// axis, halfway and the soft axis: speeds √(1+δ), 1 and √(1−δ) of the isotropic one (ratio
/// stiff/soft √(1.04/0.96) = 1.0408 at the default δ = 0.04).
///
/// The discretisation: the sharp double well makes the lattice logistic of parameter
/// a = 2Δx/ℓ an exact equilibrium of κ0; with κ(θ) ≠ κ0 the discrete profile departs from the
/// logistic of ℓ_θ by O(δ a²). Measured: 1.1e-3 and −1.3e-3 at ℓ = 2Δx (a = 1), 2.4e-4 and
/// −2.7e-4 at ℓ = 4Δx (a = ½) on the stiff and soft axes, 5e-8 halfway (κ = κ0): second order.
/// Asserted: 1e-3 at ℓ = 4Δx, and the error shrinking 3–6× from ℓ = 2Δx to 4Δx.
#[test]
fn flat_front_speed_follows_the_kobayashi_stiffness_of_its_orientation() {
    let mut cfg = Config::default();
    cfg.domain.grid_spacing_um = 0.25;
    cfg.domain.width_um = 0.25;
    cfg.domain.height_um = 40.0;
    cfg.model.cross_term_over_w1 = 0.0;
    cfg.model.anisotropy_mode = 4;
    // The profile relaxes to the width of its orientation at the rate Lσ·W1: at the default
    // 1e-3 /s it would keep its initial (isotropic) width over the whole run.
    cfg.model.allen_cahn_rate_per_s = 1.0;
    let delta = cfg.model.anisotropy_strength;
    assert!(delta > 0.0);
    let m = &cfg.material;
    let nf = m.charge_number * E_C * N_A;
    let f = nf / (K_B * N_A * m.temperature_k);
    let b = ((1.0 - m.transfer_coefficient_anodic) * f * ETA_V).exp()
        - (-m.transfer_coefficient_cathodic * f * ETA_V).exp();
    let v_iso = m.exchange_current_density_a_m2 * b.abs() / (nf * m.li_site_density_mol_m3);
    let angles = [0.0, 22.5, 45.0];
    // Relative errors per interface width (ℓ = 0.5 and 1.0 µm) and orientation.
    let mut errors = Vec::new();
    for ell_um in [0.5, 1.0] {
        cfg.model.interface_half_width_um = Some(ell_um);
        let mut speeds = Vec::new();
        let mut errs = Vec::new();
        for theta0_deg in angles {
            cfg.model.anisotropy_angle_deg = theta0_deg;
            let v = anisotropic_front_speed(&cfg);
            let factor = (1.0 + delta * (4.0 * f64::to_radians(theta0_deg)).cos()).sqrt();
            let expected = factor * v_iso;
            let err = v / expected - 1.0;
            eprintln!(
                "ℓ = {ell_um} µm, θ0 = {theta0_deg}°: v = {v:.6e} m/s, √(1 + δ cos 4θ0) i0|B|/(nF c_s) \
                 = {expected:.6e} m/s (factor {factor:.5}, rel. {err:.1e})"
            );
            speeds.push(v);
            errs.push(err);
        }
        let ratio = speeds[0] / speeds[2];
        let expected = ((1.0 + delta) / (1.0 - delta)).sqrt();
        eprintln!(
            "ℓ = {ell_um} µm: stiff/soft speed ratio {ratio:.6}, √((1+δ)/(1−δ)) = {expected:.6}"
        );
        errors.push((ell_um, errs, ratio / expected - 1.0));
    }
    let (_, coarse, _) = &errors[0];
    let (_, fine, ratio_err) = &errors[1];
    for (k, theta0_deg) in angles.iter().enumerate() {
        assert!(
            fine[k].abs() < 1e-3,
            "ℓ = 4Δx, θ0 = {theta0_deg}°: speed off by {:e}",
            fine[k]
        );
    }
    assert!(
        ratio_err.abs() < 1e-3,
        "ℓ = 4Δx: stiff/soft ratio off by {ratio_err:e}"
    );
    for k in [0, 2] {
        let shrink = coarse[k] / fine[k];
        assert!(
            (3.0..6.0).contains(&shrink),
            "θ0 = {}°: error {:e} at ℓ = 2Δx, {:e} at 4Δx: not second order",
            angles[k],
            coarse[k],
            fine[k]
        );
    }
}

/// The GPU device the comparison runs on; None (and a message) without one, unless
/// LIPF_REQUIRE_GPU_ADAPTER=1.
fn device() -> Option<lipf_gpu::GpuContext> {
    let req = lipf_gpu::AdapterRequest {
        allow_software: true,
        name_contains: None,
    };
    match lipf_gpu::GpuContext::new(&req) {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            if std::env::var("LIPF_REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") {
                panic!("LIPF_REQUIRE_GPU_ADAPTER=1 but no adapter: {e}");
            }
            eprintln!("skipped: no GPU adapter ({e}); set LIPF_REQUIRE_GPU_ADAPTER=1 to make this a failure");
            None
        }
    }
}

/// c̃ − 1 is ~1e-6 of the smoke case at Nernst–Einstein diffusivity, a few f32 spacings of
/// c̃ ≈ 1, so there it cannot be compared relatively. With D_p half its Nernst–Einstein value
/// migration carries only half the ionic current and diffusion the rest: a gradient
/// |∇c̃| = (1 − D/D_NE) i/(nF c0 D) = i f/σ_p (2.4e-3 per µm at 2 A/m²) grows from the interface,
/// and max|c̃ − 1| is 1.5e-2 after 2 s. The GPU's c̃ must match the CPU's within 1e-2 of that
/// deviation (f32 storage of c̃ costs 6e-8/1.5e-2 = 4e-6 of it per rounding; measured 2.3e-4 on
/// lavapipe); without its Nernst–Planck sub-steps the GPU would leave c̃ = 1 (difference 1).
#[test]
fn gpu_nernst_planck_deviation_of_c_matches_the_cpu_relatively() {
    let Some(ctx) = device() else {
        return;
    };
    let mut cfg = super::cell_checks::smoke();
    let m = &cfg.material;
    let nf = m.charge_number * E_C * N_A;
    let f = nf / (K_B * N_A * m.temperature_k);
    let d_ne = m.llzo_conductivity_s_m / (nf * m.li_ion_concentration_mol_m3 * f);
    cfg.material.llzo_diffusivity_m2_s = Some(0.5 * d_ne);
    cfg.time.max_dt_s = Some(0.25);
    let until = 2.0;
    cfg.time.end_time_s = until;
    let mut cpu = CpuBackend::new(&cfg).expect("initial state");
    let state = Backend::state(&mut cpu).clone();
    let geometry = cpu.geometry().clone();
    let mut gpu =
        lipf_gpu::GpuBackend::with_state(ctx, &cfg, state, geometry).expect("GPU backend");
    let stop = StopFlag::new();
    let t0 = std::time::Instant::now();
    cpu.advance(until, &stop).expect("CPU run");
    let t1 = std::time::Instant::now();
    gpu.advance(until, &stop).expect("GPU run");
    let t2 = std::time::Instant::now();
    let c = cpu.state().conc.clone();
    let g = gpu.state().conc.clone();
    let dev_cpu = c.iter().fold(0.0f64, |a, x| a.max((x - 1.0).abs()));
    let dev_gpu = g.iter().fold(0.0f64, |a, x| a.max((x - 1.0).abs()));
    let diff = c
        .iter()
        .zip(&g)
        .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
    let rel = diff / dev_cpu;
    eprintln!(
        "t = {until} s (CPU {:.1} s, GPU {:.1} s): max|c̃ − 1| CPU {dev_cpu:.4e}, GPU {dev_gpu:.4e}; \
         max|Δc̃| {diff:.3e} = {rel:.2e} of the CPU's deviation",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64()
    );
    assert!(
        dev_cpu > 1e-4,
        "c̃ − 1 = {dev_cpu:e}: too small to compare relatively"
    );
    assert!(
        rel < 1e-2,
        "GPU c̃ − 1 differs from the CPU's by {rel:e} of its largest value"
    );
}
