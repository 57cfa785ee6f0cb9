//! The device resources of the GPU backend: the pipelines (one per kernel entry), the buffers
//! (fields, operators, multigrid hierarchies, the CG vectors, control records) and the bind
//! groups that tie them together, built once by `GpuBackend::with_state`.

use super::*;
use std::collections::HashMap;
/// Where a dispatch takes its workgroup counts from.
#[derive(Clone, Copy)]
pub(super) enum Gate {
    /// The step part of the indirect table, dispatch shape `s`.
    Step(usize),
    /// The CG part of the indirect table, dispatch shape `s`.
    Cg(usize),
    /// The `m`-th recorded Nernst–Planck sub-step of a step.
    Sub(usize),
    /// Always, with these counts.
    Direct([u32; 3]),
}

/// One pipeline per kernel of the registry ([`KernelId`]), indexed by it.
pub(super) struct Pipelines(HashMap<KernelId, Kernel>);

impl Pipelines {
    pub(super) fn new(ctx: &GpuContext) -> Result<Pipelines, GpuError> {
        let mut m = Modules::default();
        let mut kernels = HashMap::new();
        for &id in KernelId::ALL {
            if !id.shader().starts_with("impedance_") {
                kernels.insert(id, Kernel::new(ctx, &mut m, id)?);
            }
        }
        Ok(Pipelines(kernels))
    }
}

impl std::ops::Index<KernelId> for Pipelines {
    type Output = Kernel;
    fn index(&self, id: KernelId) -> &Kernel {
        &self.0[&id]
    }
}

/// Device buffers.
pub(super) struct Buffers {
    pub(super) xi: wgpu::Buffer,
    /// The rounding remainder of ξ (ξ = xi + xi_lo; xi_update.wgsl).
    pub(super) xi_lo: wgpu::Buffer,
    pub(super) phi: wgpu::Buffer,
    pub(super) conc: wgpu::Buffer,
    pub(super) conc_new: wgpu::Buffer,
    pub(super) potential: wgpu::Buffer,
    pub(super) eta: wgpu::Buffer,
    pub(super) eta_new: wgpu::Buffer,
    pub(super) pot0: wgpu::Buffer,
    pub(super) pot1: wgpu::Buffer,
    pub(super) a: wgpu::Buffer,
    pub(super) g: wgpu::Buffer,
    pub(super) rate: wgpu::Buffer,
    /// The step's conserved noise D (xi_noise.wgsl; zeros without noise).
    pub(super) noise: wgpu::Buffer,
    /// The noise's parameters, rewritten at every batch start (the batch's first step).
    pub(super) noise_params: wgpu::Buffer,
    pub(super) stencil: wgpu::Buffer,
    pub(super) b0: wgpu::Buffer,
    pub(super) b1: wgpu::Buffer,
    pub(super) p: wgpu::Buffer,
    pub(super) q: wgpu::Buffer,
    pub(super) control: wgpu::Buffer,
    pub(super) partials: wgpu::Buffer,
    pub(super) obs_partials: wgpu::Buffer,
    pub(super) steps: wgpu::Buffer,
    pub(super) args: wgpu::Buffer,
    pub(super) status: wgpu::Buffer,
    /// The multigrid hierarchy of the potential operator (the ionic one in the two-potential
    /// form). Level 0's right-hand side is the CG residual r and its iterate the preconditioned
    /// residual z.
    pub(super) mg: Hierarchy,
    /// The electronic potential φ_s and the warm starts of its two galvanostatic parts (the
    /// two-potential form; one unused element otherwise).
    pub(super) es: wgpu::Buffer,
    pub(super) es0: wgpu::Buffer,
    pub(super) es1: wgpu::Buffer,
    /// The rest of the coupled solve (two-potential form only).
    pub(super) coupled: Option<CoupledBuffers>,
    /// The implicit Nernst–Planck problem (model.nernst_planck = "implicit" only).
    pub(super) np: Option<NpBuffers>,
    /// The creep pressure problem (creep.enabled only).
    pub(super) creep: Option<CreepBuffers>,
    /// The ξ increment's problem (model.allen_cahn_gradient = "implicit" only).
    pub(super) xi_gradient: Option<XiGradientBuffers>,
    /// Copies of the evolving fields at the start of a batch (undo on a failed solve).
    pub(super) backup: Vec<(wgpu::Buffer, wgpu::Buffer)>,
}

/// One multigrid hierarchy: per level the operator, right-hand side, iterate and residual.
/// The two hierarchies of the coupled solve share the work vectors of the coarse levels (their
/// V-cycles run one after the other) and differ in the operators and in level 0's b and x.
pub(super) struct Hierarchy {
    pub(super) op: Vec<wgpu::Buffer>,
    pub(super) lb: Vec<wgpu::Buffer>,
    pub(super) lx: Vec<wgpu::Buffer>,
    pub(super) lr: Vec<wgpu::Buffer>,
}

impl Hierarchy {
    /// The hierarchy with new operators, level 0's b and x, and `work`'s other vectors.
    pub(super) fn sharing(
        ctx: &GpuContext,
        label: &str,
        dims: &[[usize; 3]],
        work: &Hierarchy,
        b0: &wgpu::Buffer,
        x0: &wgpu::Buffer,
    ) -> Hierarchy {
        let mut lb = work.lb.clone();
        let mut lx = work.lx.clone();
        lb[0] = b0.clone();
        lx[0] = x0.clone();
        Hierarchy {
            op: dims
                .iter()
                .enumerate()
                .map(|(l, &d)| storage_f32(ctx, &format!("{label} op{l}"), packed_operator_len(d)))
                .collect(),
            lb,
            lx,
            lr: work.lr.clone(),
        }
    }
}

/// The buffers of the coupled ionic–electronic solve (two-potential form), besides the ionic
/// ones of [`Buffers`] (whose b0, b1, p, q, r = mg.lb[0] and z = mg.lx[0] are the ionic blocks).
pub(super) struct CoupledBuffers {
    /// Electronic right-hand sides (electronic_assemble.wgsl).
    pub(super) b0: wgpu::Buffer,
    pub(super) b1: wgpu::Buffer,
    /// Electronic blocks of the CG vectors p and q.
    pub(super) p: wgpu::Buffer,
    pub(super) q: wgpu::Buffer,
    /// The electronic operator's hierarchy (level 0: r_s and z_s).
    pub(super) electronic: Hierarchy,
}

/// The buffers of the implicit Nernst–Planck step (np_assemble.wgsl): its right-hand side, the
/// Slotboom variable u (the solve's iterate, warm-started by `np_assemble_rhs`; not part of the
/// state) and the hierarchy of its operator. The hierarchy shares every work vector with the
/// potential's, level 0's r and z included (the solves run one after the other): the potential
/// operator (`top_current` reads it), the potentials' warm starts and their right-hand sides
/// stay untouched.
pub(super) struct NpBuffers {
    pub(super) rhs: wgpu::Buffer,
    pub(super) u: wgpu::Buffer,
    pub(super) hierarchy: Hierarchy,
}

impl NpBuffers {
    pub(super) fn new(ctx: &GpuContext, dims: &[[usize; 3]], mg: &Hierarchy) -> NpBuffers {
        let n: usize = dims[0].iter().product();
        NpBuffers {
            rhs: storage_f32(ctx, "np rhs", n),
            u: storage_f32(ctx, "np u", n),
            hierarchy: Hierarchy::sharing(ctx, "np", dims, mg, &mg.lb[0], &mg.lx[0]),
        }
    }
}

/// The ξ increment's problem of the semi-implicit gradient term (xi_gradient_operator.wgsl):
/// right-hand side, the increment δ (the CG's iterate) and the operator's hierarchy (sharing the
/// potential's work vectors, as [`NpBuffers`]). Not part of the state: rebuilt every step.
pub(super) struct XiGradientBuffers {
    pub(super) rhs: wgpu::Buffer,
    pub(super) delta: wgpu::Buffer,
    pub(super) hierarchy: Hierarchy,
}

impl XiGradientBuffers {
    pub(super) fn new(ctx: &GpuContext, dims: &[[usize; 3]], mg: &Hierarchy) -> XiGradientBuffers {
        let n: usize = dims[0].iter().product();
        XiGradientBuffers {
            rhs: storage_f32(ctx, "xi increment rhs", n),
            delta: storage_f32(ctx, "xi increment", n),
            hierarchy: Hierarchy::sharing(ctx, "xi increment", dims, mg, &mg.lb[0], &mg.lx[0]),
        }
    }
}

/// The buffers of the creep step (creep_assemble.wgsl): the mask of the cells that fill (u32),
/// the pressure p (the solve's iterate, started at the stack pressure every step from `stack`,
/// as the CPU's; not part of the state), the right-hand side, the active set's `changed` word,
/// the collector outflow of each recorded step of a batch (one f32 per `slot_bytes`, so that
/// every step writes its own and the host adds them up in f64), and the hierarchy of the
/// operator (sharing the potential's work vectors, as [`NpBuffers`]).
pub(super) struct CreepBuffers {
    pub(super) full: wgpu::Buffer,
    pub(super) pressure: wgpu::Buffer,
    pub(super) stack: wgpu::Buffer,
    pub(super) rhs: wgpu::Buffer,
    pub(super) changed: wgpu::Buffer,
    pub(super) outflow: wgpu::Buffer,
    pub(super) slot_bytes: u64,
    pub(super) hierarchy: Hierarchy,
}

impl CreepBuffers {
    pub(super) fn new(
        ctx: &GpuContext,
        dims: &[[usize; 3]],
        mg: &Hierarchy,
        stack_pressure_pa: f64,
        steps: usize,
    ) -> CreepBuffers {
        let n: usize = dims[0].iter().product();
        let stack = storage_f32(ctx, "creep stack pressure", n);
        upload_f64(ctx, &stack, &vec![stack_pressure_pa; n]);
        let slot_bytes = (ctx.device.limits().min_storage_buffer_offset_alignment as u64).max(4);
        CreepBuffers {
            full: storage_f32(ctx, "creep full", n),
            pressure: storage_f32(ctx, "creep pressure", n),
            stack,
            rhs: storage_f32(ctx, "creep rhs", n),
            changed: storage_f32(ctx, "creep changed", 1),
            outflow: storage_bytes(ctx, "creep outflow", slot_bytes * steps as u64, FIELD_USAGE),
            slot_bytes,
            hierarchy: Hierarchy::sharing(ctx, "creep", dims, mg, &mg.lb[0], &mg.lx[0]),
        }
    }
}

/// Bind groups of the creep step.
pub(super) struct CreepGroups {
    /// full = [no room] (creep_first_guess), p = p_s (copy).
    pub(super) first_guess: wgpu::BindGroup,
    pub(super) start: wgpu::BindGroup,
    /// The operator and right-hand side of the current set.
    pub(super) assemble: wgpu::BindGroup,
    pub(super) levels: LevelGroups,
    pub(super) solve: SolveGroups,
    pub(super) apply: wgpu::BindGroup,
    pub(super) active_set: wgpu::BindGroup,
    pub(super) finish: wgpu::BindGroup,
    /// creep_finish_outflow into the slot of each recorded step of a batch.
    pub(super) outflow: Vec<wgpu::BindGroup>,
}

/// The uniforms and shared buffers the creep groups bind.
pub(super) struct CreepInputs<'a> {
    pub(super) creep_p: &'a wgpu::Buffer,
    pub(super) cg: CgUniforms<'a>,
}

impl CreepGroups {
    pub(super) fn new(
        ctx: &GpuContext,
        k: &Pipelines,
        b: &Buffers,
        cb: &CreepBuffers,
        i: CreepInputs,
    ) -> CreepGroups {
        let c = ctx;
        let (g0, mg0) = (&i.cg.lp.grid[0], &i.cg.lp.mg[0][0]);
        let h = &cb.hierarchy;
        let (op, r) = (&h.op[0], &h.lb[0]);
        let cp = i.creep_p;
        let steps = (cb.outflow.size() / cb.slot_bytes) as usize;
        CreepGroups {
            first_guess: k[KernelId::CreepFirstGuess].bind(c, &[cp, &b.xi, &b.phi, &cb.full]),
            start: k[KernelId::Copy].bind(c, &[g0, &cb.stack, &cb.pressure]),
            assemble: k[KernelId::CreepAssemble]
                .bind(c, &[cp, &b.xi, &b.phi, &cb.full, &b.control, op, &cb.rhs]),
            levels: LevelGroups::new(c, k, h, i.cg.lp, CoarseCorrection::OverCorrected),
            solve: SolveGroups::new(c, k, b, &i.cg, [op, &cb.rhs, &cb.pressure, r]),
            apply: k[KernelId::MgApply].bind(c, &[mg0, op, &b.p, &b.q]),
            active_set: k[KernelId::CreepActiveSet].bind(
                c,
                &[cp, op, &cb.pressure, &b.xi, &b.phi, &cb.full, &cb.changed],
            ),
            finish: k[KernelId::CreepFinish]
                .bind(c, &[cp, op, &cb.pressure, &b.phi, &cb.full, &b.xi]),
            outflow: (0..steps)
                .map(|m| {
                    k[KernelId::CreepFinishOutflow].bind_slot(
                        c,
                        &[cp, op, &cb.pressure, &cb.outflow],
                        6,
                        m as u64 * cb.slot_bytes,
                        4,
                    )
                })
                .collect(),
        }
    }
}

/// Bind groups of one CG solve target (right-hand side b, solution x).
pub(super) struct SolveGroups {
    pub(super) residual: wgpu::BindGroup,
    pub(super) resnorm: wgpu::BindGroup,
    pub(super) xr: wgpu::BindGroup,
    pub(super) control: wgpu::BindGroup,
}

/// The uniforms and shared buffers a CG solve's groups bind: its stopping rule (`SolveParams`),
/// the reductions' parameters, the dispatch shapes and the levels' parameters.
pub(super) struct CgUniforms<'a> {
    pub(super) solve_p: &'a wgpu::Buffer,
    pub(super) red_p: &'a wgpu::Buffer,
    pub(super) shapes: &'a wgpu::Buffer,
    pub(super) lp: &'a LevelParams,
}

impl SolveGroups {
    /// The groups of a CG solve of the level-0 operator `op` for the iterate `x` with right-hand
    /// side `rhs`; `r` is the CG residual (level 0's right-hand side of the hierarchy). The other
    /// CG vectors (p, q) are the potential's.
    pub(super) fn new(
        c: &GpuContext,
        k: &Pipelines,
        b: &Buffers,
        u: &CgUniforms,
        [op, rhs, x, r]: [&wgpu::Buffer; 4],
    ) -> SolveGroups {
        let (g0, mg0) = (&u.lp.grid[0], &u.lp.mg[0][0]);
        SolveGroups {
            residual: k[KernelId::MgResidual].bind(c, &[mg0, op, rhs, x, r]),
            resnorm: k[KernelId::ResidualNormPartials].bind(c, &[u.red_p, r, rhs, &b.partials]),
            xr: k[KernelId::CgUpdateXr].bind(c, &[g0, &b.control, &b.p, &b.q, x, r]),
            control: k[KernelId::CgBegin]
                .bind(c, &[u.solve_p, &b.control, &b.partials, u.shapes, &b.args]),
        }
    }
}

/// Bind groups of the V-cycle and the coarsening of one [`Hierarchy`].
pub(super) struct LevelGroups {
    pub(super) coarsen: Vec<Option<wgpu::BindGroup>>,
    pub(super) smooth: Vec<[wgpu::BindGroup; 2]>,
    /// The second pass over the last z-section (levels whose nz is odd and > 1).
    pub(super) smooth_last: Vec<Option<[wgpu::BindGroup; 2]>>,
    pub(super) residual: Vec<wgpu::BindGroup>,
    pub(super) restrict: Vec<Option<wgpu::BindGroup>>,
    pub(super) prolong: Vec<Option<wgpu::BindGroup>>,
    pub(super) zero: Vec<wgpu::BindGroup>,
}

/// The uniforms of the multigrid kernels, per level (shared by both hierarchies).
pub(super) struct LevelParams {
    pub(super) grid: Vec<wgpu::Buffer>,
    pub(super) mg: Vec<[wgpu::Buffer; 2]>,
    /// mg_smooth's second pass over the last z-section, on levels whose nz is odd and > 1.
    pub(super) mg_last: Vec<Option<[wgpu::Buffer; 2]>>,
    /// Transfer from level l to l + 1, one set for each coarse correction of
    /// [`LevelParams::CORRECTIONS`], in its order.
    pub(super) transfer: [Vec<Option<wgpu::Buffer>>; 2],
}

impl LevelParams {
    /// The coarse corrections (lipf_core::solver::CoarseCorrection) `transfer` holds uniforms for.
    pub(super) const CORRECTIONS: [CoarseCorrection; 2] =
        [CoarseCorrection::OverCorrected, CoarseCorrection::Plain];

    /// The transfer uniforms of `correction`'s hierarchy.
    fn transfer(&self, correction: CoarseCorrection) -> &[Option<wgpu::Buffer>] {
        let i = Self::CORRECTIONS.iter().position(|&c| c == correction);
        &self.transfer[i.expect("a transfer set for every coarse correction")]
    }
}

impl LevelGroups {
    pub(super) fn new(
        ctx: &GpuContext,
        k: &Pipelines,
        h: &Hierarchy,
        lp: &LevelParams,
        correction: CoarseCorrection,
    ) -> LevelGroups {
        let levels = h.op.len();
        let transfer = lp.transfer(correction);
        let tr = |l: usize| transfer[l].as_ref().unwrap();
        LevelGroups {
            coarsen: (0..levels)
                .map(|l| {
                    (l > 0).then(|| {
                        k[KernelId::MgCoarsen].bind(ctx, &[tr(l - 1), &h.op[l - 1], &h.op[l]])
                    })
                })
                .collect(),
            smooth: (0..levels)
                .map(|l| {
                    [0, 1].map(|col| {
                        k[KernelId::MgSmooth]
                            .bind(ctx, &[&lp.mg[l][col], &h.op[l], &h.lb[l], &h.lx[l]])
                    })
                })
                .collect(),
            smooth_last: (0..levels)
                .map(|l| {
                    lp.mg_last[l].as_ref().map(|mg| {
                        [0, 1].map(|col| {
                            k[KernelId::MgSmooth]
                                .bind(ctx, &[&mg[col], &h.op[l], &h.lb[l], &h.lx[l]])
                        })
                    })
                })
                .collect(),
            residual: (0..levels)
                .map(|l| {
                    k[KernelId::MgResidual]
                        .bind(ctx, &[&lp.mg[l][0], &h.op[l], &h.lb[l], &h.lx[l], &h.lr[l]])
                })
                .collect(),
            restrict: (0..levels)
                .map(|l| {
                    (l + 1 < levels).then(|| {
                        k[KernelId::MgRestrict].bind(ctx, &[tr(l), &h.lr[l], &h.lb[l + 1]])
                    })
                })
                .collect(),
            prolong: (0..levels)
                .map(|l| {
                    (l + 1 < levels)
                        .then(|| k[KernelId::MgProlong].bind(ctx, &[tr(l), &h.lx[l + 1], &h.lx[l]]))
                })
                .collect(),
            zero: (0..levels)
                .map(|l| k[KernelId::FillZero].bind(ctx, &[&lp.grid[l], &h.lx[l]]))
                .collect(),
        }
    }
}

/// Bind groups of one target of the coupled solve, besides the ionic [`SolveGroups`].
pub(super) struct CoupledSolveGroups {
    /// r_s = b_s − A_s x_s.
    pub(super) residual: wgpu::BindGroup,
    /// r_l += S x_s, r_s += S x_l.
    pub(super) couple: wgpu::BindGroup,
    /// Σ|r| and Σ|b| over both blocks.
    pub(super) resnorm: wgpu::BindGroup,
    /// x_s += α p_s, r_s −= α q_s.
    pub(super) xr: wgpu::BindGroup,
    /// The shifts of (x_l, x_s) into the collector's frame and back (the Unit and Imposed
    /// solves; `relative_to_collector` of the CPU backend).
    pub(super) shift: Option<[wgpu::BindGroup; 2]>,
}

/// Bind groups of the two-potential form.
pub(super) struct CoupledGroups {
    pub(super) electronic_assemble: wgpu::BindGroup,
    pub(super) electronic: LevelGroups,
    pub(super) solves: Vec<CoupledSolveGroups>,
    /// q_s = A_s p_s, then q_l −= S p_s, q_s −= S p_l.
    pub(super) apply: wgpu::BindGroup,
    pub(super) couple_apply: wgpu::BindGroup,
    pub(super) dot_pq: wgpu::BindGroup,
    pub(super) dot_rz: wgpu::BindGroup,
    pub(super) l1_r: wgpu::BindGroup,
    pub(super) copy_zp: wgpu::BindGroup,
    pub(super) cg_p: wgpu::BindGroup,
    /// φ_s = φ_s0 + V φ_s1; b_s0 += V b_s1.
    pub(super) combine: wgpu::BindGroup,
    pub(super) add_rhs: wgpu::BindGroup,
}

/// Bind groups of the implicit Nernst–Planck step.
pub(super) struct NpGroups {
    /// np_assemble (the operator) and np_assemble_rhs (right-hand side, warm start).
    pub(super) assemble: wgpu::BindGroup,
    pub(super) assemble_rhs: wgpu::BindGroup,
    /// The V-cycle and coarsening of its hierarchy.
    pub(super) levels: LevelGroups,
    /// The CG target (rhs, u) and the product q = A p with its operator; the other CG vector
    /// groups are the potential's (`Groups`: dot_pq, dot_rz, l1_r, copy_zp, cg_p).
    pub(super) solve: SolveGroups,
    pub(super) apply: wgpu::BindGroup,
    /// c̃ = e^{−fφ} u.
    pub(super) finish: wgpu::BindGroup,
}

/// The uniforms and shared buffers the implicit Nernst–Planck groups bind.
pub(super) struct NpInputs<'a> {
    pub(super) conc_p: &'a wgpu::Buffer,
    pub(super) cg: CgUniforms<'a>,
}

impl NpGroups {
    pub(super) fn new(
        ctx: &GpuContext,
        k: &Pipelines,
        b: &Buffers,
        np: &NpBuffers,
        i: NpInputs,
    ) -> NpGroups {
        let c = ctx;
        let mg0 = &i.cg.lp.mg[0][0];
        let h = &np.hierarchy;
        let (op, r) = (&h.op[0], &h.lb[0]);
        NpGroups {
            assemble: k[KernelId::NpAssemble]
                .bind(c, &[i.conc_p, &b.xi, &b.phi, &b.potential, &b.control, op]),
            assemble_rhs: k[KernelId::NpAssembleRhs].bind(
                c,
                &[
                    i.conc_p,
                    &b.potential,
                    &b.control,
                    op,
                    &b.rate,
                    &b.conc,
                    &np.rhs,
                    &np.u,
                ],
            ),
            levels: LevelGroups::new(c, k, h, i.cg.lp, CoarseCorrection::Plain),
            solve: SolveGroups::new(c, k, b, &i.cg, [op, &np.rhs, &np.u, r]),
            apply: k[KernelId::MgApply].bind(c, &[mg0, op, &b.p, &b.q]),
            finish: k[KernelId::NpFinish].bind(c, &[i.conc_p, &b.potential, &np.u, &b.conc]),
        }
    }
}

/// The bind groups of the ξ increment's step (the semi-implicit gradient term).
pub(super) struct XiGradientGroups {
    /// xi_gradient_operator (the operator from the step's Δt) and xi_gradient_rhs.
    pub(super) operator: wgpu::BindGroup,
    pub(super) rhs: wgpu::BindGroup,
    /// The V-cycle and coarsening of its hierarchy.
    pub(super) levels: LevelGroups,
    /// The CG target (rhs, δ) and q = A p with its operator (the other CG vector groups are the
    /// potential's).
    pub(super) solve: SolveGroups,
    pub(super) apply: wgpu::BindGroup,
    /// ξ += δ (compensated).
    pub(super) finish: wgpu::BindGroup,
}

/// The uniforms and shared buffers the ξ increment's groups bind.
pub(super) struct XiGradientInputs<'a> {
    pub(super) params: &'a wgpu::Buffer,
    pub(super) cg: CgUniforms<'a>,
}

impl XiGradientGroups {
    pub(super) fn new(
        ctx: &GpuContext,
        k: &Pipelines,
        b: &Buffers,
        xg: &XiGradientBuffers,
        i: XiGradientInputs,
    ) -> XiGradientGroups {
        let c = ctx;
        let (g0, mg0) = (&i.cg.lp.grid[0], &i.cg.lp.mg[0][0]);
        let h = &xg.hierarchy;
        let (op, r) = (&h.op[0], &h.lb[0]);
        XiGradientGroups {
            operator: k[KernelId::XiGradientOperator].bind(c, &[i.params, &b.control, op]),
            rhs: k[KernelId::XiGradientRhs]
                .bind(c, &[g0, &b.rate, &b.control, &b.noise, &xg.rhs, &xg.delta]),
            // Unscaled coarse corrections, as the CPU's (`cpu_backend.rs`): the diagonal 1
            // dominates where the step is short.
            levels: LevelGroups::new(c, k, h, i.cg.lp, CoarseCorrection::Plain),
            solve: SolveGroups::new(c, k, b, &i.cg, [op, &xg.rhs, &xg.delta, r]),
            apply: k[KernelId::MgApply].bind(c, &[mg0, op, &b.p, &b.q]),
            finish: k[KernelId::XiGradientFinish].bind(c, &[g0, &xg.delta, &b.xi, &b.xi_lo]),
        }
    }
}

pub(super) struct Groups {
    pub(super) xi_rate: wgpu::BindGroup,
    pub(super) assemble: wgpu::BindGroup,
    pub(super) mg: LevelGroups,
    pub(super) coupled: Option<CoupledGroups>,
    pub(super) solves: Vec<SolveGroups>,
    pub(super) apply: wgpu::BindGroup,
    pub(super) dot_pq: wgpu::BindGroup,
    pub(super) dot_rz: wgpu::BindGroup,
    pub(super) l1_r: wgpu::BindGroup,
    pub(super) copy_zp: wgpu::BindGroup,
    pub(super) cg_p: wgpu::BindGroup,
    pub(super) collector: wgpu::BindGroup,
    pub(super) combine: wgpu::BindGroup,
    pub(super) add_rhs: wgpu::BindGroup,
    pub(super) top_current: wgpu::BindGroup,
    pub(super) reaction: wgpu::BindGroup,
    pub(super) step_begin: wgpu::BindGroup,
    pub(super) dt_partials: wgpu::BindGroup,
    pub(super) time_step: wgpu::BindGroup,
    pub(super) np_coefficients: wgpu::BindGroup,
    pub(super) np_substep: wgpu::BindGroup,
    /// The implicit Nernst–Planck step (model.nernst_planck = "implicit" only).
    pub(super) np: Option<NpGroups>,
    /// The creep step (creep.enabled only).
    pub(super) creep: Option<CreepGroups>,
    /// The ξ increment's step (model.allen_cahn_gradient = "implicit" only).
    pub(super) xi_gradient: Option<XiGradientGroups>,
    pub(super) xi_noise: wgpu::BindGroup,
    pub(super) xi_update: wgpu::BindGroup,
    pub(super) copy_conc: wgpu::BindGroup,
    pub(super) copy_eta: wgpu::BindGroup,
    pub(super) observables: wgpu::BindGroup,
    pub(super) range: wgpu::BindGroup,
}
