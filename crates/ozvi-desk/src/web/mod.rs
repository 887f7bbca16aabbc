//! The local web UI (`ozvi-desk serve`).
//!
//! It listens on 127.0.0.1 only. The opening URL carries a random secret in
//! its fragment (`#k=…`, never sent to any server or written to history by
//! the relay); the page sends it as a bearer token with every API call. A
//! request without it, with a foreign `Origin`, or with a `Host` other than
//! this address is refused, so neither another website (CSRF, DNS
//! rebinding) nor another local user can drive the desk. API calls that
//! change anything must be JSON, which a foreign page cannot send without a
//! CORS preflight this server never grants.
//!
//! The keystore is unlocked once per session and locked again after a
//! period without activity; locking drops the keys (they zeroize).

mod api;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use rand_core::Rng;
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use crate::error::DeskError;
use crate::home::Home;
use crate::session::Session;

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// What the UI's handlers share.
pub struct WebState {
    home: Home,
    token: String,
    hosts: [String; 2],
    origins: [String; 2],
    session: RwLock<Option<Arc<Session>>>,
    /// Counts changes the relay reported for the centre; the page long-polls
    /// until it moves past the value it last saw, so no change is missed
    /// between two polls.
    generation: tokio::sync::watch::Sender<u64>,
    last_activity: Mutex<Instant>,
    lock_after: Duration,
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
}

/// A running desk UI.
pub struct Running {
    /// The server; await it, or stop it through its handle.
    pub server: Server,
    /// The URL to open, secret included.
    pub url: String,
}

/// Starts the UI on `listener` (which must be bound to 127.0.0.1).
pub fn start(home: Home, listener: TcpListener, lock_after: Duration) -> anyhow::Result<Running> {
    let address = listener.local_addr()?;
    anyhow::ensure!(
        address.ip().is_loopback(),
        "the desk serves only on 127.0.0.1"
    );
    let port = address.port();
    let mut secret = [0u8; 32];
    os_rng().fill_bytes(&mut secret);
    let token = b64::encode(&secret);
    let state = web::Data::new(WebState {
        home,
        hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        origins: [
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
        ],
        token: token.clone(),
        session: RwLock::new(None),
        generation: tokio::sync::watch::Sender::new(0),
        last_activity: Mutex::new(Instant::now()),
        lock_after,
    });
    start_auto_lock(state.clone());
    let server_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(server_state.clone())
            .app_data(web::JsonConfig::default().limit(256 * 1024))
            .wrap(from_fn(guard))
            .wrap(headers())
            .route("/", web::get().to(index))
            .route("/app.js", web::get().to(app_js))
            .route("/app.css", web::get().to(app_css))
            .configure(api::configure)
            .default_service(web::to(|| async {
                HttpResponse::NotFound().json(serde_json::json!({"error": "not found"}))
            }))
    })
    .workers(1)
    .shutdown_timeout(2)
    .listen(listener)?
    .run();
    Ok(Running {
        server,
        url: format!("http://127.0.0.1:{port}/#k={token}"),
    })
}

/// `ozvi-desk serve`: starts the UI and prints its URL; runs until Ctrl-C.
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
    println!("Ozvi desk: open {}", running.url);
    println!("(only on this computer; stop with Ctrl-C)");
    running
        .server
        .await
        .map_err(|e| DeskError::Io(e.to_string()))
}

/// Follows the relay's event stream for as long as `session` is unlocked,
/// counting changes in `state.generation`. A dropped stream is reopened
/// after a pause, and counted as a change, since something may have been
/// missed meanwhile (every connection counts as a change).
fn follow(state: web::Data<WebState>, session: std::sync::Weak<Session>) {
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
                                state.generation.send_modify(|g| *g += 1);
                            }
                        }
                        Ok(_) => break,
                        Err(_) => {}
                    }
                    if session.strong_count() == 0 {
                        return;
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
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            if state.idle() >= state.lock_after {
                let mut session = state.session.write().await;
                if session.is_some() {
                    *session = None;
                    tracing::info!("locked after inactivity");
                }
            }
        }
    });
}

fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"))
}

fn refuse(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message }))
}

/// Host check on everything; on the API also the Origin check, the bearer
/// secret and JSON bodies.
async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    use actix_web::http::StatusCode;
    let Some(state) = req.app_data::<web::Data<WebState>>().cloned() else {
        let response = refuse(StatusCode::INTERNAL_SERVER_ERROR, "no state");
        return Ok(req.into_response(response).map_into_right_body());
    };
    let header_text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let host_ok = header_text(header::HOST).is_some_and(|h| state.hosts.contains(&h));
    let refusal = if !host_ok {
        Some((StatusCode::FORBIDDEN, "wrong host"))
    } else if req.path().starts_with("/api/") {
        let origin_ok = header_text(header::ORIGIN).is_none_or(|o| state.origins.contains(&o));
        let token_ok = header_text(header::AUTHORIZATION)
            .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(state.token.as_bytes())));
        let json_ok = req.method() == actix_web::http::Method::GET
            || header_text(header::CONTENT_TYPE).is_some_and(|c| c.starts_with("application/json"));
        if !origin_ok {
            Some((StatusCode::FORBIDDEN, "foreign origin"))
        } else if !token_ok {
            Some((
                StatusCode::UNAUTHORIZED,
                "open the desk from the address ozvi-desk serve printed",
            ))
        } else if !json_ok {
            Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, "JSON only"))
        } else {
            None
        }
    } else {
        None
    };
    if let Some((status, message)) = refusal {
        return Ok(req
            .into_response(refuse(status, message))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
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
