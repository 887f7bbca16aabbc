//! The shared engine of [`super::Limits`]: several relays on one PostgreSQL
//! database (issue 16) count and spend in the database's admission tables
//! (`crates/ozvi-relay/migrations/0001_records.sql`: `admission_keys`,
//! `spent_challenges`, `rate_counters`, `centre_creations`), so that:
//!
//! - a solved challenge is accepted once, on whichever relay it reaches
//!   first, and refused on every relay after that (`spent_challenges`);
//! - a challenge issued by one relay is verified by every other: its MAC key
//!   is the database's key of its 600-second generation (`admission_keys`
//!   kind 1), made by the first relay that issues in that generation;
//! - one address is one client everywhere: its tag is HMAC-SHA256 under the
//!   database's key of the clock hour (`admission_keys` kind 2), the same on
//!   every relay, and its requests, creation challenges and creations are
//!   counted in `rate_counters` by that tag, whichever relay they reach;
//! - the price of a creation rises with the creations of every relay
//!   (`centre_creations`).
//!
//! Each check is one statement (an upsert that counts and decides at once:
//! `... ON CONFLICT DO UPDATE SET hits = hits + 1 WHERE hits < limit
//! RETURNING`), so two relays cannot both let the last request of a window
//! through. Each relay keeps a copy of the keys, read again every minute;
//! the first request of each minute deletes what has expired
//! ([`Shared::sweep`]).
//!
//! A crash of the database empties these UNLOGGED tables together: counts
//! start again, and every challenge out then is refused (its key is gone
//! with its spent id, and a spend checks that the key it verified with is
//! still the database's). For at most a minute after, relays that still
//! hold the old keys count a client under another tag than the rest, and
//! issue challenges the others refuse (the page fetches a new one).
//!
//! # What the database learns
//!
//! Never an address. With the relays' `admission_secret` set (as it should
//! be: docs/OPERATIONS.md), every key the database holds is mixed with that
//! secret before use ([`Shared::keyed`]), so the database alone can neither
//! link a tag to an address (by trying every IPv4 address under the stored
//! key) nor mint a challenge; what follows then needs the secret too.
//! Without it, for the current hour it holds that hour's address key
//! and, per tag, how many requests (this minute), creation challenges and
//! creations (this hour) it made; so whoever reads the database during the
//! hour, and knows an address, can compute its tag and see its counts, as
//! whoever reads the in-memory relay's memory can. At the end of the hour
//! the key and the counters are deleted together, so the tags left in any
//! copy taken later can no longer be linked to an address. Also: each
//! thread's mailbox id with its posts this minute (the mailbox id is in
//! `threads` anyway), each centre's creations per hour for two hours (the
//! per-centre figure the metrics show), the random ids of challenges spent
//! in the last 20 minutes, and the challenge keys of those minutes.
//!
//! The tables are UNLOGGED: their rows never reach the WAL, a WAL archive,
//! a replica or a base backup (`pg_basebackup` leaves them out). A deleted
//! row's bytes stay in the table's file until PostgreSQL reuses the space
//! (vacuum); `pg_dump` copies UNLOGGED tables' current rows unless given
//! `--no-unlogged-table-data` (docs/API.md, "What is stored").
//!
//! # Costs
//!
//! One round trip per request (the address count), one more per challenge
//! issued or spent, per creation and per post. A client over its limit for
//! the minute is refused from memory for the rest of that minute (a count
//! never falls within its window), so a flood from one address stops
//! reaching the database: the attacker's requests get cheaper to refuse,
//! nobody else's get refused.
//!
//! # Clocks
//!
//! Windows are clock minutes and hours of each relay's own clock; the
//! relays must keep time together (NTP), as staff request timestamps
//! already require. Skewed clocks split a window at its edge (a client may
//! get a little more at the turn of a minute), never refuse a stranger.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use deadpool_postgres::{Object, PoolError};
use tokio_postgres::error::SqlState;

use super::{
    Admission, CHALLENGE_TTL_SECS, Presented, Purpose, Reservation, address_tag,
    generation_dead_at, make_challenge, random_key,
};
use crate::store::StoreError;
use crate::store::postgres::{PgError, Pool, describe, tokio_postgres};

/// `admission_keys.kind` of a challenge generation's MAC key.
const CHALLENGE_KEY: i16 = 1;
/// `admission_keys.kind` of an hour's address key.
const ADDRESS_KEY: i16 = 2;

/// `rate_counters.scope`: requests per address per minute.
const REQUESTS: i16 = 1;
/// `rate_counters.scope`: posts per thread per minute.
const POSTS: i16 = 2;
/// `rate_counters.scope`: creation challenges per address per hour.
const CHALLENGES: i16 = 3;
/// `rate_counters.scope`: creations per address per hour.
const CREATIONS: i16 = 4;

/// Most (scope, subject) pairs remembered as refused for the current
/// minute; past it a refusal is asked of the database again (correct, only
/// dearer).
const MAX_REFUSED: usize = 100_000;

/// Counts one hit in a window if it stays within the limit: a row back if
/// counted, none if the window is full.
const HIT_WITHIN: &str = "INSERT INTO rate_counters AS r (scope, subject, window_start, hits) \
     VALUES ($1, $2, $3, 1) \
     ON CONFLICT (scope, subject, window_start) DO UPDATE SET hits = r.hits + 1 \
     WHERE r.hits < $4 \
     RETURNING r.hits";

/// Counts a creation challenge and reads the busiest centre's estimated
/// creations over the last hour: this hour's, plus the previous hour's
/// weighted by the part of it still within the last hour ($3 = seconds
/// left of this hour), as the in-memory engine's `CentreRates::busiest`.
const COUNT_CHALLENGE: &str = "WITH hit AS ( \
         INSERT INTO rate_counters AS r (scope, subject, window_start, hits) \
         VALUES ($4::smallint, $1, $2::bigint, 1) \
         ON CONFLICT (scope, subject, window_start) \
         DO UPDATE SET hits = least(r.hits + 1, 4294967295) \
         RETURNING r.hits \
     ), rates AS ( \
         SELECT max(created) FILTER (WHERE hour_start = $2::bigint) AS current, \
                max(created) FILTER (WHERE hour_start = $2::bigint - 3600) AS previous \
         FROM centre_creations \
         WHERE hour_start IN ($2::bigint, $2::bigint - 3600) \
         GROUP BY centre \
     ) \
     SELECT (SELECT hits FROM hit), \
            (SELECT coalesce(max(coalesce(current, 0) \
                                 + coalesce(previous, 0) * $3::bigint / 3600), 0)::bigint \
             FROM rates)";

/// Gives back one counted creation.
const RELEASE: &str = "UPDATE rate_counters SET hits = hits - 1 \
     WHERE scope = $3 AND subject = $1 AND window_start = $2 AND hits > 0";

/// Counts a thread created at a centre.
const RECORD: &str = "INSERT INTO centre_creations AS c (centre, hour_start, created) \
     VALUES ($1, $2, 1) \
     ON CONFLICT (centre, hour_start) DO UPDATE SET created = least(c.created + 1, 4294967295)";

/// Spends a challenge id: one row inserted if it was not spent and the key
/// that verified it ($4, of generation $3) is still the database's (not a
/// relay's copy of a key lost with the spent ids in a crash).
const SPEND: &str = "INSERT INTO spent_challenges (challenge_id, forget_at) \
     SELECT $1, $2 WHERE EXISTS ( \
         SELECT 1 FROM admission_keys WHERE kind = $5 AND period = $3 AND key = $4 \
     ) \
     ON CONFLICT DO NOTHING";

/// Makes a key for a period unless a relay made it first.
const MAKE_KEY: &str = "INSERT INTO admission_keys (kind, period, key, forget_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// Reads a period's key.
const READ_KEY: &str = "SELECT key FROM admission_keys WHERE kind = $1 AND period = $2";

/// Deletes what has expired: $1 this minute's start, $2 this hour's, $3 now.
const SWEEP: &str = "WITH counters AS ( \
         DELETE FROM rate_counters \
         WHERE window_start < CASE WHEN scope <= 2 THEN $1::bigint ELSE $2::bigint END \
     ), spent AS ( \
         DELETE FROM spent_challenges WHERE forget_at <= $3::bigint \
     ), centres AS ( \
         DELETE FROM centre_creations WHERE hour_start < $2::bigint - 3600 \
     ), keys AS ( \
         DELETE FROM admission_keys WHERE forget_at <= $3::bigint \
     ) \
     SELECT 1";

/// What this relay keeps in memory of the shared state.
struct Local {
    /// The address key of one hour, as the database has it.
    address_key: Option<(u64, [u8; 32])>,
    /// Challenge keys by generation, as the database has them (only the
    /// generations whose challenges may still be alive).
    challenge_keys: BTreeMap<u64, [u8; 32]>,
    /// The minute (Unix time / 60) in which the keys above were read: they
    /// are read again in the next (see [`Shared::cached`]).
    keys_minute: u64,
    /// The minute (Unix time / 60) `refused` is about.
    refused_minute: u64,
    /// (scope, subject) pairs whose window of `refused_minute` is full.
    refused: HashSet<(i16, [u8; 16])>,
    /// The last minute in which a sweep was started.
    swept_minute: u64,
}

/// The shared engine.
pub(super) struct Shared {
    pool: Pool,
    local: Mutex<Local>,
    /// The relays' `admission_secret`, mixed into every key the database
    /// holds before it is used ([`Shared::keyed`]); `None` uses the
    /// database's keys as they are (and the relay warns at start).
    secret: Option<zeroize::Zeroizing<[u8; 32]>>,
}

/// A whole minute's start, as the database stores times.
fn minute_start(now: u64) -> i64 {
    as_i64(now - now % 60)
}

/// A clock hour's start.
fn hour_start(now: u64) -> i64 {
    as_i64(now - now % 3600)
}

/// A time or count as a bigint (Unix seconds stay far below 2^63).
fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A database error as the store's: the server or the connection gone
/// (or going) is `Unavailable`; anything else (a statement the schema
/// refuses) a `Backend` failure. Only the server's message is kept, never
/// its detail (which could quote a row).
fn db_error(error: &tokio_postgres::Error) -> StoreError {
    let gone = error.is_closed()
        || error.as_db_error().is_none()
        || error.code().is_some_and(|code| {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                ]
                .contains(code)
        });
    if gone {
        StoreError::Unavailable(describe(error))
    } else {
        StoreError::Backend(describe(error))
    }
}

/// No connection from the pool: the database cannot be reached now.
fn pool_error(error: &PoolError) -> StoreError {
    match error {
        PoolError::Backend(e) => db_error(e),
        PoolError::Timeout(_) => {
            StoreError::Unavailable("timed out waiting for the database".into())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// A key column's value: exactly 32 bytes (the schema checks it).
fn key_of(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt)
}

impl Shared {
    /// Checks that the database has the admission tables by reading (or
    /// making) the keys `now` needs.
    pub(super) async fn open(
        pool: Pool,
        secret: Option<zeroize::Zeroizing<[u8; 32]>>,
        now: u64,
    ) -> Result<Self, PgError> {
        let shared = Self {
            pool,
            secret,
            local: Mutex::new(Local {
                address_key: None,
                challenge_keys: BTreeMap::new(),
                keys_minute: now / 60,
                refused_minute: now / 60,
                refused: HashSet::new(),
                swept_minute: 0,
            }),
        };
        let ready = async {
            shared.address_key(now, true).await?;
            shared
                .challenge_key(now / CHALLENGE_TTL_SECS, now, true)
                .await
        };
        match ready.await {
            Ok(_) => Ok(shared),
            Err(StoreError::Unavailable(cause)) => Err(PgError::Connect(cause)),
            Err(e) => Err(PgError::Database(format!("admission tables: {e:?}"))),
        }
    }

    /// The key to use for a key the database holds: HMAC-SHA256 under
    /// the relays' secret of a label, the key's kind and the stored key.
    /// Whoever reads only the database (a dump, its files, its
    /// administrator) then cannot link an hour's tags to addresses by
    /// trying all 2^32 IPv4 addresses, nor mint a challenge; whoever has
    /// only the secret lacks the stored keys, which are deleted after their
    /// time.
    fn keyed(&self, kind: i16, stored: [u8; 32]) -> [u8; 32] {
        match &self.secret {
            None => stored,
            Some(secret) => {
                let mut mac =
                    <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(secret.as_slice())
                        .expect("HMAC takes any key length");
                hmac::Mac::update(&mut mac, b"ozvi/v1/relay-admission-key");
                hmac::Mac::update(&mut mac, &kind.to_be_bytes());
                hmac::Mac::update(&mut mac, &stored);
                hmac::Mac::finalize(mac).into_bytes().into()
            }
        }
    }

    fn local(&self) -> MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The local state, its keys forgotten if they were read before `now`'s
    /// minute. A crash of the database empties its UNLOGGED tables, keys
    /// included, and the next relay to need a key makes a new one: reading
    /// them again every minute bounds how long relays disagree after that
    /// (a client counted under two tags, challenges issued under a key the
    /// others do not know) to a minute. Spending never trusts this copy
    /// alone: it checks the key is still the database's ([`SPEND`]).
    fn cached(&self, now: u64) -> MutexGuard<'_, Local> {
        let mut local = self.local();
        if local.keys_minute != now / 60 {
            local.keys_minute = now / 60;
            local.address_key = None;
            local.challenge_keys.clear();
        }
        local
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| self.failed(pool_error(&e)))
    }

    /// `error`, after forgetting the keys if the database was lost: it may
    /// come back emptied by a crash, with new keys (see [`Shared::cached`]).
    fn failed(&self, error: StoreError) -> StoreError {
        if matches!(error, StoreError::Unavailable(_)) {
            let mut local = self.local();
            local.address_key = None;
            local.challenge_keys.clear();
        }
        error
    }

    /// A period's key: the one in the database, made now if `make` and no
    /// relay made it yet. `None` if there is none and `make` is false.
    async fn stored_key(
        &self,
        kind: i16,
        period: u64,
        forget_at: u64,
        make: bool,
    ) -> Result<Option<[u8; 32]>, StoreError> {
        let client = self.client().await?;
        let period = as_i64(period);
        if make {
            let statement = client
                .prepare_cached(MAKE_KEY)
                .await
                .map_err(|e| self.failed(db_error(&e)))?;
            let fresh = random_key();
            client
                .execute(
                    &statement,
                    &[&kind, &period, &fresh.as_slice(), &as_i64(forget_at)],
                )
                .await
                .map_err(|e| self.failed(db_error(&e)))?;
        }
        // A separate statement: it sees the row of a relay whose insert
        // ours waited for.
        let statement = client
            .prepare_cached(READ_KEY)
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        let row = client
            .query_opt(&statement, &[&kind, &period])
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        row.map(|row| {
            row.try_get::<_, &[u8]>(0)
                .map_err(|_| StoreError::Corrupt)
                .and_then(key_of)
        })
        .transpose()
    }

    /// The address key of `now`'s hour (made if `make` and missing).
    async fn address_key(&self, now: u64, make: bool) -> Result<Option<[u8; 32]>, StoreError> {
        let hour = now / 3600;
        if let Some((cached, key)) = self.cached(now).address_key
            && cached == hour
        {
            return Ok(Some(key));
        }
        let key = self
            .stored_key(ADDRESS_KEY, hour, (hour + 1) * 3600, make)
            .await?;
        if let Some(key) = key {
            let mut local = self.local();
            // Keep the newest hour's (a late reply for an older hour, or
            // a release for a past one, does not replace it).
            if local.address_key.is_none_or(|(cached, _)| cached < hour) {
                local.address_key = Some((hour, key));
            }
        }
        Ok(key)
    }

    /// The tag of `address` in `now`'s hour (its key made if missing).
    async fn tag(&self, address: IpAddr, now: u64) -> Result<[u8; 16], StoreError> {
        let key = self
            .address_key(now, true)
            .await?
            .ok_or_else(|| StoreError::Backend("admission: no address key".into()))?;
        Ok(address_tag(&self.keyed(ADDRESS_KEY, key), address))
    }

    /// The MAC key of a generation of challenges (made if `make` and
    /// missing).
    async fn challenge_key(
        &self,
        generation: u64,
        now: u64,
        make: bool,
    ) -> Result<Option<[u8; 32]>, StoreError> {
        if let Some(key) = self.cached(now).challenge_keys.get(&generation) {
            return Ok(Some(*key));
        }
        let key = self
            .stored_key(
                CHALLENGE_KEY,
                generation,
                generation_dead_at(generation),
                make,
            )
            .await?;
        if let Some(key) = key {
            let mut local = self.local();
            local.challenge_keys.insert(generation, key);
            // Keep only generations that can still be alive: the newest
            // one's and the one before.
            let newest = local
                .challenge_keys
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0);
            local
                .challenge_keys
                .retain(|g, _| g.saturating_add(1) >= newest);
        }
        Ok(key)
    }

    /// Whether (scope, subject) is known to be over its limit this minute.
    fn known_refused(&self, scope: i16, subject: &[u8; 16], now: u64) -> bool {
        let mut local = self.local();
        if local.refused_minute != now / 60 {
            local.refused_minute = now / 60;
            local.refused.clear();
        }
        local.refused.contains(&(scope, *subject))
    }

    fn remember_refused(&self, scope: i16, subject: &[u8; 16], now: u64) {
        let mut local = self.local();
        if local.refused_minute == now / 60 && local.refused.len() < MAX_REFUSED {
            local.refused.insert((scope, *subject));
        }
    }

    /// Counts a hit of `subject` in its `scope` window starting at
    /// `window`; false (nothing counted) if the window holds `limit`.
    async fn hit(
        &self,
        scope: i16,
        subject: &[u8; 16],
        window: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let client = self.client().await?;
        let statement = client
            .prepare_cached(HIT_WITHIN)
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        let row = client
            .query_opt(
                &statement,
                &[&scope, &subject.as_slice(), &window, &i64::from(limit)],
            )
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        Ok(row.is_some())
    }

    /// A per-minute limit (requests, posts): refused from memory once the
    /// database said the window is full.
    async fn hit_per_minute(
        &self,
        scope: i16,
        subject: &[u8; 16],
        now: u64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        if self.known_refused(scope, subject, now) {
            return Ok(false);
        }
        let allowed = self.hit(scope, subject, minute_start(now), limit).await?;
        if !allowed {
            self.remember_refused(scope, subject, now);
        }
        Ok(allowed)
    }

    /// Starts this minute's sweep if no request of this relay has yet; a
    /// failure is logged (the request's own check reports an outage).
    async fn sweep_once_a_minute(&self, now: u64) {
        {
            let mut local = self.local();
            if local.swept_minute >= now / 60 {
                return;
            }
            local.swept_minute = now / 60;
        }
        if let Err(e) = self.sweep(now).await {
            tracing::warn!(error = %e, "admission: expired counters could not be deleted");
        }
    }

    pub(super) async fn allow_address(
        &self,
        address: IpAddr,
        now: u64,
        per_minute: u32,
    ) -> Result<bool, StoreError> {
        self.sweep_once_a_minute(now).await;
        let tag = self.tag(address, now).await?;
        self.hit_per_minute(REQUESTS, &tag, now, per_minute).await
    }

    pub(super) async fn allow_thread_post(
        &self,
        mailbox: &[u8; 16],
        now: u64,
        per_minute: u32,
    ) -> Result<bool, StoreError> {
        self.hit_per_minute(POSTS, mailbox, now, per_minute).await
    }

    pub(super) async fn create_difficulty(
        &self,
        client: IpAddr,
        now: u64,
        admission: Admission,
    ) -> Result<u8, StoreError> {
        if admission.base == 0 {
            return Ok(0);
        }
        let tag = self.tag(client, now).await?;
        let connection = self.client().await?;
        let statement = connection
            .prepare_cached(COUNT_CHALLENGE)
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        let left_of_hour = as_i64(3600 - now % 3600);
        let row = connection
            .query_one(
                &statement,
                &[
                    &tag.as_slice(),
                    &hour_start(now),
                    &left_of_hour,
                    &CHALLENGES,
                ],
            )
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        // try_get: a NULL or another type is a corrupt answer, not a panic.
        let hits: i64 = row.try_get(0).map_err(|_| StoreError::Corrupt)?;
        let busiest: i64 = row.try_get(1).map_err(|_| StoreError::Corrupt)?;
        let before = u64::try_from(hits.saturating_sub(1)).unwrap_or(0);
        let busiest = u64::try_from(busiest).unwrap_or(0);
        Ok(admission.price(busiest, admission.client_bits(before)))
    }

    pub(super) async fn reserve_creation(
        &self,
        client: IpAddr,
        now: u64,
        per_hour: u32,
    ) -> Result<Reservation, StoreError> {
        let tag = self.tag(client, now).await?;
        Ok(
            if self.hit(CREATIONS, &tag, hour_start(now), per_hour).await? {
                Reservation::Counted
            } else {
                Reservation::Refused
            },
        )
    }

    pub(super) async fn release_creation(
        &self,
        client: IpAddr,
        now: u64,
        reservation: Reservation,
    ) -> Result<(), StoreError> {
        if reservation != Reservation::Counted {
            return Ok(());
        }
        // An hour whose key is gone has no counters left to give back to.
        let Some(key) = self.address_key(now, false).await? else {
            return Ok(());
        };
        let tag = address_tag(&self.keyed(ADDRESS_KEY, key), client);
        let connection = self.client().await?;
        let statement = connection
            .prepare_cached(RELEASE)
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        connection
            .execute(&statement, &[&tag.as_slice(), &hour_start(now), &CREATIONS])
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        Ok(())
    }

    pub(super) async fn record_creation(&self, centre: &str, now: u64) -> Result<(), StoreError> {
        let connection = self.client().await?;
        let statement = connection
            .prepare_cached(RECORD)
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        connection
            .execute(&statement, &[&centre, &hour_start(now)])
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        Ok(())
    }

    pub(super) async fn issue_challenge(
        &self,
        purpose: Purpose,
        difficulty: u8,
        now: u64,
    ) -> Result<String, StoreError> {
        let key = self
            .challenge_key(now / CHALLENGE_TTL_SECS, now, true)
            .await?
            .ok_or_else(|| StoreError::Backend("admission: no challenge key".into()))?;
        Ok(make_challenge(
            &self.keyed(CHALLENGE_KEY, key),
            purpose,
            difficulty,
            now,
        ))
    }

    /// Checks what needs no database first (layout, time, difficulty, the
    /// solution: a forged challenge costs its sender the work before it
    /// costs the database a read), then the MAC under its generation's key,
    /// then spends its id.
    pub(super) async fn spend_challenge(
        &self,
        challenge_b64: &str,
        nonce: u64,
        purpose: Purpose,
        min_difficulty: u8,
        now: u64,
    ) -> Result<bool, StoreError> {
        let Some(challenge) = Presented::parse(challenge_b64, purpose) else {
            return Ok(false);
        };
        if !challenge.timely(now, min_difficulty) || !challenge.solved(nonce) {
            return Ok(false);
        }
        let generation = challenge.generation();
        let Some(key) = self.challenge_key(generation, now, false).await? else {
            return Ok(false);
        };
        if !challenge.authentic(&self.keyed(CHALLENGE_KEY, key)) {
            return Ok(false);
        }
        let connection = self.client().await?;
        let statement = connection
            .prepare_cached(SPEND)
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        let inserted = connection
            .execute(
                &statement,
                &[
                    &challenge.id.as_slice(),
                    &as_i64(generation_dead_at(generation)),
                    &as_i64(generation),
                    &key.as_slice(),
                    &CHALLENGE_KEY,
                ],
            )
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        Ok(inserted == 1)
    }

    /// Deletes past windows' counters, hours' address keys, and dead
    /// challenges' keys and spent ids (see the module doc).
    pub(super) async fn sweep(&self, now: u64) -> Result<(), StoreError> {
        let connection = self.client().await?;
        let statement = connection
            .prepare_cached(SWEEP)
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        connection
            .execute(
                &statement,
                &[&minute_start(now), &hour_start(now), &as_i64(now)],
            )
            .await
            .map_err(|e| self.failed(db_error(&e)))?;
        Ok(())
    }
}
