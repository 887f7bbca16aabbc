//! The person's page (web-client/, built by `cargo xtask web`) in headless
//! Chromium against a real relay that serves it, with the centre's side
//! played by the desk: first contact → code → the desk reads and replies →
//! the reply arrives live and verified → return with the code → write again
//! → delete → the code opens nothing. Then: no traces in the browser, no
//! request to another origin, history not grown, the quick exit, axe-core
//! on every screen in every language, and the relay going down.
//! The browser side is tests/browser/person.mjs.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const CANARY: &str = "Manžel mi bere peníze a zamyká mě. STRÁNKA-7310";
const REPLY: &str = "Dobrý den, jsme tu pro vás. Můžete psát kdykoli. ODPOVĚĎ-4412";
const MORE: &str = "Děkuji. Napíšu zítra. DALŠÍ-2290";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_writes_gets_a_reply_returns_and_deletes_in_the_browser() {
    let dist = repo().join("web-client/dist");
    assert!(
        dist.join("pkg/ozvi_web_bg.wasm").is_file()
            && repo().join("tests/browser/node_modules/axe-core").is_dir(),
        "run `cargo xtask test`: it builds web-client/dist and installs the browser packages"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let operator = Operator::new(&tmp.path().join("operator")).await;
    let relay = start_relay_serving(
        &tmp.path().join("relay-data"),
        &operator.root_key,
        Some(&dist),
    )
    .await;
    let home = staff_home(&tmp.path().join("zlin-a"), &relay.base, &operator.root_key).await;
    operator.sample().await;
    operator.enrol(&home, "ic-zlin", "zlin-a", "Jana").await;
    operator.publish(&relay.base).await;

    let mut child = Command::new("node")
        .arg(repo().join("tests/browser/person.mjs"))
        .arg(&relay.base)
        .env("OZVI_CANARY", CANARY)
        .env("OZVI_REPLY", REPLY)
        .env("OZVI_MORE", MORE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut to_script = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    let mut relay_handle = Some(relay.handle.clone());
    while let Some(line) = tokio::time::timeout(Duration::from_secs(180), rx.recv())
        .await
        .expect("the browser script makes progress")
    {
        match line.as_str() {
            "CREATED" => {
                // The centre's side: the thread is in the inbox with her
                // form answers; the desk replies.
                let inbox: serde_json::Value =
                    serde_json::from_str(&desk_ok(Some(&home), &["inbox", "--json"]).await)
                        .expect("json");
                let threads = inbox.as_array().expect("a list");
                assert_eq!(threads.len(), 1, "{inbox}");
                let id = threads[0]["id"].as_str().expect("id").to_string();
                let view: serde_json::Value =
                    serde_json::from_str(&desk_ok(Some(&home), &["read", &id, "--json"]).await)
                        .expect("json");
                let first = &view["messages"][0];
                assert_eq!(first["text"], CANARY, "{view}");
                assert_eq!(first["intake"]["region"], "CZ-72", "{view}");
                assert_eq!(first["intake"]["danger_now"], true, "{view}");
                assert_eq!(first["intake"]["role"], "self", "{view}");
                assert_eq!(
                    first["intake"]["violence"],
                    serde_json::json!(["psychological", "physical"]),
                    "{view}"
                );
                desk_ok(Some(&home), &["reply", &id, "--text", REPLY]).await;
                writeln!(to_script, "REPLIED").expect("write");
            }
            "STOP_RELAY" => {
                if let Some(handle) = relay_handle.take() {
                    handle.stop(true).await;
                }
                writeln!(to_script, "STOPPED").expect("write");
            }
            _ => {}
        }
        println!("{line}");
        log.push(line);
    }
    drop(to_script);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("node exits");
    assert!(
        output.status.success(),
        "the person's story failed:\n{}\n{}",
        log.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        log.iter().any(|l| l.starts_with("step: relay down")),
        "the script ran to its end:\n{}",
        log.join("\n")
    );
}
