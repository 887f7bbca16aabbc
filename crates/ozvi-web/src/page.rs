//! The page's bindings (feature `page`): codes, the directory, her keys,
//! her messages, the proof of work.

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::format::json;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Public;
use ozvi_crypto::protocol::conversation::{self, Check};
use ozvi_crypto::protocol::directory::Texts;
use ozvi_crypto::protocol::envelope::{self, Message, Signer};
use ozvi_crypto::protocol::{addressing, pow};
use ozvi_crypto::{
    Code, CodeError, Directory, DirectoryError, PersonKeys, Sender, SignedDirectory,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::{codes, error};
use zeroize::Zeroizing;

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
