//! The operating system's CSPRNG (`getrandom`; in a browser,
//! `crypto.getRandomValues`).

use rand_core::{CryptoRng, UnwrapErr};

/// The OS CSPRNG as a [`CryptoRng`]. If the OS cannot give randomness this
/// panics: there is no safe fallback for a cryptographic application.
pub fn os_rng() -> impl CryptoRng {
    UnwrapErr(getrandom::SysRng)
}
