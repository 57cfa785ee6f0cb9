//! Clusters of strongly conducting cells that float: joined to the rest of the grid and to the
//! boundaries only through faces far weaker than the strongest (LLZO islands inside floored
//! pores). They are near-null modes of the conduction operator that a multigrid cycle cannot
//! see; [`crate::solver::Multigrid::with_floating_clusters`] adds a correction on their
//! indicators to its preconditioner. 2D and 3D alike ([`Operator`] of any nz).

use crate::cpu::operator::Operator;

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
#[derive(Debug, Default)]
pub(crate) struct FloatingClusters {
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
    pub(crate) fn new(op: &Operator) -> FloatingClusters {
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

    pub(crate) fn is_empty(&self) -> bool {
        self.inv_energy.is_empty()
    }

    fn cells_of(&self, a: usize) -> &[usize] {
        &self.cells[self.start[a]..self.start[a + 1]]
    }

    /// For every cluster a, Σ_{c ∈ a} (A v)_c with v(c) = `v(a, c)`: the faces inside a cancel
    /// in pairs, leaving Σ T (v_c − v_d) over the faces from c ∈ a to d ∉ a and T v_c over the
    /// boundary faces. Summed face by face, never as a difference of diagonals, which would
    /// cancel to roundoff at the floor's 1e-9.
    fn leaving_flux(&self, op: &Operator, v: impl Fn(usize, usize) -> f64) -> Vec<f64> {
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
    pub(crate) fn shifts(&self, op: &Operator, r: &[f64], v: Option<&[f64]>) -> Vec<f64> {
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
    pub(crate) fn subtract_applied(&self, op: &Operator, shift: &[f64], r: &mut [f64]) {
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
    pub(crate) fn add(&self, shift: &[f64], z: &mut [f64]) {
        for (a, &s) in shift.iter().enumerate() {
            for &c in self.cells_of(a) {
                z[c] += s;
            }
        }
    }
}
