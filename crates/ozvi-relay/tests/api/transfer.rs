//! A transfer changes who can read a thread, never what it says or whether
//! the person can still open it (PROTOCOL.md §4.8). Every way a staff member
//! of the old centre could rewrite or destroy the history through
//! `POST /api/v1/staff/transfer` is refused, and nothing changes.

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::{Envelope, Kind};
use ozvi_crypto::hazmat;
use ozvi_crypto::protocol::envelope::{Message, Opened, Signer, open, rewrap, seal};
use ozvi_crypto::{MailboxId, PersonKeys};
use ozvi_relay::state::Clock;
use ozvi_relay::store::CentreId;
use rand_core::Rng;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, person, spawn_app};

type Messages = Vec<(u64, Vec<u8>)>;

/// Anna writes, zlin-1 answers, Anna writes again.
async fn history(app: &TestApp, anna: &PersonKeys) -> Messages {
    assert_eq!(
        app.create_thread(anna, "ic-zlin", "první").await.status(),
        201
    );
    let reply = app.staff_envelope(&app.zlin[0], "ic-zlin", anna, Kind::StaffReply, "odpověď");
    let body = json!({"mailbox_id": anna.mailbox_id().to_b64(), "envelope": b64::encode(&reply)});
    assert_eq!(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/reply", Some(&body))
            .await
            .status(),
        201
    );
    let posted = app.post_message(anna, "ic-zlin", "druhá").await;
    assert_eq!(posted.status(), 201);
    stored(app, anna).await
}

pub(crate) async fn stored(app: &TestApp, who: &PersonKeys) -> Messages {
    let listing = app.listing(who).await;
    listing["messages"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().expect("seq"),
                b64::decode(m["envelope"].as_str().expect("string")).expect("b64"),
            )
        })
        .collect()
}

/// What a genuine transfer to Praha sends: each message re-wrapped.
pub(crate) fn rewrapped(app: &TestApp, anna: &PersonKeys, messages: &Messages) -> Messages {
    let mut rng = app.rng.lock().expect("rng");
    messages
        .iter()
        .map(|(seq, m)| {
            let new = rewrap(
                &mut *rng,
                m,
                &anna.mailbox_id(),
                app.zlin[1].x25519(),
                &app.directory,
                Some(&anna.public().x25519),
                &app.centre("ic-praha").staff_x25519(),
            )
            .expect("a genuine message re-wraps");
            (*seq, new)
        })
        .collect()
}

pub(crate) async fn transfer(
    app: &TestApp,
    anna: &PersonKeys,
    messages: &Messages,
) -> reqwest::Response {
    transfer_request(app, anna, messages, None).await
}

/// Zlin-2's transfer of Anna's thread to Praha, re-sealed as `messages`,
/// with a notice to her when given (PROTOCOL.md §4.8).
async fn transfer_request(
    app: &TestApp,
    anna: &PersonKeys,
    messages: &Messages,
    notice: Option<&[u8]>,
) -> reqwest::Response {
    let mut body = json!({
        "mailbox_id": anna.mailbox_id().to_b64(),
        "to_centre": "ic-praha",
        "messages": messages
            .iter()
            .map(|(seq, e)| json!({"seq": seq, "envelope": b64::encode(e)}))
            .collect::<Vec<_>>(),
        "note": null,
    });
    if let Some(notice) = notice {
        body["notice"] = json!(b64::encode(notice));
    }
    app.staff_request(&app.zlin[1], "POST", "/api/v1/staff/transfer", Some(&body))
        .await
}

/// The person's own reading of her history: every message opened with her key.
fn read_as(who: &PersonKeys, app: &TestApp, messages: &Messages) -> Vec<Opened> {
    messages
        .iter()
        .map(|(_, m)| {
            open(m, &who.mailbox_id(), who.x25519(), &app.directory).expect("she reads it")
        })
        .collect()
}

/// The messages of the thread as Zlín's staff read them from the relay.
async fn staff_view(app: &TestApp, mailbox: &MailboxId) -> Value {
    let query = json!({"mailbox_id": mailbox.to_b64()});
    app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/thread", Some(&query))
        .await
        .json::<Value>()
        .await
        .expect("json")["messages"]
        .clone()
}

fn edit(messages: &Messages, i: usize, f: impl FnOnce(&mut Envelope)) -> Messages {
    let mut out = messages.clone();
    let mut e = Envelope::parse(&out[i].1).expect("parses");
    f(&mut e);
    out[i].1 = e.to_bytes();
    out
}

#[tokio::test]
async fn a_transfer_cannot_rewrite_or_destroy_the_history() {
    let app = spawn_app().await;
    let anna = person(40);
    let before = history(&app, &anna).await;
    let genuine = rewrapped(&app, &anna, &before);
    let mailbox = anna.mailbox_id();

    // A new reply by the transferring staff member, correctly addressed.
    let own_reply = {
        let mut recipients = app.centre("ic-praha").staff_x25519();
        recipients.push(anna.public().x25519);
        seal(
            &mut *app.rng.lock().expect("rng"),
            Signer::Staff(&app.zlin[1]),
            Message {
                kind: Kind::StaffReply,
                mailbox: &mailbox,
                body: br#"{"text":"Nic se nestalo."}"#,
                sent_at: app.clock.now(),
            },
            &recipients,
        )
        .expect("seals")
    };
    // Another thread of the same centre, re-wrapped for Praha.
    let boris = person(41);
    assert_eq!(
        app.create_thread(&boris, "ic-zlin", "cizí").await.status(),
        201
    );
    let boris_first = {
        let theirs = stored(&app, &boris).await;
        let mut rng = app.rng.lock().expect("rng");
        rewrap(
            &mut *rng,
            &theirs[0].1,
            &boris.mailbox_id(),
            app.zlin[1].x25519(),
            &app.directory,
            Some(&boris.public().x25519),
            &app.centre("ic-praha").staff_x25519(),
        )
        .expect("re-wraps")
    };
    let mut noise = genuine.clone();
    for (_, e) in &mut noise {
        app.rng.lock().expect("rng").fill_bytes(e);
    }
    let other_person_stanza = Envelope::parse(&genuine[2].1)
        .expect("parses")
        .stanzas
        .last()
        .cloned()
        .expect("a stanza");
    let mut reordered = genuine.clone();
    reordered.swap(0, 2);
    let mut swapped_content = genuine.clone();
    let first = swapped_content[0].1.clone();
    swapped_content[0].1 = swapped_content[2].1.clone();
    swapped_content[2].1 = first;
    let to_zlin: Messages = {
        let mut rng = app.rng.lock().expect("rng");
        before
            .iter()
            .map(|(seq, m)| {
                let new = rewrap(
                    &mut *rng,
                    m,
                    &mailbox,
                    app.zlin[1].x25519(),
                    &app.directory,
                    Some(&anna.public().x25519),
                    &app.centre("ic-zlin").staff_x25519(),
                )
                .expect("re-wraps");
                (*seq, new)
            })
            .collect()
    };

    let replace = |i: usize, bytes: Vec<u8>| {
        let mut out = genuine.clone();
        out[i].1 = bytes;
        out
    };
    let attacks: Vec<(&str, Messages, u16, &str)> = vec![
        (
            "her later message replaced by a copy of her first",
            replace(2, genuine[0].1.clone()),
            409,
            "transfer_changes_content",
        ),
        (
            "a colleague's reply replaced by the transferring staff member's own",
            replace(1, own_reply),
            409,
            "transfer_changes_content",
        ),
        (
            "every envelope replaced by random bytes",
            noise,
            400,
            "invalid_envelope",
        ),
        (
            "one payload byte changed",
            edit(&genuine, 0, |e| e.payload[10] ^= 1),
            409,
            "transfer_changes_content",
        ),
        (
            "one nonce byte changed",
            edit(&genuine, 1, |e| e.nonce[3] ^= 1),
            409,
            "transfer_changes_content",
        ),
        (
            "her stanza dropped",
            edit(&genuine, 2, |e| {
                e.stanzas.pop();
            }),
            409,
            "transfer_changes_content",
        ),
        (
            "her stanza altered",
            edit(&genuine, 0, |e| {
                if let Some(s) = e.stanzas.last_mut() {
                    s.wrapped_key[0] ^= 1;
                }
            }),
            409,
            "transfer_changes_content",
        ),
        (
            "her stanza taken from another message",
            edit(&genuine, 0, |e| {
                if let Some(s) = e.stanzas.last_mut() {
                    *s = other_person_stanza.clone();
                }
            }),
            409,
            "transfer_changes_content",
        ),
        (
            "two messages swapped",
            swapped_content,
            409,
            "transfer_changes_content",
        ),
        (
            "two messages swapped with their sequence numbers",
            reordered,
            400,
            "invalid_field",
        ),
        (
            "an envelope of another thread",
            replace(2, boris_first),
            409,
            "transfer_changes_content",
        ),
        (
            "addressed to the old centre's staff",
            to_zlin,
            400,
            "invalid_envelope",
        ),
        (
            "her stanza not last",
            edit(&genuine, 1, |e| e.stanzas.rotate_right(1)),
            400,
            "invalid_envelope",
        ),
    ];
    let staff_before = staff_view(&app, &mailbox).await;
    for (what, messages, status, code) in attacks {
        assert_error(transfer(&app, &anna, &messages).await, status, code).await;
        assert_eq!(stored(&app, &anna).await, before, "{what}: nothing changed");
        assert_eq!(
            staff_view(&app, &mailbox).await,
            staff_before,
            "{what}: still Zlín's"
        );
    }
    assert_eq!(
        app.state
            .store
            .thread(&mailbox)
            .await
            .expect("reads")
            .expect("exists")
            .centre
            .as_str(),
        "ic-zlin"
    );

    // The genuine transfer goes through, and she still reads everything.
    let hers = read_as(&anna, &app, &before);
    assert_eq!(transfer(&app, &anna, &genuine).await.status(), 204);
    let after = stored(&app, &anna).await;
    assert_eq!(after, genuine);
    assert_eq!(read_as(&anna, &app, &after), hers, "her whole history");
    for (opened, (_, m)) in hers.iter().zip(&after) {
        assert_eq!(
            &open(m, &mailbox, app.praha.x25519(), &app.directory).expect("Praha reads it"),
            opened
        );
    }
}

#[tokio::test]
async fn new_messages_must_reach_the_threads_own_person_key_last() {
    let app = spawn_app().await;
    let (anna, boris) = (person(42), person(43));
    assert_eq!(
        app.create_thread(&anna, "ic-zlin", "pomoc").await.status(),
        201
    );
    let mailbox = anna.mailbox_id();
    let reply_to = |recipients: Vec<ozvi_crypto::primitives::x25519::X25519Public>| {
        seal(
            &mut *app.rng.lock().expect("rng"),
            Signer::Staff(&app.zlin[0]),
            Message {
                kind: Kind::StaffReply,
                mailbox: &mailbox,
                body: br#"{"text":"?"}"#,
                sent_at: app.clock.now(),
            },
            &recipients,
        )
        .expect("seals")
    };
    let staff = app.centre("ic-zlin").staff_x25519();
    let wrong_person = reply_to([staff.clone(), vec![boris.public().x25519]].concat());
    let person_first = reply_to([vec![anna.public().x25519], staff.clone()].concat());
    let v1 = hazmat::seal_v1(
        &mut *app.rng.lock().expect("rng"),
        Signer::Staff(&app.zlin[0]),
        Message {
            kind: Kind::StaffReply,
            mailbox: &mailbox,
            body: br#"{"text":"?"}"#,
            sent_at: app.clock.now(),
        },
        &[staff.clone(), vec![anna.public().x25519]].concat(),
    )
    .expect("seals");
    for envelope in [wrong_person, person_first, v1] {
        let body = json!({"mailbox_id": mailbox.to_b64(), "envelope": b64::encode(&envelope)});
        assert_error(
            app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/reply", Some(&body))
                .await,
            400,
            "invalid_envelope",
        )
        .await;
    }
    let right = reply_to([staff, vec![anna.public().x25519]].concat());
    let body = json!({"mailbox_id": mailbox.to_b64(), "envelope": b64::encode(&right)});
    assert_eq!(
        app.staff_request(&app.zlin[0], "POST", "/api/v1/staff/reply", Some(&body))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn a_thread_of_format_1_envelopes_stays_readable_and_is_not_transferred() {
    let app = spawn_app().await;
    let anna = person(44);
    let mailbox = anna.mailbox_id();
    let mut recipients = app.centre("ic-zlin").staff_x25519();
    recipients.push(anna.public().x25519);
    // Stored before the upgrade: written straight into the relay's store.
    let old = hazmat::seal_v1(
        &mut *app.rng.lock().expect("rng"),
        Signer::Person(&anna),
        Message {
            kind: Kind::PersonMessage,
            mailbox: &mailbox,
            body: r#"{"text":"starší zpráva"}"#.as_bytes(),
            sent_at: app.clock.now(),
        },
        &recipients,
    )
    .expect("seals");
    app.state
        .store
        .create_thread(
            &mailbox,
            anna.auth_secret().verifier().0,
            &CentreId::parse("ic-zlin").expect("valid"),
            &old,
            app.clock.now(),
        )
        .await
        .expect("stored");
    let before = stored(&app, &anna).await;
    assert_eq!(
        read_as(&anna, &app, &before).len(),
        1,
        "format 1 still opens"
    );

    // Whatever the old centre sends, the thread stays where it is.
    let mut rng = app.rng.lock().expect("rng").clone();
    let mut praha = app.centre("ic-praha").staff_x25519();
    praha.push(anna.public().x25519);
    let opened = open(&old, &mailbox, app.zlin[0].x25519(), &app.directory).expect("opens");
    let v2 = seal(
        &mut rng,
        Signer::Person(&anna),
        Message {
            kind: Kind::PersonMessage,
            mailbox: &mailbox,
            body: &opened.body,
            sent_at: opened.sent_at,
        },
        &praha,
    )
    .expect("seals");
    for messages in [vec![(1, v2)], before.clone()] {
        assert_error(transfer(&app, &anna, &messages).await, 409, "legacy_thread").await;
        assert_eq!(stored(&app, &anna).await, before);
    }
    assert_eq!(
        app.state
            .store
            .thread(&MailboxId(mailbox.0))
            .await
            .expect("reads")
            .expect("exists")
            .centre
            .as_str(),
        "ic-zlin"
    );
}

/// A reply by zlin-1 in Anna's thread, sealed to `centre`'s staff and to
/// `to_person` (the notice of a transfer, PROTOCOL.md §4.8).
fn notice(app: &TestApp, anna: &PersonKeys, centre: &str, to_person: &PersonKeys) -> Vec<u8> {
    let mut recipients = app.centre(centre).staff_x25519();
    recipients.push(to_person.public().x25519);
    seal(
        &mut *app.rng.lock().expect("rng"),
        Signer::Staff(&app.zlin[1]),
        Message {
            kind: Kind::StaffReply,
            mailbox: &anna.mailbox_id(),
            body: br#"{"text":"","transfer":{"to":"ic-praha","reason":"Moved to Praha."}}"#,
            sent_at: app.clock.now(),
        },
        &recipients,
    )
    .expect("seals")
}

#[tokio::test]
async fn the_transfer_notice_reaches_her_and_the_new_centre_still_owes_an_answer() {
    let app = spawn_app().await;
    let anna = person(44);
    let boris = person(45);
    let before = history(&app, &anna).await;
    let read = json!({"mailbox_id": anna.mailbox_id().to_b64(), "seq": 3});
    let marked = app
        .staff_request(&app.zlin[0], "POST", "/api/v1/staff/read", Some(&read))
        .await;
    assert_eq!(marked.status(), 204);
    assert_eq!(app.listing(&anna).await["read_through"], 3);
    let genuine = rewrapped(&app, &anna, &before);

    // A notice the old centre could still read, or sealed to someone else
    // than her, is refused, and nothing moves.
    for wrong in [
        notice(&app, &anna, "ic-zlin", &anna),
        notice(&app, &anna, "ic-praha", &boris),
    ] {
        let refused = transfer_request(&app, &anna, &genuine, Some(&wrong)).await;
        assert_error(refused, 400, "invalid_envelope").await;
        let unchanged = app.listing(&anna).await;
        assert_eq!(unchanged["centre"], "ic-zlin");
        assert_eq!(unchanged["last_seq"], 3);
    }

    let sent = notice(&app, &anna, "ic-praha", &anna);
    let moved = transfer_request(&app, &anna, &genuine, Some(&sent)).await;
    assert_eq!(moved.status(), 204);
    let after = app.listing(&anna).await;
    assert_eq!(after["centre"], "ic-praha");
    assert_eq!(after["last_seq"], 4, "the notice comes after her history");
    assert_eq!(after["read_through"], 0, "Praha has read nothing yet");
    let last = &after["messages"][3];
    assert_eq!(last["seq"], 4);
    let bytes = b64::decode(last["envelope"].as_str().expect("string")).expect("b64");
    assert_eq!(bytes, sent, "stored byte for byte");
    let opened = open(&bytes, &anna.mailbox_id(), anna.x25519(), &app.directory)
        .expect("she opens and verifies the notice");
    assert_eq!(opened.kind, Kind::StaffReply);
    assert!(
        matches!(&opened.sender, ozvi_crypto::Sender::Staff { centre, .. } if centre == "ic-zlin"),
        "signed by the staff member who transferred it"
    );

    // Praha sees her last message still waiting for an answer: the notice
    // answers nothing.
    let inbox: Value = app
        .staff_request(&app.praha, "GET", "/api/v1/staff/threads?since=0", None)
        .await
        .json()
        .await
        .expect("json");
    let thread = &inbox["threads"][0];
    assert_eq!(thread["mailbox_id"], anna.mailbox_id().to_b64());
    assert_ne!(thread["unanswered_since"], 0);
    assert_eq!(thread["unread"], 2);
    assert_eq!(thread["last_seq"], 4);
}
