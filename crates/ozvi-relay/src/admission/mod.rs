//! Admission: rate limits and single-use proof-of-work challenges
//! (docs/API.md, "Admission").
//!
//! [`Limits`] has two engines behind one set of methods:
//!
//! - **In memory** ([`Limits::new`], [`memory`]): the default, for one relay
//!   on sled. Nothing is written anywhere; a restart forgets every counter
//!   and changes the challenge key, so a challenge issued before it is
//!   refused after it.
//! - **Shared** ([`Limits::shared`], [`shared`]): for several relays on one
//!   PostgreSQL database (issue 16). Spent challenges, the rate counters and
//!   the keys they need live in the database, so a challenge is spent once
//!   across all relays and one address is counted once however its
//!   requests are spread over the relays.
//!
//! Why one type with two engines rather than a trait: the callers (the
//! rate-limit middleware, the challenge and creation routes) must behave the
//! same on both, and the in-memory engine must stay exactly what it was
//! (its own tests, unchanged, in [`memory`]). The methods are async because
//! the shared engine needs a round trip; the in-memory one answers at once.
//!
//! # Client addresses
//!
//! An address is never kept, by either engine: it is replaced by the first
//! 16 bytes of HMAC-SHA256 under a random key of the clock hour, and the key
//! and every per-address counter are forgotten after that hour, so a stored
//! tag can no longer be linked to an address. The in-memory engine makes
//! the key itself; the shared engine needs the same key on every relay (one
//! address, one tag) and keeps it in the database for its hour only
//! ([`shared`] says exactly what the database learns).
//!
//! # When the database cannot be reached
//!
//! The shared engine fails closed for what an outage could be used to
//! bypass: a challenge, a creation budget, a thread's post limit or a
//! price that needs the database and cannot reach it is an error
//! ([`StoreError::Unavailable`], answered `503 storage_unavailable`), never
//! a pass, and the next request tries again.
//!
//! The per-address request limit ([`Limits::allow_address`], which runs
//! before every route, the page included) is the exception: without the
//! database it counts in this relay's memory alone, as a single relay
//! does; a database that does not answer within 2 s counts as out of
//! reach, and is not asked again for 10 s, so that a hanging database does
//! not make every request wait. The page, its helplines (158, 112 …) and
//! the signed directory need
//! no record, and a frightened person must still see them while the
//! database is down; what does need a record answers 503 on its own, and
//! an attacker gains nothing from the fallback (nothing can be written).
//!
//! The two bookkeeping calls that follow a decision already taken
//! ([`Limits::release_creation`], [`Limits::record_creation`]) log a
//! failure and go on (a lost release counts one creation too many against
//! that client for the hour; a lost record lowers the price a little).

pub mod memory;
pub mod shared;

use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::pow;
use rand_core::Rng as _;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::store::StoreError;
use crate::store::postgres::{PgError, Pool};
use memory::Memory;
use shared::Shared;

type HmacSha256 = Hmac<Sha256>;

/// What a challenge may be spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Creating a thread.
    Create = 1,
    /// Posting a message.
    Post = 2,
}

/// How long a challenge stays valid, in seconds.
pub const CHALLENGE_TTL_SECS: u64 = 600;
/// Length of a challenge: version, purpose, issued-at, difficulty, random, MAC.
const CHALLENGE_LEN: usize = 1 + 1 + 8 + 1 + 16 + 16;

/// The settings adaptive difficulty needs (from [`crate::config::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    /// The quiet price in bits (`pow_difficulty`); 0 turns proof of work off.
    pub base: u8,
    /// The highest price (`pow_max_difficulty`, at most the page's 20).
    pub max: u8,
    /// A centre's hourly creations that still count as quiet.
    pub quiet_per_centre_per_hour: u32,
    /// Threads one client address may create per hour.
    pub per_address_per_hour: u32,
}

impl Admission {
    /// From the relay's configuration.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            base: config.pow_difficulty,
            max: config.pow_max_difficulty,
            quiet_per_centre_per_hour: config.threads_per_centre_per_hour,
            per_address_per_hour: config.threads_per_address_per_hour,
        }
    }

    /// The price of a creation challenge: the quiet price, plus one bit per
    /// doubling of the busiest centre's creations over its quiet rate, plus
    /// the client's own bits (`client_bits`); never above `max`.
    fn price(&self, busiest_centre: u64, client_bits: u8) -> u8 {
        let max = self.max.max(self.base);
        let centre_bits = doublings(busiest_centre, u64::from(self.quiet_per_centre_per_hour));
        self.base
            .saturating_add(centre_bits)
            .saturating_add(client_bits)
            .min(max)
    }

    /// A client's bits for its `before` creation challenges this hour: one
    /// per doubling past its creation budget.
    fn client_bits(&self, before: u64) -> u8 {
        doublings(before, u64::from(self.per_address_per_hour))
    }
}

/// Bits to add for `count` against `quiet`: 0 below it, then one more for
/// every doubling (`quiet` → 1, `2 × quiet` → 2, `4 × quiet` → 3 …).
fn doublings(count: u64, quiet: u64) -> u8 {
    let quiet = quiet.max(1);
    if count < quiet {
        return 0;
    }
    // ilog2 of a u64 is at most 63.
    (count / quiet).ilog2() as u8 + 1
}

/// Whether a creation may go ahead for a client (see [`Limits::reserve_creation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted against the client's hour: release it if the creation fails.
    Counted,
    /// The client is not counted (too many addresses this hour).
    Untracked,
    /// The client used its hourly budget.
    Refused,
}

/// The first 16 bytes of HMAC-SHA256 of `body` under `key`.
fn mac16(key: &[u8; 32], body: &[u8]) -> [u8; 16] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    let full = mac.finalize().into_bytes();
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&full[..16]);
    tag
}

/// The keyed hash that stands for a client address (IPv4 as IPv4-mapped
/// IPv6, so that both spellings of one address get one tag).
fn address_tag(key: &[u8; 32], address: IpAddr) -> [u8; 16] {
    let octets = match address {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    };
    mac16(key, &octets)
}

/// 32 random bytes, for a key.
fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    os_rng().fill_bytes(&mut key);
    key
}

/// A new challenge for `purpose` at `difficulty` issued at `now`, MACed
/// under `key`, as base64url (PROTOCOL.md §10).
fn make_challenge(key: &[u8; 32], purpose: Purpose, difficulty: u8, now: u64) -> String {
    let mut challenge = Vec::with_capacity(CHALLENGE_LEN);
    challenge.push(1);
    challenge.push(purpose as u8);
    challenge.extend_from_slice(&now.to_be_bytes());
    challenge.push(difficulty);
    let mut random = [0u8; 16];
    os_rng().fill_bytes(&mut random);
    challenge.extend_from_slice(&random);
    let tag = mac16(key, &challenge);
    challenge.extend_from_slice(&tag);
    b64::encode(&challenge)
}

/// A challenge as a client presents it, its layout checked (not yet its
/// MAC, time, difficulty or solution).
struct Presented {
    bytes: Vec<u8>,
    issued: u64,
    difficulty: u8,
    /// The random part: the id spent.
    id: [u8; 16],
}

impl Presented {
    /// `None` if it is not base64url, not our layout or for another purpose.
    fn parse(challenge_b64: &str, purpose: Purpose) -> Option<Self> {
        let bytes = b64::decode(challenge_b64).ok()?;
        if bytes.len() != CHALLENGE_LEN || bytes[0] != 1 || bytes[1] != purpose as u8 {
            return None;
        }
        let issued = u64::from_be_bytes(bytes[2..10].try_into().expect("fixed layout"));
        let difficulty = bytes[10];
        let id = bytes[11..27].try_into().expect("fixed layout");
        Some(Self {
            bytes,
            issued,
            difficulty,
            id,
        })
    }

    /// Whether its MAC is `key`'s.
    fn authentic(&self, key: &[u8; 32]) -> bool {
        let (body, tag) = self.bytes.split_at(CHALLENGE_LEN - 16);
        bool::from(mac16(key, body).ct_eq(tag))
    }

    /// Whether it is alive at `now` (issued at most 5 s ahead of this
    /// relay's clock, at most [`CHALLENGE_TTL_SECS`] ago) and at least as
    /// hard as `min_difficulty`.
    fn timely(&self, now: u64, min_difficulty: u8) -> bool {
        self.issued <= now + 5
            && now <= self.issued + CHALLENGE_TTL_SECS
            && self.difficulty >= min_difficulty
    }

    /// Whether `nonce` solves it at its own difficulty.
    fn solved(&self, nonce: u64) -> bool {
        pow::verify(&self.bytes, self.difficulty, nonce)
    }

    /// Its generation: the issue time divided by [`CHALLENGE_TTL_SECS`].
    fn generation(&self) -> u64 {
        self.issued / CHALLENGE_TTL_SECS
    }
}

/// The first moment at which every challenge of `generation` has expired
/// (they were all issued before (g + 1) × TTL): until then its spent ids
/// must be kept.
fn generation_dead_at(generation: u64) -> u64 {
    (generation + 2) * CHALLENGE_TTL_SECS
}

/// The relay's limiter and challenge issuer (see the module doc).
pub struct Limits {
    engine: Engine,
    /// When the fallback of [`Limits::allow_address`] was last logged
    /// (Unix seconds): once a minute, not once a request.
    fallback_logged: std::sync::atomic::AtomicU64,
    /// Until when (Unix seconds) the shared request count is not asked: the
    /// database was out of reach (see [`Limits::allow_address`]).
    out_of_reach_until: std::sync::atomic::AtomicU64,
}

/// How long the shared count of a request may take before the relay counts
/// it alone (the database does not answer: it hangs, or packets are lost).
const ADDRESS_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long the relay counts requests alone after the database was found
/// out of reach, before it asks again.
const OUT_OF_REACH_SECS: u64 = 10;

enum Engine {
    Memory(Box<Memory>),
    /// The database's counters, and this relay's own request counter for
    /// when the database cannot be reached (see the module doc).
    Shared(Box<Shared>, Box<Memory>),
}

impl Limits {
    /// In memory (one relay): fresh random keys; every counter empty.
    pub fn new(now: u64) -> Self {
        Self {
            engine: Engine::Memory(Box::new(Memory::new(now))),
            fallback_logged: std::sync::atomic::AtomicU64::new(0),
            out_of_reach_until: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Shared by every relay on the database of `pool` (connected and
    /// migrated by [`crate::store::postgres::connect`]). Makes (or finds) the
    /// current hour's address key and the current challenge key, so a
    /// database without the admission tables is an error at start.
    pub async fn shared(pool: Pool, now: u64) -> Result<Self, PgError> {
        Self::shared_keyed(pool, None, now).await
    }

    /// [`Limits::shared`] with the relays' `admission_secret`, which every
    /// relay on the database must be given alike ([`shared`] says why).
    pub async fn shared_keyed(
        pool: Pool,
        secret: Option<zeroize::Zeroizing<[u8; 32]>>,
        now: u64,
    ) -> Result<Self, PgError> {
        Ok(Self {
            engine: Engine::Shared(
                Box::new(Shared::open(pool, secret, now).await?),
                Box::new(Memory::new(now)),
            ),
            fallback_logged: std::sync::atomic::AtomicU64::new(0),
            out_of_reach_until: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Counts a request from `address`; false if over `per_minute`.
    pub async fn allow_address(
        &self,
        address: IpAddr,
        now: u64,
        per_minute: u32,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Memory(m) => Ok(m.allow_address(address, now, per_minute)),
            Engine::Shared(s, local) => {
                match self.count_shared(s, address, now, per_minute).await {
                    Err(StoreError::Unavailable(cause)) => {
                        use std::sync::atomic::Ordering;
                        let last = self.fallback_logged.load(Ordering::Relaxed);
                        if now >= last.saturating_add(60)
                            && self
                                .fallback_logged
                                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                                .is_ok()
                        {
                            tracing::warn!(
                                error = %cause,
                                "database unavailable: requests are counted by this relay alone"
                            );
                        }
                        Ok(local.allow_address(address, now, per_minute))
                    }
                    other => other,
                }
            }
        }
    }

    /// The shared count of a request, within [`ADDRESS_DEADLINE`], and not
    /// asked at all for [`OUT_OF_REACH_SECS`] after the database was found
    /// out of reach: a database that hangs must not make every request
    /// (the page's among them) wait for it.
    async fn count_shared(
        &self,
        shared: &Shared,
        address: IpAddr,
        now: u64,
        per_minute: u32,
    ) -> Result<bool, StoreError> {
        use std::sync::atomic::Ordering;
        if self.out_of_reach_until.load(Ordering::Relaxed) > now {
            return Err(StoreError::Unavailable(
                "out of reach a moment ago; not asked again yet".into(),
            ));
        }
        let counted = tokio::time::timeout(
            ADDRESS_DEADLINE,
            shared.allow_address(address, now, per_minute),
        )
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "no answer within {} ms",
                ADDRESS_DEADLINE.as_millis()
            )))
        });
        if matches!(counted, Err(StoreError::Unavailable(_))) {
            self.out_of_reach_until
                .store(now.saturating_add(OUT_OF_REACH_SECS), Ordering::Relaxed);
        }
        counted
    }

    /// Counts a message in a thread; false if over `per_minute`.
    pub async fn allow_thread_post(
        &self,
        mailbox: &[u8; 16],
        now: u64,
        per_minute: u32,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Memory(m) => Ok(m.allow_thread_post(mailbox, now, per_minute)),
            Engine::Shared(s, _) => s.allow_thread_post(mailbox, now, per_minute).await,
        }
    }

    /// The difficulty of the next creation challenge for `client`, counting
    /// the challenge as the client's use. The quiet price, plus one bit per
    /// doubling of the busiest centre's creations over its quiet rate, plus
    /// one bit per doubling of this client's own creation challenges this
    /// hour past its creation budget (a person who retries a few times pays
    /// nothing extra); never above `max`. With proof of work off (base 0) it
    /// stays 0.
    pub async fn create_difficulty(
        &self,
        client: IpAddr,
        now: u64,
        admission: Admission,
    ) -> Result<u8, StoreError> {
        match &self.engine {
            Engine::Memory(m) => Ok(m.create_difficulty(client, now, admission)),
            Engine::Shared(s, _) => s.create_difficulty(client, now, admission).await,
        }
    }

    /// Counts a creation about to happen against `client`'s hourly budget.
    pub async fn reserve_creation(
        &self,
        client: IpAddr,
        now: u64,
        per_hour: u32,
    ) -> Result<Reservation, StoreError> {
        match &self.engine {
            Engine::Memory(m) => Ok(m.reserve_creation(client, now, per_hour)),
            Engine::Shared(s, _) => s.reserve_creation(client, now, per_hour).await,
        }
    }

    /// Gives back a reservation whose creation did not happen. A failure is
    /// logged, not returned: the request has already failed for its own
    /// reason.
    pub async fn release_creation(&self, client: IpAddr, now: u64, reservation: Reservation) {
        match &self.engine {
            Engine::Memory(m) => m.release_creation(client, now, reservation),
            Engine::Shared(s, _) => {
                if let Err(e) = s.release_creation(client, now, reservation).await {
                    tracing::warn!(error = %e, "admission: a creation could not be given back");
                }
            }
        }
    }

    /// Counts a thread that was created at `centre`: only real creations
    /// raise the price of the next ones. A failure is logged, not returned:
    /// the thread exists.
    pub async fn record_creation(&self, centre: &str, now: u64) {
        match &self.engine {
            Engine::Memory(m) => m.record_creation(centre, now),
            Engine::Shared(s, _) => {
                if let Err(e) = s.record_creation(centre, now).await {
                    tracing::warn!(error = %e, "admission: a creation could not be counted");
                }
            }
        }
    }

    /// A new challenge for `purpose` at `difficulty`, as base64url.
    pub async fn issue_challenge(
        &self,
        purpose: Purpose,
        difficulty: u8,
        now: u64,
    ) -> Result<String, StoreError> {
        match &self.engine {
            Engine::Memory(m) => Ok(m.issue_challenge(purpose, difficulty, now)),
            Engine::Shared(s, _) => s.issue_challenge(purpose, difficulty, now).await,
        }
    }

    /// Checks and spends a solved challenge. False if it is malformed, not
    /// ours, for another purpose, expired, easier than `min_difficulty`,
    /// already spent (on any relay of a shared database), or not solved.
    pub async fn spend_challenge(
        &self,
        challenge_b64: &str,
        nonce: u64,
        purpose: Purpose,
        min_difficulty: u8,
        now: u64,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Memory(m) => {
                Ok(m.spend_challenge(challenge_b64, nonce, purpose, min_difficulty, now))
            }
            Engine::Shared(s, _) => {
                s.spend_challenge(challenge_b64, nonce, purpose, min_difficulty, now)
                    .await
            }
        }
    }

    /// Deletes what has expired at `now` from the database: past windows'
    /// counters, past hours' address keys, dead challenges' keys and spent
    /// ids. The shared engine also does this by itself on the first request
    /// of each minute; a periodic call makes it happen on a quiet relay too.
    /// Nothing to do in memory (each counter is dropped as its window
    /// passes).
    pub async fn sweep(&self, now: u64) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Memory(_) => Ok(()),
            Engine::Shared(s, _) => s.sweep(now).await,
        }
    }
}
