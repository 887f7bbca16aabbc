//! Sealing and opening envelopes (PROTOCOL.md §4).
//!
//! Sealing: sign the frame with the sender's Ed25519 key (§4.5), pad it
//! (§5), encrypt it under a fresh content key with XChaCha20-Poly1305 whose
//! associated data binds the envelope version, the kind and the mailbox id
//! (§4.3), and wrap the content key to each recipient with an ephemeral-static
//! X25519 exchange and HKDF (§4.2). Sealers write envelope format 2; openers
//! also read format 1, whose associated data covers every stanza too.
//!
//! Opening reverses this and then decides whether the signer may speak in
//! this thread: a person's keys must hash to the thread's mailbox id, a staff
//! key must be listed in the directory.
//!
//! A transfer ([`rewrap`]) re-wraps the content key to new staff and keeps
//! the nonce, the payload and the person's stanza byte for byte, so the relay
//! can check that nothing but the staff stanzas changed
//! ([`crate::protocol::transfer`]).

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::PROTOCOL_VERSION;
use crate::error::{OpenError, ParseError, SealError, TransferError};
use crate::format::envelope::{
    CURRENT_VERSION, Envelope, Kind, MAX_RECIPIENTS, Stanza, VERSION_1, VERSION_2,
};
use crate::format::frame::{Frame, FrameSigner, MSG_ID_LEN};
use crate::format::padding;
use crate::primitives::aead::{self, XNONCE_LEN};
use crate::primitives::hash::sha256;
use crate::primitives::kdf::hkdf_sha256;
use crate::primitives::sig::{Ed25519Public, Ed25519Secret};
use crate::primitives::x25519::{X25519Public, X25519Secret};
use crate::protocol::directory::Directory;
use crate::protocol::keys::{MailboxId, PersonKeys, PersonPublic, StaffKeys};
use crate::protocol::labels;

/// Who seals a message.
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    /// The person holding the code.
    Person(&'a PersonKeys),
    /// A staff member.
    Staff(&'a StaffKeys),
}

/// What to seal.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The kind; it must fit the signer (§4.4).
    pub kind: Kind,
    /// The thread it belongs to.
    pub mailbox: &'a MailboxId,
    /// The content (§4.6).
    pub body: &'a [u8],
    /// Unix seconds on the sender's clock.
    pub sent_at: u64,
}

/// The verified sender of an opened message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sender {
    /// The holder of the thread's code.
    Person(PersonPublic),
    /// A staff member listed in the directory.
    Staff {
        /// The centre she belongs to.
        centre: String,
        /// Her staff id.
        staff: String,
    },
}

/// An opened, verified message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// Its kind.
    pub kind: Kind,
    /// Its verified sender.
    pub sender: Sender,
    /// Its id: a second message with the same id in a thread is a replay.
    pub msg_id: [u8; MSG_ID_LEN],
    /// When the sender wrote it (the sender's clock).
    pub sent_at: u64,
    /// The content.
    pub body: Vec<u8>,
}

/// Seals `message` from `signer` to `recipients`, in envelope format 2.
/// [`crate::protocol::addressing::recipients`] gives the recipients §4.7
/// requires (the person's key last).
pub fn seal(
    rng: &mut impl CryptoRng,
    signer: Signer<'_>,
    message: Message<'_>,
    recipients: &[X25519Public],
) -> Result<Vec<u8>, SealError> {
    seal_version(rng, CURRENT_VERSION, signer, message, recipients)
}

/// [`seal`] in a given envelope format.
pub(crate) fn seal_version(
    rng: &mut impl CryptoRng,
    version: u8,
    signer: Signer<'_>,
    message: Message<'_>,
    recipients: &[X25519Public],
) -> Result<Vec<u8>, SealError> {
    let (frame_signer, key): (FrameSigner, &Ed25519Secret) = match (signer, message.kind) {
        (Signer::Person(keys), Kind::PersonMessage) => (
            FrameSigner::Person {
                ed25519: keys.public().ed25519,
                x25519: keys.public().x25519,
            },
            keys.ed25519(),
        ),
        (Signer::Staff(keys), Kind::StaffReply | Kind::StaffNote | Kind::CaseEntry) => (
            FrameSigner::Staff {
                ed25519: keys.public().ed25519,
            },
            keys.ed25519(),
        ),
        _ => return Err(SealError::WrongSender),
    };
    let mut msg_id = [0u8; MSG_ID_LEN];
    rng.fill_bytes(&mut msg_id);
    let unsigned = Frame::unsigned_bytes(&frame_signer, &msg_id, message.sent_at, message.body);
    let signature = key.sign(&signing_input(message.kind, message.mailbox, &unsigned));
    let mut frame = Zeroizing::new(unsigned);
    frame.extend_from_slice(&signature);
    let padded = Zeroizing::new(padding::pad(&frame).ok_or(SealError::TooLong)?);
    seal_padded(
        rng,
        version,
        message.kind,
        message.mailbox,
        recipients,
        &padded,
    )
}

/// The bytes a frame signature covers (§4.5):
/// `"ozvi/v1/message-signature" ‖ version ‖ kind ‖ mailbox id ‖ SHA-256(frame without signature)`.
///
/// The frame is hashed once with SHA-256 rather than signed whole: Ed25519
/// hashes its message twice with SHA-512, which for a 16 KiB frame costs
/// more than encrypting it.
pub(crate) fn signing_input(kind: Kind, mailbox: &MailboxId, unsigned_frame: &[u8]) -> Vec<u8> {
    [
        labels::MESSAGE_SIGNATURE,
        &[PROTOCOL_VERSION, kind.to_byte()],
        &mailbox.0,
        &sha256(&[unsigned_frame]),
    ]
    .concat()
}

/// Encrypts already padded bytes to the recipients (§4.2, §4.3) in envelope
/// format `version`.
pub(crate) fn seal_padded(
    rng: &mut impl CryptoRng,
    version: u8,
    kind: Kind,
    mailbox: &MailboxId,
    recipients: &[X25519Public],
    padded: &[u8],
) -> Result<Vec<u8>, SealError> {
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(SealError::RecipientCount);
    }
    let mut content_key = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(content_key.as_mut());
    let stanzas = wrap_to(rng, &content_key, recipients, &[])?;
    let mut nonce = [0u8; XNONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let mut envelope = Envelope {
        version,
        kind,
        stanzas,
        nonce,
        payload: Vec::new(),
    };
    let aad = payload_aad(mailbox, &envelope);
    envelope.payload = aead::xchacha_seal(&content_key, &nonce, &aad, padded);
    Ok(envelope.to_bytes())
}

/// One fresh stanza per recipient for `content_key` (§4.2); `taken` are key
/// ids already in the envelope, which no recipient may repeat.
fn wrap_to(
    rng: &mut impl CryptoRng,
    content_key: &[u8; 32],
    recipients: &[X25519Public],
    taken: &[[u8; crate::primitives::x25519::KEY_ID_LEN]],
) -> Result<Vec<Stanza>, SealError> {
    let mut stanzas: Vec<Stanza> = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        let key_id = recipient.key_id();
        if taken.contains(&key_id) || stanzas.iter().any(|s| s.key_id == key_id) {
            return Err(SealError::DuplicateRecipient);
        }
        let ephemeral = X25519Secret::generate(rng);
        let ephemeral_public = ephemeral.public();
        let shared = ephemeral
            .diffie_hellman(recipient)
            .ok_or(SealError::InvalidRecipient)?;
        let wrap = wrap_key(&shared, &ephemeral_public, recipient);
        stanzas.push(Stanza {
            key_id,
            ephemeral: ephemeral_public,
            wrapped_key: aead::wrap_key(&wrap, content_key),
        });
    }
    Ok(stanzas)
}

/// wrap key = HKDF-SHA256(salt = ephemeral ‖ recipient, ikm = X25519 shared
/// secret, info = "ozvi/v1/wrap"), 32 bytes (§4.2).
fn wrap_key(
    shared: &[u8; 32],
    ephemeral: &X25519Public,
    recipient: &X25519Public,
) -> Zeroizing<[u8; 32]> {
    let salt = [ephemeral.as_bytes().as_slice(), recipient.as_bytes()].concat();
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf_sha256(&salt, shared, labels::WRAP, key.as_mut());
    key
}

/// The payload's associated data (§4.3). Format 1:
/// `"ozvi/v1/payload" ‖ mailbox id ‖ header`. Format 2:
/// `"ozvi/v1/envelope2-payload" ‖ mailbox id ‖ version ‖ kind` — the stanzas
/// are left out so a transfer can re-wrap them without touching the payload.
fn payload_aad(mailbox: &MailboxId, envelope: &Envelope) -> Vec<u8> {
    match envelope.version {
        VERSION_1 => [labels::PAYLOAD, &mailbox.0, &envelope.header_bytes()].concat(),
        _ => [
            labels::ENVELOPE2_PAYLOAD,
            &mailbox.0,
            &[VERSION_2, envelope.kind.to_byte()],
        ]
        .concat(),
    }
}

/// Opens an envelope of the thread `mailbox` with the recipient's secret key,
/// verifies the signature and checks the signer against the thread and the
/// directory (§4.7).
pub fn open(
    bytes: &[u8],
    mailbox: &MailboxId,
    recipient: &X25519Secret,
    directory: &Directory,
) -> Result<Opened, OpenError> {
    let envelope = parse_for_opening(bytes)?;
    open_parsed(&envelope, mailbox, recipient, directory).map(|(opened, _)| opened)
}

fn parse_for_opening(bytes: &[u8]) -> Result<Envelope, OpenError> {
    Envelope::parse(bytes).map_err(|e| match e {
        ParseError::UnsupportedVersion => OpenError::UnsupportedVersion,
        _ => OpenError::Malformed,
    })
}

/// [`open`] on a parsed envelope, also returning its content key.
fn open_parsed(
    envelope: &Envelope,
    mailbox: &MailboxId,
    recipient: &X25519Secret,
    directory: &Directory,
) -> Result<(Opened, Zeroizing<[u8; 32]>), OpenError> {
    let (content_key, padded) = decrypt(envelope, mailbox, recipient)?;
    let data = padding::unpad(&padded).map_err(|_| OpenError::InvalidMessage)?;
    let frame = Frame::parse(data).map_err(|_| OpenError::InvalidMessage)?;
    let signer_key: Ed25519Public = match (envelope.kind, &frame.signer) {
        (Kind::PersonMessage, FrameSigner::Person { ed25519, .. }) => *ed25519,
        (Kind::StaffReply | Kind::StaffNote | Kind::CaseEntry, FrameSigner::Staff { ed25519 }) => {
            *ed25519
        }
        _ => return Err(OpenError::InvalidMessage),
    };
    let signed = signing_input(envelope.kind, mailbox, &frame.signed_part());
    if !signer_key.verify(&signed, &frame.signature) {
        return Err(OpenError::InvalidMessage);
    }
    let sender = match frame.signer {
        FrameSigner::Person { ed25519, x25519 } => {
            let person = PersonPublic { x25519, ed25519 };
            if person.mailbox_id() != *mailbox {
                return Err(OpenError::UnauthorizedSender);
            }
            Sender::Person(person)
        }
        FrameSigner::Staff { ed25519 } => {
            let (centre, staff) = directory
                .staff_by_ed25519(&ed25519)
                .ok_or(OpenError::UnauthorizedSender)?;
            Sender::Staff {
                centre: centre.id.clone(),
                staff: staff.id.clone(),
            }
        }
    };
    let opened = Opened {
        kind: envelope.kind,
        sender,
        msg_id: frame.msg_id,
        sent_at: frame.sent_at,
        body: frame.body,
    };
    Ok((opened, content_key))
}

/// Like [`open`], and the message must be of `kind`.
pub fn open_expecting(
    kind: Kind,
    bytes: &[u8],
    mailbox: &MailboxId,
    recipient: &X25519Secret,
    directory: &Directory,
) -> Result<Opened, OpenError> {
    let opened = open(bytes, mailbox, recipient, directory)?;
    if opened.kind != kind {
        return Err(OpenError::UnexpectedKind);
    }
    Ok(opened)
}

/// An opened payload: the content key and the padded plaintext.
pub(crate) type Decrypted = (Zeroizing<[u8; 32]>, Zeroizing<Vec<u8>>);

/// Finds the recipient's stanza, unwraps the content key and decrypts the
/// payload: the content key and the padded plaintext.
pub(crate) fn decrypt(
    envelope: &Envelope,
    mailbox: &MailboxId,
    recipient: &X25519Secret,
) -> Result<Decrypted, OpenError> {
    let public = recipient.public();
    let key_id = public.key_id();
    let stanza = envelope
        .stanzas
        .iter()
        .find(|s| s.key_id == key_id)
        .ok_or(OpenError::NoMatchingKey)?;
    let shared = recipient
        .diffie_hellman(&stanza.ephemeral)
        .ok_or(OpenError::DecryptionFailed)?;
    let wrap = wrap_key(&shared, &stanza.ephemeral, &public);
    let content_key =
        aead::unwrap_key(&wrap, &stanza.wrapped_key).ok_or(OpenError::DecryptionFailed)?;
    let aad = payload_aad(mailbox, envelope);
    let padded = aead::xchacha_open(&content_key, &envelope.nonce, &aad, &envelope.payload)
        .ok_or(OpenError::DecryptionFailed)?;
    Ok((content_key, padded))
}

/// Re-wraps a message for a transfer to another centre (§4.8): the content
/// key is wrapped afresh to `new_staff`, and the nonce, the payload and — for
/// kinds 1 and 2 — the person's own stanza are kept byte for byte, her
/// stanza last. The original must open and verify first, so nothing invalid
/// is carried over. Only format-2 envelopes can be re-wrapped: in format 1
/// the stanzas are bound to the payload ([`TransferError::Legacy`]).
///
/// `person` is the thread's person X25519 key (from a verified person
/// frame); it is required for kinds 1 and 2 and ignored for kind 3.
pub fn rewrap(
    rng: &mut impl CryptoRng,
    bytes: &[u8],
    mailbox: &MailboxId,
    recipient: &X25519Secret,
    directory: &Directory,
    person: Option<&X25519Public>,
    new_staff: &[X25519Public],
) -> Result<Vec<u8>, TransferError> {
    let envelope = parse_for_opening(bytes)?;
    if envelope.version != VERSION_2 {
        return Err(TransferError::Legacy);
    }
    let (opened, content_key) = open_parsed(&envelope, mailbox, recipient, directory)?;
    let kept: Option<Stanza> = match opened.kind {
        Kind::StaffNote | Kind::CaseEntry => None,
        _ => {
            let person_id = person.ok_or(TransferError::PersonStanza)?.key_id();
            let stanza = envelope
                .stanzas
                .iter()
                .find(|s| s.key_id == person_id)
                .ok_or(TransferError::PersonStanza)?;
            Some(stanza.clone())
        }
    };
    let total = new_staff.len() + usize::from(kept.is_some());
    if new_staff.is_empty() || total > MAX_RECIPIENTS {
        return Err(SealError::RecipientCount.into());
    }
    let taken: Vec<_> = kept.iter().map(|s| s.key_id).collect();
    let mut stanzas = wrap_to(rng, &content_key, new_staff, &taken)?;
    stanzas.extend(kept);
    Ok(Envelope {
        stanzas,
        ..envelope
    }
    .to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::directory::{Centre, Names, StaffMember};
    use crate::protocol::keys::DeploymentSalt;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn centre(id: &str, staff: &StaffKeys) -> Centre {
        Centre {
            id: id.into(),
            names: Names {
                cs: id.into(),
                en: id.into(),
                uk: id.into(),
            },
            regions: vec![],
            contact: None,
            answer_time: None,
            acknowledgement: None,
            staff: vec![StaffMember {
                id: format!("{id}-1"),
                label: "Staff".into(),
                keys: staff.public(),
            }],
        }
    }

    #[test]
    fn transfer_rewraps_only_the_staff_stanzas() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let (old, new) = (StaffKeys::generate(&mut rng), StaffKeys::generate(&mut rng));
        let directory = Directory {
            version: 1,
            issued_at: 0,
            salt: DeploymentSalt([0; 16]),
            default_centre: "old".into(),
            centres: vec![centre("old", &old), centre("new", &new)],
        };
        let person = PersonKeys::from_root(&[1; 32]);
        let mailbox = person.mailbox_id();
        let message = Message {
            kind: Kind::PersonMessage,
            mailbox: &mailbox,
            body: b"{\"text\":\"help\"}",
            sent_at: 60,
        };
        let her = person.public().x25519;
        let to_old = [old.public().x25519, her];
        let sealed = seal(&mut rng, Signer::Person(&person), message, &to_old).expect("seals");
        assert_eq!(
            open(&sealed, &mailbox, new.x25519(), &directory),
            Err(OpenError::NoMatchingKey)
        );

        let to_new = [new.public().x25519];
        let moved = rewrap(
            &mut rng,
            &sealed,
            &mailbox,
            old.x25519(),
            &directory,
            Some(&her),
            &to_new,
        )
        .expect("the old centre re-wraps");
        let original = open(&sealed, &mailbox, old.x25519(), &directory).expect("opens");
        assert_eq!(
            open(&moved, &mailbox, new.x25519(), &directory).expect("opens"),
            original,
            "same frame, same msg_id, same signer"
        );
        assert_eq!(
            open(&moved, &mailbox, person.x25519(), &directory).expect("she still reads it"),
            original
        );
        assert_eq!(
            open(&moved, &mailbox, old.x25519(), &directory),
            Err(OpenError::NoMatchingKey)
        );
        let (before, after) = (
            Envelope::parse(&sealed).expect("parses"),
            Envelope::parse(&moved).expect("parses"),
        );
        assert_eq!(
            (before.nonce, &before.payload),
            (after.nonce, &after.payload)
        );
        assert_eq!(
            before.stanzas.last(),
            after.stanzas.last(),
            "her stanza kept"
        );

        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let rewrap_to = |rng: &mut ChaCha20Rng, bytes: &[u8], to: &[X25519Public]| {
            rewrap(
                rng,
                bytes,
                &mailbox,
                old.x25519(),
                &directory,
                Some(&her),
                to,
            )
        };
        assert_eq!(
            rewrap_to(&mut rng, &tampered, &to_new),
            Err(TransferError::Open(OpenError::DecryptionFailed))
        );
        assert_eq!(
            rewrap_to(&mut rng, &sealed, &[]),
            Err(TransferError::Seal(SealError::RecipientCount))
        );
        assert_eq!(
            rewrap_to(&mut rng, &sealed, &[new.public().x25519, her]),
            Err(TransferError::Seal(SealError::DuplicateRecipient))
        );
        assert_eq!(
            rewrap(
                &mut rng,
                &sealed,
                &mailbox,
                old.x25519(),
                &directory,
                None,
                &to_new
            ),
            Err(TransferError::PersonStanza)
        );
        let v1 = crate::hazmat::seal_v1(&mut rng, Signer::Person(&person), message, &to_old)
            .expect("seals");
        assert_eq!(
            open(&v1, &mailbox, old.x25519(), &directory).map(|o| (o.sender, o.body)),
            Ok((original.sender.clone(), original.body.clone())),
            "format 1 still opens"
        );
        assert_eq!(
            rewrap_to(&mut rng, &v1, &to_new),
            Err(TransferError::Legacy)
        );
    }

    #[test]
    fn a_person_cannot_seal_a_staff_reply() {
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let person = PersonKeys::from_root(&[2; 32]);
        let mailbox = person.mailbox_id();
        let reply = Message {
            kind: Kind::StaffReply,
            mailbox: &mailbox,
            body: b"{}",
            sent_at: 0,
        };
        let to = [person.public().x25519];
        assert_eq!(
            seal(&mut rng, Signer::Person(&person), reply, &to),
            Err(SealError::WrongSender)
        );
        let long = vec![b'a'; crate::format::padding::MAX_DATA_LEN];
        let too_long = Message {
            kind: Kind::PersonMessage,
            body: &long,
            ..reply
        };
        assert_eq!(
            seal(&mut rng, Signer::Person(&person), too_long, &to),
            Err(SealError::TooLong)
        );
    }
}
