//! One red–black Gauss–Seidel colour sweep on A x = b (see [`super::operator`]).
//! Twin: `shaders/mg_smooth.wgsl`.
//!
//! Cells with (i + j) mod 2 == colour are updated from their neighbours, which all have the
//! other colour (except across the periodic seam when nx is odd, where the row's own thread has
//! already updated cell 0 before cell nx−1 reads it, so the result stays deterministic).

use super::operator::Operator;
use super::par::{SharedMut, PARALLEL_MIN_CELLS};
use rayon::prelude::*;

pub fn mg_smooth(op: &Operator, b: &[f64], x: &mut [f64], colour: usize) {
    let (nx, ny) = (op.nx, op.ny);
    assert!(b.len() >= nx * ny && x.len() >= nx * ny);
    let ptr = SharedMut(x.as_mut_ptr());
    // The operator's arrays as slices, so that the loop below keeps their addresses in
    // registers instead of reloading them through `op` for every cell.
    let (tx, ty, diag) = (&op.tx[..nx * ny], &op.ty[..nx * ny], &op.diag[..nx * ny]);
    let row = |j: usize| {
        let p = ptr;
        let base = j * nx;
        let (txr, tyr, dr, br) = (
            &tx[base..base + nx],
            &ty[base..base + nx],
            &diag[base..base + nx],
            &b[base..base + nx],
        );
        let tys = if j > 0 { &ty[base - nx..base] } else { &[][..] };
        let (north, south) = (j + 1 < ny, j > 0);
        // SAFETY: this closure writes only cells of row j with (i + j) % 2 == colour and reads
        // cells of the other colour (rows j ± 1 and neighbours i ± 1), which no other row's
        // closure writes during this sweep; all indices are below nx·ny (asserted above). Rows
        // are distinct per invocation, so writes never overlap. Reads of same-colour cells
        // happen only within row j (periodic seam, odd nx). Raw pointers, not slices, because
        // other rows' closures write other cells of the same array at the same time.
        let xr = unsafe { p.0.add(base) };
        let at = |q: *mut f64, i: usize| unsafe { *q.add(i) };
        let xn = if north {
            unsafe { p.0.add(base + nx) }
        } else {
            xr
        };
        let xs = if south {
            unsafe { p.0.add(base - nx) }
        } else {
            xr
        };
        let start = (j + colour) % 2;
        for i in (start..nx).step_by(2) {
            let e = if i + 1 == nx { 0 } else { i + 1 };
            let w = if i == 0 { nx - 1 } else { i - 1 };
            let mut acc = br[i];
            if nx > 1 {
                acc += txr[i] * at(xr, e) + txr[w] * at(xr, w);
            }
            if north {
                acc += tyr[i] * at(xn, i);
            }
            if south {
                acc += tys[i] * at(xs, i);
            }
            unsafe { *xr.add(i) = acc / dr[i] };
        }
    };
    if nx * ny >= PARALLEL_MIN_CELLS {
        (0..ny).into_par_iter().for_each(row);
    } else {
        (0..ny).for_each(row);
    }
}
