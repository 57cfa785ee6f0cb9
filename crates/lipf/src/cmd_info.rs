//! `lipf info`: the build, the CPU, and every GPU adapter with the limits the GPU backend needs.

use anyhow::Result;
use clap::Args;

/// Print the build, the CPU threads and the GPU adapters with their limits.
#[derive(Args)]
#[command(
    long_about = "Print the build, the number of CPU threads, and every GPU adapter wgpu \
    finds (Vulkan, Metal, DX12): graphics API, device type, driver, and the limits the GPU \
    backend needs (max buffer size, storage binding size, storage buffers per stage, workgroup \
    limits), with the largest square grid they allow.\n\n\
    Software adapters (Mesa lavapipe/llvmpipe, SwiftShader, WARP) run on the CPU: they are \
    listed as \"software (CPU), not a GPU\"; `--backend auto` never takes them, `--backend gpu` \
    does (after any hardware GPU)."
)]
pub struct InfoArgs {}

/// Largest n such that an n × n grid fits the adapter's limits: the potential operator
/// (4 n² + n f32) and the Nernst–Planck stencil (6 n² f32) in one storage binding, and n/16
/// workgroups per dimension.
#[cfg(feature = "gpu")]
fn largest_square_grid(a: &lipf_gpu::AdapterSummary) -> u64 {
    let bytes = a.max_storage_buffer_binding_size.min(a.max_buffer_size);
    let by_memory = ((bytes / 4 / 6) as f64).sqrt().floor() as u64;
    let by_groups = 16 * a.max_compute_workgroups_per_dimension as u64;
    by_memory.min(by_groups)
}

pub fn run(_args: InfoArgs) -> Result<()> {
    println!("lipf {}", lipf_core::VERSION);
    println!(
        "CPU backend: {} worker threads (set RAYON_NUM_THREADS to change)",
        rayon::current_num_threads()
    );
    #[cfg(not(feature = "gpu"))]
    println!("GPU backend: not built (lipf was built without the `gpu` feature)");
    #[cfg(feature = "gpu")]
    {
        let adapters = lipf_gpu::list_adapters();
        if adapters.is_empty() {
            println!("GPU adapters: none found (no Vulkan/Metal/DX12 driver); `--backend auto` runs on the CPU");
        } else {
            println!("GPU adapters ({}):", adapters.len());
        }
        for (i, a) in adapters.iter().enumerate() {
            println!("  [{i}] {}", a.name);
            println!("      backend:        {}", a.backend);
            if a.software {
                println!("      device type:    {}, not a GPU", a.kind);
            } else {
                println!("      device type:    {}", a.kind);
            }
            println!(
                "      driver:         {}",
                if a.driver.is_empty() {
                    "(not reported)"
                } else {
                    &a.driver
                }
            );
            println!(
                "      max buffer size: {} MiB; max storage binding size: {} MiB; storage buffers per stage: {}",
                a.max_buffer_size >> 20,
                a.max_storage_buffer_binding_size >> 20,
                a.max_storage_buffers_per_shader_stage
            );
            println!(
                "      workgroups: at most {} per dimension, {} invocations each (lipf uses 16 × 16 = 256)",
                a.max_compute_workgroups_per_dimension, a.max_compute_invocations_per_workgroup
            );
            println!(
                "      largest square grid these limits allow: about {} × {}",
                largest_square_grid(a),
                largest_square_grid(a)
            );
            println!(
                "      taken by: {}",
                if a.software {
                    "--backend gpu only (software adapters are for testing the WGSL)"
                } else {
                    "--backend auto and --backend gpu"
                }
            );
        }
        let facts = lipf::backend_select::adapters_present();
        let auto = lipf::backend_select::resolve(
            &lipf::backend_select::BackendSelection {
                choice: lipf::backend_select::BackendChoice::Auto,
                adapter: None,
            },
            &facts,
        )?;
        println!(
            "--backend auto would run on: {}",
            match auto {
                lipf::backend_select::Resolved::Cpu =>
                    "the CPU backend (no hardware GPU)".to_string(),
                lipf::backend_select::Resolved::Gpu { .. } => format!(
                    "the GPU backend on {}",
                    // The order of `GpuContext::new`: discrete, integrated, other.
                    adapters
                        .iter()
                        .filter(|a| !a.software)
                        .min_by_key(|a| match a.kind.as_str() {
                            "discrete GPU" => 0,
                            "integrated GPU" => 1,
                            _ => 2,
                        })
                        .map(|a| a.label())
                        .unwrap_or_default()
                ),
            }
        );
    }
    Ok(())
}
