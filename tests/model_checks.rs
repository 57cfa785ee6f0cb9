//! docs/models/phase-field.md §13.1–§13.4 (checks 1–4) on the CPU reference kernels: the ξ
//! equation against closed forms.

use lipf_core::cpu::xi_rate::{xi_rate, XiRateParams};
use lipf_core::cpu::xi_update::xi_update;

/// Kernel parameters for a bare Allen–Cahn problem (no anisotropy, no cross term, no reaction).
fn bare_params(nx: usize, ny: usize, dx: f64, w1: f64, l_sigma: f64, kappa: f64) -> XiRateParams {
    XiRateParams {
        nx,
        ny,
        nz: 1,
        inv_dx_m: 1.0 / dx,
        l_sigma,
        w1,
        a_cross: 0.0,
        b_obstacle: 0.0,
        kappa0: kappa,
        delta: 0.0,
        omega: 4,
        theta0: 0.0,
        l_eta: 0.0,
        f: 38.92,
        alpha: 0.5,
        beta: 0.5,
        reaction_on: false,
        sharp_a: 0.0,
        exp_sharp_a: 1.0,
        exp_minus_sharp_a: 1.0,
        room_obstacle: false,
        inv_nf_cs: 0.0,
        ip_phi_lo: 0.0,
        ip_phi_hi: 0.0,
        obstacle_step_s: 0.0,
    }
}

// ---------------------------------------------------------------------------------------------
// Check 1: PFHub benchmark 7 (manufactured solution).

const KAPPA: f64 = 4e-4;
const A1: f64 = 0.0075;
const B1: f64 = 8.0 * std::f64::consts::PI;
const A2: f64 = 0.03;
const B2: f64 = 22.0 * std::f64::consts::PI;
const C2: f64 = 0.0625 * std::f64::consts::PI;

/// Exact solution and its source term S = ∂ξ/∂t + f'(ξ) − κ∇²ξ (W = L = 1).
fn bm7_exact(x: f64, y: f64, t: f64) -> (f64, f64) {
    let s2k = (2.0 * KAPPA).sqrt();
    let arg2 = B2 * x + C2 * t;
    let a = 0.25 + A1 * t * (B1 * x).sin() + A2 * arg2.sin();
    let a_t = A1 * (B1 * x).sin() + A2 * C2 * arg2.cos();
    let a_x = A1 * t * B1 * (B1 * x).cos() + A2 * B2 * arg2.cos();
    let a_xx = -A1 * t * B1 * B1 * (B1 * x).sin() - A2 * B2 * B2 * arg2.sin();
    let u = (y - a) / s2k;
    let th = u.tanh();
    let xi = 0.5 * (1.0 - th);
    let xi_u = -0.5 * (1.0 - th * th);
    let xi_uu = th * (1.0 - th * th);
    let xi_t = xi_u * (-a_t / s2k);
    let lap = xi_uu * (a_x * a_x + 1.0) / (2.0 * KAPPA) + xi_u * (-a_xx / s2k);
    let df = 2.0 * xi * (1.0 - xi) * (1.0 - 2.0 * xi);
    (xi, xi_t + df - KAPPA * lap)
}

/// Runs benchmark 7 on an nx × nx/2 grid of [0,1]×[0,0.5] to t = 8; returns the L2 error.
pub(crate) fn bm7_l2_error(nx: usize) -> f64 {
    bm7_l2_error_3d(nx, Bm7Layout::Section)
}

/// Where benchmark 7's periodic direction lies on the grid.
#[derive(Debug, Clone, Copy)]
enum Bm7Layout {
    /// Along x on a 2D section (the benchmark as published).
    Section,
    /// Along x, the problem extruded over `nz` sections along z.
    Extruded(usize),
    /// Along z on a grid one cell wide in x: the z faces carry the whole x-part of the Laplacian.
    AlongZ,
}

/// Benchmark 7 with its periodic direction (n cells of 1/n) laid out as `layout` says; the
/// L2 error over the benchmark's area (per section when extruded).
fn bm7_l2_error_3d(n_periodic: usize, layout: Bm7Layout) -> f64 {
    let ny = n_periodic / 2;
    let h = 1.0 / n_periodic as f64;
    let (nx, nz) = match layout {
        Bm7Layout::Section => (n_periodic, 1),
        Bm7Layout::Extruded(nz) => (n_periodic, nz),
        Bm7Layout::AlongZ => (1, n_periodic),
    };
    let mut p = bare_params(nx, ny, h, 1.0, 1.0, KAPPA);
    p.nz = nz;
    let t_end = 8.0;
    // Forward Euler at 1/4 of the diffusive limit, so that the spatial error dominates.
    let steps = (t_end / (h * h / (4.0 * KAPPA) / 4.0)).ceil() as usize;
    let dt = t_end / steps as f64;
    let n = nx * ny * nz;
    // (periodic coordinate, y) of cell k.
    let coord = |k: usize| {
        let (i, j, kz) = (k % nx, (k / nx) % ny, k / (nx * ny));
        let periodic = match layout {
            Bm7Layout::AlongZ => kz,
            _ => i,
        };
        ((periodic as f64 + 0.5) * h, (j as f64 + 0.5) * h)
    };
    let mut xi: Vec<f64> = (0..n)
        .map(|k| bm7_exact(coord(k).0, coord(k).1, 0.0).0)
        .collect();
    let zeros = vec![0.0; n];
    let (mut a, mut g) = (vec![0.0; n], vec![0.0; n]);
    for s in 0..steps {
        let t = s as f64 * dt;
        xi_rate(&p, &xi, &zeros, &zeros, &zeros, &mut a, &mut g);
        for (k, r) in a.iter_mut().enumerate() {
            let (x, y) = coord(k);
            *r += bm7_exact(x, y, t).1;
        }
        xi_update(nx, dt, &a, None, &mut xi);
    }
    let err2: f64 = (0..n)
        .map(|k| {
            let (x, y) = coord(k);
            (xi[k] - bm7_exact(x, y, t_end).0).powi(2)
        })
        .sum();
    (err2 * h * h / (n / (n_periodic * ny)) as f64).sqrt()
}

/// Benchmark 7 in three dimensions (issue "Three dimensions", check 1): extruded along z over
/// three sections it gives the 2D error, and laid along z (one cell in x) the z faces carry
/// the benchmark's periodic direction and give the same error: the z flux of the gradient term
/// is the x flux's discretisation. Equal to 1e-9 (the same arithmetic, summed in another order).
#[test]
fn pfhub_benchmark7_extruded_and_along_z_gives_the_2d_errors() {
    let n = 100;
    let e2 = bm7_l2_error_3d(n, Bm7Layout::Section);
    let ext = bm7_l2_error_3d(n, Bm7Layout::Extruded(3));
    let along_z = bm7_l2_error_3d(n, Bm7Layout::AlongZ);
    eprintln!("BM7 L2 error at h = 1/{n}: 2D {e2:.9e}, extruded {ext:.9e}, along z {along_z:.9e}");
    assert!((ext / e2 - 1.0).abs() < 1e-9, "extruded {ext} against {e2}");
    assert!(
        (along_z / e2 - 1.0).abs() < 1e-9,
        "along z {along_z} against {e2}"
    );
}

#[test]
fn pfhub_benchmark7_converges_at_second_order_and_matches_published_errors() {
    let hs = [100usize, 196, 384];
    let errs: Vec<f64> = hs.iter().map(|&n| bm7_l2_error(n)).collect();
    eprintln!("PFHub BM7 L2 errors: {:?} for nx = {:?}", errs, hs);
    let order = |i: usize| (errs[i] / errs[i + 1]).ln() / (hs[i + 1] as f64 / hs[i] as f64).ln();
    for i in 0..2 {
        assert!(
            order(i) >= 1.8,
            "observed order {} between nx = {} and {}",
            order(i),
            hs[i],
            hs[i + 1]
        );
    }
    // Published (forward Euler, 5-point Laplacian): 7.81e-3 at h = 1e-2, 1.53e-3 at 5.13e-3.
    let published_h1 = 7.81e-3;
    let published_h2 = 1.53e-3 * (1.0 / 196.0 / 5.13e-3f64).powi(2); // rescaled to h = 1/196
    assert!(
        errs[0] < 2.0 * published_h1 && errs[0] > published_h1 / 2.0,
        "h = 1e-2: {}",
        errs[0]
    );
    assert!(
        errs[1] < 2.0 * published_h2 && errs[1] > published_h2 / 2.0,
        "h = 1/196: {}",
        errs[1]
    );
}

// ---------------------------------------------------------------------------------------------
// Check 2: a flat interface relaxes to ½[1 − tanh(y/ℓ)].

#[test]
fn flat_interface_relaxes_to_equilibrium_tanh_profile() {
    let (ny, dx) = (160usize, 0.25e-6);
    let gamma = 0.5;
    let ell = 2.0 * dx;
    let (w1, kappa) = (6.0 * gamma / ell, 3.0 * gamma * ell);
    let p = bare_params(1, ny, dx, w1, 15.0 / w1, kappa);
    let y0 = 80.0 * dx;
    // Start from a sharp step at y0.
    let mut xi: Vec<f64> = (0..ny)
        .map(|j| {
            if ((j as f64 + 0.5) * dx) < y0 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let zeros = vec![0.0; ny];
    let (mut a, mut g) = (vec![0.0; ny], vec![0.0; ny]);
    let dt = 0.2 * dx * dx / (4.0 * p.l_sigma * kappa);
    for _ in 0..((3.0 / dt) as usize) {
        xi_rate(&p, &xi, &zeros, &zeros, &zeros, &mut a, &mut g);
        xi_update(1, dt, &a, None, &mut xi);
    }
    let worst = (0..ny)
        .map(|j| {
            let y = (j as f64 + 0.5) * dx;
            (xi[j] - 0.5 * (1.0 - ((y - y0) / ell).tanh())).abs()
        })
        .fold(0.0f64, f64::max);
    // Discretisation error of a profile resolved by 2 cells per ℓ.
    assert!(
        worst < 0.01,
        "largest deviation from the tanh profile {worst}"
    );
}

// ---------------------------------------------------------------------------------------------
// Checks 3 and 4: a flat front under uniform η and c̃.

/// Front velocity (m/s) of a planar Li front at uniform overpotential and concentration.
///
/// ℓ = 0.5 µm on the default 0.25 µm grid (ℓ = 2Δx), default model otherwise.
pub(crate) fn planar_front_velocity(eta_v: f64, conc: f64) -> (f64, f64) {
    planar_front_velocity_at(eta_v, conc, 0.25)
}

fn planar_front_velocity_at(eta_v: f64, conc: f64, dx_um: f64) -> (f64, f64) {
    let mut cfg = lipf_core::Config::default();
    cfg.domain.grid_spacing_um = dx_um;
    cfg.model.interface_half_width_um = Some(0.5);
    cfg.domain.width_um = dx_um;
    cfg.domain.height_um = 40.0;
    cfg.model.cross_term_over_w1 = 0.0;
    cfg.model.anisotropy_strength = 0.0;
    let c = lipf_core::Coefficients::from_config(&cfg);
    let (ny, dx, ell) = (c.grid.ny, c.grid.dx_m, c.ell_m);
    let p = XiRateParams::new(&c, true);
    let y0 = 20e-6;
    let mut xi: Vec<f64> = (0..ny)
        .map(|j| 0.5 * (1.0 - (((j as f64 + 0.5) * dx - y0) / ell).tanh()))
        .collect();
    let phi = vec![0.0; ny];
    let cv = vec![conc; ny];
    let eta = vec![eta_v; ny];
    let (mut a, mut g) = (vec![0.0; ny], vec![0.0; ny]);
    let dt = (0.5 * c.dt_allen_cahn_s()).min(0.01);
    let mut run = |xi: &mut Vec<f64>, seconds: f64| {
        for _ in 0..((seconds / dt) as usize) {
            xi_rate(&p, xi, &phi, &cv, &eta, &mut a, &mut g);
            // Uniform η equals the linearisation point, so the rate is a − g η = r_ac + G(η).
            for k in 0..ny {
                a[k] -= g[k] * eta[k];
            }
            xi_update(1, dt, &a, None, xi);
        }
        (seconds / dt) as usize as f64 * dt
    };
    run(&mut xi, 2.0); // let the profile settle
    let before: f64 = xi.iter().sum::<f64>() * dx;
    let t = run(&mut xi, 20.0);
    let after: f64 = xi.iter().sum::<f64>() * dx;
    let f = c.f_over_rt_per_v;
    let b = ((1.0 - c.alpha) * f * eta_v).exp() - conc * (-c.beta * f * eta_v).exp();
    ((after - before) / t, -3.0 * ell * c.l_eta_per_s * b)
}

#[test]
fn planar_front_moves_at_3_ell_l_eta_b_at_three_overpotentials() {
    for eta in [-0.005, -0.01, -0.02] {
        let (v, expected) = planar_front_velocity(eta, 1.0);
        let rel = (v - expected).abs() / expected.abs();
        eprintln!(
            "η = {eta} V: v = {v:.5e} m/s, 3ℓLη|B| = {expected:.5e} m/s, rel. error {rel:.2e}"
        );
        assert!(
            rel < 0.02,
            "η = {eta}: v = {v:e}, expected {expected:e} ({rel:.3})"
        );
    }
}

#[test]
fn flat_front_is_stationary_at_the_nernst_overpotential() {
    let conc: f64 = 0.5;
    let f = lipf_core::units::FARADAY_C_MOL / (lipf_core::units::GAS_CONSTANT_J_MOL_K * 298.15);
    let nernst = conc.ln() / f;
    let (v_nernst, _) = planar_front_velocity(nernst, conc);
    let (v_off, _) = planar_front_velocity(nernst - 0.005, conc);
    eprintln!("Nernst η = {nernst:.5} V: v = {v_nernst:e}; 5 mV below: v = {v_off:e}");
    assert!(v_off.abs() > 0.0);
    assert!(
        v_nernst.abs() < 1e-3 * v_off.abs(),
        "front moves at the Nernst potential: {v_nernst:e} vs {v_off:e}"
    );
}

// ---------------------------------------------------------------------------------------------
// The sharp double well (docs/models/phase-field.md §3, §13.2): the lattice tanh is stationary at
// every offset from the grid.

/// Largest |∂ξ/∂t| · (1/(Lσ W1)) of the sampled tanh ½[1 − tanh((y − y0)/ℓ)] with its centre
/// `offset` cells above a cell centre, at ℓ = `cells_per_ell` Δx, with the sharp double well
/// (`sharp` = true) or the polynomial one; no reaction, no anisotropy. The largest |ξ − ½ ...|
/// is taken over the cells whose value lies in [1e-6, 1 − 1e-6] (the tails are stationary for
/// both forms to their own rounding).
fn relative_rate_of_sampled_tanh(cells_per_ell: f64, offset: f64, sharp: bool) -> f64 {
    let ny = 400usize;
    let dx = 0.25e-6;
    let ell = cells_per_ell * dx;
    let gamma = 0.5;
    let (w1, kappa) = (6.0 * gamma / ell, 3.0 * gamma * ell);
    let mut p = bare_params(1, ny, dx, w1, 15.0 / w1, kappa);
    if sharp {
        p.sharp_a = 2.0 * dx / ell;
        p.exp_sharp_a = p.sharp_a.exp();
        p.exp_minus_sharp_a = (-p.sharp_a).exp();
    }
    let y0 = (200.0 + 0.5 + offset) * dx;
    let xi: Vec<f64> = (0..ny)
        .map(|j| 0.5 * (1.0 - (((j as f64 + 0.5) * dx - y0) / ell).tanh()))
        .collect();
    let zeros = vec![0.0; ny];
    let (mut a, mut g) = (vec![0.0; ny], vec![0.0; ny]);
    xi_rate(&p, &xi, &zeros, &zeros, &zeros, &mut a, &mut g);
    let scale = p.l_sigma * w1;
    a.iter()
        .zip(&xi)
        .filter(|(_, &x)| (1e-6..1.0 - 1e-6).contains(&x))
        .map(|(r, _)| (r / scale).abs())
        .fold(0.0, f64::max)
}

/// The default ("sharp") double well makes the sampled tanh an exact equilibrium of the discrete
/// Allen–Cahn operator at every sub-cell offset: (2W1/a²)Λ_a(ξ) is the 5-point Laplacian of the
/// lattice logistic written in ξ (a = 2Δx/ℓ), so the rate is rounding only (expected ~1e-13 of
/// Lσ W1; asserted 1e-10). The polynomial double well on the same profile is not stationary: its
/// rate is O(a²) (expected ~a²/12 · a few; measured ~1e-2 at ℓ = 2Δx) and changes with the offset
/// (lattice pinning), which is what the sharp form removes.
#[test]
fn sharp_double_well_keeps_the_sampled_tanh_stationary_at_every_sub_cell_offset() {
    for &cells in &[2.0, 4.0] {
        let mut poly = Vec::new();
        for &offset in &[0.0, 0.1, 0.25, 0.37, 0.5] {
            let sharp = relative_rate_of_sampled_tanh(cells, offset, true);
            let polynomial = relative_rate_of_sampled_tanh(cells, offset, false);
            eprintln!(
                "ℓ = {cells} Δx, offset {offset}: sharp {sharp:.2e}, polynomial {polynomial:.2e}"
            );
            assert!(sharp < 1e-10, "ℓ = {cells}Δx, offset {offset}: {sharp:e}");
            poly.push(polynomial);
        }
        let a2 = (2.0 / cells).powi(2);
        assert!(
            poly.iter().all(|&r| r > 1e-3 * a2),
            "the polynomial form should not be stationary: {poly:?}"
        );
        let spread =
            poly.iter().cloned().fold(0.0, f64::max) - poly.iter().cloned().fold(1.0, f64::min);
        assert!(spread > 1e-3 * poly[0], "no offset dependence: {poly:?}");
    }
}

/// The obstacle taken linearly implicitly (docs/models/phase-field.md §4): Li pressed 0.1 beyond
/// the room of every cell (ξ = 0.9, ϕ = 0.2, uniform, no reaction) relaxes monotonically to the
/// steady excess where the double well's pull towards ξ = 1 balances the obstacle, at a step 10× the explicit limit
/// 2/(2LσB) (measured: 4.7e-2 of the initial distance after one step, 1e-15 after 20); the
/// forward-Euler obstacle at that step overshoots by 1 − 2LσBΔt ≈ −19 times the excess, out of
/// [0, 1]. A shorter step than Δt_p (the ξ-change limit cutting
/// the step after the solve) relaxes less per step but still without overshoot.
#[test]
fn the_implicit_obstacle_relaxes_compressed_li_at_steps_beyond_its_explicit_limit() {
    use lipf_core::cpu::xi_rate::{double_well_slope, room_obstacle_slope};
    let mut cfg = lipf_core::Config::default();
    cfg.domain.width_um = 2.0;
    cfg.domain.height_um = 2.0;
    let c = lipf_core::Coefficients::from_config(&cfg);
    let n = c.grid.cells();
    let (phi, conc, eta) = (vec![0.2; n], vec![1.0; n], vec![0.0; n]);
    let mut p = XiRateParams::new(&c, false);
    assert!(p.room_obstacle, "the default form has the room obstacle");
    // The steady ξ: f'_W(ξ) + 2B(ξ + ϕ − 1) = 0, by bisection.
    let force = |x: f64| double_well_slope(&p, x) + room_obstacle_slope(p.b_obstacle, x, 0.2);
    let (mut lo, mut hi) = (0.8, 0.9);
    assert!(force(lo) < 0.0 && force(hi) > 0.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if force(mid) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let xi_star = 0.5 * (lo + hi);
    let dt = 10.0 * c.dt_obstacle_explicit_s();
    let (mut a, mut g) = (vec![0.0; n], vec![0.0; n]);
    // Runs `steps` steps of Δt with the obstacle over Δt_p; |ξ − ξ*| after each.
    let mut relax = |dt_p: f64, dt: f64, steps: usize| -> Vec<f64> {
        p.obstacle_step_s = dt_p;
        let mut xi = vec![0.9; n];
        (0..steps)
            .map(|_| {
                xi_rate(&p, &xi, &phi, &conc, &eta, &mut a, &mut g);
                xi_update(c.grid.nx, dt, &a, None, &mut xi);
                (xi[0] - xi_star) / (0.9 - xi_star)
            })
            .collect()
    };
    let implicit = relax(dt, dt, 20);
    let explicit = relax(0.0, dt, 3);
    let shorter = relax(dt, 0.1 * dt, 20);
    eprintln!(
        "ξ* = {xi_star:.6} (excess {:.2e}); (ξ − ξ*)/(ξ0 − ξ*) per step: implicit at Δt = {dt:.2} s \
         {:.3e} … {:.3e}; explicit {explicit:?}; implicit with Δt = Δt_p/10: {:.3e} … {:.3e}",
        xi_star - 0.8,
        implicit[0],
        implicit[19],
        shorter[0],
        shorter[19]
    );
    for run in [&implicit, &shorter] {
        assert!(
            run.windows(2).all(|w| (0.0..=w[0]).contains(&w[1])) && run[0] < 1.0 && run[0] > 0.0,
            "not a monotone relaxation without overshoot: {run:?}"
        );
    }
    assert!(implicit[19] < 1e-6, "{}", implicit[19]);
    assert!(
        explicit[0] < -10.0,
        "the explicit obstacle did not overshoot: {explicit:?}"
    );
}
