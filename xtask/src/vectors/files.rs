//! Attached files (PROTOCOL.md §12).
//!
//! A blob is at least 65,572 bytes, so a vector does not carry it: it
//! carries what makes it — the sealing mailbox, file id, key, nonce prefix
//! and a plaintext given by its length (byte `i` is `i mod 251`; the
//! filler's byte `j` is `j mod 241`) — plus the changes (`blob_ops`) made
//! to the sealed blob, and the reference the opener is given. A valid vector also gives the blob's SHA-256 (which an
//! implementation's sealer must reproduce) and the plaintext's.

use ozvi_crypto::protocol::file::{
    self, CHUNK_CIPHERTEXT_LEN, FileId, FileKey, FileRef, HEADER_LEN, NONCE_PREFIX_LEN,
};
use rand_core::Rng;
use sha2::{Digest, Sha256};

use super::*;

/// What seals one file.
#[derive(Clone)]
struct Seal {
    mailbox: MailboxId,
    id: [u8; 16],
    key: [u8; 32],
    prefix: [u8; NONCE_PREFIX_LEN],
    size: usize,
}

impl Seal {
    fn new(seed: u64, mailbox: MailboxId, size: usize) -> Self {
        let mut r = rng(seed);
        let mut id = [0u8; 16];
        let mut key = [0u8; 32];
        let mut prefix = [0u8; NONCE_PREFIX_LEN];
        r.fill_bytes(&mut id);
        r.fill_bytes(&mut key);
        r.fill_bytes(&mut prefix);
        Self {
            mailbox,
            id,
            key,
            prefix,
            size,
        }
    }

    fn blob(&self) -> Vec<u8> {
        file::seal_with(
            &self.mailbox,
            &FileId(self.id),
            &FileKey::from_bytes(self.key),
            &self.prefix,
            &plaintext(self.size),
            fill,
        )
        .expect("the sizes used fit")
    }

    fn json(&self) -> Value {
        json!({
            "mailbox_id": self.mailbox.to_b64(),
            "file_id": b64::encode(&self.id),
            "key": b64::encode(&self.key),
            "nonce_prefix": b64::encode(&self.prefix),
            "size": self.size,
        })
    }

    /// The reference a sender would write for `blob`.
    fn reference(&self, blob: &[u8], media_type: &str) -> Value {
        FileRef {
            id: FileId(self.id),
            key: FileKey::from_bytes(self.key),
            sha256: Sha256::digest(blob).into(),
            size: self.size as u64,
            media_type: media_type.into(),
            pixels: None,
            name: None,
        }
        .to_json()
    }
}

/// The plaintext of `size` bytes every file vector uses: byte `i` is `i mod 251`.
fn plaintext(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// The filler every file vector uses (a sealer draws it at random): byte
/// `j` of the filler is `j mod 241`.
fn fill(filler: &mut [u8]) {
    for (j, b) in filler.iter_mut().enumerate() {
        *b = (j % 241) as u8;
    }
}

fn chunk(blob: &[u8], i: usize) -> std::ops::Range<usize> {
    let _ = blob;
    HEADER_LEN + i * CHUNK_CIPHERTEXT_LEN..HEADER_LEN + (i + 1) * CHUNK_CIPHERTEXT_LEN
}

/// Applies one change to a blob, as `crates/ozvi-crypto/tests/vectors.rs`
/// does from the op's JSON.
fn apply(blob: &mut Vec<u8>, op: &Value) {
    match op["op"].as_str().expect("op") {
        "drop_chunk" => {
            let i = op["index"].as_u64().expect("index") as usize;
            blob.drain(chunk(blob, i));
        }
        "swap_chunks" => {
            let (a, b) = (
                op["a"].as_u64().expect("a") as usize,
                op["b"].as_u64().expect("b") as usize,
            );
            let first = blob[chunk(blob, a)].to_vec();
            let second = blob[chunk(blob, b)].to_vec();
            let ra = chunk(blob, a);
            blob[ra].copy_from_slice(&second);
            let rb = chunk(blob, b);
            blob[rb].copy_from_slice(&first);
        }
        "set_byte" => {
            let at = op["offset"].as_u64().expect("offset") as usize;
            blob[at] = op["value"].as_u64().expect("value") as u8;
        }
        "append" => blob.extend(b64::decode(op["bytes"].as_str().expect("bytes")).expect("b64")),
        other => panic!("no such op {other}"),
    }
}

pub(super) fn file_vectors(world: &World, out: &mut Writer) -> anyhow::Result<()> {
    let mailbox = world.mailbox();
    let valid = |out: &mut Writer, name: &str, description: &str, seal: &Seal, reference: Value| {
        let blob = seal.blob();
        let v = json!({
            "type": "file",
            "description": description,
            "mailbox_id": mailbox.to_b64(),
            "seal": seal.json(),
            "blob_ops": [],
            "reference": reference,
            "expect": "success",
            "blob_sha256": b64::encode(&Sha256::digest(&blob)),
            "plaintext_sha256": b64::encode(&Sha256::digest(plaintext(seal.size))),
        });
        out.write(name, v)
    };
    // Round trips at the chunk and bucket edges.
    for (n, (size, what)) in [
        (0usize, "an empty file: one chunk of zeros"),
        (1, "one byte"),
        (65535, "one byte short of a chunk"),
        (65536, "exactly one chunk"),
        (
            65537,
            "one byte into the second chunk: the two-chunk bucket",
        ),
        (131072, "exactly two chunks: the two-chunk bucket's edge"),
        (
            131073,
            "one byte past two chunks: three chunks and one chunk's worth of filler in the four-chunk bucket",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let seal = Seal::new(700 + n as u64, mailbox, size);
        let blob = seal.blob();
        let reference = seal.reference(&blob, "image/jpeg");
        valid(out, &format!("file-{size}-bytes"), what, &seal, reference)?;
    }
    let seal = Seal::new(720, mailbox, 5000);
    let blob = seal.blob();
    let mut reference = seal.reference(&blob, "image/png");
    reference["width"] = json!(40);
    reference["height"] = json!(30);
    valid(
        out,
        "file-png-with-pixel-size",
        "an image reference with its pixel size",
        &seal,
        reference,
    )?;
    let seal = Seal::new(722, mailbox, 3000);
    let blob = seal.blob();
    let mut reference = seal.reference(&blob, "application/pdf");
    reference["name"] = json!(format!("{}ab", "€".repeat(66)));
    valid(
        out,
        "file-name-200-bytes",
        "a name of exactly 200 bytes in UTF-8 (66 three-byte characters and two ASCII letters)",
        &seal,
        reference,
    )?;
    let seal = Seal::new(721, mailbox, 3000);
    let blob = seal.blob();
    let mut reference = seal.reference(&blob, "application/pdf");
    reference["name"] = json!("Letáček centra.pdf");
    valid(
        out,
        "file-pdf-with-name",
        "a centre's leaflet with a name to save it under",
        &seal,
        reference,
    )?;

    // Refusals: a two-chunk file, changed in one way. Where the blob is
    // changed, the reference's hash is the changed blob's, as if the sender
    // had signed it: what is tested is the chunk construction itself.
    let base = Seal::new(730, mailbox, 100_000);
    let invalid = |out: &mut Writer,
                   name: &str,
                   description: &str,
                   opener: MailboxId,
                   ops: Value,
                   reference: Value,
                   expect: &str| {
        let v = json!({
            "type": "file",
            "description": description,
            "mailbox_id": opener.to_b64(),
            "seal": base.json(),
            "blob_ops": ops,
            "reference": reference,
            "expect": expect,
        });
        out.write(name, v)
    };
    let changed = |ops: &Value, size: usize| {
        let mut blob = base.blob();
        for op in ops.as_array().expect("ops") {
            apply(&mut blob, op);
        }
        let mut s = base.clone();
        s.size = size;
        s.reference(&blob, "image/jpeg")
    };
    let ops = json!([{"op": "drop_chunk", "index": 1}]);
    invalid(
        out,
        "file-dropped-last-chunk",
        "the last chunk dropped and the size cut to one chunk: chunk 0 is not flagged last",
        mailbox,
        ops.clone(),
        changed(&ops, 65536),
        "decryption_failed",
    )?;
    let ops = json!([{"op": "swap_chunks", "a": 0, "b": 1}]);
    invalid(
        out,
        "file-chunks-swapped",
        "the two chunks swapped",
        mailbox,
        ops.clone(),
        changed(&ops, 100_000),
        "decryption_failed",
    )?;
    let other = Seal::new(731, mailbox, 100_000);
    let foreign = other.blob()[chunk(&other.blob(), 1)].to_vec();
    let ops =
        json!([{"op": "drop_chunk", "index": 1}, {"op": "append", "bytes": b64::encode(&foreign)}]);
    invalid(
        out,
        "file-chunk-from-another-file",
        "the last chunk taken from another file of the thread",
        mailbox,
        ops.clone(),
        changed(&ops, 100_000),
        "decryption_failed",
    )?;
    let mut same_key = other.clone();
    same_key.key = base.key;
    same_key.prefix = base.prefix;
    let foreign = same_key.blob()[chunk(&same_key.blob(), 1)].to_vec();
    let ops =
        json!([{"op": "drop_chunk", "index": 1}, {"op": "append", "bytes": b64::encode(&foreign)}]);
    invalid(
        out,
        "file-chunk-from-same-key-other-id",
        "the last chunk from a file sealed under the same key and nonce prefix but another id",
        mailbox,
        ops.clone(),
        changed(&ops, 100_000),
        "decryption_failed",
    )?;
    let elsewhere = MailboxId([0x5a; 16]);
    invalid(
        out,
        "file-moved-to-another-mailbox",
        "opened as a file of another thread",
        elsewhere,
        json!([]),
        base.reference(&base.blob(), "image/jpeg"),
        "decryption_failed",
    )?;
    let mut reference = base.reference(&base.blob(), "image/jpeg");
    reference["key"] = json!(b64::encode(&[7u8; 32]));
    invalid(
        out,
        "file-wrong-key",
        "the reference names another key",
        mailbox,
        json!([]),
        reference,
        "decryption_failed",
    )?;
    let mut reference = base.reference(&base.blob(), "image/jpeg");
    let mut hash: Vec<u8> = b64::decode(reference["sha256"].as_str().expect("sha256"))?;
    hash[31] ^= 1;
    reference["sha256"] = json!(b64::encode(&hash));
    invalid(
        out,
        "file-changed-hash",
        "the reference's hash differs in one bit",
        mailbox,
        json!([]),
        reference,
        "hash",
    )?;
    let blob = base.blob();
    let mut s = base.clone();
    s.size = 200_000;
    invalid(
        out,
        "file-bucket-mismatch",
        "the reference's size is of the four-chunk bucket, the blob has two",
        mailbox,
        json!([]),
        s.reference(&blob, "image/jpeg"),
        "length",
    )?;
    // The filler: bound by the hash alone, and never a place for a chunk.
    let three = Seal::new(733, mailbox, 131_073);
    let filler_at = file::HEADER_LEN + 3 * CHUNK_CIPHERTEXT_LEN + 7;
    let v = json!({
        "type": "file",
        "description": "a byte of the filler changed, the reference's hash the sealed blob's",
        "mailbox_id": mailbox.to_b64(),
        "seal": three.json(),
        "blob_ops": [{"op": "set_byte", "offset": filler_at, "value": 0}],
        "reference": three.reference(&three.blob(), "image/jpeg"),
        "expect": "hash",
    });
    out.write("file-filler-changed", v)?;
    let ops = json!([{"op": "set_byte", "offset": filler_at, "value": 0}]);
    let mut rehashed = three.blob();
    for op in ops.as_array().expect("ops") {
        apply(&mut rehashed, op);
    }
    let v = json!({
        "type": "file",
        "description": "a byte of the filler changed and the reference's hash that of the changed blob: it opens (the filler is never decrypted or examined)",
        "mailbox_id": mailbox.to_b64(),
        "seal": three.json(),
        "blob_ops": ops,
        "reference": three.reference(&rehashed, "image/jpeg"),
        "expect": "success",
        "blob_sha256": b64::encode(&Sha256::digest(&rehashed)),
        "plaintext_sha256": b64::encode(&Sha256::digest(plaintext(three.size))),
    });
    out.write("file-filler-changed-rehashed", v)?;
    let mut raised = three.clone();
    raised.size = 196_609;
    let v = json!({
        "type": "file",
        "description": "three chunks sealed, the size raised to four within the bucket: the filler is read as chunk 3 and does not decrypt",
        "mailbox_id": mailbox.to_b64(),
        "seal": three.json(),
        "blob_ops": [],
        "reference": raised.reference(&three.blob(), "image/jpeg"),
        "expect": "decryption_failed",
    });
    out.write("file-size-raised-into-filler", v)?;
    let filled = Seal::new(732, mailbox, 200_000);
    let mut cut = filled.clone();
    cut.size = 131_073;
    let v = json!({
        "type": "file",
        "description": "four chunks sealed, the size cut to three within the bucket: chunk 2 is not flagged last",
        "mailbox_id": mailbox.to_b64(),
        "seal": filled.json(),
        "blob_ops": [],
        "reference": cut.reference(&filled.blob(), "image/jpeg"),
        "expect": "decryption_failed",
    });
    out.write("file-size-cut-within-bucket", v)?;
    let ops = json!([{"op": "append", "bytes": b64::encode(&[0])}]);
    invalid(
        out,
        "file-trailing-byte",
        "one byte after the last chunk",
        mailbox,
        ops.clone(),
        changed(&ops, 100_000),
        "length",
    )?;
    let ops = json!([{"op": "set_byte", "offset": 0, "value": 2}]);
    invalid(
        out,
        "file-format-2",
        "a format byte this version does not know",
        mailbox,
        ops.clone(),
        changed(&ops, 100_000),
        "unsupported_version",
    )?;
    let mut s = base.clone();
    s.size = 99_999;
    invalid(
        out,
        "file-nonzero-padding",
        "the size one byte short: the byte after it is not zero padding",
        mailbox,
        json!([]),
        s.reference(&base.blob(), "image/jpeg"),
        "padding",
    )?;
    let ops = json!([{"op": "set_byte", "offset": 30000, "value": base.blob()[30000] ^ 1}]);
    invalid(
        out,
        "file-changed-ciphertext-byte",
        "one ciphertext byte changed",
        mailbox,
        ops.clone(),
        changed(&ops, 100_000),
        "decryption_failed",
    )?;

    // References a reader refuses (§12.3).
    let good = base.reference(&base.blob(), "image/jpeg");
    type Change = Box<dyn Fn(&mut Value)>;
    let refs: [(&str, &str, Change); 12] = [
        (
            "file-reference-unknown-member",
            "a member the reference does not have",
            Box::new(|r| r["caption"] = json!("x")),
        ),
        (
            "file-reference-too-large",
            "a size over 16 MiB",
            Box::new(|r| r["size"] = json!(16_777_217)),
        ),
        (
            "file-reference-gif",
            "a media type that is not allowed",
            Box::new(|r| r["type"] = json!("image/gif")),
        ),
        (
            "file-reference-width-without-height",
            "a width without a height",
            Box::new(|r| r["width"] = json!(10)),
        ),
        (
            "file-reference-name-bidi-override",
            "a name with a right-to-left override (a saved name could read backwards)",
            Box::new(|r| r["name"] = json!("faktura\u{202E}fdp.exe")),
        ),
        (
            "file-reference-name-zero-width",
            "a name with a zero-width space",
            Box::new(|r| r["name"] = json!("leták\u{200B}.pdf")),
        ),
        (
            "file-reference-name-201-bytes",
            "a name of 67 three-byte characters: 201 bytes in UTF-8",
            Box::new(|r| r["name"] = json!("€".repeat(67))),
        ),
        (
            "file-reference-name-line-separator",
            "a name with a line separator",
            Box::new(|r| r["name"] = json!("a\u{2028}b.pdf")),
        ),
        (
            "file-reference-name-with-slash",
            "a name with a path separator",
            Box::new(|r| r["name"] = json!("../x.pdf")),
        ),
        (
            "file-reference-short-key",
            "a key of 31 bytes",
            Box::new(|r| r["key"] = json!(b64::encode(&[1u8; 31]))),
        ),
        (
            "file-reference-id-padded",
            "an id in padded base64",
            Box::new(|r| {
                let id = r["id"].as_str().expect("id").to_string() + "==";
                r["id"] = json!(id)
            }),
        ),
        (
            "file-reference-zero-width",
            "a width of zero",
            Box::new(|r| {
                r["width"] = json!(0);
                r["height"] = json!(10)
            }),
        ),
    ];
    for (name, description, change) in refs {
        let mut r = good.clone();
        change(&mut r);
        invalid(
            out,
            name,
            description,
            mailbox,
            json!([]),
            r,
            "invalid_reference",
        )?;
    }
    Ok(())
}
