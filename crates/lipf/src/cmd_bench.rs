//! `lipf bench`: throughput of the explicit update, the copy bandwidth it is a fraction of, the
//! potential solve and the time to solution of a short cut of the paper case, on one backend.
//! The measurements are in `lipf_gpu::bench`.

use anyhow::{Context, Result};
use clap::Args;
use lipf::backend_select::{
    adapters_present, make_backend, resolve, BackendChoice, BackendSelection, Resolved,
};
use lipf_core::Config;
use lipf_gpu::bench::{self, BenchFields, SizeFigures, TimeToSolution};
use std::path::PathBuf;

/// Measure the throughput of a backend (explicit update, bandwidth, potential solve, time to
/// solution).
#[derive(Args)]
#[command(long_about = "Measure one backend and print:\n  \
    1. cell updates per second of the explicit update (xi_rate + xi_update + one Nernst–Planck \
    sub-step) at several grid sizes, each kernel's effective bandwidth (minimum bytes moved / \
    time), and the bandwidth of a copy kernel measured in the same run (shaders/copy.wgsl on \
    the GPU, a row-parallel copy on the CPU), so every figure is also a fraction of the \
    measured bandwidth;\n  \
    2. the time to solution of a short cut of CONFIG (default configs/paper/pore-1.5um.json, \
    its first --end-time seconds; the whole run with --full), with the time per step and per \
    potential solve.\n\n\
    The adapter is printed with its device type; a software adapter (lavapipe, llvmpipe) is \
    labelled \"software (CPU), not a GPU\". Nothing is written unless --json is given.")]
pub struct BenchArgs {
    /// Configuration of the time-to-solution run (default: configs/paper/pore-1.5um.json, or
    /// the compiled-in default case when that file is not there).
    pub config: Option<PathBuf>,
    /// Backend to measure.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    /// Only GPU adapters whose name contains this (case-insensitive; see `lipf info`).
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,
    /// Grid sizes n (n × n cells, 8 to 8192) of the explicit-update measurement; repeat or
    /// separate with commas.
    #[arg(long = "size", value_name = "N", value_delimiter = ',', default_values_t = [128usize, 256, 512, 1024],
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(8..=8192))]
    pub sizes: Vec<usize>,
    /// Simulated seconds of the time-to-solution run.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub end_time: f64,
    /// Run the configuration to its own end time instead of --end-time.
    #[arg(long)]
    pub full: bool,
    /// Skip the time-to-solution run.
    #[arg(long)]
    pub no_run: bool,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

fn gb(bytes_per_s: f64) -> f64 {
    bytes_per_s / 1e9
}

fn print_size(f: &SizeFigures) {
    let copy_bw = f.copy_bandwidth();
    println!(
        "  {} × {} ({} cells): {:.3} M cell updates/s ({:.3} ms per update), {:.2} GB/s = {:.0} % of copy ({:.2} GB/s)",
        f.nx,
        f.ny,
        f.cells(),
        f.cell_updates_per_second() / 1e6,
        1e3 * f.explicit_seconds(),
        gb(f.explicit_bandwidth()),
        100.0 * f.explicit_bandwidth() / copy_bw,
        gb(copy_bw)
    );
    for k in &f.kernels {
        println!(
            "      {:<11} {:>9.3} ms  {:>8.2} GB/s  {:>4.0} % of copy  ({} B/cell)",
            k.name,
            1e3 * k.seconds,
            gb(f.bandwidth(k)),
            100.0 * f.bandwidth(k) / copy_bw,
            k.bytes_per_cell
        );
    }
}

fn size_json(f: &SizeFigures) -> serde_json::Value {
    serde_json::json!({
        "nx": f.nx, "ny": f.ny,
        "cell_updates_per_second": f.cell_updates_per_second(),
        "explicit_update_s": f.explicit_seconds(),
        "explicit_bandwidth_b_s": f.explicit_bandwidth(),
        "copy_bandwidth_b_s": f.copy_bandwidth(),
        "kernels": f.kernels.iter().map(|k| serde_json::json!({
            "name": k.name, "seconds": k.seconds, "bytes_per_cell": k.bytes_per_cell,
            "bandwidth_b_s": f.bandwidth(k),
        })).collect::<Vec<_>>(),
    })
}

pub fn run(args: BenchArgs) -> Result<()> {
    let sel = BackendSelection {
        choice: args.backend,
        adapter: args.adapter.clone(),
    };
    let resolved = resolve(&sel, &adapters_present())?;
    let ctx = match &resolved {
        Resolved::Cpu => None,
        Resolved::Gpu {
            allow_software,
            name_contains,
        } => Some(lipf_gpu::GpuContext::new(&lipf_gpu::AdapterRequest {
            allow_software: *allow_software,
            name_contains: name_contains.clone(),
        })?),
    };
    let device = match &ctx {
        None => format!(
            "CPU backend (f64), {} worker threads",
            rayon::current_num_threads()
        ),
        Some(c) if c.adapter.software => format!(
            "GPU backend (f32) on {} — software Vulkan on the CPU, these are not GPU figures",
            c.adapter.label()
        ),
        Some(c) => format!("GPU backend (f32) on {}", c.adapter.label()),
    };
    if !(args.end_time > 0.0 && args.end_time.is_finite()) {
        anyhow::bail!(
            "--end-time {} must be a finite number of seconds > 0",
            args.end_time
        );
    }
    println!("lipf {} bench — {device}", lipf_core::VERSION);
    println!("explicit update (xi_rate + xi_update + np_substep) per grid size:");
    let mut sizes = Vec::new();
    for &n in &args.sizes {
        let fields = BenchFields::new(n);
        let f = match &ctx {
            None => bench::cpu_explicit_update(&fields),
            Some(c) => bench::gpu_explicit_update(c, &fields)?,
        };
        print_size(&f);
        sizes.push(f);
    }

    let mut run_json = serde_json::Value::Null;
    if !args.no_run {
        let mut config = match &args.config {
            Some(p) => Config::from_file(p)?,
            None => {
                let p = PathBuf::from("configs/paper/pore-1.5um.json");
                if p.exists() {
                    Config::from_file(&p)?
                } else {
                    Config::default()
                }
            }
        };
        if !args.full {
            config.time.end_time_s = config.time.end_time_s.min(args.end_time);
        }
        let t0 = std::time::Instant::now();
        let mut chosen = make_backend(&sel, &config, None).context("time-to-solution run")?;
        let init_s = t0.elapsed().as_secs_f64();
        let t: TimeToSolution = bench::time_to_solution(
            chosen.backend.as_mut(),
            config.time.end_time_s,
            &[
                config.output.timeseries_interval_s,
                config.output.snapshot_interval_s,
            ],
        )
        .map_err(|e| anyhow::anyhow!("time-to-solution run: {e}"))?;
        let c = lipf_core::Coefficients::from_config(&config);
        println!(
            "time to solution: `{}` ({} × {} cells) to t = {} s{}: {:.2} s wall ({} steps, {:.2} ms per step, {:.1} solver iterations per step); set-up {:.2} s",
            config.name,
            c.grid.nx,
            c.grid.ny,
            config.time.end_time_s,
            if args.full { "" } else { " (short cut; --full for the whole run)" },
            t.wall_s,
            t.steps,
            t.ms_per_step(),
            t.solver_iterations_per_step,
            init_s
        );
        // The potential solve: measured by the CPU backend; on the GPU estimated as the step
        // time minus the explicit kernels of one step measured at this grid size.
        let potential_ms = match (&ctx, t.potential_ms_per_step) {
            (_, Some(p)) => {
                println!("potential solve: {p:.2} ms per step (measured; assembly, multigrid set-up, both solves)");
                Some(p)
            }
            (Some(g), None) => {
                let f = bench::gpu_explicit_update(g, &BenchFields::new(c.grid.nx))?;
                let dt_step = t.simulated_s / t.steps.max(1) as f64;
                let dt_np = config.time.stability_safety * c.dt_diffusion_s();
                let substeps = (dt_step / dt_np).ceil().max(1.0);
                let explicit_ms = 1e3
                    * (f.kernels[0].seconds
                        + f.kernels[1].seconds
                        + substeps * f.kernels[2].seconds);
                let p = t.ms_per_step() - explicit_ms;
                println!(
                    "potential solve: about {p:.2} ms per step (estimate: step time minus xi_rate, xi_update and {substeps:.0} np_substep dispatches measured on a {}-cell-wide grid)",
                    c.grid.nx
                );
                Some(p)
            }
            (None, None) => None,
        };
        run_json = serde_json::json!({
            "config": config.name, "nx": c.grid.nx, "ny": c.grid.ny,
            "simulated_s": t.simulated_s, "steps": t.steps, "wall_s": t.wall_s, "setup_s": init_s,
            "ms_per_step": t.ms_per_step(), "potential_ms_per_step": potential_ms,
            "potential_measured": t.potential_ms_per_step.is_some(),
            "solver_iterations_per_step": t.solver_iterations_per_step,
        });
    }
    if let Some(p) = &args.json {
        let v = serde_json::json!({
            "lipf_version": lipf_core::VERSION,
            "backend": if ctx.is_some() { "gpu" } else { "cpu" },
            "adapter": ctx.as_ref().map(|c| c.adapter.label()),
            "adapter_is_software": ctx.as_ref().map(|c| c.adapter.software),
            "cpu_threads": rayon::current_num_threads(),
            "explicit_update": sizes.iter().map(size_json).collect::<Vec<_>>(),
            "time_to_solution": run_json,
        });
        std::fs::write(p, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}
