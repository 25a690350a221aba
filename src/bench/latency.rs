//! How long posted events take to show in the figures of a running
//! server: idle, and while other clients post 200,000 events a second.
//!
//! A probe posts a batch of events of licensees of the directory, dated a
//! few minutes ago (so the current week's figures change, and that week's
//! protection is decided again, as with live ingestion), and times from the
//! answer until `/health` says the figures hold at least every event
//! acknowledged by then (`events_in_figures`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use rand::{Rng, SeedableRng};

use super::ingest::health;
use super::{Error, Result};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Events per probe.
const PROBE_EVENTS: usize = 1_000;
/// The load: events a second, in batches of this many, over connections.
const LOAD_RATE: u64 = 200_000;
const LOAD_BATCH: usize = 5_000;
const LOAD_CONNECTIONS: usize = 8;
/// Most time a probe waits for its events to show.
const PROBE_WAIT: Duration = Duration::from_secs(600);

/// Users and modules events are made of.
pub struct Population {
    pub users: Vec<String>,
    pub modules: Vec<String>,
}

fn body(population: &Population, events: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Bytes {
    let at = (chrono::Utc::now() - chrono::Duration::minutes(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut text = String::with_capacity(events * 110);
    for _ in 0..events {
        let user = &population.users[rng.random_range(0..population.users.len())];
        let module = &population.modules[rng.random_range(0..population.modules.len())];
        text.push_str(&format!(
            "{{\"event_time\":\"{at}\",\"user_id\":{},\"module\":{},\"action\":\"view\"}}\n",
            serde_json::Value::from(user.as_str()),
            serde_json::Value::from(module.as_str()),
        ));
    }
    Bytes::from(text)
}

/// Posts a batch; the events acknowledged (0 when refused).
async fn post(client: &HttpClient, url: &str, token: &str, body: Bytes) -> Result<u64> {
    let request = axum::http::Request::post(format!("{url}/api/v1/events"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-ndjson")
        .body(Full::new(body))
        .map_err(|e| Error::Usage(e.to_string()))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| Error::Usage(format!("POST /api/v1/events: {e}")))?;
    let ok = response.status().is_success();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| Error::Usage(e.to_string()))?
        .to_bytes();
    let accepted = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["accepted"].as_u64());
    Ok(if ok { accepted.unwrap_or(0) } else { 0 })
}

async fn events_in_figures(client: &HttpClient, url: &str) -> Option<u64> {
    health(client, url).await?["events_in_figures"].as_u64()
}

/// Where probes go, and what they count against: the events the figures
/// held before, and every event acknowledged since (the other clients'
/// too).
struct Probes<'a> {
    client: &'a HttpClient,
    url: &'a str,
    token: &'a str,
    population: &'a Population,
    base: u64,
    acknowledged: Arc<AtomicU64>,
}

impl Probes<'_> {
    /// Posts a probe and waits until the figures hold every event
    /// acknowledged by its answer; the seconds from the answer, or `None`
    /// when it did not show.
    async fn one(&self, rng: &mut rand_chacha::ChaCha8Rng) -> Result<Option<f64>> {
        let batch = body(self.population, PROBE_EVENTS, rng);
        let accepted = post(self.client, self.url, self.token, batch).await?;
        let answered = Instant::now();
        if accepted == 0 {
            return Ok(None);
        }
        let expected =
            self.base + self.acknowledged.fetch_add(accepted, Ordering::SeqCst) + accepted;
        while answered.elapsed() < PROBE_WAIT {
            if events_in_figures(self.client, self.url)
                .await
                .is_some_and(|shown| shown >= expected)
            {
                return Ok(Some(answered.elapsed().as_secs_f64()));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(None)
    }

    /// `n` probes, one after another.
    async fn run(&self, n: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Result<Vec<Option<f64>>> {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            times.push(self.one(rng).await?);
        }
        Ok(times)
    }
}

fn summary(times: &[Option<f64>]) -> String {
    let mut shown: Vec<f64> = times.iter().flatten().copied().collect();
    shown.sort_by(f64::total_cmp);
    let missing = times.len() - shown.len();
    let Some(max) = shown.last() else {
        return format!(
            "none of {} probes showed within {} s",
            times.len(),
            PROBE_WAIT.as_secs()
        );
    };
    format!(
        "median {:.2} s, max {max:.2} s of {} probes{}",
        shown[shown.len() / 2],
        times.len(),
        if missing > 0 {
            format!(" ({missing} not shown within {} s)", PROBE_WAIT.as_secs())
        } else {
            String::new()
        }
    )
}

/// Measures and prints the latency idle (`probes` probes) and under load.
pub async fn run(
    client: &HttpClient,
    url: &str,
    token: &str,
    population: &Population,
    probes: usize,
) -> Result<()> {
    if population.users.is_empty() || population.modules.is_empty() {
        return Err(Error::Usage(
            "no licensees or modules to post events of".into(),
        ));
    }
    // Other events each run: the same users, modules and day as an
    // earlier run's (`--reuse`) would change no figure and measure nothing.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(2, |d| d.as_nanos() as u64);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let base = events_in_figures(client, url)
        .await
        .ok_or_else(|| Error::Usage(format!("{url}/health has no events_in_figures")))?;
    let acknowledged = Arc::new(AtomicU64::new(0));
    let probes_of = Probes {
        client,
        url,
        token,
        population,
        base,
        acknowledged: acknowledged.clone(),
    };
    let idle = probes_of.run(probes, &mut rng).await?;
    println!(
        "ingested events in the figures, idle ({PROBE_EVENTS} events of the current week): {}",
        summary(&idle)
    );

    // The load: each connection posts its share of the rate, paced.
    let stop = Arc::new(AtomicBool::new(false));
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..8)
            .map(|_| body(population, LOAD_BATCH, &mut rng))
            .collect(),
    );
    let every =
        Duration::from_secs_f64(LOAD_BATCH as f64 * LOAD_CONNECTIONS as f64 / LOAD_RATE as f64);
    let started = Instant::now();
    let before = acknowledged.load(Ordering::SeqCst);
    let workers: Vec<_> = (0..LOAD_CONNECTIONS)
        .map(|w| {
            let (client, url, token) = (client.clone(), url.to_string(), token.to_string());
            let (stop, bodies, acknowledged) = (stop.clone(), bodies.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let mut next = Instant::now();
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let body = bodies[i % bodies.len()].clone();
                    i += 1;
                    if let Ok(n) = post(&client, &url, &token, body).await {
                        acknowledged.fetch_add(n, Ordering::SeqCst);
                    }
                    next += every;
                    tokio::time::sleep_until(next.into()).await;
                }
            })
        })
        .collect();
    // Let the load settle before probing.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let loaded = probes_of.run(probes, &mut rng).await?;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let rate =
        (acknowledged.load(Ordering::SeqCst) - before) as f64 / started.elapsed().as_secs_f64();
    println!(
        "ingested events in the figures, under load ({rate:.0} events/s acknowledged, {LOAD_RATE} asked): {}",
        summary(&loaded)
    );
    Ok(())
}
