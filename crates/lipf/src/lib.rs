//! lipf: the driver around a backend. It owns the run directory, the output schedule, progress,
//! checkpoints and resume; the physics lives in `lipf-core`, the file formats in `lipf-io`.

pub mod backend_select;
pub mod cmd_geometry;
pub mod cmd_study;
pub mod convergence;
pub mod cycles;
pub mod morph_series;
pub mod pictures;
pub mod report;
pub mod run;
pub mod signals;
pub mod study;

pub use run::{run, RunOptions, RunSummary};
