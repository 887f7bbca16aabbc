//! Staff notifications through a real SMTP server on loopback (aiosmtpd,
//! STARTTLS required, a login): the real relay binary sends each staff
//! member a mail of their own, with the fixed subject and a body of one
//! length, holding none of the conversation's canaries; nothing new means
//! no mail; a refused login is a failure staff can see, and neither the
//! password nor an address reaches the log.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ozvi_api::routes::paths;
use ozvi_crypto::StaffKeys;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::request::RequestAuth;
use ozvi_tests::cast::Cast;
use ozvi_tests::person::Person;
use ozvi_tests::programs::{binary, text};
use ozvi_tests::relay::RelayProcess;
use ozvi_tests::smtp::{PASSWORD, SmtpServer};

const CANARY: &str = "Manžel mi vyhrožuje nožem. KANÁR-4471";
const JANA: &str = "jana.novakova@pomoc.test";
const PETRA: &str = "petra.svobodova@pomoc.test";

/// `ozvi-relay --data DATA notify`: (success, what it printed).
fn notify_now(data: &Path) -> (bool, String) {
    let out = Command::new(binary("ozvi-relay"))
        .arg("--data")
        .arg(data)
        .arg("notify")
        .output()
        .expect("runs");
    (out.status.success(), text(&out))
}

/// The relay with `[notify]` for `smtp` (logging in with `password`), Zlín
/// with two recipients.
fn start(dir: &Path, cast: &Cast, smtp: &SmtpServer, password: &str) -> RelayProcess {
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "pow_difficulty = 0\nmetrics_listen = \"off\"\n{}",
            smtp.notify_toml(password, &[("ic-zlin", &[JANA, PETRA])])
        ),
    )
    .expect("write");
    cast.write_directory(&dir.join("directory.json"));
    RelayProcess::start(
        [
            OsStr::new("--data"),
            dir.join("data").as_os_str(),
            OsStr::new("--config"),
            config.as_os_str(),
            OsStr::new("--root-key"),
            OsStr::new(&cast.root_key()),
            OsStr::new("--directory"),
            dir.join("directory.json").as_os_str(),
        ],
        &[],
        &dir.join("relay.log"),
    )
}

/// The staff member's signed `GET /api/v1/staff/notifications`.
async fn health(relay: &RelayProcess, cast: &Cast, staff: &StaffKeys) -> serde_json::Value {
    let auth = RequestAuth::sign(
        &mut os_rng(),
        staff,
        &cast.directory.salt,
        "GET",
        paths::STAFF_NOTIFICATIONS,
        b"",
        ozvi_tests::person::now(),
    )
    .expect("signs");
    let mut request = ozvi_tests::http::Http::new().get(relay.url(paths::STAFF_NOTIFICATIONS));
    for (name, value) in auth.to_headers() {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_staff_member_gets_a_content_free_digest_of_one_shape() {
    let dir = tempfile::tempdir().expect("temp dir");
    let smtp = SmtpServer::start(dir.path());
    let (cast, staff) = Cast::zlin(13, 1);
    let relay = start(dir.path(), &cast, &smtp, PASSWORD);
    let data = dir.path().join("data");

    // Nothing has happened: no mail (all_quiet is off).
    let (ok, report) = notify_now(&data);
    assert!(ok, "{report}");
    assert!(report.contains("ic-zlin sent 0"), "{report}");
    assert!(smtp.mails().is_empty());

    let anna = Person::new(31, &relay.base, &cast.root_key());
    anna.write_first("ic-zlin", CANARY).await;
    let (ok, report) = notify_now(&data);
    assert!(ok && report.contains("ic-zlin sent 2"), "{report}");
    let mails = smtp.wait_for(2, Duration::from_secs(10));
    assert_eq!(mails.len(), 2, "one mail per staff member");
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.envelope_to.clone()).collect();
    to.sort();
    assert_eq!(to, [JANA, PETRA], "each mail has one recipient");
    let subject = mails[0].header("Subject").expect("a subject");
    let length = mails[0].body().len();
    let mailbox = anna.mailbox().to_b64();
    for mail in &mails {
        assert_eq!(
            mail.header("Subject"),
            Some(subject.clone()),
            "one fixed subject"
        );
        assert_eq!(mail.body().len(), length, "one body length");
        assert!(mail.header("Cc").is_none() && mail.header("Bcc").is_none());
        for secret in [
            CANARY,
            "KANÁR",
            &mailbox,
            "CZ-72",
            "Centrum ic-zlin",
            "ic-zlin",
        ] {
            assert!(!mail.raw.contains(secret), "{secret:?} in:\n{}", mail.raw);
        }
    }
    let decoded = decode_body(&mails[0]);
    assert!(
        decoded.contains("ANO / YES"),
        "new activity is reported: {decoded}"
    );

    // Nothing new since: no further mail.
    let (ok, report) = notify_now(&data);
    assert!(ok && report.contains("ic-zlin sent 0"), "{report}");
    assert_eq!(smtp.mails().len(), 2);

    let h = health(&relay, &cast, &staff[0]).await;
    assert_eq!(h["configured"], true, "{h}");
    assert_eq!(h["failing"], false, "{h}");
    assert!(h["last_success"].as_u64().is_some(), "{h}");

    let log = std::fs::read_to_string(dir.path().join("relay.log")).expect("log");
    for secret in [PASSWORD, JANA, PETRA, CANARY, &mailbox] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_is_a_failure_staff_see_and_nothing_leaks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let smtp = SmtpServer::start(dir.path());
    let (cast, staff) = Cast::zlin(14, 1);
    let wrong = "not-the-password";
    let relay = start(dir.path(), &cast, &smtp, wrong);
    let anna = Person::new(32, &relay.base, &cast.root_key());
    anna.write_first("ic-zlin", CANARY).await;

    let (ok, report) = notify_now(&dir.path().join("data"));
    assert!(ok, "{report}");
    assert!(report.contains("ic-zlin failed authentication"), "{report}");
    assert!(smtp.mails().is_empty(), "nothing was accepted");
    let h = health(&relay, &cast, &staff[0]).await;
    assert_eq!(h["failing"], true, "{h}");
    assert_eq!(h["failure"], "authentication", "{h}");
    assert!(h["last_success"].is_null(), "{h}");

    let log = std::fs::read_to_string(dir.path().join("relay.log")).expect("log");
    assert!(log.contains("notification not delivered"), "{log}");
    for secret in [wrong, PASSWORD, JANA, PETRA, "127.0.0.1"] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

/// The body, decoded if it is base64 (quoted-printable keeps ASCII words
/// as they are, which is all the test reads).
fn decode_body(mail: &ozvi_tests::smtp::Mail) -> String {
    let base64 = mail
        .header("Content-Transfer-Encoding")
        .is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    if base64 {
        use base64::Engine;
        let joined: String = mail.body().split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .expect("base64");
        String::from_utf8(bytes).expect("utf-8")
    } else {
        mail.body().to_string()
    }
}
