//! Attached files (docs/API.md, "Files"): uploads before the message, claims
//! written with it, downloads for the thread's holders only, refusals before
//! the body is read, quotas, and files gone with their thread.

use std::time::Duration;

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::protocol::file::{BLOB_LENGTHS, FileId, SealedFile, open, seal};
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_crypto::{MailboxId, PersonKeys};
use ozvi_relay::state::Clock;
use ozvi_relay::store::FileState;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, assert_error, person, spawn_app, spawn_app_with};

const PATH: &str = "/api/v1/mailbox/file";
const STAFF_PATH: &str = "/api/v1/staff/file";

fn sealed(app: &TestApp, mailbox: &MailboxId, plaintext: &[u8]) -> SealedFile {
    seal(
        &mut *app.rng.lock().expect("rng"),
        mailbox,
        plaintext,
        "image/jpeg",
        Some((2, 1)),
        None,
    )
    .expect("seals")
}

/// The status of her upload of `photo` (no proof of work).
async fn upload_status(app: &TestApp, who: &PersonKeys, photo: &SealedFile) -> u16 {
    upload(app, who, &photo.reference.id, &photo.blob, None)
        .await
        .status()
        .as_u16()
}

/// Her upload of `blob` under `id`, with `pow` (`challenge.nonce`) if given.
async fn upload(
    app: &TestApp,
    who: &PersonKeys,
    id: &FileId,
    blob: &[u8],
    pow: Option<String>,
) -> reqwest::Response {
    let mut request = app
        .as_person(app.http.put(app.url(PATH)), who)
        .header("Ozvi-File", id.to_b64())
        .header("content-type", "application/octet-stream");
    if let Some(pow) = pow {
        request = request.header("Ozvi-Pow", pow);
    }
    request.body(blob.to_vec()).send().await.expect("request")
}

async fn download(app: &TestApp, who: &PersonKeys, id: &FileId) -> reqwest::Response {
    app.as_person(app.http.get(app.url(PATH)), who)
        .header("Ozvi-File", id.to_b64())
        .send()
        .await
        .expect("request")
}

/// A solved `create` challenge as the `Ozvi-Pow` header writes it.
async fn pow_header(app: &TestApp) -> String {
    let solved = app.challenge("create").await;
    format!(
        "{}.{}",
        solved["challenge"].as_str().expect("string"),
        solved["nonce"]
    )
}

/// Her next message, claiming `files`.
async fn post_with(app: &TestApp, who: &PersonKeys, files: &[&FileId]) -> reqwest::Response {
    let envelope = app.person_message(who, "ic-zlin", "s fotkou");
    let body = json!({
        "envelope": b64::encode(&envelope),
        "pow": app.challenge("post").await,
        "files": files.iter().map(|f| f.to_b64()).collect::<Vec<_>>(),
    });
    app.as_person(app.http.post(app.url("/api/v1/mailbox/messages")), who)
        .json(&body)
        .send()
        .await
        .expect("request")
}

/// Her new thread claiming `files`, with verifier `verifier` and a proof
/// of work if `pow`.
async fn create_with(
    app: &TestApp,
    who: &PersonKeys,
    verifier: [u8; 32],
    files: &[&FileId],
    pow: bool,
) -> reqwest::Response {
    let envelope = app.person_message(who, "ic-zlin", "první s fotkou");
    let mut body = json!({
        "mailbox_id": who.mailbox_id().to_b64(),
        "verifier": b64::encode(&verifier),
        "centre": "ic-zlin",
        "envelope": b64::encode(&envelope),
        "files": files.iter().map(|f| f.to_b64()).collect::<Vec<_>>(),
    });
    if pow {
        body["pow"] = app.challenge("create").await;
    }
    app.http
        .post(app.url("/api/v1/threads"))
        .json(&body)
        .send()
        .await
        .expect("request")
}

/// A staff upload, signed over `signed` and sending `sent` (the same,
/// unless a test forges).
async fn staff_upload(
    app: &TestApp,
    staff: usize,
    signed: &[u8],
    sent: &[u8],
) -> reqwest::Response {
    let auth = RequestAuth::sign(
        &mut *app.rng.lock().expect("rng"),
        &app.zlin[staff],
        &app.directory.salt,
        "PUT",
        STAFF_PATH,
        signed,
        app.clock.now(),
    )
    .expect("signs");
    let mut builder = app.http.put(app.url(STAFF_PATH));
    for (name, value) in auth.to_headers() {
        builder = builder.header(name, value);
    }
    builder
        .header("content-type", "application/octet-stream")
        .body(sent.to_vec())
        .send()
        .await
        .expect("request")
}

fn staff_body(mailbox: &MailboxId, id: &FileId, blob: &[u8]) -> Vec<u8> {
    let mut body = mailbox.0.to_vec();
    body.extend_from_slice(&id.0);
    body.extend_from_slice(blob);
    body
}

async fn staff_download(
    app: &TestApp,
    staff: &ozvi_crypto::StaffKeys,
    mailbox: &MailboxId,
    id: &FileId,
) -> reqwest::Response {
    let body = json!({"mailbox_id": mailbox.to_b64(), "file_id": id.to_b64()});
    app.staff_request(staff, "POST", STAFF_PATH, Some(&body))
        .await
}

async fn bytes(response: reqwest::Response) -> Vec<u8> {
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/octet-stream")
    );
    response.bytes().await.expect("body").to_vec()
}

/// The blobs and partial files in the blob directory (not the file that
/// names its store).
fn blob_files(app: &TestApp) -> Vec<String> {
    let dir = app._data.path().join("db").join("files");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the blob directory exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name != "ozvi-store")
        .collect();
    names.sort();
    names
}

/// Sends `head` (a request's headers, without the blank line) and `body`
/// over a raw connection, then reads the status line of the answer, if one
/// comes within two seconds. The connection is returned, open.
async fn raw(app: &TestApp, head: &str, body: &[u8]) -> (Option<u16>, tokio::net::TcpStream) {
    let mut socket = sent(app, head, body).await;
    let status = status_within(&mut socket, Duration::from_secs(2)).await;
    (status, socket)
}

/// Sends `head` (a request's headers, without the blank line) and `body`
/// over a raw connection: the connection, open, its answer unread.
async fn sent(app: &TestApp, head: &str, body: &[u8]) -> tokio::net::TcpStream {
    let address = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    socket
        .write_all(format!("{head}\r\nHost: relay\r\n\r\n").as_bytes())
        .await
        .expect("writes");
    socket.write_all(body).await.expect("writes");
    socket
}

fn person_head(who: &PersonKeys, id: &FileId, length: Option<u64>) -> String {
    let mut head = format!(
        "PUT {PATH} HTTP/1.1\r\nOzvi-Mailbox: {}\r\nOzvi-Auth: {}\r\nOzvi-File: {}\r\n\
         Content-Type: application/octet-stream",
        who.mailbox_id().to_b64(),
        b64::encode(who.auth_secret().expose()),
        id.to_b64()
    );
    if let Some(length) = length {
        head += &format!("\r\nContent-Length: {length}");
    }
    head
}

async fn thread_of(app: &TestApp, who: &PersonKeys) {
    assert_eq!(
        app.create_thread(who, "ic-zlin", "první").await.status(),
        201
    );
}

#[tokio::test]
async fn her_file_goes_up_before_her_message_and_comes_back_to_her_and_to_staff() {
    let app = spawn_app().await;
    let anna = person(1);
    thread_of(&app, &anna).await;
    let photo = sealed(&app, &anna.mailbox_id(), b"\xff\xd8 a photo of a bruise");
    let id = photo.reference.id;
    assert_eq!(
        upload(&app, &anna, &id, &photo.blob, None).await.status(),
        204
    );
    // Not hers to read until a message claims it.
    assert_error(download(&app, &anna, &id).await, 404, "unknown_file").await;
    assert_eq!(post_with(&app, &anna, &[&id]).await.status(), 201);
    let record = app
        .state
        .store
        .file(&anna.mailbox_id(), &id)
        .await
        .expect("reads")
        .expect("stored");
    assert_eq!((record.state, record.claimed_by), (FileState::Claimed, 2));
    let got = bytes(download(&app, &anna, &id).await).await;
    assert_eq!(got, photo.blob);
    let opened = open(&anna.mailbox_id(), &photo.reference, &got).expect("opens");
    assert_eq!(&opened[..], b"\xff\xd8 a photo of a bruise");
    let staff = bytes(staff_download(&app, &app.zlin[0], &anna.mailbox_id(), &id).await).await;
    assert_eq!(staff, photo.blob);
    // Another centre's staff, and a wrong auth secret, learn nothing.
    assert_error(
        staff_download(&app, &app.praha, &anna.mailbox_id(), &id).await,
        404,
        "unknown_mailbox",
    )
    .await;
    let eve = person(9);
    let wrong = app
        .http
        .get(app.url(PATH))
        .header("Ozvi-Mailbox", anna.mailbox_id().to_b64())
        .header("Ozvi-Auth", b64::encode(eve.auth_secret().expose()))
        .header("Ozvi-File", id.to_b64())
        .send()
        .await
        .expect("request");
    assert_error(wrong, 404, "unknown_mailbox").await;
}

#[tokio::test]
async fn staff_attach_a_file_to_a_reply_and_a_forged_upload_stores_nothing() {
    let app = spawn_app().await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    let leaflet = sealed(&app, &mailbox, b"%PDF the centre's leaflet");
    let id = leaflet.reference.id;
    let body = staff_body(&mailbox, &id, &leaflet.blob);
    // Signed over other bytes than those sent: refused once it is all in,
    // and nothing of it is kept.
    let mut forged = body.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_error(
        staff_upload(&app, 0, &body, &forged).await,
        401,
        "bad_signature",
    )
    .await;
    assert!(
        app.state
            .store
            .file(&mailbox, &id)
            .await
            .expect("reads")
            .is_none()
    );
    assert!(blob_files(&app).is_empty(), "{:?}", blob_files(&app));
    // Praha's staff cannot put a file into Zlín's thread.
    let praha = RequestAuth::sign(
        &mut *app.rng.lock().expect("rng"),
        &app.praha,
        &app.directory.salt,
        "PUT",
        STAFF_PATH,
        &body,
        app.clock.now(),
    )
    .expect("signs");
    let mut builder = app.http.put(app.url(STAFF_PATH));
    for (name, value) in praha.to_headers() {
        builder = builder.header(name, value);
    }
    let refused = builder.body(body.clone()).send().await.expect("request");
    assert_error(refused, 404, "unknown_mailbox").await;
    assert!(
        app.state
            .store
            .file(&mailbox, &id)
            .await
            .expect("reads")
            .is_none()
    );
    // Genuine: stored, then claimed by the reply.
    assert_eq!(staff_upload(&app, 0, &body, &body).await.status(), 204);
    let reply = app.staff_envelope(&app.zlin[0], "ic-zlin", &anna, Kind::StaffReply, "leták");
    let request = json!({
        "mailbox_id": mailbox.to_b64(),
        "envelope": b64::encode(&reply),
        "files": [id.to_b64()],
    });
    let posted = app
        .staff_request(&app.zlin[0], "POST", "/api/v1/staff/reply", Some(&request))
        .await;
    assert_eq!(posted.status(), 201);
    let got = bytes(download(&app, &anna, &id).await).await;
    assert_eq!(
        &open(&mailbox, &leaflet.reference, &got).expect("opens")[..],
        b"%PDF the centre's leaflet"
    );
    // A note claims no file.
    let note = app.staff_envelope(&app.zlin[0], "ic-zlin", &anna, Kind::StaffNote, "pozn.");
    let request = json!({
        "mailbox_id": mailbox.to_b64(),
        "envelope": b64::encode(&note),
        "files": [FileId([7; 16]).to_b64()],
    });
    assert_error(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/note", Some(&request))
            .await,
        400,
        "invalid_field",
    )
    .await;
}

#[tokio::test]
async fn her_first_contact_with_photos_pays_once_on_the_upload_and_binds_her_secret() {
    let app = spawn_app_with(|c| c.pow_difficulty = 4).await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    let verifier = anna.auth_secret().verifier().0;
    let first = sealed(&app, &mailbox, b"first");
    let second = sealed(&app, &mailbox, b"second");
    let (a, b) = (first.reference.id, second.reference.id);
    // No thread yet: the first upload needs a create challenge.
    assert_error(
        upload(&app, &anna, &a, &first.blob, None).await,
        403,
        "invalid_proof_of_work",
    )
    .await;
    assert!(
        app.state
            .store
            .file(&mailbox, &a)
            .await
            .expect("reads")
            .is_none()
    );
    let pow = pow_header(&app).await;
    assert_eq!(
        upload(&app, &anna, &a, &first.blob, Some(pow.clone()))
            .await
            .status(),
        204
    );
    // A spent challenge is not spent twice, but her second upload needs none.
    assert_eq!(
        upload(&app, &anna, &b, &second.blob, None).await.status(),
        204
    );
    // Someone else with her mailbox id but not her secret: refused.
    let eve = person(9);
    let other = app
        .http
        .put(app.url(PATH))
        .header("Ozvi-Mailbox", mailbox.to_b64())
        .header("Ozvi-Auth", b64::encode(eve.auth_secret().expose()))
        .header("Ozvi-File", FileId([3; 16]).to_b64())
        .header("Ozvi-Pow", pow_header(&app).await)
        .body(first.blob.clone())
        .send()
        .await
        .expect("request");
    assert_error(other, 404, "unknown_mailbox").await;
    // A thread with another verifier cannot claim them (even paying).
    let wrong = create_with(&app, &anna, eve.auth_secret().verifier().0, &[&a], true).await;
    assert_error(wrong, 404, "unknown_file").await;
    assert!(
        app.state
            .store
            .thread(&mailbox)
            .await
            .expect("reads")
            .is_none()
    );
    // Her thread claims both without a proof of work of its own.
    assert_eq!(
        create_with(&app, &anna, verifier, &[&a, &b], false)
            .await
            .status(),
        201
    );
    for (id, file) in [(&a, &first), (&b, &second)] {
        assert_eq!(bytes(download(&app, &anna, id).await).await, file.blob);
    }
    // Whoever holds her mailbox id without her secret learns whether her
    // thread exists no more cheaply than by paying for a creation: without
    // a proof of work the answer is the one a missing thread gets.
    let as_eve = |pow: Option<String>| {
        let mut request = app
            .http
            .put(app.url(PATH))
            .header("Ozvi-Mailbox", mailbox.to_b64())
            .header("Ozvi-Auth", b64::encode(eve.auth_secret().expose()))
            .header("Ozvi-File", FileId([3; 16]).to_b64());
        if let Some(pow) = pow {
            request = request.header("Ozvi-Pow", pow);
        }
        request.body(first.blob.clone()).send()
    };
    assert_error(
        as_eve(None).await.expect("request"),
        403,
        "invalid_proof_of_work",
    )
    .await;
    let nobody = person(8);
    assert_error(
        upload(&app, &nobody, &a, &first.blob, None).await,
        403,
        "invalid_proof_of_work",
    )
    .await;
    assert_error(
        as_eve(Some(pow_header(&app).await)).await.expect("request"),
        404,
        "unknown_mailbox",
    )
    .await;
    assert_eq!(
        app.state.store.files(&mailbox).await.expect("reads").len(),
        2
    );
    // Without bound uploads a new thread still pays.
    let bea = person(2);
    let plain = create_with(&app, &bea, bea.auth_secret().verifier().0, &[], false).await;
    assert_error(plain, 403, "invalid_proof_of_work").await;
}

#[tokio::test]
async fn uploads_are_refused_on_their_headers_before_the_body_is_read() {
    let app = spawn_app().await;
    let anna = person(1);
    thread_of(&app, &anna).await;
    let id = FileId([1; 16]);
    // Nothing of a body is ever sent: each answer comes on the headers.
    let (status, _) = raw(&app, &person_head(&anna, &id, None), b"").await;
    assert_eq!(status, Some(411), "no length");
    let (status, _) = raw(
        &app,
        &person_head(&anna, &id, Some(BLOB_LENGTHS[0] + 1)),
        b"",
    )
    .await;
    assert_eq!(status, Some(400), "not a bucket");
    let (status, _) = raw(
        &app,
        &person_head(&anna, &id, Some(BLOB_LENGTHS[8] + 1)),
        b"",
    )
    .await;
    assert_eq!(status, Some(413), "over the largest bucket");
    let eve = person(9);
    let wrong_auth = person_head(&anna, &id, Some(BLOB_LENGTHS[8])).replace(
        &b64::encode(anna.auth_secret().expose()),
        &b64::encode(eve.auth_secret().expose()),
    );
    let (status, _) = raw(&app, &wrong_auth, b"").await;
    assert_eq!(status, Some(404), "wrong auth");
    assert!(
        app.state
            .store
            .files(&anna.mailbox_id())
            .await
            .expect("reads")
            .is_empty()
    );
    // A staff upload with no signature is refused before its body too.
    let (status, _) = raw(
        &app,
        &format!(
            "PUT {STAFF_PATH} HTTP/1.1
Content-Length: {}",
            32 + BLOB_LENGTHS[8]
        ),
        b"",
    )
    .await;
    assert_eq!(status, Some(401));
    // A body that is not a blob (its first byte) is refused and not kept.
    let mut plain = vec![0u8; usize::try_from(BLOB_LENGTHS[0]).expect("small")];
    plain[..4].copy_from_slice(b"\xff\xd8\xff\xe0");
    assert_error(
        upload(&app, &anna, &id, &plain, None).await,
        400,
        "invalid_file",
    )
    .await;
    assert!(
        app.state
            .store
            .files(&anna.mailbox_id())
            .await
            .expect("reads")
            .is_empty()
    );
    assert!(blob_files(&app).is_empty(), "{:?}", blob_files(&app));
}

#[tokio::test]
async fn a_claim_of_a_file_that_is_not_a_complete_unclaimed_upload_of_the_thread_writes_nothing() {
    let app = spawn_app().await;
    let anna = person(1);
    let bea = person(2);
    thread_of(&app, &anna).await;
    thread_of(&app, &bea).await;
    let mine = sealed(&app, &anna.mailbox_id(), b"mine");
    let hers = sealed(&app, &bea.mailbox_id(), b"hers");
    let (m, h) = (mine.reference.id, hers.reference.id);
    assert_eq!(
        upload(&app, &anna, &m, &mine.blob, None).await.status(),
        204
    );
    assert_eq!(upload(&app, &bea, &h, &hers.blob, None).await.status(), 204);
    let unknown = FileId([0x55; 16]);
    for claim in [vec![&unknown], vec![&h], vec![&m, &unknown]] {
        assert_error(post_with(&app, &anna, &claim).await, 404, "unknown_file").await;
    }
    assert_error(
        post_with(&app, &anna, &[&m, &m]).await,
        400,
        "invalid_field",
    )
    .await;
    let six: Vec<FileId> = (0..6u8).map(|i| FileId([i; 16])).collect();
    assert_error(
        post_with(&app, &anna, &six.iter().collect::<Vec<_>>()).await,
        400,
        "invalid_field",
    )
    .await;
    let thread = app
        .state
        .store
        .thread(&anna.mailbox_id())
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(thread.last_seq, 1, "nothing written");
    let record = app
        .state
        .store
        .file(&anna.mailbox_id(), &m)
        .await
        .expect("reads")
        .expect("kept");
    assert_eq!(record.state, FileState::Pending, "and nothing claimed");
    assert_eq!(post_with(&app, &anna, &[&m]).await.status(), 201);
    // Claimed once only, and then never replaced.
    assert_error(post_with(&app, &anna, &[&m]).await, 404, "unknown_file").await;
    assert_error(
        upload(&app, &anna, &m, &mine.blob, None).await,
        409,
        "file_exists",
    )
    .await;
}

#[tokio::test]
async fn an_interrupted_upload_is_retried_under_its_id_and_the_same_id_twice_at_once_is_refused() {
    let app = spawn_app_with(|c| c.concurrent_uploads = 2).await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    let photo = sealed(&app, &mailbox, &[7u8; 100_000]);
    let id = photo.reference.id;
    let length = photo.blob.len() as u64;
    // Half the blob, then the connection drops.
    let (status, socket) = raw(
        &app,
        &person_head(&anna, &id, Some(length)),
        &photo.blob[..photo.blob.len() / 2],
    )
    .await;
    assert_eq!(status, None, "still waiting for the rest");
    drop(socket);
    let mut partial = None;
    for _ in 0..100 {
        partial = app.state.store.file(&mailbox, &id).await.expect("reads");
        let busy = app.state.uploading.lock().expect("lock").len();
        if busy == 0 && partial.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(partial.expect("a partial record").state, FileState::Partial);
    // While one is being received, the same id again is refused…
    let (status, held) = raw(
        &app,
        &person_head(&anna, &id, Some(length)),
        &photo.blob[..1000],
    )
    .await;
    assert_eq!(status, None);
    assert_error(
        upload(&app, &anna, &id, &photo.blob, None).await,
        409,
        "upload_in_progress",
    )
    .await;
    // …and over `concurrent_uploads`, any upload is busy before its body.
    let berta = person(2);
    thread_of(&app, &berta).await;
    let other = FileId([9; 16]);
    let (status, held_too) = raw(&app, &person_head(&berta, &other, Some(length)), &[1]).await;
    assert_eq!(status, None);
    let clara = person(3);
    thread_of(&app, &clara).await;
    let (status, _) = raw(
        &app,
        &person_head(&clara, &FileId([8; 16]), Some(length)),
        b"",
    )
    .await;
    assert_eq!(status, Some(503));
    drop((held, held_too));
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The retry replaces the partial one: one copy, the whole blob.
    assert_eq!(
        upload(&app, &anna, &id, &photo.blob, None).await.status(),
        204
    );
    let files = app.state.store.files(&mailbox).await.expect("reads");
    let complete: Vec<_> = files.iter().filter(|(f, _)| *f == id).collect();
    assert_eq!(complete.len(), 1);
    assert_eq!(complete[0].1.state, FileState::Pending);
    assert_eq!(post_with(&app, &anna, &[&id]).await.status(), 201);
    assert_eq!(bytes(download(&app, &anna, &id).await).await, photo.blob);
}

#[tokio::test]
async fn file_quotas_hold_per_thread() {
    let app = spawn_app_with(|c| {
        c.pending_files_per_thread = 2;
        c.files_per_thread = 2;
        c.file_bytes_per_thread = 4 * BLOB_LENGTHS[0];
    })
    .await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    let files: Vec<SealedFile> = (0..4u8).map(|i| sealed(&app, &mailbox, &[i])).collect();
    let ids: Vec<FileId> = files.iter().map(|f| f.reference.id).collect();
    for i in 0..2 {
        assert_eq!(
            upload(&app, &anna, &ids[i], &files[i].blob, None)
                .await
                .status(),
            204
        );
    }
    assert_error(
        upload(&app, &anna, &ids[2], &files[2].blob, None).await,
        409,
        "quota_exceeded",
    )
    .await;
    assert_eq!(
        post_with(&app, &anna, &[&ids[0], &ids[1]]).await.status(),
        201
    );
    // Two claimed: a third cannot be claimed.
    assert_eq!(
        upload(&app, &anna, &ids[2], &files[2].blob, None)
            .await
            .status(),
        204
    );
    assert_error(
        post_with(&app, &anna, &[&ids[2]]).await,
        409,
        "quota_exceeded",
    )
    .await;
    // Bytes: three small blobs held, a fourth fits, a larger one does not.
    let big = sealed(&app, &mailbox, &[1u8; 70_000]);
    assert_error(
        upload(&app, &anna, &big.reference.id, &big.blob, None).await,
        409,
        "quota_exceeded",
    )
    .await;
}

#[tokio::test]
async fn files_go_with_their_thread_move_with_a_transfer_and_unclaimed_ones_are_swept() {
    let app = spawn_app().await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    let kept = sealed(&app, &mailbox, b"claimed");
    let left = sealed(&app, &mailbox, b"never claimed");
    let (k, l) = (kept.reference.id, left.reference.id);
    assert_eq!(
        upload(&app, &anna, &k, &kept.blob, None).await.status(),
        204
    );
    assert_eq!(post_with(&app, &anna, &[&k]).await.status(), 201);
    assert_eq!(
        upload(&app, &anna, &l, &left.blob, None).await.status(),
        204
    );
    // Within the hour the sweeper leaves both.
    app.clock.advance(3000);
    ozvi_relay::startup::sweep(&app.state)
        .await
        .expect("sweeps");
    assert_eq!(blob_files(&app).len(), 2);
    app.clock.advance(1000);
    ozvi_relay::startup::sweep(&app.state)
        .await
        .expect("sweeps");
    assert!(
        app.state
            .store
            .file(&mailbox, &l)
            .await
            .expect("reads")
            .is_none()
    );
    assert!(
        app.state
            .store
            .file(&mailbox, &k)
            .await
            .expect("reads")
            .is_some()
    );
    assert_eq!(blob_files(&app).len(), 1);
    // A transfer to Praha (the real route, every message re-wrapped) keeps
    // it readable by her and the new centre, not by the old one.
    let messages = crate::transfer::stored(&app, &anna).await;
    let moved = crate::transfer::rewrapped(&app, &anna, &messages);
    assert_eq!(
        crate::transfer::transfer(&app, &anna, &moved)
            .await
            .status(),
        204
    );
    assert_eq!(
        bytes(staff_download(&app, &app.praha, &mailbox, &k).await).await,
        kept.blob
    );
    assert_error(
        staff_download(&app, &app.zlin[0], &mailbox, &k).await,
        404,
        "unknown_mailbox",
    )
    .await;
    assert_eq!(bytes(download(&app, &anna, &k).await).await, kept.blob);
    // Her deletion takes the blobs with it.
    let deleted = app.delete_thread(&anna).await;
    assert_eq!(deleted.status(), 204);
    assert!(
        app.state
            .store
            .files(&mailbox)
            .await
            .expect("reads")
            .is_empty()
    );
    assert!(blob_files(&app).is_empty(), "{:?}", blob_files(&app));
}

#[test]
fn an_export_holds_the_complete_blobs() {
    use ozvi_relay::store::{FileQuota, SledStore, Store};
    if ozvi_tests::relay::sled_only("the sled store's export") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(&dir.path().join("db")).expect("opens");
    let mailbox = MailboxId([4; 16]);
    let blob = |fill: u8| {
        let mut b = vec![fill; usize::try_from(BLOB_LENGTHS[0]).expect("small")];
        b[0] = 1;
        b
    };
    for (id, fill, complete) in [(1u8, 0xa1, true), (2, 0xa2, false)] {
        let mut writer = store
            .begin_upload(
                &mailbox,
                &FileId([id; 16]),
                BLOB_LENGTHS[0],
                // Her first contact's uploads: no thread yet.
                [7; 32],
                60,
                FileQuota::default(),
            )
            .expect("begins");
        writer.write(&blob(fill)).expect("writes");
        if complete {
            writer.finish().expect("finishes");
        }
    }
    let target = dir.path().join("export");
    store.export_to(&target).expect("exports");
    drop(store);
    let copy = SledStore::open(&target).expect("the export opens");
    let mut read = Vec::new();
    std::io::Read::read_to_end(
        &mut copy
            .read_blob(&mailbox, &FileId([1; 16]))
            .expect("exported"),
        &mut read,
    )
    .expect("reads");
    assert_eq!(read, blob(0xa1));
    assert!(
        copy.read_blob(&mailbox, &FileId([2; 16])).is_err(),
        "a partial upload is not copied"
    );
}

#[tokio::test]
async fn a_case_takes_no_file_and_a_case_entry_claims_none() {
    let app = spawn_app().await;
    let case = MailboxId([0x42; 16]);
    let entry = {
        let mut e = vec![0u8; 64];
        e[0] = 2;
        e[1] = 4;
        e
    };
    app.state
        .store
        .create_thread(
            &case,
            [0; 32],
            &ozvi_relay::store::CentreId::parse("ic-zlin").expect("valid"),
            &entry,
            app.clock.now(),
        )
        .await
        .expect("opens the case");
    let blob = sealed(&app, &case, b"no");
    let body = staff_body(&case, &blob.reference.id, &blob.blob);
    assert_error(
        staff_upload(&app, 0, &body, &body).await,
        409,
        "wrong_thread_kind",
    )
    .await;
    assert!(
        app.state
            .store
            .files(&case)
            .await
            .expect("reads")
            .is_empty()
    );
    assert!(blob_files(&app).is_empty(), "{:?}", blob_files(&app));
    let request = json!({
        "mailbox_id": case.to_b64(),
        "envelope": b64::encode(&entry),
        "files": [blob.reference.id.to_b64()],
    });
    assert_error(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/case", Some(&request))
            .await,
        400,
        "invalid_field",
    )
    .await;
}

/// A staff upload's head over a raw connection, signed by `app.zlin[0]`
/// over some other body: a copied public key with a garbage signature.
fn forged_staff_head(app: &TestApp, length: usize) -> String {
    let auth = RequestAuth::sign(
        &mut *app.rng.lock().expect("rng"),
        &app.zlin[0],
        &app.directory.salt,
        "PUT",
        STAFF_PATH,
        b"not this body",
        app.clock.now(),
    )
    .expect("signs");
    let mut head = format!(
        "PUT {STAFF_PATH} HTTP/1.1\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {length}"
    );
    for (name, value) in auth.to_headers() {
        head += &format!("\r\n{name}: {value}");
    }
    head
}

/// Reads the status line of an answer on `socket` within `wait`.
async fn status_within(socket: &mut tokio::net::TcpStream, wait: Duration) -> Option<u16> {
    let mut buf = vec![0u8; 512];
    match tokio::time::timeout(wait, socket.read(&mut buf)).await {
        Ok(Ok(n)) if n > 12 => std::str::from_utf8(&buf[9..12])
            .ok()
            .and_then(|s| s.parse().ok()),
        _ => None,
    }
}

#[tokio::test]
async fn forged_staff_uploads_take_none_of_her_places_nor_her_quota_and_tell_nothing_of_her_thread()
{
    let app = spawn_app_with(|c| {
        c.concurrent_uploads = 1;
        c.concurrent_staff_uploads = 2;
        c.pending_files_per_thread = 2;
    })
    .await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    let claimed = sealed(&app, &mailbox, b"claimed");
    assert_eq!(
        upload(&app, &anna, &claimed.reference.id, &claimed.blob, None)
            .await
            .status(),
        204
    );
    assert_eq!(
        post_with(&app, &anna, &[&claimed.reference.id])
            .await
            .status(),
        201
    );
    let before = blob_files(&app);
    // Anyone with a staff public key opens uploads to her mailbox that
    // will never verify, and holds them.
    let photo = sealed(&app, &mailbox, &[7u8; 100_000]);
    let mut held = Vec::new();
    for i in 0..2u8 {
        let body = staff_body(&mailbox, &FileId([40 + i; 16]), &photo.blob);
        let (status, socket) = raw(
            &app,
            &forged_staff_head(&app, body.len()),
            &body[..body.len() / 2],
        )
        .await;
        assert_eq!(status, None, "still reading");
        held.push(socket);
    }
    // A third is refused before its body: staff uploads have their own bound…
    let body = staff_body(&mailbox, &FileId([50; 16]), &photo.blob);
    let (status, _) = raw(&app, &forged_staff_head(&app, body.len()), b"").await;
    assert_eq!(status, Some(503));
    // …so her upload still goes up, and none of them holds a record, a
    // place in her pending quota, or a file beside the blobs.
    let mine = sealed(&app, &mailbox, b"mine");
    assert_eq!(
        upload(&app, &anna, &mine.reference.id, &mine.blob, None)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.state.store.files(&mailbox).await.expect("reads").len(),
        2
    );
    let mut after = blob_files(&app);
    after.retain(|name| !before.contains(name));
    assert_eq!(after.len(), 1, "only her new blob: {after:?}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A forged upload gets the same answer whatever its ids name: her
    // claimed file, a fresh id of her thread, a mailbox with no thread.
    let mut answers = Vec::new();
    for (target, id) in [
        (mailbox, claimed.reference.id),
        (mailbox, FileId([60; 16])),
        (MailboxId([61; 16]), FileId([62; 16])),
    ] {
        let body = staff_body(&target, &id, &photo.blob);
        let (status, mut socket) = raw(&app, &forged_staff_head(&app, body.len()), &body).await;
        let status = match status {
            Some(s) => Some(s),
            None => status_within(&mut socket, Duration::from_secs(5)).await,
        };
        answers.push(status);
    }
    assert!(
        answers[0].is_some_and(|s| s == 401 || s == 403),
        "{answers:?}"
    );
    assert_eq!(answers[0], answers[1], "{answers:?}");
    assert_eq!(answers[0], answers[2], "{answers:?}");
    assert_eq!(
        app.state.store.files(&mailbox).await.expect("reads").len(),
        2
    );
    let staging = app._data.path().join("db").join("staging");
    assert_eq!(std::fs::read_dir(staging).expect("exists").count(), 0);
}

/// `person_head` from client `address` (behind the trusted local proxy).
fn head_from(who: &PersonKeys, id: &FileId, length: u64, address: &str) -> String {
    format!(
        "{}\r\nX-Forwarded-For: {address}",
        person_head(who, id, Some(length))
    )
}

#[tokio::test]
async fn one_address_holds_two_uploads_one_mailbox_one_while_another_client_still_uploads() {
    let app = spawn_app_with(|c| {
        c.concurrent_uploads = 8;
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
    })
    .await;
    let people: Vec<PersonKeys> = (1..=3).map(person).collect();
    for who in &people {
        thread_of(&app, who).await;
    }
    let photos: Vec<SealedFile> = people
        .iter()
        .map(|who| sealed(&app, &who.mailbox_id(), &[7u8; 100_000]))
        .collect();
    let length = photos[0].blob.len() as u64;
    let open = |who: usize, address: &'static str| {
        let head = head_from(&people[who], &photos[who].reference.id, length, address);
        let part = photos[who].blob[..1000].to_vec();
        let app = &app;
        async move { raw(app, &head, &part).await }
    };
    // One address holds two uploads (two mailboxes)…
    let (status, held_a) = open(0, "198.51.100.2").await;
    assert_eq!(status, None);
    let (status, held_b) = open(1, "198.51.100.2").await;
    assert_eq!(status, None);
    // …a third from it is refused before its body…
    let (status, _) = open(2, "198.51.100.2").await;
    assert_eq!(status, Some(503));
    // …a second at once to the same mailbox is refused from anywhere…
    let second = sealed(&app, &people[0].mailbox_id(), b"second");
    let head = head_from(
        &people[0],
        &second.reference.id,
        second.blob.len() as u64,
        "198.51.100.9",
    );
    let (status, _) = raw(&app, &head, b"").await;
    assert_eq!(status, Some(409));
    // …while another client still uploads, whole.
    let head = head_from(&people[2], &photos[2].reference.id, length, "198.51.100.3");
    let (status, _) = raw(&app, &head, &photos[2].blob).await;
    assert_eq!(status, Some(204));
    drop((held_a, held_b));
}

#[tokio::test]
async fn an_upload_under_way_when_she_deletes_her_thread_leaves_nothing() {
    let app = spawn_app().await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    let photo = sealed(&app, &mailbox, &[7u8; 100_000]);
    let id = photo.reference.id;
    let length = photo.blob.len() as u64;
    let (status, socket) = raw(
        &app,
        &person_head(&anna, &id, Some(length)),
        &photo.blob[..1000],
    )
    .await;
    assert_eq!(status, None, "still receiving");
    wait_until_begun(&app, &mailbox, &id).await;
    // From her other device, say.
    her_deletion_refuses_the_rest(&app, &anna, socket, &photo.blob[1000..]).await;
}

/// She deletes her thread while her upload is received: the rest of it
/// is refused (`404`, not a failure to retry), and nothing of it stays.
async fn her_deletion_refuses_the_rest(
    app: &TestApp,
    who: &PersonKeys,
    mut socket: tokio::net::TcpStream,
    rest: &[u8],
) {
    assert_eq!(app.delete_thread(who).await.status(), 204);
    socket.write_all(rest).await.expect("writes");
    assert_eq!(
        status_within(&mut socket, Duration::from_secs(5)).await,
        Some(404)
    );
    assert!(app.state.store.all_files().await.expect("reads").is_empty());
    assert!(blob_files(app).is_empty(), "{:?}", blob_files(app));
}

/// Waits until the upload of `id` has its record (its head was read).
async fn wait_until_begun(app: &TestApp, mailbox: &MailboxId, id: &FileId) {
    for _ in 0..100 {
        if app
            .state
            .store
            .file(mailbox, id)
            .await
            .expect("reads")
            .is_some()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the upload did not begin");
}

#[tokio::test]
async fn a_first_contact_upload_removed_with_the_thread_she_made_meanwhile_is_refused_and_leaves_nothing()
 {
    let app = spawn_app_with(|c| c.pow_difficulty = 4).await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    let photo = sealed(&app, &mailbox, &[7u8; 100_000]);
    let id = photo.reference.id;
    let length = photo.blob.len() as u64;
    // Before her first contact: bound to her secret, paid for.
    let head = format!(
        "{}\r\nOzvi-Pow: {}",
        person_head(&anna, &id, Some(length)),
        pow_header(&app).await
    );
    let (status, socket) = raw(&app, &head, &photo.blob[..1000]).await;
    assert_eq!(status, None, "still receiving");
    wait_until_begun(&app, &mailbox, &id).await;
    // In another tab she writes without the photo, then deletes it all.
    thread_of(&app, &anna).await;
    her_deletion_refuses_the_rest(&app, &anna, socket, &photo.blob[1000..]).await;
}

#[tokio::test]
async fn an_idle_or_slow_upload_is_cut_and_its_partial_kept_for_a_retry() {
    let app = spawn_app_with(|c| {
        c.upload_idle_secs = 3;
        c.upload_grace_secs = 1;
        c.upload_min_bytes_per_sec = 50_000;
    })
    .await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    let photo = sealed(&app, &mailbox, &[7u8; 100_000]);
    let id = photo.reference.id;
    let length = photo.blob.len() as u64;
    // Idle: a piece, then nothing. Cut within a few seconds.
    let (status, mut socket) = raw(
        &app,
        &person_head(&anna, &id, Some(length)),
        &photo.blob[..1000],
    )
    .await;
    let status = match status {
        Some(s) => Some(s),
        None => status_within(&mut socket, Duration::from_secs(5)).await,
    };
    assert_eq!(status, Some(400), "an idle upload is cut");
    drop(socket);
    // Slow: a few bytes, two seconds' wait (under the idle limit), then a
    // byte every 200 ms: never idle, but far under the rate.
    let (status, mut socket) = raw(
        &app,
        &person_head(&anna, &id, Some(length)),
        &photo.blob[..10],
    )
    .await;
    assert_eq!(status, None);
    let mut cut = None;
    for i in 0..40 {
        if socket.write_all(&photo.blob[10 + i..11 + i]).await.is_err() {
            cut = Some(0);
            break;
        }
        if let Some(s) = status_within(&mut socket, Duration::from_millis(200)).await {
            cut = Some(s);
            break;
        }
    }
    assert!(
        cut.is_some_and(|s| s == 400 || s == 0),
        "a slow upload is cut: {cut:?}"
    );
    drop(socket);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.state
            .store
            .file(&mailbox, &id)
            .await
            .expect("reads")
            .expect("kept")
            .state,
        FileState::Partial
    );
    // A retry at full speed goes up.
    assert_eq!(
        upload(&app, &anna, &id, &photo.blob, None).await.status(),
        204
    );
}

/// Uploads that broke off count by the bytes that arrived, not by what
/// they declared: counted at their declared length, a few cut uploads
/// (headers and a byte), begun again now and then to keep their records,
/// held the bound full with nothing stored and refused everyone's photos.
/// One being received counts its declared length while it is, and one cut
/// just short of its end counts nearly whole: the bound still bounds the
/// disk.
#[tokio::test]
async fn uploads_that_broke_off_count_by_what_arrived_against_the_relays_disk_bound() {
    let small = BLOB_LENGTHS[0];
    // Room for the few bytes the cut uploads below leave.
    let app = spawn_app_with(|c| c.files_max_bytes = small * 2 + 1024).await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    for id in [FileId([1; 16]), FileId([2; 16])] {
        let (status, socket) = raw(&app, &person_head(&anna, &id, Some(small)), &[1]).await;
        assert_eq!(status, None, "the relay waits for the rest");
        wait_until_begun(&app, &mailbox, &id).await;
        drop(socket);
        nobody_receiving(&app).await;
    }
    // One being received counts while it is: with it, a second does not fit.
    let held_id = FileId([3; 16]);
    let (status, held) = raw(&app, &person_head(&anna, &held_id, Some(small)), &[1]).await;
    assert_eq!(status, None);
    wait_until_begun(&app, &mailbox, &held_id).await;
    let berta = person(2);
    thread_of(&app, &berta).await;
    room_for_one(
        &app,
        &berta,
        "one upload being received and hers fit the bound",
        "with the one being received, a third does not",
    )
    .await;
    drop(held);
    nobody_receiving(&app).await;
    room_for_one(
        &app,
        &berta,
        "once it broke off, it holds only its byte",
        "two complete blobs reach the bound",
    )
    .await;

    // An upload cut one byte short of its end holds nearly all of it, after
    // the next count as before it (the bound leaves room for half a blob
    // more: counting the cut upload's bytes at all is not enough).
    let app = spawn_app_with(|c| c.files_max_bytes = small * 2 + small / 2).await;
    thread_of(&app, &anna).await;
    cut_one_byte_short(&app, &anna, &FileId([4; 16])).await;
    thread_of(&app, &berta).await;
    room_for_one(
        &app,
        &berta,
        "the cut upload leaves room for one",
        "the cut upload's bytes count",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let third = sealed(&app, &berta.mailbox_id(), b"treti");
    assert_eq!(
        upload_status(&app, &berta, &third).await,
        503,
        "and still do once they are counted from the folder"
    );
}

/// An upload cut again and again under one id counts once against the
/// disk bound, as its one partial file on disk does: each attempt removes
/// the file the one before it left. (Each cut attempt's bytes were added
/// until the next count, so a thread's holder, who pays no proof of work,
/// cutting the same upload again and again pushed the total past the bound
/// and refused everyone's photos while nothing more was stored.)
#[tokio::test]
async fn an_upload_cut_again_and_again_counts_once_against_the_disk_bound() {
    let small = BLOB_LENGTHS[0];
    let app = spawn_app_with(|c| c.files_max_bytes = small * 2).await;
    let anna = person(1);
    thread_of(&app, &anna).await;
    for _ in 0..3 {
        cut_one_byte_short(&app, &anna, &FileId([5; 16])).await;
    }
    let berta = person(2);
    thread_of(&app, &berta).await;
    room_for_one(
        &app,
        &berta,
        "the cut upload's one file and hers fit the bound",
        "the cut upload's bytes still count",
    )
    .await;
}

/// An upload counts against the disk bound from the moment it is let in
/// (a staff upload on its headers, as it takes its place), not only once
/// it has begun: uploads let in together each see the others. (A staff
/// upload stages its whole body between the check and its beginning;
/// counted only from its beginning, any number of them and of hers passed
/// the check against the same total.)
#[tokio::test]
async fn an_upload_counts_against_the_disk_bound_from_its_check() {
    let small = BLOB_LENGTHS[0];
    let app = spawn_app_with(|c| c.files_max_bytes = small).await;
    let anna = person(1);
    thread_of(&app, &anna).await;
    let length = usize::try_from(small).expect("small") + 32;
    // A staff upload let in, its body still arriving (to be staged).
    let (status, staged) = raw(&app, &forged_staff_head(&app, length), &[0u8; 10]).await;
    assert_eq!(status, None, "the relay waits for the rest of the body");
    let photo = sealed(&app, &anna.mailbox_id(), b"modrina");
    assert_eq!(
        upload_status(&app, &anna, &photo).await,
        503,
        "the staff upload being received holds the bound"
    );
    drop(staged);
    nobody_receiving(&app).await;
    assert_eq!(
        upload_status(&app, &anna, &photo).await,
        204,
        "once it broke off, staged only, it holds nothing"
    );
}

/// A request is let into the disk bound only past its auth: headers that
/// wait for their auth, and are refused by it, hold none of the bound
/// meanwhile. Before, each took its declared length at the check on its
/// headers, so a few hundred requests for a mailbox not theirs, kept
/// waiting while the database was slow, refused everyone's photos for as
/// long as they were sent. PostgreSQL only: there the auth waits for the
/// database (on sled its reads do not yield), held here by a lock on the
/// threads table.
#[tokio::test]
async fn uploads_waiting_for_their_auth_hold_none_of_the_disk_bound() {
    if postgres_only("its auth never waits") {
        return;
    }
    let small = BLOB_LENGTHS[0];
    let app = spawn_app_with(|c| c.files_max_bytes = small).await;
    let anna = person(1);
    let berta = person(2);
    thread_of(&app, &anna).await;
    thread_of(&app, &berta).await;
    let held = table_held(&app, "threads").await;
    // Someone without Berta's secret sends headers for her mailbox, a blob
    // as large as the bound: the check on its headers passes, its auth
    // waits for the table.
    let stranger = person(9);
    let head = format!(
        "PUT {PATH} HTTP/1.1\r\nOzvi-Mailbox: {}\r\nOzvi-Auth: {}\r\nOzvi-File: {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {small}",
        berta.mailbox_id().to_b64(),
        b64::encode(stranger.auth_secret().expose()),
        FileId([9; 16]).to_b64()
    );
    let (status, mut waiting) = raw(&app, &head, b"").await;
    assert_eq!(status, None, "its auth waits for the database");
    // Anna's photo, meanwhile, waits for the database too, and goes up
    // once the table is free: nothing of the bound was held for the
    // stranger.
    let photo = sealed(&app, &anna.mailbox_id(), b"modrina");
    let (hers, ()) = tokio::join!(upload_status(&app, &anna, &photo), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        release(&held).await;
    });
    assert_eq!(
        hers, 204,
        "her photo is not refused for the stranger's headers"
    );
    assert_eq!(
        status_within(&mut waiting, Duration::from_secs(5)).await,
        Some(404),
        "the stranger is refused by the auth"
    );
}

/// The disk bound's count is not cut short by a request dropped while it
/// runs: requests whose clients leave one after another make one count,
/// not one pass over the records each. PostgreSQL only: there the count
/// waits for the database (on sled it runs to its end), held here by a lock
/// on the files table.
#[tokio::test]
async fn requests_dropped_while_the_disk_bound_is_counted_make_one_count() {
    let Some((app, anna, held)) = files_held().await else {
        return;
    };
    let counts = || disk_counts(&app);
    let before = counts();
    // Headers whose client leaves while the count waits for the table.
    for i in 0..6u8 {
        let socket = headers_sent(&app, &anna, &FileId([i; 16])).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(socket);
        assert_eq!(counts() - before, 1, "the count began and is the only one");
    }
    release(&held).await;
    // Her photo after the table is free: the count made meanwhile serves it.
    let photo = sealed(&app, &anna.mailbox_id(), b"modrina");
    assert_eq!(upload_status(&app, &anna, &photo).await, 204);
    assert_eq!(counts() - before, 1, "one count for all of them");
}

/// A count of the disk bound that failed (here: the database held it past
/// its 10 s deadline) answers the requests that waited for it, and those
/// of the next second, with its failure: they do not each make it again,
/// one after another, for a whole deadline each. After that second the
/// next request counts again.
#[tokio::test]
async fn a_count_that_failed_answers_the_requests_that_waited_for_it() {
    let Some((app, anna, held)) = files_held().await else {
        return;
    };
    let counts = || disk_counts(&app);
    let before = counts();
    let mut waiting = Vec::new();
    for i in 0..6u8 {
        waiting.push(headers_sent(&app, &anna, &FileId([i; 16])).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(counts() - before, 1, "one count waits for the table");
    // Past the statement deadline: the count failed.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        counts() - before,
        1,
        "the requests that waited took its failure"
    );
    for socket in &mut waiting {
        assert_eq!(
            status_within(socket, Duration::from_secs(2)).await,
            Some(503)
        );
    }
    release(&held).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let photo = sealed(&app, &anna.mailbox_id(), b"modrina");
    assert_eq!(upload_status(&app, &anna, &photo).await, 204);
    assert_eq!(counts() - before, 2, "a second later, a new count");
}

/// Ids are the client's, all-zero ones too: an upload to mailbox id 0
/// under file id 0 is let go when it ends like any other. (Zeros meant "no
/// id" to the relay's record of uploads being received: that upload stayed
/// in it for good, its mailbox refused every later upload as one in
/// progress, and its partial file was left out of the disk bound's count.)
#[tokio::test]
async fn an_upload_under_ids_of_zeros_is_let_go_when_it_ends() {
    let app = spawn_app().await;
    let anna = person(1);
    let zero = MailboxId([0; 16]);
    for id in [FileId([0; 16]), FileId([1; 16])] {
        let photo = sealed(&app, &zero, b"nula");
        let response = app
            .http
            .put(app.url(PATH))
            .header("Ozvi-Mailbox", zero.to_b64())
            .header("Ozvi-Auth", b64::encode(anna.auth_secret().expose()))
            .header("Ozvi-File", id.to_b64())
            .header("content-type", "application/octet-stream")
            .body(photo.blob)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 204, "file id {:?}", id.0[0]);
    }
    nobody_receiving(&app).await;
    assert_eq!(app.state.store.files(&zero).await.expect("reads").len(), 2);
}

/// Whether the test calling it must be skipped because it needs the relay
/// to wait for its database (`why` says what never waits on sled).
fn postgres_only(why: &str) -> bool {
    let skip = ozvi_tests::relay::TestStore::from_env() != ozvi_tests::relay::TestStore::Postgres;
    if skip {
        eprintln!("skipped on sled: {why}");
    }
    skip
}

/// A session of the relay's PostgreSQL database holding `table` locked
/// (the relay's reads of it wait) until [`release`].
async fn table_held(app: &TestApp, table: &str) -> tokio_postgres::Client {
    let url = app
        .state
        .config
        .database_url
        .as_ref()
        .expect("on PostgreSQL")
        .expose()
        .to_owned();
    let (side, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    side.batch_execute(&format!(
        "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    ))
    .await
    .expect("locks");
    side
}

/// On PostgreSQL, a relay with Anna's thread, and a session holding its
/// files table locked (the disk bound's count waits for it) until
/// [`release`]; on sled, where the count never waits, `None`.
async fn files_held() -> Option<(TestApp, PersonKeys, tokio_postgres::Client)> {
    if postgres_only("its count never waits") {
        return None;
    }
    let app = spawn_app().await;
    let anna = person(1);
    thread_of(&app, &anna).await;
    let held = table_held(&app, "files").await;
    Some((app, anna, held))
}

/// How many counts of the disk bound the relay has made.
fn disk_counts(app: &TestApp) -> u64 {
    app.state
        .disk_counts
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// The headers of `who`'s upload of the smallest blob under `id`, sent,
/// no body: its connection, waiting for the answer.
async fn headers_sent(app: &TestApp, who: &PersonKeys, id: &FileId) -> tokio::net::TcpStream {
    sent(app, &person_head(who, id, Some(BLOB_LENGTHS[0])), b"").await
}

async fn release(held: &tokio_postgres::Client) {
    held.batch_execute("COMMIT").await.expect("commits");
}

/// `who` uploads the smallest blob under `id`, all but its last byte, and
/// goes; returns once the relay has let the upload go.
async fn cut_one_byte_short(app: &TestApp, who: &PersonKeys, id: &FileId) {
    let small = BLOB_LENGTHS[0];
    let mut body = vec![0u8; usize::try_from(small).expect("small") - 1];
    body[0] = 1;
    let (status, socket) = raw(app, &person_head(who, id, Some(small)), &body).await;
    assert_eq!(status, None, "the relay waits for the last byte");
    drop(socket);
    nobody_receiving(app).await;
}

/// `who` uploads one new photo, which fits the bound (`fits` says why),
/// then another, which does not (`full`).
async fn room_for_one(app: &TestApp, who: &PersonKeys, fits: &str, full: &str) {
    let one = sealed(app, &who.mailbox_id(), b"dopis");
    assert_eq!(upload_status(app, who, &one).await, 204, "{fits}");
    let more = sealed(app, &who.mailbox_id(), b"druhy");
    assert_eq!(upload_status(app, who, &more).await, 503, "{full}");
}

/// Waits until no upload is being received.
async fn nobody_receiving(app: &TestApp) {
    for _ in 0..100 {
        // Its key leaves the set first, its share of the bound just after.
        if app.state.uploading.lock().expect("lock").is_empty()
            && app
                .state
                .receiving_bytes
                .load(std::sync::atomic::Ordering::Relaxed)
                == 0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("an upload is still being received");
}

/// A retry of her unclaimed file replaces the attempt before it, so it
/// adds nothing to the disk bound's running total: one holder sending the
/// same upload again and again cannot push the total over the bound and
/// refuse everyone else's uploads until the next count.
#[tokio::test]
async fn her_upload_sent_again_counts_once_against_the_relays_disk_bound() {
    let small = BLOB_LENGTHS[0];
    let app = spawn_app_with(|c| c.files_max_bytes = small * 2).await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    let photo = sealed(&app, &mailbox, b"modrina");
    for attempt in 0..4 {
        assert_eq!(
            upload_status(&app, &anna, &photo).await,
            204,
            "attempt {attempt} of the same file"
        );
    }
    let berta = person(2);
    thread_of(&app, &berta).await;
    let hers = sealed(&app, &berta.mailbox_id(), b"dopis");
    assert_eq!(
        upload_status(&app, &berta, &hers).await,
        204,
        "another person's upload still fits"
    );
    // Two blobs stored: the bound is reached now, for anyone.
    let third = sealed(&app, &mailbox, b"treti");
    assert_eq!(upload_status(&app, &anna, &third).await, 503);
    assert_eq!(app.state.store.all_files().await.expect("reads").len(), 2);
}

#[tokio::test]
async fn uploads_over_the_relays_disk_bound_or_into_its_reserve_are_refused_before_their_body() {
    let small = BLOB_LENGTHS[0];
    let app = spawn_app_with(|c| c.files_max_bytes = small * 2).await;
    let anna = person(1);
    let mailbox = anna.mailbox_id();
    thread_of(&app, &anna).await;
    // Uploads refused after the disk check (a wrong secret for her
    // mailbox) take nothing from the bound: headers alone cannot fill it.
    for i in 10..14u8 {
        let stranger = person(i);
        let photo = sealed(&app, &mailbox, b"x");
        let refused = app
            .http
            .put(app.url(PATH))
            .header("Ozvi-Mailbox", mailbox.to_b64())
            .header("Ozvi-Auth", b64::encode(stranger.auth_secret().expose()))
            .header("Ozvi-File", photo.reference.id.to_b64())
            .header("content-type", "application/octet-stream")
            .body(photo.blob)
            .send()
            .await
            .expect("request");
        assert_eq!(refused.status(), 404);
    }
    for i in 0..2u8 {
        let photo = sealed(&app, &mailbox, &[i]);
        assert_eq!(photo.blob.len() as u64, small);
        assert_eq!(
            upload(&app, &anna, &photo.reference.id, &photo.blob, None)
                .await
                .status(),
            204
        );
    }
    // The relay holds its bound: the next upload, from anyone, is refused
    // on its headers (no body sent), and a staff upload too.
    let (status, _) = raw(
        &app,
        &person_head(&anna, &FileId([3; 16]), Some(small)),
        b"",
    )
    .await;
    assert_eq!(status, Some(503));
    let berta = person(2);
    thread_of(&app, &berta).await;
    let (status, _) = raw(
        &app,
        &person_head(&berta, &FileId([3; 16]), Some(small)),
        b"",
    )
    .await;
    assert_eq!(status, Some(503));
    let length = usize::try_from(small).expect("small") + 32;
    let (status, _) = raw(&app, &forged_staff_head(&app, length), b"").await;
    assert_eq!(status, Some(503));
    // A free-space reserve larger than any disk: no upload, yet her text
    // first contact and her messages are still stored.
    let app = spawn_app_with(|c| c.disk_reserve_bytes = u64::MAX / 2).await;
    let clara = person(3);
    let (status, _) = raw(
        &app,
        &person_head(&clara, &FileId([3; 16]), Some(small)),
        b"",
    )
    .await;
    assert_eq!(status, Some(503));
    thread_of(&app, &clara).await;
    assert_eq!(post_with(&app, &clara, &[]).await.status(), 201);
    assert!(app.state.store.all_files().await.expect("reads").is_empty());
}
