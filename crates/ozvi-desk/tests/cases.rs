//! Eviction cases end to end against a real relay, through the `ozvi-desk`
//! binary: a police record registered, its deadlines shown, attempts
//! logged and the 48-hour clock stopped, a colleague working on the same
//! case, another centre seeing nothing, an overdue case marked and counted,
//! and the statistics CSV. The record's times are the clock here: a record
//! received three days ago is overdue now, as it would be in a centre.

use ozvi_tests::desk::{Deployment, EVA, JANA, PETRA, desk_fails, desk_ok};
use ozvi_tests::person::{Person, now};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON output")
}

const HOUR: u64 = 3600;
const CANARY: &str = "Marie K. PŘÍPAD-7731";

/// Her conversation, made to have been opened `hours` ago (the relay's
/// own store records: its first message stored then).
async fn opened_hours_ago(deployment: &Deployment, seed: u8, hours: u64) -> Person {
    let person = deployment.person(seed);
    person.write_first("ic-zlin", "Pomoc, prosím.").await;
    let store = &deployment.relay.state.store;
    let mailbox = person.mailbox();
    let record = store
        .thread(&mailbox)
        .await
        .expect("reads")
        .expect("a thread");
    let first = store
        .messages(&mailbox, 0, 1)
        .await
        .expect("reads")
        .remove(0);
    store.delete_thread(&mailbox).await.expect("deletes");
    store
        .create_thread(
            &mailbox,
            record.verifier,
            &record.centre,
            &first.envelope,
            now() - hours * HOUR,
        )
        .await
        .expect("re-creates");
    person
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_cases_keep_the_statutory_clocks_and_feed_the_statistics() {
    let deployment = Deployment::new(&[JANA, PETRA, EVA]).await;
    let (jana, petra, eva) = (
        deployment.homes[0].as_path(),
        deployment.homes[1].as_path(),
        deployment.homes[2].as_path(),
    );
    let t = now();
    let at = |seconds: u64| seconds.to_string();

    // Two records arrive: one three days ago that nobody acted on, one an
    // hour ago.
    let late = desk_ok(
        Some(jana),
        &[
            "case",
            "open",
            "--entered",
            &at(t - 74 * HOUR),
            "--received",
            &at(t - 72 * HOUR),
            "--name",
            CANARY,
            "--phone",
            "777 123 456",
            "--police-unit",
            "OOP Zlín",
            "--record-no",
            "KRPZ-1234/2026",
            "--children",
            "2 (5 a 9 let)",
        ],
    )
    .await
    .trim()
    .to_string();
    let fresh = desk_ok(
        Some(jana),
        &[
            "case",
            "open",
            "--entered",
            &at(t - 5 * HOUR),
            "--received",
            &at(t - HOUR),
            "--name",
            "Lenka N.",
        ],
    )
    .await
    .trim()
    .to_string();
    assert_ne!(late, fresh);

    // Overdue first, and marked; the fresh one shows its deadlines.
    let cases = json(&desk_ok(Some(petra), &["cases", "--json"]).await);
    assert_eq!(cases.as_array().map(Vec::len), Some(2), "{cases}");
    assert_eq!(cases[0]["id"], late.as_str());
    assert_eq!(cases[0]["overdue"], true);
    let record_received = t - HOUR;
    assert_eq!(cases[1]["id"], fresh.as_str());
    assert_eq!(cases[1]["overdue"], false);
    assert_eq!(cases[1]["contact_due"], record_received + 48 * HOUR);
    assert_eq!(cases[1]["eviction_end"], t - 5 * HOUR + 10 * 86_400);
    assert_eq!(cases[1]["next_deadline"], cases[1]["contact_due"]);
    let text = desk_ok(Some(petra), &["cases"]).await;
    assert!(text.contains("PO LHŮTĚ / OVERDUE"), "{text}");
    assert!(text.contains("Kontaktovat do"), "{text}");
    assert!(
        text.contains("předběžné opatření"),
        "the court reminder: {text}"
    );

    // An unanswered call leaves the clock running; reaching her stops it.
    let out = desk_ok(
        Some(jana),
        &[
            "case",
            "attempt",
            &fresh[..8],
            "--channel",
            "phone",
            "--outcome",
            "no_answer",
        ],
    )
    .await;
    assert!(out.contains("Kontaktovat do"), "{out}");
    let out = desk_ok(
        Some(jana),
        &[
            "case",
            "attempt",
            &fresh[..8],
            "--channel",
            "phone",
            "--outcome",
            "reached",
            "--text",
            "Přijde ve středu.",
        ],
    )
    .await;
    assert!(out.contains("Kontaktováno včas"), "{out}");

    // Her colleague sees the same case, with who did what, and goes on.
    let shown = json(&desk_ok(Some(petra), &["case", "show", &fresh, "--json"]).await);
    assert_eq!(
        shown["attempts"].as_array().map(Vec::len),
        Some(2),
        "{shown}"
    );
    assert_eq!(shown["attempts"][1]["by"], "Jana");
    assert_eq!(shown["contacted_in_time"], true);
    assert_eq!(shown["overdue"], false);
    assert_eq!(shown["next_deadline"], shown["eviction_end"]);
    desk_ok(
        Some(petra),
        &[
            "case",
            "safe-contact",
            &fresh,
            "--times",
            "všední dny po 17:00",
            "--code-word",
            "Lípa",
        ],
    )
    .await;
    desk_ok(
        Some(petra),
        &["case", "close", &fresh, "--choice", "accepted"],
    )
    .await;
    let text = desk_ok(Some(jana), &["case", "show", &fresh]).await;
    assert!(
        text.contains("BEZPEČNÝ KONTAKT / SAFE CONTACT: všední dny po 17:00"),
        "{text}"
    );
    assert!(text.contains("Uzavřeno / Closed"), "{text}");
    assert!(text.contains("Petra"), "{text}");

    // Another centre sees nothing of it, and the relay holds no plaintext.
    let praha = json(&desk_ok(Some(eva), &["cases", "--json"]).await);
    assert_eq!(praha, serde_json::json!([]));
    desk_fails(
        Some(eva),
        &["case", "show", &fresh],
        "no conversation of your centre",
    )
    .await;
    let store = &deployment.relay.state.store;
    let case_id = ozvi_crypto::MailboxId::from_b64(&late).expect("an id");
    let stored = store.messages(&case_id, 0, 100).await.expect("reads");
    assert_eq!(stored.len(), 1);
    let canary = "PŘÍPAD-7731".as_bytes();
    assert!(
        !stored[0]
            .envelope
            .windows(canary.len())
            .any(|w| w == canary),
        "ciphertext only"
    );

    // Conversations: one answered after an hour, one after 50 hours, one
    // not yet; the last is linked to the overdue case.
    let quick = opened_hours_ago(&deployment, 61, 1).await;
    let slow = opened_hours_ago(&deployment, 62, 50).await;
    let open = deployment.person(63);
    open.write_first("ic-zlin", "Policie odešla, píšu sem.")
        .await;
    for person in [&quick, &slow] {
        let id = person.mailbox().to_b64();
        desk_ok(Some(jana), &["reply", &id, "--text", "Dobrý den."]).await;
    }
    let conversation = open.mailbox().to_b64();
    desk_ok(Some(jana), &["case", "link", &late[..8], &conversation]).await;
    desk_ok(
        Some(jana),
        &[
            "safe-contact",
            &conversation,
            "--times",
            "jen ráno",
            "--voicemail",
        ],
    )
    .await;
    let thread = json(&desk_ok(Some(petra), &["read", &conversation, "--json"]).await);
    assert_eq!(
        thread["note"]["safe_contact"]["times"], "jen ráno",
        "{thread}"
    );
    let linked = json(&desk_ok(Some(petra), &["case", "show", &late, "--json"]).await);
    assert_eq!(linked["links"][0], conversation.as_str());
    // A case is no conversation: it cannot be linked, nor read as one.
    desk_fails(
        Some(jana),
        &["case", "link", &late, &fresh],
        "no conversation",
    )
    .await;

    // The overdue case, reached late by letter, then declined.
    desk_ok(
        Some(jana),
        &[
            "case",
            "attempt",
            &late,
            "--channel",
            "letter",
            "--outcome",
            "no_answer",
        ],
    )
    .await;
    desk_ok(
        Some(jana),
        &["case", "close", &late, "--choice", "declined"],
    )
    .await;
    let late_view = json(&desk_ok(Some(jana), &["case", "show", &late, "--json"]).await);
    assert_eq!(late_view["contacted_in_time"], false, "{late_view}");

    let csv = desk_ok(
        Some(petra),
        &[
            "stats",
            "--from",
            &at(t - 30 * 86_400),
            "--to",
            &at(t + 86_400),
        ],
    )
    .await;
    let value = |metric: &str| {
        csv.lines()
            .find_map(|l| l.strip_prefix(&format!("{metric},")))
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("{metric} in {csv}"))
            .to_string()
    };
    assert_eq!(value("records_received"), "2", "{csv}");
    assert_eq!(value("contacted_within_48h"), "1", "{csv}");
    assert_eq!(value("contacted_within_48h_share"), "0.500", "{csv}");
    assert_eq!(value("accepted"), "1", "{csv}");
    assert_eq!(value("declined"), "1", "{csv}");
    assert_eq!(value("conversations_opened"), "3", "{csv}");
    assert_eq!(value("answered_within_48h"), "1", "{csv}");
    assert_eq!(value("median_first_response_hours"), "25.5", "{csv}");
    // An empty period counts nothing.
    let none = desk_ok(
        Some(petra),
        &["stats", "--from", "2020-01-01", "--to", "2021-01-01"],
    )
    .await;
    assert!(none.contains("\nrecords_received,0,"), "{none}");

    // Bad input gets a clear error and changes nothing.
    desk_fails(
        Some(jana),
        &["case", "open", "--entered", "včera"],
        "no time",
    )
    .await;
    desk_fails(
        Some(jana),
        &[
            "case",
            "open",
            "--entered",
            &at(t - HOUR),
            "--received",
            &at(t - 2 * HOUR),
        ],
        "before the eviction",
    )
    .await;
    desk_fails(
        Some(jana),
        &[
            "case",
            "attempt",
            &late,
            "--channel",
            "fax",
            "--outcome",
            "reached",
        ],
        "unknown channel",
    )
    .await;
    desk_fails(
        Some(jana),
        &["case", "close", &late, "--choice", "maybe"],
        "unknown choice",
    )
    .await;
    desk_fails(Some(jana), &["case", "note", &late, "--text", "  "], "").await;
    assert_eq!(
        json(&desk_ok(Some(jana), &["cases", "--json"]).await)
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // A quiet case is kept like a conversation.
    let kept = desk_ok(Some(jana), &["keep", &late[..8]]).await;
    assert!(kept.contains("Ponecháno"), "{kept}");
    // Cases stay out of the inbox.
    let inbox = json(&desk_ok(Some(jana), &["inbox", "--json"]).await);
    assert_eq!(inbox.as_array().map(Vec::len), Some(3), "{inbox}");
    deployment.relay.handle.stop(true).await;
}
