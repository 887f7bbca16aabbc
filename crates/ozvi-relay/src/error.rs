//! The API's errors: a stable machine-readable `code`, an HTTP status and a
//! fixed human message. No error body echoes input or carries an internal
//! error's text; causes go to the server log, and only without user data.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Every error the API returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not the JSON the endpoint takes.
    #[error("malformed request")]
    MalformedRequest,
    /// A binary field is not canonical base64url.
    #[error("invalid encoding")]
    InvalidEncoding,
    /// A field has the wrong size or value.
    #[error("invalid field")]
    InvalidField,
    /// The envelope is not well formed, not padded, of the wrong kind, or not
    /// addressed to the thread's centre as the directory lists it.
    #[error("invalid envelope")]
    InvalidEnvelope,
    /// No such centre in the directory.
    #[error("unknown centre")]
    UnknownCentre,
    /// No such thread.
    #[error("unknown mailbox")]
    UnknownMailbox,
    /// The thread already exists.
    #[error("thread exists")]
    ThreadExists,
    /// The mailbox auth secret is missing or wrong.
    #[error("wrong auth")]
    WrongAuth,
    /// Staff request authentication is missing or malformed.
    #[error("missing signature")]
    MissingSignature,
    /// The staff request signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The staff request's timestamp is outside the window.
    #[error("stale request")]
    StaleRequest,
    /// The staff request was already seen.
    #[error("replayed request")]
    ReplayedRequest,
    /// The signing key is not a staff key in the current directory.
    #[error("unknown staff key")]
    UnknownStaffKey,
    /// The thread belongs to another centre.
    #[error("forbidden")]
    Forbidden,
    /// The directory is badly signed or malformed.
    #[error("invalid directory")]
    InvalidDirectory,
    /// The directory is not newer than the current one.
    #[error("directory rollback")]
    DirectoryRollback,
    /// No directory has been installed yet.
    #[error("no directory")]
    NoDirectory,
    /// The proof of work is missing, used, expired or wrong.
    #[error("invalid proof of work")]
    InvalidProofOfWork,
    /// Too many requests.
    #[error("rate limited")]
    RateLimited,
    /// Too many event streams are open from this address, or in total.
    #[error("too many streams")]
    TooManyStreams,
    /// Too many large bodies are being received; retry shortly.
    #[error("busy")]
    Busy,
    /// The thread changed while the request was prepared; fetch and retry.
    #[error("thread changed")]
    ThreadChanged,
    /// A transfer would change a message's content or the person's access
    /// to it (PROTOCOL.md §4.8).
    #[error("transfer changes content")]
    TransferChangesContent,
    /// The thread holds envelopes of format 1, which cannot be transferred
    /// verifiably (docs/OPERATIONS.md, "Upgrades").
    #[error("legacy thread")]
    LegacyThread,
    /// A per-thread quota is reached.
    #[error("quota exceeded")]
    QuotaExceeded,
    /// The body is larger than the endpoint accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// No such route.
    #[error("not found")]
    NotFound,
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Something failed inside the relay.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// The stable code clients switch on.
    pub fn code(self) -> &'static str {
        match self {
            ApiError::MalformedRequest => "malformed_request",
            ApiError::InvalidEncoding => "invalid_encoding",
            ApiError::InvalidField => "invalid_field",
            ApiError::InvalidEnvelope => "invalid_envelope",
            ApiError::UnknownCentre => "unknown_centre",
            ApiError::UnknownMailbox => "unknown_mailbox",
            ApiError::ThreadExists => "thread_exists",
            ApiError::WrongAuth => "wrong_auth",
            ApiError::MissingSignature => "missing_signature",
            ApiError::BadSignature => "bad_signature",
            ApiError::StaleRequest => "stale_request",
            ApiError::ReplayedRequest => "replayed_request",
            ApiError::UnknownStaffKey => "unknown_staff_key",
            ApiError::Forbidden => "forbidden",
            ApiError::InvalidDirectory => "invalid_directory",
            ApiError::DirectoryRollback => "directory_rollback",
            ApiError::NoDirectory => "no_directory",
            ApiError::InvalidProofOfWork => "invalid_proof_of_work",
            ApiError::RateLimited => "rate_limited",
            ApiError::TooManyStreams => "too_many_streams",
            ApiError::Busy => "busy",
            ApiError::QuotaExceeded => "quota_exceeded",
            ApiError::ThreadChanged => "thread_changed",
            ApiError::TransferChangesContent => "transfer_changes_content",
            ApiError::LegacyThread => "legacy_thread",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Internal => "internal",
        }
    }

    /// A fixed explanation for people.
    pub fn message(self) -> &'static str {
        match self {
            ApiError::MalformedRequest => "The request body is not the JSON this endpoint takes.",
            ApiError::InvalidEncoding => "A binary field is not canonical base64url.",
            ApiError::InvalidField => "A field has the wrong size or value.",
            ApiError::InvalidEnvelope => {
                "The envelope is malformed, unpadded, of the wrong kind, or not addressed to every staff member of the centre."
            }
            ApiError::UnknownCentre => "No centre with this id is in the directory.",
            ApiError::UnknownMailbox => "There is no conversation for this code.",
            ApiError::ThreadExists => "A conversation with this mailbox id already exists.",
            ApiError::WrongAuth => "The mailbox authentication is missing or wrong.",
            ApiError::MissingSignature => "This request must be signed by a staff key.",
            ApiError::BadSignature => "The request signature does not verify.",
            ApiError::StaleRequest => "The request timestamp is too far from the relay's clock.",
            ApiError::ReplayedRequest => "This signed request was already used.",
            ApiError::UnknownStaffKey => {
                "The signing key is not a staff key in the current directory."
            }
            ApiError::Forbidden => "This conversation belongs to another centre.",
            ApiError::InvalidDirectory => {
                "The directory is malformed or not signed by the root key."
            }
            ApiError::DirectoryRollback => "The directory is not newer than the current one.",
            ApiError::NoDirectory => "No directory has been published yet.",
            ApiError::InvalidProofOfWork => {
                "The proof of work is missing, expired, already used or wrong."
            }
            ApiError::RateLimited => "Too many requests. Please wait a minute and try again.",
            ApiError::TooManyStreams => {
                "Too many live update streams are open. Poll for changes instead."
            }
            ApiError::Busy => "The relay is busy. Please try again in a moment.",
            ApiError::QuotaExceeded => "This conversation has reached its size limit.",
            ApiError::ThreadChanged => {
                "The conversation changed meanwhile. Fetch it again and retry."
            }
            ApiError::TransferChangesContent => {
                "A transfer may only re-wrap the staff stanzas: every message's nonce, payload and the person's stanza must stay as stored."
            }
            ApiError::LegacyThread => {
                "This conversation holds version 1 envelopes, which cannot be transferred verifiably."
            }
            ApiError::PayloadTooLarge => "The request body is too large.",
            ApiError::NotFound => "No such endpoint.",
            ApiError::MethodNotAllowed => "This endpoint does not take this method.",
            ApiError::Internal => "Something went wrong on the relay. Please try again later.",
        }
    }
}

/// Every error response's body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable and machine-readable, e.g. `wrong_auth` (docs/API.md lists them all).
    #[schema(example = "wrong_auth")]
    code: &'static str,
    /// A fixed explanation for people; never echoes input.
    message: &'static str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedRequest
            | ApiError::InvalidEncoding
            | ApiError::InvalidField
            | ApiError::InvalidEnvelope
            | ApiError::InvalidDirectory => StatusCode::BAD_REQUEST,
            ApiError::WrongAuth
            | ApiError::MissingSignature
            | ApiError::BadSignature
            | ApiError::StaleRequest
            | ApiError::ReplayedRequest => StatusCode::UNAUTHORIZED,
            ApiError::UnknownStaffKey | ApiError::Forbidden | ApiError::InvalidProofOfWork => {
                StatusCode::FORBIDDEN
            }
            ApiError::UnknownCentre
            | ApiError::UnknownMailbox
            | ApiError::NoDirectory
            | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::ThreadExists
            | ApiError::DirectoryRollback
            | ApiError::QuotaExceeded
            | ApiError::ThreadChanged
            | ApiError::TransferChangesContent
            | ApiError::LegacyThread => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited | ApiError::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(ErrorBody {
            code: self.code(),
            message: self.message(),
        })
    }
}

impl From<ozvi_crypto::RewrapError> for ApiError {
    fn from(e: ozvi_crypto::RewrapError) -> Self {
        use ozvi_crypto::RewrapError;
        match e {
            RewrapError::Legacy => ApiError::LegacyThread,
            RewrapError::ContentChanged | RewrapError::PersonStanza => {
                ApiError::TransferChangesContent
            }
            RewrapError::Messages => ApiError::InvalidField,
            _ => ApiError::InvalidEnvelope,
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Exists => ApiError::ThreadExists,
            StoreError::NotFound => ApiError::UnknownMailbox,
            StoreError::Quota => ApiError::QuotaExceeded,
            StoreError::Changed => ApiError::ThreadChanged,
            StoreError::Backend(_) | StoreError::Corrupt => {
                // The cause names no user data (sled's own messages).
                tracing::error!(error = ?e, "storage failure");
                ApiError::Internal
            }
        }
    }
}
