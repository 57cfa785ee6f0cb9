//! Coefficients of the explicit Nernst–Planck update of c̃ for one step
//! (docs/models/phase-field.md §9.4), so that the sub-steps of [`super::np_substep`] cost one
//! 5-point stencil each:
//!   c̃_k ← c̃_k + Δt (Σ_n a_n c̃_n + a_k c̃_k + b_k)  over the four face neighbours n.
//! The discretisation is exactly that of [`super::conc_update`]: a face of diffusivity d (harmonic
//! mean) carries d [(c̃_n − c̃_k) + ½(c̃_n + c̃_k) f (φ_n − φ_k)]/Δx², so
//!   a_n = d (1 + ½ f Δφ)/Δx²,  a_k = Σ_n d (−1 + ½ f Δφ)/Δx²,
//! the top boundary (c̃ = 1, φ = 0 half a cell away) adds −2d/Δx² to a_k and 2d(1 − f φ_k)/Δx² to
//! b_k, and b_k also holds the sink −(c_s/c0) r_k. The bottom has no flux; x is periodic.
//! Layout: per cell [a_west, a_east, a_south, a_north, a_self, b] (1/s). Twin:
//! `shaders/np_coefficients.wgsl`.

use super::interp::harmonic_mean;
use super::par::for_rows;
use crate::coefficients::Coefficients;

/// Number of coefficients per cell.
pub const NP_COEFFS: usize = 6;

/// Writes the stencil of every cell into `out` (length NP_COEFFS × cells).
pub fn np_coefficients(
    c: &Coefficients,
    diffusivity: &[f64],
    potential: &[f64],
    rate: &[f64],
    out: &mut [f64],
) {
    let (nx, ny) = (c.grid.nx, c.grid.ny);
    let inv_dx2 = 1.0 / (c.grid.dx_m * c.grid.dx_m);
    let f = c.f_over_rt_per_v;
    let sink = c.cs_mol_m3 / c.c0_mol_m3;
    for_rows(out, nx * NP_COEFFS, |j, row| {
        for i in 0..nx {
            let k = j * nx + i;
            let dk = diffusivity[k];
            let mut s = [0.0; NP_COEFFS];
            // (slot, neighbour) pairs that exist.
            let mut face = |slot: usize, n: usize| {
                let d = harmonic_mean(dk, diffusivity[n]) * inv_dx2;
                let half_drift = 0.5 * f * (potential[n] - potential[k]);
                s[slot] = d * (1.0 + half_drift);
                s[4] += d * (-1.0 + half_drift);
            };
            if nx > 1 {
                face(0, j * nx + (i + nx - 1) % nx);
                face(1, j * nx + (i + 1) % nx);
            }
            if j > 0 {
                face(2, k - nx);
            }
            if j + 1 < ny {
                face(3, k + nx);
            } else {
                s[4] -= 2.0 * dk * inv_dx2;
                s[5] += 2.0 * dk * inv_dx2 * (1.0 - f * potential[k]);
            }
            s[5] -= sink * rate[k];
            row[i * NP_COEFFS..(i + 1) * NP_COEFFS].copy_from_slice(&s);
        }
    });
}
