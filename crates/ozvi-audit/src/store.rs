//! `ozvi-audit store PATH`: every tree and every record of a relay export
//! (`ozvi-relay export`) or of a stopped relay's data directory must have
//! exactly the shape docs/API.md ("What is stored") documents, and nothing
//! else may be there.
//!
//! Per record: fixed lengths and versions; times in whole minutes; centre
//! ids of the allowed characters; envelopes that parse (PROTOCOL.md §4.1:
//! version, kind, stanzas, a payload on a padding bucket) of the kind the
//! tree holds, whose payload passes the randomness test. Across records:
//! every message and note belongs to a thread, a thread's message count
//! matches its messages, and each thread has exactly one inbox entry, of
//! its centre and change number. With canaries, every key and value and
//! every byte of the files on disk (which may still hold overwritten data)
//! is searched for them.
//!
//! sled has no read-only mode: audit an export or a copy, not live data.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use ozvi_crypto::format::envelope::{Envelope, Kind};

use crate::canary::Canary;
use crate::random;
use crate::report::Report;

/// The trees a relay writes (docs/API.md), and sled's own default tree.
pub const TREES: [&str; 5] = ["threads", "messages", "notes", "activity", "system"];
const SLED_DEFAULT: &[u8] = b"__sled__default";

const MAILBOX_LEN: usize = 16;
const CENTRE_LEN: usize = 33;
const THREAD_LEN: usize = 130;
const MINUTE: u64 = 60;

/// A thread record's fields the cross-checks need.
struct Thread {
    centre: Vec<u8>,
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

/// Audits the sled database at `path`.
pub fn audit(
    path: &Path,
    canaries: &[Canary],
    root: Option<&ozvi_crypto::primitives::sig::Ed25519Public>,
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
    for name in db.tree_names() {
        let known = TREES.iter().any(|t| t.as_bytes() == name.as_ref());
        if !known && name.as_ref() != SLED_DEFAULT {
            report.fail(
                format!("tree {}", String::from_utf8_lossy(&name)),
                "a tree the relay does not document",
            );
        }
    }
    let tree = |name: &str| db.open_tree(name).context("sled cannot open a tree");
    let default = db.open_tree(SLED_DEFAULT)?;
    for entry in default.iter() {
        let (key, _) = entry?;
        report.fail(
            format!("tree __sled__default key {}", short_hex(&key)),
            "a record in sled's default tree, which the relay never writes",
        );
    }

    let mut threads = BTreeMap::new();
    for entry in tree("threads")?.iter() {
        let (key, value) = entry?;
        report.count("threads records");
        search(canaries, "threads", &key, &value, &mut report);
        match check_thread(&key, &value) {
            Ok(thread) => {
                threads.insert(key.to_vec(), thread);
            }
            Err(problem) => report.fail(format!("threads {}", short_hex(&key)), problem),
        }
    }

    let mut histogram = [0u64; 256];
    let mut per_thread: BTreeMap<Vec<u8>, Tally> = BTreeMap::new();
    for entry in tree("messages")?.iter() {
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
        if let Err(problem) = check_stored_envelope(
            &value,
            &[Kind::PersonMessage, Kind::StaffReply],
            &mut histogram,
            &mut report,
        ) {
            report.fail(at, problem);
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

    for entry in tree("notes")?.iter() {
        let (key, value) = entry?;
        report.count("notes records");
        search(canaries, "notes", &key, &value, &mut report);
        let at = format!("notes {}", short_hex(&key));
        if key.len() != MAILBOX_LEN || !threads.contains_key(key.as_ref()) {
            report.fail(&at, "a note of no thread");
        }
        if let Err(problem) =
            check_stored_envelope(&value, &[Kind::StaffNote], &mut histogram, &mut report)
        {
            report.fail(at, problem);
        }
    }

    let mut indexed: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    for entry in tree("activity")?.iter() {
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

    for entry in tree("system")?.iter() {
        let (key, value) = entry?;
        report.count("system records");
        search(canaries, "system", &key, &value, &mut report);
        if key.as_ref() != b"directory" {
            report.fail(
                format!("system {}", short_hex(&key)),
                "a system record other than the directory",
            );
        } else if !is_signed_directory(&value) {
            report.fail("system directory", "not a signed directory document");
        } else if let Some(root) = root {
            match ozvi_crypto::SignedDirectory::verify(&value, root, None) {
                Ok(_) => report.count("directories verified under the root key"),
                Err(_) => report.fail("system directory", "not signed by the root key"),
            }
        }
    }

    let chi = random::chi_square_of(&histogram);
    let bytes: u64 = histogram.iter().sum();
    report.notes.push(format!(
        "all {bytes} payload bytes together: χ² = {chi:.1} (random: ≤ {:.1})",
        random::THRESHOLD
    ));
    if bytes >= random::MIN_LEN as u64 && chi > random::THRESHOLD {
        report.fail(
            "all payloads",
            format!("together they do not look random (χ² = {chi:.1})"),
        );
    }
    Ok(report)
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(u64::MAX, |d| d.as_secs());
    if last_activity > now.saturating_add(86_400) {
        return Err("times in the future".into());
    }
    Ok(Thread {
        centre: centre.to_vec(),
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

/// version 1 ‖ stored at (u64, whole minutes) ‖ envelope of one of `kinds`.
fn check_stored_envelope(
    value: &[u8],
    kinds: &[Kind],
    histogram: &mut [u64; 256],
    report: &mut Report,
) -> Result<(), String> {
    if value.len() < 9 || value[0] != 1 {
        return Err("not a version-1 record".into());
    }
    let stored_at = u64::from_be_bytes(value[1..9].try_into().expect("8"));
    if stored_at == 0 || stored_at % MINUTE != 0 {
        return Err("stored at is not a whole minute".into());
    }
    let envelope = Envelope::parse(&value[9..])
        .map_err(|_| "not an envelope of PROTOCOL.md §4.1 (or not on a padding bucket)")?;
    if !kinds.contains(&envelope.kind) {
        return Err(format!("an envelope of kind {}", envelope.kind.to_byte()));
    }
    report.count("envelopes parsed");
    for &b in &envelope.payload {
        histogram[usize::from(b)] += 1;
    }
    if !random::looks_random(&envelope.payload) {
        return Err(format!(
            "a payload that does not look like ciphertext (χ² = {:.1})",
            random::chi_square(&envelope.payload)
        ));
    }
    report.count("payloads that look random");
    Ok(())
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
            for encoding in canary.found_in(part) {
                report.fail(
                    format!("{tree} {}", short_hex(key)),
                    format!("holds the canary {:?} as {encoding}", canary.text),
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
            for encoding in canary.found_in(&bytes) {
                report.fail(
                    format!("file {name}"),
                    format!("holds the canary {:?} as {encoding}", canary.text),
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
