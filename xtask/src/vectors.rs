//! `cargo xtask vectors`: writes `crates/ozvi-crypto/vectors/*.json`.
//!
//! Every scenario is built from fixed seeds, so running the generator again
//! writes the same bytes; the files are committed and read by
//! `crates/ozvi-crypto/tests/vectors.rs` natively and inside WebAssembly.
//! One scenario per file; `expect` names the outcome (PROTOCOL.md §8).
//! Negative scenarios are built by changing a valid one in exactly one way.
//!
//! One module per family: [`codes`] (and key derivation), [`envelopes`]
//! (format 1), [`envelopes_v2`], [`transfers`], [`directories`],
//! [`paddings`], [`requests`], [`strict`] (the one-rule relaxations found by
//! mutation testing), and [`mutated`], which is written last from the
//! others' valid vectors without `ozvi-crypto`. This file holds the cast
//! ([`World`]) and what the families share.

mod codes;
mod directories;
mod envelopes;
mod envelopes_v2;
mod files;
mod mutated;
mod paddings;
mod requests;
mod strict;
mod transfers;

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
    codes::code_vectors(&mut out)?;
    codes::derive_vectors(&mut out)?;
    envelopes::envelope_vectors(&world, &mut out)?;
    envelopes_v2::envelope_v2_vectors(&world, &mut out)?;
    transfers::transfer_vectors(&world, &mut out)?;
    directories::directory_vectors(&world, &mut out)?;
    paddings::padding_vectors(&mut out)?;
    requests::request_vectors(&world, &mut out)?;
    strict::vectors(&world, &mut out)?;
    files::file_vectors(&world, &mut out)?;
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

    /// Writes each `(name, case, outcome)` in turn: an envelope family.
    fn write_cases<'a>(
        &mut self,
        cases: impl IntoIterator<Item = (&'a str, Case<'a>, Value)>,
    ) -> anyhow::Result<()> {
        for (name, case, outcome) in cases {
            self.write(name, case.json(outcome))?;
        }
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
                    contact: None,
                    answer_time: None,
                    acknowledgement: None,
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
                    contact: None,
                    answer_time: None,
                    acknowledgement: None,
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
/// One envelope scenario: what to open, with which key, and the outcome.
struct Case<'a> {
    world: &'a World,
    description: &'a str,
    envelope: String,
    mailbox: MailboxId,
    recipient: [u8; 32],
    expect_kind: Option<&'a str>,
}

impl<'a> Case<'a> {
    /// `bytes` in the person's mailbox, opened with the X25519 secret
    /// `recipient`, with no kind expected.
    fn new(world: &'a World, description: &'a str, bytes: &[u8], recipient: [u8; 32]) -> Self {
        Case {
            world,
            description,
            envelope: b64::encode(bytes),
            mailbox: world.mailbox(),
            recipient,
            expect_kind: None,
        }
    }

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
        Kind::CaseEntry => "case_entry",
        _ => "unknown",
    }
}

/// The outcome of an envelope that opens: its kind, who sent it, what and when.
fn success(kind: Kind, sender: &Value, body: &str, sent_at: u64) -> Value {
    json!({"expect": "success", "kind": kind_name(kind), "sender": sender, "body": body, "sent_at": sent_at})
}

/// The outcome of an envelope a reader must refuse with the error `expect`.
fn fail(expect: &str) -> Value {
    json!({"expect": expect})
}

/// The sender a reader reports for a message of the person.
fn person_sender(w: &World) -> Value {
    json!({"person": {
        "x25519": b64::encode(w.person.public().x25519.as_bytes()),
        "ed25519": b64::encode(&w.person.public().ed25519.to_bytes()),
    }})
}

/// The sender a reader reports for a message of zlin-1.
fn zlin1_sender() -> Value {
    json!({"staff": {"centre": "ic-zlin", "staff": "zlin-1"}})
}

/// Where stanza `i` of an envelope starts: after the version, kind and count
/// bytes, 88 bytes a stanza (`key_id [8] ‖ ephemeral [32] ‖ wrapped_key
/// [48]`, PROTOCOL.md §4.1); `stanza_at(n)` is where the nonce starts.
fn stanza_at(i: usize) -> usize {
    3 + i * 88
}

/// `bytes` with the lowest bit of the byte at `at` flipped.
fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x01;
    b
}

/// `bytes` with the byte at `at` set to `value`.
fn with_byte(bytes: &[u8], at: usize, value: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] = value;
    b
}

/// An envelope format to seal in (PROTOCOL.md §4.1).
#[derive(Clone, Copy)]
enum Format {
    /// Format 1, which sealers no longer write (`hazmat::seal_v1`).
    V1,
    /// Format 2, the current one (`seal`).
    V2,
}

/// One message to seal: `body` of `kind`, from `signer`, sent at `sent_at`.
#[derive(Clone, Copy)]
struct Letter<'a> {
    signer: Signer<'a>,
    kind: Kind,
    body: &'a str,
    sent_at: u64,
}

impl<'a> Letter<'a> {
    /// A message of the person.
    fn person(keys: &'a PersonKeys, body: &'a str, sent_at: u64) -> Self {
        Letter {
            signer: Signer::Person(keys),
            kind: Kind::PersonMessage,
            body,
            sent_at,
        }
    }

    /// A message of `kind` by a staff member.
    fn staff(keys: &'a StaffKeys, kind: Kind, body: &'a str, sent_at: u64) -> Self {
        Letter {
            signer: Signer::Staff(keys),
            kind,
            body,
            sent_at,
        }
    }

    /// The message sealed into `mailbox` to `recipients` in `format`, with
    /// `rng(seed)`.
    fn seal(
        &self,
        format: Format,
        seed: u64,
        mailbox: &MailboxId,
        recipients: &[X25519Public],
    ) -> Result<Vec<u8>, ozvi_crypto::SealError> {
        let message = Message {
            kind: self.kind,
            mailbox,
            body: self.body.as_bytes(),
            sent_at: self.sent_at,
        };
        match format {
            Format::V1 => hazmat::seal_v1(&mut rng(seed), self.signer, message, recipients),
            Format::V2 => seal(&mut rng(seed), self.signer, message, recipients),
        }
    }
}

/// The thread the format-2 and transfer vectors use: a person message, a
/// reply by zlin-1 and a second person message, all in envelope format 2.
struct Thread2 {
    person_body: &'static str,
    reply_body: &'static str,
    messages: Vec<Vec<u8>>,
}

fn thread2(w: &World) -> anyhow::Result<Thread2> {
    let person_body = r#"{"text":"Potřebuji pomoc. Manžel mi vyhrožuje.","lang":"cs"}"#;
    let (mailbox, recipients) = (w.mailbox(), w.thread_recipients());
    let sealed = |seed, letter: Letter| letter.seal(Format::V2, seed, &mailbox, &recipients);
    let reply_body = r#"{"text":"Jsme tu pro vás.","lang":"cs"}"#;
    let later_body = r#"{"text":"Děkuji, ozvu se večer."}"#;
    let messages = vec![
        sealed(500, Letter::person(&w.person, person_body, NOW))?,
        sealed(
            501,
            Letter::staff(&w.zlin1, Kind::StaffReply, reply_body, NOW + 600),
        )?,
        sealed(502, Letter::person(&w.person, later_body, NOW + 1200))?,
    ];
    Ok(Thread2 {
        person_body,
        reply_body,
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
