//! `cargo xtask load --only flood [--seconds N]`: 64 attacking clients
//! against one centre while a genuine person opens a conversation every few
//! seconds. Every genuine first contact must succeed (the command fails
//! otherwise); her Send → code time under the flood is printed beside the
//! quiet figure (docs/PERFORMANCE.md, "Flood").
//!
//! The relay runs with its default limits and proof of work. Attackers come
//! from [`ATTACK_ADDRESSES`] loopback source addresses (127.0.0.10 …), the
//! genuine people each from their own (127.0.1.n): the relay's limits are
//! per address, and binding a client socket to any 127.0.0.0/8 address works
//! on Linux loopback. Attackers solve every proof of work they send (on one
//! core, so that the relay and the person keep the other), and do four
//! things, a quarter of them each:
//! - reuse one mailbox id: valid proofs, `thread_exists` every time;
//! - create threads with fresh mailbox ids as fast as they can;
//! - fetch challenges without solving them, and send creations with forged
//!   proofs and garbage envelopes;
//! - hold event streams open on a thread of their own, then fetch challenges.
//!
//! What the person does is timed as the page does it after sealing: fetch a
//! challenge, solve it (natively here; the page's WebAssembly is slower, so
//! compare ratios), send the creation.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ozvi_api::person::{CreateThread, PowSolution};
use ozvi_api::public::{Challenge, ChallengeRequest, Purpose};
use ozvi_api::routes::paths;
use ozvi_crypto::PersonKeys;
use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::pow;
use rand_core::Rng as _;
use tokio::sync::Semaphore;

use super::fixture::{Fixture, seal_person};
use super::relay;

/// Attacking clients.
const ATTACKERS: usize = 64;
/// Their source addresses: 127.0.0.10 up to 127.0.0.(10 + N − 1).
const ATTACK_ADDRESSES: usize = 32;
/// The attacked centre.
const CENTRE: &str = "ic-zlin";
/// First contacts measured before the flood.
const QUIET_CONTACTS: usize = 5;
/// Time between the person's first contacts during the flood.
const INTERVAL: Duration = Duration::from_secs(3);
/// Event streams each stream-holding attacker opens.
const STREAMS_PER_ATTACKER: usize = 8;

/// One genuine first contact.
struct Contact {
    /// `201` or what went wrong.
    outcome: String,
    created: bool,
    difficulty: u8,
    /// Challenge + proof of work + creation.
    send_to_code: Duration,
}

/// Counts of what the attackers got back, e.g. `"create 409 thread_exists"`.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<String, u64>>);

impl Tally {
    fn add(&self, key: String) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(key)
            .or_insert(0) += 1;
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn client_from(source: IpAddr, timeout: Option<Duration>) -> anyhow::Result<reqwest::Client> {
    ozvi_tests::http::install_tls_provider();
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .local_address(source)
        .tcp_nodelay(true);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder.build().context("cannot build an HTTP client")
}

fn random_person() -> PersonKeys {
    let mut root = [0u8; 32];
    os_rng().fill_bytes(&mut root);
    PersonKeys::from_root(&root)
}

/// `status code` of a response, e.g. `409 thread_exists`.
async fn outcome(response: Result<reqwest::Response, reqwest::Error>) -> String {
    match response {
        Err(e) if e.is_timeout() => "timeout".into(),
        Err(_) => "transport error".into(),
        Ok(r) => {
            let status = r.status().as_u16();
            match r.json::<ozvi_api::ErrorBody>().await {
                Ok(body) => format!("{status} {}", body.code),
                Err(_) => status.to_string(),
            }
        }
    }
}

/// A challenge of `purpose`: (challenge, difficulty), or the failure.
async fn challenge(
    http: &reqwest::Client,
    base: &str,
    purpose: Purpose,
) -> Result<(String, u8), String> {
    let response = http
        .post(format!("{base}{}", paths::POW))
        .json(&ChallengeRequest { purpose })
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => {
            let body: Challenge = r
                .json()
                .await
                .map_err(|_| "pow: not a challenge".to_string())?;
            Ok((body.challenge, body.difficulty))
        }
        other => Err(format!("pow {}", outcome(other).await)),
    }
}

/// Solves a challenge on a blocking thread (at most `solvers` at a time).
async fn solve(text: &str, difficulty: u8, solvers: Option<&Semaphore>) -> Option<u64> {
    let raw = b64::decode(text).ok()?;
    let _permit = match solvers {
        Some(s) => Some(s.acquire().await.ok()?),
        None => None,
    };
    tokio::task::spawn_blocking(move || pow::solve(&raw, difficulty))
        .await
        .ok()
        .flatten()
}

fn creation(who: &PersonKeys, envelope: &[u8], pow: PowSolution) -> CreateThread {
    CreateThread {
        mailbox_id: who.mailbox_id().to_b64(),
        verifier: b64::encode(&who.auth_secret().verifier().0),
        centre: CENTRE.to_string(),
        envelope: b64::encode(envelope),
        pow: Some(pow),
        files: Vec::new(),
    }
}

/// Challenge, solve, create: what the page does after sealing. Returns the
/// creation's outcome and the difficulty paid.
async fn solve_and_create(
    http: &reqwest::Client,
    base: &str,
    who: &PersonKeys,
    envelope: &[u8],
    solvers: Option<&Semaphore>,
) -> (String, u8) {
    let (text, difficulty) = match challenge(http, base, Purpose::Create).await {
        Ok(c) => c,
        Err(e) => return (e, 0),
    };
    let Some(nonce) = solve(&text, difficulty, solvers).await else {
        return ("unsolvable challenge".into(), difficulty);
    };
    let body = creation(
        who,
        envelope,
        PowSolution {
            challenge: text,
            nonce,
        },
    );
    let response = http
        .post(format!("{base}{}", paths::THREADS))
        .json(&body)
        .send()
        .await;
    (format!("create {}", outcome(response).await), difficulty)
}

/// The genuine person's first contact from `source`, timed from "Send" (her
/// message is already sealed, as the page seals before it asks for work).
async fn first_contact(fixture: &Fixture, base: &str, source: IpAddr) -> anyhow::Result<Contact> {
    let http = client_from(source, Some(Duration::from_secs(60)))?;
    let her = random_person();
    let envelope = seal_person(&fixture.directory, CENTRE, &her, 0)?;
    let started = Instant::now();
    let (outcome, difficulty) = solve_and_create(&http, base, &her, &envelope, None).await;
    Ok(Contact {
        created: outcome == "create 201",
        outcome,
        difficulty,
        send_to_code: started.elapsed(),
    })
}

/// The source address of the person's `n`-th first contact: everyone her
/// own, as genuine people are.
fn person_address(n: usize) -> IpAddr {
    IpAddr::from([127, 0, 1, (1 + n % 250) as u8])
}

/// One attacker until `stop`.
async fn attack(
    i: usize,
    fixture: Arc<Fixture>,
    base: String,
    stop: Arc<AtomicBool>,
    solvers: Arc<Semaphore>,
    tally: Arc<Tally>,
) {
    let source = IpAddr::from([127, 0, 0, (10 + i % ATTACK_ADDRESSES) as u8]);
    let Ok(http) = client_from(source, Some(Duration::from_secs(30))) else {
        tally.add("client could not be built".into());
        return;
    };
    let own = random_person();
    let Ok(own_envelope) = seal_person(&fixture.directory, CENTRE, &own, 0) else {
        return;
    };
    match i % 4 {
        // One mailbox id, reused with valid proofs.
        0 => {
            let (first, _) =
                solve_and_create(&http, &base, &own, &own_envelope, Some(&solvers)).await;
            tally.add(format!("reuse: {first}"));
            while !stop.load(Ordering::Relaxed) {
                let (got, _) =
                    solve_and_create(&http, &base, &own, &own_envelope, Some(&solvers)).await;
                tally.add(format!("reuse: {got}"));
            }
        }
        // Fresh mailbox ids, as many as the relay takes.
        1 => {
            while !stop.load(Ordering::Relaxed) {
                let who = random_person();
                let Ok(envelope) = seal_person(&fixture.directory, CENTRE, &who, 0) else {
                    continue;
                };
                let (got, _) =
                    solve_and_create(&http, &base, &who, &envelope, Some(&solvers)).await;
                tally.add(format!("fresh: {got}"));
            }
        }
        // Challenges never solved; forged proofs; garbage envelopes.
        2 => {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let challenge = match challenge(&http, &base, Purpose::Create).await {
                    Ok((text, _)) => text,
                    Err(e) => {
                        tally.add(format!("junk: {e}"));
                        "AAAA".to_string()
                    }
                };
                let who = random_person();
                let mut body = creation(
                    &who,
                    &own_envelope,
                    PowSolution {
                        challenge,
                        nonce: n,
                    },
                );
                if n.is_multiple_of(2) {
                    body.envelope = b64::encode(&vec![0x42u8; 1459]);
                }
                let response = http
                    .post(format!("{base}{}", paths::THREADS))
                    .json(&body)
                    .send()
                    .await;
                tally.add(format!("junk: create {}", outcome(response).await));
            }
        }
        // Event streams held open on a thread of its own.
        _ => {
            let (first, _) =
                solve_and_create(&http, &base, &own, &own_envelope, Some(&solvers)).await;
            tally.add(format!("streams: {first}"));
            let Ok(streams) = client_from(source, None) else {
                return;
            };
            let mut held = Vec::new();
            for _ in 0..STREAMS_PER_ATTACKER {
                let response = streams
                    .get(format!("{base}/api/v1/mailbox/events"))
                    .header("Ozvi-Mailbox", own.mailbox_id().to_b64())
                    .header("Ozvi-Auth", b64::encode(own.auth_secret().expose()))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        tally.add("streams: events 200 (held)".into());
                        held.push(r);
                    }
                    other => tally.add(format!("streams: events {}", outcome(other).await)),
                }
            }
            while !stop.load(Ordering::Relaxed) {
                match challenge(&http, &base, Purpose::Create).await {
                    Ok(_) => tally.add("streams: pow 200".into()),
                    Err(e) => tally.add(format!("streams: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            drop(held);
        }
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the flood scenario for `seconds` against a fresh relay.
pub async fn run(binary: &Path, work: &Path, seconds: u64) -> anyhow::Result<()> {
    let fixture = Arc::new(Fixture::new(0)?);
    let config = fixture.write_default_config(work)?;
    let log = work.join("relay.log");
    let relay = relay::start(binary, &config, &work.join("flood"), &log)?;
    let base = relay.base.clone();
    println!(
        "relay PID {} with its default limits and proof of work; {ATTACKERS} attackers from \
         {ATTACK_ADDRESSES} addresses against {CENTRE}, {seconds} s",
        relay.pid()
    );

    println!("\nQuiet: {QUIET_CONTACTS} first contacts, nobody else on the relay");
    let mut quiet = Vec::new();
    let mut failed = 0;
    for n in 0..QUIET_CONTACTS {
        let c = first_contact(&fixture, &base, person_address(n)).await?;
        println!(
            "  quiet   #{n:<3} {:<28} {:>2} bits  Send → code {:>7.0} ms",
            c.outcome,
            c.difficulty,
            ms(c.send_to_code)
        );
        failed += usize::from(!c.created);
        quiet.push(c.send_to_code);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let solvers = Arc::new(Semaphore::new(1));
    let tally = Arc::new(Tally::default());
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|i| {
            tokio::spawn(attack(
                i,
                Arc::clone(&fixture),
                base.clone(),
                Arc::clone(&stop),
                Arc::clone(&solvers),
                Arc::clone(&tally),
            ))
        })
        .collect();
    println!("\nFlood: a first contact every {} s", INTERVAL.as_secs());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut flood = Vec::new();
    let mut difficulties = Vec::new();
    let mut n = QUIET_CONTACTS;
    tokio::time::sleep(Duration::from_secs(2)).await;
    while Instant::now() + INTERVAL / 2 < deadline {
        let next = Instant::now() + INTERVAL;
        let c = first_contact(&fixture, &base, person_address(n)).await?;
        println!(
            "  +{:>4.1} s #{n:<3} {:<28} {:>2} bits  Send → code {:>7.0} ms",
            started.elapsed().as_secs_f64(),
            c.outcome,
            c.difficulty,
            ms(c.send_to_code)
        );
        failed += usize::from(!c.created);
        flood.push(c.send_to_code);
        difficulties.push(c.difficulty);
        n += 1;
        tokio::time::sleep_until(next.into()).await;
    }
    stop.store(true, Ordering::Relaxed);
    let stopping = Instant::now();
    for attacker in attackers {
        let left = Duration::from_secs(60).saturating_sub(stopping.elapsed());
        if tokio::time::timeout(left, attacker).await.is_err() {
            bail!("an attacker did not stop within 60 s");
        }
    }
    let memory = relay.memory().map_err(anyhow::Error::msg)?;
    relay::stop(relay)?;

    println!("\nWhat the attackers got ({} s):", seconds);
    for (what, count) in tally.snapshot() {
        println!("  {count:>7} × {what}");
    }
    let (q, f) = (median(quiet), median(flood.clone()));
    let worst = flood.iter().max().copied().unwrap_or_default();
    println!(
        "\nGenuine first contacts: {} quiet, {} under the flood, {failed} failed",
        QUIET_CONTACTS,
        flood.len()
    );
    println!(
        "  Send → code, median: quiet {:.0} ms, flood {:.0} ms (× {:.2}); flood worst {:.0} ms; \
         difficulty under the flood {}–{} bits",
        ms(q),
        ms(f),
        f.as_secs_f64() / q.as_secs_f64().max(1e-9),
        ms(worst),
        difficulties.iter().min().copied().unwrap_or(0),
        difficulties.iter().max().copied().unwrap_or(0)
    );
    println!(
        "  relay memory: VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        memory.rss_kib as f64 / 1024.0,
        memory.hwm_kib as f64 / 1024.0
    );
    if failed > 0 || flood.is_empty() {
        bail!("{failed} genuine first contact(s) failed under the flood");
    }
    Ok(())
}
