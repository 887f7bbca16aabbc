//! Canonical base64url (RFC 4648 §5) without padding (PROTOCOL.md §1.2).
//!
//! Decoders reject padding, characters outside the alphabet, whitespace and
//! non-zero trailing bits, so every byte string has exactly one text form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ParseError;

/// Encodes bytes as canonical unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes canonical unpadded base64url.
pub fn decode(text: &str) -> Result<Vec<u8>, ParseError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| ParseError::Base64)
}

/// Decodes canonical base64url of exactly `N` bytes.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], ParseError> {
    decode(text)?.try_into().map_err(|_| ParseError::Length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_form_decodes() {
        assert_eq!(decode("AQ").expect("canonical"), vec![1]);
        assert_eq!(
            decode("AR"),
            Err(ParseError::Base64),
            "non-zero trailing bits"
        );
        assert_eq!(decode("AQ=="), Err(ParseError::Base64), "padding");
        assert_eq!(decode("A Q"), Err(ParseError::Base64), "whitespace");
        assert_eq!(decode("+/8"), Err(ParseError::Base64), "standard alphabet");
        assert_eq!(decode("-_8").expect("url alphabet"), vec![0xfb, 0xff]);
        assert_eq!(decode_array::<2>("AQ"), Err(ParseError::Length));
    }
}
