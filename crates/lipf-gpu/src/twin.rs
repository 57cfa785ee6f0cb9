//! One kernel at a time on host data: the GPU side of the kernel-vs-CPU-twin tests and of the
//! kernel benchmarks. Inputs are f64 slices (rounded to f32 on upload), outputs f64.

use crate::device::GpuContext;
use crate::kernels::{
    download, download_f32, grid_groups, reduce_groups, storage_bytes, storage_f32, uniform,
    upload_f64, volume_groups, Kernel, KernelId, Modules, FIELD_USAGE,
};
use crate::params::*;
use crate::GpuError;
use lipf_core::coefficients::CreepCoefficients;
use lipf_core::cpu::operator::Operator;
use lipf_core::cpu::time_step as cpu_time_step;
use lipf_core::cpu::xi_rate as cpu_xi_rate;
use lipf_core::Coefficients;

/// One dispatch of [`TwinRunner::submit`]: entry point, bindings, buffers, workgroups.
type Dispatch<'b> = (KernelId, &'b [&'b wgpu::Buffer], [u32; 3]);

/// What `shaders/time_step.wgsl` (`dt_partials`, then `time_step`) left on the device for one
/// step.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceTimeStep {
    /// max |r| and max D f |Δφ| over the per-workgroup partials of `dt_partials` (what
    /// `time_step` reduces them to).
    pub maxima: cpu_time_step::StepMaxima,
    /// The control record after the step: dt, remaining, substeps, dt_sub, flags, step_count.
    pub control: Control,
    /// The step's entry of the step log.
    pub log: StepLog,
    /// The sub-step part of the indirect table (one entry per recorded sub-step).
    pub substep_args: Vec<DispatchArgs>,
}

/// What `collector::collector_potential` and `combine_potential` left on the device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceCollector {
    /// The control record: i0, i1, v_collector and flags (FLAG_NO_ACTIVE_INTERFACE).
    pub control: Control,
    /// φ = φ0 + V φ1.
    pub potential: Vec<f64>,
    /// φ_s = φ_s0 + V φ_s1 (two-potential form).
    pub electronic_potential: Option<Vec<f64>>,
}

/// Runs kernels one by one with fresh buffers.
pub struct TwinRunner<'a> {
    pub ctx: &'a GpuContext,
    modules: Modules,
}

/// An f32 buffer with the values of `v`.
fn field(ctx: &GpuContext, label: &str, v: &[f64]) -> wgpu::Buffer {
    let b = storage_f32(ctx, label, v.len());
    upload_f64(ctx, &b, v);
    b
}

/// A u32 buffer with 1 where `mask` is set, else 0 (the creep kernels' mask of full cells).
fn mask(ctx: &GpuContext, mask: &[bool]) -> wgpu::Buffer {
    let words: Vec<u32> = mask.iter().map(|&m| m as u32).collect();
    let b = storage_bytes(ctx, "full", 4 * words.len() as u64, FIELD_USAGE);
    ctx.queue.write_buffer(&b, 0, bytemuck::cast_slice(&words));
    b
}

/// The operator packed as the shaders read it: [tx | ty | s | diag | tbot | tz] (tz empty when
/// nz = 1; shaders/shared/multigrid.wgsl).
pub fn pack_operator(op: &Operator) -> Vec<f64> {
    let mut v = Vec::with_capacity(packed_operator_len(op.shape()));
    for part in [&op.tx, &op.ty, &op.s, &op.diag, &op.tbot, &op.tz] {
        v.extend_from_slice(part);
    }
    v
}

pub fn unpack_operator([nx, ny, nz]: [usize; 3], v: &[f64]) -> Operator {
    let n = nx * ny * nz;
    let tb = 4 * n + nx * nz;
    Operator {
        nx,
        ny,
        nz,
        tx: v[0..n].to_vec(),
        ty: v[n..2 * n].to_vec(),
        s: v[2 * n..3 * n].to_vec(),
        diag: v[3 * n..4 * n].to_vec(),
        tbot: v[4 * n..tb].to_vec(),
        tz: if nz > 1 {
            v[tb..tb + n].to_vec()
        } else {
            Vec::new()
        },
    }
}

impl<'a> TwinRunner<'a> {
    pub fn new(ctx: &'a GpuContext) -> TwinRunner<'a> {
        TwinRunner {
            ctx,
            modules: Modules::default(),
        }
    }

    /// Dispatches `kernel` once over `groups` and downloads the listed outputs.
    fn run(
        &mut self,
        kernel: KernelId,
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
        outputs: &[(&wgpu::Buffer, usize)],
    ) -> Result<Vec<Vec<f64>>, GpuError> {
        self.submit(&[(kernel, buffers, groups)])?;
        Ok(download_f32(self.ctx, outputs))
    }

    /// Dispatches the kernels in order, in one submission, one compute pass each:
    /// (kernel, buffers in the order of its bindings, workgroups).
    fn submit(&mut self, dispatches: &[Dispatch]) -> Result<(), GpuError> {
        let mut recorded = Vec::with_capacity(dispatches.len());
        for &(kernel, buffers, groups) in dispatches {
            let k = Kernel::new(self.ctx, &mut self.modules, kernel)?;
            let bg = k.bind(self.ctx, buffers);
            recorded.push((k, bg, groups));
        }
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        for (k, bg, groups) in &recorded {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&k.pipeline);
            pass.set_bind_group(0, bg, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
        self.ctx.queue.submit(Some(enc.finish()));
        Ok(())
    }

    /// A control record with `c`'s values.
    fn control_buffer(&self, c: &Control) -> wgpu::Buffer {
        let b = storage_bytes(
            self.ctx,
            "control",
            std::mem::size_of::<Control>() as u64,
            FIELD_USAGE,
        );
        self.ctx.queue.write_buffer(&b, 0, bytemuck::bytes_of(c));
        b
    }

    /// The control record as the device left it.
    fn read_control(&self, b: &wgpu::Buffer) -> Control {
        let bytes = download(self.ctx, &[(b, std::mem::size_of::<Control>() as u64)]);
        bytemuck::pod_read_unaligned(&bytes[0])
    }

    fn control(&self, dt: f64, v_collector: f64) -> wgpu::Buffer {
        self.control_buffer(&Control {
            dt: dt as f32,
            v_collector: v_collector as f32,
            ..Default::default()
        })
    }

    /// (a, g) of `shaders/xi_rate.wgsl`.
    pub fn xi_rate(
        &mut self,
        p: &cpu_xi_rate::XiRateParams,
        xi: &[f64],
        phi: &[f64],
        conc: &[f64],
        eta: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), GpuError> {
        let ctx = self.ctx;
        let n = p.nx * p.ny * p.nz;
        let pu = uniform(ctx, "xi_rate", &XiRateParams::from_cpu(p));
        let (bx, bp, bc, be) = (
            field(ctx, "xi", xi),
            field(ctx, "phi", phi),
            field(ctx, "conc", conc),
            field(ctx, "eta", eta),
        );
        let (ba, bg) = (storage_f32(ctx, "a", n), storage_f32(ctx, "g", n));
        // The remaining time equal to the CPU's Δt_p: the device's min(cap, remaining) is it.
        let control = self.control_buffer(&Control {
            remaining: p.obstacle_step_s as f32,
            ..Default::default()
        });
        let mut out = self.run(
            KernelId::XiRate,
            &[&pu, &bx, &bp, &bc, &be, &ba, &bg, &control],
            volume_groups([p.nx, p.ny, p.nz]),
            &[(&ba, n), (&bg, n)],
        )?;
        let g = out.pop().unwrap();
        Ok((out.pop().unwrap(), g))
    }

    /// (operator, b0, b1) of `shaders/potential_assemble.wgsl`.
    #[allow(clippy::too_many_arguments)]
    pub fn potential_assemble(
        &mut self,
        c: &Coefficients,
        xi: &[f64],
        phi: &[f64],
        a: &[f64],
        g: &[f64],
        eta: &[f64],
    ) -> Result<(Operator, Vec<f64>, Vec<f64>), GpuError> {
        let ctx = self.ctx;
        let shape = c.grid.shape();
        let (n, len) = (c.grid.cells(), packed_operator_len(shape));
        let pu = uniform(ctx, "assemble", &AssembleParams::new(c));
        let bufs = [xi, phi, a, g, eta].map(|v| field(ctx, "in", v));
        let op = storage_f32(ctx, "op", len);
        let (b0, b1) = (storage_f32(ctx, "b0", n), storage_f32(ctx, "b1", n));
        let mut out = self.run(
            KernelId::PotentialAssemble,
            &[
                &pu, &bufs[0], &bufs[1], &bufs[2], &bufs[3], &bufs[4], &op, &b0, &b1,
            ],
            volume_groups(shape),
            &[(&op, len), (&b0, n), (&b1, n)],
        )?;
        let r1 = out.pop().unwrap();
        let r0 = out.pop().unwrap();
        Ok((unpack_operator(shape, &out[0]), r0, r1))
    }

    /// (operator, b0, b1) of `shaders/electronic_assemble.wgsl`; `phi_s` is the previous step's
    /// electronic potential (it biases the interphase).
    pub fn electronic_assemble(
        &mut self,
        c: &Coefficients,
        xi: &[f64],
        phi: &[f64],
        phi_s: &[f64],
        a: &[f64],
        g: &[f64],
    ) -> Result<(Operator, Vec<f64>, Vec<f64>), GpuError> {
        let ctx = self.ctx;
        let shape = c.grid.shape();
        let (n, len) = (c.grid.cells(), packed_operator_len(shape));
        let pu = uniform(ctx, "electronic", &ElectronicParams::new(c));
        let bufs = [xi, phi, a, g, phi_s].map(|v| field(ctx, "in", v));
        let op = storage_f32(ctx, "op_s", len);
        let (b0, b1) = (storage_f32(ctx, "b0", n), storage_f32(ctx, "b1", n));
        let mut out = self.run(
            KernelId::ElectronicAssemble,
            &[
                &pu, &bufs[0], &bufs[1], &bufs[2], &bufs[3], &op, &b0, &b1, &bufs[4],
            ],
            volume_groups(shape),
            &[(&op, len), (&b0, n), (&b1, n)],
        )?;
        let r1 = out.pop().unwrap();
        let r0 = out.pop().unwrap();
        Ok((unpack_operator(shape, &out[0]), r0, r1))
    }

    /// `cg_coupled::couple_residual` (`subtract` false: v += S u of the other block) or
    /// `couple_apply` (`subtract` true: v −= S u), with S the `s` of `op`: the new (v_l, v_s).
    pub fn couple(
        &mut self,
        op: &Operator,
        u: [&[f64]; 2],
        v: [&[f64]; 2],
        subtract: bool,
    ) -> Result<[Vec<f64>; 2], GpuError> {
        let ctx = self.ctx;
        let n = op.cells();
        let pu = uniform(ctx, "coupled", &CoupledParams::new(op.shape()));
        let bo = field(ctx, "op", &pack_operator(op));
        let [ul, us] = u.map(|x| field(ctx, "u", x));
        let [vl, vs] = v.map(|x| field(ctx, "v", x));
        let kernel = if subtract {
            KernelId::CoupleApply
        } else {
            KernelId::CoupleResidual
        };
        let mut out = self.run(
            kernel,
            &[&pu, &bo, &ul, &us, &vl, &vs],
            grid_groups(op.nx, op.ny),
            &[(&vl, n), (&vs, n)],
        )?;
        let s = out.pop().unwrap();
        Ok([out.pop().unwrap(), s])
    }

    /// `cg_coupled::shift_potentials`: (x_l, x_s) + sign · V, V = 1 (`unit`) or `v_collector`.
    #[allow(clippy::too_many_arguments)]
    pub fn shift_potentials(
        &mut self,
        nx: usize,
        ny: usize,
        x: [&[f64]; 2],
        unit: bool,
        sign: f64,
        v_collector: f64,
    ) -> Result<[Vec<f64>; 2], GpuError> {
        let ctx = self.ctx;
        let pu = uniform(
            ctx,
            "shift",
            &CoupledParams::shift([nx, ny, 1], unit, sign as f32),
        );
        let [xl, xs] = x.map(|v| field(ctx, "x", v));
        let control = self.control(0.0, v_collector);
        let mut out = self.run(
            KernelId::ShiftPotentials,
            &[&pu, &xl, &xs, &control],
            grid_groups(nx, ny),
            &[(&xl, nx * ny), (&xs, nx * ny)],
        )?;
        let s = out.pop().unwrap();
        Ok([out.pop().unwrap(), s])
    }

    /// `copy::copy` of `src` into a buffer holding `dst`, then `copy::fill_zero` of a third
    /// buffer holding `src`: (the copy, the filled buffer).
    pub fn copy(
        &mut self,
        nx: usize,
        ny: usize,
        src: &[f64],
        dst: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), GpuError> {
        let ctx = self.ctx;
        let pu = uniform(ctx, "grid", &GridParams::new(nx, ny));
        let [bs, bd, bz] = [src, dst, src].map(|v| field(ctx, "field", v));
        self.submit(&[
            (KernelId::Copy, &[&pu, &bs, &bd], grid_groups(nx, ny)),
            (KernelId::FillZero, &[&pu, &bz], grid_groups(nx, ny)),
        ])?;
        let mut out = download_f32(ctx, &[(&bd, nx * ny), (&bz, nx * ny)]);
        let z = out.pop().unwrap();
        Ok((out.pop().unwrap(), z))
    }

    /// (Σξ, Σ(ξ + sϕ − 1)₊) of `observables::observables_partials` (s = 1 − λ of `c`), ξ = `xi` + `xi_lo` (the
    /// device's compensated pair, each uploaded as f32): the per-workgroup (hi, lo) partials
    /// added up here in f64, as the backend does.
    pub fn observables(
        &mut self,
        c: &Coefficients,
        xi: &[f64],
        xi_lo: &[f64],
        phi: &[f64],
    ) -> Result<(f64, f64), GpuError> {
        let ctx = self.ctx;
        let n = xi.len();
        let groups = reduce_groups(n);
        let pu = uniform(ctx, "reduce", &ReduceParams::observables(n, c));
        let [bx, bp, blo] = [xi, phi, xi_lo].map(|v| field(ctx, "field", v));
        let partials = storage_f32(ctx, "partials", 4 * groups as usize);
        let out = self.run(
            KernelId::ObservablesPartials,
            &[&pu, &bx, &bp, &partials, &blo],
            [groups, 1, 1],
            &[(&partials, 4 * groups as usize)],
        )?;
        Ok(out[0]
            .chunks(4)
            .fold((0.0, 0.0), |(x, e), p| (x + p[0] + p[1], e + p[2] + p[3])))
    }

    /// The sums of a two-block entry of `shaders/reduce.wgsl` (`dot2_partials`,
    /// `l1_2_partials`, `residual_norm2_partials`) over the blocks (a, b) and (a2, b2): the
    /// per-workgroup partials (x, y) added up here in f64.
    pub fn reduce_two_blocks(
        &mut self,
        kernel: KernelId,
        a: [&[f64]; 2],
        b: [&[f64]; 2],
    ) -> Result<(f64, f64), GpuError> {
        let ctx = self.ctx;
        let n = a[0].len();
        let groups = reduce_groups(n);
        let pu = uniform(ctx, "reduce", &ReduceParams::new(n));
        let [a1, a2] = a.map(|v| field(ctx, "a", v));
        let [b1, b2] = b.map(|v| field(ctx, "b", v));
        let partials = storage_f32(ctx, "partials", 2 * groups as usize);
        let buffers: Vec<&wgpu::Buffer> = match kernel {
            KernelId::L1Partials2 => vec![&pu, &a1, &partials, &a2],
            _ => vec![&pu, &a1, &b1, &partials, &a2, &b2],
        };
        let out = self.run(
            kernel,
            &buffers,
            [groups, 1, 1],
            &[(&partials, 2 * groups as usize)],
        )?;
        Ok(out[0]
            .chunks(2)
            .fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1])))
    }

    /// x after one colour sweep of `shaders/mg_smooth.wgsl`.
    pub fn mg_smooth(
        &mut self,
        op: &Operator,
        b: &[f64],
        x: &[f64],
        colour: u32,
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let n = op.cells();
        let (bo, bb, bx) = (
            field(ctx, "op", &pack_operator(op)),
            field(ctx, "b", b),
            field(ctx, "x", x),
        );
        // One dispatch per pass (two when nz is odd and > 1), in one submission.
        let passes = smooth_passes(op.shape());
        let uniforms: Vec<wgpu::Buffer> = passes
            .iter()
            .map(|&(last, _)| uniform(ctx, "mg", &MgParams::sweep(op.shape(), colour, last)))
            .collect();
        let bindings: Vec<[&wgpu::Buffer; 4]> =
            uniforms.iter().map(|pu| [pu, &bo, &bb, &bx]).collect();
        let list: Vec<(KernelId, &[&wgpu::Buffer], [u32; 3])> = bindings
            .iter()
            .zip(&passes)
            .map(|(bind, &(_, groups))| (KernelId::MgSmooth, &bind[..], groups))
            .collect();
        self.submit(&list)?;
        Ok(download_f32(ctx, &[(&bx, n)]).remove(0))
    }

    /// (x, r) after `cg_vectors::cg_update_xr` with α, and p after `cg_update_p` with β
    /// (α and β in the control record, as `cg_control.wgsl` leaves them).
    #[allow(clippy::too_many_arguments)]
    pub fn cg_vectors(
        &mut self,
        (nx, ny): (usize, usize),
        alpha: f64,
        beta: f64,
        p: &[f64],
        q: &[f64],
        z: &[f64],
        x: &[f64],
        r: &[f64],
    ) -> Result<[Vec<f64>; 3], GpuError> {
        let ctx = self.ctx;
        let n = nx * ny;
        let pu = uniform(ctx, "grid", &GridParams::new(nx, ny));
        let control = self.control_buffer(&Control {
            alpha: alpha as f32,
            beta: beta as f32,
            ..Default::default()
        });
        let [bp, bq, bz, bx, br, bp_out] = [p, q, z, x, r, p].map(|v| field(ctx, "v", v));
        let groups = grid_groups(nx, ny);
        self.submit(&[
            (
                KernelId::CgUpdateXr,
                &[&pu, &control, &bp, &bq, &bx, &br],
                groups,
            ),
            (KernelId::CgUpdateP, &[&pu, &control, &bz, &bp_out], groups),
        ])?;
        let mut out = download_f32(ctx, &[(&bx, n), (&br, n), (&bp_out, n)]);
        let p_new = out.pop().unwrap();
        let r_new = out.pop().unwrap();
        Ok([out.pop().unwrap(), r_new, p_new])
    }

    /// r = b − A x of `shaders/mg_residual.wgsl`.
    pub fn mg_residual(
        &mut self,
        op: &Operator,
        b: &[f64],
        x: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let n = op.cells();
        let pu = uniform(ctx, "mg", &MgParams::sweep(op.shape(), 0, false));
        let (bo, bb, bx) = (
            field(ctx, "op", &pack_operator(op)),
            field(ctx, "b", b),
            field(ctx, "x", x),
        );
        let r = storage_f32(ctx, "r", n);
        Ok(self
            .run(
                KernelId::MgResidual,
                &[&pu, &bo, &bb, &bx, &r],
                volume_groups(op.shape()),
                &[(&r, n)],
            )?
            .remove(0))
    }

    /// y = A x of `shaders/mg_residual.wgsl` (entry mg_apply).
    pub fn mg_apply(&mut self, op: &Operator, x: &[f64]) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let n = op.cells();
        let pu = uniform(ctx, "mg", &MgParams::sweep(op.shape(), 0, false));
        let (bo, bx) = (field(ctx, "op", &pack_operator(op)), field(ctx, "x", x));
        let y = storage_f32(ctx, "y", n);
        Ok(self
            .run(
                KernelId::MgApply,
                &[&pu, &bo, &bx, &y],
                volume_groups(op.shape()),
                &[(&y, n)],
            )?
            .remove(0))
    }

    /// The 2×2 (2×2×2) aggregate sums of `shaders/mg_restrict.wgsl` of `fine` on the grid
    /// `shape`.
    pub fn mg_restrict(&mut self, fine: &[f64], shape: [usize; 3]) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let t = TransferParams::between(shape, 1.0);
        let coarse = [t.nxc, t.nyc, t.nzc].map(|v| v as usize);
        let nc = coarse.iter().product();
        let pu = uniform(ctx, "transfer", &t);
        let bf = field(ctx, "fine", fine);
        let bc = storage_f32(ctx, "coarse", nc);
        Ok(self
            .run(
                KernelId::MgRestrict,
                &[&pu, &bf, &bc],
                volume_groups(coarse),
                &[(&bc, nc)],
            )?
            .remove(0))
    }

    /// fine + scale · P coarse of `shaders/mg_prolong.wgsl`, `fine` on the grid `shape`.
    pub fn mg_prolong(
        &mut self,
        coarse: &[f64],
        scale: f64,
        shape: [usize; 3],
        fine: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let t = TransferParams::between(shape, scale as f32);
        let pu = uniform(ctx, "transfer", &t);
        let (bc, bf) = (field(ctx, "coarse", coarse), field(ctx, "fine", fine));
        Ok(self
            .run(
                KernelId::MgProlong,
                &[&pu, &bc, &bf],
                volume_groups(shape),
                &[(&bf, shape.iter().product())],
            )?
            .remove(0))
    }

    /// The Galerkin coarse operator of `shaders/mg_coarsen.wgsl`.
    pub fn mg_coarsen(&mut self, fine: &Operator) -> Result<Operator, GpuError> {
        let ctx = self.ctx;
        let t = TransferParams::between(fine.shape(), 1.0);
        let coarse = [t.nxc, t.nyc, t.nzc].map(|v| v as usize);
        let len = packed_operator_len(coarse);
        let pu = uniform(ctx, "transfer", &t);
        let bf = field(ctx, "fine", &pack_operator(fine));
        let bc = storage_f32(ctx, "coarse", len);
        let out = self.run(
            KernelId::MgCoarsen,
            &[&pu, &bf, &bc],
            volume_groups(coarse),
            &[(&bc, len)],
        )?;
        Ok(unpack_operator(coarse, &out[0]))
    }

    /// (rate, η) of `shaders/reaction_rate.wgsl` (`electronic` is φ_s, read by the two-potential
    /// form only).
    #[allow(clippy::too_many_arguments)]
    pub fn reaction_rate(
        &mut self,
        c: &Coefficients,
        a: &[f64],
        g: &[f64],
        eta_star: &[f64],
        potential: &[f64],
        electronic: &[f64],
        v_collector: f64,
    ) -> Result<(Vec<f64>, Vec<f64>), GpuError> {
        let ctx = self.ctx;
        let n = c.grid.cells();
        let pu = uniform(ctx, "reaction", &ReactionParams::new(c));
        let bufs = [a, g, eta_star, potential, electronic].map(|v| field(ctx, "in", v));
        let control = self.control(0.0, v_collector);
        let (rate, eta) = (storage_f32(ctx, "rate", n), storage_f32(ctx, "eta", n));
        let mut out = self.run(
            KernelId::ReactionRate,
            &[
                &pu, &bufs[0], &bufs[1], &bufs[2], &bufs[3], &control, &rate, &eta, &bufs[4],
            ],
            grid_groups(c.grid.nx, c.grid.ny),
            &[(&rate, n), (&eta, n)],
        )?;
        let e = out.pop().unwrap();
        Ok((out.pop().unwrap(), e))
    }

    /// c̃ after one step of `shaders/conc_update.wgsl`.
    #[allow(clippy::too_many_arguments)]
    pub fn conc_update(
        &mut self,
        c: &Coefficients,
        dt_s: f64,
        xi: &[f64],
        phi: &[f64],
        conc: &[f64],
        potential: &[f64],
        rate: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let n = c.grid.cells();
        let pu = uniform(ctx, "conc", &ConcParams::new(c));
        let bufs = [xi, phi, conc, potential, rate].map(|v| field(ctx, "in", v));
        let control = self.control(dt_s, 0.0);
        let out = storage_f32(ctx, "conc_new", n);
        Ok(self
            .run(
                KernelId::ConcUpdate,
                &[
                    &pu, &bufs[0], &bufs[1], &bufs[2], &bufs[3], &bufs[4], &control, &out,
                ],
                grid_groups(c.grid.nx, c.grid.ny),
                &[(&out, n)],
            )?
            .remove(0))
    }

    /// ξ + Δt r of `shaders/xi_update.wgsl`, as the sum of its f32 pair (xi + xi_lo).
    #[allow(clippy::too_many_arguments)]
    pub fn xi_update(
        &mut self,
        nx: usize,
        ny: usize,
        dt_s: f64,
        rate: &[f64],
        noise: Option<&[f64]>,
        xi: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let pu = uniform(ctx, "grid", &GridParams::new(nx, ny));
        let (br, bx) = (field(ctx, "rate", rate), field(ctx, "xi", xi));
        let zeros = vec![0.0; nx * ny];
        let bn = field(ctx, "noise", noise.unwrap_or(&zeros));
        // The f32 remainder of ξ: what `xi` does not hold of the f64 input.
        let lo: Vec<f64> = xi.iter().map(|&x| x - x as f32 as f64).collect();
        let bl = field(ctx, "xi_lo", &lo);
        let control = self.control(dt_s, 0.0);
        let out = self.run(
            KernelId::XiUpdate,
            &[&pu, &br, &control, &bx, &bl, &bn],
            grid_groups(nx, ny),
            &[(&bx, nx * ny), (&bl, nx * ny)],
        )?;
        Ok(out[0].iter().zip(&out[1]).map(|(h, l)| h + l).collect())
    }

    /// D of `shaders/xi_noise.wgsl` for the noise of `c` in step `step_base + step_count − 1`
    /// (the batch's first step and the device's count of the steps begun in it).
    pub fn xi_noise(
        &mut self,
        c: &Coefficients,
        step_base: u64,
        step_count: u32,
        xi: &[f64],
        phi: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let (shape, n) = (c.grid.shape(), c.grid.cells());
        let pu = uniform(ctx, "noise", &NoiseParams::new(c, step_base));
        let bx = field(ctx, "xi", xi);
        let bp = field(ctx, "phi", phi);
        let control = self.control_buffer(&Control {
            step_count,
            ..Default::default()
        });
        let out = storage_f32(ctx, "noise", n);
        Ok(self
            .run(
                KernelId::XiNoise,
                &[&pu, &bx, &bp, &control, &out],
                volume_groups(shape),
                &[(&out, n)],
            )?
            .remove(0))
    }

    /// The stencil of `shaders/np_coefficients.wgsl` (6 per cell).
    pub fn np_coefficients(
        &mut self,
        c: &Coefficients,
        xi: &[f64],
        phi: &[f64],
        potential: &[f64],
        rate: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let n = c.grid.cells();
        let pu = uniform(ctx, "conc", &ConcParams::new(c));
        let bufs = [xi, phi, potential, rate].map(|v| field(ctx, "in", v));
        let out = storage_f32(ctx, "stencil", 6 * n);
        Ok(self
            .run(
                KernelId::NpCoefficients,
                &[&pu, &bufs[0], &bufs[1], &bufs[2], &bufs[3], &out],
                grid_groups(c.grid.nx, c.grid.ny),
                &[(&out, 6 * n)],
            )?
            .remove(0))
    }

    /// The control record after `cg_control::cg_end` of a solve of code `solve`
    /// (`SolveParams::solve`) on the record `c`.
    pub fn cg_end(&mut self, c: &Control, solve: u32) -> Result<Control, GpuError> {
        let params = uniform(
            self.ctx,
            "solve",
            &SolveParams {
                solve,
                ..Default::default()
            },
        );
        let control = self.control_buffer(c);
        // The entries of cg_control share one bind group; cg_end uses bindings 0 and 1 only.
        let [u2, u3, u4] = ["partials", "shapes", "args"].map(|l| storage_f32(self.ctx, l, 4));
        self.submit(&[(
            KernelId::CgEnd,
            &[&params, &control, &u2, &u3, &u4],
            [1, 1, 1],
        )])?;
        Ok(self.read_control(&control))
    }

    /// One scalar step of a CG solve on the device (`kernel`, an entry of `cg_control.wgsl`
    /// other than `cg_end`) on the record `c`, with the solve's tolerance `tol` and code
    /// `solve` (`SolveParams`), the per-workgroup partial sums `partials` of the step's
    /// reduction and one dispatch shape: the record after it, and the CG part of the indirect
    /// table (the shape while the solve goes on, zeros once it has stopped).
    pub fn cg_control(
        &mut self,
        kernel: KernelId,
        c: &Control,
        tol: f64,
        solve: u32,
        partials: &[[f64; 2]],
        shape: [u32; 3],
    ) -> Result<(Control, [u32; 3]), GpuError> {
        let ctx = self.ctx;
        let params = uniform(
            ctx,
            "solve",
            &SolveParams {
                tol: tol as f32,
                solve,
                partials: partials.len() as u32,
                shapes: 1,
            },
        );
        let control = self.control_buffer(c);
        let flat: Vec<f64> = partials.iter().flatten().copied().collect();
        let bp = field(ctx, "partials", &flat);
        let words = |w: &[u32]| {
            let b = storage_bytes(ctx, "u32", 4 * w.len() as u64, FIELD_USAGE);
            ctx.queue.write_buffer(&b, 0, bytemuck::cast_slice(w));
            b
        };
        let shapes = words(&shape);
        // The step part of the table (one shape), then the CG part, which the kernel rewrites;
        // 7 marks words it should leave.
        let args = words(&[7; 6]);
        self.submit(&[(kernel, &[&params, &control, &bp, &shapes, &args], [1, 1, 1])])?;
        let table = download(ctx, &[(&args, 24)]);
        let table: &[u32] = bytemuck::cast_slice(&table[0]);
        Ok((self.read_control(&control), [table[3], table[4], table[5]]))
    }

    /// (operator, rhs, u) of one implicit Nernst–Planck step of `dt_s` by
    /// `shaders/np_assemble.wgsl` (`np_assemble`, then `np_assemble_rhs`): the problem in
    /// correction form, rhs = b − A u0 and u = the start of the correction, 0.
    #[allow(clippy::too_many_arguments)]
    pub fn np_assemble(
        &mut self,
        c: &Coefficients,
        dt_s: f64,
        xi: &[f64],
        phi: &[f64],
        potential: &[f64],
        rate: &[f64],
        conc: &[f64],
    ) -> Result<(Operator, Vec<f64>, Vec<f64>), GpuError> {
        let ctx = self.ctx;
        let shape = c.grid.shape();
        let (n, len) = (c.grid.cells(), packed_operator_len(shape));
        let pu = uniform(ctx, "conc", &ConcParams::new(c));
        let [bx, bp, bpot, br, bc] = [xi, phi, potential, rate, conc].map(|v| field(ctx, "in", v));
        let control = self.control(dt_s, 0.0);
        let op = storage_f32(ctx, "op", len);
        // u starts as NaN: the kernel must write every cell.
        let (rhs, u) = (
            storage_f32(ctx, "rhs", n),
            field(ctx, "u", &vec![f64::NAN; n]),
        );
        let groups = volume_groups(shape);
        self.submit(&[
            (
                KernelId::NpAssemble,
                &[&pu, &bx, &bp, &bpot, &control, &op],
                groups,
            ),
            (
                KernelId::NpAssembleRhs,
                &[&pu, &bpot, &control, &op, &br, &bc, &rhs, &u],
                groups,
            ),
        ])?;
        let mut out = download_f32(ctx, &[(&op, len), (&rhs, n), (&u, n)]);
        let u = out.pop().unwrap();
        let rhs = out.pop().unwrap();
        Ok((unpack_operator(shape, &out[0]), rhs, u))
    }

    /// The operator 1 − Δt Lσκ_max∇² of `shaders/xi_gradient_operator.wgsl` for the step
    /// `dt_s` on the grid of `c`.
    pub fn xi_gradient_operator(
        &mut self,
        c: &Coefficients,
        dt_s: f64,
    ) -> Result<Operator, GpuError> {
        let ctx = self.ctx;
        let shape = c.grid.shape();
        let len = packed_operator_len(shape);
        let pu = uniform(ctx, "xi gradient", &XiGradientParams::new(c));
        let control = self.control(dt_s, 0.0);
        // NaN first: the kernel must write every entry.
        let op = field(ctx, "op", &vec![f64::NAN; len]);
        self.submit(&[(
            KernelId::XiGradientOperator,
            &[&pu, &control, &op],
            volume_groups(shape),
        )])?;
        let out = download_f32(ctx, &[(&op, len)]);
        Ok(unpack_operator(shape, &out[0]))
    }

    /// (rhs, δ) of `shaders/xi_gradient_rhs.wgsl` on a grid of `shape`.
    pub fn xi_gradient_rhs(
        &mut self,
        shape: [usize; 3],
        dt_s: f64,
        rate: &[f64],
        noise: Option<&[f64]>,
    ) -> Result<(Vec<f64>, Vec<f64>), GpuError> {
        let ctx = self.ctx;
        let n = shape.iter().product();
        let pu = uniform(ctx, "grid", &GridParams::volume(shape));
        let zeros = vec![0.0; n];
        let (br, bn) = (
            field(ctx, "rate", rate),
            field(ctx, "noise", noise.unwrap_or(&zeros)),
        );
        let nan = vec![f64::NAN; n];
        let (rhs, delta) = (field(ctx, "rhs", &nan), field(ctx, "delta", &nan));
        let control = self.control(dt_s, 0.0);
        self.submit(&[(
            KernelId::XiGradientRhs,
            &[&pu, &br, &control, &bn, &rhs, &delta],
            volume_groups(shape),
        )])?;
        let mut out = download_f32(ctx, &[(&rhs, n), (&delta, n)]);
        let d = out.pop().unwrap();
        Ok((out.pop().unwrap(), d))
    }

    /// ξ + δ of `shaders/xi_gradient_finish.wgsl`, as the sum of its f32 pair (xi + xi_lo).
    pub fn xi_gradient_finish(
        &mut self,
        shape: [usize; 3],
        delta: &[f64],
        xi: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let n = shape.iter().product();
        let pu = uniform(ctx, "grid", &GridParams::volume(shape));
        let (bd, bx) = (field(ctx, "delta", delta), field(ctx, "xi", xi));
        let lo: Vec<f64> = xi.iter().map(|&x| x - x as f32 as f64).collect();
        let bl = field(ctx, "xi_lo", &lo);
        self.submit(&[(
            KernelId::XiGradientFinish,
            &[&pu, &bd, &bx, &bl],
            volume_groups(shape),
        )])?;
        let out = download_f32(ctx, &[(&bx, n), (&bl, n)]);
        Ok(out[0].iter().zip(&out[1]).map(|(h, l)| h + l).collect())
    }

    /// c̃ + e^{−fφ} δu of `shaders/np_finish.wgsl` (c̃ the old concentration, δu the solved
    /// correction).
    pub fn np_finish(
        &mut self,
        c: &Coefficients,
        potential: &[f64],
        du: &[f64],
        conc: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let n = c.grid.cells();
        let pu = uniform(ctx, "conc", &ConcParams::new(c));
        let [bp, bu, bc] = [potential, du, conc].map(|v| field(ctx, "in", v));
        Ok(self
            .run(
                KernelId::NpFinish,
                &[&pu, &bp, &bu, &bc],
                grid_groups(c.grid.nx, c.grid.ny),
                &[(&bc, n)],
            )?
            .remove(0))
    }

    /// (operator, rhs) of `shaders/creep_assemble.wgsl` for one creep step of `dt_s` with the
    /// cells that fill `full`, on an nx × ny grid of `dx_m`.
    #[allow(clippy::too_many_arguments)]
    pub fn creep_assemble(
        &mut self,
        (nx, ny, dx_m): (usize, usize, f64),
        cr: &CreepCoefficients,
        dt_s: f64,
        xi: &[f64],
        phi: &[f64],
        full: &[bool],
    ) -> Result<(Operator, Vec<f64>), GpuError> {
        let ctx = self.ctx;
        let n = nx * ny;
        let pu = uniform(ctx, "creep", &CreepParams::new(nx, ny, dx_m, cr));
        let (bx, bp) = (field(ctx, "xi", xi), field(ctx, "phi", phi));
        let bf = mask(ctx, full);
        let control = self.control(dt_s, 0.0);
        // op and rhs start as NaN: the kernel must write every entry.
        let op = field(ctx, "op", &vec![f64::NAN; 4 * n + nx]);
        let rhs = field(ctx, "rhs", &vec![f64::NAN; n]);
        let mut out = self.run(
            KernelId::CreepAssemble,
            &[&pu, &bx, &bp, &bf, &control, &op, &rhs],
            grid_groups(nx, ny),
            &[(&op, 4 * n + nx), (&rhs, n)],
        )?;
        let rhs = out.pop().unwrap();
        Ok((unpack_operator([nx, ny, 1], &out[0]), rhs))
    }

    /// (ξ, outflow) of `shaders/creep_finish.wgsl` (`creep_finish`, then
    /// `creep_finish_outflow`) after a creep solve with operator `op` and `pressure`.
    #[allow(clippy::too_many_arguments)]
    pub fn creep_finish(
        &mut self,
        op: &Operator,
        dx_m: f64,
        cr: &CreepCoefficients,
        pressure: &[f64],
        phi: &[f64],
        full: &[bool],
        xi: &[f64],
    ) -> Result<(Vec<f64>, f64), GpuError> {
        let ctx = self.ctx;
        let (nx, ny) = (op.nx, op.ny);
        let n = nx * ny;
        let pu = uniform(ctx, "creep", &CreepParams::new(nx, ny, dx_m, cr));
        let bo = field(ctx, "op", &pack_operator(op));
        let [bpr, bp, bx] = [pressure, phi, xi].map(|v| field(ctx, "in", v));
        let bf = mask(ctx, full);
        let outflow = field(ctx, "outflow", &[f64::NAN]);
        self.submit(&[
            (
                KernelId::CreepFinish,
                &[&pu, &bo, &bpr, &bp, &bf, &bx],
                grid_groups(nx, ny),
            ),
            (
                KernelId::CreepFinishOutflow,
                &[&pu, &bo, &bpr, &outflow],
                [1, 1, 1],
            ),
        ])?;
        let mut out = download_f32(ctx, &[(&bx, n), (&outflow, 1)]);
        let outflow = out.pop().unwrap()[0];
        Ok((out.pop().unwrap(), outflow))
    }

    /// (full, changed) after one update of `shaders/creep_active_set.wgsl` from the mask `full`
    /// and the pressure of a solve with operator `op` (S = op.s).
    #[allow(clippy::too_many_arguments)]
    pub fn creep_active_set(
        &mut self,
        op: &Operator,
        dx_m: f64,
        cr: &CreepCoefficients,
        pressure: &[f64],
        xi: &[f64],
        phi: &[f64],
        full: &[bool],
    ) -> Result<(Vec<bool>, bool), GpuError> {
        let ctx = self.ctx;
        let (nx, ny) = (op.nx, op.ny);
        let n = nx * ny;
        let pu = uniform(ctx, "creep", &CreepParams::new(nx, ny, dx_m, cr));
        let bo = field(ctx, "op", &pack_operator(op));
        let [bpr, bx, bp] = [pressure, xi, phi].map(|v| field(ctx, "in", v));
        let bf = mask(ctx, full);
        let changed = storage_bytes(ctx, "changed", 4, FIELD_USAGE);
        ctx.queue
            .write_buffer(&changed, 0, bytemuck::bytes_of(&0u32));
        self.submit(&[(
            KernelId::CreepActiveSet,
            &[&pu, &bo, &bpr, &bx, &bp, &bf, &changed],
            grid_groups(nx, ny),
        )])?;
        let out = download(ctx, &[(&bf, 4 * n as u64), (&changed, 4)]);
        let full: Vec<u32> = bytemuck::pod_collect_to_vec(&out[0]);
        let changed: u32 = bytemuck::pod_read_unaligned(&out[1]);
        Ok((full.iter().map(|&f| f != 0).collect(), changed != 0))
    }

    /// The mask `creep_first_guess` of `shaders/creep_active_set.wgsl` writes: the cells without
    /// room.
    pub fn creep_first_guess(
        &mut self,
        nx: usize,
        ny: usize,
        dx_m: f64,
        cr: &CreepCoefficients,
        xi: &[f64],
        phi: &[f64],
    ) -> Result<Vec<bool>, GpuError> {
        let ctx = self.ctx;
        let n = nx * ny;
        let pu = uniform(ctx, "creep", &CreepParams::new(nx, ny, dx_m, cr));
        let [bx, bp] = [xi, phi].map(|v| field(ctx, "in", v));
        // Start from the opposite of the answer, so that every cell must be written.
        let start: Vec<bool> = (0..n)
            .map(|k| lipf_core::cpu::creep_assemble::free_room(xi[k], phi[k]) != 0.0)
            .collect();
        let bf = mask(ctx, &start);
        self.submit(&[(
            KernelId::CreepFirstGuess,
            &[&pu, &bx, &bp, &bf],
            grid_groups(nx, ny),
        )])?;
        let out = download(ctx, &[(&bf, 4 * n as u64)]);
        let full: Vec<u32> = bytemuck::pod_collect_to_vec(&out[0]);
        Ok(full.iter().map(|&f| f != 0).collect())
    }

    /// c̃ after one sub-step of `shaders/np_substep.wgsl`.
    pub fn np_substep(
        &mut self,
        nx: usize,
        ny: usize,
        dt_s: f64,
        stencil: &[f64],
        conc: &[f64],
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let pu = uniform(ctx, "grid", &GridParams::new(nx, ny));
        let (bs, bc) = (field(ctx, "stencil", stencil), field(ctx, "conc", conc));
        let cb = self.control_buffer(&Control {
            dt_sub: dt_s as f32,
            ..Default::default()
        });
        let out = storage_f32(ctx, "conc_new", nx * ny);
        Ok(self
            .run(
                KernelId::NpSubstep,
                &[&pu, &bs, &bc, &cb, &out],
                grid_groups(nx, ny),
                &[(&out, nx * ny)],
            )?
            .remove(0))
    }
    /// The status of `shaders/range_check.wgsl`: per field (ξ, c̃, potential) the smallest
    /// out-of-range cell index, or u32::MAX.
    pub fn range_check(
        &mut self,
        nx: usize,
        ny: usize,
        xi: &[f64],
        conc: &[f64],
        potential: &[f64],
    ) -> Result<[u32; 3], GpuError> {
        let ctx = self.ctx;
        let pu = uniform(ctx, "grid", &GridParams::new(nx, ny));
        let bufs = [xi, conc, potential].map(|v| field(ctx, "in", v));
        let status = storage_bytes(ctx, "status", 16, FIELD_USAGE);
        ctx.queue
            .write_buffer(&status, 0, bytemuck::cast_slice(&[u32::MAX; 4]));
        self.submit(&[(
            KernelId::RangeCheck,
            &[&pu, &bufs[0], &bufs[1], &bufs[2], &status],
            grid_groups(nx, ny),
        )])?;
        let bytes = download(ctx, &[(&status, 16)]);
        let v: [u32; 4] = bytemuck::pod_read_unaligned(&bytes[0]);
        Ok([v[0], v[1], v[2]])
    }

    /// One step of `shaders/time_step.wgsl` on an nx × ny grid (`dt_partials` over
    /// `reduce_groups` workgroups, then `time_step`), with `remaining_s` left until the target
    /// and room for `substeps_recorded` sub-steps (none with `np_implicit`, the implicit
    /// Nernst–Planck step). `c` gives F/RT, Δx, the diffusivities and the overpotential form; `p`
    /// the limits (its `land_tolerance` is the device's; the sub-step slack of the device is
    /// fixed in the WGSL).
    #[allow(clippy::too_many_arguments)]
    pub fn time_step(
        &mut self,
        c: &Coefficients,
        p: &cpu_time_step::TimeStepParams,
        (nx, ny): (usize, usize),
        rate: &[f64],
        potential: &[f64],
        xi: &[f64],
        phi: &[f64],
        remaining_s: f64,
        substeps_recorded: usize,
        np_implicit: bool,
    ) -> Result<DeviceTimeStep, GpuError> {
        let ctx = self.ctx;
        let n = nx * ny;
        let groups = reduce_groups(n);
        // One dispatch shape: the indirect table has a step part, a CG part (one entry each)
        // and the sub-step part.
        let shapes = 1usize;
        let params = StepParams {
            nx: nx as u32,
            ny: ny as u32,
            n: n as u32,
            groups,
            form: form(c),
            floor: diffusivity_floor(c),
            ip_phi_lo: c.interphase_phi_lo as f32,
            ip_phi_hi: c.interphase_phi_hi as f32,
            ip_ionic_k: c.ip_ionic_k as f32,
            shapes: shapes as u32,
            max_steps: 1,
            substeps_recorded: substeps_recorded as u32,
            dt_stable: p.dt_stable_s as f32,
            dt_np: p.dt_np_s as f32,
            max_xi_change: p.max_xi_change as f32,
            max_dt: p.max_dt_s.map_or(f32::MAX, |m| m as f32),
            inv_dx2: (1.0 / (p.dx_m * p.dx_m)) as f32,
            f: c.f_over_rt_per_v as f32,
            d_p: c.d_p_m2_s as f32,
            d_e: c.d_e_m2_s as f32,
            land_tolerance: p.land_tolerance as f32,
            nz: 1,
            np_implicit: np_implicit as u32,
            liquid: c.liquid() as f32,
        };
        let pu = uniform(ctx, "step", &params);
        let control = self.control_buffer(&Control {
            remaining: remaining_s as f32,
            running: 1,
            ..Default::default()
        });
        // The dispatch shape the sub-steps get: a recognisable (x, y, z).
        let shape = DispatchArgs { x: 7, y: 5, z: 1 };
        let shapes_buf = storage_bytes(ctx, "shapes", 12, FIELD_USAGE);
        ctx.queue
            .write_buffer(&shapes_buf, 0, bytemuck::bytes_of(&shape));
        let table = IndirectTable {
            shapes,
            substeps: substeps_recorded,
        };
        let args = storage_bytes(ctx, "args", table.size_bytes(), FIELD_USAGE);
        let bufs = [rate, potential, xi, phi].map(|v| field(ctx, "in", v));
        let partials = storage_f32(ctx, "partials", 2 * groups as usize);
        let log_bytes = std::mem::size_of::<StepLog>() as u64;
        let steps = storage_bytes(ctx, "steps", log_bytes, FIELD_USAGE);
        self.submit(&[
            (
                KernelId::DtPartials,
                &[&pu, &bufs[0], &bufs[1], &bufs[2], &bufs[3], &partials],
                [groups, 1, 1],
            ),
            (
                KernelId::TimeStep,
                &[&pu, &control, &shapes_buf, &args, &partials, &steps],
                [1, 1, 1],
            ),
        ])?;
        let out = download(
            ctx,
            &[
                (&partials, 8 * groups as u64),
                (&control, std::mem::size_of::<Control>() as u64),
                (&steps, log_bytes),
                (&args, table.size_bytes()),
            ],
        );
        let parts: Vec<f32> = bytemuck::pod_collect_to_vec(&out[0]);
        let mut maxima = cpu_time_step::StepMaxima::default();
        for m in parts.chunks(2) {
            maxima.max_rate = maxima.max_rate.max(m[0] as f64);
            maxima.max_drift = maxima.max_drift.max(m[1] as f64);
        }
        let all_args: Vec<DispatchArgs> = bytemuck::pod_collect_to_vec(&out[3]);
        Ok(DeviceTimeStep {
            maxima,
            control: bytemuck::pod_read_unaligned(&out[1]),
            log: bytemuck::pod_read_unaligned(&out[2]),
            substep_args: all_args[2 * shapes..].to_vec(),
        })
    }

    /// `collector::collector_potential` (galvanostatic, target `target_current_a_m`) and then
    /// `combine_potential` of `shaders/collector.wgsl`.
    pub fn collector(
        &mut self,
        op: &Operator,
        pot0: &[f64],
        pot1: &[f64],
        target_current_a_m: f64,
    ) -> Result<DeviceCollector, GpuError> {
        self.collector_with(op, pot0, pot1, None, target_current_a_m, None)
    }

    /// [`TwinRunner::collector`] with the cell voltage held at `held_voltage_v` (a
    /// potentiostatic protocol segment): V is the held one, I0 and I1 are still summed.
    pub fn collector_held(
        &mut self,
        op: &Operator,
        pot0: &[f64],
        pot1: &[f64],
        held_voltage_v: f64,
    ) -> Result<DeviceCollector, GpuError> {
        self.collector_with(op, pot0, pot1, None, 0.0, Some(held_voltage_v))
    }

    /// [`TwinRunner::collector`] in the two-potential form: the currents of both problems, the
    /// electronic one `(op_s, φ_s0, φ_s1)`; `combine_potential` runs for both potentials.
    pub fn collector_two_potential(
        &mut self,
        op: &Operator,
        pot0: &[f64],
        pot1: &[f64],
        electronic: (&Operator, &[f64], &[f64]),
        target_current_a_m: f64,
    ) -> Result<DeviceCollector, GpuError> {
        self.collector_with(op, pot0, pot1, Some(electronic), target_current_a_m, None)
    }

    fn collector_with(
        &mut self,
        op: &Operator,
        pot0: &[f64],
        pot1: &[f64],
        electronic: Option<(&Operator, &[f64], &[f64])>,
        target_current_a_m: f64,
        held_voltage_v: Option<f64>,
    ) -> Result<DeviceCollector, GpuError> {
        let ctx = self.ctx;
        let n = op.cells();
        let params = CollectorParams {
            electronic: electronic.is_some() as u32,
            hold_voltage: held_voltage_v.is_some() as u32,
            held_voltage_v: held_voltage_v.unwrap_or(0.0) as f32,
            ..collector_params(op, target_current_a_m)
        };
        let pu = uniform(ctx, "collector", &params);
        let (bo, b0, b1) = (
            field(ctx, "op", &pack_operator(op)),
            field(ctx, "pot0", pot0),
            field(ctx, "pot1", pot1),
        );
        // The electronic problem (one unused element when absent, as in the backend).
        let (bos, bs0, bs1) = match electronic {
            Some((ops, s0, s1)) => (
                field(ctx, "op_s", &pack_operator(ops)),
                field(ctx, "pot0_s", s0),
                field(ctx, "pot1_s", s1),
            ),
            None => (
                storage_f32(ctx, "op_s", 1),
                storage_f32(ctx, "pot0_s", 1),
                storage_f32(ctx, "pot1_s", 1),
            ),
        };
        let control = self.control_buffer(&Control {
            running: 1,
            ..Default::default()
        });
        let potential = storage_f32(ctx, "potential", n);
        let potential_s = storage_f32(ctx, "potential_s", n);
        let collect = [&pu, &bo, &b0, &b1, &control, &bos, &bs0, &bs1];
        let combine_l = [&pu, &b0, &b1, &control, &potential];
        let combine_s = [&pu, &bs0, &bs1, &control, &potential_s];
        let mut dispatches: Vec<Dispatch> = vec![
            (KernelId::CollectorPotential, &collect, [1, 1, 1]),
            (
                KernelId::CombinePotential,
                &combine_l,
                grid_groups(op.nx, op.ny),
            ),
        ];
        if electronic.is_some() {
            dispatches.push((
                KernelId::CombinePotential,
                &combine_s,
                grid_groups(op.nx, op.ny),
            ));
        }
        self.submit(&dispatches)?;
        let mut out = download_f32(ctx, &[(&potential, n), (&potential_s, n)]);
        let electronic_potential = out.pop().unwrap();
        Ok(DeviceCollector {
            control: self.read_control(&control),
            potential: out.pop().unwrap(),
            electronic_potential: electronic.is_some().then_some(electronic_potential),
        })
    }

    /// b0 + V b1 of `collector::add_scaled_rhs`.
    pub fn add_scaled_rhs(
        &mut self,
        nx: usize,
        ny: usize,
        b0: &[f64],
        b1: &[f64],
        v: f64,
    ) -> Result<Vec<f64>, GpuError> {
        let ctx = self.ctx;
        let pu = uniform(
            ctx,
            "collector",
            &CollectorParams {
                nx: nx as u32,
                ny: ny as u32,
                nz: 1,
                ..Default::default()
            },
        );
        let control = self.control(0.0, v);
        let (bb0, bb1) = (field(ctx, "b0", b0), field(ctx, "b1", b1));
        Ok(self
            .run(
                KernelId::AddScaledRhs,
                &[&pu, &control, &bb0, &bb1],
                grid_groups(nx, ny),
                &[(&bb0, nx * ny)],
            )?
            .remove(0))
    }

    /// The plating current −Σ_top T φ of `collector::top_current`, A/m.
    pub fn top_current(&mut self, op: &Operator, potential: &[f64]) -> Result<f64, GpuError> {
        Ok(self.top_current_with(op, potential, None)?.0)
    }

    /// `collector::top_current` in the two-potential form: (the current −Σ_top T φ −
    /// Σ_top T_s φ_s, the leakage −Σ_top T_s φ_s), A/m.
    pub fn top_current_two_potential(
        &mut self,
        op: &Operator,
        potential: &[f64],
        op_s: &Operator,
        potential_s: &[f64],
    ) -> Result<(f64, f64), GpuError> {
        self.top_current_with(op, potential, Some((op_s, potential_s)))
    }

    fn top_current_with(
        &mut self,
        op: &Operator,
        potential: &[f64],
        electronic: Option<(&Operator, &[f64])>,
    ) -> Result<(f64, f64), GpuError> {
        let ctx = self.ctx;
        let params = CollectorParams {
            electronic: electronic.is_some() as u32,
            ..collector_params(op, 0.0)
        };
        let pu = uniform(ctx, "collector", &params);
        let (bo, bp) = (
            field(ctx, "op", &pack_operator(op)),
            field(ctx, "potential", potential),
        );
        let (bos, bps) = match electronic {
            Some((ops, ps)) => (
                field(ctx, "op_s", &pack_operator(ops)),
                field(ctx, "potential_s", ps),
            ),
            None => (
                storage_f32(ctx, "op_s", 1),
                storage_f32(ctx, "potential_s", 1),
            ),
        };
        let control = self.control_buffer(&Control {
            running: 1,
            ..Default::default()
        });
        self.submit(&[(
            KernelId::TopCurrent,
            &[&pu, &bo, &control, &bp, &bos, &bps],
            [1, 1, 1],
        )])?;
        let c = self.read_control(&control);
        Ok((c.current_a_m as f64, c.leakage_a_m as f64))
    }
}

/// Galvanostatic collector parameters of `op`'s grid.
fn collector_params(op: &Operator, target_current_a_m: f64) -> CollectorParams {
    CollectorParams {
        nx: op.nx as u32,
        ny: op.ny as u32,
        galvanostatic: 1,
        target_current_a_m: target_current_a_m as f32,
        nz: op.nz as u32,
        ..Default::default()
    }
}
