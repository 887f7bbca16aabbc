//! Two relays on one PostgreSQL database (issue 16): what one relay writes
//! is heard live by the other's event streams (LISTEN/NOTIFY), a staff
//! request or a proof of work is spent once across both, a relay whose
//! listening connection was cut tells its streams to catch up and hears
//! changes again, and one relay sweeps at a time.
//!
//! The first tests run the real `ozvi-relay` binary twice on a throw-away
//! PostgreSQL server; the sweep's test builds two relays' states in this
//! process, to drive their clocks and sweeps.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use ozvi_api::routes::paths;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::envelope::open;
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::{Directory, StaffKeys};
use ozvi_relay::startup::{Engine, try_sweep};
use ozvi_relay::state::AppState;
use ozvi_relay::store::CentreId;
use ozvi_relay::store::postgres::PgStore;
use ozvi_relay::store::postgres::relays::LISTENER_NAME;
use ozvi_tests::cast::{Cast, START};
use ozvi_tests::person::{Person, envelope, now, text_body};
use ozvi_tests::postgres::{DATABASE, TestPostgres};
use ozvi_tests::relay::{RelayProcess, TestClock};
use serde_json::{Value, json};

/// How long a live update may take to cross from one relay to the other.
const LIVE: Duration = Duration::from_secs(2);

/// Two relay processes on one database, the Zlín centre with one staff
/// member.
struct Pair {
    a: RelayProcess,
    b: RelayProcess,
    staff: StaffKeys,
    directory: Directory,
    root_key: String,
    /// The operator's deployment, to sign a newer directory.
    cast: Cast,
    http: reqwest::Client,
    server: TestPostgres,
    _dir: tempfile::TempDir,
}

impl Pair {
    fn start() -> Self {
        let server = TestPostgres::start();
        let (cast, staff) = Cast::zlin(16, 1);
        let dir = tempfile::tempdir().expect("temp dir");
        cast.write_directory(&dir.path().join("directory.json"));
        std::fs::write(
            dir.path().join("relay.toml"),
            "store = \"postgres\"\npow_difficulty = 0\nmetrics_listen = \"off\"\n\
             requests_per_address_per_minute = 100000\n",
        )
        .expect("write");
        let url = server.url();
        let relay = |name: &str| {
            RelayProcess::start(
                ozvi_tests::relay::deployed_args(dir.path(), name, &cast.root_key()),
                &[("OZVI_DATABASE_URL", url.as_str()), ("OZVI_LOG", "debug")],
                &dir.path().join(format!("{name}.log")),
            )
        };
        let a = relay("a");
        let b = relay("b");
        Self {
            a,
            b,
            staff: staff.into_iter().next().expect("one staff member"),
            directory: cast.directory.clone(),
            root_key: cast.root_key(),
            cast,
            http: ozvi_tests::http::client(),
            server,
            _dir: dir,
        }
    }

    /// A staff request signed now, not sent yet.
    fn sign(&self, method: &str, target: &str, body: &[u8]) -> RequestAuth {
        RequestAuth::sign(
            &mut os_rng(),
            &self.staff,
            &self.directory.salt,
            method,
            target,
            body,
            now(),
        )
        .expect("signs")
    }

    /// Sends a signed staff request to `relay`.
    async fn send(
        &self,
        relay: &RelayProcess,
        method: reqwest::Method,
        target: &str,
        body: &[u8],
        auth: &RequestAuth,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, relay.url(target));
        for (name, value) in auth.to_headers() {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        request.send().await.expect("request")
    }

    /// A signed staff POST of `body` to `relay`.
    async fn staff_post(
        &self,
        relay: &RelayProcess,
        target: &str,
        body: &Value,
    ) -> reqwest::Response {
        let bytes = body.to_string().into_bytes();
        let auth = self.sign("POST", target, &bytes);
        self.send(relay, reqwest::Method::POST, target, &bytes, &auth)
            .await
    }

    /// The staff event stream on `relay`, once it said it is connected.
    async fn staff_events(&self, relay: &RelayProcess) -> Events {
        let auth = self.sign("GET", paths::STAFF_EVENTS, b"");
        let response = self
            .send(relay, reqwest::Method::GET, paths::STAFF_EVENTS, b"", &auth)
            .await;
        Events::connected(response).await
    }

    /// `person`'s event stream on `relay`, once it said it is connected.
    async fn person_events(&self, relay: &RelayProcess, person: &Person) -> Events {
        let response = self
            .http
            .get(relay.url("/api/v1/mailbox/events"))
            .header("Ozvi-Mailbox", person.mailbox().to_b64())
            .header("Ozvi-Auth", b64::encode(person.keys.auth_secret().expose()))
            .send()
            .await
            .expect("request");
        Events::connected(response).await
    }

    /// The texts of `person`'s thread as the staff member reads it through
    /// `relay`.
    async fn staff_reads(&self, relay: &RelayProcess, person: &Person) -> Vec<String> {
        let response = self
            .staff_post(
                relay,
                paths::STAFF_THREAD,
                &json!({"mailbox_id": person.mailbox().to_b64(), "after": 0}),
            )
            .await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.expect("json");
        page["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| {
                let bytes = b64::decode(m["envelope"].as_str().expect("envelope")).expect("b64");
                let opened = open(
                    &bytes,
                    &person.mailbox(),
                    self.staff.x25519(),
                    &self.directory,
                )
                .expect("the staff member opens it");
                let body: Value = serde_json::from_slice(&opened.body).expect("json body");
                body["text"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    }

    /// The staff member replies `text` to `person` through `relay`.
    async fn reply(&self, relay: &RelayProcess, person: &Person, text: &str) {
        let sealed = envelope(
            &mut os_rng(),
            self.directory.centre("ic-zlin").expect("Zlín"),
            &person.keys,
            Some(&self.staff),
            Kind::StaffReply,
            &text_body(text),
            now(),
        );
        let response = self
            .staff_post(
                relay,
                paths::STAFF_REPLY,
                &json!({"mailbox_id": person.mailbox().to_b64(), "envelope": b64::encode(&sealed)}),
            )
            .await;
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Both relays' logs so far.
    fn logs(&self) -> String {
        ["a.log", "b.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self._dir.path().join(name)).unwrap_or_default())
            .collect()
    }

    /// Cuts every relay's listening connection; returns how many.
    fn cut_listeners(&self) -> usize {
        let out = self
            .server
            .psql(
                DATABASE,
                &format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE application_name = '{LISTENER_NAME}'"
                ),
            )
            .expect("psql");
        out.trim().parse().expect("a count")
    }
}

/// An open event stream, read as text.
struct Events {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<actix_web::web::Bytes>> + Send>>,
    seen: String,
}

impl Events {
    async fn connected(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        let mut events = Self {
            body: Box::pin(response.bytes_stream()),
            seen: String::new(),
        };
        assert!(
            events.heard(": connected\n\n", LIVE).await,
            "the stream opens"
        );
        events
    }

    /// Whether `needle` arrives within `limit`; what was read up to its end
    /// is consumed.
    async fn heard(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(at) = self.seen.find(needle) {
                self.seen.drain(..at + needle.len());
                return true;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.seen.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Some(Err(_)) | None) | Err(_) => return false,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_relay_is_heard_and_read_on_the_other() {
    let pair = Pair::start();
    let mut desk = pair.staff_events(&pair.b).await;

    let person = Person::new(3, &pair.a.url(""), &pair.root_key);
    person.write_first("ic-zlin", "Potřebuji pomoc").await;
    assert!(
        desk.heard("event: change\ndata: 1\n\n", LIVE).await,
        "staff on B hear the thread created on A within 2 s: {:?}",
        desk.seen
    );
    assert_eq!(
        pair.staff_reads(&pair.b, &person).await,
        ["Potřebuji pomoc"]
    );

    let mut page = pair.person_events(&pair.a, &person).await;
    pair.reply(&pair.b, &person, "Jsme tu pro vás").await;
    assert!(
        page.heard("event: change\ndata: 2\n\n", LIVE).await,
        "her stream on A hears the reply written on B within 2 s: {:?}",
        page.seen
    );
    let read = person.read_all().await;
    assert_eq!(read.len(), 2, "{read:?}");
    assert_eq!(read[1].1, Kind::StaffReply);
    assert_eq!(read[1].3, "Jsme tu pro vás");
    // The staff stream heard its own relay's reply once, not again from
    // the database.
    assert!(desk.heard("event: change\ndata: 2\n\n", LIVE).await);
    assert!(
        !desk
            .heard("event: change\ndata: 2\n\n", Duration::from_millis(700))
            .await,
        "a relay ignores its own notifications"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_request_or_a_proof_of_work_is_spent_once_across_relays() {
    let pair = Pair::start();
    let person = Person::new(4, &pair.a.url(""), &pair.root_key);
    person.write_first("ic-zlin", "Dobrý den").await;

    // The same signed request, sent to B and then to A.
    let body = json!({"mailbox_id": person.mailbox().to_b64(), "after": 0})
        .to_string()
        .into_bytes();
    let auth = pair.sign("POST", paths::STAFF_THREAD, &body);
    let first = pair
        .send(
            &pair.b,
            reqwest::Method::POST,
            paths::STAFF_THREAD,
            &body,
            &auth,
        )
        .await;
    assert_eq!(first.status(), 200);
    let replayed = pair
        .send(
            &pair.a,
            reqwest::Method::POST,
            paths::STAFF_THREAD,
            &body,
            &auth,
        )
        .await;
    ozvi_tests::http::assert_error(replayed, 401, "replayed_request").await;

    // A challenge issued by A and spent on A is refused on B.
    let challenge: Value = pair
        .http
        .post(pair.a.url(paths::POW))
        .json(&json!({"purpose": "create"}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("a challenge");
    let pow = json!({"challenge": challenge["challenge"], "nonce": 0});
    let create = |seed: u8| {
        let someone = Person::new(seed, "", &pair.root_key);
        let sealed = envelope(
            &mut os_rng(),
            pair.directory.centre("ic-zlin").expect("Zlín"),
            &someone.keys,
            None,
            Kind::PersonMessage,
            &text_body("Ahoj"),
            now(),
        );
        json!({
            "mailbox_id": someone.mailbox().to_b64(),
            "verifier": b64::encode(&someone.keys.auth_secret().verifier().0),
            "centre": "ic-zlin",
            "envelope": b64::encode(&sealed),
            "pow": pow,
        })
    };
    let on_a = pair
        .http
        .post(pair.a.url(paths::THREADS))
        .json(&create(5))
        .send()
        .await
        .expect("request");
    assert_eq!(on_a.status(), 201);
    let on_b = pair
        .http
        .post(pair.b.url(paths::THREADS))
        .json(&create(6))
        .send()
        .await
        .expect("request");
    ozvi_tests::http::assert_error(on_b, 403, "invalid_proof_of_work").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_listener_was_cut_catches_up_and_hears_again() {
    let pair = Pair::start();
    let person = Person::new(7, &pair.a.url(""), &pair.root_key);
    person.write_first("ic-zlin", "První zpráva").await;
    let mut desk = pair.staff_events(&pair.b).await;
    let mut page = pair.person_events(&pair.a, &person).await;

    assert_eq!(
        pair.cut_listeners(),
        2,
        "each relay listens on one connection"
    );
    // Both relays reconnect and tell every stream, staff's and hers, to
    // look by cursor.
    let catch_up = Duration::from_secs(10);
    assert!(
        desk.heard("event: change\ndata: 0\n\n", catch_up).await,
        "the staff stream on B is told to catch up: {:?}",
        desk.seen
    );
    assert!(
        page.heard("event: change\ndata: 0\n\n", catch_up).await,
        "her stream on A is told to catch up: {:?}",
        page.seen
    );
    // And both listen again: a payload that is not a relay's is ignored
    // (and not quoted in the log), a real change is heard.
    let forged = "0123456789abcdef0123456789abcdef kanarek-v-payloadu ic-zlin 9";
    pair.server
        .psql(
            DATABASE,
            &format!("SELECT pg_notify('ozvi_changes', '{forged}')"),
        )
        .expect("psql");
    person.write_more("Druhá zpráva").await;
    assert!(
        desk.heard("event: change\ndata: 2\n\n", LIVE).await,
        "B hears A's change again: {:?}",
        desk.seen
    );
    pair.reply(&pair.b, &person, "Odpověď").await;
    assert!(
        page.heard("event: change\ndata: 3\n\n", LIVE).await,
        "A hears B's change again: {:?}",
        page.seen
    );
    let logs = pair.logs();
    assert!(
        logs.contains("live updates from the other relays interrupted"),
        "the cut is logged"
    );
    assert!(
        logs.contains("a malformed live update was ignored"),
        "the forged payload is noticed"
    );
    let mailbox = ozvi_relay::store::files::hex(&person.mailbox().0);
    for secret in [mailbox.as_str(), "kanarek", ozvi_tests::postgres::PASSWORD] {
        assert!(!logs.contains(secret), "{secret} is not in the logs");
    }
}

/// A relay's state on the database at `url`, its data in `dir`, on `clock`.
async fn relay_state(
    cast: &Cast,
    url: &str,
    dir: &std::path::Path,
    clock: Arc<TestClock>,
) -> actix_web::web::Data<AppState> {
    let mut config = ozvi_tests::relay::config(cast, dir);
    std::fs::create_dir_all(&config.data).expect("data directory");
    config.store = ozvi_relay::config::StoreKind::Postgres;
    config.database_url = Some(ozvi_relay::config::DatabaseUrl::new(url.to_string()));
    let store = PgStore::open(url, &config.data).await.expect("opens");
    let engine = Engine::postgres(store, url, START).await.expect("engine");
    ozvi_relay::startup::build(config, engine, clock)
        .await
        .expect("builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_relay_sweeps_at_a_time() {
    let server = TestPostgres::start();
    let url = server.url();
    let (cast, _) = Cast::zlin(17, 1);
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let clock = TestClock::at(START);
    let a = relay_state(&cast, &url, dir_a.path(), clock.clone()).await;
    let b = relay_state(&cast, &url, dir_b.path(), clock.clone()).await;

    let centre = CentreId::parse("ic-zlin").expect("id");
    let zlin = cast.directory.centre("ic-zlin").expect("Zlín");
    for seed in 20..25 {
        let keys = ozvi_tests::cast::person(seed);
        let sealed = envelope(
            &mut os_rng(),
            zlin,
            &keys,
            None,
            Kind::PersonMessage,
            &text_body("stará"),
            START,
        );
        a.store
            .create_thread(
                &keys.mailbox_id(),
                keys.auth_secret().verifier().0,
                &centre,
                &sealed,
                START,
            )
            .await
            .expect("created");
    }
    let threads = || async { b.store.inactive_since(u64::MAX).await.expect("lists").len() };
    assert_eq!(threads().await, 5);
    clock.advance(91 * 86_400);

    // While A holds the lock, B skips its round and deletes nothing.
    let relays_a = a.relays.as_ref().expect("on PostgreSQL");
    let held = relays_a.sweep_lock().await.expect("asks").expect("free");
    assert_eq!(try_sweep(&b).await.expect("sweeps"), None, "B skips");
    assert_eq!(threads().await, 5, "nothing deleted by B");
    assert!(
        b.relays
            .as_ref()
            .expect("on PostgreSQL")
            .sweep_lock()
            .await
            .expect("asks")
            .is_none(),
        "the lock is refused to B"
    );
    held.release().await;

    // A lock dropped without release (a sweep that ended abnormally) is
    // not kept: its connection is closed.
    drop(
        relays_a
            .sweep_lock()
            .await
            .expect("asks")
            .expect("free again"),
    );

    // Both at once: the threads are deleted once, by whichever got the lock
    // (or by both in turn, the second finding nothing left).
    let (x, y) = tokio::join!(try_sweep(&a), try_sweep(&b));
    let (x, y) = (x.expect("A sweeps"), y.expect("B sweeps"));
    assert_eq!(x.unwrap_or(0) + y.unwrap_or(0), 5, "{x:?} {y:?}");
    assert_eq!(threads().await, 0);
    // The lock is free after both.
    let again = relays_a.sweep_lock().await.expect("asks");
    assert!(again.is_some(), "released after the sweeps");
}

/// The operator replaces a staff member's keys (a lost laptop) by sending
/// the new directory to one relay: the other adopts it from the database
/// within moments and refuses the old keys too, not only after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_sent_to_one_relay_is_followed_by_the_other() {
    let mut pair = Pair::start();
    let listing = |pair: &Pair| {
        let auth = pair.sign("GET", paths::STAFF_THREADS, b"");
        (auth, paths::STAFF_THREADS)
    };
    let (auth, target) = listing(&pair);
    let before = pair
        .send(&pair.b, reqwest::Method::GET, target, b"", &auth)
        .await;
    assert_eq!(before.status(), 200, "the staff member lists on B");

    let replacement = StaffKeys::generate(&mut os_rng());
    pair.cast.directory.version += 1;
    pair.cast.directory.issued_at += 60;
    pair.cast.directory.centres[0] = ozvi_tests::cast::zlin(std::slice::from_ref(&replacement));
    let json = pair.cast.signed_json();
    let put = pair
        .http
        .put(pair.a.url(paths::DIRECTORY))
        .header("content-type", "application/json")
        .body(json.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(put.status(), 204, "A installs the new directory");

    let deadline =
        std::time::Instant::now() + ozvi_relay::startup::DIRECTORY_FOLLOW + Duration::from_secs(10);
    loop {
        let served = pair
            .http
            .get(pair.b.url(paths::DIRECTORY))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        if served == json {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "B still serves the old directory"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (auth, target) = listing(&pair);
    let after = pair
        .send(&pair.b, reqwest::Method::GET, target, b"", &auth)
        .await;
    assert_eq!(after.status(), 403, "the replaced keys are refused on B");
    let body = after.text().await.expect("body");
    assert!(body.contains("unknown_staff_key"), "{body}");
}
