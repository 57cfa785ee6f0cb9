//! lipf-core: the phase-field model of Li electrodeposition into porous LLZO scaffolds.
//!
//! Data flow: [`config::Config`] (JSON, physical units) → [`coefficients::Coefficients`] (model
//! coefficients in SI, derived once) → [`geometry`] builds the initial fields on a [`grid::Grid`]
//! → a [`backend::Backend`] advances the [`state::State`] in time. The CPU backend
//! ([`cpu_backend::CpuBackend`]) is the reference: every kernel in [`cpu`] is one Rust file that has a
//! WGSL twin of the same name in `shaders/`.

pub mod backend;
pub mod coefficients;
pub mod config;
pub mod cpu;
pub mod cpu_backend;
pub mod deposit;
pub mod estimate;
pub mod floating_clusters;
pub mod front_map;
pub mod geometry;
pub mod grid;
pub mod initial;
pub mod metrics;
pub mod morphology;
pub mod mutants;
pub mod observables;
pub mod protocol;
pub mod restart;
pub mod solver;
pub mod state;
pub mod step;
pub mod units;

pub use backend::{AdvanceOutcome, Backend, SimulationError, StopFlag};
pub use coefficients::Coefficients;
pub use config::{Config, ConfigError};
pub use cpu_backend::CpuBackend;
pub use grid::Grid;
pub use state::State;

/// The lipf version string written into every output file.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
