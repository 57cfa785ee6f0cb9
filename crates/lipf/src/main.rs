//! The `lipf` command line.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use lipf::backend_select::{BackendChoice, BackendSelection};
use lipf_core::{Coefficients, Config, StopFlag};
use std::path::PathBuf;

#[cfg(feature = "gpu")]
mod cmd_bench;
mod cmd_impedance;
mod cmd_info;

#[derive(Parser)]
#[command(
    name = "lipf",
    version,
    about = "Phase-field simulation of Li electrodeposition into porous LLZO scaffolds",
    long_about = "Phase-field simulation of Li electrodeposition into porous LLZO (garnet) scaffolds.\n\n\
        The model (docs/models/phase-field.md) evolves the Li order parameter ξ by Allen–Cahn with \
        Butler–Volmer growth, Li⁺ by Nernst–Planck and the potential by current continuity, in a \
        2D section of a Li foil, a channel scaffold and a dense LLZO cap.\n\n\
        Quick start: `lipf run` runs the paper's 1.5 µm channel case (0.25 µm grid, 2 A/m², 1000 s) \
        and writes runs/pore-1.5um/. `lipf check CONFIG` validates a configuration without running."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum StudyAction {
    /// Build the report of a study folder from its finished runs (after --emit-jobs).
    Collect {
        /// The study folder (holds study.json, configs/, runs/).
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run a simulation and write its outputs (HDF5 fields, XDMF, CSV, PNG, summary.json).
    #[command(long_about = "Run a simulation.\n\n\
        Without CONFIG the compiled-in default runs: the paper's 1.5 µm channel case (50 × 50 µm, \
        0.25 µm grid, 2 A/m² for 1000 s). Outputs go to runs/<config name>/ unless --out is given:\n  \
        fields.h5       fields per snapshot and the time series (h5py: f['snapshots/000001/xi'])\n  \
        fields.xdmf     open in ParaView to browse the snapshots\n  \
        timeseries.csv  time, current density, cell voltage, Li amount, charge\n  \
        images/         PNG maps per snapshot (phases, potential, c/c0)\n  \
        summary.json    steps, wall time, cell updates per second, Faraday balance error\n  \
        checkpoint.h5   the full state at the last snapshot (or at Ctrl-C)\n\n\
        Ctrl-C stops between two steps, writes a checkpoint and exits cleanly; continue with \
        `lipf run --resume runs/<name>/checkpoint.h5`. On the CPU backend a resumed run ends \
        bitwise equal to an uninterrupted one.")]
    Run {
        /// Configuration file (JSON, see docs/configuration.md). Default: the paper's 1.5 µm case.
        config: Option<PathBuf>,
        /// Output directory (default: runs/<config name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compute backend: cpu (the f64 reference), auto (a hardware GPU when there is one,
        /// else cpu; never a software adapter), gpu (the GPU backend, software adapters such as
        /// lavapipe included). `lipf info` lists the adapters.
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendChoice,
        /// Only GPU adapters whose name contains this (case-insensitive), with --backend
        /// auto or gpu.
        #[arg(long, value_name = "SUBSTRING")]
        adapter: Option<String>,
        /// Continue from a checkpoint written by an earlier run (its configuration is used).
        #[arg(long, value_name = "CHECKPOINT")]
        resume: Option<PathBuf>,
        /// No progress bar or messages (errors still go to stderr); for scripts.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validate a configuration and print the derived coefficients, memory, time step and
    /// estimated number of steps, without running.
    Check {
        /// Configuration file (JSON). Default: the compiled-in default case.
        config: Option<PathBuf>,
    },
    // Help text: on `ImpedanceArgs` (cmd_impedance.rs).
    Impedance(cmd_impedance::ImpedanceArgs),
    // Help text: on `InfoArgs` (cmd_info.rs).
    Info(cmd_info::InfoArgs),
    // Help text: on `BenchArgs` (cmd_bench.rs).
    #[cfg(feature = "gpu")]
    Bench(cmd_bench::BenchArgs),
    /// Run a study (several cases, e.g. pore sizes) and write a report comparing them
    /// (docs/study.md). `lipf study collect DIR` builds the report from finished runs.
    #[command(args_conflicts_with_subcommands = true)]
    Study {
        #[command(subcommand)]
        action: Option<StudyAction>,
        /// Study file (JSON), e.g. configs/studies/pore-size.json.
        study: Option<PathBuf>,
        /// Study folder (default: runs/study-<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Cases run at the same time (they share N worker threads).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Write one configuration per case and a SLURM job-array script into DIR instead of
        /// running.
        #[arg(long, value_name = "DIR")]
        emit_jobs: Option<PathBuf>,
        /// No progress messages.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Build the scaffold of a configuration and measure it: porosity, specific surface area
    /// (analytic and marching squares), pore-size distribution, J_local/J_applied against the
    /// impregnation depth, effective ionic conductivity and tortuosity (docs/geometry.md).
    Geometry {
        /// Configuration file (JSON). Default: the compiled-in default case.
        config: Option<PathBuf>,
        /// Output directory (default: runs/<config name>/scaffold).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn load_config(path: &Option<PathBuf>) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    })
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            config,
            out,
            backend,
            adapter,
            resume,
            quiet,
        } => {
            let selection = BackendSelection {
                choice: backend,
                adapter,
            };
            let config = match (&resume, &config) {
                (Some(ckpt), cfg_path) => {
                    let json = checkpoint_config(ckpt)?;
                    let c = Config::from_json_str(&json)
                        .with_context(|| format!("configuration stored in {}", ckpt.display()))?;
                    if let Some(p) = cfg_path {
                        let given = Config::from_file(p)?;
                        if given != c {
                            bail!("{} differs from the configuration stored in the checkpoint {}; resume uses the checkpoint's (omit CONFIG)", p.display(), ckpt.display());
                        }
                    }
                    c
                }
                (None, _) => load_config(&config)?,
            };
            let out_dir = match (&out, &resume) {
                (Some(o), _) => o.clone(),
                (None, Some(ckpt)) => ckpt
                    .parent()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_else(|| PathBuf::from(".")),
                (None, None) => PathBuf::from("runs").join(&config.name),
            };
            let stop = StopFlag::new();
            let s2 = stop.clone();
            let _ = ctrlc::set_handler(move || {
                eprintln!("\ninterrupt: finishing the current step and writing a checkpoint…");
                s2.stop();
            });
            lipf::run::run_on(
                lipf::RunOptions {
                    config,
                    out_dir,
                    resume,
                    quiet,
                    stop,
                    stop_after_steps: None,
                },
                &selection,
            )?;
            Ok(())
        }
        Command::Impedance(args) => cmd_impedance::run(args),
        Command::Info(args) => cmd_info::run(args),
        #[cfg(feature = "gpu")]
        Command::Bench(args) => cmd_bench::run(args),
        Command::Check { config } => {
            let config = load_config(&config)?;
            check(&config);
            Ok(())
        }
        Command::Study {
            action,
            study,
            out,
            jobs,
            emit_jobs,
            quiet,
        } => match (action, study) {
            (Some(StudyAction::Collect { dir }), _) => lipf::cmd_study::collect_command(&dir),
            (None, Some(spec)) => {
                lipf::cmd_study::study_command(&spec, out, jobs, emit_jobs, quiet)
            }
            (None, None) => bail!("give a study file (lipf study STUDY.json) or `collect DIR`"),
        },
        Command::Geometry { config, out } => {
            let config = load_config(&config)?;
            let out =
                out.unwrap_or_else(|| PathBuf::from("runs").join(&config.name).join("scaffold"));
            lipf::cmd_geometry::geometry_command(&config, &out, false)?;
            Ok(())
        }
    }
}

#[cfg(feature = "hdf5")]
fn checkpoint_config(path: &std::path::Path) -> Result<String> {
    let (_, json) = lipf_io::h5::read_checkpoint(path)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    Ok(json)
}

#[cfg(not(feature = "hdf5"))]
fn checkpoint_config(path: &std::path::Path) -> Result<String> {
    bail!(
        "resuming from {} needs lipf built with the `hdf5` feature",
        path.display()
    )
}

fn check(config: &Config) {
    let c = Coefficients::from_config(config);
    let g = lipf_core::geometry::build(config, &c.grid, c.ell_m).info;
    println!("configuration `{}` is valid.", config.name);
    println!(
        "grid: {} × {} cells of {} µm ({} × {} µm)",
        c.grid.nx,
        c.grid.ny,
        config.domain.grid_spacing_um,
        config.domain.width_um,
        config.domain.height_um
    );
    println!(
        "geometry: {} — {} channel(s) of {:.3} µm, period {:.3} µm, porosity {:.4} (measured on the grid {:.4}); scaffold {:.2}–{:.2} µm, Li up to {:.2} µm",
        g.kind, g.channels, g.pore_size_um, g.channel_period_um, g.porosity_geometric, g.porosity_measured, g.scaffold_bottom_um, g.scaffold_top_um, g.li_top_um
    );
    println!("derived model coefficients:\n{}", c.describe());
    let dt = config.time.stability_safety * c.dt_allen_cahn_s();
    let dt = config.time.max_dt_s.map_or(dt, |m| dt.min(m));
    // Steps also end on every time-series and snapshot time.
    let dt = dt.min(config.output.timeseries_interval_s);
    let dt_np = config.time.stability_safety * c.dt_diffusion_s();
    let steps = (config.time.end_time_s / dt).ceil();
    // Fields and work arrays of the CPU backend, f64, plus the multigrid hierarchy (~1/3 more).
    let bytes = c.grid.cells() as f64 * 8.0 * 24.0 * 1.34;
    println!("time step (Allen–Cahn stability limit × safety, at most the time-series interval): {dt:.4e} s; steps to {} s: about {steps:.0} (more if the ξ-change limit binds)", config.time.end_time_s);
    println!(
        "Nernst–Planck sub-step (diffusion limit × safety): {dt_np:.4e} s, about {:.0} per step",
        (dt / dt_np).ceil()
    );
    println!(
        "memory (CPU backend): about {:.1} MiB",
        bytes / (1024.0 * 1024.0)
    );
    println!(
        "control: {:?}, {}",
        config.control.mode,
        match config.control.mode {
            lipf_core::config::ControlMode::Galvanostatic =>
                format!("{} A/m²", config.control.current_density_a_m2),
            lipf_core::config::ControlMode::Potentiostatic =>
                format!("{} V", config.control.cell_voltage_v),
        }
    );
}
