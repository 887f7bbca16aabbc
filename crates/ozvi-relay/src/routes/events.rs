//! Live updates as server-sent events. A client keeps one request open and
//! hears `event: change` within a moment of a new message; it then fetches
//! what is new with the ordinary routes. The browser opens the stream with
//! `fetch` (so the auth headers can be sent); clients that cannot keep a
//! stream open poll the same routes instead.
//!
//! A stream hears [`Event::Change`]s of its thread (a person's) or of its
//! centre (staff's), and says `data: 0` (look, by cursor) when changes may
//! have been missed: this stream fell behind the relay's channel, or the
//! relay's link to the other relays on its PostgreSQL database was lost and
//! is back ([`Event::CatchUp`], every stream alike). On PostgreSQL the
//! changes written through the other relays are heard too
//! ([`crate::store::postgres::relays`]).

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::error::ApiError;
use crate::state::{AppState, Change, Event};
use crate::streams::{Owner, Ticket};

/// A comment line is sent this often so proxies keep the stream open.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The stream's state between chunks. The ticket holds the stream's place
/// in [`crate::streams::Streams`] until the body is dropped (the client
/// went away, or the stream ended).
struct Follow<F> {
    rx: Receiver<Event>,
    wanted: F,
    ticket: Ticket,
    until: tokio::time::Instant,
}

/// Look by cursor: something may have been missed.
const LOOK: &[u8] = b"event: change\ndata: 0\n\n";

/// What a stream that follows the changes `wanted` says on `event`, if
/// anything.
fn chunk(event: &Event, wanted: impl Fn(&Change) -> bool) -> Option<web::Bytes> {
    match event {
        Event::Change(change) if wanted(change) => Some(web::Bytes::from(format!(
            "event: change\ndata: {}\n\n",
            change.seq
        ))),
        Event::Change(_) => None,
        Event::CatchUp => Some(web::Bytes::from_static(LOOK)),
    }
}

fn stream(
    rx: Receiver<Event>,
    ticket: Ticket,
    max_age: Duration,
    wanted: impl Fn(&Change) -> bool + 'static,
) -> HttpResponse {
    let opening = futures_util::stream::once(async {
        Ok::<_, actix_web::Error>(web::Bytes::from_static(b": connected\n\n"))
    });
    let follow = Follow {
        rx,
        wanted,
        ticket,
        until: tokio::time::Instant::now() + max_age,
    };
    let updates = futures_util::stream::unfold(follow, |mut f| async move {
        loop {
            let received = tokio::select! {
                // Ended by the relay: over the owner's cap, or the key left
                // the directory.
                () = f.ticket.end.notified() => return None,
                // Old enough: the client reconnects (or polls) with its cursor.
                () = tokio::time::sleep_until(f.until) => return None,
                received = tokio::time::timeout(KEEPALIVE, f.rx.recv()) => received,
            };
            let chunk = match received {
                Err(_) => web::Bytes::from_static(b": keepalive\n\n"),
                Ok(Ok(event)) => match chunk(&event, &f.wanted) {
                    Some(chunk) => chunk,
                    None => continue,
                },
                // Missed events: tell the client to look, it will find out what.
                Ok(Err(RecvError::Lagged(_))) => web::Bytes::from_static(LOOK),
                Ok(Err(RecvError::Closed)) => return None,
            };
            return Some((Ok::<_, actix_web::Error>(chunk), f));
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(futures_util::StreamExt::chain(opening, updates))
}

/// A place for a new stream of `owner`, or `too_many_streams`.
fn open(state: &AppState, req: &HttpRequest, owner: Owner) -> Result<Ticket, ApiError> {
    // The bucket the rate-limit middleware found for this request.
    let address = {
        use actix_web::HttpMessage as _;
        req.extensions()
            .get::<crate::client::ClientAddress>()
            .map(|c| c.0)
    };
    state.streams.open(owner, address).inspect_err(|_| {
        crate::metrics::Metrics::inc(&state.metrics.rate_limited);
    })
}

fn max_age(state: &AppState) -> Duration {
    Duration::from_secs(state.config.event_stream_max_secs.max(1))
}

/// `GET /api/v1/mailbox/events`: changes in the person's thread.
pub async fn person_events(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (mailbox, _) = super::person::authenticate(&state, &req).await?;
    let ticket = open(&state, &req, Owner::Thread(mailbox.0))?;
    let rx = state.events.subscribe();
    Ok(stream(rx, ticket, max_age(&state), move |e| {
        e.mailbox == mailbox.0
    }))
}

/// `GET /api/v1/staff/events`: changes in the staff member's centre.
pub async fn staff_events(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (staff, _) = super::staff::authenticate(&state, &req, b"").await?;
    let ticket = open(
        &state,
        &req,
        Owner::Staff {
            key: staff.key,
            centre: staff.centre.clone(),
        },
    )?;
    // A directory installed meanwhile (after the signature was checked, before
    // the stream was counted) ended the streams of keys it dropped; this one
    // must not escape that.
    if !crate::streams::listed(&state.directory()?.directory, &staff.key, &staff.centre) {
        return Err(ApiError::UnknownStaffKey);
    }
    let rx = state.events.subscribe();
    Ok(stream(rx, ticket, max_age(&state), move |e| {
        e.centre == staff.centre
    }))
}
