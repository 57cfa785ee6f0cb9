//! lipf's integration tests: one binary, one module per subject.

mod backend_choice;
mod cell_checks;
mod config_errors;
mod convergence_checks;
mod creep_checks;
mod dendrite_checks;
mod doc_paths;
mod electronic_checks;
mod extend;
mod geometry_3d_checks;
mod geometry_checks;
mod gpu_checks;
mod hostile_inputs;
mod implicit_gradient_checks;
mod independent_checks;
mod liquid_checks;
mod model_checks;
mod mutant_checks;
mod noise_checks;
mod pictures;
mod protocol_checks;
mod resume;
mod run_3d_checks;
mod study;
mod transport_checks;
