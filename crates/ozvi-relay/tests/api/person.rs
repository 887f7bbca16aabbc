//! The person's side: create, post, list, delete, and every way to get it wrong.

use ozvi_crypto::format::b64;
use ozvi_crypto::protocol::envelope::open;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, person, spawn_app};

#[tokio::test]
async fn a_person_creates_a_thread_writes_again_reads_and_deletes_it() {
    let app = spawn_app().await;
    let anna = person(1);
    let response = app.create_thread(&anna, "ic-zlin", "Potřebuji pomoc").await;
    assert_eq!(response.status(), 201);

    let envelope = app.person_message(&anna, "ic-zlin", "Ještě jedna věc");
    let body = json!({"envelope": b64::encode(&envelope), "pow": app.challenge("post").await});
    let posted = app
        .as_person(app.http.post(app.url("/api/v1/mailbox/messages")), &anna)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(posted.status(), 201);
    assert_eq!(posted.json::<Value>().await.expect("json")["seq"], 2);

    let listing: Value = app
        .as_person(
            app.http.get(app.url("/api/v1/mailbox/messages?after=0")),
            &anna,
        )
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(listing["centre"], "ic-zlin");
    let messages = listing["messages"].as_array().expect("array");
    assert_eq!(messages.len(), 2);
    let stored = b64::decode(messages[1]["envelope"].as_str().expect("string")).expect("b64");
    assert_eq!(stored, envelope, "byte-identical");
    let opened = open(&stored, &anna.mailbox_id(), anna.x25519(), &app.directory)
        .expect("she reads her own message");
    assert_eq!(opened.body, r#"{"text":"Ještě jedna věc"}"#.as_bytes());
    assert_eq!(
        messages[1]["stored_at"].as_u64().expect("number") % 60,
        0,
        "minute granularity"
    );

    let after: Value = app
        .as_person(
            app.http.get(app.url("/api/v1/mailbox/messages?after=1")),
            &anna,
        )
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(after["messages"].as_array().expect("array").len(), 1);

    let deleted = app.delete_thread(&anna).await;
    assert_eq!(deleted.status(), 204);
    let gone = app
        .as_person(app.http.get(app.url("/api/v1/mailbox/messages")), &anna)
        .send()
        .await
        .expect("request");
    assert_error(gone, 404, "unknown_mailbox").await;
    assert!(
        app.state
            .store
            .messages(&anna.mailbox_id(), 0, 100)
            .await
            .expect("reads")
            .is_empty(),
        "every message removed"
    );
}

#[tokio::test]
async fn the_same_mailbox_cannot_be_created_twice() {
    let app = spawn_app().await;
    let anna = person(2);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    assert_error(
        app.create_thread(&anna, "ic-zlin", "b").await,
        409,
        "thread_exists",
    )
    .await;
}

#[tokio::test]
async fn wrong_auth_and_unknown_mailboxes_are_refused() {
    let app = spawn_app().await;
    let anna = person(3);
    let eve = person(4);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    let wrong = app
        .http
        .get(app.url("/api/v1/mailbox/messages"))
        .header("Ozvi-Mailbox", anna.mailbox_id().to_b64())
        .header("Ozvi-Auth", b64::encode(eve.auth_secret().expose()))
        .send()
        .await
        .expect("request");
    // A wrong secret is answered like a missing thread (hardening.rs).
    assert_error(wrong, 404, "unknown_mailbox").await;
    let unknown = app
        .as_person(app.http.get(app.url("/api/v1/mailbox/messages")), &eve)
        .send()
        .await
        .expect("request");
    assert_error(unknown, 404, "unknown_mailbox").await;
    let missing = app
        .http
        .get(app.url("/api/v1/mailbox/messages"))
        .send()
        .await
        .expect("request");
    assert_error(missing, 401, "wrong_auth").await;
    let bad_b64 = app
        .http
        .delete(app.url("/api/v1/mailbox"))
        .header("Ozvi-Mailbox", "not base64!")
        .header("Ozvi-Auth", "AA")
        .send()
        .await
        .expect("request");
    assert_error(bad_b64, 400, "invalid_encoding").await;
}

#[tokio::test]
async fn bad_creation_requests_change_nothing() {
    let app = spawn_app().await;
    let anna = person(5);
    let good = |envelope: &[u8]| {
        json!({
            "mailbox_id": anna.mailbox_id().to_b64(),
            "verifier": b64::encode(&anna.auth_secret().verifier().0),
            "centre": "ic-zlin",
            "envelope": b64::encode(envelope),
        })
    };
    let envelope = app.person_message(&anna, "ic-zlin", "a");
    let post = |body: Value| app.http.post(app.url("/api/v1/threads")).json(&body).send();

    let mut body = good(&envelope);
    body["pow"] = app.challenge("create").await;
    body["centre"] = json!("ic-brno");
    assert_error(post(body).await.expect("request"), 404, "unknown_centre").await;

    // Sealed to Praha's staff but filed with Zlín: not readable by the team.
    let mut body = good(&app.person_message(&anna, "ic-praha", "a"));
    body["pow"] = app.challenge("create").await;
    assert_error(post(body).await.expect("request"), 400, "invalid_envelope").await;

    let mut body = good(&envelope[..envelope.len() - 1]);
    body["pow"] = app.challenge("create").await;
    assert_error(post(body).await.expect("request"), 400, "invalid_envelope").await;

    let mut body = good(&envelope);
    body["pow"] = app.challenge("create").await;
    body["mailbox_id"] = json!(b64::encode(&[1u8; 15]));
    assert_error(post(body).await.expect("request"), 400, "invalid_field").await;

    let mut body = good(&envelope);
    body["pow"] = app.challenge("create").await;
    body["verifier"] = json!("AR");
    assert_error(post(body).await.expect("request"), 400, "invalid_encoding").await;

    let mut body = good(&envelope);
    body["pow"] = app.challenge("post").await;
    assert_error(
        post(body).await.expect("request"),
        403,
        "invalid_proof_of_work",
    )
    .await;

    let mut body = good(&envelope);
    body["pow"] = json!({"challenge": "AAAA", "nonce": 0});
    assert_error(
        post(body).await.expect("request"),
        403,
        "invalid_proof_of_work",
    )
    .await;

    let mut body = good(&envelope);
    body["pow"] = app.challenge("create").await;
    body["extra"] = json!("CANARY-ECHO");
    let response = post(body).await.expect("request");
    assert_eq!(response.status(), 400);
    let text = response.text().await.expect("text");
    assert!(
        !text.contains("CANARY"),
        "error bodies never echo input: {text}"
    );

    let not_json = app
        .http
        .post(app.url("/api/v1/threads"))
        .header("content-type", "application/json")
        .body("{\"mailbox_id\": CANARY")
        .send()
        .await
        .expect("request");
    assert_error(not_json, 400, "malformed_request").await;

    let huge = app
        .http
        .post(app.url("/api/v1/threads"))
        .body(vec![b'x'; 200 * 1024])
        .send()
        .await
        .expect("request");
    assert_error(huge, 413, "payload_too_large").await;

    assert!(
        app.state
            .store
            .thread(&anna.mailbox_id())
            .await
            .expect("reads")
            .is_none(),
        "nothing was created"
    );
}

#[tokio::test]
async fn a_challenge_is_good_for_one_request_only() {
    let app = crate::helpers::spawn_app_with(|c| c.pow_difficulty = 8).await;
    let anna = person(6);
    let bob = person(7);
    let pow = app.challenge("create").await;
    let body = |p: &ozvi_crypto::PersonKeys| {
        json!({
            "mailbox_id": p.mailbox_id().to_b64(),
            "verifier": b64::encode(&p.auth_secret().verifier().0),
            "centre": "ic-zlin",
            "envelope": b64::encode(&app.person_message(p, "ic-zlin", "a")),
            "pow": pow,
        })
    };
    let first = app
        .http
        .post(app.url("/api/v1/threads"))
        .json(&body(&anna))
        .send()
        .await
        .expect("request");
    assert_eq!(first.status(), 201);
    let again = app
        .http
        .post(app.url("/api/v1/threads"))
        .json(&body(&bob))
        .send()
        .await
        .expect("request");
    assert_error(again, 403, "invalid_proof_of_work").await;
    let mut unsolved = body(&bob);
    let fresh = app.challenge("create").await;
    let raw = b64::decode(fresh["challenge"].as_str().expect("string")).expect("b64");
    let wrong = (0u64..)
        .find(|&n| !ozvi_crypto::protocol::pow::verify(&raw, 8, n))
        .expect("most nonces are wrong");
    unsolved["pow"] = json!({"challenge": fresh["challenge"], "nonce": wrong});
    let response = app
        .http
        .post(app.url("/api/v1/threads"))
        .json(&unsolved)
        .send()
        .await
        .expect("request");
    assert_error(response, 403, "invalid_proof_of_work").await;
    // With a difficulty above 0, leaving the proof out is refused.
    let mut without = body(&bob);
    without.as_object_mut().expect("object").remove("pow");
    let response = app
        .http
        .post(app.url("/api/v1/threads"))
        .json(&without)
        .send()
        .await
        .expect("request");
    assert_error(response, 403, "invalid_proof_of_work").await;
}

#[tokio::test]
async fn with_proof_of_work_turned_off_no_challenge_is_needed() {
    let app = crate::helpers::spawn_app().await; // difficulty 0
    let anna = person(8);
    let created = app
        .http
        .post(app.url("/api/v1/threads"))
        .json(&json!({
            "mailbox_id": anna.mailbox_id().to_b64(),
            "verifier": b64::encode(&anna.auth_secret().verifier().0),
            "centre": "ic-zlin",
            "envelope": b64::encode(&app.person_message(&anna, "ic-zlin", "a")),
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let posted = app
        .as_person(app.http.post(app.url("/api/v1/mailbox/messages")), &anna)
        .json(&json!({"envelope": b64::encode(&app.person_message(&anna, "ic-zlin", "b"))}))
        .send()
        .await
        .expect("request");
    assert_eq!(posted.status(), 201);
    // A challenge that is sent must still be valid, even at difficulty 0.
    let bad = app
        .as_person(app.http.post(app.url("/api/v1/mailbox/messages")), &anna)
        .json(&json!({
            "envelope": b64::encode(&app.person_message(&anna, "ic-zlin", "c")),
            "pow": {"challenge": "AAAA", "nonce": 0},
        }))
        .send()
        .await
        .expect("request");
    assert_error(bad, 403, "invalid_proof_of_work").await;
}

/// What her listing says of the centre's read mark: `read_through`.
async fn read_through(app: &TestApp, who: &ozvi_crypto::PersonKeys) -> Value {
    app.listing(who).await["read_through"].clone()
}

#[tokio::test]
async fn she_sees_how_far_the_centre_has_read_and_nothing_of_another_thread() {
    let app = spawn_app().await;
    let anna = person(2);
    let boris = person(3);
    assert_eq!(
        app.create_thread(&anna, "ic-zlin", "první").await.status(),
        201
    );
    assert_eq!(
        app.create_thread(&boris, "ic-zlin", "jiná").await.status(),
        201
    );
    assert_eq!(read_through(&app, &anna).await, 0, "nothing read yet");

    let mark = |who: &ozvi_crypto::PersonKeys, seq: u64| json!({"mailbox_id": who.mailbox_id().to_b64(), "seq": seq});
    let read = app
        .staff_request(
            &app.zlin[0],
            "POST",
            "/api/v1/staff/read",
            Some(&mark(&anna, 1)),
        )
        .await;
    assert_eq!(read.status(), 204);
    assert_eq!(read_through(&app, &anna).await, 1);
    assert_eq!(
        read_through(&app, &boris).await,
        0,
        "only her thread was read"
    );

    // She writes again: the centre has not read that one yet.
    let posted = app.post_message(&anna, "ic-zlin", "druhá").await;
    assert_eq!(posted.status(), 201);
    assert_eq!(read_through(&app, &anna).await, 1);
    // A mark past the end stops at her newest message; a lower one never
    // takes the mark back.
    for seq in [99, 1] {
        let read = app
            .staff_request(
                &app.zlin[1],
                "POST",
                "/api/v1/staff/read",
                Some(&mark(&anna, seq)),
            )
            .await;
        assert_eq!(read.status(), 204);
        assert_eq!(read_through(&app, &anna).await, 2);
    }
}
