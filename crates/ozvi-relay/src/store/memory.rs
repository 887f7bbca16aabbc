//! An in-memory store with the same behaviour as [`super::SledStore`], for
//! unit tests and as the model in the store's model test. The relay itself
//! never uses it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::FileId;

use super::files::{self, claimable};
use super::{
    Author, BlobReader, BlobWriter, CentreId, FileQuota, FileRecord, FileState, Moved, Quota,
    Store, StoreError, StoredMessage, ThreadRecord, to_minute,
};

#[derive(Default)]
struct Inner {
    threads: BTreeMap<[u8; 16], ThreadRecord>,
    messages: BTreeMap<([u8; 16], u64), StoredMessage>,
    notes: BTreeMap<[u8; 16], Vec<u8>>,
    centres: BTreeMap<CentreId, Vec<u8>>,
    directory: Option<Vec<u8>>,
    change: u64,
    files: BTreeMap<([u8; 16], [u8; 16]), FileRecord>,
    blobs: BTreeMap<([u8; 16], [u8; 16]), Vec<u8>>,
    nonces: BTreeMap<super::NonceKey, u64>,
    /// How often each file was removed: an upload under way when its file
    /// is removed was given up with it, as the disk stores remove its
    /// partial file ([`super::files::BlobDir::complete`]).
    removals: BTreeMap<([u8; 16], [u8; 16]), u64>,
}

impl Inner {
    /// [`Inner::removals`] of `key`.
    fn removals_of(&self, key: &([u8; 16], [u8; 16])) -> u64 {
        self.removals.get(key).copied().unwrap_or(0)
    }

    fn next_change(&mut self) -> u64 {
        self.change += 1;
        self.change
    }

    /// The thread's last activity becomes `now` under a new change number
    /// (a note, keeping it).
    fn touch(&mut self, mailbox: &MailboxId, now: u64) -> Result<(), StoreError> {
        let change = self.next_change();
        let record = self
            .threads
            .get_mut(&mailbox.0)
            .ok_or(StoreError::NotFound)?;
        record.change = change;
        record.last_activity = to_minute(now);
        Ok(())
    }

    fn files_of(&self, mailbox: &MailboxId) -> Vec<(FileId, FileRecord)> {
        self.files
            .range((mailbox.0, [0; 16])..=(mailbox.0, [0xff; 16]))
            .map(|((_, f), r)| (FileId(*f), r.clone()))
            .collect()
    }

    /// Claims `claims` for message `seq` (checked already).
    fn claim(&mut self, mailbox: &MailboxId, claims: &[FileId], verifier: &[u8; 32], seq: u64) {
        for file in claims {
            if let Some(r) = self.files.get_mut(&(mailbox.0, file.0))
                && claimable(r, verifier)
            {
                r.state = FileState::Claimed;
                r.claimed_by = seq;
            }
        }
    }

    fn person_messages_after(&self, mailbox: &MailboxId, seq: u64) -> u32 {
        let count = self
            .messages
            .range((mailbox.0, seq.saturating_add(1))..=(mailbox.0, u64::MAX))
            .filter(|(_, m)| m.kind_byte() == Some(1))
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// The in-memory store.
#[derive(Default, Clone)]
pub struct MemoryStore(Arc<Mutex<Inner>>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.0)
    }
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    // A panic while holding the lock can only come from a bug in this
    // file; the data is still consistent, so keep using it.
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An upload into a [`MemoryStore`].
struct MemoryUpload {
    inner: Arc<Mutex<Inner>>,
    key: ([u8; 16], [u8; 16]),
    record: FileRecord,
    bytes: Vec<u8>,
    created_record: bool,
    /// The file's [`Inner::removals`] when the upload began.
    removals: u64,
}

impl BlobWriter for MemoryUpload {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if self.bytes.len() as u64 + bytes.len() as u64 > self.record.length {
            return Err(StoreError::Corrupt);
        }
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        if self.bytes.len() as u64 != self.record.length {
            return Err(StoreError::Corrupt);
        }
        let mut inner = lock(&self.inner);
        if inner.removals_of(&self.key) != self.removals {
            return Err(StoreError::NotFound);
        }
        // As SledStore: an upload into a thread deleted while it was
        // received leaves nothing.
        let orphaned = self.record.binding == [0; 32] && !inner.threads.contains_key(&self.key.0);
        let current = inner.files.get(&self.key).cloned();
        if let Some(refused) = files::finish_refusal(orphaned, current.as_ref()) {
            if orphaned && current.is_some_and(|r| r.state == FileState::Partial) {
                inner.files.remove(&self.key);
            }
            return Err(refused);
        }
        inner.files.insert(
            self.key,
            FileRecord {
                state: FileState::Pending,
                ..self.record
            },
        );
        inner.blobs.insert(self.key, self.bytes);
        Ok(())
    }

    fn abort(self: Box<Self>) -> Result<(), StoreError> {
        let mut inner = lock(&self.inner);
        if self.created_record
            && inner
                .files
                .get(&self.key)
                .is_some_and(|r| r.state == FileState::Partial)
        {
            inner.files.remove(&self.key);
        }
        Ok(())
    }
}

impl Store for MemoryStore {
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
        let now = to_minute(now);
        let mut inner = self.lock();
        if inner.threads.contains_key(&mailbox.0) {
            return Err(StoreError::Exists);
        }
        files::check_claims(&inner.files_of(mailbox), claims, &verifier, file_quota)?;
        inner.claim(mailbox, claims, &verifier, 1);
        let change = inner.next_change();
        let record = ThreadRecord::new(verifier, centre.clone(), envelope.len(), now, change);
        inner.threads.insert(mailbox.0, record.clone());
        inner.messages.insert(
            (mailbox.0, 1),
            StoredMessage {
                seq: 1,
                stored_at: now,
                envelope: envelope.to_vec(),
            },
        );
        Ok(record)
    }

    fn thread(&self, mailbox: &MailboxId) -> Result<Option<ThreadRecord>, StoreError> {
        Ok(self.lock().threads.get(&mailbox.0).cloned())
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
        let now = to_minute(now);
        let mut inner = self.lock();
        let record = inner.threads.get(&mailbox.0).ok_or(StoreError::NotFound)?;
        if !record.fits(envelope.len(), quota) {
            return Err(StoreError::Quota);
        }
        let verifier = record.verifier;
        let next = record.last_seq + 1;
        files::check_claims(&inner.files_of(mailbox), claims, &verifier, file_quota)?;
        inner.claim(mailbox, claims, &verifier, next);
        let change = inner.next_change();
        let record = inner
            .threads
            .get_mut(&mailbox.0)
            .ok_or(StoreError::NotFound)?;
        let seq = record.record_append(author, envelope.len(), now, change);
        inner.messages.insert(
            (mailbox.0, seq),
            StoredMessage {
                seq,
                stored_at: now,
                envelope: envelope.to_vec(),
            },
        );
        Ok(seq)
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
        Ok(self
            .lock()
            .messages
            .range((mailbox.0, start)..=(mailbox.0, u64::MAX))
            .take(limit)
            .map(|(_, m)| m.clone())
            .collect())
    }

    fn delete_thread(&self, mailbox: &MailboxId) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.threads.remove(&mailbox.0).is_none() {
            return Ok(false);
        }
        inner.notes.remove(&mailbox.0);
        inner.messages.retain(|(id, _), _| *id != mailbox.0);
        let files: Vec<_> = inner
            .files
            .keys()
            .filter(|(id, _)| *id == mailbox.0)
            .copied()
            .collect();
        for key in files {
            inner.files.remove(&key);
            *inner.removals.entry(key).or_default() += 1;
        }
        inner.blobs.retain(|(id, _), _| *id != mailbox.0);
        Ok(true)
    }

    fn changed_threads(
        &self,
        centre: &CentreId,
        since: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        let inner = self.lock();
        let mut changed: Vec<(MailboxId, ThreadRecord)> = inner
            .threads
            .iter()
            .filter(|(_, r)| r.centre == *centre && r.change > since && r.change < before)
            .map(|(id, r)| (MailboxId(*id), r.clone()))
            .collect();
        changed.sort_by_key(|(_, r)| std::cmp::Reverse(r.change));
        changed.truncate(limit);
        Ok(changed)
    }

    fn keep(&self, mailbox: &MailboxId, now: u64) -> Result<(), StoreError> {
        self.lock().touch(mailbox, now)
    }

    fn mark_read(&self, mailbox: &MailboxId, seq: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let record = inner.threads.get(&mailbox.0).ok_or(StoreError::NotFound)?;
        let seq = seq.min(record.last_seq);
        if seq <= record.staff_read_seq {
            return Ok(());
        }
        let unread = inner.person_messages_after(mailbox, seq);
        let record = inner
            .threads
            .get_mut(&mailbox.0)
            .ok_or(StoreError::NotFound)?;
        record.staff_read_seq = seq;
        record.unread = unread;
        Ok(())
    }

    fn put_note(&self, mailbox: &MailboxId, envelope: &[u8], now: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.touch(mailbox, now)?;
        inner.notes.insert(mailbox.0, envelope.to_vec());
        Ok(())
    }

    fn note(&self, mailbox: &MailboxId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().notes.get(&mailbox.0).cloned())
    }

    fn put_centre_record(
        &self,
        centre: &CentreId,
        envelope: &[u8],
        _now: u64,
    ) -> Result<(), StoreError> {
        self.lock()
            .centres
            .insert(centre.clone(), envelope.to_vec());
        Ok(())
    }

    fn centre_record(&self, centre: &CentreId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().centres.get(centre).cloned())
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
        let mut inner = self.lock();
        let count = inner
            .threads
            .get(&mailbox.0)
            .map(|r| r.message_count as usize);
        if count.is_some_and(|c| c != resealed.len()) {
            return Err(StoreError::Changed);
        }
        if !inner.threads.contains_key(&mailbox.0)
            || resealed
                .iter()
                .any(|(seq, _)| !inner.messages.contains_key(&(mailbox.0, *seq)))
        {
            return Err(StoreError::NotFound);
        }
        let change = inner.next_change();
        let mut delta: i64 = 0;
        for (seq, envelope) in resealed {
            let message = inner
                .messages
                .get_mut(&(mailbox.0, *seq))
                .ok_or(StoreError::NotFound)?;
            delta += envelope.len() as i64 - message.envelope.len() as i64;
            message.envelope = envelope.clone();
        }
        match note {
            Some(envelope) => {
                inner.notes.insert(mailbox.0, envelope.to_vec());
            }
            None => {
                inner.notes.remove(&mailbox.0);
            }
        }
        let unread = inner.person_messages_after(mailbox, 0);
        let record = inner
            .threads
            .get_mut(&mailbox.0)
            .ok_or(StoreError::NotFound)?;
        record.centre = to.clone();
        record.change = change;
        record.last_activity = to_minute(now);
        record.total_bytes = record.total_bytes.saturating_add_signed(delta);
        record.staff_read_seq = 0;
        record.unread = unread;
        if let Some(notice) = notice {
            let seq = record.record_notice(notice.len());
            inner.messages.insert(
                (mailbox.0, seq),
                StoredMessage {
                    seq,
                    stored_at: to_minute(now),
                    envelope: notice.to_vec(),
                },
            );
        }
        Ok(())
    }

    fn inactive_since(&self, cutoff: u64) -> Result<Vec<(MailboxId, ThreadRecord)>, StoreError> {
        Ok(self
            .lock()
            .threads
            .iter()
            .filter(|(_, r)| r.last_activity < cutoff)
            .map(|(id, r)| (MailboxId(*id), r.clone()))
            .collect())
    }

    fn set_directory(&self, json: &[u8]) -> Result<(), StoreError> {
        self.lock().directory = Some(json.to_vec());
        Ok(())
    }

    fn directory(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().directory.clone())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn spend_nonce(
        &self,
        nonce: &super::NonceKey,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.nonces.get(nonce) {
            Some(&expiry) if expiry >= now => Ok(false),
            _ => {
                inner.nonces.insert(*nonce, super::nonce_expiry(until));
                Ok(true)
            }
        }
    }

    fn nonce_spent(&self, nonce: &super::NonceKey, now: u64) -> Result<bool, StoreError> {
        Ok(self.lock().nonces.get(nonce).is_some_and(|&e| e >= now))
    }

    fn sweep_nonces(&self, now: u64) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let before = inner.nonces.len();
        inner.nonces.retain(|_, expiry| *expiry >= now);
        Ok(before - inner.nonces.len())
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
        let mut inner = self.lock();
        // As SledStore: an upload into a thread needs the thread.
        if binding == [0; 32] && !inner.threads.contains_key(&mailbox.0) {
            return Err(StoreError::NotFound);
        }
        let others = inner.files_of(mailbox);
        files::check_upload(&others, file, length, quota)?;
        let record = FileRecord {
            state: FileState::Partial,
            claimed_by: 0,
            created_at: to_minute(now),
            length,
            binding,
        };
        let key = (mailbox.0, file.0);
        let created_record = !inner.files.contains_key(&key);
        if created_record {
            inner.files.insert(key, record.clone());
        } else if let Some(existing) = inner.files.get_mut(&key) {
            // A retry: its time is now's.
            existing.created_at = to_minute(now);
        }
        Ok(Box::new(MemoryUpload {
            inner: Arc::clone(&self.0),
            key,
            record,
            bytes: Vec::new(),
            created_record,
            removals: inner.removals_of(&key),
        }))
    }

    fn file(&self, mailbox: &MailboxId, file: &FileId) -> Result<Option<FileRecord>, StoreError> {
        Ok(self.lock().files.get(&(mailbox.0, file.0)).cloned())
    }

    fn files(&self, mailbox: &MailboxId) -> Result<Vec<(FileId, FileRecord)>, StoreError> {
        Ok(self.lock().files_of(mailbox))
    }

    fn all_files(&self) -> Result<Vec<(MailboxId, FileId, FileRecord)>, StoreError> {
        Ok(self
            .lock()
            .files
            .iter()
            .map(|((m, f), r)| (MailboxId(*m), FileId(*f), r.clone()))
            .collect())
    }

    fn read_blob(&self, mailbox: &MailboxId, file: &FileId) -> Result<BlobReader, StoreError> {
        let blob = self
            .lock()
            .blobs
            .get(&(mailbox.0, file.0))
            .cloned()
            .ok_or(StoreError::UnknownFile)?;
        Ok(Box::new(std::io::Cursor::new(blob)))
    }

    fn remove_file(&self, mailbox: &MailboxId, file: &FileId) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let key = (mailbox.0, file.0);
        inner.blobs.remove(&key);
        *inner.removals.entry(key).or_default() += 1;
        Ok(inner.files.remove(&key).is_some())
    }
}
