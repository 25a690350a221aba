//! The sample app: `sample_data/` imported once per test run into a
//! temporary directory, served by [`uptake::app::App::build`] (as `uptake
//! serve` builds it) on a free loopback port for as long as the tests run,
//! with an admin token ([`admin_token`]) and a user `admin`
//! ([`ADMIN_PASSWORD`]).

use std::sync::{Arc, OnceLock};

use uptake::config::Settings;
use uptake::server::AppState;
use uptake::store::Store;

use super::http::{Reply, request};
use super::{import_dir, repo};

/// The password of the user `admin` of the sample app.
pub const ADMIN_PASSWORD: &str = "sample admin password";

struct Sample {
    _dir: tempfile::TempDir,
    state: Arc<AppState>,
    port: u16,
    admin_token: String,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let (ready, built) = std::sync::mpsc::channel();
        // Its own thread and runtime, which serve until the tests end:
        // tests call this from inside their own runtimes.
        std::thread::spawn(move || {
            let tmp = tempfile::tempdir().expect("tmp");
            let data = tmp.path().join("data");
            let settings: Settings = super::sample_settings();
            let mut store = Store::open(&data).expect("store");
            import_dir(&mut store, &repo().join("sample_data"), &settings);
            drop(store);
            let (admin_token, _) = uptake::auth::tokens::create(
                &data,
                uptake::auth::tokens::NewToken {
                    role: uptake::auth::Role::Admin,
                    scope: Default::default(),
                    name: Some("tests-admin"),
                    lifetime: None,
                },
            )
            .expect("admin token");
            uptake::auth::users::add(
                &data,
                "admin",
                None,
                uptake::auth::Role::Admin,
                Default::default(),
                None,
                Some(ADMIN_PASSWORD),
            )
            .expect("admin user");
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let options = uptake::app::Options {
                    data,
                    listen: ([127, 0, 0, 1], 0).into(),
                    dashboards: Some(repo().join("dashboards")),
                    reports: Some(repo().join("reports")),
                    alerts: None,
                    remote: None,
                };
                let app = uptake::app::App::build(settings, options)
                    .await
                    .expect("sample app");
                let sample = Sample {
                    _dir: tmp,
                    state: app.state(),
                    port: app.address().port(),
                    admin_token,
                };
                ready.send(sample).expect("hand over");
                app.run_until_stopped(std::future::pending())
                    .await
                    .expect("serve");
            });
        });
        built.recv().expect("sample app")
    })
}

/// What the sample app's requests read.
pub fn sample_state() -> Arc<AppState> {
    sample().state.clone()
}

/// The loopback port of the sample app.
pub fn sample_port() -> u16 {
    sample().port
}

/// An admin token of the sample app.
pub fn admin_token() -> String {
    sample().admin_token.clone()
}

/// A token of the sample app with this role and scope, valid for an hour.
pub fn sample_token(role: uptake::auth::Role, regions: &[&str], departments: &[&str]) -> String {
    let scope = uptake::kpi::Scope {
        regions: regions.iter().map(|s| s.to_string()).collect(),
        departments: departments.iter().map(|s| s.to_string()).collect(),
    };
    uptake::auth::tokens::create(
        &sample_state().data_dir,
        uptake::auth::tokens::NewToken {
            role,
            scope,
            name: None,
            lifetime: Some(chrono::Duration::hours(1)),
        },
    )
    .expect("token")
    .0
}

/// A request to the sample app, from async tests (the client blocks, so
/// it runs beside the test's runtime).
pub async fn call(method: &str, uri: &str, headers: &[(&str, String)], body: &str) -> Reply {
    let (method, path, body) = (method.to_string(), uri.to_string(), body.to_string());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let port = sample_port();
    tokio::task::spawn_blocking(move || {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(port, &method, &path, &headers, body.as_bytes())
    })
    .await
    .expect("request task")
    .unwrap_or_else(|e| panic!("{uri}: {e}"))
}

/// GET from the sample app with a bearer token.
pub async fn get_as(token: &str, uri: &str) -> Reply {
    call(
        "GET",
        uri,
        &[("Authorization", format!("Bearer {token}"))],
        "",
    )
    .await
}
