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
//! Appends go further ([`Flusher::append`]): the same thread takes every
//! append waiting and commits them together ([`Store::append_batch`], on
//! sled one transaction) just before that flush. sled writes and syncs two
//! log buffers per transaction whatever its size, so appends committed one
//! by one cost two disk writes each, and the relay posted at less than half
//! the rate it does now (docs/PERFORMANCE.md, run 7). Committing the next
//! batch on a second thread while the flush waits for the disk was tried
//! and measured: the batches shrink to a few appends each and the rate
//! falls back to where it was, so commit and flush take turns on purpose.
//!
//! A store whose every commit is durable when it returns (PostgreSQL with
//! `synchronous_commit` on, its default) needs none of this:
//! [`Flusher::committed`] answers every flush at once, with no thread, and
//! gives appends back to be written through the seam.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use tokio::sync::oneshot;

use crate::store::{AppendJob, Store, StoreError};

type Waiter = oneshot::Sender<Result<(), ()>>;
type Answer = oneshot::Sender<Result<u64, StoreError>>;

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
    appends: Vec<(AppendJob, Answer)>,
    stopped: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.waiters.is_empty() && self.appends.is_empty()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // The lock guards plain data that stays valid if a holder panicked.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("flusher stopped".into())
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
                return Err(stopped());
            }
            pending.waiters.push(tx);
        }
        handle.shared.wake.notify_one();
        match rx.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(StoreError::Backend("flush failed".into())),
        }
    }

    /// Appends `job` in the next group commit and returns once it is
    /// durable: its sequence number, or why the store refused it. A
    /// [`Flusher::committed`] gives the job back, to be appended through
    /// the seam (its commit is durable already).
    pub async fn append(&self, job: AppendJob) -> Result<Result<u64, StoreError>, AppendJob> {
        let Some(handle) = &self.handle else {
            return Err(job);
        };
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = handle.shared.lock();
            if pending.stopped {
                return Ok(Err(stopped()));
            }
            pending.appends.push((job, tx));
        }
        handle.shared.wake.notify_one();
        Ok(rx.await.unwrap_or_else(|_| Err(stopped())))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.lock().stopped = true;
        self.shared.wake.notify_one();
    }
}

/// The flusher thread: one commit of the appends waiting, then one store
/// flush, per batch.
fn run(shared: &Shared, store: &dyn Store) {
    loop {
        let (waiting, appends) = {
            let mut pending = shared.lock();
            while pending.is_empty() && !pending.stopped {
                pending = shared.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
            if pending.is_empty() {
                return;
            }
            (
                std::mem::take(&mut pending.waiters),
                std::mem::take(&mut pending.appends),
            )
        };
        let (jobs, answers): (Vec<_>, Vec<_>) = appends.into_iter().unzip();
        let outcomes = if jobs.is_empty() {
            Vec::new()
        } else {
            store.append_batch(&jobs)
        };
        let result = store.flush();
        if let Err(e) = &result {
            tracing::error!(error = ?e, "flush failed");
        }
        // A waiter that went away (client disconnected) needs no answer.
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            // Acknowledged only once durable.
            let _ = answer.send(match (&result, outcome) {
                (Err(_), Ok(_)) => Err(StoreError::Backend("flush failed".into())),
                (_, outcome) => outcome,
            });
        }
        for waiter in waiting {
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
    async fn concurrent_appends_are_committed_together_each_answered_with_its_own_outcome() {
        use crate::store::{AppendJob, Author, CentreId, FileQuota, Quota, SledStore};
        use ozvi_crypto::MailboxId;
        let sled = Arc::new(SledStore::temporary().expect("opens"));
        let centre = CentreId::parse("ic-zlin").expect("valid");
        let threads: Vec<_> = (1..=4u8).map(|i| MailboxId([i; 16])).collect();
        for mailbox in &threads {
            sled.create_thread(mailbox, [9; 32], &centre, b"\x01\x01first", 60)
                .expect("creates");
        }
        let store: Arc<dyn Store> = sled.clone();
        let flusher = Flusher::start(store).expect("threads start");
        let tasks: Vec<_> = (0..64u8)
            .map(|i| {
                let f = flusher.clone();
                // Every eighth goes to a thread that does not exist.
                let mailbox = if i % 8 == 7 {
                    MailboxId([99; 16])
                } else {
                    threads[usize::from(i % 4)]
                };
                let job = AppendJob {
                    mailbox,
                    author: Author::Person,
                    envelope: vec![1, 1, i],
                    now: 120,
                    quota: Quota {
                        max_messages: 1000,
                        max_bytes: 1 << 20,
                    },
                    claims: Vec::new(),
                    file_quota: FileQuota::default(),
                };
                tokio::spawn(async move {
                    let appended = f.append(job).await;
                    (i, mailbox, appended.ok().expect("a thread, not given back"))
                })
            })
            .collect();
        let mut stored = 0;
        for t in tasks {
            let (i, mailbox, appended) = t.await.expect("task");
            if i % 8 == 7 {
                assert!(matches!(appended, Err(StoreError::NotFound)));
                continue;
            }
            let seq = appended.expect("appended");
            // Its own message is at the seq it was told.
            let message = sled.messages(&mailbox, seq - 1, 1).expect("reads");
            assert_eq!(message[0].envelope, [1, 1, i]);
            stored += 1;
        }
        assert_eq!(stored, 56);
        for (t, mailbox) in threads.iter().enumerate() {
            let appended = (0..64usize).filter(|i| i % 8 != 7 && i % 4 == t).count();
            let seqs: Vec<_> = sled
                .messages(mailbox, 0, 100)
                .expect("reads")
                .iter()
                .map(|m| m.seq)
                .collect();
            let expected: Vec<u64> = (1..=1 + appended as u64).collect();
            assert_eq!(seqs, expected, "no gap, no repeat");
        }
        assert!(
            Flusher::committed()
                .append(AppendJob {
                    mailbox: threads[0],
                    author: Author::Person,
                    envelope: vec![1],
                    now: 0,
                    quota: Quota {
                        max_messages: 1,
                        max_bytes: 1,
                    },
                    claims: Vec::new(),
                    file_quota: FileQuota::default(),
                })
                .await
                .is_err(),
            "a committed store's flusher gives the job back"
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
