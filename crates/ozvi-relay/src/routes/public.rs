//! Routes anyone may call: health, the directory, challenges; and the
//! metrics, which only the metrics listener serves.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{DIRECTORY_BODY_LIMIT, parse_json, read_body};
use crate::error::{ApiError, ErrorBody};
use crate::limits::{Admission, Purpose};
use crate::state::AppState;

/// `GET /healthz`: the relay is up and its store answers.
#[utoipa::path(get, path = "/healthz", tag = "public",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String),
        (status = 500, description = "The store does not answer.", body = ErrorBody)))]
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.directory()?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("ok"))
}

/// `GET /metrics` on the metrics listener only (`metrics_listen`), never on
/// the public one: aggregate counters in the Prometheus text format, as a
/// snapshot per `metrics_interval_secs` period.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(
            state
                .metrics
                .render_coarse(state.clock.now(), state.config.metrics_interval_secs),
        )
}

/// `GET /api/v1/directory`: the signed directory, exactly as the operator signed it.
#[utoipa::path(get, path = "/api/v1/directory", tag = "public",
    responses((status = 200, description = "The signed directory (PROTOCOL.md §6); verify it \
        under the pinned root key before use.", content_type = "application/json", body = Object),
        (status = 404, description = "`no_directory`", body = ErrorBody)))]
pub async fn get_directory(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let current = state.directory()?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(current.json.clone()))
}

/// What the person's page needs to know before it trusts anything.
#[derive(Serialize, ToSchema)]
pub struct ClientConfig {
    /// The root key the relay pins (Ed25519, base64url): the page verifies
    /// the directory under it. An auditor compares it with the operator's
    /// published root key (`ozvi-audit directory`).
    root_key: String,
}

/// `GET /api/v1/config`: the pinned root key, for the person's page.
#[utoipa::path(get, path = "/api/v1/config", tag = "public",
    responses((status = 200, description = "The relay's pinned root key.", body = ClientConfig)))]
pub async fn client_config(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(ClientConfig {
        root_key: ozvi_crypto::format::b64::encode(&state.root_key.to_bytes()),
    })
}

/// `PUT /api/v1/directory`: replaces the directory with a newer one signed by
/// the pinned root key. The signature is the authorization.
#[utoipa::path(put, path = "/api/v1/directory", tag = "public",
    request_body(description = "A signed directory (PROTOCOL.md §6), at most 1 MiB.",
        content_type = "application/json", content = Object),
    responses((status = 204, description = "Installed."),
        (status = 400, description = "`invalid_directory`", body = ErrorBody),
        (status = 409, description = "`directory_rollback`: not newer than the current one.",
            body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 503, description = "`busy`: other uploads are being received", body = ErrorBody)))]
pub async fn put_directory(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The signature is inside the body: only a few such bodies are read at
    // a time, so unsigned uploads cannot add up in memory.
    let _receiving = std::sync::Arc::clone(&state.directory_bodies)
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy)?;
    let body = read_body(&req, payload, DIRECTORY_BODY_LIMIT).await?;
    state.install_directory(&body).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChallengeRequest {
    /// What the challenge will be spent on.
    #[schema(pattern = "^(create|post)$", example = "post")]
    purpose: String,
}

#[derive(Serialize, ToSchema)]
struct ChallengeResponse {
    /// The server-signed challenge, base64url (PROTOCOL.md §10).
    challenge: String,
    /// Leading zero bits the solution's digest must have.
    difficulty: u8,
}

/// `POST /api/v1/pow`: a single-use proof-of-work challenge. A `create`
/// challenge costs more while the relay receives many new threads and while
/// this client asks for many (adaptive difficulty, docs/API.md "Admission").
#[utoipa::path(post, path = "/api/v1/pow", tag = "public",
    request_body = ChallengeRequest,
    responses((status = 200, description = "A challenge usable once within 10 minutes; a \
        `create` challenge's difficulty rises under pressure, up to `pow_max_difficulty`.",
        body = ChallengeResponse),
        (status = 400, description = "`malformed_request` or `invalid_field`", body = ErrorBody)))]
pub async fn pow_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, 1024).await?;
    let request: ChallengeRequest = parse_json(&body)?;
    let purpose = match request.purpose.as_str() {
        "create" => Purpose::Create,
        "post" => Purpose::Post,
        _ => return Err(ApiError::InvalidField),
    };
    let now = state.clock.now();
    let difficulty = match purpose {
        Purpose::Create => state.limits.create_difficulty(
            super::person::client_of(&req),
            now,
            Admission::from_config(&state.config),
        ),
        Purpose::Post => state.config.pow_difficulty,
    };
    let challenge = state.limits.issue_challenge(purpose, difficulty, now);
    Ok(HttpResponse::Ok().json(ChallengeResponse {
        challenge,
        difficulty,
    }))
}
