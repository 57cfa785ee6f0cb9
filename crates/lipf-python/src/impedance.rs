//! `lipf.impedance`: virtual impedance spectroscopy in this process, as `lipf impedance`
//! (docs/models/impedance.md): a structure (the model structure of a configuration, a voxel
//! file, voxel codes from numpy, a phase-field snapshot) turned into a 3-D RC network and swept
//! over frequency, or a given spectrum; then the lin-KK test, the DRT and the R0 + n RC fit.
//! The results cross to Python as one JSON document; files are written only when an output
//! folder is given (the same files as the command).

use crate::LipfError;
use lipf_core::units::{m_to_um, um_to_m};
use lipf_impedance::circuit::{one_d_physical_model, SeriesCircuit};
use lipf_impedance::config::ImpedanceConfig;
use lipf_impedance::io::{analyse, Analyses};
use lipf_impedance::io::{check_finite_outputs, fit_table, impedance_csv, write_plots, Analysis};
use lipf_impedance::memory::{network_memory_bytes, MemoryBudget, SolverMemory};
use lipf_impedance::outdir;
use lipf_impedance::solver::cpu_solver;
use lipf_impedance::solver::{validate_krylov_settings, FrequencySolver};
use lipf_impedance::sweep::check_analysis_size;
use lipf_impedance::{sweep, KrylovMethod, Network, Spectrum, Structure};
use num_complex::Complex64 as C64;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde_json::json;
use std::path::{Path, PathBuf};

/// The default configuration of `lipf impedance` (the seed's model structure, Figure 2), as
/// JSON.
#[pyfunction]
pub fn impedance_default_config() -> String {
    serde_json::to_string_pretty(&ImpedanceConfig::default()).unwrap_or_default()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SolverChoice {
    Direct,
    Cocg,
    Cocr,
    Gpu,
}

impl SolverChoice {
    fn parse(s: &str) -> PyResult<SolverChoice> {
        Ok(match s {
            "direct" => SolverChoice::Direct,
            "cocg" => SolverChoice::Cocg,
            "cocr" => SolverChoice::Cocr,
            "gpu" => SolverChoice::Gpu,
            other => {
                return Err(PyValueError::new_err(format!(
                    "solver = {other:?}: expected \"direct\", \"cocg\", \"cocr\" or \"gpu\""
                )))
            }
        })
    }

    fn memory(self) -> SolverMemory {
        match self {
            SolverChoice::Direct => SolverMemory::DirectLu,
            SolverChoice::Cocg => SolverMemory::Cocg,
            SolverChoice::Cocr => SolverMemory::Cocr,
            SolverChoice::Gpu => SolverMemory::Gpu,
        }
    }
}

/// Where the structure (or the spectrum) comes from.
enum Source {
    Model,
    VoxelFile(PathBuf, Option<f64>),
    Voxels {
        nx: usize,
        ny: usize,
        nz: usize,
        voxel_size_um: f64,
        codes: Vec<u8>,
    },
    Fields(PathBuf, String),
    Csv(PathBuf),
    Spectrum(Spectrum),
}

struct Request {
    config: ImpedanceConfig,
    source: Source,
    solver: SolverChoice,
    adapter: Option<String>,
    tol: f64,
    max_iterations: usize,
    max_memory_gib: f64,
    out: Option<PathBuf>,
    overwrite: bool,
}

fn gpu_solver(r: &Request) -> anyhow::Result<(Box<dyn FrequencySolver>, Option<String>)> {
    use lipf_impedance::gpu::{AdapterRequest, GpuCocg};
    let mut g = GpuCocg::new(&AdapterRequest {
        allow_software: true,
        name_contains: r.adapter.clone(),
    })?;
    g.tol = r.tol;
    g.max_iter = r.max_iterations;
    let warning = g.adapter().software.then(|| {
        format!(
            "{} is a software adapter: the WGSL solver runs on the CPU; solver=\"cocg\" is faster",
            g.adapter().label()
        )
    });
    Ok((Box::new(g), warning))
}

fn series_json(c: &SeriesCircuit, f: &[f64]) -> serde_json::Value {
    let z = c.spectrum(f);
    json!({
        "circuit": c,
        "dc_resistance_ohm": c.dc_resistance(),
        "z_re": z.iter().map(|z| z.re).collect::<Vec<_>>(),
        "z_im": z.iter().map(|z| z.im).collect::<Vec<_>>(),
    })
}

fn compute(r: Request) -> anyhow::Result<serde_json::Value> {
    let c = &r.config;
    validate_krylov_settings(r.tol, r.max_iterations).map_err(|e| {
        anyhow::anyhow!(
            "{e} (`tol` {:e}, `max_iterations` {})",
            r.tol,
            r.max_iterations
        )
    })?;
    let budget = MemoryBudget::new(r.max_memory_gib).map_err(|e| anyhow::anyhow!(e))?;
    let msi = c.materials.si();
    let mut summary = json!({ "config": c });
    let mut warnings: Vec<String> = Vec::new();
    let mut inputs: Vec<PathBuf> = Vec::new();

    let (spectrum, model_1d, name) = match r.source {
        Source::Csv(ref p) => {
            let s = lipf_impedance::io::read_spectrum_csv_file(p)?;
            check_analysis_size(s.len() as f64)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            summary["input"] = json!({ "csv": p.display().to_string() });
            inputs.push(p.clone());
            (s, None, outdir::file_name(p))
        }
        Source::Spectrum(ref s) => {
            check_analysis_size(s.len() as f64).map_err(|e| anyhow::anyhow!("spectrum: {e}"))?;
            summary["input"] = json!({ "description": "a given spectrum" });
            (s.clone(), None, c.name.clone())
        }
        ref src => {
            check_analysis_size(c.sweep.count()).map_err(|e| anyhow::anyhow!("sweep: {e}"))?;
            let mem = r.solver.memory();
            let (structure, what, name, is_model) = match src {
                Source::Model => {
                    let n = c.structure.voxels;
                    budget
                        .check(
                            &format!("the model structure of {n} × {n} × {n} voxels"),
                            network_memory_bytes(n, n, n, mem),
                        )
                        .map_err(|e| anyhow::anyhow!(e))?;
                    let s = Structure::model_structure(&c.structure, &msi);
                    let what = format!(
                        "model structure: {} µm cube, {}³ voxels, contact {:.1} % (asked {:.1} %), {} grain-boundary layers",
                        c.structure.edge_um,
                        c.structure.voxels,
                        100.0 * s.contact_fraction(),
                        100.0 * c.structure.contact_area_fraction,
                        s.gb_layers_total()
                    );
                    (s, what, c.name.clone(), true)
                }
                Source::VoxelFile(p, size) => {
                    let v = lipf_impedance::io::read_voxel_file(p, &budget, mem)?;
                    let um = size.unwrap_or(v.voxel_size_um);
                    if !(um.is_finite() && um > 0.0) {
                        anyhow::bail!("voxel size {um} µm must be a finite length > 0");
                    }
                    let s = Structure::from_codes(v.nx, v.ny, v.nz, um_to_m(um), v.codes, &msi)
                        .map_err(|e| anyhow::anyhow!("voxel file {}: {e}", p.display()))?;
                    inputs.push(p.clone());
                    (
                        s,
                        format!("voxel file {}", p.display()),
                        outdir::file_name(p),
                        false,
                    )
                }
                Source::Voxels {
                    nx,
                    ny,
                    nz,
                    voxel_size_um,
                    codes,
                } => {
                    budget
                        .check(
                            &format!("the structure of {nx} × {ny} × {nz} voxels"),
                            network_memory_bytes(*nx, *ny, *nz, mem),
                        )
                        .map_err(|e| anyhow::anyhow!(e))?;
                    if !(voxel_size_um.is_finite() && *voxel_size_um > 0.0) {
                        anyhow::bail!(
                            "voxel_size_um = {voxel_size_um}: must be a finite length > 0"
                        );
                    }
                    let s = Structure::from_codes(
                        *nx,
                        *ny,
                        *nz,
                        um_to_m(*voxel_size_um),
                        codes.clone(),
                        &msi,
                    )
                    .map_err(|e| anyhow::anyhow!("voxels: {e}"))?;
                    (s, "voxel array".to_string(), c.name.clone(), false)
                }
                Source::Fields(p, snapshot) => {
                    let (s, name) =
                        lipf_impedance::io::phase_field_structure(p, snapshot, &budget, mem, &msi)?;
                    inputs.push(p.clone());
                    summary["snapshot"] = json!(name);
                    (
                        s,
                        format!("snapshot {name} of {}", p.display()),
                        outdir::fields_name(p, &name),
                        false,
                    )
                }
                Source::Csv(_) | Source::Spectrum(_) => unreachable!(),
            };
            let net = Network::build(&structure, &msi)?;
            let f = c.sweep.frequencies_hz();
            let mut solver: Box<dyn FrequencySolver> = match r.solver {
                SolverChoice::Direct => cpu_solver(None, r.tol, r.max_iterations),
                SolverChoice::Cocg => cpu_solver(Some(KrylovMethod::Cocg), r.tol, r.max_iterations),
                SolverChoice::Cocr => cpu_solver(Some(KrylovMethod::Cocr), r.tol, r.max_iterations),
                SolverChoice::Gpu => {
                    let (s, w) = gpu_solver(&r)?;
                    warnings.extend(w);
                    s
                }
            };
            let (spec, report) = sweep(&net, &f, solver.as_mut(), |_, _, _| {})?;
            summary["input"] = json!({
                "description": what,
                "phase_counts": structure.counts(),
                "nx": structure.nx,
                "ny": structure.ny,
                "nz": structure.nz,
                "voxel_size_um": m_to_um(structure.voxel_m),
                "contact_fraction": structure.contact_fraction(),
                "grain_boundary_layers": structure.gb_layers_total(),
            });
            summary["network"] = serde_json::to_value(&net.info)?;
            summary["solver"] = serde_json::to_value(&report)?;
            let pm = is_model.then(|| one_d_physical_model(&structure, &msi));
            (spec, pm, name)
        }
    };
    spectrum
        .validate()
        .map_err(|e| anyhow::anyhow!("the spectrum cannot be analysed: {e}"))?;
    let Analyses { kk, drt: d, fit } = analyse(&spectrum, &c.analysis);
    let analysis = Analysis {
        spectrum: &spectrum,
        model_1d: model_1d.as_ref(),
        fit: fit.as_ref(),
        kk: Some(&kk),
        drt: Some(&d),
    };
    check_finite_outputs(&analysis)?;
    summary["kk"] = json!({ "m": kk.m, "mu": kk.mu, "max_abs_residual": kk.max_abs_residual });
    summary["drt"] =
        json!({ "lambda": d.lambda, "lambda_from_gcv": d.lambda_from_gcv, "peaks": d.peaks });
    summary["fit"] = serde_json::to_value(&fit)?;
    summary["model_1d"] = serde_json::to_value(&model_1d)?;
    summary["lipf_version"] = json!(lipf_core::VERSION);
    if let Some(out) = &r.out {
        let inputs: Vec<&Path> = inputs.iter().map(|p| p.as_path()).collect();
        outdir::check(out, r.overwrite, &inputs)?;
        outdir::prepare(out, r.overwrite)?;
        lipf_io::atomic::write_atomic(
            &out.join("impedance.csv"),
            impedance_csv(&analysis)?.as_bytes(),
        )?;
        if let Some(fit) = &fit {
            lipf_io::atomic::write_atomic(
                &out.join("fit.md"),
                fit_table(fit, model_1d.as_ref()).as_bytes(),
            )?;
        }
        lipf_impedance::io::write_h5(
            &out.join("impedance.h5"),
            &analysis,
            &serde_json::to_string(c)?,
        )?;
        write_plots(out, &analysis, &name)?;
        lipf_io::atomic::write_atomic(
            &out.join("summary.json"),
            serde_json::to_string_pretty(&summary)?.as_bytes(),
        )?;
    }
    let f = &spectrum.f_hz;
    let mut result = summary;
    result["name"] = json!(name);
    result["warnings"] = json!(warnings);
    result["f_hz"] = json!(f);
    result["z_re"] = json!(spectrum.z.iter().map(|z| z.re).collect::<Vec<_>>());
    result["z_im"] = json!(spectrum.z.iter().map(|z| z.im).collect::<Vec<_>>());
    result["kk"] = serde_json::to_value(&kk)?;
    result["drt"] = serde_json::to_value(&d)?;
    result["fit"] = match &fit {
        Some(fit) => {
            let mut v = series_json(&fit.circuit, f);
            v["chi2"] = json!(fit.chi2);
            v["rms_relative"] = json!(fit.rms_relative);
            v["iterations"] = json!(fit.iterations);
            v
        }
        None => serde_json::Value::Null,
    };
    result["model_1d"] = match &model_1d {
        Some(m) => series_json(m, f),
        None => serde_json::Value::Null,
    };
    result["out"] = json!(r.out.as_ref().map(|p| p.display().to_string()));
    Ok(result)
}

/// Computes (or analyses) an impedance spectrum as `lipf impedance` does and returns the
/// results as JSON: `f_hz`, `z_re`, `z_im` (Ω), `kk` (the lin-KK test), `drt`, `fit` and
/// `model_1d` (with their spectra `z_re`/`z_im` at `f_hz`), `input`, `network`, `solver`,
/// `config` (resolved) and `name`.
///
/// `config_json`: the impedance configuration (missing fields take their defaults). `source`
/// picks the structure: `"model"` (the configuration's model structure), `"voxel_file"`
/// (`path`, with `voxel_size_um` overriding its attribute), `"voxels"` (`codes`: u8 bytes of
/// `shape` (nz, ny, nx), x fastest, with `voxel_size_um`), `"fields"` (`path`: a fields.h5,
/// with `snapshot`), `"csv"` (`path`: a measured spectrum) or `"spectrum"` (`f_hz`, `z_re`,
/// `z_im`). With `out`, the files of `lipf impedance --out` are written there as well.
#[pyfunction]
#[pyo3(signature = (config_json=None, source="model", path=None, codes=None, shape=None,
                    voxel_size_um=None, snapshot="last", f_hz=None, z_re=None, z_im=None,
                    solver="cocg", adapter=None, tol=1e-10, max_iterations=200_000,
                    max_memory_gib=16.0, out=None, overwrite=false))]
#[allow(clippy::too_many_arguments)]
pub fn impedance(
    py: Python<'_>,
    config_json: Option<&str>,
    source: &str,
    path: Option<PathBuf>,
    codes: Option<Bound<'_, PyBytes>>,
    shape: Option<(usize, usize, usize)>,
    voxel_size_um: Option<f64>,
    snapshot: &str,
    f_hz: Option<Vec<f64>>,
    z_re: Option<Vec<f64>>,
    z_im: Option<Vec<f64>>,
    solver: &str,
    adapter: Option<String>,
    tol: f64,
    max_iterations: usize,
    max_memory_gib: f64,
    out: Option<PathBuf>,
    overwrite: bool,
) -> PyResult<String> {
    let config = match config_json {
        Some(t) => ImpedanceConfig::from_json_str(t),
        None => Ok(ImpedanceConfig::default()),
    }
    .map_err(|e| crate::ConfigError::new_err(format!("impedance configuration: {e}")))?;
    let need_path = |what: &str| {
        path.clone()
            .ok_or_else(|| PyValueError::new_err(format!("source {what:?} needs `path`")))
    };
    let source = match source {
        "model" => Source::Model,
        "voxel_file" => Source::VoxelFile(need_path(source)?, voxel_size_um),
        "fields" => Source::Fields(need_path(source)?, snapshot.to_string()),
        "csv" => Source::Csv(need_path(source)?),
        "voxels" => {
            let (codes, (nz, ny, nx)) = codes.zip(shape).ok_or_else(|| {
                PyValueError::new_err("source \"voxels\" needs `codes` and `shape`")
            })?;
            Source::Voxels {
                nx,
                ny,
                nz,
                voxel_size_um: voxel_size_um.ok_or_else(|| {
                    PyValueError::new_err("source \"voxels\" needs `voxel_size_um`")
                })?,
                codes: codes.as_bytes().to_vec(),
            }
        }
        "spectrum" => {
            let (f, (re, im)) = f_hz.zip(z_re.zip(z_im)).ok_or_else(|| {
                PyValueError::new_err("source \"spectrum\" needs `f_hz`, `z_re` and `z_im`")
            })?;
            if f.len() != re.len() || f.len() != im.len() {
                return Err(PyValueError::new_err(format!(
                    "{} frequencies, {} real and {} imaginary parts",
                    f.len(),
                    re.len(),
                    im.len()
                )));
            }
            let z = re.iter().zip(&im).map(|(&a, &b)| C64::new(a, b)).collect();
            Source::Spectrum(Spectrum::new(f, z))
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "source = {other:?}: expected \"model\", \"voxel_file\", \"voxels\", \"fields\", \
                 \"csv\" or \"spectrum\""
            )))
        }
    };
    let request = Request {
        config,
        source,
        solver: SolverChoice::parse(solver)?,
        adapter,
        tol,
        max_iterations,
        max_memory_gib,
        out,
        overwrite,
    };
    let result = py.detach(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compute(request)))
    });
    let result =
        crate::unwrap_outcome(result)?.map_err(|e| LipfError::new_err(format!("{e:#}")))?;
    serde_json::to_string(&result).map_err(|e| LipfError::new_err(e.to_string()))
}
