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
//! - [`routes`]: the HTTP API (docs/API.md) — public, person, staff, events.
//! - [`checks`]: the relay's rules about whom an envelope must be sealed to.
//! - [`store`]: sled trees of fixed-shape records and ciphertext.
//! - [`flusher`]: group commit, so a write is acknowledged only when durable.
//! - [`limits`]: in-memory rate limits and proof-of-work challenges.
//! - [`streams`]: caps on open event streams.
//! - [`state`], [`error`], [`metrics`]: what handlers share, the API's
//!   error codes, aggregate counters.
#![forbid(unsafe_code)]

pub mod admin;
pub mod checks;
pub mod client;
pub mod config;
pub mod error;
pub mod flusher;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod streams;
