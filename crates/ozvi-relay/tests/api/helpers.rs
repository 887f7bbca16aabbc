//! `spawn_app()` and a cast of keys: an operator, two centres, their staff
//! (the shared harness's Zlín and Praha, `ozvi_tests::cast`).

use std::sync::Arc;

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::protocol::directory::Centre;
use ozvi_crypto::protocol::pow;
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::{Directory, PersonKeys, StaffKeys};
use ozvi_relay::config::Config;
use ozvi_relay::state::{AppState, Clock};
use ozvi_tests::cast::Cast;
use ozvi_tests::person::{envelope, text_body};
use ozvi_tests::relay::{Relay, TestClock};
use rand_chacha::ChaCha20Rng;
use serde_json::{Value, json};

pub use ozvi_tests::cast::{START, person};
pub use ozvi_tests::http::{Http, Request, assert_error};

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

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let deployment = Cast::zlin_and_praha(42);
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = ozvi_tests::relay::config(&deployment.cast, data.path());
    adjust(&mut config);
    // The relay starts a second before the tests' first request: requests
    // signed at or before its start are refused (replays across a restart).
    let clock = TestClock::at(START - 1);
    let relay = Relay::start_with_clock(config, clock.clone()).await;
    clock.set(START);
    let Cast { root, directory } = deployment.cast;
    TestApp {
        base: relay.base,
        http: Http::new(),
        clock,
        state: relay.state,
        root,
        directory,
        zlin: deployment.zlin,
        praha: deployment.praha,
        rng: std::sync::Mutex::new(deployment.rng),
        _data: data,
    }
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
        envelope(
            &mut *self.rng.lock().expect("rng"),
            self.centre(centre_id),
            person,
            None,
            Kind::PersonMessage,
            &text_body(text),
            self.clock.now(),
        )
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
        envelope(
            &mut *self.rng.lock().expect("rng"),
            self.centre(centre_id),
            person,
            Some(staff),
            kind,
            &text_body(text),
            self.clock.now(),
        )
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

    /// `person` deletes her thread (`DELETE /api/v1/mailbox`); returns the
    /// response.
    pub async fn delete_thread(&self, person: &PersonKeys) -> reqwest::Response {
        self.as_person(self.http.delete(self.url("/api/v1/mailbox")), person)
            .send()
            .await
            .expect("request")
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

    /// Posts `person`'s next message to her thread at `centre_id` (with a
    /// solved proof of work); returns the response.
    pub async fn post_message(
        &self,
        person: &PersonKeys,
        centre_id: &str,
        text: &str,
    ) -> reqwest::Response {
        let envelope = self.person_message(person, centre_id, text);
        let body = json!({"envelope": b64::encode(&envelope), "pow": self.challenge("post").await});
        self.as_person(self.http.post(self.url("/api/v1/mailbox/messages")), person)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `person`'s listing of her thread (`GET /api/v1/mailbox/messages`), as JSON.
    pub async fn listing(&self, person: &PersonKeys) -> Value {
        self.as_person(self.http.get(self.url("/api/v1/mailbox/messages")), person)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
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
