//! Group commit: a write is acknowledged only after it is durable, and
//! concurrent requests share one flush instead of each paying for their own.
//!
//! A writer finishes its write, then calls [`Flusher::flush`]. The flusher
//! task takes every request waiting at that moment, runs one `flush` of the
//! store on a blocking thread, and answers them all. A request that arrives
//! while a flush is running waits for the next one, which starts after its
//! write, so its write is always covered.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::{Store, StoreError};

/// Handle to the flusher task.
#[derive(Clone)]
pub struct Flusher {
    requests: mpsc::UnboundedSender<oneshot::Sender<Result<(), ()>>>,
}

impl Flusher {
    /// Starts the flusher task for `store` on the current Tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (requests, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<Result<(), ()>>>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiting = vec![first];
                while let Ok(more) = rx.try_recv() {
                    waiting.push(more);
                }
                let store = Arc::clone(&store);
                let result = tokio::task::spawn_blocking(move || store.flush())
                    .await
                    .unwrap_or_else(|_| Err(StoreError::Backend("flush task failed".into())));
                if let Err(e) = &result {
                    tracing::error!(error = ?e, "flush failed");
                }
                for waiter in waiting {
                    // A waiter that went away (client disconnected) needs no answer.
                    let _ = waiter.send(result.as_ref().map(|_| ()).map_err(|_| ()));
                }
            }
        });
        Self { requests }
    }

    /// Waits until every write completed before this call is durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(tx)
            .map_err(|_| StoreError::Backend("flusher stopped".into()))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(StoreError::Backend("flush failed".into())),
        }
    }
}
