//! What a run will cost, estimated from the configuration alone (no field is allocated): steps,
//! Nernst–Planck sub-steps, snapshots, output size and memory, checked against the budgets of
//! [`crate::config::Limits`]. `lipf check` prints the estimate; `lipf check` and `lipf run` refuse
//! a configuration that exceeds a budget before anything is built.

use crate::coefficients::Coefficients;
use crate::config::{AllenCahnGradient, Config, ConfigError, NernstPlanck, ObstacleStep};

/// Bytes per GiB.
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// f64 arrays of one grid held by the CPU backend (fields, work arrays, Nernst–Planck stencil),
/// times the multigrid hierarchy (~4/3).
const CPU_BYTES_PER_CELL: f64 = 8.0 * 24.0 * 1.34;

/// Rate of the CPU backend on the paper case on a 2-core machine, cell-steps per second
/// (BENCHMARKS.md): the basis of the wall-time estimate, which scales with the machine.
pub const REFERENCE_CELL_STEPS_PER_S: f64 = 0.5e6;

/// The estimate of one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub cells: f64,
    /// Largest time step the explicit limits and the output interval allow, s.
    pub dt_s: f64,
    /// Nernst–Planck sub-step, s.
    pub dt_np_s: f64,
    /// Steps to the end time (at least; more if the ξ-change limit binds).
    pub steps: f64,
    /// Explicit Nernst–Planck sub-steps per step (0 with the implicit update).
    pub substeps_per_step: f64,
    pub snapshots: f64,
    /// fields.h5 plus images, bytes.
    pub output_bytes: f64,
    /// Fields and work arrays of the CPU backend, bytes.
    pub memory_bytes: f64,
    /// Wall time at [`REFERENCE_CELL_STEPS_PER_S`], s.
    pub wall_time_s: f64,
}

/// What exceeds a budget.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the run would need {estimate} but `limits.{budget}` = {limit}{why}; raise `limits.{budget}` \
     in the configuration if this is intended"
)]
pub struct BudgetError {
    pub budget: &'static str,
    pub estimate: String,
    pub limit: f64,
    pub why: String,
}

impl Estimate {
    /// The estimate of `config` (which must be valid: [`Config::validate`]).
    pub fn of(config: &Config) -> Estimate {
        let c = Coefficients::from_config(config);
        let cells = c.grid.cells() as f64;
        let mut dt = config.time.stability_safety * c.dt_step_limit_s();
        if let Some(m) = config.time.max_dt_s {
            dt = dt.min(m);
        }
        // Steps also end on every time-series and snapshot time.
        dt = dt
            .min(config.output.timeseries_interval_s)
            .min(config.output.snapshot_interval_s);
        let dt_np = config.time.stability_safety * c.dt_diffusion_s();
        let end = config.time.end_time_s;
        let steps = if dt > 0.0 {
            (end / dt).ceil()
        } else {
            f64::INFINITY
        };
        let implicit_np = config.model.nernst_planck == NernstPlanck::Implicit;
        let substeps_per_step = if implicit_np {
            0.0
        } else if dt_np > 0.0 {
            (dt / dt_np).ceil().max(1.0)
        } else {
            f64::INFINITY
        };
        let snapshots = (end / config.output.snapshot_interval_s).ceil() + 1.0;
        // Three f32 fields per snapshot in fields.h5, three RGB images when enabled.
        let per_snapshot = cells * (3.0 * 4.0 + if config.output.images { 9.0 } else { 0.0 });
        let rows = (end / config.output.timeseries_interval_s).ceil() + 1.0;
        let output_bytes = snapshots * per_snapshot + rows * 200.0 + 2.0 * cells * 8.0 * 8.0;
        let memory_bytes = cells * CPU_BYTES_PER_CELL;
        // Cost of one step in units of the reference step (potential solves, ξ update): an
        // explicit sub-step adds about 0.2 % of it, the implicit update (one multigrid solve)
        // about 20 % (BENCHMARKS.md, "W-cycle and implicit Nernst–Planck under refinement").
        let np_cost = if implicit_np {
            0.2
        } else {
            0.002 * substeps_per_step
        };
        let wall_time_s = cells * steps * (1.0 + np_cost) / REFERENCE_CELL_STEPS_PER_S;
        Estimate {
            cells,
            dt_s: dt,
            dt_np_s: dt_np,
            steps,
            substeps_per_step,
            snapshots,
            output_bytes,
            memory_bytes,
            wall_time_s,
        }
    }

    /// Checks the estimate against the configuration's budgets.
    pub fn check(&self, config: &Config) -> Result<(), BudgetError> {
        let l = &config.limits;
        let over = |v: f64, limit: f64| !(v.is_finite() && v <= limit);
        if over(self.memory_bytes / GIB, l.max_memory_gib) {
            return Err(BudgetError {
                budget: "max_memory_gib",
                estimate: format!("{:.3} GiB of memory", self.memory_bytes / GIB),
                limit: l.max_memory_gib,
                why: format!(" ({:.0} cells)", self.cells),
            });
        }
        if over(self.steps, l.max_steps) {
            return Err(BudgetError {
                budget: "max_steps",
                estimate: format!("{:.3e} steps", self.steps),
                limit: l.max_steps,
                why: format!(
                    " (time step {:.3e} s to {} s)",
                    self.dt_s, config.time.end_time_s
                ),
            });
        }
        if over(self.substeps_per_step, l.max_substeps_per_step) {
            return Err(BudgetError {
                budget: "max_substeps_per_step",
                estimate: format!(
                    "{:.3e} Nernst–Planck sub-steps per step",
                    self.substeps_per_step
                ),
                limit: l.max_substeps_per_step,
                why: format!(" (sub-step {:.3e} s)", self.dt_np_s),
            });
        }
        if over(self.snapshots, l.max_snapshots) {
            return Err(BudgetError {
                budget: "max_snapshots",
                estimate: format!("{:.3e} snapshots", self.snapshots),
                limit: l.max_snapshots,
                why: format!(
                    " (every {} s to {} s)",
                    config.output.snapshot_interval_s, config.time.end_time_s
                ),
            });
        }
        if over(self.output_bytes / GIB, l.max_output_gib) {
            return Err(BudgetError {
                budget: "max_output_gib",
                estimate: format!("{:.3} GiB of output", self.output_bytes / GIB),
                limit: l.max_output_gib,
                why: String::new(),
            });
        }
        Ok(())
    }
}

/// Validates `config` and checks its estimate against its budgets: what `lipf check` and
/// `lipf run` require before building anything.
pub fn check_config(config: &Config) -> Result<Estimate, ConfigError> {
    config.validate()?;
    let e = Estimate::of(config);
    e.check(config).map_err(|b| ConfigError::Invalid {
        path: format!("limits.{}", b.budget),
        value: format!("{}", b.limit),
        allowed: b.to_string(),
    })?;
    Ok(e)
}

/// The implicit time integrators `config` leaves off and could take (the implicit obstacle not
/// with creep, which refuses it), as `--set` overrides, with the estimate they would give; None
/// unless they would at least halve the estimated wall time. Both change the results at first
/// order in Δt (BENCHMARKS.md: 0.2 % of V on the paper case at 10 s steps).
pub fn faster_settings(config: &Config) -> Option<(Vec<&'static str>, Estimate)> {
    let mut fast = config.clone();
    let mut sets = Vec::new();
    if config.model.obstacle_step == ObstacleStep::Explicit && !config.creep.enabled {
        fast.model.obstacle_step = ObstacleStep::Implicit;
        sets.push("model.obstacle_step=implicit");
    }
    if config.model.nernst_planck == NernstPlanck::Explicit {
        fast.model.nernst_planck = NernstPlanck::Implicit;
        sets.push("model.nernst_planck=implicit");
    }
    // The semi-implicit gradient term where its explicit limit is what binds:
    // below the output intervals and `time.max_dt_s` (Δx < 2ℓ).
    let c = Coefficients::from_config(config);
    let wanted = config
        .output
        .timeseries_interval_s
        .min(config.output.snapshot_interval_s)
        .min(config.time.max_dt_s.unwrap_or(f64::INFINITY));
    if config.model.allen_cahn_gradient == AllenCahnGradient::Explicit
        && config.time.stability_safety * c.dt_allen_cahn_s() < wanted
    {
        fast.model.allen_cahn_gradient = AllenCahnGradient::Implicit;
        sets.push("model.allen_cahn_gradient=implicit");
    }
    if sets.is_empty() {
        return None;
    }
    let then = Estimate::of(&fast);
    (then.wall_time_s < 0.5 * Estimate::of(config).wall_time_s).then_some((sets, then))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper_like(interval_s: f64) -> Config {
        let mut c = Config::default();
        c.output.timeseries_interval_s = interval_s;
        c.output.snapshot_interval_s = 100.0;
        c.time.end_time_s = 1000.0;
        c
    }

    #[test]
    fn faster_settings_name_what_is_off_and_only_when_it_pays() {
        // At a 10 s output interval the explicit obstacle's limit (about 0.9 s) sets the step.
        let c = paper_like(10.0);
        let (sets, fast) = faster_settings(&c).expect("the implicit steps pay here");
        assert_eq!(
            sets,
            [
                "model.obstacle_step=implicit",
                "model.nernst_planck=implicit"
            ]
        );
        assert!(
            fast.steps < 0.2 * Estimate::of(&c).steps,
            "{} steps",
            fast.steps
        );
        // Nothing left to switch on.
        let mut done = c.clone();
        done.model.obstacle_step = ObstacleStep::Implicit;
        done.model.nernst_planck = NernstPlanck::Implicit;
        assert!(faster_settings(&done).is_none());
        // At a fixed ℓ = 0.5 µm and Δx = ℓ/8 the gradient term's limit (4.4 s) binds: the
        // semi-implicit gradient is named, and halves the steps at a 10 s interval.
        let mut fine = done.clone();
        fine.domain.width_um = 10.0;
        fine.domain.height_um = 10.0;
        fine.domain.grid_spacing_um = 0.0625;
        fine.model.interface_half_width_um = Some(0.5);
        let (sets, fast) = faster_settings(&fine).expect("the implicit gradient pays here");
        assert_eq!(sets, ["model.allen_cahn_gradient=implicit"]);
        assert!(fast.steps < 0.5 * Estimate::of(&fine).steps);
        // With creep the obstacle stays explicit; the implicit Nernst–Planck step alone does
        // not halve this case's cost.
        let mut creep = c.clone();
        creep.creep.enabled = true;
        if let Some((sets, _)) = faster_settings(&creep) {
            assert!(!sets.contains(&"model.obstacle_step=implicit"), "{sets:?}");
        }
        // Where the output interval already bounds the step below the obstacle's limit, the
        // implicit obstacle gains nothing.
        let mut short = paper_like(0.1);
        short.model.nernst_planck = NernstPlanck::Implicit;
        assert!(faster_settings(&short).is_none());
    }
}
