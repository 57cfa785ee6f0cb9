//! The one time-step sequence both backends run (docs/models/phase-field.md §4).
//!
//! A backend implements [`StepKernels`]: each method is one stage of the step, which the CPU
//! backend executes at once and the GPU backend records as dispatches into a submission. The
//! order lives only here, in [`potential_sequence`] and [`step_sequence`]; a new kernel is added
//! to the step by a method here, its two implementations, and one line in the sequence.

use crate::backend::SimulationError;
use crate::config::{ControlMode, NernstPlanck};

/// Which potential a solve computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solve {
    /// φ0: the potential at zero collector potential (galvanostatic control).
    Zero,
    /// φ1: the response to a unit collector potential (galvanostatic control).
    Unit,
    /// φ at the imposed collector potential (potentiostatic control).
    Imposed,
}

/// The stages of one time step.
pub trait StepKernels {
    /// Starts a step (the GPU resets the step's control record).
    fn begin_step(&mut self) -> Result<(), SimulationError>;
    /// `xi_rate`: Allen–Cahn rate and Butler–Volmer linearised at the last overpotential.
    fn xi_rate(&mut self) -> Result<(), SimulationError>;
    /// `potential_assemble` and the coarse operators of the multigrid hierarchy (`mg_coarsen`).
    fn potential_assemble(&mut self) -> Result<(), SimulationError>;
    /// Potentiostatic control: the collector potential's part of the right-hand side.
    fn add_collector_rhs(&mut self) -> Result<(), SimulationError>;
    /// Multigrid-preconditioned CG for one potential (warm-started).
    fn solve(&mut self, which: Solve) -> Result<(), SimulationError>;
    /// Galvanostatic control (`collector`): V = (I_target − I0)/I1 and φ = φ0 + V φ1.
    fn collector(&mut self) -> Result<(), SimulationError>;
    /// `reaction_rate`: the final ξ rate r and overpotential η from φ (and the current through
    /// the top boundary).
    fn reaction_rate(&mut self) -> Result<(), SimulationError>;
    /// `time_step`: Δt from the stability limits and the largest change of ξ, landing on the
    /// target time; the number of Nernst–Planck sub-steps.
    fn time_step(&mut self) -> Result<(), SimulationError>;
    /// `np_coefficients`: the Nernst–Planck stencil of this step.
    fn np_coefficients(&mut self) -> Result<(), SimulationError>;
    /// `np_substep` as many times as `time_step` chose.
    fn np_substeps(&mut self) -> Result<(), SimulationError>;
    /// Implicit Nernst–Planck: `np_assemble` (the step's SPD problem in u = c̃ e^{fφ}) and the
    /// coarse operators of its multigrid hierarchy.
    fn np_assemble(&mut self) -> Result<(), SimulationError>;
    /// Multigrid-preconditioned CG for u (warm-started from the old c̃).
    fn np_solve(&mut self) -> Result<(), SimulationError>;
    /// `np_finish`: c̃ = e^{−fφ} u.
    fn np_finish(&mut self) -> Result<(), SimulationError>;
    /// `xi_noise`: the conserved Langevin noise of this step, D per cell (only with
    /// `model.noise_amplitude_per_sqrt_s` > 0).
    fn xi_noise(&mut self) -> Result<(), SimulationError>;
    /// `xi_update`: ξ += Δt r (+ √Δt D with noise).
    fn xi_update(&mut self) -> Result<(), SimulationError>;
    /// Li creep: `creep_assemble`, the pressure problem of the metal's flow (and the coarse
    /// operators of its multigrid hierarchy).
    fn creep_assemble(&mut self) -> Result<(), SimulationError>;
    /// Multigrid-preconditioned CG for the pressure.
    fn creep_solve(&mut self) -> Result<(), SimulationError>;
    /// `creep_finish`: ξ gives up its excess and takes up the inflow; the flow through the
    /// collector is counted.
    fn creep_finish(&mut self) -> Result<(), SimulationError>;
    /// Closes the step: η becomes the next linearisation point, time, charge and counters
    /// advance (and the CPU checks the ranges every few steps).
    fn end_step(&mut self) -> Result<(), SimulationError>;
}

/// Rate, potential and final rate: what the Newton iterations on η before the first step
/// repeat, and the first half of every step.
pub fn potential_sequence<K: StepKernels + ?Sized>(
    k: &mut K,
    control: ControlMode,
) -> Result<(), SimulationError> {
    k.xi_rate()?;
    k.potential_assemble()?;
    match control {
        ControlMode::Galvanostatic => {
            k.solve(Solve::Zero)?;
            k.solve(Solve::Unit)?;
            k.collector()?;
        }
        ControlMode::Potentiostatic => {
            k.add_collector_rhs()?;
            k.solve(Solve::Imposed)?;
        }
    }
    k.reaction_rate()
}

/// One time step.
pub fn step_sequence<K: StepKernels + ?Sized>(
    k: &mut K,
    control: ControlMode,
    nernst_planck: NernstPlanck,
    creep: bool,
    noise: bool,
) -> Result<(), SimulationError> {
    k.begin_step()?;
    potential_sequence(k, control)?;
    k.time_step()?;
    match nernst_planck {
        NernstPlanck::Explicit => {
            k.np_coefficients()?;
            k.np_substeps()?;
        }
        NernstPlanck::Implicit => {
            k.np_assemble()?;
            k.np_solve()?;
            k.np_finish()?;
        }
    }
    if noise {
        k.xi_noise()?;
    }
    k.xi_update()?;
    if creep {
        k.creep_assemble()?;
        k.creep_solve()?;
        k.creep_finish()?;
    }
    k.end_step()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the order of the stages.
    #[derive(Default)]
    struct Log(Vec<&'static str>);

    impl StepKernels for Log {
        fn begin_step(&mut self) -> Result<(), SimulationError> {
            self.0.push("begin");
            Ok(())
        }
        fn xi_rate(&mut self) -> Result<(), SimulationError> {
            self.0.push("xi_rate");
            Ok(())
        }
        fn potential_assemble(&mut self) -> Result<(), SimulationError> {
            self.0.push("assemble");
            Ok(())
        }
        fn add_collector_rhs(&mut self) -> Result<(), SimulationError> {
            self.0.push("add_rhs");
            Ok(())
        }
        fn solve(&mut self, which: Solve) -> Result<(), SimulationError> {
            self.0.push(match which {
                Solve::Zero => "solve0",
                Solve::Unit => "solve1",
                Solve::Imposed => "solve",
            });
            Ok(())
        }
        fn collector(&mut self) -> Result<(), SimulationError> {
            self.0.push("collector");
            Ok(())
        }
        fn reaction_rate(&mut self) -> Result<(), SimulationError> {
            self.0.push("reaction");
            Ok(())
        }
        fn time_step(&mut self) -> Result<(), SimulationError> {
            self.0.push("time_step");
            Ok(())
        }
        fn np_coefficients(&mut self) -> Result<(), SimulationError> {
            self.0.push("np_coefficients");
            Ok(())
        }
        fn np_substeps(&mut self) -> Result<(), SimulationError> {
            self.0.push("np_substeps");
            Ok(())
        }
        fn np_assemble(&mut self) -> Result<(), SimulationError> {
            self.0.push("np_assemble");
            Ok(())
        }
        fn np_solve(&mut self) -> Result<(), SimulationError> {
            self.0.push("np_solve");
            Ok(())
        }
        fn np_finish(&mut self) -> Result<(), SimulationError> {
            self.0.push("np_finish");
            Ok(())
        }
        fn xi_noise(&mut self) -> Result<(), SimulationError> {
            self.0.push("xi_noise");
            Ok(())
        }
        fn xi_update(&mut self) -> Result<(), SimulationError> {
            self.0.push("xi_update");
            Ok(())
        }
        fn creep_assemble(&mut self) -> Result<(), SimulationError> {
            self.0.push("creep_assemble");
            Ok(())
        }
        fn creep_solve(&mut self) -> Result<(), SimulationError> {
            self.0.push("creep_solve");
            Ok(())
        }
        fn creep_finish(&mut self) -> Result<(), SimulationError> {
            self.0.push("creep_finish");
            Ok(())
        }
        fn end_step(&mut self) -> Result<(), SimulationError> {
            self.0.push("end");
            Ok(())
        }
    }

    #[test]
    fn the_step_runs_its_stages_in_order() {
        let mut g = Log::default();
        step_sequence(
            &mut g,
            ControlMode::Galvanostatic,
            NernstPlanck::Explicit,
            false,
            false,
        )
        .unwrap();
        assert_eq!(
            g.0,
            [
                "begin",
                "xi_rate",
                "assemble",
                "solve0",
                "solve1",
                "collector",
                "reaction",
                "time_step",
                "np_coefficients",
                "np_substeps",
                "xi_update",
                "end"
            ]
        );
        let mut i = Log::default();
        step_sequence(
            &mut i,
            ControlMode::Potentiostatic,
            NernstPlanck::Implicit,
            true,
            true,
        )
        .unwrap();
        assert_eq!(
            i.0,
            [
                "begin",
                "xi_rate",
                "assemble",
                "add_rhs",
                "solve",
                "reaction",
                "time_step",
                "np_assemble",
                "np_solve",
                "np_finish",
                "xi_noise",
                "xi_update",
                "creep_assemble",
                "creep_solve",
                "creep_finish",
                "end"
            ]
        );
        let mut p = Log::default();
        potential_sequence(&mut p, ControlMode::Potentiostatic).unwrap();
        assert_eq!(p.0, ["xi_rate", "assemble", "add_rhs", "solve", "reaction"]);
    }
}
