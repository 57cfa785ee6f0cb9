//! ξ rate, split into a part that does not depend on the new potential and its linearisation
//! in the overpotential (MODEL.md §3, eq. for ∂ξ/∂t). Twin: `shaders/xi_rate.wgsl`.
//!
//! For every cell:
//!   r_ac = −Lσ [2W1 ξ(1−ξ)(1−2ξ) + 2A ξ ϕ² − (∂x Jx + ∂y Jy)]
//!   J    = (κ1 ξx − ½κ1' ξy,  κ1 ξy + ½κ1' ξx),  κ1(θ) = κ0[1 + δ cos ω(θ − θ0)]
//!   G(η) = −Lη h'(ξ) [exp((1−α) f η) − c̃ exp(−β f η)],  f = nF/RT
//! and around the previous overpotential η*, G(η) ≈ G(η*) − g (η − η*) with
//!   g = Lη h'(ξ) f [(1−α) exp((1−α) f η*) + β c̃ exp(−β f η*)] ≥ 0.
//! Outputs: a = r_ac + G(η*) + g η* and g, so that the rate is r = a − g η.
//!
//! J lives on cell faces: on an east face ξx is the two-point difference and ξy the mean of the
//! two cells' central differences (and symmetrically on north faces). With δ = 0 the gradient
//! term is exactly the 5-point Laplacian κ0 ∇²ξ. ξ has no flux through the bottom and top.

use super::interp::dh;
use super::par::for_rows2;
use crate::coefficients::Coefficients;

/// Beyond |η| = this (V) the Butler–Volmer bracket continues linearly with its slope at the
/// bound. Physical overpotentials stay far below it; it only keeps the linearisation finite and
/// the potential operator well conditioned where the Allen–Cahn motion of a surface without an
/// ionic path (Li/pore) asks for an overpotential no reaction could supply.
pub const MAX_BV_OVERPOTENTIAL_V: f64 = 0.5;

/// Parameters of the kernel (SI). Twin: `XiRateParams` in `shaders/xi_rate.wgsl`.
#[derive(Debug, Clone, Copy)]
pub struct XiRateParams {
    pub nx: usize,
    pub ny: usize,
    pub inv_dx_m: f64,
    pub l_sigma: f64,
    pub w1: f64,
    pub a_cross: f64,
    pub kappa0: f64,
    pub delta: f64,
    pub omega: u32,
    pub theta0: f64,
    pub l_eta: f64,
    pub f: f64,
    pub alpha: f64,
    pub beta: f64,
    /// 0 disables the reaction (equilibration, PFHub benchmark).
    pub reaction_on: bool,
}

impl XiRateParams {
    pub fn new(c: &Coefficients, reaction_on: bool) -> XiRateParams {
        XiRateParams {
            nx: c.grid.nx,
            ny: c.grid.ny,
            inv_dx_m: 1.0 / c.grid.dx_m,
            l_sigma: c.l_sigma_m3_js,
            w1: c.w1_j_m3,
            a_cross: c.a_cross_j_m3,
            kappa0: c.kappa0_j_m,
            delta: c.anisotropy_strength,
            omega: c.anisotropy_mode,
            theta0: c.anisotropy_angle_rad,
            l_eta: c.l_eta_per_s,
            f: c.f_over_rt_per_v,
            alpha: c.alpha,
            beta: c.beta,
            reaction_on,
        }
    }
}

/// Anisotropic flux component pair (Jx, Jy) for a face gradient (gx, gy).
#[inline(always)]
pub fn kobayashi_flux(p: &XiRateParams, gx: f64, gy: f64) -> (f64, f64) {
    if p.delta == 0.0 || p.omega == 0 {
        return (p.kappa0 * gx, p.kappa0 * gy);
    }
    let g2 = gx * gx + gy * gy;
    if g2 < 1e-30 * p.inv_dx_m * p.inv_dx_m {
        return (p.kappa0 * gx, p.kappa0 * gy);
    }
    let inv = 1.0 / g2.sqrt();
    // Unit gradient rotated by −θ0, raised to the ω-th power: (cos ωθ', sin ωθ').
    let (c0, s0) = (p.theta0.cos(), p.theta0.sin());
    let (ux, uy) = (gx * inv, gy * inv);
    let (cr, sr) = (ux * c0 + uy * s0, uy * c0 - ux * s0);
    let (mut cw, mut sw) = (1.0, 0.0);
    for _ in 0..p.omega {
        let t = cw * cr - sw * sr;
        sw = cw * sr + sw * cr;
        cw = t;
    }
    let kappa = p.kappa0 * (1.0 + p.delta * cw);
    let half_dkappa = -0.5 * p.kappa0 * p.delta * p.omega as f64 * sw;
    (kappa * gx - half_dkappa * gy, kappa * gy + half_dkappa * gx)
}

/// Butler–Volmer bracket B(η) = exp((1−α) f η) − c̃ exp(−β f η) and its slope dB/dη,
/// continued linearly beyond |η| = [`MAX_BV_OVERPOTENTIAL_V`].
#[inline(always)]
pub fn butler_volmer(p: &XiRateParams, eta: f64, conc: f64) -> (f64, f64) {
    let ec = eta.clamp(-MAX_BV_OVERPOTENTIAL_V, MAX_BV_OVERPOTENTIAL_V);
    let xa = ((1.0 - p.alpha) * p.f * ec).exp();
    let xc = conc.max(0.0) * (-p.beta * p.f * ec).exp();
    let slope = p.f * ((1.0 - p.alpha) * xa + p.beta * xc);
    (xa - xc + slope * (eta - ec), slope)
}

/// Computes `a` and `g` (see the module documentation) for every cell.
pub fn xi_rate(
    p: &XiRateParams,
    xi: &[f64],
    phi: &[f64],
    conc: &[f64],
    eta_star: &[f64],
    a_out: &mut [f64],
    g_out: &mut [f64],
) {
    let (nx, ny) = (p.nx, p.ny);
    let inv_dx = p.inv_dx_m;
    let at = |i: usize, j: usize| xi[j * nx + i];
    let east = |i: usize| if i + 1 == nx { 0 } else { i + 1 };
    let west = |i: usize| if i == 0 { nx - 1 } else { i - 1 };
    let up = |j: usize| (j + 1).min(ny - 1);
    let down = |j: usize| j.saturating_sub(1);
    // Flux through the east face of (i, j).
    let jx_east = |i: usize, j: usize| -> f64 {
        let e = east(i);
        let gx = (at(e, j) - at(i, j)) * inv_dx;
        let gy = 0.25 * inv_dx * (at(i, up(j)) - at(i, down(j)) + at(e, up(j)) - at(e, down(j)));
        kobayashi_flux(p, gx, gy).0
    };
    // Flux through the north face of (i, j); zero through the top boundary (no flux).
    let jy_north = |i: usize, j: usize| -> f64 {
        if j + 1 >= ny {
            return 0.0;
        }
        let (e, w) = (east(i), west(i));
        let gy = (at(i, j + 1) - at(i, j)) * inv_dx;
        let gx = 0.25 * inv_dx * (at(e, j) - at(w, j) + at(e, j + 1) - at(w, j + 1));
        kobayashi_flux(p, gx, gy).1
    };
    for_rows2(a_out, g_out, nx, |j, arow, grow| {
        for i in 0..nx {
            let k = j * nx + i;
            let x = xi[k];
            let ph = phi[k];
            let div = (jx_east(i, j) - jx_east(west(i), j) + jy_north(i, j)
                - if j > 0 { jy_north(i, j - 1) } else { 0.0 })
                * inv_dx;
            let df0 = 2.0 * p.w1 * x * (1.0 - x) * (1.0 - 2.0 * x) + 2.0 * p.a_cross * x * ph * ph;
            let r_ac = -p.l_sigma * (df0 - div);
            let (mut a, mut g) = (r_ac, 0.0);
            if p.reaction_on {
                let w = p.l_eta * dh(x);
                if w > 0.0 {
                    let eta = eta_star[k];
                    let (b, db) = butler_volmer(p, eta, conc[k]);
                    g = w * db;
                    a += -w * b + g * eta;
                }
            }
            arow[i] = a;
            grow[i] = g;
        }
    });
}
