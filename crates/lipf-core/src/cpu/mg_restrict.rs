//! Restriction to the next coarser level: the sum over each 2×2 (2D) or 2×2×2 (3D) aggregate
//! (the transpose of piecewise-constant prolongation, so the coarse equations are sums of fine
//! cell balances). Twin: `shaders/mg_restrict.wgsl`.

use super::par::for_rows;

/// Coarse grid size for a fine size n (aggregates of 2; a last aggregate of 1 when n is odd).
pub fn coarse_len(n: usize) -> usize {
    n.div_ceil(2)
}

/// The fine indices 2c..min(2c + 2, n) of coarse index c along a direction of n fine cells.
#[inline(always)]
pub fn aggregate(c: usize, n: usize) -> std::ops::Range<usize> {
    2 * c..(2 * c + 2).min(n)
}

/// `fine` on the grid [nxf, nyf, nzf] (cells (k·nyf + j)·nxf + i) summed into `coarse`.
pub fn mg_restrict(fine: &[f64], [nxf, nyf, nzf]: [usize; 3], coarse: &mut [f64]) {
    let (nxc, nyc, nzc) = (coarse_len(nxf), coarse_len(nyf), coarse_len(nzf));
    for_rows(&mut coarse[..nxc * nyc * nzc], nxc, |rc, row| {
        let (kc, jc) = (rc / nyc, rc % nyc);
        for (ic, v) in row.iter_mut().enumerate() {
            let mut s = 0.0;
            for k in aggregate(kc, nzf) {
                for j in aggregate(jc, nyf) {
                    for i in aggregate(ic, nxf) {
                        s += fine[(k * nyf + j) * nxf + i];
                    }
                }
            }
            *v = s;
        }
    });
}
