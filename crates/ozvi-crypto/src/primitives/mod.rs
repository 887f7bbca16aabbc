//! Thin wrappers over audited primitive implementations.
//!
//! Nothing here is a new algorithm: each function forwards to a RustCrypto or
//! dalek crate and adds only what the protocol needs everywhere — secret types
//! that zeroize on drop and print no bytes, canonical-encoding checks, and the
//! constant-time rejection of all-zero X25519 shared secrets.

pub mod aead;
pub mod hash;
pub mod kdf;
pub mod rng;
pub mod sig;
pub mod x25519;
