//! The cluster engine: Apache DataFusion Ballista (55, paired with
//! DataFusion 55), run from uptake's own binary.
//!
//! `uptake cluster scheduler` and `uptake cluster executor` start Ballista's
//! scheduler and an executor as libraries; `--engine
//! ballista://HOST:PORT` (or `UPTAKE_ENGINE`) hands the heavy stages to
//! the cluster, whose executors read the files where they are (object
//! storage, or a file system they share with the client):
//!
//! - raw events to the rollup ([`rollup`], for `uptake rebuild` and for
//!   files registered in place): each qualifying event mapped to its local
//!   day and reduced to the day masks of each user, module and week; the
//!   client puts those into the rollup (the same [`Rollup`] the local
//!   engine builds, so the figures are the same);
//! - the checks of new files of the lake ([`read_lake`]): every row by the
//!   import's own rules (the SQL function `event_accepted`), events and
//!   local days per file;
//! - the cube of `kpi` and the other figures commands ([`run_sql`]): the
//!   same SQL (`queries/*_cube.sql`) over the stored tables and rollup.
//!
//! Every process of the cluster knows uptake's SQL functions
//! ([`super::functions`]) and reaches `s3://` buckets with the `AWS_*`
//! variables, as uptake does. The engine choice is this module's
//! [`Choice`]; everything else uses DataFusion in the process.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type, SchemaRef};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};

use crate::config::Settings;
use crate::store::InputProblem;
use crate::store::input::Problems;
use crate::store::lake::Found;
use crate::store::rollup::Rollup;
use crate::store::{LakeRead, schema_problem};

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

/// uptake's SQL functions, shared.
fn uptake_functions() -> Vec<Arc<ScalarUDF>> {
    super::functions::udfs().into_iter().map(Arc::new).collect()
}

/// A session of the cluster (scheduler and client) with [`runtime`].
fn session_state(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    use ballista_core::extension::{
        ballista_aggregate_functions, ballista_scalar_functions, ballista_window_functions,
    };
    let mut scalar = ballista_scalar_functions();
    scalar.extend(uptake_functions());
    Ok(SessionStateBuilder::new()
        .with_runtime_env(runtime()?)
        .with_config(config)
        .with_default_features()
        .with_scalar_functions(scalar)
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
    let mut functions = ballista_core::registry::BallistaFunctionRegistry::default();
    for f in uptake_functions() {
        functions.scalar_functions.insert(f.name().to_string(), f);
    }
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
        override_function_registry: Some(Arc::new(functions)),
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

/// A session whose queries run on the cluster at `scheduler`.
async fn connect(scheduler: &str) -> Result<SessionContext> {
    let fail = |e: datafusion::error::DataFusionError| Error::Cluster {
        scheduler: scheduler.to_string(),
        message: e.to_string(),
    };
    let state = session_state(SessionConfig::new_with_ballista()).map_err(fail)?;
    let ctx = SessionContext::remote_with_state(&format!("df://{scheduler}"), state)
        .await
        .map_err(fail)?;
    // Ballista's session has its own functions in place of the state's.
    super::functions::register(&ctx);
    Ok(ctx)
}

/// The bucket (`s3://BUCKET/...`) of an address, or "" for a local path:
/// a listing table reads from one store only.
pub(super) fn store_of(url: &str) -> &str {
    match url.strip_prefix("s3://") {
        Some(rest) => rest.split('/').next().unwrap_or_default(),
        None => "",
    }
}

/// A table of Parquet files (addresses in one store) with `schema`.
pub(super) fn listing_table(
    urls: &[&str],
    schema: SchemaRef,
) -> datafusion::error::Result<ListingTable> {
    let paths = urls
        .iter()
        .map(ListingTableUrl::parse)
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(paths)
        .with_listing_options(options)
        .with_schema(schema);
    ListingTable::try_new(config)
}

/// Registers the event files `urls` in `ctx`, one table per store (and
/// per file with `per_file`), named `{prefix}_{i}`; returns the names.
fn register_event_files(
    ctx: &SessionContext,
    prefix: &str,
    urls: &[&str],
    per_file: bool,
) -> datafusion::error::Result<Vec<String>> {
    let mut groups: Vec<Vec<&str>> = Vec::new();
    if per_file {
        groups.extend(urls.iter().map(|u| vec![*u]));
    } else {
        let mut by_store: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for url in urls {
            by_store.entry(store_of(url)).or_default().push(url);
        }
        groups.extend(by_store.into_values());
    }
    let mut names = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let name = format!("{prefix}_{i}");
        let table = listing_table(group, crate::store::input::event_schema())?;
        ctx.register_table(name.as_str(), Arc::new(table))?;
        names.push(name);
    }
    Ok(names)
}

/// The local day (days since 1970) of `event_time` in the zone of
/// `settings`, as SQL.
fn local_day_sql(settings: &Settings) -> Result<String, String> {
    let tz = settings.tz().map_err(|e| e.to_string())?;
    let regions = settings.region_tz().map_err(|e| e.to_string())?;
    if regions.values().any(|z| *z != tz) {
        return Err(
            "the cluster maps events to days in one time zone; with region_timezones, rebuild and register lake files here (without --engine)"
                .into(),
        );
    }
    Ok(format!(
        "CAST(CAST(to_local_time(arrow_cast(event_time, 'Timestamp(Microsecond, Some(\"{}\"))')) AS DATE) AS INT)",
        tz.name()
    ))
}

/// The day masks of the qualifying events of `urls` (Parquet files of
/// stored events: local paths the executors can read, or `s3://`
/// addresses): by user, module and week since 1970 (weeks from Monday),
/// the 7-bit mask of the local days (bit 0 = Monday) with an event whose
/// action is not excluded.
const ROLLUP_SQL: &str = "
SELECT user_id, module, CAST((day + 3) / 7 AS INT) AS week,
       bit_or(CAST(1 AS INT) << CAST((day + 3) % 7 AS INT)) AS days
FROM (
  SELECT user_id, module, {day} AS day
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
    let day = local_day_sql(settings).map_err(fail)?;
    let mut rollup = Rollup::default();
    if urls.is_empty() {
        return Ok(rollup);
    }
    let ctx = connect(scheduler).await?;
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let tables =
        register_event_files(&ctx, "events", &urls, false).map_err(|e| fail(e.to_string()))?;
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
        .replace("{day}", &day)
        .replace(
            "{events}",
            &union_of(&tables, |_, t| format!("SELECT * FROM {t}")),
        )
        .replace("{qualifies}", &qualifies);
    let df = ctx.sql(&sql).await.map_err(|e| fail(e.to_string()))?;
    let mut stream = df.execute_stream().await.map_err(|e| fail(e.to_string()))?;
    while let Some(batch) = stream.try_next().await.map_err(|e| fail(e.to_string()))? {
        let text = |i: usize| datafusion::arrow::compute::cast(batch.column(i), &DataType::Utf8);
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

/// The rows of `tables` as one relation in SQL: the union of `select`
/// (given each table's position and name) over them.
fn union_of(tables: &[String], select: impl Fn(usize, &str) -> String) -> String {
    let selects: Vec<String> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| select(i, t))
        .collect();
    format!("({})", selects.join(" UNION ALL "))
}

/// Parquet footers [`read_lake`] reads at a time.
const FOOTERS_AT_A_TIME: usize = 32;

/// Files checked per query of [`read_lake`] (one table each).
const LAKE_FILES_PER_QUERY: usize = 200;

/// Per file (`file`, its position): its events, those an import refuses,
/// and the first and last local day of those it takes.
const LAKE_SQL: &str = "
SELECT file, count(*) AS events,
       sum(CASE WHEN accepted THEN 0 ELSE 1 END) AS refused,
       min(CASE WHEN accepted THEN {day} END) AS first_day,
       max(CASE WHEN accepted THEN {day} END) AS last_day
FROM (
  SELECT file, event_time,
         event_accepted(CAST(event_time AS BIGINT), {latest},
                        arrow_cast(user_id, 'Utf8'), arrow_cast(module, 'Utf8'),
                        arrow_cast(action, 'Utf8'), arrow_cast(client, 'Utf8')) AS accepted
  FROM {files}
) e
GROUP BY file";

/// New files of the lake read on the cluster at `scheduler`, as a
/// registration reads them: per file (in order) what it holds, `None` for a
/// file with refused rows (to be read here, for the reasons of each row),
/// and the rollup of the files without. The client reads only the files'
/// Parquet footers (their columns and types).
pub async fn read_lake(
    scheduler: &str,
    files: &[Found],
    settings: &Settings,
) -> Result<(Vec<Option<LakeRead>>, Rollup)> {
    let fail = |message: String| Error::Cluster {
        scheduler: scheduler.to_string(),
        message,
    };
    let day = local_day_sql(settings).map_err(fail)?;
    let latest = settings.event_times(chrono::Utc::now()).latest();
    let mut reads: Vec<Option<LakeRead>> = Vec::with_capacity(files.len());
    let mut readable = Vec::new();
    let footers = SessionContext::new_with_config_rt(SessionConfig::new(), {
        runtime().map_err(|e| fail(e.to_string()))?
    });
    // The footers, a few requests each, many at a time.
    let schemas: Vec<_> = futures::stream::iter(files)
        .map(|found| footer_schema(&footers, &found.url))
        .buffered(FOOTERS_AT_A_TIME)
        .collect()
        .await;
    for (i, (found, schema)) in files.iter().zip(schemas).enumerate() {
        let problem = match schema {
            Ok(schema) => schema_problem(&schema, &found.url),
            Err(e) => Some(InputProblem {
                file: found.url.clone(),
                position: "footer".into(),
                column: "-".into(),
                reason: format!("cannot be read as Parquet: {e}"),
            }),
        };
        reads.push(Some(LakeRead {
            problems: match problem {
                Some(p) => Problems {
                    kept: vec![p],
                    total: 1,
                },
                None => {
                    readable.push(i);
                    Problems::default()
                }
            },
            ..LakeRead::default()
        }));
    }
    let ctx = connect(scheduler).await?;
    for chunk in readable.chunks(LAKE_FILES_PER_QUERY) {
        let urls: Vec<&str> = chunk.iter().map(|&i| files[i].url.as_str()).collect();
        let tables =
            register_event_files(&ctx, "lake", &urls, true).map_err(|e| fail(e.to_string()))?;
        let relation = union_of(&tables, |i, t| format!("SELECT {i} AS file, * FROM {t}"));
        let sql = LAKE_SQL
            .replace("{day}", &day)
            .replace("{latest}", &latest.to_string())
            .replace("{files}", &relation);
        let batches = ctx
            .sql(&sql)
            .await
            .map_err(|e| fail(e.to_string()))?
            .collect()
            .await
            .map_err(|e| fail(e.to_string()))?;
        for table in &tables {
            let _ = ctx.deregister_table(table.as_str());
        }
        for batch in batches {
            let column = |i: usize| {
                datafusion::arrow::compute::cast(batch.column(i), &DataType::Int64)
                    .map_err(|e| fail(e.to_string()))
            };
            let (file, events, refused, first, last) =
                (column(0)?, column(1)?, column(2)?, column(3)?, column(4)?);
            let value = |a: &Arc<dyn Array>, row: usize| {
                let a = a.as_primitive::<Int64Type>();
                (!a.is_null(row)).then(|| a.value(row))
            };
            for row in 0..batch.num_rows() {
                let Some(at) = value(&file, row).and_then(|f| chunk.get(f as usize)) else {
                    continue;
                };
                reads[*at] = if value(&refused, row).unwrap_or(0) > 0 {
                    None
                } else {
                    Some(LakeRead {
                        events: value(&events, row).unwrap_or(0) as u64,
                        days: value(&first, row)
                            .zip(value(&last, row))
                            .map(|(f, l)| (f as i32, l as i32)),
                        ..LakeRead::default()
                    })
                };
            }
        }
    }
    let taken: Vec<String> = readable
        .iter()
        .filter(|&&i| reads[i].as_ref().is_some_and(|r| r.events > 0))
        .map(|&i| files[i].url.clone())
        .collect();
    let rollup = rollup(scheduler, &taken, settings).await?;
    Ok((reads, rollup))
}

/// The columns of a Parquet file of the lake, from its footer only.
async fn footer_schema(ctx: &SessionContext, url: &str) -> datafusion::error::Result<SchemaRef> {
    let url = ListingTableUrl::parse(url)?;
    let store = ctx.runtime_env().object_store(url.object_store())?;
    let meta = store.head(url.prefix()).await?;
    ParquetFormat::default()
        .infer_schema(&ctx.state(), &store, &[meta])
        .await
}

/// A table the cluster reads: Parquet files (addresses in one store) with
/// the schema the local engine has for it.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    pub urls: Vec<String>,
    pub schema: SchemaRef,
}

/// Runs read-only SQL over `tables` on the cluster at `scheduler`, with
/// `params` bound, and brings back its rows.
pub async fn run_sql(
    scheduler: &str,
    tables: &[Table],
    sql: &str,
    params: Vec<(&'static str, ScalarValue)>,
) -> Result<Vec<RecordBatch>> {
    let fail = |e: datafusion::error::DataFusionError| Error::Cluster {
        scheduler: scheduler.to_string(),
        message: e.to_string(),
    };
    let ctx = connect(scheduler).await?;
    for table in tables {
        let urls: Vec<&str> = table.urls.iter().map(String::as_str).collect();
        let listing = listing_table(&urls, without_views(&table.schema)).map_err(fail)?;
        ctx.register_table(table.name, Arc::new(listing))
            .map_err(fail)?;
    }
    let mut plan = super::plan(&ctx, sql).await.map_err(fail)?;
    if !params.is_empty() {
        plan = plan.with_param_values(params).map_err(fail)?;
    }
    let df = ctx.execute_logical_plan(plan).await.map_err(fail)?;
    // Text leaves the executors as plain strings: a view array sent
    // between processes carries every buffer it points into, which for
    // the rows of a join is the whole table's text, batch after batch.
    let columns: Vec<datafusion::prelude::Expr> = df
        .schema()
        .columns()
        .into_iter()
        .zip(df.schema().fields())
        .map(|(column, field)| {
            let expr = datafusion::prelude::Expr::Column(column);
            if field.data_type() == &DataType::Utf8View {
                datafusion::prelude::cast(expr, DataType::Utf8).alias(field.name())
            } else {
                expr
            }
        })
        .collect();
    df.select(columns)
        .map_err(fail)?
        .collect()
        .await
        .map_err(fail)
}

/// `schema` with plain strings in place of string views (see
/// [`run_sql`]): the type the cluster reads the stored tables as.
fn without_views(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<datafusion::arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8View => f.as_ref().clone().with_data_type(DataType::Utf8),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
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
