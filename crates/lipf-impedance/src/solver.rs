//! Solvers for the complex symmetric network system A(ω)·v = b(ω), one frequency at a time.
//!
//! [`FrequencySolver`] is the seam between the sweep and a solver: it receives the network and
//! the system at one frequency and the previous frequency's solution (a warm start), and returns
//! the node potentials. Two CPU implementations:
//!
//! * [`DirectLu`] — sparse LU (faer, fill-reducing ordering and partial pivoting). The symbolic
//!   factorisation is computed once per network and reused at every frequency. The reference.
//! * [`Krylov`] — COCG or COCR with a Jacobi preconditioner, matrix-free through
//!   [`ComplexSymmetricOperator`] (one operator apply and one diagonal per frequency). This is
//!   the algorithm a GPU solver mirrors: its operator apply is a gather over the bonds of each
//!   node, its vectors stay on the device and only the WE current is read back.
//!
//! The GPU solver (`crate::gpu::GpuCocg`, feature `gpu`) is a third `FrequencySolver`: the
//! COCG branch of [`krylov_solve`] in WGSL, f64 on the device.

use crate::network::{sym_matvec, Network};
use num_complex::Complex64 as C64;
use rayon::prelude::*;

/// The linear system at one frequency, as the sweep hands it to a solver.
pub struct FrequencySystem<'a> {
    pub network: &'a Network,
    /// Angular frequency, rad/s.
    pub omega: f64,
    /// Bond admittances (S), in bond order.
    pub bond_y: &'a [C64],
    /// Matrix values in the network's CSC pattern.
    pub val: &'a [C64],
    pub rhs: &'a [C64],
}

/// Work done by one solve.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SolveStats {
    pub iterations: usize,
    /// Final ‖b − A·v‖₂ / ‖b‖₂.
    pub relative_residual: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    #[error("sparse LU failed: {0}")]
    Factorisation(String),
    #[error("{method} did not converge in {iterations} iterations at {f_hz:.4e} Hz (relative residual {residual:.3e}); raise the iteration limit or use the direct solver")]
    NotConverged {
        method: &'static str,
        iterations: usize,
        f_hz: f64,
        residual: f64,
    },
    #[error(
        "{method} broke down at {f_hz:.4e} Hz (a zero quasi-inner product); use the direct solver"
    )]
    Breakdown { method: &'static str, f_hz: f64 },
    #[error("GPU solver: {0}")]
    Device(String),
    #[error("the impedance at {f_hz:.4e} Hz is {z} (working-electrode current {i_we}): not a finite, non-zero value; check the structure's contacts and the material parameters")]
    BadImpedance { f_hz: f64, z: String, i_we: String },
    #[error("solver settings: {0}")]
    Settings(String),
    #[error("{method}: the residual became {residual} at {f_hz:.4e} Hz after {iterations} iterations (a non-finite value in the system); check the frequency range and the material parameters")]
    NonFinite {
        method: &'static str,
        iterations: usize,
        f_hz: f64,
        residual: f64,
    },
}

/// Largest iteration limit of the Krylov solvers.
pub const MAX_ITERATIONS_LIMIT: usize = 10_000_000;

/// Checks a relative residual tolerance and an iteration limit before any solve: the tolerance
/// must be finite with 0 < tol < 1, the limit in 1..=[`MAX_ITERATIONS_LIMIT`].
pub fn validate_krylov_settings(tol: f64, max_iter: usize) -> Result<(), SolverError> {
    if !(tol.is_finite() && tol > 0.0 && tol < 1.0) {
        return Err(SolverError::Settings(format!(
            "tolerance `tol` = {tol}: must be a finite number with 0 < tol < 1 (e.g. 1e-10)"
        )));
    }
    if max_iter == 0 || max_iter > MAX_ITERATIONS_LIMIT {
        return Err(SolverError::Settings(format!(
            "iteration limit = {max_iter}: must be in 1..={MAX_ITERATIONS_LIMIT}"
        )));
    }
    Ok(())
}

/// A solver of the network system at one frequency. `v` holds the previous solution (or zeros)
/// on entry and the potentials on return.
pub trait FrequencySolver {
    fn name(&self) -> String;
    fn solve(&mut self, sys: &FrequencySystem, v: &mut [C64]) -> Result<SolveStats, SolverError>;
}

/// A complex symmetric operator (Aᵀ = A, not Hermitian), applied matrix-free.
pub trait ComplexSymmetricOperator: Sync {
    fn dim(&self) -> usize;
    /// y = A·x.
    fn apply(&self, x: &[C64], y: &mut [C64]);
    /// The diagonal of A (for the Jacobi preconditioner).
    fn diagonal(&self) -> Vec<C64>;
}

/// The network matrix at one frequency (from its assembled CSC values).
pub struct NetworkOperator<'a> {
    pub network: &'a Network,
    pub val: &'a [C64],
}

impl ComplexSymmetricOperator for NetworkOperator<'_> {
    fn dim(&self) -> usize {
        self.network.n
    }
    fn apply(&self, x: &[C64], y: &mut [C64]) {
        sym_matvec(&self.network.col_ptr, &self.network.row_idx, self.val, x, y);
    }
    fn diagonal(&self) -> Vec<C64> {
        let net = self.network;
        (0..net.n)
            .into_par_iter()
            .map(|i| {
                let rows = &net.row_idx[net.col_ptr[i]..net.col_ptr[i + 1]];
                let p = rows.binary_search(&i).expect("diagonal entry");
                self.val[net.col_ptr[i] + p]
            })
            .collect()
    }
}

fn residual_norm(op: &dyn ComplexSymmetricOperator, b: &[C64], x: &[C64]) -> f64 {
    let mut ax = vec![C64::new(0.0, 0.0); b.len()];
    op.apply(x, &mut ax);
    let r: f64 = b.iter().zip(&ax).map(|(bi, ai)| (bi - ai).norm_sqr()).sum();
    let nb: f64 = b.iter().map(|v| v.norm_sqr()).sum();
    (r / nb.max(f64::MIN_POSITIVE)).sqrt()
}

/// Sparse direct solver (faer LU), symbolic factorisation reused along the sweep.
#[derive(Default)]
pub struct DirectLu {
    symbolic: Option<faer::sparse::linalg::solvers::SymbolicLu<usize>>,
}

impl DirectLu {
    pub fn new() -> DirectLu {
        DirectLu::default()
    }
}

impl FrequencySolver for DirectLu {
    fn name(&self) -> String {
        "direct (sparse LU, faer)".into()
    }

    fn solve(&mut self, sys: &FrequencySystem, v: &mut [C64]) -> Result<SolveStats, SolverError> {
        use faer::linalg::solvers::Solve;
        use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
        use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
        let net = sys.network;
        let sym =
            SymbolicSparseColMatRef::new_checked(net.n, net.n, &net.col_ptr, None, &net.row_idx);
        if self.symbolic.is_none() {
            self.symbolic = Some(
                SymbolicLu::try_new(sym)
                    .map_err(|e| SolverError::Factorisation(format!("{e:?}")))?,
            );
        }
        let mat = SparseColMatRef::new(sym, sys.val);
        let lu = Lu::try_new_with_symbolic(self.symbolic.clone().unwrap(), mat)
            .map_err(|e| SolverError::Factorisation(format!("{e:?}")))?;
        v.copy_from_slice(sys.rhs);
        lu.solve_in_place(faer::ColMut::from_slice_mut(v));
        let op = NetworkOperator {
            network: net,
            val: sys.val,
        };
        Ok(SolveStats {
            iterations: 1,
            relative_residual: residual_norm(&op, sys.rhs, v),
        })
    }
}

/// Which Krylov method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum KrylovMethod {
    /// Conjugate orthogonal conjugate gradient (van der Vorst & Melissen 1990).
    Cocg,
    /// Conjugate orthogonal conjugate residual (Sogabe & Zhang 2007).
    Cocr,
}

/// Jacobi-preconditioned COCG/COCR, warm-started with the incoming `v`.
pub struct Krylov {
    pub method: KrylovMethod,
    /// Stop when ‖b − A·v‖₂ ≤ tol·‖b‖₂.
    pub tol: f64,
    pub max_iter: usize,
}

impl Krylov {
    pub fn new(method: KrylovMethod) -> Krylov {
        Krylov {
            method,
            tol: 1e-10,
            max_iter: 200_000,
        }
    }
}

/// Unconjugated dot product xᵀy (the bilinear form of complex symmetric Krylov methods).
fn dotu(x: &[C64], y: &[C64]) -> C64 {
    x.par_iter()
        .with_min_len(4096)
        .zip(y)
        .map(|(a, b)| a * b)
        .sum()
}

fn norm2(x: &[C64]) -> f64 {
    x.par_iter()
        .with_min_len(4096)
        .map(|a| a.norm_sqr())
        .sum::<f64>()
        .sqrt()
}

/// Solves A·x = b by Jacobi-preconditioned COCG or COCR from the initial guess in `x`.
pub fn krylov_solve(
    op: &dyn ComplexSymmetricOperator,
    method: KrylovMethod,
    b: &[C64],
    x: &mut [C64],
    tol: f64,
    max_iter: usize,
    f_hz: f64,
) -> Result<SolveStats, SolverError> {
    validate_krylov_settings(tol, max_iter)?;
    let n = op.dim();
    let zero = C64::new(0.0, 0.0);
    let minv: Vec<C64> = op.diagonal().iter().map(|d| d.inv()).collect();
    let nb = norm2(b).max(f64::MIN_POSITIVE);
    let mut r = vec![zero; n];
    op.apply(x, &mut r);
    r.par_iter_mut().zip(b).for_each(|(ri, bi)| *ri = bi - *ri);
    let mut res = norm2(&r) / nb;
    let name = match method {
        KrylovMethod::Cocg => "COCG",
        KrylovMethod::Cocr => "COCR",
    };
    let non_finite = |iterations: usize, residual: f64| SolverError::NonFinite {
        method: name,
        iterations,
        f_hz,
        residual,
    };
    if !res.is_finite() {
        return Err(non_finite(0, res));
    }
    if res <= tol {
        return Ok(SolveStats {
            iterations: 0,
            relative_residual: res,
        });
    }
    let precond = |r: &[C64], z: &mut [C64]| {
        z.par_iter_mut()
            .zip(r)
            .zip(&minv)
            .for_each(|((zi, ri), mi)| *zi = ri * mi);
    };
    let mut z = vec![zero; n];
    precond(&r, &mut z);
    let mut p = z.clone();
    let mut q = vec![zero; n];
    match method {
        KrylovMethod::Cocg => {
            let mut rho = dotu(&r, &z);
            for it in 1..=max_iter {
                op.apply(&p, &mut q);
                let pq = dotu(&p, &q);
                if pq.norm() == 0.0 || rho.norm() == 0.0 {
                    return Err(SolverError::Breakdown { method: name, f_hz });
                }
                let alpha = rho / pq;
                x.par_iter_mut()
                    .zip(&p)
                    .for_each(|(xi, pi)| *xi += alpha * pi);
                r.par_iter_mut()
                    .zip(&q)
                    .for_each(|(ri, qi)| *ri -= alpha * qi);
                res = norm2(&r) / nb;
                if !res.is_finite() {
                    return Err(non_finite(it, res));
                }
                if res <= tol {
                    // Guard against residual drift: confirm with the true residual.
                    let true_res = residual_norm(op, b, x);
                    if true_res <= 10.0 * tol {
                        return Ok(SolveStats {
                            iterations: it,
                            relative_residual: true_res,
                        });
                    }
                }
                precond(&r, &mut z);
                let rho_new = dotu(&r, &z);
                let beta = rho_new / rho;
                rho = rho_new;
                p.par_iter_mut()
                    .zip(&z)
                    .for_each(|(pi, zi)| *pi = zi + beta * *pi);
            }
        }
        KrylovMethod::Cocr => {
            // Preconditioned COCR: minimises in the M⁻¹-weighted bilinear form; z = M⁻¹r,
            // w = A z, q = A p, M⁻¹q.
            let mut w = vec![zero; n];
            op.apply(&z, &mut w);
            q.copy_from_slice(&w);
            let mut rho = dotu(&z, &w);
            let mut mq = vec![zero; n];
            for it in 1..=max_iter {
                precond(&q, &mut mq);
                let qmq = dotu(&q, &mq);
                if qmq.norm() == 0.0 || rho.norm() == 0.0 {
                    return Err(SolverError::Breakdown { method: name, f_hz });
                }
                let alpha = rho / qmq;
                x.par_iter_mut()
                    .zip(&p)
                    .for_each(|(xi, pi)| *xi += alpha * pi);
                r.par_iter_mut()
                    .zip(&q)
                    .for_each(|(ri, qi)| *ri -= alpha * qi);
                z.par_iter_mut()
                    .zip(&mq)
                    .for_each(|(zi, mi)| *zi -= alpha * mi);
                res = norm2(&r) / nb;
                if !res.is_finite() {
                    return Err(non_finite(it, res));
                }
                if res <= tol {
                    let true_res = residual_norm(op, b, x);
                    if true_res <= 10.0 * tol {
                        return Ok(SolveStats {
                            iterations: it,
                            relative_residual: true_res,
                        });
                    }
                }
                op.apply(&z, &mut w);
                let rho_new = dotu(&z, &w);
                let beta = rho_new / rho;
                rho = rho_new;
                p.par_iter_mut()
                    .zip(&z)
                    .for_each(|(pi, zi)| *pi = zi + beta * *pi);
                q.par_iter_mut()
                    .zip(&w)
                    .for_each(|(qi, wi)| *qi = wi + beta * *qi);
            }
        }
    }
    Err(SolverError::NotConverged {
        method: name,
        iterations: max_iter,
        f_hz,
        residual: res,
    })
}

impl FrequencySolver for Krylov {
    fn name(&self) -> String {
        match self.method {
            KrylovMethod::Cocg => format!("COCG + Jacobi (tol {:.0e}, warm start)", self.tol),
            KrylovMethod::Cocr => format!("COCR + Jacobi (tol {:.0e}, warm start)", self.tol),
        }
    }

    fn solve(&mut self, sys: &FrequencySystem, v: &mut [C64]) -> Result<SolveStats, SolverError> {
        let op = NetworkOperator {
            network: sys.network,
            val: sys.val,
        };
        krylov_solve(
            &op,
            self.method,
            sys.rhs,
            v,
            self.tol,
            self.max_iter,
            sys.omega / (2.0 * std::f64::consts::PI),
        )
    }
}

/// A CPU frequency solver: the sparse LU without a Krylov method, else that method with its
/// tolerance and iteration limit (`lipf impedance --solver direct|cocg|cocr`, the Python
/// package alike).
pub fn cpu_solver(
    method: Option<KrylovMethod>,
    tol: f64,
    max_iter: usize,
) -> Box<dyn FrequencySolver> {
    match method {
        None => Box::new(DirectLu::new()),
        Some(m) => {
            let mut k = Krylov::new(m);
            k.tol = tol;
            k.max_iter = max_iter;
            Box::new(k)
        }
    }
}
