//! What a reader must check across the messages of one thread, beyond each
//! message on its own (PROTOCOL.md §4.5, §4.7): one implementation for the
//! desk and the person's page.
//!
//! Feed the thread's messages in the relay's order, each with its sequence
//! number and — if it opened and verified — what [`open`] returned; every
//! message gets a [`Check`] saying whether to show it:
//!
//! - a second message with a `msg_id` already seen is a **replay**: shown at
//!   most once, so the copy is not shown, and flagged (§4.5);
//! - sequence numbers must increase; one that does not is a relay fault or
//!   a replay of the listing and is not shown again;
//! - a thread lists person messages and staff replies only: a staff note
//!   among the messages is not shown as a message;
//! - the person's messages of one thread are signed by one pair of keys
//!   (`open` already holds them to the mailbox id, §4.7 step 5); a second
//!   pair cannot occur without a hash collision and is refused all the same.
//!
//! `sent_at` is the sender's claim and is for display only (§4.4); it is not
//! checked here.
//!
//! [`open`]: crate::protocol::envelope::open

use std::collections::BTreeMap;

use crate::format::envelope::Kind;
use crate::format::frame::MSG_ID_LEN;
use crate::protocol::envelope::{Opened, Sender};
use crate::protocol::keys::PersonPublic;

/// What to do with one message of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// Show it (if it opened; one that did not is shown as unverified).
    Show,
    /// A copy of the message first seen at sequence number `first_seq`:
    /// do not show it again; flag it.
    Replay {
        /// Where the original is.
        first_seq: u64,
    },
    /// Its sequence number does not follow the previous one's: do not show it.
    OutOfOrder,
    /// Not a person message or a staff reply, or signed by a person key
    /// other than the thread's: do not show it as a message.
    NotInThread,
}

/// What every reader of a sequence of messages (a thread, a case) checks
/// across them: the order, and which `msg_id`s it has already seen.
#[derive(Debug, Default, Clone)]
pub(crate) struct Ledger {
    seen: BTreeMap<[u8; MSG_ID_LEN], u64>,
    last_seq: Option<u64>,
}

impl Ledger {
    /// Takes `seq`'s place in the order; false if it does not follow the
    /// previous one.
    pub(crate) fn in_order(&mut self, seq: u64) -> bool {
        if self.last_seq.is_some_and(|last| seq <= last) {
            return false;
        }
        self.last_seq = Some(seq);
        true
    }

    /// Records `msg_id` at `seq`; the sequence number of its first
    /// appearance if it was seen before (a replay).
    pub(crate) fn replay_of(&mut self, msg_id: &[u8; MSG_ID_LEN], seq: u64) -> Option<u64> {
        if let Some(&first) = self.seen.get(msg_id) {
            return Some(first);
        }
        self.seen.insert(*msg_id, seq);
        None
    }

    /// How many distinct messages were recorded.
    pub(crate) fn distinct(&self) -> usize {
        self.seen.len()
    }
}

/// The reader's state for one thread.
#[derive(Debug, Default, Clone)]
pub struct Conversation {
    ledger: Ledger,
    person: Option<PersonPublic>,
}

impl Conversation {
    /// An empty thread.
    pub fn new() -> Self {
        Self::default()
    }

    /// The message at sequence number `seq`; `opened` is `None` when it did
    /// not open or verify (it still takes its place in the order).
    pub fn push(&mut self, seq: u64, opened: Option<&Opened>) -> Check {
        if !self.ledger.in_order(seq) {
            return Check::OutOfOrder;
        }
        let Some(opened) = opened else {
            return Check::Show;
        };
        match (&opened.sender, opened.kind) {
            (Sender::Person(p), Kind::PersonMessage) => match &self.person {
                Some(known) if known != p => return Check::NotInThread,
                Some(_) => {}
                None => self.person = Some(*p),
            },
            (Sender::Staff { .. }, Kind::StaffReply) => {}
            _ => return Check::NotInThread,
        }
        match self.ledger.replay_of(&opened.msg_id, seq) {
            Some(first_seq) => Check::Replay { first_seq },
            None => Check::Show,
        }
    }

    /// How many distinct messages were shown.
    pub fn shown(&self) -> usize {
        self.ledger.distinct()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::keys::PersonKeys;

    fn message(kind: Kind, sender: Sender, id: u8) -> Opened {
        Opened {
            kind,
            sender,
            msg_id: [id; MSG_ID_LEN],
            sent_at: 0,
            body: b"{}".to_vec(),
        }
    }

    #[test]
    fn replays_order_and_kinds_are_flagged() {
        let her = Sender::Person(*PersonKeys::from_root(&[1; 32]).public());
        let other = Sender::Person(*PersonKeys::from_root(&[2; 32]).public());
        let staff = Sender::Staff {
            centre: "c".into(),
            staff: "s".into(),
        };
        let mut c = Conversation::new();
        let first = message(Kind::PersonMessage, her.clone(), 1);
        assert_eq!(c.push(1, Some(&first)), Check::Show);
        let reply = message(Kind::StaffReply, staff.clone(), 2);
        assert_eq!(c.push(2, Some(&reply)), Check::Show);
        assert_eq!(c.push(3, None), Check::Show, "unverified keeps its place");
        assert_eq!(c.push(4, Some(&first)), Check::Replay { first_seq: 1 });
        assert_eq!(c.push(5, Some(&reply)), Check::Replay { first_seq: 2 });
        assert_eq!(
            c.push(5, Some(&message(Kind::PersonMessage, her.clone(), 9))),
            Check::OutOfOrder
        );
        assert_eq!(c.push(4, None), Check::OutOfOrder);
        assert_eq!(
            c.push(6, Some(&message(Kind::StaffNote, staff.clone(), 3))),
            Check::NotInThread
        );
        assert_eq!(
            c.push(7, Some(&message(Kind::PersonMessage, other, 4))),
            Check::NotInThread
        );
        assert_eq!(
            c.push(8, Some(&message(Kind::PersonMessage, staff, 5))),
            Check::NotInThread
        );
        assert_eq!(
            c.push(9, Some(&message(Kind::PersonMessage, her, 6))),
            Check::Show
        );
        assert_eq!(c.shown(), 3);
    }
}
