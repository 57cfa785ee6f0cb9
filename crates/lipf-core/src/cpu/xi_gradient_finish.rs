//! ξ ← ξ + δ after the ξ increment's problem is solved (the semi-implicit gradient term,
//! docs/models/phase-field.md §4.1). Twin: `shaders/xi_gradient_finish.wgsl` (compensated in
//! f32 there, as `xi_update.wgsl`).

use super::par::for_rows;

/// ξ += δ.
pub fn xi_gradient_finish(nx: usize, delta: &[f64], xi: &mut [f64]) {
    for_rows(xi, nx, |r, row| {
        for (x, d) in row.iter_mut().zip(&delta[r * nx..(r + 1) * nx]) {
            *x += d;
        }
    });
}
