//! The staff routes. Every request is signed with a staff key listed in the
//! current directory (PROTOCOL.md §7), and a key touches only its own
//! centre's threads. Mailbox ids travel in bodies, never in URLs.

use actix_web::{HttpRequest, HttpResponse, web};
use ozvi_crypto::format::envelope::Kind;
use std::sync::Arc;

use ozvi_api::person::Posted;
use ozvi_api::staff::{
    EnvelopeRequest, Inbox, MarkRead, Since, ThreadPage, ThreadQuery, ThreadSummary, Transfer,
};
use ozvi_crypto::protocol::request::{BodyDigest, REPLAY_WINDOW_SECS, RequestAuth, headers};
use ozvi_crypto::{MailboxId, RequestError};

use super::person::message;
use super::{BODY_LIMIT, TRANSFER_BODY_LIMIT, decode, decode_array, parse_json, read_body_digest};
use crate::addressing::{check_envelope, thread_person_key};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::{AppState, CurrentDirectory};
use crate::store::{AppendJob, Author, Moved, Quota, ThreadRecord};

pub use ozvi_api::limits::{INBOX_PAGE, THREAD_PAGE as MESSAGE_PAGE};
/// How long a transfer's body may take to arrive (32 MiB at ~1 Mbit/s).
pub const TRANSFER_READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// How long a small signed body (a reply, a note, a case entry; at most
/// 128 KiB) may take to arrive: 128 KiB at about 20 kbit/s.
pub const SIGNED_BODY_READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The longest any signed request may take from its window's end to its
/// verification: the staff upload's read limit, the longest of all. Later,
/// a request is stale whatever its body; until then its nonce is kept.
pub const LONGEST_BODY: std::time::Duration = crate::routes::files::UPLOAD_READ_LIMIT;

/// Who signed a request.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Her centre.
    pub centre: String,
    /// Her staff id.
    pub staff: String,
    /// Her Ed25519 public key.
    pub key: [u8; 32],
}

/// A staff request whose headers passed every check that needs no body.
pub struct SignedHeaders {
    auth: RequestAuth,
    staff: Staff,
    current: Arc<CurrentDirectory>,
}

/// Checks everything a staff request's headers show, before any of its
/// body is read: the four auth headers are well formed, the timestamp is
/// within the window and after this process started (so a request captured
/// before a restart cannot be replayed after it even if its spent nonce was
/// not yet durable), the key is a listed staff key, and the nonce is
/// unused.
/// What fails here is refused without reading a byte of the body.
pub async fn check_headers(state: &AppState, req: &HttpRequest) -> Result<SignedHeaders, ApiError> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::MissingSignature)
    };
    let auth = RequestAuth::from_headers(
        header(headers::KEY)?,
        header(headers::TIMESTAMP)?,
        header(headers::NONCE)?,
        header(headers::SIGNATURE)?,
    )
    .map_err(|_| ApiError::MissingSignature)?;
    let current = state.directory()?;
    let now = state.clock.now();
    auth.check_fresh(now).map_err(|_| ApiError::StaleRequest)?;
    if auth.timestamp <= state.started_at {
        return Err(ApiError::StaleRequest);
    }
    let (centre, member) = current
        .directory
        .staff_by_ed25519(&auth.key)
        .ok_or(ApiError::UnknownStaffKey)?;
    let staff = Staff {
        centre: centre.id.clone(),
        staff: member.id.clone(),
        key: auth.key.to_bytes(),
    };
    if state.store.nonce_spent(&nonce_key(&auth), now).await? {
        return Err(ApiError::ReplayedRequest);
    }
    Ok(SignedHeaders {
        auth,
        staff,
        current,
    })
}

impl SignedHeaders {
    /// Verifies the signature over the method, target and the body's
    /// digest, and spends the nonce.
    pub async fn verify(
        self,
        state: &AppState,
        req: &HttpRequest,
        body_digest: &[u8; 32],
    ) -> Result<(Staff, Arc<CurrentDirectory>), ApiError> {
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path(), |pq| pq.as_str());
        let now = state.clock.now();
        // The window was checked when the headers arrived; a large body may
        // take longer than the window to upload, but no request is verified
        // later than LONGEST_BODY after its window closed, and its nonce is
        // refused until then: a copy whose headers arrived before the
        // original was spent, its body trickled in after, is still refused.
        let until = self
            .auth
            .timestamp
            .saturating_add(REPLAY_WINDOW_SECS)
            .saturating_add(LONGEST_BODY.as_secs());
        if now > until {
            return Err(ApiError::StaleRequest);
        }
        self.auth
            .verify_digest(
                &self.current.directory.salt,
                req.method().as_str(),
                target,
                body_digest,
                self.auth.timestamp,
            )
            .map_err(|e| match e {
                RequestError::Stale => ApiError::StaleRequest,
                RequestError::BadSignature => ApiError::BadSignature,
                _ => ApiError::MissingSignature,
            })?;
        if !state
            .store
            .spend_nonce(&nonce_key(&self.auth), now, until)
            .await?
        {
            return Err(ApiError::ReplayedRequest);
        }
        // A request signed at or before this process started is refused
        // after a restart anyway (`started_at`); one signed ahead of the
        // relay's clock is not, so its spent nonce is made durable before
        // it is answered. Clocks in step never pay for this flush.
        if self.auth.timestamp > now {
            state.flusher.flush().await?;
        }
        Ok((self.staff, self.current))
    }
}

/// How the store keys a request's nonce ([`crate::store::NonceKey`]):
/// SHA-256 of a label, the staff key and the nonce, so that the stored key
/// does not name the staff member.
fn nonce_key(auth: &RequestAuth) -> crate::store::NonceKey {
    ozvi_crypto::primitives::hash::sha256(&[
        b"ozvi/v1/relay-spent-nonce",
        &auth.key.to_bytes(),
        &auth.nonce,
    ])
}

/// Authenticates a staff request with the given (already read) body.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Staff, Arc<CurrentDirectory>), ApiError> {
    let signed = check_headers(state, req).await?;
    let mut digest = BodyDigest::new();
    digest.update(body);
    signed.verify(state, req, &digest.finish()).await
}

/// Checks a staff request's headers, then reads its body (at most `limit`
/// bytes) hashing it as it arrives, then verifies the signature.
pub(super) async fn signed_body(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<(Staff, Arc<CurrentDirectory>, web::Bytes), ApiError> {
    let signed = check_headers(state, req).await?;
    // A body of at most BODY_LIMIT (128 KiB) arrives in moments; one
    // trickled in slower holds a connection and its place for nothing.
    let (body, digest) = tokio::time::timeout(
        SIGNED_BODY_READ_LIMIT,
        read_body_digest(req, payload, limit),
    )
    .await
    .map_err(|_| ApiError::MalformedRequest)??;
    let (staff, current) = signed.verify(state, req, &digest).await?;
    Ok((staff, current, body))
}

/// The thread, if it belongs to the staff member's centre. Another
/// centre's thread is answered exactly like a missing one
/// (`unknown_mailbox`): staff learn nothing about threads outside their
/// centre, not even that one exists (a thread transferred away, a mailbox
/// id seen elsewhere).
async fn own_thread(
    state: &AppState,
    staff: &Staff,
    mailbox: &MailboxId,
) -> Result<ThreadRecord, ApiError> {
    state
        .store
        .thread(mailbox)
        .await?
        .filter(|record| record.centre.as_str() == staff.centre)
        .ok_or(ApiError::UnknownMailbox)
}

/// A thread as the inbox lists it.
fn summary(mailbox: &MailboxId, r: &ThreadRecord, note: Option<Vec<u8>>) -> ThreadSummary {
    ThreadSummary {
        first: None,
        latest: None,
        note: note.map(|n| ozvi_crypto::format::b64::encode(&n)),
        mailbox_id: mailbox.to_b64(),
        created_at: r.created_at,
        last_activity: r.last_activity,
        unanswered_since: r.unanswered_since,
        change: r.change,
        last_seq: r.last_seq,
        message_count: r.message_count,
        unread: r.unread,
    }
}

/// `GET /api/v1/staff/threads?since=C[&before=B]`: the centre's threads
/// changed after cursor C (and before B), newest change first, at most 500.
/// `cursor` is the newest change listed.
pub async fn list_threads(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (staff, _) = authenticate(&state, &req, b"").await?;
    let query =
        web::Query::<Since>::from_query(req.query_string()).map_err(|_| ApiError::InvalidField)?;
    let centre = state.centre_id(&staff.centre)?;
    let threads = state
        .store
        .changed_threads(
            &centre,
            query.since,
            query.before.unwrap_or(u64::MAX),
            INBOX_PAGE,
        )
        .await?;
    let cursor = threads
        .iter()
        .map(|(_, r)| r.change)
        .max()
        .unwrap_or(query.since);
    let mut entries = Vec::with_capacity(threads.len());
    for (m, r) in &threads {
        // The first and the newest message ride along for triage (danger,
        // who writes, her language, the latest line), so the desk need not
        // fetch every thread to sort its inbox.
        let mut entry = summary(m, r, state.store.note(m).await?);
        entry.first = state
            .store
            .messages(m, 0, 1)
            .await?
            .into_iter()
            .next()
            .map(message);
        if r.last_seq > 1 {
            entry.latest = state
                .store
                .messages(m, r.last_seq - 1, 1)
                .await?
                .into_iter()
                .next()
                .map(message);
        }
        entries.push(entry);
    }
    Ok(HttpResponse::Ok().json(Inbox {
        retention_days: state.config.retention_days_for(&staff.centre),
        centre: staff.centre,
        cursor,
        threads: entries,
    }))
}

/// `GET /api/v1/staff/notifications`: the signer's centre's e-mail
/// delivery health.
pub async fn notifications(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (staff, _) = authenticate(&state, &req, b"").await?;
    let health = state.notifier.health(&staff.centre);
    Ok(HttpResponse::Ok().json(ozvi_api::staff::Notifications {
        configured: state.notifier.configured_for(&staff.centre),
        last_success: health.last_success,
        last_failure: health.last_failure,
        failure: health.failure.map(|f| f.as_str().to_string()),
        failing: health.failing(),
    }))
}

/// `GET /api/v1/staff/templates`: the signer's centre's reply templates,
/// the staff-only envelope as stored (PROTOCOL.md §4.10).
pub async fn get_templates(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (staff, _) = authenticate(&state, &req, b"").await?;
    let centre = state.centre_id(&staff.centre)?;
    let envelope = state.store.centre_record(&centre).await?;
    Ok(HttpResponse::Ok().json(ozvi_api::staff::CentreRecord {
        envelope: envelope.map(|e| ozvi_crypto::format::b64::encode(&e)),
    }))
}

/// `PUT /api/v1/staff/templates`: replaces them. The envelope must be of
/// kind 3 and sealed to exactly the signer's centre's staff, as a note is;
/// the relay cannot see (and the desks check) that it is bound to the
/// centre's record mailbox and signed by one of its staff.
pub async fn put_templates(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (staff, current, body) = signed_body(&state, &req, payload, BODY_LIMIT).await?;
    let upload: ozvi_api::staff::CentreRecordUpload = parse_json(&body)?;
    let envelope = decode(&upload.envelope)?;
    let centre = current
        .directory
        .centre(&staff.centre)
        .ok_or(ApiError::UnknownCentre)?;
    check_envelope(&envelope, Kind::StaffNote, centre, None)?;
    let id = state.centre_id(&staff.centre)?;
    state
        .store
        .put_centre_record(&id, &envelope, state.clock.now())
        .await?;
    state.flusher.flush().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/staff/thread`: a thread's messages after `after`, and its note.
pub async fn read_thread(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (staff, _, body) = signed_body(&state, &req, payload, BODY_LIMIT).await?;
    let query: ThreadQuery = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&query.mailbox_id)?);
    let record = own_thread(&state, &staff, &mailbox).await?;
    let messages = state
        .store
        .messages(&mailbox, query.after, MESSAGE_PAGE)
        .await?;
    let note = state.store.note(&mailbox).await?;
    Ok(HttpResponse::Ok().json(ThreadPage {
        thread: summary(&mailbox, &record, note),
        messages: messages.into_iter().map(message).collect(),
    }))
}

/// A signed request carrying an envelope of `kind` for a thread of the
/// signer's own centre, checked against the centre's staff keys.
struct EnvelopeFor {
    staff: Staff,
    mailbox: MailboxId,
    record: ThreadRecord,
    envelope: Vec<u8>,
    files: Vec<ozvi_crypto::protocol::file::FileId>,
}

async fn envelope_request(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    kind: Kind,
) -> Result<EnvelopeFor, ApiError> {
    let (staff, current, body) = signed_body(state, req, payload, BODY_LIMIT).await?;
    let request: EnvelopeRequest = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    let envelope = decode(&request.envelope)?;
    // Only a reply carries files; a note claims none.
    if kind != Kind::StaffReply && !request.files.is_empty() {
        return Err(ApiError::InvalidField);
    }
    let files = super::files::claims(&request.files)?;
    let record = own_thread(state, &staff, &mailbox).await?;
    if record.is_case() {
        // A case takes case entries only (`POST /api/v1/staff/case`).
        return Err(ApiError::WrongThreadKind);
    }
    let centre = current
        .directory
        .centre(&staff.centre)
        .ok_or(ApiError::UnknownCentre)?;
    let person = match kind {
        Kind::StaffNote => None,
        _ => thread_person_key(state.store.as_ref(), &mailbox).await?,
    };
    check_envelope(&envelope, kind, centre, person.as_ref())?;
    Ok(EnvelopeFor {
        staff,
        mailbox,
        record,
        envelope,
        files,
    })
}

/// `POST /api/v1/staff/reply`: a staff reply (kind 2).
pub async fn reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let r = envelope_request(&state, &req, payload, Kind::StaffReply).await?;
    let quota = Quota {
        max_messages: state.config.max_messages_per_thread,
        max_bytes: state.config.max_bytes_per_thread,
    };
    let seq = state
        .append(AppendJob {
            mailbox: r.mailbox,
            author: Author::Staff,
            envelope: r.envelope,
            now: state.clock.now(),
            quota,
            claims: r.files,
            file_quota: state.config.file_quota(),
        })
        .await?;
    Metrics::inc(&state.metrics.staff_replies);
    state.notify(r.mailbox.0, &r.staff.centre, seq);
    Ok(HttpResponse::Created().json(Posted { seq }))
}

/// `POST /api/v1/staff/case`: a case entry (kind 4, PROTOCOL.md §4.11).
/// The first entry under an unused mailbox id opens a staff-only case of
/// the signer's centre; later entries are appended to it. A conversation
/// takes no case entry, and another centre's thread is answered as a
/// missing one.
pub async fn case_entry(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (staff, current, body) = signed_body(&state, &req, payload, BODY_LIMIT).await?;
    let request: EnvelopeRequest = parse_json(&body)?;
    if !request.files.is_empty() {
        // A case entry carries no files.
        return Err(ApiError::InvalidField);
    }
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    let envelope = decode(&request.envelope)?;
    let centre = current
        .directory
        .centre(&staff.centre)
        .ok_or(ApiError::UnknownCentre)?;
    check_envelope(&envelope, Kind::CaseEntry, centre, None)?;
    let now = state.clock.now();
    let seq = match state.store.thread(&mailbox).await? {
        None => {
            let id = state.centre_id(&staff.centre)?;
            state
                .store
                .create_thread(&mailbox, ThreadRecord::NO_PERSON, &id, &envelope, now)
                .await
                .map_err(|e| match e {
                    // Opened by someone else meanwhile: as for any thread
                    // that is not this centre's case.
                    crate::store::StoreError::Exists => ApiError::UnknownMailbox,
                    e => e.into(),
                })?;
            Metrics::inc(&state.metrics.cases_opened);
            1
        }
        Some(record) if record.centre.as_str() != staff.centre => {
            return Err(ApiError::UnknownMailbox);
        }
        Some(record) if !record.is_case() => return Err(ApiError::WrongThreadKind),
        Some(_) => {
            let quota = Quota {
                max_messages: state.config.max_messages_per_thread,
                max_bytes: state.config.max_bytes_per_thread,
            };
            state
                .store
                .append(&mailbox, Author::Case, &envelope, now, quota)
                .await?
        }
    };
    state.flusher.flush().await?;
    state.notify(mailbox.0, &staff.centre, seq);
    Ok(HttpResponse::Created().json(Posted { seq }))
}

/// `POST /api/v1/staff/read`: the centre has read the thread up to `seq`.
pub async fn mark_read(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (staff, _, body) = signed_body(&state, &req, payload, BODY_LIMIT).await?;
    let request: MarkRead = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    own_thread(&state, &staff, &mailbox).await?;
    state.store.mark_read(&mailbox, request.seq).await?;
    state.flusher.flush().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/staff/keep`: a quiet thread is kept for another retention
/// period (its last activity becomes now).
pub async fn keep(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (staff, _, body) = signed_body(&state, &req, payload, BODY_LIMIT).await?;
    let request: ozvi_api::staff::Keep = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    let record = own_thread(&state, &staff, &mailbox).await?;
    state.store.keep(&mailbox, state.clock.now()).await?;
    state.flusher.flush().await?;
    state.notify(mailbox.0, &staff.centre, record.last_seq);
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/staff/note`: replaces the thread's staff-only note (kind 3).
pub async fn put_note(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let r = envelope_request(&state, &req, payload, Kind::StaffNote).await?;
    state
        .store
        .put_note(&r.mailbox, &r.envelope, state.clock.now())
        .await?;
    state.flusher.flush().await?;
    state.notify(r.mailbox.0, &r.staff.centre, r.record.last_seq);
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/staff/transfer`: moves a thread to another centre. The desk
/// re-seals every message to the new centre (PROTOCOL.md §4.8); the relay
/// checks that every message is replaced, each by an envelope of the same
/// kind addressed to the new centre, and re-routes the thread.
pub async fn transfer(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Headers first: an unsigned, stale, replayed or unknown-key transfer
    // is refused before any of its (up to 32 MiB) body is read. Then only
    // a few bodies this large are received at a time.
    let signed = check_headers(&state, &req).await?;
    let _receiving = Arc::clone(&state.large_bodies)
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy)?;
    // The headers can be forged by anyone who knows a listed key (the
    // directory is public): until the signature is checked, a place is held
    // for at most TRANSFER_READ_LIMIT.
    let (body, digest) = tokio::time::timeout(
        TRANSFER_READ_LIMIT,
        read_body_digest(&req, payload, TRANSFER_BODY_LIMIT),
    )
    .await
    .map_err(|_| ApiError::MalformedRequest)??;
    // The signature over the body: from here on the request is the signer's.
    let (staff, current) = signed.verify(&state, &req, &digest).await?;
    let request: Transfer = parse_json(&body)?;
    drop(body);
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    let record = own_thread(&state, &staff, &mailbox).await?;
    if record.is_case() {
        // A case stays with its centre (PROTOCOL.md §4.11).
        return Err(ApiError::WrongThreadKind);
    }
    let to = current
        .directory
        .centre(&request.to_centre)
        .ok_or(ApiError::UnknownCentre)?;
    if to.id == staff.centre {
        return Err(ApiError::InvalidField);
    }
    let stored: Vec<(u64, Vec<u8>)> = state
        .store
        .messages(&mailbox, 0, usize::MAX)
        .await?
        .into_iter()
        .map(|m| (m.seq, m.envelope))
        .collect();
    let resealed = request
        .messages
        .iter()
        .map(|m| Ok((m.seq, decode(&m.envelope)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    // A transfer changes who can read, never what was written or whether
    // the person can still read it (PROTOCOL.md §4.8).
    ozvi_crypto::protocol::transfer::check_thread(&stored, &resealed, to)
        .map_err(ApiError::from)?;
    let note = request.note.as_deref().map(decode).transpose()?;
    if let Some(note) = &note {
        check_envelope(note, Kind::StaffNote, to, None)?;
    }
    // The notice telling her where her conversation went is a reply like
    // any other, addressed to the new centre and to her.
    let notice = request.notice.as_deref().map(decode).transpose()?;
    if let Some(notice) = &notice {
        let person = stored
            .first()
            .and_then(|(_, first)| ozvi_crypto::protocol::transfer::person_key_id(first));
        check_envelope(notice, Kind::StaffReply, to, person.as_ref())?;
    }
    let to_id = state.centre_id(&to.id)?;
    state
        .store
        .transfer(
            &mailbox,
            &to_id,
            Moved {
                resealed: &resealed,
                note: note.as_deref(),
                notice: notice.as_deref(),
            },
            state.clock.now(),
        )
        .await?;
    state.flusher.flush().await?;
    let last_seq = record.last_seq + u64::from(notice.is_some());
    state.notify(mailbox.0, &staff.centre, record.last_seq);
    state.notify(mailbox.0, &to.id, last_seq);
    Ok(HttpResponse::NoContent().finish())
}
