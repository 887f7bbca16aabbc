//! `ozvi-load --listen ADDR baseline --data DIR`: the fair baseline of a
//! durable post, the physical limit of this machine for the relay's job.
//!
//! The relay's HTTP stack (actix-web with its default workers and the
//! relay's security headers) at the relay's posting path, whose handler
//! appends the request's body to one file and answers `201 {"seq":N}` only
//! after an `fdatasync` of that file that *began after* the append: group
//! commit as in the relay's flusher. A handler appends, then queues a
//! waiter; a single flusher thread takes every waiter queued at that moment,
//! runs one `fdatasync`, and answers them all. A waiter queued while a sync
//! runs waits for the next one, so its append is always covered.
//!
//! Also served, for the load tool to check itself:
//!
//! - `POST /discard`: reads the same body and answers at once, writing
//!   nothing (the generator's ceiling against a server that does no work);
//! - `GET /stats`: `{"syncs":…,"bodies":…,"bytes":…}`, the `fdatasync` calls
//!   made, the bodies they covered and the bytes appended, so the load tool
//!   prints syncs per second and bodies per sync (the syncs really happen).
//!
//! It says `listening port=N` on standard error like the relay (the
//! harness's `RelayProcess` starts and stops it), stops on SIGTERM, and
//! prints its totals when it exits.

use std::fs::File;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::{Context, bail};
use tokio::sync::oneshot;

/// The largest body read: far above a sealed post (about 2 KB of JSON).
const BODY_LIMIT: usize = 1 << 20;
/// Where the generator sends a non-durable post.
pub const DISCARD: &str = "/discard";
/// Where the load tool reads the counters.
pub const STATS: &str = "/stats";

/// `baseline --data DIR` after `--listen ADDR`.
#[derive(Debug, PartialEq)]
pub struct Options {
    pub listen: SocketAddr,
    /// The folder of the journal file (`baseline.journal`).
    pub data: PathBuf,
}

impl Options {
    pub fn parse(listen: Option<&str>, args: &[String]) -> anyhow::Result<Self> {
        let listen = listen
            .context("baseline takes --listen ADDR before it")?
            .parse()
            .context("--listen takes an address such as 127.0.0.1:0")?;
        let mut data = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--data" => data = Some(PathBuf::from(args.next().context("--data takes a path")?)),
                other => bail!("unexpected argument `{other}` to baseline"),
            }
        }
        Ok(Self {
            listen,
            data: data.context("baseline takes --data DIR")?,
        })
    }
}

/// What the flusher counts, read by `GET /stats`.
#[derive(Default)]
struct Counters {
    /// `fdatasync` calls that succeeded.
    syncs: AtomicU64,
    /// Durable posts answered (each after a sync begun after its append).
    bodies: AtomicU64,
    /// Bytes appended to the journal.
    bytes: AtomicU64,
}

type Waiter = oneshot::Sender<bool>;

/// The journal and its group commit.
struct Journal {
    /// Opened for appending: every `write` lands at the end, whole, even
    /// from two workers at once.
    file: Arc<File>,
    shared: Arc<Shared>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Shared {
    waiters: Mutex<Vec<Waiter>>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Vec<Waiter>> {
        // Plain data, valid even if a holder panicked.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Journal {
    fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("baseline.journal");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let journal = Self {
            file: Arc::new(file),
            shared: Arc::new(Shared::default()),
            counters: Arc::new(Counters::default()),
        };
        let (file, shared, counters) = (
            Arc::clone(&journal.file),
            Arc::clone(&journal.shared),
            Arc::clone(&journal.counters),
        );
        std::thread::Builder::new()
            .name("baseline-flusher".into())
            .spawn(move || flusher(&file, &shared, &counters))
            .context("cannot start the flusher thread")?;
        Ok(journal)
    }

    /// Appends `body`, then waits for an `fdatasync` begun after the append.
    async fn append_durably(&self, body: &[u8]) -> std::io::Result<()> {
        (&*self.file).write_all(body)?;
        self.counters
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared.lock().push(tx);
        self.shared.wake.notify_one();
        match rx.await {
            Ok(true) => Ok(()),
            _ => Err(std::io::Error::other("fdatasync failed")),
        }
    }
}

/// The flusher thread: one `fdatasync` per batch of waiters. It runs as
/// long as the process (the server's workers hold the journal).
fn flusher(file: &File, shared: &Shared, counters: &Counters) {
    loop {
        let batch = {
            let mut waiters = shared.lock();
            while waiters.is_empty() {
                waiters = shared.wake.wait(waiters).unwrap_or_else(|e| e.into_inner());
            }
            std::mem::take(&mut *waiters)
        };
        // Every waiter of the batch appended before it queued itself, so
        // this sync, begun now, covers every one of their appends.
        let synced = file.sync_data().is_ok();
        if synced {
            counters.syncs.fetch_add(1, Ordering::Relaxed);
            counters
                .bodies
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        for waiter in batch {
            let _ = waiter.send(synced);
        }
    }
}

async fn post(journal: web::Data<Journal>, body: web::Bytes) -> HttpResponse {
    match journal.append_durably(&body).await {
        Ok(()) => HttpResponse::Created()
            .content_type("application/json")
            .body(format!(
                "{{\"seq\":{}}}",
                journal.counters.bodies.load(Ordering::Relaxed)
            )),
        Err(_) => HttpResponse::InternalServerError()
            .content_type("application/json")
            .body(r#"{"code":"internal"}"#),
    }
}

async fn discard(_body: web::Bytes) -> HttpResponse {
    HttpResponse::Created()
        .content_type("application/json")
        .body(r#"{"seq":0}"#)
}

async fn stats(journal: web::Data<Journal>) -> HttpResponse {
    HttpResponse::Ok().json(Snapshot::of(&journal.counters))
}

/// The counters at one moment, as `GET /stats` returns them.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub syncs: u64,
    pub bodies: u64,
    pub bytes: u64,
}

impl Snapshot {
    fn of(counters: &Counters) -> Self {
        Self {
            syncs: counters.syncs.load(Ordering::Relaxed),
            bodies: counters.bodies.load(Ordering::Relaxed),
            bytes: counters.bytes.load(Ordering::Relaxed),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            syncs: self.syncs.saturating_sub(earlier.syncs),
            bodies: self.bodies.saturating_sub(earlier.bodies),
            bytes: self.bytes.saturating_sub(earlier.bytes),
        }
    }
}

/// Serves until SIGTERM, then prints the totals.
pub fn serve(options: &Options) -> anyhow::Result<()> {
    let journal = web::Data::new(Journal::open(&options.data)?);
    let listener = TcpListener::bind(options.listen)
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let port = listener.local_addr()?.port();
    let counters = Arc::clone(&journal.counters);
    let path = ozvi_api::routes::paths::MAILBOX_MESSAGES;
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let mut headers = DefaultHeaders::new();
            for header in ozvi_api::headers::security::EVERY_RESPONSE {
                headers = headers.add(*header);
            }
            App::new()
                .app_data(journal.clone())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .wrap(headers)
                .route(path, web::post().to(post))
                .route(DISCARD, web::post().to(discard))
                .route(STATS, web::get().to(stats))
        })
        .shutdown_timeout(5)
        .listen(listener)?
        .run();
        eprintln!("baseline listening port={port}");
        server.await
    })?;
    let total = Snapshot::of(&counters);
    eprintln!(
        "baseline stopped: {} bodies ({} bytes) made durable by {} fdatasync calls",
        total.bodies, total.bytes, total.syncs
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Options::parse(Some("127.0.0.1:0"), &args(&["--data", "/tmp/x"])).unwrap(),
            Options {
                listen: "127.0.0.1:0".parse().unwrap(),
                data: "/tmp/x".into()
            }
        );
        assert!(Options::parse(None, &args(&["--data", "/tmp/x"])).is_err());
        assert!(Options::parse(Some("127.0.0.1:0"), &[]).is_err());
        assert!(Options::parse(Some("nowhere"), &args(&["--data", "/tmp/x"])).is_err());
        assert!(Options::parse(Some("127.0.0.1:0"), &args(&["--data"])).is_err());
    }

    #[tokio::test]
    async fn a_durable_append_waits_for_a_sync_and_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(dir.path()).unwrap());
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let journal = Arc::clone(&journal);
                tokio::spawn(async move { journal.append_durably(&[i as u8; 100]).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let counted = Snapshot::of(&journal.counters);
        assert_eq!(counted.bodies, 16);
        assert_eq!(counted.bytes, 1600);
        assert!((1..=16).contains(&counted.syncs));
        let written = std::fs::read(dir.path().join("baseline.journal")).unwrap();
        assert_eq!(written.len(), 1600);
    }
}
