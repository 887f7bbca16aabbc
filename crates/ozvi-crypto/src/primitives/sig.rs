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
        // `from_bytes` keeps the input bytes, so re-compress the decoded point
        // to catch non-canonical encodings (y ≥ p).
        let canonical = key.to_edwards().compress().to_bytes();
        if key.is_weak() || canonical != bytes {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_canonical_and_weak_keys() {
        // y = p + 3: the point with y = 3 encoded without reduction mod p.
        // (y = 3 is a valid point of large order.)
        let mut y3 = [0u8; 32];
        y3[0] = 3;
        assert!(
            Ed25519Public::from_bytes(&y3).is_ok(),
            "y = 3 is a valid key"
        );
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xed + 3;
        non_canonical[31] = 0x7f;
        assert_eq!(
            Ed25519Public::from_bytes(&non_canonical),
            Err(ParseError::Invalid)
        );
        // The identity (y = 1) is a small-order point.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            Ed25519Public::from_bytes(&identity),
            Err(ParseError::Invalid)
        );
        assert_eq!(
            Ed25519Public::from_bytes(&[0u8; 31]),
            Err(ParseError::Length)
        );
    }

    #[test]
    fn signatures_verify_only_for_their_message() {
        let key = Ed25519Secret::from_seed(&[5u8; 32]);
        let sig = key.sign(b"message");
        assert!(key.public().verify(b"message", &sig));
        assert!(!key.public().verify(b"massage", &sig));
        assert_eq!(format!("{key:?}"), "Ed25519Secret(..)");
    }
}
