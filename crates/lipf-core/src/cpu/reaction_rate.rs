//! The ξ rate r = a − g η with the overpotential of the freshly solved potentials (two-potential
//! and consistent forms) or of the previous one (single-potential form), and the overpotential field itself.
//! The potential equation used exactly this r as its source, which makes the Faraday balance
//! exact up to the solver tolerance. Twin: `shaders/reaction_rate.wgsl`.

use super::par::for_rows2;
use crate::coefficients::Coefficients;
use crate::config::OverpotentialForm;

/// Overpotential of one cell: η = φ_s − φ − E⁰ (two-potential), V − φ − E⁰ (consistent) or
/// φ − E⁰ (single potential). `electronic` is φ_s (read only by the two-potential form).
#[inline(always)]
pub fn overpotential(c: &Coefficients, potential: f64, electronic: f64, v_collector: f64) -> f64 {
    match c.overpotential {
        OverpotentialForm::TwoPotential => electronic - potential - c.e0_v,
        OverpotentialForm::Consistent => v_collector - potential - c.e0_v,
        OverpotentialForm::SinglePotential => potential - c.e0_v,
    }
}

/// Writes the rate r and the overpotential η for the potential `potential` at collector
/// potential `v_collector` (and the electronic potential `electronic`, two-potential form). In
/// the single-potential form the rate stays linearised at η*.
#[allow(clippy::too_many_arguments)]
pub fn reaction_rate(
    c: &Coefficients,
    a: &[f64],
    g: &[f64],
    eta_star: &[f64],
    potential: &[f64],
    electronic: &[f64],
    v_collector: f64,
    rate: &mut [f64],
    eta: &mut [f64],
) {
    let nx = c.grid.nx;
    let implicit = c.overpotential != OverpotentialForm::SinglePotential;
    for_rows2(rate, eta, nx, |j, rrow, erow| {
        for i in 0..nx {
            let k = j * nx + i;
            let e = overpotential(c, potential[k], electronic[k], v_collector);
            rrow[i] = if implicit {
                a[k] - g[k] * e
            } else {
                a[k] - g[k] * eta_star[k]
            };
            erow[i] = e;
        }
    });
}
