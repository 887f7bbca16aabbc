//! The fixed-shape binary records (docs/API.md, "What is stored"): every
//! key and every value layout of the store, here and nowhere else.

use ozvi_crypto::MailboxId;

use super::StoreError;

/// Key of a message in `messages`: mailbox id (16) ‖ seq (u64, big-endian),
/// so that a thread's messages sort together and in order.
pub struct MessageKey;

impl MessageKey {
    /// Key length.
    pub const LEN: usize = 24;

    /// The key of message `seq` of `mailbox`.
    pub fn encode(mailbox: &MailboxId, seq: u64) -> [u8; Self::LEN] {
        let mut key = [0u8; Self::LEN];
        key[..16].copy_from_slice(&mailbox.0);
        key[16..].copy_from_slice(&seq.to_be_bytes());
        key
    }

    /// The sequence number in a key.
    pub fn seq(key: &[u8]) -> Result<u64, StoreError> {
        let seq: [u8; 8] = key
            .get(16..Self::LEN)
            .and_then(|s| s.try_into().ok())
            .filter(|_| key.len() == Self::LEN)
            .ok_or(StoreError::Corrupt)?;
        Ok(u64::from_be_bytes(seq))
    }
}

/// Key of the inbox index `activity`: centre (33, [`CentreId::to_fixed`]) ‖
/// change (u64, big-endian) ‖ mailbox id (16); the value is empty. A
/// centre's threads sort by their latest change.
pub struct ActivityKey;

impl ActivityKey {
    /// Key length.
    pub const LEN: usize = CentreId::LEN + 8 + 16;

    /// The key of `mailbox`'s entry at `change` in `centre`'s inbox.
    pub fn encode(centre: &CentreId, change: u64, mailbox: &MailboxId) -> [u8; Self::LEN] {
        let mut key = [0u8; Self::LEN];
        key[..CentreId::LEN].copy_from_slice(&centre.to_fixed());
        key[CentreId::LEN..CentreId::LEN + 8].copy_from_slice(&change.to_be_bytes());
        key[CentreId::LEN + 8..].copy_from_slice(&mailbox.0);
        key
    }

    /// The mailbox id in a key.
    pub fn mailbox(key: &[u8]) -> Result<MailboxId, StoreError> {
        let id: [u8; 16] = key
            .get(CentreId::LEN + 8..)
            .and_then(|s| s.try_into().ok())
            .ok_or(StoreError::Corrupt)?;
        Ok(MailboxId(id))
    }
}

/// A centre id from the directory: `[a-z0-9-]{1,32}`, stored in a fixed 33
/// bytes (length, then the id padded with zeros).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CentreId(String);

impl CentreId {
    /// Stored width.
    pub const LEN: usize = 33;

    /// Parses an id; `None` unless it is `[a-z0-9-]{1,32}`.
    pub fn parse(id: &str) -> Option<Self> {
        let valid = (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        valid.then(|| Self(id.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fixed 33-byte form.
    pub fn to_fixed(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = u8::try_from(self.0.len()).expect("at most 32 bytes");
        out[1..=self.0.len()].copy_from_slice(self.0.as_bytes());
        out
    }

    /// Parses the fixed form, checking the padding is zero.
    pub fn from_fixed(bytes: &[u8]) -> Result<Self, StoreError> {
        let len = usize::from(*bytes.first().ok_or(StoreError::Corrupt)?);
        if bytes.len() != Self::LEN || len == 0 || len > 32 {
            return Err(StoreError::Corrupt);
        }
        if bytes[1 + len..].iter().any(|&b| b != 0) {
            return Err(StoreError::Corrupt);
        }
        let id = std::str::from_utf8(&bytes[1..=len]).map_err(|_| StoreError::Corrupt)?;
        Self::parse(id).ok_or(StoreError::Corrupt)
    }
}

/// A thread's metadata. Every time is Unix seconds rounded down to the minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRecord {
    /// SHA-256 verifier of the person's auth secret (PROTOCOL.md §3.4).
    pub verifier: [u8; 32],
    /// The centre the thread belongs to.
    pub centre: CentreId,
    /// When the thread was created.
    pub created_at: u64,
    /// When anything last happened in it (a message, a note, a transfer).
    pub last_activity: u64,
    /// When the oldest person message not yet answered by staff arrived; 0 if none.
    pub unanswered_since: u64,
    /// The relay-wide change number of the last change (the inbox cursor).
    pub change: u64,
    /// Sequence number of the last message appended.
    pub last_seq: u64,
    /// Messages held.
    pub message_count: u32,
    /// Envelope bytes held.
    pub total_bytes: u64,
    /// Staff have read messages up to this sequence number.
    pub staff_read_seq: u64,
    /// Person messages after `staff_read_seq`.
    pub unread: u32,
}

impl ThreadRecord {
    /// Record format version.
    pub const VERSION: u8 = 1;
    /// Encoded length.
    pub const LEN: usize = 1 + 32 + CentreId::LEN + 7 * 8 + 2 * 4;
    /// The verifier of a staff-only case (PROTOCOL.md §4.11): 32 zero
    /// bytes, which no auth secret hashes to, so no one can open a case as
    /// a person. A person's new thread may not claim it.
    pub const NO_PERSON: [u8; 32] = [0; 32];

    /// Whether this is a staff-only case rather than a conversation.
    pub fn is_case(&self) -> bool {
        self.verifier == Self::NO_PERSON
    }

    /// A new thread holding its first message (seq 1: a person's, or for a
    /// case, whose verifier is [`Self::NO_PERSON`], its first entry),
    /// created at `now` (a minute) with change number `change`. A case
    /// waits for no answer and counts nothing unread.
    pub fn new(
        verifier: [u8; 32],
        centre: CentreId,
        first_len: usize,
        now: u64,
        change: u64,
    ) -> Self {
        let person = verifier != Self::NO_PERSON;
        Self {
            verifier,
            centre,
            created_at: now,
            last_activity: now,
            unanswered_since: if person { now } else { 0 },
            change,
            last_seq: 1,
            message_count: 1,
            total_bytes: first_len as u64,
            staff_read_seq: 0,
            unread: u32::from(person),
        }
    }

    /// Updates the counters for a message appended at `now` (a minute) with
    /// change number `change`; returns its sequence number. Both stores use
    /// this, so they cannot disagree on what an append means.
    pub fn record_append(
        &mut self,
        author: super::Author,
        len: usize,
        now: u64,
        change: u64,
    ) -> u64 {
        self.last_seq += 1;
        self.message_count += 1;
        self.total_bytes += len as u64;
        self.last_activity = now;
        self.change = change;
        match author {
            super::Author::Person => {
                self.unread += 1;
                if self.unanswered_since == 0 {
                    self.unanswered_since = now;
                }
            }
            super::Author::Staff => self.unanswered_since = 0,
            super::Author::Case => {}
        }
        self.last_seq
    }

    /// Counts a transfer notice (a staff reply sent with a transfer,
    /// PROTOCOL.md §4.8) of `len` bytes; returns its sequence number. Unlike
    /// [`Self::record_append`] it answers nothing: the receiving centre still
    /// owes her an answer, and it is not held to the quota (one message a
    /// transfer, and a full thread must still be able to move).
    pub fn record_notice(&mut self, len: usize) -> u64 {
        self.last_seq += 1;
        self.message_count += 1;
        self.total_bytes += len as u64;
        self.last_seq
    }

    /// Whether appending `len` more bytes stays within `quota`.
    pub fn fits(&self, len: usize, quota: super::Quota) -> bool {
        self.message_count < quota.max_messages && self.total_bytes + len as u64 <= quota.max_bytes
    }

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.push(Self::VERSION);
        out.extend_from_slice(&self.verifier);
        out.extend_from_slice(&self.centre.to_fixed());
        for v in [
            self.created_at,
            self.last_activity,
            self.unanswered_since,
            self.change,
            self.last_seq,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&self.message_count.to_be_bytes());
        out.extend_from_slice(&self.total_bytes.to_be_bytes());
        out.extend_from_slice(&self.staff_read_seq.to_be_bytes());
        out.extend_from_slice(&self.unread.to_be_bytes());
        out
    }

    /// Parses stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        if bytes.len() != Self::LEN || bytes[0] != Self::VERSION {
            return Err(StoreError::Corrupt);
        }
        let u64_at = |at: usize| {
            u64::from_be_bytes(bytes[at..at + 8].try_into().expect("length checked above"))
        };
        let u32_at = |at: usize| {
            u32::from_be_bytes(bytes[at..at + 4].try_into().expect("length checked above"))
        };
        let verifier = bytes[1..33].try_into().expect("length checked above");
        let centre = CentreId::from_fixed(&bytes[33..66])?;
        Ok(Self {
            verifier,
            centre,
            created_at: u64_at(66),
            last_activity: u64_at(74),
            unanswered_since: u64_at(82),
            change: u64_at(90),
            last_seq: u64_at(98),
            message_count: u32_at(106),
            total_bytes: u64_at(110),
            staff_read_seq: u64_at(118),
            unread: u32_at(126),
        })
    }
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its position in the thread, from 1.
    pub seq: u64,
    /// When the relay stored it (minute).
    pub stored_at: u64,
    /// The envelope (PROTOCOL.md §4.1), exactly as posted.
    pub envelope: Vec<u8>,
}

impl StoredMessage {
    /// Record format version.
    pub const VERSION: u8 = 1;

    /// The stored value: version ‖ stored-at ‖ envelope.
    pub fn encode_value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + self.envelope.len());
        out.push(Self::VERSION);
        out.extend_from_slice(&self.stored_at.to_be_bytes());
        out.extend_from_slice(&self.envelope);
        out
    }

    /// Parses a stored value for sequence number `seq`.
    pub fn decode_value(seq: u64, bytes: &[u8]) -> Result<Self, StoreError> {
        if bytes.len() < 9 || bytes[0] != Self::VERSION {
            return Err(StoreError::Corrupt);
        }
        Ok(Self {
            seq,
            stored_at: u64::from_be_bytes(bytes[1..9].try_into().expect("length checked above")),
            envelope: bytes[9..].to_vec(),
        })
    }

    /// The envelope's kind byte (PROTOCOL.md §4.1), if it has one.
    pub fn kind_byte(&self) -> Option<u8> {
        self.envelope.get(1).copied()
    }

    /// The kind byte of the envelope in a stored value, without copying it
    /// out: value = version (1) ‖ stored-at (8) ‖ envelope, whose second
    /// byte is its kind.
    pub fn value_kind_byte(value: &[u8]) -> Option<u8> {
        value.get(9 + 1).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_record_round_trips_at_its_fixed_length() {
        let record = ThreadRecord {
            verifier: [7; 32],
            centre: CentreId::parse("ic-zlin").expect("valid"),
            created_at: 60,
            last_activity: 120,
            unanswered_since: 60,
            change: 9,
            last_seq: 3,
            message_count: 3,
            total_bytes: 4000,
            staff_read_seq: 1,
            unread: 2,
        };
        let bytes = record.encode();
        assert_eq!(bytes.len(), ThreadRecord::LEN);
        assert_eq!(ThreadRecord::LEN, 130);
        assert_eq!(ThreadRecord::decode(&bytes).expect("valid"), record);
        let mut corrupt = bytes.clone();
        corrupt[40] = b'!';
        assert!(ThreadRecord::decode(&corrupt).is_err());
        assert!(ThreadRecord::decode(&bytes[..129]).is_err());
    }

    #[test]
    fn keys_round_trip_and_sort_as_documented() {
        let a = MailboxId([1; 16]);
        let b = MailboxId([2; 16]);
        assert!(MessageKey::encode(&a, u64::MAX) < MessageKey::encode(&b, 0));
        assert!(MessageKey::encode(&a, 255) < MessageKey::encode(&a, 256));
        assert_eq!(
            MessageKey::seq(&MessageKey::encode(&a, 77)).expect("valid"),
            77
        );
        assert!(MessageKey::seq(&[0; 23]).is_err());
        let zlin = CentreId::parse("ic-zlin").expect("valid");
        let key = ActivityKey::encode(&zlin, 9, &b);
        assert_eq!(key.len(), 57);
        assert_eq!(ActivityKey::mailbox(&key).expect("valid"), b);
        assert!(ActivityKey::encode(&zlin, 9, &b) < ActivityKey::encode(&zlin, 10, &a));
        let message = StoredMessage {
            seq: 1,
            stored_at: 60,
            envelope: vec![2, 3, 4],
        };
        assert_eq!(
            StoredMessage::value_kind_byte(&message.encode_value()),
            Some(3)
        );
        assert_eq!(message.kind_byte(), Some(3));
    }

    #[test]
    fn centre_ids_are_validated() {
        assert!(CentreId::parse("").is_none());
        assert!(CentreId::parse("IC").is_none());
        assert!(CentreId::parse(&"a".repeat(33)).is_none());
        let id = CentreId::parse(&"a".repeat(32)).expect("32 is the limit");
        assert_eq!(
            CentreId::from_fixed(&id.to_fixed()).expect("round trip"),
            id
        );
    }
}
