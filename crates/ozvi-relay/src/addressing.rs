//! The relay's checks of envelopes, beyond their well-formedness.
//!
//! The relay cannot read an envelope, but it can see whom it is sealed to.
//! The addressing rule is the protocol's (PROTOCOL.md §4.7, in
//! `ozvi_crypto::protocol::addressing`): a person message or a staff reply
//! goes to every staff member the directory lists for the thread's centre
//! and to the thread's person key, last; a staff note to exactly the
//! centre's staff. So a message never reaches only part of a team, a reply
//! always reaches the person, and a removed staff member stops receiving new
//! messages as soon as the new directory is installed. Only envelope format 2
//! is accepted for new messages, so every new message can later be
//! transferred verifiably.

use ozvi_crypto::MailboxId;
use ozvi_crypto::format::envelope::{Envelope, Kind};
use ozvi_crypto::protocol::addressing::{self, KeyId};
use ozvi_crypto::protocol::directory::Centre;
use ozvi_crypto::protocol::transfer;

use crate::error::ApiError;
use crate::store::Storage;

/// Parses `bytes` as an envelope of `kind` addressed as the rule above says;
/// `person` is the thread's person key id ([`thread_person_key`]), `None`
/// for a thread's first message.
pub fn check_envelope(
    bytes: &[u8],
    kind: Kind,
    centre: &Centre,
    person: Option<&KeyId>,
) -> Result<Envelope, ApiError> {
    addressing::check(bytes, kind, centre, person).map_err(|_| ApiError::InvalidEnvelope)
}

/// The thread's person key id, from its first stored message; `None` for a
/// thread whose first message is a format-1 envelope.
pub async fn thread_person_key(
    store: &dyn Storage,
    mailbox: &MailboxId,
) -> Result<Option<KeyId>, ApiError> {
    let first = store.messages(mailbox, 0, 1).await?;
    Ok(first
        .first()
        .and_then(|m| transfer::person_key_id(&m.envelope)))
}
