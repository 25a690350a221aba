//! uptake: CRM adoption KPIs (active licensee rate, module utilization) per
//! region, department, team and rollout wave, as defined by SPEC.md.
//!
//! Data flows one way: files -> [`store`] -> Parquet -> [`engine`] (SQL in
//! `queries/`) -> [`kpi`] -> [`chart`] / [`server`] / [`report`] / output.
//!
//! The modules are layered, lowest first, as [`LAYERS`] lists them; each
//! uses only modules below it (`tests/layers.rs` checks every import):
//!
//! | layer | what it holds |
//! |---|---|
//! | [`parallel`] | work spread over the cores, results in order |
//! | [`metrics`] | what the process counts for `/metrics` |
//! | [`model`] | the domain of SPEC.md: weeks, decimals, events, directory tables, segments (dimensions, filters, scopes), output tables; no I/O |
//! | [`config`] | settings (`uptake.toml`, `UPTAKE_*`) |
//! | [`connect`] | sources: vendors' log files read into events through mappings |
//! | [`store`] | the data directory: imports, Parquet, rollups, quarantine |
//! | [`auth`] | users, tokens, audit log (over the store's directory) |
//! | [`engine`] | DataFusion over the store, the query catalog, the cube |
//! | [`kpi`] | KPI tables from query results, protection of small groups |
//! | [`i18n`], [`dashboard`], [`chart`] | labels, dashboards as data, charts |
//! | [`report`] | report definitions, their content and PDF |
//! | [`schedule`] | scheduled reports: due times, runs, delivery (folders, mail, webhooks, Teams, Slack) |
//! | [`alert`] | alerts as data: conditions over the KPI tables, episodes, notices; the loop running reports and alerts |
//! | [`ingest`] | live ingestion: write-ahead log and commits |
//! | [`server`] | HTTP: routes, pages, API |
//! | [`sample`], [`bench`](mod@bench) | generated data and the benchmarks |
//! | [`app`] | the composition root: the server and its background loops, built in one place |
//! | [`cli`] | the commands |

/// The modules from lowest to highest: each may use only those before it.
pub const LAYERS: [&str; 21] = [
    "parallel",
    "metrics",
    "model",
    "config",
    "connect",
    "store",
    "auth",
    "engine",
    "kpi",
    "i18n",
    "dashboard",
    "chart",
    "report",
    "schedule",
    "alert",
    "ingest",
    "server",
    "sample",
    "bench",
    "app",
    "cli",
];

pub mod alert;
pub mod app;
pub mod auth;
pub mod bench;
pub mod chart;
pub mod cli;
pub mod config;
pub mod connect;
pub mod dashboard;
pub mod engine;
pub mod i18n;
pub mod ingest;
pub mod kpi;
pub mod metrics;
pub mod model;
pub mod parallel;
pub mod report;
pub mod sample;
pub mod schedule;
pub mod server;
pub mod store;
