//! The release relay as a child process: started on a free port with
//! its standard error in a log file, watched until `/healthz` answers,
//! measured through `/proc`, and always stopped — by [`RelayProcess::stop`], or by
//! `Drop` (SIGKILL) when the load test fails half-way.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How long a relay may take to open its store and answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a relay may take to exit after SIGTERM (it waits up to 5 s for
/// requests in flight, then flushes).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running relay.
pub struct RelayProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its standard error.
    pub log: PathBuf,
    /// Set once it has exited, so `Drop` leaves it alone.
    exited: bool,
}

/// The relay's memory, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident set size now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Its peak so far (`VmHWM`), KiB.
    pub hwm_kib: u64,
}

impl RelayProcess {
    /// Starts `binary` with `config` on `data`, on a free port of 127.0.0.1,
    /// its standard error appended to `log`. Returns when `/healthz` answers.
    pub async fn start(
        binary: &Path,
        config: &Path,
        data: &Path,
        log: &Path,
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let mut cmd = Command::new(binary);
        cmd.arg("--config")
            .arg(config)
            .arg("--data")
            .arg(data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        // The configuration file is the whole configuration.
        for name in [
            "OZVI_LISTEN",
            "OZVI_DATA",
            "OZVI_CONFIG",
            "OZVI_ROOT_KEY",
            "OZVI_DIRECTORY",
            "OZVI_WEB_ROOT",
            "OZVI_POW_DIFFICULTY",
            "OZVI_LOG",
        ] {
            cmd.env_remove(name);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut relay = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
            exited: false,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = relay.child.try_wait()? {
                relay.exited = true;
                bail!(
                    "the relay exited at start ({status}); its log ends with:\n{}",
                    tail(log)
                );
            }
            let healthy = http
                .get(format!("{}/healthz", relay.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return Ok(relay);
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "the relay did not answer /healthz within {} s; its log ends with:\n{}",
                    START_TIMEOUT.as_secs(),
                    tail(log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `VmRSS` and `VmHWM` of the relay process.
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        let path = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        Ok(Memory {
            rss_kib: status_kib(&status, "VmRSS:").context("no VmRSS in /proc status")?,
            hwm_kib: status_kib(&status, "VmHWM:").context("no VmHWM in /proc status")?,
        })
    }

    /// Stops the relay with SIGTERM as an operator would (it flushes and
    /// exits 0), or SIGKILL if it does not exit in time.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        let started = Instant::now();
        while sent && started.elapsed() < STOP_TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                self.exited = true;
                anyhow::ensure!(
                    status.success(),
                    "the relay exited with {status} on SIGTERM; see {}",
                    self.log.display()
                );
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "the relay did not exit within {} s of SIGTERM; killed",
            STOP_TIMEOUT.as_secs()
        )
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if !self.exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A port nobody listens on right now (the relay binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
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
    fn reads_proc_status_fields() {
        let status = "Name:\tozvi-relay\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(70000));
        assert_eq!(status_kib(status, "VmHWM:"), Some(81234));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }
}
