//! Does a byte string look like the output of a cipher? [`problems`] runs
//! every test: text in a common encoding ([`crate::text`]), runs of one
//! byte, a chi-square test of the byte histogram and of byte pairs, and
//! compressibility. [`looks_random`] is the histogram test alone.
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

/// The smallest χ² accepted as random for inputs of [`MIN_PAIRS_LEN`] bytes
/// or more (5 expected per bin): 8 standard deviations below the mean.
/// Filler chosen to flatten a histogram makes it *too* even.
pub const TOO_FLAT: f64 = 255.0 - 8.0 * 22.58;

/// Whether `bytes` pass the test (short inputs pass: too few to judge).
pub fn looks_random(bytes: &[u8]) -> bool {
    bytes.len() < MIN_LEN || chi_square(bytes) <= THRESHOLD
}

/// The χ² statistic of non-overlapping byte pairs, each reduced to the
/// high nibbles of its two bytes (256 cells): text and most structured data
/// repeat a few such pairs (letters follow letters), which a histogram of
/// single bytes does not see once filler has flattened it.
pub fn pair_chi_square(bytes: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for pair in bytes.chunks_exact(2) {
        counts[usize::from((pair[0] & 0xf0) | (pair[1] >> 4))] += 1;
    }
    chi_square_of(&counts)
}

/// Shortest input the pair test is run on (5 pairs expected per cell).
pub const MIN_PAIRS_LEN: usize = 2 * 256 * 5;

/// The longest run of one repeated byte.
pub fn longest_run(bytes: &[u8]) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut last = None;
    for &b in bytes {
        run = if last == Some(b) { run + 1 } else { 1 };
        last = Some(b);
        best = best.max(run);
    }
    best
}

/// The shortest run of one repeated byte called structure in `len` random
/// bytes: a run of `r` starts at a given place with chance 256^-(r-1), so
/// the chance anywhere is at most `len · 2^-8(r-1)` ≤ 2^-40.
pub fn run_limit(len: usize) -> usize {
    let bits = crate::text::BUDGET_BITS + (len.max(1) as f64).log2();
    (bits / 8.0).ceil() as usize + 1
}

/// Compression windows: whole inputs up to this size, else windows of this
/// size every half window.
pub const COMPRESS_WINDOW: usize = 4096;

/// Bytes deflate must save on a window to call it structure. Deflate is
/// lossless, so fewer than 256^(n-s+1)/255 inputs of `n` bytes compress to
/// n - s bytes or less: random bytes save `SAVED` with chance below
/// 2^-(8·(SAVED-1)+7) = 2^-47 per window.
pub const SAVED: usize = 6;

/// The smallest input the compression test is run on.
pub const MIN_COMPRESS_LEN: usize = 64;

/// The first window of `bytes` that deflate shrinks by [`SAVED`] bytes or
/// more: (offset, window length, compressed length).
pub fn compressible(bytes: &[u8]) -> Option<(usize, usize, usize)> {
    if bytes.len() < MIN_COMPRESS_LEN {
        return None;
    }
    let windows: Vec<(usize, usize)> = if bytes.len() <= COMPRESS_WINDOW {
        vec![(0, bytes.len())]
    } else {
        let step = COMPRESS_WINDOW / 2;
        let mut w: Vec<(usize, usize)> = (0..=bytes.len() - COMPRESS_WINDOW)
            .step_by(step)
            .map(|at| (at, COMPRESS_WINDOW))
            .collect();
        w.push((bytes.len() - COMPRESS_WINDOW, COMPRESS_WINDOW));
        w
    };
    windows.into_iter().find_map(|(at, len)| {
        let packed = miniz_oxide::deflate::compress_to_vec(&bytes[at..at + len], 6).len();
        (packed + SAVED <= len).then_some((at, len, packed))
    })
}

/// Every reason why `bytes`, which should be uniformly random (a cipher's
/// output, a hash, a nonce), are not: text in a common encoding, a run of
/// one byte, a skewed byte or pair histogram, compressibility. Each test's
/// false-alarm chance on random bytes is at most about 2^-36 (χ²) to
/// 2^-40 (the others). An empty list when none applies.
pub fn problems(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((model, score)) = crate::text::reads_as_text(bytes) {
        out.push(format!(
            "reads as {model} ({score:.0} bits; random bytes: below {:.0})",
            crate::text::threshold(bytes.len())
        ));
    }
    let run = longest_run(bytes);
    if run >= run_limit(bytes.len()) {
        out.push(format!("holds a run of {run} equal bytes"));
    }
    if !looks_random(bytes) {
        out.push(format!(
            "its bytes are not uniform (χ² = {:.1})",
            chi_square(bytes)
        ));
    }
    if bytes.len() >= MIN_PAIRS_LEN && chi_square(bytes) < TOO_FLAT {
        out.push(format!(
            "its bytes are too even to be random (χ² = {:.1})",
            chi_square(bytes)
        ));
    }
    if bytes.len() >= MIN_PAIRS_LEN && pair_chi_square(bytes) > THRESHOLD {
        out.push(format!(
            "its byte pairs are not uniform (χ² = {:.1})",
            pair_chi_square(bytes)
        ));
    }
    if let Some((at, len, packed)) = compressible(bytes) {
        out.push(format!(
            "it compresses: {len} bytes at {at} deflate to {packed}"
        ));
    }
    out
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

    #[test]
    fn every_test_passes_random_bytes_and_each_catches_its_structure() {
        for len in [16usize, 24, 32, 48, 1168, 4624, 18448] {
            let mut random = vec![0u8; len];
            getrandom_fill(&mut random);
            assert_eq!(problems(&random), Vec::<String>::new(), "{len}");
        }
        let mut field = vec![0u8; 4624];
        getrandom_fill(&mut field);
        let mut run = field.clone();
        let limit = run_limit(run.len());
        run[100..100 + limit].fill(0x41);
        assert!(problems(&run).iter().any(|p| p.contains("run of")));
        // A few hundred repeated bytes compress, though their histogram
        // barely moves.
        let mut repeated = field.clone();
        let (head, tail) = repeated.split_at_mut(2000);
        tail[..200].copy_from_slice(&head[..200]);
        assert!(compressible(&repeated).is_some());
        assert!(looks_random(&repeated));
        // Every byte value equally often: too even.
        let flat: Vec<u8> = (0..4608).map(|i| (i * 37 % 256) as u8).collect();
        assert!(problems(&flat).iter().any(|p| p.contains("too even")));
        // High nibbles in pairs: uniform bytes, skewed pairs.
        let paired: Vec<u8> = field
            .chunks(2)
            .flat_map(|c| [c[0], (c[0] & 0xf0) | (c[1] & 0x0f)])
            .collect();
        assert!(pair_chi_square(&paired) > THRESHOLD);
        assert!(pair_chi_square(&field) <= THRESHOLD);
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
