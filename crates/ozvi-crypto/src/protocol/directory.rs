//! The signed directory of intervention centres (PROTOCOL.md §6).
//!
//! The operator signs the exact payload bytes with the root Ed25519 key that
//! every client pins. A client refuses a bad signature, a document that breaks
//! any rule of §6.1, a version older than the one it holds, the same version
//! with other content, and a change of deployment salt.

use std::collections::BTreeSet;

use crate::error::DirectoryError;
use crate::format::directory::{
    CentreDoc, ContactDoc, DirectoryDoc, NamesDoc, SignedDirectoryDoc, StaffDoc, TextsDoc,
};
use crate::format::{b64, json};
use crate::primitives::sig::{Ed25519Public, Ed25519Secret, SIGNATURE_LEN};
use crate::primitives::x25519::X25519Public;
use crate::protocol::keys::{DeploymentSalt, StaffPublic};
use crate::protocol::labels;

/// The directory format this crate reads and writes.
pub const FORMAT: u32 = 1;
/// The 14 regions of Czechia (ISO 3166-2:CZ), in code order.
pub const REGIONS: [&str; 14] = [
    "CZ-10", "CZ-20", "CZ-31", "CZ-32", "CZ-41", "CZ-42", "CZ-51", "CZ-52", "CZ-53", "CZ-63",
    "CZ-64", "CZ-71", "CZ-72", "CZ-80",
];
/// The most staff keys one centre may list: with the person's own key, one
/// envelope then has at most 32 recipients.
pub const MAX_STAFF_PER_CENTRE: usize = 31;
/// The longest name, label, address or opening hours, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// The longest answer time or acknowledgement, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// The fewest digits in a centre's phone number (`158` has three).
pub const MIN_PHONE_DIGITS: usize = 3;
/// The most digits in a centre's phone number (E.164's limit).
pub const MAX_PHONE_DIGITS: usize = 15;
/// The largest signed directory accepted, in bytes.
pub const MAX_SIGNED_LEN: usize = 1 << 20;

/// A staff member listed in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// Stable id, unique in the directory.
    pub id: String,
    /// The label the centre chose.
    pub label: String,
    /// Her public keys.
    pub keys: StaffPublic,
}

/// Names in Czech, English and Ukrainian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// Czech.
    pub cs: String,
    /// English.
    pub en: String,
    /// Ukrainian.
    pub uk: String,
}

/// A text other than a name in Czech, English and Ukrainian: opening hours,
/// an answer time, an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    /// Czech.
    pub cs: String,
    /// English.
    pub en: String,
    /// Ukrainian.
    pub uk: String,
}

/// A centre's own contact details, shown to the person once she has written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Telephone number: digits and single spaces, an optional leading `+`.
    pub phone: String,
    /// Postal address.
    pub address: String,
    /// Opening hours.
    pub hours: Texts,
}

/// An intervention centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Centre {
    /// Stable id.
    pub id: String,
    /// Display names.
    pub names: Names,
    /// ISO 3166-2:CZ regions it serves.
    pub regions: Vec<String>,
    /// How to reach the centre itself, if the operator has listed it.
    pub contact: Option<Contact>,
    /// When the centre usually answers ("within one working day…"), if listed.
    pub answer_time: Option<Texts>,
    /// The automatic acknowledgement the person's page shows at once after
    /// her first message, if listed. It comes from the signed directory, so
    /// the relay cannot forge it.
    pub acknowledgement: Option<Texts>,
    /// Its staff, at least one.
    pub staff: Vec<StaffMember>,
}

impl Centre {
    /// The X25519 keys of all its staff: the recipients of its threads
    /// besides the person.
    pub fn staff_x25519(&self) -> Vec<X25519Public> {
        self.staff.iter().map(|s| s.keys.x25519).collect()
    }
}

/// A validated directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// Monotonically increasing version.
    pub version: u64,
    /// When it was signed (Unix seconds).
    pub issued_at: u64,
    /// The deployment's Argon2id salt.
    pub salt: DeploymentSalt,
    /// Id of the centre for people who do not know their region.
    pub default_centre: String,
    /// The centres.
    pub centres: Vec<Centre>,
}

/// A signed directory as served: the payload bytes and the root signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDirectory {
    payload: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl Directory {
    /// Validates a parsed document against every rule of §6.1.
    pub fn from_doc(doc: DirectoryDoc) -> Result<Self, DirectoryError> {
        use DirectoryError::Malformed;
        if doc.format != FORMAT {
            return Err(DirectoryError::UnsupportedVersion);
        }
        if doc.version == 0 || doc.centres.is_empty() {
            return Err(Malformed);
        }
        let salt = DeploymentSalt(b64::decode_array(&doc.salt).map_err(|_| Malformed)?);
        let mut centre_ids = BTreeSet::new();
        let mut staff_ids = BTreeSet::new();
        let mut x_keys = BTreeSet::new();
        let mut ed_keys = BTreeSet::new();
        let mut key_ids = BTreeSet::new();
        let mut centres = Vec::with_capacity(doc.centres.len());
        for c in doc.centres {
            if !valid_id(&c.id) || !centre_ids.insert(c.id.clone()) {
                return Err(Malformed);
            }
            let names = Names {
                cs: valid_text(c.names.cs, MAX_TEXT_CHARS)?,
                en: valid_text(c.names.en, MAX_TEXT_CHARS)?,
                uk: valid_text(c.names.uk, MAX_TEXT_CHARS)?,
            };
            let contact = c.contact.map(valid_contact).transpose()?;
            let answer_time = c
                .answer_time
                .map(|t| valid_texts(t, MAX_MESSAGE_CHARS))
                .transpose()?;
            let acknowledgement = c
                .acknowledgement
                .map(|t| valid_texts(t, MAX_MESSAGE_CHARS))
                .transpose()?;
            let mut regions = BTreeSet::new();
            for r in &c.regions {
                if !REGIONS.contains(&r.as_str()) || !regions.insert(r.clone()) {
                    return Err(Malformed);
                }
            }
            if c.staff.is_empty() || c.staff.len() > MAX_STAFF_PER_CENTRE {
                return Err(Malformed);
            }
            let mut staff = Vec::with_capacity(c.staff.len());
            for s in c.staff {
                let x = b64::decode(&s.x25519).map_err(|_| Malformed)?;
                let ed = b64::decode(&s.ed25519).map_err(|_| Malformed)?;
                let keys = StaffPublic {
                    x25519: X25519Public::from_bytes(&x).map_err(|_| Malformed)?,
                    ed25519: Ed25519Public::from_bytes(&ed).map_err(|_| Malformed)?,
                };
                if !valid_id(&s.id)
                    || !staff_ids.insert(s.id.clone())
                    || !x_keys.insert(*keys.x25519.as_bytes())
                    || !ed_keys.insert(keys.ed25519.to_bytes())
                    || !key_ids.insert(keys.x25519.key_id())
                {
                    return Err(Malformed);
                }
                staff.push(StaffMember {
                    id: s.id,
                    label: valid_text(s.label, MAX_TEXT_CHARS)?,
                    keys,
                });
            }
            centres.push(Centre {
                id: c.id,
                names,
                regions: c.regions,
                contact,
                answer_time,
                acknowledgement,
                staff,
            });
        }
        if !centre_ids.contains(&doc.default_centre) {
            return Err(Malformed);
        }
        Ok(Self {
            version: doc.version,
            issued_at: doc.issued_at,
            salt,
            default_centre: doc.default_centre,
            centres,
        })
    }

    /// Parses and validates an unsigned directory document (an operator's
    /// draft) with the same strict JSON rules as a signed one.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DirectoryError> {
        let doc: DirectoryDoc = json::from_slice(bytes).map_err(|_| DirectoryError::Malformed)?;
        Self::from_doc(doc)
    }

    /// The document form.
    pub fn to_doc(&self) -> DirectoryDoc {
        DirectoryDoc {
            format: FORMAT,
            version: self.version,
            issued_at: self.issued_at,
            salt: b64::encode(&self.salt.0),
            default_centre: self.default_centre.clone(),
            centres: self
                .centres
                .iter()
                .map(|c| CentreDoc {
                    id: c.id.clone(),
                    names: NamesDoc {
                        cs: c.names.cs.clone(),
                        en: c.names.en.clone(),
                        uk: c.names.uk.clone(),
                    },
                    regions: c.regions.clone(),
                    contact: c.contact.as_ref().map(|contact| ContactDoc {
                        phone: contact.phone.clone(),
                        address: contact.address.clone(),
                        hours: texts_doc(&contact.hours),
                    }),
                    answer_time: c.answer_time.as_ref().map(texts_doc),
                    acknowledgement: c.acknowledgement.as_ref().map(texts_doc),
                    staff: c
                        .staff
                        .iter()
                        .map(|s| StaffDoc {
                            id: s.id.clone(),
                            label: s.label.clone(),
                            x25519: b64::encode(s.keys.x25519.as_bytes()),
                            ed25519: b64::encode(&s.keys.ed25519.to_bytes()),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Signs the directory with the operator's root key. Fails if the
    /// directory breaks a rule of §6.1, so nothing invalid is ever signed.
    pub fn sign(&self, root: &Ed25519Secret) -> Result<SignedDirectory, DirectoryError> {
        let doc = self.to_doc();
        Directory::from_doc(doc.clone())?;
        let payload = serde_json::to_vec(&doc).map_err(|_| DirectoryError::Malformed)?;
        let signature = root.sign(&signing_input(&payload));
        Ok(SignedDirectory { payload, signature })
    }

    /// The centre with this id.
    pub fn centre(&self, id: &str) -> Option<&Centre> {
        self.centres.iter().find(|c| c.id == id)
    }

    /// The centres that serve a region; a region no centre lists (or `None`,
    /// "I don't know") gives the default centre.
    pub fn centres_for_region(&self, region: Option<&str>) -> Vec<&Centre> {
        let serving: Vec<&Centre> = match region {
            Some(r) => self
                .centres
                .iter()
                .filter(|c| c.regions.iter().any(|x| x == r))
                .collect(),
            None => Vec::new(),
        };
        if serving.is_empty() {
            self.centre(&self.default_centre).into_iter().collect()
        } else {
            serving
        }
    }

    /// The centre and staff member whose Ed25519 key this is.
    pub fn staff_by_ed25519(&self, key: &Ed25519Public) -> Option<(&Centre, &StaffMember)> {
        self.centres.iter().find_map(|c| {
            c.staff
                .iter()
                .find(|s| s.keys.ed25519 == *key)
                .map(|s| (c, s))
        })
    }
}

impl SignedDirectory {
    /// The served JSON form (§6.2).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&SignedDirectoryDoc {
            directory: b64::encode(&self.payload),
            signature: b64::encode(&self.signature),
        })
        .expect("two strings always serialize")
    }

    /// Verifies a served directory under the pinned root key and against the
    /// directory the client already holds, if any (§6.3).
    pub fn verify(
        json: &[u8],
        root: &Ed25519Public,
        pinned: Option<&Directory>,
    ) -> Result<Directory, DirectoryError> {
        use DirectoryError::Malformed;
        if json.len() > MAX_SIGNED_LEN {
            return Err(Malformed);
        }
        let signed: SignedDirectoryDoc = json::from_slice(json).map_err(|_| Malformed)?;
        let payload = b64::decode(&signed.directory).map_err(|_| Malformed)?;
        let signature: [u8; SIGNATURE_LEN] =
            b64::decode_array(&signed.signature).map_err(|_| Malformed)?;
        if !root.verify(&signing_input(&payload), &signature) {
            return Err(DirectoryError::BadSignature);
        }
        // Read the format first, so a future format with new fields is
        // reported as unsupported rather than malformed.
        // Strict: a member name twice at any level (a second `staff` list,
        // say) is malformed, not "the last one wins" (§1.3, §6.1).
        let value: serde_json::Value = json::from_slice(&payload).map_err(|_| Malformed)?;
        match value.get("format").and_then(serde_json::Value::as_u64) {
            Some(f) if f == u64::from(FORMAT) => {}
            Some(_) => return Err(DirectoryError::UnsupportedVersion),
            None => return Err(Malformed),
        }
        let doc: DirectoryDoc = serde_json::from_value(value).map_err(|_| Malformed)?;
        let directory = Directory::from_doc(doc)?;
        if let Some(pinned) = pinned {
            if directory.salt != pinned.salt {
                return Err(DirectoryError::WrongDeployment);
            }
            if directory.version < pinned.version
                || (directory.version == pinned.version && directory != *pinned)
            {
                return Err(DirectoryError::Rollback);
            }
        }
        Ok(directory)
    }
}

/// `"ozvi/v1/directory-signature" ‖ payload` (§6.2).
fn signing_input(payload: &[u8]) -> Vec<u8> {
    [labels::DIRECTORY_SIGNATURE, payload].concat()
}

pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Ids are `[a-z0-9-]{1,32}`.
fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every text (§6.1, text rule): 1..=`max` characters, no surrounding white
/// space, no control characters and no invisible formatting characters
/// (bidirectional overrides and isolates, zero-width characters) that could
/// make a text display as something else.
fn valid_text(text: String, max: usize) -> Result<String, DirectoryError> {
    let chars = text.chars().count();
    if chars == 0
        || chars > max
        || text.trim() != text
        || text
            .chars()
            .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err(DirectoryError::Malformed);
    }
    Ok(text)
}

/// A text in the three languages, each under the text rule.
fn valid_texts(texts: TextsDoc, max: usize) -> Result<Texts, DirectoryError> {
    Ok(Texts {
        cs: valid_text(texts.cs, max)?,
        en: valid_text(texts.en, max)?,
        uk: valid_text(texts.uk, max)?,
    })
}

fn texts_doc(texts: &Texts) -> TextsDoc {
    TextsDoc {
        cs: texts.cs.clone(),
        en: texts.en.clone(),
        uk: texts.uk.clone(),
    }
}

/// A centre's contact details (§6.1): a phone number the page can dial, an
/// address and opening hours under the text rule.
fn valid_contact(contact: ContactDoc) -> Result<Contact, DirectoryError> {
    if !valid_phone(&contact.phone) {
        return Err(DirectoryError::Malformed);
    }
    Ok(Contact {
        phone: contact.phone,
        address: valid_text(contact.address, MAX_TEXT_CHARS)?,
        hours: valid_texts(contact.hours, MAX_TEXT_CHARS)?,
    })
}

/// `+`? then 3 to 15 ASCII digits with at most one space between two
/// digits: `+420 000 000 072`, `158`. Nothing else, so a `tel:` link made
/// from it dials exactly the digits shown.
fn valid_phone(phone: &str) -> bool {
    let number = phone.strip_prefix('+').unwrap_or(phone);
    let digits = number.bytes().filter(u8::is_ascii_digit).count();
    (MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&digits)
        && number.bytes().all(|b| b.is_ascii_digit() || b == b' ')
        && number.starts_with(|c: char| c.is_ascii_digit())
        && number.ends_with(|c: char| c.is_ascii_digit())
        && !number.contains("  ")
}
