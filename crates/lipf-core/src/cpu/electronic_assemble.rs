//! Assembly of the electronic current-continuity problem of the two-potential form
//! (docs/models/phase-field.md §9.5, §9.6). Twin: `shaders/electronic_assemble.wgsl`.
//!
//! Electrons move in the metal and, weakly, in the electrolyte:
//!   σ_s = σ_e m(ξ) + σ_e,el h(e) + σ_floor   (σ_e capped, none in pores but the floor),
//! with the metal path m = h(min(ξ, 1 − ϕ)) of [`metal_path`]: Li conducts as metal only in the
//! room the scaffold leaves a cell; Li that overlaps the LLZO beyond ξ + ϕ = 1 is not a metal
//! path (docs/models/phase-field.md §9.6). e is the electrolyte's fraction of the cell, ϕ for the
//! solid; with a liquid electrolyte (§9.12) e = min(ϕ, 1 − ξ) and m = h(ξ).
//! Per unit depth and in flux form every cell balances
//!   Σ_faces T_f (φ_s,c − φ_s,nb) = +nF c_s r_c Δx²,   r = (a + g E⁰) − g φ_s + g φ_l,
//! the ionic sink of [`super::potential_assemble`] with the opposite sign: the reaction takes one
//! ion and one electron, so both balances close with the same discrete rate. Hence
//!   S = nF c_s g Δx² (the same diagonal as the ionic problem),  b0 = +nF c_s (a + g E⁰) Δx²,
//! and the coupling −S φ_l is applied by the coupled solver. Boundaries: the collector fixes
//! φ_s = V at the bottom (conductance 2σ_s, half a cell away) and the counter electrode φ_s = 0
//! at the top (electrons that leak through the electrolyte leave there).
//!
//! The rectifying interphase (config `material.interphase`, §9.9): in its band (ϕ_lo ≤ ϕ < ϕ_hi,
//! 3ℓ to 4ℓ into the electrolyte) the metal does not conduct and the layer's forward or reverse
//! ASR over ℓ is in series with the electrolyte's σ_s, chosen by the sign of ∇φ_s·∇ϕ of the
//! previous step's φ_s (central differences): positive means the electronic potential rises
//! into the electrolyte, electrons are pushed from the Li side into it (plating): reverse bias.
//!
//! The response to the collector potential is solved relative to it. Shifting both potentials by
//! a constant leaves η and the reaction unchanged, so φ1 = 1 + ψ1 with ψ1 the solution for the
//! collector at 0 and the counter electrode at −1: b1 = −T_top in the top row of both problems.
//! Solving for φ1 directly would put the metal's conductance (up to 10⁶ σ_p) times 1 V into the
//! right-hand side and ask CG for a current balance 10¹⁶ times smaller than it: measured, CG
//! diverged at a metal cap of 1e7 σ_p.

use super::interp::{electrolyte_fraction, h, metal_room};
use super::operator::Operator;
use crate::coefficients::Coefficients;

/// m(ξ, ϕ) = h(ξ_m), ξ_m = min(ξ, [`metal_room`]): the share of the metal conductivity a cell
/// carries. Beside a solid electrolyte (λ = 0) Li conducts as metal only in the room the
/// scaffold leaves the cell (1 − ϕ); in a liquid (λ = 1) wherever it is.
#[inline(always)]
pub fn metal_path(xi: f64, phi: f64, liquid: f64) -> f64 {
    h(xi.min(metal_room(phi, liquid)))
}

/// Electronic cell conductivity σ_s = σ_e m + σ_e,el h(e) + σ_floor, S/m, with e the
/// [`electrolyte_fraction`].
#[inline(always)]
pub fn electronic_conductivity(c: &Coefficients, xi: f64, phi: f64) -> f64 {
    let liquid = c.liquid();
    c.sigma_e_s_m * metal_path(xi, phi, liquid)
        + c.sigma_e_el_s_m * h(electrolyte_fraction(xi, phi, liquid))
        + c.sigma_floor_s_m
}

/// Whether a cell of scaffold fraction ϕ belongs to the interphase's band (3ℓ to 4ℓ into the
/// electrolyte).
#[inline(always)]
pub fn in_interphase(c: &Coefficients, phi: f64) -> bool {
    in_band(phi, c.interphase_phi_lo, c.interphase_phi_hi)
}

/// lo ≤ ϕ < hi: the interphase's band test, for kernels that carry the bounds in their own
/// parameters (`xi_rate`). Twin: `in_interphase` of `shaders/shared/interp.wgsl`.
#[inline(always)]
pub fn in_band(phi: f64, lo: f64, hi: f64) -> bool {
    phi >= lo && phi < hi
}

/// The ionic conductivity (and Li⁺ diffusivity) of a cell relative to its value without the
/// interphase: in the band the layer's ionic ASR r is in series over the band's width ℓ,
/// σ → σ/(1 + σ r/ℓ) with σ = σ_p (h(ϕ) + σ_floor/σ_p); 1 elsewhere.
#[inline(always)]
pub fn interphase_ionic_scale(c: &Coefficients, phi: f64) -> f64 {
    if in_interphase(c, phi) {
        1.0 / (1.0 + c.ip_ionic_k * (h(phi) + c.sigma_floor_s_m / c.sigma_p_s_m))
    } else {
        1.0
    }
}

/// Electronic conductivity of a band cell, S/m: the electrolyte's σ_e,el h(ϕ) + σ_floor with the
/// layer's ASR/ℓ in series, the reverse ASR when `bias` > 0. No metal path.
#[inline(always)]
pub fn interphase_conductivity(c: &Coefficients, phi: f64, bias: f64) -> f64 {
    let layer = if bias > 0.0 {
        c.ip_reverse_ohm_m
    } else {
        c.ip_forward_ohm_m
    };
    let sigma = c.sigma_e_el_s_m * h(phi) + c.sigma_floor_s_m;
    1.0 / (1.0 / sigma + layer)
}

/// The bias of cell (i, j) of x-row r = k·ny + j across the interphase,
/// (ϕ_E − ϕ_W)(φ_E − φ_W) + (ϕ_N − ϕ_S)(φ_N − φ_S) (+ (ϕ_F − ϕ_B)(φ_F − φ_B) when nz > 1), V:
/// positive when the electronic potential φ_s rises into the electrolyte. x and z are periodic;
/// a neighbour beyond the bottom or top row is the cell itself.
pub fn interphase_bias(
    [nx, ny, nz]: [usize; 3],
    phi: &[f64],
    phi_s: &[f64],
    i: usize,
    r: usize,
) -> f64 {
    let nb = super::operator::row_neighbours(r, nx, ny, nz);
    let k = r * nx + i;
    let e = r * nx + (i + 1) % nx;
    let w = r * nx + (i + nx - 1) % nx;
    let n = nb.north.map_or(k, |q| q + i);
    let s = nb.south.map_or(k, |q| q + i);
    let mut bias =
        (phi[e] - phi[w]) * (phi_s[e] - phi_s[w]) + (phi[n] - phi[s]) * (phi_s[n] - phi_s[s]);
    if let (Some(f), Some(b)) = (nb.front, nb.back) {
        let (f, b) = (f + i, b + i);
        bias += (phi[f] - phi[b]) * (phi_s[f] - phi_s[b]);
    }
    bias
}

/// σ_s of every cell, S/m, with the interphase's cells biased by the electronic potential `phi_s`
/// (the previous step's).
pub fn electronic_conductivities(
    c: &Coefficients,
    xi: &[f64],
    phi: &[f64],
    phi_s: &[f64],
) -> Vec<f64> {
    let g = &c.grid;
    let (nx, shape) = (g.nx, g.shape());
    let mut sigma = vec![0.0; g.cells()];
    for r in 0..g.rows() {
        for i in 0..nx {
            let k = r * nx + i;
            sigma[k] = if in_interphase(c, phi[k]) {
                interphase_conductivity(c, phi[k], interphase_bias(shape, phi, phi_s, i, r))
            } else {
                electronic_conductivity(c, xi[k], phi[k])
            };
        }
    }
    sigma
}

/// Fills `op`, `b0` and `b1` of the electronic problem from the ξ rate's `a` and `g`; `phi_s` is
/// the previous step's electronic potential (it biases the interphase, if any).
#[allow(clippy::too_many_arguments)]
pub fn electronic_assemble(
    c: &Coefficients,
    xi: &[f64],
    phi: &[f64],
    phi_s: &[f64],
    a: &[f64],
    g: &[f64],
    op: &mut Operator,
    b0: &mut [f64],
    b1: &mut [f64],
) {
    let (nx, ny, nz) = (c.grid.nx, c.grid.ny, c.grid.nz);
    let dx2 = c.grid.dx_m * c.grid.dx_m;
    let q = c.nf_c_mol * c.cs_mol_m3 * dx2;
    let sigma = electronic_conductivities(c, xi, phi, phi_s);
    op.set_face_conductances(&sigma);
    for r in 0..ny * nz {
        for i in 0..nx {
            let k = r * nx + i;
            op.s[k] = q * g[k];
            b0[k] = q * (a[k] + g[k] * c.e0_v);
            b1[k] = if r % ny + 1 == ny { -op.ty[k] } else { 0.0 };
        }
    }
    for kz in 0..nz {
        let bottom = &sigma[kz * ny * nx..kz * ny * nx + nx];
        for (t, &s) in op.tbot[kz * nx..(kz + 1) * nx].iter_mut().zip(bottom) {
            *t = 2.0 * s;
        }
    }
    op.update_diagonal();
}
