//! The registry of every WGSL file in `shaders/`, loaded at compile time.
//!
//! A kernel file `shaders/x.wgsl` with a CPU twin `crates/lipf-core/src/cpu/x.rs` has the same
//! name and performs the same update; the other files drive the device-side solver and time
//! stepping and name the CPU code they mirror in their header.
//!
//! WGSL has no includes. Declarations that several kernels need (the interpolation functions,
//! `struct Control` and its flags, `GridParams`, ...) are written once, in a shared module
//! `shaders/shared/<module>.wgsl` (listed in [`MODULES`]), and a kernel names the modules it
//! imports in its registry entry, `shader!("xi_rate", twin, imports = ["interp"])`. The
//! entry's [`Shader::source`] is the kernel file followed by its imports, joined at compile
//! time (`concat!` of `include_str!`s); WGSL declarations may be used before they are declared,
//! so the order does not matter to the compiler. [`Shader::parts`] keeps the files it was
//! joined from, and [`Shader::origin`] turns a line of the joined source back into
//! `shaders/<file>.wgsl:<line>` (naga reports errors against the joined source).
//!
//! `tests/gpu_checks.rs` validates every entry with naga, fails when a file in `shaders/` or
//! `shaders/shared/` is missing here, and fails when a WGSL name is declared in two files.

/// One WGSL file of a joined shader.
#[derive(Debug, Clone, Copy)]
pub struct Part {
    /// Path from the repository root, `shaders/x.wgsl` or `shaders/shared/m.wgsl`.
    pub file: &'static str,
    pub source: &'static str,
}

impl Part {
    /// Lines of the file (every WGSL file ends with a newline, so parts join line by line).
    pub fn lines(&self) -> usize {
        self.source.bytes().filter(|&b| b == b'\n').count()
    }
}

/// One kernel shader: its file and the shared modules it imports, joined into one WGSL module.
#[derive(Debug, Clone, Copy)]
pub struct Shader {
    /// File stem in `shaders/`; also the GPU label of its pipelines.
    pub name: &'static str,
    /// The joined WGSL module: the kernel file, then each import in the listed order.
    pub source: &'static str,
    /// The files `source` is joined from: the kernel file first, then the imports.
    pub parts: &'static [Part],
    /// The CPU reference kernel of the same name (`crates/lipf-core/src/cpu/<name>.rs`), if any.
    pub cpu_twin: Option<&'static str>,
}

impl Shader {
    /// The kernel file alone (`shaders/<name>.wgsl`), without its imports.
    pub fn kernel_source(&self) -> &'static str {
        self.parts[0].source
    }

    /// Names of the imported shared modules, in order.
    pub fn imports(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.parts[1..].iter().map(|p| module_name(p.file))
    }

    /// The file and line (both 1-based) of line `line` of the joined [`Shader::source`].
    pub fn origin(&self, line: usize) -> Option<(&'static str, usize)> {
        origin(self.parts, line)
    }

    /// `shaders/<file>.wgsl:<line>` of line `line` of the joined source (the joined line
    /// number itself when it lies past the end).
    pub fn location(&self, line: usize) -> String {
        match self.origin(line) {
            Some((file, l)) => format!("{file}:{l}"),
            None => format!("{} (joined) line {line}", self.name),
        }
    }
}

/// The file and 1-based line of 1-based line `line` of the files `parts` joined in order.
pub fn origin(parts: &[Part], line: usize) -> Option<(&'static str, usize)> {
    if line == 0 {
        return None;
    }
    let mut first = 1;
    for p in parts {
        let n = p.lines();
        if line < first + n {
            return Some((p.file, line - first + 1));
        }
        first += n;
    }
    None
}

/// The WGSL module of `parts` joined in order (what `shader!` does at compile time).
pub fn join(parts: &[Part]) -> String {
    parts.iter().map(|p| p.source).collect()
}

/// The module name of `shaders/shared/<name>.wgsl`.
fn module_name(file: &'static str) -> &'static str {
    file.trim_start_matches("shaders/shared/")
        .trim_end_matches(".wgsl")
}

/// One shared WGSL module: declarations only, no bindings and no entry point.
#[derive(Debug, Clone, Copy)]
pub struct Module {
    /// File stem in `shaders/shared/`: what a kernel lists in `imports`.
    pub name: &'static str,
    pub source: &'static str,
}

macro_rules! shared_file {
    ($module:literal) => {
        include_str!(concat!("../../../shaders/shared/", $module, ".wgsl"))
    };
}

macro_rules! kernel_file {
    ($name:literal) => {
        include_str!(concat!("../../../shaders/", $name, ".wgsl"))
    };
}

macro_rules! shader {
    (@entry $name:literal, $twin:expr, [$($module:literal),*]) => {
        Shader {
            name: $name,
            source: concat!(kernel_file!($name) $(, shared_file!($module))*),
            parts: &[
                Part {
                    file: concat!("shaders/", $name, ".wgsl"),
                    source: kernel_file!($name),
                },
                $(Part {
                    file: concat!("shaders/shared/", $module, ".wgsl"),
                    source: shared_file!($module),
                },)*
            ],
            cpu_twin: $twin,
        }
    };
    ($name:literal, twin $(, imports = [$($module:literal),* $(,)?])?) => {
        shader!(@entry $name, Some(concat!("crates/lipf-core/src/cpu/", $name, ".rs")),
            [$($($module),*)?])
    };
    ($name:literal $(, imports = [$($module:literal),* $(,)?])?) => {
        shader!(@entry $name, None, [$($($module),*)?])
    };
}

macro_rules! module {
    ($name:literal) => {
        Module {
            name: $name,
            source: shared_file!($name),
        }
    };
}

/// Every shared module of `shaders/shared/`.
pub const MODULES: &[Module] = &[
    module!("interp"),
    module!("control"),
    module!("grid"),
    module!("multigrid"),
    module!("reduce"),
    module!("conc"),
    module!("tree"),
    module!("float"),
    module!("diffusivity"),
    module!("indirect"),
    module!("complex"),
    module!("operator"),
    module!("creep"),
];

/// Every kernel shader, in the order of the step.
pub const SHADERS: &[Shader] = &[
    shader!("xi_rate", twin, imports = ["interp", "control", "grid"]),
    shader!(
        "potential_assemble",
        twin,
        imports = ["interp", "operator", "grid"]
    ),
    shader!(
        "electronic_assemble",
        twin,
        imports = ["interp", "operator", "grid"]
    ),
    shader!("mg_coarsen", twin, imports = ["multigrid"]),
    shader!("mg_smooth", twin, imports = ["multigrid", "grid"]),
    shader!("mg_residual", twin, imports = ["multigrid", "grid"]),
    shader!("mg_restrict", twin, imports = ["multigrid"]),
    shader!("mg_prolong", twin, imports = ["multigrid"]),
    shader!("reduce", twin, imports = ["reduce", "tree"]),
    shader!("cg_vectors", twin, imports = ["grid", "control"]),
    shader!(
        "cg_control",
        twin,
        imports = ["control", "tree", "float", "indirect"]
    ),
    shader!("cg_coupled", imports = ["control"]),
    shader!("collector", twin, imports = ["control", "tree", "float"]),
    shader!("reaction_rate", twin, imports = ["control", "interp"]),
    shader!(
        "time_step",
        twin,
        imports = [
            "control",
            "interp",
            "tree",
            "diffusivity",
            "indirect",
            "grid"
        ]
    ),
    shader!(
        "conc_update",
        twin,
        imports = ["conc", "control", "interp", "diffusivity"]
    ),
    shader!(
        "np_coefficients",
        twin,
        imports = ["conc", "interp", "diffusivity"]
    ),
    shader!("np_substep", twin, imports = ["grid", "control"]),
    shader!(
        "np_assemble",
        twin,
        imports = [
            "conc",
            "control",
            "interp",
            "diffusivity",
            "operator",
            "grid"
        ]
    ),
    shader!("np_finish", twin, imports = ["conc"]),
    shader!(
        "creep_assemble",
        twin,
        imports = ["creep", "control", "operator"]
    ),
    shader!("creep_active_set", imports = ["creep"]),
    shader!("creep_finish", twin, imports = ["creep", "tree"]),
    shader!("xi_noise", twin, imports = ["control", "grid"]),
    shader!("xi_update", twin, imports = ["grid", "control", "float"]),
    shader!(
        "xi_gradient_operator",
        twin,
        imports = ["control", "operator"]
    ),
    shader!("xi_gradient_rhs", twin, imports = ["grid", "control"]),
    shader!("xi_gradient_finish", twin, imports = ["grid", "float"]),
    shader!("copy", imports = ["grid"]),
    shader!("observables", twin, imports = ["reduce", "float"]),
    shader!("range_check", twin, imports = ["grid", "float"]),
    shader!("impedance_apply", imports = ["complex"]),
    shader!("impedance_cocg", imports = ["complex"]),
];

/// The shader of this name (panics on an unknown name: a programming error).
pub fn shader(name: &str) -> &'static Shader {
    SHADERS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no shader `{name}` in the registry"))
}

/// The shared module of this name (panics on an unknown name: a programming error).
pub fn module(name: &str) -> &'static Module {
    MODULES
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no shared module `{name}` in the registry"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_joined_line_maps_back_to_the_same_text_in_its_file() {
        for s in SHADERS {
            assert_eq!(
                join(s.parts),
                s.source,
                "{}: parts and source differ",
                s.name
            );
            let joined: Vec<&str> = s.source.lines().collect();
            assert_eq!(
                joined.len(),
                s.parts.iter().map(Part::lines).sum::<usize>(),
                "{}: a part does not end with a newline",
                s.name
            );
            for (k, text) in joined.iter().enumerate() {
                let (file, line) = s.origin(k + 1).expect("a line of the source");
                let part = s.parts.iter().find(|p| p.file == file).unwrap();
                assert_eq!(
                    part.source.lines().nth(line - 1),
                    Some(*text),
                    "{}: joined line {} is not {file}:{line}",
                    s.name,
                    k + 1
                );
            }
            assert_eq!(s.origin(0), None);
            assert_eq!(s.origin(joined.len() + 1), None);
        }
    }

    #[test]
    fn origin_counts_lines_across_parts() {
        let parts = [
            Part {
                file: "shaders/k.wgsl",
                source: "a\nb\nc\n",
            },
            Part {
                file: "shaders/shared/m.wgsl",
                source: "d\ne\n",
            },
        ];
        assert_eq!(origin(&parts, 1), Some(("shaders/k.wgsl", 1)));
        assert_eq!(origin(&parts, 3), Some(("shaders/k.wgsl", 3)));
        assert_eq!(origin(&parts, 4), Some(("shaders/shared/m.wgsl", 1)));
        assert_eq!(origin(&parts, 5), Some(("shaders/shared/m.wgsl", 2)));
        assert_eq!(origin(&parts, 6), None);
        let s = shader("conc_update");
        let n = s.parts[0].lines();
        assert_eq!(s.location(n), format!("shaders/conc_update.wgsl:{n}"));
        assert_eq!(s.location(n + 1), "shaders/shared/conc.wgsl:1");
    }

    #[test]
    fn imports_name_registered_modules() {
        for s in SHADERS {
            for m in s.imports() {
                assert!(
                    MODULES.iter().any(|x| x.name == m),
                    "{}: imports unknown module {m}",
                    s.name
                );
            }
        }
        assert_eq!(
            shader("time_step").imports().collect::<Vec<_>>(),
            [
                "control",
                "interp",
                "tree",
                "diffusivity",
                "indirect",
                "grid"
            ]
        );
    }
}

/// The source of shader `name` with the WGSL mutations of the active mutation
/// ([`lipf_core::mutants`]) applied; panics when a mutation no longer finds the code it edits.
#[cfg(feature = "mutants")]
pub fn mutated(name: &str, source: &'static str) -> std::borrow::Cow<'static, str> {
    use lipf_core::mutants::active;
    const EDITS: &[(&str, &str, &str, &str)] = &[
        (
            "no-anisotropy",
            "xi_rate",
            "if (p.delta == 0.0 || p.omega == 0u) {",
            "if (true) {",
        ),
        (
            "reaction-sign",
            "xi_rate",
            "return vec2<f32>(xa - xc + slope * (eta - ec), slope);",
            "return -vec2<f32>(xa - xc + slope * (eta - ec), slope);",
        ),
        (
            "no-concentration-factor",
            "xi_rate",
            "let xc = max(c, 0.0) * exp(",
            "let xc = exp(",
        ),
    ];
    let mut out = std::borrow::Cow::Borrowed(source);
    for (mutant, shader_name, from, to) in EDITS {
        if *shader_name == name && active(mutant) {
            assert!(
                out.matches(from).count() == 1,
                "mutation {mutant}: `{from}` is not in shaders/{name}.wgsl once"
            );
            out = out.replace(from, to).into();
        }
    }
    out
}
