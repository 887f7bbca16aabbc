#![cfg(not(target_arch = "wasm32"))]
//! Property tests of the protocol's round trips: codes, envelopes and the
//! signed directory, on random inputs.
//!
//! A person's keys come from `PersonKeys::from_root` (the HKDF half of the
//! derivation): `PersonKeys::derive` runs Argon2id with 19 MiB, far too slow
//! to repeat for every case. Case counts are kept modest so the file runs in
//! seconds in a debug build.

use ozvi_crypto::format::envelope::{Envelope, STANZA_LEN};
use ozvi_crypto::format::padding::bucket_for;
use ozvi_crypto::primitives::aead::{TAG_LEN, XNONCE_LEN};
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::protocol::code::{ALPHABET, SYMBOLS};
use ozvi_crypto::protocol::directory::{Contact, Names, REGIONS, Texts};
use ozvi_crypto::protocol::envelope::{Message, Signer, open, open_expecting, seal};
use ozvi_crypto::{
    Centre, Code, CodeError, DeploymentSalt, Directory, DirectoryError, Kind, MailboxId, OpenError,
    PersonKeys, Sender, SignedDirectory, StaffKeys, StaffMember,
};
use proptest::prelude::*;
use proptest::sample::Index;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// Frame bytes besides the body (PROTOCOL.md §4.4): role, Ed25519 key,
/// X25519 key (person only), msg_id, sent_at, body_len, signature.
const PERSON_FRAME_OVERHEAD: usize = 1 + 32 + 32 + 16 + 8 + 4 + 64;
const STAFF_FRAME_OVERHEAD: usize = 1 + 32 + 16 + 8 + 4 + 64;

fn centre_id(c: usize) -> String {
    format!("centre-{c}")
}

fn staff_id(c: usize, s: usize) -> String {
    format!("staff-{c}-{s}")
}

/// The same text in the three languages, marked with the language.
fn texts(text: &str) -> Texts {
    Texts {
        cs: format!("{text} (cs)"),
        en: format!("{text} (en)"),
        uk: format!("{text} (uk)"),
    }
}

/// A directory with one centre per entry of `staff`, listing those keys.
/// Regions are a random subset of the 14 per centre; contact details, an
/// answer time and an acknowledgement are each present or not at random.
fn directory(
    rng: &mut ChaCha20Rng,
    version: u64,
    issued_at: u64,
    default_centre: usize,
    staff: &[Vec<StaffKeys>],
) -> Directory {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let centres = staff
        .iter()
        .enumerate()
        .map(|(c, members)| Centre {
            id: centre_id(c),
            names: Names {
                cs: format!("Intervenční centrum {c}"),
                en: format!("Intervention centre {c}"),
                uk: format!("Інтервенційний центр {c}"),
            },
            regions: REGIONS
                .iter()
                .filter(|_| rng.next_u32() & 1 == 1)
                .map(|r| (*r).to_owned())
                .collect(),
            contact: (rng.next_u32() & 1 == 1).then(|| Contact {
                phone: format!("+420 000 000 {c:03}"),
                address: format!("Ukázková {c}, Zlín"),
                hours: texts("8–16"),
            }),
            answer_time: (rng.next_u32() & 1 == 1).then(|| texts("Do jednoho dne")),
            acknowledgement: (rng.next_u32() & 1 == 1).then(|| texts("Děkujeme")),
            staff: members
                .iter()
                .enumerate()
                .map(|(s, keys)| StaffMember {
                    id: staff_id(c, s),
                    label: format!("Pracovnice {s}"),
                    keys: keys.public(),
                })
                .collect(),
        })
        .collect();
    Directory {
        version,
        issued_at,
        salt: DeploymentSalt(salt),
        default_centre: centre_id(default_centre),
        centres,
    }
}

/// Everything one thread needs: a person, one centre's staff, its directory.
struct Thread {
    rng: ChaCha20Rng,
    person: PersonKeys,
    staff: Vec<StaffKeys>,
    directory: Directory,
}

impl Thread {
    fn new(seed: [u8; 32], root: [u8; 32], staff_count: usize) -> Self {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let staff: Vec<StaffKeys> = (0..staff_count)
            .map(|_| StaffKeys::generate(&mut rng))
            .collect();
        let directory = directory(&mut rng, 1, 1_700_000_000, 0, std::slice::from_ref(&staff));
        Self {
            rng,
            person: PersonKeys::from_root(&root),
            staff,
            directory,
        }
    }

    /// The centre's staff keys and the person's own.
    fn recipients(&self) -> Vec<ozvi_crypto::primitives::x25519::X25519Public> {
        let mut recipients = self.directory.centres[0].staff_x25519();
        recipients.push(self.person.public().x25519);
        recipients
    }

    /// Seals `body` in the person's thread, as the person (a person message)
    /// or as staff member `author` (a staff reply); returns the envelope, its
    /// kind and the sender `open` must report.
    fn seal(&mut self, staff_reply: bool, author: usize, body: &[u8]) -> (Vec<u8>, Kind, Sender) {
        let recipients = self.recipients();
        let mailbox = self.person.mailbox_id();
        let (signer, kind, sender) = if staff_reply {
            (
                Signer::Staff(&self.staff[author]),
                Kind::StaffReply,
                Sender::Staff {
                    centre: centre_id(0),
                    staff: staff_id(0, author),
                },
            )
        } else {
            (
                Signer::Person(&self.person),
                Kind::PersonMessage,
                Sender::Person(*self.person.public()),
            )
        };
        let message = Message {
            kind,
            mailbox: &mailbox,
            body,
            sent_at: 1_700_000_123,
        };
        let sealed = seal(&mut self.rng, signer, message, &recipients).expect("seals");
        (sealed, kind, sender)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn code_round_trip_and_every_substitution_is_caught(seed in any::<[u8; 32]>()) {
        let code = Code::generate(&mut ChaCha20Rng::from_seed(seed));
        let canonical = code.canonical();
        let grouped = code.grouped();
        prop_assert_eq!(canonical.len(), SYMBOLS);
        prop_assert!(canonical.bytes().all(|b| ALPHABET.contains(&b)));
        let groups: Vec<&str> = grouped.split('-').collect();
        prop_assert_eq!(groups.len(), 6);
        prop_assert!(groups.iter().all(|g| g.len() == 3));
        prop_assert_eq!(groups.concat(), canonical.as_str());

        prop_assert_eq!(Code::parse(&grouped), Ok(code.clone()));
        prop_assert_eq!(Code::parse(&canonical), Ok(code.clone()));
        prop_assert_eq!(Code::parse(&grouped.to_lowercase()), Ok(code.clone()));
        prop_assert_eq!(Code::parse(&grouped.replace('-', " ")), Ok(code.clone()));

        for position in 0..SYMBOLS {
            for &symbol in ALPHABET {
                let mut typo = canonical.as_bytes().to_vec();
                if typo[position] == symbol {
                    continue;
                }
                typo[position] = symbol;
                let typo = String::from_utf8(typo).expect("ASCII");
                prop_assert_eq!(
                    Code::parse(&typo),
                    Err(CodeError::CheckFailed),
                    "substitution at {} not caught", position
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn envelope_round_trip(
        seed in any::<[u8; 32]>(),
        root in any::<[u8; 32]>(),
        staff_count in 1..=8usize,
        body in prop::collection::vec(any::<u8>(), 0..3000),
        staff_reply in any::<bool>(),
        author in any::<Index>(),
        reader in any::<Index>(),
    ) {
        let mut thread = Thread::new(seed, root, staff_count);
        let author = author.index(staff_count);
        let reader = reader.index(staff_count);
        let (sealed, kind, sender) = thread.seal(staff_reply, author, &body);
        let mailbox = thread.person.mailbox_id();

        // Shape: canonical bytes, one stanza per recipient, the right bucket.
        let envelope = Envelope::parse(&sealed).expect("parses");
        prop_assert_eq!(envelope.to_bytes(), sealed.clone());
        prop_assert_eq!(envelope.kind, kind);
        prop_assert_eq!(envelope.stanzas.len(), staff_count + 1);
        let overhead = if staff_reply { STAFF_FRAME_OVERHEAD } else { PERSON_FRAME_OVERHEAD };
        let bucket = bucket_for(body.len() + overhead).expect("fits");
        prop_assert_eq!(envelope.bucket(), bucket);
        prop_assert_eq!(
            sealed.len(),
            3 + (staff_count + 1) * STANZA_LEN + XNONCE_LEN + bucket + TAG_LEN
        );

        // The person and a random staff member both open it.
        for key in [thread.person.x25519(), thread.staff[reader].x25519()] {
            let opened = open(&sealed, &mailbox, key, &thread.directory).expect("opens");
            prop_assert_eq!(opened.kind, kind);
            prop_assert_eq!(&opened.sender, &sender);
            prop_assert_eq!(opened.sent_at, 1_700_000_123);
            prop_assert_eq!(&opened.body, &body);
        }

        // It belongs to this thread, this kind and these recipients only.
        let key = thread.staff[reader].x25519();
        let other_kind = if staff_reply { Kind::PersonMessage } else { Kind::StaffReply };
        prop_assert_eq!(
            open_expecting(other_kind, &sealed, &mailbox, key, &thread.directory),
            Err(OpenError::UnexpectedKind)
        );
        let mut other_mailbox = mailbox;
        other_mailbox.0[0] ^= 1;
        prop_assert_eq!(
            open(&sealed, &other_mailbox, key, &thread.directory),
            Err(OpenError::DecryptionFailed)
        );
        let outsider = StaffKeys::generate(&mut thread.rng);
        prop_assert_eq!(
            open(&sealed, &mailbox, outsider.x25519(), &thread.directory),
            Err(OpenError::NoMatchingKey)
        );
    }

    #[test]
    fn directory_sign_verify_round_trip(
        seed in any::<[u8; 32]>(),
        version in 1..u64::MAX,
        issued_at in any::<u64>(),
        staff_counts in prop::collection::vec(1..=3usize, 1..=4),
        default_centre in any::<Index>(),
    ) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let staff: Vec<Vec<StaffKeys>> = staff_counts
            .iter()
            .map(|&n| (0..n).map(|_| StaffKeys::generate(&mut rng)).collect())
            .collect();
        let default_centre = default_centre.index(staff.len());
        let dir = directory(&mut rng, version, issued_at, default_centre, &staff);
        let root = Ed25519Secret::generate(&mut rng);
        let json = dir.sign(&root).expect("a valid directory signs").to_json();

        let verified = SignedDirectory::verify(json.as_bytes(), &root.public(), None);
        prop_assert_eq!(verified.as_ref(), Ok(&dir));
        prop_assert_eq!(
            SignedDirectory::verify(json.as_bytes(), &root.public(), Some(&dir)),
            Ok(dir.clone())
        );
        // A pinned newer version makes this one a rollback.
        let mut newer = dir.clone();
        newer.version += 1;
        prop_assert_eq!(
            SignedDirectory::verify(json.as_bytes(), &root.public(), Some(&newer)),
            Err(DirectoryError::Rollback)
        );
        // Every listed staff key is found again.
        let verified = verified.expect("verified");
        for (c, members) in staff.iter().enumerate() {
            for (s, keys) in members.iter().enumerate() {
                let (centre, member) = verified
                    .staff_by_ed25519(&keys.public().ed25519)
                    .expect("listed");
                prop_assert_eq!(&centre.id, &centre_id(c));
                prop_assert_eq!(&member.id, &staff_id(c, s));
            }
        }

        let other_root = Ed25519Secret::generate(&mut rng);
        prop_assert_eq!(
            SignedDirectory::verify(json.as_bytes(), &other_root.public(), None),
            Err(DirectoryError::BadSignature)
        );
    }
}

/// The only errors a tampered envelope may give: it never decrypts, so it
/// never reaches the frame or signature checks.
fn is_rejected_before_decryption(result: &Result<ozvi_crypto::Opened, OpenError>) -> bool {
    matches!(
        result,
        Err(OpenError::Malformed
            | OpenError::UnsupportedVersion
            | OpenError::NoMatchingKey
            | OpenError::DecryptionFailed)
    )
}

/// What a flipped byte at `position` may do to the reader whose stanza is
/// number `reader`: in envelope format 2 the stanzas are not associated data,
/// so a change inside *another* recipient's stanza leaves her message exactly
/// as it was (or makes the envelope malformed); any other change is rejected
/// before decryption.
fn tamper_holds(
    original: &ozvi_crypto::Opened,
    position: usize,
    (reader, stanzas): (usize, usize),
    result: &Result<ozvi_crypto::Opened, OpenError>,
) -> bool {
    let in_other_stanza =
        (3..3 + stanzas * STANZA_LEN).contains(&position) && (position - 3) / STANZA_LEN != reader;
    (in_other_stanza && result.as_ref() == Ok(original)) || is_rejected_before_decryption(result)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn flipping_any_byte_makes_open_fail(
        seed in any::<[u8; 32]>(),
        root in any::<[u8; 32]>(),
        staff_count in 1..=4usize,
        body in prop::collection::vec(any::<u8>(), 0..1500),
        staff_reply in any::<bool>(),
        in_header in any::<bool>(),
        position in any::<Index>(),
        mask in 1..=255u8,
        by_person in any::<bool>(),
    ) {
        let mut thread = Thread::new(seed, root, staff_count);
        let (mut sealed, _, _) = thread.seal(staff_reply, 0, &body);
        // Half the cases aim at the header (version, kind, count, stanzas,
        // nonce), which is a small part of the envelope.
        let header_len = 3 + (staff_count + 1) * STANZA_LEN + XNONCE_LEN;
        let position = position.index(if in_header { header_len } else { sealed.len() });
        let (key, reader) = if by_person {
            (thread.person.x25519(), staff_count)
        } else {
            (thread.staff[staff_count - 1].x25519(), staff_count - 1)
        };
        let mailbox = thread.person.mailbox_id();
        let original = open(&sealed, &mailbox, key, &thread.directory).expect("opens");
        sealed[position] ^= mask;
        let result = open(&sealed, &mailbox, key, &thread.directory);
        prop_assert!(
            tamper_holds(&original, position, (reader, staff_count + 1), &result),
            "byte {} ^ {:#04x} of {}: {:?}", position, mask, header_len, result
        );
    }
}

/// Deterministically, every byte of one envelope's header and every 7th
/// byte of its payload, each flipped in its lowest and highest bit.
#[test]
fn flipping_each_header_byte_makes_open_fail() {
    let mut thread = Thread::new([7; 32], [9; 32], 2);
    let (sealed, _, _) = thread.seal(false, 0, b"{\"text\":\"hello\"}");
    let mailbox: MailboxId = thread.person.mailbox_id();
    let key = thread.staff[1].x25519();
    let original = open(&sealed, &mailbox, key, &thread.directory).expect("opens");
    let header_len = 3 + 3 * STANZA_LEN + XNONCE_LEN;
    let positions = (0..header_len).chain((header_len..sealed.len()).step_by(7));
    let (mut checked, mut unbound) = (0, 0);
    for position in positions {
        for mask in [0x01, 0x80] {
            let mut tampered = sealed.clone();
            tampered[position] ^= mask;
            let result = open(&tampered, &mailbox, key, &thread.directory);
            assert!(
                tamper_holds(&original, position, (1, 3), &result),
                "byte {position} ^ {mask:#04x}: {result:?}"
            );
            unbound += usize::from(result.is_ok());
            checked += 1;
        }
    }
    assert!(checked > 2 * header_len);
    // Exactly the other two stanzas (key id, ephemeral and wrapped key of
    // the colleague's and the person's) are not bound, minus the flips that
    // make an ephemeral key non-canonical.
    assert!(unbound > 0 && unbound <= 2 * 2 * STANZA_LEN, "{unbound}");
}
