//! Admission under attack: no request pattern from one client, or from a few
//! hundred addresses, makes the relay refuse someone else's first contact.
//! Attackers reach the relay from their own loopback source addresses
//! (127.0.0.x), the genuine person from another one.

use std::sync::atomic::Ordering;

use ozvi_crypto::PersonKeys;
use ozvi_crypto::format::b64;
use ozvi_crypto::protocol::pow;
use serde_json::{Value, json};

use crate::helpers::{START, TestApp, assert_error, person, spawn_app_with};
use ozvi_tests::http::client_from;

/// Person number `i`, for many distinct people.
fn someone(i: u32) -> PersonKeys {
    let mut root = [0x5a; 32];
    root[..4].copy_from_slice(&i.to_be_bytes());
    PersonKeys::from_root(&root)
}

/// A solved challenge of `purpose` fetched by `http`, with its difficulty.
async fn solved(app: &TestApp, http: &reqwest::Client, purpose: &str) -> (Value, u8) {
    let response = http
        .post(app.url("/api/v1/pow"))
        .json(&json!({"purpose": purpose}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let challenge: Value = response.json().await.expect("json");
    let raw = b64::decode(challenge["challenge"].as_str().expect("string")).expect("b64");
    let difficulty = u8::try_from(challenge["difficulty"].as_u64().expect("number")).expect("u8");
    let nonce = pow::solve(&raw, difficulty).expect("solvable");
    (
        json!({"challenge": challenge["challenge"], "nonce": nonce}),
        difficulty,
    )
}

/// A complete, valid creation request for `who` at Zlín (fresh challenge).
async fn creation(app: &TestApp, http: &reqwest::Client, who: &PersonKeys) -> Value {
    json!({
        "mailbox_id": who.mailbox_id().to_b64(),
        "verifier": b64::encode(&who.auth_secret().verifier().0),
        "centre": "ic-zlin",
        "envelope": b64::encode(&app.person_message(who, "ic-zlin", "pomoc")),
        "pow": solved(app, http, "create").await.0,
    })
}

async fn create(app: &TestApp, http: &reqwest::Client, body: &Value) -> reqwest::Response {
    http.post(app.url("/api/v1/threads"))
        .json(body)
        .send()
        .await
        .expect("request")
}

/// The genuine person, from her own address: her first contact must work,
/// at a difficulty her page accepts (at most 20 bits).
async fn genuine_first_contact_succeeds(app: &TestApp, source: &str, seed: u8) {
    let http = client_from(source);
    let her = person(seed);
    let (pow, difficulty) = solved(app, &http, "create").await;
    assert!(difficulty <= 20, "the page refuses {difficulty} bits");
    let mut body = creation(app, &http, &her).await;
    body["pow"] = pow;
    let response = create(app, &http, &body).await;
    assert_eq!(
        response.status(),
        201,
        "a genuine first contact was refused: {}",
        response.text().await.unwrap_or_default()
    );
}

/// Every test here: proof of work on (4 bits, cheap to solve in a test),
/// the request limit out of the way, and the centre's quiet rate at the old
/// default of 120 threads an hour (once the hard limit).
async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.pow_difficulty = 4;
        c.requests_per_address_per_minute = 1_000_000;
        c.threads_per_centre_per_hour = 120;
    })
    .await
}

#[tokio::test]
async fn reusing_one_mailbox_id_cannot_lock_a_centres_first_contact() {
    let app = app().await;
    let attacker = client_from("127.0.0.2");
    let victim = someone(1);
    let mut body = creation(&app, &attacker, &victim).await;
    assert_eq!(create(&app, &attacker, &body).await.status(), 201);
    for _ in 0..150 {
        body["pow"] = solved(&app, &attacker, "create").await.0;
        assert_error(create(&app, &attacker, &body).await, 409, "thread_exists").await;
    }
    genuine_first_contact_succeeds(&app, "127.0.0.3", 40).await;
}

#[tokio::test]
async fn refused_creations_of_every_kind_are_not_counted() {
    let app = app().await;
    let attacker = client_from("127.0.0.2");
    let taken = someone(2);
    let first = creation(&app, &attacker, &taken).await;
    assert_eq!(create(&app, &attacker, &first).await.status(), 201);
    for i in 0..130u32 {
        // A mailbox id that exists, with a valid proof.
        let exists = creation(&app, &attacker, &taken).await;
        assert_error(create(&app, &attacker, &exists).await, 409, "thread_exists").await;
        if i % 5 != 0 {
            continue;
        }
        // A wrong nonce, a challenge for posting, a spent challenge.
        let mut body = creation(&app, &attacker, &someone(1000 + i)).await;
        let raw = b64::decode(body["pow"]["challenge"].as_str().expect("string")).expect("b64");
        let wrong = (0u64..)
            .find(|&n| !pow::verify(&raw, 4, n))
            .expect("most nonces are wrong");
        body["pow"]["nonce"] = json!(wrong);
        assert_error(
            create(&app, &attacker, &body).await,
            403,
            "invalid_proof_of_work",
        )
        .await;
        body["pow"] = solved(&app, &attacker, "post").await.0;
        assert_error(
            create(&app, &attacker, &body).await,
            403,
            "invalid_proof_of_work",
        )
        .await;
        body["pow"] = first["pow"].clone();
        assert_error(
            create(&app, &attacker, &body).await,
            403,
            "invalid_proof_of_work",
        )
        .await;
        // Garbage in the envelope; an envelope for another centre.
        let mut garbage = creation(&app, &attacker, &someone(2000 + i)).await;
        garbage["envelope"] = json!(b64::encode(&[0x42; 1459]));
        assert_error(
            create(&app, &attacker, &garbage).await,
            400,
            "invalid_envelope",
        )
        .await;
        let mut elsewhere = creation(&app, &attacker, &someone(3000 + i)).await;
        elsewhere["centre"] = json!("ic-praha");
        assert_error(
            create(&app, &attacker, &elsewhere).await,
            400,
            "invalid_envelope",
        )
        .await;
    }
    // Over 250 refusals from one client: she may still create her own few
    // threads, and anyone else certainly.
    let again = creation(&app, &attacker, &someone(9)).await;
    assert_eq!(create(&app, &attacker, &again).await.status(), 201);
    genuine_first_contact_succeeds(&app, "127.0.0.3", 41).await;
}

#[tokio::test]
async fn one_address_creating_fresh_threads_is_stopped_by_its_own_budget() {
    let app = app().await;
    let budget = 10; // threads_per_address_per_hour's default
    let attacker = client_from("127.0.0.2");
    let mut created = 0;
    for i in 0..130u32 {
        let body = creation(&app, &attacker, &someone(i)).await;
        let response = create(&app, &attacker, &body).await;
        if response.status() == 201 {
            created += 1;
        } else {
            assert_error(response, 429, "rate_limited").await;
        }
    }
    assert_eq!(created, budget, "one address creates its budget, no more");
    genuine_first_contact_succeeds(&app, "127.0.0.3", 42).await;
    // A new clock hour is a new budget.
    app.clock.0.fetch_add(3600, Ordering::SeqCst);
    let body = creation(&app, &attacker, &someone(500)).await;
    assert_eq!(create(&app, &attacker, &body).await.status(), 201);
}

#[tokio::test]
async fn a_few_hundred_addresses_each_creating_a_little_raise_the_price_not_the_refusals() {
    let app = app().await;
    let quiet = solved(&app, &client_from("127.0.0.250"), "create").await.1;
    assert_eq!(quiet, 4, "the quiet price is the configured difficulty");
    // 300 addresses, one new thread each: 2.5 times the centre's quiet rate.
    let mut created = 0;
    for i in 0..300u32 {
        let source = format!("127.0.{}.{}", 1 + i / 200, 10 + i % 200);
        let http = client_from(&source);
        let body = creation(&app, &http, &someone(10_000 + i)).await;
        let status = create(&app, &http, &body).await.status();
        assert_eq!(status, 201, "address {i}");
        created += 1;
    }
    assert_eq!(created, 300);
    let (_, busy) = solved(&app, &client_from("127.0.0.251"), "create").await;
    assert!(
        busy > quiet,
        "under pressure a creation costs more: {busy} bits"
    );
    assert!(busy <= 20, "and never more than the page accepts");
    genuine_first_contact_succeeds(&app, "127.0.0.252", 43).await;
}

#[tokio::test]
async fn difficulty_rises_with_a_clients_own_use_and_with_the_centres_creations() {
    let app = spawn_app_with(|c| {
        c.pow_difficulty = 4;
        c.requests_per_address_per_minute = 1_000_000;
        c.threads_per_centre_per_hour = 5;
    })
    .await;
    let greedy = client_from("127.0.0.2");
    let mut seen = Vec::new();
    for _ in 0..80 {
        seen.push(solved(&app, &greedy, "create").await.1);
    }
    assert!(
        seen[..10].iter().all(|&d| d == 4),
        "a person's first tries, up to the address's creation budget: {seen:?}"
    );
    assert!(
        seen[79] >= 7,
        "a greedy client pays more and more: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let bystander = client_from("127.0.0.3");
    assert_eq!(
        solved(&app, &bystander, "create").await.1,
        4,
        "no pressure on the centres yet: another client pays the quiet price"
    );
    for i in 0..20u32 {
        let http = client_from(&format!("127.0.1.{}", 10 + i));
        let body = creation(&app, &http, &someone(20_000 + i)).await;
        assert_eq!(create(&app, &http, &body).await.status(), 201);
    }
    let pressed = solved(&app, &bystander, "create").await.1;
    assert!(
        pressed >= 6,
        "20 threads at a quiet rate of 5: {pressed} bits"
    );
    // Posting is not priced by creations.
    assert_eq!(solved(&app, &bystander, "post").await.1, 4);
    // Refused attempts add nothing: a mailbox id reused 60 times.
    let taken = someone(20_000);
    let attacker = client_from("127.0.0.4");
    for _ in 0..60 {
        let body = creation(&app, &attacker, &taken).await;
        assert_error(create(&app, &attacker, &body).await, 409, "thread_exists").await;
    }
    assert_eq!(
        solved(&app, &client_from("127.0.0.5"), "create").await.1,
        pressed
    );
    // An hour without creations and the price is back to quiet.
    app.clock.0.fetch_add(2 * 3600, Ordering::SeqCst);
    assert_eq!(solved(&app, &bystander, "create").await.1, 4);
}

#[tokio::test]
async fn a_solved_challenge_is_spent_once_for_its_whole_life() {
    let app = app().await;
    let http = client_from("127.0.0.2");
    // Late in the relay's second ten minutes, then just past twenty: the old
    // code cleared its spent set there while the challenge was still valid.
    for (issue, reuse) in [(1190, 1201), (590, 1180), (10, 609), (1799, 2398)] {
        app.clock.0.store(START + issue, Ordering::SeqCst);
        let (pow, _) = solved(&app, &http, "create").await;
        let first = someone(30_000 + u32::try_from(issue).expect("small"));
        let mut body = creation(&app, &http, &first).await;
        body["pow"] = pow.clone();
        assert_eq!(create(&app, &http, &body).await.status(), 201);
        app.clock.0.store(START + reuse, Ordering::SeqCst);
        let second = someone(40_000 + u32::try_from(issue).expect("small"));
        let mut replay = creation(&app, &http, &second).await;
        replay["pow"] = pow;
        assert_error(
            create(&app, &http, &replay).await,
            403,
            "invalid_proof_of_work",
        )
        .await;
    }
}
