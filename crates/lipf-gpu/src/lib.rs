//! lipf-gpu: the GPU backend of lipf. Every CPU reference kernel of `lipf-core`
//! (`crates/lipf-core/src/cpu/x.rs`) has a WGSL twin `shaders/x.wgsl` of the same name; the
//! [`GpuBackend`] runs the same time step as [`lipf_core::CpuBackend`] with all fields
//! resident on the device, many steps per submission and no per-step readback.
//!
//! - [`device`]: adapter discovery and selection (software adapters only when asked for).
//! - [`shaders`]: the registry of every WGSL file: kernels joined at compile time with the
//!   shared modules of `shaders/shared/` they import.
//! - [`params`]: `#[repr(C)]` twins of the WGSL parameter structs, the control flags and the
//!   indirect-dispatch table layout.
//! - [`kernels`]: pipelines, bind groups and buffer helpers.
//! - [`twin`]: one CPU-twin kernel at a time on host data (tests, benchmarks).
//! - [`backend`]: [`GpuBackend`], the time stepper.
//! - [`bench`]: device throughput measurements for `lipf bench` and `benches/`.
//!
//! Fields are f32 on the device (f64 transcendentals are unreliable in WGSL drivers, and f32
//! halves the memory traffic); the host keeps f64 for time, charge and integrals.

pub mod backend;
pub mod bench;
pub mod device;
pub mod kernels;
pub mod params;
pub mod shaders;
pub mod twin;

pub use backend::GpuBackend;
pub use device::{list_adapters, AdapterRequest, AdapterSummary, GpuContext};

/// What can go wrong on the GPU side.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter found: wanted {wanted}; adapters present: {seen}. Check the GPU driver (Vulkan on Linux), or use `--backend cpu`; software adapters such as lavapipe are used only with `--backend gpu`")]
    NoAdapter { wanted: String, seen: String },
    #[error("cannot open the device {0}")]
    Device(String),
    #[error("the grid is too large for {adapter}: {what} needs {needed} but the device limit `{limit_name}` is {limit}; use a coarser grid or the CPU backend")]
    LimitExceeded {
        what: String,
        needed: u64,
        limit_name: &'static str,
        limit: u64,
        adapter: String,
    },
    #[error("WGSL pipeline `{kernel}` rejected by the device: {message}")]
    Pipeline { kernel: String, message: String },
    #[error("{0}")]
    Unsupported(String),
}
