//! X25519 (RFC 7748) keys and Diffie-Hellman with the all-zero check.

use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::ParseError;
use crate::primitives::hash::sha256;
use crate::protocol::labels::KEY_ID as KEY_ID_LABEL;

/// Length of an X25519 key or shared secret.
pub const KEY_LEN: usize = 32;
/// Length of a recipient key id.
pub const KEY_ID_LEN: usize = 8;

/// An X25519 secret key. Zeroized on drop; `Debug` prints no bytes. Keeps
/// its public key, which opening needs for every envelope.
#[derive(Clone)]
pub struct X25519Secret {
    secret: StaticSecret,
    public: X25519Public,
}

impl X25519Secret {
    /// A fresh random secret key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(bytes.as_mut());
        Self::from_bytes(*bytes)
    }

    /// A secret key from 32 bytes (clamped by X25519 itself, as RFC 7748 says).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = X25519Public(PublicKey::from(&secret).to_bytes());
        Self { secret, public }
    }

    /// The secret key's bytes, for a keystore.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> X25519Public {
        self.public
    }

    /// X25519(self, their). `None` when the shared secret is all zeros
    /// (their key is a low-order point); the check runs in constant time.
    pub fn diffie_hellman(&self, their: &X25519Public) -> Option<Zeroizing<[u8; KEY_LEN]>> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(their.0));
        if shared.was_contributory() {
            Some(Zeroizing::new(shared.to_bytes()))
        } else {
            None
        }
    }
}

impl fmt::Debug for X25519Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("X25519Secret(..)")
    }
}

/// An X25519 public key in canonical encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct X25519Public([u8; KEY_LEN]);

impl X25519Public {
    /// Parses a public key that will be used as a long-term recipient:
    /// canonical encoding (high bit clear, value below 2^255 − 19) and not a
    /// low-order point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let key = Self::from_canonical_bytes(bytes)?;
        if key.is_low_order() {
            return Err(ParseError::Invalid);
        }
        Ok(key)
    }

    /// Parses a canonically encoded key without the low-order check; for
    /// ephemeral keys, where the all-zero shared secret check rejects
    /// low-order points at the time of use.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| ParseError::Length)?;
        if !is_canonical(&bytes) {
            return Err(ParseError::Invalid);
        }
        Ok(Self(bytes))
    }

    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The first 8 bytes of SHA-256("ozvi/v1/key-id" ‖ key): names the
    /// recipient of a stanza so that a recipient need not try every stanza.
    pub fn key_id(&self) -> [u8; KEY_ID_LEN] {
        let digest = sha256(&[KEY_ID_LABEL, &self.0]);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }

    /// True for points whose shared secret with any clamped scalar is zero:
    /// clamping makes the scalar a multiple of the cofactor, so exactly the
    /// small-order points (on the curve or its twist) give zero.
    fn is_low_order(&self) -> bool {
        const PROBE: [u8; KEY_LEN] = [0x42; KEY_LEN];
        let out = x25519_dalek::x25519(PROBE, self.0);
        bool::from(out.ct_eq(&[0u8; KEY_LEN]))
    }
}

impl fmt::Debug for X25519Public {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X25519Public({})", crate::format::b64::encode(&self.0))
    }
}

/// RFC 7748 §5 lets decoders accept non-canonical u-coordinates; the protocol
/// does not: the high bit is zero and the value is below p = 2^255 − 19.
fn is_canonical(bytes: &[u8; KEY_LEN]) -> bool {
    if bytes[31] & 0x80 != 0 {
        return false;
    }
    // The only 255-bit values ≥ p are 0x7fff…ffed ..= 0x7fff…ffff.
    let top_is_max = bytes[31] == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff);
    !(top_is_max && bytes[0] >= 0xed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_canonical_and_low_order_keys() {
        let mut p = [0xffu8; 32];
        p[31] = 0x7f;
        p[0] = 0xed; // p itself
        assert_eq!(
            X25519Public::from_canonical_bytes(&p),
            Err(ParseError::Invalid)
        );
        p[0] = 0xec; // p - 1: canonical
        assert!(X25519Public::from_canonical_bytes(&p).is_ok());
        let mut high = [0u8; 32];
        high[0] = 9;
        high[31] = 0x80;
        assert_eq!(
            X25519Public::from_canonical_bytes(&high),
            Err(ParseError::Invalid)
        );
        // 0 and 1 are low-order points.
        assert_eq!(
            X25519Public::from_bytes(&[0u8; 32]),
            Err(ParseError::Invalid)
        );
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(X25519Public::from_bytes(&one), Err(ParseError::Invalid));
        let mut nine = [0u8; 32];
        nine[0] = 9;
        assert!(X25519Public::from_bytes(&nine).is_ok());
    }

    #[test]
    fn zero_shared_secret_is_refused() {
        let secret = X25519Secret::from_bytes([7u8; 32]);
        let zero = X25519Public::from_canonical_bytes(&[0u8; 32]).expect("canonical");
        assert!(secret.diffie_hellman(&zero).is_none());
    }

    #[test]
    fn debug_prints_no_secret() {
        let secret = X25519Secret::from_bytes([7u8; 32]);
        assert_eq!(format!("{secret:?}"), "X25519Secret(..)");
    }
}
