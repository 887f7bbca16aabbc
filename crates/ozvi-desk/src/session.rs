//! An unlocked desk: the staff member's keys, the verified directory and the
//! relay. The CLI and the local web UI both work through [`Session`].

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Envelope;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::x25519::X25519Public;
use ozvi_crypto::protocol::conversation::{Check, Conversation};
use ozvi_crypto::protocol::envelope::{Message, Signer, open, rewrap, seal};
use ozvi_crypto::protocol::{addressing, transfer};
use ozvi_crypto::{
    Centre, Directory, Kind, MailboxId, OpenError, Sender, SignedDirectory, StaffKeys,
    TransferError,
};
use serde::Serialize;

use crate::body::{Intake, InternalNote, NoteBody, PersonBody, ReplyBody, Status};
use crate::error::DeskError;
use crate::home::Home;
use crate::keystore;
use crate::relay::{self, Relay, Signing};
use ozvi_api::person::StoredEnvelope;
use ozvi_api::staff::ThreadSummary;

/// Who the unlocked staff member is, by the directory.
#[derive(Debug, Clone, Serialize)]
pub struct Me {
    /// Her centre's id.
    pub centre: String,
    /// Her centre's Czech name.
    pub centre_name: String,
    /// Her staff id.
    pub staff: String,
    /// Her label.
    pub label: String,
}

/// A thread in the inbox.
#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    /// The mailbox id, base64url: the thread's id.
    pub id: String,
    /// The first eight characters, enough to name it in the CLI.
    pub short: String,
    /// Created (Unix seconds, whole minutes).
    pub created_at: u64,
    /// Last activity.
    pub last_activity: u64,
    /// Since when the oldest unanswered message has waited (0: answered).
    pub waiting_since: u64,
    /// Unread messages from the person.
    pub unread: u32,
    /// Messages in the thread.
    pub messages: u32,
    /// Where the case stands.
    pub status: Status,
    /// The staff id of whoever has the case.
    pub assignee: Option<String>,
    /// Her label.
    pub assignee_label: Option<String>,
    /// Set when the note could not be opened and verified.
    pub note_problem: Option<String>,
    /// The centre this thread was transferred from, while the thread has
    /// not been checked here (PROTOCOL.md §4.8): its latest note is still
    /// the other centre's. Shown as "not yet checked" until a desk of this
    /// centre has opened every message, verified every signature and the
    /// addressing, and recorded that in the note.
    pub transfer_unchecked: Option<String>,
}

/// Who wrote a message, as verified.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Author {
    /// The person holding the code.
    Person,
    /// A staff member.
    Staff {
        /// Her centre's id.
        centre: String,
        /// Her staff id.
        staff: String,
        /// Her label.
        label: String,
        /// She is no longer in the current directory.
        former: bool,
    },
    /// Unknown: the message did not open or verify.
    Unverified,
}

/// One message of a thread, decrypted and verified — or marked as not.
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// Position in the thread.
    pub seq: u64,
    /// When the relay stored it (whole minutes).
    pub stored_at: u64,
    /// When the sender says she wrote it.
    pub sent_at: Option<u64>,
    /// Who wrote it.
    pub author: Author,
    /// What was written (empty when it could not be opened).
    pub text: String,
    /// The first message's form answers.
    pub intake: Option<Intake>,
    /// Why the message cannot be trusted; shown instead of the text.
    pub problem: Option<String>,
}

/// A whole thread, decrypted.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadView {
    /// The inbox entry for it.
    pub entry: InboxEntry,
    /// Every message, oldest first.
    pub messages: Vec<MessageView>,
    /// The staff-only note.
    pub note: NoteBody,
}

/// An unlocked desk.
pub struct Session {
    relay: Relay,
    keys: StaffKeys,
    me: Me,
    directory: Directory,
    /// Older verified directories, newest first.
    history: Vec<Directory>,
    /// Envelopes opened (decrypted and verified) so far.
    opened: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// A failed opening, in words.
fn problem(e: OpenError) -> String {
    match e {
        OpenError::NoMatchingKey => {
            "Tato zpráva nebyla zašifrována pro váš klíč (byla odeslána dříve, než jste byla \
             zařazena); přečte ji kolegyně. / Not encrypted to your key (sent before you were \
             enrolled); a colleague can read it."
                .into()
        }
        OpenError::UnauthorizedSender => {
            "PODEZŘELÁ ZPRÁVA: odesílatel není oprávněn psát do tohoto vlákna. / SUSPICIOUS: the \
             sender is not allowed to write in this thread."
                .into()
        }
        _ => "PODEZŘELÁ ZPRÁVA: nelze ověřit, mohla být podvržena nebo poškozena. / SUSPICIOUS: \
              this message does not verify; it may be forged or damaged."
            .into(),
    }
}

impl Session {
    /// Unlocks the keystore, fetches and verifies the directory, and finds
    /// the staff member in it.
    pub async fn open(home: &Home, passphrase: &str) -> Result<Self, DeskError> {
        let settings = home.settings()?;
        let root = settings.root()?;
        let bytes = keystore::read(&home.keystore())?;
        let secret = keystore::open(&bytes, keystore::Kind::Staff, passphrase)?;
        let keys = keystore::staff_keys(&secret)?;
        let relay = Relay::new(&settings.relay)?;
        let known = home.known_directories(&root);
        let json = relay.directory().await?;
        let directory =
            SignedDirectory::verify(&json, &root, known.last()).map_err(DeskError::Directory)?;
        home.remember_directory(&directory, &json)?;
        let mut history: Vec<Directory> = known
            .into_iter()
            .filter(|d| d.version < directory.version)
            .collect();
        history.reverse();
        Self::new(relay, keys, directory, history)
    }

    /// A session from parts already verified (tests, benchmarks).
    pub fn new(
        relay: Relay,
        keys: StaffKeys,
        directory: Directory,
        history: Vec<Directory>,
    ) -> Result<Self, DeskError> {
        let public = keys.public();
        let (centre, member) = directory
            .staff_by_ed25519(&public.ed25519)
            .filter(|(_, m)| m.keys == public)
            .ok_or(DeskError::NotEnrolled)?;
        let me = Me {
            centre: centre.id.clone(),
            centre_name: centre.names.cs.clone(),
            staff: member.id.clone(),
            label: member.label.clone(),
        };
        Ok(Self {
            relay,
            keys,
            me,
            directory,
            history,
            opened: Default::default(),
        })
    }

    /// How many envelopes this session has opened (decrypted and verified).
    pub fn envelopes_opened(&self) -> u64 {
        self.opened.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Who is signed in.
    pub fn me(&self) -> &Me {
        &self.me
    }

    /// The verified directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The relay client.
    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    fn signing(&self) -> Signing<'_> {
        Signing {
            keys: &self.keys,
            salt: &self.directory.salt,
        }
    }

    fn my_centre(&self) -> Result<&Centre, DeskError> {
        self.directory
            .centre(&self.me.centre)
            .ok_or(DeskError::NotEnrolled)
    }

    fn staff_label(&self, staff: &str) -> Option<String> {
        std::iter::once(&self.directory)
            .chain(&self.history)
            .flat_map(|d| &d.centres)
            .flat_map(|c| &c.staff)
            .find(|s| s.id == staff)
            .map(|s| s.label.clone())
    }

    /// Opens an envelope under the current directory, or — for a staff
    /// member who has since been removed — under the newest older directory
    /// that lists her.
    fn open_envelope(
        &self,
        bytes: &[u8],
        mailbox: &MailboxId,
    ) -> Result<(ozvi_crypto::Opened, bool), OpenError> {
        self.opened
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match open(bytes, mailbox, self.keys.x25519(), &self.directory) {
            Err(OpenError::UnauthorizedSender) => {
                for older in &self.history {
                    if let Ok(opened) = open(bytes, mailbox, self.keys.x25519(), older)
                        && matches!(opened.sender, Sender::Staff { .. })
                    {
                        return Ok((opened, true));
                    }
                }
                Err(OpenError::UnauthorizedSender)
            }
            other => other.map(|o| (o, false)),
        }
    }

    fn note_of(&self, mailbox: &MailboxId, note: Option<&str>) -> (NoteBody, Option<String>) {
        let (note, problem, _) = self.note_with_signer(mailbox, note);
        (note, problem)
    }

    /// The note, why it cannot be trusted if so, and the centre of the
    /// staff member who signed it.
    fn note_with_signer(
        &self,
        mailbox: &MailboxId,
        note: Option<&str>,
    ) -> (NoteBody, Option<String>, Option<String>) {
        let Some(text) = note else {
            return (NoteBody::default(), None, None);
        };
        let Ok(bytes) = b64::decode(text) else {
            return (
                NoteBody::default(),
                Some(problem(OpenError::Malformed)),
                None,
            );
        };
        match self.open_envelope(&bytes, mailbox) {
            Ok((opened, _)) if opened.kind == Kind::StaffNote => {
                let centre = match &opened.sender {
                    Sender::Staff { centre, .. } => Some(centre.clone()),
                    _ => None,
                };
                match ozvi_crypto::format::json::from_slice::<NoteBody>(&opened.body) {
                    Ok(note) => (note, None, centre),
                    Err(_) => (
                        NoteBody::default(),
                        Some(problem(OpenError::Malformed)),
                        centre,
                    ),
                }
            }
            Ok(_) => (
                NoteBody::default(),
                Some(problem(OpenError::UnexpectedKind)),
                None,
            ),
            Err(e) => (NoteBody::default(), Some(problem(e)), None),
        }
    }

    fn entry(&self, info: &ThreadSummary) -> Result<(MailboxId, InboxEntry, NoteBody), DeskError> {
        let mailbox = MailboxId::from_b64(&info.mailbox_id).map_err(|_| DeskError::BadResponse)?;
        let (note, note_problem, signer_centre) =
            self.note_with_signer(&mailbox, info.note.as_deref());
        let transfer_unchecked = signer_centre.filter(|c| *c != self.me.centre);
        let entry = InboxEntry {
            id: info.mailbox_id.clone(),
            short: info.mailbox_id.chars().take(8).collect(),
            created_at: info.created_at,
            last_activity: info.last_activity,
            waiting_since: info.unanswered_since,
            unread: info.unread,
            messages: info.message_count,
            status: note.status,
            assignee_label: note.assignee.as_deref().and_then(|a| self.staff_label(a)),
            assignee: note.assignee.clone(),
            note_problem,
            transfer_unchecked,
        };
        Ok((mailbox, entry, note))
    }

    /// The centre's threads, newest activity first.
    pub async fn inbox(&self) -> Result<Vec<InboxEntry>, DeskError> {
        let page = self.relay.inbox(&self.signing(), 0).await?;
        let mut entries = page
            .threads
            .iter()
            .map(|t| self.entry(t).map(|(_, e, _)| e))
            .collect::<Result<Vec<_>, _>>()?;
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

    /// The whole thread, decrypted and verified message by message.
    pub async fn thread(&self, mailbox: &MailboxId) -> Result<ThreadView, DeskError> {
        let page = self
            .relay
            .thread(&self.signing(), mailbox, 0)
            .await
            .map_err(|e| not_found_as_unknown(e, mailbox))?;
        let (_, mut entry, mut note) = self.entry(&page.thread)?;
        let mut conversation = Conversation::new();
        let messages: Vec<MessageView> = page
            .messages
            .iter()
            .map(|m| self.message_view(mailbox, m, &mut conversation))
            .collect();
        if let Some(from) = entry.transfer_unchecked.clone()
            && entry.note_problem.is_none()
            && self.transfer_verifies(&page.messages, &messages)?
        {
            let text = format!(
                "Předání z {from} ověřeno: {} zpráv otevřeno, podpisy a adresace v pořádku. / \
                 Transfer from {from} checked: {} messages open, signatures and addressing hold.",
                messages.len(),
                messages.len()
            );
            let checked = InternalNote {
                at: relay::now(),
                by: self.me.staff.clone(),
                text,
            };
            note.notes.push(checked);
            note = self.write_note(mailbox, note).await?;
            entry.transfer_unchecked = None;
        }
        Ok(ThreadView {
            entry,
            messages,
            note,
        })
    }

    /// Whether a thread transferred here holds up (PROTOCOL.md §4.8): every
    /// message opened and verified and shows once, and every envelope is
    /// addressed to exactly this centre's staff and the thread's person key.
    fn transfer_verifies(
        &self,
        stored: &[StoredEnvelope],
        views: &[MessageView],
    ) -> Result<bool, DeskError> {
        if stored.is_empty() || views.iter().any(|v| v.problem.is_some()) {
            return Ok(false);
        }
        let centre = self.my_centre()?;
        let envelopes: Vec<Vec<u8>> = stored
            .iter()
            .map(|m| b64::decode(&m.envelope).map_err(|_| DeskError::BadResponse))
            .collect::<Result<_, _>>()?;
        let person = envelopes.first().and_then(|e| transfer::person_key_id(e));
        let Some(person) = person else {
            return Ok(false);
        };
        Ok(envelopes.iter().all(|bytes| {
            Envelope::parse(bytes)
                .is_ok_and(|e| addressing::check_parsed(&e, e.kind, centre, Some(&person)).is_ok())
        }))
    }

    fn message_view(
        &self,
        mailbox: &MailboxId,
        stored: &StoredEnvelope,
        conversation: &mut Conversation,
    ) -> MessageView {
        let mut view = MessageView {
            seq: stored.seq,
            stored_at: stored.stored_at,
            sent_at: None,
            author: Author::Unverified,
            text: String::new(),
            intake: None,
            problem: None,
        };
        let opened = b64::decode(&stored.envelope)
            .map_err(|_| OpenError::Malformed)
            .and_then(|bytes| self.open_envelope(&bytes, mailbox));
        // The checks across the thread (replays, order) are ozvi-crypto's.
        let check = conversation.push(stored.seq, opened.as_ref().ok().map(|(o, _)| o));
        let (opened, former) = match opened {
            Ok(o) => o,
            Err(e) => {
                view.problem = Some(problem(e));
                return view;
            }
        };
        match check {
            Check::Show => {}
            Check::Replay { first_seq } => {
                view.problem = Some(format!(
                    "OPAKOVANÁ ZPRÁVA: kopie zprávy #{first_seq}, znovu se nezobrazuje. / \
                     REPLAY: a copy of message #{first_seq}, not shown again."
                ));
                return view;
            }
            Check::OutOfOrder => {
                view.problem = Some(
                    "PODEZŘELÁ ZPRÁVA: mimo pořadí vlákna. / SUSPICIOUS: out of the thread's order."
                        .into(),
                );
                return view;
            }
            _ => {
                view.problem = Some(problem(OpenError::UnexpectedKind));
                return view;
            }
        }
        view.sent_at = Some(opened.sent_at);
        match (&opened.sender, opened.kind) {
            (Sender::Person(_), Kind::PersonMessage) => {
                match ozvi_crypto::format::json::from_slice::<PersonBody>(&opened.body) {
                    Ok(body) => {
                        view.author = Author::Person;
                        view.text = body.text;
                        view.intake = body.intake;
                    }
                    Err(_) => view.problem = Some(problem(OpenError::Malformed)),
                }
            }
            (Sender::Staff { centre, staff }, Kind::StaffReply) => {
                match ozvi_crypto::format::json::from_slice::<ReplyBody>(&opened.body) {
                    Ok(body) => {
                        view.author = Author::Staff {
                            centre: centre.clone(),
                            staff: staff.clone(),
                            label: self.staff_label(staff.as_str()).unwrap_or_default(),
                            former,
                        };
                        view.text = body.text;
                    }
                    Err(_) => view.problem = Some(problem(OpenError::Malformed)),
                }
            }
            _ => view.problem = Some(problem(OpenError::UnexpectedKind)),
        }
        view
    }

    /// The person's X25519 key, from the thread's first verified person
    /// message (her messages carry it, and opening checked it against the
    /// mailbox id).
    async fn person_key(&self, mailbox: &MailboxId) -> Result<X25519Public, DeskError> {
        let page = self
            .relay
            .thread(&self.signing(), mailbox, 0)
            .await
            .map_err(|e| not_found_as_unknown(e, mailbox))?;
        for stored in &page.messages {
            let Ok(bytes) = b64::decode(&stored.envelope) else {
                continue;
            };
            if let Ok((opened, _)) = self.open_envelope(&bytes, mailbox)
                && let Sender::Person(public) = opened.sender
            {
                return Ok(public.x25519);
            }
        }
        Err(DeskError::Invalid(
            "no message of this thread verifies as the person's, so a reply cannot be \
             encrypted to her"
                .into(),
        ))
    }

    /// Replies to the person; returns the reply's sequence number.
    pub async fn reply(&self, mailbox: &MailboxId, text: &str) -> Result<u64, DeskError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DeskError::Invalid("the reply is empty".into()));
        }
        let person = self.person_key(mailbox).await?;
        let recipients = addressing::recipients(Kind::StaffReply, self.my_centre()?, Some(&person))
            .map_err(|_| DeskError::Invalid("reply".into()))?;
        let body = serde_json::to_vec(&ReplyBody {
            text: text.into(),
            lang: Some("cs".into()),
        })
        .map_err(|_| DeskError::Invalid("reply".into()))?;
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
        .map_err(|_| DeskError::Invalid("the reply is too long".into()))?;
        let seq = self
            .relay
            .reply(&self.signing(), mailbox, &envelope)
            .await?;
        self.relay.mark_read(&self.signing(), mailbox, seq).await?;
        Ok(seq)
    }

    /// Marks the thread read up to `seq`.
    pub async fn mark_read(&self, mailbox: &MailboxId, seq: u64) -> Result<(), DeskError> {
        self.relay.mark_read(&self.signing(), mailbox, seq).await
    }

    /// Changes the staff-only note: reads it, applies `change`, seals it to
    /// the centre's staff only and stores it.
    pub async fn update_note(
        &self,
        mailbox: &MailboxId,
        change: impl FnOnce(&mut NoteBody),
    ) -> Result<NoteBody, DeskError> {
        let page = self
            .relay
            .thread(&self.signing(), mailbox, u64::MAX - 1)
            .await
            .map_err(|e| not_found_as_unknown(e, mailbox))?;
        let (_, _, signer) = self.note_with_signer(mailbox, page.thread.note.as_deref());
        let note_text = if signer.is_some_and(|c| c != self.me.centre) {
            // A thread transferred here: a note of this centre would clear
            // "not yet checked", so the history is checked first.
            let view = self.thread(mailbox).await?;
            if let Some(from) = view.entry.transfer_unchecked {
                return Err(DeskError::Invalid(format!(
                    "this conversation was transferred from {from} and its history does not \
                     verify; open it to see which messages, and ask the operator"
                )));
            }
            self.relay
                .thread(&self.signing(), mailbox, u64::MAX - 1)
                .await?
                .thread
                .note
        } else {
            page.thread.note
        };
        let (mut note, note_problem) = self.note_of(mailbox, note_text.as_deref());
        if let Some(problem) = note_problem {
            // Starting over would silently drop colleagues' notes; say so.
            return Err(DeskError::Invalid(format!(
                "the current note cannot be verified, so it is left as it is: {problem}"
            )));
        }
        change(&mut note);
        self.write_note(mailbox, note).await
    }

    /// Seals `note` to the centre's staff and stores it.
    async fn write_note(&self, mailbox: &MailboxId, note: NoteBody) -> Result<NoteBody, DeskError> {
        let body = serde_json::to_vec(&note).map_err(|_| DeskError::Invalid("note".into()))?;
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
                .map_err(|_| DeskError::Invalid("note".into()))?,
        )
        .map_err(|_| DeskError::Invalid("the notes are too long for one note".into()))?;
        self.relay
            .put_note(&self.signing(), mailbox, &envelope)
            .await?;
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
            return Err(DeskError::Invalid(format!(
                "`{staff}` is not a staff member of your centre"
            )));
        }
        let staff = staff.map(str::to_string);
        self.update_note(mailbox, |n| n.assignee = staff)
            .await
            .map(drop)
    }

    /// Adds an internal note, visible to the centre's staff only.
    pub async fn add_note(&self, mailbox: &MailboxId, text: &str) -> Result<(), DeskError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DeskError::Invalid("the note is empty".into()));
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

    /// Transfers the thread to another centre: every message's content key
    /// is re-wrapped to the new centre's staff, its payload and the person's
    /// stanza are kept byte for byte (PROTOCOL.md §4.8), so she keeps her
    /// code and her history; the note is re-sealed to the new staff. Refuses
    /// if any message does not verify.
    pub async fn transfer(&self, mailbox: &MailboxId, to: &str) -> Result<(), DeskError> {
        let target = self
            .directory
            .centre(to)
            .ok_or_else(|| DeskError::Invalid(format!("no centre `{to}` in the directory")))?;
        if target.id == self.me.centre {
            return Err(DeskError::Invalid(
                "the thread is already at your centre".into(),
            ));
        }
        let page = self
            .relay
            .thread(&self.signing(), mailbox, 0)
            .await
            .map_err(|e| not_found_as_unknown(e, mailbox))?;
        let person = self.person_key(mailbox).await?;
        let staff_only = target.staff_x25519();
        let mut rng = os_rng();
        let mut resealed = Vec::with_capacity(page.messages.len());
        for stored in &page.messages {
            let bytes = b64::decode(&stored.envelope).map_err(|_| DeskError::BadResponse)?;
            let new = self
                .rewrap_one(&mut rng, &bytes, mailbox, Some(&person), &staff_only)
                .map_err(|e| match e {
                    TransferError::Legacy => DeskError::Invalid(
                        "this conversation began before envelope format 2 and cannot be \
                         transferred (docs/OPERATIONS.md, \"Upgrading\")"
                            .into(),
                    ),
                    _ => DeskError::Invalid(format!(
                        "message {} does not verify, so the thread is not transferred; \
                         ask the operator",
                        stored.seq
                    )),
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
                    .map_err(|_| {
                        DeskError::Invalid(
                            "the note does not verify, so the thread is not transferred".into(),
                        )
                    })?
            }
            None => {
                let body = serde_json::to_vec(&NoteBody::default())
                    .map_err(|_| DeskError::Invalid("note".into()))?;
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
                        .map_err(|_| DeskError::Invalid("note".into()))?,
                )
                .map_err(|_| DeskError::Invalid("note".into()))?
            }
        };
        let note = Some(note);
        self.relay
            .transfer(&self.signing(), mailbox, to, &resealed, note.as_deref())
            .await
    }

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

    /// The thread as text for the case record.
    pub async fn export_text(&self, mailbox: &MailboxId) -> Result<String, DeskError> {
        let view = self.thread(mailbox).await?;
        Ok(crate::export::text(&view, &self.me))
    }

    /// Opens the centre's live event stream on the relay.
    pub async fn events(&self) -> Result<reqwest::Response, DeskError> {
        self.relay.events(&self.signing()).await
    }
}

fn not_found_as_unknown(e: DeskError, mailbox: &MailboxId) -> DeskError {
    match e.relay_code() {
        Some(ozvi_api::ErrorCode::UnknownMailbox) => DeskError::UnknownThread(mailbox.to_b64()),
        _ => e,
    }
}
