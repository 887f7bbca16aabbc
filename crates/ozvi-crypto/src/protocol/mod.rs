//! The protocol operations (PROTOCOL.md §2–§7).

pub mod addressing;
pub mod case;
pub mod code;
pub mod conversation;
pub mod directory;
pub mod envelope;
pub mod file;
pub mod keys;
pub mod pow;
pub mod request;
pub mod transfer;

/// Every label the protocol uses as a KDF `info`, a hash prefix or a
/// signature context, in one place (PROTOCOL.md §1.4). They are ASCII, start
/// with `ozvi/v1/`, and none is a prefix of another.
pub mod labels {
    /// HKDF info: the person's X25519 secret key from the root secret.
    pub const PERSON_X25519: &[u8] = b"ozvi/v1/person-x25519";
    /// HKDF info: the person's Ed25519 seed from the root secret.
    pub const PERSON_ED25519: &[u8] = b"ozvi/v1/person-ed25519";
    /// HKDF info: the mailbox auth secret from the root secret.
    pub const MAILBOX_AUTH: &[u8] = b"ozvi/v1/mailbox-auth";
    /// HKDF info: the mailbox id from the person's two public keys.
    pub const MAILBOX_ID: &[u8] = b"ozvi/v1/mailbox-id";
    /// SHA-256 prefix: the auth verifier the relay stores.
    pub const AUTH_VERIFIER: &[u8] = b"ozvi/v1/auth-verifier";
    /// SHA-256 prefix: a recipient key id.
    pub const KEY_ID: &[u8] = b"ozvi/v1/key-id";
    /// HKDF info: a stanza's wrap key.
    pub const WRAP: &[u8] = b"ozvi/v1/wrap";
    /// Associated-data prefix of the payload in envelope format 1.
    pub const PAYLOAD: &[u8] = b"ozvi/v1/payload";
    /// Associated-data prefix of the payload in envelope format 2.
    pub const ENVELOPE2_PAYLOAD: &[u8] = b"ozvi/v1/envelope2-payload";
    /// Signature context of a message frame.
    pub const MESSAGE_SIGNATURE: &[u8] = b"ozvi/v1/message-signature";
    /// Signature context of the directory.
    pub const DIRECTORY_SIGNATURE: &[u8] = b"ozvi/v1/directory-signature";
    /// SHA-256 prefix: the proof-of-work puzzle.
    pub const POW: &[u8] = b"ozvi/v1/pow";
    /// Signature context of a staff request.
    pub const STAFF_REQUEST: &[u8] = b"ozvi/v1/staff-request";
    /// SHA-256 prefix: the mailbox id a centre's staff-only record (its
    /// reply templates) is sealed under.
    pub const CENTRE_RECORD: &[u8] = b"ozvi/v1/centre-record";
    /// Associated-data prefix of every chunk of an attached file.
    pub const FILE_CHUNK: &[u8] = b"ozvi/v1/file-chunk";
}
