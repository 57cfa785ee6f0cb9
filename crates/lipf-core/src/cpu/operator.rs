//! The discrete potential operator: a cell-centred 5-point finite-volume operator in flux form,
//!
//!   (A φ)_c = Σ_faces T_f (φ_c − φ_nb) + S_c φ_c,
//!
//! with face conductances T (S/m per unit depth: σ_face · face length / distance = σ_face in 2D),
//! Dirichlet conductances on the bottom and top boundaries (boundary value 0; non-zero boundary
//! values enter the right-hand side), and a non-negative diagonal S (the linearised reaction).
//! x is periodic. The same struct describes every multigrid level.

use super::interp::harmonic_mean;
use super::par::for_rows;

#[derive(Debug, Clone, Default)]
pub struct Operator {
    pub nx: usize,
    pub ny: usize,
    /// East-face conductance of cell (i, j), between i and (i+1) mod nx.
    pub tx: Vec<f64>,
    /// North-face conductance of cell (i, j), between j and j+1; for j = ny−1 the conductance to
    /// the top boundary (Dirichlet).
    pub ty: Vec<f64>,
    /// Conductance of cell (i, 0) to the bottom boundary (0 = no flux).
    pub tbot: Vec<f64>,
    /// Diagonal term S ≥ 0.
    pub s: Vec<f64>,
    /// Cached diagonal Σ T + S (see [`Operator::update_diagonal`]).
    pub diag: Vec<f64>,
}

impl Operator {
    pub fn zeros(nx: usize, ny: usize) -> Operator {
        let n = nx * ny;
        Operator {
            nx,
            ny,
            tx: vec![0.0; n],
            ty: vec![0.0; n],
            tbot: vec![0.0; nx],
            s: vec![0.0; n],
            diag: vec![0.0; n],
        }
    }

    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }

    /// Sets the face conductances from cell conductivities `sigma` (S/m): harmonic means on the
    /// inner faces (periodic in x; none when nx = 1) and 2σ to the top boundary, half a cell away.
    /// The bottom conductance, S and the diagonal are left to the caller.
    pub fn set_face_conductances(&mut self, sigma: &[f64]) {
        let (nx, ny) = (self.nx, self.ny);
        for j in 0..ny {
            for i in 0..nx {
                let k = j * nx + i;
                let e = j * nx + (i + 1) % nx;
                self.tx[k] = if nx > 1 {
                    harmonic_mean(sigma[k], sigma[e])
                } else {
                    0.0
                };
                self.ty[k] = if j + 1 < ny {
                    harmonic_mean(sigma[k], sigma[k + nx])
                } else {
                    2.0 * sigma[k]
                };
            }
        }
    }

    /// Sets the east and north face conductances from `face(k, n)`, the conductance between
    /// cells k and n (k west or south of n; x periodic, none when nx = 1), and the top row's
    /// conductance to the top boundary from `top(k)`. Rows in parallel (deterministic).
    pub fn set_faces<F, G>(&mut self, face: F, top: G)
    where
        F: Fn(usize, usize) -> f64 + Sync + Send,
        G: Fn(usize) -> f64 + Sync + Send,
    {
        let (nx, ny) = (self.nx, self.ny);
        for_rows(&mut self.tx, nx, |j, out| {
            for (i, t) in out.iter_mut().enumerate() {
                *t = if nx > 1 {
                    face(j * nx + i, j * nx + (i + 1) % nx)
                } else {
                    0.0
                };
            }
        });
        for_rows(&mut self.ty, nx, |j, out| {
            for (i, t) in out.iter_mut().enumerate() {
                let k = j * nx + i;
                *t = if j + 1 < ny { face(k, k + nx) } else { top(k) };
            }
        });
    }

    /// Recomputes the cached diagonal from T and S.
    pub fn update_diagonal(&mut self) {
        let (nx, ny) = (self.nx, self.ny);
        for j in 0..ny {
            for i in 0..nx {
                let k = j * nx + i;
                let w = if i == 0 { nx - 1 } else { i - 1 };
                let mut d = self.s[k];
                if nx > 1 {
                    d += self.tx[k] + self.tx[j * nx + w];
                }
                d += self.ty[k];
                d += if j == 0 {
                    self.tbot[i]
                } else {
                    self.ty[k - nx]
                };
                self.diag[k] = d;
            }
        }
    }

    /// The current that leaves through the top boundary for the field φ (boundary value 0),
    /// per unit depth (A/m), positive upward: Σ_top T_top (φ_c − 0).
    pub fn top_outflow(&self, phi: &[f64]) -> f64 {
        let j = self.ny - 1;
        (0..self.nx)
            .map(|i| self.ty[j * self.nx + i] * phi[j * self.nx + i])
            .sum()
    }
}
