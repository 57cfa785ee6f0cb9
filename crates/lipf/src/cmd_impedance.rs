//! `lipf impedance`: virtual impedance spectroscopy of a voxel microstructure, or analysis of
//! a measured spectrum (docs/models/impedance.md).

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use lipf_core::units::{m_to_um, um_to_m};
use lipf_impedance::circuit::{one_d_physical_model, SeriesCircuit};
use lipf_impedance::config::ImpedanceConfig;
use lipf_impedance::io::{analyse, Analyses};
use lipf_impedance::io::{
    check_finite_outputs, fit_table, impedance_csv, read_spectrum_csv_file, write_plots, Analysis,
};
use lipf_impedance::memory::{
    network_memory_bytes, MemoryBudget, SolverMemory, DEFAULT_MAX_MEMORY_GIB,
};
use lipf_impedance::outdir;
use lipf_impedance::solver::cpu_solver;
use lipf_impedance::solver::{validate_krylov_settings, FrequencySolver};
use lipf_impedance::sweep::{check_analysis_size, ProgressGate};
use lipf_impedance::{sweep, KrylovMethod, Network, Spectrum, Structure};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SolverChoice {
    /// Sparse LU (faer): the reference; memory and time grow fast with size (fine to ~20³).
    Direct,
    /// COCG with a Jacobi preconditioner, warm-started along the sweep (default).
    Cocg,
    /// COCR with a Jacobi preconditioner, warm-started along the sweep.
    Cocr,
    /// COCG with a Jacobi preconditioner on the GPU (WGSL, f64: needs an adapter with
    /// SHADER_F64), warm-started along the sweep. Software adapters (lavapipe) are used when no
    /// GPU is present, and reported as such.
    Gpu,
}

#[derive(Args)]
#[command(
    about = "Impedance spectrum of a microstructure (3-D RC network), or analysis of a measured one: 1-D physical model, R + n RC fit, Kramers–Kronig test, DRT",
    long_about = "Virtual impedance spectroscopy of a voxel microstructure.\n\n\
The structure is turned into a 3-D RC network (every voxel a node; half-voxel R ∥ C elements; grain \
boundaries, charge transfer R_pol ∥ C_DL on electrode/electrolyte faces, pores as capacitors; \
exact rules in docs/models/impedance.md). The working electrode (WE, 1 V) is the bottom plane \
(z = 0, or row 0 of a 2-D section), the counter electrode (CE, 0 V) the top plane; lateral faces \
are insulating. At every frequency the complex symmetric system is solved and Z = V/I_WE.\n\n\
Input, one of:\n  \
(default)            the seed's model structure: electrolyte cube, one square contact of area \
fraction A_contact at the WE, a pore gap elsewhere, ideal CE, grain boundaries every L_z/N; \
parameters from --config and the flags below\n  \
--voxel-file F.h5    a 3-D (nz, ny, nx) or 2-D (ny, nx) u8 dataset /voxels (0 pore, 1 electrolyte, \
2 metal) with attribute voxel_size_um\n  \
--fields F.h5        a phase-field snapshot of `lipf run` (Li where ξ > 0.5, LLZO where ϕ > 0.5, \
pore elsewhere; a 2-D run is one voxel thick, a 3-D run its volume), or the scaffold.h5 of \
`lipf geometry` as built, 2-D or 3-D (the growth direction y becomes the WE→CE direction)\n  \
--csv F.csv          a measured spectrum: columns f (Hz), Re Z (Ω), Im Z (Ω); analysed only\n\n\
Analyses: the 1-D physical model (model structure only), an R0 + n RC fit (Levenberg–Marquardt), \
the linear Kramers–Kronig test (Schönleber et al. 2014) and the distribution of relaxation times \
(Tikhonov + non-negativity, λ by GCV).\n\n\
Outputs in --out (default runs/impedance-<name>/, <name> from the input: the configuration's \
name for the model structure, <run folder>-<snapshot> for --fields, the file stem for \
--voxel-file and --csv): impedance.csv, impedance.h5, nyquist.png (equal scales, from the \
origin), bode.png (|Z| and phase against log f), drt.png, kk_residuals.png, fit.md, \
summary.json. A non-empty output folder is refused unless --overwrite is given (which clears it \
first).\n\n\
Sizes are checked before anything large is allocated: the memory the network and solver need is \
estimated and compared with the budget (the smaller of --max-memory-gib and the available \
memory).\n\n\
Example: lipf impedance --contact-area-fraction 0.1 --voxels 20"
)]
pub struct ImpedanceArgs {
    /// JSON configuration (structure, materials, sweep, analysis; see configs/impedance/).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Voxel file (HDF5, dataset /voxels) instead of the model structure.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fields", "csv"])]
    voxel_file: Option<PathBuf>,
    /// Override the voxel size of --voxel-file, µm.
    #[arg(long)]
    voxel_size_um: Option<f64>,
    /// Phase-field output (fields.h5) of `lipf run`, or scaffold.h5 of `lipf geometry` (2D or
    /// 3D, both), instead of the model structure.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["voxel_file", "csv"])]
    fields: Option<PathBuf>,
    /// Snapshot of --fields: its number (e.g. 3) or `last`.
    #[arg(long, default_value = "last")]
    snapshot: String,
    /// Analyse a measured spectrum (CSV: f_hz, re_ohm, im_ohm) instead of computing one.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["voxel_file", "fields"])]
    csv: Option<PathBuf>,
    /// Model structure: contact area fraction A_contact/A_SE, (0, 1].
    #[arg(long)]
    contact_area_fraction: Option<f64>,
    /// Model structure: voxels per cube edge.
    #[arg(long)]
    voxels: Option<usize>,
    /// Model structure: cube edge, µm.
    #[arg(long)]
    edge_um: Option<f64>,
    /// Lowest frequency, Hz (default 0.1).
    #[arg(long)]
    f_min_hz: Option<f64>,
    /// Highest frequency, Hz (default 1e7).
    #[arg(long)]
    f_max_hz: Option<f64>,
    /// Frequencies per decade (default 10).
    #[arg(long)]
    points_per_decade: Option<usize>,
    /// Linear solver.
    #[arg(long, value_enum, default_value = "cocg")]
    solver: SolverChoice,
    /// `--solver gpu`: take the adapter whose name contains this (case-insensitive; see
    /// `lipf info`).
    #[arg(long, value_name = "SUBSTRING")]
    adapter: Option<String>,
    /// Relative residual tolerance of COCG/COCR (CPU or GPU), 0 < tol < 1.
    #[arg(long, default_value_t = 1e-10)]
    tol: f64,
    /// Iteration limit of COCG/COCR per frequency (CPU or GPU).
    #[arg(long, default_value_t = 200_000)]
    max_iterations: usize,
    /// Memory budget, GiB: sizes whose estimated need exceeds it (or the available memory,
    /// whichever is smaller) are refused before allocating.
    #[arg(long, default_value_t = DEFAULT_MAX_MEMORY_GIB)]
    max_memory_gib: f64,
    /// RC elements of the fit (0: no fit; default 4, the seed's fit model).
    #[arg(long)]
    fit_elements: Option<usize>,
    /// RC elements of the KK test (default: automatic by the μ criterion).
    #[arg(long)]
    kk_elements: Option<usize>,
    /// DRT regularisation parameter λ (default: generalised cross-validation).
    #[arg(long)]
    drt_lambda: Option<f64>,
    /// Output directory (default runs/impedance-<name>, the name derived from the input).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write into a non-empty output directory, clearing it first.
    #[arg(long)]
    overwrite: bool,
    /// No progress messages.
    #[arg(long, short)]
    quiet: bool,
}

/// The WGSL COCG solver on the adapter `--adapter` names (software adapters allowed).
#[cfg(feature = "gpu")]
fn gpu_solver(a: &ImpedanceArgs, say: &dyn Fn(String)) -> Result<Box<dyn FrequencySolver>> {
    use lipf_impedance::gpu::{AdapterRequest, GpuCocg};
    let mut g = GpuCocg::new(&AdapterRequest {
        allow_software: true,
        name_contains: a.adapter.clone(),
    })?;
    g.tol = a.tol;
    g.max_iter = a.max_iterations;
    if g.adapter().software {
        say(format!(
            "  warning: {} is a software adapter: the WGSL solver runs on the CPU; `--solver cocg` is faster",
            g.adapter().label()
        ));
    }
    Ok(Box::new(g))
}

#[cfg(not(feature = "gpu"))]
fn gpu_solver(_: &ImpedanceArgs, _: &dyn Fn(String)) -> Result<Box<dyn FrequencySolver>> {
    bail!("this lipf was built without the `gpu` feature: `--solver gpu` is not available; use `--solver cocg`")
}

fn resolve_config(a: &ImpedanceArgs) -> Result<ImpedanceConfig> {
    let mut c = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            ImpedanceConfig::from_json_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => ImpedanceConfig::default(),
    };
    if let Some(v) = a.contact_area_fraction {
        c.structure.contact_area_fraction = v;
    }
    if let Some(v) = a.voxels {
        c.structure.voxels = v;
    }
    if let Some(v) = a.edge_um {
        c.structure.edge_um = v;
    }
    if let Some(v) = a.f_min_hz {
        c.sweep.f_min_hz = v;
    }
    if let Some(v) = a.f_max_hz {
        c.sweep.f_max_hz = v;
    }
    if let Some(v) = a.points_per_decade {
        c.sweep.points_per_decade = v;
    }
    if let Some(v) = a.fit_elements {
        c.analysis.fit_elements = v;
    }
    if a.kk_elements.is_some() {
        c.analysis.kk_elements = a.kk_elements;
    }
    if a.drt_lambda.is_some() {
        c.analysis.drt_lambda = a.drt_lambda;
    }
    c.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(c)
}

/// The memory model of the chosen solver.
fn solver_memory(s: SolverChoice) -> SolverMemory {
    match s {
        SolverChoice::Direct => SolverMemory::DirectLu,
        SolverChoice::Cocg => SolverMemory::Cocg,
        SolverChoice::Cocr => SolverMemory::Cocr,
        SolverChoice::Gpu => SolverMemory::Gpu,
    }
}

fn solver_label(s: SolverChoice) -> &'static str {
    match s {
        SolverChoice::Direct => "direct (sparse LU)",
        SolverChoice::Cocg => "COCG",
        SolverChoice::Cocr => "COCR",
        SolverChoice::Gpu => "GPU",
    }
}

/// A structure read from an input file, with its description and the name of its results.
struct Input {
    structure: Structure,
    what: String,
    name: String,
}

#[cfg(feature = "hdf5")]
fn structure_from_fields(
    path: &Path,
    a: &ImpedanceArgs,
    c: &ImpedanceConfig,
    budget: &MemoryBudget,
) -> Result<Input> {
    // A run's fields.h5 (a snapshot of a section) or the scaffold as built by `lipf geometry`
    // (2D or 3D).
    let (s, snapshot) = lipf_impedance::io::phase_field_structure(
        path,
        &a.snapshot,
        budget,
        solver_memory(a.solver),
        &c.materials.si(),
    )?;
    Ok(Input {
        structure: s,
        what: format!("snapshot {snapshot} of {}", path.display()),
        name: outdir::fields_name(path, &snapshot),
    })
}

#[cfg(not(feature = "hdf5"))]
fn structure_from_fields(
    path: &Path,
    _: &ImpedanceArgs,
    _: &ImpedanceConfig,
    _: &MemoryBudget,
) -> Result<Input> {
    bail!(
        "reading {} needs lipf built with the `hdf5` feature",
        path.display()
    )
}

#[cfg(feature = "hdf5")]
fn structure_from_voxel_file(
    path: &Path,
    a: &ImpedanceArgs,
    c: &ImpedanceConfig,
    budget: &MemoryBudget,
) -> Result<Input> {
    let v = lipf_impedance::io::read_voxel_file(path, budget, solver_memory(a.solver))?;
    let um = a.voxel_size_um.unwrap_or(v.voxel_size_um);
    if !(um.is_finite() && um > 0.0) {
        bail!(
            "voxel size {um} µm ({}) must be a finite length > 0",
            if a.voxel_size_um.is_some() {
                "--voxel-size-um".to_string()
            } else {
                format!("attribute voxel_size_um of {}", path.display())
            }
        );
    }
    let s = Structure::from_codes(v.nx, v.ny, v.nz, um_to_m(um), v.codes, &c.materials.si())
        .map_err(|e| anyhow::anyhow!("voxel file {}: {e}", path.display()))?;
    Ok(Input {
        structure: s,
        what: format!("voxel file {}", path.display()),
        name: outdir::file_name(path),
    })
}

#[cfg(not(feature = "hdf5"))]
fn structure_from_voxel_file(
    path: &Path,
    _: &ImpedanceArgs,
    _: &ImpedanceConfig,
    _: &MemoryBudget,
) -> Result<Input> {
    bail!(
        "reading {} needs lipf built with the `hdf5` feature",
        path.display()
    )
}

/// Settings checked before any input is read or anything is allocated.
fn validate_args(a: &ImpedanceArgs) -> Result<()> {
    validate_krylov_settings(a.tol, a.max_iterations).map_err(|e| {
        anyhow::anyhow!(
            "{e} (`--tol` {:e}, `--max-iterations` {})",
            a.tol,
            a.max_iterations
        )
    })?;
    if let Some(v) = a.voxel_size_um {
        if !(v.is_finite() && v > 0.0) {
            bail!("`--voxel-size-um` = {v}: must be a finite length > 0 µm");
        }
    }
    if let Some(m) = a.kk_elements {
        if m == 0 {
            bail!("`--kk-elements` = 0: must be ≥ 1 (leave it out for the automatic choice)");
        }
    }
    Ok(())
}

/// Progress of the sweep: redrawn in place on a terminal, otherwise (a log file) one plain
/// line at most every few seconds.
struct Progress {
    quiet: bool,
    terminal: bool,
    gate: ProgressGate,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            gate: ProgressGate::new(Duration::from_secs(5)),
        }
    }

    fn step(&mut self, k: usize, n: usize, f_hz: f64, iterations: usize, residual: f64) {
        if self.quiet {
            return;
        }
        if self.terminal {
            eprint!(
                "\r  {:3}/{n}  {f_hz:10.3e} Hz  {iterations:6} iterations  residual {residual:.1e}   ",
                k + 1
            );
            if k + 1 == n {
                eprintln!();
            }
        } else if self.gate.due(k, n, Instant::now()) {
            eprintln!(
                "  {}/{n}  {f_hz:.3e} Hz  {iterations} iterations  residual {residual:.1e}",
                k + 1
            );
        }
    }
}

pub fn run(a: ImpedanceArgs) -> Result<()> {
    let c = resolve_config(&a)?;
    validate_args(&a)?;
    let budget = MemoryBudget::new(a.max_memory_gib).map_err(|e| anyhow::anyhow!(e))?;
    let say = |s: String| {
        if !a.quiet {
            eprintln!("{s}");
        }
    };
    if a.csv.is_none() {
        check_analysis_size(c.sweep.count()).map_err(|e| anyhow::anyhow!("sweep: {e}"))?;
    }
    // The output folder: given, or derived from the input once that is known.
    let inputs: Vec<&Path> = [&a.csv, &a.fields, &a.voxel_file, &a.config]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    let out_for = |name: &str| -> Result<PathBuf> {
        let out = a.out.clone().unwrap_or_else(|| outdir::default_dir(name));
        outdir::check(&out, a.overwrite, &inputs)?;
        Ok(out)
    };
    let msi = c.materials.si();
    let mut summary = serde_json::json!({ "config": &c });

    let (spectrum, model_1d, title, out): (Spectrum, Option<SeriesCircuit>, String, PathBuf) =
        if let Some(csv) = &a.csv {
            if let Ok(m) = std::fs::metadata(csv) {
                // The text, and about as much again for the parsed rows.
                budget
                    .check(
                        &format!("reading {} ({} bytes)", csv.display(), m.len()),
                        3.0 * m.len() as f64,
                    )
                    .map_err(|e| anyhow::anyhow!(e))?;
            }
            let s = read_spectrum_csv_file(csv)?;
            check_analysis_size(s.len() as f64)
                .map_err(|e| anyhow::anyhow!("{}: {e}", csv.display()))?;
            let name = outdir::file_name(csv);
            let out = out_for(&name)?;
            say(format!(
                "read {} frequencies from {}",
                s.len(),
                csv.display()
            ));
            summary["input"] = serde_json::json!({ "csv": csv.display().to_string() });
            (s, None, name, out)
        } else {
            let (input, is_model) = if let Some(p) = &a.fields {
                (structure_from_fields(p, &a, &c, &budget)?, false)
            } else if let Some(p) = &a.voxel_file {
                (structure_from_voxel_file(p, &a, &c, &budget)?, false)
            } else {
                let n = c.structure.voxels;
                budget
                    .check(
                        &format!(
                            "the model structure of {n} × {n} × {n} voxels (`voxels` {n}) with the {} solver",
                            solver_label(a.solver)
                        ),
                        network_memory_bytes(n, n, n, solver_memory(a.solver)),
                    )
                    .map_err(|e| anyhow::anyhow!(e))?;
                let s = Structure::model_structure(&c.structure, &msi);
                let what = format!(
                    "model structure: {} µm cube, {}³ voxels, contact {:.1} % (asked {:.1} %), {} grain-boundary layers",
                    c.structure.edge_um,
                    c.structure.voxels,
                    100.0 * s.contact_fraction(),
                    100.0 * c.structure.contact_area_fraction,
                    s.gb_layers_total()
                );
                (
                    Input {
                        structure: s,
                        what,
                        name: c.name.clone(),
                    },
                    true,
                )
            };
            let Input {
                structure,
                what,
                name,
            } = input;
            let out = out_for(&name)?;
            let counts = structure.counts();
            say(format!(
                "{what}\n  {} × {} × {} voxels of {:.4} µm: {} electrolyte, {} pore, {} metal",
                structure.nx,
                structure.ny,
                structure.nz,
                m_to_um(structure.voxel_m),
                counts.electrolyte,
                counts.pore,
                counts.metal
            ));
            let net = Network::build(&structure, &msi)?;
            say(format!(
                "  network: {} unknowns, {} bonds ({} to the WE, {} to the CE), {} matrix nonzeros",
                net.n,
                net.info.bonds,
                net.info.bonds_to_we,
                net.info.bonds_to_ce,
                net.info.matrix_nonzeros
            ));
            let f = c.sweep.frequencies_hz();
            let mut solver: Box<dyn FrequencySolver> = match a.solver {
                SolverChoice::Direct => cpu_solver(None, a.tol, a.max_iterations),
                SolverChoice::Cocg => cpu_solver(Some(KrylovMethod::Cocg), a.tol, a.max_iterations),
                SolverChoice::Cocr => cpu_solver(Some(KrylovMethod::Cocr), a.tol, a.max_iterations),
                SolverChoice::Gpu => gpu_solver(&a, &say)?,
            };
            say(format!(
                "  solving {} frequencies, {} to {} Hz, with {}",
                f.len(),
                c.sweep.f_max_hz,
                c.sweep.f_min_hz,
                solver.name()
            ));
            let nf = f.len();
            let mut progress = Progress::new(a.quiet);
            let (spec, report) = sweep(&net, &f, solver.as_mut(), |k, fk, st| {
                progress.step(k, nf, fk, st.iterations, st.relative_residual)
            })?;
            say(format!("  done in {:.2} s", report.seconds_total));
            summary["input"] = serde_json::json!({ "description": what, "phase_counts": counts });
            summary["network"] = serde_json::to_value(&net.info)?;
            summary["solver"] = serde_json::to_value(&report)?;
            let pm = is_model.then(|| one_d_physical_model(&structure, &msi));
            (spec, pm, name, out)
        };
    spectrum
        .validate()
        .map_err(|e| anyhow::anyhow!("the spectrum cannot be analysed: {e}"))?;

    let Analyses { kk, drt: d, fit } = analyse(&spectrum, &c.analysis);
    say(format!(
        "Lin-KK: M = {}, μ = {:.3}, max residual {:.3e} % of |Z|",
        kk.m,
        kk.mu,
        100.0 * kk.max_abs_residual
    ));
    say(format!(
        "DRT: λ = {:.2e}{}, peaks at τ = {}",
        d.lambda,
        if d.lambda_from_gcv { " (GCV)" } else { "" },
        d.peaks
            .iter()
            .map(|p| format!("{:.3e} s", p.tau_s))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(fit) = &fit {
        say(format!(
            "fit R0 + {} RC: rms relative residual {:.3e}",
            c.analysis.fit_elements, fit.rms_relative
        ));
    }
    let analysis = Analysis {
        spectrum: &spectrum,
        model_1d: model_1d.as_ref(),
        fit: fit.as_ref(),
        kk: Some(&kk),
        drt: Some(&d),
    };
    // Nothing is written unless every output value is finite.
    check_finite_outputs(&analysis)?;
    outdir::check(&out, a.overwrite, &inputs)?;
    outdir::prepare(&out, a.overwrite)?;
    lipf_io::atomic::write_atomic(
        &out.join("impedance.csv"),
        impedance_csv(&analysis)?.as_bytes(),
    )?;
    if let Some(fit) = &fit {
        lipf_io::atomic::write_atomic(
            &out.join("fit.md"),
            fit_table(fit, model_1d.as_ref()).as_bytes(),
        )?;
    }
    #[cfg(feature = "hdf5")]
    lipf_impedance::io::write_h5(
        &out.join("impedance.h5"),
        &analysis,
        &serde_json::to_string(&c)?,
    )?;
    write_plots(&out, &analysis, &title)?;
    summary["kk"] =
        serde_json::json!({ "m": kk.m, "mu": kk.mu, "max_abs_residual": kk.max_abs_residual });
    summary["drt"] = serde_json::json!({ "lambda": d.lambda, "lambda_from_gcv": d.lambda_from_gcv, "peaks": d.peaks });
    summary["fit"] = serde_json::to_value(&fit)?;
    summary["model_1d"] = serde_json::to_value(&model_1d)?;
    summary["lipf_version"] = serde_json::json!(env!("CARGO_PKG_VERSION"));
    lipf_io::atomic::write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    say(format!("outputs in {}", out.display()));
    Ok(())
}
