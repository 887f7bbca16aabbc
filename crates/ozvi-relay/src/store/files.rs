//! Attached files (PROTOCOL.md §12, docs/API.md "Files"): each blob's
//! fixed-shape record, and its bytes in a file of the data directory.
//!
//! The bytes live beside the database rather than in it: sled 0.34 keeps
//! what is written in memory far beyond its cache capacity (20 concurrent
//! 16 MiB uploads as 64 KiB values raised a process's RSS by 464 MiB with a
//! 32 MiB cache and by 474 MiB with a 1 MiB cache; as 200 KB values, which
//! sled stores as its own blob files, by 348 MiB), so a blob in sled would
//! make the relay's memory grow with uploaded bytes. A file written chunk by
//! chunk costs no memory beyond the chunk in hand.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::FileId;

use super::StoreError;

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Being received, or interrupted: not yet all on disk.
    Partial = 0,
    /// Complete, claimed by no message yet.
    Pending = 1,
    /// Claimed by the message `claimed_by`.
    Claimed = 2,
}

/// A blob's record in the `files` tree: key mailbox id (16) ‖ file id (16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Where the upload is.
    pub state: FileState,
    /// The sequence number of the message that claimed it (0 until then).
    pub claimed_by: u64,
    /// When the upload began (a minute).
    pub created_at: u64,
    /// The blob's length, a bucket of PROTOCOL.md §12.1.
    pub length: u64,
    /// For an upload to a mailbox that had no thread yet (her first
    /// contact): the verifier of the auth secret it came with, which the
    /// thread that claims it must carry. 32 zero bytes otherwise.
    pub binding: [u8; 32],
}

impl FileRecord {
    /// Record format version.
    pub const VERSION: u8 = 1;
    /// Encoded length: version, state, claimed-by, created, length, binding.
    pub const LEN: usize = 1 + 1 + 8 + 8 + 8 + 32;
    /// Key length: mailbox id ‖ file id.
    pub const KEY_LEN: usize = 32;

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.push(Self::VERSION);
        out.push(self.state as u8);
        out.extend_from_slice(&self.claimed_by.to_be_bytes());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
        out.extend_from_slice(&self.binding);
        out
    }

    /// Parses stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        if bytes.len() != Self::LEN || bytes[0] != Self::VERSION {
            return Err(StoreError::Corrupt);
        }
        let u64_at = |at: usize| {
            u64::from_be_bytes(bytes[at..at + 8].try_into().expect("length checked above"))
        };
        let state = match bytes[1] {
            0 => FileState::Partial,
            1 => FileState::Pending,
            2 => FileState::Claimed,
            _ => return Err(StoreError::Corrupt),
        };
        let record = Self {
            state,
            claimed_by: u64_at(2),
            created_at: u64_at(10),
            length: u64_at(18),
            binding: bytes[26..58].try_into().expect("length checked above"),
        };
        // Only a claimed file names its message; every length is a bucket.
        let claimed_ok = (record.state == FileState::Claimed) == (record.claimed_by != 0);
        if !claimed_ok || !ozvi_crypto::protocol::file::is_blob_len(record.length) {
            return Err(StoreError::Corrupt);
        }
        Ok(record)
    }

    /// The key of `file` of `mailbox`.
    pub fn key(mailbox: &MailboxId, file: &FileId) -> [u8; Self::KEY_LEN] {
        let mut key = [0u8; Self::KEY_LEN];
        key[..16].copy_from_slice(&mailbox.0);
        key[16..].copy_from_slice(&file.0);
        key
    }

    /// The ids in a key.
    pub fn parse_key(key: &[u8]) -> Result<(MailboxId, FileId), StoreError> {
        let key: [u8; Self::KEY_LEN] = key.try_into().map_err(|_| StoreError::Corrupt)?;
        let mut mailbox = [0u8; 16];
        let mut file = [0u8; 16];
        mailbox.copy_from_slice(&key[..16]);
        file.copy_from_slice(&key[16..]);
        Ok((MailboxId(mailbox), FileId(file)))
    }

    /// Whether it is an upload no message has claimed (complete or not).
    pub fn unclaimed(&self) -> bool {
        self.state != FileState::Claimed
    }
}

/// Per-thread limits on files, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileQuota {
    /// Most files the thread's messages may claim.
    pub files: u32,
    /// Most blob bytes a thread may hold, unclaimed uploads included.
    pub bytes: u64,
    /// Most unclaimed uploads at once.
    pub pending: u32,
}

impl Default for FileQuota {
    fn default() -> Self {
        Self {
            files: 100,
            bytes: 256 * 1024 * 1024,
            pending: 10,
        }
    }
}

/// Checks a new upload of `length` bytes under `file` against the
/// thread's other files; the upload it replaces (same id) does not count.
pub fn check_upload(
    others: &[(FileId, FileRecord)],
    file: &FileId,
    length: u64,
    quota: FileQuota,
) -> Result<(), StoreError> {
    let mut unclaimed = 0u32;
    let mut bytes = length;
    for (id, record) in others {
        if id == file {
            if record.state == FileState::Claimed {
                return Err(StoreError::FileExists);
            }
            continue;
        }
        unclaimed += u32::from(record.unclaimed());
        bytes = bytes.saturating_add(record.length);
    }
    if unclaimed >= quota.pending || bytes > quota.bytes {
        return Err(StoreError::Quota);
    }
    Ok(())
}

/// Checks that `claims` may be claimed by a message of a thread with
/// verifier `verifier` holding `files` (no repeats, each a complete
/// unclaimed upload made for this thread, within the quota).
pub fn check_claims(
    files: &[(FileId, FileRecord)],
    claims: &[FileId],
    verifier: &[u8; 32],
    quota: FileQuota,
) -> Result<(), StoreError> {
    if claims.is_empty() {
        return Ok(());
    }
    let claimed = files
        .iter()
        .filter(|(_, r)| r.state == FileState::Claimed)
        .count();
    for (i, id) in claims.iter().enumerate() {
        if claims[..i].contains(id) {
            return Err(StoreError::UnknownFile);
        }
        let Some((_, record)) = files.iter().find(|(f, _)| f == id) else {
            return Err(StoreError::UnknownFile);
        };
        if !claimable(record, verifier) {
            return Err(StoreError::UnknownFile);
        }
    }
    if claimed + claims.len() > quota.files as usize {
        return Err(StoreError::Quota);
    }
    Ok(())
}

/// Whether a message of the thread with `verifier` may claim `record`.
pub fn claimable(record: &FileRecord, verifier: &[u8; 32]) -> bool {
    record.state == FileState::Pending && (record.binding == [0; 32] || record.binding == *verifier)
}

/// An upload being received. Dropping it without [`BlobWriter::finish`]
/// leaves a partial record that a retry under the same id replaces and the
/// sweeper removes.
pub trait BlobWriter: Send {
    /// Appends bytes.
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError>;
    /// Checks the length, makes the bytes durable and marks the upload
    /// complete (its record is durable after the next [`super::Store::flush`]).
    fn finish(self: Box<Self>) -> Result<(), StoreError>;
    /// Throws the upload away: the bytes received and a record this upload
    /// created. A complete upload it would have replaced stays.
    fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

/// A blob as stored, read in pieces.
pub type BlobReader = Box<dyn std::io::Read + Send>;

/// Which kind of store a blob directory's blobs belong to
/// ([`OWNER_FILE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The sled store (and an export, which has sled's layout).
    Sled,
    /// The PostgreSQL store: its relays share the directory.
    Postgres,
}

impl Owner {
    const ALL: [Owner; 2] = [Self::Sled, Self::Postgres];

    /// The owner a whole mark names, if it is one a relay writes.
    fn of(mark: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.line().as_bytes() == mark)
    }

    /// The owner file's whole content.
    pub fn line(self) -> &'static str {
        match self {
            Self::Sled => "sled\n",
            Self::Postgres => "postgres\n",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sled => "a sled store",
            Self::Postgres => "a PostgreSQL store",
        }
    }
}

/// The file in `files/` that says which kind of store its blobs belong to
/// ([`Owner::line`]), written by the first relay that opens the directory.
/// A relay configured with the other store on the same directory (`store`
/// left out of `relay.toml`, say) would do harm there: the PostgreSQL
/// sweeper removes every blob its database holds no record of (a sled
/// store's attachments, all of them), and a sled store removes every
/// partial file when it opens (the uploads PostgreSQL relays are
/// receiving) and serves a new, empty store. It refuses to open instead.
pub const OWNER_FILE: &str = "ozvi-store";

/// The directory of blob files: `files/` in the data directory, one file per
/// blob named by the hex of its key, and `.part` beside it while one is
/// received; and [`OWNER_FILE`].
#[derive(Debug)]
pub struct BlobDir {
    dir: PathBuf,
    /// `staging/` in the data directory: staff uploads whose signature is
    /// not yet checked (emptied on open: a crash leaves nothing of them).
    staging: PathBuf,
    /// Removed on drop (a temporary store).
    temporary: bool,
}

impl BlobDir {
    /// The blob directory in `data` for a store of kind `owner`, created
    /// if missing; [`StoreError::OtherStore`] if it belongs to the other
    /// kind (nothing is changed then).
    pub fn open(data: &Path, temporary: bool, owner: Owner) -> Result<Self, StoreError> {
        Self::claim(data, owner)?;
        let dir = data.join("files");
        let staging = data.join("staging");
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io)?;
        Ok(Self {
            dir,
            staging,
            temporary,
        })
    }

    /// Creates `data`'s blob directory if missing, and checks that it
    /// belongs to `owner` ([`check_owner`]), marking it so if it belongs to
    /// no one yet. [`BlobDir::open`] calls it once the store itself has
    /// opened; a store calls [`check_owner`] before it opens anything, so
    /// that a refusal changes nothing.
    ///
    /// The mark is written in place with `create_new`, which fails if
    /// another relay starting beside this one marked it first (its mark is
    /// then read, waiting while it is being written). No temporary file and
    /// no link: none is left behind in a folder the audit reads, and file
    /// systems without hard links (a backup disk for an export) serve as
    /// well. A relay stopped mid-write leaves a cut mark, which is refused
    /// with what to do.
    pub fn claim(data: &Path, owner: Owner) -> Result<(), StoreError> {
        let dir = data.join("files");
        std::fs::create_dir_all(&dir).map_err(io)?;
        if judge_owner(data, owner)? {
            return Ok(());
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(OWNER_FILE))
        {
            Ok(mut file) => {
                file.write_all(owner.line().as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io)?;
                std::fs::File::open(&dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => check_owner(data, owner),
            Err(e) => Err(io(e)),
        }
    }

    /// Where staff uploads wait for their signature.
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The blob directory of `data` to read from, as it is: unlike
    /// [`BlobDir::open`], nothing is created or cleared (a PostgreSQL
    /// export reads a running relay's blobs: `postgres::export`).
    pub fn reading(data: &Path) -> Self {
        Self {
            dir: data.join("files"),
            staging: data.join("staging"),
            temporary: false,
        }
    }

    /// Where a blob lives.
    pub fn path(&self, mailbox: &MailboxId, file: &FileId) -> PathBuf {
        self.dir.join(hex(&FileRecord::key(mailbox, file)))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes a blob (what is being received for it stays: the stores
    /// remove that themselves).
    pub fn remove(&self, mailbox: &MailboxId, file: &FileId) -> Result<(), StoreError> {
        remove_if_there(&self.path(mailbox, file))
    }

    /// The partial files ([`BlobDir::create_partial`]) untouched for
    /// `older_than_secs` (by the system's clock, as the file system keeps
    /// it), with the key of the blob each was receiving; entries that are
    /// not such a file are left alone.
    pub fn old_partial_files(
        &self,
        older_than_secs: u64,
    ) -> Result<Vec<([u8; 32], PathBuf)>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let Ok(entry) = entry else { continue };
            let Some(key) = entry.file_name().to_str().and_then(partial_key) else {
                continue;
            };
            if untouched_for(&entry, older_than_secs) {
                out.push((key, entry.path()));
            }
        }
        Ok(out)
    }

    /// Every partial file's blob key and the bytes it holds: uploads being
    /// received, and those that broke off and wait for a retry or the
    /// sweeper (the disk bound counts them: `routes::files::check_disk`).
    pub fn partial_sizes(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let Ok(entry) = entry else { continue };
            let Some(key) = entry.file_name().to_str().and_then(partial_key) else {
                continue;
            };
            // One removed meanwhile holds nothing.
            if let Ok(metadata) = entry.metadata() {
                out.push((key, metadata.len()));
            }
        }
        Ok(out)
    }

    /// Makes the directory's entries durable.
    pub fn sync_dir(&self) -> Result<(), StoreError> {
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }

    /// Opens a blob to read.
    pub fn read(&self, mailbox: &MailboxId, file: &FileId) -> Result<BlobReader, StoreError> {
        let f = std::fs::File::open(self.path(mailbox, file)).map_err(io)?;
        Ok(Box::new(f))
    }

    /// Starts receiving a blob into a file of its own, `KEY.ATTEMPT.part`
    /// (ATTEMPT: 16 fresh random bytes in hex), which no other attempt
    /// opens, truncates or renames: relays on PostgreSQL share the blob
    /// directory, and on one relay an attempt whose request has gone may
    /// still be finishing when her retry begins. Returns the file and its
    /// path (for [`BlobDir::complete`]).
    pub fn create_partial(
        &self,
        mailbox: &MailboxId,
        file: &FileId,
    ) -> Result<(std::fs::File, PathBuf), StoreError> {
        let mut attempt = [0u8; 16];
        rand_core::Rng::fill_bytes(&mut ozvi_crypto::primitives::rng::os_rng(), &mut attempt);
        let path = self.dir.join(format!(
            "{}.{}.part",
            hex(&FileRecord::key(mailbox, file)),
            hex(&attempt)
        ));
        let partial = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io)?;
        Ok((partial, path))
    }

    /// Puts the blob received at `partial_path` (synced) in place, durably.
    /// A partial file removed meanwhile was given up, and nothing of it
    /// stays: removed with its file (her thread deleted, say, or swept as
    /// stale) it is `NotFound`, as the file is; removed by a later attempt
    /// on sled, its request has gone.
    pub fn complete(
        &self,
        partial: std::fs::File,
        partial_path: &Path,
        mailbox: &MailboxId,
        file: &FileId,
    ) -> Result<(), StoreError> {
        drop(partial);
        std::fs::rename(partial_path, self.path(mailbox, file)).map_err(|e| {
            // (The folder itself gone is a failure, logged as one.)
            if e.kind() == std::io::ErrorKind::NotFound && self.dir.is_dir() {
                StoreError::NotFound
            } else {
                io(e)
            }
        })?;
        self.sync_dir()
    }

    /// Removes every file whose name ends in `.part`: what uploads were
    /// receiving when the relay stopped (their bytes are never resumed: a
    /// retry sends the whole blob), and the `KEY.part` of relays before the
    /// one name shape. Only for a store that no other process uses (sled),
    /// when it opens.
    pub fn remove_all_partials(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let Ok(entry) = entry else { continue };
            if entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.ends_with(".part"))
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                remove_if_there(&entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes a partial file of [`BlobDir::create_partial`] (or of
    /// [`BlobDir::old_partial_files`]); one already gone is not an error.
    pub fn remove_partial(&self, partial_path: &Path) -> Result<(), StoreError> {
        remove_if_there(partial_path)
    }

    /// The complete blobs (named by their key alone) untouched for
    /// `older_than_secs`, with their paths: the sweeper removes those of no
    /// record (a crash, or a failed unlink, between a record's removal and
    /// its bytes').
    pub fn old_blob_files(
        &self,
        older_than_secs: u64,
    ) -> Result<Vec<([u8; 32], PathBuf)>, StoreError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let Ok(entry) = entry else { continue };
            let Some(key) = entry.file_name().to_str().and_then(unhex32) else {
                continue;
            };
            if untouched_for(&entry, older_than_secs) {
                out.push((key, entry.path()));
            }
        }
        Ok(out)
    }

    /// The partial files ([`BlobDir::create_partial`]) of the blobs of
    /// `files` in `mailbox`, found in one pass over the directory, each with
    /// the file it receives. For relays that share the folder (PostgreSQL),
    /// to remove what is being received for removed files; a sled store
    /// knows its partial files by name.
    pub fn partials_of(
        &self,
        mailbox: &MailboxId,
        files: &[FileId],
    ) -> Result<Vec<(FileId, PathBuf)>, StoreError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let keys: std::collections::HashMap<[u8; 32], FileId> = files
            .iter()
            .map(|file| (FileRecord::key(mailbox, file), *file))
            .collect();
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let Ok(entry) = entry else { continue };
            if let Some(file) = entry
                .file_name()
                .to_str()
                .and_then(partial_key)
                .and_then(|key| keys.get(&key))
            {
                out.push((*file, entry.path()));
            }
        }
        Ok(out)
    }

    /// Writes bytes to a blob being received.
    pub fn append(file: &mut std::fs::File, bytes: &[u8]) -> Result<(), StoreError> {
        file.write_all(bytes).map_err(io)
    }

    /// Puts every complete blob named in `keys` into `target`'s `files/`
    /// as a hard link (a complete blob is never written again: a
    /// replacement is a new file renamed over its name), which is quick
    /// enough to do under the export's gate. Where a link cannot be made
    /// (another file system) the blob is opened instead, and the returned
    /// [`PendingCopies`] copies it from the open file once the gate is let
    /// go: what was open is what is copied, whatever happens to the name.
    pub fn link_to(
        &self,
        target: &Path,
        keys: &[(MailboxId, FileId)],
    ) -> Result<PendingCopies, StoreError> {
        let out = BlobDir::open(target, false, Owner::Sled)?;
        let mut copies = Vec::new();
        let mut linked = Vec::new();
        for (mailbox, file) in keys {
            let from = self.path(mailbox, file);
            let to = out.path(mailbox, file);
            match std::fs::hard_link(&from, &to) {
                Ok(()) => linked.push(to),
                Err(_) => copies.push((std::fs::File::open(&from).map_err(io)?, to)),
            }
        }
        Ok(PendingCopies {
            out,
            copies,
            linked,
        })
    }
}

/// The rest of an export's blobs, done after its gate is let go.
#[derive(Debug)]
pub struct PendingCopies {
    out: BlobDir,
    copies: Vec<(std::fs::File, PathBuf)>,
    linked: Vec<PathBuf>,
}

impl PendingCopies {
    /// Copies what could not be linked and makes the export durable.
    pub fn finish(self) -> Result<(), StoreError> {
        for (mut from, to) in self.copies {
            let mut target = std::fs::File::create(&to).map_err(io)?;
            std::io::copy(&mut from, &mut target).map_err(io)?;
            target.sync_all().map_err(io)?;
        }
        for path in &self.linked {
            std::fs::File::open(path)
                .and_then(|f| f.sync_all())
                .map_err(io)?;
        }
        self.out.sync_dir()
    }
}

impl Drop for BlobDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
            let _ = std::fs::remove_dir_all(&self.staging);
            if let Some(parent) = self.dir.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Why an upload's finishing is refused, if it is: `orphaned` when it is an
/// upload into a thread (no binding) whose thread is gone, deleted while it
/// was received (`NotFound`: nothing of it may stay); a blob a message has
/// claimed never changes (`FileExists`). `current` is the record as the
/// finishing finds it under the store's lock.
pub fn finish_refusal(orphaned: bool, current: Option<&FileRecord>) -> Option<StoreError> {
    if orphaned {
        Some(StoreError::NotFound)
    } else if current.is_some_and(|r| r.state == FileState::Claimed) {
        Some(StoreError::FileExists)
    } else {
        None
    }
}

/// Whether an old partial file of a blob whose record is `record` is
/// abandoned: no upload will finish into it. An upload being received (or
/// interrupted and kept for a retry) has a partial record, and its record's
/// staleness decides; with no record, or a complete one (a crash left the
/// partial of an attempt that a retry then finished), nothing will.
pub fn partial_abandoned(record: Option<&FileRecord>) -> bool {
    record.is_none_or(|r| r.state != FileState::Partial)
}

/// Whether a directory entry was last written `secs` or more ago (by the
/// system's clock, as the file system keeps it); unknown is not old.
fn untouched_for(entry: &std::fs::DirEntry, secs: u64) -> bool {
    entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() >= secs)
}

/// How long a mark another relay is writing (an empty or cut file) is
/// waited for.
const MARK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The mark in `dir`, once it is whole: `None` if there is none. A file
/// that stays empty or cut for [`MARK_WAIT`] (a relay stopped while it
/// wrote it) is an error that says what to do.
fn read_mark(dir: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let path = dir.join(OWNER_FILE);
    let deadline = std::time::Instant::now() + MARK_WAIT;
    loop {
        match std::fs::read(&path) {
            Ok(found) if found.ends_with(b"\n") => return Ok(Some(found)),
            // Being written by a relay starting beside this one.
            Ok(found)
                if Owner::ALL
                    .iter()
                    .any(|o| o.line().as_bytes().starts_with(&found)) =>
            {
                if std::time::Instant::now() >= deadline {
                    return Err(StoreError::OtherStore(format!(
                        "its files/{OWNER_FILE} was left unfinished (a relay stopped while \
                         writing it): remove that file and start again"
                    )));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Ok(found) => return Ok(Some(found)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        }
    }
}

/// Whether the data directory `data` has a sled database in it (sled
/// writes `conf` and `db` when it opens).
///
/// Also where `data/files` really is, when it is a link to a folder of
/// its own (relays on PostgreSQL share one): a sled store's folder, from
/// before the mark, linked there by mistake.
fn holds_sled_database(data: &Path) -> bool {
    let here = |dir: &Path| dir.join("conf").is_file() || dir.join("db").is_file();
    here(data)
        || std::fs::canonicalize(data.join("files"))
            .ok()
            .and_then(|files| files.parent().map(here))
            .unwrap_or(false)
}

/// Whether the blob directory `dir` holds a blob or a partial file.
fn holds_blobs(dir: &Path) -> Result<bool, StoreError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries.filter_map(Result::ok).any(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| unhex32(name).is_some() || partial_key(name).is_some())
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(e)),
    }
}

/// Whether the data directory `data` may be opened by a store of kind
/// `owner`: its blob directory's mark names `owner`, or there is no mark
/// yet and nothing says the data belongs to the other kind (folders from
/// before the mark: a sled database beside them is sled's; blobs with no
/// sled database beside them are PostgreSQL's). Reads only.
pub fn check_owner(data: &Path, owner: Owner) -> Result<(), StoreError> {
    judge_owner(data, owner).map(drop)
}

/// [`check_owner`]; `true` if the folder is marked (as `owner`'s).
fn judge_owner(data: &Path, owner: Owner) -> Result<bool, StoreError> {
    let dir = data.join("files");
    let configured = |said: String| {
        Err(StoreError::OtherStore(format!(
            "{said}, and this relay is configured for {}: check its `store` setting",
            owner.name()
        )))
    };
    match read_mark(&dir)? {
        Some(found) => match Owner::of(&found) {
            Some(marked) if marked == owner => Ok(true),
            Some(other) => configured(format!(
                "its files/ holds the attachments of {} ({OWNER_FILE} says so)",
                other.name()
            )),
            None => Err(StoreError::OtherStore(format!(
                "its files/{OWNER_FILE} is not one a relay writes"
            ))),
        },
        None => match owner {
            Owner::Postgres if holds_sled_database(data) => {
                configured("it holds the database of a sled store".into())
            }
            Owner::Sled if !holds_sled_database(data) && holds_blobs(&dir)? => configured(
                "its files/ holds attachments with no sled database beside them (a \
                 PostgreSQL store's?)"
                    .into(),
            ),
            _ => Ok(false),
        },
    }
}

/// The 32 bytes of 64 lower-case hex digits.
fn unhex32(text: &str) -> Option<[u8; 32]> {
    unhex(text)
}

/// The key of the blob a partial file's name (`KEY.ATTEMPT.part`, of
/// [`BlobDir::create_partial`]) says it receives; `None` for any other
/// name.
pub fn partial_key(name: &str) -> Option<[u8; 32]> {
    let (key, random) = name.strip_suffix(".part")?.split_once('.')?;
    unhex::<16>(random)?;
    unhex32(key)
}

/// Removes a file; one already gone is not an error.
fn remove_if_there(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// A file-system failure; the message names the kind only, never a path.
pub fn io(e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("blob file: {:?}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_partial_name_of_the_one_shape_names_a_blob() {
        let key = "ab".repeat(32);
        let random = "0f".repeat(16);
        assert_eq!(
            partial_key(&format!("{key}.{random}.part")),
            Some([0xab; 32])
        );
        for name in [
            format!("{key}.part"),
            format!("{key}.{random}"),
            format!("{key}.{random}.part.part"),
            format!("{key}.{}.part", "0F".repeat(16)),
            format!("{key}.{}.part", "0f".repeat(15)),
            format!("{}.{random}.part", "ab".repeat(31)),
            format!("{}.{random}.part", "AB".repeat(32)),
            format!("{key}.{random}.x.part"),
            format!(".{random}.part"),
            format!("+{}.{random}.part", &key[1..]),
            format!("{key}.+{}.part", &random[1..]),
            key.clone(),
        ] {
            assert_eq!(partial_key(&name), None, "{name}");
        }
    }

    #[test]
    fn file_record_round_trips_at_its_fixed_length_and_refuses_bad_shapes() {
        let record = FileRecord {
            state: FileState::Claimed,
            claimed_by: 3,
            created_at: 120,
            length: ozvi_crypto::protocol::file::BLOB_LENGTHS[2],
            binding: [0; 32],
        };
        let bytes = record.encode();
        assert_eq!(bytes.len(), FileRecord::LEN);
        assert_eq!(FileRecord::decode(&bytes).expect("valid"), record);
        let mut bad = bytes.clone();
        bad[1] = 7;
        assert!(FileRecord::decode(&bad).is_err(), "unknown state");
        let mut bad = bytes.clone();
        bad[25] ^= 1;
        assert!(FileRecord::decode(&bad).is_err(), "not a bucket");
        let mut bad = bytes.clone();
        bad[9] = 0;
        assert!(FileRecord::decode(&bad).is_err(), "claimed by nothing");
        assert!(FileRecord::decode(&bytes[..57]).is_err());
        let (m, f) = FileRecord::parse_key(&FileRecord::key(&MailboxId([1; 16]), &FileId([2; 16])))
            .expect("valid");
        assert_eq!((m.0, f.0), ([1; 16], [2; 16]));
    }
}
