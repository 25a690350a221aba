//! uptake: CRM adoption KPIs (active licensee rate, module utilization) per
//! region, department, team and rollout wave, as defined by SPEC.md.
//!
//! Data flows one way: files -> [`store`] -> Parquet -> [`engine`] (SQL in
//! `queries/`) -> [`kpi`] -> output.

pub mod bench;
pub mod cli;
pub mod config;
pub mod engine;
pub mod kpi;
pub mod model;
pub mod sample;
pub mod store;
