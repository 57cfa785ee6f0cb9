//! lipf's integration tests: one binary, one module per subject.

mod backend_choice;
mod cell_checks;
mod config_errors;
mod geometry_checks;
mod gpu_checks;
mod model_checks;
mod resume;
mod study;
