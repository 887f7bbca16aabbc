//! Envelopes of format 2 (PROTOCOL.md §4.1): the payload unbound from the staff stanzas.

use super::*;

pub(super) fn envelope_v2_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let mailbox = w.mailbox();
    let t = thread2(w)?;
    let (person_msg, reply) = (&t.messages[0], &t.messages[1]);
    let person_secret = *w.person.x25519().to_bytes();
    let zlin1_secret = *w.zlin1.x25519().to_bytes();
    let praha_secret = *w.praha1.x25519().to_bytes();
    let case = |description: &'static str, bytes: &[u8], recipient: [u8; 32]| Case {
        world: w,
        description,
        envelope: b64::encode(bytes),
        mailbox,
        recipient,
        expect_kind: None,
    };
    let person_sender = json!({"person": {
        "x25519": b64::encode(w.person.public().x25519.as_bytes()),
        "ed25519": b64::encode(&w.person.public().ed25519.to_bytes()),
    }});
    let zlin1_sender = json!({"staff": {"centre": "ic-zlin", "staff": "zlin-1"}});
    let person_ok = json!({"expect": "success", "kind": "person_message", "sender": person_sender, "body": t.person_body, "sent_at": NOW});
    let reply_ok = json!({"expect": "success", "kind": "staff_reply", "sender": zlin1_sender, "body": r#"{"text":"Jsme tu pro vás.","lang":"cs"}"#, "sent_at": NOW + 600});
    let fail = |expect: &str| json!({"expect": expect});
    let flip = |bytes: &[u8], at: usize| {
        let mut b = bytes.to_vec();
        b[at] ^= 0x01;
        b
    };
    let stanza = |i: usize| 3 + i * 88;
    let nonce_at = stanza(3);

    out.write(
        "envelope-v2-person-message-read-by-staff",
        case(
            "format 2: a person message, opened by staff",
            person_msg,
            zlin1_secret,
        )
        .json(person_ok.clone()),
    )?;
    out.write(
        "envelope-v2-person-message-read-by-person",
        case(
            "format 2: a person message, opened by herself",
            person_msg,
            person_secret,
        )
        .json(person_ok.clone()),
    )?;
    out.write(
        "envelope-v2-staff-reply-read-by-person",
        case(
            "format 2: a staff reply, opened by the person",
            reply,
            person_secret,
        )
        .json(reply_ok.clone()),
    )?;
    let moved = rewrap_for_praha(w, 520, person_msg);
    out.write(
        "envelope-v2-rewrapped-read-by-new-centre",
        case(
            "format 2, re-wrapped for a transfer: the new centre opens the same message",
            &moved,
            praha_secret,
        )
        .json(person_ok.clone()),
    )?;
    out.write(
        "envelope-v2-rewrapped-read-by-person",
        case(
            "format 2, re-wrapped for a transfer: the person still opens it with her kept stanza",
            &moved,
            person_secret,
        )
        .json(person_ok.clone()),
    )?;
    out.write(
        "envelope-v2-rewrapped-not-for-old-centre",
        case(
            "format 2, re-wrapped for a transfer: the old centre's stanzas are gone",
            &moved,
            zlin1_secret,
        )
        .json(fail("no_matching_key")),
    )?;
    out.write(
        "envelope-v2-other-stanza-changed",
        case(
            "format 2: another recipient's stanza changed; stanzas are not associated data, so this recipient still opens it",
            &flip(person_msg, stanza(1) + 8 + 32 + 3),
            zlin1_secret,
        )
        .json(person_ok.clone()),
    )?;
    out.write(
        "envelope-v2-own-stanza-changed",
        case(
            "format 2: the recipient's own wrapped key changed",
            &flip(person_msg, stanza(0) + 8 + 32 + 3),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    out.write(
        "envelope-v2-tampered-payload",
        case(
            "format 2: one payload byte flipped",
            &flip(person_msg, nonce_at + 24 + 100),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    out.write(
        "envelope-v2-tampered-nonce",
        case(
            "format 2: one nonce byte flipped",
            &flip(person_msg, nonce_at + 5),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    let mut kind2 = person_msg.clone();
    kind2[1] = Kind::StaffReply.to_byte();
    out.write(
        "envelope-v2-kind-changed",
        case(
            "format 2: the kind byte changed; the kind is associated data",
            &kind2,
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    let mut v1 = person_msg.clone();
    v1[0] = 1;
    out.write(
        "envelope-v2-relabelled-v1",
        case(
            "a format 2 envelope relabelled as format 1: the associated data differs",
            &v1,
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    let mut other_box = case(
        "format 2: moved to another mailbox id",
        person_msg,
        zlin1_secret,
    );
    other_box.mailbox = MailboxId([0x5a; 16]);
    out.write(
        "envelope-v2-moved-to-another-mailbox",
        other_box.json(fail("decryption_failed")),
    )?;
    Ok(())
}
