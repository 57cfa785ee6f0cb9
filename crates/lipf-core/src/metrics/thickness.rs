//! Local thickness (Hildebrand & Rüegsegger, J. Microsc. 185 (1997) 67): the local thickness at
//! a pore point is the diameter of the largest disk that lies in the pore space and contains the
//! point. The pore-size distribution is the area-weighted distribution of local thickness.
//!
//! Discrete form: the radius of the disk centred on cell c is d_c, the distance from c's centre
//! to the nearest solid cell centre (exact distance transform, [`crate::geometry::distance`]);
//! every pore cell that the disk touches (centre within d_c + ½ of c) gets at least 2 d_c − ½ cell
//! (the ½ cell accounts for the true boundary lying between a solid and a pore centre). Disks contained in a neighbour's disk are
//! skipped (only the ridge paints). The estimate is within one cell of the true diameter for
//! disks and slits.
//!
//! For round pores that holds when the pore is centred on a cell centre (a disk or ball of even
//! diameter D then comes out as D − ½ everywhere). Centred elsewhere, the staircase of the
//! digitised wall narrows the largest inscribed disk of the pore cells themselves, and the
//! estimate falls short of D by up to about 2 cells (1.6 for a disk of D = 10 centred on a cell
//! corner, 2.1 for a ball of D = 12); in none of the tested placements does it exceed D + ½.
//!
//! In 3D ([`local_thickness_cells_3d`]) the disks are balls and the neighbours the 26 of a
//! voxel; everything else is the same, and a 2D section is the case nz = 1
//! ([`local_thickness_cells`] is exactly that). Cost: the distance transform is linear in the
//! number of cells; painting visits, for every ridge ball, the cells of the ball. On a lattice
//! few balls are exactly contained in a neighbour's, so most pore cells are on the ridge and
//! painting grows as the pore volume times the cube of the pore size. The result is a maximum
//! over the balls, independent of their order; z-slices are painted in parallel.

use crate::geometry::distance::{squared_distance_to, Lattice};
use rayon::prelude::*;

/// Local thickness, in cells, of every pore cell of an `nx × ny` mask (periodic in x; the
/// region is closed by solid below row 0 and above row ny − 1); 0 in solid cells.
pub fn local_thickness_cells(pore: &[bool], nx: usize, ny: usize) -> Vec<f64> {
    local_thickness_cells_3d(pore, nx, ny, 1)
}

/// A ball of the distance ridge: centre (i, j) in its z-slice, radius r (cells), the value
/// 2r − ½ (at least 1) it paints, and its reach ⌈r + ½⌉ in cells.
#[derive(Debug, Clone, Copy)]
struct RidgeBall {
    i: isize,
    j: isize,
    r: f64,
    value: f64,
    reach: isize,
}

/// Local thickness, in cells, of every pore cell of an `nx × ny × nz` voxel mask, index
/// `(k·ny + j)·nx + i` (periodic in x and z; the region is closed by solid below row 0 and above
/// row ny − 1); 0 in solid cells. The diameter of the largest ball in the pore space that
/// contains the cell, with the conventions of the module documentation. With nz = 1 this is the
/// 2D [`local_thickness_cells`], identically.
pub fn local_thickness_cells_3d(pore: &[bool], nx: usize, ny: usize, nz: usize) -> Vec<f64> {
    assert_eq!(pore.len(), nx * ny * nz);
    if pore.is_empty() {
        return Vec::new();
    }
    let slice = nx * ny;
    // Pad one solid row below and above so that the region's ends bound the pores.
    let lat = Lattice {
        dims: [nx, ny + 2, nz],
        periodic: [true, false, true],
    };
    let padded = |i: usize, j: usize, k: usize| (k * (ny + 2) + j + 1) * nx + i;
    let mut solid = vec![true; lat.cells()];
    for (c, &p) in pore.iter().enumerate() {
        solid[padded(c % nx, (c / nx) % ny, c / slice)] = !p;
    }
    let d2 = squared_distance_to(&solid, lat);
    let d: Vec<f64> = (0..pore.len())
        .map(|c| d2[padded(c % nx, (c / nx) % ny, c / slice)].sqrt())
        .collect();

    // The neighbours (di, dj, dk) and their distances: 8 in a section, 26 in a volume.
    let dk_max: isize = if nz > 1 { 1 } else { 0 };
    let mut neighbours: Vec<(isize, isize, isize, f64)> = Vec::new();
    for dk in -dk_max..=dk_max {
        for dj in -1isize..=1 {
            for di in -1isize..=1 {
                if (di, dj, dk) != (0, 0, 0) {
                    neighbours.push((di, dj, dk, ((di * di + dj * dj + dk * dk) as f64).sqrt()));
                }
            }
        }
    }
    let wrap = |x: isize, n: usize| x.rem_euclid(n as isize) as usize;

    // Ridge balls (not contained in a neighbour's ball), by z-slice, largest first.
    let ridge: Vec<Vec<RidgeBall>> = (0..nz)
        .into_par_iter()
        .map(|k| {
            let mut balls = Vec::new();
            for j in 0..ny {
                for i in 0..nx {
                    let c = (k * ny + j) * nx + i;
                    if !pore[c] {
                        continue;
                    }
                    let contained = neighbours.iter().any(|&(di, dj, dk, dist)| {
                        let jj = j as isize + dj;
                        if jj < 0 || jj >= ny as isize {
                            return false;
                        }
                        let ii = wrap(i as isize + di, nx);
                        let kk = wrap(k as isize + dk, nz);
                        d[(kk * ny + jj as usize) * nx + ii] >= d[c] + dist - 1e-9
                    });
                    if !contained {
                        let r = d[c];
                        balls.push(RidgeBall {
                            i: i as isize,
                            j: j as isize,
                            r,
                            value: (2.0 * r - 0.5).max(1.0),
                            reach: (r + 0.5).ceil() as isize,
                        });
                    }
                }
            }
            balls.sort_by(|a, b| b.r.total_cmp(&a.r));
            balls
        })
        .collect();
    let max_reach = ridge
        .iter()
        .filter_map(|b| b.first())
        .map(|b| b.reach)
        .max()
        .unwrap_or(0);

    // Paint: every z-slice takes the maximum over the ridge balls that reach it (from any
    // slice, across the periodic boundary too) of their value, in the cells whose centres lie
    // within r + ½ of the ball's centre.
    let dk_reach = if nz > 1 { max_reach } else { 0 };
    let mut lt = vec![0.0f64; pore.len()];
    lt.par_chunks_mut(slice).enumerate().for_each(|(k, lt_k)| {
        let pore_k = &pore[k * slice..(k + 1) * slice];
        for dk in -dk_reach..=dk_reach {
            let kc = wrap(k as isize - dk, nz);
            for ball in &ridge[kc] {
                if ball.reach < dk.abs() {
                    break;
                }
                let lim = (ball.r + 0.5) * (ball.r + 0.5);
                for dj in -ball.reach..=ball.reach {
                    let jj = ball.j + dj;
                    let s = dj * dj + dk * dk;
                    if jj < 0 || jj >= ny as isize || s as f64 >= lim {
                        continue;
                    }
                    let w = half_width(s, lim);
                    let row = jj as usize * nx;
                    if ball.i >= w && ball.i + w < nx as isize {
                        let (a, b) = (row + (ball.i - w) as usize, row + (ball.i + w) as usize);
                        // Written without branches so that the row vectorises.
                        for (t, &p) in lt_k[a..=b].iter_mut().zip(&pore_k[a..=b]) {
                            let painted = if ball.value > *t { ball.value } else { *t };
                            *t = if p { painted } else { *t };
                        }
                    } else {
                        for di in -w..=w {
                            let c = row + wrap(ball.i + di, nx);
                            if pore_k[c] && lt_k[c] < ball.value {
                                lt_k[c] = ball.value;
                            }
                        }
                    }
                }
            }
        }
    });
    lt
}

/// The largest w ≥ 0 with w² + s < lim (exactly as `((w² + s) as f64) < lim`), given s < lim.
fn half_width(s: isize, lim: f64) -> isize {
    let mut w = (lim - s as f64).max(0.0).sqrt() as isize;
    while w > 0 && ((w * w + s) as f64) >= lim {
        w -= 1;
    }
    while (((w + 1) * (w + 1) + s) as f64) < lim {
        w += 1;
    }
    w
}

/// Area-weighted distribution of local thickness.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct PoreSizeDistribution {
    /// Lower edges of the bins, µm (bin width = one grid spacing).
    pub bin_lower_um: Vec<f64>,
    /// Pore area fraction in each bin (sums to 1).
    pub area_fraction: Vec<f64>,
    pub mean_um: f64,
    pub d10_um: f64,
    pub median_um: f64,
    pub d90_um: f64,
}

/// The distribution of `thickness_cells` over the pore cells, in µm for grid spacing `dx_um`.
/// Every pore cell weighs the same, so for a 3D mask the fractions are of pore volume.
pub fn distribution(thickness_cells: &[f64], pore: &[bool], dx_um: f64) -> PoreSizeDistribution {
    let mut v: Vec<f64> = thickness_cells
        .iter()
        .zip(pore)
        .filter(|(_, &p)| p)
        .map(|(&t, _)| t * dx_um)
        .collect();
    if v.is_empty() {
        return PoreSizeDistribution {
            bin_lower_um: vec![],
            area_fraction: vec![],
            mean_um: 0.0,
            d10_um: 0.0,
            median_um: 0.0,
            d90_um: 0.0,
        };
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let q = |f: f64| v[((f * n as f64) as usize).min(n - 1)];
    let bins = (v[n - 1] / dx_um).floor() as usize + 1;
    let mut frac = vec![0.0; bins];
    for &t in &v {
        frac[((t / dx_um).floor() as usize).min(bins - 1)] += 1.0 / n as f64;
    }
    PoreSizeDistribution {
        bin_lower_um: (0..bins).map(|b| b as f64 * dx_um).collect(),
        area_fraction: frac,
        mean_um: v.iter().sum::<f64>() / n as f64,
        d10_um: q(0.1),
        median_um: q(0.5),
        d90_um: q(0.9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The section-only implementation that the 3D one replaced, kept to show that the 2D
    /// results are unchanged.
    fn reference_2d(pore: &[bool], nx: usize, ny: usize) -> Vec<f64> {
        assert_eq!(pore.len(), nx * ny);
        // Pad one solid row below and above so that the region's ends bound the pores.
        let lat = Lattice::section(nx, ny + 2);
        let mut solid = vec![true; nx * (ny + 2)];
        for (k, &p) in pore.iter().enumerate() {
            solid[k + nx] = !p;
        }
        let d2 = squared_distance_to(&solid, lat);
        let d: Vec<f64> = (0..nx * ny).map(|k| d2[k + nx].sqrt()).collect();
        let mut lt = vec![0.0f64; nx * ny];
        // Ridge cells: disks not contained in a neighbour's disk.
        let mut ridge: Vec<usize> = Vec::new();
        for j in 0..ny {
            for i in 0..nx {
                let k = j * nx + i;
                if !pore[k] {
                    continue;
                }
                let mut contained = false;
                'nb: for dj in -1isize..=1 {
                    for di in -1isize..=1 {
                        if di == 0 && dj == 0 {
                            continue;
                        }
                        let jj = j as isize + dj;
                        if jj < 0 || jj >= ny as isize {
                            continue;
                        }
                        let ii = (i as isize + di).rem_euclid(nx as isize) as usize;
                        let dist = ((di * di + dj * dj) as f64).sqrt();
                        if d[jj as usize * nx + ii] >= d[k] + dist - 1e-9 {
                            contained = true;
                            break 'nb;
                        }
                    }
                }
                if !contained {
                    ridge.push(k);
                }
            }
        }
        ridge.sort_by(|&a, &b| d[b].total_cmp(&d[a]));
        for &c in &ridge {
            let (ci, cj) = ((c % nx) as isize, (c / nx) as isize);
            let r = d[c];
            let value = (2.0 * r - 0.5).max(1.0);
            let reach = (r + 0.5).ceil() as isize;
            for dj in -reach..=reach {
                let jj = cj + dj;
                if jj < 0 || jj >= ny as isize {
                    continue;
                }
                for di in -reach..=reach {
                    if ((di * di + dj * dj) as f64) >= (r + 0.5) * (r + 0.5) {
                        continue;
                    }
                    let ii = (ci + di).rem_euclid(nx as isize) as usize;
                    let k = jj as usize * nx + ii;
                    if pore[k] && lt[k] < value {
                        lt[k] = value;
                    }
                }
            }
        }
        lt
    }

    /// Pore cells of an `nx × ny × nz` mask from a function of the cell centre (in cells).
    fn mask3(nx: usize, ny: usize, nz: usize, f: impl Fn(f64, f64, f64) -> bool) -> Vec<bool> {
        let mut v = Vec::with_capacity(nx * ny * nz);
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    v.push(f(i as f64 + 0.5, j as f64 + 0.5, k as f64 + 0.5));
                }
            }
        }
        v
    }

    fn random_mask(n: usize, seed: u64) -> Vec<bool> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_bool(0.6)).collect()
    }

    #[test]
    fn section_results_are_unchanged_and_a_z_invariant_volume_repeats_them() {
        // Noise (small pores), and wide pores behind a smooth random wall (periodic in x).
        let tau = std::f64::consts::TAU;
        let smooth = mask3(64, 48, 1, |x, y, _| {
            (tau * x / 64.0 + 0.1 * y).cos() + (tau * 2.0 * x / 64.0 - 0.15 * y + 1.0).cos() > -0.4
        });
        let cases = [
            (23usize, 17usize, random_mask(23 * 17, 1)),
            (40, 31, random_mask(40 * 31, 2)),
            (3, 9, random_mask(3 * 9, 3)),
            (64, 48, smooth),
        ];
        for (nx, ny, pore) in cases {
            let lt = local_thickness_cells(&pore, nx, ny);
            assert_eq!(lt, reference_2d(&pore, nx, ny));
            assert_eq!(lt, local_thickness_cells_3d(&pore, nx, ny, 1));
            // Extruded along z, every section has the 2D thickness: the balls of the ridge
            // of one section cut the others in smaller disks.
            let nz = 4;
            let volume: Vec<bool> = (0..nz).flat_map(|_| pore.iter().copied()).collect();
            let lt3 = local_thickness_cells_3d(&volume, nx, ny, nz);
            for k in 0..nz {
                assert_eq!(&lt3[k * nx * ny..(k + 1) * nx * ny], &lt[..], "section {k}");
            }
            let largest = lt.iter().cloned().fold(0.0, f64::max);
            assert!(nx < 64 || largest > 10.0, "{largest}");
        }
    }

    /// The largest |local thickness − D| over the pore cells of a cylinder of diameter D along
    /// y whose axis is `offset` cells from a cell centre in x and z (away from the closed ends),
    /// and the largest thickness.
    fn cylinder_error(diameter: usize, offset: f64) -> (f64, f64) {
        let (nx, ny, nz) = (diameter + 7, 3 * diameter, diameter + 9);
        let r = diameter as f64 / 2.0;
        let (cx, cz) = (4.5 + r + offset, 5.5 + r + offset);
        let pore = mask3(nx, ny, nz, |x, _, z| {
            (x - cx).powi(2) + (z - cz).powi(2) < r * r
        });
        let lt = local_thickness_cells_3d(&pore, nx, ny, nz);
        let (mut worst, mut largest) = (0.0f64, 0.0f64);
        for (c, &p) in pore.iter().enumerate() {
            let j = (c / nx) % ny;
            if p && (diameter..ny - diameter).contains(&j) {
                worst = worst.max((lt[c] - diameter as f64).abs());
                largest = largest.max(lt[c]);
            }
        }
        (worst, largest)
    }

    #[test]
    fn cylinder_thickness_is_its_diameter_within_a_cell() {
        for diameter in [10usize, 16] {
            // Axis on a cell centre: the centre cell's ball (radius D/2) covers the pore.
            let (worst, _) = cylinder_error(diameter, 0.0);
            assert!(worst <= 0.5 + 1e-9, "D = {diameter}: worst error {worst}");
            // Elsewhere the staircase of the digitised wall narrows the pore itself; the
            // estimate may fall short by up to 2 cells but never exceeds D + ½.
            for offset in [0.25, 0.5] {
                let (worst, largest) = cylinder_error(diameter, offset);
                assert!(
                    worst <= 2.0,
                    "D = {diameter}, offset {offset}: error {worst}"
                );
                assert!(largest <= diameter as f64 + 0.5);
            }
        }
    }

    #[test]
    fn sphere_pore_thickness_at_its_centre_is_its_diameter_within_a_cell() {
        let (n, diameter) = (20usize, 12.0);
        // Centred on the centre of cell (10, 10, 10).
        let (r, c) = (diameter / 2.0, 10.5);
        let pore = mask3(n, n, n, |x, y, z| {
            (x - c).powi(2) + (y - c).powi(2) + (z - c).powi(2) < r * r
        });
        let lt = local_thickness_cells_3d(&pore, n, n, n);
        let centre = lt[(10 * n + 10) * n + 10];
        assert!((centre - diameter).abs() <= 1.0, "centre {centre}");
        // The centre's ball covers the pore, and no other ball is larger.
        for (t, &p) in lt.iter().zip(&pore) {
            assert_eq!(*t, if p { centre } else { 0.0 });
        }
        // Moved across the periodic x and z boundaries, the result moves with it.
        let shift = |c: usize| {
            let (i, j, k) = (c % n, (c / n) % n, c / (n * n));
            (((k + 12) % n) * n + j) * n + (i + 13) % n
        };
        let mut moved = vec![false; pore.len()];
        for (c, &p) in pore.iter().enumerate() {
            moved[shift(c)] = p;
        }
        let lt_moved = local_thickness_cells_3d(&moved, n, n, n);
        for (c, &t) in lt.iter().enumerate() {
            assert_eq!(lt_moved[shift(c)], t);
        }
    }

    #[test]
    fn slit_thickness_in_a_volume_is_its_width_within_half_a_cell() {
        for w in [4usize, 5, 8] {
            let (nx, ny, nz) = (30, 24, 7);
            let pore = mask3(nx, ny, nz, |x, _, _| (10.0..(10 + w) as f64).contains(&x));
            let lt = local_thickness_cells_3d(&pore, nx, ny, nz);
            let mut worst = 0.0f64;
            for (c, &p) in pore.iter().enumerate() {
                let j = (c / nx) % ny;
                if p && (w..ny - w).contains(&j) {
                    worst = worst.max((lt[c] - w as f64).abs());
                }
            }
            assert!(worst <= 0.5 + 1e-9, "w = {w}: worst error {worst}");
        }
    }

    #[test]
    fn distribution_of_a_volume_weights_cells_equally() {
        let (nx, ny, nz) = (30, 24, 7);
        let pore = mask3(nx, ny, nz, |x, _, _| (10.0..16.0).contains(&x));
        let lt = local_thickness_cells_3d(&pore, nx, ny, nz);
        let psd = distribution(&lt, &pore, 0.5);
        assert!((psd.area_fraction.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // Most of the slit (away from the closed ends) is 6 cells = 3 µm wide.
        assert!((psd.median_um - 3.0).abs() <= 0.25, "{psd:?}");
    }

    #[test]
    fn slit_thickness_is_its_width_within_half_a_cell() {
        for w in [4usize, 5, 8] {
            let (nx, ny) = (30, 40);
            let pore: Vec<bool> = (0..nx * ny)
                .map(|k| (10..10 + w).contains(&(k % nx)))
                .collect();
            let lt = local_thickness_cells(&pore, nx, ny);
            // Away from the closed ends, every pore cell sees the full width.
            for j in w..ny - w {
                for i in 10..10 + w {
                    let t = lt[j * nx + i];
                    assert!((t - w as f64).abs() <= 0.5 + 1e-9, "w = {w}: {t}");
                }
            }
        }
    }
}
