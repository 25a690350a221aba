//! The only module that talks to DataFusion: the session, the registration
//! of stored tables, and running a named query of `queries/` with bound
//! `$parameters`.
//!
//! Every query is planned when the engine opens, so a query that does not
//! plan stops start-up with a message naming it. Queries may only read:
//! DDL, DML and statements are refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;

use crate::model::{Licensee, Module, Wave};
use crate::store::Store;
use crate::store::rollup::{keys_schema, user_module_week_schema, user_week_schema};
use crate::store::tables::StoredTable;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("query {name} (queries/{name}.sql) does not plan: {source}")]
    Plan {
        name: &'static str,
        source: datafusion::error::DataFusionError,
    },
    #[error("query {name} failed: {source}")]
    Run {
        name: String,
        source: datafusion::error::DataFusionError,
    },
    #[error("cannot register table {table}: {source}")]
    Register {
        table: &'static str,
        source: datafusion::error::DataFusionError,
    },
    #[error("no query named {0}")]
    Unknown(String),
    #[error("{0}")]
    Catalog(String),
    #[error(transparent)]
    Cluster(#[from] cluster::Error),
    #[error("another request for weeks far from the others is being computed; try again shortly")]
    Busy,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub mod cluster;
pub mod functions;
mod kept;

mod files {
    include!(concat!(env!("OUT_DIR"), "/queries.rs"));
}

/// A query of `queries/`.
#[derive(Debug, Clone)]
pub struct QuerySpec {
    pub name: &'static str,
    pub sql: String,
    /// Results of this query are kept as the in-memory table of this name,
    /// which later queries read.
    pub materialized_as: Option<&'static str>,
}

/// What a query file's header says about it: the lines `-- continues:
/// FILE` (the prelude its text continues, or `nothing`), `-- materialized
/// as: TABLE` and, for a prelude, `-- prelude:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub prelude: bool,
    pub continues: Option<&'static str>,
    pub materialized_as: Option<&'static str>,
}

impl Header {
    /// Reads the header of the file `file`.
    pub fn of(file: &str, text: &'static str) -> std::result::Result<Header, String> {
        let mut header = Header {
            prelude: false,
            continues: None,
            materialized_as: None,
        };
        let mut said = false;
        for line in text.lines().take_while(|l| l.starts_with("--")) {
            let line = line.trim_start_matches('-').trim();
            if line.starts_with("prelude:") {
                header.prelude = true;
                said = true;
            } else if let Some(prelude) = line.strip_prefix("continues:") {
                let prelude = prelude.trim();
                header.continues = prelude.ends_with(".sql").then_some(prelude);
                said = true;
            } else if let Some(table) = line.strip_prefix("materialized as:") {
                header.materialized_as = Some(table.trim());
            }
        }
        if !said {
            return Err(format!(
                "queries/{file} does not say what it is: begin it with `-- continues: PRELUDE.sql` \
                 (or `nothing`) or `-- prelude:`"
            ));
        }
        Ok(header)
    }
}

/// The query catalog, built from the files of `queries/` and their
/// headers ([`Header`]), in planning order: the materialized (cube)
/// queries first, as later ones read their tables.
pub fn catalog() -> Result<Vec<QuerySpec>> {
    let text = |file: &str| {
        files::FILES
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, t)| *t)
    };
    let mut specs = Vec::new();
    for (file, sql) in files::FILES {
        let header = Header::of(file, sql).map_err(Error::Catalog)?;
        if header.prelude {
            continue;
        }
        let prelude = match header.continues {
            Some(prelude) => text(prelude).ok_or_else(|| {
                Error::Catalog(format!(
                    "queries/{file} continues {prelude}, which does not exist"
                ))
            })?,
            None => "",
        };
        specs.push(QuerySpec {
            name: file.strip_suffix(".sql").unwrap_or(file),
            sql: format!("{prelude}{sql}"),
            materialized_as: header.materialized_as,
        });
    }
    specs.sort_by_key(|s| (s.materialized_as.is_none(), s.name));
    Ok(specs)
}

/// Every file of `queries/` with its text.
pub fn query_files() -> &'static [(&'static str, &'static str)] {
    files::FILES
}

/// The weeks and parameters the cube tables were computed for.
#[derive(Debug, Clone, PartialEq)]
struct CubeState {
    from: i64,
    to: i64,
    params: Vec<(&'static str, ScalarValue)>,
}

/// A DataFusion session over one data directory, with its query catalog
/// (checked by planning every query when the engine opens).
pub struct Engine {
    ctx: SessionContext,
    queries: HashMap<&'static str, QuerySpec>,
    /// Held for reading while a query reads the cube tables, so that no
    /// other request replaces them underneath it.
    cube: tokio::sync::RwLock<Option<CubeState>>,
    /// One query at a time over a cube of its own (far-away weeks).
    detached: tokio::sync::Semaphore,
    /// The schema of each cube table, as planned.
    cube_schemas: HashMap<&'static str, SchemaRef>,
    /// Cube weeks kept in the data directory.
    kept: kept::KeptCube,
    /// The weeks the cube tables are made of now.
    remembered: kept::Remembered,
    /// Where the cube is computed: here (`None`), or on a cluster that
    /// reads these tables (see [`Engine::compute_on_cluster`]).
    cluster: Option<(String, Vec<cluster::Table>)>,
}

/// The weeks a query over the cube needs, and how the cube is computed.
#[derive(Debug, Clone)]
pub struct CubeRequest {
    pub from: i64,
    pub to: i64,
    /// Most weeks the cube may cover; beyond it, it covers just the request.
    pub max_weeks: i64,
    /// Weeks per run of the cube queries (their week masks are 64-bit).
    pub chunk_weeks: i64,
    /// Per-licensee parameters (window, minimum active weeks).
    pub params: Vec<(&'static str, ScalarValue)>,
}

impl CubeState {
    fn covers(&self, r: &CubeRequest) -> bool {
        self.params == r.params && self.from <= r.from && r.to <= self.to
    }

    /// Whether one cube could cover both this one's weeks and the
    /// request's.
    fn extends_to(&self, r: &CubeRequest) -> bool {
        self.to.max(r.to) - self.from.min(r.from) < r.max_weeks
    }
}

/// The tables a detached session shares with the engine's.
const STORED_TABLES: [&str; 8] = [
    "waves",
    "directory",
    "modules",
    "user_week",
    "user_module_week",
    "rollup_users",
    "rollup_modules",
    "events",
];

/// How long a request for a far-away range waits for the one before.
const DETACHED_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Engine {
    /// Registers the stored tables and plans every query of [`catalog`].
    pub async fn open(store: &Store) -> Result<Engine> {
        Self::with_queries(store, catalog()?).await
    }

    /// [`Engine::open`] over the store as committed after `before`'s:
    /// cube weeks whose inputs the commit did not change are taken from
    /// `before` instead of being read or computed.
    pub async fn open_after(store: &Store, before: &Engine) -> Result<Engine> {
        let mut engine = Self::open(store).await?;
        engine.remembered = before.remembered.copy();
        Ok(engine)
    }

    /// Registers the stored tables and plans the given queries.
    pub async fn with_queries(store: &Store, queries: Vec<QuerySpec>) -> Result<Engine> {
        let config = SessionConfig::new().with_information_schema(false);
        let ctx = SessionContext::new_with_config(config);
        functions::register(&ctx);
        register_file(&ctx, "waves", &store.table_path("waves"), Wave::schema()).await?;
        register_file(
            &ctx,
            "directory",
            &store.table_path("directory"),
            Licensee::schema(),
        )
        .await?;
        register_file(
            &ctx,
            "modules",
            &store.table_path("modules"),
            Module::schema(),
        )
        .await?;
        let rollup = register_store_data(&ctx, store).await?;

        let mut planned = HashMap::new();
        let mut cube_schemas = HashMap::new();
        let cube_sql: Vec<&str> = queries
            .iter()
            .filter(|q| q.materialized_as.is_some())
            .map(|q| q.sql.as_str())
            .collect();
        let kept = kept::KeptCube::of(store, &cube_sql, rollup);
        for spec in queries {
            let plan = plan(&ctx, &spec.sql).await.map_err(|source| Error::Plan {
                name: spec.name,
                source,
            })?;
            if let Some(table) = spec.materialized_as {
                // Until it is computed, the table is empty; later queries
                // plan against its schema.
                let schema: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
                register_empty(&ctx, table, schema.clone())?;
                cube_schemas.insert(table, schema);
            }
            planned.insert(spec.name, spec);
        }
        Ok(Engine {
            ctx,
            queries: planned,
            cube: tokio::sync::RwLock::new(None),
            detached: tokio::sync::Semaphore::new(1),
            cube_schemas,
            kept,
            remembered: Default::default(),
            cluster: None,
        })
    }

    /// Computes the cube weeks not kept in the data directory on the
    /// Ballista cluster at `scheduler`, which reads the store's tables and
    /// rollup from their files: `address` gives the address of a stored
    /// file as the executors reach it (its path on a shared file system,
    /// its object in a bucket). A store without events (no rollup) has
    /// nothing to hand over and stays here; returns whether it is handed.
    pub async fn compute_on_cluster(
        &mut self,
        store: &Store,
        scheduler: &str,
        address: &dyn Fn(&Path) -> Option<String>,
    ) -> Result<bool> {
        let Some(rollup) = store.rollup_files() else {
            return Ok(false);
        };
        let files: [(&'static str, Vec<PathBuf>); 7] = [
            ("waves", vec![store.table_path("waves")]),
            ("directory", vec![store.table_path("directory")]),
            ("modules", vec![store.table_path("modules")]),
            ("user_week", rollup.user_week),
            ("user_module_week", rollup.user_module_week),
            ("rollup_users", vec![rollup.users]),
            ("rollup_modules", vec![rollup.modules]),
        ];
        let mut tables = Vec::new();
        for (name, paths) in files {
            if paths.is_empty() || paths.iter().any(|p| !p.exists()) {
                return Ok(false);
            }
            let urls = paths
                .iter()
                .map(|p| {
                    address(p).ok_or_else(|| {
                        Error::Catalog(format!(
                            "{}: not a committed file of the data directory, which the cluster could read",
                            p.display()
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let err = |source| Error::Register {
                table: name,
                source,
            };
            let schema = self.ctx.table_provider(name).await.map_err(err)?.schema();
            tables.push(cluster::Table { name, urls, schema });
        }
        self.cluster = Some((scheduler.to_string(), tables));
        Ok(true)
    }

    /// What the cube's rows of `week` are computed with `params` from (the
    /// name of the kept week, `kept::KeptWeeks`): results derived from
    /// them alone can be reused while it stays the same.
    pub fn cube_week(&self, params: &[(&'static str, ScalarValue)], week: i64) -> u128 {
        self.kept.weeks(params).inputs(week)
    }

    /// The names of the planned queries.
    pub fn query_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.queries.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// Runs a named query that reads the cube tables, after making them
    /// cover the requested weeks. A week's figures never depend on the range
    /// computed, so a cube that covers the weeks is reused, and a new one
    /// covers the union of the old and the new range (up to `max_weeks`).
    ///
    /// A range so far from the cube's that the union would be longer is
    /// computed in a session of its own, one such at a time ([`Error::Busy`]
    /// when another waited too long), and the cube stays: requests that
    /// alternate between far-apart ranges cannot make every other request
    /// wait for a new cube, nor hold more than one extra in memory.
    pub async fn run_over_cube(
        &self,
        name: &str,
        params: Vec<(&'static str, ScalarValue)>,
        cube: &CubeRequest,
    ) -> Result<Vec<RecordBatch>> {
        {
            let state = self.cube.read().await;
            match state.as_ref() {
                Some(c) if c.covers(cube) => return self.run(name, params).await,
                Some(c) if c.params == cube.params && !c.extends_to(cube) => {
                    drop(state);
                    return self.run_detached(name, params, cube).await;
                }
                _ => {}
            }
        }
        let mut state = self.cube.write().await;
        if !state.as_ref().is_some_and(|c| c.covers(cube)) {
            let (from, to) = match state.as_ref() {
                Some(c) if c.params == cube.params && c.extends_to(cube) => {
                    (c.from.min(cube.from), c.to.max(cube.to))
                }
                _ => (cube.from, cube.to),
            };
            *state = Some(self.compute_cube(&self.ctx, from, to, cube).await?);
        }
        let _reading = state.downgrade();
        self.run(name, params).await
    }

    /// Runs a query over a cube of its own weeks, in a session that shares
    /// every stored table with the engine's.
    async fn run_detached(
        &self,
        name: &str,
        params: Vec<(&'static str, ScalarValue)>,
        cube: &CubeRequest,
    ) -> Result<Vec<RecordBatch>> {
        let Ok(Ok(_turn)) = tokio::time::timeout(DETACHED_WAIT, self.detached.acquire()).await
        else {
            return Err(Error::Busy);
        };
        let ctx =
            SessionContext::new_with_config_rt(self.ctx.copied_config(), self.ctx.runtime_env());
        functions::register(&ctx);
        for table in STORED_TABLES {
            let err = |source| Error::Register { table, source };
            let provider = self.ctx.table_provider(table).await.map_err(err)?;
            ctx.register_table(table, provider).map_err(err)?;
        }
        self.compute_cube(&ctx, cube.from, cube.to, cube).await?;
        collect(name, self.dataframe_in(&ctx, name, params).await?).await
    }

    /// Computes the cube tables for the weeks `from..=to` into `ctx`:
    /// weeks the engine's cube holds already are taken, weeks kept in the
    /// data directory are read, the others computed in runs of at most
    /// `chunk_weeks` and kept.
    async fn compute_cube(
        &self,
        ctx: &SessionContext,
        from: i64,
        to: i64,
        r: &CubeRequest,
    ) -> Result<CubeState> {
        let chunk_weeks = r.chunk_weeks.max(1);
        let kept = self.kept.weeks(&r.params);
        // The engine's own cube remembers its weeks; a detached one's
        // weeks are only for its one query.
        let own = std::ptr::eq(ctx, &self.ctx);
        let mut now = std::collections::HashMap::new();
        for spec in self.queries.values() {
            let Some(table) = spec.materialized_as else {
                continue;
            };
            let schema = self.cube_schemas[table].clone();
            let mut batches = Vec::new();
            let mut elsewhere = Vec::new();
            let mut remembered = 0;
            for week in from..=to {
                let name = kept.name(table, week);
                match self.remembered.get(&name) {
                    Some(rows) => {
                        remembered += 1;
                        batches.extend(rows.iter().cloned());
                        now.insert(name, rows);
                    }
                    None => elsewhere.push(week),
                }
            }
            let (read, missing) = read_kept(&kept, table, elsewhere, &schema).await;
            let read_weeks = read.len();
            for (week, rows) in read {
                batches.extend(rows.iter().cloned());
                now.insert(kept.name(table, week), rows);
            }
            tracing::debug!(
                table,
                remembered,
                kept = read_weeks,
                computed = missing.len(),
                "cube weeks"
            );
            for (first, last) in runs(&missing, chunk_weeks) {
                let mut bound = r.params.clone();
                bound.push(("from_week", ScalarValue::Int64(Some(first))));
                bound.push(("to_week", ScalarValue::Int64(Some(last))));
                let rows = match &self.cluster {
                    None => {
                        collect(spec.name, self.dataframe_in(ctx, spec.name, bound).await?).await?
                    }
                    Some((scheduler, tables)) => {
                        cluster::run_sql(scheduler, tables, &spec.sql, bound).await?
                    }
                };
                let computed = rows
                    .into_iter()
                    .map(|b| as_schema(&b, &schema))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Error::Run {
                        name: spec.name.to_string(),
                        source: e.into(),
                    })?;
                let by_week = match kept::split_by_week(&computed, first, last) {
                    Ok(by_week) => by_week,
                    Err(e) => {
                        // Rows whose weeks cannot be told apart are
                        // neither kept nor remembered.
                        tracing::debug!(table, error = %e, "cannot keep the cube's weeks");
                        batches.extend(computed);
                        continue;
                    }
                };
                for (week, rows) in (first..).zip(&by_week) {
                    batches.extend(rows.iter().cloned());
                    now.insert(kept.name(table, week), rows.clone());
                }
                let (keeping, sink) = (kept.clone(), schema.clone());
                // Writing takes a while: off the request threads, and
                // nobody waits for it.
                tokio::task::spawn_blocking(move || {
                    keeping.write(table, first, &sink, &by_week);
                });
            }
            ctx.deregister_table(table)
                .map_err(|source| Error::Register { table, source })?;
            register_batches(ctx, table, schema, batches)?;
        }
        if own {
            self.remembered.replace(now);
        }
        tokio::task::spawn_blocking(move || kept.prune());
        Ok(CubeState {
            from,
            to,
            params: r.params.clone(),
        })
    }

    /// Runs a named query with bound parameters.
    pub async fn run(
        &self,
        name: &str,
        params: Vec<(&'static str, ScalarValue)>,
    ) -> Result<Vec<RecordBatch>> {
        collect(name, self.dataframe(name, params).await?).await
    }

    /// Plans a named query against the current tables and binds parameters.
    /// Planning again (a few milliseconds) lets a query see the cube tables
    /// as they are now.
    async fn dataframe(
        &self,
        name: &str,
        params: Vec<(&'static str, ScalarValue)>,
    ) -> Result<DataFrame> {
        self.dataframe_in(&self.ctx, name, params).await
    }

    /// [`Engine::dataframe`] in a given session.
    async fn dataframe_in(
        &self,
        ctx: &SessionContext,
        name: &str,
        params: Vec<(&'static str, ScalarValue)>,
    ) -> Result<DataFrame> {
        let spec = self
            .queries
            .get(name)
            .ok_or_else(|| Error::Unknown(name.to_string()))?;
        let run = |source| Error::Run {
            name: name.to_string(),
            source,
        };
        let mut plan = plan(ctx, &spec.sql).await.map_err(run)?;
        if !params.is_empty() {
            plan = plan.with_param_values(params).map_err(run)?;
        }
        ctx.execute_logical_plan(plan).await.map_err(run)
    }
}

/// Reads the kept `weeks` (ascending) of a cube table, on as many
/// threads as cores; returns the rows of the weeks kept and the weeks not.
async fn read_kept(
    kept: &kept::KeptWeeks,
    table: &'static str,
    weeks: Vec<i64>,
    schema: &SchemaRef,
) -> (Vec<(i64, Vec<RecordBatch>)>, Vec<i64>) {
    if weeks.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let (kept, schema) = (kept.clone(), schema.clone());
    let asked = weeks.clone();
    let read = tokio::task::spawn_blocking(move || {
        crate::parallel::map(&weeks, crate::parallel::cores(), |w| {
            (*w, kept.read(table, *w, &schema))
        })
    })
    .await
    .unwrap_or_default();
    let mut found = Vec::new();
    let mut got = std::collections::HashSet::new();
    for (week, rows) in read {
        if let Some(rows) = rows {
            got.insert(week);
            found.push((week, rows));
        }
    }
    let missing = asked.into_iter().filter(|w| !got.contains(w)).collect();
    (found, missing)
}

/// The rows of `batch` with `schema`'s names and types (a cluster may
/// bring back text of another Arrow type).
fn as_schema(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| datafusion::arrow::compute::cast(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// Sorted weeks as runs of consecutive weeks, each at most `most` long.
fn runs(weeks: &[i64], most: i64) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for &w in weeks {
        match runs.last_mut() {
            Some((first, last)) if *last + 1 == w && w - *first < most => *last = w,
            _ => runs.push((w, w)),
        }
    }
    runs
}

/// Registers what event imports and live ingestion change: the rollup
/// tables and the raw events; returns the rollup's content week by week.
async fn register_store_data(ctx: &SessionContext, store: &Store) -> Result<kept::RollupWeeks> {
    let rollup = store.rollup_files();
    let tables: [(&'static str, Vec<PathBuf>, SchemaRef); 4] = [
        (
            "user_week",
            rollup
                .as_ref()
                .map(|f| f.user_week.clone())
                .unwrap_or_default(),
            user_week_schema(),
        ),
        (
            "user_module_week",
            rollup
                .as_ref()
                .map(|f| f.user_module_week.clone())
                .unwrap_or_default(),
            user_module_week_schema(),
        ),
        (
            "rollup_users",
            rollup
                .as_ref()
                .map(|f| vec![f.users.clone()])
                .unwrap_or_default(),
            keys_schema("user_key", "user_id"),
        ),
        (
            "rollup_modules",
            rollup
                .as_ref()
                .map(|f| vec![f.modules.clone()])
                .unwrap_or_default(),
            keys_schema("module_key", "module"),
        ),
    ];
    let mut read: HashMap<&'static str, Vec<RecordBatch>> = HashMap::new();
    for (table, paths, schema) in tables {
        let batches = read_files(table, paths).await?;
        let schema = batches.first().map_or(schema, |b| b.schema());
        register_batches(ctx, table, schema, batches.clone())?;
        read.insert(table, batches);
    }
    register_events(ctx, store)?;
    let rollup = tokio::task::spawn_blocking(move || {
        kept::RollupWeeks::of(
            &read["user_module_week"],
            &read["rollup_users"],
            &read["rollup_modules"],
        )
    })
    .await
    .unwrap_or_default();
    Ok(rollup)
}

/// The rows of stored Parquet files (the rollup's, week by week), read on
/// every core, in the order given.
async fn read_files(table: &'static str, paths: Vec<PathBuf>) -> Result<Vec<RecordBatch>> {
    let read = tokio::task::spawn_blocking(move || {
        crate::parallel::map(&paths, crate::parallel::cores(), |p| {
            crate::store::files::read_parquet(p).map(|(_, b)| b)
        })
    })
    .await
    .map_err(|e| Error::Catalog(format!("reading {table}: {e}")))?;
    let mut batches = Vec::new();
    for file in read {
        batches.extend(file.map_err(|e| Error::Catalog(format!("reading {table}: {e}")))?);
    }
    Ok(batches)
}

/// Runs a query to its end. With `UPTAKE_EXPLAIN_ANALYZE` set, the plan
/// with per-operator times goes to stderr first (diagnostics for slow
/// queries; the query then runs twice).
async fn collect(name: &str, df: DataFrame) -> Result<Vec<RecordBatch>> {
    let run = |source| Error::Run {
        name: name.to_string(),
        source,
    };
    if std::env::var_os("UPTAKE_EXPLAIN_ANALYZE").is_some() {
        let explained = df.clone().explain(false, true).map_err(run)?;
        let batches = explained.collect().await.map_err(run)?;
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .map(|t| t.to_string())
            .unwrap_or_default();
        eprintln!("query {name}:\n{text}");
    }
    df.collect().await.map_err(run)
}

/// Plans SQL that may only read: DDL, DML and statements are refused.
async fn plan(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<LogicalPlan> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let plan = ctx.state().create_logical_plan(sql).await?;
    options.verify_plan(&plan)?;
    Ok(plan)
}

/// Registers a stored Parquet file as an in-memory table: the tables and
/// the rollup are small (tens of MB for 100M events), and holding them in
/// memory spares every query their decoding. Batches are spread over the
/// session's partitions so operators run in parallel.
async fn register_file(
    ctx: &SessionContext,
    table: &'static str,
    path: &Path,
    schema: SchemaRef,
) -> Result<()> {
    let batches = read_file(ctx, table, path).await?;
    let schema = batches.first().map_or(schema, |b| b.schema());
    register_batches(ctx, table, schema, batches)
}

/// The rows of a stored Parquet file (none when it does not exist).
async fn read_file(
    ctx: &SessionContext,
    table: &'static str,
    path: &Path,
) -> Result<Vec<RecordBatch>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let err = |source| Error::Register { table, source };
    ctx.read_parquet(
        path.to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await
    .map_err(err)?
    .collect()
    .await
    .map_err(err)
}

/// Registers batches as an in-memory table, spread over the session's
/// partitions so operators run in parallel.
fn register_batches(
    ctx: &SessionContext,
    table: &'static str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<()> {
    let err = |source| Error::Register { table, source };
    let partitions = ctx.state().config().target_partitions().max(1);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
    for (i, batch) in batches.into_iter().enumerate() {
        parts[i % partitions].push(batch);
    }
    let mem = MemTable::try_new(schema, parts).map_err(err)?;
    ctx.register_table(table, Arc::new(mem))
        .map(|_| ())
        .map_err(err)
}

fn register_empty(ctx: &SessionContext, table: &'static str, schema: SchemaRef) -> Result<()> {
    register_batches(ctx, table, schema, Vec::new())
}

/// Registers the raw events named by the manifest as table `events`: the
/// stored files and those read in place, local or in object storage
/// (a listing table per store, in one view).
fn register_events(ctx: &SessionContext, store: &Store) -> Result<()> {
    let table = "events";
    let err = |source| Error::Register { table, source };
    let stored = store
        .event_file_paths()
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned());
    let in_place = store
        .manifest()
        .in_place
        .iter()
        .map(|f| f.found.url.clone());
    let mut by_store: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for url in stored.chain(in_place) {
        by_store
            .entry(cluster::store_of(&url).to_string())
            .or_default()
            .push(url);
    }
    let mut listings = Vec::new();
    for (bucket, urls) in by_store {
        if !bucket.is_empty() {
            let address = format!("s3://{bucket}");
            let objects = crate::store::remote::object_store(&bucket, &address)
                .map_err(|e| Error::Catalog(e.to_string()))?;
            let address = datafusion::execution::object_store::ObjectStoreUrl::parse(&address)
                .map_err(err)?;
            ctx.register_object_store(address.as_ref(), objects);
        }
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        let listing = cluster::listing_table(&urls, crate::store::input::event_schema());
        listings.push(Arc::new(listing.map_err(err)?));
    }
    let mut listings = listings.into_iter();
    let Some(first) = listings.next() else {
        return register_empty(ctx, table, crate::store::input::event_schema());
    };
    let mut events = ctx.read_table(first).map_err(err)?;
    for listing in listings {
        events = events
            .union(ctx.read_table(listing).map_err(err)?)
            .map_err(err)?;
    }
    ctx.register_table(table, events.into_view())
        .map(|_| ())
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_every_file_with_the_cubes_first() {
        let catalog = catalog().expect("catalog");
        let names: Vec<&str> = catalog.iter().map(|q| q.name).collect();
        let files = query_files().len();
        assert_eq!(names.len(), files - 2, "every file but the two preludes");
        assert_eq!(&names[..2], ["module_cube", "segment_cube"]);
        let kpi = catalog.iter().find(|q| q.name == "kpi").expect("kpi");
        assert!(
            kpi.sql.starts_with(
                files::FILES
                    .iter()
                    .find(|f| f.0 == "segment_prelude.sql")
                    .expect("prelude")
                    .1
            )
        );
        assert_eq!(
            Header::of("x.sql", "SELECT 1").expect_err("no header"),
            "queries/x.sql does not say what it is: begin it with `-- continues: PRELUDE.sql` \
             (or `nothing`) or `-- prelude:`"
        );
        assert_eq!(
            Header::of(
                "y.sql",
                "-- continues: nothing (whole)\n-- materialized as: t\nSELECT 1"
            ),
            Ok(Header {
                prelude: false,
                continues: None,
                materialized_as: Some("t"),
            })
        );
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    #[test]
    fn every_query_plans_on_an_empty_store() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        runtime().block_on(async {
            let engine = Engine::open(&store).await.expect("plans");
            let stats = engine.run("stats", Vec::new()).await.expect("stats");
            assert_eq!(stats.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
        });
    }

    #[test]
    fn a_query_that_does_not_plan_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        runtime().block_on(async {
            for sql in [
                "SELECT no_such_column FROM directory",
                "DROP TABLE directory",
                "INSERT INTO waves VALUES ('a', 'b', DATE '2026-01-01')",
            ] {
                let spec = QuerySpec {
                    name: "broken",
                    sql: sql.to_string(),
                    materialized_as: None,
                };
                let err = Engine::with_queries(&store, vec![spec])
                    .await
                    .err()
                    .expect("refused");
                assert!(
                    err.to_string()
                        .starts_with("query broken (queries/broken.sql) does not plan"),
                    "{err}"
                );
            }
        });
    }
}
