//! Output folders of `lipf impedance`: the default name derived from the input, and the rule
//! that a non-empty folder is only written into when asked to (`--overwrite`, which clears it
//! first).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// `name` with every character other than ASCII letters, digits, `-`, `_` and `.` replaced by
/// `_` (and never empty), for use in a folder name.
pub fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('.').to_string();
    if s.is_empty() {
        "input".into()
    } else {
        s
    }
}

/// The stem of a file name (`x.csv` → `x`), or `input`.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "input".into())
}

/// Name of the results of snapshot `snapshot` of the phase-field output `fields`: the name of
/// the run folder holding the file (or the file's stem when it has none) and the snapshot,
/// e.g. `runs/a/fields.h5`, snapshot `000010` → `a-000010`.
pub fn fields_name(fields: &Path, snapshot: &str) -> String {
    let run = fields
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .unwrap_or_else(|| stem(fields));
    sanitize(&format!("{run}-{snapshot}"))
}

/// Name of the results of an input file (a voxel file or a measured spectrum): its stem,
/// e.g. `x.csv` → `x`.
pub fn file_name(path: &Path) -> String {
    sanitize(&stem(path))
}

/// The default output folder for results named `name`: `runs/impedance-<name>`.
pub fn default_dir(name: &str) -> PathBuf {
    PathBuf::from("runs").join(format!("impedance-{}", sanitize(name)))
}

/// Entries of `dir` (none when it does not exist).
fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut v = Vec::new();
            for e in rd {
                v.push(
                    e.with_context(|| format!("cannot list {}", dir.display()))?
                        .path(),
                );
            }
            v.sort();
            Ok(v)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(e).with_context(|| format!("cannot list {}", dir.display())),
    }
}

/// Checks, before any work, that results may go to `out`: it must not be a file; if it is a
/// non-empty folder, `overwrite` must be set, and then it must be safe to clear: not a folder
/// that holds one of `inputs`, and not the current folder or one of its ancestors.
pub fn check(out: &Path, overwrite: bool, inputs: &[&Path]) -> Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("output folder {} exists and is not a folder", out.display());
    }
    let list = entries(out)?;
    if list.is_empty() {
        return Ok(());
    }
    if !overwrite {
        let names: Vec<String> = list
            .iter()
            .take(3)
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
            .collect();
        bail!(
            "output folder {} is not empty ({} entries: {}{}); give --overwrite to clear it and \
             write the new results there, or choose another folder with --out",
            out.display(),
            list.len(),
            names.join(", "),
            if list.len() > 3 { ", …" } else { "" }
        );
    }
    let out_abs = out
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", out.display()))?;
    for input in inputs {
        if let Ok(i) = input.canonicalize() {
            if i.starts_with(&out_abs) {
                bail!(
                    "--overwrite would clear {}, which holds the input {}; choose another --out",
                    out.display(),
                    input.display()
                );
            }
        }
    }
    if let Ok(cwd) = std::env::current_dir().and_then(|c| c.canonicalize()) {
        if cwd.starts_with(&out_abs) {
            bail!(
                "--overwrite would clear {}, the current folder or one above it; choose a \
                 dedicated --out folder",
                out.display()
            );
        }
    }
    Ok(())
}

/// Creates `out`, after clearing it when `overwrite` is set (call [`check`] first).
pub fn prepare(out: &Path, overwrite: bool) -> Result<()> {
    if overwrite {
        for p in entries(out)? {
            let r = if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.with_context(|| format!("cannot remove {} (clearing for --overwrite)", p.display()))?;
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "lipf-impedance-outdir-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn default_folder_is_derived_from_the_input() {
        assert_eq!(
            default_dir(&fields_name(Path::new("runs/a/fields.h5"), "000010")),
            PathBuf::from("runs/impedance-a-000010")
        );
        assert_eq!(
            fields_name(Path::new("fields.h5"), "000003"),
            "fields-000003"
        );
        assert_eq!(
            default_dir(&file_name(Path::new("data/x.csv"))),
            PathBuf::from("runs/impedance-x")
        );
        assert_eq!(file_name(Path::new("we ird/na me?.h5")), "na_me_");
        assert_eq!(sanitize("../.."), "_");
        assert_eq!(sanitize(""), "input");
        assert_eq!(
            default_dir("model-structure"),
            PathBuf::from("runs/impedance-model-structure")
        );
    }

    #[test]
    fn non_empty_output_folder_needs_overwrite_which_clears_it() {
        let d = tmp("clear");
        check(&d, false, &[]).unwrap(); // missing: fine
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("impedance.csv"), "old").unwrap();
        let e = check(&d, false, &[]).unwrap_err().to_string();
        assert!(e.contains("not empty") && e.contains("--overwrite"), "{e}");
        check(&d, true, &[]).unwrap();
        prepare(&d, true).unwrap();
        assert!(d.is_dir() && entries(&d).unwrap().is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn overwrite_refuses_to_clear_a_folder_holding_the_input() {
        let d = tmp("input");
        std::fs::create_dir_all(&d).unwrap();
        let input = d.join("fields.h5");
        std::fs::write(&input, "x").unwrap();
        let e = check(&d, true, &[&input]).unwrap_err().to_string();
        assert!(e.contains("holds the input"), "{e}");
        let f = d.join("file");
        std::fs::write(&f, "x").unwrap();
        assert!(check(&f, true, &[])
            .unwrap_err()
            .to_string()
            .contains("not a folder"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
