//! `--only post`, after the side-by-side rounds: the relay's own group
//! commit and sled store with no HTTP in front (issue 16). 64 tasks, one
//! per poster thread, each appending the poster's sealed envelopes through
//! [`Flusher::append`] (one sled transaction per batch, then one flush, as
//! the relay's posting route does) and waiting for each to be durable. It
//! is the most the relay's sled path can take on this machine, so the
//! relay's rate can be read against it as PostgreSQL's is read against
//! pgbench.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use ozvi_tests::relay::flusher::Flusher;
use ozvi_tests::relay::store::{AppendJob, Author, Quota, SledStore, Store};

use crate::fixture::Fixture;
use crate::scenario::{Stats, micros};

/// What [`measure`] found.
pub(crate) struct Alone {
    /// Each durable append is one operation, as a request is in a scenario.
    pub(crate) stats: Stats,
    /// Bytes this process gave its write calls per append in the window
    /// (`wchar` in `/proc/self/io`; nothing else runs in it meanwhile).
    pub(crate) written_per_append: f64,
}

/// Seeds the posters' threads in `dir`, then appends for `warmup` and
/// measures for `window`.
pub(crate) async fn measure(
    fixture: &Fixture,
    dir: &Path,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Alone> {
    fixture.seed(dir, 0)?;
    let store = SledStore::open_released(dir, Duration::from_secs(5))
        .map_err(|e| anyhow!("cannot open {}: {e}", dir.display()))?;
    let store: Arc<dyn Store> = Arc::new(store);
    let flusher = Flusher::start(store).context("the flusher thread starts")?;
    let started = Instant::now();
    let (from, until) = (started + warmup, started + warmup + window);
    let counted = tokio::spawn(async move {
        let me = std::process::id();
        tokio::time::sleep_until(from.into()).await;
        let before = crate::relay_load::written(me);
        tokio::time::sleep_until(until.into()).await;
        Some(crate::relay_load::written(me)?.saturating_sub(before?))
    });
    let mut tasks = Vec::new();
    for poster in &fixture.posters {
        let envelopes = poster
            .envelopes
            .iter()
            .map(|e| ozvi_crypto::format::b64::decode(e).context("a poster's envelope"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mailbox = poster.mailbox_id();
        let flusher = flusher.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for envelope in envelopes.iter().cycle() {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let job = AppendJob {
                    mailbox,
                    author: Author::Person,
                    envelope: envelope.clone(),
                    now: 120,
                    quota: Quota {
                        max_messages: u32::MAX,
                        max_bytes: u64::MAX,
                    },
                    claims: Vec::new(),
                    file_quota: Default::default(),
                };
                match flusher.append(job).await {
                    Ok(Ok(_)) => {}
                    _ => return Err(anyhow!("an append failed")),
                }
                if sent >= from {
                    latencies.push(micros(sent.elapsed()));
                }
            }
            Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.context("an appending task")??);
    }
    latencies.sort_unstable();
    let written = counted.await.context("the write counter")?;
    let appended = latencies.len().max(1) as f64;
    Ok(Alone {
        written_per_append: written.map_or(f64::NAN, |w| w as f64 / appended),
        stats: Stats {
            window,
            latencies_us: latencies,
            ..Stats::default()
        },
    })
}
