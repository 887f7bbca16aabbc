//! Ed25519 (RFC 8032) signatures, verified with `verify_strict`.

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::ParseError;

/// Length of an Ed25519 public key or seed.
pub const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 signing key. Zeroized on drop; `Debug` prints no bytes.
#[derive(Clone)]
pub struct Ed25519Secret(SigningKey);

impl Ed25519Secret {
    /// A fresh random signing key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut seed = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The signing key for a 32-byte seed (RFC 8032 §5.1.5).
    pub fn from_seed(seed: &[u8; KEY_LEN]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The seed, for a keystore.
    pub fn to_seed(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> Ed25519Public {
        Ed25519Public(self.0.verifying_key())
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(msg).to_bytes()
    }
}

impl fmt::Debug for Ed25519Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519Secret(..)")
    }
}

/// An Ed25519 public key: a valid, canonically encoded point that is not of
/// small order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519Public(VerifyingKey);

impl Ed25519Public {
    /// Parses a public key, rejecting non-points and small-order ("weak") keys.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| ParseError::Length)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| ParseError::Invalid)?;
        if key.is_weak() || key.to_bytes() != bytes {
            return Err(ParseError::Invalid);
        }
        Ok(Self(key))
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        self.0.to_bytes()
    }

    /// Verifies `sig` over `msg` with RFC 8032's strict rules (canonical S,
    /// no small-order R or A).
    pub fn verify(&self, msg: &[u8], sig: &[u8; SIGNATURE_LEN]) -> bool {
        self.0
            .verify_strict(msg, &Signature::from_bytes(sig))
            .is_ok()
    }
}

impl core::hash::Hash for Ed25519Public {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bytes().hash(state);
    }
}

impl fmt::Debug for Ed25519Public {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ed25519Public({})",
            crate::format::b64::encode(&self.0.to_bytes())
        )
    }
}
