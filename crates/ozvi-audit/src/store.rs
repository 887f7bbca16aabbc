//! `ozvi-audit store PATH`: every tree and every record of a relay export
//! (`ozvi-relay export`) or of a stopped relay's data directory must have
//! exactly the shape docs/API.md ("What is stored") documents, and nothing
//! else may be there.
//!
//! Per record: fixed lengths and versions; times in whole minutes; centre
//! ids of the allowed characters and listed in a directory; envelopes that
//! parse (PROTOCOL.md §4.1: version, kind, stanzas, a payload on a padding
//! bucket) of the kind the tree holds. Every field that should be random
//! (mailbox ids, verifiers, and in every envelope each ephemeral key,
//! wrapped key, the nonce and the payload) passes every test of
//! [`random::problems`]: no stretch that reads as text in a common
//! encoding, no run of one byte, uniform bytes and byte pairs, nothing
//! deflate can shrink; and each kind of field, pooled over the store, has
//! uniform bytes and pairs.
//!
//! Key ids are hashes of public keys, so they are checked, not tested:
//! every stanza of a message or reply is for a staff key of the thread's
//! centre (in the stored directory or an earlier one the auditor passes,
//! so removed staff count) except exactly one, the person's, which is the
//! same in every message and reply of the thread, in no other thread, and
//! in no directory; a note's stanzas are all for the centre's staff. The
//! store holds nothing else about the person's key: her key id cannot be
//! tied to the mailbox id (derived from her X25519 *and* Ed25519 keys, the
//! second only inside the ciphertext).
//!
//! Files (PROTOCOL.md §12): every `files` record has the fixed shape and
//! belongs to a thread (or is a first contact's unclaimed upload); every
//! blob in `files/` has a record, its length, format byte 0x01, and each
//! 65,552-byte chunk after the 20-byte header passes the randomness tests
//! (pooled as "blob chunks"); the canary search reads every blob.
//!
//! Across records: every message and note belongs to a thread, a thread's
//! message count matches its messages, and each thread has exactly one
//! inbox entry, of its centre and change number. With canaries, every key
//! and value and every byte of the files on disk (which may still hold
//! overwritten data) is searched for them.
//!
//! sled has no read-only mode: audit an export or a copy, not live data.
//!
//! A relay on PostgreSQL is read by [`postgres`] in one read-only snapshot,
//! its rows put into the same records (one `Source` seam), so these checks are
//! the same for both; that reader adds the database's own (no table,
//! column or object beyond the relay's schema, admission's UNLOGGED rows).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, bail};
use ozvi_crypto::Directory;
use ozvi_crypto::format::directory::{DirectoryDoc, SignedDirectoryDoc};
use ozvi_crypto::format::envelope::{Envelope, Kind};
use ozvi_crypto::primitives::sig::Ed25519Public;
use ozvi_crypto::primitives::x25519::KEY_ID_LEN;

use crate::canary::Canary;
use crate::random;
use crate::report::Report;

pub mod postgres;

/// The trees a relay writes (docs/API.md), and sled's own default tree.
pub const TREES: [&str; 8] = [
    "threads", "messages", "notes", "activity", "centres", "system", "files", "nonces",
];

/// A file record (docs/API.md "What is stored"): version, state, claimed
/// by, created (minute), blob length, binding.
const FILE_RECORD_LEN: usize = 58;
/// Where the relay keeps the blobs, in its data directory.
const BLOB_DIR: &str = "files";
/// The file in the blob directory that names the kind of store its blobs
/// belong to (API.md "What is stored"): a relay of the other kind refuses
/// to open the directory.
const OWNER_FILE: &str = "ozvi-store";
/// Its whole content, for each kind of store.
const OWNER_LINES: [&[u8]; 2] = [b"sled\n", b"postgres\n"];
const SLED_DEFAULT: &[u8] = b"__sled__default";

const MAILBOX_LEN: usize = 16;
const CENTRE_LEN: usize = 33;
const THREAD_LEN: usize = 130;
const MINUTE: u64 = 60;

/// A thread record's fields the cross-checks need.
pub(crate) struct Thread {
    centre: Vec<u8>,
    centre_id: String,
    /// A staff-only case (PROTOCOL.md §4.11): no verifier (32 zero bytes),
    /// case entries only, no note, nothing waiting or unread.
    case: bool,
    created_at: u64,
    change: u64,
    last_seq: u64,
    message_count: u32,
    total_bytes: u64,
}

/// What a thread's stored messages add up to.
#[derive(Default)]
struct Tally {
    count: u32,
    bytes: u64,
    max_seq: u64,
    first_stored_at: Option<u64>,
}

type KeyId = [u8; KEY_ID_LEN];

/// What the directories say about key ids: which centres list each staff
/// key, in any version known.
#[derive(Default)]
struct Known {
    versions: BTreeSet<u64>,
    centres: BTreeSet<String>,
    staff: BTreeMap<KeyId, BTreeSet<String>>,
}

impl Known {
    fn add(&mut self, directory: &Directory) {
        self.versions.insert(directory.version);
        for centre in &directory.centres {
            self.centres.insert(centre.id.clone());
            for member in &centre.staff {
                self.staff
                    .entry(member.keys.x25519.key_id())
                    .or_default()
                    .insert(centre.id.clone());
            }
        }
    }

    fn is_staff_of(&self, id: &KeyId, centre: &str) -> bool {
        self.staff.get(id).is_some_and(|c| c.contains(centre))
    }
}

/// The stanzas of one stored envelope, for the key-id checks.
struct Sealed {
    at: String,
    kind: Kind,
    key_ids: Vec<KeyId>,
}

/// One kind of field pooled over the store: its byte and pair histograms.
struct Pool {
    name: &'static str,
    bytes: [u64; 256],
    pairs: [u64; 256],
}

impl Pool {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            bytes: [0; 256],
            pairs: [0; 256],
        }
    }

    fn add(&mut self, field: &[u8]) {
        for &b in field {
            self.bytes[usize::from(b)] += 1;
        }
        for pair in field.chunks_exact(2) {
            self.pairs[usize::from((pair[0] & 0xf0) | (pair[1] >> 4))] += 1;
        }
    }

    fn judge(&self, report: &mut Report) {
        let n: u64 = self.bytes.iter().sum();
        let chi = random::chi_square_of(&self.bytes);
        report.notes.push(format!(
            "all {n} bytes of {} together: χ² = {chi:.1} (random: ≤ {:.1})",
            self.name,
            random::THRESHOLD
        ));
        if n >= random::MIN_LEN as u64 && chi > random::THRESHOLD {
            report.fail(
                format!("all {}", self.name),
                format!("together they do not look random (χ² = {chi:.1})"),
            );
        }
        if n >= random::MIN_PAIRS_LEN as u64 && chi < random::TOO_FLAT {
            report.fail(
                format!("all {}", self.name),
                format!("together they are too even to be random (χ² = {chi:.1})"),
            );
        }
        let pairs: u64 = self.pairs.iter().sum();
        let chi = random::chi_square_of(&self.pairs);
        if pairs >= (random::MIN_PAIRS_LEN / 2) as u64 && chi > random::THRESHOLD {
            report.fail(
                format!("all {}", self.name),
                format!("together their byte pairs do not look random (χ² = {chi:.1})"),
            );
        }
    }
}

/// The pools, one per kind of random field.
struct Pools {
    payloads: Pool,
    nonces: Pool,
    ephemerals: Pool,
    wrapped: Pool,
    mailboxes: Pool,
    verifiers: Pool,
    person_key_ids: Pool,
    blobs: Pool,
}

/// Reports every problem [`random::problems`] finds in `field`.
fn judge_field(report: &mut Report, at: &str, what: &str, field: &[u8]) -> bool {
    let problems = random::problems(field);
    for problem in &problems {
        report.fail(at, format!("{what}: {problem}"));
    }
    problems.is_empty()
}

/// A signed directory's content without its signature (when the auditor
/// gives no root key).
fn parse_unverified(json: &[u8]) -> Option<Directory> {
    let signed: SignedDirectoryDoc = serde_json::from_slice(json).ok()?;
    let payload = ozvi_crypto::format::b64::decode(&signed.directory).ok()?;
    let doc: DirectoryDoc = serde_json::from_slice(&payload).ok()?;
    Directory::from_doc(doc).ok()
}

/// Reads earlier signed directories the auditor holds (an operator's
/// archive, or a desk's `directories/` folder): `path` is one JSON file or
/// a folder of them. Under `root`, each must verify.
pub fn read_directories(
    path: &Path,
    root: Option<&Ed25519Public>,
) -> anyhow::Result<Vec<Directory>> {
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    files
        .iter()
        .map(|file| {
            let json =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let directory = match root {
                Some(root) => ozvi_crypto::SignedDirectory::verify(&json, root, None)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
                None => parse_unverified(&json).ok_or_else(|| {
                    anyhow::anyhow!("{} is not a signed directory", file.display())
                })?,
            };
            Ok(directory)
        })
        .collect()
}

/// One record: its key and value in the layout of docs/API.md ("What is
/// stored").
pub(crate) type Record = (Vec<u8>, Vec<u8>);

/// Where the records come from. Both readers present every record in the
/// sled layout of docs/API.md, so one set of checks applies to a sled
/// export and to a PostgreSQL database: sled's trees as they are
/// ([`SledSource`]); PostgreSQL's rows mapped field by field onto the same
/// bytes, in one read-only snapshot ([`postgres`]).
pub(crate) trait Source {
    /// Checks the container itself, before any record: no tree, table or
    /// column beyond the documented ones; a reader's own records that have
    /// no sled counterpart.
    fn layout(&mut self, canaries: &[Canary], report: &mut Report) -> anyhow::Result<()>;
    /// Every record of the sled tree `tree`. A row that cannot be put in
    /// the layout at all is a finding [`Source::finish`] reports.
    fn records(
        &mut self,
        tree: &str,
    ) -> anyhow::Result<Box<dyn Iterator<Item = anyhow::Result<Record>> + '_>>;
    /// The directory of the attached files' blobs.
    fn blob_dir(&self) -> std::path::PathBuf;
    /// What [`OWNER_FILE`] in it must say.
    fn owner_line(&self) -> &'static [u8];
    /// Checks that need every record read, and the findings of rows that
    /// did not fit the layout.
    fn finish(
        &mut self,
        threads: &BTreeMap<Vec<u8>, Thread>,
        report: &mut Report,
    ) -> anyhow::Result<()>;
}

/// A relay export or a stopped relay's sled data directory.
struct SledSource {
    path: std::path::PathBuf,
    db: sled::Db,
}

impl Source for SledSource {
    fn layout(&mut self, _canaries: &[Canary], report: &mut Report) -> anyhow::Result<()> {
        for name in self.db.tree_names() {
            let known = TREES.iter().any(|t| t.as_bytes() == name.as_ref());
            if !known && name.as_ref() != SLED_DEFAULT {
                report.fail(
                    format!("tree {}", String::from_utf8_lossy(&name)),
                    "a tree the relay does not document",
                );
            }
        }
        let default = self.db.open_tree(SLED_DEFAULT)?;
        for entry in default.iter() {
            let (key, _) = entry?;
            report.fail(
                format!("tree __sled__default key {}", short_hex(&key)),
                "a record in sled's default tree, which the relay never writes",
            );
        }
        Ok(())
    }

    fn records(
        &mut self,
        tree: &str,
    ) -> anyhow::Result<Box<dyn Iterator<Item = anyhow::Result<Record>> + '_>> {
        let tree = self.db.open_tree(tree).context("sled cannot open a tree")?;
        Ok(Box::new(tree.iter().map(|entry| {
            entry
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .context("sled cannot read a record")
        })))
    }

    fn blob_dir(&self) -> std::path::PathBuf {
        self.path.join(BLOB_DIR)
    }

    fn owner_line(&self) -> &'static [u8] {
        OWNER_LINES[0]
    }

    fn finish(
        &mut self,
        _threads: &BTreeMap<Vec<u8>, Thread>,
        _report: &mut Report,
    ) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Audits the sled database at `path`. `earlier` are directories the
/// relay published before the one it stores ([`read_directories`]): the
/// key ids of staff since removed are found there.
pub fn audit(
    path: &Path,
    canaries: &[Canary],
    root: Option<&Ed25519Public>,
    earlier: &[Directory],
) -> anyhow::Result<Report> {
    if !path.join("conf").is_file() || !path.join("db").is_file() {
        bail!(
            "{} is not a sled database (no conf and db files): pass a relay export or a \
             stopped relay's data directory",
            path.display()
        );
    }
    let mut report = Report::new("store");
    // Raw files first, before sled touches anything.
    if !canaries.is_empty() {
        scan_files(path, path, canaries, &mut report)?;
    }
    let db = sled::Config::new()
        .path(path)
        .open()
        .with_context(|| format!("cannot open {} as a sled database", path.display()))?;
    let mut source = SledSource {
        path: path.to_path_buf(),
        db,
    };
    audit_source(&mut source, report, canaries, root, earlier)
}

/// The checks of the module's doc on the records of `source`.
pub(crate) fn audit_source(
    source: &mut dyn Source,
    mut report: Report,
    canaries: &[Canary],
    root: Option<&Ed25519Public>,
    earlier: &[Directory],
) -> anyhow::Result<Report> {
    source.layout(canaries, &mut report)?;

    // The directories first: the records are checked against them.
    let mut known = Known::default();
    let mut stored_directory: Option<Directory> = None;
    for entry in source.records("system")? {
        let (key, value) = entry?;
        report.count("system records");
        search(canaries, "system", &key, &value, &mut report);
        if key.as_slice() != b"directory" {
            report.fail(
                format!("system {}", short_hex(&key)),
                "a system record other than the directory",
            );
        } else if !is_signed_directory(&value) {
            report.fail("system directory", "not a signed directory document");
        } else if let Some(root) = root {
            match ozvi_crypto::SignedDirectory::verify(&value, root, None) {
                Ok(d) => {
                    report.count("directories verified under the root key");
                    stored_directory = Some(d);
                }
                Err(_) => report.fail("system directory", "not signed by the root key"),
            }
        } else {
            stored_directory = parse_unverified(&value);
            if stored_directory.is_none() {
                report.fail(
                    "system directory",
                    "not a valid directory (PROTOCOL.md §6.1)",
                );
            }
        }
    }
    if let Some(d) = &stored_directory {
        known.add(d);
    }
    for d in earlier {
        if stored_directory.as_ref().is_some_and(|s| s.salt != d.salt) {
            bail!(
                "an earlier directory given (version {}) is of another deployment",
                d.version
            );
        }
        known.add(d);
    }
    let have_directory = !known.versions.is_empty();
    report.notes.push(if have_directory {
        format!(
            "key ids checked against directory versions {:?}{}",
            known.versions,
            if root.is_some() {
                " (verified under the root key)"
            } else {
                " (not verified: no --root-key)"
            }
        )
    } else {
        "no directory: centres and key ids not checked".to_string()
    });
    let mut pools = Pools {
        payloads: Pool::new("payloads"),
        nonces: Pool::new("nonces"),
        ephemerals: Pool::new("ephemeral keys (bytes 0-30)"),
        wrapped: Pool::new("wrapped keys"),
        mailboxes: Pool::new("mailbox ids"),
        verifiers: Pool::new("verifiers"),
        person_key_ids: Pool::new("person key ids"),
        blobs: Pool::new("blob chunks"),
    };

    let mut threads = BTreeMap::new();
    for entry in source.records("threads")? {
        let (key, value) = entry?;
        report.count("threads records");
        search(canaries, "threads", &key, &value, &mut report);
        let at = format!("threads {}", short_hex(&key));
        match check_thread(&key, &value) {
            Ok(thread) => {
                if have_directory && !known.centres.contains(&thread.centre_id) {
                    report.fail(&at, "of a centre no directory lists");
                }
                judge_field(&mut report, &at, "its mailbox id", &key);
                pools.mailboxes.add(&key);
                if thread.case {
                    report.count("cases (staff-only)");
                } else {
                    judge_field(&mut report, &at, "its verifier", &value[1..33]);
                    pools.verifiers.add(&value[1..33]);
                }
                threads.insert(key.to_vec(), thread);
            }
            Err(problem) => report.fail(at, problem),
        }
    }
    let mut sealed: BTreeMap<Vec<u8>, Vec<Sealed>> = BTreeMap::new();

    let mut per_thread: BTreeMap<Vec<u8>, Tally> = BTreeMap::new();
    for entry in source.records("messages")? {
        let (key, value) = entry?;
        report.count("messages records");
        search(canaries, "messages", &key, &value, &mut report);
        let at = format!("messages {}", short_hex(&key));
        if key.len() != MAILBOX_LEN + 8 {
            report.fail(at, format!("key of {} bytes, not 24", key.len()));
            continue;
        }
        let (mailbox, seq) = key.split_at(MAILBOX_LEN);
        let seq = u64::from_be_bytes(seq.try_into().expect("8 bytes"));
        match threads.get(mailbox) {
            None => report.fail(&at, "a message of no thread"),
            Some(t) if seq == 0 || seq > t.last_seq => {
                report.fail(&at, "a sequence number outside its thread's")
            }
            Some(_) => {
                let tally = per_thread.entry(mailbox.to_vec()).or_default();
                tally.count += 1;
                tally.bytes += value.len().saturating_sub(9) as u64;
                tally.max_seq = tally.max_seq.max(seq);
                if seq == 1 && value.len() >= 9 {
                    tally.first_stored_at =
                        Some(u64::from_be_bytes(value[1..9].try_into().expect("8 bytes")));
                }
            }
        }
        // A case holds case entries only; a conversation never holds one.
        let kinds: &[Kind] = match threads.get(&key[..MAILBOX_LEN]) {
            Some(t) if t.case => &[Kind::CaseEntry],
            _ => &[Kind::PersonMessage, Kind::StaffReply],
        };
        match check_stored_envelope(&value, kinds, &at, &mut pools, &mut report) {
            Ok(envelope) => sealed
                .entry(key[..MAILBOX_LEN].to_vec())
                .or_default()
                .push(Sealed {
                    at,
                    kind: envelope.kind,
                    key_ids: envelope.stanzas.iter().map(|s| s.key_id).collect(),
                }),
            Err(problem) => report.fail(at, problem),
        }
    }
    // Messages are never deleted one by one: a thread's counters are
    // exactly what its messages add up to, so no field is free to carry
    // anything else.
    let empty = Tally::default();
    for (mailbox, thread) in &threads {
        let tally = per_thread.get(mailbox).unwrap_or(&empty);
        let at = format!("threads {}", short_hex(mailbox));
        if tally.count != thread.message_count
            || u64::from(tally.count) != thread.last_seq
            || tally.max_seq != thread.last_seq
        {
            report.fail(
                &at,
                format!(
                    "counts {} messages up to {} but {} are stored up to {}",
                    thread.message_count, thread.last_seq, tally.count, tally.max_seq
                ),
            );
        }
        if tally.bytes != thread.total_bytes {
            report.fail(&at, "its byte count is not the sum of its envelopes");
        }
        if tally
            .first_stored_at
            .is_some_and(|t| t != thread.created_at)
        {
            report.fail(&at, "created at another minute than its first message");
        }
    }

    for entry in source.records("notes")? {
        let (key, value) = entry?;
        report.count("notes records");
        search(canaries, "notes", &key, &value, &mut report);
        let at = format!("notes {}", short_hex(&key));
        match threads.get(key.as_slice()) {
            Some(t) if key.len() == MAILBOX_LEN && !t.case => {}
            Some(_) => report.fail(&at, "a note on a case"),
            None => report.fail(&at, "a note of no thread"),
        }
        match check_stored_envelope(&value, &[Kind::StaffNote], &at, &mut pools, &mut report) {
            Ok(envelope) => sealed.entry(key.to_vec()).or_default().push(Sealed {
                at,
                kind: envelope.kind,
                key_ids: envelope.stanzas.iter().map(|s| s.key_id).collect(),
            }),
            Err(problem) => report.fail(at, problem),
        }
    }

    // Each centre's staff-only record (its reply templates): a note-shaped
    // value under the centre's id, sealed to that centre's staff only.
    for entry in source.records("centres")? {
        let (key, value) = entry?;
        report.count("centres records");
        search(canaries, "centres", &key, &value, &mut report);
        let at = format!("centres {}", short_hex(&key));
        if key.len() != CENTRE_LEN {
            report.fail(&at, "not a centre id (33 bytes)");
            continue;
        }
        if let Err(problem) = check_centre(&key) {
            report.fail(&at, problem);
            continue;
        }
        let centre_id = String::from_utf8_lossy(&key[1..=usize::from(key[0])]).into_owned();
        if have_directory && !known.centres.contains(&centre_id) {
            report.fail(&at, "a record of a centre no directory lists");
        }
        match check_stored_envelope(&value, &[Kind::StaffNote], &at, &mut pools, &mut report) {
            Ok(envelope) => {
                report.count("stanza key ids checked");
                let outsiders = envelope
                    .stanzas
                    .iter()
                    .filter(|s| !known.is_staff_of(&s.key_id, &centre_id))
                    .count();
                if have_directory && outsiders > 0 {
                    report.fail(&at, "sealed to a key that is not the centre's staff");
                }
            }
            Err(problem) => report.fail(at, problem),
        }
    }

    let mut indexed: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    // A centre's change numbers order its inbox: two threads never share one.
    let mut changes: BTreeMap<(Vec<u8>, u64), Vec<u8>> = BTreeMap::new();
    for entry in source.records("activity")? {
        let (key, value) = entry?;
        report.count("activity records");
        search(canaries, "activity", &key, &value, &mut report);
        let at = format!("activity {}", short_hex(&key));
        if key.len() != CENTRE_LEN + 8 + MAILBOX_LEN || !value.is_empty() {
            report.fail(
                at,
                "not centre (33) ‖ change (8) ‖ mailbox (16) with an empty value",
            );
            continue;
        }
        let centre = &key[..CENTRE_LEN];
        let change = u64::from_be_bytes(key[CENTRE_LEN..CENTRE_LEN + 8].try_into().expect("8"));
        let mailbox = &key[CENTRE_LEN + 8..];
        match threads.get(mailbox) {
            Some(t) if t.centre == centre && t.change == change => {
                *indexed.entry(mailbox.to_vec()).or_default() += 1;
                if let Some(other) = changes.insert((centre.to_vec(), change), mailbox.to_vec())
                    && other != mailbox
                {
                    report.fail(
                        at,
                        format!(
                            "a change number its centre gave thread {} too",
                            short_hex(&other)
                        ),
                    );
                }
            }
            Some(_) => report.fail(at, "an inbox entry that does not match its thread"),
            None => report.fail(at, "an inbox entry of no thread"),
        }
    }
    for mailbox in threads.keys() {
        if indexed.get(mailbox) != Some(&1) {
            report.fail(
                format!("threads {}", short_hex(mailbox)),
                "not exactly one inbox entry",
            );
        }
    }

    let blob_dir = source.blob_dir();
    check_files(
        &blob_dir,
        source.owner_line(),
        source.records("files")?,
        &threads,
        canaries,
        &mut pools,
        &mut report,
    )?;

    // Spent staff request nonces: SHA-256 of a label, the staff key and
    // the nonce (32) → the minute until which a replay is refused.
    for entry in source.records("nonces")? {
        let (key, value) = entry?;
        report.count("nonces records");
        search(canaries, "nonces", &key, &value, &mut report);
        let at = format!("nonces {}", short_hex(&key));
        if key.len() != 32 {
            report.fail(at, "not a 32-byte hash of a staff key and a nonce");
            continue;
        }
        judge_field(&mut report, &at, "its key", &key);
        match <[u8; 8]>::try_from(value.as_slice()) {
            Ok(b) if u64::from_be_bytes(b) % MINUTE == 0 => {}
            _ => report.fail(at, "not an expiry in whole minutes (8 bytes)"),
        }
    }

    source.finish(&threads, &mut report)?;
    if have_directory {
        check_key_ids(&threads, &sealed, &known, &mut pools, &mut report);
    }
    for pool in [
        &pools.blobs,
        &pools.payloads,
        &pools.nonces,
        &pools.ephemerals,
        &pools.wrapped,
        &pools.mailboxes,
        &pools.verifiers,
        &pools.person_key_ids,
    ] {
        pool.judge(&mut report);
    }
    Ok(report)
}

/// The `files` tree and the blobs beside it: every record of the fixed
/// shape, of a thread (unless an unclaimed first-contact upload), claimed
/// by one of its messages; every complete blob on disk, of its record's
/// length (a bucket, PROTOCOL.md §12.1), of format 0x01, and each of its
/// chunks after the 20-byte header random; no blob without a record; the
/// owner file, if there is one, naming the store audited (`owner`).
fn check_files(
    dir: &Path,
    owner: &[u8],
    files: Box<dyn Iterator<Item = anyhow::Result<Record>> + '_>,
    threads: &BTreeMap<Vec<u8>, Thread>,
    canaries: &[Canary],
    pools: &mut Pools,
    report: &mut Report,
) -> anyhow::Result<()> {
    use ozvi_crypto::protocol::file::{CHUNK_CIPHERTEXT_LEN, FORMAT, HEADER_LEN, is_blob_len};
    let mut expected: BTreeMap<String, (u64, String)> = BTreeMap::new();
    // Every record's key, partial ones too: a `.part` needs one.
    let mut recorded: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for entry in files {
        let (key, value) = entry?;
        report.count("files records");
        search(canaries, "files", &key, &value, report);
        let at = format!("files {}", short_hex(&key));
        if key.len() != 2 * MAILBOX_LEN {
            report.fail(at, "not mailbox id (16) ‖ file id (16)");
            continue;
        }
        recorded.insert(crate::report::hex(&key));
        judge_field(report, &at, "its file id", &key[MAILBOX_LEN..]);
        if value.len() != FILE_RECORD_LEN || value[0] != 1 {
            report.fail(at, "not a version-1 file record of 58 bytes");
            continue;
        }
        let u64_at = |i: usize| u64::from_be_bytes(value[i..i + 8].try_into().expect("8"));
        let (state, claimed_by, created, length) = (value[1], u64_at(2), u64_at(10), u64_at(18));
        let binding = &value[26..58];
        if state > 2 {
            report.fail(&at, "a state other than partial, pending or claimed");
        }
        if (state == 2) != (claimed_by != 0) {
            report.fail(&at, "claimed-by does not match its state");
        }
        if created % MINUTE != 0 {
            report.fail(&at, "a time that is not a whole minute");
        }
        if !is_blob_len(length) {
            report.fail(&at, "a length that is not a blob bucket");
        }
        if binding.iter().any(|b| *b != 0) {
            judge_field(report, &at, "its binding (a verifier)", binding);
        }
        match threads.get(&key[..MAILBOX_LEN]) {
            Some(t) if state == 2 && claimed_by > t.last_seq => {
                report.fail(&at, "claimed by a message its thread does not hold")
            }
            Some(t) if t.case => report.fail(&at, "a file of a staff-only case"),
            Some(_) => {}
            None if state == 2 => report.fail(&at, "a claimed file of no thread"),
            None if binding.iter().all(|b| *b == 0) => {
                report.fail(&at, "an upload of no thread that no first contact made")
            }
            None => {}
        }
        if state != 0 {
            expected.insert(crate::report::hex(&key), (length, at));
        }
    }
    let mut names: Vec<String> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries {
            match entry {
                Ok(e) if e.file_type().is_ok_and(|t| t.is_file()) => {
                    names.push(e.file_name().to_string_lossy().into_owned());
                }
                Ok(e) => {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let at = format!("blob {}…", name.chars().take(12).collect::<String>());
                    report.fail(at, "not a plain file (a directory or a link)");
                }
                Err(_) => report.fail("blob directory", "an entry that cannot be read"),
            }
        }
    }
    names.sort();
    for name in &names {
        if name == OWNER_FILE {
            match std::fs::read(dir.join(name)) {
                Ok(found) if found == owner => {}
                Ok(found) if OWNER_LINES.contains(&found.as_slice()) => report.fail(
                    "blob directory",
                    "marked as the other kind of store's (ozvi-store)",
                ),
                _ => report.fail("blob directory", "an ozvi-store the relay does not write"),
            }
            continue;
        }
        // The name is not necessarily ASCII: cut on characters, not bytes.
        let at = format!("blob {}…", name.chars().take(12).collect::<String>());
        // A complete blob is named by its record's key; one being
        // received by `KEY.ATTEMPT.part` (API.md "What is stored").
        let partial = name.strip_suffix(".part");
        let record = match partial {
            Some(_) => None,
            None => expected.get(name),
        };
        match partial.map(partial_key) {
            None if record.is_none() => report.fail(&at, "a blob with no complete file record"),
            Some(None) => report.fail(
                &at,
                "a partial upload under a name the relay does not write (not HEX.ATTEMPT.part)",
            ),
            Some(Some(key)) if !recorded.contains(key) => report.fail(
                &at,
                "a partial upload with no file record (the relay's sweeper removes it)",
            ),
            _ => {}
        }
        let Ok(bytes) = std::fs::read(dir.join(name)) else {
            report.fail(&at, "cannot be read");
            continue;
        };
        report.count("blobs read");
        for canary in canaries {
            let forms = canary.found_in(&bytes);
            if !forms.is_empty() {
                report.fail(
                    &at,
                    format!("holds the canary {:?} as {}", canary.text, forms.join(", ")),
                );
            }
        }
        if let Some((length, _)) = record
            && bytes.len() as u64 != *length
        {
            report.fail(&at, "not the length its record states");
        }
        if partial.is_none() && !is_blob_len(bytes.len() as u64) {
            report.fail(&at, "not on a blob bucket (PROTOCOL.md §12.1)");
        }
        if bytes.first().is_some_and(|b| *b != FORMAT) {
            report.fail(&at, "its first byte is not the blob format 0x01");
        }
        for (i, chunk) in bytes
            .get(HEADER_LEN..)
            .unwrap_or_default()
            .chunks(CHUNK_CIPHERTEXT_LEN)
            .enumerate()
        {
            pools.blobs.add(chunk);
            judge_field(report, &format!("{at} chunk {i}"), "its ciphertext", chunk);
        }
    }
    for (stem, (_, at)) in &expected {
        if !names.contains(stem) {
            report.fail(at, "a complete file whose blob is missing");
        }
    }
    Ok(())
}

/// The key (64 lower-case hex digits) of a partial upload's name without
/// its `.part`: `KEY.ATTEMPT`, ATTEMPT 32 lower-case hex digits.
fn partial_key(stem: &str) -> Option<&str> {
    let lower_hex = |t: &str, len: usize| {
        t.len() == len
            && t.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let (key, random) = stem.split_once('.')?;
    (lower_hex(key, 64) && lower_hex(random, 32)).then_some(key)
}

fn check_thread(key: &[u8], value: &[u8]) -> Result<Thread, String> {
    if key.len() != MAILBOX_LEN {
        return Err(format!("key of {} bytes, not 16", key.len()));
    }
    if value.len() != THREAD_LEN || value[0] != 1 {
        return Err(format!(
            "not a version-1 record of 130 bytes ({} bytes)",
            value.len()
        ));
    }
    let centre = &value[33..66];
    check_centre(centre)?;
    let u64_at = |at: usize| u64::from_be_bytes(value[at..at + 8].try_into().expect("8"));
    let u32_at = |at: usize| u32::from_be_bytes(value[at..at + 4].try_into().expect("4"));
    let (created, last_activity, unanswered) = (u64_at(66), u64_at(74), u64_at(82));
    for (name, t) in [
        ("created", created),
        ("last activity", last_activity),
        ("unanswered since", unanswered),
    ] {
        if t % MINUTE != 0 {
            return Err(format!("{name} is not a whole minute"));
        }
    }
    if created == 0 || last_activity < created {
        return Err("last activity before creation".into());
    }
    let (change, last_seq) = (u64_at(90), u64_at(98));
    let (message_count, staff_read, unread) = (u32_at(106), u64_at(118), u32_at(126));
    if u64::from(message_count) > last_seq || staff_read > last_seq || unread > message_count {
        return Err("counters that contradict each other".into());
    }
    let case = value[1..33].iter().all(|&b| b == 0);
    if case && (unanswered != 0 || unread != 0) {
        return Err("a case (no verifier) that waits for an answer".into());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(u64::MAX, |d| d.as_secs());
    if last_activity > now.saturating_add(86_400) {
        return Err("times in the future".into());
    }
    let centre_id = String::from_utf8_lossy(&centre[1..=usize::from(centre[0])]).into_owned();
    Ok(Thread {
        centre: centre.to_vec(),
        centre_id,
        case,
        created_at: created,
        change,
        last_seq,
        message_count,
        total_bytes: u64_at(110),
    })
}

/// A centre id as stored: its length, `[a-z0-9-]`, zero padding to 33.
fn check_centre(field: &[u8]) -> Result<(), String> {
    let len = usize::from(field[0]);
    let ok = (1..CENTRE_LEN).contains(&len)
        && field[1..=len]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && field[len + 1..].iter().all(|&b| b == 0);
    ok.then_some(())
        .ok_or_else(|| "a malformed centre id".into())
}

/// version 1 ‖ stored at (u64, whole minutes) ‖ envelope of one of `kinds`,
/// every random field of which passes [`random::problems`] (findings at
/// `at`). The envelope, for the key-id checks, when it parses.
fn check_stored_envelope(
    value: &[u8],
    kinds: &[Kind],
    at: &str,
    pools: &mut Pools,
    report: &mut Report,
) -> Result<Envelope, String> {
    if value.len() < 9 || value[0] != 1 {
        return Err("not a version-1 record".into());
    }
    let stored_at = u64::from_be_bytes(value[1..9].try_into().expect("8"));
    if stored_at == 0 || stored_at % MINUTE != 0 {
        return Err("stored at is not a whole minute".into());
    }
    // The format layer of ozvi-crypto parses every envelope version it
    // supports; the fields tested here are the same bytes in each.
    let envelope = Envelope::parse(&value[9..])
        .map_err(|_| "not an envelope of PROTOCOL.md §4.1 (or not on a padding bucket)")?;
    if !kinds.contains(&envelope.kind) {
        return Err(format!("an envelope of kind {}", envelope.kind.to_byte()));
    }
    report.count("envelopes parsed");
    for (i, stanza) in envelope.stanzas.iter().enumerate() {
        let ephemeral = stanza.ephemeral.as_bytes();
        judge_field(
            report,
            at,
            &format!("stanza {}'s ephemeral key", i + 1),
            ephemeral,
        );
        judge_field(
            report,
            at,
            &format!("stanza {}'s wrapped key", i + 1),
            &stanza.wrapped_key,
        );
        // The last byte of a canonical X25519 key has its high bit clear.
        pools.ephemerals.add(&ephemeral[..31]);
        pools.wrapped.add(&stanza.wrapped_key);
        report.count("stanzas tested");
    }
    judge_field(report, at, "its nonce", &envelope.nonce);
    pools.nonces.add(&envelope.nonce);
    pools.payloads.add(&envelope.payload);
    let problems = random::problems(&envelope.payload);
    if !problems.is_empty() {
        return Err(format!(
            "a payload that does not look like ciphertext: {}",
            problems.join("; ")
        ));
    }
    report.count("payloads that look random");
    Ok(envelope)
}

/// Every stanza of a thread's envelopes is for a staff key of its centre
/// (in any directory known), except, in messages and replies, exactly one:
/// the person's, the same in all of them and in no other thread.
fn check_key_ids(
    threads: &BTreeMap<Vec<u8>, Thread>,
    sealed: &BTreeMap<Vec<u8>, Vec<Sealed>>,
    known: &Known,
    pools: &mut Pools,
    report: &mut Report,
) {
    let describe = |id: &KeyId| match known.staff.get(id) {
        Some(centres) => format!(
            "a staff key of {}",
            centres.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        None => "a key no directory lists".to_string(),
    };
    let mut person_of: BTreeMap<KeyId, Vec<u8>> = BTreeMap::new();
    for (mailbox, envelopes) in sealed {
        let Some(thread) = threads.get(mailbox) else {
            continue;
        };
        let mut person: Option<KeyId> = None;
        for envelope in envelopes {
            let others: Vec<&KeyId> = envelope
                .key_ids
                .iter()
                .filter(|id| !known.is_staff_of(id, &thread.centre_id))
                .collect();
            report.count("stanza key ids checked");
            let for_person = matches!(envelope.kind, Kind::PersonMessage | Kind::StaffReply);
            match (for_person, others.as_slice()) {
                (false, []) => {}
                (true, [id]) if known.staff.contains_key(*id) => report.fail(
                    &envelope.at,
                    format!("no stanza for the person: its one stanza outside the centre's staff is for {}", describe(id)),
                ),
                (true, [id]) => match person {
                    None => person = Some(**id),
                    Some(p) if p == **id => {}
                    Some(_) => report.fail(
                        &envelope.at,
                        "sealed to another person key than the thread's other messages",
                    ),
                },
                (true, []) => report.fail(
                    &envelope.at,
                    "no stanza for the person: she cannot read it",
                ),
                (_, extra) => {
                    let extra = if for_person { extra.len() - 1 } else { extra.len() };
                    let what: Vec<String> = others.iter().map(|id| describe(id)).collect();
                    report.fail(
                        &envelope.at,
                        format!(
                            "{extra} stanza(s) for keys that are not the staff of centre {} in any directory \
                             known, nor one person key ({}); a former staff member? pass the earlier \
                             directories with --directories",
                            thread.centre_id,
                            what.join("; ")
                        ),
                    );
                }
            }
        }
        if let Some(id) = person {
            pools.person_key_ids.add(&id);
            report.count("person key ids, one per thread");
            if let Some(other) = person_of.insert(id, mailbox.clone()) {
                report.fail(
                    format!("threads {}", short_hex(mailbox)),
                    format!(
                        "sealed to the same person key as thread {}",
                        short_hex(&other)
                    ),
                );
            }
        }
    }
}

fn is_signed_directory(value: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        directory: String,
        signature: String,
    }
    // The signature itself is checked by `ozvi-audit directory` with the
    // operator's root key; here, the shape.
    value.len() <= ozvi_crypto::protocol::directory::MAX_SIGNED_LEN
        && serde_json::from_slice::<Doc>(value).is_ok_and(|d| {
            ozvi_crypto::format::b64::decode(&d.directory).is_ok()
                && ozvi_crypto::format::b64::decode(&d.signature).is_ok_and(|s| s.len() == 64)
        })
}

fn search(canaries: &[Canary], tree: &str, key: &[u8], value: &[u8], report: &mut Report) {
    for canary in canaries {
        for part in [key, value] {
            let forms = canary.found_in(part);
            if !forms.is_empty() {
                report.fail(
                    format!("{tree} {}", short_hex(key)),
                    format!("holds the canary {:?} as {}", canary.text, forms.join(", ")),
                );
            }
        }
    }
}

fn scan_files(
    base: &Path,
    dir: &Path,
    canaries: &[Canary],
    report: &mut Report,
) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            scan_files(base, &path, canaries, report)?;
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        report.count("files scanned for canaries");
        let name = path
            .strip_prefix(base)
            .unwrap_or(&path)
            .display()
            .to_string();
        for canary in canaries {
            let forms = canary.found_in(&bytes);
            if !forms.is_empty() {
                report.fail(
                    format!("file {name}"),
                    format!("holds the canary {:?} as {}", canary.text, forms.join(", ")),
                );
            }
        }
    }
    Ok(())
}

/// The first 6 bytes of a key in hex: enough to find the record.
fn short_hex(bytes: &[u8]) -> String {
    let hex = crate::report::hex(&bytes[..bytes.len().min(6)]);
    if bytes.len() > 6 {
        format!("{hex}…")
    } else {
        hex
    }
}
