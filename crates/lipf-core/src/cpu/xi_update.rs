//! Forward-Euler update ξ ← ξ + Δt r. Twin: `shaders/xi_update.wgsl`.

use super::par::for_rows;

pub fn xi_update(nx: usize, dt_s: f64, rate: &[f64], xi: &mut [f64]) {
    for_rows(xi, nx, |j, row| {
        let r = &rate[j * nx..(j + 1) * nx];
        for (x, dr) in row.iter_mut().zip(r) {
            *x += dt_s * dr;
        }
    });
}
