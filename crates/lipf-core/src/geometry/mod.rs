//! Scaffold builder (docs/models/phase-field.md §11): initial ξ (Li), static ϕ (LLZO) and c̃ on the
//! grid.
//!
//! From the bottom: a dense Li foil, the scaffold region, a dense LLZO cap. A cell's order
//! parameter is the tanh profile of its signed distance d to its phase, ½[1 + tanh(d/ℓ)]
//! (d > 0 inside), so every interface starts as the equilibrium profile of half-width ℓ.
//!
//! * `channels`, `flat`: each phase is a union of axis-aligned boxes and d is exact, evaluated
//!   in the periodic x direction, so channels that cross x = 0 are handled.
//! * `random_pores` ([`random`]) and `image` ([`image`]): the scaffold region is a voxel mask
//!   (pore or LLZO per cell); the foil and the cap are added around it, the pores connected to
//!   the foil are filled with Li up to the impregnation depth (isostatic pressing pushes Li only
//!   into pores it can reach), and d comes from the exact Euclidean distance transform of the
//!   masks ([`distance`]), with the boundary on the cell faces. The mask code is written for
//!   voxel grids ([`distance::Lattice`] has a z axis); the builder fills 2D sections.

pub mod distance;
pub mod image;
pub mod random;

use crate::config::{Config, Defect, GeometryKind};
use crate::grid::Grid;
use crate::units::{m_to_um, um_to_m};
use distance::{signed_distance_cells, Lattice};
use serde::Serialize;

/// An axis-aligned box [x0, x1) × [y0, y1), m.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl Rect {
    /// Signed distance (positive inside) from (x, y), periodic in x with period `width`.
    fn signed_distance(&self, x: f64, y: f64, width: f64) -> f64 {
        let cx = 0.5 * (self.x0 + self.x1);
        let hx = 0.5 * (self.x1 - self.x0);
        let cy = 0.5 * (self.y0 + self.y1);
        let hy = 0.5 * (self.y1 - self.y0);
        let mut dxp = (x - cx).rem_euclid(width);
        if dxp > 0.5 * width {
            dxp = width - dxp;
        }
        let qx = dxp - hx;
        let qy = (y - cy).abs() - hy;
        let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
        let inside = qx.max(qy).min(0.0);
        -(outside + inside)
    }
}

/// What the builder made, reported to the user and written to the outputs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GeometryInfo {
    pub kind: String,
    pub channels: usize,
    pub channel_period_um: f64,
    pub pore_size_um: f64,
    /// Porosity of the channel array as built (integer number of periods).
    pub porosity_geometric: f64,
    /// Porosity measured on the grid: mean of 1 − h(ϕ) over the scaffold rows.
    pub porosity_measured: f64,
    pub scaffold_bottom_um: f64,
    pub scaffold_top_um: f64,
    pub li_top_um: f64,
    /// The configured porosity (channels: before rounding to whole periods).
    pub porosity_target: f64,
    /// Disks drawn (`random_pores`), 0 otherwise.
    pub disks: usize,
    /// The scaffold image (`image`).
    pub image_path: Option<String>,
}

impl GeometryInfo {
    /// Left edge and width of channel `k` (channels only), m.
    pub fn channel_span_m(&self, k: usize) -> (f64, f64) {
        let period = um_to_m(self.channel_period_um);
        let pore = um_to_m(self.pore_size_um);
        (k as f64 * period + 0.5 * (period - pore), pore)
    }
}

/// The name of a geometry kind as written in configurations.
pub fn kind_name(kind: GeometryKind) -> &'static str {
    match kind {
        GeometryKind::Channels => "channels",
        GeometryKind::Flat => "flat",
        GeometryKind::RandomPores => "random_pores",
        GeometryKind::Image => "image",
    }
}

/// Rows `j0..j1` of the scaffold region of a mask-based scaffold: cell centres between the foil
/// top and the cap bottom.
pub fn scaffold_rows(config: &Config, grid: &Grid) -> (usize, usize) {
    let foil_top = um_to_m(config.geometry.li_foil_thickness_um);
    let cap_bottom = grid.height_m() - um_to_m(config.geometry.dense_cap_thickness_um);
    let j0 = (0..grid.ny)
        .find(|&j| grid.y_m(j) >= foil_top)
        .unwrap_or(grid.ny);
    let j1 = (j0..grid.ny)
        .find(|&j| grid.y_m(j) >= cap_bottom)
        .unwrap_or(grid.ny);
    (j0, j1)
}

/// The pore mask of a mask-based scaffold region (`nx × rows`, row 0 at its bottom) and the
/// number of disks drawn. Panics for `channels`/`flat`, and when the image cannot be read
/// (validation reads it first, so that only happens if the file changed in between).
pub fn scaffold_mask(config: &Config, grid: &Grid) -> (Vec<bool>, usize) {
    let g = &config.geometry;
    let (j0, j1) = scaffold_rows(config, grid);
    let rows = j1 - j0;
    let nx = grid.nx;
    match g.kind {
        GeometryKind::RandomPores => {
            let d = random::overlapping_disks(
                nx,
                rows,
                um_to_m(g.pore_size_um) / grid.dx_m,
                g.porosity,
                g.seed,
            );
            (d.pore, d.centres.len())
        }
        GeometryKind::Image => {
            let path = g.image_path.as_deref().unwrap_or("");
            let m = image::read_mask(std::path::Path::new(path), g.image_pores_are_dark)
                .unwrap_or_else(|e| panic!("scaffold image: {e}"));
            // Nearest-neighbour resampling onto the region; the image's top is the region's top.
            let mut pore = vec![false; nx * rows];
            for j in 0..rows {
                let py = m.height - 1 - ((j as f64 + 0.5) * m.height as f64 / rows as f64) as usize;
                for i in 0..nx {
                    let px = ((i as f64 + 0.5) * m.width as f64 / nx as f64) as usize;
                    pore[j * nx + i] = m.at(px.min(m.width - 1), py.min(m.height - 1));
                }
            }
            (pore, 0)
        }
        GeometryKind::Channels | GeometryKind::Flat => {
            panic!("scaffold_mask is for mask-based scaffolds")
        }
    }
}

/// Initial fields.
pub struct InitialFields {
    pub xi: Vec<f64>,
    pub phi: Vec<f64>,
    pub conc: Vec<f64>,
    pub info: GeometryInfo,
}

fn union_profile(rects: &[Rect], x: f64, y: f64, width: f64, ell: f64) -> f64 {
    let d = rects
        .iter()
        .map(|r| r.signed_distance(x, y, width))
        .fold(f64::NEG_INFINITY, f64::max);
    if d == f64::NEG_INFINITY {
        0.0
    } else {
        0.5 * (1.0 + (d / ell).tanh())
    }
}

/// Builds the initial fields for `config` on `grid` with interface half-width `ell_m`.
pub fn build(config: &Config, grid: &Grid, ell_m: f64) -> InitialFields {
    let mut f = match config.geometry.kind {
        GeometryKind::Channels | GeometryKind::Flat => build_boxes(config, grid, ell_m),
        GeometryKind::RandomPores | GeometryKind::Image => build_from_mask(config, grid, ell_m),
    };
    if !config.geometry.electrolyte_defects.is_empty() {
        cut_defects(config, grid, ell_m, &mut f.phi);
    }
    if !config.geometry.li_nuclei.is_empty() {
        add_nuclei(config, grid, ell_m, &mut f.xi, &f.phi);
    }
    if !config.geometry.li_nuclei.is_empty() || !config.geometry.electrolyte_defects.is_empty() {
        f.conc = initial_concentration(config, &f.xi, &f.phi);
    }
    f
}

/// Cuts the configured cracks and voids into the electrolyte: ϕ = min(ϕ, 1 − p), p the
/// defect's profile ½[1 + tanh(d/ℓ)], d the signed distance to its outline (positive inside;
/// periodic in x). ξ ≤ 1 − ϕ still holds; where a crack meets the foil, its Li faces an empty
/// crack instead of LLZO.
fn cut_defects(config: &Config, grid: &Grid, ell_m: f64, phi: &mut [f64]) {
    let width = grid.width_m();
    let foil_top = um_to_m(config.geometry.li_foil_thickness_um);
    for defect in &config.geometry.electrolyte_defects {
        let distance: Box<dyn Fn(f64, f64) -> f64> = match *defect {
            Defect::Crack {
                x_um,
                width_um,
                depth_um,
            } => {
                let (x, w) = (um_to_m(x_um), um_to_m(width_um));
                // From below the foil's top, so that the crack opens onto the Li.
                let r = Rect {
                    x0: x - 0.5 * w,
                    x1: x + 0.5 * w,
                    y0: foil_top - 10.0 * ell_m - grid.dx_m,
                    y1: foil_top + um_to_m(depth_um),
                };
                Box::new(move |x, y| r.signed_distance(x, y, width))
            }
            Defect::Void {
                x_um,
                y_um,
                diameter_um,
            } => {
                let (cx, cy, r0) = (um_to_m(x_um), um_to_m(y_um), 0.5 * um_to_m(diameter_um));
                Box::new(move |x, y| {
                    let mut dx = (x - cx).abs();
                    dx = dx.min(width - dx);
                    r0 - (dx * dx + (y - cy).powi(2)).sqrt()
                })
            }
        };
        for j in 0..grid.ny {
            for i in 0..grid.nx {
                let k = grid.idx(i, j);
                let p = 0.5 * (1.0 + (distance(grid.x_m(i), grid.y_m(j)) / ell_m).tanh());
                phi[k] = phi[k].min(1.0 - p);
            }
        }
    }
}

/// Adds the configured Li nuclei: ξ = max(ξ, min(½[1 − tanh((r − R)/ℓ)], room)), r the distance
/// to the centre (periodic in x), room = 1 − ϕ beside a solid electrolyte and the whole cell in a
/// liquid, which the Li displaces (`cpu::interp::metal_room`).
fn add_nuclei(config: &Config, grid: &Grid, ell_m: f64, xi: &mut [f64], phi: &[f64]) {
    let width = grid.width_m();
    let liquid = if config.material.liquid_electrolyte.is_some() {
        1.0
    } else {
        0.0
    };
    for nu in &config.geometry.li_nuclei {
        let (cx, cy, r0) = (um_to_m(nu.x_um), um_to_m(nu.y_um), um_to_m(nu.radius_um));
        for j in 0..grid.ny {
            for i in 0..grid.nx {
                let k = grid.idx(i, j);
                let mut dx = (grid.x_m(i) - cx).abs();
                dx = dx.min(width - dx);
                let r = (dx * dx + (grid.y_m(j) - cy).powi(2)).sqrt();
                let disk = 0.5 * (1.0 - ((r - r0) / ell_m).tanh());
                xi[k] = xi[k].max(disk.min(crate::cpu::interp::metal_room(phi[k], liquid)));
            }
        }
    }
}

/// Initial c̃: 1 in LLZO and metal, the configured value in the pores, blended over interfaces.
fn initial_concentration(config: &Config, xi: &[f64], phi: &[f64]) -> Vec<f64> {
    let pore_c = config.model.pore_initial_concentration;
    xi.iter()
        .zip(phi)
        .map(|(&x, &p)| {
            let hp = crate::cpu::interp::h(p);
            let hx = crate::cpu::interp::h(x);
            let w_pore = (1.0 - hp - hx).clamp(0.0, 1.0);
            1.0 * (1.0 - w_pore) + pore_c * w_pore
        })
        .collect()
}

/// Mean of 1 − h(ϕ) over the rows strictly inside the scaffold (3ℓ from its ends).
fn measured_porosity(grid: &Grid, phi: &[f64], bottom_m: f64, top_m: f64, ell_m: f64) -> f64 {
    let (mut sum, mut count) = (0.0, 0usize);
    for j in 0..grid.ny {
        let y = grid.y_m(j);
        if y > bottom_m + 3.0 * ell_m && y < top_m - 3.0 * ell_m {
            for i in 0..grid.nx {
                sum += 1.0 - crate::cpu::interp::h(phi[grid.idx(i, j)]);
                count += 1;
            }
        }
    }
    if count > 0 {
        sum / count as f64
    } else {
        0.0
    }
}

/// `random_pores` and `image`: see the module documentation.
fn build_from_mask(config: &Config, grid: &Grid, ell_m: f64) -> InitialFields {
    let g = &config.geometry;
    let (nx, ny) = (grid.nx, grid.ny);
    let (j0, j1) = scaffold_rows(config, grid);
    let (pore_region, disks) = scaffold_mask(config, grid);
    let li_top = um_to_m(g.li_foil_thickness_um + g.impregnation_depth_um);
    let mut llzo = vec![false; grid.cells()];
    let mut li = vec![false; grid.cells()];
    for j in 0..ny {
        for i in 0..nx {
            let k = grid.idx(i, j);
            if j < j0 {
                li[k] = true;
            } else if j >= j1 {
                llzo[k] = true;
            } else {
                llzo[k] = !pore_region[(j - j0) * nx + i];
            }
        }
    }
    // Impregnation: flood the scaffold's pores from the foil (4-connected, periodic in x) below
    // li_top.
    let impregnated = grid.flood((0..nx).map(|i| grid.idx(i, j0)), |k| {
        let j = k / nx;
        (j0..j1).contains(&j) && !llzo[k] && grid.y_m(j) < li_top
    });
    for (l, imp) in li.iter_mut().zip(impregnated) {
        *l |= imp;
    }
    let lat = Lattice::section(nx, ny);
    let profile = |d_cells: f64| 0.5 * (1.0 + (d_cells * grid.dx_m / ell_m).tanh());
    let phi: Vec<f64> = signed_distance_cells(&llzo, lat)
        .into_iter()
        .map(profile)
        .collect();
    let xi: Vec<f64> = signed_distance_cells(&li, lat)
        .into_iter()
        .zip(&phi)
        .map(|(d, &p)| profile(d) * (1.0 - p))
        .collect();
    let conc = initial_concentration(config, &xi, &phi);
    let bottom = j0 as f64 * grid.dx_m;
    let top = j1 as f64 * grid.dx_m;
    let region_porosity = if pore_region.is_empty() {
        0.0
    } else {
        pore_region.iter().filter(|&&p| p).count() as f64 / pore_region.len() as f64
    };
    let info = GeometryInfo {
        kind: kind_name(g.kind).into(),
        channels: 0,
        channel_period_um: 0.0,
        pore_size_um: if g.kind == GeometryKind::RandomPores {
            g.pore_size_um
        } else {
            0.0
        },
        porosity_geometric: region_porosity,
        porosity_measured: measured_porosity(grid, &phi, bottom, top, ell_m),
        scaffold_bottom_um: m_to_um(bottom),
        scaffold_top_um: m_to_um(top),
        li_top_um: m_to_um(li_top.min(top)),
        // An image has no target: its own pore fraction is reported.
        porosity_target: if g.kind == GeometryKind::Image {
            region_porosity
        } else {
            g.porosity
        },
        disks,
        image_path: g.image_path.clone(),
    };
    InitialFields {
        xi,
        phi,
        conc,
        info,
    }
}

/// `channels` and `flat`: unions of boxes with exact signed distances.
fn build_boxes(config: &Config, grid: &Grid, ell_m: f64) -> InitialFields {
    let g = &config.geometry;
    let width = grid.width_m();
    let height = grid.height_m();
    let foil_top = um_to_m(g.li_foil_thickness_um);
    let cap_bottom = height - um_to_m(g.dense_cap_thickness_um);
    // Boxes extend beyond the domain in y so that the boundaries carry no spurious interface.
    let below = -10.0 * ell_m - grid.dx_m;
    let above = height + 10.0 * ell_m + grid.dx_m;
    let full_x = (-width, 2.0 * width);

    let mut li = vec![Rect {
        x0: full_x.0,
        x1: full_x.1,
        y0: below,
        y1: foil_top,
    }];
    let mut llzo = vec![Rect {
        x0: full_x.0,
        x1: full_x.1,
        y0: cap_bottom,
        y1: above,
    }];
    let (channels, period, pore, porosity, li_top) = match g.kind {
        GeometryKind::Flat => {
            // Dense LLZO directly on the Li layer: the scaffold region is LLZO.
            llzo[0].y0 = foil_top;
            (0, width, 0.0, 0.0, foil_top)
        }
        GeometryKind::Channels => {
            let pore = um_to_m(g.pore_size_um);
            let n = ((width * g.porosity / pore).round() as usize).max(1);
            let period = width / n as f64;
            let li_top = foil_top + um_to_m(g.impregnation_depth_um);
            for k in 0..n {
                let x0 = k as f64 * period;
                let c0 = x0 + 0.5 * (period - pore);
                let c1 = c0 + pore;
                // Walls: the period minus the channel, from the foil top to the cap.
                llzo.push(Rect {
                    x0: c1,
                    x1: x0 + period + 0.5 * (period - pore),
                    y0: foil_top,
                    y1: cap_bottom,
                });
                if li_top > foil_top {
                    li.push(Rect {
                        x0: c0,
                        x1: c1,
                        y0: foil_top - grid.dx_m,
                        y1: li_top,
                    });
                }
            }
            (n, period, pore, pore / period, li_top)
        }
        GeometryKind::RandomPores | GeometryKind::Image => {
            unreachable!("mask-based scaffolds are built by build_from_mask")
        }
    };

    let n = grid.cells();
    let mut xi = vec![0.0; n];
    let mut phi = vec![0.0; n];
    for j in 0..grid.ny {
        let y = grid.y_m(j);
        for i in 0..grid.nx {
            let x = grid.x_m(i);
            let k = grid.idx(i, j);
            phi[k] = union_profile(&llzo, x, y, width, ell_m);
            // ξ ≤ 1 − ϕ, and ξ + ϕ = 1 exactly across a Li/LLZO contact (no gap, no overlap:
            // the contact is the ionic path of the consistent overpotential).
            xi[k] = union_profile(&li, x, y, width, ell_m).min(1.0 - phi[k]);
        }
    }
    let conc = initial_concentration(config, &xi, &phi);
    let info = GeometryInfo {
        kind: kind_name(g.kind).into(),
        channels,
        channel_period_um: m_to_um(period),
        pore_size_um: m_to_um(pore),
        porosity_geometric: porosity,
        porosity_measured: measured_porosity(grid, &phi, foil_top, cap_bottom, ell_m),
        scaffold_bottom_um: m_to_um(foil_top),
        scaffold_top_um: m_to_um(cap_bottom),
        li_top_um: m_to_um(li_top),
        porosity_target: if g.kind == GeometryKind::Flat {
            0.0
        } else {
            g.porosity
        },
        disks: 0,
        image_path: None,
    };
    InitialFields {
        xi,
        phi,
        conc,
        info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_distance_of_box_is_periodic_and_signed() {
        let r = Rect {
            x0: 0.9,
            x1: 1.1,
            y0: 0.0,
            y1: 1.0,
        };
        assert!((r.signed_distance(1.0, 0.5, 2.0) - 0.1).abs() < 1e-12);
        // x = 0.0 and x = 2.0 are the same point: both 0.9 from the box (distance to x0 = 0.9).
        assert!((r.signed_distance(0.0, 0.5, 2.0) + 0.9).abs() < 1e-12);
        assert!((r.signed_distance(1.0, 1.5, 2.0) + 0.5).abs() < 1e-12);
    }

    #[test]
    fn channel_array_has_integer_periods_and_reports_real_porosity() {
        let c = Config::default();
        let grid = Grid::new(c.nx(), c.ny(), 0.25e-6);
        let f = build(&c, &grid, 0.5e-6);
        assert_eq!(f.info.channels, 17);
        assert!((f.info.porosity_geometric - 17.0 * 1.5 / 50.0).abs() < 1e-12);
        assert!((f.info.porosity_measured - f.info.porosity_geometric).abs() < 0.02);
    }
}
