//! Who must be a recipient of which envelope (PROTOCOL.md §4.7): one rule for
//! every sealer (the desk, the person's page) and for the relay, which checks
//! it on every upload and every transfer.
//!
//! - Kinds 1 and 2 go to every staff member of the thread's centre and to the
//!   person, whose stanza is the **last** one (format 2). The relay learns the
//!   thread's person key id from the first message and holds every later
//!   message and every transfer to it.
//! - Kinds 3 and 4 go to every staff member of the centre and to no one else.
//!
//! A centre's own staff-only records (its reply templates, PROTOCOL.md §4.10)
//! are kind-3 envelopes too, sealed under the mailbox id
//! [`centre_record_mailbox`] derives from the centre's id: no person's
//! thread can have it, and a record of one centre does not open as
//! another's.

use std::collections::BTreeSet;

use crate::error::{AddressingError, SealError};
use crate::format::envelope::{CURRENT_VERSION, Envelope, Kind};
use crate::primitives::x25519::{KEY_ID_LEN, X25519Public};
use crate::protocol::directory::Centre;

/// The mailbox id a centre's staff-only record is sealed under:
/// `SHA-256("ozvi/v1/centre-record" ‖ len(id) ‖ id)[0..16]`, with `len` one
/// byte (a centre id is 1 to 32 ASCII characters, PROTOCOL.md §6.1).
pub fn centre_record_mailbox(centre_id: &str) -> crate::MailboxId {
    let id = centre_id.as_bytes();
    let len = [u8::try_from(id.len()).unwrap_or(u8::MAX)];
    let digest = crate::primitives::hash::sha256(&[super::labels::CENTRE_RECORD, &len, id]);
    let mut mailbox = [0u8; 16];
    mailbox.copy_from_slice(&digest[..16]);
    crate::MailboxId(mailbox)
}

/// A recipient key id (PROTOCOL.md §4.2).
pub type KeyId = [u8; KEY_ID_LEN];

/// The recipients a sealer passes to `seal` for a message of `kind` in a
/// thread of `centre`: the centre's staff in directory order, then the
/// person for kinds 1 and 2. `person` is required for kinds 1 and 2.
pub fn recipients(
    kind: Kind,
    centre: &Centre,
    person: Option<&X25519Public>,
) -> Result<Vec<X25519Public>, SealError> {
    let mut out = centre.staff_x25519();
    match kind {
        Kind::StaffNote | Kind::CaseEntry => {}
        _ => out.push(*person.ok_or(SealError::RecipientCount)?),
    }
    Ok(out)
}

/// Parses `bytes` and checks that it is a format-2 envelope of `kind`
/// addressed exactly as the rule above says. `person` is the thread's person
/// key id when it is known (every message after the first); for the first
/// message it is `None`, and the last stanza, which must not be a staff key
/// of the centre, becomes the thread's person key id.
pub fn check(
    bytes: &[u8],
    kind: Kind,
    centre: &Centre,
    person: Option<&KeyId>,
) -> Result<Envelope, AddressingError> {
    let envelope = Envelope::parse(bytes).map_err(|_| AddressingError::Malformed)?;
    check_parsed(&envelope, kind, centre, person)?;
    Ok(envelope)
}

/// [`check`] on a parsed envelope.
pub fn check_parsed(
    envelope: &Envelope,
    kind: Kind,
    centre: &Centre,
    person: Option<&KeyId>,
) -> Result<(), AddressingError> {
    if envelope.version != CURRENT_VERSION {
        return Err(AddressingError::OldFormat);
    }
    if envelope.kind != kind {
        return Err(AddressingError::Kind);
    }
    let staff: BTreeSet<KeyId> = centre
        .staff
        .iter()
        .map(|s| s.keys.x25519.key_id())
        .collect();
    let (staff_stanzas, last) = match kind {
        Kind::StaffNote | Kind::CaseEntry => (&envelope.stanzas[..], None),
        _ => match envelope.stanzas.split_last() {
            Some((last, rest)) => (rest, Some(last.key_id)),
            None => return Err(AddressingError::Recipients),
        },
    };
    // Parsing already refused repeated key ids, so equal sizes and
    // inclusion mean equal sets.
    let addressed: BTreeSet<KeyId> = staff_stanzas.iter().map(|s| s.key_id).collect();
    if addressed != staff || staff_stanzas.len() != staff.len() {
        return Err(AddressingError::Recipients);
    }
    match last {
        Some(last) if staff.contains(&last) || person.is_some_and(|p| *p != last) => {
            Err(AddressingError::Recipients)
        }
        _ => Ok(()),
    }
}
