//! Virtual impedance spectroscopy of voxel microstructures (docs/models/impedance.md).
//!
//! * [`structure`] — voxel structures: the seed's model structure, phase-field sections, voxel
//!   files.
//! * [`network`] — the 3-D RC network and its complex symmetric system.
//! * [`solver`] — sparse direct (reference) and Jacobi-preconditioned COCG/COCR solvers behind
//!   one trait; [`sweep`] runs them over a frequency sweep.
//! * [`gpu`] (feature `gpu`, on by default) — the same COCG in WGSL on an f64 device;
//!   [`kernels`] holds the CPU twins of its kernels.
//! * [`circuit`] — R + Σ RC circuits and the 1-D physical model.
//! * [`fit`] — Levenberg–Marquardt fit of R + n RC.
//! * [`kk`] — the linear Kramers–Kronig test.
//! * [`drt`] — distribution of relaxation times (Tikhonov + non-negativity, GCV).
//! * [`io`] — CSV spectra, voxel files and phase-field sections, output tables, HDF5 and plots.
//! * [`memory`] — memory estimates and the memory budget checked before allocating.
//! * [`outdir`] — output folders: default names from the input, overwrite rules.

pub mod circuit;
pub mod config;
pub mod drt;
pub mod fit;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod io;
pub mod kernels;
pub mod kk;
pub mod linalg;
pub mod memory;
pub mod network;
pub mod outdir;
pub mod params;
pub mod solver;
pub mod structure;
pub mod sweep;

pub use network::Network;
pub use params::{Materials, MaterialsSi, ModelStructure, Sweep};
pub use solver::{DirectLu, FrequencySolver, Krylov, KrylovMethod};
pub use structure::Structure;
pub use sweep::{sweep, Spectrum};
