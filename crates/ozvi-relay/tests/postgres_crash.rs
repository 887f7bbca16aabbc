//! Two real `ozvi-relay` processes on one PostgreSQL database (issue 16):
//! people post concurrently through both while relay A is killed with
//! SIGKILL (and started again) and PostgreSQL is restarted with a fast
//! shutdown (`pg_ctl stop -m fast`, as an operator's restart does). Every
//! message a relay acknowledged (201 with its seq) is in its thread exactly
//! once, at that seq, byte for byte, and every thread's seqs run 1, 2, 3…
//! without a gap.
//!
//! A client that gets no acknowledgement (a connection error, a 503, a
//! timeout) does not know whether its message was kept: the write may have
//! committed just before the answer was lost (docs/OPERATIONS.md,
//! "PostgreSQL (several relays)"). So it does what the web client must: it
//! reads its thread, and sends the message again only if it is not there.
//! Sent again blindly, such a message would be stored twice.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::{Directory, PersonKeys};
use ozvi_tests::cast::Cast;
use ozvi_tests::person::text_body;
use ozvi_tests::postgres::TestPostgres;
use ozvi_tests::relay::RelayProcess;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

/// Concurrent people, each in her own thread.
const POSTERS: u32 = 12;
/// Messages each sends (her thread's first included).
const MESSAGES: usize = 100;
/// No poster keeps trying after this long (the test must end in bounded
/// time even if a relay never comes back).
const POSTING_LIMIT: Duration = Duration::from_secs(35);
/// One request's limit: a hung connection is a failure, never a wait.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Before a client reads back after a lost answer: a COMMIT already on its
/// way to the server when the relay died is finished by then.
const SETTLE: Duration = Duration::from_millis(300);

/// The data directories, the signed directory of Zlín and its root key.
struct Setup {
    dir: tempfile::TempDir,
    root_key: String,
    directory: Directory,
}

impl Setup {
    fn new() -> Self {
        let (cast, _) = Cast::zlin(16, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        cast.write_directory(&dir.path().join("directory.json"));
        std::fs::write(
            dir.path().join("relay.toml"),
            "store = \"postgres\"\npow_difficulty = 0\nmetrics_listen = \"off\"\n\
             requests_per_address_per_minute = 1000000\nposts_per_thread_per_minute = 1000000\n\
             threads_per_centre_per_hour = 1000000\nthreads_per_address_per_hour = 1000000\n",
        )
        .expect("write");
        Self {
            root_key: cast.root_key(),
            directory: cast.directory,
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts relay `name` (its own data directory for attached files, the
    /// shared database at `url`), its log in `name.log`.
    fn start(&self, name: &str, url: &str) -> RelayProcess {
        let data = self.path(&format!("data-{name}"));
        RelayProcess::start(
            [
                OsStr::new("--data"),
                data.as_os_str(),
                OsStr::new("--config"),
                self.path("relay.toml").as_os_str(),
                OsStr::new("--root-key"),
                OsStr::new(&self.root_key),
                OsStr::new("--directory"),
                self.path("directory.json").as_os_str(),
            ],
            &[("OZVI_DATABASE_URL", url)],
            &self.path(&format!("{name}.log")),
        )
    }
}

fn person(i: u32) -> PersonKeys {
    let mut root = [0u8; 32];
    root[..4].copy_from_slice(&(0x1600_0000 + i).to_be_bytes());
    PersonKeys::from_root(&root)
}

/// Her messages, sealed as the web client seals them (distinct bytes each).
fn envelopes(setup: &Setup, who: u32, p: &PersonKeys) -> Vec<Vec<u8>> {
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(who));
    (0..MESSAGES)
        .map(|i| {
            ozvi_tests::person::envelope(
                &mut rng,
                &setup.directory.centres[0],
                p,
                None,
                Kind::PersonMessage,
                &text_body(&format!("poster {who} message {i}")),
                0,
            )
        })
        .collect()
}

/// The two relays' base URLs now (A's changes when it is started again).
type Bases = Arc<Mutex<[String; 2]>>;

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// A relay answered 201 with this seq.
    Acknowledged(u64),
    /// No answer said so, but reading the thread back found it.
    FoundAfterLostAnswer,
    /// Given up at the time limit after a lost answer: it may be stored,
    /// at most once.
    Unknown,
}

/// One poster's result: per message, its envelope and outcome.
type Results = Vec<(Vec<u8>, Outcome)>;

/// Counters the test reports and checks.
#[derive(Default)]
struct Counts {
    acknowledged: AtomicU64,
    lost_answers: AtomicU64,
    found_after_lost: AtomicU64,
}

/// The answer to one attempt to send.
enum Sent {
    Acknowledged(u64),
    /// No acknowledgement: the message may or may not be stored.
    Lost,
}

async fn pow(http: &reqwest::Client, base: &str, purpose: &str) -> Option<Value> {
    let response = http
        .post(format!("{base}/api/v1/pow"))
        .json(&json!({"purpose": purpose}))
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let c: Value = response.json().await.ok()?;
    Some(json!({"challenge": c["challenge"], "nonce": 0}))
}

/// One attempt: her thread's first message (`first`) or a further one.
async fn send(http: &reqwest::Client, base: &str, p: &PersonKeys, env: &[u8], first: bool) -> Sent {
    let purpose = if first { "create" } else { "post" };
    let Some(pow) = pow(http, base, purpose).await else {
        return Sent::Lost;
    };
    let request = if first {
        http.post(format!("{base}/api/v1/threads")).json(&json!({
            "mailbox_id": p.mailbox_id().to_b64(),
            "verifier": b64::encode(&p.auth_secret().verifier().0),
            "centre": "ic-zlin",
            "envelope": b64::encode(env),
            "pow": pow,
        }))
    } else {
        http.post(format!("{base}/api/v1/mailbox/messages"))
            .header("Ozvi-Mailbox", p.mailbox_id().to_b64())
            .header("Ozvi-Auth", b64::encode(p.auth_secret().expose()))
            .json(&json!({"envelope": b64::encode(env), "pow": pow}))
    };
    let Ok(response) = request.send().await else {
        return Sent::Lost;
    };
    let status = response.status().as_u16();
    let seq = response
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| v["seq"].as_u64());
    match (status, seq) {
        (201, Some(seq)) => Sent::Acknowledged(seq),
        (201, None) | (503, _) => Sent::Lost,
        (status, _) => panic!("the relay refused a well-formed message: {status}"),
    }
}

/// Her whole thread through the relay at `base`: `Some(messages)` (empty if
/// there is no thread of hers), `None` if the relay could not answer now.
async fn read_thread(
    http: &reqwest::Client,
    base: &str,
    p: &PersonKeys,
) -> Option<Vec<(u64, Vec<u8>)>> {
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    for _ in 0..1_000 {
        let after = out.last().map_or(0, |(s, _)| *s);
        let response = http
            .get(format!("{base}/api/v1/mailbox/messages?after={after}"))
            .header("Ozvi-Mailbox", p.mailbox_id().to_b64())
            .header("Ozvi-Auth", b64::encode(p.auth_secret().expose()))
            .send()
            .await
            .ok()?;
        match response.status().as_u16() {
            200 => {}
            // No thread of hers (yet): her creation was not kept.
            401 | 403 | 404 if out.is_empty() => return Some(out),
            _ => return None,
        }
        let page: Value = response.json().await.ok()?;
        let messages = page["messages"].as_array()?;
        if messages.is_empty() {
            return Some(out);
        }
        for m in messages {
            out.push((
                m["seq"].as_u64()?,
                b64::decode(m["envelope"].as_str()?).ok()?,
            ));
        }
    }
    panic!("a thread of at most {MESSAGES} messages took 1000 pages");
}

/// One person: sends her messages one after another, each through one
/// relay or the other; after a lost answer reads her thread (through
/// either relay) and sends again only what is not there.
async fn poster(
    who: u32,
    p: PersonKeys,
    envelopes: Vec<Vec<u8>>,
    bases: Bases,
    counts: Arc<Counts>,
    deadline: Instant,
) -> Results {
    ozvi_tests::http::install_tls_provider();
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("client");
    let mut results = Results::new();
    let mut attempt = who as usize;
    for (i, env) in envelopes.into_iter().enumerate() {
        let mut in_doubt = false;
        let outcome = loop {
            if Instant::now() > deadline {
                break if in_doubt {
                    Some(Outcome::Unknown)
                } else {
                    None
                };
            }
            attempt += 1;
            let base = bases.lock().expect("lock")[attempt % 2].clone();
            if in_doubt {
                tokio::time::sleep(SETTLE).await;
                match read_thread(&http, &base, &p).await {
                    None => continue,
                    Some(thread) if thread.iter().any(|(_, e)| *e == env) => {
                        counts.found_after_lost.fetch_add(1, Ordering::Relaxed);
                        break Some(Outcome::FoundAfterLostAnswer);
                    }
                    Some(_) => in_doubt = false,
                }
                continue;
            }
            match send(&http, &base, &p, &env, i == 0).await {
                Sent::Acknowledged(seq) => {
                    counts.acknowledged.fetch_add(1, Ordering::Relaxed);
                    break Some(Outcome::Acknowledged(seq));
                }
                Sent::Lost => {
                    counts.lost_answers.fetch_add(1, Ordering::Relaxed);
                    in_doubt = true;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        match outcome {
            Some(outcome) => results.push((env, outcome)),
            None => break,
        }
        if matches!(results.last(), Some((_, Outcome::Unknown))) {
            break;
        }
    }
    results
}

/// Waits until `at_least` messages have been acknowledged, the limit, or a
/// poster's end (one that failed ends the test at once).
async fn until_acknowledged(
    counts: &Counts,
    at_least: u64,
    limit: Instant,
    posters: &[tokio::task::JoinHandle<Results>],
) {
    while counts.acknowledged.load(Ordering::Relaxed) < at_least
        && Instant::now() < limit
        && !posters.iter().any(tokio::task::JoinHandle::is_finished)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks one thread as stored against what its poster saw.
fn check_thread(who: u32, stored: &[(u64, Vec<u8>)], results: &Results) {
    let seqs: Vec<u64> = stored.iter().map(|(s, _)| *s).collect();
    let expected: Vec<u64> = (1..=stored.len() as u64).collect();
    assert_eq!(seqs, expected, "poster {who}: the seqs are not 1, 2, 3…");
    let mut position = 0usize;
    for (env, outcome) in results {
        let found: Vec<u64> = stored
            .iter()
            .filter(|(_, e)| e == env)
            .map(|(s, _)| *s)
            .collect();
        match outcome {
            Outcome::Acknowledged(seq) => assert_eq!(
                found,
                [*seq],
                "poster {who}: an acknowledged message is not stored exactly once at its seq"
            ),
            Outcome::FoundAfterLostAnswer => {
                assert_eq!(found.len(), 1, "poster {who}: a message stored twice")
            }
            Outcome::Unknown => assert!(found.len() <= 1, "poster {who}: a message stored twice"),
        }
        if let Some(&seq) = found.first() {
            assert!(
                seq as usize > position,
                "poster {who}: her messages are out of order"
            );
            position = seq as usize;
        }
    }
    let known = stored
        .iter()
        .filter(|(_, e)| results.iter().any(|(r, _)| r == e))
        .count();
    assert_eq!(
        known,
        stored.len(),
        "poster {who}: the thread holds messages she never sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_a_killed_relay_and_a_database_restart_exactly_once() {
    let started = Instant::now();
    let setup = Arc::new(Setup::new());
    let server = TestPostgres::start();
    let url = server.url();
    let mut relay_a = setup.start("a", &url);
    let relay_b = setup.start("b", &url);
    let bases: Bases = Arc::new(Mutex::new([relay_a.base.clone(), relay_b.base.clone()]));
    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + POSTING_LIMIT;

    let mut posters = Vec::new();
    for who in 0..POSTERS {
        let p = person(who);
        let envelopes = envelopes(&setup, who, &p);
        let (bases, counts) = (bases.clone(), counts.clone());
        posters.push(tokio::spawn(poster(
            who, p, envelopes, bases, counts, deadline,
        )));
    }
    let total = u64::from(POSTERS) * MESSAGES as u64;

    // A quarter through: relay A dies (requests in flight on it lose their
    // answers), and is started again on the same database.
    until_acknowledged(&counts, total / 4, deadline, &posters).await;
    let before_kill = counts.acknowledged.load(Ordering::Relaxed);
    let (mut child, _) = relay_a.into_parts();
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let setup_a = setup.clone();
    let url_a = url.clone();
    relay_a = tokio::task::spawn_blocking(move || setup_a.start("a", &url_a))
        .await
        .expect("relay A starts again");
    bases.lock().expect("lock")[0] = relay_a.base.clone();
    eprintln!(
        "relay A killed after {before_kill} acknowledgements, started again at {:?}",
        started.elapsed()
    );

    // Halfway: PostgreSQL restarts (fast shutdown) under both relays.
    until_acknowledged(&counts, total / 2, deadline, &posters).await;
    let before_restart = counts.acknowledged.load(Ordering::Relaxed);
    let restart = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.restart_fast();
        server
    });
    let server = restart.await.expect("PostgreSQL restarts");
    eprintln!(
        "PostgreSQL restarted (fast) after {before_restart} acknowledgements, at {:?}",
        started.elapsed()
    );

    let mut results = Vec::new();
    for poster in posters {
        results.push(poster.await.expect("poster"));
    }
    let acknowledged = counts.acknowledged.load(Ordering::Relaxed);
    let lost = counts.lost_answers.load(Ordering::Relaxed);
    let found = counts.found_after_lost.load(Ordering::Relaxed);
    eprintln!(
        "{acknowledged} acknowledged, {lost} answers lost, {found} of those messages found \
         stored on reading back, at {:?}",
        started.elapsed()
    );
    assert!(
        acknowledged > before_restart,
        "posting went on after the database's restart"
    );
    assert!(
        lost > 0,
        "no request lost its answer: the crash and restart hit nothing"
    );
    for (who, results) in (0..POSTERS).zip(&results) {
        assert_eq!(
            results.len(),
            MESSAGES,
            "poster {who} did not finish within {POSTING_LIMIT:?}"
        );
        assert!(
            results.iter().all(|(_, o)| *o != Outcome::Unknown),
            "poster {who} gave up on a message"
        );
    }

    // Every thread, read through each relay: both see the same.
    let http = ozvi_tests::http::client();
    for (who, results) in (0..POSTERS).zip(&results) {
        let p = person(who);
        let through_a = read_thread(&http, &relay_a.base, &p).await;
        let through_b = read_thread(&http, &relay_b.base, &p).await;
        let stored = through_b.expect("relay B reads the thread");
        assert_eq!(
            through_a.as_ref(),
            Some(&stored),
            "poster {who}: the relays disagree"
        );
        check_thread(who, &stored, results);
    }
    drop(server);
    for relay in [&relay_a, &relay_b] {
        let log = std::fs::read_to_string(&relay.log).expect("log");
        assert!(!log.contains("panicked"), "a relay panicked:\n{log}");
        assert!(
            !log.contains(ozvi_tests::postgres::PASSWORD),
            "the password is in a relay's log"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the test took {:?}",
        started.elapsed()
    );
}
