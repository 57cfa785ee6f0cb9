//! The 3D conduction solve: a 7-point finite-volume operator on an nx × ny × nz grid (cell
//! (k·ny + j)·nx + i), CG preconditioned by one multigrid V-cycle. Used by the 3D scaffold
//! metrics ([`crate::metrics::conductivity`]); the 2D potential solve is [`crate::solver`].
//!
//! The discretisation is the 2D one with a z direction added: face conductances are harmonic
//! means of the two cells' σ (periodic in x and z; none along a direction of one cell), the
//! bottom and top cells conduct 2σ to their boundary half a cell away, and the per-cell balance
//! is (A φ)_c = Σ_faces T_f (φ_c − φ_nb) + T_boundary φ_c. The solve stops, as in 2D, when
//! Σ|b − A x| ≤ 1e-12 Σ|b|.
//!
//! Preconditioner (the 2D potential solver's scheme in 3D, see `crate::solver`): 2×2×2
//! piecewise-constant aggregation with Galerkin coarse operators (the coarse conductances are the
//! sums of the fine conductances that cross each coarse face, so the 1e9 contrast between LLZO
//! and floored pores is kept exactly on every level), red–black Gauss–Seidel smoothing, a dense
//! Cholesky solve on the coarsest level and an over-corrected coarse correction. The post-
//! smoother runs the pre-smoother's updates in exactly the reverse order, so the V-cycle is a
//! symmetric operator and a valid CG preconditioner. Isolated pore cells (floor conductivity in
//! LLZO) are relaxed by the smoother like any other cell; their residuals are ~1e-9 of the
//! LLZO cells' and do not hold up the stopping test. LLZO islands in pores (clusters that only
//! the floor joins to the rest) are near-null modes of A that the V-cycle cannot see; a
//! correction on their indicators is applied before and after it (`FloatingClusters`).
//!
//! Measured on sphere-pore scaffolds (radius 5 cells, 40–50 % porosity; diffuse, voxels): CG
//! iterations 14, 15–17 at 64³ and 16–17, 21–24 at 128³, about 0.1 s per iteration at 128³ on
//! two cores. CG with a Jacobi preconditioner takes over 500 iterations on the 64³ diffuse field
//! and does not reach the tolerance on its voxels in 1000.
//!
//! Kernels run over x-lines (fixed (j, k)), in parallel with rayon above a size threshold; every
//! line is computed by one thread in a fixed order and the sums are taken per line in line order,
//! so the results do not depend on the number of threads.

use crate::cpu::cg_control::CgControl;
use crate::cpu::cg_vectors::{cg_update_p, cg_update_xr};
use crate::cpu::interp::harmonic_mean;
use crate::cpu::mg_restrict::coarse_len;
use crate::cpu::par::SharedMut;
use crate::cpu::reduce::{dot, l1};
use crate::solver::{DenseCholesky, SolveStats};
use rayon::prelude::*;

/// CG iterations at which a 3D solve gives up.
pub(crate) const MAX_ITERATIONS_3D: usize = 1000;

/// Red–black sweep pairs before and after each coarse correction.
const SWEEPS_3D: usize = 2;

/// Levels are coarsened until a level has at most this many cells (solved by dense Cholesky:
/// a 512² factor, which costs less than a fine-level sweep to apply).
const COARSEST_MAX_CELLS_3D: usize = 512;

/// Over-correction of the coarse-grid correction. As in 2D, the Galerkin operator of
/// piecewise-constant 2×2×2 aggregation is twice as stiff as a rediscretisation on the coarse
/// grid (the sum of four fine faces of conductance σΔx against σ·(2Δx)²/(2Δx) = 2σΔx), so the
/// plain correction is about half as large as it should be.
const COARSE_CORRECTION_SCALE_3D: f64 = 1.8;

/// Kernels run in parallel from this many cells on, with at least this many cells per task.
const PARALLEL_MIN_CELLS_3D: usize = crate::cpu::par::PARALLEL_MIN_CELLS;
const CELLS_PER_TASK_3D: usize = 4096;

/// The 7-point operator on an `nx × ny × nz` grid, cell c = (k·ny + j)·nx + i.
#[derive(Debug, Clone)]
pub(crate) struct Operator3 {
    nx: usize,
    ny: usize,
    nz: usize,
    /// Conductance between cell (i, j, k) and ((i+1) mod nx, j, k); 0 when nx = 1.
    tx: Vec<f64>,
    /// Conductance between (i, j, k) and (i, j+1, k); for j = ny−1, to the top boundary.
    ty: Vec<f64>,
    /// Conductance between (i, j, k) and (i, j, (k+1) mod nz); 0 when nz = 1.
    tz: Vec<f64>,
    /// Conductance of cell (i, 0, k) to the bottom boundary, at k·nx + i.
    pub(crate) tbot: Vec<f64>,
    /// Σ of the cell's conductances.
    diag: Vec<f64>,
}

/// The start of an x-line and of its four neighbouring lines (None where there is none).
#[derive(Debug, Clone, Copy)]
struct Line {
    base: usize,
    north: Option<usize>,
    south: Option<usize>,
    front: Option<usize>,
    back: Option<usize>,
}

impl Operator3 {
    fn zeros(nx: usize, ny: usize, nz: usize) -> Operator3 {
        let n = nx * ny * nz;
        Operator3 {
            nx,
            ny,
            nz,
            tx: vec![0.0; n],
            ty: vec![0.0; n],
            tz: vec![0.0; n],
            tbot: vec![0.0; nx * nz],
            diag: vec![0.0; n],
        }
    }

    pub(crate) fn cells(&self) -> usize {
        self.nx * self.ny * self.nz
    }

    fn lines(&self) -> usize {
        self.ny * self.nz
    }

    /// Face conductances from cell conductivities as [`Operator::set_face_conductances`] sets
    /// them in 2D (harmonic means inside, 2σ to the top), 2σ to the bottom boundary, and the
    /// diagonal.
    pub(crate) fn from_conductivities(sigma: &[f64], nx: usize, ny: usize, nz: usize) -> Operator3 {
        let mut op = Operator3::zeros(nx, ny, nz);
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    let c = (k * ny + j) * nx + i;
                    let e = (k * ny + j) * nx + (i + 1) % nx;
                    let f = (((k + 1) % nz) * ny + j) * nx + i;
                    op.tx[c] = if nx > 1 {
                        harmonic_mean(sigma[c], sigma[e])
                    } else {
                        0.0
                    };
                    op.ty[c] = if j + 1 < ny {
                        harmonic_mean(sigma[c], sigma[c + nx])
                    } else {
                        2.0 * sigma[c]
                    };
                    op.tz[c] = if nz > 1 {
                        harmonic_mean(sigma[c], sigma[f])
                    } else {
                        0.0
                    };
                }
            }
            for i in 0..nx {
                op.tbot[k * nx + i] = 2.0 * sigma[k * ny * nx + i];
            }
        }
        op.update_diagonal();
        op
    }

    /// The line of cells (·, j, k), l = k·ny + j.
    fn line(&self, l: usize) -> Line {
        let (nx, ny, nz) = (self.nx, self.ny, self.nz);
        let (k, j) = (l / ny, l % ny);
        let base = l * nx;
        Line {
            base,
            north: (j + 1 < ny).then_some(base + nx),
            south: (j > 0).then(|| base - nx),
            front: (nz > 1).then_some((((k + 1) % nz) * ny + j) * nx),
            back: (nz > 1).then_some((((k + nz - 1) % nz) * ny + j) * nx),
        }
    }

    /// Σ T_f x_nb over the faces of cell i of `line` (x read through `at`).
    #[inline(always)]
    fn coupling(&self, line: &Line, i: usize, at: impl Fn(usize) -> f64) -> f64 {
        let nx = self.nx;
        let c = line.base + i;
        let mut acc = 0.0;
        if nx > 1 {
            let e = if i + 1 == nx { 0 } else { i + 1 };
            let w = if i == 0 { nx - 1 } else { i - 1 };
            acc += self.tx[c] * at(line.base + e) + self.tx[line.base + w] * at(line.base + w);
        }
        if let Some(n) = line.north {
            acc += self.ty[c] * at(n + i);
        }
        if let Some(s) = line.south {
            acc += self.ty[s + i] * at(s + i);
        }
        if let Some(f) = line.front {
            acc += self.tz[c] * at(f + i);
        }
        if let Some(b) = line.back {
            acc += self.tz[b + i] * at(b + i);
        }
        acc
    }

    fn update_diagonal(&mut self) {
        let (nx, ny) = (self.nx, self.ny);
        for l in 0..self.lines() {
            let line = self.line(l);
            for i in 0..nx {
                let c = line.base + i;
                let mut d = self.ty[c];
                if nx > 1 {
                    let w = if i == 0 { nx - 1 } else { i - 1 };
                    d += self.tx[c] + self.tx[line.base + w];
                }
                d += match line.south {
                    Some(s) => self.ty[s + i],
                    None => self.tbot[(l / ny) * nx + i],
                };
                if let Some(b) = line.back {
                    d += self.tz[c] + self.tz[b + i];
                }
                self.diag[c] = d;
            }
        }
    }

    /// out = b − A x (or A x when `b` is None), line by line.
    fn residual(&self, b: Option<&[f64]>, x: &[f64], out: &mut [f64]) {
        let nx = self.nx;
        assert!(x.len() == self.cells() && out.len() == self.cells());
        for_lines(out, nx, |l, row| {
            let line = self.line(l);
            for (i, o) in row.iter_mut().enumerate() {
                let c = line.base + i;
                let ax = self.diag[c] * x[c] - self.coupling(&line, i, |q| x[q]);
                *o = match b {
                    Some(b) => b[c] - ax,
                    None => ax,
                };
            }
        });
    }

    /// One Gauss–Seidel sweep over the cells with (i + j + k) mod 2 == `colour`, in increasing
    /// order or (`reverse`) in exactly the opposite order, so that a forward sweep and the
    /// reverse sweep are each other's adjoints.
    ///
    /// Cells of one colour are coupled only across a periodic seam of odd length: within an
    /// x-line (cells 0 and nx−1, updated in order by the line's own thread) and between the
    /// first and the last z-slab (the last slab is swept after the others, or before them in
    /// reverse). Everything else is independent and runs line-parallel.
    fn smooth(&self, b: &[f64], x: &mut [f64], colour: usize, reverse: bool) {
        let (nx, ny, nz) = (self.nx, self.ny, self.nz);
        assert!(b.len() == self.cells() && x.len() == self.cells());
        let lines = self.lines();
        let split = if nz > 1 && nz % 2 == 1 {
            (nz - 1) * ny
        } else {
            lines
        };
        let ptr = SharedMut(x.as_mut_ptr());
        let sweep_line = |l: usize| {
            // The whole wrapper, not its field, is captured, so the closure is Send.
            let p = ptr;
            let line = self.line(l);
            let (k, j) = (l / ny, l % ny);
            // SAFETY: all indices are cells of x (asserted above: the operator's line geometry
            // addresses only cells below nx·ny·nz). This line's thread writes only its own
            // cells of this colour; it reads their neighbours, which have the other colour
            // except across the odd seams: in x within this line (this thread), in z the last
            // slab's, which no thread writes while slabs 0..nz−1 run and which alone is written
            // while it runs. So no cell is read by one thread while another writes it. Raw
            // pointers, not slices, because other lines' threads write other cells of x.
            let at = |q: usize| unsafe { *p.0.add(q) };
            let update = |i: usize| {
                let c = line.base + i;
                let v = (b[c] + self.coupling(&line, i, at)) / self.diag[c];
                unsafe { *p.0.add(c) = v };
            };
            let start = (j + k + colour) % 2;
            if reverse {
                (start..nx).step_by(2).rev().for_each(update);
            } else {
                (start..nx).step_by(2).for_each(update);
            }
        };
        let parallel = self.cells() >= PARALLEL_MIN_CELLS_3D;
        let min_lines = CELLS_PER_TASK_3D.div_ceil(nx).max(1);
        let run = |range: std::ops::Range<usize>| {
            if parallel {
                range
                    .into_par_iter()
                    .with_min_len(min_lines)
                    .for_each(sweep_line);
            } else {
                range.for_each(sweep_line);
            }
        };
        if reverse {
            run(split..lines);
            run(0..split);
        } else {
            run(0..split);
            run(split..lines);
        }
    }

    /// Calls `f(neighbour, conductance)` for the faces of cell c: `None` for the bottom or top
    /// boundary, none along a direction of one cell (x or z). With two cells along a periodic
    /// direction the neighbour appears twice, once for each face.
    #[inline]
    fn for_each_face(&self, c: usize, mut f: impl FnMut(Option<usize>, f64)) {
        let (nx, ny, nz) = (self.nx, self.ny, self.nz);
        let (i, j, k) = (c % nx, (c / nx) % ny, c / (nx * ny));
        if nx > 1 {
            let e = c - i + (i + 1) % nx;
            let w = c - i + (i + nx - 1) % nx;
            f(Some(e), self.tx[c]);
            f(Some(w), self.tx[w]);
        }
        if j + 1 < ny {
            f(Some(c + nx), self.ty[c]);
        } else {
            f(None, self.ty[c]);
        }
        if j > 0 {
            f(Some(c - nx), self.ty[c - nx]);
        } else {
            f(None, self.tbot[k * nx + i]);
        }
        if nz > 1 {
            let front = ((((k + 1) % nz) * ny) + j) * nx + i;
            let back = ((((k + nz - 1) % nz) * ny) + j) * nx + i;
            f(Some(front), self.tz[c]);
            f(Some(back), self.tz[back]);
        }
    }

    /// The current leaving through the top boundary (potential 0) for the potential x.
    pub(crate) fn top_outflow(&self, x: &[f64]) -> f64 {
        let (nx, ny) = (self.nx, self.ny);
        (0..self.nz)
            .flat_map(|k| {
                let base = (k * ny + ny - 1) * nx;
                base..base + nx
            })
            .map(|c| self.ty[c] * x[c])
            .sum()
    }

    /// The Galerkin operator Pᵀ A P of piecewise-constant aggregation over 2×2×2 blocks (a last
    /// block of one where a length is odd): every coarse face conducts the sum of the fine
    /// faces that cross it, the coarse bottom conductances are the sums of the fine ones.
    fn coarsen(&self) -> Operator3 {
        let (nx, ny, nz) = (self.nx, self.ny, self.nz);
        let (cx, cy, cz) = (coarse_len(nx), coarse_len(ny), coarse_len(nz));
        let mut coarse = Operator3::zeros(cx, cy, cz);
        let idx = |i: usize, j: usize, k: usize| (k * ny + j) * nx + i;
        let span = |c: usize, n: usize| 2 * c..(2 * c + 2).min(n);
        for kc in 0..cz {
            for jc in 0..cy {
                for ic in 0..cx {
                    let (si, sj, sk) = (span(ic, nx), span(jc, ny), span(kc, nz));
                    let (il, jl, kl) = (si.end - 1, sj.end - 1, sk.end - 1);
                    let (mut tx, mut ty, mut tz) = (0.0, 0.0, 0.0);
                    for k in sk.clone() {
                        for j in sj.clone() {
                            tx += self.tx[idx(il, j, k)];
                        }
                        for i in si.clone() {
                            ty += self.ty[idx(i, jl, k)];
                        }
                    }
                    for j in sj.clone() {
                        for i in si.clone() {
                            tz += self.tz[idx(i, j, kl)];
                        }
                    }
                    let c = (kc * cy + jc) * cx + ic;
                    // With one coarse cell along a periodic direction its faces join it to
                    // itself.
                    coarse.tx[c] = if cx > 1 { tx } else { 0.0 };
                    coarse.ty[c] = ty;
                    coarse.tz[c] = if cz > 1 { tz } else { 0.0 };
                }
            }
            for ic in 0..cx {
                coarse.tbot[kc * cx + ic] = span(kc, nz)
                    .flat_map(|k| span(ic, nx).map(move |i| k * nx + i))
                    .map(|q| self.tbot[q])
                    .sum();
            }
        }
        coarse.update_diagonal();
        coarse
    }

    /// The operator as a dense symmetric matrix (row-major, cells × cells).
    fn dense(&self) -> Vec<f64> {
        let n = self.cells();
        let mut a = vec![0.0; n * n];
        let nx = self.nx;
        for l in 0..self.lines() {
            let line = self.line(l);
            for i in 0..nx {
                let c = line.base + i;
                a[c * n + c] += self.diag[c];
                let mut couple = |m: usize, t: f64| {
                    a[c * n + m] -= t;
                    a[m * n + c] -= t;
                };
                if nx > 1 {
                    couple(line.base + (i + 1) % nx, self.tx[c]);
                }
                if let Some(north) = line.north {
                    couple(north + i, self.ty[c]);
                }
                if let Some(front) = line.front {
                    couple(front + i, self.tz[c]);
                }
            }
        }
        a
    }
}

/// Calls `f(l, line_l)` for every x-line of `out` (line length `nx`), in parallel on large grids.
fn for_lines<F>(out: &mut [f64], nx: usize, f: F)
where
    F: Fn(usize, &mut [f64]) + Sync + Send,
{
    if out.len() >= PARALLEL_MIN_CELLS_3D {
        let min_lines = CELLS_PER_TASK_3D.div_ceil(nx).max(1);
        out.par_chunks_mut(nx)
            .enumerate()
            .with_min_len(min_lines)
            .for_each(|(l, r)| f(l, r));
    } else {
        out.chunks_mut(nx).enumerate().for_each(|(l, r)| f(l, r));
    }
}

pub(crate) struct Level3 {
    pub(crate) op: Operator3,
    b: Vec<f64>,
    x: Vec<f64>,
    r: Vec<f64>,
}

/// Multigrid-preconditioned CG for one 3D operator.
pub(crate) struct Multigrid3 {
    pub(crate) levels: Vec<Level3>,
    coarse: DenseCholesky,
    floating: FloatingClusters,
}

impl Multigrid3 {
    /// The hierarchy of `fine`: Galerkin coarse operators down to at most
    /// [`COARSEST_MAX_CELLS_3D`] cells, the coarsest one factored.
    pub(crate) fn new(fine: Operator3) -> Result<Multigrid3, String> {
        let mut levels: Vec<Level3> = Vec::new();
        let mut op = fine;
        loop {
            let n = op.cells();
            let last = n <= COARSEST_MAX_CELLS_3D;
            let next = (!last).then(|| op.coarsen());
            levels.push(Level3 {
                op,
                b: vec![0.0; n],
                x: vec![0.0; n],
                r: vec![0.0; n],
            });
            match next {
                Some(c) => op = c,
                None => break,
            }
        }
        let coarsest = &levels.last().expect("at least one level").op;
        let coarse = DenseCholesky::factor_dense(&coarsest.dense(), coarsest.cells()).map_err(
            |(d, c)| {
                format!(
                    "coarsest conductivity operator is not positive definite (pivot {d:e} at {c})"
                )
            },
        )?;
        let floating = FloatingClusters::new(&levels[0].op);
        Ok(Multigrid3 {
            levels,
            coarse,
            floating,
        })
    }

    /// levels[l].x = M⁻¹ levels[l].b: one V-cycle from a zero initial guess.
    fn vcycle(&mut self, l: usize) {
        if l + 1 == self.levels.len() {
            let lev = &mut self.levels[l];
            self.coarse.solve(&lev.b, &mut lev.x);
            return;
        }
        {
            let lev = &mut self.levels[l];
            lev.x.iter_mut().for_each(|v| *v = 0.0);
            for _ in 0..SWEEPS_3D {
                lev.op.smooth(&lev.b, &mut lev.x, 0, false);
                lev.op.smooth(&lev.b, &mut lev.x, 1, false);
            }
            lev.op.residual(Some(&lev.b), &lev.x, &mut lev.r);
        }
        {
            let (f, c) = self.levels.split_at_mut(l + 1);
            restrict(&f[l].op, &f[l].r, &c[0].op, &mut c[0].b);
        }
        self.vcycle(l + 1);
        let (f, c) = self.levels.split_at_mut(l + 1);
        let lev = &mut f[l];
        prolong(
            &c[0].op,
            &c[0].x,
            COARSE_CORRECTION_SCALE_3D,
            &lev.op,
            &mut lev.x,
        );
        for _ in 0..SWEEPS_3D {
            lev.op.smooth(&lev.b, &mut lev.x, 1, true);
            lev.op.smooth(&lev.b, &mut lev.x, 0, true);
        }
    }

    /// Solves A x = b by preconditioned CG from the guess in `x` until Σ|b − A x| ≤ `tol_l1`,
    /// as [`Multigrid::solve`] does in 2D.
    pub(crate) fn solve(
        &mut self,
        b: &[f64],
        x: &mut [f64],
        tol_l1: f64,
        max_iterations: usize,
    ) -> SolveStats {
        let (nx, lines, n) = (
            self.levels[0].op.nx,
            self.levels[0].op.lines(),
            self.levels[0].op.cells(),
        );
        let mut r = vec![0.0; n];
        let mut z = vec![0.0; n];
        let mut p = vec![0.0; n];
        let mut q = vec![0.0; n];
        self.levels[0].op.residual(Some(b), x, &mut r);
        let mut cg = CgControl::cg_begin(tol_l1, l1(&r, nx, lines));
        if cg.converged {
            return cg.into();
        }
        self.precondition(&r, &mut z);
        p.copy_from_slice(&z);
        cg.cg_rz0(dot(&r, &z, nx, lines));
        while cg.iterations < max_iterations {
            self.levels[0].op.residual(None, &p, &mut q);
            let Some(alpha) = cg.cg_alpha(dot(&p, &q, nx, lines)) else {
                break;
            };
            cg_update_xr(alpha, &p, &q, x, &mut r);
            if cg.cg_check(l1(&r, nx, lines)) {
                // Recompute the true residual: the recurrence drifts in long solves.
                self.levels[0].op.residual(Some(b), x, &mut r);
                if cg.cg_check(l1(&r, nx, lines)) {
                    break;
                }
            }
            self.precondition(&r, &mut z);
            let beta = cg.cg_beta(dot(&r, &z, nx, lines));
            cg_update_p(beta, &z, &mut p);
        }
        cg.into()
    }

    /// z = M⁻¹ r: the floating clusters' correction C, the V-cycle V on what remains, and C
    /// again (symmetric multiplicative: I − M⁻¹A = (I − CA)(I − VA)(I − CA)).
    fn precondition(&mut self, r: &[f64], z: &mut [f64]) {
        let fl = &self.floating;
        let fine = &mut self.levels[0];
        fine.b.copy_from_slice(r);
        if fl.is_empty() {
            self.vcycle(0);
            z.copy_from_slice(&self.levels[0].x);
            return;
        }
        // z1 = C r, and the V-cycle's right-hand side r1 = r − A z1.
        let first = fl.shifts(&fine.op, r, None);
        fl.subtract_applied(&fine.op, &first, &mut fine.b);
        self.vcycle(0);
        let (fl, fine) = (&self.floating, &self.levels[0]);
        // z2 = z1 + V r1; r2 = r − A z2 = r1 − A V r1 enters only through its cluster sums.
        let second = fl.shifts(&fine.op, &fine.b, Some(&fine.x));
        z.copy_from_slice(&fine.x);
        fl.add(&first, z);
        fl.add(&second, z);
    }
}

/// Conductance, relative to the largest face conductance, from which a face joins two cells
/// into one cluster: 500 times the floor's 2e-9 between LLZO and pore, so that only what the
/// floor alone attaches floats. (On the diffuse sphere scaffolds no cluster floats at 1e-6;
/// at 1e-3 a few weakly joined ones did, which the V-cycle already handled.)
const STRONG_FACE: f64 = 1e-6;

/// Clusters of cells joined by strong faces (conductance ≥ [`STRONG_FACE`] of the largest)
/// that no strong face joins to the bottom or top boundary: on the voxels, LLZO islands inside
/// the pores, attached to the rest only through the floor. Raising an island's potential
/// uniformly costs almost no energy, so each island gives A an eigenvalue ~1e-9 of the rest,
/// which the V-cycle cannot resolve (its aggregates straddle the island and its floored
/// surroundings), so CG spends iterations on every island. Measured on the voxels of sphere
/// pores (radius 5 cells) at 128³: 72 and 110 iterations at 40 and 50 % porosity (22 and 43
/// islands) without the correction, 21 and 24 with it; on 32³ voxels where the LLZO does not
/// percolate (29 % of random cells), 725 against 102.
///
/// The correction is the Galerkin solve on the span of the cluster indicators 1_a, with the
/// diagonal of their Galerkin matrix: C r = Σ_a 1_a (1_aᵀ r) / (1_aᵀ A 1_a), where 1_aᵀ A 1_a is
/// the conductance of the faces that leave cluster a. C is symmetric positive semi-definite
/// and I − CA does not increase the A-norm (the diagonal dominates the Galerkin matrix), so the
/// multiplicative combination with the V-cycle stays a symmetric positive definite
/// preconditioner.
struct FloatingClusters {
    /// The cluster of every cell, or [`NO_CLUSTER`].
    label: Vec<u32>,
    /// The cells of every cluster, cluster after cluster; cluster a holds
    /// `cells[start[a]..start[a + 1]]`.
    cells: Vec<usize>,
    start: Vec<usize>,
    /// 1 / (1_aᵀ A 1_a).
    inv_energy: Vec<f64>,
}

const NO_CLUSTER: u32 = u32::MAX;

impl FloatingClusters {
    fn new(op: &Operator3) -> FloatingClusters {
        let n = op.cells();
        let largest = [&op.tx, &op.ty, &op.tz, &op.tbot]
            .iter()
            .flat_map(|t| t.iter())
            .fold(0.0_f64, |m, &t| m.max(t));
        let strong = STRONG_FACE * largest;
        // Union–find over the strong inner faces, every parent smaller than its child; sets
        // with a strong boundary face are anchored (to the root, once all unions are done).
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(parent: &mut [usize], mut c: usize) -> usize {
            while parent[c] != c {
                parent[c] = parent[parent[c]];
                c = parent[c];
            }
            c
        }
        let mut boundary = Vec::new();
        for c in 0..n {
            op.for_each_face(c, |d, t| {
                if t >= strong {
                    match d {
                        Some(d) => {
                            let (a, b) = (find(&mut parent, c), find(&mut parent, d));
                            parent[a.max(b)] = a.min(b);
                        }
                        None => boundary.push(c),
                    }
                }
            });
        }
        // One pass in cell order points every cell at its root (parents are smaller).
        for c in 0..n {
            parent[c] = parent[parent[c]];
        }
        let mut anchored = vec![false; n];
        for c in boundary {
            anchored[parent[c]] = true;
        }
        let mut size = vec![0_usize; n];
        for &r in &parent {
            size[r] += 1;
        }
        // Floating sets of two or more cells (the smoother relaxes a single cell exactly),
        // numbered in the order of their smallest cell.
        let mut root_label = vec![NO_CLUSTER; n];
        let mut count = 0_usize;
        for c in 0..n {
            if parent[c] == c && !anchored[c] && size[c] >= 2 {
                root_label[c] = u32::try_from(count).expect("fewer than 2³² clusters");
                count += 1;
            }
        }
        let label: Vec<u32> = parent.iter().map(|&r| root_label[r]).collect();
        let mut start = vec![0_usize; count + 1];
        for &a in &label {
            if a != NO_CLUSTER {
                start[a as usize + 1] += 1;
            }
        }
        for a in 0..count {
            start[a + 1] += start[a];
        }
        let mut cells = vec![0_usize; start[count]];
        let mut next = start.clone();
        for (c, &a) in label.iter().enumerate() {
            if a != NO_CLUSTER {
                cells[next[a as usize]] = c;
                next[a as usize] += 1;
            }
        }
        let mut clusters = FloatingClusters {
            label,
            cells,
            start,
            inv_energy: vec![0.0; count],
        };
        // 1_aᵀ A 1_a: the conductance of the faces that leave a (positive: a is not the whole
        // grid, and every conductance is positive).
        let energy = clusters.leaving_flux(op, |a, c| {
            if clusters.label[c] as usize == a {
                1.0
            } else {
                0.0
            }
        });
        clusters.inv_energy = energy.iter().map(|&e| 1.0 / e).collect();
        clusters
    }

    fn is_empty(&self) -> bool {
        self.inv_energy.is_empty()
    }

    fn cells_of(&self, a: usize) -> &[usize] {
        &self.cells[self.start[a]..self.start[a + 1]]
    }

    /// For every cluster a, Σ_{c ∈ a} (A v)_c with v(c) = `v(a, c)`: the faces inside a cancel
    /// in pairs, leaving Σ T (v_c − v_d) over the faces from c ∈ a to d ∉ a and T v_c over the
    /// boundary faces. Summed face by face, never as a difference of diagonals, which would
    /// cancel to roundoff at the floor's 1e-9.
    fn leaving_flux(&self, op: &Operator3, v: impl Fn(usize, usize) -> f64) -> Vec<f64> {
        (0..self.inv_energy.len())
            .map(|a| {
                let mut flux = 0.0;
                for &c in self.cells_of(a) {
                    op.for_each_face(c, |d, t| match d {
                        Some(d) if self.label[d] as usize == a => {}
                        Some(d) => flux += t * (v(a, c) - v(a, d)),
                        None => flux += t * v(a, c),
                    });
                }
                flux
            })
            .collect()
    }

    /// The shifts (1_aᵀ ρ) / (1_aᵀ A 1_a) of C ρ for ρ = `r` − A v, with v = 0 where `v` is None;
    /// only v's values on and next to the clusters are read.
    fn shifts(&self, op: &Operator3, r: &[f64], v: Option<&[f64]>) -> Vec<f64> {
        let applied = match v {
            Some(v) => self.leaving_flux(op, |_, c| v[c]),
            None => vec![0.0; self.inv_energy.len()],
        };
        (0..self.inv_energy.len())
            .map(|a| {
                let sum: f64 = self.cells_of(a).iter().map(|&c| r[c]).sum();
                (sum - applied[a]) * self.inv_energy[a]
            })
            .collect()
    }

    /// r −= A z for z = Σ_a shift_a 1_a: only the clusters' cells and their neighbours change.
    fn subtract_applied(&self, op: &Operator3, shift: &[f64], r: &mut [f64]) {
        for (a, &s) in shift.iter().enumerate() {
            for &c in self.cells_of(a) {
                op.for_each_face(c, |d, t| match d {
                    None => r[c] -= t * s,
                    Some(d) => match self.label[d] {
                        b if b as usize == a => {}
                        NO_CLUSTER => {
                            r[c] -= t * s;
                            r[d] += t * s;
                        }
                        // The other cluster's cell counts this face from its side.
                        b => r[c] -= t * (s - shift[b as usize]),
                    },
                });
            }
        }
    }

    /// z += Σ_a shift_a 1_a.
    fn add(&self, shift: &[f64], z: &mut [f64]) {
        for (a, &s) in shift.iter().enumerate() {
            for &c in self.cells_of(a) {
                z[c] += s;
            }
        }
    }
}

/// Coarse right-hand side: the sum of the fine residuals over each aggregate (Pᵀ r).
fn restrict(fine: &Operator3, r: &[f64], coarse: &Operator3, out: &mut [f64]) {
    let (nx, ny, nz) = (fine.nx, fine.ny, fine.nz);
    let (cx, cy) = (coarse.nx, coarse.ny);
    for_lines(out, cx, |lc, row| {
        let (kc, jc) = (lc / cy, lc % cy);
        for (ic, v) in row.iter_mut().enumerate() {
            let mut s = 0.0;
            for k in 2 * kc..(2 * kc + 2).min(nz) {
                for j in 2 * jc..(2 * jc + 2).min(ny) {
                    let base = (k * ny + j) * nx;
                    for i in 2 * ic..(2 * ic + 2).min(nx) {
                        s += r[base + i];
                    }
                }
            }
            *v = s;
        }
    });
    debug_assert_eq!(out.len(), cx * cy * coarse.nz);
}

/// x += scale · P x_c: every fine cell takes its aggregate's correction.
fn prolong(coarse: &Operator3, xc: &[f64], scale: f64, fine: &Operator3, x: &mut [f64]) {
    let (ny, cx, cy) = (fine.ny, coarse.nx, coarse.ny);
    for_lines(x, fine.nx, |l, row| {
        let (k, j) = (l / ny, l % ny);
        let cbase = ((k / 2) * cy + j / 2) * cx;
        for (i, v) in row.iter_mut().enumerate() {
            *v += scale * xc[cbase + i / 2];
        }
    });
}
