//! An in-memory store with the same behaviour as [`super::SledStore`], for
//! unit tests and as the model in the store's model test. The relay itself
//! never uses it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ozvi_crypto::MailboxId;

use super::{
    Author, CentreId, Moved, Quota, Store, StoreError, StoredMessage, ThreadRecord, to_minute,
};

#[derive(Default)]
struct Inner {
    threads: BTreeMap<[u8; 16], ThreadRecord>,
    messages: BTreeMap<([u8; 16], u64), StoredMessage>,
    notes: BTreeMap<[u8; 16], Vec<u8>>,
    centres: BTreeMap<CentreId, Vec<u8>>,
    directory: Option<Vec<u8>>,
    change: u64,
}

impl Inner {
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
#[derive(Default)]
pub struct MemoryStore(Mutex<Inner>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock can only come from a bug in this
        // file; the data is still consistent, so keep using it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn create_thread(
        &self,
        mailbox: &MailboxId,
        verifier: [u8; 32],
        centre: &CentreId,
        envelope: &[u8],
        now: u64,
    ) -> Result<ThreadRecord, StoreError> {
        let now = to_minute(now);
        let mut inner = self.lock();
        if inner.threads.contains_key(&mailbox.0) {
            return Err(StoreError::Exists);
        }
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

    fn append(
        &self,
        mailbox: &MailboxId,
        author: Author,
        envelope: &[u8],
        now: u64,
        quota: Quota,
    ) -> Result<u64, StoreError> {
        let now = to_minute(now);
        let mut inner = self.lock();
        let change = inner.next_change();
        let record = inner
            .threads
            .get_mut(&mailbox.0)
            .ok_or(StoreError::NotFound)?;
        if !record.fits(envelope.len(), quota) {
            return Err(StoreError::Quota);
        }
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
}
