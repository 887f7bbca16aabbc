//! One scenario: `clients` Tokio tasks, each with its own keep-alive
//! connection ([`generator`](crate::generator)) and one request in flight,
//! doing one operation after another for a warm-up and a measured window
//! (or for a fixed number of operations), recording every operation's
//! latency.
//!
//! Throughput counts the operations that *completed* inside the window, so
//! operations in flight at either edge are neither lost nor double-counted
//! on average. Errors are counted over the whole run, warm-up included.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ozvi_crypto::RequestError;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::request::RequestAuth;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};
use serde_json::Value;

use crate::baseline;
use crate::fixture::{Fixture, Reader, unix_now};
use crate::generator::{Connection, request};

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// `GET /healthz`, as [`request`] writes it.
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// What one client does, over and over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET /healthz`: the relay doing no work.
    Healthz,
    /// `POST /api/v1/mailbox/messages` with a sealed envelope, acknowledged
    /// once durable. Proof of work is off (difficulty 0), so the client
    /// fetches no challenge. The baseline server takes the same bytes.
    Post,
    /// The same post to the baseline's `/discard`: read and answered, not
    /// written (the generator's ceiling).
    Discard,
    /// `GET /api/v1/mailbox/messages` of a random seeded thread.
    List,
    /// `GET /api/v1/staff/threads`, signed afresh for every request.
    Inbox,
}

impl Op {
    /// The name in the printed tables.
    pub fn label(self) -> &'static str {
        match self {
            Op::Healthz => "GET /healthz",
            Op::Post => "POST mailbox/messages",
            Op::Discard => "POST /discard",
            Op::List => "GET mailbox/messages",
            Op::Inbox => "GET staff/threads",
        }
    }
}

/// The posts every client sends, written once before any run: poster
/// `client mod 64` sends her envelopes in turn. The relay and the baseline
/// get the same bytes.
pub struct Posts {
    /// Per poster, per envelope: the durable post.
    durable: Vec<Vec<Vec<u8>>>,
    /// The same, to the baseline's `/discard`.
    discard: Vec<Vec<Vec<u8>>>,
}

impl Posts {
    pub fn new(fixture: &Fixture) -> anyhow::Result<Self> {
        let mut durable = Vec::new();
        let mut discard = Vec::new();
        for poster in &fixture.posters {
            let mut mine = Vec::new();
            let mut discarded = Vec::new();
            for envelope in &poster.envelopes {
                // Difficulty 0: proof of work is off, so no challenge is fetched.
                let body = serde_json::to_vec(&ozvi_api::person::PostMessage {
                    envelope: envelope.clone(),
                    pow: None,
                    files: Vec::new(),
                })?;
                let headers = [
                    ("Ozvi-Mailbox", poster.mailbox.as_str()),
                    ("Ozvi-Auth", poster.auth.as_str()),
                    ("Content-Type", "application/json"),
                ];
                let path = ozvi_api::routes::paths::MAILBOX_MESSAGES;
                mine.push(request("POST", path, &headers, &body));
                discarded.push(request("POST", baseline::DISCARD, &headers, &body));
            }
            durable.push(mine);
            discard.push(discarded);
        }
        anyhow::ensure!(
            durable.iter().all(|p| !p.is_empty()),
            "every poster needs an envelope"
        );
        Ok(Self { durable, discard })
    }

    /// The same posts, client `i` sending poster `i + by`'s: the clients of a
    /// second relay write into other threads than the first relay's.
    pub fn rotated(&self, by: usize) -> Self {
        let rotate = |set: &Vec<Vec<Vec<u8>>>| {
            let mut set = set.clone();
            let by = by % set.len();
            set.rotate_left(by);
            set
        };
        Self {
            durable: rotate(&self.durable),
            discard: rotate(&self.discard),
        }
    }

    fn get(&self, discard: bool, client: usize, n: u64) -> &[u8] {
        let set = if discard {
            &self.discard
        } else {
            &self.durable
        };
        let mine = &set[client % set.len()];
        &mine[n as usize % mine.len()]
    }
}

/// A server under load and what clients need to talk to it.
pub struct Target {
    pub addr: SocketAddr,
    pub fixture: Arc<Fixture>,
    /// The seeded threads a listing picks from.
    pub readers: Arc<Vec<Reader>>,
    pub posts: Arc<Posts>,
}

impl Target {
    /// A server on 127.0.0.1:`port`.
    pub fn local(
        port: u16,
        fixture: &Arc<Fixture>,
        readers: Arc<Vec<Reader>>,
        posts: &Arc<Posts>,
    ) -> Arc<Self> {
        Arc::new(Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            fixture: Arc::clone(fixture),
            readers,
            posts: Arc::clone(posts),
        })
    }
}

/// How long a scenario runs.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// A warm-up whose operations are not measured, then a measured window.
    Window { warmup: Duration, window: Duration },
    /// This many operations in all, every one measured.
    Count(u64),
}

/// The outcome of one scenario.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// The measured time.
    pub window: Duration,
    /// Latency of every measured successful operation, microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// Failed operations (transport errors and non-2xx answers), warm-up included.
    pub errors: u64,
    /// How many of each kind of failure, e.g. `"409 quota_exceeded"`.
    pub error_kinds: BTreeMap<String, u64>,
    /// Connections opened, warm-up included: one per client while the
    /// server keeps them alive.
    pub connections: u64,
}

impl Stats {
    /// Completed operations per second.
    pub fn rate(&self) -> f64 {
        let secs = self.window.as_secs_f64();
        if secs > 0.0 {
            self.latencies_us.len() as f64 / secs
        } else {
            0.0
        }
    }

    /// The `q`-th percentile latency in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        percentile(&self.latencies_us, q).map_or(f64::NAN, |us| us as f64 / 1000.0)
    }

    /// Adds the run `other` (another window) to this one.
    pub fn combine(&mut self, other: Stats) {
        self.window += other.window;
        self.merge(other);
        self.latencies_us.sort_unstable();
    }

    /// Adds `other`, run at the same time against another server: one
    /// window, both servers' operations.
    pub fn concurrent(&mut self, other: Stats) {
        self.window = self.window.max(other.window);
        self.merge(other);
        self.latencies_us.sort_unstable();
    }

    fn merge(&mut self, other: Stats) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.connections += other.connections;
        for (kind, n) in other.error_kinds {
            *self.error_kinds.entry(kind).or_default() += n;
        }
    }
}

/// The nearest-rank percentile (`q` in 0..=100) of sorted values: the
/// smallest value with at least `q` % of the values at or below it. `None`
/// for no values.
pub fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Runs `op` from `clients` concurrent tasks within `budget`.
pub async fn run(target: &Arc<Target>, op: Op, clients: usize, budget: Budget) -> Stats {
    let start = Instant::now();
    let (measure_from, deadline, count) = match budget {
        Budget::Window { warmup, window } => (start + warmup, start + warmup + window, u64::MAX),
        Budget::Count(n) => (start, start + Duration::from_secs(3600), n),
    };
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let target = Arc::clone(target);
        let issued = Arc::clone(&issued);
        tasks.spawn(async move {
            let mut stats = Stats::default();
            let mut connection = match Connection::open(target.addr).await {
                Ok(connection) => connection,
                Err(kind) => {
                    stats.errors += 1;
                    *stats.error_kinds.entry(kind).or_default() += 1;
                    return stats;
                }
            };
            let mut rng = ChaCha20Rng::seed_from_u64(client as u64);
            let mut n = 0u64;
            loop {
                let began = Instant::now();
                if began >= deadline || issued.fetch_add(1, Ordering::Relaxed) >= count {
                    break;
                }
                let outcome = once(&target, &mut connection, op, client, n, &mut rng).await;
                let ended = Instant::now();
                n += 1;
                match outcome {
                    Ok(()) if ended >= measure_from && ended <= deadline => {
                        stats.latencies_us.push(micros(ended - began));
                    }
                    Ok(_) => {}
                    Err(kind) => {
                        stats.errors += 1;
                        *stats.error_kinds.entry(kind).or_default() += 1;
                    }
                }
            }
            stats.connections = connection.opened;
            stats
        });
    }
    let mut total = Stats::default();
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(stats) => total.merge(stats),
            Err(_) => {
                total.errors += 1;
                *total
                    .error_kinds
                    .entry("a client task panicked".into())
                    .or_default() += 1;
            }
        }
    }
    total.window = match budget {
        Budget::Window { window, .. } => window,
        Budget::Count(_) => start.elapsed(),
    };
    total.latencies_us.sort_unstable();
    total
}

/// A duration in whole microseconds (saturating).
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One operation. `Err` describes the failure (status and code, or the transport error).
async fn once(
    target: &Target,
    connection: &mut Connection,
    op: Op,
    client: usize,
    n: u64,
    rng: &mut ChaCha20Rng,
) -> Result<(), String> {
    match op {
        Op::Healthz => {
            send(connection, HEALTHZ).await?;
        }
        Op::List => {
            let index = rng.next_u64() % target.readers.len() as u64;
            send(connection, &list_request(&target.readers[index as usize])).await?;
        }
        Op::Post | Op::Discard => {
            send(connection, target.posts.get(op == Op::Discard, client, n)).await?;
        }
        Op::Inbox => {
            let request = signed_inbox(target, client).map_err(|e| format!("{e:?}"))?;
            send(connection, &request).await?;
        }
    }
    Ok(())
}

/// A listing of `reader`'s thread.
pub fn list_request(reader: &Reader) -> Vec<u8> {
    request(
        "GET",
        ozvi_api::routes::paths::MAILBOX_MESSAGES,
        &[
            ("Ozvi-Mailbox", &reader.mailbox),
            ("Ozvi-Auth", &reader.auth),
        ],
        b"",
    )
}

/// A `GET /api/v1/staff/threads` signed now by staff member `client` (modulo
/// their number), with a fresh random nonce.
fn signed_inbox(target: &Target, client: usize) -> Result<Vec<u8>, RequestError> {
    let staff = &target.fixture.staff;
    let keys = &staff[client % staff.len()];
    let path = ozvi_api::routes::paths::STAFF_THREADS;
    let auth = RequestAuth::sign(
        &mut os_rng(),
        keys,
        &target.fixture.directory.salt,
        "GET",
        path,
        b"",
        unix_now(),
    )?;
    let headers = auth.to_headers();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    Ok(request("GET", path, &headers, b""))
}

/// The first staff member's inbox request, for checking the setup.
pub fn inbox_request(target: &Target) -> anyhow::Result<Vec<u8>> {
    signed_inbox(target, 0).map_err(|e| anyhow::anyhow!("signing failed: {e:?}"))
}

/// Sends `request` and reads the answer: `Ok` with its body for a 2xx,
/// otherwise its status and error code.
pub async fn send(connection: &mut Connection, request: &[u8]) -> Result<Vec<u8>, String> {
    let answer = tokio::time::timeout(REQUEST_TIMEOUT, connection.exchange(request))
        .await
        .map_err(|_| "timeout".to_string())??;
    if (200..300).contains(&answer.status) {
        return Ok(answer.body.to_vec());
    }
    let code = serde_json::from_slice::<Value>(answer.body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    Err(format!("{} {code}", answer.status))
}

/// `GET path` on a new connection to `addr`: the body of a 2xx answer.
pub async fn get(addr: SocketAddr, path: &str) -> Result<Vec<u8>, String> {
    let mut connection = Connection::open(addr).await?;
    send(&mut connection, &request("GET", path, &[], b"")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3], 50.0), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn healthz_is_written_as_any_request() {
        assert_eq!(
            HEALTHZ,
            request("GET", ozvi_api::routes::paths::HEALTHZ, &[], b"")
        );
    }

    #[test]
    fn rates_and_milliseconds() {
        let stats = Stats {
            window: Duration::from_secs(2),
            latencies_us: vec![1000; 50],
            ..Stats::default()
        };
        assert_eq!(stats.rate(), 25.0);
        assert_eq!(stats.ms(99.0), 1.0);
        assert!(Stats::default().ms(50.0).is_nan());
    }
}
