//! `lipf.geometry`: the scaffold of a configuration, built and measured in this process (what
//! `lipf geometry` computes), with its fields.

use crate::{parse_config, run_error, LipfError};
use lipf::cmd_geometry::{describe, measure_geometry, write_geometry, GeometryReport};
use lipf_core::metrics;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

/// Little-endian f64 bytes of `v` (read with `numpy.frombuffer(..., "<f8")`).
pub(crate) fn f64_bytes<'py>(py: Python<'py>, v: &[f64]) -> Bound<'py, PyBytes> {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    PyBytes::new(py, &bytes)
}

/// The fields of a built scaffold, kept as plain vectors until the GIL is back.
struct Built {
    report: GeometryReport,
    text: String,
    nx: usize,
    ny: usize,
    dx_um: f64,
    phi: Vec<f64>,
    xi: Vec<f64>,
    band: (usize, usize),
    local_thickness_um: Vec<f64>,
}

/// Builds the scaffold of a configuration and measures it, as `lipf geometry`, without writing
/// anything unless `out_dir` is given (then `lipf geometry --out` files are written there too).
///
/// Returns `(report_json, text, nx, ny, dx_um, phi, xi, band_j0, band_j1, local_thickness_um)`:
/// the report (`metrics.json`: `name`, `lipf_version`, `geometry`, `metrics`), its printed
/// summary, the grid, ϕ and ξ as built ((ny, nx) f64 little-endian bytes, row 0 at the current
/// collector; (nz, ny, nx) for a 3D domain, nz in the report's geometry), the rows of the
/// measurement band and the local thickness (µm) of its pore cells ((band_j1 − band_j0, nx) or
/// (nz, band_j1 − band_j0, nx) f64 bytes, 0 in the solid).
#[pyfunction]
#[pyo3(signature = (config_json, out_dir=None))]
#[allow(clippy::type_complexity)]
pub fn geometry<'py>(
    py: Python<'py>,
    config_json: &str,
    out_dir: Option<PathBuf>,
) -> PyResult<(
    String,
    String,
    usize,
    usize,
    f64,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    usize,
    usize,
    Bound<'py, PyBytes>,
)> {
    let config = parse_config(py, config_json)?;
    let built = py.detach(move || -> anyhow::Result<Built> {
        let (coeffs, fields, report) = measure_geometry(&config)?;
        if let Some(out) = &out_dir {
            write_geometry(&config, &coeffs, &fields, &report, out, true)?;
        }
        let grid = coeffs.grid;
        let info = &fields.info;
        let (j0, j1) = metrics::band_rows(info, &grid, coeffs.ell_m);
        let band = metrics::band_cells(&fields.phi, &grid, (j0, j1));
        let dx_um = lipf_core::units::m_to_um(grid.dx_m);
        let local_thickness_um = metrics::band_local_thickness_cells(&band, &grid, j1 - j0)
            .iter()
            .map(|t| t * dx_um)
            .collect();
        Ok(Built {
            text: describe(&report),
            report,
            nx: grid.nx,
            ny: grid.ny,
            dx_um,
            phi: fields.phi,
            xi: fields.xi,
            band: (j0, j1),
            local_thickness_um,
        })
    });
    let b = built.map_err(|e| run_error(py, &e))?;
    let json = serde_json::to_string(&b.report).map_err(|e| LipfError::new_err(e.to_string()))?;
    Ok((
        json,
        b.text,
        b.nx,
        b.ny,
        b.dx_um,
        f64_bytes(py, &b.phi),
        f64_bytes(py, &b.xi),
        b.band.0,
        b.band.1,
        f64_bytes(py, &b.local_thickness_um),
    ))
}
