//! Each audit passes on what a real relay writes and serves, and catches
//! what it exists to catch: a plaintext record, a record of unknown shape,
//! a canary in any encoding, an address in a log, a changed JavaScript file,
//! a directory under another root key. Run through the `ozvi-audit` binary,
//! so the exit codes are checked too.

use std::path::{Path, PathBuf};
use std::process::Output;

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::{Envelope, Kind};
use ozvi_crypto::primitives::hash::sha256;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::primitives::x25519::X25519Public;
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::{DeploymentSalt, Directory, MailboxId, PersonKeys, StaffKeys};
use ozvi_tests::cast::{centre, numbered};
use ozvi_tests::programs::{copy_dir, text};
use ozvi_tests::relay::store::{Author, CentreId, Moved, Quota, SledStore, Store};
use ozvi_tests::relay::{Config, Relay};

mod common;
use common::{CANARY, World, envelope, world};

/// How long a reopening waits for sled to let go of a database a dropped
/// handle held (its lock is released when its background threads end,
/// which on a busy machine can be a moment later).
const RELEASE: std::time::Duration = std::time::Duration::from_secs(10);

fn audit(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ozvi-audit"))
        .args(args)
        .output()
        .expect("ozvi-audit runs")
}

fn passes(args: &[&str]) -> String {
    let out = audit(args);
    assert_eq!(out.status.code(), Some(0), "should pass: {}", text(&out));
    text(&out)
}

fn fails(args: &[&str], needle: &str) {
    let out = audit(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "should find something: {}",
        text(&out)
    );
    assert!(
        text(&out).contains(needle),
        "expected {needle:?} in {}",
        text(&out)
    );
}

/// The mailbox id of the seeded case (random-looking, as a desk draws it).
const CASE_ID: [u8; 16] = [
    0x5e, 0x0b, 0x9a, 0x31, 0xc4, 0x7f, 0x12, 0xe8, 0x6d, 0xa0, 0x3b, 0x94, 0x27, 0xf1, 0x58, 0xcd,
];

/// A case entry (or another `kind`) from the centre's staff member in
/// `case`, sealed to the centre's staff.
fn case_entry(w: &World, case: &MailboxId, kind: Kind, text: &str) -> Vec<u8> {
    seal(
        &mut os_rng(),
        Signer::Staff(&w.staff),
        Message {
            kind,
            mailbox: case,
            body: format!("{{\"type\":\"note\",\"text\":\"{text}\"}}").as_bytes(),
            sent_at: 1,
        },
        &[w.staff.public().x25519],
    )
    .expect("seals")
}

/// A sled store written by the relay's own store code: two threads with a
/// person message, a staff reply and a note, and the directory.
fn seeded(w: &World, dir: &Path) {
    let store = SledStore::open(dir).expect("opens");
    let centre = CentreId::parse("ic-zlin").expect("id");
    let quota = Quota {
        max_messages: 100,
        max_bytes: 1 << 20,
    };
    for seed in [1u8, 2] {
        let person = PersonKeys::from_root(&[seed; 32]);
        let mailbox = person.mailbox_id();
        let first = envelope(w, &person, Kind::PersonMessage, CANARY);
        store
            .create_thread(
                &mailbox,
                person.auth_secret().verifier().0,
                &centre,
                &first,
                1_700_000_040,
            )
            .expect("creates");
        let reply = envelope(w, &person, Kind::StaffReply, "Dobrý den");
        store
            .append(&mailbox, Author::Staff, &reply, 1_700_000_100, quota)
            .expect("appends");
        let note = envelope(w, &person, Kind::StaffNote, "interní");
        store
            .put_note(&mailbox, &note, 1_700_000_160)
            .expect("note");
    }
    // A staff-only case with two entries (PROTOCOL.md §4.11).
    let case = MailboxId(CASE_ID);
    for (at, text) in [(1_700_000_220, "vykázání"), (1_700_000_280, "pokus")] {
        let entry = case_entry(w, &case, Kind::CaseEntry, text);
        if at == 1_700_000_220 {
            store
                .create_thread(&case, [0; 32], &centre, &entry, at)
                .expect("opens the case");
        } else {
            store
                .append(&case, Author::Case, &entry, at, quota)
                .expect("appends");
        }
    }
    // The centre's reply templates: a note under its record mailbox id.
    let templates = seal(
        &mut os_rng(),
        Signer::Staff(&w.staff),
        Message {
            kind: Kind::StaffNote,
            mailbox: &ozvi_crypto::protocol::addressing::centre_record_mailbox("ic-zlin"),
            body: br#"{"templates":[{"id":"prvni","lang":"cs","title":"T","text":"Dobry den"}]}"#,
            sent_at: 1,
        },
        &[w.staff.public().x25519],
    )
    .expect("seals");
    store
        .put_centre_record(&centre, &templates, 1_700_000_200)
        .expect("templates");
    store
        .set_directory(
            w.directory
                .sign(&w.root)
                .expect("signs")
                .to_json()
                .as_bytes(),
        )
        .expect("directory");
    store.flush().expect("flush");
}

/// A stored value (version ‖ stored at ‖ envelope) whose envelope keeps its
/// shape but carries the canary as plain text instead of ciphertext.
fn with_text_payload(value: &[u8]) -> Vec<u8> {
    let mut envelope = Envelope::parse(&value[9..]).expect("parses");
    let len = envelope.payload.len();
    let text = format!("{CANARY} ").repeat(len / (CANARY.len() + 1) + 1);
    envelope.payload = text.as_bytes()[..len].to_vec();
    let mut record = value[..9].to_vec();
    record.extend_from_slice(&envelope.to_bytes());
    record
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn a_relay_store_passes_and_every_planted_problem_is_found() {
    let w = world();
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    seeded(&w, &data);
    let report = passes(&[
        "store",
        path(&data),
        "--canary",
        CANARY,
        "--canary",
        "interní",
    ]);
    assert!(report.contains("messages records"), "{report}");
    assert!(report.contains("PASS"), "{report}");
    let json: serde_json::Value =
        serde_json::from_slice(&audit(&["store", path(&data), "--json"]).stdout).expect("JSON");
    assert_eq!(json["passed"], true);
    assert_eq!(json["checked"]["messages records"], 6);
    assert_eq!(json["checked"]["threads records"], 3);
    assert_eq!(json["checked"]["cases (staff-only)"], 1);
    assert_eq!(json["checked"]["centres records"], 1);
    // Four messages, two case entries, two notes and the templates record.
    assert_eq!(json["checked"]["payloads that look random"], 9);

    // Each plant goes into a fresh copy of the store.
    let plant = |name: &str, f: &dyn Fn(&sled::Db)| -> PathBuf {
        let copy = tmp.path().join(name);
        let store = SledStore::open_released(&data, RELEASE).expect("opens");
        store.export_to(&copy).expect("copies");
        drop(store);
        let db = sled::open(&copy).expect("opens");
        f(&db);
        db.flush().expect("flush");
        copy
    };
    let first_message = |db: &sled::Db| {
        let messages = db.open_tree("messages").expect("tree");
        let (key, value) = messages.iter().next().expect("a message").expect("reads");
        (messages, key, value)
    };

    // A plaintext message: a well-formed envelope whose payload is text.
    let plaintext = plant("plaintext", &|db| {
        let (messages, key, value) = first_message(db);
        messages
            .insert(key, with_text_payload(&value))
            .expect("insert");
    });
    fails(
        &["store", path(&plaintext)],
        "does not look like ciphertext",
    );
    fails(&["store", path(&plaintext), "--canary", CANARY], "as UTF-8");

    // The canary hidden as base64 in a note, and as UTF-16 in a new tree.
    let hidden = plant("hidden", &|db| {
        let notes = db.open_tree("notes").expect("tree");
        let (key, value) = notes.iter().next().expect("a note").expect("reads");
        let mut value = value.to_vec();
        let encoded = b64::encode(format!("x{CANARY}").as_bytes());
        value.extend_from_slice(encoded.as_bytes());
        notes.insert(key, value).expect("insert");
    });
    fails(
        &["store", path(&hidden), "--canary", CANARY],
        "base64url of UTF-8",
    );

    // A record of unknown shape, and a tree nobody documents.
    let shapes = plant("shapes", &|db| {
        let threads = db.open_tree("threads").expect("tree");
        threads.insert([9u8; 16], vec![1u8; 131]).expect("insert");
        db.open_tree("contacts")
            .expect("tree")
            .insert(b"ip", b"10.0.0.7".to_vec())
            .expect("insert");
    });
    fails(
        &["store", path(&shapes)],
        "not a version-1 record of 130 bytes",
    );
    fails(
        &["store", path(&shapes)],
        "a tree the relay does not document",
    );

    // A centre's templates record holding plain text, and one sealed to a
    // key that is not the centre's staff.
    let templates_text = plant("templates-text", &|db| {
        let centres = db.open_tree("centres").expect("tree");
        let (key, value) = centres.iter().next().expect("a record").expect("reads");
        centres
            .insert(key, with_text_payload(&value))
            .expect("insert");
    });
    fails(
        &["store", path(&templates_text), "--canary", CANARY],
        "as UTF-8",
    );
    let outsider = plant("templates-outsider", &|db| {
        let centres = db.open_tree("centres").expect("tree");
        let (key, value) = centres.iter().next().expect("a record").expect("reads");
        let stranger = StaffKeys::generate(&mut os_rng());
        let sealed = seal(
            &mut os_rng(),
            Signer::Staff(&w.staff),
            Message {
                kind: Kind::StaffNote,
                mailbox: &ozvi_crypto::protocol::addressing::centre_record_mailbox("ic-zlin"),
                body: b"{}",
                sent_at: 1,
            },
            &[w.staff.public().x25519, stranger.public().x25519],
        )
        .expect("seals");
        let mut record = value[..9].to_vec();
        record.extend_from_slice(&sealed);
        centres.insert(key, record).expect("insert");
    });
    fails(
        &["store", path(&outsider)],
        "sealed to a key that is not the centre's staff",
    );

    // A case holds case entries only, has no note and waits for nothing.
    let person_in_case = plant("case-person-message", &|db| {
        let messages = db.open_tree("messages").expect("tree");
        let mut key = CASE_ID.to_vec();
        key.extend_from_slice(&2u64.to_be_bytes());
        let value = messages.get(&key).expect("reads").expect("the entry");
        let her = PersonKeys::from_root(&[9; 32]);
        let mut record = value[..9].to_vec();
        let sealed = envelope(&w, &her, Kind::PersonMessage, "x");
        record.extend_from_slice(&sealed);
        messages.insert(key, record).expect("insert");
    });
    fails(&["store", path(&person_in_case)], "an envelope of kind 1");
    let note_on_case = plant("case-note", &|db| {
        let note = case_entry(&w, &MailboxId(CASE_ID), Kind::StaffNote, "x");
        let mut record = vec![1];
        record.extend_from_slice(&1_700_000_280u64.to_be_bytes());
        record.extend_from_slice(&note);
        db.open_tree("notes")
            .expect("tree")
            .insert(CASE_ID, record)
            .expect("insert");
    });
    fails(&["store", path(&note_on_case)], "a note on a case");
    let waiting_case = plant("case-waiting", &|db| {
        let threads = db.open_tree("threads").expect("tree");
        let mut value = threads
            .get(CASE_ID)
            .expect("reads")
            .expect("the case")
            .to_vec();
        value[126..130].copy_from_slice(&1u32.to_be_bytes());
        threads.insert(CASE_ID, value).expect("insert");
    });
    fails(&["store", path(&waiting_case)], "waits for an answer");

    // Eight bytes of something else hidden in a thread's byte counter.
    let counter = plant("counter", &|db| {
        let threads = db.open_tree("threads").expect("tree");
        let (key, value) = threads.iter().next().expect("a thread").expect("reads");
        let mut value = value.to_vec();
        value[110..118].copy_from_slice(&0x0a00_0007_0000_0000u64.to_be_bytes());
        threads.insert(key, value).expect("insert");
    });
    fails(&["store", path(&counter)], "not the sum of its envelopes");

    // The stored directory under the operator's key, and under another.
    let root_key = b64::encode(&w.root.public().to_bytes());
    passes(&["store", path(&data), "--root-key", &root_key]);
    let other = b64::encode(&Ed25519Secret::generate(&mut os_rng()).public().to_bytes());
    fails(
        &["store", path(&data), "--root-key", &other],
        "not signed by the root key",
    );

    // A message whose stored time is to the second, not the minute.
    let seconds = plant("seconds", &|db| {
        let (messages, key, value) = first_message(db);
        let mut value = value.to_vec();
        value[1..9].copy_from_slice(&1_700_000_061u64.to_be_bytes());
        messages.insert(key, value).expect("insert");
    });
    fails(&["store", path(&seconds)], "not a whole minute");

    // Not a store at all: a clear error and exit 2.
    let out = audit(&["store", path(tmp.path())]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a sled database"), "{}", text(&out));
}

/// Each plant goes into a fresh copy of the store at `data`.
fn plant(data: &Path, copy: &Path, f: &dyn Fn(&sled::Db)) {
    let store = SledStore::open_released(data, RELEASE).expect("opens");
    store.export_to(copy).expect("copies");
    drop(store);
    let db = sled::open(copy).expect("opens");
    f(&db);
    db.flush().expect("flush");
}

/// A store seeded as [`seeded`], in a temporary folder.
struct Seeded {
    w: World,
    tmp: tempfile::TempDir,
    data: PathBuf,
}

fn seeded_store() -> Seeded {
    let w = world();
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    seeded(&w, &data);
    Seeded { w, tmp, data }
}

impl Seeded {
    /// A copy of the store changed by `f`.
    fn plant(&self, name: &str, f: &dyn Fn(&sled::Db)) -> PathBuf {
        let copy = self.tmp.path().join(name);
        plant(&self.data, &copy, f);
        copy
    }
}

/// `len` pseudo-random bytes (SHA-256 in counter mode).
fn prng(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(&sha256(&[&seed.to_be_bytes(), &i.to_be_bytes()]));
        i += 1;
    }
    out.truncate(len);
    out
}

/// `n` bytes of Czech prose (UTF-8), cut at a character boundary and
/// padded with spaces; the last byte is always ASCII.
fn czech(n: usize) -> Vec<u8> {
    let text = "Manžel mě bije a vyhrožuje mi, prosím pomozte mi, bojím se o děti a o sebe. ";
    let mut out = String::new();
    for c in text.chars().cycle() {
        if out.len() + c.len_utf8() >= n {
            break;
        }
        out.push(c);
    }
    while out.len() < n {
        out.push(' ');
    }
    out.into_bytes()
}

/// Rewrites the first message's envelope with `f`.
fn edit_first_message(db: &sled::Db, f: &dyn Fn(&mut Envelope)) {
    let messages = db.open_tree("messages").expect("tree");
    let (key, value) = messages.iter().next().expect("a message").expect("reads");
    let mut envelope = Envelope::parse(&value[9..]).expect("parses");
    f(&mut envelope);
    let mut record = value[..9].to_vec();
    record.extend_from_slice(&envelope.to_bytes());
    messages.insert(key, record).expect("insert");
}

#[test]
fn czech_text_in_a_stanza_key_id_is_caught() {
    let s = seeded_store();
    let copy = s.plant("key-id", &|db| {
        edit_first_message(db, &|e| {
            e.stanzas[0].key_id.copy_from_slice(&czech(8));
        })
    });
    fails(
        &["store", path(&copy)],
        "not the staff of centre ic-zlin in any directory known",
    );
}

#[test]
fn czech_text_in_an_ephemeral_key_is_caught() {
    let s = seeded_store();
    let copy = s.plant("ephemeral", &|db| {
        edit_first_message(db, &|e| {
            let key = X25519Public::from_canonical_bytes(&czech(32)).expect("canonical");
            e.stanzas[1].ephemeral = key;
        })
    });
    fails(
        &["store", path(&copy)],
        "stanza 2's ephemeral key: reads as Czech text in UTF-8",
    );
}

#[test]
fn czech_text_in_a_wrapped_key_is_caught() {
    let s = seeded_store();
    let copy = s.plant("wrapped", &|db| {
        edit_first_message(db, &|e| {
            e.stanzas[0].wrapped_key.copy_from_slice(&czech(48));
        })
    });
    fails(
        &["store", path(&copy)],
        "stanza 1's wrapped key: reads as Czech text",
    );
    // In a single-byte encoding too.
    let latin2 = s.plant("wrapped-latin2", &|db| {
        edit_first_message(db, &|e| {
            let text = String::from_utf8(czech(60)).expect("UTF-8");
            let (bytes, _, _) = encoding_rs::WINDOWS_1250.encode(&text);
            e.stanzas[0].wrapped_key.copy_from_slice(&bytes[..48]);
        })
    });
    fails(
        &["store", path(&latin2)],
        "stanza 1's wrapped key: reads as",
    );
}

#[test]
fn czech_text_in_a_nonce_is_caught() {
    let s = seeded_store();
    let copy = s.plant("nonce", &|db| {
        edit_first_message(db, &|e| e.nonce.copy_from_slice(&czech(24)))
    });
    fails(&["store", path(&copy)], "its nonce: reads as Czech text");
    let utf16 = s.plant("nonce-utf16", &|db| {
        edit_first_message(db, &|e| {
            let units: Vec<u8> = "Допоможіть мені"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
            e.nonce.copy_from_slice(&units[..24]);
        })
    });
    fails(
        &["store", path(&utf16)],
        "its nonce: reads as Ukrainian text in UTF-16LE",
    );
}

/// Renames a thread everywhere its mailbox id is stored (threads, messages,
/// notes and activity keys), so every cross-check still holds.
fn rename_first_thread(db: &sled::Db, to: &[u8; 16]) {
    let threads = db.open_tree("threads").expect("tree");
    let (old, value) = threads.iter().next().expect("a thread").expect("reads");
    threads.remove(&old).expect("remove");
    threads.insert(to, value).expect("insert");
    for name in ["messages", "notes", "activity"] {
        let tree = db.open_tree(name).expect("tree");
        let keys: Vec<sled::IVec> = tree.iter().keys().map(|k| k.expect("key")).collect();
        for key in keys {
            let at = if name == "activity" { 41 } else { 0 };
            if key.len() >= at + 16 && key[at..at + 16] == old[..] {
                let value = tree.remove(&key).expect("remove").expect("value");
                let mut new = key.to_vec();
                new[at..at + 16].copy_from_slice(to);
                tree.insert(new, value).expect("insert");
            }
        }
    }
}

#[test]
fn a_textual_mailbox_id_is_caught() {
    let s = seeded_store();
    for (name, text) in [
        ("mailbox-cs", "Manžel mě bije".as_bytes()),
        ("mailbox-ascii", b"manzel me bije a".as_slice()),
    ] {
        let id: [u8; 16] = text.try_into().expect("16 bytes");
        let copy = s.plant(name, &|db| rename_first_thread(db, &id));
        fails(&["store", path(&copy)], "its mailbox id: reads as");
    }
}

#[test]
fn a_textual_verifier_is_caught() {
    let s = seeded_store();
    let copy = s.plant("verifier", &|db| {
        let threads = db.open_tree("threads").expect("tree");
        let (key, value) = threads.iter().next().expect("a thread").expect("reads");
        let mut value = value.to_vec();
        value[1..33].copy_from_slice(&czech(32));
        threads.insert(key, value).expect("insert");
    });
    fails(&["store", path(&copy)], "its verifier: reads as Czech text");
}

#[test]
fn a_canary_in_each_single_byte_encoding_and_in_nfd_is_found() {
    let s = seeded_store();
    // š, ť and ž differ between ISO-8859-2 and Windows-1250.
    let czech_canary = "Šťastná žena KANÁR-8820";
    let ukrainian_canary = "Допоможіть, КАНАРКА-4242";
    let nfd = "Tajna\u{301} zpra\u{301}va KANA\u{301}R-5511";
    let forms: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            czech_canary,
            encoding_rs::ISO_8859_2.encode(czech_canary).0.into_owned(),
            "as ISO-8859-2",
        ),
        (
            czech_canary,
            encoding_rs::WINDOWS_1250
                .encode(czech_canary)
                .0
                .into_owned(),
            "as windows-1250",
        ),
        (
            czech_canary,
            encoding_rs::WINDOWS_1250
                .encode(&czech_canary.to_lowercase())
                .0
                .into_owned(),
            "as lower-case windows-1250",
        ),
        (
            ukrainian_canary,
            encoding_rs::WINDOWS_1251
                .encode(ukrainian_canary)
                .0
                .into_owned(),
            "windows-1251",
        ),
        (
            ukrainian_canary,
            encoding_rs::KOI8_U.encode(ukrainian_canary).0.into_owned(),
            "KOI8-U",
        ),
        (CANARY, nfd.as_bytes().to_vec(), "as NFD UTF-8"),
        (
            CANARY,
            CANARY.to_uppercase().into_bytes(),
            "as upper-case UTF-8",
        ),
    ];
    for (i, (canary, bytes, needle)) in forms.iter().enumerate() {
        let copy = s.plant(&format!("canary-{i}"), &|db| {
            edit_first_message(db, &|e| {
                e.payload[300..300 + bytes.len()].copy_from_slice(bytes);
            })
        });
        fails(&["store", path(&copy), "--canary", canary], needle);
    }
}

/// 768 bytes of text in a payload of the largest bucket, with filler that
/// gives the payload exactly the byte histogram of random bytes: the
/// histogram test alone passes it.
#[test]
fn text_in_a_payload_with_histogram_flattening_filler_is_caught() {
    let s = seeded_store();
    let copy = s.plant("flattened", &|db| {
        let person = PersonKeys::from_root(&[1; 32]);
        let long = "a".repeat(20_000);
        let big = envelope(&s.w, &person, Kind::PersonMessage, &long);
        let mut envelope = Envelope::parse(&big).expect("parses");
        let len = envelope.payload.len();
        assert_eq!(len, 73_728 + 16);
        let text = czech(768);
        // A random histogram for the whole payload, from a random string.
        let mut target = [0usize; 256];
        for &b in &prng(len, 1) {
            target[usize::from(b)] += 1;
        }
        for &b in &text {
            target[usize::from(b)] -= 1;
        }
        let mut filler: Vec<u8> = (0..=255u8)
            .flat_map(|b| std::iter::repeat_n(b, target[usize::from(b)]))
            .collect();
        // Shuffle (Fisher-Yates) so the filler itself has no runs.
        let picks = prng(8 * filler.len(), 2);
        for i in (1..filler.len()).rev() {
            let r = u64::from_be_bytes(picks[8 * i..8 * i + 8].try_into().expect("8"));
            filler.swap(i, (r % (i as u64 + 1)) as usize);
        }
        let at = 20_000;
        let mut payload = filler[..at].to_vec();
        payload.extend_from_slice(&text);
        payload.extend_from_slice(&filler[at..]);
        assert_eq!(payload.len(), len);
        assert!(
            ozvi_audit::random::looks_random(&payload),
            "the filler defeats the histogram test"
        );
        envelope.payload = payload;
        replace_first_message(db, &envelope.to_bytes());
    });
    fails(
        &["store", path(&copy)],
        "a payload that does not look like ciphertext: reads as Czech text",
    );
    fails(&["store", path(&copy)], "it compresses");
}

/// Replaces the first message's envelope with `bytes`, keeping its thread's
/// byte count true, so only the envelope itself can give it away.
fn replace_first_message(db: &sled::Db, bytes: &[u8]) {
    let messages = db.open_tree("messages").expect("tree");
    let (key, value) = messages.iter().next().expect("a message").expect("reads");
    let mut record = value[..9].to_vec();
    record.extend_from_slice(bytes);
    let (new_len, old_len) = (record.len() as u64, value.len() as u64);
    messages.insert(&key, record).expect("insert");
    let threads = db.open_tree("threads").expect("tree");
    let mut thread = threads
        .get(&key[..16])
        .expect("reads")
        .expect("its thread")
        .to_vec();
    let total = u64::from_be_bytes(thread[110..118].try_into().expect("8")) + new_len - old_len;
    thread[110..118].copy_from_slice(&total.to_be_bytes());
    threads.insert(&key[..16], thread).expect("insert");
}

/// Seals a kind-1 message of `person` to exactly `recipients`.
fn sealed_to(person: &PersonKeys, recipients: &[X25519Public]) -> Vec<u8> {
    seal(
        &mut os_rng(),
        Signer::Person(person),
        Message {
            kind: Kind::PersonMessage,
            mailbox: &person.mailbox_id(),
            body: br#"{"text":"Dobry den"}"#,
            sent_at: 1,
        },
        recipients,
    )
    .expect("seals")
}

#[test]
fn an_extra_recipient_a_missing_person_or_another_person_key_is_caught() {
    let s = seeded_store();
    let person = PersonKeys::from_root(&[1; 32]);
    let staff = s.w.staff.public().x25519;
    let me = person.public().x25519;
    // A modified page that also seals every message to the abuser's key.
    let abuser = StaffKeys::generate(&mut os_rng()).public().x25519;
    let cases: Vec<(&str, Vec<X25519Public>, &str)> = vec![
        (
            "extra",
            vec![staff, me, abuser],
            "1 stanza(s) for keys that are not the staff of centre ic-zlin",
        ),
        (
            "no-person",
            vec![staff],
            "no stanza for the person: she cannot read it",
        ),
        (
            "other-person",
            vec![staff, abuser],
            "sealed to another person key than the thread's other messages",
        ),
    ];
    for (name, recipients, needle) in cases {
        let bytes = sealed_to(&person, &recipients);
        let copy = s.plant(name, &|db| replace_first_message(db, &bytes));
        fails(&["store", path(&copy)], needle);
    }
    // A note sealed to someone besides the centre's staff.
    let copy = s.plant("note-extra", &|db| {
        let notes = db.open_tree("notes").expect("tree");
        let (key, value) = notes.iter().next().expect("a note").expect("reads");
        let mut record = value[..9].to_vec();
        record.extend_from_slice(
            &seal(
                &mut os_rng(),
                Signer::Staff(&s.w.staff),
                Message {
                    kind: Kind::StaffNote,
                    mailbox: &person.mailbox_id(),
                    body: br#"{"status":"new","assignee":null,"notes":[]}"#,
                    sent_at: 1,
                },
                &[staff, abuser],
            )
            .expect("seals"),
        );
        notes.insert(key, record).expect("insert");
    });
    fails(
        &["store", path(&copy)],
        "1 stanza(s) for keys that are not the staff of centre ic-zlin",
    );
}

#[test]
fn a_thread_of_a_centre_no_directory_lists_is_caught() {
    let s = seeded_store();
    let copy = s.plant("centre", &|db| {
        let fake = CentreId::parse("ic-tajne").expect("id").to_fixed();
        let threads = db.open_tree("threads").expect("tree");
        let (key, value) = threads.iter().next().expect("a thread").expect("reads");
        let mut value = value.to_vec();
        value[33..66].copy_from_slice(&fake);
        threads.insert(&key, value).expect("insert");
        let activity = db.open_tree("activity").expect("tree");
        for entry in activity.iter() {
            let (k, _) = entry.expect("reads");
            if k[41..] == key[..] {
                activity.remove(&k).expect("remove");
                let mut new = fake.to_vec();
                new.extend_from_slice(&k[33..]);
                activity.insert(new, b"").expect("insert");
            }
        }
    });
    fails(&["store", path(&copy)], "of a centre no directory lists");
}

/// Staff of two centres, one removed after the first threads.
struct Deployment {
    root: Ed25519Secret,
    zlin: Vec<StaffKeys>,
    brno: Vec<StaffKeys>,
    removed: StaffKeys,
    salt: DeploymentSalt,
}

impl Deployment {
    fn directory(&self, version: u64, with_removed: bool) -> Directory {
        let removed = with_removed.then(|| ("zlin-99".to_string(), &self.removed));
        Directory {
            version,
            issued_at: 1_700_000_000 + version,
            salt: self.salt,
            default_centre: "ic-zlin".into(),
            centres: vec![
                centre(
                    "ic-zlin",
                    "CZ-72",
                    numbered("zlin", &self.zlin).chain(removed),
                ),
                centre("ic-brno", "CZ-64", numbered("brno", &self.brno)),
            ],
        }
    }
}

/// What the relay stores after real use: 2 centres, 120 threads of 1 to 8
/// messages and replies (some long enough for the larger buckets), notes,
/// a staff member removed half way (directory 1 → 2) and a transfer.
#[test]
fn a_realistic_relay_store_raises_no_false_alarm() {
    let mut rng = os_rng();
    let d = Deployment {
        root: Ed25519Secret::generate(&mut rng),
        zlin: (0..3).map(|_| StaffKeys::generate(&mut rng)).collect(),
        brno: (0..2).map(|_| StaffKeys::generate(&mut rng)).collect(),
        removed: StaffKeys::generate(&mut rng),
        salt: DeploymentSalt::generate(&mut rng),
    };
    let v1 = d.directory(1, true);
    let v2 = d.directory(2, false);
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let store = SledStore::open_released(&data, RELEASE).expect("opens");
    let quota = Quota {
        max_messages: 100,
        max_bytes: 1 << 22,
    };
    let texts = [
        "Dobrý den, potřebuji poradit. Manžel mi bere peníze a zamyká mě doma.",
        "Добрий день, мені потрібна допомога.",
        "Děkujeme, že jste napsala. Můžeme si zavolat zítra v 10 hodin?",
    ];
    let mut envelopes = 0;
    for t in 0..120u32 {
        let directory = if t < 60 { &v1 } else { &v2 };
        let centre_id = if t % 3 == 0 { "ic-brno" } else { "ic-zlin" };
        let centre = directory.centre(centre_id).expect("centre");
        let staff_keys: &[StaffKeys] = if centre_id == "ic-brno" {
            &d.brno
        } else {
            &d.zlin
        };
        let person = PersonKeys::from_root(&sha256(&[b"person", &t.to_be_bytes()]));
        let mailbox = person.mailbox_id();
        let mut recipients = centre.staff_x25519();
        recipients.push(person.public().x25519);
        let body = |i: u32| {
            let text = if (t + i).is_multiple_of(17) {
                texts[0].repeat(80 * (1 + (i as usize % 3)))
            } else {
                texts[((t + i) % 3) as usize].to_string()
            };
            serde_json::json!({ "text": text }).to_string()
        };
        // Message i of the thread: the person's at even i, a reply at odd.
        let message = |i: u32, to: &[X25519Public]| {
            let staff = &staff_keys[(i as usize) % staff_keys.len()];
            let (kind, signer) = if i % 2 == 1 {
                (Kind::StaffReply, Signer::Staff(staff))
            } else {
                (Kind::PersonMessage, Signer::Person(&person))
            };
            seal(
                &mut os_rng(),
                signer,
                Message {
                    kind,
                    mailbox: &mailbox,
                    body: body(i).as_bytes(),
                    sent_at: 1_700_000_000 + u64::from(i),
                },
                to,
            )
            .expect("seals")
        };
        let minute = 1_700_000_040 + 60 * u64::from(t);
        store
            .create_thread(
                &mailbox,
                person.auth_secret().verifier().0,
                &CentreId::parse(centre_id).expect("id"),
                &message(0, &recipients),
                minute,
            )
            .expect("creates");
        envelopes += 1;
        for i in 1..=(t % 8) {
            let author = if i % 2 == 1 {
                Author::Staff
            } else {
                Author::Person
            };
            store
                .append(
                    &mailbox,
                    author,
                    &message(i, &recipients),
                    minute + 60,
                    quota,
                )
                .expect("appends");
            envelopes += 1;
        }
        if t % 4 == 0 {
            let note = seal(
                &mut os_rng(),
                Signer::Staff(&staff_keys[0]),
                Message {
                    kind: Kind::StaffNote,
                    mailbox: &mailbox,
                    body: br#"{"status":"in_progress","assignee":null,"notes":[]}"#,
                    sent_at: 1_700_000_100,
                },
                &centre.staff_x25519(),
            )
            .expect("seals");
            store.put_note(&mailbox, &note, minute + 120).expect("note");
        }
        // Thread 7 moves from Zlín to Brno: every envelope sealed anew to
        // Brno's staff and the person.
        if t == 7 {
            let brno = v1.centre("ic-brno").expect("brno");
            let mut to = brno.staff_x25519();
            to.push(person.public().x25519);
            let resealed: Vec<(u64, Vec<u8>)> = (0..=t % 8)
                .map(|i| (u64::from(i) + 1, message(i, &to)))
                .collect();
            store
                .transfer(
                    &mailbox,
                    &CentreId::parse("ic-brno").expect("id"),
                    Moved {
                        resealed: &resealed,
                        note: None,
                        notice: None,
                    },
                    minute + 180,
                )
                .expect("transfers");
        }
    }
    store
        .set_directory(v2.sign(&d.root).expect("signs").to_json().as_bytes())
        .expect("directory");
    store.flush().expect("flush");
    drop(store);
    let earlier = tmp.path().join("v1.json");
    std::fs::write(&earlier, v1.sign(&d.root).expect("signs").to_json()).expect("write");
    let root_key = b64::encode(&d.root.public().to_bytes());
    let args = [
        "store",
        path(&data),
        "--root-key",
        &root_key,
        "--directories",
        path(&earlier),
        "--canary",
        "KANÁREK-nikde-9931",
        "--json",
    ];
    let out = audit(&args);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["findings"], serde_json::json!([]), "{}", text(&out));
    assert_eq!(out.status.code(), Some(0));
    assert!(envelopes > 400, "{envelopes}");
    assert_eq!(json["checked"]["person key ids, one per thread"], 120);
    // Without the earlier directory, the removed member's stanzas have no
    // owner the audit can name: it says so, and what to pass.
    fails(
        &["store", path(&data), "--root-key", &root_key],
        "pass the earlier directories with --directories",
    );
}

#[test]
fn logs_with_an_address_agent_or_id_fail_and_clean_logs_pass() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let clean = tmp.path().join("clean.log");
    std::fs::write(
        &clean,
        "2026-12-01T09:00:00.000001Z  INFO ozvi_relay::startup: relay listening\n\
         2026-12-01T09:00:01.000002Z  INFO request: method=GET route=/api/v1/directory status=200 micros=311\n",
    )
    .expect("write");
    passes(&["logs", path(&clean), "--canary", CANARY]);
    for (name, line, needle) in [
        ("ip.log", "peer=192.168.1.20 status=200", "an IPv4 address"),
        ("ua.log", "agent=Mozilla/5.0 (Android 14)", "a user agent"),
        (
            "id.log",
            "mailbox=AAECAwQFBgcICQoLDA0ODw thread opened",
            "a mailbox id",
        ),
        ("canary.log", "body=Tajná zpráva KANÁR-5511", "the canary"),
    ] {
        let file = tmp.path().join(name);
        std::fs::write(&file, format!("2026-12-01T09:00:00Z INFO {line}\n")).expect("write");
        fails(&["logs", path(&file), "--canary", CANARY], needle);
    }
}

/// A relay in this process serving `web_root`; its base URL ends in `/`.
async fn serve(w: &World, data: &Path, web_root: &Path) -> (Relay, String) {
    serve_with(w, data, web_root, |_| {}).await
}

/// [`serve`], with its configuration adjusted.
async fn serve_with(
    w: &World,
    data: &Path,
    web_root: &Path,
    adjust: impl FnOnce(&mut Config),
) -> (Relay, String) {
    let directory_file = data.with_extension("directory.json");
    std::fs::write(
        &directory_file,
        w.directory.sign(&w.root).expect("signs").to_json(),
    )
    .expect("write");
    let mut config = Config {
        data: data.to_path_buf(),
        root_key: b64::encode(&w.root.public().to_bytes()),
        directory: Some(directory_file),
        web_root: Some(web_root.to_path_buf()),
        ..Config::default()
    };
    adjust(&mut config);
    let relay = Relay::start(config).await;
    let base = format!("{}/", relay.base);
    (relay, base)
}

async fn audit_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        audit(&args)
    })
    .await
    .expect("join")
}

/// Runs `ozvi-audit ARGS` off the runtime (the relay under audit runs on
/// it); expects exit `code` and `needle` in the report.
async fn expect_audit(args: &[&str], code: i32, needle: &str) {
    let out = audit_async(args.iter().map(|a| a.to_string()).collect()).await;
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out));
    assert!(
        text(&out).contains(needle),
        "expected {needle:?}: {}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_page_must_be_the_build_and_the_directory_the_operators() {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web-client/dist");
    assert!(
        dist.join("SHA256SUMS").is_file(),
        "run `cargo xtask web` (cargo xtask test does) to build web-client/dist"
    );
    let w = world();
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    copy_dir(&dist, &site);
    let manifest = dist.join("SHA256SUMS").display().to_string();
    let (relay, base) = serve(&w, &tmp.path().join("data"), &site).await;
    let root_key = b64::encode(&w.root.public().to_bytes());

    let base = base.as_str();
    let web = ["web", base, "--manifest", &manifest];
    expect_audit(&web, 0, "files identical to the build").await;
    expect_audit(&["directory", base, "--root-key", &root_key], 0, "PASS").await;
    let seen_newer = [
        "directory",
        base,
        "--root-key",
        &root_key,
        "--min-version",
        "3",
    ];
    expect_audit(&seen_newer, 1, "rollback").await;

    // One byte of one JavaScript file changed on the server.
    let app = site.join("app.js");
    let mut bytes = std::fs::read(&app).expect("read");
    bytes[100] ^= 0x20;
    std::fs::write(&app, &bytes).expect("write");
    expect_audit(&web, 1, "/app.js: SHA-256").await;

    // The operator's published root key is another one than this relay's:
    // its directory is not the operator's, and it hands the page a key the
    // auditor does not hold.
    let other = Ed25519Secret::generate(&mut os_rng());
    let other_key = b64::encode(&other.public().to_bytes());
    let foreign = ["directory", base, "--root-key", &other_key];
    expect_audit(&foreign, 1, "not signed by this root key").await;
    expect_audit(&foreign, 1, "another root key").await;
    relay.handle.stop(true).await;
}

/// `SHA256SUMS` text for `files` (path → bytes' SHA-256), as the build writes it.
fn manifest_text(lines: &[(String, String)]) -> String {
    lines
        .iter()
        .map(|(path, hash)| format!("{hash}  {path}\n"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_coding_the_relay_sends_must_be_the_builds_and_decompress_to_the_file() {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web-client/dist");
    assert!(
        dist.join("SHA256SUMS").is_file(),
        "run `cargo xtask web` (cargo xtask test does) to build web-client/dist"
    );
    let hex = |bytes: &[u8]| -> String {
        sha256(&[bytes])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let built: Vec<(String, String)> = std::fs::read_to_string(dist.join("SHA256SUMS"))
        .expect("read")
        .lines()
        .map(|l| {
            let (hash, path) = l.split_once("  ").expect("HASH  PATH");
            (path.to_string(), hash.to_string())
        })
        .collect();
    for variant in ["app.js.gz", "app.js.br", "pkg/ozvi_web_bg.wasm.br"] {
        assert!(
            built.iter().any(|(p, _)| p == variant),
            "the build lists {variant}"
        );
    }
    let w = world();
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    copy_dir(&dist, &site);
    // Five audits of three requests per file from one address in a minute:
    // more than the default limit allows.
    let (relay, base) = serve_with(&w, &tmp.path().join("data"), &site, |c| {
        c.requests_per_address_per_minute = 10_000;
    })
    .await;
    let base = base.as_str();
    // Runs the web audit against `lines` written as the manifest.
    let audit_with = |lines: Vec<(String, String)>| {
        let file = tmp.path().join("SHA256SUMS.test");
        std::fs::write(&file, manifest_text(&lines)).expect("write");
        let args = ["web", base, "--manifest", file.to_str().expect("utf-8")];
        args.map(str::to_string).to_vec()
    };
    let check = |args: Vec<String>, code: i32, needle: &'static str| async move {
        let out = audit_async(args).await;
        let report = text(&out);
        assert_eq!(out.status.code(), Some(code), "{report}");
        assert!(report.contains(needle), "expected {needle:?}: {report}");
        report
    };

    // The build as it is: every coding of every file checks out.
    let report = check(
        audit_with(built.clone()),
        0,
        "compressed answers identical to the build, decompressing to the file",
    )
    .await;
    assert!(report.contains("files identical to the build"), "{report}");

    // One byte of a served variant changed: the brotli answer is caught
    // (the identity and gzip answers of app.js are still the build's).
    let br = site.join("app.js.br");
    let original = std::fs::read(&br).expect("read");
    let mut changed = original.clone();
    changed[10] ^= 0x01;
    std::fs::write(&br, &changed).expect("write");
    let report = check(
        audit_with(built.clone()),
        1,
        "/app.js: the br answer's SHA-256",
    )
    .await;
    assert!(!report.contains("/app.js: the gzip answer"), "{report}");
    std::fs::write(&br, &original).expect("restore");

    // A coding the build does not list for a file: the relay sent bytes the
    // auditor cannot hold against anything.
    let without_gz: Vec<_> = built
        .iter()
        .filter(|(p, _)| p != "app.js.gz")
        .cloned()
        .collect();
    check(
        audit_with(without_gz),
        1,
        "/app.js: sent Content-Encoding: gzip, but the build has no app.js.gz",
    )
    .await;

    // A variant that is the (claimed) build's, byte for byte, but holds
    // another text than its file, and one that is not gzip at all.
    let app = std::fs::read(site.join("app.js")).expect("read");
    let gz = site.join("app.js.gz");
    let mut other = app.clone();
    other[100] ^= 0x20;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &other).expect("gzip");
    let forged = encoder.finish().expect("gzip");
    for (bytes, needle) in [
        (
            forged,
            "/app.js: app.js.gz is the build's, but does not decompress to app.js",
        ),
        (
            b"\x1f\x8b not gzip".to_vec(),
            "/app.js: app.js.gz does not decompress as gzip",
        ),
    ] {
        std::fs::write(&gz, &bytes).expect("write");
        let relisted: Vec<_> = built
            .iter()
            .map(|(p, h)| {
                let h = if p == "app.js.gz" {
                    hex(&bytes)
                } else {
                    h.clone()
                };
                (p.clone(), h)
            })
            .collect();
        check(audit_with(relisted), 1, needle).await;
    }
    relay.handle.stop(true).await;
}

/// The blob files of a store's `files/` directory (not the file that names
/// its store).
fn blobs_in(data: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(data.join("files"))
        .expect("a blob directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| !p.ends_with("ozvi-store"))
        .collect();
    out.sort();
    out
}

#[test]
fn blobs_are_audited_and_a_plaintext_blob_or_a_canary_in_one_is_caught() {
    use ozvi_crypto::protocol::file::BLOB_LENGTHS;
    use ozvi_tests::relay::store::FileQuota;
    let s = seeded_store();
    let person = PersonKeys::from_root(&[1; 32]);
    let mailbox = person.mailbox_id();
    {
        // Her photo, sealed as the page seals it, claimed by a reply.
        let store = SledStore::open_released(&s.data, RELEASE).expect("opens");
        let photo = ozvi_crypto::protocol::file::seal(
            &mut os_rng(),
            &mailbox,
            CANARY.repeat(3000).as_bytes(),
            "image/jpeg",
            Some((10, 10)),
            None,
        )
        .expect("seals");
        let id = photo.reference.id;
        let mut writer = store
            .begin_upload(
                &mailbox,
                &id,
                photo.blob.len() as u64,
                [0; 32],
                1_700_000_300,
                FileQuota::default(),
            )
            .expect("begins");
        for part in photo.blob.chunks(65536) {
            writer.write(part).expect("writes");
        }
        writer.finish().expect("finishes");
        let reply = envelope(&s.w, &person, Kind::StaffReply, "fotka");
        store
            .append_claiming(
                &mailbox,
                Author::Staff,
                &reply,
                1_700_000_320,
                Quota {
                    max_messages: 100,
                    max_bytes: 1 << 20,
                },
                &[id],
                FileQuota::default(),
            )
            .expect("claims");
        store.flush().expect("flush");
    }
    let json: serde_json::Value = serde_json::from_slice(
        &audit(&["store", path(&s.data), "--json", "--canary", CANARY]).stdout,
    )
    .expect("JSON");
    assert_eq!(json["passed"], true, "{json}");
    assert_eq!(json["checked"]["files records"], 1);
    assert_eq!(json["checked"]["blobs read"], 1);

    // An upload being received for a recorded file (a retry replacing an
    // unclaimed upload) is what a running relay holds: no finding. A
    // partial under another name is one. (Before any step below writes
    // through its copy's hard link into this store's blob.)
    let random_hex = "0f".repeat(16);
    let receiving = s.plant("receiving-part", &|_| {});
    let blob = &blobs_in(&receiving)[0];
    let key = blob
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    std::fs::write(
        receiving
            .join("files")
            .join(format!("{key}.{random_hex}.part")),
        [1u8; 10],
    )
    .expect("write");
    passes(&["store", path(&receiving)]);
    std::fs::write(
        receiving.join("files").join(format!("{key}.part")),
        [1u8; 10],
    )
    .expect("write");
    fails(
        &["store", path(&receiving)],
        "a partial upload under a name the relay does not write",
    );

    // The same blob as plain text (format byte and length kept).
    let plain = s.plant("plain-blob", &|_| {});
    let blob = &blobs_in(&plain)[0];
    let len = std::fs::metadata(blob).expect("exists").len() as usize;
    let mut text = czech(len);
    text[0] = 1;
    std::fs::write(blob, &text).expect("write");
    fails(&["store", path(&plain)], "its ciphertext");

    // Random bytes carrying the canary.
    let canary = s.plant("canary-blob", &|_| {});
    let blob = &blobs_in(&canary)[0];
    let mut bytes = prng(len, 15);
    bytes[0] = 1;
    bytes[5000..5000 + CANARY.len()].copy_from_slice(CANARY.as_bytes());
    std::fs::write(blob, &bytes).expect("write");
    fails(
        &["store", path(&canary), "--canary", CANARY],
        "holds the canary",
    );

    // Off its bucket, and a blob no record names.
    let cut = s.plant("cut-blob", &|_| {});
    let blob = &blobs_in(&cut)[0];
    std::fs::write(blob, prng(len - 1, 16)).expect("write");
    fails(&["store", path(&cut)], "not on a blob bucket");
    let stray = s.plant("stray-blob", &|_| {});
    let mut random = prng(usize::try_from(BLOB_LENGTHS[0]).expect("small"), 17);
    random[0] = 1;
    std::fs::write(stray.join("files").join("00".repeat(32)), &random).expect("write");
    fails(
        &["store", path(&stray)],
        "a blob with no complete file record",
    );

    // A directory, an unreadable file and a non-ASCII name among the
    // blobs are reported, not an abort; so is a `.part` of no record.
    let odd = s.plant("odd-entries", &|_| {});
    std::fs::create_dir(odd.join("files").join("a-directory")).expect("mkdir");
    std::fs::write(odd.join("files").join("žluťoučký-kůň-úpěl"), b"x").expect("write");
    fails(&["store", path(&odd)], "not a plain file");
    fails(
        &["store", path(&odd)],
        "a blob with no complete file record",
    );
    let orphan = s.plant("orphan-part", &|_| {});
    std::fs::write(
        orphan
            .join("files")
            .join(format!("{}.{random_hex}.part", "00".repeat(32))),
        [1u8; 10],
    )
    .expect("write");
    fails(
        &["store", path(&orphan)],
        "a partial upload with no file record",
    );

    // A record of another shape.
    let shape = s.plant("file-record", &|db| {
        let files = db.open_tree("files").expect("tree");
        let (key, value) = files.iter().next().expect("a record").expect("reads");
        let mut value = value.to_vec();
        value[1] = 9;
        files.insert(key, value).expect("insert");
    });
    fails(&["store", path(&shape)], "a state other than");

    // The blob folder marked as the other kind of store's, or by no relay
    // (a new file each time: the copy's entries are hard links).
    let marked = s.plant("owner-file", &|_| {});
    let owner = marked.join("files").join("ozvi-store");
    assert_eq!(
        std::fs::read(&owner).expect("the relay wrote it"),
        b"sled\n"
    );
    for (mark, finding) in [
        (&b"postgres\n"[..], "marked as the other kind of store's"),
        (b"sled", "an ozvi-store the relay does not write"),
    ] {
        std::fs::remove_file(&owner).expect("remove");
        std::fs::write(&owner, mark).expect("write");
        fails(&["store", path(&marked)], finding);
    }
}
