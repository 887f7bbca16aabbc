//! The real `ozvi-relay` binary with `store = "postgres"` on a real
//! PostgreSQL server (tests/src/postgres.rs): a database it cannot use at
//! start (a wrong URL or password, a server that is down, a schema from a
//! newer relay) ends it with one clear line on standard error that never
//! holds the password, and exit status 1 (not a panic's 101); a database
//! that goes away while it serves is `503 storage_unavailable`, and once
//! the database is back the same process answers normally again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ozvi_relay::store::postgres::SCHEMA_VERSION;
use ozvi_tests::cast::Cast;
use ozvi_tests::person::Person;
use ozvi_tests::postgres::{DATABASE, PASSWORD, TestPostgres};
use ozvi_tests::programs::binary;
use ozvi_tests::relay::RelayProcess;

/// A data directory, the signed directory of Zlín and its root key.
struct Setup {
    dir: tempfile::TempDir,
    root_key: String,
}

impl Setup {
    fn new() -> Self {
        let (cast, _) = Cast::zlin(11, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        cast.write_directory(&dir.path().join("directory.json"));
        std::fs::write(
            dir.path().join("relay.toml"),
            "store = \"postgres\"\npow_difficulty = 0\nmetrics_listen = \"off\"\n",
        )
        .expect("write");
        Self {
            root_key: cast.root_key(),
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The relay's arguments (the URL goes in the environment or a flag).
    fn args(&self) -> Vec<String> {
        let path = |name: &str| self.path(name).display().to_string();
        vec![
            "--data".into(),
            path("data"),
            "--config".into(),
            path("relay.toml"),
            "--root-key".into(),
            self.root_key.clone(),
            "--directory".into(),
            path("directory.json"),
        ]
    }

    /// Runs the relay with `env` until it exits (it must, within 30 s);
    /// returns its exit code and standard error.
    fn run_until_exit(&self, extra: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
        let mut command = Command::new(binary("ozvi-relay"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(self.args())
            .args(extra)
            .stdin(std::process::Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("OZVI_") {
                command.env_remove(name);
            }
        }
        command.envs(env.iter().copied());
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the relay did not exit within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().expect("output");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Starts the relay on `url`, its debug log in `log`.
    fn serve(&self, url: &str, log: &Path) -> RelayProcess {
        RelayProcess::start(
            self.args(),
            &[("OZVI_DATABASE_URL", url), ("OZVI_LOG", "debug")],
            log,
        )
    }
}

/// The relay refused to start: exit status 1, exactly one line on standard
/// error, which says `needle` and never the password.
fn assert_refused(what: &str, (code, stderr): (Option<i32>, String), needle: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        code,
        Some(1),
        "{what}: exit status 1, not a panic:\n{stderr}"
    );
    assert_eq!(lines.len(), 1, "{what}: one line:\n{stderr}");
    assert!(
        lines[0].contains(needle),
        "{what}: says {needle:?}:\n{stderr}"
    );
    assert!(
        !stderr.contains(PASSWORD),
        "{what}: the password leaked:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}:\n{stderr}");
    assert!(!stderr.contains("listening"), "{what}:\n{stderr}");
}

#[test]
fn a_wrong_url_or_password_ends_the_relay_with_one_line_without_the_password() {
    let setup = Setup::new();
    let server = TestPostgres::start();
    let wrong_password = server.url().replace(PASSWORD, "not-the-password");
    assert!(!wrong_password.contains(PASSWORD));
    let malformed = format!("postgres://ozvi:{PASSWORD}@127.0.0.1:notaport/{DATABASE}");
    let no_database = server.url_of("no_such_database");
    for (what, url, needle) in [
        (
            "a malformed URL",
            malformed.as_str(),
            "not a valid PostgreSQL URL",
        ),
        (
            "a wrong password",
            wrong_password.as_str(),
            "cannot connect",
        ),
        ("no such database", no_database.as_str(), "cannot connect"),
    ] {
        assert_refused(
            what,
            setup.run_until_exit(&[], &[("OZVI_DATABASE_URL", url)]),
            needle,
        );
    }
    // The flag, as the environment.
    assert_refused(
        "a malformed URL as --database-url",
        setup.run_until_exit(&["--database-url", &malformed], &[]),
        "not a valid PostgreSQL URL",
    );
}

#[test]
fn a_store_setting_that_does_not_fit_is_one_line() {
    let setup = Setup::new();
    assert_refused(
        "postgres without a URL",
        setup.run_until_exit(&[], &[]),
        "OZVI_DATABASE_URL",
    );
    assert_refused(
        "a URL with sled",
        setup.run_until_exit(
            &["--store", "sled"],
            &[(
                "OZVI_DATABASE_URL",
                "postgres://ozvi:heslo-pro-postgres-5817@db/x",
            )],
        ),
        "store = \"postgres\"",
    );
}

#[test]
fn a_database_that_is_down_at_start_ends_the_relay_with_one_line() {
    let setup = Setup::new();
    let mut server = TestPostgres::start();
    let url = server.url();
    server.stop();
    assert_refused(
        "a stopped server",
        setup.run_until_exit(&[], &[("OZVI_DATABASE_URL", &url)]),
        "cannot connect to the database",
    );
}

/// The names under `dir`, with their contents' lengths.
fn listing(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("reads") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(listing(&path));
        } else {
            out.push((path.clone(), path.metadata().expect("size").len()));
        }
    }
    out.sort();
    out
}

#[test]
fn a_data_directory_of_the_other_store_ends_the_relay_with_one_line_and_is_left_as_it_is() {
    let setup = Setup::new();
    let data = setup.path("data");
    // A sled relay's data directory, with an upload being received.
    drop(ozvi_relay::store::SledStore::open(&data).expect("opens"));
    let partial = data
        .join("files")
        .join(format!("{}.{}.part", "0a".repeat(32), "0b".repeat(16)));
    std::fs::write(&partial, b"\x01").expect("writes");
    let before = listing(&data);
    // The database is never reached: the folder is checked first.
    let url = format!("postgres://ozvi:{PASSWORD}@127.0.0.1:1/{DATABASE}");
    assert_refused(
        "store = postgres on a sled store's data directory",
        setup.run_until_exit(&[], &[("OZVI_DATABASE_URL", &url)]),
        "a sled store",
    );
    assert_eq!(listing(&data), before);
    // And a relay on sled (no `store` set) on a PostgreSQL relay's folder.
    let other = Setup::new();
    let files = other.path("data").join("files");
    std::fs::create_dir_all(&files).expect("creates");
    std::fs::write(files.join("ozvi-store"), "postgres\n").expect("writes");
    std::fs::write(files.join(partial.file_name().expect("a name")), b"\x01").expect("writes");
    std::fs::write(
        other.path("relay.toml"),
        "pow_difficulty = 0\nmetrics_listen = \"off\"\n",
    )
    .expect("write");
    let before = listing(&other.path("data"));
    assert_refused(
        "sled on a PostgreSQL store's data directory",
        other.run_until_exit(&[], &[]),
        "a PostgreSQL store",
    );
    assert_eq!(
        listing(&other.path("data")),
        before,
        "no sled database made there"
    );
}

#[tokio::test]
async fn a_schema_from_a_newer_relay_ends_the_relay_with_one_line() {
    let setup = Setup::new();
    let server = TestPostgres::start();
    // A relay migrates the database, serves (so SIGTERM finds its handler
    // installed), then stops.
    let log = setup.path("relay.log");
    let mut relay = setup.serve(&server.url(), &log);
    assert_eq!(get(&relay.base, "/healthz").await.0, 200);
    let status = relay.terminate();
    assert!(
        status.success(),
        "{status}: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let newer = SCHEMA_VERSION + 1;
    server
        .psql(
            DATABASE,
            &format!(
                "INSERT INTO ozvi_schema (version, name, sha256) \
                 VALUES ({newer}, '{newer:04}_future.sql', sha256('future'::bytea))"
            ),
        )
        .expect("a newer relay's record");
    assert_refused(
        "a newer schema",
        setup.run_until_exit(&[], &[("OZVI_DATABASE_URL", &server.url())]),
        &format!("schema is version {newer}"),
    );
}

/// Waits until the relay's `/healthz` is 200 again, at most 30 s after the
/// database's `event` (its return, its thaw).
async fn recovers(base: &str, event: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = get(base, "/healthz").await;
        if status == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the relay did not recover within 30 s of the database's {event} (last {status})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET path` on the relay: its status and body.
async fn get(base: &str, path: &str) -> (u16, String) {
    let response = ozvi_tests::http::client()
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("the relay answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn a_database_lost_while_serving_is_503_and_the_relay_recovers_without_a_restart() {
    let setup = Setup::new();
    let mut server = TestPostgres::start();
    let log = setup.path("relay.log");
    let relay = setup.serve(&server.url(), &log);
    assert_eq!(get(&relay.base, "/healthz").await, (200, "ok".to_string()));
    let person = Person::new(3, &relay.base, &setup.root_key);
    person.write_first("ic-zlin", "první zpráva").await;

    server.stop();
    let (status, body) = get(&relay.base, "/healthz").await;
    assert_eq!(status, 503, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["code"], "storage_unavailable", "{body}");
    // A route that reads the store: her listing.
    let listing: serde_json::Value = serde_json::from_str(&person.listing().await).expect("JSON");
    assert_eq!(listing["code"], "storage_unavailable", "{listing}");
    // What needs no record is still served: the signed directory (with
    // the centres' phone numbers) and the page; the per-address limit then
    // counts in this relay's memory (src/admission/mod.rs).
    for _ in 0..3 {
        let (status, body) = get(&relay.base, "/api/v1/directory").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"signature\""), "{body}");
    }
    // What would need the shared counters fails closed: no challenge is
    // issued without the database.
    let response = ozvi_tests::http::client()
        .post(format!("{}/api/v1/pow", relay.base))
        .json(&serde_json::json!({"purpose": "create"}))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("storage_unavailable"), "{body}");

    server.start_again();
    recovers(&relay.base, "return").await;
    person.write_more("druhá zpráva").await;
    let texts: Vec<String> = person
        .read_all()
        .await
        .into_iter()
        .map(|(_, _, _, text)| text)
        .collect();
    assert_eq!(texts, ["první zpráva", "druhá zpráva"]);

    let written = std::fs::read_to_string(&log).expect("log");
    assert!(
        written.contains("storage unavailable"),
        "the failure is logged:\n{written}"
    );
    for secret in [PASSWORD, "první zpráva", &person.mailbox().to_b64()] {
        assert!(!written.contains(secret), "{secret} in the log:\n{written}");
    }
    // The PostgreSQL client logs statements with their parameters (the
    // records) at debug level: none of it reaches the relay's debug log.
    assert!(
        !written.contains("tokio_postgres"),
        "the database client's chatter is in the log:\n{written}"
    );
}

#[test]
fn help_names_the_store_settings_and_never_shows_the_url_from_the_environment() {
    let output = Command::new(binary("ozvi-relay"))
        .arg("--help")
        .env(
            "OZVI_DATABASE_URL",
            format!("postgres://ozvi:{PASSWORD}@db/ozvi"),
        )
        .output()
        .expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--store",
        "OZVI_STORE",
        "--database-url",
        "OZVI_DATABASE_URL",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
    assert!(!help.contains(PASSWORD), "the URL is shown:\n{help}");
}

/// `ozvi-relay export OUT` with `store = "postgres"`.
fn export_command(setup: &Setup, url: &str, out: &Path) -> std::process::Output {
    Command::new(binary("ozvi-relay"))
        .args(["--config", &setup.path("relay.toml").display().to_string()])
        .args(["--data", &setup.path("data").display().to_string()])
        .env("OZVI_DATABASE_URL", url)
        .arg("export")
        .arg(out)
        .output()
        .expect("runs")
}

/// On PostgreSQL, export reads the database in one snapshot into the sled
/// layout of a sled export (the records and the complete blobs), which a
/// sled store opens with the same records; the database it cannot reach is
/// one line without the password, and nothing is written.
#[tokio::test]
async fn export_on_postgres_writes_the_records_and_blobs_in_the_sled_layout() {
    use ozvi_crypto::MailboxId;
    use ozvi_crypto::protocol::file::{BLOB_LENGTHS, FileId};
    use ozvi_relay::store::postgres::PgStore;
    use ozvi_relay::store::{
        Author, CentreId, FileQuota, FileRecord, Quota, SledStore, Storage, Store,
    };

    let setup = Setup::new();
    let out = setup.path("export");
    let unreachable = export_command(&setup, &format!("postgres://ozvi:{PASSWORD}@db/ozvi"), &out);
    assert_refused(
        "export of a database out of reach",
        (
            unreachable.status.code(),
            String::from_utf8_lossy(&unreachable.stderr).into_owned(),
        ),
        "export failed: cannot connect to the database",
    );
    assert!(!out.exists(), "nothing was written");

    let server = TestPostgres::start();
    let store = PgStore::open(&server.url(), &setup.path("data"))
        .await
        .expect("opens");
    let centre = CentreId::parse("ic-zlin").expect("id");
    let mailbox = MailboxId([7; 16]);
    let envelope = |kind: u8| {
        let mut e = vec![0x5a; 200];
        e[0] = 2;
        e[1] = kind;
        e
    };
    store
        .create_thread(&mailbox, [3; 32], &centre, &envelope(1), 1_800_000_000)
        .await
        .expect("creates");
    let file = FileId([9; 16]);
    let blob = vec![1u8; usize::try_from(BLOB_LENGTHS[0]).expect("small")];
    let mut upload = store
        .begin_upload(
            &mailbox,
            &file,
            blob.len() as u64,
            [0; 32],
            1_800_000_000,
            FileQuota::default(),
        )
        .await
        .expect("begins");
    upload.write(&blob).expect("writes");
    upload.finish().await.expect("finishes");
    let quota = Quota {
        max_messages: 10,
        max_bytes: 1 << 20,
    };
    store
        .append_claiming(
            &mailbox,
            Author::Staff,
            &envelope(2),
            1_800_000_060,
            quota,
            &[file],
            FileQuota::default(),
        )
        .await
        .expect("appends");
    store
        .put_note(&mailbox, &envelope(3), 1_800_000_120)
        .await
        .expect("note");
    store.set_directory(b"{}").await.expect("directory");
    store
        .spend_nonce(&[4; 32], 1_800_000_000, 1_800_000_000)
        .await
        .expect("nonce");
    let thread = store
        .thread(&mailbox)
        .await
        .expect("reads")
        .expect("exists");

    let output = export_command(&setup, &server.url(), &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("1 threads, 2 messages, 1 files"),
        "{stdout}"
    );
    assert!(
        !format!("{stdout}{stderr}").contains(PASSWORD),
        "{stdout}{stderr}"
    );

    let copy = SledStore::open_released(&out, Duration::from_secs(10)).expect("a sled store");
    assert_eq!(copy.thread(&mailbox).expect("reads"), Some(thread));
    let messages = copy.messages(&mailbox, 0, 10).expect("reads");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].envelope, envelope(2));
    assert_eq!(copy.note(&mailbox).expect("reads"), Some(envelope(3)));
    assert_eq!(copy.directory().expect("reads"), Some(b"{}".to_vec()));
    assert_eq!(
        copy.changed_threads(&centre, 0, u64::MAX, 10)
            .expect("reads")
            .len(),
        1,
        "the inbox index"
    );
    assert!(
        !copy.nonce_spent(&[4; 32], 1_800_000_000).expect("reads"),
        "nonces are left out"
    );
    let name: String = FileRecord::key(&mailbox, &file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        std::fs::read(out.join("files").join(name)).expect("the blob"),
        blob
    );

    // A second export to the same place is refused.
    let again = export_command(&setup, &server.url(), &out);
    assert_eq!(again.status.code(), Some(1));
}

#[tokio::test]
async fn a_database_that_hangs_delays_nobody_for_the_page_and_records_get_503_in_time() {
    let setup = Setup::new();
    let mut server = TestPostgres::start();
    let log = setup.path("relay.log");
    let relay = setup.serve(&server.url(), &log);
    let person = Person::new(4, &relay.base, &setup.root_key);
    person.write_first("ic-zlin", "před zamrznutím").await;

    // The server answers nothing and refuses nothing (SIGSTOP): no error
    // ever comes back by itself.
    server.freeze();
    let started = Instant::now();
    let (status, body) = get(&relay.base, "/api/v1/directory").await;
    assert_eq!(status, 200, "{body}");
    let first = started.elapsed();
    assert!(
        first < Duration::from_secs(5),
        "the directory took {first:?}"
    );
    // Then not asked again for a while: at once.
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(get(&relay.base, "/api/v1/directory").await.0, 200);
    }
    let five = started.elapsed();
    assert!(five < Duration::from_secs(2), "five more took {five:?}");
    // A route that needs a record gets its answer within the statement
    // deadline (10 s), not when TCP gives up.
    let started = Instant::now();
    let listing: serde_json::Value = serde_json::from_str(&person.listing().await).expect("JSON");
    let waited = started.elapsed();
    assert_eq!(listing["code"], "storage_unavailable", "{listing}");
    assert!(
        waited < Duration::from_secs(20),
        "the listing took {waited:?}"
    );

    server.thaw();
    recovers(&relay.base, "thaw").await;
    person.write_more("po rozmrznutí").await;
    let texts: Vec<String> = person
        .read_all()
        .await
        .into_iter()
        .map(|(_, _, _, text)| text)
        .collect();
    assert_eq!(texts, ["před zamrznutím", "po rozmrznutí"]);
}
