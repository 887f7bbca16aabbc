//! HKDF-SHA256 (RFC 5869) and Argon2id (RFC 9106).

use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Argon2id cost parameters. A protocol version fixes them (PROTOCOL.md §3.1);
/// they are not negotiable on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub passes: u32,
    /// Degree of parallelism (lanes).
    pub lanes: u32,
}

/// The version 1 parameters: OWASP's minimum recommendation for Argon2id
/// (19 MiB, 2 passes, 1 lane), which keeps derivation well under a second in
/// WebAssembly on a phone.
pub const ARGON2_V1: Argon2Params = Argon2Params {
    memory_kib: 19 * 1024,
    passes: 2,
    lanes: 1,
};

/// HKDF-SHA256 extract-then-expand into `out`.
///
/// `out` must be at most 255 × 32 bytes; every caller in this crate asks for
/// 16 or 32.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .expect("HKDF output lengths used by the protocol are at most 32 bytes");
}

/// Argon2id (version 0x13) of `password` with `salt`, giving 32 bytes.
pub fn argon2id(params: Argon2Params, password: &[u8], salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let params = Params::new(params.memory_kib, params.passes, params.lanes, Some(32))
        .expect("the protocol's Argon2 parameters are within the algorithm's limits");
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, out.as_mut())
        .expect("password and salt lengths are fixed by the protocol and valid");
    out
}
