//! The relay's HTTP API as the desk uses it (docs/API.md). Staff requests
//! are signed here; nothing here decrypts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::{DeploymentSalt, MailboxId, StaffKeys};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::DeskError;

/// The relay's inbox page size.
const INBOX_PAGE: usize = 500;

/// A stored message as the relay lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredMessage {
    /// Position in the thread.
    pub seq: u64,
    /// When the relay stored it (whole minutes).
    pub stored_at: u64,
    /// The envelope, base64url.
    pub envelope: String,
}

/// A thread's metadata as the relay lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ThreadInfo {
    /// The mailbox id, base64url.
    pub mailbox_id: String,
    /// Created (whole minutes).
    pub created_at: u64,
    /// Last activity (whole minutes).
    pub last_activity: u64,
    /// Oldest unanswered person message (0: none).
    pub unanswered_since: u64,
    /// Change number.
    pub change: u64,
    /// Newest sequence number.
    pub last_seq: u64,
    /// Number of messages.
    pub message_count: u32,
    /// Unread person messages.
    pub unread: u32,
    /// The staff-only note envelope, base64url.
    pub note: Option<String>,
}

/// One page of the inbox.
#[derive(Debug, Clone, Deserialize)]
pub struct InboxPage {
    /// The signer's centre.
    pub centre: String,
    /// The newest change listed.
    pub cursor: u64,
    /// Threads, newest change first.
    pub threads: Vec<ThreadInfo>,
}

/// One page of a thread.
#[derive(Debug, Clone, Deserialize)]
pub struct ThreadPage {
    /// Its metadata and note.
    pub thread: ThreadInfo,
    /// Messages after the requested sequence number.
    pub messages: Vec<StoredMessage>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// A relay, reached over HTTP(S).
#[derive(Debug, Clone)]
pub struct Relay {
    base: String,
    http: reqwest::Client,
}

/// Chooses rustls's cryptography (ring) for this process; call before
/// building any HTTP client. Calling it again does nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Seconds since the Unix epoch on this machine.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Relay {
    /// A client for the relay at `base` (`https://…` or, for a relay on this
    /// machine, `http://127.0.0.1:…`).
    pub fn new(base: &str) -> Result<Self, DeskError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(DeskError::Invalid(format!(
                "the relay address must start with https:// (got `{base}`)"
            )));
        }
        install_tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent("ozvi-desk")
            .build()
            .map_err(|_| DeskError::Unreachable(base.clone()))?;
        Ok(Self { base, http })
    }

    /// The relay's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, target: &str) -> String {
        format!("{}{target}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, DeskError> {
        let response = request
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(|_| DeskError::Unreachable(self.base.clone()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        match response.json::<ErrorBody>().await {
            Ok(e) => Err(DeskError::Refused {
                status,
                code: e.code,
                message: e.message,
            }),
            Err(_) => Err(DeskError::BadResponse),
        }
    }

    async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, DeskError> {
        response.json().await.map_err(|_| DeskError::BadResponse)
    }

    /// The signed directory as served.
    pub async fn directory(&self) -> Result<Vec<u8>, DeskError> {
        let response = self
            .send(self.http.get(self.url("/api/v1/directory")))
            .await?;
        let bytes = response.bytes().await.map_err(|_| DeskError::BadResponse)?;
        Ok(bytes.to_vec())
    }

    /// Publishes a signed directory (the signature is the authorization).
    pub async fn publish_directory(&self, json: Vec<u8>) -> Result<(), DeskError> {
        self.send(
            self.http
                .put(self.url("/api/v1/directory"))
                .header("content-type", "application/json")
                .body(json),
        )
        .await?;
        Ok(())
    }

    /// Sends a request signed by `keys` (PROTOCOL.md §7).
    async fn signed(
        &self,
        staff: &Signing<'_>,
        method: reqwest::Method,
        target: &str,
        body: Option<Value>,
    ) -> Result<reqwest::Response, DeskError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let auth = RequestAuth::sign(
            &mut os_rng(),
            staff.keys,
            staff.salt,
            method.as_str(),
            target,
            &bytes,
            now(),
        )
        .map_err(|_| DeskError::Invalid("the request could not be signed".into()))?;
        let mut request = self.http.request(method, self.url(target));
        for (name, value) in auth.to_headers() {
            request = request.header(name, value);
        }
        if !bytes.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(bytes);
        }
        self.send(request).await
    }

    /// Every thread of the signer's centre changed after `since`, all pages.
    pub async fn inbox(&self, staff: &Signing<'_>, since: u64) -> Result<InboxPage, DeskError> {
        let mut all: Option<InboxPage> = None;
        let mut before: Option<u64> = None;
        loop {
            let target = match before {
                None => format!("/api/v1/staff/threads?since={since}"),
                Some(b) => format!("/api/v1/staff/threads?since={since}&before={b}"),
            };
            let response = self
                .signed(staff, reqwest::Method::GET, &target, None)
                .await?;
            let page: InboxPage = Self::json(response).await?;
            let full = page.threads.len() >= INBOX_PAGE;
            // Newest first: the last listed is the oldest change of the page.
            before = page.threads.last().map(|t| t.change);
            match &mut all {
                None => all = Some(page),
                Some(all) => all.threads.extend(page.threads),
            }
            if !full || before.is_none() {
                break;
            }
        }
        all.ok_or(DeskError::BadResponse)
    }

    /// A thread's messages after `after`, every page.
    pub async fn thread(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        after: u64,
    ) -> Result<ThreadPage, DeskError> {
        let mut after = after;
        let mut all: Option<ThreadPage> = None;
        loop {
            let body = json!({"mailbox_id": mailbox.to_b64(), "after": after});
            let response = self
                .signed(
                    staff,
                    reqwest::Method::POST,
                    "/api/v1/staff/thread",
                    Some(body),
                )
                .await?;
            let page: ThreadPage = Self::json(response).await?;
            let last = page.messages.last().map(|m| m.seq);
            let last_seq = page.thread.last_seq;
            match &mut all {
                None => all = Some(page),
                Some(all) => {
                    all.messages.extend(page.messages);
                    all.thread = page.thread;
                }
            }
            match last {
                Some(seq) if seq < last_seq => after = seq,
                _ => break,
            }
        }
        all.ok_or(DeskError::BadResponse)
    }

    /// Posts a sealed reply; returns its sequence number.
    pub async fn reply(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        envelope: &[u8],
    ) -> Result<u64, DeskError> {
        let body = json!({"mailbox_id": mailbox.to_b64(), "envelope": b64::encode(envelope)});
        let response = self
            .signed(
                staff,
                reqwest::Method::POST,
                "/api/v1/staff/reply",
                Some(body),
            )
            .await?;
        let posted: Value = Self::json(response).await?;
        posted["seq"].as_u64().ok_or(DeskError::BadResponse)
    }

    /// Marks the thread read up to `seq`.
    pub async fn mark_read(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        seq: u64,
    ) -> Result<(), DeskError> {
        let body = json!({"mailbox_id": mailbox.to_b64(), "seq": seq});
        self.signed(
            staff,
            reqwest::Method::POST,
            "/api/v1/staff/read",
            Some(body),
        )
        .await?;
        Ok(())
    }

    /// Replaces the staff-only note.
    pub async fn put_note(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        envelope: &[u8],
    ) -> Result<(), DeskError> {
        let body = json!({"mailbox_id": mailbox.to_b64(), "envelope": b64::encode(envelope)});
        self.signed(
            staff,
            reqwest::Method::POST,
            "/api/v1/staff/note",
            Some(body),
        )
        .await?;
        Ok(())
    }

    /// Moves a thread to another centre with every message re-sealed.
    pub async fn transfer(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        to_centre: &str,
        messages: &[(u64, Vec<u8>)],
        note: Option<&[u8]>,
    ) -> Result<(), DeskError> {
        let body = json!({
            "mailbox_id": mailbox.to_b64(),
            "to_centre": to_centre,
            "messages": messages
                .iter()
                .map(|(seq, e)| json!({"seq": seq, "envelope": b64::encode(e)}))
                .collect::<Vec<_>>(),
            "note": note.map(b64::encode),
        });
        self.signed(
            staff,
            reqwest::Method::POST,
            "/api/v1/staff/transfer",
            Some(body),
        )
        .await?;
        Ok(())
    }

    /// Opens the centre's event stream (server-sent events). Each
    /// `event: change` in it means some thread of the centre changed.
    pub async fn events(&self, staff: &Signing<'_>) -> Result<reqwest::Response, DeskError> {
        let request = self.http.get(self.url("/api/v1/staff/events"));
        let bytes: Vec<u8> = Vec::new();
        let auth = RequestAuth::sign(
            &mut os_rng(),
            staff.keys,
            staff.salt,
            "GET",
            "/api/v1/staff/events",
            &bytes,
            now(),
        )
        .map_err(|_| DeskError::Invalid("the request could not be signed".into()))?;
        let mut request = request;
        for (name, value) in auth.to_headers() {
            request = request.header(name, value);
        }
        // No overall timeout: the stream stays open; the relay sends a
        // comment every 15 s.
        let response = request
            .send()
            .await
            .map_err(|_| DeskError::Unreachable(self.base.clone()))?;
        if !response.status().is_success() {
            return Err(DeskError::BadResponse);
        }
        Ok(response)
    }
}

/// What signing a staff request needs.
#[derive(Clone, Copy)]
pub struct Signing<'a> {
    /// The staff member's keys.
    pub keys: &'a StaffKeys,
    /// The deployment salt from the directory.
    pub salt: &'a DeploymentSalt,
}
