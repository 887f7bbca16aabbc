//! The staff side: inbox, reading, replying, notes, transfer, isolation and
//! request authentication.

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::protocol::envelope::{Sender, open, rewrap};
use ozvi_crypto::protocol::request::RequestAuth;
use serde_json::{Value, json};

use ozvi_relay::state::Clock;

use crate::helpers::{assert_error, person, spawn_app};

#[tokio::test]
async fn staff_see_the_inbox_read_reply_and_the_person_verifies_the_reply() {
    let app = spawn_app().await;
    let (anna, boris) = (person(10), person(11));
    assert_eq!(
        app.create_thread(&anna, "ic-zlin", "první").await.status(),
        201
    );
    assert_eq!(
        app.create_thread(&boris, "ic-zlin", "druhý").await.status(),
        201
    );
    assert_eq!(
        app.create_thread(&person(12), "ic-praha", "Praha")
            .await
            .status(),
        201
    );

    let inbox: Value = app
        .staff_request(&app.zlin[0], "GET", "/api/v1/staff/threads?since=0", None)
        .await
        .json()
        .await
        .expect("json");
    let threads = inbox["threads"].as_array().expect("array");
    assert_eq!(threads.len(), 2, "only Zlín's threads: {inbox}");
    assert_eq!(
        threads[0]["mailbox_id"],
        boris.mailbox_id().to_b64(),
        "newest first"
    );
    assert_eq!(threads[0]["unread"], 1);
    assert!(threads[0]["unanswered_since"].as_u64().expect("number") > 0);
    let cursor = inbox["cursor"].as_u64().expect("number");
    // The next page of a long inbox: what changed before the oldest listed.
    let newest = threads[0]["change"].as_u64().expect("number");
    let older: Value = app
        .staff_request(
            &app.zlin[0],
            "GET",
            &format!("/api/v1/staff/threads?since=0&before={newest}"),
            None,
        )
        .await
        .json()
        .await
        .expect("json");
    let older = older["threads"].as_array().expect("array");
    assert_eq!(older.len(), 1);
    assert_eq!(older[0]["mailbox_id"], anna.mailbox_id().to_b64());

    let query = json!({"mailbox_id": anna.mailbox_id().to_b64(), "after": 0});
    let view: Value = app
        .staff_request(&app.zlin[1], "POST", "/api/v1/staff/thread", Some(&query))
        .await
        .json()
        .await
        .expect("json");
    let first =
        b64::decode(view["messages"][0]["envelope"].as_str().expect("string")).expect("b64");
    let opened = open(
        &first,
        &anna.mailbox_id(),
        app.zlin[1].x25519(),
        &app.directory,
    )
    .expect("staff read it");
    assert_eq!(opened.sender, Sender::Person(*anna.public()));

    let reply = app.staff_envelope(
        &app.zlin[0],
        "ic-zlin",
        &anna,
        Kind::StaffReply,
        "Jsme tu pro vás",
    );
    let body = json!({"mailbox_id": anna.mailbox_id().to_b64(), "envelope": b64::encode(&reply)});
    let posted = app
        .staff_request(&app.zlin[0], "POST", "/api/v1/staff/reply", Some(&body))
        .await;
    assert_eq!(posted.status(), 201);

    let read = json!({"mailbox_id": anna.mailbox_id().to_b64(), "seq": 2});
    assert_eq!(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/read", Some(&read))
            .await
            .status(),
        204
    );

    let changed: Value = app
        .staff_request(
            &app.zlin[0],
            "GET",
            &format!("/api/v1/staff/threads?since={cursor}"),
            None,
        )
        .await
        .json()
        .await
        .expect("json");
    let changed = changed["threads"].as_array().expect("array");
    assert_eq!(
        changed.len(),
        1,
        "only Anna's thread changed since the cursor"
    );
    assert_eq!(changed[0]["unread"], 0);
    assert_eq!(changed[0]["unanswered_since"], 0, "answered");

    let listing: Value = app
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
    let stored =
        b64::decode(listing["messages"][0]["envelope"].as_str().expect("string")).expect("b64");
    let verified = open(&stored, &anna.mailbox_id(), anna.x25519(), &app.directory)
        .expect("she opens the reply");
    assert_eq!(
        verified.sender,
        Sender::Staff {
            centre: "ic-zlin".into(),
            staff: "zlin-1".into()
        }
    );
}

#[tokio::test]
async fn a_staff_key_touches_only_its_own_centre() {
    let app = spawn_app().await;
    let anna = person(13);
    assert_eq!(app.create_thread(&anna, "ic-zlin", "a").await.status(), 201);
    let query = json!({"mailbox_id": anna.mailbox_id().to_b64()});
    assert_error(
        app.staff_request(&app.praha, "POST", "/api/v1/staff/thread", Some(&query))
            .await,
        404,
        "unknown_mailbox",
    )
    .await;
    let reply = app.staff_envelope(&app.praha, "ic-praha", &anna, Kind::StaffReply, "x");
    let body = json!({"mailbox_id": anna.mailbox_id().to_b64(), "envelope": b64::encode(&reply)});
    assert_error(
        app.staff_request(&app.praha, "POST", "/api/v1/staff/reply", Some(&body))
            .await,
        404,
        "unknown_mailbox",
    )
    .await;
    let inbox: Value = app
        .staff_request(&app.praha, "GET", "/api/v1/staff/threads", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(inbox["threads"].as_array().expect("array").len(), 0);
}

#[tokio::test]
async fn signed_requests_cannot_be_replayed_altered_or_forged() {
    let app = spawn_app().await;
    let target = "/api/v1/staff/threads?since=0";
    let auth = RequestAuth::sign(
        &mut *app.rng.lock().expect("rng"),
        &app.zlin[0],
        &app.directory.salt,
        "GET",
        target,
        b"",
        app.clock.now(),
    )
    .expect("signs");
    assert_eq!(
        app.send_signed("GET", target, vec![], &auth).await.status(),
        200
    );
    assert_error(
        app.send_signed("GET", target, vec![], &auth).await,
        401,
        "replayed_request",
    )
    .await;

    let fresh = RequestAuth::sign(
        &mut *app.rng.lock().expect("rng"),
        &app.zlin[0],
        &app.directory.salt,
        "GET",
        target,
        b"",
        app.clock.now(),
    )
    .expect("signs");
    assert_error(
        app.send_signed("GET", "/api/v1/staff/threads?since=5", vec![], &fresh)
            .await,
        401,
        "bad_signature",
    )
    .await;

    let old = RequestAuth::sign(
        &mut *app.rng.lock().expect("rng"),
        &app.zlin[0],
        &app.directory.salt,
        "GET",
        target,
        b"",
        app.clock.now() - 120,
    )
    .expect("signs");
    assert_error(
        app.send_signed("GET", target, vec![], &old).await,
        401,
        "stale_request",
    )
    .await;

    let stranger = ozvi_crypto::StaffKeys::generate(&mut *app.rng.lock().expect("rng"));
    assert_error(
        app.staff_request(&stranger, "GET", target, None).await,
        403,
        "unknown_staff_key",
    )
    .await;

    let unsigned = app.http.get(app.url(target)).send().await.expect("request");
    assert_error(unsigned, 401, "missing_signature").await;
}

#[tokio::test]
async fn notes_stay_with_staff_and_a_transfer_moves_the_whole_history() {
    let app = spawn_app().await;
    let anna = person(14);
    assert_eq!(
        app.create_thread(&anna, "ic-zlin", "pomoc").await.status(),
        201
    );
    let reply = app.staff_envelope(&app.zlin[0], "ic-zlin", &anna, Kind::StaffReply, "odpověď");
    let body = json!({"mailbox_id": anna.mailbox_id().to_b64(), "envelope": b64::encode(&reply)});
    assert_eq!(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/reply", Some(&body))
            .await
            .status(),
        201
    );

    // A note sealed to the person as well is refused: notes are staff-only.
    let leaky = app.staff_envelope(&app.zlin[0], "ic-zlin", &anna, Kind::StaffReply, "note?");
    let body = json!({"mailbox_id": anna.mailbox_id().to_b64(), "envelope": b64::encode(&leaky)});
    assert_error(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/note", Some(&body))
            .await,
        400,
        "invalid_envelope",
    )
    .await;
    let note = app.staff_envelope(
        &app.zlin[0],
        "ic-zlin",
        &anna,
        Kind::StaffNote,
        "status: in progress",
    );
    let body = json!({"mailbox_id": anna.mailbox_id().to_b64(), "envelope": b64::encode(&note)});
    assert_eq!(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/note", Some(&body))
            .await
            .status(),
        204
    );
    let listing: Value = app
        .as_person(app.http.get(app.url("/api/v1/mailbox/messages")), &anna)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        listing["messages"].as_array().expect("array").len(),
        2,
        "the person sees no note"
    );
    assert!(!listing.to_string().contains(&b64::encode(&note)));
    let inbox: Value = app
        .staff_request(&app.zlin[1], "GET", "/api/v1/staff/threads", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        inbox["threads"][0]["note"].as_str(),
        Some(b64::encode(&note).as_str()),
        "the inbox carries each thread's note"
    );

    // Transfer to Praha: Zlín re-wraps everything for Praha's staff; the person keeps her stanza.
    let query = json!({"mailbox_id": anna.mailbox_id().to_b64()});
    let view: Value = app
        .staff_request(&app.zlin[1], "POST", "/api/v1/staff/thread", Some(&query))
        .await
        .json()
        .await
        .expect("json");
    let staff_only = app.centre("ic-praha").staff_x25519();
    let mut rng = app.rng.lock().expect("rng").clone();
    let messages: Vec<Value> = view["messages"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            let old = b64::decode(m["envelope"].as_str().expect("string")).expect("b64");
            let new = rewrap(
                &mut rng,
                &old,
                &anna.mailbox_id(),
                app.zlin[1].x25519(),
                &app.directory,
                Some(&anna.public().x25519),
                &staff_only,
            )
            .expect("re-wraps");
            json!({"seq": m["seq"], "envelope": b64::encode(&new)})
        })
        .collect();
    let old_note = b64::decode(view["thread"]["note"].as_str().expect("a note")).expect("b64");
    let new_note = rewrap(
        &mut rng,
        &old_note,
        &anna.mailbox_id(),
        app.zlin[1].x25519(),
        &app.directory,
        None,
        &staff_only,
    )
    .expect("re-wraps");
    let transfer = json!({
        "mailbox_id": anna.mailbox_id().to_b64(),
        "to_centre": "ic-praha",
        "messages": messages,
        "note": b64::encode(&new_note),
    });
    let mut incomplete = transfer.clone();
    incomplete["messages"].as_array_mut().expect("array").pop();
    assert_error(
        app.staff_request(
            &app.zlin[1],
            "POST",
            "/api/v1/staff/transfer",
            Some(&incomplete),
        )
        .await,
        400,
        "invalid_field",
    )
    .await;
    assert_eq!(
        app.staff_request(
            &app.zlin[1],
            "POST",
            "/api/v1/staff/transfer",
            Some(&transfer)
        )
        .await
        .status(),
        204
    );

    let zlin_inbox: Value = app
        .staff_request(&app.zlin[0], "GET", "/api/v1/staff/threads", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        zlin_inbox["threads"].as_array().expect("array").len(),
        0,
        "Zlín no longer lists it"
    );
    assert_error(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/thread", Some(&query))
            .await,
        404,
        "unknown_mailbox",
    )
    .await;
    let view: Value = app
        .staff_request(&app.praha, "POST", "/api/v1/staff/thread", Some(&query))
        .await
        .json()
        .await
        .expect("json");
    let history: Vec<_> = view["messages"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            let bytes = b64::decode(m["envelope"].as_str().expect("string")).expect("b64");
            open(
                &bytes,
                &anna.mailbox_id(),
                app.praha.x25519(),
                &app.directory,
            )
            .expect("Praha reads the history")
        })
        .collect();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[1].sender,
        Sender::Staff {
            centre: "ic-zlin".into(),
            staff: "zlin-1".into()
        }
    );
    let note = b64::decode(view["thread"]["note"].as_str().expect("note moved")).expect("b64");
    open(
        &note,
        &anna.mailbox_id(),
        app.praha.x25519(),
        &app.directory,
    )
    .expect("Praha reads the note");
    let listing = app
        .as_person(app.http.get(app.url("/api/v1/mailbox/messages")), &anna)
        .send()
        .await
        .expect("request");
    let listing: Value = listing.json().await.expect("json");
    assert_eq!(listing["centre"], "ic-praha", "same code, new centre");
}

#[tokio::test]
async fn notification_health_is_for_signed_staff_of_the_centre_only() {
    let app = spawn_app().await;
    let path = ozvi_api::routes::paths::STAFF_NOTIFICATIONS;
    let response = app.staff_request(&app.zlin[0], "GET", path, None).await;
    assert_eq!(response.status(), 200);
    let health: ozvi_api::staff::Notifications = response.json().await.expect("the body");
    assert_eq!(
        health,
        ozvi_api::staff::Notifications {
            configured: false,
            last_success: None,
            last_failure: None,
            failure: None,
            failing: false,
        },
        "no [notify] in this relay's configuration"
    );
    assert_error(
        app.http.get(app.url(path)).send().await.expect("request"),
        401,
        "missing_signature",
    )
    .await;
    let stranger = ozvi_crypto::StaffKeys::generate(&mut ozvi_crypto::primitives::rng::os_rng());
    assert_error(
        app.staff_request(&stranger, "GET", path, None).await,
        403,
        "unknown_staff_key",
    )
    .await;
}

/// A kind-`kind` envelope from `staff` under `mailbox` with `body`, sealed
/// to `to`, base64url.
fn staff_only(
    app: &crate::helpers::TestApp,
    staff: &ozvi_crypto::StaffKeys,
    mailbox: &ozvi_crypto::MailboxId,
    kind: Kind,
    body: &[u8],
    to: &[ozvi_crypto::primitives::x25519::X25519Public],
) -> String {
    use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
    let envelope = seal(
        &mut *app.rng.lock().expect("rng"),
        Signer::Staff(staff),
        Message {
            kind,
            mailbox,
            body,
            sent_at: 1,
        },
        to,
    )
    .expect("seals");
    b64::encode(&envelope)
}

/// A kind-`kind` envelope from `staff` under Zlín's record mailbox, sealed to
/// `to`.
fn centre_record(
    app: &crate::helpers::TestApp,
    staff: &ozvi_crypto::StaffKeys,
    kind: Kind,
    to: &[ozvi_crypto::primitives::x25519::X25519Public],
) -> String {
    let mailbox = ozvi_crypto::protocol::addressing::centre_record_mailbox("ic-zlin");
    let body = br#"{"templates":[{"id":"prvni","lang":"cs","title":"Prvni","text":"Dobry den"}]}"#;
    staff_only(app, staff, &mailbox, kind, body, to)
}

/// The templates envelope `staff`'s centre stored, as the relay lists it.
async fn templates_of(
    app: &crate::helpers::TestApp,
    staff: &ozvi_crypto::StaffKeys,
) -> Option<String> {
    let path = ozvi_api::routes::paths::STAFF_TEMPLATES;
    let response = app.staff_request(staff, "GET", path, None).await;
    assert_eq!(response.status(), 200);
    response
        .json::<ozvi_api::staff::CentreRecord>()
        .await
        .expect("the body")
        .envelope
}

/// `staff` replaces the centre's templates with `envelope`.
async fn put_templates(
    app: &crate::helpers::TestApp,
    staff: &ozvi_crypto::StaffKeys,
    envelope: &str,
) -> reqwest::Response {
    let body = json!({ "envelope": envelope });
    app.staff_request(
        staff,
        "PUT",
        ozvi_api::routes::paths::STAFF_TEMPLATES,
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn a_centres_reply_templates_are_one_staff_only_envelope_of_its_own() {
    let app = spawn_app().await;
    let path = ozvi_api::routes::paths::STAFF_TEMPLATES;
    assert_eq!(
        templates_of(&app, &app.zlin[0]).await,
        None,
        "none until stored"
    );

    let staff_x25519 = app.centre("ic-zlin").staff_x25519();
    let good = centre_record(&app, &app.zlin[0], Kind::StaffNote, &staff_x25519);
    assert_eq!(put_templates(&app, &app.zlin[0], &good).await.status(), 204);
    assert_eq!(
        templates_of(&app, &app.zlin[1]).await,
        Some(good.clone()),
        "a colleague gets the same envelope"
    );
    assert_eq!(
        templates_of(&app, &app.praha).await,
        None,
        "another centre has its own"
    );

    // Bad input gets a 4xx with a code and changes nothing.
    let reply_kind = centre_record(&app, &app.zlin[0], Kind::StaffReply, &staff_x25519);
    let one_staff_only = centre_record(&app, &app.zlin[0], Kind::StaffNote, &staff_x25519[..1]);
    for (envelope, code) in [
        (reply_kind.as_str(), "invalid_envelope"),
        (one_staff_only.as_str(), "invalid_envelope"),
        ("not base64!", "invalid_encoding"),
    ] {
        assert_error(put_templates(&app, &app.zlin[1], envelope).await, 400, code).await;
    }
    assert_error(
        app.staff_request(
            &app.zlin[0],
            "PUT",
            path,
            Some(&json!({ "envelope": good, "x": 1 })),
        )
        .await,
        400,
        "malformed_request",
    )
    .await;
    assert_eq!(
        templates_of(&app, &app.zlin[0]).await,
        Some(good),
        "unchanged"
    );
}

/// A case entry (kind 4) from `staff` under `case`, sealed to `to`.
fn case_entry(
    app: &crate::helpers::TestApp,
    staff: &ozvi_crypto::StaffKeys,
    case: &ozvi_crypto::MailboxId,
    kind: Kind,
    to: &[ozvi_crypto::primitives::x25519::X25519Public],
) -> String {
    let body = br#"{"type":"attempt","at":1,"channel":"phone","outcome":"no_answer"}"#;
    staff_only(app, staff, case, kind, body, to)
}

async fn post_case(
    app: &crate::helpers::TestApp,
    staff: &ozvi_crypto::StaffKeys,
    mailbox: &str,
    envelope: &str,
) -> reqwest::Response {
    let body = json!({ "mailbox_id": mailbox, "envelope": envelope });
    app.staff_request(
        staff,
        "POST",
        ozvi_api::routes::paths::STAFF_CASE,
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn a_case_is_a_staff_only_log_that_is_appended_to_and_nothing_else() {
    let app = spawn_app().await;
    let case = ozvi_crypto::protocol::case::new_case_mailbox(&mut *app.rng.lock().expect("rng"));
    let id = case.to_b64();
    let staff_x25519 = app.centre("ic-zlin").staff_x25519();
    let entry = |staff| case_entry(&app, staff, &case, Kind::CaseEntry, &staff_x25519);

    // The first entry opens the case; the next is appended after it.
    let first = post_case(&app, &app.zlin[0], &id, &entry(&app.zlin[0])).await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.json::<Value>().await.expect("json")["seq"], 1);
    let second = post_case(&app, &app.zlin[1], &id, &entry(&app.zlin[1])).await;
    assert_eq!(second.json::<Value>().await.expect("json")["seq"], 2);

    // Colleagues see it in the inbox; it waits for no answer and has
    // nothing unread, so no notification counts it as waiting.
    let inbox: Value = app
        .staff_request(&app.zlin[1], "GET", "/api/v1/staff/threads?since=0", None)
        .await
        .json()
        .await
        .expect("json");
    let listed = &inbox["threads"][0];
    assert_eq!(listed["mailbox_id"], id.as_str());
    assert_eq!(listed["unanswered_since"], 0);
    assert_eq!(listed["unread"], 0);
    assert_eq!(listed["message_count"], 2);

    // No person can open it: the verifier of a case is no secret's hash,
    // and a person's new thread may not claim that verifier.
    let read = app
        .http
        .get(app.url("/api/v1/mailbox/messages"))
        .header("Ozvi-Mailbox", id.as_str())
        .header("Ozvi-Auth", b64::encode(&[0u8; 32]))
        .send()
        .await
        .expect("request");
    assert_error(read, 404, "unknown_mailbox").await;
    let her = person(41);
    let claim = json!({
        "mailbox_id": her.mailbox_id().to_b64(),
        "verifier": b64::encode(&[0u8; 32]),
        "centre": "ic-zlin",
        "envelope": b64::encode(&app.person_message(&her, "ic-zlin", "ahoj")),
        "pow": app.challenge("create").await,
    });
    let claimed = app
        .http
        .post(app.url("/api/v1/threads"))
        .json(&claim)
        .send()
        .await
        .expect("request");
    assert_error(claimed, 400, "invalid_field").await;

    // Bad input gets a 4xx with a code and changes nothing.
    let note_kind = case_entry(&app, &app.zlin[0], &case, Kind::StaffNote, &staff_x25519);
    let one_staff_only = case_entry(
        &app,
        &app.zlin[0],
        &case,
        Kind::CaseEntry,
        &staff_x25519[..1],
    );
    for (envelope, code) in [
        (note_kind.as_str(), "invalid_envelope"),
        (one_staff_only.as_str(), "invalid_envelope"),
        ("not base64!", "invalid_encoding"),
    ] {
        assert_error(
            post_case(&app, &app.zlin[0], &id, envelope).await,
            400,
            code,
        )
        .await;
    }
    // Another centre cannot write to it, nor learn that it exists.
    let praha_x25519 = app.centre("ic-praha").staff_x25519();
    let from_praha = case_entry(&app, &app.praha, &case, Kind::CaseEntry, &praha_x25519);
    assert_error(
        post_case(&app, &app.praha, &id, &from_praha).await,
        404,
        "unknown_mailbox",
    )
    .await;

    // A case takes no reply, note or transfer; a conversation no case entry.
    let anna = person(42);
    assert_eq!(
        app.create_thread(&anna, "ic-zlin", "pomoc").await.status(),
        201
    );
    let conversation = anna.mailbox_id();
    let into_conversation = case_entry(
        &app,
        &app.zlin[0],
        &conversation,
        Kind::CaseEntry,
        &staff_x25519,
    );
    assert_error(
        post_case(
            &app,
            &app.zlin[0],
            &conversation.to_b64(),
            &into_conversation,
        )
        .await,
        409,
        "wrong_thread_kind",
    )
    .await;
    let note = case_entry(&app, &app.zlin[0], &case, Kind::StaffNote, &staff_x25519);
    assert_error(
        app.staff_request(
            &app.zlin[0],
            "POST",
            ozvi_api::routes::paths::STAFF_NOTE,
            Some(&json!({ "mailbox_id": id, "envelope": note })),
        )
        .await,
        409,
        "wrong_thread_kind",
    )
    .await;
    let reply = app.staff_envelope(&app.zlin[0], "ic-zlin", &anna, Kind::StaffReply, "x");
    assert_error(
        app.staff_request(
            &app.zlin[0],
            "POST",
            ozvi_api::routes::paths::STAFF_REPLY,
            Some(&json!({ "mailbox_id": id, "envelope": b64::encode(&reply) })),
        )
        .await,
        409,
        "wrong_thread_kind",
    )
    .await;
    assert_error(
        app.staff_request(
            &app.zlin[0],
            "POST",
            ozvi_api::routes::paths::STAFF_TRANSFER,
            Some(&json!({ "mailbox_id": id, "to_centre": "ic-praha", "messages": [] })),
        )
        .await,
        409,
        "wrong_thread_kind",
    )
    .await;

    // Still exactly the two entries, as they were stored.
    let page: Value = app
        .staff_request(
            &app.zlin[0],
            "POST",
            ozvi_api::routes::paths::STAFF_THREAD,
            Some(&json!({ "mailbox_id": id, "after": 0 })),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(2), "{page}");
}

/// A copy of a signed request whose headers arrived before the original was
/// spent, and whose body is trickled in long after (by a proxy that saw the
/// request), is refused: the nonce is kept as long as any request carrying
/// it can still be verified, and no request is verified later than that.
#[tokio::test]
async fn a_copy_held_open_while_the_original_is_served_is_refused_when_its_body_ends() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let path = ozvi_api::routes::paths::STAFF_TEMPLATES;
    let staff_x25519 = app.centre("ic-zlin").staff_x25519();
    let envelope = centre_record(&app, &app.zlin[0], Kind::StaffNote, &staff_x25519);
    let body = json!({ "envelope": envelope }).to_string().into_bytes();
    let auth = RequestAuth::sign(
        &mut *app.rng.lock().expect("rng"),
        &app.zlin[0],
        &app.directory.salt,
        "PUT",
        path,
        &body,
        app.clock.now(),
    )
    .expect("signs");
    // Two copies: their headers and the first byte of their bodies, now.
    let address = app.url("").trim_start_matches("http://").to_string();
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in auth.to_headers() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut copies = Vec::new();
    for _ in 0..2 {
        let mut copy = tokio::net::TcpStream::connect(&address)
            .await
            .expect("connects");
        copy.write_all(head.as_bytes()).await.expect("writes");
        copy.write_all(&body[..1]).await.expect("writes");
        copies.push(copy);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The original is served.
    assert_eq!(
        app.send_signed("PUT", path, body.clone(), &auth)
            .await
            .status(),
        204
    );
    // The rest of a copy's body, and the relay's answer.
    let finish = |mut copy: tokio::net::TcpStream| {
        let rest = body[1..].to_vec();
        async move {
            copy.write_all(&rest).await.expect("writes");
            let mut answer = vec![0u8; 4096];
            let n =
                tokio::time::timeout(std::time::Duration::from_secs(10), copy.read(&mut answer))
                    .await
                    .expect("an answer")
                    .expect("reads");
            String::from_utf8_lossy(&answer[..n]).into_owned()
        }
    };
    let late = copies.pop().expect("two");
    let later = copies.pop().expect("two");
    // Past twice the window after the original: its nonce is still kept.
    app.clock.advance(200);
    let answer = finish(later).await;
    assert!(
        answer.starts_with("HTTP/1.1 401") && answer.contains("replayed_request"),
        "a copy finished 200 s later: {answer}"
    );
    // Past the longest a body may take: no longer verified at all.
    app.clock.advance(600);
    let answer = finish(late).await;
    assert!(
        answer.starts_with("HTTP/1.1 401") && answer.contains("stale_request"),
        "a copy finished 800 s later: {answer}"
    );
}
