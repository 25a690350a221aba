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
            if let Some(store) = blocking(&ingest, "registering watched files", Ingest::watch).await
            {
                committed.send_replace(Some(store));
            }
        }
        let Some(store) = flush(&ingest).await else {
            continue;
        };
        committed.send_replace(Some(store));
        // After the flush is on its way to the figures: merging files
        // changes no figure, only the file list.
        if let Some(store) = blocking(&ingest, "compacting event files", Ingest::compact).await {
            committed.send_replace(Some(store));
        }
    }
}

/// Runs a blocking change of the store off the async threads; the store
/// as committed when it changed anything. Failures are logged as `what`.
async fn blocking(
    ingest: &Arc<Ingest>,
    what: &'static str,
    change: fn(&Ingest) -> crate::store::Result<Option<Store>>,
) -> Option<Store> {
    let ingest = ingest.clone();
    match tokio::task::spawn_blocking(move || change(&ingest)).await {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "{what} failed");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "the task {what} failed");
            None
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
