//! Group commit: a write is acknowledged only after it is durable, and
//! concurrent requests share one flush instead of each paying for their own.
//!
//! A writer finishes its write, then calls [`Flusher::flush`]. A dedicated
//! thread takes every request waiting at that moment, runs one `flush` of the
//! store, and answers them all. A request that arrives while a flush is
//! running waits for the next one, which starts after its write, so its
//! write is always covered.
//!
//! The flush runs on its own thread rather than on Tokio's blocking pool: a
//! request then costs one hand-off to the flusher and one back, which
//! matters at thousands of writes per second on two cores.
//!
//! A store whose every commit is durable when it returns (PostgreSQL with
//! `synchronous_commit` on, its default) needs none of this:
//! [`Flusher::committed`] answers every flush at once, with no thread.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use tokio::sync::oneshot;

use crate::store::{Store, StoreError};

type Waiter = oneshot::Sender<Result<(), ()>>;

/// Handle to the flusher thread. The thread stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct Flusher {
    /// `None`: the store's commits are durable already ([`Flusher::committed`]).
    handle: Option<Arc<Handle>>,
}

/// Stops the thread on drop.
struct Handle {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

#[derive(Default)]
struct Pending {
    waiters: Vec<Waiter>,
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // The lock guards plain data that stays valid if a holder panicked.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Flusher {
    /// Starts the flusher thread for `store`.
    pub fn start(store: Arc<dyn Store>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        thread::Builder::new()
            .name("ozvi-flusher".into())
            .spawn(move || run(&worker, store.as_ref()))?;
        Ok(Self {
            handle: Some(Arc::new(Handle { shared })),
        })
    }

    /// For a store whose commits are durable when they return (a server
    /// database that syncs its log before it answers): every flush returns
    /// at once.
    pub fn committed() -> Self {
        Self { handle: None }
    }

    /// Waits until every write completed before this call is durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let Some(handle) = &self.handle else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = handle.shared.lock();
            if pending.stopped {
                return Err(StoreError::Backend("flusher stopped".into()));
            }
            pending.waiters.push(tx);
        }
        handle.shared.wake.notify_one();
        match rx.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(StoreError::Backend("flush failed".into())),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.lock().stopped = true;
        self.shared.wake.notify_one();
    }
}

/// The flusher thread: one store flush per batch of waiters.
fn run(shared: &Shared, store: &dyn Store) {
    loop {
        let waiting = {
            let mut pending = shared.lock();
            while pending.waiters.is_empty() && !pending.stopped {
                pending = shared.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
            if pending.waiters.is_empty() {
                return;
            }
            std::mem::take(&mut pending.waiters)
        };
        let result = store.flush();
        if let Err(e) = &result {
            tracing::error!(error = ?e, "flush failed");
        }
        for waiter in waiting {
            // A waiter that went away (client disconnected) needs no answer.
            let _ = waiter.send(result.as_ref().map(|_| ()).map_err(|_| ()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn concurrent_flushes_are_all_answered_and_the_thread_stops_with_the_last_handle() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let flusher = Flusher::start(store).expect("thread starts");
        let shared = Arc::clone(&flusher.handle.as_ref().expect("a thread").shared);
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let f = flusher.clone();
                tokio::spawn(async move { f.flush().await })
            })
            .collect();
        for t in tasks {
            assert!(t.await.expect("task").is_ok());
        }
        assert!(!shared.lock().stopped);
        drop(flusher);
        assert!(
            shared.lock().stopped,
            "dropping the last handle stops the thread"
        );
    }

    #[tokio::test]
    async fn a_committed_store_flushes_at_once_without_a_thread() {
        let flusher = Flusher::committed();
        assert!(flusher.handle.is_none(), "no thread, nothing to stop");
        for _ in 0..3 {
            flusher.flush().await.expect("answered at once");
        }
    }
}
