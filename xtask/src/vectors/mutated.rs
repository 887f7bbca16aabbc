//! Negative vectors made by a second path, independent of the code under
//! test: every other vector file is written by `ozvi-crypto` itself, so a
//! bug there could write its own expected answer. These are made from the
//! valid vectors by changing their bytes, without calling `ozvi-crypto` at
//! all: base64url is the `base64` crate's, the layouts are PROTOCOL.md's,
//! and the expected answer is simply "refused" — every change made here
//! must make a reader refuse the input, whatever error it gives.
//!
//! What is changed, and why each change must be refused:
//! - **envelopes** (§4.1: version, kind, stanza count `n`, `n` stanzas of
//!   88 bytes, a 24-byte nonce, the AEAD ciphertext): the three header bytes
//!   (the AEAD's associated data or the frame's signature binds them, or the
//!   layout no longer parses), the first and last byte of the nonce, bytes
//!   spread over the ciphertext and its last byte (the tag); one byte less;
//!   one byte more. Not the stanzas: in format 2 a staff member's stanza is
//!   deliberately not bound to the payload (a transfer re-wraps it), and a
//!   reader does not look at stanzas other than its own.
//! - **signed directories** (§6): one character of the signed document's
//!   base64url and one of the signature's (the Ed25519 signature covers the
//!   exact bytes).
//! - **staff requests** (§7): one character of the signature and of the
//!   nonce, the method, the target and the body (all signed).
//! - **codes** (§2): each symbol replaced by the next one of the alphabet
//!   (the check symbol detects every single substitution).
//!
//! The output is one file per family, `mutated-*.json`, of type
//! `mutations`. Each case names the valid vector it starts from (`base`),
//! the field it changes (`path`) and the change (`op`): `flip_bit`
//! `[byte, bit]`, `truncate` (bytes removed from the end) or `append`
//! (bytes added) on a base64url field, or `set` (the new string). The test
//! runner (crates/ozvi-crypto/tests/vectors.rs) applies the change and
//! requires a refusal.

use std::fs;
use std::path::Path;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// PROTOCOL.md §2.2: Crockford's base32 alphabet.
const CODE_ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The valid vectors of `kind` in `dir`, by name.
fn valid(dir: &Path, kind: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.ends_with(".json") || name.starts_with("mutated-") {
            continue;
        }
        let v: Value = serde_json::from_slice(&fs::read(&path)?)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        if v["type"] == kind && v["expect"] == "success" {
            out.push(v);
        }
    }
    Ok(out)
}

fn decode(text: &Value) -> anyhow::Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.as_str().context("a base64url string")?)
        .context("base64url")
}

/// One change of the valid vector `base`: `op` applied to the field at `path`.
fn case(base: &Value, path: &[&str], op: Value, what: String) -> Value {
    json!({
        "base": base["name"],
        "path": path,
        "op": op,
        "mutation": format!("{}: {what}", base["name"].as_str().unwrap_or("?")),
    })
}

/// A string with the character at `at` replaced by the next one of
/// `alphabet` (wrapping), so that it stays in the alphabet.
fn next_char(text: &str, at: usize, alphabet: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let symbols: Vec<char> = alphabet.chars().collect();
    let i = symbols.iter().position(|&c| c == chars[at]).unwrap_or(0);
    chars[at] = symbols[(i + 1) % symbols.len()];
    chars.into_iter().collect()
}

const B64_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// PROTOCOL.md §4.1–4.2: the header, a stanza, the nonce.
const HEADER_LEN: usize = 3;
const STANZA_LEN: usize = 8 + 32 + 48;
const NONCE_LEN: usize = 24;

fn envelopes(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut cases = Vec::new();
    for v in valid(dir, "envelope")? {
        let bytes = decode(&v["envelope"])?;
        let len = bytes.len();
        let nonce = HEADER_LEN + STANZA_LEN * usize::from(bytes[2]);
        let sealed = nonce + NONCE_LEN;
        anyhow::ensure!(sealed + 16 < len, "{}: shorter than its layout", v["name"]);
        let mut offsets = vec![0, 1, 2, nonce, sealed - 1, len - 1];
        offsets.extend((0..6).map(|i| sealed + i * (len - sealed) / 6));
        offsets.sort_unstable();
        offsets.dedup();
        for at in offsets {
            cases.push(case(
                &v,
                &["envelope"],
                json!({"flip_bit": [at, 0]}),
                format!("bit 0 of byte {at} of {len} flipped"),
            ));
        }
        cases.push(case(
            &v,
            &["envelope"],
            json!({"truncate": 1}),
            "the last byte removed".into(),
        ));
        cases.push(case(
            &v,
            &["envelope"],
            json!({"append": [0]}),
            "a zero byte appended".into(),
        ));
    }
    Ok(cases)
}

fn directories(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut cases = Vec::new();
    for v in valid(dir, "directory")? {
        let signed: Value = serde_json::from_str(v["signed"].as_str().context("signed")?)?;
        for member in ["directory", "signature"] {
            let text = signed[member].as_str().context("a string member")?;
            // A character in the middle: never the last, whose spare bits
            // would only make it non-canonical (refused too, but for
            // another reason).
            let at = text.chars().count() / 2;
            let mut changed = signed.clone();
            changed[member] = json!(next_char(text, at, B64_ALPHABET));
            cases.push(case(
                &v,
                &["signed"],
                json!({"set": changed.to_string()}),
                format!("character {at} of `{member}` changed"),
            ));
        }
    }
    Ok(cases)
}

fn requests(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut cases = Vec::new();
    for v in valid(dir, "staff_request")? {
        for header in ["signature", "nonce"] {
            let text = v["headers"][header].as_str().context("a header")?;
            let at = text.chars().count() / 2;
            cases.push(case(
                &v,
                &["headers", header],
                json!({"set": next_char(text, at, B64_ALPHABET)}),
                format!("character {at} of the {header} changed"),
            ));
        }
        let method = if v["method"] == "POST" { "GET" } else { "POST" };
        cases.push(case(
            &v,
            &["method"],
            json!({"set": method}),
            format!("method {method}"),
        ));
        let target = format!("{}x", v["target"].as_str().context("target")?);
        cases.push(case(
            &v,
            &["target"],
            json!({"set": target}),
            "a character appended to the target".into(),
        ));
        decode(&v["body"])?;
        cases.push(case(
            &v,
            &["body"],
            json!({"append": [32]}),
            "a space appended to the body".into(),
        ));
    }
    Ok(cases)
}

fn codes(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut cases = Vec::new();
    for v in valid(dir, "code")? {
        let canonical = v["canonical"].as_str().context("canonical")?;
        for at in 0..canonical.chars().count() {
            cases.push(case(
                &v,
                &["input"],
                json!({"set": next_char(canonical, at, CODE_ALPHABET)}),
                format!("symbol {at} replaced by the next of the alphabet"),
            ));
        }
    }
    Ok(cases)
}

/// Makes one family's cases from the valid vectors in a folder.
type Family = fn(&Path) -> anyhow::Result<Vec<Value>>;

/// Writes the `mutated-*.json` files into `dir` from the valid vectors
/// there; returns how many files.
pub fn write(dir: &Path) -> anyhow::Result<usize> {
    let families: [(&str, &str, Family); 4] = [
        ("envelopes", "envelope", envelopes),
        ("directories", "directory", directories),
        ("requests", "staff_request", requests),
        ("codes", "code", codes),
    ];
    for (file, of, make) in families {
        let cases = make(dir)?;
        anyhow::ensure!(!cases.is_empty(), "no valid {of} vectors to change");
        let value = json!({
            "type": "mutations",
            "of": of,
            "expect": "refused",
            "name": format!("mutated-{file}"),
            "description": format!(
                "{} changes of the valid {of} vectors, made without ozvi-crypto \
                 (xtask/src/vectors/mutated.rs); each must be refused",
                cases.len()
            ),
            "cases": cases,
        });
        let text = serde_json::to_string_pretty(&value)? + "\n";
        fs::write(dir.join(format!("mutated-{file}.json")), text)?;
    }
    Ok(families.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_char_stays_in_the_alphabet_and_changes_the_character() {
        assert_eq!(next_char("0Z", 1, CODE_ALPHABET), "00");
        assert_eq!(next_char("AB", 0, B64_ALPHABET), "BB");
        assert_eq!(next_char("a_", 1, B64_ALPHABET), "aA");
    }
}
