//! Rate limits and single-use proof-of-work challenges, kept only in memory.
//!
//! Client addresses are never stored: each is replaced by the first 16 bytes
//! of HMAC-SHA256 under a random key that is replaced every hour, together
//! with every counter. Nothing here is written to disk or to a log.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::pow;
use rand_core::Rng as _;
use sha2::Sha256;
use subtle::ConstantTimeEq;

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

/// A fixed window counter per key.
struct Window {
    started: u64,
    counts: HashMap<Vec<u8>, u32>,
}

impl Window {
    fn hit(&mut self, key: &[u8], now: u64, length: u64, limit: u32) -> bool {
        if now >= self.started + length {
            self.started = now - now % length;
            self.counts.clear();
        }
        let count = self.counts.entry(key.to_vec()).or_insert(0);
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }
}

struct Inner {
    address_key: [u8; 32],
    address_key_hour: u64,
    addresses: Window,
    threads: Window,
    centres: Window,
    spent: HashSet<[u8; 16]>,
    spent_since: u64,
}

/// The relay's in-memory limiter and challenge issuer.
pub struct Limits {
    challenge_key: [u8; 32],
    inner: Mutex<Inner>,
}

impl Limits {
    /// Fresh random keys; every counter empty.
    pub fn new(now: u64) -> Self {
        let mut rng = os_rng();
        let mut challenge_key = [0u8; 32];
        rng.fill_bytes(&mut challenge_key);
        let mut address_key = [0u8; 32];
        rng.fill_bytes(&mut address_key);
        let window = |length: u64| Window {
            started: now - now % length,
            counts: HashMap::new(),
        };
        Self {
            challenge_key,
            inner: Mutex::new(Inner {
                address_key,
                address_key_hour: now / 3600,
                addresses: window(60),
                threads: window(60),
                centres: window(3600),
                spent: HashSet::new(),
                spent_since: now,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a request from `address`; false if over `per_minute`.
    pub fn allow_address(&self, address: IpAddr, now: u64, per_minute: u32) -> bool {
        let mut inner = self.lock();
        if now / 3600 != inner.address_key_hour {
            os_rng().fill_bytes(&mut inner.address_key);
            inner.address_key_hour = now / 3600;
            inner.addresses.counts.clear();
        }
        let octets = match address {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => a.octets(),
        };
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&inner.address_key)
            .expect("HMAC takes any key length");
        mac.update(&octets);
        let tag = mac.finalize().into_bytes();
        inner.addresses.hit(&tag[..16], now, 60, per_minute)
    }

    /// Counts a message in a thread; false if over `per_minute`.
    pub fn allow_thread_post(&self, mailbox: &[u8; 16], now: u64, per_minute: u32) -> bool {
        self.lock().threads.hit(mailbox, now, 60, per_minute)
    }

    /// Counts a new thread for a centre; false if over `per_hour`.
    pub fn allow_new_thread(&self, centre: &str, now: u64, per_hour: u32) -> bool {
        self.lock()
            .centres
            .hit(centre.as_bytes(), now, 3600, per_hour)
    }

    /// A new challenge for `purpose` at `difficulty`, as base64url.
    pub fn issue_challenge(&self, purpose: Purpose, difficulty: u8, now: u64) -> String {
        let mut challenge = Vec::with_capacity(CHALLENGE_LEN);
        challenge.push(1);
        challenge.push(purpose as u8);
        challenge.extend_from_slice(&now.to_be_bytes());
        challenge.push(difficulty);
        let mut random = [0u8; 16];
        os_rng().fill_bytes(&mut random);
        challenge.extend_from_slice(&random);
        let tag = self.challenge_mac(&challenge);
        challenge.extend_from_slice(&tag);
        b64::encode(&challenge)
    }

    fn challenge_mac(&self, body: &[u8]) -> [u8; 16] {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.challenge_key)
            .expect("HMAC takes any key length");
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        tag
    }

    /// Checks and spends a solved challenge. False if it is malformed, not
    /// ours, for another purpose, expired, easier than `min_difficulty`,
    /// already spent, or not solved.
    pub fn spend_challenge(
        &self,
        challenge_b64: &str,
        nonce: u64,
        purpose: Purpose,
        min_difficulty: u8,
        now: u64,
    ) -> bool {
        let Ok(challenge) = b64::decode(challenge_b64) else {
            return false;
        };
        if challenge.len() != CHALLENGE_LEN || challenge[0] != 1 || challenge[1] != purpose as u8 {
            return false;
        }
        let (body, tag) = challenge.split_at(CHALLENGE_LEN - 16);
        if !bool::from(self.challenge_mac(body).ct_eq(tag)) {
            return false;
        }
        let issued = u64::from_be_bytes(body[2..10].try_into().expect("fixed layout"));
        let difficulty = body[10];
        if issued > now + 5 || now > issued + CHALLENGE_TTL_SECS || difficulty < min_difficulty {
            return false;
        }
        if !pow::verify(&challenge, difficulty, nonce) {
            return false;
        }
        let id: [u8; 16] = body[11..27].try_into().expect("fixed layout");
        let mut inner = self.lock();
        // Every challenge older than the TTL is dead anyway: forget spent ids
        // in blocks of two TTLs so the set stays small.
        if now > inner.spent_since + 2 * CHALLENGE_TTL_SECS {
            inner.spent.clear();
            inner.spent_since = now - CHALLENGE_TTL_SECS;
        }
        inner.spent.insert(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_spent_once_and_only_for_its_purpose() {
        let limits = Limits::new(1_000_000);
        let challenge = limits.issue_challenge(Purpose::Post, 8, 1_000_000);
        let raw = b64::decode(&challenge).expect("canonical");
        let nonce = pow::solve(&raw, 8).expect("solvable");
        assert!(!limits.spend_challenge(&challenge, nonce, Purpose::Create, 8, 1_000_000));
        assert!(!limits.spend_challenge(&challenge, nonce, Purpose::Post, 9, 1_000_000));
        assert!(!limits.spend_challenge(&challenge, nonce, Purpose::Post, 8, 1_000_000 + 601));
        assert!(limits.spend_challenge(&challenge, nonce, Purpose::Post, 8, 1_000_010));
        assert!(!limits.spend_challenge(&challenge, nonce, Purpose::Post, 8, 1_000_010));
        let other = Limits::new(1_000_000);
        let foreign = other.issue_challenge(Purpose::Post, 0, 1_000_000);
        assert!(!limits.spend_challenge(&foreign, 0, Purpose::Post, 0, 1_000_000));
    }

    #[test]
    fn addresses_are_limited_per_minute() {
        let limits = Limits::new(60);
        let a: IpAddr = "192.0.2.1".parse().expect("valid");
        let b: IpAddr = "2001:db8::1".parse().expect("valid");
        assert!(limits.allow_address(a, 60, 2));
        assert!(limits.allow_address(a, 61, 2));
        assert!(!limits.allow_address(a, 62, 2));
        assert!(limits.allow_address(b, 62, 2));
        assert!(limits.allow_address(a, 120, 2), "a new minute");
    }
}
