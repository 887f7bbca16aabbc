//! Bodies of the staff routes. Every request is signed (PROTOCOL.md §7, the
//! `Ozvi-Key`, `Ozvi-Timestamp`, `Ozvi-Nonce` and `Ozvi-Signature` headers)
//! and touches only the signer's centre. Mailbox ids travel in bodies,
//! never in URLs.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::person::StoredEnvelope;

/// A thread as the inbox lists it. Times are Unix seconds in whole minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ThreadSummary {
    /// The mailbox id, base64url (16 bytes).
    pub mailbox_id: String,
    /// When the thread was created.
    pub created_at: u64,
    /// The last message or note.
    pub last_activity: u64,
    /// Oldest person message not yet answered by staff (0: none).
    pub unanswered_since: u64,
    /// The thread's change number; the inbox cursor.
    pub change: u64,
    /// The newest sequence number.
    pub last_seq: u64,
    /// How many messages the thread holds.
    pub message_count: u32,
    /// Person messages after the centre's read mark.
    pub unread: u32,
    /// The staff-only note (status, assignee, internal notes), an envelope
    /// of kind 3, base64url; none until staff write one.
    pub note: Option<String>,
    /// The thread's first message (her form answers are in it), for the
    /// inbox's triage. In the inbox listing only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<StoredEnvelope>,
    /// Its newest message, when that is not the first. In the inbox
    /// listing only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<StoredEnvelope>,
}

/// `GET /api/v1/staff/threads`: the centre's changed threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Inbox {
    /// The signer's centre.
    pub centre: String,
    /// Pass as `since` next time to get only what changed.
    pub cursor: u64,
    /// Days without activity after which the relay deletes a thread of this
    /// centre (the relay's retention), so the desk can warn before.
    #[serde(default)]
    pub retention_days: u32,
    /// At most [`crate::limits::INBOX_PAGE`] threads, newest change first.
    pub threads: Vec<ThreadSummary>,
}

/// The query of `GET /api/v1/staff/threads`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Since {
    /// Only threads changed after this cursor (default 0: all).
    #[serde(default)]
    pub since: u64,
    /// Only threads changed before this change number: the next page of a
    /// long listing passes the oldest `change` of the previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
}

/// `POST /api/v1/staff/thread`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadQuery {
    /// The mailbox id, base64url (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub mailbox_id: String,
    /// Only messages with a higher sequence number (default 0).
    #[serde(default)]
    pub after: u64,
}

/// `POST /api/v1/staff/thread`: a thread's metadata, note and messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ThreadPage {
    /// The thread's metadata and note.
    pub thread: ThreadSummary,
    /// At most [`crate::limits::THREAD_PAGE`] messages after `after`,
    /// oldest first.
    pub messages: Vec<StoredEnvelope>,
}

/// `POST /api/v1/staff/reply` (kind 2) and `POST /api/v1/staff/note` (kind 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeRequest {
    /// The mailbox id, base64url (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub mailbox_id: String,
    /// A padded envelope, base64url: kind 2 for a reply, kind 3 for a note,
    /// kind 4 for a case entry.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub envelope: String,
    /// Files a reply carries, uploaded before it (docs/API.md, "Files"): at
    /// most 5 file ids, base64url (16 bytes), no repeats. Replies only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 5)]
    pub files: Vec<String>,
}

/// `POST /api/v1/staff/file`: one claimed file of a thread of the signer's
/// centre; the answer is the blob (`application/octet-stream`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRequest {
    /// The mailbox id, base64url (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub mailbox_id: String,
    /// The file id, base64url (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub file_id: String,
}

/// `POST /api/v1/staff/read`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// The mailbox id, base64url (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub mailbox_id: String,
    /// Read up to and including this sequence number.
    pub seq: u64,
}

/// `POST /api/v1/staff/keep`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Keep {
    /// The mailbox id, base64url (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub mailbox_id: String,
}

/// One message of a transfer, re-sealed to the receiving centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resealed {
    /// The message's sequence number.
    pub seq: u64,
    /// The message re-sealed to the new centre (same kind), base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub envelope: String,
}

/// `POST /api/v1/staff/transfer`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The mailbox id, base64url (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub mailbox_id: String,
    /// The receiving centre's id.
    #[schema(pattern = "^[a-z0-9-]{1,32}$")]
    pub to_centre: String,
    /// Every message of the thread, re-sealed, in order.
    pub messages: Vec<Resealed>,
    /// The note re-sealed to the new centre's staff, or none.
    pub note: Option<String>,
    /// The transfer notice to the person: a padded envelope of kind 2
    /// addressed to the receiving centre's staff and the person, base64url,
    /// appended after the messages (PROTOCOL.md §4.8). The desk always
    /// sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub notice: Option<String>,
}

/// `GET /api/v1/staff/notifications`: the centre's e-mail delivery health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Whether the relay sends this centre notifications at all.
    pub configured: bool,
    /// When a digest last reached every recipient (Unix seconds).
    pub last_success: Option<u64>,
    /// When a digest last failed for a recipient (Unix seconds).
    pub last_failure: Option<u64>,
    /// What kind of failure that was: `connection`, `tls`,
    /// `authentication`, `refused` or `other`.
    pub failure: Option<String>,
    /// Whether the latest attempt failed (staff are warned).
    pub failing: bool,
}

/// `GET /api/v1/staff/templates`: the centre's record, if staff stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CentreRecord {
    /// The kind-3 envelope, base64url; null until staff store one.
    pub envelope: Option<String>,
}

/// `PUT /api/v1/staff/templates`: the new record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CentreRecordUpload {
    /// The kind-3 envelope, base64url (PROTOCOL.md §4.10).
    pub envelope: String,
}
