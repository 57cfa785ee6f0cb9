//! The stabilised semi-implicit gradient term of the ξ update (docs/models/phase-field.md §4.1).
//!
//! With `model.allen_cahn_gradient = "implicit"` the increment of a step is not Δt r but the δ
//! that solves
//!
//!   (1 − β ∇²_h) δ = Δt r (+ √Δt D with noise),   β = Δt Lσ κ_max,
//!
//! ∇²_h the 5-point (3D: 7-point) Laplacian with no flux through the bottom and top and periodic
//! x and z, κ_max the anisotropic operator's largest stiffness
//! ([`crate::Coefficients::kappa_stiff_j_m`]). The rate r still holds the explicit gradient term
//! of the old ξ, so δ = Δt [r + Lσ κ_max ∇²_h δ]: the gradient term acts on the new ξ up to the
//! anisotropic remainder, which stays explicit and is dominated (2κ_max ≥ κ(θ) for every
//! direction), so no step limit comes from Δx. A steady state (r = 0) gives δ = 0: the scheme
//! has the explicit one's steady profiles. The Laplacian's rows sum to zero, so Σ δ = Δt Σ r: the
//! Li plated is the charge passed, to the solver's tolerance. The operator is the potential
//! solver's ([`super::operator::Operator`], face conductance β/Δx², diagonal term 1), solved by
//! the same multigrid-preconditioned CG; [`super::xi_gradient_rhs`] forms the right-hand side and
//! [`super::xi_gradient_finish`] adds δ to ξ. Twin: `shaders/xi_gradient_operator.wgsl` (which
//! takes Δt from the control record and writes the cached diagonal in the same pass).

use super::operator::Operator;
use super::par::for_rows;

/// Writes the operator 1 − β∇²_h into `op` (its shape given): face conductances
/// `beta_over_dx2` = β/Δx² (dimensionless) on every interior face and across the periodic x and
/// z, none through the bottom and top, S = 1.
pub fn xi_gradient_operator(beta_over_dx2: f64, op: &mut Operator) {
    let (nx, ny) = (op.nx, op.ny);
    op.tx.fill(beta_over_dx2);
    op.tz.fill(beta_over_dx2);
    op.tbot.fill(0.0);
    op.s.fill(1.0);
    for_rows(&mut op.ty, nx, |r, row| {
        row.fill(if r % ny + 1 < ny { beta_over_dx2 } else { 0.0 });
    });
    op.update_diagonal();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::mg_residual::mg_apply;

    /// A Fourier mode is an eigenvector: (1 − β∇²_h) sin(2πm i/nx) = (1 + 4β/Δx² sin²(πm/nx)) ×
    /// the mode, exactly; a function of y alone sees the no-flux ends; the rows sum to 1 (so
    /// Σ(Aδ) = Σδ).
    #[test]
    fn the_operator_is_one_minus_beta_times_the_laplacian() {
        let (nx, ny, nz) = (16, 5, 3);
        let mut op = Operator::zeros3(nx, ny, nz);
        let b = 0.7;
        xi_gradient_operator(b, &mut op);
        let m = 3.0;
        let mode: Vec<f64> = (0..nx * ny * nz)
            .map(|c| (2.0 * std::f64::consts::PI * m * (c % nx) as f64 / nx as f64).sin())
            .collect();
        let mut out = vec![0.0; mode.len()];
        mg_apply(&op, &mode, &mut out);
        let lambda = 1.0 + 4.0 * b * (std::f64::consts::PI * m / nx as f64).sin().powi(2);
        for (o, v) in out.iter().zip(&mode) {
            assert!((o - lambda * v).abs() < 1e-13, "{o} against {}", lambda * v);
        }
        // y alone: the bottom row has one neighbour, its no-flux face adds nothing.
        let y: Vec<f64> = (0..nx * ny * nz).map(|c| ((c / nx) % ny) as f64).collect();
        mg_apply(&op, &y, &mut out);
        assert!((out[0] - (0.0 - b * (1.0 - 0.0))).abs() < 1e-13);
        let top = (ny - 1) * nx;
        assert!((out[top] - (4.0 + b * (4.0 - 3.0))).abs() < 1e-13);
        let sum: f64 = out.iter().sum();
        assert!((sum - y.iter().sum::<f64>()).abs() < 1e-10);
    }
}
