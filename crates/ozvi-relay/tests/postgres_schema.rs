//! The PostgreSQL store's schema and start-up, on a real PostgreSQL server
//! (Debian's, started by the test harness: tests/src/postgres.rs): the
//! migrations apply once, a newer or edited schema is refused, a wrong URL
//! or a server that is down is a clear error, never a panic, and the
//! database itself refuses records of the wrong shape.

use std::time::{Duration, Instant};

use ozvi_relay::store::postgres::tokio_postgres::error::SqlState;
use ozvi_relay::store::postgres::{self, PgError, Pool, SCHEMA_VERSION};
use ozvi_tests::postgres::{DATABASE, PASSWORD, TestPostgres};

/// Every table the first migration makes.
const TABLES: &[&str] = &[
    "threads",
    "messages",
    "notes",
    "centre_records",
    "directory",
    "files",
    "staff_nonces",
    "admission_keys",
    "spent_challenges",
    "rate_counters",
    "centre_creations",
];

async fn tables(pool: &Pool) -> Vec<String> {
    let client = pool.get().await.expect("a connection");
    let rows = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .await
        .expect("query");
    rows.iter().map(|r| r.get(0)).collect()
}

async fn recorded_versions(pool: &Pool) -> Vec<i32> {
    let client = pool.get().await.expect("a connection");
    client
        .query("SELECT version FROM ozvi_schema ORDER BY version", &[])
        .await
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The error's text and debug form, which must not show the password.
fn assert_no_password(error: &PgError) {
    let shown = format!("{error} | {error:?}");
    assert!(!shown.contains(PASSWORD), "the password leaked: {shown}");
}

#[tokio::test]
async fn migrations_apply_on_an_empty_database() {
    let server = TestPostgres::start();
    assert_eq!(
        server
            .psql(
                DATABASE,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            )
            .as_deref(),
        Ok("0")
    );
    let pool = postgres::connect(&server.url())
        .await
        .expect("connects and migrates");
    let mut expected: Vec<String> = TABLES.iter().map(|t| (*t).to_string()).collect();
    expected.push("ozvi_schema".into());
    expected.sort();
    assert_eq!(tables(&pool).await, expected);
    assert_eq!(recorded_versions(&pool).await, vec![1]);
    assert_eq!(SCHEMA_VERSION, 1);
    // The admission tables are UNLOGGED (relpersistence 'u'), the records not.
    let persistence = server
        .psql(
            DATABASE,
            "SELECT string_agg(relname || '=' || relpersistence::text, ',' ORDER BY relname) \
             FROM pg_class WHERE relname IN ('admission_keys', 'spent_challenges', \
             'rate_counters', 'centre_creations', 'threads')",
        )
        .expect("query");
    assert_eq!(
        persistence,
        "admission_keys=u,centre_creations=u,rate_counters=u,spent_challenges=u,threads=p"
    );
}

#[tokio::test]
async fn connecting_again_applies_nothing_and_keeps_every_record() {
    let server = TestPostgres::start();
    let pool = postgres::connect(&server.url()).await.expect("first start");
    server
        .psql(DATABASE, &insert_thread(&ThreadRow::good()))
        .expect("a well-formed thread is stored");
    drop(pool);
    let again = postgres::connect(&server.url())
        .await
        .expect("second start");
    assert_eq!(recorded_versions(&again).await, vec![1]);
    assert_eq!(
        server
            .psql(DATABASE, "SELECT count(*) FROM threads")
            .as_deref(),
        Ok("1")
    );
}

#[tokio::test]
async fn relays_starting_together_migrate_once() {
    let server = TestPostgres::start();
    let url = server.url();
    let starts = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { postgres::connect(&url).await.map(|_| ()) })
    });
    for start in futures_util::future::join_all(starts).await {
        start.expect("joins").expect("every relay starts");
    }
    let pool = postgres::connect(&url).await.expect("connects");
    assert_eq!(recorded_versions(&pool).await, vec![1]);
}

#[tokio::test]
async fn a_database_with_a_newer_schema_is_refused_and_left_as_it_is() {
    let server = TestPostgres::start();
    drop(postgres::connect(&server.url()).await.expect("migrates"));
    server
        .psql(
            DATABASE,
            "INSERT INTO ozvi_schema VALUES (2, '0002_from_the_future.sql', sha256('x'))",
        )
        .expect("recorded");
    let error = postgres::connect(&server.url())
        .await
        .expect_err("an older relay refuses a newer schema");
    assert!(
        matches!(error, PgError::SchemaTooNew { found: 2, known: 1 }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("version 2, newer than this relay's 1"),
        "{text}"
    );
    assert_eq!(
        server
            .psql(
                DATABASE,
                "SELECT string_agg(version::text, ',' ORDER BY version) FROM ozvi_schema"
            )
            .as_deref(),
        Ok("1,2"),
        "nothing changed"
    );
}

#[tokio::test]
async fn a_database_whose_applied_migration_differs_is_refused() {
    let server = TestPostgres::start();
    drop(postgres::connect(&server.url()).await.expect("migrates"));
    server
        .psql(
            DATABASE,
            "UPDATE ozvi_schema SET sha256 = sha256('edited') WHERE version = 1",
        )
        .expect("updated");
    let error = postgres::connect(&server.url()).await.expect_err("refused");
    assert!(
        matches!(error, PgError::MigrationChanged { version: 1 }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_failing_migration_keeps_nothing() {
    let server = TestPostgres::start();
    // Another program's table in the way of the first migration.
    server
        .psql(DATABASE, "CREATE TABLE files (whatever integer)")
        .expect("created");
    let error = postgres::connect(&server.url()).await.expect_err("fails");
    match &error {
        PgError::Migration { version: 1, cause } => {
            assert!(cause.contains("\"files\" already exists"), "{cause}");
        }
        other => panic!("expected a failed migration 1, got {other:?}"),
    }
    assert_no_password(&error);
    assert_eq!(
        server
            .psql(
                DATABASE,
                "SELECT string_agg(tablename::text, ',') FROM pg_tables WHERE schemaname = 'public'"
            )
            .as_deref(),
        Ok("files"),
        "no table of the migration and no ozvi_schema row were kept"
    );
}

#[tokio::test]
async fn a_wrong_url_or_a_server_that_is_down_is_a_quick_clear_error() {
    let mut server = TestPostgres::start();
    let port = server.port();
    let unused_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    type Expected = fn(&PgError) -> bool;
    let cases: Vec<(String, Expected)> = vec![
        (
            format!("mysql://ozvi:{PASSWORD}@127.0.0.1:{port}/ozvi"),
            |e| matches!(e, PgError::Url),
        ),
        (
            format!("postgres://ozvi:{PASSWORD}@127.0.0.1:{port}/ozvi?sslmode=bogus"),
            |e| matches!(e, PgError::Url),
        ),
        (
            format!("postgres://ozvi:{PASSWORD}@127.0.0.1:{unused_port}/ozvi"),
            |e| matches!(e, PgError::Connect(c) if c.contains("refused")),
        ),
        (
            format!("postgres://ozvi:{PASSWORD}-wrong@127.0.0.1:{port}/ozvi"),
            |e| matches!(e, PgError::Connect(c) if c.contains("password authentication failed")),
        ),
        (
            format!("postgres://ozvi:{PASSWORD}@127.0.0.1:{port}/no_such_db"),
            |e| matches!(e, PgError::Connect(c) if c.contains("does not exist")),
        ),
    ];
    for (url, expected) in &cases {
        let started = Instant::now();
        let error = postgres::connect(url).await.expect_err("refused");
        eprintln!("refused: {error}");
        assert!(expected(&error), "{url}: {error:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{url}: slow");
        assert_no_password(&error);
    }

    // A server that takes the connection and never answers: the pool's
    // timeout ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("address").port();
    let settings = postgres::Settings {
        connect_timeout: Duration::from_secs(1),
        ..postgres::Settings::default()
    };
    let started = Instant::now();
    let error = postgres::connect_with(
        &format!("postgres://ozvi:{PASSWORD}@127.0.0.1:{silent_port}/ozvi"),
        settings,
    )
    .await
    .expect_err("no answer");
    eprintln!("refused: {error}");
    assert!(
        matches!(&error, PgError::Connect(c) if c.contains("timed out")),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(silent);

    server.stop();
    let started = Instant::now();
    let error = postgres::connect(&server.url())
        .await
        .expect_err("the server is down");
    assert!(matches!(error, PgError::Connect(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_no_password(&error);
    server.start_again();
    postgres::connect(&server.url())
        .await
        .expect("connects once the server is back");
}

/// A whole minute (1_800_000_000 is divisible by 60).
const MINUTE: i64 = 1_800_000_000;

/// A thread's columns, to vary one at a time.
#[derive(Clone)]
struct ThreadRow {
    mailbox: Vec<u8>,
    verifier: Vec<u8>,
    centre: String,
    created_at: i64,
    unanswered_since: i64,
    change: i64,
    unread: i64,
}

impl ThreadRow {
    fn good() -> Self {
        Self {
            mailbox: vec![1; 16],
            verifier: vec![7; 32],
            centre: "ic-zlin".into(),
            created_at: MINUTE,
            unanswered_since: MINUTE,
            change: 1,
            unread: 1,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("'\\x{digits}'::bytea")
}

fn insert_thread(t: &ThreadRow) -> String {
    format!(
        "INSERT INTO threads (mailbox_id, verifier, centre, created_at, last_activity, \
         unanswered_since, change, last_seq, message_count, total_bytes, staff_read_seq, unread) \
         VALUES ({}, {}, '{}', {}, {}, {}, {}, 1, 1, 1283, 0, {})",
        hex(&t.mailbox),
        hex(&t.verifier),
        t.centre,
        t.created_at,
        t.created_at,
        t.unanswered_since,
        t.change,
        t.unread
    )
}

/// A fake envelope: version, kind, then filler (the schema checks only
/// these and the length).
fn envelope(version: u8, kind: u8, len: usize) -> Vec<u8> {
    let mut e = vec![0x5a; len];
    if let Some(v) = e.get_mut(0) {
        *v = version;
    }
    if let Some(k) = e.get_mut(1) {
        *k = kind;
    }
    e
}

fn insert_message(mailbox: &[u8], seq: i64, stored_at: i64, envelope: &[u8]) -> String {
    format!(
        "INSERT INTO messages VALUES ({}, {seq}, {stored_at}, {})",
        hex(mailbox),
        hex(envelope)
    )
}

fn insert_file(file: &[u8], state: i16, claimed_by: i64, length: i64, binding: &[u8]) -> String {
    format!(
        "INSERT INTO files VALUES ({}, {}, {state}, {claimed_by}, 60, {length}, {})",
        hex(&[1; 16]),
        hex(file),
        hex(binding)
    )
}

#[tokio::test]
async fn the_database_refuses_malformed_records() {
    let server = TestPostgres::start();
    let pool = postgres::connect(&server.url()).await.expect("migrates");
    let client = pool.get().await.expect("a connection");
    let good = ThreadRow::good();
    let minute = good.created_at;
    let zero = [0u8; 32];

    // Well-formed records of every table are stored.
    let accepted = [
        insert_thread(&good),
        insert_message(&good.mailbox, 1, minute, &envelope(2, 1, 1283)),
        insert_message(&good.mailbox, 2, minute, &envelope(1, 2, 76587)),
        format!(
            "INSERT INTO notes VALUES ({}, {minute}, {})",
            hex(&good.mailbox),
            hex(&envelope(2, 3, 1283))
        ),
        format!(
            "INSERT INTO centre_records VALUES ('ic-zlin', {minute}, {})",
            hex(&envelope(2, 3, 1283))
        ),
        "INSERT INTO directory (json) VALUES ('\\x7b7d'::bytea)".into(),
        insert_file(&[2; 16], 0, 0, 65572, &zero),
        insert_file(&[3; 16], 2, 1, 16_781_332, &[9; 32]),
        format!(
            "INSERT INTO staff_nonces VALUES ({}, {})",
            hex(&[4; 32]),
            minute + 180
        ),
        format!(
            "INSERT INTO spent_challenges VALUES ({}, 1800000600)",
            hex(&[6; 16])
        ),
        format!(
            "INSERT INTO rate_counters VALUES (1, {}, {minute}, 3)",
            hex(&[8; 16])
        ),
        "INSERT INTO centre_creations VALUES ('ic-zlin', 1799996400, 2)".into(),
        format!(
            "INSERT INTO rate_counters VALUES (3, {}, 1799996400, 1)",
            hex(&[8; 16])
        ),
        format!(
            "INSERT INTO admission_keys VALUES (2, 499999, {}, 1800000000)",
            hex(&[7; 32])
        ),
    ];
    for sql in &accepted {
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    let thread = |change: &dyn Fn(&mut ThreadRow)| {
        let mut t = ThreadRow::good();
        t.mailbox = vec![0x42; 16];
        t.change = 2;
        change(&mut t);
        insert_thread(&t)
    };
    let check = SqlState::CHECK_VIOLATION;
    let refused: Vec<(&str, String, SqlState)> = vec![
        (
            "a 15-byte mailbox id",
            thread(&|t| t.mailbox = vec![0x42; 15]),
            check.clone(),
        ),
        (
            "a 17-byte mailbox id",
            thread(&|t| t.mailbox = vec![0x42; 17]),
            check.clone(),
        ),
        (
            "a 31-byte verifier",
            thread(&|t| t.verifier = vec![7; 31]),
            check.clone(),
        ),
        (
            "an upper-case centre",
            thread(&|t| t.centre = "IC-Zlin".into()),
            check.clone(),
        ),
        (
            "an empty centre",
            thread(&|t| t.centre = String::new()),
            check.clone(),
        ),
        (
            "a 33-byte centre",
            thread(&|t| t.centre = "a".repeat(33)),
            check.clone(),
        ),
        (
            "a time within a minute",
            thread(&|t| t.created_at += 1),
            check.clone(),
        ),
        (
            "a negative time",
            thread(&|t| t.created_at = -60),
            check.clone(),
        ),
        (
            "a case that waits for an answer",
            thread(&|t| {
                t.verifier = vec![0; 32];
                t.unanswered_since = 0;
            }),
            check.clone(),
        ),
        (
            "two threads of a centre with one change number",
            thread(&|t| t.change = 1),
            SqlState::UNIQUE_VIOLATION,
        ),
        (
            "a note's kind among the messages",
            insert_message(&good.mailbox, 3, minute, &envelope(2, 3, 1283)),
            check.clone(),
        ),
        (
            "an envelope of an unknown version",
            insert_message(&good.mailbox, 3, minute, &envelope(3, 1, 1283)),
            check.clone(),
        ),
        (
            "a one-byte envelope",
            insert_message(&good.mailbox, 3, minute, &envelope(2, 1, 1)),
            check.clone(),
        ),
        (
            "an envelope longer than the longest",
            insert_message(&good.mailbox, 3, minute, &envelope(2, 1, 76588)),
            check.clone(),
        ),
        (
            "a message stored within a minute",
            insert_message(&good.mailbox, 3, minute + 30, &envelope(2, 1, 1283)),
            check.clone(),
        ),
        (
            "a message of no thread",
            insert_message(&[0x43; 16], 1, minute, &envelope(2, 1, 1283)),
            SqlState::FOREIGN_KEY_VIOLATION,
        ),
        (
            "a person's message as a note",
            format!(
                "INSERT INTO notes VALUES ({}, {minute}, {})",
                hex(&good.mailbox),
                hex(&envelope(2, 1, 1283))
            ),
            check.clone(),
        ),
        (
            "a staff reply as a centre record",
            format!(
                "INSERT INTO centre_records VALUES ('ic-praha', {minute}, {})",
                hex(&envelope(2, 2, 1283))
            ),
            check.clone(),
        ),
        (
            "a blob length off a bucket",
            insert_file(&[0x44; 16], 1, 0, 65573, &zero),
            check.clone(),
        ),
        (
            "an unknown file state",
            insert_file(&[0x44; 16], 3, 0, 65572, &zero),
            check.clone(),
        ),
        (
            "a claimed file naming no message",
            insert_file(&[0x44; 16], 2, 0, 65572, &zero),
            check.clone(),
        ),
        (
            "an unclaimed file naming a message",
            insert_file(&[0x44; 16], 1, 5, 65572, &zero),
            check.clone(),
        ),
        (
            "a 15-byte file id",
            insert_file(&[0x44; 15], 1, 0, 65572, &zero),
            check.clone(),
        ),
        (
            "a 31-byte binding",
            insert_file(&[0x44; 16], 1, 0, 65572, &[0; 31]),
            check.clone(),
        ),
        (
            "a 31-byte nonce key",
            format!(
                "INSERT INTO staff_nonces VALUES ({}, {minute})",
                hex(&[5; 31])
            ),
            check.clone(),
        ),
        (
            "a 33-byte nonce key",
            format!(
                "INSERT INTO staff_nonces VALUES ({}, {minute})",
                hex(&[5; 33])
            ),
            check.clone(),
        ),
        (
            "a nonce expiry within a minute",
            format!(
                "INSERT INTO staff_nonces VALUES ({}, {})",
                hex(&[6; 32]),
                minute + 120 + 1
            ),
            check.clone(),
        ),
        (
            "a nonce key spent twice",
            format!(
                "INSERT INTO staff_nonces VALUES ({}, {minute})",
                hex(&[4; 32])
            ),
            SqlState::UNIQUE_VIOLATION,
        ),
        (
            "a 17-byte challenge id",
            format!(
                "INSERT INTO spent_challenges VALUES ({}, 1800000600)",
                hex(&[6; 17])
            ),
            check.clone(),
        ),
        (
            "an IPv4 address instead of its keyed hash",
            format!(
                "INSERT INTO rate_counters VALUES (1, {}, {minute}, 1)",
                hex(&[127, 0, 0, 1])
            ),
            check.clone(),
        ),
        (
            "an unknown rate scope",
            format!(
                "INSERT INTO rate_counters VALUES (5, {}, {minute}, 1)",
                hex(&[8; 16])
            ),
            check.clone(),
        ),
        (
            "an hourly rate counter whose window is not an hour",
            format!(
                "INSERT INTO rate_counters VALUES (4, {}, {}, 1)",
                hex(&[8; 16]),
                1_799_996_400 + 60
            ),
            check.clone(),
        ),
        (
            "a 31-byte admission key",
            format!(
                "INSERT INTO admission_keys VALUES (1, 3000000, {}, 1800001200)",
                hex(&[7; 31])
            ),
            check.clone(),
        ),
        (
            "an unknown kind of admission key",
            format!(
                "INSERT INTO admission_keys VALUES (3, 3000000, {}, 1800001200)",
                hex(&[7; 32])
            ),
            check.clone(),
        ),
        (
            "a second address key for one hour",
            format!(
                "INSERT INTO admission_keys VALUES (2, 499999, {}, 1800000000)",
                hex(&[9; 32])
            ),
            SqlState::UNIQUE_VIOLATION,
        ),
        (
            "a second directory",
            "INSERT INTO directory VALUES (false, '\\x7b7d'::bytea)".into(),
            check.clone(),
        ),
    ];
    for (what, sql, code) in &refused {
        let error = client
            .batch_execute(sql)
            .await
            .expect_err(&format!("{what} is refused: {sql}"));
        assert_eq!(error.code(), Some(code), "{what}: {error}");
    }
    // What was refused left nothing behind.
    let counts = server
        .psql(
            DATABASE,
            "SELECT (SELECT count(*) FROM threads) || ',' || (SELECT count(*) FROM messages) \
             || ',' || (SELECT count(*) FROM files) || ',' || (SELECT count(*) FROM rate_counters)",
        )
        .expect("query");
    assert_eq!(counts, "1,2,2,2");
}
