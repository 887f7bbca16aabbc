//! The relay's log: standard error, filtered by `OZVI_LOG`.
//!
//! actix-http answers requests it cannot parse (a malformed request line,
//! two `Content-Length` headers, a header block over its limit) by itself,
//! before any of the relay's code runs, and logs an ERROR line for each
//! (`stream error: …`). Anyone could fill the log with those, one line per
//! request. They are taken out of the log here and counted instead; a
//! summary with the count is written at most once a minute.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, filter_fn};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// What is logged unless `OZVI_LOG` says otherwise.
pub const DEFAULT_LOG: &str = "info";

/// How often the summary of HTTP-layer errors is written (when there were any).
pub const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// Whether an event is one of actix-http's own per-connection error lines.
pub fn is_http_layer_error(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with("actix_http::h1")
        && *metadata.level() <= Level::WARN
        && metadata.is_event()
}

/// Whether an event is the PostgreSQL client's chatter below a warning:
/// `tokio-postgres` logs every statement with its parameters at debug
/// level (the records themselves: mailbox ids, envelopes) and the server's
/// notices at info. None of it reaches the log, whatever `OZVI_LOG` says;
/// its warnings and errors do.
pub fn is_database_client_chatter(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with("tokio_postgres") && *metadata.level() > Level::WARN
}

/// Counts the events it sees.
struct Count(Arc<AtomicU64>);

impl<S: Subscriber> Layer<S> for Count {
    fn on_event(&self, _event: &Event<'_>, _ctx: Context<'_, S>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The log filter: `OZVI_LOG` or [`DEFAULT_LOG`]. actix-server's own
/// start-up lines name the listening address, so only its warnings pass
/// unless the filter names `actix_server` itself.
pub fn log_filter() -> EnvFilter {
    let mut filter = std::env::var("OZVI_LOG").unwrap_or_else(|_| DEFAULT_LOG.to_string());
    if !filter.contains("actix_server") {
        filter.push_str(",actix_server=warn");
    }
    EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"))
}

/// Installs the log. Returns the counter of HTTP-layer errors taken out of
/// it, for [`summarize`].
pub fn init() -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    subscriber(log_filter(), &count).init();
    count
}

/// The relay's log over `filter`: lines on standard error, and the count of
/// HTTP-layer errors in `count`.
///
/// Both layers tell tracing the most verbose level they may want (the
/// filter's, and warnings for the count). Without those hints tracing and
/// the `log` crate must assume trace level, and every one of sled's trace
/// records (several per write, through `tracing-log`) and every tracing
/// event would be built and then refused by the filters one by one: 3.6 %
/// of the relay's samples under posting load (docs/PERFORMANCE.md, run 9).
fn subscriber(filter: EnvFilter, count: &Arc<AtomicU64>) -> impl Subscriber + Send + Sync {
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // Nothing from actix-http's HTTP/1 parser and dispatcher at any
        // level: its debug lines too come one per malformed request. This
        // part only takes lines out, so it allows every level.
        .with_filter(
            filter.and(
                filter_fn(|m| {
                    !m.target().starts_with("actix_http::h1") && !is_database_client_chatter(m)
                })
                .with_max_level_hint(LevelFilter::TRACE),
            ),
        );
    let counted = Count(Arc::clone(count))
        .with_filter(filter_fn(is_http_layer_error).with_max_level_hint(LevelFilter::WARN));
    tracing_subscriber::registry().with(fmt).with(counted)
}

/// Writes one warning per [`SUMMARY_EVERY`] with the number of HTTP-layer
/// errors counted since the last one, if any. Runs on its own thread.
pub fn summarize(count: Arc<AtomicU64>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(SUMMARY_EVERY);
            let n = count.swap(0, Ordering::Relaxed);
            if n > 0 {
                tracing::warn!(
                    count = n,
                    "requests refused by the HTTP layer (malformed or oversized) in the last minute"
                );
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(filter: &str) -> Option<LevelFilter> {
        let count = Arc::new(AtomicU64::new(0));
        subscriber(EnvFilter::new(filter), &count).max_level_hint()
    }

    #[test]
    fn the_log_tells_tracing_and_the_log_crate_the_most_verbose_level_it_writes() {
        assert_eq!(hint("info,actix_server=warn"), Some(LevelFilter::INFO));
        assert_eq!(hint("debug"), Some(LevelFilter::DEBUG));
        assert_eq!(hint("ozvi_relay=trace,info"), Some(LevelFilter::TRACE));
        // The count of HTTP-layer errors still needs their warnings and
        // errors when the log itself shows only errors.
        assert_eq!(hint("error"), Some(LevelFilter::WARN));
    }
}
