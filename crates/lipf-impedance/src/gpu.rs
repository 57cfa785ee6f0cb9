//! The GPU impedance solver: Jacobi-preconditioned COCG in WGSL (`shaders/impedance_apply.wgsl`,
//! `shaders/impedance_cocg.wgsl`), f64 complex arithmetic on the device, warm-started along the
//! sweep.
//!
//! The network (bond elements and per-node adjacency) is uploaded once per network and stays
//! resident with every vector of the iteration; per frequency the host writes ω and the initial
//! guess, the device computes the bond admittances, the diagonal and the right-hand side, and
//! runs batches of [`GpuCocg::batch`] iterations per submission (five dispatches each: the
//! operator apply fused with pᵀq, α, the x/r update fused with rᵀz and ‖r‖², β, the p update).
//! The host reads the 80-byte control block after each batch, and the potentials once per
//! frequency (the sweep forms the currents from them).
//!
//! f64 on the device needs `wgpu::Features::SHADER_F64`. An adapter without it is refused with
//! an error ([`GpuSolverError::NoF64`]): in f32 the solver could not reach the 10⁻¹⁰ residual
//! the sweep asks for, nor the 10⁻⁶ agreement with the sparse LU. Software adapters (lavapipe)
//! are taken when allowed; they support f64 arithmetic and run the same WGSL on the CPU.

use crate::kernels::impedance_apply::NetworkLayout;
use crate::kernels::{
    drive_cocg, groups_for, network_fingerprint, CocgControl, CocgMachine, ImpedanceParams,
    MAX_GROUPS,
};
use crate::solver::{FrequencySolver, FrequencySystem, SolveStats, SolverError};
use lipf_gpu::device::{is_software, GpuContext};
pub use lipf_gpu::device::{AdapterRequest, AdapterSummary};
use lipf_gpu::kernels::{Kernel, KernelId, Modules};
use lipf_gpu::GpuError;
use num_complex::Complex64 as C64;
use std::sync::Arc;

/// Why the GPU solver cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GpuSolverError {
    #[error("no adapter for the GPU impedance solver: wanted {wanted}; adapters present: {seen}. Check the GPU driver (Vulkan on Linux), or use `--solver cocg`")]
    NoAdapter { wanted: String, seen: String },
    #[error("{adapter} does not support f64 in shaders (SHADER_F64); the GPU impedance solver needs f64 to reach the sweep's 1e-10 residual. Use `--solver cocg`, or pick another adapter with `--adapter`")]
    NoF64 { adapter: String },
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

fn kind_name(info: &wgpu::AdapterInfo) -> &'static str {
    if is_software(info) {
        return "software (CPU)";
    }
    match info.device_type {
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Cpu => "software (CPU)",
        wgpu::DeviceType::Other => "other",
    }
}

fn summary(a: &wgpu::Adapter) -> AdapterSummary {
    let info = a.get_info();
    let l = a.limits();
    AdapterSummary {
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        kind: kind_name(&info).to_string(),
        software: is_software(&info),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
        max_buffer_size: l.max_buffer_size,
        max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
        max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
        max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
        max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
    }
}

/// Opens a device with `SHADER_F64` on the adapter `req` selects (the ranking of
/// `lipf_gpu::GpuContext::new`: hardware before software, discrete before integrated; software
/// only when allowed; filtered by name). Among the eligible adapters the first one with f64 is
/// taken; when none has it, [`GpuSolverError::NoF64`] names the best one.
pub fn open_f64_device(req: &AdapterRequest) -> Result<GpuContext, GpuSolverError> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    let inst = wgpu::Instance::new(desc);
    let adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
    let seen: Vec<String> = adapters.iter().map(|a| summary(a).label()).collect();
    let rank = |a: &wgpu::Adapter| -> u32 {
        let info = a.get_info();
        if is_software(&info) {
            return 3;
        }
        match info.device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            _ => 2,
        }
    };
    let mut candidates: Vec<wgpu::Adapter> = adapters
        .into_iter()
        .filter(|a| {
            let info = a.get_info();
            (req.allow_software || !is_software(&info))
                && req
                    .name_contains
                    .as_ref()
                    .is_none_or(|s| info.name.to_lowercase().contains(&s.to_lowercase()))
        })
        .collect();
    candidates.sort_by_key(rank);
    let Some(best) = candidates.first() else {
        let mut wanted = if req.allow_software {
            "any adapter".to_string()
        } else {
            "a hardware GPU".to_string()
        };
        if let Some(n) = &req.name_contains {
            wanted.push_str(&format!(" whose name contains `{n}`"));
        }
        return Err(GpuSolverError::NoAdapter {
            wanted,
            seen: if seen.is_empty() {
                "none".into()
            } else {
                seen.join("; ")
            },
        });
    };
    let adapter = match candidates
        .iter()
        .find(|a| a.features().contains(wgpu::Features::SHADER_F64))
    {
        Some(a) => a.clone(),
        None => {
            return Err(GpuSolverError::NoF64 {
                adapter: summary(best).label(),
            })
        }
    };
    let adapter_summary = summary(&adapter);
    let limits = adapter.limits();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("lipf-impedance"),
        required_features: wgpu::Features::SHADER_F64,
        required_limits: limits.clone(),
        ..Default::default()
    }))
    .map_err(|e| GpuError::Device(format!("{}: {e}", adapter_summary.label())))?;
    Ok(GpuContext {
        device,
        queue,
        adapter: adapter_summary,
        limits,
    })
}

/// One kernel of the solver (the entry points of the two shaders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    BondAdmittance,
    AssembleNode,
    /// q = A·p, partials pᵀq.
    ApplyDot,
    /// r = b − A·x, partials (rᵀz, ‖r‖², ‖b‖²).
    Residual,
    FinishInit,
    FinishAlpha,
    FinishBeta,
    UpdateXr,
    UpdateP,
}

/// The device vectors of one complex value per node (or per bond for `YBond`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vector {
    YBond,
    Rhs,
    X,
    R,
    P,
    Q,
}

struct Kernels {
    bond_admittance: Kernel,
    assemble_node: Kernel,
    apply_dot: Kernel,
    residual: Kernel,
    finish_init: Kernel,
    finish_alpha: Kernel,
    finish_beta: Kernel,
    update_xr: Kernel,
    update_p: Kernel,
}

/// The f64 device and the solver's pipelines, shared by the networks solved on it.
pub struct ImpedanceDevice {
    pub ctx: GpuContext,
    k: Kernels,
}

impl ImpedanceDevice {
    pub fn new(req: &AdapterRequest) -> Result<Arc<ImpedanceDevice>, GpuSolverError> {
        let ctx = open_f64_device(req)?;
        let need = 8;
        if ctx.limits.max_storage_buffers_per_shader_stage < need {
            return Err(GpuError::LimitExceeded {
                what: "the residual kernel".into(),
                needed: need as u64,
                limit_name: "max_storage_buffers_per_shader_stage",
                limit: ctx.limits.max_storage_buffers_per_shader_stage as u64,
                adapter: ctx.adapter.label(),
            }
            .into());
        }
        let mut m = Modules::default();
        let k = Kernels {
            bond_admittance: Kernel::new(&ctx, &mut m, KernelId::ImpedanceBondAdmittance)?,
            assemble_node: Kernel::new(&ctx, &mut m, KernelId::ImpedanceAssembleNode)?,
            apply_dot: Kernel::new(&ctx, &mut m, KernelId::ImpedanceApplyDot)?,
            residual: Kernel::new(&ctx, &mut m, KernelId::ImpedanceResidual)?,
            finish_init: Kernel::new(&ctx, &mut m, KernelId::ImpedanceFinishInit)?,
            finish_alpha: Kernel::new(&ctx, &mut m, KernelId::ImpedanceFinishAlpha)?,
            finish_beta: Kernel::new(&ctx, &mut m, KernelId::ImpedanceFinishBeta)?,
            update_xr: Kernel::new(&ctx, &mut m, KernelId::ImpedanceUpdateXr)?,
            update_p: Kernel::new(&ctx, &mut m, KernelId::ImpedanceUpdateP)?,
        };
        Ok(Arc::new(ImpedanceDevice { ctx, k }))
    }
}

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// One network resident on the device, with every vector and scalar of the iteration.
pub struct GpuMachine {
    dev: Arc<ImpedanceDevice>,
    pub params: ImpedanceParams,
    n: usize,
    n_bonds: usize,
    params_buf: wgpu::Buffer,
    y_bond: wgpu::Buffer,
    dinv: wgpu::Buffer,
    rhs: wgpu::Buffer,
    x: wgpu::Buffer,
    r: wgpu::Buffer,
    p: wgpu::Buffer,
    q: wgpu::Buffer,
    partials: wgpu::Buffer,
    control: wgpu::Buffer,
    staging: wgpu::Buffer,
    bg: Vec<(Step, wgpu::BindGroup)>,
    /// Submissions (batches) since the machine was made.
    pub submissions: usize,
}

impl GpuMachine {
    pub fn new(dev: Arc<ImpedanceDevice>, l: &NetworkLayout) -> Result<GpuMachine, GpuError> {
        let ctx = &dev.ctx;
        let n = l.n;
        let nb = l.n_bonds();
        let make = |what: &str, bytes: u64| -> Result<wgpu::Buffer, GpuError> {
            ctx.check_storage_buffer(what, bytes)?;
            Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(what),
                size: bytes.max(32).div_ceil(16) * 16,
                usage: USAGE,
                mapped_at_creation: false,
            }))
        };
        let upload = |what: &str, bytes: &[u8]| -> Result<wgpu::Buffer, GpuError> {
            let b = make(what, bytes.len() as u64)?;
            ctx.queue.write_buffer(&b, 0, bytes);
            Ok(b)
        };
        let elems = upload("elems", bytemuck::cast_slice(&l.elems))?;
        let bond_n = upload("bond_n", bytemuck::cast_slice(&l.bond_n))?;
        let node_ptr = upload("node_ptr", bytemuck::cast_slice(&l.node_ptr))?;
        let adj = upload("adj", bytemuck::cast_slice(&l.adj))?;
        let c16 = 16u64;
        let y_bond = make("y_bond", c16 * nb as u64)?;
        let dinv = make("dinv", 2 * c16 * n as u64)?;
        let rhs = make("rhs", c16 * n as u64)?;
        let x = make("x", c16 * n as u64)?;
        let r = make("r", c16 * n as u64)?;
        let p = make("p", c16 * n as u64)?;
        let q = make("q", c16 * n as u64)?;
        let partials = make("partials", 32 * MAX_GROUPS as u64)?;
        let control = make("control", std::mem::size_of::<CocgControl>() as u64)?;
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("control readback"),
            size: std::mem::size_of::<CocgControl>() as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let params = ImpedanceParams {
            n: n as u32,
            n_bonds: nb as u32,
            groups: groups_for(n),
            ..Default::default()
        };
        let params_buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("impedance params"),
            size: std::mem::size_of::<ImpedanceParams>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue
            .write_buffer(&params_buf, 0, bytemuck::bytes_of(&params));
        let k = &dev.k;
        let pb = &params_buf;
        let bg = vec![
            (
                Step::BondAdmittance,
                k.bond_admittance.bind(ctx, &[pb, &elems, &bond_n, &y_bond]),
            ),
            (
                Step::AssembleNode,
                k.assemble_node
                    .bind(ctx, &[pb, &y_bond, &node_ptr, &adj, &dinv, &rhs]),
            ),
            (
                Step::ApplyDot,
                k.apply_dot.bind(
                    ctx,
                    &[pb, &y_bond, &node_ptr, &adj, &dinv, &p, &q, &partials],
                ),
            ),
            (
                Step::Residual,
                k.residual.bind(
                    ctx,
                    &[pb, &y_bond, &node_ptr, &adj, &dinv, &rhs, &x, &r, &partials],
                ),
            ),
            (
                Step::FinishInit,
                k.finish_init.bind(ctx, &[pb, &partials, &control]),
            ),
            (
                Step::FinishAlpha,
                k.finish_alpha.bind(ctx, &[pb, &partials, &control]),
            ),
            (
                Step::FinishBeta,
                k.finish_beta.bind(ctx, &[pb, &partials, &control]),
            ),
            (
                Step::UpdateXr,
                k.update_xr
                    .bind(ctx, &[pb, &partials, &control, &dinv, &x, &r, &p, &q]),
            ),
            (
                Step::UpdateP,
                k.update_p.bind(ctx, &[pb, &control, &dinv, &r, &p]),
            ),
        ];
        drop((elems, bond_n, node_ptr, adj)); // kept alive by the bind groups
        Ok(GpuMachine {
            dev,
            params,
            n,
            n_bonds: nb,
            params_buf,
            y_bond,
            dinv,
            rhs,
            x,
            r,
            p,
            q,
            partials,
            control,
            staging,
            bg,
            submissions: 0,
        })
    }

    fn kernel(&self, s: Step) -> &Kernel {
        let k = &self.dev.k;
        match s {
            Step::BondAdmittance => &k.bond_admittance,
            Step::AssembleNode => &k.assemble_node,
            Step::ApplyDot => &k.apply_dot,
            Step::Residual => &k.residual,
            Step::FinishInit => &k.finish_init,
            Step::FinishAlpha => &k.finish_alpha,
            Step::FinishBeta => &k.finish_beta,
            Step::UpdateXr => &k.update_xr,
            Step::UpdateP => &k.update_p,
        }
    }

    fn buffer(&self, v: Vector) -> (&wgpu::Buffer, usize) {
        match v {
            Vector::YBond => (&self.y_bond, self.n_bonds),
            Vector::Rhs => (&self.rhs, self.n),
            Vector::X => (&self.x, self.n),
            Vector::R => (&self.r, self.n),
            Vector::P => (&self.p, self.n),
            Vector::Q => (&self.q, self.n),
        }
    }

    /// Writes the parameters (the uniform all kernels read).
    pub fn write_params(&mut self, p: ImpedanceParams) {
        self.params = p;
        self.dev
            .ctx
            .queue
            .write_buffer(&self.params_buf, 0, bytemuck::bytes_of(&p));
    }

    pub fn write_control(&self, c: &CocgControl) {
        self.dev
            .ctx
            .queue
            .write_buffer(&self.control, 0, bytemuck::bytes_of(c));
    }

    pub fn write_vector(&self, v: Vector, data: &[C64]) {
        let (b, len) = self.buffer(v);
        assert_eq!(data.len(), len, "{v:?}: length");
        if !data.is_empty() {
            self.dev
                .ctx
                .queue
                .write_buffer(b, 0, bytemuck::cast_slice(data));
        }
    }

    pub fn write_dinv(&self, data: &[[C64; 2]]) {
        assert_eq!(data.len(), self.n);
        if !data.is_empty() {
            self.dev
                .ctx
                .queue
                .write_buffer(&self.dinv, 0, bytemuck::cast_slice(data));
        }
    }

    pub fn write_partials(&self, data: &[[f64; 4]]) {
        assert!(data.len() <= MAX_GROUPS);
        self.dev
            .ctx
            .queue
            .write_buffer(&self.partials, 0, bytemuck::cast_slice(data));
    }

    pub fn read_vector(&self, v: Vector) -> Vec<C64> {
        let (b, len) = self.buffer(v);
        if len == 0 {
            return vec![];
        }
        let bytes = lipf_gpu::kernels::download(&self.dev.ctx, &[(b, 16 * len as u64)]);
        bytemuck::pod_collect_to_vec(&bytes[0])
    }

    pub fn read_dinv(&self) -> Vec<[C64; 2]> {
        if self.n == 0 {
            return vec![];
        }
        let bytes = lipf_gpu::kernels::download(&self.dev.ctx, &[(&self.dinv, 32 * self.n as u64)]);
        bytemuck::pod_collect_to_vec(&bytes[0])
    }

    pub fn read_partials(&self) -> Vec<[f64; 4]> {
        let g = self.params.groups as u64;
        let bytes = lipf_gpu::kernels::download(&self.dev.ctx, &[(&self.partials, 32 * g)]);
        bytemuck::pod_collect_to_vec(&bytes[0])
    }

    fn record(&self, pass: &mut wgpu::ComputePass, s: Step) {
        let k = self.kernel(s);
        let bg = &self.bg.iter().find(|(t, _)| *t == s).unwrap().1;
        let groups = match s {
            Step::FinishInit | Step::FinishAlpha | Step::FinishBeta => 1,
            _ => self.params.groups,
        };
        pass.set_pipeline(&k.pipeline);
        pass.set_bind_group(0, bg, &[]);
        pass.dispatch_workgroups(groups, 1, 1);
    }

    /// Runs `steps` in order in one submission and returns the control block afterwards.
    pub fn run(&mut self, steps: &[Step]) -> CocgControl {
        let ctx = &self.dev.ctx;
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("impedance cocg"),
            });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("impedance cocg"),
                timestamp_writes: None,
            });
            for &s in steps {
                self.record(&mut pass, s);
            }
        }
        let size = std::mem::size_of::<CocgControl>() as u64;
        enc.copy_buffer_to_buffer(&self.control, 0, &self.staging, 0, size);
        ctx.queue.submit(Some(enc.finish()));
        self.submissions += 1;
        let slice = self.staging.slice(..);
        slice.map_async(wgpu::MapMode::Read, |r| {
            r.expect("mapping the control readback");
        });
        ctx.wait();
        let c = {
            let view = slice.get_mapped_range().expect("mapped control");
            bytemuck::pod_read_unaligned::<CocgControl>(&view[..size as usize])
        };
        self.staging.unmap();
        c
    }
}

const START: &[Step] = &[
    Step::BondAdmittance,
    Step::AssembleNode,
    Step::Residual,
    Step::FinishInit,
    Step::UpdateP,
];
const RESTART: &[Step] = &[Step::Residual, Step::FinishInit, Step::UpdateP];
const ITERATION: &[Step] = &[
    Step::ApplyDot,
    Step::FinishAlpha,
    Step::UpdateXr,
    Step::FinishBeta,
    Step::UpdateP,
];

impl CocgMachine for GpuMachine {
    fn start(&mut self, omega: f64, tol: f64, max_iter: u32, x: &[C64]) -> CocgControl {
        let p = ImpedanceParams {
            omega,
            tol,
            accept_tol: tol,
            max_iter,
            ..self.params
        };
        self.write_params(p);
        self.write_control(&CocgControl::default());
        self.write_vector(Vector::X, x);
        self.run(START)
    }

    fn restart(&mut self, accept_tol: f64) -> CocgControl {
        let p = ImpedanceParams {
            accept_tol,
            ..self.params
        };
        self.write_params(p);
        self.run(RESTART)
    }

    fn iterate(&mut self, k: usize) -> CocgControl {
        let steps: Vec<Step> = (0..k).flat_map(|_| ITERATION.iter().copied()).collect();
        self.run(&steps)
    }

    fn solution(&mut self, x: &mut [C64]) {
        x.copy_from_slice(&self.read_vector(Vector::X));
    }
}

/// Jacobi-preconditioned COCG on the device (f64), warm-started with the incoming `v`; the
/// WGSL twin of [`crate::Krylov`] with `KrylovMethod::Cocg`.
pub struct GpuCocg {
    /// Stop when ‖b − A·v‖₂ ≤ tol·‖b‖₂ (the recursive residual; the true residual must then be
    /// ≤ 10·tol, as for the CPU solver).
    pub tol: f64,
    pub max_iter: usize,
    /// Iterations per submission (the control is read back after each).
    pub batch: usize,
    dev: Arc<ImpedanceDevice>,
    machine: Option<(usize, GpuMachine)>,
}

impl GpuCocg {
    /// Opens an f64 device on the adapter `req` selects.
    pub fn new(req: &AdapterRequest) -> Result<GpuCocg, GpuSolverError> {
        Ok(GpuCocg::on(ImpedanceDevice::new(req)?))
    }

    /// A solver on an open device.
    pub fn on(dev: Arc<ImpedanceDevice>) -> GpuCocg {
        GpuCocg {
            tol: 1e-10,
            max_iter: 200_000,
            batch: 32,
            dev,
            machine: None,
        }
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.dev.ctx.adapter
    }

    /// Submissions of the last network (batches, starts and checks).
    pub fn submissions(&self) -> usize {
        self.machine.as_ref().map_or(0, |(_, m)| m.submissions)
    }
}

impl FrequencySolver for GpuCocg {
    fn name(&self) -> String {
        format!(
            "COCG + Jacobi on {} (WGSL, f64, tol {:.0e}, warm start)",
            self.dev.ctx.adapter.label(),
            self.tol
        )
    }

    fn solve(&mut self, sys: &FrequencySystem, v: &mut [C64]) -> Result<SolveStats, SolverError> {
        let key = network_fingerprint(sys.network);
        if self.machine.as_ref().is_none_or(|(k, _)| *k != key) {
            self.machine = None; // free the previous network's buffers first
            let m = GpuMachine::new(self.dev.clone(), &NetworkLayout::new(sys.network))
                .map_err(|e| SolverError::Device(e.to_string()))?;
            self.machine = Some((key, m));
        }
        let m = &mut self.machine.as_mut().unwrap().1;
        drive_cocg(m, sys.omega, self.tol, self.max_iter, self.batch, v)
    }
}
