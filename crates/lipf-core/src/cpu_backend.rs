//! The CPU backend: the reference time stepper. One step (docs/models/phase-field.md §4):
//!
//! 1. `xi_rate`: Allen–Cahn rate and Butler–Volmer linearised at the last overpotential η*.
//! 2. `potential_assemble`: current continuity with that rate as its source.
//! 3. Multigrid-preconditioned CG, warm-started: φ0 (V = 0) and φ1 (unit collector potential).
//!    Galvanostatic: V = (I_target − I0)/I1 makes the top-boundary current exactly the target
//!    (`collector`).
//! 4. `reaction_rate`: r and η from φ = φ0 + V φ1.
//! 5. `time_step`: Δt from the explicit stability limits and the largest allowed change of ξ.
//! 6. Nernst–Planck: implicit (`np_assemble`, one multigrid-preconditioned CG solve for
//!    u = c̃ e^{fφ}, `np_finish`) or explicit (`np_coefficients` once, then `np_substep` at its own
//!    stability limit within the step); then `xi_update` (ξ += Δt r).
//!
//! The charge of a step is i·Δt with i the top-boundary current of the potential whose source
//! was r, so nF Δ(c_s∫ξ) = ∫ i dt holds to the solver tolerance.

use crate::backend::{AdvanceOutcome, Backend, SimulationError, StopFlag};
use crate::coefficients::Coefficients;
use crate::config::Config;
use crate::config::{NernstPlanck, OverpotentialForm};
use crate::cpu::collector::{
    add_scaled_rhs, collector, collector_from_currents, combine_potential, top_current,
};
use crate::cpu::conc_update::cell_diffusivity;
use crate::cpu::creep_assemble::{creep_assemble, first_guess, update_active_set};
use crate::cpu::creep_finish::creep_finish;
use crate::cpu::electronic_assemble::electronic_assemble;
use crate::cpu::np_assemble::np_assemble;
use crate::cpu::np_coefficients::{np_coefficients, NP_COEFFS};
use crate::cpu::np_finish::np_finish;
use crate::cpu::np_substep::np_substep;
use crate::cpu::operator::Operator;
use crate::cpu::potential_assemble::potential_assemble;
use crate::cpu::reaction_rate::reaction_rate;
use crate::cpu::time_step::{
    step_maxima, time_step, TimeStepParams, LAND_TOLERANCE, SUBSTEP_SLACK,
};
use crate::cpu::xi_gradient_finish::xi_gradient_finish;
use crate::cpu::xi_gradient_operator::xi_gradient_operator;
use crate::cpu::xi_gradient_rhs::xi_gradient_rhs;
use crate::cpu::xi_rate::{obstacle_dt_cap_s, obstacle_step_s, xi_rate, XiRateParams};
use crate::cpu::xi_update::xi_update;
use crate::geometry::GeometryInfo;
use crate::observables::{self, Scalars};
use crate::solver::{CoarseCorrection, CoupledMultigrid, Multigrid, SolveStats};
use crate::state::State;
use crate::step::{potential_sequence, step_sequence, Solve, StepKernels};
use std::time::Instant;

/// Admissible ranges; leaving them stops the run (`cpu::range_check`).
pub use crate::cpu::range_check::{CONC_MIN, XI_MAX, XI_MIN};
/// Wall-clock split of a backend's steps, s.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StepTimings {
    /// Assembly, multigrid set-up and both potential solves.
    pub potential_s: f64,
    /// Everything else: ξ rate, step size, Nernst–Planck and ξ updates, range checks.
    pub other_s: f64,
}

/// Newton iterations on the overpotential before the first step.
pub const NEWTON_MAX_ITERATIONS: usize = 30;
pub const NEWTON_TOLERANCE_V: f64 = 1e-5;
/// The range check runs every this many steps (and at the end of every advance).
const CHECK_EVERY: u64 = 16;
/// Tolerance of the implicit Nernst–Planck solve: Σ|b − A u| ≤ this × cells, in units of c̃
/// (ions are conserved to the residual; c̃ − 1 is ~1e-6 at Nernst–Einstein diffusivity).
pub const NP_RESIDUAL_PER_CELL: f64 = 1e-11;
/// Tolerance of the creep pressure solve: Σ|b − A p| ≤ this × cells, in units of ξ (the metal
/// is conserved to the residual).
pub const CREEP_RESIDUAL_PER_CELL: f64 = 1e-13;

/// Stopping residual of the ξ increment's solve (`model.allen_cahn_gradient = "implicit"`), per
/// cell, in units of ξ: Σ|Δt r − A δ| ≤ this × cells, so the Li it may create or lose in a step
/// is below 1e-13 of a cell on average.
pub const XI_RESIDUAL_PER_CELL: f64 = 1e-13;

pub struct CpuBackend {
    pub coeffs: Coefficients,
    config: Config,
    state: State,
    geometry: GeometryInfo,
    op: Operator,
    solver: PotentialSolver,
    diffusivity: Vec<f64>,
    // Work arrays.
    a: Vec<f64>,
    g: Vec<f64>,
    /// The step's conserved noise D (`xi_noise`), allocated on first use.
    noise: Option<Vec<f64>>,
    b0: Vec<f64>,
    b1: Vec<f64>,
    rate: Vec<f64>,
    eta_new: Vec<f64>,
    conc_new: Vec<f64>,
    /// Largest ξ step (explicit Allen–Cahn limit × safety), s.
    dt_stable_s: f64,
    /// Largest Nernst–Planck sub-step (explicit diffusion limit × safety), s.
    dt_np_s: f64,
    /// Nernst–Planck stencil of the current step (`np_coefficients`).
    np_stencil: Vec<f64>,
    /// The implicit Nernst–Planck problem (`np_assemble`): operator, right-hand side, the
    /// Slotboom variable u and its multigrid hierarchy (None with explicit sub-steps).
    np: Option<ImplicitNp>,
    /// The creep problem of a step (None without creep).
    creep: Option<CreepFlow>,
    /// The ξ increment's problem with the semi-implicit gradient term (None when explicit).
    gradient: Option<ImplicitGradient>,
    /// Wall time spent in the potential solve and in everything else (not part of the state).
    timings: StepTimings,
    /// What the stages of the step in progress hand on to each other (not part of the state).
    current: StepInProgress,
}

/// The potential solver of the model form.
enum PotentialSolver {
    /// One potential (consistent and single-potential forms).
    Single(Multigrid),
    /// The two-potential form: the electronic problem and the coupled solver.
    Coupled(Box<Electronic>),
}

/// The implicit Nernst–Planck problem of a step.
struct ImplicitNp {
    op: Operator,
    rhs: Vec<f64>,
    u: Vec<f64>,
    solver: Multigrid,
    /// CG iterations of all implicit Nernst–Planck solves of this backend.
    iterations_total: u64,
}

/// The ξ increment of a step with the semi-implicit gradient term (`cpu::xi_gradient_operator`).
struct ImplicitGradient {
    op: Operator,
    rhs: Vec<f64>,
    delta: Vec<f64>,
    solver: Multigrid,
    /// The Δt the operator and its hierarchy were built for (rebuilt when the step changes).
    dt_s: f64,
    /// CG iterations of all its solves.
    iterations_total: u64,
}

/// The creep pressure problem of a step.
struct CreepFlow {
    op: Operator,
    rhs: Vec<f64>,
    /// Pressure of the metal, Pa (started at the stack pressure every step, so that a resumed
    /// run repeats the same solves; each later active-set round starts from the one before).
    pressure: Vec<f64>,
    /// The cells that fill up in this step (the active set of the obstacle problem).
    full: Vec<bool>,
    solver: Multigrid,
    /// CG iterations and active-set iterations of all creep solves of this backend.
    iterations_total: u64,
    active_set_iterations_total: u64,
}

/// Most active-set iterations of one creep step; beyond them the step keeps the last solution
/// with the set it was solved for (still conservative: a free cell that took up more than its
/// room pushes the rest on in the next step).
pub const CREEP_MAX_ACTIVE_SET_ITERATIONS: usize = 20;
/// Active-set rounds after which a cell may still fill but no longer become free again.
pub const CREEP_MONOTONE_AFTER: usize = 5;

/// The electronic problem of the two-potential form.
struct Electronic {
    solver: CoupledMultigrid,
    op: Operator,
    b0: Vec<f64>,
    b1: Vec<f64>,
}

/// Values one stage of a CPU step hands to the next.
#[derive(Debug, Clone, Copy)]
struct StepInProgress {
    /// The step does not go beyond this time, s.
    t_max_s: f64,
    /// Solver iterations of this step (both solves).
    iterations: u64,
    /// The two galvanostatic solves, checked together by the collector.
    solves: [Option<SolveStats>; 2],
    /// Chosen by `time_step`.
    dt_s: f64,
    land: bool,
    substeps: usize,
    dt_sub_s: f64,
    /// Wall-clock marks: step start, potential start, potential end.
    started: Instant,
    potential_started: Instant,
    potential_ended: Instant,
}

impl StepInProgress {
    fn new() -> StepInProgress {
        let now = Instant::now();
        StepInProgress {
            t_max_s: 0.0,
            iterations: 0,
            solves: [None, None],
            dt_s: 0.0,
            land: false,
            substeps: 0,
            dt_sub_s: 0.0,
            started: now,
            potential_started: now,
            potential_ended: now,
        }
    }
}

impl CpuBackend {
    /// A backend on the initial state of `config` ([`crate::initial::initial_state`]).
    pub fn new(config: &Config) -> Result<CpuBackend, SimulationError> {
        let init = crate::initial::initial_state(config)?;
        Ok(CpuBackend::with_state(config, init.state, init.geometry))
    }

    /// A backend around an existing state (resume, tests). No equilibration.
    pub fn with_state(config: &Config, state: State, geometry: GeometryInfo) -> CpuBackend {
        let coeffs = Coefficients::from_config(config);
        let grid = coeffs.grid;
        let shape = grid.shape();
        assert_eq!(shape, state.grid.shape());
        let n = grid.cells();
        let diffusivity = state
            .xi
            .iter()
            .zip(&state.phi)
            .map(|(&x, &p)| cell_diffusivity(&coeffs, x, p))
            .collect();
        let dt_stable_s = config.time.stability_safety * coeffs.dt_step_limit_s();
        let dt_np_s = config.time.stability_safety * coeffs.dt_diffusion_s();
        let sweeps = config.solver.smoothing_sweeps;
        let cycle = config.solver.cycle;
        let solver = if coeffs.overpotential == OverpotentialForm::TwoPotential {
            PotentialSolver::Coupled(Box::new(Electronic {
                solver: CoupledMultigrid::with_shape(shape, sweeps, cycle),
                op: Operator::zeros3(grid.nx, grid.ny, grid.nz),
                b0: vec![0.0; n],
                b1: vec![0.0; n],
            }))
        } else {
            PotentialSolver::Single(Multigrid::with_shape(shape, sweeps, cycle))
        };
        CpuBackend {
            op: Operator::zeros3(grid.nx, grid.ny, grid.nz),
            solver,
            diffusivity,
            a: vec![0.0; n],
            g: vec![0.0; n],
            noise: None,
            b0: vec![0.0; n],
            b1: vec![0.0; n],
            rate: vec![0.0; n],
            eta_new: vec![0.0; n],
            conc_new: vec![0.0; n],
            np_stencil: vec![0.0; n * NP_COEFFS],
            np: (coeffs.nernst_planck == NernstPlanck::Implicit).then(|| ImplicitNp {
                op: Operator::zeros3(grid.nx, grid.ny, grid.nz),
                rhs: vec![0.0; n],
                u: vec![0.0; n],
                solver: Multigrid::with_shape(shape, sweeps, cycle)
                    .with_correction(CoarseCorrection::Plain),
                iterations_total: 0,
            }),
            gradient: coeffs.implicit_gradient.then(|| ImplicitGradient {
                op: Operator::zeros3(grid.nx, grid.ny, grid.nz),
                rhs: vec![0.0; n],
                delta: vec![0.0; n],
                // Unscaled coarse corrections, as for Nernst–Planck: the diagonal 1 dominates
                // where the step is short.
                solver: Multigrid::with_shape(shape, sweeps, cycle)
                    .with_correction(CoarseCorrection::Plain),
                dt_s: f64::NAN,
                iterations_total: 0,
            }),
            creep: coeffs.creep.map(|_| CreepFlow {
                op: Operator::zeros3(grid.nx, grid.ny, grid.nz),
                rhs: vec![0.0; n],
                pressure: vec![0.0; n],
                full: vec![false; n],
                solver: Multigrid::with_shape(shape, sweeps, cycle),
                iterations_total: 0,
                active_set_iterations_total: 0,
            }),
            dt_stable_s,
            dt_np_s,
            timings: StepTimings::default(),
            current: StepInProgress::new(),
            coeffs,
            config: config.clone(),
            state,
            geometry,
        }
    }

    pub fn geometry(&self) -> &GeometryInfo {
        &self.geometry
    }

    /// The ξ (and potential) step the explicit Allen–Cahn limit allows, s.
    pub fn dt_stable_s(&self) -> f64 {
        self.dt_stable_s
    }

    /// CG iterations and active-set iterations of all creep solves so far (0 without creep).
    pub fn creep_iterations_total(&self) -> (u64, u64) {
        self.creep.as_ref().map_or((0, 0), |c| {
            (c.iterations_total, c.active_set_iterations_total)
        })
    }

    /// The creep operator and right-hand side for the current set of filling cells, and the
    /// coarse operators of its hierarchy.
    fn assemble_creep(&mut self) -> Result<(), SimulationError> {
        let cr = self.coeffs.creep.expect("creep");
        let flow = self.creep.as_mut().expect("creep");
        let g = self.coeffs.grid;
        creep_assemble(
            &cr,
            g.nx,
            g.ny,
            g.dx_m,
            self.current.dt_s,
            &self.state.xi,
            &self.state.phi,
            &flow.full,
            &mut flow.op,
            &mut flow.rhs,
        );
        flow.solver
            .setup(&flow.op)
            .map_err(|e| SimulationError::Solver(format!("creep multigrid: {e}")))
    }

    /// The Nernst–Planck sub-step the explicit diffusion limit allows, s.
    pub fn dt_np_s(&self) -> f64 {
        self.dt_np_s
    }

    fn refresh_diffusivity(&mut self) {
        let c = &self.coeffs;
        for ((d, &x), &p) in self
            .diffusivity
            .iter_mut()
            .zip(&self.state.xi)
            .zip(&self.state.phi)
        {
            *d = cell_diffusivity(c, x, p);
        }
    }

    /// The current scale the solver tolerance refers to, A/m per unit depth.
    fn current_scale_a_m(&self) -> f64 {
        let w = self.coeffs.grid.collector_m();
        self.coeffs
            .target_current_a_m
            .abs()
            .max(1e-3 * self.coeffs.exchange_current_density_a_m2 * w)
    }

    /// One time step that does not go beyond `t_max_s` ([`crate::step::step_sequence`]).
    pub fn step(&mut self, t_max_s: f64) -> Result<(), SimulationError> {
        self.current.t_max_s = t_max_s;
        if self.state.step == 0 {
            self.converge_initial_overpotential()?;
        }
        step_sequence(
            self,
            self.coeffs.control,
            self.coeffs.nernst_planck,
            self.coeffs.creep.is_some(),
            self.coeffs.noise_amplitude_per_sqrt_s > 0.0,
        )
    }

    /// Wall time split of the steps taken so far by this backend object.
    pub fn timings(&self) -> StepTimings {
        self.timings
    }

    /// Newton iterations on the overpotential before the first step: the linearisation point
    /// of step 0 is then the consistent overpotential rather than η = 0.
    fn converge_initial_overpotential(&mut self) -> Result<(), SimulationError> {
        for _ in 0..NEWTON_MAX_ITERATIONS {
            potential_sequence(self, self.coeffs.control)?;
            let change = self
                .eta_new
                .iter()
                .zip(&self.state.eta)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            std::mem::swap(&mut self.state.eta, &mut self.eta_new);
            if change < NEWTON_TOLERANCE_V {
                break;
            }
        }
        Ok(())
    }

    /// Potential-solve tolerance (Σ|current imbalance|) and iteration limit.
    fn solve_limits(&self) -> (f64, usize) {
        (
            self.config.solver.relative_tolerance * self.current_scale_a_m(),
            self.config.solver.max_iterations,
        )
    }

    fn not_converged(&self, stats: &str) -> SimulationError {
        solve_failure("potential", stats, &self.state)
    }
    /// Stops the run on NaN/Inf or a field outside its admissible range, naming field and cell.
    pub fn check_ranges(&self) -> Result<(), SimulationError> {
        let s = &self.state;
        check_field_ranges(s)?;
        if !s.v_collector.is_finite() {
            return Err(SimulationError::OutOfRange {
                field: "cell_voltage",
                value: s.v_collector,
                i: 0,
                j: 0,
                step: s.step,
                time_s: s.time_s,
                reason: "not a finite number",
            });
        }
        Ok(())
    }
}

/// Runs `solve` on `fields` shifted by −`v` (the potentials relative to the collector) and
/// shifts them back.
fn relative_to_collector(
    v: f64,
    fields: [&mut Vec<f64>; 2],
    solve: impl FnOnce([&mut [f64]; 2]) -> SolveStats,
) -> SolveStats {
    let [a, b] = fields;
    a.iter_mut().chain(b.iter_mut()).for_each(|x| *x -= v);
    let st = solve([a.as_mut_slice(), b.as_mut_slice()]);
    a.iter_mut().chain(b.iter_mut()).for_each(|x| *x += v);
    st
}

/// The fields' admissible ranges (`cpu::range_check`) as an error naming field, value and cell.
pub fn check_field_ranges(s: &State) -> Result<(), SimulationError> {
    use crate::cpu::range_check::{range_check, FIELDS, IN_RANGE};
    let g = s.grid;
    let status = range_check(&s.xi, &s.conc, &s.potential);
    let fields = [&s.xi, &s.conc, &s.potential];
    for (f, &k) in status.iter().enumerate() {
        if k != IN_RANGE {
            let k = k as usize;
            let v = fields[f][k];
            return Err(SimulationError::OutOfRange {
                field: FIELDS[f],
                value: v,
                i: k % g.nx,
                j: k / g.nx,
                step: s.step,
                time_s: s.time_s,
                reason: if v.is_finite() {
                    "outside the admissible range"
                } else {
                    "not a finite number"
                },
            });
        }
    }
    Ok(())
}

/// The CPU backend's stages of the step: each runs its kernel at once.
impl StepKernels for CpuBackend {
    fn begin_step(&mut self) -> Result<(), SimulationError> {
        self.current.started = Instant::now();
        Ok(())
    }

    fn xi_rate(&mut self) -> Result<(), SimulationError> {
        let mut p = XiRateParams::new(&self.coeffs, true);
        let s = &self.state;
        let cap = obstacle_dt_cap_s(
            self.coeffs.implicit_obstacle,
            self.dt_stable_s,
            self.config.time.max_dt_s,
        );
        p.obstacle_step_s = obstacle_step_s(cap, self.current.t_max_s - s.time_s);
        xi_rate(&p, &s.xi, &s.phi, &s.conc, &s.eta, &mut self.a, &mut self.g);
        Ok(())
    }

    fn potential_assemble(&mut self) -> Result<(), SimulationError> {
        self.current.potential_started = Instant::now();
        self.current.iterations = 0;
        self.current.solves = [None, None];
        let s = &self.state;
        potential_assemble(
            &self.coeffs,
            &s.xi,
            &s.phi,
            &self.a,
            &self.g,
            &s.eta,
            &mut self.op,
            &mut self.b0,
            &mut self.b1,
        );
        match &mut self.solver {
            PotentialSolver::Coupled(e) => {
                electronic_assemble(
                    &self.coeffs,
                    &s.xi,
                    &s.phi,
                    &s.electronic_potential,
                    &self.a,
                    &self.g,
                    &mut e.op,
                    &mut e.b0,
                    &mut e.b1,
                );
                e.solver.setup(&self.op, &e.op)
            }
            PotentialSolver::Single(mg) => mg.setup(&self.op),
        }
        .map_err(SimulationError::Solver)
    }

    fn add_collector_rhs(&mut self) -> Result<(), SimulationError> {
        let v = self.state.v_collector;
        add_scaled_rhs(&mut self.b0, &self.b1, v);
        if let PotentialSolver::Coupled(e) = &mut self.solver {
            add_scaled_rhs(&mut e.b0, &e.b1, v);
        }
        Ok(())
    }

    fn solve(&mut self, which: Solve) -> Result<(), SimulationError> {
        let (tol, max_it) = self.solve_limits();
        let s = &mut self.state;
        // φ1 enters scaled by V: its tolerance is relative to the expected |V|.
        let unit_tol = crate::cpu::cg_control::solve_tolerance(tol, true, s.v_collector);
        let st = match (which, &mut self.solver) {
            (Solve::Zero, PotentialSolver::Coupled(e)) => e.solver.solve(
                &self.b0,
                &e.b0,
                &mut s.potential0,
                &mut s.electronic_potential0,
                tol,
                max_it,
            ),
            // Relative to the collector potential (`electronic_assemble`): φ = V + ψ.
            (Solve::Unit, PotentialSolver::Coupled(e)) => relative_to_collector(
                1.0,
                [&mut s.potential1, &mut s.electronic_potential1],
                |[pl, ps]| e.solver.solve(&self.b1, &e.b1, pl, ps, unit_tol, max_it),
            ),
            (Solve::Imposed, PotentialSolver::Coupled(e)) => relative_to_collector(
                s.v_collector,
                [&mut s.potential, &mut s.electronic_potential],
                |[pl, ps]| e.solver.solve(&self.b0, &e.b0, pl, ps, tol, max_it),
            ),
            (Solve::Zero, PotentialSolver::Single(mg)) => {
                mg.solve(&self.b0, &mut s.potential0, tol, max_it)
            }
            (Solve::Unit, PotentialSolver::Single(mg)) => {
                mg.solve(&self.b1, &mut s.potential1, unit_tol, max_it)
            }
            (Solve::Imposed, PotentialSolver::Single(mg)) => {
                mg.solve(&self.b0, &mut s.potential, tol, max_it)
            }
        };
        self.current.iterations += st.iterations as u64;
        match which {
            Solve::Zero => self.current.solves[0] = Some(st),
            Solve::Unit => self.current.solves[1] = Some(st),
            Solve::Imposed => {
                if !st.converged {
                    return Err(self.not_converged(&format!("{st:?}")));
                }
            }
        }
        Ok(())
    }

    fn collector(&mut self) -> Result<(), SimulationError> {
        let [Some(st0), Some(st1)] = self.current.solves else {
            return Err(SimulationError::Solver(
                "collector: both galvanostatic solves must run first".into(),
            ));
        };
        if !st0.converged || !st1.converged {
            return Err(self.not_converged(&format!("{st0:?} / {st1:?}")));
        }
        let s = &mut self.state;
        let target = self.coeffs.target_current_a_m;
        let held = self.coeffs.held_voltage_v;
        let v = match &self.solver {
            PotentialSolver::Coupled(e) => {
                // Ions and electrons together through the counter electrode.
                let i0 = top_current(&self.op, &s.potential0)
                    + top_current(&e.op, &s.electronic_potential0);
                let i1 = top_current(&self.op, &s.potential1)
                    + top_current(&e.op, &s.electronic_potential1);
                let v = collector_from_currents(i0, i1, target, held)?.v_collector;
                combine_potential(
                    &s.electronic_potential0,
                    &s.electronic_potential1,
                    v,
                    &mut s.electronic_potential,
                );
                v
            }
            PotentialSolver::Single(_) => {
                collector(&self.op, &s.potential0, &s.potential1, target, held)?.v_collector
            }
        };
        s.v_collector = v;
        combine_potential(&s.potential0, &s.potential1, v, &mut s.potential);
        Ok(())
    }

    fn reaction_rate(&mut self) -> Result<(), SimulationError> {
        let s = &self.state;
        reaction_rate(
            &self.coeffs,
            &self.a,
            &self.g,
            &s.eta,
            &s.potential,
            &s.electronic_potential,
            s.v_collector,
            &mut self.rate,
            &mut self.eta_new,
        );
        self.current.potential_ended = Instant::now();
        Ok(())
    }

    fn time_step(&mut self) -> Result<(), SimulationError> {
        let c = &self.coeffs;
        let s = &self.state;
        let maxima = step_maxima(
            c.grid.shape(),
            c.f_over_rt_per_v,
            &self.rate,
            &s.potential,
            &self.diffusivity,
        );
        let p = TimeStepParams {
            dt_stable_s: self.dt_stable_s,
            dt_np_s: self.dt_np_s,
            max_xi_change: self.config.time.max_xi_change_per_step,
            max_dt_s: self.config.time.max_dt_s,
            dx_m: c.grid.dx_m,
            land_tolerance: LAND_TOLERANCE,
            substep_slack: SUBSTEP_SLACK,
        };
        let step = time_step(&p, maxima, self.current.t_max_s - s.time_s);
        let cur = &mut self.current;
        cur.dt_s = step.dt_s;
        cur.land = step.land;
        cur.substeps = step.substeps;
        cur.dt_sub_s = step.dt_sub_s;
        Ok(())
    }

    fn np_coefficients(&mut self) -> Result<(), SimulationError> {
        // Nernst–Planck with the potential, D and the ξ rate of this step (the potential is
        // quasi-static: it changes on the plating time scale, c̃ relaxes on the diffusion one).
        np_coefficients(
            &self.coeffs,
            &self.diffusivity,
            &self.state.potential,
            &self.rate,
            &mut self.np_stencil,
        );
        Ok(())
    }

    fn np_substeps(&mut self) -> Result<(), SimulationError> {
        let (nx, ny) = (self.coeffs.grid.nx, self.coeffs.grid.ny);
        let s = &mut self.state;
        for _ in 0..self.current.substeps {
            np_substep(
                nx,
                ny,
                self.current.dt_sub_s,
                &self.np_stencil,
                &s.conc,
                &mut self.conc_new,
            );
            std::mem::swap(&mut s.conc, &mut self.conc_new);
        }
        Ok(())
    }

    fn np_assemble(&mut self) -> Result<(), SimulationError> {
        let np = self.np.as_mut().expect("implicit Nernst–Planck");
        let s = &self.state;
        np_assemble(
            &self.coeffs,
            self.current.dt_s,
            &self.diffusivity,
            &s.potential,
            &self.rate,
            &s.conc,
            &mut np.op,
            &mut np.rhs,
            &mut np.u,
        );
        np.solver
            .setup(&np.op)
            .map_err(|e| SimulationError::Solver(format!("Nernst–Planck multigrid: {e}")))
    }

    fn np_solve(&mut self) -> Result<(), SimulationError> {
        let np = self.np.as_mut().expect("implicit Nernst–Planck");
        let n = self.coeffs.grid.cells();
        let st = np.solver.solve(
            &np.rhs,
            &mut np.u,
            NP_RESIDUAL_PER_CELL * n as f64,
            self.config.solver.max_iterations,
        );
        np.iterations_total += st.iterations as u64;
        converged_or_error("Nernst–Planck", &st, &self.state)
    }

    fn np_finish(&mut self) -> Result<(), SimulationError> {
        let np = self.np.as_ref().expect("implicit Nernst–Planck");
        np_finish(
            self.coeffs.grid.nx,
            self.coeffs.f_over_rt_per_v,
            &self.state.potential,
            &np.u,
            &mut self.state.conc,
        );
        Ok(())
    }

    fn xi_noise(&mut self) -> Result<(), SimulationError> {
        let c = &self.coeffs;
        let n = c.grid.cells();
        let noise = self.noise.get_or_insert_with(|| vec![0.0; n]);
        crate::cpu::xi_noise::xi_noise(
            c.grid.shape(),
            c.noise_amplitude_per_sqrt_s,
            c.noise_room_phi(),
            c.noise_seed,
            self.state.step,
            &self.state.xi,
            &self.state.phi,
            noise,
        );
        Ok(())
    }

    fn xi_update(&mut self) -> Result<(), SimulationError> {
        // Allocated by `xi_noise`, which runs only with noise.
        let noise = self.noise.as_deref();
        let c = &self.coeffs;
        let dt = self.current.dt_s;
        let Some(ig) = self.gradient.as_mut() else {
            xi_update(c.grid.nx, dt, &self.rate, noise, &mut self.state.xi);
            return Ok(());
        };
        // (1 − Δt Lσ κ_max ∇²) δ = Δt r (+ √Δt D); ξ += δ.
        if ig.dt_s.to_bits() != dt.to_bits() {
            let beta = dt * c.l_sigma_m3_js * c.kappa_stiff_j_m() / (c.grid.dx_m * c.grid.dx_m);
            xi_gradient_operator(beta, &mut ig.op);
            ig.solver
                .setup(&ig.op)
                .map_err(|e| SimulationError::Solver(format!("ξ increment multigrid: {e}")))?;
            ig.dt_s = dt;
        }
        xi_gradient_rhs(c.grid.nx, dt, &self.rate, noise, &mut ig.rhs, &mut ig.delta);
        let st = ig.solver.solve(
            &ig.rhs,
            &mut ig.delta,
            XI_RESIDUAL_PER_CELL * c.grid.cells() as f64,
            self.config.solver.max_iterations,
        );
        ig.iterations_total += st.iterations as u64;
        converged_or_error("ξ increment", &st, &self.state)?;
        xi_gradient_finish(c.grid.nx, &ig.delta, &mut self.state.xi);
        Ok(())
    }

    fn creep_assemble(&mut self) -> Result<(), SimulationError> {
        let flow = self.creep.as_mut().expect("creep");
        first_guess(&self.state.xi, &self.state.phi, &mut flow.full);
        self.assemble_creep()
    }

    /// The primal–dual active-set iteration of the creep obstacle problem: solve, then a free
    /// cell that took up more than its room fills and a filling cell whose pressure came out
    /// negative becomes free; repeat until the set holds.
    fn creep_solve(&mut self) -> Result<(), SimulationError> {
        let cr = self.coeffs.creep.expect("creep");
        let n = self.coeffs.grid.cells();
        for round in 0..CREEP_MAX_ACTIVE_SET_ITERATIONS {
            if round > 0 {
                self.assemble_creep()?;
            }
            let flow = self.creep.as_mut().expect("creep");
            // The first round starts at the stack pressure, later ones from the round before.
            if round == 0 {
                flow.pressure.fill(cr.stack_pressure_pa);
            }
            let st = flow.solver.solve(
                &flow.rhs,
                &mut flow.pressure,
                CREEP_RESIDUAL_PER_CELL * n as f64,
                self.config.solver.max_iterations,
            );
            flow.iterations_total += st.iterations as u64;
            flow.active_set_iterations_total += 1;
            converged_or_error("creep pressure", &st, &self.state)?;
            if round + 1 == CREEP_MAX_ACTIVE_SET_ITERATIONS {
                // Keep the set this solve was assembled with: creep_finish must see the
                // operator's own set, or the uptake would not match the flow.
                break;
            }
            // From round CREEP_MONOTONE_AFTER on, cells only fill (a cell flipping back and
            // forth between free and full would keep the set from settling).
            let before = (round >= CREEP_MONOTONE_AFTER).then(|| flow.full.clone());
            let mut changed = update_active_set(
                &flow.op.s,
                &flow.pressure,
                &self.state.xi,
                &self.state.phi,
                &mut flow.full,
            );
            if let Some(before) = before {
                for (f, &b) in flow.full.iter_mut().zip(&before) {
                    *f |= b;
                }
                changed = flow.full != before;
            }
            if !changed {
                break;
            }
        }
        Ok(())
    }

    fn creep_finish(&mut self) -> Result<(), SimulationError> {
        let cr = self.coeffs.creep.expect("creep");
        let flow = self.creep.as_ref().expect("creep");
        let g = self.coeffs.grid;
        let out_cells = creep_finish(
            &flow.op,
            cr.stack_pressure_pa,
            &flow.pressure,
            &self.state.phi,
            &flow.full,
            &mut self.state.xi,
        );
        if !crate::mutants::active("creep-uncounted-outflow") {
            self.state.li_extruded_m += out_cells * g.dx_m * g.dx_m / g.collector_m();
        }
        Ok(())
    }

    fn end_step(&mut self) -> Result<(), SimulationError> {
        let c = &self.coeffs;
        let cur = self.current;
        let s = &mut self.state;
        std::mem::swap(&mut s.eta, &mut self.eta_new);
        let leakage_a_m = match &self.solver {
            PotentialSolver::Coupled(e) => top_current(&e.op, &s.electronic_potential),
            PotentialSolver::Single(_) => 0.0,
        };
        let current_a_m = top_current(&self.op, &s.potential) + leakage_a_m;
        s.current_density_a_m2 = current_a_m / c.grid.collector_m();
        s.leakage_current_density_a_m2 = leakage_a_m / c.grid.collector_m();
        s.charge_c_m2 += s.current_density_a_m2 * cur.dt_s;
        s.leakage_charge_c_m2 += s.leakage_current_density_a_m2 * cur.dt_s;
        s.ionic_throughput_c_m2 +=
            ((s.current_density_a_m2 - s.leakage_current_density_a_m2) * cur.dt_s).abs();
        s.time_s = if cur.land {
            cur.t_max_s
        } else {
            s.time_s + cur.dt_s
        };
        s.step += 1;
        s.solver_iterations = cur.iterations;
        s.solver_iterations_total += cur.iterations;
        let check = s.step.is_multiple_of(CHECK_EVERY);
        self.refresh_diffusivity();
        let r = if check { self.check_ranges() } else { Ok(()) };
        let ended = Instant::now();
        self.timings.potential_s += (cur.potential_ended - cur.potential_started).as_secs_f64();
        self.timings.other_s += (cur.potential_started - cur.started).as_secs_f64()
            + (ended - cur.potential_ended).as_secs_f64();
        r
    }
}

/// Refuses another step once the run has taken `limits.max_steps` (both backends; the GPU
/// backend checks between batches).
pub fn check_step_budget(config: &Config, s: &State, until_s: f64) -> Result<(), SimulationError> {
    if s.step as f64 >= config.limits.max_steps {
        return Err(SimulationError::StepLimit {
            steps: s.step,
            limit: config.limits.max_steps,
            time_s: s.time_s,
            until_s,
        });
    }
    Ok(())
}

/// The error of a `what` solve ("potential", "Nernst–Planck", "creep pressure") that did not
/// converge at the state's step, with its statistics.
fn solve_failure(what: &str, stats: &str, s: &State) -> SimulationError {
    SimulationError::Solver(format!(
        "{what} solve did not converge at step {} (t = {:.6} s): {stats}",
        s.step, s.time_s
    ))
}

/// Ok for a converged solve, else [`solve_failure`].
fn converged_or_error(what: &str, st: &SolveStats, s: &State) -> Result<(), SimulationError> {
    if st.converged {
        Ok(())
    } else {
        Err(solve_failure(what, &format!("{st:?}"), s))
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn advance(
        &mut self,
        until_s: f64,
        stop: &StopFlag,
    ) -> Result<AdvanceOutcome, SimulationError> {
        self.advance_steps(until_s, u64::MAX, stop)
    }

    fn advance_steps(
        &mut self,
        until_s: f64,
        max_steps: u64,
        stop: &StopFlag,
    ) -> Result<AdvanceOutcome, SimulationError> {
        let mut taken = 0;
        while self.state.time_s < until_s && taken < max_steps {
            if stop.is_stopped() {
                self.check_ranges()?;
                return Ok(AdvanceOutcome::Stopped);
            }
            check_step_budget(&self.config, &self.state, until_s)?;
            self.step(until_s)?;
            taken += 1;
        }
        self.check_ranges()?;
        Ok(AdvanceOutcome::Reached)
    }

    fn scalars(&mut self) -> Scalars {
        observables::scalars(&self.coeffs, &self.state)
    }

    fn state(&mut self) -> &State {
        &self.state
    }

    fn timings(&self) -> Option<StepTimings> {
        Some(self.timings)
    }

    fn nernst_planck_iterations(&self) -> Option<u64> {
        self.np.as_ref().map(|np| np.iterations_total)
    }

    fn set_current_density(&mut self, a_m2: f64) {
        self.coeffs.target_current_a_m = a_m2 * self.coeffs.grid.collector_m();
    }

    fn hold_cell_voltage(&mut self, v: Option<f64>) {
        self.coeffs.held_voltage_v = v;
    }

    fn set_state(&mut self, state: State) -> Result<(), SimulationError> {
        state.validate(&self.config)?;
        self.state = state;
        self.refresh_diffusivity();
        self.check_ranges()
    }
}
