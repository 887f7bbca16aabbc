//! XChaCha20-Poly1305 for payloads and ChaCha20-Poly1305 for key wrapping.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use zeroize::Zeroizing;

/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// XChaCha20 nonce length.
pub const XNONCE_LEN: usize = 24;
/// A wrapped 32-byte key: ciphertext and tag.
pub const WRAPPED_KEY_LEN: usize = 32 + TAG_LEN;

/// XChaCha20-Poly1305 encryption; the tag is appended.
pub fn xchacha_seal(key: &[u8; 32], nonce: &[u8; XNONCE_LEN], aad: &[u8], msg: &[u8]) -> Vec<u8> {
    XChaCha20Poly1305::new(key.into())
        .encrypt(nonce.into(), Payload { msg, aad })
        .expect("XChaCha20-Poly1305 accepts messages up to 256 GiB")
}

/// XChaCha20-Poly1305 decryption; `None` when the tag does not verify.
pub fn xchacha_open(
    key: &[u8; 32],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// Wraps a 32-byte content key under a single-use wrap key with
/// ChaCha20-Poly1305, an all-zero nonce and no associated data (as age does:
/// the wrap key is fresh for every stanza, so the nonce never repeats).
pub fn wrap_key(wrap_key: &[u8; 32], content_key: &[u8; 32]) -> [u8; WRAPPED_KEY_LEN] {
    let out = ChaCha20Poly1305::new(wrap_key.into())
        .encrypt(&[0u8; 12].into(), content_key.as_slice())
        .expect("a 32-byte message always encrypts");
    out.try_into()
        .expect("ChaCha20-Poly1305 of 32 bytes is 48 bytes")
}

/// Unwraps a content key; `None` when the tag does not verify.
pub fn unwrap_key(
    wrap_key: &[u8; 32],
    wrapped: &[u8; WRAPPED_KEY_LEN],
) -> Option<Zeroizing<[u8; 32]>> {
    let plain = Zeroizing::new(
        ChaCha20Poly1305::new(wrap_key.into())
            .decrypt(&[0u8; 12].into(), wrapped.as_slice())
            .ok()?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&plain);
    Some(key)
}
