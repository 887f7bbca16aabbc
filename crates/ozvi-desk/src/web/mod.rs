//! The local web UI (`ozvi-desk serve`).
//!
//! It listens on 127.0.0.1 only. The opening URL carries a random **launch
//! secret** in its fragment (`#k=…`). The page exchanges it once, at load,
//! for a **page token** (`POST /session`) that it keeps in memory only, and
//! removes it from the address bar; the launch secret is then spent, so the
//! URL in the browser's history or session files opens nothing. Every other
//! request needs the page token as a bearer token.
//!
//! The guard is default-deny: only the exact static assets (`/`, `/app.js`,
//! `/app.css`) are served without a token. It runs twice, so that no
//! spelling of a path can pass one check and reach a handler: once on every
//! request as it arrived, and once as middleware of the `/api` scope and of
//! `/session`, i.e. on whatever the router actually routed there after
//! percent-decoding. A request without the right secret, with a foreign
//! `Origin`, or with a `Host` other than this address is refused, so neither
//! another website (CSRF, DNS rebinding) nor another local user or process
//! can drive the desk. API calls that change anything must be JSON, which a
//! foreign page cannot send without a CORS preflight this server never
//! grants.
//!
//! The keystore is unlocked once per session; wrong passphrases are slowed
//! down with an exponential backoff. The desk locks again after the staff
//! member's own inactivity: only requests the page marks as hers
//! (`Ozvi-Intent: user`, sent for real keyboard and pointer input) count,
//! never live updates. Locking drops the keys (they zeroize).

mod api;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use rand_core::Rng;
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;
use zeroize::Zeroizing;

use crate::error::DeskError;
use crate::home::Home;
use crate::session::Session;

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The only paths served without a token, exactly as they must arrive.
const ASSETS: [&str; 3] = ["/", "/app.js", "/app.css"];

/// The header with which the page marks a request as caused by the staff
/// member's own input (`user`); anything else is a background request
/// (live updates, polling), which never extends the session.
pub const INTENT_HEADER: &str = "ozvi-intent";

/// Wrong passphrases allowed before the backoff starts (typing mistakes).
pub const FREE_UNLOCK_FAILURES: u32 = 3;
/// The longest wait between two unlock attempts.
pub const MAX_UNLOCK_DELAY: Duration = Duration::from_secs(15 * 60);

/// How long unlocking is refused after `failures` wrong passphrases in a
/// row: nothing for the first [`FREE_UNLOCK_FAILURES`], then 1 s, doubling
/// with every further failure, at most [`MAX_UNLOCK_DELAY`].
pub fn unlock_delay(failures: u32) -> Duration {
    if failures < FREE_UNLOCK_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_UNLOCK_FAILURES).min(20);
    Duration::from_secs(1u64 << doublings).min(MAX_UNLOCK_DELAY)
}

/// Wrong passphrases so far, kept in memory for as long as the desk runs.
#[derive(Default)]
struct Backoff {
    failures: u32,
    not_before: Option<Instant>,
}

/// The secrets that authorise the page.
#[derive(Default)]
struct Auth {
    /// The secret in the opening URL, until the page spends it.
    launch: Option<Zeroizing<String>>,
    /// The token of the page that spent it (in that page's memory only).
    page: Option<Zeroizing<String>>,
}

/// Which secret a request must carry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// The page token (the API).
    Page,
    /// The unspent launch secret (`POST /session`).
    Launch,
    /// Either (the outer, path-independent check).
    Either,
}

fn new_secret() -> Zeroizing<String> {
    let mut secret = Zeroizing::new([0u8; 32]);
    os_rng().fill_bytes(&mut secret[..]);
    Zeroizing::new(b64::encode(&secret[..]))
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// What the UI's handlers share.
pub struct WebState {
    home: Home,
    port: u16,
    auth: Mutex<Auth>,
    hosts: [String; 2],
    origins: [String; 2],
    session: RwLock<Option<Arc<Session>>>,
    /// Counts changes the relay reported for the centre (and locks); the
    /// page long-polls until it moves past the value it last saw, so no
    /// change is missed between two polls.
    generation: tokio::sync::watch::Sender<u64>,
    /// Changes in the centre seen since the desk locked itself (on the
    /// event stream that was open then): the locked page still says "2 new".
    while_locked: std::sync::atomic::AtomicU64,
    /// Moves on at every unlock: a follower of an earlier session stops.
    unlocks: std::sync::atomic::AtomicU64,
    /// The staff member's last own action (never a background request).
    last_activity: Mutex<Instant>,
    lock_after: Duration,
    /// Held during an unlock attempt: one attempt at a time.
    unlock: tokio::sync::Mutex<Backoff>,
}

impl WebState {
    fn touch(&self) {
        *self.last_activity.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// The unlocked session, if any. Handlers hold their own reference, so
    /// locking never waits for a request (the keys go when the last one ends).
    async fn current(&self) -> Option<Arc<Session>> {
        self.session.read().await.clone()
    }

    fn idle(&self) -> Duration {
        self.last_activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }

    /// Locks the desk: drops the keys and wakes every waiting page.
    async fn lock(&self) {
        let was = self.session.write().await.take();
        if was.is_some() {
            self.generation.send_modify(|g| *g += 1);
        }
    }

    fn auth(&self) -> std::sync::MutexGuard<'_, Auth> {
        self.auth.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new single-use opening URL; any unspent older one stops working.
    fn new_launch_url(&self) -> String {
        let secret = new_secret();
        let url = format!("http://127.0.0.1:{}/#k={}", self.port, secret.as_str());
        self.auth().launch = Some(secret);
        url
    }

    /// Spends the launch secret `presented` for a new page token; the page
    /// that held the previous token loses access.
    fn exchange(&self, presented: &str) -> Option<Zeroizing<String>> {
        let mut auth = self.auth();
        let matches = auth
            .launch
            .as_deref()
            .is_some_and(|launch| same(launch, presented));
        if !matches {
            return None;
        }
        auth.launch = None;
        let token = new_secret();
        auth.page = Some(token.clone());
        Some(token)
    }

    fn authorised(&self, presented: &str, need: Need) -> bool {
        let auth = self.auth();
        let page = auth.page.as_deref().is_some_and(|t| same(t, presented));
        let launch = auth.launch.as_deref().is_some_and(|t| same(t, presented));
        match need {
            Need::Page => page,
            Need::Launch => launch,
            Need::Either => page || launch,
        }
    }
}

/// A running desk UI.
pub struct Running {
    /// The server; await it, or stop it through its handle.
    pub server: Server,
    /// The URL to open, launch secret included (single use).
    pub url: String,
    state: web::Data<WebState>,
}

impl Running {
    /// Makes new single-use opening URLs (the previous one, if unspent,
    /// stops working; the page already open keeps working until a new URL
    /// is used).
    pub fn url_maker(&self) -> Arc<dyn Fn() -> String + Send + Sync> {
        let state = self.state.clone();
        Arc::new(move || state.new_launch_url())
    }
}

/// Starts the UI on `listener` (which must be bound to 127.0.0.1).
pub fn start(home: Home, listener: TcpListener, lock_after: Duration) -> anyhow::Result<Running> {
    let address = listener.local_addr()?;
    anyhow::ensure!(
        address.ip().is_loopback(),
        "the desk serves only on 127.0.0.1"
    );
    let port = address.port();
    let state = web::Data::new(WebState {
        home,
        port,
        auth: Mutex::new(Auth::default()),
        hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        origins: [
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
        ],
        session: RwLock::new(None),
        generation: tokio::sync::watch::Sender::new(0),
        while_locked: std::sync::atomic::AtomicU64::new(0),
        unlocks: std::sync::atomic::AtomicU64::new(0),
        last_activity: Mutex::new(Instant::now()),
        lock_after,
        unlock: tokio::sync::Mutex::new(Backoff::default()),
    });
    let url = state.new_launch_url();
    start_auto_lock(state.clone());
    let server_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(server_state.clone())
            .app_data(web::JsonConfig::default().limit(256 * 1024))
            .wrap(from_fn(outer_guard))
            .wrap(headers())
            .route("/", web::get().to(index))
            .route("/app.js", web::get().to(app_js))
            .route("/app.css", web::get().to(app_css))
            .service(
                web::resource("/session")
                    .wrap(from_fn(launch_guard))
                    .route(web::post().to(api::session)),
            )
            .service(
                web::scope("/api")
                    .wrap(from_fn(api_guard))
                    .configure(api::configure),
            )
            .default_service(web::to(|| async {
                HttpResponse::NotFound().json(serde_json::json!({"error": "not found"}))
            }))
    })
    .workers(1)
    .shutdown_timeout(2)
    .listen(listener)?
    .run();
    Ok(Running { server, url, state })
}

/// `ozvi-desk serve`: starts the UI and prints its URL; runs until Ctrl-C.
/// On a terminal, Enter prints a new single-use URL (for a reloaded or
/// closed page).
pub async fn serve(home: Home, port: u16, lock_after_minutes: u64) -> Result<(), DeskError> {
    home.settings()?;
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| DeskError::Io(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let running = start(
        home,
        listener,
        Duration::from_secs(lock_after_minutes.max(1) * 60),
    )
    .map_err(|e| DeskError::Io(e.to_string()))?;
    crate::launcher::listen(&running.state.home, running.url_maker())?;
    println!("Ozvi desk: open {}", running.url);
    println!("(only on this computer; the address works once; stop with Ctrl-C)");
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        println!("Press Enter for a new address (after a reload or a closed tab).");
        let state = running.state.clone();
        std::thread::spawn(move || {
            for _ in std::io::stdin().lines().map_while(Result::ok) {
                println!("Ozvi desk: open {}", state.new_launch_url());
            }
        });
    }
    running
        .server
        .await
        .map_err(|e| DeskError::Io(e.to_string()))
}

/// Follows the relay's event stream for as long as `session` is unlocked,
/// counting changes in `state.generation`. A dropped stream is reopened
/// after a pause, and counted as a change, since something may have been
/// missed meanwhile (every connection counts as a change). None of this is
/// the staff member's activity: it never delays the lock.
///
/// When the desk locks, the stream open at that moment is still read (its
/// signature was made while unlocked; no key is needed to read it), and its
/// changes are counted in `while_locked`, so the locked page can still say
/// that something new arrived, until that stream ends (the relay closes it
/// after `event_stream_max_secs`, an hour by default) or she unlocks.
fn follow(state: web::Data<WebState>, session: std::sync::Weak<Session>) {
    use std::sync::atomic::Ordering;
    let epoch = state.unlocks.load(Ordering::SeqCst);
    tokio::spawn(async move {
        loop {
            let Some(strong) = session.upgrade() else {
                return;
            };
            let opened = strong.events().await;
            drop(strong);
            if let Ok(mut response) = opened {
                // Connected: whatever happened before is now covered by a
                // refresh of the page.
                state.generation.send_modify(|g| *g += 1);
                loop {
                    match tokio::time::timeout(Duration::from_secs(30), response.chunk()).await {
                        Ok(Ok(Some(chunk))) => {
                            if chunk.windows(13).any(|w| w == b"event: change") {
                                if session.strong_count() == 0 {
                                    state.while_locked.fetch_add(1, Ordering::SeqCst);
                                }
                                state.generation.send_modify(|g| *g += 1);
                            }
                        }
                        Ok(_) => break,
                        Err(_) => {}
                    }
                    if state.unlocks.load(Ordering::SeqCst) != epoch {
                        return; // a newer session follows its own stream
                    }
                }
            }
            if session.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

fn start_auto_lock(state: web::Data<WebState>) {
    let period = (state.lock_after / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            if state.idle() >= state.lock_after && state.current().await.is_some() {
                state.lock().await;
                tracing::info!("locked after inactivity");
            }
        }
    });
}

/// The security headers of every answer (shared with the relay's, in
/// `ozvi_api::headers::security`).
fn headers() -> DefaultHeaders {
    use ozvi_api::headers::security;
    let mut headers = DefaultHeaders::new().add((security::CSP, security::DESK_CSP));
    for header in security::EVERY_RESPONSE {
        headers = headers.add(*header);
    }
    headers
}

fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message }))
}

/// The message of a refusal for a missing or wrong secret.
pub const NO_SECRET: &str = "open the desk from the address ozvi-desk serve printed";

/// Every check a request must pass to reach anything but the static
/// assets: the right `Host`, no foreign `Origin`, the secret `need` names,
/// and JSON for anything but GET.
fn check(
    req: &ServiceRequest,
    state: &WebState,
    need: Option<Need>,
) -> Option<(StatusCode, &'static str)> {
    let header_text =
        |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    if !header_text(header::HOST).is_some_and(|h| state.hosts.iter().any(|x| x == h)) {
        return Some((StatusCode::FORBIDDEN, "wrong host"));
    }
    let need = need?;
    if !header_text(header::ORIGIN).is_none_or(|o| state.origins.iter().any(|x| x == o)) {
        return Some((StatusCode::FORBIDDEN, "foreign origin"));
    }
    let token_ok = header_text(header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| state.authorised(t, need));
    if !token_ok {
        return Some((StatusCode::UNAUTHORIZED, NO_SECRET));
    }
    let json_ok = req.method() == actix_web::http::Method::GET
        || header_text(header::CONTENT_TYPE).is_some_and(|c| c.starts_with("application/json"));
    if !json_ok {
        return Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, "JSON only"));
    }
    None
}

async fn run_checked(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    need: impl FnOnce(&ServiceRequest) -> Option<Need>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<WebState>>().cloned() else {
        let response = refuse(StatusCode::INTERNAL_SERVER_ERROR, "no state");
        return Ok(req.into_response(response).map_into_right_body());
    };
    let need = need(&req);
    if let Some((status, message)) = check(&req, &state, need) {
        return Ok(req
            .into_response(refuse(status, message))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// On every request, on the path as it arrived: the `Host` check, and
/// default-deny — anything but an exact static asset needs a secret.
async fn outer_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    run_checked(req, next, |req| {
        let asset = ASSETS.contains(&req.path())
            && matches!(
                *req.method(),
                actix_web::http::Method::GET | actix_web::http::Method::HEAD
            );
        (!asset).then_some(Need::Either)
    })
    .await
}

/// On whatever the router routed into `/api`, however it was spelled: the
/// page token.
async fn api_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    run_checked(req, next, |_| Some(Need::Page)).await
}

/// On whatever the router routed to `/session`: the unspent launch secret.
async fn launch_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    run_checked(req, next, |_| Some(Need::Launch)).await
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(INDEX)
}

async fn app_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(APP_JS)
}

async fn app_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(APP_CSS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlock_delays_grow_exponentially_after_the_free_attempts() {
        assert_eq!(unlock_delay(0), Duration::ZERO);
        assert_eq!(unlock_delay(FREE_UNLOCK_FAILURES - 1), Duration::ZERO);
        assert_eq!(unlock_delay(FREE_UNLOCK_FAILURES), Duration::from_secs(1));
        assert_eq!(
            unlock_delay(FREE_UNLOCK_FAILURES + 1),
            Duration::from_secs(2)
        );
        assert_eq!(
            unlock_delay(FREE_UNLOCK_FAILURES + 5),
            Duration::from_secs(32)
        );
        assert_eq!(unlock_delay(u32::MAX), MAX_UNLOCK_DELAY);
        for n in 0..100 {
            assert!(unlock_delay(n) <= unlock_delay(n + 1));
        }
    }
}
