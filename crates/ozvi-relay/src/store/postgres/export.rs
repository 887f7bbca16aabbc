//! `ozvi-relay export OUT` with `store = "postgres"`: the relay's records,
//! read in one `REPEATABLE READ, READ ONLY` transaction (a consistent
//! snapshot, taken while the relays keep serving), written into a new sled
//! database at `OUT` in exactly the layout a sled relay's export has
//! (docs/API.md "What is stored"), with the complete blobs hard-linked (or
//! copied) from `DATA/files` into `OUT/files`.
//!
//! Why the sled layout rather than a dump: `ozvi-audit store OUT` then reads
//! it with every check it has for a sled export, offline and without access
//! to the database, and the same snapshot can be opened by a sled relay.
//! Each row goes through the PostgreSQL store's own decoders and the sled
//! store's encoders, so a row the relay itself would refuse stops the
//! export (`StoreError::Corrupt`) instead of being copied. Spent staff
//! nonces are left out, as in a sled export; admission's UNLOGGED tables
//! are not records. The backup of the database itself is `pg_dump` (docs/
//! OPERATIONS.md); the export is the auditor's copy and a portable one.
//!
//! It connects without the pool and applies no migration: an export never
//! changes the database. A database whose schema is not this relay's
//! version is refused. The blob directory is only read (not opened as the
//! store opens it, which would clear a running relay's `staging/`).

use std::path::Path;

use futures_util::{StreamExt, TryStreamExt};
use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::FileId;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, RowStream};

use super::store::{FILE_COLUMNS, THREAD_COLUMNS, file_record, thread_record};
use super::{PgError, SCHEMA_VERSION, Secret, describe};
use crate::store::files::BlobDir;
use crate::store::records::{ActivityKey, MessageKey};
use crate::store::{CentreId, FileRecord, FileState, StoreError, StoredMessage};

/// What an export copied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    /// Threads and cases.
    pub threads: u64,
    /// Messages and case entries.
    pub messages: u64,
    /// Complete files (their blobs copied).
    pub files: u64,
}

/// Writes the snapshot of the database at `url` to the new directory `out`
/// (absolute, not existing yet), the blobs from `data`'s `files/`.
pub async fn export(url: &str, data: &Path, out: &Path) -> Result<Exported, PgError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|_| PgError::Url)?;
    let secret = Secret(
        config
            .get_password()
            .map(|p| zeroize::Zeroizing::new(p.to_vec())),
    );
    if config.get_application_name().is_none() {
        config.application_name("ozvi-relay export");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| PgError::Connect(secret.redact(describe(&e))))?;
    tokio::spawn(connection);
    let failed = |e: tokio_postgres::Error| PgError::Database(secret.redact(describe(&e)));
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(failed)?;
    let version: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM ozvi_schema", &[])
        .await
        .map_err(failed)?
        .try_get(0)
        .map_err(|_| PgError::Database("ozvi_schema: the version is not an integer".into()))?;
    if u32::try_from(version).ok() != Some(SCHEMA_VERSION) {
        return Err(PgError::Database(format!(
            "the database's schema is version {version}, this relay's {SCHEMA_VERSION}: export \
             with the relay that uses it"
        )));
    }
    let target = sled::Config::new()
        .path(out)
        .open()
        .map_err(|e| PgError::Database(format!("cannot create the export: {e}")))?;
    let (exported, complete) = copy_records(&client, &target)
        .await
        .map_err(|e| PgError::Database(secret.redact(e.to_string())))?;
    client.batch_execute("COMMIT").await.map_err(failed)?;
    target
        .flush()
        .map_err(|e| PgError::Database(format!("cannot write the export: {e}")))?;
    drop(target);
    // The blobs of complete files are never changed, only removed: one
    // removed since the snapshot (its thread deleted) fails the export,
    // which can be run again.
    BlobDir::reading(data)
        .link_to(out, &complete)
        .and_then(|copies| copies.finish())
        .map_err(|e| PgError::Database(format!("cannot copy the blobs: {e}")))?;
    Ok(exported)
}

/// A failure while copying: the database's or the target's.
#[derive(Debug, thiserror::Error)]
enum CopyError {
    #[error("{0}")]
    Database(String),
    #[error("a record the relay cannot read: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Sled(#[from] sled::Error),
}

impl From<tokio_postgres::Error> for CopyError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Database(describe(&e))
    }
}

async fn stream(client: &Client, sql: &str) -> Result<RowStream, CopyError> {
    let params: [&(dyn ToSql + Sync); 0] = [];
    Ok(client.query_raw(sql, params.iter().copied()).await?)
}

fn bytes(row: &Row, at: usize) -> Result<&[u8], StoreError> {
    row.try_get(at).map_err(|_| StoreError::Corrupt)
}

fn number(row: &Row, at: usize) -> Result<u64, StoreError> {
    row.try_get::<_, i64>(at)
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(StoreError::Corrupt)
}

fn mailbox(row: &Row, at: usize) -> Result<MailboxId, StoreError> {
    let id: [u8; 16] = bytes(row, at)?
        .try_into()
        .map_err(|_| StoreError::Corrupt)?;
    Ok(MailboxId(id))
}

/// version 1 ‖ stored at ‖ envelope, from the row's `stored_at, envelope`
/// at `at`.
fn stored(row: &Row, at: usize) -> Result<Vec<u8>, StoreError> {
    Ok(StoredMessage {
        seq: 0,
        stored_at: number(row, at)?,
        envelope: bytes(row, at + 1)?.to_vec(),
    }
    .encode_value())
}

/// Every record into `target`'s trees; the complete files' keys.
async fn copy_records(
    client: &Client,
    target: &sled::Db,
) -> Result<(Exported, Vec<(MailboxId, FileId)>), CopyError> {
    let mut exported = Exported::default();
    let threads = target.open_tree("threads")?;
    let activity = target.open_tree("activity")?;
    let mut rows = Box::pin(
        stream(
            client,
            &format!("SELECT mailbox_id, {THREAD_COLUMNS} FROM threads"),
        )
        .await?,
    );
    while let Some(row) = rows.try_next().await? {
        let (mailbox, record) = thread_record(&row)?;
        threads.insert(mailbox.0, record.encode())?;
        activity.insert(
            ActivityKey::encode(&record.centre, record.change, &mailbox),
            &[],
        )?;
        exported.threads += 1;
    }

    let messages = target.open_tree("messages")?;
    let mut rows = Box::pin(
        stream(
            client,
            "SELECT mailbox_id, seq, stored_at, envelope FROM messages",
        )
        .await?,
    );
    while let Some(row) = rows.next().await.transpose()? {
        let key = MessageKey::encode(&mailbox(&row, 0)?, number(&row, 1)?);
        messages.insert(key, stored(&row, 2)?)?;
        exported.messages += 1;
    }

    let notes = target.open_tree("notes")?;
    let mut rows =
        Box::pin(stream(client, "SELECT mailbox_id, stored_at, envelope FROM notes").await?);
    while let Some(row) = rows.try_next().await? {
        notes.insert(mailbox(&row, 0)?.0, stored(&row, 1)?)?;
    }

    let centres = target.open_tree("centres")?;
    let mut rows = Box::pin(
        stream(
            client,
            "SELECT centre, stored_at, envelope FROM centre_records",
        )
        .await?,
    );
    while let Some(row) = rows.try_next().await? {
        let centre = row
            .try_get::<_, &str>(0)
            .ok()
            .and_then(CentreId::parse)
            .ok_or(StoreError::Corrupt)?;
        centres.insert(centre.to_fixed(), stored(&row, 1)?)?;
    }

    let system = target.open_tree("system")?;
    if let Some(row) = client.query_opt("SELECT json FROM directory", &[]).await? {
        system.insert("directory", bytes(&row, 0)?)?;
    }

    let files = target.open_tree("files")?;
    let mut complete = Vec::new();
    let mut rows = Box::pin(
        stream(
            client,
            &format!("SELECT mailbox_id, file_id, {FILE_COLUMNS} FROM files"),
        )
        .await?,
    );
    while let Some(row) = rows.try_next().await? {
        let mailbox = mailbox(&row, 0)?;
        let file = FileId(
            bytes(&row, 1)?
                .try_into()
                .map_err(|_| StoreError::Corrupt)?,
        );
        let record = file_record(&row, 2)?;
        files.insert(FileRecord::key(&mailbox, &file), record.encode())?;
        // A partial upload is being received and belongs to no message.
        if record.state != FileState::Partial {
            complete.push((mailbox, file));
            exported.files += 1;
        }
    }
    Ok((exported, complete))
}
