//! One integration test binary; each module covers one capability.

mod access;
mod adversarial;
mod alerts;
mod api;
mod browser;
mod charts;
mod cli;
mod differential;
mod ingest;
mod layers;
mod object_store;
mod operations;
mod queries;
mod reference;
mod reports;
mod sources;
mod spec_cases;
mod subscriptions;
mod support;
