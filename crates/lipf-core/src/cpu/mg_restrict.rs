//! Restriction to the next coarser level: the sum over each 2×2 aggregate (the transpose of
//! piecewise-constant prolongation, so the coarse equations are sums of fine cell balances).
//! Twin: `shaders/mg_restrict.wgsl`.

use super::par::for_rows;

/// Coarse grid size for a fine size n (aggregates of 2; a last aggregate of 1 when n is odd).
pub fn coarse_len(n: usize) -> usize {
    n.div_ceil(2)
}

pub fn mg_restrict(fine: &[f64], nxf: usize, nyf: usize, coarse: &mut [f64]) {
    let (nxc, _nyc) = (coarse_len(nxf), coarse_len(nyf));
    for_rows(coarse, nxc, |jc, row| {
        for (ic, v) in row.iter_mut().enumerate() {
            let mut s = 0.0;
            for j in (2 * jc)..(2 * jc + 2).min(nyf) {
                for i in (2 * ic)..(2 * ic + 2).min(nxf) {
                    s += fine[j * nxf + i];
                }
            }
            *v = s;
        }
    });
}
