//! An unlocked desk: the staff member's keys, the verified directory and the
//! relay. The CLI and the local web UI both work through [`Session`].
//!
//! - [`views`]: what it shows (inbox entries, verified messages, threads).
//! - `inbox`: listing the centre's threads.
//! - `thread`: opening a thread, replying, read marks.
//! - [`files`]: attached files: opening, replies that carry them.
//! - `notes`: the staff-only note (status, assignee, internal notes).
//! - `transfer`: moving a thread to another centre.
//! - [`cases`]: eviction cases, their statutory clocks and the statistics.
//! - `memory`: what the session remembers so that it asks the relay only
//!   for what changed.
//!
//! Words shown to staff live in [`crate::text`].

pub mod cases;
pub mod files;
mod inbox;
mod memory;
mod notes;
mod templates;
mod thread;
mod transfer;
pub mod views;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use ozvi_crypto::protocol::envelope::open;
use ozvi_crypto::{Centre, Directory, MailboxId, OpenError, Sender, SignedDirectory, StaffKeys};

pub use cases::{CaseView, Statistics};
pub use files::{OpenedFile, Outgoing};
pub use inbox::{Listing, NotificationView};
pub use templates::TemplatesView;
pub use views::{InboxEntry, Me, MessageView, ThreadView, Writer};

use crate::error::DeskError;
use crate::home::Home;
use crate::keystore;
use crate::relay::{RelayClient, Signing};
use memory::Memory;

/// An unlocked desk.
pub struct Session {
    relay: RelayClient,
    keys: StaffKeys,
    me: Me,
    directory: Directory,
    /// Older verified directories, newest first.
    history: Vec<Directory>,
    /// What this session remembers of the relay's answers.
    memory: Mutex<Memory>,
    /// Envelopes opened (decrypted and verified) so far.
    opened: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Unlocks the keystore, fetches and verifies the directory, and finds
    /// the staff member in it.
    pub async fn open(home: &Home, passphrase: &str) -> Result<Self, DeskError> {
        let settings = home.settings()?;
        let root = settings.root()?;
        let bytes = keystore::read(&home.keystore())?;
        let secret = keystore::open(&bytes, keystore::KeyRole::Staff, passphrase)?;
        let keys = keystore::staff_keys(&secret)?;
        let relay = RelayClient::new(&settings.relay)?;
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
        relay: RelayClient,
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
            memory: Mutex::default(),
            opened: AtomicU64::new(0),
        })
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
    pub fn relay(&self) -> &RelayClient {
        &self.relay
    }

    /// How many envelopes this session has opened (decrypted and verified).
    pub fn envelopes_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Opens the centre's live event stream on the relay.
    pub async fn events(&self) -> Result<reqwest::Response, DeskError> {
        self.relay.events(&self.signing()).await
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        // Memory is a cache of the relay's answers: a panic elsewhere while
        // it was held leaves nothing that a later answer does not correct.
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets everything about `mailbox` (it is gone, or no longer ours).
    fn forget(&self, mailbox: &MailboxId) {
        let mut memory = self.memory();
        memory.threads.remove(&mailbox.0);
        memory.notes.remove(&mailbox.0);
        memory.cases.remove(&mailbox.0);
        if let Some(inbox) = memory.inbox.as_mut() {
            inbox.entries.remove(&mailbox.0);
        }
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
    /// that lists her. The flag says which.
    fn open_envelope(
        &self,
        bytes: &[u8],
        mailbox: &MailboxId,
    ) -> Result<(ozvi_crypto::Opened, bool), OpenError> {
        self.opened.fetch_add(1, Ordering::Relaxed);
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

    /// A relay refusal that means "no such thread of your centre" becomes
    /// [`DeskError::UnknownThread`], and the thread is forgotten.
    fn not_found(&self, e: DeskError, mailbox: &MailboxId) -> DeskError {
        match e.relay_code() {
            Some(ozvi_api::ErrorCode::UnknownMailbox) => {
                self.forget(mailbox);
                DeskError::UnknownThread(mailbox.to_b64())
            }
            _ => e,
        }
    }
}
