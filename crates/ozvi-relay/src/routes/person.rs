//! The person's routes: create a thread, post, list, delete. She proves she
//! holds the code with the auth secret in the `Ozvi-Auth` header; her mailbox
//! id travels in `Ozvi-Mailbox`. Neither is ever in a URL.

use actix_web::{HttpRequest, HttpResponse, web};
use ozvi_api::person::{After, CreateThread, PostMessage, Posted, PowSolution, StoredEnvelope};
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::{AuthSecret, AuthVerifier, MailboxId};

use super::{BODY_LIMIT, decode, decode_array, parse_json, read_body};
use crate::addressing::{check_envelope, thread_person_key};
use crate::admission::{Purpose, Reservation};
use crate::client::ClientAddress;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{AppendJob, Author, Quota, StoredMessage, ThreadRecord};

pub use ozvi_api::headers::{AUTH as AUTH_HEADER, MAILBOX as MAILBOX_HEADER};
pub use ozvi_api::limits::PERSON_PAGE as PAGE;

/// A stored message as the API returns it.
pub fn message(m: StoredMessage) -> StoredEnvelope {
    StoredEnvelope {
        seq: m.seq,
        stored_at: m.stored_at,
        envelope: ozvi_crypto::format::b64::encode(&m.envelope),
    }
}

/// Spends a proof-of-work solution. With difficulty 0 (proof of work turned
/// off) a request may carry none; one it carries must still be valid.
async fn spend(
    state: &AppState,
    pow: Option<&PowSolution>,
    purpose: Purpose,
) -> Result<(), ApiError> {
    let Some(pow) = pow else {
        return (state.config.pow_difficulty == 0)
            .then_some(())
            .ok_or(ApiError::InvalidProofOfWork);
    };
    let ok = state
        .limits
        .spend_challenge(
            &pow.challenge,
            pow.nonce,
            purpose,
            state.config.pow_difficulty,
            state.clock.now(),
        )
        .await?;
    ok.then_some(()).ok_or(ApiError::InvalidProofOfWork)
}

/// The client's address bucket, as the rate-limit middleware found it (the
/// unspecified address if a request somehow has none: it is then counted
/// with every other such request).
pub fn client_of(req: &HttpRequest) -> std::net::IpAddr {
    use actix_web::HttpMessage as _;
    req.extensions()
        .get::<ClientAddress>()
        .map_or(std::net::IpAddr::from([0u8; 16]), |c| c.0)
}

fn quota(state: &AppState) -> Quota {
    Quota {
        max_messages: state.config.max_messages_per_thread,
        max_bytes: state.config.max_bytes_per_thread,
    }
}

/// The mailbox id and the verifier of the auth secret her request presents
/// (`Ozvi-Mailbox`, `Ozvi-Auth`): missing or malformed headers are
/// `wrong_auth`, which says nothing about any thread.
pub fn presented_mailbox(req: &HttpRequest) -> Result<(MailboxId, AuthVerifier), ApiError> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::WrongAuth)
    };
    let mailbox = MailboxId(decode_array(header(MAILBOX_HEADER)?)?);
    let auth = AuthSecret::from_bytes(decode_array(header(AUTH_HEADER)?)?);
    Ok((mailbox, auth.verifier()))
}

/// Checks the person's headers against the stored verifier.
///
/// A wrong auth secret and a mailbox id with no thread get the same answer
/// (`unknown_mailbox`, 404, the same body), after the same work: whoever
/// holds a mailbox id without its code (another centre's staff after a
/// transfer, say) cannot learn from the relay whether the thread still
/// exists. Missing or malformed headers say nothing about any thread and
/// keep `wrong_auth`.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(MailboxId, ThreadRecord), ApiError> {
    let (mailbox, presented) = presented_mailbox(req)?;
    let record = state.store.thread(&mailbox).await?;
    // Compared (in constant time) whether or not the thread exists.
    let expected = AuthVerifier(record.as_ref().map_or([0; 32], |r| r.verifier));
    let matches = presented == expected;
    match record {
        // A case has no person (its verifier is no secret's hash anyway).
        Some(record) if matches && !record.is_case() => Ok((mailbox, record)),
        _ => Err(ApiError::UnknownMailbox),
    }
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
    if verifier == ThreadRecord::NO_PERSON {
        // The mark of a staff-only case (PROTOCOL.md §4.11).
        return Err(ApiError::InvalidField);
    }
    let envelope = decode(&request.envelope)?;
    let claims = super::files::claims(&request.files)?;
    let directory = state.directory()?;
    let centre = directory
        .directory
        .centre(&request.centre)
        .ok_or(ApiError::UnknownCentre)?;
    check_envelope(&envelope, Kind::PersonMessage, centre, None)?;
    let centre_id = state.centre_id(&centre.id)?;
    let now = state.clock.now();
    // Her first contact with photos: her first upload was her creation
    // (budget and proof of work, docs/API.md "Files"), so the thread that
    // claims uploads bound to her verifier pays nothing more.
    let store_thread = || {
        state.store.create_thread_claiming(
            &mailbox,
            verifier,
            &centre_id,
            &envelope,
            now,
            &claims,
            state.config.file_quota(),
        )
    };
    if prepaid(&state, &mailbox, &verifier, &claims).await? {
        store_thread().await?;
        return created(&state, &mailbox, &centre.id, now).await;
    }
    // Admission (docs/API.md, "Admission"): only this client's own budget
    // can refuse a creation; what a centre receives only raises the price of
    // the next challenge. Nothing refused is counted.
    let client = client_of(&req);
    let reservation = state
        .limits
        .reserve_creation(client, now, state.config.threads_per_address_per_hour)
        .await?;
    if reservation == Reservation::Refused {
        Metrics::inc(&state.metrics.rate_limited);
        return Err(ApiError::RateLimited);
    }
    let stored = match spend(&state, request.pow.as_ref(), Purpose::Create).await {
        Ok(()) => store_thread().await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        state
            .limits
            .release_creation(client, now, reservation)
            .await;
        return Err(e);
    }
    created(&state, &mailbox, &centre.id, now).await
}

/// A new thread is stored: counted for its centre, made durable, announced.
async fn created(
    state: &AppState,
    mailbox: &MailboxId,
    centre: &str,
    now: u64,
) -> Result<HttpResponse, ApiError> {
    state.limits.record_creation(centre, now).await;
    state.flusher.flush().await?;
    Metrics::inc(&state.metrics.threads_created);
    state.notify(mailbox.0, centre, 1);
    Ok(HttpResponse::Created().json(Posted { seq: 1 }))
}

/// Whether a new thread's claims are uploads of her first contact, bound to
/// her verifier (and so already paid for).
async fn prepaid(
    state: &AppState,
    mailbox: &MailboxId,
    verifier: &[u8; 32],
    claims: &[ozvi_crypto::protocol::file::FileId],
) -> Result<bool, ApiError> {
    if claims.is_empty() {
        return Ok(false);
    }
    for file in claims {
        let bound =
            state.store.file(mailbox, file).await?.is_some_and(|r| {
                r.state == crate::store::FileState::Pending && r.binding == *verifier
            });
        if !bound {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `POST /api/v1/mailbox/messages`: the person writes again.
pub async fn post_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The headers first: a body is read only for a thread's holder.
    let (mailbox, record) = authenticate(&state, &req).await?;
    let body = read_body(&req, payload, BODY_LIMIT).await?;
    let request: PostMessage = parse_json(&body)?;
    let envelope = decode(&request.envelope)?;
    let claims = super::files::claims(&request.files)?;
    let directory = state.directory()?;
    let centre = directory
        .directory
        .centre(record.centre.as_str())
        .ok_or(ApiError::UnknownCentre)?;
    let person = thread_person_key(state.store.as_ref(), &mailbox).await?;
    check_envelope(&envelope, Kind::PersonMessage, centre, person.as_ref())?;
    spend(&state, request.pow.as_ref(), Purpose::Post).await?;
    let now = state.clock.now();
    if !state
        .limits
        .allow_thread_post(&mailbox.0, now, state.config.posts_per_thread_per_minute)
        .await?
    {
        Metrics::inc(&state.metrics.rate_limited);
        return Err(ApiError::RateLimited);
    }
    let seq = state
        .append(AppendJob {
            mailbox,
            author: Author::Person,
            envelope,
            now,
            quota: quota(&state),
            claims,
            file_quota: state.config.file_quota(),
        })
        .await?;
    Metrics::inc(&state.metrics.person_messages);
    state.notify(mailbox.0, record.centre.as_str(), seq);
    Ok(HttpResponse::Created().json(Posted { seq }))
}

/// `GET /api/v1/mailbox/messages?after=N`: the thread's messages after N.
pub async fn list_messages(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (mailbox, record) = authenticate(&state, &req).await?;
    let query =
        web::Query::<After>::from_query(req.query_string()).map_err(|_| ApiError::InvalidField)?;
    let messages = state.store.messages(&mailbox, query.after, PAGE).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(listing_json(
            record.centre.as_str(),
            record.last_seq,
            record.staff_read_seq,
            &messages,
        )))
}

/// [`ozvi_api::person::Listing`] as JSON, written directly. serde_json would scan each
/// envelope's base64 for characters to escape, a fifth of the relay's time
/// when listings are all it does (docs/PERFORMANCE.md, "Relay"); base64url,
/// numbers and centre ids (`[a-z0-9-]`) never need escaping. A test checks
/// that the bytes equal serde_json's for the same listing.
fn listing_json(
    centre: &str,
    last_seq: u64,
    read_through: u64,
    messages: &[StoredMessage],
) -> String {
    use base64::Engine as _;
    use std::fmt::Write as _;

    let envelopes: usize = messages.iter().map(|m| m.envelope.len() / 3 * 4 + 72).sum();
    let mut out = String::with_capacity(64 + centre.len() + envelopes);
    out.push_str("{\"centre\":");
    if centre
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        out.push('"');
        out.push_str(centre);
        out.push('"');
    } else {
        // Not a valid centre id: let serde_json escape it rather than trust it.
        out.push_str(&serde_json::Value::from(centre).to_string());
    }
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        ",\"last_seq\":{last_seq},\"read_through\":{read_through},\"messages\":["
    );
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"seq\":{},\"stored_at\":{},\"envelope\":\"",
            m.seq, m.stored_at
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(&m.envelope, &mut out);
        out.push_str("\"}");
    }
    out.push_str("]}");
    out
}

/// `DELETE /api/v1/mailbox`: the person deletes her thread for good.
pub async fn delete_thread(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (mailbox, record) = authenticate(&state, &req).await?;
    state.store.delete_thread(&mailbox).await?;
    state.flusher.flush().await?;
    Metrics::inc(&state.metrics.threads_deleted);
    state.notify(mailbox.0, record.centre.as_str(), 0);
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_listing(
        centre: &str,
        last_seq: u64,
        read_through: u64,
        messages: &[StoredMessage],
    ) -> String {
        serde_json::to_string(&ozvi_api::person::Listing {
            centre: centre.to_string(),
            last_seq,
            read_through,
            messages: messages
                .iter()
                .map(|m| {
                    message(StoredMessage {
                        seq: m.seq,
                        stored_at: m.stored_at,
                        envelope: m.envelope.clone(),
                    })
                })
                .collect(),
        })
        .expect("serializes")
    }

    #[test]
    fn the_direct_listing_json_equals_serde_json() {
        let message = |seq: u64, len: usize| StoredMessage {
            seq,
            stored_at: 1_800_000_000u64.wrapping_add(seq.wrapping_mul(60)),
            envelope: (0..len)
                .map(|i| (i as u64 * 7).wrapping_add(seq) as u8)
                .collect(),
        };
        let cases: Vec<(&str, u64, Vec<StoredMessage>)> = vec![
            ("ic-zlin", 0, vec![]),
            (
                "ic-praha-2",
                3,
                vec![message(1, 1459), message(2, 1), message(3, 2)],
            ),
            ("weird \"id\"\n", u64::MAX, vec![message(u64::MAX, 3)]),
            ("", 1, vec![message(1, 0)]),
        ];
        for (i, (centre, last_seq, messages)) in cases.into_iter().enumerate() {
            let read_through = last_seq.saturating_sub(i as u64);
            let direct = listing_json(centre, last_seq, read_through, &messages);
            assert_eq!(
                direct,
                serde_listing(centre, last_seq, read_through, &messages)
            );
            let parsed: serde_json::Value = serde_json::from_str(&direct).expect("valid JSON");
            assert_eq!(
                parsed["messages"].as_array().map(Vec::len),
                Some(messages.len())
            );
        }
    }
}
