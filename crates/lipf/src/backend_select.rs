//! `--backend auto|cpu|gpu` and `--adapter SUBSTRING`: which backend a run or a benchmark uses.
//!
//! - `cpu`: the CPU reference backend.
//! - `auto`: a hardware GPU when there is one (discrete before integrated), else the CPU
//!   backend. Software adapters (Mesa lavapipe/llvmpipe, SwiftShader, WARP) run WGSL on the
//!   CPU and are never taken by `auto`.
//! - `gpu`: the GPU backend on the best adapter, software adapters included (ranked after
//!   hardware ones); an error when there is none.
//!
//! [`resolve`] makes the choice from a list of adapters (a pure function, unit-tested with fake
//! adapters); [`make_backend`] builds the backend, from scratch or from a checkpoint's state.

use anyhow::{bail, Result};
use lipf_core::geometry::GeometryInfo;
use lipf_core::{Backend, Config, CpuBackend, State};

/// The `--backend` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BackendChoice {
    /// A hardware GPU when there is one, else the CPU backend (never a software adapter).
    Auto,
    /// The CPU reference backend (f64, multithreaded, deterministic).
    #[default]
    Cpu,
    /// The GPU backend (f32, WGSL through wgpu) on the best adapter; software adapters such as
    /// lavapipe count here (for testing), after any hardware GPU.
    Gpu,
}

/// `--backend` and `--adapter` together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendSelection {
    pub choice: BackendChoice,
    /// Only adapters whose name contains this (case-insensitive).
    pub adapter: Option<String>,
}

/// What an adapter looks like to the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterFacts {
    pub name: String,
    pub software: bool,
}

/// The outcome of the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Cpu,
    /// The GPU backend; software adapters allowed or not, filtered by name.
    Gpu {
        allow_software: bool,
        name_contains: Option<String>,
    },
}

fn matches(a: &AdapterFacts, filter: &Option<String>) -> bool {
    match filter {
        None => true,
        Some(f) => a.name.to_lowercase().contains(&f.to_lowercase()),
    }
}

fn listing(adapters: &[AdapterFacts]) -> String {
    if adapters.is_empty() {
        return "none".into();
    }
    adapters
        .iter()
        .map(|a| {
            if a.software {
                format!("{} (software (CPU), not a GPU)", a.name)
            } else {
                a.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The backend `sel` asks for, given the adapters present.
pub fn resolve(sel: &BackendSelection, adapters: &[AdapterFacts]) -> Result<Resolved> {
    match sel.choice {
        BackendChoice::Cpu => {
            if let Some(a) = &sel.adapter {
                bail!("--adapter {a} needs --backend auto or --backend gpu");
            }
            Ok(Resolved::Cpu)
        }
        BackendChoice::Auto => {
            let hardware = adapters
                .iter()
                .any(|a| !a.software && matches(a, &sel.adapter));
            match (&sel.adapter, hardware) {
                (_, true) => Ok(Resolved::Gpu {
                    allow_software: false,
                    name_contains: sel.adapter.clone(),
                }),
                (None, false) => Ok(Resolved::Cpu),
                (Some(f), false) => bail!(
                    "no hardware GPU whose name contains `{f}` (adapters: {}); `auto` never takes a software adapter: use --backend gpu for that",
                    listing(adapters)
                ),
            }
        }
        BackendChoice::Gpu => {
            if !adapters.iter().any(|a| matches(a, &sel.adapter)) {
                bail!(
                    "no adapter{} (adapters: {}); check the Vulkan driver (`lipf info`), or use --backend cpu",
                    sel.adapter
                        .as_ref()
                        .map(|f| format!(" whose name contains `{f}`"))
                        .unwrap_or_default(),
                    listing(adapters)
                );
            }
            Ok(Resolved::Gpu {
                allow_software: true,
                name_contains: sel.adapter.clone(),
            })
        }
    }
}

/// The adapters present (none when lipf is built without the `gpu` feature).
pub fn adapters_present() -> Vec<AdapterFacts> {
    #[cfg(feature = "gpu")]
    {
        lipf_gpu::list_adapters()
            .into_iter()
            .map(|a| AdapterFacts {
                name: a.name,
                software: a.software,
            })
            .collect()
    }
    #[cfg(not(feature = "gpu"))]
    Vec::new()
}

/// A backend and the adapter it runs on ("NAME (Vulkan, discrete GPU)"; None for the CPU).
pub struct Chosen {
    pub backend: Box<dyn Backend>,
    pub adapter: Option<String>,
    pub adapter_is_software: bool,
}

/// Builds the backend `sel` asks for: from the configuration's initial state, or around
/// `resume` (a checkpoint's state) on either backend.
pub fn make_backend(
    sel: &BackendSelection,
    config: &Config,
    resume: Option<(State, GeometryInfo)>,
) -> Result<Chosen> {
    let resolved = if sel.choice == BackendChoice::Cpu {
        resolve(sel, &[])?
    } else {
        resolve(sel, &adapters_present())?
    };
    match resolved {
        Resolved::Cpu => {
            let backend: Box<dyn Backend> = match resume {
                None => Box::new(
                    CpuBackend::new(config)
                        .map_err(|e| anyhow::anyhow!("initialisation failed: {e}"))?,
                ),
                Some((state, geometry)) => {
                    Box::new(CpuBackend::with_state(config, state, geometry))
                }
            };
            Ok(Chosen {
                backend,
                adapter: None,
                adapter_is_software: false,
            })
        }
        #[cfg(feature = "gpu")]
        Resolved::Gpu {
            allow_software,
            name_contains,
        } => {
            let req = lipf_gpu::AdapterRequest {
                allow_software,
                name_contains,
            };
            let backend = match resume {
                None => lipf_gpu::GpuBackend::new(config, &req)?,
                Some((state, geometry)) => {
                    let ctx = lipf_gpu::GpuContext::new(&req)?;
                    lipf_gpu::GpuBackend::with_state(ctx, config, state, geometry)?
                }
            };
            let a = &backend.context().adapter;
            let (adapter, soft) = (a.label(), a.software);
            Ok(Chosen {
                backend: Box::new(backend),
                adapter: Some(adapter),
                adapter_is_software: soft,
            })
        }
        #[cfg(not(feature = "gpu"))]
        Resolved::Gpu { .. } => bail!("this lipf is built without the `gpu` feature"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hw(name: &str) -> AdapterFacts {
        AdapterFacts {
            name: name.into(),
            software: false,
        }
    }
    fn sw(name: &str) -> AdapterFacts {
        AdapterFacts {
            name: name.into(),
            software: true,
        }
    }
    fn sel(choice: BackendChoice, adapter: Option<&str>) -> BackendSelection {
        BackendSelection {
            choice,
            adapter: adapter.map(String::from),
        }
    }

    #[test]
    fn auto_never_picks_a_software_adapter() {
        let only_software = [sw("llvmpipe (LLVM 15.0.6, 256 bits)")];
        assert_eq!(
            resolve(&sel(BackendChoice::Auto, None), &only_software).unwrap(),
            Resolved::Cpu
        );
        assert_eq!(
            resolve(&sel(BackendChoice::Auto, None), &[]).unwrap(),
            Resolved::Cpu
        );
        // Asking auto for the software adapter by name is an error, not a silent software run.
        assert!(resolve(&sel(BackendChoice::Auto, Some("llvmpipe")), &only_software).is_err());
    }

    #[test]
    fn auto_takes_a_hardware_gpu_and_only_hardware() {
        let both = [sw("llvmpipe"), hw("NVIDIA H100 PCIe")];
        assert_eq!(
            resolve(&sel(BackendChoice::Auto, None), &both).unwrap(),
            Resolved::Gpu {
                allow_software: false,
                name_contains: None
            }
        );
        assert_eq!(
            resolve(&sel(BackendChoice::Auto, Some("h100")), &both).unwrap(),
            Resolved::Gpu {
                allow_software: false,
                name_contains: Some("h100".into())
            }
        );
        assert!(resolve(&sel(BackendChoice::Auto, Some("radeon")), &both).is_err());
    }

    #[test]
    fn gpu_accepts_software_adapters_and_fails_without_any() {
        let only_software = [sw("llvmpipe")];
        assert_eq!(
            resolve(&sel(BackendChoice::Gpu, None), &only_software).unwrap(),
            Resolved::Gpu {
                allow_software: true,
                name_contains: None
            }
        );
        let e = resolve(&sel(BackendChoice::Gpu, None), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no adapter"), "{e}");
        let e = resolve(&sel(BackendChoice::Gpu, Some("h100")), &only_software)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`h100`") && e.contains("not a GPU"), "{e}");
    }

    #[test]
    fn cpu_ignores_adapters_and_rejects_an_adapter_filter() {
        let both = [sw("llvmpipe"), hw("NVIDIA H100")];
        assert_eq!(
            resolve(&sel(BackendChoice::Cpu, None), &both).unwrap(),
            Resolved::Cpu
        );
        assert!(resolve(&sel(BackendChoice::Cpu, Some("h100")), &both).is_err());
    }
}
