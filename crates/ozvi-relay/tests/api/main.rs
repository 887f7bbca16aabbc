//! The relay's integration tests: one binary, each test with its own relay on
//! port 0 and its own store: sled in a temporary directory, or with
//! `OZVI_TEST_STORE=postgres` a fresh database of a PostgreSQL server the
//! test process shares (`ozvi_tests::relay::TestStore`). The few tests that
//! open the sled store themselves say so and are skipped on PostgreSQL.

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
