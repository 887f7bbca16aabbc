//! The relay's errors. Each maps to one wire [`ErrorCode`] (ozvi-api), which
//! fixes its `code`, HTTP status and human message. No error body echoes
//! input or carries an internal error's text; causes go to the server log,
//! and only without user data.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use ozvi_api::{ErrorBody, ErrorCode};

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
    /// A case entry for a conversation, or a reply, note or transfer for a
    /// case.
    #[error("wrong thread kind")]
    WrongThreadKind,
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
    /// The store cannot be reached now (a database that is down or
    /// restarting); the request may succeed later.
    #[error("storage unavailable")]
    StorageUnavailable,
    /// A claimed or downloaded file is not a file of the thread.
    #[error("unknown file")]
    UnknownFile,
    /// The file is already claimed by a message.
    #[error("file exists")]
    FileExists,
    /// The same file id is being uploaded right now.
    #[error("upload in progress")]
    UploadInProgress,
    /// An upload without a Content-Length.
    #[error("length required")]
    LengthRequired,
    /// An upload whose length is not a blob length or whose first byte is
    /// not the blob format.
    #[error("invalid file")]
    InvalidFile,
}

impl ApiError {
    /// The wire code (ozvi-api), which carries the status and the message.
    pub fn code(self) -> ErrorCode {
        match self {
            ApiError::MalformedRequest => ErrorCode::MalformedRequest,
            ApiError::InvalidEncoding => ErrorCode::InvalidEncoding,
            ApiError::InvalidField => ErrorCode::InvalidField,
            ApiError::InvalidEnvelope => ErrorCode::InvalidEnvelope,
            ApiError::UnknownCentre => ErrorCode::UnknownCentre,
            ApiError::UnknownMailbox => ErrorCode::UnknownMailbox,
            ApiError::ThreadExists => ErrorCode::ThreadExists,
            ApiError::WrongAuth => ErrorCode::WrongAuth,
            ApiError::MissingSignature => ErrorCode::MissingSignature,
            ApiError::BadSignature => ErrorCode::BadSignature,
            ApiError::StaleRequest => ErrorCode::StaleRequest,
            ApiError::ReplayedRequest => ErrorCode::ReplayedRequest,
            ApiError::UnknownStaffKey => ErrorCode::UnknownStaffKey,
            ApiError::InvalidDirectory => ErrorCode::InvalidDirectory,
            ApiError::DirectoryRollback => ErrorCode::DirectoryRollback,
            ApiError::NoDirectory => ErrorCode::NoDirectory,
            ApiError::InvalidProofOfWork => ErrorCode::InvalidProofOfWork,
            ApiError::RateLimited => ErrorCode::RateLimited,
            ApiError::TooManyStreams => ErrorCode::TooManyStreams,
            ApiError::Busy => ErrorCode::Busy,
            ApiError::ThreadChanged => ErrorCode::ThreadChanged,
            ApiError::TransferChangesContent => ErrorCode::TransferChangesContent,
            ApiError::LegacyThread => ErrorCode::LegacyThread,
            ApiError::QuotaExceeded => ErrorCode::QuotaExceeded,
            ApiError::WrongThreadKind => ErrorCode::WrongThreadKind,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::Internal => ErrorCode::Internal,
            ApiError::StorageUnavailable => ErrorCode::StorageUnavailable,
            ApiError::UnknownFile => ErrorCode::UnknownFile,
            ApiError::FileExists => ErrorCode::FileExists,
            ApiError::UploadInProgress => ErrorCode::UploadInProgress,
            ApiError::LengthRequired => ErrorCode::LengthRequired,
            ApiError::InvalidFile => ErrorCode::InvalidFile,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(ErrorBody::from(self.code()))
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
            StoreError::FileExists => ApiError::FileExists,
            StoreError::UnknownFile => ApiError::UnknownFile,
            StoreError::Unavailable(cause) => {
                // One line per failed request, with the cause only: the
                // engine's reason (refused, timed out), never the request's
                // data, the database URL or its password.
                tracing::warn!(cause = %cause, "storage unavailable");
                ApiError::StorageUnavailable
            }
            StoreError::Backend(_) | StoreError::Corrupt | StoreError::OtherStore(_) => {
                // The cause names no user data (sled's own messages).
                tracing::error!(error = ?e, "storage failure");
                ApiError::Internal
            }
        }
    }
}
