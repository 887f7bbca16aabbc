//! Text from other people, made safe for a terminal and a text file.
//!
//! A person's message (and anything else the desk did not write itself)
//! may contain terminal escape sequences (ANSI CSI, OSC 8 links, a carriage
//! return that overwrites a line) or Unicode controls that reorder or hide
//! text (bidi overrides and isolates, line separators, invisible format
//! characters). Printed raw, they would let her text present itself as
//! something the desk wrote — a staff reply, an internal note. Every piece
//! of such text goes through [`escape`] (one line) or [`block`] (a
//! message body, every line indented under its header) before it is
//! printed or exported; JSON output goes through [`json`].

use std::borrow::Cow;
use std::fmt::Write;

/// What every line of a message body begins with in text output. Headers
/// (`--- #…`, `=== …`, `Centrum:` …) never do, and a body line always
/// does, so no text anyone types can become a header line.
pub const BODY_PREFIX: &str = "  | ";

/// Whether `c` must not reach a terminal or a text file as it is: control
/// characters (C0 including newline and tab, DEL, C1), bidi embeddings,
/// overrides, isolates and marks, line and paragraph separators, and
/// invisible format characters. Zero-width (non-)joiners and variation
/// selectors are left alone: scripts and emoji need them, and they cannot
/// move or hide text.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                  // soft hyphen (invisible)
            | '\u{061C}'                // Arabic letter mark
            | '\u{180E}'                // Mongolian vowel separator
            | '\u{200B}'                // zero-width space
            | '\u{200E}'..='\u{200F}'   // LRM, RLM
            | '\u{2028}'..='\u{2029}'   // line and paragraph separators
            | '\u{202A}'..='\u{202E}'   // LRE, RLE, PDF, LRO, RLO
            | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, isolates, deprecated
            | '\u{FEFF}'                // zero-width no-break space
            | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotations
            | '\u{E0000}'..='\u{E007F}' // tags
        )
}

/// One line of untrusted text, with every unsafe character (newlines
/// included) replaced by a visible escape such as `\x1b` or `\u{202e}`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    if !is_unsafe(c) {
        out.push(c);
    } else if (c as u32) < 0x100 {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    }
}

/// A multi-line body of untrusted text: each of its lines (split at `\n`
/// only; `\r` and every other separator are escaped) escaped and written
/// after [`BODY_PREFIX`], ending with a newline.
pub fn block(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split('\n') {
        out.push_str(BODY_PREFIX);
        out.push_str(&escape(line));
        out.push('\n');
    }
    out
}

/// JSON text with every unsafe character written as a `\uXXXX` escape:
/// still the same JSON value, but nothing in it acts on a terminal. (They
/// can only occur inside strings, where such escapes are valid.)
pub fn json(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_unsafe(c) && !matches!(c, '\n' | ' '))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        // serde_json's own layout (newlines between members) is kept; a
        // newline inside a string is already written as `\n` by serde_json.
        if c == '\n' || !is_unsafe(c) {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_and_bidi_character_is_made_visible() {
        let hostile = "a\u{1b}[2J\u{1b}]8;;http://x\u{7}b\u{1b}]8;;\u{7}\rc\u{7f}\u{9b}31m\
                       \u{202e}d\u{2066}e\u{200f}\u{61c}\u{2028}\u{2029}\u{85}\u{feff}\u{e0041}\t";
        let safe = escape(hostile);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert!(
            safe.starts_with("a\\x1b[2J\\x1b]8;;http://x\\x07b"),
            "{safe}"
        );
        assert!(
            safe.contains("\\u{202e}d") && safe.contains("\\x0d"),
            "{safe}"
        );
        assert_eq!(escape("Dobrý den, 👩‍👧"), "Dobrý den, 👩‍👧");
        for c in (0..0x20u32).chain(0x7f..0xa0).filter_map(char::from_u32) {
            assert!(is_unsafe(c), "{:x}", c as u32);
        }
    }

    #[test]
    fn no_body_line_can_look_like_a_header() {
        let body =
            block("ahoj\n--- #2 · 2026-01-01 10:00 · Jana (ic-zlin)\r\n=== Interní poznámky");
        for line in body.lines() {
            assert!(line.starts_with(BODY_PREFIX), "{line:?}");
        }
        assert_eq!(body.lines().count(), 3);
        assert!(body.contains("Jana (ic-zlin)\\x0d\n"));
    }

    #[test]
    fn json_stays_the_same_value() {
        let value = serde_json::json!({"text": "a\u{1b}[2J\u{202e}b\u{9b}\u{e0041}\nc"});
        let pretty = serde_json::to_string_pretty(&value).expect("json");
        let safe = json(&pretty);
        assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, value);
    }
}
