//! The desk's errors: each says what went wrong in words a social worker can
//! act on.

use crate::keystore::KeystoreError;

/// Everything that can go wrong in the desk.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The relay does not answer.
    #[error("the relay at {0} cannot be reached; check the network or ask the operator")]
    Unreachable(String),
    /// The relay answered with an error.
    #[error("the relay refused: {message} ({code})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The relay's stable error code.
        code: ozvi_api::ErrorCode,
        /// The relay's explanation.
        message: String,
    },
    /// The relay answered something that is not the API.
    #[error("the relay's answer was not understood")]
    BadResponse,
    /// The relay's directory does not verify under the pinned root key.
    #[error("the relay's directory cannot be trusted: {0}")]
    Directory(ozvi_crypto::DirectoryError),
    /// The keystore could not be opened or written.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The staff key is not (or no longer) in the directory.
    #[error(
        "your key is not in the current directory; send your enrolment request to the operator \
         (ozvi-desk enrolment)"
    )]
    NotEnrolled,
    /// No thread matches.
    #[error("no conversation of your centre matches `{0}`")]
    UnknownThread(String),
    /// More than one thread matches a short id.
    #[error("`{0}` matches more than one conversation; give more characters")]
    AmbiguousThread(String),
    /// The desk is locked (web UI).
    #[error("the desk is locked; unlock it with your passphrase")]
    Locked,
    /// A reply or note without text.
    #[error("the text is empty")]
    EmptyText,
    /// A reply too long for one envelope, or notes too long for one note.
    #[error("the text is too long for one message; shorten it")]
    TooLong,
    /// No message of the thread verifies as the person's, so there is no
    /// key to encrypt a reply to.
    #[error(
        "no message of this thread verifies as the person's, so a reply cannot be encrypted to her"
    )]
    NoPersonKey,
    /// No such centre in the directory.
    #[error("no centre `{0}` in the directory")]
    UnknownCentre(String),
    /// A transfer to the staff member's own centre.
    #[error("the thread is already at your centre")]
    SameCentre,
    /// Someone who is not staff of the centre.
    #[error("`{0}` is not a staff member of your centre")]
    NotStaffOfCentre(String),
    /// A thread transferred here whose history does not verify: its note
    /// is not changed, so "not yet checked" stays.
    #[error(
        "this conversation was transferred from {from} and its history does not verify; open it \
         to see which messages, and ask the operator"
    )]
    TransferUnchecked {
        /// The centre it came from.
        from: String,
    },
    /// The current note does not verify; it is left as it is rather than
    /// replaced (which would silently drop colleagues' notes).
    #[error("the current note cannot be verified, so it is left as it is: {0}")]
    NoteUnverified(String),
    /// A message that does not verify stops a transfer.
    #[error("message {0} does not verify, so the thread is not transferred; ask the operator")]
    MessageUnverified(u64),
    /// A note that does not verify stops a transfer.
    #[error("the note does not verify, so the thread is not transferred")]
    NoteBlocksTransfer,
    /// A thread that holds format-1 envelopes cannot be transferred.
    #[error(
        "this conversation began before envelope format 2 and cannot be transferred \
         (docs/OPERATIONS.md, \"Upgrading\")"
    )]
    LegacyThread,
    /// An attached file that does not open and verify: nothing of it is
    /// shown or written.
    #[error("{0}")]
    Attachment(String),
    /// No attachment with that number in the thread.
    #[error(
        "the conversation has no attachment {0} (they are numbered from 1 as `read` lists them)"
    )]
    UnknownAttachment(usize),
    /// The desk could not encode or sign something it built itself.
    #[error("the desk could not prepare the {0}")]
    Prepare(&'static str),
    /// Bad input from the user.
    #[error("{0}")]
    Invalid(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    Io(String),
}

impl DeskError {
    /// The relay's error code, if the relay refused.
    pub fn relay_code(&self) -> Option<ozvi_api::ErrorCode> {
        match self {
            DeskError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}
