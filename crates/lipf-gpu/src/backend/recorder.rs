//! The GPU backend's step stages: the `StepKernels` implementation that records each stage's
//! dispatches (the step sequence itself is `lipf_core::step::step_sequence`, shared with the CPU
//! backend).

use super::resources::{CreepGroups, Gate, NpGroups};
use super::*;
/// The GPU backend's stages of the step: each records its dispatches into the pass (the
/// device decides the step size, the collector potential and the sub-step count; dispatches
/// past the target time or past convergence get zero workgroups).
pub(super) struct Recorder<'a, 'p> {
    pub(super) b: &'a GpuBackend,
    pub(super) pass: &'a mut wgpu::ComputePass<'p>,
    /// The index of the recorded step in its batch (its slot of the creep outflow).
    pub(super) step: usize,
}

impl StepKernels for Recorder<'_, '_> {
    fn begin_step(&mut self) -> Result<(), SimulationError> {
        let (b, one) = (self.b, Gate::Direct([1, 1, 1]));
        b.dispatch(self.pass, &b.k[KernelId::StepBegin], &b.g.step_begin, one);
        Ok(())
    }

    fn xi_rate(&mut self) -> Result<(), SimulationError> {
        let b = self.b;
        b.dispatch(
            self.pass,
            &b.k[KernelId::XiRate],
            &b.g.xi_rate,
            Gate::Step(0),
        );
        Ok(())
    }

    fn potential_assemble(&mut self) -> Result<(), SimulationError> {
        let b = self.b;
        b.dispatch(
            self.pass,
            &b.k[KernelId::PotentialAssemble],
            &b.g.assemble,
            Gate::Step(0),
        );
        let mut hierarchies = vec![&b.g.mg];
        if let Some(cg) = &b.g.coupled {
            let k = &b.k;
            b.dispatch(
                self.pass,
                &k[KernelId::ElectronicAssemble],
                &cg.electronic_assemble,
                Gate::Step(0),
            );
            hierarchies.push(&cg.electronic);
        }
        for h in hierarchies {
            for l in 1..b.dims.len() {
                let g = h.coarsen[l]
                    .as_ref()
                    .expect("coarse levels have a coarsen group");
                b.dispatch(self.pass, &b.k[KernelId::MgCoarsen], g, Gate::Step(l));
            }
        }
        Ok(())
    }

    fn add_collector_rhs(&mut self) -> Result<(), SimulationError> {
        let b = self.b;
        b.dispatch(
            self.pass,
            &b.k[KernelId::AddScaledRhs],
            &b.g.add_rhs,
            Gate::Step(0),
        );
        if let Some(cg) = &b.g.coupled {
            b.dispatch(
                self.pass,
                &b.k[KernelId::AddScaledRhs],
                &cg.add_rhs,
                Gate::Step(0),
            );
        }
        Ok(())
    }

    fn solve(&mut self, which: Solve) -> Result<(), SimulationError> {
        // Solve 0 holds φ0 (or φ itself under potentiostatic control), solve 1 holds φ1.
        let s = match which {
            Solve::Zero | Solve::Imposed => 0,
            Solve::Unit => 1,
        };
        match &self.b.g.coupled {
            Some(cg) => self.b.record_coupled_solve(self.pass, s, cg),
            None => self.b.record_solve(self.pass, s),
        }
        Ok(())
    }

    fn collector(&mut self) -> Result<(), SimulationError> {
        let (b, one) = (self.b, Gate::Direct([1, 1, 1]));
        b.dispatch(
            self.pass,
            &b.k[KernelId::CollectorPotential],
            &b.g.collector,
            one,
        );
        b.dispatch(
            self.pass,
            &b.k[KernelId::CombinePotential],
            &b.g.combine,
            Gate::Step(0),
        );
        if let Some(cg) = &b.g.coupled {
            b.dispatch(
                self.pass,
                &b.k[KernelId::CombinePotential],
                &cg.combine,
                Gate::Step(0),
            );
        }
        Ok(())
    }

    fn reaction_rate(&mut self) -> Result<(), SimulationError> {
        let (b, one) = (self.b, Gate::Direct([1, 1, 1]));
        b.dispatch(
            self.pass,
            &b.k[KernelId::ReactionRate],
            &b.g.reaction,
            Gate::Step(0),
        );
        b.dispatch(self.pass, &b.k[KernelId::TopCurrent], &b.g.top_current, one);
        Ok(())
    }

    fn time_step(&mut self) -> Result<(), SimulationError> {
        let b = self.b;
        b.dispatch(
            self.pass,
            &b.k[KernelId::DtPartials],
            &b.g.dt_partials,
            Gate::Step(b.red()),
        );
        b.dispatch(
            self.pass,
            &b.k[KernelId::TimeStep],
            &b.g.time_step,
            Gate::Direct([1, 1, 1]),
        );
        Ok(())
    }

    fn np_coefficients(&mut self) -> Result<(), SimulationError> {
        let b = self.b;
        b.dispatch(
            self.pass,
            &b.k[KernelId::NpCoefficients],
            &b.g.np_coefficients,
            Gate::Step(0),
        );
        Ok(())
    }

    fn np_substeps(&mut self) -> Result<(), SimulationError> {
        #[cfg(feature = "mutants")]
        if lipf_core::mutants::active("gpu-no-np-substeps") {
            return Ok(());
        }
        let b = self.b;
        for m in 0..b.substeps {
            b.dispatch(
                self.pass,
                &b.k[KernelId::NpSubstep],
                &b.g.np_substep,
                Gate::Sub(m),
            );
            b.dispatch(
                self.pass,
                &b.k[KernelId::Copy],
                &b.g.copy_conc,
                Gate::Sub(m),
            );
        }
        Ok(())
    }

    fn np_assemble(&mut self) -> Result<(), SimulationError> {
        let (b, np) = (self.b, implicit(self.b)?);
        b.dispatch(
            self.pass,
            &b.k[KernelId::NpAssemble],
            &np.assemble,
            Gate::Step(0),
        );
        b.dispatch(
            self.pass,
            &b.k[KernelId::NpAssembleRhs],
            &np.assemble_rhs,
            Gate::Step(0),
        );
        for l in 1..b.dims.len() {
            let g = np.levels.coarsen[l]
                .as_ref()
                .expect("coarse levels have a coarsen group");
            b.dispatch(self.pass, &b.k[KernelId::MgCoarsen], g, Gate::Step(l));
        }
        Ok(())
    }

    fn np_solve(&mut self) -> Result<(), SimulationError> {
        let (b, np) = (self.b, implicit(self.b)?);
        b.record_np_solve(self.pass, np);
        Ok(())
    }

    fn np_finish(&mut self) -> Result<(), SimulationError> {
        let (b, np) = (self.b, implicit(self.b)?);
        b.dispatch(
            self.pass,
            &b.k[KernelId::NpFinish],
            &np.finish,
            Gate::Step(0),
        );
        Ok(())
    }

    fn xi_noise(&mut self) -> Result<(), SimulationError> {
        let b = self.b;
        b.dispatch(
            self.pass,
            &b.k[KernelId::XiNoise],
            &b.g.xi_noise,
            Gate::Step(0),
        );
        Ok(())
    }

    fn xi_update(&mut self) -> Result<(), SimulationError> {
        let b = self.b;
        let Some(xg) = &b.g.xi_gradient else {
            b.dispatch(
                self.pass,
                &b.k[KernelId::XiUpdate],
                &b.g.xi_update,
                Gate::Step(0),
            );
            return Ok(());
        };
        // The semi-implicit gradient term: (1 − Δt Lσ κ_max ∇²) δ = Δt r (+ √Δt D), ξ += δ.
        b.dispatch(
            self.pass,
            &b.k[KernelId::XiGradientOperator],
            &xg.operator,
            Gate::Step(0),
        );
        for l in 1..b.dims.len() {
            let g = xg.levels.coarsen[l]
                .as_ref()
                .expect("coarse levels have a coarsen group");
            b.dispatch(self.pass, &b.k[KernelId::MgCoarsen], g, Gate::Step(l));
        }
        b.dispatch(
            self.pass,
            &b.k[KernelId::XiGradientRhs],
            &xg.rhs,
            Gate::Step(0),
        );
        b.record_xi_solve(self.pass, xg);
        b.dispatch(
            self.pass,
            &b.k[KernelId::XiGradientFinish],
            &xg.finish,
            Gate::Step(0),
        );
        Ok(())
    }

    fn creep_assemble(&mut self) -> Result<(), SimulationError> {
        let (b, cg) = (self.b, creep(self.b)?);
        // The first guess of the cells that fill (those without room) and p = p_s.
        b.dispatch(
            self.pass,
            &b.k[KernelId::CreepFirstGuess],
            &cg.first_guess,
            Gate::Step(0),
        );
        b.dispatch(self.pass, &b.k[KernelId::Copy], &cg.start, Gate::Step(0));
        record_creep_assemble(b, self.pass, cg);
        Ok(())
    }

    fn creep_solve(&mut self) -> Result<(), SimulationError> {
        let (b, cg) = (self.b, creep(self.b)?);
        for round in 0..CREEP_ACTIVE_SET_ROUNDS {
            if round > 0 {
                record_creep_assemble(b, self.pass, cg);
            }
            b.record_creep_solve(self.pass, cg);
            // No update after the last solve: creep_finish must see the set that solve's
            // operator was assembled with (the CPU backend keeps the same rule).
            if round + 1 < CREEP_ACTIVE_SET_ROUNDS {
                b.dispatch(
                    self.pass,
                    &b.k[KernelId::CreepActiveSet],
                    &cg.active_set,
                    Gate::Step(0),
                );
            }
        }
        Ok(())
    }

    fn creep_finish(&mut self) -> Result<(), SimulationError> {
        let (b, cg) = (self.b, creep(self.b)?);
        b.dispatch(
            self.pass,
            &b.k[KernelId::CreepFinish],
            &cg.finish,
            Gate::Step(0),
        );
        // One workgroup (the coarsest level's single-cell shape) while the step runs.
        let one = Gate::Step(b.dims.len() - 1);
        b.dispatch(
            self.pass,
            &b.k[KernelId::CreepFinishOutflow],
            &cg.outflow[self.step],
            one,
        );
        Ok(())
    }

    fn end_step(&mut self) -> Result<(), SimulationError> {
        let b = self.b;
        b.dispatch(
            self.pass,
            &b.k[KernelId::Copy],
            &b.g.copy_eta,
            Gate::Step(0),
        );
        Ok(())
    }
}

/// The creep operator and right-hand side of the current set, and its coarse operators.
fn record_creep_assemble(b: &GpuBackend, pass: &mut wgpu::ComputePass, cg: &CreepGroups) {
    b.dispatch(
        pass,
        &b.k[KernelId::CreepAssemble],
        &cg.assemble,
        Gate::Step(0),
    );
    for l in 1..b.dims.len() {
        let g = cg.levels.coarsen[l]
            .as_ref()
            .expect("coarse levels have a coarsen group");
        b.dispatch(pass, &b.k[KernelId::MgCoarsen], g, Gate::Step(l));
    }
}

/// The creep groups (built by `GpuBackend::with_state` for a configuration with creep; the step
/// sequence records the creep stages only then).
fn creep(b: &GpuBackend) -> Result<&CreepGroups, SimulationError> {
    b.g.creep.as_ref().ok_or_else(|| {
        SimulationError::Solver(
            "the creep stages were recorded for a backend built without creep".into(),
        )
    })
}

/// The implicit Nernst–Planck groups (built by `GpuBackend::with_state` for an implicit
/// configuration; the step sequence records the implicit stages only then).
fn implicit(b: &GpuBackend) -> Result<&NpGroups, SimulationError> {
    b.g.np.as_ref().ok_or_else(|| {
        SimulationError::Solver(
            "the implicit Nernst–Planck stages were recorded for a backend built for explicit \
             sub-steps"
                .into(),
        )
    })
}
