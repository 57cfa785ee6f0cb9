//! ξ rate, split into a part that does not depend on the new potential and its linearisation
//! in the overpotential (docs/models/phase-field.md §9.3, the equation for ∂ξ/∂t).
//! Twin: `shaders/xi_rate.wgsl`.
//!
//! For every cell:
//!   r_ac = −Lσ [f'_W(ξ) + 2A ξ ϕ² + 2B (ξ−ξc)₊ [ϕ>½] − (∂x Jx + ∂y Jy)]   (obstacle: `obstacle_slope`)
//!   f'_W = 2W1 ξ(1−ξ)(1−2ξ) (polynomial) or (2W1/a²) Λ_a(ξ) (sharp, see [`sharp_lambda`])
//!   J    = (κ1 ξx − ½κ1' ξy,  κ1 ξy + ½κ1' ξx),  κ1(θ) = κ0[1 + δ cos ω(θ − θ0)]
//!   G(η) = −Lη s(ξ) [exp((1−α) f η) − c̃ exp(−β f η)],  f = nF/RT,  s = 6ξ(1−ξ)
//!   (s replaces the seed's h'(ξ); see `interp::reaction_shape`)
//! and around the previous overpotential η*, G(η) ≈ G(η*) − g (η − η*) with
//!   g = Lη s(ξ) f [(1−α) exp((1−α) f η*) + β c̃ exp(−β f η*)] ≥ 0.
//! Outputs: a = r_ac + G(η*) + g η* and g, so that the rate is r = a − g η.
//!
//! The obstacle is stiff (2LσB ≈ 2 s⁻¹ at the defaults) and is taken by backward Euler over the
//! step Δt_p the limits known before the solve allow (`obstacle_step_s`), see
//! [`implicit_obstacle`]: no step limit from B, and the equilibrium of the explicit form.
//!
//! J lives on cell faces: on an east face ξx is the two-point difference and ξy the mean of the
//! two cells' central differences (and symmetrically on north faces). With δ = 0 the gradient
//! term is exactly the 5-point Laplacian κ0 ∇²ξ. ξ has no flux through the bottom and top.

use super::electronic_assemble::in_band;
use super::interp::reaction_shape;
use super::operator::row_neighbours;
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
    /// Sections along z (1: a 2D section). With nz > 1 the gradient term gains the z faces'
    /// fluxes κ0 ∂zξ (isotropic: `Config::validate` refuses anisotropy in 3D).
    pub nz: usize,
    pub inv_dx_m: f64,
    pub l_sigma: f64,
    pub w1: f64,
    pub a_cross: f64,
    pub b_obstacle: f64,
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
    /// Lattice parameter a = 2Δx/ℓ of the translation-invariant ("sharp") double well; 0 selects
    /// the polynomial form 2W1 ξ(1−ξ)(1−2ξ).
    pub sharp_a: f64,
    /// e^a and e^{−a}, computed once (used by [`sharp_lambda`] in every cell).
    pub exp_sharp_a: f64,
    pub exp_minus_sharp_a: f64,
    /// The obstacle keeps ξ + ϕ ≤ 1 in every cell (two-potential form, [`room_obstacle_slope`])
    /// instead of ξ ≤ 0.45 where ϕ > ½, and the chemical potential of ξ enters the reaction
    /// ([`chemical_overpotential`]).
    pub room_obstacle: bool,
    /// 1/(nF c_s), m³ V/J: a free-energy density (J/m³) per Li as a potential.
    pub inv_nf_cs: f64,
    /// The rectifying interphase's band, ip_phi_lo ≤ ϕ < ip_phi_hi (both 0: none): the layer
    /// separates the Li from the electrolyte, so ξ is held there (a = g = 0; §9.9).
    pub ip_phi_lo: f64,
    pub ip_phi_hi: f64,
    /// Δt_p, s: the step over which the obstacle is taken implicitly (0: explicitly, the form
    /// for callers that pick their own small step). The backends set it each step to
    /// min(stability limit, max Δt, time left to the target), the step the time step will take
    /// unless the largest-ξ-change limit shortens it.
    pub obstacle_step_s: f64,
}

impl XiRateParams {
    pub fn new(c: &Coefficients, reaction_on: bool) -> XiRateParams {
        let sharp_a = if c.sharp_double_well {
            2.0 * c.grid.dx_m / c.ell_m
        } else {
            0.0
        };
        XiRateParams {
            nx: c.grid.nx,
            ny: c.grid.ny,
            nz: c.grid.nz,
            inv_dx_m: 1.0 / c.grid.dx_m,
            l_sigma: c.l_sigma_m3_js,
            w1: c.w1_j_m3,
            a_cross: c.a_cross_j_m3,
            b_obstacle: c.b_obstacle_j_m3,
            kappa0: c.kappa0_j_m,
            delta: c.anisotropy_strength,
            omega: c.anisotropy_mode,
            theta0: c.anisotropy_angle_rad,
            l_eta: c.l_eta_per_s,
            f: c.f_over_rt_per_v,
            alpha: c.alpha,
            beta: c.beta,
            reaction_on,
            sharp_a,
            exp_sharp_a: sharp_a.exp(),
            exp_minus_sharp_a: (-sharp_a).exp(),
            room_obstacle: c.overpotential == crate::config::OverpotentialForm::TwoPotential,
            inv_nf_cs: 1.0 / (c.nf_c_mol * c.cs_mol_m3),
            ip_phi_lo: c.interphase_phi_lo,
            ip_phi_hi: c.interphase_phi_hi,
            obstacle_step_s: 0.0,
        }
    }
}

/// ξ above which the scaffold obstacle acts (inside the scaffold, ϕ > ½). Below ½ so that a cell
/// of the scaffold never becomes majority Li; above the 0.38 that a Li/LLZO contact cell holds at
/// ℓ = 2Δx, so that a flat contact can take up ~0.3 cell (70 nm) of plating before it locks.
pub const OBSTACLE_XI_THRESHOLD: f64 = 0.45;

/// ∂/∂ξ of the scaffold obstacle B (ξ − ξc)₊² [ϕ > ½]: zero outside the scaffold and below ξc
/// ([`OBSTACLE_XI_THRESHOLD`]). ϕ is static, so the step in ϕ is only a fixed spatial mask.
#[inline(always)]
pub fn obstacle_slope(b: f64, xi: f64, phi: f64) -> f64 {
    if phi > 0.5 {
        2.0 * b * (xi - OBSTACLE_XI_THRESHOLD).max(0.0)
    } else {
        0.0
    }
}

/// ∂/∂ξ of the room obstacle B (ξ + ϕ − 1)₊²: Li and LLZO share a cell only as far as their
/// volume fractions fit. Continuous in ξ and ϕ (no mask, no threshold), zero at every contact the
/// builder makes (ξ = min(ξ_Li, 1 − ϕ)) and in pores.
#[inline(always)]
pub fn room_obstacle_slope(b: f64, xi: f64, phi: f64) -> f64 {
    2.0 * b * (xi + phi - 1.0).max(0.0)
}

/// The largest Δt_p of a run, s: min(stability limit, max Δt) with the implicit obstacle, 0
/// (the explicit obstacle) without. `obstacle_dt_cap` of `xi_rate.wgsl`.
pub fn obstacle_dt_cap_s(implicit: bool, dt_stable_s: f64, max_dt_s: Option<f64>) -> f64 {
    if implicit {
        dt_stable_s.min(max_dt_s.unwrap_or(f64::INFINITY))
    } else {
        0.0
    }
}

/// Δt_p of the implicit obstacle, min(cap, time left to the target), s (0: explicit): the step
/// `time_step` takes unless the largest-ξ-change limit shortens it. The device forms it the
/// same way in `xi_rate.wgsl` from `obstacle_dt_cap` and the control record's remaining time.
pub fn obstacle_step_s(cap_s: f64, remaining_s: f64) -> f64 {
    cap_s.min(remaining_s).max(0.0)
}

/// The obstacle's signed excess in a cell: ξ + ϕ − 1 (room obstacle) or ξ − ξc where ϕ > ½
/// (scaffold obstacle); `None` where no obstacle acts (scaffold obstacle, ϕ ≤ ½).
#[inline(always)]
pub fn obstacle_excess(p: &XiRateParams, xi: f64, phi: f64) -> Option<f64> {
    if p.room_obstacle {
        Some(xi + phi - 1.0)
    } else if phi > 0.5 {
        Some(xi - OBSTACLE_XI_THRESHOLD)
    } else {
        None
    }
}

/// The obstacle by backward Euler over Δt_p = `p.obstacle_step_s` (0: the explicit (a, g)
/// unchanged). Model of the cell's rate: r = r0 − J e₊, with e the obstacle's excess
/// ([`obstacle_excess`]), J = 2B (Lσ + g/(nF c_s)) its stiffness (Allen–Cahn, and in the
/// two-potential form its pressure through the reaction slope g) and r0 = r + J e₊ the rate
/// without it. Backward Euler of e' = r0 − J e₊ over Δt_p: with ẽ = e + Δt_p r0 the excess the
/// step would reach without the obstacle, the end excess is ẽ if ẽ ≤ 0, else ẽ/(1 + J Δt_p); as
/// a rate, r0 in the first case and (r0 − J e)/(1 + J Δt_p) in the second. The branch is chosen
/// at the linearisation point η* (where the two rates are equal at ẽ = 0: continuous in ξ and ϕ);
/// each branch is linear in η, so the result is again (a, g). No step limit from B; a steady
/// excess (r = 0) is the explicit form's; a cell filling from below its room reaches the room
/// within the step instead of overshooting it. Charge stays exact: the potential's source is
/// this same rate.
#[inline(always)]
pub fn implicit_obstacle(
    p: &XiRateParams,
    excess: Option<f64>,
    eta_star: f64,
    a: f64,
    g: f64,
) -> (f64, f64) {
    let Some(e) = excess else {
        return (a, g);
    };
    if p.obstacle_step_s <= 0.0 {
        return (a, g);
    }
    let reaction = if p.room_obstacle {
        g * p.inv_nf_cs
    } else {
        0.0
    };
    let j = 2.0 * p.b_obstacle * (p.l_sigma + reaction);
    let a0 = a + j * e.max(0.0);
    if e + p.obstacle_step_s * (a0 - g * eta_star) > 0.0 {
        let d = 1.0 / (1.0 + j * p.obstacle_step_s);
        ((a0 - j * e) * d, g * d)
    } else {
        (a0, g)
    }
}

/// The chemical potential of the Li phase field as a potential, μ/(nF c_s) with
/// μ = δF/δξ = ∂f0/∂ξ − ∇·J (J/m³), in the two-potential form; 0 otherwise. The reaction's
/// driving force is η + μ/(nF c_s): at a relaxed interface μ = 0 and nothing changes; on a
/// curved one it is the Gibbs–Thomson shift; where Li is pressed into a cell without room the
/// room obstacle makes it the work of that pressure (pΩ/F, the stress term of Monroe and
/// Newman), which opposes plating there and favours stripping, so the current goes where Li has
/// room instead of compressing it. B = 1000 W1 gives 1.6 V per unit of excess ξ.
#[inline(always)]
pub fn chemical_overpotential(p: &XiRateParams, mu_j_m3: f64) -> f64 {
    if p.room_obstacle {
        mu_j_m3 * p.inv_nf_cs
    } else {
        0.0
    }
}

/// Discrete Laplacian (times Δx²) of the logistic profile p_k = 1/(1 + e^{(x_k − x0)/ℓ'}) with
/// lattice parameter a = Δx/ℓ', written as a function of the local value p alone:
///   Λ_a(p) = p/(p + (1−p)e^a) + p/(p + (1−p)e^{−a}) − 2p.
/// Λ_a(p) = a² p(1−p)(1−2p) + O(a⁴). Using κ0 Λ_a(ξ)/Δx² for ∂f/∂ξ makes the discrete tanh an
/// exact equilibrium at every offset from the lattice (no Peierls pinning of flat fronts).
/// `exp_a` and `exp_minus_a` are e^a and e^{−a}.
#[inline(always)]
pub fn sharp_lambda(p: f64, exp_a: f64, exp_minus_a: f64) -> f64 {
    let q = 1.0 - p;
    p / (p + q * exp_a) + p / (p + q * exp_minus_a) - 2.0 * p
}

/// ∂/∂ξ of the Li double well, W1 ξ²(1−ξ)², in the chosen discretisation (module docs).
#[inline(always)]
pub fn double_well_slope(p: &XiRateParams, x: f64) -> f64 {
    let poly = |x: f64| 2.0 * p.w1 * x * (1.0 - x) * (1.0 - 2.0 * x);
    if p.sharp_a == 0.0 {
        return poly(x);
    }
    // Outside [0, 1] the polynomial's excess is added so that overshoots are pulled back.
    let xc = x.clamp(0.0, 1.0);
    // κ0/Δx² = 2W1/a², since 2W1 = 4κ0/ℓ² and a = 2Δx/ℓ.
    2.0 * p.w1 / (p.sharp_a * p.sharp_a) * sharp_lambda(xc, p.exp_sharp_a, p.exp_minus_sharp_a)
        + poly(x)
        - poly(xc)
}

/// Anisotropic flux component pair (Jx, Jy) for a face gradient (gx, gy).
#[inline(always)]
pub fn kobayashi_flux(p: &XiRateParams, gx: f64, gy: f64) -> (f64, f64) {
    #[cfg(feature = "mutants")]
    if crate::mutants::active("no-anisotropy") {
        return (p.kappa0 * gx, p.kappa0 * gy);
    }
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
    #[cfg(feature = "mutants")]
    let xc = if crate::mutants::active("no-concentration-factor") {
        (-p.beta * p.f * ec).exp()
    } else {
        xc
    };
    let slope = p.f * ((1.0 - p.alpha) * xa + p.beta * xc);
    #[cfg(feature = "mutants")]
    if crate::mutants::active("reaction-sign") {
        return (-(xa - xc + slope * (eta - ec)), -slope);
    }
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
    let (nx, ny, nz) = (p.nx, p.ny, p.nz);
    let inv_dx = p.inv_dx_m;
    let east = |i: usize| if i + 1 == nx { 0 } else { i + 1 };
    let west = |i: usize| if i == 0 { nx - 1 } else { i - 1 };
    let up = |j: usize| (j + 1).min(ny - 1);
    let down = |j: usize| j.saturating_sub(1);
    for_rows2(a_out, g_out, nx, |r, arow, grow| {
        // The x–y section of this row: cell (i, j) of it is sec[j·nx + i].
        let (j, kz) = (r % ny, r / ny);
        let sec = &xi[kz * ny * nx..(kz + 1) * ny * nx];
        let at = |i: usize, j: usize| sec[j * nx + i];
        // Flux through the east face of (i, j).
        let jx_east = |i: usize, j: usize| -> f64 {
            let e = east(i);
            let gx = (at(e, j) - at(i, j)) * inv_dx;
            let gy =
                0.25 * inv_dx * (at(i, up(j)) - at(i, down(j)) + at(e, up(j)) - at(e, down(j)));
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
        // The rows across the front and back faces (nz > 1; z periodic).
        let nb = row_neighbours(r, nx, ny, nz);
        let z_rows = nb
            .front
            .zip(nb.back)
            .map(|(f, b)| (&xi[f..f + nx], &xi[b..b + nx]));
        for i in 0..nx {
            let k = r * nx + i;
            let x = xi[k];
            let ph = phi[k];
            let mut flux = jx_east(i, j) - jx_east(west(i), j) + jy_north(i, j)
                - if j > 0 { jy_north(i, j - 1) } else { 0.0 };
            if let Some((front, back)) = z_rows {
                // κ0 ∂zξ on the front face minus the back face's.
                flux += p.kappa0 * (front[i] - x) * inv_dx - p.kappa0 * (x - back[i]) * inv_dx;
            }
            let div = flux * inv_dx;
            let obstacle = if p.room_obstacle {
                room_obstacle_slope(p.b_obstacle, x, ph)
            } else {
                obstacle_slope(p.b_obstacle, x, ph)
            };
            let df0 = double_well_slope(p, x) + 2.0 * p.a_cross * x * ph * ph + obstacle;
            let mu = df0 - div;
            let r_ac = -p.l_sigma * mu;
            let (mut a, mut g) = (r_ac, 0.0);
            if in_band(ph, p.ip_phi_lo, p.ip_phi_hi) {
                // The interphase's band: ξ is held (every change of ξ carries charge, and the
                // layer passes no Li).
                a = 0.0;
            } else if p.reaction_on {
                let w = p.l_eta * reaction_shape(x);
                if w > 0.0 {
                    let eta = eta_star[k];
                    let (b, db) = butler_volmer(p, eta + chemical_overpotential(p, mu), conc[k]);
                    g = w * db;
                    a += -w * b + g * eta;
                }
            }
            let (a, g) = if in_band(ph, p.ip_phi_lo, p.ip_phi_hi) {
                (a, g)
            } else {
                implicit_obstacle(p, obstacle_excess(p, x, ph), eta_star[k], a, g)
            };
            arow[i] = a;
            grow[i] = g;
        }
    });
}
