//! Runs every file in `vectors/` (PROTOCOL.md §8) against this crate —
//! natively under `cargo test`, and inside WebAssembly under
//! `wasm-bindgen-test-runner` (Node), from the same embedded files.

use include_dir::{Dir, include_dir};
use ozvi_crypto::format::b64;
use ozvi_crypto::format::padding;
use ozvi_crypto::primitives::sig::Ed25519Public;
use ozvi_crypto::primitives::x25519::X25519Secret;
use ozvi_crypto::protocol::envelope::{Sender, open, open_expecting};
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::protocol::transfer::check_thread;
use ozvi_crypto::{
    Code, CodeError, DeploymentSalt, DirectoryError, Kind, MailboxId, OpenError, PersonKeys,
    RequestError, RewrapError, SignedDirectory,
};
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

static VECTORS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/vectors");

/// The outcome of one scenario: "success" or an error class name.
type Outcome = Result<Option<Value>, &'static str>;

#[test]
fn every_vector_file_holds() {
    let mut failures = Vec::new();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for file in VECTORS.files() {
        if file.path().extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = file.path().display().to_string();
        let v: Value = serde_json::from_slice(file.contents()).expect("vector files are JSON");
        let kind = v["type"]
            .as_str()
            .expect("every vector has a type")
            .to_string();
        let expect = v["expect"]
            .as_str()
            .expect("every vector has an expect field");
        if kind == "mutations" {
            // Made without ozvi-crypto from the valid vectors
            // (xtask/src/vectors/mutated.rs): every case must be refused.
            let of = text(&v, "of");
            let cases = v["cases"].as_array().expect("cases");
            assert!(!cases.is_empty(), "{name}: no cases");
            for case in cases {
                let case = mutated(case);
                if let Ok(got) = run(of, &case) {
                    failures.push(format!(
                        "{name}: {} was accepted: {got:?}",
                        text(&case, "mutation")
                    ));
                }
            }
            *counts.entry(format!("{of}/mutated")).or_default() += cases.len();
            continue;
        }
        let outcome = run(&kind, &v);
        let ok = match (&outcome, expect) {
            (Ok(None), "success") => true,
            (Ok(Some(got)), "success") => check_fields(&v, got, &mut failures, &name),
            (Err(class), expected) => *class == expected,
            (Ok(_), _) => false,
        };
        if !ok {
            failures.push(format!("{name}: expected {expect}, got {outcome:?}"));
        }
        *counts
            .entry(format!(
                "{kind}/{}",
                if expect == "success" {
                    "valid"
                } else {
                    "invalid"
                }
            ))
            .or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "vector failures:\n{}",
        failures.join("\n")
    );
    let total: usize = counts.values().sum();
    assert!(
        total >= 40,
        "expected at least 40 vectors, found {total}: {counts:?}"
    );
    for kind in [
        "code",
        "derive",
        "envelope",
        "directory",
        "padding",
        "staff_request",
        "transfer",
        "file",
    ] {
        assert!(
            counts.keys().any(|k| k.starts_with(kind)),
            "no {kind} vectors: {counts:?}"
        );
    }
}

/// The valid vector a mutation names, with the mutation applied
/// (xtask/src/vectors/mutated.rs says what each `op` means).
fn mutated(case: &Value) -> Value {
    let base = text(case, "base");
    let file = VECTORS
        .get_file(format!("{base}.json"))
        .unwrap_or_else(|| panic!("no vector {base}"));
    let mut v: Value = serde_json::from_slice(file.contents()).expect("JSON");
    let path: Vec<&str> = case["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|p| p.as_str().expect("a member name"))
        .collect();
    let mut field = &mut v;
    for member in &path {
        field = &mut field[*member];
    }
    let op = &case["op"];
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        // base64url without ozvi-crypto's reader, as the generator did.
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut bytes = engine
            .decode(field.as_str().expect("a base64url field"))
            .expect("base64url");
        f(&mut bytes);
        engine.encode(bytes)
    };
    let new = if let Some(set) = op["set"].as_str() {
        set.to_string()
    } else if let Some(flip) = op["flip_bit"].as_array() {
        let at = flip[0].as_u64().expect("byte") as usize;
        let bit = flip[1].as_u64().expect("bit");
        edit(&|b| b[at] ^= 1 << bit)
    } else if let Some(n) = op["truncate"].as_u64() {
        edit(&|b| b.truncate(b.len() - n as usize))
    } else if let Some(extra) = op["append"].as_array() {
        let extra: Vec<u8> = extra
            .iter()
            .map(|x| x.as_u64().expect("byte") as u8)
            .collect();
        edit(&|b| b.extend_from_slice(&extra))
    } else {
        panic!("unknown mutation {op}")
    };
    *field = Value::String(new);
    v["mutation"] = case["mutation"].clone();
    v
}

/// Runs one vector of `kind`.
fn run(kind: &str, v: &Value) -> Outcome {
    match kind {
        "code" => run_code(v),
        "derive" => run_derive(v),
        "envelope" => run_envelope(v),
        "directory" => run_directory(v),
        "padding" => run_padding(v),
        "staff_request" => run_request(v),
        "transfer" => run_transfer(v),
        "file" => run_file(v),
        other => panic!("unknown vector type {other}"),
    }
}

/// Every field of `got` must equal the same field of the vector.
fn check_fields(v: &Value, got: &Value, failures: &mut Vec<String>, name: &str) -> bool {
    let mut ok = true;
    for (key, value) in got.as_object().expect("an object") {
        if v[key] != *value {
            failures.push(format!(
                "{name}: field {key}: expected {}, got {value}",
                v[key]
            ));
            ok = false;
        }
    }
    ok
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} is a string"))
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    b64::decode(text(v, key)).unwrap_or_else(|_| panic!("vector field {key} is base64url"))
}

fn run_code(v: &Value) -> Outcome {
    match Code::parse(text(v, "input")) {
        Ok(code) => Ok(Some(serde_json::json!({
            "canonical": code.canonical().as_str(),
            "grouped": code.grouped().as_str(),
        }))),
        Err(CodeError::WrongLength { .. }) => Err("wrong_length"),
        Err(CodeError::InvalidCharacter { .. }) => Err("invalid_character"),
        Err(CodeError::CheckFailed) => Err("check_failed"),
        Err(_) => Err("other"),
    }
}

fn run_derive(v: &Value) -> Outcome {
    let code = Code::parse(text(v, "code")).map_err(|_| "bad_code")?;
    let salt = DeploymentSalt(bytes(v, "salt").try_into().expect("16-byte salt"));
    let keys = PersonKeys::derive(&code, &salt);
    Ok(Some(serde_json::json!({
        "mailbox_id": keys.mailbox_id().to_b64(),
        "auth_verifier": b64::encode(&keys.auth_secret().verifier().0),
        "person_x25519": b64::encode(keys.public().x25519.as_bytes()),
        "person_ed25519": b64::encode(&keys.public().ed25519.to_bytes()),
    })))
}

fn kind_from_name(name: &str) -> Kind {
    match name {
        "person_message" => Kind::PersonMessage,
        "staff_reply" => Kind::StaffReply,
        "staff_note" => Kind::StaffNote,
        "case_entry" => Kind::CaseEntry,
        other => panic!("unknown kind {other}"),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::PersonMessage => "person_message",
        Kind::StaffReply => "staff_reply",
        Kind::StaffNote => "staff_note",
        Kind::CaseEntry => "case_entry",
        _ => "unknown",
    }
}

fn run_envelope(v: &Value) -> Outcome {
    let root = Ed25519Public::from_bytes(&bytes(v, "root_key")).expect("valid root key");
    let directory = SignedDirectory::verify(text(v, "directory").as_bytes(), &root, None)
        .expect("the vector's directory is valid");
    let mailbox = MailboxId::from_b64(text(v, "mailbox_id")).expect("valid mailbox id");
    let secret = X25519Secret::from_bytes(
        bytes(v, "recipient_x25519_secret")
            .try_into()
            .expect("32-byte secret"),
    );
    let envelope = b64::decode(text(v, "envelope")).map_err(|_| "malformed")?;
    let opened = match v["expect_kind"].as_str() {
        Some(kind) => open_expecting(
            kind_from_name(kind),
            &envelope,
            &mailbox,
            &secret,
            &directory,
        ),
        None => open(&envelope, &mailbox, &secret, &directory),
    }
    .map_err(|e| match e {
        OpenError::Malformed => "malformed",
        OpenError::UnsupportedVersion => "unsupported_version",
        OpenError::NoMatchingKey => "no_matching_key",
        OpenError::DecryptionFailed => "decryption_failed",
        OpenError::InvalidMessage => "invalid_message",
        OpenError::UnauthorizedSender => "unauthorized_sender",
        OpenError::UnexpectedKind => "unexpected_kind",
        _ => "other",
    })?;
    let sender = match &opened.sender {
        Sender::Person(p) => serde_json::json!({"person": {
            "x25519": b64::encode(p.x25519.as_bytes()),
            "ed25519": b64::encode(&p.ed25519.to_bytes()),
        }}),
        Sender::Staff { centre, staff } => {
            serde_json::json!({"staff": {"centre": centre, "staff": staff}})
        }
        _ => Value::Null,
    };
    Ok(Some(serde_json::json!({
        "kind": kind_name(opened.kind),
        "sender": sender,
        "sent_at": opened.sent_at,
        "body": String::from_utf8(opened.body).expect("vector bodies are UTF-8"),
    })))
}

fn run_directory(v: &Value) -> Outcome {
    let root = Ed25519Public::from_bytes(&bytes(v, "root_key")).expect("valid root key");
    let pinned = v["pinned"].as_str().map(|p| {
        SignedDirectory::verify(p.as_bytes(), &root, None).expect("the pinned directory is valid")
    });
    let directory = SignedDirectory::verify(text(v, "signed").as_bytes(), &root, pinned.as_ref())
        .map_err(|e| match e {
        DirectoryError::Malformed => "malformed",
        DirectoryError::UnsupportedVersion => "unsupported_version",
        DirectoryError::BadSignature => "bad_signature",
        DirectoryError::Rollback => "rollback",
        DirectoryError::WrongDeployment => "wrong_deployment",
        _ => "other",
    })?;
    Ok(Some(serde_json::json!({
        "version": directory.version,
        "centres": directory.centres.len(),
    })))
}

fn run_padding(v: &Value) -> Outcome {
    let padded = bytes(v, "padded");
    let data = padding::unpad(&padded).map_err(|_| "malformed")?;
    Ok(Some(serde_json::json!({"data": b64::encode(data)})))
}

fn run_request(v: &Value) -> Outcome {
    let h = &v["headers"];
    let auth = RequestAuth::from_headers(
        text(h, "key"),
        text(h, "timestamp"),
        text(h, "nonce"),
        text(h, "signature"),
    )
    .map_err(request_error)?;
    let now = v["now"].as_u64().expect("now is a number");
    let salt = DeploymentSalt(bytes(v, "salt").try_into().expect("16-byte salt"));
    auth.verify(
        &salt,
        text(v, "method"),
        text(v, "target"),
        &bytes(v, "body"),
        now,
    )
    .map_err(request_error)?;
    Ok(None)
}

fn request_error(e: RequestError) -> &'static str {
    match e {
        RequestError::Malformed => "malformed",
        RequestError::Stale => "stale",
        RequestError::BadSignature => "bad_signature",
        _ => "other",
    }
}

fn messages(v: &Value, key: &str) -> Vec<(u64, Vec<u8>)> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("vector field {key} is an array"))
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().expect("seq is a number"),
                b64::decode(text(m, "envelope")).expect("envelope is base64url"),
            )
        })
        .collect()
}

/// A transfer: the relay's check. On success, every transferred message
/// must also open, for the person and for the new centre, exactly as the
/// stored one opens for the person (staff notes: for the new centre only).
fn run_transfer(v: &Value) -> Outcome {
    let root = Ed25519Public::from_bytes(&bytes(v, "root_key")).expect("valid root key");
    let directory = SignedDirectory::verify(text(v, "directory").as_bytes(), &root, None)
        .expect("the vector's directory is valid");
    let to = directory
        .centre(text(v, "to_centre"))
        .expect("the receiving centre is listed");
    let (stored, transferred) = (messages(v, "stored"), messages(v, "transferred"));
    check_thread(&stored, &transferred, to).map_err(|e| match e {
        RewrapError::Malformed => "malformed",
        RewrapError::Legacy => "legacy",
        RewrapError::Messages => "messages",
        RewrapError::ContentChanged => "content_changed",
        RewrapError::PersonStanza => "person_stanza",
        RewrapError::Addressing(_) => "addressing",
        _ => "other",
    })?;
    let mailbox = MailboxId::from_b64(text(v, "mailbox_id")).expect("valid mailbox id");
    let secret =
        |key: &str| X25519Secret::from_bytes(bytes(v, key).try_into().expect("32-byte secret"));
    let (person, staff) = (
        secret("person_x25519_secret"),
        secret("new_staff_x25519_secret"),
    );
    for ((_, old), (_, new)) in stored.iter().zip(&transferred) {
        let before = open(old, &mailbox, &person, &directory).map_err(|_| "stored_unreadable")?;
        let for_person = open(new, &mailbox, &person, &directory).map_err(|_| "person_lost")?;
        let for_staff = open(new, &mailbox, &staff, &directory).map_err(|_| "staff_unreadable")?;
        if for_person != before || for_staff != before {
            return Err("content_changed");
        }
    }
    Ok(None)
}

/// A file vector (PROTOCOL.md §12; xtask/src/vectors/files.rs): seal the
/// plaintext (byte `i` is `i mod 251`) with the given id, key and nonce
/// prefix and the filler whose byte `j` is `j mod 241`, apply `blob_ops`,
/// open with `reference` in `mailbox_id`.
fn run_file(v: &Value) -> Outcome {
    use ozvi_crypto::protocol::file::{
        self, CHUNK_CIPHERTEXT_LEN, FileError, FileId, FileKey, FileRef, HEADER_LEN,
    };
    use sha2::{Digest, Sha256};
    let reference = FileRef::from_json(&v["reference"]).map_err(|_| "invalid_reference")?;
    let seal = &v["seal"];
    let size = seal["size"].as_u64().expect("size") as usize;
    let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let mut blob = file::seal_with(
        &MailboxId::from_b64(text(seal, "mailbox_id")).expect("mailbox"),
        &FileId(bytes(seal, "file_id").try_into().expect("16 bytes")),
        &FileKey::from_bytes(bytes(seal, "key").try_into().expect("32 bytes")),
        &bytes(seal, "nonce_prefix").try_into().expect("19 bytes"),
        &plain,
        |filler| {
            for (j, b) in filler.iter_mut().enumerate() {
                *b = (j % 241) as u8;
            }
        },
    )
    .expect("the vector's file seals");
    let chunk = |i: u64| {
        let i = i as usize;
        HEADER_LEN + i * CHUNK_CIPHERTEXT_LEN..HEADER_LEN + (i + 1) * CHUNK_CIPHERTEXT_LEN
    };
    for op in v["blob_ops"].as_array().expect("blob_ops") {
        let n = |k: &str| op[k].as_u64().expect("an integer");
        match text(op, "op") {
            "drop_chunk" => {
                blob.drain(chunk(n("index")));
            }
            "swap_chunks" => {
                let a = blob[chunk(n("a"))].to_vec();
                let b = blob[chunk(n("b"))].to_vec();
                blob[chunk(n("a"))].copy_from_slice(&b);
                blob[chunk(n("b"))].copy_from_slice(&a);
            }
            "set_byte" => blob[n("offset") as usize] = n("value") as u8,
            "append" => blob.extend(bytes(op, "bytes")),
            other => panic!("unknown blob op {other}"),
        }
    }
    let mailbox = MailboxId::from_b64(text(v, "mailbox_id")).expect("mailbox");
    let opened = file::open(&mailbox, &reference, &blob).map_err(|e| match e {
        FileError::Length => "length",
        FileError::Hash => "hash",
        FileError::UnsupportedVersion => "unsupported_version",
        FileError::DecryptionFailed => "decryption_failed",
        FileError::Padding => "padding",
        _ => "other",
    })?;
    Ok(Some(serde_json::json!({
        "blob_sha256": b64::encode(&Sha256::digest(&blob)),
        "plaintext_sha256": b64::encode(&Sha256::digest(opened.as_slice())),
    })))
}
