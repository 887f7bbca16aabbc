//! The staff-only note of a thread (kind 3): the case status, who has the
//! case, and internal notes. Sealed to the centre's staff only; replaced
//! whole on every change.

use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::addressing;
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::{Kind, MailboxId, OpenError, Sender};

use super::Session;
use super::memory::OpenedNote;
use crate::error::DeskError;
use crate::plaintext::{InternalNote, NoteBody, Status};
use crate::relay;
use crate::text;

impl Session {
    /// The note `ciphertext` (base64url) opened, or the one opened before
    /// from the same ciphertext.
    pub(super) fn note(&self, mailbox: &MailboxId, ciphertext: Option<&str>) -> OpenedNote {
        if let Some(known) = self.memory().notes.get(&mailbox.0)
            && known.ciphertext.as_deref() == ciphertext
        {
            return known.clone();
        }
        let opened = self.open_note(mailbox, ciphertext);
        self.memory().notes.insert(mailbox.0, opened.clone());
        opened
    }

    fn open_note(&self, mailbox: &MailboxId, ciphertext: Option<&str>) -> OpenedNote {
        let mut note = OpenedNote {
            ciphertext: ciphertext.map(str::to_string),
            body: NoteBody::default(),
            problem: None,
            signer_centre: None,
        };
        let Some(text) = ciphertext else {
            return note;
        };
        let Ok(bytes) = b64::decode(text) else {
            note.problem = Some(text::unopened(OpenError::Malformed));
            return note;
        };
        match self.open_envelope(&bytes, mailbox) {
            Ok((opened, _)) if opened.kind == Kind::StaffNote => {
                if let Sender::Staff { centre, .. } = &opened.sender {
                    note.signer_centre = Some(centre.clone());
                }
                match ozvi_crypto::format::json::from_slice::<NoteBody>(&opened.body) {
                    Ok(body) => note.body = body,
                    Err(_) => note.problem = Some(text::unopened(OpenError::Malformed)),
                }
            }
            Ok(_) => note.problem = Some(text::unopened(OpenError::UnexpectedKind)),
            Err(e) => note.problem = Some(text::unopened(e)),
        }
        note
    }

    /// Changes the staff-only note: reads it, applies `change`, seals it to
    /// the centre's staff only and stores it.
    pub async fn update_note(
        &self,
        mailbox: &MailboxId,
        change: impl FnOnce(&mut NoteBody),
    ) -> Result<NoteBody, DeskError> {
        // The current note comes with the thread's summary; no messages.
        let page = self
            .relay
            .thread(&self.signing(), mailbox, u64::MAX - 1)
            .await
            .map_err(|e| self.not_found(e, mailbox))?;
        let mut current = self.note(mailbox, page.thread.note.as_deref());
        if current
            .signer_centre
            .as_ref()
            .is_some_and(|c| *c != self.me.centre)
        {
            // A thread transferred here: a note of this centre would clear
            // "not yet checked", so the history is checked first.
            let view = self.thread(mailbox).await?;
            if let Some(from) = view.entry.transfer_unchecked {
                return Err(DeskError::TransferUnchecked { from });
            }
            let page = self
                .relay
                .thread(&self.signing(), mailbox, u64::MAX - 1)
                .await
                .map_err(|e| self.not_found(e, mailbox))?;
            current = self.note(mailbox, page.thread.note.as_deref());
        }
        if let Some(problem) = current.problem {
            return Err(DeskError::NoteUnverified(problem));
        }
        let mut note = current.body;
        change(&mut note);
        self.write_note(mailbox, note).await
    }

    /// Seals `note` to the centre's staff and stores it.
    pub(super) async fn write_note(
        &self,
        mailbox: &MailboxId,
        note: NoteBody,
    ) -> Result<NoteBody, DeskError> {
        let body = serde_json::to_vec(&note).map_err(|_| DeskError::Prepare("note"))?;
        let envelope = seal(
            &mut os_rng(),
            Signer::Staff(&self.keys),
            Message {
                kind: Kind::StaffNote,
                mailbox,
                body: &body,
                sent_at: relay::now(),
            },
            &addressing::recipients(Kind::StaffNote, self.my_centre()?, None)
                .map_err(|_| DeskError::Prepare("note"))?,
        )
        .map_err(|_| DeskError::TooLong)?;
        self.relay
            .put_note(&self.signing(), mailbox, &envelope)
            .await
            .map_err(|e| self.not_found(e, mailbox))?;
        // What was written is the note now.
        self.memory().notes.insert(
            mailbox.0,
            OpenedNote {
                ciphertext: Some(b64::encode(&envelope)),
                body: note.clone(),
                problem: None,
                signer_centre: Some(self.me.centre.clone()),
            },
        );
        Ok(note)
    }

    /// Sets the case status.
    pub async fn set_status(&self, mailbox: &MailboxId, status: Status) -> Result<(), DeskError> {
        self.update_note(mailbox, |n| n.status = status)
            .await
            .map(drop)
    }

    /// Assigns the case to a staff member of the centre (or to nobody).
    pub async fn assign(&self, mailbox: &MailboxId, staff: Option<&str>) -> Result<(), DeskError> {
        if let Some(staff) = staff
            && !self.my_centre()?.staff.iter().any(|s| s.id == staff)
        {
            return Err(DeskError::NotStaffOfCentre(staff.to_string()));
        }
        let staff = staff.map(str::to_string);
        self.update_note(mailbox, |n| n.assignee = staff)
            .await
            .map(drop)
    }

    /// Records when and how it is safe to contact her (or clears it).
    pub async fn set_safe_contact(
        &self,
        mailbox: &MailboxId,
        safe: Option<crate::plaintext::SafeContact>,
    ) -> Result<(), DeskError> {
        if let Some(s) = &safe
            && (s.times.chars().count() > 1000 || s.code_word.chars().count() > 200)
        {
            return Err(DeskError::Invalid(
                "bezpečný kontakt je příliš dlouhý / the safe-contact details are too long".into(),
            ));
        }
        self.update_note(mailbox, |n| n.safe_contact = safe)
            .await
            .map(drop)
    }

    /// Adds an internal note, visible to the centre's staff only.
    pub async fn add_note(&self, mailbox: &MailboxId, text: &str) -> Result<(), DeskError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DeskError::EmptyText);
        }
        let entry = InternalNote {
            at: relay::now(),
            by: self.me.staff.clone(),
            text: text.into(),
        };
        self.update_note(mailbox, |n| n.notes.push(entry))
            .await
            .map(drop)
    }
}
