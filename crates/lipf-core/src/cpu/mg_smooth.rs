//! One red–black Gauss–Seidel colour sweep on A x = b (see [`super::operator`]).
//! Twin: `shaders/mg_smooth.wgsl`.
//!
//! Cells with (i + j + k) mod 2 == colour are updated from their neighbours, which all have the
//! other colour except across a periodic seam of odd length:
//! - in x (odd nx), where the row's own thread has already updated cell 0 before cell nx−1 reads
//!   it;
//! - in z (odd nz > 1), between the first and the last z-section: the last section is swept after
//!   all the others, from their new values.
//!
//! So the result is deterministic and the same on any number of threads.

use super::operator::Operator;
use super::par::{SharedMut, PARALLEL_MIN_CELLS};
use rayon::prelude::*;

/// The x-rows swept before the last z-section: all rows, or (odd nz > 1) those of sections
/// 0..nz−1. The rest, the last section, is swept after them.
pub fn rows_before_last_section(ny: usize, nz: usize) -> usize {
    if nz > 1 && nz % 2 == 1 {
        (nz - 1) * ny
    } else {
        nz * ny
    }
}

pub fn mg_smooth(op: &Operator, b: &[f64], x: &mut [f64], colour: usize) {
    let (nx, ny, nz) = (op.nx, op.ny, op.nz);
    let n = op.cells();
    assert!(b.len() >= n && x.len() >= n);
    let ptr = SharedMut(x.as_mut_ptr());
    // The operator's arrays as slices, so that the loop below keeps their addresses in
    // registers instead of reloading them through `op` for every cell.
    let (tx, ty, tz, diag) = (&op.tx[..n], &op.ty[..n], &op.tz[..], &op.diag[..n]);
    let row = |r: usize| {
        let p = ptr;
        let nb = op.row(r);
        let base = r * nx;
        let (txr, tyr, dr, br) = (
            &tx[base..base + nx],
            &ty[base..base + nx],
            &diag[base..base + nx],
            &b[base..base + nx],
        );
        let tys = match nb.south {
            Some(s) => &ty[s..s + nx],
            None => &[][..],
        };
        let (tzr, tzb) = match nb.back {
            Some(bk) => (&tz[base..base + nx], &tz[bk..bk + nx]),
            None => (&[][..], &[][..]),
        };
        // SAFETY: this closure writes only cells of row r with (i + j + k) % 2 == colour and
        // reads cells of the other colour (rows j ± 1 and k ± 1, neighbours i ± 1), which no
        // other row's closure writes during this pass, except across the odd seams: in x within
        // row r (this thread), in z the last section's, which are written only in the second
        // pass, when no other section runs. All indices are below nx·ny·nz (asserted above).
        // Rows are distinct per invocation, so writes never overlap. Raw pointers, not slices,
        // because other rows' closures write other cells of the same array at the same time.
        let xr = unsafe { p.0.add(base) };
        let at = |q: *mut f64, i: usize| unsafe { *q.add(i) };
        let xn = nb.north.map(|q| unsafe { p.0.add(q) });
        let xs = nb.south.map(|q| unsafe { p.0.add(q) });
        let xf = nb.front.map(|q| unsafe { p.0.add(q) });
        let xb = nb.back.map(|q| unsafe { p.0.add(q) });
        let start = (nb.j + nb.k + colour) % 2;
        for i in (start..nx).step_by(2) {
            let e = if i + 1 == nx { 0 } else { i + 1 };
            let w = if i == 0 { nx - 1 } else { i - 1 };
            let mut acc = br[i];
            if nx > 1 {
                acc += txr[i] * at(xr, e) + txr[w] * at(xr, w);
            }
            if let Some(q) = xn {
                acc += tyr[i] * at(q, i);
            }
            if let Some(q) = xs {
                acc += tys[i] * at(q, i);
            }
            if let (Some(f), Some(bk)) = (xf, xb) {
                acc += tzr[i] * at(f, i) + tzb[i] * at(bk, i);
            }
            unsafe { *xr.add(i) = acc / dr[i] };
        }
    };
    let rows = ny * nz;
    let split = rows_before_last_section(ny, nz);
    let run = |range: std::ops::Range<usize>| {
        if n >= PARALLEL_MIN_CELLS {
            range.into_par_iter().for_each(row);
        } else {
            range.for_each(row);
        }
    };
    run(0..split);
    run(split..rows);
}
