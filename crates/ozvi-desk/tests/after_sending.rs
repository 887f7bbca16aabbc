//! What she learns after sending, set by the desk against a real relay:
//! how far the centre has read, the conversation's state (a sealed reply),
//! the notice of a transfer in her language — each opened and verified on
//! her side as her page does — and what the desk shows of her age band and
//! her safe-contact answers.

mod common;

use common::*;
use ozvi_crypto::format::envelope::Kind;
use serde_json::{Value, json};

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON output")
}

/// Her first message with the form's newer answers.
fn first_body(lang: &str, age_band: &str) -> Value {
    json!({
        "text": "Bojím se jít domů.",
        "lang": lang,
        "intake": {
            "role": "self", "region": "CZ-72", "violence": ["physical"], "danger_now": false,
            "age_band": age_band,
            "safe_contact": {"times": "jen ve škole 8–12", "chat_only": true,
                             "voicemail": false, "code_word": "kočka"}
        }
    })
}

async fn listing(person: &Person) -> Value {
    json(&person.listing().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn she_is_told_the_state_and_sees_what_was_read_and_staff_see_her_age_and_safe_contact() {
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let anna = deployment.person(31);
    anna.write_first_body("ic-zlin", &first_body("cs", "under_16"))
        .await;
    let id = anna.mailbox().to_b64();
    assert_eq!(listing(&anna).await["read_through"], 0);

    // The inbox flags her age before anyone opens the thread.
    let inbox = json(&desk_ok(Some(&home), &["inbox", "--json"]).await);
    assert_eq!(inbox[0]["under_16"], true, "{inbox}");
    assert!(inbox[0]["her_state"].is_null(), "nothing told yet");
    let text = desk_ok(Some(&home), &["inbox"]).await;
    assert!(text.contains("UNDER 16"), "{text}");

    // Reading marks it read: her page sees that.
    let shown = desk_ok(Some(&home), &["read", &id]).await;
    assert_eq!(listing(&anna).await["read_through"], 1);
    assert!(shown.contains("Linka bezpečí 116 111"), "{shown}");
    assert!(shown.contains("jen ve škole 8–12"), "{shown}");
    assert!(shown.contains("JEN CHAT, NEVOLAT"), "{shown}");
    assert!(shown.contains("heslo / code word: kočka"), "{shown}");
    assert!(shown.contains("mladší 16 let"), "{shown}");
    assert!(shown.contains("dosud nesděleno"), "{shown}");
    let view = json(&desk_ok(Some(&home), &["read", &id, "--json"]).await);
    let intake = &view["messages"][0]["intake"];
    assert_eq!(intake["age_band"], "under_16");
    assert_eq!(intake["safe_contact"]["chat_only"], true);

    // A state she cannot be told is refused, and nothing reaches her.
    desk_fails(Some(&home), &["state", &id, "lost"], "unknown state").await;
    let long = "x".repeat(201);
    desk_fails(
        Some(&home),
        &["state", &id, "waiting", &long],
        "at most 200",
    )
    .await;
    desk_fails(Some(&home), &["state", &id, "waiting", "a\nb"], "one line").await;
    assert_eq!(listing(&anna).await["last_seq"], 1);

    // The centre tells her it waits for her, with its own line.
    let line = "Napište nám, kdy se vám hodí.";
    let told = desk_ok(Some(&home), &["state", &id[..8], "waiting", line]).await;
    assert!(told.contains("message 2"), "{told}");
    let bodies = anna.read_bodies().await;
    let (seq, kind, who, body) = bodies.last().expect("a reply");
    assert_eq!((*seq, *kind), (2, Kind::StaffReply));
    assert_eq!(who, "ic-zlin/zlin-a", "signed by the staff member");
    assert_eq!(body["status"], json!({"state": "waiting", "note": line}));
    assert_eq!(body["text"], "");
    assert_eq!(listing(&anna).await["read_through"], 2);

    // The desk shows the state in the thread and in the inbox.
    let view = json(&desk_ok(Some(&home), &["read", &id, "--json"]).await);
    assert_eq!(view["her_state"]["state"], "waiting", "{view}");
    assert_eq!(view["messages"][1]["status"]["note"], line);
    let inbox = json(&desk_ok(Some(&home), &["inbox", "--json"]).await);
    assert_eq!(inbox[0]["her_state"]["state"], "waiting", "{inbox}");

    // She writes again; the state stays the newest told, and a later one
    // replaces it.
    anna.write_more("Zítra ráno.").await;
    assert_eq!(listing(&anna).await["read_through"], 2, "not read yet");
    desk_ok(Some(&home), &["state", &id, "in_progress"]).await;
    let view = json(&desk_ok(Some(&home), &["read", &id, "--json"]).await);
    assert_eq!(view["her_state"]["state"], "in_progress");
    assert_eq!(view["her_state"]["note"], "");
    let shown = desk_ok(Some(&home), &["read", &id]).await;
    assert!(
        shown.contains("Stav sdělen / State told: čekáme na vás"),
        "{shown}"
    );
    deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_tells_her_in_her_language_which_centre_reads_it_now_and_why() {
    let deployment = Deployment::new(&[JANA, EVA]).await;
    let (zlin, praha) = (deployment.homes[0].clone(), deployment.homes[1].clone());
    let olena = deployment.person(32);
    olena
        .write_first_body("ic-zlin", &first_body("uk", "adult"))
        .await;
    let id = olena.mailbox().to_b64();
    desk_ok(Some(&zlin), &["reply", &id, "--text", "Dobrý den."]).await;
    olena.write_more("Дякую.").await;
    let reason = "Žijete v Praze; tamní centrum vám může pomoci osobně.";
    desk_ok(
        Some(&zlin),
        &["transfer", &id, "--to", "ic-praha", "--reason", reason],
    )
    .await;

    // She opens her whole thread with her own key: the history as before,
    // and the notice last, signed by the staff member who transferred it.
    let after = listing(&olena).await;
    assert_eq!(after["centre"], "ic-praha");
    assert_eq!(after["read_through"], 0, "Praha has read nothing yet");
    let bodies = olena.read_bodies().await;
    assert_eq!(bodies.len(), 4);
    let (seq, kind, who, body) = &bodies[3];
    assert_eq!((*seq, *kind), (4, Kind::StaffReply));
    assert_eq!(who, "ic-zlin/zlin-a");
    assert_eq!(
        body["transfer"],
        json!({"to": "ic-praha", "reason": reason})
    );
    assert_eq!(body["lang"], "uk");
    let directory = olena.directory().await;
    let praha_name = &directory.centre("ic-praha").expect("listed").names.uk;
    let text = body["text"].as_str().expect("text");
    assert!(text.contains(praha_name.as_str()), "{text}");
    assert!(text.contains(reason), "{text}");

    // Praha's desk reads the thread: the notice does not spoil the check of
    // the transferred history, and her message still waits for an answer.
    let view = json(&desk_ok(Some(&praha), &["read", &id, "--json"]).await);
    assert!(view["entry"]["transfer_unchecked"].is_null(), "{view}");
    assert_eq!(view["messages"][3]["transfer"]["to"], "ic-praha");
    assert!(view["messages"][3]["problem"].is_null(), "{view}");
    let inbox = json(&desk_ok(Some(&praha), &["inbox", "--json"]).await);
    assert!(
        inbox[0]["waiting_since"].as_u64().expect("number") > 0,
        "{inbox}"
    );
    let shown = desk_ok(Some(&praha), &["read", &id]).await;
    assert!(
        shown.contains("Předáno centru / Transferred to ic-praha"),
        "{shown}"
    );
    // A reason she could not be shown in full is refused before anything moves.
    let moved_back = desk(
        Some(&praha),
        &[
            "transfer",
            &id,
            "--to",
            "ic-zlin",
            "--reason",
            &"x".repeat(501),
        ],
    )
    .await;
    assert!(!moved_back.status.success());
    assert_eq!(listing(&olena).await["centre"], "ic-praha");
    deployment.relay.handle.stop(true).await;
}
