//! Keys: the person's, derived from her code (PROTOCOL.md §3), and a staff
//! member's, generated on her machine.
//!
//! ```text
//! root      = Argon2id(code.canonical(), deployment salt)          §3.1
//! x25519    = HKDF(root, "ozvi/v1/person-x25519")                  §3.2
//! ed25519   = HKDF(root, "ozvi/v1/person-ed25519")
//! auth      = HKDF(root, "ozvi/v1/mailbox-auth")
//! mailbox   = HKDF(x25519.public ‖ ed25519.public, "ozvi/v1/mailbox-id")[..16]   §3.3
//! verifier  = SHA-256("ozvi/v1/auth-verifier" ‖ auth)              §3.4
//! ```

use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::ParseError;
use crate::format::b64;
use crate::primitives::hash::sha256;
use crate::primitives::kdf::{ARGON2_V1, argon2id, hkdf_sha256};
use crate::primitives::sig::{Ed25519Public, Ed25519Secret};
use crate::primitives::x25519::{X25519Public, X25519Secret};
use crate::protocol::code::Code;
use crate::protocol::labels;

/// Length of a mailbox id.
pub const MAILBOX_ID_LEN: usize = 16;
/// Length of the deployment salt.
pub const SALT_LEN: usize = 16;

/// The per-deployment Argon2id salt, published in the signed directory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeploymentSalt(pub [u8; SALT_LEN]);

impl DeploymentSalt {
    /// A fresh random salt, for a new deployment.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self(salt)
    }
}

impl fmt::Debug for DeploymentSalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeploymentSalt({})", b64::encode(&self.0))
    }
}

/// The id under which the relay keeps a thread. Not secret, but it names a
/// person's conversation, so `Debug` prints no bytes (it must never reach a
/// log); use [`MailboxId::to_b64`] deliberately.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxId(pub [u8; MAILBOX_ID_LEN]);

impl MailboxId {
    /// Canonical base64url, for the API.
    pub fn to_b64(&self) -> String {
        b64::encode(&self.0)
    }

    /// Parses canonical base64url of 16 bytes.
    pub fn from_b64(text: &str) -> Result<Self, ParseError> {
        b64::decode_array(text).map(Self)
    }
}

impl fmt::Debug for MailboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MailboxId(..)")
    }
}

/// The secret a person presents to the relay to post to, list and delete
/// her thread. Zeroized on drop; `Debug` prints no bytes.
pub struct AuthSecret(Zeroizing<[u8; 32]>);

impl AuthSecret {
    /// The bytes, to send in the request header.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// From the bytes a request carried.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The verifier the relay stores in place of the secret.
    pub fn verifier(&self) -> AuthVerifier {
        AuthVerifier(sha256(&[labels::AUTH_VERIFIER, self.0.as_ref()]))
    }
}

impl fmt::Debug for AuthSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthSecret(..)")
    }
}

/// SHA-256 of the auth secret: what the relay stores. Compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct AuthVerifier(pub [u8; 32]);

impl PartialEq for AuthVerifier {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for AuthVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthVerifier(..)")
    }
}

/// A person's public keys, as they appear in the frames she signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonPublic {
    /// Replies are sealed to this key.
    pub x25519: X25519Public,
    /// Her messages are signed with this key.
    pub ed25519: Ed25519Public,
}

impl PersonPublic {
    /// The mailbox id these keys own (§3.3). Anyone can check that a message
    /// signed by these keys belongs in a thread, without the code.
    pub fn mailbox_id(&self) -> MailboxId {
        let mut id = [0u8; MAILBOX_ID_LEN];
        let ikm = [self.x25519.as_bytes().as_slice(), &self.ed25519.to_bytes()].concat();
        hkdf_sha256(&[], &ikm, labels::MAILBOX_ID, &mut id);
        MailboxId(id)
    }
}

/// Everything a person's device derives from her code. Nothing of it is
/// stored; it lives for one visit.
pub struct PersonKeys {
    x25519: X25519Secret,
    ed25519: Ed25519Secret,
    auth: AuthSecret,
    public: PersonPublic,
    mailbox: MailboxId,
}

impl PersonKeys {
    /// Derives the keys from a code: Argon2id then HKDF (§3.1–§3.3). This
    /// takes tens of milliseconds natively and is meant to.
    pub fn derive(code: &Code, salt: &DeploymentSalt) -> Self {
        let root = argon2id(ARGON2_V1, code.canonical().as_bytes(), &salt.0);
        Self::from_root(&root)
    }

    /// The HKDF half of the derivation, from the Argon2id output.
    pub fn from_root(root: &[u8; 32]) -> Self {
        let expand = |label: &[u8]| {
            let mut out = Zeroizing::new([0u8; 32]);
            hkdf_sha256(&[], root, label, out.as_mut());
            out
        };
        let x25519 = X25519Secret::from_bytes(*expand(labels::PERSON_X25519));
        let ed25519 = Ed25519Secret::from_seed(&expand(labels::PERSON_ED25519));
        let auth = AuthSecret(expand(labels::MAILBOX_AUTH));
        let public = PersonPublic {
            x25519: x25519.public(),
            ed25519: ed25519.public(),
        };
        let mailbox = public.mailbox_id();
        Self {
            x25519,
            ed25519,
            auth,
            public,
            mailbox,
        }
    }

    /// The mailbox id of her thread.
    pub fn mailbox_id(&self) -> MailboxId {
        self.mailbox
    }

    /// The secret that proves to the relay that she holds the code.
    pub fn auth_secret(&self) -> &AuthSecret {
        &self.auth
    }

    /// Her public keys.
    pub fn public(&self) -> &PersonPublic {
        &self.public
    }

    /// Her X25519 secret key (to open envelopes).
    pub fn x25519(&self) -> &X25519Secret {
        &self.x25519
    }

    pub(crate) fn ed25519(&self) -> &Ed25519Secret {
        &self.ed25519
    }
}

impl fmt::Debug for PersonKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonKeys(..)")
    }
}

/// A staff member's public keys, as listed in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffPublic {
    /// Messages for the centre are sealed to this key.
    pub x25519: X25519Public,
    /// Replies, notes and relay requests are signed with this key.
    pub ed25519: Ed25519Public,
}

/// A staff member's secret keys; they never leave her machine.
#[derive(Clone)]
pub struct StaffKeys {
    x25519: X25519Secret,
    ed25519: Ed25519Secret,
}

impl StaffKeys {
    /// Fresh keys.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self {
            x25519: X25519Secret::generate(rng),
            ed25519: Ed25519Secret::generate(rng),
        }
    }

    /// Keys from their stored bytes (X25519 secret, Ed25519 seed).
    pub fn from_bytes(x25519: [u8; 32], ed25519_seed: &[u8; 32]) -> Self {
        Self {
            x25519: X25519Secret::from_bytes(x25519),
            ed25519: Ed25519Secret::from_seed(ed25519_seed),
        }
    }

    /// The stored bytes: (X25519 secret, Ed25519 seed).
    pub fn to_bytes(&self) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
        (self.x25519.to_bytes(), self.ed25519.to_seed())
    }

    /// The public keys.
    pub fn public(&self) -> StaffPublic {
        StaffPublic {
            x25519: self.x25519.public(),
            ed25519: self.ed25519.public(),
        }
    }

    /// The X25519 secret key (to open envelopes).
    pub fn x25519(&self) -> &X25519Secret {
        &self.x25519
    }

    pub(crate) fn ed25519(&self) -> &Ed25519Secret {
        &self.ed25519
    }
}

impl fmt::Debug for StaffKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaffKeys(..)")
    }
}
