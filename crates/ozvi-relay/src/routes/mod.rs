//! HTTP routes. Handlers convert between JSON and the store; the protocol's
//! rules live in `ozvi-crypto`, the relay's own rules in `crate::checks`.

pub mod events;
pub mod person;
pub mod public;
pub mod staff;

use actix_web::web;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Body limit for person and ordinary staff requests: the largest envelope
/// (76,587 bytes) in base64url with room for the JSON around it.
pub const BODY_LIMIT: usize = 128 * 1024;
/// Body limit for a transfer, which carries a whole re-sealed thread.
pub const TRANSFER_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Body limit for a directory.
pub const DIRECTORY_BODY_LIMIT: usize = 1024 * 1024;

/// Registers every API route. The integration tests use the same function.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(public::healthz))
        .route("/metrics", web::get().to(public::metrics))
        .service(
            web::scope("/api/v1")
                .route("/directory", web::get().to(public::get_directory))
                .route("/directory", web::put().to(public::put_directory))
                .route("/pow", web::post().to(public::pow_challenge))
                .route("/threads", web::post().to(person::create_thread))
                .route("/mailbox/messages", web::get().to(person::list_messages))
                .route("/mailbox/messages", web::post().to(person::post_message))
                .route("/mailbox", web::delete().to(person::delete_thread))
                .route("/mailbox/events", web::get().to(events::person_events))
                .route("/staff/threads", web::get().to(staff::list_threads))
                .route("/staff/thread", web::post().to(staff::read_thread))
                .route("/staff/reply", web::post().to(staff::reply))
                .route("/staff/read", web::post().to(staff::mark_read))
                .route("/staff/note", web::post().to(staff::put_note))
                .route("/staff/transfer", web::post().to(staff::transfer))
                .route("/staff/events", web::get().to(events::staff_events)),
        );
}

/// Reads a request body of at most `limit` bytes. A declared length over the
/// limit is refused before anything is read.
pub async fn read_body(
    req: &actix_web::HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    if let Some(declared) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && declared > limit
    {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::MalformedRequest)?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a JSON body; unknown fields are refused.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::MalformedRequest)
}

/// Decodes a canonical base64url field.
pub fn decode(text: &str) -> Result<Vec<u8>, ApiError> {
    ozvi_crypto::format::b64::decode(text).map_err(|_| ApiError::InvalidEncoding)
}

/// Decodes a canonical base64url field of exactly `N` bytes.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], ApiError> {
    decode(text)?.try_into().map_err(|_| ApiError::InvalidField)
}
