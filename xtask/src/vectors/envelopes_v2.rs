//! Envelopes of format 2 (PROTOCOL.md §4.1): the payload unbound from the staff stanzas.

use super::*;

/// Writes every format-2 envelope vector: who opens a message, then what one
/// change to it does.
pub(super) fn envelope_v2_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let t = thread2(w)?;
    opened_vectors(w, &t, out)?;
    changed_vectors(w, &t, out)?;
    case_vectors(w, out)?;
    Ok(())
}

/// A case entry (kind 4, PROTOCOL.md §4.11): staff-only, under a case's
/// random mailbox id (seed 530 draws it, seed 531 seals).
fn case_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let body =
        r#"{"type":"attempt","at":1795435200,"by":"zlin-1","channel":"phone","outcome":"reached"}"#;
    let case = ozvi_crypto::protocol::case::new_case_mailbox(&mut rng(530));
    let staff = w.zlin().staff_x25519();
    let entry = Letter::staff(&w.zlin1, Kind::CaseEntry, body, NOW + 900).seal(
        Format::V2,
        531,
        &case,
        &staff,
    )?;
    let zlin2_secret = *w.zlin2.x25519().to_bytes();
    let in_case = |description, bytes: &[u8], recipient| {
        let mut c = Case::new(w, description, bytes, recipient);
        c.mailbox = case;
        c
    };
    let mut expecting_note = in_case(
        "a case entry opened by a reader that expects a staff note",
        &entry,
        zlin2_secret,
    );
    expecting_note.expect_kind = Some("staff_note");
    out.write_cases([
        (
            "envelope-v2-case-entry-read-by-colleague",
            in_case(
                "a case entry (kind 4) under the case's random mailbox id, opened by a colleague",
                &entry,
                zlin2_secret,
            ),
            success(Kind::CaseEntry, &zlin1_sender(), body, NOW + 900),
        ),
        (
            "envelope-v2-case-entry-not-for-the-person",
            in_case(
                "a case entry is staff-only: the person holds no stanza",
                &entry,
                *w.person.x25519().to_bytes(),
            ),
            fail("no_matching_key"),
        ),
        (
            "envelope-v2-case-entry-relabelled-note",
            in_case(
                "a case entry relabelled as a staff note: the kind is associated data",
                &with_byte(&entry, 1, Kind::StaffNote.to_byte()),
                zlin2_secret,
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-v2-case-entry-in-another-mailbox",
            Case::new(
                w,
                "a case entry presented as a message of a person's thread: the mailbox id is associated data",
                &entry,
                zlin2_secret,
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-v2-case-entry-expected-note",
            expecting_note,
            fail("unexpected_kind"),
        ),
    ])
}

/// Who opens a format-2 message, before and after a transfer re-wraps it for
/// Prague (seed 520).
fn opened_vectors(w: &World, t: &Thread2, out: &mut Writer) -> anyhow::Result<()> {
    let (person_msg, reply) = (&t.messages[0], &t.messages[1]);
    let person_secret = *w.person.x25519().to_bytes();
    let zlin1_secret = *w.zlin1.x25519().to_bytes();
    let praha_secret = *w.praha1.x25519().to_bytes();
    let person_ok = success(Kind::PersonMessage, &person_sender(w), t.person_body, NOW);
    let reply_ok = success(Kind::StaffReply, &zlin1_sender(), t.reply_body, NOW + 600);
    let moved = rewrap_for_praha(w, 520, person_msg);
    out.write_cases([
        (
            "envelope-v2-person-message-read-by-staff",
            Case::new(
                w,
                "format 2: a person message, opened by staff",
                person_msg,
                zlin1_secret,
            ),
            person_ok.clone(),
        ),
        (
            "envelope-v2-person-message-read-by-person",
            Case::new(
                w,
                "format 2: a person message, opened by herself",
                person_msg,
                person_secret,
            ),
            person_ok.clone(),
        ),
        (
            "envelope-v2-staff-reply-read-by-person",
            Case::new(
                w,
                "format 2: a staff reply, opened by the person",
                reply,
                person_secret,
            ),
            reply_ok,
        ),
        (
            "envelope-v2-rewrapped-read-by-new-centre",
            Case::new(
                w,
                "format 2, re-wrapped for a transfer: the new centre opens the same message",
                &moved,
                praha_secret,
            ),
            person_ok.clone(),
        ),
        (
            "envelope-v2-rewrapped-read-by-person",
            Case::new(
                w,
                "format 2, re-wrapped for a transfer: the person still opens it with her kept stanza",
                &moved,
                person_secret,
            ),
            person_ok.clone(),
        ),
        (
            "envelope-v2-rewrapped-not-for-old-centre",
            Case::new(
                w,
                "format 2, re-wrapped for a transfer: the old centre's stanzas are gone",
                &moved,
                zlin1_secret,
            ),
            fail("no_matching_key"),
        ),
    ])
}

/// One change at a time to a format-2 person message, opened by zlin-1: the
/// stanzas are not associated data, the rest is.
fn changed_vectors(w: &World, t: &Thread2, out: &mut Writer) -> anyhow::Result<()> {
    let person_msg = &t.messages[0];
    let zlin1_secret = *w.zlin1.x25519().to_bytes();
    let person_ok = success(Kind::PersonMessage, &person_sender(w), t.person_body, NOW);
    let nonce_at = stanza_at(3);
    let changed = |description, bytes: &[u8]| Case::new(w, description, bytes, zlin1_secret);
    out.write_cases([
        (
            "envelope-v2-other-stanza-changed",
            changed(
                "format 2: another recipient's stanza changed; stanzas are not associated data, so this recipient still opens it",
                &flip(person_msg, stanza_at(1) + 8 + 32 + 3),
            ),
            person_ok,
        ),
        (
            "envelope-v2-own-stanza-changed",
            changed(
                "format 2: the recipient's own wrapped key changed",
                &flip(person_msg, stanza_at(0) + 8 + 32 + 3),
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-v2-tampered-payload",
            changed(
                "format 2: one payload byte flipped",
                &flip(person_msg, nonce_at + 24 + 100),
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-v2-tampered-nonce",
            changed(
                "format 2: one nonce byte flipped",
                &flip(person_msg, nonce_at + 5),
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-v2-kind-changed",
            changed(
                "format 2: the kind byte changed; the kind is associated data",
                &with_byte(person_msg, 1, Kind::StaffReply.to_byte()),
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-v2-relabelled-v1",
            changed(
                "a format 2 envelope relabelled as format 1: the associated data differs",
                &with_byte(person_msg, 0, 1),
            ),
            fail("decryption_failed"),
        ),
        (
            "envelope-v2-moved-to-another-mailbox",
            Case {
                mailbox: MailboxId([0x5a; 16]),
                ..changed("format 2: moved to another mailbox id", person_msg)
            },
            fail("decryption_failed"),
        ),
    ])
}
