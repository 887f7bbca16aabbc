//! The seam between the relay and its storage engine.
//!
//! The routes, the flusher's callers, the sweeper and the notifier use
//! [`Storage`], an async trait, and never learn which engine runs. The
//! embedded engines ([`super::SledStore`], and [`super::MemoryStore`] in
//! tests) implement the synchronous [`Store`]; [`Embedded`] puts one behind
//! the seam by calling it inline, not on Tokio's blocking pool: a sled
//! operation takes microseconds, less than a hand-off to another thread
//! and back (the flusher's thread already takes the one slow call, the
//! fsync). An engine that talks to a
//! server (PostgreSQL, issue 16) implements [`Storage`] itself, with real
//! awaits.
//!
//! Every method means what the [`Store`] method of the same name says.
//!
//! An upload through the seam is an [`Upload`]: its chunks are written to
//! a local file as they come (synchronous, like the embedded
//! [`BlobWriter`]), but finishing and aborting it may wait on the engine,
//! so they are async. [`Embedded`] finishes an embedded store's upload on
//! Tokio's blocking pool (it waits for the disk: an fsync and a rename),
//! and counts the files for the disk bound there (a pass over every file
//! record, a stat per partial file).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::FileId;

use super::{
    Author, BlobReader, BlobWriter, CentreId, FileQuota, FileRecord, FileState, Moved, NonceKey,
    Quota, Store, StoreError, StoredMessage, ThreadRecord,
};

/// Runs blocking work (an fsync, a rename, a pass over files) on Tokio's
/// blocking pool, off the async workers; `what` names it in the error if
/// the task does not complete.
pub(crate) async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| StoreError::Backend(format!("{what} did not complete")))?
}

/// The relay's storage, whichever engine holds it. See [`Store`] for what
/// each method does.
#[async_trait]
#[allow(missing_docs)]
pub trait Storage: Send + Sync + 'static {
    #[allow(clippy::too_many_arguments)]
    async fn create_thread_claiming(
        &self,
        mailbox: &MailboxId,
        verifier: [u8; 32],
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
        files: &[FileId],
        file_quota: FileQuota,
    ) -> Result<ThreadRecord, StoreError>;

    async fn create_thread(
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
        .await
    }

    async fn thread(&self, mailbox: &MailboxId) -> Result<Option<ThreadRecord>, StoreError>;

    async fn append(
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
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn append_claiming(
        &self,
        mailbox: &MailboxId,
        author: Author,
        envelope: &[u8],
        now: u64,
        quota: Quota,
        files: &[FileId],
        file_quota: FileQuota,
    ) -> Result<u64, StoreError>;

    async fn begin_upload(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
        length: u64,
        binding: [u8; 32],
        now: u64,
        quota: FileQuota,
    ) -> Result<Box<dyn Upload>, StoreError>;

    fn staging_dir(&self) -> PathBuf;

    /// Every partial file's blob key and the bytes it holds (uploads being
    /// received, or broken off): what the disk bound counts of them.
    async fn partial_sizes(&self) -> Result<Vec<([u8; 32], u64)>, StoreError>;

    /// The bytes of every complete blob, claimed or not: what the disk
    /// bound counts of them. Any upload's headers may set off this count
    /// (at most every 5 s), so an engine sums them where they are and off
    /// the async workers.
    async fn complete_file_bytes(&self) -> Result<u64, StoreError>;

    /// Removes a file: its record and its bytes (tools and the model
    /// test; the relay removes files through [`Storage::delete_thread`]
    /// and [`Storage::remove_stale_files`]).
    async fn remove_file(&self, mailbox: &MailboxId, file: &FileId) -> Result<bool, StoreError>;

    async fn file(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
    ) -> Result<Option<FileRecord>, StoreError>;

    async fn files(&self, mailbox: &MailboxId) -> Result<Vec<(FileId, FileRecord)>, StoreError>;

    async fn all_files(&self) -> Result<Vec<(MailboxId, FileId, FileRecord)>, StoreError>;

    async fn read_blob(&self, mailbox: &MailboxId, file: &FileId)
    -> Result<BlobReader, StoreError>;

    /// Removes uploads no message claimed within `pending_file_secs` (and
    /// not being received: `receiving` says so of a mailbox id ‖ file id),
    /// claimed files whose thread is gone and orphaned partial bytes, each
    /// judged on its record as it is at the moment of removal (the
    /// sweeper). Returns how many.
    async fn remove_stale_files(
        &self,
        now: u64,
        pending_file_secs: u64,
        receiving: &(dyn for<'k> Fn(&'k [u8; 32]) -> bool + Sync),
    ) -> Result<usize, StoreError>;

    async fn messages(
        &self,
        mailbox: &MailboxId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    async fn delete_thread(&self, mailbox: &MailboxId) -> Result<bool, StoreError>;

    async fn changed_threads(
        &self,
        centre: &CentreId,
        since: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError>;

    async fn keep(&self, mailbox: &MailboxId, now: u64) -> Result<(), StoreError>;

    async fn mark_read(&self, mailbox: &MailboxId, seq: u64) -> Result<(), StoreError>;

    async fn put_note(
        &self,
        mailbox: &MailboxId,
        envelope: &[u8],
        now: u64,
    ) -> Result<(), StoreError>;

    async fn note(&self, mailbox: &MailboxId) -> Result<Option<Vec<u8>>, StoreError>;

    async fn transfer(
        &self,
        mailbox: &MailboxId,
        to: &CentreId,
        moved: Moved<'_>,
        now: u64,
    ) -> Result<(), StoreError>;

    async fn inactive_since(
        &self,
        cutoff: u64,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError>;

    async fn put_centre_record(
        &self,
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
    ) -> Result<(), StoreError>;

    async fn centre_record(&self, centre: &CentreId) -> Result<Option<Vec<u8>>, StoreError>;

    async fn set_directory(&self, json: &[u8]) -> Result<(), StoreError>;

    async fn directory(&self) -> Result<Option<Vec<u8>>, StoreError>;

    async fn spend_nonce(&self, nonce: &NonceKey, now: u64, until: u64)
    -> Result<bool, StoreError>;

    async fn nonce_spent(&self, nonce: &NonceKey, now: u64) -> Result<bool, StoreError>;

    async fn sweep_nonces(&self, now: u64) -> Result<usize, StoreError>;
}

/// An upload being received through the seam; see [`BlobWriter`] for what
/// each method does. Dropping it without finishing leaves a partial record
/// that a retry under the same id replaces and the sweeper removes.
#[async_trait]
pub trait Upload: Send {
    /// Appends bytes (to a local file: quick, called inline).
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError>;
    /// Checks the length, makes the bytes durable and marks the upload
    /// complete.
    async fn finish(self: Box<Self>) -> Result<(), StoreError>;
    /// Throws the upload away (the bytes received and a record this upload
    /// created); a complete upload it would have replaced stays.
    async fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

/// An embedded store's [`BlobWriter`] behind the seam.
struct EmbeddedUpload(Box<dyn BlobWriter>);

#[async_trait]
impl Upload for EmbeddedUpload {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.0.write(bytes)
    }

    async fn finish(self: Box<Self>) -> Result<(), StoreError> {
        // Off the async workers: it waits for the disk (the bytes' fsync,
        // the rename, the directory's fsync).
        let writer = self.0;
        blocking("an upload's finish", move || writer.finish()).await
    }

    async fn abort(self: Box<Self>) -> Result<(), StoreError> {
        self.0.abort()
    }
}

/// [`Storage::remove_stale_files`] on an embedded store: `receiving` says
/// whether an upload is being received under a key (mailbox id ‖ file id)
/// right now.
pub fn remove_stale_files(
    store: &dyn Store,
    now: u64,
    pending_file_secs: u64,
    receiving: &dyn Fn(&[u8; 32]) -> bool,
) -> Result<usize, StoreError> {
    // Records keep the minute an upload began, rounded down: a minute more
    // so that none goes early.
    let cutoff = now.saturating_sub(pending_file_secs.saturating_add(60));
    let mut removed = 0;
    for (mailbox, file, _) in store.all_files()? {
        let key = super::FileRecord::key(&mailbox, &file);
        // Judged again on the record as it is when removed (a claim or a
        // retry may have come since the listing).
        let stale = |record: &super::FileRecord| {
            Ok(if record.unclaimed() {
                record.created_at <= cutoff && !receiving(&key)
            } else {
                store.thread(&mailbox)?.is_none()
            })
        };
        if store.remove_file_if(&mailbox, &file, &stale)? {
            removed += 1;
        }
    }
    removed += store.remove_orphan_partials(pending_file_secs, receiving)?;
    Ok(removed)
}

/// An embedded [`Store`] behind the seam, called inline.
#[derive(Clone)]
pub struct Embedded(pub Arc<dyn Store>);

#[async_trait]
impl Storage for Embedded {
    async fn create_thread_claiming(
        &self,
        mailbox: &MailboxId,
        verifier: [u8; 32],
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
        files: &[FileId],
        file_quota: FileQuota,
    ) -> Result<ThreadRecord, StoreError> {
        self.0
            .create_thread_claiming(mailbox, verifier, centre, envelope, now, files, file_quota)
    }

    async fn thread(&self, mailbox: &MailboxId) -> Result<Option<ThreadRecord>, StoreError> {
        self.0.thread(mailbox)
    }

    async fn append_claiming(
        &self,
        mailbox: &MailboxId,
        author: Author,
        envelope: &[u8],
        now: u64,
        quota: Quota,
        files: &[FileId],
        file_quota: FileQuota,
    ) -> Result<u64, StoreError> {
        self.0
            .append_claiming(mailbox, author, envelope, now, quota, files, file_quota)
    }

    async fn begin_upload(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
        length: u64,
        binding: [u8; 32],
        now: u64,
        quota: FileQuota,
    ) -> Result<Box<dyn Upload>, StoreError> {
        let writer = self
            .0
            .begin_upload(mailbox, file, length, binding, now, quota)?;
        Ok(Box::new(EmbeddedUpload(writer)))
    }

    fn staging_dir(&self) -> PathBuf {
        self.0.staging_dir()
    }

    async fn partial_sizes(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        // A stat per partial file: on the blocking pool, like the count below.
        let store = Arc::clone(&self.0);
        blocking("counting partial files", move || store.partial_sizes()).await
    }

    async fn complete_file_bytes(&self) -> Result<u64, StoreError> {
        // A pass over every file record: on the blocking pool, not inline.
        let store = Arc::clone(&self.0);
        blocking("counting files", move || {
            Ok(store
                .all_files()?
                .iter()
                .filter(|(_, _, r)| r.state != FileState::Partial)
                .fold(0u64, |sum, (_, _, r)| sum.saturating_add(r.length)))
        })
        .await
    }

    async fn remove_file(&self, mailbox: &MailboxId, file: &FileId) -> Result<bool, StoreError> {
        self.0.remove_file(mailbox, file)
    }

    async fn file(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
    ) -> Result<Option<FileRecord>, StoreError> {
        self.0.file(mailbox, file)
    }

    async fn files(&self, mailbox: &MailboxId) -> Result<Vec<(FileId, FileRecord)>, StoreError> {
        self.0.files(mailbox)
    }

    async fn all_files(&self) -> Result<Vec<(MailboxId, FileId, FileRecord)>, StoreError> {
        self.0.all_files()
    }

    async fn read_blob(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
    ) -> Result<BlobReader, StoreError> {
        self.0.read_blob(mailbox, file)
    }

    async fn remove_stale_files(
        &self,
        now: u64,
        pending_file_secs: u64,
        receiving: &(dyn for<'k> Fn(&'k [u8; 32]) -> bool + Sync),
    ) -> Result<usize, StoreError> {
        remove_stale_files(self.0.as_ref(), now, pending_file_secs, receiving)
    }

    async fn messages(
        &self,
        mailbox: &MailboxId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.0.messages(mailbox, after, limit)
    }

    async fn delete_thread(&self, mailbox: &MailboxId) -> Result<bool, StoreError> {
        self.0.delete_thread(mailbox)
    }

    async fn changed_threads(
        &self,
        centre: &CentreId,
        since: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        self.0.changed_threads(centre, since, before, limit)
    }

    async fn keep(&self, mailbox: &MailboxId, now: u64) -> Result<(), StoreError> {
        self.0.keep(mailbox, now)
    }

    async fn mark_read(&self, mailbox: &MailboxId, seq: u64) -> Result<(), StoreError> {
        self.0.mark_read(mailbox, seq)
    }

    async fn put_note(
        &self,
        mailbox: &MailboxId,
        envelope: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        self.0.put_note(mailbox, envelope, now)
    }

    async fn note(&self, mailbox: &MailboxId) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.note(mailbox)
    }

    async fn transfer(
        &self,
        mailbox: &MailboxId,
        to: &CentreId,
        moved: Moved<'_>,
        now: u64,
    ) -> Result<(), StoreError> {
        self.0.transfer(mailbox, to, moved, now)
    }

    async fn inactive_since(
        &self,
        cutoff: u64,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        self.0.inactive_since(cutoff)
    }

    async fn put_centre_record(
        &self,
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        self.0.put_centre_record(centre, envelope, now)
    }

    async fn centre_record(&self, centre: &CentreId) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.centre_record(centre)
    }

    async fn set_directory(&self, json: &[u8]) -> Result<(), StoreError> {
        self.0.set_directory(json)
    }

    async fn directory(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.directory()
    }

    async fn spend_nonce(
        &self,
        nonce: &NonceKey,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        self.0.spend_nonce(nonce, now, until)
    }

    async fn nonce_spent(&self, nonce: &NonceKey, now: u64) -> Result<bool, StoreError> {
        self.0.nonce_spent(nonce, now)
    }

    async fn sweep_nonces(&self, now: u64) -> Result<usize, StoreError> {
        self.0.sweep_nonces(now)
    }
}
