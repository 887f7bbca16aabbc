//! Does a byte string look like the output of a cipher? A chi-square test
//! of the byte histogram against the uniform distribution.
//!
//! Ciphertext from XChaCha20-Poly1305 is indistinguishable from random; text,
//! JSON, zero padding or any structured plaintext is far from uniform. With
//! 255 degrees of freedom the statistic has mean 255 and standard deviation
//! about 22.6; [`looks_random`] flags anything beyond mean + 8 standard
//! deviations (a false alarm on real ciphertext has odds far below one in a
//! billion), which any plaintext of a few hundred bytes exceeds many times.

/// The χ² statistic of `bytes`' histogram against uniform.
pub fn chi_square(bytes: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    chi_square_of(&counts)
}

/// The χ² statistic of a histogram of bytes against uniform.
pub fn chi_square_of(counts: &[u64; 256]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let expected = total as f64 / 256.0;
    counts
        .iter()
        .map(|&c| {
            let d = c as f64 - expected;
            d * d / expected
        })
        .sum()
}

/// The largest χ² accepted as random: mean + 8 standard deviations.
pub const THRESHOLD: f64 = 255.0 + 8.0 * 22.58;

/// Shortest input the test is meaningful for (2 bytes expected per bin).
pub const MIN_LEN: usize = 512;

/// Whether `bytes` pass the test (short inputs pass: too few to judge).
pub fn looks_random(bytes: &[u8]) -> bool {
    bytes.len() < MIN_LEN || chi_square(bytes) <= THRESHOLD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_pass_and_text_or_zeros_fail() {
        let mut random = vec![0u8; 4096];
        getrandom_fill(&mut random);
        assert!(looks_random(&random), "χ² {}", chi_square(&random));
        let text = "Potřebuji pomoc, manžel mi vyhrožuje. ".repeat(40);
        assert!(!looks_random(text.as_bytes()));
        assert!(!looks_random(&[0u8; 1152]));
        let mut half = random.clone();
        half[2048..].fill(0);
        assert!(!looks_random(&half), "half zero padding");
    }

    /// SHA-256 in counter mode: as uniform as ciphertext.
    fn getrandom_fill(buf: &mut [u8]) {
        use ozvi_crypto::primitives::hash::sha256;
        for (i, chunk) in buf.chunks_mut(32).enumerate() {
            let block = sha256(&[b"ozvi-audit test", &(i as u64).to_be_bytes()]);
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}
