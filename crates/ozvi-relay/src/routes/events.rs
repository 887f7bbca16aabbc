//! Live updates as server-sent events. A client keeps one request open and
//! hears `event: change` within a moment of a new message; it then fetches
//! what is new with the ordinary routes. The browser opens the stream with
//! `fetch` (so the auth headers can be sent); clients that cannot keep a
//! stream open poll the same routes instead.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::error::{ApiError, ErrorBody};
use crate::state::{AppState, Event};

/// A comment line is sent this often so proxies keep the stream open.
const KEEPALIVE: Duration = Duration::from_secs(15);

fn stream(rx: Receiver<Event>, wanted: impl Fn(&Event) -> bool + 'static) -> HttpResponse {
    let opening = futures_util::stream::once(async {
        Ok::<_, actix_web::Error>(web::Bytes::from_static(b": connected\n\n"))
    });
    let updates = futures_util::stream::unfold((rx, wanted), |(mut rx, wanted)| async move {
        loop {
            let chunk = match tokio::time::timeout(KEEPALIVE, rx.recv()).await {
                Err(_) => web::Bytes::from_static(b": keepalive\n\n"),
                Ok(Ok(event)) if wanted(&event) => {
                    web::Bytes::from(format!("event: change\ndata: {}\n\n", event.seq))
                }
                Ok(Ok(_)) => continue,
                // Missed events: tell the client to look, it will find out what.
                Ok(Err(RecvError::Lagged(_))) => {
                    web::Bytes::from_static(b"event: change\ndata: 0\n\n")
                }
                Ok(Err(RecvError::Closed)) => return None,
            };
            return Some((Ok::<_, actix_web::Error>(chunk), (rx, wanted)));
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(futures_util::StreamExt::chain(opening, updates))
}

/// `GET /api/v1/mailbox/events`: changes in the person's thread.
#[utoipa::path(get, path = "/api/v1/mailbox/events", tag = "person",
    params(("Ozvi-Mailbox" = String, Header, description = "The mailbox id, base64url (16 bytes)."),
        ("Ozvi-Auth" = String, Header, description = "The auth secret, base64url (32 bytes).")),
    security(("mailbox" = [])),
    responses((status = 200, description = "Server-sent events: `event: change` with the newest \
        sequence number (0: look anyway) whenever the thread changes; a comment every 15 s.",
        content_type = "text/event-stream", body = String),
        (status = 401, description = "`wrong_auth`", body = ErrorBody),
        (status = 404, description = "`unknown_mailbox`", body = ErrorBody)))]
pub async fn person_events(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (mailbox, _) = super::person::authenticate(&state, &req)?;
    let rx = state.events.subscribe();
    Ok(stream(rx, move |e| e.mailbox == mailbox.0))
}

/// `GET /api/v1/staff/events`: changes in the staff member's centre.
#[utoipa::path(get, path = "/api/v1/staff/events", tag = "staff",
    params(("Ozvi-Key" = String, Header, description = "The staff Ed25519 public key, base64url."),
        ("Ozvi-Timestamp" = u64, Header, description = "Unix seconds; within 60 s of the relay's clock."),
        ("Ozvi-Nonce" = String, Header, description = "16 random bytes, base64url; single use."),
        ("Ozvi-Signature" = String, Header, description = "Ed25519 signature (PROTOCOL.md §7), base64url.")), security(("staff" = [])),
    responses((status = 200, description = "Server-sent events: `event: change` whenever a thread \
        of the centre changes; a comment every 15 s.", content_type = "text/event-stream",
        body = String),
        (status = 401, description = "`missing_signature`, `bad_signature`, `stale_request` or \
            `replayed_request`", body = ErrorBody),
        (status = 403, description = "`unknown_staff_key`", body = ErrorBody)))]
pub async fn staff_events(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (staff, _) = super::staff::authenticate(&state, &req, b"")?;
    let rx = state.events.subscribe();
    Ok(stream(rx, move |e| e.centre == staff.centre))
}
