//! Health, headers, the directory, retention, live updates.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use serde_json::json;

use crate::helpers::{assert_error, person, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_metrics_and_security_headers() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let h = response.headers();
    let csp = h["content-security-policy"].to_str().expect("ascii");
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["permissions-policy"]
            .to_str()
            .expect("ascii")
            .contains("camera=()")
    );
    assert!(h.get("set-cookie").is_none());
    assert!(
        h.get("strict-transport-security").is_none(),
        "no HSTS without TLS"
    );
    assert_eq!(
        app.create_thread(&person(20), "ic-zlin", "a")
            .await
            .status(),
        201
    );
    // Served on the metrics listener only (hardening.rs).
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains("ozvi_threads_created_total 1"),
        "{metrics}"
    );
    assert_error(
        app.http
            .get(app.url("/nothing/here"))
            .send()
            .await
            .expect("request"),
        404,
        "not_found",
    )
    .await;

    let tls = spawn_app_with(|c| {
        c.behind_tls = true;
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
    })
    .await;
    let response = tls
        .http
        .get(tls.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .expect("ascii")
            .contains("max-age=")
    );
}

#[tokio::test]
async fn the_page_learns_the_pinned_root_key() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/api/v1/config"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let config: serde_json::Value = r.json().await.expect("json");
    assert_eq!(
        config,
        serde_json::json!({
            "root_key": ozvi_crypto::format::b64::encode(&app.root.public().to_bytes())
        })
    );
}

#[tokio::test]
async fn only_a_newer_directory_signed_by_the_root_is_installed() {
    let app = spawn_app().await;
    let served = app
        .http
        .get(app.url("/api/v1/directory"))
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("bytes");
    let current =
        ozvi_crypto::SignedDirectory::verify(&served, &app.root.public(), None).expect("verifies");
    assert_eq!(current, app.directory);

    let mut newer = app.directory.clone();
    newer.version = 2;
    newer.centres[0].staff.pop();
    let put = |json: String| app.http.put(app.url("/api/v1/directory")).body(json).send();
    assert_eq!(
        put(newer.sign(&app.root).expect("valid").to_json())
            .await
            .expect("request")
            .status(),
        204
    );
    assert_error(
        put(app.directory.sign(&app.root).expect("valid").to_json())
            .await
            .expect("request"),
        409,
        "directory_rollback",
    )
    .await;
    let impostor = ozvi_crypto::primitives::sig::Ed25519Secret::from_seed(&[9; 32]);
    let mut forged = newer.clone();
    forged.version = 3;
    assert_error(
        put(forged.sign(&impostor).expect("valid").to_json())
            .await
            .expect("request"),
        400,
        "invalid_directory",
    )
    .await;
    assert_error(
        put("{}".into()).await.expect("request"),
        400,
        "invalid_directory",
    )
    .await;

    // zlin-2 was removed: a message still sealed to zlin-2 is refused now.
    let anna = person(21);
    assert_error(
        app.create_thread(&anna, "ic-zlin", "a").await,
        400,
        "invalid_envelope",
    )
    .await;
}

#[tokio::test]
async fn inactive_threads_expire_after_the_retention_period() {
    let app = spawn_app_with(|c| {
        c.retention_days = 90;
        c.retention_days_by_centre.insert("ic-praha".into(), 30);
    })
    .await;
    let (zlin, praha) = (person(22), person(23));
    assert_eq!(app.create_thread(&zlin, "ic-zlin", "a").await.status(), 201);
    assert_eq!(
        app.create_thread(&praha, "ic-praha", "b").await.status(),
        201
    );
    app.clock.0.fetch_add(31 * 86_400, Ordering::SeqCst);
    assert_eq!(
        ozvi_relay::startup::sweep(&app.state)
            .await
            .expect("sweeps"),
        1
    );
    assert!(
        app.state
            .store
            .thread(&praha.mailbox_id())
            .await
            .expect("reads")
            .is_none()
    );
    assert!(
        app.state
            .store
            .thread(&zlin.mailbox_id())
            .await
            .expect("reads")
            .is_some()
    );
    app.clock.0.fetch_add(60 * 86_400, Ordering::SeqCst);
    assert_eq!(
        ozvi_relay::startup::sweep(&app.state)
            .await
            .expect("sweeps"),
        1
    );
    assert!(
        app.state
            .store
            .thread(&zlin.mailbox_id())
            .await
            .expect("reads")
            .is_none()
    );
}

#[tokio::test]
async fn the_person_hears_of_a_reply_within_two_seconds() {
    let app = spawn_app().await;
    let anna = person(24);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    let events = app
        .as_person(app.http.get(app.url("/api/v1/mailbox/events")), &anna)
        .send()
        .await
        .expect("request");
    assert_eq!(events.status(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut stream = events.bytes_stream();
    let opening = stream.next().await.expect("a chunk").expect("bytes");
    assert!(opening.starts_with(b": connected"));

    let reply = app.staff_envelope(&app.zlin[0], "ic-zlin", &anna, Kind::StaffReply, "hned");
    let body = json!({"mailbox_id": anna.mailbox_id().to_b64(), "envelope": b64::encode(&reply)});
    assert_eq!(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/reply", Some(&body))
            .await
            .status(),
        201
    );
    let event = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("within two seconds")
        .expect("a chunk")
        .expect("bytes");
    assert_eq!(&event[..], b"event: change\ndata: 2\n\n");
}

#[tokio::test]
async fn staff_can_keep_a_quiet_thread_for_another_retention_period() {
    let app = spawn_app_with(|c| c.retention_days = 30).await;
    let anna = person(24);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    let keep = ozvi_api::routes::paths::STAFF_KEEP;
    let body = json!({ "mailbox_id": anna.mailbox_id().to_b64() });
    app.clock.advance(25 * 86_400);
    let kept_at = ozvi_relay::state::Clock::now(app.clock.as_ref());
    assert_eq!(
        app.staff_request(&app.zlin[0], "POST", keep, Some(&body))
            .await
            .status(),
        204
    );
    let record = app
        .state
        .store
        .thread(&anna.mailbox_id())
        .await
        .expect("reads")
        .expect("kept");
    assert_eq!(
        record.last_activity,
        kept_at - kept_at % 60,
        "the clock starts again"
    );
    // 40 days after it was written, 15 after it was kept: still there.
    app.clock.advance(15 * 86_400);
    assert_eq!(
        ozvi_relay::startup::sweep(&app.state)
            .await
            .expect("sweeps"),
        0
    );
    // 31 days after it was kept: gone.
    app.clock.advance(16 * 86_400);
    assert_eq!(
        ozvi_relay::startup::sweep(&app.state)
            .await
            .expect("sweeps"),
        1
    );

    // Another centre's staff, a thread that is gone, bad ids: refused.
    assert_error(
        app.staff_request(&app.praha, "POST", keep, Some(&body))
            .await,
        404,
        "unknown_mailbox",
    )
    .await;
    assert_error(
        app.staff_request(&app.zlin[0], "POST", keep, Some(&body))
            .await,
        404,
        "unknown_mailbox",
    )
    .await;
    assert_error(
        app.staff_request(
            &app.zlin[0],
            "POST",
            keep,
            Some(&json!({ "mailbox_id": "short" })),
        )
        .await,
        400,
        "invalid_encoding",
    )
    .await;
}
