//! Each audit passes on what a real relay writes and serves, and catches
//! what it exists to catch: a plaintext record, a record of unknown shape,
//! a canary in any encoding, an address in a log, a changed JavaScript file,
//! a directory under another root key. Run through the `ozvi-audit` binary,
//! so the exit codes are checked too.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::{Envelope, Kind};
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::protocol::directory::{Centre, Names, StaffMember};
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::{DeploymentSalt, Directory, PersonKeys, StaffKeys};
use ozvi_relay::config::Config;
use ozvi_relay::state::SystemClock;
use ozvi_relay::store::{Author, CentreId, Quota, SledStore, Store};

const CANARY: &str = "Tajná zpráva KANÁR-5511";

fn audit(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ozvi-audit"))
        .args(args)
        .output()
        .expect("ozvi-audit runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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

struct World {
    root: Ed25519Secret,
    directory: Directory,
    staff: StaffKeys,
}

fn world() -> World {
    let mut rng = os_rng();
    let root = Ed25519Secret::generate(&mut rng);
    let staff = StaffKeys::generate(&mut rng);
    let directory = Directory {
        version: 2,
        issued_at: 1_700_000_000,
        salt: DeploymentSalt::generate(&mut rng),
        default_centre: "ic-zlin".into(),
        centres: vec![Centre {
            id: "ic-zlin".into(),
            names: Names {
                cs: "IC Zlín".into(),
                en: "IC Zlín".into(),
                uk: "IC Злін".into(),
            },
            regions: vec!["CZ-72".into()],
            staff: vec![StaffMember {
                id: "zlin-1".into(),
                label: "Jana".into(),
                keys: staff.public(),
            }],
        }],
    };
    World {
        root,
        directory,
        staff,
    }
}

fn envelope(w: &World, person: &PersonKeys, kind: Kind, text: &str) -> Vec<u8> {
    let recipients = match kind {
        Kind::StaffNote => vec![w.staff.public().x25519],
        _ => vec![w.staff.public().x25519, person.public().x25519],
    };
    let signer = match kind {
        Kind::PersonMessage => Signer::Person(person),
        _ => Signer::Staff(&w.staff),
    };
    seal(
        &mut os_rng(),
        signer,
        Message {
            kind,
            mailbox: &person.mailbox_id(),
            body: format!(r#"{{"text":"{text}"}}"#).as_bytes(),
            sent_at: 1,
        },
        &recipients,
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
            .create_thread(&mailbox, [seed; 32], &centre, &first, 1_700_000_040)
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
    assert_eq!(json["checked"]["messages records"], 4);
    assert_eq!(json["checked"]["threads records"], 2);
    assert_eq!(json["checked"]["payloads that look random"], 6);

    // Each plant goes into a fresh copy of the store.
    let plant = |name: &str, f: &dyn Fn(&sled::Db)| -> PathBuf {
        let copy = tmp.path().join(name);
        let store = SledStore::open(&data).expect("opens");
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
        let mut envelope = Envelope::parse(&value[9..]).expect("parses");
        let text = format!("{CANARY} ").repeat(envelope.payload.len() / (CANARY.len() + 1) + 1);
        let len = envelope.payload.len();
        envelope.payload = text.as_bytes()[..len].to_vec();
        let mut record = value[..9].to_vec();
        record.extend_from_slice(&envelope.to_bytes());
        messages.insert(key, record).expect("insert");
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
        "as base64url",
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

struct Served {
    base: String,
    handle: actix_web::dev::ServerHandle,
}

async fn serve(w: &World, data: &Path, web_root: &Path) -> Served {
    let directory_file = data.with_extension("directory.json");
    std::fs::write(
        &directory_file,
        w.directory.sign(&w.root).expect("signs").to_json(),
    )
    .expect("write");
    let config = Config {
        data: data.to_path_buf(),
        root_key: b64::encode(&w.root.public().to_bytes()),
        directory: Some(directory_file),
        web_root: Some(web_root.to_path_buf()),
        ..Config::default()
    };
    let store = Arc::new(SledStore::open(data).expect("opens"));
    let state = ozvi_relay::startup::build(config, store, Arc::new(SystemClock))
        .await
        .expect("state");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/", listener.local_addr().expect("address"));
    let server = ozvi_relay::startup::run(listener, state).expect("server");
    let handle = server.handle();
    tokio::spawn(server);
    Served { base, handle }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
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
    let relay = serve(&w, &tmp.path().join("data"), &site).await;
    let root_key = b64::encode(&w.root.public().to_bytes());

    let base = relay.base.as_str();
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
