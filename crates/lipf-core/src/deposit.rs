//! Shape of the Li deposit: the observables of a filament or dendrite (docs/dendrites.md).
//!
//! The deposit is the set of Li cells (ξ > ½) that 4-neighbours (periodic in x) connect to the
//! collector (the bottom row) and whose centres lie above the initial Li top: what grew out of
//! the foil. On it:
//!
//! * its **area** (cells × Δx², µm² in the section plane);
//! * its **skeleton**, by Zhang–Suen thinning (T. Y. Zhang and C. Y. Suen, "A fast parallel
//!   algorithm for thinning digital patterns", Commun. ACM 27 (1984) 236), an 8-connected
//!   centre line one cell wide; x is not periodic here (a deposit crossing the side boundary is
//!   thinned as two pieces);
//! * its **length**, the skeleton's: orthogonal steps Δx, diagonal steps √2 Δx (a diagonal step
//!   only where no orthogonal pair of steps joins the same two cells). Such a chain is exact
//!   along the axes and the diagonals and overestimates other directions by up to 8 % (22.5°);
//! * its **branch points**: junctions of the skeleton (cells with three or more 0 → 1
//!   transitions around their eight neighbours, 8-connected clusters of them counted once)
//!   after spurs shorter than `spur_cells` are pruned (every end cell removed, `spur_cells`
//!   times; this also shortens every other branch, so the length is the unpruned skeleton's). Thinning leaves such spurs on any rounded outline; a diffuse interface of width ℓ
//!   resolves no side branch shorter than about 2ℓ, which is the length lipf prunes;
//! * its **box-counting dimension**: the slope of log N(s) against log(1/s), N(s) the number of
//!   boxes of s × s cells (aligned with the deposit's bounding box) that hold deposit cells,
//!   fitted by least squares over s = 1, 2, 4, … up to a quarter of the bounding box's larger
//!   side. A line gives 1, a filled region 2, diffusion-limited aggregates about 1.7 (Witten
//!   and Sander, Phys. Rev. Lett. 47 (1981) 1400). NaN when the box is under 16 cells (fewer
//!   than three sizes).

use crate::grid::Grid;

/// Shape observables of a deposit (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepositShape {
    pub area_um2: f64,
    pub length_um: f64,
    pub branch_points: usize,
    pub box_dimension: f64,
}

/// A binary image of `w × h` cells, row-major, with `y` up.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    pub w: usize,
    pub h: usize,
    pub on: Vec<bool>,
}

/// The eight neighbours in the order P2 … P9 of Zhang & Suen: N, NE, E, SE, S, SW, W, NW.
const RING: [(isize, isize); 8] = [
    (0, 1),
    (1, 1),
    (1, 0),
    (1, -1),
    (0, -1),
    (-1, -1),
    (-1, 0),
    (-1, 1),
];

impl Mask {
    pub fn new(w: usize, h: usize) -> Mask {
        Mask {
            w,
            h,
            on: vec![false; w * h],
        }
    }

    /// The cell at (i, j), false outside the image.
    pub fn at(&self, i: isize, j: isize) -> bool {
        i >= 0
            && j >= 0
            && (i as usize) < self.w
            && (j as usize) < self.h
            && self.on[j as usize * self.w + i as usize]
    }

    pub fn set(&mut self, i: usize, j: usize, v: bool) {
        self.on[j * self.w + i] = v;
    }

    pub fn count(&self) -> usize {
        self.on.iter().filter(|&&v| v).count()
    }

    /// The eight neighbours of (i, j) in ring order.
    fn ring(&self, i: usize, j: usize) -> [bool; 8] {
        RING.map(|(di, dj)| self.at(i as isize + di, j as isize + dj))
    }

    /// Zhang–Suen thinning to an 8-connected skeleton one cell wide.
    pub fn skeleton(&self) -> Mask {
        let mut m = self.clone();
        loop {
            let mut changed = false;
            for pass in 0..2 {
                let mut remove = Vec::new();
                for j in 0..m.h {
                    for i in 0..m.w {
                        if !m.on[j * m.w + i] {
                            continue;
                        }
                        let p = m.ring(i, j);
                        let b = p.iter().filter(|&&v| v).count();
                        let [n, _, e, _, s, _, w, _] = p;
                        let keep_by_pass = if pass == 0 {
                            e && s && (n || w)
                        } else {
                            n && w && (e || s)
                        };
                        if (2..=6).contains(&b) && transitions(&p) == 1 && !keep_by_pass {
                            remove.push(j * m.w + i);
                        }
                    }
                }
                changed |= !remove.is_empty();
                for k in remove {
                    m.on[k] = false;
                }
            }
            if !changed {
                return m;
            }
        }
    }

    /// An end cell of a skeleton: its set neighbours are one arc of the ring (one transition)
    /// of at most three cells, so it ends a line (or is a one-cell spur beside one) and removing
    /// it disconnects nothing.
    fn is_end(&self, i: usize, j: usize) -> bool {
        let p = self.ring(i, j);
        self.on[j * self.w + i] && transitions(&p) == 1 && p.iter().filter(|&&v| v).count() <= 3
    }

    /// Removes every end cell `times` times, all ends of a round at once.
    pub fn prune(&self, times: usize) -> Mask {
        let mut m = self.clone();
        for _ in 0..times {
            let ends: Vec<usize> = (0..m.h)
                .flat_map(|j| (0..m.w).map(move |i| (i, j)))
                .filter(|&(i, j)| m.is_end(i, j))
                .map(|(i, j)| j * m.w + i)
                .collect();
            if ends.is_empty() {
                break;
            }
            for k in ends {
                m.on[k] = false;
            }
        }
        m
    }

    /// Junctions of a skeleton: 8-connected clusters of cells with ≥ 3 transitions.
    pub fn branch_points(&self) -> usize {
        let junction: Vec<bool> = (0..self.w * self.h)
            .map(|k| {
                let (i, j) = (k % self.w, k / self.w);
                self.on[k] && transitions(&self.ring(i, j)) >= 3
            })
            .collect();
        let mut seen = vec![false; junction.len()];
        let mut clusters = 0;
        for k0 in 0..junction.len() {
            if !junction[k0] || seen[k0] {
                continue;
            }
            clusters += 1;
            seen[k0] = true;
            let mut stack = vec![k0];
            while let Some(k) = stack.pop() {
                let (i, j) = ((k % self.w) as isize, (k / self.w) as isize);
                for (di, dj) in RING {
                    let (a, b) = (i + di, j + dj);
                    if a < 0 || b < 0 || a as usize >= self.w || b as usize >= self.h {
                        continue;
                    }
                    let n = b as usize * self.w + a as usize;
                    if junction[n] && !seen[n] {
                        seen[n] = true;
                        stack.push(n);
                    }
                }
            }
        }
        clusters
    }

    /// Length of a skeleton in cells: orthogonal neighbours 1, diagonal neighbours √2 where
    /// neither cell that would join them orthogonally is set; each pair counted once.
    pub fn length_cells(&self) -> f64 {
        let mut len = 0.0;
        for j in 0..self.h as isize {
            for i in 0..self.w as isize {
                if !self.at(i, j) {
                    continue;
                }
                len += [(1, 0), (0, 1)]
                    .iter()
                    .filter(|(di, dj)| self.at(i + di, j + dj))
                    .count() as f64;
                for di in [-1, 1] {
                    if self.at(i + di, j + 1) && !self.at(i + di, j) && !self.at(i, j + 1) {
                        len += std::f64::consts::SQRT_2;
                    }
                }
            }
        }
        len
    }

    /// Box-counting dimension (module documentation); NaN with fewer than three box sizes or
    /// no set cell.
    pub fn box_dimension(&self) -> f64 {
        let cells: Vec<(usize, usize)> = (0..self.w * self.h)
            .filter(|&k| self.on[k])
            .map(|k| (k % self.w, k / self.w))
            .collect();
        let Some(i0) = cells.iter().map(|c| c.0).min() else {
            return f64::NAN;
        };
        let j0 = cells.iter().map(|c| c.1).min().unwrap_or(0);
        let i1 = cells.iter().map(|c| c.0).max().unwrap_or(0);
        let j1 = cells.iter().map(|c| c.1).max().unwrap_or(0);
        let extent = (i1 - i0 + 1).max(j1 - j0 + 1);
        let mut points = Vec::new();
        let mut s = 1;
        while 4 * s <= extent {
            let mut boxes: Vec<(usize, usize)> = cells
                .iter()
                .map(|&(i, j)| ((i - i0) / s, (j - j0) / s))
                .collect();
            boxes.sort_unstable();
            boxes.dedup();
            points.push(((1.0 / s as f64).ln(), (boxes.len() as f64).ln()));
            s *= 2;
        }
        if points.len() < 3 {
            return f64::NAN;
        }
        let n = points.len() as f64;
        let (mx, my) = (
            points.iter().map(|p| p.0).sum::<f64>() / n,
            points.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        sxy / sxx
    }
}

/// Number of 0 → 1 transitions going once around the ring (P2 … P9, P2).
fn transitions(p: &[bool; 8]) -> usize {
    (0..8).filter(|&k| !p[k] && p[(k + 1) % 8]).count()
}

/// The deposit of `xi` on `grid` above `li_top_m` (module documentation).
pub fn deposit_mask(grid: &Grid, xi: &[f64], li_top_m: f64) -> Mask {
    let connected = grid.flood(0..grid.nx, |k| xi[k] > 0.5);
    let mut m = Mask::new(grid.nx, grid.ny);
    for (k, _) in connected.iter().enumerate().filter(|(_, &c)| c) {
        if grid.y_m(k / grid.nx) > li_top_m {
            m.on[k] = true;
        }
    }
    m
}

/// The shape observables of the deposit of `xi` above `li_top_m`, pruning spurs shorter than
/// `spur_m`.
pub fn deposit_shape(grid: &Grid, xi: &[f64], li_top_m: f64, spur_m: f64) -> DepositShape {
    let m = deposit_mask(grid, xi, li_top_m);
    let dx_um = crate::units::m_to_um(grid.dx_m);
    let skeleton = m.skeleton();
    let spur_cells = (spur_m / grid.dx_m).ceil() as usize;
    DepositShape {
        area_um2: m.count() as f64 * dx_um * dx_um,
        length_um: skeleton.length_cells() * dx_um,
        branch_points: skeleton.prune(spur_cells).branch_points(),
        box_dimension: m.box_dimension(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mask with the cells where `f(i, j)` holds.
    fn mask(w: usize, h: usize, f: impl Fn(usize, usize) -> bool) -> Mask {
        let mut m = Mask::new(w, h);
        for j in 0..h {
            for i in 0..w {
                m.set(i, j, f(i, j));
            }
        }
        m
    }

    /// Within `r` of the segment (x0, y0)–(x1, y1).
    fn near_segment(i: usize, j: usize, a: (f64, f64), b: (f64, f64), r: f64) -> bool {
        let (px, py) = (i as f64 - a.0, j as f64 - a.1);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let t = ((px * dx + py * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
        (px - t * dx).hypot(py - t * dy) <= r
    }

    #[test]
    fn a_straight_filament_has_no_branch_and_its_length() {
        // A filament 5 cells wide and 60 tall with rounded ends.
        let m = mask(30, 80, |i, j| {
            near_segment(i, j, (15.0, 10.0), (15.0, 70.0), 2.5)
        });
        // The skeleton runs between the caps' centres, give or take the half-width r at each end
        // (thinning erodes line ends by up to that much): 60 ± 2r.
        let sk = m.skeleton();
        assert!(sk.count() > 50, "a centre line ({})", sk.count());
        let len = sk.length_cells();
        assert!((55.0..=65.0).contains(&len), "length {len}");
        assert_eq!(sk.prune(4).branch_points(), 0);
        // Tilted by 30°: the same length, still no branch.
        let (s, c) = (30f64.to_radians().sin(), 30f64.to_radians().cos());
        let m = mask(60, 80, |i, j| {
            near_segment(i, j, (10.0, 10.0), (10.0 + 60.0 * s, 10.0 + 60.0 * c), 2.5)
        });
        let sk = m.skeleton();
        // An 8-connected chain at 30° is 7 % long (one diagonal and 0.37 orthogonal step per
        // 0.87 rows: 1.073 per unit length).
        let len = sk.length_cells();
        assert!((55.0..=65.0 * 1.08).contains(&len), "tilted length {len}");
        assert_eq!(sk.prune(4).branch_points(), 0);
    }

    #[test]
    fn a_y_has_one_branch_point_and_a_comb_one_per_tooth() {
        let y = mask(80, 80, |i, j| {
            near_segment(i, j, (40.0, 5.0), (40.0, 40.0), 2.0)
                || near_segment(i, j, (40.0, 40.0), (15.0, 70.0), 2.0)
                || near_segment(i, j, (40.0, 40.0), (65.0, 70.0), 2.0)
        });
        assert_eq!(y.skeleton().prune(4).branch_points(), 1);
        // A stem with three teeth to alternate sides, and a few short bumps that are spurs.
        let comb = mask(80, 100, |i, j| {
            near_segment(i, j, (40.0, 5.0), (40.0, 95.0), 2.0)
                || near_segment(i, j, (40.0, 25.0), (70.0, 25.0), 2.0)
                || near_segment(i, j, (40.0, 50.0), (10.0, 50.0), 2.0)
                || near_segment(i, j, (40.0, 75.0), (70.0, 75.0), 2.0)
                || near_segment(i, j, (40.0, 38.0), (43.5, 38.0), 2.0)
                || near_segment(i, j, (40.0, 62.0), (36.5, 62.0), 2.0)
        });
        let sk = comb.skeleton();
        assert_eq!(sk.prune(6).branch_points(), 3);
        // Without pruning the bumps count too: the pruning is what removes them.
        assert!(sk.branch_points() > 3, "{}", sk.branch_points());
        // Length: the stem's 90 and the teeth's 3 × 30, and the bumps' few cells.
        let len = sk.length_cells();
        assert!((165.0..=195.0).contains(&len), "comb length {len}");
    }

    #[test]
    fn box_counting_gives_one_for_a_line_two_for_a_square_and_log3_log2_for_sierpinski() {
        let line = mask(10, 256, |i, _| i == 4);
        let d = line.box_dimension();
        assert!((d - 1.0).abs() < 1e-12, "line {d}");
        let square = mask(200, 200, |i, j| {
            (20..148).contains(&i) && (30..158).contains(&j)
        });
        let d = square.box_dimension();
        assert!((d - 2.0).abs() < 1e-12, "square {d}");
        // Pascal's triangle mod 2 on 128 rows: N(2^k) = 3^(7−k) exactly.
        let sierpinski = mask(128, 128, |i, j| i <= j && (j & i) == i);
        let d = sierpinski.box_dimension();
        assert!((d - 3f64.log2()).abs() < 1e-9, "Sierpinski {d}");
        // Too small for three box sizes, and empty.
        assert!(mask(20, 20, |i, j| i < 10 && j < 10)
            .box_dimension()
            .is_nan());
        assert!(Mask::new(5, 5).box_dimension().is_nan());
    }

    #[test]
    fn the_deposit_is_the_connected_li_above_the_initial_top() {
        // A foil 8 cells thick, a filament from it, and a detached Li particle.
        let g = Grid::new(40, 60, 0.25e-6);
        let mut xi = vec![0.0; g.cells()];
        for j in 0..g.ny {
            for i in 0..g.nx {
                let k = j * g.nx + i;
                if j < 8 || ((18..22).contains(&i) && j < 30) || (i > 30 && (45..50).contains(&j)) {
                    xi[k] = 1.0;
                }
            }
        }
        let top = 8.0 * g.dx_m;
        let m = deposit_mask(&g, &xi, top);
        assert_eq!(
            m.count(),
            4 * 22,
            "the filament above the foil, not the particle"
        );
        let s = deposit_shape(&g, &xi, top, 0.5e-6);
        assert!((s.area_um2 - 88.0 * 0.0625).abs() < 1e-12);
        assert_eq!(s.branch_points, 0);
        assert!((s.length_um - 20.0 * 0.25).abs() <= 1.0, "{}", s.length_um);
    }
}
