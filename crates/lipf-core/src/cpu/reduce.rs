//! The sums of the conjugate-gradient scalars (`solver.rs`): dot products and L1 norms over a
//! grid's cells, summed per row and then over rows in a fixed order (deterministic, parallel
//! over rows). Twin: `shaders/reduce.wgsl` (per-workgroup partials, finished by
//! `cg_control.wgsl`; the two-block entries are the sums of both blocks).

use super::par::sum_rows;

/// Σ a·b over the nx × ny cells.
pub fn dot(a: &[f64], b: &[f64], nx: usize, ny: usize) -> f64 {
    sum_rows(ny, nx * ny, |j| {
        let r = j * nx..(j + 1) * nx;
        a[r.clone()].iter().zip(&b[r]).map(|(x, y)| x * y).sum()
    })
}

/// Σ |a| over the nx × ny cells.
pub fn l1(a: &[f64], nx: usize, ny: usize) -> f64 {
    sum_rows(ny, nx * ny, |j| {
        a[j * nx..(j + 1) * nx].iter().map(|v| v.abs()).sum()
    })
}
