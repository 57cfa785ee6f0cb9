//! lipf: the driver around a backend. It owns the run directory, the output schedule, progress,
//! checkpoints and resume; the physics lives in `lipf-core`, the file formats in `lipf-io`.

pub mod cmd_geometry;
pub mod morph_series;
pub mod pictures;
pub mod run;

pub use run::{run, RunOptions, RunSummary};
