//! The desk's local web UI in headless Chromium (tests/browser/desk.mjs,
//! playwright-core with Debian's chromium; `cargo xtask test` installs both),
//! against a real relay; and the UI's guards against other sites, other
//! hosts and callers without the secret.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use ozvi_crypto::format::envelope::Kind;
use ozvi_desk::home::Home;
use serde_json::json;

const CANARY: &str = "Bojím se jít domů. PROHLÍŽEČ-5150";
const REPLY: &str = "Dobrý den, ozveme se dnes. ODPOVĚĎ-88";
const LIVE: &str = "Ještě jedna věc. ŽIVĚ-21";

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

fn start_desk(home: &std::path::Path) -> Desk {
    start_desk_locking_after(home, Duration::from_secs(600))
}

fn browser_ready() {
    let node_modules = browser_dir().join("node_modules/playwright-core");
    assert!(
        node_modules.exists() && std::path::Path::new("/usr/bin/chromium").exists(),
        "run `cargo xtask test`: it installs Debian's chromium and playwright-core"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_work_in_the_browser() {
    browser_ready();
    let deployment = Deployment::new(&[JANA]).await;
    let (relay, home) = (&deployment.relay, deployment.home());
    let anna = deployment.person(3);
    anna.write_first("ic-zlin", CANARY).await;
    // 60,000 characters without a break must not push the case panel off
    // the screen.
    let long = deployment.person(5);
    long.write_first("ic-zlin", &format!("DLOUHÁ-{}", "x".repeat(60_000)))
        .await;
    // In danger and written last: sorted by waiting time she would come
    // last; danger puts her first in either order.
    let olena = deployment.person(6);
    olena
        .write_first_with("ic-zlin", "Він зараз удома. OLENA-3307", "self", true, "uk")
        .await;

    let desk = start_desk(&home);
    let mut child = Command::new("node")
        .arg(browser_dir().join("desk.mjs"))
        .arg(&desk.url)
        .env("OZVI_PASSPHRASE", STAFF_PASS)
        .env("OZVI_THREAD_ID", anna.mailbox().to_b64())
        .env("OZVI_LONG_ID", long.mailbox().to_b64())
        .env("OZVI_DANGER_ID", olena.mailbox().to_b64())
        .env("OZVI_CANARY", CANARY)
        .env("OZVI_REPLY", REPLY)
        .env("OZVI_LIVE", LIVE)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut rx = script_lines(&mut child);
    let mut log = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(90), rx.recv())
        .await
        .expect("the browser script makes progress")
    {
        if line == "READY_FOR_LIVE" {
            anna.write_more(LIVE).await;
        }
        log.push(line);
    }
    node_succeeded(child, &log, "the browser story").await;
    for reached in [
        "step: axe-core finds nothing on the inbox",
        "step: a conversation opened with the keyboard",
        "step: danger first and flagged",
        "step: a template fills the reply",
    ] {
        assert!(
            log.iter().any(|l| l.starts_with(reached)),
            "the script ran to {reached:?}:\n{}",
            log.join("\n")
        );
    }

    // What the browser did reached the relay: the person verifies the reply;
    // the status and note are there for staff and not for her.
    let seen = anna.read_all().await;
    assert!(
        seen.iter()
            .any(|(_, kind, who, text)| *kind == Kind::StaffReply
                && who == "zlin-a"
                && text == REPLY),
        "{seen:?}"
    );
    assert!(!anna.listing().await.contains("note"));
    let view: serde_json::Value = serde_json::from_str(
        &desk_ok(Some(&home), &["read", &anna.mailbox().to_b64(), "--json"]).await,
    )
    .expect("json");
    assert_eq!(view["note"]["status"], "in_progress");
    let templates: serde_json::Value =
        serde_json::from_str(&desk_ok(Some(&home), &["templates", "--json"]).await).expect("json");
    assert_eq!(templates["stored"], true, "{templates}");
    assert_eq!(
        templates["templates"][0]["text"], "Dobrý den, tady IC Zlín. ŠABLONA-8841",
        "{templates}"
    );
    assert_eq!(view["note"]["notes"][0]["text"], "Interní: volat po 17.");
    desk.handle.stop(true).await;
    relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_cases_in_the_browser() {
    browser_ready();
    let deployment = Deployment::new(&[JANA, PETRA]).await;
    let (relay, jana, petra) = (
        &deployment.relay,
        deployment.homes[0].clone(),
        deployment.homes[1].clone(),
    );
    deployment
        .person(7)
        .write_first("ic-zlin", "Policie u nás byla včera.")
        .await;
    // A record that arrived three days ago and that nobody acted on.
    let now = ozvi_tests::person::now();
    let overdue = desk_ok(
        Some(&petra),
        &[
            "case",
            "open",
            "--entered",
            &(now - 75 * 3600).to_string(),
            "--received",
            &(now - 72 * 3600).to_string(),
            "--name",
            "OHROŽENÁ-5521",
        ],
    )
    .await
    .trim()
    .to_string();

    let desk = start_desk(&jana);
    let mut child = Command::new("node")
        .arg(browser_dir().join("cases.mjs"))
        .arg(&desk.url)
        .env("OZVI_PASSPHRASE", STAFF_PASS)
        .env("OZVI_OVERDUE_ID", &overdue)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut rx = script_lines(&mut child);
    let mut log = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(90), rx.recv())
        .await
        .expect("the browser script makes progress")
    {
        if line == "READY_FOR_LIVE" {
            // Her colleague logs a letter on the case Jana has open.
            desk_ok(
                Some(&petra),
                &[
                    "case",
                    "attempt",
                    &overdue,
                    "--channel",
                    "letter",
                    "--outcome",
                    "no_answer",
                    "--text",
                    "ŽIVĚ-DOPIS-77",
                ],
            )
            .await;
        }
        log.push(line);
    }
    node_succeeded(child, &log, "the cases story").await;
    // What the browser registered is the centre's, for her colleague too.
    let cases: serde_json::Value =
        serde_json::from_str(&desk_ok(Some(&petra), &["cases", "--json"]).await).expect("json");
    let new = cases
        .as_array()
        .and_then(|all| all.iter().find(|c| c["record"]["name"] == "NOVÁ-3390"))
        .unwrap_or_else(|| panic!("the case registered in the browser: {cases}"));
    assert_eq!(new["contacted_in_time"], true, "{new}");
    assert_eq!(new["safe_contact"]["times"], "jen dopoledne", "{new}");
    desk.handle.stop(true).await;
    relay.handle.stop(true).await;
}

#[tokio::test]
async fn the_ui_refuses_other_hosts_other_origins_and_callers_without_the_secret() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tmp.path().join("home");
    Home::new(&home)
        .save_settings(&ozvi_desk::home::Settings {
            relay: "http://127.0.0.1:9".into(),
            root_key: "unused".into(),
        })
        .expect("settings");
    let desk = start_desk(&home);
    let token = desk.page_token().await;
    assert!(token.len() >= 43, "a 256-bit secret");
    let http = ozvi_tests::http::client();
    let state = format!("{}/api/state", desk.base);

    let ok = http
        .get(&state)
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.json::<serde_json::Value>().await.expect("json")["unlocked"],
        false
    );

    let r = http.get(&state).send().await.expect("request");
    assert_eq!(r.status(), 401, "no secret");
    let r = http
        .get(&state)
        .bearer_auth("x".repeat(43))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401, "a wrong secret");
    let r = http
        .get(&state)
        .bearer_auth(&token)
        .header("Host", "evil.example:80")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403, "a foreign Host (DNS rebinding)");
    let r = http
        .get(format!("{}/", desk.base))
        .header("Host", "evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403, "even the page needs the right Host");
    let r = http
        .post(format!("{}/api/unlock", desk.base))
        .bearer_auth(&token)
        .header("Origin", "https://evil.example")
        .json(&json!({"passphrase": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403, "a foreign Origin");
    let r = http
        .post(format!("{}/api/unlock", desk.base))
        .bearer_auth(&token)
        .header("Content-Type", "text/plain")
        .body(r#"{"passphrase":"x"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 415, "only JSON (a form post cannot carry it)");
    let r = http
        .post(format!("{}/api/unlock", desk.base))
        .bearer_auth(&token)
        .json(&json!({"passphrase": 5}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400, "malformed JSON is refused");
    let r = http
        .post(format!("{}/api/reply", desk.base))
        .bearer_auth(&token)
        .json(&json!({"id": "abcdef", "text": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400, "not the staff member's own action");
    let r = http
        .post(format!("{}/api/reply", desk.base))
        .bearer_auth(&token)
        .header("Ozvi-Intent", "user")
        .json(&json!({"id": "abcdef", "text": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401, "locked");
    assert_eq!(
        r.json::<serde_json::Value>().await.expect("json")["locked"],
        true
    );

    let page = http
        .get(format!("{}/", desk.base))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    // The same hardening headers as the relay's (one list in ozvi-api).
    for (name, value) in ozvi_api::headers::security::EVERY_RESPONSE {
        assert_eq!(
            page.headers().get(*name).and_then(|v| v.to_str().ok()),
            Some(*value),
            "{name} on the desk's page"
        );
    }
    assert!(page.headers().get("access-control-allow-origin").is_none());
    assert!(page.headers().get("set-cookie").is_none());
    desk.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_locks_itself_after_inactivity() {
    let deployment = Deployment::new(&[JANA]).await;
    let (relay, home) = (&deployment.relay, deployment.home());
    let desk = start_desk_locking_after(&home, Duration::from_secs(2));
    let token = desk.page_token().await;
    let http = ozvi_tests::http::client();
    let unlock = http
        .post(format!("{}/api/unlock", desk.base))
        .bearer_auth(&token)
        .json(&json!({"passphrase": STAFF_PASS}))
        .send()
        .await
        .expect("request");
    assert_eq!(unlock.status(), 200);
    let inbox = http
        .get(format!("{}/api/inbox", desk.base))
        .bearer_auth(&token)
        .header("Ozvi-Intent", "user")
        .send()
        .await
        .expect("request");
    assert_eq!(inbox.status(), 200, "unlocked");
    tokio::time::sleep(Duration::from_secs(8)).await;
    let inbox = http
        .get(format!("{}/api/inbox", desk.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(inbox.status(), 401, "locked after inactivity");
    let state: serde_json::Value = http
        .get(format!("{}/api/state", desk.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(state["unlocked"], false);
    desk.handle.stop(true).await;
    relay.handle.stop(true).await;
}

/// The person keeps writing to an unattended desk: it locks on the staff
/// member's own inactivity anyway, the page then holds nothing decrypted,
/// and what arrived while nobody looked stays unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unattended_desk_locks_while_she_writes_and_marks_nothing_read() {
    browser_ready();
    let deployment = Deployment::new(&[JANA]).await;
    let (relay, home) = (&deployment.relay, deployment.home());
    let anna = deployment.person(6);
    anna.write_first("ic-zlin", CANARY).await;

    let desk = start_desk_locking_after(&home, Duration::from_secs(6));
    let mut child = Command::new("node")
        .arg(browser_dir().join("desk-lock.mjs"))
        .arg(&desk.url)
        .env("OZVI_PASSPHRASE", STAFF_PASS)
        .env("OZVI_CANARY", CANARY)
        .env("OZVI_THREAD_ID", anna.mailbox().to_b64())
        .env("OZVI_LIVE", "NIKDO-NEČETL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut rx = script_lines(&mut child);
    let mut log = Vec::new();
    let mut writing = false;
    let mut written = 0u64;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        assert!(std::time::Instant::now() < deadline, "{log:?}");
        match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
            Ok(Some(line)) => {
                if line == "READY_FOR_MESSAGES" {
                    writing = true;
                }
                if line == "LOCKED" {
                    writing = false;
                }
                log.push(line);
            }
            Ok(None) => break,
            Err(_) => {}
        }
        // Every two seconds, for as long as the page is open and unlocked
        // (at most 40 messages).
        if writing && written < 40 {
            written += 1;
            anna.write_more(&format!("NIKDO-NEČETL {written}")).await;
        }
    }
    node_succeeded(child, &log, "the unattended desk").await;
    assert!(written >= 3, "she wrote while the desk was open: {written}");

    // She opened the first message herself: read. Nobody looked at the rest.
    let inbox: serde_json::Value =
        serde_json::from_str(&desk_ok(Some(&home), &["inbox", "--json"]).await).expect("json");
    assert_eq!(inbox[0]["unread"], written, "{log:?}");
    desk.handle.stop(true).await;
    relay.handle.stop(true).await;
}

#[test]
fn the_ui_listens_only_on_loopback() {
    let listener = TcpListener::bind("0.0.0.0:0").expect("bind");
    let home = tempfile::tempdir().expect("dir");
    let refused = ozvi_desk::web::start(Home::new(home.path()), listener, Duration::from_secs(60));
    assert!(refused.is_err());
}

/// A valid 1×1 PNG: the browser must decode it from the desk's blob: URL.
const PNG_1X1: [u8; 70] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f,
    0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_files_in_the_browser() {
    use ozvi_crypto::primitives::rng::os_rng;
    use ozvi_crypto::protocol::file;
    use std::os::unix::fs::PermissionsExt;

    browser_ready();
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let anna = deployment.person(7);
    anna.write_first("ic-zlin", "Posílám fotku a dokument.")
        .await;
    let mailbox = anna.mailbox();
    let doc = b"%PDF-1.4\n%%EOF\n".to_vec();
    let photo = file::seal(
        &mut os_rng(),
        &mailbox,
        &PNG_1X1,
        "image/png",
        Some((1, 1)),
        None,
    )
    .expect("seals");
    let pdf = file::seal(
        &mut os_rng(),
        &mailbox,
        &doc,
        "application/pdf",
        None,
        Some("rozsudek.pdf"),
    )
    .expect("seals");
    assert_eq!(anna.upload_file(&photo).await, 204);
    assert_eq!(anna.upload_file(&pdf).await, 204);
    anna.write_more_with_files(
        &json!({"text": "Tady.", "files": [photo.reference.to_json(), pdf.reference.to_json(),
                                            {"id": "neplatné"}]}),
        &[photo.reference.id, pdf.reference.id],
    )
    .await;
    let leaflet = deployment.dir.path().join("Leták IC Zlín.pdf");
    std::fs::write(&leaflet, b"%PDF-1.7\nletak\n").expect("write");

    let desk = start_desk(&home);
    let mut child = Command::new("node")
        .arg(browser_dir().join("desk-files.mjs"))
        .arg(&desk.url)
        .env("OZVI_PASSPHRASE", STAFF_PASS)
        .env("OZVI_THREAD_ID", mailbox.to_b64())
        .env("OZVI_ATTACH", &leaflet)
        .env("OZVI_REPLY", "Posíláme leták. LETÁK-12")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut rx = script_lines(&mut child);
    let mut log = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(90), rx.recv())
        .await
        .expect("the browser script makes progress")
    {
        log.push(line);
    }
    node_succeeded(child, &log, "attached files in the browser").await;

    // "Uložit" wrote the PDF, verified, into the desk's folder, privately.
    let saved = log
        .iter()
        .find_map(|l| l.strip_prefix("SAVED "))
        .expect("a saved path");
    let saved = PathBuf::from(saved);
    assert_eq!(saved, home.join("prilohy").join("rozsudek.pdf"));
    assert_eq!(std::fs::read(&saved).expect("saved"), doc);
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!((mode(&saved), mode(&home.join("prilohy"))), (0o600, 0o700));
    // Only what she chose to save is on disk: the photo was shown, not written.
    let on_disk: Vec<_> = std::fs::read_dir(home.join("prilohy"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");

    // Her side opens the leaflet the browser attached.
    let bodies = anna.read_bodies().await;
    let body = &bodies.last().expect("the reply").3;
    assert_eq!(body["text"], "Posíláme leták. LETÁK-12");
    let refs = file::FileRef::from_body(body).expect("files");
    let reference = refs[0].as_ref().expect("valid");
    assert_eq!(reference.name.as_deref(), Some("Leták IC Zlín.pdf"));
    let (status, blob) = anna.download_file(&reference.id).await;
    assert_eq!(status, 200);
    assert_eq!(
        &*file::open(&mailbox, reference, &blob).expect("opens"),
        b"%PDF-1.7\nletak\n"
    );
    desk.handle.stop(true).await;
    deployment.relay.handle.stop(true).await;
}
