//! Does any stretch of a byte string read as text? A likelihood-ratio test
//! of text models against uniform bytes, with a proven false-alarm bound.
//!
//! # The models
//!
//! A model is a language (Czech, Ukrainian, English), a case (mostly lower
//! or mostly upper) and an encoding: UTF-8, UTF-16LE, UTF-16BE, and the
//! single-byte encodings the language is commonly written in (ISO-8859-2
//! and Windows-1250 for Czech, Windows-1251 and KOI8-U for Ukrainian, ASCII
//! for English; encoded with `encoding_rs`). It emits characters: letters
//! with the language's letter frequencies (70 % in the main case, 5 % in
//! the other), spaces (15 %), digits (3 %) and punctuation (4 %), and, with
//! probability [`NOISE`] (3 %), a uniformly random byte (or UTF-16 unit),
//! so one odd byte costs about 5 bits instead of breaking a stretch.
//!
//! # The score and its bound
//!
//! A stretch's score is log₂ of its probability under the model divided by
//! its probability as uniform bytes (256⁻ⁿ). From any fixed start, that
//! ratio, read at each following byte, is a martingale of mean 1 under
//! uniform bytes (a lower bound of one, as only one parse is counted), so
//! by Ville's inequality the chance that it *ever* reaches 2ᵀ is at most
//! 2⁻ᵀ. A field of `L` bytes has `L` starts and there are [`models`]`()`
//! models, so the chance that random bytes score ≥ `T` anywhere is at most
//! `L · M · 2⁻ᵀ`. [`threshold`] sets `T` so that this is 2⁻⁴⁰ per field
//! ([`BUDGET_BITS`]): over a store of ten million random fields, a false
//! alarm has odds below one in a hundred thousand.
//!
//! Ordinary prose scores about 3 bits a byte (more in UTF-16), so a text
//! of 24 bytes (a nonce) or more is caught whole, 16 bytes (a mailbox id)
//! only when it is ordinary lower-case prose, and 8 bytes (a key id) never:
//! key ids are checked against the directory instead.

use std::sync::OnceLock;

/// The false-alarm budget per field and test: 2⁻⁴⁰.
pub const BUDGET_BITS: f64 = 40.0;

/// The probability of a random byte (or unit) between characters.
pub const NOISE: f64 = 0.03;

const SPACE: f64 = 0.15;
const MAIN_CASE: f64 = 0.70;
const OTHER_CASE: f64 = 0.05;
const DIGITS: f64 = 0.03;
const PUNCTUATION: f64 = 0.04;
const PUNCTUATION_CHARS: &str = ".,-:;!?()\"'/\n";

/// Relative letter frequencies (per cent) of Czech.
const CZECH: &[(char, f64)] = &[
    ('a', 6.22),
    ('á', 2.23),
    ('b', 1.55),
    ('c', 1.60),
    ('č', 1.19),
    ('d', 3.61),
    ('ď', 0.02),
    ('e', 7.70),
    ('é', 1.33),
    ('ě', 1.64),
    ('f', 0.27),
    ('g', 0.09),
    ('h', 1.28),
    ('i', 4.39),
    ('í', 3.26),
    ('j', 2.11),
    ('k', 3.74),
    ('l', 3.84),
    ('m', 3.22),
    ('n', 6.54),
    ('ň', 0.08),
    ('o', 8.66),
    ('ó', 0.03),
    ('p', 3.41),
    ('q', 0.01),
    ('r', 3.98),
    ('ř', 1.21),
    ('s', 4.62),
    ('š', 0.80),
    ('t', 5.73),
    ('ť', 0.04),
    ('u', 3.94),
    ('ú', 0.14),
    ('ů', 0.69),
    ('v', 4.66),
    ('w', 0.01),
    ('x', 0.03),
    ('y', 1.90),
    ('ý', 1.07),
    ('z', 2.20),
    ('ž', 0.99),
];

/// Relative letter frequencies (per cent) of Ukrainian, with the Russian
/// letters Ukrainian lacks (so Russian text reads as text too).
const UKRAINIAN: &[(char, f64)] = &[
    ('а', 7.2),
    ('б', 1.7),
    ('в', 5.2),
    ('г', 1.3),
    ('ґ', 0.02),
    ('д', 3.5),
    ('е', 5.0),
    ('є', 0.8),
    ('ж', 0.9),
    ('з', 2.3),
    ('и', 6.1),
    ('і', 5.9),
    ('ї', 0.9),
    ('й', 1.3),
    ('к', 3.6),
    ('л', 3.7),
    ('м', 3.2),
    ('н', 6.5),
    ('о', 9.4),
    ('п', 2.9),
    ('р', 4.7),
    ('с', 4.1),
    ('т', 5.5),
    ('у', 3.3),
    ('ф', 0.3),
    ('х', 1.2),
    ('ц', 1.0),
    ('ч', 1.5),
    ('ш', 0.8),
    ('щ', 0.5),
    ('ь', 1.7),
    ('ю', 0.8),
    ('я', 2.9),
    ('ы', 0.3),
    ('э', 0.1),
    ('ё', 0.02),
    ('ъ', 0.02),
];

/// Relative letter frequencies (per cent) of English.
const ENGLISH: &[(char, f64)] = &[
    ('e', 12.7),
    ('t', 9.1),
    ('a', 8.2),
    ('o', 7.5),
    ('i', 7.0),
    ('n', 6.7),
    ('s', 6.3),
    ('h', 6.1),
    ('r', 6.0),
    ('d', 4.3),
    ('l', 4.0),
    ('c', 2.8),
    ('u', 2.8),
    ('m', 2.4),
    ('w', 2.4),
    ('f', 2.2),
    ('g', 2.0),
    ('y', 2.0),
    ('p', 1.9),
    ('b', 1.5),
    ('v', 1.0),
    ('k', 0.8),
    ('j', 0.15),
    ('x', 0.15),
    ('q', 0.1),
    ('z', 0.07),
];

#[derive(Clone, Copy)]
enum Encoding {
    Utf8,
    Utf16 { big_endian: bool },
    Single(&'static encoding_rs::Encoding),
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16 { big_endian: false } => "UTF-16LE",
            Encoding::Utf16 { big_endian: true } => "UTF-16BE",
            Encoding::Single(e) if e == encoding_rs::WINDOWS_1252 => "ASCII",
            Encoding::Single(e) => e.name(),
        }
    }

    /// The bytes of `c`, if this encoding has it.
    fn encode(self, c: char) -> Option<Vec<u8>> {
        let mut buf = [0u8; 4];
        match self {
            Encoding::Utf8 => Some(c.encode_utf8(&mut buf).as_bytes().to_vec()),
            Encoding::Utf16 { big_endian } => {
                let mut units = [0u16; 2];
                match c.encode_utf16(&mut units) {
                    [u] if big_endian => Some(u.to_be_bytes().to_vec()),
                    [u] => Some(u.to_le_bytes().to_vec()),
                    _ => None,
                }
            }
            Encoding::Single(e) => {
                let (bytes, _, unmappable) = e.encode(c.encode_utf8(&mut buf));
                (!unmappable && bytes.len() == 1).then(|| bytes.into_owned())
            }
        }
    }
}

/// One text model, as tables of the score (bits) each token adds.
pub struct Model {
    /// What the model reads, e.g. "Czech text in ISO-8859-2".
    pub name: String,
    /// Two-byte units (UTF-16) instead of bytes.
    units: bool,
    /// Bytes: the score of each byte on its own (a character or noise).
    single: Vec<f32>,
    /// UTF-8: the score of each two-byte character, NaN where none;
    /// UTF-16: the score of each unit.
    pairs: Vec<f32>,
    /// UTF-8: the bytes that start a two-byte character of the model.
    leads: [bool; 256],
}

impl Model {
    fn new(language: &str, letters: &[(char, f64)], upper: bool, encoding: Encoding) -> Self {
        let mut chars: Vec<(char, f64)> = Vec::new();
        let total: f64 = letters.iter().map(|(_, f)| f).sum();
        for &(c, f) in letters {
            let share = f / total;
            let big = c.to_uppercase().next().unwrap_or(c);
            let (main, other) = if upper { (big, c) } else { (c, big) };
            chars.push((main, MAIN_CASE * share));
            chars.push((other, OTHER_CASE * share));
        }
        chars.push((' ', SPACE));
        for d in '0'..='9' {
            chars.push((d, DIGITS / 10.0));
        }
        let n = PUNCTUATION_CHARS.chars().count() as f64;
        for p in PUNCTUATION_CHARS.chars() {
            chars.push((p, PUNCTUATION / n));
        }
        let units = matches!(encoding, Encoding::Utf16 { .. });
        let mut single = vec![0.0f64; 256];
        let mut pairs = vec![0.0f64; 65536];
        let mut leads = [false; 256];
        for (c, p) in chars {
            // A character this encoding lacks is dropped: the model's
            // probabilities then sum to less than one, which keeps the bound.
            let Some(bytes) = encoding.encode(c) else {
                continue;
            };
            let p = (1.0 - NOISE) * p;
            match bytes.as_slice() {
                [b] => single[usize::from(*b)] += p,
                [a, b] => {
                    pairs[usize::from(u16::from_be_bytes([*a, *b]))] += p;
                    leads[usize::from(*a)] = !units;
                }
                _ => {}
            }
        }
        let (single, pairs) = if units {
            let noise = NOISE / 65536.0;
            let pairs = pairs
                .iter()
                .map(|p| ((p + noise) * 65536.0).log2() as f32)
                .collect();
            (Vec::new(), pairs)
        } else {
            let noise = NOISE / 256.0;
            let single = single
                .iter()
                .map(|p| ((p + noise) * 256.0).log2() as f32)
                .collect();
            let pairs = pairs
                .iter()
                .map(|&p| {
                    if p > 0.0 {
                        (p * 65536.0).log2() as f32
                    } else {
                        f32::NAN
                    }
                })
                .collect();
            (single, pairs)
        };
        let case = if upper { "upper-case " } else { "" };
        Self {
            name: format!("{case}{language} text in {}", encoding.name()),
            units,
            single,
            pairs,
            leads,
        }
    }

    /// The highest score of any stretch of `bytes` (Kadane's maximum
    /// segment over one parse).
    pub fn best(&self, bytes: &[u8]) -> f64 {
        let mut best = 0.0f32;
        if self.units {
            for start in 0..2.min(bytes.len()) {
                let mut run = 0.0f32;
                for unit in bytes[start..].chunks_exact(2) {
                    let gain = self.pairs[usize::from(u16::from_be_bytes([unit[0], unit[1]]))];
                    run = run.max(0.0) + gain;
                    best = best.max(run);
                }
            }
            return f64::from(best);
        }
        let mut run = 0.0f32;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let mut gain = self.single[usize::from(b)];
            let mut step = 1;
            if self.leads[usize::from(b)] && i + 1 < bytes.len() {
                let pair = self.pairs[usize::from(u16::from_be_bytes([b, bytes[i + 1]]))];
                if !pair.is_nan() {
                    gain = pair;
                    step = 2;
                }
            }
            run = run.max(0.0) + gain;
            best = best.max(run);
            i += step;
        }
        f64::from(best)
    }
}

/// Every model, built once.
pub fn models() -> &'static [Model] {
    static MODELS: OnceLock<Vec<Model>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let utf16 = [
            Encoding::Utf16 { big_endian: false },
            Encoding::Utf16 { big_endian: true },
        ];
        let mut out = Vec::new();
        for upper in [false, true] {
            for encoding in [
                Encoding::Utf8,
                utf16[0],
                utf16[1],
                Encoding::Single(encoding_rs::ISO_8859_2),
                Encoding::Single(encoding_rs::WINDOWS_1250),
            ] {
                out.push(Model::new("Czech", CZECH, upper, encoding));
            }
            for encoding in [
                Encoding::Utf8,
                utf16[0],
                utf16[1],
                Encoding::Single(encoding_rs::WINDOWS_1251),
                Encoding::Single(encoding_rs::KOI8_U),
            ] {
                out.push(Model::new("Ukrainian", UKRAINIAN, upper, encoding));
            }
            // ASCII: English letters are the same bytes in every encoding
            // named here (windows-1252 only to reuse the table builder).
            for encoding in [
                Encoding::Single(encoding_rs::WINDOWS_1252),
                utf16[0],
                utf16[1],
            ] {
                out.push(Model::new("English", ENGLISH, upper, encoding));
            }
        }
        out
    })
}

/// The score a field of `len` bytes must reach to be called text: its
/// false-alarm chance on random bytes is then at most 2⁻⁴⁰.
pub fn threshold(len: usize) -> f64 {
    BUDGET_BITS + (len.max(1) as f64).log2() + (models().len() as f64).log2()
}

/// The best-scoring model and its score, for any input.
pub fn strongest(bytes: &[u8]) -> (&'static str, f64) {
    models()
        .iter()
        .map(|m| (m.name.as_str(), m.best(bytes)))
        .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a })
}

/// The model `bytes` read as text in, with its score, when some stretch
/// scores at or above [`threshold`].
pub fn reads_as_text(bytes: &[u8]) -> Option<(&'static str, f64)> {
    let (name, score) = strongest(bytes);
    (score >= threshold(bytes.len())).then_some((name, score))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(len: usize, seed: u64) -> Vec<u8> {
        use ozvi_crypto::primitives::hash::sha256;
        let mut out = Vec::with_capacity(len + 32);
        let mut i = 0u64;
        while out.len() < len {
            out.extend_from_slice(&sha256(&[
                b"ozvi-audit text test",
                &seed.to_be_bytes(),
                &i.to_be_bytes(),
            ]));
            i += 1;
        }
        out.truncate(len);
        out
    }

    fn encode(text: &str, encoding: &'static encoding_rs::Encoding) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{text} in {}", encoding.name());
        bytes.into_owned()
    }

    #[test]
    fn every_model_is_a_probability_distribution() {
        for m in models() {
            let total: f64 = if m.units {
                m.pairs
                    .iter()
                    .map(|g| 2f64.powf(f64::from(*g)) / 65536.0)
                    .sum()
            } else {
                let singles: f64 = m
                    .single
                    .iter()
                    .map(|g| 2f64.powf(f64::from(*g)) / 256.0)
                    .sum();
                let pairs: f64 = m
                    .pairs
                    .iter()
                    .filter(|g| !g.is_nan())
                    .map(|g| 2f64.powf(f64::from(*g)) / 65536.0)
                    .sum();
                singles + pairs
            };
            assert!(total <= 1.0 + 1e-4, "{}: {total}", m.name);
            assert!(total > 0.9, "{}: {total}", m.name);
        }
    }

    #[test]
    fn short_czech_and_ukrainian_text_reads_as_text_in_every_encoding() {
        let czech = "Manžel mě bije, pomozte mi prosím";
        let ukrainian = "Він мене б'є, допоможіть мені";
        let mut samples: Vec<(String, Vec<u8>)> = vec![
            ("UTF-8 cs".into(), czech.as_bytes().to_vec()),
            ("UTF-8 uk".into(), ukrainian.as_bytes().to_vec()),
            (
                "UTF-16LE cs".into(),
                czech.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            ),
            (
                "UTF-16BE uk".into(),
                ukrainian
                    .encode_utf16()
                    .flat_map(u16::to_be_bytes)
                    .collect(),
            ),
        ];
        for e in [encoding_rs::ISO_8859_2, encoding_rs::WINDOWS_1250] {
            samples.push((e.name().into(), encode(czech, e)));
        }
        for e in [encoding_rs::WINDOWS_1251, encoding_rs::KOI8_U] {
            samples.push((e.name().into(), encode(ukrainian, e)));
        }
        samples.push(("upper".into(), czech.to_uppercase().into_bytes()));
        for (name, bytes) in samples {
            // In a 48-byte field (a wrapped key), surrounded by random bytes.
            let mut field = random(48, 7);
            let at = (48 - bytes.len().min(32)) / 2;
            let take = bytes.len().min(32);
            field[at..at + take].copy_from_slice(&bytes[..take]);
            let (model, score) = strongest(&field);
            assert!(
                reads_as_text(&field).is_some(),
                "{name}: best {model} {score:.1} < {:.1}",
                threshold(48)
            );
        }
    }

    #[test]
    fn random_fields_stay_far_below_the_threshold() {
        for (len, n) in [(16usize, 3000u64), (48, 1000), (1168, 100)] {
            let mut worst: f64 = 0.0;
            for seed in 0..n {
                worst = worst.max(strongest(&random(len, seed)).1);
            }
            assert!(
                worst < threshold(len) - 10.0,
                "{len} bytes: worst {worst:.1} vs {:.1}",
                threshold(len)
            );
        }
    }
}
