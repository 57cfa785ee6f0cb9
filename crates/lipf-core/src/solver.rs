//! The potential solver on the CPU: conjugate gradients preconditioned by one multigrid V-cycle.
//!
//! Multigrid: piecewise-constant 2×2 (3D: 2×2×2) aggregation with Galerkin coarse operators
//! ([`crate::cpu::mg_coarsen`]), symmetric red–black Gauss–Seidel smoothing
//! ([`crate::cpu::mg_smooth`]) and a dense Cholesky solve on the coarsest level. Galerkin
//! aggregation keeps the conductivity contrast of every level exact, so the preconditioner stays
//! effective with LLZO walls between floored pores; CG removes the modest convergence loss of
//! constant prolongation. The V-cycle is symmetric, so it is a valid CG preconditioner.
//!
//! Convergence is measured as Σ|b − A x| in the units of the equations (A/m per unit depth): the
//! signed sum of the residual is exactly the mismatch between the boundary current and the
//! integrated reaction source, so the tolerance bounds the Faraday error directly.

use crate::cpu::cg_control::CgControl;
use crate::cpu::cg_vectors::{cg_update_p, cg_update_xr};
use crate::cpu::mg_coarsen::mg_coarsen;
use crate::cpu::mg_prolong::mg_prolong;
use crate::cpu::mg_residual::{mg_apply, mg_residual};
use crate::cpu::mg_restrict::{coarse_len, mg_restrict};
use crate::cpu::mg_smooth::mg_smooth;
use crate::cpu::operator::Operator;
use crate::cpu::reduce::{dot, l1};
use crate::floating_clusters::FloatingClusters;

/// Over-correction of the coarse-grid correction. With 2×2 piecewise-constant aggregation the
/// Galerkin coarse operator of a 2D diffusion problem is twice as stiff as a rediscretisation,
/// so the plain correction is about half as large as it should be (Braess 1995, Notay 2010).
/// A constant factor keeps the V-cycle symmetric.
pub const COARSE_CORRECTION_SCALE: f64 = 1.8;

/// The same for the W-cycle, where each coarse problem is solved more accurately (two cycles):
/// measured best among 1.0–2.0 on the paper case at Δx = 0.125 µm (68.6, 39.6, 31.4, 22.9 CG
/// iterations per step at 1.0, 1.4, 1.6, 2.0); 2.2–2.5 gave 19.4–17.7 but leave less margin
/// to the loss of positive definiteness of the preconditioner, which CG needs.
pub const W_COARSE_CORRECTION_SCALE: f64 = 2.0;

/// The W-cycle visits a coarse level twice only while it has at least this many cells; below,
/// the cycle continues as a V-cycle. Coarse levels cost little arithmetic but one dispatch per
/// kernel on a GPU, and a full W-cycle visits level l 2^l times (the GPU's hierarchy goes down
/// to one cell). Measured on the paper case (CG iterations per step, two solves): the full
/// W-cycle 16.1 at 0.25 µm and 22.9 at 0.125 µm; with this rule 16.1 and 22.8 (at 1024: 25.6
/// and 25.1). Where the second visit is skipped the V-cycle's over-correction applies: 2.0
/// below a single visit made the preconditioner lose definiteness (CG stalled at step 0).
pub const W_MIN_CELLS: usize = 256;

/// Levels are coarsened until a level has at most this many cells.
const COARSEST_MAX_CELLS: usize = 64;

struct Level {
    op: Operator,
    b: Vec<f64>,
    x: Vec<f64>,
    r: Vec<f64>,
    /// The first coarse cycle's solution while the W-cycle's second one runs.
    t: Vec<f64>,
}

/// Dense Cholesky factor L (row-major, lower) of a coarsest operator: the 2D potential operator
/// here, the 3D conductivity operator of the scaffold metrics.
pub(crate) struct DenseCholesky {
    n: usize,
    l: Vec<f64>,
}

impl DenseCholesky {
    fn factor(op: &Operator) -> Result<DenseCholesky, String> {
        let n = op.cells();
        let nx = op.nx;
        let mut a = vec![0.0; n * n];
        for r in 0..op.rows() {
            let nb = op.row(r);
            for i in 0..nx {
                let k = r * nx + i;
                a[k * n + k] += op.diag[k];
                let mut couple = |m: usize, t: f64| {
                    a[k * n + m] -= t;
                    a[m * n + k] -= t;
                };
                if nx > 1 {
                    couple(r * nx + (i + 1) % nx, op.tx[k]);
                }
                if let Some(u) = nb.north {
                    couple(u + i, op.ty[k]);
                }
                if let Some(f) = nb.front {
                    couple(f + i, op.tz[k]);
                }
            }
        }
        DenseCholesky::factor_dense(&a, n).map_err(|(d, c)| {
            format!(
                "coarsest potential operator is not positive definite (pivot {d:e} at {c}); \
                 the potential problem needs a Dirichlet boundary or a positive diagonal"
            )
        })
    }

    /// Factors the row-major symmetric `n × n` matrix `a`; fails with (pivot, row) on a pivot
    /// that is not positive.
    pub(crate) fn factor_dense(a: &[f64], n: usize) -> Result<DenseCholesky, (f64, usize)> {
        let mut l = vec![0.0; n * n];
        for c in 0..n {
            let mut d = a[c * n + c];
            for k in 0..c {
                d -= l[c * n + k] * l[c * n + k];
            }
            if d <= 0.0 || !d.is_finite() {
                return Err((d, c));
            }
            let d = d.sqrt();
            l[c * n + c] = d;
            for r in (c + 1)..n {
                let mut v = a[r * n + c];
                for k in 0..c {
                    v -= l[r * n + k] * l[c * n + k];
                }
                l[r * n + c] = v / d;
            }
        }
        Ok(DenseCholesky { n, l })
    }

    /// x = (L Lᵀ)⁻¹ b.
    pub(crate) fn solve(&self, b: &[f64], x: &mut [f64]) {
        let (n, l) = (self.n, &self.l);
        for r in 0..n {
            let mut v = b[r];
            for k in 0..r {
                v -= l[r * n + k] * x[k];
            }
            x[r] = v / l[r * n + r];
        }
        for r in (0..n).rev() {
            let mut v = x[r];
            for k in (r + 1)..n {
                v -= l[k * n + r] * x[k];
            }
            x[r] = v / l[r * n + r];
        }
    }
}

pub use crate::config::Cycle;

/// Whether a cycle visits the coarse level below the current one twice (the W-cycle's rule,
/// shared by the CPU and GPU backends): `coarse_cells` is that level's size and
/// `coarse_is_coarsest` whether it is the last level (solved exactly, so once is enough).
pub fn second_coarse_visit(cycle: Cycle, coarse_cells: usize, coarse_is_coarsest: bool) -> bool {
    cycle == Cycle::W && !coarse_is_coarsest && coarse_cells >= W_MIN_CELLS
}

/// How a multigrid scales its coarse corrections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoarseCorrection {
    /// Over-corrected: [`COARSE_CORRECTION_SCALE`] after one coarse visit,
    /// [`W_COARSE_CORRECTION_SCALE`] after two (the potentials and the creep flow).
    OverCorrected,
    /// Unscaled (1 on every level): the implicit Nernst–Planck step. Its operator (a diagonal
    /// e^{−fφ} and face weights that vary as e^{−fφ} across the domain,
    /// docs/models/phase-field.md §9.4) is not the pure diffusion the over-correction is tuned
    /// for. Measured on a 20 µm
    /// strip of the liquid reference case (configs/dendrites/liquid-hong-viswanathan.json): with
    /// the potentials' 1.8 the preconditioner loses definiteness and CG stalls at step 315 (the
    /// residual at 9.7e-6 against 4e-8 after 2000 iterations); unscaled it takes 4–12 iterations
    /// per step to 70 s. Scaling the over-correction per coarse cell by the share of the diagonal
    /// that is conductance (1.8 where faces dominate, 1 where the diagonal does) did not help
    /// (19–2000 iterations).
    Plain,
}

impl CoarseCorrection {
    /// The factor of a coarse correction after one visit of the coarse level or two
    /// (`second_visit`: the W-cycle's second visit, [`second_coarse_visit`]).
    pub fn scale(self, second_visit: bool) -> f64 {
        match (self, second_visit) {
            (CoarseCorrection::Plain, _) => 1.0,
            (CoarseCorrection::OverCorrected, false) => COARSE_CORRECTION_SCALE,
            (CoarseCorrection::OverCorrected, true) => W_COARSE_CORRECTION_SCALE,
        }
    }
}

/// Statistics of one solve.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SolveStats {
    pub iterations: usize,
    /// Σ|b − A x| at exit, in the units of b.
    pub residual_l1: f64,
    pub converged: bool,
}

impl From<CgControl> for SolveStats {
    fn from(cg: CgControl) -> SolveStats {
        SolveStats {
            iterations: cg.iterations,
            residual_l1: cg.res,
            converged: cg.converged,
        }
    }
}

/// A multigrid hierarchy for one grid size; rebuilt in place whenever the operator changes.
pub struct Multigrid {
    levels: Vec<Level>,
    coarse: Option<DenseCholesky>,
    sweeps: usize,
    cycle: Cycle,
    correction: CoarseCorrection,
    /// The floating clusters' correction around each cycle (`with_floating_clusters`): None
    /// when not asked for, Some(empty) before `setup` found any.
    floating: Option<Box<FloatingClusters>>,
    // CG work vectors on the finest level.
    r: Vec<f64>,
    z: Vec<f64>,
    p: Vec<f64>,
    q: Vec<f64>,
}

impl Multigrid {
    /// A V-cycle hierarchy (see [`Multigrid::with_cycle`]).
    pub fn new(nx: usize, ny: usize, sweeps: usize) -> Multigrid {
        Multigrid::with_cycle(nx, ny, sweeps, Cycle::V)
    }

    /// A 2D section's hierarchy (nz = 1, see [`Multigrid::with_shape`]).
    pub fn with_cycle(nx: usize, ny: usize, sweeps: usize, cycle: Cycle) -> Multigrid {
        Multigrid::with_shape([nx, ny, 1], sweeps, cycle)
    }

    /// The hierarchy of an nx × ny × nz grid: levels of 2×2×2 aggregates (2×2 when nz = 1)
    /// until a level has at most 64 cells, `sweeps` red–black sweep pairs before and after each
    /// coarse correction, a V- or W-cycle.
    pub fn with_shape([nx, ny, nz]: [usize; 3], sweeps: usize, cycle: Cycle) -> Multigrid {
        let mut levels = Vec::new();
        let (mut cx, mut cy, mut cz) = (nx, ny, nz);
        loop {
            let n = cx * cy * cz;
            // Only a coarse level that a W-cycle can visit twice holds its first solution.
            let twice = !levels.is_empty() && second_coarse_visit(cycle, n, false);
            levels.push(Level {
                op: Operator::zeros3(cx, cy, cz),
                b: vec![0.0; n],
                x: vec![0.0; n],
                r: vec![0.0; n],
                t: vec![0.0; if twice { n } else { 0 }],
            });
            if n <= COARSEST_MAX_CELLS || (cx == 1 && cy == 1 && cz == 1) {
                break;
            }
            cx = coarse_len(cx);
            cy = coarse_len(cy);
            cz = coarse_len(cz);
        }
        let n = nx * ny * nz;
        Multigrid {
            levels,
            coarse: None,
            sweeps,
            cycle,
            correction: CoarseCorrection::OverCorrected,
            floating: None,
            r: vec![0.0; n],
            z: vec![0.0; n],
            p: vec![0.0; n],
            q: vec![0.0; n],
        }
    }

    /// The same hierarchy with coarse corrections scaled as `correction` says (the default is
    /// [`CoarseCorrection::OverCorrected`]).
    pub fn with_correction(mut self, correction: CoarseCorrection) -> Multigrid {
        self.correction = correction;
        self
    }

    /// The same hierarchy with a correction for floating clusters around each cycle (see
    /// [`crate::floating_clusters`]): for conduction problems whose strongly conducting cells may
    /// form islands held only by a floor (the scaffold metrics). The clusters are found in
    /// [`Multigrid::setup`]. With the correction the preconditioner is
    /// I − M⁻¹A = (I − CA)(I − VA)(I − CA), symmetric as the cycle V is.
    pub fn with_floating_clusters(mut self) -> Multigrid {
        self.floating = Some(Box::default());
        self
    }

    pub fn levels(&self) -> usize {
        self.levels.len()
    }

    /// Builds the coarse operators from the finest one (Galerkin) and factors the coarsest.
    pub fn setup(&mut self, fine: &Operator) -> Result<(), String> {
        self.levels[0].op.clone_from(fine);
        for l in 1..self.levels.len() {
            let (f, c) = self.levels.split_at_mut(l);
            mg_coarsen(&f[l - 1].op, &mut c[0].op);
        }
        self.coarse = Some(DenseCholesky::factor(&self.levels.last().unwrap().op)?);
        if self.floating.is_some() {
            self.floating = Some(Box::new(FloatingClusters::new(fine)));
        }
        Ok(())
    }

    /// x = M⁻¹ b: one cycle (V or W) from a zero initial guess, starting on level `l`.
    fn vcycle(&mut self, l: usize) {
        let last = self.levels.len() - 1;
        if l == last {
            let lev = &mut self.levels[l];
            self.coarse
                .as_ref()
                .expect("setup() before solve")
                .solve(&lev.b, &mut lev.x);
            return;
        }
        {
            let lev = &mut self.levels[l];
            lev.x.iter_mut().for_each(|v| *v = 0.0);
            for _ in 0..self.sweeps {
                mg_smooth(&lev.op, &lev.b, &mut lev.x, 0);
                mg_smooth(&lev.op, &lev.b, &mut lev.x, 1);
            }
            mg_residual(&lev.op, &lev.b, &lev.x, &mut lev.r);
        }
        {
            let (f, c) = self.levels.split_at_mut(l + 1);
            mg_restrict(&f[l].r, f[l].op.shape(), &mut c[0].b);
        }
        self.vcycle(l + 1);
        // Second coarse cycle on the residual of the first: x_c ← x_c + M_c⁻¹(b_c − A_c x_c).
        let twice = second_coarse_visit(
            self.cycle,
            self.levels[l + 1].op.cells(),
            l + 2 == self.levels.len(),
        );
        if twice {
            {
                let c = &mut self.levels[l + 1];
                mg_residual(&c.op, &c.b, &c.x, &mut c.r);
                std::mem::swap(&mut c.t, &mut c.x);
                std::mem::swap(&mut c.b, &mut c.r);
            }
            self.vcycle(l + 1);
            let c = &mut self.levels[l + 1];
            for (x, t) in c.x.iter_mut().zip(&c.t) {
                *x += t;
            }
        }
        // The over-correction suited to how accurately the coarse problem was solved.
        let scale = self.correction.scale(twice);
        let (f, c) = self.levels.split_at_mut(l + 1);
        let lev = &mut f[l];
        mg_prolong(&c[0].x, scale, lev.op.shape(), &mut lev.x);
        for _ in 0..self.sweeps {
            mg_smooth(&lev.op, &lev.b, &mut lev.x, 1);
            mg_smooth(&lev.op, &lev.b, &mut lev.x, 0);
        }
    }

    /// z = M⁻¹ r: one V-cycle on the operator given to [`Multigrid::setup`].
    pub fn vcycle_into(&mut self, r: &[f64], z: &mut [f64]) {
        self.levels[0].b.copy_from_slice(r);
        self.vcycle(0);
        z.copy_from_slice(&self.levels[0].x);
    }

    /// The finest operator (as given to [`Multigrid::setup`]).
    pub fn operator(&self) -> &Operator {
        &self.levels[0].op
    }

    fn precondition(&mut self) {
        self.levels[0].b.copy_from_slice(&self.r);
        let Some(fl) = self.floating.take().filter(|f| !f.is_empty()) else {
            self.vcycle(0);
            self.z.copy_from_slice(&self.levels[0].x);
            return;
        };
        // z1 = C r, and the cycle's right-hand side r1 = r − A z1.
        let first = fl.shifts(&self.levels[0].op, &self.r, None);
        let fine = &mut self.levels[0];
        fl.subtract_applied(&fine.op, &first, &mut fine.b);
        self.vcycle(0);
        // z2 = z1 + V r1; r2 = r − A z2 = r1 − A V r1 enters only through its cluster sums.
        let fine = &self.levels[0];
        let second = fl.shifts(&fine.op, &fine.b, Some(&fine.x));
        self.z.copy_from_slice(&fine.x);
        fl.add(&first, &mut self.z);
        fl.add(&second, &mut self.z);
        self.floating = Some(fl);
    }

    /// Solves A x = b (A given to [`Multigrid::setup`]) by preconditioned CG from the initial
    /// guess in `x`, until Σ|b − A x| ≤ `tol_l1`.
    pub fn solve(
        &mut self,
        b: &[f64],
        x: &mut [f64],
        tol_l1: f64,
        max_iterations: usize,
    ) -> SolveStats {
        let (nx, ny) = (self.levels[0].op.nx, self.levels[0].op.rows());
        let n = nx * ny;
        mg_residual(&self.levels[0].op, b, x, &mut self.r);
        let mut cg = CgControl::cg_begin(tol_l1, l1(&self.r, nx, ny));
        if cg.converged {
            return cg.into();
        }
        self.precondition();
        self.p.copy_from_slice(&self.z);
        cg.cg_rz0(dot(&self.r, &self.z, nx, ny));
        while cg.iterations < max_iterations {
            mg_apply(&self.levels[0].op, &self.p, &mut self.q);
            let Some(alpha) = cg.cg_alpha(dot(&self.p, &self.q, nx, ny)) else {
                break;
            };
            cg_update_xr(alpha, &self.p, &self.q, &mut x[..n], &mut self.r);
            if cg.cg_check(l1(&self.r, nx, ny)) {
                // Recompute the true residual: the recurrence drifts in long solves.
                mg_residual(&self.levels[0].op, b, x, &mut self.r);
                if cg.cg_check(l1(&self.r, nx, ny)) {
                    break;
                }
            }
            self.precondition();
            let beta = cg.cg_beta(dot(&self.r, &self.z, nx, ny));
            cg_update_p(beta, &self.z, &mut self.p);
        }
        cg.into()
    }
}

/// The coupled ionic–electronic problem of the two-potential form
/// (docs/models/phase-field.md §9.6):
///
///   [ A_l + S    −S    ] [φ_l]   [b_l]
///   [   −S     A_s + S ] [φ_s] = [b_s]
///
/// with A_l, A_s the ionic and electronic 5-point (3D: 7-point) operators and S ≥ 0 the
/// linearised reaction
/// (both operators carry S as their diagonal term, so `ionic.operator().s` is the coupling). The
/// matrix is symmetric positive definite, so CG applies; the preconditioner is block-diagonal, one
/// multigrid V-cycle on each operator. Where the reaction couples the two potentials more
/// strongly than either conducts (the diffuse tail of Li facing a pore: S ∝ ξ, σ_s ∝ ξ³,
/// σ_l = floor) it sees S as stiffness in both fields and misses that their common shift costs
/// almost nothing; such cells leave small eigenvalues, which cost CG iterations (measured: on a
/// Li disk floating in a pore under stripping CG stalls near 1e-4 of the current). An additive
/// common-mode term, one more V-cycle on A_l + A_s, did not cure that and cost 1.6× the
/// iterations on the smoke case (20 against 12 per step); a 2×2-block smoother that relaxes φ_l
/// and φ_s of a cell together is the known remedy.
pub struct CoupledMultigrid {
    pub ionic: Multigrid,
    pub electronic: Multigrid,
    r: [Vec<f64>; 2],
    z: [Vec<f64>; 2],
    p: [Vec<f64>; 2],
    q: [Vec<f64>; 2],
}

impl CoupledMultigrid {
    pub fn new(nx: usize, ny: usize, sweeps: usize, cycle: Cycle) -> CoupledMultigrid {
        CoupledMultigrid::with_shape([nx, ny, 1], sweeps, cycle)
    }

    /// The two hierarchies of an nx × ny × nz grid (see [`Multigrid::with_shape`]).
    pub fn with_shape(shape: [usize; 3], sweeps: usize, cycle: Cycle) -> CoupledMultigrid {
        let n = shape.iter().product();
        let two = || [vec![0.0; n], vec![0.0; n]];
        CoupledMultigrid {
            ionic: Multigrid::with_shape(shape, sweeps, cycle),
            electronic: Multigrid::with_shape(shape, sweeps, cycle),
            r: two(),
            z: two(),
            p: two(),
            q: two(),
        }
    }

    /// Sets up both hierarchies. The two operators must carry the same S.
    pub fn setup(&mut self, ionic: &Operator, electronic: &Operator) -> Result<(), String> {
        debug_assert_eq!(ionic.s, electronic.s);
        self.ionic.setup(ionic)?;
        self.electronic.setup(electronic)
    }

    /// y = K x for the block matrix K.
    fn apply(&self, x: [&[f64]; 2], y: &mut [Vec<f64>; 2]) {
        let (ol, os) = (self.ionic.operator(), self.electronic.operator());
        mg_apply(ol, x[0], &mut y[0]);
        mg_apply(os, x[1], &mut y[1]);
        let [y0, y1] = y;
        for k in 0..ol.s.len() {
            let s = ol.s[k];
            y0[k] -= s * x[1][k];
            y1[k] -= s * x[0][k];
        }
    }

    fn residual(&mut self, b: [&[f64]; 2], x: [&[f64]; 2]) {
        let mut r = std::mem::take(&mut self.r);
        self.apply(x, &mut r);
        for (rb, bb) in r.iter_mut().zip(b) {
            for (v, &bv) in rb.iter_mut().zip(bb) {
                *v = bv - *v;
            }
        }
        self.r = r;
    }

    fn precondition(&mut self) {
        self.ionic.vcycle_into(&self.r[0], &mut self.z[0]);
        self.electronic.vcycle_into(&self.r[1], &mut self.z[1]);
    }

    /// Solves K (x_l, x_s) = (b_l, b_s) by block-preconditioned CG from the initial guesses in
    /// `x_l`, `x_s`, until Σ|b − K x| over both blocks ≤ `tol_l1` (A/m: the current imbalance
    /// of ions and electrons together).
    pub fn solve(
        &mut self,
        b_l: &[f64],
        b_s: &[f64],
        x_l: &mut [f64],
        x_s: &mut [f64],
        tol_l1: f64,
        max_iterations: usize,
    ) -> SolveStats {
        let (nx, ny) = (self.ionic.operator().nx, self.ionic.operator().rows());
        let l1_2 = |r: &[Vec<f64>; 2]| l1(&r[0], nx, ny) + l1(&r[1], nx, ny);
        let dot_2 = |a: &[Vec<f64>; 2], b: &[Vec<f64>; 2]| {
            dot(&a[0], &b[0], nx, ny) + dot(&a[1], &b[1], nx, ny)
        };
        self.residual([b_l, b_s], [x_l, x_s]);
        let mut cg = CgControl::cg_begin(tol_l1, l1_2(&self.r));
        if cg.converged {
            return cg.into();
        }
        self.precondition();
        self.p.clone_from(&self.z);
        cg.cg_rz0(dot_2(&self.r, &self.z));
        while cg.iterations < max_iterations {
            let mut q = std::mem::take(&mut self.q);
            self.apply([&self.p[0], &self.p[1]], &mut q);
            self.q = q;
            let Some(alpha) = cg.cg_alpha(dot_2(&self.p, &self.q)) else {
                break;
            };
            for (b, x) in [&mut *x_l, &mut *x_s].into_iter().enumerate() {
                cg_update_xr(alpha, &self.p[b], &self.q[b], x, &mut self.r[b]);
            }
            if cg.cg_check(l1_2(&self.r)) {
                self.residual([b_l, b_s], [x_l, x_s]);
                if cg.cg_check(l1_2(&self.r)) {
                    break;
                }
            }
            self.precondition();
            let beta = cg.cg_beta(dot_2(&self.r, &self.z));
            for b in 0..2 {
                cg_update_p(beta, &self.z[b], &mut self.p[b]);
            }
        }
        cg.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A high-contrast operator: conductance 1 in "LLZO" columns, 1e-6 in "pores".
    fn contrast_operator(nx: usize, ny: usize) -> Operator {
        let mut op = Operator::zeros(nx, ny);
        let sigma = |i: usize, j: usize| {
            if (i / 3).is_multiple_of(2) || j > ny * 3 / 4 {
                1.0
            } else {
                1e-6
            }
        };
        for j in 0..ny {
            for i in 0..nx {
                let k = j * nx + i;
                let (a, e) = (sigma(i, j), sigma((i + 1) % nx, j));
                op.tx[k] = 2.0 * a * e / (a + e);
                op.ty[k] = if j + 1 < ny {
                    let u = sigma(i, j + 1);
                    2.0 * a * u / (a + u)
                } else {
                    2.0 * a
                };
            }
        }
        op.update_diagonal();
        op
    }

    #[test]
    fn pcg_multigrid_solves_high_contrast_problem_across_odd_sizes() {
        for &(nx, ny) in &[(67, 45), (64, 64), (1, 50), (30, 7)] {
            let op = contrast_operator(nx, ny);
            let mut mg = Multigrid::new(nx, ny, 2);
            mg.setup(&op).unwrap();
            let b: Vec<f64> = (0..nx * ny)
                .map(|k| ((k * 7919) % 13) as f64 - 6.0)
                .collect();
            let mut x = vec![0.0; nx * ny];
            let tol = 1e-10 * b.iter().map(|v| v.abs()).sum::<f64>();
            let st = mg.solve(&b, &mut x, tol, 200);
            assert!(st.converged, "{nx}x{ny}: {st:?}");
            eprintln!("{nx}x{ny}: {st:?}");
            assert!(st.iterations < 60, "{nx}x{ny}: too many iterations {st:?}");
            let mut r = vec![0.0; nx * ny];
            mg_residual(&op, &b, &x, &mut r);
            assert!(r.iter().map(|v| v.abs()).sum::<f64>() <= tol * 1.0001);
        }
    }

    /// The same contrast in 3D: "LLZO" columns along y where (i/3 + k/2) is even, joined by the
    /// top quarter (no LLZO island floats; islands are `crate::floating_clusters`' subject).
    fn contrast_operator_3d([nx, ny, nz]: [usize; 3]) -> Operator {
        let sigma: Vec<f64> = (0..nx * ny * nz)
            .map(|c| {
                let (i, j, k) = (c % nx, (c / nx) % ny, c / (nx * ny));
                if (i / 3 + k / 2).is_multiple_of(2) || j > ny * 3 / 4 {
                    1.0
                } else {
                    1e-6
                }
            })
            .collect();
        let mut op = Operator::zeros3(nx, ny, nz);
        op.set_face_conductances(&sigma);
        op.update_diagonal();
        op
    }

    #[test]
    fn pcg_multigrid_solves_a_3d_high_contrast_problem_across_odd_sizes() {
        // Odd lengths in every direction (last aggregates of one cell, the odd z seam of the
        // smoother), one column, two sections, and a section of one cell (the 2D problem).
        for shape in [
            [19, 21, 5],
            [16, 16, 16],
            [1, 30, 7],
            [12, 10, 2],
            [15, 13, 1],
        ] {
            let op = contrast_operator_3d(shape);
            let n = op.cells();
            let mut mg = Multigrid::with_shape(shape, 2, Cycle::V);
            mg.setup(&op).unwrap();
            let b: Vec<f64> = (0..n).map(|k| ((k * 7919) % 13) as f64 - 6.0).collect();
            let mut x = vec![0.0; n];
            let tol = 1e-10 * b.iter().map(|v| v.abs()).sum::<f64>();
            let st = mg.solve(&b, &mut x, tol, 200);
            eprintln!("{shape:?}: {st:?}");
            assert!(st.converged, "{shape:?}: {st:?}");
            assert!(st.iterations < 60, "{shape:?}: too many iterations {st:?}");
            let mut r = vec![0.0; n];
            mg_residual(&op, &b, &x, &mut r);
            assert!(r.iter().map(|v| v.abs()).sum::<f64>() <= tol * 1.0001);
            // The dense factor of the whole operator gives the same solution.
            if n <= 2000 {
                let mut xd = vec![0.0; n];
                DenseCholesky::factor(&op).unwrap().solve(&b, &mut xd);
                let scale = xd.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let worst = x
                    .iter()
                    .zip(&xd)
                    .fold(0.0f64, |m, (a, d)| m.max((a - d).abs()));
                assert!(worst <= 1e-6 * scale, "{shape:?}: {worst:e} of {scale:e}");
            }
        }
    }

    #[test]
    fn a_section_of_one_cell_is_the_2d_operator_bit_for_bit() {
        // The same 2D problem through the 2D and the 3D constructors: identical arithmetic.
        let (nx, ny) = (23, 17);
        let op2 = contrast_operator(nx, ny);
        let mut op3 = Operator::zeros3(nx, ny, 1);
        op3.tx.clone_from(&op2.tx);
        op3.ty.clone_from(&op2.ty);
        op3.update_diagonal();
        assert_eq!(op3.diag, op2.diag);
        let b: Vec<f64> = (0..nx * ny).map(|k| ((k * 31) % 17) as f64 - 8.0).collect();
        let solve = |mut mg: Multigrid, op: &Operator| {
            mg.setup(op).unwrap();
            let mut x = vec![0.0; nx * ny];
            mg.solve(&b, &mut x, 1e-9 * 8.0 * (nx * ny) as f64, 100);
            x
        };
        let x2 = solve(Multigrid::new(nx, ny, 2), &op2);
        let x3 = solve(Multigrid::with_shape([nx, ny, 1], 2, Cycle::V), &op3);
        assert!(x2.iter().zip(&x3).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn dense_cholesky_matches_operator() {
        let op = contrast_operator(5, 6);
        let ch = DenseCholesky::factor(&op).unwrap();
        let b: Vec<f64> = (0..30).map(|k| k as f64).collect();
        let mut x = vec![0.0; 30];
        ch.solve(&b, &mut x);
        let mut r = vec![0.0; 30];
        mg_residual(&op, &b, &x, &mut r);
        assert!(r.iter().all(|v| v.abs() < 1e-6), "{r:?}");
    }
}
