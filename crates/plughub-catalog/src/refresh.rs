//! Refreshing the index in the background after a change that only moves what it ranks by (a review's
//! stars): the request that made the change does not wait for a rebuild of the whole index, and a
//! burst of changes makes one rebuild, not one each.

use crate::service::Catalog;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a refresh waits for more changes to join it.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// The state of the background refresh: asked for, running, and who waits for it to settle.
#[derive(Default)]
pub(crate) struct Pending {
    /// A change came after the last rebuild started.
    dirty: AtomicBool,
    /// A background task is running (at most one).
    running: AtomicBool,
    /// Told when the task ends with nothing left to do.
    settled: Notify,
}

impl Catalog {
    /// Asks for the index to follow the store soon, without waiting for it: changes within a short
    /// while of each other make one rebuild.
    pub fn refresh_soon(self: &Arc<Self>) {
        let pending = self.pending();
        pending.dirty.store(true, Ordering::SeqCst);
        if pending.running.swap(true, Ordering::SeqCst) {
            return; // the running task sees `dirty` and rebuilds again
        }
        let catalog = Arc::clone(self);
        tokio::spawn(async move {
            let pending = catalog.pending();
            loop {
                tokio::time::sleep(DEBOUNCE).await;
                pending.dirty.store(false, Ordering::SeqCst);
                if let Err(e) = catalog.refresh_if_changed().await {
                    tracing::warn!(error = %e, "cannot refresh the catalogue index; the next change retries");
                }
                if pending.dirty.load(Ordering::SeqCst) {
                    continue;
                }
                pending.running.store(false, Ordering::SeqCst);
                // A change marked between the check and the store found the task running and left it
                // to us: take it back unless another task took it.
                if pending.dirty.load(Ordering::SeqCst)
                    && !pending.running.swap(true, Ordering::SeqCst)
                {
                    continue;
                }
                break;
            }
            pending.settled.notify_waiters();
        });
    }

    /// Waits until every refresh asked for with [`Catalog::refresh_soon`] is done (for tests, and for
    /// anything that must see its own change in search).
    pub async fn refreshed(&self) {
        let pending = self.pending();
        loop {
            let settled = pending.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if !pending.running.load(Ordering::SeqCst) && !pending.dirty.load(Ordering::SeqCst) {
                return;
            }
            settled.await;
        }
    }
}
