//! `ozvi-audit store --database-url URL --files DIR`: the same audit on a
//! relay whose records are in PostgreSQL (`store = "postgres"`).
//!
//! The tables are read in one `REPEATABLE READ, READ ONLY` transaction: one
//! consistent snapshot, taken while the relays run, and nothing written.
//! Each row is put field by field into the bytes of the sled record it
//! stands for (docs/API.md "What is stored": the version byte the schema
//! leaves out is 1, a centre id padded to 33 bytes, integers big-endian),
//! so every check of [`super`] applies unchanged: one set of checks, two
//! readers. A row that cannot be put in that layout (a negative number, a
//! centre id of the wrong characters, a column of another type) is a
//! finding of its own. The inbox index (sled `activity`) is the threads'
//! `(centre, change)` columns.
//!
//! Before any record, the database itself: every table, view, sequence or
//! foreign table in any schema must be one of the relay's, with exactly its
//! columns and types, the admission tables UNLOGGED and the others not; no
//! large object and no function may exist. Data kept anywhere else in the
//! database is a finding, not something the audit could overlook. Then the
//! rows with no sled counterpart: the schema's record (`ozvi_schema`), the
//! threads' change numbers (transaction ids: none the database has not yet
//! handed out), and admission's
//! UNLOGGED tables (keys and keyed hashes of their documented lengths that
//! look random, whole minutes or hours, counts in range).
//!
//! What it cannot see: rows deleted or updated but not yet vacuumed (their
//! old bytes stay in the table files until PostgreSQL reuses the space:
//! search a copy of the server's data directory with `ozvi-audit logs
//! --canary` if that matters), other databases of the server, and the WAL.
//!
//! The URL is never printed: errors carry the server's message or the
//! client's reason, with the password cut out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use anyhow::Context;
use futures_util::StreamExt;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, RowStream};

use super::{
    CENTRE_LEN, Canary, MINUTE, Record, Report, Source, Thread, judge_field, search, short_hex,
};

/// A table: its name, whether it is UNLOGGED, its columns and their types.
type Table = (&'static str, bool, &'static [(&'static str, &'static str)]);

/// The relay's tables (crates/ozvi-relay/migrations), each column with the
/// type `format_type` names, and whether the table is UNLOGGED.
const SCHEMA: &[Table] = &[
    (
        "ozvi_schema",
        false,
        &[
            ("version", "integer"),
            ("name", "text"),
            ("sha256", "bytea"),
        ],
    ),
    (
        "threads",
        false,
        &[
            ("mailbox_id", "bytea"),
            ("verifier", "bytea"),
            ("centre", "text"),
            ("created_at", "bigint"),
            ("last_activity", "bigint"),
            ("unanswered_since", "bigint"),
            ("change", "bigint"),
            ("last_seq", "bigint"),
            ("message_count", "bigint"),
            ("total_bytes", "bigint"),
            ("staff_read_seq", "bigint"),
            ("unread", "bigint"),
        ],
    ),
    (
        "messages",
        false,
        &[
            ("mailbox_id", "bytea"),
            ("seq", "bigint"),
            ("stored_at", "bigint"),
            ("envelope", "bytea"),
        ],
    ),
    (
        "notes",
        false,
        &[
            ("mailbox_id", "bytea"),
            ("stored_at", "bigint"),
            ("envelope", "bytea"),
        ],
    ),
    (
        "centre_records",
        false,
        &[
            ("centre", "text"),
            ("stored_at", "bigint"),
            ("envelope", "bytea"),
        ],
    ),
    (
        "directory",
        false,
        &[("only_row", "boolean"), ("json", "bytea")],
    ),
    (
        "files",
        false,
        &[
            ("mailbox_id", "bytea"),
            ("file_id", "bytea"),
            ("state", "smallint"),
            ("claimed_by", "bigint"),
            ("created_at", "bigint"),
            ("length", "bigint"),
            ("binding", "bytea"),
        ],
    ),
    (
        "staff_nonces",
        false,
        &[("nonce_key", "bytea"), ("refused_until", "bigint")],
    ),
    (
        "admission_keys",
        true,
        &[
            ("kind", "smallint"),
            ("period", "bigint"),
            ("key", "bytea"),
            ("forget_at", "bigint"),
        ],
    ),
    (
        "spent_challenges",
        true,
        &[("challenge_id", "bytea"), ("forget_at", "bigint")],
    ),
    (
        "rate_counters",
        true,
        &[
            ("scope", "smallint"),
            ("subject", "bytea"),
            ("window_start", "bigint"),
            ("hits", "bigint"),
        ],
    ),
    (
        "centre_creations",
        true,
        &[
            ("centre", "text"),
            ("hour_start", "bigint"),
            ("created", "bigint"),
        ],
    ),
];

/// Schemas PostgreSQL keeps for itself.
const SYSTEM_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// Audits the relay database at `url` and the blob directory `files` (the
/// relay's `DATA/files`).
pub fn audit(
    url: &str,
    files: &Path,
    canaries: &[Canary],
    root: Option<&ozvi_crypto::primitives::sig::Ed25519Public>,
    earlier: &[ozvi_crypto::Directory],
) -> anyhow::Result<crate::report::Report> {
    anyhow::ensure!(
        files.is_dir(),
        "{} is not a directory: pass the relay's blob directory (DATA/files) with --files",
        files.display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut source = runtime.block_on(PgSource::connect(url, files))?;
    source.runtime = Some(runtime);
    let report = super::audit_source(&mut source, Report::new("store"), canaries, root, earlier)?;
    source.block_on(source.client.batch_execute("COMMIT"))?;
    Ok(report)
}

/// The relay's tables in one read-only snapshot.
struct PgSource {
    runtime: Option<tokio::runtime::Runtime>,
    client: Client,
    password: Option<String>,
    files: PathBuf,
    /// Tables whose columns are not the documented ones: not read.
    unreadable: Vec<&'static str>,
    /// Rows that do not fit their sled record: (where, what).
    misfits: Vec<(String, String)>,
    /// The next transaction id at the snapshot (its xmax): every change
    /// number, a writing transaction's id, is below it.
    next_xact: Option<i64>,
}

impl PgSource {
    async fn connect(url: &str, files: &Path) -> anyhow::Result<Self> {
        let config: tokio_postgres::Config = url.parse().map_err(|_| {
            anyhow::anyhow!(
                "the database URL is not a valid PostgreSQL URL \
                 (postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
            )
        })?;
        let password = config
            .get_password()
            .and_then(|p| std::str::from_utf8(p).ok())
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        let redact = |text: String| match &password {
            Some(p) => text.replace(p.as_str(), "[password]"),
            None => text,
        };
        let (client, connection) = config.connect(NoTls).await.map_err(|e| {
            anyhow::anyhow!("cannot connect to the database: {}", redact(describe(&e)))
        })?;
        tokio::spawn(connection);
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| anyhow::anyhow!("cannot begin a snapshot: {}", redact(describe(&e))))?;
        Ok(Self {
            runtime: None,
            client,
            password,
            files: files.to_path_buf(),
            unreadable: Vec::new(),
            misfits: Vec::new(),
            next_xact: None,
        })
    }

    /// Runs a query's future to its end, its error without the password.
    fn block_on<T>(
        &self,
        future: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> anyhow::Result<T> {
        let runtime = self.runtime.as_ref().context("no runtime")?;
        runtime.block_on(future).map_err(|e| self.error(&e))
    }

    fn error(&self, e: &tokio_postgres::Error) -> anyhow::Error {
        let text = describe(e);
        let text = match &self.password {
            Some(p) => text.replace(p.as_str(), "[password]"),
            None => text,
        };
        anyhow::anyhow!("reading the database: {text}")
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> anyhow::Result<Vec<Row>> {
        self.block_on(self.client.query(sql, params))
    }

    /// Every relation and column against [`SCHEMA`]; no large object, no
    /// function.
    fn check_schema(&mut self, report: &mut Report) -> anyhow::Result<()> {
        let relations = self.query(
            &format!(
                "SELECT n.nspname, c.relname, c.relkind::text, c.relpersistence::text, \
                 n.nspname = current_schema() \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE {SYSTEM_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') \
                 ORDER BY 1, 2"
            ),
            &[],
        )?;
        let mut found = Vec::new();
        for row in &relations {
            let (schema, name, kind, persistence, current): (String, String, String, String, bool) =
                (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
            report.count("tables read");
            let at = format!("table {schema}.{name}");
            let documented = SCHEMA.iter().find(|(n, ..)| *n == name);
            match documented {
                Some((table, unlogged, _)) if current && kind == "r" => {
                    found.push(*table);
                    if *unlogged != (persistence == "u") {
                        report.fail(
                            &at,
                            if *unlogged {
                                "not UNLOGGED: admission's counters would reach the WAL and \
                                 its archive"
                            } else {
                                "UNLOGGED, unlike the relay's records"
                            },
                        );
                    }
                }
                _ => report.fail(
                    &at,
                    format!(
                        "a {} the relay does not create: data kept beside its records",
                        relation_kind(&kind)
                    ),
                ),
            }
        }
        for (table, _, columns) in SCHEMA {
            if !found.contains(table) {
                report.fail(format!("table {table}"), "missing");
                self.unreadable.push(table);
                continue;
            }
            let rows = self.query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
                 FROM pg_attribute a \
                 WHERE a.attrelid = (quote_ident(current_schema()) || '.' || $1)::regclass \
                 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                &[table],
            )?;
            let actual: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            let expected: Vec<(String, String)> = columns
                .iter()
                .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
                .collect();
            if actual != expected {
                let extra: Vec<&str> = actual
                    .iter()
                    .filter(|c| !expected.contains(c))
                    .map(|(n, _)| n.as_str())
                    .collect();
                report.fail(
                    format!("table {table}"),
                    format!(
                        "columns other than the relay's (not documented or of another type: \
                         {}); not read",
                        if extra.is_empty() {
                            "none, but some are missing".to_string()
                        } else {
                            extra.join(", ")
                        }
                    ),
                );
                self.unreadable.push(table);
            }
        }
        let objects: i64 = self
            .query("SELECT count(*) FROM pg_largeobject_metadata", &[])?
            .first()
            .map_or(0, |r| r.get(0));
        if objects > 0 {
            report.fail(
                "large objects",
                format!("{objects} large object(s): the relay stores none"),
            );
        }
        let functions = self.query(
            &format!(
                "SELECT n.nspname || '.' || p.proname FROM pg_proc p \
                 JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {SYSTEM_SCHEMAS} ORDER BY 1"
            ),
            &[],
        )?;
        for row in &functions {
            let name: String = row.get(0);
            report.fail(
                format!("function {name}"),
                "a function the relay does not create (it could keep or copy data)",
            );
        }
        Ok(())
    }

    /// Rows of `table` (the columns of [`SCHEMA`]) streamed, each mapped by
    /// `map` to its sled record or to a misfit.
    fn rows(&mut self, table: &'static str, sql: &str, map: Mapper) -> anyhow::Result<Rows<'_>> {
        let skip = self.unreadable.contains(&table);
        let stream = if skip {
            None
        } else {
            let params: [&(dyn ToSql + Sync); 0] = [];
            Some(Box::pin(self.block_on(
                self.client.query_raw(sql, params.iter().copied()),
            )?))
        };
        Ok(Rows {
            source: self,
            table,
            stream,
            map,
        })
    }
}

/// Maps one row onto its sled record; `Err` names what does not fit.
type Mapper = fn(&Row) -> Result<Record, String>;

/// A table's rows as sled records.
struct Rows<'a> {
    source: &'a mut PgSource,
    table: &'static str,
    stream: Option<Pin<Box<RowStream>>>,
    map: Mapper,
}

impl Iterator for Rows<'_> {
    type Item = anyhow::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let stream = self.stream.as_mut()?;
            let runtime = self.source.runtime.as_ref()?;
            let row = match runtime.block_on(stream.next())? {
                Ok(row) => row,
                Err(e) => return Some(Err(self.source.error(&e))),
            };
            match (self.map)(&row) {
                Ok(record) => return Some(Ok(record)),
                Err(problem) => {
                    // The row's key: bytes, or a centre id.
                    let key = row
                        .try_get::<_, Vec<u8>>(0)
                        .or_else(|_| row.try_get::<_, String>(0).map(String::into_bytes))
                        .unwrap_or_default();
                    self.source
                        .misfits
                        .push((format!("{} {}", self.table, short_hex(&key)), problem));
                }
            }
        }
    }
}

impl Source for PgSource {
    fn layout(&mut self, canaries: &[Canary], report: &mut Report) -> anyhow::Result<()> {
        self.check_schema(report)?;
        self.check_schema_record(canaries, report)?;
        self.read_next_xact()?;
        self.check_admission(canaries, report)
    }

    fn records(
        &mut self,
        tree: &str,
    ) -> anyhow::Result<Box<dyn Iterator<Item = anyhow::Result<Record>> + '_>> {
        let (table, sql, map): (&'static str, &str, Mapper) = match tree {
            "system" => ("directory", "SELECT json FROM directory", |r| {
                Ok((b"directory".to_vec(), bytes(r, 0)?))
            }),
            "threads" => (
                "threads",
                "SELECT mailbox_id, verifier, centre, created_at, last_activity, \
                 unanswered_since, change, last_seq, message_count, total_bytes, \
                 staff_read_seq, unread FROM threads ORDER BY mailbox_id",
                thread_record,
            ),
            "messages" => (
                "messages",
                "SELECT mailbox_id, seq, stored_at, envelope FROM messages \
                 ORDER BY mailbox_id, seq",
                |r| {
                    let mut key = bytes(r, 0)?;
                    key.extend_from_slice(&unsigned(r, 1)?.to_be_bytes());
                    Ok((key, stored(r, 2, 3)?))
                },
            ),
            "notes" => (
                "notes",
                "SELECT mailbox_id, stored_at, envelope FROM notes ORDER BY mailbox_id",
                |r| Ok((bytes(r, 0)?, stored(r, 1, 2)?)),
            ),
            "centres" => (
                "centre_records",
                "SELECT centre, stored_at, envelope FROM centre_records ORDER BY centre",
                |r| Ok((centre(r, 0)?, stored(r, 1, 2)?)),
            ),
            // The inbox index is the threads' (centre, change) columns.
            "activity" => (
                "threads",
                "SELECT mailbox_id, centre, change FROM threads ORDER BY centre, change",
                |r| {
                    let mut key = centre(r, 1)?;
                    key.extend_from_slice(&unsigned(r, 2)?.to_be_bytes());
                    key.extend_from_slice(&bytes(r, 0)?);
                    Ok((key, Vec::new()))
                },
            ),
            "files" => (
                "files",
                "SELECT mailbox_id, file_id, state, claimed_by, created_at, length, binding \
                 FROM files ORDER BY mailbox_id, file_id",
                file_record,
            ),
            "nonces" => (
                "staff_nonces",
                "SELECT nonce_key, refused_until FROM staff_nonces ORDER BY nonce_key",
                |r| Ok((bytes(r, 0)?, unsigned(r, 1)?.to_be_bytes().to_vec())),
            ),
            other => anyhow::bail!("no table stands for the tree {other}"),
        };
        Ok(Box::new(self.rows(table, sql, map)?))
    }

    fn blob_dir(&self) -> PathBuf {
        self.files.clone()
    }

    fn owner_line(&self) -> &'static [u8] {
        super::OWNER_LINES[1]
    }

    fn finish(
        &mut self,
        threads: &BTreeMap<Vec<u8>, Thread>,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        for (at, problem) in self.misfits.drain(..) {
            report.fail(at, format!("does not fit its documented record: {problem}"));
        }
        // A write's change number is its transaction's id, so no thread's
        // is one the database has not handed out yet.
        for (mailbox, thread) in threads {
            let at = format!("threads {}", short_hex(mailbox));
            if self
                .next_xact
                .is_none_or(|next| u64::try_from(next).is_ok_and(|n| n <= thread.change))
            {
                report.fail(&at, "a change number no transaction has had yet");
            }
        }
        Ok(())
    }
}

impl PgSource {
    /// `ozvi_schema`: the applied migrations, a version, a name and a
    /// SHA-256 each.
    fn check_schema_record(
        &mut self,
        canaries: &[Canary],
        report: &mut Report,
    ) -> anyhow::Result<()> {
        if self.unreadable.contains(&"ozvi_schema") {
            return Ok(());
        }
        for row in self.query("SELECT version, name, sha256 FROM ozvi_schema", &[])? {
            report.count("ozvi_schema records");
            let (version, name, hash): (i32, String, Vec<u8>) =
                (row.get(0), row.get(1), row.get(2));
            let at = format!("ozvi_schema {version}");
            search(
                canaries,
                "ozvi_schema",
                &version.to_be_bytes(),
                name.as_bytes(),
                report,
            );
            let expected = format!("{version:04}_");
            if version < 1
                || hash.len() != 32
                || !name.starts_with(&expected)
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            {
                report.fail(at, "not a migration's number, file name and SHA-256");
            }
        }
        Ok(())
    }

    /// The snapshot's xmax: the next transaction id the database hands out.
    fn read_next_xact(&mut self) -> anyhow::Result<()> {
        let rows = self.query(
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint",
            &[],
        )?;
        self.next_xact = rows.first().map(|row| row.get(0));
        Ok(())
    }

    /// Admission's UNLOGGED tables: keys and keyed hashes of their
    /// documented lengths that look random, times on their period, counts
    /// in range, nothing else.
    fn check_admission(&mut self, canaries: &[Canary], report: &mut Report) -> anyhow::Result<()> {
        let tables: [(&str, &str); 4] = [
            (
                "admission_keys",
                "SELECT key, kind::bigint, period, forget_at, 0::bigint FROM admission_keys",
            ),
            (
                "spent_challenges",
                "SELECT challenge_id, 0::bigint, 0::bigint, forget_at, 0::bigint FROM spent_challenges",
            ),
            (
                "rate_counters",
                "SELECT subject, scope::bigint, window_start, hits, 0::bigint FROM rate_counters",
            ),
            (
                "centre_creations",
                "SELECT convert_to(centre, 'UTF8'), 0::bigint, hour_start, created, 0::bigint FROM centre_creations",
            ),
        ];
        for (table, sql) in tables {
            if self.unreadable.contains(&table) {
                continue;
            }
            for row in self.query(sql, &[])? {
                report.count("admission records");
                let key: Vec<u8> = row.get(0);
                let (a, b, c): (i64, i64, i64) = (row.get(1), row.get(2), row.get(3));
                let at = format!("{table} {}", short_hex(&key));
                let mut numbers = Vec::new();
                for n in [a, b, c] {
                    numbers.extend_from_slice(&n.to_be_bytes());
                }
                search(canaries, table, &key, &numbers, report);
                let ok = match table {
                    "admission_keys" => {
                        (1..=2).contains(&a)
                            && b >= 0
                            && c >= 0
                            && c % MINUTE_I == 0
                            && key.len() == 32
                            && judge_field(report, &at, "its key", &key)
                    }
                    "spent_challenges" => {
                        c >= 0
                            && c % MINUTE_I == 0
                            && key.len() == 16
                            && judge_field(report, &at, "its id", &key)
                    }
                    "rate_counters" => {
                        let period = if a <= 2 { MINUTE_I } else { 3600 };
                        (1..=4).contains(&a)
                            && b >= 0
                            && b % period == 0
                            && (0..=i64::from(u32::MAX)).contains(&c)
                            && key.len() == 16
                            && judge_field(report, &at, "its keyed hash or mailbox id", &key)
                    }
                    _ => {
                        std::str::from_utf8(&key).is_ok_and(|c| padded_centre(c).is_ok())
                            && b >= 0
                            && b % 3600 == 0
                            && (0..=i64::from(u32::MAX)).contains(&c)
                    }
                };
                if !ok {
                    report.fail(at, "not of the documented shape");
                }
            }
        }
        Ok(())
    }
}

const MINUTE_I: i64 = MINUTE as i64;

fn relation_kind(kind: &str) -> &'static str {
    match kind {
        "r" | "p" => "table",
        "v" => "view",
        "m" => "materialized view",
        "f" => "foreign table",
        "S" => "sequence",
        _ => "relation",
    }
}

/// What a client error says: the server's severity and message (never its
/// DETAIL, which may quote a row), or the client's reason.
fn describe(error: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match (error.as_db_error(), error.source()) {
        (Some(db), _) => format!("{}: {}", db.severity(), db.message()),
        (None, Some(source)) => format!("{error}: {source}"),
        (None, None) => error.to_string(),
    }
}

fn bytes(row: &Row, i: usize) -> Result<Vec<u8>, String> {
    row.try_get::<_, Vec<u8>>(i)
        .map_err(|_| format!("column {} is not bytes", i + 1))
}

fn signed(row: &Row, i: usize) -> Result<i64, String> {
    match row.try_get::<_, i64>(i) {
        Ok(n) => Ok(n),
        Err(_) => row
            .try_get::<_, i16>(i)
            .map(i64::from)
            .map_err(|_| format!("column {} is not an integer", i + 1)),
    }
}

/// A u64 field of the sled record.
fn unsigned(row: &Row, i: usize) -> Result<u64, String> {
    let n = signed(row, i)?;
    u64::try_from(n).map_err(|_| format!("a negative number in column {}", i + 1))
}

/// A u32 field of the sled record.
fn unsigned32(row: &Row, i: usize) -> Result<u32, String> {
    let n = unsigned(row, i)?;
    u32::try_from(n).map_err(|_| format!("a number above 2^32 in column {}", i + 1))
}

/// A centre id as sled stores it: its length, the id, zero padding to 33.
fn padded_centre(id: &str) -> Result<Vec<u8>, String> {
    let ok = (1..CENTRE_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err("a malformed centre id".into());
    }
    let mut field = vec![0u8; CENTRE_LEN];
    field[0] = id.len() as u8;
    field[1..=id.len()].copy_from_slice(id.as_bytes());
    Ok(field)
}

fn centre(row: &Row, i: usize) -> Result<Vec<u8>, String> {
    let id: String = row
        .try_get(i)
        .map_err(|_| format!("column {} is not text", i + 1))?;
    padded_centre(&id)
}

/// version 1 ‖ stored at ‖ envelope.
fn stored(row: &Row, at: usize, envelope: usize) -> Result<Vec<u8>, String> {
    let mut value = vec![1u8];
    value.extend_from_slice(&unsigned(row, at)?.to_be_bytes());
    value.extend_from_slice(&bytes(row, envelope)?);
    Ok(value)
}

/// A thread row as its 130-byte sled record.
fn thread_record(row: &Row) -> Result<Record, String> {
    let verifier = bytes(row, 1)?;
    if verifier.len() != 32 {
        return Err(format!("a verifier of {} bytes, not 32", verifier.len()));
    }
    let mut value = vec![1u8];
    value.extend_from_slice(&verifier);
    value.extend_from_slice(&centre(row, 2)?);
    for i in 3..=7 {
        value.extend_from_slice(&unsigned(row, i)?.to_be_bytes());
    }
    value.extend_from_slice(&unsigned32(row, 8)?.to_be_bytes());
    value.extend_from_slice(&unsigned(row, 9)?.to_be_bytes());
    value.extend_from_slice(&unsigned(row, 10)?.to_be_bytes());
    value.extend_from_slice(&unsigned32(row, 11)?.to_be_bytes());
    Ok((bytes(row, 0)?, value))
}

/// A file row as its 58-byte sled record.
fn file_record(row: &Row) -> Result<Record, String> {
    let mut key = bytes(row, 0)?;
    key.extend_from_slice(&bytes(row, 1)?);
    let state = u8::try_from(signed(row, 2)?).map_err(|_| "a state that is not a byte")?;
    let binding = bytes(row, 6)?;
    if binding.len() != 32 {
        return Err(format!("a binding of {} bytes, not 32", binding.len()));
    }
    let mut value = vec![1u8, state];
    for i in 3..=5 {
        value.extend_from_slice(&unsigned(row, i)?.to_be_bytes());
    }
    value.extend_from_slice(&binding);
    Ok((key, value))
}
