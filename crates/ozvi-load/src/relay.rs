//! The release relay as a child process: the harness's
//! [`RelayProcess`] (started on a free port with its standard error in a
//! log file, measured through `/proc`, killed by `Drop` when the load test
//! fails half-way) with the load tool's time limits and errors.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

pub use ozvi_tests::relay::{Memory, RelayProcess};

/// How long a relay may take to open its store (a seeded one is large) and
/// say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a relay may take to exit after SIGTERM (it waits up to 5 s for
/// requests in flight, then flushes).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts `binary` with `config` (the whole configuration: no `OZVI_*`
/// variable reaches it) on `data`, its standard error appended to `log`.
pub fn start(
    binary: &Path,
    config: &Path,
    data: &Path,
    log: &Path,
) -> anyhow::Result<RelayProcess> {
    RelayProcess::launch(
        binary,
        [
            "--config".as_ref(),
            config.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
        ],
        &[],
        log,
        START_TIMEOUT,
    )
    .map_err(anyhow::Error::msg)
}

/// Starts `binary` on PostgreSQL: `config` says `store = "postgres"`, the
/// database's URL (with its password) goes in the environment, as
/// docs/OPERATIONS.md advises; `data` holds only attached files' bytes.
pub fn start_postgres(
    binary: &Path,
    config: &Path,
    data: &Path,
    log: &Path,
    url: &str,
) -> anyhow::Result<RelayProcess> {
    RelayProcess::launch(
        binary,
        [
            "--config".as_ref(),
            config.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
        ],
        &[("OZVI_DATABASE_URL", url)],
        log,
        START_TIMEOUT,
    )
    .map_err(anyhow::Error::msg)
}

/// Starts the [baseline server](crate::baseline), this program's
/// `baseline` command, with its journal in `work/baseline` and its
/// standard error in `work/baseline.log`.
pub fn start_baseline(work: &Path) -> anyhow::Result<RelayProcess> {
    let program = std::env::current_exe().context("cannot find the load tool's own binary")?;
    let data = work.join("baseline");
    RelayProcess::launch(
        &program,
        ["baseline".as_ref(), "--data".as_ref(), data.as_os_str()],
        &[],
        &work.join("baseline.log"),
        Duration::from_secs(30),
    )
    .map_err(anyhow::Error::msg)
    .context("the baseline server did not start")
}

/// Stops the relay (or the baseline) with SIGTERM as an operator would: it must flush and
/// exit 0.
pub fn stop(mut relay: RelayProcess) -> anyhow::Result<()> {
    let status = relay.stop(STOP_TIMEOUT).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        status.success(),
        "the relay exited with {status} on SIGTERM; see {}",
        relay.log.display()
    );
    Ok(())
}
