//! CPU twins of the impedance WGSL kernels (`shaders/impedance_*.wgsl`), one file per shader
//! with the same name, and the COCG driver the GPU solver shares with them.
//!
//! The device solver ([`crate::gpu::GpuCocg`]) and [`TwinCocg`] run the same sequence of
//! kernels through [`CocgMachine`] and the same host loop [`drive_cocg`]: the twin is the
//! device algorithm on plain Rust data (tests compare every kernel with its twin, and the twin
//! solver with the sparse LU without needing an adapter).
//!
//! One solve: `bond_admittance`, `assemble_node`, then a start (`residual` r = b − A·x,
//! `finish_init`, `update_p` p = M⁻¹r), then batches of iterations
//! (`apply_dot` q = A·p, `finish_alpha`, `update_xr`, `finish_beta`, `update_p`) with the
//! control read back after each batch. When the recursive residual reaches the tolerance, a
//! restart from x computes the true residual: accepted when ≤ 10·tol (as the CPU `Krylov`
//! solver), otherwise the iteration goes on from the restart.

pub mod impedance_apply;
pub mod impedance_cocg;

use crate::solver::{FrequencySolver, FrequencySystem, SolveStats, SolverError};
use impedance_apply::NetworkLayout;
use num_complex::Complex64 as C64;

/// Workgroup size of every impedance kernel.
pub const WORKGROUP: usize = 256;
/// Largest number of workgroups (and of partial sums) of one dispatch.
pub const MAX_GROUPS: usize = 1024;

/// `CocgControl::state` values.
pub const RUNNING: u32 = 0;
pub const CONVERGED: u32 = 1;
pub const BREAKDOWN: u32 = 2;
pub const LIMIT: u32 = 3;

/// Parameters of every impedance kernel (twin of WGSL `ImpedanceParams`, uniform).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ImpedanceParams {
    pub n: u32,
    pub n_bonds: u32,
    pub groups: u32,
    pub max_iter: u32,
    pub omega: f64,
    pub tol: f64,
    pub accept_tol: f64,
    pub _pad0: f64,
}

/// Device-side scalars of one solve (twin of WGSL `CocgControl`, storage).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CocgControl {
    pub rho: [f64; 2],
    pub alpha: [f64; 2],
    pub beta: [f64; 2],
    pub rr: f64,
    pub bb: f64,
    pub iterations: u32,
    pub state: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

impl CocgControl {
    /// ‖r‖/‖b‖ of the last residual the control saw.
    pub fn relative_residual(&self) -> f64 {
        (self.rr / self.bb.max(f64::MIN_POSITIVE)).sqrt()
    }
}

/// One struct's layout: (name, [(field, offset)], size).
pub type StructLayout = (&'static str, Vec<(&'static str, usize)>, usize);

/// (name, [(field, offset)], size) of the Rust twins of the WGSL structs, for layout checks.
pub fn layouts() -> Vec<StructLayout> {
    use std::mem::{offset_of, size_of};
    vec![
        (
            "ImpedanceParams",
            vec![
                ("n", offset_of!(ImpedanceParams, n)),
                ("n_bonds", offset_of!(ImpedanceParams, n_bonds)),
                ("groups", offset_of!(ImpedanceParams, groups)),
                ("max_iter", offset_of!(ImpedanceParams, max_iter)),
                ("omega", offset_of!(ImpedanceParams, omega)),
                ("tol", offset_of!(ImpedanceParams, tol)),
                ("accept_tol", offset_of!(ImpedanceParams, accept_tol)),
                ("_pad0", offset_of!(ImpedanceParams, _pad0)),
            ],
            size_of::<ImpedanceParams>(),
        ),
        (
            "CocgControl",
            vec![
                ("rho", offset_of!(CocgControl, rho)),
                ("alpha", offset_of!(CocgControl, alpha)),
                ("beta", offset_of!(CocgControl, beta)),
                ("rr", offset_of!(CocgControl, rr)),
                ("bb", offset_of!(CocgControl, bb)),
                ("iterations", offset_of!(CocgControl, iterations)),
                ("state", offset_of!(CocgControl, state)),
                ("_pad0", offset_of!(CocgControl, _pad0)),
                ("_pad1", offset_of!(CocgControl, _pad1)),
            ],
            size_of::<CocgControl>(),
        ),
    ]
}

/// Workgroups of a grid-stride dispatch over `items` (at least 1, at most [`MAX_GROUPS`]); every
/// kernel of a network uses the count of its nodes (bond_admittance strides over the bonds).
pub fn groups_for(items: usize) -> u32 {
    items.div_ceil(WORKGROUP).clamp(1, MAX_GROUPS) as u32
}

/// The workgroup whose grid-stride loop visits item `i`.
pub fn group_of(i: usize, groups: u32) -> usize {
    (i / WORKGROUP) % groups as usize
}

/// The kernel sequence of one COCG solve, on some machine (the device or its CPU twin).
pub trait CocgMachine {
    /// Sets ω, the tolerance and the iteration limit, the initial guess `x`, zeroes the control;
    /// runs bond_admittance, assemble_node and a start (accepting ‖r‖ ≤ tol·‖b‖); returns the
    /// control.
    fn start(&mut self, omega: f64, tol: f64, max_iter: u32, x: &[C64]) -> CocgControl;
    /// A restart from the current x (true residual), accepting ‖r‖ ≤ accept_tol·‖b‖.
    fn restart(&mut self, accept_tol: f64) -> CocgControl;
    /// `k` COCG iterations (those after convergence change nothing); returns the control.
    fn iterate(&mut self, k: usize) -> CocgControl;
    /// The current x.
    fn solution(&mut self, x: &mut [C64]);
}

/// The host loop of one solve: start, batches of `batch` iterations, the true-residual check.
/// Solves into `x` (initial guess on entry).
pub fn drive_cocg(
    m: &mut dyn CocgMachine,
    omega: f64,
    tol: f64,
    max_iter: usize,
    batch: usize,
    x: &mut [C64],
) -> Result<SolveStats, SolverError> {
    crate::solver::validate_krylov_settings(tol, max_iter)?;
    let f_hz = omega / (2.0 * std::f64::consts::PI);
    let max_iter = max_iter.clamp(1, u32::MAX as usize) as u32;
    let mut ctl = m.start(omega, tol, max_iter, x);
    // Whether ctl.rr is a true residual b − A·x (after a start) or the recursive one.
    let mut true_residual = true;
    loop {
        match ctl.state {
            CONVERGED if true_residual => {
                m.solution(x);
                return Ok(SolveStats {
                    iterations: ctl.iterations as usize,
                    relative_residual: ctl.relative_residual(),
                });
            }
            CONVERGED => {
                ctl = m.restart(10.0 * tol);
                true_residual = true;
            }
            RUNNING if !ctl.relative_residual().is_finite() => {
                return Err(SolverError::NonFinite {
                    method: "COCG (device)",
                    iterations: ctl.iterations as usize,
                    f_hz,
                    residual: ctl.relative_residual(),
                })
            }
            RUNNING if ctl.iterations >= max_iter => {
                return Err(SolverError::NotConverged {
                    method: "COCG (device)",
                    iterations: ctl.iterations as usize,
                    f_hz,
                    residual: ctl.relative_residual(),
                })
            }
            RUNNING => {
                ctl = m.iterate(batch.max(1));
                true_residual = false;
            }
            BREAKDOWN => {
                return Err(SolverError::Breakdown {
                    method: "COCG (device)",
                    f_hz,
                })
            }
            _ => {
                return Err(SolverError::NotConverged {
                    method: "COCG (device)",
                    iterations: ctl.iterations as usize,
                    f_hz,
                    residual: ctl.relative_residual(),
                })
            }
        }
    }
}

/// The device algorithm run by the CPU twins: every vector and scalar of the GPU solver, on
/// the host.
pub struct TwinMachine {
    pub layout: NetworkLayout,
    pub params: ImpedanceParams,
    pub control: CocgControl,
    pub y_bond: Vec<C64>,
    pub dinv: Vec<[C64; 2]>,
    pub rhs: Vec<C64>,
    pub x: Vec<C64>,
    pub r: Vec<C64>,
    pub p: Vec<C64>,
    pub q: Vec<C64>,
    pub partials: Vec<[f64; 4]>,
}

impl TwinMachine {
    pub fn new(layout: NetworkLayout) -> TwinMachine {
        let n = layout.n;
        let z = C64::new(0.0, 0.0);
        TwinMachine {
            params: ImpedanceParams {
                n: n as u32,
                n_bonds: layout.n_bonds() as u32,
                groups: groups_for(n),
                ..Default::default()
            },
            control: CocgControl::default(),
            y_bond: vec![z; layout.n_bonds()],
            dinv: vec![[z; 2]; n],
            rhs: vec![z; n],
            x: vec![z; n],
            r: vec![z; n],
            p: vec![z; n],
            q: vec![z; n],
            partials: vec![[0.0; 4]; MAX_GROUPS],
            layout,
        }
    }

    fn restart_steps(&mut self) {
        let (p, l) = (&self.params, &self.layout);
        impedance_apply::residual(
            p,
            &self.y_bond,
            &l.node_ptr,
            &l.adj,
            &self.dinv,
            &self.rhs,
            &self.x,
            &mut self.r,
            &mut self.partials,
        );
        impedance_cocg::finish_init(p, &self.partials, &mut self.control);
        impedance_cocg::update_p(p, &self.control, &self.dinv, &self.r, &mut self.p);
    }
}

impl CocgMachine for TwinMachine {
    fn start(&mut self, omega: f64, tol: f64, max_iter: u32, x: &[C64]) -> CocgControl {
        self.params.omega = omega;
        self.params.tol = tol;
        self.params.accept_tol = tol;
        self.params.max_iter = max_iter;
        self.control = CocgControl::default();
        self.x.copy_from_slice(x);
        let (p, l) = (&self.params, &self.layout);
        impedance_apply::bond_admittance(p, &l.elems, &l.bond_n, &mut self.y_bond);
        impedance_apply::assemble_node(
            p,
            &l.node_ptr,
            &l.adj,
            &self.y_bond,
            &mut self.dinv,
            &mut self.rhs,
        );
        self.restart_steps();
        self.control
    }

    fn restart(&mut self, accept_tol: f64) -> CocgControl {
        self.params.accept_tol = accept_tol;
        self.restart_steps();
        self.control
    }

    fn iterate(&mut self, k: usize) -> CocgControl {
        for _ in 0..k {
            let (p, l) = (&self.params, &self.layout);
            impedance_apply::apply_dot(
                p,
                &self.y_bond,
                &l.node_ptr,
                &l.adj,
                &self.dinv,
                &self.p,
                &mut self.q,
                &mut self.partials,
            );
            impedance_cocg::finish_alpha(p, &self.partials, &mut self.control);
            impedance_cocg::update_xr(
                p,
                &self.control,
                &self.dinv,
                &mut self.x,
                &mut self.r,
                &self.p,
                &self.q,
                &mut self.partials,
            );
            impedance_cocg::finish_beta(p, &self.partials, &mut self.control);
            impedance_cocg::update_p(p, &self.control, &self.dinv, &self.r, &mut self.p);
        }
        self.control
    }

    fn solution(&mut self, x: &mut [C64]) {
        x.copy_from_slice(&self.x);
    }
}

/// The GPU solver's algorithm on the CPU twins (sequential; for tests and as a reference of the
/// device's arithmetic, not for speed). Warm-started with the incoming `v`.
pub struct TwinCocg {
    pub tol: f64,
    pub max_iter: usize,
    /// Iterations between two reads of the control (as on the device).
    pub batch: usize,
    machine: Option<(usize, TwinMachine)>,
}

impl Default for TwinCocg {
    fn default() -> Self {
        TwinCocg {
            tol: 1e-10,
            max_iter: 200_000,
            batch: 32,
            machine: None,
        }
    }
}

impl TwinCocg {
    pub fn new() -> TwinCocg {
        TwinCocg::default()
    }
}

impl FrequencySolver for TwinCocg {
    fn name(&self) -> String {
        format!(
            "COCG + Jacobi, CPU twin of the WGSL kernels (tol {:.0e}, warm start)",
            self.tol
        )
    }

    fn solve(&mut self, sys: &FrequencySystem, v: &mut [C64]) -> Result<SolveStats, SolverError> {
        let key = network_fingerprint(sys.network);
        if self.machine.as_ref().is_none_or(|(k, _)| *k != key) {
            self.machine = Some((key, TwinMachine::new(NetworkLayout::new(sys.network))));
        }
        let m = &mut self.machine.as_mut().unwrap().1;
        drive_cocg(m, sys.omega, self.tol, self.max_iter, self.batch, v)
    }
}

/// A hash of everything of the network the device layout depends on (sizes, bond ends,
/// elements): a solver keeps its device copy of the network while the fingerprint is unchanged.
pub fn network_fingerprint(net: &crate::network::Network) -> usize {
    use rayon::prelude::*;
    use std::hash::{Hash, Hasher};
    let bonds: u64 = net
        .bonds
        .par_iter()
        .enumerate()
        .with_min_len(4096)
        .map(|(k, b)| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (k, b.a, b.b, b.n).hash(&mut h);
            for e in &b.elems[..b.n as usize] {
                (e.g.to_bits(), e.c.to_bits()).hash(&mut h);
            }
            h.finish()
        })
        .reduce(|| 0u64, |a, b| a.wrapping_add(b));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (net.n, net.bonds.len(), bonds).hash(&mut h);
    h.finish() as usize
}
