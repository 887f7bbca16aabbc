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
