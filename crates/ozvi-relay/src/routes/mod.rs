//! HTTP routes. Handlers convert between the wire types (`ozvi-api`, the one
//! definition of every body, code and route) and the store. Every protocol
//! rule the relay enforces is a call into `ozvi-crypto` (addressing §4.7,
//! transfer §4.8, staff requests §7, proof of work §10), made through
//! `crate::addressing` where the relay adds what it stores (the thread's
//! person key); nothing here re-implements one.

pub mod events;
pub mod files;
pub mod openapi;
pub mod person;
pub mod public;
pub mod staff;

use actix_web::web;
use futures_util::StreamExt;
use ozvi_crypto::protocol::request::BodyDigest;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub use ozvi_api::limits::{BODY_LIMIT, DIRECTORY_BODY_LIMIT, TRANSFER_BODY_LIMIT};

/// Binds each route of the API (`ozvi_api::routes`) to its handler:
/// [`configure`] registers them and [`ROUTES`] lists them, so a test can
/// hold the list against the API's.
macro_rules! routes {
    ($($method:ident $path:path => $handler:path,)*) => {
        /// Every registered route as `(method, path)`, in registration order.
        pub const ROUTES: &[(ozvi_api::routes::Method, &str)] =
            &[$((ozvi_api::routes::Method::$method, $path),)*];

        /// Registers every API route. The integration tests use the same function.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, routes!(@method $method).to($handler));)*
        }
    };
    (@method Get) => { web::get() };
    (@method Post) => { web::post() };
    (@method Put) => { web::put() };
    (@method Delete) => { web::delete() };
}

use ozvi_api::routes::paths;

routes! {
    Get paths::HEALTHZ => public::healthz,
    Get paths::OPENAPI => openapi::serve,
    Get paths::CONFIG => public::client_config,
    Get paths::DIRECTORY => public::get_directory,
    Put paths::DIRECTORY => public::put_directory,
    Post paths::POW => public::pow_challenge,
    Post paths::THREADS => person::create_thread,
    Get paths::MAILBOX_MESSAGES => person::list_messages,
    Post paths::MAILBOX_MESSAGES => person::post_message,
    Delete paths::MAILBOX => person::delete_thread,
    Get paths::MAILBOX_EVENTS => events::person_events,
    Get paths::STAFF_THREADS => staff::list_threads,
    Post paths::STAFF_THREAD => staff::read_thread,
    Post paths::STAFF_REPLY => staff::reply,
    Post paths::STAFF_READ => staff::mark_read,
    Post paths::STAFF_KEEP => staff::keep,
    Post paths::STAFF_CASE => staff::case_entry,
    Post paths::STAFF_NOTE => staff::put_note,
    Post paths::STAFF_TRANSFER => staff::transfer,
    Get paths::STAFF_EVENTS => events::staff_events,
    Get paths::STAFF_NOTIFICATIONS => staff::notifications,
    Get paths::STAFF_TEMPLATES => staff::get_templates,
    Put paths::STAFF_TEMPLATES => staff::put_templates,
    Put paths::MAILBOX_FILE => files::person_upload,
    Get paths::MAILBOX_FILE => files::person_download,
    Put paths::STAFF_FILE => files::staff_upload,
    Post paths::STAFF_FILE => files::staff_download,
}

/// Reads a request body of at most `limit` bytes. A declared length over the
/// limit is refused before anything is read.
pub async fn read_body(
    req: &actix_web::HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    read_body_into(req, payload, limit, |_| {}).await
}

/// [`read_body`] that also returns the body's digest as a staff request's
/// signature covers it (PROTOCOL.md §7.1), computed chunk by chunk as the
/// body arrives.
pub async fn read_body_digest(
    req: &actix_web::HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<(web::Bytes, [u8; 32]), ApiError> {
    let mut digest = BodyDigest::new();
    let body = read_body_into(req, payload, limit, |chunk| digest.update(chunk)).await?;
    Ok((body, digest.finish()))
}

async fn read_body_into(
    req: &actix_web::HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    mut each: impl FnMut(&[u8]),
) -> Result<web::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|d| d > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    // Room for what was declared, but not more than a mebibyte before it arrives.
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit).min(1 << 20));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::MalformedRequest)?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        each(&chunk);
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a JSON body strictly (PROTOCOL.md §1.3): unknown fields and a
/// member name given twice, at any depth, are refused.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    ozvi_crypto::format::json::from_slice(body).map_err(|_| ApiError::MalformedRequest)
}

/// Decodes a canonical base64url field.
pub fn decode(text: &str) -> Result<Vec<u8>, ApiError> {
    ozvi_crypto::format::b64::decode(text).map_err(|_| ApiError::InvalidEncoding)
}

/// Decodes a canonical base64url field of exactly `N` bytes.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], ApiError> {
    decode(text)?.try_into().map_err(|_| ApiError::InvalidField)
}
