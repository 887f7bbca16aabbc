//! Bodies of the routes anyone may call.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/v1/config`: what the person's page needs before it trusts
/// anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientConfig {
    /// The root key the relay pins (Ed25519, base64url): the page verifies
    /// the directory under it. An auditor compares it with the operator's
    /// published root key (`ozvi-audit directory`).
    #[schema(pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")]
    pub root_key: String,
}

/// What a proof-of-work challenge will be spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Creating a thread (`POST /api/v1/threads`).
    Create,
    /// Posting to one (`POST /api/v1/mailbox/messages`).
    Post,
}

/// `POST /api/v1/pow`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// What the challenge will be spent on.
    pub purpose: Purpose,
}

/// A single-use proof-of-work challenge (PROTOCOL.md §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    /// The server-signed challenge, base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub challenge: String,
    /// Leading zero bits the solution's digest must have.
    pub difficulty: u8,
}
