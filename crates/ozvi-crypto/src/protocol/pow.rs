//! Proof of work for thread creation and posting (PROTOCOL.md §10).
//!
//! The relay hands out an opaque challenge with a difficulty `d`; the client
//! finds a `nonce` such that
//!
//! ```text
//! SHA-256("ozvi/v1/pow" ‖ challenge ‖ nonce (u64, big-endian))
//! ```
//!
//! starts with at least `d` zero bits. Expected work is 2^d hashes; checking
//! costs one. The challenge's format and its single use are the relay's
//! business (docs/API.md); this module only defines the puzzle.

use crate::primitives::hash::sha256;
use crate::protocol::labels;

/// The highest difficulty the protocol allows (2^32 hashes is minutes on a phone).
pub const MAX_DIFFICULTY: u8 = 32;

/// The puzzle hash for a challenge and a candidate nonce.
pub fn digest(challenge: &[u8], nonce: u64) -> [u8; 32] {
    sha256(&[labels::POW, challenge, &nonce.to_be_bytes()])
}

/// Number of leading zero bits of a digest.
pub fn leading_zero_bits(digest: &[u8; 32]) -> u32 {
    let mut bits = 0;
    for byte in digest {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// Whether `nonce` solves `challenge` at `difficulty`.
pub fn verify(challenge: &[u8], difficulty: u8, nonce: u64) -> bool {
    difficulty <= MAX_DIFFICULTY
        && leading_zero_bits(&digest(challenge, nonce)) >= u32::from(difficulty)
}

/// Finds the smallest nonce that solves `challenge` at `difficulty`, or
/// `None` for a difficulty above [`MAX_DIFFICULTY`].
pub fn solve(challenge: &[u8], difficulty: u8) -> Option<u64> {
    if difficulty > MAX_DIFFICULTY {
        return None;
    }
    (0..=u64::MAX).find(|&nonce| verify(challenge, difficulty, nonce))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solution_verifies_and_a_wrong_nonce_does_not() {
        let challenge = b"challenge";
        let nonce = solve(challenge, 12).expect("solvable");
        assert!(verify(challenge, 12, nonce));
        assert!(leading_zero_bits(&digest(challenge, nonce)) >= 12);
        // The smallest solution: no smaller nonce solves it.
        assert!((0..nonce).all(|n| !verify(challenge, 12, n)));
        assert!(verify(challenge, 0, 0), "difficulty 0 accepts anything");
        assert!(!verify(challenge, 33, nonce));
        assert_eq!(solve(challenge, 33), None);
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        let mut d = [0u8; 32];
        assert_eq!(leading_zero_bits(&d), 256);
        d[1] = 0b0001_0000;
        assert_eq!(leading_zero_bits(&d), 11);
    }
}
