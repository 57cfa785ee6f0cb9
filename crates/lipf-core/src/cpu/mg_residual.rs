//! Residual r = b − A x of the 5-point (2D) or 7-point (3D) operator, and the plain product A x.
//! Twin: `shaders/mg_residual.wgsl`.

use super::operator::Operator;
use super::par::for_rows;

/// Calls `f(i, (A x)_c)` for every cell of x-row r, in increasing i:
///   (A x)_c = diag_c x_c − (T_e x_e + T_w x_w + T_n x_n + T_s x_s + T_f x_f + T_b x_b),
/// summed in this order (the WGSL twin's; the z terms only when nz > 1), with the row's arrays
/// taken as slices once so that the loop keeps their addresses in registers.
#[inline(always)]
fn apply_row<F: FnMut(usize, f64)>(op: &Operator, x: &[f64], r: usize, mut f: F) {
    let nx = op.nx;
    let nb = op.row(r);
    let base = r * nx;
    let (txr, tyr, dr, xr) = (
        &op.tx[base..base + nx],
        &op.ty[base..base + nx],
        &op.diag[base..base + nx],
        &x[base..base + nx],
    );
    let empty = &[][..];
    let (tys, xs) = match nb.south {
        Some(s) => (&op.ty[s..s + nx], &x[s..s + nx]),
        None => (empty, empty),
    };
    let xn = nb.north.map_or(empty, |q| &x[q..q + nx]);
    let (tzr, tzb, xf, xb) = match (nb.front, nb.back) {
        (Some(f), Some(b)) => (
            &op.tz[base..base + nx],
            &op.tz[b..b + nx],
            &x[f..f + nx],
            &x[b..b + nx],
        ),
        _ => (empty, empty, empty, empty),
    };
    let (north, south, z) = (nb.north.is_some(), nb.south.is_some(), nb.front.is_some());
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
        if z {
            off += tzr[i] * xf[i] + tzb[i] * xb[i];
        }
        f(i, dr[i] * xr[i] - off);
    }
}

/// r = b − A x.
pub fn mg_residual(op: &Operator, b: &[f64], x: &[f64], r: &mut [f64]) {
    let nx = op.nx;
    for_rows(&mut r[..op.cells()], nx, |row_index, row| {
        let br = &b[row_index * nx..(row_index + 1) * nx];
        apply_row(op, x, row_index, |i, ax| row[i] = br[i] - ax);
    });
}

/// y = A x.
pub fn mg_apply(op: &Operator, x: &[f64], y: &mut [f64]) {
    let nx = op.nx;
    for_rows(&mut y[..op.cells()], nx, |row_index, row| {
        apply_row(op, x, row_index, |i, ax| row[i] = ax);
    });
}
