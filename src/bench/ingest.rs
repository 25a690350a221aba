//! `uptake bench-ingest`: a load client for `POST /api/v1/events`. It
//! starts `uptake serve` on a fresh data directory (or uses `--url`), sends
//! pre-built batches over keep-alive connections on loopback for a while,
//! and prints events per second acknowledged (durable), latencies, the
//! answers by status, how long the store took to catch up, and the
//! server's peak memory. It asserts nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::{Rng, SeedableRng};

use super::{Error, Result};

#[derive(Debug, Clone, clap::Args)]
pub struct IngestBenchArgs {
    /// A running server's base URL (then --token is needed); default: start
    /// `uptake serve` on a fresh data directory under --dir.
    #[arg(long)]
    pub url: Option<String>,
    /// Ingest token for --url.
    #[arg(long, env = "UPTAKE_TOKEN")]
    pub token: Option<String>,
    /// Working directory of the started server.
    #[arg(long, default_value = "target/bench-ingest")]
    pub dir: PathBuf,
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Events per batch (request).
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// Send the batches gzip-compressed.
    #[arg(long)]
    pub gzip: bool,
    /// Distinct users the events come from.
    #[arg(long, default_value_t = 50_000)]
    pub users: usize,
}

/// Distinct pre-built bodies; batches cycle through them.
const BODIES: usize = 16;

fn bodies(args: &IngestBenchArgs) -> Vec<Bytes> {
    let modules = [
        "accounts",
        "contacts",
        "opportunities",
        "activities",
        "campaigns",
        "quotes",
        "service",
        "reports",
    ];
    let actions = ["view", "view", "view", "update", "create", "login"];
    let clients = ["web", "web", "mobile", "outlook"];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let start = chrono::Utc::now().timestamp() - 28 * 86_400;
    (0..BODIES)
        .map(|_| {
            let mut text = String::with_capacity(args.batch * 120);
            for _ in 0..args.batch {
                let t = chrono::DateTime::from_timestamp(start + rng.random_range(0..28 * 86_400), 0)
                    .unwrap_or_default();
                text.push_str(&format!(
                    "{{\"event_time\":\"{}\",\"user_id\":\"u{:06}\",\"module\":\"{}\",\"action\":\"{}\",\"client\":\"{}\"}}\n",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    rng.random_range(0..args.users),
                    modules[rng.random_range(0..modules.len())],
                    actions[rng.random_range(0..actions.len())],
                    clients[rng.random_range(0..clients.len())],
                ));
            }
            if args.gzip {
                use std::io::Write;
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = gz.write_all(text.as_bytes());
                Bytes::from(gz.finish().unwrap_or_default())
            } else {
                Bytes::from(text)
            }
        })
        .collect()
}

/// The started server, killed when dropped.
pub(super) struct Started {
    pub(super) child: Child,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/PID/status` in KiB (`VmRSS:`, `VmHWM:`), 0 when
/// unknown.
pub(super) fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn start_server(args: &IngestBenchArgs) -> Result<(Started, String, String)> {
    let data = args.dir.join("data");
    if data.exists() {
        std::fs::remove_dir_all(&data).map_err(|source| crate::store::Error::Io {
            path: data.clone(),
            source,
        })?;
    }
    std::fs::create_dir_all(&data).map_err(|source| crate::store::Error::Io {
        path: data.clone(),
        source,
    })?;
    let token = fresh_token(&data, "bench", crate::auth::Role::Ingest)?;
    let (started, url) = serve(&data)?;
    Ok((started, url, token))
}

/// A new token of `role` named `name` for the whole organisation, in place
/// of one a run before left under that name.
pub(super) fn fresh_token(
    data: &std::path::Path,
    name: &str,
    role: crate::auth::Role,
) -> Result<String> {
    crate::auth::tokens::revoke(data, name)?;
    let (token, _) = crate::auth::tokens::create(
        data,
        crate::auth::tokens::NewToken {
            role,
            scope: Default::default(),
            name: Some(name),
            lifetime: None,
        },
    )?;
    Ok(token)
}

/// Starts `uptake serve` on the data directory `data` on a free loopback
/// port: the process and its base URL.
pub(super) fn serve(data: &std::path::Path) -> Result<(Started, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Usage(format!("no free port: {e}")))?;
    let exe = std::env::current_exe().map_err(|e| Error::Usage(e.to_string()))?;
    let child = Command::new(exe)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("UPTAKE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot start uptake serve: {e}")))?;
    Ok((Started { child }, format!("http://127.0.0.1:{port}")))
}

pub(super) async fn health(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    url: &str,
) -> Option<serde_json::Value> {
    let uri: axum::http::Uri = format!("{url}/health").parse().ok()?;
    let response = client.get(uri).await.ok()?;
    let body = response.into_body().collect().await.ok()?.to_bytes();
    serde_json::from_slice(&body).ok()
}

pub async fn run(args: &IngestBenchArgs) -> Result<()> {
    let (server, url, token) = match &args.url {
        Some(url) => {
            let token = args
                .token
                .clone()
                .ok_or_else(|| Error::Usage("--url needs --token (or UPTAKE_TOKEN)".into()))?;
            (None, url.trim_end_matches('/').to_string(), token)
        }
        None => {
            let (started, url, token) = start_server(args)?;
            (Some(started), url, token)
        }
    };
    let pid = server.as_ref().map(|s| s.child.id());
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.connections)
        .build_http();
    let ready = Instant::now();
    while health(&client, &url).await.is_none() {
        if ready.elapsed() > Duration::from_secs(120) {
            return Err(Error::Usage(format!("{url}/health does not answer")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bodies = Arc::new(bodies(args));
    let bytes_per_batch = bodies.iter().map(|b| b.len()).sum::<usize>() / bodies.len();
    println!(
        "ingestion: {} connections, {} events per batch ({} KiB{}), {} s, server {}",
        args.connections,
        args.batch,
        bytes_per_batch / 1024,
        if args.gzip { " gzip" } else { "" },
        args.seconds,
        url
    );

    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let next_key = Arc::new(AtomicU64::new(0));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampler = pid.map(|pid| {
        let (stop, peak) = (stop.clone(), peak_rss.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(memory_kib(pid, "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let started = Instant::now();
    let workers: Vec<_> = (0..args.connections)
        .map(|w| {
            let (client, bodies, stop, accepted, next_key) = (
                client.clone(),
                bodies.clone(),
                stop.clone(),
                accepted.clone(),
                next_key.clone(),
            );
            let (url, token, gzip) = (url.clone(), token.clone(), args.gzip);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let key = next_key.fetch_add(1, Ordering::Relaxed);
                    let mut request = axum::http::Request::post(format!("{url}/api/v1/events"))
                        .header("authorization", format!("Bearer {token}"))
                        .header("idempotency-key", format!("bench-{key}"))
                        .header("content-type", "application/x-ndjson");
                    if gzip {
                        request = request.header("content-encoding", "gzip");
                    }
                    let Ok(request) = request.body(Full::new(bodies[i % bodies.len()].clone()))
                    else {
                        break;
                    };
                    i += 1;
                    let sent = Instant::now();
                    let status = match client.request(request).await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let body = response.into_body().collect().await.map(|b| b.to_bytes());
                            if status == 200
                                && let Ok(body) = body
                                && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
                            {
                                accepted.fetch_add(
                                    v["accepted"].as_u64().unwrap_or(0),
                                    Ordering::Relaxed,
                                );
                            }
                            status
                        }
                        Err(_) => 0,
                    };
                    latencies.push(sent.elapsed().as_secs_f64());
                    *statuses.entry(status).or_default() += 1;
                    if status != 200 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                (latencies, statuses)
            })
        })
        .collect();
    let mut last = 0u64;
    for second in 1..=args.seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = accepted.load(Ordering::Relaxed);
        let pending = health(&client, &url)
            .await
            .and_then(|h| h["ingest"]["pending_events"].as_u64())
            .unwrap_or(0);
        println!(
            "  {second:>3} s: {:>9} events/s acknowledged, {pending:>8} waiting for the store",
            now - last
        );
        last = now;
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for w in workers {
        if let Ok((l, s)) = w.await {
            latencies.extend(l);
            for (k, v) in s {
                *statuses.entry(k).or_default() += v;
            }
        }
    }
    let drain = Instant::now();
    loop {
        let pending = health(&client, &url)
            .await
            .and_then(|h| h["ingest"]["pending_events"].as_u64())
            .unwrap_or(0);
        if pending == 0 || drain.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained = drain.elapsed().as_secs_f64();
    if let Some(s) = sampler {
        let _ = s.await;
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
            * 1e3
    };
    let total = accepted.load(Ordering::Relaxed);
    println!(
        "acknowledged (durable) {total} events in {elapsed:.1} s: {:.0} events/s",
        total as f64 / elapsed
    );
    println!(
        "batch latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(0.0) * 1e3
    );
    let answers: Vec<String> = statuses
        .iter()
        .map(|(s, n)| match s {
            0 => format!("connection failed: {n}"),
            s => format!("{s}: {n}"),
        })
        .collect();
    println!("answers: {}", answers.join(", "));
    println!("the store caught up {drained:.2} s after the load stopped");
    if let Some(pid) = pid {
        println!(
            "server memory: peak RSS {} MiB (sampled), high-water mark {} MiB",
            peak_rss.load(Ordering::Relaxed) / 1024,
            memory_kib(pid, "VmHWM:") / 1024
        );
    }
    drop(server);
    Ok(())
}
