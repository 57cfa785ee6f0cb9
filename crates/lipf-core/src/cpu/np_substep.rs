//! One explicit Nernst–Planck sub-step with the stencil of [`super::np_coefficients`]:
//!   c̃_new,k = c̃_k + Δt (a_w c̃_w + a_e c̃_e + a_s c̃_s + a_n c̃_n + a_k c̃_k + b_k).
//! Missing neighbours (bottom row, top row, nx = 1) have zero coefficients; their index is
//! clamped. Twin: `shaders/np_substep.wgsl`.

use super::np_coefficients::NP_COEFFS;
use super::par::for_rows;

/// Writes c̃ after a sub-step of `dt_s` into `conc_new`.
pub fn np_substep(
    nx: usize,
    ny: usize,
    dt_s: f64,
    stencil: &[f64],
    conc: &[f64],
    conc_new: &mut [f64],
) {
    for_rows(conc_new, nx, |j, row| {
        let down = j.saturating_sub(1) * nx;
        let up = (j + 1).min(ny - 1) * nx;
        let here = j * nx;
        for i in 0..nx {
            let k = here + i;
            let s = &stencil[k * NP_COEFFS..(k + 1) * NP_COEFFS];
            let w = here + if i == 0 { nx - 1 } else { i - 1 };
            let e = here + if i + 1 == nx { 0 } else { i + 1 };
            let flux = s[0] * conc[w]
                + s[1] * conc[e]
                + s[2] * conc[down + i]
                + s[3] * conc[up + i]
                + s[4] * conc[k]
                + s[5];
            row[i] = conc[k] + dt_s * flux;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::cpu::conc_update::conc_update;
    use crate::cpu::np_coefficients::np_coefficients;
    use crate::Coefficients;

    /// Coefficients + sub-step reproduce the reference update to rounding, on a grid with
    /// periodic x, a no-flux bottom and the Dirichlet top.
    #[test]
    fn stencil_substep_equals_reference_conc_update() {
        let mut cfg = Config::default();
        cfg.domain.width_um = 3.25;
        cfg.domain.height_um = 2.5;
        let c = Coefficients::from_config(&cfg);
        let (nx, ny) = (c.grid.nx, c.grid.ny);
        let n = nx * ny;
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let dif: Vec<f64> = (0..n).map(|_| c.d_p_m2_s * rnd()).collect();
        let pot: Vec<f64> = (0..n).map(|_| 1e-3 * (rnd() - 0.5)).collect();
        let rate: Vec<f64> = (0..n).map(|_| 1e-4 * (rnd() - 0.5)).collect();
        let conc: Vec<f64> = (0..n).map(|_| 0.9 + 0.2 * rnd()).collect();
        let dt = 1e-3;
        let mut reference = vec![0.0; n];
        conc_update(&c, dt, &dif, &conc, &pot, &rate, &mut reference);
        let mut stencil = vec![0.0; n * crate::cpu::np_coefficients::NP_COEFFS];
        np_coefficients(&c, &dif, &pot, &rate, &mut stencil);
        let mut fast = vec![0.0; n];
        np_substep(nx, ny, dt, &stencil, &conc, &mut fast);
        let worst = reference
            .iter()
            .zip(&fast)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        // Only the order of the floating-point sums differs.
        assert!(worst < 1e-13, "worst difference {worst:e}");
        assert!(reference
            .iter()
            .zip(&conc)
            .any(|(a, b)| (a - b).abs() > 1e-6));
    }
}
