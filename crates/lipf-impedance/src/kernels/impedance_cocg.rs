//! CPU twin of `shaders/impedance_cocg.wgsl`: the vector updates and the scalar steps of
//! Jacobi-preconditioned COCG, in the device's data layout. Each function performs the update of
//! the WGSL entry point of the same name. The finishing steps sum the partials in index order
//! (the device sums them as a strided tree: the same terms, rounded in another order).

use super::{group_of, CocgControl, ImpedanceParams, BREAKDOWN, CONVERGED, LIMIT, RUNNING};
use num_complex::Complex64 as C64;

fn c(v: [f64; 2]) -> C64 {
    C64::new(v[0], v[1])
}

fn a(v: C64) -> [f64; 2] {
    [v.re, v.im]
}

/// Σ partials[0..groups].
pub fn sum_partials(p: &ImpedanceParams, partials: &[[f64; 4]]) -> [f64; 4] {
    partials[..p.groups as usize].iter().fold([0.0; 4], |s, w| {
        [s[0] + w[0], s[1] + w[1], s[2] + w[2], s[3] + w[3]]
    })
}

/// From the partials of `residual` (rᵀz, |r|², |b|²): ρ, rr, bb; converged when
/// rr ≤ accept_tol²·bb; α = β = 0.
pub fn finish_init(p: &ImpedanceParams, partials: &[[f64; 4]], ctl: &mut CocgControl) {
    let s = sum_partials(p, partials);
    ctl.rho = [s[0], s[1]];
    ctl.rr = s[2];
    ctl.bb = s[3];
    ctl.alpha = [0.0; 2];
    ctl.beta = [0.0; 2];
    ctl.state = if s[2] <= p.accept_tol * p.accept_tol * s[3] {
        CONVERGED
    } else {
        RUNNING
    };
}

/// α = ρ / pᵀq (from the partials of `apply_dot`), 0 unless running; breakdown on a zero pᵀq
/// or ρ.
pub fn finish_alpha(p: &ImpedanceParams, partials: &[[f64; 4]], ctl: &mut CocgControl) {
    let s = sum_partials(p, partials);
    ctl.alpha = [0.0; 2];
    if ctl.state != RUNNING {
        return;
    }
    let pq = C64::new(s[0], s[1]);
    let rho = c(ctl.rho);
    if (pq.re == 0.0 && pq.im == 0.0) || (rho.re == 0.0 && rho.im == 0.0) {
        ctl.state = BREAKDOWN;
        return;
    }
    ctl.alpha = a(rho / pq);
}

/// From the partials of `update_xr` (rᵀz, |r|²): counts the iteration, tests convergence and
/// the iteration limit, else β = ρ_new/ρ and ρ = ρ_new.
pub fn finish_beta(p: &ImpedanceParams, partials: &[[f64; 4]], ctl: &mut CocgControl) {
    let s = sum_partials(p, partials);
    ctl.beta = [0.0; 2];
    if ctl.state != RUNNING {
        return;
    }
    ctl.iterations += 1;
    ctl.rr = s[2];
    if s[2] <= p.tol * p.tol * ctl.bb {
        ctl.state = CONVERGED;
        return;
    }
    if ctl.iterations >= p.max_iter {
        ctl.state = LIMIT;
        return;
    }
    let rho_new = C64::new(s[0], s[1]);
    ctl.beta = a(rho_new / c(ctl.rho));
    ctl.rho = [s[0], s[1]];
}

/// x += α p, r −= α q, z = M⁻¹r; partials[w] = (Σ_w rᵀz (re, im), Σ_w |r|², 0).
#[allow(clippy::too_many_arguments)]
pub fn update_xr(
    p: &ImpedanceParams,
    ctl: &CocgControl,
    dinv: &[[C64; 2]],
    x: &mut [C64],
    r: &mut [C64],
    pv: &[C64],
    q: &[C64],
    partials: &mut [[f64; 4]],
) {
    let alpha = c(ctl.alpha);
    partials[..p.groups as usize].fill([0.0; 4]);
    for i in 0..p.n as usize {
        x[i] += alpha * pv[i];
        let ri = r[i] - alpha * q[i];
        r[i] = ri;
        let z = dinv[i][1] * ri;
        let rz = ri * z;
        let w = &mut partials[group_of(i, p.groups)];
        w[0] += rz.re;
        w[1] += rz.im;
        w[2] += ri.norm_sqr();
    }
}

/// p = M⁻¹r + β p.
pub fn update_p(
    p: &ImpedanceParams,
    ctl: &CocgControl,
    dinv: &[[C64; 2]],
    r: &[C64],
    pv: &mut [C64],
) {
    let beta = c(ctl.beta);
    for i in 0..p.n as usize {
        pv[i] = dinv[i][1] * r[i] + beta * pv[i];
    }
}
