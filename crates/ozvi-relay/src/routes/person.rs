//! The person's routes: create a thread, post, list, delete. She proves she
//! holds the code with the auth secret in the `Ozvi-Auth` header; her mailbox
//! id travels in `Ozvi-Mailbox`. Neither is ever in a URL.

use actix_web::{HttpRequest, HttpResponse, web};
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::{AuthSecret, AuthVerifier, MailboxId};
use serde::{Deserialize, Serialize};

use super::{BODY_LIMIT, decode, decode_array, parse_json, read_body};
use crate::checks::check_envelope;
use crate::error::ApiError;
use crate::limits::Purpose;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{Author, Quota, StoredMessage, ThreadRecord};

/// Header carrying the mailbox id (base64url).
pub const MAILBOX_HEADER: &str = "ozvi-mailbox";
/// Header carrying the auth secret (base64url).
pub const AUTH_HEADER: &str = "ozvi-auth";
/// Most messages returned by one listing.
pub const PAGE: usize = 100;

/// A solved proof-of-work challenge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowSolution {
    /// The challenge as issued.
    pub challenge: String,
    /// The solving nonce.
    pub nonce: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateThread {
    mailbox_id: String,
    verifier: String,
    centre: String,
    envelope: String,
    pow: PowSolution,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostMessage {
    envelope: String,
    pow: PowSolution,
}

/// One stored message as the API returns it.
#[derive(Debug, Serialize)]
pub struct MessageDto {
    /// Position in the thread.
    pub seq: u64,
    /// When the relay stored it (Unix seconds, whole minutes).
    pub stored_at: u64,
    /// The envelope, base64url.
    pub envelope: String,
}

impl From<StoredMessage> for MessageDto {
    fn from(m: StoredMessage) -> Self {
        Self {
            seq: m.seq,
            stored_at: m.stored_at,
            envelope: ozvi_crypto::format::b64::encode(&m.envelope),
        }
    }
}

#[derive(Serialize)]
struct Posted {
    seq: u64,
}

#[derive(Serialize)]
struct Listing {
    centre: String,
    last_seq: u64,
    messages: Vec<MessageDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct After {
    #[serde(default)]
    after: u64,
}

fn spend(state: &AppState, pow: &PowSolution, purpose: Purpose) -> Result<(), ApiError> {
    let ok = state.limits.spend_challenge(
        &pow.challenge,
        pow.nonce,
        purpose,
        state.config.pow_difficulty,
        state.clock.now(),
    );
    ok.then_some(()).ok_or(ApiError::InvalidProofOfWork)
}

fn quota(state: &AppState) -> Quota {
    Quota {
        max_messages: state.config.max_messages_per_thread,
        max_bytes: state.config.max_bytes_per_thread,
    }
}

/// Checks the person's headers against the stored verifier.
pub fn authenticate(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(MailboxId, ThreadRecord), ApiError> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::WrongAuth)
    };
    let mailbox = MailboxId(decode_array(header(MAILBOX_HEADER)?)?);
    let auth = AuthSecret::from_bytes(decode_array(header(AUTH_HEADER)?)?);
    let record = state
        .store
        .thread(&mailbox)?
        .ok_or(ApiError::UnknownMailbox)?;
    if auth.verifier() != AuthVerifier(record.verifier) {
        return Err(ApiError::WrongAuth);
    }
    Ok((mailbox, record))
}

/// `POST /api/v1/threads`: a new thread with its first message.
pub async fn create_thread(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, BODY_LIMIT).await?;
    let request: CreateThread = parse_json(&body)?;
    let mailbox = MailboxId(decode_array(&request.mailbox_id)?);
    let verifier: [u8; 32] = decode_array(&request.verifier)?;
    let envelope = decode(&request.envelope)?;
    let directory = state.directory()?;
    let centre = directory
        .directory
        .centre(&request.centre)
        .ok_or(ApiError::UnknownCentre)?;
    check_envelope(&envelope, Kind::PersonMessage, centre)?;
    spend(&state, &request.pow, Purpose::Create)?;
    let now = state.clock.now();
    if !state
        .limits
        .allow_new_thread(&centre.id, now, state.config.threads_per_centre_per_hour)
    {
        Metrics::inc(&state.metrics.rate_limited);
        return Err(ApiError::RateLimited);
    }
    let centre_id = state.centre_id(&centre.id)?;
    state
        .store
        .create_thread(&mailbox, verifier, &centre_id, &envelope, now)?;
    state.flusher.flush().await?;
    Metrics::inc(&state.metrics.threads_created);
    state.notify(mailbox.0, &centre.id, 1);
    Ok(HttpResponse::Created().json(Posted { seq: 1 }))
}

/// `POST /api/v1/mailbox/messages`: the person writes again.
pub async fn post_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, BODY_LIMIT).await?;
    let (mailbox, record) = authenticate(&state, &req)?;
    let request: PostMessage = parse_json(&body)?;
    let envelope = decode(&request.envelope)?;
    let directory = state.directory()?;
    let centre = directory
        .directory
        .centre(record.centre.as_str())
        .ok_or(ApiError::UnknownCentre)?;
    check_envelope(&envelope, Kind::PersonMessage, centre)?;
    spend(&state, &request.pow, Purpose::Post)?;
    let now = state.clock.now();
    if !state
        .limits
        .allow_thread_post(&mailbox.0, now, state.config.posts_per_thread_per_minute)
    {
        Metrics::inc(&state.metrics.rate_limited);
        return Err(ApiError::RateLimited);
    }
    let seq = state
        .store
        .append(&mailbox, Author::Person, &envelope, now, quota(&state))?;
    state.flusher.flush().await?;
    Metrics::inc(&state.metrics.person_messages);
    state.notify(mailbox.0, record.centre.as_str(), seq);
    Ok(HttpResponse::Created().json(Posted { seq }))
}

/// `GET /api/v1/mailbox/messages?after=N`: the thread's messages after N.
pub async fn list_messages(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (mailbox, record) = authenticate(&state, &req)?;
    let query =
        web::Query::<After>::from_query(req.query_string()).map_err(|_| ApiError::InvalidField)?;
    let messages = state.store.messages(&mailbox, query.after, PAGE)?;
    Ok(HttpResponse::Ok().json(Listing {
        centre: record.centre.as_str().to_string(),
        last_seq: record.last_seq,
        messages: messages.into_iter().map(MessageDto::from).collect(),
    }))
}

/// `DELETE /api/v1/mailbox`: the person deletes her thread for good.
pub async fn delete_thread(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (mailbox, record) = authenticate(&state, &req)?;
    state.store.delete_thread(&mailbox)?;
    state.flusher.flush().await?;
    Metrics::inc(&state.metrics.threads_deleted);
    state.notify(mailbox.0, record.centre.as_str(), 0);
    Ok(HttpResponse::NoContent().finish())
}
