//! Known plaintext ("canaries") in every form it could hide in.
//!
//! The text as given, its Unicode normal forms (NFC, NFD) and its lower-
//! and upper-case forms (Unicode's full case mappings; for Czech and
//! Ukrainian they equal full case folding), each in UTF-8, UTF-16 (both
//! byte orders) and the single-byte encodings Czech and Ukrainian text is
//! written in: ISO-8859-2, Windows-1250, Windows-1251 and KOI8-U (encoded
//! with `encoding_rs`; a form an encoding cannot hold, e.g. NFD's combining
//! marks, is skipped). Each byte form is also searched as base64 (standard
//! and URL-safe, at each of the three alignments) and as hex.
//!
//! Every form but base64 is matched ASCII case-insensitively (hex in any
//! case, `kanár` as `KANár`); case changes of non-ASCII letters are covered
//! by the lower- and upper-case forms. Base64 is matched exactly: its case
//! carries the bits.

use aho_corasick::AhoCorasick;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};

/// The shortest form searched: shorter needles match random bytes by chance.
const MIN_FORM_LEN: usize = 4;

/// One canary in every form searched for.
#[derive(Debug, Clone)]
pub struct Canary {
    /// The text as given.
    pub text: String,
    /// Matched ASCII case-insensitively.
    folded: AhoCorasick,
    folded_names: Vec<String>,
    /// Matched exactly (base64).
    exact: AhoCorasick,
    exact_names: Vec<String>,
}

/// The single-byte encodings searched, by name.
fn single_byte() -> [&'static encoding_rs::Encoding; 4] {
    [
        encoding_rs::ISO_8859_2,
        encoding_rs::WINDOWS_1250,
        encoding_rs::WINDOWS_1251,
        encoding_rs::KOI8_U,
    ]
}

/// The text forms of `text`: (name prefix, form), without repeats.
fn text_forms(text: &str) -> Vec<(String, String)> {
    let nfc = ComposingNormalizerBorrowed::new_nfc();
    let nfd = DecomposingNormalizerBorrowed::new_nfd();
    let mut out: Vec<(String, String)> = Vec::new();
    for (case, cased) in [
        ("", text.to_string()),
        ("lower-case ", text.to_lowercase()),
        ("upper-case ", text.to_uppercase()),
    ] {
        for (form, normal) in [
            ("", cased.clone()),
            ("NFC ", nfc.normalize(&cased).into_owned()),
            ("NFD ", nfd.normalize(&cased).into_owned()),
        ] {
            if !out.iter().any(|(_, t)| *t == normal) {
                out.push((format!("{form}{case}"), normal));
            }
        }
    }
    out
}

impl Canary {
    /// Prepares `text` (at least 4 bytes, so matches mean something).
    pub fn new(text: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            text.len() >= MIN_FORM_LEN,
            "a canary needs at least 4 bytes to be told from chance: {text:?}"
        );
        // (name, bytes): matched case-insensitively, then exactly.
        let mut folded: Vec<(String, Vec<u8>)> = Vec::new();
        let mut exact: Vec<(String, Vec<u8>)> = Vec::new();
        // Forms with the same bytes (ISO-8859-2 and Windows-1250 agree on
        // most Czech letters) are one needle with both names.
        let push = |list: &mut Vec<(String, Vec<u8>)>, name: String, bytes: Vec<u8>| {
            if bytes.len() < MIN_FORM_LEN {
                return;
            }
            match list.iter_mut().find(|(_, b)| *b == bytes) {
                Some((names, _)) => {
                    if !names.split('/').any(|n| n == name) {
                        names.push('/');
                        names.push_str(&name);
                    }
                }
                None => list.push((name, bytes)),
            }
        };
        for (prefix, form) in text_forms(text) {
            let mut encoded: Vec<(String, Vec<u8>)> =
                vec![(format!("{prefix}UTF-8"), form.as_bytes().to_vec())];
            for encoding in single_byte() {
                let (bytes, _, unmappable) = encoding.encode(&form);
                if !unmappable {
                    encoded.push((format!("{prefix}{}", encoding.name()), bytes.into_owned()));
                }
            }
            for (name, bytes) in &encoded {
                for (b64, engine) in [
                    ("base64", &STANDARD_NO_PAD),
                    ("base64url", &URL_SAFE_NO_PAD),
                ] {
                    for b in base64_forms(bytes, engine) {
                        push(&mut exact, format!("{b64} of {name}"), b);
                    }
                }
                let hex = crate::report::hex(bytes).into_bytes();
                push(&mut folded, format!("hex of {name}"), hex);
            }
            for (name, bytes) in encoded {
                push(&mut folded, name, bytes);
            }
            let le: Vec<u8> = form.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let be: Vec<u8> = form.encode_utf16().flat_map(u16::to_be_bytes).collect();
            push(&mut folded, format!("{prefix}UTF-16LE"), le);
            push(&mut folded, format!("{prefix}UTF-16BE"), be);
        }
        let build = |forms: &[(String, Vec<u8>)], fold: bool| {
            AhoCorasick::builder()
                .ascii_case_insensitive(fold)
                .build(forms.iter().map(|(_, b)| b))
        };
        Ok(Self {
            text: text.to_string(),
            folded: build(&folded, true)?,
            folded_names: folded.into_iter().map(|(n, _)| n).collect(),
            exact: build(&exact, false)?,
            exact_names: exact.into_iter().map(|(n, _)| n).collect(),
        })
    }

    /// How many forms are searched.
    pub fn forms(&self) -> usize {
        self.folded_names.len() + self.exact_names.len()
    }

    /// The names of the forms under which the canary occurs in `haystack`.
    pub fn found_in(&self, haystack: &[u8]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (automaton, list) in [
            (&self.folded, &self.folded_names),
            (&self.exact, &self.exact_names),
        ] {
            for m in automaton.find_overlapping_iter(haystack) {
                let name = &list[m.pattern().as_usize()];
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names
    }
}

/// What base64 of any text containing `bytes` must contain, for each of the
/// three positions `bytes` can start at relative to a 3-byte group: the
/// encoding of the whole groups that lie inside `bytes`.
fn base64_forms(bytes: &[u8], engine: &impl Engine) -> Vec<Vec<u8>> {
    (0..3)
        .filter_map(|offset| {
            // Skip to the first group boundary, keep whole groups only.
            let skip = (3 - offset) % 3;
            let rest = bytes.get(skip..)?;
            let whole = rest.len() / 3 * 3;
            (whole >= 3).then(|| engine.encode(&rest[..whole]).into_bytes())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(found: &[String], name: &str) -> bool {
        found.iter().any(|f| f.split('/').any(|n| n == name))
    }

    #[test]
    fn finds_the_canary_in_each_encoding_at_any_alignment() {
        let canary = Canary::new("Bojím se. KANÁRek-77").expect("long enough");
        let text = canary.text.clone();
        assert_eq!(canary.found_in(format!("x{text}y").as_bytes()), ["UTF-8"]);
        let utf16: Vec<u8> = format!("ab{text}")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(has(&canary.found_in(&utf16), "UTF-16LE"));
        for prefix in ["", "a", "ab", "abc"] {
            let encoded = STANDARD_NO_PAD.encode(format!("{prefix}{text} and more"));
            assert!(
                has(&canary.found_in(encoded.as_bytes()), "base64 of UTF-8"),
                "{prefix:?}"
            );
            let url = URL_SAFE_NO_PAD.encode(format!("{prefix}{text}"));
            assert!(!canary.found_in(url.as_bytes()).is_empty(), "{prefix:?}");
        }
        let hex: String = text.bytes().map(|b| format!("{b:02X}")).collect();
        assert_eq!(canary.found_in(hex.as_bytes()), ["hex of UTF-8"]);
        assert!(canary.found_in(b"nothing to see here at all").is_empty());
        assert!(Canary::new("ab").is_err());
    }

    #[test]
    fn finds_normal_forms_cases_and_single_byte_encodings() {
        let canary = Canary::new("Tajná zpráva KANÁR-5511").expect("canary");
        let nfd = DecomposingNormalizerBorrowed::new_nfd().normalize(&canary.text);
        assert!(has(&canary.found_in(nfd.as_bytes()), "NFD UTF-8"));
        let lower = canary.text.to_lowercase();
        assert!(has(&canary.found_in(lower.as_bytes()), "lower-case UTF-8"));
        // ASCII letters in any case: "kanár" with "KAN" in upper case.
        let mixed = "tajná zpráva KANár-5511";
        assert!(!canary.found_in(mixed.as_bytes()).is_empty(), "{mixed}");
        for encoding in [encoding_rs::ISO_8859_2, encoding_rs::WINDOWS_1250] {
            let (bytes, _, _) = encoding.encode(&canary.text);
            assert!(
                has(&canary.found_in(&bytes), encoding.name()),
                "{}: {:?}",
                encoding.name(),
                canary.found_in(&bytes)
            );
            let upper = encoding.encode(&canary.text.to_uppercase()).0.into_owned();
            assert!(
                has(
                    &canary.found_in(&upper),
                    &format!("upper-case {}", encoding.name())
                ),
                "{}",
                encoding.name()
            );
            let hex = crate::report::hex(&bytes).to_uppercase();
            assert!(
                has(
                    &canary.found_in(hex.as_bytes()),
                    &format!("hex of {}", encoding.name())
                ),
                "{}",
                encoding.name()
            );
        }
        let ukrainian = Canary::new("Допоможіть, КАНАРКА-42").expect("canary");
        for encoding in [encoding_rs::WINDOWS_1251, encoding_rs::KOI8_U] {
            let lower = ukrainian.text.to_lowercase();
            let (bytes, _, _) = encoding.encode(&lower);
            assert!(
                has(
                    &ukrainian.found_in(&bytes),
                    &format!("lower-case {}", encoding.name())
                ),
                "{}: {:?}",
                encoding.name(),
                ukrainian.found_in(&bytes)
            );
            let mut framed = b"xx".to_vec();
            framed.extend_from_slice(&bytes);
            let b64 = URL_SAFE_NO_PAD.encode(&framed);
            assert!(
                has(
                    &ukrainian.found_in(b64.as_bytes()),
                    &format!("base64url of lower-case {}", encoding.name())
                ),
                "{}",
                encoding.name()
            );
        }
    }
}
