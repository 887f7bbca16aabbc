//! One scenario: `clients` Tokio tasks sharing one HTTP client, each doing
//! one operation after another, for a warm-up and a measured window (or for
//! a fixed number of operations), recording every operation's latency.
//!
//! Throughput counts the operations that *completed* inside the window, so
//! operations in flight at either edge are neither lost nor double-counted
//! on average. Errors are counted over the whole run, warm-up included.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ozvi_crypto::RequestError;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::request::RequestAuth;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};
use serde_json::Value;

use super::fixture::{Fixture, Reader, unix_now};

/// What one client does, over and over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET /healthz`: the baseline.
    Healthz,
    /// `POST /api/v1/mailbox/messages` with a sealed envelope, acknowledged
    /// once durable. Proof of work is off (difficulty 0), so the client
    /// fetches no challenge.
    Post,
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
            Op::List => "GET mailbox/messages",
            Op::Inbox => "GET staff/threads",
        }
    }
}

/// The relay under load and what clients need to talk to it.
pub struct Target {
    pub base: String,
    pub http: reqwest::Client,
    pub fixture: Arc<Fixture>,
    /// The seeded threads a listing picks from.
    pub readers: Arc<Vec<Reader>>,
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

    fn merge(&mut self, other: Stats) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
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
            let mut rng = ChaCha20Rng::seed_from_u64(client as u64);
            let mut n = 0u64;
            loop {
                let began = Instant::now();
                if began >= deadline || issued.fetch_add(1, Ordering::Relaxed) >= count {
                    break;
                }
                let outcome = once(&target, op, client, n, &mut rng).await;
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

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One operation. `Err` describes the failure (status and code, or the transport error).
async fn once(
    target: &Target,
    op: Op,
    client: usize,
    n: u64,
    rng: &mut ChaCha20Rng,
) -> Result<(), String> {
    let http = &target.http;
    let url = |path: &str| format!("{}{path}", target.base);
    match op {
        Op::Healthz => {
            body_of(http.get(url("/healthz")).send().await).await?;
            Ok(())
        }
        Op::List => {
            let index = rng.next_u64() % target.readers.len() as u64;
            let reader = &target.readers[index as usize];
            let request = http
                .get(url(ozvi_api::routes::paths::MAILBOX_MESSAGES))
                .header("Ozvi-Mailbox", &reader.mailbox)
                .header("Ozvi-Auth", &reader.auth);
            body_of(request.send().await).await?;
            Ok(())
        }
        Op::Post => {
            let posters = &target.fixture.posters;
            let poster = &posters[client % posters.len()];
            let envelope = &poster.envelopes[n as usize % poster.envelopes.len()];
            // Difficulty 0: proof of work is off, so no challenge is fetched.
            let body = serde_json::to_string(&ozvi_api::person::PostMessage {
                envelope: envelope.clone(),
                pow: None,
                files: Vec::new(),
            })
            .map_err(|e| e.to_string())?;
            let request = http
                .post(url(ozvi_api::routes::paths::MAILBOX_MESSAGES))
                .header("Ozvi-Mailbox", &poster.mailbox)
                .header("Ozvi-Auth", &poster.auth)
                .header("content-type", "application/json")
                .body(body);
            body_of(request.send().await).await?;
            Ok(())
        }
        Op::Inbox => {
            let request = signed_inbox(target, client).map_err(|e| format!("{e:?}"))?;
            body_of(request.send().await).await?;
            Ok(())
        }
    }
}

/// A `GET /api/v1/staff/threads` signed now by staff member `client` (modulo
/// their number), with a fresh random nonce.
fn signed_inbox(target: &Target, client: usize) -> Result<reqwest::RequestBuilder, RequestError> {
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
    let mut request = target.http.get(format!("{}{path}", target.base));
    for (name, value) in auth.to_headers() {
        request = request.header(name, value);
    }
    Ok(request)
}

/// The first staff member's inbox request, for checking the setup.
pub fn inbox_request(target: &Target) -> anyhow::Result<reqwest::RequestBuilder> {
    signed_inbox(target, 0).map_err(|e| anyhow::anyhow!("signing failed: {e:?}"))
}

/// The body of a 2xx response; otherwise its status and error code.
pub async fn body_of(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Vec<u8>, String> {
    let response = response.map_err(|e| format!("transport error: {}", describe(&e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {}", describe(&e)))?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    Err(format!("{} {code}", status.as_u16()))
}

/// An error and its causes on one line.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
