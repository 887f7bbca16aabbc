//! What the session shows: the staff member, inbox entries, verified
//! messages and whole threads. The web UI receives them as JSON; the CLI
//! and the export print them.

use serde::Serialize;

use crate::plaintext::{Intake, NoteBody, StateUpdate, Status, TransferNotice};

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
#[derive(Debug, Clone, Default, Serialize)]
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
    /// Her first message said she is in danger right now.
    pub danger: bool,
    /// Her first message gave her age as under 16: centres serve people
    /// over 16; point her kindly to Linka bezpečí 116 111 and still hear her.
    pub under_16: bool,
    /// The conversation's state as the centre last told her (the newest
    /// verified state this desk has seen: the thread's, once opened in
    /// this session, else the newest message's).
    pub her_state: Option<StateUpdate>,
    /// Who writes, from the form: `self`, `witness` or `professional`.
    pub role: Option<String>,
    /// The language of her page.
    pub lang: Option<String>,
    /// The first line of the newest message (at most 120 characters).
    pub latest_line: Option<String>,
    /// The newest message is hers (not a staff reply).
    pub latest_from_person: bool,
    /// When the relay will delete the thread if nothing happens in it
    /// (its last activity plus the centre's retention).
    pub expires_at: Option<u64>,
    /// That is within seven days: warn.
    pub expires_soon: bool,
    /// A staff-only eviction case (PROTOCOL.md §4.11), not a conversation:
    /// listed with the cases, not in the inbox.
    pub case: bool,
}

/// Who wrote a message, as its signature shows (serialized as `author`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Writer {
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
    pub author: Writer,
    /// What was written (empty when it could not be opened).
    pub text: String,
    /// The first message's form answers.
    pub intake: Option<Intake>,
    /// The language of her page (her messages) or of the reply.
    pub lang: Option<String>,
    /// A staff reply telling her the conversation's state.
    pub status: Option<StateUpdate>,
    /// A staff reply telling her the conversation moved.
    pub transfer: Option<TransferNotice>,
    /// Why the message cannot be trusted; shown instead of the text.
    pub problem: Option<String>,
    /// The files it carries (PROTOCOL.md §12), numbered across the thread.
    pub files: Vec<AttachmentView>,
}

/// One attached file as the conversation lists it. The reference (with the
/// file's key) stays in the desk: it is never serialized.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    /// Its number in the thread, from 1, in the order of the messages
    /// (`ozvi-desk attachment THREAD N`).
    pub number: usize,
    /// `image/jpeg`, `image/png` or `application/pdf`; none when the
    /// reference is invalid.
    pub media_type: Option<String>,
    /// Its length in bytes.
    pub size: Option<u64>,
    /// Pixel width, for images.
    pub width: Option<u32>,
    /// Pixel height, for images.
    pub height: Option<u32>,
    /// The name the sender gave it (staff files), checked by §12.3, with
    /// any control, bidi, zero-width or other invisible character or line
    /// separator replaced by `_` (never shown, even if §12.3 let one by).
    pub name: Option<String>,
    /// Set for a reference that breaks §12.3: "an attachment that cannot
    /// be opened", shown in its place.
    pub problem: Option<String>,
    /// What opens the blob.
    #[serde(skip)]
    pub reference: Option<ozvi_crypto::protocol::file::FileRef>,
}

/// A sender's file name as the desk shows it: every character that could
/// hide or reorder text (`terminal::is_unsafe`) replaced by `_`.
fn shown_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if crate::terminal::is_unsafe(c) {
                '_'
            } else {
                c
            }
        })
        .collect()
}

impl AttachmentView {
    /// The entry for one reference of a message body.
    pub fn of(
        reference: Result<
            ozvi_crypto::protocol::file::FileRef,
            ozvi_crypto::protocol::file::FileError,
        >,
    ) -> Self {
        match reference {
            Ok(r) => Self {
                number: 0,
                media_type: Some(r.media_type.clone()),
                size: Some(r.size),
                width: r.pixels.map(|p| p.0),
                height: r.pixels.map(|p| p.1),
                name: r.name.as_deref().map(shown_name),
                problem: None,
                reference: Some(r),
            },
            Err(_) => Self {
                number: 0,
                media_type: None,
                size: None,
                width: None,
                height: None,
                name: None,
                problem: Some(crate::text::ATTACHMENT_INVALID.to_string()),
                reference: None,
            },
        }
    }

    /// Its kind, size and pixel size in Czech, e.g. `obrázek JPEG · 1,2 MB
    /// · 1200×800 px` (names are other people's text: escape to print).
    pub fn describe(&self) -> String {
        let Some(kind) = &self.media_type else {
            return crate::text::ATTACHMENT_INVALID.to_string();
        };
        let mut out = crate::text::media_kind(kind).to_string();
        if let Some(size) = self.size {
            out.push_str(" · ");
            out.push_str(&crate::text::file_size(size));
        }
        if let (Some(w), Some(h)) = (self.width, self.height) {
            out.push_str(&format!(" · {w}×{h} px"));
        }
        out
    }
}

/// The conversation's current state for her: the newest shown message's.
pub fn her_state(messages: &[MessageView]) -> Option<StateUpdate> {
    messages
        .iter()
        .rev()
        .filter(|m| m.problem.is_none())
        .find_map(|m| m.status.clone())
}

/// A whole thread, decrypted.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadView {
    /// The inbox entry for it.
    pub entry: InboxEntry,
    /// Every message, oldest first.
    pub messages: Vec<MessageView>,
    /// The conversation's state as the centre last told her: the newest
    /// verified reply carrying one (PROTOCOL.md §4.6); none yet when absent.
    pub her_state: Option<StateUpdate>,
    /// The staff-only note.
    pub note: NoteBody,
}

#[cfg(test)]
mod attachment_tests {
    use super::*;
    use ozvi_crypto::protocol::file::{FileId, FileRef};

    #[test]
    fn an_invisible_character_in_a_name_is_never_shown() {
        let json = serde_json::json!({
            "id": FileId([1; 16]).to_b64(),
            "key": ozvi_crypto::format::b64::encode(&[2u8; 32]),
            "sha256": ozvi_crypto::format::b64::encode(&[3u8; 32]),
            "size": 10,
            "type": "image/jpeg",
            "name": "foto.jpg",
        });
        let mut reference = FileRef::from_json(&json).expect("valid");
        // As if §12.3 had let them by.
        reference.name = Some("a\u{202E}gpj\u{200B}\u{2066}\u{FEFF}\u{2028}.exe".into());
        let view = AttachmentView::of(Ok(reference));
        assert_eq!(view.name.as_deref(), Some("a_gpj____.exe"));
    }
}
