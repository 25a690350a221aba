//! Bounds on expensive work per server: a [`Gate`] lets a few jobs run
//! at once (password checks, PDF renders) and a few more wait; beyond
//! that a caller is refused at once instead of piling up memory and time.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

/// At most `running` jobs at once, `waiting` more in line.
pub struct Gate {
    permits: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Gate {
    pub fn new(running: u32, waiting: u32) -> Gate {
        Gate {
            permits: Semaphore::new(running.max(1) as usize),
            waiting: AtomicUsize::new(0),
            max_waiting: waiting as usize,
        }
    }

    /// A turn to run, after waiting in line; none when the line is full.
    pub async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Some(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let permit = self.permits.acquire().await.ok();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_line_is_refused_at_once() {
        let gate = std::sync::Arc::new(Gate::new(1, 1));
        let first = gate.enter().await.expect("runs");
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter().await.is_some() })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(gate.enter().await.is_none(), "the line holds one");
        drop(first);
        assert!(waiter.await.expect("join"), "the one in line runs next");
        assert!(gate.enter().await.is_some());
    }
}
