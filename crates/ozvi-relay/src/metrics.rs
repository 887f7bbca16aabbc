//! Aggregate counters for Prometheus: no ids, no addresses, no labels that
//! could name anyone.
//!
//! They are served on their own listener (`metrics_listen`, loopback by
//! default), never on the public one, and only as a snapshot taken once per
//! `metrics_interval_secs` clock period: whoever can poll them sees at most
//! how many events happened in a period, never when one message arrived.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The counters.
#[derive(Default)]
pub struct Metrics {
    /// Threads created.
    pub threads_created: AtomicU64,
    /// Threads deleted by their person.
    pub threads_deleted: AtomicU64,
    /// Threads deleted by the retention sweeper.
    pub threads_expired: AtomicU64,
    /// Messages posted by persons.
    pub person_messages: AtomicU64,
    /// Replies posted by staff.
    pub staff_replies: AtomicU64,
    /// Staff-only cases opened (their first entry).
    pub cases_opened: AtomicU64,
    /// Requests refused with a 4xx.
    pub client_errors: AtomicU64,
    /// Requests that failed with a 5xx.
    pub server_errors: AtomicU64,
    /// Requests refused by a rate limit.
    pub rate_limited: AtomicU64,
    /// The last snapshot: its clock period and its text.
    snapshot: Mutex<Option<(u64, String)>>,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition as of the start of the current
    /// `interval`-second period of the clock (`now`, Unix seconds): the
    /// first call in a period takes the snapshot, later ones repeat it.
    pub fn render_coarse(&self, now: u64, interval: u64) -> String {
        let period = now / interval.max(1);
        let mut snapshot = self
            .snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*snapshot {
            Some((taken, text)) if *taken == period => text.clone(),
            _ => {
                let text = self.render();
                *snapshot = Some((period, text.clone()));
                text
            }
        }
    }

    /// The Prometheus text exposition, now.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, value) in [
            (
                "ozvi_threads_created_total",
                "Threads created.",
                &self.threads_created,
            ),
            (
                "ozvi_threads_deleted_total",
                "Threads deleted by their person.",
                &self.threads_deleted,
            ),
            (
                "ozvi_threads_expired_total",
                "Threads deleted for inactivity.",
                &self.threads_expired,
            ),
            (
                "ozvi_person_messages_total",
                "Messages posted by persons.",
                &self.person_messages,
            ),
            (
                "ozvi_staff_replies_total",
                "Replies posted by staff.",
                &self.staff_replies,
            ),
            (
                "ozvi_cases_opened_total",
                "Staff-only cases opened.",
                &self.cases_opened,
            ),
            (
                "ozvi_client_errors_total",
                "Requests refused with a 4xx status.",
                &self.client_errors,
            ),
            (
                "ozvi_server_errors_total",
                "Requests that failed with a 5xx status.",
                &self.server_errors,
            ),
            (
                "ozvi_rate_limited_total",
                "Requests refused by a rate limit.",
                &self.rate_limited,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// Each configured centre's notification health, as gauges: when a digest
/// last reached every recipient, when one last failed (and why), and
/// whether the latest attempt failed. Centre ids are public (the signed
/// directory); no address or server reply is ever here.
pub fn render_notifications(health: &[(String, crate::notify::Health)]) -> String {
    let mut out = String::new();
    if health.is_empty() {
        return out;
    }
    let mut gauge =
        |name: &str, help: &str, value: &dyn Fn(&crate::notify::Health) -> (String, u64)| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (centre, h) in health {
                let (labels, v) = value(h);
                let _ = writeln!(out, "{name}{{centre=\"{centre}\"{labels}}} {v}");
            }
        };
    gauge(
        "ozvi_notify_last_success_seconds",
        "When a centre's digest last reached every recipient (Unix time; 0: never).",
        &|h| (String::new(), h.last_success.unwrap_or(0)),
    );
    gauge(
        "ozvi_notify_last_failure_seconds",
        "When a centre's digest last failed (Unix time; 0: never), by kind.",
        &|h| {
            let kind = h.failure.map_or("none", crate::notify::Failure::as_str);
            (format!(",kind=\"{kind}\""), h.last_failure.unwrap_or(0))
        },
    );
    gauge(
        "ozvi_notify_failing",
        "1 if a centre's latest digest failed.",
        &|h| (String::new(), u64::from(h.failing())),
    );
    out
}

#[cfg(test)]
mod notification_tests {
    use super::render_notifications;
    use crate::notify::{Failure, Health};

    #[test]
    fn each_centre_has_its_three_gauges_and_nothing_else() {
        let text = render_notifications(&[
            (
                "ic-zlin".into(),
                Health {
                    last_success: Some(100),
                    last_failure: Some(200),
                    failure: Some(Failure::Authentication),
                },
            ),
            ("ic-praha".into(), Health::default()),
        ]);
        for line in [
            "ozvi_notify_last_success_seconds{centre=\"ic-zlin\"} 100",
            "ozvi_notify_last_failure_seconds{centre=\"ic-zlin\",kind=\"authentication\"} 200",
            "ozvi_notify_failing{centre=\"ic-zlin\"} 1",
            "ozvi_notify_last_success_seconds{centre=\"ic-praha\"} 0",
            "ozvi_notify_last_failure_seconds{centre=\"ic-praha\",kind=\"none\"} 0",
            "ozvi_notify_failing{centre=\"ic-praha\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 6);
        assert!(
            render_notifications(&[]).is_empty(),
            "nothing without [notify]"
        );
    }
}
