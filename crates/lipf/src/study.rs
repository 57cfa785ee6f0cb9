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

use anyhow::{bail, Context, Result};
use lipf_core::config::ControlMode;
use lipf_core::{Config, StopFlag};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
    pub set: Value,
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
    pub base: Value,
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
        let de = &mut serde_json::Deserializer::from_str(&text);
        let s: Study = serde_path_to_error::deserialize(de)
            .map_err(|e| anyhow::anyhow!("study {} at `{}`: {}", path.display(), e.path(), e))?;
        if s.cases.is_empty() {
            bail!("study {} has no cases", path.display());
        }
        let mut names = std::collections::HashSet::new();
        for c in &s.cases {
            if c.name.is_empty()
                || !c
                    .name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            {
                bail!(
                    "case name {:?} must be non-empty and use only letters, digits, '-', '_', '.'",
                    c.name
                );
            }
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
                let mut v = if self.base.is_null() {
                    Value::Object(Default::default())
                } else {
                    self.base.clone()
                };
                merge(&mut v, &case.set);
                v["name"] = Value::String(case.name.clone());
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
                    if !(cap > 0.0) {
                        bail!("case `{}`: until_capacity_mah_cm2 must be > 0", case.name);
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
/// `jobs` threads, which the kernels of the runs share), then writes the report.
pub fn run_study(study: &Study, dir: &Path, jobs: usize, quiet: bool) -> Result<Vec<CaseOutcome>> {
    use rayon::prelude::*;
    let configs = study.configs()?;
    write_layout(dir, study, &configs)?;
    let stop = StopFlag::new();
    let s2 = stop.clone();
    let _ = ctrlc::set_handler(move || s2.stop());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .context("cannot start the worker threads")?;
    let outcomes: Vec<CaseOutcome> = pool.install(|| {
        configs
            .par_iter()
            .map(|c| {
                if !quiet {
                    eprintln!("case {}: running to t = {} s", c.name, c.time.end_time_s);
                }
                let t0 = std::time::Instant::now();
                let r = crate::run(crate::RunOptions {
                    config: c.clone(),
                    out_dir: dir.join("runs").join(&c.name),
                    resume: None,
                    quiet: true,
                    stop: stop.clone(),
                    stop_after_steps: None,
                });
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
    crate::report::write_report(dir)?;
    Ok(outcomes)
}

/// Writes the study layout plus `cases.txt` and a SLURM job-array script `submit.slurm` that
/// runs case k of the array with `lipf run configs/<case>.json --out runs/<case>`; afterwards
/// `lipf study collect DIR` builds the report.
pub fn emit_jobs(study: &Study, dir: &Path) -> Result<PathBuf> {
    let configs = study.configs()?;
    write_layout(dir, study, &configs)?;
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    lipf_io::atomic::write_atomic(&dir.join("cases.txt"), (names.join("\n") + "\n").as_bytes())?;
    let script = format!(
        r#"#!/bin/bash
# lipf study `{name}`: one array task per case ({n} cases). Submit from this folder:
#   sbatch submit.slurm
# then build the report:
#   lipf study collect .
# Adjust the resources to your cluster; each case is one `lipf run`.
#SBATCH --job-name=lipf-{name}
#SBATCH --array=0-{last}
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
#SBATCH --output=runs/%x-%a.log

set -euo pipefail
cd "${{SLURM_SUBMIT_DIR:-.}}"
LIPF="${{LIPF:-lipf}}"
CASE=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" cases.txt)
mkdir -p runs
export RAYON_NUM_THREADS="${{SLURM_CPUS_PER_TASK:-4}}"
exec "$LIPF" run "configs/$CASE.json" --out "runs/$CASE" --quiet
"#,
        name = study.name,
        n = names.len(),
        last = names.len() - 1
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
