//! The relay's records on PostgreSQL (issue 16): [`PgStore`] implements the
//! store seam ([`crate::store::Storage`]) with real awaits on a
//! `deadpool-postgres` pool, behaving as the sled store does (the model
//! test, `tests/store_model.rs`, holds both to the same model).
//!
//! Plain SQL, one transaction a write (READ COMMITTED):
//! * Writers to one thread serialise on its row (`SELECT ... FOR UPDATE`):
//!   counters, sequence numbers and quotas are read and written under it.
//! * A change number is the writing transaction's id
//!   (`pg_current_xact_id()`, an xid8: it never repeats and grows), so one
//!   write transaction changes one thread (`UNIQUE (centre, change)`: a
//!   creation, an append, a note, keeping a thread and a transfer change
//!   one each; marking read takes no change), and no centre-wide lock is
//!   taken: writes to one centre commit side by side. Ids are handed out
//!   in the order transactions ask, not the order they commit, so
//!   `changed_threads` lists only changes below its snapshot's xmin: every
//!   transaction with a smaller id has then ended, and a desk whose cursor
//!   has seen change N never later finds a thread committed with a change
//!   at or below N (`tests/postgres_store.rs`). A change is thus listable
//!   only once every older writing transaction has ended; a write returns
//!   only then (or after [`LISTABLE_WAIT`] at most), so that the
//!   notification which follows it never sends a desk to fetch a change it
//!   cannot list yet. A transfer's change is listed under the new centre.
//! * Lock order: a thread's row, then its mailbox's file lock (below), then
//!   file rows.
//! * Times are stored as whole minutes ([`to_minute`]), as sled stores
//!   them; every u64 goes to a bigint and back through a checked
//!   conversion ([`StoreError::Corrupt`] out of range).
//!
//! Attached files: their records in `files`, their bytes in the blob
//! directory (`files/` of the directory [`PgStore::open`] is given), as
//! the sled store keeps them. The database does not hold the bytes, so
//! **several relays on one database must share that `files/` directory**
//! (one file system mounted there on every relay): any relay may be asked
//! for any file, and every relay's sweeper removes the bytes of the
//! records it removes. (`staging/` beside it is each relay's own: it is
//! emptied when a store opens.) The file operations of one mailbox
//! (beginning, finishing and aborting an upload, the sweeper's judgement)
//! hold a transaction-scoped advisory lock of the mailbox, which every
//! relay on the database sees, and do their disk work under it; claims
//! lock the file rows they claim, and finishing and sweeping lock the row
//! they judge, so a claim never lands between a replacing upload's check
//! and its writes, and the sweeper removes a record as it judged it.
//!
//! Errors: a connection that cannot be had or was lost (server down or
//! restarting, pool timeout, closed connection) is
//! [`StoreError::Unavailable`]; any other database error
//! [`StoreError::Backend`]; both carry [`super::describe`]'s text, never a
//! row's values or the URL. A constraint the store relies on maps to the
//! error the sled store gives (a thread that exists: `Exists`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Object, PoolError};
use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::FileId;
use tokio::sync::watch;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::{PgError, Pool, describe, pool_cause};
use crate::store::files::{self, BlobDir, io};
use crate::store::storage::blocking;
use crate::store::{
    Author, BlobReader, CentreId, FileQuota, FileRecord, FileState, Moved, NonceKey, Quota,
    Storage, StoreError, StoredMessage, ThreadRecord, Upload, nonce_expiry, to_minute,
};

/// The relay's records in a PostgreSQL database; attached files' bytes in
/// a blob directory (`files/` of `blob_data`; see the module's doc).
pub struct PgStore {
    pool: Pool,
    blobs: Arc<BlobDir>,
    horizon: Arc<Horizon>,
    /// The partial file of this relay's latest upload attempt of each blob
    /// key ([`BlobDir::create_partial`], a fresh name per attempt): an
    /// attempt removes what this relay's attempt before it left, as the
    /// sled store does, so that a holder who sends a cut upload again and
    /// again leaves one file, not one per attempt (each kept while its
    /// record was being received, and every scan of the shared folder
    /// slower). Another relay's attempts are its own to clear.
    partials: Arc<Partials>,
}

impl PgStore {
    /// Connects to `url`, applies pending migrations, and keeps attached
    /// files' bytes under `blob_data` (`files/`).
    pub async fn open(url: &str, blob_data: &Path) -> Result<Self, PgError> {
        // Before the database is touched (the blob folder is marked as
        // PostgreSQL's once it is reached: [`PgStore::on`]).
        files::check_owner(blob_data, files::Owner::Postgres)
            .map_err(|e| PgError::DataDirectory(e.to_string()))?;
        let pool = super::connect(url).await?;
        Self::on(pool, blob_data)
    }

    /// A store on an already connected and migrated `pool`.
    pub fn on(pool: Pool, blob_data: &Path) -> Result<Self, PgError> {
        let blobs = BlobDir::open(blob_data, false, files::Owner::Postgres)
            .map_err(|e| PgError::DataDirectory(e.to_string()))?;
        Ok(Self {
            pool,
            blobs: Arc::new(blobs),
            horizon: Arc::new(Horizon::default()),
            partials: Arc::default(),
        })
    }

    /// The pool (tests, export).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<Object, StoreError> {
        connection(&self.pool).await
    }
}

/// How long one round trip (a statement, a transaction's begin or commit)
/// may take before the database counts as out of reach: a server that
/// hangs, or a network path that drops packets, answers nothing and
/// refuses nothing, and without a deadline every request that needs it
/// would wait until TCP gives up (minutes). Every statement here takes
/// milliseconds.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// A round trip that did not end within [`DEADLINE`].
fn late() -> StoreError {
    StoreError::Unavailable(format!(
        "the database did not answer within {} s",
        DEADLINE.as_secs()
    ))
}

/// `work` (one round trip) within [`DEADLINE`], its error as the store's.
async fn timed<T>(
    work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(DEADLINE, work)
        .await
        .map_err(|_| late())?
        .map_err(db)
}

async fn connection(pool: &Pool) -> Result<Object, StoreError> {
    pool.get().await.map_err(pool_error)
}

/// A database error: [`StoreError::Unavailable`] if the server could not
/// be reached or the connection was lost, else [`StoreError::Backend`].
fn db(error: tokio_postgres::Error) -> StoreError {
    if unreachable(&error) {
        StoreError::Unavailable(describe(&error))
    } else {
        StoreError::Backend(describe(&error))
    }
}

/// Whether an error says the server is out of reach (down, restarting,
/// the connection gone), as opposed to refusing a statement.
fn unreachable(error: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(code)
        }
        // No server error: the client's own, an I/O failure among them.
        None => error
            .source()
            .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()),
    }
}

/// The pool could not give a connection: the server is out of reach (or
/// refused the relay, which is as unavailable).
fn pool_error(error: PoolError) -> StoreError {
    StoreError::Unavailable(pool_cause(&error))
}

/// A u64 for a bigint column.
fn to_db(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt)
}

/// A bigint column's u64.
fn from_db(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt)
}

/// A bigint column's u32 (the sled records' u32 fields).
fn u32_from_db(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt)
}

/// An inclusive upper bound for a bigint comparison: every stored value is
/// at most `i64::MAX`, so a larger bound is that.
fn upper(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A column, or [`StoreError::Corrupt`] if it does not convert.
fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    at: usize,
) -> Result<T, StoreError> {
    row.try_get(at).map_err(|_| StoreError::Corrupt)
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt)
}

/// Runs a statement (prepared once per connection) and returns its rows.
async fn rows<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let statement = timed(client.prepare_cached(sql)).await?;
    timed(client.query(&statement, params)).await
}

/// [`rows`] for at most one row.
async fn row<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let statement = timed(client.prepare_cached(sql)).await?;
    timed(client.query_opt(&statement, params)).await
}

/// Runs a statement; returns how many rows it touched.
async fn exec<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = timed(client.prepare_cached(sql)).await?;
    timed(client.execute(&statement, params)).await
}

/// What [`blocking`] names blob file work on this store.
const BLOB_TASK: &str = "blob file: the task";

/// A thread's columns after its mailbox id, in [`ThreadRecord`]'s order.
pub(super) const THREAD_COLUMNS: &str = "verifier, centre, created_at, last_activity, unanswered_since, \
     change, last_seq, message_count, total_bytes, staff_read_seq, unread";

/// The record in a row of `mailbox_id, THREAD_COLUMNS`.
pub(super) fn thread_record(row: &Row) -> Result<(MailboxId, ThreadRecord), StoreError> {
    let mailbox = MailboxId(fixed(col::<&[u8]>(row, 0)?)?);
    let centre = CentreId::parse(col::<&str>(row, 2)?).ok_or(StoreError::Corrupt)?;
    let number = |at: usize| col::<i64>(row, at).and_then(from_db);
    let record = ThreadRecord {
        verifier: fixed(col::<&[u8]>(row, 1)?)?,
        centre,
        created_at: number(3)?,
        last_activity: number(4)?,
        unanswered_since: number(5)?,
        change: number(6)?,
        last_seq: number(7)?,
        message_count: u32_from_db(col(row, 8)?)?,
        total_bytes: number(9)?,
        staff_read_seq: number(10)?,
        unread: u32_from_db(col(row, 11)?)?,
    };
    Ok((mailbox, record))
}

/// A record's numbers as the columns hold them, from `created_at` on.
fn thread_numbers(record: &ThreadRecord) -> Result<[i64; 9], StoreError> {
    Ok([
        to_db(record.created_at)?,
        to_db(record.last_activity)?,
        to_db(record.unanswered_since)?,
        to_db(record.change)?,
        to_db(record.last_seq)?,
        i64::from(record.message_count),
        to_db(record.total_bytes)?,
        to_db(record.staff_read_seq)?,
        i64::from(record.unread),
    ])
}

/// Writes a thread's record: inserted if `new`, else replacing its row.
async fn put_thread<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    record: &ThreadRecord,
    new: bool,
) -> Result<(), StoreError> {
    let m: &[u8] = &mailbox.0;
    let v: &[u8] = &record.verifier;
    let centre = record.centre.as_str();
    let [a, b, c, d, e, f, g, h, i] = thread_numbers(record)?;
    let sql = if new {
        "INSERT INTO threads (mailbox_id, verifier, centre, created_at, last_activity, \
         unanswered_since, change, last_seq, message_count, total_bytes, staff_read_seq, unread) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    } else {
        "UPDATE threads SET verifier = $2, centre = $3, created_at = $4, last_activity = $5, \
         unanswered_since = $6, change = $7, last_seq = $8, message_count = $9, \
         total_bytes = $10, staff_read_seq = $11, unread = $12 WHERE mailbox_id = $1"
    };
    let statement = timed(client.prepare_cached(sql)).await?;
    let params: [&(dyn ToSql + Sync); 12] = [&m, &v, &centre, &a, &b, &c, &d, &e, &f, &g, &h, &i];
    match tokio::time::timeout(DEADLINE, client.execute(&statement, &params))
        .await
        .map_err(|_| late())?
    {
        Ok(_) => Ok(()),
        // Another creation of the mailbox committed since this one looked.
        Err(cause) if new && constraint(&cause) == Some("threads_pkey") => Err(StoreError::Exists),
        Err(cause) => Err(db(cause)),
    }
}

/// The constraint a statement violated, if any.
fn constraint(error: &tokio_postgres::Error) -> Option<&str> {
    error.as_db_error().and_then(|e| e.constraint())
}

/// The thread's record, its row locked until the transaction ends.
async fn lock_thread<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
) -> Result<ThreadRecord, StoreError> {
    let m: &[u8] = &mailbox.0;
    let sql = format!(
        "SELECT mailbox_id, {THREAD_COLUMNS} FROM threads WHERE mailbox_id = $1 FOR UPDATE"
    );
    let row = row(client, &sql, &[&m])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(thread_record(&row)?.1)
}

/// [`lock_thread`], then [`next_change`], in one round trip: the outer
/// query's `pg_current_xact_id()` is taken from the locked row, so after
/// the lock, as the two statements would.
async fn lock_thread_for_change<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
) -> Result<(ThreadRecord, u64), StoreError> {
    let m: &[u8] = &mailbox.0;
    let sql = format!(
        "WITH locked AS (SELECT mailbox_id, {THREAD_COLUMNS} FROM threads \
         WHERE mailbox_id = $1 FOR UPDATE) \
         SELECT locked.*, pg_current_xact_id()::text::bigint FROM locked"
    );
    let row = row(client, &sql, &[&m])
        .await?
        .ok_or(StoreError::NotFound)?;
    let change = from_db(col(&row, row.len() - 1)?)?;
    Ok((thread_record(&row)?.1, change))
}

/// The change number of this transaction's write: its transaction id, which
/// no other transaction has and every later one exceeds (xid8, 64 bits: no
/// wraparound).
async fn next_change<C: GenericClient>(client: &C) -> Result<u64, StoreError> {
    let row = row(client, "SELECT pg_current_xact_id()::text::bigint", &[])
        .await?
        .ok_or(StoreError::Corrupt)?;
    from_db(col(&row, 0)?)
}

/// How long a write waits at most for its change to become listable: an
/// older transaction that stays open longer (a stuck session) must not stop
/// every write; its change is then listed once that transaction ends.
const LISTABLE_WAIT: Duration = Duration::from_secs(2);

/// The pause between two looks at the oldest running transaction.
const LISTABLE_POLL: Duration = Duration::from_millis(1);

/// The oldest running transaction as writes last saw it, shared by every
/// write of one store: each write waits after its commit, with its
/// connection back in the pool, until its change is listable, and one look
/// at a time (one round trip on one connection) serves all of them. When
/// each write looked for itself on its own connection, the looks took most
/// of the pool under load (docs/PERFORMANCE.md, run 7).
#[derive(Default)]
struct Horizon {
    /// The highest xmin seen: every change below it is listable.
    seen: watch::Sender<u64>,
    /// Held by the one write that is looking.
    looking: tokio::sync::Mutex<()>,
}

impl Horizon {
    /// Returns once `change` (committed) is below the xmin of a new
    /// snapshot, i.e. `changed_threads` lists it, or after
    /// [`LISTABLE_WAIT`]. The write has committed: a failure here ends the
    /// wait, it does not fail the write (a retry would store it twice).
    async fn until_listable(&self, pool: &Pool, change: u64) {
        let deadline = Instant::now() + LISTABLE_WAIT;
        let mut seen = self.seen.subscribe();
        loop {
            if *seen.borrow_and_update() > change || Instant::now() >= deadline {
                return;
            }
            let Ok(looking) = self.looking.try_lock() else {
                // Another write is looking: its answer wakes this one, or
                // this one looks itself after a moment.
                let _ = tokio::time::timeout(LISTABLE_POLL * 4, seen.changed()).await;
                continue;
            };
            let Some(xmin) = oldest_running(pool).await else {
                return;
            };
            self.seen.send_if_modified(|seen| {
                let newer = xmin > *seen;
                if newer {
                    *seen = xmin;
                }
                newer
            });
            drop(looking);
            if xmin > change {
                return;
            }
            tokio::time::sleep(LISTABLE_POLL).await;
        }
    }
}

/// The xmin of a new snapshot (`None` if it cannot be had now).
async fn oldest_running(pool: &Pool) -> Option<u64> {
    let client = connection(pool).await.ok()?;
    let row = row(
        &client,
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        &[],
    )
    .await
    .ok()??;
    from_db(col(&row, 0).ok()?).ok()
}

async fn insert_message<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    seq: u64,
    now: u64,
    envelope: &[u8],
) -> Result<(), StoreError> {
    let m: &[u8] = &mailbox.0;
    let (seq, now) = (to_db(seq)?, to_db(now)?);
    exec(
        client,
        "INSERT INTO messages (mailbox_id, seq, stored_at, envelope) VALUES ($1, $2, $3, $4)",
        &[&m, &seq, &now, &envelope],
    )
    .await?;
    Ok(())
}

/// Person messages (kind byte 1) of a thread after `seq`.
async fn person_messages_after<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    seq: u64,
) -> Result<u32, StoreError> {
    let m: &[u8] = &mailbox.0;
    let after = upper(seq);
    // substring, not get_byte: it reads no byte that is not there.
    let row = row(
        client,
        "SELECT count(*) FROM messages WHERE mailbox_id = $1 AND seq > $2 \
         AND substring(envelope FROM 2 FOR 1) = '\\x01'::bytea",
        &[&m, &after],
    )
    .await?
    .ok_or(StoreError::Corrupt)?;
    u32_from_db(col(&row, 0)?)
}

/// The thread's last activity becomes `now` (a minute) under a new change
/// number (a note, keeping it), which it returns.
async fn touch<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    now: u64,
) -> Result<u64, StoreError> {
    let (mut record, change) = lock_thread_for_change(client, mailbox).await?;
    record.change = change;
    record.last_activity = now;
    put_thread(client, mailbox, &record, false).await?;
    Ok(record.change)
}

/// Replaces the thread's note.
async fn put_note_row<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    envelope: &[u8],
    now: u64,
) -> Result<(), StoreError> {
    let m: &[u8] = &mailbox.0;
    let now = to_db(now)?;
    exec(
        client,
        "INSERT INTO notes (mailbox_id, stored_at, envelope) VALUES ($1, $2, $3) \
         ON CONFLICT (mailbox_id) DO UPDATE SET stored_at = EXCLUDED.stored_at, \
         envelope = EXCLUDED.envelope",
        &[&m, &now, &envelope],
    )
    .await?;
    Ok(())
}

/// The advisory lock of a mailbox's files (see the module's doc), keyed by
/// [`files_lock_key`].
async fn lock_files<C: GenericClient>(client: &C, mailbox: &MailboxId) -> Result<(), StoreError> {
    exec(
        client,
        "SELECT pg_advisory_xact_lock($1)",
        &[&files_lock_key(mailbox)],
    )
    .await?;
    Ok(())
}

/// A mailbox's file lock key: 64 bits of a SHA-256 of the whole id. Two
/// mailboxes share a lock only by a 64-bit collision, which nobody can
/// make on purpose. (It was the id's first four bytes, which the client
/// chooses: a few hundred mailboxes made to share them queued every upload
/// on one lock, each waiter holding a pooled connection, until other
/// people's first contacts found no connection.)
fn files_lock_key(mailbox: &MailboxId) -> i64 {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::new()
        .chain_update(b"ozvi files lock\0")
        .chain_update(mailbox.0)
        .finalize();
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(key)
}

/// A file's columns after its ids.
pub(super) const FILE_COLUMNS: &str = "state, claimed_by, created_at, length, binding";

/// The mailbox id and the file id in a row's first two columns.
fn file_ids(row: &Row) -> Result<(MailboxId, FileId), StoreError> {
    Ok((
        MailboxId(fixed(col::<&[u8]>(row, 0)?)?),
        FileId(fixed(col::<&[u8]>(row, 1)?)?),
    ))
}

/// The record in a row of `FILE_COLUMNS` starting at `at`, checked as
/// [`FileRecord::decode`] checks the sled value.
pub(super) fn file_record(row: &Row, at: usize) -> Result<FileRecord, StoreError> {
    let state = match col::<i16>(row, at)? {
        0 => FileState::Partial,
        1 => FileState::Pending,
        2 => FileState::Claimed,
        _ => return Err(StoreError::Corrupt),
    };
    let record = FileRecord {
        state,
        claimed_by: from_db(col(row, at + 1)?)?,
        created_at: from_db(col(row, at + 2)?)?,
        length: from_db(col(row, at + 3)?)?,
        binding: fixed(col::<&[u8]>(row, at + 4)?)?,
    };
    let claimed_ok = (record.state == FileState::Claimed) == (record.claimed_by != 0);
    if !claimed_ok || !ozvi_crypto::protocol::file::is_blob_len(record.length) {
        return Err(StoreError::Corrupt);
    }
    Ok(record)
}

/// Every file record of a mailbox, by file id; with `lock`, their rows are
/// locked until the transaction ends.
async fn files_of<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    lock: bool,
) -> Result<Vec<(FileId, FileRecord)>, StoreError> {
    let m: &[u8] = &mailbox.0;
    let sql = format!(
        "SELECT file_id, {FILE_COLUMNS} FROM files WHERE mailbox_id = $1 ORDER BY file_id{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    rows(client, &sql, &[&m])
        .await?
        .iter()
        .map(|row| Ok((FileId(fixed(col::<&[u8]>(row, 0)?)?), file_record(row, 1)?)))
        .collect()
}

/// One file's record; with `lock`, its row is locked until the
/// transaction ends.
async fn file_of<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    file: &FileId,
    lock: bool,
) -> Result<Option<FileRecord>, StoreError> {
    let (m, f): (&[u8], &[u8]) = (&mailbox.0, &file.0);
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files WHERE mailbox_id = $1 AND file_id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    row(client, &sql, &[&m, &f])
        .await?
        .map(|row| file_record(&row, 0))
        .transpose()
}

/// Whether the thread of `mailbox` exists.
async fn thread_exists<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
) -> Result<bool, StoreError> {
    let m: &[u8] = &mailbox.0;
    Ok(
        row(client, "SELECT 1 FROM threads WHERE mailbox_id = $1", &[&m])
            .await?
            .is_some(),
    )
}

/// Writes a file's record, replacing the one under its ids.
async fn put_file<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    file: &FileId,
    record: &FileRecord,
) -> Result<(), StoreError> {
    let (m, f, b): (&[u8], &[u8], &[u8]) = (&mailbox.0, &file.0, &record.binding);
    let state = record.state as i16;
    let claimed_by = to_db(record.claimed_by)?;
    let created_at = to_db(record.created_at)?;
    let length = to_db(record.length)?;
    exec(
        client,
        "INSERT INTO files (mailbox_id, file_id, state, claimed_by, created_at, length, binding) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (mailbox_id, file_id) DO UPDATE SET \
         state = EXCLUDED.state, claimed_by = EXCLUDED.claimed_by, \
         created_at = EXCLUDED.created_at, length = EXCLUDED.length, binding = EXCLUDED.binding",
        &[&m, &f, &state, &claimed_by, &created_at, &length, &b],
    )
    .await?;
    Ok(())
}

/// Removes a file's record; false if it had none.
async fn delete_file<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    file: &FileId,
) -> Result<bool, StoreError> {
    let (m, f): (&[u8], &[u8]) = (&mailbox.0, &file.0);
    let removed = exec(
        client,
        "DELETE FROM files WHERE mailbox_id = $1 AND file_id = $2",
        &[&m, &f],
    )
    .await?;
    Ok(removed > 0)
}

/// Checks `claims` against the mailbox's files (locking their rows) for a
/// message of a thread with `verifier`.
async fn check_claims<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    claims: &[FileId],
    verifier: &[u8; 32],
    quota: FileQuota,
) -> Result<(), StoreError> {
    if claims.is_empty() {
        return Ok(());
    }
    let files = files_of(client, mailbox, true).await?;
    files::check_claims(&files, claims, verifier, quota)
}

/// Each of `claims` (checked, rows locked) becomes claimed by message `seq`.
async fn claim<C: GenericClient>(
    client: &C,
    mailbox: &MailboxId,
    claims: &[FileId],
    seq: u64,
) -> Result<(), StoreError> {
    if claims.is_empty() {
        return Ok(());
    }
    let m: &[u8] = &mailbox.0;
    let ids: Vec<&[u8]> = claims.iter().map(|f| f.0.as_slice()).collect();
    let seq = to_db(seq)?;
    let claimed = exec(
        client,
        "UPDATE files SET state = 2, claimed_by = $3 \
         WHERE mailbox_id = $1 AND file_id = ANY($2) AND state = 1",
        &[&m, &ids, &seq],
    )
    .await?;
    if claimed != claims.len() as u64 {
        return Err(StoreError::UnknownFile);
    }
    Ok(())
}

#[async_trait]
impl Storage for PgStore {
    async fn create_thread_claiming(
        &self,
        mailbox: &MailboxId,
        verifier: [u8; 32],
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
        claims: &[FileId],
        file_quota: FileQuota,
    ) -> Result<ThreadRecord, StoreError> {
        let now = to_minute(now);
        let m: &[u8] = &mailbox.0;
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        // A creation racing this one is refused by the primary key.
        if row(&tx, "SELECT 1 FROM threads WHERE mailbox_id = $1", &[&m])
            .await?
            .is_some()
        {
            return Err(StoreError::Exists);
        }
        check_claims(&tx, mailbox, claims, &verifier, file_quota).await?;
        let change = next_change(&tx).await?;
        let record = ThreadRecord::new(verifier, centre.clone(), envelope.len(), now, change);
        put_thread(&tx, mailbox, &record, true).await?;
        insert_message(&tx, mailbox, 1, now, envelope).await?;
        claim(&tx, mailbox, claims, 1).await?;
        timed(tx.commit()).await?;
        drop(client);
        self.horizon.until_listable(&self.pool, change).await;
        Ok(record)
    }

    async fn thread(&self, mailbox: &MailboxId) -> Result<Option<ThreadRecord>, StoreError> {
        let m: &[u8] = &mailbox.0;
        let client = self.client().await?;
        let sql = format!("SELECT mailbox_id, {THREAD_COLUMNS} FROM threads WHERE mailbox_id = $1");
        row(&client, &sql, &[&m])
            .await?
            .map(|row| thread_record(&row).map(|(_, r)| r))
            .transpose()
    }

    async fn append_claiming(
        &self,
        mailbox: &MailboxId,
        author: Author,
        envelope: &[u8],
        now: u64,
        quota: Quota,
        claims: &[FileId],
        file_quota: FileQuota,
    ) -> Result<u64, StoreError> {
        let now = to_minute(now);
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        let (mut record, change) = lock_thread_for_change(&tx, mailbox).await?;
        if !record.fits(envelope.len(), quota) {
            return Err(StoreError::Quota);
        }
        check_claims(&tx, mailbox, claims, &record.verifier, file_quota).await?;
        let seq = record.record_append(author, envelope.len(), now, change);
        // Sent together, answered in order (tokio-postgres pipelines the
        // statements of one connection): one round trip, not three. A
        // failure of any ends the transaction without its commit.
        tokio::try_join!(
            insert_message(&tx, mailbox, seq, now, envelope),
            claim(&tx, mailbox, claims, seq),
            put_thread(&tx, mailbox, &record, false),
        )?;
        timed(tx.commit()).await?;
        drop(client);
        self.horizon.until_listable(&self.pool, change).await;
        Ok(seq)
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
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        // The quota counts the mailbox's files: uploads beginning together
        // take their turns, on every relay.
        lock_files(&tx, mailbox).await?;
        // An upload into a thread (not bound to her secret before her first
        // contact) needs the thread: it may have been deleted since her
        // request was let in.
        if binding == [0; 32] && !thread_exists(&tx, mailbox).await? {
            return Err(StoreError::NotFound);
        }
        let others = files_of(&tx, mailbox, false).await?;
        files::check_upload(&others, file, length, quota)?;
        let created_record = !others.iter().any(|(id, _)| id == file);
        let record = FileRecord {
            state: FileState::Partial,
            claimed_by: 0,
            created_at: to_minute(now),
            length,
            binding,
        };
        if created_record {
            put_file(&tx, mailbox, file, &record).await?;
        } else {
            // A retry of an upload not yet claimed: its time is now's, so
            // that another relay's sweeper (whose `receiving` knows only its
            // own uploads) does not judge it by the first attempt's.
            let (m, f): (&[u8], &[u8]) = (&mailbox.0, &file.0);
            exec(
                &tx,
                "UPDATE files SET created_at = $3 WHERE mailbox_id = $1 AND file_id = $2 \
                 AND state <> 2",
                &[&m, &f, &to_db(record.created_at)?],
            )
            .await?;
        }
        // A file of its own: another relay sharing the blob directory may
        // be receiving the same id right now.
        let (partial, partial_path) = self.blobs.create_partial(mailbox, file)?;
        let key = FileRecord::key(mailbox, file);
        if let Some(before) = record_partial(&self.partials, key, partial_path.clone()) {
            self.blobs.remove_partial(&before)?;
        }
        timed(tx.commit()).await?;
        Ok(Box::new(PgUpload {
            pool: self.pool.clone(),
            partials: Arc::clone(&self.partials),
            blobs: Arc::clone(&self.blobs),
            mailbox: *mailbox,
            file: *file,
            record,
            written: 0,
            partial: Some(partial),
            partial_path,
            created_record,
        }))
    }

    fn staging_dir(&self) -> PathBuf {
        self.blobs.staging().to_path_buf()
    }

    async fn partial_sizes(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        // A pass over the folder every relay shares: off the async workers.
        let blobs = Arc::clone(&self.blobs);
        blocking(BLOB_TASK, move || blobs.partial_sizes()).await
    }

    async fn complete_file_bytes(&self) -> Result<u64, StoreError> {
        // Summed by the server: no row crosses the connection.
        let client = self.client().await?;
        let sum = row(
            &client,
            "SELECT coalesce(sum(length), 0)::bigint FROM files WHERE state <> 0",
            &[],
        )
        .await?
        .ok_or(StoreError::Corrupt)?;
        from_db(col(&sum, 0)?)
    }

    async fn remove_file(&self, mailbox: &MailboxId, file: &FileId) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        lock_files(&tx, mailbox).await?;
        let removed = delete_file(&tx, mailbox, file).await?;
        timed(tx.commit()).await?;
        drop(client);
        // After the commit: a record is never left without its bytes.
        self.remove_unrecorded_blobs(mailbox, &[*file]).await?;
        Ok(removed)
    }

    async fn file(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
    ) -> Result<Option<FileRecord>, StoreError> {
        let client = self.client().await?;
        file_of(&client, mailbox, file, false).await
    }

    async fn files(&self, mailbox: &MailboxId) -> Result<Vec<(FileId, FileRecord)>, StoreError> {
        let client = self.client().await?;
        files_of(&client, mailbox, false).await
    }

    async fn all_files(&self) -> Result<Vec<(MailboxId, FileId, FileRecord)>, StoreError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT mailbox_id, file_id, {FILE_COLUMNS} FROM files ORDER BY mailbox_id, file_id"
        );
        rows(&client, &sql, &[])
            .await?
            .iter()
            .map(|row| {
                let (mailbox, file) = file_ids(row)?;
                Ok((mailbox, file, file_record(row, 2)?))
            })
            .collect()
    }

    async fn read_blob(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
    ) -> Result<BlobReader, StoreError> {
        self.blobs.read(mailbox, file)
    }

    async fn remove_stale_files(
        &self,
        now: u64,
        pending_file_secs: u64,
        receiving: &(dyn for<'k> Fn(&'k [u8; 32]) -> bool + Sync),
    ) -> Result<usize, StoreError> {
        // As storage::remove_stale_files: records keep the minute an upload
        // began, rounded down, so a minute more that none goes early.
        let cutoff = now.saturating_sub(pending_file_secs.saturating_add(60));
        let mut removed = 0;
        for (mailbox, file) in self.stale_file_candidates(cutoff).await? {
            if self
                .remove_if_stale(&mailbox, &file, cutoff, receiving)
                .await?
            {
                removed += 1;
            }
        }
        // An upload another relay is receiving writes its partial file
        // now and then: only files untouched for the whole pending time go.
        // A partial file goes unless its record is of an upload still being
        // received ([`files::partial_abandoned`]). Complete blobs of no
        // record (left by a crash or a failed unlink after their record
        // went) go the same way; a blob is renamed into place under the
        // mailbox's lock just before its record is written, so the check
        // under that lock never sees one being finished.
        let partials = self.blobs.old_partial_files(pending_file_secs)?;
        let blobs = self.blobs.old_blob_files(pending_file_secs)?;
        let recorded = self.recorded(partials.iter().chain(&blobs)).await?;
        let old_files = (partials.into_iter().map(|(k, p)| (k, p, true)))
            .chain(blobs.into_iter().map(|(k, p)| (k, p, false)));
        for (key, path, partial) in old_files {
            let kept = match recorded.get(&key) {
                None => false,
                Some(FileState::Partial) => true,
                Some(_) => !partial,
            };
            if kept {
                continue;
            }
            let (mailbox, file) = FileRecord::parse_key(&key)?;
            let mut client = self.client().await?;
            let tx = timed(client.transaction()).await?;
            lock_files(&tx, &mailbox).await?;
            let record = file_of(&tx, &mailbox, &file, false).await?;
            let abandoned = if partial {
                files::partial_abandoned(record.as_ref())
            } else {
                record.is_none()
            };
            if abandoned && !receiving(&key) {
                forget_partial(&self.partials, key, &path);
                self.blobs.remove_partial(&path)?;
                removed += 1;
            }
            timed(tx.commit()).await?;
        }
        // Attempts whose file another relay removed (with their record)
        // are forgotten here, so the record of attempts holds no more
        // than the partial files there are.
        let attempts: Vec<([u8; 32], PathBuf)> = self
            .partials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(key, path)| (*key, path.clone()))
            .collect();
        // Looked at without the lock, which beginning uploads take.
        for (key, path) in attempts {
            if !path.exists() {
                forget_partial(&self.partials, key, &path);
            }
        }
        Ok(removed)
    }

    async fn messages(
        &self,
        mailbox: &MailboxId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let Ok(after) = i64::try_from(after) else {
            // No sequence number is above i64::MAX.
            return Ok(Vec::new());
        };
        let m: &[u8] = &mailbox.0;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await?;
        rows(
            &client,
            "SELECT seq, stored_at, envelope FROM messages WHERE mailbox_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3",
            &[&m, &after, &limit],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(StoredMessage {
                seq: from_db(col(row, 0)?)?,
                stored_at: from_db(col(row, 1)?)?,
                envelope: col::<Vec<u8>>(row, 2)?,
            })
        })
        .collect()
    }

    async fn delete_thread(&self, mailbox: &MailboxId) -> Result<bool, StoreError> {
        let m: &[u8] = &mailbox.0;
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        // Its messages and note go with it (ON DELETE CASCADE).
        if exec(&tx, "DELETE FROM threads WHERE mailbox_id = $1", &[&m]).await? == 0 {
            return Ok(false);
        }
        lock_files(&tx, mailbox).await?;
        let files = rows(
            &tx,
            "DELETE FROM files WHERE mailbox_id = $1 RETURNING file_id",
            &[&m],
        )
        .await?
        .iter()
        .map(|row| Ok(FileId(fixed(col::<&[u8]>(row, 0)?)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
        timed(tx.commit()).await?;
        // The bytes after the records (a crash in between leaves bytes of
        // no record, as in the sled store, never a record of no bytes).
        drop(client);
        self.remove_unrecorded_blobs(mailbox, &files).await?;
        Ok(true)
    }

    async fn changed_threads(
        &self,
        centre: &CentreId,
        since: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        let (Ok(since), Some(last)) = (i64::try_from(since), before.checked_sub(1)) else {
            return Ok(Vec::new());
        };
        let last = upper(last);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let centre = centre.as_str();
        let client = self.client().await?;
        let sql = format!(
            "SELECT mailbox_id, {THREAD_COLUMNS} FROM threads \
             WHERE centre = $1 AND change > $2 AND change <= $3 \
             AND change < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
             ORDER BY change DESC LIMIT $4"
        );
        rows(&client, &sql, &[&centre, &since, &last, &limit])
            .await?
            .iter()
            .map(thread_record)
            .collect()
    }

    async fn keep(&self, mailbox: &MailboxId, now: u64) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        let change = touch(&tx, mailbox, to_minute(now)).await?;
        timed(tx.commit()).await?;
        drop(client);
        self.horizon.until_listable(&self.pool, change).await;
        Ok(())
    }

    async fn mark_read(&self, mailbox: &MailboxId, seq: u64) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        let mut record = lock_thread(&tx, mailbox).await?;
        let seq = seq.min(record.last_seq);
        if seq <= record.staff_read_seq {
            return Ok(());
        }
        record.staff_read_seq = seq;
        record.unread = person_messages_after(&tx, mailbox, seq).await?;
        put_thread(&tx, mailbox, &record, false).await?;
        timed(tx.commit()).await
    }

    async fn put_note(
        &self,
        mailbox: &MailboxId,
        envelope: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        let now = to_minute(now);
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        let change = touch(&tx, mailbox, now).await?;
        put_note_row(&tx, mailbox, envelope, now).await?;
        timed(tx.commit()).await?;
        drop(client);
        self.horizon.until_listable(&self.pool, change).await;
        Ok(())
    }

    async fn note(&self, mailbox: &MailboxId) -> Result<Option<Vec<u8>>, StoreError> {
        let m: &[u8] = &mailbox.0;
        let client = self.client().await?;
        row(
            &client,
            "SELECT envelope FROM notes WHERE mailbox_id = $1",
            &[&m],
        )
        .await?
        .map(|row| col::<Vec<u8>>(&row, 0))
        .transpose()
    }

    async fn transfer(
        &self,
        mailbox: &MailboxId,
        to: &CentreId,
        moved: Moved<'_>,
        now: u64,
    ) -> Result<(), StoreError> {
        let Moved {
            resealed,
            note,
            notice,
        } = moved;
        let now = to_minute(now);
        let m: &[u8] = &mailbox.0;
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        let mut record = lock_thread(&tx, mailbox).await?;
        if resealed.len() != record.message_count as usize {
            return Err(StoreError::Changed);
        }
        // A sequence number given twice: the last envelope stands, as
        // when the sled store writes them one after the other.
        let resealed: BTreeMap<u64, &[u8]> = resealed
            .iter()
            .map(|(seq, envelope)| (*seq, envelope.as_slice()))
            .collect();
        let seqs = resealed
            .keys()
            .map(|s| to_db(*s))
            .collect::<Result<Vec<i64>, StoreError>>()?;
        let old = rows(
            &tx,
            "SELECT seq, octet_length(envelope) FROM messages \
             WHERE mailbox_id = $1 AND seq = ANY($2)",
            &[&m, &seqs],
        )
        .await?;
        if old.len() != resealed.len() {
            return Err(StoreError::NotFound);
        }
        // Counted before the envelopes are replaced, as sled counts them (a
        // transfer keeps every message's kind).
        let unread = person_messages_after(&tx, mailbox, 0).await?;
        let mut total = record.total_bytes;
        for row in &old {
            let length: i32 = col(row, 1)?;
            let length = u64::try_from(length).map_err(|_| StoreError::Corrupt)?;
            total = total.checked_sub(length).ok_or(StoreError::Corrupt)?;
        }
        let envelopes: Vec<&[u8]> = resealed.values().copied().collect();
        total = envelopes
            .iter()
            .fold(total, |sum, e| sum.saturating_add(e.len() as u64));
        exec(
            &tx,
            "UPDATE messages SET envelope = new.envelope \
             FROM unnest($2::bigint[], $3::bytea[]) AS new(seq, envelope) \
             WHERE messages.mailbox_id = $1 AND messages.seq = new.seq",
            &[&m, &seqs, &envelopes],
        )
        .await?;
        match note {
            Some(envelope) => put_note_row(&tx, mailbox, envelope, now).await?,
            None => {
                exec(&tx, "DELETE FROM notes WHERE mailbox_id = $1", &[&m]).await?;
            }
        }
        record.centre = to.clone();
        record.change = next_change(&tx).await?;
        record.last_activity = now;
        record.total_bytes = total;
        record.staff_read_seq = 0;
        record.unread = unread;
        if let Some(notice) = notice {
            let seq = record.record_notice(notice.len());
            insert_message(&tx, mailbox, seq, now, notice).await?;
        }
        put_thread(&tx, mailbox, &record, false).await?;
        timed(tx.commit()).await?;
        drop(client);
        self.horizon.until_listable(&self.pool, record.change).await;
        Ok(())
    }

    async fn inactive_since(
        &self,
        cutoff: u64,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        let Some(last) = cutoff.checked_sub(1) else {
            return Ok(Vec::new());
        };
        let last = upper(last);
        let client = self.client().await?;
        let sql = format!(
            "SELECT mailbox_id, {THREAD_COLUMNS} FROM threads WHERE last_activity <= $1 \
             ORDER BY mailbox_id"
        );
        rows(&client, &sql, &[&last])
            .await?
            .iter()
            .map(thread_record)
            .collect()
    }

    async fn put_centre_record(
        &self,
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        let centre = centre.as_str();
        let now = to_db(to_minute(now))?;
        let client = self.client().await?;
        exec(
            &client,
            "INSERT INTO centre_records (centre, stored_at, envelope) VALUES ($1, $2, $3) \
             ON CONFLICT (centre) DO UPDATE SET stored_at = EXCLUDED.stored_at, \
             envelope = EXCLUDED.envelope",
            &[&centre, &now, &envelope],
        )
        .await?;
        Ok(())
    }

    async fn centre_record(&self, centre: &CentreId) -> Result<Option<Vec<u8>>, StoreError> {
        let centre = centre.as_str();
        let client = self.client().await?;
        row(
            &client,
            "SELECT envelope FROM centre_records WHERE centre = $1",
            &[&centre],
        )
        .await?
        .map(|row| col::<Vec<u8>>(&row, 0))
        .transpose()
    }

    async fn set_directory(&self, json: &[u8]) -> Result<(), StoreError> {
        let client = self.client().await?;
        exec(
            &client,
            "INSERT INTO directory (only_row, json) VALUES (true, $1) \
             ON CONFLICT (only_row) DO UPDATE SET json = EXCLUDED.json",
            &[&json],
        )
        .await?;
        Ok(())
    }

    async fn directory(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        row(&client, "SELECT json FROM directory", &[])
            .await?
            .map(|row| col::<Vec<u8>>(&row, 0))
            .transpose()
    }

    async fn spend_nonce(
        &self,
        nonce: &NonceKey,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        let key: &[u8] = nonce;
        let expiry = to_db(nonce_expiry(until))?;
        let now = to_db(now)?;
        let client = self.client().await?;
        // One statement: of two requests with one nonce, on any two relays,
        // exactly one inserts it (or takes over an expired record); the
        // other finds it live and changes nothing.
        let spent = row(
            &client,
            "INSERT INTO staff_nonces (nonce_key, refused_until) VALUES ($1, $2) \
             ON CONFLICT (nonce_key) DO UPDATE SET refused_until = EXCLUDED.refused_until \
             WHERE staff_nonces.refused_until < $3 RETURNING 1",
            &[&key, &expiry, &now],
        )
        .await?;
        Ok(spent.is_some())
    }

    async fn nonce_spent(&self, nonce: &NonceKey, now: u64) -> Result<bool, StoreError> {
        let key: &[u8] = nonce;
        let now = to_db(now)?;
        let client = self.client().await?;
        Ok(row(
            &client,
            "SELECT 1 FROM staff_nonces WHERE nonce_key = $1 AND refused_until >= $2",
            &[&key, &now],
        )
        .await?
        .is_some())
    }

    async fn sweep_nonces(&self, now: u64) -> Result<usize, StoreError> {
        let now = to_db(now)?;
        let client = self.client().await?;
        let removed = exec(
            &client,
            "DELETE FROM staff_nonces WHERE refused_until < $1",
            &[&now],
        )
        .await?;
        usize::try_from(removed).map_err(|_| StoreError::Corrupt)
    }
}

impl PgStore {
    /// The files [`PgStore::remove_if_stale`] may remove at `cutoff`, in one
    /// statement: unclaimed ones begun by then, claimed ones whose thread
    /// is gone. Each is checked again under its mailbox's lock; a file
    /// left out here is not stale now, and one listed may no longer be.
    async fn stale_file_candidates(
        &self,
        cutoff: u64,
    ) -> Result<Vec<(MailboxId, FileId)>, StoreError> {
        let cutoff = to_db(cutoff)?;
        let client = self.client().await?;
        rows(
            &client,
            "SELECT mailbox_id, file_id FROM files AS f \
             WHERE (state <> 2 AND created_at <= $1) \
             OR (state = 2 AND NOT EXISTS \
                 (SELECT 1 FROM threads AS t WHERE t.mailbox_id = f.mailbox_id)) \
             ORDER BY mailbox_id, file_id",
            &[&cutoff],
        )
        .await?
        .iter()
        .map(file_ids)
        .collect()
    }

    /// Which of the files on disk `on_disk` (keyed mailbox id ‖ file id)
    /// have a record, a statement per thousand: the sweep then looks under
    /// a lock only at files that had none, instead of at every old file.
    async fn recorded<'a>(
        &self,
        on_disk: impl Iterator<Item = &'a ([u8; 32], PathBuf)>,
    ) -> Result<HashMap<[u8; 32], FileState>, StoreError> {
        let on_disk: Vec<&[u8; 32]> = on_disk.map(|(key, _)| key).collect();
        let mut recorded = HashMap::new();
        if on_disk.is_empty() {
            return Ok(recorded);
        }
        let client = self.client().await?;
        for chunk in on_disk.chunks(1000) {
            let mailboxes: Vec<&[u8]> = chunk.iter().map(|k| &k[..16]).collect();
            let files: Vec<&[u8]> = chunk.iter().map(|k| &k[16..]).collect();
            for row in rows(
                &client,
                &format!(
                    "SELECT f.mailbox_id, f.file_id, {FILE_COLUMNS} FROM files AS f \
                     JOIN unnest($1::bytea[], $2::bytea[]) AS k (mailbox_id, file_id) \
                     ON f.mailbox_id = k.mailbox_id AND f.file_id = k.file_id"
                ),
                &[&mailboxes, &files],
            )
            .await?
            {
                let (mailbox, file) = file_ids(&row)?;
                recorded.insert(
                    FileRecord::key(&mailbox, &file),
                    file_record(&row, 2)?.state,
                );
            }
        }
        Ok(recorded)
    }

    /// The sweeper's judgement of one file, on its record as it is when
    /// removed (locked: no claim or upload comes in between), with the
    /// rules of [`crate::store::remove_stale_files`].
    async fn remove_if_stale(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
        cutoff: u64,
        receiving: &(dyn for<'k> Fn(&'k [u8; 32]) -> bool + Sync),
    ) -> Result<bool, StoreError> {
        let m: &[u8] = &mailbox.0;
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        lock_files(&tx, mailbox).await?;
        let Some(record) = file_of(&tx, mailbox, file, true).await? else {
            return Ok(false);
        };
        let stale = if record.unclaimed() {
            record.created_at <= cutoff && !receiving(&FileRecord::key(mailbox, file))
        } else {
            row(&tx, "SELECT 1 FROM threads WHERE mailbox_id = $1", &[&m])
                .await?
                .is_none()
        };
        if !stale {
            return Ok(false);
        }
        delete_file(&tx, mailbox, file).await?;
        // The record first, then the bytes (never a record of no bytes,
        // which a message could still claim); bytes left by a failure in
        // between are swept as bytes of no record. Partial files of the id
        // go too: a retry on any relay would have made the record fresh
        // (begin_upload).
        timed(tx.commit()).await?;
        drop(client);
        self.remove_unrecorded_blobs(mailbox, &[*file]).await?;
        Ok(true)
    }

    /// Removes the blobs of `files` whose records are gone, and what is
    /// being received for them (an upload still writing can then no longer
    /// put its blob in place), after the commit that removed the records,
    /// under the mailbox's lock again: between the two, an upload
    /// finishing on another relay may have put a record back with a fresh
    /// blob, or a retry begun with a new record, and those stay.
    async fn remove_unrecorded_blobs(
        &self,
        mailbox: &MailboxId,
        files: &[FileId],
    ) -> Result<(), StoreError> {
        if files.is_empty() {
            return Ok(());
        }
        // Their partial files are found before the lock, not under it (one
        // pass over a folder every relay shares): one begun after this pass
        // was begun after the commit that removed these records, with a
        // record of its own, and whoever removes that record removes it.
        let partials = self.blobs.partials_of(mailbox, files)?;
        let mut client = self.client().await?;
        let tx = timed(client.transaction()).await?;
        lock_files(&tx, mailbox).await?;
        let recorded: HashSet<FileId> = files_of(&tx, mailbox, false)
            .await?
            .into_iter()
            .map(|(file, _)| file)
            .collect();
        for file in files.iter().filter(|f| !recorded.contains(f)) {
            self.blobs.remove(mailbox, file)?;
        }
        for (file, partial) in &partials {
            if !recorded.contains(file) {
                forget_partial(&self.partials, FileRecord::key(mailbox, file), partial);
                self.blobs.remove_partial(partial)?;
            }
        }
        timed(tx.commit()).await
    }
}

/// An upload into a [`PgStore`]: the bytes into a `.part` file of the blob
/// directory, the record in the database.
struct PgUpload {
    pool: Pool,
    /// The store's record of each key's latest attempt
    /// ([`PgStore::partials`]), which this attempt leaves when it ends.
    partials: Arc<Partials>,
    blobs: Arc<BlobDir>,
    mailbox: MailboxId,
    file: FileId,
    record: FileRecord,
    written: u64,
    partial: Option<std::fs::File>,
    /// Where `partial` is ([`BlobDir::create_partial`]).
    partial_path: PathBuf,
    created_record: bool,
}

#[async_trait]
impl Upload for PgUpload {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let partial = self.partial.as_mut().ok_or(StoreError::Corrupt)?;
        if self.written + bytes.len() as u64 > self.record.length {
            return Err(StoreError::Corrupt);
        }
        BlobDir::append(partial, bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    async fn finish(self: Box<Self>) -> Result<(), StoreError> {
        // In a task of its own: the request that awaits it may be dropped
        // (her connection closed) between the rename and the commit, which
        // would leave the replacement's bytes in place under the old
        // record. A task runs to its end whoever waits for it.
        tokio::spawn(async move {
            // Forgotten in the task: it ends even if no request waits.
            let (partials, key, path) = self.attempt();
            let finished = self.finish_here().await;
            forget_partial(&partials, key, &path);
            finished
        })
        .await
        .map_err(|_| StoreError::Backend("upload: the finishing task did not end".into()))?
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        let (partials, key, path) = self.attempt();
        let aborted = self.abort_here().await;
        forget_partial(&partials, key, &path);
        aborted
    }
}

/// The partial file of each blob key's latest attempt on this relay
/// ([`PgStore::partials`]).
type Partials = std::sync::Mutex<HashMap<[u8; 32], PathBuf>>;

/// Records `path` as the partial file of `key`'s latest attempt on this
/// relay; returns the one recorded before.
fn record_partial(partials: &Partials, key: [u8; 32], path: PathBuf) -> Option<PathBuf> {
    partials
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, path)
}

/// Forgets `path` as `key`'s latest partial file if it still is (its
/// attempt ended, or the file was removed).
fn forget_partial(partials: &Partials, key: [u8; 32], path: &Path) {
    let mut partials = partials
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if partials.get(&key).is_some_and(|p| p == path) {
        partials.remove(&key);
    }
}

impl PgUpload {
    /// What [`forget_partial`] needs once this attempt has ended.
    fn attempt(&self) -> (Arc<Partials>, [u8; 32], PathBuf) {
        (
            Arc::clone(&self.partials),
            FileRecord::key(&self.mailbox, &self.file),
            self.partial_path.clone(),
        )
    }

    /// [`Upload::finish`], run in its own task.
    async fn finish_here(mut self: Box<Self>) -> Result<(), StoreError> {
        let partial = self.partial.take().ok_or(StoreError::Corrupt)?;
        if self.written != self.record.length {
            return Err(StoreError::Corrupt);
        }
        let partial = blocking(BLOB_TASK, move || {
            partial.sync_all().map_err(io)?;
            Ok(partial)
        })
        .await?;
        let mut client = connection(&self.pool).await?;
        let tx = timed(client.transaction()).await?;
        // The check, the rename and the record under the mailbox's lock and
        // the record's row lock, which a claim takes too: a claim comes
        // wholly before (and wins: a claimed blob never changes) or after.
        lock_files(&tx, &self.mailbox).await?;
        let current = file_of(&tx, &self.mailbox, &self.file, true).await?;
        // An upload into a thread whose thread is gone was deleted with it
        // while it was received: nothing of it may stay. (One of no thread
        // before her first contact is bound to her secret. A record gone
        // while her thread stays is put back: another attempt's given up on
        // another relay, say.)
        let orphaned = self.record.binding == [0; 32] && !thread_exists(&tx, &self.mailbox).await?;
        let refused = files::finish_refusal(orphaned, current.as_ref());
        if let Some(refused) = refused {
            drop(partial);
            self.blobs.remove_partial(&self.partial_path)?;
            if orphaned {
                let (m, f): (&[u8], &[u8]) = (&self.mailbox.0, &self.file.0);
                exec(
                    &tx,
                    "DELETE FROM files WHERE mailbox_id = $1 AND file_id = $2 AND state = 0",
                    &[&m, &f],
                )
                .await?;
                timed(tx.commit()).await?;
            }
            return Err(refused);
        }
        let (blobs, mailbox, file) = (Arc::clone(&self.blobs), self.mailbox, self.file);
        let path = self.partial_path.clone();
        blocking(BLOB_TASK, move || {
            blobs.complete(partial, &path, &mailbox, &file)
        })
        .await?;
        let record = FileRecord {
            state: FileState::Pending,
            ..self.record.clone()
        };
        put_file(&tx, &self.mailbox, &self.file, &record).await?;
        timed(tx.commit()).await
    }

    /// [`Upload::abort`].
    async fn abort_here(mut self: Box<Self>) -> Result<(), StoreError> {
        drop(self.partial.take());
        let (m, f): (&[u8], &[u8]) = (&self.mailbox.0, &self.file.0);
        let mut client = connection(&self.pool).await?;
        let tx = timed(client.transaction()).await?;
        lock_files(&tx, &self.mailbox).await?;
        self.blobs.remove_partial(&self.partial_path)?;
        if self.created_record {
            exec(
                &tx,
                "DELETE FROM files WHERE mailbox_id = $1 AND file_id = $2 AND state = 0",
                &[&m, &f],
            )
            .await?;
        }
        timed(tx.commit()).await
    }
}
