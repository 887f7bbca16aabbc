//! Vectors that each isolate one reader rule at its boundary, added after
//! `cargo xtask mutants` showed one-rule relaxations of a reader passing
//! every other vector (crates/ozvi-crypto/MUTANTS.md). Unlike a vector that
//! changes one byte and lets any later check fail, each negative vector here
//! is otherwise fully consistent, so only the rule it names can refuse it;
//! each limit has a positive vector exactly at the limit beside it.

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::{Envelope, Kind, MAX_RECIPIENTS};
use ozvi_crypto::format::padding;
use ozvi_crypto::protocol::directory::{Directory, MAX_STAFF_PER_CENTRE, MAX_TEXT_CHARS};
use ozvi_crypto::protocol::labels;
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::{StaffKeys, StaffMember};
use serde_json::{Value, json};

use super::{Case, Format, Letter, NOW, World, Writer, fail, rng, success, zlin1_sender};

/// Writes every vector of this module.
pub fn vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    padding_vectors(out)?;
    envelope_vectors(w, out)?;
    directory_vectors(w, out)?;
    request_vectors(w, out)?;
    Ok(())
}

fn padding_vectors(out: &mut Writer) -> anyhow::Result<()> {
    let full = vec![0x4f; 1152 - 4];
    let padded = padding::pad(&full).expect("fits");
    out.write(
        "padding-fills-bucket",
        json!({"type": "padding", "description": "1148 bytes of data fill the 1152-byte bucket: no padding byte at all",
               "padded": b64::encode(&padded), "expect": "success", "data": b64::encode(&full)}),
    )?;
    let mut cancel = padding::pad(b"Ozvi").expect("fits");
    cancel[600] = 0x41;
    cancel[601] = 0x41;
    out.write(
        "padding-nonzero-bytes-that-cancel",
        json!({"type": "padding", "description": "two equal non-zero padding bytes (their XOR is zero)",
               "padded": b64::encode(&cancel), "expect": "malformed"}),
    )?;
    Ok(())
}

fn envelope_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let mailbox = w.mailbox();
    let zlin1_secret = *w.zlin1.x25519().to_bytes();
    let body = r#"{"text":"Jsme tu.","lang":"cs"}"#;
    // The Zlín thread's three recipients and 29 more: 32 in all.
    let mut recipients = w.thread_recipients();
    let mut extra = rng(900);
    while recipients.len() < MAX_RECIPIENTS {
        recipients.push(StaffKeys::generate(&mut extra).public().x25519);
    }
    let sealed = Letter::staff(&w.zlin1, Kind::StaffReply, body, NOW + 900).seal(
        Format::V2,
        901,
        &mailbox,
        &recipients,
    )?;
    let case = |description, bytes: &[u8]| Case::new(w, description, bytes, zlin1_secret);
    out.write(
        "envelope-thirty-two-recipients",
        case("a staff reply to 32 recipients, the most allowed", &sealed).json(success(
            Kind::StaffReply,
            &zlin1_sender(),
            body,
            NOW + 900,
        )),
    )?;

    let envelope = Envelope::parse(&sealed)?;
    let mut too_many = envelope.clone();
    let mut stanza = too_many.stanzas[31].clone();
    stanza.key_id = [0xee; 8];
    too_many.stanzas.push(stanza);
    out.write(
        "envelope-thirty-three-stanzas",
        case(
            "33 stanzas, counted correctly, with distinct key ids and a bucket-sized payload",
            &too_many.to_bytes(),
        )
        .json(fail("malformed")),
    )?;
    let mut none = envelope;
    none.stanzas.clear();
    out.write(
        "envelope-zero-stanzas",
        case(
            "no stanza, counted correctly (0), with a bucket-sized payload",
            &none.to_bytes(),
        )
        .json(fail("malformed")),
    )?;
    Ok(())
}

fn directory_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let root_key = b64::encode(&w.root.public().to_bytes());
    let signed = |d: &Directory| -> String {
        // Signed exactly as the operator's tool would, valid or not.
        let payload = serde_json::to_vec(&d.to_doc()).expect("serializable");
        let sig = w
            .root
            .sign(&[labels::DIRECTORY_SIGNATURE, &payload].concat());
        json!({"directory": b64::encode(&payload), "signature": b64::encode(&sig)}).to_string()
    };
    let mut write = |name: &str, description: &str, d: &Directory, ok: bool| {
        let mut v = json!({"type": "directory", "description": description, "signed": signed(d),
                           "root_key": root_key, "pinned": null,
                           "expect": if ok { "success" } else { "malformed" }});
        if ok {
            v["version"] = json!(d.version);
            v["centres"] = json!(d.centres.len());
        }
        out.write(name, v)
    };
    let base = &w.directory;
    let member = |id: String, keys: &StaffKeys| StaffMember {
        id,
        label: "Pracovnice".into(),
        keys: keys.public(),
    };
    let mut r = rng(910);
    let many: Vec<StaffKeys> = (0..=MAX_STAFF_PER_CENTRE)
        .map(|_| StaffKeys::generate(&mut r))
        .collect();
    let staffed = |n: usize| {
        let mut d = base.clone();
        d.centres[1].staff = many[..n]
            .iter()
            .enumerate()
            .map(|(i, k)| member(format!("praha-{i}"), k))
            .collect();
        d
    };
    write(
        "directory-thirty-one-staff",
        "a centre with 31 staff members, the most allowed",
        &staffed(MAX_STAFF_PER_CENTRE),
        true,
    )?;
    write(
        "directory-thirty-two-staff",
        "a centre with 32 staff members",
        &staffed(MAX_STAFF_PER_CENTRE + 1),
        false,
    )?;

    let longest = "ž".repeat(MAX_TEXT_CHARS);
    let mut d = base.clone();
    d.centres[0].names.cs = longest.clone();
    write(
        "directory-name-200-characters",
        "a name of 200 characters (400 bytes), the longest allowed",
        &d,
        true,
    )?;
    let mut d = base.clone();
    d.centres[0].names.cs = format!("{longest}ž");
    write(
        "directory-name-201-characters",
        "a name of 201 characters",
        &d,
        false,
    )?;
    let mut d = base.clone();
    d.centres[0].staff[0].label = "Pracovnice 1 ".into();
    write(
        "directory-label-trailing-space",
        "a staff label ending in a space",
        &d,
        false,
    )?;

    let mut d = base.clone();
    d.centres[0].staff[0].id = "z".repeat(32);
    write(
        "directory-id-32-characters",
        "a staff id of 32 characters, the longest allowed",
        &d,
        true,
    )?;
    let mut d = base.clone();
    d.centres[0].staff[0].id = "z".repeat(33);
    write(
        "directory-id-33-characters",
        "a staff id of 33 characters",
        &d,
        false,
    )?;
    let mut d = base.clone();
    d.centres[0].staff[0].id = "Zlin-1".into();
    write(
        "directory-id-upper-case",
        "a staff id with an upper-case letter",
        &d,
        false,
    )?;

    let mut d = base.clone();
    d.centres[1].regions.push("CZ-10".into());
    write(
        "directory-duplicate-region",
        "a centre lists the same region twice",
        &d,
        false,
    )?;
    let outsider = w.outsider.public();
    let mut d = base.clone();
    let mut m = member("zlin-3".into(), &w.outsider);
    m.keys.x25519 = w.praha1.public().x25519;
    d.centres[0].staff.push(m);
    write(
        "directory-duplicate-x25519",
        "two staff members (in two centres) with the same X25519 key",
        &d,
        false,
    )?;
    let mut d = base.clone();
    let mut m = member("zlin-3".into(), &w.outsider);
    m.keys.ed25519 = w.praha1.public().ed25519;
    d.centres[0].staff.push(m);
    write(
        "directory-duplicate-ed25519",
        "two staff members (in two centres) with the same Ed25519 key",
        &d,
        false,
    )?;
    let mut d = base.clone();
    d.centres[0].staff.push(StaffMember {
        id: "zlin-3".into(),
        label: "Pracovnice 3".into(),
        keys: outsider,
    });
    write(
        "directory-third-staff-member",
        "the same directory with a third, distinct Zlín staff member",
        &d,
        true,
    )?;
    Ok(())
}

fn request_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let body = br#"{"status":"closed"}"#;
    let salt = b64::encode(&w.directory.salt.0);
    let headers = |auth: &RequestAuth| {
        let h = auth.to_headers();
        json!({"key": h[0].1, "timestamp": h[1].1, "nonce": h[2].1, "signature": h[3].1})
    };
    let vector =
        |description: &str, method: &str, target: &str, h: Value, now: u64, expect: &str| {
            json!({"type": "staff_request", "description": description, "salt": salt,
               "method": method, "target": target, "body": b64::encode(body),
               "headers": h, "now": now, "expect": expect})
        };
    let target = "/api/v1/staff/threads/x/status";
    let auth = RequestAuth::sign(
        &mut rng(920),
        &w.zlin1,
        &w.directory.salt,
        "POST",
        target,
        body,
        NOW,
    )?;
    out.write(
        "request-method-lower-case",
        vector(
            "the method in lower case (methods are upper-case letters)",
            "post",
            target,
            headers(&auth),
            NOW,
            "malformed",
        ),
    )?;
    out.write(
        "request-target-relative",
        vector(
            "a target without the leading slash",
            "POST",
            &target[1..],
            headers(&auth),
            NOW,
            "malformed",
        ),
    )?;
    out.write(
        "request-target-with-space",
        vector(
            "a target with a space (targets are printable ASCII without spaces)",
            "POST",
            "/api/v1/staff/threads/x y/status",
            headers(&auth),
            NOW,
            "malformed",
        ),
    )?;
    let longest = format!("/{}", "a".repeat(2047));
    let auth = RequestAuth::sign(
        &mut rng(921),
        &w.zlin1,
        &w.directory.salt,
        "POST",
        &longest,
        body,
        NOW,
    )?;
    out.write(
        "request-target-2048-bytes",
        vector(
            "a target of 2048 bytes, the longest allowed",
            "POST",
            &longest,
            headers(&auth),
            NOW,
            "success",
        ),
    )?;
    let zero = RequestAuth::sign(
        &mut rng(922),
        &w.zlin1,
        &w.directory.salt,
        "GET",
        "/api/v1/staff/inbox",
        body,
        0,
    )?;
    out.write(
        "request-timestamp-zero",
        vector(
            "timestamp 0 is written \"0\" (the one decimal that starts with a zero)",
            "GET",
            "/api/v1/staff/inbox",
            headers(&zero),
            30,
            "success",
        ),
    )?;
    Ok(())
}
