//! Attached files (PROTOCOL.md §12): opening one of a thread (download,
//! then `file::open`, which checks length, hash and every chunk before a
//! byte is shown), and replies that carry files staff chose.

use std::path::{Path, PathBuf};

use ozvi_crypto::MailboxId;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::file::{self, FileError, FileId, FileRef, MAX_FILES_PER_MESSAGE};
use zeroize::Zeroizing;

use super::Session;
use super::views::AttachmentView;
use crate::error::DeskError;
use crate::plaintext::ReplyBody;
use crate::text;

/// An attached file, opened and verified.
pub struct OpenedFile {
    /// Its number in the thread.
    pub number: usize,
    /// `image/jpeg`, `image/png` or `application/pdf`.
    pub media_type: String,
    /// The name the sender gave it, if any (checked by §12.3).
    pub name: Option<String>,
    /// The file (zeroized when dropped).
    pub bytes: Zeroizing<Vec<u8>>,
}

impl OpenedFile {
    /// A name to save it under: the sender's name through [`saved_name`]
    /// (only letters, digits and a few marks; at most
    /// [`MAX_SAVED_NAME_BYTES`]; the extension of its media type), else
    /// `priloha-N.ext`.
    pub fn file_name(&self) -> String {
        saved_name(self.name.as_deref(), self.number, &self.media_type)
    }

    /// The name used when the sender's cannot be written: `priloha-N.ext`.
    pub fn default_name(&self) -> String {
        default_name(self.number, &self.media_type)
    }
}

/// The most bytes of a sender's name the desk uses for a file (before the
/// extension): with the export's `N-` prefix and a ` (N)` of a clash the
/// name stays far below Linux's 255 bytes, whatever §12.3 allows.
pub const MAX_SAVED_NAME_BYTES: usize = 120;

fn default_name(number: usize, media_type: &str) -> String {
    format!("priloha-{number}.{}", extension(media_type))
}

/// Whether a character may stand in a saved name: a letter or digit of
/// any script (Czech diacritics included), a space, `.`, `-`, `_`, `(`
/// or `)`. Everything else — control, bidi and zero-width characters,
/// separators, other punctuation, symbols — is not.
fn kept_in_saved_name(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_' | '(' | ')')
}

/// The name a sender gave a file (`None` if none), made safe to save and
/// to show: every character [`kept_in_saved_name`] refuses becomes `_`,
/// the sender's extension is dropped and the one of `media_type` put in
/// its place (the content was checked to be of that type), leading and
/// trailing dots and spaces go, and at most [`MAX_SAVED_NAME_BYTES`] of
/// it are kept (cut at a character). A name with no letter or digit left
/// gives way to `priloha-N.ext`.
pub fn saved_name(name: Option<&str>, number: usize, media_type: &str) -> String {
    let Some(name) = name else {
        return default_name(number, media_type);
    };
    let cleaned: String = name
        .chars()
        .map(|c| if kept_in_saved_name(c) { c } else { '_' })
        .collect();
    let stem = cleaned
        .rsplit_once('.')
        .map_or(cleaned.as_str(), |(s, _)| s);
    let stem = stem.trim_matches([' ', '.']);
    let mut cut = String::new();
    for c in stem.chars() {
        if cut.len() + c.len_utf8() > MAX_SAVED_NAME_BYTES {
            break;
        }
        cut.push(c);
    }
    let cut = cut.trim_end_matches([' ', '.']);
    if !cut.chars().any(char::is_alphanumeric) {
        return default_name(number, media_type);
    }
    format!("{cut}.{}", extension(media_type))
}

/// The usual extension of a media type.
pub fn extension(media_type: &str) -> &'static str {
    match media_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        _ => "pdf",
    }
}

/// A file staff attach to a reply, checked and ready to seal.
pub struct Outgoing {
    media_type: &'static str,
    pixels: Option<(u32, u32)>,
    name: String,
    bytes: Vec<u8>,
}

/// The kind of a file by its first bytes (never by its name): JPEG, PNG
/// or PDF, else none.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// An image's pixel size from its header (PNG's IHDR, JPEG's first start
/// of frame); none if it cannot be read or is out of §12.3's bounds.
pub fn pixels(media_type: &str, bytes: &[u8]) -> Option<(u32, u32)> {
    let size = match media_type {
        "image/png" if bytes.len() >= 24 && &bytes[12..16] == b"IHDR" => {
            let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
            let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
            (w, h)
        }
        "image/jpeg" => jpeg_size(bytes)?,
        _ => return None,
    };
    let side = 1..=file::MAX_PIXELS_SIDE;
    (side.contains(&size.0) && side.contains(&size.1)).then_some(size)
}

fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let start_of_frame =
            (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if start_of_frame {
            let f = bytes.get(i + 5..i + 9)?;
            let h = u32::from(u16::from_be_bytes([f[0], f[1]]));
            let w = u32::from(u16::from_be_bytes([f[2], f[3]]));
            return Some((w, h));
        }
        if len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// Whether `name` may stand in a reference (§12.3), by the same check a
/// reader applies.
fn name_allowed(name: &str) -> bool {
    let probe = serde_json::json!({
        "id": FileId([0; 16]).to_b64(),
        "key": ozvi_crypto::format::b64::encode(&[0u8; 32]),
        "sha256": ozvi_crypto::format::b64::encode(&[0u8; 32]),
        "size": 0,
        "type": "application/pdf",
        "name": name,
    });
    FileRef::from_json(&probe).is_ok()
}

impl Outgoing {
    /// Checks a file staff chose: at most 16 MiB, a JPEG, PNG or PDF by
    /// its content. `name` (the file's own name) goes into the reference
    /// when §12.3 allows it, else `priloha-N.ext` (`number` from 1).
    pub fn new(name: Option<&str>, bytes: Vec<u8>, number: usize) -> Result<Self, DeskError> {
        let shown = name.unwrap_or("soubor");
        if bytes.len() as u64 > file::MAX_SIZE {
            return Err(DeskError::Invalid(format!(
                "{shown}: příloha má nejvýš 16 MiB / an attachment has at most 16 MiB"
            )));
        }
        let media_type = sniff(&bytes).ok_or_else(|| {
            DeskError::Invalid(format!(
                "{shown}: přiložit lze jen JPEG, PNG nebo PDF / only a JPEG, PNG or PDF can be \
                 attached"
            ))
        })?;
        let name = name
            .filter(|n| name_allowed(n))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("priloha-{number}.{}", extension(media_type)));
        Ok(Self {
            media_type,
            pixels: pixels(media_type, &bytes),
            name,
            bytes,
        })
    }

    /// Reads a file staff named on the command line.
    pub fn read(path: &Path, number: usize) -> Result<Self, DeskError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| DeskError::Io(format!("{}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(DeskError::Invalid(format!(
                "{} is not a file",
                path.display()
            )));
        }
        if meta.len() > file::MAX_SIZE {
            return Err(DeskError::Invalid(format!(
                "{}: příloha má nejvýš 16 MiB / an attachment has at most 16 MiB",
                path.display()
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| DeskError::Io(format!("{}: {e}", path.display())))?;
        let name = path.file_name().and_then(|n| n.to_str());
        Self::new(name, bytes, number)
    }
}

impl Session {
    /// Attachment `number` of the thread (numbered from 1 across the
    /// thread, as it lists them), downloaded and opened. Nothing of it is
    /// returned unless every check of §12.2 passed.
    pub async fn attachment(
        &self,
        mailbox: &MailboxId,
        number: usize,
    ) -> Result<OpenedFile, DeskError> {
        let view = self.thread(mailbox).await?;
        let entry = view
            .messages
            .iter()
            .flat_map(|m| &m.files)
            .find(|f| f.number == number)
            .ok_or(DeskError::UnknownAttachment(number))?;
        self.open_attachment(mailbox, entry).await
    }

    /// Downloads and opens one listed attachment.
    pub async fn open_attachment(
        &self,
        mailbox: &MailboxId,
        entry: &AttachmentView,
    ) -> Result<OpenedFile, DeskError> {
        let number = entry.number;
        let reference = entry.reference.as_ref().ok_or_else(|| {
            DeskError::Attachment(text::attachment_failed(number, FileError::InvalidReference))
        })?;
        let blob = match self
            .relay
            .download_file(&self.signing(), mailbox, &reference.id)
            .await
        {
            Ok(blob) => blob,
            Err(e) if e.relay_code() == Some(ozvi_api::ErrorCode::UnknownFile) => {
                return Err(DeskError::Attachment(format!(
                    "přílohu {number} relay nemá (smazaná nebo chybí) / the relay does not have \
                     attachment {number} (deleted or missing); nothing was shown or written"
                )));
            }
            Err(e) => return Err(self.not_found(e, mailbox)),
        };
        let bytes = file::open(mailbox, reference, &blob)
            .map_err(|e| DeskError::Attachment(text::attachment_failed(number, e)))?;
        // The reference's type decides how it is shown and its extension:
        // bytes of another kind (HTML under `image/jpeg`) are refused.
        if sniff(&bytes) != Some(reference.media_type.as_str()) {
            return Err(DeskError::Attachment(text::attachment_wrong_kind(
                number,
                &reference.media_type,
            )));
        }
        Ok(OpenedFile {
            number,
            media_type: reference.media_type.clone(),
            name: reference.name.clone(),
            bytes,
        })
    }

    /// Every attachment of the thread that opens, and the failures in
    /// words (for the case export).
    pub async fn all_attachments(
        &self,
        mailbox: &MailboxId,
    ) -> Result<Vec<Result<OpenedFile, (usize, String)>>, DeskError> {
        let view = self.thread(mailbox).await?;
        let mut out = Vec::new();
        for entry in view.messages.iter().flat_map(|m| &m.files) {
            out.push(match self.open_attachment(mailbox, entry).await {
                Ok(f) => Ok(f),
                Err(DeskError::Attachment(why)) => Err((entry.number, why)),
                Err(e) => return Err(e),
            });
        }
        Ok(out)
    }

    /// Replies to the person with `files` attached (at most five): each is
    /// sealed under a fresh key, uploaded, and the reply that carries the
    /// references claims them. Text may be empty when files are attached.
    pub async fn reply_with_files(
        &self,
        mailbox: &MailboxId,
        text: &str,
        files: Vec<Outgoing>,
    ) -> Result<u64, DeskError> {
        if files.is_empty() {
            return self.reply(mailbox, text).await;
        }
        if files.len() > MAX_FILES_PER_MESSAGE {
            return Err(DeskError::Invalid(format!(
                "nejvýš {MAX_FILES_PER_MESSAGE} příloh v jedné odpovědi / at most \
                 {MAX_FILES_PER_MESSAGE} attachments in one reply"
            )));
        }
        // Her key first: without it nothing is uploaded.
        self.person_key(mailbox).await?;
        let mut references = Vec::new();
        let mut ids = Vec::new();
        for outgoing in &files {
            let sealed = file::seal(
                &mut os_rng(),
                mailbox,
                &outgoing.bytes,
                outgoing.media_type,
                outgoing.pixels,
                Some(&outgoing.name),
            )
            .map_err(|_| DeskError::Prepare("attachment"))?;
            self.relay
                .upload_file(&self.signing(), mailbox, &sealed)
                .await
                .map_err(|e| self.not_found(e, mailbox))?;
            ids.push(sealed.reference.id);
            references.push(sealed.reference.to_json());
        }
        let body = ReplyBody {
            text: text.trim().into(),
            lang: Some("cs".into()),
            files: Some(serde_json::Value::Array(references)),
            ..ReplyBody::default()
        };
        self.send_reply_with(mailbox, &body, &ids).await
    }
}

/// Writes an opened file into `dir` (created with mode 0700) under
/// `prefix` and its [`OpenedFile::file_name`], or `name (2).ext` and so
/// on if that exists; mode 0600, never replacing anything. If that name
/// cannot be written (whatever the reason), `prefix` and `priloha-N.ext`
/// instead. Returns the path.
pub fn save_into(dir: &Path, file: &OpenedFile, prefix: &str) -> Result<PathBuf, DeskError> {
    create_private_dir(dir)?;
    save_first(
        dir,
        &[
            format!("{prefix}{}", file.file_name()),
            format!("{prefix}{}", file.default_name()),
        ],
        &file.bytes,
    )
}

/// Writes `bytes` into `dir` under the first of `names` that can be
/// written (each with ` (N)` before its extension on a clash).
fn save_first(dir: &Path, names: &[String], bytes: &[u8]) -> Result<PathBuf, DeskError> {
    let mut last = DeskError::Io(format!("{}: no name to write", dir.display()));
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            continue;
        }
        match save_as(dir, name, bytes) {
            Ok(path) => return Ok(path),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn save_as(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, DeskError> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    for n in 1..1000 {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        match crate::keystore::write_new(&candidate, bytes, false) {
            Ok(()) => return Ok(candidate),
            Err(crate::keystore::KeystoreError::Exists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DeskError::Io(format!(
        "{}: too many files of this name",
        dir.display()
    )))
}

/// Creates `dir` (and its parents) if needed, and makes it readable only
/// by this user (mode 0700).
pub fn create_private_dir(dir: &Path) -> Result<(), DeskError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let io = |e: std::io::Error| DeskError::Io(format!("{}: {e}", dir.display()));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_read_from_the_content_and_the_pixels_from_the_header() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0"), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        for other in [&b""[..], b"GIF89a", b"<html>", b"%PD", b"PK\x03\x04"] {
            assert_eq!(sniff(other), None);
        }
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 2, 128, 0, 0, 1, 224]);
        assert_eq!(pixels("image/png", &png), Some((640, 480)));
        png[16..20].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(pixels("image/png", &png), None, "out of bounds");
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC2, 0, 17, 8, 0, 32, 0, 48,
        ];
        assert_eq!(pixels("image/jpeg", &jpeg), Some((48, 32)));
        assert_eq!(pixels("image/jpeg", &jpeg[..12]), None, "truncated");
        assert_eq!(
            pixels("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 1, 2]),
            None
        );
    }

    #[test]
    fn a_name_the_reference_refuses_gives_way_to_a_default() {
        let pdf = b"%PDF-1.4 x".to_vec();
        let named = |n: Option<&str>| Outgoing::new(n, pdf.clone(), 3).expect("ok").name;
        assert_eq!(named(Some("Leták.pdf")), "Leták.pdf");
        for bad in [
            ".skryty.pdf",
            " a.pdf",
            "a\nb.pdf",
            "a/b.pdf",
            "a\\b.pdf",
            "",
        ] {
            assert_eq!(named(Some(bad)), "priloha-3.pdf", "{bad:?}");
        }
        assert_eq!(named(Some(&"x".repeat(101))), "priloha-3.pdf");
        assert_eq!(named(None), "priloha-3.pdf");
        assert!(Outgoing::new(Some("a.pdf"), b"text".to_vec(), 1).is_err());
    }

    #[test]
    fn a_saved_name_keeps_only_letters_digits_and_a_few_marks() {
        let jpg = |n: &str| saved_name(Some(n), 4, "image/jpeg");
        assert_eq!(jpg("Modřina na ruce (2).jpg"), "Modřina na ruce (2).jpg");
        assert_eq!(jpg("žluťoučký_kůň-1.JPG"), "žluťoučký_kůň-1.jpg");
        // Bidi overrides and isolates, zero-width characters, the BOM,
        // line and paragraph separators, soft hyphen, tags, control
        // characters and separators never reach a saved name.
        for invisible in [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{2029}',
            '\u{00AD}',
            '\u{E0041}',
            '\u{2060}',
            '\n',
            '\r',
            '\u{7F}',
            '/',
            '\\',
            ':',
            '*',
            '<',
            '>',
            '|',
            '"',
            '?',
            '$',
            '`',
            ';',
            '\'',
            '&',
        ] {
            let name = jpg(&format!("foto{invisible}gpj.exe"));
            assert_eq!(name, "foto_gpj.jpg", "{invisible:?}");
        }
        assert_eq!(jpg("a\u{202E}gpj.html"), "a_gpj.jpg");
        // The extension is the media type's, whatever the sender wrote.
        assert_eq!(jpg("x.html"), "x.jpg");
        assert_eq!(saved_name(Some("x.html"), 1, "image/png"), "x.png");
        assert_eq!(
            saved_name(Some("smlouva.jpg"), 1, "application/pdf"),
            "smlouva.pdf"
        );
        assert_eq!(jpg("archiv.tar.gz"), "archiv.tar.jpg");
        assert_eq!(jpg("bez přípony"), "bez přípony.jpg");
        // Never hidden, never empty.
        assert_eq!(jpg("..skryty.jpg"), "skryty.jpg");
        assert_eq!(jpg("..."), "priloha-4.jpg");
        assert_eq!(jpg("😀😀.jpg"), "priloha-4.jpg");
        assert_eq!(jpg("\u{202E}\u{200B}.jpg"), "priloha-4.jpg");
        assert_eq!(saved_name(None, 2, "application/pdf"), "priloha-2.pdf");
        // At most 120 bytes of her name, cut at a character.
        let long = jpg(&format!("{}.jpg", "\u{20000}".repeat(100)));
        assert_eq!(long, format!("{}.jpg", "\u{20000}".repeat(30)));
        let mixed = jpg(&format!("a{}.jpg", "č".repeat(99)));
        assert!(mixed.len() - 4 <= MAX_SAVED_NAME_BYTES, "{mixed}");
        assert!(mixed.is_char_boundary(mixed.len() - 4));
    }

    #[test]
    fn a_name_that_cannot_be_written_gives_way_to_the_default() {
        let tmp = tempfile::tempdir().expect("tmp");
        let names = [format!("{}.jpg", "a".repeat(300)), "priloha-1.jpg".into()];
        let path = save_first(tmp.path(), &names, b"bytes").expect("falls back");
        assert_eq!(path, tmp.path().join("priloha-1.jpg"));
        let again = save_first(tmp.path(), &names, b"bytes").expect("falls back");
        assert_eq!(again, tmp.path().join("priloha-1 (2).jpg"));
        assert!(save_first(tmp.path(), &names[..1], b"bytes").is_err());

        // Through save_into: a name of 100 four-byte characters (400 bytes)
        // is written, shortened, with the type's extension.
        let file = OpenedFile {
            number: 7,
            media_type: "image/png".into(),
            name: Some("\u{20000}".repeat(100)),
            bytes: Zeroizing::new(b"\x89PNG\r\n\x1a\n".to_vec()),
        };
        let saved = save_into(&tmp.path().join("prilohy"), &file, "7-").expect("saved");
        let name = saved.file_name().and_then(|n| n.to_str()).expect("name");
        assert_eq!(name, format!("7-{}.png", "\u{20000}".repeat(30)));
    }
}
