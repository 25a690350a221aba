//! uptake: CRM adoption KPIs (active licensee rate, module utilization) per
//! region, department, team and rollout wave, as defined by SPEC.md.
//!
//! Data flows one way: files -> [`store`] -> Parquet -> [`engine`] (SQL in
//! `queries/`) -> [`kpi`] -> [`chart`] / [`server`] / [`report`] / output.

pub mod auth;
pub mod bench;
pub mod chart;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod engine;
pub mod i18n;
pub mod ingest;
pub mod kpi;
pub mod model;
pub mod report;
pub mod sample;
pub mod schedule;
pub mod server;
pub mod store;
