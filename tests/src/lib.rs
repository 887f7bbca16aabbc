//! Ozvi's shared test harness, and (in `tests/`) the stories that span
//! crates.
//!
//! Every crate's integration tests and benchmarks build their world from
//! here instead of writing it again, as rustls-test serves rustls:
//!
//! - [`cast`]: an operator's root key, centres and their staff, the signed
//!   directory (Zlín, and Zlín with Praha), people with fixed keys (the one
//!   module without the `harness` feature: it builds for wasm32, for the
//!   tests of ozvi-web inside WebAssembly);
//! - [`relay`]: a relay in the test's process ([`relay::Relay`], sled on a
//!   temporary folder, an optional hand-moved clock) or the real
//!   `ozvi-relay` binary ([`relay::RelayProcess`], its log captured);
//! - [`http`]: the HTTP client (with the TLS provider chosen), one bound to
//!   a given loopback address, and [`http::Http`], which holds every answer
//!   against the API's definition;
//! - [`person`]: a person who writes with `ozvi-crypto` as her page does;
//! - [`desk`]: the `ozvi-desk` binary, an operator's folder driven through
//!   `ozvi-desk admin`, staff desks;
//! - [`programs`]: the workspace's binaries, Node.js browser scripts, the
//!   repository's folders;
//! - [`smtp`]: a real SMTP server process on loopback (STARTTLS, a login),
//!   whose accepted mail the test reads;
//! - [`postgres`]: a throw-away PostgreSQL server (Debian's package) in a
//!   temporary folder, for the relay's PostgreSQL store.
//!
//! The cross-crate stories in `tests/` (the person's page in Chromium with
//! the desk and the auditor, the page's fetch layer against the OpenAPI
//! document) use the same pieces.
#![forbid(unsafe_code)]
// A test harness: a failure is the test's failure, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod cast;
#[cfg(feature = "harness")]
pub mod desk;
#[cfg(feature = "harness")]
pub mod http;
#[cfg(feature = "harness")]
pub mod person;
#[cfg(feature = "harness")]
pub mod postgres;
#[cfg(feature = "harness")]
pub mod programs;
#[cfg(feature = "harness")]
pub mod relay;
#[cfg(feature = "harness")]
pub mod smtp;
