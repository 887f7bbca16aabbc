//! `ozvi-audit store --database-url`: a relay's PostgreSQL database, written
//! by the relay's own PostgreSQL store on a real server
//! (ozvi_tests::postgres), audits clean, and each planted problem is found:
//! plaintext in an envelope, a row of the wrong shape (its constraint
//! dropped first), a table or column beside the relay's, a logged admission
//! table, a blob that is not ciphertext. The URL's password is never shown.

use std::path::Path;
use std::process::Output;

use ozvi_crypto::format::envelope::{Envelope, Kind};
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::{MailboxId, PersonKeys};
use ozvi_tests::cast::Cast;
use ozvi_tests::postgres::{PASSWORD, TestPostgres};
use ozvi_tests::programs::{copy_dir, text};
use ozvi_tests::relay::store::postgres::PgStore;
use ozvi_tests::relay::store::{Author, CentreId, FileQuota, Quota, Storage};

mod common;
use common::{CANARY, World, envelope, world};

const QUOTA: Quota = Quota {
    max_messages: 100,
    max_bytes: 1 << 20,
};

fn staff_sealed(w: &World, mailbox: &MailboxId, kind: Kind, body: &[u8]) -> Vec<u8> {
    seal(
        &mut os_rng(),
        Signer::Staff(&w.staff),
        Message {
            kind,
            mailbox,
            body,
            sent_at: 1,
        },
        &[w.staff.public().x25519],
    )
    .expect("seals")
}

/// Two conversations (her message, a reply, a note; the first with her
/// photo claimed by the reply), a staff-only case, the centre's templates,
/// the directory and a spent staff nonce, written by the relay's
/// PostgreSQL store; admission rows as the relays leave them.
async fn seed(w: &World, url: &str, data: &Path) {
    let store = PgStore::open(url, data).await.expect("opens");
    let centre = CentreId::parse("ic-zlin").expect("id");
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
            .await
            .expect("creates");
        let mut files = Vec::new();
        if seed == 1 {
            let photo = ozvi_crypto::protocol::file::seal(
                &mut os_rng(),
                &mailbox,
                CANARY.repeat(3000).as_bytes(),
                "image/jpeg",
                Some((10, 10)),
                None,
            )
            .expect("seals");
            let mut upload = store
                .begin_upload(
                    &mailbox,
                    &photo.reference.id,
                    photo.blob.len() as u64,
                    [0; 32],
                    1_700_000_060,
                    FileQuota::default(),
                )
                .await
                .expect("begins");
            for part in photo.blob.chunks(65536) {
                upload.write(part).expect("writes");
            }
            upload.finish().await.expect("finishes");
            files.push(photo.reference.id);
        }
        let reply = envelope(w, &person, Kind::StaffReply, "Dobrý den");
        store
            .append_claiming(
                &mailbox,
                Author::Staff,
                &reply,
                1_700_000_100,
                QUOTA,
                &files,
                FileQuota::default(),
            )
            .await
            .expect("appends");
        let note = envelope(w, &person, Kind::StaffNote, "interní");
        store
            .put_note(&mailbox, &note, 1_700_000_160)
            .await
            .expect("note");
    }
    let case = MailboxId([
        0x5e, 0x0b, 0x9a, 0x31, 0xc4, 0x7f, 0x12, 0xe8, 0x6d, 0xa0, 0x3b, 0x94, 0x27, 0xf1, 0x58,
        0xcd,
    ]);
    for (at, text) in [(1_700_000_220, "vykázání"), (1_700_000_280, "pokus")] {
        let body = format!("{{\"type\":\"note\",\"text\":\"{text}\"}}");
        let entry = staff_sealed(w, &case, Kind::CaseEntry, body.as_bytes());
        if at == 1_700_000_220 {
            store
                .create_thread(&case, [0; 32], &centre, &entry, at)
                .await
                .expect("opens the case");
        } else {
            store
                .append(&case, Author::Case, &entry, at, QUOTA)
                .await
                .expect("appends");
        }
    }
    let templates = staff_sealed(
        w,
        &ozvi_crypto::protocol::addressing::centre_record_mailbox("ic-zlin"),
        Kind::StaffNote,
        br#"{"templates":[{"id":"prvni","lang":"cs","title":"T","text":"Dobry den"}]}"#,
    );
    store
        .put_centre_record(&centre, &templates, 1_700_000_200)
        .await
        .expect("templates");
    store
        .set_directory(
            w.directory
                .sign(&w.root)
                .expect("signs")
                .to_json()
                .as_bytes(),
        )
        .await
        .expect("directory");
    let nonce = ozvi_crypto::primitives::hash::sha256(&[b"a staff request's nonce"]);
    store
        .spend_nonce(&nonce, 1_800_000_000, 1_800_000_000)
        .await
        .expect("spends");
    let client = store.pool().get().await.expect("a connection");
    client
        .batch_execute(
            "INSERT INTO admission_keys VALUES \
               (1, 3000000, decode(md5('a') || md5('b'), 'hex'), 1800001200), \
               (2, 500000, decode(md5('c') || md5('d'), 'hex'), 1800003600); \
             INSERT INTO spent_challenges VALUES (decode(md5('e'), 'hex'), 1800001200); \
             INSERT INTO rate_counters VALUES (1, decode(md5('f'), 'hex'), 1800000000, 3), \
               (3, decode(md5('g'), 'hex'), 1800000000, 1); \
             INSERT INTO centre_creations VALUES ('ic-zlin', 1800000000, 2);",
        )
        .await
        .expect("admission rows");
}

fn audit(args: &[&str], env: &[(&str, &str)]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ozvi-audit"))
        .args(args)
        .env_remove("OZVI_DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .expect("ozvi-audit runs")
}

/// The audit of database `db` with blobs under `data`.
fn audit_db(server: &TestPostgres, db: &str, data: &Path, extra: &[&str]) -> Output {
    let files = data.join("files");
    let mut args = vec!["store", "--files", files.to_str().expect("UTF-8")];
    args.extend_from_slice(extra);
    let out = audit(&args, &[("OZVI_DATABASE_URL", &server.url_of(db))]);
    assert!(!text(&out).contains(PASSWORD), "{}", text(&out));
    out
}

fn fails(out: &Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "should find something: {}",
        text(out)
    );
    assert!(
        text(out).contains(needle),
        "expected {needle:?} in {}",
        text(out)
    );
}

/// A copy of the seeded database and blobs, changed by `sql` (and then by
/// `blobs`): its name and data directory.
fn plant(
    server: &TestPostgres,
    seeded: &Path,
    name: &str,
    sql: &str,
    blobs: &dyn Fn(&Path),
) -> (String, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("temp dir");
    copy_dir(seeded, data.path());
    server
        .psql(
            "postgres",
            &format!("CREATE DATABASE {name} TEMPLATE seeded"),
        )
        .expect("copies the database");
    if !sql.is_empty() {
        server.psql(name, sql).expect("plants");
    }
    blobs(&data.path().join("files"));
    (name.to_string(), data)
}

#[test]
fn a_relay_database_passes_and_every_planted_problem_is_found() {
    let w = world();
    let server = TestPostgres::start();
    let seeded = tempfile::tempdir().expect("temp dir");
    let url = server.create_database("seeded");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(seed(&w, &url, seeded.path()));
    // Every connection of the runtime is closed: the database can be a
    // template.

    let out = audit_db(
        &server,
        "seeded",
        seeded.path(),
        &["--json", "--canary", CANARY],
    );
    assert_eq!(out.status.code(), Some(0), "should pass: {}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let checked = &json["checked"];
    assert_eq!(checked["threads records"], 3, "{json}");
    assert_eq!(checked["messages records"], 6, "{json}");
    assert_eq!(checked["notes records"], 2, "{json}");
    assert_eq!(checked["centres records"], 1, "{json}");
    assert_eq!(checked["activity records"], 3, "{json}");
    assert_eq!(checked["files records"], 1, "{json}");
    assert_eq!(checked["blobs read"], 1, "{json}");
    assert_eq!(checked["nonces records"], 1, "{json}");
    assert_eq!(checked["admission records"], 6, "{json}");
    assert_eq!(checked["cases (staff-only)"], 1, "{json}");
    // `ozvi-relay export` of the database: a sled export every sled check
    // reads, which finds the same records (the spent nonce left out).
    let export = tempfile::tempdir().expect("temp dir");
    let exported_to = export.path().join("export");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(ozvi_tests::relay::store::postgres::export::export(
            &url,
            seeded.path(),
            &exported_to,
        ))
        .expect("exports");
    let exported = audit(
        &[
            "store",
            exported_to.to_str().expect("UTF-8"),
            "--json",
            "--canary",
            CANARY,
        ],
        &[],
    );
    assert_eq!(
        exported.status.code(),
        Some(0),
        "should pass: {}",
        text(&exported)
    );
    let json: serde_json::Value = serde_json::from_slice(&exported.stdout).expect("JSON");
    for count in [
        "threads records",
        "messages records",
        "notes records",
        "centres records",
        "activity records",
        "files records",
        "blobs read",
        "envelopes parsed",
        "stanza key ids checked",
        "cases (staff-only)",
    ] {
        assert!(checked[count].as_u64().is_some_and(|n| n > 0), "{count}");
        assert_eq!(json["checked"][count], checked[count], "{count}: {json}");
    }
    assert!(json["checked"]["nonces records"].is_null(), "{json}");

    // With the root key the directory is verified.
    let root = ozvi_crypto::format::b64::encode(&w.root.public().to_bytes());
    let out = audit_db(&server, "seeded", seeded.path(), &["--root-key", &root]);
    assert_eq!(out.status.code(), Some(0), "should pass: {}", text(&out));
    assert!(
        text(&out).contains("verified under the root key"),
        "{}",
        text(&out)
    );

    // Her words as plain text in an envelope's payload.
    let canary = plant(&server, seeded.path(), "canary", "", &|_| {});
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&server.url_of("canary"), tokio_postgres::NoTls)
                .await
                .expect("connects");
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT mailbox_id, seq, envelope FROM messages ORDER BY mailbox_id, seq LIMIT 1",
                &[],
            )
            .await
            .expect("a message");
        let (mailbox, seq, bytes): (Vec<u8>, i64, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
        let mut envelope = Envelope::parse(&bytes).expect("parses");
        let len = envelope.payload.len();
        let text = format!("{CANARY} ").repeat(len / (CANARY.len() + 1) + 1);
        envelope.payload = text.as_bytes()[..len].to_vec();
        client
            .execute(
                "UPDATE messages SET envelope = $3 WHERE mailbox_id = $1 AND seq = $2",
                &[&mailbox, &seq, &envelope.to_bytes()],
            )
            .await
            .expect("plants");
    });
    let out = audit_db(&server, &canary.0, canary.1.path(), &["--canary", CANARY]);
    fails(&out, "holds the canary");
    fails(&out, "does not look like ciphertext");

    // A row of the wrong shape, once its constraint is dropped: a message
    // stored at a second, not a minute; a negative expiry.
    let shape = plant(
        &server,
        seeded.path(),
        "shape",
        "ALTER TABLE messages DROP CONSTRAINT messages_stored_at_check; \
         UPDATE messages SET stored_at = stored_at + 7 WHERE seq = 2; \
         ALTER TABLE staff_nonces DROP CONSTRAINT staff_nonces_refused_until_check; \
         UPDATE staff_nonces SET refused_until = -60;",
        &|_| {},
    );
    let out = audit_db(&server, &shape.0, shape.1.path(), &[]);
    fails(&out, "stored at is not a whole minute");
    fails(
        &out,
        "does not fit its documented record: a negative number",
    );

    // Data kept beside the relay's tables: a table, a column, a view, a
    // large object; and a counter table that is logged.
    let extra = plant(
        &server,
        seeded.path(),
        "extra",
        "CREATE TABLE kopie (text text); INSERT INTO kopie VALUES ('Tajná zpráva'); \
         CREATE SCHEMA stranou; CREATE TABLE stranou.adresy (ip inet); \
         ALTER TABLE notes ADD COLUMN plain text; \
         ALTER TABLE rate_counters SET LOGGED;",
        &|_| {},
    );
    let out = audit_db(&server, &extra.0, extra.1.path(), &[]);
    fails(&out, "table public.kopie");
    fails(&out, "table stranou.adresy");
    fails(&out, "a table the relay does not create");
    fails(&out, "columns other than the relay's");
    fails(&out, "plain");
    fails(&out, "not UNLOGGED");

    // A blob that is not ciphertext (its format byte and length kept).
    let blob = plant(&server, seeded.path(), "blob", "", &|files| {
        let path = std::fs::read_dir(files)
            .expect("blobs")
            .map(|e| e.expect("entry").path())
            .find(|p| !p.ends_with("ozvi-store"))
            .expect("one");
        let len = std::fs::metadata(&path).expect("exists").len() as usize;
        let mut plain = "Dobrý den, potřebuji pomoc. ".repeat(len / 20).into_bytes();
        plain.truncate(len);
        plain[0] = 1;
        std::fs::write(&path, plain).expect("writes");
    });
    let out = audit_db(&server, &blob.0, blob.1.path(), &[]);
    fails(&out, "its ciphertext");

    // Its blob folder marked as a sled store's.
    let marked = plant(&server, seeded.path(), "marked", "", &|files| {
        let owner = files.join("ozvi-store");
        assert_eq!(std::fs::read(&owner).expect("written"), b"postgres\n");
        std::fs::remove_file(&owner).expect("removes");
        std::fs::write(&owner, b"sled\n").expect("writes");
    });
    let out = audit_db(&server, &marked.0, marked.1.path(), &[]);
    fails(&out, "marked as the other kind of store's");

    // A sled path is audited as sled even with a URL in the environment;
    // a URL without --files cannot run.
    let out = audit(
        &["store", exported_to.to_str().expect("UTF-8")],
        &[("OZVI_DATABASE_URL", &server.url_of("seeded"))],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = audit(
        &["store"],
        &[("OZVI_DATABASE_URL", &server.url_of("seeded"))],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("needs --files"), "{}", text(&out));
    assert!(!text(&out).contains(PASSWORD), "{}", text(&out));

    // A wrong password: the audit cannot run (2), and never shows the URL.
    let wrong = server
        .url_of("seeded")
        .replace(PASSWORD, "spatne-heslo-123");
    let out = audit(
        &["store", "--files", seeded.path().to_str().expect("UTF-8")],
        &[("OZVI_DATABASE_URL", &wrong)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains("spatne-heslo-123"), "{}", text(&out));
    assert!(text(&out).contains("cannot connect"), "{}", text(&out));
}

/// A relay in this process on PostgreSQL (as `ozvi-relay` with `store =
/// "postgres"` and an `admission_secret`): the people's messages through
/// its HTTP API, admission counted in the database. Its database, with
/// the rows admission leaves, audits clean, her words nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_a_relay_served_from_audits_clean() {
    use ozvi_relay::startup::{self, Engine};
    use ozvi_relay::state::{Clock as _, SystemClock};

    let server = TestPostgres::start();
    let url = server.url();
    let (cast, _) = Cast::zlin(71, 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ozvi_tests::relay::config(&cast, dir.path());
    config.store = ozvi_relay::config::StoreKind::Postgres;
    config.database_url = Some(ozvi_relay::config::DatabaseUrl::new(url.clone()));
    config.admission_secret = Some(ozvi_relay::config::AdmissionSecret::new(
        ozvi_crypto::format::b64::encode(&[7u8; 32]),
    ));
    let data = config.data.clone();
    let store = PgStore::open(&url, &data).await.expect("opens");
    let secret = zeroize::Zeroizing::new([7u8; 32]);
    let engine = Engine::postgres_keyed(store, &url, Some(secret), SystemClock.now())
        .await
        .expect("admission on PostgreSQL");
    let state = startup::build(config, engine, std::sync::Arc::new(SystemClock))
        .await
        .expect("builds");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let relay = startup::run(listener, state).expect("starts");
    let handle = relay.handle();
    tokio::spawn(relay);
    for seed in [3u8, 4] {
        let person = ozvi_tests::person::Person::new(seed, &base, &cast.root_key());
        person.write_first("ic-zlin", CANARY).await;
        person.write_more(&format!("{CANARY} podruhé")).await;
    }
    handle.stop(true).await;

    let root = ozvi_crypto::format::b64::encode(&cast.root.public().to_bytes());
    let out = tokio::task::spawn_blocking(move || {
        audit_db(
            &server,
            "ozvi",
            &data,
            &["--json", "--canary", CANARY, "--root-key", &root],
        )
    })
    .await
    .expect("joins");
    assert_eq!(out.status.code(), Some(0), "should pass: {}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["checked"]["threads records"], 2, "{json}");
    assert_eq!(json["checked"]["messages records"], 4, "{json}");
    assert!(
        json["checked"]["admission records"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "admission's rows are read: {json}"
    );
}
