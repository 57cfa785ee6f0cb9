//! The discrete potential operator: a cell-centred finite-volume operator in flux form,
//!
//!   (A φ)_c = Σ_faces T_f (φ_c − φ_nb) + S_c φ_c,
//!
//! with face conductances T (S/m per unit depth: σ_face · face length / distance = σ_face in 2D;
//! in 3D the same per Δx of depth), Dirichlet conductances on the bottom and top boundaries
//! (boundary value 0; non-zero boundary values enter the right-hand side), and a non-negative
//! diagonal S (the linearised reaction). x and z are periodic. The same struct describes every
//! multigrid level.
//!
//! Cells are ordered as the grid's ([`crate::grid::Grid`]): c = (k·ny + j)·nx + i, in x-rows
//! r = k·ny + j. A 2D section is nz = 1: its 5-point operator has no z faces (`tz` is empty) and
//! every kernel adds the z terms only when nz > 1, so the section's arithmetic is the same
//! whether or not the code knows about z. With nz > 1 the operator has 7 points.

use super::interp::harmonic_mean;
use super::par::for_rows;

#[derive(Debug, Clone, Default)]
pub struct Operator {
    pub nx: usize,
    pub ny: usize,
    /// Cells along z (1: a 2D section).
    pub nz: usize,
    /// East-face conductance of cell (i, j, k), between i and (i+1) mod nx.
    pub tx: Vec<f64>,
    /// North-face conductance of cell (i, j, k), between j and j+1; for j = ny−1 the conductance
    /// to the top boundary (Dirichlet).
    pub ty: Vec<f64>,
    /// Front-face conductance of cell (i, j, k), between k and (k+1) mod nz; empty when nz = 1.
    pub tz: Vec<f64>,
    /// Conductance of cell (i, 0, k) to the bottom boundary, at k·nx + i (0 = no flux).
    pub tbot: Vec<f64>,
    /// Diagonal term S ≥ 0.
    pub s: Vec<f64>,
    /// Cached diagonal Σ T + S (see [`Operator::update_diagonal`]).
    pub diag: Vec<f64>,
}

/// Where the rows next to x-row r = k·ny + j start: south and north in the same z-section (None
/// at the bottom and top), back and front across the z-periodic direction (None when nz = 1).
#[derive(Debug, Clone, Copy)]
pub struct RowNeighbours {
    pub j: usize,
    pub k: usize,
    pub south: Option<usize>,
    pub north: Option<usize>,
    pub back: Option<usize>,
    pub front: Option<usize>,
}

/// The neighbours of x-row `r` on an nx × ny × nz grid (starts of rows, in cells).
#[inline(always)]
pub fn row_neighbours(r: usize, nx: usize, ny: usize, nz: usize) -> RowNeighbours {
    let (k, j) = (r / ny, r % ny);
    let base = r * nx;
    RowNeighbours {
        j,
        k,
        south: (j > 0).then(|| base - nx),
        north: (j + 1 < ny).then_some(base + nx),
        back: (nz > 1).then(|| ((if k == 0 { nz - 1 } else { k - 1 }) * ny + j) * nx),
        front: (nz > 1).then(|| ((if k + 1 == nz { 0 } else { k + 1 }) * ny + j) * nx),
    }
}

impl Operator {
    /// A 2D section's operator (nz = 1).
    pub fn zeros(nx: usize, ny: usize) -> Operator {
        Operator::zeros3(nx, ny, 1)
    }

    /// The operator of an nx × ny × nz grid, all conductances zero.
    pub fn zeros3(nx: usize, ny: usize, nz: usize) -> Operator {
        let n = nx * ny * nz;
        Operator {
            nx,
            ny,
            nz,
            tx: vec![0.0; n],
            ty: vec![0.0; n],
            tz: vec![0.0; if nz > 1 { n } else { 0 }],
            tbot: vec![0.0; nx * nz],
            s: vec![0.0; n],
            diag: vec![0.0; n],
        }
    }

    pub fn cells(&self) -> usize {
        self.nx * self.ny * self.nz
    }

    /// [nx, ny, nz].
    pub fn shape(&self) -> [usize; 3] {
        [self.nx, self.ny, self.nz]
    }

    /// x-rows: ny · nz.
    pub fn rows(&self) -> usize {
        self.ny * self.nz
    }

    /// The neighbours of x-row `r` (see [`row_neighbours`]).
    #[inline(always)]
    pub fn row(&self, r: usize) -> RowNeighbours {
        row_neighbours(r, self.nx, self.ny, self.nz)
    }

    /// Sets the face conductances from cell conductivities `sigma` (S/m): harmonic means on the
    /// inner faces (periodic in x and z; none along a direction of one cell) and 2σ to the top
    /// boundary, half a cell away. The bottom conductance, S and the diagonal are left to the
    /// caller.
    pub fn set_face_conductances(&mut self, sigma: &[f64]) {
        self.set_faces(|k, n| harmonic_mean(sigma[k], sigma[n]), |k| 2.0 * sigma[k]);
    }

    /// Sets the east, north and (nz > 1) front face conductances from `face(k, n)`, the
    /// conductance between cells k and n (k west, south or back of n; x and z periodic, none
    /// along a direction of one cell), and the top row's conductance to the top boundary from
    /// `top(k)`. Rows in parallel (deterministic).
    pub fn set_faces<F, G>(&mut self, face: F, top: G)
    where
        F: Fn(usize, usize) -> f64 + Sync + Send,
        G: Fn(usize) -> f64 + Sync + Send,
    {
        let (nx, ny, nz) = (self.nx, self.ny, self.nz);
        for_rows(&mut self.tx, nx, |r, out| {
            for (i, t) in out.iter_mut().enumerate() {
                *t = if nx > 1 {
                    face(r * nx + i, r * nx + (i + 1) % nx)
                } else {
                    0.0
                };
            }
        });
        for_rows(&mut self.ty, nx, |r, out| {
            let north = row_neighbours(r, nx, ny, nz).north;
            for (i, t) in out.iter_mut().enumerate() {
                let c = r * nx + i;
                *t = match north {
                    Some(n) => face(c, n + i),
                    None => top(c),
                };
            }
        });
        if nz > 1 {
            for_rows(&mut self.tz, nx, |r, out| {
                let front = row_neighbours(r, nx, ny, nz).front.unwrap();
                for (i, t) in out.iter_mut().enumerate() {
                    *t = face(r * nx + i, front + i);
                }
            });
        }
    }

    /// Recomputes the cached diagonal from T and S.
    pub fn update_diagonal(&mut self) {
        let (nx, ny, nz) = (self.nx, self.ny, self.nz);
        for r in 0..ny * nz {
            let nb = row_neighbours(r, nx, ny, nz);
            for i in 0..nx {
                let c = r * nx + i;
                let w = if i == 0 { nx - 1 } else { i - 1 };
                let mut d = self.s[c];
                if nx > 1 {
                    d += self.tx[c] + self.tx[r * nx + w];
                }
                d += self.ty[c];
                d += match nb.south {
                    Some(s) => self.ty[s + i],
                    None => self.tbot[nb.k * nx + i],
                };
                if let Some(b) = nb.back {
                    d += self.tz[c] + self.tz[b + i];
                }
                self.diag[c] = d;
            }
        }
    }

    /// Calls `f(neighbour, conductance)` for the faces of cell c: `None` for the bottom or top
    /// boundary, none along a direction of one cell (x or z). With two cells along a periodic
    /// direction the neighbour appears twice, once for each face.
    #[inline]
    pub fn for_each_face(&self, c: usize, mut f: impl FnMut(Option<usize>, f64)) {
        let nx = self.nx;
        let (r, i) = (c / nx, c % nx);
        let nb = self.row(r);
        if nx > 1 {
            let e = r * nx + (i + 1) % nx;
            let w = r * nx + (i + nx - 1) % nx;
            f(Some(e), self.tx[c]);
            f(Some(w), self.tx[w]);
        }
        f(nb.north.map(|q| q + i), self.ty[c]);
        match nb.south {
            Some(q) => f(Some(q + i), self.ty[q + i]),
            None => f(None, self.tbot[nb.k * nx + i]),
        }
        if let (Some(front), Some(back)) = (nb.front, nb.back) {
            f(Some(front + i), self.tz[c]);
            f(Some(back + i), self.tz[back + i]);
        }
    }

    /// The current that leaves through the top boundary for the field φ (boundary value 0),
    /// per unit depth (A/m) in 2D and per Δx of depth in 3D, positive upward:
    /// Σ_top T_top (φ_c − 0).
    pub fn top_outflow(&self, phi: &[f64]) -> f64 {
        let (nx, ny) = (self.nx, self.ny);
        (0..self.nz)
            .flat_map(|k| {
                let base = (k * ny + ny - 1) * nx;
                base..base + nx
            })
            .map(|c| self.ty[c] * phi[c])
            .sum()
    }
}
