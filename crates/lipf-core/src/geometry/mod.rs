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
pub mod volume;

use crate::config::{Config, Defect, GeometryKind, PoreLattice};
use crate::grid::Grid;
use crate::units::{m_to_um, um_to_m, M_PER_UM};
use distance::signed_distance_cells;
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
    /// Cells along z (1: a 2D section) and the depth, µm.
    pub nz: usize,
    pub depth_um: f64,
    /// `cylinders`: the lattice, the repeat cell along z (µm; along x it is
    /// `channel_period_um`) and the number of cylinders (in `channels`).
    pub lattice: Option<PoreLattice>,
    pub period_z_um: f64,
    /// `random_spheres`: spheres drawn, their number density (µm⁻³) and the Boolean model's
    /// expected porosity 1 − exp(−n v) and specific surface n 4πR² exp(−n v) (µm⁻¹) at it.
    pub spheres: usize,
    pub sphere_density_per_um3: f64,
    pub porosity_expected: Option<f64>,
    pub specific_surface_expected_per_um: Option<f64>,
    /// `random_spheres`: the exact surface of the drawn spheres' union per volume in the
    /// measurement band (3ℓ from the region's ends), µm⁻¹ (3D only).
    pub specific_surface_drawn_per_um: Option<f64>,
}

impl GeometryInfo {
    /// The record of a scaffold on `grid` before its builder fills it in: the grid's depth, and
    /// zero or none for everything particular to a kind.
    fn on(grid: &Grid) -> GeometryInfo {
        GeometryInfo {
            kind: String::new(),
            channels: 0,
            channel_period_um: 0.0,
            pore_size_um: 0.0,
            porosity_geometric: 0.0,
            porosity_measured: 0.0,
            scaffold_bottom_um: 0.0,
            scaffold_top_um: 0.0,
            li_top_um: 0.0,
            porosity_target: 0.0,
            disks: 0,
            image_path: None,
            nz: grid.nz,
            depth_um: m_to_um(grid.depth_m()),
            lattice: None,
            period_z_um: 0.0,
            spheres: 0,
            sphere_density_per_um3: 0.0,
            porosity_expected: None,
            specific_surface_expected_per_um: None,
            specific_surface_drawn_per_um: None,
        }
    }

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
        GeometryKind::Cylinders => "cylinders",
        GeometryKind::RandomSpheres => "random_spheres",
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

/// The pore mask of a mask-based scaffold region (`nz × rows × nx`, row 0 at its bottom) and the
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
            let stack = image::read_stack(std::path::Path::new(path), g.image_pores_are_dark)
                .unwrap_or_else(|e| panic!("scaffold image: {e}"));
            // Nearest-neighbour resampling onto the region (the image's top is the region's
            // top) and of the slices onto the sections (one slice: the same in every section).
            let nz = grid.nz;
            let mut pore = vec![false; nz * rows * nx];
            for kz in 0..nz {
                let m = &stack[((kz as f64 + 0.5) * stack.len() as f64 / nz as f64) as usize];
                for j in 0..rows {
                    let py =
                        m.height - 1 - ((j as f64 + 0.5) * m.height as f64 / rows as f64) as usize;
                    for i in 0..nx {
                        let px = ((i as f64 + 0.5) * m.width as f64 / nx as f64) as usize;
                        pore[(kz * rows + j) * nx + i] =
                            m.at(px.min(m.width - 1), py.min(m.height - 1));
                    }
                }
            }
            (pore, 0)
        }
        GeometryKind::Channels
        | GeometryKind::Flat
        | GeometryKind::Cylinders
        | GeometryKind::RandomSpheres => {
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
        GeometryKind::Cylinders | GeometryKind::RandomSpheres => {
            build_analytic_pores(config, grid, ell_m)
        }
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
/// periodic in x; in 3D extruded along z). ξ ≤ 1 − ϕ still holds; where a crack meets the foil, its Li faces an empty
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
                let p = 0.5 * (1.0 + (distance(grid.x_m(i), grid.y_m(j)) / ell_m).tanh());
                for kz in 0..grid.nz {
                    let k = grid.idx3(i, j, kz);
                    phi[k] = phi[k].min(1.0 - p);
                }
            }
        }
    }
}

/// Adds the configured Li nuclei: ξ = max(ξ, min(½[1 − tanh((r − R)/ℓ)], room)), r the distance
/// to the centre (periodic in x; in 3D extruded along z), room = 1 − ϕ beside a solid electrolyte and the whole cell in a
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
                let mut dx = (grid.x_m(i) - cx).abs();
                dx = dx.min(width - dx);
                let r = (dx * dx + (grid.y_m(j) - cy).powi(2)).sqrt();
                let disk = 0.5 * (1.0 - ((r - r0) / ell_m).tanh());
                for kz in 0..grid.nz {
                    let k = grid.idx3(i, j, kz);
                    xi[k] = xi[k].max(disk.min(crate::cpu::interp::metal_room(phi[k], liquid)));
                }
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
            for kz in 0..grid.nz {
                for i in 0..grid.nx {
                    sum += 1.0 - crate::cpu::interp::h(phi[grid.idx3(i, j, kz)]);
                    count += 1;
                }
            }
        }
    }
    if count > 0 {
        sum / count as f64
    } else {
        0.0
    }
}

/// `random_pores` and `image`: see the module documentation. In 3D an image is a stack of
/// slices (a folder of PNGs) or one PNG extruded along z; `random_pores` is refused in 3D by
/// validation.
fn build_from_mask(config: &Config, grid: &Grid, ell_m: f64) -> InitialFields {
    let g = &config.geometry;
    let (nx, ny) = (grid.nx, grid.ny);
    let (j0, j1) = scaffold_rows(config, grid);
    let (pore_region, disks) = scaffold_mask(config, grid);
    let mut llzo = vec![false; grid.cells()];
    for kz in 0..grid.nz {
        for j in j0..ny {
            for i in 0..nx {
                llzo[grid.idx3(i, j, kz)] =
                    j >= j1 || !pore_region[(kz * (j1 - j0) + j - j0) * nx + i];
            }
        }
    }
    let region_porosity = if pore_region.is_empty() {
        0.0
    } else {
        pore_region.iter().filter(|&&p| p).count() as f64 / pore_region.len() as f64
    };
    let lat = grid.lattice();
    let phi: Vec<f64> = signed_distance_cells(&llzo, lat)
        .into_iter()
        .map(|d| profile_cells(d, grid, ell_m))
        .collect();
    let xi: Vec<f64> = impregnated_li(config, grid, ell_m, |k| !llzo[k], false)
        .into_iter()
        .zip(&phi)
        .map(|(l, &p)| l * (1.0 - p))
        .collect();
    let mut info = region_info(config, grid, ell_m, &phi, region_porosity);
    info.pore_size_um = if g.kind == GeometryKind::RandomPores {
        g.pore_size_um
    } else {
        0.0
    };
    // An image has no target: its own pore fraction is reported.
    if g.kind == GeometryKind::Image {
        info.porosity_target = region_porosity;
    }
    info.disks = disks;
    info.image_path = g.image_path.clone();
    let conc = initial_concentration(config, &xi, &phi);
    InitialFields {
        xi,
        phi,
        conc,
        info,
    }
}

/// ½[1 + tanh(d/ℓ)] for a distance d in cells.
fn profile_cells(d_cells: f64, grid: &Grid, ell_m: f64) -> f64 {
    0.5 * (1.0 + (d_cells * grid.dx_m / ell_m).tanh())
}

/// The initial Li profile of a scaffold region whose pores are the cells with `pore(k)`: the
/// foil below the region, and the pores connected to it (face neighbours, periodic in x and z)
/// up to the impregnation depth, because isostatic pressing pushes Li only into pores it can
/// reach. With `dilate_into_walls` the set also takes the pores' neighbours in the same row (for
/// scaffolds whose walls are analytic). The profile is the tanh of the exact signed distance to
/// that voxel set; the caller cuts it to the room the scaffold leaves (ξ ≤ 1 − ϕ).
fn impregnated_li(
    config: &Config,
    grid: &Grid,
    ell_m: f64,
    pore: impl Fn(usize) -> bool,
    dilate_into_walls: bool,
) -> Vec<f64> {
    let g = &config.geometry;
    let (nx, ny) = (grid.nx, grid.ny);
    let (j0, j1) = scaffold_rows(config, grid);
    let li_top = um_to_m(g.li_foil_thickness_um + g.impregnation_depth_um);
    let seeds = (0..grid.nz).flat_map(|kz| (0..nx).map(move |i| (kz * ny + j0) * nx + i));
    let mut li = grid.flood(seeds, |k| {
        let j = (k / nx) % ny;
        (j0..j1).contains(&j) && pore(k) && grid.y_m(j) < li_top
    });
    if dilate_into_walls {
        // The impregnated pores' wall cells below the depth: the profile then reaches about
        // 0.8 at the pores' true walls and ξ = min(profile, 1 − ϕ) follows the walls' own
        // profile instead of the voxel staircase.
        let walls: Vec<usize> = (0..li.len())
            .filter(|&k| {
                let j = (k / nx) % ny;
                !li[k] && (j0..j1).contains(&j) && grid.y_m(j) < li_top
            })
            .filter(|&k| {
                grid.neighbours(k)
                    .any(|n| li[n] && (n / nx) % ny == (k / nx) % ny)
            })
            .collect();
        for k in walls {
            li[k] = true;
        }
    }
    for (k, l) in li.iter_mut().enumerate() {
        *l |= (k / nx) % ny < j0;
    }
    signed_distance_cells(&li, grid.lattice())
        .into_iter()
        .map(|d| profile_cells(d, grid, ell_m))
        .collect()
}

/// The geometry record of a scaffold region (rows of [`scaffold_rows`]) as built; the callers
/// fill in what is particular to their kind.
fn region_info(
    config: &Config,
    grid: &Grid,
    ell_m: f64,
    phi: &[f64],
    region_porosity: f64,
) -> GeometryInfo {
    let g = &config.geometry;
    let (j0, j1) = scaffold_rows(config, grid);
    let li_top = um_to_m(g.li_foil_thickness_um + g.impregnation_depth_um);
    let bottom = j0 as f64 * grid.dx_m;
    let top = j1 as f64 * grid.dx_m;
    GeometryInfo {
        kind: kind_name(g.kind).into(),
        channels: 0,
        channel_period_um: 0.0,
        pore_size_um: g.pore_size_um,
        porosity_geometric: region_porosity,
        porosity_measured: measured_porosity(grid, phi, bottom, top, ell_m),
        scaffold_bottom_um: m_to_um(bottom),
        scaffold_top_um: m_to_um(top),
        li_top_um: m_to_um(li_top.min(top)),
        porosity_target: g.porosity,
        ..GeometryInfo::on(grid)
    }
}

/// `cylinders` and `random_spheres` ([`volume`]): ϕ is the tanh profile of the analytic signed
/// distance to the LLZO, min(y − foil top, max(y − cap bottom, −d_pore)) (the pores end at the
/// foil and the cap); the Li is [`impregnated_li`] of the pores' cells, cut to 1 − ϕ.
fn build_analytic_pores(config: &Config, grid: &Grid, ell_m: f64) -> InitialFields {
    let g = &config.geometry;
    let (j0, j1) = scaffold_rows(config, grid);
    let (foil_top, cap_bottom) = (j0 as f64 * grid.dx_m, j1 as f64 * grid.dx_m);
    let diameter = um_to_m(g.pore_size_um);
    let mut cylinders = None;
    let mut spheres = None;
    // Signed distance to the pores at every cell, m (positive inside).
    let d_pore: Vec<f64> = match g.kind {
        GeometryKind::Cylinders => {
            let l = volume::CylinderLattice::fit(grid, diameter, g.porosity, g.lattice);
            let mut d = vec![0.0; grid.cells()];
            for kz in 0..grid.nz {
                for i in 0..grid.nx {
                    let di = l.signed_distance_m(grid.x_m(i), grid.z_m(kz));
                    for j in 0..grid.ny {
                        d[grid.idx3(i, j, kz)] = di;
                    }
                }
            }
            cylinders = Some(l);
            d
        }
        GeometryKind::RandomSpheres => {
            let s = volume::overlapping_spheres(
                grid,
                (j0, j1),
                diameter,
                g.porosity,
                g.seed,
                // Beyond 8ℓ from every sphere ϕ is 1 (the profile is within 1.2e-7 of it there).
                8.0 * ell_m + grid.dx_m,
            );
            let d = s.distance_m.clone();
            spheres = Some(s);
            d
        }
        _ => unreachable!("analytic pores are cylinders or spheres"),
    };
    let mut phi = vec![0.0; grid.cells()];
    for (k, p) in phi.iter_mut().enumerate() {
        let y = grid.y_m((k / grid.nx) % grid.ny);
        let d = (y - foil_top).min((y - cap_bottom).max(-d_pore[k]));
        *p = 0.5 * (1.0 + (d / ell_m).tanh());
    }
    // ξ = min(Li profile, 1 − ϕ): the Li fills its pores up to the walls' own profile, as the
    // channels' does (ξ + ϕ = 1 across a Li/LLZO contact and along the pore walls).
    let xi: Vec<f64> = impregnated_li(config, grid, ell_m, |k| d_pore[k] > 0.0, true)
        .into_iter()
        .zip(&phi)
        .map(|(l, &p)| l.min(1.0 - p))
        .collect();
    let region_cells: Vec<usize> = (0..grid.cells())
        .filter(|&k| (j0..j1).contains(&((k / grid.nx) % grid.ny)))
        .collect();
    let region_porosity = region_cells.iter().filter(|&&k| d_pore[k] > 0.0).count() as f64
        / region_cells.len().max(1) as f64;
    let mut info = region_info(config, grid, ell_m, &phi, region_porosity);
    if let Some(l) = cylinders {
        info.channels = l.count();
        info.channel_period_um = m_to_um(l.period_x_m);
        info.period_z_um = m_to_um(l.period_z_m);
        info.porosity_geometric = l.porosity;
        info.lattice = Some(l.lattice);
    }
    if let Some(s) = spheres {
        let (phi_e, s_e) = s.expected_porosity_and_surface_per_m();
        info.spheres = s.centres_m.len();
        info.sphere_density_per_um3 = s.number_density_per_m3() * M_PER_UM.powi(3);
        info.porosity_expected = Some(phi_e);
        info.specific_surface_expected_per_um = Some(s_e * M_PER_UM);
        if grid.is_3d() {
            let (b0, b1) = crate::metrics::band_rows(&info, grid, ell_m);
            let (y0, y1) = (b0 as f64 * grid.dx_m, b1 as f64 * grid.dx_m);
            let volume = grid.width_m() * (y1 - y0) * grid.depth_m();
            if volume > 0.0 {
                let area = s.exposed_area_between_m2(grid, y0, y1, 4000);
                info.specific_surface_drawn_per_um = Some(area / volume * M_PER_UM);
            }
        }
    }
    let conc = initial_concentration(config, &xi, &phi);
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
        _ => unreachable!("only channels and flat are boxes"),
    };

    let n = grid.section_cells();
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
    // In 3D the section is extruded along z (slits).
    let (xi, phi) = (xi.repeat(grid.nz), phi.repeat(grid.nz));
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
        ..GeometryInfo::on(grid)
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
