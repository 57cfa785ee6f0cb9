//! `lipf study STUDY [--out DIR] [--jobs N] [--emit-jobs DIR]` and `lipf study collect DIR`
//! (docs/study.md).

use crate::backend_select::BackendSelection;
use crate::study::{self, Study};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Runs a study (or, with `emit`, writes its job files) and builds the report.
pub fn study_command(
    spec: &Path,
    out: Option<PathBuf>,
    jobs: usize,
    emit: Option<PathBuf>,
    quiet: bool,
    sel: &BackendSelection,
    overwrite: bool,
) -> Result<()> {
    let s = Study::from_file(spec)?;
    if let Some(dir) = emit {
        let script = study::emit_jobs(&s, &dir, sel.choice, overwrite)?;
        println!(
            "wrote {} case configuration(s) to {}, the job array {} and cases.txt;\n\
             submit with `cd {} && sbatch submit.slurm`, then `lipf study collect {}`",
            s.cases.len(),
            dir.join("configs").display(),
            script.display(),
            dir.display(),
            dir.display()
        );
        return Ok(());
    }
    let dir = out.unwrap_or_else(|| PathBuf::from("runs").join(format!("study-{}", s.name)));
    let outcomes = study::run_study(&s, &dir, jobs, quiet, sel, overwrite)?;
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(|e| format!("{}: {e}", o.name)))
        .collect();
    println!("report: {}", dir.join("report").join("report.md").display());
    if !failed.is_empty() {
        bail!("{} case(s) failed:\n{}", failed.len(), failed.join("\n"));
    }
    Ok(())
}

/// Builds the report of a study folder from its finished runs.
pub fn collect_command(dir: &Path) -> Result<()> {
    let missing = crate::report::write_report(dir)?;
    println!("report: {}", dir.join("report").join("report.md").display());
    if !missing.is_empty() {
        bail!(
            "{} case(s) missing or unfinished (the report covers the others):\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
    Ok(())
}
