//! The PostgreSQL store's foundation (issue 16): a connection pool from a
//! URL, and the schema, applied at start by numbered migrations.
//!
//! [`connect`] parses the URL, builds a `deadpool-postgres` pool of
//! `tokio-postgres` connections, takes one connection, and under an advisory
//! lock (so relays that start together do not race) brings the schema up to
//! [`SCHEMA_VERSION`]: every migration the database has not recorded is
//! applied, all of them in one transaction. A database whose recorded schema
//! is newer than this relay knows, or whose applied migration differs from
//! this relay's copy, is refused ([`migrations`] says how).
//!
//! The schema (`crates/ozvi-relay/migrations/0001_records.sql`) mirrors the
//! sled store's records ([`super`], docs/API.md "What is stored") with
//! CHECK constraints on every fixed shape, so the database itself refuses a
//! malformed record; and adds what several relays on one database share:
//! spent staff nonces and admission's
//! UNLOGGED tables (proof-of-work keys and spent challenges, rate-limit
//! counters: [`crate::admission::shared`]).
//!
//! Errors ([`PgError`]) never carry the URL or its password: a cause is the
//! server's message or the client's reason, and is searched for the
//! password before it is kept.

pub mod export;
pub mod migrations;
pub mod relays;
mod store;

pub use relays::{Link, Relays};
pub use store::PgStore;

use std::time::Duration;

pub use deadpool_postgres::Pool;
/// The PostgreSQL client, for the store and its tests.
pub use deadpool_postgres::tokio_postgres;

use deadpool_postgres::{Manager, ManagerConfig, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use zeroize::Zeroizing;

pub use migrations::SCHEMA_VERSION;

/// Why the relay could not use its PostgreSQL database. Never contains the
/// database URL or its password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The URL is not a PostgreSQL connection URL. (No detail: the parser's
    /// message could quote the URL.)
    #[error(
        "the database URL is not a valid PostgreSQL URL \
         (postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
    )]
    Url,
    /// The server could not be reached, or refused the connection (down,
    /// wrong host or port, wrong password, no such database).
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// The database's schema was written by a newer relay.
    #[error(
        "the database's schema is version {found}, newer than this relay's {known}: run the \
         relay version that migrated it (or newer), or restore a backup taken before"
    )]
    SchemaTooNew {
        /// The newest version the database records.
        found: u32,
        /// The newest this relay knows ([`SCHEMA_VERSION`]).
        known: u32,
    },
    /// A migration the database records differs from this relay's copy, or
    /// is unknown to it: a released migration was edited, or the database
    /// was migrated by another program.
    #[error(
        "the database records schema migration {version} differently from this relay: \
         released migrations are never edited; restore the database or use the relay \
         that migrated it"
    )]
    MigrationChanged {
        /// The migration's number.
        version: u32,
    },
    /// Applying a migration failed; nothing of it was kept.
    #[error("schema migration {version} failed: {cause}")]
    Migration {
        /// The migration's number.
        version: u32,
        /// The server's message.
        cause: String,
    },
    /// Another database failure.
    #[error("database error: {0}")]
    Database(String),
    /// The data directory's blob folder cannot be used: it belongs to a
    /// sled store, say (`files::OWNER_FILE`).
    #[error("the data directory: {0}")]
    DataDirectory(String),
}

/// How the pool connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Most connections the pool opens.
    pub max_connections: usize,
    /// How long a connection attempt may take, unless the URL sets
    /// `connect_timeout`; also how long a request waits for a free
    /// connection.
    pub connect_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Connects to the database at `url` with [`Settings::default`], applies
/// the pending migrations, and returns the pool.
pub async fn connect(url: &str) -> Result<Pool, PgError> {
    connect_with(url, Settings::default()).await
}

/// [`connect`] with `settings`.
pub async fn connect_with(url: &str, settings: Settings) -> Result<Pool, PgError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|_| PgError::Url)?;
    let secret = Secret(config.get_password().map(|p| Zeroizing::new(p.to_vec())));
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(settings.connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("ozvi-relay");
    }
    // A peer that vanished (a host down, a path that drops packets) is
    // noticed in about 25 s instead of TCP's two hours; each statement has
    // its own deadline besides (store.rs, `DEADLINE`).
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .keepalives_interval(Duration::from_secs(5))
        .keepalives_retries(3);
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(settings.max_connections.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(settings.connect_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .build()
        .map_err(|_| PgError::Database("cannot build the connection pool".into()))?;
    let mut client = pool
        .get()
        .await
        .map_err(|e| PgError::Connect(secret.redact(pool_cause(&e))))?;
    migrations::apply(&mut client, &secret).await?;
    Ok(pool)
}

/// What a client error says, without anything of the row or the query: the
/// server's severity and message (never its DETAIL, which quotes the
/// row's values), or the client's reason (refused, timed out).
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match (error.as_db_error(), error.source()) {
        (Some(db), _) => format!("{}: {}", db.severity(), db.message()),
        // The client's reason and its cause (an I/O error: "Connection
        // refused"), which its Display leaves out.
        (None, Some(source)) => format!("{error}: {source}"),
        (None, None) => error.to_string(),
    }
}

/// [`describe`] for a pool error.
fn pool_cause(error: &PoolError) -> String {
    match error {
        PoolError::Backend(e) => describe(e),
        PoolError::Timeout(_) => "timed out waiting for the server".into(),
        other => other.to_string(),
    }
}

/// The URL's password, to cut out of any message before it is kept.
pub(crate) struct Secret(Option<Zeroizing<Vec<u8>>>);

impl Secret {
    /// `text` with every occurrence of the password replaced.
    pub(crate) fn redact(&self, text: String) -> String {
        match self.0.as_deref().and_then(|p| std::str::from_utf8(p).ok()) {
            Some(password) if !password.is_empty() && text.contains(password) => {
                text.replace(password, "[password]")
            }
            _ => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_cut_out_of_messages() {
        let secret = Secret(Some(Zeroizing::new(b"tajne-heslo".to_vec())));
        assert_eq!(
            secret.redact("user x with tajne-heslo failed".into()),
            "user x with [password] failed"
        );
        assert_eq!(
            Secret(Some(Zeroizing::new(Vec::new()))).redact("as is".into()),
            "as is"
        );
        assert_eq!(Secret(None).redact("as is".into()), "as is");
    }

    #[tokio::test]
    async fn a_malformed_url_is_refused_without_quoting_it() {
        for url in [
            "not a url",
            "postgres://ozvi:tajne-heslo@127.0.0.1:notaport/ozvi",
            "postgres://ozvi:tajne-heslo@127.0.0.1/ozvi?sslmode=nonsense",
        ] {
            let error = connect(url).await.expect_err("refused");
            assert!(matches!(error, PgError::Url), "{url}: {error:?}");
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("tajne-heslo"), "{shown}");
        }
    }
}
