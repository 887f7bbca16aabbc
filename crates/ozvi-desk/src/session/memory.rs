//! What a session remembers between calls, so that the desk asks the relay
//! only for what changed: each opened thread's messages (already decrypted
//! and checked, in order), the person's key, the read mark it set, and the
//! inbox with its cursor and the decrypted notes. Nothing here is written
//! anywhere; it ends with the session (lock, quit).
//!
//! Messages never change once stored (PROTOCOL.md §4.8 keeps even a
//! transfer from changing them), so what was opened stays true. A thread
//! the person deleted and wrote anew under the same code starts again at
//! sequence 1, with another creation time: then everything remembered of it
//! is dropped.

use std::collections::{BTreeMap, HashMap};

use ozvi_api::person::StoredEnvelope;
use ozvi_api::staff::ThreadSummary;
use ozvi_crypto::primitives::x25519::X25519Public;
use ozvi_crypto::protocol::conversation::Conversation;

use super::views::{InboxEntry, MessageView};
use crate::plaintext::NoteBody;

/// Everything remembered.
#[derive(Default)]
pub(super) struct Memory {
    /// Threads opened in this session, by mailbox id.
    pub threads: HashMap<[u8; 16], ThreadMemory>,
    /// The inbox as last listed.
    pub inbox: Option<InboxMemory>,
    /// Opened notes, by mailbox id, with the note's ciphertext (base64url)
    /// they were opened from.
    pub notes: HashMap<[u8; 16], OpenedNote>,
    /// The inbox's previews (first and newest message), by mailbox id and
    /// sequence number, with the ciphertext they were opened from.
    pub previews: HashMap<([u8; 16], u64), (String, Option<Preview>)>,
    /// Cases opened in this session.
    pub cases: super::cases::CasesMemory,
}

/// What the inbox shows of one message.
#[derive(Debug, Clone, Default)]
pub(super) struct Preview {
    /// Written by the person (verified), not staff.
    pub from_person: bool,
    /// Its first line, shortened.
    pub line: String,
    /// Her page's language.
    pub lang: Option<String>,
    /// The form answers (the first message only).
    pub intake: Option<crate::plaintext::Intake>,
    /// A staff reply's state for her.
    pub status: Option<crate::plaintext::StateUpdate>,
}

/// One opened thread.
pub(super) struct ThreadMemory {
    /// The thread's creation time: another one means a new thread.
    pub created_at: u64,
    /// The envelopes as stored, in order.
    pub stored: Vec<StoredEnvelope>,
    /// Each opened and checked.
    pub views: Vec<MessageView>,
    /// The conversation-level checks so far (replays, order).
    pub conversation: Conversation,
    /// The person's key, from her first verified message.
    pub person: Option<X25519Public>,
    /// The read mark this session last set.
    pub read_up_to: u64,
}

impl ThreadMemory {
    pub fn new(created_at: u64) -> Self {
        Self {
            created_at,
            stored: Vec::new(),
            views: Vec::new(),
            conversation: Conversation::new(),
            person: None,
            read_up_to: 0,
        }
    }

    /// The newest sequence number held.
    pub fn last_seq(&self) -> u64 {
        self.stored.last().map_or(0, |m| m.seq)
    }

    /// Whether `summary` describes the thread remembered (not a new thread
    /// under the same mailbox id).
    pub fn same_thread(&self, summary: &ThreadSummary) -> bool {
        summary.created_at == self.created_at && summary.last_seq >= self.last_seq()
    }
}

/// The inbox as last listed.
pub(super) struct InboxMemory {
    /// The newest change seen; the next listing asks only for later ones.
    pub cursor: u64,
    /// Each thread's summary and entry, by mailbox id.
    pub entries: BTreeMap<[u8; 16], (ThreadSummary, InboxEntry)>,
}

/// A note as opened: the body, why it cannot be trusted (if so), and the
/// centre of the staff member who signed it.
#[derive(Clone)]
pub(super) struct OpenedNote {
    pub ciphertext: Option<String>,
    pub body: NoteBody,
    pub problem: Option<String>,
    pub signer_centre: Option<String>,
}
