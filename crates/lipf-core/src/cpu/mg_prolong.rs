//! Prolongation: add the (scaled) coarse correction to every fine cell of its aggregate
//! (piecewise constant). Twin: `shaders/mg_prolong.wgsl`.

use super::mg_restrict::coarse_len;
use super::par::for_rows;

pub fn mg_prolong(coarse: &[f64], scale: f64, nxf: usize, fine: &mut [f64]) {
    let nxc = coarse_len(nxf);
    for_rows(fine, nxf, |j, row| {
        let crow = &coarse[(j / 2) * nxc..];
        for (i, v) in row.iter_mut().enumerate() {
            *v += scale * crow[i / 2];
        }
    });
}
