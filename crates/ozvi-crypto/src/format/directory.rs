//! The directory document's JSON shape (PROTOCOL.md §6.1). Validation of its
//! content and the signature live in [`crate::protocol::directory`].

use serde::{Deserialize, Deserializer, Serialize};

/// The signed form served by the relay:
/// `{"directory": b64url(payload), "signature": b64url(sig)}`. The signature
/// covers the exact payload bytes, so no JSON canonicalization is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedDirectoryDoc {
    /// Base64url of the UTF-8 JSON payload ([`DirectoryDoc`]).
    pub directory: String,
    /// Base64url of the root key's Ed25519 signature (§6.2).
    pub signature: String,
}

/// The directory payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryDoc {
    /// Document format, 1.
    pub format: u32,
    /// Monotonically increasing version, at least 1.
    pub version: u64,
    /// When the operator signed it (Unix seconds); informative.
    pub issued_at: u64,
    /// Base64url of the 16-byte deployment salt for Argon2id (§3.1); never
    /// changes for the life of a deployment.
    pub salt: String,
    /// The centre that receives messages when the person does not know her region.
    pub default_centre: String,
    /// The intervention centres.
    pub centres: Vec<CentreDoc>,
}

/// One intervention centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentreDoc {
    /// Stable id, `[a-z0-9-]{1,32}`.
    pub id: String,
    /// Display names.
    pub names: NamesDoc,
    /// ISO 3166-2:CZ region codes this centre serves.
    pub regions: Vec<String>,
    /// How to reach the centre itself, shown to the person once she has
    /// written. Optional: absent in older directories.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub contact: Option<ContactDoc>,
    /// When the centre usually answers. Optional.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub answer_time: Option<TextsDoc>,
    /// The automatic acknowledgement shown after her first message. Optional.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub acknowledgement: Option<TextsDoc>,
    /// Staff members whose keys receive this centre's messages.
    pub staff: Vec<StaffDoc>,
}

/// An optional member that, when present, must hold a value: `null` is the
/// wrong JSON type, not "absent" (§6.1). Absence is `#[serde(default)]`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A centre's own contact details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactDoc {
    /// Telephone number: digits, single spaces, an optional leading `+`.
    pub phone: String,
    /// Postal address.
    pub address: String,
    /// Opening hours in the three languages.
    pub hours: TextsDoc,
}

/// A text in the three languages of the service (other than a name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextsDoc {
    /// Czech.
    pub cs: String,
    /// English.
    pub en: String,
    /// Ukrainian.
    pub uk: String,
}

/// A name in the three languages of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamesDoc {
    /// Czech.
    pub cs: String,
    /// English.
    pub en: String,
    /// Ukrainian.
    pub uk: String,
}

/// One staff member's public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffDoc {
    /// Stable id, `[a-z0-9-]{1,32}`, unique in the directory.
    pub id: String,
    /// A label the centre chooses (not necessarily a real name).
    pub label: String,
    /// Base64url X25519 public key.
    pub x25519: String,
    /// Base64url Ed25519 public key.
    pub ed25519: String,
}
