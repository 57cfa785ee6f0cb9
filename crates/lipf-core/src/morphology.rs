//! Morphology observables of a run: how the Li fills the scaffold (docs/study.md defines each).
//!
//! * `fill` of a channel: Σ ξ / Σ (1 − ϕ) over the cells of its period between the foil top and
//!   the cap (the pore space of the channel, including the pre-impregnated part); `mean_fill`
//!   is the same ratio over the whole scaffold region.
//! * Front heights (µm from the collector): in the column nearest the channel centre and in the
//!   first pore column (ϕ < ½) next to each wall, the height up to which ξ > ½ continuously
//!   from the foil, interpolated where ξ crosses ½; averaged over channels (and both walls).
//! * Homogeneity index H = 1 − CV of the Li gained above the initial Li top, per pore column of
//!   the channels (p(x) = ∫ (ξ − ξ_built) dy over y > initial Li top, ξ_built the scaffold
//!   builder's initial ξ, divided by the column's pore fraction 1 − ϕ at mid-height so that the
//!   diffuse columns at the walls count like the others), CV = standard deviation / mean over
//!   all pore columns (ϕ < ½) of all channels, clamped to [0, 1]. H = 1: every column of every channel gained
//!   the same Li (uniform fill); H → 0: the deposit sits in a few columns (e.g. along the walls).
//!   Undefined (NaN) until a quarter of a cell of Li has been gained on average.
//! * Contact and surface lengths per projected width: the ξ = ½ iso-line (marching squares)
//!   split by ϕ at each segment's midpoint: ϕ ≥ ¼ is Li/LLZO contact, ϕ < ¼ is Li/pore surface.
//! * Interfacial current density on the ξ = ½ iso-line, from the Butler–Volmer law at the
//!   local η and c̃: i = i0 [c̃ exp(−β nFη/RT) − exp((1 − α) nFη/RT)] (positive plates), weighted by
//!   segment length: the mean over the whole Li surface, its 99th percentile over the mean, and
//!   the mean over the Li/LLZO contact, which seed 000's Figure 1d estimates as
//!   J_applied/(d·S) (d: impregnation depth, S: specific surface of the slits, 2φ/δ).

use crate::coefficients::Coefficients;
use crate::geometry::GeometryInfo;
use crate::grid::Grid;
use crate::metrics::surface::{iso_segments, iso_surface_patches};
use crate::state::State;
use crate::units::{m_to_um, um_to_m};
use serde::{Deserialize, Serialize};

/// A number written as JSON null (serde_json writes NaN so) read back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Morphology observables of one state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Morphology {
    /// Fill fraction of each channel (channels only).
    pub channel_fill: Vec<f64>,
    #[serde(deserialize_with = "nan_if_null")]
    pub mean_fill: f64,
    /// Li front height at the channel centres and next to the walls, µm from the collector.
    #[serde(deserialize_with = "nan_if_null")]
    pub front_centre_um: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub front_wall_um: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub homogeneity: f64,
    /// Li/LLZO contact length and Li/pore surface length per projected width (µm/µm).
    #[serde(deserialize_with = "nan_if_null")]
    pub li_llzo_contact_per_width: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub li_pore_surface_per_width: f64,
    /// Butler–Volmer current density on the Li surface: length-weighted mean (A/m²) and
    /// 99th percentile / mean.
    #[serde(deserialize_with = "nan_if_null")]
    pub interface_current_mean_a_m2: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub interface_current_p99_over_mean: f64,
    /// Mean over the Li/LLZO contact only, A/m².
    #[serde(deserialize_with = "nan_if_null")]
    pub contact_current_mean_a_m2: f64,
    /// J_applied / (d·S) with S = 2φ/δ, A/m² (NaN without channels or impregnation).
    #[serde(deserialize_with = "nan_if_null")]
    pub contact_current_estimate_a_m2: f64,
    /// Li in closed pores, mol/m²: c_s Σ ξ ΔA / width over the pore cells (ϕ < ½) that the pore
    /// space does not connect to the bottom row (voids inside the electrolyte) and the cells of
    /// their walls within 4ℓ (where a particle's diffuse rim and the Li that wets the wall sit),
    /// every ξ.
    #[serde(deserialize_with = "nan_if_null")]
    pub li_in_closed_pores_mol_m2: f64,
    /// Height of the tip of the Li connected to the collector, µm ([`li_tip_um`]): the leading
    /// point of a filament or dendrite (NaN when no Li touches the collector; NaN in the
    /// summaries of runs older than this column).
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub li_tip_um: f64,
    /// The tip's velocity, µm/s: the change of `li_tip_um` since the previous row of the time
    /// series over the time between them (set by the run; NaN in the first row).
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub li_tip_velocity_um_s: f64,
    /// The deposit (the Li connected to the collector above the initial Li top) and its shape
    /// ([`crate::deposit`]): area (µm² in the section plane), skeleton length (µm), branch
    /// points of the skeleton after spurs shorter than 2ℓ are pruned, box-counting dimension.
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub deposit_area_um2: f64,
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub deposit_length_um: f64,
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub deposit_branch_points: f64,
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub deposit_box_dimension: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// Names of the scalar columns [`Morphology::columns`] gives, in order (units in the names).
pub const COLUMNS: [&str; 17] = [
    "mean_fill",
    "front_centre_um",
    "front_wall_um",
    "homogeneity",
    "li_llzo_contact_per_width",
    "li_pore_surface_per_width",
    "interface_current_mean_a_m2",
    "interface_current_p99_over_mean",
    "contact_current_mean_a_m2",
    "contact_current_estimate_a_m2",
    "li_in_closed_pores_mol_m2",
    "li_tip_um",
    "li_tip_velocity_um_s",
    "deposit_area_um2",
    "deposit_length_um",
    "deposit_branch_points",
    "deposit_box_dimension",
];

impl Morphology {
    /// The scalar columns in the order of [`COLUMNS`].
    pub fn columns(&self) -> [f64; COLUMNS.len()] {
        [
            self.mean_fill,
            self.front_centre_um,
            self.front_wall_um,
            self.homogeneity,
            self.li_llzo_contact_per_width,
            self.li_pore_surface_per_width,
            self.interface_current_mean_a_m2,
            self.interface_current_p99_over_mean,
            self.contact_current_mean_a_m2,
            self.contact_current_estimate_a_m2,
            self.li_in_closed_pores_mol_m2,
            self.li_tip_um,
            self.li_tip_velocity_um_s,
            self.deposit_area_um2,
            self.deposit_length_um,
            self.deposit_branch_points,
            self.deposit_box_dimension,
        ]
    }

    /// Rebuilds the scalars from columns in the order of [`COLUMNS`] (channel fills are not
    /// part of them).
    pub fn from_columns(v: &[f64], channel_fill: Vec<f64>) -> Morphology {
        let g = |k: usize| v.get(k).copied().unwrap_or(f64::NAN);
        Morphology {
            channel_fill,
            mean_fill: g(0),
            front_centre_um: g(1),
            front_wall_um: g(2),
            homogeneity: g(3),
            li_llzo_contact_per_width: g(4),
            li_pore_surface_per_width: g(5),
            interface_current_mean_a_m2: g(6),
            interface_current_p99_over_mean: g(7),
            contact_current_mean_a_m2: g(8),
            contact_current_estimate_a_m2: g(9),
            li_in_closed_pores_mol_m2: g(10),
            li_tip_um: g(11),
            li_tip_velocity_um_s: g(12),
            deposit_area_um2: g(13),
            deposit_length_um: g(14),
            deposit_branch_points: g(15),
            deposit_box_dimension: g(16),
        }
    }
}

/// The cells of the bottom row (j = 0) of every section.
fn bottom_cells(grid: &Grid) -> impl Iterator<Item = usize> + '_ {
    (0..grid.nz).flat_map(move |k| {
        let row = grid.idx3(0, 0, k);
        row..row + grid.nx
    })
}

/// Height of the tip of the Li connected to the collector, µm: over the Li cells (ξ > ½)
/// that face neighbours (periodic in x, and z in 3D) connect to the bottom row, the highest
/// point where ξ crosses ½ going up, interpolated linearly between the top cell of a column and
/// the cell above it (the cell's top face where the Li reaches the domain's top). NaN when no Li
/// touches the bottom row. A flat Li layer of thickness L gives L; a filament in a crack, its
/// front.
pub fn li_tip_um(grid: &Grid, xi: &[f64]) -> f64 {
    let nx = grid.nx;
    let li = |k: usize| xi[k] > 0.5;
    let connected = grid.flood(bottom_cells(grid), li);
    let mut tip = f64::NAN;
    for (k, _) in connected.iter().enumerate().filter(|(_, &c)| c) {
        let j = (k / nx) % grid.ny;
        let y = grid.y_m(j);
        let top = if j + 1 < grid.ny {
            let above = xi[k + nx];
            if above > 0.5 {
                continue;
            }
            y + grid.dx_m * (xi[k] - 0.5) / (xi[k] - above)
        } else {
            y + 0.5 * grid.dx_m
        };
        if tip.is_nan() || top > tip {
            tip = top;
        }
    }
    m_to_um(tip)
}

/// The closed pores and their walls: the pore cells (ϕ < ½) not connected through pore cells
/// (face neighbours) to the bottom row, and the electrolyte cells (ϕ ≥ ½) within `reach` steps
/// of them.
pub fn closed_pores(grid: &Grid, phi: &[f64], reach: usize) -> Vec<bool> {
    let pore = |k: usize| phi[k] < 0.5;
    let open = grid.flood(bottom_cells(grid), pore);
    let mut closed: Vec<bool> = (0..grid.cells()).map(|k| pore(k) && !open[k]).collect();
    let mut front: Vec<usize> = (0..grid.cells()).filter(|&k| closed[k]).collect();
    for _ in 0..reach {
        let mut next = Vec::new();
        for k in front {
            for n in grid.neighbours(k) {
                if !closed[n] && !pore(n) {
                    closed[n] = true;
                    next.push(n);
                }
            }
        }
        front = next;
    }
    closed
}

/// Bilinear interpolation of a cell-centred field at (x, y), m (periodic in x, clamped in y).
fn bilinear(f: &[f64], nx: usize, ny: usize, dx: f64, x: f64, y: f64) -> f64 {
    let fx = x / dx - 0.5;
    let fy = (y / dx - 0.5).clamp(0.0, (ny - 1) as f64);
    let i0 = fx.floor();
    let tx = fx - i0;
    let i0 = (i0 as isize).rem_euclid(nx as isize) as usize;
    let i1 = (i0 + 1) % nx;
    let j0 = (fy.floor() as usize).min(ny - 1);
    let j1 = (j0 + 1).min(ny - 1);
    let ty = fy - j0 as f64;
    let a = f[j0 * nx + i0] * (1.0 - tx) + f[j0 * nx + i1] * tx;
    let b = f[j1 * nx + i0] * (1.0 - tx) + f[j1 * nx + i1] * tx;
    a * (1.0 - ty) + b * ty
}

/// Length-weighted quantile of (value, weight) pairs.
fn weighted_quantile(mut v: Vec<(f64, f64)>, q: f64) -> f64 {
    v.retain(|p| p.0.is_finite() && p.1 > 0.0);
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|p| p.1).sum();
    let mut acc = 0.0;
    for &(x, w) in &v {
        acc += w;
        if acc >= q * total {
            return x;
        }
    }
    v.last().unwrap().0
}

/// Height (m) up to which ξ > ½ continuously from row `j0` in column `i` (below `j1`),
/// interpolated where ξ crosses ½.
pub fn front_height(state: &State, i: usize, j0: usize, j1: usize) -> f64 {
    front_height_at(state, i, 0, j0, j1)
}

/// [`front_height`] in column `i` of section `k` (of a 3D state).
pub fn front_height_at(state: &State, i: usize, k: usize, j0: usize, j1: usize) -> f64 {
    let g = state.grid;
    let xi = |j: usize| state.xi[g.idx3(i, j, k)];
    if xi(j0) <= 0.5 {
        return j0 as f64 * g.dx_m;
    }
    for j in j0 + 1..j1 {
        if xi(j) <= 0.5 {
            let (a, b) = (xi(j - 1), xi(j));
            let t = (a - 0.5) / (a - b);
            return g.y_m(j - 1) + t * g.dx_m;
        }
    }
    j1 as f64 * g.dx_m
}

/// The morphology observables of `state` for a scaffold described by `info` (the geometry as
/// built, with `xi_built` the builder's initial ξ), under the applied current density
/// `j_applied_a_m2`.
pub fn measure(
    c: &Coefficients,
    info: &GeometryInfo,
    xi_built: &[f64],
    state: &State,
    j_applied_a_m2: f64,
) -> Morphology {
    let g = state.grid;
    let (nx, ny, dx) = (g.nx, g.ny, g.dx_m);
    let bottom = um_to_m(info.scaffold_bottom_um);
    let (j0, j1) = scaffold_rows(&g, info);
    let fill_of = |cols: &mut dyn Iterator<Item = usize>| {
        let (mut li, mut pore) = (0.0, 0.0);
        for i in cols {
            for j in j0..j1 {
                let k = j * nx + i;
                li += state.xi[k];
                pore += 1.0 - state.phi[k];
            }
        }
        if pore > 0.0 {
            li / pore
        } else {
            f64::NAN
        }
    };
    let mean_fill = fill_of(&mut (0..nx));

    let deposit =
        crate::deposit::deposit_shape(&g, &state.xi, um_to_m(info.li_top_um), 2.0 * c.ell_m);
    let mut m = Morphology {
        mean_fill,
        li_tip_um: li_tip_um(&g, &state.xi),
        li_tip_velocity_um_s: f64::NAN,
        deposit_area_um2: deposit.area_um2,
        deposit_length_um: deposit.length_um,
        deposit_branch_points: deposit.branch_points as f64,
        deposit_box_dimension: deposit.box_dimension,
        li_in_closed_pores_mol_m2: c.cs_mol_m3 * dx * dx / g.width_m()
            * closed_pores(&g, &state.phi, (4.0 * c.ell_m / dx).ceil() as usize)
                .iter()
                .zip(&state.xi)
                .filter(|(&closed, _)| closed)
                .map(|(_, &x)| x)
                .sum::<f64>(),
        front_centre_um: f64::NAN,
        front_wall_um: f64::NAN,
        homogeneity: f64::NAN,
        contact_current_estimate_a_m2: f64::NAN,
        ..Default::default()
    };
    let li_top = um_to_m(info.li_top_um);
    if info.channels > 0 && j1 > j0 {
        let period = um_to_m(info.channel_period_um);
        let col_of = |x: f64| ((x / dx - 0.5).round() as isize).rem_euclid(nx as isize) as usize;
        let (mut centres, mut walls) = (Vec::new(), Vec::new());
        let mut deposit: Vec<f64> = Vec::new();
        for k in 0..info.channels {
            let x0 = k as f64 * period;
            let cols: Vec<usize> = (0..nx)
                .filter(|&i| g.x_m(i) >= x0 && g.x_m(i) < x0 + period)
                .collect();
            m.channel_fill.push(fill_of(&mut cols.iter().copied()));
            let (c0, w) = info.channel_span_m(k);
            let centre = col_of(c0 + 0.5 * w);
            centres.push(front_height(state, centre, j0, j1));
            let mid = (j0 + j1) / 2;
            let pore_col = |i: usize| state.phi[mid * nx + i] < 0.5;
            // First pore column inside each wall, scanning from the wall towards the centre.
            let ncols = ((w / dx).ceil() as usize).max(1) + 1;
            let left = (0..ncols)
                .map(|s| col_of(c0 + (s as f64 + 0.5) * dx))
                .find(|&i| pore_col(i));
            let right = (0..ncols)
                .map(|s| col_of(c0 + w - (s as f64 + 0.5) * dx))
                .find(|&i| pore_col(i));
            for i in [left, right].into_iter().flatten() {
                walls.push(front_height(state, i, j0, j1));
            }
            for i in (0..nx).filter(|&i| {
                let x = g.x_m(i);
                x >= c0 && x < c0 + w && pore_col(i)
            }) {
                let p: f64 = (j0..j1)
                    .filter(|&j| g.y_m(j) > li_top)
                    .map(|j| (state.xi[j * nx + i] - xi_built[j * nx + i]) * dx)
                    .sum();
                deposit.push(p / (1.0 - state.phi[mid * nx + i]));
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        m.front_centre_um = m_to_um(mean(&centres));
        if !walls.is_empty() {
            m.front_wall_um = m_to_um(mean(&walls));
        }
        let mu = mean(&deposit);
        if !deposit.is_empty() && mu >= 0.25 * dx {
            let var = deposit.iter().map(|p| (p - mu).powi(2)).sum::<f64>() / deposit.len() as f64;
            m.homogeneity = (1.0 - var.sqrt() / mu).clamp(0.0, 1.0);
        }
        let depth = m_to_um(li_top - bottom);
        let s_slit = 2.0 * info.porosity_geometric / info.pore_size_um;
        if depth > 0.0 && s_slit > 0.0 {
            m.contact_current_estimate_a_m2 = j_applied_a_m2 / (depth * s_slit);
        }
    }

    // Li surface: the ξ = ½ iso-line, split into contact and free surface by ϕ.
    let samples = iso_segments(&state.xi, &g, 0.5).into_iter().map(|s| {
        let (x, y) = s.midpoint();
        let at = |f: &[f64]| bilinear(f, nx, ny, dx, x, y);
        (s.length(), at(&state.phi), at(&state.eta), at(&state.conc))
    });
    set_surface(&mut m, c, samples, g.width_m());
    m
}

/// The Li surface's columns of `m` from its pieces (weight: length in a section, area in a
/// volume; ϕ, η and c̃ at the piece), per projected extent `projected` (width or area): the
/// Li/LLZO contact where ϕ ≥ ¼, the free surface elsewhere, and the Butler–Volmer current
/// density at the local η and c̃, i0[c̃ e^{−βfη} − e^{(1−α)fη}], weighted by the pieces.
fn set_surface(
    m: &mut Morphology,
    c: &Coefficients,
    pieces: impl Iterator<Item = (f64, f64, f64, f64)>,
    projected: f64,
) {
    let (mut contact, mut free) = (0.0, 0.0);
    let mut currents: Vec<(f64, f64)> = Vec::new();
    let (mut contact_i, mut contact_w) = (0.0, 0.0);
    let (a, b, f) = (c.alpha, c.beta, c.f_over_rt_per_v);
    for (w, phi, eta, conc) in pieces {
        let i = c.exchange_current_density_a_m2
            * (conc * (-b * f * eta).exp() - ((1.0 - a) * f * eta).exp());
        currents.push((i, w));
        if phi >= 0.25 {
            contact += w;
            contact_i += i * w;
            contact_w += w;
        } else {
            free += w;
        }
    }
    m.li_llzo_contact_per_width = contact / projected;
    m.li_pore_surface_per_width = free / projected;
    let total_w: f64 = currents.iter().map(|p| p.1).sum();
    if total_w > 0.0 {
        let mean = currents.iter().map(|p| p.0 * p.1).sum::<f64>() / total_w;
        m.interface_current_mean_a_m2 = mean;
        let p99 = weighted_quantile(currents, 0.99);
        m.interface_current_p99_over_mean = if mean.abs() > 1e-12 {
            p99 / mean
        } else {
            f64::NAN
        };
    } else {
        m.interface_current_mean_a_m2 = f64::NAN;
        m.interface_current_p99_over_mean = f64::NAN;
    }
    m.contact_current_mean_a_m2 = if contact_w > 0.0 {
        contact_i / contact_w
    } else {
        f64::NAN
    };
}

/// Trilinear interpolation of a cell-centred field of `shape` at (x, y, z) in cell-centre
/// coordinates ((i, j, k) at the centre of cell (i, j, k)), periodic in x and z, clamped in y.
fn trilinear(f: &[f64], [nx, ny, nz]: [usize; 3], [x, y, z]: [f64; 3]) -> f64 {
    let axis = |v: f64, n: usize, periodic: bool| -> (usize, usize, f64) {
        if periodic {
            let v0 = v.floor();
            let i0 = (v0 as isize).rem_euclid(n as isize) as usize;
            (i0, (i0 + 1) % n, v - v0)
        } else {
            let v = v.clamp(0.0, (n - 1) as f64);
            let i0 = (v.floor() as usize).min(n - 1);
            ((i0), (i0 + 1).min(n - 1), v - i0 as f64)
        }
    };
    let (i0, i1, tx) = axis(x, nx, true);
    let (j0, j1, ty) = axis(y, ny, false);
    let (k0, k1, tz) = axis(z, nz, true);
    let at = |i: usize, j: usize, k: usize| f[(k * ny + j) * nx + i];
    let lerp = |a: f64, b: f64, t: f64| a * (1.0 - t) + b * t;
    let plane = |k: usize| {
        lerp(
            lerp(at(i0, j0, k), at(i1, j0, k), tx),
            lerp(at(i0, j1, k), at(i1, j1, k), tx),
            ty,
        )
    };
    lerp(plane(k0), plane(k1), tz)
}

/// Rows `j0..j1` of the scaffold region of `info` on `g` (between the scaffold's bottom and
/// top).
pub fn scaffold_rows(g: &Grid, info: &GeometryInfo) -> (usize, usize) {
    let bottom = um_to_m(info.scaffold_bottom_um);
    let top = um_to_m(info.scaffold_top_um);
    let rows: Vec<usize> = (0..g.ny)
        .filter(|&j| g.y_m(j) >= bottom && g.y_m(j) < top)
        .collect();
    (
        rows.first().copied().unwrap_or(0),
        rows.last().map_or(0, |j| j + 1),
    )
}

/// The morphology of a 3D `state`: [`measure`] on its x–y section `k` (with the section's
/// coefficients `c`), whose front heights, homogeneity, mean fill, tip and Li in closed pores are
/// then replaced by those of the whole volume: the fronts at the pores' centre and wall columns
/// and the homogeneity over every pore column ([`crate::front_map`]), the fill over every cell
/// of the scaffold, the tip of the Li connected to the collector anywhere, the closed pores of
/// the volume per collector area, the Li surface (the ξ = ½ iso-surface) and its currents per
/// collector area (seed 000's contact estimate with S = 4φ/δ for cylinders). The channel fills
/// and the deposit's shape stay the section's.
/// `xi_built` is the builder's initial ξ of the whole volume.
pub fn measure_volume(
    c: &Coefficients,
    info: &GeometryInfo,
    xi_built: &[f64],
    state: &State,
    k: usize,
    j_applied_a_m2: f64,
) -> Morphology {
    let g = state.grid;
    let n = g.section_cells();
    let section = state.section(k);
    let mut m = measure(
        c,
        info,
        &xi_built[k * n..(k + 1) * n],
        &section,
        j_applied_a_m2,
    );
    let (j0, j1) = scaffold_rows(&g, info);
    let (mut li, mut pore) = (0.0, 0.0);
    for kz in 0..g.nz {
        for j in j0..j1 {
            let row = g.idx3(0, j, kz);
            li += state.xi[row..row + g.nx].iter().sum::<f64>();
            pore += state.phi[row..row + g.nx]
                .iter()
                .map(|p| 1.0 - p)
                .sum::<f64>();
        }
    }
    m.mean_fill = if pore > 0.0 { li / pore } else { f64::NAN };
    m.li_tip_um = li_tip_um(&g, &state.xi);
    m.li_in_closed_pores_mol_m2 = c.cs_mol_m3 * g.dx_m * g.dx_m / g.collector_m()
        * closed_pores(&g, &state.phi, (4.0 * c.ell_m / g.dx_m).ceil() as usize)
            .iter()
            .zip(&state.xi)
            .filter(|(&closed, _)| closed)
            .map(|(_, &x)| x)
            .sum::<f64>();
    // The Li surface: the ξ = ½ iso-surface (marching tetrahedra), per collector area.
    let shape = g.shape();
    let samples = iso_surface_patches(&state.xi, shape, 0.5)
        .into_iter()
        .map(|p| {
            let at = |f: &[f64]| trilinear(f, shape, p.centre);
            (
                p.area_cells2 * g.dx_m * g.dx_m,
                at(&state.phi),
                at(&state.eta),
                at(&state.conc),
            )
        });
    set_surface(&mut m, c, samples, g.width_m() * g.depth_m());
    // Seed 000's estimate with the surface of the pores: 4φ/δ for cylinders, 2φ/δ for slits.
    if m.contact_current_estimate_a_m2.is_finite() && info.lattice.is_some() {
        m.contact_current_estimate_a_m2 *= 0.5;
    }
    if info.channels > 0 && j1 > j0 {
        let f = crate::front_map::column_fronts(state, xi_built, j0, j1, um_to_m(info.li_top_um));
        m.front_centre_um = m_to_um(f.centre_m);
        m.front_wall_um = m_to_um(f.wall_m);
        m.homogeneity = f.homogeneity;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_quantile_uses_weights() {
        // Cumulative weights 1, 2, 2.001 of 2.001 in total.
        let v = vec![(1.0, 1.0), (2.0, 1.0), (10.0, 0.001)];
        assert_eq!(weighted_quantile(v.clone(), 0.4), 1.0);
        assert_eq!(weighted_quantile(v.clone(), 0.5), 2.0);
        assert_eq!(weighted_quantile(v.clone(), 0.999), 2.0);
        assert_eq!(weighted_quantile(v, 0.9999), 10.0);
    }

    /// ξ = ½[1 − tanh((y − top(x))/ℓ)] on a 40 × 80 grid of 0.25 µm, ℓ = 0.5 µm.
    fn layer(top_um: impl Fn(f64) -> f64) -> (Grid, Vec<f64>) {
        let g = Grid::new(40, 80, 0.25e-6);
        let mut xi = vec![0.0; g.cells()];
        for j in 0..g.ny {
            for i in 0..g.nx {
                let (x, y) = (g.x_m(i) * 1e6, g.y_m(j) * 1e6);
                xi[g.idx(i, j)] = 0.5 * (1.0 - ((y - top_um(x)) / 0.5).tanh());
            }
        }
        (g, xi)
    }

    #[test]
    fn the_tip_of_a_flat_layer_is_its_thickness_and_a_filament_its_front() {
        // Anywhere between cell centres: the interpolated ½-crossing of the tanh profile.
        for l in [5.0, 5.1, 5.125, 5.2] {
            let (g, xi) = layer(|_| l);
            let tip = li_tip_um(&g, &xi);
            assert!((tip - l).abs() < 2e-3, "layer {l} µm: tip {tip} µm");
        }
        // A 1 µm wide filament 3 µm above a 5 µm layer: its front.
        let (g, xi) = layer(|x| if (x - 5.0).abs() < 0.5 { 8.0 } else { 5.0 });
        let tip = li_tip_um(&g, &xi);
        assert!((tip - 8.0).abs() < 2e-3, "filament: tip {tip} µm");
        // A particle above the layer, not connected to it, does not count.
        let (g, mut xi) = layer(|_| 5.0);
        for j in 60..64 {
            for i in 10..14 {
                xi[g.idx(i, j)] = 1.0;
            }
        }
        assert!((li_tip_um(&g, &xi) - 5.0).abs() < 2e-3);
        // No Li at the collector: NaN.
        assert!(li_tip_um(&g, &vec![0.0; g.cells()]).is_nan());
    }

    #[test]
    fn trilinear_interpolation_is_exact_on_linear_fields_and_wraps_in_x_and_z() {
        let shape = [5, 4, 3];
        let f: Vec<f64> = (0..60)
            .map(|c| {
                let (i, j, k) = (c % 5, (c / 5) % 4, c / 20);
                1.0 + 2.0 * j as f64 + 0.5 * (i + k) as f64
            })
            .collect();
        // Inside the grid a linear field is reproduced; y is clamped to the first and last rows.
        assert!((trilinear(&f, shape, [1.25, 2.5, 0.75]) - (1.0 + 5.0 + 0.5 * 2.0)).abs() < 1e-12);
        assert!((trilinear(&f, shape, [1.0, -3.0, 1.0]) - (1.0 + 0.5 * 2.0)).abs() < 1e-12);
        // Between the last and the first cell of a periodic axis: their mean.
        let wrap = trilinear(&f, shape, [4.5, 0.0, 0.0]);
        assert!(
            (wrap - (1.0 + 0.5 * (4.0 + 0.0) / 2.0)).abs() < 1e-12,
            "{wrap}"
        );
        let wrap_z = trilinear(&f, shape, [0.0, 0.0, 2.5]);
        assert!(
            (wrap_z - (1.0 + 0.5 * (2.0 + 0.0) / 2.0)).abs() < 1e-12,
            "{wrap_z}"
        );
    }

    #[test]
    fn the_tip_of_a_volume_is_found_in_any_section() {
        // Three sections of the 5 µm layer; section 2 carries a filament to 8 µm, section 1 a
        // particle at 15 µm connected to nothing.
        let (g2, flat) = layer(|_| 5.0);
        let (_, filament) = layer(|x| if (x - 5.0).abs() < 0.5 { 8.0 } else { 5.0 });
        let g = Grid::new_3d(g2.nx, g2.ny, 3, g2.dx_m);
        let mut xi = [flat.clone(), flat.clone(), filament].concat();
        for j in 58..62 {
            for i in 10..14 {
                xi[g.idx3(i, j, 1)] = 1.0;
            }
        }
        assert!((li_tip_um(&g, &xi) - 8.0).abs() < 2e-3);
        // A closed pore in section 1 and a pore column open to the collector in section 2.
        let mut phi = vec![1.0; g.cells()];
        for j in 0..g.ny {
            phi[g.idx3(3, j, 2)] = 0.0;
        }
        for j in 30..34 {
            phi[g.idx3(20, j, 1)] = 0.0;
        }
        let closed = closed_pores(&g, &phi, 0);
        assert_eq!(closed.iter().filter(|&&c| c).count(), 4);
        assert!(closed[g.idx3(20, 31, 1)] && !closed[g.idx3(3, 31, 2)]);
        let walls = closed_pores(&g, &phi, 1);
        // Four cells, their 10 electrolyte neighbours in the section and 8 across z.
        assert_eq!(walls.iter().filter(|&&c| c).count(), 4 + 10 + 8);
    }
}
