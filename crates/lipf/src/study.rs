//! Studies: a list of cases (configurations that differ from a common base), run with the
//! same driver as `lipf run`, and a report that compares them (docs/study.md).
//!
//! A study folder holds
//!
//! ```text
//! study.json          the study as resolved (base, cases, end of each case)
//! configs/<case>.json the complete configuration of every case
//! runs/<case>/        the run outputs (as `lipf run --out runs/<case>`)
//! report/             the report (see crate::report)
//! cases.txt, submit.slurm   with --emit-jobs: one line per case, a SLURM job array
//! ```

use crate::backend_select::BackendSelection;
use anyhow::{bail, Context, Result};
use lipf_core::config::ControlMode;
use lipf_core::{Config, StopFlag};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// C/m² per mAh/cm².
pub const C_M2_PER_MAH_CM2: f64 = 36.0e3;

/// One case of a study.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Name of the case: its run folder and configuration name.
    pub name: String,
    /// Label in plots and tables (default: the name).
    #[serde(default)]
    pub label: Option<String>,
    /// Configuration fields that differ from the study's base (same layout as a configuration).
    #[serde(default)]
    pub set: Map<String, Value>,
    /// End of this case (overrides the study's).
    #[serde(default)]
    pub end_time_s: Option<f64>,
    #[serde(default)]
    pub until_capacity_mah_cm2: Option<f64>,
}

/// A study file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Study {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Configuration shared by all cases (only what differs from lipf's defaults).
    #[serde(default)]
    pub base: Map<String, Value>,
    /// End of every case: a simulated time, or the areal capacity plated (galvanostatic cases;
    /// converted to a time with the applied current density). Without either, the
    /// configuration's `time.end_time_s` is used.
    #[serde(default)]
    pub end_time_s: Option<f64>,
    #[serde(default)]
    pub until_capacity_mah_cm2: Option<f64>,
    pub cases: Vec<Case>,
}

impl Case {
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.name.clone())
    }
}

/// Merges `over` into `base` (objects field by field, everything else replaced).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) if !o.is_null() => *b = o.clone(),
        _ => {}
    }
}

impl Study {
    pub fn from_file(path: &Path) -> Result<Study> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read study {}", path.display()))?;
        let text = lipf_core::config::strip_json_comments(&text);
        let de = &mut serde_json::Deserializer::from_str(&text);
        let mut s: Study = serde_path_to_error::deserialize(de)
            .map_err(|e| anyhow::anyhow!("study {} at `{}`: {}", path.display(), e.path(), e))?;
        // A relative image path names a file beside the study, wherever lipf runs (as in a
        // configuration file).
        let dir = path.parent().unwrap_or(Path::new(""));
        for set in std::iter::once(&mut s.base).chain(s.cases.iter_mut().map(|c| &mut c.set)) {
            if let Some(image) = set
                .get_mut("geometry")
                .and_then(|g| g.get_mut("image_path"))
            {
                if let Some(rel) = image.as_str().filter(|p| Path::new(p).is_relative()) {
                    let joined = dir.join(rel);
                    let abs = std::path::absolute(&joined).unwrap_or(joined);
                    *image = Value::String(abs.display().to_string());
                }
            }
        }
        if s.cases.is_empty() {
            bail!("study {} has no cases", path.display());
        }
        lipf_core::config::validate_name(&s.name)
            .with_context(|| format!("study {} at `name`", path.display()))?;
        let mut names = std::collections::HashSet::new();
        for (k, c) in s.cases.iter().enumerate() {
            lipf_core::config::validate_name(&c.name)
                .with_context(|| format!("study {} at `cases[{k}].name`", path.display()))?;
            if !names.insert(c.name.clone()) {
                bail!("case name {:?} appears twice", c.name);
            }
        }
        Ok(s)
    }

    /// The complete, validated configuration of every case, with its end time resolved.
    pub fn configs(&self) -> Result<Vec<Config>> {
        self.cases
            .iter()
            .map(|case| {
                let mut v = Value::Object(self.base.clone());
                merge(&mut v, &Value::Object(case.set.clone()));
                if let Value::Object(m) = &mut v {
                    m.insert("name".into(), Value::String(case.name.clone()));
                }
                let mut c = Config::from_json_str(&v.to_string())
                    .with_context(|| format!("case `{}`", case.name))?;
                let cap = case.until_capacity_mah_cm2.or(self.until_capacity_mah_cm2);
                let end = case.end_time_s.or(self.end_time_s);
                if let Some(cap) = cap.filter(|_| case.end_time_s.is_none()) {
                    if c.control.mode != ControlMode::Galvanostatic {
                        bail!(
                            "case `{}`: until_capacity_mah_cm2 needs galvanostatic control",
                            case.name
                        );
                    }
                    if !(cap.is_finite() && cap > 0.0) {
                        bail!(
                            "case `{}`: until_capacity_mah_cm2 = {cap} must be a finite number > 0",
                            case.name
                        );
                    }
                    c.time.end_time_s =
                        cap * C_M2_PER_MAH_CM2 / c.control.current_density_a_m2.abs();
                } else if let Some(t) = end {
                    c.time.end_time_s = t;
                }
                c.validate()
                    .with_context(|| format!("case `{}`", case.name))?;
                Ok(c)
            })
            .collect()
    }
}

/// Writes `study.json` and `configs/<case>.json` into `dir`.
pub fn write_layout(dir: &Path, study: &Study, configs: &[Config]) -> Result<()> {
    std::fs::create_dir_all(dir.join("configs"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    lipf_io::atomic::write_atomic(
        &dir.join("study.json"),
        serde_json::to_string_pretty(study)?.as_bytes(),
    )?;
    for c in configs {
        lipf_io::atomic::write_atomic(
            &dir.join("configs").join(format!("{}.json", c.name)),
            c.to_json_pretty().as_bytes(),
        )?;
    }
    Ok(())
}

/// Outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub name: String,
    pub result: Result<f64, String>,
}

/// Runs every case into `dir/runs/<case>` with `jobs` cases at a time (all on one pool of
/// `jobs` threads, which the kernels of the runs share), then writes the report. SIGINT and
/// SIGTERM stop the cases with checkpoints ([`crate::signals`]).
///
/// A study folder that already holds files is refused unless `overwrite` (which clears it).
pub fn run_study(
    study: &Study,
    dir: &Path,
    jobs: usize,
    quiet: bool,
    sel: &BackendSelection,
    overwrite: bool,
) -> Result<Vec<CaseOutcome>> {
    let stop = StopFlag::new();
    crate::signals::install(stop.clone()).context("cannot install signal handlers")?;
    let (outcomes, report) = run_study_with(study, dir, jobs, quiet, sel, overwrite, &stop)?;
    report?;
    Ok(outcomes)
}

/// [`run_study`] stopped by `stop` instead of signals (for embedding, e.g. the Python
/// package): cases not yet started when `stop` is raised are reported as not started. Returns
/// the outcomes and the result of writing the report.
pub fn run_study_with(
    study: &Study,
    dir: &Path,
    jobs: usize,
    quiet: bool,
    sel: &BackendSelection,
    overwrite: bool,
    stop: &StopFlag,
) -> Result<(Vec<CaseOutcome>, Result<Vec<String>>)> {
    use rayon::prelude::*;
    let configs = study.configs()?;
    for c in &configs {
        lipf_core::estimate::check_config(c).with_context(|| format!("case `{}`", c.name))?;
    }
    crate::run::prepare_fresh_dir(dir, overwrite)?;
    write_layout(dir, study, &configs)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .context("cannot start the worker threads")?;
    let outcomes: Vec<CaseOutcome> = pool.install(|| {
        configs
            .par_iter()
            .map(|c| {
                if stop.is_stopped() {
                    return CaseOutcome {
                        name: c.name.clone(),
                        result: Err("not started (the study was interrupted)".into()),
                    };
                }
                if !quiet {
                    eprintln!("case {}: running to t = {} s", c.name, c.time.end_time_s);
                }
                let t0 = std::time::Instant::now();
                let r = crate::run::run_on(
                    crate::RunOptions {
                        config: c.clone(),
                        out_dir: dir.join("runs").join(&c.name),
                        resume: None,
                        overwrite: false,
                        quiet: true,
                        stop: stop.clone(),
                        stop_after_steps: None,
                    },
                    sel,
                );
                let result = match r {
                    Ok(s) if s.completed => Ok(t0.elapsed().as_secs_f64()),
                    Ok(s) => Err(format!("stopped at t = {} s", s.final_time_s)),
                    Err(e) => Err(format!("{e:#}")),
                };
                if !quiet {
                    match &result {
                        Ok(w) => eprintln!("case {}: done in {w:.1} s", c.name),
                        Err(e) => eprintln!("case {}: FAILED: {e}", c.name),
                    }
                }
                CaseOutcome {
                    name: c.name.clone(),
                    result,
                }
            })
            .collect()
    });
    let report = crate::report::write_report(dir);
    Ok((outcomes, report))
}

/// Slurm's `--time` for a wall time in seconds (D-HH:MM:SS).
fn slurm_time(seconds: f64) -> String {
    let s = seconds.clamp(600.0, 365.0 * 86400.0).ceil() as u64;
    format!(
        "{}-{:02}:{:02}:{:02}",
        s / 86400,
        (s % 86400) / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

/// Writes the study layout plus `cases.txt`, the log folder `runs/` and a SLURM job-array
/// script `submit.slurm`. Array task k runs case k: `lipf run configs/<case>.json --out
/// runs/<case>`, or, when an earlier attempt left a checkpoint, resumes it (a case whose
/// `summary.json` says completed is skipped). The script asks for the time and memory the
/// estimate of the largest case needs (with margin), a GPU with `backend` gpu, and SIGTERM two
/// minutes before the time limit, so the run checkpoints and the task can be resubmitted.
/// Afterwards `lipf study collect DIR` builds the report. An existing folder is refused unless
/// `overwrite`.
pub fn emit_jobs(
    study: &Study,
    dir: &Path,
    backend: crate::backend_select::BackendChoice,
    overwrite: bool,
) -> Result<PathBuf> {
    use crate::backend_select::BackendChoice;
    let configs = study.configs()?;
    let mut wall_s = 0.0f64;
    let mut mem_bytes = 0.0f64;
    for c in &configs {
        let e =
            lipf_core::estimate::check_config(c).with_context(|| format!("case `{}`", c.name))?;
        wall_s = wall_s.max(e.wall_time_s);
        mem_bytes = mem_bytes.max(e.memory_bytes);
    }
    crate::run::prepare_fresh_dir(dir, overwrite)?;
    write_layout(dir, study, &configs)?;
    // Slurm opens the log (runs/%x-%a.log) before the script starts: the folder must exist.
    std::fs::create_dir_all(dir.join("runs"))
        .with_context(|| format!("cannot create {}", dir.join("runs").display()))?;
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    lipf_io::atomic::write_atomic(&dir.join("cases.txt"), (names.join("\n") + "\n").as_bytes())?;
    let (gres, backend_arg) = match backend {
        BackendChoice::Cpu => ("", ""),
        BackendChoice::Auto => ("", " --backend auto"),
        BackendChoice::Gpu => ("#SBATCH --gres=gpu:1\n", " --backend gpu"),
    };
    let mem_mib = (mem_bytes * 1.5 / (1024.0 * 1024.0)).ceil() as u64 + 1024;
    let script = format!(
        r#"#!/bin/bash
# lipf study `{name}`: one array task per case ({n} cases). Submit from this folder:
#   sbatch submit.slurm
# then build the report:
#   lipf study collect .
# Each case is one `lipf run`. Time and memory are twice lipf's estimate for the largest case
# (time at the CPU backend's reference rate; adjust to your cluster). At the time limit the
# run receives SIGTERM, writes a checkpoint and exits 143; submitting again resumes every
# unfinished case from its checkpoint and skips the finished ones.
#SBATCH --job-name=lipf-{name}
#SBATCH --array=0-{last}
#SBATCH --cpus-per-task=4
#SBATCH --time={time}
#SBATCH --mem={mem_mib}M
#SBATCH --signal=B:TERM@120
#SBATCH --output=runs/%x-%a.log
{gres}
set -euo pipefail
cd "${{SLURM_SUBMIT_DIR:-.}}"
LIPF="${{LIPF:-lipf}}"
CASE=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" cases.txt)
if [ -z "$CASE" ]; then
  echo "no case for array index $SLURM_ARRAY_TASK_ID in cases.txt" >&2
  exit 1
fi
mkdir -p runs
export RAYON_NUM_THREADS="${{SLURM_CPUS_PER_TASK:-4}}"
if [ -f "runs/$CASE/summary.json" ] && grep -q '"completed": true' "runs/$CASE/summary.json"; then
  echo "case $CASE is complete (runs/$CASE/summary.json)"
  exit 0
fi
if [ -f "runs/$CASE/checkpoint.h5" ]; then
  exec "$LIPF" run --resume "runs/$CASE/checkpoint.h5" --quiet{backend_arg}
fi
exec "$LIPF" run "configs/$CASE.json" --out "runs/$CASE" --overwrite --quiet{backend_arg}
"#,
        name = study.name,
        n = names.len(),
        last = names.len() - 1,
        time = slurm_time(2.0 * wall_s + 600.0),
    );
    let path = dir.join("submit.slurm");
    lipf_io::atomic::write_atomic(&path, script.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
    }
    Ok(path)
}
