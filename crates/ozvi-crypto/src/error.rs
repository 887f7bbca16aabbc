//! Error types, one small enum per operation.
//!
//! Cryptographic failures are coarse on purpose (as in age): a wrong key, a
//! flipped bit, a ciphertext moved to another mailbox and a changed kind all
//! give [`OpenError::DecryptionFailed`]. None of the errors carries input
//! bytes, so an error can be logged without leaking user data.

use thiserror::Error;

/// Why a typed-in anonymous code was not accepted. These are meant to be
/// shown to the person, so they say what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The code has too few or too many characters (separators not counted).
    #[error("a code has 18 characters; this one has {found}")]
    WrongLength {
        /// How many code characters were found.
        found: usize,
    },
    /// A character that is not part of the code alphabet.
    #[error("character {position} is not a letter or digit used in codes")]
    InvalidCharacter {
        /// 1-based position among the code characters.
        position: usize,
    },
    /// Every character is valid but the check character does not match: at
    /// least one character was mistyped.
    #[error("the code has a typo: please check each character")]
    CheckFailed,
}

/// A byte string did not have the exact canonical shape the protocol requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not canonical base64url (padding, foreign characters, non-zero trailing bits).
    #[error("not canonical base64url")]
    Base64,
    /// Wrong length, truncated, or trailing bytes.
    #[error("wrong length")]
    Length,
    /// A version this implementation does not speak.
    #[error("unsupported version")]
    UnsupportedVersion,
    /// A field holds a value the protocol does not allow.
    #[error("invalid field")]
    Invalid,
}

/// Why an envelope could not be sealed. These are caller mistakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    /// No recipient, or more than [`crate::format::envelope::MAX_RECIPIENTS`].
    #[error("an envelope needs between 1 and 32 recipients")]
    RecipientCount,
    /// The same recipient key was listed twice.
    #[error("a recipient is listed twice")]
    DuplicateRecipient,
    /// A recipient key is a low-order point (the shared secret would be zero).
    #[error("a recipient key is not a valid public key")]
    InvalidRecipient,
    /// The message does not fit the largest padding bucket.
    #[error("the message is too long")]
    TooLong,
    /// The sender's role does not fit the kind (a person cannot send a staff reply).
    #[error("this sender cannot send this kind of message")]
    WrongSender,
}

/// Why an envelope could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a well-formed envelope (wrong length, bad count, unpadded size, bad base64).
    #[error("malformed envelope")]
    Malformed,
    /// An envelope of a protocol version this implementation does not speak.
    #[error("unsupported envelope version")]
    UnsupportedVersion,
    /// None of the envelope's recipients is this key.
    #[error("this key is not a recipient")]
    NoMatchingKey,
    /// Authentication failed: wrong key, tampered bytes, another mailbox or kind.
    #[error("decryption failed")]
    DecryptionFailed,
    /// Decrypted, but the padding, the frame or the signature is not valid.
    #[error("invalid message")]
    InvalidMessage,
    /// Validly signed, but by someone who may not send this message here: a
    /// key that is not the mailbox owner's or not a listed staff member's.
    #[error("the sender is not allowed to send this message")]
    UnauthorizedSender,
    /// A valid message of another kind than the caller expected.
    #[error("unexpected message kind")]
    UnexpectedKind,
}

/// Why a signed directory was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// Not a well-formed directory document, or one that breaks a rule of §6.
    #[error("malformed directory")]
    Malformed,
    /// A format version this implementation does not speak.
    #[error("unsupported directory format")]
    UnsupportedVersion,
    /// The signature does not verify under the pinned root key.
    #[error("bad directory signature")]
    BadSignature,
    /// Older than the directory already pinned, or the same version with other content.
    #[error("directory rollback")]
    Rollback,
    /// The deployment salt differs from the pinned directory's.
    #[error("directory belongs to another deployment")]
    WrongDeployment,
}

/// Why a signed staff request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A header is missing or not in canonical form.
    #[error("malformed request authentication")]
    Malformed,
    /// The timestamp is outside the replay window.
    #[error("request timestamp outside the allowed window")]
    Stale,
    /// The signature does not verify.
    #[error("bad request signature")]
    BadSignature,
}

/// Why a message could not be re-sealed for a transfer (PROTOCOL.md §4.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The original does not open and verify: it is not re-sealed.
    #[error("the original message is not valid: {0}")]
    Open(#[from] OpenError),
    /// The new recipients are not valid.
    #[error("cannot seal to the new recipients: {0}")]
    Seal(#[from] SealError),
    /// A format-1 envelope: its stanzas are bound to its payload, so it
    /// cannot be re-wrapped without re-encrypting, which nobody could check.
    #[error("a version 1 envelope cannot be transferred")]
    Legacy,
    /// The person's key is not given, or the envelope has no stanza for it.
    #[error("the person's stanza is missing")]
    PersonStanza,
}

/// Why an envelope is not addressed as PROTOCOL.md §4.7 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AddressingError {
    /// Not a well-formed envelope.
    #[error("malformed envelope")]
    Malformed,
    /// Not the envelope format sealers write now (format 2).
    #[error("envelopes must be sealed in format 2")]
    OldFormat,
    /// Another kind than expected.
    #[error("unexpected kind")]
    Kind,
    /// The stanzas are not exactly the centre's staff (and, for kinds 1 and
    /// 2, the person, last).
    #[error("not addressed to exactly the thread's recipients")]
    Recipients,
}

/// Why a transfer was refused: it would change what a message says, or
/// whether the person can still open it (PROTOCOL.md §4.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RewrapError {
    /// An envelope does not parse.
    #[error("malformed envelope")]
    Malformed,
    /// The stored message is a format-1 envelope, which cannot be re-wrapped
    /// verifiably.
    #[error("the thread holds version 1 envelopes")]
    Legacy,
    /// Not exactly the stored messages, in the stored order.
    #[error("not the thread's messages")]
    Messages,
    /// The version, kind, nonce or payload differs from the stored message.
    #[error("the content changed")]
    ContentChanged,
    /// The person's stanza is missing or not byte-identical.
    #[error("the person's stanza changed")]
    PersonStanza,
    /// The new envelope is not addressed to the receiving centre.
    #[error("not addressed to the receiving centre: {0}")]
    Addressing(#[from] AddressingError),
}
