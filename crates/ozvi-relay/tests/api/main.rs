//! The relay's integration tests: one binary, each test with its own relay on
//! port 0 and its own sled store in a temporary directory.

mod admission;
mod files;
mod hardening;
mod helpers;
mod person;
mod proxy;
mod serving;
mod staff;
mod system;
mod transfer;
