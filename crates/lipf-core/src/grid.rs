//! The uniform grid. Cells are stored row by row from the bottom (current collector, y = 0) to
//! the top (counter-electrode side), and section by section in z: index = (k·ny + j)·nx + i.
//! x and z are periodic; y is bounded. A 2D section is the case nz = 1 (index = j·nx + i).

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub nx: usize,
    pub ny: usize,
    /// Cells along z, the second periodic direction (1 for a 2D section).
    pub nz: usize,
    /// Cell edge, m.
    pub dx_m: f64,
}

impl Grid {
    /// A 2D section (nz = 1).
    pub fn new(nx: usize, ny: usize, dx_m: f64) -> Grid {
        Grid::new_3d(nx, ny, 1, dx_m)
    }

    pub fn new_3d(nx: usize, ny: usize, nz: usize, dx_m: f64) -> Grid {
        assert!(nx >= 1 && ny >= 1 && nz >= 1 && dx_m > 0.0);
        Grid { nx, ny, nz, dx_m }
    }

    pub fn cells(&self) -> usize {
        self.nx * self.ny * self.nz
    }

    /// Cells of one x–y section.
    pub fn section_cells(&self) -> usize {
        self.nx * self.ny
    }

    /// 2 for a section, 3 for a volume: the number of face pairs per cell that set the explicit
    /// diffusion limits Δx²/(2·dims·D).
    pub fn dimensions(&self) -> usize {
        if self.is_3d() {
            3
        } else {
            2
        }
    }

    /// The collector's extent in the units in which the kernels balance currents, m: its width in
    /// a section (currents per unit depth, A/m), its area per Δx of depth in a volume (W · nz;
    /// the kernels' balances are per Δx of depth there). A current of the kernels over it is a
    /// current density; a Li volume of the kernels (Σξ Δx²) over it is a thickness.
    pub fn collector_m(&self) -> f64 {
        self.width_m() * self.nz as f64
    }

    /// [nx, ny, nz].
    pub fn shape(&self) -> [usize; 3] {
        [self.nx, self.ny, self.nz]
    }

    /// x-rows (ny · nz): the kernels' parallel unit, row r = k·ny + j.
    pub fn rows(&self) -> usize {
        self.ny * self.nz
    }

    pub fn is_3d(&self) -> bool {
        self.nz > 1
    }

    /// Index of cell (i, j) of the section k = 0 (the whole grid in 2D).
    pub fn idx(&self, i: usize, j: usize) -> usize {
        j * self.nx + i
    }

    pub fn idx3(&self, i: usize, j: usize, k: usize) -> usize {
        (k * self.ny + j) * self.nx + i
    }

    /// Depth of the domain along z, m (one cell for a 2D section).
    pub fn depth_m(&self) -> f64 {
        self.nz as f64 * self.dx_m
    }

    pub fn z_m(&self, k: usize) -> f64 {
        (k as f64 + 0.5) * self.dx_m
    }

    /// The voxel lattice of the grid for distance transforms (periodic in x and z).
    pub fn lattice(&self) -> crate::geometry::distance::Lattice {
        crate::geometry::distance::Lattice {
            dims: [self.nx, self.ny, self.nz],
            periodic: [true, false, true],
        }
    }

    /// Width of the domain, m.
    pub fn width_m(&self) -> f64 {
        self.nx as f64 * self.dx_m
    }

    pub fn height_m(&self) -> f64 {
        self.ny as f64 * self.dx_m
    }

    /// Cell-centre coordinates, m.
    pub fn x_m(&self, i: usize) -> f64 {
        (i as f64 + 0.5) * self.dx_m
    }

    pub fn y_m(&self, j: usize) -> f64 {
        (j as f64 + 0.5) * self.dx_m
    }

    /// Periodic neighbours in x.
    pub fn east(&self, i: usize) -> usize {
        if i + 1 == self.nx {
            0
        } else {
            i + 1
        }
    }

    pub fn west(&self, i: usize) -> usize {
        if i == 0 {
            self.nx - 1
        } else {
            i - 1
        }
    }

    /// The face neighbours of cell k: 4 in a section, 6 in 3D (periodic in x and z; none beyond
    /// the bottom and top rows).
    pub fn neighbours(&self, k: usize) -> impl Iterator<Item = usize> {
        let (nx, ny, nz) = (self.nx, self.ny, self.nz);
        let (i, j, kz) = (k % nx, (k / nx) % ny, k / (nx * ny));
        let row = k - i;
        let plane = nx * ny;
        let zs = if nz > 1 {
            [
                Some(((kz + 1) % nz) * plane + j * nx + i),
                Some(((kz + nz - 1) % nz) * plane + j * nx + i),
            ]
        } else {
            [None, None]
        };
        [
            Some(row + self.east(i)),
            Some(row + self.west(i)),
            (j + 1 < ny).then_some(k + nx),
            (j > 0).then_some(k - nx),
        ]
        .into_iter()
        .chain(zs)
        .flatten()
    }

    /// The cells reached from `seeds` through face neighbours (periodic in x and z) that satisfy
    /// `pass`; a seed counts only if it satisfies `pass` itself.
    pub fn flood(
        &self,
        seeds: impl IntoIterator<Item = usize>,
        pass: impl Fn(usize) -> bool,
    ) -> Vec<bool> {
        let mut reached = vec![false; self.cells()];
        let mut stack: Vec<usize> = seeds.into_iter().filter(|&k| pass(k)).collect();
        for &k in &stack {
            reached[k] = true;
        }
        while let Some(k) = stack.pop() {
            for n in self.neighbours(k) {
                if !reached[n] && pass(n) {
                    reached[n] = true;
                    stack.push(n);
                }
            }
        }
        reached
    }
}
