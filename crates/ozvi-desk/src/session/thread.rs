//! One thread: opening it (only the messages not yet opened in this
//! session), replying to the person, and the centre's read mark.

use ozvi_api::person::StoredEnvelope;
use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Envelope;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::x25519::X25519Public;
use ozvi_crypto::protocol::conversation::{Check, Conversation};
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::protocol::file::{FileId, FileRef};
use ozvi_crypto::protocol::{addressing, transfer};
use ozvi_crypto::{Kind, MailboxId, OpenError, Sender};

use super::Session;
use super::memory::ThreadMemory;
use super::views::{AttachmentView, MessageView, ThreadView, Writer};
use crate::error::DeskError;
use crate::plaintext::{HerState, InternalNote, PersonBody, ReplyBody, StateUpdate};
use crate::relay;
use crate::text;

impl Session {
    /// The whole thread, decrypted and verified message by message. Only
    /// messages after those this session already opened are fetched and
    /// opened.
    pub async fn thread(&self, mailbox: &MailboxId) -> Result<ThreadView, DeskError> {
        // The last message already held is fetched again with what is new:
        // if it is not byte for byte the one remembered, this is another
        // thread under the same mailbox id (she deleted hers and wrote
        // anew with the same code), and everything remembered is dropped.
        let last = self
            .memory()
            .threads
            .get(&mailbox.0)
            .and_then(|t| t.stored.last().cloned());
        let after = last.as_ref().map_or(0, |m| m.seq - 1);
        let mut page = self
            .relay
            .thread(&self.signing(), mailbox, after)
            .await
            .map_err(|e| self.not_found(e, mailbox))?;
        let same = last.as_ref().is_none_or(|last| {
            page.messages.first() == Some(last)
                && self
                    .memory()
                    .threads
                    .get(&mailbox.0)
                    .is_some_and(|t| t.same_thread(&page.thread))
        });
        if !same {
            self.memory().threads.remove(&mailbox.0);
            page = self
                .relay
                .thread(&self.signing(), mailbox, 0)
                .await
                .map_err(|e| self.not_found(e, mailbox))?;
        }
        if page
            .messages
            .first()
            .is_some_and(super::cases::opens_a_case)
        {
            // An eviction case is read as a case, never as a conversation.
            return Err(DeskError::UnknownThread(mailbox.to_b64()));
        }
        let (mailbox_id, mut entry) = self.entry(&page.thread)?;
        let messages = {
            let mut memory = self.memory();
            let thread = memory
                .threads
                .entry(mailbox_id.0)
                .or_insert_with(|| ThreadMemory::new(page.thread.created_at));
            for stored in page.messages {
                // Two calls may fetch the same messages at once: each is
                // taken once, in order.
                if stored.seq <= thread.last_seq() {
                    continue;
                }
                let (mut view, person) =
                    self.open_message(mailbox, &stored, &mut thread.conversation);
                let before: usize = thread.views.iter().map(|v| v.files.len()).sum();
                for (i, file) in view.files.iter_mut().enumerate() {
                    file.number = before + i + 1;
                }
                if thread.person.is_none() {
                    thread.person = person;
                }
                thread.stored.push(stored);
                thread.views.push(view);
            }
            thread.views.clone()
        };
        let mut note = self.note(mailbox, page.thread.note.as_deref()).body;
        if let Some(from) = entry.transfer_unchecked.clone()
            && entry.note_problem.is_none()
            && self.transfer_verifies(mailbox, &messages)?
        {
            note.notes.push(InternalNote {
                at: relay::now(),
                by: self.me.staff.clone(),
                text: text::transfer_checked(&from, messages.len()),
            });
            note = self.write_note(mailbox, note).await?;
            entry.transfer_unchecked = None;
        }
        let her_state = super::views::her_state(&messages);
        entry.her_state.clone_from(&her_state);
        Ok(ThreadView {
            entry,
            messages,
            note,
            her_state,
        })
    }

    /// Whether a thread transferred here holds up (PROTOCOL.md §4.8): every
    /// message opened and verified and shows once, and every envelope is
    /// addressed to exactly this centre's staff and the thread's person key.
    fn transfer_verifies(
        &self,
        mailbox: &MailboxId,
        views: &[MessageView],
    ) -> Result<bool, DeskError> {
        if views.is_empty() || views.iter().any(|v| v.problem.is_some()) {
            return Ok(false);
        }
        let centre = self.my_centre()?;
        let envelopes: Vec<Vec<u8>> = self
            .memory()
            .threads
            .get(&mailbox.0)
            .map(|t| {
                t.stored
                    .iter()
                    .map(|m| b64::decode(&m.envelope).map_err(|_| DeskError::BadResponse))
                    .collect::<Result<_, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let person = envelopes.first().and_then(|e| transfer::person_key_id(e));
        let Some(person) = person else {
            return Ok(false);
        };
        Ok(envelopes.iter().all(|bytes| {
            Envelope::parse(bytes)
                .is_ok_and(|e| addressing::check_parsed(&e, e.kind, centre, Some(&person)).is_ok())
        }))
    }

    /// Opens and checks one stored message in the thread's order; also
    /// gives the person's key when it is a verified message of hers.
    pub(super) fn open_message(
        &self,
        mailbox: &MailboxId,
        stored: &StoredEnvelope,
        conversation: &mut Conversation,
    ) -> (MessageView, Option<X25519Public>) {
        let mut view = MessageView {
            seq: stored.seq,
            stored_at: stored.stored_at,
            sent_at: None,
            author: Writer::Unverified,
            text: String::new(),
            intake: None,
            lang: None,
            status: None,
            transfer: None,
            problem: None,
            files: Vec::new(),
        };
        let opened = b64::decode(&stored.envelope)
            .map_err(|_| OpenError::Malformed)
            .and_then(|bytes| self.open_envelope(&bytes, mailbox));
        // The checks across the thread (replays, order) are ozvi-crypto's.
        let check = conversation.push(stored.seq, opened.as_ref().ok().map(|(o, _)| o));
        let (opened, former) = match opened {
            Ok(o) => o,
            Err(e) => {
                view.problem = Some(text::unopened(e));
                return (view, None);
            }
        };
        let problem = match check {
            Check::Show => None,
            Check::Replay { first_seq } => Some(text::replay(first_seq)),
            Check::OutOfOrder => Some(text::out_of_order()),
            _ => Some(text::unopened(OpenError::UnexpectedKind)),
        };
        if problem.is_some() {
            view.problem = problem;
            return (view, None);
        }
        view.sent_at = Some(opened.sent_at);
        let mut person = None;
        match (&opened.sender, opened.kind) {
            (Sender::Person(public), Kind::PersonMessage) => {
                // Her key is hers whatever the body holds: opening checked
                // it against the mailbox id.
                person = Some(public.x25519);
                match ozvi_crypto::format::json::from_slice::<PersonBody>(&opened.body) {
                    Ok(body) => {
                        view.author = Writer::Person;
                        view.text = body.text;
                        view.intake = body.intake;
                        view.lang = body.lang;
                    }
                    Err(_) => view.problem = Some(text::unopened(OpenError::Malformed)),
                }
            }
            (Sender::Staff { centre, staff }, Kind::StaffReply) => {
                match ozvi_crypto::format::json::from_slice::<ReplyBody>(&opened.body) {
                    Ok(body) => {
                        view.author = Writer::Staff {
                            centre: centre.clone(),
                            staff: staff.clone(),
                            label: self.staff_label(staff.as_str()).unwrap_or_default(),
                            former,
                        };
                        view.text = body.text;
                        view.lang = body.lang;
                        view.status = body.status;
                        view.transfer = body.transfer;
                    }
                    Err(_) => view.problem = Some(text::unopened(OpenError::Malformed)),
                }
            }
            _ => view.problem = Some(text::unopened(OpenError::UnexpectedKind)),
        }
        if view.problem.is_none() {
            // Each reference on its own: a bad one is listed as such and
            // hides neither the message nor the other files (§12.3).
            view.files = serde_json::from_slice::<serde_json::Value>(&opened.body)
                .ok()
                .and_then(|body| FileRef::from_body(&body))
                .unwrap_or_default()
                .into_iter()
                .map(AttachmentView::of)
                .collect();
        }
        (view, person)
    }

    /// The person's X25519 key, from the thread's first verified person
    /// message (her messages carry it, and opening checked it against the
    /// mailbox id). Opens the thread if this session has not yet.
    pub(super) async fn person_key(&self, mailbox: &MailboxId) -> Result<X25519Public, DeskError> {
        let known = |session: &Self| {
            session
                .memory()
                .threads
                .get(&mailbox.0)
                .and_then(|t| t.person)
        };
        if let Some(key) = known(self) {
            return Ok(key);
        }
        self.thread(mailbox).await?;
        known(self).ok_or(DeskError::NoPersonKey)
    }

    /// Replies to the person; returns the reply's sequence number. The
    /// thread is then read up to the reply.
    pub async fn reply(&self, mailbox: &MailboxId, text: &str) -> Result<u64, DeskError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DeskError::EmptyText);
        }
        self.send_reply(
            mailbox,
            &ReplyBody {
                text: text.into(),
                lang: Some("cs".into()),
                ..ReplyBody::default()
            },
        )
        .await
    }

    /// Tells her the conversation's state, with the centre's one-line
    /// explanation (PROTOCOL.md §4.6): a reply, sealed to her and signed,
    /// in the thread's order. Returns its sequence number.
    pub async fn set_her_state(
        &self,
        mailbox: &MailboxId,
        state: HerState,
        note: &str,
    ) -> Result<u64, DeskError> {
        let note = note.trim();
        if note.contains(['\n', '\r']) {
            return Err(DeskError::Invalid(
                "vysvětlení musí být na jeden řádek / the explanation must be one line".into(),
            ));
        }
        if note.chars().count() > StateUpdate::NOTE_MAX {
            return Err(DeskError::Invalid(format!(
                "vysvětlení má nejvýš {} znaků / the explanation has at most {} characters",
                StateUpdate::NOTE_MAX,
                StateUpdate::NOTE_MAX
            )));
        }
        self.send_reply(
            mailbox,
            &ReplyBody {
                lang: Some("cs".into()),
                status: Some(StateUpdate {
                    state,
                    note: note.into(),
                }),
                ..ReplyBody::default()
            },
        )
        .await
    }

    /// Seals `body` as a reply to her and this centre's staff, posts it and
    /// marks the thread read up to it.
    async fn send_reply(&self, mailbox: &MailboxId, body: &ReplyBody) -> Result<u64, DeskError> {
        self.send_reply_with(mailbox, body, &[]).await
    }

    /// [`Self::send_reply`] for a reply that claims `files`, uploaded
    /// before it (their references are in `body`).
    pub(super) async fn send_reply_with(
        &self,
        mailbox: &MailboxId,
        body: &ReplyBody,
        files: &[FileId],
    ) -> Result<u64, DeskError> {
        let person = self.person_key(mailbox).await?;
        let recipients = addressing::recipients(Kind::StaffReply, self.my_centre()?, Some(&person))
            .map_err(|_| DeskError::Prepare("reply"))?;
        let body = serde_json::to_vec(body).map_err(|_| DeskError::Prepare("reply"))?;
        let envelope = seal(
            &mut os_rng(),
            Signer::Staff(&self.keys),
            Message {
                kind: Kind::StaffReply,
                mailbox,
                body: &body,
                sent_at: relay::now(),
            },
            &recipients,
        )
        .map_err(|_| DeskError::TooLong)?;
        let seq = self
            .relay
            .reply_with_files(&self.signing(), mailbox, &envelope, files)
            .await
            .map_err(|e| self.not_found(e, mailbox))?;
        self.mark_read(mailbox, seq).await?;
        Ok(seq)
    }

    /// Marks the thread read up to `seq`, unless this session already did.
    /// Keeps a quiet conversation from deletion for another retention
    /// period (the relay restarts its inactivity clock).
    pub async fn keep(&self, mailbox: &MailboxId) -> Result<(), DeskError> {
        self.relay
            .keep(&self.signing(), mailbox)
            .await
            .map_err(|e| self.not_found(e, mailbox))
    }

    /// Records that the centre has read the thread up to `seq`.
    pub async fn mark_read(&self, mailbox: &MailboxId, seq: u64) -> Result<(), DeskError> {
        let done = self
            .memory()
            .threads
            .get(&mailbox.0)
            .is_some_and(|t| t.read_up_to >= seq);
        if done {
            return Ok(());
        }
        self.relay
            .mark_read(&self.signing(), mailbox, seq)
            .await
            .map_err(|e| self.not_found(e, mailbox))?;
        if let Some(thread) = self.memory().threads.get_mut(&mailbox.0) {
            thread.read_up_to = thread.read_up_to.max(seq);
        }
        Ok(())
    }

    /// The thread as text for the case record.
    pub async fn export_text(&self, mailbox: &MailboxId) -> Result<String, DeskError> {
        let view = self.thread(mailbox).await?;
        Ok(crate::export::text(&view, &self.me))
    }
}
