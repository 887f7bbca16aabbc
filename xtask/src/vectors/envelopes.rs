//! Envelopes of format 1 (PROTOCOL.md §4): every reader rule, one change at a time.

use super::*;

/// The person's first message of the thread.
const PERSON_BODY: &str = r#"{"text":"Potřebuji pomoc. Manžel mi vyhrožuje.","lang":"cs","intake":{"role":"self","region":"CZ-72","violence":["psychological","economic"],"danger_now":false,"contact":"po 17. hodině"}}"#;
/// zlin-1's reply to it.
const REPLY_BODY: &str = r#"{"text":"Dobrý den, jsme tu pro vás. Můžete nám napsat, kdy je pro vás bezpečné mluvit?","lang":"cs"}"#;
/// zlin-1's staff-only note on the thread.
const NOTE_BODY: &str = r#"{"status":"in_progress","assignee":"zlin-1","notes":[{"at":1795435200,"by":"zlin-1","text":"Domluvit schůzku."}]}"#;

/// Writes every format-1 envelope vector, one family after another.
pub(super) fn envelope_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let t = Thread1::seal(w)?;
    opened_vectors(&t, out)?;
    recipient_vectors(&t, out)?;
    tampered_vectors(&t, out)?;
    shape_vectors(&t, out)?;
    ephemeral_vectors(&t, out)?;
    text_vectors(&t, out)?;
    padding_vectors(&t, out)?;
    signature_vectors(&t, out)?;
    Ok(())
}

/// The format-1 thread the families start from: a person message, zlin-1's
/// reply, his staff-only note and a long person message, with the X25519
/// secrets that open them.
struct Thread1<'a> {
    w: &'a World,
    person_msg: Vec<u8>,
    reply: Vec<u8>,
    note: Vec<u8>,
    long_msg: Vec<u8>,
    long_body: String,
    person_secret: [u8; 32],
    zlin1_secret: [u8; 32],
    zlin2_secret: [u8; 32],
    praha_secret: [u8; 32],
    /// The Ed25519 key zlin-1 signs his frames with.
    zlin1_key: Ed25519Secret,
}

impl<'a> Thread1<'a> {
    /// Seals the thread's four messages, from the seeds 300 to 303.
    fn seal(w: &'a World) -> anyhow::Result<Self> {
        let (mailbox, thread) = (w.mailbox(), w.thread_recipients());
        let sealed = |seed, letter: Letter, recipients: &[X25519Public]| {
            letter.seal(Format::V1, seed, &mailbox, recipients)
        };
        let (person, zlin1) = (&w.person, &w.zlin1);
        let person_msg = Letter::person(person, PERSON_BODY, NOW);
        let reply = Letter::staff(zlin1, Kind::StaffReply, REPLY_BODY, NOW + 600);
        let note = Letter::staff(zlin1, Kind::StaffNote, NOTE_BODY, NOW + 660);
        let long_body = json!({"text": "Ozvi. ".repeat(700)}).to_string();
        let long_msg = Letter::person(person, &long_body, NOW + 720);
        Ok(Thread1 {
            w,
            person_msg: sealed(300, person_msg, &thread)?,
            reply: sealed(301, reply, &thread)?,
            // Staff-only: not sealed to the person.
            note: sealed(302, note, &w.zlin().staff_x25519())?,
            long_msg: sealed(303, long_msg, &thread)?,
            long_body,
            person_secret: *w.person.x25519().to_bytes(),
            zlin1_secret: *w.zlin1.x25519().to_bytes(),
            zlin2_secret: *w.zlin2.x25519().to_bytes(),
            praha_secret: *w.praha1.x25519().to_bytes(),
            zlin1_key: staff_secret(&w.zlin1),
        })
    }

    /// How zlin-1 genuinely signs his reply: the padding vectors pad this
    /// frame wrongly, the signature vectors change one field of it.
    fn genuine_reply(&self) -> Signing<'_> {
        Signing {
            key: &self.zlin1_key,
            claimed: staff_claim(&self.w.zlin1),
            kind: Kind::StaffReply,
            mailbox: self.w.mailbox(),
            body: REPLY_BODY,
        }
    }

    /// `padded` encrypted as a format-1 envelope of `kind` to the thread's
    /// recipients with `rng(seed)`, exactly as a real one, whether or not it
    /// is validly padded.
    fn seal_padded(&self, seed: u64, kind: Kind, padded: &[u8]) -> Vec<u8> {
        let mailbox = self.w.mailbox();
        let recipients = self.w.thread_recipients();
        hazmat::seal_padded(&mut rng(seed), 1, kind, &mailbox, &recipients, padded)
            .expect("valid recipients")
    }

    /// `frame` padded and sealed as [`Thread1::seal_padded`] does.
    fn seal_frame(&self, seed: u64, kind: Kind, frame: &[u8]) -> Vec<u8> {
        self.seal_padded(seed, kind, &padding::pad(frame).expect("fits"))
    }
}

/// How a frame is signed (`hazmat::signed_frame`), with a fixed message id
/// and time: the key that signs, the signer the frame claims, and the kind
/// and mailbox the signature covers.
#[derive(Clone, Copy)]
struct Signing<'k> {
    key: &'k Ed25519Secret,
    claimed: FrameSigner,
    kind: Kind,
    mailbox: MailboxId,
    body: &'static str,
}

impl Signing<'_> {
    /// The signed frame's bytes, before padding.
    fn frame(&self) -> Vec<u8> {
        hazmat::signed_frame(
            self.key,
            self.claimed,
            self.kind,
            &self.mailbox,
            [7; 16],
            NOW,
            self.body.as_bytes(),
        )
        .to_bytes()
    }
}

/// The signer a staff member's frame claims.
fn staff_claim(keys: &StaffKeys) -> FrameSigner {
    FrameSigner::Staff {
        ed25519: keys.public().ed25519,
    }
}

/// The signer a person's frame claims.
fn person_claim(keys: &PersonKeys) -> FrameSigner {
    FrameSigner::Person {
        ed25519: keys.public().ed25519,
        x25519: keys.public().x25519,
    }
}

/// Valid messages, each opened by the recipients it has.
fn opened_vectors(t: &Thread1, out: &mut Writer) -> anyhow::Result<()> {
    let w = t.w;
    let person = person_sender(w);
    let person_ok = success(Kind::PersonMessage, &person, PERSON_BODY, NOW);
    let reply_ok = success(Kind::StaffReply, &zlin1_sender(), REPLY_BODY, NOW + 600);
    let note_ok = success(Kind::StaffNote, &zlin1_sender(), NOTE_BODY, NOW + 660);
    let long_ok = success(Kind::PersonMessage, &person, &t.long_body, NOW + 720);
    out.write_cases([
        (
            "envelope-person-message-read-by-staff",
            Case::new(
                w,
                "a person's first message, opened by a staff member of her centre",
                &t.person_msg,
                t.zlin1_secret,
            ),
            person_ok.clone(),
        ),
        (
            "envelope-person-message-read-by-person",
            Case::new(
                w,
                "a person's message, opened by herself on return",
                &t.person_msg,
                t.person_secret,
            ),
            person_ok.clone(),
        ),
        (
            "envelope-staff-reply-read-by-person",
            Case::new(
                w,
                "a staff reply, opened and verified by the person",
                &t.reply,
                t.person_secret,
            ),
            reply_ok.clone(),
        ),
        (
            "envelope-staff-reply-read-by-colleague",
            Case::new(
                w,
                "a staff reply, opened by another staff member of the centre",
                &t.reply,
                t.zlin2_secret,
            ),
            reply_ok,
        ),
        (
            "envelope-staff-note-read-by-staff",
            Case::new(
                w,
                "staff-only metadata, opened by a colleague",
                &t.note,
                t.zlin2_secret,
            ),
            note_ok,
        ),
        (
            "envelope-long-message-second-bucket",
            Case::new(
                w,
                "a 4 KiB message, padded to the 4608-byte bucket",
                &t.long_msg,
                t.zlin1_secret,
            ),
            long_ok,
        ),
        (
            "envelope-expected-kind",
            Case {
                expect_kind: Some("person_message"),
                ..Case::new(
                    w,
                    "a person message, expected as a person message",
                    &t.person_msg,
                    t.zlin1_secret,
                )
            },
            person_ok,
        ),
    ])
}

/// A valid envelope, opened by someone it is not sealed to.
fn recipient_vectors(t: &Thread1, out: &mut Writer) -> anyhow::Result<()> {
    let w = t.w;
    out.write_cases([
        (
            "envelope-staff-note-not-for-person",
            Case::new(
                w,
                "staff-only metadata is not sealed to the person",
                &t.note,
                t.person_secret,
            ),
            fail("no_matching_key"),
        ),
        (
            "envelope-wrong-recipient",
            Case::new(
                w,
                "a staff member of another centre is not a recipient",
                &t.person_msg,
                t.praha_secret,
            ),
            fail("no_matching_key"),
        ),
    ])
}

/// Tampering: each changes one authenticated thing of a valid envelope.
fn tampered_vectors(t: &Thread1, out: &mut Writer) -> anyhow::Result<()> {
    let (w, msg, zlin1) = (t.w, &t.person_msg, t.zlin1_secret);
    let nonce_at = stanza_at(3);
    let header_len = nonce_at + 24;
    let flipped = |name, description, at| {
        let case = Case::new(w, description, &flip(msg, at), zlin1);
        (name, case, fail("decryption_failed"))
    };
    out.write_cases([
        flipped(
            "envelope-tampered-tag",
            "the last byte of the tag flipped",
            msg.len() - 1,
        ),
        flipped(
            "envelope-tampered-ciphertext",
            "one payload byte flipped",
            header_len + 100,
        ),
        flipped(
            "envelope-tampered-nonce",
            "one nonce byte flipped",
            nonce_at + 5,
        ),
        flipped(
            "envelope-tampered-wrapped-key",
            "the recipient's wrapped key changed",
            stanza_at(0) + 8 + 32 + 3,
        ),
        flipped(
            "envelope-tampered-other-stanza",
            "another recipient's stanza changed: the header is authenticated",
            stanza_at(2) + 8 + 32 + 3,
        ),
        flipped(
            "envelope-tampered-ephemeral",
            "the recipient's ephemeral key changed",
            stanza_at(0) + 8 + 1,
        ),
        (
            "envelope-moved-to-another-mailbox",
            Case {
                mailbox: MailboxId([0x5a; 16]),
                ..Case::new(w, "moved to another mailbox id", msg, zlin1)
            },
            fail("decryption_failed"),
        ),
        (
            "envelope-kind-changed",
            Case::new(
                w,
                "the kind byte changed from person message to staff reply",
                &with_byte(msg, 1, Kind::StaffReply.to_byte()),
                zlin1,
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-unknown-kind",
            Case::new(
                w,
                "a kind byte the protocol does not define",
                &with_byte(msg, 1, 9),
                zlin1,
            ),
            fail("malformed"),
        ),
        (
            "envelope-unexpected-kind",
            Case {
                expect_kind: Some("staff_reply"),
                ..Case::new(
                    w,
                    "a person message where a staff reply was expected",
                    msg,
                    zlin1,
                )
            },
            fail("unexpected_kind"),
        ),
    ])
}

/// Shape: the version, the length and the stanza count.
fn shape_vectors(t: &Thread1, out: &mut Writer) -> anyhow::Result<()> {
    let (w, msg, zlin1) = (t.w, &t.person_msg[..], t.zlin1_secret);
    let refused = |name, description, bytes: &[u8], expect| {
        (name, Case::new(w, description, bytes, zlin1), fail(expect))
    };
    let mut trailing = msg.to_vec();
    trailing.push(0);
    let mut dup = with_byte(&msg[..stanza_at(1)], 2, msg[2] + 1);
    dup.extend_from_slice(&msg[stanza_at(0)..stanza_at(1)]);
    dup.extend_from_slice(&msg[stanza_at(1)..]);
    out.write_cases([
        refused(
            "envelope-v1-relabelled-v2",
            "a version 1 envelope relabelled as version 2: the payload's associated data differs",
            &with_byte(msg, 0, 2),
            "decryption_failed",
        ),
        refused(
            "envelope-version-3",
            "version 3 is not spoken",
            &with_byte(msg, 0, 3),
            "unsupported_version",
        ),
        refused(
            "envelope-version-0",
            "version 0 does not exist",
            &with_byte(msg, 0, 0),
            "unsupported_version",
        ),
        refused("envelope-empty", "no bytes", &[], "malformed"),
        refused(
            "envelope-truncated-header",
            "cut inside the stanzas",
            &msg[..150],
            "malformed",
        ),
        refused(
            "envelope-truncated-payload",
            "the tag cut off",
            &msg[..msg.len() - 16],
            "malformed",
        ),
        refused(
            "envelope-trailing-byte",
            "one byte appended",
            &trailing,
            "malformed",
        ),
        refused(
            "envelope-no-stanzas",
            "a stanza count of zero",
            &with_byte(msg, 2, 0),
            "malformed",
        ),
        refused(
            "envelope-too-many-stanzas",
            "a stanza count of 33",
            &with_byte(msg, 2, 33),
            "malformed",
        ),
        refused(
            "envelope-duplicate-stanza",
            "the same recipient listed twice",
            &dup,
            "malformed",
        ),
    ])
}

/// Bad X25519 points as the ephemeral key of the recipient's stanza.
fn ephemeral_vectors(t: &Thread1, out: &mut Writer) -> anyhow::Result<()> {
    let with_ephemeral = |description, point: [u8; 32]| {
        let mut b = t.person_msg.clone();
        b[stanza_at(0) + 8..stanza_at(0) + 40].copy_from_slice(&point);
        Case::new(t.w, description, &b, t.zlin1_secret)
    };
    // A point of order 8 (RFC 7748 test set; Bernstein's list of small-order points).
    let order8: [u8; 32] =
        hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
    let mut high = [0u8; 32];
    high[0] = 9;
    high[31] = 0x80;
    out.write_cases([
        (
            "envelope-ephemeral-all-zero",
            with_ephemeral(
                "an all-zero ephemeral key: the shared secret is zero",
                [0; 32],
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-ephemeral-low-order",
            with_ephemeral(
                "an ephemeral key of order 8: the shared secret is zero",
                order8,
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-ephemeral-non-canonical",
            with_ephemeral("an ephemeral key with the high bit set", high),
            fail("malformed"),
        ),
    ])
}

/// Text encoding: the envelope's base64url text, written the wrong way.
fn text_vectors(t: &Thread1, out: &mut Writer) -> anyhow::Result<()> {
    let text = b64::encode(&t.person_msg);
    let as_text = |description, envelope| Case {
        envelope,
        ..Case::new(t.w, description, &t.person_msg, t.zlin1_secret)
    };
    let mut cases = vec![
        (
            "envelope-base64-trailing-bits",
            as_text(
                "base64url with non-zero trailing bits",
                with_trailing_bits(&text),
            ),
            fail("malformed"),
        ),
        (
            "envelope-base64-padding",
            as_text("base64url with padding characters", format!("{text}==")),
            fail("malformed"),
        ),
    ];
    let standard = text.replace('-', "+").replace('_', "/");
    if standard != text {
        cases.push((
            "envelope-base64-standard-alphabet",
            as_text("standard base64 alphabet instead of base64url", standard),
            fail("malformed"),
        ));
    }
    out.write_cases(cases)
}

/// Padding: zlin-1's genuine reply frame, padded wrongly and sealed validly
/// (seeds 400 to 403).
fn padding_vectors(t: &Thread1, out: &mut Writer) -> anyhow::Result<()> {
    let frame = t.genuine_reply().frame();
    let padded = padding::pad(&frame).expect("fits");
    let bad_pad = with_byte(&padded, padded.len() - 1, 1);
    let mut bad_len = padded.clone();
    bad_len[..4].copy_from_slice(&5000u32.to_be_bytes());
    let mut trailing_frame = frame.clone();
    trailing_frame.push(0x42);
    let trailing = padding::pad(&trailing_frame).expect("fits");
    // Each is sealed as a staff reply and read by the person.
    let sealed = |name, description, seed, padded: &[u8], expect| {
        let bytes = t.seal_padded(seed, Kind::StaffReply, padded);
        let case = Case::new(t.w, description, &bytes, t.person_secret);
        (name, case, fail(expect))
    };
    out.write_cases([
        sealed(
            "envelope-unpadded",
            "a frame encrypted without padding: not a bucket size",
            400,
            &frame,
            "malformed",
        ),
        sealed(
            "envelope-mispadded-nonzero",
            "a non-zero padding byte",
            401,
            &bad_pad,
            "invalid_message",
        ),
        sealed(
            "envelope-mispadded-length",
            "a padding length beyond the bucket",
            402,
            &bad_len,
            "invalid_message",
        ),
        sealed(
            "envelope-frame-trailing-byte",
            "a byte after the signature",
            403,
            &trailing,
            "invalid_message",
        ),
    ])
}

/// Signatures: frames that change one thing of how zlin-1's genuine reply is
/// signed, each padded and sealed validly (seeds 404 to 409).
fn signature_vectors(t: &Thread1, out: &mut Writer) -> anyhow::Result<()> {
    let w = t.w;
    let genuine = t.genuine_reply();
    let outsider_key = staff_secret(&w.outsider);
    let forged = Signing {
        key: &outsider_key,
        ..genuine
    };
    let outsider = Signing {
        claimed: staff_claim(&w.outsider),
        ..forged
    };
    let elsewhere = Signing {
        mailbox: MailboxId([0x33; 16]),
        ..genuine
    };
    let as_note = Signing {
        kind: Kind::StaffNote,
        ..genuine
    };
    let person_key = person_secret_key(w);
    let person_as_staff = Signing {
        key: &person_key,
        claimed: person_claim(&w.person),
        ..genuine
    };
    // A genuine person key that does not own this mailbox.
    let stranger_key = stranger_secret();
    let stranger = Signing {
        key: &stranger_key,
        claimed: person_claim(&PersonKeys::from_root(&[0x77; 32])),
        kind: Kind::PersonMessage,
        body: PERSON_BODY,
        ..genuine
    };
    let sealed = |description, seed, kind, signing: Signing, recipient| {
        let bytes = t.seal_frame(seed, kind, &signing.frame());
        Case::new(w, description, &bytes, recipient)
    };
    // Every one but the stranger's is sealed as a staff reply, read by the person.
    let reply = |description, seed, signing| {
        sealed(
            description,
            seed,
            Kind::StaffReply,
            signing,
            t.person_secret,
        )
    };
    out.write_cases([
        (
            "envelope-forged-staff-signature",
            reply(
                "claims a listed staff key, signed by another key",
                404,
                forged,
            ),
            fail("invalid_message"),
        ),
        (
            "envelope-unlisted-staff",
            reply(
                "validly signed by a key the directory does not list",
                405,
                outsider,
            ),
            fail("unauthorized_sender"),
        ),
        (
            "envelope-signature-for-another-mailbox",
            reply(
                "a reply signed for another thread, sealed into this one",
                406,
                elsewhere,
            ),
            fail("invalid_message"),
        ),
        (
            "envelope-signature-for-another-kind",
            reply(
                "a frame signed as a staff note, sealed as a staff reply",
                407,
                as_note,
            ),
            fail("invalid_message"),
        ),
        (
            "envelope-person-role-in-staff-reply",
            reply("a person's frame in a staff reply", 408, person_as_staff),
            fail("invalid_message"),
        ),
        (
            "envelope-person-not-mailbox-owner",
            sealed(
                "signed by a person whose keys do not derive this mailbox id",
                409,
                Kind::PersonMessage,
                stranger,
                t.zlin1_secret,
            ),
            fail("unauthorized_sender"),
        ),
    ])
}
