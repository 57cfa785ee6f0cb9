//! The end of a creep step ([`super::creep_assemble`]): every cell gives up its excess
//! (ξ + ϕ − 1)₊, a cell that fills takes up its room, every cell takes up S_k p_k, and the flow
//! through an open collector is returned.

use super::creep_assemble::{excess, free_room};
use super::operator::Operator;
use super::par::for_rows;

/// The uptake of cell k: its room if it fills, else what flowed in, S_k p_k (plus S_k p_k, the
/// floor's share, if it fills).
#[inline(always)]
pub fn uptake(full: bool, s: f64, pressure: f64, xi: f64, phi: f64) -> f64 {
    (if full { free_room(xi, phi) } else { 0.0 }) + s * pressure
}

/// Updates ξ_k ← ξ_k − e_k + uptake_k and returns the metal that left through the bottom
/// boundary, Σ_i T_bot,i (p_i − p_s), in cell volumes (negative when it came in).
pub fn creep_finish(
    op: &Operator,
    stack_pressure_pa: f64,
    pressure: &[f64],
    phi: &[f64],
    full: &[bool],
    xi: &mut [f64],
) -> f64 {
    let nx = op.nx;
    for_rows(xi, nx, |j, out| {
        for (i, x) in out.iter_mut().enumerate() {
            let k = j * nx + i;
            *x = *x - excess(*x, phi[k]) + uptake(full[k], op.s[k], pressure[k], *x, phi[k]);
        }
    });
    (0..nx)
        .map(|i| op.tbot[i] * (pressure[i] - stack_pressure_pa))
        .sum()
}
