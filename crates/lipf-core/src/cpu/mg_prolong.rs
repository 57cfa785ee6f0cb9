//! Prolongation: add the (scaled) coarse correction to every fine cell of its aggregate
//! (piecewise constant). Twin: `shaders/mg_prolong.wgsl`.

use super::mg_restrict::coarse_len;
use super::par::for_rows;

/// fine += scale · P coarse, `fine` on the grid [nxf, nyf, nzf].
pub fn mg_prolong(coarse: &[f64], scale: f64, [nxf, nyf, nzf]: [usize; 3], fine: &mut [f64]) {
    let (nxc, nyc) = (coarse_len(nxf), coarse_len(nyf));
    for_rows(&mut fine[..nxf * nyf * nzf], nxf, |r, row| {
        let (k, j) = (r / nyf, r % nyf);
        let crow = &coarse[((k / 2) * nyc + j / 2) * nxc..];
        for (i, v) in row.iter_mut().enumerate() {
            *v += scale * crow[i / 2];
        }
    });
}
