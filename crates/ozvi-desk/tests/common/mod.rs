//! The desk's tests: a relay in the test's process, the `ozvi-desk`
//! binary, an operator and a person (all from the shared harness,
//! `ozvi_tests`), and the desk's local web UI in this process.

#![allow(dead_code, unused_imports)]

use std::net::TcpListener;
use std::path::Path;

use serde_json::{Value, json};

pub use ozvi_tests::desk::*;
pub use ozvi_tests::person::Person;
pub use ozvi_tests::programs::{node_succeeded, script_lines};
pub use ozvi_tests::relay::Relay;

/// A relay for `root_key` on `data` (the operator publishes its directory).
pub async fn start_relay(data: &Path, root_key: &str) -> Relay {
    Relay::for_operator(data, root_key).await
}

/// The desk's local web UI, running in this process.
pub struct Desk {
    /// The opening URL, launch secret included.
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
    /// Makes a new single-use opening URL.
    pub new_url: std::sync::Arc<dyn Fn() -> String + Send + Sync>,
}

impl Desk {
    /// The launch secret of the opening URL.
    pub fn launch(&self) -> String {
        self.url
            .split("#k=")
            .nth(1)
            .expect("secret in the URL")
            .to_string()
    }

    /// Spends the launch secret as the page does; returns the page token.
    pub async fn page_token(&self) -> String {
        let http = ozvi_tests::http::client();
        let r = http
            .post(format!("{}/session", self.base))
            .bearer_auth(self.launch())
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "the launch secret is exchanged once");
        r.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token")
            .to_string()
    }
}

pub fn start_desk_locking_after(home: &Path, lock_after: std::time::Duration) -> Desk {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let running = ozvi_desk::web::start(ozvi_desk::home::Home::new(home), listener, lock_after)
        .expect("desk starts");
    let handle = running.server.handle();
    let new_url = running.url_maker();
    let url = running.url.clone();
    tokio::spawn(running.server);
    Desk {
        url,
        base: format!("http://{addr}"),
        addr,
        handle,
        new_url,
    }
}
