//! Interpolation function h(x) = x³(6x² − 15x + 10) and its derivative h'(x) = 30x²(1 − x)².
//! Twin: `shaders/shared/interp.wgsl` (fn h, fn dh).

/// h(x), with x clamped to [0, 1] so that overshoots never give h outside [0, 1].
#[inline(always)]
pub fn h(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * x * (x * (6.0 * x - 15.0) + 10.0)
}

/// h'(x) = 30x²(1 − x)², zero outside [0, 1].
#[inline(always)]
pub fn dh(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    let y = x * (1.0 - x);
    30.0 * y * y
}

/// Shape of the Butler–Volmer source across the Li interface: 6x(1 − x), zero outside [0, 1].
///
/// For the front ξ = 1/(1 + e^{(y−y0)/ℓ'}), ℓ' = ℓ/2, it is 3ℓ ∂ξ/∂y0: the source translates the
/// profile rigidly (exactly on the lattice, too), so the front moves at v = 3ℓLηB at once and
/// the Allen–Cahn relaxation plays no part in the kinetics. The seed's h'(x) = 30x²(1−x)² gives
/// the same v only after the profile has relaxed (a time 1/(LσW1)); before that 2.5ℓLηB.
#[inline(always)]
pub fn reaction_shape(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    6.0 * x * (1.0 - x)
}

/// The electrolyte's fraction of a cell, min(ϕ, 1 − λξ): ϕ for the solid electrolyte (λ = 0),
/// which the obstacle keeps apart from the Li, and min(ϕ, 1 − ξ) for a liquid (λ = 1), which the
/// Li displaces: 1 − ξ inside the liquid (ϕ = 1), ϕ at the foil the builder made (ξ = 1 − ϕ)
/// (docs/models/phase-field.md §9.12).
#[inline(always)]
pub fn electrolyte_fraction(xi: f64, phi: f64, liquid: f64) -> f64 {
    phi.min(1.0 - liquid * xi)
}

/// The room the electrolyte leaves the Li's electrons, 1 − (1 − λ)ϕ: 1 − ϕ beside a solid
/// (λ = 0), the whole cell in a liquid (λ = 1).
#[inline(always)]
pub fn metal_room(phi: f64, liquid: f64) -> f64 {
    1.0 - (1.0 - liquid) * phi
}

/// Harmonic mean 2ab/(a + b) of two non-negative face neighbours (0 when both are 0): the
/// series conductance (or diffusivity) of a face between two cells.
#[inline(always)]
pub fn harmonic_mean(a: f64, b: f64) -> f64 {
    if a + b > 0.0 {
        2.0 * a * b / (a + b)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn h_is_smooth_step_with_derivative_dh() {
        assert_eq!(h(0.0), 0.0);
        assert_eq!(h(1.0), 1.0);
        assert!((h(0.5) - 0.5).abs() < 1e-15);
        for k in 1..100 {
            let x = k as f64 / 100.0;
            let fd = (h(x + 1e-6) - h(x - 1e-6)) / 2e-6;
            assert!((fd - dh(x)).abs() < 1e-6, "x = {x}");
        }
    }
}
