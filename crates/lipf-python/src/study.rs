//! `lipf.study`: the cases of a study run in this process, as `lipf study` (docs/study.md).
//!
//! The steps are those of `lipf::study::run_study` (resolve and check every case, prepare the
//! study folder, write `study.json` and `configs/`, run the cases on one pool of `jobs`
//! threads, write the report), except that no process-wide signal handlers are installed: the
//! Python layer keeps Ctrl-C, which raises the study's stop flag (every running case stops
//! after its step with a checkpoint, cases not started are skipped) and is raised afterwards.

use crate::{backend_choice, config_error, run_error, run_polled, unwrap_outcome, LipfError};
use anyhow::{bail, Context};
use lipf::backend_select::BackendSelection;
use lipf::study::Study;
use lipf_core::StopFlag;
use pyo3::exceptions::PyBaseException;
use pyo3::prelude::*;
use serde_json::json;
use std::path::PathBuf;

/// Parses a study (JSON, comments allowed) with the checks of `Study::from_file`; `origin`
/// names it in messages.
fn parse_study(text: &str, origin: &str) -> anyhow::Result<Study> {
    let text = lipf_core::config::strip_json_comments(text);
    let de = &mut serde_json::Deserializer::from_str(&text);
    let s: Study = serde_path_to_error::deserialize(de)
        .map_err(|e| anyhow::anyhow!("study {origin} at `{}`: {}", e.path(), e))?;
    if s.cases.is_empty() {
        bail!("study {origin} has no cases");
    }
    lipf_core::config::validate_name(&s.name)
        .with_context(|| format!("study {origin} at `name`"))?;
    let mut names = std::collections::HashSet::new();
    for (k, c) in s.cases.iter().enumerate() {
        lipf_core::config::validate_name(&c.name)
            .with_context(|| format!("study {origin} at `cases[{k}].name`"))?;
        if !names.insert(c.name.clone()) {
            bail!("study {origin}: case name {:?} appears twice", c.name);
        }
    }
    Ok(s)
}

/// Resolves a study without running it: `(study_json, [config_json, ...])`, the study as read
/// and the complete configuration of every case. Raises `ConfigError` for an invalid case.
fn resolve(study: &Study) -> anyhow::Result<Vec<lipf_core::Config>> {
    let configs = study.configs()?;
    for c in &configs {
        lipf_core::estimate::check_config(c).with_context(|| format!("case `{}`", c.name))?;
    }
    Ok(configs)
}

/// Runs a study into `out_dir` (`study.json`, `configs/`, `runs/<case>/`, `report/`, as
/// `lipf study --out`) and returns `(result_json, interrupt)`. `result_json` holds `study`
/// (as read), `configs` (each case's resolved configuration), `outcomes` (per case: `name`,
/// `completed`, `wall_time_s` or `error`) and `report_error` (why the report could not be
/// written, or null). `interrupt` is the exception (KeyboardInterrupt, or one of `progress`)
/// that stopped the study, for the caller to raise. With `dry_run` nothing is run or written:
/// the result holds `study` and `configs` only.
#[pyfunction]
#[pyo3(signature = (study_text, origin, out_dir, jobs=1, backend="cpu", adapter=None,
                    overwrite=false, progress=None, poll_interval_s=0.1, dry_run=false))]
#[allow(clippy::too_many_arguments)]
pub fn study(
    py: Python<'_>,
    study_text: &str,
    origin: &str,
    out_dir: PathBuf,
    jobs: usize,
    backend: &str,
    adapter: Option<String>,
    overwrite: bool,
    progress: Option<Bound<'_, PyAny>>,
    poll_interval_s: f64,
    dry_run: bool,
) -> PyResult<(String, Option<Py<PyBaseException>>)> {
    let sel = BackendSelection {
        choice: backend_choice(backend)?,
        adapter,
    };
    let study = parse_study(study_text, origin).map_err(|e| run_error(py, &e))?;
    let configs = resolve(&study).map_err(|e| {
        let msg = format!("{e:#}");
        match e
            .chain()
            .find_map(|c| c.downcast_ref::<lipf_core::ConfigError>())
        {
            Some(ce) => config_error(py, ce, msg),
            None => LipfError::new_err(msg),
        }
    })?;
    let configs_json: Vec<serde_json::Value> = configs
        .iter()
        .map(|c| serde_json::from_str(&c.to_json_pretty()).unwrap_or(serde_json::Value::Null))
        .collect();
    if dry_run {
        let out = json!({ "study": &study, "configs": configs_json });
        return Ok((out.to_string(), None));
    }
    let stop = StopFlag::new();
    let worker_stop = stop.clone();
    let dir = out_dir.clone();
    let work = move || -> anyhow::Result<serde_json::Value> {
        let (outcomes, report) =
            lipf::study::run_study_with(&study, &dir, jobs, true, &sel, overwrite, &worker_stop)?;
        let outcomes: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| match &o.result {
                Ok(w) => json!({ "name": o.name, "completed": true, "wall_time_s": w }),
                Err(e) => json!({ "name": o.name, "completed": false, "error": e }),
            })
            .collect();
        let report_error = report.err().map(|e| format!("{e:#}"));
        Ok(json!({
            "study": &study,
            "configs": configs_json,
            "outcomes": outcomes,
            "report_error": report_error,
        }))
    };
    let (outcome, interrupt) = run_polled(
        py,
        "lipf-study",
        crate::poll_duration(poll_interval_s),
        progress.as_ref(),
        &stop,
        work,
    );
    match unwrap_outcome(outcome)? {
        Ok(v) => Ok((v.to_string(), interrupt.map(|e| e.into_value(py)))),
        Err(e) => {
            let err = run_error(py, &e);
            if let Some(cause) = interrupt {
                err.set_cause(py, Some(cause));
            }
            Err(err)
        }
    }
}
