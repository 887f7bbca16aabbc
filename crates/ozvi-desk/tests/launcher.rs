//! The desk without a terminal: `ozvi-desk install` writes a per-user
//! systemd unit and an applications-menu launcher for this desk folder;
//! `ozvi-desk open` gets a fresh single-use address from the running desk
//! over its socket (mode 0600), and the address opens the page once.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ozvi_tests::desk::{Deployment, JANA};
use ozvi_tests::programs::{binary, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_writes_the_unit_and_the_launcher_and_open_gets_a_fresh_address() {
    let deployment = Deployment::new(&[JANA]).await;
    let home = deployment.home();
    let xdg = deployment.dir.path().join("xdg");
    let desk = binary("ozvi-desk");

    let out = Command::new(&desk)
        .arg("--home")
        .arg(&home)
        .arg("install")
        .env("HOME", &xdg)
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("XDG_DATA_HOME", xdg.join("data"))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    let unit = std::fs::read_to_string(xdg.join("config/systemd/user/ozvi-desk.service"))
        .expect("the unit");
    let home_abs = std::path::absolute(&home).expect("absolute");
    assert!(
        unit.contains(&format!(
            "ExecStart={} --home {} serve",
            desk.display(),
            home_abs.display()
        )),
        "{unit}"
    );
    assert!(unit.contains("WantedBy=default.target"), "{unit}");
    let launcher = std::fs::read_to_string(xdg.join("data/applications/ozvi-desk.desktop"))
        .expect("the launcher");
    assert!(
        launcher.contains(&format!(
            "Exec={} --home {} open",
            desk.display(),
            home_abs.display()
        )),
        "{launcher}"
    );
    assert!(text(&out).contains("systemctl --user enable --now ozvi-desk"));

    // No desk running: a clear error.
    let none = Command::new(&desk)
        .args(["--home"])
        .arg(&home)
        .args(["open", "--print"])
        .output()
        .expect("runs");
    assert!(!none.status.success());
    assert!(
        text(&none).contains("no desk is running"),
        "{}",
        text(&none)
    );

    // As the service runs it: no terminal.
    let mut serve = Command::new(&desk)
        .arg("--home")
        .arg(&home)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the desk starts");
    let socket = home.join("desk.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mode = std::fs::metadata(&socket)
        .expect("the socket")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "only her account may ask for an address"
    );

    let open = || {
        let out = Command::new(&desk)
            .arg("--home")
            .arg(&home)
            .args(["open", "--print"])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    };
    let first = open();
    let second = open();
    assert_ne!(first, second, "a new address each time");
    let (base, secret) = second.split_once("/#k=").expect("an opening address");
    let http = ozvi_tests::http::client();
    let session = |secret: String| {
        let http = http.clone();
        let url = format!("{base}/session");
        async move {
            http.post(url)
                .bearer_auth(secret)
                .json(&serde_json::json!({}))
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    assert_eq!(
        session(secret.to_string()).await,
        200,
        "the address opens the page"
    );
    assert_eq!(session(secret.to_string()).await.as_u16(), 401, "once");
    let _ = serve.kill();
    let _ = serve.wait();
}
