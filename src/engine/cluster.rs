//! The cluster engine: Apache DataFusion Ballista (55, paired with
//! DataFusion 55), run from uptake's own binary.
//!
//! `uptake cluster scheduler` and `uptake cluster executor` start Ballista's
//! scheduler and an executor as libraries; `--engine
//! ballista://HOST:PORT` (or `UPTAKE_ENGINE`) makes `uptake rebuild`
//! compute the rollup from the raw events on the cluster: the executors
//! read the event files where they are (object storage, or a file system
//! they share with the client), map each qualifying event to its local
//! day and reduce them to the day masks of each user, module and week; the
//! client puts those into the rollup (the same [`Rollup`] the local
//! engine builds, so the figures are the same). Every process of the
//! cluster reaches `s3://` buckets with the `AWS_*` variables, as uptake
//! does.
//!
//! The engine choice is this module's [`Choice`]; everything else uses
//! DataFusion in the process.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int32Type;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::TryStreamExt;
use object_store::ObjectStore;

use crate::config::Settings;
use crate::store::rollup::Rollup;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Choice(String),
    #[error("the cluster at {scheduler}: {message}")]
    Cluster { scheduler: String, message: String },
    #[error("the cluster's {what}: {message}")]
    Process { what: &'static str, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the heavy stages run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Choice {
    /// In this process (the default).
    #[default]
    Local,
    /// On the Ballista cluster whose scheduler is at `HOST:PORT`.
    Ballista { scheduler: String },
}

impl Choice {
    /// `local`, or `ballista://HOST:PORT`.
    pub fn parse(value: &str) -> Result<Choice, String> {
        if value.is_empty() || value == "local" {
            return Ok(Choice::Local);
        }
        let Some(address) = value.strip_prefix("ballista://") else {
            return Err(format!(
                "{value}: an engine is 'local' or 'ballista://HOST:PORT' (a Ballista scheduler, `uptake cluster scheduler`)"
            ));
        };
        let address = address.trim_end_matches('/');
        match address.rsplit_once(':') {
            Some((host, port))
                if !host.is_empty()
                    && !host.contains('/')
                    && port.parse::<u16>().is_ok_and(|p| p > 0) =>
            {
                Ok(Choice::Ballista {
                    scheduler: address.to_string(),
                })
            }
            _ => Err(format!(
                "{value}: the scheduler's address must be HOST:PORT (ballista://127.0.0.1:50050)"
            )),
        }
    }
}

/// Object stores of the cluster's sessions: `s3://bucket` as uptake opens
/// it (from the `AWS_*` variables), made when first asked for; anything
/// else (local files) as DataFusion's default registry has it.
#[derive(Debug, Default)]
struct Stores {
    default: DefaultObjectStoreRegistry,
    buckets: RwLock<BTreeMap<String, Arc<dyn ObjectStore>>>,
}

impl ObjectStoreRegistry for Stores {
    fn register_store(
        &self,
        url: &url::Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.default.register_store(url, store)
    }

    fn get_store(&self, url: &url::Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if url.scheme() != "s3" {
            return self.default.get_store(url);
        }
        let bucket = url.host_str().unwrap_or_default().to_string();
        if let Some(store) = self
            .buckets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&bucket)
        {
            return Ok(Arc::clone(store));
        }
        let store = crate::store::remote::object_store(&bucket, &format!("s3://{bucket}"))
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        self.buckets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(bucket, Arc::clone(&store));
        Ok(store)
    }
}

/// A runtime whose object stores come from [`Stores`].
fn runtime() -> datafusion::error::Result<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(Stores::default()))
        .build_arc()
}

/// A session of the cluster (scheduler and client) with [`runtime`].
fn session_state(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    use ballista_core::extension::{
        ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions,
    };
    Ok(SessionStateBuilder::new()
        .with_runtime_env(runtime()?)
        .with_config(config)
        .with_default_features()
        .with_scalar_functions(ballista_scalar_functions())
        .with_aggregate_functions(ballista_aggregate_functions())
        .with_window_functions(ballista_window_functions())
        .build())
}

/// Runs Ballista's scheduler on `listen` until the process is stopped.
pub async fn run_scheduler(listen: SocketAddr) -> Result<()> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let fail = |e: ballista_core::error::BallistaError| Error::Process {
        what: "scheduler",
        message: e.to_string(),
    };
    // Executors beat every 5 s; one silent for 30 s is gone, and the jobs
    // of a cluster without executors fail 30 s later instead of waiting.
    let config = SchedulerConfig {
        bind_host: listen.ip().to_string(),
        bind_port: listen.port(),
        external_host: listen.ip().to_string(),
        executor_timeout_seconds: 30,
        no_executors_grace_period_seconds: 30,
        ..SchedulerConfig::default()
    }
    .with_override_config_producer(Arc::new(SessionConfig::new_with_ballista))
    .with_override_session_builder(Arc::new(session_state));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(fail)?;
    ballista_scheduler::scheduler_process::start_server(cluster, listen, Arc::new(config))
        .await
        .map_err(fail)
}

/// What an executor is told at its start.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler, `HOST:PORT`.
    pub scheduler: String,
    /// Where it serves its results to the others (Arrow Flight).
    pub listen: SocketAddr,
    /// Its gRPC port (the scheduler's calls).
    pub grpc_port: u16,
    /// Tasks at a time (default: the cores).
    pub cores: Option<usize>,
    /// Where shuffle files go (default: a temporary folder).
    pub work_dir: Option<String>,
}

/// Runs a Ballista executor until the process is stopped.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    let (host, port) = options
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| {
            Error::Choice(format!(
                "{}: the scheduler's address must be HOST:PORT",
                options.scheduler
            ))
        })?;
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: options.listen.ip().to_string(),
        external_host: Some(options.listen.ip().to_string()),
        port: options.listen.port(),
        grpc_port: options.grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        scheduler_connect_timeout_seconds: 30,
        vcores: options.cores.unwrap_or(defaults.vcores),
        work_dir: options.work_dir,
        executor_heartbeat_interval_seconds: 5,
        override_runtime_producer: Some(Arc::new(|_: &SessionConfig| runtime())),
        override_config_producer: Some(Arc::new(SessionConfig::new_with_ballista)),
        ..defaults
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| Error::Process {
            what: "executor",
            message: e.to_string(),
        })
}

/// The day masks of the qualifying events of `urls` (Parquet files of
/// stored events: local paths the executors can read, or `s3://`
/// addresses), computed on the cluster at `scheduler`: by user, module and
/// week since 1970 (weeks from Monday), the 7-bit mask of the local days
/// (bit 0 = Monday) with an event whose action is not excluded.
const ROLLUP_SQL: &str = "
SELECT user_id, module, CAST((day + 3) / 7 AS INT) AS week,
       bit_or(CAST(1 AS INT) << CAST((day + 3) % 7 AS INT)) AS days
FROM (
  SELECT user_id, module,
         CAST(CAST(to_local_time(arrow_cast(event_time, '{timestamp}')) AS DATE) AS INT) AS day
  FROM {events}
  WHERE {qualifies}
) e
GROUP BY user_id, module, CAST((day + 3) / 7 AS INT)";

/// The rollup of the events of `urls` computed on the cluster at
/// `scheduler` with `settings`' time zone and excluded actions.
pub async fn rollup(scheduler: &str, urls: &[String], settings: &Settings) -> Result<Rollup> {
    let fail = |message: String| Error::Cluster {
        scheduler: scheduler.to_string(),
        message,
    };
    let tz = settings.tz().map_err(|e| fail(e.to_string()))?;
    let mut rollup = Rollup::default();
    if urls.is_empty() {
        return Ok(rollup);
    }
    let state =
        session_state(SessionConfig::new_with_ballista()).map_err(|e| fail(e.to_string()))?;
    let ctx = SessionContext::remote_with_state(&format!("df://{scheduler}"), state)
        .await
        .map_err(|e| fail(e.to_string()))?;
    // One listing table per store: a listing reads from one store only.
    let mut by_store: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for url in urls {
        let store = match url.strip_prefix("s3://") {
            Some(rest) => rest.split('/').next().unwrap_or_default().to_string(),
            None => String::new(),
        };
        by_store.entry(store).or_default().push(url);
    }
    let mut tables = Vec::new();
    for (i, urls) in by_store.values().enumerate() {
        let name = format!("events_{i}");
        let paths = urls
            .iter()
            .map(|u| ListingTableUrl::parse(u.as_str()))
            .collect::<datafusion::error::Result<Vec<_>>>()
            .map_err(|e| fail(e.to_string()))?;
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(paths)
            .with_listing_options(options)
            .with_schema(crate::store::input::event_schema());
        let table = ListingTable::try_new(config).map_err(|e| fail(e.to_string()))?;
        ctx.register_table(name.as_str(), Arc::new(table))
            .map_err(|e| fail(e.to_string()))?;
        tables.push(name);
    }
    let events = match tables.as_slice() {
        [one] => one.clone(),
        many => format!(
            "({})",
            many.iter()
                .map(|t| format!("SELECT * FROM {t}"))
                .collect::<Vec<_>>()
                .join(" UNION ALL ")
        ),
    };
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let qualifies = match settings.activity.exclude_actions.as_slice() {
        [] => "TRUE".to_string(),
        actions => format!(
            "action NOT IN ({})",
            actions
                .iter()
                .map(|a| quote(a))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let sql = ROLLUP_SQL
        .replace(
            "{timestamp}",
            &format!("Timestamp(Microsecond, Some(\"{}\"))", tz.name()),
        )
        .replace("{events}", &events)
        .replace("{qualifies}", &qualifies);
    let df = ctx.sql(&sql).await.map_err(|e| fail(e.to_string()))?;
    let mut stream = df.execute_stream().await.map_err(|e| fail(e.to_string()))?;
    while let Some(batch) = stream.try_next().await.map_err(|e| fail(e.to_string()))? {
        let text = |i: usize| {
            datafusion::arrow::compute::cast(
                batch.column(i),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
        };
        let (users, modules) = (
            text(0).map_err(|e| fail(e.to_string()))?,
            text(1).map_err(|e| fail(e.to_string()))?,
        );
        let (users, modules) = (users.as_string::<i32>(), modules.as_string::<i32>());
        let weeks = batch.column(2).as_primitive::<Int32Type>();
        let masks = batch.column(3).as_primitive::<Int32Type>();
        for row in 0..batch.num_rows() {
            if weeks.is_null(row) || masks.is_null(row) {
                continue;
            }
            rollup.add_mask(
                users.value(row),
                modules.value(row),
                weeks.value(row),
                masks.value(row) as u8,
            );
        }
    }
    Ok(rollup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_named_local_or_by_their_scheduler() {
        assert_eq!(Choice::parse("local"), Ok(Choice::Local));
        assert_eq!(Choice::parse(""), Ok(Choice::Local));
        assert_eq!(
            Choice::parse("ballista://127.0.0.1:50050"),
            Ok(Choice::Ballista {
                scheduler: "127.0.0.1:50050".into()
            })
        );
        for bad in [
            "spark://x:1",
            "ballista://",
            "ballista://host",
            "ballista://host:0",
            "ballista://:50050",
            "ballista://a/b:1",
        ] {
            assert!(Choice::parse(bad).is_err(), "{bad}");
        }
    }
}
