//! A relay for a test: in the test's process ([`Relay`]) or the real
//! binary ([`RelayProcess`]).
//!
//! The engine of a relay in the test's process is chosen by the
//! environment variable `OZVI_TEST_STORE` ([`TestStore`]): `sled` (the
//! default) in the configured data directory, or `postgres`, a fresh
//! database of one throw-away PostgreSQL server that the test process
//! starts when its first relay needs it and shares between its relays
//! ([`crate::postgres::TestPostgres`]; attached files' bytes stay in the
//! data directory). So `OZVI_TEST_STORE=postgres cargo test -p ozvi-relay
//! --test api` is the relay's API suite on PostgreSQL. A test that opens
//! the sled directory itself asks [`sled_only`] first and is skipped on
//! PostgreSQL.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use ozvi_relay::config::Config;
use ozvi_relay::config::{DatabaseUrl, StoreKind};
use ozvi_relay::startup::Engine;
pub use ozvi_relay::state::{AppState, Clock, SystemClock};
use ozvi_relay::store::SledStore;
use ozvi_relay::store::postgres::PgStore;

use ozvi_crypto::MailboxId;

use crate::cast::Cast;
use crate::programs;

/// The relay's store: for tests and benchmarks that seed it directly or
/// tamper with it as a hostile relay could.
pub use ozvi_relay::flusher;
pub use ozvi_relay::store;
pub use ozvi_relay::store::Author;

/// The engine of the relays a test starts in its process: the environment
/// variable `OZVI_TEST_STORE`, `sled` (or unset) or `postgres`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStore {
    /// sled in the configured data directory.
    Sled,
    /// A fresh database of the test process's shared PostgreSQL server.
    Postgres,
}

impl TestStore {
    /// The variable that chooses it.
    pub const VARIABLE: &'static str = "OZVI_TEST_STORE";

    /// The engine `OZVI_TEST_STORE` chooses; fails the test on a value it
    /// does not know, rather than testing another engine than asked.
    pub fn from_env() -> Self {
        match std::env::var(Self::VARIABLE).as_deref() {
            Err(_) | Ok("" | "sled") => Self::Sled,
            Ok("postgres") => Self::Postgres,
            Ok(other) => panic!(
                "{}={other:?}: the test store is `sled` (the default) or `postgres`",
                Self::VARIABLE
            ),
        }
    }
}

/// Whether the test calling it must be skipped because it opens the sled
/// store itself (`what` says why), which a relay on PostgreSQL does not
/// have; prints that it was skipped. Use as `if sled_only("…") { return; }`.
pub fn sled_only(what: &str) -> bool {
    let skip = TestStore::from_env() == TestStore::Postgres;
    if skip {
        eprintln!(
            "skipped on {}=postgres: sled only ({what})",
            TestStore::VARIABLE
        );
    }
    skip
}

/// The test process's PostgreSQL server, started by the first relay that
/// needs it and stopped when the process exits.
fn shared_postgres() -> &'static crate::postgres::TestPostgres {
    static SERVER: OnceLock<crate::postgres::TestPostgres> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = crate::postgres::TestPostgres::start();
        server.stop_when_this_process_exits();
        server
    })
}

/// The database of the relay whose data directory is `data`: a fresh one
/// for a new directory, the same one for a relay started again on it (a
/// restart keeps its records, as with sled).
fn database_for(data: &Path) -> String {
    static DATABASES: OnceLock<Mutex<std::collections::HashMap<PathBuf, String>>> = OnceLock::new();
    let server = shared_postgres();
    let mut databases = DATABASES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let next = databases.len();
    databases
        .entry(data.to_path_buf())
        .or_insert_with(|| server.create_database(&format!("relay_{next}")))
        .clone()
}

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

/// The configuration of [`Relay::for_operator`].
pub fn operator_config(data: &Path, root_key: &str) -> Config {
    unlimited(Config {
        data: data.to_path_buf(),
        root_key: root_key.to_string(),
        ..Config::default()
    })
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
        Self::start(operator_config(data, root_key)).await
    }

    /// Starts a relay on the system clock, on the store [`TestStore`]
    /// chooses (sled at `config.data` by default).
    pub async fn start(config: Config) -> Self {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Starts a relay on `clock`, on the store [`TestStore`] chooses (sled
    /// at `config.data` by default).
    pub async fn start_with_clock(config: Config, clock: Arc<dyn Clock>) -> Self {
        match TestStore::from_env() {
            TestStore::Sled => {
                let store = Arc::new(SledStore::open(&config.data).expect("sled opens"));
                Self::start_on(config, store, clock).await
            }
            TestStore::Postgres => Self::start_on_postgres(config, clock).await,
        }
    }

    /// Starts a relay on `store` (a sled store the test has seeded).
    pub async fn start_on(config: Config, store: Arc<SledStore>, clock: Arc<dyn Clock>) -> Self {
        let engine = Engine::embedded(store).expect("the flusher thread starts");
        Self::start_engine(config, engine, clock).await
    }

    /// Starts a relay on its own database of the shared PostgreSQL server
    /// (the same one again for the same `config.data`), with attached
    /// files' bytes in `config.data` and admission counted in the database,
    /// as `ozvi-relay` does with `store = "postgres"`.
    async fn start_on_postgres(mut config: Config, clock: Arc<dyn Clock>) -> Self {
        let url = database_for(&config.data);
        let store = PgStore::open(&url, &config.data)
            .await
            .unwrap_or_else(|e| panic!("the PostgreSQL store opens: {e}"));
        config.store = StoreKind::Postgres;
        config.database_url = Some(DatabaseUrl::new(url.clone()));
        let engine = Engine::postgres(store, &url, clock.now())
            .await
            .unwrap_or_else(|e| panic!("admission opens on PostgreSQL: {e}"));
        Self::start_engine(config, engine, clock).await
    }

    async fn start_engine(config: Config, engine: Engine, clock: Arc<dyn Clock>) -> Self {
        let state = ozvi_relay::startup::build(config, engine, clock)
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
    pub async fn inject(&self, mailbox: &MailboxId, author: Author, envelope: &[u8]) {
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
            .await
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
    /// Its log (standard error).
    pub log: PathBuf,
}

/// A relay process's memory, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident set size now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Its peak so far (`VmHWM`), KiB.
    pub hwm_kib: u64,
}

/// The arguments of a relay started as an operator starts one, from a
/// folder `dir` holding its `relay.toml` and `directory.json`: its data
/// directory (`data` in `dir`), the configuration, the root key and the
/// directory to install.
pub fn deployed_args(dir: &Path, data: &str, root_key: &str) -> Vec<String> {
    let path = |p: &str| dir.join(p).display().to_string();
    vec![
        "--data".into(),
        path(data),
        "--config".into(),
        path("relay.toml"),
        "--root-key".into(),
        root_key.into(),
        "--directory".into(),
        path("directory.json"),
    ]
}

impl RelayProcess {
    /// Starts the workspace's `ozvi-relay` with `--listen 127.0.0.1:0` and
    /// `args`, and returns once it logs the port it listens on; fails the
    /// test if it does not within 30 seconds. See [`RelayProcess::launch`].
    pub fn start<I, S>(args: I, env: &[(&str, &str)], log: &Path) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let binary = programs::binary("ozvi-relay");
        Self::launch(&binary, args, env, log, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts `binary` with `--listen 127.0.0.1:0` and `args`; its standard
    /// error is appended to `log`. No `OZVI_*` variable of this process's
    /// environment reaches it, only those of `env` (so it logs at its
    /// default level unless `env` sets `OZVI_LOG`). Returns once it logs the
    /// port it listens on, or an error with the end of its log if it exits
    /// or stays silent for `wait`.
    pub fn launch<I, S>(
        binary: &Path,
        args: I,
        env: &[(&str, &str)],
        log: &Path,
        wait: Duration,
    ) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(binary);
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("OZVI_") {
                command.env_remove(name);
            }
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let mut log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stderr = child.stderr.take().ok_or("no standard error")?;
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
        let mut relay = Self {
            child: Some(child),
            base: String::new(),
            port: 0,
            log: log.to_path_buf(),
        };
        match rx.recv_timeout(wait).ok().flatten() {
            Some(port) => {
                relay.port = port;
                relay.base = format!("http://127.0.0.1:{port}");
                Ok(relay)
            }
            None => {
                drop(relay.child.take().map(|mut c| {
                    let _ = c.kill();
                    c.wait()
                }));
                Err(format!(
                    "the relay did not say where it listens within {} s; its log ends with:\n{}",
                    wait.as_secs(),
                    tail(log)
                ))
            }
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Its `VmRSS` and `VmHWM`.
    pub fn memory(&self) -> Result<Memory, String> {
        let path = format!("/proc/{}/status", self.pid());
        let status =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        Ok(Memory {
            rss_kib: status_kib(&status, "VmRSS:").ok_or("no VmRSS in /proc status")?,
            hwm_kib: status_kib(&status, "VmHWM:").ok_or("no VmHWM in /proc status")?,
        })
    }

    /// Stops it with SIGTERM, as an init system does, and waits up to
    /// `limit` for its exit status; kills it (and says so) if it takes
    /// longer.
    pub fn stop(&mut self, limit: Duration) -> Result<std::process::ExitStatus, String> {
        let mut child = self.child.take().ok_or("already stopped")?;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = std::time::Instant::now() + limit;
        while sent && std::time::Instant::now() < deadline {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "the relay did not exit within {} s of SIGTERM; killed (log: {})",
            limit.as_secs(),
            self.log.display()
        ))
    }

    /// [`RelayProcess::stop`] within 15 seconds, or the test fails.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.stop(Duration::from_secs(15))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The process, to signal or wait for, and its base URL; the test now
    /// stops it itself. The process is still killed if the test panics
    /// before it does ([`OwnedChild`]).
    pub fn into_parts(mut self) -> (OwnedChild, String) {
        let child = self.child.take().expect("running");
        (OwnedChild::new(child), std::mem::take(&mut self.base))
    }
}

/// A child process that is killed and reaped when dropped, so that a test
/// that fails half-way leaves no relay running behind it. Derefs to the
/// [`Child`] to signal or wait for.
pub struct OwnedChild(Child);

impl OwnedChild {
    /// Owns `child` from now on.
    pub fn new(child: Child) -> Self {
        Self(child)
    }
}

impl std::ops::Deref for OwnedChild {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for OwnedChild {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        // An exited (and reaped) process: both fail harmlessly.
        let _ = self.0.kill();
        let _ = self.0.wait();
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

/// The value in KiB of a `/proc/PID/status` line such as `VmRSS:  1234 kB`.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The last lines of a log file, for an error message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_child_is_killed_and_reaped_when_dropped() {
        let child = Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("sleep starts");
        let proc_dir = format!("/proc/{}", child.id());
        let owned = OwnedChild::new(child);
        assert!(std::path::Path::new(&proc_dir).exists(), "running");
        drop(owned);
        assert!(
            !std::path::Path::new(&proc_dir).exists(),
            "a dropped child leaves no process, not even a zombie"
        );
    }

    #[test]
    fn reads_proc_status_fields() {
        let status = "Name:\tozvi-relay\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(70000));
        assert_eq!(status_kib(status, "VmHWM:"), Some(81234));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }
}
