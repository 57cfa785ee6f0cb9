//! Assembly of the potential problem (current continuity, docs/models/phase-field.md §9.5) as a
//! 5-point (7-point in 3D) operator and two right-hand sides, φ = φ0 + V φ1 with V the collector potential.
//! Twin: `shaders/potential_assemble.wgsl`.
//!
//! Per unit depth (in 3D per Δx of depth) and in flux form (A/m), every cell balances
//!   Σ_faces σ_f (φ_c − φ_nb) = −nF c_s r_c Δx²,   r = a − g η,
//! with harmonic-mean face conductivities and φ = 0 on the top boundary (distance Δx/2).
//!
//! Consistent form: σ = σ_p min(1, h(ϕ) + h(ξ)) + σ_floor. The ionic potential inside the
//! equipotential metal is an auxiliary field (no ionic current flows there away from the
//! reaction zone); giving the metal side σ_p keeps the diffuse reaction zone from being starved
//! by an artificial insulating layer. Pores keep the floor. η = V − φ − E⁰, so r = (a + g E⁰) − g V + g φ and
//! the reaction enters implicitly (linearised Butler–Volmer, which keeps the coupling stable):
//!   S = nF c_s g Δx²,  b0 = −nF c_s (a + g E⁰) Δx²,  b1 = S;  bottom: no flux (metal side).
//! Two-potential form (default): this kernel assembles the ionic problem with σ_l = σ_p h(e) +
//! σ_floor (ions only in the electrolyte; e = ϕ for the solid, min(ϕ, 1 − ξ) for a liquid, §9.12), with the interphase's ionic ASR in series in its band
//! (§9.9). η = φ_s − φ_l − E⁰ with the electronic potential φ_s
//! of [`super::electronic_assemble`], so r = (a + g E⁰) − g φ_s + g φ_l:
//!   S = nF c_s g Δx²,  b0 = −nF c_s (a + g E⁰) Δx²;  bottom: no ion flux;
//!   b1 = −T_top in the top row: the response to a unit collector potential is solved relative
//!   to it, φ1 = 1 + ψ1 (see `electronic_assemble`).
//! The coupling −S φ_s is applied by the coupled solver ([`crate::solver::CoupledMultigrid`]).
//! Single-potential form: σ = σ_e h(ξ) + σ_p h(ϕ) + σ_floor, η = φ − E⁰ taken from the previous
//! potential (explicit): S = 0, b0 = −nF c_s r Δx², bottom φ = V (b1 = bottom conductance).

use super::electronic_assemble::interphase_ionic_scale;
use super::interp::{electrolyte_fraction, h};
use super::operator::Operator;
use crate::coefficients::Coefficients;
use crate::config::OverpotentialForm;

/// Cell conductivity, S/m.
#[inline(always)]
pub fn cell_conductivity(c: &Coefficients, xi: f64, phi: f64) -> f64 {
    match c.overpotential {
        OverpotentialForm::TwoPotential => {
            let e = electrolyte_fraction(xi, phi, c.liquid());
            interphase_ionic_scale(c, phi) * (c.sigma_p_s_m * h(e) + c.sigma_floor_s_m)
        }
        OverpotentialForm::Consistent => {
            c.sigma_p_s_m * (h(phi) + h(xi)).min(1.0) + c.sigma_floor_s_m
        }
        OverpotentialForm::SinglePotential => {
            c.sigma_e_s_m * h(xi) + c.sigma_p_s_m * h(phi) + c.sigma_floor_s_m
        }
    }
}

/// Fills `op`, `b0` and `b1`. `eta_star` is the overpotential the rate was linearised at.
#[allow(clippy::too_many_arguments)]
pub fn potential_assemble(
    c: &Coefficients,
    xi: &[f64],
    phi: &[f64],
    a: &[f64],
    g: &[f64],
    eta_star: &[f64],
    op: &mut Operator,
    b0: &mut [f64],
    b1: &mut [f64],
) {
    let (nx, ny, nz) = (c.grid.nx, c.grid.ny, c.grid.nz);
    let dx2 = c.grid.dx_m * c.grid.dx_m;
    let q = c.nf_c_mol * c.cs_mol_m3 * dx2;
    let sigma: Vec<f64> = xi
        .iter()
        .zip(phi)
        .map(|(&x, &p)| cell_conductivity(c, x, p))
        .collect();
    op.set_face_conductances(&sigma);
    // The rate is implicit in the potential (consistent and two-potential forms).
    let implicit = c.overpotential != OverpotentialForm::SinglePotential;
    let consistent = c.overpotential == OverpotentialForm::Consistent;
    for r in 0..ny * nz {
        for i in 0..nx {
            let k = r * nx + i;
            if implicit {
                // r = a − g (φ_s − φ − E⁰) = (a + g E⁰) − g φ_s + g φ, φ_s = V (consistent)
                op.s[k] = q * g[k];
                b0[k] = -q * (a[k] + g[k] * c.e0_v);
                b1[k] = if consistent { op.s[k] } else { 0.0 };
            } else {
                op.s[k] = 0.0;
                b0[k] = -q * (a[k] - g[k] * eta_star[k]);
                b1[k] = 0.0;
            }
        }
    }
    if c.overpotential == OverpotentialForm::TwoPotential {
        // Potentials relative to the collector potential (see `electronic_assemble`): the
        // response to V = 1 is 1 + K⁻¹ b1 with the counter electrode at −1 relative to it.
        for kz in 0..nz {
            let top = (kz * ny + ny - 1) * nx;
            for i in 0..nx {
                b1[top + i] = -op.ty[top + i];
            }
        }
    }
    for kz in 0..nz {
        let bottom = kz * ny * nx;
        for i in 0..nx {
            let t = &mut op.tbot[kz * nx + i];
            *t = if implicit {
                0.0
            } else {
                2.0 * sigma[bottom + i]
            };
            if !implicit {
                b1[bottom + i] += *t;
            }
        }
    }
    op.update_diagonal();
}
