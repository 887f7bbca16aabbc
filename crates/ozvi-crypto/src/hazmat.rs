//! Constructors that can build deliberately broken messages, for the
//! test-vector generator and negative tests. Behind the `hazmat` feature,
//! which no product crate enables.

use rand_core::CryptoRng;

use crate::error::SealError;
use crate::format::envelope::Kind;
use crate::format::frame::{Frame, FrameSigner, MSG_ID_LEN};
use crate::primitives::sig::Ed25519Secret;
use crate::primitives::x25519::X25519Public;
use crate::protocol::keys::MailboxId;

/// Encrypts arbitrary "padded" bytes (which need not be validly padded) to
/// the recipients in envelope format `version` (1 or 2), exactly as a real
/// envelope is encrypted.
pub fn seal_padded(
    rng: &mut impl CryptoRng,
    version: u8,
    kind: Kind,
    mailbox: &MailboxId,
    recipients: &[X25519Public],
    padded: &[u8],
) -> Result<Vec<u8>, SealError> {
    crate::protocol::envelope::seal_padded(rng, version, kind, mailbox, recipients, padded)
}

/// [`crate::protocol::envelope::seal`] in envelope format 1, which sealers no
/// longer write: for the format-1 test vectors and migration tests.
pub fn seal_v1(
    rng: &mut impl CryptoRng,
    signer: crate::protocol::envelope::Signer<'_>,
    message: crate::protocol::envelope::Message<'_>,
    recipients: &[X25519Public],
) -> Result<Vec<u8>, SealError> {
    crate::protocol::envelope::seal_version(
        rng,
        crate::format::envelope::VERSION_1,
        signer,
        message,
        recipients,
    )
}

/// A frame as it would be signed by `key` for `kind` in `mailbox`; the
/// claimed signer in the frame may differ from `key` (for forgeries).
pub fn signed_frame(
    key: &Ed25519Secret,
    claimed: FrameSigner,
    kind: Kind,
    mailbox: &MailboxId,
    msg_id: [u8; MSG_ID_LEN],
    sent_at: u64,
    body: &[u8],
) -> Frame {
    let unsigned = Frame::unsigned_bytes(&claimed, &msg_id, sent_at, body);
    let signature = key.sign(&crate::protocol::envelope::signing_input(
        kind, mailbox, &unsigned,
    ));
    Frame {
        signer: claimed,
        msg_id,
        sent_at,
        body: body.to_vec(),
        signature,
    }
}
