//! Versioned schema migrations: numbered SQL files under
//! `crates/ozvi-relay/migrations/`, embedded in the relay, applied in order
//! at start. A released file is never edited; a change is the next number.
//!
//! The database records each applied migration in `ozvi_schema` (version,
//! name, SHA-256 of its text). At start, under a transaction-scoped advisory
//! lock (two relays starting together apply a migration once), the relay:
//! 1. refuses a database that records a version newer than it knows
//!    ([`PgError::SchemaTooNew`]): an older relay must not write records
//!    whose meaning changed;
//! 2. refuses one whose applied migration differs from its own copy, or that
//!    it does not know ([`PgError::MigrationChanged`]);
//! 3. applies the rest, all in the same transaction: every pending
//!    migration is kept, or none is.

use deadpool_postgres::Object;
use sha2::{Digest as _, Sha256};

use super::{PgError, Secret, describe};

/// One numbered migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number, from 1, without gaps.
    pub version: u32,
    /// Its file name under `migrations/`.
    pub name: &'static str,
    /// The SQL, as released.
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_records.sql",
    sql: include_str!("../../../migrations/0001_records.sql"),
}];

/// The schema version this relay writes: the last migration's number.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The advisory lock that serialises migrating relays ("ozvi" in ASCII).
const LOCK: i64 = 0x6f7a_7669;

/// The record of applied migrations (made by the relay, not by a migration,
/// so that it exists before the first one runs).
const SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS ozvi_schema (
    version integer PRIMARY KEY CHECK (version >= 1),
    name    text    NOT NULL,
    sha256  bytea   NOT NULL CHECK (octet_length(sha256) = 32)
)";

/// A migration's SHA-256, as `ozvi_schema` records it.
pub fn digest(migration: &Migration) -> [u8; 32] {
    Sha256::digest(migration.sql.as_bytes()).into()
}

/// Brings the schema up to [`SCHEMA_VERSION`] (see the module's doc);
/// returns the migrations it applied.
pub(super) async fn apply(client: &mut Object, secret: &Secret) -> Result<Vec<u32>, PgError> {
    let failed = |e: tokio_postgres::Error| PgError::Database(secret.redact(describe(&e)));
    let transaction = client.transaction().await.map_err(failed)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(failed)?;
    transaction
        .batch_execute(SCHEMA_TABLE)
        .await
        .map_err(failed)?;
    let rows = transaction
        .query(
            "SELECT version, sha256 FROM ozvi_schema ORDER BY version",
            &[],
        )
        .await
        .map_err(failed)?;
    let mut recorded = Vec::with_capacity(rows.len());
    for row in rows {
        let version: i32 = row.try_get(0).map_err(failed)?;
        let sha256: Vec<u8> = row.try_get(1).map_err(failed)?;
        // The column's CHECK keeps it >= 1.
        let version =
            u32::try_from(version).map_err(|_| PgError::MigrationChanged { version: 0 })?;
        recorded.push((version, sha256));
    }
    if let Some(&(found, _)) = recorded.last()
        && found > SCHEMA_VERSION
    {
        return Err(PgError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (version, sha256) in &recorded {
        let ours = MIGRATIONS.iter().find(|m| m.version == *version);
        if ours.is_none_or(|m| digest(m).as_slice() != sha256.as_slice()) {
            return Err(PgError::MigrationChanged { version: *version });
        }
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        if recorded.iter().any(|(v, _)| *v == migration.version) {
            continue;
        }
        let version = migration.version;
        let failed_migration = |e: tokio_postgres::Error| PgError::Migration {
            version,
            cause: secret.redact(describe(&e)),
        };
        transaction
            .batch_execute(migration.sql)
            .await
            .map_err(failed_migration)?;
        let number = i32::try_from(version).map_err(|_| PgError::MigrationChanged { version })?;
        transaction
            .execute(
                "INSERT INTO ozvi_schema (version, name, sha256) VALUES ($1, $2, $3)",
                &[&number, &migration.name, &digest(migration).as_slice()],
            )
            .await
            .map_err(failed_migration)?;
        applied.push(version);
    }
    transaction.commit().await.map_err(failed)?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, i + 1, "{}", migration.name);
            assert!(
                migration
                    .name
                    .starts_with(&format!("{:04}_", migration.version)),
                "{}",
                migration.name
            );
        }
    }

    /// A released migration is never edited: its SHA-256 is written here
    /// by hand when it is released, and a database migrated with the old
    /// text would refuse the new relay. Add a migration instead.
    #[test]
    fn released_migrations_are_unchanged() {
        let released: &[(u32, &str)] = &[(
            1,
            "9a5cf9ee21dec6673686667b9edd9097a929c1e7570d4eb807fa2b3244e82454",
        )];
        for (version, hex) in released {
            let migration = MIGRATIONS
                .iter()
                .find(|m| m.version == *version)
                .expect("a released migration stays in the list");
            let actual: String = digest(migration)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(&actual, hex, "migration {} was edited", migration.name);
        }
    }

    #[test]
    fn the_file_bucket_check_lists_every_blob_length() {
        let sql = MIGRATIONS[0].sql;
        for length in ozvi_crypto::protocol::file::BLOB_LENGTHS {
            assert!(sql.contains(&length.to_string()), "{length} is missing");
        }
        let longest = ozvi_crypto::format::envelope::MAX_ENVELOPE_LEN;
        assert!(sql.contains(&format!("BETWEEN 2 AND {longest}")));
    }
}
