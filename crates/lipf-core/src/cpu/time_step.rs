//! The step size (twin of `shaders/time_step.wgsl`).
//!
//! [`step_maxima`] is the reduction over the cells (`dt_partials` and the reduction of its
//! partials at the start of `time_step` on the device): the largest |r| and the largest drift
//! D f |∇φ| (per Δx). [`time_step`] turns them into the step: Δt = min(Allen–Cahn stability
//! limit, max ξ change / max |r|, max Δt), landing exactly on the remaining time when it is
//! within a step, and the Nernst–Planck sub-step count ceil(Δt / Δt_np) with Δt_np = min(diffusion
//! limit, half a cell of drift). The device's `step_begin` (which recorded steps run) and the
//! step log have no CPU counterpart: the CPU runs one step at a time.

use super::par::max_rows;

/// Relative slack of the landing test: a remaining interval up to (1 + this) Δt is taken in
/// one step (the device uses 1e-5 in f32).
pub const LAND_TOLERANCE: f64 = 1e-9;
/// Relative slack of the sub-step count: Δt / Δt_np is shrunk by this before rounding up, so a
/// ratio that is an integer up to round-off does not cost one more sub-step (the device uses
/// 1e-6 in f32).
pub const SUBSTEP_SLACK: f64 = 1e-12;

/// The limits of the step, fixed for a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeStepParams {
    /// Largest ξ step (explicit Allen–Cahn limit × safety), s.
    pub dt_stable_s: f64,
    /// Largest Nernst–Planck sub-step (explicit diffusion limit × safety), s.
    pub dt_np_s: f64,
    /// Largest change of ξ in one step.
    pub max_xi_change: f64,
    /// Largest step, s (none: no limit).
    pub max_dt_s: Option<f64>,
    /// Grid spacing, m.
    pub dx_m: f64,
    /// See [`LAND_TOLERANCE`].
    pub land_tolerance: f64,
    /// See [`SUBSTEP_SLACK`].
    pub substep_slack: f64,
}

/// What the step depends on of the fields: the reduction of [`step_maxima`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepMaxima {
    /// max |r| over the cells, 1/s.
    pub max_rate: f64,
    /// max D f |Δφ| over the cells and their east and north faces, m²/s (divided by Δx² it is
    /// the drift rate per cell, 1/s).
    pub max_drift: f64,
}

/// The step chosen by [`time_step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeStep {
    /// Δt, s.
    pub dt_s: f64,
    /// The step lands on the target time (Δt is the remaining interval).
    pub land: bool,
    /// Nernst–Planck sub-steps of the step (at least 1).
    pub substeps: usize,
    /// Their length Δt / substeps, s.
    pub dt_sub_s: f64,
}

/// The largest |r| and the largest drift D f |Δφ| of an nx × ny × nz grid (x and z periodic; the
/// drift over each cell's east face, below the top row its north face, and its front face, with the larger D of the
/// cell and its east neighbour). `diffusivity` is `cell_diffusivity` per cell, `f` = F/RT.
/// Rows in parallel, deterministic.
pub fn step_maxima(
    [nx, ny, nz]: [usize; 3],
    f: f64,
    rate: &[f64],
    potential: &[f64],
    diffusivity: &[f64],
) -> StepMaxima {
    let cells = nx * ny * nz;
    let max_rate = max_rows(ny * nz, cells, |j| {
        rate[j * nx..(j + 1) * nx]
            .iter()
            .fold(0.0f64, |m, r| m.max(r.abs()))
    });
    // Migration: the drift velocity D f |∇φ| must not cross half a cell per step.
    let (pot, dif) = (potential, diffusivity);
    let max_drift = max_rows(ny * nz, cells, |j| {
        let front = crate::cpu::operator::row_neighbours(j, nx, ny, nz).front;
        let mut m = 0.0f64;
        for i in 0..nx {
            let k = j * nx + i;
            let e = j * nx + (i + 1) % nx;
            let mut d = (pot[e] - pot[k]).abs();
            if j % ny + 1 < ny {
                d = d.max((pot[k + nx] - pot[k]).abs());
            }
            if let Some(f) = front {
                d = d.max((pot[f + i] - pot[k]).abs());
            }
            m = m.max(dif[k].max(dif[e]) * f * d);
        }
        m
    });
    StepMaxima {
        max_rate,
        max_drift,
    }
}

/// The step from the maxima of the fields and the time `remaining_s` left until the target.
pub fn time_step(p: &TimeStepParams, m: StepMaxima, remaining_s: f64) -> TimeStep {
    let max_drift_per_dx = m.max_drift / (p.dx_m * p.dx_m);
    let mut dt = p.dt_stable_s;
    if m.max_rate > 0.0 {
        dt = dt.min(p.max_xi_change / m.max_rate);
    }
    // c̃ is sub-stepped within the step, so diffusion and drift do not limit Δt.
    let mut dt_np = p.dt_np_s;
    if max_drift_per_dx > 0.0 {
        dt_np = dt_np.min(0.5 / max_drift_per_dx);
    }
    if let Some(max_dt) = p.max_dt_s {
        dt = dt.min(max_dt);
    }
    // Land exactly on the target when the remaining interval is within a step (or nearly so).
    let land = remaining_s <= dt * (1.0 + p.land_tolerance);
    if land {
        dt = remaining_s;
    }
    let substeps = ((dt / dt_np) * (1.0 - p.substep_slack)).ceil().max(1.0) as usize;
    TimeStep {
        dt_s: dt,
        land,
        substeps,
        dt_sub_s: dt / substeps as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> TimeStepParams {
        TimeStepParams {
            dt_stable_s: 1.0,
            dt_np_s: 0.3,
            max_xi_change: 0.02,
            max_dt_s: None,
            dx_m: 1e-6,
            land_tolerance: LAND_TOLERANCE,
            substep_slack: SUBSTEP_SLACK,
        }
    }

    #[test]
    fn the_smallest_limit_wins_and_the_step_lands() {
        let p = params();
        let quiet = StepMaxima::default();
        // Stability limit; 1 / 0.3 → 4 sub-steps.
        let s = time_step(&p, quiet, 10.0);
        assert_eq!((s.dt_s, s.land, s.substeps), (1.0, false, 4));
        assert_eq!(s.dt_sub_s, 0.25);
        // The ξ change: 0.02 / 0.1.
        let fast = StepMaxima {
            max_rate: 0.1,
            max_drift: 0.0,
        };
        assert_eq!(time_step(&p, fast, 10.0).dt_s, 0.02 / 0.1);
        // max Δt.
        let capped = TimeStepParams {
            max_dt_s: Some(0.05),
            ..p
        };
        assert_eq!(time_step(&capped, fast, 10.0).dt_s, 0.05);
        // Landing: a remaining interval within (1 + tolerance) Δt is taken whole.
        let s = time_step(&p, quiet, 1.0 + 1e-10);
        assert!(s.land);
        assert_eq!(s.dt_s, 1.0 + 1e-10);
        assert!(!time_step(&p, quiet, 1.0 + 1e-8).land);
        // Drift: D f |Δφ| / Δx² = 4e-12 / 1e-12 = 4 per s → Δt_np = 0.125 s → 8 sub-steps.
        let drifting = StepMaxima {
            max_rate: 0.0,
            max_drift: 4e-12,
        };
        assert_eq!(time_step(&p, drifting, 10.0).substeps, 8);
        // At least one sub-step, even for a zero step.
        assert_eq!(time_step(&p, quiet, 0.0).substeps, 1);
    }

    #[test]
    fn maxima_cover_east_north_and_the_periodic_edge() {
        let (nx, ny) = (3, 2);
        let rate = [0.0, -2.0, 1.0, 0.5, 0.0, 0.0];
        let dif = [1.0; 6];
        // The largest jump is across the periodic edge of the top row (i = 2 → i = 0).
        let pot = [0.0, 0.1, 0.2, 0.0, 0.0, 3.0];
        let m = step_maxima([nx, ny, 1], 2.0, &rate, &pot, &dif);
        assert_eq!(m.max_rate, 2.0);
        assert_eq!(m.max_drift, 2.0 * 3.0);
    }
}
