//! The GPU backend against its CPU reference.
//!
//! Without a device: every kernel, joined with the shared modules it imports, parses and
//! validates with naga (the version wgpu uses), and a naga error names the line of the original
//! file; the registry lists exactly the files in `shaders/` and `shaders/shared/`; no WGSL name
//! is declared in two files; every CPU kernel has its WGSL twin; every WGSL parameter struct has
//! the layout of its Rust `#[repr(C)]` twin; the control flags and the indirect-table layout of
//! the shared WGSL modules are lipf-gpu's; and the WGSL range limits are lipf-core's.
//!
//! With a device: one test per kernel (`twin_<kernel>`) against its CPU twin on 67×45 grids
//! (not multiples of the 16×16 workgroups) in the three overpotential forms and both double wells,
//! with and without rotated anisotropy, and for range_check, time_step and collector also on
//! one row or one column longer than a 256-wide workgroup; on a failure both sides are written
//! to `tests/failures/<kernel>-<case>….{gpu,cpu}.csv` and the message names the files. 20 whole
//! steps of the smoke case (galvanostatic and potentiostatic) and of an anisotropic 67×45 case,
//! in the consistent and in the two-potential form, against the CPU backend (scalars, fields,
//! CG iteration counts); the Faraday balance and the galvanostatic current on the GPU backend. Every comparison prints the
//! worst cell, both values, the tolerance and why the difference is not zero (f32 on the device,
//! f64 on the CPU). Without an adapter these tests print why and pass, unless
//! LIPF_REQUIRE_GPU_ADAPTER=1 (set in CI), where they fail. Software adapters (lavapipe) count:
//! they run the same WGSL.

use lipf_gpu::shaders::{Part, Shader, MODULES, SHADERS};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

/// `shaders/<file>.wgsl:<line>:<column>` of a naga error at `loc` in the source joined from
/// `parts`.
fn located(parts: &[Part], loc: Option<naga::SourceLocation>) -> String {
    loc.and_then(|l| {
        lipf_gpu::shaders::origin(parts, l.line_number as usize)
            .map(|(file, line)| format!("{file}:{line}:{}", l.line_position))
    })
    .unwrap_or_else(|| "(no location)".to_string())
}

/// Parses and validates the WGSL joined from `parts` (`source`). An error names the line of the
/// original file first, then shows naga's report on the joined source.
fn parse_and_validate_parts(
    name: &str,
    parts: &[Part],
    source: &str,
) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let joined = format!("{name} (joined with its imports)");
    let module = naga::front::wgsl::parse_str(source).map_err(|e| {
        format!(
            "{}: error: {}\n{}",
            located(parts, e.location(source)),
            e.message(),
            e.emit_to_string_with_path(source, &joined)
        )
    })?;
    // FLOAT64: shaders outside the time step may use f64 (the step kernels are f32 only).
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::FLOAT64,
    )
    .validate(&module)
    .map_err(|e| {
        // The innermost span (the statement or expression, after the function's).
        let at = e
            .spans()
            .filter(|(span, _)| span.is_defined())
            .last()
            .map(|(span, _)| span.location(source));
        format!(
            "{}: error: {}\n{}",
            located(parts, at),
            e.as_inner(),
            e.emit_to_string_with_path(source, &joined)
        )
    })?;
    Ok((module, info))
}

fn parse_and_validate(s: &Shader) -> (naga::Module, naga::valid::ModuleInfo) {
    parse_and_validate_parts(s.name, s.parts, s.source)
        .unwrap_or_else(|e| panic!("shaders/{}.wgsl is not valid WGSL:\n{e}", s.name))
}

#[test]
fn every_shader_parses_and_validates_with_naga() {
    assert!(!SHADERS.is_empty(), "the shader registry is empty");
    for s in SHADERS {
        let (module, _) = parse_and_validate(s);
        assert!(
            !module.entry_points.is_empty(),
            "shaders/{}.wgsl has no entry point",
            s.name
        );
    }
}

/// `parts` of `shader` with the first `old` in `file` replaced by `new`, joined; and the line of
/// `file` that now holds `new`.
fn broken(shader: &str, file: &str, old: &str, new: &str) -> (Vec<Part>, String, usize) {
    let s = lipf_gpu::shaders::shader(shader);
    let mut line = 0;
    let parts: Vec<Part> = s
        .parts
        .iter()
        .map(|p| {
            if p.file != file {
                return *p;
            }
            let at = p
                .source
                .find(old)
                .unwrap_or_else(|| panic!("{file} has no `{old}`"));
            line = p.source[..at].matches('\n').count() + 1;
            let source: &'static str = Box::leak(p.source.replacen(old, new, 1).into_boxed_str());
            Part {
                file: p.file,
                source,
            }
        })
        .collect();
    assert!(line > 0, "{shader} does not import {file}");
    let joined = lipf_gpu::shaders::join(&parts);
    (parts, joined, line)
}

#[test]
fn naga_errors_name_the_line_of_the_original_file() {
    // An unknown name in a shared module, far below the kernel file in the joined source.
    let (parts, source, line) = broken(
        "conc_update",
        "shaders/shared/interp.wgsl",
        "return 30.0 * y * y;",
        "return 30.0 * y * no_such_name;",
    );
    let e = parse_and_validate_parts("conc_update", &parts, &source).unwrap_err();
    let want = format!("shaders/shared/interp.wgsl:{line}:");
    assert!(e.starts_with(&want), "expected `{want}`, got:\n{e}");
    // A type error in the kernel file itself.
    let (parts, source, line) = broken(
        "xi_update",
        "shaders/xi_update.wgsl",
        "xi_lo[k] = r.y;",
        "xi_lo[k] = k;",
    );
    let e = parse_and_validate_parts("xi_update", &parts, &source).unwrap_err();
    let want = format!("shaders/xi_update.wgsl:{line}:");
    assert!(e.starts_with(&want), "expected `{want}`, got:\n{e}");
    // And in the last import.
    let (parts, source, line) = broken(
        "time_step",
        "shaders/shared/indirect.wgsl",
        "return 2u * DISPATCH_ARGS_WORDS * shapes;",
        "return 2.5 * DISPATCH_ARGS_WORDS * shapes;",
    );
    let e = parse_and_validate_parts("time_step", &parts, &source).unwrap_err();
    let want = format!("shaders/shared/indirect.wgsl:{line}:");
    assert!(e.starts_with(&want), "expected `{want}`, got:\n{e}");
}

/// Stems of the `.wgsl` files in `dir` (relative to the repository root).
fn wgsl_stems(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(repo_path(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "wgsl")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn shader_files_and_registry_list_the_same_kernels() {
    let on_disk = wgsl_stems("shaders");
    let registry: BTreeSet<String> = SHADERS.iter().map(|s| s.name.to_string()).collect();
    assert!(!on_disk.is_empty(), "no .wgsl file found in shaders/");
    assert_eq!(
        on_disk.len(),
        SHADERS.len(),
        "shaders/ has {} files, the registry {} entries",
        on_disk.len(),
        SHADERS.len()
    );
    assert_eq!(on_disk, registry, "shaders/ and the registry differ");
    let on_disk = wgsl_stems("shaders/shared");
    let modules: BTreeSet<String> = MODULES.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(MODULES.len(), modules.len(), "a module is registered twice");
    assert_eq!(
        on_disk, modules,
        "shaders/shared/ and lipf_gpu::shaders::MODULES differ"
    );
    for m in MODULES {
        assert!(
            SHADERS.iter().any(|s| s.imports().any(|i| i == m.name)),
            "shaders/shared/{}.wgsl is imported by no shader",
            m.name
        );
    }
    for s in SHADERS {
        let imports: Vec<&str> = s.imports().collect();
        let unique: BTreeSet<&str> = imports.iter().copied().collect();
        assert_eq!(
            imports.len(),
            unique.len(),
            "{}: a module is imported twice",
            s.name
        );
        for p in s.parts {
            assert!(
                p.source.ends_with('\n'),
                "{} does not end with a newline (the joined lines would run together)",
                p.file
            );
        }
    }
}

#[test]
fn every_cpu_kernel_has_a_wgsl_twin_of_the_same_name() {
    let dir = repo_path("crates/lipf-core/src/cpu");
    let mut kernels = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&p).unwrap();
        // A kernel file exports a function of its own name; the others are helpers.
        if text.contains(&format!("pub fn {stem}(")) {
            kernels.push(stem);
        }
    }
    assert!(
        kernels.len() >= 8,
        "found only {kernels:?} in {}",
        dir.display()
    );
    for k in &kernels {
        let s = SHADERS.iter().find(|s| s.name == k);
        let s =
            s.unwrap_or_else(|| panic!("cpu/{k}.rs has no twin shaders/{k}.wgsl in the registry"));
        assert!(
            s.cpu_twin.is_some(),
            "shaders/{k}.wgsl is not marked as the twin of cpu/{k}.rs"
        );
        // The entry point of the kernel's name, or entry points `{k}_…` (collector.wgsl:
        // collector_potential) when the kernel has several stages.
        let (module, _) = parse_and_validate(s);
        let prefix = format!("{k}_");
        assert!(
            module
                .entry_points
                .iter()
                .any(|e| e.name == *k || e.name.starts_with(&prefix)),
            "shaders/{k}.wgsl has no entry point `{k}` or `{k}_…`"
        );
    }
    for s in SHADERS.iter().filter_map(|s| s.cpu_twin) {
        assert!(
            repo_path(s).exists(),
            "registry names a missing CPU twin {s}"
        );
    }
}

/// The leading `//` lines of a WGSL file.
fn header(source: &str) -> String {
    source
        .lines()
        .take_while(|l| l.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_shader_opens_with_the_documented_header() {
    for s in SHADERS {
        let header = header(s.kernel_source());
        assert!(
            header.starts_with(&format!("// {}.wgsl", s.name)),
            "shaders/{}.wgsl: header must start with its name",
            s.name
        );
        for field in ["Update:", "Bindings:", "Dispatch:", "Index:", "Twin:"] {
            assert!(
                header.contains(field),
                "shaders/{}.wgsl: header lacks `{field}`",
                s.name
            );
        }
        // `Imports:` lists the registry's imports, in order (the header is what a reader sees).
        let listed: Vec<String> = match header.find("Imports:") {
            Some(at) => header[at + "Imports:".len()..]
                .split(|c: char| c == ',' || c.is_whitespace() || c == '/')
                .filter(|w| w.starts_with("shared") || w.ends_with(".wgsl"))
                .filter(|w| *w != "shared")
                .map(|w| w.trim_end_matches(".wgsl").to_string())
                .collect(),
            None => Vec::new(),
        };
        let registry: Vec<String> = s.imports().map(str::to_string).collect();
        assert_eq!(
            listed, registry,
            "shaders/{}.wgsl: the header's `Imports:` differs from its registry entry",
            s.name
        );
    }
    for m in MODULES {
        let header = header(m.source);
        assert!(
            header.starts_with(&format!("// shared/{}.wgsl", m.name)),
            "shaders/shared/{}.wgsl: header must start with its name",
            m.name
        );
        for field in ["Declares:", "Needs:", "Twin:"] {
            assert!(
                header.contains(field),
                "shaders/shared/{}.wgsl: header lacks `{field}`",
                m.name
            );
        }
        // Bindings differ per kernel and entry points belong to kernels.
        for banned in ["@group", "@binding", "@compute"] {
            assert!(
                !m.source.contains(banned),
                "shaders/shared/{}.wgsl: a shared module has no `{banned}`",
                m.name
            );
        }
    }
}

/// Top-level `struct`, `fn`, `const`, `alias` and `override` declarations of a WGSL file: (kind,
/// name, line). Declarations start a line at column 0, possibly after attributes (`@compute
/// @workgroup_size(16, 16) fn ...`); comments and indented lines are skipped.
fn top_level_declarations(source: &str) -> Vec<(&'static str, String, usize)> {
    let mut out = Vec::new();
    for (k, line) in source.lines().enumerate() {
        if line.starts_with(char::is_whitespace) || line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(r) = rest.strip_prefix('@') {
            // Skip one attribute: a name and, if present, its parenthesised arguments.
            let name_end = r
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(r.len());
            let mut r = &r[name_end..];
            if r.starts_with('(') {
                r = r.find(')').map_or("", |e| &r[e + 1..]);
            }
            rest = r.trim_start();
        }
        for kind in ["struct", "fn", "const", "alias", "override"] {
            let Some(r) = rest.strip_prefix(kind) else {
                continue;
            };
            if !r.starts_with(char::is_whitespace) {
                continue;
            }
            let name: String = r
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((kind, name, k + 1));
            }
        }
    }
    out
}

#[test]
fn the_declaration_scanner_finds_every_kind() {
    let src = "// fn commented_out()\nstruct S {\n    fn_inside: u32,\n}\nconst C: u32 = 1u;\n\
               alias A = f32;\noverride O: f32;\nfn f() {}\n@compute @workgroup_size(16, 16)\n\
               fn entry() {}\n@compute @workgroup_size(1) fn inline_entry() {}\n\
               var<private> v: u32;\nfnord();\n";
    let found: Vec<(&str, String)> = top_level_declarations(src)
        .into_iter()
        .map(|(k, n, _)| (k, n))
        .collect();
    let want: Vec<(&str, String)> = [
        ("struct", "S"),
        ("const", "C"),
        ("alias", "A"),
        ("override", "O"),
        ("fn", "f"),
        ("fn", "entry"),
        ("fn", "inline_entry"),
    ]
    .iter()
    .map(|&(k, n)| (k, n.to_string()))
    .collect();
    assert_eq!(found, want);
}

/// Names declared in two files that are allowed to be (none: every shared declaration lives in
/// one module of `shaders/shared/`).
const NOT_YET_SHARED: &[(&str, &[&str])] = &[];

#[test]
fn no_wgsl_name_is_declared_in_two_files() {
    let mut declared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut files = 0;
    for dir in ["shaders", "shaders/shared"] {
        for stem in wgsl_stems(dir) {
            let file = format!("{dir}/{stem}.wgsl");
            let source = std::fs::read_to_string(repo_path(&file)).unwrap();
            files += 1;
            for (kind, name, line) in top_level_declarations(&source) {
                declared
                    .entry(name)
                    .or_default()
                    .push(format!("{file}:{line} ({kind})"));
            }
        }
    }
    assert!(files > 20, "only {files} WGSL files found");
    assert!(
        declared.len() > 100,
        "only {} names found: the scanner misses declarations",
        declared.len()
    );
    let mut twice = Vec::new();
    for (name, places) in &declared {
        if places.len() < 2 {
            continue;
        }
        let known = NOT_YET_SHARED.iter().find(|(n, _)| n == name);
        let in_files: Vec<&str> = places
            .iter()
            .map(|p| p.split(':').next().unwrap())
            .collect();
        if known.is_some_and(|(_, f)| *f == in_files.as_slice()) {
            continue;
        }
        twice.push(format!("`{name}` in {}", places.join(", ")));
    }
    assert!(
        twice.is_empty(),
        "WGSL names declared in more than one file (move the declaration to a module of \
         shaders/shared/ and import it):\n  {}",
        twice.join("\n  ")
    );
    for (name, files) in NOT_YET_SHARED {
        let places = declared.get(*name).map_or(0, Vec::len);
        assert!(
            places == files.len(),
            "`{name}` is no longer declared in {files:?}: remove it from NOT_YET_SHARED"
        );
    }
}

/// The `u32` value of every `const` of a WGSL module whose name starts with `prefix`.
fn wgsl_u32_constants(module: &naga::Module, prefix: &str) -> BTreeMap<String, u32> {
    module
        .constants
        .iter()
        .filter_map(|(_, c)| {
            let name = c.name.clone()?;
            if !name.starts_with(prefix) {
                return None;
            }
            match module.global_expressions[c.init] {
                naga::Expression::Literal(naga::Literal::U32(v)) => Some((name, v)),
                ref e => panic!("const {name} is not a u32 literal: {e:?}"),
            }
        })
        .collect()
}

/// A shared module parsed on its own (it must need no other module).
fn parse_module(name: &str) -> naga::Module {
    let m = lipf_gpu::shaders::module(name);
    let parts = [Part {
        file: Box::leak(format!("shaders/shared/{name}.wgsl").into_boxed_str()),
        source: m.source,
    }];
    parse_and_validate_parts(name, &parts, m.source)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

#[test]
fn wgsl_control_flags_are_the_rust_ones() {
    let wgsl = wgsl_u32_constants(&parse_module("control"), "FLAG_");
    let rust: BTreeMap<String, u32> = lipf_gpu::params::CONTROL_FLAGS
        .iter()
        .map(|&(n, v)| (n.to_string(), v))
        .collect();
    assert_eq!(
        wgsl, rust,
        "the FLAG_ consts of shaders/shared/control.wgsl differ from lipf_gpu::params::CONTROL_FLAGS"
    );
    assert_eq!(rust.len(), 6, "expected six control flags");
    // No kernel sets or tests a bare flag number.
    for s in SHADERS {
        for (k, line) in s.kernel_source().lines().enumerate() {
            let code = line.split("//").next().unwrap();
            if let Some(at) = code.find("flags") {
                let after = code[at + "flags".len()..].trim_start();
                let operand = after
                    .trim_start_matches(['|', '&', '=', '!', ' '])
                    .trim_start();
                assert!(
                    !operand.starts_with(|c: char| c.is_ascii_digit()) || operand.starts_with("0u"),
                    "shaders/{}.wgsl:{}: a bare flag number; use a FLAG_ const of shared/control.wgsl",
                    s.name,
                    k + 1
                );
            }
        }
    }
}

/// Every entry point of every registry shader is one kernel of `KernelId` (the registry the
/// backend, the twin runner and the benchmarks name kernels by), and every kernel of it names an
/// entry point that exists.
#[test]
fn every_wgsl_entry_point_is_declared_once_in_the_kernel_registry() {
    let mut declared: Vec<(&str, &str)> = KernelId::ALL
        .iter()
        .map(|k| (k.shader(), k.entry()))
        .collect();
    let before = declared.len();
    declared.sort();
    declared.dedup();
    assert_eq!(
        declared.len(),
        before,
        "a kernel is declared twice in KernelId"
    );
    let mut found: Vec<(&str, String)> = Vec::new();
    for s in SHADERS {
        let (module, _) = parse_and_validate(s);
        for e in &module.entry_points {
            found.push((s.name, e.name.clone()));
        }
    }
    found.sort();
    let declared: Vec<(&str, String)> = declared
        .into_iter()
        .map(|(s, e)| (s, e.to_string()))
        .collect();
    assert_eq!(
        found, declared,
        "the entry points of shaders/*.wgsl and the kernels of lipf_gpu::kernels::KernelId differ"
    );
}

#[test]
fn wgsl_solve_codes_are_the_rust_ones() {
    let (module, _) = parse_and_validate(lipf_gpu::shaders::shader("cg_control"));
    let wgsl = wgsl_u32_constants(&module, "SOLVE_");
    let rust: BTreeMap<String, u32> = lipf_gpu::params::SOLVE_CODES
        .iter()
        .map(|&(n, v)| (n.to_string(), v))
        .collect();
    assert_eq!(
        wgsl, rust,
        "the SOLVE_ consts of shaders/cg_control.wgsl differ from lipf_gpu::params::SOLVE_CODES"
    );
    // No entry compares the solve code with a bare number.
    for (k, line) in lipf_gpu::shaders::shader("cg_control")
        .kernel_source()
        .lines()
        .enumerate()
    {
        let code = line.split("//").next().unwrap();
        if let Some(at) = code.find("params.solve") {
            let operand = code[at + "params.solve".len()..]
                .trim_start()
                .trim_start_matches(['=', '!', ' '])
                .trim_start();
            assert!(
                !operand.starts_with(|c: char| c.is_ascii_digit()),
                "shaders/cg_control.wgsl:{}: a bare solve code; use a SOLVE_ const",
                k + 1
            );
        }
    }
}

#[test]
fn wgsl_overpotential_form_codes_are_the_rust_ones() {
    let wgsl = wgsl_u32_constants(&parse_module("interp"), "FORM_");
    let rust: BTreeMap<String, u32> = lipf_gpu::params::OVERPOTENTIAL_FORMS
        .iter()
        .map(|&(n, v)| (n.to_string(), v))
        .collect();
    assert_eq!(
        wgsl, rust,
        "the FORM_ consts of shaders/shared/interp.wgsl differ from \
         lipf_gpu::params::OVERPOTENTIAL_FORMS"
    );
    assert_eq!(rust.len(), 3, "expected three overpotential forms");
    // No kernel compares the form with a bare number.
    for s in SHADERS {
        for (k, line) in s.kernel_source().lines().enumerate() {
            let code = line.split("//").next().unwrap();
            if let Some(at) = code.find("form ") {
                let operand = code[at + "form".len()..]
                    .trim_start()
                    .trim_start_matches(['=', '!', ' '])
                    .trim_start();
                assert!(
                    !operand.starts_with(|c: char| c.is_ascii_digit()),
                    "shaders/{}.wgsl:{}: a bare form number; use a FORM_ const of \
                     shared/interp.wgsl",
                    s.name,
                    k + 1
                );
            }
        }
    }
}

#[test]
fn wgsl_indirect_table_layout_is_the_rust_one() {
    let wgsl = wgsl_u32_constants(&parse_module("indirect"), "DISPATCH_ARGS_WORDS");
    assert_eq!(
        wgsl.get("DISPATCH_ARGS_WORDS"),
        Some(&lipf_gpu::params::DISPATCH_ARGS_WORDS),
        "DISPATCH_ARGS_WORDS of shaders/shared/indirect.wgsl"
    );
    assert_eq!(
        std::mem::size_of::<lipf_gpu::params::DispatchArgs>(),
        4 * lipf_gpu::params::DISPATCH_ARGS_WORDS as usize
    );
}

#[test]
fn wgsl_parameter_structs_have_the_layout_of_their_rust_twins() {
    let mut checked = 0;
    for (rust, shaders) in lipf_gpu::params::layouts() {
        for &name in shaders {
            let s = lipf_gpu::shaders::shader(name);
            let (module, _) = parse_and_validate(s);
            let mut layouter = naga::proc::Layouter::default();
            layouter.update(module.to_ctx()).expect("layout");
            let (handle, ty) = module
                .types
                .iter()
                .find(|(_, t)| t.name.as_deref() == Some(rust.name))
                .unwrap_or_else(|| panic!("shaders/{name}.wgsl declares no struct {}", rust.name));
            let naga::TypeInner::Struct { members, .. } = &ty.inner else {
                panic!("{} in shaders/{name}.wgsl is not a struct", rust.name)
            };
            let wgsl: Vec<(String, usize)> = members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
                .collect();
            let ours: Vec<(String, usize)> = rust
                .fields
                .iter()
                .map(|(n, o)| (n.to_string(), *o))
                .collect();
            assert_eq!(
                wgsl, ours,
                "{} in shaders/{name}.wgsl: members/offsets differ from the Rust twin",
                rust.name
            );
            assert_eq!(
                layouter[handle].size as usize, rust.size,
                "{} in shaders/{name}.wgsl: size differs from the Rust twin",
                rust.name
            );
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} struct declarations checked");
}

/// The value of the f32 `const NAME` of a shader.
fn wgsl_f32_constant(shader: &str, name: &str) -> f32 {
    let (module, _) = parse_and_validate(lipf_gpu::shaders::shader(shader));
    let (_, c) = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("shaders/{shader}.wgsl declares no const {name}"));
    match module.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::F32(v)) => v,
        ref e => panic!("const {name} in shaders/{shader}.wgsl is not an f32 literal: {e:?}"),
    }
}

#[test]
fn wgsl_range_limits_are_the_cpu_backends() {
    use lipf_core::cpu_backend::{CONC_MIN, XI_MAX, XI_MIN};
    for (name, cpu) in [
        ("XI_MIN", XI_MIN),
        ("XI_MAX", XI_MAX),
        ("CONC_MIN", CONC_MIN),
    ] {
        let gpu = wgsl_f32_constant("range_check", name);
        assert_eq!(
            gpu, cpu as f32,
            "shaders/range_check.wgsl {name} = {gpu}, lipf-core {cpu}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// With a device.

use lipf_core::cpu;
use lipf_core::{Backend, Config, CpuBackend, StopFlag};
use lipf_gpu::kernels::KernelId;
use lipf_gpu::twin::TwinRunner;
use lipf_gpu::{AdapterRequest, GpuBackend, GpuContext};

/// The device the GPU tests run on: any adapter, software ones included (they run the same
/// WGSL). None (and a message) when there is none, unless LIPF_REQUIRE_GPU_ADAPTER=1.
fn device() -> Option<GpuContext> {
    let req = AdapterRequest {
        allow_software: true,
        name_contains: None,
    };
    match GpuContext::new(&req) {
        Ok(ctx) => {
            eprintln!("GPU tests on {}", ctx.adapter.label());
            Some(ctx)
        }
        Err(e) => {
            if std::env::var("LIPF_REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") {
                panic!("LIPF_REQUIRE_GPU_ADAPTER=1 but no adapter: {e}");
            }
            eprintln!("skipped: no GPU adapter ({e}); set LIPF_REQUIRE_GPU_ADAPTER=1 to make this a failure");
            None
        }
    }
}

/// Where a failed comparison writes both sides: `tests/failures/<stem>.{gpu,cpu}.csv` (the
/// folder is ignored by git).
fn failures_dir() -> PathBuf {
    repo_path("tests/failures")
}

/// Letters, digits and `_` of `text`, every other run of characters one `-` (a file name).
fn slug(text: &str) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' {
            out.push(ch);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Writes `gpu` and `cpu` to `tests/failures/<stem>.gpu.csv` and `.cpu.csv`: a `#` line naming
/// the comparison, then one line per grid row (j = 0 first, the bottom), `nx` values each,
/// every value printed so that it reads back to the same f64. Returns a line naming both files
/// (or why they could not be written) for the assertion message.
fn write_failure(stem: &str, what: &str, nx: usize, gpu: &[f64], cpu: &[f64]) -> String {
    let dir = failures_dir();
    let write = || -> std::io::Result<String> {
        std::fs::create_dir_all(&dir)?;
        let dir = dir.canonicalize()?;
        let mut paths = Vec::new();
        for (side, values) in [("gpu", gpu), ("cpu", cpu)] {
            let path = dir.join(format!("{stem}.{side}.csv"));
            let mut text = format!(
                "# {what}: {side}, {nx} values per line, one line per row from j = 0 (bottom)\n"
            );
            for row in values.chunks(nx.max(1)) {
                let line: Vec<String> = row.iter().map(|x| format!("{x:e}")).collect();
                text.push_str(&line.join(","));
                text.push('\n');
            }
            std::fs::write(&path, text)?;
            paths.push(path.display().to_string());
        }
        Ok(paths.join(" and "))
    };
    match write() {
        Ok(paths) => format!("both fields written to {paths}"),
        Err(e) => format!("the fields could not be written to {}: {e}", dir.display()),
    }
}

/// Compares a GPU field with its CPU twin: |gpu − cpu| ≤ tol · max|cpu| everywhere. Prints
/// and, on failure, names the worst cell with both values and writes both fields to
/// `tests/failures/<stem>.{gpu,cpu}.csv`.
#[allow(clippy::too_many_arguments)]
fn assert_close(what: &str, stem: &str, nx: usize, gpu: &[f64], cpu: &[f64], tol: f64, why: &str) {
    let scale = cpu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert_close_to_scale(what, stem, nx, gpu, cpu, scale, "max|cpu|", tol, why);
}

/// |gpu − cpu| ≤ tol · `scale` everywhere (`scale_name` says what the scale is). Prints and, on
/// failure, names the worst cell with both values and writes both fields to
/// `tests/failures/<stem>.{gpu,cpu}.csv`.
#[allow(clippy::too_many_arguments)]
fn assert_close_to_scale(
    what: &str,
    stem: &str,
    nx: usize,
    gpu: &[f64],
    cpu: &[f64],
    scale: f64,
    scale_name: &str,
    tol: f64,
    why: &str,
) {
    if gpu.len() != cpu.len() {
        let files = write_failure(stem, what, nx, gpu, cpu);
        panic!(
            "{what}: lengths differ (gpu {}, cpu {}); {files}",
            gpu.len(),
            cpu.len()
        );
    }
    let scale = scale.max(1e-300);
    let (k, d) = gpu
        .iter()
        .zip(cpu)
        .enumerate()
        .map(|(k, (a, b))| {
            (
                k,
                if a.is_finite() {
                    (a - b).abs()
                } else {
                    f64::INFINITY
                },
            )
        })
        .fold((0, 0.0), |m, v| if v.1 > m.1 { v } else { m });
    let msg = format!(
        "{what}: worst cell (i = {}, j = {}): gpu {:e}, cpu {:e}, |diff| = {:.2e} of {scale_name} {:.3e} (tolerance {tol:.0e}: {why})",
        k % nx,
        k / nx,
        gpu[k],
        cpu[k],
        d / scale,
        scale
    );
    eprintln!("{msg}");
    if d > tol * scale {
        let files = write_failure(stem, what, nx, gpu, cpu);
        panic!("{msg}\n{files}");
    }
}

const F32_WHY: &str =
    "the GPU computes in f32, the CPU in f64; inputs are rounded to f32 first, so the \
     difference is the f32 rounding of the kernel's own arithmetic, amplified by cancellation in \
     the differences of neighbouring cells";

/// A configuration of the repository in the consistent overpotential form: the tests of that
/// form (the two-potential form, the default, has its own: [`two_potential_config`]).
fn gpu_config(path: &str) -> Config {
    let mut cfg = Config::from_file(&repo_path(path)).unwrap();
    cfg.model.overpotential = lipf_core::config::OverpotentialForm::Consistent;
    cfg.limits.max_steps = GPU_TEST_MAX_STEPS;
    cfg
}

/// The step budget of every GPU test configuration: the longest comparison takes a few hundred
/// steps, so a kernel that shrinks the time step ends the test with an error instead of running
/// on (each step's CG iterations are bounded by `solver.max_iterations`).
const GPU_TEST_MAX_STEPS: f64 = 5000.0;

/// A configuration of the repository in the two-potential form (the default).
fn two_potential_config(path: &str) -> Config {
    let mut cfg = Config::from_file(&repo_path(path)).unwrap();
    cfg.model.overpotential = lipf_core::config::OverpotentialForm::TwoPotential;
    cfg.limits.max_steps = GPU_TEST_MAX_STEPS;
    cfg
}

/// The two-potential form on a twin configuration.
fn two_potential(cfg: &mut Config) {
    cfg.model.overpotential = lipf_core::config::OverpotentialForm::TwoPotential;
}

/// A liquid electrolyte over a flat 3.1 µm foil with three Li nuclei of different sizes.
fn liquid(cfg: &mut Config) {
    cfg.geometry.kind = lipf_core::config::GeometryKind::Flat;
    cfg.geometry.li_foil_thickness_um = 3.1;
    cfg.geometry.li_nuclei = [(4.0, 3.0, 1.5), (9.0, 6.0, 1.0), (14.0, 3.5, 2.0)]
        .iter()
        .map(|&(x_um, y_um, radius_um)| lipf_core::config::Nucleus {
            x_um,
            y_um,
            radius_um,
        })
        .collect();
    // D off the default so that the time-step regimes' Δt/Δt_np sit clear of a rounding edge.
    cfg.material.liquid_electrolyte = Some(lipf_core::config::LiquidElectrolyte {
        diffusivity_m2_s: Some(2.9e-10),
        ..Default::default()
    });
}

/// A 67 × 45 case (not a multiple of the 16 × 16 workgroups) with the smoke geometry, its
/// initial state rounded to f32 (the GPU's precision), and smooth fields for η and φ.
fn twin_config(modify: impl Fn(&mut Config)) -> Config {
    let mut cfg = gpu_config("configs/smoke.json");
    cfg.domain.width_um = 67.0 * 0.25;
    cfg.domain.height_um = 45.0 * 0.25;
    cfg.model.equilibration_time_s = 0.05;
    modify(&mut cfg);
    cfg
}

/// Anisotropy δ = 0.04 at θ0 = 20° (so that both cos θ0 and sin θ0 enter the fluxes).
fn anisotropic(cfg: &mut Config) {
    cfg.model.anisotropy_strength = 0.04;
    cfg.model.anisotropy_angle_deg = 20.0;
}

fn twin_case(cfg: Config) -> (Config, lipf_core::Coefficients, lipf_core::State) {
    let mut b = CpuBackend::new(&cfg).unwrap();
    let mut s = b.state().clone();
    let (nx, ny) = (s.grid.nx, s.grid.ny);
    let two_potential =
        b.coeffs.overpotential == lipf_core::config::OverpotentialForm::TwoPotential;
    let interphase = cfg.material.interphase.is_some();
    for k in 0..nx * ny {
        let (i, j) = ((k % nx) as f64, (k / nx) as f64);
        s.eta[k] = -4e-3 + 1e-3 * (0.3 * i).sin() * (0.2 * j).cos();
        s.potential[k] = 2e-3 * (j / ny as f64) + 1e-4 * (0.5 * i).cos();
        s.conc[k] = 1.0 - 0.01 * (0.1 * i + 0.2 * j).sin().abs();
        // φ_s: near the collector potential, varying in both directions.
        s.electronic_potential[k] =
            TWIN_V_COLLECTOR + 2e-4 * (0.4 * i).sin() * (j / ny as f64) + 1e-4 * (0.1 * j).cos();
        if interphase {
            // Short waves, so that the interphase's band sees both signs of the bias.
            s.electronic_potential[k] += 5e-5 * (1.1 * i + 0.9 * j).sin();
        }
        // Some Li pressed into the scaffold (ξ + ϕ > 1) for the room obstacle and its pressure.
        if two_potential && s.phi[k] > 0.3 {
            s.xi[k] = (s.xi[k] + 0.04 * (0.7 * i + 0.3 * j).sin().powi(2)).min(1.0);
        }
    }
    for v in [
        &mut s.xi,
        &mut s.phi,
        &mut s.conc,
        &mut s.eta,
        &mut s.potential,
        &mut s.electronic_potential,
    ] {
        *v = round(v);
    }
    (cfg, b.coeffs.clone(), s)
}

/// The values rounded to f32 (what the device holds), as f64.
fn round(v: &[f64]) -> Vec<f64> {
    v.iter().map(|&x| x as f32 as f64).collect()
}

/// One configuration of the kernel-vs-twin tests: the 67 × 45 state of `twin_case` and the CPU
/// kernels' outputs that later kernels of the step take as inputs, each rounded to f32 as the
/// device would hold it (so that a kernel's comparison measures its own arithmetic only).
struct TwinCase {
    label: &'static str,
    /// Short name of the case in failure files, `tests/failures/<kernel>-<slug>...`.
    slug: &'static str,
    c: lipf_core::Coefficients,
    s: lipf_core::State,
    /// `xi_rate`'s (a, g).
    a: Vec<f64>,
    g: Vec<f64>,
    /// `potential_assemble`'s operator and right-hand sides.
    op: cpu::operator::Operator,
    b0: Vec<f64>,
    b1: Vec<f64>,
    /// `reaction_rate`'s r at V = `TWIN_V_COLLECTOR`.
    rate: Vec<f64>,
    /// `cell_diffusivity` per cell (from the rounded ξ, ϕ; not rounded).
    dif: Vec<f64>,
}

/// The collector potential of the kernel-vs-twin cases, V.
const TWIN_V_COLLECTOR: f64 = -5e-3;

impl TwinCase {
    fn new(label: &'static str, slug: &'static str, modify: fn(&mut Config)) -> TwinCase {
        let (_cfg, c, s) = twin_case(twin_config(modify));
        let (nx, ny) = (c.grid.nx, c.grid.ny);
        assert_eq!((nx, ny), (67, 45));
        let n = nx * ny;
        let p = cpu::xi_rate::XiRateParams::new(&c, true);
        let (mut a, mut g) = (vec![0.0; n], vec![0.0; n]);
        cpu::xi_rate::xi_rate(&p, &s.xi, &s.phi, &s.conc, &s.eta, &mut a, &mut g);
        let (a, g) = (round(&a), round(&g));
        let mut op = cpu::operator::Operator::zeros(nx, ny);
        let (mut b0, mut b1) = (vec![0.0; n], vec![0.0; n]);
        cpu::potential_assemble::potential_assemble(
            &c, &s.xi, &s.phi, &a, &g, &s.eta, &mut op, &mut b0, &mut b1,
        );
        let op = lipf_gpu::twin::unpack_operator(
            [nx, ny, 1],
            &round(&lipf_gpu::twin::pack_operator(&op)),
        );
        let (mut rate, mut eta) = (vec![0.0; n], vec![0.0; n]);
        cpu::reaction_rate::reaction_rate(
            &c,
            &a,
            &g,
            &s.eta,
            &s.potential,
            &s.electronic_potential,
            TWIN_V_COLLECTOR,
            &mut rate,
            &mut eta,
        );
        let dif =
            s.xi.iter()
                .zip(&s.phi)
                .map(|(&x, &p)| cpu::conc_update::cell_diffusivity(&c, x, p))
                .collect();
        TwinCase {
            label,
            slug,
            a,
            g,
            op,
            b0: round(&b0),
            b1: round(&b1),
            rate: round(&rate),
            dif,
            c,
            s,
        }
    }

    fn nx(&self) -> usize {
        self.c.grid.nx
    }

    /// `tests/failures/<kernel>-<case>[.<output>]` without the `.gpu.csv` / `.cpu.csv`.
    fn stem(&self, kernel: &str, output: &str) -> String {
        match output {
            "" => format!("{kernel}-{}", self.slug),
            _ => format!("{kernel}-{}.{}", self.slug, slug(output)),
        }
    }

    /// [`assert_close`] of one output of `kernel` in this case.
    #[allow(clippy::too_many_arguments)]
    fn close(
        &self,
        kernel: &str,
        output: &str,
        nx: usize,
        gpu: &[f64],
        cpu: &[f64],
        tol: f64,
        why: &str,
    ) {
        let what = format!("{kernel} {output} [{}]", self.slug);
        assert_close(&what, &self.stem(kernel, output), nx, gpu, cpu, tol, why);
    }

    /// [`assert_close_to_scale`] of one output of `kernel` in this case.
    #[allow(clippy::too_many_arguments)]
    fn close_to_scale(
        &self,
        kernel: &str,
        output: &str,
        gpu: &[f64],
        cpu: &[f64],
        scale: f64,
        scale_name: &str,
        tol: f64,
        why: &str,
    ) {
        let what = format!("{kernel} {output} [{}]", self.slug);
        assert_close_to_scale(
            &what,
            &self.stem(kernel, output),
            self.nx(),
            gpu,
            cpu,
            scale,
            scale_name,
            tol,
            why,
        );
    }
}

/// The configurations every kernel is checked in (built once, shared by the tests): the three
/// overpotential forms and both double wells, with and without rotated anisotropy.
fn twin_cases() -> &'static [TwinCase] {
    static CASES: std::sync::OnceLock<Vec<TwinCase>> = std::sync::OnceLock::new();
    CASES.get_or_init(|| {
        vec![
            TwinCase::new(
                "isotropic, consistent overpotential, sharp double well",
                "isotropic",
                |_| {},
            ),
            TwinCase::new("anisotropic δ = 0.04, θ0 = 20°", "anisotropic", anisotropic),
            TwinCase::new(
                "single-potential form, polynomial double well, cross term A = 0.5 W1, δ = 0.04, \
                 θ0 = 20°",
                "single-potential",
                |c| {
                    anisotropic(c);
                    c.model.overpotential = lipf_core::config::OverpotentialForm::SinglePotential;
                    c.model.double_well = lipf_core::config::DoubleWell::Polynomial;
                    c.model.cross_term_over_w1 = 0.5;
                },
            ),
            TwinCase::new(
                "two-potential form (room obstacle, Li pressed into the scaffold), δ = 0.04, \
                 θ0 = 20°",
                "two-potential",
                |c| {
                    anisotropic(c);
                    two_potential(c);
                },
            ),
            TwinCase::new(
                "two-potential form in a liquid electrolyte that the Li displaces (flat foil \
                 with Li nuclei, no obstacle), δ = 0.04, θ0 = 20°",
                "liquid",
                |c| {
                    anisotropic(c);
                    two_potential(c);
                    liquid(c);
                },
            ),
            TwinCase::new(
                "two-potential form with the rectifying interphase (forward and reverse band \
                 cells; electronic ASR/ℓ comparable to the electrolyte's 1/σ, ionic k = 1)",
                "interphase",
                |c| {
                    two_potential(c);
                    let ell_m = 2.0 * c.domain.grid_spacing_um * 1e-6;
                    c.material.interphase = Some(lipf_core::config::Interphase {
                        forward_electronic_asr_ohm_m2: 0.1,
                        reverse_electronic_asr_ohm_m2: 1.0,
                        ionic_asr_ohm_m2: ell_m / c.material.llzo_conductivity_s_m,
                    });
                },
            ),
        ]
    })
}

/// One test per kernel: `$body(&mut TwinRunner, &TwinCase)` runs in every configuration of
/// [`twin_cases`], so that one kernel's failure does not hide another's.
macro_rules! twin_test {
    ($name:ident, $body:expr) => {
        #[test]
        fn $name() {
            let Some(ctx) = device() else { return };
            let mut t = TwinRunner::new(&ctx);
            let body: fn(&mut TwinRunner, &TwinCase) = $body;
            for case in twin_cases() {
                eprintln!("== {}: {}", stringify!($name), case.label);
                body(&mut t, case);
            }
        }
    };
}

twin_test!(twin_xi_rate, |t, k| {
    let (c, s, n) = (&k.c, &k.s, k.c.grid.cells());
    // As the case stands and with Li pressed 0.05 beyond the room of every cell whose ϕ lies in
    // (0.1, 0.9), each with the obstacle explicit and by backward Euler over 5 s.
    let pressed: Vec<f64> = round(
        &s.xi
            .iter()
            .zip(&s.phi)
            .map(|(&x, &ph)| {
                if ph > 0.1 && ph < 0.9 {
                    (1.05 - ph).min(1.0)
                } else {
                    x
                }
            })
            .collect::<Vec<f64>>(),
    );
    for (xi, dt_p) in [(&s.xi, 0.0), (&s.xi, 5.0), (&pressed, 0.0), (&pressed, 5.0)] {
        let mut p = cpu::xi_rate::XiRateParams::new(c, true);
        p.obstacle_step_s = dt_p;
        let (mut a, mut g) = (vec![0.0; n], vec![0.0; n]);
        cpu::xi_rate::xi_rate(&p, xi, &s.phi, &s.conc, &s.eta, &mut a, &mut g);
        let (ga, gg) = t.xi_rate(&p, xi, &s.phi, &s.conc, &s.eta).unwrap();
        k.close("xi_rate", "a", k.nx(), &ga, &a, 1e-5, F32_WHY);
        k.close("xi_rate", "g", k.nx(), &gg, &g, 1e-5, F32_WHY);
    }
});

twin_test!(twin_potential_assemble, |t, k| {
    let (c, s) = (&k.c, &k.s);
    let (nx, ny, n) = (c.grid.nx, c.grid.ny, c.grid.cells());
    let mut op = cpu::operator::Operator::zeros(nx, ny);
    let (mut b0, mut b1) = (vec![0.0; n], vec![0.0; n]);
    cpu::potential_assemble::potential_assemble(
        c, &s.xi, &s.phi, &k.a, &k.g, &s.eta, &mut op, &mut b0, &mut b1,
    );
    let (gop, gb0, gb1) = t
        .potential_assemble(c, &s.xi, &s.phi, &k.a, &k.g, &s.eta)
        .unwrap();
    let kernel = "potential_assemble";
    for (name, x, y) in [
        ("tx", &gop.tx, &op.tx),
        ("ty", &gop.ty, &op.ty),
        ("s", &gop.s, &op.s),
        ("diag", &gop.diag, &op.diag),
    ] {
        k.close(kernel, name, nx, x, y, 1e-5, F32_WHY);
    }
    k.close(kernel, "tbot", nx, &gop.tbot, &op.tbot, 1e-5, F32_WHY);
    k.close(kernel, "b0", nx, &gb0, &b0, 1e-5, F32_WHY);
    k.close(kernel, "b1", nx, &gb1, &b1, 1e-5, F32_WHY);
});

/// The electronic operator of case `k` (`cpu::electronic_assemble`): (op, b0, b1).
fn electronic_problem(k: &TwinCase) -> (cpu::operator::Operator, Vec<f64>, Vec<f64>) {
    let (c, s) = (&k.c, &k.s);
    let (nx, ny, n) = (c.grid.nx, c.grid.ny, c.grid.cells());
    let mut op = cpu::operator::Operator::zeros(nx, ny);
    let (mut b0, mut b1) = (vec![0.0; n], vec![0.0; n]);
    cpu::electronic_assemble::electronic_assemble(
        c,
        &s.xi,
        &s.phi,
        &s.electronic_potential,
        &k.a,
        &k.g,
        &mut op,
        &mut b0,
        &mut b1,
    );
    (op, b0, b1)
}

// The electronic problem is the same in every form (only the two-potential form solves it).
twin_test!(twin_electronic_assemble, |t, k| {
    let (c, s) = (&k.c, &k.s);
    let nx = c.grid.nx;
    let (op, b0, b1) = electronic_problem(k);
    let (gop, gb0, gb1) = t
        .electronic_assemble(c, &s.xi, &s.phi, &s.electronic_potential, &k.a, &k.g)
        .unwrap();
    let kernel = "electronic_assemble";
    // Metal and electrolyte differ by up to 10¹² in σ_s: every operator part is compared cell by
    // cell relative to its own size (the harmonic mean of f32 values is exact to a few
    // roundings; a comparison against the largest value would not see the electrolyte's faces).
    for (name, x, y) in [
        ("tx", &gop.tx, &op.tx),
        ("ty", &gop.ty, &op.ty),
        ("s", &gop.s, &op.s),
        ("diag", &gop.diag, &op.diag),
        ("tbot", &gop.tbot, &op.tbot),
    ] {
        let rel: Vec<f64> = x
            .iter()
            .zip(y)
            .map(|(a, b)| if *b == 0.0 { *a } else { (a - b) / b })
            .collect();
        let zero = vec![0.0; rel.len()];
        k.close_to_scale(
            kernel,
            &format!("{name} relative"),
            &rel,
            &zero,
            1.0,
            "1",
            1e-5,
            F32_WHY,
        );
    }
    k.close(kernel, "b0", nx, &gb0, &b0, 1e-5, F32_WHY);
    k.close(kernel, "b1", nx, &gb1, &b1, 1e-5, F32_WHY);
    if c.interphase_phi_hi > 0.0 {
        // The case must exercise both branches of the interphase's law.
        use cpu::electronic_assemble::{in_interphase, interphase_bias};
        let (mut forward, mut reverse) = (0, 0);
        for j in 0..c.grid.ny {
            for i in 0..nx {
                if in_interphase(c, s.phi[j * nx + i]) {
                    let b =
                        interphase_bias([nx, c.grid.ny, 1], &s.phi, &s.electronic_potential, i, j);
                    if b > 0.0 {
                        reverse += 1;
                    } else {
                        forward += 1;
                    }
                }
            }
        }
        eprintln!("interphase cells: {forward} forward, {reverse} reverse");
        assert!(
            forward > 20 && reverse > 20,
            "{forward} forward, {reverse} reverse cells"
        );
    }
});

twin_test!(twin_cg_coupled, |t, k| {
    // The coupling of the block matrix (solver.rs, CoupledMultigrid::apply and ::residual):
    // v_l ± S u_s, v_s ± S u_l with the ionic operator's S.
    let s = &k.s;
    let nx = k.nx();
    let u = [&s.potential[..], &s.electronic_potential[..]];
    let v = [&k.b0[..], &k.b1[..]];
    for (subtract, entry) in [(false, "couple_residual"), (true, "couple_apply")] {
        let sign = if subtract { -1.0 } else { 1.0 };
        let want: [Vec<f64>; 2] = [0, 1].map(|b| {
            (0..v[b].len())
                .map(|q| v[b][q] + sign * k.op.s[q] * u[1 - b][q])
                .collect()
        });
        let got = t.couple(&k.op, u, v, subtract).unwrap();
        for (b, block) in ["l", "s"].iter().enumerate() {
            let scale = (0..v[b].len()).fold(0.0f64, |m, q| {
                m.max(v[b][q].abs() + (k.op.s[q] * u[1 - b][q]).abs())
            });
            k.close_to_scale(
                "cg_coupled",
                &format!("{entry} v_{block}"),
                &got[b],
                &want[b],
                scale,
                "max(|v| + |S u|)",
                1e-6,
                F32_WHY,
            );
        }
    }
    // The shift into the collector's frame and back (cpu_backend.rs, relative_to_collector).
    for (unit, v_shift) in [(true, 1.0), (false, TWIN_V_COLLECTOR)] {
        for sign in [-1.0, 1.0] {
            let got = t
                .shift_potentials(k.c.grid.nx, k.c.grid.ny, u, unit, sign, TWIN_V_COLLECTOR)
                .unwrap();
            for (b, block) in ["l", "s"].iter().enumerate() {
                let want: Vec<f64> = u[b].iter().map(|x| x + sign * v_shift).collect();
                k.close(
                    "cg_coupled",
                    &format!("shift_potentials unit={unit} sign={sign} x_{block}"),
                    nx,
                    &got[b],
                    &want,
                    1e-6,
                    "one f32 addition",
                );
            }
        }
    }
});

twin_test!(twin_reduce_two_blocks, |t, k| {
    // The sums of both blocks of the coupled solve (cpu/reduce.rs, summed over the blocks as
    // dot_2 and l1_2 of CoupledMultigrid::solve do), from the same f32 inputs.
    let s = &k.s;
    let a = [&k.b0[..], &k.b1[..]];
    let b = [&s.potential[..], &s.electronic_potential[..]];
    let (nx, ny) = (k.nx(), k.c.grid.ny);
    let dot: f64 = (0..2).map(|q| cpu::reduce::dot(a[q], b[q], nx, ny)).sum();
    let dot_size: f64 = (0..2)
        .map(|q| {
            a[q].iter()
                .zip(b[q])
                .map(|(x, y)| (x * y).abs())
                .sum::<f64>()
        })
        .sum();
    let l1 = |v: [&[f64]; 2]| -> f64 { v.iter().map(|x| cpu::reduce::l1(x, nx, ny)).sum() };
    let why = "the device sums in f32 (per thread, then a 256-wide tree), the CPU in f64; \
               relative to the sum of the terms' sizes";
    let check = |what: &str, gpu: f64, cpu: f64, size: f64| {
        let d = (gpu - cpu).abs() / size.max(1e-300);
        let msg = format!(
            "reduce {what} [{}]: gpu {gpu:e}, cpu {cpu:e}, |diff| = {d:.2e} of {size:.3e} \
             (tolerance 1e-5: {why})",
            k.slug
        );
        eprintln!("{msg}");
        if d.is_nan() || d > 1e-5 {
            let files = write_failure(&k.stem("reduce", what), &msg, 1, &[gpu], &[cpu]);
            panic!("{msg}\n{files}");
        }
    };
    let (gd, _) = t.reduce_two_blocks(KernelId::Dot2Partials, a, b).unwrap();
    check("dot2", gd, dot, dot_size);
    let (gl, _) = t.reduce_two_blocks(KernelId::L1Partials2, a, b).unwrap();
    check("l1_2", gl, l1(a), l1(a));
    let (gr, gb) = t
        .reduce_two_blocks(KernelId::ResidualNorm2Partials, a, b)
        .unwrap();
    check("residual_norm2 r", gr, l1(a), l1(a));
    check("residual_norm2 b", gb, l1(b), l1(b));
});

/// `copy.wgsl`: the copy is bitwise (`copy_from_slice` on the host: the buffer swaps of the CPU
/// backend) and the fill is 0 in every cell, on a grid that crosses workgroup borders in both
/// directions (37 × 21 against 16 × 16 groups) and leaves nothing past its end.
#[test]
fn twin_copy() {
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    let (nx, ny) = (37, 21);
    let src: Vec<f64> = (0..nx * ny)
        .map(|k| ((k as f64) * 0.731).sin() as f32 as f64)
        .collect();
    let dst = vec![-3.0; nx * ny];
    let (copied, zeroed) = t.copy(nx, ny, &src, &dst).unwrap();
    let mut cpu = dst.clone();
    cpu.copy_from_slice(&src);
    let differ = (0..nx * ny).filter(|&k| copied[k] != cpu[k]).count();
    assert_eq!(differ, 0, "copy: {differ} cells differ from the source");
    let nonzero = zeroed.iter().filter(|&&v| v != 0.0).count();
    assert_eq!(nonzero, 0, "fill_zero: {nonzero} cells are not 0");
}

twin_test!(twin_observables, |t, k| {
    // Σξ and Σ(ξ + ϕ − 1)₊ (cpu/observables.rs) from ξ split into the device's compensated f32
    // pair (hi = f32(ξ), lo = f32(ξ − hi)), so the device sums the same ξ as the CPU to ~1e-14.
    // The Li is pressed 0.05 beyond its room in a band of cells so that the excess sum is not 0
    // (a liquid leaves the whole cell: there ξ overshoots 1 by 0.05).
    let s = &k.s;
    let solid = 1.0 - k.c.liquid();
    let mut xi = s.xi.clone();
    for (x, &p) in xi.iter_mut().zip(&s.phi) {
        if p > 0.2 && p < 0.8 {
            *x = if solid > 0.0 {
                (1.0 - p + 0.05).min(1.0)
            } else {
                1.05
            };
        }
    }
    let hi: Vec<f64> = xi.iter().map(|&x| x as f32 as f64).collect();
    let lo: Vec<f64> = xi.iter().zip(&hi).map(|(&x, &h)| x - h).collect();
    let cpu = cpu::observables::observables(k.nx(), &xi, &s.phi, solid);
    let (gx, ge) = t.observables(&k.c, &hi, &lo, &s.phi).unwrap();
    // The sums' scale: Σξ. The excess differs by the f32 rounding of ϕ (≤ 6e-8 per cell) and the
    // workgroup sums' compensated rounding; 1e-6 of Σξ bounds both.
    let scale = cpu.xi.max(1.0);
    assert!(
        cpu.excess > 1e-3 * scale,
        "the case presses no Li beyond its room"
    );
    for (what, g, c) in [("Σξ", gx, cpu.xi), ("Σ(ξ+ϕ−1)₊", ge, cpu.excess)] {
        let d = (g - c).abs() / scale;
        let msg = format!(
            "observables {what} [{}]: gpu {g:.9e}, cpu {c:.9e}, |diff| = {d:.2e} of Σξ = \
             {scale:.3e} (tolerance 1e-6: f32 ϕ and the device's compensated f32 sums)",
            k.slug
        );
        eprintln!("{msg}");
        if d.is_nan() || d > 1e-6 {
            let files = write_failure(&k.stem("observables", what), &msg, 1, &[g], &[c]);
            panic!("{msg}\n{files}");
        }
    }
});

twin_test!(twin_cg_vectors, |t, k| {
    // x += α p, r −= α q, then p = z + β p (solver.rs's loops), with fields of the case and
    // α, β of the size CG produces.
    let s = &k.s;
    let (alpha, beta) = (0.37, 0.81);
    let (p, q, z) = (&s.potential, &k.b0, &s.eta);
    let (mut x, mut r) = (s.electronic_potential.clone(), k.b1.clone());
    let mut pn = p.clone();
    cpu::cg_vectors::cg_update_xr(alpha, p, q, &mut x, &mut r);
    cpu::cg_vectors::cg_update_p(beta, z, &mut pn);
    let [xg, rg, pg] = t
        .cg_vectors(
            (k.nx(), k.c.grid.ny),
            alpha,
            beta,
            p,
            q,
            z,
            &s.electronic_potential,
            &k.b1,
        )
        .unwrap();
    for (name, g, c) in [("x", &xg, &x), ("r", &rg, &r), ("p", &pg, &pn)] {
        k.close("cg_vectors", name, k.nx(), g, c, 1e-5, F32_WHY);
    }
});

twin_test!(twin_mg_smooth, |t, k| {
    for colour in [0, 1] {
        let mut x = k.s.potential.clone();
        cpu::mg_smooth::mg_smooth(&k.op, &k.b0, &mut x, colour);
        let xg = t
            .mg_smooth(&k.op, &k.b0, &k.s.potential, colour as u32)
            .unwrap();
        let output = format!("colour{colour}");
        k.close("mg_smooth", &output, k.nx(), &xg, &x, 1e-5, F32_WHY);
    }
});

/// The residual is a difference of terms |diag·x| ≫ |r|: it is compared against that size.
const CANCEL_WHY: &str = "f32 against f64: b − A x cancels terms of size |diag·x| ≫ |r|, \
     each rounded to f32";

fn diag_x_scale(k: &TwinCase) -> f64 {
    let x = &k.s.potential;
    (0..x.len()).fold(0.0f64, |m, i| m.max((k.op.diag[i] * x[i]).abs()))
}

twin_test!(twin_mg_residual, |t, k| {
    let x = &k.s.potential;
    let mut r = vec![0.0; x.len()];
    cpu::mg_residual::mg_residual(&k.op, &k.b0, x, &mut r);
    let rg = t.mg_residual(&k.op, &k.b0, x).unwrap();
    let scale = diag_x_scale(k);
    k.close_to_scale(
        "mg_residual",
        "r",
        &rg,
        &r,
        scale,
        "max|diag·x|",
        1e-6,
        CANCEL_WHY,
    );
});

twin_test!(twin_mg_apply, |t, k| {
    let x = &k.s.potential;
    let mut y = vec![0.0; x.len()];
    cpu::mg_residual::mg_apply(&k.op, x, &mut y);
    let yg = t.mg_apply(&k.op, x).unwrap();
    let scale = diag_x_scale(k);
    k.close_to_scale(
        "mg_apply",
        "y",
        &yg,
        &y,
        scale,
        "max|diag·x|",
        1e-6,
        CANCEL_WHY,
    );
});

twin_test!(twin_mg_restrict, |t, k| {
    let (nx, ny) = (k.c.grid.nx, k.c.grid.ny);
    let (nxc, nyc) = (nx.div_ceil(2), ny.div_ceil(2));
    let mut rc = vec![0.0; nxc * nyc];
    cpu::mg_restrict::mg_restrict(&k.b0, [nx, ny, 1], &mut rc);
    let gc = t.mg_restrict(&k.b0, [nx, ny, 1]).unwrap();
    k.close("mg_restrict", "", nxc, &gc, &rc, 1e-6, F32_WHY);
});

twin_test!(twin_mg_prolong, |t, k| {
    let (nx, ny) = (k.c.grid.nx, k.c.grid.ny);
    let (nxc, nyc) = (nx.div_ceil(2), ny.div_ceil(2));
    let mut rc = vec![0.0; nxc * nyc];
    cpu::mg_restrict::mg_restrict(&k.b0, [nx, ny, 1], &mut rc);
    let coarse = round(&rc);
    let x = &k.s.potential;
    let mut fine = x.clone();
    cpu::mg_prolong::mg_prolong(&coarse, 1.8, [nx, ny, 1], &mut fine);
    let gf = t.mg_prolong(&coarse, 1.8, [nx, ny, 1], x).unwrap();
    k.close("mg_prolong", "", nx, &gf, &fine, 1e-6, F32_WHY);
});

twin_test!(twin_mg_coarsen, |t, k| {
    let (nxc, nyc) = (k.c.grid.nx.div_ceil(2), k.c.grid.ny.div_ceil(2));
    let mut cop = cpu::operator::Operator::zeros(nxc, nyc);
    cpu::mg_coarsen::mg_coarsen(&k.op, &mut cop);
    let gco = t.mg_coarsen(&k.op).unwrap();
    for (name, x, y) in [
        ("tx", &gco.tx, &cop.tx),
        ("ty", &gco.ty, &cop.ty),
        ("s", &gco.s, &cop.s),
        ("diag", &gco.diag, &cop.diag),
        ("tbot", &gco.tbot, &cop.tbot),
    ] {
        k.close("mg_coarsen", name, nxc, x, y, 1e-6, F32_WHY);
    }
});

/// A 3D operator of contrast 50 (conductance 1 in "LLZO", 0.02 in "pores" of a pattern that
/// varies along all three directions), bottom conductances and an S of the size of the faces,
/// each value rounded to f32 as the device holds it. The contrast is moderate so that every
/// cell's update has the same size and a wrong face shows against the largest value (with the
/// potentials' 1e-9 floors the pore cells' values would dwarf the rest); the contrast itself is
/// the multigrid tests' subject on the CPU.
fn contrast_operator_3d([nx, ny, nz]: [usize; 3]) -> cpu::operator::Operator {
    let sigma: Vec<f64> = (0..nx * ny * nz)
        .map(|c| {
            let (i, j, k) = (c % nx, (c / nx) % ny, c / (nx * ny));
            if (i / 3 + j / 4 + k / 2) % 2 == 0 || j >= ny - 2 {
                1.0
            } else {
                0.02
            }
        })
        .collect();
    let mut op = cpu::operator::Operator::zeros3(nx, ny, nz);
    op.set_face_conductances(&sigma);
    for k in 0..nz {
        for i in 0..nx {
            op.tbot[k * nx + i] = 2.0 * sigma[k * nx * ny + i];
        }
    }
    for (c, s) in op.s.iter_mut().enumerate() {
        *s = 0.05 * ((c * 7919) % 11) as f64;
    }
    op.update_diagonal();
    let shape = op.shape();
    lipf_gpu::twin::unpack_operator(shape, &round(&lipf_gpu::twin::pack_operator(&op)))
}

/// Square cylinder pores in a box 20 × 32 cells across and 5 sections deep (crossing the
/// 16 × 16 workgroups in x and y, an odd depth: mg_smooth's second pass), 20 A/m², steps of
/// 0.1 s, the implicit Nernst–Planck step of 3D runs.
fn config_3d() -> Config {
    let mut c = Config::from_file(&repo_path("configs/3d/cylinders-1.5um.json")).unwrap();
    c.domain.width_um = 5.0;
    c.domain.depth_um = Some(1.25);
    c.domain.height_um = 8.0;
    c.geometry.pore_size_um = 1.0;
    c.geometry.li_foil_thickness_um = 1.0;
    c.geometry.impregnation_depth_um = 1.0;
    // Thick enough for the interphase's band (3ℓ to 4ℓ into the electrolyte).
    c.geometry.dense_cap_thickness_um = 3.0;
    c.control.current_density_a_m2 = 20.0;
    c.time.max_dt_s = Some(0.1);
    c
}

/// A 3D state for the step kernels' twins: square cylinder pores in a box 20 × 32 cells across
/// and 5 sections deep (crossing the 16 × 16 workgroups in x and y, an odd depth), after three
/// CPU steps of 0.1 s at 20 A/m², so that the potentials, η and c̃ are not uniform. Fields
/// rounded to f32.
fn twin_state_3d() -> (Config, lipf_core::Coefficients, lipf_core::State) {
    let c = config_3d();
    let mut b = lipf_core::CpuBackend::new(&c).unwrap();
    b.advance(0.3, &lipf_core::StopFlag::new()).unwrap();
    let mut s = b.state().clone();
    assert_eq!((s.grid.nx, s.grid.ny, s.grid.nz), (20, 32, 5));
    for v in [
        &mut s.xi,
        &mut s.phi,
        &mut s.conc,
        &mut s.potential,
        &mut s.eta,
        &mut s.electronic_potential,
    ] {
        *v = round(v);
    }
    (c.clone(), lipf_core::Coefficients::from_config(&c), s)
}

/// |gpu − cpu| ≤ tol · |cpu| + tiny cell by cell (for conductances that span many decades, where
/// a comparison against the largest value would not see the small ones).
fn assert_close_each(what: &str, gpu: &[f64], cpu: &[f64], tol: f64) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    let tiny = 1e-30;
    let (worst, at) = gpu
        .iter()
        .zip(cpu)
        .enumerate()
        .map(|(c, (g, x))| ((g - x).abs() / (x.abs() + tiny), c))
        .fold((0.0f64, 0), |m, v| if v.0 > m.0 { v } else { m });
    eprintln!("{what}: worst relative difference {worst:.2e} at {at}");
    assert!(
        worst <= tol,
        "{what}: gpu {} against cpu {} at {at}",
        gpu[at],
        cpu[at]
    );
}

/// Every part of a 3D operator (`what` names the kernel and case) cell by cell to `tol` of its
/// own size, and its right-hand sides to 1e-5 of their largest value.
fn assert_operator_close(
    what: &str,
    g: &cpu::operator::Operator,
    c: &cpu::operator::Operator,
    rhs: &[(&str, &[f64], &[f64])],
    tol: f64,
) {
    assert_eq!(g.tz.len(), c.tz.len(), "{what}: tz");
    for (name, x, y) in [
        ("tx", &g.tx, &c.tx),
        ("ty", &g.ty, &c.ty),
        ("tz", &g.tz, &c.tz),
        ("s", &g.s, &c.s),
        ("diag", &g.diag, &c.diag),
        ("tbot", &g.tbot, &c.tbot),
    ] {
        assert_close_each(&format!("{what} {name}"), x, y, tol);
    }
    for (name, x, y) in rhs {
        let stem = format!("{}.{name}", what.replace([' ', ',', '[', ']'], ""));
        assert_close(&format!("{what} {name}"), &stem, c.nx, x, y, 1e-5, F32_WHY);
    }
}

/// The step kernels with z faces against their CPU twins on a 3D state: xi_rate (isotropic z
/// fluxes, the Kobayashi anisotropy in the sections), potential_assemble,
/// electronic_assemble and np_assemble (the shared operator store with tz and per-section bottom
/// conductances).
#[test]
fn step_kernels_match_their_twins_in_3d() {
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    let (cfg, c, s) = twin_state_3d();
    let (g, n) = (c.grid, c.grid.cells());
    let p = cpu::xi_rate::XiRateParams::new(&c, true);
    let (mut a, mut gg) = (vec![0.0; n], vec![0.0; n]);
    cpu::xi_rate::xi_rate(&p, &s.xi, &s.phi, &s.conc, &s.eta, &mut a, &mut gg);
    let (ga, ggg) = t.xi_rate(&p, &s.xi, &s.phi, &s.conc, &s.eta).unwrap();
    // In the foil (ξ ≈ 1, ϕ ≈ 0) the room obstacle's rate 2LσB (ξ + ϕ − 1)₊ turns the f32
    // rounding of ξ + ϕ − 1 (a few 1e-8) into a few 1e-8 s⁻¹ (2LσB = 2 s⁻¹ here), of the size
    // of 1e-5 of this state's largest |a| (1.4e-3 s⁻¹, a quiet state): measured 6e-8 in the foil's
    // rows, the same in every section, so not a z term. The scale is therefore the larger of
    // max|a| and 2LσB times 4 f32 roundings; a wrong z flux is of order Lσκ0Δξ/Δx² ~ 1e-3 s⁻¹.
    let obstacle_scale = 2.0 * p.l_sigma * p.b_obstacle * 4.0 * f32::EPSILON as f64 / 1e-5;
    let a_scale = a.iter().fold(obstacle_scale, |m, v| m.max(v.abs()));
    assert_close_to_scale(
        "xi_rate a [3d]",
        "xi_rate-3d.a",
        g.nx,
        &ga,
        &a,
        a_scale,
        "max(max|a|, 2LσB·4ε_f32/1e-5)",
        1e-5,
        F32_WHY,
    );
    assert_close(
        "xi_rate g [3d]",
        "xi_rate-3d.g",
        g.nx,
        &ggg,
        &gg,
        1e-5,
        F32_WHY,
    );
    let (a, gg) = (round(&a), round(&gg));

    let mut op = cpu::operator::Operator::zeros3(g.nx, g.ny, g.nz);
    let (mut b0, mut b1) = (vec![0.0; n], vec![0.0; n]);
    cpu::potential_assemble::potential_assemble(
        &c, &s.xi, &s.phi, &a, &gg, &s.eta, &mut op, &mut b0, &mut b1,
    );
    let (gop, gb0, gb1) = t
        .potential_assemble(&c, &s.xi, &s.phi, &a, &gg, &s.eta)
        .unwrap();
    assert!(!op.tz.is_empty());
    assert_operator_close(
        "potential_assemble [3d]",
        &gop,
        &op,
        &[("b0", &gb0, &b0), ("b1", &gb1, &b1)],
        1e-5,
    );

    let mut eop = cpu::operator::Operator::zeros3(g.nx, g.ny, g.nz);
    cpu::electronic_assemble::electronic_assemble(
        &c,
        &s.xi,
        &s.phi,
        &s.electronic_potential,
        &a,
        &gg,
        &mut eop,
        &mut b0,
        &mut b1,
    );
    let (geop, gb0, gb1) = t
        .electronic_assemble(&c, &s.xi, &s.phi, &s.electronic_potential, &a, &gg)
        .unwrap();
    assert_operator_close(
        "electronic_assemble [3d]",
        &geop,
        &eop,
        &[("b0", &gb0, &b0), ("b1", &gb1, &b1)],
        1e-5,
    );

    // The rectifying interphase, whose band's conductance depends on the sign of ∇φ_s·∇ϕ, now
    // with z terms: φ_s perturbed by short waves along x, y and z so that band cells see both
    // signs, some only through the z term.
    let mut icfg = cfg.clone();
    let ell_m = 2.0 * icfg.domain.grid_spacing_um * 1e-6;
    icfg.material.interphase = Some(lipf_core::config::Interphase {
        forward_electronic_asr_ohm_m2: 0.1,
        reverse_electronic_asr_ohm_m2: 1.0,
        ionic_asr_ohm_m2: ell_m / icfg.material.llzo_conductivity_s_m,
    });
    let ic = lipf_core::Coefficients::from_config(&icfg);
    let phi_s: Vec<f64> = (0..n)
        .map(|q| {
            let (i, j, k) = (
                (q % g.nx) as f64,
                ((q / g.nx) % g.ny) as f64,
                (q / (g.nx * g.ny)) as f64,
            );
            s.electronic_potential[q] + 5e-5 * (1.1 * i + 0.9 * j + 2.3 * k).sin()
        })
        .collect();
    let phi_s = round(&phi_s);
    // Every cell in the band, ϕ varying along z most (the state's own band cells lie in the
    // flat cap, where ∇ϕ has no z part and the z term of the bias could not show).
    let (lo, hi) = (ic.interphase_phi_lo, ic.interphase_phi_hi);
    let band_phi: Vec<f64> = (0..n)
        .map(|q| {
            let (i, j, k) = (
                (q % g.nx) as f64,
                ((q / g.nx) % g.ny) as f64,
                (q / (g.nx * g.ny)) as f64,
            );
            lo + (hi - lo) * (0.5 + 0.45 * (2.3 * k + 0.4 * i + 0.3 * j).sin())
        })
        .collect();
    let band_phi = round(&band_phi);
    assert!(band_phi
        .iter()
        .all(|&p| cpu::electronic_assemble::in_interphase(&ic, p)));
    cpu::electronic_assemble::electronic_assemble(
        &ic, &s.xi, &band_phi, &phi_s, &a, &gg, &mut eop, &mut b0, &mut b1,
    );
    let (geop, _, _) = t
        .electronic_assemble(&ic, &s.xi, &band_phi, &phi_s, &a, &gg)
        .unwrap();
    assert_operator_close(
        "electronic_assemble [3d, interphase]",
        &geop,
        &eop,
        &[],
        1e-5,
    );

    // The conserved noise with the z faces (faces 2n + k): the same Philox words on both sides.
    let mut nc = c.clone();
    nc.noise_amplitude_per_sqrt_s = 0.3;
    nc.noise_seed = (1 << 33) + 5;
    let mut d = vec![0.0; n];
    cpu::xi_noise::xi_noise(
        g.shape(),
        nc.noise_amplitude_per_sqrt_s,
        nc.noise_room_phi(),
        nc.noise_seed,
        7,
        &s.xi,
        &s.phi,
        &mut d,
    );
    let gd = t.xi_noise(&nc, 7, 1, &s.xi, &s.phi).unwrap();
    assert!(
        d.iter().any(|&v| v != 0.0),
        "the state has interfaces for the noise"
    );
    assert_close(
        "xi_noise [3d]",
        "xi_noise-3d",
        g.nx,
        &gd,
        &d,
        1e-5,
        "the same Philox words and ζ; m and the six-face sum in f32",
    );

    let dt = 0.5;
    let dif: Vec<f64> =
        s.xi.iter()
            .zip(&s.phi)
            .map(|(&x, &ph)| cpu::conc_update::cell_diffusivity(&c, x, ph))
            .collect();
    let (mut rate, mut eta) = (vec![0.0; n], vec![0.0; n]);
    cpu::reaction_rate::reaction_rate(
        &c,
        &a,
        &gg,
        &s.eta,
        &s.potential,
        &s.electronic_potential,
        s.v_collector,
        &mut rate,
        &mut eta,
    );
    let rate = round(&rate);
    let mut nop = cpu::operator::Operator::zeros3(g.nx, g.ny, g.nz);
    let (mut rhs, mut u) = (vec![0.0; n], vec![0.0; n]);
    cpu::np_assemble::np_assemble(
        &c,
        dt,
        &dif,
        &s.potential,
        &rate,
        &s.conc,
        &mut nop,
        &mut rhs,
        &mut u,
    );
    let (gnop, grhs, gu) = t
        .np_assemble(&c, dt, &s.xi, &s.phi, &s.potential, &rate, &s.conc)
        .unwrap();
    assert!(gnop.tbot.iter().all(|&t| t == 0.0));
    assert_operator_close("np_assemble [3d]", &gnop, &nop, &[], 1e-5);
    // The device's problem in correction form, rhs = b − A u0 (twin_np_assemble). Each face's
    // flux T e^{fφ}[(c̃_n − c̃_k) + c̃ fΔφ exprel] keeps the f32 precision of its own size, so
    // the scale is the largest sum of |face fluxes| of a cell (in this quiet state 2e-5, the
    // net rhs as small: measured 6e-8 differences in every section alike, 2.6e-3 of max|rhs|).
    let mut r0 = vec![0.0; n];
    cpu::mg_residual::mg_residual(&nop, &rhs, &u, &mut r0);
    let f = c.f_over_rt_per_v;
    let flux_scale = (0..n).fold(0.0f64, |m, k| {
        let mut sum = 0.0;
        nop.for_each_face(k, |nb, t| {
            if let Some(q) = nb {
                let (dc, dphi) = (s.conc[q] - s.conc[k], s.potential[q] - s.potential[k]);
                sum += t * (f * s.potential[k]).exp() * (dc.abs() + s.conc[q] * (f * dphi).abs());
            }
        });
        m.max(sum)
    });
    assert_close_to_scale(
        "np_assemble rhs [3d]",
        "np_assemble-3d.rhs",
        g.nx,
        &grhs,
        &r0,
        flux_scale,
        "max Σ|face flux|",
        1e-5,
        F32_WHY,
    );
    assert!(gu.iter().all(|&v| v == 0.0));
}

/// A 3D run on the device follows the CPU's (check 4 of the issue "Three dimensions"): the
/// `config_3d` cylinders for 1 s (10 steps of 0.1 s, the implicit Nernst–Planck step, the
/// coupled two-potential solve with mg_smooth's odd-depth second pass), from the CPU's initial
/// state: cell voltage, charge and plated Li, and ξ, c̃ and both potentials cell by cell.
#[test]
fn the_gpu_backend_follows_the_cpu_in_3d() {
    let Some(ctx) = device() else { return };
    let cfg = config_3d();
    let t = 1.0;
    let (sg, sc) = run_on_both(ctx, &cfg, t);
    let c = lipf_core::Coefficients::from_config(&cfg);
    let li = |s: &lipf_core::State| {
        lipf_core::observables::li_amount_mol_m2(&c, s) - s.li_amount0_mol_m2
    };
    let fg = lipf_core::observables::faraday_error(&c, &sg);
    eprintln!(
        "3D to {t} s: steps {} / {}, V {:.6e} / {:.6e} V, charge {} / {} C/m², plated {:.6e} / \
         {:.6e} mol/m², GPU Faraday {fg:.2e}",
        sg.step,
        sc.step,
        sg.v_collector,
        sc.v_collector,
        sg.charge_c_m2,
        sc.charge_c_m2,
        li(&sg),
        li(&sc)
    );
    assert_eq!(sg.step, sc.step);
    assert!((sg.v_collector / sc.v_collector - 1.0).abs() < 1e-3);
    assert!((sg.charge_c_m2 / sc.charge_c_m2 - 1.0).abs() < 1e-4);
    assert!((li(&sg) / li(&sc) - 1.0).abs() < 5e-3, "plated Li");
    assert!(fg < 5e-3, "GPU Faraday balance {fg}");
    assert_fields_follow(
        "3d",
        &[
            ("xi", &sg.xi, &sc.xi, 1e-4, 0.0),
            ("c", &sg.conc, &sc.conc, 1e-5, 0.0),
            ("potential", &sg.potential, &sc.potential, 1e-3, 0.0),
            (
                "electronic_potential",
                &sg.electronic_potential,
                &sc.electronic_potential,
                1e-3,
                0.0,
            ),
        ],
    );
}

/// `cfg` run to `t` s on the GPU backend (on `ctx`) and on the CPU backend, both from the CPU
/// backend's initial state: (GPU state, CPU state).
fn run_on_both(ctx: GpuContext, cfg: &Config, t: f64) -> (lipf_core::State, lipf_core::State) {
    let mut cpu = CpuBackend::new(cfg).expect("initial state");
    let state = Backend::state(&mut cpu).clone();
    let mut gpu =
        GpuBackend::with_state(ctx, cfg, state, cpu.geometry().clone()).expect("GPU backend");
    gpu.advance(t, &StopFlag::new()).expect("GPU run");
    cpu.advance(t, &StopFlag::new()).expect("CPU run");
    (gpu.state().clone(), Backend::state(&mut cpu).clone())
}

/// A field of a GPU run against the CPU's: (name, gpu, cpu, tol, floor).
type FieldCheck<'a> = (&'a str, &'a [f64], &'a [f64], f64, f64);

/// Each field of a GPU run against the CPU's: the largest |gpu − cpu| at most tol × the larger
/// of `floor` and the CPU field's largest magnitude.
fn assert_fields_follow(label: &str, fields: &[FieldCheck]) {
    for &(name, g, x, tol, floor) in fields {
        let scale = x.iter().fold(floor, |m, v| m.max(v.abs()));
        let worst = g
            .iter()
            .zip(x.iter())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        eprintln!("{label} {name}: worst |gpu − cpu| {worst:.2e} of {scale:.3e}");
        assert!(
            worst <= tol * scale,
            "{label} {name}: {worst:e} of {scale:e}"
        );
    }
}

/// mg_smooth's passes: one over all sections, or, with odd nz > 1, sections 0..nz−1 first and
/// the last alone after them (the CPU twin sweeps its rows in that order; on a device one
/// dispatch over all sections would race across the periodic seam, which lavapipe, running
/// workgroups in order, would not show).
#[test]
fn the_smoother_sweeps_the_last_section_of_an_odd_depth_apart() {
    use lipf_gpu::params::smooth_passes;
    assert_eq!(smooth_passes([40, 33, 1]), vec![(false, [3, 3, 1])]);
    assert_eq!(smooth_passes([40, 33, 4]), vec![(false, [3, 3, 4])]);
    assert_eq!(
        smooth_passes([40, 33, 5]),
        vec![(false, [3, 3, 4]), (true, [3, 3, 1])]
    );
    for nz in 1..8 {
        let rows = cpu::mg_smooth::rows_before_last_section(33, nz);
        let first = smooth_passes([40, 33, nz])[0].1[2] as usize;
        assert_eq!(rows, first * 33, "nz = {nz}");
    }
}

/// Every multigrid kernel of a 3D level against its CPU twin, on shapes that cross the 16 × 16
/// workgroups in x and y and have odd and even numbers of z-sections (odd: mg_smooth's second
/// pass over the last section), and one column (nx = 1).
#[test]
fn multigrid_kernels_match_their_twins_in_3d() {
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    for shape in [[19, 21, 5], [17, 18, 4], [33, 3, 3], [1, 20, 7]] {
        let [nx, ny, nz] = shape;
        let n = nx * ny * nz;
        let op = contrast_operator_3d(shape);
        let b = round(
            &(0..n)
                .map(|c| ((c * 31) % 17) as f64 - 8.0)
                .collect::<Vec<_>>(),
        );
        let x = round(
            &(0..n)
                .map(|c| ((c * 13) % 7) as f64 * 0.25)
                .collect::<Vec<_>>(),
        );
        let slug = format!("{nx}x{ny}x{nz}");
        let what = |kernel: &str, output: &str| format!("{kernel} {output} [{slug}]");
        let stem = |kernel: &str, output: &str| format!("{kernel}-3d-{slug}{output}");
        for colour in [0, 1] {
            let mut xc = x.clone();
            cpu::mg_smooth::mg_smooth(&op, &b, &mut xc, colour);
            let xg = t.mg_smooth(&op, &b, &x, colour as u32).unwrap();
            let out = format!("colour{colour}");
            assert_close(
                &what("mg_smooth", &out),
                &stem("mg_smooth", &out),
                nx,
                &xg,
                &xc,
                1e-5,
                F32_WHY,
            );
        }
        let scale = (0..n).fold(0.0f64, |m, c| m.max((op.diag[c] * x[c]).abs()));
        let mut r = vec![0.0; n];
        cpu::mg_residual::mg_residual(&op, &b, &x, &mut r);
        let rg = t.mg_residual(&op, &b, &x).unwrap();
        assert_close_to_scale(
            &what("mg_residual", "r"),
            &stem("mg_residual", ""),
            nx,
            &rg,
            &r,
            scale,
            "max|diag·x|",
            1e-6,
            CANCEL_WHY,
        );
        let mut y = vec![0.0; n];
        cpu::mg_residual::mg_apply(&op, &x, &mut y);
        let yg = t.mg_apply(&op, &x).unwrap();
        assert_close_to_scale(
            &what("mg_apply", "y"),
            &stem("mg_apply", ""),
            nx,
            &yg,
            &y,
            scale,
            "max|diag·x|",
            1e-6,
            CANCEL_WHY,
        );
        let coarse_shape = shape.map(|v| v.div_ceil(2));
        let nc: usize = coarse_shape.iter().product();
        let mut rc = vec![0.0; nc];
        cpu::mg_restrict::mg_restrict(&b, shape, &mut rc);
        let gc = t.mg_restrict(&b, shape).unwrap();
        assert_close(
            &what("mg_restrict", ""),
            &stem("mg_restrict", ""),
            coarse_shape[0],
            &gc,
            &rc,
            1e-6,
            F32_WHY,
        );
        let coarse = round(&rc);
        let mut fine = x.clone();
        cpu::mg_prolong::mg_prolong(&coarse, 1.8, shape, &mut fine);
        let gf = t.mg_prolong(&coarse, 1.8, shape, &x).unwrap();
        assert_close(
            &what("mg_prolong", ""),
            &stem("mg_prolong", ""),
            nx,
            &gf,
            &fine,
            1e-6,
            F32_WHY,
        );
        let mut cop =
            cpu::operator::Operator::zeros3(coarse_shape[0], coarse_shape[1], coarse_shape[2]);
        cpu::mg_coarsen::mg_coarsen(&op, &mut cop);
        let gco = t.mg_coarsen(&op).unwrap();
        assert_operator_close(&what("mg_coarsen", ""), &gco, &cop, &[], 1e-6);
    }
}

twin_test!(twin_reaction_rate, |t, k| {
    let (c, s, n) = (&k.c, &k.s, k.c.grid.cells());
    let v = TWIN_V_COLLECTOR;
    let (mut rate, mut eta) = (vec![0.0; n], vec![0.0; n]);
    cpu::reaction_rate::reaction_rate(
        c,
        &k.a,
        &k.g,
        &s.eta,
        &s.potential,
        &s.electronic_potential,
        v,
        &mut rate,
        &mut eta,
    );
    let (grate, geta) = t
        .reaction_rate(
            c,
            &k.a,
            &k.g,
            &s.eta,
            &s.potential,
            &s.electronic_potential,
            v,
        )
        .unwrap();
    k.close(
        "reaction_rate",
        "rate",
        k.nx(),
        &grate,
        &rate,
        1e-5,
        F32_WHY,
    );
    k.close("reaction_rate", "eta", k.nx(), &geta, &eta, 1e-5, F32_WHY);
});

/// The Nernst–Planck step of the twin tests, s.
const TWIN_DT_S: f64 = 5e-3;

twin_test!(twin_conc_update, |t, k| {
    let (c, s, n) = (&k.c, &k.s, k.c.grid.cells());
    let mut cn = vec![0.0; n];
    cpu::conc_update::conc_update(
        c,
        TWIN_DT_S,
        &k.dif,
        &s.conc,
        &s.potential,
        &k.rate,
        &mut cn,
    );
    let gcn = t
        .conc_update(c, TWIN_DT_S, &s.xi, &s.phi, &s.conc, &s.potential, &k.rate)
        .unwrap();
    let dc: Vec<f64> = cn.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
    let gdc: Vec<f64> = gcn.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
    k.close(
        "conc_update",
        "delta_conc",
        k.nx(),
        &gdc,
        &dc,
        1e-3,
        "Δc̃ is computed in f32 and added to c̃ ≈ 1, whose f32 spacing 6e-8 is ~1e-4 of max|Δc̃| here",
    );
});

twin_test!(twin_np_coefficients, |t, k| {
    let (c, s, n) = (&k.c, &k.s, k.c.grid.cells());
    let mut st = vec![0.0; 6 * n];
    cpu::np_coefficients::np_coefficients(c, &k.dif, &s.potential, &k.rate, &mut st);
    let gst = t
        .np_coefficients(c, &s.xi, &s.phi, &s.potential, &k.rate)
        .unwrap();
    k.close("np_coefficients", "", 6 * k.nx(), &gst, &st, 1e-5, F32_WHY);
});

twin_test!(twin_np_substep, |t, k| {
    let (c, s, n) = (&k.c, &k.s, k.c.grid.cells());
    let (nx, ny) = (c.grid.nx, c.grid.ny);
    let mut st = vec![0.0; 6 * n];
    cpu::np_coefficients::np_coefficients(c, &k.dif, &s.potential, &k.rate, &mut st);
    let st = round(&st);
    let mut cs = vec![0.0; n];
    cpu::np_substep::np_substep(nx, ny, TWIN_DT_S, &st, &s.conc, &mut cs);
    let gcs = t.np_substep(nx, ny, TWIN_DT_S, &st, &s.conc).unwrap();
    let dc: Vec<f64> = cs.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
    let gdc: Vec<f64> = gcs.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
    k.close(
        "np_substep",
        "delta_conc",
        nx,
        &gdc,
        &dc,
        1e-3,
        "as conc_update: f32 spacing of c̃ ≈ 1 against the size of Δc̃",
    );
});

/// The implicit Nernst–Planck step of the twin tests, s: 100 explicit diffusion limits, the
/// regime the implicit step is for (Δt D/Δx² ≫ 1, so the face conductances dominate the
/// diagonal term e^{−fφ}).
fn twin_implicit_dt_s(c: &lipf_core::Coefficients) -> f64 {
    100.0 * c.dt_diffusion_s()
}

/// A potential with neighbour differences up to 2e-2 V (f Δφ up to 0.8): the faces take both
/// branches of `exprel` (its series below |x| = 0.3, the quotient above), while the case's own
/// potential (f Δφ ≤ 4e-3) takes only the series.
fn steep_potential(k: &TwinCase) -> Vec<f64> {
    let nx = k.nx();
    round(
        &(0..k.c.grid.cells())
            .map(|q| {
                let (i, j) = ((q % nx) as f64, (q / nx) as f64);
                1e-2 * (1.3 * i + 0.7 * j).sin()
            })
            .collect::<Vec<_>>(),
    )
}

twin_test!(twin_np_assemble, |t, k| {
    let (c, s, n) = (&k.c, &k.s, k.c.grid.cells());
    let (nx, ny) = (c.grid.nx, c.grid.ny);
    let dt = twin_implicit_dt_s(c);
    for (label, potential) in [("", s.potential.clone()), ("steep", steep_potential(k))] {
        let mut op = cpu::operator::Operator::zeros(nx, ny);
        let (mut rhs, mut u) = (vec![0.0; n], vec![0.0; n]);
        cpu::np_assemble::np_assemble(
            c, dt, &k.dif, &potential, &k.rate, &s.conc, &mut op, &mut rhs, &mut u,
        );
        let (gop, grhs, gu) = t
            .np_assemble(c, dt, &s.xi, &s.phi, &potential, &k.rate, &s.conc)
            .unwrap();
        let kernel = "np_assemble";
        let out = |name: &str| match label {
            "" => name.to_string(),
            _ => format!("{name} {label}"),
        };
        for (name, x, y) in [
            ("tx", &gop.tx, &op.tx),
            ("ty", &gop.ty, &op.ty),
            ("s", &gop.s, &op.s),
            ("diag", &gop.diag, &op.diag),
        ] {
            k.close(kernel, &out(name), nx, x, y, 1e-5, F32_WHY);
        }
        assert!(
            gop.tbot.iter().all(|&t| t == 0.0),
            "np_assemble: no flux through the bottom, tbot = 0"
        );
        // The device's problem is the CPU's in correction form: rhs = b − A u0 (evaluated here
        // in f64 from the CPU's b and warm start u0), u = 0.
        let mut r0 = vec![0.0; n];
        cpu::mg_residual::mg_residual(&op, &rhs, &u, &mut r0);
        k.close(
            kernel,
            &out("rhs = b - A u0"),
            nx,
            &grhs,
            &r0,
            1e-5,
            "each face's flux T (u0_n − u0_k) is formed from c̃_n − c̃_k and e^{fΔφ} − 1 in f32, \
             so it keeps the f32 precision of the flux (not of u0 ≈ 1, which would cost \
             diag/|b − A u0| ~1e2 more)",
        );
        assert!(
            gu.iter().all(|&v| v == 0.0),
            "np_assemble: the correction starts at 0 in every cell"
        );
    }
});

twin_test!(twin_np_finish, |t, k| {
    let (c, s, n) = (&k.c, &k.s, k.c.grid.cells());
    let (nx, ny) = (c.grid.nx, c.grid.ny);
    let potential = steep_potential(k);
    // The warm start u0 of the CPU's step, changed by a smooth field δu (as a solve would).
    let mut op = cpu::operator::Operator::zeros(nx, ny);
    let (mut rhs, mut u0) = (vec![0.0; n], vec![0.0; n]);
    cpu::np_assemble::np_assemble(
        c,
        twin_implicit_dt_s(c),
        &k.dif,
        &potential,
        &k.rate,
        &s.conc,
        &mut op,
        &mut rhs,
        &mut u0,
    );
    let du = round(
        &u0.iter()
            .enumerate()
            .map(|(q, v)| 1e-3 * v * (0.2 * q as f64).cos())
            .collect::<Vec<_>>(),
    );
    let u: Vec<f64> = u0.iter().zip(&du).map(|(a, b)| a + b).collect();
    let mut conc = vec![0.0; n];
    cpu::np_finish::np_finish(nx, c.f_over_rt_per_v, &potential, &u, &mut conc);
    let gconc = t.np_finish(c, &potential, &du, &s.conc).unwrap();
    // The change e^{−fφ} δu (~1e-3) is formed in f32 and added to c̃ ≈ 1: compare the change.
    let dc: Vec<f64> = conc.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
    let gdc: Vec<f64> = gconc.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
    k.close(
        "np_finish",
        "delta_conc",
        nx,
        &gdc,
        &dc,
        1e-4,
        "the change e^{−fφ} δu is added to c̃ ≈ 1 in f32, whose spacing 6e-8 is ~6e-5 of \
         max|Δc̃| here",
    );
});

/// The creep flow of the creep twin tests: the defaults of the creep section (1 MPa, K from the
/// creep law at the pore size, γ = 1000) with an open or a closed collector.
fn twin_creep(open: bool) -> lipf_core::coefficients::CreepCoefficients {
    let mut cfg = twin_config(|_| {});
    cfg.creep.enabled = true;
    let mut cr = lipf_core::Coefficients::from_config(&cfg)
        .creep
        .expect("creep on");
    cr.open_collector = open;
    cr
}

/// Δt of the creep twin tests, s (the operator scales with Δt K/Δx²).
const TWIN_CREEP_DT_S: f64 = 0.5;

/// The creep inputs of a case: ξ with a smooth ±0.03 perturbation (ξ ≥ 0), so that cells with
/// excess (ξ > 1 in the foil, ξ + ϕ > 1 at the contact) lie next to cells with free room, and
/// the cells that fill: those without room (the CPU's first guess) and every seventh cell with
/// room (so both branches of the right-hand side are taken).
/// A configuration refuses creep with a liquid electrolyte (the liquid makes room): the creep
/// kernels are not checked in that case.
fn creep_refused(k: &TwinCase) -> bool {
    if k.c.liquid_electrolyte {
        eprintln!("(creep is refused with a liquid electrolyte: not checked in this case)");
    }
    k.c.liquid_electrolyte
}

fn creep_fields(k: &TwinCase) -> (Vec<f64>, Vec<bool>) {
    let nx = k.nx();
    let xi = round(
        &k.s.xi
            .iter()
            .enumerate()
            .map(|(q, &x)| {
                let (i, j) = ((q % nx) as f64, (q / nx) as f64);
                (x + 0.03 * (0.9 * i + 0.4 * j).sin()).max(0.0)
            })
            .collect::<Vec<_>>(),
    );
    let full = xi
        .iter()
        .zip(&k.s.phi)
        .enumerate()
        .map(|(q, (&x, &p))| cpu::creep_assemble::free_room(x, p) == 0.0 || q % 7 == 0)
        .collect();
    (xi, full)
}

/// The CPU's creep operator and right-hand side of a case, the operator rounded to f32 (as the
/// device holds it).
fn creep_problem(
    k: &TwinCase,
    cr: &lipf_core::coefficients::CreepCoefficients,
    xi: &[f64],
    full: &[bool],
) -> (cpu::operator::Operator, Vec<f64>) {
    let (nx, ny, n) = (k.nx(), k.c.grid.ny, k.c.grid.cells());
    let mut op = cpu::operator::Operator::zeros(nx, ny);
    let mut rhs = vec![0.0; n];
    cpu::creep_assemble::creep_assemble(
        cr,
        nx,
        ny,
        k.c.grid.dx_m,
        TWIN_CREEP_DT_S,
        xi,
        &k.s.phi,
        full,
        &mut op,
        &mut rhs,
    );
    (op, rhs)
}

/// A pressure field away from every decision of the active set: in a free cell with room
/// S p = (0.3 or 1.7) × its room (below or above it), in a free cell without room ±0.5 Pa, in
/// a full cell ±(0.5 to 1.5) p_s (either sign); rounded to f32.
fn creep_pressure(
    k: &TwinCase,
    cr: &lipf_core::coefficients::CreepCoefficients,
    op: &cpu::operator::Operator,
    xi: &[f64],
    full: &[bool],
) -> Vec<f64> {
    let nx = k.nx();
    round(
        &(0..k.c.grid.cells())
            .map(|q| {
                let (i, j) = ((q % nx) as f64, (q / nx) as f64);
                let wave = (0.7 * i + 1.1 * j).sin();
                let sign = if wave >= 0.0 { 1.0 } else { -1.0 };
                let room = cpu::creep_assemble::free_room(xi[q], k.s.phi[q]);
                if full[q] {
                    sign * cr.stack_pressure_pa * (0.5 + wave.abs())
                } else if room > 0.0 {
                    room / op.s[q] * if sign > 0.0 { 1.7 } else { 0.3 }
                } else {
                    0.5 * sign
                }
            })
            .collect::<Vec<_>>(),
    )
}

twin_test!(twin_creep_assemble, |t, k| {
    if creep_refused(k) {
        return;
    }
    let (nx, ny) = (k.nx(), k.c.grid.ny);
    let (xi, full) = creep_fields(k);
    assert!(
        full.iter().any(|&f| f) && full.iter().any(|&f| !f),
        "the case has both full and free cells"
    );
    for open in [true, false] {
        let cr = twin_creep(open);
        let (op, rhs) = creep_problem(k, &cr, &xi, &full);
        let (gop, grhs) = t
            .creep_assemble(
                (nx, ny, k.c.grid.dx_m),
                &cr,
                TWIN_CREEP_DT_S,
                &xi,
                &k.s.phi,
                &full,
            )
            .unwrap();
        let kernel = "creep_assemble";
        let label = |name: &str| match open {
            true => format!("{name} open"),
            false => format!("{name} closed"),
        };
        for (name, x, y) in [
            ("tx", &gop.tx, &op.tx),
            ("ty", &gop.ty, &op.ty),
            ("tbot", &gop.tbot, &op.tbot),
        ] {
            k.close(
                kernel,
                &label(name),
                nx,
                x,
                y,
                1e-6,
                "one f32 mean of the metal fractions times Δt K/Δx² per face (measured 1e-7)",
            );
        }
        // S is Δt K/Δx² times γ (free) or ε (full), ~1e12 apart, and the diagonal Σ T + S
        // follows it: compare both cell by cell. Both are sums and products of positive f32
        // terms (no cancellation), so each cell keeps a few roundings of 6e-8.
        for (name, x, y) in [("s", &gop.s, &op.s), ("diag", &gop.diag, &op.diag)] {
            let ratio: Vec<f64> = x.iter().zip(y.iter()).map(|(g, c)| g / c).collect();
            k.close_to_scale(
                kernel,
                &label(&format!("{name} / {name}_cpu")),
                &ratio,
                &vec![1.0; ratio.len()],
                1.0,
                "1",
                1e-6,
                "a product (S) or a sum of positive terms (the diagonal) in f32: a few \
                 roundings of 6e-8 per cell",
            );
        }
        k.close(
            kernel,
            &label("rhs"),
            nx,
            &grhs,
            &rhs,
            1e-6,
            "the excess (ξ + ϕ − 1)₊ and the room (1 − ϕ − ξ)₊ of ξ ~ 1 are formed in f32 \
             (spacing 6e-8 at 1; max|rhs| ~ 1 here, measured 6e-8 of it); tbot p_s is one f32 \
             product",
        );
        if !open {
            assert!(
                gop.tbot.iter().all(|&t| t == 0.0),
                "creep_assemble: a closed collector has no flux, tbot = 0"
            );
        }
    }
});

twin_test!(twin_creep_finish, |t, k| {
    if creep_refused(k) {
        return;
    }
    let nx = k.nx();
    let (xi, full) = creep_fields(k);
    for open in [true, false] {
        let cr = twin_creep(open);
        let (op, _) = creep_problem(k, &cr, &xi, &full);
        let op = lipf_gpu::twin::unpack_operator(
            [nx, op.ny, 1],
            &round(&lipf_gpu::twin::pack_operator(&op)),
        );
        let pressure = creep_pressure(k, &cr, &op, &xi, &full);
        let mut xn = xi.clone();
        let outflow = cpu::creep_finish::creep_finish(
            &op,
            cr.stack_pressure_pa,
            &pressure,
            &k.s.phi,
            &full,
            &mut xn,
        );
        let (gxn, goutflow) = t
            .creep_finish(&op, k.c.grid.dx_m, &cr, &pressure, &k.s.phi, &full, &xi)
            .unwrap();
        let which = if open { "open" } else { "closed" };
        // Compare the change of ξ: ξ ~ 1 has the f32 spacing 6e-8.
        let dx: Vec<f64> = xn.iter().zip(&xi).map(|(a, b)| a - b).collect();
        let gdx: Vec<f64> = gxn.iter().zip(&xi).map(|(a, b)| a - b).collect();
        k.close(
            "creep_finish",
            &format!("delta_xi {which}"),
            nx,
            &gdx,
            &dx,
            1e-6,
            "the change −(ξ + ϕ − 1)₊ + room + S p is formed in f32 from ξ ~ 1 (spacing 6e-8) and \
             added to it: about one f32 spacing of ξ, ~7e-8 of max|Δξ| ~ 1.6 here",
        );
        if open {
            let stem = k.stem("creep_finish", "outflow");
            assert_scalar(
                &format!("creep_finish outflow [{}]", k.slug),
                &stem,
                goutflow,
                outflow,
                1e-5,
                "Σ tbot (p − p_s) over one row: p − p_s is exact in f32 for p within a factor 2 \
                 of p_s, the products and the sum are rounded (~nx × 6e-8)",
            );
        } else {
            assert_eq!(
                goutflow, 0.0,
                "creep_finish: no outflow through a closed collector"
            );
            assert_eq!(outflow, 0.0);
        }
    }
});

/// The collector outflow of `creep_finish_outflow` on a row of 300 cells (longer than its
/// 256-wide workgroup, so its grid-stride loop takes two passes), three rows high, with ξ ≈ 1
/// (excess and room) and a pressure within ±30 % of p_s.
#[test]
fn twin_creep_finish_outflow_on_a_row_longer_than_a_workgroup() {
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    let (nx, ny, dx_m) = (300usize, 3usize, 0.25e-6);
    let n = nx * ny;
    let cr = twin_creep(true);
    let wave = |q: usize, a: f64, b: f64| (a * (q % nx) as f64 + b * (q / nx) as f64).sin();
    let xi = round(
        &(0..n)
            .map(|q| 1.0 + 0.02 * wave(q, 0.13, 1.0))
            .collect::<Vec<_>>(),
    );
    let phi = vec![0.0; n];
    let full: Vec<bool> = xi.iter().map(|&x| x >= 1.0).collect();
    let mut op = cpu::operator::Operator::zeros(nx, ny);
    let mut rhs = vec![0.0; n];
    cpu::creep_assemble::creep_assemble(
        &cr,
        nx,
        ny,
        dx_m,
        TWIN_CREEP_DT_S,
        &xi,
        &phi,
        &full,
        &mut op,
        &mut rhs,
    );
    let op =
        lipf_gpu::twin::unpack_operator([nx, ny, 1], &round(&lipf_gpu::twin::pack_operator(&op)));
    let pressure = round(
        &(0..n)
            .map(|q| cr.stack_pressure_pa * (1.0 + 0.3 * wave(q, 0.07, 0.5)))
            .collect::<Vec<_>>(),
    );
    let mut xn = xi.clone();
    let outflow =
        cpu::creep_finish::creep_finish(&op, cr.stack_pressure_pa, &pressure, &phi, &full, &mut xn);
    let (_, goutflow) = t
        .creep_finish(&op, dx_m, &cr, &pressure, &phi, &full, &xi)
        .unwrap();
    assert_scalar(
        "creep_finish outflow [300 x 3]",
        "creep_finish-300x3.outflow",
        goutflow,
        outflow,
        1e-5,
        "Σ tbot (p − p_s) over a row of 300: p − p_s is exact in f32 for p within a factor 2 of \
         p_s, the products and the sum of 300 terms are rounded (~300 × 6e-8 at worst)",
    );
}

twin_test!(twin_creep_active_set, |t, k| {
    if creep_refused(k) {
        return;
    }
    let (xi, full) = creep_fields(k);
    let cr = twin_creep(true);
    let (op, _) = creep_problem(k, &cr, &xi, &full);
    let op = lipf_gpu::twin::unpack_operator(
        [k.nx(), op.ny, 1],
        &round(&lipf_gpu::twin::pack_operator(&op)),
    );
    let pressure = creep_pressure(k, &cr, &op, &xi, &full);
    let mut cpu_full = full.clone();
    let changed =
        cpu::creep_assemble::update_active_set(&op.s, &pressure, &xi, &k.s.phi, &mut cpu_full);
    assert!(changed, "the case changes the active set");
    let (gfull, gchanged) = t
        .creep_active_set(&op, k.c.grid.dx_m, &cr, &pressure, &xi, &k.s.phi, &full)
        .unwrap();
    let flips = full.iter().zip(&cpu_full).filter(|(a, b)| a != b).count();
    let differ: Vec<usize> = (0..full.len())
        .filter(|&q| gfull[q] != cpu_full[q])
        .collect();
    eprintln!(
        "creep_active_set [{}]: {flips} of {} cells change; gpu and cpu differ in {} cells \
         (exact: every decision is at least 30 % from its threshold)",
        k.slug,
        full.len(),
        differ.len()
    );
    assert!(
        differ.is_empty(),
        "creep_active_set [{}]: masks differ at cells {differ:?}",
        k.slug
    );
    assert_eq!(gchanged, changed, "the changed flag");
    // The same pressure again: the set holds.
    let (again, gchanged) = t
        .creep_active_set(&op, k.c.grid.dx_m, &cr, &pressure, &xi, &k.s.phi, &gfull)
        .unwrap();
    let mut cpu_again = cpu_full.clone();
    let changed =
        cpu::creep_assemble::update_active_set(&op.s, &pressure, &xi, &k.s.phi, &mut cpu_again);
    assert!(
        !changed && !gchanged,
        "a second update with the same pressure changes nothing"
    );
    assert_eq!(again, cpu_again);
});

twin_test!(twin_creep_first_guess, |t, k| {
    if creep_refused(k) {
        return;
    }
    let (xi, _) = creep_fields(k);
    let cr = twin_creep(true);
    let mut cpu_full = vec![false; xi.len()];
    cpu::creep_assemble::first_guess(&xi, &k.s.phi, &mut cpu_full);
    let filled = cpu_full.iter().filter(|&&f| f).count();
    assert!(
        filled > 0 && filled < xi.len(),
        "the case has cells with and without room ({filled} of {})",
        xi.len()
    );
    let gfull = t
        .creep_first_guess(k.nx(), k.c.grid.ny, k.c.grid.dx_m, &cr, &xi, &k.s.phi)
        .unwrap();
    let differ: Vec<usize> = (0..xi.len()).filter(|&q| gfull[q] != cpu_full[q]).collect();
    eprintln!(
        "creep_first_guess [{}]: {filled} of {} cells without room; gpu and cpu differ in {}",
        k.slug,
        xi.len(),
        differ.len()
    );
    assert!(
        differ.is_empty(),
        "creep_first_guess [{}]: masks differ at cells {differ:?}",
        k.slug
    );
});

/// The scalar steps of a CG solve on the device (`cg_control.wgsl`: cg_begin, cg_rz0, cg_alpha,
/// cg_check, cg_beta) against their twin `cpu/cg_control.rs`, which the host solver runs: the
/// same record after each step, fed the same sums (700 per-workgroup partials, more than the
/// kernels' 256-wide tree, so the grid-stride part of the sum is exercised), and the CG part of
/// the indirect table: cg_begin sets it (on while the solve goes on), cg_check and cg_alpha
/// turn it off once the solve has converged or broken down and otherwise leave it.
/// Covers: the tolerance of φ0 and of φ1 (relative to |V|), the device's f32 floor, convergence
/// at the start and in an iteration, and breakdown (p·q = 0).
#[test]
fn twin_cg_control_steps_a_solve_as_the_host_solver_does() {
    use lipf_core::cpu::cg_control::{solve_tolerance, CgControl};
    use lipf_gpu::params::{Control, FLAG_CG_BREAKDOWN, SOLVE_UNIT, SOLVE_ZERO};
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    let shape = [5, 3, 1];
    // 700 partials whose x parts add up to `total` (in f32 as uploaded) and whose y parts add up
    // to `rhs`; returns the partials and the f64 sums of their f32 values.
    let partials = |total: f64, rhs: f64| -> (Vec<[f64; 2]>, f64, f64) {
        let p: Vec<[f64; 2]> = (0..700)
            .map(|w| {
                let f = 1.0 + 0.5 * ((w as f64) * 0.37).sin();
                [total * f / 700.0, rhs * f / 700.0]
            })
            .collect();
        let s = |i: usize| p.iter().map(|v| v[i] as f32 as f64).sum::<f64>();
        let (x, y) = (s(0), s(1));
        (p, x, y)
    };
    let close = |what: &str, g: f32, c: f64| {
        let d = (g as f64 - c).abs() / c.abs().max(1e-30);
        assert!(
            d <= 2e-6,
            "cg_control {what}: gpu {g:e}, cpu {c:e}, relative difference {d:.2e} (tolerance \
             2e-6: f32 sums of 700 partials)"
        );
    };
    let table = |live: bool| if live { shape } else { [0, 0, 0] };
    const F32_RHS_FLOOR: f64 = 1e-6; // cg_control.wgsl: the device's floor, Σ|b| · 1e-6.
                                     // cg_begin: (solve code, V, configured tolerance, Σ|r0|, Σ|b|).
    for (solve, v, tol, res, rhs) in [
        (SOLVE_ZERO, 0.02, 1e-3, 5e-2, 1.0),   // goes on
        (SOLVE_ZERO, 0.02, 1e-3, 4e-4, 1.0),   // converged at the start
        (SOLVE_UNIT, 0.25, 1e-3, 3.5e-3, 1.0), // tolerance 1e-3 / 0.25 = 4e-3: converged
        (SOLVE_UNIT, 2e-4, 1e-3, 0.9, 1.0),    // |V| below 1e-3 V: 1e-3 / 1e-3 = 1
        (SOLVE_ZERO, 0.02, 1e-12, 5e-6, 10.0), // floored at 1e-6 · 10: converged
    ] {
        let (p, x, y) = partials(res, rhs);
        let before = Control {
            running: 1,
            v_collector: v as f32,
            ..Default::default()
        };
        let (g, args) = t
            .cg_control(KernelId::CgBegin, &before, tol, solve, &p, shape)
            .unwrap();
        let cpu_tol = solve_tolerance(tol as f32 as f64, solve == SOLVE_UNIT, v as f32 as f64)
            .max(F32_RHS_FLOOR * y);
        let c = CgControl::cg_begin(cpu_tol, x);
        eprintln!(
            "cg_begin solve {solve}: tol gpu {:e} cpu {:e}, res {:e}, converged {} / {}",
            g.tol, c.tol, g.res, g.converged, c.converged
        );
        close("cg_begin tol", g.tol, c.tol);
        close("cg_begin res", g.res, c.res);
        assert_eq!(
            g.converged == 1,
            c.converged,
            "cg_begin converged, solve {solve}"
        );
        assert_eq!(g.solve_iterations, 0);
        assert_eq!(args, table(c.live()), "cg_begin: the CG part of the table");
    }
    // One solve that goes on, then converges in its second iteration.
    let tol = 1e-3;
    let (p, x, _) = partials(5e-2, 1.0);
    let start = Control {
        running: 1,
        v_collector: 0.02,
        ..Default::default()
    };
    let (mut g, _) = t
        .cg_control(KernelId::CgBegin, &start, tol, SOLVE_ZERO, &p, shape)
        .unwrap();
    let mut c = CgControl::cg_begin(g.tol as f64, x);
    let mut step = |k: KernelId, g: &Control, sum: f64| {
        let (p, x, _) = partials(sum, 1.0);
        let (out, args) = t.cg_control(k, g, tol, SOLVE_ZERO, &p, shape).unwrap();
        (out, args, x)
    };
    let (g1, _, rz) = step(KernelId::CgRz0, &g, 0.8);
    c.cg_rz0(rz);
    close("cg_rz0 rz", g1.rz, c.rz);
    g = g1;
    for (it, res) in [(1, 2e-2), (2, 5e-4)] {
        let (g1, args, pq) = step(KernelId::CgAlpha, &g, 1.7);
        let alpha = c.cg_alpha(pq).expect("p·q > 0");
        close("cg_alpha α", g1.alpha, alpha);
        assert_eq!(g1.solve_iterations as usize, c.iterations);
        assert_eq!(c.iterations, it);
        assert_eq!(args, [7; 3], "cg_alpha leaves the table as it is");
        let (g2, args, r) = step(KernelId::CgCheck, &g1, res);
        let done = c.cg_check(r);
        close("cg_check res", g2.res, c.res);
        assert_eq!(
            g2.converged == 1,
            done,
            "cg_check converged, iteration {it}"
        );
        let want = if done { [0; 3] } else { [7; 3] };
        assert_eq!(
            args, want,
            "cg_check turns the table off once converged, else leaves it"
        );
        g = g2;
        if done {
            break;
        }
        let (g3, _, rz_new) = step(KernelId::CgBeta, &g, 0.3);
        let beta = c.cg_beta(rz_new);
        close("cg_beta β", g3.beta, beta);
        close("cg_beta rz", g3.rz, c.rz);
        g = g3;
    }
    assert!(c.converged && g.converged == 1 && g.solve_iterations == 2);
    // Breakdown: p·q = 0 stops the solve, not converged.
    let (mut gb, _) = t
        .cg_control(KernelId::CgBegin, &start, tol, SOLVE_ZERO, &p, shape)
        .unwrap();
    let mut cb = CgControl::cg_begin(gb.tol as f64, x);
    gb.rz = 0.8;
    cb.rz = 0.8;
    let (g1, args) = t
        .cg_control(
            KernelId::CgAlpha,
            &gb,
            tol,
            SOLVE_ZERO,
            &[[0.0, 0.0]],
            shape,
        )
        .unwrap();
    assert_eq!(cb.cg_alpha(0.0), None);
    assert!(cb.breakdown && !cb.live() && cb.iterations == 1);
    assert_eq!(g1.flags & FLAG_CG_BREAKDOWN, FLAG_CG_BREAKDOWN);
    assert_eq!(g1.solve_iterations, 1);
    assert_eq!(
        args,
        table(false),
        "breakdown turns the CG part of the table off"
    );
}

/// The end of a CG solve on the device (`cg_control::cg_end`): a potential solve's iterations go
/// to the step's counters and its failure to `not_converged`; the implicit Nernst–Planck solve's
/// to the batch's `np_iterations` and `np_max_solve_iterations`, and its failure also raises
/// `FLAG_NP_NOT_CONVERGED`, by which the host tells it from a potential solve's (and records
/// more of its iterations, or stops with the Nernst–Planck solver error); the ξ increment's
/// (`SOLVE_XI`) likewise to `xi_iterations` and `xi_max_solve_iterations` with
/// `FLAG_XI_NOT_CONVERGED`. A step that does not run counts nothing; an earlier flag marks the
/// solve not converged and counts nothing.
#[test]
fn twin_cg_end_counts_and_flags_the_nernst_planck_and_xi_solves_apart() {
    use lipf_gpu::params::{
        Control, FLAG_CG_BREAKDOWN, FLAG_NP_NOT_CONVERGED, FLAG_XI_NOT_CONVERGED,
        SOLVE_NERNST_PLANCK, SOLVE_UNIT, SOLVE_XI, SOLVE_ZERO,
    };
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    let before = Control {
        running: 1,
        solve_iterations: 5,
        step_iterations: 3,
        max_solve_iterations: 4,
        np_iterations: 7,
        np_max_solve_iterations: 2,
        xi_iterations: 9,
        xi_max_solve_iterations: 6,
        ..Default::default()
    };
    for solve in [SOLVE_ZERO, SOLVE_UNIT, SOLVE_NERNST_PLANCK, SOLVE_XI] {
        let np = solve == SOLVE_NERNST_PLANCK;
        let xi = solve == SOLVE_XI;
        for converged in [1, 0] {
            let c = t
                .cg_end(
                    &Control {
                        converged,
                        ..before
                    },
                    solve,
                )
                .unwrap();
            let failed = converged == 0;
            let mut want = Control {
                converged,
                not_converged: failed as u32,
                ..before
            };
            if np {
                want.np_iterations = 12;
                want.np_max_solve_iterations = 5;
                if failed {
                    want.flags = FLAG_NP_NOT_CONVERGED;
                }
            } else if xi {
                // The ξ increment's solves: their own counters (the most stays 6 > 5).
                want.xi_iterations = 14;
                if failed {
                    want.flags = FLAG_XI_NOT_CONVERGED;
                }
            } else {
                want.step_iterations = 8;
                want.max_solve_iterations = 5;
            }
            assert_eq!(c, want, "solve {solve}, converged {converged}");
        }
        // A step that does not run.
        let idle = Control {
            running: 0,
            ..before
        };
        assert_eq!(t.cg_end(&idle, solve).unwrap(), idle, "solve {solve}, idle");
        // A breakdown flagged during the solve.
        let broken = Control {
            flags: FLAG_CG_BREAKDOWN,
            converged: 1,
            ..before
        };
        assert_eq!(
            t.cg_end(&broken, solve).unwrap(),
            Control {
                not_converged: 1,
                ..broken
            },
            "solve {solve}, breakdown"
        );
    }
}

twin_test!(twin_xi_update, |t, k| {
    // The increment Δξ = Δt r (~1e-5 here) must survive being added to ξ ~ 1, whose f32
    // spacing is 6e-8: compare Δξ, not ξ.
    let s = &k.s;
    let (nx, ny) = (k.c.grid.nx, k.c.grid.ny);
    let mut xu = s.xi.clone();
    cpu::xi_update::xi_update(nx, TWIN_DT_S, &k.rate, None, &mut xu);
    let gxu = t
        .xi_update(nx, ny, TWIN_DT_S, &k.rate, None, &s.xi)
        .unwrap();
    let dx: Vec<f64> = xu.iter().zip(&s.xi).map(|(a, b)| a - b).collect();
    let gdx: Vec<f64> = gxu.iter().zip(&s.xi).map(|(a, b)| a - b).collect();
    k.close(
        "xi_update",
        "delta_xi",
        nx,
        &gdx,
        &dx,
        1e-5,
        "ξ is an f32 pair (xi + xi_lo) updated with a two-sum, so Δξ keeps its f32 precision; \
         only Δt·r is rounded to f32",
    );
});

twin_test!(twin_xi_noise, |t, k| {
    // The batch starts two steps before 2^32 and the device has begun three steps: the running
    // step is 2^32, so the carry into the counter's high word is exercised; the seed has a high
    // word too. Philox is integer arithmetic, identical on both sides; ζ is exact in f32; what
    // differs is the f32 weight m(ξ) and the sums.
    let mut c = k.c.clone();
    c.noise_amplitude_per_sqrt_s = 0.3;
    c.noise_seed = (1 << 33) + 5;
    let (nx, ny) = (c.grid.nx, c.grid.ny);
    let (base, count) = ((1u64 << 32) - 2, 3u32);
    let cpu_noise = |c: &lipf_core::Coefficients| {
        let mut d = vec![0.0; nx * ny];
        cpu::xi_noise::xi_noise(
            [nx, ny, 1],
            c.noise_amplitude_per_sqrt_s,
            c.noise_room_phi(),
            c.noise_seed,
            base + count as u64 - 1,
            &k.s.xi,
            &k.s.phi,
            &mut d,
        );
        d
    };
    // The room's weight with the scaffold obstacle (c = 1), and without it (c = 0).
    // A liquid takes no room (B = 0): c = 0 there; the solid cases have the obstacle.
    assert_eq!(
        c.noise_room_phi(),
        1.0 - c.liquid(),
        "the solid twin cases have the obstacle"
    );
    let mut open = c.clone();
    open.b_obstacle_j_m3 = 0.0;
    for (c, label) in [(&open, "noise_without_room"), (&c, "noise")] {
        let cpu_d = cpu_noise(c);
        assert!(
            cpu_d.iter().any(|&d| d.abs() > 1e-3),
            "the case has interfaces for the noise"
        );
        let gpu_d = t.xi_noise(c, base, count, &k.s.xi, &k.s.phi).unwrap();
        k.close(
            "xi_noise",
            label,
            nx,
            &gpu_d,
            &cpu_d,
            1e-5,
            "the same Philox words and ζ; m and the four-face sum in f32",
        );
    }
    let cpu_d = cpu_noise(&c);
    // ξ += Δt r + √Δt D: the update with the noise.
    let mut xu = k.s.xi.clone();
    cpu::xi_update::xi_update(nx, TWIN_DT_S, &k.rate, Some(&cpu_d), &mut xu);
    let gxu = t
        .xi_update(nx, ny, TWIN_DT_S, &k.rate, Some(&cpu_d), &k.s.xi)
        .unwrap();
    let dx: Vec<f64> = xu.iter().zip(&k.s.xi).map(|(a, b)| a - b).collect();
    let gdx: Vec<f64> = gxu.iter().zip(&k.s.xi).map(|(a, b)| a - b).collect();
    k.close(
        "xi_update",
        "delta_xi_with_noise",
        nx,
        &gdx,
        &dx,
        1e-5,
        "Δt·r + √Δt·D rounded to f32, added to ξ with a two-sum",
    );
});

// The device-only kernels' twins: range_check, time_step, collector. Besides the 67 × 45
// cases, rows and columns longer than one workgroup (256 invocations, 16 × 16 cells).

/// Grid shapes of the range-check and time-step tests besides 67 × 45: one row of 300 cells
/// (two 256-wide reduction groups, 19 workgroups of 16 in x) and one column of 300.
const THIN_SHAPES: [(usize, usize); 2] = [(300, 1), (1, 300)];

/// Smooth admissible fields (ξ, c̃, φ) of an nx × ny grid, rounded to f32.
fn smooth_fields(nx: usize, ny: usize) -> [Vec<f64>; 3] {
    let n = nx * ny;
    let at = |k: usize| ((k % nx) as f64, (k / nx) as f64);
    let xi = (0..n)
        .map(|k| {
            let (i, j) = at(k);
            0.5 + 0.45 * (0.3 * i + 0.1 * j).sin()
        })
        .collect::<Vec<_>>();
    let conc = (0..n)
        .map(|k| {
            let (i, j) = at(k);
            1.0 - 0.2 * (0.05 * i * j).cos()
        })
        .collect::<Vec<_>>();
    let potential = (0..n)
        .map(|k| {
            let (i, j) = at(k);
            1e-3 * (0.2 * i).cos() + 2e-3 * j / ny as f64
        })
        .collect::<Vec<_>>();
    [round(&xi), round(&conc), round(&potential)]
}

#[test]
fn twin_range_check() {
    use cpu::range_check::{range_check, IN_RANGE};
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    let mut shapes = vec![(67, 45)];
    shapes.extend(THIN_SHAPES);
    for (nx, ny) in shapes {
        let n = nx * ny;
        // Cells past a workgroup boundary: the last one, (16, 16) or the 17th along a thin
        // grid, and the middle.
        let last = n - 1;
        let past = (16.min(ny - 1)) * nx + 16.min(nx - 1);
        let mid = n / 2;
        type Plant = (usize, usize, f64);
        let cases: [(&str, Vec<Plant>); 4] = [
            ("clean", vec![]),
            (
                "last-cell",
                vec![(0, last, 1.2), (1, last, -0.02), (2, last, f64::NAN)],
            ),
            (
                // Several bad cells per field in different workgroups (the smallest index
                // wins the atomicMin), the same cell bad in two fields, every kind of bad
                // value.
                "many-and-ties",
                vec![
                    (0, last, f64::NAN),
                    (0, mid, -0.2),
                    (0, past, 1.2),
                    (0, past + 1, f64::INFINITY),
                    (1, last, f64::NEG_INFINITY),
                    (1, past, -0.5),
                    (1, mid, f64::NAN),
                    (2, mid, f64::INFINITY),
                    (2, past + 1, f64::NAN),
                    (2, last, f64::NEG_INFINITY),
                ],
            ),
            (
                "first-cell",
                vec![
                    (0, 0, -0.11),
                    (1, 0, -1.0),
                    (2, 0, f64::NAN),
                    (0, last, 2.0),
                ],
            ),
        ];
        for (label, plants) in cases {
            let mut fields = smooth_fields(nx, ny);
            let mut want = [IN_RANGE; 3];
            for &(f, k, v) in &plants {
                fields[f][k] = v;
                want[f] = want[f].min(k as u32);
            }
            let [xi, conc, potential] = &fields;
            let cpu = range_check(xi, conc, potential);
            let gpu = t.range_check(nx, ny, xi, conc, potential).unwrap();
            let what = format!("range_check {nx}×{ny} {label}: planted {plants:?}");
            eprintln!("{what}: gpu {gpu:?}, cpu {cpu:?}, expected {want:?}");
            if gpu != cpu || cpu != want {
                let as_f64 = |s: [u32; 3]| s.map(|v| v as f64).to_vec();
                let files = write_failure(
                    &format!("range_check-{nx}x{ny}-{label}"),
                    &what,
                    3,
                    &as_f64(gpu),
                    &as_f64(cpu),
                );
                panic!(
                    "{what}: status gpu {gpu:?}, cpu {cpu:?}, expected {want:?} (the smallest \
                     bad index per field ξ, c̃, φ; {IN_RANGE} = in range)\n{files}"
                );
            }
        }
    }
}

/// The relative difference |gpu − cpu| / |cpu| within `tol`, or a panic that names both (and
/// writes them to `tests/failures/<stem>.{gpu,cpu}.csv`).
fn assert_scalar(what: &str, stem: &str, gpu: f64, cpu: f64, tol: f64, why: &str) {
    let d = (gpu - cpu).abs() / cpu.abs().max(1e-300);
    let msg = format!(
        "{what}: gpu {gpu:e}, cpu {cpu:e}, relative difference {d:.2e} (tolerance {tol:.0e}: {why})"
    );
    eprintln!("{msg}");
    if d.is_nan() || d > tol {
        let files = write_failure(stem, what, 1, &[gpu], &[cpu]);
        panic!("{msg}\n{files}");
    }
}

/// The device's slack of the landing test (`LAND_TOLERANCE` of the GPU backend) and of the
/// sub-step count (the `1e-6` of shaders/time_step.wgsl): the CPU twin runs with them here.
const DEVICE_LAND_TOLERANCE: f64 = 1e-5;
const DEVICE_SUBSTEP_SLACK: f64 = 1e-6;

/// The device's Δt and sub-step count against `cpu::time_step` on the same inputs, in several
/// regimes: limited by stability, by the ξ change, by max Δt, by the drift, landing within a
/// step, landing within the tolerance, not landing, and more sub-steps than recorded; and with
/// the implicit Nernst–Planck step (the same Δt, no sub-steps: count 0, no entry, no flag).
#[allow(clippy::too_many_arguments)]
fn check_time_step(
    t: &mut TwinRunner,
    c: &lipf_core::Coefficients,
    case: &str,
    (nx, ny): (usize, usize),
    rate: &[f64],
    potential: &[f64],
    xi: &[f64],
    phi: &[f64],
) {
    use cpu::time_step::{step_maxima, time_step, StepMaxima, TimeStepParams};
    use lipf_gpu::params::{DispatchArgs, FLAG_SUBSTEPS_EXCEEDED};
    let dif: Vec<f64> = xi
        .iter()
        .zip(phi)
        .map(|(&x, &p)| cpu::conc_update::cell_diffusivity(c, x, p))
        .collect();
    let m = step_maxima([nx, ny, 1], c.f_over_rt_per_v, rate, potential, &dif);
    assert!(
        m.max_rate > 0.0 && m.max_drift > 0.0,
        "{case}: the inputs should exercise both maxima: {m:?}"
    );
    let dx = c.grid.dx_m;
    let dt_stable = 0.9 * c.dt_allen_cahn_s();
    // Sub-step limits that do not divide the steps below: the counts are not at a rounding edge.
    let base = TimeStepParams {
        dt_stable_s: dt_stable,
        dt_np_s: dt_stable / 3.7,
        max_xi_change: 1e9,
        max_dt_s: None,
        dx_m: dx,
        land_tolerance: DEVICE_LAND_TOLERANCE,
        substep_slack: DEVICE_SUBSTEP_SLACK,
    };
    let drift_dt_np = 0.5 * dx * dx / m.max_drift;
    let far = 1e3 * dt_stable;
    // (label, limits, remaining time, recorded sub-steps, factor on φ, implicit Nernst–Planck).
    let regimes: [(&str, TimeStepParams, f64, usize, f64, bool); 9] = [
        ("stability", base, far, 8, 1.0, false),
        (
            "xi-change",
            TimeStepParams {
                max_xi_change: 0.45 * dt_stable * m.max_rate,
                ..base
            },
            far,
            8,
            1.0,
            false,
        ),
        (
            "max-dt",
            TimeStepParams {
                max_dt_s: Some(0.3 * dt_stable),
                ..base
            },
            far,
            8,
            1.0,
            false,
        ),
        (
            // φ scaled so that half a cell of drift takes Δt / 5.4 (6 sub-steps).
            "drift",
            TimeStepParams {
                dt_np_s: 1e9,
                ..base
            },
            far,
            8,
            5.4 * drift_dt_np / dt_stable,
            false,
        ),
        ("lands-within-a-step", base, 0.37 * dt_stable, 8, 1.0, false),
        (
            "lands-within-tolerance",
            base,
            dt_stable * (1.0 + 1e-6),
            8,
            1.0,
            false,
        ),
        ("does-not-land", base, 1.6 * dt_stable, 8, 1.0, false),
        ("substeps-exceeded", base, far, 2, 1.0, false),
        // As substeps-exceeded, but nothing is sub-stepped.
        ("implicit-nernst-planck", base, far, 2, 1.0, true),
    ];
    for (label, p, remaining, recorded, pot_scale, implicit) in regimes {
        let what = format!("time_step {case} {label}");
        let stem = format!("time_step-{}-{label}", slug(case));
        let potential = round(&potential.iter().map(|x| pot_scale * x).collect::<Vec<_>>());
        let m = step_maxima([nx, ny, 1], c.f_over_rt_per_v, rate, &potential, &dif);
        let want = time_step(&p, m, remaining);
        let g = t
            .time_step(
                c,
                &p,
                (nx, ny),
                rate,
                &potential,
                xi,
                phi,
                remaining,
                recorded,
                implicit,
            )
            .unwrap();
        eprintln!("{what}: gpu {:?}, cpu {want:?}", g.control);
        // The maxima: max |r| of f32 values is exact; the drift is computed in f32.
        let StepMaxima {
            max_rate,
            max_drift,
        } = g.maxima;
        assert_scalar(
            &format!("{what} max|r|"),
            &format!("{stem}.max_rate"),
            max_rate,
            m.max_rate,
            0.0,
            "the max of f32 values is exact",
        );
        assert_scalar(
            &format!("{what} max D f |Δφ|"),
            &format!("{stem}.max_drift"),
            max_drift,
            m.max_drift,
            1e-5,
            F32_WHY,
        );
        let gc = g.control;
        assert_scalar(
            &format!("{what} Δt"),
            &format!("{stem}.dt"),
            gc.dt as f64,
            want.dt_s,
            1e-5,
            F32_WHY,
        );
        assert_eq!(
            gc.remaining == 0.0,
            want.land,
            "{what}: landing (gpu remaining {})",
            gc.remaining
        );
        if !want.land {
            assert_scalar(
                &format!("{what} remaining"),
                &format!("{stem}.remaining"),
                gc.remaining as f64,
                remaining - want.dt_s,
                1e-5,
                F32_WHY,
            );
        }
        assert_eq!(gc.step_count, 1, "{what}: one step logged");
        if implicit {
            assert_eq!(gc.substeps, 0, "{what}: no sub-steps");
            assert_eq!(gc.flags, 0, "{what}: no flag (flags {})", gc.flags);
            assert_eq!(
                (g.log.dt, g.log.substeps),
                (gc.dt, 0),
                "{what}: the step log"
            );
            assert!(
                g.substep_args.iter().all(|a| *a == DispatchArgs::default()),
                "{what}: no sub-step runs"
            );
            continue;
        }
        // The sub-step count is exact unless Δt / Δt_np sits at a rounding edge.
        let dt_np = p.dt_np_s.min(0.5 / (m.max_drift / (dx * dx)));
        let ratio = want.dt_s / dt_np * (1.0 - p.substep_slack);
        let at_edge = ratio > 0.5 && (ratio - ratio.round()).abs() < 1e-5 * ratio;
        assert!(
            !at_edge,
            "{what}: Δt / Δt_np = {ratio} is at a rounding edge; change the inputs"
        );
        assert_eq!(gc.substeps as usize, want.substeps, "{what}: sub-steps");
        assert_scalar(
            &format!("{what} Δt_sub"),
            &format!("{stem}.dt_sub"),
            gc.dt_sub as f64,
            want.dt_sub_s,
            1e-5,
            F32_WHY,
        );
        let exceeded = gc.flags & FLAG_SUBSTEPS_EXCEEDED != 0;
        assert_eq!(
            exceeded,
            want.substeps > recorded,
            "{what}: FLAG_SUBSTEPS_EXCEEDED (flags {})",
            gc.flags
        );
        assert_eq!(
            (g.log.dt, g.log.substeps),
            (gc.dt, gc.substeps),
            "{what}: the step log"
        );
        // The recorded sub-steps that run get the dispatch shape, the others none.
        let shape = DispatchArgs { x: 7, y: 5, z: 1 };
        for (q, a) in g.substep_args.iter().enumerate() {
            let run = q < want.substeps.min(recorded);
            let expected = if run { shape } else { DispatchArgs::default() };
            assert_eq!(*a, expected, "{what}: indirect entry of sub-step {q}");
        }
    }
}

#[test]
fn twin_time_step() {
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    for k in twin_cases() {
        let (s, shape) = (&k.s, (k.c.grid.nx, k.c.grid.ny));
        let case = format!("67x45 {}", k.slug);
        check_time_step(
            &mut t,
            &k.c,
            &case,
            shape,
            &k.rate,
            &s.potential,
            &s.xi,
            &s.phi,
        );
    }
    // Thin grids and one of more than 1024 × 256 cells (the reduction's partials are capped at
    // 1024 workgroups, each striding over the grid), with the first case's coefficients and the
    // largest |r| in the last cell.
    let c = &twin_cases()[0].c;
    let mut shapes = THIN_SHAPES.to_vec();
    shapes.push((600, 500));
    for (nx, ny) in shapes {
        let n = nx * ny;
        let [xi, _, potential] = smooth_fields(nx, ny);
        let phi: Vec<f64> = (0..n)
            .map(|k| ((k % 7) as f64 / 6.0) as f32 as f64)
            .collect();
        let mut rate: Vec<f64> = (0..n)
            .map(|k| (1e-3 * (0.37 * k as f64).sin()) as f32 as f64)
            .collect();
        rate[n - 1] = -3e-3f32 as f64;
        let case = format!("{nx}x{ny}");
        check_time_step(&mut t, c, &case, (nx, ny), &rate, &potential, &xi, &phi);
    }
}

/// Σ_top |T φ| of `op`: the size of the terms of a top-boundary current.
fn top_terms(op: &cpu::operator::Operator, potential: &[f64]) -> f64 {
    let top = (op.ny - 1) * op.nx;
    (0..op.nx)
        .map(|i| (op.ty[top + i] * potential[top + i]).abs())
        .sum()
}

const SUM_WHY: &str = "the device sums the top row in f32 (a 256-wide tree), the CPU in f64 \
     in order; relative to the sum of the terms' sizes";

/// The device's collector potential, φ = φ0 + V φ1, b0 + V b1 and the top current against
/// `cpu::collector` on `op` (galvanostatic target `target`).
#[allow(clippy::too_many_arguments)]
fn check_collector(
    t: &mut TwinRunner,
    case: &str,
    op: &cpu::operator::Operator,
    pot0: &[f64],
    pot1: &[f64],
    b0: &[f64],
    b1: &[f64],
    target: f64,
) {
    use cpu::collector::{add_scaled_rhs, collector, combine_potential, top_current};
    use lipf_gpu::params::FLAG_NO_ACTIVE_INTERFACE;
    let (nx, ny) = (op.nx, op.ny);
    let stem = |output: &str| format!("collector-{}.{output}", slug(case));
    let want = collector(op, pot0, pot1, target, None).expect("an active interface");
    let g = t.collector(op, pot0, pot1, target).unwrap();
    let gc = g.control;
    eprintln!(
        "collector {case}: gpu i0 {} i1 {} V {}, cpu {want:?}",
        gc.i0, gc.i1, gc.v_collector
    );
    assert_eq!(gc.flags, 0, "collector {case}: flags");
    let (s0, s1) = (top_terms(op, pot0), top_terms(op, pot1));
    let close = |output: &str, gpu: f64, cpu: f64, scale: f64, why: &str| {
        let d = (gpu - cpu).abs() / scale;
        let msg = format!(
            "collector {case} {output}: gpu {gpu:e}, cpu {cpu:e}, |diff| = {d:.2e} of {scale:.3e} (tolerance 1e-5: {why})"
        );
        eprintln!("{msg}");
        if d.is_nan() || d > 1e-5 {
            let files = write_failure(&stem(output), &msg, 1, &[gpu], &[cpu]);
            panic!("{msg}\n{files}");
        }
    };
    close("i0", gc.i0 as f64, want.i0, s0, SUM_WHY);
    close("i1", gc.i1 as f64, want.i1, s1, SUM_WHY);
    // V = (I_target − I0)/I1: its error is that of I0 against |I_target| + Σ|T φ0| and of I1.
    let v_scale = (target.abs() + s0) / want.i1.abs() + want.v_collector.abs() * s1 / want.i1.abs();
    close(
        "V",
        gc.v_collector as f64,
        want.v_collector,
        v_scale,
        SUM_WHY,
    );
    // φ = φ0 + V φ1 with the device's V (the difference in V is checked above).
    let mut phi = vec![0.0; nx * ny];
    combine_potential(pot0, pot1, gc.v_collector as f64, &mut phi);
    assert_close(
        &format!("collector combine_potential {case}"),
        &stem("combine_potential"),
        nx,
        &g.potential,
        &phi,
        1e-5,
        F32_WHY,
    );
    let v = TWIN_V_COLLECTOR;
    let mut rhs = b0.to_vec();
    add_scaled_rhs(&mut rhs, b1, v);
    let grhs = t.add_scaled_rhs(nx, ny, b0, b1, v).unwrap();
    let scale = b0
        .iter()
        .zip(b1)
        .fold(0.0f64, |m, (a, b)| m.max(a.abs() + (v * b).abs()));
    assert_close_to_scale(
        &format!("collector add_scaled_rhs {case}"),
        &stem("add_scaled_rhs"),
        nx,
        &grhs,
        &rhs,
        scale,
        "max(|b0| + |V b1|)",
        1e-5,
        F32_WHY,
    );
    let i = t.top_current(op, pot0).unwrap();
    close("top_current", i, top_current(op, pot0), s0, SUM_WHY);
    // A held voltage (potentiostatic segment): V is the held one on both sides, bitwise in f32,
    // the currents are still summed, and no response to V is needed.
    let held = -0.0123;
    let hc = collector(op, pot0, pot1, target, Some(held)).unwrap();
    assert_eq!(hc.v_collector, held);
    let gh = t.collector_held(op, pot0, pot1, held).unwrap();
    assert_eq!(
        gh.control.v_collector, held as f32,
        "collector {case}: held V"
    );
    close("i0 (held V)", gh.control.i0 as f64, hc.i0, s0, SUM_WHY);
    // No response to V: the device flags it, the CPU twin refuses (unless a voltage is held).
    let zero = vec![0.0; nx * ny];
    assert!(collector(op, pot0, &zero, target, Some(held)).is_ok());
    let gz = t.collector_held(op, pot0, &zero, held).unwrap();
    assert_eq!(
        gz.control.flags, 0,
        "collector {case}: a held V needs no response to V"
    );
    assert!(collector(op, pot0, &zero, target, None).is_err());
    let g = t.collector(op, pot0, &zero, target).unwrap();
    assert_eq!(
        g.control.flags & FLAG_NO_ACTIVE_INTERFACE,
        FLAG_NO_ACTIVE_INTERFACE,
        "collector {case}: I1 = 0 must set FLAG_NO_ACTIVE_INTERFACE (flags {})",
        g.control.flags
    );
}

/// The two-potential collector (StepKernels::collector and end_step of the CPU backend): I0 and
/// I1 of both problems together, V, φ = φ0 + V φ1 and φ_s = φ_s0 + V φ_s1, and the current
/// and its electronic (leakage) part through the top.
fn check_collector_two_potential(t: &mut TwinRunner, case: &str, k: &TwinCase, pot1: &[f64]) {
    use cpu::collector::{collector_from_currents, combine_potential, top_current};
    let (op, pot0) = (&k.op, &k.s.potential);
    let (nx, ny) = (op.nx, op.ny);
    let (ops, _, _) = electronic_problem(k);
    let ops =
        lipf_gpu::twin::unpack_operator([nx, ny, 1], &round(&lipf_gpu::twin::pack_operator(&ops)));
    // φ_s0 about the collector potential, φ_s1 about 1 (their relative frames).
    let es0 = &k.s.electronic_potential;
    let es1: Vec<f64> = pot1.iter().map(|x| (1.0 - 0.1 * x) as f32 as f64).collect();
    let target = k.c.target_current_a_m;
    let i0 = top_current(op, pot0) + top_current(&ops, es0);
    let i1 = top_current(op, pot1) + top_current(&ops, &es1);
    let want = collector_from_currents(i0, i1, target, None).expect("an active interface");
    let g = t
        .collector_two_potential(op, pot0, pot1, (&ops, es0, &es1), target)
        .unwrap();
    let gc = g.control;
    let what = format!("collector two-potential {case}");
    eprintln!(
        "{what}: gpu i0 {} i1 {} V {}, cpu {want:?}",
        gc.i0, gc.i1, gc.v_collector
    );
    assert_eq!(gc.flags, 0, "{what}: flags");
    let s0 = top_terms(op, pot0) + top_terms(&ops, es0);
    let s1 = top_terms(op, pot1) + top_terms(&ops, &es1);
    let stem = |output: &str| format!("collector-two-potential-{}.{output}", slug(case));
    let close = |output: &str, gpu: f64, cpu: f64, scale: f64| {
        let d = (gpu - cpu).abs() / scale;
        let msg = format!(
            "{what} {output}: gpu {gpu:e}, cpu {cpu:e}, |diff| = {d:.2e} of {scale:.3e} (tolerance 1e-5: {SUM_WHY})"
        );
        eprintln!("{msg}");
        if d.is_nan() || d > 1e-5 {
            let files = write_failure(&stem(output), &msg, 1, &[gpu], &[cpu]);
            panic!("{msg}\n{files}");
        }
    };
    close("i0", gc.i0 as f64, want.i0, s0);
    close("i1", gc.i1 as f64, want.i1, s1);
    let v_scale = (target.abs() + s0) / want.i1.abs() + want.v_collector.abs() * s1 / want.i1.abs();
    close("V", gc.v_collector as f64, want.v_collector, v_scale);
    let v = gc.v_collector as f64;
    let (mut phi, mut phis) = (vec![0.0; nx * ny], vec![0.0; nx * ny]);
    combine_potential(pot0, pot1, v, &mut phi);
    combine_potential(es0, &es1, v, &mut phis);
    for (name, gpu, cpu) in [
        ("combine_potential", &g.potential, &phi),
        (
            "combine_potential electronic",
            g.electronic_potential.as_ref().unwrap(),
            &phis,
        ),
    ] {
        assert_close(
            &format!("{what} {name}"),
            &stem(name),
            nx,
            gpu,
            cpu,
            1e-5,
            F32_WHY,
        );
    }
    let (current, leakage) = t.top_current_two_potential(op, pot0, &ops, es0).unwrap();
    close("top_current", current, i0, s0);
    close(
        "top_current leakage",
        leakage,
        top_current(&ops, es0),
        top_terms(&ops, es0),
    );
}

#[test]
fn twin_collector() {
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    for k in twin_cases() {
        // φ1 > 0 rising to the top: the response to a unit collector potential.
        let (nx, ny) = (k.c.grid.nx, k.c.grid.ny);
        let pot1: Vec<f64> = (0..nx * ny)
            .map(|q| {
                let (i, j) = ((q % nx) as f64, (q / nx) as f64);
                (0.2 + 0.8 * (j + 1.0) / ny as f64 * (1.0 + 0.1 * (0.4 * i).sin())) as f32 as f64
            })
            .collect();
        let case = format!("67x45 {}", k.slug);
        check_collector(
            &mut t,
            &case,
            &k.op,
            &k.s.potential,
            &pot1,
            &k.b0,
            &k.b1,
            k.c.target_current_a_m,
        );
        if k.c.overpotential == lipf_core::config::OverpotentialForm::TwoPotential {
            check_collector_two_potential(&mut t, &case, k, &pot1);
        }
    }
    // One row of 300 cells: the top row is longer than the 256-wide workgroup that sums it.
    let (nx, ny) = (300, 1);
    let mut op = cpu::operator::Operator::zeros(nx, ny);
    for (i, ty) in op.ty.iter_mut().enumerate() {
        *ty = (2.0 + (0.7 * i as f64).sin()) as f32 as f64;
    }
    let [pot0, pot1, b0] = smooth_fields(nx, ny);
    let b1 = round(&pot0.iter().map(|x| 1e-3 - x).collect::<Vec<_>>());
    check_collector(&mut t, "300x1", &op, &pot0, &pot1, &b0, &b1, 0.3);
}

// ---------------------------------------------------------------------------------------------
// Whole steps of the GPU backend against the CPU backend.

/// A CPU backend and a GPU backend started from the same (f64) state.
fn backend_pair(cfg: &Config) -> Option<(CpuBackend, GpuBackend)> {
    let ctx = device()?;
    let mut cpu = CpuBackend::new(cfg).expect("initial state");
    let state = Backend::state(&mut cpu).clone();
    let geometry = cpu.geometry().clone();
    let gpu = GpuBackend::with_state(ctx, cfg, state, geometry).expect("GPU backend");
    Some((cpu, gpu))
}

/// The GPU backend keeps the step budget too (checked between batches, so it may run one batch
/// past it): a GPU test cannot run on when a kernel shrinks the time step.
#[test]
fn gpu_run_stops_at_its_step_budget() {
    let mut cfg = smoke_stepped_two_potential();
    cfg.time.max_dt_s = Some(0.01);
    cfg.limits.max_steps = 3.0;
    let Some((_, mut gpu)) = backend_pair(&cfg) else {
        return;
    };
    let e = gpu
        .advance(cfg.time.end_time_s, &StopFlag::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("limits.max_steps"), "{e}");
    let steps = gpu.scalars().step;
    assert!(
        (3..3 + lipf_gpu::backend::MAX_BATCH_STEPS as u64).contains(&steps),
        "{steps} steps"
    );
}

/// A galvanostatic protocol on the GPU (`Backend::set_current_density`, which rewrites the
/// collector's uniform between batches): the two-potential smoke case plated for 1 s and
/// stripped for 1 s at ±2 A/m². After each segment both backends carry the segment's current
/// and the same charge, and the cell voltage changes sign with the current.
#[test]
fn gpu_protocol_switches_the_current_as_the_cpu_backend() {
    let mut cfg = smoke_stepped_two_potential();
    cfg.control.protocol = vec![
        lipf_core::config::ProtocolSegment::galvanostatic(2.0, 1.0),
        lipf_core::config::ProtocolSegment::galvanostatic(-2.0, 1.0),
    ];
    let Some((mut cpu, mut gpu)) = backend_pair(&cfg) else {
        return;
    };
    let stop = StopFlag::new();
    for (t_end, i) in [(1.0, 2.0), (2.0, -2.0)] {
        for b in [&mut cpu as &mut dyn Backend, &mut gpu] {
            b.set_current_density(cfg.control.current_density_at(t_end - 1.0));
            b.advance(t_end, &stop).unwrap();
        }
        let (c, g) = (cpu.scalars(), gpu.scalars());
        assert_rel(
            &format!("current after {t_end} s"),
            g.current_density_a_m2,
            i,
            1e-4,
            STEPS_WHY,
        );
        assert_rel(
            &format!("current after {t_end} s (CPU)"),
            c.current_density_a_m2,
            i,
            1e-9,
            "galvanostatic",
        );
        assert_rel(
            &format!("cell voltage after {t_end} s"),
            g.cell_voltage_v,
            c.cell_voltage_v,
            3e-4,
            STEPS_WHY,
        );
        assert!(
            c.cell_voltage_v * i < 0.0,
            "V = {} V under {i} A/m²",
            c.cell_voltage_v
        );
        // After the cycle the net charge is ~0: compare it on the scale of the throughput.
        let d = (g.charge_c_m2 - c.charge_c_m2).abs() / 2.0;
        assert!(
            d < 1e-4,
            "charge after {t_end} s: gpu {} cpu {}",
            g.charge_c_m2,
            c.charge_c_m2
        );
    }
}

/// A potentiostatic protocol segment on the GPU (`Backend::hold_cell_voltage`, which rewrites
/// the collector's uniform): the two-potential smoke case held at −8 mV for 1 s, then released to
/// 2 A/m² for 1 s. During the hold both backends report the held voltage (the GPU's in f32) and
/// the current it draws agrees; after the release both carry the target current.
#[test]
fn gpu_potentiostatic_segment_holds_the_voltage_as_the_cpu_backend() {
    let cfg = smoke_stepped_two_potential();
    let Some((mut cpu, mut gpu)) = backend_pair(&cfg) else {
        return;
    };
    let stop = StopFlag::new();
    let held = -0.008;
    for b in [&mut cpu as &mut dyn Backend, &mut gpu] {
        b.hold_cell_voltage(Some(held));
        b.advance(1.0, &stop).unwrap();
    }
    let (c, g) = (cpu.scalars(), gpu.scalars());
    assert_eq!(c.cell_voltage_v, held);
    assert_eq!(g.cell_voltage_v, held as f32 as f64);
    assert!(c.current_density_a_m2 > 0.0, "−8 mV plates: {c:?}");
    assert_rel(
        "current under the held voltage",
        g.current_density_a_m2,
        c.current_density_a_m2,
        1e-3,
        STEPS_WHY,
    );
    assert_rel(
        "charge under the held voltage",
        g.charge_c_m2,
        c.charge_c_m2,
        1e-3,
        STEPS_WHY,
    );
    for b in [&mut cpu as &mut dyn Backend, &mut gpu] {
        b.hold_cell_voltage(None);
        b.set_current_density(2.0);
        b.advance(2.0, &stop).unwrap();
    }
    let (c, g) = (cpu.scalars(), gpu.scalars());
    assert_rel(
        "current after the release",
        g.current_density_a_m2,
        2.0,
        1e-4,
        STEPS_WHY,
    );
    assert_rel(
        "current after the release (CPU)",
        c.current_density_a_m2,
        2.0,
        1e-9,
        "galvanostatic",
    );
    assert_rel(
        "cell voltage after the release",
        g.cell_voltage_v,
        c.cell_voltage_v,
        3e-4,
        STEPS_WHY,
    );
}

/// Relative difference |gpu − cpu| / |cpu|, printed with both values, the tolerance and why.
fn assert_rel(what: &str, gpu: f64, cpu: f64, tol: f64, why: &str) {
    let d = (gpu - cpu).abs() / cpu.abs().max(1e-300);
    let msg = format!("{what}: gpu {gpu:e}, cpu {cpu:e}, relative difference {d:.2e} (tolerance {tol:.0e}: {why})");
    eprintln!("{msg}");
    assert!(d <= tol, "{msg}");
}

const STEPS_WHY: &str =
    "the GPU steps in f32 (fields, Δt, the CG solves stop at 1e-6 Σ|b|), the CPU in \
     f64; the f32 round-off of each step is carried into the next ones";

/// Runs both backends of `cfg` to `until_s` and compares the scalars and the fields.
/// `tol_fields` bounds max|gpu − cpu| / max|cpu| of ξ, φ and η; c̃ is compared to
/// `CONC_ABS_TOL`.
fn compare_steps(name: &str, cfg: &Config, until_s: f64, tol_scalars: f64, tol_fields: f64) {
    compare_steps_with(
        name,
        cfg,
        until_s,
        StepTolerances {
            scalars: tol_scalars,
            cell_voltage: tol_scalars,
            plated_li: tol_scalars,
            fields: tol_fields,
            conc: CONC_ABS_TOL,
        },
    );
}

/// The tolerances of [`compare_steps_with`]: relative differences of the scalars (current,
/// charge, leakage), of the cell voltage and of the plated Li, `fields` for the fields as in
/// [`compare_steps`], and `conc` for |gpu − cpu| of c̃.
#[derive(Debug, Clone, Copy)]
struct StepTolerances {
    scalars: f64,
    cell_voltage: f64,
    plated_li: f64,
    fields: f64,
    conc: f64,
}

/// The ionic potential φ_l and η of the two-potential form only where the ionic conductivity
/// is above its floor, h(ϕ) ≥ this: in the metal and in the pores σ_l is the floor (10⁻⁶ σ_p),
/// no ionic current flows, and the solves' residual weights φ_l there by that conductance, so
/// both backends leave it wherever CG stopped (measured on the potentiostatic smoke case:
/// 1.3e-2 of max|φ_l| in the Li foil, 3e-6 elsewhere).
const IONIC_PATH_MIN_H: f64 = 1e-3;

/// `v` where `keep`, 0 elsewhere.
fn masked(v: &[f64], keep: &[bool]) -> Vec<f64> {
    v.iter()
        .zip(keep)
        .map(|(&x, &k)| if k { x } else { 0.0 })
        .collect()
}

/// [`compare_steps`] with separate tolerances.
fn compare_steps_with(name: &str, cfg: &Config, until_s: f64, tol: StepTolerances) {
    let (tol_scalars, tol_fields) = (tol.scalars, tol.fields);
    let Some((mut cpu, mut gpu)) = backend_pair(cfg) else {
        return;
    };
    let stop = StopFlag::new();
    let t0 = std::time::Instant::now();
    cpu.advance(until_s, &stop).expect("CPU run");
    let t1 = std::time::Instant::now();
    gpu.advance(until_s, &stop).expect("GPU run");
    let t2 = std::time::Instant::now();
    let (sc, sg) = (cpu.scalars(), gpu.scalars());
    eprintln!(
        "{name}: t = {until_s} s, CPU {} steps ({} solver iterations) in {:.2} s, GPU {} steps ({} solver iterations) in {:.2} s",
        sc.step,
        cpu.state().solver_iterations_total,
        (t1 - t0).as_secs_f64(),
        sg.step,
        gpu.state().solver_iterations_total,
        (t2 - t1).as_secs_f64()
    );
    assert_eq!(sg.time_s, sc.time_s, "{name}: both land on the target time");
    assert!(
        sc.step > 3,
        "{name}: the comparison should cover several steps, not {}",
        sc.step
    );
    let steps_diff = (sg.step as f64 - sc.step as f64).abs() / sc.step as f64;
    assert!(
        steps_diff <= 0.05,
        "{name}: GPU {} steps, CPU {} steps",
        sg.step,
        sc.step
    );
    // The GPU's CG solves stop on the CPU's test (or 1e-6 Σ|b| where f32 cannot reach it): they
    // take about as many iterations as the CPU's, not one or two per solve. The multigrid
    // hierarchies differ (the GPU's goes down to one cell), so the counts are not equal.
    let (ic, ig) = (
        cpu.state().solver_iterations_total as f64,
        gpu.state().solver_iterations_total as f64,
    );
    assert!(
        ig >= 0.6 * ic && ig <= 2.0 * ic,
        "{name}: GPU {ig} CG iterations, CPU {ic}: the GPU solves do not converge like the CPU's"
    );
    assert_rel(
        &format!("{name} cell voltage"),
        sg.cell_voltage_v,
        sc.cell_voltage_v,
        tol.cell_voltage,
        STEPS_WHY,
    );
    assert_rel(
        &format!("{name} current density"),
        sg.current_density_a_m2,
        sc.current_density_a_m2,
        tol_scalars,
        STEPS_WHY,
    );
    assert_rel(
        &format!("{name} charge"),
        sg.charge_c_m2,
        sc.charge_c_m2,
        tol_scalars,
        STEPS_WHY,
    );
    let li0 = cpu.state().li_amount0_mol_m2;
    assert_rel(
        &format!("{name} plated Li c_s ∫ξ − initial"),
        sg.li_amount_mol_m2 - li0,
        sc.li_amount_mol_m2 - li0,
        tol.plated_li,
        STEPS_WHY,
    );
    let (c, g) = (cpu.state().clone(), gpu.state().clone());
    let nx = c.grid.nx;
    assert_close(
        &format!("{name} ξ"),
        &format!("steps-{}.xi", slug(name)),
        nx,
        &g.xi,
        &c.xi,
        tol_fields,
        STEPS_WHY,
    );
    // c̃ stays within ~1e-6 of 1 at these currents, a few f32 spacings (1.2e-7 above 1): its
    // deviation from 1 cannot be compared relatively, c̃ itself can.
    assert_close(
        &format!("{name} c̃"),
        &format!("steps-{}.conc", slug(name)),
        nx,
        &g.conc,
        &c.conc,
        tol.conc,
        "c̃ ≈ 1 is stored in f32 (spacing 6e-8 below 1, 1.2e-7 above): each step and Nernst–Planck \
         sub-step rounds it, and the rounding accumulates over the run",
    );
    let two_potential =
        cpu.coeffs.overpotential == lipf_core::config::OverpotentialForm::TwoPotential;
    // Where the ionic potential is determined (every cell but in the two-potential form).
    let ionic: Vec<bool> = c
        .phi
        .iter()
        .map(|&p| !two_potential || cpu::interp::h(p) >= IONIC_PATH_MIN_H)
        .collect();
    assert_close(
        &format!("{name} φ"),
        &format!("steps-{}.potential", slug(name)),
        nx,
        &masked(&g.potential, &ionic),
        &masked(&c.potential, &ionic),
        tol_fields,
        STEPS_WHY,
    );
    assert_close(
        &format!("{name} η"),
        &format!("steps-{}.eta", slug(name)),
        nx,
        &masked(&g.eta, &ionic),
        &masked(&c.eta, &ionic),
        tol_fields,
        STEPS_WHY,
    );
    if two_potential {
        assert_close(
            &format!("{name} φ_s"),
            &format!("steps-{}.electronic_potential", slug(name)),
            nx,
            &g.electronic_potential,
            &c.electronic_potential,
            tol_fields,
            STEPS_WHY,
        );
        // The leakage is a small part of the current (σ_e,el ≪ σ_p): it is compared against
        // the current (and its charge against the charge), whose f32 sums it is part of.
        for (what, gpu, cpu, scale) in [
            (
                "leakage current density",
                sg.leakage_current_density_a_m2,
                sc.leakage_current_density_a_m2,
                sc.current_density_a_m2,
            ),
            (
                "leakage charge",
                g.leakage_charge_c_m2,
                c.leakage_charge_c_m2,
                c.charge_c_m2,
            ),
        ] {
            let d = (gpu - cpu).abs() / scale.abs();
            let msg = format!(
                "{name} {what}: gpu {gpu:e}, cpu {cpu:e}, |diff| = {d:.2e} of {scale:e} \
                 (tolerance {tol_scalars:.0e}: {STEPS_WHY})"
            );
            eprintln!("{msg}");
            assert!(d <= tol_scalars, "{msg}");
        }
    }
}

/// Lengths of the step-level runs (kept short: lavapipe runs them on the CPU in CI). The smoke
/// case's Δt is limited by the ξ change per step to more than its 2 s end time, so the step-level
/// runs cap Δt at `STEP_MAX_DT_S` to cover many steps.
const STEP_MAX_DT_S: f64 = 0.25;
/// |gpu − cpu| bound of c̃ (≈ 1) after the step-level runs: 16 f32 spacings.
const CONC_ABS_TOL: f64 = 2e-6;
const SMOKE_COMPARE_S: f64 = 5.0;
const ANISO_COMPARE_S: f64 = 5.0;
const FARADAY_S: f64 = 5.0;
const GALVANO_INTERVAL_S: f64 = 0.5;
const GALVANO_CHECKS: usize = 10;

/// configs/smoke.json with Δt ≤ `STEP_MAX_DT_S`.
fn smoke_stepped() -> Config {
    let mut cfg = gpu_config("configs/smoke.json");
    cfg.time.max_dt_s = Some(STEP_MAX_DT_S);
    cfg.time.end_time_s = SMOKE_COMPARE_S.max(FARADAY_S);
    cfg
}

#[test]
fn gpu_smoke_steps_match_the_cpu_backend() {
    let cfg = smoke_stepped();
    compare_steps("smoke", &cfg, SMOKE_COMPARE_S, 1e-4, 1e-4);
}

/// The noise on both backends over several batches (each `advance` to the next second is at
/// least one batch, whose first step the host passes to the device): the GPU run follows the
/// CPU's noise realisation. Measured against what the noise moves: the same run without noise
/// differs from the noisy one by up to ~0.2 in ξ; the backends must agree to 1 % of that.
#[test]
fn gpu_noise_follows_the_cpu_realisation_across_batches() {
    let mut cfg = smoke_stepped();
    cfg.model.noise_amplitude_per_sqrt_s = 0.05;
    cfg.model.noise_seed = 17;
    let Some((mut cpu, mut gpu)) = backend_pair(&cfg) else {
        return;
    };
    let mut plain = CpuBackend::new(&{
        let mut c = cfg.clone();
        c.model.noise_amplitude_per_sqrt_s = 0.0;
        c
    })
    .unwrap();
    let stop = StopFlag::new();
    for t in [1.0, 2.0, 3.0] {
        cpu.advance(t, &stop).unwrap();
        gpu.advance(t, &stop).unwrap();
        plain.advance(t, &stop).unwrap();
    }
    let (xc, xg) = (cpu.state().xi.clone(), gpu.state().xi.clone());
    let diff = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
    };
    let moved = diff(&xc, &plain.state().xi);
    let d = diff(&xg, &xc);
    eprintln!(
        "noise: {} CPU steps, {} GPU steps; the noise moved ξ by up to {moved:.3}; GPU − CPU \
         max |Δξ| = {d:.2e}",
        cpu.state().step,
        gpu.state().step
    );
    assert!(moved > 0.05, "the noise moves ξ ({moved})");
    assert!(
        d < 0.01 * moved,
        "the GPU's noise differs from the CPU's: max |Δξ| {d:e} against the noise's {moved:e}"
    );
}

/// configs/smoke.json in the two-potential form with Δt ≤ `STEP_MAX_DT_S`.
fn smoke_stepped_two_potential() -> Config {
    let mut cfg = two_potential_config("configs/smoke.json");
    cfg.time.max_dt_s = Some(STEP_MAX_DT_S);
    cfg.time.end_time_s = SMOKE_COMPARE_S.max(FARADAY_S);
    cfg
}

/// The two-potential form's step-level tolerances: current, charge and leakage as the other
/// forms (1e-4); the cell voltage, the plated Li and the fields 3e-4. The GPU's Faraday balance
/// in this form is 1.3e-4 (the CPU's 5e-8, the consistent form's on the GPU 1.2e-5): for the
/// same charge it plates 1.3e-4 less Li, at the moving front, where η is 7e-7 V less negative,
/// following the collector potential (φ_s ≈ V in the metal). Measured after 20 steps on lavapipe:
/// plated Li 1.26e-4 (smoke) and 1.18e-4 (anisotropic 67×45); cell voltage 8.5e-5 and 1.29e-4;
/// η and φ_s 9.4e-5 and 1.29e-4 of their maxima; in the potentiostatic smoke case, where the
/// same gap goes into the current, the charge 9.4e-5. Stopping the CG solves 10× lower
/// (F32_RHS_FLOOR = 1e-7) left the gap at 1.2e-4: it is not the stopping test.
const TWO_POTENTIAL_STEP_TOLERANCES: StepTolerances = StepTolerances {
    scalars: 1e-4,
    cell_voltage: 3e-4,
    plated_li: 3e-4,
    fields: 3e-4,
    conc: CONC_ABS_TOL,
};

#[test]
fn gpu_two_potential_smoke_steps_match_the_cpu_backend() {
    let cfg = smoke_stepped_two_potential();
    compare_steps_with(
        "two-potential smoke",
        &cfg,
        SMOKE_COMPARE_S,
        TWO_POTENTIAL_STEP_TOLERANCES,
    );
}

/// The rectifying interphase (forward ASR 1 Ω·m², reverse the default 3.58e3 Ω·m², ionic
/// ASR ℓ/σ_p) on the two-potential smoke case.
#[test]
fn gpu_interphase_smoke_steps_match_the_cpu_backend() {
    let mut cfg = smoke_stepped_two_potential();
    let ell_m = 2.0 * cfg.domain.grid_spacing_um * 1e-6;
    cfg.material.interphase = Some(lipf_core::config::Interphase {
        forward_electronic_asr_ohm_m2: 1.0,
        ionic_asr_ohm_m2: ell_m / cfg.material.llzo_conductivity_s_m,
        ..Default::default()
    });
    compare_steps_with(
        "two-potential smoke with the interphase",
        &cfg,
        SMOKE_COMPARE_S,
        TWO_POTENTIAL_STEP_TOLERANCES,
    );
}

#[test]
fn gpu_two_potential_potentiostatic_smoke_steps_match_the_cpu_backend() {
    let mut cfg = smoke_stepped_two_potential();
    cfg.control.mode = lipf_core::config::ControlMode::Potentiostatic;
    // The charge carries the Faraday gap here (measured 9.4e-5).
    compare_steps_with(
        "two-potential potentiostatic smoke",
        &cfg,
        SMOKE_COMPARE_S,
        StepTolerances {
            scalars: 3e-4,
            ..TWO_POTENTIAL_STEP_TOLERANCES
        },
    );
}

#[test]
fn gpu_two_potential_anisotropic_67x45_steps_match_the_cpu_backend() {
    let mut cfg = twin_config(|c| {
        anisotropic(c);
        two_potential(c);
    });
    cfg.time.end_time_s = ANISO_COMPARE_S;
    cfg.time.max_dt_s = Some(STEP_MAX_DT_S);
    compare_steps_with(
        "two-potential anisotropic δ = 0.04 θ0 = 20°, 67×45",
        &cfg,
        ANISO_COMPARE_S,
        TWO_POTENTIAL_STEP_TOLERANCES,
    );
}

#[test]
fn gpu_anisotropic_67x45_steps_match_the_cpu_backend() {
    let mut cfg = twin_config(anisotropic);
    cfg.time.end_time_s = ANISO_COMPARE_S;
    cfg.time.max_dt_s = Some(STEP_MAX_DT_S);
    compare_steps(
        "anisotropic δ = 0.04 θ0 = 20°, 67×45",
        &cfg,
        ANISO_COMPARE_S,
        1e-4,
        1e-4,
    );
}

#[test]
fn gpu_potentiostatic_smoke_steps_match_the_cpu_backend() {
    let mut cfg = smoke_stepped();
    cfg.control.mode = lipf_core::config::ControlMode::Potentiostatic;
    compare_steps("potentiostatic smoke", &cfg, SMOKE_COMPARE_S, 1e-4, 1e-4);
}

/// `cfg` with the implicit Nernst–Planck step (np_assemble, one CG solve for u = c̃ e^{fφ},
/// np_finish) instead of the explicit sub-steps.
fn implicit_np(mut cfg: Config) -> Config {
    cfg.model.nernst_planck = lipf_core::config::NernstPlanck::Implicit;
    cfg
}

/// |gpu − cpu| bound of c̃ after the step-level runs with the implicit Nernst–Planck step: half
/// `CONC_ABS_TOL`, 8 f32 spacings. Each step's c̃ is the old one plus the solved change, rounded
/// once (np_finish.wgsl), and the solve stops at `NP_RESIDUAL_PER_CELL` = 1e-9 per cell, ~1e-2
/// of a spacing. Measured on lavapipe: 3.2e-7 (consistent form) and 5.9e-7 (two-potential);
/// the same step with its right-hand side formed as b − A u0 in f32 and c̃ = e^{−fφ} u left
/// 1.3e-6 and 1.4e-6 (the rounding of the diagonal, ≈ 4Δt D/Δx² = 26 times e^{−fφ} here, enters
/// c̃ every step), where the CPU's own c̃ − 1 is below 1e-6.
const IMPLICIT_CONC_ABS_TOL: f64 = 1e-6;

/// The smoke case with the implicit Nernst–Planck step, consistent form: the tolerances of the
/// explicit smoke comparison but c̃ within `IMPLICIT_CONC_ABS_TOL`.
#[test]
fn gpu_implicit_nernst_planck_smoke_steps_match_the_cpu_backend() {
    let cfg = implicit_np(smoke_stepped());
    compare_steps_with(
        "implicit Nernst–Planck smoke",
        &cfg,
        SMOKE_COMPARE_S,
        StepTolerances {
            scalars: 1e-4,
            cell_voltage: 1e-4,
            plated_li: 1e-4,
            fields: 1e-4,
            conc: IMPLICIT_CONC_ABS_TOL,
        },
    );
}

/// The two-potential smoke case with the implicit Nernst–Planck step: the two-potential
/// tolerances (its Faraday gap on the GPU, [`TWO_POTENTIAL_STEP_TOLERANCES`]), c̃ within
/// `IMPLICIT_CONC_ABS_TOL`.
#[test]
fn gpu_implicit_nernst_planck_two_potential_smoke_steps_match_the_cpu_backend() {
    let cfg = implicit_np(smoke_stepped_two_potential());
    compare_steps_with(
        "implicit Nernst–Planck two-potential smoke",
        &cfg,
        SMOKE_COMPARE_S,
        StepTolerances {
            conc: IMPLICIT_CONC_ABS_TOL,
            ..TWO_POTENTIAL_STEP_TOLERANCES
        },
    );
}

/// The two-potential smoke case with the obstacle by backward Euler (`model.obstacle_step =
/// "implicit"`, steps of 0.25 s: J Δt_p ≈ 0.5): the two-potential tolerances. The device forms
/// Δt_p from the control record's remaining time, the CPU from its own; both land on the same
/// steps.
#[test]
fn gpu_implicit_obstacle_two_potential_smoke_steps_match_the_cpu_backend() {
    let mut cfg = smoke_stepped_two_potential();
    cfg.model.obstacle_step = lipf_core::config::ObstacleStep::Implicit;
    compare_steps_with(
        "implicit obstacle two-potential smoke",
        &cfg,
        SMOKE_COMPARE_S,
        TWO_POTENTIAL_STEP_TOLERANCES,
    );
}

/// The implicit Nernst–Planck step where c̃ − 1 is large enough to compare relatively: the
/// smoke case (two-potential form) with D_p half its Nernst–Einstein value, so that migration
/// carries only half the ionic current and a gradient |∇c̃| = i f/σ_p grows from the interface
/// (max|c̃ − 1| ~1.5e-2 after 2 s; as `mutant_checks::gpu_nernst_planck_deviation_of_c_matches_
/// the_cpu_relatively` for the explicit update). Steps of 0.25 s: Δt D_p/Δx² = 3.2, 13 explicit
/// diffusion limits.
///
/// Tolerances: c̃ − 1 within 3e-4 of the CPU's largest |c̃ − 1| (measured 2.7e-5 on lavapipe;
/// the explicit GPU update's is 2.3e-4). The GPU stores c̃ in f32 (spacing 6e-8 near 1, 4e-6 of
/// the deviation per rounding), its Nernst–Planck solve stops at Σ|r| ≤ `NP_RESIDUAL_PER_CELL` ×
/// cells (1e-9 per cell, ~1e-7 of the deviation), and its potentials carry the f32 round-off of
/// each step into the next ones (the drift and the sink of the Nernst–Planck step come from
/// them); the cell voltage within
/// `TWO_POTENTIAL_STEP_TOLERANCES.cell_voltage` (3e-4: the two-potential form's Faraday gap on
/// the GPU). The CG iterations of the Nernst–Planck solves: within 0.5–2× the CPU's (the GPU's
/// hierarchy goes down to one cell, the CPU's stops at 64 cells; the GPU's
/// test is on the f32 recurrence residual at 1e-9 per cell, the CPU's on the true one at 1e-11).
#[test]
fn gpu_implicit_nernst_planck_deviation_of_c_matches_the_cpu_relatively() {
    let mut cfg = implicit_np(two_potential_config("configs/smoke.json"));
    let d_ne = lipf_core::Coefficients::from_config(&cfg).d_p_m2_s;
    cfg.material.llzo_diffusivity_m2_s = Some(0.5 * d_ne);
    cfg.time.max_dt_s = Some(STEP_MAX_DT_S);
    let until = 2.0;
    cfg.time.end_time_s = until;
    let Some((mut cpu, mut gpu)) = backend_pair(&cfg) else {
        return;
    };
    let stop = StopFlag::new();
    let t0 = std::time::Instant::now();
    cpu.advance(until, &stop).expect("CPU run");
    let t1 = std::time::Instant::now();
    gpu.advance(until, &stop).expect("GPU run");
    let t2 = std::time::Instant::now();
    let (sc, sg) = (cpu.scalars(), gpu.scalars());
    let implicit = "the implicit Nernst–Planck step";
    let (nc, ng) = (
        Backend::nernst_planck_iterations(&cpu).expect(implicit),
        Backend::nernst_planck_iterations(&gpu).expect(implicit),
    );
    eprintln!(
        "implicit Nernst–Planck, D_p = D_NE/2: t = {until} s, CPU {} steps in {:.2} s, GPU {} steps \
         in {:.2} s; Nernst–Planck CG iterations per step: CPU {:.2}, GPU {:.2}; Δt D_p/Δx² = {:.1}, {:.1} explicit limits",
        sc.step,
        (t1 - t0).as_secs_f64(),
        sg.step,
        (t2 - t1).as_secs_f64(),
        nc as f64 / sc.step as f64,
        ng as f64 / sg.step as f64,
        STEP_MAX_DT_S * 0.5 * d_ne / (cpu.coeffs.grid.dx_m * cpu.coeffs.grid.dx_m),
        STEP_MAX_DT_S / cpu.coeffs.dt_diffusion_s(),
    );
    assert_eq!(sg.time_s, sc.time_s, "both land on the target time");
    assert_eq!(sg.step, sc.step, "the same steps");
    let c = cpu.state().conc.clone();
    let g = gpu.state().conc.clone();
    let dev: Vec<f64> = c.iter().map(|x| x - 1.0).collect();
    let gdev: Vec<f64> = g.iter().map(|x| x - 1.0).collect();
    let largest = dev.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(
        largest > 1e-3,
        "max|c̃ − 1| = {largest:e}: too small to compare relatively"
    );
    assert_close(
        "implicit Nernst–Planck c̃ − 1 (D_p = D_NE/2)",
        "implicit-np-half-diffusivity.conc",
        cpu.coeffs.grid.nx,
        &gdev,
        &dev,
        3e-4,
        "c̃ is f32 on the device (6e-8 near 1), the Nernst–Planck solve stops at 1e-9 per cell, \
         and the potentials' f32 round-off is carried from step to step",
    );
    assert_rel(
        "implicit Nernst–Planck (D_p = D_NE/2) cell voltage",
        sg.cell_voltage_v,
        sc.cell_voltage_v,
        TWO_POTENTIAL_STEP_TOLERANCES.cell_voltage,
        STEPS_WHY,
    );
    assert!(
        nc > 0 && (ng as f64) >= 0.5 * nc as f64 && (ng as f64) <= 2.0 * nc as f64,
        "Nernst–Planck CG iterations: GPU {ng}, CPU {nc}"
    );
}

/// The paper's 1.5 µm case (200 × 200 cells), 20 steps. Slow on lavapipe (run with
/// `--ignored`); the grid where a stagnating f32 solve would show first.
#[test]
#[ignore = "about a minute on lavapipe; run with --ignored"]
fn gpu_paper_case_steps_match_the_cpu_backend() {
    let mut cfg = gpu_config("configs/paper/pore-1.5um.json");
    cfg.time.max_dt_s = Some(STEP_MAX_DT_S);
    compare_steps("paper pore-1.5um", &cfg, 20.0 * STEP_MAX_DT_S, 5e-4, 3e-4);
}

#[test]
fn gpu_faraday_balance_holds_within_half_percent_on_smoke_case() {
    faraday_balance(&smoke_stepped());
}

#[test]
fn gpu_two_potential_faraday_balance_holds_within_half_percent_on_smoke_case() {
    faraday_balance(&smoke_stepped_two_potential());
}

/// The GPU backend's Faraday balance to `FARADAY_S` (the ionic charge against the plated Li;
/// `observables::faraday_error`).
fn faraday_balance(cfg: &Config) {
    let Some(ctx) = device() else { return };
    let mut cpu = CpuBackend::new(cfg).expect("initial state");
    let state = Backend::state(&mut cpu).clone();
    let mut gpu =
        GpuBackend::with_state(ctx, cfg, state, cpu.geometry().clone()).expect("GPU backend");
    gpu.advance(FARADAY_S, &StopFlag::new()).expect("GPU run");
    let c = gpu.coeffs.clone();
    let s = gpu.state().clone();
    let err = lipf_core::observables::faraday_error(&c, &s);
    eprintln!(
        "GPU smoke to {FARADAY_S} s: {} steps, charge {} C/m², Faraday error {err:e}",
        s.step, s.charge_c_m2
    );
    assert!(
        s.charge_c_m2 > 0.9 * cfg.control.current_density_a_m2 * FARADAY_S,
        "charge {}",
        s.charge_c_m2
    );
    assert!(err < 5e-3, "Faraday balance error {err}");
}

#[test]
fn gpu_galvanostatic_current_stays_within_one_percent_of_target() {
    galvanostatic_current(&smoke_stepped());
}

#[test]
fn gpu_two_potential_galvanostatic_current_stays_within_one_percent_of_target() {
    galvanostatic_current(&smoke_stepped_two_potential());
}

/// The GPU backend's current (ions and electrons through the counter electrode) against the
/// galvanostatic target at `GALVANO_CHECKS` times.
fn galvanostatic_current(cfg: &Config) {
    let Some(ctx) = device() else { return };
    let mut cpu = CpuBackend::new(cfg).expect("initial state");
    let state = Backend::state(&mut cpu).clone();
    let mut gpu =
        GpuBackend::with_state(ctx, cfg, state, cpu.geometry().clone()).expect("GPU backend");
    let stop = StopFlag::new();
    let target = cfg.control.current_density_a_m2;
    let mut worst = 0.0f64;
    for k in 1..=GALVANO_CHECKS {
        let t = k as f64 * GALVANO_INTERVAL_S;
        gpu.advance(t, &stop).expect("GPU run");
        let i = gpu.scalars().current_density_a_m2;
        worst = worst.max((i - target).abs() / target);
        assert!(
            (i - target).abs() < 0.01 * target,
            "t = {t}: i = {i} A/m², target {target}"
        );
    }
    eprintln!(
        "GPU galvanostatic: worst |i − target|/target {worst:.2e} over {GALVANO_CHECKS} checks"
    );
}

/// Length of the creep whole run, s (23 steps; 20 s on lavapipe).
const CREEP_COMPARE_S: f64 = 20.0;

/// configs/flat-cell.json with creep (the defaults: 1 MPa, open collector) plating at 10 A/m²,
/// faster than creep alone carries the metal through the 6 µm foil at the stack pressure: the
/// pressure in the foil builds up to several p_s.
fn flat_cell_creep() -> Config {
    let mut cfg = gpu_config("configs/flat-cell.json");
    cfg.creep.enabled = true;
    cfg.control.current_density_a_m2 = 10.0;
    cfg.time.end_time_s = CREEP_COMPARE_S;
    cfg
}

/// Creep on the GPU (creep_assemble, `CREEP_ACTIVE_SET_ROUNDS` active-set rounds of CG pressure
/// solves, creep_finish and the collector outflow of each step, added up in f64 on the host)
/// against the CPU backend on a whole run of the flat cell: the cell voltage, ξ, the Li pushed
/// through the open collector (`li_extruded_m`, nearly all the plated Li) and the GPU's Faraday
/// balance (the Li amount counts the extruded Li).
///
/// Tolerances (measured on lavapipe after 20 s): cell voltage 3e-4 (1.5e-5); ξ within 1e-6;
/// `li_extruded_m` 5e-4 relative (2.4e-5) and the GPU's Faraday error 2e-4 (2.5e-5; the CPU's
/// 7e-7). Both come from the f32 pressure solves, stopped at 1e-6 Σ|b|. The set of filling cells
/// is not updated after the last round's solve: `creep_finish` then uses the set the operator
/// was assembled with. Updating it once more (as an earlier recording did) put 2.8e-3 into both.
#[test]
fn gpu_creep_flat_cell_run_matches_the_cpu_backend() {
    let cfg = flat_cell_creep();
    let Some((mut cpu, mut gpu)) = backend_pair(&cfg) else {
        return;
    };
    let stop = StopFlag::new();
    let t0 = std::time::Instant::now();
    cpu.advance(CREEP_COMPARE_S, &stop).expect("CPU run");
    let t1 = std::time::Instant::now();
    gpu.advance(CREEP_COMPARE_S, &stop).expect("GPU run");
    let t2 = std::time::Instant::now();
    let (sc, sg) = (cpu.scalars(), gpu.scalars());
    let (cc, gc) = (cpu.creep_iterations_total(), gpu.creep_iterations_total());
    eprintln!(
        "creep flat cell: t = {CREEP_COMPARE_S} s, CPU {} steps, {} creep CG iterations in {} \
         rounds, {:.2} s; GPU {} steps, {} creep CG iterations in {} rounds, {:.2} s",
        sc.step,
        cc.0,
        cc.1,
        (t1 - t0).as_secs_f64(),
        sg.step,
        gc.0,
        gc.1,
        (t2 - t1).as_secs_f64()
    );
    assert_eq!(sg.time_s, sc.time_s, "both land on the target time");
    assert!(sc.step > 10, "{} steps", sc.step);
    let (c, g) = (cpu.state().clone(), gpu.state().clone());
    assert!(
        c.li_extruded_m
            > 0.9 * cfg.control.current_density_a_m2 * CREEP_COMPARE_S
                / (cpu.coeffs.nf_c_mol * cpu.coeffs.cs_mol_m3),
        "the plated Li leaves through the collector: {} m",
        c.li_extruded_m
    );
    assert_rel(
        "creep cell voltage",
        sg.cell_voltage_v,
        sc.cell_voltage_v,
        3e-4,
        STEPS_WHY,
    );
    assert_close(
        "creep ξ",
        "steps-creep.xi",
        c.grid.nx,
        &g.xi,
        &c.xi,
        1e-6,
        "ξ ≤ 1 in f32 pairs; the creep step leaves the contact at ξ = 1 − ϕ in both",
    );
    assert_rel(
        "creep li_extruded_m",
        g.li_extruded_m,
        c.li_extruded_m,
        5e-4,
        "the outflow of f32 pressure solves stopped at 1e-6 Σ|b|",
    );
    let fe_c = lipf_core::observables::faraday_error(&cpu.coeffs, &c);
    let fe_g = lipf_core::observables::faraday_error(&gpu.coeffs, &g);
    eprintln!("creep Faraday error: cpu {fe_c:e}, gpu {fe_g:e}");
    assert!(fe_c < 1e-5, "CPU Faraday error {fe_c}");
    assert!(fe_g < 2e-4, "GPU Faraday error {fe_g} (tolerance 2e-4)");
}

/// configs/dendrites/liquid-hong-viswanathan.json (a liquid electrolyte, −0.45 V, conserved
/// noise) on a 20 µm wide strip up to `end_s`: the largest difference of the Li's tip between
/// the CPU and the GPU at every 10 s, µm (None without an adapter). Explicit Nernst–Planck
/// sub-steps: the implicit solve stalls on a strip this narrow.
fn liquid_case_tip_difference(end_s: f64) -> Option<f64> {
    let mut cfg =
        Config::from_file(&repo_path("configs/dendrites/liquid-hong-viswanathan.json")).unwrap();
    cfg.domain.width_um = 20.0;
    cfg.model.nernst_planck = lipf_core::config::NernstPlanck::Explicit;
    // The device runs at most 256 sub-steps per step (Δx²/4D = 7.8e-4 s here).
    cfg.time.max_dt_s = Some(0.1);
    cfg.output.images = false;
    let (mut cpu, mut gpu) = backend_pair(&cfg)?;
    let g = cpu.coeffs.grid;
    let stop = StopFlag::new();
    let mut worst: f64 = 0.0;
    let mut t = 0.0;
    while t < end_s {
        t += 10.0;
        cpu.advance(t, &stop).unwrap();
        gpu.advance(t, &stop).unwrap();
        let tc = lipf_core::morphology::li_tip_um(&g, &cpu.state().xi);
        let tg = lipf_core::morphology::li_tip_um(&g, &gpu.state().xi);
        eprintln!(
            "liquid case at {t} s: tip {tc:.4} µm (CPU), {tg:.4} µm (GPU); current {:.1} and \
             {:.1} A/m²",
            cpu.state().current_density_a_m2,
            gpu.scalars().current_density_a_m2
        );
        worst = worst.max((tc - tg).abs());
    }
    let tip = lipf_core::morphology::li_tip_um(&g, &cpu.state().xi);
    assert!(tip > 21.0, "the front advances from 20 µm: {tip} µm");
    Some(worst)
}

/// The liquid reference case's first 10 s on both backends: the tips agree to a tenth of a cell
/// (measured 0 at 10 s).
#[test]
fn gpu_follows_the_cpu_in_the_liquid_reference_case() {
    if let Some(d) = liquid_case_tip_difference(10.0) {
        assert!(d < 0.1, "tips differ by {d} µm (a cell is 1 µm)");
    }
}

/// Over the first 50 s, as the dendrite issue asks: within one cell (measured: 0.03 µm at most,
/// at 30 s; the currents within 0.3 %). Three and a half minutes on lavapipe.
#[test]
#[ignore = "3.5 minutes on lavapipe; run with --ignored"]
fn gpu_follows_the_cpu_in_the_liquid_reference_case_for_50_s() {
    if let Some(d) = liquid_case_tip_difference(50.0) {
        assert!(d < 1.0, "tips differ by {d} µm (a cell is 1 µm)");
    }
}

/// The kernels of the semi-implicit gradient term against their CPU twins, on the twin cases
/// (2D) and on the 3D twin state (odd depth, crossing the workgroups): the operator
/// 1 − Δt Lσκ_max∇² (Δt from the control record), the right-hand side Δt r (+ √Δt D) with its
/// first guess, and the compensated ξ += δ.
#[test]
fn xi_gradient_kernels_match_their_twins() {
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    let (_, c3, s3) = twin_state_3d();
    let mut cases: Vec<(String, lipf_core::Coefficients, lipf_core::State)> = twin_cases()
        .iter()
        .map(|k| (k.label.to_string(), k.c.clone(), k.s.clone()))
        .collect();
    cases.push(("3d".into(), c3, s3));
    for (label, c, s) in cases {
        let (shape, n) = (c.grid.shape(), c.grid.cells());
        // A Δt of 40 explicit limits: β/Δx² ≈ 5 per face.
        let dt = 40.0 * c.dt_allen_cahn_s();
        let mut op = cpu::operator::Operator::zeros3(shape[0], shape[1], shape[2]);
        let beta = dt * c.l_sigma_m3_js * c.kappa_stiff_j_m() / (c.grid.dx_m * c.grid.dx_m);
        cpu::xi_gradient_operator::xi_gradient_operator(beta, &mut op);
        let g = t.xi_gradient_operator(&c, dt).unwrap();
        assert_operator_close(
            &format!("xi_gradient_operator [{label}]"),
            &g,
            &op,
            &[],
            1e-6,
        );
        // A rate with the sign changes of a real one, and noise.
        let rate: Vec<f64> =
            s.xi.iter()
                .map(|&x| 1e-4 * (x - 0.5) * (1.0 - x) * x)
                .collect();
        let noise: Vec<f64> = (0..n).map(|k| 1e-6 * ((k % 7) as f64 - 3.0)).collect();
        let (mut rhs, mut delta) = (vec![0.0; n], vec![0.0; n]);
        cpu::xi_gradient_rhs::xi_gradient_rhs(
            shape[0],
            dt,
            &rate,
            Some(&noise),
            &mut rhs,
            &mut delta,
        );
        let (grhs, gdelta) = t.xi_gradient_rhs(shape, dt, &rate, Some(&noise)).unwrap();
        assert_close(
            &format!("xi_gradient_rhs rhs [{label}]"),
            &format!("xi_gradient_rhs-{label}.rhs"),
            shape[0],
            &grhs,
            &rhs,
            1e-5,
            F32_WHY,
        );
        assert_eq!(
            grhs, gdelta,
            "{label}: the first guess is the right-hand side"
        );
        // ξ += δ: compare the increments (δ ~ 1e-4 on ξ ~ 1).
        let mut xi = s.xi.clone();
        cpu::xi_gradient_finish::xi_gradient_finish(shape[0], &rhs, &mut xi);
        let gxi = t.xi_gradient_finish(shape, &rhs, &s.xi).unwrap();
        let d: Vec<f64> = xi.iter().zip(&s.xi).map(|(a, b)| a - b).collect();
        let gd: Vec<f64> = gxi.iter().zip(&s.xi).map(|(a, b)| a - b).collect();
        assert_close(
            &format!("xi_gradient_finish delta_xi [{label}]"),
            &format!("xi_gradient_finish-{label}.delta_xi"),
            shape[0],
            &gd,
            &d,
            1e-5,
            "ξ is an f32 pair (xi + xi_lo) updated with a two-sum, so Δξ keeps its f32 precision",
        );
    }
}

/// A whole run with the semi-implicit gradient term on the GPU backend follows the CPU's: the
/// 1.5 µm channel section at Δx = ℓ/8 (ℓ = 1 µm), whose explicit limit is 3.6 s with the safety
/// factor, in the steps of up to 20 s the ξ-change limit allows, and the 3D twin configuration
/// for 1 s.
#[test]
fn the_gpu_backend_follows_the_cpu_with_the_implicit_gradient() {
    let Some(ctx) = device() else { return };
    let mut section =
        Config::from_file(&repo_path("configs/3d/channels-1.5um-section.json")).unwrap();
    section.domain.grid_spacing_um = 0.125;
    section.model.interface_half_width_um = Some(1.0);
    section.model.obstacle_step = lipf_core::config::ObstacleStep::Implicit;
    section.time.max_dt_s = Some(20.0);
    section.output.timeseries_interval_s = 20.0;
    section.output.snapshot_interval_s = 20.0;
    let mut volume = config_3d();
    volume.model.obstacle_step = lipf_core::config::ObstacleStep::Implicit;
    let mut ctx = Some(ctx);
    for (label, mut cfg, t) in [("section", section, 60.0), ("3d", volume, 1.0)] {
        cfg.model.allen_cahn_gradient = lipf_core::config::AllenCahnGradient::Implicit;
        let c = lipf_core::Coefficients::from_config(&cfg);
        let cap = cfg.time.stability_safety * c.dt_allen_cahn_s();
        let ctx = match ctx.take() {
            Some(x) => x,
            None => device().expect("the device again"),
        };
        let (sg, sc) = run_on_both(ctx, &cfg, t);
        let li = |s: &lipf_core::State| {
            lipf_core::observables::li_amount_mol_m2(&c, s) - s.li_amount0_mol_m2
        };
        let fg = lipf_core::observables::faraday_error(&c, &sg);
        eprintln!(
            "{label} to {t} s: steps {} / {}, V {:.6e} / {:.6e} V, plated {:.6e} / {:.6e} \
             mol/m², GPU Faraday {fg:.2e}",
            sg.step,
            sc.step,
            sg.v_collector,
            sc.v_collector,
            li(&sg),
            li(&sc)
        );
        assert_eq!(sg.step, sc.step, "{label}");
        if label == "section" {
            assert!(
                t / (sc.step as f64) > 1.5 * cap,
                "{} steps, cap {cap} s",
                sc.step
            );
        }
        assert!(
            (sg.v_collector / sc.v_collector - 1.0).abs() < 1e-3,
            "{label}"
        );
        assert!((li(&sg) / li(&sc) - 1.0).abs() < 5e-3, "{label}: plated Li");
        assert!(fg < 5e-3, "{label}: GPU Faraday balance {fg}");
        // The potential's scale is at least the cell voltage: the f32 solve resolves it
        // relative to the collector potential (here |V| is 6× the largest |φ|).
        assert_fields_follow(
            label,
            &[
                ("xi", &sg.xi, &sc.xi, 1e-4, 0.0),
                ("c", &sg.conc, &sc.conc, 1e-5, 0.0),
                (
                    "potential",
                    &sg.potential,
                    &sc.potential,
                    1e-3,
                    sc.v_collector.abs(),
                ),
            ],
        );
    }
}
