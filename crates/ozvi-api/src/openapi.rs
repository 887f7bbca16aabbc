//! The OpenAPI 3.1 document, built from [`crate::routes`] and the body types:
//! every route with every status it can answer (each with its error codes and
//! the error body), the header formats, `Allow` on `405`. The relay serves
//! it at `GET /api/v1/openapi.json`; `docs/openapi.json` is a copy a test
//! keeps equal, for clients generated without a running relay.

use std::sync::OnceLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, Required};
use utoipa::{IntoParams, OpenApi};

use crate::error::ErrorBody;
use crate::headers::{self, pattern};
use crate::routes::{self, Access, Body, Method, Query, Route};
use crate::{person, public, staff};

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
    components(schemas(
        ErrorBody,
        public::ClientConfig,
        public::Purpose,
        public::ChallengeRequest,
        public::Challenge,
        person::PowSolution,
        person::CreateThread,
        person::PostMessage,
        person::StoredEnvelope,
        person::Posted,
        person::Listing,
        staff::ThreadSummary,
        staff::Inbox,
        staff::ThreadQuery,
        staff::ThreadPage,
        staff::EnvelopeRequest,
        staff::MarkRead,
        staff::Keep,
        staff::Resealed,
        staff::Transfer,
        staff::Notifications,
        staff::CentreRecord,
        staff::CentreRecordUpload,
        staff::FileRequest,
    )),
    tags(
        (name = "public", description = "Anyone may call these."),
        (name = "person", description = "The person, proving she holds the code with the \
            mailbox id and auth secret headers."),
        (name = "staff", description = "Intervention-centre staff, with Ed25519-signed \
            requests (PROTOCOL.md §7)."),
    )
)]
struct Schemas;

/// The document.
pub fn document() -> Document {
    let mut doc = Schemas::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
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
    for route in routes::all() {
        doc.paths.add_path_operation(
            route.path,
            vec![http_method(route.method)],
            operation(route),
        );
    }
    doc
}

/// The document as pretty JSON, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        // Serializing a document of strings and maps cannot fail.
        document().to_pretty_json().unwrap_or_default()
    })
}

fn http_method(method: Method) -> HttpMethod {
    match method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Delete => HttpMethod::Delete,
    }
}

fn string(pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

fn header_parameter(
    name: &str,
    pattern: &str,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(string(pattern)))
        .build()
}

fn content(body: Body) -> Option<(&'static str, utoipa::openapi::Content)> {
    let object = || ObjectBuilder::new().schema_type(Type::Object).build();
    match body {
        Body::Empty => None,
        Body::Json(name) => Some((
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(name())))
                .build(),
        )),
        Body::Directory | Body::OpenApi => Some((
            "application/json",
            ContentBuilder::new().schema(Some(object())).build(),
        )),
        Body::Text => Some((
            "text/plain",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
                .build(),
        )),
        Body::Events => Some((
            "text/event-stream",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
                .build(),
        )),
        Body::Binary => Some((
            "application/octet-stream",
            ContentBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Binary,
                        )))
                        .build(),
                ))
                .build(),
        )),
    }
}

fn operation(route: &Route) -> utoipa::openapi::path::Operation {
    let tag = match route.access {
        Access::Public => "public",
        Access::Person => "person",
        Access::Staff => "staff",
    };
    let mut op = OperationBuilder::new()
        .tag(tag)
        .summary(Some(route.summary))
        .description(Some(route.description));
    match route.access {
        Access::Public => {}
        Access::Person => {
            op = op
                .parameter(header_parameter(
                    "Ozvi-Mailbox",
                    pattern::B64_16,
                    "The mailbox id, base64url (16 bytes).",
                ))
                .parameter(header_parameter(
                    "Ozvi-Auth",
                    pattern::B64_32,
                    "The auth secret, base64url (32 bytes).",
                ))
                .security(SecurityRequirement::new("mailbox", Vec::<String>::new()));
        }
        Access::Staff => {
            op = op
                .parameter(header_parameter(
                    "Ozvi-Key",
                    pattern::B64_32,
                    "The staff member's Ed25519 public key, base64url (32 bytes).",
                ))
                .parameter(header_parameter(
                    "Ozvi-Timestamp",
                    pattern::UNIX_SECONDS,
                    "Unix seconds, decimal without leading zeros; within 60 s of the \
                     relay's clock and after the relay started.",
                ))
                .parameter(header_parameter(
                    "Ozvi-Nonce",
                    pattern::B64_16,
                    "16 random bytes, base64url; single use.",
                ))
                .parameter(header_parameter(
                    "Ozvi-Signature",
                    pattern::B64_64,
                    "The Ed25519 signature (PROTOCOL.md §7), base64url (64 bytes).",
                ))
                .security(SecurityRequirement::new("staff", Vec::<String>::new()));
        }
    }
    if route.path == routes::paths::MAILBOX_FILE {
        op = op.parameter(header_parameter(
            "Ozvi-File",
            pattern::B64_16,
            "The file id, base64url (16 bytes).",
        ));
        if route.method == Method::Put {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("Ozvi-Pow")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "`<challenge>.<nonce>`: a solved `create` challenge, nonce in \
                         decimal; only on the first upload to a mailbox without a thread.",
                    ))
                    .schema(Some(string("^[A-Za-z0-9_-]+\\.(0|[1-9][0-9]{0,19})$")))
                    .build(),
            );
        }
    }
    let query = match route.query {
        Query::None => Vec::new(),
        Query::After => person::After::into_params(|| Some(ParameterIn::Query)),
        Query::Since => staff::Since::into_params(|| Some(ParameterIn::Query)),
    };
    for parameter in query {
        op = op.parameter(parameter);
    }
    if let Some((media, body)) = content(route.request) {
        let limit = route
            .body_limit
            .map(|l| format!("At most {l} bytes."))
            .unwrap_or_default();
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .description(Some(limit))
                .content(media, body)
                .build(),
        ));
    }
    for (status, codes) in route.statuses() {
        let response = if codes.is_empty() {
            let mut success = ResponseBuilder::new().description(route.summary);
            if let Some((media, body)) = content(route.response) {
                success = success.content(media, body);
            }
            success.build()
        } else {
            let list = codes
                .iter()
                .map(|c| format!("`{}`", c.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let mut refusal = ResponseBuilder::new().description(list).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            );
            if status == 405 {
                refusal = refusal.header(
                    "Allow",
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String).build())
                        .description(Some(format!(
                            "The methods the path takes: `{}`.",
                            routes::allow_header(route.path).unwrap_or_default()
                        )))
                        .build(),
                );
            }
            refusal.build()
        };
        op = op.response(status.to_string(), response);
    }
    op.build()
}

/// The header names the document uses, in the case the relay matches them
/// (HTTP header names are case-insensitive).
pub const HEADERS: [&str; 8] = [
    headers::MAILBOX,
    headers::AUTH,
    headers::FILE,
    headers::POW,
    headers::STAFF_KEY,
    headers::STAFF_TIMESTAMP,
    headers::STAFF_NONCE,
    headers::STAFF_SIGNATURE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::from_str(json()).expect("the document is JSON")
    }

    #[test]
    fn every_route_and_every_status_it_can_answer_is_documented() {
        let doc = doc();
        for route in routes::all() {
            let op = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
            assert!(op.is_object(), "{} {}", route.method.as_str(), route.path);
            let documented: Vec<u16> = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .map(|k| k.parse().expect("a status"))
                .collect();
            let expected: Vec<u16> = route.statuses().keys().copied().collect();
            assert_eq!(documented, expected, "{}", route.path);
            for (status, codes) in route.statuses() {
                let response = &op["responses"][status.to_string()];
                for code in codes {
                    assert!(
                        response["description"]
                            .as_str()
                            .is_some_and(|d| d.contains(&format!("`{}`", code.as_str()))),
                        "{} {status} {code}",
                        route.path
                    );
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody"
                    );
                }
            }
            assert!(
                op["responses"]["405"]["headers"]["Allow"].is_object(),
                "{}",
                route.path
            );
        }
    }

    #[test]
    fn every_referenced_schema_exists() {
        let text = json();
        let doc = doc();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for (at, _) in text.match_indices("#/components/schemas/") {
            let name: String = text[at + 21..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(schemas.contains_key(&name), "{name}");
        }
    }

    #[test]
    fn header_formats_are_stated() {
        let doc = doc();
        let op = &doc["paths"][routes::paths::STAFF_REPLY]["post"];
        let params = op["parameters"].as_array().expect("parameters");
        let names: Vec<&str> = params.iter().filter_map(|p| p["name"].as_str()).collect();
        assert_eq!(
            names,
            ["Ozvi-Key", "Ozvi-Timestamp", "Ozvi-Nonce", "Ozvi-Signature"]
        );
        for p in params {
            assert!(p["schema"]["pattern"].as_str().is_some(), "{p}");
        }
        for name in HEADERS {
            assert_eq!(name, name.to_ascii_lowercase());
        }
    }
}
