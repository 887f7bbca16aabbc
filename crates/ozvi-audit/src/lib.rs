//! `ozvi-audit`: checks, without trusting the operator or us, that an Ozvi
//! relay holds only ciphertext and fixed-shape metadata, that its logs name
//! no one, that it serves the published web client, and that its directory
//! is signed by the operator's root key.
//!
//! Every check is written from the documents, not from the relay's code:
//! the record layouts of docs/API.md ("What is stored") and the envelope
//! format of docs/PROTOCOL.md (parsed with `ozvi-crypto`'s format layer,
//! which opens nothing).
//!
//! # Layout
//!
//! - [`report`]: what was checked and what failed, as text or JSON.
//! - [`store`]: every tree and record of a relay export or stopped data dir,
//!   or every table and row of a relay's PostgreSQL database.
//! - [`random`]: whether ciphertext, hashes and nonces look uniformly random.
//! - [`text`]: whether any stretch of bytes reads as text in a common
//!   encoding, with a proven false-alarm bound.
//! - [`canary`]: known plaintext in its common encodings, normal forms and
//!   cases.
//! - [`logs`]: addresses, user agents, ids, codes and canaries in logs.
//! - [`web`]: the served page against the published `SHA256SUMS`, and the
//!   security headers.
//! - [`directory`]: the served directory under the operator's root key.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod canary;
pub mod directory;
pub mod logs;
pub mod random;
pub mod report;
pub mod store;
pub mod text;
pub mod web;
