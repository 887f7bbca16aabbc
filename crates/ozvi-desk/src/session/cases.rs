//! Eviction cases: the centre's staff-only log of a police eviction record
//! and of everything done about it (PROTOCOL.md §4.11), and the statutory
//! clocks the desk keeps from it.
//!
//! A case is a thread under a random mailbox id whose entries are kind-4
//! envelopes sealed to the centre's staff only. The relay sees that a case
//! of the centre exists and when entries were stored, nothing more: the
//! deadlines are computed here, from decrypted entries, and never leave the
//! desk.
//!
//! - **Contact due**: the record's receipt + 48 hours (zákon 108/2006
//!   §60a). The first attempt that reached her, or a letter or visit (a
//!   documented attempt), stops the clock ([`Attempt::stops_the_clock`]).
//! - **Eviction end**: the police's entry + 10 days (zákon 273/2008 §44).
//!   Until then she may petition the court for a preliminary measure, which
//!   extends the eviction until the court decides.
//!
//! Entries are appended, never replaced: a correction of the record or of
//! the safe-contact details is a new entry of the same type, and the newest
//! one counts.

use std::collections::HashMap;

use ozvi_api::person::StoredEnvelope;
use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::addressing;
use ozvi_crypto::protocol::case::{CaseLog, Check, new_case_mailbox};
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::{Kind, MailboxId, OpenError, Sender};
use serde::Serialize;

use super::Session;
use super::views::InboxEntry;
use crate::error::DeskError;
use crate::plaintext::{Attempt, CaseBody, Channel, Choice, EvictionRecord, Outcome, SafeContact};
use crate::relay;
use crate::text;

/// The centre must contact her within this long of receiving the record.
pub const CONTACT_WITHIN: u64 = 48 * 3600;
/// An eviction lasts this long from the police's entry.
pub const EVICTION_LASTS: u64 = 10 * 86_400;
/// The longest free text of one entry, in characters.
pub const MAX_ENTRY_CHARS: usize = 4000;

/// One entry as the case log shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseEntryView {
    /// Position in the case.
    pub seq: u64,
    /// When the relay stored it.
    pub stored_at: u64,
    /// Who wrote it (her label), when it verified.
    pub by: Option<String>,
    /// A one-line summary, Czech / English.
    pub line: String,
    /// Why it cannot be trusted; its content is not used.
    pub problem: Option<String>,
}

/// One contact attempt as the case shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    /// The attempt.
    #[serde(flatten)]
    pub attempt: Attempt,
    /// Who logged it (her label).
    pub by: String,
    /// It stopped (or would have stopped) the 48-hour clock.
    pub stops_clock: bool,
}

/// How the case closed.
#[derive(Debug, Clone, Serialize)]
pub struct ClosedView {
    /// When the closing entry was written.
    pub at: u64,
    /// Her choice.
    pub choice: Choice,
    /// What staff added.
    pub text: String,
}

/// A case with its clocks.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    /// The case's mailbox id, base64url.
    pub id: String,
    /// Its first eight characters.
    pub short: String,
    /// When the case was opened on the relay.
    pub created_at: u64,
    /// Its last entry.
    pub last_activity: u64,
    /// When the relay deletes it if nothing happens.
    pub expires_at: Option<u64>,
    /// That is within seven days.
    pub expires_soon: bool,
    /// The eviction record (the newest version of it).
    pub record: Option<EvictionRecord>,
    /// Contact is due by then (receipt + 48 h).
    pub contact_due: Option<u64>,
    /// The eviction ends then (entry + 10 days).
    pub eviction_end: Option<u64>,
    /// When the 48-hour clock stopped (the first attempt that counts).
    pub clock_stopped_at: Option<u64>,
    /// Contacted within the 48 hours (once the clock stopped).
    pub contacted_in_time: Option<bool>,
    /// Contact is due and no attempt that counts is logged: show it red.
    pub overdue: bool,
    /// The nearest deadline still ahead (or passed, when overdue).
    pub next_deadline: Option<u64>,
    /// What the clocks say, Czech / English.
    pub deadline_line: String,
    /// The reminder about the court petition, while the eviction runs.
    pub court_reminder: Option<String>,
    /// When and how it is safe to contact her (the newest details).
    pub safe_contact: Option<SafeContact>,
    /// Every contact attempt, oldest first.
    pub attempts: Vec<AttemptView>,
    /// Conversations linked to the case (their mailbox ids).
    pub links: Vec<String>,
    /// How it closed, if it did.
    pub closed: Option<ClosedView>,
    /// Every entry, oldest first.
    pub entries: Vec<CaseEntryView>,
}

/// The annual-report figures, computed from decrypted data.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Statistics {
    /// Period start (Unix seconds, inclusive).
    pub from: u64,
    /// Period end (exclusive).
    pub to: u64,
    /// Eviction records received in the period.
    pub records_received: usize,
    /// Of them, contacted within 48 hours.
    pub contacted_within_48h: usize,
    /// Of them, she accepted help.
    pub accepted: usize,
    /// Of them, she declined help.
    pub declined: usize,
    /// Anonymous conversations opened in the period.
    pub conversations_opened: usize,
    /// Of them, answered within 48 hours.
    pub answered_within_48h: usize,
    /// The median time to the first answer, in minutes, over those answered.
    pub median_first_response_minutes: Option<u64>,
}

impl Statistics {
    /// The figures as CSV: `metric,value,label`, one row each, with Czech /
    /// English labels for the annual report.
    pub fn to_csv(&self) -> String {
        let share = if self.records_received == 0 {
            String::new()
        } else {
            format!(
                "{:.3}",
                self.contacted_within_48h as f64 / self.records_received as f64
            )
        };
        let median = self
            .median_first_response_minutes
            .map_or_else(String::new, |m| format!("{:.1}", m as f64 / 60.0));
        let rows: [(&str, String, &str); 10] = [
            ("period_from", crate::export::date(self.from), "Od / From"),
            ("period_to", crate::export::date(self.to - 1), "Do / To"),
            (
                "records_received",
                self.records_received.to_string(),
                "Přijaté úřední záznamy o vykázání / Eviction records received",
            ),
            (
                "contacted_within_48h",
                self.contacted_within_48h.to_string(),
                "Kontaktováno do 48 hodin / Contacted within 48 hours",
            ),
            (
                "contacted_within_48h_share",
                share,
                "Podíl kontaktovaných do 48 hodin / Share contacted within 48 hours",
            ),
            (
                "accepted",
                self.accepted.to_string(),
                "Pomoc přijata / Help accepted",
            ),
            (
                "declined",
                self.declined.to_string(),
                "Pomoc odmítnuta / Help declined",
            ),
            (
                "conversations_opened",
                self.conversations_opened.to_string(),
                "Anonymní konverzace zahájené / Anonymous conversations opened",
            ),
            (
                "answered_within_48h",
                self.answered_within_48h.to_string(),
                "Zodpovězeno do 48 hodin / Answered within 48 hours",
            ),
            (
                "median_first_response_hours",
                median,
                "Medián první odpovědi v hodinách / Median first response, hours",
            ),
        ];
        let mut out = String::from("metric,value,label\n");
        for (metric, value, label) in rows {
            out.push_str(&format!("{metric},{value},\"{label}\"\n"));
        }
        out
    }
}

/// What a session remembers of one case: its entries, opened once (they
/// never change).
#[derive(Default)]
pub(super) struct CaseMemory {
    created_at: u64,
    stored: Vec<StoredEnvelope>,
    opened: Vec<Option<(CaseBody, String, String)>>,
    problems: Vec<Option<String>>,
    log: Option<CaseLog>,
}

impl Session {
    /// Opens a case with the eviction record; returns the case's id.
    pub async fn open_case(&self, record: EvictionRecord) -> Result<MailboxId, DeskError> {
        check_record(&record)?;
        let case = new_case_mailbox(&mut os_rng());
        self.write_case_entry(&case, &CaseBody::Record(record))
            .await?;
        Ok(case)
    }

    /// Appends an entry to a case of the centre (checked first).
    pub async fn add_case_entry(&self, case: &MailboxId, body: CaseBody) -> Result<u64, DeskError> {
        match &body {
            CaseBody::Record(record) => check_record(record)?,
            CaseBody::Attempt(a) => {
                if a.at == 0 || a.at > relay::now() + 3600 {
                    return Err(DeskError::Invalid(
                        "čas pokusu chybí nebo je v budoucnosti / the attempt's time is missing or in the future"
                            .into(),
                    ));
                }
                check_text(&a.text)?;
            }
            CaseBody::SafeContact(s) => {
                check_text(&s.times)?;
                check_text(&s.code_word)?;
            }
            CaseBody::Link { mailbox_id } => {
                let conversation = MailboxId::from_b64(mailbox_id)
                    .map_err(|_| DeskError::UnknownThread(mailbox_id.clone()))?;
                // Only a conversation of this centre can be linked (a case
                // does not open as one).
                self.thread(&conversation).await?;
            }
            CaseBody::Close { text, .. } => check_text(text)?,
            CaseBody::Note { text } => {
                if text.trim().is_empty() {
                    return Err(DeskError::EmptyText);
                }
                check_text(text)?;
            }
        }
        // The case must be one of this centre's (the relay says so too).
        self.case(case).await?;
        self.write_case_entry(case, &body).await
    }

    async fn write_case_entry(&self, case: &MailboxId, body: &CaseBody) -> Result<u64, DeskError> {
        let bytes = serde_json::to_vec(body).map_err(|_| DeskError::Prepare("case"))?;
        let envelope = seal(
            &mut os_rng(),
            Signer::Staff(&self.keys),
            Message {
                kind: Kind::CaseEntry,
                mailbox: case,
                body: &bytes,
                sent_at: relay::now(),
            },
            &addressing::recipients(Kind::CaseEntry, self.my_centre()?, None)
                .map_err(|_| DeskError::Prepare("case"))?,
        )
        .map_err(|_| DeskError::TooLong)?;
        let seq = self
            .relay
            .case_entry(&self.signing(), case, &envelope)
            .await
            .map_err(|e| self.not_found(e, case))?;
        // The listing's count is stale now: the next look asks the relay
        // (and the next listing of changes brings the case back).
        if let Some(inbox) = self.memory().inbox.as_mut() {
            inbox.entries.remove(&case.0);
        }
        Ok(seq)
    }

    /// Every case of the centre: open ones first, overdue first, then by the
    /// nearest deadline; closed ones last, newest first.
    pub async fn cases(&self) -> Result<Vec<CaseView>, DeskError> {
        // What changed since the last listing (a full one the first time):
        // an unchanged case is shown from memory without a request.
        self.inbox_listing(super::Listing::Changes).await?;
        let listed: Vec<InboxEntry> = self
            .memory()
            .inbox
            .as_ref()
            .map(|i| {
                i.entries
                    .values()
                    .map(|(_, e)| e.clone())
                    .filter(|e| e.case)
                    .collect()
            })
            .unwrap_or_default();
        let mut cases = Vec::with_capacity(listed.len());
        for entry in listed {
            let id = MailboxId::from_b64(&entry.id).map_err(|_| DeskError::BadResponse)?;
            match self.case_as_listed(&id).await {
                Ok(case) => cases.push(case),
                // Deleted meanwhile.
                Err(DeskError::UnknownThread(_)) => {}
                Err(e) => return Err(e),
            }
        }
        sort_cases(&mut cases);
        Ok(cases)
    }

    /// Finds a case of the centre by its full id or a unique prefix.
    pub async fn resolve_case(&self, id: &str) -> Result<MailboxId, DeskError> {
        let id = id.trim();
        if let Ok(case) = MailboxId::from_b64(id) {
            return Ok(case);
        }
        if id.len() < 4 {
            return Err(DeskError::UnknownThread(id.into()));
        }
        let cases = self.cases().await?;
        super::inbox::unique_prefix(id, cases.iter().map(|c| c.id.as_str()))
    }

    /// One case of the centre, with its clocks (what changed is asked for
    /// first, so a colleague's new entry shows).
    pub async fn case(&self, case: &MailboxId) -> Result<CaseView, DeskError> {
        self.inbox_listing(super::Listing::Changes).await?;
        self.case_as_listed(case).await
    }

    /// [`Session::case`] against the listing in memory.
    async fn case_as_listed(&self, case: &MailboxId) -> Result<CaseView, DeskError> {
        let known = self
            .memory()
            .cases
            .get(&case.0)
            .map(|c| (c.created_at, c.stored.len() as u64));
        let listed = self
            .memory()
            .inbox
            .as_ref()
            .and_then(|i| i.entries.get(&case.0).map(|(_, e)| e.clone()));
        if let (Some((created, n)), Some(listed)) = (known, &listed)
            && listed.case
            && listed.created_at == created
            && u64::from(listed.messages) == n
        {
            // Nothing new since it was opened.
            let memory = self.memory();
            if let Some(remembered) = memory.cases.get(&case.0) {
                return Ok(build_view(case, listed, remembered, relay::now()));
            }
        }
        let after = known.map_or(0, |(_, n)| n);
        let page = self
            .relay
            .thread(&self.signing(), case, after)
            .await
            .map_err(|e| self.not_found(e, case))?;
        let (_, mut entry) = self.entry(&page.thread)?;
        // A case's first entry is of kind 4 (bound into its payload, so a
        // relay cannot relabel a conversation as a case).
        let first_is_entry = page.messages.first().is_some_and(opens_a_case);
        let same_case = known.is_some_and(|(created, _)| created == page.thread.created_at);
        if !(first_is_entry || same_case) {
            return Err(DeskError::UnknownThread(case.to_b64()));
        }
        // When the relay deletes it, as the inbox listing computed.
        if let Some(listed) = &listed {
            entry.expires_at = listed.expires_at;
            entry.expires_soon = listed.expires_soon;
        }
        let mut memory = self.memory();
        let remembered = memory.cases.entry(case.0).or_default();
        if remembered.created_at != page.thread.created_at {
            *remembered = CaseMemory {
                created_at: page.thread.created_at,
                ..CaseMemory::default()
            };
        }
        let mut fresh = Vec::new();
        for stored in page.messages {
            if stored.seq as usize > remembered.stored.len() {
                fresh.push(stored);
            }
        }
        drop(memory);
        let opened: Vec<(StoredEnvelope, Opening)> = fresh
            .into_iter()
            .map(|stored| {
                let result = b64::decode(&stored.envelope)
                    .map_err(|_| OpenError::Malformed)
                    .and_then(|bytes| self.open_envelope(&bytes, case));
                (stored, result)
            })
            .collect();
        let mut memory = self.memory();
        let remembered = memory.cases.entry(case.0).or_default();
        let log = remembered
            .log
            .get_or_insert_with(|| CaseLog::new(&self.me.centre));
        for (stored, result) in opened {
            let check = log.push(stored.seq, result.as_ref().ok().map(|(o, _)| o));
            let (content, problem) = match (result, check) {
                (Err(e), _) => (None, Some(text::unopened(e))),
                (Ok(_), Check::Replay { first_seq }) => (None, Some(text::replay(first_seq))),
                (Ok(_), Check::OutOfOrder) => (None, Some(text::out_of_order())),
                (Ok((opened, _)), Check::Use) => match &opened.sender {
                    Sender::Staff { staff, .. } => {
                        match ozvi_crypto::format::json::from_slice::<CaseBody>(&opened.body) {
                            Ok(body) => (
                                Some((
                                    body,
                                    staff.clone(),
                                    self.staff_label(staff).unwrap_or_else(|| staff.clone()),
                                )),
                                None,
                            ),
                            Err(_) => (None, Some(text::unopened(OpenError::Malformed))),
                        }
                    }
                    _ => (None, Some(text::unopened(OpenError::UnexpectedKind))),
                },
                (Ok(_), _) => (None, Some(text::unopened(OpenError::UnauthorizedSender))),
            };
            remembered.stored.push(stored);
            remembered.opened.push(content);
            remembered.problems.push(problem);
        }
        let view = build_view(case, &entry, remembered, relay::now());
        Ok(view)
    }

    /// The annual-report figures for `[from, to)` (Unix seconds).
    pub async fn statistics(&self, from: u64, to: u64) -> Result<Statistics, DeskError> {
        if to <= from {
            return Err(DeskError::Invalid(
                "období končí dřív, než začne / the period ends before it starts".into(),
            ));
        }
        let mut stats = Statistics {
            from,
            to,
            ..Statistics::default()
        };
        for case in self.cases().await? {
            let Some(record) = &case.record else { continue };
            if !(from..to).contains(&record.received_at) {
                continue;
            }
            stats.records_received += 1;
            if case.contacted_in_time == Some(true) {
                stats.contacted_within_48h += 1;
            }
            let choice = case.closed.as_ref().map(|c| c.choice).or_else(|| {
                case.attempts
                    .iter()
                    .rev()
                    .find_map(|a| match a.attempt.outcome {
                        Outcome::Accepted => Some(Choice::Accepted),
                        Outcome::Declined => Some(Choice::Declined),
                        _ => None,
                    })
            });
            match choice {
                Some(Choice::Accepted) => stats.accepted += 1,
                Some(Choice::Declined) => stats.declined += 1,
                _ => {}
            }
        }
        let conversations: Vec<InboxEntry> = self
            .inbox()
            .await?
            .into_iter()
            .filter(|e| (from..to).contains(&e.created_at))
            .collect();
        let mut waits = Vec::new();
        for entry in conversations {
            stats.conversations_opened += 1;
            let id = MailboxId::from_b64(&entry.id).map_err(|_| DeskError::BadResponse)?;
            let view = match self.thread(&id).await {
                Ok(view) => view,
                Err(DeskError::UnknownThread(_)) => continue,
                Err(e) => return Err(e),
            };
            // The first verified staff reply, by the relay's receipt time.
            let first_reply = view
                .messages
                .iter()
                .find(|m| matches!(m.author, super::views::Writer::Staff { .. }))
                .map(|m| m.stored_at);
            if let Some(at) = first_reply {
                let wait = at.saturating_sub(entry.created_at);
                if wait <= CONTACT_WITHIN {
                    stats.answered_within_48h += 1;
                }
                waits.push(wait / 60);
            }
        }
        waits.sort_unstable();
        stats.median_first_response_minutes = match waits.len() {
            0 => None,
            n if n % 2 == 1 => Some(waits[n / 2]),
            n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2),
        };
        Ok(stats)
    }
}

/// Whether `stored` is the first entry of a case (seq 1, kind 4). The kind
/// is bound into the payload, so a relay cannot relabel a conversation as a
/// case or back: the entries would not open.
pub(super) fn opens_a_case(stored: &StoredEnvelope) -> bool {
    stored.seq == 1
        && b64::decode(&stored.envelope)
            .ok()
            .is_some_and(|b| b.get(1) == Some(&Kind::CaseEntry.to_byte()))
}

/// Open cases first (overdue first, then by the nearest deadline), closed
/// ones last (newest first).
pub fn sort_cases(cases: &mut [CaseView]) {
    cases.sort_by(|a, b| {
        a.closed
            .is_some()
            .cmp(&b.closed.is_some())
            .then(b.overdue.cmp(&a.overdue))
            .then(
                a.next_deadline
                    .unwrap_or(u64::MAX)
                    .cmp(&b.next_deadline.unwrap_or(u64::MAX)),
            )
            .then(b.last_activity.cmp(&a.last_activity))
            .then(a.id.cmp(&b.id))
    });
}

fn build_view(case: &MailboxId, entry: &InboxEntry, memory: &CaseMemory, now: u64) -> CaseView {
    let mut record = None;
    let mut safe_contact = None;
    let mut attempts = Vec::new();
    let mut links = Vec::new();
    let mut closed = None;
    let mut entries = Vec::new();
    for ((stored, content), problem) in memory
        .stored
        .iter()
        .zip(&memory.opened)
        .zip(&memory.problems)
    {
        let (by, line) = match content {
            Some((body, _, label)) => {
                match body {
                    CaseBody::Record(r) => record = Some(r.clone()),
                    CaseBody::Attempt(a) => attempts.push(AttemptView {
                        attempt: a.clone(),
                        by: label.clone(),
                        stops_clock: a.stops_the_clock(),
                    }),
                    CaseBody::SafeContact(s) => safe_contact = Some(s.clone()),
                    CaseBody::Link { mailbox_id } => {
                        if !links.contains(mailbox_id) {
                            links.push(mailbox_id.clone());
                        }
                    }
                    CaseBody::Close { choice, text } => {
                        closed = Some(ClosedView {
                            at: stored.stored_at,
                            choice: *choice,
                            text: text.clone(),
                        });
                    }
                    CaseBody::Note { .. } => {}
                }
                (Some(label.clone()), text::case_entry_line(body))
            }
            None => (None, String::new()),
        };
        entries.push(CaseEntryView {
            seq: stored.seq,
            stored_at: stored.stored_at,
            by,
            line,
            problem: problem.clone(),
        });
    }
    attempts.sort_by_key(|a| a.attempt.at);
    let contact_due = record.as_ref().map(|r| r.received_at + CONTACT_WITHIN);
    let eviction_end = record.as_ref().map(|r| r.entered_at + EVICTION_LASTS);
    let clock_stopped_at = attempts
        .iter()
        .find(|a| a.stops_clock)
        .map(|a| a.attempt.at);
    let contacted_in_time = match (clock_stopped_at, contact_due) {
        (Some(at), Some(due)) => Some(at <= due),
        _ => None,
    };
    let running = clock_stopped_at.is_none() && closed.is_none();
    let overdue = running && contact_due.is_some_and(|due| now > due);
    let next_deadline = if running {
        contact_due
    } else {
        eviction_end.filter(|end| *end > now && closed.is_none())
    };
    let court_reminder = eviction_end
        .filter(|end| *end > now && closed.is_none())
        .map(text::court_reminder);
    CaseView {
        id: case.to_b64(),
        short: case.to_b64().chars().take(8).collect(),
        created_at: entry.created_at,
        last_activity: entry.last_activity,
        expires_at: entry.expires_at,
        expires_soon: entry.expires_soon,
        deadline_line: text::deadline_line(
            contact_due,
            clock_stopped_at,
            closed.is_some(),
            overdue,
            now,
        ),
        record,
        contact_due,
        eviction_end,
        clock_stopped_at,
        contacted_in_time,
        overdue,
        next_deadline,
        court_reminder,
        safe_contact,
        attempts,
        links,
        closed,
        entries,
    }
}

/// A record staff can work from: both times, in order, not in the future.
fn check_record(record: &EvictionRecord) -> Result<(), DeskError> {
    let now = relay::now();
    if record.entered_at == 0 || record.received_at == 0 {
        return Err(DeskError::Invalid(
            "chybí čas vykázání nebo přijetí záznamu / the eviction's or the receipt's time is missing"
                .into(),
        ));
    }
    if record.received_at < record.entered_at {
        return Err(DeskError::Invalid(
            "záznam nemohl přijít dřív, než policie vykázala / the record cannot arrive before the eviction"
                .into(),
        ));
    }
    if record.received_at > now + 3600 || record.entered_at > now + 3600 {
        return Err(DeskError::Invalid(
            "čas je v budoucnosti / a time is in the future".into(),
        ));
    }
    for field in [
        &record.police_unit,
        &record.record_no,
        &record.name,
        &record.phone,
        &record.address,
        &record.children,
        &record.notes,
    ] {
        check_text(field)?;
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), DeskError> {
    if text.chars().count() > MAX_ENTRY_CHARS {
        return Err(DeskError::Invalid(format!(
            "nejvýše {MAX_ENTRY_CHARS} znaků / at most {MAX_ENTRY_CHARS} characters"
        )));
    }
    Ok(())
}

/// The wire names, for forms and the CLI.
pub fn parse_channel(text: &str) -> Option<Channel> {
    serde_json::from_value(serde_json::Value::String(text.into())).ok()
}

/// The wire names, for forms and the CLI.
pub fn parse_outcome(text: &str) -> Option<Outcome> {
    serde_json::from_value(serde_json::Value::String(text.into())).ok()
}

/// The wire names, for forms and the CLI.
pub fn parse_choice(text: &str) -> Option<Choice> {
    serde_json::from_value(serde_json::Value::String(text.into())).ok()
}

/// An entry as opening it went: opened (and whether under an older
/// directory), or why not.
type Opening = Result<(ozvi_crypto::Opened, bool), OpenError>;

/// Cases remembered by a session, by mailbox id.
pub(super) type CasesMemory = HashMap<[u8; 16], CaseMemory>;

#[cfg(test)]
mod tests {
    use super::*;

    fn view(received_at: u64, attempts: Vec<Attempt>, closed: bool, now: u64) -> CaseView {
        let record = EvictionRecord {
            entered_at: received_at - 3600,
            received_at,
            ..EvictionRecord::default()
        };
        let mut memory = CaseMemory::default();
        let mut bodies = vec![CaseBody::Record(record)];
        bodies.extend(attempts.into_iter().map(CaseBody::Attempt));
        if closed {
            bodies.push(CaseBody::Close {
                choice: Choice::Declined,
                text: String::new(),
            });
        }
        for (i, body) in bodies.into_iter().enumerate() {
            memory.stored.push(StoredEnvelope {
                seq: i as u64 + 1,
                stored_at: received_at,
                envelope: String::new(),
            });
            memory
                .opened
                .push(Some((body, "zlin-1".into(), "Jana".into())));
            memory.problems.push(None);
        }
        let entry = InboxEntry::default();
        build_view(&MailboxId([7; 16]), &entry, &memory, now)
    }

    fn attempt(at: u64, channel: Channel, outcome: Outcome) -> Attempt {
        Attempt {
            at,
            channel,
            outcome,
            text: String::new(),
        }
    }

    #[test]
    fn the_clock_runs_from_receipt_and_stops_at_the_first_attempt_that_counts() {
        let t = 1_800_000_000;
        let fresh = view(t, vec![], false, t + 3600);
        assert_eq!(fresh.contact_due, Some(t + CONTACT_WITHIN));
        assert_eq!(fresh.eviction_end, Some(t - 3600 + EVICTION_LASTS));
        assert!(!fresh.overdue);
        assert_eq!(fresh.next_deadline, fresh.contact_due);

        let late = view(t, vec![], false, t + CONTACT_WITHIN + 60);
        assert!(late.overdue, "49 hours without an attempt");

        // Calls nobody answered do not stop it; a letter does.
        let tried = view(
            t,
            vec![
                attempt(t + 600, Channel::Phone, Outcome::NoAnswer),
                attempt(t + 7200, Channel::Letter, Outcome::NoAnswer),
            ],
            false,
            t + CONTACT_WITHIN + 60,
        );
        assert!(!tried.overdue);
        assert_eq!(tried.clock_stopped_at, Some(t + 7200));
        assert_eq!(tried.contacted_in_time, Some(true));
        assert_eq!(tried.next_deadline, tried.eviction_end);

        let too_late = view(
            t,
            vec![attempt(
                t + CONTACT_WITHIN + 1,
                Channel::Phone,
                Outcome::Reached,
            )],
            false,
            t + CONTACT_WITHIN + 60,
        );
        assert_eq!(too_late.contacted_in_time, Some(false));

        // A closed case waits for nothing.
        let closed = view(t, vec![], true, t + CONTACT_WITHIN + 60);
        assert!(!closed.overdue);
        assert_eq!(closed.next_deadline, None);

        let mut all = vec![closed.clone(), fresh.clone(), late.clone(), tried.clone()];
        for (i, c) in all.iter_mut().enumerate() {
            c.id = format!("{i}");
        }
        sort_cases(&mut all);
        assert!(all[0].overdue, "overdue first");
        assert!(all[3].closed.is_some(), "closed last");
    }

    #[test]
    fn the_statistics_csv_has_one_row_per_figure() {
        let stats = Statistics {
            from: 1_767_225_600,
            to: 1_798_761_600,
            records_received: 3,
            contacted_within_48h: 2,
            accepted: 1,
            declined: 1,
            conversations_opened: 4,
            answered_within_48h: 3,
            median_first_response_minutes: Some(90),
        };
        let csv = stats.to_csv();
        assert!(csv.starts_with("metric,value,label\n"), "{csv}");
        assert!(csv.contains("\nrecords_received,3,"), "{csv}");
        assert!(csv.contains("\ncontacted_within_48h_share,0.667,"), "{csv}");
        assert!(csv.contains("\nmedian_first_response_hours,1.5,"), "{csv}");
        assert_eq!(csv.lines().count(), 11);
    }
}
