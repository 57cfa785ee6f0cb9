//! Row-parallel loops and deterministic reductions for the CPU kernels.
//!
//! Every kernel writes whole rows; a row is always computed by one thread in increasing i, and
//! reductions sum per-row partials in row order, so results are bitwise independent of the
//! number of threads. Small grids run serially: spawning work costs more than it saves there.

use rayon::prelude::*;

/// Grids with fewer cells than this run serially.
pub const PARALLEL_MIN_CELLS: usize = 8192;

/// Calls `f(j, row_j)` for every row of `out` (row length `nx`).
pub fn for_rows<F>(out: &mut [f64], nx: usize, f: F)
where
    F: Fn(usize, &mut [f64]) + Sync + Send,
{
    if out.len() >= PARALLEL_MIN_CELLS {
        out.par_chunks_mut(nx)
            .enumerate()
            .for_each(|(j, r)| f(j, r));
    } else {
        out.chunks_mut(nx).enumerate().for_each(|(j, r)| f(j, r));
    }
}

/// Calls `f(j, row_a, row_b)` for every row of two outputs of equal shape.
pub fn for_rows2<F>(a: &mut [f64], b: &mut [f64], nx: usize, f: F)
where
    F: Fn(usize, &mut [f64], &mut [f64]) + Sync + Send,
{
    assert_eq!(a.len(), b.len());
    if a.len() >= PARALLEL_MIN_CELLS {
        a.par_chunks_mut(nx)
            .zip(b.par_chunks_mut(nx))
            .enumerate()
            .for_each(|(j, (ra, rb))| f(j, ra, rb));
    } else {
        a.chunks_mut(nx)
            .zip(b.chunks_mut(nx))
            .enumerate()
            .for_each(|(j, (ra, rb))| f(j, ra, rb));
    }
}

/// Σ_j f(j) over rows, summed in row order (deterministic).
pub fn sum_rows<F>(ny: usize, cells: usize, f: F) -> f64
where
    F: Fn(usize) -> f64 + Sync + Send,
{
    let partials: Vec<f64> = if cells >= PARALLEL_MIN_CELLS {
        (0..ny).into_par_iter().map(&f).collect()
    } else {
        (0..ny).map(&f).collect()
    };
    partials.iter().sum()
}

/// max_j f(j) over rows (deterministic: max is order-independent).
pub fn max_rows<F>(ny: usize, cells: usize, f: F) -> f64
where
    F: Fn(usize) -> f64 + Sync + Send,
{
    if cells >= PARALLEL_MIN_CELLS {
        (0..ny)
            .into_par_iter()
            .map(&f)
            .reduce(|| f64::NEG_INFINITY, f64::max)
    } else {
        (0..ny).map(&f).fold(f64::NEG_INFINITY, f64::max)
    }
}

/// A raw pointer that may be shared between threads. Used only where disjoint cells of one
/// array are written concurrently (red–black Gauss–Seidel); each use states why it is sound.
#[derive(Clone, Copy)]
pub struct SharedMut(pub *mut f64);
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}
