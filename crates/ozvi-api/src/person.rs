//! Bodies of the person's routes. She proves she holds the code with the
//! `Ozvi-Mailbox` and `Ozvi-Auth` headers (crate::headers); neither is ever
//! in a URL.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A solved proof-of-work challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PowSolution {
    /// The challenge as issued.
    pub challenge: String,
    /// The solving nonce: a JSON integer, 0 ≤ nonce < 2^64 (PROTOCOL.md §10).
    pub nonce: u64,
}

/// `POST /api/v1/threads`: a new thread with its first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateThread {
    /// The mailbox id, base64url (16 bytes).
    #[schema(pattern = "^[A-Za-z0-9_-]{21}[AQgw]$")]
    pub mailbox_id: String,
    /// The auth verifier, base64url (32 bytes): SHA-256 of the auth secret.
    #[schema(pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")]
    pub verifier: String,
    /// The centre's id in the directory.
    #[schema(example = "ic-zlin", pattern = "^[a-z0-9-]{1,32}$")]
    pub centre: String,
    /// The first message, a padded envelope of kind 1, base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub envelope: String,
    /// A solved challenge of purpose `create`; may be left out only when
    /// the relay's difficulty is 0, or when her first upload to this
    /// mailbox already carried one (docs/API.md, "Files").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<PowSolution>,
    /// Files this message carries, uploaded before it (docs/API.md,
    /// "Files"): at most 5 file ids, base64url (16 bytes), no repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 5)]
    pub files: Vec<String>,
}

/// `POST /api/v1/mailbox/messages`: the person writes again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// A padded envelope of kind 1, base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub envelope: String,
    /// A solved challenge of purpose `post`; may be left out only when the
    /// relay's difficulty is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<PowSolution>,
    /// Files this message carries, uploaded before it (docs/API.md,
    /// "Files"): at most 5 file ids, base64url (16 bytes), no repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 5)]
    pub files: Vec<String>,
}

/// One stored message as the relay returns it, to the person and to staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoredEnvelope {
    /// Position in the thread, from 1.
    pub seq: u64,
    /// When the relay stored it (Unix seconds, whole minutes).
    pub stored_at: u64,
    /// The envelope, base64url.
    pub envelope: String,
}

/// The sequence number a new message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Posted {
    /// Position of the new message in the thread.
    pub seq: u64,
}

/// `GET /api/v1/mailbox/messages`: the thread's messages after `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Listing {
    /// The centre that holds the thread now.
    pub centre: String,
    /// The newest sequence number in the thread.
    pub last_seq: u64,
    /// The centre's staff have read the thread up to this sequence number
    /// (0: nothing yet; back to 0 when the thread moves to another centre).
    pub read_through: u64,
    /// At most [`crate::limits::PERSON_PAGE`] messages after `after`,
    /// oldest first.
    pub messages: Vec<StoredEnvelope>,
}

/// The query of `GET /api/v1/mailbox/messages`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct After {
    /// Only messages with a higher sequence number (default 0: from the start).
    #[serde(default)]
    pub after: u64,
}
