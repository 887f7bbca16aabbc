//! The centre's side of e-mail notifications: a digest the relay could not
//! deliver (the SMTP server refused its login) is a warning in the desk,
//! first thing in the inbox and in `ozvi-desk notifications`; once mail
//! goes through again the desk says when it was last delivered. The SMTP
//! server is a real one on loopback (tests/smtp/server.py).

use ozvi_tests::desk::{Deployment, JANA, desk_ok};
use ozvi_tests::smtp::{PASSWORD, SmtpServer};

const TO: &str = "jana@pomoc.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_smtp_login_is_a_warning_in_the_desk() {
    let mail_dir = tempfile::tempdir().expect("temp dir");
    let smtp = SmtpServer::start(mail_dir.path());
    let wrong = smtp.notify_config("not-the-password", &[("ic-zlin", &[TO])]);
    let deployment = Deployment::with_relay(&[JANA], |c| c.notify = wrong).await;
    let home = deployment.home();
    let relay = &deployment.relay;

    let before = desk_ok(Some(&home), &["notifications"]).await;
    assert!(before.contains("naposledy doručeno nikdy"), "{before}");

    deployment.person(41).write_first("ic-zlin", "Pomoc.").await;
    let outcomes = relay
        .state
        .notifier
        .run(relay.state.store.as_ref(), ozvi_tests::person::now())
        .await;
    assert_eq!(
        outcomes[0].failure.map(|f| f.as_str()),
        Some("authentication")
    );

    let status = desk_ok(Some(&home), &["notifications"]).await;
    assert!(status.contains("POZOR"), "{status}");
    assert!(status.contains("server odmítl přihlášení"), "{status}");
    let inbox = desk_ok(Some(&home), &["inbox"]).await;
    let first_lines: Vec<&str> = inbox.lines().take(2).collect();
    assert!(
        first_lines.iter().any(|l| l.starts_with("POZOR")),
        "the warning comes first:\n{inbox}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&desk_ok(Some(&home), &["notifications", "--json"]).await)
            .expect("json");
    assert_eq!(json["warning"], true, "{json}");
    assert!(smtp.mails().is_empty());
    relay.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_digest_is_shown_with_its_time() {
    let mail_dir = tempfile::tempdir().expect("temp dir");
    let smtp = SmtpServer::start(mail_dir.path());
    let right = smtp.notify_config(PASSWORD, &[("ic-zlin", &[TO])]);
    let deployment = Deployment::with_relay(&[JANA], |c| c.notify = right).await;
    let home = deployment.home();
    let relay = &deployment.relay;
    deployment.person(42).write_first("ic-zlin", "Pomoc.").await;
    let outcomes = relay
        .state
        .notifier
        .run(relay.state.store.as_ref(), ozvi_tests::person::now())
        .await;
    assert_eq!((outcomes[0].sent, outcomes[0].failure), (1, None));
    assert_eq!(
        smtp.wait_for(1, std::time::Duration::from_secs(10)).len(),
        1
    );
    let status = desk_ok(Some(&home), &["notifications"]).await;
    assert!(status.contains("naposledy doručeno 20"), "a date: {status}");
    assert!(!status.contains("POZOR"), "{status}");
    let inbox = desk_ok(Some(&home), &["inbox"]).await;
    assert!(
        !inbox.contains("POZOR"),
        "no warning in the inbox:\n{inbox}"
    );
    relay.handle.stop(true).await;
}
