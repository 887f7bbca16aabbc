//! Ozvi's cryptographic protocol: anonymous codes, key derivation, envelopes,
//! padding and signatures, exactly as `docs/PROTOCOL.md` specifies them.
//!
//! The relay (native), the staff desk (native) and the person's browser
//! (WebAssembly) all use this one crate, so there is one implementation of
//! every byte. It has no async, web or storage dependency and builds for
//! `wasm32-unknown-unknown`.
//!
//! # Layout
//!
//! - [`primitives`]: thin wrappers over the audited RustCrypto and dalek
//!   crates (X25519, Ed25519, ChaCha20-Poly1305, XChaCha20-Poly1305, HKDF,
//!   Argon2id, SHA-256) that add what the protocol needs everywhere: secrets
//!   that zeroize and never print, and the all-zero shared-secret check.
//! - [`format`]: parse and serialize only — the envelope layout, the signed
//!   message frame, padding buckets, canonical base64url and the directory
//!   document. No key is used here.
//! - [`protocol`]: the operations — generate and parse a code, derive a
//!   person's keys from it, seal and open envelopes, sign and verify the
//!   directory and staff requests.
//!
//! Errors are deliberately coarse (see [`error`]): nothing tells an attacker
//! which check failed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod error;
pub mod format;
pub mod primitives;
pub mod protocol;

#[cfg(feature = "hazmat")]
pub mod hazmat;

pub use error::{
    AddressingError, CodeError, DirectoryError, OpenError, ParseError, RequestError, RewrapError,
    SealError, TransferError,
};
pub use format::envelope::Kind;
pub use protocol::code::Code;
pub use protocol::directory::{Centre, Directory, SignedDirectory, StaffMember};
pub use protocol::envelope::{Opened, Sender};
pub use protocol::keys::{
    AuthSecret, AuthVerifier, DeploymentSalt, MailboxId, PersonKeys, PersonPublic, StaffKeys,
    StaffPublic,
};

/// The protocol version this crate speaks. It is part of every label
/// (`ozvi/v1/…`) and of the message signing input. Envelopes carry their own
/// format number ([`format::envelope::CURRENT_VERSION`]).
pub const PROTOCOL_VERSION: u8 = 1;
