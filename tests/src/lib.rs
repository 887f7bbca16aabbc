//! Cross-crate end-to-end tests of Ozvi live in this crate's `tests/`
//! directory: the relay with the desk, the browser client in headless
//! Chromium, the auditor's tool against a real store. Each crate keeps its
//! own unit and integration tests; only what spans crates belongs here.
#![forbid(unsafe_code)]
