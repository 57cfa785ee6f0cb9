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

use crate::geometry::distance::{squared_distance_to, Lattice};

/// Local thickness, in cells, of every pore cell of an `nx × ny` mask (periodic in x; the
/// region is closed by solid below row 0 and above row ny − 1); 0 in solid cells.
pub fn local_thickness_cells(pore: &[bool], nx: usize, ny: usize) -> Vec<f64> {
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
