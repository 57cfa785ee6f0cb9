//! `lipf.geometry`: the scaffold of a configuration, built and measured in this process (what
//! `lipf geometry` computes), with its fields.

use crate::{parse_config, run_error, LipfError};
use lipf::cmd_geometry::{describe, geometry_command, GeometryReport};
use lipf_core::geometry as scaffold;
use lipf_core::metrics::{self, thickness};
use lipf_core::Coefficients;
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
/// collector), the rows of the measurement band and the local thickness (µm) of its pore cells
/// ((band_j1 − band_j0, nx) f64 bytes, 0 in the solid).
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
        let coeffs = Coefficients::from_config(&config);
        let grid = coeffs.grid;
        let fields = scaffold::build(&config, &grid, coeffs.ell_m);
        let info = fields.info.clone();
        let report = match &out_dir {
            Some(out) => geometry_command(&config, out, true)?,
            None => {
                let m = metrics::measure(
                    &fields.phi,
                    &grid,
                    &info,
                    coeffs.ell_m,
                    config.material.llzo_conductivity_s_m,
                    &metrics::default_depths_um(&info),
                )
                .map_err(|e| anyhow::anyhow!("cannot measure the scaffold: {e}"))?;
                GeometryReport {
                    name: config.name.clone(),
                    lipf_version: lipf_core::VERSION.into(),
                    geometry: info.clone(),
                    metrics: m,
                }
            }
        };
        let (j0, j1) = metrics::band_rows(&info, &grid, coeffs.ell_m);
        let band = &fields.phi[j0 * grid.nx..j1 * grid.nx];
        let pore: Vec<bool> = band.iter().map(|&p| p < 0.5).collect();
        let dx_um = grid.dx_m * 1e6;
        let local_thickness_um = thickness::local_thickness_cells(&pore, grid.nx, j1 - j0)
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
