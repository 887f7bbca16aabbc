//! The in-memory engine of [`super::Limits`]: one relay, nothing written
//! to disk or to a log.
//!
//! Client addresses are never stored: each is replaced by the first 16 bytes
//! of HMAC-SHA256 under a random key that is replaced every hour, together
//! with every counter.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;

#[cfg(test)]
use super::CHALLENGE_TTL_SECS;
use super::{
    Admission, Presented, Purpose, Reservation, address_tag, generation_dead_at, make_challenge,
    random_key,
};
#[cfg(test)]
use ozvi_crypto::format::b64;
#[cfg(test)]
use ozvi_crypto::protocol::pow;

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

/// Most client addresses whose creations and challenges are counted in one
/// hour. Past it (an attacker with hundreds of thousands of addresses) a new
/// address is not counted and pays the highest difficulty instead: memory
/// stays bounded and nobody is refused for someone else's addresses.
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// What one client address did in the current hour.
#[derive(Default, Clone, Copy)]
struct ClientUse {
    /// Creation challenges issued to it.
    challenges: u32,
    /// Threads it created (or is creating right now).
    created: u32,
}

/// Threads created per centre, over the current and the previous hour, so
/// that the rate is a sliding estimate and does not drop to 0 on the hour.
struct CentreRates {
    hour: u64,
    current: HashMap<String, u32>,
    previous: HashMap<String, u32>,
}

impl CentreRates {
    fn roll(&mut self, now: u64) {
        let hour = now / 3600;
        if hour == self.hour {
            return;
        }
        self.previous = if hour == self.hour + 1 {
            std::mem::take(&mut self.current)
        } else {
            self.current.clear();
            HashMap::new()
        };
        self.hour = hour;
    }

    /// Threads created in the last hour (estimated), at the busiest centre.
    fn busiest(&mut self, now: u64) -> u64 {
        self.roll(now);
        let into = now % 3600;
        let centres = self.current.keys().chain(self.previous.keys());
        centres
            .map(|c| {
                let current = u64::from(self.current.get(c).copied().unwrap_or(0));
                let previous = u64::from(self.previous.get(c).copied().unwrap_or(0));
                current + previous * (3600 - into) / 3600
            })
            .max()
            .unwrap_or(0)
    }
}

/// Spent challenge ids by generation: the generation is the challenge's
/// issue time divided by [`CHALLENGE_TTL_SECS`], so a generation's set is
/// dropped only once every challenge issued in it has expired.
type SpentSets = std::collections::BTreeMap<u64, HashSet<[u8; 16]>>;

struct Inner {
    address_key: [u8; 32],
    address_key_hour: u64,
    addresses: Window,
    threads: Window,
    clients: HashMap<[u8; 16], ClientUse>,
    centres: CentreRates,
    spent: SpentSets,
}

/// The relay's in-memory limiter and challenge issuer.
pub(super) struct Memory {
    challenge_key: [u8; 32],
    inner: Mutex<Inner>,
}

impl Inner {
    /// Replaces the address key and forgets every per-address count on the hour.
    fn rotate(&mut self, now: u64) {
        if now / 3600 != self.address_key_hour {
            self.address_key = random_key();
            self.address_key_hour = now / 3600;
            self.addresses.counts.clear();
            self.clients.clear();
        }
    }

    /// The keyed hash that stands for a client address.
    fn tag(&mut self, address: IpAddr, now: u64) -> [u8; 16] {
        self.rotate(now);
        address_tag(&self.address_key, address)
    }

    /// The client's counters, or `None` if it cannot be counted.
    fn client(&mut self, address: IpAddr, now: u64) -> Option<&mut ClientUse> {
        let tag = self.tag(address, now);
        if !self.clients.contains_key(&tag) && self.clients.len() >= MAX_TRACKED_CLIENTS {
            return None;
        }
        Some(self.clients.entry(tag).or_default())
    }
}

impl Memory {
    /// Fresh random keys; every counter empty.
    pub fn new(now: u64) -> Self {
        let challenge_key = random_key();
        let address_key = random_key();
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
                clients: HashMap::new(),
                centres: CentreRates {
                    hour: now / 3600,
                    current: HashMap::new(),
                    previous: HashMap::new(),
                },
                spent: SpentSets::new(),
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
        let tag = inner.tag(address, now);
        inner.addresses.hit(&tag, now, 60, per_minute)
    }

    /// Counts a message in a thread; false if over `per_minute`.
    pub fn allow_thread_post(&self, mailbox: &[u8; 16], now: u64, per_minute: u32) -> bool {
        self.lock().threads.hit(mailbox, now, 60, per_minute)
    }

    /// The difficulty of the next creation challenge for `client`, counting
    /// the challenge as the client's use. The quiet price, plus one bit per
    /// doubling of the busiest centre's creations over its quiet rate, plus
    /// one bit per doubling of this client's own creation challenges this
    /// hour past its creation budget (a person who retries a few times pays
    /// nothing extra); never above `max`. With proof of work
    /// off (base 0) it stays 0.
    pub fn create_difficulty(&self, client: IpAddr, now: u64, admission: Admission) -> u8 {
        if admission.base == 0 {
            return 0;
        }
        let max = admission.max.max(admission.base);
        let mut inner = self.lock();
        let busiest = inner.centres.busiest(now);
        let client_bits = match inner.client(client, now) {
            Some(used) => {
                let before = used.challenges;
                used.challenges = used.challenges.saturating_add(1);
                admission.client_bits(u64::from(before))
            }
            None => max,
        };
        admission.price(busiest, client_bits)
    }

    /// Counts a creation about to happen against `client`'s hourly budget.
    pub fn reserve_creation(&self, client: IpAddr, now: u64, per_hour: u32) -> Reservation {
        let mut inner = self.lock();
        match inner.client(client, now) {
            None => Reservation::Untracked,
            Some(used) if used.created >= per_hour => Reservation::Refused,
            Some(used) => {
                used.created += 1;
                Reservation::Counted
            }
        }
    }

    /// Gives back a reservation whose creation did not happen.
    pub fn release_creation(&self, client: IpAddr, now: u64, reservation: Reservation) {
        if reservation != Reservation::Counted {
            return;
        }
        let mut inner = self.lock();
        if let Some(used) = inner.client(client, now) {
            used.created = used.created.saturating_sub(1);
        }
    }

    /// Counts a thread that was created at `centre`: only real creations
    /// raise the price of the next ones.
    pub fn record_creation(&self, centre: &str, now: u64) {
        let mut inner = self.lock();
        inner.centres.roll(now);
        *inner.centres.current.entry(centre.to_string()).or_insert(0) += 1;
    }

    /// A new challenge for `purpose` at `difficulty`, as base64url.
    pub fn issue_challenge(&self, purpose: Purpose, difficulty: u8, now: u64) -> String {
        make_challenge(&self.challenge_key, purpose, difficulty, now)
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
        let Some(challenge) = Presented::parse(challenge_b64, purpose) else {
            return false;
        };
        if !challenge.authentic(&self.challenge_key)
            || !challenge.timely(now, min_difficulty)
            || !challenge.solved(nonce)
        {
            return false;
        }
        let mut inner = self.lock();
        // A generation's set is forgotten only once all its challenges are
        // dead.
        inner.spent.retain(|g, _| generation_dead_at(*g) > now);
        inner
            .spent
            .entry(challenge.generation())
            .or_default()
            .insert(challenge.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The tests below are the in-memory engine's, from before it had a
    // shared sibling, unchanged: they name it by its old name.
    use super::Memory as Limits;

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

    #[test]
    fn a_challenge_stays_spent_for_its_whole_life() {
        // Spend each challenge at the latest moment of its life, at every
        // offset from the start: it never becomes spendable again.
        let start = 1_000_000 - 1_000_000 % CHALLENGE_TTL_SECS;
        let limits = Limits::new(start);
        for offset in (0..3 * CHALLENGE_TTL_SECS).step_by(37) {
            let issued = start + offset;
            let challenge = limits.issue_challenge(Purpose::Create, 1, issued);
            let raw = b64::decode(&challenge).expect("canonical");
            let nonce = pow::solve(&raw, 1).expect("solvable");
            assert!(limits.spend_challenge(&challenge, nonce, Purpose::Create, 1, issued));
            for later in [
                1,
                CHALLENGE_TTL_SECS / 2,
                CHALLENGE_TTL_SECS - 1,
                CHALLENGE_TTL_SECS,
            ] {
                assert!(
                    !limits.spend_challenge(&challenge, nonce, Purpose::Create, 1, issued + later),
                    "spent again {later} s later (issued at +{offset})"
                );
            }
        }
        let sets = limits.lock().spent.len();
        assert!(sets <= 3, "old generations are forgotten: {sets}");
    }

    #[test]
    fn difficulty_rises_with_a_clients_use_and_a_centres_creations() {
        let now = 7_200_000;
        let admission = Admission {
            base: 10,
            max: 20,
            quiet_per_centre_per_hour: 100,
            per_address_per_hour: 4,
        };
        let limits = Limits::new(now);
        let a: IpAddr = "192.0.2.1".parse().expect("valid");
        let b: IpAddr = "192.0.2.2".parse().expect("valid");
        let seen: Vec<u8> = (0..64)
            .map(|_| limits.create_difficulty(a, now, admission))
            .collect();
        assert_eq!(
            &seen[..4],
            &[10, 10, 10, 10],
            "a person's first tries cost the base"
        );
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(seen[63], 14, "one bit per doubling: {seen:?}");
        assert_eq!(
            limits.create_difficulty(b, now, admission),
            10,
            "b pays for nothing of a's"
        );
        for _ in 0..99 {
            limits.record_creation("ic-zlin", now);
        }
        assert_eq!(
            limits.create_difficulty(b, now, admission),
            10,
            "99 an hour is quiet"
        );
        limits.record_creation("ic-zlin", now);
        assert_eq!(limits.create_difficulty(b, now, admission), 11);
        for _ in 0..1_000_000 {
            limits.record_creation("ic-zlin", now);
        }
        assert_eq!(
            limits.create_difficulty(b, now, admission),
            20,
            "capped at the page's limit"
        );
        assert_eq!(
            limits.create_difficulty(b, now + 2 * 3600, admission),
            10,
            "pressure passes"
        );
        let off = Admission {
            base: 0,
            ..admission
        };
        assert_eq!(
            limits.create_difficulty(a, now, off),
            0,
            "proof of work off stays off"
        );
    }

    #[test]
    fn a_clients_budget_counts_only_what_it_created() {
        let now = 7_200_000;
        let limits = Limits::new(now);
        let a: IpAddr = "2001:db8::1".parse().expect("valid");
        let b: IpAddr = "2001:db8::2".parse().expect("valid");
        for _ in 0..10 {
            let r = limits.reserve_creation(a, now, 2);
            assert_eq!(r, Reservation::Counted);
            limits.release_creation(a, now, r);
        }
        assert_eq!(limits.reserve_creation(a, now, 2), Reservation::Counted);
        assert_eq!(limits.reserve_creation(a, now, 2), Reservation::Counted);
        assert_eq!(limits.reserve_creation(a, now, 2), Reservation::Refused);
        assert_eq!(limits.reserve_creation(b, now, 2), Reservation::Counted);
        assert_eq!(
            limits.reserve_creation(a, now + 3600, 2),
            Reservation::Counted
        );
    }
}
