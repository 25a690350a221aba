//! One integration test binary; each module covers one capability.

mod cli;
mod differential;
mod reference;
mod spec_cases;
mod support;
