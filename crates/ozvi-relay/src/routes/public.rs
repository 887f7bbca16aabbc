//! Routes anyone may call: health, the directory, challenges; and the
//! metrics, which only the metrics listener serves.

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use ozvi_api::public::{Challenge, ChallengeRequest, ClientConfig};

use super::{DIRECTORY_BODY_LIMIT, parse_json, read_body};
use crate::admission::{Admission, Purpose};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: the relay is up and its store answers.
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.directory().await?;
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
                .render_coarse(state.clock.now(), state.config.metrics_interval_secs)
                + &crate::metrics::render_notifications(&state.notifier.health_all()),
        )
}

/// `GET /api/v1/directory`: the signed directory, exactly as the operator signed it.
pub async fn get_directory(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let current = state.directory()?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(current.json.clone()))
}

/// `GET /api/v1/config`: the pinned root key, for the person's page.
pub async fn client_config(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(ClientConfig {
        root_key: ozvi_crypto::format::b64::encode(&state.root_key.to_bytes()),
    })
}

/// `PUT /api/v1/directory`: replaces the directory with a newer one signed by
/// the pinned root key. The signature is the authorization.
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

/// `POST /api/v1/pow`: a single-use proof-of-work challenge. A `create`
/// challenge costs more while the relay receives many new threads and while
/// this client asks for many (adaptive difficulty, docs/API.md "Admission").
pub async fn pow_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload, ozvi_api::limits::CHALLENGE_BODY_LIMIT).await?;
    let request: ChallengeRequest = parse_json(&body)?;
    let purpose = match request.purpose {
        ozvi_api::public::Purpose::Create => Purpose::Create,
        ozvi_api::public::Purpose::Post => Purpose::Post,
    };
    let now = state.clock.now();
    let difficulty = match purpose {
        Purpose::Create => {
            state
                .limits
                .create_difficulty(
                    super::person::client_of(&req),
                    now,
                    Admission::from_config(&state.config),
                )
                .await?
        }
        Purpose::Post => state.config.pow_difficulty,
    };
    let challenge = state
        .limits
        .issue_challenge(purpose, difficulty, now)
        .await?;
    Ok(HttpResponse::Ok().json(Challenge {
        challenge,
        difficulty,
    }))
}
