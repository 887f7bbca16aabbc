//! Attached files (PROTOCOL.md §12) from untrusted bytes fail cleanly or
//! open; they never panic. The first byte picks what the rest is:
//! - a reference or a message body's `files` as JSON (§12.3);
//! - a blob of a file up to four chunks long, its size from the next two
//!   bytes and its content the rest (zero-extended to the bucket), opened
//!   with a reference whose hash is the blob's, so that the chunk, flag
//!   and padding steps are reached, not just the hash check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ozvi_crypto::MailboxId;
use ozvi_crypto::primitives::hash::sha256;
use ozvi_crypto::protocol::file::{self, CHUNK_LEN, FileId, FileKey, FileRef};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    if kind % 2 == 0 {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(rest) {
            let _ = FileRef::from_json(&value);
            let _ = FileRef::from_body(&value);
        }
        return;
    }
    let Some((size, content)) = rest.split_first_chunk::<2>() else {
        return;
    };
    // Up to four chunks and one byte over (a five-chunk file: the 8 bucket).
    let size = u64::from(u16::from_le_bytes(*size)) * 5 % (4 * CHUNK_LEN as u64 + 2);
    let Some(len) = file::blob_len_for(size) else {
        return;
    };
    let mut blob = content.to_vec();
    blob.resize(len as usize, 0);
    let reference = FileRef {
        id: FileId([7; 16]),
        key: FileKey::from_bytes([9; 32]),
        sha256: sha256(&[&blob]),
        size,
        media_type: "image/png".into(),
        pixels: Some((1, 1)),
        name: None,
    };
    assert!(file::open(&MailboxId([5; 16]), &reference, &blob).is_err());
});
