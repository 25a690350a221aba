//! The only module that talks to DataFusion: the session, the registration
//! of stored tables, and running a named query of `queries/` with bound
//! `$parameters`.
//!
//! Every query is planned when the engine opens, so a query that does not
//! plan stops start-up with a message naming it. Queries may only read:
//! DDL, DML and statements are refused.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

const PRELUDE: &str = include_str!("../queries/prelude.sql");

/// The query catalog: name and SQL of every query in `queries/`. KPI queries
/// continue the common table expressions of `queries/prelude.sql`.
pub fn catalog() -> Vec<(&'static str, String)> {
    vec![
        (
            "kpi",
            format!("{PRELUDE}{}", include_str!("../queries/kpi.sql")),
        ),
        (
            "modules",
            format!("{PRELUDE}{}", include_str!("../queries/modules.sql")),
        ),
        ("stats", include_str!("../queries/stats.sql").to_string()),
    ]
}

/// A DataFusion session over one data directory, with its planned queries.
pub struct Engine {
    ctx: SessionContext,
    plans: HashMap<&'static str, LogicalPlan>,
}

impl Engine {
    /// Registers the stored tables and plans every query of [`catalog`].
    pub async fn open(store: &Store) -> Result<Engine> {
        Self::with_queries(store, catalog()).await
    }

    /// Registers the stored tables and plans the given queries.
    pub async fn with_queries(
        store: &Store,
        queries: Vec<(&'static str, String)>,
    ) -> Result<Engine> {
        let config = SessionConfig::new().with_information_schema(false);
        let ctx = SessionContext::new_with_config(config);
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
        let rollup = store.rollup_files();
        let tables: [(&'static str, Option<&Path>, SchemaRef); 4] = [
            (
                "user_week",
                rollup.as_ref().map(|f| f.user_week.as_path()),
                user_week_schema(),
            ),
            (
                "user_module_week",
                rollup.as_ref().map(|f| f.user_module_week.as_path()),
                user_module_week_schema(),
            ),
            (
                "rollup_users",
                rollup.as_ref().map(|f| f.users.as_path()),
                keys_schema("user_key", "user_id"),
            ),
            (
                "rollup_modules",
                rollup.as_ref().map(|f| f.modules.as_path()),
                keys_schema("module_key", "module"),
            ),
        ];
        for (table, path, schema) in tables {
            match path {
                Some(path) => register_file(&ctx, table, path, schema).await?,
                None => register_empty(&ctx, table, schema)?,
            }
        }
        register_events(&ctx, store)?;

        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let mut plans = HashMap::new();
        for (name, sql) in queries {
            let plan = ctx
                .state()
                .create_logical_plan(&sql)
                .await
                .and_then(|plan| options.verify_plan(&plan).map(|_| plan))
                .map_err(|source| Error::Plan { name, source })?;
            plans.insert(name, plan);
        }
        Ok(Engine { ctx, plans })
    }

    /// Runs a named query with bound parameters.
    pub async fn run(
        &self,
        name: &str,
        params: Vec<(&str, ScalarValue)>,
    ) -> Result<Vec<RecordBatch>> {
        let plan = self
            .plans
            .get(name)
            .ok_or_else(|| Error::Unknown(name.to_string()))?
            .clone();
        let run = |source| Error::Run {
            name: name.to_string(),
            source,
        };
        let plan = if params.is_empty() {
            plan
        } else {
            plan.with_param_values(params).map_err(run)?
        };
        let df = self.ctx.execute_logical_plan(plan).await.map_err(run)?;
        if std::env::var_os("UPTAKE_EXPLAIN_ANALYZE").is_some() {
            // Diagnostics for slow queries: the plan with per-operator times.
            let explained = df.clone().explain(false, true).map_err(run)?;
            let batches = explained.collect().await.map_err(run)?;
            let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .map(|t| t.to_string())
                .unwrap_or_default();
            eprintln!("{text}");
        }
        df.collect().await.map_err(run)
    }
}

async fn register_file(
    ctx: &SessionContext,
    table: &'static str,
    path: &Path,
    schema: SchemaRef,
) -> Result<()> {
    if !path.exists() {
        return register_empty(ctx, table, schema);
    }
    ctx.register_parquet(
        table,
        path.to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await
    .map_err(|source| Error::Register { table, source })
}

fn register_empty(ctx: &SessionContext, table: &'static str, schema: SchemaRef) -> Result<()> {
    let mem = MemTable::try_new(schema, vec![vec![]])
        .map_err(|source| Error::Register { table, source })?;
    ctx.register_table(table, Arc::new(mem))
        .map(|_| ())
        .map_err(|source| Error::Register { table, source })
}

/// Registers the raw events named by the manifest as table `events`.
fn register_events(ctx: &SessionContext, store: &Store) -> Result<()> {
    let table = "events";
    let paths = store.event_file_paths();
    if paths.is_empty() {
        return register_empty(ctx, table, crate::store::input::event_schema());
    }
    let err = |source| Error::Register { table, source };
    let urls = paths
        .iter()
        .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
        .collect::<datafusion::error::Result<Vec<_>>>()
        .map_err(err)?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(crate::store::input::event_schema());
    let listing = ListingTable::try_new(config).map_err(err)?;
    ctx.register_table(table, Arc::new(listing))
        .map(|_| ())
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                let err = Engine::with_queries(&store, vec![("broken", sql.to_string())])
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
