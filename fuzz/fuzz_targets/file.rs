//! Attached files (PROTOCOL.md §12) from untrusted bytes fail cleanly or
//! open to exactly what was sealed; they never panic. The first byte picks
//! what the rest is:
//! - a reference or a message body's `files` as JSON (§12.3);
//! - a real blob sealed from the input (a file of up to five chunks, its
//!   size, content and filler from the input), then changed at
//!   input-chosen places and opened with a reference whose hash is the
//!   changed blob's and whose size the input may change too: so every step
//!   of §12.2 is reached, and whatever opens must be the sealed file.
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
    let Some((head, rest)) = rest.split_first_chunk::<6>() else {
        return;
    };
    let size = u64::from(u32::from_le_bytes([head[0], head[1], head[2], 0]))
        % (5 * CHUNK_LEN as u64 + 1);
    let claimed = u64::from(u16::from_le_bytes([head[3], head[4]]));
    let changes = usize::from(head[5] % 4);
    let plain: Vec<u8> = (0..size as usize)
        .map(|i| rest.get(i % rest.len().max(1)).copied().unwrap_or(0))
        .collect();
    let mailbox = MailboxId([5; 16]);
    let (id, key, prefix) = (FileId([7; 16]), FileKey::from_bytes([9; 32]), [3u8; 19]);
    let mut blob = file::seal_with(&mailbox, &id, &key, &prefix, &plain, |filler| {
        for (j, b) in filler.iter_mut().enumerate() {
            *b = rest.get(j % rest.len().max(1)).copied().unwrap_or(1);
        }
    })
    .expect("up to five chunks seal");
    // Changes: (offset, xor) pairs from the end of the input.
    for pair in rest.rchunks_exact(3).take(changes) {
        let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) * 13 % blob.len();
        blob[at] ^= pair[2];
    }
    // The size as sealed, or another one the input names.
    let size_given = if claimed % 3 == 0 { claimed * 7 } else { size };
    let reference = FileRef {
        id,
        key,
        sha256: sha256(&[&blob]),
        size: size_given,
        media_type: "image/png".into(),
        pixels: Some((1, 1)),
        name: None,
    };
    if let Ok(opened) = file::open(&mailbox, &reference, &blob) {
        // What opens is what was sealed. Only a size moved within the last
        // chunk over zero bytes (which padding cannot be told from; the
        // sender signs the size) changes its length, by zeros alone.
        let common = opened.len().min(plain.len());
        assert_eq!(opened[..common], plain[..common]);
        assert!(opened[common..].iter().chain(&plain[common..]).all(|&b| b == 0));
    }
});
