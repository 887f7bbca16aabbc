//! Attached photos (feature `files`, PROTOCOL.md §12): sealing her
//! re-encoded pictures and opening the files of her thread, with
//! `ozvi_crypto::protocol::file`. Built on its own as `ozvi_web_files`,
//! which the page loads only when she first adds or opens a file.

use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::file::{self, FileError, FileRef, UnhashedFile};
use ozvi_crypto::protocol::keys::MailboxId;
use wasm_bindgen::prelude::*;

use crate::{codes, error};

/// The stable code of a [`FileError`]: `file_` and the variant's name.
fn file_error(e: FileError) -> JsError {
    error(match e {
        FileError::TooLarge => codes::FILE_TOO_LARGE,
        FileError::Length => codes::FILE_LENGTH,
        FileError::Hash => codes::FILE_HASH,
        FileError::UnsupportedVersion => codes::FILE_UNSUPPORTED_VERSION,
        FileError::DecryptionFailed => codes::FILE_DECRYPTION_FAILED,
        FileError::Padding => codes::FILE_PADDING,
        _ => codes::FILE_INVALID_REFERENCE,
    })
}

fn mailbox(mailbox_id: &str) -> Result<MailboxId, JsError> {
    MailboxId::from_b64(mailbox_id).map_err(|_| error(codes::MAILBOX_INVALID))
}

/// A sealed file ([`seal_file`]) waiting for its hash: the blob to upload,
/// the file's id for the upload's `Ozvi-File` header and the message's
/// `files` claim, and — once the page has hashed the blob with WebCrypto
/// (or [`sha256`]) — the reference to put in the message body's `files`.
#[wasm_bindgen]
pub struct SealedFile {
    file: UnhashedFile,
    media_type: String,
    pixels: (u32, u32),
}

#[wasm_bindgen]
impl SealedFile {
    /// Takes the blob out (a `Uint8Array`; empty on a second call, so the
    /// page holds one copy).
    #[wasm_bindgen(js_name = takeBlob)]
    pub fn take_blob(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.file.blob)
    }

    /// The reference (PROTOCOL.md §12.3) as JSON text, given the blob's
    /// SHA-256 (32 bytes). It holds the file's key: it goes only into the
    /// sealed message body. Throws `file_invalid_reference` for a hash
    /// that is not 32 bytes.
    pub fn reference(&self, sha256: &[u8]) -> Result<String, JsError> {
        let sha256: [u8; 32] = sha256
            .try_into()
            .map_err(|_| error(codes::FILE_INVALID_REFERENCE))?;
        let reference = self
            .file
            .reference(sha256, &self.media_type, Some(self.pixels), None)
            .map_err(file_error)?;
        Ok(reference.to_json().to_string())
    }

    /// The file id, base64url.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.file.id.to_b64()
    }
}

/// Seals a photo of her mailbox (base64url) for upload (PROTOCOL.md §12.1):
/// a fresh id, key and filler, `media_type` (`image/jpeg` or `image/png`)
/// and its pixel size for the reference. The page hashes the blob with
/// WebCrypto, several times faster than SHA-256 here, and asks
/// [`SealedFile::reference`] for the reference. Throws `mailbox_invalid`,
/// `file_too_large` or `file_invalid_reference` (a kind or size the
/// reference cannot hold).
#[wasm_bindgen(js_name = sealFile)]
pub fn seal_file(
    mailbox_id: &str,
    bytes: &[u8],
    media_type: &str,
    width: u32,
    height: u32,
) -> Result<SealedFile, JsError> {
    let mailbox = mailbox(mailbox_id)?;
    let file = file::seal_unhashed(&mut os_rng(), &mailbox, bytes).map_err(file_error)?;
    let pixels = (width, height);
    // The kind and pixel size are checked now, as the reference will
    // check them, so that no upload starts for a file without one.
    file.reference([0; 32], media_type, Some(pixels), None)
        .map_err(file_error)?;
    Ok(SealedFile {
        file,
        media_type: media_type.to_owned(),
        pixels,
    })
}

/// SHA-256 of `bytes`: for a page where WebCrypto is missing (a page not
/// served over HTTPS has no `crypto.subtle`).
#[wasm_bindgen]
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    ozvi_crypto::primitives::hash::sha256(&[bytes]).to_vec()
}

/// Opens a downloaded blob of her mailbox with the reference (JSON text)
/// its verified message carries (PROTOCOL.md §12.2) and returns the file.
/// Throws `mailbox_invalid` or the `file_*` code of the step that failed;
/// nothing of a file is returned unless every step passed.
#[wasm_bindgen(js_name = openFile)]
pub fn open_file(mailbox_id: &str, reference_json: &str, blob: &[u8]) -> Result<Vec<u8>, JsError> {
    let mailbox = mailbox(mailbox_id)?;
    let value: serde_json::Value =
        serde_json::from_str(reference_json).map_err(|_| error(codes::FILE_INVALID_REFERENCE))?;
    let reference = FileRef::from_json(&value).map_err(file_error)?;
    let plain = file::open(&mailbox, &reference, blob).map_err(file_error)?;
    // The copy handed to JavaScript is hers to show; the one here is zeroized.
    Ok(plain.to_vec())
}
