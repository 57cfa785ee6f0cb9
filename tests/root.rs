//! lipf's integration tests: one binary, one module per subject.

mod model_checks;
