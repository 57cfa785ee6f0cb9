//! Twin of `shaders/cg_control.wgsl`: the scalar steps of preconditioned CG (the stopping test,
//! α, β, the iteration count, breakdown), which [`crate::solver`] runs on the host and the
//! device runs as one kernel per step on its control record, so that no solve needs a
//! readback. The vector updates are `cg_vectors`, the sums `reduce`.
//!
//! One solve: [`CgControl::cg_begin`] (‖r0‖₁ against the tolerance), [`CgControl::cg_rz0`]
//! (r·z), then per iteration [`CgControl::cg_alpha`] (p·q), the vector update,
//! [`CgControl::cg_check`] (‖r‖₁), the preconditioner and [`CgControl::cg_beta`] (r·z_new).
//!
//! The device also floors the tolerance at 1e-6 Σ|b| (`F32_RHS_FLOOR`), a level its f32
//! recurrence residual can reach; the f64 host solver has no such floor.

/// The tolerance of a potential solve: `tol_l1` for φ0 (or φ), and for φ1, the response to a
/// unit collector potential that enters the potential scaled by V, `tol_l1 / max(|V|, 1e-3 V)`
/// (`cg_begin`'s `SOLVE_UNIT` branch).
pub fn solve_tolerance(tol_l1: f64, unit: bool, v_collector_v: f64) -> f64 {
    if unit {
        tol_l1 / v_collector_v.abs().max(1e-3)
    } else {
        tol_l1
    }
}

/// The scalars of one CG solve (the solve's fields of the device's control record).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgControl {
    /// Σ|r| at which the solve stops.
    pub tol: f64,
    /// Σ|r| of the last check.
    pub res: f64,
    /// r·z of the current iteration.
    pub rz: f64,
    pub alpha: f64,
    pub beta: f64,
    /// Iterations begun (each `cg_alpha` counts one).
    pub iterations: usize,
    pub converged: bool,
    /// p·q was not positive or not finite: the solve stopped without converging.
    pub breakdown: bool,
}

impl CgControl {
    /// The start of a solve whose initial residual has Σ|r0| = `res`.
    pub fn cg_begin(tol: f64, res: f64) -> CgControl {
        CgControl {
            tol,
            res,
            rz: 0.0,
            alpha: 0.0,
            beta: 0.0,
            iterations: 0,
            converged: res <= tol,
            breakdown: false,
        }
    }

    /// Still iterating: neither converged nor broken down.
    pub fn live(&self) -> bool {
        !self.converged && !self.breakdown
    }

    /// r·z of the first iteration.
    pub fn cg_rz0(&mut self, rz: f64) {
        if self.live() {
            self.rz = rz;
        }
    }

    /// One iteration begins: α = r·z / p·q, or `None` on breakdown (p·q ≤ 0 or not finite).
    pub fn cg_alpha(&mut self, pq: f64) -> Option<f64> {
        if !self.live() {
            return None;
        }
        self.iterations += 1;
        // Not `pq <= 0.0`: a NaN p·q is a breakdown too.
        if pq.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !pq.is_finite() {
            self.breakdown = true;
            return None;
        }
        self.alpha = self.rz / pq;
        Some(self.alpha)
    }

    /// The stopping test on the updated residual, Σ|r| = `res`: true once converged. (The host
    /// solver tests again with the true residual b − A x after the recurrence's has passed.)
    pub fn cg_check(&mut self, res: f64) -> bool {
        if !self.breakdown {
            self.res = res;
            self.converged = res <= self.tol;
        }
        self.converged
    }

    /// β = r·z_new / r·z, and r·z_new becomes the iteration's r·z.
    pub fn cg_beta(&mut self, rz_new: f64) -> f64 {
        if self.live() {
            self.beta = rz_new / self.rz;
            self.rz = rz_new;
        }
        self.beta
    }
}
