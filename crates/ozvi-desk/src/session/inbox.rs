//! The centre's inbox.
//!
//! A full listing asks the relay for every thread (500 a page) but opens
//! only the notes that changed since the session last saw them. A refresh
//! asks only for threads changed after the last listing's cursor (the
//! relay's `since`): one request, and nothing opened when nothing changed.
//! A refresh cannot learn of threads that left the centre (deleted by the
//! person, transferred away): those stay listed until the next full listing
//! or until someone opens them (then they are forgotten).

use ozvi_api::staff::ThreadSummary;
use ozvi_crypto::MailboxId;

use super::Session;
use super::memory::InboxMemory;
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
        };
        Ok((mailbox, entry))
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
        let mut entries: Vec<InboxEntry> = inbox.entries.values().map(|(_, e)| e.clone()).collect();
        memory.inbox = Some(inbox);
        entries.sort_by(|a, b| b.last_activity.cmp(&a.last_activity).then(a.id.cmp(&b.id)));
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
        let mut matches = inbox.iter().filter(|e| e.id.starts_with(id));
        match (matches.next(), matches.next()) {
            (Some(one), None) => MailboxId::from_b64(&one.id).map_err(|_| DeskError::BadResponse),
            (Some(_), Some(_)) => Err(DeskError::AmbiguousThread(id.into())),
            (None, _) => Err(DeskError::UnknownThread(id.into())),
        }
    }
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
