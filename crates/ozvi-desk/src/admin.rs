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
use ozvi_crypto::protocol::directory::{Centre, Names, StaffMember};
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

/// The 15 intervention centres of the sample directory: id, Czech, English
/// and Ukrainian names, regions. Moravskoslezský kraj has two.
pub const SAMPLE_CENTRES: [(&str, &str, &str, &str, &[&str]); 15] = [
    (
        "ic-praha",
        "Intervenční centrum Praha",
        "Intervention Centre Prague",
        "Інтервенційний центр Прага",
        &["CZ-10"],
    ),
    (
        "ic-stredocesky",
        "Intervenční centrum Středočeského kraje",
        "Intervention Centre of the Central Bohemian Region",
        "Інтервенційний центр Середньочеського краю",
        &["CZ-20"],
    ),
    (
        "ic-jihocesky",
        "Intervenční centrum Jihočeského kraje",
        "Intervention Centre of the South Bohemian Region",
        "Інтервенційний центр Південночеського краю",
        &["CZ-31"],
    ),
    (
        "ic-plzensky",
        "Intervenční centrum Plzeňského kraje",
        "Intervention Centre of the Plzeň Region",
        "Інтервенційний центр Пльзенського краю",
        &["CZ-32"],
    ),
    (
        "ic-karlovarsky",
        "Intervenční centrum Karlovarského kraje",
        "Intervention Centre of the Karlovy Vary Region",
        "Інтервенційний центр Карловарського краю",
        &["CZ-41"],
    ),
    (
        "ic-ustecky",
        "Intervenční centrum Ústeckého kraje",
        "Intervention Centre of the Ústí nad Labem Region",
        "Інтервенційний центр Устецького краю",
        &["CZ-42"],
    ),
    (
        "ic-liberecky",
        "Intervenční centrum Libereckého kraje",
        "Intervention Centre of the Liberec Region",
        "Інтервенційний центр Ліберецького краю",
        &["CZ-51"],
    ),
    (
        "ic-kralovehradecky",
        "Intervenční centrum Královéhradeckého kraje",
        "Intervention Centre of the Hradec Králové Region",
        "Інтервенційний центр Краловоградецького краю",
        &["CZ-52"],
    ),
    (
        "ic-pardubicky",
        "Intervenční centrum Pardubického kraje",
        "Intervention Centre of the Pardubice Region",
        "Інтервенційний центр Пардубицького краю",
        &["CZ-53"],
    ),
    (
        "ic-vysocina",
        "Intervenční centrum Kraje Vysočina",
        "Intervention Centre of the Vysočina Region",
        "Інтервенційний центр краю Височина",
        &["CZ-63"],
    ),
    (
        "ic-jihomoravsky",
        "Intervenční centrum Jihomoravského kraje",
        "Intervention Centre of the South Moravian Region",
        "Інтервенційний центр Південноморавського краю",
        &["CZ-64"],
    ),
    (
        "ic-olomoucky",
        "Intervenční centrum Olomouckého kraje",
        "Intervention Centre of the Olomouc Region",
        "Інтервенційний центр Оломоуцького краю",
        &["CZ-71"],
    ),
    (
        "ic-zlin",
        "Intervenční centrum Zlínského kraje",
        "Intervention Centre of the Zlín Region",
        "Інтервенційний центр Злінського краю",
        &["CZ-72"],
    ),
    (
        "ic-ostrava",
        "Intervenční centrum Ostrava",
        "Intervention Centre Ostrava",
        "Інтервенційний центр Острава",
        &["CZ-80"],
    ),
    (
        "ic-opava",
        "Intervenční centrum Opava",
        "Intervention Centre Opava",
        "Інтервенційний центр Опава",
        &["CZ-80"],
    ),
];

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
/// `ic-praha` is the default centre.
pub fn sample(keys_dir: &Path, passphrase: &str) -> Result<Directory, DeskError> {
    let mut centres = Vec::with_capacity(SAMPLE_CENTRES.len());
    for (id, cs, en, uk, regions) in SAMPLE_CENTRES {
        let staff_id = format!("{}-1", id.trim_start_matches("ic-"));
        let keys =
            create_staff_keystore(&keys_dir.join(format!("{staff_id}.ozvi-keys")), passphrase)?;
        centres.push(Centre {
            id: id.into(),
            names: Names {
                cs: cs.into(),
                en: en.into(),
                uk: uk.into(),
            },
            regions: regions.iter().map(|r| r.to_string()).collect(),
            staff: vec![StaffMember {
                id: staff_id,
                label: "Pracovnice 1".into(),
                keys,
            }],
        });
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
