//! Persistence: what the relay keeps, and nothing more.
//!
//! Every record is ciphertext or fixed-shape metadata that `ozvi-audit` can
//! check (docs/API.md, "What is stored"). Keys are
//! big-endian so that byte order is numeric order. One sled tree per
//! keyspace:
//!
//! | tree | key | value |
//! |---|---|---|
//! | `threads` | mailbox id (16) | [`ThreadRecord`], 130 bytes |
//! | `messages` | mailbox id (16) ‖ seq (u64) | [`StoredMessage`]: version, stored-at minute, envelope |
//! | `notes` | mailbox id (16) | staff-only envelope (kind 3) with version and minute |
//! | `activity` | centre (33) ‖ change (u64) ‖ mailbox id (16) | empty: the staff inbox index |
//! | `system` | `directory` | the signed directory JSON |
//! | `files` | mailbox id (16) ‖ file id (16) | [`FileRecord`], 58 bytes |
//! | `nonces` | SHA-256 of a label, the staff key and the request nonce (32) | until when it is refused: a whole minute (u64), 8 bytes |
//!
//! A blob's bytes are a file of the data directory's `files/`, named by the
//! hex of its `files` key ([`files`] says why not a tree).
//!
//! [`SledStore`] is the store the relay, the integration tests and the
//! benchmarks use. [`postgres::PgStore`] keeps the same records in
//! PostgreSQL tables (migrations/0001_records.sql) and the blobs' bytes in
//! the same kind of directory. [`MemoryStore`] exists only for unit tests
//! and as the model in the model test, which holds both stores to it.

pub mod files;
mod memory;
pub mod postgres;
mod records;
mod sled_store;
mod storage;

pub use files::{BlobReader, BlobWriter, FileQuota, FileRecord, FileState};
pub use memory::MemoryStore;
pub use records::{CentreId, StoredMessage, ThreadRecord};
pub use sled_store::{CACHE_BYTES as SLED_CACHE_BYTES, SledStore};
pub use storage::{Embedded, Storage, Upload, remove_stale_files};

use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::FileId;

/// Why a store operation failed. Carries no user data.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A thread with this mailbox id already exists.
    #[error("thread exists")]
    Exists,
    /// No thread with this mailbox id.
    #[error("no such thread")]
    NotFound,
    /// The thread changed while a transfer was prepared.
    #[error("thread changed")]
    Changed,
    /// A per-thread quota would be exceeded.
    #[error("quota exceeded")]
    Quota,
    /// The database failed; the cause goes to the server log only.
    #[error("storage failure")]
    Backend(String),
    /// The database cannot be reached now (a server store that is down or
    /// restarting); the request may succeed later. The cause goes to the
    /// server log only.
    #[error("storage unavailable")]
    Unavailable(String),
    /// A stored record does not have the documented shape.
    #[error("corrupt record")]
    Corrupt,
    /// The data directory's blob folder belongs to the other kind of store
    /// ([`files::OWNER_FILE`]); only when a store opens. The message says
    /// which, for the operator.
    #[error("{0}")]
    OtherStore(String),
    /// The file is already claimed by a message.
    #[error("file exists")]
    FileExists,
    /// A claimed file is not a complete, unclaimed upload of the thread.
    #[error("unknown file")]
    UnknownFile,
}

/// One append, as [`Store::append_claiming`] takes it, to be committed
/// with others ([`Store::append_batch`]).
/// No `Debug`: it holds a mailbox id and an envelope, which no log may.
#[derive(Clone)]
pub struct AppendJob {
    /// The thread.
    pub mailbox: MailboxId,
    /// Who wrote it.
    pub author: Author,
    /// The sealed envelope, stored as it came.
    pub envelope: Vec<u8>,
    /// Seconds since the epoch.
    pub now: u64,
    /// The thread's limits.
    pub quota: Quota,
    /// The files the message claims.
    pub claims: Vec<FileId>,
    /// The thread's limits on files.
    pub file_quota: FileQuota,
}

/// Who wrote an appended message, for the thread's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The person (kind 1).
    Person,
    /// A staff member (kind 2).
    Staff,
    /// A staff member's case entry (kind 4): waits for no answer.
    Case,
}

/// What a transfer writes (besides the thread's new centre).
#[derive(Debug, Clone, Copy)]
pub struct Moved<'a> {
    /// Every message's envelope re-wrapped, with its sequence number.
    pub resealed: &'a [(u64, Vec<u8>)],
    /// The note re-sealed to the new centre's staff; `None` removes it.
    pub note: Option<&'a [u8]>,
    /// The transfer notice to her (a kind-2 envelope), appended last.
    pub notice: Option<&'a [u8]>,
}

/// Per-thread limits, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Most messages one thread may hold.
    pub max_messages: u32,
    /// Most envelope bytes one thread may hold.
    pub max_bytes: u64,
}

/// The relay's storage. Every method is synchronous and short; a write is
/// durable only after [`Store::flush`] returns.
pub trait Store: Send + Sync + 'static {
    /// Creates a thread with its first envelope (seq 1).
    fn create_thread(
        &self,
        mailbox: &MailboxId,
        verifier: [u8; 32],
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
    ) -> Result<ThreadRecord, StoreError> {
        self.create_thread_claiming(
            mailbox,
            verifier,
            centre,
            envelope,
            now,
            &[],
            FileQuota::default(),
        )
    }

    /// [`Store::create_thread`] whose first message claims `files`
    /// (uploads of this mailbox bound to `verifier` or to none), all or
    /// nothing: [`StoreError::UnknownFile`] if one is not a complete
    /// unclaimed upload, [`StoreError::Quota`] over `file_quota.files`.
    #[allow(clippy::too_many_arguments)]
    fn create_thread_claiming(
        &self,
        mailbox: &MailboxId,
        verifier: [u8; 32],
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
        files: &[FileId],
        file_quota: FileQuota,
    ) -> Result<ThreadRecord, StoreError>;

    /// The thread's record.
    fn thread(&self, mailbox: &MailboxId) -> Result<Option<ThreadRecord>, StoreError>;

    /// Appends an envelope; returns its sequence number.
    fn append(
        &self,
        mailbox: &MailboxId,
        author: Author,
        envelope: &[u8],
        now: u64,
        quota: Quota,
    ) -> Result<u64, StoreError> {
        self.append_claiming(
            mailbox,
            author,
            envelope,
            now,
            quota,
            &[],
            FileQuota::default(),
        )
    }

    /// [`Store::append`] whose message claims `files`, as
    /// [`Store::create_thread_claiming`].
    #[allow(clippy::too_many_arguments)]
    fn append_claiming(
        &self,
        mailbox: &MailboxId,
        author: Author,
        envelope: &[u8],
        now: u64,
        quota: Quota,
        files: &[FileId],
        file_quota: FileQuota,
    ) -> Result<u64, StoreError>;

    /// Appends each of `jobs` as [`Store::append_claiming`] would, and
    /// returns each one's result, in order. One job's refusal (a quota, an
    /// unknown thread or file) changes nothing for the others. A store may
    /// commit the batch at once (sled: one transaction), so that concurrent
    /// writers share one commit; the relay's group commit
    /// ([`crate::flusher::Flusher::append`]) hands it every append waiting.
    fn append_batch(&self, jobs: &[AppendJob]) -> Vec<Result<u64, StoreError>> {
        jobs.iter()
            .map(|job| {
                self.append_claiming(
                    &job.mailbox,
                    job.author,
                    &job.envelope,
                    job.now,
                    job.quota,
                    &job.claims,
                    job.file_quota,
                )
            })
            .collect()
    }

    /// Starts receiving the blob `file` of `mailbox`, `length` bytes,
    /// bound to `binding` (the verifier of a first contact, or zeros).
    /// [`StoreError::FileExists`] if a message claimed it,
    /// [`StoreError::Quota`] over the thread's file quotas. An unclaimed
    /// upload under the same id is replaced when this one finishes, and
    /// takes `now` as its time at once (the sweeper judges a retry by it).
    fn begin_upload(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
        length: u64,
        binding: [u8; 32],
        now: u64,
        quota: FileQuota,
    ) -> Result<Box<dyn BlobWriter>, StoreError>;

    /// Every partial file's blob key and its bytes
    /// ([`files::BlobDir::partial_sizes`]); none for a store that keeps no
    /// files on disk.
    fn partial_sizes(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        Ok(Vec::new())
    }

    /// Where a staff upload's body waits until its signature is checked:
    /// a directory on the blob files' file system whose files are no
    /// record, count against no quota and are never served.
    fn staging_dir(&self) -> std::path::PathBuf {
        std::env::temp_dir()
    }

    /// A file's record.
    fn file(&self, mailbox: &MailboxId, file: &FileId) -> Result<Option<FileRecord>, StoreError>;

    /// Every file record of a mailbox.
    fn files(&self, mailbox: &MailboxId) -> Result<Vec<(FileId, FileRecord)>, StoreError>;

    /// Every file record (the sweeper, the model test).
    fn all_files(&self) -> Result<Vec<(MailboxId, FileId, FileRecord)>, StoreError>;

    /// A complete blob, to read.
    fn read_blob(&self, mailbox: &MailboxId, file: &FileId) -> Result<BlobReader, StoreError>;

    /// Removes a file: its record and its bytes. False if it had no record.
    fn remove_file(&self, mailbox: &MailboxId, file: &FileId) -> Result<bool, StoreError>;

    /// Removes a file if `stale` says so of its record as it is at the
    /// moment of removal (the sweeper): no claim or upload can come in
    /// between the decision and the removal. False if it was not removed.
    fn remove_file_if(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
        stale: &dyn Fn(&FileRecord) -> Result<bool, StoreError>,
    ) -> Result<bool, StoreError> {
        match self.file(mailbox, file)? {
            Some(record) if stale(&record)? => self.remove_file(mailbox, file),
            _ => Ok(false),
        }
    }

    /// Removes the partial files no upload will finish into
    /// ([`files::partial_abandoned`]: their record is gone, as a crash on
    /// PostgreSQL can lose an upload's partial record but not its bytes,
    /// or complete), untouched for `older_than_secs` and not being
    /// received. Returns how many.
    fn remove_orphan_partials(
        &self,
        _older_than_secs: u64,
        _receiving: &dyn Fn(&[u8; 32]) -> bool,
    ) -> Result<usize, StoreError> {
        Ok(0)
    }

    /// Up to `limit` messages with a sequence number above `after`, in order.
    fn messages(
        &self,
        mailbox: &MailboxId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    /// Deletes a thread and every message, note and file of it. False if it
    /// did not exist.
    fn delete_thread(&self, mailbox: &MailboxId) -> Result<bool, StoreError>;

    /// A centre's threads whose change number is after `since` and before
    /// `before`, newest change first, at most `limit`.
    fn changed_threads(
        &self,
        centre: &CentreId,
        since: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError>;

    /// Staff keep a quiet thread: its last activity becomes `now` (a
    /// minute), so retention counts again from there. Nothing else about
    /// the thread changes.
    fn keep(&self, mailbox: &MailboxId, now: u64) -> Result<(), StoreError>;

    /// Records that the centre's staff have read up to `seq`.
    fn mark_read(&self, mailbox: &MailboxId, seq: u64) -> Result<(), StoreError>;

    /// Replaces the thread's staff-only note envelope.
    fn put_note(&self, mailbox: &MailboxId, envelope: &[u8], now: u64) -> Result<(), StoreError>;

    /// The thread's staff-only note envelope, if any.
    fn note(&self, mailbox: &MailboxId) -> Result<Option<Vec<u8>>, StoreError>;

    /// Moves a thread to another centre, replacing every message's envelope
    /// with its re-sealed form (same sequence numbers) and the note, and
    /// appending the transfer notice, if any, as the next message (all or
    /// nothing). The new centre has read nothing yet.
    fn transfer(
        &self,
        mailbox: &MailboxId,
        to: &CentreId,
        moved: Moved<'_>,
        now: u64,
    ) -> Result<(), StoreError>;

    /// Threads whose last activity is before `cutoff` (Unix seconds).
    fn inactive_since(&self, cutoff: u64) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError>;

    /// Replaces a centre's staff-only record (its reply templates, a kind-3
    /// envelope; PROTOCOL.md §4.10), stored at `now` (a minute).
    fn put_centre_record(
        &self,
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
    ) -> Result<(), StoreError>;

    /// A centre's staff-only record, if staff stored one.
    fn centre_record(&self, centre: &CentreId) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores the signed directory.
    fn set_directory(&self, json: &[u8]) -> Result<(), StoreError>;

    /// The stored signed directory.
    fn directory(&self) -> Result<Option<Vec<u8>>, StoreError>;

    /// Makes every completed write durable.
    fn flush(&self) -> Result<(), StoreError>;

    /// Spends a staff request's nonce at `now` (PROTOCOL.md §7.2):
    /// records it as refused until [`nonce_expiry`]`(until)` and returns
    /// true, or returns false if it is recorded and not expired. Kept in
    /// the store, so a request is refused after a restart too, even one
    /// signed ahead of the relay's clock (its timestamp after the restart).
    fn spend_nonce(&self, nonce: &NonceKey, now: u64, until: u64) -> Result<bool, StoreError>;

    /// Whether a staff request's nonce is recorded and not expired at `now`
    /// (a replay refused before its body is read).
    fn nonce_spent(&self, nonce: &NonceKey, now: u64) -> Result<bool, StoreError>;

    /// Forgets the nonces expired at `now`; returns how many.
    fn sweep_nonces(&self, now: u64) -> Result<usize, StoreError>;
}

/// A spent staff request nonce as the store keys it: SHA-256 of a label,
/// the staff member's Ed25519 key and the request's nonce. Unique like the
/// pair, but the stored key does not say which staff member made a
/// request, nor when.
pub type NonceKey = [u8; 32];

/// The stored expiry of a nonce that must be refused until `until` (Unix
/// seconds): the next whole minute after it, like every stored time.
pub fn nonce_expiry(until: u64) -> u64 {
    to_minute(until).saturating_add(60)
}

/// Whether a stored expiry (8 bytes) still refuses its nonce at `now`. A
/// value of another shape refuses it: a replay is never let through on a
/// record that cannot be read.
pub(crate) fn nonce_live(expiry: &[u8], now: u64) -> bool {
    <[u8; 8]>::try_from(expiry).map_or(true, |b| u64::from_be_bytes(b) >= now)
}

/// Timestamps are kept to the minute: the inbox needs no finer, and coarser
/// times say less about when someone wrote.
pub fn to_minute(unix_seconds: u64) -> u64 {
    unix_seconds - unix_seconds % 60
}
