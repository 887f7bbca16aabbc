//! What relays on one PostgreSQL database tell each other (issue 16): live
//! updates by `LISTEN`/`NOTIFY`, and one retention sweep at a time under an
//! advisory lock.
//!
//! **Live updates.** A relay that committed a change broadcasts it to its own
//! event streams ([`crate::state::AppState::notify`]) and publishes it on the
//! channel [`CHANNEL`] with `pg_notify`. The payload is fixed-shape and says
//! which thread changed, never what: `RELAY MAILBOX CENTRE SEQ`, the
//! publishing process's random id (32 hex digits, new at every start, so a
//! relay ignores its own), the mailbox id (32 hex digits: the database holds
//! it already), the centre id and the thread's newest sequence number.
//! Publishing never makes a write fail or wait: the payload is queued for one
//! publishing task, which sends what has queued in one statement. A change
//! that cannot be published (the queue is full, or the statement fails) is
//! logged (never the payload) and not sent again; instead the publishing
//! task sends a catch-up notice, `RELAY catch-up`, with its next statement
//! that gets through, retrying with backoff until one does. Every other
//! relay then tells its streams to fetch by cursor, as after its own lost
//! connection, so a change that never reached the channel is still seen.
//!
//! Each relay runs one listening task on its own connection, not the pool's
//! (a pooled connection's notifications are dropped by the pool), named
//! [`LISTENER_NAME`] in `pg_stat_activity`. It re-broadcasts other relays'
//! changes on the local channel, so that its streams hear them as their own;
//! a payload that does not parse exactly is dropped with a warning that does
//! not quote it. When the connection drops (or stops answering the health
//! query every [`HEALTH_EVERY`]) it reconnects with backoff, `LISTEN`s again
//! and then broadcasts [`Event::CatchUp`]: changes published meanwhile were
//! not heard, so every open stream is told to fetch by its cursor.
//!
//! **Sweeping.** [`Relays::sweep_lock`] takes a session advisory lock
//! ([`SWEEP_LOCK`]) without waiting, on a connection of the pool that it
//! holds until [`SweepLock::release`]; a relay that does not get it skips
//! that round, another is sweeping.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use futures_util::StreamExt as _;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::{AsyncMessage, NoTls};

use super::{PgError, describe};
use crate::state::{Change, Event};
use crate::store::{CentreId, StoreError};

/// The `LISTEN`/`NOTIFY` channel of live updates.
pub const CHANNEL: &str = "ozvi_changes";

/// The listening connection's `application_name`.
pub const LISTENER_NAME: &str = "ozvi-relay-listener";

/// The advisory lock held by the relay that sweeps ("ozvi-swp" in ASCII;
/// migrations use "ozvi", a mailbox's files 64 bits of a hash of its id).
pub const SWEEP_LOCK: i64 = 0x6f7a_7669_2d73_7770;

/// How often the listening connection is asked a trivial query, so that a
/// connection that silently died is noticed.
pub const HEALTH_EVERY: Duration = Duration::from_secs(30);

/// How long the health query, a `LISTEN` or a batch of `NOTIFY`s may take.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The first wait before reconnecting; doubled at each failure up to
/// [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Changes waiting to be published; beyond, one is dropped (and logged).
const OUTBOX: usize = 4096;

/// Most notifications sent in one statement.
const BATCH: usize = 256;

/// The link to the other relays, before it is started.
pub struct Link {
    pool: Pool,
    listen: tokio_postgres::Config,
}

impl Link {
    /// A link on the database at `url` (the store's), publishing and
    /// locking through `pool`.
    pub fn new(url: &str, pool: Pool) -> Result<Self, PgError> {
        let mut listen: tokio_postgres::Config = url.parse().map_err(|_| PgError::Url)?;
        listen.application_name(LISTENER_NAME);
        if listen.get_connect_timeout().is_none() {
            listen.connect_timeout(STATEMENT_TIMEOUT);
        }
        // As the pool's (see `connect_with`): a vanished peer is noticed in
        // about 25 s, besides the health query.
        listen
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        Ok(Self { pool, listen })
    }

    /// Starts the listening and publishing tasks (on the current Tokio
    /// runtime); other relays' changes are sent on `events`.
    pub fn start(self, events: broadcast::Sender<Event>) -> Relays {
        let id = relay_id();
        let (outbox, queued) = mpsc::channel(OUTBOX);
        let missed = Arc::new(AtomicBool::new(false));
        tokio::spawn(publish(
            self.pool.clone(),
            queued,
            id.clone(),
            Arc::clone(&missed),
        ));
        tokio::spawn(listen(self.listen, id.clone(), events));
        Relays {
            id,
            pool: self.pool,
            outbox,
            missed,
        }
    }
}

/// The running link (see the module's doc).
pub struct Relays {
    id: String,
    pool: Pool,
    outbox: mpsc::Sender<String>,
    /// Set when a change could not be published: the publishing task owes
    /// the other relays a catch-up notice.
    missed: Arc<AtomicBool>,
}

impl Relays {
    /// Queues `change` for the other relays; never waits.
    pub fn publish(&self, change: &Change) {
        match self.outbox.try_send(payload(&self.id, change)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.missed.store(true, Ordering::SeqCst);
                tracing::warn!(
                    "live update not published to the other relays: queue full; \
                     they will be told to catch up"
                );
            }
            // The runtime is stopping.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// This process's id in the payloads it publishes (32 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The sweep lock if no relay holds it, `None` if one does.
    pub async fn sweep_lock(&self) -> Result<Option<SweepLock>, StoreError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|_| StoreError::Unavailable("cannot get a database connection".into()))?;
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SWEEP_LOCK])
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        let taken: bool = row
            .try_get(0)
            .map_err(|e| StoreError::Backend(describe(&e)))?;
        Ok(taken.then_some(SweepLock {
            client: Some(client),
        }))
    }
}

/// The sweep lock, held by a connection of the pool. Released by
/// [`SweepLock::release`]; dropped without it, its connection is closed
/// rather than returned to the pool, which releases the lock too.
pub struct SweepLock {
    client: Option<Object>,
}

impl SweepLock {
    /// Releases the lock; the connection goes back to the pool if the
    /// server confirmed, else it is closed (which releases it as well).
    pub async fn release(mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let unlocked = client
            .query_one("SELECT pg_advisory_unlock($1)", &[&SWEEP_LOCK])
            .await
            .ok()
            .and_then(|row| row.try_get::<_, bool>(0).ok());
        if unlocked != Some(true) {
            drop(Object::take(client));
        }
    }
}

impl Drop for SweepLock {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

/// A random id for this process (16 bytes, hex).
fn relay_id() -> String {
    use rand_core::Rng as _;
    let mut id = [0u8; 16];
    ozvi_crypto::primitives::rng::os_rng().fill_bytes(&mut id);
    crate::store::files::hex(&id)
}

/// `RELAY MAILBOX CENTRE SEQ`.
fn payload(relay: &str, change: &Change) -> String {
    let mut out = String::with_capacity(112);
    let _ = write!(
        out,
        "{relay} {} {} {}",
        crate::store::files::hex(&change.mailbox),
        change.centre,
        change.seq
    );
    out
}

/// `RELAY catch-up`: changes of this relay's may not have reached the
/// channel.
fn catch_up_payload(relay: &str) -> String {
    format!("{relay} {CATCH_UP}")
}

/// The second word of a catch-up notice.
const CATCH_UP: &str = "catch-up";

/// What another relay published.
#[derive(Debug, PartialEq, Eq)]
pub enum Notice {
    /// One of its threads changed.
    Change(Change),
    /// Some of its changes may not have been published: every stream should
    /// fetch by cursor.
    CatchUp,
}

/// A payload from another relay: `Some((relay, notice))` if it has exactly
/// the shape [`payload`] or [`catch_up_payload`] writes, else `None`.
pub fn parse(text: &str) -> Option<(&str, Notice)> {
    let mut parts = text.split(' ');
    let relay = parts.next().filter(|r| is_hex(r, 32))?;
    let second = parts.next()?;
    if second == CATCH_UP {
        return parts.next().is_none().then_some((relay, Notice::CatchUp));
    }
    let mailbox = from_hex::<16>(second)?;
    let centre = parts.next().and_then(CentreId::parse)?;
    let seq = parts
        .next()
        .filter(|s| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())?;
    if parts.next().is_some() {
        return None;
    }
    Some((
        relay,
        Notice::Change(Change {
            mailbox,
            centre: centre.as_str().to_string(),
            seq,
        }),
    ))
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if !is_hex(text, N * 2) {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// The publishing task: sends what has queued, a batch per statement. While
/// a change is owed ([`Relays::missed`]), a catch-up notice goes with the
/// next batch, and without waiting for a change it is retried with backoff
/// until it gets through.
async fn publish(
    pool: Pool,
    mut queued: mpsc::Receiver<String>,
    id: String,
    missed: Arc<AtomicBool>,
) {
    let mut retry = BACKOFF_MIN;
    loop {
        let first = if missed.load(Ordering::SeqCst) {
            match tokio::time::timeout(retry, queued.recv()).await {
                Ok(None) => return,
                Ok(Some(first)) => Some(first),
                Err(_) => None,
            }
        } else {
            match queued.recv().await {
                None => return,
                first => first,
            }
        };
        let mut batch: Vec<String> = first.into_iter().collect();
        while batch.len() < BATCH {
            match queued.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let changes = batch.len();
        if missed.swap(false, Ordering::SeqCst) {
            batch.push(catch_up_payload(&id));
        }
        let sent = tokio::time::timeout(STATEMENT_TIMEOUT, send(&pool, &batch)).await;
        let cause = match sent {
            Ok(Ok(())) => {
                retry = BACKOFF_MIN;
                continue;
            }
            Ok(Err(cause)) => cause,
            Err(_) => "timed out".to_string(),
        };
        missed.store(true, Ordering::SeqCst);
        retry = (retry * 2).min(BACKOFF_MAX);
        tracing::warn!(changes, error = %cause,
            "live updates not published to the other relays; they will be told to catch up");
    }
}

async fn send(pool: &Pool, batch: &[String]) -> Result<(), String> {
    let client = pool
        .get()
        .await
        .map_err(|_| "cannot get a database connection".to_string())?;
    let statement = client
        .prepare_cached("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
        .await
        .map_err(|e| describe(&e))?;
    client
        .execute(&statement, &[&CHANNEL, &batch])
        .await
        .map_err(|e| describe(&e))?;
    Ok(())
}

/// The listening task: forever connects, listens, and re-broadcasts.
async fn listen(config: tokio_postgres::Config, id: String, events: broadcast::Sender<Event>) {
    let mut backoff = BACKOFF_MIN;
    let mut first = true;
    loop {
        let catch_up = !std::mem::replace(&mut first, false);
        match listen_once(&config, &id, &events, catch_up).await {
            // It was listening: the next failure starts from the shortest wait.
            Ok(cause) => {
                backoff = BACKOFF_MIN;
                tracing::warn!(
                    cause,
                    "live updates from the other relays interrupted; reconnecting"
                );
            }
            Err(cause) => {
                tracing::warn!(error = %cause,
                    "cannot listen for the other relays' live updates; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection's life: `Err` if it never got to listen, `Ok(why)` when
/// it stopped after listening; `catch_up`: tell every stream to look once
/// listening.
async fn listen_once(
    config: &tokio_postgres::Config,
    id: &str,
    events: &broadcast::Sender<Event>,
    catch_up: bool,
) -> Result<&'static str, String> {
    let (client, mut connection) = tokio::time::timeout(STATEMENT_TIMEOUT, config.connect(NoTls))
        .await
        .map_err(|_| "timed out connecting".to_string())?
        .map_err(|e| describe(&e))?;
    // The connection's messages: other relays' changes are re-broadcast,
    // notices dropped (they could quote a statement); the task ends with
    // the connection.
    let mut driver = {
        let (id, events) = (id.to_string(), events.clone());
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let AsyncMessage::Notification(n) = message {
                    rebroadcast(n.payload(), &id, &events);
                }
            }
        })
    };
    let subscribed = tokio::time::timeout(
        STATEMENT_TIMEOUT,
        client.batch_execute(&format!("LISTEN {CHANNEL}")),
    )
    .await;
    match subscribed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            driver.abort();
            return Err(describe(&e));
        }
        Err(_) => {
            driver.abort();
            return Err("timed out subscribing".into());
        }
    }
    // Subscribed again: whatever was published since the last connection
    // dropped (or while the first attempts failed) was missed. (Before the
    // first attempt the relay served nothing yet.)
    if catch_up {
        let _ = events.send(Event::CatchUp);
    }
    let mut health = tokio::time::interval(HEALTH_EVERY);
    health.tick().await;
    let why = loop {
        tokio::select! {
            _ = &mut driver => break "connection closed",
            _ = health.tick() => {
                let alive =
                    tokio::time::timeout(STATEMENT_TIMEOUT, client.simple_query("SELECT 1")).await;
                if !matches!(alive, Ok(Ok(_))) {
                    break "connection not answering";
                }
            }
        }
    };
    driver.abort();
    Ok(why)
}

/// Sends another relay's change on the local channel.
fn rebroadcast(text: &str, id: &str, events: &broadcast::Sender<Event>) {
    match parse(text) {
        Some((relay, _)) if relay == id => {}
        Some((_, Notice::Change(change))) => {
            let _ = events.send(Event::Change(change));
        }
        Some((_, Notice::CatchUp)) => {
            let _ = events.send(Event::CatchUp);
        }
        None => tracing::warn!("a malformed live update was ignored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> Change {
        Change {
            mailbox: [0xab; 16],
            centre: "ic-zlin".into(),
            seq: 42,
        }
    }

    #[test]
    fn a_payload_parses_back() {
        let id = relay_id();
        let text = payload(&id, &change());
        assert_eq!(text.len(), 32 + 1 + 32 + 1 + 7 + 1 + 2);
        assert_eq!(parse(&text), Some((id.as_str(), Notice::Change(change()))));
        let text = catch_up_payload(&id);
        assert_eq!(text.len(), 32 + 1 + 8);
        assert_eq!(parse(&text), Some((id.as_str(), Notice::CatchUp)));
    }

    #[test]
    fn anything_else_is_refused() {
        let id = "0123456789abcdef0123456789abcdef";
        let mailbox = "abababababababababababababababab";
        let good = format!("{id} {mailbox} ic-zlin 42");
        assert!(parse(&good).is_some());
        for bad in [
            String::new(),
            format!("{id} {mailbox} ic-zlin"),
            format!("{id} {mailbox} ic-zlin 42 "),
            format!("{id} {mailbox} ic-zlin 42 7"),
            format!("{id}  {mailbox} ic-zlin 42"),
            format!("{id} {mailbox} ic-zlin -1"),
            format!("{id} {mailbox} ic-zlin +1"),
            format!("{id} {mailbox} ic-zlin 18446744073709551616"),
            format!("{id} {mailbox} IC-ZLIN 42"),
            format!("{id} {mailbox}  42"),
            format!("{id} ABABABABABABABABABABABABABABABAB ic-zlin 42"),
            format!("{id} abab ic-zlin 42"),
            format!("{id}0 {mailbox} ic-zlin 42"),
            format!("{id} {mailbox}x ic-zlin 42"),
            format!("{id} {mailbox} ic-zlin 4\u{0662}"),
            format!("{id} catch-up "),
            format!("{id}  catch-up"),
            format!("{id} catch-up 42"),
            format!("{id} xcatch-up"),
            format!("{id} Catch-up"),
            format!("{id}catch-up"),
            "catch-up".to_string(),
        ] {
            assert_eq!(parse(&bad), None, "{bad:?}");
        }
    }
}
