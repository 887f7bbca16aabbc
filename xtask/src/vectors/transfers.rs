//! Transfers (PROTOCOL.md §4.8): what the relay must accept and refuse.

use super::*;

/// `transfer` vectors (PROTOCOL.md §4.8): the relay's check of a transfer,
/// `protocol::transfer::check_thread`. The generator also runs the check, so
/// a vector cannot claim an outcome the reference does not give.
pub(super) fn transfer_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    use ozvi_crypto::RewrapError;
    use ozvi_crypto::format::envelope::Envelope;
    use ozvi_crypto::protocol::transfer::check_thread;

    let t = thread2(w)?;
    let stored: Vec<(u64, Vec<u8>)> = (1..).zip(t.messages.iter().cloned()).collect();
    let genuine: Vec<(u64, Vec<u8>)> = stored
        .iter()
        .map(|(seq, m)| (*seq, rewrap_for_praha(w, 530 + seq, m)))
        .collect();
    let praha = w.directory.centre("ic-praha").expect("listed");
    let list = |msgs: &[(u64, Vec<u8>)]| {
        Value::Array(
            msgs.iter()
                .map(|(seq, e)| json!({"seq": seq, "envelope": b64::encode(e)}))
                .collect(),
        )
    };
    let class = |r: Result<(), RewrapError>| match r {
        Ok(()) => "success",
        Err(RewrapError::Malformed) => "malformed",
        Err(RewrapError::Legacy) => "legacy",
        Err(RewrapError::Messages) => "messages",
        Err(RewrapError::ContentChanged) => "content_changed",
        Err(RewrapError::PersonStanza) => "person_stanza",
        Err(RewrapError::Addressing(_)) => "addressing",
        Err(_) => "other",
    };
    let mut write = |name: &str,
                     description: &str,
                     stored: &[(u64, Vec<u8>)],
                     new: &[(u64, Vec<u8>)],
                     expect: &str|
     -> anyhow::Result<()> {
        let got = class(check_thread(stored, new, praha));
        anyhow::ensure!(
            got == expect,
            "{name}: the reference gives {got}, not {expect}"
        );
        out.write(
            name,
            json!({
                "type": "transfer",
                "description": description,
                "root_key": b64::encode(&w.root.public().to_bytes()),
                "directory": w.signed,
                "mailbox_id": w.mailbox().to_b64(),
                "to_centre": "ic-praha",
                "person_x25519_secret": b64::encode(&*w.person.x25519().to_bytes()),
                "new_staff_x25519_secret": b64::encode(&*w.praha1.x25519().to_bytes()),
                "stored": list(stored),
                "transferred": list(new),
                "expect": expect,
            }),
        )
    };
    let replace = |i: usize, envelope: Vec<u8>| {
        let mut new = genuine.clone();
        new[i].1 = envelope;
        new
    };
    let edit = |i: usize, f: &dyn Fn(&mut Envelope)| {
        let mut e = Envelope::parse(&genuine[i].1).expect("parses");
        f(&mut e);
        replace(i, e.to_bytes())
    };

    write(
        "transfer-valid",
        "a genuine transfer: staff stanzas re-wrapped for the new centre, nonce, payload and the person's stanza kept",
        &stored,
        &genuine,
        "success",
    )?;
    write(
        "transfer-payload-byte-changed",
        "one payload byte of one message changed",
        &stored,
        &edit(1, &|e: &mut Envelope| e.payload[7] ^= 1),
        "content_changed",
    )?;
    write(
        "transfer-nonce-changed",
        "one nonce byte of one message changed",
        &stored,
        &edit(0, &|e: &mut Envelope| e.nonce[0] ^= 1),
        "content_changed",
    )?;
    write(
        "transfer-version-changed",
        "one message relabelled as format 1",
        &stored,
        &edit(2, &|e: &mut Envelope| e.version = 1),
        "content_changed",
    )?;
    write(
        "transfer-person-stanza-dropped",
        "the person's stanza left out: she could no longer read her message",
        &stored,
        &edit(2, &|e: &mut Envelope| {
            e.stanzas.pop();
        }),
        "person_stanza",
    )?;
    write(
        "transfer-person-stanza-changed",
        "one byte of the person's wrapped key changed",
        &stored,
        &edit(0, &|e: &mut Envelope| {
            if let Some(s) = e.stanzas.last_mut() {
                s.wrapped_key[5] ^= 1;
            }
        }),
        "person_stanza",
    )?;
    let other_person_stanza = Envelope::parse(&stored[2].1)
        .expect("parses")
        .stanzas
        .last()
        .cloned()
        .expect("a stanza");
    write(
        "transfer-person-stanza-from-another-message",
        "the person's stanza replaced by her stanza of another message (same key id)",
        &stored,
        &edit(0, &|e: &mut Envelope| {
            if let Some(s) = e.stanzas.last_mut() {
                *s = other_person_stanza.clone();
            }
        }),
        "person_stanza",
    )?;
    let mut reordered = genuine.clone();
    reordered[0].1 = genuine[2].1.clone();
    reordered[2].1 = genuine[0].1.clone();
    write(
        "transfer-reordered",
        "two messages swapped, sequence numbers kept",
        &stored,
        &reordered,
        "content_changed",
    )?;
    let mut relabelled = genuine.clone();
    relabelled.reverse();
    write(
        "transfer-reordered-with-sequence-numbers",
        "the messages listed in reverse order with their sequence numbers",
        &stored,
        &relabelled,
        "messages",
    )?;
    write(
        "transfer-copies-of-first",
        "the person's later message replaced by a copy of her first one",
        &stored,
        &replace(2, genuine[0].1.clone()),
        "content_changed",
    )?;
    let mailbox = w.mailbox();
    let mut forged_recipients = praha.staff_x25519();
    forged_recipients.push(w.person.public().x25519);
    let own_reply = Letter::staff(
        &w.zlin2,
        Kind::StaffReply,
        r#"{"text":"Jiná odpověď."}"#,
        NOW + 600,
    )
    .seal(Format::V2, 540, &mailbox, &forged_recipients)?;
    write(
        "transfer-colleague-reply-replaced",
        "a colleague's reply replaced by a validly signed, correctly addressed reply of the transferring staff member",
        &stored,
        &replace(1, own_reply),
        "content_changed",
    )?;
    let mut random = rng(541);
    let noise: Vec<(u64, Vec<u8>)> = genuine
        .iter()
        .map(|(seq, e)| {
            let mut bytes = vec![0u8; e.len()];
            rand_core::Rng::fill_bytes(&mut random, &mut bytes);
            (*seq, bytes)
        })
        .collect();
    write(
        "transfer-random-bytes",
        "every envelope replaced by random bytes",
        &stored,
        &noise,
        "malformed",
    )?;
    let noise_payload = edit(0, &|e: &mut Envelope| {
        let mut r = rng(542);
        rand_core::Rng::fill_bytes(&mut r, &mut e.nonce);
        rand_core::Rng::fill_bytes(&mut r, &mut e.payload);
    });
    write(
        "transfer-random-payload",
        "a well-formed, correctly addressed envelope whose nonce and payload are random",
        &stored,
        &noise_payload,
        "content_changed",
    )?;
    let stranger = PersonKeys::from_root(&[0x78; 32]);
    let elsewhere = Letter::person(&stranger, r#"{"text":"Cizí zpráva."}"#, NOW).seal(
        Format::V2,
        543,
        &stranger.mailbox_id(),
        &forged_recipients,
    )?;
    write(
        "transfer-envelope-from-another-thread",
        "a message replaced by an envelope of another thread, addressed to the new centre",
        &stored,
        &replace(2, elsewhere),
        "content_changed",
    )?;
    write(
        "transfer-message-missing",
        "the last message left out",
        &stored,
        &genuine[..2],
        "messages",
    )?;
    let zlin_again: Vec<(u64, Vec<u8>)> = stored
        .iter()
        .map(|(seq, m)| {
            let rewrapped = rewrap(
                &mut rng(550 + seq),
                m,
                &mailbox,
                w.zlin1.x25519(),
                &w.directory,
                Some(&w.person.public().x25519),
                &w.zlin().staff_x25519(),
            )
            .expect("re-wraps");
            (*seq, rewrapped)
        })
        .collect();
    write(
        "transfer-addressed-to-old-centre",
        "re-wrapped to the old centre's staff instead of the new centre's",
        &stored,
        &zlin_again,
        "addressing",
    )?;
    write(
        "transfer-extra-recipient",
        "an outsider's stanza added to one message",
        &stored,
        &edit(0, &|e: &mut Envelope| {
            let mut extra = e.stanzas[0].clone();
            extra.key_id = w.outsider.public().x25519.key_id();
            e.stanzas.insert(0, extra);
        }),
        "addressing",
    )?;
    write(
        "transfer-person-stanza-not-last",
        "the person's stanza moved before the staff stanzas",
        &stored,
        &edit(0, &|e: &mut Envelope| e.stanzas.rotate_right(1)),
        "addressing",
    )?;
    let legacy_first = Letter::person(&w.person, t.person_body, NOW).seal(
        Format::V1,
        560,
        &mailbox,
        &w.thread_recipients(),
    )?;
    let mut legacy = stored.clone();
    legacy[0].1 = legacy_first;
    let legacy_new = {
        let mut new = genuine.clone();
        new[0].1 = legacy[0].1.clone();
        new
    };
    write(
        "transfer-legacy-thread",
        "a thread whose first message is a format 1 envelope cannot be transferred verifiably",
        &legacy,
        &legacy_new,
        "legacy",
    )?;
    Ok(())
}
