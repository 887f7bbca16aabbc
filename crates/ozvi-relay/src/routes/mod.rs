//! HTTP routes. Handlers convert between JSON and the store; the protocol's
//! rules live in `ozvi-crypto`, the relay's own rules in `crate::checks`.

pub mod events;
pub mod openapi;
pub mod person;
pub mod public;
pub mod staff;

use actix_web::web;
use futures_util::StreamExt;
use ozvi_crypto::protocol::request::BodyDigest;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Body limit for person and ordinary staff requests: the largest envelope
/// (76,587 bytes) in base64url with room for the JSON around it.
pub const BODY_LIMIT: usize = 128 * 1024;
/// Body limit for a transfer, which carries a whole re-sealed thread.
pub const TRANSFER_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Body limit for a directory.
pub const DIRECTORY_BODY_LIMIT: usize = 1024 * 1024;

/// Declares the routes once: [`configure`] registers them and [`ROUTES`]
/// lists them, so a test can hold the list against the OpenAPI document.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path,)*) => {
        /// Every route as `(method, path)`, in registration order.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path),)*];

        /// Registers every API route. The integration tests use the same function.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

routes! {
    get "/healthz" => public::healthz,
    get "/api/v1/openapi.json" => openapi::serve,
    get "/api/v1/config" => public::client_config,
    get "/api/v1/directory" => public::get_directory,
    put "/api/v1/directory" => public::put_directory,
    post "/api/v1/pow" => public::pow_challenge,
    post "/api/v1/threads" => person::create_thread,
    get "/api/v1/mailbox/messages" => person::list_messages,
    post "/api/v1/mailbox/messages" => person::post_message,
    delete "/api/v1/mailbox" => person::delete_thread,
    get "/api/v1/mailbox/events" => events::person_events,
    get "/api/v1/staff/threads" => staff::list_threads,
    post "/api/v1/staff/thread" => staff::read_thread,
    post "/api/v1/staff/reply" => staff::reply,
    post "/api/v1/staff/read" => staff::mark_read,
    post "/api/v1/staff/note" => staff::put_note,
    post "/api/v1/staff/transfer" => staff::transfer,
    get "/api/v1/staff/events" => events::staff_events,
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
