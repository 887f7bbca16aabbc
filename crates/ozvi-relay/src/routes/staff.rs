//! The staff routes. Every request is signed with a staff key listed in the
//! current directory (PROTOCOL.md §7), and a key touches only its own
//! centre's threads. Mailbox ids travel in bodies, never in URLs.

use actix_web::{HttpRequest, HttpResponse, web};
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::protocol::request::{RequestAuth, headers};
use ozvi_crypto::{MailboxId, RequestError};
use serde::{Deserialize, Serialize};

use super::person::MessageDto;
use super::{BODY_LIMIT, TRANSFER_BODY_LIMIT, decode, decode_array, parse_json, read_body};
use crate::checks::check_envelope;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::{AppState, CurrentDirectory};
use crate::store::{Author, Quota, ThreadRecord};

/// Most threads one inbox listing returns.
pub const INBOX_PAGE: usize = 500;
/// Most messages one thread read returns.
pub const MESSAGE_PAGE: usize = 200;

/// Who signed a request.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Her centre.
    pub centre: String,
    /// Her staff id.
    pub staff: String,
}

/// Verifies a staff request's signature over its method, target and body,
/// the replay window and nonce, and that the key is listed.
pub fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Staff, std::sync::Arc<CurrentDirectory>), ApiError> {
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
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path(), |pq| pq.as_str());
    let now = state.clock.now();
    auth.verify(
        &current.directory.salt,
        req.method().as_str(),
        target,
        body,
        now,
    )
    .map_err(|e| match e {
        RequestError::Stale => ApiError::StaleRequest,
        RequestError::BadSignature => ApiError::BadSignature,
        _ => ApiError::MissingSignature,
    })?;
    let (centre, member) = current
        .directory
        .staff_by_ed25519(&auth.key)
        .ok_or(ApiError::UnknownStaffKey)?;
    let staff = Staff {
        centre: centre.id.clone(),
        staff: member.id.clone(),
    };
    if !state.nonces.insert(auth.key.to_bytes(), auth.nonce, now) {
        return Err(ApiError::ReplayedRequest);
    }
    Ok((staff, current))
}

/// The thread, if it belongs to the staff member's centre.
fn own_thread(
    state: &AppState,
    staff: &Staff,
    mailbox: &MailboxId,
) -> Result<ThreadRecord, ApiError> {
    let record = state
        .store
        .thread(mailbox)?
        .ok_or(ApiError::UnknownMailbox)?;
    if record.centre.as_str() != staff.centre {
        return Err(ApiError::Forbidden);
    }
    Ok(record)
}

/// A thread as the inbox lists it.
#[derive(Serialize)]
struct ThreadDto {
    mailbox_id: String,
    created_at: u64,
    last_activity: u64,
    unanswered_since: u64,
    change: u64,
    last_seq: u64,
    message_count: u32,
    unread: u32,
}

impl ThreadDto {
    fn new(mailbox: &MailboxId, r: &ThreadRecord) -> Self {
        Self {
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
}

#[derive(Serialize)]
struct Inbox {
    centre: String,
    cursor: u64,
    threads: Vec<ThreadDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Since {
    #[serde(default)]
    since: u64,
}

/// `GET /api/v1/staff/threads?since=C`: the centre's threads changed after
/// cursor C, newest change first. `cursor` is the newest change listed.
pub async fn list_threads(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (staff, _) = authenticate(&state, &req, b"")?;
    let query =
        web::Query::<Since>::from_query(req.query_string()).map_err(|_| ApiError::InvalidField)?;
    let centre = state.centre_id(&staff.centre)?;
    let threads = state
        .store
        .changed_threads(&centre, query.since, INBOX_PAGE)?;
    let cursor = threads
        .iter()
        .map(|(_, r)| r.change)
        .max()
        .unwrap_or(query.since);
    Ok(HttpResponse::Ok().json(Inbox {
        centre: staff.centre,
        cursor,
        threads: threads.iter().map(|(m, r)| ThreadDto::new(m, r)).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThreadQuery {
    mailbox_id: String,
    #[serde(default)]
    after: u64,
}

#[derive(Serialize)]
struct ThreadView {
    thread: ThreadDto,
    messages: Vec<MessageDto>,
    note: Option<String>,
}

/// `POST /api/v1/staff/thread`: a thread's messages after `after`, and its note.
pub async fn read_thread(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, BODY_LIMIT).await?;
    let (staff, _) = authenticate(&state, &req, &body)?;
    let query: ThreadQuery = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&query.mailbox_id)?);
    let record = own_thread(&state, &staff, &mailbox)?;
    let messages = state.store.messages(&mailbox, query.after, MESSAGE_PAGE)?;
    let note = state.store.note(&mailbox)?;
    Ok(HttpResponse::Ok().json(ThreadView {
        thread: ThreadDto::new(&mailbox, &record),
        messages: messages.into_iter().map(MessageDto::from).collect(),
        note: note.map(|n| ozvi_crypto::format::b64::encode(&n)),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeRequest {
    mailbox_id: String,
    envelope: String,
}

#[derive(Serialize)]
struct Posted {
    seq: u64,
}

/// A signed request carrying an envelope of `kind` for a thread of the
/// signer's own centre, checked against the centre's staff keys.
struct EnvelopeFor {
    staff: Staff,
    mailbox: MailboxId,
    record: ThreadRecord,
    envelope: Vec<u8>,
}

async fn envelope_request(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    kind: Kind,
) -> Result<EnvelopeFor, ApiError> {
    let body = read_body(req, payload, BODY_LIMIT).await?;
    let (staff, current) = authenticate(state, req, &body)?;
    let request: EnvelopeRequest = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    let envelope = decode(&request.envelope)?;
    let record = own_thread(state, &staff, &mailbox)?;
    let centre = current
        .directory
        .centre(&staff.centre)
        .ok_or(ApiError::UnknownCentre)?;
    check_envelope(&envelope, kind, centre)?;
    Ok(EnvelopeFor {
        staff,
        mailbox,
        record,
        envelope,
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
    let seq = state.store.append(
        &r.mailbox,
        Author::Staff,
        &r.envelope,
        state.clock.now(),
        quota,
    )?;
    state.flusher.flush().await?;
    Metrics::inc(&state.metrics.staff_replies);
    state.notify(r.mailbox.0, &r.staff.centre, seq);
    Ok(HttpResponse::Created().json(Posted { seq }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkRead {
    mailbox_id: String,
    seq: u64,
}

/// `POST /api/v1/staff/read`: the centre has read the thread up to `seq`.
pub async fn mark_read(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, BODY_LIMIT).await?;
    let (staff, _) = authenticate(&state, &req, &body)?;
    let request: MarkRead = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    own_thread(&state, &staff, &mailbox)?;
    state.store.mark_read(&mailbox, request.seq)?;
    state.flusher.flush().await?;
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
        .put_note(&r.mailbox, &r.envelope, state.clock.now())?;
    state.flusher.flush().await?;
    state.notify(r.mailbox.0, &r.staff.centre, r.record.last_seq);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Resealed {
    seq: u64,
    envelope: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Transfer {
    mailbox_id: String,
    to_centre: String,
    messages: Vec<Resealed>,
    note: Option<String>,
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
    let body = read_body(&req, payload, TRANSFER_BODY_LIMIT).await?;
    let (staff, current) = authenticate(&state, &req, &body)?;
    let request: Transfer = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    let record = own_thread(&state, &staff, &mailbox)?;
    let to = current
        .directory
        .centre(&request.to_centre)
        .ok_or(ApiError::UnknownCentre)?;
    if to.id == staff.centre {
        return Err(ApiError::InvalidField);
    }
    let stored = state.store.messages(&mailbox, 0, usize::MAX)?;
    if stored.len() != request.messages.len() {
        return Err(ApiError::InvalidField);
    }
    let mut resealed = Vec::with_capacity(stored.len());
    for (old, new) in stored.iter().zip(&request.messages) {
        let envelope = decode(&new.envelope)?;
        let kind = ozvi_crypto::format::envelope::Envelope::parse(&old.envelope)
            .map_err(|_| ApiError::Internal)?
            .kind;
        if new.seq != old.seq {
            return Err(ApiError::InvalidField);
        }
        check_envelope(&envelope, kind, to)?;
        resealed.push((new.seq, envelope));
    }
    let note = request.note.as_deref().map(decode).transpose()?;
    if let Some(note) = &note {
        check_envelope(note, Kind::StaffNote, to)?;
    }
    let to_id = state.centre_id(&to.id)?;
    state.store.transfer(
        &mailbox,
        &to_id,
        &resealed,
        note.as_deref(),
        state.clock.now(),
    )?;
    state.flusher.flush().await?;
    state.notify(mailbox.0, &staff.centre, record.last_seq);
    state.notify(mailbox.0, &to.id, record.last_seq);
    Ok(HttpResponse::NoContent().finish())
}
