//! The operator's local control socket. A running relay holds sled's lock on
//! its data directory, so `ozvi-relay export` asks the relay itself, over a
//! Unix socket inside the data directory that only the relay's user can
//! open (mode 0600). No HTTP route can reach it.
//!
//! The protocol is one request line, then the answer: `export <absolute
//! path>` → `ok <bytes on disk>` or `error <message>`; `notify` (send the
//! staff digest now) → one line per centre, `<centre> sent <n>` or
//! `<centre> failed <kind>`, then `ok`. With `store = "postgres"` the
//! socket refuses an export: `ozvi-relay export` reads the database itself
//! (`store::postgres::export`), with no need of a running relay.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

use crate::store::SledStore;

/// The socket's file name inside the data directory.
pub const SOCKET_NAME: &str = "admin.sock";

/// The control socket of the relay using `data`.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join(SOCKET_NAME)
}

/// Binds the control socket (replacing a stale one) and answers requests
/// until the runtime stops. `store` is the sled store to export; `None`
/// (the PostgreSQL store) answers an export with an error: `ozvi-relay
/// export` reads the database itself.
pub fn start(
    data: &Path,
    store: Option<Arc<SledStore>>,
    state: actix_web::web::Data<crate::state::AppState>,
) -> anyhow::Result<()> {
    let path = socket_path(data);
    if path.exists() {
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("cannot create the control socket {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let store = store.clone();
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = answer(stream, store, state).await {
                    tracing::warn!(error = %e, "control socket request failed");
                }
            });
        }
    });
    Ok(())
}

async fn answer(
    stream: tokio::net::UnixStream,
    store: Option<Arc<SledStore>>,
    state: actix_web::web::Data<crate::state::AppState>,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read)
        .take(4096)
        .read_line(&mut line)
        .await?;
    let request = line.trim_end();
    let reply = match request.split_once(' ') {
        None if request == "notify" => notify_now(&state).await,
        Some(("export", out)) => match store {
            Some(store) => {
                let out = PathBuf::from(out);
                match tokio::task::spawn_blocking(move || export(&store, &out)).await? {
                    Ok(bytes) => format!("ok {bytes}\n"),
                    Err(e) => format!("error {e:#}\n"),
                }
            }
            None => {
                "error with store = \"postgres\", `ozvi-relay export` reads the database itself\n"
                    .to_string()
            }
        },
        _ => "error unknown request; there are `export <absolute path>` and `notify`\n".to_string(),
    };
    write.write_all(reply.as_bytes()).await?;
    Ok(())
}

/// Sends the staff digest now; the answer says what happened per centre.
async fn notify_now(state: &crate::state::AppState) -> String {
    if !state.notifier.enabled() {
        return "error notifications are off: set [notify] smtp_host (docs/OPERATIONS.md)\n"
            .to_string();
    }
    let outcomes = state
        .notifier
        .run(state.store.as_ref(), state.clock.now())
        .await;
    let mut reply = String::new();
    for o in outcomes {
        match o.failure {
            Some(f) => reply.push_str(&format!("{} failed {}\n", o.centre, f.as_str())),
            None => reply.push_str(&format!("{} sent {}\n", o.centre, o.sent)),
        }
    }
    reply.push_str("ok\n");
    reply
}

/// Writes a snapshot of `store` to `out`, which must be an absolute path
/// that does not exist yet. Returns its size on disk (the database and the
/// blobs of attached files).
pub fn export(store: &SledStore, out: &Path) -> anyhow::Result<u64> {
    if !out.is_absolute() {
        bail!("the export path must be absolute");
    }
    if out.exists() {
        bail!("{} already exists", out.display());
    }
    store
        .export_to(out)
        .map_err(|e| anyhow::anyhow!("export failed: {e}"))?;
    exported_size(out)
}

/// The size on disk of the export at `out` (the database and the blobs of
/// attached files), once it is opened again to prove it readable.
pub fn exported_size(out: &Path) -> anyhow::Result<u64> {
    // The copy is opened once more to prove it readable, once sled has let
    // go of it.
    let copy = SledStore::open_released(out, Duration::from_secs(5))
        .map_err(|e| anyhow::anyhow!("export unreadable: {e}"))?;
    let database = copy
        .size_on_disk()
        .map_err(|e| anyhow::anyhow!("export unreadable: {e}"))?;
    // The attached files' blobs beside it.
    let blobs: u64 = std::fs::read_dir(out.join("files"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    Ok(database + blobs)
}

/// Sends `request` to the relay listening on `socket` and returns its whole
/// answer (up to `ok` or `error …`). `Ok(None)` when no relay answers there.
pub fn request(socket: &Path, request: &str) -> anyhow::Result<Option<String>> {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return Ok(None);
    };
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    writeln!(stream, "{request}")?;
    let mut answer = String::new();
    for line in BufReader::new(stream).lines() {
        let line = line?;
        if let Some(message) = line.strip_prefix("error ") {
            bail!("the relay refused: {message}");
        }
        if line == "ok" {
            return Ok(Some(answer));
        }
        answer.push_str(&line);
        answer.push('\n');
    }
    bail!("the relay gave no answer; see its log")
}

/// Asks the relay listening on `socket` for an export to `out`. Returns
/// `Ok(None)` when no relay answers there.
pub fn request_export(socket: &Path, out: &Path) -> anyhow::Result<Option<u64>> {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return Ok(None);
    };
    // A large database takes a while to copy; give it an hour.
    stream.set_read_timeout(Some(Duration::from_secs(3600)))?;
    let out = std::path::absolute(out)?;
    let Some(out_text) = out.to_str().filter(|t| !t.contains('\n')) else {
        bail!("the export path must be UTF-8 without line breaks");
    };
    writeln!(stream, "export {out_text}")?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    match reply.trim_end().split_once(' ') {
        Some(("ok", bytes)) => Ok(Some(bytes.parse().unwrap_or(0))),
        Some(("error", message)) => bail!("the relay refused: {message}"),
        _ => bail!("the relay gave no answer; see its log"),
    }
}
