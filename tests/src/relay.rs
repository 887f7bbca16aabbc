//! A relay for a test: in the test's process ([`Relay`]) or the real
//! binary ([`RelayProcess`]).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use ozvi_relay::config::Config;
pub use ozvi_relay::state::{AppState, Clock, SystemClock};
use ozvi_relay::store::SledStore;

use ozvi_crypto::MailboxId;

use crate::cast::Cast;
use crate::programs;

/// The relay's store: for tests and benchmarks that seed it directly or
/// tamper with it as a hostile relay could.
pub use ozvi_relay::store;
pub use ozvi_relay::store::Author;

/// A clock the test moves by hand.
pub struct TestClock(pub AtomicU64);

impl TestClock {
    /// A clock standing at `at` (Unix seconds).
    pub fn at(at: u64) -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(at)))
    }

    /// Moves it to `at`.
    pub fn set(&self, at: u64) {
        self.0.store(at, Ordering::SeqCst);
    }

    /// Moves it on by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The relay's configuration for `cast` with its data in `dir/db` and the
/// signed directory written to `dir/directory.json`: the defaults, proof of
/// work off.
pub fn config(cast: &Cast, dir: &Path) -> Config {
    let directory = dir.join("directory.json");
    cast.write_directory(&directory);
    Config {
        data: dir.join("db"),
        root_key: cast.root_key(),
        directory: Some(directory),
        pow_difficulty: 0,
        ..Config::default()
    }
}

/// `config` with no proof of work and every rate limit out of reach: for
/// tests that are about something else than admission.
pub fn unlimited(config: Config) -> Config {
    Config {
        pow_difficulty: 0,
        requests_per_address_per_minute: 1_000_000,
        posts_per_thread_per_minute: 1_000_000,
        threads_per_centre_per_hour: 1_000_000,
        threads_per_address_per_hour: 1_000_000,
        ..config
    }
}

/// A relay in the test's process on a free loopback port.
pub struct Relay {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    /// Its state (store, configuration, clock).
    pub state: actix_web::web::Data<AppState>,
    /// Stops it.
    pub handle: actix_web::dev::ServerHandle,
}

impl Relay {
    /// A relay on `data` that trusts `root_key` and has no directory yet
    /// (the operator publishes one, as with `ozvi-desk admin publish`), with
    /// no proof of work and no rate limits in reach: the desk's tests.
    pub async fn for_operator(data: &Path, root_key: &str) -> Self {
        Self::start(unlimited(Config {
            data: data.to_path_buf(),
            root_key: root_key.to_string(),
            ..Config::default()
        }))
        .await
    }

    /// Starts a relay on a sled store at `config.data`, on the system clock.
    pub async fn start(config: Config) -> Self {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Starts a relay on a sled store at `config.data`, on `clock`.
    pub async fn start_with_clock(config: Config, clock: Arc<dyn Clock>) -> Self {
        let store = Arc::new(SledStore::open(&config.data).expect("sled opens"));
        Self::start_on(config, store, clock).await
    }

    /// Starts a relay on `store` (a store the test has seeded).
    pub async fn start_on(config: Config, store: Arc<SledStore>, clock: Arc<dyn Clock>) -> Self {
        let state = ozvi_relay::startup::build(config, store, clock)
            .await
            .expect("the relay's state builds");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let server = ozvi_relay::startup::run(listener, state.clone()).expect("the relay starts");
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base,
            state,
            handle,
        }
    }

    /// Appends `envelope` to `mailbox`'s thread straight into the store, as
    /// a hostile relay (or a replay of a captured request) could: no
    /// checks, generous quota.
    pub fn inject(&self, mailbox: &MailboxId, author: Author, envelope: &[u8]) {
        self.state
            .store
            .append(
                mailbox,
                author,
                envelope,
                crate::person::now(),
                store::Quota {
                    max_messages: 10_000,
                    max_bytes: 1 << 30,
                },
            )
            .expect("appended");
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The `ozvi-relay` binary, killed when the test ends however it ends.
pub struct RelayProcess {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    /// The port it listens on.
    pub port: u16,
}

impl RelayProcess {
    /// Starts the workspace's `ozvi-relay` with `--listen 127.0.0.1:0` and
    /// `args`, and returns once it logs the port it listens on. Its log
    /// (stderr) is appended to `log`; `env` is set for it (`OZVI_LOG` is
    /// otherwise removed, so it logs at its default level).
    pub fn start<I, S>(args: I, env: &[(&str, &str)], log: &Path) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(programs::binary("ozvi-relay"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("OZVI_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("ozvi-relay starts");
        let stderr = child.stderr.take().expect("piped");
        let mut log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("the log file opens");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log_file, "{line}");
                if !sent && line.contains("listening") {
                    // The relay logs its port only, never an address.
                    let port = line.rsplit("port=").next().unwrap_or_default().trim();
                    let _ = tx.send(port.parse::<u16>().ok());
                    sent = true;
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)).ok().flatten() {
            Some(port) => Self {
                child: Some(child),
                base: format!("http://127.0.0.1:{port}"),
                port,
            },
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the relay did not say where it listens; its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops it with SIGTERM, as an init system does; fails the test unless
    /// it exits within 15 seconds.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        programs::terminate(&mut child, Duration::from_secs(15))
    }

    /// The process, to signal or wait for, and its base URL; the test now
    /// stops it itself.
    pub fn into_parts(mut self) -> (Child, String) {
        let child = self.child.take().expect("running");
        (child, std::mem::take(&mut self.base))
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
