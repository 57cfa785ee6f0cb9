//! Microstructure metrics of a scaffold (seed 000, Figure 1; docs/models/phase-field.md §13.8),
//! measured on the LLZO order parameter ϕ as built.
//!
//! All metrics use the *measurement band*: the rows of the scaffold region more than 3ℓ from its
//! ends (the foil below and the cap above), where ϕ no longer feels them.
//!
//! * porosity f = mean of 1 − h(ϕ) over the band (the same definition as the builder's
//!   `porosity_measured`);
//! * specific surface area S (µm⁻¹) = interface length / section area: analytic for slits
//!   2φ/δ (what a 2D section through straight channels shows) and for cylinders 4φ/δ (seed 000's
//!   Figure 1), and measured as the length of the ϕ = ½ iso-line by marching squares
//!   ([`surface`]) in the band over the band's area;
//! * pore-size distribution by local thickness ([`thickness`]);
//! * current-density reduction J_local/J_applied = 1/(d·S) against the impregnation depth d
//!   (seed 000, Figure 1d), for the three S, and with the flat contact under the walls added;
//! * effective ionic conductivity along y and the tortuosity factor ([`conductivity`]), next to
//!   Bruggeman.

pub mod conductivity;
pub mod surface;
pub mod thickness;

use crate::cpu::interp::h;
use crate::geometry::GeometryInfo;
use crate::grid::Grid;
use crate::units::{m_to_um, um_to_m, M_PER_UM};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SpecificSurface {
    /// Slits of width δ at porosity φ (2D section through straight channels): 2φ/δ, µm⁻¹.
    pub analytic_slit_per_um: Option<f64>,
    /// Parallel cylinders of diameter δ (seed 000, Figure 1): 4φ/δ, µm⁻¹.
    pub analytic_cylinder_per_um: Option<f64>,
    /// Overlapping spheres (`random_spheres`): the Boolean model's n 4πR² exp(−n v) at the drawn
    /// density n, µm⁻¹; in a 2D section the perimeter per area of its cut, (π/4) of that
    /// (stereology: L_A = π S_V / 4).
    pub analytic_spheres_per_um: Option<f64>,
    /// `random_spheres` in 3D: the exact surface of the drawn spheres' union in the band per
    /// band volume (sampled on the spheres), µm⁻¹: what the measured value converges to.
    pub exact_spheres_per_um: Option<f64>,
    /// In a 2D section: the ϕ = ½ iso-line length (marching squares) in the band over the band
    /// area; in 3D: the ϕ = ½ iso-surface area (marching tetrahedra) in the band over the band
    /// volume; µm⁻¹.
    pub measured_per_um: f64,
    /// The pore size δ and porosity φ the analytic values use.
    pub delta_um: Option<f64>,
    pub phi: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CurrentReductionPoint {
    pub depth_um: f64,
    /// J_local / J_applied = 1/(d S) with S = 4φ/δ (seed 000's formula).
    pub cylinder: Option<f64>,
    /// … with S = 2φ/δ (slits).
    pub slit: Option<f64>,
    /// … with the measured S.
    pub measured: f64,
    /// 1/(d S_measured + (1 − φ)): the Li/LLZO contact under the walls counted too.
    pub measured_with_foil_contact: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScaffoldMetrics {
    pub kind: String,
    /// 2 (a section, nz = 1) or 3.
    pub dimensions: usize,
    /// Measurement band, µm from the collector, and its size in cells.
    pub band_bottom_um: f64,
    pub band_top_um: f64,
    pub band_rows: usize,
    pub porosity: f64,
    /// `random_spheres`: the Boolean model's 1 − exp(−n v) at the drawn density.
    pub porosity_expected: Option<f64>,
    /// Fraction of band cells with ϕ < ½.
    pub porosity_cells: f64,
    pub porosity_target: f64,
    pub specific_surface: SpecificSurface,
    pub pore_size_distribution: thickness::PoreSizeDistribution,
    pub current_reduction: Vec<CurrentReductionPoint>,
    pub conductivity: conductivity::EffectiveConductivity,
    /// σ_p used for the absolute values, S/m.
    pub llzo_conductivity_s_m: f64,
    pub effective_conductivity_s_m: f64,
    pub bruggeman_conductivity_s_m: f64,
}

/// The x–y section (k) with the most pore (ϕ < ½) in the measurement band of a 3D scaffold, the
/// first of equals; 0 for a 2D section. A section between the pores of a lattice would show
/// none of them: pictures and section morphology take this one.
pub fn section_with_most_pore(info: &GeometryInfo, grid: &Grid, ell_m: f64, phi: &[f64]) -> usize {
    if !grid.is_3d() {
        return 0;
    }
    let section = grid.section_cells();
    let (j0, j1) = band_rows(info, grid, ell_m);
    let pore_cells = |k: usize| {
        phi[k * section + j0 * grid.nx..k * section + j1 * grid.nx]
            .iter()
            .filter(|&&p| p < 0.5)
            .count()
    };
    (0..grid.nz)
        .max_by_key(|&k| (pore_cells(k), std::cmp::Reverse(k)))
        .unwrap_or(0)
}

/// Rows `j0..j1` of the measurement band of a scaffold described by `info`.
pub fn band_rows(info: &GeometryInfo, grid: &Grid, ell_m: f64) -> (usize, usize) {
    let lo = um_to_m(info.scaffold_bottom_um) + 3.0 * ell_m;
    let hi = um_to_m(info.scaffold_top_um) - 3.0 * ell_m;
    let j0 = (0..grid.ny).find(|&j| grid.y_m(j) > lo).unwrap_or(grid.ny);
    let j1 = (j0..grid.ny)
        .find(|&j| grid.y_m(j) >= hi)
        .unwrap_or(grid.ny);
    (j0, j1.max(j0))
}

/// The band's cells of `phi` (rows `j0..j1` of every section), ordered (k, j − j0, i).
pub fn band_cells(phi: &[f64], grid: &Grid, (j0, j1): (usize, usize)) -> Vec<f64> {
    let (nx, section) = (grid.nx, grid.section_cells());
    (0..grid.nz)
        .flat_map(|k| {
            phi[k * section + j0 * nx..k * section + j1 * nx]
                .iter()
                .copied()
        })
        .collect()
}

/// Local thickness (cells) of the pore cells (ϕ < ½) of the band's cells `band` (see
/// [`band_cells`]), 0 in the solid; 2D or 3D after the grid.
pub fn band_local_thickness_cells(band: &[f64], grid: &Grid, rows: usize) -> Vec<f64> {
    let pore: Vec<bool> = band.iter().map(|&p| p < 0.5).collect();
    if grid.is_3d() {
        thickness::local_thickness_cells_3d(&pore, grid.nx, rows, grid.nz)
    } else {
        thickness::local_thickness_cells(&pore, grid.nx, rows)
    }
}

/// Measures the scaffold `phi` built on `grid` (see the module documentation); a 3D grid is
/// measured in 3D (surface area per volume, local thickness by spheres, a 3D conduction solve).
/// `sigma_p_s_m` scales the conductivities; `depths_um` are the impregnation depths of the
/// J_local curve.
pub fn measure(
    phi: &[f64],
    grid: &Grid,
    info: &GeometryInfo,
    ell_m: f64,
    sigma_p_s_m: f64,
    depths_um: &[f64],
) -> Result<ScaffoldMetrics, String> {
    let (j0, j1) = band_rows(info, grid, ell_m);
    let rows = j1 - j0;
    if rows < 2 {
        return Err(format!(
            "the scaffold region ({:.3}–{:.3} µm) is too thin to measure: fewer than 2 rows \
             lie more than 3ℓ from its ends",
            info.scaffold_bottom_um, info.scaffold_top_um
        ));
    }
    let (nx, nz) = (grid.nx, grid.nz);
    let band = band_cells(phi, grid, (j0, j1));
    let porosity = band.iter().map(|&p| 1.0 - h(p)).sum::<f64>() / band.len() as f64;
    let pore: Vec<bool> = band.iter().map(|&p| p < 0.5).collect();
    let porosity_cells = pore.iter().filter(|&&p| p).count() as f64 / pore.len() as f64;

    // Specific surface: iso-line length (iso-surface area) inside the band of cell centres
    // [y(j0), y(j1 − 1)] extended by half a cell on each side, i.e. exactly the band's area
    // (volume).
    let y0 = j0 as f64 * grid.dx_m;
    let y1 = j1 as f64 * grid.dx_m;
    let measured_per_um = if grid.is_3d() {
        let area = surface::iso_surface_area_between(phi, nx, grid.ny, nz, grid.dx_m, 0.5, y0, y1);
        area / (grid.width_m() * (y1 - y0) * grid.depth_m()) * M_PER_UM
    } else {
        let segs = surface::iso_segments(phi, grid, 0.5);
        let length: f64 = segs.iter().map(|s| s.length_between(y0, y1)).sum();
        length / (grid.width_m() * (y1 - y0)) * M_PER_UM
    };
    let pore_size = (info.pore_size_um > 0.0).then_some(info.pore_size_um);
    let (slit_delta, cylinder_delta) = match info.kind.as_str() {
        "channels" | "random_pores" => (pore_size, pore_size),
        "cylinders" => (None, pore_size),
        _ => (None, None),
    };
    let analytic_spheres_per_um = info.specific_surface_expected_per_um.map(|s| {
        if grid.is_3d() {
            s
        } else {
            std::f64::consts::FRAC_PI_4 * s
        }
    });
    let specific_surface = SpecificSurface {
        analytic_slit_per_um: slit_delta.map(|d| 2.0 * porosity / d),
        analytic_cylinder_per_um: cylinder_delta.map(|d| 4.0 * porosity / d),
        analytic_spheres_per_um,
        exact_spheres_per_um: info.specific_surface_drawn_per_um,
        measured_per_um,
        delta_um: pore_size.filter(|_| slit_delta.is_some() || cylinder_delta.is_some()),
        phi: porosity,
    };

    let lt = band_local_thickness_cells(&band, grid, rows);
    let psd = thickness::distribution(&lt, &pore, m_to_um(grid.dx_m));

    let current_reduction = depths_um
        .iter()
        .map(|&d| CurrentReductionPoint {
            depth_um: d,
            cylinder: specific_surface
                .analytic_cylinder_per_um
                .map(|s| 1.0 / (d * s)),
            slit: specific_surface.analytic_slit_per_um.map(|s| 1.0 / (d * s)),
            measured: 1.0 / (d * measured_per_um),
            measured_with_foil_contact: 1.0 / (d * measured_per_um + (1.0 - porosity)),
        })
        .collect();

    let cond = if grid.is_3d() {
        conductivity::effective_conductivity_y_3d(&band, nx, rows, nz)?
    } else {
        conductivity::effective_conductivity_y(&band, nx, rows)?
    };
    Ok(ScaffoldMetrics {
        kind: info.kind.clone(),
        dimensions: if grid.is_3d() { 3 } else { 2 },
        band_bottom_um: m_to_um(y0),
        band_top_um: m_to_um(y1),
        band_rows: rows,
        porosity,
        porosity_expected: info.porosity_expected,
        porosity_cells,
        porosity_target: info.porosity_target,
        specific_surface,
        pore_size_distribution: psd,
        current_reduction,
        effective_conductivity_s_m: cond.relative * sigma_p_s_m,
        bruggeman_conductivity_s_m: cond.bruggeman_relative * sigma_p_s_m,
        llzo_conductivity_s_m: sigma_p_s_m,
        conductivity: cond,
    })
}

/// Depths for the J_local curve: 1 µm steps up to the scaffold height (at least one point).
pub fn default_depths_um(info: &GeometryInfo) -> Vec<f64> {
    let hmax = (info.scaffold_top_um - info.scaffold_bottom_um)
        .floor()
        .max(1.0) as usize;
    (1..=hmax).map(|d| d as f64).collect()
}
