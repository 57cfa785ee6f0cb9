//! Twin of `shaders/observables.wgsl`: the two cell sums behind the observables of every time
//! series, Σξ and Σ(ξ + sϕ − 1)₊ (the Li beyond the room the electrolyte leaves, at any ξ; s = 1
//! for the solid electrolyte, 0 for a liquid, which the Li displaces: there it is ξ's overshoot
//! beyond 1).
//!
//! The device adds compensated f32 partials per workgroup; here the sums are per-row partials
//! added in row order (deterministic, independent of the thread count).

use crate::cpu::par::sum_rows;

/// The two sums over an nx-wide grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellSums {
    /// Σξ over the cells.
    pub xi: f64,
    /// Σ(ξ + sϕ − 1)₊ over the cells.
    pub excess: f64,
}

/// (ξ + sϕ − 1)₊: the Li fraction of a cell beyond the room the electrolyte leaves (`solid` = s:
/// 1 for the solid electrolyte, 0 for a liquid).
#[inline(always)]
pub fn excess_li(xi: f64, phi: f64, solid: f64) -> f64 {
    (xi + solid * phi - 1.0).max(0.0)
}

/// Σξ and Σ(ξ + sϕ − 1)₊ over the cells of rows of width `nx`.
pub fn observables(nx: usize, xi: &[f64], phi: &[f64], solid: f64) -> CellSums {
    CellSums {
        xi: xi_sum(nx, xi),
        excess: excess_sum(nx, xi, phi, solid),
    }
}

/// Σξ over the cells of rows of width `nx` (the first sum of [`observables`]).
pub fn xi_sum(nx: usize, xi: &[f64]) -> f64 {
    sum_rows(xi.len() / nx, xi.len(), |j| {
        xi[j * nx..(j + 1) * nx].iter().sum()
    })
}

/// Σ(ξ + sϕ − 1)₊ over the cells of rows of width `nx` (the second sum of [`observables`]).
pub fn excess_sum(nx: usize, xi: &[f64], phi: &[f64], solid: f64) -> f64 {
    assert_eq!(xi.len(), phi.len());
    sum_rows(xi.len() / nx, xi.len(), |j| {
        (j * nx..(j + 1) * nx)
            .map(|k| excess_li(xi[k], phi[k], solid))
            .sum()
    })
}
