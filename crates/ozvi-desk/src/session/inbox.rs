//! The centre's inbox.
//!
//! A full listing asks the relay for every thread (500 a page) but opens
//! only the notes that changed since the session last saw them. A refresh
//! asks only for threads changed after the last listing's cursor (the
//! relay's `since`): one request, and nothing opened when nothing changed.
//! A refresh cannot learn of threads that left the centre (deleted by the
//! person, transferred away): those stay listed until the next full listing
//! or until someone opens them (then they are forgotten).

use ozvi_api::person::StoredEnvelope;
use ozvi_api::staff::ThreadSummary;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::{MailboxId, Sender};

use super::Session;
use super::memory::{InboxMemory, Preview};
use super::views::InboxEntry;
use crate::error::DeskError;

/// How the inbox is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Every thread of the centre (what a staff member asks for).
    Full,
    /// Only what changed since the last listing (live updates); a full
    /// listing when there was none yet.
    Changes,
}

impl Session {
    /// An inbox entry for the thread `summary` describes.
    pub(super) fn entry(
        &self,
        summary: &ThreadSummary,
    ) -> Result<(MailboxId, InboxEntry), DeskError> {
        let mailbox =
            MailboxId::from_b64(&summary.mailbox_id).map_err(|_| DeskError::BadResponse)?;
        let note = self.note(&mailbox, summary.note.as_deref());
        let transfer_unchecked = note.signer_centre.filter(|c| *c != self.me.centre);
        let first = summary
            .first
            .as_ref()
            .and_then(|m| self.preview(&mailbox, m))
            .filter(|p| p.from_person);
        let latest = summary
            .latest
            .as_ref()
            .and_then(|m| self.preview(&mailbox, m))
            .or_else(|| first.clone());
        let intake = first.as_ref().and_then(|f| f.intake.clone());
        // Her state: from the whole thread when this session opened it (a
        // later message of hers does not hide it), else from the newest.
        let her_state = match self.memory().threads.get(&mailbox.0) {
            Some(thread) if thread.last_seq() >= summary.last_seq => {
                super::views::her_state(&thread.views)
            }
            _ => latest.as_ref().and_then(|l| l.status.clone()),
        };
        let entry = InboxEntry {
            id: summary.mailbox_id.clone(),
            short: summary.mailbox_id.chars().take(8).collect(),
            created_at: summary.created_at,
            last_activity: summary.last_activity,
            waiting_since: summary.unanswered_since,
            unread: summary.unread,
            messages: summary.message_count,
            status: note.body.status,
            assignee_label: note
                .body
                .assignee
                .as_deref()
                .and_then(|a| self.staff_label(a)),
            assignee: note.body.assignee,
            note_problem: note.problem,
            transfer_unchecked,
            danger: intake.as_ref().is_some_and(|i| i.danger_now),
            under_16: intake
                .as_ref()
                .is_some_and(|i| i.age_band == Some(crate::plaintext::AgeBand::Under16)),
            her_state,
            role: intake.map(|i| i.role),
            lang: first.as_ref().and_then(|f| f.lang.clone()),
            latest_line: latest.as_ref().map(|l| l.line.clone()),
            latest_from_person: latest.is_some_and(|l| l.from_person),
            expires_at: None,
            expires_soon: false,
            // The kind byte is bound into the payload (PROTOCOL.md §4.3): a
            // relay that changes it makes the entries fail to open.
            case: summary
                .first
                .as_ref()
                .is_some_and(super::cases::opens_a_case),
        };
        Ok((mailbox, entry))
    }

    /// What the inbox shows of one stored message, opened once per session
    /// (messages never change). Only what its signature proves is believed:
    /// a message that does not open and verify shows nothing. The thread's
    /// full checks (replays, order) are the thread view's.
    fn preview(&self, mailbox: &MailboxId, stored: &StoredEnvelope) -> Option<Preview> {
        let key = (mailbox.0, stored.seq);
        if let Some((ciphertext, known)) = self.memory().previews.get(&key)
            && *ciphertext == stored.envelope
        {
            return known.clone();
        }
        let opened = b64::decode(&stored.envelope)
            .ok()
            .and_then(|bytes| self.open_envelope(&bytes, mailbox).ok());
        let preview = opened.and_then(|(opened, _)| match (&opened.sender, opened.kind) {
            (Sender::Person(_), Kind::PersonMessage) => {
                let body: crate::plaintext::PersonBody =
                    ozvi_crypto::format::json::from_slice(&opened.body).ok()?;
                Some(Preview {
                    from_person: true,
                    line: first_line(&body.text),
                    lang: body.lang,
                    intake: body.intake,
                    status: None,
                })
            }
            (Sender::Staff { .. }, Kind::StaffReply) => {
                let body: crate::plaintext::ReplyBody =
                    ozvi_crypto::format::json::from_slice(&opened.body).ok()?;
                Some(Preview {
                    line: first_line(&body.text),
                    status: body.status,
                    ..Preview::default()
                })
            }
            _ => None,
        });
        self.memory()
            .previews
            .insert(key, (stored.envelope.clone(), preview.clone()));
        preview
    }

    /// The centre's threads, newest activity first.
    pub async fn inbox(&self) -> Result<Vec<InboxEntry>, DeskError> {
        self.inbox_listing(Listing::Full).await
    }

    /// Whether the centre's e-mail notifications reach staff (the relay's
    /// delivery health), with the line to show.
    pub async fn notifications(&self) -> Result<NotificationView, DeskError> {
        let health = self.relay.notifications(&self.signing()).await?;
        Ok(NotificationView {
            line: crate::text::notifications(&health),
            warning: health.failing,
            configured: health.configured,
            last_success: health.last_success,
            last_failure: health.last_failure,
        })
    }

    /// The centre's threads, newest activity first, listed as `how` says.
    pub async fn inbox_listing(&self, how: Listing) -> Result<Vec<InboxEntry>, DeskError> {
        let since = match how {
            Listing::Full => None,
            Listing::Changes => self.memory().inbox.as_ref().map(|i| i.cursor),
        };
        let page = self
            .relay
            .inbox(&self.signing(), since.unwrap_or(0))
            .await?;
        let fresh = page
            .threads
            .iter()
            .map(|t| self.entry(t).map(|(m, e)| (m.0, (t.clone(), e))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut memory = self.memory();
        let inbox = match (since, memory.inbox.take()) {
            (Some(_), Some(mut known)) => {
                known.cursor = known.cursor.max(page.cursor);
                known.entries.extend(fresh);
                known
            }
            _ => InboxMemory {
                cursor: page.cursor,
                entries: fresh.into_iter().collect(),
            },
        };
        let mut inbox = inbox;
        // The relay deletes a thread after its retention without activity:
        // say when, and warn in the last seven days.
        let now = crate::relay::now();
        for (_, e) in inbox.entries.values_mut() {
            if page.retention_days > 0 {
                let at = e.last_activity + u64::from(page.retention_days) * 86_400;
                e.expires_at = Some(at);
                e.expires_soon = at.saturating_sub(now) <= 7 * 86_400;
            }
        }
        let mut entries: Vec<InboxEntry> = inbox.entries.values().map(|(_, e)| e.clone()).collect();
        memory.inbox = Some(inbox);
        drop(memory);
        // Cases are listed with the cases (`Session::cases`).
        entries.retain(|e| !e.case);
        entries.sort_by(|a, b| {
            urgent(b)
                .cmp(&urgent(a))
                .then(b.last_activity.cmp(&a.last_activity))
                .then(a.id.cmp(&b.id))
        });
        Ok(entries)
    }

    /// Finds a thread of the centre by its full id or a unique prefix.
    pub async fn resolve(&self, id: &str) -> Result<MailboxId, DeskError> {
        let id = id.trim();
        if let Ok(mailbox) = MailboxId::from_b64(id) {
            return Ok(mailbox);
        }
        if id.len() < 4 {
            return Err(DeskError::UnknownThread(id.into()));
        }
        let inbox = self.inbox().await?;
        unique_prefix(id, inbox.iter().map(|e| e.id.as_str()))
    }
}

/// The one id among `ids` that begins with `prefix` (at least four
/// characters, checked by the caller): a conversation's or a case's.
pub(super) fn unique_prefix<'a>(
    prefix: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<MailboxId, DeskError> {
    let mut matches = ids.filter(|id| id.starts_with(prefix));
    match (matches.next(), matches.next()) {
        (Some(one), None) => MailboxId::from_b64(one).map_err(|_| DeskError::BadResponse),
        (Some(_), Some(_)) => Err(DeskError::AmbiguousThread(prefix.into())),
        (None, _) => Err(DeskError::UnknownThread(prefix.into())),
    }
}

/// In danger now and not yet answered: listed first.
pub fn urgent(entry: &InboxEntry) -> bool {
    entry.danger && entry.waiting_since != 0
}

/// The first non-empty line of `text`, at most 120 characters.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut short: String = line.chars().take(120).collect();
    if line.chars().count() > 120 {
        short.push('…');
    }
    short
}

/// The centre's e-mail notification health as the desk shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotificationView {
    /// The line to show (Czech, then English).
    pub line: String,
    /// The latest digest failed: show it as a warning.
    pub warning: bool,
    /// The relay sends this centre notifications at all.
    pub configured: bool,
    /// When a digest last reached every recipient (Unix seconds).
    pub last_success: Option<u64>,
    /// When one last failed (Unix seconds).
    pub last_failure: Option<u64>,
}
