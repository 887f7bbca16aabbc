//! Moving a thread to another centre (PROTOCOL.md §4.8): every message's
//! content key is re-wrapped to the new centre's staff, its payload and the
//! person's stanza are kept byte for byte, so she keeps her code and her
//! history; the note is re-sealed to the new staff.

use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::x25519::X25519Public;
use ozvi_crypto::protocol::addressing;
use ozvi_crypto::protocol::envelope::{Message, Signer, rewrap, seal};
use ozvi_crypto::{Kind, MailboxId, OpenError, TransferError};

use super::Session;
use super::views::Writer;
use crate::error::DeskError;
use crate::plaintext::{NoteBody, ReplyBody, TransferNotice};
use crate::relay;
use crate::text;

impl Session {
    /// Transfers the thread to centre `to`, telling her in a sealed notice
    /// which centre now reads it and `reason` (PROTOCOL.md §4.8). Refuses
    /// if any message or the note does not verify.
    pub async fn transfer(
        &self,
        mailbox: &MailboxId,
        to: &str,
        reason: &str,
    ) -> Result<(), DeskError> {
        let target = self
            .directory
            .centre(to)
            .ok_or_else(|| DeskError::UnknownCentre(to.to_string()))?;
        if target.id == self.me.centre {
            return Err(DeskError::SameCentre);
        }
        let reason = reason.trim();
        if reason.chars().count() > TransferNotice::REASON_MAX {
            return Err(DeskError::Invalid(format!(
                "důvod má nejvýš {} znaků / the reason has at most {} characters",
                TransferNotice::REASON_MAX,
                TransferNotice::REASON_MAX
            )));
        }
        // Her language: that of her newest verified message.
        let lang = self
            .thread(mailbox)
            .await?
            .messages
            .iter()
            .rev()
            .filter(|m| matches!(m.author, Writer::Person))
            .find_map(|m| m.lang.clone());
        // Every message, as stored now (the relay refuses a transfer that
        // does not list exactly the stored messages).
        let page = self
            .relay
            .thread(&self.signing(), mailbox, 0)
            .await
            .map_err(|e| self.not_found(e, mailbox))?;
        let person = self.person_key(mailbox).await?;
        let staff_only = target.staff_x25519();
        let mut rng = os_rng();
        let mut resealed = Vec::with_capacity(page.messages.len());
        for stored in &page.messages {
            let bytes = b64::decode(&stored.envelope).map_err(|_| DeskError::BadResponse)?;
            let new = self
                .rewrap_one(&mut rng, &bytes, mailbox, Some(&person), &staff_only)
                .map_err(|e| match e {
                    TransferError::Legacy => DeskError::LegacyThread,
                    _ => DeskError::MessageUnverified(stored.seq),
                })?;
            resealed.push((stored.seq, new));
        }
        // The note goes along; a thread without one gets one, so the
        // receiving centre sees that the thread came from elsewhere and says
        // "not yet checked" until it has verified the history.
        let note = match &page.thread.note {
            Some(text) => {
                let bytes = b64::decode(text).map_err(|_| DeskError::BadResponse)?;
                self.rewrap_one(&mut rng, &bytes, mailbox, None, &staff_only)
                    .map_err(|_| DeskError::NoteBlocksTransfer)?
            }
            None => {
                let body = serde_json::to_vec(&NoteBody::default())
                    .map_err(|_| DeskError::Prepare("note"))?;
                seal(
                    &mut rng,
                    Signer::Staff(&self.keys),
                    Message {
                        kind: Kind::StaffNote,
                        mailbox,
                        body: &body,
                        sent_at: relay::now(),
                    },
                    &addressing::recipients(Kind::StaffNote, target, None)
                        .map_err(|_| DeskError::Prepare("note"))?,
                )
                .map_err(|_| DeskError::Prepare("note"))?
            }
        };
        // The notice: a reply of this staff member, sealed to the new
        // centre's staff and to her, appended by the relay with the move.
        let lang = text::notice_lang(lang.as_deref());
        let body = ReplyBody {
            text: text::transfer_notice(lang, &target.names, reason),
            lang: Some(lang.into()),
            transfer: Some(TransferNotice {
                to: target.id.clone(),
                reason: reason.into(),
            }),
            ..ReplyBody::default()
        };
        let body = serde_json::to_vec(&body).map_err(|_| DeskError::Prepare("notice"))?;
        let notice = seal(
            &mut rng,
            Signer::Staff(&self.keys),
            Message {
                kind: Kind::StaffReply,
                mailbox,
                body: &body,
                sent_at: relay::now(),
            },
            &addressing::recipients(Kind::StaffReply, target, Some(&person))
                .map_err(|_| DeskError::Prepare("notice"))?,
        )
        .map_err(|_| DeskError::TooLong)?;
        self.relay
            .transfer(
                &self.signing(),
                mailbox,
                to,
                &resealed,
                Some(&note),
                &notice,
            )
            .await?;
        // The thread is the other centre's now.
        self.forget(mailbox);
        Ok(())
    }

    /// Re-wraps one envelope, opening it under the current directory or,
    /// for a staff member since removed, an older one.
    fn rewrap_one(
        &self,
        rng: &mut impl rand_core::CryptoRng,
        bytes: &[u8],
        mailbox: &MailboxId,
        person: Option<&X25519Public>,
        staff: &[X25519Public],
    ) -> Result<Vec<u8>, TransferError> {
        let mut last = Err(TransferError::Open(OpenError::NoMatchingKey));
        for directory in std::iter::once(&self.directory).chain(&self.history) {
            last = rewrap(
                rng,
                bytes,
                mailbox,
                self.keys.x25519(),
                directory,
                person,
                staff,
            );
            if !matches!(
                last,
                Err(TransferError::Open(OpenError::UnauthorizedSender))
            ) {
                break;
            }
        }
        last
    }
}
