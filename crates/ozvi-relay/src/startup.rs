//! Building and running the server. `main` is thin; tests call [`build`]
//! and [`run`] directly with a listener on port 0 and their own clock.

use std::net::TcpListener;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, Next, from_fn};
use actix_web::{App, HttpMessage as _, HttpResponse, HttpServer, web};
use anyhow::Context;
use ozvi_crypto::primitives::sig::Ed25519Public;
use tokio::sync::broadcast;

use crate::admission::Limits;
use crate::client;
use crate::config::Config;
use crate::error::ApiError;
use crate::flusher::Flusher;
use crate::metrics::Metrics;
use crate::routes;
use crate::state::{AppState, Clock, CurrentDirectory};
use crate::store::postgres::{Link, PgError, PgStore};
use crate::store::{Embedded, Storage, Store};
use crate::streams::{Caps, Streams};

/// Directory uploads received at the same time (see [`AppState::directory_bodies`]).
pub const DIRECTORY_BODIES: usize = 2;

/// What the relay runs on: its store behind the seam, how the store's
/// writes are made durable, and where admission is counted.
pub struct Engine {
    /// The store, whichever engine holds it.
    pub store: Arc<dyn Storage>,
    /// Group commit of sled's fsync, or [`Flusher::committed`] for a store
    /// whose commits are durable when they return.
    pub flusher: Flusher,
    /// Rate limits and challenges shared with the other relays on the same
    /// database; `None`: in this process's memory ([`Limits::new`]).
    pub limits: Option<Limits>,
    /// The link to the other relays on the same database (live updates,
    /// one sweep at a time), started by [`build`]; `None` on sled.
    pub link: Option<Link>,
}

impl Engine {
    /// An embedded store (sled) called inline, with the group commit of its
    /// fsync; admission in memory.
    pub fn embedded(store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let flusher =
            Flusher::start(Arc::clone(&store)).context("cannot start the flusher thread")?;
        Ok(Self {
            store: Arc::new(Embedded(store)),
            flusher,
            limits: None,
            link: None,
        })
    }

    /// The PostgreSQL store: its commits are durable when they return
    /// (`synchronous_commit` on), and admission is counted in its database,
    /// shared by every relay on it (`now`: the relay's clock); `url` (the
    /// store's) is for the connection that listens to the other relays'
    /// live updates.
    pub async fn postgres(store: PgStore, url: &str, now: u64) -> Result<Self, PgError> {
        Self::postgres_keyed(store, url, None, now).await
    }

    /// [`Engine::postgres`] with the relays' `admission_secret`
    /// ([`Limits::shared_keyed`]).
    pub async fn postgres_keyed(
        store: PgStore,
        url: &str,
        secret: Option<zeroize::Zeroizing<[u8; 32]>>,
        now: u64,
    ) -> Result<Self, PgError> {
        let limits = Limits::shared_keyed(store.pool().clone(), secret, now).await?;
        let link = Link::new(url, store.pool().clone())?;
        Ok(Self {
            store: Arc::new(store),
            flusher: Flusher::committed(),
            limits: Some(limits),
            link: Some(link),
        })
    }
}

/// Builds the shared state on `engine`: pins the root key, loads the stored
/// directory and installs the configured one if it is newer; on PostgreSQL,
/// starts listening to the other relays' live updates.
pub async fn build(
    config: Config,
    engine: Engine,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<web::Data<AppState>> {
    let Engine {
        store,
        flusher,
        limits,
        link,
    } = engine;
    config.validate()?;
    let root_bytes = ozvi_crypto::format::b64::decode(&config.root_key)
        .ok()
        .context("root_key must be the operator's Ed25519 public key in base64url")?;
    let root_key = Ed25519Public::from_bytes(&root_bytes)
        .ok()
        .context("root_key is not a valid Ed25519 public key")?;
    // One line for the operator, not a chain of causes.
    let stored = store
        .directory()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the stored directory: {}", cause(&e)))?;
    let directory = match stored {
        Some(json) => {
            let directory = ozvi_crypto::SignedDirectory::verify(&json, &root_key, None)
                .ok()
                .context("the stored directory does not verify under root_key")?;
            Some(Arc::new(CurrentDirectory { json, directory }))
        }
        None => None,
    };
    let now = clock.now();
    let notifier = Arc::new(
        crate::notify::Notifier::new(&config.notify)
            .context("[notify]: cannot set up the SMTP connection")?,
    );
    let events = broadcast::channel(1024).0;
    let relays = link.map(|link| link.start(events.clone()));
    let state = web::Data::new(AppState {
        store,
        flusher,
        root_key,
        directory: RwLock::new(directory),
        limits: limits.unwrap_or_else(|| Limits::new(now)),
        clock,
        events,
        relays,
        metrics: Metrics::default(),
        streams: Arc::new(Streams::new(Caps::from_config(&config))),
        large_bodies: Arc::new(tokio::sync::Semaphore::new(
            config.concurrent_large_bodies.max(1),
        )),
        directory_bodies: Arc::new(tokio::sync::Semaphore::new(DIRECTORY_BODIES)),
        uploads: Arc::new(tokio::sync::Semaphore::new(
            config.concurrent_uploads.max(1),
        )),
        uploading: std::sync::Mutex::default(),
        staff_uploads: Arc::new(tokio::sync::Semaphore::new(
            config.concurrent_staff_uploads.max(1),
        )),
        upload_clients: std::sync::Mutex::default(),
        stored_bytes: tokio::sync::Mutex::default(),
        receiving_bytes: std::sync::atomic::AtomicU64::new(0),
        broken_off_bytes: std::sync::atomic::AtomicU64::new(0),
        broken_off_files: std::sync::Mutex::default(),
        disk_counts: std::sync::atomic::AtomicU64::new(0),
        started_at: now,
        notifier,
        config,
    });
    if let Some(path) = state.config.directory.clone() {
        let json = std::fs::read(&path)
            .with_context(|| format!("cannot read the directory file {}", path.display()))?;
        match state.install_directory(&json).await {
            Ok(()) | Err(ApiError::DirectoryRollback) => {}
            Err(e) => anyhow::bail!(
                "the directory file {} was refused: {}",
                path.display(),
                e.code().message()
            ),
        }
    }
    // Staff requests signed at or before the second this process started
    // are refused (their nonces may have been spent before a restart).
    // Wait for the next second before anyone can be served, so that every
    // request signed once the relay is up is accepted.
    wait_past(state.started_at).await;
    Ok(state)
}

/// What a store failure says, with the engine's cause when it has one (a
/// cause names no user data: see [`crate::store::StoreError`]).
fn cause(e: &crate::store::StoreError) -> String {
    use crate::store::StoreError;
    match e {
        StoreError::Backend(cause) | StoreError::Unavailable(cause) => format!("{e}: {cause}"),
        other => other.to_string(),
    }
}

/// Sleeps until the system clock is past the second `secs` (Unix seconds),
/// for at most two seconds (a test clock may be anywhere).
pub async fn wait_past(secs: u64) {
    let give_up = Instant::now() + Duration::from_secs(2);
    while Instant::now() < give_up {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        if now.as_secs() > secs {
            return;
        }
        let rest = Duration::from_secs(secs + 1).saturating_sub(now);
        tokio::time::sleep(rest.max(Duration::from_millis(10))).await;
    }
}

/// Starts serving on `listener`. The returned server stops gracefully on
/// SIGTERM or SIGINT, or through its handle.
pub fn run(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let behind_tls = state.config.behind_tls;
    let web_root = state.config.web_root.clone();
    if let Some(dir) = &web_root {
        anyhow::ensure!(
            dir.join("index.html").is_file(),
            "the web root {} has no index.html; build the web client first",
            dir.display()
        );
    }
    let server = HttpServer::new(move || {
        let app = App::new()
            .app_data(state.clone())
            .wrap(ErrorHandlers::new().default_handler(uniform_error))
            .wrap(from_fn(access_log))
            .wrap(from_fn(rate_limit))
            .wrap(security_headers(behind_tls))
            .configure(routes::configure);
        let app = match &web_root {
            Some(dir) => app.service(web_client(dir.clone())),
            None => app,
        };
        app.default_service(web::to(not_found))
    })
    .shutdown_timeout(5)
    // A client that closes its side is gone: end the connection at once, so
    // an event stream's place (and descriptor) is freed without waiting
    // for the next keep-alive write to fail.
    .h1_allow_half_closed(false)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Serves `GET /metrics` (and nothing else) on `listener`: the operator's
/// listener, `metrics_listen`, separate from the public one.
pub fn run_metrics(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(ErrorHandlers::new().default_handler(uniform_error))
            .route("/metrics", web::get().to(routes::public::metrics))
            .default_service(web::to(|| async {
                HttpResponse::from_error(ApiError::NotFound)
            }))
    })
    .workers(1)
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Headers on every response (docs/API.md, "Security headers").
fn security_headers(behind_tls: bool) -> DefaultHeaders {
    use ozvi_api::headers::security;
    let mut headers = DefaultHeaders::new().add((security::CSP, security::RELAY_CSP));
    for header in security::EVERY_RESPONSE {
        headers = headers.add(*header);
    }
    if behind_tls {
        headers = headers.add(security::HSTS);
    }
    headers
}

/// The built web client at `/` (GET and HEAD only): plain files, no
/// directory listings, no hidden files, nothing outside `dir`. No `ETag` or
/// `Last-Modified`: the pages are `no-store`, so that a shared phone's
/// browser cache keeps no trace of a visit.
///
/// Precompressed variants (`cargo xtask web` writes `NAME.br` and `NAME.gz`
/// beside a file when they are smaller) are served in the file's place when
/// the request's `Accept-Encoding` accepts them: the highest q-value wins,
/// brotli before gzip when equal, `q=0` refuses a coding, and anything else
/// (no header, `identity`, a header that does not parse) gets the file as
/// it is. The variant keeps the file's own `Content-Type` and says its
/// coding in `Content-Encoding`; every file response says `Vary:
/// Accept-Encoding`. The relay never compresses on the fly, so what it sends
/// is always one of the files listed in `SHA256SUMS`. A variant asked for by
/// its own name (`/app.js.br`, a line of the manifest) is sent as the bytes
/// on disk, with no `Content-Encoding`, for an auditor to hash.
fn web_client(
    dir: std::path::PathBuf,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let get_or_head =
        || actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head());
    let files = actix_files::Files::new("/", dir)
        .index_file("index.html")
        .use_etag(false)
        .use_last_modified(false)
        .prefer_utf8(true)
        .disable_content_disposition()
        .try_compressed()
        .guard(get_or_head())
        .default_handler(web::to(not_found));
    web::scope("")
        .guard(get_or_head())
        .wrap(from_fn(vary_on_accept_encoding))
        .service(files)
}

/// Adds `Vary: Accept-Encoding` to a successful file response that does not
/// say it yet: the identity response varies with the header as much as a
/// compressed one does (actix-files marks only the latter).
async fn vary_on_accept_encoding(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::http::header::{HeaderValue, VARY};
    let mut response = next.call(req).await?;
    let said = response.headers().get_all(VARY).any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|name| name.trim().eq_ignore_ascii_case("accept-encoding"))
        })
    });
    let status = response.status();
    if !said && (status.is_success() || status == actix_web::http::StatusCode::NOT_MODIFIED) {
        response
            .headers_mut()
            .append(VARY, HeaderValue::from_static("accept-encoding"));
    }
    Ok(response)
}

/// Gives every error response the API's `{code, message}` body. The API's
/// own errors already have it; this catches what actix and the file service
/// answer by themselves (a hidden file, a path that tries to leave the web
/// root), so that no error body carries anything else.
fn uniform_error<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status.as_u16() {
        400 | 404 => ApiError::NotFound,
        405 => ApiError::MethodNotAllowed,
        413 => ApiError::PayloadTooLarge,
        429 => ApiError::RateLimited,
        _ if status.is_client_error() => ApiError::MalformedRequest,
        _ => ApiError::Internal,
    };
    let (req, _) = res.into_parts();
    let response = HttpResponse::from_error(error).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(
        req, response,
    )))
}

/// Unknown routes: `method_not_allowed` when the path is an API route that
/// takes another method, `not_found` otherwise.
async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    match ozvi_api::routes::allow_header(req.path()) {
        Some(allow) => {
            let mut response = HttpResponse::from_error(ApiError::MethodNotAllowed);
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
            response
        }
        None => HttpResponse::from_error(ApiError::NotFound),
    }
}

/// Finds the client's address (behind a trusted proxy, the one the proxy
/// saw: [`client::client_address`]), keeps its bucket in the request for the
/// handlers, and counts requests per bucket (a keyed hash: in memory, or in
/// the database shared by several relays: [`crate::admission`]).
async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    if let Some(state) = state {
        let address = req.peer_addr().map(|peer| {
            client::bucket(client::client_address(
                peer.ip(),
                req.headers(),
                &state.config.trusted_proxies,
            ))
        });
        if let Some(address) = address {
            req.extensions_mut().insert(address);
        }
        if let Some(address) = address {
            let allowed = state
                .limits
                .allow_address(
                    address.0,
                    state.clock.now(),
                    state.config.requests_per_address_per_minute,
                )
                .await;
            // Without the database the relay counts the request alone
            // (src/admission/mod.rs); any other failure to count refuses it
            // (503), never a pass (docs/API.md, "Admission").
            let refused = match allowed {
                Ok(true) => None,
                Ok(false) => {
                    Metrics::inc(&state.metrics.rate_limited);
                    Some(ApiError::RateLimited)
                }
                Err(e) => Some(ApiError::from(e)),
            };
            if let Some(error) = refused {
                let response = HttpResponse::from_error(error);
                return Ok(req.into_response(response).map_into_right_body());
            }
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The method as the access log writes it: one of the standard methods, or
/// `OTHER`. The method is chosen by the client, and a log that holds no
/// user data must not hold whatever a client writes there (an address, a
/// code, a canary).
pub fn loggable_method(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// One log line per request: method (a standard one or `OTHER`), the
/// matched route's pattern (a fixed string from the relay's own route table,
/// or `(unmatched)`: never the path the client sent), status and duration —
/// never the client address, the user agent, the URL's query, or any id.
async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = loggable_method(req.method());
    let route = req.match_pattern().unwrap_or_else(|| "(unmatched)".into());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let status = response.status();
    if let Some(state) = state {
        if status.is_client_error() {
            Metrics::inc(&state.metrics.client_errors);
        } else if status.is_server_error() {
            Metrics::inc(&state.metrics.server_errors);
        }
    }
    tracing::info!(
        method = %method,
        route = %route,
        status = status.as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}

/// How often a relay on a shared database looks for a directory another
/// relay installed.
pub const DIRECTORY_FOLLOW: Duration = Duration::from_secs(5);

/// Deletes threads that have been inactive longer than their centre's
/// retention, every `sweep_interval_secs`. Runs until the runtime stops.
///
/// On a database several relays share, also adopts every
/// [`DIRECTORY_FOLLOW`] a directory another relay installed
/// ([`AppState::adopt_stored_directory`]).
pub fn start_sweeper(state: web::Data<AppState>) {
    let interval = Duration::from_secs(state.config.sweep_interval_secs.max(1));
    if state.relays.is_some() {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(DIRECTORY_FOLLOW).await;
                match state.adopt_stored_directory().await {
                    Ok(true) => tracing::info!("adopted the directory another relay installed"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = ?e, "the stored directory was not adopted"),
                }
            }
        });
    }
    tokio::spawn(async move {
        loop {
            if let Err(e) = sweep(&state).await {
                tracing::error!(error = ?e, "retention sweep failed");
            }
            tokio::time::sleep(interval).await;
        }
    });
}

/// One retention sweep; returns how many threads it deleted (none when
/// another relay on the same database is sweeping: see [`try_sweep`]).
pub async fn sweep(state: &AppState) -> Result<usize, crate::store::StoreError> {
    Ok(try_sweep(state).await?.unwrap_or(0))
}

/// One retention sweep: threads inactive past their retention, files no
/// message claimed, spent nonces, admission's expired counters and keys.
/// On PostgreSQL one relay sweeps at a time, under an advisory lock
/// ([`crate::store::postgres::Relays::sweep_lock`]): `None` if another
/// holds it (this round is its). Returns how many threads it deleted.
pub async fn try_sweep(state: &AppState) -> Result<Option<usize>, crate::store::StoreError> {
    let lock = match &state.relays {
        Some(relays) => match relays.sweep_lock().await? {
            Some(lock) => Some(lock),
            None => {
                tracing::debug!("retention sweep skipped: another relay is sweeping");
                return Ok(None);
            }
        },
        None => None,
    };
    let swept = sweep_now(state).await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    swept.map(Some)
}

async fn sweep_now(state: &AppState) -> Result<usize, crate::store::StoreError> {
    let now = state.clock.now();
    let shortest = state
        .config
        .retention_days_by_centre
        .values()
        .copied()
        .chain([state.config.retention_days])
        .min()
        .unwrap_or(state.config.retention_days);
    let cutoff = now.saturating_sub(u64::from(shortest) * 86_400);
    let mut deleted = 0;
    for (mailbox, record) in state.store.inactive_since(cutoff).await? {
        let days = state.config.retention_days_for(record.centre.as_str());
        if record.last_activity + u64::from(days) * 86_400 <= now
            && state.store.delete_thread(&mailbox).await?
        {
            deleted += 1;
            Metrics::inc(&state.metrics.threads_expired);
        }
    }
    let files = sweep_files(state, now).await?;
    state.store.sweep_nonces(now).await?;
    state.limits.sweep(now).await?;
    if deleted > 0 || files > 0 {
        state.flusher.flush().await?;
        tracing::info!(deleted, files, "retention sweep");
    }
    Ok(deleted)
}

/// Removes uploads that no message claimed (or that never finished) within
/// `pending_file_secs`, and claimed files whose thread is gone (a crash
/// between a thread's deletion and its files'). Returns how many.
async fn sweep_files(state: &AppState, now: u64) -> Result<usize, crate::store::StoreError> {
    let receiving = |key: &[u8; 32]| {
        state
            .uploading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(key)
    };
    state
        .store
        .remove_stale_files(now, state.config.pending_file_secs, &receiving)
        .await
}
