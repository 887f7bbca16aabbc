//! The protocol's byte layouts: parse and serialize only, no keys.
//!
//! Every parser here takes untrusted bytes and returns an error rather than
//! panicking; every parser accepts exactly one encoding of each value, so
//! `serialize(parse(x)) == x` whenever parsing succeeds (the fuzz targets
//! check this).

pub mod b64;
pub mod directory;
pub mod envelope;
pub mod frame;
pub mod json;
pub mod padding;
