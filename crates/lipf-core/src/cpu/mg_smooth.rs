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
    let ptr = SharedMut(x.as_mut_ptr());
    let row = |j: usize| {
        let p = ptr;
        // SAFETY: this closure writes only cells of row j with (i + j) % 2 == colour and reads
        // cells of the other colour (rows j ± 1 and neighbours i ± 1), which no other row's
        // closure writes during this sweep. Rows are distinct per invocation, so writes never
        // overlap. Reads of same-colour cells happen only within row j (periodic seam, odd nx).
        let x = unsafe { std::slice::from_raw_parts_mut(p.0, nx * ny) };
        let start = (j + colour) % 2;
        let base = j * nx;
        for i in (start..nx).step_by(2) {
            let k = base + i;
            let e = if i + 1 == nx { base } else { k + 1 };
            let w = if i == 0 { base + nx - 1 } else { k - 1 };
            let mut acc = b[k];
            if nx > 1 {
                acc += op.tx[k] * x[e] + op.tx[w] * x[w];
            }
            if j + 1 < ny {
                acc += op.ty[k] * x[k + nx];
            }
            if j > 0 {
                acc += op.ty[k - nx] * x[k - nx];
            }
            x[k] = acc / op.diag[k];
        }
    };
    if nx * ny >= PARALLEL_MIN_CELLS {
        (0..ny).into_par_iter().for_each(row);
    } else {
        (0..ny).for_each(row);
    }
}
