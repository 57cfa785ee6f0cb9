//! `#[repr(C)]` twins of the WGSL parameter structs and of the device-side control records.
//! `tests/gpu_checks.rs` compares each with the layout naga computes for the WGSL declaration
//! (size and every member's offset) in every shader that declares it.

use bytemuck::{Pod, Zeroable};
use lipf_core::config::{ControlMode, OverpotentialForm};
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
        exp_sharp_a: f32, exp_minus_sharp_a: f32, _pad0: u32, _pad1: u32,
    }
);

gpu_struct!(
    /// Twin of `AssembleParams` in `shaders/potential_assemble.wgsl`.
    AssembleParams {
        nx: u32, ny: u32, consistent: u32, _pad0: u32,
        q: f32, e0_v: f32, sigma_p: f32, sigma_e: f32,
        sigma_floor: f32, _pad1: f32, _pad2: f32, _pad3: f32,
    }
);

gpu_struct!(
    /// Twin of `MgParams` in `shaders/mg_smooth.wgsl` and `shaders/mg_residual.wgsl`.
    MgParams { nx: u32, ny: u32, colour: u32, _pad0: u32 }
);

gpu_struct!(
    /// Twin of `TransferParams` in `shaders/mg_coarsen.wgsl`, `mg_restrict.wgsl`,
    /// `mg_prolong.wgsl`.
    TransferParams {
        nxf: u32, nyf: u32, nxc: u32, nyc: u32,
        scale: f32, _pad0: u32, _pad1: u32, _pad2: u32,
    }
);

gpu_struct!(
    /// Twin of `GridParams` in `shaders/xi_update.wgsl`, `copy.wgsl`, `cg_vectors.wgsl`,
    /// `range_check.wgsl`.
    GridParams { nx: u32, ny: u32, n: u32, _pad0: u32 }
);

gpu_struct!(
    /// Twin of `ReduceParams` in `shaders/reduce.wgsl` and `shaders/observables.wgsl`.
    ReduceParams { n: u32, groups: u32, _pad0: u32, _pad1: u32 }
);

gpu_struct!(
    /// Twin of `ReactionParams` in `shaders/reaction_rate.wgsl`.
    ReactionParams {
        nx: u32, ny: u32, consistent: u32, _pad0: u32,
        e0_v: f32, _pad1: f32, _pad2: f32, _pad3: f32,
    }
);

gpu_struct!(
    /// Twin of `ConcParams` in `shaders/conc_update.wgsl`.
    ConcParams {
        nx: u32, ny: u32, consistent: u32, _pad0: u32,
        inv_dx2: f32, f: f32, sink: f32, d_p: f32,
        d_e: f32, _pad1: f32, _pad2: f32, _pad3: f32,
    }
);

gpu_struct!(
    /// Twin of `SolveParams` in `shaders/cg_control.wgsl`.
    SolveParams { tol: f32, solve: u32, partials: u32, shapes: u32 }
);

gpu_struct!(
    /// Twin of `CollectorParams` in `shaders/collector.wgsl`.
    CollectorParams {
        nx: u32, ny: u32, galvanostatic: u32, _pad0: u32,
        target_current_a_m: f32, _pad1: f32, _pad2: f32, _pad3: f32,
    }
);

gpu_struct!(
    /// Twin of `StepParams` in `shaders/time_step.wgsl`.
    StepParams {
        nx: u32, ny: u32, n: u32, groups: u32,
        consistent: u32, shapes: u32, max_steps: u32, substeps_recorded: u32,
        dt_stable: f32, dt_np: f32, max_xi_change: f32, max_dt: f32,
        inv_dx2: f32, f: f32, d_p: f32, d_e: f32,
        land_tolerance: f32, _pad0: u32, _pad1: u32, _pad2: u32,
    }
);

gpu_struct!(
    /// Twin of `StepLog` in `shaders/time_step.wgsl`: one step of a batch.
    StepLog {
        dt: f32, current_a_m: f32, v_collector: f32, iterations: u32,
        max_solve_iterations: u32, substeps: u32, _pad0: u32, _pad1: u32,
    }
);

gpu_struct!(
    /// Twin of `Control` (declared in every shader that binds it): the device-side scalars of
    /// the running batch.
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
        /// 1: galvanostatic control impossible (I1 = 0); 2: CG breakdown; 4: more
        /// Nernst–Planck sub-steps needed than were recorded.
        flags: u32,
        /// Nernst–Planck sub-steps of the current step and their length, s.
        substeps: u32,
        dt_sub: f32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
);

/// Every parameter struct with the shaders that declare it.
pub fn layouts() -> Vec<(RustLayout, &'static [&'static str])> {
    vec![
        (XiRateParams::layout(), &["xi_rate"]),
        (AssembleParams::layout(), &["potential_assemble"]),
        (MgParams::layout(), &["mg_smooth", "mg_residual"]),
        (
            TransferParams::layout(),
            &["mg_coarsen", "mg_restrict", "mg_prolong"],
        ),
        (
            GridParams::layout(),
            &[
                "xi_update",
                "copy",
                "cg_vectors",
                "range_check",
                "np_substep",
            ],
        ),
        (ReduceParams::layout(), &["reduce", "observables"]),
        (ReactionParams::layout(), &["reaction_rate"]),
        (ConcParams::layout(), &["conc_update", "np_coefficients"]),
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
                "xi_update",
                "cg_vectors",
                "cg_control",
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
            ..Default::default()
        }
    }
}

fn consistent(c: &Coefficients) -> u32 {
    (c.overpotential == OverpotentialForm::Consistent) as u32
}

impl AssembleParams {
    pub fn new(c: &Coefficients) -> AssembleParams {
        let dx2 = c.grid.dx_m * c.grid.dx_m;
        AssembleParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            consistent: consistent(c),
            q: (c.nf_c_mol * c.cs_mol_m3 * dx2) as f32,
            e0_v: c.e0_v as f32,
            sigma_p: c.sigma_p_s_m as f32,
            sigma_e: c.sigma_e_s_m as f32,
            sigma_floor: c.sigma_floor_s_m as f32,
            ..Default::default()
        }
    }
}

impl ReactionParams {
    pub fn new(c: &Coefficients) -> ReactionParams {
        ReactionParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            consistent: consistent(c),
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
            consistent: consistent(c),
            inv_dx2: (1.0 / (c.grid.dx_m * c.grid.dx_m)) as f32,
            f: c.f_over_rt_per_v as f32,
            sink: (c.cs_mol_m3 / c.c0_mol_m3) as f32,
            d_p: c.d_p_m2_s as f32,
            d_e: c.d_e_m2_s as f32,
            ..Default::default()
        }
    }
}

impl CollectorParams {
    pub fn new(c: &Coefficients) -> CollectorParams {
        CollectorParams {
            nx: c.grid.nx as u32,
            ny: c.grid.ny as u32,
            galvanostatic: (c.control == ControlMode::Galvanostatic) as u32,
            target_current_a_m: c.target_current_a_m as f32,
            ..Default::default()
        }
    }
}

impl GridParams {
    pub fn new(nx: usize, ny: usize) -> GridParams {
        GridParams {
            nx: nx as u32,
            ny: ny as u32,
            n: (nx * ny) as u32,
            _pad0: 0,
        }
    }
}

impl MgParams {
    pub fn new(nx: usize, ny: usize, colour: u32) -> MgParams {
        MgParams {
            nx: nx as u32,
            ny: ny as u32,
            colour,
            _pad0: 0,
        }
    }
}

impl TransferParams {
    pub fn new(nxf: usize, nyf: usize, scale: f32) -> TransferParams {
        TransferParams {
            nxf: nxf as u32,
            nyf: nyf as u32,
            nxc: nxf.div_ceil(2) as u32,
            nyc: nyf.div_ceil(2) as u32,
            scale,
            ..Default::default()
        }
    }
}

impl ReduceParams {
    pub fn new(n: usize) -> ReduceParams {
        ReduceParams {
            n: n as u32,
            groups: crate::kernels::reduce_groups(n),
            ..Default::default()
        }
    }
}
