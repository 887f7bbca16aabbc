//! `cargo xtask vectors`: writes `crates/ozvi-crypto/vectors/*.json`.
//!
//! Every scenario is built from fixed seeds, so running the generator again
//! writes the same bytes; the files are committed and read by
//! `crates/ozvi-crypto/tests/vectors.rs` natively and inside WebAssembly.
//! One scenario per file; `expect` names the outcome (PROTOCOL.md §8).
//! Negative scenarios are built by changing a valid one in exactly one way.

mod mutated;
mod strict;

use std::fs;
use std::path::Path;

use anyhow::Context;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::format::frame::FrameSigner;
use ozvi_crypto::format::padding;
use ozvi_crypto::hazmat;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::primitives::x25519::X25519Public;
use ozvi_crypto::protocol::directory::{Centre, Directory, Names, StaffMember};
use ozvi_crypto::protocol::envelope::{Message, Signer, rewrap, seal};
use ozvi_crypto::protocol::labels;
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::{Code, DeploymentSalt, MailboxId, PersonKeys, StaffKeys};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

/// A fixed moment: 2026-11-23 12:00:00 UTC.
const NOW: u64 = 1_795_435_200;

/// Generates every vector file into `out_dir`; returns how many were written.
pub fn generate(out_dir: &Path) -> anyhow::Result<usize> {
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for entry in fs::read_dir(out_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            fs::remove_file(&path)?;
        }
    }
    let world = World::new();
    let mut out = Writer {
        dir: out_dir,
        count: 0,
    };
    code_vectors(&mut out)?;
    derive_vectors(&mut out)?;
    envelope_vectors(&world, &mut out)?;
    envelope_v2_vectors(&world, &mut out)?;
    transfer_vectors(&world, &mut out)?;
    directory_vectors(&world, &mut out)?;
    padding_vectors(&mut out)?;
    request_vectors(&world, &mut out)?;
    strict::vectors(&world, &mut out)?;
    // Last: made from the files just written, without ozvi-crypto.
    out.count += mutated::write(out_dir)?;
    Ok(out.count)
}

struct Writer<'a> {
    dir: &'a Path,
    count: usize,
}

impl Writer<'_> {
    fn write(&mut self, name: &str, mut value: Value) -> anyhow::Result<()> {
        value["name"] = json!(name);
        let text = serde_json::to_string_pretty(&value)? + "\n";
        fs::write(self.dir.join(format!("{name}.json")), text)?;
        self.count += 1;
        Ok(())
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The cast: an operator root key, two centres, their staff, an outsider and
/// a person with her code.
struct World {
    root: Ed25519Secret,
    directory: Directory,
    signed: String,
    code: Code,
    person: PersonKeys,
    zlin1: StaffKeys,
    zlin2: StaffKeys,
    praha1: StaffKeys,
    outsider: StaffKeys,
}

impl World {
    fn new() -> Self {
        let mut r = rng(1);
        let root = Ed25519Secret::generate(&mut r);
        let zlin1 = StaffKeys::generate(&mut r);
        let zlin2 = StaffKeys::generate(&mut r);
        let praha1 = StaffKeys::generate(&mut r);
        let outsider = StaffKeys::generate(&mut r);
        let salt = DeploymentSalt::generate(&mut r);
        let code = Code::generate(&mut r);
        let person = PersonKeys::derive(&code, &salt);
        let member = |id: &str, label: &str, keys: &StaffKeys| StaffMember {
            id: id.into(),
            label: label.into(),
            keys: keys.public(),
        };
        let directory = Directory {
            version: 5,
            issued_at: NOW,
            salt,
            default_centre: "ic-praha".into(),
            centres: vec![
                Centre {
                    id: "ic-zlin".into(),
                    names: Names {
                        cs: "Intervenční centrum Zlínského kraje".into(),
                        en: "Intervention Centre of the Zlín Region".into(),
                        uk: "Інтервенційний центр Злінського краю".into(),
                    },
                    regions: vec!["CZ-72".into()],
                    staff: vec![
                        member("zlin-1", "Pracovnice 1", &zlin1),
                        member("zlin-2", "Pracovník 2", &zlin2),
                    ],
                },
                Centre {
                    id: "ic-praha".into(),
                    names: Names {
                        cs: "Intervenční centrum Praha".into(),
                        en: "Intervention Centre Prague".into(),
                        uk: "Інтервенційний центр Прага".into(),
                    },
                    regions: vec!["CZ-10".into(), "CZ-20".into()],
                    staff: vec![member("praha-1", "Pracovnice 1", &praha1)],
                },
            ],
        };
        let signed = directory
            .sign(&root)
            .expect("the sample directory is valid")
            .to_json();
        Self {
            root,
            directory,
            signed,
            code,
            person,
            zlin1,
            zlin2,
            praha1,
            outsider,
        }
    }

    fn zlin(&self) -> &Centre {
        self.directory.centre("ic-zlin").expect("listed")
    }

    /// Recipients of a Zlín thread: the centre's staff and the person.
    fn thread_recipients(&self) -> Vec<X25519Public> {
        let mut r = self.zlin().staff_x25519();
        r.push(self.person.public().x25519);
        r
    }

    fn mailbox(&self) -> MailboxId {
        self.person.mailbox_id()
    }
}

// ---------------------------------------------------------------- codes

fn code_vectors(out: &mut Writer) -> anyhow::Result<()> {
    // A code with both a 0 and a 1 in it, to show the look-alike readings.
    let code = (0..)
        .map(|seed| Code::generate(&mut rng(100 + seed)))
        .find(|c| c.canonical().contains('0') && c.canonical().contains('1'))
        .expect("such a code turns up quickly");
    let canonical = code.canonical().to_string();
    let grouped = code.grouped().to_string();
    let ok = |input: &str, description: &str| {
        json!({"type": "code", "description": description, "input": input,
               "expect": "success", "canonical": canonical, "grouped": grouped})
    };
    let bad = |input: &str, description: &str, expect: &str| json!({"type": "code", "description": description, "input": input, "expect": expect});
    out.write(
        "code-canonical",
        ok(&canonical, "the canonical form parses"),
    )?;
    out.write("code-grouped", ok(&grouped, "the displayed form parses"))?;
    let casual = grouped.replace('-', " ").to_lowercase();
    out.write(
        "code-lowercase-spaces",
        ok(&casual, "lower case with spaces"),
    )?;
    let lookalike = canonical.replacen('0', "o", 1).replacen('1', "l", 1);
    out.write(
        "code-lookalikes",
        ok(&lookalike, "o is read as 0 and l as 1"),
    )?;
    let dashes = grouped.replace('-', "\u{2013}");
    out.write(
        "code-en-dashes",
        ok(&dashes, "en dashes from a phone keyboard"),
    )?;

    let mut typo: Vec<char> = canonical.chars().collect();
    typo[4] = if typo[4] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    out.write(
        "code-typo",
        bad(&typo, "one character mistyped", "check_failed"),
    )?;
    let mut swapped: Vec<char> = canonical.chars().collect();
    let i = (0..17)
        .find(|&i| swapped[i] != swapped[i + 1])
        .expect("not all equal");
    swapped.swap(i, i + 1);
    let swapped: String = swapped.into_iter().collect();
    out.write(
        "code-swapped-neighbours",
        bad(&swapped, "two neighbours swapped", "check_failed"),
    )?;
    let mut check: Vec<char> = canonical.chars().collect();
    check[17] = if check[17] == 'Z' { 'Y' } else { 'Z' };
    let check: String = check.into_iter().collect();
    out.write(
        "code-bad-check-symbol",
        bad(&check, "the check symbol is wrong", "check_failed"),
    )?;
    out.write(
        "code-too-short",
        bad(&canonical[..17], "one character missing", "wrong_length"),
    )?;
    out.write(
        "code-too-long",
        bad(
            &format!("{canonical}0"),
            "one character extra",
            "wrong_length",
        ),
    )?;
    out.write("code-empty", bad("", "nothing typed", "wrong_length"))?;
    let with_u = format!("U{}", &canonical[1..]);
    out.write(
        "code-letter-u",
        bad(&with_u, "U is not in the alphabet", "invalid_character"),
    )?;
    let with_accent = format!("{}Č{}", &canonical[..5], &canonical[6..]);
    out.write(
        "code-non-ascii",
        bad(&with_accent, "a Czech letter", "invalid_character"),
    )?;
    Ok(())
}

fn derive_vectors(out: &mut Writer) -> anyhow::Result<()> {
    for seed in [200u64, 201] {
        let mut r = rng(seed);
        let salt = DeploymentSalt::generate(&mut r);
        let code = Code::generate(&mut r);
        let keys = PersonKeys::derive(&code, &salt);
        out.write(
            &format!("derive-{}", seed - 199),
            json!({
                "type": "derive",
                "description": "Argon2id and HKDF from a code and a deployment salt (§3)",
                "code": code.grouped().to_string(),
                "salt": b64::encode(&salt.0),
                "expect": "success",
                "mailbox_id": keys.mailbox_id().to_b64(),
                "auth_verifier": b64::encode(&keys.auth_secret().verifier().0),
                "person_x25519": b64::encode(keys.public().x25519.as_bytes()),
                "person_ed25519": b64::encode(&keys.public().ed25519.to_bytes()),
            }),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------- envelopes

/// One envelope scenario: what to open, with which key, and the outcome.
struct Case<'a> {
    world: &'a World,
    description: &'a str,
    envelope: String,
    mailbox: MailboxId,
    recipient: [u8; 32],
    expect_kind: Option<&'a str>,
}

impl Case<'_> {
    fn json(&self, expect: Value) -> Value {
        let mut v = json!({
            "type": "envelope",
            "description": self.description,
            "directory": self.world.signed,
            "root_key": b64::encode(&self.world.root.public().to_bytes()),
            "mailbox_id": self.mailbox.to_b64(),
            "recipient_x25519_secret": b64::encode(&self.recipient),
            "envelope": self.envelope,
        });
        if let Some(kind) = self.expect_kind {
            v["expect_kind"] = json!(kind);
        }
        for (k, val) in expect.as_object().expect("an object").iter() {
            v[k] = val.clone();
        }
        v
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::PersonMessage => "person_message",
        Kind::StaffReply => "staff_reply",
        Kind::StaffNote => "staff_note",
        _ => "unknown",
    }
}

fn envelope_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
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

/// The thread the format-2 and transfer vectors use: a person message, a
/// reply by zlin-1 and a second person message, all in envelope format 2.
struct Thread2 {
    person_body: &'static str,
    messages: Vec<Vec<u8>>,
}

fn thread2(w: &World) -> anyhow::Result<Thread2> {
    let person_body = r#"{"text":"Potřebuji pomoc. Manžel mi vyhrožuje.","lang":"cs"}"#;
    fn seal_as(
        w: &World,
        seed: u64,
        signer: Signer<'_>,
        kind: Kind,
        body: &str,
        at: u64,
    ) -> Result<Vec<u8>, ozvi_crypto::SealError> {
        seal(
            &mut rng(seed),
            signer,
            Message {
                kind,
                mailbox: &w.mailbox(),
                body: body.as_bytes(),
                sent_at: at,
            },
            &w.thread_recipients(),
        )
    }
    let messages = vec![
        seal_as(
            w,
            500,
            Signer::Person(&w.person),
            Kind::PersonMessage,
            person_body,
            NOW,
        )?,
        seal_as(
            w,
            501,
            Signer::Staff(&w.zlin1),
            Kind::StaffReply,
            r#"{"text":"Jsme tu pro vás.","lang":"cs"}"#,
            NOW + 600,
        )?,
        seal_as(
            w,
            502,
            Signer::Person(&w.person),
            Kind::PersonMessage,
            r#"{"text":"Děkuji, ozvu se večer."}"#,
            NOW + 1200,
        )?,
    ];
    Ok(Thread2 {
        person_body,
        messages,
    })
}

/// zlin-1 re-wraps a message of the thread for Prague, as a transfer does.
fn rewrap_for_praha(w: &World, seed: u64, bytes: &[u8]) -> Vec<u8> {
    let praha = w
        .directory
        .centre("ic-praha")
        .expect("listed")
        .staff_x25519();
    rewrap(
        &mut rng(seed),
        bytes,
        &w.mailbox(),
        w.zlin1.x25519(),
        &w.directory,
        Some(&w.person.public().x25519),
        &praha,
    )
    .expect("a genuine message re-wraps")
}

fn envelope_v2_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
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

/// `transfer` vectors (PROTOCOL.md §4.8): the relay's check of a transfer,
/// `protocol::transfer::check_thread`. The generator also runs the check, so
/// a vector cannot claim an outcome the reference does not give.
fn transfer_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
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
    let own_reply = seal(
        &mut rng(540),
        Signer::Staff(&w.zlin2),
        Message {
            kind: Kind::StaffReply,
            mailbox: &mailbox,
            body: r#"{"text":"Jiná odpověď."}"#.as_bytes(),
            sent_at: NOW + 600,
        },
        &forged_recipients,
    )?;
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
    let elsewhere = seal(
        &mut rng(543),
        Signer::Person(&stranger),
        Message {
            kind: Kind::PersonMessage,
            mailbox: &stranger.mailbox_id(),
            body: r#"{"text":"Cizí zpráva."}"#.as_bytes(),
            sent_at: NOW,
        },
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
    let legacy_first = hazmat::seal_v1(
        &mut rng(560),
        Signer::Person(&w.person),
        Message {
            kind: Kind::PersonMessage,
            mailbox: &mailbox,
            body: t.person_body.as_bytes(),
            sent_at: NOW,
        },
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

/// The Ed25519 secret a staff member signs with, rebuilt from her stored seed
/// (the hazmat constructors take the primitive key).
fn staff_secret(keys: &StaffKeys) -> Ed25519Secret {
    Ed25519Secret::from_seed(&keys.to_bytes().1)
}

/// The person's Ed25519 key, re-derived from the code as §3.2 says.
fn person_secret_key(w: &World) -> Ed25519Secret {
    // Re-running the derivation through the public API keeps this honest.
    let salt = w.directory.salt;
    let root = ozvi_crypto::primitives::kdf::argon2id(
        ozvi_crypto::primitives::kdf::ARGON2_V1,
        w.code.canonical().as_bytes(),
        &salt.0,
    );
    hkdf_seed(&root, labels::PERSON_ED25519)
}

fn stranger_secret() -> Ed25519Secret {
    hkdf_seed(&[0x77; 32], labels::PERSON_ED25519)
}

fn hkdf_seed(root: &[u8; 32], label: &[u8]) -> Ed25519Secret {
    let mut seed = [0u8; 32];
    ozvi_crypto::primitives::kdf::hkdf_sha256(&[], root, label, &mut seed);
    Ed25519Secret::from_seed(&seed)
}

fn hex32(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("valid hex constant");
    }
    out
}

/// The same bytes with the unused low bits of the last character set: a
/// decoder that ignores them would accept two texts for one value.
fn with_trailing_bits(text: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = text.chars().last().expect("non-empty");
    let value = ALPHABET.find(last).expect("base64url character");
    let unused_bits = match text.len() % 4 {
        2 => 4,
        3 => 2,
        _ => panic!("choose bytes whose length leaves trailing bits"),
    };
    let changed = value | ((1 << unused_bits) - 1);
    let mut out = text[..text.len() - 1].to_string();
    out.push(ALPHABET.as_bytes()[changed] as char);
    out
}

// ---------------------------------------------------------------- directory

fn directory_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let root_key = b64::encode(&w.root.public().to_bytes());
    let vector = |description: &str, signed: &str, pinned: Option<&str>, expect: &str| {
        let mut v = json!({"type": "directory", "description": description, "signed": signed,
                           "root_key": root_key, "pinned": pinned, "expect": expect});
        if expect == "success" {
            let json: Value = serde_json::from_str(signed).expect("valid JSON");
            let payload =
                b64::decode(json["directory"].as_str().expect("a string")).expect("canonical");
            let doc: Value = serde_json::from_slice(&payload).expect("valid JSON");
            v["version"] = doc["version"].clone();
            v["centres"] = json!(doc["centres"].as_array().map_or(0, Vec::len));
        }
        v
    };
    let sign = |d: &Directory| d.sign(&w.root).expect("valid").to_json();
    // Signs any payload, valid or not, exactly as the operator's tool would.
    let sign_raw = |payload: &Value| {
        let bytes = serde_json::to_vec(payload).expect("serializable");
        let sig = w.root.sign(&[labels::DIRECTORY_SIGNATURE, &bytes].concat());
        json!({"directory": b64::encode(&bytes), "signature": b64::encode(&sig)}).to_string()
    };
    let doc = serde_json::to_value(w.directory.to_doc())?;

    out.write(
        "directory-valid",
        vector("the sample directory", &w.signed, None, "success"),
    )?;
    let mut newer = w.directory.clone();
    newer.version = 6;
    newer.centres[0].staff.pop();
    out.write(
        "directory-newer-version",
        vector(
            "a newer version replaces the pinned one (a staff member removed)",
            &sign(&newer),
            Some(&w.signed),
            "success",
        ),
    )?;
    out.write(
        "directory-same-version-again",
        vector(
            "the same document again",
            &w.signed,
            Some(&w.signed),
            "success",
        ),
    )?;
    let mut older = w.directory.clone();
    older.version = 4;
    out.write(
        "directory-older-version",
        vector(
            "an older version than the pinned one",
            &sign(&older),
            Some(&w.signed),
            "rollback",
        ),
    )?;
    let mut same_version = w.directory.clone();
    same_version.issued_at += 1;
    out.write(
        "directory-same-version-other-content",
        vector(
            "the pinned version number with other content",
            &sign(&same_version),
            Some(&w.signed),
            "rollback",
        ),
    )?;
    let mut other_salt = w.directory.clone();
    other_salt.version = 6;
    other_salt.salt = DeploymentSalt([9; 16]);
    out.write(
        "directory-salt-changed",
        vector(
            "a newer version with another deployment salt",
            &sign(&other_salt),
            Some(&w.signed),
            "wrong_deployment",
        ),
    )?;

    let signed: Value = serde_json::from_str(&w.signed)?;
    let mut sig = b64::decode(signed["signature"].as_str().expect("a string"))?;
    sig[10] ^= 1;
    let bad_sig =
        json!({"directory": signed["directory"], "signature": b64::encode(&sig)}).to_string();
    out.write(
        "directory-bad-signature",
        vector(
            "one signature byte flipped",
            &bad_sig,
            None,
            "bad_signature",
        ),
    )?;
    let mut payload = b64::decode(signed["directory"].as_str().expect("a string"))?;
    let at = payload
        .iter()
        .position(|&b| b == b'5')
        .expect("version 5 appears");
    payload[at] = b'9';
    let changed =
        json!({"directory": b64::encode(&payload), "signature": signed["signature"]}).to_string();
    out.write(
        "directory-changed-after-signing",
        vector(
            "the version changed after signing",
            &changed,
            None,
            "bad_signature",
        ),
    )?;
    let impostor = Ed25519Secret::from_seed(&[0x66; 32]);
    let other_root = w.directory.sign(&impostor).expect("valid").to_json();
    out.write(
        "directory-other-root-key",
        vector(
            "signed by a key other than the pinned root",
            &other_root,
            None,
            "bad_signature",
        ),
    )?;
    let nc = json!({"directory": signed["directory"],
                    "signature": with_trailing_bits(signed["signature"].as_str().expect("a string"))}).to_string();
    out.write(
        "directory-base64-trailing-bits",
        vector(
            "the signature in non-canonical base64url",
            &nc,
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-not-json",
        vector("not JSON", "directory", None, "malformed"),
    )?;

    let edit = |f: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        f(&mut d);
        sign_raw(&d)
    };
    out.write(
        "directory-format-2",
        vector(
            "a format this implementation does not read",
            &edit(&|d| d["format"] = json!(2)),
            None,
            "unsupported_version",
        ),
    )?;
    out.write(
        "directory-version-0",
        vector(
            "version 0",
            &edit(&|d| d["version"] = json!(0)),
            None,
            "malformed",
        ),
    )?;
    // Strict JSON (§1.3): a member name twice is malformed at every level,
    // whichever copy a lax parser would keep.
    let sign_text = |payload: &str| {
        let sig = w
            .root
            .sign(&[labels::DIRECTORY_SIGNATURE, payload.as_bytes()].concat());
        json!({"directory": b64::encode(payload.as_bytes()), "signature": b64::encode(&sig)})
            .to_string()
    };
    let text = serde_json::to_string(&doc)?;
    let once = |from: &str, to: &str| {
        assert!(text.contains(from), "{from} appears");
        text.replacen(from, to, 1)
    };
    let outsider = json!({"id": "intruder", "label": "Vetřelec",
        "x25519": b64::encode(w.outsider.public().x25519.as_bytes()),
        "ed25519": b64::encode(&w.outsider.public().ed25519.to_bytes())});
    let at_end = |extra: &str| {
        let body = text.strip_suffix('}').expect("an object");
        format!("{body},{extra}}}")
    };
    // `doc` is a serde_json::Value: its members are in name order, so a
    // staff entry ends with `x25519`.
    let zlin1_x = b64::encode(w.zlin1.public().x25519.as_bytes());
    // Each repeated member comes last, where a parser that keeps the last
    // copy would take it: a different version, an outsider on Zlín's staff,
    // another name, another key.
    let duplicates = [
        (
            "directory-duplicate-member-top-level",
            "`version` twice at the top level",
            at_end("\"version\":9"),
        ),
        (
            "directory-duplicate-member-escaped",
            "`version` twice, the second written with an escape",
            at_end("\"\\u0076ersion\":9"),
        ),
        (
            "directory-duplicate-member-second-staff-list",
            "a centre with a second `staff` list naming an outsider",
            once(
                "]},{\"id\":\"ic-praha\"",
                &format!("],\"staff\":[{outsider}]}},{{\"id\":\"ic-praha\""),
            ),
        ),
        (
            "directory-duplicate-member-names",
            "a centre's `cs` name twice",
            once(
                "\"uk\":\"Інтервенційний центр Злінського краю\"}",
                "\"uk\":\"Інтервенційний центр Злінського краю\",\"cs\":\"Jiné jméno\"}",
            ),
        ),
        (
            "directory-duplicate-member-staff-key",
            "a staff entry's `x25519` key twice",
            once(
                &format!("\"x25519\":\"{zlin1_x}\"}}"),
                &format!(
                    "\"x25519\":\"{zlin1_x}\",\"x25519\":\"{}\"}}",
                    b64::encode(w.outsider.public().x25519.as_bytes())
                ),
            ),
        ),
    ];
    for (name, description, payload) in duplicates {
        anyhow::ensure!(
            serde_json::from_str::<Value>(&payload).is_ok(),
            "{name}: a lax parser reads it"
        );
        out.write(
            name,
            vector(description, &sign_text(&payload), None, "malformed"),
        )?;
    }
    let good_sig = signed["signature"].as_str().expect("a string");
    let twice_signed = format!(
        "{{\"directory\":\"{}\",\"signature\":\"{}\",\"signature\":\"{good_sig}\"}}",
        signed["directory"].as_str().expect("a string"),
        b64::encode(&[0u8; 64]),
    );
    out.write(
        "directory-duplicate-member-signed-form",
        vector(
            "the served form with `signature` twice, the valid one last",
            &twice_signed,
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-unknown-field",
        vector(
            "an unknown field",
            &edit(&|d| d["extra"] = json!(true)),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-unknown-region",
        vector(
            "a region code that does not exist",
            &edit(&|d| d["centres"][0]["regions"][0] = json!("CZ-99")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-duplicate-staff-id",
        vector(
            "two staff members with one id",
            &edit(&|d| d["centres"][0]["staff"][1]["id"] = json!("zlin-1")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-duplicate-centre-id",
        vector(
            "two centres with one id",
            &edit(&|d| d["centres"][1]["id"] = json!("ic-zlin")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-missing-default-centre",
        vector(
            "the default centre is not listed",
            &edit(&|d| d["default_centre"] = json!("ic-brno")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-no-staff",
        vector(
            "a centre without staff",
            &edit(&|d| d["centres"][1]["staff"] = json!([])),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-low-order-x25519",
        vector(
            "a staff X25519 key that is the all-zero point",
            &edit(&|d| d["centres"][0]["staff"][0]["x25519"] = json!(b64::encode(&[0; 32]))),
            None,
            "malformed",
        ),
    )?;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    out.write(
        "directory-weak-ed25519",
        vector(
            "a staff Ed25519 key that is the identity point",
            &edit(&|d| d["centres"][0]["staff"][0]["ed25519"] = json!(b64::encode(&identity))),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-short-salt",
        vector(
            "a salt of 8 bytes",
            &edit(&|d| d["salt"] = json!(b64::encode(&[1; 8]))),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-bidi-override-in-name",
        vector(
            "a right-to-left override in a name",
            &edit(&|d| d["centres"][0]["names"]["en"] = json!("Centre \u{202E}nilZ")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-format-2-new-fields",
        vector(
            "a future format with fields this one does not know",
            &edit(&|d| {
                d["format"] = json!(2);
                d["revocations"] = json!([]);
            }),
            None,
            "unsupported_version",
        ),
    )?;
    out.write(
        "directory-blank-name",
        vector(
            "an empty Ukrainian name",
            &edit(&|d| d["centres"][0]["names"]["uk"] = json!("")),
            None,
            "malformed",
        ),
    )?;
    Ok(())
}

// ---------------------------------------------------------------- padding

fn padding_vectors(out: &mut Writer) -> anyhow::Result<()> {
    let data = b"Ozvi";
    let padded = padding::pad(data).expect("fits");
    let vector = |description: &str, padded: &[u8], expect: &str| {
        let mut v = json!({"type": "padding", "description": description, "padded": b64::encode(padded), "expect": expect});
        if expect == "success" {
            v["data"] = json!(b64::encode(data));
        }
        v
    };
    out.write(
        "padding-valid",
        vector("four bytes in the smallest bucket", &padded, "success"),
    )?;
    out.write(
        "padding-not-a-bucket",
        vector("1024 bytes is not a bucket", &padded[..1024], "malformed"),
    )?;
    let mut nonzero = padded.clone();
    nonzero[1151] = 0x80;
    out.write(
        "padding-nonzero-byte",
        vector("the last padding byte is not zero", &nonzero, "malformed"),
    )?;
    let mut long = padded.clone();
    long[..4].copy_from_slice(&1149u32.to_be_bytes());
    out.write(
        "padding-length-beyond-bucket",
        vector(
            "a length prefix larger than the bucket allows",
            &long,
            "malformed",
        ),
    )?;
    Ok(())
}

// ---------------------------------------------------------------- staff requests

fn request_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let body = br#"{"text":"..."}"#;
    let target = "/api/v1/staff/threads?since=0";
    let auth = RequestAuth::sign(
        &mut rng(500),
        &w.zlin1,
        &w.directory.salt,
        "POST",
        target,
        body,
        NOW,
    )?;
    let headers = auth.to_headers();
    let header_map = |h: &[(&str, String); 4]| json!({"key": h[0].1, "timestamp": h[1].1, "nonce": h[2].1, "signature": h[3].1});
    let vector = |description: &str,
                  method: &str,
                  target: &str,
                  body: &[u8],
                  h: Value,
                  now: u64,
                  expect: &str| {
        json!({"type": "staff_request", "description": description, "salt": b64::encode(&w.directory.salt.0), "method": method, "target": target,
               "body": b64::encode(body), "headers": h, "now": now, "expect": expect})
    };
    out.write(
        "request-valid",
        vector(
            "a signed staff request",
            "POST",
            target,
            body,
            header_map(&headers),
            NOW + 5,
            "success",
        ),
    )?;
    out.write(
        "request-edge-of-window",
        vector(
            "60 s late is still accepted",
            "POST",
            target,
            body,
            header_map(&headers),
            NOW + 60,
            "success",
        ),
    )?;
    out.write(
        "request-stale",
        vector(
            "61 s late",
            "POST",
            target,
            body,
            header_map(&headers),
            NOW + 61,
            "stale",
        ),
    )?;
    out.write(
        "request-from-the-future",
        vector(
            "61 s early",
            "POST",
            target,
            body,
            header_map(&headers),
            NOW - 61,
            "stale",
        ),
    )?;
    out.write(
        "request-other-body",
        vector(
            "the body changed",
            "POST",
            target,
            br#"{"text":"!!!"}"#,
            header_map(&headers),
            NOW,
            "bad_signature",
        ),
    )?;
    out.write(
        "request-other-target",
        vector(
            "the query changed",
            "POST",
            "/api/v1/staff/threads?since=1",
            body,
            header_map(&headers),
            NOW,
            "bad_signature",
        ),
    )?;
    let mut other_deployment = vector(
        "signed for another deployment",
        "POST",
        target,
        body,
        header_map(&headers),
        NOW,
        "bad_signature",
    );
    other_deployment["salt"] = json!(b64::encode(&[0x44; 16]));
    out.write("request-other-deployment", other_deployment)?;
    out.write(
        "request-other-method",
        vector(
            "the method changed",
            "PUT",
            target,
            body,
            header_map(&headers),
            NOW,
            "bad_signature",
        ),
    )?;
    let mut h = header_map(&headers);
    h["timestamp"] = json!(format!("0{}", NOW));
    out.write(
        "request-timestamp-leading-zero",
        vector(
            "a timestamp with a leading zero",
            "POST",
            target,
            body,
            h,
            NOW,
            "malformed",
        ),
    )?;
    let mut h = header_map(&headers);
    h["nonce"] = json!(with_trailing_bits(&headers[2].1));
    out.write(
        "request-nonce-non-canonical",
        vector(
            "the nonce in non-canonical base64url",
            "POST",
            target,
            body,
            h,
            NOW,
            "malformed",
        ),
    )?;
    Ok(())
}
