//! `lipf._lipf`: the extension module under the `lipf` Python package (`python/lipf/`).
//!
//! It is a thin layer over the same crates as the command line: configurations are parsed and
//! validated by `lipf_core::Config`, estimated by `lipf_core::estimate`, and run by
//! `lipf::run::run_on`. Values cross the boundary as JSON text (fields as little-endian f64
//! bytes); the Python layer turns them into dicts, numpy arrays and xarray Datasets and adds the
//! user-facing functions (`lipf.run`, `lipf.check`, `lipf.load`, `lipf.geometry`,
//! `lipf.impedance`, `lipf.study`). `geometry.rs` builds and measures a scaffold
//! (`lipf geometry`), `impedance.rs` runs the impedance sweep and its analyses
//! (`lipf impedance`), `study.rs` runs the cases of a study (`lipf study`).
//!
//! A run (and a study) executes on a thread of its own with the GIL released. The calling thread waits on it
//! and, every `poll_interval_s`, takes the GIL to run Python's signal handlers
//! (`Python::check_signals`) and the progress callback. A KeyboardInterrupt (Ctrl-C in a
//! terminal, "interrupt kernel" in a notebook) raises the run's stop flag: the run finishes its
//! step, writes a checkpoint and `summary.json`, and the exception is handed back to the Python
//! layer, which raises it after the summary is read.

mod geometry;
mod impedance;
mod study;

use lipf::backend_select::{BackendChoice, BackendSelection};
use lipf_core::{Coefficients, Config, StopFlag};
use pyo3::create_exception;
use pyo3::exceptions::PyBaseException;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

create_exception!(
    lipf,
    ConfigError,
    PyValueError,
    "An invalid configuration. The message names the field's path, its value and the allowed \
     range; the attributes `path`, `value` and `allowed` hold them (None where not known)."
);
create_exception!(
    lipf,
    LipfError,
    PyRuntimeError,
    "A run that could not start or that stopped on an error (the message says why and where \
     the outputs are)."
);

/// The Python exception for a configuration error: `ConfigError` with `path`, `value` and
/// `allowed` attributes, or an `OSError` when the file cannot be read.
pub(crate) fn config_error(py: Python<'_>, e: &lipf_core::ConfigError, message: String) -> PyErr {
    use lipf_core::ConfigError as E;
    let (path, value, allowed) = match e {
        E::Io { source, .. } => {
            return if source.kind() == std::io::ErrorKind::NotFound {
                PyFileNotFoundError::new_err(message)
            } else {
                PyOSError::new_err(message)
            };
        }
        E::Parse { path, .. } => (Some(path.clone()), None, None),
        E::Invalid {
            path,
            value,
            allowed,
        } => (
            Some(path.clone()),
            Some(value.clone()),
            Some(allowed.clone()),
        ),
    };
    let err = ConfigError::new_err(message);
    let v = err.value(py);
    // Setting attributes on a fresh exception instance cannot fail in practice; the message
    // carries the same information if it did.
    let _ = v.setattr("path", path);
    let _ = v.setattr("value", value);
    let _ = v.setattr("allowed", allowed);
    err
}

/// The Python exception for an error of the driver: a `ConfigError` when a configuration error
/// is its cause (budgets), else `LipfError`; the message is the whole chain of contexts.
pub(crate) fn run_error(py: Python<'_>, e: &anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    for cause in e.chain() {
        if let Some(ce) = cause.downcast_ref::<lipf_core::ConfigError>() {
            return config_error(py, ce, message);
        }
    }
    LipfError::new_err(message)
}

pub(crate) fn parse_config(py: Python<'_>, json: &str) -> PyResult<Config> {
    Config::from_json_str(json).map_err(|e| config_error(py, &e, e.to_string()))
}

/// The compiled-in default configuration (the paper's 1.5 µm case), as JSON.
#[pyfunction]
fn default_config() -> String {
    Config::default().to_json_pretty()
}

/// Parses and validates a configuration and returns it resolved (every field present) as JSON.
///
/// Exactly one of `text` (a JSON document) and `path` (a configuration file: comments allowed,
/// a relative image path resolved beside it, the file name as the default name) is given;
/// `overrides` are `PATH=VALUE` strings applied before validation, as `lipf run --set`.
#[pyfunction]
#[pyo3(signature = (text=None, path=None, overrides=Vec::new()))]
fn resolve_config(
    py: Python<'_>,
    text: Option<String>,
    path: Option<PathBuf>,
    overrides: Vec<String>,
) -> PyResult<String> {
    let parsed = match (text, path) {
        (Some(text), None) => {
            let text = if overrides.is_empty() {
                Ok(text)
            } else {
                lipf_core::config::apply_overrides(&text, &overrides)
            };
            text.and_then(|t| Config::from_json_str(&t))
        }
        (None, Some(path)) => Config::from_file_with(&path, &overrides),
        _ => {
            return Err(PyValueError::new_err(
                "give exactly one of `text` and `path`",
            ))
        }
    };
    parsed
        .map(|c| c.to_json_pretty())
        .map_err(|e| config_error(py, &e, e.to_string()))
}

/// What `lipf check` reports, as JSON: the grid, the geometry as built, the derived model
/// coefficients (values and the printed derivation) and the estimate of the run's cost. A
/// configuration that exceeds a budget (`limits`) raises `ConfigError`.
#[pyfunction]
fn check(py: Python<'_>, config_json: &str) -> PyResult<String> {
    let config = parse_config(py, config_json)?;
    let est = lipf_core::estimate::check_config(&config)
        .map_err(|e| config_error(py, &e, e.to_string()))?;
    let out = py.detach(move || {
        let c = Coefficients::from_config(&config);
        let geometry = lipf_core::geometry::build(&config, &c.grid, c.ell_m).info;
        let g = c.grid;
        serde_json::json!({
            "name": config.name,
            "grid": {
                "nx": g.nx,
                "ny": g.ny,
                "cells": g.cells(),
                "dx_um": config.domain.grid_spacing_um,
                "width_um": config.domain.width_um,
                "height_um": config.domain.height_um,
            },
            "geometry": geometry,
            "coefficients": coefficients_json(&c),
            "coefficients_text": c.describe(),
            "estimate": est,
            "limits": config.limits,
            "reference_cell_steps_per_s": lipf_core::estimate::REFERENCE_CELL_STEPS_PER_S,
        })
    });
    serde_json::to_string(&out).map_err(|e| LipfError::new_err(e.to_string()))
}

/// The derived coefficients, SI, under names that carry their units.
fn coefficients_json(c: &Coefficients) -> serde_json::Value {
    serde_json::json!({
        "dx_m": c.grid.dx_m,
        "f_over_rt_per_v": c.f_over_rt_per_v,
        "nf_c_mol": c.nf_c_mol,
        "ell_m": c.ell_m,
        "sharp_double_well": c.sharp_double_well,
        "w1_j_m3": c.w1_j_m3,
        "kappa0_j_m": c.kappa0_j_m,
        "a_cross_j_m3": c.a_cross_j_m3,
        "b_obstacle_j_m3": c.b_obstacle_j_m3,
        "l_sigma_m3_js": c.l_sigma_m3_js,
        "l_eta_per_s": c.l_eta_per_s,
        "anisotropy_strength": c.anisotropy_strength,
        "anisotropy_mode": c.anisotropy_mode,
        "anisotropy_angle_rad": c.anisotropy_angle_rad,
        "alpha": c.alpha,
        "beta": c.beta,
        "cs_mol_m3": c.cs_mol_m3,
        "c0_mol_m3": c.c0_mol_m3,
        "sigma_p_s_m": c.sigma_p_s_m,
        "sigma_e_s_m": c.sigma_e_s_m,
        "sigma_floor_s_m": c.sigma_floor_s_m,
        "d_p_m2_s": c.d_p_m2_s,
        "d_e_m2_s": c.d_e_m2_s,
        "d_max_m2_s": c.d_max_m2_s(),
        "e0_v": c.e0_v,
        "exchange_current_density_a_m2": c.exchange_current_density_a_m2,
        "overpotential": format!("{:?}", c.overpotential),
        "control": format!("{:?}", c.control),
        "target_current_a_m": c.target_current_a_m,
        "cell_voltage_v": c.cell_voltage_v,
        "dt_allen_cahn_s": c.dt_allen_cahn_s(),
        "dt_step_limit_s": c.dt_step_limit_s(),
        "dt_diffusion_s": c.dt_diffusion_s(),
    })
}

pub(crate) fn backend_choice(name: &str) -> PyResult<BackendChoice> {
    match name {
        "cpu" => Ok(BackendChoice::Cpu),
        "auto" => Ok(BackendChoice::Auto),
        "gpu" => Ok(BackendChoice::Gpu),
        other => Err(PyValueError::new_err(format!(
            "backend = {other:?}: expected \"cpu\", \"auto\" or \"gpu\""
        ))),
    }
}

/// What a job run by [`run_polled`] ended with: its result, or the panic that ended it.
pub(crate) type Outcome<T> = std::thread::Result<anyhow::Result<T>>;

/// Runs `work` on a thread of its own with the GIL released. The calling thread waits on it
/// and, every `poll`, takes the GIL to run Python's signal handlers and `progress`; when either
/// raises (a KeyboardInterrupt, or an exception of `progress`), `stop` is raised, so that the
/// work finishes its step and returns, and the exception is returned beside the outcome for the
/// caller to raise once it has read the result.
pub(crate) fn run_polled<T: Send>(
    py: Python<'_>,
    name: &str,
    poll: Duration,
    progress: Option<&Bound<'_, PyAny>>,
    stop: &StopFlag,
    work: impl FnOnce() -> anyhow::Result<T> + Send,
) -> (Outcome<T>, Option<PyErr>) {
    let (tx, rx) = mpsc::channel::<Outcome<T>>();
    // The receiver is waited on with the GIL released: it must be shareable.
    let rx = Mutex::new(rx);
    let mut interrupt: Option<PyErr> = None;
    let outcome: Outcome<T> = std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name(name.into())
            .spawn_scoped(s, move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
                let _ = tx.send(r);
            });
        if let Err(e) = worker {
            return Ok(Err(anyhow::anyhow!("cannot start the worker thread: {e}")));
        }
        loop {
            let got = py.detach(|| {
                rx.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .recv_timeout(poll)
            });
            match got {
                Ok(outcome) => return outcome,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Ok(Err(anyhow::anyhow!(
                        "the worker thread ended without a result"
                    )))
                }
            }
            if interrupt.is_none() {
                let polled = py.check_signals().and_then(|()| match progress {
                    Some(cb) => cb.call0().map(|_| ()),
                    None => Ok(()),
                });
                if let Err(e) = polled {
                    // Finish the step, checkpoint, write the summary; raise afterwards.
                    stop.stop();
                    interrupt = Some(e);
                }
            }
        }
    });
    (outcome, interrupt)
}

/// The result of a job of [`run_polled`]: a panic becomes `LipfError`.
pub(crate) fn unwrap_outcome<T>(outcome: Outcome<T>) -> PyResult<anyhow::Result<T>> {
    outcome.map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        LipfError::new_err(format!("the run failed with an internal error: {what}"))
    })
}

pub(crate) fn poll_duration(poll_interval_s: f64) -> Duration {
    Duration::try_from_secs_f64(poll_interval_s.clamp(0.001, 60.0))
        .unwrap_or(Duration::from_millis(100))
}

/// Runs a simulation into `out_dir` and returns `(summary_json, interrupt)`: the run's summary
/// (`summary.json`) and, when the run was stopped by an exception raised while it ran (a
/// KeyboardInterrupt, or one raised by `progress`), that exception, for the caller to raise
/// once it has read the summary. Errors of the run raise `ConfigError` or `LipfError`.
///
/// `progress` (a callable without arguments) is called from the calling thread every
/// `poll_interval_s` while the run goes on. `stop_after_steps` stops the run (with a
/// checkpoint) after that many steps, as an interruption would.
#[pyfunction]
#[pyo3(signature = (config_json, out_dir, backend="cpu", adapter=None, overwrite=false,
                    quiet=true, progress=None, poll_interval_s=0.1, stop_after_steps=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    config_json: &str,
    out_dir: PathBuf,
    backend: &str,
    adapter: Option<String>,
    overwrite: bool,
    quiet: bool,
    progress: Option<Bound<'_, PyAny>>,
    poll_interval_s: f64,
    stop_after_steps: Option<u64>,
) -> PyResult<(String, Option<Py<PyBaseException>>)> {
    let config = parse_config(py, config_json)?;
    let selection = BackendSelection {
        choice: backend_choice(backend)?,
        adapter,
    };
    let stop = StopFlag::new();
    let opts = lipf::RunOptions {
        config,
        out_dir,
        resume: None,
        overwrite,
        quiet,
        stop: stop.clone(),
        stop_after_steps,
    };
    let (outcome, interrupt) = run_polled(
        py,
        "lipf-run",
        poll_duration(poll_interval_s),
        progress.as_ref(),
        &stop,
        move || lipf::run::run_on(opts, &selection),
    );
    match unwrap_outcome(outcome)? {
        Ok(summary) => {
            let json =
                serde_json::to_string(&summary).map_err(|e| LipfError::new_err(e.to_string()))?;
            Ok((json, interrupt.map(|e| e.into_value(py))))
        }
        Err(e) => {
            let err = run_error(py, &e);
            if let Some(cause) = interrupt {
                err.set_cause(py, Some(cause));
            }
            Err(err)
        }
    }
}

#[pymodule]
fn _lipf(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", lipf_core::VERSION)?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("LipfError", py.get_type::<LipfError>())?;
    m.add_function(wrap_pyfunction!(default_config, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_config, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(geometry::geometry, m)?)?;
    m.add_function(wrap_pyfunction!(impedance::impedance_default_config, m)?)?;
    m.add_function(wrap_pyfunction!(impedance::impedance, m)?)?;
    m.add_function(wrap_pyfunction!(study::study, m)?)?;
    Ok(())
}
