//! The GPU backend: the time step of `lipf_core::cpu_backend` with every field on the device.
//!
//! One step, recorded in the order of the CPU backend (kernel ↔ twin):
//!
//! 1. `time_step::step_begin`: does this recorded step run? (see "Batches" below)
//! 2. `xi_rate`, `potential_assemble`, `mg_coarsen` on every level.
//! 3. Two preconditioned CG solves (φ0 with V = 0, φ1 for a unit collector potential), each
//!    CG scalar computed on the device by `reduce` + `cg_control`, the V-cycle built from
//!    `mg_smooth`, `mg_residual`, `mg_restrict`, `mg_prolong`. Galvanostatic:
//!    `collector::collector_potential` sets V = (I_target − I0)/I1 on the device and
//!    `combine_potential` forms φ = φ0 + V φ1. Potentiostatic: one solve with b0 + V b1.
//!    Two-potential form (the default): `potential_assemble` is followed by
//!    `electronic_assemble` and the electronic hierarchy's `mg_coarsen`; each solve is one
//!    block-preconditioned CG over the pair (φ_l, φ_s) (solver.rs, CoupledMultigrid): the block
//!    operator is `mg_apply`/`mg_residual` per block plus `cg_coupled::couple_*`, the
//!    preconditioner one V-cycle per block, the CG scalars `reduce`'s two-block sums; the Unit
//!    and Imposed solves run in the collector's frame (`cg_coupled::shift_potentials`), and the
//!    collector and the step's current add the electronic currents (the leakage goes to the
//!    step log).
//! 4. `reaction_rate`, `collector::top_current` (the step's current for the charge).
//! 5. `time_step::dt_partials` + `time_step`: Δt from the same limits as the CPU (stability,
//!    max |r|, migration drift, max_dt), landing exactly on the target time; the step's Δt, I,
//!    V and iterations go to a step log.
//! 6. Nernst–Planck, explicit: `np_coefficients` once, `np_substep` (+ `copy`) for each
//!    sub-step. Implicit (`model.nernst_planck = "implicit"`): `np_assemble` (the operator of the
//!    step in u = c̃ e^{fφ}), `np_assemble_rhs` (the problem in correction form, u = u0 + δu
//!    with the CPU's warm start u0 = c̃ e^{fφ}: rhs = b − A u0 formed face by face, δu = 0),
//!    `mg_coarsen` on every level of its own hierarchy, one preconditioned CG solve for δu as in
//!    3. (its tolerance [`NP_RESIDUAL_PER_CELL`], its iterations counted apart), then
//!    `np_finish` (c̃ += e^{−fφ} δu). Then `xi_update`.
//! 7. Creep (`creep.enabled`): `creep_active_set::creep_first_guess` (the cells without room
//!    fill), p = p_s (`copy`), then [`CREEP_ACTIVE_SET_ROUNDS`] rounds of `creep_assemble` +
//!    `mg_coarsen` on its own hierarchy, one preconditioned CG solve of the pressure (solve
//!    code `SOLVE_CREEP`, iterations counted and adapted apart, FLAG_CREEP_NOT_CONVERGED), and
//!    `creep_active_set` (not after the last round's solve: `creep_finish` needs the set that
//!    solve was assembled with); then `creep_finish` and `creep_finish_outflow` into the step's slot
//!    of the outflow buffer (the host adds the slots to `li_extruded_m` in f64). Then `copy`
//!    for the swap of η.
//!
//! Batches: `advance` records up to [`MAX_BATCH_STEPS`] steps in one submission (its estimate
//! of the steps left, from the last Δt) and reads back only the control record, the step log
//! and the range-check status. Steps past the target time, and CG iterations past
//! convergence, are recorded but dispatched with zero workgroups: every dispatch of a step or
//! of a CG iteration is indirect, and the control kernels write the workgroup counts. The host
//! adds up time and charge in f64 from the step log.
//!
//! The number of CG iterations recorded per solve is adaptive (twice the most the last batch
//! needed; the potentials' and the implicit Nernst–Planck solve's counted apart). A solve that
//! does not converge within them raises a flag; the batch is then undone from a copy of the
//! fields taken at its start and recorded again with twice as many iterations of that solve, up
//! to `solver.max_iterations`, after which the run stops with a solver error.
//!
//! Precision: fields are f32, except ξ, which is an f32 pair (xi + xi_lo) updated with an
//! error-free sum (`xi_update.wgsl`): a step's Δξ in the Li foil (ξ ≈ 1) is below the f32
//! spacing there and would otherwise be rounded away, breaking the Faraday balance; the other
//! kernels read xi alone. The CG stopping test is the CPU's (Σ|b − A x| below the tolerance)
//! but never below 1e-6 Σ|b| (`cg_control.wgsl`), which the f32 recurrence residual reaches in
//! a few iterations more; the multigrid hierarchy coarsens to a single cell (solved exactly)
//! where the CPU stops at 64 cells and factors them, so iteration counts differ from the CPU's
//! (10–25 % more on the smoke and paper cases). Against the CPU backend after 20 steps
//! (tests/gpu_checks.rs): cell voltage within 2e-5, fields within 1e-4 of their maximum,
//! ∫ξ within 1e-4, c̃ ≈ 1 within 1e-6 (a few f32 spacings). In the two-potential form the
//! GPU's Faraday balance is 1.3e-4 (CPU 5e-8), so the cell voltage, η, φ_s and the plated Li
//! differ by up to 1.3e-4 from the CPU's after 20 smoke steps.
//!
//! The implicit Nernst–Planck solve has an absolute tolerance and no floor
//! ([`NP_RESIDUAL_PER_CELL`]), and is solved for the correction of the warm start: formed as
//! A u0 in f32, its right-hand side would carry the rounding of the diagonal ≈ 4Δt D/Δx² ≫ e^{−fφ}
//! into c̃ every step (measured: c̃ off by 2.7e-6 after 80 smoke steps against 5.6e-7 in
//! correction form, where the CPU's c̃ − 1 is 6.8e-7). Against the CPU backend after 20 smoke
//! steps of 0.25 s (25 explicit diffusion limits): c̃ within 3.2e-7 (consistent form) and 5.9e-7
//! (two-potential form); with D_p = D_NE/2, where c̃ − 1 reaches 1.5e-2, within 2.7e-5 of that
//! deviation, and 5 CG iterations per step against the CPU's 7.

mod recorder;
mod resources;

use crate::device::{AdapterRequest, GpuContext};
use crate::kernels::{
    download, download_f32, reduce_groups, storage_bytes, storage_f32, uniform, upload_f64,
    volume_groups, Kernel, KernelId, Modules, FIELD_USAGE, MAX_PARTIALS,
};
use crate::params::*;
use crate::GpuError;
use lipf_core::backend::{AdvanceOutcome, Backend, SimulationError, StopFlag};
use lipf_core::config::{Config, ControlMode, NernstPlanck, OverpotentialForm};
use lipf_core::cpu::xi_rate as cpu_xi_rate;
use lipf_core::geometry::GeometryInfo;
use lipf_core::observables::Scalars;
use lipf_core::solver::CoarseCorrection;
use lipf_core::step::{potential_sequence, step_sequence, Solve, StepKernels};
use lipf_core::{Coefficients, State};
use recorder::Recorder;
use resources::*;

/// Most steps recorded in one submission (the step log's length).
pub const MAX_BATCH_STEPS: usize = 64;
/// Most Nernst–Planck sub-steps recorded per step.
pub const MAX_SUBSTEPS: usize = 256;
/// The CPU solver's over-correction of the coarse-grid correction, in f32.
/// Relative slack of the landing test (the CPU uses 1e-9 in f64).
const LAND_TOLERANCE: f32 = 1e-5;
/// Tolerance of the ξ-increment solve: the CPU's, Σ|b − A δ| ≤ this × cells (the f32 floor of
/// `cg_control.wgsl` then decides, 1e-6 Σ|b|).
use lipf_core::cpu_backend::XI_RESIDUAL_PER_CELL;
/// Newton iterations on the overpotential before the first step: the CPU backend's.
use lipf_core::cpu_backend::{NEWTON_MAX_ITERATIONS, NEWTON_TOLERANCE_V};
/// CG iterations recorded per solve before anything is known.
const INITIAL_CG_ITERATIONS: usize = 12;
/// Tolerance of the implicit Nernst–Planck solve on the device: Σ|b − A u| ≤ this × cells, in
/// units of c̃ (the CPU's `lipf_core::cpu_backend::NP_RESIDUAL_PER_CELL` is 1e-11). The solve is
/// for the correction δu of the warm start, its right-hand side b − A u0 formed flux by flux
/// (np_assemble.wgsl), so f32 resolves its residual to ~1e-7 of the step's change rather than
/// of u ≈ 1; the result is added to c̃, which f32 rounds by up to 3e-8 (below 1) to 6e-8 (above)
/// per cell and step. 1e-9 per cell keeps the solve's error ~30× below that rounding; 1e-11
/// would chase digits the stored c̃ does not have (measured on the smoke case with D_p = D_NE/2:
/// 5 CG iterations per step at 1e-9, 7 at 1e-11, the CPU's 7, and c̃ the same to its rounding).
pub const NP_RESIDUAL_PER_CELL: f64 = 1e-9;
/// Tolerance of the creep pressure solve on the device: the CPU's
/// (`lipf_core::cpu_backend::CREEP_RESIDUAL_PER_CELL`, Σ|b − A p| ≤ 1e-13 × cells in units of
/// ξ), which f32 cannot reach: cg_control.wgsl's floor 1e-6 Σ|b| stops the solve.
pub const CREEP_RESIDUAL_PER_CELL: f64 = lipf_core::cpu_backend::CREEP_RESIDUAL_PER_CELL;
/// Active-set rounds recorded per creep step (each: creep_assemble + mg_coarsen, one CG solve,
/// creep_active_set). The CPU repeats rounds until the set holds (at most 20); once the set
/// holds, a further round here re-assembles the same operator and its solve starts converged
/// (no CG iteration), so it changes nothing.
pub const CREEP_ACTIVE_SET_ROUNDS: usize = 3;

pub struct GpuBackend {
    ctx: GpuContext,
    config: Config,
    pub coeffs: Coefficients,
    geometry: GeometryInfo,
    /// Scalars are always current; fields only when `fields_on_host`.
    host: State,
    fields_on_host: bool,
    /// Level sizes, finest first, down to one cell.
    dims: Vec<[usize; 3]>,
    /// Number of dispatch shapes (levels + the reduction shape).
    shapes: usize,
    k: Pipelines,
    b: Buffers,
    g: Groups,
    /// CG iterations recorded per potential solve in the next batch.
    cg_iterations: usize,
    /// CG iterations recorded per implicit Nernst–Planck solve in the next batch.
    np_cg_iterations: usize,
    /// CG iterations of all implicit Nernst–Planck solves so far.
    np_iterations_total: u64,
    /// CG iterations recorded per creep pressure solve (each active-set round) in the next batch.
    creep_cg_iterations: usize,
    /// CG iterations of all creep pressure solves so far.
    creep_iterations_total: u64,
    /// CG iterations recorded per ξ-increment solve (the semi-implicit gradient term) in the
    /// next batch.
    xi_cg_iterations: usize,
    /// CG iterations of all ξ-increment solves so far.
    xi_iterations_total: u64,
    /// Nernst–Planck sub-steps recorded per step in the next batch.
    substeps: usize,
    step_params: StepParams,
    step_params_buf: wgpu::Buffer,
    /// The collector's parameters (the galvanostatic target; `set_current_density`).
    collector_params_buf: wgpu::Buffer,
    dt_estimate_s: f64,
    dt_stable_s: f64,
}

/// Level sizes of the multigrid hierarchy: halve (rounding up) down to a single cell.
/// Whether a cycle on level `l` of the hierarchy `dims` visits level l + 1 twice (the CPU's rule,
/// `lipf_core::solver::second_coarse_visit`).
fn second_visit(cycle: lipf_core::config::Cycle, dims: &[[usize; 3]], l: usize) -> bool {
    let cells = dims[l + 1].iter().product();
    lipf_core::solver::second_coarse_visit(cycle, cells, l + 2 == dims.len())
}

/// Level shapes of the multigrid hierarchy: halve every direction (rounding up) down to a
/// single cell.
fn level_dims([nx, ny, nz]: [usize; 3]) -> Vec<[usize; 3]> {
    let mut v = vec![[nx, ny, nz]];
    let mut c = [nx, ny, nz];
    while c.iter().any(|&d| d > 1) {
        c = c.map(|d| d.div_ceil(2));
        v.push(c);
    }
    v
}

/// Fails, naming the limit, when a grid of nx × ny cells needs a buffer or a dispatch larger
/// than the device allows. The largest buffers are the Nernst–Planck stencil (6 per cell) and
/// the potential operator (4 per cell + a row).
pub fn check_device_limits(ctx: &GpuContext, [nx, ny, nz]: [usize; 3]) -> Result<(), GpuError> {
    let n = (nx * ny * nz) as u64;
    ctx.check_storage_buffer(
        "the Nernst–Planck stencil",
        4 * (lipf_core::cpu::np_coefficients::NP_COEFFS as u64) * n,
    )?;
    ctx.check_storage_buffer(
        "the potential operator",
        4 * packed_operator_len([nx, ny, nz]) as u64,
    )?;
    let [gx, gy, gz] = volume_groups([nx, ny, nz]);
    ctx.check_workgroups("a field kernel (grid width / 16)", gx)?;
    ctx.check_workgroups("a field kernel (grid height / 16)", gy)?;
    ctx.check_workgroups("a field kernel (grid depth)", gz)?;
    Ok(())
}

impl GpuBackend {
    /// The initial state of `config` (lipf_core::initial), moved to the device.
    pub fn new(config: &Config, req: &AdapterRequest) -> Result<GpuBackend, BackendInitError> {
        let ctx = GpuContext::new(req)?;
        // Device limits before the host builds anything of the grid's size.
        check_device_limits(&ctx, [config.nx(), config.ny(), config.nz()])?;
        let init =
            lipf_core::initial::initial_state(config).map_err(BackendInitError::Simulation)?;
        Ok(GpuBackend::with_state(
            ctx,
            config,
            init.state,
            init.geometry,
        )?)
    }

    /// A backend on `ctx` around an existing state (resume, tests).
    pub fn with_state(
        ctx: GpuContext,
        config: &Config,
        state: State,
        geometry: GeometryInfo,
    ) -> Result<GpuBackend, GpuError> {
        let coeffs = Coefficients::from_config(config);
        let implicit_np = coeffs.nernst_planck == NernstPlanck::Implicit;
        let two_potential = coeffs.overpotential == OverpotentialForm::TwoPotential;
        let shape = coeffs.grid.shape();
        assert_eq!(shape, state.grid.shape());
        let [nx, ny, _] = shape;
        let n = coeffs.grid.cells();
        check_device_limits(&ctx, shape)?;
        let dims = level_dims(shape);
        let levels = dims.len();
        // Dispatch shapes: every level's, every level's last z-section (mg_smooth's second pass
        // when its nz is odd and > 1), the reduction.
        let shapes = 2 * levels + 1;
        let k = Pipelines::new(&ctx)?;

        let f = |label: &str| storage_f32(&ctx, label, n);
        // Fields of the two-potential form: one unused element in the other forms.
        let fe = |label: &str| storage_f32(&ctx, label, if two_potential { n } else { 1 });
        let indirect = FIELD_USAGE | wgpu::BufferUsages::INDIRECT;
        let mut op = Vec::new();
        let (mut lb, mut lx, mut lr) = (Vec::new(), Vec::new(), Vec::new());
        let (r, z) = (f("r"), f("z"));
        for (l, &d) in dims.iter().enumerate() {
            let cn = d.iter().product();
            op.push(storage_f32(&ctx, &format!("op{l}"), packed_operator_len(d)));
            lb.push(if l == 0 {
                r.clone()
            } else {
                storage_f32(&ctx, &format!("b{l}"), cn)
            });
            lx.push(if l == 0 {
                z.clone()
            } else {
                storage_f32(&ctx, &format!("x{l}"), cn)
            });
            lr.push(storage_f32(&ctx, &format!("r{l}"), cn));
        }
        let mg = Hierarchy { op, lb, lx, lr };
        let coupled = two_potential.then(|| CoupledBuffers {
            b0: f("electronic b0"),
            b1: f("electronic b1"),
            p: f("electronic p"),
            q: f("electronic q"),
            electronic: Hierarchy::sharing(&ctx, "electronic", &dims, &mg, &f("r_s"), &f("z_s")),
        });
        let np = implicit_np.then(|| NpBuffers::new(&ctx, &dims, &mg));
        let xi_gradient = coeffs
            .implicit_gradient
            .then(|| XiGradientBuffers::new(&ctx, &dims, &mg));
        let creep = coeffs
            .creep
            .map(|cr| CreepBuffers::new(&ctx, &dims, &mg, cr.stack_pressure_pa, MAX_BATCH_STEPS));
        let b = Buffers {
            xi: f("xi"),
            xi_lo: f("xi_lo"),
            phi: f("phi"),
            conc: f("conc"),
            conc_new: f("conc_new"),
            potential: f("potential"),
            eta: f("eta"),
            eta_new: f("eta_new"),
            pot0: f("potential0"),
            pot1: f("potential1"),
            a: f("a"),
            g: f("g"),
            rate: f("rate"),
            noise: f("noise"),
            noise_params: uniform(&ctx, "noise", &NoiseParams::new(&coeffs, 0)),
            // The explicit update's stencil (one unused element with the implicit step).
            stencil: storage_f32(&ctx, "np stencil", if implicit_np { 1 } else { 6 * n }),
            b0: f("b0"),
            b1: f("b1"),
            p: f("p"),
            q: f("q"),
            control: storage_bytes(
                &ctx,
                "control",
                std::mem::size_of::<Control>() as u64,
                FIELD_USAGE,
            ),
            partials: storage_bytes(&ctx, "partials", 8 * MAX_PARTIALS as u64, FIELD_USAGE),
            obs_partials: storage_bytes(
                &ctx,
                "observable partials",
                16 * MAX_PARTIALS as u64,
                FIELD_USAGE,
            ),
            steps: storage_bytes(
                &ctx,
                "step log",
                (std::mem::size_of::<StepLog>() * MAX_BATCH_STEPS) as u64,
                FIELD_USAGE,
            ),
            args: storage_bytes(
                &ctx,
                "indirect args",
                IndirectTable {
                    shapes,
                    substeps: MAX_SUBSTEPS,
                }
                .size_bytes(),
                indirect,
            ),
            status: storage_bytes(&ctx, "range status", 16, FIELD_USAGE),
            mg,
            es: fe("electronic potential"),
            es0: fe("electronic potential0"),
            es1: fe("electronic potential1"),
            coupled,
            np,
            creep,
            xi_gradient,
            backup: Vec::new(),
        };
        let mut b = b;
        let mut evolving = vec![
            (&b.xi, "xi"),
            (&b.xi_lo, "xi_lo"),
            (&b.conc, "conc"),
            (&b.eta, "eta"),
            (&b.pot0, "potential0"),
            (&b.pot1, "potential1"),
            (&b.potential, "potential"),
        ];
        if two_potential {
            evolving.extend([
                (&b.es, "electronic potential"),
                (&b.es0, "electronic potential0"),
                (&b.es1, "electronic potential1"),
            ]);
        }
        let backup: Vec<(wgpu::Buffer, wgpu::Buffer)> = evolving
            .into_iter()
            .map(|(src, label)| {
                (
                    src.clone(),
                    storage_f32(&ctx, &format!("backup {label}"), n),
                )
            })
            .collect();
        b.backup = backup;

        // Dispatch shapes: one grid per level, then the reductions over the finest level.
        let mut shape_table: Vec<u32> = Vec::new();
        for &d in &dims {
            shape_table.extend_from_slice(&volume_groups(d));
        }
        for &d in &dims {
            shape_table.extend_from_slice(&volume_groups([d[0], d[1], 1]));
        }
        shape_table.extend_from_slice(&[reduce_groups(n), 1, 1]);
        let shapes_buf = storage_bytes(
            &ctx,
            "dispatch shapes",
            4 * shape_table.len() as u64,
            FIELD_USAGE,
        );
        ctx.queue
            .write_buffer(&shapes_buf, 0, bytemuck::cast_slice(&shape_table));

        // Uniforms.
        let dt_stable_s = config.time.stability_safety * coeffs.dt_step_limit_s();
        // The implicit obstacle's step is min(this cap, the control record's remaining time),
        // as on the CPU (`cpu::xi_rate::obstacle_step_s`).
        let xi_p = uniform(
            &ctx,
            "xi_rate",
            &XiRateParams {
                obstacle_dt_cap: cpu_xi_rate::obstacle_dt_cap_s(
                    coeffs.implicit_obstacle,
                    dt_stable_s,
                    config.time.max_dt_s,
                ) as f32,
                ..XiRateParams::from_cpu(&cpu_xi_rate::XiRateParams::new(&coeffs, true))
            },
        );
        let asm_p = uniform(&ctx, "assemble", &AssembleParams::new(&coeffs));
        let react_p = uniform(&ctx, "reaction", &ReactionParams::new(&coeffs));
        let conc_p = uniform(&ctx, "conc", &ConcParams::new(&coeffs));
        let coll_p = uniform(&ctx, "collector", &CollectorParams::new(&coeffs));
        let red_p = uniform(&ctx, "reduce", &ReduceParams::observables(n, &coeffs));

        let lp = LevelParams {
            grid: dims
                .iter()
                .map(|&d| uniform(&ctx, "grid", &GridParams::volume(d)))
                .collect(),
            mg: dims
                .iter()
                .map(|&d| [0, 1].map(|c| uniform(&ctx, "mg", &MgParams::sweep(d, c, false))))
                .collect(),
            mg_last: dims
                .iter()
                .map(|&d| {
                    (smooth_passes(d).len() > 1)
                        .then(|| [0, 1].map(|c| uniform(&ctx, "mg", &MgParams::sweep(d, c, true))))
                })
                .collect(),
            transfer: LevelParams::CORRECTIONS.map(|correction| {
                (0..levels)
                    .map(|l| {
                        (l + 1 < levels).then(|| {
                            let twice = second_visit(config.solver.cycle, &dims, l);
                            uniform(
                                &ctx,
                                "transfer",
                                &TransferParams::between(dims[l], correction.scale(twice) as f32),
                            )
                        })
                    })
                    .collect()
            }),
        };
        let tol = config.solver.relative_tolerance * current_scale_a_m(&coeffs);
        let solve_p: Vec<wgpu::Buffer> = [SOLVE_ZERO, SOLVE_UNIT]
            .map(|s| {
                uniform(
                    &ctx,
                    "solve",
                    &SolveParams {
                        tol: tol as f32,
                        solve: s,
                        partials: reduce_groups(n),
                        shapes: shapes as u32,
                    },
                )
            })
            .into();
        let np_solve_p = uniform(
            &ctx,
            "np solve",
            &SolveParams {
                tol: (NP_RESIDUAL_PER_CELL * n as f64) as f32,
                solve: SOLVE_NERNST_PLANCK,
                partials: reduce_groups(n),
                shapes: shapes as u32,
            },
        );
        let xi_solve_p = uniform(
            &ctx,
            "xi increment solve",
            &SolveParams {
                tol: (XI_RESIDUAL_PER_CELL * n as f64) as f32,
                solve: SOLVE_XI,
                partials: reduce_groups(n),
                shapes: shapes as u32,
            },
        );
        let xi_gradient_p = uniform(&ctx, "xi gradient", &XiGradientParams::new(&coeffs));
        let creep_solve_p = uniform(
            &ctx,
            "creep solve",
            &SolveParams {
                tol: (CREEP_RESIDUAL_PER_CELL * n as f64) as f32,
                solve: SOLVE_CREEP,
                partials: reduce_groups(n),
                shapes: shapes as u32,
            },
        );
        let creep_p = coeffs.creep.map(|cr| {
            uniform(
                &ctx,
                "creep",
                &CreepParams::new(nx, ny, coeffs.grid.dx_m, &cr),
            )
        });
        let dt_np_s = config.time.stability_safety * coeffs.dt_diffusion_s();
        let substeps = ((dt_stable_s / dt_np_s).ceil() as usize + 1).clamp(1, MAX_SUBSTEPS);
        let step_params = StepParams {
            nx: nx as u32,
            ny: ny as u32,
            n: n as u32,
            groups: reduce_groups(n),
            form: form(&coeffs),
            shapes: shapes as u32,
            max_steps: MAX_BATCH_STEPS as u32,
            substeps_recorded: substeps as u32,
            dt_stable: dt_stable_s as f32,
            dt_np: dt_np_s as f32,
            max_xi_change: config.time.max_xi_change_per_step as f32,
            max_dt: config.time.max_dt_s.map_or(f32::MAX, |m| m as f32),
            inv_dx2: (1.0 / (coeffs.grid.dx_m * coeffs.grid.dx_m)) as f32,
            f: coeffs.f_over_rt_per_v as f32,
            d_p: coeffs.d_p_m2_s as f32,
            d_e: coeffs.d_e_m2_s as f32,
            land_tolerance: LAND_TOLERANCE,
            floor: diffusivity_floor(&coeffs),
            ip_phi_lo: coeffs.interphase_phi_lo as f32,
            ip_phi_hi: coeffs.interphase_phi_hi as f32,
            ip_ionic_k: coeffs.ip_ionic_k as f32,
            np_implicit: implicit_np as u32,
            liquid: coeffs.liquid() as f32,
            nz: coeffs.grid.nz as u32,
        };
        let step_p = uniform(&ctx, "step", &step_params);

        // Bind groups.
        let c = &ctx;
        let g0 = &lp.grid[0];
        let mg0 = &lp.mg[0][0];
        let mg = &b.mg;
        let targets: Vec<(&wgpu::Buffer, &wgpu::Buffer)> = match coeffs.control {
            ControlMode::Galvanostatic => vec![(&b.b0, &b.pot0), (&b.b1, &b.pot1)],
            ControlMode::Potentiostatic => vec![(&b.b0, &b.potential)],
        };
        let solves = targets
            .iter()
            .enumerate()
            .map(|(s, (rhs, x))| {
                let u = CgUniforms {
                    solve_p: &solve_p[s],
                    red_p: &red_p,
                    shapes: &shapes_buf,
                    lp: &lp,
                };
                SolveGroups::new(c, &k, &b, &u, [&mg.op[0], rhs, x, &mg.lb[0]])
            })
            .collect();
        let coupled_groups = b.coupled.as_ref().map(|cb| {
            let el = &cb.electronic;
            let el_p = uniform(c, "electronic", &ElectronicParams::new(&coeffs));
            let cp = uniform(c, "coupled", &CoupledParams::new(shape));
            let shift = |unit: bool| {
                [-1.0f32, 1.0]
                    .map(|sign| uniform(c, "shift", &CoupledParams::shift(shape, unit, sign)))
            };
            let (r_l, z_l, r_s, z_s) = (&mg.lb[0], &mg.lx[0], &el.lb[0], &el.lx[0]);
            // (b_l, x_l, b_s, x_s, shift into the collector's frame: None, Some(unit)).
            let targets: Vec<(
                &wgpu::Buffer,
                &wgpu::Buffer,
                &wgpu::Buffer,
                &wgpu::Buffer,
                Option<bool>,
            )> = match coeffs.control {
                ControlMode::Galvanostatic => vec![
                    (&b.b0, &b.pot0, &cb.b0, &b.es0, None),
                    (&b.b1, &b.pot1, &cb.b1, &b.es1, Some(true)),
                ],
                ControlMode::Potentiostatic => {
                    vec![(&b.b0, &b.potential, &cb.b0, &b.es, Some(false))]
                }
            };
            let solves = targets
                .into_iter()
                .map(|(bl, xl, bs, xs, frame)| CoupledSolveGroups {
                    residual: k[KernelId::MgResidual].bind(c, &[mg0, &el.op[0], bs, xs, r_s]),
                    couple: k[KernelId::CoupleResidual]
                        .bind(c, &[&cp, &mg.op[0], xl, xs, r_l, r_s]),
                    resnorm: k[KernelId::ResidualNorm2Partials]
                        .bind(c, &[&red_p, r_l, bl, &b.partials, r_s, bs]),
                    xr: k[KernelId::CgUpdateXr].bind(c, &[g0, &b.control, &cb.p, &cb.q, xs, r_s]),
                    shift: frame.map(|unit| {
                        shift(unit).map(|u| {
                            k[KernelId::ShiftPotentials].bind(c, &[&u, xl, xs, &b.control])
                        })
                    }),
                })
                .collect();
            CoupledGroups {
                electronic_assemble: k[KernelId::ElectronicAssemble].bind(
                    c,
                    &[
                        &el_p, &b.xi, &b.phi, &b.a, &b.g, &el.op[0], &cb.b0, &cb.b1, &b.es,
                    ],
                ),
                electronic: LevelGroups::new(c, &k, el, &lp, CoarseCorrection::OverCorrected),
                solves,
                apply: k[KernelId::MgApply].bind(c, &[mg0, &el.op[0], &cb.p, &cb.q]),
                couple_apply: k[KernelId::CoupleApply]
                    .bind(c, &[&cp, &mg.op[0], &b.p, &cb.p, &b.q, &cb.q]),
                dot_pq: k[KernelId::Dot2Partials]
                    .bind(c, &[&red_p, &b.p, &b.q, &b.partials, &cb.p, &cb.q]),
                dot_rz: k[KernelId::Dot2Partials]
                    .bind(c, &[&red_p, r_l, z_l, &b.partials, r_s, z_s]),
                l1_r: k[KernelId::L1Partials2].bind(c, &[&red_p, r_l, &b.partials, r_s]),
                copy_zp: k[KernelId::Copy].bind(c, &[g0, z_s, &cb.p]),
                cg_p: k[KernelId::CgUpdateP].bind(c, &[g0, &b.control, z_s, &cb.p]),
                combine: k[KernelId::CombinePotential]
                    .bind(c, &[&coll_p, &b.es0, &b.es1, &b.control, &b.es]),
                add_rhs: k[KernelId::AddScaledRhs].bind(c, &[&coll_p, &b.control, &cb.b0, &cb.b1]),
            }
        });
        // The electronic operator the collector reads (an unused element in the other forms).
        let op_s = b.coupled.as_ref().map_or(&b.es, |cb| &cb.electronic.op[0]);
        let g = Groups {
            xi_rate: k[KernelId::XiRate].bind(
                c,
                &[
                    &xi_p, &b.xi, &b.phi, &b.conc, &b.eta, &b.a, &b.g, &b.control,
                ],
            ),
            assemble: k[KernelId::PotentialAssemble].bind(
                c,
                &[
                    &asm_p, &b.xi, &b.phi, &b.a, &b.g, &b.eta, &mg.op[0], &b.b0, &b.b1,
                ],
            ),
            mg: LevelGroups::new(c, &k, mg, &lp, CoarseCorrection::OverCorrected),
            coupled: coupled_groups,
            solves,
            apply: k[KernelId::MgApply].bind(c, &[mg0, &mg.op[0], &b.p, &b.q]),
            dot_pq: k[KernelId::DotPartials].bind(c, &[&red_p, &b.p, &b.q, &b.partials]),
            dot_rz: k[KernelId::DotPartials].bind(c, &[&red_p, &mg.lb[0], &mg.lx[0], &b.partials]),
            l1_r: k[KernelId::L1Partials].bind(c, &[&red_p, &mg.lb[0], &b.partials]),
            copy_zp: k[KernelId::Copy].bind(c, &[g0, &mg.lx[0], &b.p]),
            cg_p: k[KernelId::CgUpdateP].bind(c, &[g0, &b.control, &mg.lx[0], &b.p]),
            collector: k[KernelId::CollectorPotential].bind(
                c,
                &[
                    &coll_p, &mg.op[0], &b.pot0, &b.pot1, &b.control, op_s, &b.es0, &b.es1,
                ],
            ),
            combine: k[KernelId::CombinePotential]
                .bind(c, &[&coll_p, &b.pot0, &b.pot1, &b.control, &b.potential]),
            add_rhs: k[KernelId::AddScaledRhs].bind(c, &[&coll_p, &b.control, &b.b0, &b.b1]),
            top_current: k[KernelId::TopCurrent].bind(
                c,
                &[&coll_p, &mg.op[0], &b.control, &b.potential, op_s, &b.es],
            ),
            reaction: k[KernelId::ReactionRate].bind(
                c,
                &[
                    &react_p,
                    &b.a,
                    &b.g,
                    &b.eta,
                    &b.potential,
                    &b.control,
                    &b.rate,
                    &b.eta_new,
                    &b.es,
                ],
            ),
            step_begin: k[KernelId::StepBegin]
                .bind(c, &[&step_p, &b.control, &shapes_buf, &b.args]),
            dt_partials: k[KernelId::DtPartials].bind(
                c,
                &[&step_p, &b.rate, &b.potential, &b.xi, &b.phi, &b.partials],
            ),
            time_step: k[KernelId::TimeStep].bind(
                c,
                &[
                    &step_p,
                    &b.control,
                    &shapes_buf,
                    &b.args,
                    &b.partials,
                    &b.steps,
                ],
            ),
            np_coefficients: k[KernelId::NpCoefficients].bind(
                c,
                &[&conc_p, &b.xi, &b.phi, &b.potential, &b.rate, &b.stencil],
            ),
            np_substep: k[KernelId::NpSubstep]
                .bind(c, &[g0, &b.stencil, &b.conc, &b.control, &b.conc_new]),
            np: b.np.as_ref().map(|np| {
                NpGroups::new(
                    c,
                    &k,
                    &b,
                    np,
                    NpInputs {
                        conc_p: &conc_p,
                        cg: CgUniforms {
                            solve_p: &np_solve_p,
                            red_p: &red_p,
                            shapes: &shapes_buf,
                            lp: &lp,
                        },
                    },
                )
            }),
            creep: b.creep.as_ref().map(|cb| {
                CreepGroups::new(
                    c,
                    &k,
                    &b,
                    cb,
                    CreepInputs {
                        creep_p: creep_p.as_ref().expect("creep parameters"),
                        cg: CgUniforms {
                            solve_p: &creep_solve_p,
                            red_p: &red_p,
                            shapes: &shapes_buf,
                            lp: &lp,
                        },
                    },
                )
            }),
            xi_gradient: b.xi_gradient.as_ref().map(|xg| {
                XiGradientGroups::new(
                    c,
                    &k,
                    &b,
                    xg,
                    XiGradientInputs {
                        params: &xi_gradient_p,
                        cg: CgUniforms {
                            solve_p: &xi_solve_p,
                            red_p: &red_p,
                            shapes: &shapes_buf,
                            lp: &lp,
                        },
                    },
                )
            }),
            xi_noise: k[KernelId::XiNoise]
                .bind(c, &[&b.noise_params, &b.xi, &b.phi, &b.control, &b.noise]),
            xi_update: k[KernelId::XiUpdate]
                .bind(c, &[g0, &b.rate, &b.control, &b.xi, &b.xi_lo, &b.noise]),
            copy_conc: k[KernelId::Copy].bind(c, &[g0, &b.conc_new, &b.conc]),
            copy_eta: k[KernelId::Copy].bind(c, &[g0, &b.eta_new, &b.eta]),
            observables: k[KernelId::ObservablesPartials]
                .bind(c, &[&red_p, &b.xi, &b.phi, &b.obs_partials, &b.xi_lo]),
            range: k[KernelId::RangeCheck].bind(c, &[g0, &b.xi, &b.conc, &b.potential, &b.status]),
        };
        let mut backend = GpuBackend {
            cg_iterations: INITIAL_CG_ITERATIONS.min(config.solver.max_iterations.max(1)),
            np_cg_iterations: INITIAL_CG_ITERATIONS.min(config.solver.max_iterations.max(1)),
            np_iterations_total: 0,
            creep_cg_iterations: INITIAL_CG_ITERATIONS.min(config.solver.max_iterations.max(1)),
            creep_iterations_total: 0,
            xi_cg_iterations: INITIAL_CG_ITERATIONS.min(config.solver.max_iterations.max(1)),
            xi_iterations_total: 0,
            dt_estimate_s: dt_stable_s,
            dt_stable_s,
            substeps,
            step_params,
            step_params_buf: step_p.clone(),
            collector_params_buf: coll_p.clone(),
            ctx,
            config: config.clone(),
            coeffs,
            geometry,
            host: state.clone(),
            fields_on_host: true,
            dims,
            shapes,
            k,
            b,
            g,
        };
        backend.upload(state);
        Ok(backend)
    }

    pub fn geometry(&self) -> &GeometryInfo {
        &self.geometry
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// CG iterations recorded per solve in the next batch.
    pub fn recorded_cg_iterations(&self) -> usize {
        self.cg_iterations
    }

    /// Rewrites the collector's uniform from the coefficients (target current, held voltage)
    /// for the steps recorded from now on.
    fn write_collector_params(&self) {
        self.ctx.queue.write_buffer(
            &self.collector_params_buf,
            0,
            bytemuck::bytes_of(&CollectorParams::new(&self.coeffs)),
        );
    }

    /// CG iterations and active-set rounds of all creep solves so far (0 without creep;
    /// `CpuBackend::creep_iterations_total`). Every step records [`CREEP_ACTIVE_SET_ROUNDS`]
    /// rounds.
    pub fn creep_iterations_total(&self) -> (u64, u64) {
        match self.g.creep {
            Some(_) => (
                self.creep_iterations_total,
                self.host.step * CREEP_ACTIVE_SET_ROUNDS as u64,
            ),
            None => (0, 0),
        }
    }

    fn upload(&mut self, state: State) {
        let c = &self.ctx;
        // ξ as an f32 pair (xi_update.wgsl): xi = ξ rounded, xi_lo = the rest.
        upload_f64(c, &self.b.xi, &state.xi);
        let lo: Vec<f64> = state.xi.iter().map(|&x| x - x as f32 as f64).collect();
        upload_f64(c, &self.b.xi_lo, &lo);
        upload_f64(c, &self.b.phi, &state.phi);
        upload_f64(c, &self.b.conc, &state.conc);
        upload_f64(c, &self.b.potential, &state.potential);
        upload_f64(c, &self.b.eta, &state.eta);
        upload_f64(c, &self.b.pot0, &state.potential0);
        upload_f64(c, &self.b.pot1, &state.potential1);
        if self.b.coupled.is_some() {
            upload_f64(c, &self.b.es, &state.electronic_potential);
            upload_f64(c, &self.b.es0, &state.electronic_potential0);
            upload_f64(c, &self.b.es1, &state.electronic_potential1);
        }
        self.host = state;
        self.fields_on_host = true;
    }

    /// Starts a batch's control record (and the noise's first step, the host's step count).
    fn write_control(&self, remaining_s: f64) {
        let c = Control {
            remaining: remaining_s as f32,
            v_collector: self.host.v_collector as f32,
            ..Default::default()
        };
        self.ctx
            .queue
            .write_buffer(&self.b.control, 0, bytemuck::bytes_of(&c));
        self.ctx.queue.write_buffer(
            &self.b.noise_params,
            0,
            bytemuck::bytes_of(&NoiseParams::new(&self.coeffs, self.host.step)),
        );
    }

    fn dispatch(&self, pass: &mut wgpu::ComputePass, k: &Kernel, bg: &wgpu::BindGroup, gate: Gate) {
        pass.set_pipeline(&k.pipeline);
        pass.set_bind_group(0, bg, &[]);
        match gate {
            Gate::Direct([x, y, z]) => pass.dispatch_workgroups(x, y, z),
            Gate::Step(s) => pass.dispatch_workgroups_indirect(&self.b.args, self.table().step(s)),
            Gate::Cg(s) => pass.dispatch_workgroups_indirect(&self.b.args, self.table().cg(s)),
            Gate::Sub(m) => {
                pass.dispatch_workgroups_indirect(&self.b.args, self.table().substep(m))
            }
        }
    }

    /// The layout of the indirect-dispatch table `args`.
    fn table(&self) -> IndirectTable {
        IndirectTable {
            shapes: self.shapes,
            substeps: MAX_SUBSTEPS,
        }
    }

    /// The reduction shape's index.
    fn red(&self) -> usize {
        self.shapes - 1
    }

    /// z = M⁻¹ r: one cycle (`solver.cycle`) from a zero initial guess on the hierarchy of `g`
    /// (solver.rs, Multigrid::vcycle).
    fn record_vcycle(&self, pass: &mut wgpu::ComputePass, g: &LevelGroups) {
        self.record_cycle(pass, g, 0, true);
    }

    /// One cycle on level `l`, from zero (`zero_start`) or improving the level's current x
    /// (the W-cycle's second coarse visit: x ← x + M(b − A x), what the CPU computes from the
    /// residual, since the cycle is a linear iteration).
    fn record_cycle(
        &self,
        pass: &mut wgpu::ComputePass,
        g: &LevelGroups,
        l: usize,
        zero_start: bool,
    ) {
        let k = &self.k;
        let last = self.dims.len() - 1;
        if l == last {
            // The coarsest level is one cell: one relaxation from zero solves it exactly.
            self.dispatch(pass, &k[KernelId::FillZero], &g.zero[last], Gate::Cg(last));
            self.dispatch(
                pass,
                &k[KernelId::MgSmooth],
                &g.smooth[last][0],
                Gate::Cg(last),
            );
            return;
        }
        let sweeps = self.config.solver.smoothing_sweeps;
        if zero_start {
            self.dispatch(pass, &k[KernelId::FillZero], &g.zero[l], Gate::Cg(l));
        }
        for _ in 0..sweeps {
            self.record_smooth(pass, g, l, 0);
            self.record_smooth(pass, g, l, 1);
        }
        self.dispatch(pass, &k[KernelId::MgResidual], &g.residual[l], Gate::Cg(l));
        self.dispatch(
            pass,
            &k[KernelId::MgRestrict],
            g.restrict[l].as_ref().unwrap(),
            Gate::Cg(l + 1),
        );
        self.record_cycle(pass, g, l + 1, true);
        if second_visit(self.config.solver.cycle, &self.dims, l) {
            self.record_cycle(pass, g, l + 1, false);
        }
        // Scaled by the over-correction of this level's cycle (its TransferParams).
        self.dispatch(
            pass,
            &k[KernelId::MgProlong],
            g.prolong[l].as_ref().unwrap(),
            Gate::Cg(l),
        );
        for _ in 0..sweeps {
            self.record_smooth(pass, g, l, 1);
            self.record_smooth(pass, g, l, 0);
        }
    }

    /// One colour sweep of mg_smooth on level l: over every z-section, or, when its nz is odd
    /// and > 1, over sections 0..nz−1 and then the last (`params::smooth_passes`, the CPU's
    /// order).
    fn record_smooth(
        &self,
        pass: &mut wgpu::ComputePass,
        g: &LevelGroups,
        l: usize,
        colour: usize,
    ) {
        let k = &self.k;
        self.dispatch(
            pass,
            &k[KernelId::MgSmooth],
            &g.smooth[l][colour],
            Gate::Cg(l),
        );
        if let Some(last) = &g.smooth_last[l] {
            let levels = self.dims.len();
            self.dispatch(
                pass,
                &k[KernelId::MgSmooth],
                &last[colour],
                Gate::Cg(levels + l),
            );
        }
    }

    /// Preconditioned CG on potential target `s` (solver.rs, Multigrid::solve), warm-started.
    fn record_solve(&self, pass: &mut wgpu::ComputePass, s: usize) {
        let g = &self.g;
        self.record_cg(pass, &g.solves[s], &g.apply, &g.mg, self.cg_iterations);
    }

    /// The implicit Nernst–Planck solve for u, warm-started by `np_assemble_rhs`.
    fn record_np_solve(&self, pass: &mut wgpu::ComputePass, np: &NpGroups) {
        self.record_cg(
            pass,
            &np.solve,
            &np.apply,
            &np.levels,
            self.np_cg_iterations,
        );
    }

    /// The ξ-increment solve of the semi-implicit gradient term, from δ = Δt r.
    fn record_xi_solve(&self, pass: &mut wgpu::ComputePass, xg: &XiGradientGroups) {
        self.record_cg(
            pass,
            &xg.solve,
            &xg.apply,
            &xg.levels,
            self.xi_cg_iterations,
        );
    }

    /// One creep pressure solve, from the pressure as it stands (p_s at the first round).
    fn record_creep_solve(&self, pass: &mut wgpu::ComputePass, cg: &CreepGroups) {
        self.record_cg(
            pass,
            &cg.solve,
            &cg.apply,
            &cg.levels,
            self.creep_cg_iterations,
        );
    }

    /// Preconditioned CG (solver.rs, Multigrid::solve) on the target of `sg` with the operator
    /// of `apply` and the V-cycle of `levels`, `iterations` recorded. The work vectors r, z, p
    /// and q and their groups are the potential hierarchy's.
    fn record_cg(
        &self,
        pass: &mut wgpu::ComputePass,
        sg: &SolveGroups,
        apply: &wgpu::BindGroup,
        levels: &LevelGroups,
        iterations: usize,
    ) {
        let (k, g) = (&self.k, &self.g);
        let one = Gate::Direct([1, 1, 1]);
        let red = self.red();
        self.dispatch(pass, &k[KernelId::MgResidual], &sg.residual, Gate::Step(0));
        self.dispatch(
            pass,
            &k[KernelId::ResidualNormPartials],
            &sg.resnorm,
            Gate::Step(red),
        );
        self.dispatch(pass, &k[KernelId::CgBegin], &sg.control, one);
        self.record_vcycle(pass, levels);
        self.dispatch(pass, &k[KernelId::DotPartials], &g.dot_rz, Gate::Cg(red));
        self.dispatch(pass, &k[KernelId::CgRz0], &sg.control, one);
        self.dispatch(pass, &k[KernelId::Copy], &g.copy_zp, Gate::Cg(0));
        for _ in 0..iterations {
            self.dispatch(pass, &k[KernelId::MgApply], apply, Gate::Cg(0));
            self.dispatch(pass, &k[KernelId::DotPartials], &g.dot_pq, Gate::Cg(red));
            self.dispatch(pass, &k[KernelId::CgAlpha], &sg.control, one);
            self.dispatch(pass, &k[KernelId::CgUpdateXr], &sg.xr, Gate::Cg(0));
            self.dispatch(pass, &k[KernelId::L1Partials], &g.l1_r, Gate::Cg(red));
            self.dispatch(pass, &k[KernelId::CgCheck], &sg.control, one);
            self.record_vcycle(pass, levels);
            self.dispatch(pass, &k[KernelId::DotPartials], &g.dot_rz, Gate::Cg(red));
            self.dispatch(pass, &k[KernelId::CgBeta], &sg.control, one);
            self.dispatch(pass, &k[KernelId::CgUpdateP], &g.cg_p, Gate::Cg(0));
        }
        self.dispatch(pass, &k[KernelId::CgEnd], &sg.control, one);
    }

    /// z = M⁻¹ r of the coupled solve (solver.rs, CoupledMultigrid::precondition): one V-cycle
    /// on each block's operator.
    fn record_coupled_precondition(&self, pass: &mut wgpu::ComputePass, cg: &CoupledGroups) {
        self.record_vcycle(pass, &self.g.mg);
        self.record_vcycle(pass, &cg.electronic);
    }

    /// Block-preconditioned CG on target `s` of the two-potential form, the pair (φ_l, φ_s)
    /// (solver.rs, CoupledMultigrid::solve), warm-started; in the collector's frame for the
    /// Unit and Imposed solves (`relative_to_collector` of the CPU backend). The CG scalars
    /// are those of the single solve (cg_control.wgsl) over sums of both blocks.
    fn record_coupled_solve(&self, pass: &mut wgpu::ComputePass, s: usize, cg: &CoupledGroups) {
        let (k, g) = (&self.k, &self.g);
        let (sg, cs) = (&g.solves[s], &cg.solves[s]);
        let one = Gate::Direct([1, 1, 1]);
        let red = self.red();
        if let Some([down, _]) = &cs.shift {
            self.dispatch(pass, &k[KernelId::ShiftPotentials], down, Gate::Step(0));
        }
        self.dispatch(pass, &k[KernelId::MgResidual], &sg.residual, Gate::Step(0));
        self.dispatch(pass, &k[KernelId::MgResidual], &cs.residual, Gate::Step(0));
        self.dispatch(
            pass,
            &k[KernelId::CoupleResidual],
            &cs.couple,
            Gate::Step(0),
        );
        self.dispatch(
            pass,
            &k[KernelId::ResidualNorm2Partials],
            &cs.resnorm,
            Gate::Step(red),
        );
        self.dispatch(pass, &k[KernelId::CgBegin], &sg.control, one);
        self.record_coupled_precondition(pass, cg);
        self.dispatch(pass, &k[KernelId::Dot2Partials], &cg.dot_rz, Gate::Cg(red));
        self.dispatch(pass, &k[KernelId::CgRz0], &sg.control, one);
        self.dispatch(pass, &k[KernelId::Copy], &g.copy_zp, Gate::Cg(0));
        self.dispatch(pass, &k[KernelId::Copy], &cg.copy_zp, Gate::Cg(0));
        for _ in 0..self.cg_iterations {
            self.dispatch(pass, &k[KernelId::MgApply], &g.apply, Gate::Cg(0));
            self.dispatch(pass, &k[KernelId::MgApply], &cg.apply, Gate::Cg(0));
            self.dispatch(
                pass,
                &k[KernelId::CoupleApply],
                &cg.couple_apply,
                Gate::Cg(0),
            );
            self.dispatch(pass, &k[KernelId::Dot2Partials], &cg.dot_pq, Gate::Cg(red));
            self.dispatch(pass, &k[KernelId::CgAlpha], &sg.control, one);
            self.dispatch(pass, &k[KernelId::CgUpdateXr], &sg.xr, Gate::Cg(0));
            self.dispatch(pass, &k[KernelId::CgUpdateXr], &cs.xr, Gate::Cg(0));
            self.dispatch(pass, &k[KernelId::L1Partials2], &cg.l1_r, Gate::Cg(red));
            self.dispatch(pass, &k[KernelId::CgCheck], &sg.control, one);
            self.record_coupled_precondition(pass, cg);
            self.dispatch(pass, &k[KernelId::Dot2Partials], &cg.dot_rz, Gate::Cg(red));
            self.dispatch(pass, &k[KernelId::CgBeta], &sg.control, one);
            self.dispatch(pass, &k[KernelId::CgUpdateP], &g.cg_p, Gate::Cg(0));
            self.dispatch(pass, &k[KernelId::CgUpdateP], &cg.cg_p, Gate::Cg(0));
        }
        self.dispatch(pass, &k[KernelId::CgEnd], &sg.control, one);
        if let Some([_, up]) = &cs.shift {
            self.dispatch(pass, &k[KernelId::ShiftPotentials], up, Gate::Step(0));
        }
    }

    /// Records one time step ([`step_sequence`]) into `pass`.
    fn record_step(&self, pass: &mut wgpu::ComputePass, step: usize) {
        let mut rec = Recorder {
            b: self,
            pass,
            step,
        };
        // Recording cannot fail: errors surface in the control record after the submission.
        let _ = step_sequence(
            &mut rec,
            self.coeffs.control,
            self.coeffs.nernst_planck,
            self.coeffs.creep.is_some(),
            self.coeffs.noise_amplitude_per_sqrt_s > 0.0,
        );
    }

    fn read_control_and_log(&self, with_status: bool) -> (Control, Vec<StepLog>, [u32; 4]) {
        let log_bytes = (std::mem::size_of::<StepLog>() * MAX_BATCH_STEPS) as u64;
        let mut src = vec![
            (&self.b.control, std::mem::size_of::<Control>() as u64),
            (&self.b.steps, log_bytes),
        ];
        if with_status {
            src.push((&self.b.status, 16));
        }
        let out = download(&self.ctx, &src);
        let control: Control = *bytemuck::from_bytes(&out[0]);
        let log: Vec<StepLog> = bytemuck::cast_slice::<u8, StepLog>(&out[1])
            [..(control.step_count as usize).min(MAX_BATCH_STEPS)]
            .to_vec();
        let mut status = [u32::MAX; 4];
        if with_status {
            status.copy_from_slice(bytemuck::cast_slice(&out[2]));
        }
        (control, log, status)
    }

    /// Records `n` Nernst–Planck sub-steps per step from the next batch on.
    fn set_substeps(&mut self, n: usize) {
        self.substeps = n.clamp(1, MAX_SUBSTEPS);
        self.step_params.substeps_recorded = self.substeps as u32;
        self.ctx.queue.write_buffer(
            &self.step_params_buf,
            0,
            bytemuck::bytes_of(&self.step_params),
        );
    }

    /// The device-side control record as the last submission left it (diagnostics).
    pub fn device_control(&self) -> Control {
        self.read_control_and_log(false).0
    }

    fn reset_status(&self) {
        self.ctx
            .queue
            .write_buffer(&self.b.status, 0, bytemuck::cast_slice(&[u32::MAX; 4]));
    }

    fn record_range_check(&self, pass: &mut wgpu::ComputePass) {
        let d0 = self.dims[0];
        self.dispatch(
            pass,
            &self.k[KernelId::RangeCheck],
            &self.g.range,
            Gate::Direct(volume_groups(d0)),
        );
    }

    /// Turns a range-check status into the CPU backend's error (downloading the offending field).
    fn range_error(&self, status: [u32; 4]) -> Result<(), SimulationError> {
        let names: [(&'static str, &wgpu::Buffer); 3] = [
            ("xi", &self.b.xi),
            ("c", &self.b.conc),
            ("potential", &self.b.potential),
        ];
        for (f, (name, buf)) in names.iter().enumerate() {
            let k = status[f];
            if k == u32::MAX {
                continue;
            }
            let n = self.host.grid.cells();
            let v = download_f32(&self.ctx, &[(buf, n)]).remove(0)[k as usize];
            let nx = self.host.grid.nx;
            return Err(SimulationError::OutOfRange {
                field: name,
                value: v,
                i: k as usize % nx,
                j: k as usize / nx,
                step: self.host.step,
                time_s: self.host.time_s,
                reason: if v.is_finite() {
                    "outside the admissible range"
                } else {
                    "not a finite number"
                },
            });
        }
        if !self.host.v_collector.is_finite() {
            return Err(SimulationError::OutOfRange {
                field: "cell_voltage",
                value: self.host.v_collector,
                i: 0,
                j: 0,
                step: self.host.step,
                time_s: self.host.time_s,
                reason: "not a finite number",
            });
        }
        Ok(())
    }

    /// Stops the run on NaN/Inf or a field outside its admissible range (CpuBackend::check_ranges).
    pub fn check_ranges(&self) -> Result<(), SimulationError> {
        self.reset_status();
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            self.record_range_check(&mut pass);
        }
        self.ctx.queue.submit(Some(enc.finish()));
        let (_, _, status) = self.read_control_and_log(true);
        self.range_error(status)
    }

    fn solver_failure(&self, c: &Control) -> SimulationError {
        if c.flags & FLAG_NO_ACTIVE_INTERFACE != 0 {
            return SimulationError::Solver(
                "galvanostatic control impossible: the current does not depend on the \
                 collector potential (no electrochemically active interface)"
                    .into(),
            );
        }
        SimulationError::Solver(format!(
            "potential solve did not converge on the GPU at step {} (t = {:.6} s) within {} \
             iterations (residual {:e}, tolerance {:e}{})",
            self.host.step,
            self.host.time_s,
            self.cg_iterations,
            c.res,
            c.tol,
            if c.flags & FLAG_CG_BREAKDOWN != 0 {
                ", CG breakdown"
            } else {
                ""
            }
        ))
    }

    /// The implicit Nernst–Planck solve did not converge within `solver.max_iterations`
    /// (the control record's residual and tolerance are that solve's: it is the last of its
    /// step, and the steps after it did not run).
    fn np_failure(&self, c: &Control) -> SimulationError {
        SimulationError::Solver(format!(
            "Nernst–Planck solve did not converge on the GPU at step {} (t = {:.6} s) within {} \
             iterations (residual {:e}, tolerance {:e}{})",
            self.host.step,
            self.host.time_s,
            self.np_cg_iterations,
            c.res,
            c.tol,
            if c.flags & FLAG_CG_BREAKDOWN != 0 {
                ", CG breakdown"
            } else {
                ""
            }
        ))
    }

    /// A ξ-increment solve did not converge within `solver.max_iterations` (the control
    /// record's residual and tolerance are that solve's: the steps after it did not run).
    fn xi_failure(&self, c: &Control) -> SimulationError {
        SimulationError::Solver(format!(
            "ξ increment solve did not converge on the GPU at step {} (t = {:.6} s) within {} \
             iterations (residual {:e}, tolerance {:e}{})",
            self.host.step,
            self.host.time_s,
            self.xi_cg_iterations,
            c.res,
            c.tol,
            if c.flags & FLAG_CG_BREAKDOWN != 0 {
                ", CG breakdown"
            } else {
                ""
            }
        ))
    }

    /// A creep pressure solve did not converge within `solver.max_iterations` (the control
    /// record's residual and tolerance are that solve's: the steps after it did not run).
    fn creep_failure(&self, c: &Control) -> SimulationError {
        SimulationError::Solver(format!(
            "creep pressure solve did not converge on the GPU at step {} (t = {:.6} s) within {} \
             iterations (residual {:e}, tolerance {:e}{})",
            self.host.step,
            self.host.time_s,
            self.creep_cg_iterations,
            c.res,
            c.tol,
            if c.flags & FLAG_CG_BREAKDOWN != 0 {
                ", CG breakdown"
            } else {
                ""
            }
        ))
    }

    /// Newton iterations on the overpotential before the first step
    /// (CpuBackend::converge_initial_overpotential).
    fn converge_initial_overpotential(&mut self, until_s: f64) -> Result<(), SimulationError> {
        let n = self.host.grid.cells();
        let mut it = 0;
        while it < NEWTON_MAX_ITERATIONS {
            // The remaining time of the first step: the implicit obstacle's Δt_p, as on the CPU.
            self.write_control(until_s - self.host.time_s);
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                let mut rec = Recorder {
                    b: self,
                    pass: &mut pass,
                    step: 0,
                };
                let _ = rec.begin_step();
                let _ = potential_sequence(&mut rec, self.coeffs.control);
            }
            self.ctx.queue.submit(Some(enc.finish()));
            let (c, _, _) = self.read_control_and_log(false);
            if c.not_converged != 0 || c.flags != 0 {
                if c.flags & FLAG_NO_ACTIVE_INTERFACE == 0
                    && self.cg_iterations < self.config.solver.max_iterations
                {
                    self.cg_iterations =
                        (2 * self.cg_iterations).min(self.config.solver.max_iterations);
                    continue;
                }
                return Err(self.solver_failure(&c));
            }
            self.host.v_collector = c.v_collector as f64;
            let mut f = download_f32(&self.ctx, &[(&self.b.eta_new, n), (&self.b.eta, n)]);
            let old = f.pop().unwrap();
            let new = f.pop().unwrap();
            let change = new
                .iter()
                .zip(&old)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            enc.copy_buffer_to_buffer(&self.b.eta_new, 0, &self.b.eta, 0, 4 * n as u64);
            self.ctx.queue.submit(Some(enc.finish()));
            self.fields_on_host = false;
            it += 1;
            if change < NEWTON_TOLERANCE_V {
                break;
            }
        }
        Ok(())
    }

    /// Records and runs one batch of steps towards `until_s`; undoes and repeats it with more CG
    /// iterations when a solve did not converge.
    fn batch(&mut self, until_s: f64) -> Result<(), SimulationError> {
        let remaining = until_s - self.host.time_s;
        let steps = ((remaining / self.dt_estimate_s) * 1.02)
            .ceil()
            .clamp(1.0, MAX_BATCH_STEPS as f64) as usize;
        loop {
            self.write_control(remaining);
            self.reset_status();
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            for (src, copy) in &self.b.backup {
                enc.copy_buffer_to_buffer(src, 0, copy, 0, None);
            }
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("lipf steps"),
                    timestamp_writes: None,
                });
                for m in 0..steps {
                    self.record_step(&mut pass, m);
                }
                self.record_range_check(&mut pass);
            }
            self.ctx.queue.submit(Some(enc.finish()));
            let (c, log, status) = self.read_control_and_log(true);
            self.fields_on_host = false;
            if c.not_converged != 0 || c.flags != 0 {
                let mut enc = self.ctx.device.create_command_encoder(&Default::default());
                for (src, copy) in &self.b.backup {
                    enc.copy_buffer_to_buffer(copy, 0, src, 0, None);
                }
                self.ctx.queue.submit(Some(enc.finish()));
                if c.flags & FLAG_NP_NOT_CONVERGED != 0 {
                    if self.np_cg_iterations < self.config.solver.max_iterations {
                        self.np_cg_iterations =
                            (2 * self.np_cg_iterations).min(self.config.solver.max_iterations);
                        continue;
                    }
                    return Err(self.np_failure(&c));
                }
                if c.flags & FLAG_XI_NOT_CONVERGED != 0 {
                    if self.xi_cg_iterations < self.config.solver.max_iterations {
                        self.xi_cg_iterations =
                            (2 * self.xi_cg_iterations).min(self.config.solver.max_iterations);
                        continue;
                    }
                    return Err(self.xi_failure(&c));
                }
                if c.flags & FLAG_CREEP_NOT_CONVERGED != 0 {
                    if self.creep_cg_iterations < self.config.solver.max_iterations {
                        self.creep_cg_iterations =
                            (2 * self.creep_cg_iterations).min(self.config.solver.max_iterations);
                        continue;
                    }
                    return Err(self.creep_failure(&c));
                }
                if c.flags & FLAG_SUBSTEPS_EXCEEDED != 0 {
                    if self.substeps < MAX_SUBSTEPS {
                        self.set_substeps((2 * self.substeps).max(c.substeps as usize));
                        continue;
                    }
                    return Err(SimulationError::Solver(format!(
                        "the Nernst-Planck update needs {} sub-steps in one step at step {} (t = {:.6} s), more than {MAX_SUBSTEPS}",
                        c.substeps, self.host.step, self.host.time_s
                    )));
                }
                if c.flags & FLAG_NO_ACTIVE_INTERFACE == 0
                    && self.cg_iterations < self.config.solver.max_iterations
                {
                    self.cg_iterations =
                        (2 * self.cg_iterations).min(self.config.solver.max_iterations);
                    continue;
                }
                return Err(self.solver_failure(&c));
            }
            let width = self.coeffs.grid.collector_m();
            // The collector outflow of each step, in cell volumes (creep_finish_outflow).
            let outflow: Vec<f64> = match &self.b.creep {
                Some(cb) => {
                    let bytes = download(&self.ctx, &[(&cb.outflow, cb.outflow.size())]).remove(0);
                    (0..log.len())
                        .map(|m| {
                            let at = m * cb.slot_bytes as usize;
                            f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as f64
                        })
                        .collect()
                }
                None => Vec::new(),
            };
            let dx = self.coeffs.grid.dx_m;
            let two_potential = self.b.coupled.is_some();
            let s = &mut self.host;
            let mut most = 0u32;
            let mut most_sub = 0u32;
            for (m, e) in log.iter().enumerate() {
                most_sub = most_sub.max(e.substeps);
                if let Some(out) = outflow.get(m) {
                    s.li_extruded_m += out * dx * dx / width;
                }
                let dt = e.dt as f64;
                s.current_density_a_m2 = e.current_a_m as f64 / width;
                s.charge_c_m2 += s.current_density_a_m2 * dt;
                if two_potential {
                    s.leakage_current_density_a_m2 = e.leakage_a_m as f64 / width;
                    s.leakage_charge_c_m2 += s.leakage_current_density_a_m2 * dt;
                }
                s.ionic_throughput_c_m2 +=
                    ((s.current_density_a_m2 - s.leakage_current_density_a_m2) * dt).abs();
                s.time_s += dt;
                s.step += 1;
                s.solver_iterations = e.iterations as u64;
                s.solver_iterations_total += e.iterations as u64;
                s.v_collector = e.v_collector as f64;
                most = most.max(e.max_solve_iterations);
            }
            if c.remaining == 0.0 && !log.is_empty() {
                s.time_s = until_s;
            }
            if let Some(e) = log.iter().rev().nth(1).or(log.last()) {
                self.dt_estimate_s = (e.dt as f64).max(1e-6 * self.dt_stable_s);
            }
            self.cg_iterations =
                (2 * most as usize + 2).clamp(4, self.config.solver.max_iterations.max(4));
            if self.g.np.is_some() {
                self.np_iterations_total += c.np_iterations as u64;
                self.np_cg_iterations = (2 * c.np_max_solve_iterations as usize + 2)
                    .clamp(4, self.config.solver.max_iterations.max(4));
            }
            if self.g.xi_gradient.is_some() {
                self.xi_iterations_total += c.xi_iterations as u64;
                self.xi_cg_iterations = (2 * c.xi_max_solve_iterations as usize + 2)
                    .clamp(4, self.config.solver.max_iterations.max(4));
            }
            if self.g.creep.is_some() {
                self.creep_iterations_total += c.creep_iterations as u64;
                self.creep_cg_iterations = (2 * c.creep_max_solve_iterations as usize + 2)
                    .clamp(4, self.config.solver.max_iterations.max(4));
            }
            if (most_sub as usize) < self.substeps / 2 || most_sub as usize > self.substeps {
                self.set_substeps(most_sub as usize + 1);
            }
            return self.range_error(status);
        }
    }

    fn download_fields(&mut self) {
        if self.fields_on_host {
            return;
        }
        let n = self.host.grid.cells();
        let b = &self.b;
        let mut fields = vec![
            (&b.xi, n),
            (&b.xi_lo, n),
            (&b.conc, n),
            (&b.potential, n),
            (&b.eta, n),
            (&b.pot0, n),
            (&b.pot1, n),
        ];
        let two_potential = b.coupled.is_some();
        if two_potential {
            fields.extend([(&b.es, n), (&b.es0, n), (&b.es1, n)]);
        }
        let mut f = download_f32(&self.ctx, &fields).into_iter();
        let s = &mut self.host;
        let (hi, lo) = (f.next().unwrap(), f.next().unwrap());
        s.xi = hi.iter().zip(&lo).map(|(h, l)| h + l).collect();
        s.conc = f.next().unwrap();
        s.potential = f.next().unwrap();
        s.eta = f.next().unwrap();
        s.potential0 = f.next().unwrap();
        s.potential1 = f.next().unwrap();
        if two_potential {
            s.electronic_potential = f.next().unwrap();
            s.electronic_potential0 = f.next().unwrap();
            s.electronic_potential1 = f.next().unwrap();
        }
        self.fields_on_host = true;
    }

    /// (Σξ, Σ(ξ + ϕ − 1)₊) over the cells, reduced on the device (compensated f32 partials,
    /// added in f64 here; twin: `lipf_core::cpu::observables`).
    fn xi_sums(&self) -> (f64, f64) {
        let n = self.host.grid.cells();
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            self.dispatch(
                &mut pass,
                &self.k[KernelId::ObservablesPartials],
                &self.g.observables,
                Gate::Direct([reduce_groups(n), 1, 1]),
            );
        }
        self.ctx.queue.submit(Some(enc.finish()));
        let groups = reduce_groups(n) as usize;
        let out = download(&self.ctx, &[(&self.b.obs_partials, 16 * groups as u64)]);
        let v: &[f32] = bytemuck::cast_slice(&out[0]);
        let (mut xi, mut inside) = (0.0f64, 0.0f64);
        for p in v.chunks(4) {
            xi += p[0] as f64 + p[1] as f64;
            inside += p[2] as f64 + p[3] as f64;
        }
        (xi, inside)
    }
}

/// The current scale the solver tolerance refers to, A/m per unit depth (as the CPU backend).
fn current_scale_a_m(c: &Coefficients) -> f64 {
    let w = c.grid.collector_m();
    c.target_current_a_m
        .abs()
        .max(1e-3 * c.exchange_current_density_a_m2 * w)
}

/// Why a GPU backend could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BackendInitError {
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("initialisation failed: {0}")]
    Simulation(SimulationError),
}

impl Backend for GpuBackend {
    fn name(&self) -> String {
        format!("gpu: {}", self.ctx.adapter.label())
    }

    fn advance(
        &mut self,
        until_s: f64,
        stop: &StopFlag,
    ) -> Result<AdvanceOutcome, SimulationError> {
        while self.host.time_s < until_s {
            if stop.is_stopped() {
                self.check_ranges()?;
                return Ok(AdvanceOutcome::Stopped);
            }
            lipf_core::cpu_backend::check_step_budget(&self.config, &self.host, until_s)?;
            if self.host.step == 0 {
                self.converge_initial_overpotential(until_s)?;
            }
            self.batch(until_s)?;
        }
        self.check_ranges()?;
        Ok(AdvanceOutcome::Reached)
    }

    fn scalars(&mut self) -> Scalars {
        let (xi, inside) = self.xi_sums();
        let g = self.host.grid;
        let per_width = g.dx_m * g.dx_m / g.collector_m();
        let s = &self.host;
        Scalars {
            time_s: s.time_s,
            step: s.step,
            current_density_a_m2: s.current_density_a_m2,
            cell_voltage_v: s.v_collector,
            li_amount_mol_m2: self.coeffs.cs_mol_m3 * (xi * per_width + s.li_extruded_m),
            charge_c_m2: s.charge_c_m2,
            li_in_electrolyte_mol_m2: self.coeffs.cs_mol_m3 * inside * per_width,
            solver_iterations: s.solver_iterations,
            leakage_current_density_a_m2: s.leakage_current_density_a_m2,
        }
    }

    fn state(&mut self) -> &State {
        self.download_fields();
        &self.host
    }

    fn set_current_density(&mut self, a_m2: f64) {
        self.coeffs.target_current_a_m = a_m2 * self.coeffs.grid.collector_m();
        self.write_collector_params();
    }

    fn hold_cell_voltage(&mut self, v: Option<f64>) {
        self.coeffs.held_voltage_v = v;
        self.write_collector_params();
    }

    fn set_state(&mut self, state: State) -> Result<(), SimulationError> {
        state.validate(&self.config)?;
        self.upload(state);
        self.check_ranges()
    }

    fn nernst_planck_iterations(&self) -> Option<u64> {
        (self.coeffs.nernst_planck == NernstPlanck::Implicit).then_some(self.np_iterations_total)
    }
}
