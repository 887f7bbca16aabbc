//! Known plaintext ("canaries") in the encodings it could hide in: UTF-8,
//! UTF-16 (both byte orders), base64 (standard and URL-safe, at each of
//! the three alignments) and hex (lower and upper case).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// One canary in every encoding searched for.
#[derive(Debug, Clone)]
pub struct Canary {
    /// The text as given.
    pub text: String,
    forms: Vec<(&'static str, Vec<u8>)>,
}

impl Canary {
    /// Prepares `text` (at least 4 bytes, so matches mean something).
    pub fn new(text: &str) -> anyhow::Result<Self> {
        let utf8 = text.as_bytes();
        anyhow::ensure!(
            utf8.len() >= 4,
            "a canary needs at least 4 bytes to be told from chance: {text:?}"
        );
        let mut forms = vec![("UTF-8", utf8.to_vec())];
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        forms.push(("UTF-16LE", le));
        forms.push(("UTF-16BE", be));
        for (name, engine) in [
            ("base64", &STANDARD_NO_PAD),
            ("base64url", &URL_SAFE_NO_PAD),
        ] {
            for form in base64_forms(utf8, engine) {
                forms.push((name, form));
            }
        }
        let hex = crate::report::hex(utf8);
        forms.push(("hex", hex.clone().into_bytes()));
        forms.push(("HEX", hex.to_uppercase().into_bytes()));
        Ok(Self {
            text: text.to_string(),
            forms,
        })
    }

    /// The encoding names under which the canary occurs in `haystack`.
    pub fn found_in(&self, haystack: &[u8]) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self
            .forms
            .iter()
            .filter(|(_, needle)| contains(haystack, needle))
            .map(|(name, _)| *name)
            .collect();
        names.dedup();
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_canary_in_each_encoding_at_any_alignment() {
        let canary = Canary::new("Bojím se. KANÁRek-77").expect("long enough");
        let text = canary.text.clone();
        assert_eq!(canary.found_in(format!("x{text}y").as_bytes()), ["UTF-8"]);
        let utf16: Vec<u8> = format!("ab{text}")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        // Byte-shifted, UTF-16LE of ASCII also reads as UTF-16BE.
        assert!(canary.found_in(&utf16).contains(&"UTF-16LE"));
        for prefix in ["", "a", "ab", "abc"] {
            let encoded = STANDARD_NO_PAD.encode(format!("{prefix}{text} and more"));
            assert!(
                canary.found_in(encoded.as_bytes()).contains(&"base64"),
                "{prefix:?}"
            );
            let url = URL_SAFE_NO_PAD.encode(format!("{prefix}{text}"));
            assert!(!canary.found_in(url.as_bytes()).is_empty(), "{prefix:?}");
        }
        let hex: String = text.bytes().map(|b| format!("{b:02X}")).collect();
        assert_eq!(canary.found_in(hex.as_bytes()), ["HEX"]);
        assert!(canary.found_in(b"nothing to see here at all").is_empty());
        assert!(Canary::new("ab").is_err());
    }
}
