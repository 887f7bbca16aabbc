//! Envelopes of format 1 (PROTOCOL.md §4): every reader rule, one change at a time.

use super::*;

pub(super) fn envelope_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let mailbox = w.mailbox();
    let person_secret = *w.person.x25519().to_bytes();
    let zlin1_secret = *w.zlin1.x25519().to_bytes();
    let zlin2_secret = *w.zlin2.x25519().to_bytes();
    let praha_secret = *w.praha1.x25519().to_bytes();

    let person_body = r#"{"text":"Potřebuji pomoc. Manžel mi vyhrožuje.","lang":"cs","intake":{"role":"self","region":"CZ-72","violence":["psychological","economic"],"danger_now":false,"contact":"po 17. hodině"}}"#;
    let reply_body = r#"{"text":"Dobrý den, jsme tu pro vás. Můžete nám napsat, kdy je pro vás bezpečné mluvit?","lang":"cs"}"#;
    let note_body = r#"{"status":"in_progress","assignee":"zlin-1","notes":[{"at":1795435200,"by":"zlin-1","text":"Domluvit schůzku."}]}"#;

    let person_msg = hazmat::seal_v1(
        &mut rng(300),
        Signer::Person(&w.person),
        Message {
            kind: Kind::PersonMessage,
            mailbox: &mailbox,
            body: person_body.as_bytes(),
            sent_at: NOW,
        },
        &w.thread_recipients(),
    )?;
    let reply = hazmat::seal_v1(
        &mut rng(301),
        Signer::Staff(&w.zlin1),
        Message {
            kind: Kind::StaffReply,
            mailbox: &mailbox,
            body: reply_body.as_bytes(),
            sent_at: NOW + 600,
        },
        &w.thread_recipients(),
    )?;
    let note = hazmat::seal_v1(
        &mut rng(302),
        Signer::Staff(&w.zlin1),
        Message {
            kind: Kind::StaffNote,
            mailbox: &mailbox,
            body: note_body.as_bytes(),
            sent_at: NOW + 660,
        },
        &w.zlin().staff_x25519(),
    )?;
    let long_text = "Ozvi. ".repeat(700);
    let long_body = json!({"text": long_text}).to_string();
    let long_msg = hazmat::seal_v1(
        &mut rng(303),
        Signer::Person(&w.person),
        Message {
            kind: Kind::PersonMessage,
            mailbox: &mailbox,
            body: long_body.as_bytes(),
            sent_at: NOW + 720,
        },
        &w.thread_recipients(),
    )?;

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
    let success = |kind: Kind, sender: &Value, body: &str, sent_at: u64| json!({"expect": "success", "kind": kind_name(kind), "sender": sender, "body": body, "sent_at": sent_at});
    let fail = |expect: &str| json!({"expect": expect});
    let zlin1_sender = json!({"staff": {"centre": "ic-zlin", "staff": "zlin-1"}});

    // Valid messages, each opened by the recipients it has.
    out.write(
        "envelope-person-message-read-by-staff",
        case(
            "a person's first message, opened by a staff member of her centre",
            &person_msg,
            zlin1_secret,
        )
        .json(success(
            Kind::PersonMessage,
            &person_sender,
            person_body,
            NOW,
        )),
    )?;
    out.write(
        "envelope-person-message-read-by-person",
        case(
            "a person's message, opened by herself on return",
            &person_msg,
            person_secret,
        )
        .json(success(
            Kind::PersonMessage,
            &person_sender,
            person_body,
            NOW,
        )),
    )?;
    out.write(
        "envelope-staff-reply-read-by-person",
        case(
            "a staff reply, opened and verified by the person",
            &reply,
            person_secret,
        )
        .json(success(
            Kind::StaffReply,
            &zlin1_sender,
            reply_body,
            NOW + 600,
        )),
    )?;
    out.write(
        "envelope-staff-reply-read-by-colleague",
        case(
            "a staff reply, opened by another staff member of the centre",
            &reply,
            zlin2_secret,
        )
        .json(success(
            Kind::StaffReply,
            &zlin1_sender,
            reply_body,
            NOW + 600,
        )),
    )?;
    out.write(
        "envelope-staff-note-read-by-staff",
        case(
            "staff-only metadata, opened by a colleague",
            &note,
            zlin2_secret,
        )
        .json(success(
            Kind::StaffNote,
            &zlin1_sender,
            note_body,
            NOW + 660,
        )),
    )?;
    out.write(
        "envelope-long-message-second-bucket",
        case(
            "a 4 KiB message, padded to the 4608-byte bucket",
            &long_msg,
            zlin1_secret,
        )
        .json(success(
            Kind::PersonMessage,
            &person_sender,
            &long_body,
            NOW + 720,
        )),
    )?;
    let mut expecting = case(
        "a person message, expected as a person message",
        &person_msg,
        zlin1_secret,
    );
    expecting.expect_kind = Some("person_message");
    out.write(
        "envelope-expected-kind",
        expecting.json(success(
            Kind::PersonMessage,
            &person_sender,
            person_body,
            NOW,
        )),
    )?;

    // Not a recipient.
    out.write(
        "envelope-staff-note-not-for-person",
        case(
            "staff-only metadata is not sealed to the person",
            &note,
            person_secret,
        )
        .json(fail("no_matching_key")),
    )?;
    out.write(
        "envelope-wrong-recipient",
        case(
            "a staff member of another centre is not a recipient",
            &person_msg,
            praha_secret,
        )
        .json(fail("no_matching_key")),
    )?;

    // Tampering: each changes one thing of a valid envelope.
    let stanza = |i: usize| 3 + i * 88;
    let flip = |bytes: &[u8], at: usize| {
        let mut b = bytes.to_vec();
        b[at] ^= 0x01;
        b
    };
    let len = person_msg.len();
    let nonce_at = stanza(3);
    let header_len = nonce_at + 24;
    out.write(
        "envelope-tampered-tag",
        case(
            "the last byte of the tag flipped",
            &flip(&person_msg, len - 1),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    out.write(
        "envelope-tampered-ciphertext",
        case(
            "one payload byte flipped",
            &flip(&person_msg, header_len + 100),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    out.write(
        "envelope-tampered-nonce",
        case(
            "one nonce byte flipped",
            &flip(&person_msg, nonce_at + 5),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    out.write(
        "envelope-tampered-wrapped-key",
        case(
            "the recipient's wrapped key changed",
            &flip(&person_msg, stanza(0) + 8 + 32 + 3),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    out.write(
        "envelope-tampered-other-stanza",
        case(
            "another recipient's stanza changed: the header is authenticated",
            &flip(&person_msg, stanza(2) + 8 + 32 + 3),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    out.write(
        "envelope-tampered-ephemeral",
        case(
            "the recipient's ephemeral key changed",
            &flip(&person_msg, stanza(0) + 8 + 1),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    let mut other_box = case("moved to another mailbox id", &person_msg, zlin1_secret);
    other_box.mailbox = MailboxId([0x5a; 16]);
    out.write(
        "envelope-moved-to-another-mailbox",
        other_box.json(fail("decryption_failed")),
    )?;
    let mut kind2 = person_msg.clone();
    kind2[1] = Kind::StaffReply.to_byte();
    out.write(
        "envelope-kind-changed",
        case(
            "the kind byte changed from person message to staff reply",
            &kind2,
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    let mut kind9 = person_msg.clone();
    kind9[1] = 9;
    out.write(
        "envelope-unknown-kind",
        case(
            "a kind byte the protocol does not define",
            &kind9,
            zlin1_secret,
        )
        .json(fail("malformed")),
    )?;
    let mut unexpected = case(
        "a person message where a staff reply was expected",
        &person_msg,
        zlin1_secret,
    );
    unexpected.expect_kind = Some("staff_reply");
    out.write(
        "envelope-unexpected-kind",
        unexpected.json(fail("unexpected_kind")),
    )?;

    // Shape.
    let mut v2 = person_msg.clone();
    v2[0] = 2;
    out.write(
        "envelope-v1-relabelled-v2",
        case(
            "a version 1 envelope relabelled as version 2: the payload's associated data differs",
            &v2,
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    let mut v3 = person_msg.clone();
    v3[0] = 3;
    out.write(
        "envelope-version-3",
        case("version 3 is not spoken", &v3, zlin1_secret).json(fail("unsupported_version")),
    )?;
    let mut v0 = person_msg.clone();
    v0[0] = 0;
    out.write(
        "envelope-version-0",
        case("version 0 does not exist", &v0, zlin1_secret).json(fail("unsupported_version")),
    )?;
    out.write(
        "envelope-empty",
        case("no bytes", &[], zlin1_secret).json(fail("malformed")),
    )?;
    out.write(
        "envelope-truncated-header",
        case("cut inside the stanzas", &person_msg[..150], zlin1_secret).json(fail("malformed")),
    )?;
    out.write(
        "envelope-truncated-payload",
        case("the tag cut off", &person_msg[..len - 16], zlin1_secret).json(fail("malformed")),
    )?;
    let mut trailing = person_msg.clone();
    trailing.push(0);
    out.write(
        "envelope-trailing-byte",
        case("one byte appended", &trailing, zlin1_secret).json(fail("malformed")),
    )?;
    let mut zero_count = person_msg.clone();
    zero_count[2] = 0;
    out.write(
        "envelope-no-stanzas",
        case("a stanza count of zero", &zero_count, zlin1_secret).json(fail("malformed")),
    )?;
    let mut many = person_msg.clone();
    many[2] = 33;
    out.write(
        "envelope-too-many-stanzas",
        case("a stanza count of 33", &many, zlin1_secret).json(fail("malformed")),
    )?;
    let mut dup = person_msg[..stanza(1)].to_vec();
    dup[2] += 1;
    dup.extend_from_slice(&person_msg[stanza(0)..stanza(1)]);
    dup.extend_from_slice(&person_msg[stanza(1)..]);
    out.write(
        "envelope-duplicate-stanza",
        case("the same recipient listed twice", &dup, zlin1_secret).json(fail("malformed")),
    )?;

    // Bad X25519 points in the recipient's stanza.
    let with_ephemeral = |point: [u8; 32]| {
        let mut b = person_msg.clone();
        b[stanza(0) + 8..stanza(0) + 40].copy_from_slice(&point);
        b
    };
    out.write(
        "envelope-ephemeral-all-zero",
        case(
            "an all-zero ephemeral key: the shared secret is zero",
            &with_ephemeral([0; 32]),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    // A point of order 8 (RFC 7748 test set; Bernstein's list of small-order points).
    let order8: [u8; 32] =
        hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
    out.write(
        "envelope-ephemeral-low-order",
        case(
            "an ephemeral key of order 8: the shared secret is zero",
            &with_ephemeral(order8),
            zlin1_secret,
        )
        .json(fail("decryption_failed")),
    )?;
    let mut high = [0u8; 32];
    high[0] = 9;
    high[31] = 0x80;
    out.write(
        "envelope-ephemeral-non-canonical",
        case(
            "an ephemeral key with the high bit set",
            &with_ephemeral(high),
            zlin1_secret,
        )
        .json(fail("malformed")),
    )?;

    // Text encoding.
    let text = b64::encode(&person_msg);
    let mut non_canonical = case(
        "base64url with non-zero trailing bits",
        &person_msg,
        zlin1_secret,
    );
    non_canonical.envelope = with_trailing_bits(&text);
    out.write(
        "envelope-base64-trailing-bits",
        non_canonical.json(fail("malformed")),
    )?;
    let mut padded = case(
        "base64url with padding characters",
        &person_msg,
        zlin1_secret,
    );
    padded.envelope = format!("{text}==");
    out.write("envelope-base64-padding", padded.json(fail("malformed")))?;
    let mut standard = case(
        "standard base64 alphabet instead of base64url",
        &person_msg,
        zlin1_secret,
    );
    standard.envelope = text.replace('-', "+").replace('_', "/");
    if standard.envelope != text {
        out.write(
            "envelope-base64-standard-alphabet",
            standard.json(fail("malformed")),
        )?;
    }

    // Plaintext structure, sealed validly around bad contents.
    let signed_frame = |key: &Ed25519Secret,
                        claimed: FrameSigner,
                        kind: Kind,
                        signed_mailbox: &MailboxId,
                        body: &str| {
        hazmat::signed_frame(
            key,
            claimed,
            kind,
            signed_mailbox,
            [7; 16],
            NOW,
            body.as_bytes(),
        )
        .to_bytes()
    };
    let person_claim = FrameSigner::Person {
        ed25519: w.person.public().ed25519,
        x25519: w.person.public().x25519,
    };
    let staff_claim = |keys: &StaffKeys| FrameSigner::Staff {
        ed25519: keys.public().ed25519,
    };
    let recipients = w.thread_recipients();
    let seal_raw = |seed: u64, kind: Kind, padded: &[u8]| {
        hazmat::seal_padded(&mut rng(seed), 1, kind, &mailbox, &recipients, padded)
            .expect("valid recipients")
    };
    let frame = signed_frame(
        &staff_secret(&w.zlin1),
        staff_claim(&w.zlin1),
        Kind::StaffReply,
        &mailbox,
        reply_body,
    );

    let unpadded = seal_raw(400, Kind::StaffReply, &frame);
    out.write(
        "envelope-unpadded",
        case(
            "a frame encrypted without padding: not a bucket size",
            &unpadded,
            person_secret,
        )
        .json(fail("malformed")),
    )?;
    let mut bad_pad = padding::pad(&frame).expect("fits");
    let last = bad_pad.len() - 1;
    bad_pad[last] = 1;
    out.write(
        "envelope-mispadded-nonzero",
        case(
            "a non-zero padding byte",
            &seal_raw(401, Kind::StaffReply, &bad_pad),
            person_secret,
        )
        .json(fail("invalid_message")),
    )?;
    let mut bad_len = padding::pad(&frame).expect("fits");
    bad_len[..4].copy_from_slice(&5000u32.to_be_bytes());
    out.write(
        "envelope-mispadded-length",
        case(
            "a padding length beyond the bucket",
            &seal_raw(402, Kind::StaffReply, &bad_len),
            person_secret,
        )
        .json(fail("invalid_message")),
    )?;
    let mut trailing_frame = frame.clone();
    trailing_frame.push(0x42);
    out.write(
        "envelope-frame-trailing-byte",
        case(
            "a byte after the signature",
            &seal_raw(
                403,
                Kind::StaffReply,
                &padding::pad(&trailing_frame).expect("fits"),
            ),
            person_secret,
        )
        .json(fail("invalid_message")),
    )?;

    let forged = signed_frame(
        &staff_secret(&w.outsider),
        staff_claim(&w.zlin1),
        Kind::StaffReply,
        &mailbox,
        reply_body,
    );
    out.write(
        "envelope-forged-staff-signature",
        case(
            "claims a listed staff key, signed by another key",
            &seal_raw(404, Kind::StaffReply, &padding::pad(&forged).expect("fits")),
            person_secret,
        )
        .json(fail("invalid_message")),
    )?;
    let outsider = signed_frame(
        &staff_secret(&w.outsider),
        staff_claim(&w.outsider),
        Kind::StaffReply,
        &mailbox,
        reply_body,
    );
    out.write(
        "envelope-unlisted-staff",
        case(
            "validly signed by a key the directory does not list",
            &seal_raw(
                405,
                Kind::StaffReply,
                &padding::pad(&outsider).expect("fits"),
            ),
            person_secret,
        )
        .json(fail("unauthorized_sender")),
    )?;
    let other_box = MailboxId([0x33; 16]);
    let elsewhere = signed_frame(
        &staff_secret(&w.zlin1),
        staff_claim(&w.zlin1),
        Kind::StaffReply,
        &other_box,
        reply_body,
    );
    out.write(
        "envelope-signature-for-another-mailbox",
        case(
            "a reply signed for another thread, sealed into this one",
            &seal_raw(
                406,
                Kind::StaffReply,
                &padding::pad(&elsewhere).expect("fits"),
            ),
            person_secret,
        )
        .json(fail("invalid_message")),
    )?;
    let as_note = signed_frame(
        &staff_secret(&w.zlin1),
        staff_claim(&w.zlin1),
        Kind::StaffNote,
        &mailbox,
        reply_body,
    );
    out.write(
        "envelope-signature-for-another-kind",
        case(
            "a frame signed as a staff note, sealed as a staff reply",
            &seal_raw(
                407,
                Kind::StaffReply,
                &padding::pad(&as_note).expect("fits"),
            ),
            person_secret,
        )
        .json(fail("invalid_message")),
    )?;
    let person_as_staff = signed_frame(
        &person_secret_key(w),
        person_claim,
        Kind::StaffReply,
        &mailbox,
        reply_body,
    );
    out.write(
        "envelope-person-role-in-staff-reply",
        case(
            "a person's frame in a staff reply",
            &seal_raw(
                408,
                Kind::StaffReply,
                &padding::pad(&person_as_staff).expect("fits"),
            ),
            person_secret,
        )
        .json(fail("invalid_message")),
    )?;

    // A genuine person key that does not own this mailbox.
    let stranger = PersonKeys::from_root(&[0x77; 32]);
    let stranger_frame = signed_frame(
        &stranger_secret(),
        FrameSigner::Person {
            ed25519: stranger.public().ed25519,
            x25519: stranger.public().x25519,
        },
        Kind::PersonMessage,
        &mailbox,
        person_body,
    );
    out.write(
        "envelope-person-not-mailbox-owner",
        case(
            "signed by a person whose keys do not derive this mailbox id",
            &seal_raw(
                409,
                Kind::PersonMessage,
                &padding::pad(&stranger_frame).expect("fits"),
            ),
            zlin1_secret,
        )
        .json(fail("unauthorized_sender")),
    )?;
    Ok(())
}
