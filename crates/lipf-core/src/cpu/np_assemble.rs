//! Implicit (backward-Euler) Nernst–Planck step as a symmetric positive definite 5-point (7-point
//! in 3D) problem,
//! solved by the potential's multigrid-preconditioned CG (docs/models/phase-field.md §9.4).
//! Twin: `shaders/np_assemble.wgsl`.
//!
//! In the Slotboom variable u = c̃ e^{fφ} the Nernst–Planck flux D(∇c̃ + c̃ f∇φ) is D e^{−fφ}∇u.
//! A face between cells k and n carries the flux W_kn (u_n − u_k) with
//!   W_kn = d_kn / [Δx² M(e^{fφ_k}, e^{fφ_n})],   M(a, b) = (a − b)/ln(a/b),
//! d_kn the harmonic mean of the cell diffusivities (as in [`super::conc_update`]) and M the
//! logarithmic mean. With this weight the migration flux at c̃ = 1 is d_kn f (φ_n − φ_k)/Δx²
//! exactly, the central flux of the explicit update and, with D ∝ σ (Nernst–Einstein), the
//! ohmic current of the potential problem over nF c0: c̃ = 1 stays an exact steady state of the
//! migration and sink terms, as in the explicit update. (The Scharfetter–Gummel weight,
//! d M(e^{−fφ_k}, e^{−fφ_n}), is exact for a steady flux in a uniform field instead; the two
//! differ by a factor (sinh x/x)², x = fΔφ/2, which at the diffuse interface, where fΔφ per
//! cell reaches order one, left c̃ − 1 at 7e-5 on the smoke case where the explicit update
//! keeps 9e-9.) Backward Euler over Δt,
//!   e_k u_k − Δt Σ_n W_kn (u_n − u_k) = c̃_k + Δt b_k,  e_k = e^{−fφ_k},  b_k = −(c_s/c0) r_k,
//! is the operator of [`super::operator::Operator`] with face conductances T = Δt W, diagonal
//! S = e_k and right-hand side c̃_k + Δt b_k. The top face (c̃ = 1, φ = 0 half a cell away, so
//! u = 1 there) has T = 2Δt D_k/[Δx² M(e^{fφ_k}, 1)] and adds T·1 to the right-hand side; the
//! bottom has no flux; x (and z) are periodic. The matrix is symmetric (W_kn = W_nk) with positive
//! diagonal S, so CG applies, and Σ_k (e_k u_k − c̃_k) = Δt (Σ_k b_k + top inflow) to the
//! solver's residual: ions are conserved to the solver tolerance. [`super::np_finish`] returns
//! c̃ = e_k u_k.
//! The warm start is u = c̃ e^{fφ} of the old c̃ with the new φ.

use super::interp::harmonic_mean;
use super::operator::Operator;
use super::par::for_rows;
use crate::coefficients::Coefficients;

/// (e^x − 1)/x, continuous through x = 0 (its series below |x| = 1e-6; the WGSL twin has no
/// expm1 and uses a longer series below a larger |x|).
#[inline(always)]
pub fn exprel(x: f64) -> f64 {
    if x.abs() < 1e-6 {
        1.0 + x * (0.5 + x / 6.0)
    } else {
        x.exp_m1() / x
    }
}

/// 1/M(e^{fφa}, e^{fφb}), M the logarithmic mean, from the potentials:
/// e^{−fφa} / exprel(f(φb − φa)) (symmetric in a and b, since exprel(−x) = e^{−x} exprel(x)).
#[inline(always)]
pub fn boltzmann_weight(f: f64, phi_a: f64, phi_b: f64) -> f64 {
    (-f * phi_a).exp() / exprel(f * (phi_b - phi_a))
}

/// Writes the operator (east and north face conductances, the diagonal term S and the cached
/// diagonal), the right-hand side and the warm start u of one implicit Nernst–Planck step of
/// `dt_s` from the cell diffusivities, the ionic potential φ, the final ξ rate r and c̃.
#[allow(clippy::too_many_arguments)]
pub fn np_assemble(
    c: &Coefficients,
    dt_s: f64,
    diffusivity: &[f64],
    potential: &[f64],
    rate: &[f64],
    conc: &[f64],
    op: &mut Operator,
    rhs: &mut [f64],
    u: &mut [f64],
) {
    let (nx, ny) = (c.grid.nx, c.grid.ny);
    let scale = dt_s / (c.grid.dx_m * c.grid.dx_m);
    let f = c.f_over_rt_per_v;
    let sink = c.cs_mol_m3 / c.c0_mol_m3;
    // T of the face between cells k and n.
    let face = |k: usize, n: usize| {
        scale
            * harmonic_mean(diffusivity[k], diffusivity[n])
            * boltzmann_weight(f, potential[k], potential[n])
    };
    let top = |k: usize| 2.0 * scale * diffusivity[k] * boltzmann_weight(f, potential[k], 0.0);
    let row = |j: usize, i: usize| j * nx + i;
    op.set_faces(face, top);
    op.tbot.iter_mut().for_each(|t| *t = 0.0);
    for_rows(&mut op.s, nx, |j, out| {
        for (i, s) in out.iter_mut().enumerate() {
            *s = (-f * potential[row(j, i)]).exp();
        }
    });
    op.update_diagonal();
    let ty = &op.ty;
    for_rows(rhs, nx, |j, out| {
        for (i, b) in out.iter_mut().enumerate() {
            let k = row(j, i);
            // Row j = k·ny + j' is a top row when j' = ny − 1.
            *b = conc[k] - dt_s * sink * rate[k] + if j % ny + 1 == ny { ty[k] } else { 0.0 };
        }
    });
    for_rows(u, nx, |j, out| {
        for (i, v) in out.iter_mut().enumerate() {
            let k = row(j, i);
            *v = conc[k] * (f * potential[k]).exp();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exprel_is_continuous_at_the_series_switch_and_at_zero() {
        for &x in &[0.999999e-6, 1e-6, -0.999999e-6, -1e-6, 0.05, -3.0] {
            let a = exprel(x);
            let b = x.exp_m1() / x;
            assert!((a / b - 1.0).abs() < 1e-14, "x = {x}: {a} against {b}");
        }
        assert_eq!(exprel(0.0), 1.0);
    }

    #[test]
    fn weight_lies_between_the_boltzmann_factors_is_symmetric_and_gives_the_ohmic_flux() {
        let f = 38.9;
        for &(a, b) in &[
            (0.0, 0.01),
            (-0.02, 0.03),
            (0.001, 0.001 + 1e-9),
            (0.0, 0.2),
        ] {
            let w = boltzmann_weight(f, a, b);
            let (ea, eb) = ((-f * a).exp(), (-f * b).exp());
            assert!(w >= ea.min(eb) * (1.0 - 1e-12) && w <= ea.max(eb) * (1.0 + 1e-12));
            assert!((w / boltzmann_weight(f, b, a) - 1.0).abs() < 1e-12);
            // At c̃ = 1 (u = e^{fφ}) the flux is f Δφ whatever Δφ.
            if b != a {
                let flux = w * ((f * b).exp() - (f * a).exp());
                assert!((flux / (f * (b - a)) - 1.0).abs() < 1e-6, "{flux}");
            }
        }
    }
}
