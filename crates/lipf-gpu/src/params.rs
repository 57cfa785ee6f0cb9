//! `#[repr(C)]` twins of the WGSL parameter structs and of the device-side control records,
//! the bits of `Control::flags`, the codes of the overpotential forms and the layout of the
//! indirect-dispatch table. `tests/gpu_checks.rs` compares each struct with the layout naga
//! computes for the WGSL declaration (size and every member's offset) in every shader that uses
//! it, and the flag, form and table constants with the WGSL `const`s of
//! `shaders/shared/control.wgsl`, `shaders/shared/interp.wgsl` and
//! `shaders/shared/indirect.wgsl`.

use bytemuck::{Pod, Zeroable};
use lipf_core::coefficients::CreepCoefficients;
use lipf_core::config::{ControlMode, OverpotentialForm};
use lipf_core::cpu::creep_assemble as cpu_creep;
use lipf_core::cpu::xi_rate as cpu_xi_rate;
use lipf_core::Coefficients;

/// A Rust struct's layout, for comparison with naga's.
#[derive(Debug, Clone)]
pub struct RustLayout {
    pub name: &'static str,
    pub size: usize,
    pub fields: Vec<(&'static str, usize)>,
}

macro_rules! gpu_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Pod, Zeroable)]
        pub struct $name { $($(#[$fm])* pub $f: $t),* }
        impl $name {
            pub fn layout() -> RustLayout {
                RustLayout {
                    name: stringify!($name),
                    size: std::mem::size_of::<$name>(),
                    fields: vec![$((stringify!($f), std::mem::offset_of!($name, $f))),*],
                }
            }
        }
    };
}

gpu_struct!(
    /// Twin of `XiRateParams` in `shaders/xi_rate.wgsl`.
    XiRateParams {
        nx: u32, ny: u32, omega: u32, reaction_on: u32,
        inv_dx_m: f32, l_sigma: f32, w1: f32, a_cross: f32,
        b_obstacle: f32, obstacle_xi_threshold: f32, kappa0: f32, delta: f32,
        cos_theta0: f32, sin_theta0: f32, l_eta: f32, f: f32,
        alpha: f32, beta: f32, max_bv_overpotential_v: f32, sharp_a: f32,
        exp_sharp_a: f32, exp_minus_sharp_a: f32, room_obstacle: u32, inv_nf_cs: f32,
        ip_phi_lo: f32, ip_phi_hi: f32, obstacle_dt_cap: f32, nz: u32,
    }
);

gpu_struct!(
    /// Twin of `AssembleParams` in `shaders/potential_assemble.wgsl`.
    AssembleParams {
        nx: u32, ny: u32, form: u32, liquid: f32,
        q: f32, e0_v: f32, sigma_p: f32, sigma_e: f32,
        sigma_floor: f32, ip_phi_lo: f32, ip_phi_hi: f32, ip_ionic_k: f32,
        nz: u32, _pad0: u32, _pad1: u32, _pad2: u32,
    }
);

gpu_struct!(
    /// Twin of `ElectronicParams` in `shaders/electronic_assemble.wgsl`.
    ElectronicParams {
        nx: u32, ny: u32, ip_phi_lo: f32, ip_phi_hi: f32,
        q: f32, e0_v: f32, sigma_e: f32, sigma_e_el: f32,
        sigma_floor: f32, ip_forward: f32, ip_reverse: f32, liquid: f32,
        nz: u32, _pad0: u32, _pad1: u32, _pad2: u32,
    }
);

gpu_struct!(
    /// Twin of `CoupledParams` in `shaders/cg_coupled.wgsl`: `unit` and `sign` are read by
    /// `shift_potentials` only.
    CoupledParams {
        nx: u32, ny: u32, unit: u32, nz: u32,
        sign: f32, _pad1: f32, _pad2: f32, _pad3: f32,
    }
);

gpu_struct!(
    /// Twin of `MgParams` in `shaders/shared/multigrid.wgsl` (mg_smooth, mg_residual).
    MgParams { nx: u32, ny: u32, colour: u32, nz: u32 }
);

gpu_struct!(
    /// Twin of `TransferParams` in `shaders/shared/multigrid.wgsl` (mg_coarsen, mg_restrict,
    /// mg_prolong).
    TransferParams {
        nxf: u32, nyf: u32, nxc: u32, nyc: u32,
        scale: f32, nzf: u32, nzc: u32, _pad0: u32,
    }
);

gpu_struct!(
    /// Twin of `GridParams` in `shaders/shared/grid.wgsl` (xi_update, copy, cg_vectors,
    /// range_check, np_substep).
    GridParams { nx: u32, ny: u32, n: u32, nz: u32 }
);

gpu_struct!(
    /// Twin of `NoiseParams` in `shaders/xi_noise.wgsl`.
    NoiseParams {
        nx: u32, ny: u32, amplitude: f32, seed_lo: u32,
        seed_hi: u32, step_lo: u32, step_hi: u32, room_phi: f32,
        nz: u32, _pad0: u32, _pad1: u32, _pad2: u32,
    }
);

impl NoiseParams {
    /// The noise of `c` for a batch that starts at step `step_base`.
    pub fn new(c: &lipf_core::Coefficients, step_base: u64) -> NoiseParams {
        NoiseParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            amplitude: c.noise_amplitude_per_sqrt_s as f32,
            seed_lo: c.noise_seed as u32,
            seed_hi: (c.noise_seed >> 32) as u32,
            step_lo: step_base as u32,
            step_hi: (step_base >> 32) as u32,
            room_phi: c.noise_room_phi() as f32,
            nz: c.grid.nz as u32,
            ..Default::default()
        }
    }
}

gpu_struct!(
    /// Twin of `ReduceParams` in `shaders/shared/reduce.wgsl` (reduce, observables).
    ReduceParams { n: u32, groups: u32, solid: f32, _pad1: u32 }
);

gpu_struct!(
    /// Twin of `ReactionParams` in `shaders/reaction_rate.wgsl`.
    ReactionParams {
        nx: u32, ny: u32, form: u32, nz: u32,
        e0_v: f32, _pad1: f32, _pad2: f32, _pad3: f32,
    }
);

gpu_struct!(
    /// Twin of `ConcParams` in `shaders/shared/conc.wgsl` (conc_update, np_coefficients,
    /// np_assemble, np_finish).
    ConcParams {
        nx: u32, ny: u32, form: u32, ip_phi_lo: f32,
        inv_dx2: f32, f: f32, sink: f32, d_p: f32,
        d_e: f32, floor: f32, ip_phi_hi: f32, ip_ionic_k: f32,
        liquid: f32, nz: u32, _pad1: u32, _pad2: u32,
    }
);

gpu_struct!(
    /// Twin of `CreepParams` in `shaders/shared/creep.wgsl` (creep_assemble, creep_finish,
    /// creep_active_set).
    CreepParams {
        nx: u32, ny: u32, open_collector: u32, nz: u32,
        mobility_over_dx2: f32, stack_pressure: f32, penalty: f32, pressure_floor: f32,
    }
);

gpu_struct!(
    /// Twin of `SolveParams` in `shaders/cg_control.wgsl`.
    SolveParams { tol: f32, solve: u32, partials: u32, shapes: u32 }
);

gpu_struct!(
    /// Twin of `CollectorParams` in `shaders/collector.wgsl`.
    CollectorParams {
        nx: u32, ny: u32, galvanostatic: u32, electronic: u32,
        target_current_a_m: f32, hold_voltage: u32, held_voltage_v: f32, nz: u32,
    }
);

gpu_struct!(
    /// Twin of `StepParams` in `shaders/time_step.wgsl`.
    StepParams {
        nx: u32, ny: u32, n: u32, groups: u32,
        form: u32, shapes: u32, max_steps: u32, substeps_recorded: u32,
        dt_stable: f32, dt_np: f32, max_xi_change: f32, max_dt: f32,
        inv_dx2: f32, f: f32, d_p: f32, d_e: f32,
        land_tolerance: f32, floor: f32, ip_phi_hi: f32, ip_ionic_k: f32,
        ip_phi_lo: f32,
        /// 1 with the implicit Nernst–Planck step (no sub-steps), 0 with explicit sub-steps.
        np_implicit: u32, liquid: f32, nz: u32,
    }
);

gpu_struct!(
    /// Twin of `StepLog` in `shaders/time_step.wgsl`: one step of a batch.
    StepLog {
        dt: f32, current_a_m: f32, v_collector: f32, iterations: u32,
        max_solve_iterations: u32, substeps: u32, leakage_a_m: f32, _pad1: u32,
    }
);

gpu_struct!(
    /// Twin of `Control` in `shaders/shared/control.wgsl` (imported by every shader that binds
    /// it): the device-side scalars of the running batch.
    Control {
        /// Step size of the current step, s.
        dt: f32,
        /// Time left until the batch's target, s.
        remaining: f32,
        v_collector: f32,
        /// Top-boundary current of the last potential, A/m.
        current_a_m: f32,
        running: u32,
        step_count: u32,
        step_iterations: u32,
        max_solve_iterations: u32,
        rz: f32,
        alpha: f32,
        beta: f32,
        res: f32,
        tol: f32,
        converged: u32,
        solve_iterations: u32,
        not_converged: u32,
        i0: f32,
        i1: f32,
        /// Bits [`FLAG_NO_ACTIVE_INTERFACE`], [`FLAG_CG_BREAKDOWN`],
        /// [`FLAG_SUBSTEPS_EXCEEDED`], [`FLAG_NP_NOT_CONVERGED`], [`FLAG_CREEP_NOT_CONVERGED`],
        /// [`FLAG_XI_NOT_CONVERGED`].
        flags: u32,
        /// Nernst–Planck sub-steps of the current step and their length, s.
        substeps: u32,
        dt_sub: f32,
        /// The electronic part of `current_a_m` (two-potential form), A/m.
        leakage_a_m: f32,
        /// CG iterations of the batch's implicit Nernst–Planck solves: their sum and the most
        /// one solve took.
        np_iterations: u32,
        np_max_solve_iterations: u32,
        /// CG iterations of the creep pressure solves of the batch, their sum and the most one
        /// solve took.
        creep_iterations: u32,
        creep_max_solve_iterations: u32,
        /// CG iterations of the batch's ξ-increment solves (`model.allen_cahn_gradient =
        /// "implicit"`): their sum and the most one solve took.
        xi_iterations: u32,
        xi_max_solve_iterations: u32,
    }
);

gpu_struct!(
    /// Twin of `XiGradientParams` in `shaders/xi_gradient_operator.wgsl`: the grid and
    /// Lσ κ_max / Δx² (1/s), the face conductance of the ξ increment's operator per second of
    /// step.
    XiGradientParams {
        nx: u32, ny: u32, nz: u32, _pad0: u32,
        rate: f32, _pad1: f32, _pad2: f32, _pad3: f32,
    }
);

impl XiGradientParams {
    pub fn new(c: &Coefficients) -> XiGradientParams {
        let g = c.grid;
        XiGradientParams {
            nx: g.nx as u32,
            ny: g.ny as u32,
            nz: g.nz as u32,
            rate: (c.l_sigma_m3_js * c.kappa_stiff_j_m() / (g.dx_m * g.dx_m)) as f32,
            ..Default::default()
        }
    }
}

/// Bit of [`Control::flags`]: galvanostatic control impossible, the current does not depend on
/// the collector potential (I1 = 0, no electrochemically active interface). Set by
/// `shaders/collector.wgsl`. Twin of the WGSL const of the same name in
/// `shaders/shared/control.wgsl`.
pub const FLAG_NO_ACTIVE_INTERFACE: u32 = 1;
/// Bit of [`Control::flags`]: CG breakdown (p·q not positive or not finite). Set by
/// `shaders/cg_control.wgsl`.
pub const FLAG_CG_BREAKDOWN: u32 = 2;
/// Bit of [`Control::flags`]: the step needs more Nernst–Planck sub-steps than were recorded.
/// Set by `shaders/time_step.wgsl`.
pub const FLAG_SUBSTEPS_EXCEEDED: u32 = 4;
/// Bit of [`Control::flags`]: the implicit Nernst–Planck solve did not converge within the
/// recorded iterations (or broke down). Set by `shaders/cg_control.wgsl`.
pub const FLAG_NP_NOT_CONVERGED: u32 = 8;
/// Bit of [`Control::flags`]: a creep pressure solve did not converge within the recorded
/// iterations (or broke down). Set by `shaders/cg_control.wgsl`.
pub const FLAG_CREEP_NOT_CONVERGED: u32 = 16;
/// Bit of [`Control::flags`]: a ξ-increment solve (the semi-implicit gradient term) did not
/// converge within the recorded iterations (or broke down). Set by `shaders/cg_control.wgsl`.
pub const FLAG_XI_NOT_CONVERGED: u32 = 32;

/// Every flag of [`Control::flags`] with its name (the WGSL const's).
pub const CONTROL_FLAGS: &[(&str, u32)] = &[
    ("FLAG_NO_ACTIVE_INTERFACE", FLAG_NO_ACTIVE_INTERFACE),
    ("FLAG_CG_BREAKDOWN", FLAG_CG_BREAKDOWN),
    ("FLAG_SUBSTEPS_EXCEEDED", FLAG_SUBSTEPS_EXCEEDED),
    ("FLAG_NP_NOT_CONVERGED", FLAG_NP_NOT_CONVERGED),
    ("FLAG_CREEP_NOT_CONVERGED", FLAG_CREEP_NOT_CONVERGED),
    ("FLAG_XI_NOT_CONVERGED", FLAG_XI_NOT_CONVERGED),
];

/// Code of [`SolveParams::solve`]: φ0 (galvanostatic) or φ (potentiostatic control).
pub const SOLVE_ZERO: u32 = 0;
/// φ1, the response to a unit collector potential (tolerance relative to |V|). Twin of the
/// WGSL const of the same name in `shaders/cg_control.wgsl`.
pub const SOLVE_UNIT: u32 = 1;
/// u = c̃ e^{fφ} of the implicit Nernst–Planck step (absolute tolerance, no floor; iterations
/// counted apart). Twin of the WGSL const of the same name in `shaders/cg_control.wgsl`.
pub const SOLVE_NERNST_PLANCK: u32 = 2;
/// The creep pressure p (the CPU's absolute tolerance with the f32 floor; iterations counted
/// apart). Twin of the WGSL const of the same name in `shaders/cg_control.wgsl`.
pub const SOLVE_CREEP: u32 = 3;
/// The ξ increment of the semi-implicit gradient term (the CPU's absolute tolerance with the
/// f32 floor; iterations counted apart). Twin of the WGSL const of the same name in
/// `shaders/cg_control.wgsl`.
pub const SOLVE_XI: u32 = 4;

/// The solve codes the WGSL names, with their names.
pub const SOLVE_CODES: &[(&str, u32)] = &[
    ("SOLVE_UNIT", SOLVE_UNIT),
    ("SOLVE_NERNST_PLANCK", SOLVE_NERNST_PLANCK),
    ("SOLVE_CREEP", SOLVE_CREEP),
    ("SOLVE_XI", SOLVE_XI),
];

/// Code of [`OverpotentialForm::SinglePotential`] in the `form` member of the parameter structs.
/// Twin of the WGSL const of the same name in `shaders/shared/interp.wgsl`.
pub const FORM_SINGLE_POTENTIAL: u32 = 0;
/// Code of [`OverpotentialForm::Consistent`].
pub const FORM_CONSISTENT: u32 = 1;
/// Code of [`OverpotentialForm::TwoPotential`].
pub const FORM_TWO_POTENTIAL: u32 = 2;

/// Every overpotential form code with its name (the WGSL const's).
pub const OVERPOTENTIAL_FORMS: &[(&str, u32)] = &[
    ("FORM_SINGLE_POTENTIAL", FORM_SINGLE_POTENTIAL),
    ("FORM_CONSISTENT", FORM_CONSISTENT),
    ("FORM_TWO_POTENTIAL", FORM_TWO_POTENTIAL),
];

/// The code of `c`'s overpotential form.
pub fn form(c: &Coefficients) -> u32 {
    match c.overpotential {
        OverpotentialForm::SinglePotential => FORM_SINGLE_POTENTIAL,
        OverpotentialForm::Consistent => FORM_CONSISTENT,
        OverpotentialForm::TwoPotential => FORM_TWO_POTENTIAL,
    }
}

/// σ_floor/σ_p: the floor of the two-potential form's diffusivity D_p (h(ϕ) + floor).
pub fn diffusivity_floor(c: &Coefficients) -> f32 {
    (c.sigma_floor_s_m / c.sigma_p_s_m) as f32
}

/// One entry of the indirect-dispatch table: the workgroup counts of one
/// `dispatch_workgroups_indirect` (the layout wgpu reads).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct DispatchArgs {
    pub x: u32,
    pub y: u32,
    pub z: u32,
}

/// u32 words of one [`DispatchArgs`] (`DISPATCH_ARGS_WORDS` in `shaders/shared/indirect.wgsl`).
pub const DISPATCH_ARGS_WORDS: u32 = (std::mem::size_of::<DispatchArgs>() / 4) as u32;

/// The layout of the indirect-dispatch table, an array of [`DispatchArgs`] written on the
/// device by `time_step.wgsl` and `cg_control.wgsl`: with `shapes` dispatch shapes (one per
/// multigrid level, then the reduction shape), the step part (`shapes` entries), the CG part
/// (`shapes` entries), then one entry per recorded Nernst–Planck sub-step. The WGSL twin is
/// `shaders/shared/indirect.wgsl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndirectTable {
    pub shapes: usize,
    pub substeps: usize,
}

impl IndirectTable {
    /// Entries in the table.
    pub fn entries(&self) -> usize {
        2 * self.shapes + self.substeps
    }

    /// Size of the table in bytes.
    pub fn size_bytes(&self) -> u64 {
        (self.entries() * std::mem::size_of::<DispatchArgs>()) as u64
    }

    /// Byte offset of entry `e`.
    fn offset(e: usize) -> u64 {
        (e * std::mem::size_of::<DispatchArgs>()) as u64
    }

    /// Byte offset of the step part's entry of shape `s`.
    pub fn step(&self, s: usize) -> u64 {
        debug_assert!(s < self.shapes);
        Self::offset(s)
    }

    /// Byte offset of the CG part's entry of shape `s`.
    pub fn cg(&self, s: usize) -> u64 {
        debug_assert!(s < self.shapes);
        Self::offset(self.shapes + s)
    }

    /// Byte offset of the entry of recorded sub-step `m`.
    pub fn substep(&self, m: usize) -> u64 {
        debug_assert!(m < self.substeps);
        Self::offset(2 * self.shapes + m)
    }
}

/// Every parameter struct with the shaders that use it.
pub fn layouts() -> Vec<(RustLayout, &'static [&'static str])> {
    vec![
        (XiRateParams::layout(), &["xi_rate"]),
        (AssembleParams::layout(), &["potential_assemble"]),
        (ElectronicParams::layout(), &["electronic_assemble"]),
        (CoupledParams::layout(), &["cg_coupled"]),
        (MgParams::layout(), &["mg_smooth", "mg_residual"]),
        (
            TransferParams::layout(),
            &["mg_coarsen", "mg_restrict", "mg_prolong"],
        ),
        (
            GridParams::layout(),
            &[
                "xi_update",
                "xi_gradient_rhs",
                "xi_gradient_finish",
                "copy",
                "cg_vectors",
                "range_check",
                "np_substep",
            ],
        ),
        (ReduceParams::layout(), &["reduce", "observables"]),
        (NoiseParams::layout(), &["xi_noise"]),
        (XiGradientParams::layout(), &["xi_gradient_operator"]),
        (ReactionParams::layout(), &["reaction_rate"]),
        (
            ConcParams::layout(),
            &["conc_update", "np_coefficients", "np_assemble", "np_finish"],
        ),
        (
            CreepParams::layout(),
            &["creep_assemble", "creep_finish", "creep_active_set"],
        ),
        (SolveParams::layout(), &["cg_control"]),
        (CollectorParams::layout(), &["collector"]),
        (StepParams::layout(), &["time_step"]),
        (StepLog::layout(), &["time_step"]),
        (
            Control::layout(),
            &[
                "reaction_rate",
                "conc_update",
                "np_substep",
                "np_assemble",
                "creep_assemble",
                "xi_update",
                "xi_noise",
                "xi_gradient_operator",
                "xi_gradient_rhs",
                "cg_vectors",
                "cg_control",
                "cg_coupled",
                "collector",
                "time_step",
            ],
        ),
    ]
}

impl XiRateParams {
    /// From the CPU kernel's parameters (f64 → f32; trigonometric and exponential constants
    /// evaluated on the host in f64).
    pub fn from_cpu(p: &cpu_xi_rate::XiRateParams) -> XiRateParams {
        XiRateParams {
            nx: p.nx as u32,
            ny: p.ny as u32,
            omega: p.omega,
            reaction_on: p.reaction_on as u32,
            inv_dx_m: p.inv_dx_m as f32,
            l_sigma: p.l_sigma as f32,
            w1: p.w1 as f32,
            a_cross: p.a_cross as f32,
            b_obstacle: p.b_obstacle as f32,
            obstacle_xi_threshold: cpu_xi_rate::OBSTACLE_XI_THRESHOLD as f32,
            kappa0: p.kappa0 as f32,
            delta: p.delta as f32,
            cos_theta0: p.theta0.cos() as f32,
            sin_theta0: p.theta0.sin() as f32,
            l_eta: p.l_eta as f32,
            f: p.f as f32,
            alpha: p.alpha as f32,
            beta: p.beta as f32,
            max_bv_overpotential_v: cpu_xi_rate::MAX_BV_OVERPOTENTIAL_V as f32,
            sharp_a: p.sharp_a as f32,
            exp_sharp_a: p.exp_sharp_a as f32,
            exp_minus_sharp_a: p.exp_minus_sharp_a as f32,
            room_obstacle: p.room_obstacle as u32,
            inv_nf_cs: p.inv_nf_cs as f32,
            ip_phi_lo: p.ip_phi_lo as f32,
            ip_phi_hi: p.ip_phi_hi as f32,
            // The device takes min(this, control.remaining): a caller that sets the control's
            // remaining time to the CPU's Δt_p (or more) gets the CPU kernel's factor.
            obstacle_dt_cap: p.obstacle_step_s as f32,
            nz: p.nz as u32,
        }
    }
}

impl AssembleParams {
    pub fn new(c: &Coefficients) -> AssembleParams {
        let dx2 = c.grid.dx_m * c.grid.dx_m;
        AssembleParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            form: form(c),
            liquid: c.liquid() as f32,
            q: (c.nf_c_mol * c.cs_mol_m3 * dx2) as f32,
            e0_v: c.e0_v as f32,
            sigma_p: c.sigma_p_s_m as f32,
            sigma_e: c.sigma_e_s_m as f32,
            sigma_floor: c.sigma_floor_s_m as f32,
            ip_phi_lo: c.interphase_phi_lo as f32,
            ip_phi_hi: c.interphase_phi_hi as f32,
            ip_ionic_k: c.ip_ionic_k as f32,
            nz: c.grid.nz as u32,
            ..Default::default()
        }
    }
}

impl ReactionParams {
    pub fn new(c: &Coefficients) -> ReactionParams {
        ReactionParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            form: form(c),
            nz: c.grid.nz as u32,
            e0_v: c.e0_v as f32,
            ..Default::default()
        }
    }
}

impl ConcParams {
    pub fn new(c: &Coefficients) -> ConcParams {
        ConcParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            form: form(c),
            inv_dx2: (1.0 / (c.grid.dx_m * c.grid.dx_m)) as f32,
            f: c.f_over_rt_per_v as f32,
            sink: (c.cs_mol_m3 / c.c0_mol_m3) as f32,
            d_p: c.d_p_m2_s as f32,
            d_e: c.d_e_m2_s as f32,
            floor: diffusivity_floor(c),
            ip_phi_lo: c.interphase_phi_lo as f32,
            ip_phi_hi: c.interphase_phi_hi as f32,
            ip_ionic_k: c.ip_ionic_k as f32,
            liquid: c.liquid() as f32,
            nz: c.grid.nz as u32,
            ..Default::default()
        }
    }
}

impl CreepParams {
    /// The creep flow `cr` on an nx × ny grid of `dx_m` (K/Δx² formed in f64, then rounded).
    pub fn new(nx: usize, ny: usize, dx_m: f64, cr: &CreepCoefficients) -> CreepParams {
        CreepParams {
            nx: nx as u32,
            ny: ny as u32,
            open_collector: cr.open_collector as u32,
            // Creep runs on 2D sections only.
            nz: 1,
            mobility_over_dx2: (cr.mobility_m2_pa_s / (dx_m * dx_m)) as f32,
            stack_pressure: cr.stack_pressure_pa as f32,
            penalty: cr.penalty as f32,
            pressure_floor: cpu_creep::PRESSURE_FLOOR as f32,
        }
    }
}

impl ElectronicParams {
    pub fn new(c: &Coefficients) -> ElectronicParams {
        let dx2 = c.grid.dx_m * c.grid.dx_m;
        ElectronicParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            q: (c.nf_c_mol * c.cs_mol_m3 * dx2) as f32,
            e0_v: c.e0_v as f32,
            sigma_e: c.sigma_e_s_m as f32,
            sigma_e_el: c.sigma_e_el_s_m as f32,
            sigma_floor: c.sigma_floor_s_m as f32,
            ip_phi_lo: c.interphase_phi_lo as f32,
            ip_phi_hi: c.interphase_phi_hi as f32,
            ip_forward: c.ip_forward_ohm_m as f32,
            ip_reverse: c.ip_reverse_ohm_m as f32,
            liquid: c.liquid() as f32,
            nz: c.grid.nz as u32,
            ..Default::default()
        }
    }
}

impl CoupledParams {
    /// The parameters of every entry but `shift_potentials`, on a grid of shape [nx, ny, nz].
    pub fn new([nx, ny, nz]: [usize; 3]) -> CoupledParams {
        CoupledParams {
            nx: nx as u32,
            ny: ny as u32,
            nz: nz as u32,
            ..Default::default()
        }
    }

    /// `shift_potentials` by `sign` × (1 if `unit`, else the control record's collector
    /// potential).
    pub fn shift(shape: [usize; 3], unit: bool, sign: f32) -> CoupledParams {
        CoupledParams {
            unit: unit as u32,
            sign,
            ..CoupledParams::new(shape)
        }
    }
}

impl CollectorParams {
    pub fn new(c: &Coefficients) -> CollectorParams {
        CollectorParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            galvanostatic: (c.control == ControlMode::Galvanostatic) as u32,
            electronic: (c.overpotential == OverpotentialForm::TwoPotential) as u32,
            target_current_a_m: c.target_current_a_m as f32,
            hold_voltage: c.held_voltage_v.is_some() as u32,
            held_voltage_v: c.held_voltage_v.unwrap_or(0.0) as f32,
            nz: c.grid.nz as u32,
        }
    }
}

impl GridParams {
    /// A 2D section of nx × ny cells.
    pub fn new(nx: usize, ny: usize) -> GridParams {
        GridParams::volume([nx, ny, 1])
    }

    /// A grid of shape [nx, ny, nz].
    pub fn volume([nx, ny, nz]: [usize; 3]) -> GridParams {
        GridParams {
            nx: nx as u32,
            ny: ny as u32,
            n: (nx * ny * nz) as u32,
            nz: nz as u32,
        }
    }
}

impl MgParams {
    /// A level of a 2D section (nz = 1), sweeping `colour`.
    pub fn new(nx: usize, ny: usize, colour: u32) -> MgParams {
        MgParams::sweep([nx, ny, 1], colour, false)
    }

    /// A level of shape [nx, ny, nz] sweeping `colour`; `last_section`: mg_smooth's second pass,
    /// over the last z-section when nz is odd and > 1 ([`smooth_passes`]).
    pub fn sweep([nx, ny, nz]: [usize; 3], colour: u32, last_section: bool) -> MgParams {
        MgParams {
            nx: nx as u32,
            ny: ny as u32,
            colour: colour | (u32::from(last_section) << 1),
            nz: nz as u32,
        }
    }
}

/// The length of an operator of shape [nx, ny, nz] as the shaders hold it,
/// [tx | ty | s | diag | tbot (nx·nz) | tz (n, when nz > 1)] (`shared/multigrid.wgsl`).
pub fn packed_operator_len([nx, ny, nz]: [usize; 3]) -> usize {
    let n = nx * ny * nz;
    4 * n + nx * nz + if nz > 1 { n } else { 0 }
}

/// mg_smooth's dispatches of one colour sweep on a level of shape [nx, ny, nz], in order:
/// (last_section, workgroups). One over every section, or, when nz is odd and > 1, one over
/// sections 0..nz−1 and one over the last (the CPU twin's order, `cpu::mg_smooth`).
pub fn smooth_passes([nx, ny, nz]: [usize; 3]) -> Vec<(bool, [u32; 3])> {
    let first = lipf_core::cpu::mg_smooth::rows_before_last_section(1, nz);
    let groups = |sections: usize| {
        [
            nx.div_ceil(16) as u32,
            ny.div_ceil(16) as u32,
            sections as u32,
        ]
    };
    let mut passes = vec![(false, groups(first))];
    if first < nz {
        passes.push((true, groups(1)));
    }
    passes
}

impl TransferParams {
    /// A 2D section's fine level nxf × nyf (nz = 1) and the next coarser one.
    pub fn new(nxf: usize, nyf: usize, scale: f32) -> TransferParams {
        TransferParams::between([nxf, nyf, 1], scale)
    }

    /// The fine level of shape [nxf, nyf, nzf] and the next coarser one.
    pub fn between([nxf, nyf, nzf]: [usize; 3], scale: f32) -> TransferParams {
        TransferParams {
            nxf: nxf as u32,
            nyf: nyf as u32,
            nxc: nxf.div_ceil(2) as u32,
            nyc: nyf.div_ceil(2) as u32,
            scale,
            nzf: nzf as u32,
            nzc: nzf.div_ceil(2) as u32,
            ..Default::default()
        }
    }
}

impl ReduceParams {
    /// A reduction over `n` values, with the solid electrolyte's room for `observables`.
    pub fn new(n: usize) -> ReduceParams {
        ReduceParams {
            n: n as u32,
            groups: crate::kernels::reduce_groups(n),
            solid: 1.0,
            ..Default::default()
        }
    }

    /// The same for `observables` in the electrolyte of `c` (s = 1 − λ).
    pub fn observables(n: usize, c: &Coefficients) -> ReduceParams {
        ReduceParams {
            solid: (1.0 - c.liquid()) as f32,
            ..ReduceParams::new(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_args_have_the_layout_wgpu_reads() {
        assert_eq!(std::mem::size_of::<DispatchArgs>(), 12);
        assert_eq!(std::mem::align_of::<DispatchArgs>(), 4);
        assert_eq!(std::mem::offset_of!(DispatchArgs, x), 0);
        assert_eq!(std::mem::offset_of!(DispatchArgs, y), 4);
        assert_eq!(std::mem::offset_of!(DispatchArgs, z), 8);
        let wgpu_args = wgpu::util::DispatchIndirectArgs { x: 7, y: 8, z: 9 };
        let ours = DispatchArgs { x: 7, y: 8, z: 9 };
        assert_eq!(bytemuck::bytes_of(&ours), wgpu_args.as_bytes());
        assert_eq!(DISPATCH_ARGS_WORDS, 3);
    }

    #[test]
    fn indirect_table_parts_follow_each_other() {
        let t = IndirectTable {
            shapes: 5,
            substeps: 3,
        };
        assert_eq!(t.entries(), 13);
        assert_eq!(t.size_bytes(), 13 * 12);
        assert_eq!(t.step(0), 0);
        assert_eq!(t.step(4), 4 * 12);
        assert_eq!(t.cg(0), 5 * 12);
        assert_eq!(t.cg(4), 9 * 12);
        assert_eq!(t.substep(0), 10 * 12);
        assert_eq!(t.substep(2), 12 * 12);
        // The word offsets of shared/indirect.wgsl: cg_args_base = 3 S, substep_args_base = 6 S.
        assert_eq!(t.cg(0), 4 * (DISPATCH_ARGS_WORDS as u64) * 5);
        assert_eq!(t.substep(0), 4 * 2 * (DISPATCH_ARGS_WORDS as u64) * 5);
    }

    #[test]
    fn form_codes_are_distinct() {
        let codes: std::collections::BTreeSet<u32> =
            OVERPOTENTIAL_FORMS.iter().map(|&(_, v)| v).collect();
        assert_eq!(codes.len(), OVERPOTENTIAL_FORMS.len());
    }

    #[test]
    fn control_flags_are_distinct_bits() {
        let mut all = 0;
        for &(name, bit) in CONTROL_FLAGS {
            assert!(bit.is_power_of_two(), "{name} = {bit} is not one bit");
            assert_eq!(all & bit, 0, "{name} = {bit} reuses a bit");
            all |= bit;
        }
    }
}
