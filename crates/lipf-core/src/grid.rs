//! The uniform grid. Cells are stored row by row from the bottom (current collector, y = 0) to
//! the top (counter-electrode side): index = j·nx + i. x is periodic; y is bounded.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub nx: usize,
    pub ny: usize,
    /// Cell edge, m.
    pub dx_m: f64,
}

impl Grid {
    pub fn new(nx: usize, ny: usize, dx_m: f64) -> Grid {
        assert!(nx >= 1 && ny >= 1 && dx_m > 0.0);
        Grid { nx, ny, dx_m }
    }

    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }

    pub fn idx(&self, i: usize, j: usize) -> usize {
        j * self.nx + i
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

    /// The 4-neighbours of cell k (periodic in x; none beyond the bottom and top rows).
    pub fn neighbours(&self, k: usize) -> impl Iterator<Item = usize> {
        let (nx, ny) = (self.nx, self.ny);
        let (i, j) = (k % nx, k / nx);
        [
            Some(j * nx + self.east(i)),
            Some(j * nx + self.west(i)),
            (j + 1 < ny).then_some(k + nx),
            (j > 0).then_some(k - nx),
        ]
        .into_iter()
        .flatten()
    }

    /// The cells reached from `seeds` through 4-neighbours (periodic in x) that satisfy `pass`;
    /// a seed counts only if it satisfies `pass` itself.
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
