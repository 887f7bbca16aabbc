//! The desk's local web server under attack from another local process:
//! every spelling of every API path without the page's token, the launch
//! secret's single use, online passphrase guessing, and background
//! requests that must neither keep the desk unlocked nor mark anything
//! read. Raw HTTP over TCP, so that no client library normalises the paths.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request exactly as written; returns the status and the body.
async fn raw(
    desk: &Desk,
    method: &str,
    target: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(desk.addr)
        .await
        .expect("connect");
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        desk.addr
    );
    if let Some(token) = auth {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if method != "GET" {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the desk answers")
        .expect("read");
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

/// Every way of writing `path` that a router or a proxy might take for it.
fn spellings(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = path.as_bytes();
    // Each character percent-encoded on its own (upper and lower hex), and
    // double-encoded.
    for i in 0..bytes.len() {
        let (head, tail) = (&path[..i], &path[i + 1..]);
        let b = bytes[i];
        out.push(format!("{head}%{b:02X}{tail}"));
        out.push(format!("{head}%{b:02x}{tail}"));
        out.push(format!("{head}%25{b:02X}{tail}"));
    }
    // Every character encoded; every letter in upper case; one letter.
    out.push(bytes.iter().map(|b| format!("%{b:02X}")).collect());
    out.push(path.to_uppercase());
    for i in 1..path.len() {
        if bytes[i].is_ascii_lowercase() {
            let mut s = path.to_string();
            s.replace_range(i..=i, &path[i..=i].to_uppercase());
            out.push(s);
        }
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (first, rest) = (segments[0], segments[1..].join("/"));
    let slash_rest = if rest.is_empty() {
        String::new()
    } else {
        format!("/{rest}")
    };
    for (pre, mid) in [
        ("//", "/"),
        ("/", "//"),
        ("/./", "/"),
        ("/", "/./"),
        ("/x/../", "/"),
        ("/", "/x/../"),
        ("/%2e/", "/"),
        ("/", "/%2e/"),
        ("/x/%2e%2e/", "/"),
        ("/", "/x/%2e%2e/"),
        ("/x/%2E%2E/", "/"),
        ("///", "///"),
        ("/", "%2f"),
        ("/", "%2F"),
        ("/", "%5c"),
        ("/", "\\"),
        ("/", ";/"),
        ("/", "/;x/"),
        ("/", "%00/"),
    ] {
        if rest.is_empty() {
            out.push(format!("{pre}{first}"));
        } else {
            out.push(format!("{pre}{first}{mid}{rest}"));
        }
    }
    for suffix in [
        "/", "//", "/.", "/./", "/x/..", "?", "?x=1", "?since=0", "#x", "%23", "%3f", ";", ";x",
        "%00", "%20", "%09", "/%2e", ".", "..", "%2f",
    ] {
        out.push(format!("{path}{suffix}"));
    }
    out.push(format!("/{first}{slash_rest}").replace('/', "%2f"));
    out.push(format!("/static/..{path}"));
    out.push(format!("/app.js/..{path}"));
    out.push(format!("/%2e%2e{path}"));
    out
}

/// A refusal by the guard (or a 404 / the HTTP layer's 400), never a
/// handler's answer: a handler answers 2xx or a JSON body with `locked`,
/// `unlocked`, `token` or an error other than the guard's.
fn refused_before_any_handler(status: u16, body: &str) -> Result<(), String> {
    if (200..300).contains(&status) {
        return Err(format!("{status} {body}"));
    }
    if body.contains("locked") || body.contains("token") || body.contains("passphrase") {
        return Err(format!("a handler answered: {status} {body}"));
    }
    match status {
        400 | 404 | 405 => Ok(()),
        401 if body.contains("open the desk from the address") => Ok(()),
        403 | 415 => Ok(()),
        _ => Err(format!("unexpected: {status} {body}")),
    }
}

fn home_without_relay(dir: &std::path::Path) -> std::path::PathBuf {
    let home = dir.join("home");
    ozvi_desk::home::Home::new(&home)
        .save_settings(&ozvi_desk::home::Settings {
            relay: "http://127.0.0.1:9".into(),
            root_key: "unused".into(),
        })
        .expect("settings");
    home
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spelling_of_an_api_path_reaches_a_handler_without_the_token() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let desk = start_desk_locking_after(&home_without_relay(tmp.path()), Duration::from_secs(600));
    let launch = desk.launch();

    // The harness sees a handler when one answers: the real path with the
    // token reaches it.
    let token = desk.page_token().await;
    let (status, body) = raw(&desk, "GET", "/api/state", Some(&token), "").await;
    assert_eq!((status, body.contains("unlocked")), (200, true), "{body}");

    let routes = [
        ("GET", "/api/state", ""),
        ("GET", "/api/inbox", ""),
        ("GET", "/api/wait", ""),
        (
            "POST",
            "/api/unlock",
            r#"{"passphrase":"hádám heslo 1234"}"#,
        ),
        ("POST", "/api/lock", "{}"),
        ("POST", "/api/activity", "{}"),
        ("POST", "/api/thread", r#"{"id":"abcdefgh"}"#),
        ("POST", "/api/read", r#"{"id":"abcdefgh","seq":1}"#),
        ("POST", "/api/reply", r#"{"id":"abcdefgh","text":"x"}"#),
        ("POST", "/api/note", r#"{"id":"abcdefgh","text":"x"}"#),
        (
            "POST",
            "/api/status",
            r#"{"id":"abcdefgh","status":"closed"}"#,
        ),
        (
            "POST",
            "/api/her-state",
            r#"{"id":"abcdefgh","state":"waiting","note":""}"#,
        ),
        ("POST", "/api/assign", r#"{"id":"abcdefgh","staff":null}"#),
        (
            "POST",
            "/api/transfer",
            r#"{"id":"abcdefgh","to":"ic-praha"}"#,
        ),
        ("POST", "/api/export", r#"{"id":"abcdefgh"}"#),
        ("POST", "/session", "{}"),
    ];
    let mut failures = Vec::new();
    let mut tried = 0;
    for (method, path, body) in routes {
        let mut targets = spellings(path);
        targets.push(path.to_string());
        targets.push(format!("http://{}{path}", desk.addr));
        for target in targets {
            // No secret at all; the launch secret where the page token is
            // needed (spent anyway by now); a wrong one.
            for auth in [None, Some(launch.as_str()), Some("AAAA")] {
                tried += 1;
                let (status, answer) = raw(&desk, method, &target, auth, body).await;
                if let Err(why) = refused_before_any_handler(status, &answer) {
                    failures.push(format!("{method} {target} (auth {auth:?}): {why}"));
                }
            }
        }
    }
    assert!(tried > 1500, "{tried}");
    assert!(
        failures.is_empty(),
        "{} of {tried} got through:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The canonical path, the percent-decoded one and the page token: still
    // works (the guard is on the routed path, not just refusing oddities).
    let (status, _) = raw(&desk, "GET", "/%61pi/state", Some(&token), "").await;
    assert_eq!(status, 200);
    // The static assets need no token, and only they.
    for asset in ["/", "/app.js", "/app.css"] {
        assert_eq!(raw(&desk, "GET", asset, None, "").await.0, 200, "{asset}");
    }
    for other in ["/favicon.ico", "/index.html", "/app.js/", "/%61pp.js"] {
        let (status, body) = raw(&desk, "GET", other, None, "").await;
        assert!(
            refused_before_any_handler(status, &body).is_ok() && status != 200,
            "{other}: {status}"
        );
    }
    desk.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opening_secret_works_once_and_the_page_token_lives_only_in_the_page() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let desk = start_desk_locking_after(&home_without_relay(tmp.path()), Duration::from_secs(600));
    let launch = desk.launch();
    let http = ozvi_tests::http::client();
    let state = format!("{}/api/state", desk.base);

    // Before it is spent, the launch secret is not an API token either.
    let r = http
        .get(&state)
        .bearer_auth(&launch)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401, "the launch secret is not the page token");

    let token = desk.page_token().await;
    assert_ne!(token, launch);
    let r = http
        .get(&state)
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);

    // The URL from the history, used again: nothing.
    let again = http
        .post(format!("{}/session", desk.base))
        .bearer_auth(&launch)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 401, "the opening URL is single-use");
    let r = http
        .get(&state)
        .bearer_auth(&launch)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    // A page token cannot open a second page.
    let r = http
        .post(format!("{}/session", desk.base))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);

    // A new URL (Enter in `ozvi-desk serve`) opens a new page; the old
    // page's token then stops working.
    let url = (desk.new_url)();
    let second = url.split("#k=").nth(1).expect("secret").to_string();
    let r = http
        .post(format!("{}/session", desk.base))
        .bearer_auth(&second)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let new_token = r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let r = http
        .get(&state)
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401, "the previous page's token is revoked");
    let r = http
        .get(&state)
        .bearer_auth(&new_token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    desk.handle.stop(true).await;
}

struct Unlocked {
    deployment: Deployment,
    desk: Desk,
    token: String,
    anna: Person,
    home: std::path::PathBuf,
}

/// A relay, an enrolled staff member, a person's thread, and a desk.
async fn desk_with_a_thread(lock_after: Duration) -> Unlocked {
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let anna = deployment.person(7);
    anna.write_first("ic-zlin", "První zpráva.").await;
    let desk = start_desk_locking_after(&home, lock_after);
    let token = desk.page_token().await;
    Unlocked {
        deployment,
        desk,
        token,
        anna,
        home,
    }
}

async fn unlock(http: &reqwest::Client, u: &Unlocked, passphrase: &str) -> reqwest::Response {
    http.post(format!("{}/api/unlock", u.desk.base))
        .bearer_auth(&u.token)
        .header("Ozvi-Intent", "user")
        .json(&json!({ "passphrase": passphrase }))
        .send()
        .await
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passphrases_are_slowed_down_exponentially() {
    let u = desk_with_a_thread(Duration::from_secs(600)).await;
    let http = ozvi_tests::http::client();
    let free = ozvi_desk::web::FREE_UNLOCK_FAILURES;
    for i in 0..free {
        let r = unlock(&http, &u, &format!("hádám heslo {i}")).await;
        assert_eq!(r.status(), 401, "a typing mistake is just refused");
    }
    // The next attempt right away — even with the right passphrase — is
    // refused without being tried.
    let r = unlock(&http, &u, STAFF_PASS).await;
    assert_eq!(r.status(), 429, "attempt {} is delayed", free + 1);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["retry_after"], 1);
    // Several at once: only one can be under way, none is tried early.
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            unlock(
                &http,
                &u,
                if i == 0 {
                    STAFF_PASS
                } else {
                    "hádám heslo x"
                },
            )
        })
        .collect();
    for r in futures_util::future::join_all(attempts).await {
        assert_eq!(r.status(), 429);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = unlock(&http, &u, "hádám heslo znovu").await;
    assert_eq!(r.status(), 401);
    // Each further failure doubles the wait.
    let r = unlock(&http, &u, STAFF_PASS).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // After the wait the right passphrase works, and the count starts over.
    let r = unlock(&http, &u, STAFF_PASS).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    u.desk.handle.stop(true).await;
    u.deployment.relay.handle.stop(true).await;
}

async fn unread(home: &std::path::Path) -> u64 {
    let inbox: Value =
        serde_json::from_str(&desk_ok(Some(home), &["inbox", "--json"]).await).expect("json");
    inbox[0]["unread"].as_u64().expect("unread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_updates_neither_keep_the_desk_unlocked_nor_mark_anything_read() {
    let lock_after = Duration::from_secs(3);
    let u = desk_with_a_thread(lock_after).await;
    let http = ozvi_tests::http::client();
    assert_eq!(unlock(&http, &u, STAFF_PASS).await.status(), 200);
    let id = u.anna.mailbox().to_b64();

    // Viewing the thread in the background (a live update), and even as her
    // own request, marks nothing read; only `/api/read`, as her action, does.
    let mut last_user = Instant::now();
    for intent in ["background", "user"] {
        last_user = Instant::now();
        let r = http
            .post(format!("{}/api/thread", u.desk.base))
            .bearer_auth(&u.token)
            .header("Ozvi-Intent", intent)
            .json(&json!({ "id": id }))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        unread(&u.home).await,
        1,
        "showing a thread marks nothing read"
    );
    let r = http
        .post(format!("{}/api/read", u.desk.base))
        .bearer_auth(&u.token)
        .header("Ozvi-Intent", "background")
        .json(&json!({ "id": id, "seq": 1 }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400, "a background request cannot mark read");
    assert_eq!(unread(&u.home).await, 1);

    // She writes every second; the page follows in the background. The
    // desk still locks on the staff member's own inactivity.
    let started = Instant::now();
    let mut locked_after = None;
    let mut written = 0;
    while started.elapsed() < lock_after * 4 {
        u.anna.write_more("Jste tam?").await;
        written += 1;
        let inbox = http
            .get(format!("{}/api/inbox", u.desk.base))
            .bearer_auth(&u.token)
            .header("Ozvi-Intent", "background")
            .send()
            .await
            .expect("request");
        let thread = http
            .post(format!("{}/api/thread", u.desk.base))
            .bearer_auth(&u.token)
            .json(&json!({ "id": id }))
            .send()
            .await
            .expect("request");
        if inbox.status() == 401 && thread.status() == 401 {
            locked_after = Some(last_user.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let locked_after = locked_after.expect("the desk locked despite her messages");
    assert!(
        locked_after >= lock_after - Duration::from_millis(500),
        "{locked_after:?}"
    );
    let state: Value = http
        .get(format!("{}/api/state", u.desk.base))
        .bearer_auth(&u.token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(state["unlocked"], false);
    assert_eq!(
        unread(&u.home).await,
        1 + written,
        "what nobody looked at stays unread"
    );

    // Her own actions do keep it unlocked.
    assert_eq!(unlock(&http, &u, STAFF_PASS).await.status(), 200);
    let started = Instant::now();
    while started.elapsed() < lock_after * 2 {
        let r = http
            .post(format!("{}/api/activity", u.desk.base))
            .bearer_auth(&u.token)
            .header("Ozvi-Intent", "user")
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "her activity keeps it unlocked");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    u.desk.handle.stop(true).await;
    u.deployment.relay.handle.stop(true).await;
}
