//! Residual r = b − A x of the 5-point operator (and the plain product A x).
//! Twin: `shaders/mg_residual.wgsl`.

use super::operator::Operator;
use super::par::for_rows;

/// Calls `f(i, (A x)_i)` for every cell of row j, in increasing i:
///   (A x)_k = diag_k x_k − (T_e x_e + T_w x_w + T_n x_n + T_s x_s),
/// summed in this order (the WGSL twin's), with the row's arrays taken as slices once so that
/// the loop keeps their addresses in registers.
#[inline(always)]
fn apply_row<F: FnMut(usize, f64)>(op: &Operator, x: &[f64], j: usize, mut f: F) {
    let (nx, ny) = (op.nx, op.ny);
    let base = j * nx;
    let (txr, tyr, dr, xr) = (
        &op.tx[base..base + nx],
        &op.ty[base..base + nx],
        &op.diag[base..base + nx],
        &x[base..base + nx],
    );
    let (north, south) = (j + 1 < ny, j > 0);
    let (tys, xs) = if south {
        (&op.ty[base - nx..base], &x[base - nx..base])
    } else {
        (&[][..], &[][..])
    };
    let xn = if north {
        &x[base + nx..base + 2 * nx]
    } else {
        &[][..]
    };
    for i in 0..nx {
        let mut off = 0.0;
        if nx > 1 {
            let e = if i + 1 == nx { 0 } else { i + 1 };
            let w = if i == 0 { nx - 1 } else { i - 1 };
            off += txr[i] * xr[e] + txr[w] * xr[w];
        }
        if north {
            off += tyr[i] * xn[i];
        }
        if south {
            off += tys[i] * xs[i];
        }
        f(i, dr[i] * xr[i] - off);
    }
}

/// r = b − A x.
pub fn mg_residual(op: &Operator, b: &[f64], x: &[f64], r: &mut [f64]) {
    let nx = op.nx;
    for_rows(r, nx, |j, row| {
        let br = &b[j * nx..(j + 1) * nx];
        apply_row(op, x, j, |i, ax| row[i] = br[i] - ax);
    });
}

/// y = A x.
pub fn mg_apply(op: &Operator, x: &[f64], y: &mut [f64]) {
    let nx = op.nx;
    for_rows(y, nx, |j, row| {
        apply_row(op, x, j, |i, ax| row[i] = ax);
    });
}
