//! Every route of the relay as data: method, path, who may call it, its
//! bodies, and every error it can answer. The relay registers exactly these
//! (a test holds them against its router), clients take their paths from
//! [`paths`], and [`crate::openapi`] builds the OpenAPI document from them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use utoipa::ToSchema;

use crate::error::ErrorCode;
use crate::{limits, person, public, staff};

/// The paths, for clients to build URLs from.
pub mod paths {
    /// Health check.
    pub const HEALTHZ: &str = "/healthz";
    /// This API as an OpenAPI document.
    pub const OPENAPI: &str = "/api/v1/openapi.json";
    /// The pinned root key.
    pub const CONFIG: &str = "/api/v1/config";
    /// The signed directory (GET, PUT).
    pub const DIRECTORY: &str = "/api/v1/directory";
    /// Proof-of-work challenges.
    pub const POW: &str = "/api/v1/pow";
    /// A new thread.
    pub const THREADS: &str = "/api/v1/threads";
    /// The person's messages (GET, POST).
    pub const MAILBOX_MESSAGES: &str = "/api/v1/mailbox/messages";
    /// The person's thread (DELETE).
    pub const MAILBOX: &str = "/api/v1/mailbox";
    /// The person's live updates.
    pub const MAILBOX_EVENTS: &str = "/api/v1/mailbox/events";
    /// The centre's inbox.
    pub const STAFF_THREADS: &str = "/api/v1/staff/threads";
    /// One thread, for staff.
    pub const STAFF_THREAD: &str = "/api/v1/staff/thread";
    /// A staff reply.
    pub const STAFF_REPLY: &str = "/api/v1/staff/reply";
    /// The centre's read mark.
    pub const STAFF_READ: &str = "/api/v1/staff/read";
    /// The staff-only note.
    pub const STAFF_NOTE: &str = "/api/v1/staff/note";
    /// A transfer to another centre.
    pub const STAFF_TRANSFER: &str = "/api/v1/staff/transfer";
    /// The centre's live updates.
    pub const STAFF_EVENTS: &str = "/api/v1/staff/events";
    /// Whether the centre's e-mail notifications are delivered.
    pub const STAFF_NOTIFICATIONS: &str = "/api/v1/staff/notifications";
    /// Staff keep a quiet thread from deletion.
    pub const STAFF_KEEP: &str = "/api/v1/staff/keep";
    /// The centre's reply templates (a staff-only envelope).
    pub const STAFF_TEMPLATES: &str = "/api/v1/staff/templates";
    /// A case entry: opens a staff-only case or appends to one.
    pub const STAFF_CASE: &str = "/api/v1/staff/case";
    /// The person uploads (PUT) or downloads (GET) a file.
    pub const MAILBOX_FILE: &str = "/api/v1/mailbox/file";
    /// Staff upload (PUT) or download (POST) a file.
    pub const STAFF_FILE: &str = "/api/v1/staff/file";
}

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method as HTTP writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// The method from its HTTP spelling (exact, upper case).
    pub fn parse(text: &str) -> Option<Self> {
        [Method::Get, Method::Post, Method::Put, Method::Delete]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// Who may call a route, and so which refusals of authentication it can
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// The person: `Ozvi-Mailbox` and `Ozvi-Auth` (crate::headers).
    Person,
    /// A staff member: a request signed under PROTOCOL.md §7.
    Staff,
}

/// A body or an answer, as the document describes it.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// Nothing (`204`, or a request without a body).
    Empty,
    /// JSON of the named schema.
    Json(fn() -> Cow<'static, str>),
    /// A signed directory document (PROTOCOL.md §6), JSON.
    Directory,
    /// This document, JSON.
    OpenApi,
    /// `text/plain`.
    Text,
    /// `text/event-stream`.
    Events,
    /// `application/octet-stream`: a file's blob (PROTOCOL.md §12.1), or
    /// for a staff upload the two ids before it.
    Binary,
}

/// The largest blob (PROTOCOL.md §12.1): the most an upload's body holds.
pub const MAX_BLOB: usize = ozvi_crypto::protocol::file::BLOB_LENGTHS[8] as usize;

/// The query a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// None.
    None,
    /// [`person::After`].
    After,
    /// [`staff::Since`].
    Since,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Its method.
    pub method: Method,
    /// Its path (one of [`paths`]).
    pub path: &'static str,
    /// The OpenAPI tag: who calls it.
    pub access: Access,
    /// One line.
    pub summary: &'static str,
    /// What it does, for the document.
    pub description: &'static str,
    /// Its query parameters.
    pub query: Query,
    /// The request body.
    pub request: Body,
    /// The most bytes of body it reads (none: it reads no body).
    pub body_limit: Option<usize>,
    /// The success status.
    pub success: u16,
    /// What a success carries.
    pub response: Body,
    /// The refusals particular to this route. Those every route can answer
    /// ([`COMMON`]), those of its [`Access`] ([`Route::codes`]) and those of
    /// reading a body are added.
    pub errors: &'static [ErrorCode],
}

/// What every route can answer: the HTTP layer's own refusals, the wrong
/// method, the per-address rate limit, an internal failure, and a store out
/// of reach (a database that is down: relays on one database count the
/// rate limit there, and most routes read or write it).
pub const COMMON: &[ErrorCode] = &[
    ErrorCode::MalformedHttp,
    ErrorCode::MethodNotAllowed,
    ErrorCode::RequestTimeout,
    ErrorCode::RateLimited,
    ErrorCode::HeadersTooLarge,
    ErrorCode::Internal,
    ErrorCode::StorageUnavailable,
];

/// What the person's authentication can answer.
const PERSON_AUTH: &[ErrorCode] = &[ErrorCode::WrongAuth, ErrorCode::UnknownMailbox];

/// What a staff signature can answer (the directory is needed to find the key).
const STAFF_AUTH: &[ErrorCode] = &[
    ErrorCode::MissingSignature,
    ErrorCode::BadSignature,
    ErrorCode::StaleRequest,
    ErrorCode::ReplayedRequest,
    ErrorCode::UnknownStaffKey,
    ErrorCode::NoDirectory,
];

/// What reading a JSON body can answer.
const BODY: &[ErrorCode] = &[ErrorCode::MalformedRequest, ErrorCode::PayloadTooLarge];

impl Route {
    /// Every error code this route can answer, without repeats, in the
    /// order of [`ErrorCode::ALL`].
    pub fn codes(&self) -> Vec<ErrorCode> {
        let access = match self.access {
            Access::Public => &[][..],
            Access::Person => PERSON_AUTH,
            Access::Staff => STAFF_AUTH,
        };
        let body = if self.body_limit.is_some() { BODY } else { &[] };
        ErrorCode::ALL
            .iter()
            .copied()
            .filter(|c| {
                COMMON.contains(c)
                    || access.contains(c)
                    || body.contains(c)
                    || self.errors.contains(c)
            })
            .collect()
    }

    /// Every status this route can answer, each with the codes behind it
    /// (none for the success status).
    pub fn statuses(&self) -> BTreeMap<u16, Vec<ErrorCode>> {
        let mut out: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
        out.insert(self.success, Vec::new());
        for code in self.codes() {
            out.entry(code.status()).or_default().push(code);
        }
        out
    }

    /// Whether this route can answer `status`.
    pub fn answers(&self, status: u16) -> bool {
        status == self.success || self.codes().iter().any(|c| c.status() == status)
    }
}

fn schema<T: ToSchema>() -> fn() -> Cow<'static, str> {
    T::name
}

/// Every route, in the order the relay registers them.
pub fn all() -> &'static [Route] {
    &ROUTES
}

/// The route for `method` and `path` (the path without its query).
pub fn find(method: Method, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// The methods `path` takes, for an `Allow` header (empty: no such path).
pub fn allowed(path: &str) -> Vec<Method> {
    let mut methods: Vec<Method> = ROUTES
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.method)
        .collect();
    methods.sort();
    methods
}

/// The `Allow` header's value for `path`, e.g. `GET, PUT`.
pub fn allow_header(path: &str) -> Option<String> {
    let methods = allowed(path);
    (!methods.is_empty()).then(|| {
        methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

use Access::{Person, Public, Staff};
use ErrorCode as E;

static ROUTES: std::sync::LazyLock<Vec<Route>> = std::sync::LazyLock::new(|| {
    vec![
        Route {
            method: Method::Get,
            path: paths::HEALTHZ,
            access: Public,
            summary: "The relay is up and its store answers.",
            description: "`ok` as text. A store that cannot be reached (a database that \
                is down) answers `503 storage_unavailable`, so that a proxy in front of \
                several relays turns to another; a failing store answers `500 internal`.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Text,
            errors: &[],
        },
        Route {
            method: Method::Get,
            path: paths::OPENAPI,
            access: Public,
            summary: "This API as an OpenAPI 3.1 document.",
            description: "Built from the `ozvi-api` crate, like every client's view of the API.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::OpenApi,
            errors: &[],
        },
        Route {
            method: Method::Get,
            path: paths::CONFIG,
            access: Public,
            summary: "The pinned root key, for the person's page.",
            description: "The page verifies the directory under this key.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Json(schema::<public::ClientConfig>()),
            errors: &[],
        },
        Route {
            method: Method::Get,
            path: paths::DIRECTORY,
            access: Public,
            summary: "The signed directory, exactly as the operator signed it.",
            description: "Verify it under the pinned root key before use (PROTOCOL.md §6).",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Directory,
            errors: &[E::NoDirectory],
        },
        Route {
            method: Method::Put,
            path: paths::DIRECTORY,
            access: Public,
            summary: "Replaces the directory with a newer one signed by the pinned root key.",
            description: "The signature is the authorization. Only a few uploads are \
                received at a time (`503 busy`).",
            query: Query::None,
            request: Body::Directory,
            body_limit: Some(limits::DIRECTORY_BODY_LIMIT),
            success: 204,
            response: Body::Empty,
            errors: &[E::InvalidDirectory, E::DirectoryRollback, E::Busy],
        },
        Route {
            method: Method::Post,
            path: paths::POW,
            access: Public,
            summary: "A single-use proof-of-work challenge.",
            description: "Usable once within 10 minutes. A `create` challenge costs more \
                while the relay receives many new threads and while this client asks for \
                many (docs/API.md, \"Admission\").",
            query: Query::None,
            request: Body::Json(schema::<public::ChallengeRequest>()),
            body_limit: Some(limits::CHALLENGE_BODY_LIMIT),
            success: 200,
            response: Body::Json(schema::<public::Challenge>()),
            errors: &[],
        },
        Route {
            method: Method::Post,
            path: paths::THREADS,
            access: Public,
            summary: "A new thread with its first message.",
            description: "Created and durable when answered. Only this client's own \
                creation budget can refuse it (`429 rate_limited`).",
            query: Query::None,
            request: Body::Json(schema::<person::CreateThread>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 201,
            response: Body::Json(schema::<person::Posted>()),
            errors: &[
                E::InvalidEncoding,
                E::InvalidField,
                E::InvalidEnvelope,
                E::InvalidProofOfWork,
                E::UnknownCentre,
                E::NoDirectory,
                E::ThreadExists,
                E::UnknownFile,
                E::QuotaExceeded,
            ],
        },
        Route {
            method: Method::Get,
            path: paths::MAILBOX_MESSAGES,
            access: Person,
            summary: "The thread's messages after `after`.",
            description: "At most 100 messages, oldest first.",
            query: Query::After,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Json(schema::<person::Listing>()),
            errors: &[E::InvalidField],
        },
        Route {
            method: Method::Post,
            path: paths::MAILBOX_MESSAGES,
            access: Person,
            summary: "The person writes again.",
            description: "Stored and durable when answered.",
            query: Query::None,
            request: Body::Json(schema::<person::PostMessage>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 201,
            response: Body::Json(schema::<person::Posted>()),
            errors: &[
                E::InvalidEncoding,
                E::InvalidField,
                E::InvalidEnvelope,
                E::InvalidProofOfWork,
                E::UnknownCentre,
                E::NoDirectory,
                E::QuotaExceeded,
                E::UnknownFile,
            ],
        },
        Route {
            method: Method::Delete,
            path: paths::MAILBOX,
            access: Person,
            summary: "The person deletes her thread for good.",
            description: "Every message and note is deleted, durably.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 204,
            response: Body::Empty,
            errors: &[],
        },
        Route {
            method: Method::Get,
            path: paths::MAILBOX_EVENTS,
            access: Person,
            summary: "Live changes in the person's thread.",
            description: "Server-sent events: `event: change` with the newest sequence \
                number (0: look anyway) whenever the thread changes; a comment every 15 s. \
                The stream ends after `event_stream_max_secs`; reconnect or poll.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Events,
            errors: &[E::TooManyStreams],
        },
        Route {
            method: Method::Get,
            path: paths::STAFF_THREADS,
            access: Staff,
            summary: "The centre's threads changed after `since` (and before `before`).",
            description: "Newest change first, at most 500; `cursor` is the newest change \
                listed.",
            query: Query::Since,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Json(schema::<staff::Inbox>()),
            errors: &[E::InvalidField],
        },
        Route {
            method: Method::Post,
            path: paths::STAFF_THREAD,
            access: Staff,
            summary: "A thread's messages after `after`, and its note.",
            description: "Another centre's thread answers `404 unknown_mailbox`, like a \
                missing one.",
            query: Query::None,
            request: Body::Json(schema::<staff::ThreadQuery>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 200,
            response: Body::Json(schema::<staff::ThreadPage>()),
            errors: &[E::InvalidEncoding, E::InvalidField, E::UnknownMailbox],
        },
        Route {
            method: Method::Post,
            path: paths::STAFF_REPLY,
            access: Staff,
            summary: "A staff reply (kind 2).",
            description: "Stored and durable when answered, with the claims of the files \
                it lists (uploaded before it with `PUT /api/v1/staff/file`).",
            query: Query::None,
            request: Body::Json(schema::<staff::EnvelopeRequest>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 201,
            response: Body::Json(schema::<person::Posted>()),
            errors: &[
                E::InvalidEncoding,
                E::InvalidField,
                E::InvalidEnvelope,
                E::UnknownMailbox,
                E::UnknownCentre,
                E::QuotaExceeded,
                E::WrongThreadKind,
                E::UnknownFile,
            ],
        },
        Route {
            method: Method::Post,
            path: paths::STAFF_CASE,
            access: Staff,
            summary: "A case entry (kind 4): opens a staff-only case or appends to one.",
            description: "The mailbox id is the case's, drawn at random by the desk \
                (PROTOCOL.md §4.11). The first entry for an unused id opens the case \
                for the signer's centre; later ones are appended, never replaced. The \
                envelope must be sealed to exactly the centre's staff. Stored and \
                durable when answered.",
            query: Query::None,
            request: Body::Json(schema::<staff::EnvelopeRequest>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 201,
            response: Body::Json(schema::<person::Posted>()),
            errors: &[
                E::InvalidEncoding,
                E::InvalidField,
                E::InvalidEnvelope,
                E::UnknownMailbox,
                E::UnknownCentre,
                E::QuotaExceeded,
                E::WrongThreadKind,
            ],
        },
        Route {
            method: Method::Post,
            path: paths::STAFF_READ,
            access: Staff,
            summary: "The centre has read the thread up to `seq`.",
            description: "Recorded durably.",
            query: Query::None,
            request: Body::Json(schema::<staff::MarkRead>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 204,
            response: Body::Empty,
            errors: &[E::InvalidEncoding, E::InvalidField, E::UnknownMailbox],
        },
        Route {
            method: Method::Post,
            path: paths::STAFF_KEEP,
            access: Staff,
            summary: "Keeps a quiet thread from deletion for another retention period.",
            description: "Its last activity becomes now; nothing else changes. The relay \
                records no reason.",
            query: Query::None,
            request: Body::Json(schema::<staff::Keep>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 204,
            response: Body::Empty,
            errors: &[E::InvalidEncoding, E::InvalidField, E::UnknownMailbox],
        },
        Route {
            method: Method::Post,
            path: paths::STAFF_NOTE,
            access: Staff,
            summary: "Replaces the thread's staff-only note (kind 3).",
            description: "Stored and durable when answered.",
            query: Query::None,
            request: Body::Json(schema::<staff::EnvelopeRequest>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 204,
            response: Body::Empty,
            errors: &[
                E::InvalidEncoding,
                E::InvalidField,
                E::InvalidEnvelope,
                E::UnknownMailbox,
                E::UnknownCentre,
                E::WrongThreadKind,
            ],
        },
        Route {
            method: Method::Post,
            path: paths::STAFF_TRANSFER,
            access: Staff,
            summary: "Moves a thread to another centre.",
            description: "The desk re-seals every message to the new centre (PROTOCOL.md \
                §4.8); the relay checks that only the staff stanzas changed. The signed \
                headers are checked before any of the body is read; only a few transfers \
                are received at a time (`503 busy`).",
            query: Query::None,
            request: Body::Json(schema::<staff::Transfer>()),
            body_limit: Some(limits::TRANSFER_BODY_LIMIT),
            success: 204,
            response: Body::Empty,
            errors: &[
                E::InvalidEncoding,
                E::InvalidField,
                E::InvalidEnvelope,
                E::UnknownMailbox,
                E::UnknownCentre,
                E::ThreadChanged,
                E::TransferChangesContent,
                E::LegacyThread,
                E::WrongThreadKind,
                E::Busy,
            ],
        },
        Route {
            method: Method::Get,
            path: paths::STAFF_EVENTS,
            access: Staff,
            summary: "Live changes in the staff member's centre.",
            description: "Server-sent events: `event: change` whenever a thread of the \
                centre changes; a comment every 15 s. The stream ends when the key leaves \
                the directory, or after `event_stream_max_secs`.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Events,
            errors: &[E::TooManyStreams],
        },
        Route {
            method: Method::Get,
            path: paths::STAFF_NOTIFICATIONS,
            access: Staff,
            summary: "Whether the centre's e-mail notifications are delivered.",
            description: "The relay's delivery health for the signer's centre: when a digest \
                last reached every recipient, when one last failed and what kind of failure it \
                was. No address, server or reply is ever in it.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Json(schema::<staff::Notifications>()),
            errors: &[],
        },
        Route {
            method: Method::Get,
            path: paths::STAFF_TEMPLATES,
            access: Staff,
            summary: "The centre's reply templates, as the staff-only envelope staff stored.",
            description: "`envelope` is null until staff store one.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Json(schema::<staff::CentreRecord>()),
            errors: &[],
        },
        Route {
            method: Method::Put,
            path: paths::STAFF_TEMPLATES,
            access: Staff,
            summary: "Replaces the centre's reply templates.",
            description: "A kind-3 envelope sealed to exactly the signer's centre's staff, \
                under the centre's record mailbox id (PROTOCOL.md §4.10).",
            query: Query::None,
            request: Body::Json(schema::<staff::CentreRecordUpload>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 204,
            response: Body::Empty,
            errors: &[E::InvalidEncoding, E::InvalidEnvelope, E::UnknownCentre],
        },
        Route {
            method: Method::Put,
            path: paths::MAILBOX_FILE,
            access: Person,
            summary: "The person uploads one file's blob, before the message that claims it.",
            description: "Header `Ozvi-File` names it. `Content-Length` must be a blob \
                length (PROTOCOL.md §12.1), checked with the auth and the number of uploads \
                being received before a byte of the body is read. For a mailbox without a \
                thread, the first upload carries `Ozvi-Pow: <challenge>.<nonce>` (purpose \
                `create`) and binds the mailbox to her auth secret. The same unclaimed id \
                again replaces the upload. One upload per mailbox at a time; `busy` also \
                over the uploads per client address or the relay's disk bound. An idle or \
                too slow body is cut. Durable when answered.",
            query: Query::None,
            request: Body::Binary,
            body_limit: Some(MAX_BLOB),
            success: 204,
            response: Body::Empty,
            errors: &[
                E::InvalidEncoding,
                E::InvalidField,
                E::InvalidFile,
                E::LengthRequired,
                E::InvalidProofOfWork,
                E::FileExists,
                E::UploadInProgress,
                E::QuotaExceeded,
                E::Busy,
            ],
        },
        Route {
            method: Method::Get,
            path: paths::MAILBOX_FILE,
            access: Person,
            summary: "A file claimed by a message of the person's thread, as stored.",
            description: "Header `Ozvi-File` names it; the answer is the blob.",
            query: Query::None,
            request: Body::Empty,
            body_limit: None,
            success: 200,
            response: Body::Binary,
            errors: &[E::InvalidEncoding, E::InvalidField, E::UnknownFile],
        },
        Route {
            method: Method::Put,
            path: paths::STAFF_FILE,
            access: Staff,
            summary: "A staff member uploads a file's blob for a thread of her centre.",
            description: "The body is `mailbox_id (16) ‖ file_id (16) ‖ blob`, so both ids \
                are signed; `Content-Length` is 32 plus a blob length. The signed headers \
                and the length are checked before the body is read (staff uploads have \
                their own few places: `busy`). The body waits in a staging file; only once \
                the signature verifies are the thread, the id and the quotas looked at and \
                the blob kept. Durable when answered.",
            query: Query::None,
            request: Body::Binary,
            body_limit: Some(32 + MAX_BLOB),
            success: 204,
            response: Body::Empty,
            errors: &[
                E::InvalidFile,
                E::LengthRequired,
                E::UnknownMailbox,
                E::WrongThreadKind,
                E::FileExists,
                E::UploadInProgress,
                E::QuotaExceeded,
                E::Busy,
            ],
        },
        Route {
            method: Method::Post,
            path: paths::STAFF_FILE,
            access: Staff,
            summary: "A file claimed by a message of a thread of her centre, as stored.",
            description: "Another centre's thread answers `404 unknown_mailbox`, like a \
                missing one; the answer is the blob.",
            query: Query::None,
            request: Body::Json(schema::<staff::FileRequest>()),
            body_limit: Some(limits::BODY_LIMIT),
            success: 200,
            response: Body::Binary,
            errors: &[
                E::InvalidEncoding,
                E::InvalidField,
                E::UnknownMailbox,
                E::UnknownFile,
            ],
        },
    ]
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_unique_and_paths_come_from_the_list() {
        let mut seen = std::collections::BTreeSet::new();
        for r in all() {
            assert!(
                seen.insert((r.path, r.method)),
                "{} {} twice",
                r.method.as_str(),
                r.path
            );
            assert!(r.path.starts_with('/'));
            assert_eq!(find(r.method, r.path).map(|f| f.path), Some(r.path));
        }
        assert_eq!(allow_header(paths::DIRECTORY).as_deref(), Some("GET, PUT"));
        assert_eq!(
            allow_header(paths::MAILBOX_MESSAGES).as_deref(),
            Some("GET, POST")
        );
        assert_eq!(allow_header("/api/v1/nothing"), None);
    }

    #[test]
    fn every_route_answers_the_common_refusals_and_those_of_its_access() {
        for r in all() {
            for code in COMMON {
                assert!(r.codes().contains(code), "{}: {code}", r.path);
            }
            let auth = match r.access {
                Access::Public => &[][..],
                Access::Person => PERSON_AUTH,
                Access::Staff => STAFF_AUTH,
            };
            for code in auth {
                assert!(r.answers(code.status()), "{}: {code}", r.path);
            }
            assert_eq!(
                r.body_limit.is_some(),
                r.answers(413),
                "{} {}",
                r.method.as_str(),
                r.path
            );
        }
    }
}
