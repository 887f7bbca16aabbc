//! `GET /api/v1/openapi.json`: the API described as OpenAPI 3.1, generated
//! from the handlers' annotations (utoipa). docs/API.md explains the flows;
//! PROTOCOL.md the bytes inside the base64url fields.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{events, person, public, staff};
use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ozvi relay API",
        description = "The relay stores only ciphertext. Binary values are canonical base64url \
            without padding. Mailbox ids and secrets travel in headers and bodies, never in URLs. \
            Every error is JSON `{code, message}` with a stable `code`. See docs/API.md and \
            docs/PROTOCOL.md.",
        license(name = "AGPL-3.0-or-later"),
    ),
    paths(
        public::healthz,
        serve,
        public::client_config,
        public::get_directory,
        public::put_directory,
        public::pow_challenge,
        person::create_thread,
        person::list_messages,
        person::post_message,
        person::delete_thread,
        events::person_events,
        staff::list_threads,
        staff::read_thread,
        staff::reply,
        staff::mark_read,
        staff::put_note,
        staff::transfer,
        events::staff_events,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "public", description = "Anyone may call these."),
        (name = "person", description = "The person, proving she holds the code with the \
            mailbox id and auth secret headers."),
        (name = "staff", description = "Intervention-centre staff, with Ed25519-signed \
            requests (PROTOCOL.md §7)."),
    )
)]
struct ApiDoc;

/// The two ways a caller proves who she is.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "mailbox",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Ozvi-Auth",
                "The person's auth secret (base64url, 32 bytes), sent with her mailbox id in \
                 `Ozvi-Mailbox` (base64url, 16 bytes). Both are derived from her code.",
            ))),
        );
        components.add_security_scheme(
            "staff",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Ozvi-Signature",
                "An Ed25519 signature by a staff key listed in the current directory over the \
                 method, exact target, body, `Ozvi-Key`, `Ozvi-Timestamp` and `Ozvi-Nonce` \
                 (PROTOCOL.md §7). Timestamps must be within 60 seconds; nonces are single use.",
            ))),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|_| String::from("{}"))
    })
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "public",
    responses((status = 200, description = "This API as an OpenAPI 3.1 document.",
        content_type = "application/json", body = Object)),
)]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(document())
}
