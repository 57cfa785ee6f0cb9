//! The GPU backend against its CPU reference.
//!
//! Without a device: every kernel, joined with the shared modules it imports, parses and
//! validates with naga (the version wgpu uses), and a naga error names the line of the original
//! file; the registry lists exactly the files in `shaders/` and `shaders/shared/`; no WGSL name
//! is declared in two files; every CPU kernel has its WGSL twin; every WGSL parameter struct has
//! the layout of its Rust `#[repr(C)]` twin; the control flags and the indirect-table layout of
//! the shared WGSL modules are lipf-gpu's; and the WGSL range limits are lipf-core's.
//!
//! With a device: each kernel against its CPU twin on 67×45 grids (not multiples of the 16×16
//! workgroups) in both overpotential forms and both double wells, with and without rotated
//! anisotropy; 20 whole steps of the smoke case (galvanostatic and potentiostatic) and of an
//! anisotropic 67×45 case against the CPU backend (scalars, fields, CG iteration counts); the
//! Faraday balance and the galvanostatic current on the GPU backend. Every comparison prints the
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
        assert!(
            s.source.contains(&format!("fn {k}(")),
            "shaders/{k}.wgsl has no entry point `{k}`"
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
    assert_eq!(rust.len(), 3, "expected three control flags");
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

/// Compares a GPU field with its CPU twin: |gpu − cpu| ≤ tol · max|cpu| everywhere. Prints
/// and, on failure, names the worst cell with both values.
fn assert_close(what: &str, nx: usize, gpu: &[f64], cpu: &[f64], tol: f64, why: &str) {
    let scale = cpu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert_close_to_scale(what, nx, gpu, cpu, scale, "max|cpu|", tol, why);
}

/// |gpu − cpu| ≤ tol · `scale` everywhere (`scale_name` says what the scale is). Prints and, on
/// failure, names the worst cell with both values.
#[allow(clippy::too_many_arguments)]
fn assert_close_to_scale(
    what: &str,
    nx: usize,
    gpu: &[f64],
    cpu: &[f64],
    scale: f64,
    scale_name: &str,
    tol: f64,
    why: &str,
) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
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
    assert!(d <= tol * scale, "{msg}");
}

const F32_WHY: &str =
    "the GPU computes in f32, the CPU in f64; inputs are rounded to f32 first, so the \
     difference is the f32 rounding of the kernel's own arithmetic, amplified by cancellation in \
     the differences of neighbouring cells";

/// A 67 × 45 case (not a multiple of the 16 × 16 workgroups) with the smoke geometry, its
/// initial state rounded to f32 (the GPU's precision), and smooth fields for η and φ.
fn twin_config(modify: impl Fn(&mut Config)) -> Config {
    let mut cfg = Config::from_file(&repo_path("configs/smoke.json")).unwrap();
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
    let round = |v: &mut Vec<f64>| v.iter_mut().for_each(|x| *x = *x as f32 as f64);
    let (nx, ny) = (s.grid.nx, s.grid.ny);
    for k in 0..nx * ny {
        let (i, j) = ((k % nx) as f64, (k / nx) as f64);
        s.eta[k] = -4e-3 + 1e-3 * (0.3 * i).sin() * (0.2 * j).cos();
        s.potential[k] = 2e-3 * (j / ny as f64) + 1e-4 * (0.5 * i).cos();
        s.conc[k] = 1.0 - 0.01 * (0.1 * i + 0.2 * j).sin().abs();
    }
    for v in [
        &mut s.xi,
        &mut s.phi,
        &mut s.conc,
        &mut s.eta,
        &mut s.potential,
    ] {
        round(v);
    }
    (cfg, b.coeffs.clone(), s)
}

#[test]
fn gpu_kernels_match_their_cpu_twins_on_a_67x45_grid() {
    let Some(ctx) = device() else { return };
    let mut t = TwinRunner::new(&ctx);
    type Case = (&'static str, fn(&mut Config));
    let cases: [Case; 3] = [
        ("isotropic, consistent overpotential, sharp double well", |_| {}),
        ("anisotropic δ = 0.04, θ0 = 20°", anisotropic),
        (
            "single-potential form, polynomial double well, cross term A = 0.5 W1, δ = 0.04, θ0 = 20°",
            |c| {
                anisotropic(c);
                c.model.overpotential = lipf_core::config::OverpotentialForm::SinglePotential;
                c.model.double_well = lipf_core::config::DoubleWell::Polynomial;
                c.model.cross_term_over_w1 = 0.5;
            },
        ),
    ];
    for (label, modify) in cases {
        let (_cfg, c, s) = twin_case(twin_config(modify));
        let (nx, ny) = (c.grid.nx, c.grid.ny);
        assert_eq!((nx, ny), (67, 45));
        let n = nx * ny;
        eprintln!("== {label}");

        // xi_rate
        let p = cpu::xi_rate::XiRateParams::new(&c, true);
        let (mut a, mut g) = (vec![0.0; n], vec![0.0; n]);
        cpu::xi_rate::xi_rate(&p, &s.xi, &s.phi, &s.conc, &s.eta, &mut a, &mut g);
        let (ga, gg) = t.xi_rate(&p, &s.xi, &s.phi, &s.conc, &s.eta).unwrap();
        assert_close("xi_rate a", nx, &ga, &a, 1e-5, F32_WHY);
        assert_close("xi_rate g", nx, &gg, &g, 1e-5, F32_WHY);
        let round = |v: &[f64]| -> Vec<f64> { v.iter().map(|&x| x as f32 as f64).collect() };
        let (a, g) = (round(&a), round(&g));

        // potential_assemble
        let mut op = cpu::operator::Operator::zeros(nx, ny);
        let (mut b0, mut b1) = (vec![0.0; n], vec![0.0; n]);
        cpu::potential_assemble::potential_assemble(
            &c, &s.xi, &s.phi, &a, &g, &s.eta, &mut op, &mut b0, &mut b1,
        );
        let (gop, gb0, gb1) = t
            .potential_assemble(&c, &s.xi, &s.phi, &a, &g, &s.eta)
            .unwrap();
        for (name, x, y) in [
            ("tx", &gop.tx, &op.tx),
            ("ty", &gop.ty, &op.ty),
            ("s", &gop.s, &op.s),
            ("diag", &gop.diag, &op.diag),
        ] {
            assert_close(
                &format!("potential_assemble {name}"),
                nx,
                x,
                y,
                1e-5,
                F32_WHY,
            );
        }
        assert_close(
            "potential_assemble tbot",
            nx,
            &gop.tbot,
            &op.tbot,
            1e-5,
            F32_WHY,
        );
        assert_close("potential_assemble b0", nx, &gb0, &b0, 1e-5, F32_WHY);
        assert_close("potential_assemble b1", nx, &gb1, &b1, 1e-5, F32_WHY);
        let op =
            lipf_gpu::twin::unpack_operator(nx, ny, &round(&lipf_gpu::twin::pack_operator(&op)));

        // multigrid kernels
        let x: Vec<f64> = round(&s.potential);
        let b: Vec<f64> = round(&b0);
        for colour in [0, 1] {
            let mut xc = x.clone();
            cpu::mg_smooth::mg_smooth(&op, &b, &mut xc, colour);
            let xg = t.mg_smooth(&op, &b, &x, colour as u32).unwrap();
            assert_close(
                &format!("mg_smooth colour {colour}"),
                nx,
                &xg,
                &xc,
                1e-5,
                F32_WHY,
            );
        }
        let mut r = vec![0.0; n];
        cpu::mg_residual::mg_residual(&op, &b, &x, &mut r);
        let rg = t.mg_residual(&op, &b, &x).unwrap();
        // The residual is a difference of terms |diag·x| ≫ |r|: compare against that size.
        let scale = (0..n).fold(0.0f64, |m, k| m.max((op.diag[k] * x[k]).abs()));
        const CANCEL_WHY: &str = "f32 against f64: b − A x cancels terms of size |diag·x| ≫ |r|, \
             each rounded to f32";
        assert_close_to_scale(
            "mg_residual",
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
            "mg_apply",
            nx,
            &yg,
            &y,
            scale,
            "max|diag·x|",
            1e-6,
            CANCEL_WHY,
        );
        let (nxc, nyc) = (nx.div_ceil(2), ny.div_ceil(2));
        let mut rc = vec![0.0; nxc * nyc];
        cpu::mg_restrict::mg_restrict(&b, nx, ny, &mut rc);
        assert_close(
            "mg_restrict",
            nxc,
            &t.mg_restrict(&b, nx, ny).unwrap(),
            &rc,
            1e-6,
            F32_WHY,
        );
        let coarse: Vec<f64> = round(&rc);
        let mut fine = x.clone();
        cpu::mg_prolong::mg_prolong(&coarse, 1.8, nx, &mut fine);
        assert_close(
            "mg_prolong",
            nx,
            &t.mg_prolong(&coarse, 1.8, nx, ny, &x).unwrap(),
            &fine,
            1e-6,
            F32_WHY,
        );
        let mut cop = cpu::operator::Operator::zeros(nxc, nyc);
        cpu::mg_coarsen::mg_coarsen(&op, &mut cop);
        let gco = t.mg_coarsen(&op).unwrap();
        for (name, x, y) in [
            ("tx", &gco.tx, &cop.tx),
            ("ty", &gco.ty, &cop.ty),
            ("s", &gco.s, &cop.s),
            ("diag", &gco.diag, &cop.diag),
            ("tbot", &gco.tbot, &cop.tbot),
        ] {
            assert_close(&format!("mg_coarsen {name}"), nxc, x, y, 1e-6, F32_WHY);
        }

        // reaction_rate
        let v = -5e-3;
        let (mut rate, mut eta) = (vec![0.0; n], vec![0.0; n]);
        cpu::reaction_rate::reaction_rate(&c, &a, &g, &s.eta, &s.potential, v, &mut rate, &mut eta);
        let (grate, geta) = t
            .reaction_rate(&c, &a, &g, &s.eta, &s.potential, v)
            .unwrap();
        assert_close("reaction_rate rate", nx, &grate, &rate, 1e-5, F32_WHY);
        assert_close("reaction_rate eta", nx, &geta, &eta, 1e-5, F32_WHY);
        let rate = round(&rate);

        // Nernst–Planck: conc_update, np_coefficients, np_substep
        let dif: Vec<f64> =
            s.xi.iter()
                .zip(&s.phi)
                .map(|(&x, &p)| cpu::conc_update::cell_diffusivity(&c, x, p))
                .collect();
        let dt = 5e-3;
        let mut cn = vec![0.0; n];
        cpu::conc_update::conc_update(&c, dt, &dif, &s.conc, &s.potential, &rate, &mut cn);
        let gcn = t
            .conc_update(&c, dt, &s.xi, &s.phi, &s.conc, &s.potential, &rate)
            .unwrap();
        let dc: Vec<f64> = cn.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
        let gdc: Vec<f64> = gcn.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
        assert_close("conc_update Δc̃", nx, &gdc, &dc, 1e-3, "Δc̃ is computed in f32 and added to c̃ ≈ 1, whose f32 spacing 6e-8 is ~1e-4 of max|Δc̃| here");
        let mut st = vec![0.0; 6 * n];
        cpu::np_coefficients::np_coefficients(&c, &dif, &s.potential, &rate, &mut st);
        let gst = t
            .np_coefficients(&c, &s.xi, &s.phi, &s.potential, &rate)
            .unwrap();
        assert_close("np_coefficients", 6 * nx, &gst, &st, 1e-5, F32_WHY);
        let st = round(&st);
        let mut cs = vec![0.0; n];
        cpu::np_substep::np_substep(nx, ny, dt, &st, &s.conc, &mut cs);
        let gcs = t.np_substep(nx, ny, dt, &st, &s.conc).unwrap();
        let dc: Vec<f64> = cs.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
        let gdc: Vec<f64> = gcs.iter().zip(&s.conc).map(|(a, b)| a - b).collect();
        assert_close(
            "np_substep Δc̃",
            nx,
            &gdc,
            &dc,
            1e-3,
            "as conc_update: f32 spacing of c̃ ≈ 1 against the size of Δc̃",
        );

        // xi_update: the increment Δξ = Δt r (~1e-5 here) must survive being added to ξ ~ 1,
        // whose f32 spacing is 6e-8: compare Δξ, not ξ.
        let mut xu = s.xi.clone();
        cpu::xi_update::xi_update(nx, dt, &rate, &mut xu);
        let gxu = t.xi_update(nx, ny, dt, &rate, &s.xi).unwrap();
        let dx: Vec<f64> = xu.iter().zip(&s.xi).map(|(a, b)| a - b).collect();
        let gdx: Vec<f64> = gxu.iter().zip(&s.xi).map(|(a, b)| a - b).collect();
        assert_close(
            "xi_update Δξ",
            nx,
            &gdx,
            &dx,
            1e-5,
            "ξ is an f32 pair (xi + xi_lo) updated with a two-sum, so Δξ keeps its f32 precision; \
             only Δt·r is rounded to f32",
        );
    }
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
        tol_scalars,
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
        tol_scalars,
        STEPS_WHY,
    );
    let (c, g) = (cpu.state().clone(), gpu.state().clone());
    let nx = c.grid.nx;
    assert_close(
        &format!("{name} ξ"),
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
        nx,
        &g.conc,
        &c.conc,
        CONC_ABS_TOL,
        "c̃ ≈ 1 is stored in f32 (spacing 6e-8 below 1, 1.2e-7 above): each step and Nernst–Planck \
         sub-step rounds it, and the rounding accumulates over the run",
    );
    assert_close(
        &format!("{name} φ"),
        nx,
        &g.potential,
        &c.potential,
        tol_fields,
        STEPS_WHY,
    );
    assert_close(
        &format!("{name} η"),
        nx,
        &g.eta,
        &c.eta,
        tol_fields,
        STEPS_WHY,
    );
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
    let mut cfg = Config::from_file(&repo_path("configs/smoke.json")).unwrap();
    cfg.time.max_dt_s = Some(STEP_MAX_DT_S);
    cfg.time.end_time_s = SMOKE_COMPARE_S.max(FARADAY_S);
    cfg
}

#[test]
fn gpu_smoke_steps_match_the_cpu_backend() {
    let cfg = smoke_stepped();
    compare_steps("smoke", &cfg, SMOKE_COMPARE_S, 1e-4, 1e-4);
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

/// The paper's 1.5 µm case (200 × 200 cells), 20 steps. Slow on lavapipe (run with
/// `--ignored`); the grid where a stagnating f32 solve would show first.
#[test]
#[ignore = "about a minute on lavapipe; run with --ignored"]
fn gpu_paper_case_steps_match_the_cpu_backend() {
    let mut cfg = Config::from_file(&repo_path("configs/paper/pore-1.5um.json")).unwrap();
    cfg.time.max_dt_s = Some(STEP_MAX_DT_S);
    compare_steps("paper pore-1.5um", &cfg, 20.0 * STEP_MAX_DT_S, 5e-4, 3e-4);
}

#[test]
fn gpu_faraday_balance_holds_within_half_percent_on_smoke_case() {
    let cfg = smoke_stepped();
    let Some(ctx) = device() else { return };
    let mut cpu = CpuBackend::new(&cfg).expect("initial state");
    let state = Backend::state(&mut cpu).clone();
    let mut gpu =
        GpuBackend::with_state(ctx, &cfg, state, cpu.geometry().clone()).expect("GPU backend");
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
    let cfg = smoke_stepped();
    let Some(ctx) = device() else { return };
    let mut cpu = CpuBackend::new(&cfg).expect("initial state");
    let state = Backend::state(&mut cpu).clone();
    let mut gpu =
        GpuBackend::with_state(ctx, &cfg, state, cpu.geometry().clone()).expect("GPU backend");
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
