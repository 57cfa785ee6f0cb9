//! The GPU backend against its CPU reference.
//!
//! Without a device: every WGSL file parses and validates with naga (the version wgpu uses),
//! the registry lists exactly the files in `shaders/`, every CPU kernel has its WGSL twin, the
//! copies of the shared WGSL block match `shaders/common.wgsl`, and every WGSL parameter struct
//! has the layout of its Rust `#[repr(C)]` twin.
//!
//! With a device: each kernel against its CPU twin on 67×45 grids (not multiples of the 16×16
//! workgroups), whole steps of the smoke case and of an anisotropic case against the CPU
//! backend, the Faraday balance and the galvanostatic current. Without an adapter these tests
//! print why and pass, unless LIPF_REQUIRE_GPU_ADAPTER=1 (set in CI), where they fail.
//! Software adapters (lavapipe) count: they run the same WGSL.

use lipf_gpu::shaders::SHADERS;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn parse_and_validate(name: &str, source: &str) -> (naga::Module, naga::valid::ModuleInfo) {
    let module = naga::front::wgsl::parse_str(source).unwrap_or_else(|e| {
        panic!(
            "shaders/{name}.wgsl does not parse:\n{}",
            e.emit_to_string_with_path(source, &format!("shaders/{name}.wgsl"))
        )
    });
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| {
        panic!(
            "shaders/{name}.wgsl is not valid WGSL:\n{}",
            e.emit_to_string_with_path(source, &format!("shaders/{name}.wgsl"))
        )
    });
    (module, info)
}

#[test]
fn every_shader_parses_and_validates_with_naga() {
    assert!(!SHADERS.is_empty(), "the shader registry is empty");
    for s in SHADERS {
        let (module, _) = parse_and_validate(s.name, s.source);
        if s.name != "common" {
            assert!(
                !module.entry_points.is_empty(),
                "shaders/{}.wgsl has no entry point",
                s.name
            );
        }
    }
}

#[test]
fn shader_files_and_registry_list_the_same_kernels() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(repo_path("shaders"))
        .expect("shaders/ exists")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "wgsl").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    let registry: BTreeSet<String> = SHADERS.iter().map(|s| s.name.to_string()).collect();
    assert!(!on_disk.is_empty(), "no .wgsl file found in shaders/");
    assert_eq!(on_disk.len(), SHADERS.len(), "shaders/ has {} files, the registry {} entries", on_disk.len(), SHADERS.len());
    assert_eq!(on_disk, registry, "shaders/ and the registry differ");
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
    assert!(kernels.len() >= 8, "found only {kernels:?} in {}", dir.display());
    for k in &kernels {
        let s = SHADERS.iter().find(|s| &s.name == k);
        let s = s.unwrap_or_else(|| panic!("cpu/{k}.rs has no twin shaders/{k}.wgsl in the registry"));
        assert!(s.cpu_twin.is_some(), "shaders/{k}.wgsl is not marked as the twin of cpu/{k}.rs");
        assert!(s.source.contains(&format!("fn {k}(")), "shaders/{k}.wgsl has no entry point `{k}`");
    }
    for s in SHADERS.iter().filter_map(|s| s.cpu_twin) {
        assert!(repo_path(s).exists(), "registry names a missing CPU twin {s}");
    }
}

#[test]
fn every_shader_opens_with_the_documented_header() {
    for s in SHADERS {
        let header: String = s
            .source
            .lines()
            .take_while(|l| l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(header.starts_with(&format!("// {}.wgsl", s.name)), "shaders/{}.wgsl: header must start with its name", s.name);
        for field in ["Update:", "Bindings:", "Dispatch:", "Index:", "Twin:"] {
            assert!(header.contains(field), "shaders/{}.wgsl: header lacks `{field}`", s.name);
        }
    }
}

#[test]
fn shared_wgsl_block_copies_match_common_wgsl() {
    const BEGIN: &str = "// ---- shared: common.wgsl ----";
    const END: &str = "// ---- end shared ----";
    let block = |src: &str| -> Option<String> {
        let a = src.find(BEGIN)?;
        let b = src[a..].find(END)? + a;
        Some(src[a..b].to_string())
    };
    let common = block(lipf_gpu::shaders::shader("common").source).expect("common.wgsl has the shared block");
    let mut copies = 0;
    for s in SHADERS.iter().filter(|s| s.name != "common") {
        if let Some(b) = block(s.source) {
            assert_eq!(b, common, "shaders/{}.wgsl: its copy of the shared block differs from common.wgsl", s.name);
            copies += 1;
        }
    }
    assert!(copies >= 3, "expected several kernels to carry the shared block, found {copies}");
}

#[test]
fn wgsl_parameter_structs_have_the_layout_of_their_rust_twins() {
    let mut checked = 0;
    for (rust, shaders) in lipf_gpu::params::layouts() {
        for &name in shaders {
            let s = lipf_gpu::shaders::shader(name);
            let (module, _) = parse_and_validate(name, s.source);
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
            let ours: Vec<(String, usize)> = rust.fields.iter().map(|(n, o)| (n.to_string(), *o)).collect();
            assert_eq!(wgsl, ours, "{} in shaders/{name}.wgsl: members/offsets differ from the Rust twin", rust.name);
            assert_eq!(
                layouter[handle].size as usize, rust.size,
                "{} in shaders/{name}.wgsl: size differs from the Rust twin", rust.name
            );
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} struct declarations checked");
}
