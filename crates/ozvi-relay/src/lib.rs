//! The Ozvi relay: holds every conversation as ciphertext, keyed by mailbox
//! ids derived from anonymous codes, and never learns what was written or
//! who wrote it.
//!
//! # Layout
//!
//! - [`admin`]: the local control socket (`ozvi-relay export` while running).
//! - [`client`]: the client's address (behind trusted proxies) and its
//!   rate-limit bucket.
//! - [`config`]: defaults, TOML file, environment and flags.
//! - [`startup`]: builds the state, the app and its middleware (security
//!   headers, the access log without addresses, rate limits); the sweeper.
//! - [`routes`]: the HTTP API (docs/API.md) — public, person, staff, events;
//!   every body, code and route is `ozvi-api`'s.
//! - [`addressing`]: whom an envelope must be sealed to, as the relay checks
//!   it (the rule itself is `ozvi_crypto::protocol::addressing`).
//! - [`store`]: sled trees of fixed-shape records and ciphertext.
//! - [`flusher`]: group commit, so a write is acknowledged only when durable.
//! - [`admission`]: in-memory rate limits, creation budgets and single-use
//!   proof-of-work challenges.
//! - [`streams`]: caps on open event streams.
//! - [`state`], [`error`], [`metrics`]: what handlers share, the relay's
//!   errors (each one `ozvi_api::ErrorCode`), aggregate counters.
#![forbid(unsafe_code)]

pub mod addressing;
pub mod admin;
pub mod admission;
pub mod client;
pub mod config;
pub mod error;
pub mod flusher;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod streams;
