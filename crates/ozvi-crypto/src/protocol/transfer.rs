//! What the relay checks when a thread is transferred (PROTOCOL.md §4.8).
//!
//! A transfer may change **who can read** a message, never **what it says**
//! or whether the person can still open it. In envelope format 2 the payload
//! does not depend on the stanzas, so a transfer re-wraps only the staff
//! stanzas ([`crate::protocol::envelope::rewrap`]) and everything else stays
//! byte for byte: the relay, which cannot decrypt anything, can check that.
//!
//! For every message of the thread, in order, the new envelope must have the
//! stored envelope's version, kind, nonce and payload, and — for kinds 1 and
//! 2 — the stored stanza of the thread's person key, byte-identical and last;
//! its other stanzas must be exactly the receiving centre's staff (§4.7).
//! A thread holding format-1 envelopes cannot be transferred: their stanzas
//! are bound to their payload, so any re-sealing would be a new ciphertext
//! nobody but its author could check.

use crate::error::RewrapError;
use crate::format::envelope::{Envelope, Kind, VERSION_1};
use crate::protocol::addressing::{self, KeyId};
use crate::protocol::directory::Centre;

/// The thread's person key id, from its first message (sequence number 1,
/// always the person's): the last stanza of a format-2 person message.
/// `None` for anything else (a format-1 first message among them).
pub fn person_key_id(first: &[u8]) -> Option<KeyId> {
    let envelope = Envelope::parse(first).ok()?;
    if envelope.version == VERSION_1 || envelope.kind != Kind::PersonMessage {
        return None;
    }
    envelope.stanzas.last().map(|s| s.key_id)
}

/// Checks that `new` re-wraps `old` without changing its content or the
/// person's access: same version, kind, nonce and payload, and for kinds 1
/// and 2 the stanza of `person` present in both and byte-identical.
/// Addressing to the receiving centre is [`check_thread`]'s business.
pub fn check_rewrap(old: &[u8], new: &[u8], person: Option<&KeyId>) -> Result<(), RewrapError> {
    let old = Envelope::parse(old).map_err(|_| RewrapError::Malformed)?;
    if old.version == VERSION_1 {
        return Err(RewrapError::Legacy);
    }
    let new = Envelope::parse(new).map_err(|_| RewrapError::Malformed)?;
    check_parsed(&old, &new, person)
}

fn check_parsed(old: &Envelope, new: &Envelope, person: Option<&KeyId>) -> Result<(), RewrapError> {
    if new.version != old.version
        || new.kind != old.kind
        || new.nonce != old.nonce
        || new.payload != old.payload
    {
        return Err(RewrapError::ContentChanged);
    }
    if old.kind != Kind::StaffNote {
        let person = person.ok_or(RewrapError::PersonStanza)?;
        let find = |e: &Envelope| e.stanzas.iter().find(|s| s.key_id == *person).cloned();
        match (find(old), find(new)) {
            (Some(before), Some(after)) if before == after => {}
            _ => return Err(RewrapError::PersonStanza),
        }
    }
    Ok(())
}

/// The whole check of a transfer: `new` must hold exactly the stored
/// messages `old` (sequence number, envelope), in the same order, each
/// re-wrapped as [`check_rewrap`] says and addressed to the receiving centre
/// `to` with the person's stanza last (§4.7). The thread's person key id
/// comes from the stored first message.
pub fn check_thread(
    old: &[(u64, Vec<u8>)],
    new: &[(u64, Vec<u8>)],
    to: &Centre,
) -> Result<(), RewrapError> {
    let parsed: Vec<Envelope> = old
        .iter()
        .map(|(_, bytes)| Envelope::parse(bytes).map_err(|_| RewrapError::Malformed))
        .collect::<Result<_, _>>()?;
    if parsed.iter().any(|e| e.version == VERSION_1) {
        return Err(RewrapError::Legacy);
    }
    if old.len() != new.len() || old.iter().zip(new).any(|((a, _), (b, _))| a != b) {
        return Err(RewrapError::Messages);
    }
    let person = old.first().and_then(|(_, first)| person_key_id(first));
    for (before, (_, after)) in parsed.iter().zip(new) {
        let after = Envelope::parse(after).map_err(|_| RewrapError::Malformed)?;
        check_parsed(before, &after, person.as_ref())?;
        addressing::check_parsed(&after, before.kind, to, person.as_ref())?;
    }
    Ok(())
}
