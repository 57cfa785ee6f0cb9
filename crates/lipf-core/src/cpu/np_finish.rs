//! The end of an implicit Nernst–Planck step ([`super::np_assemble`]): c̃ = e^{−fφ} u from the
//! solved Slotboom variable u. Twin: `shaders/np_finish.wgsl`.

use super::par::for_rows;

/// Writes c̃ = e^{−fφ_k} u_k into `conc` (`f` = nF/RT, 1/V).
pub fn np_finish(nx: usize, f: f64, potential: &[f64], u: &[f64], conc: &mut [f64]) {
    for_rows(conc, nx, |j, out| {
        for (i, c) in out.iter_mut().enumerate() {
            let k = j * nx + i;
            *c = (-f * potential[k]).exp() * u[k];
        }
    });
}
