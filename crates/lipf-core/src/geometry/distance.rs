//! Exact Euclidean distance transforms on voxel grids (2D is the case nz = 1).
//!
//! The transform is separable (Felzenszwalb & Huttenlocher, Theory of Computing 8 (2012) 415):
//! a 1D lower-envelope pass along x, then y, then z turns "0 at sites, ∞ elsewhere" into the
//! squared distance to the nearest site, exactly, in O(cells) per axis. A 3D scaffold only adds
//! the z pass, which is already here. Periodic axes are handled by transforming each line three
//! times over (the line, its left and right copies) and keeping the middle.
//!
//! Distances are in cells between cell centres.

/// A voxel grid: `dims = [nx, ny, nz]`, index `(k·ny + j)·nx + i`, and which axes are periodic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lattice {
    pub dims: [usize; 3],
    pub periodic: [bool; 3],
}

impl Lattice {
    /// The lipf section: periodic in x, bounded in y.
    pub fn section(nx: usize, ny: usize) -> Lattice {
        Lattice {
            dims: [nx, ny, 1],
            periodic: [true, false, false],
        }
    }

    pub fn cells(&self) -> usize {
        self.dims.iter().product()
    }

    fn stride(&self, axis: usize) -> usize {
        self.dims[..axis].iter().product()
    }
}

const FAR: f64 = 1e30;

/// Squared distance (in cells²) from every cell to the nearest cell with `site[k] = true`;
/// `FAR` (1e30) where there is no site at all.
pub fn squared_distance_to(site: &[bool], lat: Lattice) -> Vec<f64> {
    assert_eq!(site.len(), lat.cells());
    let mut d: Vec<f64> = site.iter().map(|&s| if s { 0.0 } else { FAR }).collect();
    for axis in 0..3 {
        let n = lat.dims[axis];
        if n == 1 {
            continue;
        }
        let stride = lat.stride(axis);
        let lines = lat.cells() / n;
        let periodic = lat.periodic[axis];
        let len = if periodic { 3 * n } else { n };
        let mut f = vec![0.0; len];
        let mut out = vec![0.0; len];
        let mut v = vec![0usize; len];
        let mut z = vec![0.0; len + 1];
        for line in 0..lines {
            // The start of the line: all indices whose `axis` coordinate is 0.
            let base = (line / stride) * stride * n + line % stride;
            for q in 0..len {
                f[q] = d[base + (q % n) * stride];
            }
            lower_envelope(&f, &mut out, &mut v, &mut z);
            let off = if periodic { n } else { 0 };
            for q in 0..n {
                d[base + q * stride] = out[q + off].min(FAR);
            }
        }
    }
    d
}

/// 1D squared-distance transform of the sampled function `f` (Felzenszwalb–Huttenlocher).
fn lower_envelope(f: &[f64], out: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    // Parabolas rooted at "infinite" samples never win; skip them so that FAR does not
    // overflow the intersection arithmetic.
    let mut k: isize = -1;
    for q in 0..n {
        if f[q] >= FAR {
            continue;
        }
        if k < 0 {
            k = 0;
            v[0] = q;
            z[0] = f64::NEG_INFINITY;
            z[1] = f64::INFINITY;
            continue;
        }
        loop {
            let p = v[k as usize];
            let s = ((f[q] + (q * q) as f64) - (f[p] + (p * p) as f64)) / (2.0 * (q - p) as f64);
            if s <= z[k as usize] && k > 0 {
                k -= 1;
            } else if s <= z[k as usize] {
                // k == 0 and the new parabola dominates everything to the left.
                v[0] = q;
                z[0] = f64::NEG_INFINITY;
                z[1] = f64::INFINITY;
                break;
            } else {
                k += 1;
                v[k as usize] = q;
                z[k as usize] = s;
                z[k as usize + 1] = f64::INFINITY;
                break;
            }
        }
    }
    if k < 0 {
        out.iter_mut().for_each(|o| *o = FAR);
        return;
    }
    let mut j = 0usize;
    for (q, o) in out.iter_mut().enumerate() {
        while z[j + 1] < q as f64 {
            j += 1;
        }
        let p = v[j];
        let dq = q as f64 - p as f64;
        *o = dq * dq + f[p];
    }
}

/// Signed distance of cell centres to the boundary of the set `inside`, in cells, positive
/// inside: the boundary is taken on the cell faces between members and non-members, so a member
/// next to a non-member is ½ cell inside. Far from any boundary the value is ±1e15.
pub fn signed_distance_cells(inside: &[bool], lat: Lattice) -> Vec<f64> {
    let outside: Vec<bool> = inside.iter().map(|&b| !b).collect();
    let to_out = squared_distance_to(&outside, lat);
    let to_in = squared_distance_to(inside, lat);
    inside
        .iter()
        .enumerate()
        .map(|(k, &b)| {
            if b {
                if to_out[k] >= FAR {
                    1e15
                } else {
                    to_out[k].sqrt() - 0.5
                }
            } else if to_in[k] >= FAR {
                -1e15
            } else {
                -(to_in[k].sqrt() - 0.5)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(site: &[bool], lat: Lattice) -> Vec<f64> {
        let [nx, ny, nz] = lat.dims;
        let mut out = vec![FAR; site.len()];
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    let a = (k * ny + j) * nx + i;
                    for (b, &s) in site.iter().enumerate() {
                        if !s {
                            continue;
                        }
                        let (bi, bj, bk) = (b % nx, (b / nx) % ny, b / (nx * ny));
                        let mut dx = (i as f64 - bi as f64).abs();
                        if lat.periodic[0] {
                            dx = dx.min(nx as f64 - dx);
                        }
                        let dy = j as f64 - bj as f64;
                        let dz = k as f64 - bk as f64;
                        out[a] = out[a].min(dx * dx + dy * dy + dz * dz);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn separable_transform_equals_brute_force_in_2d_and_3d() {
        for lat in [
            Lattice::section(13, 9),
            Lattice {
                dims: [7, 5, 6],
                periodic: [true, false, false],
            },
        ] {
            let site: Vec<bool> = (0..lat.cells()).map(|k| (k * 7919) % 23 == 0).collect();
            let fast = squared_distance_to(&site, lat);
            let slow = brute(&site, lat);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-9, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn signed_distance_of_a_slab_is_half_cell_at_faces() {
        let lat = Lattice::section(10, 1);
        let inside: Vec<bool> = (0..10).map(|i| (3..7).contains(&i)).collect();
        let d = signed_distance_cells(&inside, lat);
        assert_eq!(d[3], 0.5);
        assert_eq!(d[4], 1.5);
        assert_eq!(d[2], -0.5);
        // Periodic: cell 9 is 4 cells from cell 3's face side (through x = 0) and 3 from 6.
        assert_eq!(d[9], -2.5);
    }
}
