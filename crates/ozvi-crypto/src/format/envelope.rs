//! The envelope layout (PROTOCOL.md §4.1).
//!
//! ```text
//! version   u8        1 or 2 (2 is what sealers write)
//! kind      u8        1 person message, 2 staff reply, 3 staff note
//! count     u8        number of stanzas, 1..=32
//! stanza    count ×   key_id [8] ‖ ephemeral [32] ‖ wrapped_key [48]
//! nonce     [24]      XChaCha20-Poly1305 nonce
//! payload   bucket + 16 bytes of XChaCha20-Poly1305 ciphertext and tag
//! ```
//! Everything before the payload is the *header*. In version 1 the whole
//! header is associated data of the payload; in version 2 only the version
//! and the kind are (with the mailbox id), so the stanzas can be re-wrapped
//! for a transfer without touching the payload (PROTOCOL.md §4.3, §4.8).

use crate::error::ParseError;
use crate::format::padding::BUCKETS;
use crate::primitives::aead::{TAG_LEN, WRAPPED_KEY_LEN, XNONCE_LEN};
use crate::primitives::x25519::{KEY_ID_LEN, KEY_LEN, X25519Public};

/// Envelope format 1: the payload's associated data covers the whole header.
/// Still opened; no longer sealed.
pub const VERSION_1: u8 = 1;
/// Envelope format 2: the payload's associated data covers the version and
/// the kind, not the stanzas. What every sealer writes.
pub const VERSION_2: u8 = 2;
/// The envelope format sealers write.
pub const CURRENT_VERSION: u8 = VERSION_2;

/// The most recipients one envelope may have.
pub const MAX_RECIPIENTS: usize = 32;
/// Bytes of one stanza.
pub const STANZA_LEN: usize = KEY_ID_LEN + KEY_LEN + WRAPPED_KEY_LEN;
/// The largest envelope: 32 stanzas and the largest bucket.
pub const MAX_ENVELOPE_LEN: usize =
    3 + MAX_RECIPIENTS * STANZA_LEN + XNONCE_LEN + BUCKETS[BUCKETS.len() - 1] + TAG_LEN;

/// What an envelope carries. Bound into the payload's associated data, so the
/// relay cannot change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Written by the person holding the code.
    PersonMessage,
    /// Written by a staff member of an IC, readable by the person.
    StaffReply,
    /// Staff-only metadata of a thread (status, assignee, internal notes).
    StaffNote,
    /// One entry of a centre's staff-only case log (an eviction record, a
    /// contact attempt, …; PROTOCOL.md §4.11): appended, never replaced.
    CaseEntry,
}

impl Kind {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        match self {
            Kind::PersonMessage => 1,
            Kind::StaffReply => 2,
            Kind::StaffNote => 3,
            Kind::CaseEntry => 4,
        }
    }

    /// The kind for a wire byte.
    pub fn from_byte(byte: u8) -> Result<Self, ParseError> {
        match byte {
            1 => Ok(Kind::PersonMessage),
            2 => Ok(Kind::StaffReply),
            3 => Ok(Kind::StaffNote),
            4 => Ok(Kind::CaseEntry),
            _ => Err(ParseError::Invalid),
        }
    }
}

/// One recipient's wrapped copy of the content key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    /// [`X25519Public::key_id`] of the recipient.
    pub key_id: [u8; KEY_ID_LEN],
    /// The sender's ephemeral X25519 public key for this stanza.
    pub ephemeral: X25519Public,
    /// The content key under ChaCha20-Poly1305 with the stanza's wrap key.
    pub wrapped_key: [u8; WRAPPED_KEY_LEN],
}

impl Stanza {
    /// The stanza's 88 bytes as they appear in the envelope.
    pub fn to_bytes(&self) -> [u8; STANZA_LEN] {
        let mut out = [0u8; STANZA_LEN];
        out[..KEY_ID_LEN].copy_from_slice(&self.key_id);
        out[KEY_ID_LEN..KEY_ID_LEN + KEY_LEN].copy_from_slice(self.ephemeral.as_bytes());
        out[KEY_ID_LEN + KEY_LEN..].copy_from_slice(&self.wrapped_key);
        out
    }
}

/// A parsed envelope. Parsing checks the shape only; see
/// [`crate::protocol::envelope`] for opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The envelope format: [`VERSION_1`] or [`VERSION_2`].
    pub version: u8,
    /// What the envelope carries.
    pub kind: Kind,
    /// One per recipient, key ids distinct.
    pub stanzas: Vec<Stanza>,
    /// The payload nonce.
    pub nonce: [u8; XNONCE_LEN],
    /// The payload ciphertext with its tag; its length is a bucket plus 16.
    pub payload: Vec<u8>,
}

impl Envelope {
    /// Parses an envelope, enforcing every rule of §4.1.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut reader = Reader(bytes);
        let version = reader.u8()?;
        if version != VERSION_1 && version != VERSION_2 {
            return Err(ParseError::UnsupportedVersion);
        }
        let kind = Kind::from_byte(reader.u8()?)?;
        let count = usize::from(reader.u8()?);
        if count == 0 || count > MAX_RECIPIENTS {
            return Err(ParseError::Invalid);
        }
        let mut stanzas: Vec<Stanza> = Vec::with_capacity(count);
        for _ in 0..count {
            let key_id = reader.array::<KEY_ID_LEN>()?;
            let ephemeral = X25519Public::from_canonical_bytes(&reader.array::<KEY_LEN>()?)?;
            let wrapped_key = reader.array::<WRAPPED_KEY_LEN>()?;
            if stanzas.iter().any(|s| s.key_id == key_id) {
                return Err(ParseError::Invalid);
            }
            stanzas.push(Stanza {
                key_id,
                ephemeral,
                wrapped_key,
            });
        }
        let nonce = reader.array::<XNONCE_LEN>()?;
        let payload = reader.rest();
        if !BUCKETS.iter().any(|&b| b + TAG_LEN == payload.len()) {
            return Err(ParseError::Length);
        }
        Ok(Self {
            version,
            kind,
            stanzas,
            nonce,
            payload: payload.to_vec(),
        })
    }

    /// The header bytes: everything before the payload.
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.stanzas.len() * STANZA_LEN + XNONCE_LEN);
        out.push(self.version);
        out.push(self.kind.to_byte());
        out.push(u8::try_from(self.stanzas.len()).expect("at most 32 stanzas"));
        for stanza in &self.stanzas {
            out.extend_from_slice(&stanza.to_bytes());
        }
        out.extend_from_slice(&self.nonce);
        out
    }

    /// The whole envelope.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.header_bytes();
        out.extend_from_slice(&self.payload);
        out
    }

    /// The padding bucket of the payload.
    pub fn bucket(&self) -> usize {
        self.payload.len() - TAG_LEN
    }
}

/// A cursor over untrusted bytes whose every read is bounds-checked.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.0.len() < n {
            return Err(ParseError::Length);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        self.take(N)?.try_into().map_err(|_| ParseError::Length)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.0)
    }
}
