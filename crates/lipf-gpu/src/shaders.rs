//! The registry of every WGSL file in `shaders/`, loaded at compile time.
//!
//! A kernel file `shaders/x.wgsl` with a CPU twin `crates/lipf-core/src/cpu/x.rs` has the same
//! name and performs the same update; the other files drive the device-side solver and time
//! stepping and name the CPU code they mirror in their header. `tests/gpu_checks.rs` validates
//! every entry with naga and fails when a file in `shaders/` is missing here.

/// One WGSL module.
#[derive(Debug, Clone, Copy)]
pub struct Shader {
    /// File stem in `shaders/`; also the GPU label of its pipelines.
    pub name: &'static str,
    pub source: &'static str,
    /// The CPU reference kernel of the same name (`crates/lipf-core/src/cpu/<name>.rs`), if any.
    pub cpu_twin: Option<&'static str>,
}

macro_rules! shader {
    ($name:literal, twin) => {
        Shader {
            name: $name,
            source: include_str!(concat!("../../../shaders/", $name, ".wgsl")),
            cpu_twin: Some(concat!("crates/lipf-core/src/cpu/", $name, ".rs")),
        }
    };
    ($name:literal) => {
        Shader {
            name: $name,
            source: include_str!(concat!("../../../shaders/", $name, ".wgsl")),
            cpu_twin: None,
        }
    };
}

/// Every shader, in the order of the step.
pub const SHADERS: &[Shader] = &[
    shader!("common"),
    shader!("xi_rate", twin),
    shader!("potential_assemble", twin),
    shader!("mg_coarsen", twin),
    shader!("mg_smooth", twin),
    shader!("mg_residual", twin),
    shader!("mg_restrict", twin),
    shader!("mg_prolong", twin),
    shader!("reduce"),
    shader!("cg_vectors"),
    shader!("cg_control"),
    shader!("collector"),
    shader!("reaction_rate", twin),
    shader!("time_step"),
    shader!("conc_update", twin),
    shader!("np_coefficients", twin),
    shader!("np_substep", twin),
    shader!("xi_update", twin),
    shader!("copy"),
    shader!("observables"),
    shader!("range_check"),
    shader!("impedance_apply"),
    shader!("impedance_cocg"),
];

/// The shader of this name (panics on an unknown name: a programming error).
pub fn shader(name: &str) -> &'static Shader {
    SHADERS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no shader `{name}` in the registry"))
}
