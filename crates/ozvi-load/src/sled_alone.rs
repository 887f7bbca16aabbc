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

/// Seeds the posters' threads in `dir`, then appends for `warmup` and
/// measures for `window`: each durable append is one operation of the
/// returned [`Stats`], as a request is in a scenario.
pub(crate) async fn measure(
    fixture: &Fixture,
    dir: &Path,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Stats> {
    fixture.seed(dir, 0)?;
    let store = SledStore::open_released(dir, Duration::from_secs(5))
        .map_err(|e| anyhow!("cannot open {}: {e}", dir.display()))?;
    let store: Arc<dyn Store> = Arc::new(store);
    let flusher = Flusher::start(store).context("the flusher thread starts")?;
    let started = Instant::now();
    let (from, until) = (started + warmup, started + warmup + window);
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
    Ok(Stats {
        window,
        latencies_us: latencies,
        ..Stats::default()
    })
}
