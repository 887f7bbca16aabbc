//! The operator's local control socket. A running relay holds sled's lock on
//! its data directory, so `ozvi-relay export` asks the relay itself, over a
//! Unix socket inside the data directory that only the relay's user can
//! open (mode 0600). No HTTP route can reach it.
//!
//! The protocol is one line each way: `export <absolute path>` →
//! `ok <bytes on disk>` or `error <message>`.

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
/// until the runtime stops.
pub fn start(data: &Path, store: Arc<SledStore>) -> anyhow::Result<()> {
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
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                if let Err(e) = answer(stream, store).await {
                    tracing::warn!(error = %e, "control socket request failed");
                }
            });
        }
    });
    Ok(())
}

async fn answer(stream: tokio::net::UnixStream, store: Arc<SledStore>) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read)
        .take(4096)
        .read_line(&mut line)
        .await?;
    let reply = match line.trim_end().split_once(' ') {
        Some(("export", out)) => {
            let out = PathBuf::from(out);
            match tokio::task::spawn_blocking(move || export(&store, &out)).await? {
                Ok(bytes) => format!("ok {bytes}\n"),
                Err(e) => format!("error {e:#}\n"),
            }
        }
        _ => "error unknown request; the only one is `export <absolute path>`\n".to_string(),
    };
    write.write_all(reply.as_bytes()).await?;
    Ok(())
}

/// Writes a snapshot of `store` to `out`, which must be an absolute path
/// that does not exist yet. Returns its size on disk.
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
    // The copy is opened once more to prove it readable. sled releases the
    // copy's file lock when its background threads let go of it, which on a
    // busy machine can be a moment after `export_to` returned: a refusal is
    // retried for up to five seconds before it counts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let copy = loop {
        match SledStore::open(out) {
            Ok(copy) => break copy,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => bail!("export unreadable: {e}"),
        }
    };
    copy.size_on_disk()
        .map_err(|e| anyhow::anyhow!("export unreadable: {e}"))
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
