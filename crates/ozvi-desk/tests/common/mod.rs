//! A real relay (sled, port 0) in the test's process, the `ozvi-desk` binary,
//! and a person who writes with `ozvi-crypto` as the web client does.

#![allow(dead_code)]

use ozvi_api::person::{CreateThread, PostMessage, PowSolution};
use ozvi_api::public::{Challenge, ChallengeRequest, Purpose};
use ozvi_api::routes::paths;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::envelope::{Message, Signer, open, seal};
use ozvi_crypto::{Directory, MailboxId, PersonKeys, SignedDirectory};
use ozvi_relay::config::Config;
use ozvi_relay::state::{AppState, SystemClock};
use ozvi_relay::store::SledStore;
use serde_json::{Value, json};

pub const STAFF_PASS: &str = "heslo pro desk 123";
pub const ROOT_PASS: &str = "kořenové heslo 456";

/// A relay in this process.
pub struct RelayApp {
    pub base: String,
    pub state: actix_web::web::Data<AppState>,
    pub handle: actix_web::dev::ServerHandle,
}

pub async fn start_relay(data: &Path, root_key: &str) -> RelayApp {
    start_relay_serving(data, root_key, None).await
}

/// A relay in this process that also serves the web client from `web_root`.
pub async fn start_relay_serving(data: &Path, root_key: &str, web_root: Option<&Path>) -> RelayApp {
    let config = Config {
        data: data.to_path_buf(),
        root_key: root_key.to_string(),
        web_root: web_root.map(Path::to_path_buf),
        pow_difficulty: 0,
        requests_per_address_per_minute: 1_000_000,
        posts_per_thread_per_minute: 1_000_000,
        threads_per_centre_per_hour: 1_000_000,
        threads_per_address_per_hour: 1_000_000,
        ..Config::default()
    };
    let store = Arc::new(SledStore::open(data).expect("sled opens"));
    let state = ozvi_relay::startup::build(config, store, Arc::new(SystemClock))
        .await
        .expect("state");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = ozvi_relay::startup::run(listener, state.clone()).expect("server");
    let handle = server.handle();
    tokio::spawn(server);
    RelayApp {
        base,
        state,
        handle,
    }
}

/// Runs `ozvi-desk` with `args` (and the staff and root passphrases in the
/// environment unless `passphrase` overrides the staff one).
pub async fn desk(home: Option<&Path>, args: &[&str]) -> Output {
    desk_with(home, args, STAFF_PASS).await
}

pub async fn desk_with(home: Option<&Path>, args: &[&str], passphrase: &str) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ozvi-desk"));
    if let Some(home) = home {
        cmd.arg("--home").arg(home);
    }
    cmd.args(args)
        .env("OZVI_DESK_PASSPHRASE", passphrase)
        .env("OZVI_ROOT_PASSPHRASE", ROOT_PASS)
        .env_remove("OZVI_DESK_HOME")
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().expect("ozvi-desk runs"))
        .await
        .expect("join")
}

/// Runs `ozvi-desk` and expects success; returns stdout.
pub async fn desk_ok(home: Option<&Path>, args: &[&str]) -> String {
    let out = desk(home, args).await;
    assert!(
        out.status.success(),
        "ozvi-desk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Runs `ozvi-desk` and expects failure with `needle` in stderr.
pub async fn desk_fails(home: Option<&Path>, args: &[&str], needle: &str) {
    let out = desk(home, args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ozvi-desk {args:?} should fail");
    assert!(
        stderr.contains(needle),
        "ozvi-desk {args:?}: expected {needle:?} in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
}

/// The operator's folder: root key and draft.
pub struct Operator {
    pub dir: PathBuf,
    pub root_key: String,
}

impl Operator {
    pub async fn new(dir: &Path) -> Self {
        let root = dir.join("root.ozvi-keys");
        let out = desk_ok(
            None,
            &["admin", "root-init", "--out", root.to_str().expect("utf-8")],
        )
        .await;
        Self {
            dir: dir.to_path_buf(),
            root_key: out.trim().to_string(),
        }
    }

    pub fn draft(&self) -> String {
        self.dir.join("draft.json").display().to_string()
    }

    pub async fn sample(&self) {
        let keys = self.dir.join("sample-keys").display().to_string();
        desk_ok(
            None,
            &["admin", "sample", "--draft", &self.draft(), "--keys", &keys],
        )
        .await;
    }

    pub async fn enrol(&self, home: &Path, centre: &str, id: &str, label: &str) {
        let request = home.join("enrolment.json").display().to_string();
        desk_ok(
            None,
            &[
                "admin",
                "staff-add",
                "--draft",
                &self.draft(),
                "--centre",
                centre,
                "--id",
                id,
                "--label",
                label,
                "--request",
                &request,
            ],
        )
        .await;
    }

    pub async fn publish(&self, relay: &str) {
        let signed = self.dir.join("signed.json").display().to_string();
        let root = self.dir.join("root.ozvi-keys").display().to_string();
        desk_ok(
            None,
            &[
                "admin",
                "sign",
                "--draft",
                &self.draft(),
                "--root",
                &root,
                "--out",
                &signed,
            ],
        )
        .await;
        desk_ok(None, &["admin", "publish", "--relay", relay, &signed]).await;
    }
}

/// A staff member's desk folder, initialised.
pub async fn staff_home(dir: &Path, relay: &str, root_key: &str) -> PathBuf {
    let home = dir.to_path_buf();
    let out = desk_ok(
        Some(&home),
        &["init", "--relay", relay, "--root-key", root_key],
    )
    .await;
    assert!(out.contains("ozvi_enrolment"), "prints the request: {out}");
    home
}

/// A person writing through the relay's API with `ozvi-crypto`.
pub struct Person {
    pub keys: PersonKeys,
    pub http: reqwest::Client,
    pub base: String,
    pub root: ozvi_crypto::primitives::sig::Ed25519Public,
}

impl Person {
    pub fn new(seed: u8, base: &str, root_key: &str) -> Self {
        ozvi_desk::relay::install_tls_provider();
        let root_bytes = b64::decode(root_key).expect("b64");
        Self {
            keys: PersonKeys::from_root(&[seed; 32]),
            http: reqwest::Client::new(),
            base: base.to_string(),
            root: ozvi_crypto::primitives::sig::Ed25519Public::from_bytes(&root_bytes)
                .expect("key"),
        }
    }

    pub fn mailbox(&self) -> MailboxId {
        self.keys.mailbox_id()
    }

    pub async fn directory(&self) -> Directory {
        let json = self
            .http
            .get(format!("{}/api/v1/directory", self.base))
            .send()
            .await
            .expect("request")
            .bytes()
            .await
            .expect("body");
        SignedDirectory::verify(&json, &self.root, None).expect("verifies")
    }

    /// A challenge, answered with nonce 0 (the test relay's difficulty is 0).
    async fn pow(&self, purpose: Purpose) -> PowSolution {
        let c: Challenge = self
            .http
            .post(format!("{}{}", self.base, paths::POW))
            .json(&ChallengeRequest { purpose })
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a challenge");
        PowSolution {
            challenge: c.challenge,
            nonce: 0,
        }
    }

    async fn seal(&self, centre: &str, body: &Value) -> Vec<u8> {
        let directory = self.directory().await;
        let mut recipients = directory.centre(centre).expect("centre").staff_x25519();
        recipients.push(self.keys.public().x25519);
        let bytes = body.to_string();
        seal(
            &mut os_rng(),
            Signer::Person(&self.keys),
            Message {
                kind: Kind::PersonMessage,
                mailbox: &self.mailbox(),
                body: bytes.as_bytes(),
                sent_at: 0,
            },
            &recipients,
        )
        .expect("seals")
    }

    /// Creates her thread with a first message and intake answers.
    pub async fn write_first(&self, centre: &str, text: &str) {
        let body = json!({
            "text": text, "lang": "cs",
            "intake": {"role": "self", "region": "CZ-72", "violence": ["psychological", "physical"],
                       "danger_now": false, "contact": "po 17. hodině"}
        });
        let envelope = self.seal(centre, &body).await;
        let request = CreateThread {
            mailbox_id: self.mailbox().to_b64(),
            verifier: b64::encode(&self.keys.auth_secret().verifier().0),
            centre: centre.to_string(),
            envelope: b64::encode(&envelope),
            pow: Some(self.pow(Purpose::Create).await),
        };
        let r = self
            .http
            .post(format!("{}{}", self.base, paths::THREADS))
            .json(&request)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    }

    /// Writes again in her thread.
    pub async fn write_more(&self, text: &str) {
        let listing: Value = serde_json::from_str(&self.listing().await).expect("json");
        let centre = listing["centre"].as_str().expect("centre").to_string();
        let envelope = self.seal(&centre, &json!({"text": text})).await;
        let r = self
            .http
            .post(format!("{}{}", self.base, paths::MAILBOX_MESSAGES))
            .header("Ozvi-Mailbox", self.mailbox().to_b64())
            .header("Ozvi-Auth", b64::encode(self.keys.auth_secret().expose()))
            .json(&PostMessage {
                envelope: b64::encode(&envelope),
                pow: Some(self.pow(Purpose::Post).await),
            })
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 201);
    }

    /// Every message she can read: (seq, kind, verified sender's staff id or
    /// "person", text).
    pub async fn read_all(&self) -> Vec<(u64, Kind, String, String)> {
        let listing: Value = self
            .http
            .get(format!("{}/api/v1/mailbox/messages", self.base))
            .header("Ozvi-Mailbox", self.mailbox().to_b64())
            .header("Ozvi-Auth", b64::encode(self.keys.auth_secret().expose()))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let directory = self.directory().await;
        listing["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| {
                let bytes = b64::decode(m["envelope"].as_str().expect("str")).expect("b64");
                let opened = open(&bytes, &self.mailbox(), self.keys.x25519(), &directory)
                    .expect("she can open and verify every message");
                let who = match &opened.sender {
                    ozvi_crypto::Sender::Staff { staff, .. } => staff.clone(),
                    _ => "person".to_string(),
                };
                let body: Value = serde_json::from_slice(&opened.body).expect("json");
                (
                    m["seq"].as_u64().expect("seq"),
                    opened.kind,
                    who,
                    body["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Stores her first message once more, as the relay (or anyone who
    /// captured her request) could deliver it a second time.
    pub async fn replay_first(&self, relay: &RelayApp) {
        let listing: Value = serde_json::from_str(&self.listing().await).expect("json");
        let first =
            b64::decode(listing["messages"][0]["envelope"].as_str().expect("str")).expect("b64");
        relay
            .state
            .store
            .append(
                &self.mailbox(),
                ozvi_relay::store::Author::Person,
                &first,
                ozvi_desk::relay::now(),
                ozvi_relay::store::Quota {
                    max_messages: 100,
                    max_bytes: 1 << 20,
                },
            )
            .expect("replayed");
    }

    /// Deletes her thread (the quick "delete everything" of her page).
    pub async fn delete(&self) {
        let r = self
            .http
            .delete(format!("{}/api/v1/mailbox", self.base))
            .header("Ozvi-Mailbox", self.mailbox().to_b64())
            .header("Ozvi-Auth", b64::encode(self.keys.auth_secret().expose()))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 204);
    }

    /// The raw listing as the relay returns it.
    pub async fn listing(&self) -> String {
        self.http
            .get(format!("{}/api/v1/mailbox/messages", self.base))
            .header("Ozvi-Mailbox", self.mailbox().to_b64())
            .header("Ozvi-Auth", b64::encode(self.keys.auth_secret().expose()))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("text")
    }
}

/// Waits for a browser script (node) to exit and fails the test, with
/// everything it printed, unless it succeeded.
pub async fn node_succeeded(child: std::process::Child, log: &[String], story: &str) {
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("node exits");
    assert!(
        output.status.success(),
        "{story} failed:\n{}\n{}",
        log.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The lines a browser script prints, as they come.
pub fn script_lines(
    child: &mut std::process::Child,
) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// The desk's local web UI, running in this process.
pub struct Desk {
    /// The opening URL, launch secret included.
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
    /// Makes a new single-use opening URL.
    pub new_url: std::sync::Arc<dyn Fn() -> String + Send + Sync>,
}

impl Desk {
    /// The launch secret of the opening URL.
    pub fn launch(&self) -> String {
        self.url
            .split("#k=")
            .nth(1)
            .expect("secret in the URL")
            .to_string()
    }

    /// Spends the launch secret as the page does; returns the page token.
    pub async fn page_token(&self) -> String {
        ozvi_desk::relay::install_tls_provider();
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{}/session", self.base))
            .bearer_auth(self.launch())
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "the launch secret is exchanged once");
        r.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token")
            .to_string()
    }
}

pub fn start_desk_locking_after(home: &Path, lock_after: std::time::Duration) -> Desk {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let running = ozvi_desk::web::start(ozvi_desk::home::Home::new(home), listener, lock_after)
        .expect("desk starts");
    let handle = running.server.handle();
    let new_url = running.url_maker();
    let url = running.url.clone();
    tokio::spawn(running.server);
    Desk {
        url,
        base: format!("http://{addr}"),
        addr,
        handle,
        new_url,
    }
}
