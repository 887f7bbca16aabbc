//! The operator's work: the root key, the directory draft, enrolment of
//! staff, signing and publishing.
//!
//! A **draft** is the directory's JSON document (PROTOCOL.md §6.1), kept by
//! the operator and edited with these commands. Its `version` is the version
//! the next signature will carry; signing then raises the draft's version,
//! so every published directory is newer than the last.

use std::path::Path;

use ozvi_crypto::format::b64;
use ozvi_crypto::format::directory::DirectoryDoc;
use ozvi_crypto::primitives::hash::sha256;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::{Ed25519Public, Ed25519Secret};
use ozvi_crypto::primitives::x25519::X25519Public;
use ozvi_crypto::protocol::directory::{Centre, Contact, Names, StaffMember, Texts};
use ozvi_crypto::{DeploymentSalt, Directory, SignedDirectory, StaffKeys, StaffPublic};
use serde::{Deserialize, Serialize};

use crate::error::DeskError;
use crate::keystore::{self, KeyRole};

/// What `ozvi-desk init` prints and the operator enrols.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    /// Always 1.
    pub ozvi_enrolment: u32,
    /// The X25519 public key, base64url.
    pub x25519: String,
    /// The Ed25519 public key, base64url.
    pub ed25519: String,
}

impl Enrolment {
    /// The request for these keys.
    pub fn of(keys: &StaffPublic) -> Self {
        Self {
            ozvi_enrolment: 1,
            x25519: b64::encode(keys.x25519.as_bytes()),
            ed25519: b64::encode(&keys.ed25519.to_bytes()),
        }
    }

    /// The keys, checked as the directory will check them.
    pub fn keys(&self) -> Result<StaffPublic, DeskError> {
        let bad = || DeskError::Invalid("the enrolment request holds an invalid key".into());
        if self.ozvi_enrolment != 1 {
            return Err(DeskError::Invalid(
                "unknown enrolment request version".into(),
            ));
        }
        let x = b64::decode(&self.x25519).map_err(|_| bad())?;
        let ed = b64::decode(&self.ed25519).map_err(|_| bad())?;
        Ok(StaffPublic {
            x25519: X25519Public::from_bytes(&x).map_err(|_| bad())?,
            ed25519: Ed25519Public::from_bytes(&ed).map_err(|_| bad())?,
        })
    }

    /// A short fingerprint to compare aloud, e.g. over the phone, before
    /// enrolling: `3f2a-91c0-…` (80 bits of SHA-256 over both keys).
    pub fn fingerprint(keys: &StaffPublic) -> String {
        let digest = sha256(&[keys.x25519.as_bytes(), &keys.ed25519.to_bytes()]);
        digest[..10]
            .chunks(2)
            .map(|c| format!("{:02x}{:02x}", c[0], c[1]))
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// One centre of the sample directory.
#[derive(Debug, Clone, Copy)]
pub struct SampleCentre {
    /// The centre's id.
    pub id: &'static str,
    /// Its name in Czech, English and Ukrainian.
    pub names: [&'static str; 3],
    /// The regions it serves.
    pub regions: &'static [&'static str],
    /// The town of its sample address.
    pub town: &'static str,
    /// Its sample phone number: `+420 000 000` and three digits, a range no
    /// real Czech number uses.
    pub phone: &'static str,
}

/// The 15 intervention centres of the sample directory. Moravskoslezský kraj
/// has two. Addresses and phone numbers are sample data and say so.
pub const SAMPLE_CENTRES: [SampleCentre; 15] = [
    SampleCentre {
        id: "ic-praha",
        names: [
            "Intervenční centrum Praha",
            "Intervention Centre Prague",
            "Інтервенційний центр Прага",
        ],
        regions: &["CZ-10"],
        town: "Praha",
        phone: "+420 000 000 010",
    },
    SampleCentre {
        id: "ic-stredocesky",
        names: [
            "Intervenční centrum Středočeského kraje",
            "Intervention Centre of the Central Bohemian Region",
            "Інтервенційний центр Середньочеського краю",
        ],
        regions: &["CZ-20"],
        town: "Praha",
        phone: "+420 000 000 020",
    },
    SampleCentre {
        id: "ic-jihocesky",
        names: [
            "Intervenční centrum Jihočeského kraje",
            "Intervention Centre of the South Bohemian Region",
            "Інтервенційний центр Південночеського краю",
        ],
        regions: &["CZ-31"],
        town: "České Budějovice",
        phone: "+420 000 000 031",
    },
    SampleCentre {
        id: "ic-plzensky",
        names: [
            "Intervenční centrum Plzeňského kraje",
            "Intervention Centre of the Plzeň Region",
            "Інтервенційний центр Пльзенського краю",
        ],
        regions: &["CZ-32"],
        town: "Plzeň",
        phone: "+420 000 000 032",
    },
    SampleCentre {
        id: "ic-karlovarsky",
        names: [
            "Intervenční centrum Karlovarského kraje",
            "Intervention Centre of the Karlovy Vary Region",
            "Інтервенційний центр Карловарського краю",
        ],
        regions: &["CZ-41"],
        town: "Karlovy Vary",
        phone: "+420 000 000 041",
    },
    SampleCentre {
        id: "ic-ustecky",
        names: [
            "Intervenční centrum Ústeckého kraje",
            "Intervention Centre of the Ústí nad Labem Region",
            "Інтервенційний центр Устецького краю",
        ],
        regions: &["CZ-42"],
        town: "Ústí nad Labem",
        phone: "+420 000 000 042",
    },
    SampleCentre {
        id: "ic-liberecky",
        names: [
            "Intervenční centrum Libereckého kraje",
            "Intervention Centre of the Liberec Region",
            "Інтервенційний центр Ліберецького краю",
        ],
        regions: &["CZ-51"],
        town: "Liberec",
        phone: "+420 000 000 051",
    },
    SampleCentre {
        id: "ic-kralovehradecky",
        names: [
            "Intervenční centrum Královéhradeckého kraje",
            "Intervention Centre of the Hradec Králové Region",
            "Інтервенційний центр Краловоградецького краю",
        ],
        regions: &["CZ-52"],
        town: "Hradec Králové",
        phone: "+420 000 000 052",
    },
    SampleCentre {
        id: "ic-pardubicky",
        names: [
            "Intervenční centrum Pardubického kraje",
            "Intervention Centre of the Pardubice Region",
            "Інтервенційний центр Пардубицького краю",
        ],
        regions: &["CZ-53"],
        town: "Pardubice",
        phone: "+420 000 000 053",
    },
    SampleCentre {
        id: "ic-vysocina",
        names: [
            "Intervenční centrum Kraje Vysočina",
            "Intervention Centre of the Vysočina Region",
            "Інтервенційний центр краю Височина",
        ],
        regions: &["CZ-63"],
        town: "Jihlava",
        phone: "+420 000 000 063",
    },
    SampleCentre {
        id: "ic-jihomoravsky",
        names: [
            "Intervenční centrum Jihomoravského kraje",
            "Intervention Centre of the South Moravian Region",
            "Інтервенційний центр Південноморавського краю",
        ],
        regions: &["CZ-64"],
        town: "Brno",
        phone: "+420 000 000 064",
    },
    SampleCentre {
        id: "ic-olomoucky",
        names: [
            "Intervenční centrum Olomouckého kraje",
            "Intervention Centre of the Olomouc Region",
            "Інтервенційний центр Оломоуцького краю",
        ],
        regions: &["CZ-71"],
        town: "Olomouc",
        phone: "+420 000 000 071",
    },
    SampleCentre {
        id: "ic-zlin",
        names: [
            "Intervenční centrum Zlínského kraje",
            "Intervention Centre of the Zlín Region",
            "Інтервенційний центр Злінського краю",
        ],
        regions: &["CZ-72"],
        town: "Zlín",
        phone: "+420 000 000 072",
    },
    SampleCentre {
        id: "ic-ostrava",
        names: [
            "Intervenční centrum Ostrava",
            "Intervention Centre Ostrava",
            "Інтервенційний центр Острава",
        ],
        regions: &["CZ-80"],
        town: "Ostrava",
        phone: "+420 000 000 080",
    },
    SampleCentre {
        id: "ic-opava",
        names: [
            "Intervenční centrum Opava",
            "Intervention Centre Opava",
            "Інтервенційний центр Опава",
        ],
        regions: &["CZ-80"],
        town: "Opava",
        phone: "+420 000 000 081",
    },
];

/// The sample answer time (cs, en, uk), for every sample centre: an
/// operator replaces it with each centre's own.
pub const SAMPLE_ANSWER_TIME: [&str; 3] = [
    "Obvykle odpovídáme do jednoho pracovního dne; lidi po policejním vykázání kontaktujeme do 48 hodin.",
    "We usually reply within one working day. After a police eviction, we contact the person at risk within 48 hours.",
    "Зазвичай ми відповідаємо протягом одного робочого дня. Якщо поліція виселила кривдника зі спільного житла, ми зв’язуємося з постраждалою людиною протягом 48 годин.",
];

/// The sample acknowledgement (cs, en, uk) the person's page shows at once
/// after her first message. It says that it is automatic, so nobody takes it
/// for a person's answer.
pub const SAMPLE_ACKNOWLEDGEMENT: [&str; 3] = [
    "Děkujeme, vaši zprávu jsme dostali. Přečte ji pracovnice nebo pracovník intervenčního centra a odpoví vám tady v konverzaci. Vraťte se sem se svým kódem. Pokud jste v bezprostředním ohrožení, volejte 158 nebo 112. Toto je automatická zpráva.",
    "Thank you, we have received your message. A worker at the intervention centre will read it and reply to you here in the conversation. Come back here with your code. If you are in immediate danger, call 158 or 112. This is an automatic message.",
    "Дякуємо, ми отримали ваше повідомлення. Його прочитає працівниця або працівник інтервенційного центру й відповість вам тут, у розмові. Повертайтеся сюди зі своїм кодом. Якщо вам загрожує безпосередня небезпека, телефонуйте 158 або 112. Це автоматичне повідомлення.",
];

/// Sample opening hours (cs, en, uk), marked as sample data.
pub const SAMPLE_HOURS: [&str; 3] = [
    "Po–Pá 8:00–16:00 (ukázková data)",
    "Mon–Fri 8:00–16:00 (sample data)",
    "Пн–Пт 8:00–16:00 (зразкові дані)",
];

fn texts([cs, en, uk]: [&str; 3]) -> Texts {
    Texts {
        cs: cs.into(),
        en: en.into(),
        uk: uk.into(),
    }
}

/// Creates the operator's root key in a passphrase-protected file; returns
/// its public key.
pub fn create_root(path: &Path, passphrase: &str) -> Result<Ed25519Public, DeskError> {
    let root = Ed25519Secret::generate(&mut os_rng());
    let bytes = keystore::seal(
        KeyRole::Root,
        root.to_seed().as_ref(),
        passphrase,
        keystore::PARAMS,
    )?;
    keystore::write_new(path, &bytes, false)?;
    Ok(root.public())
}

/// Opens the root key file.
pub fn open_root(path: &Path, passphrase: &str) -> Result<Ed25519Secret, DeskError> {
    let bytes = keystore::read(path)?;
    let secret = keystore::open(&bytes, KeyRole::Root, passphrase)?;
    Ok(keystore::root_key(&secret)?)
}

/// Creates a staff keystore; returns the public keys.
pub fn create_staff_keystore(path: &Path, passphrase: &str) -> Result<StaffPublic, DeskError> {
    let keys = StaffKeys::generate(&mut os_rng());
    let bytes = keystore::seal(
        KeyRole::Staff,
        &keystore::staff_secret(&keys),
        passphrase,
        keystore::PARAMS,
    )?;
    keystore::write_new(path, &bytes, false)?;
    Ok(keys.public())
}

/// The sample directory: 15 centres, one staff member each whose keystore
/// is written to `keys_dir` as `<staff id>.ozvi-keys` under `passphrase`.
/// `ic-praha` is the default centre. Every centre has sample contact details
/// (an address on "Ukázková" street marked "ukázková data", a phone number
/// `+420 000 000 …`), the sample answer time and acknowledgement: the
/// operator replaces them in the draft (OPERATIONS.md).
pub fn sample(keys_dir: &Path, passphrase: &str) -> Result<Directory, DeskError> {
    let mut centres = Vec::with_capacity(SAMPLE_CENTRES.len());
    for centre in &SAMPLE_CENTRES {
        let staff_id = format!("{}-1", centre.id.trim_start_matches("ic-"));
        let keys =
            create_staff_keystore(&keys_dir.join(format!("{staff_id}.ozvi-keys")), passphrase)?;
        centres.push(centre.centre(StaffMember {
            id: staff_id,
            label: "Pracovnice 1".into(),
            keys,
        }));
    }
    let directory = Directory {
        version: 1,
        issued_at: 0,
        salt: DeploymentSalt::generate(&mut os_rng()),
        default_centre: "ic-praha".into(),
        centres,
    };
    Ok(directory)
}

impl SampleCentre {
    /// The directory's centre, with `staff` as its one staff member.
    pub fn centre(&self, staff: StaffMember) -> Centre {
        let [cs, en, uk] = self.names;
        Centre {
            id: self.id.into(),
            names: Names {
                cs: cs.into(),
                en: en.into(),
                uk: uk.into(),
            },
            regions: self.regions.iter().map(|r| r.to_string()).collect(),
            contact: Some(Contact {
                phone: self.phone.into(),
                address: format!("Ukázková 1, {} (ukázková data)", self.town),
                hours: texts(SAMPLE_HOURS),
            }),
            answer_time: Some(texts(SAMPLE_ANSWER_TIME)),
            acknowledgement: Some(texts(SAMPLE_ACKNOWLEDGEMENT)),
            staff: vec![staff],
        }
    }
}

/// Reads a draft; it must satisfy every rule of PROTOCOL.md §6.1.
pub fn read_draft(path: &Path) -> Result<Directory, DeskError> {
    let text = std::fs::read(path)
        .map_err(|e| DeskError::Io(format!("cannot read the draft {}: {e}", path.display())))?;
    ozvi_crypto::format::json::check_unique_names(&text).map_err(|_| {
        DeskError::Invalid(format!(
            "{} is not a directory draft: not JSON, or a member name is repeated",
            path.display()
        ))
    })?;
    let doc: DirectoryDoc = serde_json::from_slice(&text).map_err(|e| {
        DeskError::Invalid(format!("{} is not a directory draft: {e}", path.display()))
    })?;
    Directory::from_doc(doc)
        .map_err(|e| DeskError::Invalid(format!("the draft breaks a directory rule: {e}")))
}

/// Writes a draft (after checking it).
pub fn write_draft(path: &Path, directory: &Directory) -> Result<(), DeskError> {
    let doc = directory.to_doc();
    Directory::from_doc(doc.clone())
        .map_err(|e| DeskError::Invalid(format!("the change breaks a directory rule: {e}")))?;
    let mut text = serde_json::to_string_pretty(&doc).map_err(|_| DeskError::BadResponse)?;
    text.push('\n');
    keystore::write_new(path, text.as_bytes(), true).map_err(DeskError::from)
}

/// Adds a staff member to a centre.
pub fn add_staff(
    directory: &mut Directory,
    centre: &str,
    id: &str,
    label: &str,
    keys: StaffPublic,
) -> Result<(), DeskError> {
    if directory
        .centres
        .iter()
        .flat_map(|c| &c.staff)
        .any(|s| s.id == id)
    {
        return Err(DeskError::Invalid(format!(
            "staff id `{id}` is already used"
        )));
    }
    let centre = directory
        .centres
        .iter_mut()
        .find(|c| c.id == centre)
        .ok_or_else(|| DeskError::Invalid(format!("no centre `{centre}` in the draft")))?;
    centre.staff.push(StaffMember {
        id: id.into(),
        label: label.into(),
        keys,
    });
    Ok(())
}

/// Removes a staff member: new messages are no longer encrypted to her once
/// the signed directory is published.
pub fn remove_staff(directory: &mut Directory, id: &str) -> Result<(), DeskError> {
    for centre in &mut directory.centres {
        if let Some(i) = centre.staff.iter().position(|s| s.id == id) {
            if centre.staff.len() == 1 {
                return Err(DeskError::Invalid(format!(
                    "`{id}` is the last staff member of {}; enrol someone else first",
                    centre.id
                )));
            }
            centre.staff.remove(i);
            return Ok(());
        }
    }
    Err(DeskError::Invalid(format!(
        "no staff member `{id}` in the draft"
    )))
}

/// Signs the draft at `issued_at` and raises the draft's version.
pub fn sign(
    directory: &mut Directory,
    root: &Ed25519Secret,
    issued_at: u64,
) -> Result<SignedDirectory, DeskError> {
    directory.issued_at = issued_at;
    let signed = directory
        .sign(root)
        .map_err(|e| DeskError::Invalid(format!("the draft breaks a directory rule: {e}")))?;
    directory.version += 1;
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrolment_requests_round_trip_and_bad_keys_are_refused() {
        let keys = StaffKeys::generate(&mut os_rng()).public();
        let request = Enrolment::of(&keys);
        let json = serde_json::to_string(&request).expect("serializes");
        let back: Enrolment = serde_json::from_str(&json).expect("parses");
        assert_eq!(back.keys().expect("valid"), keys);
        assert_eq!(Enrolment::fingerprint(&keys).len(), 24);
        let mut bad = request.clone();
        bad.x25519 = b64::encode(&[0u8; 32]); // a low-order point
        assert!(bad.keys().is_err());
        assert!(serde_json::from_str::<Enrolment>(r#"{"x25519":"a"}"#).is_err());
    }

    #[test]
    fn every_sample_centre_has_sample_contact_details_an_answer_time_and_an_acknowledgement() {
        let mut rng = os_rng();
        let centres: Vec<Centre> = SAMPLE_CENTRES
            .iter()
            .map(|c| {
                c.centre(StaffMember {
                    id: format!("{}-1", c.id),
                    label: "Pracovnice 1".into(),
                    keys: StaffKeys::generate(&mut rng).public(),
                })
            })
            .collect();
        let directory = Directory {
            version: 1,
            issued_at: 0,
            salt: DeploymentSalt::generate(&mut rng),
            default_centre: "ic-praha".into(),
            centres,
        };
        let root = Ed25519Secret::generate(&mut rng);
        let signed = directory
            .sign(&root)
            .expect("the sample directory is valid");
        let verified = SignedDirectory::verify(signed.to_json().as_bytes(), &root.public(), None)
            .expect("verifies");
        assert_eq!(verified, directory);
        let mut phones = std::collections::BTreeSet::new();
        for c in &verified.centres {
            let contact = c.contact.as_ref().expect("contact details");
            // Sample data, and plainly so: no number a real line could have,
            // no real street.
            assert!(contact.phone.starts_with("+420 000 000 0"), "{}", c.id);
            assert!(phones.insert(contact.phone.clone()), "{} unique", c.id);
            assert!(contact.address.starts_with("Ukázková 1, "), "{}", c.id);
            assert!(contact.address.ends_with(" (ukázková data)"), "{}", c.id);
            assert!(contact.hours.cs.contains("ukázková data"));
            assert!(contact.hours.en.contains("sample data"));
            assert!(contact.hours.uk.contains("зразкові дані"));
            let answer = c.answer_time.as_ref().expect("an answer time");
            assert!(answer.cs.contains("do jednoho pracovního dne"));
            assert!(answer.cs.contains("48 hodin"));
            assert!(answer.en.contains("48 hours"));
            assert!(answer.uk.contains("48 годин"));
            // The acknowledgement says it is automatic, in her language.
            let ack = c.acknowledgement.as_ref().expect("an acknowledgement");
            assert!(ack.cs.starts_with("Děkujeme, vaši zprávu jsme dostali."));
            assert!(ack.cs.ends_with("Toto je automatická zpráva."));
            assert!(ack.en.ends_with("This is an automatic message."));
            assert!(ack.uk.ends_with("Це автоматичне повідомлення."));
        }
        assert_eq!(phones.len(), 15);
        let zlin = verified.centre("ic-zlin").expect("listed");
        assert_eq!(
            zlin.contact.as_ref().map(|c| c.phone.as_str()),
            Some("+420 000 000 072")
        );
        assert_eq!(
            zlin.contact.as_ref().map(|c| c.address.as_str()),
            Some("Ukázková 1, Zlín (ukázková data)")
        );
    }

    #[test]
    fn staff_are_added_removed_and_the_last_one_is_kept() {
        let mut rng = os_rng();
        let (cast, _) = ozvi_tests::cast::Cast::zlin(1, 1);
        let mut directory = cast.directory;
        assert!(
            remove_staff(&mut directory, "zlin-1").is_err(),
            "never an empty centre"
        );
        let two = StaffKeys::generate(&mut rng).public();
        add_staff(&mut directory, "ic-zlin", "zlin-2", "Pracovnice 2", two).expect("adds");
        assert!(add_staff(&mut directory, "ic-zlin", "zlin-2", "x", two).is_err());
        assert!(add_staff(&mut directory, "ic-nowhere", "x-1", "x", two).is_err());
        remove_staff(&mut directory, "zlin-1").expect("removes");
        assert_eq!(directory.centres[0].staff.len(), 1);
        let root = Ed25519Secret::generate(&mut rng);
        let signed = sign(&mut directory, &root, 5).expect("signs");
        assert_eq!(directory.version, 2, "the draft moves on");
        let verified =
            SignedDirectory::verify(signed.to_json().as_bytes(), &root.public(), None).expect("ok");
        assert_eq!((verified.version, verified.issued_at), (1, 5));
    }
}
