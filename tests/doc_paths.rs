//! Documentation paths: every `docs/….md` path that a source file or document of the repository
//! names must exist; a `§N` or `§N.M` right after such a path must name a numbered heading of that
//! file; and no file may refer to a model document that is not in the repository.
//!
//! Scanned: `.rs`, `.md`, `.wgsl`, `.json`, `.py` files and `Makefile`s anywhere in the
//! repository except `.git/`, `target/` folders and the folders the root `.gitignore` anchors
//! (`/runs`, `/target-*`, ...: build products and run outputs).

use std::fs;
use std::path::{Path, PathBuf};

/// File name of the old, out-of-repository model document. Built at run time so that this file
/// does not contain it.
fn foreign_model_doc() -> String {
    ["MODEL", "md"].join(".")
}

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// Path of `path` relative to `root`, with `/` separators.
fn rel_str(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Folders the root `.gitignore` anchors to the repository root: `/runs` (exact) and
/// `/target-*` (prefix, same level). Other patterns are ignored here.
struct Ignored {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl Ignored {
    fn read(root: &Path) -> Ignored {
        let text = fs::read_to_string(root.join(".gitignore")).unwrap_or_default();
        let mut ignored = Ignored {
            exact: Vec::new(),
            prefixes: Vec::new(),
        };
        for line in text.lines() {
            let Some(p) = line.trim().strip_prefix('/') else {
                continue;
            };
            let p = p.trim_end_matches('/');
            if p.is_empty() {
                continue;
            }
            let wild = |s: &str| s.contains(['*', '?', '[', '!', '\\']);
            match p.strip_suffix('*') {
                Some(prefix) if !prefix.is_empty() && !wild(prefix) => {
                    ignored.prefixes.push(prefix.to_string())
                }
                _ if !wild(p) => ignored.exact.push(p.to_string()),
                _ => {}
            }
        }
        ignored
    }

    fn matches(&self, rel_dir: &str) -> bool {
        self.exact.iter().any(|e| rel_dir == e)
            || self.prefixes.iter().any(|p| {
                rel_dir
                    .strip_prefix(p.as_str())
                    .is_some_and(|rest| !rest.contains('/'))
            })
    }
}

fn is_scanned(name: &str) -> bool {
    name == "Makefile"
        || [".rs", ".md", ".wgsl", ".json", ".py"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

fn collect_files(root: &Path, dir: &Path, ignored: &Ignored, out: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut entries: Vec<fs::DirEntry> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if kind.is_dir() {
            if name == ".git" || name == "target" || ignored.matches(&rel_str(root, &path)) {
                continue;
            }
            collect_files(root, &path, ignored, out);
        } else if kind.is_file() && is_scanned(&name) {
            out.push(path);
        }
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// A documentation path found in a line: the path and the byte offset just after it.
#[derive(Debug, PartialEq)]
struct Found {
    path: String,
    end: usize,
}

/// Every path `docs/<path characters>.md` in `line`. A path starts at `docs/` where the character
/// before is not a path character (so `../docs/…` and `x/docs/…` are not repository-root paths)
/// and ends at the last `.md` of its run of path characters (a sentence's full stop is dropped).
fn doc_paths(line: &str) -> Vec<Found> {
    const HEAD: &str = "docs/";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(off) = line[from..].find(HEAD) {
        let start = from + off;
        let mut end = start;
        for (i, c) in line[start..].char_indices() {
            if !is_path_char(c) {
                break;
            }
            end = start + i + c.len_utf8();
        }
        let at_boundary = !matches!(line[..start].chars().next_back(), Some(c) if is_path_char(c));
        if at_boundary {
            let run = &line[start..end];
            if let Some(md) = run.rfind(".md") {
                if md > HEAD.len() {
                    found.push(Found {
                        path: run[..md + 3].to_string(),
                        end: start + md + 3,
                    });
                }
            }
        }
        from = end.max(start + HEAD.len());
    }
    found
}

/// The section label `N` or `N.M` of a `§` that follows a path (after spaces, closing brackets,
/// back-quotes or emphasis marks), if any.
fn section_after(rest: &str) -> Option<String> {
    let rest = rest.trim_start_matches([' ', ')', ']', '`', '*']);
    let rest = rest.strip_prefix('§')?;
    let digits = |s: &str| s.chars().take_while(|c| c.is_ascii_digit()).count();
    let n = digits(rest);
    if n == 0 {
        return None;
    }
    let mut label = rest[..n].to_string();
    let tail = &rest[n..];
    if let Some(sub) = tail.strip_prefix('.') {
        let m = digits(sub);
        if m > 0 {
            label.push('.');
            label.push_str(&sub[..m]);
        }
    }
    Some(label)
}

/// Texts of the Markdown headings of a document (outside fenced code blocks), without the `#`s.
fn headings(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code && t.starts_with('#') {
            out.push(t.trim_start_matches('#').trim().to_string());
        }
    }
    out
}

/// Whether a heading text starts with the section label: `5` matches "5. Choices" but not
/// "5.1 Details" or "52. Other"; `9.1` matches "9.1 Free energy" but not "9.10 More".
fn heading_has_label(text: &str, label: &str) -> bool {
    let Some(rest) = text.strip_prefix(label) else {
        return false;
    };
    let mut cs = rest.chars();
    match cs.next() {
        None => true,
        Some('.') => !cs.next().is_some_and(|c| c.is_ascii_digit()),
        Some(c) => !c.is_ascii_digit(),
    }
}

#[test]
fn scanner_finds_paths_and_sections() {
    // Built at run time, so that the scan of this file does not see them.
    let d = "docs";
    let line = format!(
        "see {d}/models/x.md §9.4), [a]({d}/a.md) and `{d}/b.md` §5. Not ../{d}/c.md or {d}/ alone; {d}/e.md."
    );
    let found = doc_paths(&line);
    let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
    let (x, a, b, e) = (
        format!("{d}/models/x.md"),
        format!("{d}/a.md"),
        format!("{d}/b.md"),
        format!("{d}/e.md"),
    );
    assert_eq!(paths, vec![x.as_str(), a.as_str(), b.as_str(), e.as_str()]);
    let sections: Vec<Option<String>> = found
        .iter()
        .map(|f| section_after(&line[f.end..]))
        .collect();
    assert_eq!(
        sections,
        vec![Some("9.4".to_string()), None, Some("5".to_string()), None]
    );
    assert!(heading_has_label("5. Choices", "5"));
    assert!(heading_has_label("9.1 Free energy", "9.1"));
    assert!(!heading_has_label("9.1 Free energy", "9"));
    assert!(!heading_has_label("13. Checks", "1"));
    assert!(!heading_has_label("9.10 More", "9.1"));
}

#[test]
fn documentation_paths_exist_and_name_existing_sections() {
    let root = repo_root();
    let ignored = Ignored::read(&root);
    let mut files = Vec::new();
    collect_files(&root, &root, &ignored, &mut files);
    assert!(
        files.iter().any(|f| rel_str(&root, f) == "README.md"),
        "the scan did not find README.md under {}",
        root.display()
    );
    let foreign = foreign_model_doc();
    let mut failures = Vec::new();
    let mut checked = 0usize;
    for file in &files {
        let Ok(bytes) = fs::read(file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let rel = rel_str(&root, file);
        for (n, line) in text.lines().enumerate() {
            let at = format!("{rel}:{}", n + 1);
            if line.contains(&foreign) {
                failures.push(format!(
                    "{at}: refers to {foreign}, which is not in the repository (cite docs/models/ instead)"
                ));
            }
            for found in doc_paths(line) {
                checked += 1;
                let target = root.join(&found.path);
                let Ok(doc) = fs::read_to_string(&target) else {
                    failures.push(format!("{at}: {} does not exist", found.path));
                    continue;
                };
                if let Some(label) = section_after(&line[found.end..]) {
                    if !headings(&doc).iter().any(|h| heading_has_label(h, &label)) {
                        failures.push(format!(
                            "{at}: {} has no heading numbered {label} (cited as §{label})",
                            found.path
                        ));
                    }
                }
            }
        }
    }
    assert!(
        checked > 10,
        "only {checked} documentation paths found: is {} the repository root?",
        root.display()
    );
    assert!(
        failures.is_empty(),
        "{} broken documentation reference(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A line of Rust that converts micrometres and metres by hand: a `…_um` name with a factor
/// 1e-6 or 1e6, or a `…_m` value multiplied by 1e6. Comments are not code.
fn raw_micrometre_conversion(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    let factor = ["* 1e-6", "* 1e6", "1e-6 *", "1e6 *", "/ 1e-6", "/ 1e6"]
        .iter()
        .any(|f| code.contains(f));
    factor
        && (code.contains("_um")
            || ["_m * 1e6", "_m() * 1e6", "_m) * 1e6"]
                .iter()
                .any(|p| code.contains(p)))
}

/// Every conversion between the configuration's micrometres and SI happens in
/// `crates/lipf-core/src/units.rs` (`um_to_m`, `m_to_um`): the library sources convert nowhere
/// else by hand.
#[test]
fn micrometre_conversions_go_through_units_rs() {
    assert!(raw_micrometre_conversion("let y = info.top_um * 1e-6;"));
    assert!(raw_micrometre_conversion("dx_um: grid.dx_m * 1e6,"));
    assert!(!raw_micrometre_conversion("let y = um_to_m(info.top_um);"));
    assert!(!raw_micrometre_conversion(
        "let t = 1e-6 * dt_s; // x_um * 1e-6"
    ));
    let root = repo_root();
    let mut files = Vec::new();
    collect_files(
        &root,
        &root.join("crates"),
        &Ignored::read(&root),
        &mut files,
    );
    let mut found = Vec::new();
    for f in files {
        let rel = rel_str(&root, &f);
        if !rel.ends_with(".rs") || !rel.contains("/src/") || rel.ends_with("/units.rs") {
            continue;
        }
        let text = fs::read_to_string(&f).unwrap();
        for (k, line) in text.lines().enumerate() {
            if raw_micrometre_conversion(line) {
                found.push(format!("{rel}:{}: {}", k + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "µm ↔ m by hand (use lipf_core::units::{{um_to_m, m_to_um}}):\n{}",
        found.join("\n")
    );
}
