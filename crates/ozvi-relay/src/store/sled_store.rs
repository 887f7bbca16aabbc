//! The sled 0.34 store.
//!
//! Writes that touch several trees run in one sled transaction, so a crash
//! never leaves a thread half-written. Durability comes from [`Store::flush`],
//! which the server calls (through its group-commit flusher) before it
//! acknowledges a write.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::FileId;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
    UnabortableTransactionError,
};
use sled::{Db, Tree};

use super::files::{self, BlobDir, claimable, io};
use super::records::{ActivityKey, MessageKey};
use super::{
    AppendJob, Author, BlobReader, BlobWriter, CentreId, FileQuota, FileRecord, FileState, Moved,
    Quota, Store, StoreError, StoredMessage, ThreadRecord, to_minute,
};

/// Key of the signed directory in the `system` tree.
const DIRECTORY_KEY: &[u8] = b"directory";

/// sled's page cache. Its default (1 GiB) would let the relay's memory grow
/// with the data; recent threads are what gets read, so a small cache serves.
pub const CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// The relay's sled database.
#[derive(Clone)]
pub struct SledStore {
    db: Db,
    threads: Tree,
    messages: Tree,
    notes: Tree,
    activity: Tree,
    /// Each centre's staff-only record: key the centre id (33 bytes, as in
    /// `threads`), value version ‖ stored_at ‖ envelope (as a note).
    centres: Tree,
    system: Tree,
    /// Each blob's record (`files` key → [`FileRecord`]).
    files: Tree,
    /// Spent staff request nonces ([`super::NonceKey`] → expiry minute).
    nonces: Tree,
    /// The blobs' bytes.
    blobs: Arc<BlobDir>,
    /// Writes hold it shared; an export holds it exclusively, so that the
    /// snapshot is consistent across trees (sled has no snapshot reads).
    gate: Arc<RwLock<()>>,
    /// Held from taking a change number to committing it, so change numbers
    /// are committed in increasing order: a desk that has seen change N
    /// never later finds a thread committed with a change below N.
    order: Arc<Mutex<()>>,
    /// The partial file of each blob key's latest upload attempt
    /// ([`BlobDir::create_partial`], a fresh name per attempt): an attempt
    /// removes what the one before it left, so cut attempts do not pile up,
    /// and removing a file removes what is being received for it without
    /// reading the blob folder. An attempt whose request has gone may still
    /// be finishing (on the blocking pool): it then finds its partial file
    /// gone and fails, and never renames another attempt's bytes.
    partials: Arc<Mutex<HashMap<[u8; 32], PathBuf>>>,
}

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // Before sled writes anything there (the blob folder is marked
        // as sled's once the database is open: [`BlobDir::open`]).
        files::check_owner(dir, files::Owner::Sled)?;
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(CACHE_BYTES)
            // Every acknowledged write is flushed by the relay's group
            // commit; sled's own timer would only add flushes nobody waits for.
            .flush_every_ms(None)
            .open()
            .map_err(backend)?;
        let blobs = BlobDir::open(dir, false, files::Owner::Sled)?;
        // No upload is being received by a store that is only opening
        // (sled's lock keeps every other process out).
        blobs.remove_all_partials()?;
        Self::from_db(db, blobs)
    }

    /// [`SledStore::open`] on a directory another handle has just let go
    /// of: sled releases its file lock when its background threads end,
    /// which on a busy machine can be a moment after the handle was dropped,
    /// so a refusal is retried for up to `wait` before it counts.
    pub fn open_released(dir: &Path, wait: std::time::Duration) -> Result<Self, StoreError> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match Self::open(dir) {
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                opened => return opened,
            }
        }
    }

    /// A store in a temporary directory that is removed on drop (tests).
    pub fn temporary() -> Result<Self, StoreError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        use rand_core::Rng as _;
        let mut random = [0u8; 8];
        ozvi_crypto::primitives::rng::os_rng().fill_bytes(&mut random);
        let dir = std::env::temp_dir().join(format!(
            "ozvi-store-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            files::hex(&random)
        ));
        let db = sled::Config::new()
            .path(&dir)
            .temporary(true)
            .open()
            .map_err(backend)?;
        Self::from_db(db, BlobDir::open(&dir, true, files::Owner::Sled)?)
    }

    fn from_db(db: Db, blobs: BlobDir) -> Result<Self, StoreError> {
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        Ok(Self {
            threads: tree("threads")?,
            messages: tree("messages")?,
            notes: tree("notes")?,
            activity: tree("activity")?,
            centres: tree("centres")?,
            system: tree("system")?,
            files: tree("files")?,
            nonces: tree("nonces")?,
            blobs: Arc::new(blobs),
            gate: Arc::default(),
            order: Arc::default(),
            partials: Arc::default(),
            db,
        })
    }

    /// The names of the trees that hold data, for the export and the auditor.
    pub const TREES: [&'static str; 7] = [
        "threads", "messages", "notes", "activity", "centres", "system", "files",
    ];

    /// Writes a consistent copy of every tree to a new database in `dir`
    /// while the relay keeps running. Reads go on meanwhile; writes wait
    /// until the trees are copied and the complete blobs hard-linked (or,
    /// across file systems, opened), not for the blobs' bytes.
    pub fn export_to(&self, dir: &Path) -> Result<(), StoreError> {
        let target = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(backend)?;
        let _exclusive = self.gate.write().unwrap_or_else(|e| e.into_inner());
        target.import(self.db.export());
        // Spent nonces only guard this relay against replays: a backup
        // has no use for them.
        target.drop_tree("nonces").map_err(backend)?;
        target.flush().map_err(backend)?;
        // The complete blobs beside it (a partial one is being received
        // and is not part of any message).
        let complete: Vec<(MailboxId, FileId)> = self
            .all_files()?
            .into_iter()
            .filter(|(_, _, r)| r.state != FileState::Partial)
            .map(|(m, f, _)| (m, f))
            .collect();
        let copies = self.blobs.link_to(dir, &complete)?;
        drop(_exclusive);
        copies.finish()
    }

    /// Held by every write, so that an export sees none half-done.
    fn writing(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(backend)
    }

    /// Serializes a write that takes a change number; hold it until commit.
    fn in_order(&self) -> MutexGuard<'_, ()> {
        self.order.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What [`Store::append_claiming`] checks of a job's claims before its
    /// transaction.
    fn check_claims(&self, job: &AppendJob) -> Result<(), StoreError> {
        if job.claims.is_empty() {
            return Ok(());
        }
        let record = self.thread(&job.mailbox)?.ok_or(StoreError::NotFound)?;
        if !record.fits(job.envelope.len(), job.quota) {
            return Err(StoreError::Quota);
        }
        files::check_claims(
            &self.files(&job.mailbox)?,
            &job.claims,
            &record.verifier,
            job.file_quota,
        )
    }

    fn next_change(&self) -> Result<u64, StoreError> {
        // Change numbers start at 1 so that 0 can mean "from the start".
        self.db.generate_id().map(|id| id + 1).map_err(backend)
    }
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => backend(e),
    }
}

fn abort<T>(e: StoreError) -> Result<T, ConflictableTransactionError<StoreError>> {
    Err(ConflictableTransactionError::Abort(e))
}

/// Inside a transaction: the thread's last activity becomes `now` (a
/// minute) under change number `change`, its inbox entry moved with it.
/// What staff write without adding a message (a note, keeping it) does this.
fn touch_thread(
    threads: &sled::transaction::TransactionalTree,
    activity: &sled::transaction::TransactionalTree,
    mailbox: &MailboxId,
    change: u64,
    now: u64,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let Some(bytes) = threads.get(mailbox.0)? else {
        return abort(StoreError::NotFound);
    };
    let mut record = match ThreadRecord::decode(&bytes) {
        Ok(r) => r,
        Err(e) => return abort(e),
    };
    activity.remove(activity_key(&record.centre, record.change, mailbox))?;
    record.change = change;
    record.last_activity = now;
    threads.insert(&mailbox.0, record.encode())?;
    activity.insert(activity_key(&record.centre, change, mailbox), &[])?;
    Ok(())
}

fn message_key(mailbox: &MailboxId, seq: u64) -> [u8; MessageKey::LEN] {
    MessageKey::encode(mailbox, seq)
}

fn activity_key(centre: &CentreId, change: u64, mailbox: &MailboxId) -> Vec<u8> {
    ActivityKey::encode(centre, change, mailbox).to_vec()
}

/// Person messages with a sequence number above `seq` (kind byte 1).
fn count_person_messages_after(
    messages: &Tree,
    mailbox: &MailboxId,
    seq: u64,
) -> Result<u32, StoreError> {
    let mut count = 0u32;
    for item in
        messages.range(message_key(mailbox, seq.saturating_add(1))..=message_key(mailbox, u64::MAX))
    {
        let (_, value) = item.map_err(backend)?;
        if StoredMessage::value_kind_byte(&value) == Some(1) {
            count += 1;
        }
    }
    Ok(count)
}

impl Store for SledStore {
    fn create_thread_claiming(
        &self,
        mailbox: &MailboxId,
        verifier: [u8; 32],
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
        claims: &[FileId],
        file_quota: FileQuota,
    ) -> Result<ThreadRecord, StoreError> {
        if !claims.is_empty() {
            if self.threads.contains_key(mailbox.0).map_err(backend)? {
                return Err(StoreError::Exists);
            }
            files::check_claims(&self.files(mailbox)?, claims, &verifier, file_quota)?;
        }
        let _writing = self.writing();
        let now = to_minute(now);
        let _in_order = self.in_order();
        let change = self.next_change()?;
        let record = ThreadRecord::new(verifier, centre.clone(), envelope.len(), now, change);
        let message = StoredMessage {
            seq: 1,
            stored_at: now,
            envelope: envelope.to_vec(),
        };
        (&self.threads, &self.messages, &self.activity, &self.files)
            .transaction(|(threads, messages, activity, files)| {
                if threads.get(mailbox.0)?.is_some() {
                    return abort(StoreError::Exists);
                }
                if let Err(e) = claim_files(files, mailbox, claims, &verifier, 1)? {
                    return abort(e);
                }
                threads.insert(&mailbox.0, record.encode())?;
                messages.insert(&message_key(mailbox, 1), message.encode_value())?;
                activity.insert(activity_key(centre, change, mailbox), &[])?;
                Ok(())
            })
            .map_err(tx_error)?;
        Ok(record)
    }

    fn thread(&self, mailbox: &MailboxId) -> Result<Option<ThreadRecord>, StoreError> {
        self.threads
            .get(mailbox.0)
            .map_err(backend)?
            .map(|v| ThreadRecord::decode(&v))
            .transpose()
    }

    fn append_claiming(
        &self,
        mailbox: &MailboxId,
        author: Author,
        envelope: &[u8],
        now: u64,
        quota: Quota,
        claims: &[FileId],
        file_quota: FileQuota,
    ) -> Result<u64, StoreError> {
        let job = AppendJob {
            mailbox: *mailbox,
            author,
            envelope: envelope.to_vec(),
            now,
            quota,
            claims: claims.to_vec(),
            file_quota,
        };
        self.append_batch(std::slice::from_ref(&job))
            .pop()
            .unwrap_or_else(|| Err(StoreError::Backend("no result".into())))
    }

    /// One transaction for the whole batch: sled writes and syncs two log
    /// buffers for every transaction (`PageCache::pin_log`), whatever its
    /// size, so appends committed one by one cost two disk writes each.
    fn append_batch(&self, jobs: &[AppendJob]) -> Vec<Result<u64, StoreError>> {
        // Checked before the transaction (sled cannot iterate inside one)
        // and again inside it, as `create_thread_claiming` does.
        let refused: Vec<Option<StoreError>> = jobs
            .iter()
            .map(|job| self.check_claims(job).err())
            .collect();
        let _writing = self.writing();
        let _in_order = self.in_order();
        let changes = match jobs
            .iter()
            .map(|_| self.next_change())
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(changes) => changes,
            Err(e) => return jobs.iter().map(|_| Err(e.clone())).collect(),
        };
        let trees = (&self.threads, &self.messages, &self.activity, &self.files);
        let committed = trees.transaction(|trees| {
            let mut results = Vec::with_capacity(jobs.len());
            for ((job, refused), change) in jobs.iter().zip(&refused).zip(&changes) {
                results.push(match refused {
                    Some(e) => Err(e.clone()),
                    None => append_in(trees, job, *change)?,
                });
            }
            Ok(results)
        });
        match committed.map_err(tx_error) {
            Ok(results) => results,
            Err(e) => jobs.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    fn messages(
        &self,
        mailbox: &MailboxId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let Some(start) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        self.messages
            .range(message_key(mailbox, start)..=message_key(mailbox, u64::MAX))
            .take(limit)
            .map(|item| {
                let (key, value) = item.map_err(backend)?;
                StoredMessage::decode_value(MessageKey::seq(&key)?, &value)
            })
            .collect()
    }

    fn delete_thread(&self, mailbox: &MailboxId) -> Result<bool, StoreError> {
        let _writing = self.writing();
        let deleted = (&self.threads, &self.messages, &self.notes, &self.activity)
            .transaction(|(threads, messages, notes, activity)| {
                let Some(bytes) = threads.remove(&mailbox.0)? else {
                    return Ok(false);
                };
                let record = match ThreadRecord::decode(&bytes) {
                    Ok(r) => r,
                    Err(e) => return abort(e),
                };
                activity.remove(activity_key(&record.centre, record.change, mailbox))?;
                notes.remove(&mailbox.0)?;
                // Messages are numbered 1..=last_seq and never removed one
                // by one, so the keys are known without iterating (which a
                // transaction cannot do); an append racing this delete
                // either committed before it (and is covered by last_seq) or
                // conflicts with it and finds no thread when it retries.
                for seq in 1..=record.last_seq {
                    messages.remove(&message_key(mailbox, seq))?;
                }
                Ok(true)
            })
            .map_err(tx_error)?;
        if deleted {
            // Its files go after it (a transaction cannot iterate). A crash
            // in between leaves claimed files of no thread, which the
            // sweeper removes. Under the order lock, which an upload's
            // finishing holds from its check to its record: one that
            // finished first is removed here, one that finishes after finds
            // no thread ([`BlobWriter::finish`]).
            let _in_order = self.in_order();
            for (file, _) in self.files(mailbox)? {
                self.remove_file_unguarded(mailbox, &file)?;
            }
        }
        Ok(deleted)
    }

    fn changed_threads(
        &self,
        centre: &CentreId,
        since: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        let (Some(from), Some(to)) = (since.checked_add(1), before.checked_sub(1)) else {
            return Ok(Vec::new());
        };
        if from > to {
            return Ok(Vec::new());
        }
        let start = activity_key(centre, from, &MailboxId([0; 16]));
        let end = activity_key(centre, to, &MailboxId([0xff; 16]));
        let mut out = Vec::new();
        for item in self.activity.range(start..=end).rev().take(limit) {
            let (key, _) = item.map_err(backend)?;
            let mailbox = ActivityKey::mailbox(&key)?;
            if let Some(record) = self.thread(&mailbox)? {
                out.push((mailbox, record));
            }
        }
        Ok(out)
    }

    fn mark_read(&self, mailbox: &MailboxId, seq: u64) -> Result<(), StoreError> {
        let _writing = self.writing();
        // sled cannot iterate inside a transaction (it would wait on its own
        // lock), so count first and commit with compare-and-swap, retrying if
        // the thread changed in between.
        loop {
            let Some(bytes) = self.threads.get(mailbox.0).map_err(backend)? else {
                return Err(StoreError::NotFound);
            };
            let mut record = ThreadRecord::decode(&bytes)?;
            let seq = seq.min(record.last_seq);
            if seq <= record.staff_read_seq {
                return Ok(());
            }
            record.staff_read_seq = seq;
            record.unread = count_person_messages_after(&self.messages, mailbox, seq)?;
            let swapped = self
                .threads
                .compare_and_swap(mailbox.0, Some(bytes), Some(record.encode()))
                .map_err(backend)?;
            if swapped.is_ok() {
                return Ok(());
            }
        }
    }

    fn keep(&self, mailbox: &MailboxId, now: u64) -> Result<(), StoreError> {
        let _writing = self.writing();
        let now = to_minute(now);
        let _in_order = self.in_order();
        let change = self.next_change()?;
        (&self.threads, &self.activity)
            .transaction(|(threads, activity)| {
                touch_thread(threads, activity, mailbox, change, now)
            })
            .map_err(tx_error)
    }

    fn put_note(&self, mailbox: &MailboxId, envelope: &[u8], now: u64) -> Result<(), StoreError> {
        let _writing = self.writing();
        let now = to_minute(now);
        let _in_order = self.in_order();
        let change = self.next_change()?;
        (&self.threads, &self.notes, &self.activity)
            .transaction(|(threads, notes, activity)| {
                touch_thread(threads, activity, mailbox, change, now)?;
                let note = StoredMessage {
                    seq: 0,
                    stored_at: now,
                    envelope: envelope.to_vec(),
                };
                notes.insert(&mailbox.0, note.encode_value())?;
                Ok(())
            })
            .map_err(tx_error)
    }

    fn put_centre_record(
        &self,
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        let _writing = self.writing();
        let record = StoredMessage {
            seq: 0,
            stored_at: to_minute(now),
            envelope: envelope.to_vec(),
        };
        self.centres
            .insert(centre.to_fixed(), record.encode_value())
            .map_err(backend)?;
        Ok(())
    }

    fn centre_record(&self, centre: &CentreId) -> Result<Option<Vec<u8>>, StoreError> {
        self.centres
            .get(centre.to_fixed())
            .map_err(backend)?
            .map(|v| StoredMessage::decode_value(0, &v).map(|m| m.envelope))
            .transpose()
    }

    fn note(&self, mailbox: &MailboxId) -> Result<Option<Vec<u8>>, StoreError> {
        self.notes
            .get(mailbox.0)
            .map_err(backend)?
            .map(|v| StoredMessage::decode_value(0, &v).map(|m| m.envelope))
            .transpose()
    }

    fn transfer(
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
        let _writing = self.writing();
        let now = to_minute(now);
        let _in_order = self.in_order();
        let change = self.next_change()?;
        // Counted before the transaction (sled cannot iterate inside one); a
        // transfer keeps every message's kind, so the count stays right as
        // long as no message was added, which the transaction checks.
        let unread = count_person_messages_after(&self.messages, mailbox, 0)?;
        (&self.threads, &self.messages, &self.notes, &self.activity)
            .transaction(|(threads, messages, notes, activity)| {
                let Some(bytes) = threads.get(mailbox.0)? else {
                    return abort(StoreError::NotFound);
                };
                let mut record = match ThreadRecord::decode(&bytes) {
                    Ok(r) => r,
                    Err(e) => return abort(e),
                };
                if resealed.len() != record.message_count as usize {
                    return abort(StoreError::Changed);
                }
                let mut total = record.total_bytes;
                for (seq, envelope) in resealed {
                    let key = message_key(mailbox, *seq);
                    let Some(old) = messages.get(key)? else {
                        return abort(StoreError::NotFound);
                    };
                    let old = match StoredMessage::decode_value(*seq, &old) {
                        Ok(m) => m,
                        Err(e) => return abort(e),
                    };
                    total = total - old.envelope.len() as u64 + envelope.len() as u64;
                    let new = StoredMessage {
                        envelope: envelope.clone(),
                        ..old
                    };
                    messages.insert(&key, new.encode_value())?;
                }
                activity.remove(activity_key(&record.centre, record.change, mailbox))?;
                match note {
                    Some(envelope) => {
                        let note = StoredMessage {
                            seq: 0,
                            stored_at: now,
                            envelope: envelope.to_vec(),
                        };
                        notes.insert(&mailbox.0, note.encode_value())?;
                    }
                    None => {
                        notes.remove(&mailbox.0)?;
                    }
                }
                record.centre = to.clone();
                record.change = change;
                record.last_activity = now;
                record.total_bytes = total;
                record.staff_read_seq = 0;
                record.unread = unread;
                if let Some(notice) = notice {
                    let seq = record.record_notice(notice.len());
                    let message = StoredMessage {
                        seq,
                        stored_at: now,
                        envelope: notice.to_vec(),
                    };
                    messages.insert(&message_key(mailbox, seq), message.encode_value())?;
                }
                threads.insert(&mailbox.0, record.encode())?;
                activity.insert(activity_key(to, change, mailbox), &[])?;
                Ok(())
            })
            .map_err(tx_error)
    }

    fn inactive_since(&self, cutoff: u64) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.threads.iter() {
            let (key, value) = item.map_err(backend)?;
            let record = ThreadRecord::decode(&value)?;
            if record.last_activity < cutoff {
                let id: [u8; 16] = key.as_ref().try_into().map_err(|_| StoreError::Corrupt)?;
                out.push((MailboxId(id), record));
            }
        }
        Ok(out)
    }

    fn set_directory(&self, json: &[u8]) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.system.insert(DIRECTORY_KEY, json).map_err(backend)?;
        Ok(())
    }

    fn directory(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .system
            .get(DIRECTORY_KEY)
            .map_err(backend)?
            .map(|v| v.to_vec()))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(backend)?;
        Ok(())
    }

    fn spend_nonce(
        &self,
        nonce: &super::NonceKey,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        let _writing = self.writing();
        let expiry = super::nonce_expiry(until).to_be_bytes();
        let mut fresh = false;
        // One atomic read-modify-write: of two requests with one nonce,
        // on any two workers, exactly one spends it.
        self.nonces
            .fetch_and_update(nonce, |old| {
                fresh = !old.is_some_and(|v| super::nonce_live(v, now));
                match old {
                    Some(v) if !fresh => Some(v.to_vec()),
                    _ => Some(expiry.to_vec()),
                }
            })
            .map_err(backend)?;
        Ok(fresh)
    }

    fn nonce_spent(&self, nonce: &super::NonceKey, now: u64) -> Result<bool, StoreError> {
        Ok(self
            .nonces
            .get(nonce)
            .map_err(backend)?
            .is_some_and(|v| super::nonce_live(&v, now)))
    }

    fn sweep_nonces(&self, now: u64) -> Result<usize, StoreError> {
        let _writing = self.writing();
        let mut removed = 0;
        for entry in self.nonces.iter() {
            let (key, value) = entry.map_err(backend)?;
            if !super::nonce_live(&value, now)
                && self
                    .nonces
                    .compare_and_swap(&key, Some(&value), None::<&[u8]>)
                    .map_err(backend)?
                    .is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn begin_upload(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
        length: u64,
        binding: [u8; 32],
        now: u64,
        quota: FileQuota,
    ) -> Result<Box<dyn BlobWriter>, StoreError> {
        let _writing = self.writing();
        let _in_order = self.in_order();
        // An upload into a thread (not bound to her secret before her first
        // contact) needs the thread: it may have been deleted since her
        // request was let in.
        if binding == [0; 32] && self.thread(mailbox)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let others = self.files(mailbox)?;
        files::check_upload(&others, file, length, quota)?;
        let key = FileRecord::key(mailbox, file);
        let created_record = !others.iter().any(|(id, _)| id == file);
        let record = FileRecord {
            state: FileState::Partial,
            claimed_by: 0,
            created_at: to_minute(now),
            length,
            binding,
        };
        if created_record {
            self.files.insert(key, record.encode()).map_err(backend)?;
        } else if let Some((_, existing)) = others.iter().find(|(id, _)| id == file) {
            // A retry: its time is now's (as on PostgreSQL, where another
            // relay's sweeper cannot know it is being received).
            let retried = FileRecord {
                created_at: to_minute(now),
                ..existing.clone()
            };
            self.files.insert(key, retried.encode()).map_err(backend)?;
        }
        let (partial, partial_path) = self.blobs.create_partial(mailbox, file)?;
        if let Some(before) = self.record_partial(key, partial_path.clone()) {
            self.blobs.remove_partial(&before)?;
        }
        Ok(Box::new(SledUpload {
            store: self.clone(),
            mailbox: *mailbox,
            file: *file,
            record,
            written: 0,
            partial: Some(partial),
            partial_path,
            created_record,
        }))
    }

    fn staging_dir(&self) -> std::path::PathBuf {
        self.blobs.staging().to_path_buf()
    }

    fn partial_sizes(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        // The store's record of attempts names every partial file there is
        // (opening the store removed the others): no pass over the folder,
        // which this store's callers make on the async workers.
        let attempts: Vec<([u8; 32], PathBuf)> = self
            .partials()
            .iter()
            .map(|(key, path)| (*key, path.clone()))
            .collect();
        Ok(attempts
            .into_iter()
            .filter_map(|(key, path)| Some((key, std::fs::metadata(path).ok()?.len())))
            .collect())
    }

    fn file(&self, mailbox: &MailboxId, file: &FileId) -> Result<Option<FileRecord>, StoreError> {
        self.files
            .get(FileRecord::key(mailbox, file))
            .map_err(backend)?
            .map(|v| FileRecord::decode(&v))
            .transpose()
    }

    fn files(&self, mailbox: &MailboxId) -> Result<Vec<(FileId, FileRecord)>, StoreError> {
        self.files
            .scan_prefix(mailbox.0)
            .map(|item| {
                let (key, value) = item.map_err(backend)?;
                let (_, file) = FileRecord::parse_key(&key)?;
                Ok((file, FileRecord::decode(&value)?))
            })
            .collect()
    }

    fn all_files(&self) -> Result<Vec<(MailboxId, FileId, FileRecord)>, StoreError> {
        self.files
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(backend)?;
                let (mailbox, file) = FileRecord::parse_key(&key)?;
                Ok((mailbox, file, FileRecord::decode(&value)?))
            })
            .collect()
    }

    fn read_blob(&self, mailbox: &MailboxId, file: &FileId) -> Result<BlobReader, StoreError> {
        self.blobs.read(mailbox, file)
    }

    fn remove_file(&self, mailbox: &MailboxId, file: &FileId) -> Result<bool, StoreError> {
        let _writing = self.writing();
        let _in_order = self.in_order();
        self.remove_file_unguarded(mailbox, file)
    }

    fn remove_orphan_partials(
        &self,
        older_than_secs: u64,
        receiving: &dyn Fn(&[u8; 32]) -> bool,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        for (key, path) in self.blobs.old_partial_files(older_than_secs)? {
            let _writing = self.writing();
            let _in_order = self.in_order();
            let (mailbox, file) = FileRecord::parse_key(&key)?;
            if files::partial_abandoned(self.file(&mailbox, &file)?.as_ref()) && !receiving(&key) {
                self.forget_partial(key, &path);
                self.blobs.remove_partial(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn remove_file_if(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
        stale: &dyn Fn(&FileRecord) -> Result<bool, StoreError>,
    ) -> Result<bool, StoreError> {
        // Under the order lock, which claims, uploads' beginnings and
        // finishes hold too: the record judged is the record removed.
        let _writing = self.writing();
        let _in_order = self.in_order();
        match self.file(mailbox, file)? {
            Some(record) if stale(&record)? => self.remove_file_unguarded(mailbox, file),
            _ => Ok(false),
        }
    }
}

impl SledStore {
    /// The record of each blob key's latest partial file.
    fn partials(&self) -> MutexGuard<'_, HashMap<[u8; 32], PathBuf>> {
        self.partials.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `path` as the partial file of `key`'s latest upload attempt;
    /// returns the one recorded before. The caller holds the order lock.
    fn record_partial(&self, key: [u8; 32], path: PathBuf) -> Option<PathBuf> {
        self.partials().insert(key, path)
    }

    /// Forgets `path` as `key`'s latest partial file if it still is (its
    /// attempt ended). The caller holds the order lock.
    fn forget_partial(&self, key: [u8; 32], path: &Path) {
        let mut partials = self.partials();
        if partials.get(&key).is_some_and(|p| p == path) {
            partials.remove(&key);
        }
    }

    /// [`Store::remove_file`] for a caller that holds the write gate and
    /// the order lock: the record, the blob, and what is being received for
    /// it (an upload still writing can then no longer put its blob in
    /// place).
    fn remove_file_unguarded(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
    ) -> Result<bool, StoreError> {
        let key = FileRecord::key(mailbox, file);
        let removed = self.files.remove(key).map_err(backend)?.is_some();
        self.blobs.remove(mailbox, file)?;
        if let Some(partial) = self.partials().remove(&key) {
            self.blobs.remove_partial(&partial)?;
        }
        Ok(removed)
    }
}

/// Inside a transaction: each of `claims` becomes claimed by message `seq`,
/// if every one is a complete unclaimed upload for a thread with `verifier`;
/// otherwise why not, and nothing is written.
fn claim_files(
    files: &TransactionalTree,
    mailbox: &MailboxId,
    claims: &[FileId],
    verifier: &[u8; 32],
    seq: u64,
) -> Result<Result<(), StoreError>, UnabortableTransactionError> {
    let mut claimed = Vec::with_capacity(claims.len());
    for file in claims {
        let key = FileRecord::key(mailbox, file);
        let Some(bytes) = files.get(key)? else {
            return Ok(Err(StoreError::UnknownFile));
        };
        let mut record = match FileRecord::decode(&bytes) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        if !claimable(&record, verifier) {
            return Ok(Err(StoreError::UnknownFile));
        }
        record.state = FileState::Claimed;
        record.claimed_by = seq;
        claimed.push((key, record));
    }
    for (key, record) in claimed {
        files.insert(&key, record.encode())?;
    }
    Ok(Ok(()))
}

/// Inside a transaction: `job` appended under change number `change`, or
/// why not, with nothing written.
fn append_in(
    (threads, messages, activity, files): &(
        TransactionalTree,
        TransactionalTree,
        TransactionalTree,
        TransactionalTree,
    ),
    job: &AppendJob,
    change: u64,
) -> Result<Result<u64, StoreError>, UnabortableTransactionError> {
    let mailbox = &job.mailbox;
    let Some(bytes) = threads.get(mailbox.0)? else {
        return Ok(Err(StoreError::NotFound));
    };
    let mut record = match ThreadRecord::decode(&bytes) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if !record.fits(job.envelope.len(), job.quota) {
        return Ok(Err(StoreError::Quota));
    }
    if let Err(e) = claim_files(
        files,
        mailbox,
        &job.claims,
        &record.verifier,
        record.last_seq + 1,
    )? {
        return Ok(Err(e));
    }
    activity.remove(activity_key(&record.centre, record.change, mailbox))?;
    let now = to_minute(job.now);
    record.record_append(job.author, job.envelope.len(), now, change);
    let message = StoredMessage {
        seq: record.last_seq,
        stored_at: now,
        envelope: job.envelope.clone(),
    };
    messages.insert(
        &message_key(mailbox, record.last_seq),
        message.encode_value(),
    )?;
    threads.insert(&mailbox.0, record.encode())?;
    activity.insert(activity_key(&record.centre, change, mailbox), &[])?;
    Ok(Ok(record.last_seq))
}

/// An upload into a [`SledStore`].
struct SledUpload {
    store: SledStore,
    mailbox: MailboxId,
    file: FileId,
    record: FileRecord,
    written: u64,
    partial: Option<std::fs::File>,
    /// Where `partial` is ([`BlobDir::create_partial`]).
    partial_path: PathBuf,
    created_record: bool,
}

impl BlobWriter for SledUpload {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let partial = self.partial.as_mut().ok_or(StoreError::Corrupt)?;
        if self.written + bytes.len() as u64 > self.record.length {
            return Err(StoreError::Corrupt);
        }
        BlobDir::append(partial, bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        let partial = self.partial.take().ok_or(StoreError::Corrupt)?;
        if self.written != self.record.length {
            return Err(StoreError::Corrupt);
        }
        partial.sync_all().map_err(io)?;
        let _writing = self.store.writing();
        // The check, the rename and the record under the order lock, which
        // every claim holds to its commit: a claim comes wholly before
        // (and wins: a claimed blob never changes) or wholly after.
        let _in_order = self.store.in_order();
        let key = FileRecord::key(&self.mailbox, &self.file);
        let current = self.store.file(&self.mailbox, &self.file)?;
        // An upload into a thread whose thread is gone was deleted with it
        // while it was received: nothing of it may stay. (One of no thread
        // before her first contact is bound to her secret.)
        let orphaned =
            self.record.binding == [0; 32] && self.store.thread(&self.mailbox)?.is_none();
        let refused = files::finish_refusal(orphaned, current.as_ref());
        // This attempt ends here, whatever comes next.
        self.store.forget_partial(key, &self.partial_path);
        if let Some(refused) = refused {
            drop(partial);
            self.store.blobs.remove_partial(&self.partial_path)?;
            if orphaned && current.is_some_and(|r| r.state == FileState::Partial) {
                self.store.files.remove(key).map_err(backend)?;
            }
            return Err(refused);
        }
        #[cfg(test)]
        tests::finish_hook(&self.mailbox);
        self.store
            .blobs
            .complete(partial, &self.partial_path, &self.mailbox, &self.file)?;
        let record = FileRecord {
            state: FileState::Pending,
            ..self.record.clone()
        };
        self.store
            .files
            .insert(key, record.encode())
            .map_err(backend)?;
        Ok(())
    }

    fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        drop(self.partial.take());
        let _writing = self.store.writing();
        let _in_order = self.store.in_order();
        self.store.forget_partial(
            FileRecord::key(&self.mailbox, &self.file),
            &self.partial_path,
        );
        self.store.blobs.remove_partial(&self.partial_path)?;
        let key = FileRecord::key(&self.mailbox, &self.file);
        if self.created_record
            && self
                .store
                .file(&self.mailbox, &self.file)?
                .is_some_and(|r| r.state == FileState::Partial)
        {
            self.store.files.remove(key).map_err(backend)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_spent_once_until_it_expires_and_kept_across_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let nonce = [7u8; 32];
        let now = 1_800_000_000;
        let until = now + 720;
        {
            let store = SledStore::open(dir.path()).expect("opens");
            assert!(!store.nonce_spent(&nonce, now).unwrap());
            assert!(store.spend_nonce(&nonce, now, until).unwrap());
            assert!(
                !store.spend_nonce(&nonce, now + 1, until).unwrap(),
                "spent once"
            );
            assert!(store.nonce_spent(&nonce, now + 1).unwrap());
            // Many workers at once: exactly one spends a fresh nonce.
            let fresh = [8u8; 32];
            let spent: usize = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| usize::from(store.spend_nonce(&fresh, now, until).unwrap()))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert_eq!(spent, 1);
            store.flush().unwrap();
            // A backup leaves them out.
            let export = dir.path().join("export");
            store.export_to(&export).expect("exports");
            let copy = sled::open(&export).expect("opens the export");
            assert!(!copy.tree_names().iter().any(|n| n.as_ref() == b"nonces"));
        }
        let store = SledStore::open(dir.path()).expect("reopens");
        let expiry = crate::store::nonce_expiry(until);
        assert_eq!(expiry % 60, 0, "a whole minute");
        assert!(expiry > until);
        assert!(
            !store.spend_nonce(&nonce, expiry, expiry).unwrap(),
            "kept until its expiry"
        );
        assert_eq!(store.sweep_nonces(expiry).unwrap(), 0);
        assert_eq!(store.sweep_nonces(expiry + 1).unwrap(), 2);
        assert!(
            store.spend_nonce(&nonce, expiry + 1, expiry + 700).unwrap(),
            "forgotten after it"
        );
    }

    /// Called by [`SledUpload::finish`] between its check and its writes.
    type Hook = Box<dyn Fn(&MailboxId) + Send + Sync>;
    static FINISH_HOOK: Mutex<Option<Hook>> = Mutex::new(None);

    pub(super) fn finish_hook(mailbox: &MailboxId) {
        if let Some(hook) = FINISH_HOOK
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            hook(mailbox);
        }
    }

    #[test]
    fn an_export_links_the_complete_blobs_instead_of_copying_them_under_its_gate() {
        use std::os::unix::fs::MetadataExt as _;
        let store = SledStore::temporary().expect("opens");
        let mailbox = MailboxId([78; 16]);
        let id = FileId([1; 16]);
        let (length, blob) = test_blob();
        let mut writer = store
            .begin_upload(&mailbox, &id, length, [9; 32], 60, FileQuota::default())
            .expect("begins");
        writer.write(&blob).expect("writes");
        writer.finish().expect("finishes");
        let target = std::env::temp_dir().join(format!(
            "ozvi-export-test-{}-{}",
            std::process::id(),
            files::hex(&[
                rand_core::Rng::next_u32(&mut ozvi_crypto::primitives::rng::os_rng()) as u8
            ])
        ));
        store.export_to(&target).expect("exports");
        let source = std::fs::metadata(store.blobs.path(&mailbox, &id)).expect("exists");
        let exported = target
            .join("files")
            .join(files::hex(&FileRecord::key(&mailbox, &id)));
        let copy = std::fs::metadata(&exported).expect("exported");
        assert_eq!(source.ino(), copy.ino(), "one file, two names");
        assert_eq!(std::fs::read(&exported).expect("reads"), blob);
        let _ = std::fs::remove_dir_all(&target);
    }

    #[test]
    fn the_sweeper_never_removes_a_file_claimed_after_it_judged_the_record() {
        let store = SledStore::temporary().expect("opens");
        let mailbox = MailboxId([79; 16]);
        let centre = CentreId::parse("ic-zlin").expect("valid");
        let (length, blob) = test_blob();
        let id = FileId([1; 16]);
        store
            .create_thread(&mailbox, [9; 32], &centre, b"\x01\x01envelope", 60)
            .expect("creates");
        let mut writer = store
            .begin_upload(&mailbox, &id, length, [0; 32], 60, FileQuota::default())
            .expect("begins");
        writer.write(&blob).expect("writes");
        writer.finish().expect("finishes");
        // The sweeper judges the unclaimed record stale; her message claims
        // the file right then.
        let racer = store.clone();
        let (done, claimed) = std::sync::mpsc::channel();
        let stale = move |record: &FileRecord| {
            let racer = racer.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let claim = racer.append_claiming(
                    &MailboxId([79; 16]),
                    Author::Person,
                    b"\x01\x01message",
                    120,
                    Quota {
                        max_messages: 100,
                        max_bytes: 1 << 20,
                    },
                    &[FileId([1; 16])],
                    FileQuota::default(),
                );
                let _ = done.send(claim.is_ok());
            });
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok(record.unclaimed())
        };
        let removed = store.remove_file_if(&mailbox, &id, &stale).expect("sweeps");
        let claim_ok = claimed
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the claim ends");
        let record = store.file(&mailbox, &id).expect("reads");
        // Either the sweep came first (the file is gone and the claim
        // found nothing) or the claim did (the file stays, claimed).
        assert_ne!(removed, claim_ok, "exactly one of them wins");
        assert_eq!(
            record.is_some(),
            claim_ok,
            "a claimed file is never removed"
        );
        assert_eq!(store.read_blob(&mailbox, &id).is_ok(), claim_ok);
    }

    #[test]
    fn a_claim_never_lands_between_a_replacing_uploads_check_and_its_writes() {
        let store = SledStore::temporary().expect("opens");
        let mailbox = MailboxId([77; 16]);
        let centre = CentreId::parse("ic-zlin").expect("valid");
        let (length, blob) = test_blob();
        let id = FileId([1; 16]);
        store
            .create_thread(&mailbox, [9; 32], &centre, b"\x01\x01envelope", 60)
            .expect("creates");
        let upload = |byte: u8| {
            let mut writer = store
                .begin_upload(&mailbox, &id, length, [0; 32], 60, FileQuota::default())
                .expect("begins");
            let mut blob = blob.clone();
            blob[1] = byte;
            writer.write(&blob).expect("writes");
            writer
        };
        upload(1).finish().expect("the first upload is complete");
        // A second upload of the same id (replacing the unclaimed one) is
        // between its check and its writes when her message claims the id.
        let replacing = upload(2);
        let (done, claimed) = std::sync::mpsc::channel();
        let racer = store.clone();
        *FINISH_HOOK.lock().expect("lock") = Some(Box::new(move |m: &MailboxId| {
            if m.0 != [77; 16] {
                return;
            }
            let racer = racer.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let claim = racer.append_claiming(
                    &MailboxId([77; 16]),
                    Author::Person,
                    b"\x01\x01message",
                    120,
                    Quota {
                        max_messages: 100,
                        max_bytes: 1 << 20,
                    },
                    &[FileId([1; 16])],
                    FileQuota::default(),
                );
                let _ = done.send(claim.is_ok());
            });
            // Long enough for an unguarded claim to commit.
            std::thread::sleep(std::time::Duration::from_millis(300));
        }));
        let finished = replacing.finish();
        *FINISH_HOOK.lock().expect("lock") = None;
        let claim_ok = claimed
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the claim ends");
        // Whatever the order, the record and the message agree: the claim
        // succeeded, so the file is claimed, and its bytes are those the
        // claim saw complete when it committed.
        assert!(
            claim_ok,
            "the claim succeeds (before or after): {finished:?}"
        );
        let record = store.file(&mailbox, &id).expect("reads").expect("exists");
        assert_eq!(record.state, FileState::Claimed, "a claim is never undone");
        assert_eq!(record.claimed_by, 2);
    }

    #[test]
    fn a_batch_commits_every_job_it_may_and_a_refused_one_writes_nothing() {
        let store = SledStore::temporary().expect("opens");
        let centre = CentreId::parse("ic-zlin").expect("valid");
        let (a, b, unknown) = (MailboxId([1; 16]), MailboxId([2; 16]), MailboxId([3; 16]));
        for mailbox in [&a, &b] {
            store
                .create_thread(mailbox, [9; 32], &centre, b"\x01\x01first", 60)
                .expect("creates");
        }
        let (length, blob) = test_blob();
        let (f1, f2) = (FileId([1; 16]), FileId([2; 16]));
        for id in [&f1, &f2] {
            let mut writer = store
                .begin_upload(&a, id, length, [0; 32], 60, FileQuota::default())
                .expect("begins");
            writer.write(&blob).expect("writes");
            writer.finish().expect("finishes");
        }
        let roomy = Quota {
            max_messages: 100,
            max_bytes: 1 << 20,
        };
        let job =
            |mailbox: MailboxId, envelope: &[u8], claims: &[FileId], quota: Quota| AppendJob {
                mailbox,
                author: Author::Person,
                envelope: envelope.to_vec(),
                now: 120,
                quota,
                claims: claims.to_vec(),
                file_quota: FileQuota::default(),
            };
        let full = Quota {
            max_messages: 100,
            max_bytes: 1,
        };
        let results = store.append_batch(&[
            job(a, b"\x01\x01two", &[], roomy),
            job(unknown, b"\x01\x01nobody", &[], roomy),
            job(a, b"\x01\x01three", &[f1], roomy),
            // Passes the check before the transaction (f1 was unclaimed),
            // then finds f1 claimed by the job before it: f2 must stay
            // unclaimed and nothing of this job be written.
            job(a, b"\x01\x01taken", &[f2, f1], roomy),
            job(b, b"\x01\x01too big", &[], full),
            job(a, b"\x01\x01four", &[], roomy),
        ]);
        let outcome: Vec<_> = results
            .iter()
            .map(|r| r.as_ref().map_err(ToString::to_string).copied())
            .collect();
        assert_eq!(
            outcome,
            [
                Ok(2),
                Err("no such thread".into()),
                Ok(3),
                Err("unknown file".into()),
                Err("quota exceeded".into()),
                Ok(4),
            ]
        );
        let texts: Vec<_> = store
            .messages(&a, 0, 10)
            .expect("reads")
            .into_iter()
            .map(|m| (m.seq, m.envelope))
            .collect();
        assert_eq!(
            texts,
            [
                (1, b"\x01\x01first".to_vec()),
                (2, b"\x01\x01two".to_vec()),
                (3, b"\x01\x01three".to_vec()),
                (4, b"\x01\x01four".to_vec()),
            ]
        );
        assert_eq!(store.messages(&b, 0, 10).expect("reads").len(), 1);
        assert!(store.thread(&unknown).expect("reads").is_none());
        let claimed = store.file(&a, &f1).expect("reads").expect("exists");
        assert_eq!((claimed.state, claimed.claimed_by), (FileState::Claimed, 3));
        let untouched = store.file(&a, &f2).expect("reads").expect("exists");
        assert_eq!(
            (untouched.state, untouched.claimed_by),
            (FileState::Pending, 0)
        );
        // The thread's counters saw three appends, not the refused one.
        let record = store.thread(&a).expect("reads").expect("exists");
        assert_eq!(record.last_seq, 4);
    }

    #[test]
    fn the_sweeper_removes_claimed_files_whose_thread_a_crash_left_behind() {
        let store = SledStore::temporary().expect("opens");
        let mailbox = MailboxId([5; 16]);
        let centre = CentreId::parse("ic-zlin").expect("valid");
        let (length, blob) = test_blob();
        let ids = [FileId([1; 16]), FileId([2; 16])];
        for id in &ids {
            let mut writer = store
                .begin_upload(&mailbox, id, length, [9; 32], 60, FileQuota::default())
                .expect("begins");
            writer.write(&blob).expect("writes");
            writer.finish().expect("finishes");
        }
        store
            .create_thread_claiming(
                &mailbox,
                [9; 32],
                &centre,
                b"\x01\x01envelope",
                60,
                &ids[..1],
                FileQuota::default(),
            )
            .expect("creates and claims");
        let sweep = |now: u64| {
            crate::store::remove_stale_files(&store, now, 3600, &|_| false).expect("sweeps")
        };
        // Within the hour nothing goes; after it, the unclaimed one.
        assert_eq!(sweep(60 + 3600), 0);
        assert_eq!(sweep(60 + 3600 + 60), 1);
        assert!(store.file(&mailbox, &ids[1]).expect("reads").is_none());
        // A crash between the thread's deletion and its files': the thread
        // record is gone, its claimed file is not, until the sweep.
        store.threads.remove(mailbox.0).expect("removes");
        assert!(store.file(&mailbox, &ids[0]).expect("reads").is_some());
        assert_eq!(sweep(60 + 3600 + 60), 1);
        assert!(store.all_files().expect("reads").is_empty());
        assert!(store.read_blob(&mailbox, &ids[0]).is_err(), "its bytes too");
        // An upload being received is never swept.
        let mut writer = store
            .begin_upload(&mailbox, &ids[1], length, [9; 32], 60, FileQuota::default())
            .expect("begins");
        writer.write(&blob[..10]).expect("writes");
        assert_eq!(
            crate::store::remove_stale_files(&store, 1_000_000, 3600, &|_| true).expect("sweeps"),
            0
        );
        assert_eq!(sweep(1_000_000), 1, "an interrupted one is");
        drop(writer);
        // A partial file whose partial record a crash lost goes too, once
        // old, unless it is being received; other entries stay, a partial
        // of the fixed name older relays wrote among them.
        let orphan = leftover_partial(&store, &mailbox, &ids[1]);
        std::fs::write(&orphan, [1u8; 10]).expect("writes");
        std::fs::write(store.blobs.dir().join("not-a-blob.part"), b"x").expect("writes");
        let fixed_name = store.blobs.dir().join(format!(
            "{}.part",
            files::hex(&FileRecord::key(&mailbox, &ids[1]))
        ));
        std::fs::write(&fixed_name, b"x").expect("writes");
        let strict = |now: u64, receiving: bool| {
            crate::store::remove_stale_files(&store, now, 0, &|_| receiving).expect("sweeps")
        };
        assert_eq!(strict(1_000_000, true), 0);
        assert!(orphan.exists());
        assert_eq!(strict(1_000_000, false), 1);
        assert!(!orphan.exists());
        assert!(store.blobs.dir().join("not-a-blob.part").exists());
        assert!(fixed_name.exists());
        std::fs::write(&orphan, [1u8; 10]).expect("writes");
        assert_eq!(
            crate::store::remove_stale_files(&store, 1_000_000, 3600, &|_| false).expect("sweeps"),
            0,
            "a fresh one stays"
        );
        assert!(orphan.exists());
    }

    /// A partial file for `file` as an upload leaves it when the relay
    /// stops before it ends.
    fn leftover_partial(store: &SledStore, mailbox: &MailboxId, file: &FileId) -> PathBuf {
        let (partial, path) = store.blobs.create_partial(mailbox, file).expect("creates");
        drop(partial);
        path
    }

    #[test]
    fn a_partial_left_beside_a_finished_upload_is_swept_and_the_upload_kept() {
        let store = SledStore::temporary().expect("opens");
        let mailbox = MailboxId([6; 16]);
        let id = FileId([1; 16]);
        let (length, blob) = test_blob();
        // The relay stopped during her first attempt; her retry finished
        // and her first message claimed it.
        let abandoned = leftover_partial(&store, &mailbox, &id);
        std::fs::write(&abandoned, &blob[..10]).expect("writes");
        let mut writer = store
            .begin_upload(&mailbox, &id, length, [9; 32], 60, FileQuota::default())
            .expect("begins");
        writer.write(&blob).expect("writes");
        writer.finish().expect("finishes");
        store
            .create_thread_claiming(
                &mailbox,
                [9; 32],
                &CentreId::parse("ic-zlin").expect("valid"),
                b"\x01\x01envelope",
                60,
                &[id],
                FileQuota::default(),
            )
            .expect("creates and claims");
        let sweep = |receiving: bool| {
            crate::store::remove_stale_files(&store, 1_000_000, 0, &|_| receiving).expect("sweeps")
        };
        assert_eq!(sweep(true), 0, "not while the id is being received");
        assert!(abandoned.exists());
        assert_eq!(sweep(false), 1);
        assert!(!abandoned.exists());
        assert_eq!(
            store
                .file(&mailbox, &id)
                .expect("reads")
                .expect("kept")
                .state,
            FileState::Claimed
        );
        let mut kept = Vec::new();
        std::io::Read::read_to_end(
            &mut store.read_blob(&mailbox, &id).expect("opens"),
            &mut kept,
        )
        .expect("reads");
        assert_eq!(kept, blob);
    }

    /// The smallest blob: its length and bytes (format byte 0x01).
    fn test_blob() -> (u64, Vec<u8>) {
        let length = ozvi_crypto::protocol::file::BLOB_LENGTHS[0];
        let mut blob = vec![0x33u8; usize::try_from(length).expect("small")];
        blob[0] = 1;
        (length, blob)
    }

    fn centre() -> CentreId {
        CentreId::parse("ic-zlin").expect("valid")
    }

    fn partial_files(store: &SledStore) -> Vec<String> {
        std::fs::read_dir(store.blobs.dir())
            .expect("the blob folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".part"))
            .collect()
    }

    #[test]
    fn cut_attempts_of_an_upload_leave_one_partial_file_between_them() {
        let store = SledStore::temporary().expect("opens");
        let mailbox = MailboxId([7; 16]);
        let id = FileId([1; 16]);
        store
            .create_thread(&mailbox, [9; 32], &centre(), b"\x01\x01envelope", 60)
            .expect("creates");
        let (length, blob) = test_blob();
        // Cut off again and again (the relay keeps the partial record for
        // her retry): one partial file, not one per attempt.
        for _ in 0..5 {
            let mut writer = store
                .begin_upload(&mailbox, &id, length, [0; 32], 60, FileQuota::default())
                .expect("begins");
            writer.write(&blob[..1000]).expect("writes");
            drop(writer);
        }
        assert_eq!(
            partial_files(&store).len(),
            1,
            "{:?}",
            partial_files(&store)
        );
        let mut writer = store
            .begin_upload(&mailbox, &id, length, [0; 32], 60, FileQuota::default())
            .expect("begins");
        writer.write(&blob).expect("writes");
        writer.finish().expect("finishes");
        assert!(
            partial_files(&store).is_empty(),
            "{:?}",
            partial_files(&store)
        );
        let mut kept = Vec::new();
        std::io::Read::read_to_end(
            &mut store.read_blob(&mailbox, &id).expect("opens"),
            &mut kept,
        )
        .expect("reads");
        assert_eq!(kept, blob, "the whole blob, nothing of the cut attempts");
    }

    /// The names in `dir`, recursively, relative to it.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("reads") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().expect("type").is_dir() {
                out.extend(
                    names_in(&entry.path())
                        .into_iter()
                        .map(|n| format!("{name}/{n}")),
                );
            }
            out.push(name);
        }
        out.sort();
        out
    }

    #[test]
    fn a_blob_folder_of_a_postgresql_store_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = FileRecord::key(&MailboxId([8; 16]), &FileId([1; 16]));
        // What relays on PostgreSQL keep there: a blob, one being received.
        files::BlobDir::claim(dir.path(), files::Owner::Postgres).expect("claims");
        let blobs = dir.path().join("files");
        std::fs::write(blobs.join(files::hex(&key)), b"\x01blob").expect("writes");
        std::fs::write(
            blobs.join(format!("{}.{}.part", files::hex(&key), "ab".repeat(16))),
            b"\x01bl",
        )
        .expect("writes");
        let before = names_in(dir.path());
        let refused = SledStore::open(dir.path()).err().expect("refused");
        let said = refused.to_string();
        assert!(matches!(refused, StoreError::OtherStore(_)), "{refused:?}");
        assert!(
            said.contains("a PostgreSQL store") && said.contains("`store`"),
            "{said}"
        );
        assert_eq!(names_in(dir.path()), before, "nothing changed");
        // The other way round, and a mark no relay writes.
        let sled = tempfile::tempdir().expect("temp dir");
        drop(SledStore::open(sled.path()).expect("opens"));
        let refused =
            files::BlobDir::claim(sled.path(), files::Owner::Postgres).expect_err("refused");
        assert!(refused.to_string().contains("a sled store"), "{refused}");
        std::fs::write(sled.path().join("files").join(files::OWNER_FILE), b"sled").expect("writes");
        assert!(matches!(
            SledStore::open_released(sled.path(), std::time::Duration::from_secs(5)),
            Err(StoreError::OtherStore(_))
        ));
    }

    #[test]
    fn a_folder_from_before_the_mark_is_judged_by_what_it_holds() {
        // Blobs with no sled database beside them: a PostgreSQL store's.
        let shared = tempfile::tempdir().expect("temp dir");
        let blobs = shared.path().join("files");
        std::fs::create_dir_all(&blobs).expect("creates");
        std::fs::write(blobs.join("0a".repeat(32)), b"\x01blob").expect("writes");
        let before = names_in(shared.path());
        let refused = SledStore::open(shared.path()).err().expect("refused");
        assert!(
            refused.to_string().contains("no sled database"),
            "{refused}"
        );
        assert_eq!(names_in(shared.path()), before, "nothing changed");
        // A sled store's whose mark is gone: PostgreSQL refuses it, sled
        // opens it and marks it again.
        let sled = tempfile::tempdir().expect("temp dir");
        drop(SledStore::open(sled.path()).expect("opens"));
        let mark = sled.path().join("files").join(files::OWNER_FILE);
        std::fs::remove_file(&mark).expect("removes");
        let refused = files::check_owner(sled.path(), files::Owner::Postgres).expect_err("refused");
        assert!(
            refused.to_string().contains("the database of a sled store"),
            "{refused}"
        );
        // So does a relay whose files/ links to that store's folder (as
        // relays on PostgreSQL share theirs).
        let relay = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(sled.path().join("files"), relay.path().join("files"))
            .expect("links");
        let refused =
            files::check_owner(relay.path(), files::Owner::Postgres).expect_err("refused");
        assert!(
            refused.to_string().contains("the database of a sled store"),
            "{refused}"
        );
        drop(
            SledStore::open_released(sled.path(), std::time::Duration::from_secs(5))
                .expect("reopens"),
        );
        assert_eq!(std::fs::read(&mark).expect("marked"), b"sled\n");
    }

    #[test]
    fn relays_marking_one_folder_together_agree_and_an_unfinished_mark_is_waited_for() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        let starting: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || files::BlobDir::claim(&path, files::Owner::Postgres))
            })
            .collect();
        for relay in starting {
            relay.join().expect("thread").expect("each relay opens");
        }
        assert_eq!(
            names_in(dir.path()),
            ["files", &format!("files/{}", files::OWNER_FILE)]
        );
        let mark = dir.path().join("files").join(files::OWNER_FILE);
        assert_eq!(std::fs::read(&mark).expect("marked"), b"postgres\n");
        // A mark another relay is writing is waited for.
        std::fs::write(&mark, b"post").expect("writes");
        let finishing = std::thread::spawn({
            let mark = mark.clone();
            move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                std::fs::write(&mark, b"postgres\n").expect("writes");
            }
        });
        files::BlobDir::claim(&path, files::Owner::Postgres).expect("opens once it is whole");
        finishing.join().expect("thread");
        // One left unfinished (a relay stopped while writing it) is an
        // error that says what to do.
        std::fs::write(&mark, b"").expect("writes");
        let refused = files::BlobDir::claim(&path, files::Owner::Postgres).expect_err("refused");
        assert!(
            refused.to_string().contains("remove that file"),
            "{refused}"
        );
    }

    #[test]
    fn opening_the_store_removes_what_uploads_were_receiving_when_it_stopped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mailbox = MailboxId([8; 16]);
        let id = FileId([1; 16]);
        let fixed_name = {
            let store = SledStore::open(dir.path()).expect("opens");
            store
                .create_thread(&mailbox, [9; 32], &centre(), b"\x01\x01envelope", 60)
                .expect("creates");
            let length = ozvi_crypto::protocol::file::BLOB_LENGTHS[0];
            let mut writer = store
                .begin_upload(&mailbox, &id, length, [0; 32], 60, FileQuota::default())
                .expect("begins");
            writer.write(&[1; 1000]).expect("writes");
            // And the fixed name relays wrote before the one name shape.
            let fixed_name = store.blobs.dir().join(format!(
                "{}.part",
                files::hex(&FileRecord::key(&mailbox, &id))
            ));
            std::fs::write(&fixed_name, b"x").expect("writes");
            assert_eq!(partial_files(&store).len(), 2);
            store.flush().expect("flush");
            fixed_name
        };
        let store = SledStore::open_released(dir.path(), std::time::Duration::from_secs(5))
            .expect("reopens");
        assert!(
            partial_files(&store).is_empty(),
            "{:?}",
            partial_files(&store)
        );
        assert!(!fixed_name.exists());
        assert_eq!(
            store
                .file(&mailbox, &id)
                .expect("reads")
                .expect("kept for her retry")
                .state,
            FileState::Partial
        );
    }

    #[test]
    fn an_upload_into_a_thread_needs_the_thread_when_it_begins_and_when_it_ends() {
        let store = SledStore::temporary().expect("opens");
        let mailbox = MailboxId([9; 16]);
        let id = FileId([1; 16]);
        let length = ozvi_crypto::protocol::file::BLOB_LENGTHS[0];
        let begin = |binding: [u8; 32]| {
            store.begin_upload(&mailbox, &id, length, binding, 60, FileQuota::default())
        };
        // Deleted between her request's check and the upload's beginning.
        assert!(matches!(begin([0; 32]), Err(StoreError::NotFound)));
        assert!(store.all_files().expect("reads").is_empty());
        // Her first contact's upload is bound to her secret: no thread yet.
        begin([9; 32]).expect("begins").abort().expect("aborts");
        // Deleted while it was received, its partial record still there.
        store
            .create_thread(&mailbox, [9; 32], &centre(), b"\x01\x01envelope", 60)
            .expect("creates");
        let mut writer = begin([0; 32]).expect("begins");
        let mut blob = vec![0x33u8; usize::try_from(length).expect("small")];
        blob[0] = 1;
        writer.write(&blob).expect("writes");
        store
            .threads
            .remove(mailbox.0)
            .expect("removes the thread alone");
        assert!(matches!(writer.finish(), Err(StoreError::NotFound)));
        assert!(store.all_files().expect("reads").is_empty());
        assert!(
            partial_files(&store).is_empty(),
            "{:?}",
            partial_files(&store)
        );
        assert!(store.read_blob(&mailbox, &id).is_err());
    }

    #[test]
    fn an_attempt_finishing_after_her_retry_began_never_puts_its_bytes_in_place() {
        let store = SledStore::temporary().expect("opens");
        let mailbox = MailboxId([10; 16]);
        let id = FileId([1; 16]);
        store
            .create_thread(&mailbox, [9; 32], &centre(), b"\x01\x01envelope", 60)
            .expect("creates");
        let (length, blob) = test_blob();
        let attempt = |byte: u8| {
            let mut writer = store
                .begin_upload(&mailbox, &id, length, [0; 32], 60, FileQuota::default())
                .expect("begins");
            let mut blob = blob.clone();
            blob[1] = byte;
            writer.write(&blob).expect("writes");
            (writer, blob)
        };
        // Her first attempt has every byte but its finishing is late (its
        // request is gone; it runs on the blocking pool); her retry begins.
        let (late, _) = attempt(1);
        let (retry, retried) = attempt(2);
        assert!(late.finish().is_err(), "its bytes are no longer there");
        assert_eq!(
            store
                .file(&mailbox, &id)
                .expect("reads")
                .expect("kept")
                .state,
            FileState::Partial
        );
        retry.finish().expect("the retry finishes");
        let mut kept = Vec::new();
        std::io::Read::read_to_end(
            &mut store.read_blob(&mailbox, &id).expect("opens"),
            &mut kept,
        )
        .expect("reads");
        assert_eq!(kept, retried);
        assert!(
            partial_files(&store).is_empty(),
            "{:?}",
            partial_files(&store)
        );
    }
}
