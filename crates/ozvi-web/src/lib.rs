//! The person's page in WebAssembly: [`ozvi_crypto`] for JavaScript.
//!
//! "The bridging layer is not API": every function here converts types and
//! errors and calls `ozvi-crypto`, which holds all the protocol logic. What
//! crosses into JavaScript is strings (base64url, JSON) and numbers; the
//! person's keys stay inside WebAssembly memory in a [`Person`] and are
//! zeroized when the page calls `free()` on it (or when it is collected).
//!
//! Errors reach JavaScript as `Error`s whose message is a stable code from
//! [`codes`], never an internal message: the page maps each code to words in
//! the person's language.
//!
//! # Layout
//!
//! - [`new_code`], [`check_code`]: the code she keeps (PROTOCOL.md §2).
//! - [`Deployment`]: the signed directory, verified under the pinned root
//!   key (§6); which centre serves which region.
//! - [`Person`]: her keys derived from the code (§3); sealing her messages
//!   and opening the centre's replies (§4).
//! - [`Conversation`]: the reader's checks across one thread (replays,
//!   order; `ozvi_crypto::protocol::conversation`), used through
//!   [`Person::open_in_thread`].
//! - [`solve_pow`]: the relay's proof of work (§10).
//! - [`seal_file`], [`open_file`]: attached photos (§12), sealed and opened
//!   with `ozvi_crypto::protocol::file`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::format::json;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Public;
use ozvi_crypto::protocol::conversation::{self, Check};
use ozvi_crypto::protocol::directory::Texts;
use ozvi_crypto::protocol::envelope::{self, Message, Signer};
use ozvi_crypto::protocol::file::{self, FileError, FileRef};
use ozvi_crypto::protocol::keys::MailboxId;
use ozvi_crypto::protocol::{addressing, pow};
use ozvi_crypto::{
    Code, CodeError, Directory, DirectoryError, PersonKeys, Sender, SignedDirectory,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// The stable error codes the page translates. Nothing else is ever thrown.
pub mod codes {
    /// The code has too few or too many characters.
    pub const CODE_LENGTH: &str = "code_length";
    /// A character that codes never contain.
    pub const CODE_CHARACTER: &str = "code_character";
    /// Every character is valid but the check character does not match.
    pub const CODE_TYPO: &str = "code_typo";
    /// The directory is not signed by the pinned root key.
    pub const DIRECTORY_SIGNATURE: &str = "directory_signature";
    /// The directory is unreadable, of another format, or the root key is bad.
    pub const DIRECTORY_INVALID: &str = "directory_invalid";
    /// The directory does not list this centre.
    pub const UNKNOWN_CENTRE: &str = "unknown_centre";
    /// The message could not be sealed.
    pub const SEAL_FAILED: &str = "seal_failed";
    /// A message that does not open, or whose signature or sender is not
    /// valid: it must be shown as unverified, never as genuine.
    pub const UNVERIFIED: &str = "unverified";
    /// A proof-of-work challenge that is not base64url or too hard.
    pub const POW_INVALID: &str = "pow_invalid";
    /// A mailbox id that is not base64url of 16 bytes.
    pub const MAILBOX_INVALID: &str = "mailbox_invalid";
    /// [`ozvi_crypto::protocol::file::FileError::TooLarge`].
    pub const FILE_TOO_LARGE: &str = "file_too_large";
    /// `FileError::Length`.
    pub const FILE_LENGTH: &str = "file_length";
    /// `FileError::Hash`.
    pub const FILE_HASH: &str = "file_hash";
    /// `FileError::UnsupportedVersion`.
    pub const FILE_UNSUPPORTED_VERSION: &str = "file_unsupported_version";
    /// `FileError::DecryptionFailed`.
    pub const FILE_DECRYPTION_FAILED: &str = "file_decryption_failed";
    /// `FileError::Padding`.
    pub const FILE_PADDING: &str = "file_padding";
    /// `FileError::InvalidReference` (or a reference that is not JSON).
    pub const FILE_INVALID_REFERENCE: &str = "file_invalid_reference";
}

fn error(code: &str) -> JsError {
    JsError::new(code)
}

/// A new random code, grouped for display (`ABC-DEF-…`).
#[wasm_bindgen(js_name = newCode)]
pub fn new_code() -> String {
    Code::generate(&mut os_rng()).grouped().to_string()
}

/// Checks a typed code and returns it grouped for display. Throws
/// `code_length`, `code_character` or `code_typo`.
#[wasm_bindgen(js_name = checkCode)]
pub fn check_code(input: &str) -> Result<String, JsError> {
    Ok(parse_code(input)?.grouped().to_string())
}

fn parse_code(input: &str) -> Result<Code, JsError> {
    Code::parse(input).map_err(|e| match e {
        CodeError::WrongLength { .. } => error(codes::CODE_LENGTH),
        CodeError::InvalidCharacter { .. } => error(codes::CODE_CHARACTER),
        _ => error(codes::CODE_TYPO),
    })
}

/// The deployment the page talks to: its directory, verified.
#[wasm_bindgen]
pub struct Deployment {
    directory: Directory,
}

/// One centre as the page reads it from [`Deployment::centres_json`]. The
/// optional members are left out when the directory does not list them.
#[derive(Serialize)]
struct CentreView<'a> {
    id: &'a str,
    names: Languages<'a>,
    regions: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    contact: Option<ContactView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer_time: Option<Languages<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledgement: Option<Languages<'a>>,
}

/// A text in Czech, English and Ukrainian.
#[derive(Serialize)]
struct Languages<'a> {
    cs: &'a str,
    en: &'a str,
    uk: &'a str,
}

impl<'a> Languages<'a> {
    fn of(texts: &'a Texts) -> Self {
        Self {
            cs: &texts.cs,
            en: &texts.en,
            uk: &texts.uk,
        }
    }
}

#[derive(Serialize)]
struct ContactView<'a> {
    phone: &'a str,
    address: &'a str,
    hours: Languages<'a>,
}

#[wasm_bindgen]
impl Deployment {
    /// Verifies the signed directory (as `GET /api/v1/directory` serves it)
    /// under the root key (base64url). Throws `directory_signature` or
    /// `directory_invalid`.
    #[wasm_bindgen(constructor)]
    pub fn new(signed_json: &str, root_key: &str) -> Result<Deployment, JsError> {
        let root = b64::decode(root_key)
            .ok()
            .and_then(|bytes| Ed25519Public::from_bytes(&bytes).ok())
            .ok_or_else(|| error(codes::DIRECTORY_INVALID))?;
        let directory =
            SignedDirectory::verify(signed_json.as_bytes(), &root, None).map_err(|e| match e {
                DirectoryError::BadSignature => error(codes::DIRECTORY_SIGNATURE),
                _ => error(codes::DIRECTORY_INVALID),
            })?;
        Ok(Self { directory })
    }

    /// The directory's version.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> f64 {
        self.directory.version as f64
    }

    /// The centres as JSON, from the signed directory (PROTOCOL.md §6.1):
    /// `[{id, names: {cs, en, uk}, regions: [...], contact?: {phone,
    /// address, hours: {cs, en, uk}}, answer_time?: {cs, en, uk},
    /// acknowledgement?: {cs, en, uk}}]`. A member marked `?` is absent when
    /// the directory does not list it for that centre.
    #[wasm_bindgen(js_name = centresJson)]
    pub fn centres_json(&self) -> String {
        let centres: Vec<CentreView<'_>> = self
            .directory
            .centres
            .iter()
            .map(|c| CentreView {
                id: &c.id,
                names: Languages {
                    cs: &c.names.cs,
                    en: &c.names.en,
                    uk: &c.names.uk,
                },
                regions: &c.regions,
                contact: c.contact.as_ref().map(|contact| ContactView {
                    phone: &contact.phone,
                    address: &contact.address,
                    hours: Languages::of(&contact.hours),
                }),
                answer_time: c.answer_time.as_ref().map(Languages::of),
                acknowledgement: c.acknowledgement.as_ref().map(Languages::of),
            })
            .collect();
        serde_json::to_string(&centres).expect("strings always serialize")
    }

    /// The centre a person writing from `region` (an ISO 3166-2:CZ code, or
    /// nothing for "I don't know") is routed to: the first centre serving the
    /// region, else the directory's default centre.
    #[wasm_bindgen(js_name = centreFor)]
    pub fn centre_for(&self, region: Option<String>) -> String {
        self.directory
            .centres_for_region(region.as_deref())
            .first()
            .map_or_else(|| self.directory.default_centre.clone(), |c| c.id.clone())
    }
}

/// The person's keys, derived from her code. They never leave WebAssembly
/// memory except the auth secret, which the page sends to the relay in a
/// header.
#[wasm_bindgen]
pub struct Person {
    keys: PersonKeys,
}

#[derive(Serialize)]
struct OpenedView {
    /// `person` or `staff`.
    from: &'static str,
    /// The staff member's label, for a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    staff: Option<String>,
    /// The centre's id, for a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    centre: Option<String>,
    /// The sender's clock, Unix seconds.
    sent_at: u64,
    /// The message id (base64url): the same id twice in a thread is a replay.
    msg_id: String,
    /// The body (JSON text, PROTOCOL.md §4.6).
    body: String,
}

#[wasm_bindgen]
impl Person {
    /// Derives her keys from a typed code under the deployment's salt
    /// (Argon2id: a fraction of a second). Throws the code errors of
    /// [`check_code`].
    pub fn derive(code: &str, deployment: &Deployment) -> Result<Person, JsError> {
        let code = parse_code(code)?;
        Ok(Self {
            keys: PersonKeys::derive(&code, &deployment.directory.salt),
        })
    }

    /// Her mailbox id, base64url: the `Ozvi-Mailbox` header.
    #[wasm_bindgen(getter, js_name = mailboxId)]
    pub fn mailbox_id(&self) -> String {
        self.keys.mailbox_id().to_b64()
    }

    /// Her auth secret, base64url: the `Ozvi-Auth` header.
    #[wasm_bindgen(getter, js_name = authSecret)]
    pub fn auth_secret(&self) -> String {
        b64::encode(self.keys.auth_secret().expose())
    }

    /// The verifier the relay stores when she creates her thread.
    #[wasm_bindgen(getter)]
    pub fn verifier(&self) -> String {
        b64::encode(&self.keys.auth_secret().verifier().0)
    }

    /// Seals `body` (JSON text) as her message to every staff member of
    /// `centre` and to herself, so she can read it when she returns.
    /// Returns the envelope, base64url. Throws `unknown_centre` or
    /// `seal_failed`.
    pub fn seal(
        &self,
        deployment: &Deployment,
        centre: &str,
        body: &str,
        sent_at: f64,
    ) -> Result<String, JsError> {
        // References she attaches are checked as a reader checks them
        // (§12.3), so her page cannot send a message the centre refuses.
        let parsed: serde_json::Value =
            serde_json::from_str(body).map_err(|_| error(codes::SEAL_FAILED))?;
        if FileRef::from_body(&parsed).is_some_and(|refs| refs.iter().any(Result::is_err)) {
            return Err(error(codes::SEAL_FAILED));
        }
        let centre = deployment
            .directory
            .centre(centre)
            .ok_or_else(|| error(codes::UNKNOWN_CENTRE))?;
        let recipients = addressing::recipients(
            Kind::PersonMessage,
            centre,
            Some(&self.keys.public().x25519),
        )
        .map_err(|_| error(codes::SEAL_FAILED))?;
        let envelope = envelope::seal(
            &mut os_rng(),
            Signer::Person(&self.keys),
            Message {
                kind: Kind::PersonMessage,
                mailbox: &self.keys.mailbox_id(),
                body: body.as_bytes(),
                // Negative, NaN or huge clocks become 0 or u64::MAX (`as` saturates).
                sent_at: sent_at as u64,
            },
            &recipients,
        )
        .map_err(|_| error(codes::SEAL_FAILED))?;
        Ok(b64::encode(&envelope))
    }

    /// Opens and verifies a message of her thread (base64url, as listed).
    /// Returns JSON: `{from, staff?, centre?, sent_at, msg_id, body}`.
    /// Throws `unverified` for anything that does not open or verify: an
    /// altered message, a sender the directory does not list, a staff note,
    /// a body that is not strict JSON (PROTOCOL.md §1.3).
    pub fn open(&self, deployment: &Deployment, envelope: &str) -> Result<String, JsError> {
        let (_, view) = self.open_view(deployment, envelope)?;
        Ok(serde_json::to_string(&view).expect("strings always serialize"))
    }

    /// Opens message `seq` of her thread (base64url, as listed) and checks
    /// it against the messages of `conversation` before it
    /// (`ozvi_crypto::protocol::conversation`). Never throws; returns JSON
    /// `{check, ...}` where `check` is `show` (with the fields of
    /// [`Person::open`]), `unverified` (show as not genuine), `replay`
    /// (with `first_seq`: a copy of an earlier message, not to be shown
    /// again), `out_of_order` or `not_in_thread` (not to be shown).
    #[wasm_bindgen(js_name = openInThread)]
    pub fn open_in_thread(
        &self,
        deployment: &Deployment,
        conversation: &mut Conversation,
        seq: f64,
        envelope: &str,
    ) -> String {
        // Negative, NaN or huge numbers become 0 or u64::MAX (`as` saturates).
        let seq = seq as u64;
        let opened = self.open_view(deployment, envelope).ok();
        let check = conversation
            .inner
            .push(seq, opened.as_ref().map(|(opened, _)| opened));
        let result = match (check, opened) {
            (Check::Show, Some((_, view))) => {
                let mut value = serde_json::to_value(&view).expect("strings always serialize");
                value["check"] = "show".into();
                value
            }
            (Check::Show, None) => serde_json::json!({"check": "unverified"}),
            (Check::Replay { first_seq }, _) => {
                serde_json::json!({"check": "replay", "first_seq": first_seq})
            }
            (Check::OutOfOrder, _) => serde_json::json!({"check": "out_of_order"}),
            _ => serde_json::json!({"check": "not_in_thread"}),
        };
        result.to_string()
    }

    fn open_view(
        &self,
        deployment: &Deployment,
        envelope: &str,
    ) -> Result<(ozvi_crypto::Opened, OpenedView), JsError> {
        let bytes = b64::decode(envelope).map_err(|_| error(codes::UNVERIFIED))?;
        let mut opened = envelope::open(
            &bytes,
            &self.keys.mailbox_id(),
            self.keys.x25519(),
            &deployment.directory,
        )
        // Deliberately coarse: the page only needs to know it is not genuine.
        .map_err(|_| error(codes::UNVERIFIED))?;
        let body = Zeroizing::new(std::mem::take(&mut opened.body));
        json::check_unique_names(&body).map_err(|_| error(codes::UNVERIFIED))?;
        let body = std::str::from_utf8(&body).map_err(|_| error(codes::UNVERIFIED))?;
        let (from, staff, centre) = match (&opened.kind, &opened.sender) {
            // `open` has checked that her keys are the mailbox's.
            (Kind::PersonMessage, Sender::Person(_)) => ("person", None, None),
            (Kind::StaffReply, Sender::Staff { centre, staff }) => {
                let label = deployment
                    .directory
                    .centre(centre)
                    .and_then(|c| c.staff.iter().find(|s| s.id == *staff))
                    .map_or_else(|| staff.clone(), |s| s.label.clone());
                ("staff", Some(label), Some(centre.clone()))
            }
            _ => return Err(error(codes::UNVERIFIED)),
        };
        let view = OpenedView {
            from,
            staff,
            centre,
            sent_at: opened.sent_at,
            msg_id: b64::encode(&opened.msg_id),
            body: body.to_string(),
        };
        Ok((opened, view))
    }
}

/// The reader's checks across the messages of one thread: make one when a
/// conversation is shown, and pass every message through
/// [`Person::open_in_thread`] in the listed order.
#[wasm_bindgen]
#[derive(Default)]
pub struct Conversation {
    inner: conversation::Conversation,
}

#[wasm_bindgen]
impl Conversation {
    /// An empty conversation.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Conversation {
        Self::default()
    }
}

/// Solves a proof-of-work challenge (base64url, as `POST /api/v1/pow`
/// returns it) and returns the nonce. Throws `pow_invalid`.
#[wasm_bindgen(js_name = solvePow)]
pub fn solve_pow(challenge: &str, difficulty: u8) -> Result<f64, JsError> {
    let raw = b64::decode(challenge).map_err(|_| error(codes::POW_INVALID))?;
    let nonce = pow::solve(&raw, difficulty).ok_or_else(|| error(codes::POW_INVALID))?;
    // A nonce needs about 2^difficulty tries, at most 2^32: exact in an f64.
    Ok(nonce as f64)
}

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

/// A sealed file ([`seal_file`]): the blob to upload, the reference to put
/// in the message body's `files` and the file's id for the upload's
/// `Ozvi-File` header and the message's `files` claim.
#[wasm_bindgen]
pub struct SealedFile {
    blob: Vec<u8>,
    reference: String,
    id: String,
}

#[wasm_bindgen]
impl SealedFile {
    /// Takes the blob out (a `Uint8Array`; empty on a second call, so the
    /// page holds one copy).
    #[wasm_bindgen(js_name = takeBlob)]
    pub fn take_blob(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.blob)
    }

    /// The reference (PROTOCOL.md §12.3) as JSON text. It holds the file's
    /// key: it goes only into the sealed message body.
    #[wasm_bindgen(getter)]
    pub fn reference(&self) -> String {
        self.reference.clone()
    }

    /// The file id, base64url.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }
}

/// Seals a photo of her mailbox (base64url) for upload (PROTOCOL.md §12.1):
/// a fresh id and key, `media_type` (`image/jpeg` or `image/png`) and its
/// pixel size in the reference. Throws `mailbox_invalid`, `file_too_large`
/// or `file_invalid_reference` (a kind or size the reference cannot hold).
#[wasm_bindgen(js_name = sealFile)]
pub fn seal_file(
    mailbox_id: &str,
    bytes: &[u8],
    media_type: &str,
    width: u32,
    height: u32,
) -> Result<SealedFile, JsError> {
    let mailbox = mailbox(mailbox_id)?;
    let sealed = file::seal(
        &mut os_rng(),
        &mailbox,
        bytes,
        media_type,
        Some((width, height)),
        None,
    )
    .map_err(file_error)?;
    Ok(SealedFile {
        blob: sealed.blob,
        reference: sealed.reference.to_json().to_string(),
        id: sealed.reference.id.to_b64(),
    })
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
