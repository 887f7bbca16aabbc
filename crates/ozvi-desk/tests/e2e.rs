//! The desk end to end against a real relay: enrolment, inbox, reading,
//! replying, notes, status, assignment, transfer, export, forged messages,
//! removed staff and bad input — through the `ozvi-desk` binary.

mod common;

use common::*;
use ozvi_crypto::StaffKeys;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_tests::relay::Author;
use serde_json::Value;

const CANARY: &str = "Manžel mi vyhrožuje — KANÁREK-4411";

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_from_enrolment_to_transfer() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let operator = Operator::new(&tmp.path().join("operator")).await;
    let relay = start_relay(&tmp.path().join("relay-data"), &operator.root_key).await;
    let base = relay.base.clone();

    // Three staff members create their keys; the operator enrols them.
    let zlin_a = staff_home(&tmp.path().join("zlin-a"), &base, &operator.root_key).await;
    let zlin_b = staff_home(&tmp.path().join("zlin-b"), &base, &operator.root_key).await;
    let praha_a = staff_home(&tmp.path().join("praha-a"), &base, &operator.root_key).await;
    operator.sample().await;
    operator.enrol(&zlin_a, "ic-zlin", "zlin-a", "Jana").await;
    operator.enrol(&zlin_b, "ic-zlin", "zlin-b", "Petra").await;
    operator.enrol(&praha_a, "ic-praha", "praha-a", "Eva").await;
    operator.publish(&base).await;
    let keystore = std::fs::read(zlin_a.join("staff.ozvi-keys")).expect("keystore");
    assert!(keystore.starts_with(b"OZVIKS"), "encrypted keystore");

    // A person writes to Zlín.
    let anna = Person::new(1, &base, &operator.root_key);
    anna.write_first("ic-zlin", CANARY).await;

    // Jana sees the thread in her inbox, unread, new, waiting.
    let inbox = json(&desk_ok(Some(&zlin_a), &["inbox", "--json"]).await);
    let threads = inbox.as_array().expect("array");
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["id"], anna.mailbox().to_b64());
    assert_eq!(threads[0]["unread"], 1);
    assert_eq!(threads[0]["status"], "new");
    assert!(threads[0]["waiting_since"].as_u64().expect("number") > 0);
    let short = threads[0]["short"].as_str().expect("short").to_string();
    let people = desk_ok(Some(&zlin_a), &["inbox"]).await;
    assert!(
        people.contains(&short) && people.contains("nový"),
        "{people}"
    );

    // She reads it: the text and the form answers as fields; it is then read.
    let view = json(&desk_ok(Some(&zlin_a), &["read", &short, "--json"]).await);
    let first = &view["messages"][0];
    assert_eq!(first["author"]["type"], "person");
    assert_eq!(first["text"], CANARY);
    assert_eq!(first["intake"]["region"], "CZ-72");
    assert_eq!(first["intake"]["violence"][1], "physical");
    assert!(first["problem"].is_null());
    let text = desk_ok(Some(&zlin_a), &["read", &short]).await;
    assert!(
        text.contains("Kraj: Zlínský kraj (CZ-72)")
            && text.contains("Kdo píše: ohrožená osoba")
            && text.contains("Druh násilí: psychické, fyzické")
            && text.contains("Kontakt: po 17. hodině")
            && !text.contains("Role: self")
            && text.contains("Časové pásmo / time zone: ")
            && text
                .lines()
                .any(|l| l.starts_with("--- #1 · ")
                    && (l.contains(":00) · ") || l.contains(":30) · "))),
        "{text}"
    );
    let inbox = json(&desk_ok(Some(&zlin_a), &["inbox", "--json"]).await);
    assert_eq!(inbox[0]["unread"], 0, "reading marks it read");

    // She replies; the person opens and verifies the reply.
    desk_ok(
        Some(&zlin_a),
        &["reply", &short, "--text", "Dobrý den, jsme tu pro vás."],
    )
    .await;
    let seen = anna.read_all().await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].1, Kind::StaffReply);
    assert_eq!(seen[1].2, "zlin-a", "verified as Jana's");
    assert_eq!(seen[1].3, "Dobrý den, jsme tu pro vás.");
    let inbox = json(&desk_ok(Some(&zlin_a), &["inbox", "--json"]).await);
    assert_eq!(inbox[0]["waiting_since"], 0, "answered");

    // Internal note, status and assignee: staff see them, the person never.
    desk_ok(
        Some(&zlin_a),
        &["note", &short, "--text", "Volala i policie. POZNÁMKA-77"],
    )
    .await;
    desk_ok(Some(&zlin_a), &["status", &short, "in_progress"]).await;
    desk_ok(Some(&zlin_a), &["assign", &short, "zlin-b"]).await;
    let petra_view = json(&desk_ok(Some(&zlin_b), &["read", &short, "--json"]).await);
    assert_eq!(petra_view["note"]["status"], "in_progress");
    assert_eq!(petra_view["note"]["assignee"], "zlin-b");
    assert_eq!(
        petra_view["note"]["notes"][0]["text"],
        "Volala i policie. POZNÁMKA-77"
    );
    assert_eq!(petra_view["note"]["notes"][0]["by"], "zlin-a");
    let inbox = json(&desk_ok(Some(&zlin_b), &["inbox", "--json"]).await);
    assert_eq!(inbox[0]["status"], "in_progress");
    assert_eq!(inbox[0]["assignee_label"], "Petra");
    assert_eq!(anna.read_all().await.len(), 2, "the person sees no note");
    assert!(!anna.listing().await.contains("note"));

    // Export for the case record: decrypted text, written only for her.
    let out = tmp.path().join("case.txt");
    desk_ok(
        Some(&zlin_a),
        &["export", &short, "--out", out.to_str().expect("utf-8")],
    )
    .await;
    let exported = std::fs::read_to_string(&out).expect("export");
    assert!(exported.contains(CANARY) && exported.contains("POZNÁMKA-77"));
    desk_fails(
        Some(&zlin_a),
        &["export", &short, "--out", out.to_str().expect("utf-8")],
        "already exists",
    )
    .await;

    // Transfer to Praha: Eva reads the whole history; Zlín loses it.
    desk_ok(Some(&zlin_a), &["transfer", &short, "--to", "ic-praha"]).await;
    // Until a Praha desk has checked the history, it says so.
    let eva_inbox = json(&desk_ok(Some(&praha_a), &["inbox", "--json"]).await);
    assert_eq!(eva_inbox[0]["transfer_unchecked"], "ic-zlin", "{eva_inbox}");
    let listing = desk_ok(Some(&praha_a), &["inbox"]).await;
    assert!(listing.contains("not yet checked"), "{listing}");
    let eva_view = json(
        &desk_ok(
            Some(&praha_a),
            &["read", &anna.mailbox().to_b64(), "--json"],
        )
        .await,
    );
    let messages = eva_view["messages"].as_array().expect("array");
    // Her history, and the notice telling her where it went.
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[2]["transfer"]["to"], "ic-praha");
    assert!(
        messages.iter().all(|m| m["problem"].is_null()),
        "{eva_view}"
    );
    assert_eq!(messages[0]["text"], CANARY);
    assert_eq!(messages[1]["author"]["staff"], "zlin-a");
    assert_eq!(messages[1]["author"]["centre"], "ic-zlin");
    assert_eq!(
        eva_view["note"]["notes"][0]["text"],
        "Volala i policie. POZNÁMKA-77"
    );
    // Reading it checked it: every message verified, recorded in the note.
    assert!(
        eva_view["entry"]["transfer_unchecked"].is_null(),
        "{eva_view}"
    );
    assert!(
        eva_view["note"]["notes"][1]["text"]
            .as_str()
            .expect("the check is recorded")
            .contains("Transfer from ic-zlin checked: 3 messages"),
        "{eva_view}"
    );
    assert_eq!(eva_view["note"]["notes"][1]["by"], "praha-a");
    let eva_inbox = json(&desk_ok(Some(&praha_a), &["inbox", "--json"]).await);
    assert!(eva_inbox[0]["transfer_unchecked"].is_null(), "{eva_inbox}");
    // The person still reads her whole history, with the same signatures.
    let seen = anna.read_all().await;
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[2].2, "zlin-a",
        "the notice, signed by who transferred it"
    );
    assert_eq!(seen[0].3, CANARY);
    assert_eq!(seen[1].2, "zlin-a");
    let zlin_inbox = json(&desk_ok(Some(&zlin_a), &["inbox", "--json"]).await);
    assert_eq!(
        zlin_inbox.as_array().expect("array").len(),
        0,
        "Zlín no longer lists it"
    );
    desk_fails(
        Some(&zlin_a),
        &["read", &anna.mailbox().to_b64()],
        "no conversation",
    )
    .await;
    // The person keeps her code and reads everything, now also from Praha.
    desk_ok(
        Some(&praha_a),
        &["reply", &anna.mailbox().to_b64(), "--text", "Tady Praha."],
    )
    .await;
    let seen = anna.read_all().await;
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[3].2, "praha-a");

    // A forged reply injected straight into the store is flagged.
    let boris = Person::new(2, &base, &operator.root_key);
    boris.write_first("ic-zlin", "Soused křičí.").await;
    let directory = boris.directory().await;
    let mut recipients = directory.centre("ic-zlin").expect("centre").staff_x25519();
    recipients.push(boris.keys.public().x25519);
    let impostor = StaffKeys::generate(&mut os_rng());
    let forged = seal(
        &mut os_rng(),
        Signer::Staff(&impostor),
        Message {
            kind: Kind::StaffReply,
            mailbox: &boris.mailbox(),
            body: r#"{"text":"Přijďte sama v noci."}"#.as_bytes(),
            sent_at: 0,
        },
        &recipients,
    )
    .expect("seals");
    relay.inject(&boris.mailbox(), Author::Staff, &forged).await;
    let view = json(
        &desk_ok(
            Some(&zlin_a),
            &["read", &boris.mailbox().to_b64(), "--json"],
        )
        .await,
    );
    let forged_view = &view["messages"][1];
    assert_eq!(forged_view["author"]["type"], "unverified");
    assert_eq!(forged_view["text"], "", "the forged text is not shown");
    assert!(
        forged_view["problem"]
            .as_str()
            .expect("problem")
            .contains("SUSPICIOUS")
    );
    let text = desk_ok(Some(&zlin_a), &["read", &boris.mailbox().to_b64()]).await;
    assert!(
        !text.contains("Přijďte sama") && text.contains("PODEZŘELÁ"),
        "{text}"
    );
    desk_fails(
        Some(&zlin_a),
        &["transfer", &boris.mailbox().to_b64(), "--to", "ic-praha"],
        "does not verify",
    )
    .await;

    // Petra leaves: once the new directory is out, she cannot sign in, new
    // messages are not sealed to her, and her old note still verifies.
    desk_ok(
        Some(&zlin_b),
        &[
            "note",
            &boris.mailbox().to_b64(),
            "--text",
            "Petřina poznámka",
        ],
    )
    .await;
    desk_ok(
        None,
        &[
            "admin",
            "staff-remove",
            "--draft",
            &operator.draft(),
            "--id",
            "zlin-b",
        ],
    )
    .await;
    operator.publish(&base).await;
    desk_fails(Some(&zlin_b), &["inbox"], "not in the current directory").await;
    let inbox = json(&desk_ok(Some(&zlin_a), &["inbox", "--json"]).await);
    assert!(
        inbox[0]["note_problem"].is_null(),
        "a former colleague's note verifies: {inbox}"
    );
    let view = json(
        &desk_ok(
            Some(&zlin_a),
            &["read", &boris.mailbox().to_b64(), "--json"],
        )
        .await,
    );
    assert_eq!(view["note"]["notes"][0]["text"], "Petřina poznámka");
    desk_ok(
        Some(&zlin_a),
        &["reply", &boris.mailbox().to_b64(), "--text", "Jsme tu."],
    )
    .await;
    let directory = boris.directory().await;
    assert!(
        directory
            .centre("ic-zlin")
            .expect("centre")
            .staff
            .iter()
            .all(|s| s.id != "zlin-b")
    );
    relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_message_is_shown_once_and_a_transferred_replay_stays_unchecked() {
    let deployment = Deployment::new(&[JANA, EVA]).await;
    let relay = &deployment.relay;
    let (zlin, praha) = (deployment.homes[0].clone(), deployment.homes[1].clone());
    let anna = deployment.person(7);
    anna.write_first("ic-zlin", CANARY).await;
    let id = anna.mailbox().to_b64();

    // Her first message delivered a second time (by the relay, or by anyone
    // who captured her request): the desk shows it once and flags the copy.
    anna.replay_first(relay).await;
    let view = json(&desk_ok(Some(&zlin), &["read", &id, "--json"]).await);
    let messages = view["messages"].as_array().expect("array");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["text"], CANARY);
    assert!(messages[0]["problem"].is_null());
    assert_eq!(messages[1]["text"], "", "the copy is not shown again");
    assert!(
        messages[1]["problem"]
            .as_str()
            .expect("flagged")
            .contains("REPLAY: a copy of message #1"),
        "{view}"
    );
    let text = desk_ok(Some(&zlin), &["read", &id]).await;
    assert_eq!(text.matches(CANARY).count(), 1, "{text}");
    assert!(text.contains("OPAKOVANÁ ZPRÁVA"), "{text}");

    // Transferred as it is, the thread stays "not yet checked" in Praha:
    // its history does not read cleanly, and no note of Praha's clears it.
    desk_ok(Some(&zlin), &["transfer", &id, "--to", "ic-praha"]).await;
    let view = json(&desk_ok(Some(&praha), &["read", &id, "--json"]).await);
    assert_eq!(view["entry"]["transfer_unchecked"], "ic-zlin", "{view}");
    let inbox = json(&desk_ok(Some(&praha), &["inbox", "--json"]).await);
    assert_eq!(inbox[0]["transfer_unchecked"], "ic-zlin", "{inbox}");
    desk_fails(
        Some(&praha),
        &["status", &id, "in_progress"],
        "its history does not verify",
    )
    .await;
    let text = desk_ok(Some(&praha), &["read", &id]).await;
    assert!(text.contains("DOSUD NEOVĚŘENA"), "{text}");
    relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    let deployment = Deployment::new(&[JANA]).await;
    let (operator, relay, home) = (&deployment.operator, &deployment.relay, deployment.home());

    // Wrong passphrase.
    let out = desk_with(Some(&home), &["inbox"], "not my passphrase").await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));
    // Unknown thread, by id and by prefix.
    desk_fails(
        Some(&home),
        &["read", &b64::encode(&[9u8; 16])],
        "no conversation",
    )
    .await;
    desk_fails(Some(&home), &["read", "zzzzzz"], "no conversation").await;
    desk_fails(Some(&home), &["status", "zzzzzz", "lost"], "unknown status").await;
    // A second init would overwrite the keys: refused.
    desk_fails(
        Some(&home),
        &[
            "init",
            "--relay",
            &relay.base,
            "--root-key",
            &operator.root_key,
        ],
        "already exists",
    )
    .await;
    // A bad root key or relay address at init.
    let other = deployment.dir.path().join("other");
    desk_fails(
        Some(&other),
        &["init", "--relay", &relay.base, "--root-key", "abc"],
        "root_key",
    )
    .await;
    desk_fails(
        Some(&other),
        &[
            "init",
            "--relay",
            "ftp://x",
            "--root-key",
            &operator.root_key,
        ],
        "https://",
    )
    .await;
    assert!(
        !other.join("staff.ozvi-keys").exists(),
        "nothing was created"
    );
    // A short passphrase for new keys.
    let out = desk_with(
        Some(&other),
        &[
            "init",
            "--relay",
            &relay.base,
            "--root-key",
            &operator.root_key,
        ],
        "short",
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10"));
    // Enrolling a request with a bad key.
    let bad = deployment.dir.path().join("bad-request.json");
    std::fs::write(&bad, r#"{"ozvi_enrolment":1,"x25519":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ed25519":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#).expect("write");
    let before = std::fs::read(operator.draft()).expect("draft");
    desk_fails(
        None,
        &[
            "admin",
            "staff-add",
            "--draft",
            &operator.draft(),
            "--centre",
            "ic-zlin",
            "--id",
            "x-1",
            "--label",
            "X",
            "--request",
            bad.to_str().expect("utf-8"),
        ],
        "invalid key",
    )
    .await;
    assert_eq!(
        std::fs::read(operator.draft()).expect("draft"),
        before,
        "the draft is unchanged"
    );

    // A corrupt keystore.
    let keystore = home.join("staff.ozvi-keys");
    let original = std::fs::read(&keystore).expect("keystore");
    let mut corrupt = original.clone();
    corrupt[3] ^= 0xff;
    std::fs::write(&keystore, &corrupt).expect("write");
    desk_fails(Some(&home), &["inbox"], "not an Ozvi keystore").await;
    let mut flipped = original.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    std::fs::write(&keystore, &flipped).expect("write");
    desk_fails(
        Some(&home),
        &["inbox"],
        "wrong passphrase, or the keystore file was altered",
    )
    .await;
    std::fs::write(&keystore, &original).expect("restore");
    desk_ok(Some(&home), &["inbox"]).await;

    // The relay is down.
    relay.handle.stop(true).await;
    desk_fails(Some(&home), &["inbox"], "cannot be reached").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_warns_a_week_before_a_quiet_thread_is_deleted() {
    // Retention of 10 days: a new thread is deleted in 10 days, no warning;
    // with 5 days it is within the week, and the inbox says when.
    for (days, warned) in [(10, false), (5, true)] {
        let deployment = Deployment::with_relay(&[JANA], |c| c.retention_days = days).await;
        let home = deployment.home();
        deployment.person(51).write_first("ic-zlin", "Pomoc.").await;
        let inbox = json(&desk_ok(Some(&home), &["inbox", "--json"]).await);
        let entry = &inbox[0];
        let expected = entry["last_activity"].as_u64().expect("time") + u64::from(days) * 86_400;
        assert_eq!(entry["expires_at"], expected, "{entry}");
        assert_eq!(entry["expires_soon"], warned, "{entry}");
        let text = desk_ok(Some(&home), &["inbox"]).await;
        assert_eq!(
            text.contains("⌛ bez další aktivity se smaže"),
            warned,
            "{text}"
        );
        deployment.relay.handle.stop(true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_templates_are_shared_by_the_centre_and_a_forged_set_is_refused() {
    let deployment = Deployment::new(&[JANA, PETRA, EVA]).await;
    let (jana, petra, eva) = (
        deployment.homes[0].clone(),
        deployment.homes[1].clone(),
        deployment.homes[2].clone(),
    );
    let defaults = json(&desk_ok(Some(&jana), &["templates", "--json"]).await);
    assert_eq!(defaults["stored"], false);
    let langs: Vec<&str> = defaults["templates"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| t["lang"].as_str().expect("lang"))
        .collect();
    assert_eq!(langs, ["cs", "en", "uk"], "built-in first answers");

    let file = deployment.dir.path().join("templates.json");
    std::fs::write(
        &file,
        r#"[{"id":"prvni","lang":"cs","title":"První","text":"Dobrý den, jsme IC Zlín. VZOR-1180"}]"#,
    )
    .expect("write");
    desk_ok(
        Some(&jana),
        &["templates", "--set", file.to_str().expect("utf-8")],
    )
    .await;
    let shared = json(&desk_ok(Some(&petra), &["templates", "--json"]).await);
    assert_eq!(shared["stored"], true);
    assert_eq!(
        shared["templates"][0]["text"],
        "Dobrý den, jsme IC Zlín. VZOR-1180"
    );
    let praha = json(&desk_ok(Some(&eva), &["templates", "--json"]).await);
    assert_eq!(praha["stored"], false, "Praha has its own: {praha}");

    // Bad input changes nothing.
    std::fs::write(
        &file,
        r#"[{"id":"Bad Id","lang":"cs","title":"T","text":"x"}]"#,
    )
    .expect("write");
    desk_fails(
        Some(&jana),
        &["templates", "--set", file.to_str().expect("utf-8")],
        "template ids",
    )
    .await;
    let still = json(&desk_ok(Some(&petra), &["templates", "--json"]).await);
    assert_eq!(still["templates"][0]["id"], "prvni");

    // A set sealed by a key the directory does not list, as a hostile relay
    // could store it: not believed, and said so.
    let directory = deployment.person(1).directory().await;
    let stranger = StaffKeys::generate(&mut os_rng());
    let forged = seal(
        &mut os_rng(),
        Signer::Staff(&stranger),
        Message {
            kind: Kind::StaffNote,
            mailbox: &ozvi_crypto::protocol::addressing::centre_record_mailbox("ic-zlin"),
            body: br#"{"templates":[{"id":"x","lang":"cs","title":"X","text":"Prijdte sama v noci."}]}"#,
            sent_at: 0,
        },
        &directory.centre("ic-zlin").expect("centre").staff_x25519(),
    )
    .expect("seals");
    let centre = ozvi_tests::relay::store::CentreId::parse("ic-zlin").expect("id");
    deployment
        .relay
        .state
        .store
        .put_centre_record(&centre, &forged, 0)
        .await
        .expect("stored");
    let view = json(&desk_ok(Some(&jana), &["templates", "--json"]).await);
    assert!(
        view["problem"]
            .as_str()
            .is_some_and(|p| p.contains("PODEZŘELÁ")),
        "{view}"
    );
    assert!(!view.to_string().contains("Prijdte sama"), "{view}");
    deployment.relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_conversation_can_be_kept() {
    let deployment = Deployment::with_relay(&[JANA], |c| c.retention_days = 5).await;
    let home = deployment.home();
    let anna = deployment.person(52);
    anna.write_first("ic-zlin", "Pomoc.").await;
    let id = anna.mailbox().to_b64();
    let before = deployment
        .relay
        .state
        .store
        .thread(&anna.mailbox())
        .await
        .expect("reads")
        .expect("a thread")
        .change;
    let out = desk_ok(Some(&home), &["keep", &id[..8]]).await;
    assert!(out.contains("Ponecháno"), "{out}");
    let after = deployment
        .relay
        .state
        .store
        .thread(&anna.mailbox())
        .await
        .expect("reads")
        .expect("kept");
    assert!(
        after.change > before,
        "the relay recorded it (a new change)"
    );
    desk_fails(
        Some(&home),
        &["keep", "zzzzzzzz"],
        "no conversation of your centre",
    )
    .await;
    deployment.relay.handle.stop(true).await;
}
