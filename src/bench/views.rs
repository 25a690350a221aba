//! The views people click through, timed against `uptake serve` on the
//! benchmark's data directory as a fresh process: start-up until the first
//! answer; then requests whose filters and weeks are drawn at random, every
//! address new (so no answer comes from a cache), per kind p50, p95 and
//! max; then one address repeated over 32 connections (cached); and the
//! server's peak memory. It asserts nothing.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::{Rng, SeedableRng};

use super::ingest::{fresh_token, health, memory_kib, serve};
use super::{Error, Result};
use crate::model::Week;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Connections of the cached case.
const CONNECTIONS: usize = 32;
/// Requests per connection in the cached case.
const CACHED_PER_CONNECTION: usize = 40;

/// What the random addresses are drawn from.
pub struct Shape {
    /// (region, department) pairs of the directory.
    pub segments: Vec<(String, String)>,
    pub first: Week,
    pub last: Week,
}

/// One kind of view: its name and an address drawn at random.
struct Kind {
    name: &'static str,
    draw: fn(&Shape, &mut rand_chacha::ChaCha8Rng) -> String,
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A random week, and a random range of 1 to 26 weeks, within the data.
fn week(shape: &Shape, rng: &mut rand_chacha::ChaCha8Rng) -> Week {
    shape
        .first
        .offset(rng.random_range(0..=shape.last.number() - shape.first.number()))
}

fn range(shape: &Shape, rng: &mut rand_chacha::ChaCha8Rng) -> (Week, Week) {
    let to = week(shape, rng);
    let from = to.offset(-rng.random_range(0..26)).max(shape.first);
    (from, to)
}

fn segment<'a>(shape: &'a Shape, rng: &mut rand_chacha::ChaCha8Rng) -> &'a (String, String) {
    &shape.segments[rng.random_range(0..shape.segments.len())]
}

const KINDS: [Kind; 7] = [
    Kind {
        name: "kpi by=team, region and department, week range",
        draw: |shape, rng| {
            let (region, department) = segment(shape, rng);
            let (from, to) = range(shape, rng);
            format!(
                "/api/v1/kpi?by=team&region={}&department={}&from={from}&to={to}",
                encode(region),
                encode(department)
            )
        },
    },
    Kind {
        name: "lagging by=region,department,team, week and region",
        draw: |shape, rng| {
            let (region, _) = segment(shape, rng);
            format!(
                "/api/v1/lagging?by=region,department,team&week={}&region={}",
                week(shape, rng),
                encode(region)
            )
        },
    },
    Kind {
        name: "modules by=region,department, week",
        draw: |shape, rng| {
            format!(
                "/api/v1/modules?by=region,department&week={}",
                week(shape, rng)
            )
        },
    },
    Kind {
        name: "adoption curve by=wave, region or department, week range",
        draw: |shape, rng| {
            let (region, department) = segment(shape, rng);
            let (from, to) = range(shape, rng);
            let filter = if rng.random_bool(0.5) {
                format!("region={}", encode(region))
            } else {
                format!("department={}", encode(department))
            };
            format!("/api/v1/adoption-curve?by=wave&{filter}&from={from}&to={to}")
        },
    },
    Kind {
        name: "dashboard overview, region, week range",
        draw: |shape, rng| {
            let (region, _) = segment(shape, rng);
            let (from, to) = range(shape, rng);
            format!(
                "/dashboards/overview?region={}&from={from}&to={to}",
                encode(region)
            )
        },
    },
    Kind {
        name: "dashboard lagging, region and department, week",
        draw: |shape, rng| {
            let (region, department) = segment(shape, rng);
            let to = week(shape, rng);
            format!(
                "/dashboards/lagging?region={}&department={}&from={to}&to={to}",
                encode(region),
                encode(department)
            )
        },
    },
    Kind {
        name: "dashboard modules, region, week",
        draw: |shape, rng| {
            let (region, _) = segment(shape, rng);
            let to = week(shape, rng);
            format!(
                "/dashboards/modules?region={}&from={to}&to={to}",
                encode(region)
            )
        },
    },
];

/// One GET with the token: its time and status.
async fn get(client: &HttpClient, url: &str, token: &str, path: &str) -> Result<(f64, u16)> {
    let request = axum::http::Request::get(format!("{url}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .map_err(|e| Error::Usage(e.to_string()))?;
    let started = Instant::now();
    let response = client
        .request(request)
        .await
        .map_err(|e| Error::Usage(format!("{path}: {e}")))?;
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| Error::Usage(format!("{path}: {e}")))?;
    Ok((started.elapsed().as_secs_f64(), status))
}

/// p50, p95 and max of `times` in milliseconds.
fn percentiles(times: &mut [f64]) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    (at(0.5) * 1e3, at(0.95) * 1e3, at(1.0) * 1e3)
}

/// Runs the views against a fresh `uptake serve` on `data`: `requests`
/// uncached addresses per kind.
pub async fn run(data: &Path, shape: &Shape, requests: usize) -> Result<()> {
    if shape.segments.is_empty() {
        return Err(Error::Usage("the directory is empty".into()));
    }
    let token = fresh_token(data, "bench views", crate::auth::Role::Admin)?;
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build_http();
    let started = Instant::now();
    let (server, url) = serve(data)?;
    let pid = server.child.id();
    while health(&client, &url).await.is_none() {
        if started.elapsed() > Duration::from_secs(600) {
            return Err(Error::Usage(format!("{url}/health does not answer")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let up = started.elapsed().as_secs_f64();
    let (first, status) = get(&client, &url, &token, "/api/v1/kpi?by=region,department").await?;
    println!(
        "serve, fresh process: /health answers after {up:.2} s; the first kpi by=region,department {:.0} ms later (status {status})",
        first * 1e3
    );

    println!(
        "| view (uncached: every address new) | requests | p50 ms | p95 ms | max ms | not 200 |"
    );
    println!("|---|---|---|---|---|---|");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    let mut used = HashSet::new();
    for kind in &KINDS {
        let mut times = Vec::with_capacity(requests);
        let mut failed = 0;
        for _ in 0..requests {
            let mut path = (kind.draw)(shape, &mut rng);
            for _ in 0..20 {
                if !used.contains(&path) {
                    break;
                }
                path = (kind.draw)(shape, &mut rng);
            }
            used.insert(path.clone());
            let (time, status) = get(&client, &url, &token, &path).await?;
            if status != 200 {
                failed += 1;
            }
            times.push(time);
        }
        let (p50, p95, max) = percentiles(&mut times);
        println!(
            "| {} | {requests} | {p50:.0} | {p95:.0} | {max:.0} | {failed} |",
            kind.name
        );
    }

    let path = "/api/v1/kpi?by=region,department";
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..CACHED_PER_CONNECTION {
                    times.push(get(&client, &url, &token, path).await?.0);
                }
                Ok::<_, Error>(times)
            })
        })
        .collect();
    let mut times = Vec::new();
    for worker in workers {
        times.extend(worker.await.map_err(|e| Error::Usage(e.to_string()))??);
    }
    let (p50, p95, max) = percentiles(&mut times);
    println!(
        "cached {path} at {CONNECTIONS} connections ({} requests): p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms",
        times.len()
    );
    println!(
        "serve peak memory after the views: {:.0} MiB",
        memory_kib(pid, "VmHWM:") as f64 / 1024.0
    );
    let ingest = fresh_token(data, "bench ingest", crate::auth::Role::Ingest)?;
    let store = crate::store::Store::open(data)?;
    let population = super::latency::Population {
        users: store
            .table::<crate::model::Licensee>()?
            .into_iter()
            .map(|l| l.user_id)
            .collect(),
        modules: store
            .table::<crate::model::Module>()?
            .into_iter()
            .map(|m| m.module_id)
            .collect(),
    };
    super::latency::run(&client, &url, &ingest, &population, 3).await?;
    println!(
        "serve peak memory after ingestion: {:.0} MiB",
        memory_kib(pid, "VmHWM:") as f64 / 1024.0
    );
    drop(server);
    Ok(())
}
