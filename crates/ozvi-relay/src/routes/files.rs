//! Attached files (docs/API.md, "Files"; PROTOCOL.md §12): uploads are
//! refused on their headers before a byte of the body is read, then
//! streamed to the store one piece at a time, so neither a file's size nor
//! the number of uploads makes the relay's memory grow.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use ozvi_api::headers::{FILE as FILE_HEADER, POW as POW_HEADER};
use ozvi_crypto::MailboxId;
use ozvi_crypto::protocol::file::{
    BLOB_LENGTHS, FORMAT, FileId, MAX_FILES_PER_MESSAGE, is_blob_len,
};
use ozvi_crypto::protocol::request::BodyDigest;

use super::person::client_of;
use super::{BODY_LIMIT, decode_array, parse_json};
use crate::admission::{Purpose, Reservation};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::{AppState, DiskCount};
use crate::store::{FileRecord, FileState, StoreError, Upload};

/// How long an upload's body may take to arrive (16 MiB at ~256 kbit/s).
pub const UPLOAD_READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The largest blob.
const MAX_BLOB: u64 = BLOB_LENGTHS[BLOB_LENGTHS.len() - 1];

/// How much of a blob is read from disk at a time when it is sent.
const READ_CHUNK: usize = 64 * 1024;

/// The file ids a message claims (`files`): at most five, no repeats.
pub fn claims(files: &[String]) -> Result<Vec<FileId>, ApiError> {
    if files.len() > MAX_FILES_PER_MESSAGE {
        return Err(ApiError::InvalidField);
    }
    let mut ids: Vec<FileId> = Vec::with_capacity(files.len());
    for text in files {
        let id = FileId(decode_array(text)?);
        if ids.contains(&id) {
            return Err(ApiError::InvalidField);
        }
        ids.push(id);
    }
    Ok(ids)
}

/// The declared `Content-Length`: missing is `411 length_required`, over
/// the largest blob (plus `extra`) `413`, not `extra` plus a blob length
/// `400 invalid_file`.
fn declared_blob_length(req: &HttpRequest, extra: u64) -> Result<u64, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .ok_or(ApiError::LengthRequired)?
        .to_str()
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or(ApiError::InvalidFile)?;
    if declared > MAX_BLOB + extra {
        return Err(ApiError::PayloadTooLarge);
    }
    let blob = declared.checked_sub(extra).ok_or(ApiError::InvalidFile)?;
    if !is_blob_len(blob) {
        return Err(ApiError::InvalidFile);
    }
    Ok(blob)
}

fn file_header(req: &HttpRequest) -> Result<FileId, ApiError> {
    let text = req
        .headers()
        .get(FILE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::InvalidField)?;
    Ok(FileId(decode_array(text)?))
}

/// A place among the uploads being received, the id marked as being
/// received and her client address bucket's count; all given back on drop.
struct Receiving {
    state: web::Data<AppState>,
    client: Option<std::net::IpAddr>,
    _permit: tokio::sync::OwnedSemaphorePermit,
    /// Its share of the disk bound, whose key is the id marked as being
    /// received. Dropped after [`Receiving::drop`] (a struct's fields are
    /// dropped after its own `drop`): once the upload's key no longer hides
    /// its partial file from a count.
    share: DiskShare,
}

/// An upload's share of the disk bound, from the moment it is let in
/// ([`take_disk_share`], after its auth, holding one of the places of
/// uploads being received) until its request ends: its declared length
/// counts among the uploads being received ([`AppState::receiving_bytes`]),
/// so that uploads let in together each see the others. Held by the
/// upload's [`Receiving`], which drops it last.
struct DiskShare {
    state: web::Data<AppState>,
    declared: u64,
    /// The bytes given to its partial file so far: what it holds of the
    /// disk if it breaks off.
    received: u64,
    /// Once counted with the complete blobs ([`DiskShare::completed`]):
    /// the count it was added after, and what it added.
    completed: Option<(u64, u64)>,
    /// The upload's key (mailbox id ‖ file id), once it is marked as being
    /// received (any 32 bytes, zeros too: ids are the client's).
    key: Option<[u8; 32]>,
}

impl DiskShare {
    /// The upload is complete but for the store's finish: it adds `growth`
    /// bytes to the complete blobs' total until the next count.
    async fn completed(&mut self, growth: u64) {
        let mut stored = self.state.stored_bytes.lock().await;
        if let Some((_, total)) = stored.total.as_mut() {
            *total = total.saturating_add(growth);
        }
        let count = self
            .state
            .disk_counts
            .load(std::sync::atomic::Ordering::Relaxed);
        self.completed = Some((count, growth));
    }
}

impl Drop for DiskShare {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        match (self.completed, self.key) {
            // What arrived stays in its partial file, counted from the next
            // count on; until then, by what was given to it: the key's one
            // file (an attempt before it left none: this one's beginning
            // removed it).
            (None, Some(key)) if self.received > 0 => {
                lock(&self.state.broken_off_files).insert(key, self.received);
            }
            (None, _) => {
                self.state
                    .broken_off_bytes
                    .fetch_add(self.received, Relaxed);
            }
            // A count ran before its record was complete, and may have
            // missed it (counted twice, if not).
            (Some((count, growth)), _) if count != self.state.disk_counts.load(Relaxed) => {
                self.state.broken_off_bytes.fetch_add(growth, Relaxed);
            }
            (Some(_), _) => {}
        }
        self.state.receiving_bytes.fetch_sub(self.declared, Relaxed);
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Receiving {
    /// One of `concurrent_uploads` for her upload (else `503 busy`): taken
    /// before its share of the disk bound, so that at most that many of
    /// hers hold one.
    fn place(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        Arc::clone(&state.uploads)
            .try_acquire_owned()
            .map_err(|_| ApiError::Busy)
    }

    /// Her upload, holding `permit` ([`Receiving::place`]) and its `share`:
    /// at most `uploads_per_address` from her client address bucket (else
    /// `503 busy`), and one at a time per mailbox (else `409
    /// upload_in_progress`).
    fn person(
        state: &web::Data<AppState>,
        permit: tokio::sync::OwnedSemaphorePermit,
        client: std::net::IpAddr,
        mailbox: &MailboxId,
        file: &FileId,
        share: DiskShare,
    ) -> Result<Self, ApiError> {
        {
            let mut clients = lock(&state.upload_clients);
            let count = clients.entry(client).or_insert(0);
            // `busy` rather than `rate_limited`: people behind one address
            // (a shared network, a Tor exit) are not misbehaving, and her
            // page tries a busy upload again.
            if *count >= state.config.uploads_per_address.max(1) {
                return Err(ApiError::Busy);
            }
            *count += 1;
        }
        let mut receiving = Self {
            state: state.clone(),
            client: Some(client),
            _permit: permit,
            share,
        };
        let key = FileRecord::key(mailbox, file);
        let mut uploading = lock(&state.uploading);
        if uploading.iter().any(|k| k[..16] == mailbox.0) {
            return Err(ApiError::UploadInProgress);
        }
        uploading.insert(key);
        receiving.share.key = Some(key);
        Ok(receiving)
    }

    /// A staff upload whose signature verified, holding `permit` (one of
    /// `concurrent_staff_uploads`): the same id twice at once is refused.
    fn staff(
        state: &web::Data<AppState>,
        permit: tokio::sync::OwnedSemaphorePermit,
        mailbox: &MailboxId,
        file: &FileId,
        mut share: DiskShare,
    ) -> Result<Self, ApiError> {
        let key = FileRecord::key(mailbox, file);
        if !lock(&state.uploading).insert(key) {
            return Err(ApiError::UploadInProgress);
        }
        share.key = Some(key);
        Ok(Self {
            state: state.clone(),
            client: None,
            _permit: permit,
            share,
        })
    }

    /// Its store has begun the upload, removing the partial file an
    /// attempt of the same key before it left here: that attempt's bytes
    /// count no more.
    fn begun(&self) {
        if let Some(key) = &self.share.key {
            lock(&self.state.broken_off_files).remove(key);
        }
    }
}

impl Drop for Receiving {
    fn drop(&mut self) {
        if let Some(key) = &self.share.key {
            lock(&self.state.uploading).remove(key);
        }
        if let Some(client) = self.client {
            let mut clients = lock(&self.state.upload_clients);
            if let Some(count) = clients.get_mut(&client) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    clients.remove(&client);
                }
            }
        }
    }
}

/// Reads a body of `length` bytes into `sink` a chunk at a time: the first
/// byte (at `offset` 0 of the blob) must be the blob format; more than
/// `length` is `413`, fewer `400`. An upload is cut (`400
/// malformed_request`, connection closed) when no byte comes for
/// `upload_idle_secs`, when its average rate after `upload_grace_secs` is
/// under `upload_min_bytes_per_sec`, or after [`UPLOAD_READ_LIMIT`].
async fn read_body(
    state: &AppState,
    payload: &mut web::Payload,
    length: u64,
    mut first: bool,
    mut sink: impl FnMut(&[u8]) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let started = tokio::time::Instant::now();
    let idle = std::time::Duration::from_secs(state.config.upload_idle_secs.max(1));
    let grace = state.config.upload_grace_secs;
    let rate = state.config.upload_min_bytes_per_sec;
    let mut written = 0u64;
    loop {
        if started.elapsed() > UPLOAD_READ_LIMIT {
            return Err(ApiError::MalformedRequest);
        }
        let next = tokio::time::timeout(idle, payload.next())
            .await
            .map_err(|_| ApiError::MalformedRequest)?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|_| ApiError::MalformedRequest)?;
        if chunk.is_empty() {
            continue;
        }
        if first {
            if chunk[0] != FORMAT {
                return Err(ApiError::InvalidFile);
            }
            first = false;
        }
        written += chunk.len() as u64;
        if written > length {
            return Err(ApiError::PayloadTooLarge);
        }
        sink(&chunk)?;
        let elapsed = started.elapsed().as_secs();
        if written < length && elapsed >= grace && written < rate.saturating_mul(elapsed) {
            return Err(ApiError::MalformedRequest);
        }
    }
    if written != length {
        return Err(ApiError::MalformedRequest);
    }
    Ok(())
}

/// Streams a body into `writer`: the first byte must be the blob format.
async fn stream_blob(
    state: &AppState,
    payload: &mut web::Payload,
    writer: &mut dyn Upload,
    length: u64,
    share: &mut DiskShare,
) -> Result<(), ApiError> {
    read_body(state, payload, length, true, |chunk| {
        // Counted before it is written: never less than its file holds.
        share.received += chunk.len() as u64;
        writer.write(chunk).map_err(|e| match e {
            StoreError::Corrupt => ApiError::PayloadTooLarge,
            e => e.into(),
        })
    })
    .await
}

/// The relay's disk bound, by the declared length before a byte of the
/// body is read: the blob bytes it stores in all (complete blobs, partial
/// files, uploads being received) stay within `files_max_bytes`, and an
/// upload never takes the last `disk_reserve_bytes` of the data
/// directory's file system (the database's own writes, her text messages
/// first, need it). Over either: `503 busy`. Checked on the headers, so
/// that no proof of work is spent and no body read for an upload the disk
/// would not take, and again by [`take_disk_share`] once the upload is let
/// in. Takes nothing: a request that waits for its auth, or is refused by
/// it, holds none of the bound.
async fn check_disk(state: &web::Data<AppState>, length: u64) -> Result<(), ApiError> {
    disk_room(state, length).await.map(drop)
}

/// [`check_disk`] for an upload being let in (past its auth, holding one of
/// the places of uploads being received, so that at most
/// `concurrent_uploads` + `concurrent_staff_uploads` hold a share), and its
/// share of the bound from then on: taken while the count is held, so the
/// next upload checked sees it.
async fn take_disk_share(state: &web::Data<AppState>, length: u64) -> Result<DiskShare, ApiError> {
    let counted = disk_room(state, length).await?;
    state
        .receiving_bytes
        .fetch_add(length, std::sync::atomic::Ordering::Relaxed);
    drop(counted);
    Ok(DiskShare {
        state: state.clone(),
        declared: length,
        received: 0,
        completed: None,
        key: None,
    })
}

/// Whether an upload of `length` bytes fits the disk bound; if it does,
/// the count, held.
///
/// The total is the complete blobs' bytes, the bytes in partial files
/// (uploads that broke off, or that another relay sharing the folder is
/// receiving), and the declared lengths of the uploads this relay has let
/// in and is receiving now ([`DiskShare`]). Blobs and partial files are
/// counted at most every [`RECOUNT`] (a scan of the `files` tree and the
/// folder per request would let anyone who sends headers make the relay
/// scan them), and every upload completed meanwhile is added to them
/// ([`DiskShare::completed`]), every one that broke off by the bytes given
/// to its partial file ([`AppState::broken_off_files`]): between counts
/// the total can only be too high (a removal is seen at the next count),
/// never too low, but for an upload whose request was dropped while the
/// store finished it and a count ran meanwhile, or whose finish failed
/// having written more than it adds (until the next count). An upload
/// that broke off keeps its record for a retry, and counts by what arrived
/// of it. So neither a refusal nor a cut upload, nor the same one sent
/// again and again ([`growth`]), pushes the total up: only bytes that
/// arrive do.
async fn disk_room(
    state: &web::Data<AppState>,
    length: u64,
) -> Result<tokio::sync::MutexGuard<'_, DiskCount>, ApiError> {
    let mut stored = state.stored_bytes.lock().await;
    if !fresh(&stored) {
        drop(stored);
        // The count runs in a task of its own, which takes the lock and
        // records the total: a request dropped meanwhile (its client gone)
        // does not cut it short, so requests dropped one after another
        // cannot start one pass over the records after another. Requests
        // that come while it runs wait for the lock, then take its total.
        let counting = state.clone();
        tokio::spawn(async move { recount(&counting).await })
            .await
            .map_err(|_| {
                tracing::error!("the disk bound's count did not complete");
                ApiError::Internal
            })??;
        stored = state.stored_bytes.lock().await;
    }
    let Some((_, total)) = stored.total else {
        return Err(ApiError::Internal);
    };
    let total = total
        .saturating_add(
            state
                .receiving_bytes
                .load(std::sync::atomic::Ordering::Relaxed),
        )
        .saturating_add(
            state
                .broken_off_bytes
                .load(std::sync::atomic::Ordering::Relaxed),
        )
        .saturating_add(
            lock(&state.broken_off_files)
                .values()
                .fold(0u64, |sum, bytes| sum.saturating_add(*bytes)),
        );
    let staging = state.store.staging_dir();
    let available = fs2::available_space(&staging).map_err(|e| {
        tracing::error!(kind = ?e.kind(), "cannot read the free space");
        ApiError::Internal
    })?;
    let over_bound = total.saturating_add(length) > state.config.files_max_bytes;
    // The uploads being received may write all they declared (what they
    // wrote already is counted twice: on the safe side).
    let promised = state
        .receiving_bytes
        .load(std::sync::atomic::Ordering::Relaxed);
    let into_reserve = available
        < length
            .saturating_add(state.config.disk_reserve_bytes)
            .saturating_add(promised);
    if over_bound || into_reserve {
        tracing::warn!(
            over_bound,
            into_reserve,
            "an upload was refused for disk space"
        );
        return Err(ApiError::Busy);
    }
    Ok(stored)
}

/// Whether the count was made within [`RECOUNT`].
fn fresh(stored: &DiskCount) -> bool {
    stored.total.is_some_and(|(at, _)| at.elapsed() < RECOUNT)
}

/// How long the answer of a count that failed is given without counting
/// again.
const FAILED_COUNT_HOLDS: std::time::Duration = std::time::Duration::from_secs(1);

/// Counts the complete blobs and the partial files into
/// [`AppState::stored_bytes`], unless a count within [`RECOUNT`] is there
/// (one made while this waited for the lock), or one failed within
/// [`FAILED_COUNT_HOLDS`] (its answer, then: requests that waited together
/// for a count that failed do not each make it again, one after another).
/// An async lock, held across the count, which may wait on a database,
/// without blocking the worker's other requests.
async fn recount(state: &AppState) -> Result<(), ApiError> {
    let mut stored = state.stored_bytes.lock().await;
    if fresh(&stored) {
        return Ok(());
    }
    if let Some((at, answer)) = stored.failed
        && at.elapsed() < FAILED_COUNT_HOLDS
    {
        return Err(answer);
    }
    state
        .disk_counts
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Taken before the count, which sees their files: an upload breaking
    // off meanwhile is counted twice, never not at all.
    state
        .broken_off_bytes
        .swap(0, std::sync::atomic::Ordering::Relaxed);
    lock(&state.broken_off_files).clear();
    let counted = async {
        Ok::<_, ApiError>((
            state.store.complete_file_bytes().await?,
            state.store.partial_sizes().await?,
        ))
    };
    let (complete, partial) = match counted.await {
        Ok(counted) => counted,
        Err(answer) => {
            stored.failed = Some((std::time::Instant::now(), answer));
            return Err(answer);
        }
    };
    let partial = {
        // This relay's own uploads count by their declared lengths.
        let uploading = lock(&state.uploading);
        partial
            .iter()
            .filter(|(key, _)| !uploading.contains(key))
            .fold(0u64, |sum, (_, bytes)| sum.saturating_add(*bytes))
    };
    stored.total = Some((std::time::Instant::now(), complete.saturating_add(partial)));
    stored.failed = None;
    Ok(())
}

/// What an upload of `length` bytes of `file` will add to the complete
/// blobs' total once complete: read before it begins. It replaces a
/// complete unclaimed upload of the same id, whose length is counted
/// already (by the last count, or by [`DiskShare::completed`]); counting it again
/// would let one holder who sends the same upload again and again push the
/// total over the bound, and refuse everyone's uploads, until the next
/// count. A record that cannot be read counts whole: too high, never too
/// low.
async fn growth(state: &AppState, mailbox: &MailboxId, file: &FileId, length: u64) -> u64 {
    match state.store.file(mailbox, file).await {
        Ok(Some(earlier)) if earlier.state != FileState::Partial => {
            length.saturating_sub(earlier.length)
        }
        _ => length,
    }
}

/// How long the disk bound's count of stored blob bytes is used before the
/// records are counted again.
const RECOUNT: std::time::Duration = std::time::Duration::from_secs(5);

/// Makes a received upload durable: counted with the complete blobs as
/// adding `adds` bytes ([`growth`]), then the bytes (the store keeps the
/// wait for the disk off the async workers), then its record through the
/// group flush.
async fn finish(
    state: &AppState,
    share: &mut DiskShare,
    writer: Box<dyn Upload>,
    adds: u64,
) -> Result<(), ApiError> {
    // Counted before the store finishes it: that finish runs to its end even
    // if this request is dropped meanwhile. A finish that fails leaves the
    // total too high until the next count, never too low.
    share.completed(adds).await;
    writer.finish().await?;
    state.flusher.flush().await?;
    Ok(())
}

/// A creation counted against a client's budget: given back if the
/// upload that paid with it is refused before it starts.
type Creation = (std::net::IpAddr, u64, Reservation);

/// Her auth for an upload: a thread's holder (binding none), or, for a
/// mailbox with no thread yet, the first contact — bound to her verifier,
/// and paid for with a `create` proof of work on the first upload.
async fn person_upload_auth(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(MailboxId, [u8; 32], Option<Creation>), ApiError> {
    let (mailbox, verifier) = super::person::presented_mailbox(req)?;
    if verifier.0 == crate::store::ThreadRecord::NO_PERSON {
        return Err(ApiError::InvalidField);
    }
    let thread = state.store.thread(&mailbox).await?;
    // Compared (in constant time) whether or not the thread exists.
    let holder = ozvi_crypto::AuthVerifier(thread.as_ref().map_or([0; 32], |r| r.verifier))
        == verifier
        && thread.as_ref().is_some_and(|r| !r.is_case());
    if holder {
        return Ok((mailbox, [0; 32], None));
    }
    // No thread of hers: uploads already bound to another secret make the
    // mailbox someone else's; one bound to hers needs no second payment.
    let mut taken = thread.is_some();
    let mut bound_to_her = false;
    for (_, record) in &state.store.files(&mailbox).await? {
        if record.binding != [0; 32] {
            if ozvi_crypto::AuthVerifier(record.binding) == verifier {
                bound_to_her = true;
            } else {
                taken = true;
            }
        }
    }
    let binding = verifier.0;
    if bound_to_her && !taken {
        return Ok((mailbox, binding, None));
    }
    // Her first upload is her creation: the creation budget and a `create`
    // proof of work, both before the body is read. Every upload that is not
    // a thread holder's pays, so that a refusal says nothing for free.
    let pow = req
        .headers()
        .get(POW_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once('.'))
        .and_then(|(challenge, nonce)| Some((challenge, nonce.parse::<u64>().ok()?)));
    let client = client_of(req);
    let now = state.clock.now();
    let reservation = state
        .limits
        .reserve_creation(client, now, state.config.threads_per_address_per_hour)
        .await?;
    if reservation == Reservation::Refused {
        Metrics::inc(&state.metrics.rate_limited);
        return Err(ApiError::RateLimited);
    }
    let paid = match pow {
        Some((challenge, nonce)) => {
            state
                .limits
                .spend_challenge(
                    challenge,
                    nonce,
                    Purpose::Create,
                    state.config.pow_difficulty,
                    now,
                )
                .await
        }
        None => Ok(state.config.pow_difficulty == 0),
    };
    if !matches!(paid, Ok(true)) {
        state
            .limits
            .release_creation(client, now, reservation)
            .await;
        return Err(paid
            .err()
            .map_or(ApiError::InvalidProofOfWork, ApiError::from));
    }
    // Someone else's thread (or a wrong secret) is refused only once paid
    // for, as a missing one would have been accepted then: whoever holds a
    // mailbox id without its code learns from the relay whether the thread
    // exists no more cheaply than by trying to create it.
    if taken {
        state
            .limits
            .release_creation(client, now, reservation)
            .await;
        return Err(ApiError::UnknownMailbox);
    }
    Ok((mailbox, binding, Some((client, now, reservation))))
}

/// Gives back her creation's reservation (if her upload was one) when the
/// upload did not begin.
async fn give_back(state: &AppState, creation: Option<(std::net::IpAddr, u64, Reservation)>) {
    if let Some((client, now, reservation)) = creation {
        state
            .limits
            .release_creation(client, now, reservation)
            .await;
    }
}

/// `PUT /api/v1/mailbox/file`: she uploads one blob.
pub async fn person_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let length = declared_blob_length(&req, 0)?;
    let file = file_header(&req)?;
    check_disk(&state, length).await?;
    let (mailbox, binding, creation) = person_upload_auth(&state, &req).await?;
    // Let in: one of the places of uploads being received, then its share
    // of the bound.
    let let_in = async {
        let permit = Receiving::place(&state)?;
        let share = take_disk_share(&state, length).await?;
        Receiving::person(&state, permit, client_of(&req), &mailbox, &file, share)
    }
    .await;
    let mut receiving = match let_in {
        Ok(receiving) => receiving,
        Err(e) => {
            give_back(&state, creation).await;
            return Err(e);
        }
    };
    let adds = growth(&state, &mailbox, &file, length).await;
    let begun = state
        .store
        .begin_upload(
            &mailbox,
            &file,
            length,
            binding,
            state.clock.now(),
            state.config.file_quota(),
        )
        .await;
    let mut writer = match begun {
        Ok(writer) => {
            receiving.begun();
            writer
        }
        Err(e) => {
            give_back(&state, creation).await;
            return Err(e.into());
        }
    };
    // From here her creation is spent: an interrupted upload is retried
    // under the same id, bound to the same secret, without paying again.
    match stream_blob(
        &state,
        &mut payload,
        writer.as_mut(),
        length,
        &mut receiving.share,
    )
    .await
    {
        Ok(()) => {}
        Err(ApiError::InvalidFile) => {
            writer.abort().await?;
            return Err(ApiError::InvalidFile);
        }
        // The partial record stays for a retry (or the sweeper).
        Err(e) => return Err(e),
    }
    finish(&state, &mut receiving.share, writer, adds).await?;
    drop(receiving);
    Ok(HttpResponse::NoContent().finish())
}

/// A claimed file's blob as the answer, read from the store a piece at a
/// time.
async fn send_blob(
    state: &AppState,
    mailbox: &MailboxId,
    file: &FileId,
) -> Result<HttpResponse, ApiError> {
    let record = state
        .store
        .file(mailbox, file)
        .await?
        .filter(|r| r.state == FileState::Claimed)
        .ok_or(ApiError::UnknownFile)?;
    let reader = state.store.read_blob(mailbox, file).await?;
    let stream = futures_util::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        let read = web::block(move || {
            let mut buf = vec![0u8; READ_CHUNK];
            let mut filled = 0;
            while filled < READ_CHUNK {
                match std::io::Read::read(&mut reader, &mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            buf.truncate(filled);
            Ok((buf, reader))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, reader))) => Some((
                Ok::<_, actix_web::Error>(web::Bytes::from(buf)),
                Some(reader),
            )),
            _ => {
                tracing::error!("reading a blob failed");
                Some((
                    Err(actix_web::error::ErrorInternalServerError("read")),
                    None,
                ))
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .no_chunking(record.length)
        .streaming(stream))
}

/// `GET /api/v1/mailbox/file`: a file claimed by a message of her thread.
pub async fn person_download(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (mailbox, _) = super::person::authenticate(&state, &req).await?;
    let file = file_header(&req)?;
    send_blob(&state, &mailbox, &file).await
}

/// A staff upload's body while its signature is unchecked: a file of the
/// store's staging directory, no record, removed on drop.
struct Staged {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
}

impl Staged {
    fn create(state: &AppState) -> Result<Self, ApiError> {
        use rand_core::Rng as _;
        let mut random = [0u8; 16];
        ozvi_crypto::primitives::rng::os_rng().fill_bytes(&mut random);
        let path = state
            .store
            .staging_dir()
            .join(format!("{}.staged", crate::store::files::hex(&random)));
        let file = std::fs::File::create_new(&path).map_err(|e| {
            tracing::error!(kind = ?e.kind(), "cannot stage a staff upload");
            ApiError::Internal
        })?;
        Ok(Self {
            path,
            file: Some(file),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ApiError> {
        use std::io::Write as _;
        let file = self.file.as_mut().ok_or(ApiError::Internal)?;
        file.write_all(bytes).map_err(|e| {
            tracing::error!(kind = ?e.kind(), "cannot stage a staff upload");
            ApiError::Internal
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        drop(self.file.take());
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Copies a staged blob into the store's writer (off the async workers).
async fn copy_staged(
    mut staged: Staged,
    mut writer: Box<dyn Upload>,
) -> Result<Box<dyn Upload>, ApiError> {
    let (result, writer) = web::block(move || {
        let mut copy = || -> Result<(), StoreError> {
            drop(staged.file.take());
            let mut source = std::fs::File::open(&staged.path).map_err(crate::store::files::io)?;
            let mut buf = vec![0u8; READ_CHUNK];
            loop {
                let n = match std::io::Read::read(&mut source, &mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(crate::store::files::io(e)),
                };
                writer.write(&buf[..n])?;
            }
        };
        let result = copy();
        drop(staged);
        (result, writer)
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    match result {
        Ok(()) => Ok(writer),
        Err(e) => {
            writer.abort().await?;
            Err(e.into())
        }
    }
}

/// `PUT /api/v1/staff/file`: a staff member uploads a blob for a thread of
/// her centre. Body `mailbox id (16) ‖ file id (16) ‖ blob`, signed.
///
/// Until the signature is checked (after the whole body) the upload holds
/// one of `concurrent_staff_uploads` places only (none of hers), its bytes
/// wait in the staging directory (no record, no quota, never served), and
/// no answer depends on the thread. Only once signed are the thread, the
/// centre, the quotas and the id looked at and the blob moved in; nothing
/// of an upload that fails is kept.
pub async fn staff_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let signed = super::staff::check_headers(&state, &req).await?;
    let length = declared_blob_length(&req, 32)?;
    let permit = Arc::clone(&state.staff_uploads)
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy)?;
    // Its share of the disk bound from here (one of
    // `concurrent_staff_uploads`, its permit held): staged, then moved in.
    let share = take_disk_share(&state, length).await?;
    let mut digest = BodyDigest::new();
    let mut head: Vec<u8> = Vec::with_capacity(32);
    let mut staged = Staged::create(&state)?;
    let mut blob_started = false;
    read_body(&state, &mut payload, length + 32, false, |chunk| {
        digest.update(chunk);
        let take = (32 - head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..take]);
        let rest = &chunk[take..];
        if rest.is_empty() {
            return Ok(());
        }
        if !blob_started {
            if rest[0] != FORMAT {
                return Err(ApiError::InvalidFile);
            }
            blob_started = true;
        }
        staged.write(rest)
    })
    .await?;
    let (staff, _) = signed.verify(&state, &req, &digest.finish()).await?;
    // Signed: now the thread may be looked at.
    let mailbox = MailboxId(head[..16].try_into().expect("32 bytes read"));
    let file = FileId(head[16..32].try_into().expect("32 bytes read"));
    let thread = state
        .store
        .thread(&mailbox)
        .await?
        .filter(|r| r.centre.as_str() == staff.centre);
    match thread {
        Some(record) if !record.is_case() => {}
        Some(_) => return Err(ApiError::WrongThreadKind),
        None => return Err(ApiError::UnknownMailbox),
    }
    let mut receiving = Receiving::staff(&state, permit, &mailbox, &file, share)?;
    let adds = growth(&state, &mailbox, &file, length).await;
    let writer = state
        .store
        .begin_upload(
            &mailbox,
            &file,
            length,
            [0; 32],
            state.clock.now(),
            state.config.file_quota(),
        )
        .await?;
    receiving.begun();
    // The copy may write all of it before it fails.
    receiving.share.received = length;
    let writer = copy_staged(staged, writer).await?;
    finish(&state, &mut receiving.share, writer, adds).await?;
    drop(receiving);
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/staff/file {mailbox_id, file_id}`: a claimed file of a
/// thread of her centre.
pub async fn staff_download(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Headers, then the body within the signed bodies' deadline, then the
    // signature: a body trickled in holds its connection no longer than any
    // other staff request's.
    let (staff, _, body) = super::staff::signed_body(&state, &req, payload, BODY_LIMIT).await?;
    let request: ozvi_api::staff::FileRequest = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    let file = FileId(decode_array(&request.file_id)?);
    state
        .store
        .thread(&mailbox)
        .await?
        .filter(|r| r.centre.as_str() == staff.centre)
        .ok_or(ApiError::UnknownMailbox)?;
    send_blob(&state, &mailbox, &file).await
}
