//! Residual r = b − A x of the 5-point operator (and the plain product A x).
//! Twin: `shaders/mg_residual.wgsl`.

use super::operator::Operator;
use super::par::for_rows;

/// (A x)_k for one cell.
#[inline(always)]
pub fn apply_cell(op: &Operator, x: &[f64], i: usize, j: usize) -> f64 {
    let (nx, ny) = (op.nx, op.ny);
    let base = j * nx;
    let k = base + i;
    let mut off = 0.0;
    if nx > 1 {
        let e = if i + 1 == nx { base } else { k + 1 };
        let w = if i == 0 { base + nx - 1 } else { k - 1 };
        off += op.tx[k] * x[e] + op.tx[w] * x[w];
    }
    if j + 1 < ny {
        off += op.ty[k] * x[k + nx];
    }
    if j > 0 {
        off += op.ty[k - nx] * x[k - nx];
    }
    op.diag[k] * x[k] - off
}

/// r = b − A x.
pub fn mg_residual(op: &Operator, b: &[f64], x: &[f64], r: &mut [f64]) {
    let nx = op.nx;
    for_rows(r, nx, |j, row| {
        for (i, v) in row.iter_mut().enumerate() {
            *v = b[j * nx + i] - apply_cell(op, x, i, j);
        }
    });
}

/// y = A x.
pub fn mg_apply(op: &Operator, x: &[f64], y: &mut [f64]) {
    let nx = op.nx;
    for_rows(y, nx, |j, row| {
        for (i, v) in row.iter_mut().enumerate() {
            *v = apply_cell(op, x, i, j);
        }
    });
}
