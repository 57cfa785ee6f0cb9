//! Interface length by marching squares: the iso-line of a smooth field at a level, with its
//! vertices placed on the edges of the dual grid (between cell centres) by linear
//! interpolation, so its length is a sub-cell estimate rather than a count of cell faces
//! (face counting overestimates the perimeter of a circle by 4/π, 27 %).
//!
//! Interface area of a 3D voxel field by marching tetrahedra
//! ([`iso_surface_area_between`]): every dual cube (its eight corners are cell centres) is split
//! into six tetrahedra around its main diagonal (the Kuhn–Freudenthal triangulation, the same in
//! every cube, so the triangulations of neighbouring cubes match on their shared faces and the
//! surface has no cracks). In a tetrahedron the linear interpolant of the four corner values is
//! cut by the level in a triangle or a planar quad, with vertices linearly interpolated on the
//! edges. Tetrahedra have no ambiguous (saddle) cases, so the surface is closed wherever it does
//! not reach the ends of the grid. For a smooth field the area is a sub-cell estimate: a sphere
//! of radius 10 cells, given by its signed distance or by a tanh wall profile, comes out within
//! 0.3 % of 4πR², a cylinder of radius 8 cells within 0.1 % (unit tests); counting voxel faces
//! instead would overestimate the area of a sphere by 50 % (the mean of |n_x| + |n_y| + |n_z|).

use crate::grid::Grid;
use rayon::prelude::*;

/// A segment of an iso-line, m. Points in x may lie up to one cell beyond the domain width
/// (squares that wrap around the periodic boundary); lengths are unaffected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub a: (f64, f64),
    pub b: (f64, f64),
}

impl Segment {
    pub fn length(&self) -> f64 {
        ((self.b.0 - self.a.0).powi(2) + (self.b.1 - self.a.1).powi(2)).sqrt()
    }

    pub fn midpoint(&self) -> (f64, f64) {
        (0.5 * (self.a.0 + self.b.0), 0.5 * (self.a.1 + self.b.1))
    }

    /// Length of the part with y0 ≤ y ≤ y1.
    pub fn length_between(&self, y0: f64, y1: f64) -> f64 {
        let (ya, yb) = (self.a.1, self.b.1);
        let (lo, hi) = (ya.min(yb), ya.max(yb));
        if hi < y0 || lo > y1 {
            return 0.0;
        }
        if hi == lo {
            return self.length();
        }
        let inside = (hi.min(y1) - lo.max(y0)).max(0.0);
        self.length() * inside / (hi - lo)
    }
}

/// The iso-line `field = level` of a cell-centred field on `grid` (periodic in x), as segments.
/// Squares whose four corners are all above or all below the level give nothing; the two
/// saddle cases are resolved by the mean of the four corners.
pub fn iso_segments(field: &[f64], grid: &Grid, level: f64) -> Vec<Segment> {
    let (nx, ny, dx) = (grid.nx, grid.ny, grid.dx_m);
    assert_eq!(field.len(), nx * ny);
    let mut out = Vec::new();
    if ny < 2 {
        return out;
    }
    for j in 0..ny - 1 {
        for i in 0..nx {
            let e = if i + 1 == nx { 0 } else { i + 1 };
            // Corners counter-clockwise from bottom-left.
            let v = [
                field[j * nx + i],
                field[j * nx + e],
                field[(j + 1) * nx + e],
                field[(j + 1) * nx + i],
            ];
            let x0 = (i as f64 + 0.5) * dx;
            let y0 = (j as f64 + 0.5) * dx;
            let p = [(x0, y0), (x0 + dx, y0), (x0 + dx, y0 + dx), (x0, y0 + dx)];
            let above = v.map(|x| x >= level);
            let case = above
                .iter()
                .enumerate()
                .fold(0usize, |c, (k, &a)| c | ((a as usize) << k));
            if case == 0 || case == 15 {
                continue;
            }
            // Crossing point on edge k (between corner k and corner k+1 mod 4).
            let cross = |k: usize| {
                let (a, b) = (k, (k + 1) % 4);
                let t = (level - v[a]) / (v[b] - v[a]);
                let t = if t.is_finite() {
                    t.clamp(0.0, 1.0)
                } else {
                    0.5
                };
                (
                    p[a].0 + t * (p[b].0 - p[a].0),
                    p[a].1 + t * (p[b].1 - p[a].1),
                )
            };
            // Edges crossed: edge k is crossed when corners k and k+1 differ.
            let crossed: Vec<usize> = (0..4).filter(|&k| above[k] != above[(k + 1) % 4]).collect();
            if crossed.len() == 2 {
                out.push(Segment {
                    a: cross(crossed[0]),
                    b: cross(crossed[1]),
                });
            } else {
                // Saddle: corners 0 and 2 on one side, 1 and 3 on the other.
                let centre_above = 0.25 * v.iter().sum::<f64>() >= level;
                let pairs = if centre_above == above[0] {
                    // Corners 0 and 2 are joined through the centre: cut off corners 1 and 3.
                    [(0, 1), (2, 3)]
                } else {
                    [(3, 0), (1, 2)]
                };
                for (k1, k2) in pairs {
                    out.push(Segment {
                        a: cross(k1),
                        b: cross(k2),
                    });
                }
            }
        }
    }
    out
}

/// Total length of the segments, m.
pub fn total_length(segments: &[Segment]) -> f64 {
    segments.iter().map(Segment::length).sum()
}

/// Area (m²) of the part with y0_m ≤ y ≤ y1_m of the iso-surface `field = level` of a
/// cell-centred 3D field of `nx × ny × nz` cells of edge `dx_m`, index `(k·ny + j)·nx + i`
/// (k = z, j = y, i = x); the centre of cell (i, j, k) is at ((i, j, k) + ½)·dx.
///
/// Marching tetrahedra (see the module documentation) over the dual cubes between the cell
/// centres: periodic in x and z (the last cubes wrap around to the first cells), bounded in y
/// (cubes join rows 0 … ny − 1 only, so the surface stops at the centres of the first and last
/// rows). Each polygon of the surface is clipped exactly to the slab (Sutherland–Hodgman against
/// the two planes) before its area is taken. Corners with `field ≥ level` count as above.
///
/// A periodic axis of one cell has no cubes (a cube would join a cell to itself): with nz = 1
/// (a 2D section) or nx = 1 the area is 0; the iso-line of a 2D section is [`iso_segments`].
/// Deterministic: the z-slabs of cubes are summed in parallel, each slab in a fixed order, and
/// the slab sums in order of z.
#[allow(clippy::too_many_arguments)]
pub fn iso_surface_area_between(
    field: &[f64],
    nx: usize,
    ny: usize,
    nz: usize,
    dx_m: f64,
    level: f64,
    y0_m: f64,
    y1_m: f64,
) -> f64 {
    assert_eq!(field.len(), nx * ny * nz);
    if nx < 2 || ny < 2 || nz < 2 || y1_m < y0_m {
        return 0.0;
    }
    let band = (y0_m / dx_m, y1_m / dx_m);
    let slabs: Vec<f64> = (0..nz)
        .into_par_iter()
        .map(|k| {
            let mut area = 0.0;
            visit_iso_polygons_in_slab(field, [nx, ny, nz], level, k, band, &mut |poly, _, _| {
                area += polygon_area(poly);
            });
            area
        })
        .collect();
    slabs.iter().sum::<f64>() * dx_m * dx_m
}

/// A polygon of an iso-surface: its area and its centroid (the mean of its vertices), both in
/// cells: the centroid in cell-centre coordinates, (x, y, z) = (i, j, k) at the centre of cell
/// (i, j, k), x and z in [0, nx) and [0, nz).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfacePatch {
    pub area_cells2: f64,
    pub centre: [f64; 3],
}

/// The polygons of the iso-surface `field = level` of a cell-centred 3D field (the surface of
/// [`iso_surface_area_between`], unclipped), in z-slab order: what a quantity on the surface is
/// averaged with (the 3D counterpart of [`iso_segments`]).
pub fn iso_surface_patches(
    field: &[f64],
    [nx, ny, nz]: [usize; 3],
    level: f64,
) -> Vec<SurfacePatch> {
    assert_eq!(field.len(), nx * ny * nz);
    if nx < 2 || ny < 2 || nz < 2 {
        return Vec::new();
    }
    let band = (f64::NEG_INFINITY, f64::INFINITY);
    let slabs: Vec<Vec<SurfacePatch>> = (0..nz)
        .into_par_iter()
        .map(|k| {
            let mut out = Vec::new();
            visit_iso_polygons_in_slab(
                field,
                [nx, ny, nz],
                level,
                k,
                band,
                &mut |poly, _, [i, k]| {
                    let m = poly.len() as f64;
                    let mean = |a: usize| poly.iter().map(|v| v[a]).sum::<f64>() / m;
                    out.push(SurfacePatch {
                        area_cells2: polygon_area(poly),
                        centre: [
                            (i as f64 + mean(0)).rem_euclid(nx as f64),
                            mean(1) - 0.5,
                            (k as f64 + mean(2)).rem_euclid(nz as f64),
                        ],
                    });
                },
            );
            out
        })
        .collect();
    slabs.concat()
}

/// A point (x, y, z) of the surface, in cells.
type Vertex = [f64; 3];

/// What [`visit_iso_polygons_in_slab`] calls for each polygon: its vertices, a corner below the
/// level, the cube's first corner (i, k).
type PolygonVisitor<'a> = dyn FnMut(&[Vertex], Vertex, [usize; 2]) + 'a;

/// The six tetrahedra of a dual cube, as corner numbers c = x + 2y + 4z (bits of the corner's
/// offset): the paths 0 → 7 along the cube's edges, one per order of the three axes.
const CUBE_TETRAHEDRA: [[usize; 4]; 6] = [
    [0, 1, 3, 7],
    [0, 1, 5, 7],
    [0, 2, 3, 7],
    [0, 2, 6, 7],
    [0, 4, 5, 7],
    [0, 4, 6, 7],
];

/// A polygon of at most 16 vertices, in cells. A triangle or quad clipped by two planes has at
/// most 6; 16 bounds it even when rounding makes a nearly degenerate quad look non-convex (a
/// clipping step emits at most two vertices per edge).
#[derive(Debug, Clone, Copy)]
struct Polygon {
    n: usize,
    p: [Vertex; 16],
}

impl Polygon {
    fn new(vertices: &[Vertex]) -> Polygon {
        let mut p = [[0.0; 3]; 16];
        p[..vertices.len()].copy_from_slice(vertices);
        Polygon {
            n: vertices.len(),
            p,
        }
    }

    fn vertices(&self) -> &[Vertex] {
        &self.p[..self.n]
    }

    /// The part on the side `y ≥ y_cut` (`keep_above`) or `y ≤ y_cut` of the plane y = y_cut
    /// (one Sutherland–Hodgman step).
    fn clip_y(&self, y_cut: f64, keep_above: bool) -> Polygon {
        let inside = |q: &Vertex| {
            if keep_above {
                q[1] >= y_cut
            } else {
                q[1] <= y_cut
            }
        };
        let mut out = Polygon {
            n: 0,
            p: [[0.0; 3]; 16],
        };
        for m in 0..self.n {
            let a = self.p[m];
            let b = self.p[(m + 1) % self.n];
            let (ia, ib) = (inside(&a), inside(&b));
            if ia {
                out.p[out.n] = a;
                out.n += 1;
            }
            if ia != ib {
                let t = (y_cut - a[1]) / (b[1] - a[1]);
                let mut q = [0.0; 3];
                for (c, qc) in q.iter_mut().enumerate() {
                    *qc = a[c] + t * (b[c] - a[c]);
                }
                q[1] = y_cut;
                out.p[out.n] = q;
                out.n += 1;
            }
        }
        out
    }
}

/// Vector area ½ Σ (p_m − p_0) × (p_{m+1} − p_0) of a polygon, in the units of its vertices
/// squared; its direction follows the vertex order by the right-hand rule.
fn vector_area(poly: &[Vertex]) -> [f64; 3] {
    let mut s = [0.0; 3];
    if poly.len() < 3 {
        return s;
    }
    let o = poly[0];
    for m in 1..poly.len() - 1 {
        let a = [poly[m][0] - o[0], poly[m][1] - o[1], poly[m][2] - o[2]];
        let b = [
            poly[m + 1][0] - o[0],
            poly[m + 1][1] - o[1],
            poly[m + 1][2] - o[2],
        ];
        s[0] += 0.5 * (a[1] * b[2] - a[2] * b[1]);
        s[1] += 0.5 * (a[2] * b[0] - a[0] * b[2]);
        s[2] += 0.5 * (a[0] * b[1] - a[1] * b[0]);
    }
    s
}

/// Area of a planar polygon.
fn polygon_area(poly: &[Vertex]) -> f64 {
    let s = vector_area(poly);
    (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt()
}

/// Calls `visit(polygon, below)` for every polygon of the iso-surface `field = level` in the
/// dual cubes of z-slab `k` (between cell layers k and k + 1 mod nz), clipped to
/// `band.0 ≤ y ≤ band.1` (cells). Vertices are in cells, y absolute (the centre of row j is at
/// j + ½), x and z relative to the cube's first corner. `below` is a corner of the polygon's
/// tetrahedron with field < level (strictly off the polygon's plane, which orients it); `cube`
/// is the cube's first corner (i, k), the centre of cell (i, j, k).
fn visit_iso_polygons_in_slab(
    field: &[f64],
    [nx, ny, nz]: [usize; 3],
    level: f64,
    k: usize,
    band: (f64, f64),
    visit: &mut PolygonVisitor,
) {
    let k1 = if k + 1 == nz { 0 } else { k + 1 };
    let idx = |i: usize, j: usize, k: usize| (k * ny + j) * nx + i;
    for j in 0..ny - 1 {
        let y_lo = j as f64 + 0.5;
        if y_lo + 1.0 < band.0 || y_lo > band.1 {
            continue;
        }
        let clip_lo = y_lo < band.0;
        let clip_hi = y_lo + 1.0 > band.1;
        let corner = |c: usize| {
            [
                (c & 1) as f64,
                y_lo + ((c >> 1) & 1) as f64,
                ((c >> 2) & 1) as f64,
            ]
        };
        for i in 0..nx {
            let i1 = if i + 1 == nx { 0 } else { i + 1 };
            let v = [
                field[idx(i, j, k)],
                field[idx(i1, j, k)],
                field[idx(i, j + 1, k)],
                field[idx(i1, j + 1, k)],
                field[idx(i, j, k1)],
                field[idx(i1, j, k1)],
                field[idx(i, j + 1, k1)],
                field[idx(i1, j + 1, k1)],
            ];
            let n_above = v.iter().filter(|&&x| x >= level).count();
            if n_above == 0 || n_above == 8 {
                continue;
            }
            for tet in CUBE_TETRAHEDRA {
                let (mut above, mut below) = ([0usize; 4], [0usize; 4]);
                let (mut na, mut nb) = (0, 0);
                for c in tet {
                    if v[c] >= level {
                        above[na] = c;
                        na += 1;
                    } else {
                        below[nb] = c;
                        nb += 1;
                    }
                }
                if na == 0 || nb == 0 {
                    continue;
                }
                // The crossing on the edge from above corner a to below corner b (always
                // interpolated in this direction, so tetrahedra sharing the edge agree).
                let cross = |a: usize, b: usize| {
                    let t = (v[a] - level) / (v[a] - v[b]);
                    let (pa, pb) = (corner(a), corner(b));
                    [
                        pa[0] + t * (pb[0] - pa[0]),
                        pa[1] + t * (pb[1] - pa[1]),
                        pa[2] + t * (pb[2] - pa[2]),
                    ]
                };
                let mut poly = match (na, nb) {
                    (1, 3) => Polygon::new(&[
                        cross(above[0], below[0]),
                        cross(above[0], below[1]),
                        cross(above[0], below[2]),
                    ]),
                    (3, 1) => Polygon::new(&[
                        cross(above[0], below[0]),
                        cross(above[1], below[0]),
                        cross(above[2], below[0]),
                    ]),
                    // Two above (a, b), two below (c, d): consecutive vertices share a face of
                    // the tetrahedron, so the quad ac, ad, bd, bc is in cyclic order.
                    _ => Polygon::new(&[
                        cross(above[0], below[0]),
                        cross(above[0], below[1]),
                        cross(above[1], below[1]),
                        cross(above[1], below[0]),
                    ]),
                };
                if clip_lo {
                    poly = poly.clip_y(band.0, true);
                }
                if clip_hi {
                    poly = poly.clip_y(band.1, false);
                }
                if poly.n >= 3 {
                    visit(poly.vertices(), corner(below[0]), [i, k]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn straight_line_has_exact_length_and_saddle_gives_two_segments() {
        let grid = Grid::new(10, 6, 1.0);
        let f: Vec<f64> = (0..60).map(|k| (k / 10) as f64).collect();
        let s = iso_segments(&f, &grid, 2.5);
        assert!((total_length(&s) - 10.0).abs() < 1e-12);
        let grid = Grid::new(2, 2, 1.0);
        let s = iso_segments(&[1.0, 0.0, 0.0, 1.0], &Grid::new(2, 2, 1.0), 0.5);
        let _ = grid;
        // Two squares (the second wraps in x), each a saddle: four segments.
        assert_eq!(s.len(), 4);
    }

    /// The patches of an iso-surface add up to its area, and lie on it: a sphere's patches have
    /// their centroids within a tenth of a cell of its radius (cell-centre coordinates), a tilted
    /// plane's on the plane.
    #[test]
    fn surface_patches_add_up_to_the_area_and_sit_on_the_surface() {
        let dims = [20, 18, 16];
        let f = smooth_random_field(dims[0], dims[1], dims[2], 7);
        let area = iso_surface_area_between(&f, dims[0], dims[1], dims[2], 1.0, 0.0, -1.0, 99.0);
        let patches = iso_surface_patches(&f, dims, 0.0);
        let sum: f64 = patches.iter().map(|p| p.area_cells2).sum();
        assert!(
            area > 10.0 && (sum / area - 1.0).abs() < 1e-12,
            "{sum} {area}"
        );
        // A sphere of radius 6 cells centred at cell-centre coordinates (9.3, 8.6, 7.1).
        let c = [9.3, 8.6, 7.1];
        let sphere = field3(dims[0], dims[1], dims[2], |x, y, z| {
            let (x, y, z) = (x - 0.5, y - 0.5, z - 0.5);
            6.0 - ((x - c[0]).powi(2) + (y - c[1]).powi(2) + (z - c[2]).powi(2)).sqrt()
        });
        let patches = iso_surface_patches(&sphere, dims, 0.0);
        assert!(!patches.is_empty());
        for p in &patches {
            let r = ((p.centre[0] - c[0]).powi(2)
                + (p.centre[1] - c[1]).powi(2)
                + (p.centre[2] - c[2]).powi(2))
            .sqrt();
            assert!((r - 6.0).abs() < 0.1, "patch at {:?}: r = {r}", p.centre);
        }
        let total: f64 = patches.iter().map(|p| p.area_cells2).sum();
        assert!((total / (4.0 * PI * 36.0) - 1.0).abs() < 0.02, "{total}");
    }

    /// A field of `nx × ny × nz` cells from a function of the cell centre (in cells).
    fn field3(nx: usize, ny: usize, nz: usize, f: impl Fn(f64, f64, f64) -> f64) -> Vec<f64> {
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

    /// A coordinate difference d taken the short way round a periodic axis of n cells.
    fn wrap(d: f64, n: usize) -> f64 {
        let n = n as f64;
        d - n * (d / n).round()
    }

    /// A smooth random field, periodic in x and z: a sum of a few plane waves.
    fn smooth_random_field(nx: usize, ny: usize, nz: usize, seed: u64) -> Vec<f64> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let waves: Vec<(f64, f64, f64, f64, f64)> = (0..6)
            .map(|_| {
                (
                    rng.gen_range(-2i32..=2) as f64 * 2.0 * PI / nx as f64,
                    rng.gen_range(-0.4..0.4),
                    rng.gen_range(-2i32..=2) as f64 * 2.0 * PI / nz as f64,
                    rng.gen_range(0.0..2.0 * PI),
                    rng.gen_range(0.5..1.0),
                )
            })
            .collect();
        field3(nx, ny, nz, |x, y, z| {
            waves
                .iter()
                .map(|&(kx, ky, kz, ph, a)| a * (kx * x + ky * y + kz * z + ph).cos())
                .sum()
        })
    }

    /// The field shifted by whole cells, periodically in x and z.
    fn rolled(f: &[f64], [nx, ny, nz]: [usize; 3], si: usize, sk: usize) -> Vec<f64> {
        let mut g = vec![0.0; f.len()];
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    g[(((k + sk) % nz) * ny + j) * nx + (i + si) % nx] = f[(k * ny + j) * nx + i];
                }
            }
        }
        g
    }

    /// The sum of the iso-surface's polygon areas as vectors, each oriented towards higher
    /// field (zero for a closed surface), and the total area, in cells².
    fn oriented_area_sum(f: &[f64], dims: [usize; 3], level: f64) -> ([f64; 3], f64) {
        let (mut sum, mut total) = ([0.0; 3], 0.0);
        for k in 0..dims[2] {
            let band = (f64::NEG_INFINITY, f64::INFINITY);
            visit_iso_polygons_in_slab(f, dims, level, k, band, &mut |poly, below, _| {
                let a = vector_area(poly);
                let to_below = [
                    below[0] - poly[0][0],
                    below[1] - poly[0][1],
                    below[2] - poly[0][2],
                ];
                let dot = a[0] * to_below[0] + a[1] * to_below[1] + a[2] * to_below[2];
                let sign = if dot > 0.0 { -1.0 } else { 1.0 };
                for c in 0..3 {
                    sum[c] += sign * a[c];
                }
                total += polygon_area(poly);
            });
        }
        (sum, total)
    }

    #[test]
    fn plane_has_the_area_of_the_box_section_and_clips_exactly() {
        let (nx, ny, nz, dx) = (7, 9, 5, 2e-6);
        let f = field3(nx, ny, nz, |_, y, _| y);
        let full = (nx * nz) as f64 * dx * dx;
        let area = |level: f64, y0: f64, y1: f64| {
            iso_surface_area_between(&f, nx, ny, nz, dx, level, y0 * dx, y1 * dx)
        };
        let rel = |a: f64| (a - full).abs() / full;
        assert!(rel(area(4.3, 0.0, 9.0)) < 1e-12, "{}", area(4.3, 0.0, 9.0));
        // A level on a row of cell centres is counted once.
        assert!(rel(area(4.5, 0.0, 9.0)) < 1e-12, "{}", area(4.5, 0.0, 9.0));
        assert!(rel(area(4.3, 4.2, 4.4)) < 1e-12);
        assert_eq!(area(4.3, 0.0, 4.2), 0.0);
        assert_eq!(area(4.3, 4.4, 9.0), 0.0);
        // No cubes below the first or above the last row of centres.
        assert_eq!(area(0.3, 0.0, 9.0), 0.0);
        assert_eq!(area(8.7, 0.0, 9.0), 0.0);
        // A 2D section (nz = 1) has no cubes.
        let g = field3(nx, ny, 1, |_, y, _| y);
        assert_eq!(
            iso_surface_area_between(&g, nx, ny, 1, dx, 4.3, 0.0, 9.0 * dx),
            0.0
        );
    }

    #[test]
    fn sphere_area_is_within_half_a_percent_also_across_the_periodic_boundaries() {
        let (n, r) = (32usize, 10.0);
        let exact = 4.0 * PI * r * r;
        let sphere = |c: [f64; 3], profile: &dyn Fn(f64) -> f64| {
            field3(n, n, n, |x, y, z| {
                let d =
                    (wrap(x - c[0], n).powi(2) + (y - c[1]).powi(2) + wrap(z - c[2], n).powi(2))
                        .sqrt();
                profile(r - d)
            })
        };
        let area = |f: &[f64], level: f64, y0: f64, y1: f64| {
            iso_surface_area_between(f, n, n, n, 1.0, level, y0, y1)
        };
        let centre = [16.3, 15.8, 15.1];
        let profiles: [(&dyn Fn(f64) -> f64, f64); 2] = [
            (&|s| s, 0.0),
            // The ϕ profile of a wall of half-width 2 cells.
            (&|s| 0.5 * (1.0 + (s / 2.0).tanh()), 0.5),
        ];
        for (profile, level) in profiles {
            let f = sphere(centre, profile);
            let a = area(&f, level, 0.0, n as f64);
            let err = (a - exact).abs() / exact;
            assert!(err < 0.005, "sphere area {a} against {exact}: {err}");
            // The zone between two planes has area 2π R h (Archimedes).
            let (y0, y1) = (centre[1] - 3.0, centre[1] + 5.5);
            let zone = area(&f, level, y0, y1);
            let zone_exact = 2.0 * PI * r * (y1 - y0);
            let zone_err = (zone - zone_exact).abs() / zone_exact;
            assert!(
                zone_err < 0.005,
                "zone {zone} against {zone_exact}: {zone_err}"
            );
            // The same sphere moved by whole cells so that it crosses x = 0 and z = 0.
            let g = sphere([centre[0] - 16.0, centre[1], centre[2] - 13.0], profile);
            for (y0, y1) in [(0.0, n as f64), (y0, y1)] {
                let (a0, a1) = (area(&f, level, y0, y1), area(&g, level, y0, y1));
                assert!(
                    (a1 - a0).abs() < 1e-9 * a0,
                    "{a0} vs {a1} across the boundary"
                );
            }
        }
    }

    #[test]
    fn cylinder_lateral_area_per_length_is_within_a_percent_and_clips_exactly() {
        let (nx, ny, nz, r, dx) = (24usize, 12usize, 24usize, 8.0, 0.5e-6);
        let f = field3(nx, ny, nz, |x, _, z| {
            r - (wrap(x - 11.7, nx).powi(2) + wrap(z - 12.2, nz).powi(2)).sqrt()
        });
        let area = |y0: f64, y1: f64| {
            iso_surface_area_between(&f, nx, ny, nz, dx, 0.0, y0 * dx, y1 * dx) / (dx * dx)
        };
        // The cubes span the centres of the first and last rows: ny − 1 cells of axis.
        let per_length = area(0.0, ny as f64) / (ny - 1) as f64;
        let err = (per_length - 2.0 * PI * r).abs() / (2.0 * PI * r);
        assert!(err < 0.01, "{per_length} against {}: {err}", 2.0 * PI * r);
        // The discrete surface is a prism along y, so a band of the axis has its exact share.
        let band = area(2.5, 7.0);
        assert!((band - 4.5 * per_length).abs() < 1e-12 * band, "{band}");
    }

    #[test]
    fn surface_is_closed_and_does_not_depend_on_periodic_translation() {
        let dims = [16usize, 12, 20];
        let [nx, ny, nz] = dims;
        let level = 0.2;
        let mut f = smooth_random_field(nx, ny, nz, 7);
        let a = |f: &[f64], y0: f64, y1: f64| {
            iso_surface_area_between(f, nx, ny, nz, 1.0, level, y0, y1)
        };
        for (y0, y1) in [(0.0, ny as f64), (3.3, 8.1)] {
            let a0 = a(&f, y0, y1);
            let a1 = a(&rolled(&f, dims, 5, 7), y0, y1);
            assert!(a0 > 10.0 && (a1 - a0).abs() < 1e-9 * a0, "{a0} vs {a1}");
        }
        // With the end rows below the level the surface encloses the above set: a crack or a
        // hole would leave a nonzero vector area.
        for k in 0..nz {
            for i in 0..nx {
                f[(k * ny) * nx + i] = -10.0;
                f[(k * ny + ny - 1) * nx + i] = -10.0;
            }
        }
        let (sum, total) = oriented_area_sum(&f, dims, level);
        assert!(total > 10.0);
        for c in sum {
            assert!(c.abs() < 1e-10 * total, "open surface: {sum:?} of {total}");
        }
        // Every cube of a checker-board is a saddle in each direction.
        let mut chess = field3(nx, ny, nz, |x, y, z| {
            if ((x + y + z - 1.5) as usize).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            }
        });
        for k in 0..nz {
            for i in 0..nx {
                chess[(k * ny) * nx + i] = -1.0;
                chess[(k * ny + ny - 1) * nx + i] = -1.0;
            }
        }
        let (sum, total) = oriented_area_sum(&chess, dims, 0.0);
        for c in sum {
            assert!(c.abs() < 1e-10 * total, "open surface: {sum:?} of {total}");
        }
        let area = iso_surface_area_between(&chess, nx, ny, nz, 1.0, 0.0, 0.0, ny as f64);
        assert!(area.is_finite() && (area - total).abs() < 1e-9 * total);
        assert_eq!(
            area,
            iso_surface_area_between(&chess, nx, ny, nz, 1.0, 0.0, 0.0, ny as f64)
        );
    }
}
