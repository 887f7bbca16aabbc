//! `spawn_app()` and a cast of keys: an operator, two centres, their staff.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::protocol::directory::{Centre, Names, StaffMember};
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::protocol::pow;
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::{DeploymentSalt, Directory, PersonKeys, StaffKeys};
use ozvi_relay::config::Config;
use ozvi_relay::state::{AppState, Clock};
use ozvi_relay::store::SledStore;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

/// An HTTP client. In a workspace build reqwest carries the desk's rustls
/// without a built-in crypto provider, so one is chosen first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The client every API test uses: reqwest's, except that every answer to
/// an API route is held against the API's definition (`ozvi_api::routes`,
/// from which the OpenAPI document is built). A status the document does
/// not list for the route fails the test that saw it, so the document
/// cannot fall behind what the relay answers.
#[derive(Clone)]
pub struct Http(pub reqwest::Client);

impl Http {
    pub fn get(&self, url: impl AsRef<str>) -> Request {
        self.request(reqwest::Method::GET, url)
    }

    pub fn post(&self, url: impl AsRef<str>) -> Request {
        self.request(reqwest::Method::POST, url)
    }

    pub fn put(&self, url: impl AsRef<str>) -> Request {
        self.request(reqwest::Method::PUT, url)
    }

    pub fn delete(&self, url: impl AsRef<str>) -> Request {
        self.request(reqwest::Method::DELETE, url)
    }

    pub fn request(&self, method: reqwest::Method, url: impl AsRef<str>) -> Request {
        let url = url.as_ref().to_string();
        Request {
            inner: self.0.request(method.clone(), &url),
            method,
            url,
        }
    }
}

/// A request on its way; see [`Http`].
pub struct Request {
    inner: reqwest::RequestBuilder,
    method: reqwest::Method,
    url: String,
}

impl Request {
    pub fn header(self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        Self {
            inner: self.inner.header(name.as_ref(), value.as_ref()),
            ..self
        }
    }

    pub fn json<T: serde::Serialize + ?Sized>(self, body: &T) -> Self {
        Self {
            inner: self.inner.json(body),
            ..self
        }
    }

    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self {
            inner: self.inner.body(body),
            ..self
        }
    }

    pub async fn send(self) -> reqwest::Result<reqwest::Response> {
        let response = self.inner.send().await?;
        check_documented(&self.method, &self.url, response.status().as_u16());
        Ok(response)
    }
}

/// Fails if `status` is not an answer the API's definition lists for the
/// route (`405` for a known path and another method). Paths outside the
/// API (the web client's files, unknown paths) are not checked here.
pub fn check_documented(method: &reqwest::Method, url: &str, status: u16) {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
        .unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let known = ozvi_api::routes::Method::parse(method.as_str())
        .and_then(|m| ozvi_api::routes::find(m, path));
    match known {
        Some(route) => assert!(
            route.answers(status),
            "{method} {path} answered {status}, which the API's definition (and so the \
             OpenAPI document) does not list for it: add the error code to the route in \
             crates/ozvi-api/src/routes.rs"
        ),
        None if ozvi_api::routes::allow_header(path).is_some() => {
            assert_eq!(
                status, 405,
                "{method} {path}: a known path with another method"
            );
        }
        None => {}
    }
}

/// A clock the test moves by hand.
pub struct TestClock(pub AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// 2026-11-23 12:00 UTC.
pub const START: u64 = 1_795_435_200;

pub struct TestApp {
    pub base: String,
    pub http: Http,
    pub clock: Arc<TestClock>,
    pub state: actix_web::web::Data<AppState>,
    pub root: Ed25519Secret,
    pub directory: Directory,
    pub zlin: Vec<StaffKeys>,
    pub praha: StaffKeys,
    pub rng: std::sync::Mutex<ChaCha20Rng>,
    pub _data: tempfile::TempDir,
}

pub fn centre(id: &str, region: &str, staff: &[(&str, &StaffKeys)]) -> Centre {
    Centre {
        id: id.into(),
        names: Names {
            cs: format!("Centrum {id}"),
            en: format!("Centre {id}"),
            uk: format!("Центр {id}"),
        },
        regions: vec![region.into()],
        staff: staff
            .iter()
            .map(|(sid, keys)| StaffMember {
                id: (*sid).into(),
                label: "Pracovnice".into(),
                keys: keys.public(),
            })
            .collect(),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let root = Ed25519Secret::generate(&mut rng);
    let zlin = vec![StaffKeys::generate(&mut rng), StaffKeys::generate(&mut rng)];
    let praha = StaffKeys::generate(&mut rng);
    let directory = Directory {
        version: 1,
        issued_at: START,
        salt: DeploymentSalt([3; 16]),
        default_centre: "ic-praha".into(),
        centres: vec![
            centre(
                "ic-zlin",
                "CZ-72",
                &[("zlin-1", &zlin[0]), ("zlin-2", &zlin[1])],
            ),
            centre("ic-praha", "CZ-10", &[("praha-1", &praha)]),
        ],
    };
    let data = tempfile::tempdir().expect("temp dir");
    let directory_file = data.path().join("directory.json");
    std::fs::write(
        &directory_file,
        directory.sign(&root).expect("valid").to_json(),
    )
    .expect("write");
    let mut config = Config {
        data: data.path().join("db"),
        root_key: b64::encode(&root.public().to_bytes()),
        directory: Some(directory_file),
        pow_difficulty: 0,
        ..Config::default()
    };
    adjust(&mut config);
    let store = Arc::new(SledStore::open(&config.data).expect("sled opens"));
    // The relay starts a second before the tests' first request: requests
    // signed at or before its start are refused (replays across a restart).
    let clock = Arc::new(TestClock(AtomicU64::new(START - 1)));
    let state = ozvi_relay::startup::build(config, store, clock.clone())
        .await
        .expect("state builds");
    clock.0.store(START, Ordering::SeqCst);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = ozvi_relay::startup::run(listener, state.clone()).expect("server starts");
    tokio::spawn(server);
    TestApp {
        base,
        http: Http(http_client()),
        clock,
        state,
        root,
        directory,
        zlin,
        praha,
        rng: std::sync::Mutex::new(rng),
        _data: data,
    }
}

/// A person with a fresh code-derived key set (from a seed, without Argon2).
pub fn person(seed: u8) -> PersonKeys {
    PersonKeys::from_root(&[seed; 32])
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn centre(&self, id: &str) -> &Centre {
        self.directory.centre(id).expect("listed")
    }

    /// A person message of `person` to centre `centre_id`.
    pub fn person_message(&self, person: &PersonKeys, centre_id: &str, text: &str) -> Vec<u8> {
        let mut recipients = self.centre(centre_id).staff_x25519();
        recipients.push(person.public().x25519);
        let body = json!({"text": text}).to_string();
        let mailbox = person.mailbox_id();
        seal(
            &mut *self.rng.lock().expect("rng"),
            Signer::Person(person),
            Message {
                kind: Kind::PersonMessage,
                mailbox: &mailbox,
                body: body.as_bytes(),
                sent_at: self.clock.now(),
            },
            &recipients,
        )
        .expect("seals")
    }

    /// A staff reply (or note) from `staff` of `centre_id` in `person`'s thread.
    pub fn staff_envelope(
        &self,
        staff: &StaffKeys,
        centre_id: &str,
        person: &PersonKeys,
        kind: Kind,
        text: &str,
    ) -> Vec<u8> {
        let mut recipients = self.centre(centre_id).staff_x25519();
        if kind == Kind::StaffReply {
            recipients.push(person.public().x25519);
        }
        let body = json!({"text": text}).to_string();
        let mailbox = person.mailbox_id();
        seal(
            &mut *self.rng.lock().expect("rng"),
            Signer::Staff(staff),
            Message {
                kind,
                mailbox: &mailbox,
                body: body.as_bytes(),
                sent_at: self.clock.now(),
            },
            &recipients,
        )
        .expect("seals")
    }

    pub async fn challenge(&self, purpose: &str) -> Value {
        let response = self
            .http
            .post(self.url("/api/v1/pow"))
            .json(&json!({"purpose": purpose}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let challenge: Value = response.json().await.expect("json");
        let raw = b64::decode(challenge["challenge"].as_str().expect("string")).expect("b64");
        let difficulty =
            u8::try_from(challenge["difficulty"].as_u64().expect("number")).expect("u8");
        let nonce = pow::solve(&raw, difficulty).expect("solvable");
        json!({"challenge": challenge["challenge"], "nonce": nonce})
    }

    /// Creates `person`'s thread at `centre_id`; returns the response.
    pub async fn create_thread(
        &self,
        person: &PersonKeys,
        centre_id: &str,
        text: &str,
    ) -> reqwest::Response {
        let envelope = self.person_message(person, centre_id, text);
        let body = json!({
            "mailbox_id": person.mailbox_id().to_b64(),
            "verifier": b64::encode(&person.auth_secret().verifier().0),
            "centre": centre_id,
            "envelope": b64::encode(&envelope),
            "pow": self.challenge("create").await,
        });
        self.http
            .post(self.url("/api/v1/threads"))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// A request with the person's auth headers.
    pub fn as_person(&self, builder: Request, person: &PersonKeys) -> Request {
        builder
            .header("Ozvi-Mailbox", person.mailbox_id().to_b64())
            .header("Ozvi-Auth", b64::encode(person.auth_secret().expose()))
    }

    /// A signed staff request: `target` is the path and query.
    pub async fn staff_request(
        &self,
        staff: &StaffKeys,
        method: &str,
        target: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let auth = RequestAuth::sign(
            &mut *self.rng.lock().expect("rng"),
            staff,
            &self.directory.salt,
            method,
            target,
            &bytes,
            self.clock.now(),
        )
        .expect("signs");
        self.send_signed(method, target, bytes, &auth).await
    }

    pub async fn send_signed(
        &self,
        method: &str,
        target: &str,
        bytes: Vec<u8>,
        auth: &RequestAuth,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut builder = self.http.request(method, self.url(target));
        for (name, value) in auth.to_headers() {
            builder = builder.header(name, value);
        }
        if !bytes.is_empty() {
            builder = builder
                .header("content-type", "application/json")
                .body(bytes);
        }
        builder.send().await.expect("request")
    }
}

/// Asserts an error response's status and stable code, and that the body is
/// exactly `{code, message}` (nothing echoed).
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status().as_u16(), status, "status for {code}");
    let body: Value = response.json().await.expect("an error body is JSON");
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "only code and message: {body}"
    );
}
