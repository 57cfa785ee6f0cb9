//! Scaffolds whose pores are analytic shapes in 3D: straight cylinders on a lattice and
//! overlapping spheres (seed 000's geometric model and its random counterpart).
//!
//! Both give the signed distance (m, positive inside a pore) of every cell centre to the pore
//! boundary, from which the builder takes the tanh profile, so the ϕ = ½ surface is the shapes'
//! own surface, not a voxel staircase (the iso-surface area of a voxelised sphere is several per
//! cent too large, more than the 1–2 % the metrics are checked to).
//!
//! The grid's y is the growth direction (the cylinders' axis); x and z are periodic. A 2D section
//! (nz = 1) cuts the same 3D scaffold at z = Δx/2: the lattice's spacing is then the ideal one in
//! z, and the spheres are drawn in the slab |z − Δx/2| < R.

use crate::config::PoreLattice;
use crate::grid::Grid;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// A lattice of straight cylinders along y in the x–z plane.
#[derive(Debug, Clone, PartialEq)]
pub struct CylinderLattice {
    pub lattice: PoreLattice,
    /// Cylinder radius, m.
    pub radius_m: f64,
    /// The rectangular repeat cell (x, z), m, after fitting whole cells into the domain: a square
    /// lattice has one axis per cell, a hexagonal one two (a × √3a).
    pub period_x_m: f64,
    pub period_z_m: f64,
    /// Repeat cells along x and z (z: 1 for a 2D section, which is not fitted).
    pub cells_x: usize,
    pub cells_z: usize,
    /// Porosity of the fitted lattice: the cylinders' cross-section over the repeat cell's area.
    pub porosity: f64,
}

impl CylinderLattice {
    /// The lattice with diameter `diameter_m` whose ideal spacing gives `porosity`, fitted to
    /// whole repeat cells in the grid's width and (3D) depth.
    pub fn fit(grid: &Grid, diameter_m: f64, porosity: f64, lattice: PoreLattice) -> Self {
        let area = std::f64::consts::PI * diameter_m * diameter_m / 4.0;
        let (per_cell, ideal_x, ideal_z) = match lattice {
            PoreLattice::Square => {
                let a = (area / porosity).sqrt();
                (1.0, a, a)
            }
            PoreLattice::Hexagonal => {
                // Nearest-neighbour distance a: area per axis (√3/2)a².
                let a = (2.0 * area / (3f64.sqrt() * porosity)).sqrt();
                (2.0, a, 3f64.sqrt() * a)
            }
        };
        let cells_x = ((grid.width_m() / ideal_x).round() as usize).max(1);
        let period_x_m = grid.width_m() / cells_x as f64;
        let (cells_z, period_z_m) = if grid.is_3d() {
            let n = ((grid.depth_m() / ideal_z).round() as usize).max(1);
            (n, grid.depth_m() / n as f64)
        } else {
            (1, ideal_z)
        };
        CylinderLattice {
            lattice,
            radius_m: 0.5 * diameter_m,
            period_x_m,
            period_z_m,
            cells_x,
            cells_z,
            porosity: per_cell * area / (period_x_m * period_z_m),
        }
    }

    /// Number of cylinders in the domain (3D), or crossing the section's repeat cells (2D).
    pub fn count(&self) -> usize {
        let per_cell = match self.lattice {
            PoreLattice::Square => 1,
            PoreLattice::Hexagonal => 2,
        };
        per_cell * self.cells_x * self.cells_z
    }

    /// The axes of one repeat cell, as fractions of its sides.
    fn axes_in_cell(&self) -> &'static [(f64, f64)] {
        match self.lattice {
            PoreLattice::Square => &[(0.5, 0.5)],
            PoreLattice::Hexagonal => &[(0.25, 0.25), (0.75, 0.75)],
        }
    }

    /// Signed distance (m) of the point (x, z) to the nearest cylinder's surface, positive
    /// inside. The lattice is periodic with the repeat cell, so the nearest axis lies in the
    /// point's repeat cell or one of its eight neighbours.
    pub fn signed_distance_m(&self, x: f64, z: f64) -> f64 {
        let (px, pz) = (self.period_x_m, self.period_z_m);
        let (fx, fz) = (x / px, z / pz);
        let (cx, cz) = (fx.floor(), fz.floor());
        let mut r2 = f64::INFINITY;
        for di in -1..=1 {
            for dk in -1..=1 {
                for &(ax, az) in self.axes_in_cell() {
                    let dx = (fx - (cx + di as f64 + ax)) * px;
                    let dz = (fz - (cz + dk as f64 + az)) * pz;
                    r2 = r2.min(dx * dx + dz * dz);
                }
            }
        }
        self.radius_m - r2.sqrt()
    }
}

/// Overlapping spheres of one radius, drawn until the pores fill a target fraction of a region.
#[derive(Debug, Clone, PartialEq)]
pub struct SphereScaffold {
    /// Centres (x, y, z), m.
    pub centres_m: Vec<[f64; 3]>,
    pub radius_m: f64,
    /// The volume the centres were drawn in, m³ (its number density is count / this).
    pub draw_volume_m3: f64,
    /// Signed distance to the union of the spheres (m, positive inside) at every cell centre of
    /// the grid, exact outside the pores and the largest R − |p − c| inside; −∞ where no sphere
    /// comes within `reach_m`.
    pub distance_m: Vec<f64>,
    /// Fraction of the region's cell centres inside a sphere.
    pub region_porosity: f64,
}

/// The unwrapped index range of the cells (centres at (n + ½)·dx) within `extent` of the
/// coordinate `v` along one axis, both ends included (periodic axes wrap it).
fn cell_span(v: f64, extent: f64, dx: f64) -> (isize, isize) {
    (
        ((v - extent) / dx - 0.5).floor() as isize,
        ((v + extent) / dx - 0.5).ceil() as isize,
    )
}

/// Calls `f(cell, i, j, R − |p − c|)` for the cells p of `grid` within `r` of the centre `c`
/// (`plane = None`: in every section, 3D periodic in x and z), or within `r + reach` of it in the
/// one section `k` (`plane = Some((k, reach))`). In a 2D section the cells lie at z = Δx/2.
fn for_cells_near(
    grid: &Grid,
    c: &[f64; 3],
    r: f64,
    plane: Option<(usize, f64)>,
    mut f: impl FnMut(usize, usize, usize, f64),
) {
    let (nx, ny, nz, dx) = (grid.nx, grid.ny, grid.nz, grid.dx_m);
    let extent = r + plane.map_or(0.0, |(_, reach)| reach);
    let lo_hi = |v: f64| cell_span(v, extent, dx);
    let (i_lo, i_hi) = lo_hi(c[0]);
    let (j_lo, j_hi) = lo_hi(c[1]);
    // Sections (unwrapped index kk, and its cell index k) the call covers.
    let zs: Vec<(usize, f64)> = if !grid.is_3d() {
        vec![(0, grid.z_m(0))]
    } else {
        let (k_lo, k_hi) = lo_hi(c[2]);
        (k_lo..=k_hi)
            .map(|kk| (kk.rem_euclid(nz as isize) as usize, (kk as f64 + 0.5) * dx))
            .filter(|&(k, _)| plane.is_none_or(|(p, _)| p == k))
            .collect()
    };
    for (k, z) in zs {
        let dz2 = (z - c[2]).powi(2);
        for jj in j_lo.max(0)..=j_hi.min(ny as isize - 1) {
            let j = jj as usize;
            let dy2 = (grid.y_m(j) - c[1]).powi(2);
            for ii in i_lo..=i_hi {
                let i = ii.rem_euclid(nx as isize) as usize;
                let x = (ii as f64 + 0.5) * dx;
                let d = r - ((x - c[0]).powi(2) + dy2 + dz2).sqrt();
                f(grid.idx3(i, j, k), i, j, d);
            }
        }
    }
}

impl SphereScaffold {
    /// The number density n of the centres, m⁻³.
    pub fn number_density_per_m3(&self) -> f64 {
        self.centres_m.len() as f64 / self.draw_volume_m3
    }

    /// The Boolean model's expectations at this density: porosity 1 − exp(−n v) and specific
    /// surface n 4πR² exp(−n v), m⁻¹ (the pores are the union of the spheres).
    pub fn expected_porosity_and_surface_per_m(&self) -> (f64, f64) {
        let r = self.radius_m;
        let n = self.number_density_per_m3();
        let void = (-n * 4.0 / 3.0 * std::f64::consts::PI * r * r * r).exp();
        (1.0 - void, n * 4.0 * std::f64::consts::PI * r * r * void)
    }
}

impl SphereScaffold {
    /// The exact area (m²) of the union's surface inside y0 ≤ y ≤ y1, in a box periodic in x and
    /// z with the grid's width and depth (for a 2D section's slab, z is not wrapped): each
    /// sphere's surface is sampled at `points` Fibonacci points, and a point counts where no
    /// other sphere covers it. The sampling error is about 1/points of a sphere's area per
    /// sphere crossing the band's ends or another sphere, far below the grid's.
    pub fn exposed_area_between_m2(&self, grid: &Grid, y0: f64, y1: f64, points: usize) -> f64 {
        let r = self.radius_m;
        let (w, d) = (grid.width_m(), grid.depth_m());
        let wrap = |v: f64, period: f64| v - (v / period).round() * period;
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        let unit: Vec<[f64; 3]> = (0..points)
            .map(|p| {
                let y = 1.0 - 2.0 * (p as f64 + 0.5) / points as f64;
                let rad = (1.0 - y * y).sqrt();
                let t = golden * p as f64;
                [rad * t.cos(), y, rad * t.sin()]
            })
            .collect();
        // Cell list of the centres (cells of at least 2R in x and z) to find the overlapping
        // neighbours.
        let bins = |len: f64| ((len / (2.0 * r)).floor() as usize).max(1);
        let (bx, bz) = (bins(w), if grid.is_3d() { bins(d) } else { 1 });
        let bin_of = |c: &[f64; 3]| {
            let i = ((c[0].rem_euclid(w) / w * bx as f64) as usize).min(bx - 1);
            let k = if grid.is_3d() {
                ((c[2].rem_euclid(d) / d * bz as f64) as usize).min(bz - 1)
            } else {
                0
            };
            (i, k)
        };
        let mut cells: Vec<Vec<usize>> = vec![Vec::new(); bx * bz];
        for (n, c) in self.centres_m.iter().enumerate() {
            let (i, k) = bin_of(c);
            cells[k * bx + i].push(n);
        }
        let per_point = 4.0 * std::f64::consts::PI * r * r / points as f64;
        let mut area = 0.0;
        for (a, ca) in self.centres_m.iter().enumerate() {
            if ca[1] + r < y0 || ca[1] - r > y1 {
                continue;
            }
            let (i0, k0) = bin_of(ca);
            let mut near: Vec<[f64; 3]> = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for di in [bx - 1, 0, 1] {
                for dk in [bz - 1, 0, 1] {
                    let cell = ((k0 + dk) % bz) * bx + (i0 + di) % bx;
                    if !seen.insert(cell) {
                        continue;
                    }
                    for &b in &cells[cell] {
                        let cb = &self.centres_m[b];
                        let dx = wrap(cb[0] - ca[0], w);
                        let dz = if grid.is_3d() {
                            wrap(cb[2] - ca[2], d)
                        } else {
                            cb[2] - ca[2]
                        };
                        let dy = cb[1] - ca[1];
                        if b != a && dx * dx + dy * dy + dz * dz < 4.0 * r * r {
                            near.push([dx, dy, dz]);
                        }
                    }
                }
            }
            for u in &unit {
                let p = [u[0] * r, u[1] * r, u[2] * r];
                let y = ca[1] + p[1];
                if y < y0 || y > y1 {
                    continue;
                }
                let covered = near.iter().any(|c| {
                    (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2) < r * r
                });
                if !covered {
                    area += per_point;
                }
            }
        }
        area
    }
}

/// Draws spheres of diameter `diameter_m` with centres uniform in x, z (periodic) and in
/// y ∈ [y0 − R, y1 + R) (the region's rows `j0..j1` widened by one radius), seeded, until the
/// fraction of the region's cell centres inside a sphere reaches `target`. The signed distance
/// is evaluated out to `reach_m` beyond each surface (beyond it the profile is saturated).
pub fn overlapping_spheres(
    grid: &Grid,
    rows: (usize, usize),
    diameter_m: f64,
    target: f64,
    seed: u64,
    reach_m: f64,
) -> SphereScaffold {
    let (nx, ny, nz, dx) = (grid.nx, grid.ny, grid.nz, grid.dx_m);
    let (j0, j1) = rows;
    let r = 0.5 * diameter_m;
    let (y0, y1) = (j0 as f64 * dx, j1 as f64 * dx);
    let (width, depth) = (grid.width_m(), grid.depth_m());
    // A section draws in the slab of centres whose spheres can cut it.
    let (z_lo, z_span) = if grid.is_3d() {
        (0.0, depth)
    } else {
        (grid.z_m(0) - r, 2.0 * r)
    };
    let draw_volume_m3 = width * (y1 - y0 + 2.0 * r) * z_span;
    let region_cells = nx * (j1 - j0) * nz;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pore = vec![false; grid.cells()];
    let mut distance_m = vec![f64::NEG_INFINITY; grid.cells()];
    let mut centres_m = Vec::new();
    let mut count = 0usize;
    let sphere_volume = 4.0 / 3.0 * std::f64::consts::PI * r * r * r;
    // Ample for any target ≤ 0.95: the expected number is −ln(1 − φ) V / v.
    let max_spheres = 64 + (20.0 * draw_volume_m3 / sphere_volume) as usize;
    // Draw: mark the cells inside each new sphere until the region's pore fraction is reached.
    while (count as f64) < target * region_cells as f64 && centres_m.len() < max_spheres {
        let c = [
            rng.gen::<f64>() * width,
            y0 - r + rng.gen::<f64>() * (y1 - y0 + 2.0 * r),
            z_lo + rng.gen::<f64>() * z_span,
        ];
        centres_m.push(c);
        for_cells_near(grid, &c, r, None, |cell, _, j, d| {
            if d > 0.0 && !pore[cell] {
                pore[cell] = true;
                if (j0..j1).contains(&j) {
                    count += 1;
                }
            }
        });
    }
    // Distance: the largest R − |p − c| of the spheres within `reach_m` of a cell, plane by
    // plane in parallel (each plane takes the spheres that reach it).
    let plane_cells = nx * ny;
    let extent = r + reach_m;
    let mut by_plane: Vec<Vec<usize>> = vec![Vec::new(); nz];
    for (n, c) in centres_m.iter().enumerate() {
        if grid.is_3d() {
            let (k_lo, k_hi) = cell_span(c[2], extent, dx);
            let planes = (k_hi - k_lo + 1).min(nz as isize);
            for kk in k_lo..k_lo + planes {
                by_plane[kk.rem_euclid(nz as isize) as usize].push(n);
            }
        } else {
            by_plane[0].push(n);
        }
    }
    distance_m
        .par_chunks_mut(plane_cells)
        .zip(by_plane.par_iter())
        .enumerate()
        .for_each(|(k, (plane, spheres))| {
            for &n in spheres {
                for_cells_near(
                    grid,
                    &centres_m[n],
                    r,
                    Some((k, reach_m)),
                    |cell, _, _, d| {
                        let q = &mut plane[cell - k * plane_cells];
                        if d > *q {
                            *q = d;
                        }
                    },
                );
            }
        });
    SphereScaffold {
        centres_m,
        radius_m: r,
        draw_volume_m3,
        distance_m,
        region_porosity: count as f64 / region_cells.max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_lattices_keep_their_porosity_and_spacing() {
        let grid = Grid::new_3d(200, 10, 200, 0.1e-6);
        for (lattice, phi) in [(PoreLattice::Square, 0.5), (PoreLattice::Hexagonal, 0.5)] {
            let l = CylinderLattice::fit(&grid, 5e-6, phi, lattice);
            // 20 µm holds whole cells of the ideal spacing only approximately.
            assert!(
                (l.porosity - phi).abs() < 0.15,
                "{lattice:?}: {}",
                l.porosity
            );
            // The axis of a cylinder is inside it by R; a point half a period away along x
            // between two axes of a square lattice is outside.
            let (ax, az) = l.axes_in_cell()[0];
            let d = l.signed_distance_m(ax * l.period_x_m, az * l.period_z_m);
            assert!((d - 2.5e-6).abs() < 1e-15);
        }
    }

    #[test]
    fn hexagonal_axes_are_equidistant() {
        let grid = Grid::new_3d(100, 4, 173, 0.1e-6);
        let l = CylinderLattice::fit(&grid, 2e-6, 0.4, PoreLattice::Hexagonal);
        // From the axis at (¼, ¼) of a cell, the six nearest axes lie at one distance a = px.
        let a = l.period_x_m;
        assert!((l.period_z_m / a - 3f64.sqrt()).abs() < 0.02);
        let (x0, z0) = (0.25 * l.period_x_m, 0.25 * l.period_z_m);
        // Half-way to the axis at (¾, ¾): the point is a/2 from both.
        let (xm, zm) = (x0 + 0.25 * l.period_x_m, z0 + 0.25 * l.period_z_m);
        let half = 0.5 * ((0.5 * l.period_x_m).powi(2) + (0.5 * l.period_z_m).powi(2)).sqrt();
        assert!((l.signed_distance_m(xm, zm) - (l.radius_m - half)).abs() < 1e-15);
    }

    #[test]
    fn spheres_reach_the_target_and_repeat_with_the_seed() {
        let grid = Grid::new_3d(40, 50, 40, 0.25e-6);
        let a = overlapping_spheres(&grid, (10, 40), 2e-6, 0.4, 3, 1e-6);
        let b = overlapping_spheres(&grid, (10, 40), 2e-6, 0.4, 3, 1e-6);
        let c = overlapping_spheres(&grid, (10, 40), 2e-6, 0.4, 4, 1e-6);
        assert!(a.region_porosity >= 0.4 && a.region_porosity < 0.45);
        assert_eq!(a.distance_m, b.distance_m);
        assert_ne!(a.centres_m, c.centres_m);
    }
}
