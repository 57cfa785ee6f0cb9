//! Explicit Nernst–Planck update of c̃ = c/c0 (docs/models/phase-field.md §9.4):
//!   ∂c̃/∂t = ∇·[D ∇c̃ + D c̃ f ∇φ] − (c_s/c0) r,  D from [`cell_diffusivity`] (pores: 0).
//! Face diffusivities are harmonic means (no flux into vacuum); c̃ on a face is the mean of its
//! two cells. Top boundary: c̃ = 1 and φ = 0 at distance Δx/2; bottom: no flux.
//! Twin: `shaders/conc_update.wgsl`.

use super::electronic_assemble::interphase_ionic_scale;
use super::interp::{electrolyte_fraction, h, harmonic_mean};
use super::par::for_rows;
use crate::coefficients::Coefficients;
use crate::config::OverpotentialForm;

/// Cell diffusivity, m²/s. In the two-potential form D = D_p s (h(e) + floor) with e the
/// electrolyte's fraction of the cell (ϕ, or min(ϕ, 1 − ξ) in a liquid), the ionic
/// conductivity over σ_p (s < 1 in the interphase's band, 1 elsewhere); in the consistent form D follows the ionic conductivity of
/// `potential_assemble` (D_p min(1, h(ϕ) + h(ξ)), Nernst–Einstein with the same interpolation),
/// so c̃ = 1 stays a steady state of the migration and sink terms. The single-potential form
/// keeps the seed's D_e h(ξ) + D_p h(ϕ).
#[inline(always)]
pub fn cell_diffusivity(c: &Coefficients, xi: f64, phi: f64) -> f64 {
    match c.overpotential {
        // D_p σ_l/σ_p: Nernst–Einstein with the ionic conductivity of `potential_assemble`.
        OverpotentialForm::TwoPotential => {
            let e = electrolyte_fraction(xi, phi, c.liquid());
            c.d_p_m2_s
                * (interphase_ionic_scale(c, phi) * (h(e) + c.sigma_floor_s_m / c.sigma_p_s_m))
        }
        OverpotentialForm::Consistent => c.d_p_m2_s * (h(phi) + h(xi)).min(1.0),
        OverpotentialForm::SinglePotential => c.d_e_m2_s * h(xi) + c.d_p_m2_s * h(phi),
    }
}

/// Writes c̃ at the new time into `conc_new`. `diffusivity` holds D per cell.
#[allow(clippy::too_many_arguments)]
pub fn conc_update(
    c: &Coefficients,
    dt_s: f64,
    diffusivity: &[f64],
    conc: &[f64],
    potential: &[f64],
    rate: &[f64],
    conc_new: &mut [f64],
) {
    let (nx, ny) = (c.grid.nx, c.grid.ny);
    let inv_dx2 = 1.0 / (c.grid.dx_m * c.grid.dx_m);
    let f = c.f_over_rt_per_v;
    let sink = c.cs_mol_m3 / c.c0_mol_m3;
    // Flux into cell k from neighbour n through a face of diffusivity d (per Δx² · unit area).
    let face = |k: usize, n: usize, d: f64| -> f64 {
        d * ((conc[n] - conc[k]) + 0.5 * (conc[n] + conc[k]) * f * (potential[n] - potential[k]))
    };
    for_rows(conc_new, nx, |j, row| {
        #[allow(clippy::needless_range_loop)] // i also names the neighbours
        for i in 0..nx {
            let k = j * nx + i;
            let e = j * nx + (i + 1) % nx;
            let w = j * nx + (i + nx - 1) % nx;
            let dk = diffusivity[k];
            let mut flux = 0.0;
            if nx > 1 {
                flux += face(k, e, harmonic_mean(dk, diffusivity[e]));
                flux += face(k, w, harmonic_mean(dk, diffusivity[w]));
            }
            if j + 1 < ny {
                flux += face(k, k + nx, harmonic_mean(dk, diffusivity[k + nx]));
            } else {
                // Dirichlet c̃ = 1, φ = 0 on the top boundary, half a cell away.
                flux += 2.0 * dk * ((1.0 - conc[k]) + f * (0.0 - potential[k]));
            }
            if j > 0 {
                flux += face(k, k - nx, harmonic_mean(dk, diffusivity[k - nx]));
            }
            row[i] = conc[k] + dt_s * (flux * inv_dx2 - sink * rate[k]);
        }
    });
}
