//! The loop that stores acknowledged events while the server runs, and
//! shows what each flush committed.

use std::sync::Arc;
use std::time::Duration;

use crate::kpi::live::Live;
use crate::store::Store;

use super::Ingest;

/// Flushes acknowledged events into the store every
/// `ingest.flush_milliseconds` and shows what each flush committed: a
/// second task opens an engine over the newest committed store
/// ([`Live::reload`]), so flushing never waits for that. Never returns.
pub async fn run_forever(ingest: Arc<Ingest>, live: Arc<Live>) {
    let (committed, mut newest) = tokio::sync::watch::channel(None::<Store>);
    tokio::spawn(async move {
        while newest.changed().await.is_ok() {
            let store = newest.borrow_and_update().clone();
            if let Some(store) = store
                && let Err(e) = live.reload(&store).await
            {
                tracing::error!(error = %e, "the flushed store cannot be read");
            }
        }
    });
    let every = Duration::from_millis(ingest.settings().ingest.flush_milliseconds);
    let watch_every = Duration::from_secs(ingest.settings().ingest.watch_seconds);
    // The first look at the watched files comes right after the start.
    let mut watched: Option<std::time::Instant> = None;
    loop {
        tokio::time::sleep(every).await;
        if watched.is_none_or(|at| at.elapsed() >= watch_every) {
            watched = Some(std::time::Instant::now());
            let watching = ingest.clone();
            match tokio::task::spawn_blocking(move || watching.watch()).await {
                Ok(Ok(Some(store))) => {
                    committed.send_replace(Some(store));
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "registering watched files failed"),
                Err(e) => tracing::error!(error = %e, "the watch task failed"),
            }
        }
        let Some(store) = flush(&ingest).await else {
            continue;
        };
        committed.send_replace(Some(store));
        // After the flush is on its way to the figures: merging files
        // changes no figure, only the file list.
        let compacting = ingest.clone();
        match tokio::task::spawn_blocking(move || compacting.compact()).await {
            Ok(Ok(Some(store))) => {
                committed.send_replace(Some(store));
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "compacting event files failed"),
            Err(e) => tracing::error!(error = %e, "the compaction task failed"),
        }
    }
}

/// One flush; the store as committed when it wrote anything. Failures are
/// logged, and the batches stay in the log for the next try. A clean stop
/// calls it once more, so that nothing is left to replay.
pub async fn flush(ingest: &Arc<Ingest>) -> Option<Store> {
    let ingest = ingest.clone();
    match tokio::task::spawn_blocking(move || ingest.flush()).await {
        Ok(Ok(store)) => store,
        Ok(Err(_)) => None, // logged by the flush
        Err(e) => {
            tracing::error!(error = %e, "the flush task failed");
            None
        }
    }
}
