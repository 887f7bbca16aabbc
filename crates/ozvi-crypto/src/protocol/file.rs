//! Attached files (PROTOCOL.md §12).
//!
//! A file — a photo, a screenshot, a centre's leaflet — is encrypted under a
//! fresh random key with STREAM over XChaCha20-Poly1305 (the construction
//! age uses for its payload, here `aead-stream`'s `StreamBE32`) in 64 KiB
//! chunks, the last one padded with zero bytes. Random **filler** then
//! brings the result to a **bucket**: 1, 2, 4 … 256 chunks' worth. The
//! relay stores the result, the **blob**, and learns only its size class.
//! What opens it — the file's id, key, the SHA-256 of the blob, its length
//! and kind — is a [`FileRef`] inside the sealed, signed message that
//! carries it (§4.6 `files`), so a file cannot be swapped, truncated,
//! reordered, moved to another thread or opened without its message.
//!
//! ```text
//! blob  = 0x01 ‖ nonce_prefix (19) ‖ c_0 ‖ … ‖ c_{m-1} ‖ filler
//! c_i   = XChaCha20-Poly1305(key, nonce_prefix ‖ u32be(i) ‖ [i = m-1],
//!                            aad = "ozvi/v1/file-chunk" ‖ mailbox_id ‖ file_id,
//!                            padded[i·65536 .. (i+1)·65536])
//! ```

use aead_stream::{StreamBE32, StreamPrimitive};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{self, Buffer, KeyInit};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::format::b64;
use crate::protocol::keys::MailboxId;
use crate::protocol::labels;

/// The blob format this crate writes and reads.
pub const FORMAT: u8 = 0x01;
/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 65536;
/// Poly1305 tag per chunk.
pub const TAG_LEN: usize = 16;
/// One encrypted chunk: the chunk and its tag.
pub const CHUNK_CIPHERTEXT_LEN: usize = CHUNK_LEN + TAG_LEN;
/// The STREAM nonce prefix: the XChaCha20 nonce (24) less the counter (4)
/// and the last-chunk flag (1).
pub const NONCE_PREFIX_LEN: usize = 19;
/// The blob's header: the format byte and the nonce prefix.
pub const HEADER_LEN: usize = 1 + NONCE_PREFIX_LEN;
/// A file id's length.
pub const FILE_ID_LEN: usize = 16;
/// The most chunks a blob holds (a 16 MiB bucket).
pub const MAX_CHUNKS: u32 = 256;
/// The largest file: 16 MiB.
pub const MAX_SIZE: u64 = MAX_CHUNKS as u64 * CHUNK_LEN as u64;
/// The most files one message may carry.
pub const MAX_FILES_PER_MESSAGE: usize = 5;
/// The longest file name in a reference, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest file name in a reference, in UTF-8 bytes: with a prefix of
/// its own a reader can still use it as a file name (255 bytes on Linux).
pub const MAX_NAME_BYTES: usize = 200;
/// The largest pixel width or height a reference may state.
pub const MAX_PIXELS_SIDE: u32 = 20_000;
/// The kinds of file a reference may name.
pub const MEDIA_TYPES: [&str; 3] = ["image/jpeg", "image/png", "application/pdf"];

/// Why a file could not be sealed, opened or referenced. Like
/// [`crate::OpenError`], every failure of the cipher is one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file is larger than [`MAX_SIZE`].
    #[error("the file is larger than 16 MiB")]
    TooLarge,
    /// The blob's length is not the bucket of the reference's `size`.
    #[error("the file's length does not match its reference")]
    Length,
    /// The blob's SHA-256 is not the reference's `sha256`.
    #[error("the file is not the one the message refers to")]
    Hash,
    /// A format byte this implementation does not speak.
    #[error("unsupported file format")]
    UnsupportedVersion,
    /// A chunk does not decrypt: wrong key, changed, dropped, swapped or
    /// foreign chunk, another thread or another id.
    #[error("decryption failed")]
    DecryptionFailed,
    /// Decrypted, but the padding after `size` is not all zero.
    #[error("invalid padding")]
    Padding,
    /// A reference that breaks a rule of §12.3.
    #[error("invalid file reference")]
    InvalidReference,
}

/// A file's id: 16 random bytes, unique per thread.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub [u8; FILE_ID_LEN]);

impl FileId {
    /// A fresh random id.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut id = [0u8; FILE_ID_LEN];
        rng.fill_bytes(&mut id);
        Self(id)
    }

    /// Canonical base64url.
    pub fn to_b64(&self) -> String {
        b64::encode(&self.0)
    }

    /// From canonical base64url of exactly 16 bytes.
    pub fn from_b64(text: &str) -> Result<Self, crate::ParseError> {
        b64::decode_array(text).map(Self)
    }
}

impl core::fmt::Debug for FileId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Ids are not secret, but they are not printed either: logs never
        // name what was touched.
        f.write_str("FileId(..)")
    }
}

/// The number of chunks of a file of `size` bytes: the smallest bucket
/// (1, 2, 4 … 256) whose capacity holds it; `None` over [`MAX_SIZE`].
pub fn chunks_for(size: u64) -> Option<u32> {
    data_chunks_for(size).map(u32::next_power_of_two)
}

/// The number of encrypted chunks of a file of `size` bytes, `m` of §12.1:
/// one per started 64 KiB, at least one; the rest of its bucket is filler.
/// `None` over [`MAX_SIZE`].
pub fn data_chunks_for(size: u64) -> Option<u32> {
    if size > MAX_SIZE {
        return None;
    }
    u32::try_from(size.div_ceil(CHUNK_LEN as u64).max(1)).ok()
}

/// The length of a blob of `chunks` chunks.
pub const fn blob_len(chunks: u32) -> u64 {
    HEADER_LEN as u64 + chunks as u64 * CHUNK_CIPHERTEXT_LEN as u64
}

/// The blob length of a file of `size` bytes.
pub fn blob_len_for(size: u64) -> Option<u64> {
    chunks_for(size).map(blob_len)
}

/// Whether `len` is the length of some blob (a bucket): what the relay
/// checks against a declared `Content-Length` before reading a byte.
pub fn is_blob_len(len: u64) -> bool {
    BLOB_LENGTHS.contains(&len)
}

/// Every blob length, smallest first.
pub const BLOB_LENGTHS: [u64; 9] = [
    blob_len(1),
    blob_len(2),
    blob_len(4),
    blob_len(8),
    blob_len(16),
    blob_len(32),
    blob_len(64),
    blob_len(128),
    blob_len(256),
];

/// A file key: 32 random bytes, zeroized on drop, never printed.
#[derive(Clone)]
pub struct FileKey(Zeroizing<[u8; 32]>);

impl FileKey {
    /// A fresh random key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        Self(key)
    }

    /// From its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key's bytes.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl core::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FileKey(..)")
    }
}

impl PartialEq for FileKey {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(other.0.as_ref()))
    }
}

/// What a message says about one attached file (§4.6 `files`, §12.3). It
/// travels only inside a sealed, signed envelope: whoever holds it can open
/// the blob, and nobody can swap the blob it names.
#[derive(Clone, Debug, PartialEq)]
pub struct FileRef {
    /// The file's id in its thread.
    pub id: FileId,
    /// The key the blob was sealed under.
    pub key: FileKey,
    /// SHA-256 of the whole blob.
    pub sha256: [u8; 32],
    /// The file's length in bytes, before padding.
    pub size: u64,
    /// One of [`MEDIA_TYPES`].
    pub media_type: String,
    /// Pixel width and height, for images.
    pub pixels: Option<(u32, u32)>,
    /// A name to save it under (staff files; the page sends none).
    pub name: Option<String>,
}

/// The JSON form of a [`FileRef`], member for member (§4.6).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRefJson {
    id: String,
    key: String,
    sha256: String,
    size: u64,
    #[serde(rename = "type")]
    media_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    name: Option<String>,
}

impl FileRef {
    /// The reference as the JSON object of §4.6.
    pub fn to_json(&self) -> serde_json::Value {
        let json = FileRefJson {
            id: self.id.to_b64(),
            key: b64::encode(self.key.expose()),
            sha256: b64::encode(&self.sha256),
            size: self.size,
            media_type: self.media_type.clone(),
            width: self.pixels.map(|p| p.0),
            height: self.pixels.map(|p| p.1),
            name: self.name.clone(),
        };
        serde_json::to_value(json).expect("a reference always serializes")
    }

    /// Reads and checks one reference (§12.3). Anything else — an unknown
    /// member, a non-canonical value, an unknown media type, a size over
    /// 16 MiB, only one of width and height, a name with a control
    /// character — is [`FileError::InvalidReference`].
    pub fn from_json(value: &serde_json::Value) -> Result<Self, FileError> {
        let json: FileRefJson =
            serde_json::from_value(value.clone()).map_err(|_| FileError::InvalidReference)?;
        let id = FileId::from_b64(&json.id).map_err(|_| FileError::InvalidReference)?;
        let key: [u8; 32] =
            b64::decode_array(&json.key).map_err(|_| FileError::InvalidReference)?;
        let sha256: [u8; 32] =
            b64::decode_array(&json.sha256).map_err(|_| FileError::InvalidReference)?;
        if json.size > MAX_SIZE || !MEDIA_TYPES.contains(&json.media_type.as_str()) {
            return Err(FileError::InvalidReference);
        }
        let pixels = match (json.width, json.height) {
            (None, None) => None,
            (Some(w), Some(h))
                if (1..=MAX_PIXELS_SIDE).contains(&w) && (1..=MAX_PIXELS_SIDE).contains(&h) =>
            {
                Some((w, h))
            }
            _ => return Err(FileError::InvalidReference),
        };
        if let Some(name) = &json.name {
            let chars = name.chars().count();
            if chars == 0
                || chars > MAX_NAME_CHARS
                || name.len() > MAX_NAME_BYTES
                || name.chars().any(|c| {
                    c.is_control()
                        || crate::protocol::directory::is_invisible_format(c)
                        || matches!(c, '/' | '\\' | '\u{2028}' | '\u{2029}')
                })
                || name.trim() != name
                || name.starts_with('.')
            {
                return Err(FileError::InvalidReference);
            }
        }
        Ok(Self {
            id,
            key: FileKey::from_bytes(key),
            sha256,
            size: json.size,
            media_type: json.media_type,
            pixels,
            name: json.name,
        })
    }

    /// The references of a message body (§4.6 `files`): `None` when the body
    /// has no `files` member. Each entry is checked on its own, so one bad
    /// reference does not hide the others; more than
    /// [`MAX_FILES_PER_MESSAGE`] entries, or `files` that is not an array,
    /// is a single [`FileError::InvalidReference`]. Two entries with one id
    /// are invalid from the second on.
    pub fn from_body(body: &serde_json::Value) -> Option<Vec<Result<Self, FileError>>> {
        let files = body.get("files")?;
        let Some(list) = files
            .as_array()
            .filter(|l| l.len() <= MAX_FILES_PER_MESSAGE)
        else {
            return Some(vec![Err(FileError::InvalidReference)]);
        };
        let mut seen = Vec::new();
        Some(
            list.iter()
                .map(|v| {
                    let r = Self::from_json(v)?;
                    if seen.contains(&r.id) {
                        return Err(FileError::InvalidReference);
                    }
                    seen.push(r.id);
                    Ok(r)
                })
                .collect(),
        )
    }
}

/// A sealed file: the blob to upload and the reference to put in the message.
pub struct SealedFile {
    /// What the relay stores.
    pub blob: Vec<u8>,
    /// What the message carries.
    pub reference: FileRef,
}

/// Seals `plaintext` as a file of `mailbox` with a fresh id and key
/// (§12.1). `media_type`, `pixels` and `name` go into the reference as
/// given and are checked like a received reference.
pub fn seal(
    rng: &mut impl CryptoRng,
    mailbox: &MailboxId,
    plaintext: &[u8],
    media_type: &str,
    pixels: Option<(u32, u32)>,
    name: Option<&str>,
) -> Result<SealedFile, FileError> {
    let unhashed = seal_unhashed(rng, mailbox, plaintext)?;
    let sha256 = Sha256::digest(&unhashed.blob).into();
    let reference = unhashed.reference(sha256, media_type, pixels, name)?;
    Ok(SealedFile {
        blob: unhashed.blob,
        reference,
    })
}

/// A file sealed but not yet hashed ([`seal_unhashed`]): for a sealer that
/// hashes the blob with a faster SHA-256 of its own — the person's page
/// hands it to the browser's WebCrypto, several times faster than SHA-256
/// in WebAssembly — and then makes the reference with
/// [`UnhashedFile::reference`]. A wrong hash only makes the file one that
/// no reader opens (§12.2 step 2).
pub struct UnhashedFile {
    /// What the relay stores (the caller may take it out before hashing).
    pub blob: Vec<u8>,
    /// The file's fresh id.
    pub id: FileId,
    key: FileKey,
    size: u64,
}

impl UnhashedFile {
    /// The reference of this file (§12.3), given `sha256`, the SHA-256 of
    /// [`UnhashedFile::blob`] as sealed. `media_type`, `pixels` and `name`
    /// are checked like a received reference's.
    pub fn reference(
        &self,
        sha256: [u8; 32],
        media_type: &str,
        pixels: Option<(u32, u32)>,
        name: Option<&str>,
    ) -> Result<FileRef, FileError> {
        let reference = FileRef {
            id: self.id,
            key: self.key.clone(),
            sha256,
            size: self.size,
            media_type: media_type.to_owned(),
            pixels,
            name: name.map(str::to_owned),
        };
        // The same checks a reader applies, so a sealer cannot write what a
        // reader refuses.
        FileRef::from_json(&reference.to_json())?;
        Ok(reference)
    }
}

/// Seals `plaintext` as a file of `mailbox` with a fresh id, key, nonce
/// prefix and filler from `rng` (§12.1), leaving the hash to the caller.
pub fn seal_unhashed(
    rng: &mut impl CryptoRng,
    mailbox: &MailboxId,
    plaintext: &[u8],
) -> Result<UnhashedFile, FileError> {
    let id = FileId::generate(rng);
    let key = FileKey::generate(rng);
    let mut prefix = [0u8; NONCE_PREFIX_LEN];
    rng.fill_bytes(&mut prefix);
    let blob = seal_with(mailbox, &id, &key, &prefix, plaintext, |filler| {
        rng.fill_bytes(filler);
    })?;
    Ok(UnhashedFile {
        blob,
        id,
        key,
        size: plaintext.len() as u64,
    })
}

/// The deterministic core of [`seal`]: the blob of `plaintext` under the
/// given id, key and nonce prefix, its filler written by `fill` (random in
/// [`seal`]; a fixed pattern in the test vectors and the fuzzer). Only for
/// vectors and tests: a sealer MUST use [`seal`] or [`seal_unhashed`],
/// because a `fill` that does not write fresh random bytes shows the relay
/// where the file ends.
pub fn seal_with(
    mailbox: &MailboxId,
    id: &FileId,
    key: &FileKey,
    prefix: &[u8; NONCE_PREFIX_LEN],
    plaintext: &[u8],
    fill: impl FnOnce(&mut [u8]),
) -> Result<Vec<u8>, FileError> {
    let size = plaintext.len() as u64;
    let chunks = chunks_for(size).ok_or(FileError::TooLarge)?;
    let data_chunks = data_chunks_for(size).ok_or(FileError::TooLarge)?;
    let stream = stream(key, prefix);
    let aad = aad(mailbox, id);
    let total = usize::try_from(blob_len(chunks)).map_err(|_| FileError::TooLarge)?;
    let mut blob = Vec::with_capacity(total);
    blob.push(FORMAT);
    blob.extend_from_slice(prefix);
    // Each chunk is encrypted where it lies in the blob: no copy of the
    // file beyond the one into the blob.
    for (i, part) in (0..data_chunks).zip(plaintext.chunks(CHUNK_LEN).chain([&[][..]])) {
        let start = blob.len();
        blob.extend_from_slice(part);
        blob.resize(start + CHUNK_LEN, 0);
        stream
            .encrypt_in_place(
                i,
                i + 1 == data_chunks,
                &aad,
                &mut Tail {
                    blob: &mut blob,
                    start,
                },
            )
            .expect("a 64 KiB chunk always encrypts");
    }
    let filler_start = blob.len();
    blob.resize(total, 0);
    fill(&mut blob[filler_start..]);
    Ok(blob)
}

/// The end of a blob from `start` on, as the buffer the cipher encrypts in
/// place and appends the tag to.
struct Tail<'a> {
    blob: &'a mut Vec<u8>,
    start: usize,
}

impl AsRef<[u8]> for Tail<'_> {
    fn as_ref(&self) -> &[u8] {
        &self.blob[self.start..]
    }
}

impl AsMut<[u8]> for Tail<'_> {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.blob[self.start..]
    }
}

impl Buffer for Tail<'_> {
    fn extend_from_slice(&mut self, other: &[u8]) -> aead::Result<()> {
        self.blob.extend_from_slice(other);
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        self.blob.truncate(self.start + len);
    }
}

/// Opens a blob of `mailbox` with the reference its message carries
/// (§12.2): the length must be the reference size's bucket, the SHA-256
/// the reference's, the format known, every chunk must decrypt in its
/// place (the last one flagged last) and the padding be zero. The filler
/// is bound by the hash alone.
pub fn open(
    mailbox: &MailboxId,
    reference: &FileRef,
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, FileError> {
    let chunks = chunks_for(reference.size).ok_or(FileError::Length)?;
    let data_chunks = data_chunks_for(reference.size).ok_or(FileError::Length)?;
    if blob.len() as u64 != blob_len(chunks) {
        return Err(FileError::Length);
    }
    let digest: [u8; 32] = Sha256::digest(blob).into();
    if !bool::from(digest.ct_eq(&reference.sha256)) {
        return Err(FileError::Hash);
    }
    if blob[0] != FORMAT {
        return Err(FileError::UnsupportedVersion);
    }
    let prefix: [u8; NONCE_PREFIX_LEN] = blob[1..HEADER_LEN]
        .try_into()
        .expect("the header is 20 bytes");
    let stream = stream(&reference.key, &prefix);
    let aad = aad(mailbox, &reference.id);
    let mut out = Zeroizing::new(Vec::with_capacity(
        data_chunks as usize * CHUNK_CIPHERTEXT_LEN,
    ));
    let chunks_in_blob = blob[HEADER_LEN..].chunks_exact(CHUNK_CIPHERTEXT_LEN);
    for (i, chunk) in (0..data_chunks).zip(chunks_in_blob) {
        let start = out.len();
        out.extend_from_slice(chunk);
        stream
            .decrypt_in_place(
                i,
                i + 1 == data_chunks,
                &aad,
                &mut Tail {
                    blob: &mut out,
                    start,
                },
            )
            .map_err(|_| FileError::DecryptionFailed)?;
    }
    let size = usize::try_from(reference.size).map_err(|_| FileError::Length)?;
    if out[size..].iter().fold(0u8, |acc, b| acc | b) != 0 {
        return Err(FileError::Padding);
    }
    out.truncate(size);
    Ok(out)
}

fn stream(key: &FileKey, prefix: &[u8; NONCE_PREFIX_LEN]) -> StreamBE32<XChaCha20Poly1305> {
    use aead_stream::NewStream;
    let aead = XChaCha20Poly1305::new(key.expose().into());
    StreamBE32::from_aead(aead, prefix.into())
}

fn aad(mailbox: &MailboxId, id: &FileId) -> Vec<u8> {
    [labels::FILE_CHUNK, &mailbox.0, &id.0].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::rng::os_rng;

    fn mailbox(b: u8) -> MailboxId {
        MailboxId([b; 16])
    }

    #[test]
    fn buckets_are_powers_of_two_chunks() {
        assert_eq!(chunks_for(0), Some(1));
        assert_eq!(chunks_for(65536), Some(1));
        assert_eq!(chunks_for(65537), Some(2));
        assert_eq!(chunks_for(131073), Some(4));
        assert_eq!(chunks_for(MAX_SIZE), Some(256));
        assert_eq!(chunks_for(MAX_SIZE + 1), None);
        assert_eq!(blob_len(1), 65572);
        assert!(is_blob_len(65572) && !is_blob_len(65571) && !is_blob_len(65573));
    }

    #[test]
    fn the_filler_is_random_and_bound_by_the_hash_alone() {
        let mut rng = os_rng();
        // Three chunks in the four-chunk bucket: one chunk's worth of filler.
        let plain = vec![0u8; 2 * CHUNK_LEN + 1];
        let filler = HEADER_LEN + 3 * CHUNK_CIPHERTEXT_LEN..;
        let a = seal(
            &mut rng,
            &mailbox(1),
            &plain,
            "image/png",
            Some((1, 1)),
            None,
        )
        .unwrap();
        let b = seal(
            &mut rng,
            &mailbox(1),
            &plain,
            "image/png",
            Some((1, 1)),
            None,
        )
        .unwrap();
        assert_eq!(a.blob.len() as u64, blob_len(4));
        assert_eq!(a.blob[filler.clone()].len(), CHUNK_CIPHERTEXT_LEN);
        // Not zeros (the relay would read the size off them), not repeated.
        assert!(a.blob[filler.clone()].iter().filter(|&&b| b == 0).count() < 1024);
        assert_ne!(a.blob[filler.clone()], b.blob[filler.clone()]);
        // Changed filler: refused by the hash; with the hash re-made (as
        // the sender could), it opens: a reader never decrypts it.
        let mut changed = a.blob.clone();
        changed[filler.start] ^= 1;
        assert_eq!(
            open(&mailbox(1), &a.reference, &changed).unwrap_err(),
            FileError::Hash
        );
        let mut rehashed = a.reference.clone();
        rehashed.sha256 = Sha256::digest(&changed).into();
        assert_eq!(
            open(&mailbox(1), &rehashed, &changed).unwrap().as_slice(),
            plain
        );
    }

    #[test]
    fn a_hash_made_elsewhere_goes_into_the_reference_as_given() {
        let mut rng = os_rng();
        let plain = b"a screenshot".to_vec();
        let unhashed = seal_unhashed(&mut rng, &mailbox(3), &plain).unwrap();
        let right = unhashed
            .reference(
                Sha256::digest(&unhashed.blob).into(),
                "image/png",
                Some((2, 2)),
                None,
            )
            .unwrap();
        assert_eq!(right.id, unhashed.id);
        assert_eq!(
            open(&mailbox(3), &right, &unhashed.blob)
                .unwrap()
                .as_slice(),
            plain
        );
        let wrong = unhashed
            .reference([0; 32], "image/png", Some((2, 2)), None)
            .unwrap();
        assert_eq!(
            open(&mailbox(3), &wrong, &unhashed.blob).unwrap_err(),
            FileError::Hash
        );
        // The reference is checked as a reader would check it.
        assert_eq!(
            unhashed
                .reference([0; 32], "application/zip", None, None)
                .unwrap_err(),
            FileError::InvalidReference
        );
    }

    #[test]
    fn round_trip_and_the_reference_binds_the_blob() {
        let mut rng = os_rng();
        for size in [0usize, 1, 65535, 65536, 65537, 131072, 131073] {
            let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let sealed = seal(
                &mut rng,
                &mailbox(1),
                &plain,
                "image/png",
                Some((3, 4)),
                None,
            )
            .unwrap();
            assert_eq!(sealed.blob.len() as u64, blob_len_for(size as u64).unwrap());
            let reference = FileRef::from_json(&sealed.reference.to_json()).unwrap();
            assert_eq!(
                open(&mailbox(1), &reference, &sealed.blob)
                    .unwrap()
                    .as_slice(),
                plain
            );
            assert_eq!(
                open(&mailbox(2), &reference, &sealed.blob).unwrap_err(),
                FileError::DecryptionFailed
            );
        }
    }
}
