//! A centre's staff-only case log (PROTOCOL.md §4.11): the eviction record
//! the police sent, every contact attempt, the safe-contact details, the
//! conversations linked to it and how it closed, each a kind-4 envelope
//! appended to a case thread that no person can open or write to.
//!
//! A case is a thread under a **random** mailbox id ([`new_case_mailbox`]):
//! nothing derives it, so no person's code leads to it, and the relay learns
//! only that a staff-only case of a centre exists and when its entries were
//! stored. Entries are appended, never replaced: a correction is a new
//! entry, and what was written stays as it was signed.
//!
//! [`CaseLog`] is what a reader checks across the entries of one case,
//! beyond opening each (§4.7): every entry is of kind 4, signed by a staff
//! member **of the case's centre** (step 5 of opening accepts any listed
//! centre), not a replay, and in increasing order.

use rand_core::CryptoRng;

use crate::MailboxId;
use crate::format::envelope::Kind;
use crate::protocol::conversation::Ledger;
use crate::protocol::envelope::{Opened, Sender};

/// A fresh random mailbox id for a new case.
pub fn new_case_mailbox(rng: &mut impl CryptoRng) -> MailboxId {
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    MailboxId(id)
}

/// What to do with one entry of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// Use it (if it opened; one that did not is shown as unverified and
    /// its content is not used).
    Use,
    /// A copy of the entry first seen at sequence number `first_seq`: do
    /// not use it again; flag it.
    Replay {
        /// Where the original is.
        first_seq: u64,
    },
    /// Its sequence number does not follow the previous one's.
    OutOfOrder,
    /// Not a case entry, or not signed by a staff member of the case's
    /// centre: do not use it.
    NotInCase,
}

/// The reader's state for one case of centre `centre`.
#[derive(Debug, Clone)]
pub struct CaseLog {
    centre: String,
    ledger: Ledger,
}

impl CaseLog {
    /// An empty case of `centre` (the directory's id).
    pub fn new(centre: &str) -> Self {
        Self {
            centre: centre.to_string(),
            ledger: Ledger::default(),
        }
    }

    /// The entry at sequence number `seq`; `opened` is `None` when it did
    /// not open or verify (it still takes its place in the order).
    pub fn push(&mut self, seq: u64, opened: Option<&Opened>) -> Check {
        if !self.ledger.in_order(seq) {
            return Check::OutOfOrder;
        }
        let Some(opened) = opened else {
            return Check::Use;
        };
        match (&opened.sender, opened.kind) {
            (Sender::Staff { centre, .. }, Kind::CaseEntry) if *centre == self.centre => {}
            _ => return Check::NotInCase,
        }
        match self.ledger.replay_of(&opened.msg_id, seq) {
            Some(first_seq) => Check::Replay { first_seq },
            None => Check::Use,
        }
    }

    /// How many distinct entries were used.
    pub fn used(&self) -> usize {
        self.ledger.distinct()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::frame::MSG_ID_LEN;
    use crate::protocol::keys::PersonKeys;

    fn entry(kind: Kind, sender: Sender, id: u8) -> Opened {
        Opened {
            kind,
            sender,
            msg_id: [id; MSG_ID_LEN],
            sent_at: 0,
            body: b"{}".to_vec(),
        }
    }

    fn staff(centre: &str) -> Sender {
        Sender::Staff {
            centre: centre.to_string(),
            staff: "jana".to_string(),
        }
    }

    #[test]
    fn only_the_centres_own_entries_in_order_and_once_are_used() {
        let person = *PersonKeys::from_root(&[1; 32]).public();
        let mut log = CaseLog::new("ic-zlin");
        assert_eq!(
            log.push(1, Some(&entry(Kind::CaseEntry, staff("ic-zlin"), 1))),
            Check::Use
        );
        // Another centre's staff, another kind, the person: never used.
        assert_eq!(
            log.push(2, Some(&entry(Kind::CaseEntry, staff("ic-praha"), 2))),
            Check::NotInCase
        );
        assert_eq!(
            log.push(3, Some(&entry(Kind::StaffNote, staff("ic-zlin"), 3))),
            Check::NotInCase
        );
        assert_eq!(
            log.push(
                4,
                Some(&entry(Kind::PersonMessage, Sender::Person(person), 4))
            ),
            Check::NotInCase
        );
        // A replay and an out-of-order listing.
        assert_eq!(
            log.push(5, Some(&entry(Kind::CaseEntry, staff("ic-zlin"), 1))),
            Check::Replay { first_seq: 1 }
        );
        assert_eq!(
            log.push(5, Some(&entry(Kind::CaseEntry, staff("ic-zlin"), 6))),
            Check::OutOfOrder
        );
        assert_eq!(log.push(6, None), Check::Use);
        assert_eq!(
            log.push(7, Some(&entry(Kind::CaseEntry, staff("ic-zlin"), 7))),
            Check::Use
        );
        assert_eq!(log.used(), 2);
    }

    #[test]
    fn case_mailboxes_are_random() {
        let mut rng = crate::primitives::rng::os_rng();
        assert_ne!(new_case_mailbox(&mut rng), new_case_mailbox(&mut rng));
    }
}
