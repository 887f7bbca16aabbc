//! Ozvi's staff client. It decrypts and answers on the staff member's own
//! machine; the relay only ever sees ciphertext.
//!
//! # Layout
//!
//! - [`keystore`]: passphrase-encrypted key files.
//! - [`home`]: the desk's folder — settings, keystore, verified directories.
//! - [`relay`]: the relay's API (`ozvi-api`'s types), with signed staff
//!   requests, counting what it asks.
//! - [`session`]: an unlocked desk — inbox, threads, replies, notes,
//!   transfers, exports — shared by the CLI and the local web UI.
//! - [`text`]: the words the desk shows staff about messages and transfers.
//! - [`plaintext`]: the JSON inside envelopes.
//! - [`export`]: a thread as text for the case record.
//! - [`terminal`]: other people's text made safe for a terminal or a file.
//! - [`admin`]: the operator's root key and directory.
//! - [`cli`]: the `ozvi-desk` command line.
//! - [`web`]: the local web UI (`ozvi-desk serve`).
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod error;
pub mod export;
pub mod home;
pub mod keystore;
pub mod launcher;
pub mod plaintext;
pub mod relay;
pub mod session;
pub mod terminal;
pub mod text;
pub mod web;

pub use error::DeskError;
