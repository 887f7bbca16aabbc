//! Seed inputs for the fuzz targets, taken from the committed test vectors.
//!
//! A valid envelope is over a kilobyte long and a directory is nested JSON:
//! libFuzzer would not reach either from scratch in a short run. Starting
//! from the vectors' envelopes, padded blocks, directories and codes, it
//! mutates real inputs from the first second.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::Context;
use ozvi_crypto::format::b64;
use serde_json::Value;

/// Writes a seed file per usable vector into `corpus_dir/<target>/`;
/// returns how many each target got. No vectors, no seeds.
pub fn write(
    vectors_dir: &Path,
    corpus_dir: &Path,
) -> anyhow::Result<BTreeMap<&'static str, usize>> {
    let mut written = BTreeMap::new();
    if !vectors_dir.is_dir() {
        return Ok(written);
    }
    let mut paths: Vec<_> = fs::read_dir(vectors_dir)
        .with_context(|| format!("listing {}", vectors_dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    for path in paths {
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let vector: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        for (i, (target, bytes)) in seeds_of(&vector).into_iter().enumerate() {
            let dir = corpus_dir.join(target);
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let file = dir.join(format!("vector-{stem}-{i}"));
            fs::write(&file, bytes).with_context(|| format!("writing {}", file.display()))?;
            *written.entry(target).or_default() += 1;
        }
    }
    Ok(written)
}

/// The inputs one vector offers, with the fuzz target each is for.
fn seeds_of(vector: &Value) -> Vec<(&'static str, Vec<u8>)> {
    let text = |key: &str| vector.get(key).and_then(Value::as_str);
    // Vectors that test non-canonical base64 do not decode; they seed nothing.
    let decoded = |key: &str| text(key).and_then(|t| b64::decode(t).ok());
    let mut seeds = Vec::new();
    match text("type") {
        Some("envelope") => {
            if let Some(envelope) = decoded("envelope") {
                seeds.push(("envelope", envelope.clone()));
                seeds.push(("open", envelope));
            }
        }
        Some("padding") => seeds.extend(decoded("padded").map(|p| ("envelope", p))),
        Some("directory") => {
            if let Some(signed) = text("signed") {
                seeds.push(("directory", signed.as_bytes().to_vec()));
                seeds.extend(directory_payload(signed).map(|p| ("directory", p)));
            }
        }
        Some("code") => seeds.extend(text("input").map(|c| ("code", c.as_bytes().to_vec()))),
        _ => {}
    }
    seeds
}

/// The directory document inside a signed directory, for the target's
/// parse→serialize check.
fn directory_payload(signed: &str) -> Option<Vec<u8>> {
    let signed: Value = serde_json::from_str(signed).ok()?;
    b64::decode(signed.get("directory")?.as_str()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes_seed_both_envelope_targets() {
        let vector = json!({"type": "envelope", "envelope": "AQI"});
        assert_eq!(
            seeds_of(&vector),
            vec![("envelope", vec![1, 2]), ("open", vec![1, 2])]
        );
    }

    #[test]
    fn directories_seed_the_signed_form_and_the_payload() {
        let signed = json!({"directory": b64::encode(b"{}"), "signature": "AA"}).to_string();
        let vector = json!({"type": "directory", "signed": signed});
        assert_eq!(
            seeds_of(&vector),
            vec![
                ("directory", signed.as_bytes().to_vec()),
                ("directory", b"{}".to_vec())
            ]
        );
    }

    #[test]
    fn non_canonical_base64_seeds_nothing() {
        let vector = json!({"type": "envelope", "envelope": "AQI="});
        assert!(seeds_of(&vector).is_empty());
    }
}
