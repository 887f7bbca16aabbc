//! Content-free e-mail to staff: on a fixed schedule, each centre's staff
//! get one mail each (never a shared recipient list) saying whether there is
//! new activity and how many conversations wait over 24 and 48 hours
//! ([`mail`]). The SMTP server, credentials and addresses are the
//! operator's configuration ([`config`]), never in the store.
//!
//! Delivery health is kept per centre in memory: the last success and the
//! last failure, with its kind. Staff see it in the desk
//! (`GET /api/v1/staff/notifications`), operators in `/metrics`. A failure
//! is logged with its kind and the centre, never an address or the server's
//! reply (which can quote an address).

pub mod config;
pub mod mail;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncTransport, Tokio1Executor};

use crate::store::{CentreId, Storage, StoreError};
use config::{NotifyConfig, Security};
use mail::Digest;
use schedule::Schedule;

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Threads read per page when counting a centre's.
const PAGE: usize = 500;

/// Why a delivery failed: a kind, never the server's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server could not be reached, or did not answer in time.
    Connection,
    /// TLS failed: no STARTTLS offered, or a certificate not trusted.
    Tls,
    /// The server refused the login.
    Authentication,
    /// The server refused the sender or a recipient, or the mail.
    Refused,
    /// Anything else (the store could not be read, a mail not built).
    Other,
}

impl Failure {
    /// The stable name (API, metrics, log).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Tls => "tls",
            Self::Authentication => "authentication",
            Self::Refused => "refused",
            Self::Other => "other",
        }
    }

    fn of(error: &lettre::transport::smtp::Error) -> Self {
        if error.is_tls() {
            Self::Tls
        } else if error.is_timeout() {
            Self::Connection
        } else if let Some(code) = error.status() {
            // 530/534/535/538: authentication required, too weak, refused.
            let code = code.to_string();
            if ["530", "534", "535", "538"].contains(&code.as_str()) {
                Self::Authentication
            } else {
                Self::Refused
            }
        } else if error.is_transient() || error.is_permanent() {
            Self::Refused
        } else {
            Self::Connection
        }
    }
}

/// One centre's delivery health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    /// When a digest last reached every recipient (Unix seconds).
    pub last_success: Option<u64>,
    /// When a digest last failed for any recipient.
    pub last_failure: Option<u64>,
    /// What went wrong then.
    pub failure: Option<Failure>,
}

impl Health {
    /// Whether the latest attempt failed.
    pub fn failing(&self) -> bool {
        match (self.last_failure, self.last_success) {
            (Some(failed), Some(ok)) => failed >= ok,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
struct CentreState {
    /// The newest change number the last digest saw.
    seen_change: u64,
    health: Health,
}

/// What one digest run did, per centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The centre.
    pub centre: String,
    /// Mails sent (0: nothing to report, and no "all quiet" mails).
    pub sent: usize,
    /// The failure, if any recipient could not be reached.
    pub failure: Option<Failure>,
}

/// The notifier: the transport, the schedule and the health of each centre.
pub struct Notifier {
    config: NotifyConfig,
    schedule: Option<Schedule>,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<lettre::message::Mailbox>,
    centres: Mutex<BTreeMap<String, CentreState>>,
}

impl Notifier {
    /// The notifier for a validated configuration (off when it has no
    /// SMTP server).
    pub fn new(config: &NotifyConfig) -> anyhow::Result<Self> {
        if !config.enabled() {
            return Ok(Self {
                config: config.clone(),
                schedule: None,
                transport: None,
                from: None,
                centres: Mutex::new(BTreeMap::new()),
            });
        }
        let mut tls = TlsParameters::builder(config.smtp_host.clone());
        if let Some(path) = &config.smtp_ca_file {
            let pem = std::fs::read(path)?;
            tls = tls.add_root_certificate(Certificate::from_pem(&pem)?);
        }
        let tls = tls.build_rustls()?;
        let mut transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.smtp_host)
                .port(config.port())
                .timeout(Some(SMTP_TIMEOUT))
                .tls(match config.smtp_security {
                    Security::Starttls => Tls::Required(tls),
                    Security::Tls => Tls::Wrapper(tls),
                });
        if !config.smtp_username.is_empty() {
            transport = transport.credentials(Credentials::new(
                config.smtp_username.clone(),
                config.smtp_password.0.to_string(),
            ));
        }
        let centres = config
            .centres
            .iter()
            .map(|c| (c.centre.clone(), CentreState::default()))
            .collect();
        Ok(Self {
            config: config.clone(),
            schedule: Some(Schedule::new(config)?),
            transport: Some(transport.build()),
            from: Some(config.from.parse()?),
            centres: Mutex::new(centres),
        })
    }

    /// Whether notifications are configured.
    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// Whether `centre` has recipients.
    pub fn configured_for(&self, centre: &str) -> bool {
        self.enabled() && !self.config.recipients(centre).is_empty()
    }

    /// The next scheduled digest after `now`.
    pub fn next_slot(&self, now: u64) -> Option<u64> {
        self.schedule.as_ref()?.next_after(now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, CentreState>> {
        self.centres
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `centre`'s delivery health.
    pub fn health(&self, centre: &str) -> Health {
        self.lock()
            .get(centre)
            .map(|c| c.health)
            .unwrap_or_default()
    }

    /// Every configured centre's health, by centre id.
    pub fn health_all(&self) -> Vec<(String, Health)> {
        self.lock()
            .iter()
            .map(|(id, c)| (id.clone(), c.health))
            .collect()
    }

    /// Sends the digest of every configured centre now (a scheduled slot,
    /// or the operator's `ozvi-relay notify`).
    pub async fn run(&self, store: &dyn Storage, now: u64) -> Vec<Outcome> {
        let ids: Vec<String> = self
            .config
            .centres
            .iter()
            .map(|c| c.centre.clone())
            .collect();
        let mut outcomes = Vec::new();
        for id in ids {
            let outcome = self.run_centre(store, &id, now).await;
            let mut centres = self.lock();
            let state = centres.entry(id.clone()).or_default();
            match outcome.failure {
                Some(failure) => {
                    tracing::warn!(centre = %id, failure = failure.as_str(), "notification not delivered");
                    state.health.last_failure = Some(now);
                    state.health.failure = Some(failure);
                }
                None if outcome.sent > 0 => {
                    state.health.last_success = Some(now);
                }
                None => {}
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn run_centre(&self, store: &dyn Storage, id: &str, now: u64) -> Outcome {
        let mut outcome = Outcome {
            centre: id.to_string(),
            sent: 0,
            failure: None,
        };
        let (Some(transport), Some(from), Some(centre)) =
            (&self.transport, &self.from, CentreId::parse(id))
        else {
            outcome.failure = Some(Failure::Other);
            return outcome;
        };
        let seen = self.lock().get(id).map_or(0, |c| c.seen_change);
        let (digest, newest) = match count(store, &centre, seen, now).await {
            Ok(counted) => counted,
            Err(_) => {
                outcome.failure = Some(Failure::Other);
                return outcome;
            }
        };
        if !digest.new_activity && !self.config.all_quiet {
            return outcome;
        }
        for address in self.config.recipients(id) {
            let Ok(to) = address.parse::<lettre::Address>() else {
                outcome.failure = Some(Failure::Other);
                continue;
            };
            let sent = match mail::message(from, &to, &digest) {
                Ok(message) => transport.send(message).await.map_err(|e| Failure::of(&e)),
                Err(_) => Err(Failure::Other),
            };
            match sent {
                Ok(_) => outcome.sent += 1,
                Err(failure) => outcome.failure = Some(failure),
            }
        }
        if outcome.failure.is_none() {
            // What this digest reported is not reported again; after a
            // failure it is, at the next slot.
            self.lock().entry(id.to_string()).or_default().seen_change = newest;
        }
        outcome
    }

    /// Runs the digest at every slot of the schedule, on the system clock,
    /// until the process ends.
    pub fn start(
        notifier: std::sync::Arc<Self>,
        state: actix_web::web::Data<crate::state::AppState>,
    ) {
        if !notifier.enabled() {
            return;
        }
        tokio::spawn(async move {
            loop {
                let now = state.clock.now();
                let Some(slot) = notifier.next_slot(now) else {
                    return;
                };
                tokio::time::sleep(Duration::from_secs(slot.saturating_sub(now))).await;
                let now = state.clock.now();
                if now + 5 < slot {
                    continue; // woke early (a clock change): wait again
                }
                notifier.run(state.store.as_ref(), now).await;
            }
        });
    }
}

/// A centre's digest: whether a thread changed after `seen` holds person
/// messages staff have not read, or a staff-only case was opened or added
/// to (the relay knows no more of a case, and says no more), and how many
/// conversations wait over 24 and 48 hours.
/// Returns it with the newest change number seen.
pub async fn count(
    store: &dyn Storage,
    centre: &CentreId,
    seen: u64,
    now: u64,
) -> Result<(Digest, u64), StoreError> {
    let mut digest = Digest::default();
    let mut newest = seen;
    let mut before = u64::MAX;
    loop {
        let page = store.changed_threads(centre, 0, before, PAGE).await?;
        for (_, record) in &page {
            newest = newest.max(record.change);
            if record.change > seen && (record.unread > 0 || record.is_case()) {
                digest.new_activity = true;
            }
            if record.unanswered_since != 0 {
                let waited = now.saturating_sub(record.unanswered_since);
                if waited >= 24 * 3600 {
                    digest.waiting_24h += 1;
                }
                if waited >= 48 * 3600 {
                    digest.waiting_48h += 1;
                }
            }
        }
        match page.iter().map(|(_, r)| r.change).min() {
            Some(oldest) if page.len() == PAGE => before = oldest,
            _ => return Ok((digest, newest)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Author, Embedded, MemoryStore, Quota, Store, ThreadRecord};
    use ozvi_crypto::MailboxId;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_case_is_new_activity_and_never_waiting() {
        let store = MemoryStore::new();
        let seam = Embedded(Arc::new(store.clone()));
        let zlin = CentreId::parse("ic-zlin").expect("id");
        let t = 1_800_000_000;
        let person = MailboxId([1; 16]);
        store
            .create_thread(&person, [7; 32], &zlin, &[1, 1], t)
            .expect("creates");
        store.mark_read(&person, 1).expect("read");
        store
            .append(
                &person,
                Author::Staff,
                &[1, 2],
                t + 60,
                Quota {
                    max_messages: 10,
                    max_bytes: 1000,
                },
            )
            .expect("answered");
        let (quiet, seen) = count(&seam, &zlin, 0, t + 3 * 86_400)
            .await
            .expect("counts");
        assert!(!quiet.new_activity, "read and answered");
        let case = MailboxId([2; 16]);
        store
            .create_thread(&case, ThreadRecord::NO_PERSON, &zlin, &[1, 4], t)
            .expect("opens a case");
        let (digest, _) = count(&seam, &zlin, seen, t + 3 * 86_400)
            .await
            .expect("counts");
        assert!(digest.new_activity, "a case opened since the last digest");
        assert_eq!((digest.waiting_24h, digest.waiting_48h), (0, 0));
    }
}
