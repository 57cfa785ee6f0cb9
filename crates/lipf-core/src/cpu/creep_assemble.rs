//! Li creep (docs/models/phase-field.md §9.10): the step's pressure problem of the metal as a
//! symmetric positive definite 5-point problem, solved by the multigrid-preconditioned CG of the
//! potentials.
//!
//! Li that a step put where the cell has no room, e_k = (ξ_k + ϕ_k − 1)₊ (at a Li/LLZO contact,
//! or ξ > 1 in the metal), is displaced through the metal by a Darcy flow u = −K ∇p toward
//! cells with free room f_k = (1 − ϕ_k − ξ_k)₊ (free surfaces toward pores, an opening contact).
//! This is an obstacle problem: a cell either stays a free surface (p_k = 0, taking up at most
//! its room) or fills up (it takes up f_k, and p_k ≥ 0 is whatever pushes the rest on). The CPU
//! backend solves it by a primal–dual active-set iteration over the set of cells that fill
//! (`full`); each iteration is the linear problem written here. Over one backward-Euler step of
//! Δt the pressure p (Pa) solves
//!   Σ_n T_kn (p_k − p_n) + S_k p_k = e_k − [k full] f_k,
//!   T_kn = Δt K m_kn / Δx²,  m_kn = ½(m_k + m_n),  m = clamp(ξ, 0, 1)  (flow through metal),
//!   S_k = Δt K γ / Δx² (free: a penalty that holds p_k ≈ 0 as γ grows),
//!   S_k = Δt K ε / Δx² (full),
//! and the step ends with ξ_k ← ξ_k − e_k + [k full] f_k + S_k p_k ([`super::creep_finish`]):
//! every cell gives up its excess, a full cell takes up its room, a free one what flowed in.
//! Summed over the cells the face terms cancel, so the net uptake is minus the flow through the
//! boundaries: metal is conserved to the solver's residual. With an open collector the bottom
//! face (half a cell to the boundary, which holds the stack pressure p_s) has
//! T = 2Δt K m_k/Δx² and adds T p_s to the right-hand side; a closed collector and the top have
//! no flux; x is periodic. ε = [`PRESSURE_FLOOR`] keeps the operator definite in cells with
//! neither room nor metal (deep in the LLZO).

use super::operator::Operator;
use super::par::for_rows;
use crate::coefficients::CreepCoefficients;

/// ε: the uptake coefficient of a full cell, in units of K/Δx². Small enough that this uptake is
/// ~1e-9 of the flow, large enough to keep the operator definite.
pub const PRESSURE_FLOOR: f64 = 1e-9;

/// Li beyond the room the scaffold leaves, (ξ + ϕ − 1)₊.
#[inline(always)]
pub fn excess(xi: f64, phi: f64) -> f64 {
    (xi + phi - 1.0).max(0.0)
}

/// Free room (1 − ϕ − ξ)₊.
#[inline(always)]
pub fn free_room(xi: f64, phi: f64) -> f64 {
    (1.0 - phi - xi).max(0.0)
}

/// The metal fraction that carries the flow, clamp(ξ, 0, 1).
#[inline(always)]
pub fn metal(xi: f64) -> f64 {
    xi.clamp(0.0, 1.0)
}

/// Writes the operator (face conductances T, diagonal S, cached diagonal) and the right-hand
/// side of one creep step of `dt_s` for the fields ξ and ϕ after the step's ξ update and the
/// cells that fill (`full`), with a grid of `nx` × `ny` cells of `dx_m`.
#[allow(clippy::too_many_arguments)]
pub fn creep_assemble(
    cr: &CreepCoefficients,
    nx: usize,
    ny: usize,
    dx_m: f64,
    dt_s: f64,
    xi: &[f64],
    phi: &[f64],
    full: &[bool],
    op: &mut Operator,
    rhs: &mut [f64],
) {
    assert_eq!((op.nx, op.ny), (nx, ny), "the operator's grid");
    let scale = dt_s * cr.mobility_m2_pa_s / (dx_m * dx_m);
    let row = |j: usize, i: usize| j * nx + i;
    // No metal flows through the top boundary.
    op.set_faces(|k, n| scale * 0.5 * (metal(xi[k]) + metal(xi[n])), |_| 0.0);
    for (i, t) in op.tbot.iter_mut().enumerate() {
        *t = if cr.open_collector {
            2.0 * scale * metal(xi[i])
        } else {
            0.0
        };
    }
    for_rows(&mut op.s, nx, |j, out| {
        for (i, s) in out.iter_mut().enumerate() {
            let k = row(j, i);
            *s = scale * if full[k] { PRESSURE_FLOOR } else { cr.penalty };
        }
    });
    op.update_diagonal();
    let tbot = &op.tbot;
    for_rows(rhs, nx, |j, out| {
        for (i, b) in out.iter_mut().enumerate() {
            let k = row(j, i);
            *b = excess(xi[k], phi[k])
                - if full[k] {
                    free_room(xi[k], phi[k])
                } else {
                    0.0
                }
                + if j == 0 {
                    tbot[i] * cr.stack_pressure_pa
                } else {
                    0.0
                };
        }
    });
}

/// The set a step starts from: the cells without room fill (`full[k]` = no free room).
/// Twin: `creep_first_guess` in `shaders/creep_active_set.wgsl`.
pub fn first_guess(xi: &[f64], phi: &[f64], full: &mut [bool]) {
    for ((f, &x), &p) in full.iter_mut().zip(xi).zip(phi) {
        *f = free_room(x, p) == 0.0;
    }
}

/// One update of the active set after a solve with diagonal `s` and pressure `p`: a free cell
/// that took up more than its room fills; a filling cell with room whose pressure came out
/// negative (its inflow would not fill it) becomes free. Returns whether the set changed.
pub fn update_active_set(s: &[f64], p: &[f64], xi: &[f64], phi: &[f64], full: &mut [bool]) -> bool {
    let mut changed = false;
    for k in 0..full.len() {
        let room = free_room(xi[k], phi[k]);
        if !full[k] && s[k] * p[k] > room {
            full[k] = true;
            changed = true;
        } else if full[k] && room > 0.0 && p[k] < 0.0 {
            full[k] = false;
            changed = true;
        }
    }
    changed
}
