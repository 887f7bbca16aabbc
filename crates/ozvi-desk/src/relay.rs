//! The relay's HTTP API as the desk uses it (docs/API.md). Staff requests
//! are signed here; nothing here decrypts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ozvi_api::ErrorBody;
use ozvi_api::limits::INBOX_PAGE;
use ozvi_api::person::Posted;
use ozvi_api::routes::paths;
use ozvi_api::staff::{
    EnvelopeRequest, FileRequest, Inbox, MarkRead, Resealed, ThreadPage, ThreadQuery, Transfer,
};
use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::file::{self, FileId, SealedFile};
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::{DeploymentSalt, MailboxId, StaffKeys};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::DeskError;

/// A relay, reached over HTTP(S).
#[derive(Debug, Clone)]
pub struct RelayClient {
    base: String,
    http: reqwest::Client,
    traffic: std::sync::Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    requests: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
}

/// How much the desk has asked of the relay: requests sent and bytes of
/// answers received (the desk benchmark prints both per action).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// HTTP requests sent.
    pub requests: u64,
    /// Bytes of response bodies read.
    pub bytes: u64,
}

impl std::ops::Sub for Traffic {
    type Output = Traffic;
    fn sub(self, earlier: Traffic) -> Traffic {
        Traffic {
            requests: self.requests - earlier.requests,
            bytes: self.bytes - earlier.bytes,
        }
    }
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

impl RelayClient {
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
        Ok(Self {
            base,
            http,
            traffic: Default::default(),
        })
    }

    /// What this client has sent and received so far.
    pub fn traffic(&self) -> Traffic {
        use std::sync::atomic::Ordering::Relaxed;
        Traffic {
            requests: self.traffic.requests.load(Relaxed),
            bytes: self.traffic.bytes.load(Relaxed),
        }
    }

    fn count_request(&self) {
        self.traffic
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn count_bytes(&self, n: usize) {
        self.traffic
            .bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// The relay's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, target: &str) -> String {
        format!("{}{target}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, DeskError> {
        self.count_request();
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

    async fn json<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, DeskError> {
        let bytes = response.bytes().await.map_err(|_| DeskError::BadResponse)?;
        self.count_bytes(bytes.len());
        serde_json::from_slice(&bytes).map_err(|_| DeskError::BadResponse)
    }

    /// The signed directory as served.
    pub async fn directory(&self) -> Result<Vec<u8>, DeskError> {
        let response = self.send(self.http.get(self.url(paths::DIRECTORY))).await?;
        let bytes = response.bytes().await.map_err(|_| DeskError::BadResponse)?;
        self.count_bytes(bytes.len());
        Ok(bytes.to_vec())
    }

    /// Publishes a signed directory (the signature is the authorization).
    pub async fn publish_directory(&self, json: Vec<u8>) -> Result<(), DeskError> {
        self.send(
            self.http
                .put(self.url(paths::DIRECTORY))
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
        body: Option<&impl Serialize>,
    ) -> Result<reqwest::Response, DeskError> {
        let bytes = match body {
            Some(body) => serde_json::to_vec(body).map_err(|_| DeskError::BadResponse)?,
            None => Vec::new(),
        };
        let request = self.signed_request(staff, method, target, bytes, "application/json")?;
        self.send(request).await
    }

    /// A request signed by `keys` (PROTOCOL.md §7), with its body (of
    /// `content_type`) if any, ready to send.
    fn signed_request(
        &self,
        staff: &Signing<'_>,
        method: reqwest::Method,
        target: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<reqwest::RequestBuilder, DeskError> {
        let auth = RequestAuth::sign(
            &mut os_rng(),
            staff.keys,
            staff.salt,
            method.as_str(),
            target,
            &bytes,
            now(),
        )
        .map_err(|_| DeskError::Prepare("signed request"))?;
        let mut request = self.http.request(method, self.url(target));
        for (name, value) in auth.to_headers() {
            request = request.header(name, value);
        }
        if !bytes.is_empty() {
            request = request.header("content-type", content_type).body(bytes);
        }
        Ok(request)
    }

    /// Every thread of the signer's centre changed after `since`, all pages.
    pub async fn inbox(&self, staff: &Signing<'_>, since: u64) -> Result<Inbox, DeskError> {
        let mut all: Option<Inbox> = None;
        let mut before: Option<u64> = None;
        loop {
            let target = match before {
                None => format!("{}?since={since}", paths::STAFF_THREADS),
                Some(b) => format!("{}?since={since}&before={b}", paths::STAFF_THREADS),
            };
            let response = self
                .signed(staff, reqwest::Method::GET, &target, None::<&()>)
                .await?;
            let page: Inbox = self.json(response).await?;
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

    /// Whether the signer's centre's e-mail notifications are delivered.
    pub async fn notifications(
        &self,
        staff: &Signing<'_>,
    ) -> Result<ozvi_api::staff::Notifications, DeskError> {
        let response = self
            .signed(
                staff,
                reqwest::Method::GET,
                paths::STAFF_NOTIFICATIONS,
                None::<&()>,
            )
            .await?;
        self.json(response).await
    }

    /// The centre's reply templates envelope, if staff stored one.
    pub async fn templates(&self, staff: &Signing<'_>) -> Result<Option<String>, DeskError> {
        let response = self
            .signed(
                staff,
                reqwest::Method::GET,
                paths::STAFF_TEMPLATES,
                None::<&()>,
            )
            .await?;
        let record: ozvi_api::staff::CentreRecord = self.json(response).await?;
        Ok(record.envelope)
    }

    /// Replaces the centre's reply templates envelope.
    pub async fn put_templates(
        &self,
        staff: &Signing<'_>,
        envelope: &str,
    ) -> Result<(), DeskError> {
        let body = ozvi_api::staff::CentreRecordUpload {
            envelope: envelope.to_string(),
        };
        self.signed(
            staff,
            reqwest::Method::PUT,
            paths::STAFF_TEMPLATES,
            Some(&body),
        )
        .await?;
        Ok(())
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
            let body = ThreadQuery {
                mailbox_id: mailbox.to_b64(),
                after,
            };
            let response = self
                .signed(
                    staff,
                    reqwest::Method::POST,
                    paths::STAFF_THREAD,
                    Some(&body),
                )
                .await?;
            let page: ThreadPage = self.json(response).await?;
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

    /// Uploads a sealed file of a thread of the signer's centre (`PUT
    /// /api/v1/staff/file`, body `mailbox id ‖ file id ‖ blob`, signed). A
    /// connection that fails is tried once more under the same id: the
    /// relay replaces an unclaimed upload, so there is never a second copy.
    pub async fn upload_file(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        sealed: &SealedFile,
    ) -> Result<(), DeskError> {
        let mut body = Vec::with_capacity(32 + sealed.blob.len());
        body.extend_from_slice(&mailbox.0);
        body.extend_from_slice(&sealed.reference.id.0);
        body.extend_from_slice(&sealed.blob);
        let mut tried = false;
        loop {
            let request = self.signed_request(
                staff,
                reqwest::Method::PUT,
                paths::STAFF_FILE,
                body.clone(),
                "application/octet-stream",
            )?;
            match self.send(request).await {
                Err(DeskError::Unreachable(_)) if !tried => tried = true,
                other => return other.map(|_| ()),
            }
        }
    }

    /// A claimed file of a thread of the signer's centre, the blob as the
    /// relay stores it (`POST /api/v1/staff/file`). An answer longer than
    /// the largest blob is not read.
    pub async fn download_file(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        id: &FileId,
    ) -> Result<Vec<u8>, DeskError> {
        let body = FileRequest {
            mailbox_id: mailbox.to_b64(),
            file_id: id.to_b64(),
        };
        let mut response = self
            .signed(staff, reqwest::Method::POST, paths::STAFF_FILE, Some(&body))
            .await?;
        let largest = file::BLOB_LENGTHS[file::BLOB_LENGTHS.len() - 1];
        let mut blob = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| DeskError::Unreachable(self.base.clone()))?
        {
            if (blob.len() + chunk.len()) as u64 > largest {
                return Err(DeskError::BadResponse);
            }
            blob.extend_from_slice(&chunk);
        }
        self.count_bytes(blob.len());
        Ok(blob)
    }

    /// Posts a sealed reply; returns its sequence number.
    pub async fn reply(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        envelope: &[u8],
    ) -> Result<u64, DeskError> {
        self.reply_with_files(staff, mailbox, envelope, &[]).await
    }

    /// Posts a sealed reply that carries `files` (uploaded before it, and
    /// claimed by it); returns its sequence number.
    pub async fn reply_with_files(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        envelope: &[u8],
        files: &[FileId],
    ) -> Result<u64, DeskError> {
        let body = EnvelopeRequest {
            files: files.iter().map(FileId::to_b64).collect(),
            mailbox_id: mailbox.to_b64(),
            envelope: b64::encode(envelope),
        };
        let response = self
            .signed(
                staff,
                reqwest::Method::POST,
                paths::STAFF_REPLY,
                Some(&body),
            )
            .await?;
        let posted: Posted = self.json(response).await?;
        Ok(posted.seq)
    }

    /// Posts a sealed case entry (PROTOCOL.md §4.11): the first under an
    /// unused id opens the case. Returns its sequence number.
    pub async fn case_entry(
        &self,
        staff: &Signing<'_>,
        case: &MailboxId,
        envelope: &[u8],
    ) -> Result<u64, DeskError> {
        let body = EnvelopeRequest {
            files: Vec::new(),
            mailbox_id: case.to_b64(),
            envelope: b64::encode(envelope),
        };
        let response = self
            .signed(staff, reqwest::Method::POST, paths::STAFF_CASE, Some(&body))
            .await?;
        let posted: Posted = self.json(response).await?;
        Ok(posted.seq)
    }

    /// Marks the thread read up to `seq`.
    pub async fn mark_read(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        seq: u64,
    ) -> Result<(), DeskError> {
        let body = MarkRead {
            mailbox_id: mailbox.to_b64(),
            seq,
        };
        self.signed(staff, reqwest::Method::POST, paths::STAFF_READ, Some(&body))
            .await?;
        Ok(())
    }

    /// Keeps a quiet thread for another retention period.
    pub async fn keep(&self, staff: &Signing<'_>, mailbox: &MailboxId) -> Result<(), DeskError> {
        let body = ozvi_api::staff::Keep {
            mailbox_id: mailbox.to_b64(),
        };
        self.signed(staff, reqwest::Method::POST, paths::STAFF_KEEP, Some(&body))
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
        let body = EnvelopeRequest {
            files: Vec::new(),
            mailbox_id: mailbox.to_b64(),
            envelope: b64::encode(envelope),
        };
        self.signed(staff, reqwest::Method::POST, paths::STAFF_NOTE, Some(&body))
            .await?;
        Ok(())
    }

    /// Moves a thread to another centre with every message re-sealed, and
    /// the notice telling her so appended (PROTOCOL.md §4.8).
    pub async fn transfer(
        &self,
        staff: &Signing<'_>,
        mailbox: &MailboxId,
        to_centre: &str,
        messages: &[(u64, Vec<u8>)],
        note: Option<&[u8]>,
        notice: &[u8],
    ) -> Result<(), DeskError> {
        let body = Transfer {
            mailbox_id: mailbox.to_b64(),
            to_centre: to_centre.to_string(),
            messages: messages
                .iter()
                .map(|(seq, e)| Resealed {
                    seq: *seq,
                    envelope: b64::encode(e),
                })
                .collect(),
            note: note.map(b64::encode),
            notice: Some(b64::encode(notice)),
        };
        self.signed(
            staff,
            reqwest::Method::POST,
            paths::STAFF_TRANSFER,
            Some(&body),
        )
        .await?;
        Ok(())
    }

    /// Opens the centre's event stream (server-sent events). Each
    /// `event: change` in it means some thread of the centre changed.
    pub async fn events(&self, staff: &Signing<'_>) -> Result<reqwest::Response, DeskError> {
        let request = self.signed_request(
            staff,
            reqwest::Method::GET,
            paths::STAFF_EVENTS,
            Vec::new(),
            "",
        )?;
        // No overall timeout: the stream stays open; the relay sends a
        // comment every 15 s.
        self.count_request();
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use ozvi_crypto::protocol::file;
    use ozvi_crypto::{DeploymentSalt, MailboxId, StaffKeys};

    use super::*;

    /// Reads one HTTP request (headers, then `Content-Length` bytes).
    fn read_request(stream: &mut std::net::TcpStream) -> Vec<u8> {
        let mut data = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = stream.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return data;
            }
            data.extend_from_slice(&buf[..n]);
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if data.len() >= end + 4 + len {
                    return data[end + 4..end + 4 + len].to_vec();
                }
            }
        }
    }

    /// The bodies a fake relay received in full.
    type Received = Arc<Mutex<Vec<Vec<u8>>>>;

    /// A relay whose first `drops` connections close without an answer;
    /// later ones answer 204. Returns its address and the bodies received
    /// in full.
    fn flaky_relay(drops: usize) -> (String, Received, Arc<Mutex<usize>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (b, c) = (bodies.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let n = {
                    let mut c = c.lock().expect("lock");
                    *c += 1;
                    *c
                };
                let body = read_request(&mut stream);
                if n <= drops {
                    drop(stream);
                    continue;
                }
                b.lock().expect("lock").push(body);
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        (base, bodies, connections)
    }

    fn sealed() -> (MailboxId, SealedFile) {
        let mailbox = MailboxId([7; 16]);
        let sealed = file::seal(
            &mut os_rng(),
            &mailbox,
            b"%PDF-1.4",
            "application/pdf",
            None,
            None,
        )
        .expect("seals");
        (mailbox, sealed)
    }

    #[tokio::test]
    async fn an_upload_cut_off_is_sent_once_more_under_the_same_id() {
        let keys = StaffKeys::generate(&mut os_rng());
        let salt = DeploymentSalt::generate(&mut os_rng());
        let staff = Signing {
            keys: &keys,
            salt: &salt,
        };
        let (mailbox, file) = sealed();
        let (base, bodies, connections) = flaky_relay(1);
        let client = RelayClient::new(&base).expect("client");
        client
            .upload_file(&staff, &mailbox, &file)
            .await
            .expect("the second attempt is answered");
        assert_eq!(*connections.lock().expect("lock"), 2);
        let body = bodies.lock().expect("lock")[0].clone();
        assert_eq!(&body[..16], &mailbox.0);
        assert_eq!(&body[16..32], &file.reference.id.0, "the same id");
        assert_eq!(&body[32..], &file.blob[..]);
        drop(bodies);

        // Never more than once more.
        let (base, bodies, connections) = flaky_relay(usize::MAX);
        let client = RelayClient::new(&base).expect("client");
        let e = client.upload_file(&staff, &mailbox, &file).await;
        assert!(matches!(e, Err(DeskError::Unreachable(_))), "{e:?}");
        assert_eq!(*connections.lock().expect("lock"), 2);
        assert!(bodies.lock().expect("lock").is_empty());
    }
}
