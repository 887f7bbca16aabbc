//! The relay's own rules about envelopes, beyond their well-formedness.
//!
//! The relay cannot read an envelope, but it can see whom it is sealed to.
//! It accepts a person message or a staff reply only if it is sealed to every
//! staff member the directory lists for the thread's centre plus exactly one
//! more key (the person's), and a staff note only if it is sealed to exactly
//! the centre's staff. So a message never reaches only part of a team, and a
//! removed staff member stops receiving new messages as soon as the new
//! directory is installed.

use std::collections::BTreeSet;

use ozvi_crypto::format::envelope::{Envelope, Kind};
use ozvi_crypto::protocol::directory::Centre;

use crate::error::ApiError;

/// Parses `bytes` as an envelope of `kind` addressed as the rule above says.
pub fn check_envelope(bytes: &[u8], kind: Kind, centre: &Centre) -> Result<Envelope, ApiError> {
    let envelope = Envelope::parse(bytes).map_err(|_| ApiError::InvalidEnvelope)?;
    if envelope.kind != kind {
        return Err(ApiError::InvalidEnvelope);
    }
    let staff: BTreeSet<[u8; 8]> = centre
        .staff
        .iter()
        .map(|s| s.keys.x25519.key_id())
        .collect();
    let stanzas: BTreeSet<[u8; 8]> = envelope.stanzas.iter().map(|s| s.key_id).collect();
    let expected = staff.len() + usize::from(kind != Kind::StaffNote);
    if !staff.is_subset(&stanzas) || stanzas.len() != expected {
        return Err(ApiError::InvalidEnvelope);
    }
    Ok(envelope)
}
