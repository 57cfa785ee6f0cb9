//! Forward-Euler (Euler–Maruyama with noise) update ξ ← ξ + Δt r + √Δt D. Twin:
//! `shaders/xi_update.wgsl`.

use super::par::for_rows;

/// ξ += Δt r, plus √Δt D where `noise` holds the step's conserved noise D (`xi_noise`).
pub fn xi_update(nx: usize, dt_s: f64, rate: &[f64], noise: Option<&[f64]>, xi: &mut [f64]) {
    let sqrt_dt = dt_s.sqrt();
    for_rows(xi, nx, |j, row| {
        let r = &rate[j * nx..(j + 1) * nx];
        match noise {
            None => {
                for (x, dr) in row.iter_mut().zip(r) {
                    *x += dt_s * dr;
                }
            }
            Some(d) => {
                let d = &d[j * nx..(j + 1) * nx];
                for ((x, dr), dd) in row.iter_mut().zip(r).zip(d) {
                    *x += dt_s * dr + sqrt_dt * dd;
                }
            }
        }
    });
}
