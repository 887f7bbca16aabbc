//! Tests of the real `ozvi-relay` binary: killed with SIGKILL under
//! concurrent posting it loses no acknowledged message, and after a scripted
//! session neither its log nor its data directory holds plaintext, codes,
//! mailbox ids or client addresses.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::{Directory, PersonKeys, StaffKeys};
use ozvi_tests::cast::Cast;
use ozvi_tests::person::text_body;
use ozvi_tests::programs::terminate;
use ozvi_tests::relay::{OwnedChild, RelayProcess};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

const CANARY: &str = "CANARY-7f3a-Kateřina-plaintext";

struct Setup {
    dir: tempfile::TempDir,
    root: Ed25519Secret,
    directory: Directory,
    staff: StaffKeys,
}

impl Setup {
    fn new() -> Self {
        let (cast, staff) = Cast::zlin(7, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        cast.write_directory(&dir.path().join("directory.json"));
        std::fs::write(
            dir.path().join("relay.toml"),
            "pow_difficulty = 0\nrequests_per_address_per_minute = 1000000\nposts_per_thread_per_minute = 1000000\nthreads_per_centre_per_hour = 1000000\nmetrics_listen = \"127.0.0.1:0\"\n",
        )
        .expect("write");
        let Cast { root, directory } = cast;
        Self {
            dir,
            root,
            directory,
            staff: staff.into_iter().next().expect("one"),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the relay (debug log appended to `log`); returns it with its
    /// base URL.
    fn start(&self, log: &Path) -> (OwnedChild, String) {
        let dir = self.dir.path();
        RelayProcess::start(
            [
                OsStr::new("--data"),
                self.data().as_os_str(),
                OsStr::new("--config"),
                dir.join("relay.toml").as_os_str(),
                OsStr::new("--root-key"),
                OsStr::new(&b64::encode(&self.root.public().to_bytes())),
                OsStr::new("--directory"),
                dir.join("directory.json").as_os_str(),
            ],
            &[("OZVI_LOG", "debug")],
            log,
        )
        .into_parts()
    }
}

fn person(i: u32) -> PersonKeys {
    let mut root = [0u8; 32];
    root[..4].copy_from_slice(&i.to_be_bytes());
    PersonKeys::from_root(&root)
}

fn envelope(setup: &Setup, p: &PersonKeys, text: &str, rng: &mut ChaCha20Rng) -> Vec<u8> {
    ozvi_tests::person::envelope(
        rng,
        &setup.directory.centres[0],
        p,
        None,
        Kind::PersonMessage,
        &text_body(text),
        0,
    )
}

async fn pow(http: &reqwest::Client, base: &str, purpose: &str) -> Option<Value> {
    let c: Value = http
        .post(format!("{base}/api/v1/pow"))
        .json(&json!({"purpose": purpose}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(json!({"challenge": c["challenge"], "nonce": 0}))
}

async fn create(http: &reqwest::Client, base: &str, p: &PersonKeys, env: &[u8]) -> bool {
    let Some(pow) = pow(http, base, "create").await else {
        return false;
    };
    let body = json!({
        "mailbox_id": p.mailbox_id().to_b64(),
        "verifier": b64::encode(&p.auth_secret().verifier().0),
        "centre": "ic-zlin",
        "envelope": b64::encode(env),
        "pow": pow,
    });
    matches!(http.post(format!("{base}/api/v1/threads")).json(&body).send().await, Ok(r) if r.status() == 201)
}

async fn post(http: &reqwest::Client, base: &str, p: &PersonKeys, env: &[u8]) -> Option<u64> {
    let pow = pow(http, base, "post").await?;
    let r = http
        .post(format!("{base}/api/v1/mailbox/messages"))
        .header("Ozvi-Mailbox", p.mailbox_id().to_b64())
        .header("Ozvi-Auth", b64::encode(p.auth_secret().expose()))
        .json(&json!({"envelope": b64::encode(env), "pow": pow}))
        .send()
        .await
        .ok()?;
    if r.status() != 201 {
        return None;
    }
    r.json::<Value>().await.ok()?["seq"].as_u64()
}

async fn list(http: &reqwest::Client, base: &str, p: &PersonKeys) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map_or(0, |(s, _)| *s);
        let page: Value = http
            .get(format!("{base}/api/v1/mailbox/messages?after={after}"))
            .header("Ozvi-Mailbox", p.mailbox_id().to_b64())
            .header("Ozvi-Auth", b64::encode(p.auth_secret().expose()))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let messages = page["messages"].as_array().expect("array");
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            out.push((
                m["seq"].as_u64().expect("seq"),
                b64::decode(m["envelope"].as_str().expect("string")).expect("b64"),
            ));
        }
    }
}

/// (writer, sequence number, envelope) of a message the relay acknowledged.
type Acknowledged = (u32, u64, Vec<u8>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_survives_sigkill() {
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let http = ozvi_tests::http::client();
    let acknowledged: Arc<Mutex<Vec<Acknowledged>>> = Arc::new(Mutex::new(Vec::new()));
    let writers = 8u32;
    for round in 0..3u32 {
        let (mut child, base) = setup.start(&log);
        let deadline = Instant::now() + Duration::from_millis(700);
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (http, base, acknowledged) = (http.clone(), base.clone(), acknowledged.clone());
            let p = person(w);
            let mut rng = ChaCha20Rng::seed_from_u64(u64::from(round * 100 + w));
            let envelopes: Vec<Vec<u8>> = (0..200)
                .map(|i| envelope(&setup, &p, &format!("round {round} message {i}"), &mut rng))
                .collect();
            tasks.push(tokio::spawn(async move {
                if round == 0 {
                    if !create(&http, &base, &p, &envelopes[0]).await {
                        return;
                    }
                    acknowledged
                        .lock()
                        .expect("lock")
                        .push((w, 1, envelopes[0].clone()));
                }
                for env in envelopes.iter().skip(1) {
                    if Instant::now() > deadline + Duration::from_secs(5) {
                        return;
                    }
                    match post(&http, &base, &p, env).await {
                        Some(seq) => acknowledged
                            .lock()
                            .expect("lock")
                            .push((w, seq, env.clone())),
                        None => return, // the relay died under us
                    }
                }
            }));
        }
        tokio::time::sleep_until(deadline.into()).await;
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        for t in tasks {
            t.await.expect("writer task");
        }
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > 3 * writers as usize,
        "the rounds acknowledged messages: {}",
        acknowledged.len()
    );
    let (mut child, base) = setup.start(&log);
    let with_thread: std::collections::BTreeSet<u32> =
        acknowledged.iter().map(|(w, _, _)| *w).collect();
    assert!(
        with_thread.len() > 1,
        "several writers got their thread created"
    );
    for w in with_thread {
        let stored: std::collections::BTreeMap<u64, Vec<u8>> =
            list(&http, &base, &person(w)).await.into_iter().collect();
        for (_, seq, env) in acknowledged.iter().filter(|(who, _, _)| *who == w) {
            assert!(
                stored.get(seq) == Some(env),
                "writer {w}: acknowledged message {seq} is missing or not byte-identical"
            );
        }
    }
    child.kill().expect("stop");
    let _ = child.wait();
}

#[tokio::test]
async fn logs_and_data_hold_no_plaintext_ids_or_addresses() {
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    ozvi_tests::http::install_tls_provider();
    let http = reqwest::Client::builder()
        .user_agent("CanaryBrowser/9.9")
        .build()
        .expect("client");
    let (mut child, base) = setup.start(&log);
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let anna = person(1000);
    assert!(
        create(
            &http,
            &base,
            &anna,
            &envelope(&setup, &anna, CANARY, &mut rng)
        )
        .await
    );
    assert!(
        post(
            &http,
            &base,
            &anna,
            &envelope(&setup, &anna, CANARY, &mut rng)
        )
        .await
        .is_some()
    );
    assert_eq!(list(&http, &base, &anna).await.len(), 2);
    let wrong = http
        .get(format!("{base}/api/v1/mailbox/messages"))
        .header("Ozvi-Mailbox", anna.mailbox_id().to_b64())
        .header("Ozvi-Auth", b64::encode(&[0u8; 32]))
        .send()
        .await
        .expect("request");
    assert_eq!(
        wrong.status(),
        404,
        "a wrong secret is answered like a missing thread"
    );
    child.kill().expect("stop");
    child.wait().expect("reaped");

    let log_text = std::fs::read_to_string(&log).expect("log");
    assert!(log_text.contains("request"), "the relay did log requests");
    let mailbox_b64 = anna.mailbox_id().to_b64();
    let auth_b64 = b64::encode(anna.auth_secret().expose());
    // Every line, the relay's own start-up lines included: not even its
    // listening address is logged.
    for line in log_text.lines() {
        for secret in [
            CANARY,
            mailbox_b64.as_str(),
            auth_b64.as_str(),
            "127.0.0.1",
            "CanaryBrowser",
            "::1",
        ] {
            assert!(
                !line.contains(secret),
                "a log line reveals {secret:?}: {line}"
            );
        }
    }
    let mut files = vec![setup.data()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("dir")
                    .map(|e| e.expect("entry").path()),
            );
            continue;
        }
        if std::os::unix::fs::FileTypeExt::is_socket(
            &std::fs::symlink_metadata(&path).expect("stat").file_type(),
        ) {
            continue; // the control socket a killed relay left behind
        }
        let bytes = std::fs::read(&path).expect("file");
        for needle in [
            CANARY.as_bytes(),
            "Kateřina".as_bytes(),
            "127.0.0.1".as_bytes(),
            "CanaryBrowser".as_bytes(),
            auth_b64.as_bytes(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
}

/// Writers that post until the relay stops answering; returns what was
/// acknowledged.
fn start_writers(
    setup: &Setup,
    base: &str,
    writers: u32,
    seed: u64,
) -> (
    Arc<Mutex<Vec<Acknowledged>>>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let http = ozvi_tests::http::client();
    let acknowledged: Arc<Mutex<Vec<Acknowledged>>> = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (http, base, acknowledged) = (http.clone(), base.to_string(), acknowledged.clone());
        let p = person(500 + w);
        let mut rng = ChaCha20Rng::seed_from_u64(seed + u64::from(w));
        let envelopes: Vec<Vec<u8>> = (0..300)
            .map(|i| envelope(setup, &p, &format!("message {i}"), &mut rng))
            .collect();
        tasks.push(tokio::spawn(async move {
            if !create(&http, &base, &p, &envelopes[0]).await {
                return;
            }
            acknowledged
                .lock()
                .expect("lock")
                .push((500 + w, 1, envelopes[0].clone()));
            for env in envelopes.iter().skip(1) {
                match post(&http, &base, &p, env).await {
                    Some(seq) => {
                        acknowledged
                            .lock()
                            .expect("lock")
                            .push((500 + w, seq, env.clone()))
                    }
                    None => return,
                }
            }
        }));
    }
    (acknowledged, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_flushes_and_exits_zero() {
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let (mut child, base) = setup.start(&log);
    let http = ozvi_tests::http::client();
    // A live-update stream stays open across the shutdown.
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let listener = person(999);
    assert!(
        create(
            &http,
            &base,
            &listener,
            &envelope(&setup, &listener, "hi", &mut rng)
        )
        .await
    );
    let stream = http
        .get(format!("{base}/api/v1/mailbox/events"))
        .header("Ozvi-Mailbox", listener.mailbox_id().to_b64())
        .header("Ozvi-Auth", b64::encode(listener.auth_secret().expose()))
        .send()
        .await
        .expect("stream opens");
    assert_eq!(stream.status(), 200);

    let (acknowledged, tasks) = start_writers(&setup, &base, 6, 40);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = terminate(&mut child, Duration::from_secs(15));
        (child, status)
    })
    .await
    .expect("join")
    .1;
    assert_eq!(status.code(), Some(0), "a clean exit on SIGTERM");
    for t in tasks {
        t.await.expect("writer");
    }
    drop(stream);
    let log_text = std::fs::read_to_string(&log).expect("log");
    assert!(
        log_text.contains("stopped"),
        "the final flush ran: {log_text}"
    );
    assert!(
        !setup.data().join("admin.sock").exists(),
        "the control socket is removed"
    );

    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > 6,
        "messages were acknowledged: {}",
        acknowledged.len()
    );
    let store = ozvi_relay::store::SledStore::open(&setup.data()).expect("reopens");
    use ozvi_relay::store::Store;
    for (w, seq, env) in &acknowledged {
        let stored = store
            .messages(&person(*w).mailbox_id(), seq - 1, 1)
            .expect("reads");
        assert!(
            stored
                .first()
                .is_some_and(|m| m.seq == *seq && &m.envelope == env),
            "writer {w}: acknowledged message {seq} is on disk, byte-identical"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_while_running_gives_a_consistent_snapshot() {
    use ozvi_relay::store::{SledStore, Store};
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let (mut child, base) = setup.start(&log);
    let socket = setup.data().join("admin.sock");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&socket)
            .expect("socket")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "only the relay's user may use the socket"
        );
    }
    let (acknowledged, tasks) = start_writers(&setup, &base, 4, 80);
    tokio::time::sleep(Duration::from_millis(400)).await;

    let export = |out: &Path| {
        Command::new(ozvi_tests::programs::binary("ozvi-relay"))
            .arg("--data")
            .arg(setup.data())
            .arg("export")
            .arg(out)
            .output()
            .expect("runs")
    };
    let out = setup.dir.path().join("snapshot");
    let result = export(&out);
    assert!(
        result.status.success(),
        "export while running: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(String::from_utf8_lossy(&result.stdout).contains("exported to"));
    let again = export(&out);
    assert!(
        !again.status.success(),
        "an existing target is never overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let status =
        tokio::task::spawn_blocking(move || terminate(&mut child, Duration::from_secs(15)))
            .await
            .expect("join");
    assert!(status.success());
    for t in tasks {
        t.await.expect("writer");
    }
    assert!(!acknowledged.lock().expect("lock").is_empty());

    // Every thread in the snapshot is whole: its record and its messages agree.
    let snapshot = SledStore::open(&out).expect("the snapshot opens");
    let threads = snapshot.inactive_since(u64::MAX).expect("threads");
    assert!(
        !threads.is_empty(),
        "the snapshot holds the threads written so far"
    );
    for (mailbox, record) in &threads {
        let messages = snapshot.messages(mailbox, 0, usize::MAX).expect("messages");
        assert_eq!(
            messages.len() as u32,
            record.message_count,
            "a whole thread"
        );
        assert_eq!(messages.last().map(|m| m.seq), Some(record.last_seq));
    }
    assert!(
        snapshot.directory().expect("reads").is_some(),
        "the directory too"
    );
    drop(snapshot);

    // With the relay stopped, the same command reads the data directory itself.
    let offline = setup.dir.path().join("snapshot-offline");
    let result = export(&offline);
    assert!(
        result.status.success(),
        "export of a stopped relay: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let copy = SledStore::open(&offline).expect("opens");
    assert!(copy.inactive_since(u64::MAX).expect("threads").len() >= threads.len());
}

#[test]
fn help_documents_every_setting() {
    let output = Command::new(ozvi_tests::programs::binary("ozvi-relay"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--listen",
        "--data",
        "--config",
        "--root-key",
        "--directory",
        "--web-root",
        "--pow-difficulty",
        "OZVI_LISTEN",
        "OZVI_DATA",
        "OZVI_CONFIG",
        "export",
        "serve",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
    let bad = Command::new(ozvi_tests::programs::binary("ozvi-relay"))
        .arg("--listen")
        .arg("not-an-address")
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--listen"));
}

/// The relay refuses to run with settings that would make every client behind
/// a proxy share one rate limit: one line saying what to do, exit status 1.
#[tokio::test]
async fn behind_tls_without_a_trusted_proxy_refuses_to_start() {
    let setup = Setup::new();
    let root = b64::encode(&setup.root.public().to_bytes());
    for (toml, needle) in [
        ("behind_tls = true\n", "trusted_proxies"),
        (
            "behind_tls = true\ntrusted_proxies = []\n",
            "trusted_proxies",
        ),
        ("trust_forwarded_for = true\n", "trusted_proxies"),
        ("trusted_proxies = [\"example.org\"]\n", "not an IP address"),
        ("pow_max_difficulty = 24\n", "pow_max_difficulty"),
    ] {
        let config = setup.dir.path().join("refused.toml");
        std::fs::write(&config, toml).expect("write");
        let output = Command::new(ozvi_tests::programs::binary("ozvi-relay"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data")
            .arg(setup.data())
            .arg("--config")
            .arg(&config)
            .arg("--root-key")
            .arg(&root)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{toml}: {stderr}");
        assert!(stderr.contains(needle), "{toml}: {stderr}");
        assert!(!stderr.contains("listening"), "{toml}: {stderr}");
    }
    // With the proxy listed it starts.
    let config = setup.dir.path().join("relay.toml");
    let mut toml = std::fs::read_to_string(&config).expect("read");
    toml.push_str("behind_tls = true\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n");
    std::fs::write(&config, toml).expect("write");
    let log = setup.dir.path().join("relay.log");
    let (mut child, base) = setup.start(&log);
    let health = ozvi_tests::http::client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
    assert!(terminate(&mut child, Duration::from_secs(10)).success());
}

/// A solved challenge cannot be spent again after a restart, nor can one
/// fetched before it: the challenge key lives only in the relay's memory.
#[tokio::test]
async fn a_challenge_from_before_a_restart_is_refused_after_it() {
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let http = ozvi_tests::http::client();
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let (mut relay, base) = setup.start(&log);
    let spent = pow(&http, &base, "create").await.expect("a challenge");
    let unspent = pow(&http, &base, "create").await.expect("a challenge");
    let first = person(900);
    let body = |p: &PersonKeys, pow: &Value, rng: &mut ChaCha20Rng| {
        json!({
            "mailbox_id": p.mailbox_id().to_b64(),
            "verifier": b64::encode(&p.auth_secret().verifier().0),
            "centre": "ic-zlin",
            "envelope": b64::encode(&envelope(&setup, p, "a", rng)),
            "pow": pow,
        })
    };
    let created = http
        .post(format!("{base}/api/v1/threads"))
        .json(&body(&first, &spent, &mut rng))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    assert!(terminate(&mut relay, Duration::from_secs(10)).success());
    let (mut relay, base) = setup.start(&log);
    for (i, old) in [spent, unspent].iter().enumerate() {
        let p = person(901 + u32::try_from(i).expect("small"));
        let response = http
            .post(format!("{base}/api/v1/threads"))
            .json(&body(&p, old, &mut rng))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            403,
            "challenge {i} from before the restart"
        );
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["code"], "invalid_proof_of_work");
    }
    let fresh = pow(&http, &base, "create").await.expect("a challenge");
    let response = http
        .post(format!("{base}/api/v1/threads"))
        .json(&body(&person(903), &fresh, &mut rng))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201, "a new challenge works");
    assert!(terminate(&mut relay, Duration::from_secs(10)).success());
}

/// Unix seconds now.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Sends a signed staff request with `auth`'s headers.
async fn send_staff(
    http: &reqwest::Client,
    base: &str,
    target: &str,
    auth: &ozvi_crypto::protocol::request::RequestAuth,
) -> reqwest::Response {
    let mut request = http.get(format!("{base}{target}"));
    for (name, value) in auth.to_headers() {
        request = request.header(name, value);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn a_staff_request_is_refused_after_a_restart_even_one_signed_ahead_of_the_relays_clock() {
    use ozvi_crypto::protocol::request::RequestAuth;
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let http = ozvi_tests::http::client();
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let target = "/api/v1/staff/threads";
    let (mut child, base) = setup.start(&log);
    let captured = RequestAuth::sign(
        &mut rng,
        &setup.staff,
        &setup.directory.salt,
        "GET",
        target,
        b"",
        unix_now(),
    )
    .expect("signs");
    assert_eq!(
        send_staff(&http, &base, target, &captured).await.status(),
        200
    );
    // Replayed at once: its spent nonce refuses it.
    let again = send_staff(&http, &base, target, &captured).await;
    assert_eq!(again.status(), 401);
    // A request from a desk whose clock runs 50 s ahead of the relay's
    // (inside the window): its timestamp is after the restart below, so
    // only its nonce, kept in the store, can refuse its replay.
    let ahead = RequestAuth::sign(
        &mut rng,
        &setup.staff,
        &setup.directory.salt,
        "GET",
        target,
        b"",
        unix_now() + 50,
    )
    .expect("signs");
    assert_eq!(send_staff(&http, &base, target, &ahead).await.status(), 200);
    // Killed, not stopped: no shutdown flush helps.
    child.kill().expect("stop");
    child.wait().expect("reaped");

    // Restarted within the request's window: its nonce cache is empty, and
    // the replay is still refused.
    let (mut child, base) = setup.start(&log);
    let replay = send_staff(&http, &base, target, &captured).await;
    assert_eq!(replay.status(), 401, "replayed after a restart");
    let body: Value = replay.json().await.expect("json");
    assert_eq!(body["code"], "stale_request");
    let replay = send_staff(&http, &base, target, &ahead).await;
    assert_eq!(
        replay.status(),
        401,
        "replayed after a restart, signed ahead"
    );
    let body: Value = replay.json().await.expect("json");
    assert_eq!(body["code"], "replayed_request");
    let fresh = RequestAuth::sign(
        &mut rng,
        &setup.staff,
        &setup.directory.salt,
        "GET",
        target,
        b"",
        unix_now(),
    )
    .expect("signs");
    assert_eq!(
        send_staff(&http, &base, target, &fresh).await.status(),
        200,
        "a request signed after the restart is accepted at once"
    );
    child.kill().expect("stop");
    child.wait().expect("reaped");
}

/// Sends raw bytes and returns the status line's code, if any answer comes.
fn raw_status(base: &str, request: &[u8]) -> Option<u16> {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(base.trim_start_matches("http://")).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    socket.write_all(request).ok()?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = socket.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(answer.get(9..12)?).parse().ok()
}

/// Waits for the relay's log to be written (the helper copies it).
fn log_after(log: &Path) -> String {
    std::thread::sleep(Duration::from_millis(500));
    std::fs::read_to_string(log).expect("log")
}

#[tokio::test]
async fn client_chosen_methods_and_paths_never_reach_the_log() {
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let (mut child, base) = setup.start(&log);
    let planted = [
        "10.9.8.7",
        "CANARYMETHOD",
        "ABCD-EFGH-JKLM",
        "CANARY-PATH-71",
        "CANARY-QUERY-72",
    ];
    for request in [
        "10.9.8.7 /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "CANARYMETHOD /api/v1/config HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "ABCD-EFGH-JKLM /api/v1/staff/threads HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "GET /CANARY-PATH-71/10.9.8.7 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "GET /healthz?CANARY-QUERY-72=10.9.8.7 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "GET /api/v1/CANARY-PATH-71 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ] {
        assert!(
            raw_status(&base, request.as_bytes()).is_some(),
            "answered: {request}"
        );
    }
    let text = log_after(&log);
    child.kill().expect("stop");
    child.wait().expect("reaped");
    assert!(text.contains("method=OTHER "), "{text}");
    assert!(
        text.contains("method=GET "),
        "standard methods as before: {text}"
    );
    for line in text.lines() {
        for secret in planted {
            assert!(!line.contains(secret), "the log holds {secret:?}: {line}");
        }
    }
}

#[tokio::test]
async fn http_layer_refusals_write_no_log_line_each() {
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let (mut child, base) = setup.start(&log);
    let before = log_after(&log).lines().count();
    let bad: Vec<Vec<u8>> = vec![
        b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
            .to_vec(),
        b"GET /he llo HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
        b"\x00\x01\x02 / HTTP/1.1\r\n\r\n".to_vec(),
        format!(
            "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
            "a".repeat(200_000)
        )
        .into_bytes(),
        b"GET /healthz HTTP/9.9\r\nHost: a\r\n\r\n".to_vec(),
    ];
    let mut refused = 0;
    for _ in 0..8 {
        for request in &bad {
            if let Some(status) = raw_status(&base, request) {
                assert!(
                    status == 400 || status == 431,
                    "{status} for {:?}",
                    String::from_utf8_lossy(&request[..request.len().min(80)])
                );
                refused += 1;
            }
        }
    }
    assert!(refused >= 30, "the relay refused them ({refused})");
    let text = log_after(&log);
    let after = text.lines().count();
    child.kill().expect("stop");
    child.wait().expect("reaped");
    assert!(
        after <= before + 2,
        "{refused} malformed requests added {} log lines:\n{text}",
        after - before
    );
    assert!(!text.contains("ERROR"), "{text}");
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let http = ozvi_tests::http::client();
    let (mut child, base) = setup.start(&log);
    let text = log_after(&log);
    let port: u16 = text
        .lines()
        .find(|l| l.contains("metrics served"))
        .and_then(|l| l.rsplit("port=").next())
        .and_then(|p| p.trim().parse().ok())
        .expect("the relay says where metrics are served");
    let public = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(public.status(), 404, "no metrics on the public listener");
    let metrics = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .expect("text")
            .contains("ozvi_threads_created_total")
    );
    child.kill().expect("stop");
    child.wait().expect("reaped");
}

/// The binary runs on jemalloc with the options `.cargo/config.toml` builds
/// in (crates/ozvi-relay/Cargo.toml says why): jemalloc's background thread,
/// which only `background_thread:true` starts, is among the relay's threads.
/// Built without the options, or on glibc's malloc, it is not.
#[tokio::test]
async fn the_relay_runs_on_jemalloc_with_its_options() {
    let setup = Setup::new();
    let log = setup.dir.path().join("relay.log");
    let (child, _base) = setup.start(&log);
    let tasks = Path::new("/proc").join(child.id().to_string()).join("task");
    let names: Vec<String> = std::fs::read_dir(&tasks)
        .expect("the relay's threads")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("jemalloc_bg_thd")),
        "no jemalloc background thread among {names:?}"
    );
}
