//! The right-hand side of the ξ increment's problem with the semi-implicit gradient term
//! (docs/models/phase-field.md §4.1; the operator is [`super::xi_gradient_operator`]): what
//! [`super::xi_update::xi_update`] would add to ξ, Δt r (+ √Δt D with noise), and the solve's
//! first guess, the same. Twin: `shaders/xi_gradient_rhs.wgsl`.

/// Writes Δt r (+ √Δt D where `noise` holds the step's conserved noise) into `rhs` and `delta`.
pub fn xi_gradient_rhs(
    nx: usize,
    dt_s: f64,
    rate: &[f64],
    noise: Option<&[f64]>,
    rhs: &mut [f64],
    delta: &mut [f64],
) {
    rhs.fill(0.0);
    super::xi_update::xi_update(nx, dt_s, rate, noise, rhs);
    delta.copy_from_slice(rhs);
}
