//! `GET /api/v1/openapi.json`: the API as OpenAPI 3.1, built by `ozvi-api`
//! from the same definitions every client uses. docs/API.md explains the
//! flows; PROTOCOL.md the bytes inside the base64url fields.

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(ozvi_api::openapi::json())
}
