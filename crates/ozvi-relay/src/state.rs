//! The state every handler shares.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use ozvi_crypto::primitives::sig::Ed25519Public;
use ozvi_crypto::{Directory, SignedDirectory};
use tokio::sync::broadcast;

use crate::admission::Limits;
use crate::config::Config;
use crate::error::ApiError;
use crate::flusher::Flusher;
use crate::metrics::Metrics;
use crate::store::{AppendJob, CentreId, Storage};
use crate::streams::Streams;

/// The relay's notion of now. Tests replace it to make expiry deterministic.
pub trait Clock: Send + Sync + 'static {
    /// Unix seconds.
    fn now(&self) -> u64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// The current directory with its served bytes.
pub struct CurrentDirectory {
    /// The signed JSON, served as is.
    pub json: Vec<u8>,
    /// The verified content.
    pub directory: Directory,
}

/// What the relay's event streams hear (see [`crate::routes::events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A thread changed: the streams that follow it (its own, its centre's
    /// staff) say `event: change` with its sequence number.
    Change(Change),
    /// Changes may have been missed (the link to the other relays on the
    /// database was lost and is back): every stream, a person's and staff's
    /// alike, says `event: change` with `data: 0`, and its client fetches by
    /// its cursor.
    CatchUp,
}

/// A change a live client may want to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The thread that changed.
    pub mailbox: [u8; 16],
    /// Its centre (after the change).
    pub centre: String,
    /// The newest sequence number in the thread.
    pub seq: u64,
}

/// Everything the handlers share.
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Storage>,
    /// Group commit for durable acknowledgements.
    pub flusher: Flusher,
    /// The pinned operator root key.
    pub root_key: Ed25519Public,
    /// The current directory, if one was installed.
    pub directory: RwLock<Option<Arc<CurrentDirectory>>>,
    /// The configuration.
    pub config: Config,
    /// Rate limits and proof-of-work challenges.
    pub limits: Limits,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// New-message notifications for live clients.
    pub events: broadcast::Sender<Event>,
    /// The other relays on the same PostgreSQL database (live updates, the
    /// sweep's lock); `None` on sled.
    pub relays: Option<crate::store::postgres::Relays>,
    /// Aggregate counters.
    pub metrics: Metrics,
    /// Open event streams and their caps.
    pub streams: Arc<Streams>,
    /// Large bodies (transfers) being received now.
    pub large_bodies: Arc<tokio::sync::Semaphore>,
    /// Directory bodies (up to 1 MiB, unauthenticated until verified) being
    /// received now: a few at a time, apart from transfers.
    pub directory_bodies: Arc<tokio::sync::Semaphore>,
    /// File uploads being received now (`concurrent_uploads`).
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// The files (mailbox id ‖ file id) being received now: the same id
    /// twice at once is `upload_in_progress`.
    pub uploading: Mutex<std::collections::HashSet<[u8; 32]>>,
    /// The disk bound's count of stored blob bytes: with
    /// [`AppState::receiving_bytes`], [`AppState::broken_off_bytes`] and
    /// [`AppState::broken_off_files`], its running total (see `routes::files::disk_room`).
    pub stored_bytes: tokio::sync::Mutex<DiskCount>,
    /// The declared lengths of the uploads this relay has let in and is
    /// receiving now (past their auth: see `routes::files::take_disk_share`).
    pub receiving_bytes: std::sync::atomic::AtomicU64,
    /// Uploads completed before a count that may have missed them: their
    /// bytes, until the next count.
    pub broken_off_bytes: std::sync::atomic::AtomicU64,
    /// The bytes this relay's uploads that broke off since the last count
    /// gave their partial files, by the upload's key (mailbox id ‖ file
    /// id): the next count counts the files instead, and a new attempt of
    /// the key, which removes the file the one before it left, takes its
    /// entry out. So an upload cut again and again counts once, as its one
    /// file on disk does.
    pub broken_off_files: Mutex<std::collections::HashMap<[u8; 32], u64>>,
    /// How many counts of the stored blobs have run (a completed upload
    /// notes the one it was added after).
    pub disk_counts: std::sync::atomic::AtomicU64,
    /// Staff file uploads being received now (`concurrent_staff_uploads`).
    pub staff_uploads: Arc<tokio::sync::Semaphore>,
    /// Her uploads being received now per client address bucket
    /// (`uploads_per_address`).
    pub upload_clients: Mutex<std::collections::HashMap<std::net::IpAddr, u32>>,
    /// Staff notifications by e-mail and their delivery health.
    pub notifier: Arc<crate::notify::Notifier>,
    /// When this process started (the relay's clock, Unix seconds). Staff
    /// requests signed at or before it are refused: their nonces may have
    /// been used before a restart, and the nonce cache is in memory only.
    pub started_at: u64,
}

impl AppState {
    /// The current directory, or [`ApiError::NoDirectory`].
    pub fn directory(&self) -> Result<Arc<CurrentDirectory>, ApiError> {
        self.directory
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(ApiError::NoDirectory)
    }

    /// Appends `job` and returns its sequence number once it is durable:
    /// through the group commit when the store has one (sled: the append
    /// is committed with every other waiting, [`Flusher::append`]),
    /// otherwise through the seam.
    pub async fn append(&self, job: AppendJob) -> Result<u64, ApiError> {
        match self.flusher.append(job).await {
            Ok(appended) => Ok(appended?),
            Err(job) => {
                let seq = self
                    .store
                    .append_claiming(
                        &job.mailbox,
                        job.author,
                        &job.envelope,
                        job.now,
                        job.quota,
                        &job.claims,
                        job.file_quota,
                    )
                    .await?;
                self.flusher.flush().await?;
                Ok(seq)
            }
        }
    }

    /// Verifies and installs a signed directory that is newer than the
    /// current one (PROTOCOL.md §6.3), storing it durably first.
    pub async fn install_directory(&self, json: &[u8]) -> Result<(), ApiError> {
        let Some(directory) = self.newer_directory(json)? else {
            return Ok(());
        };
        self.store.set_directory(json).await?;
        self.flusher.flush().await?;
        self.put_directory(json, directory);
        Ok(())
    }

    /// Adopts the stored directory if another relay on the same database
    /// installed a newer one (verified as any: the root key's signature,
    /// never a rollback), so that a staff key the operator removed is
    /// refused on every relay within moments, not only on the one the new
    /// directory was sent to. True if it changed.
    pub async fn adopt_stored_directory(&self) -> Result<bool, ApiError> {
        let Some(json) = self.store.directory().await? else {
            return Ok(false);
        };
        if self.directory().ok().is_some_and(|c| c.json == json) {
            return Ok(false);
        }
        let Some(directory) = self.newer_directory(&json)? else {
            return Ok(false);
        };
        self.put_directory(&json, directory);
        Ok(true)
    }

    /// `json` verified under the root key as a successor of the current
    /// directory; `None` if it is the current one.
    fn newer_directory(&self, json: &[u8]) -> Result<Option<Directory>, ApiError> {
        let pinned = self.directory().ok();
        let directory =
            SignedDirectory::verify(json, &self.root_key, pinned.as_ref().map(|c| &c.directory))
                .map_err(|e| match e {
                    ozvi_crypto::DirectoryError::Rollback => ApiError::DirectoryRollback,
                    _ => ApiError::InvalidDirectory,
                })?;
        Ok((!pinned.is_some_and(|p| p.directory == directory)).then_some(directory))
    }

    /// Makes a verified directory the current one.
    fn put_directory(&self, json: &[u8], directory: Directory) {
        let installed = Arc::new(CurrentDirectory {
            json: json.to_vec(),
            directory,
        });
        *self
            .directory
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&installed));
        // Keys no longer listed hear nothing more: their open streams end.
        self.streams.end_unlisted_staff(&installed.directory);
    }

    /// The centre id as the store keeps it.
    pub fn centre_id(&self, id: &str) -> Result<CentreId, ApiError> {
        CentreId::parse(id).ok_or(ApiError::UnknownCentre)
    }

    /// Tells live clients that a thread changed: this relay's at once, the
    /// other relays' on the same database through it (never waiting for it).
    pub fn notify(&self, mailbox: [u8; 16], centre: &str, seq: u64) {
        let change = Change {
            mailbox,
            centre: centre.to_string(),
            seq,
        };
        if let Some(relays) = &self.relays {
            relays.publish(&change);
        }
        // No receiver is not an error: nobody is listening right now.
        let _ = self.events.send(Event::Change(change));
    }
}

/// The disk bound's count of stored blob bytes ([`AppState::stored_bytes`]).
#[derive(Debug, Default)]
pub struct DiskCount {
    /// The complete blobs' and partial files' bytes as last counted (and
    /// when), plus what was completed since.
    pub total: Option<(std::time::Instant, u64)>,
    /// When the last count failed, and its answer: the requests that come
    /// within a second of it take that answer, rather than each making the
    /// store fail again (a database that hangs costs a count its whole
    /// deadline).
    pub failed: Option<(std::time::Instant, crate::error::ApiError)>,
}
