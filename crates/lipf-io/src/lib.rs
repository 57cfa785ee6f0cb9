//! lipf-io: everything lipf writes to disk.
//!
//! | module      | output                                   | content                                        |
//! |-------------|------------------------------------------|------------------------------------------------|
//! | [`h5`]      | `fields.h5`, `checkpoint.h5`             | field snapshots (f32) and time series; full `State` (f64) |
//! | [`xdmf`]    | `fields.xdmf`                            | XDMF 3 description of `fields.h5` for ParaView |
//! | [`csv`]     | `timeseries.csv`                         | scalar observables, one row per sample         |
//! | [`images`]  | `<stem>_{phases,potential,conc}.png`, plots | colour maps of one snapshot; line plots     |
//! | [`atomic`]  | —                                        | write-then-rename helpers used by all of them  |
//!
//! Conventions shared by every format: fields are row-major with index `j·nx + i`, row `j = 0` is
//! the bottom of the domain (the current collector, y = 0) and `j = ny − 1` the top. HDF5
//! datasets keep that order with shape `(ny, nx)`; images are flipped so that the top of the
//! picture is the top of the domain. Every file is published atomically (written under a
//! temporary name, synced, renamed), so an interrupted run never leaves a half-written output.
//!
//! The `hdf5` feature (default) enables [`h5`]; without it the crate builds without libhdf5.

pub mod animation;
pub mod atomic;
pub mod csv;
#[cfg(feature = "hdf5")]
pub mod h5;
pub mod images;
pub mod memory;
pub mod spectrum_plots;
pub mod xdmf;

pub use images::{line_plot_png, write_snapshot_images};
