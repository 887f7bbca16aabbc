//! A throw-away PostgreSQL server for the relay's PostgreSQL store: Debian's
//! `postgresql` package (which `cargo xtask test` installs), a cluster made
//! by `initdb` in a fresh temporary folder and started by `pg_ctl` on
//! 127.0.0.1 and a free port, its socket in that folder. It is stopped
//! (`pg_ctl stop -m immediate`) and its folder removed when the
//! [`TestPostgres`] is dropped, also when the test panics.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then the folder
//! is given to the `postgres` system user (which Debian's package creates)
//! and every server program runs as that user through `runuser`.
//!
//! The cluster has one superuser, [`USER`], with [`PASSWORD`] over TCP
//! (SCRAM-SHA-256, as a real deployment would), and one database,
//! [`DATABASE`]; [`TestPostgres::url`] is its `postgres://` URL.

use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The cluster's superuser.
pub const USER: &str = "ozvi";
/// Its password (checked over TCP).
pub const PASSWORD: &str = "heslo-pro-postgres-5817";
/// The database made at start.
pub const DATABASE: &str = "ozvi";

/// Where Debian's package puts each major version's programs.
const DEBIAN_LIB: &str = "/usr/lib/postgresql";

/// The system user the server runs as when the test runs as root.
const SERVER_USER: &str = "postgres";

/// The server's durability settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `fsync` (and `full_page_writes` with it): whether a commit survives
    /// a crash of the machine.
    pub fsync: bool,
    /// `synchronous_commit`: whether a commit is written out (to the disk,
    /// or with `fsync` off to the operating system) before the server
    /// answers. Off, a crash of the server loses the last commits.
    pub synchronous_commit: bool,
}

impl Settings {
    /// For tests of behaviour: a commit waits for no disk, but survives a
    /// crash of the server (`pg_ctl stop -m immediate`, a SIGKILL), so
    /// crash tests of the relay hold; nothing here needs to survive a
    /// crash of the machine.
    pub const TESTS: Self = Self {
        fsync: false,
        synchronous_commit: true,
    };
    /// As a production server runs: for benchmarks, whose commits must
    /// cost what they cost.
    pub const DURABLE: Self = Self {
        fsync: true,
        synchronous_commit: true,
    };
}

/// A running throw-away PostgreSQL server.
pub struct TestPostgres {
    /// The cluster (`data/`), the socket, the server's log; removed last.
    dir: tempfile::TempDir,
    /// The folder of `initdb`, `pg_ctl`, `psql`.
    bin: PathBuf,
    /// The user the server programs run as (`None`: this process's user).
    run_as: Option<&'static str>,
    /// Its TCP port on 127.0.0.1.
    port: u16,
    /// Whether it should be running (cleared by [`TestPostgres::stop`]).
    running: bool,
    /// Whether it is frozen ([`TestPostgres::freeze`]).
    frozen: bool,
}

impl TestPostgres {
    /// Starts a server with [`Settings::TESTS`]; fails the test if it
    /// cannot.
    pub fn start() -> Self {
        Self::start_with(Settings::TESTS)
    }

    /// Starts a server with `settings`; fails the test if it cannot.
    pub fn start_with(settings: Settings) -> Self {
        let bin = bin_dir().unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server programs under {DEBIAN_LIB}/*/bin: `cargo xtask test` \
                 installs Debian's package (apt-get install postgresql)"
            )
        });
        let run_as = running_as_root().then_some(SERVER_USER);
        let dir = tempfile::Builder::new()
            .prefix("ozvi-postgres-")
            .tempdir()
            .expect("a temporary folder");
        eprintln!(
            "postgres: starting a throw-away PostgreSQL ({}, {settings:?}) in {}{} \
             (initdb takes a few seconds)",
            bin.display(),
            dir.path().display(),
            run_as.map_or(String::new(), |u| format!(" as `{u}`")),
        );
        if let Some(user) = run_as {
            let (uid, gid) = system_user(user).unwrap_or_else(|| {
                panic!(
                    "running as root, but there is no `{user}` user to run PostgreSQL as \
                     (Debian's postgresql package creates it)"
                )
            });
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let mut server = Self {
            dir,
            bin,
            run_as,
            port: 0,
            running: false,
            frozen: false,
        };
        server.init(settings);
        server.start_on_a_free_port();
        server.create_database(DATABASE);
        server
    }

    /// The URL of [`DATABASE`]: `postgres://USER:PASSWORD@127.0.0.1:PORT/ozvi`.
    pub fn url(&self) -> String {
        self.url_of(DATABASE)
    }

    /// The URL of another database of this server.
    pub fn url_of(&self, database: &str) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Its TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Makes another empty database; returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let created = self.client_program("createdb").arg(name).output();
        expect_success(created, &format!("createdb {name}"), &self.log());
        self.url_of(name)
    }

    /// Runs `sql` with `psql` in `database`: its output (unaligned, tuples
    /// only), or psql's error message.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let out = self
            .client_program("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                database,
                "-c",
                sql,
            ])
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Runs Debian's `pgbench` on `database` with the custom `script`
    /// (prepared statements, no vacuum), `clients` connections on two
    /// threads for `seconds`: its transactions per second, or its error.
    pub fn pgbench(
        &self,
        database: &str,
        script: &std::path::Path,
        clients: usize,
        seconds: u64,
    ) -> Result<f64, String> {
        let out = self
            .client_program("pgbench")
            .args(["-n", "-M", "prepared", "-j", "2"])
            .args(["-c", &clients.to_string(), "-T", &seconds.to_string()])
            .arg("-f")
            .arg(script)
            .arg(database)
            .output()
            .map_err(|e| format!("cannot run pgbench: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        text.lines()
            .find_map(|line| line.strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|tps| tps.parse().ok())
            .ok_or_else(|| format!("no tps in pgbench's output: {text}"))
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`, as a crash
    /// would): clients lose their connections; the cluster stays, and
    /// [`TestPostgres::start_again`] brings it back on the same port.
    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
            let stopped = self
                .pg_ctl()
                .args(["stop", "-m", "immediate", "-w"])
                .output();
            expect_success(stopped, "pg_ctl stop", &self.log());
        }
    }

    /// Restarts the server as an operator does (`pg_ctl stop -m fast`: open
    /// transactions are rolled back, sessions ended, a checkpoint written),
    /// then starts it again on the same port; fails the test if it cannot.
    pub fn restart_fast(&mut self) {
        assert!(self.running, "the server is not running");
        self.running = false;
        let stopped = self.pg_ctl().args(["stop", "-m", "fast", "-w"]).output();
        expect_success(stopped, "pg_ctl stop -m fast", &self.log());
        self.start_again();
    }

    /// Freezes the server (SIGSTOP to the postmaster and every process it
    /// started): connections stay open and the kernel still accepts and
    /// acknowledges, but nothing answers, as with a server that hangs or a
    /// network path that drops packets. [`TestPostgres::thaw`] resumes it;
    /// so does dropping it.
    pub fn freeze(&mut self) {
        self.signal_cluster("-STOP");
        self.frozen = true;
    }

    /// Resumes a frozen server.
    pub fn thaw(&mut self) {
        self.signal_cluster("-CONT");
        self.frozen = false;
    }

    /// Sends `signal` to the postmaster (first line of postmaster.pid) and
    /// to its children, the backends.
    fn signal_cluster(&self, signal: &str) {
        let pid = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
            .filter(|p| p.parse::<u32>().is_ok())
            .expect("the server's postmaster.pid");
        let children = Command::new("pgrep")
            .args(["-P", &pid])
            .output()
            .expect("pgrep");
        let mut pids = vec![pid];
        pids.extend(
            String::from_utf8_lossy(&children.stdout)
                .lines()
                .map(str::to_string),
        );
        let status = Command::new("kill")
            .arg(signal)
            .args(&pids)
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {pids:?}");
    }

    /// Starts a stopped server again, on the same port; fails the test if
    /// it cannot (for example if another program took the port).
    pub fn start_again(&mut self) {
        assert!(!self.running, "the server is running");
        if let Err(log) = self.start_on(self.port) {
            panic!(
                "PostgreSQL did not start again on port {}:\n{log}",
                self.port
            );
        }
    }

    /// For a server kept for the whole test process (in a `static`, which
    /// is never dropped): a watchdog process stops it (SIGQUIT to the
    /// postmaster: an immediate shutdown) and removes its folder once this
    /// process has exited, however it exits.
    // The watchdog outlives this process by design: it is never waited for.
    #[allow(clippy::zombie_processes)]
    pub fn stop_when_this_process_exits(&self) {
        let script = "while kill -0 \"$1\" 2>/dev/null; do sleep 1; done; \
             pid=$(head -n 1 \"$2/data/postmaster.pid\" 2>/dev/null); \
             if [ -n \"$pid\" ]; then kill -QUIT \"$pid\" 2>/dev/null; \
             for _ in $(seq 100); do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.1; done; fi; \
             rm -rf \"$2\"";
        Command::new("sh")
            .args(["-c", script, "ozvi-postgres-watchdog"])
            .arg(std::process::id().to_string())
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the watchdog starts");
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// A server program, as the server's user when the test runs as root,
    /// in the temporary folder (which that user may enter).
    fn server_program(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut command = match self.run_as {
            Some(user) => {
                let mut runuser = Command::new("runuser");
                runuser.args(["-u", user, "--"]).arg(program);
                runuser
            }
            None => Command::new(program),
        };
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        command
    }

    fn pg_ctl(&self) -> Command {
        let mut command = self.server_program("pg_ctl");
        command.arg("-D").arg(self.data());
        command
    }

    /// `createdb`, `psql`: as this process's user, over TCP with the
    /// password, as the relay connects.
    fn client_program(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin.join(name));
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .env("PGPASSWORD", PASSWORD)
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null());
        command
    }

    /// `initdb`, then the settings for tests.
    fn init(&self, settings: Settings) {
        let password_file = self.dir.path().join("password");
        std::fs::write(&password_file, PASSWORD).expect("write");
        if let Some(user) = self.run_as {
            let (uid, gid) = system_user(user).expect("checked at start");
            std::os::unix::fs::chown(&password_file, Some(uid), Some(gid)).expect("chown");
        }
        let initdb = self
            .server_program("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", USER, "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", password_file.display()))
            .output();
        expect_success(initdb, "initdb", "");
        let on_off = |on: bool| if on { "on" } else { "off" };
        let (fsync, synchronous_commit) =
            (on_off(settings.fsync), on_off(settings.synchronous_commit));
        // The socket goes in the temporary folder: /var/run/postgresql may
        // not exist (no package service) or belong to another cluster.
        let settings = format!(
            "\n# Added by ozvi-tests (tests/src/postgres.rs)\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             fsync = {fsync}\n\
             full_page_writes = {fsync}\n\
             synchronous_commit = {synchronous_commit}\n\
             max_connections = 200\n\
             timezone = 'UTC'\n\
             log_min_messages = warning\n",
            self.dir.path().display()
        );
        let conf = self.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("initdb wrote postgresql.conf");
        text.push_str(&settings);
        std::fs::write(&conf, text).expect("write postgresql.conf");
    }

    /// Starts the server on a port that was free a moment ago; tries
    /// another if a parallel test took it in between.
    fn start_on_a_free_port(&mut self) {
        let mut last = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port on 127.0.0.1")
                .port();
            match self.start_on(port) {
                Ok(()) => return,
                Err(log) => last = log,
            }
        }
        panic!("PostgreSQL did not start (5 ports tried); its log:\n{last}");
    }

    /// `pg_ctl start` on `port`, waiting until it accepts connections; the
    /// server's log if it does not.
    fn start_on(&mut self, port: u16) -> Result<(), String> {
        let out = self
            .pg_ctl()
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t", "60", "-o", &format!("-p {port}"), "start"])
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if out.status.success() {
            self.port = port;
            self.running = true;
            Ok(())
        } else {
            // A failed start may leave a server behind that is still
            // coming up (pg_ctl's wait ran out): stop it before retrying.
            let _ = self
                .pg_ctl()
                .args(["stop", "-m", "immediate", "-w"])
                .output();
            Err(format!("{}{}", describe(&out), self.log()))
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        if self.frozen {
            self.signal_cluster("-CONT");
        }
        let stopped = self
            .pg_ctl()
            .args(["stop", "-m", "immediate", "-w", "-t", "10"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !stopped {
            // pg_ctl failed: end the postmaster by its pid (first line of
            // postmaster.pid), or it would outlive the test.
            let pid = std::fs::read_to_string(self.data().join("postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next().map(str::to_string));
            if let Some(pid) = pid.filter(|p| p.parse::<u32>().is_ok()) {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// The newest `/usr/lib/postgresql/N/bin` that has `initdb`.
pub fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_LIB)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Whether this process runs as uid 0 (the owner of `/proc/self`).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The uid and gid of a system user, from /etc/passwd.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let mut ids = fields.skip(1);
        Some((ids.next()?.parse().ok()?, ids.next()?.parse().ok()?))
    })
}

fn describe(out: &Output) -> String {
    format!(
        "exit {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails the test with the program's output (and the server's log) unless
/// it ran and succeeded.
fn expect_success(out: std::io::Result<Output>, what: &str, log: &str) {
    match out {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("{what} failed: {}\nserver log:\n{log}", describe(&out)),
        Err(e) => panic!("cannot run {what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_system_users_from_the_passwd_format() {
        // Every Linux machine has root.
        assert_eq!(system_user("root"), Some((0, 0)));
        assert_eq!(system_user("no-such-user-ozvi"), None);
    }

    #[test]
    fn a_server_starts_answers_and_is_gone_after_drop() {
        let server = TestPostgres::start();
        assert_eq!(server.psql(DATABASE, "SELECT 1 + 1").as_deref(), Ok("2"));
        assert_eq!(
            server.psql(DATABASE, "SHOW fsync").as_deref(),
            Ok("off"),
            "tests run without fsync"
        );
        let folder = server.dir.path().to_path_buf();
        let port = server.port();
        drop(server);
        assert!(!folder.exists(), "the cluster's folder is removed");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "nothing listens on its port"
        );
    }

    #[test]
    fn a_panicking_test_still_stops_its_server() {
        let (tx, rx) = std::sync::mpsc::channel();
        let joined = std::thread::spawn(move || {
            let server = TestPostgres::start_with(Settings::DURABLE);
            assert_eq!(server.psql(DATABASE, "SHOW fsync").as_deref(), Ok("on"));
            tx.send((server.dir.path().to_path_buf(), server.port()))
                .expect("send");
            panic!("the test fails while its server runs");
        })
        .join();
        assert!(joined.is_err(), "the thread panicked");
        let (folder, port) = rx.recv().expect("the server had started");
        assert!(!folder.exists(), "the cluster's folder is removed");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn a_stopped_server_starts_again_on_its_port_with_what_was_committed() {
        let mut server = TestPostgres::start();
        server
            .psql(
                DATABASE,
                "CREATE TABLE kept (n integer); INSERT INTO kept VALUES (7)",
            )
            .expect("create");
        server.stop();
        assert!(server.psql(DATABASE, "SELECT 1").is_err(), "it is down");
        server.start_again();
        assert_eq!(
            server.psql(DATABASE, "SELECT n FROM kept").as_deref(),
            Ok("7")
        );
        assert!(
            server
                .psql(DATABASE, "SELECT * FROM no_such_table")
                .is_err(),
            "errors are reported"
        );
    }
}
