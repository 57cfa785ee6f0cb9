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
        Ctrl-C (SIGINT) or SIGTERM (a scheduler's time limit) stops between two steps, writes a \
        checkpoint and summary.json, and exits with status 130 or 143; continue with \
        `lipf run --resume runs/<name>/checkpoint.h5`. On the CPU backend a resumed run ends \
        bitwise equal to an uninterrupted one.\n\n\
        Extending and restarting: --resume also continues a finished run, in its own folder \
        (time series, snapshots and tables are appended):\n  \
        lipf run --resume runs/<name>/checkpoint.h5 --set time.end_time_s=2000\n  \
        lipf run --resume runs/<name>/checkpoint.h5 --set control.repeat=10\n\
        Without CONFIG the checkpoint's own configuration is used, with each --set applied on \
        top; with CONFIG, that file (and --set) is compared with it. Only these fields may \
        differ: time.end_time_s (beyond the checkpoint's time), control.repeat and \
        control.ramp.max_a_m2 (raised), control.stop.*, output.*, limits.*, \
        solver.max_iterations, name; any other difference (grid, geometry, material, model, \
        protocol segments, time step, solver tolerance, noise) is refused and every differing \
        field is named with its two values. A run ended by its protocol continues when \
        control.repeat (or the ramp's ceiling) allows more cycles; a run ended by a stop \
        criterion continues only when that criterion no longer holds (a higher \
        control.stop.voltage_limit_v, or control.stop.short_circuit=false). On the CPU backend \
        a run to T1 extended to T2 ends bitwise equal to a run straight to T2 when T1 is an \
        output event of both (a multiple of output.snapshot_interval_s and of \
        output.timeseries_interval_s). See docs/protocols.md.\n\n\
        A fresh run refuses an output folder that already holds files; --overwrite replaces them. A folder that another lipf run is writing (it holds the folder's lock) is refused, fresh or resumed.\n\n\
        Exit status: 0 completed (at the end time, at the end of a protocol, or by a stop \
        criterion of control.stop; summary.json's end_reason says which), 1 error, 130/143 \
        interrupted by SIGINT/SIGTERM (checkpoint written).")]
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
        /// Continue from a checkpoint written by an earlier run, interrupted or finished
        /// (without CONFIG its stored configuration is used; to extend a run, raise its end
        /// time with --set time.end_time_s=T). Outputs continue in the checkpoint's folder (or --out).
        #[arg(long, value_name = "CHECKPOINT")]
        resume: Option<PathBuf>,
        /// Override one configuration field: --set PATH=VALUE, e.g. --set
        /// control.current_density_a_m2=5 (VALUE is JSON, or else a string); repeat for more.
        /// With --resume the overrides apply on top of CONFIG, or without CONFIG on top of
        /// the checkpoint's configuration; only the fields listed under "Extending and
        /// restarting" above may change.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Replace the contents of a non-empty output folder (without it, a fresh run refuses
        /// to write into a folder that holds files).
        #[arg(long, conflicts_with = "resume")]
        overwrite: bool,
        /// No progress bar or messages (errors still go to stderr); for scripts.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validate a configuration and print the derived coefficients, memory, time step and
    /// estimated number of steps, without running.
    Check {
        /// Configuration file (JSON). Default: the compiled-in default case.
        config: Option<PathBuf>,
        /// Override one configuration field, as for `lipf run`: --set PATH=VALUE, e.g. --set
        /// model.nernst_planck=implicit; repeat for more.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    // Help text: on `ImpedanceArgs` (cmd_impedance.rs).
    Impedance(Box<cmd_impedance::ImpedanceArgs>),
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
        /// running (the script resumes unfinished cases from their checkpoints when submitted
        /// again, and asks for a GPU with --backend gpu).
        #[arg(long, value_name = "DIR")]
        emit_jobs: Option<PathBuf>,
        /// Compute backend of every case: cpu, auto or gpu (as for `lipf run`).
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendChoice,
        /// Only GPU adapters whose name contains this, with --backend auto or gpu.
        #[arg(long, value_name = "SUBSTRING")]
        adapter: Option<String>,
        /// Replace the contents of a non-empty study folder.
        #[arg(long)]
        overwrite: bool,
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
        /// Output directory (default: runs/geometry-<config name>; refused when it holds files,
        /// unless --overwrite).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the contents of a non-empty output folder.
        #[arg(long)]
        overwrite: bool,
        /// Override one configuration field, as for `lipf run`: --set PATH=VALUE, e.g. --set
        /// domain.grid_spacing_um=0.125; repeat for more.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
}

/// CONFIG (or the compiled-in default case) with each --set applied on top.
fn load_config(path: &Option<PathBuf>, set: &[String]) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::from_file_with(p, set)?,
        None if set.is_empty() => Config::default(),
        None => Config::from_json_str(&lipf_core::config::apply_overrides(
            &Config::default().to_json_pretty(),
            set,
        )?)?,
    })
}

fn main() {
    // Writing into a closed pipe (`lipf check | head -1`) ends the process quietly, as for
    // other command-line tools, instead of a panic in println!.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    #[cfg(feature = "hdf5")]
    lipf_io::h5::disable_file_locking();
    match real_main() {
        Ok(()) => {
            if let Some(sig) = lipf::signals::received() {
                std::process::exit(lipf::signals::exit_code(sig));
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
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
            set,
            overwrite,
            quiet,
        } => {
            let selection = BackendSelection {
                choice: backend,
                adapter,
            };
            let config = match (&resume, &config) {
                // Resume: CONFIG (with --set on top) or else the checkpoint's own configuration
                // with --set on top; the driver compares it with the stored one and admits only
                // the changes of lipf_core::restart.
                (Some(_), Some(p)) => Config::from_file_with(p, &set)?,
                (Some(ckpt), None) => {
                    let json = checkpoint_config(ckpt)?;
                    Config::from_json_str(&lipf_core::config::apply_overrides(&json, &set)?)
                        .with_context(|| {
                            format!("configuration stored in {} with --set", ckpt.display())
                        })?
                }
                (None, _) => load_config(&config, &set)?,
            };
            let out_dir = match (&out, &resume) {
                (Some(o), _) => o.clone(),
                // "checkpoint.h5" has the parent "": the current folder.
                (None, Some(ckpt)) => ckpt
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(|p| p.to_path_buf())
                    .unwrap_or_else(|| PathBuf::from(".")),
                (None, None) => PathBuf::from("runs").join(&config.name),
            };
            let stop = StopFlag::new();
            lipf::signals::install(stop.clone()).context("cannot install signal handlers")?;
            let summary = lipf::run::run_on(
                lipf::RunOptions {
                    config,
                    out_dir,
                    resume,
                    overwrite,
                    quiet,
                    stop,
                    stop_after_steps: None,
                },
                &selection,
            )?;
            if !summary.completed && lipf::signals::received().is_none() {
                bail!(
                    "the run stopped at t = {} s before its end",
                    summary.final_time_s
                );
            }
            Ok(())
        }
        Command::Impedance(args) => cmd_impedance::run(*args),
        Command::Info(args) => cmd_info::run(args),
        #[cfg(feature = "gpu")]
        Command::Bench(args) => cmd_bench::run(args),
        Command::Check { config, set } => {
            let config = load_config(&config, &set)?;
            check(&config)
        }
        Command::Study {
            action,
            study,
            out,
            jobs,
            emit_jobs,
            backend,
            adapter,
            overwrite,
            quiet,
        } => match (action, study) {
            (Some(StudyAction::Collect { dir }), _) => lipf::cmd_study::collect_command(&dir),
            (None, Some(spec)) => {
                let sel = BackendSelection {
                    choice: backend,
                    adapter,
                };
                lipf::cmd_study::study_command(&spec, out, jobs, emit_jobs, quiet, &sel, overwrite)
            }
            (None, None) => bail!("give a study file (lipf study STUDY.json) or `collect DIR`"),
        },
        Command::Geometry {
            config,
            out,
            overwrite,
            set,
        } => {
            let config = load_config(&config, &set)?;
            // The scaffold is built at full resolution: the memory budget applies.
            let est = lipf_core::estimate::check_config(&config)?;
            lipf::run::check_available_memory(est.memory_bytes)?;
            let out = out
                .unwrap_or_else(|| PathBuf::from("runs").join(format!("geometry-{}", config.name)));
            lipf::run::prepare_fresh_dir(&out, overwrite)?;
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

fn check(config: &Config) -> Result<()> {
    // Budgets first: a configuration that could never finish is not valid.
    let est = lipf_core::estimate::check_config(config)?;
    let c = Coefficients::from_config(config);
    let g = lipf_core::geometry::build(config, &c.grid, c.ell_m).info;
    println!("configuration `{}` is valid.", config.name);
    if c.grid.is_3d() {
        println!(
            "grid: {} × {} × {} cells of {} µm ({} × {} × {} µm, x × y × z)",
            c.grid.nx,
            c.grid.ny,
            c.grid.nz,
            config.domain.grid_spacing_um,
            config.domain.width_um,
            config.domain.height_um,
            config.domain.depth_um.unwrap_or_default()
        );
        match config.require_runnable() {
            Ok(()) => println!(
                "3D domain: `lipf run` runs it on either backend (the implicit Nernst–Planck \
                 step; no creep in 3D); `lipf geometry` measures its scaffold."
            ),
            Err(e) => println!(
                "3D domain: `lipf geometry` measures its scaffold; `lipf run` needs a change \
                 first: {e}"
            ),
        }
    } else {
        println!(
            "grid: {} × {} cells of {} µm ({} × {} µm)",
            c.grid.nx,
            c.grid.ny,
            config.domain.grid_spacing_um,
            config.domain.width_um,
            config.domain.height_um
        );
    }
    println!(
        "geometry: {} — {} {} of {:.3} µm, period {:.3} µm, porosity {:.4} (measured on the grid {:.4}); scaffold {:.2}–{:.2} µm, Li up to {:.2} µm",
        g.kind, g.channels, if g.kind == "cylinders" { "cylinder(s)" } else { "channel(s)" }, g.pore_size_um, g.channel_period_um, g.porosity_geometric, g.porosity_measured, g.scaffold_bottom_um, g.scaffold_top_um, g.li_top_um
    );
    println!("derived model coefficients:\n{}", c.describe());
    if let Some(cr) = &c.creep {
        println!(
            "creep: stack pressure {} MPa, Darcy mobility {:.3e} m²/(Pa s), collector {:?}; creep \
             velocity K p_s/w = {:.3e} m/s against plating {:.3e} m/s at the configured current: \
             creep/plating ratio {:.3} ({})",
            config.creep.stack_pressure_mpa,
            cr.mobility_m2_pa_s,
            config.creep.collector,
            cr.velocity_scale_m_s(),
            cr.velocity_scale_m_s() / c.creep_to_plating_ratio(),
            c.creep_to_plating_ratio(),
            if c.creep_to_plating_ratio() >= 1.0 {
                "across one flow width the metal flows faster than it is plated"
            } else {
                "plating outpaces the flow across one flow width: pressure builds at confined \
                 contacts"
            }
        );
    }
    let gib = lipf_core::estimate::GIB;
    println!("time step (Allen–Cahn stability limit × safety, at most the output intervals): {:.4e} s; steps to {} s: about {:.0} (more if the ξ-change limit binds; budget limits.max_steps = {:.0e})", est.dt_s, config.time.end_time_s, est.steps, config.limits.max_steps);
    if config.model.nernst_planck == lipf_core::config::NernstPlanck::Implicit {
        println!(
            "Nernst–Planck: implicit, one multigrid solve per step (the explicit sub-step would be {:.4e} s)",
            est.dt_np_s
        );
    } else {
        println!(
            "Nernst–Planck sub-step (diffusion limit × safety): {:.4e} s, about {:.0} per step (budget {:.0e})",
            est.dt_np_s, est.substeps_per_step, config.limits.max_substeps_per_step
        );
    }
    println!(
        "snapshots: {:.0} (budget {:.0e}); outputs: about {:.3} GiB (budget {} GiB)",
        est.snapshots,
        config.limits.max_snapshots,
        est.output_bytes / gib,
        config.limits.max_output_gib
    );
    println!(
        "memory (CPU backend): about {:.1} MiB, {:.0} bytes per cell (budget {} GiB)",
        est.memory_bytes / (1024.0 * 1024.0),
        est.memory_bytes / est.cells,
        config.limits.max_memory_gib
    );
    println!(
        "wall time: about {:.3} h at {:.1e} cell-steps/s (the CPU backend on the paper case on a 2-core machine; scale with your machine)",
        est.wall_time_s / 3600.0,
        lipf_core::estimate::REFERENCE_CELL_STEPS_PER_S
    );
    if let Some((sets, fast)) = lipf_core::estimate::faster_settings(config) {
        println!(
            "faster: with --set {} the step would be {:.4e} s (about {:.0} steps, {:.3} h); the \
             time error is first order in the step (0.2 % of V on the paper case at 10 s steps, \
             BENCHMARKS.md), and the output intervals bound the step too",
            sets.join(" --set "),
            fast.dt_s,
            fast.steps,
            fast.wall_time_s / 3600.0
        );
    }
    println!(
        "control: {:?}, {}",
        config.control.mode,
        match config.control.mode {
            lipf_core::config::ControlMode::Galvanostatic
                if !config.control.protocol.is_empty() =>
                format!(
                    "{}; run to {} s at most",
                    lipf_core::protocol::Tracker::describe(&config.control),
                    config.time.end_time_s
                ),
            lipf_core::config::ControlMode::Galvanostatic =>
                format!("{} A/m²", config.control.current_density_a_m2),
            lipf_core::config::ControlMode::Potentiostatic =>
                format!("{} V", config.control.cell_voltage_v),
        }
    );
    if let Some(st) = &config.control.stop {
        println!(
            "stop: {}",
            [
                st.voltage_limit_v
                    .map(|v| format!("when |V| > {v} V (checked after every step)")),
                st.short_circuit.then(|| {
                    "on a short circuit: Li (ξ > ½) from the collector row to the top row \
                     (checked at every time-series sample)"
                        .to_string()
                }),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ")
        );
    }
    Ok(())
}
