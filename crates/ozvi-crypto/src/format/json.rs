//! Strict JSON (PROTOCOL.md §1.3): every JSON document of the protocol — the
//! directory, message bodies, enrolment requests, the relay's request bodies
//! — is RFC 8259 JSON whose object member names are unique at every nesting
//! level. serde_json alone keeps the last of two equal names when it reads
//! into a map or a `Value`, so a second `staff` list could silently replace
//! the first; [`from_slice`] refuses such a document before anything is
//! read from it. Names are compared after unescaping, so `"a"` and `"\u0061"`
//! are the same name.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// Why a document is not strict JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON, a duplicate member name, or not the expected shape.
    #[error("not valid JSON for this document")]
    Invalid,
}

/// Parses `bytes` as `T`, refusing a duplicate member name at any depth
/// (and everything serde_json refuses: trailing data, a byte-order mark,
/// unpaired surrogate escapes, invalid UTF-8).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    check_unique_names(bytes)?;
    serde_json::from_slice(bytes).map_err(|_| JsonError::Invalid)
}

/// Checks that `bytes` is one JSON value whose objects never repeat a member
/// name.
pub fn check_unique_names(bytes: &[u8]) -> Result<(), JsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    Unique
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .map_err(|_| JsonError::Invalid)
}

/// Walks any JSON value, keeping nothing but the member names of the object
/// being read.
#[derive(Clone, Copy)]
struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = BTreeSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !names.insert(name) {
                return Err(de::Error::custom("duplicate member name"));
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn duplicates_are_refused_at_every_depth() {
        for bad in [
            r#"{"a":1,"a":1}"#,
            r#"{"a":1,"b":2,"a":3}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"x":{"a":1,"a":2}}"#,
            r#"[{"a":1},{"b":1,"b":1}]"#,
            r#"{"x":[[{"y":{"a":[],"a":{}}}]]}"#,
        ] {
            assert_eq!(
                from_slice::<Value>(bad.as_bytes()),
                Err(JsonError::Invalid),
                "{bad}"
            );
        }
        for good in [
            r#"{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}"#,
            r#"[1,"a",null,true,-1.5e3]"#,
            r#" {"A":1,"a":2} "#,
        ] {
            assert!(from_slice::<Value>(good.as_bytes()).is_ok(), "{good}");
        }
        for not_json in ["", "{", r#"{"a":1}{"a":1}"#, "\u{feff}{}", r#""\ud800""#] {
            assert_eq!(
                from_slice::<Value>(not_json.as_bytes()),
                Err(JsonError::Invalid),
                "{not_json:?}"
            );
        }
    }
}
