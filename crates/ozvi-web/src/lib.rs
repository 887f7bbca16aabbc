//! The person's page in WebAssembly: [`ozvi_crypto`] for JavaScript.
//!
//! "The bridging layer is not API": every function here converts types and
//! errors and calls `ozvi-crypto`, which holds all the protocol logic. What
//! crosses into JavaScript is strings (base64url, JSON) and numbers; the
//! person's keys stay inside WebAssembly memory in a [`Person`] and are
//! zeroized when the page calls `free()` on it (or when it is collected).
//!
//! Errors reach JavaScript as `Error`s whose message is a stable code from
//! [`codes`], never an internal message: the page maps each code to words in
//! the person's language.
//!
//! # Layout
//!
//! - [`new_code`], [`check_code`]: the code she keeps (PROTOCOL.md §2).
//! - [`Deployment`]: the signed directory, verified under the pinned root
//!   key (§6); which centre serves which region.
//! - [`Person`]: her keys derived from the code (§3); sealing her messages
//!   and opening the centre's replies (§4).
//! - [`Conversation`]: the reader's checks across one thread (replays,
//!   order; `ozvi_crypto::protocol::conversation`), used through
//!   [`Person::open_in_thread`].
//! - [`solve_pow`]: the relay's proof of work (§10).
//! - [`seal_file`], [`open_file`]: attached photos (§12), sealed and opened
//!   with `ozvi_crypto::protocol::file` ([`files`]).
//!
//! # Two modules for the page
//!
//! Feature `page` is everything above; feature `files` is [`files`] alone.
//! Both are on by default (for the tests); `cargo xtask web` builds the
//! page's module with `page` only and a second module,
//! `ozvi_web_files`, with `files` only, which the page loads when she first
//! adds a photo or opens a file: the first visit does not download it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use wasm_bindgen::prelude::*;

#[cfg(feature = "files")]
pub mod files;
#[cfg(feature = "page")]
mod page;

#[cfg(feature = "files")]
pub use files::{SealedFile, open_file, seal_file, sha256};
#[cfg(feature = "page")]
pub use page::{Conversation, Deployment, Person, check_code, new_code, solve_pow};

/// The stable error codes the page translates. Nothing else is ever thrown.
pub mod codes {
    /// The code has too few or too many characters.
    pub const CODE_LENGTH: &str = "code_length";
    /// A character that codes never contain.
    pub const CODE_CHARACTER: &str = "code_character";
    /// Every character is valid but the check character does not match.
    pub const CODE_TYPO: &str = "code_typo";
    /// The directory is not signed by the pinned root key.
    pub const DIRECTORY_SIGNATURE: &str = "directory_signature";
    /// The directory is unreadable, of another format, or the root key is bad.
    pub const DIRECTORY_INVALID: &str = "directory_invalid";
    /// The directory does not list this centre.
    pub const UNKNOWN_CENTRE: &str = "unknown_centre";
    /// The message could not be sealed.
    pub const SEAL_FAILED: &str = "seal_failed";
    /// A message that does not open, or whose signature or sender is not
    /// valid: it must be shown as unverified, never as genuine.
    pub const UNVERIFIED: &str = "unverified";
    /// A proof-of-work challenge that is not base64url or too hard.
    pub const POW_INVALID: &str = "pow_invalid";
    /// A mailbox id that is not base64url of 16 bytes.
    pub const MAILBOX_INVALID: &str = "mailbox_invalid";
    /// [`ozvi_crypto::protocol::file::FileError::TooLarge`].
    pub const FILE_TOO_LARGE: &str = "file_too_large";
    /// `FileError::Length`.
    pub const FILE_LENGTH: &str = "file_length";
    /// `FileError::Hash`.
    pub const FILE_HASH: &str = "file_hash";
    /// `FileError::UnsupportedVersion`.
    pub const FILE_UNSUPPORTED_VERSION: &str = "file_unsupported_version";
    /// `FileError::DecryptionFailed`.
    pub const FILE_DECRYPTION_FAILED: &str = "file_decryption_failed";
    /// `FileError::Padding`.
    pub const FILE_PADDING: &str = "file_padding";
    /// `FileError::InvalidReference` (or a reference that is not JSON).
    pub const FILE_INVALID_REFERENCE: &str = "file_invalid_reference";
}

pub(crate) fn error(code: &str) -> JsError {
    JsError::new(code)
}
