//! The Li front over the x–z columns of a 3D run (docs/study.md, "Morphology of a 3D run").
//!
//! A 2D section has one column per x; a volume has one per (x, z). The front height of a column
//! is [`crate::morphology::front_height_at`]: the height up to which ξ > ½ continuously from the
//! scaffold's bottom row. Which columns are pore, wall and centre is read from ϕ at the middle
//! row of the scaffold, so the same rules hold for slits, cylinders on any lattice and random
//! pores:
//!
//! * a **pore column** has ϕ < ½ there;
//! * a **wall column** is a pore column with a non-pore column among its four x–z neighbours
//!   (periodic in x and z): the first pore column inside a wall, as in a section;
//! * the **centre column** of a pore is the column of its cross-section (a 4-connected set of
//!   pore columns) farthest from every non-pore column (Euclidean, exact), the first of equals:
//!   one per pore, on the axis of a cylinder and in the middle of a slit.
//!
//! The front at the centres and at the walls are the means over those columns; the
//! homogeneity index is the 2D one over every pore column of the volume.

use crate::geometry::distance::{squared_distance_to, Lattice};
use crate::morphology::front_height_at;
use crate::state::State;
use crate::units::m_to_um;

/// The front heights of every x–z column of `state` (m from the collector, index k·nx + i), from
/// row `j0` up to at most row `j1`.
pub fn front_height_map_m(state: &State, j0: usize, j1: usize) -> Vec<f64> {
    let g = state.grid;
    (0..g.nz)
        .flat_map(|k| (0..g.nx).map(move |i| front_height_at(state, i, k, j0, j1)))
        .collect()
}

/// Which x–z columns are pore (ϕ < ½ in row `mid`), index k·nx + i.
pub fn pore_columns(state: &State, mid: usize) -> Vec<bool> {
    let g = state.grid;
    (0..g.nz)
        .flat_map(|k| (0..g.nx).map(move |i| state.phi[g.idx3(i, mid, k)] < 0.5))
        .collect()
}

/// The pore columns of the scaffold `info` describes: ϕ < ½ at the middle row of its region
/// ([`crate::morphology::scaffold_rows`]).
pub fn scaffold_pore_columns(state: &State, info: &crate::geometry::GeometryInfo) -> Vec<bool> {
    let (j0, j1) = crate::morphology::scaffold_rows(&state.grid, info);
    pore_columns(state, ((j0 + j1) / 2).min(state.grid.ny - 1))
}

/// The projection of the Li front: the height of the Li connected to the collector over every
/// x–z column, µm from the collector (index k·nx + i), NaN where `pore` is false (what the
/// front-height pictures show).
pub fn front_projection_um(state: &State, pore: &[bool]) -> Vec<f64> {
    front_height_map_m(state, 0, state.grid.ny)
        .into_iter()
        .zip(pore)
        .map(|(h, &p)| if p { m_to_um(h) } else { f64::NAN })
        .collect()
}

/// The wall and centre columns of the pores in `pore` (an nx × nz plane, index k·nx + i,
/// periodic in both directions): (wall, centre), each a list of column indices.
pub fn wall_and_centre_columns(pore: &[bool], nx: usize, nz: usize) -> (Vec<usize>, Vec<usize>) {
    assert_eq!(pore.len(), nx * nz);
    let lat = Lattice {
        dims: [nx, nz, 1],
        periodic: [true, true, false],
    };
    let solid: Vec<bool> = pore.iter().map(|&p| !p).collect();
    let d2 = squared_distance_to(&solid, lat);
    let neighbours = |c: usize| {
        let (i, k) = (c % nx, c / nx);
        [
            k * nx + (i + 1) % nx,
            k * nx + (i + nx - 1) % nx,
            ((k + 1) % nz) * nx + i,
            ((k + nz - 1) % nz) * nx + i,
        ]
    };
    let wall: Vec<usize> = (0..nx * nz)
        .filter(|&c| pore[c] && neighbours(c).iter().any(|&n| !pore[n]))
        .collect();
    // Each pore's cross-section by flood fill; its centre is its column farthest from a wall.
    let mut label = vec![usize::MAX; nx * nz];
    let mut centre = Vec::new();
    for start in 0..nx * nz {
        if !pore[start] || label[start] != usize::MAX {
            continue;
        }
        let id = centre.len();
        label[start] = id;
        let (mut stack, mut best) = (vec![start], start);
        while let Some(c) = stack.pop() {
            if d2[c] > d2[best] || (d2[c] == d2[best] && c < best) {
                best = c;
            }
            for n in neighbours(c) {
                if pore[n] && label[n] == usize::MAX {
                    label[n] = id;
                    stack.push(n);
                }
            }
        }
        centre.push(best);
    }
    (wall, centre)
}

/// Front and homogeneity over the columns of a volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnFronts {
    /// Mean front height at the pores' centre columns and at their wall columns, m (NaN without
    /// pore columns).
    pub centre_m: f64,
    pub wall_m: f64,
    /// 1 − CV of the Li gained above `li_top` per pore column (NaN until a quarter of a cell has
    /// been gained on average), as the 2D index.
    pub homogeneity: f64,
    /// Pore columns, wall columns and pores (centre columns).
    pub pore_columns: usize,
    pub wall_columns: usize,
    pub pores: usize,
}

/// The [`ColumnFronts`] of `state` between rows `j0..j1` (the scaffold), with `xi_built` the
/// builder's initial ξ and `li_top_m` the initial Li top.
pub fn column_fronts(
    state: &State,
    xi_built: &[f64],
    j0: usize,
    j1: usize,
    li_top_m: f64,
) -> ColumnFronts {
    let g = state.grid;
    let (nx, nz, dx) = (g.nx, g.nz, g.dx_m);
    let mid = (j0 + j1) / 2;
    let pore = pore_columns(state, mid.min(g.ny - 1));
    let (wall, centre) = wall_and_centre_columns(&pore, nx, nz);
    let height = |c: usize| front_height_at(state, c % nx, c / nx, j0, j1);
    let mean = |v: &[usize]| {
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().map(|&c| height(c)).sum::<f64>() / v.len() as f64
        }
    };
    let gained: Vec<f64> = (0..nx * nz)
        .filter(|&c| pore[c])
        .map(|c| {
            let (i, k) = (c % nx, c / nx);
            let p: f64 = (j0..j1)
                .filter(|&j| g.y_m(j) > li_top_m)
                .map(|j| {
                    let n = g.idx3(i, j, k);
                    (state.xi[n] - xi_built[n]) * dx
                })
                .sum();
            p / (1.0 - state.phi[g.idx3(i, mid, k)])
        })
        .collect();
    let mu = gained.iter().sum::<f64>() / gained.len().max(1) as f64;
    let homogeneity = if !gained.is_empty() && mu >= 0.25 * dx {
        let var = gained.iter().map(|p| (p - mu).powi(2)).sum::<f64>() / gained.len() as f64;
        (1.0 - var.sqrt() / mu).clamp(0.0, 1.0)
    } else {
        f64::NAN
    };
    ColumnFronts {
        centre_m: mean(&centre),
        wall_m: mean(&wall),
        homogeneity,
        pore_columns: gained.len(),
        wall_columns: wall.len(),
        pores: centre.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Grid;
    use crate::units::{m_to_um, um_to_m};

    fn plane(nx: usize, nz: usize, pore: impl Fn(usize, usize) -> bool) -> Vec<bool> {
        (0..nz)
            .flat_map(|k| (0..nx).map(move |i| (i, k)))
            .map(|(i, k)| pore(i, k))
            .collect()
    }

    #[test]
    fn a_slit_has_its_walls_at_both_sides_and_its_centre_in_the_middle() {
        // Columns 3..10 are pore in every section: one slit, extruded along z.
        let p = plane(16, 4, |i, _| (3..10).contains(&i));
        let (wall, centre) = wall_and_centre_columns(&p, 16, 4);
        let mut wall_i: Vec<usize> = wall.iter().map(|c| c % 16).collect();
        wall_i.sort();
        wall_i.dedup();
        assert_eq!(wall_i, vec![3, 9]);
        assert_eq!(wall.len(), 8);
        // One pore (the slit is connected along z through the periodic seam), centred at i = 6.
        assert_eq!(centre.len(), 1);
        assert_eq!(centre[0] % 16, 6);
    }

    #[test]
    fn cylinders_on_a_lattice_have_one_centre_each_on_their_axes() {
        // Four discs of radius 3 cells centred at (4, 4) + 8·(a, b) in a 16 × 16 periodic plane,
        // one of them split by the periodic seam (centre (12, 12) → also wraps).
        let centres = [(4.0, 4.0), (12.0, 4.0), (4.0, 12.0), (12.0, 12.0)];
        let p = plane(16, 16, |i, k| {
            centres.iter().any(|&(cx, cz)| {
                let (x, z) = (i as f64 + 0.5, k as f64 + 0.5);
                (x - cx).powi(2) + (z - cz).powi(2) < 9.0
            })
        });
        let (wall, centre) = wall_and_centre_columns(&p, 16, 16);
        assert_eq!(centre.len(), 4);
        for c in &centre {
            let (x, z) = ((c % 16) as f64 + 0.5, (c / 16) as f64 + 0.5);
            assert!(
                centres
                    .iter()
                    .any(|&(cx, cz)| (x - cx).abs() <= 0.5 && (z - cz).abs() <= 0.5),
                "centre column ({x}, {z}) is not next to an axis"
            );
        }
        // Every wall column touches a solid column; no centre is a wall column.
        assert!(!wall.is_empty() && centre.iter().all(|c| !wall.contains(c)));
        // A plane without pores has neither.
        let (w, c) = wall_and_centre_columns(&[false; 64], 8, 8);
        assert!(w.is_empty() && c.is_empty());
    }

    /// A Li layer whose front stands at `top(i, k)` µm above the collector in pore columns
    /// (ϕ = 0) and solid LLZO (ϕ = 1, ξ = 0 above the foil) elsewhere.
    fn volume(
        g: Grid,
        pore: impl Fn(usize, usize) -> bool,
        top: impl Fn(usize, usize) -> f64,
    ) -> State {
        let mut s = State::zeros(g);
        for k in 0..g.nz {
            for j in 0..g.ny {
                for i in 0..g.nx {
                    let n = g.idx3(i, j, k);
                    let y = m_to_um(g.y_m(j));
                    let solid = !pore(i, k) && y > 2.0;
                    s.phi[n] = if solid { 1.0 } else { 0.0 };
                    s.xi[n] = if solid {
                        0.0
                    } else {
                        0.5 * (1.0 - ((y - top(i, k)) / 0.5).tanh())
                    };
                }
            }
        }
        s
    }

    #[test]
    fn fronts_are_read_at_the_axis_and_the_walls_of_each_pore() {
        // 16 × 40 × 16 cells of 0.25 µm: one square pore of 8 × 8 columns (i, k in 4..12). The
        // Li stands 5 µm high at its walls and 7 µm at its four middle columns.
        let g = Grid::new_3d(16, 40, 16, 0.25e-6);
        let pore = |i: usize, k: usize| (4..12).contains(&i) && (4..12).contains(&k);
        let top = |i: usize, k: usize| {
            if (7..9).contains(&i) && (7..9).contains(&k) {
                7.0
            } else {
                5.0
            }
        };
        let s = volume(g, pore, top);
        let built = s.xi.clone();
        let f = column_fronts(&s, &built, 0, 40, um_to_m(2.0));
        assert_eq!((f.pores, f.pore_columns, f.wall_columns), (1, 64, 28));
        assert!((m_to_um(f.centre_m) - 7.0).abs() < 2e-3, "{f:?}");
        assert!((m_to_um(f.wall_m) - 5.0).abs() < 2e-3, "{f:?}");
        // Nothing gained since the build: undefined homogeneity.
        assert!(f.homogeneity.is_nan());
        // The same Li gained in every pore column: H = 1; gained in a quarter of them: lower.
        let s1 = volume(g, pore, |_, _| 6.0);
        let base = volume(g, pore, |_, _| 5.0);
        assert!((column_fronts(&s1, &base.xi, 0, 40, um_to_m(2.0)).homogeneity - 1.0).abs() < 1e-9);
        let uneven = volume(g, pore, |i, _| if i < 6 { 7.0 } else { 5.0 });
        let h = column_fronts(&uneven, &base.xi, 0, 40, um_to_m(2.0)).homogeneity;
        assert!(h < 0.5, "{h}");
        // The map has one height per column.
        let map = front_height_map_m(&s, 0, 40);
        assert_eq!(map.len(), 256);
        assert!((m_to_um(map[g.nx * 7 + 7]) - 7.0).abs() < 2e-3);
    }
}
