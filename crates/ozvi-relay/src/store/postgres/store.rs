//! The relay's records on PostgreSQL (issue 16): [`PgStore`] implements the
//! store seam ([`crate::store::Storage`]) with real awaits on a
//! `deadpool-postgres` pool. SKELETON: every method is being written; until
//! then each answers [`StoreError::Backend`].

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::FileId;

use super::{PgError, Pool};
use crate::store::files::BlobDir;
use crate::store::{
    Author, BlobReader, BlobWriter, CentreId, FileQuota, FileRecord, Moved, NonceKey, Quota,
    Storage, StoreError, StoredMessage, ThreadRecord,
};

/// The relay's records in a PostgreSQL database; attached files' bytes in
/// a blob directory (`files/` of `blob_data`).
pub struct PgStore {
    pool: Pool,
    blobs: BlobDir,
}

impl PgStore {
    /// Connects to `url`, applies pending migrations, and keeps attached
    /// files' bytes under `blob_data` (`files/`).
    pub async fn open(url: &str, blob_data: &Path) -> Result<Self, PgError> {
        let pool = super::connect(url).await?;
        Self::on(pool, blob_data)
    }

    /// A store on an already connected and migrated `pool`.
    pub fn on(pool: Pool, blob_data: &Path) -> Result<Self, PgError> {
        let blobs = BlobDir::open(blob_data, false)
            .map_err(|e| PgError::Database(format!("blob directory: {e}")))?;
        Ok(Self { pool, blobs })
    }

    /// The pool (tests, export).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

fn todo<T>() -> Result<T, StoreError> {
    Err(StoreError::Backend("PgStore: not written yet".into()))
}

#[async_trait]
impl Storage for PgStore {
    async fn create_thread_claiming(
        &self,
        _mailbox: &MailboxId,
        _verifier: [u8; 32],
        _centre: &CentreId,
        _envelope: &[u8],
        _now: u64,
        _files: &[FileId],
        _file_quota: FileQuota,
    ) -> Result<ThreadRecord, StoreError> {
        todo()
    }
    async fn thread(&self, _mailbox: &MailboxId) -> Result<Option<ThreadRecord>, StoreError> {
        todo()
    }
    async fn append_claiming(
        &self,
        _mailbox: &MailboxId,
        _author: Author,
        _envelope: &[u8],
        _now: u64,
        _quota: Quota,
        _files: &[FileId],
        _file_quota: FileQuota,
    ) -> Result<u64, StoreError> {
        todo()
    }
    async fn begin_upload(
        &self,
        _mailbox: &MailboxId,
        _file: &FileId,
        _length: u64,
        _binding: [u8; 32],
        _now: u64,
        _quota: FileQuota,
    ) -> Result<Box<dyn BlobWriter>, StoreError> {
        todo()
    }
    fn staging_dir(&self) -> PathBuf {
        self.blobs.staging().to_path_buf()
    }
    async fn file(
        &self,
        _mailbox: &MailboxId,
        _file: &FileId,
    ) -> Result<Option<FileRecord>, StoreError> {
        todo()
    }
    async fn files(&self, _mailbox: &MailboxId) -> Result<Vec<(FileId, FileRecord)>, StoreError> {
        todo()
    }
    async fn all_files(&self) -> Result<Vec<(MailboxId, FileId, FileRecord)>, StoreError> {
        todo()
    }
    async fn read_blob(
        &self,
        _mailbox: &MailboxId,
        _file: &FileId,
    ) -> Result<BlobReader, StoreError> {
        todo()
    }
    async fn remove_stale_files(
        &self,
        _now: u64,
        _pending_file_secs: u64,
        _receiving: &(dyn for<'k> Fn(&'k [u8; 32]) -> bool + Sync),
    ) -> Result<usize, StoreError> {
        todo()
    }
    async fn messages(
        &self,
        _mailbox: &MailboxId,
        _after: u64,
        _limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        todo()
    }
    async fn delete_thread(&self, _mailbox: &MailboxId) -> Result<bool, StoreError> {
        todo()
    }
    async fn changed_threads(
        &self,
        _centre: &CentreId,
        _since: u64,
        _before: u64,
        _limit: usize,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        todo()
    }
    async fn keep(&self, _mailbox: &MailboxId, _now: u64) -> Result<(), StoreError> {
        todo()
    }
    async fn mark_read(&self, _mailbox: &MailboxId, _seq: u64) -> Result<(), StoreError> {
        todo()
    }
    async fn put_note(
        &self,
        _mailbox: &MailboxId,
        _envelope: &[u8],
        _now: u64,
    ) -> Result<(), StoreError> {
        todo()
    }
    async fn note(&self, _mailbox: &MailboxId) -> Result<Option<Vec<u8>>, StoreError> {
        todo()
    }
    async fn transfer(
        &self,
        _mailbox: &MailboxId,
        _to: &CentreId,
        _moved: Moved<'_>,
        _now: u64,
    ) -> Result<(), StoreError> {
        todo()
    }
    async fn inactive_since(
        &self,
        _cutoff: u64,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        todo()
    }
    async fn put_centre_record(
        &self,
        _centre: &CentreId,
        _envelope: &[u8],
        _now: u64,
    ) -> Result<(), StoreError> {
        todo()
    }
    async fn centre_record(&self, _centre: &CentreId) -> Result<Option<Vec<u8>>, StoreError> {
        todo()
    }
    async fn set_directory(&self, _json: &[u8]) -> Result<(), StoreError> {
        todo()
    }
    async fn directory(&self) -> Result<Option<Vec<u8>>, StoreError> {
        todo()
    }
    async fn spend_nonce(
        &self,
        _nonce: &NonceKey,
        _now: u64,
        _until: u64,
    ) -> Result<bool, StoreError> {
        todo()
    }
    async fn nonce_spent(&self, _nonce: &NonceKey, _now: u64) -> Result<bool, StoreError> {
        todo()
    }
    async fn sweep_nonces(&self, _now: u64) -> Result<usize, StoreError> {
        todo()
    }
}
