//! A person who writes to her centre with `ozvi-crypto`, as her page does,
//! and the envelopes of a conversation.

use ozvi_api::person::{CreateThread, PostMessage, PowSolution};
use ozvi_api::public::{Challenge, ChallengeRequest, Purpose};
use ozvi_api::routes::paths;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Public;
use ozvi_crypto::protocol::directory::Centre;
use ozvi_crypto::protocol::envelope::{Message, Signer, open, seal};
use ozvi_crypto::{Directory, MailboxId, PersonKeys, SignedDirectory, StaffKeys};
use rand_core::CryptoRng;
use serde_json::{Value, json};

use crate::relay::{Author, Relay};

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An envelope in `person`'s thread at `centre`: written by her
/// (`staff: None`) or by a staff member, sealed to the centre's staff and,
/// unless it is an internal note, to her.
pub fn envelope(
    rng: &mut impl CryptoRng,
    centre: &Centre,
    person: &PersonKeys,
    staff: Option<&StaffKeys>,
    kind: Kind,
    body: &[u8],
    sent_at: u64,
) -> Vec<u8> {
    let mut recipients = centre.staff_x25519();
    if kind != Kind::StaffNote {
        recipients.push(person.public().x25519);
    }
    let signer = staff.map_or(Signer::Person(person), Signer::Staff);
    seal(
        rng,
        signer,
        Message {
            kind,
            mailbox: &person.mailbox_id(),
            body,
            sent_at,
        },
        &recipients,
    )
    .expect("seals")
}

/// `{"text": text}`, the body of a message without intake answers.
pub fn text_body(text: &str) -> Vec<u8> {
    json!({ "text": text }).to_string().into_bytes()
}

/// A person writing through the relay's API.
pub struct Person {
    /// Her code-derived keys.
    pub keys: PersonKeys,
    /// Her HTTP client.
    pub http: reqwest::Client,
    /// The relay's base URL.
    pub base: String,
    /// The operator's root key she verifies the directory with.
    pub root: Ed25519Public,
}

impl Person {
    /// The person of `seed` ([`crate::cast::person`]) at the relay `base`,
    /// trusting `root_key` (base64url).
    pub fn new(seed: u8, base: &str, root_key: &str) -> Self {
        let root_bytes = b64::decode(root_key).expect("b64");
        Self {
            keys: crate::cast::person(seed),
            http: crate::http::client(),
            base: base.to_string(),
            root: Ed25519Public::from_bytes(&root_bytes).expect("key"),
        }
    }

    /// Her mailbox id.
    pub fn mailbox(&self) -> MailboxId {
        self.keys.mailbox_id()
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request
            .header("Ozvi-Mailbox", self.mailbox().to_b64())
            .header("Ozvi-Auth", b64::encode(self.keys.auth_secret().expose()))
    }

    /// The relay's directory, verified against the root key.
    pub async fn directory(&self) -> Directory {
        let json = self
            .http
            .get(format!("{}{}", self.base, paths::DIRECTORY))
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
        envelope(
            &mut os_rng(),
            directory.centre(centre).expect("centre"),
            &self.keys,
            None,
            Kind::PersonMessage,
            body.to_string().as_bytes(),
            0,
        )
    }

    /// Creates her thread with a first message and intake answers (not in
    /// danger right now, writing for herself, in Czech).
    pub async fn write_first(&self, centre: &str, text: &str) {
        self.write_first_with(centre, text, "self", false, "cs")
            .await;
    }

    /// Creates her thread with a first message and these answers of the
    /// form: who writes (`self`, `witness`, `professional`), whether she is
    /// in danger right now, her page's language.
    pub async fn write_first_with(
        &self,
        centre: &str,
        text: &str,
        role: &str,
        danger_now: bool,
        lang: &str,
    ) {
        let body = json!({
            "text": text, "lang": lang,
            "intake": {"role": role, "region": "CZ-72", "violence": ["psychological", "physical"],
                       "danger_now": danger_now, "contact": "po 17. hodině"}
        });
        self.write_first_body(centre, &body).await;
    }

    /// Creates her thread with a first message of exactly this body
    /// (PROTOCOL.md §4.6, kind 1).
    pub async fn write_first_body(&self, centre: &str, body: &Value) {
        let envelope = self.seal(centre, body).await;
        let request = CreateThread {
            mailbox_id: self.mailbox().to_b64(),
            verifier: b64::encode(&self.keys.auth_secret().verifier().0),
            centre: centre.to_string(),
            envelope: b64::encode(&envelope),
            pow: Some(self.pow(Purpose::Create).await),
            files: Vec::new(),
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
        let envelope = self.seal(&centre, &json!({ "text": text })).await;
        let r = self
            .authorised(
                self.http
                    .post(format!("{}{}", self.base, paths::MAILBOX_MESSAGES)),
            )
            .json(&PostMessage {
                envelope: b64::encode(&envelope),
                pow: Some(self.pow(Purpose::Post).await),
                files: Vec::new(),
            })
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 201);
    }

    /// Uploads a sealed file of her thread (`PUT /api/v1/mailbox/file`,
    /// her thread already exists); returns the relay's status.
    pub async fn upload_file(&self, sealed: &ozvi_crypto::protocol::file::SealedFile) -> u16 {
        self.authorised(
            self.http
                .put(format!("{}{}", self.base, paths::MAILBOX_FILE)),
        )
        .header(ozvi_api::headers::FILE, sealed.reference.id.to_b64())
        .header("content-type", "application/octet-stream")
        .body(sealed.blob.clone())
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
    }

    /// Writes again in her thread with exactly this body, claiming `files`
    /// (uploaded before).
    pub async fn write_more_with_files(
        &self,
        body: &Value,
        files: &[ozvi_crypto::protocol::file::FileId],
    ) {
        let listing: Value = serde_json::from_str(&self.listing().await).expect("json");
        let centre = listing["centre"].as_str().expect("centre").to_string();
        let envelope = self.seal(&centre, body).await;
        let r = self
            .authorised(
                self.http
                    .post(format!("{}{}", self.base, paths::MAILBOX_MESSAGES)),
            )
            .json(&PostMessage {
                envelope: b64::encode(&envelope),
                pow: Some(self.pow(Purpose::Post).await),
                files: files.iter().map(|f| f.to_b64()).collect(),
            })
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    }

    /// A file of her thread as the relay serves it (`GET
    /// /api/v1/mailbox/file`): the status and the blob.
    pub async fn download_file(&self, id: &ozvi_crypto::protocol::file::FileId) -> (u16, Vec<u8>) {
        let r = self
            .authorised(
                self.http
                    .get(format!("{}{}", self.base, paths::MAILBOX_FILE)),
            )
            .header(ozvi_api::headers::FILE, id.to_b64())
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.bytes().await.expect("body").to_vec())
    }

    /// Every message she can read: (seq, kind, verified sender's staff id or
    /// "person", text).
    pub async fn read_all(&self) -> Vec<(u64, Kind, String, String)> {
        self.opened()
            .await
            .into_iter()
            .map(|(seq, opened, body)| {
                let who = match &opened.sender {
                    ozvi_crypto::Sender::Staff { staff, .. } => staff.clone(),
                    _ => "person".to_string(),
                };
                let text = body["text"].as_str().unwrap_or_default().to_string();
                (seq, opened.kind, who, text)
            })
            .collect()
    }

    /// Every message she can read, opened and verified as her page does:
    /// (seq, kind, verified sender's centre and staff id or "person",
    /// the JSON body).
    pub async fn read_bodies(&self) -> Vec<(u64, Kind, String, Value)> {
        self.opened()
            .await
            .into_iter()
            .map(|(seq, opened, body)| {
                let who = match &opened.sender {
                    ozvi_crypto::Sender::Staff { centre, staff } => format!("{centre}/{staff}"),
                    _ => "person".to_string(),
                };
                (seq, opened.kind, who, body)
            })
            .collect()
    }

    /// Her whole thread, each message opened and verified under the
    /// directory: (seq, what opened, the JSON body).
    async fn opened(&self) -> Vec<(u64, ozvi_crypto::Opened, Value)> {
        let listing: Value = serde_json::from_str(&self.listing().await).expect("json");
        let directory = self.directory().await;
        listing["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| {
                let bytes = b64::decode(m["envelope"].as_str().expect("str")).expect("b64");
                let opened = open(&bytes, &self.mailbox(), self.keys.x25519(), &directory)
                    .expect("she can open and verify every message");
                let body: Value = serde_json::from_slice(&opened.body).expect("json");
                (m["seq"].as_u64().expect("seq"), opened, body)
            })
            .collect()
    }

    /// Stores her first message once more, as the relay (or anyone who
    /// captured her request) could deliver it a second time.
    pub async fn replay_first(&self, relay: &Relay) {
        let listing: Value = serde_json::from_str(&self.listing().await).expect("json");
        let first =
            b64::decode(listing["messages"][0]["envelope"].as_str().expect("str")).expect("b64");
        relay.inject(&self.mailbox(), Author::Person, &first).await;
    }

    /// Deletes her thread (the quick "delete everything" of her page).
    pub async fn delete(&self) {
        let r = self
            .authorised(self.http.delete(format!("{}{}", self.base, paths::MAILBOX)))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 204);
    }

    /// The raw listing as the relay returns it.
    pub async fn listing(&self) -> String {
        self.authorised(
            self.http
                .get(format!("{}{}", self.base, paths::MAILBOX_MESSAGES)),
        )
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text")
    }
}
