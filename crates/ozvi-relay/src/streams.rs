//! Bounds on open event streams (server-sent events), which each hold a
//! connection and a file descriptor for as long as they last.
//!
//! Every stream is counted against its owner (a thread, or a staff key),
//! its client address and the relay's total. Client addresses are never
//! stored: each is replaced by 16 bytes of HMAC-SHA256 under a random key
//! that lives only in memory (IPv6 addresses by their /64, which one
//! client controls as a whole).
//!
//! Over an owner's cap the oldest stream of that owner ends: only whoever
//! holds the code (or the staff key) can open one, and the newest is the
//! one she is looking at (a reloaded page, a desk that reconnected after a
//! network change while the old connection still looked open). Over the
//! address or the total cap a new stream is refused with `too_many_streams`
//! instead: a stranger must not be able to end anyone else's stream, and a
//! refused client is not cut off — the page and the desk poll instead.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, KeyInit, Mac};
use ozvi_crypto::Directory;
use ozvi_crypto::primitives::rng::os_rng;
use rand_core::Rng as _;
use sha2::Sha256;
use tokio::sync::Notify;

use crate::config::Config;
use crate::error::ApiError;

/// Whose stream it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A person's stream, by mailbox id.
    Thread([u8; 16]),
    /// A staff member's stream, by Ed25519 key and the centre it follows.
    Staff {
        /// The staff member's Ed25519 public key.
        key: [u8; 32],
        /// The centre the key belonged to when the stream opened.
        centre: String,
    },
}

/// The caps, from [`Config`].
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Per thread.
    pub per_thread: usize,
    /// Per staff key.
    pub per_staff: usize,
    /// Per client address.
    pub per_address: usize,
    /// In total.
    pub total: usize,
}

impl Caps {
    /// The configured caps.
    pub fn from_config(config: &Config) -> Self {
        Self {
            per_thread: config.event_streams_per_thread.max(1),
            per_staff: config.event_streams_per_staff.max(1),
            per_address: config.event_streams_per_address.max(1),
            total: config.event_streams_total.max(1),
        }
    }
}

struct Entry {
    id: u64,
    address: Option<[u8; 16]>,
    end: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    total: usize,
    addresses: HashMap<[u8; 16], usize>,
    owners: HashMap<Owner, VecDeque<Entry>>,
}

impl Inner {
    /// Forgets an entry that is no longer in `owners`.
    fn release(&mut self, entry: &Entry) {
        self.total = self.total.saturating_sub(1);
        if let Some(address) = entry.address
            && let Some(count) = self.addresses.get_mut(&address)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.addresses.remove(&address);
            }
        }
    }
}

/// The open streams.
pub struct Streams {
    address_key: [u8; 32],
    caps: Caps,
    inner: Mutex<Inner>,
}

/// One open stream's place in [`Streams`]; dropping it (when the client
/// goes away and the response body is dropped) frees the place.
pub struct Ticket {
    streams: Arc<Streams>,
    owner: Owner,
    id: u64,
    /// Notified when the relay ends this stream (over its owner's cap, or
    /// its key left the directory).
    pub end: Arc<Notify>,
}

impl Streams {
    /// No stream open; a fresh address key.
    pub fn new(caps: Caps) -> Self {
        let mut address_key = [0u8; 32];
        os_rng().fill_bytes(&mut address_key);
        Self {
            address_key,
            caps,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The keyed hash an address is counted under.
    fn address_tag(&self, address: IpAddr) -> [u8; 16] {
        let octets = match address {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => v4.to_ipv6_mapped().octets(),
                None => {
                    let mut o = a.octets();
                    o[8..].fill(0);
                    o
                }
            },
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.address_key)
            .expect("HMAC takes any key length");
        mac.update(&octets);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        tag
    }

    /// Opens a stream for `owner` from `address`: ends the owner's oldest
    /// stream if she is at her cap, refuses with `too_many_streams` if the
    /// address or the relay is at its cap.
    pub fn open(
        self: &Arc<Self>,
        owner: Owner,
        address: Option<IpAddr>,
    ) -> Result<Ticket, ApiError> {
        let address = address.map(|a| self.address_tag(a));
        let owner_cap = match owner {
            Owner::Thread(_) => self.caps.per_thread,
            Owner::Staff { .. } => self.caps.per_staff,
        };
        let mut inner = self.lock();
        let evicts = inner
            .owners
            .get(&owner)
            .filter(|open| open.len() >= owner_cap)
            .and_then(|open| open.front())
            .map(|oldest| oldest.address);
        let freed_here = usize::from(evicts.is_some_and(|a| a.is_some() && a == address));
        let total_after = inner.total.saturating_sub(usize::from(evicts.is_some()));
        let here_after = address
            .and_then(|a| inner.addresses.get(&a).copied())
            .unwrap_or(0)
            .saturating_sub(freed_here);
        if total_after >= self.caps.total
            || (address.is_some() && here_after >= self.caps.per_address)
        {
            return Err(ApiError::TooManyStreams);
        }
        if evicts.is_some()
            && let Some(oldest) = inner.owners.get_mut(&owner).and_then(VecDeque::pop_front)
        {
            oldest.end.notify_one();
            inner.release(&oldest);
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.total += 1;
        if let Some(a) = address {
            *inner.addresses.entry(a).or_insert(0) += 1;
        }
        let end = Arc::new(Notify::new());
        inner
            .owners
            .entry(owner.clone())
            .or_default()
            .push_back(Entry {
                id,
                address,
                end: Arc::clone(&end),
            });
        Ok(Ticket {
            streams: Arc::clone(self),
            owner,
            id,
            end,
        })
    }

    /// Ends every staff stream whose key is no longer listed in
    /// `directory` for the centre it follows.
    pub fn end_unlisted_staff(&self, directory: &Directory) {
        let mut inner = self.lock();
        let gone: Vec<Owner> = inner
            .owners
            .keys()
            .filter(|owner| match owner {
                Owner::Thread(_) => false,
                Owner::Staff { key, centre } => !listed(directory, key, centre),
            })
            .cloned()
            .collect();
        for owner in gone {
            if let Some(entries) = inner.owners.remove(&owner) {
                for entry in entries {
                    entry.end.notify_one();
                    inner.release(&entry);
                }
            }
        }
    }

    /// Streams open now (for tests and metrics).
    pub fn open_count(&self) -> usize {
        self.lock().total
    }
}

/// Whether `key` is a staff key of `centre` in `directory`.
pub fn listed(directory: &Directory, key: &[u8; 32], centre: &str) -> bool {
    ozvi_crypto::primitives::sig::Ed25519Public::from_bytes(key)
        .ok()
        .and_then(|k| directory.staff_by_ed25519(&k))
        .is_some_and(|(c, _)| c.id == centre)
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = self.streams.lock();
        let Some(open) = inner.owners.get_mut(&self.owner) else {
            return;
        };
        let Some(at) = open.iter().position(|e| e.id == self.id) else {
            // Already ended and released by the relay.
            return;
        };
        let entry = open.remove(at);
        if open.is_empty() {
            inner.owners.remove(&self.owner);
        }
        if let Some(entry) = entry {
            inner.release(&entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streams(per_owner: usize, per_address: usize, total: usize) -> Arc<Streams> {
        Arc::new(Streams::new(Caps {
            per_thread: per_owner,
            per_staff: per_owner,
            per_address,
            total,
        }))
    }

    #[test]
    fn an_owner_over_her_cap_ends_her_oldest_stream() {
        let s = streams(2, 10, 10);
        let a: IpAddr = "192.0.2.1".parse().expect("valid");
        let first = s.open(Owner::Thread([1; 16]), Some(a)).expect("opens");
        let _second = s.open(Owner::Thread([1; 16]), Some(a)).expect("opens");
        let _third = s.open(Owner::Thread([1; 16]), Some(a)).expect("opens");
        assert_eq!(s.open_count(), 2);
        // The first was told to end; dropping it later frees nothing twice.
        drop(first);
        assert_eq!(s.open_count(), 2);
    }

    #[test]
    fn addresses_and_the_total_refuse_and_are_freed_on_drop() {
        let s = streams(100, 2, 3);
        let a: IpAddr = "2001:db8::1".parse().expect("valid");
        let a_same_64: IpAddr = "2001:db8::ffff:1".parse().expect("valid");
        let b: IpAddr = "192.0.2.7".parse().expect("valid");
        let one = s.open(Owner::Thread([1; 16]), Some(a)).expect("opens");
        let _two = s
            .open(Owner::Thread([2; 16]), Some(a_same_64))
            .expect("opens");
        assert!(matches!(
            s.open(Owner::Thread([3; 16]), Some(a)),
            Err(ApiError::TooManyStreams)
        ));
        let _three = s.open(Owner::Thread([3; 16]), Some(b)).expect("opens");
        assert!(matches!(
            s.open(
                Owner::Thread([4; 16]),
                Some("192.0.2.8".parse().expect("valid"))
            ),
            Err(ApiError::TooManyStreams)
        ));
        drop(one);
        assert_eq!(s.open_count(), 2);
        s.open(Owner::Thread([3; 16]), Some(a))
            .expect("a freed place");
    }
}
