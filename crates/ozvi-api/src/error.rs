//! Every error the relay answers: a stable machine-readable [`ErrorCode`], its
//! HTTP status and a fixed message for people. No error body echoes input.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares the codes once, with their status and message, so the wire
/// string, the status and the OpenAPI document cannot disagree.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:literal, $message:literal;)*) => {
        /// A stable error code. Clients switch on it; docs/API.md lists
        /// when each is answered.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $code)] $variant,)*
            /// A code this version does not know (a newer relay's).
            #[serde(other)]
            Unknown,
        }

        impl ErrorCode {
            /// Every code this version knows, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears in `{"code": …}`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                    ErrorCode::Unknown => "unknown",
                }
            }

            /// The HTTP status the relay answers it with.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                    ErrorCode::Unknown => 500,
                }
            }

            /// A fixed explanation for people; never echoes input.
            pub fn message(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $message,)*
                    ErrorCode::Unknown => "An error this client does not know.",
                }
            }
        }
    };
}

codes! {
    /// The body is not the JSON the endpoint takes (unknown fields and
    /// repeated member names included).
    MalformedRequest = "malformed_request", 400,
        "The request body is not the JSON this endpoint takes.";
    /// A binary field is not canonical base64url.
    InvalidEncoding = "invalid_encoding", 400, "A binary field is not canonical base64url.";
    /// A field has the wrong size or value.
    InvalidField = "invalid_field", 400, "A field has the wrong size or value.";
    /// The envelope is malformed, unpadded, of the wrong kind, or not
    /// addressed as PROTOCOL.md §4.7 requires.
    InvalidEnvelope = "invalid_envelope", 400,
        "The envelope is malformed, unpadded, of the wrong kind, or not addressed to every staff member of the centre.";
    /// An upload whose length is not a blob length of PROTOCOL.md §12.1, or
    /// whose first byte is not a known file format.
    InvalidFile = "invalid_file", 400,
        "The file is not an encrypted blob of an allowed size.";
    /// The directory is badly signed or malformed.
    InvalidDirectory = "invalid_directory", 400,
        "The directory is malformed or not signed by the root key.";
    /// Not valid HTTP/1.1 (answered by the HTTP layer itself).
    MalformedHttp = "malformed_http", 400, "The request is not valid HTTP/1.1.";
    /// The person's mailbox headers are missing or malformed.
    WrongAuth = "wrong_auth", 401, "The mailbox authentication is missing or wrong.";
    /// The staff signature headers are missing or malformed.
    MissingSignature = "missing_signature", 401, "This request must be signed by a staff key.";
    /// The staff signature does not verify.
    BadSignature = "bad_signature", 401, "The request signature does not verify.";
    /// The staff request's timestamp is outside the window, or from before
    /// the relay started.
    StaleRequest = "stale_request", 401,
        "The request timestamp is too far from the relay's clock.";
    /// The staff request's nonce was already used.
    ReplayedRequest = "replayed_request", 401, "This signed request was already used.";
    /// The signing key is not a staff key in the current directory.
    UnknownStaffKey = "unknown_staff_key", 403,
        "The signing key is not a staff key in the current directory.";
    /// The proof of work is missing, used, expired or wrong.
    InvalidProofOfWork = "invalid_proof_of_work", 403,
        "The proof of work is missing, expired, already used or wrong.";
    /// No such centre in the directory.
    UnknownCentre = "unknown_centre", 404, "No centre with this id is in the directory.";
    /// No such thread, a wrong auth secret, or another centre's thread: the
    /// same answer for all three.
    UnknownMailbox = "unknown_mailbox", 404, "There is no conversation for this code.";
    /// No directory has been installed yet.
    NoDirectory = "no_directory", 404, "No directory has been published yet.";
    /// No such file in this thread (or not yet claimed by a message, for a
    /// download); a claim of an id that is not an unclaimed upload.
    UnknownFile = "unknown_file", 404, "There is no such file in this conversation.";
    /// No such route.
    NotFound = "not_found", 404, "No such endpoint.";
    /// The route exists but not with this method (the answer has `Allow`).
    MethodNotAllowed = "method_not_allowed", 405, "This endpoint does not take this method.";
    /// The request head did not arrive in time (answered by the HTTP layer).
    RequestTimeout = "request_timeout", 408, "The request head did not arrive in time.";
    /// The thread already exists.
    ThreadExists = "thread_exists", 409, "A conversation with this mailbox id already exists.";
    /// The directory is not newer than the current one.
    DirectoryRollback = "directory_rollback", 409,
        "The directory is not newer than the current one.";
    /// A per-thread quota is reached.
    QuotaExceeded = "quota_exceeded", 409, "This conversation has reached its size limit.";
    /// The thread changed while the request was prepared; fetch and retry.
    ThreadChanged = "thread_changed", 409,
        "The conversation changed meanwhile. Fetch it again and retry.";
    /// A transfer would change a message's content or the person's access
    /// to it (PROTOCOL.md §4.8).
    TransferChangesContent = "transfer_changes_content", 409,
        "A transfer may only re-wrap the staff stanzas: every message's nonce, payload and the person's stanza must stay as stored.";
    /// The thread holds format-1 envelopes, which cannot be transferred
    /// verifiably.
    LegacyThread = "legacy_thread", 409,
        "This conversation holds version 1 envelopes, which cannot be transferred verifiably.";
    /// A case entry sent to a conversation, or a reply, note or transfer
    /// for a case (PROTOCOL.md §4.11).
    WrongThreadKind = "wrong_thread_kind", 409,
        "A case entry goes to a case; a reply, a note or a transfer to a conversation.";
    /// An upload under an id a message already claimed.
    FileExists = "file_exists", 409, "A file with this id is already part of a message.";
    /// The same file id is being uploaded by another request right now.
    UploadInProgress = "upload_in_progress", 409,
        "This file is being uploaded by another request. Please try again in a moment.";
    /// An upload without `Content-Length`.
    LengthRequired = "length_required", 411, "An upload must state its Content-Length.";
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge = "payload_too_large", 413, "The request body is too large.";
    /// Too many requests from this client.
    RateLimited = "rate_limited", 429, "Too many requests. Please wait a minute and try again.";
    /// Too many event streams are open from this client, or in total.
    TooManyStreams = "too_many_streams", 429,
        "Too many live update streams are open. Poll for changes instead.";
    /// The header block is too large (answered by the HTTP layer).
    HeadersTooLarge = "headers_too_large", 431, "The request's header block is too large.";
    /// Something failed inside the relay.
    Internal = "internal", 500, "Something went wrong on the relay. Please try again later.";
    /// Too many large bodies are being received; retry shortly.
    Busy = "busy", 503, "The relay is busy. Please try again in a moment.";
    /// The relay's database cannot be reached right now (a server store
    /// that is down or restarting). The relay recovers by itself when the
    /// database is back.
    StorageUnavailable = "storage_unavailable", 503,
        "The relay cannot reach its storage right now. Please try again in a moment.";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every error response's body: exactly these two members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable and machine-readable, e.g. `wrong_auth` (docs/API.md lists them all).
    #[schema(schema_with = code_schema)]
    pub code: ErrorCode,
    /// A fixed explanation for people; never echoes input.
    pub message: String,
}

/// The schema of `code`: a string, one of the codes this version knows (a
/// client should still expect others from a newer relay).
fn code_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(
            "Stable and machine-readable, e.g. `wrong_auth` (docs/API.md lists them all).",
        ))
        .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
        .build()
}

impl From<ErrorCode> for ErrorBody {
    fn from(code: ErrorCode) -> Self {
        Self {
            code,
            message: code.message().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_is_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for &code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            let json = serde_json::to_string(&ErrorBody::from(code)).expect("serializes");
            assert_eq!(
                json,
                format!(
                    r#"{{"code":"{}","message":{}}}"#,
                    code.as_str(),
                    serde_json::Value::from(code.message())
                )
            );
            let back: ErrorBody = serde_json::from_str(&json).expect("parses");
            assert_eq!(back.code, code);
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn a_code_from_a_newer_relay_is_unknown_not_an_error() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"something_new","message":"x"}"#).expect("parses");
        assert_eq!(body.code, ErrorCode::Unknown);
    }
}
