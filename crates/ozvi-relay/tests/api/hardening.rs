//! Attacks on availability and on what the relay's answers reveal (issue
//! 11): unbounded event streams, bodies read before authentication,
//! answers that tell a wrong secret from a missing thread, public metrics,
//! HTTP-layer refusals without the API's error body.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use ozvi_crypto::StaffKeys;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::protocol::request::RequestAuth;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Http, START, TestApp, assert_error, person, spawn_app, spawn_app_with};

/// Opens `person`'s event stream from `client`.
async fn person_stream(
    app: &TestApp,
    client: &crate::helpers::Http,
    who: &ozvi_crypto::PersonKeys,
) -> reqwest::Response {
    client
        .get(app.url("/api/v1/mailbox/events"))
        .header("Ozvi-Mailbox", who.mailbox_id().to_b64())
        .header("Ozvi-Auth", b64::encode(who.auth_secret().expose()))
        .send()
        .await
        .expect("request")
}

/// Waits (at most 5 s) until the relay counts `n` open streams.
async fn open_streams_become(app: &TestApp, n: usize) {
    for _ in 0..100 {
        if app.state.streams.open_count() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {n} open streams, the relay counts {}",
        app.state.streams.open_count()
    );
}

/// Whether a stream ends (its body finishes) within `limit`, skipping
/// keep-alive comments and change events.
async fn ends_within(response: reqwest::Response, limit: Duration) -> bool {
    let mut body = response.bytes_stream();
    tokio::time::timeout(limit, async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn event_streams_are_capped_per_address_and_in_total_and_freed_on_disconnect() {
    let app = spawn_app_with(|c| {
        c.event_streams_per_address = 3;
        c.event_streams_total = 5;
    })
    .await;
    let people: Vec<_> = (60..67).map(person).collect();
    for p in &people {
        assert_eq!(app.create_thread(p, "ic-zlin", "a").await.status(), 201);
    }
    let attacker = Http::from_address("127.0.0.1");
    let mut held = Vec::new();
    for p in &people[..3] {
        let stream = person_stream(&app, &attacker, p).await;
        assert_eq!(stream.status(), 200);
        held.push(stream);
    }
    // The fourth stream from the same address is refused, with the API's body.
    assert_error(
        person_stream(&app, &attacker, &people[3]).await,
        429,
        "too_many_streams",
    )
    .await;
    // Her ordinary requests still work, and so does another address.
    let listing = attacker
        .get(app.url("/api/v1/mailbox/messages"))
        .header("Ozvi-Mailbox", people[0].mailbox_id().to_b64())
        .header("Ozvi-Auth", b64::encode(people[0].auth_secret().expose()))
        .send()
        .await
        .expect("request");
    assert_eq!(listing.status(), 200);
    let other = Http::from_address("127.0.0.2");
    let genuine = person_stream(&app, &other, &people[3]).await;
    assert_eq!(genuine.status(), 200, "another address still gets a stream");
    let third = Http::from_address("127.0.0.3");
    let fifth = person_stream(&app, &third, &people[4]).await;
    assert_eq!(fifth.status(), 200);
    open_streams_become(&app, 5).await;
    // The relay's total holds whatever the address.
    assert_error(
        person_stream(&app, &Http::from_address("127.0.0.4"), &people[5]).await,
        429,
        "too_many_streams",
    )
    .await;

    // Clients that go away free their places.
    drop(held);
    drop(attacker);
    open_streams_become(&app, 2).await;
    let again = person_stream(&app, &Http::from_address("127.0.0.1"), &people[6]).await;
    assert_eq!(again.status(), 200, "a freed place can be taken again");
    drop((genuine, fifth, again));
}

#[tokio::test]
async fn a_new_stream_of_a_thread_over_its_cap_ends_the_oldest() {
    let app = spawn_app_with(|c| c.event_streams_per_thread = 2).await;
    let anna = person(70);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    let first = person_stream(&app, &app.http, &anna).await;
    let _second = person_stream(&app, &app.http, &anna).await;
    let third = person_stream(&app, &app.http, &anna).await;
    assert_eq!(
        third.status(),
        200,
        "the newest (the page she is looking at) opens"
    );
    assert!(
        ends_within(first, Duration::from_secs(3)).await,
        "the oldest stream ended"
    );
    open_streams_become(&app, 2).await;
}

#[tokio::test]
async fn event_streams_end_after_their_maximum_age() {
    let app = spawn_app_with(|c| c.event_stream_max_secs = 1).await;
    let anna = person(71);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    let stream = person_stream(&app, &app.http, &anna).await;
    assert_eq!(stream.status(), 200);
    assert!(ends_within(stream, Duration::from_secs(4)).await);
    open_streams_become(&app, 0).await;
}

#[tokio::test]
async fn a_staff_stream_over_its_cap_ends_the_oldest_and_others_keep_theirs() {
    let app = spawn_app_with(|c| c.event_streams_per_staff = 1).await;
    let first = app
        .staff_request(&app.zlin[0], "GET", "/api/v1/staff/events", None)
        .await;
    assert_eq!(first.status(), 200);
    let colleague = app
        .staff_request(&app.zlin[1], "GET", "/api/v1/staff/events", None)
        .await;
    let second = app
        .staff_request(&app.zlin[0], "GET", "/api/v1/staff/events", None)
        .await;
    assert_eq!(
        second.status(),
        200,
        "a desk that reconnects gets its stream"
    );
    assert!(ends_within(first, Duration::from_secs(3)).await);
    open_streams_become(&app, 2).await;
    drop((colleague, second));
}

#[tokio::test]
async fn a_removed_staff_members_stream_ends_when_the_new_directory_is_installed() {
    let app = spawn_app().await;
    let anna = person(72);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    let staying = app
        .staff_request(&app.zlin[0], "GET", "/api/v1/staff/events", None)
        .await;
    let leaving = app
        .staff_request(&app.zlin[1], "GET", "/api/v1/staff/events", None)
        .await;
    assert_eq!(
        (staying.status().as_u16(), leaving.status().as_u16()),
        (200, 200)
    );
    let mut newer = app.directory.clone();
    newer.version = 2;
    newer.centres[0].staff.retain(|m| m.id != "zlin-2");
    let put = app
        .http
        .put(app.url("/api/v1/directory"))
        .body(newer.sign(&app.root).expect("valid").to_json())
        .send()
        .await
        .expect("request");
    assert_eq!(put.status(), 204);
    assert!(
        ends_within(leaving, Duration::from_secs(3)).await,
        "the removed member hears nothing more"
    );
    // The one who stays still hears of the next message.
    let mut staying = staying.bytes_stream();
    let opening = staying.next().await.expect("a chunk").expect("bytes");
    assert!(opening.starts_with(b": connected"));
    // Sealed to the staff the new directory lists.
    let mut recipients = newer.centres[0].staff_x25519();
    recipients.push(anna.public().x25519);
    let mailbox = anna.mailbox_id();
    let envelope = ozvi_crypto::protocol::envelope::seal(
        &mut ChaCha20Rng::seed_from_u64(8),
        ozvi_crypto::protocol::envelope::Signer::Person(&anna),
        ozvi_crypto::protocol::envelope::Message {
            kind: Kind::PersonMessage,
            mailbox: &mailbox,
            body: json!({"text": "b"}).to_string().as_bytes(),
            sent_at: START,
        },
        &recipients,
    )
    .expect("seals");
    let posted = app
        .as_person(app.http.post(app.url("/api/v1/mailbox/messages")), &anna)
        .json(&json!({"envelope": b64::encode(&envelope)}))
        .send()
        .await
        .expect("request");
    assert_eq!(posted.status(), 201);
    let event = tokio::time::timeout(Duration::from_secs(2), staying.next())
        .await
        .expect("within two seconds")
        .expect("a chunk")
        .expect("bytes");
    assert_eq!(&event[..], b"event: change\ndata: 2\n\n");
}

/// Sends `head` (request line and headers; never the body they announce)
/// and returns the status and body the relay answers within 3 s, or None if
/// it is still waiting for the body.
async fn answer_to_head(app: &TestApp, head: &str) -> Option<(u16, Vec<u8>)> {
    let address = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    socket.write_all(head.as_bytes()).await.expect("writes");
    read_response(&mut socket, Duration::from_secs(3)).await
}

/// Reads one HTTP/1.1 response (status, body by Content-Length) within `limit`.
async fn read_response(
    socket: &mut tokio::net::TcpStream,
    limit: Duration,
) -> Option<(u16, Vec<u8>)> {
    tokio::time::timeout(limit, async {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
                let status = head.get(9..12)?.parse().ok()?;
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buffer.len() >= end + 4 + length {
                    return Some((status, buffer[end + 4..end + 4 + length].to_vec()));
                }
            }
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .ok()
    .flatten()
}

fn code_of(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).expect("a JSON error body");
    assert_eq!(value.as_object().map(|o| o.len()), Some(2), "{value}");
    value["code"].as_str().expect("code").to_string()
}

/// A request head for `target` with `auth`'s headers (if any) announcing a
/// body of `length` bytes.
fn head(target: &str, auth: Option<&RequestAuth>, length: usize) -> String {
    let mut head = format!(
        "POST {target} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
    );
    for (name, value) in auth.map(RequestAuth::to_headers).into_iter().flatten() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

#[tokio::test]
async fn staff_bodies_are_not_read_before_the_headers_are_checked() {
    let app = spawn_app().await;
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let stranger = StaffKeys::generate(&mut rng);
    let sign = |keys: &StaffKeys, target: &str, at: u64, rng: &mut ChaCha20Rng| {
        RequestAuth::sign(rng, keys, &app.directory.salt, "POST", target, b"{}", at).expect("signs")
    };
    let routes = [
        ("/api/v1/staff/thread", 100_000),
        ("/api/v1/staff/reply", 100_000),
        ("/api/v1/staff/read", 100_000),
        ("/api/v1/staff/note", 100_000),
        ("/api/v1/staff/transfer", 30 * 1024 * 1024),
    ];
    for (target, length) in routes {
        let cases = [
            (None, 401, "missing_signature"),
            (
                Some(sign(&stranger, target, START, &mut rng)),
                403,
                "unknown_staff_key",
            ),
            (
                Some(sign(&app.zlin[0], target, START - 61, &mut rng)),
                401,
                "stale_request",
            ),
            (
                Some(sign(&app.zlin[0], target, START + 61, &mut rng)),
                401,
                "stale_request",
            ),
            // Signed before this relay started: refused like a stale one.
            (
                Some(sign(&app.zlin[0], target, START - 1, &mut rng)),
                401,
                "stale_request",
            ),
        ];
        for (auth, status, code) in cases {
            let answer = answer_to_head(&app, &head(target, auth.as_ref(), length)).await;
            let (got, body) =
                answer.unwrap_or_else(|| panic!("{target} ({code}): no answer without the body"));
            assert_eq!((got, code_of(&body).as_str()), (status, code), "{target}");
        }
        // A replay: the first use is answered, the second is refused before
        // its body is read.
        let used = sign(&app.zlin[0], target, START, &mut rng);
        let first = app.send_signed("POST", target, b"{}".to_vec(), &used).await;
        assert_eq!(
            first.status(),
            400,
            "{target}: signed, but not the JSON it takes"
        );
        let (got, body) = answer_to_head(&app, &head(target, Some(&used), length))
            .await
            .expect("a replay is refused without its body");
        assert_eq!((got, code_of(&body).as_str()), (401, "replayed_request"));
    }
}

#[tokio::test]
async fn concurrent_transfer_bodies_beyond_the_bound_are_refused_unread() {
    let app = spawn_app_with(|c| c.concurrent_large_bodies = 1).await;
    let target = "/api/v1/staff/transfer";
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let body = vec![b' '; 1_000_000];
    let signed = |rng: &mut ChaCha20Rng| {
        RequestAuth::sign(
            rng,
            &app.zlin[0],
            &app.directory.salt,
            "POST",
            target,
            &body,
            START,
        )
        .expect("signs")
    };
    // A slow sender holds the only place: headers and a little of the body.
    let address = app.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let first = signed(&mut rng);
    slow.write_all(head(target, Some(&first), body.len()).as_bytes())
        .await
        .expect("writes");
    slow.write_all(&body[..1000]).await.expect("writes");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The next one is refused at once, without its body.
    let second = signed(&mut rng);
    let (status, answer) = answer_to_head(&app, &head(target, Some(&second), body.len()))
        .await
        .expect("refused without reading the body");
    assert_eq!((status, code_of(&answer).as_str()), (503, "busy"));
    // When the slow one finishes, the place is free again.
    slow.write_all(&body[1000..]).await.expect("writes");
    let (status, _) = read_response(&mut slow, Duration::from_secs(5))
        .await
        .expect("answered");
    assert_eq!(status, 400, "spaces are not the JSON a transfer takes");
    let third = signed(&mut rng);
    let response = app.send_signed("POST", target, body.clone(), &third).await;
    assert_error(response, 400, "malformed_request").await;
}

#[tokio::test]
async fn a_wrong_secret_is_answered_exactly_like_a_missing_thread() {
    let app = spawn_app().await;
    let anna = person(73);
    let stranger = person(74);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    let envelope = app.person_message(&anna, "ic-zlin", "b");
    for (method, path) in [
        ("GET", "/api/v1/mailbox/messages"),
        ("POST", "/api/v1/mailbox/messages"),
        ("DELETE", "/api/v1/mailbox"),
        ("GET", "/api/v1/mailbox/events"),
    ] {
        let send = |mailbox: String, secret: String| {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            app.http
                .request(method, app.url(path))
                .header("Ozvi-Mailbox", mailbox)
                .header("Ozvi-Auth", secret)
                .json(&json!({"envelope": b64::encode(&envelope)}))
                .send()
        };
        // Anna's thread with someone else's secret …
        let wrong = send(
            anna.mailbox_id().to_b64(),
            b64::encode(stranger.auth_secret().expose()),
        )
        .await
        .expect("request");
        // … and a thread that does not exist.
        let missing = send(
            stranger.mailbox_id().to_b64(),
            b64::encode(stranger.auth_secret().expose()),
        )
        .await
        .expect("request");
        assert_eq!(wrong.status(), missing.status(), "{method} {path}");
        assert_eq!(wrong.status(), 404);
        let (wrong, missing) = (
            wrong.bytes().await.expect("body"),
            missing.bytes().await.expect("body"),
        );
        assert_eq!(wrong, missing, "{method} {path}: the same body");
        assert_eq!(code_of(&wrong), "unknown_mailbox");
    }
    // Nothing was changed by the wrong secret.
    let listing = app
        .as_person(app.http.get(app.url("/api/v1/mailbox/messages")), &anna)
        .send()
        .await
        .expect("request");
    let listing: Value = listing.json().await.expect("json");
    assert_eq!(listing["last_seq"], 1);
}

#[tokio::test]
async fn another_centres_thread_is_answered_exactly_like_a_missing_one() {
    let app = spawn_app().await;
    let anna = person(75);
    let nobody = person(76);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    for target in [
        "/api/v1/staff/thread",
        "/api/v1/staff/reply",
        "/api/v1/staff/read",
        "/api/v1/staff/note",
        "/api/v1/staff/transfer",
    ] {
        let body = |who: &ozvi_crypto::PersonKeys| {
            let envelope = app.staff_envelope(&app.praha, "ic-praha", who, Kind::StaffReply, "x");
            let mut body = json!({"mailbox_id": who.mailbox_id().to_b64()});
            match target {
                "/api/v1/staff/reply" | "/api/v1/staff/note" => {
                    body["envelope"] = b64::encode(&envelope).into();
                }
                "/api/v1/staff/read" => body["seq"] = 1.into(),
                "/api/v1/staff/transfer" => {
                    body["to_centre"] = "ic-zlin".into();
                    body["messages"] = json!([]);
                    body["note"] = Value::Null;
                }
                _ => {}
            }
            body
        };
        let foreign = app
            .staff_request(&app.praha, "POST", target, Some(&body(&anna)))
            .await;
        let missing = app
            .staff_request(&app.praha, "POST", target, Some(&body(&nobody)))
            .await;
        assert_eq!(foreign.status(), missing.status(), "{target}");
        assert_eq!(foreign.status(), 404, "{target}");
        let (foreign, missing) = (
            foreign.bytes().await.expect("body"),
            missing.bytes().await.expect("body"),
        );
        assert_eq!(foreign, missing, "{target}: the same body");
        assert_eq!(code_of(&foreign), "unknown_mailbox");
    }
}

#[tokio::test]
async fn metrics_are_served_only_on_their_own_listener_and_only_per_period() {
    let app = spawn_app_with(|c| c.metrics_interval_secs = 300).await;
    assert_error(
        app.http
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("request"),
        404,
        "not_found",
    )
    .await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = ozvi_relay::startup::run_metrics(listener, app.state.clone()).expect("serves");
    tokio::spawn(server);
    let scrape = || async {
        app.http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("text")
    };
    assert!(scrape().await.contains("ozvi_threads_created_total 0"));
    assert_eq!(
        app.create_thread(&person(77), "ic-zlin", "a")
            .await
            .status(),
        201
    );
    // Within the same period nothing moves: one message cannot be timed.
    app.clock.0.fetch_add(200, Ordering::SeqCst);
    let same = scrape().await;
    assert!(same.contains("ozvi_threads_created_total 0"), "{same}");
    app.clock.0.fetch_add(300, Ordering::SeqCst);
    let next = scrape().await;
    assert!(next.contains("ozvi_threads_created_total 1"), "{next}");
    // The metrics listener serves nothing else (not the API: the raw
    // client, whose answers are not held against the API's routes).
    let other = app
        .http
        .0
        .get(format!("{base}/api/v1/config"))
        .send()
        .await
        .expect("request");
    assert_error(other, 404, "not_found").await;
}

#[tokio::test]
async fn malformed_http_is_refused_by_the_http_layer_with_a_json_error() {
    let app = spawn_app().await;
    // actix-http answers these itself, before any of the relay's code runs;
    // its vendored copy (vendor/README.md) gives them the same
    // `{code, message}` body as every other error, and the relay keeps serving.
    let cases = [
        (
            "GET /healthz HTTP/1.1\r\n\r\n".to_string(),
            400,
            "malformed_http",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
                .to_string(),
            400,
            "malformed_http",
        ),
        (
            "GET /he althz HTTP/1.1\r\nHost: a\r\n\r\n".to_string(),
            400,
            "malformed_http",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n".to_string(),
            400,
            "malformed_http",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
                "a".repeat(200_000)
            ),
            431,
            "headers_too_large",
        ),
    ];
    for (bad, status, code) in cases {
        let (answered, body) = answer_to_head(&app, &bad).await.expect("answered");
        assert_eq!(answered, status, "{}", &bad[..24]);
        assert_eq!(code_of(&body), code, "{}", &bad[..24]);
        // Exactly the body of the API's definition of that code.
        let parsed: ozvi_api::ErrorBody = serde_json::from_slice(&body).expect("an error body");
        assert_eq!(parsed, ozvi_api::ErrorBody::from(parsed.code));
        assert_eq!(parsed.code.status(), status);
        // Nothing of the request comes back.
        assert!(!String::from_utf8_lossy(&body).contains("althz"));
    }
    let (status, _) = answer_to_head(&app, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .expect("answered");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_request_head_that_never_ends_gets_a_json_408() {
    let app = spawn_app().await;
    // actix-web's client request timeout (5 s) ends a slowloris head.
    let address = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .await
        .expect("writes");
    let (status, body) = read_response(&mut socket, Duration::from_secs(10))
        .await
        .expect("answered before the connection closed");
    assert_eq!(status, 408);
    assert_eq!(code_of(&body), "request_timeout");
    let parsed: ozvi_api::ErrorBody = serde_json::from_slice(&body).expect("an error body");
    assert_eq!(
        parsed,
        ozvi_api::ErrorBody::from(ozvi_api::ErrorCode::RequestTimeout)
    );
}
