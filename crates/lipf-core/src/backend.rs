//! The backend interface: what the driver (outputs, progress, checkpoints) needs from a solver.
//! The CPU backend ([`crate::cpu_backend::CpuBackend`]) is the reference; a GPU backend keeps the
//! fields on the device and implements the same trait.

use crate::observables::Scalars;
use crate::state::State;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set from another thread (Ctrl-C) to stop a run between two steps.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvanceOutcome {
    /// The requested time was reached exactly.
    Reached,
    /// The stop flag was raised; the state is consistent (between two steps).
    Stopped,
}

/// A field or step that left the admissible range: the run stops with this message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SimulationError {
    #[error("field `{field}` = {value} at cell (i = {i}, j = {j}) at step {step} (t = {time_s:.6} s): {reason}")]
    OutOfRange {
        field: &'static str,
        value: f64,
        i: usize,
        j: usize,
        step: u64,
        time_s: f64,
        reason: &'static str,
    },
    #[error("{0}")]
    Solver(String),
    /// The run took `limits.max_steps` steps before reaching its target time.
    #[error("the run took {steps} steps, the budget limits.max_steps = {limit}, at t = {time_s:.6} s before reaching {until_s} s: the time step is far smaller than estimated (check the configuration with `lipf check`, or raise the limit)")]
    StepLimit {
        steps: u64,
        limit: f64,
        time_s: f64,
        until_s: f64,
    },
    /// A state given to a backend (a checkpoint) that does not fit its configuration.
    #[error("{0}")]
    State(#[from] crate::state::StateError),
    /// A configuration the simulation does not handle (a 3D domain).
    #[error("{0}")]
    Unsupported(String),
}

pub trait Backend {
    /// Short name for reports: "cpu", or "gpu" with the adapter.
    fn name(&self) -> String;
    /// Advances until `until_s` (hit exactly) or until `stop` is raised.
    fn advance(&mut self, until_s: f64, stop: &StopFlag)
        -> Result<AdvanceOutcome, SimulationError>;
    /// Advances like [`Self::advance`] but takes at most `max_steps` steps (the driver checks a
    /// voltage limit after every step). `Reached` means `until_s` or the step count was reached.
    /// A backend that runs its steps in batches may take more (the default runs to `until_s`).
    fn advance_steps(
        &mut self,
        until_s: f64,
        max_steps: u64,
        stop: &StopFlag,
    ) -> Result<AdvanceOutcome, SimulationError> {
        let _ = max_steps;
        self.advance(until_s, stop)
    }
    /// Scalar observables of the current state (cheap; no field transfer).
    fn scalars(&mut self) -> Scalars;
    /// The full state on the host (a GPU backend downloads it).
    fn state(&mut self) -> &State;
    /// Replaces the current state (resume from a checkpoint).
    fn set_state(&mut self, state: State) -> Result<(), SimulationError>;
    /// Sets the applied current density (galvanostatic control; `control.protocol`), A/m², for
    /// the steps from now on.
    fn set_current_density(&mut self, a_m2: f64);
    /// Holds the cell voltage at `v` V for the steps from now on (a potentiostatic segment of
    /// `control.protocol` under galvanostatic control): the step still solves for φ0 and φ1 and
    /// combines them at V = v instead of at the V of the target current. None releases it.
    fn hold_cell_voltage(&mut self, v: Option<f64>);
    /// Wall time split (potential solve, rest) of the steps taken so far, when measured.
    fn timings(&self) -> Option<crate::cpu_backend::StepTimings> {
        None
    }
    /// CG iterations of all implicit Nernst–Planck solves this backend has run (None with the
    /// explicit sub-steps).
    fn nernst_planck_iterations(&self) -> Option<u64> {
        None
    }
}
