//! Routes anyone may call: health, metrics, the directory, challenges.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{DIRECTORY_BODY_LIMIT, parse_json, read_body};
use crate::error::ApiError;
use crate::limits::Purpose;
use crate::state::AppState;

/// `GET /healthz`: the relay is up and its store answers.
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.directory()?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("ok"))
}

/// `GET /metrics`: aggregate counters in the Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// `GET /api/v1/directory`: the signed directory, exactly as the operator signed it.
pub async fn get_directory(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let current = state.directory()?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(current.json.clone()))
}

/// `PUT /api/v1/directory`: replaces the directory with a newer one signed by
/// the pinned root key. The signature is the authorization.
pub async fn put_directory(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, DIRECTORY_BODY_LIMIT).await?;
    state.install_directory(&body).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChallengeRequest {
    purpose: String,
}

#[derive(Serialize)]
struct ChallengeResponse {
    challenge: String,
    difficulty: u8,
}

/// `POST /api/v1/pow`: a single-use proof-of-work challenge.
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
    let difficulty = state.config.pow_difficulty;
    let challenge = state
        .limits
        .issue_challenge(purpose, difficulty, state.clock.now());
    Ok(HttpResponse::Ok().json(ChallengeResponse {
        challenge,
        difficulty,
    }))
}
