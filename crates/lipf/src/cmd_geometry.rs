//! `lipf geometry CONFIG [--out DIR]`: builds the scaffold of a configuration, measures it and
//! writes
//!
//! | file | content |
//! |---|---|
//! | `scaffold.h5` | `/phi`, `/xi` (initial Li), `/pore_local_thickness_um` (measurement band) as (ny, nx) f32, row 0 at the bottom; root attributes `config_json`, `geometry_json`, `metrics_json` |
//! | `scaffold.png` | the phase map of the built scaffold |
//! | `metrics.json` | [`lipf_core::metrics::ScaffoldMetrics`] and the geometry as built |
//! | `current_reduction.csv`, `current_reduction.png` | J_local/J_applied against the impregnation depth (seed 000, Figure 1d) |
//! | `pore_size_distribution.csv` | area fraction of pore space per local-thickness bin |
//!
//! and prints the metrics.

use crate::pictures::{self, PhaseMap};
use anyhow::{Context, Result};
use lipf_core::geometry::{self, GeometryInfo};
use lipf_core::metrics::{self, ScaffoldMetrics};
use lipf_core::units::m_to_um;
use lipf_core::{Coefficients, Config};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// The content of `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct GeometryReport {
    pub name: String,
    pub lipf_version: String,
    pub geometry: GeometryInfo,
    pub metrics: ScaffoldMetrics,
}

/// Builds and measures the scaffold of `config`, writes the files into `out` and returns the
/// report. The text summary is printed unless `quiet`.
pub fn geometry_command(config: &Config, out: &Path, quiet: bool) -> Result<GeometryReport> {
    let (coeffs, fields, report) = measure_geometry(config)?;
    write_geometry(config, &coeffs, &fields, &report, out, quiet)?;
    Ok(report)
}

/// Builds the scaffold of `config` and measures it, writing nothing: the coefficients, the
/// fields as built and the report.
pub fn measure_geometry(
    config: &Config,
) -> Result<(Coefficients, geometry::InitialFields, GeometryReport)> {
    let coeffs = Coefficients::from_config(config);
    let fields = geometry::build(config, &coeffs.grid, coeffs.ell_m);
    let m = metrics::measure(
        &fields.phi,
        &coeffs.grid,
        &fields.info,
        coeffs.ell_m,
        config.material.llzo_conductivity_s_m,
        &metrics::default_depths_um(&fields.info),
    )
    .map_err(|e| anyhow::anyhow!("cannot measure the scaffold: {e}"))?;
    let report = GeometryReport {
        name: config.name.clone(),
        lipf_version: lipf_core::VERSION.into(),
        geometry: fields.info.clone(),
        metrics: m,
    };
    Ok((coeffs, fields, report))
}

/// Writes the outputs of `lipf geometry` for a measured scaffold into `out` (the text summary
/// is printed unless `quiet`).
pub fn write_geometry(
    config: &Config,
    coeffs: &Coefficients,
    fields: &geometry::InitialFields,
    report: &GeometryReport,
    out: &Path,
    quiet: bool,
) -> Result<()> {
    let grid = coeffs.grid;
    let info = &fields.info;
    let m = &report.metrics;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let metrics_json = serde_json::to_string_pretty(report)?;
    lipf_io::atomic::write_atomic(&out.join("metrics.json"), metrics_json.as_bytes())?;

    let mut csv = String::from("depth_um,cylinder_4phi_over_delta,slit_2phi_over_delta,measured,measured_with_foil_contact\n");
    let opt = |v: Option<f64>| v.map_or("nan".to_string(), |x| format!("{x}"));
    for p in &m.current_reduction {
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            p.depth_um,
            opt(p.cylinder),
            opt(p.slit),
            p.measured,
            p.measured_with_foil_contact
        );
    }
    lipf_io::atomic::write_atomic(&out.join("current_reduction.csv"), csv.as_bytes())?;
    let curve = |f: &dyn Fn(&metrics::CurrentReductionPoint) -> Option<f64>| {
        m.current_reduction
            .iter()
            .filter_map(|p| f(p).map(|v| (p.depth_um, v)))
            .collect::<Vec<_>>()
    };
    let mut series = vec![
        (
            if grid.is_3d() {
                "S measured (marching tetrahedra)"
            } else {
                "S measured (marching squares)"
            },
            curve(&|p| Some(p.measured)),
        ),
        (
            "S measured + contact under walls",
            curve(&|p| Some(p.measured_with_foil_contact)),
        ),
    ];
    if m.specific_surface.delta_um.is_some() {
        series.push(("slits, S = 2φ/δ", curve(&|p| p.slit)));
        series.push(("cylinders, S = 4φ/δ (source paper)", curve(&|p| p.cylinder)));
    }
    let series_ref: Vec<(&str, Vec<(f64, f64)>)> =
        series.iter().map(|(n, v)| (*n, v.clone())).collect();
    lipf_io::line_plot_png(
        &out.join("current_reduction.png"),
        &format!(
            "{}: local current density, J_local/J_applied = 1/(d·S)",
            config.name
        ),
        "impregnation depth d (µm)",
        "J_local / J_applied",
        &series_ref,
    )?;

    let psd = &m.pore_size_distribution;
    let mut csv = String::from("local_thickness_lower_um,area_fraction\n");
    for (b, f) in psd.bin_lower_um.iter().zip(&psd.area_fraction) {
        let _ = writeln!(csv, "{b},{f}");
    }
    lipf_io::atomic::write_atomic(&out.join("pore_size_distribution.csv"), csv.as_bytes())?;

    let section = grid.section_cells();
    let title = format!(
        "{} ({}): porosity {:.3}, S = {:.3} µm⁻¹",
        config.name, info.kind, m.porosity, m.specific_surface.measured_per_um
    );
    // In 3D the x–y section with the most pore in the measurement band (a section between the
    // pores of a lattice shows none of them).
    let k_xy = metrics::section_with_most_pore(info, &grid, coeffs.ell_m, &fields.phi);
    let xy = k_xy * section..(k_xy + 1) * section;
    let mut maps = vec![PhaseMap {
        nx: grid.nx,
        ny: grid.ny,
        xi: &fields.xi[xy.clone()],
        phi: &fields.phi[xy],
        title: if grid.is_3d() {
            format!("x–y section at z = {:.2} µm", m_to_um(grid.z_m(k_xy)))
        } else {
            title.clone()
        },
    }];
    // In 3D also the x–z section across the middle of the measurement band.
    let (j_mid, xz) = if grid.is_3d() {
        let j = ((m.band_bottom_um + m.band_top_um) / 2.0 / m_to_um(grid.dx_m)) as usize;
        let j = j.min(grid.ny - 1);
        let pick = |v: &[f64]| -> Vec<f64> {
            (0..grid.nz)
                .flat_map(|k| (0..grid.nx).map(move |i| (k, i)))
                .map(|(k, i)| v[grid.idx3(i, j, k)])
                .collect()
        };
        (j, Some((pick(&fields.xi), pick(&fields.phi))))
    } else {
        (0, None)
    };
    if let Some((xi, phi)) = &xz {
        maps.push(PhaseMap {
            nx: grid.nx,
            ny: grid.nz,
            xi,
            phi,
            title: format!(
                "x–z section at y = {:.2} µm (z up)",
                m_to_um(grid.y_m(j_mid))
            ),
        });
    }
    let png = pictures::panel_png(
        &if grid.is_3d() {
            format!("Scaffold as built: {title}")
        } else {
            format!("Scaffold as built: {}", config.name)
        },
        &[(String::new(), maps)],
        600.0,
    )?;
    lipf_io::atomic::write_atomic(&out.join("scaffold.png"), &png)?;

    #[cfg(feature = "hdf5")]
    {
        write_scaffold_h5(
            &out.join("scaffold.h5"),
            config,
            fields,
            m,
            coeffs,
            &metrics_json,
        )?;
        if grid.is_3d() {
            let text =
                lipf_io::xdmf::volume_xdmf(&grid, "scaffold.h5", &[("phi", "/phi"), ("xi", "/xi")]);
            lipf_io::atomic::write_atomic(&out.join("scaffold.xdmf"), text.as_bytes())?;
        }
    }

    if !quiet {
        println!("{}", describe(report));
        println!("written to {}", out.display());
    }
    Ok(())
}

#[cfg(feature = "hdf5")]
fn write_scaffold_h5(
    path: &Path,
    config: &Config,
    fields: &geometry::InitialFields,
    m: &ScaffoldMetrics,
    coeffs: &Coefficients,
    metrics_json: &str,
) -> Result<()> {
    use hdf5::types::VarLenUnicode;
    let grid = coeffs.grid;
    let tmp = lipf_io::atomic::tmp_path(path)?;
    let write = || -> Result<()> {
        lipf_io::h5::disable_file_locking();
        let file = hdf5::File::create(&tmp)?;
        let s = |name: &str, v: &str| -> Result<()> {
            let v: VarLenUnicode = v.parse().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            file.new_attr::<VarLenUnicode>()
                .create(name)?
                .write_scalar(&v)?;
            Ok(())
        };
        s("format", "lipf-scaffold")?;
        s("lipf_version", lipf_core::VERSION)?;
        s("config_json", &config.to_json_pretty())?;
        s("geometry_json", &serde_json::to_string(&fields.info)?)?;
        s("metrics_json", metrics_json)?;
        s("row0", "bottom (y = 0, current collector)")?;
        file.new_attr::<f64>()
            .create("dx_um")?
            .write_scalar(&m_to_um(grid.dx_m))?;
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        // (ny, nx) for a section, (nz, ny, nx) in 3D.
        let put = |name: &str, ny: usize, data: Vec<f32>| -> Result<()> {
            if grid.is_3d() {
                let view = ndarray::ArrayView3::from_shape((grid.nz, ny, grid.nx), &data)?;
                file.new_dataset_builder().with_data(view).create(name)?;
            } else {
                let view = ndarray::ArrayView2::from_shape((ny, grid.nx), &data)?;
                file.new_dataset_builder().with_data(view).create(name)?;
            }
            Ok(())
        };
        put("phi", grid.ny, f32s(&fields.phi))?;
        put("xi", grid.ny, f32s(&fields.xi))?;
        let (j0, j1) = metrics::band_rows(&fields.info, &grid, coeffs.ell_m);
        let band = metrics::band_cells(&fields.phi, &grid, (j0, j1));
        let lt = metrics::band_local_thickness_cells(&band, &grid, j1 - j0);
        put(
            "pore_local_thickness_um",
            j1 - j0,
            lt.iter().map(|&t| m_to_um(t * grid.dx_m) as f32).collect(),
        )?;
        let _ = m;
        file.flush()?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("cannot write {}", path.display())));
    }
    lipf_io::atomic::commit(&tmp, path)
}

/// The printed summary.
pub fn describe(r: &GeometryReport) -> String {
    let (g, m) = (&r.geometry, &r.metrics);
    let s = &m.specific_surface;
    let c = &m.conductivity;
    let psd = &m.pore_size_distribution;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "scaffold `{}` ({}, {})",
        r.name,
        g.kind,
        if m.dimensions == 3 {
            format!("3D, {:.2} µm deep in {} cells", g.depth_um, g.nz)
        } else {
            "2D section".into()
        }
    );
    if g.kind == "channels" {
        let _ = writeln!(
            t,
            "  {} channel(s) of {:.3} µm, period {:.3} µm",
            g.channels, g.pore_size_um, g.channel_period_um
        );
    }
    if let Some(lattice) = g.lattice {
        let _ = writeln!(
            t,
            "  {} cylinders of {:.3} µm on a {} lattice, repeat cell {:.3} × {:.3} µm (x × z), porosity of the lattice {:.4}",
            g.channels,
            g.pore_size_um,
            match lattice {
                lipf_core::config::PoreLattice::Square => "square",
                lipf_core::config::PoreLattice::Hexagonal => "hexagonal",
            },
            g.channel_period_um,
            g.period_z_um,
            g.porosity_geometric
        );
    }
    if g.disks > 0 {
        let _ = writeln!(t, "  {} disks of {:.3} µm", g.disks, g.pore_size_um);
    }
    if g.spheres > 0 {
        let _ = writeln!(
            t,
            "  {} spheres of {:.3} µm ({:.4} µm⁻³); Boolean model at this density: porosity {}, S {} µm⁻¹",
            g.spheres,
            g.pore_size_um,
            g.sphere_density_per_um3,
            g.porosity_expected.map_or("—".into(), |v| format!("{v:.4}")),
            g.specific_surface_expected_per_um
                .map_or("—".into(), |v| format!("{v:.4}"))
        );
    }
    let _ = writeln!(
        t,
        "  measurement band {:.2}–{:.2} µm ({} rows)",
        m.band_bottom_um, m.band_top_um, m.band_rows
    );
    let _ = writeln!(
        t,
        "  porosity {:.4} (target {:.4}; cells with ϕ < ½: {:.4})",
        m.porosity, m.porosity_target, m.porosity_cells
    );
    let fmt = |v: Option<f64>| v.map_or("—".into(), |x| format!("{x:.4}"));
    let _ = writeln!(
        t,
        "  specific surface area (µm⁻¹): measured ({}) {:.4}; analytic slits 2φ/δ {}; analytic cylinders 4φ/δ {}; overlapping spheres (Boolean model) {}; the drawn spheres' exact surface {}",
        if m.dimensions == 3 {
            "iso-surface area per volume, marching tetrahedra"
        } else {
            "iso-line length per area, marching squares"
        },
        s.measured_per_um,
        fmt(s.analytic_slit_per_um),
        fmt(s.analytic_cylinder_per_um),
        fmt(s.analytic_spheres_per_um),
        fmt(s.exact_spheres_per_um)
    );
    let _ = writeln!(
        t,
        "  pore size by local thickness (µm): mean {:.3}, d10 {:.3}, median {:.3}, d90 {:.3}",
        psd.mean_um, psd.d10_um, psd.median_um, psd.d90_um
    );
    for p in m
        .current_reduction
        .iter()
        .filter(|p| [5.0, 10.0].contains(&p.depth_um))
    {
        let _ = writeln!(
            t,
            "  J_local/J_applied at d = {} µm: measured S {:.3} (with contact under walls {:.3}); slits {}; cylinders {}",
            p.depth_um,
            p.measured,
            p.measured_with_foil_contact,
            fmt(p.slit),
            fmt(p.cylinder)
        );
    }
    let _ = writeln!(
        t,
        "  effective ionic conductivity along y: σ_eff/σ_p = {:.4} ({:.4e} S/m) on the diffuse h(ϕ) the simulation sees, {:.4} on the segmented voxels (ϕ ≥ ½, as TauFactor); tortuosity factor τ (σ_eff = σ_p(1−f)/τ) diffuse {:.4}, voxels {:.4}: estimate {:.3} ± {:.3} (the two bracket the converged value; refine the grid to narrow it); Bruggeman (1−f)^1.5 = {:.4} ({:.4e} S/m)",
        c.relative, m.effective_conductivity_s_m, c.voxel_relative, c.tortuosity_factor, c.voxel_tortuosity_factor, c.tortuosity_estimate, c.tortuosity_uncertainty, c.bruggeman_relative, m.bruggeman_conductivity_s_m
    );
    t
}
