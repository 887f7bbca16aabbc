#![cfg(not(target_arch = "wasm32"))]
//! Each reader of `ozvi-crypto` accepts exactly what PROTOCOL.md allows and
//! nothing more. These tests were written against the mutants that
//! `cargo xtask mutants` found surviving (crates/ozvi-crypto/MUTANTS.md):
//! every one pins a boundary or a rule that a one-rule relaxation of a reader
//! (a `<=` for a `<`, an `||` for an `&&`, a check that always passes) would
//! break, so such a relaxation now fails a test.

use ozvi_crypto::format::envelope::{Envelope, MAX_ENVELOPE_LEN, MAX_RECIPIENTS, STANZA_LEN};
use ozvi_crypto::format::frame::{Frame, FrameSigner};
use ozvi_crypto::format::padding::{self, BUCKETS, MAX_DATA_LEN};
use ozvi_crypto::format::{b64, directory::SignedDirectoryDoc};
use ozvi_crypto::hazmat;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::primitives::x25519::X25519Public;
use ozvi_crypto::protocol::directory::{
    Contact, MAX_MESSAGE_CHARS, MAX_SIGNED_LEN, MAX_STAFF_PER_CENTRE, MAX_TEXT_CHARS, Names, Texts,
};
use ozvi_crypto::protocol::envelope::{Message, Signer, open, seal};
use ozvi_crypto::protocol::pow;
use ozvi_crypto::protocol::request::{MAX_TARGET_LEN, REPLAY_WINDOW_SECS, RequestAuth};
use ozvi_crypto::{
    AuthSecret, Centre, Code, CodeError, DeploymentSalt, Directory, DirectoryError, Kind,
    MailboxId, OpenError, ParseError, PersonKeys, RequestError, SealError, SignedDirectory,
    StaffKeys, StaffMember,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A centre `ic` whose staff are `staff`, as `s-0`, `s-1`, … labelled `S`.
fn centre_of(staff: &[StaffKeys]) -> Centre {
    Centre {
        id: "ic".into(),
        names: Names {
            cs: "IC".into(),
            en: "IC".into(),
            uk: "IC".into(),
        },
        regions: vec![],
        contact: None,
        answer_time: None,
        acknowledgement: None,
        staff: staff
            .iter()
            .enumerate()
            .map(|(i, k)| StaffMember {
                id: format!("s-{i}"),
                label: "S".into(),
                keys: k.public(),
            })
            .collect(),
    }
}

/// A directory of [`centre_of`] `staff` alone, under the salt `[salt; 16]`.
fn directory_of(staff: &[StaffKeys], salt: u8) -> Directory {
    Directory {
        version: 1,
        issued_at: 0,
        salt: DeploymentSalt([salt; 16]),
        default_centre: "ic".into(),
        centres: vec![centre_of(staff)],
    }
}

// ------------------------------------------------------------------ codes

mod codes {
    use super::*;

    #[test]
    fn generated_codes_use_the_whole_alphabet() {
        // A generator that masked every symbol to one value (or a constant
        // code) would still produce codes that parse.
        let mut r = rng(11);
        let mut seen = std::collections::BTreeSet::new();
        let mut codes = std::collections::BTreeSet::new();
        for _ in 0..40 {
            let code = Code::generate(&mut r);
            let canonical = code.canonical();
            seen.extend(canonical[..17].chars());
            codes.insert(canonical.to_string());
            assert_eq!(Code::parse(&canonical).as_ref(), Ok(&code));
        }
        assert_eq!(codes.len(), 40, "every code is new");
        assert_eq!(seen.len(), 32, "every symbol occurs: {seen:?}");
    }

    #[test]
    fn every_dash_and_invisible_character_is_a_separator_and_nothing_else_is() {
        let code = Code::generate(&mut rng(12));
        let grouped = code.grouped();
        for sep in [
            "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2015}", "\u{200B}",
            "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}", " ", "\t", "\u{00A0}",
        ] {
            let typed = grouped.replace('-', sep);
            assert_eq!(
                Code::parse(&typed).as_ref(),
                Ok(&code),
                "{:?} separates groups",
                sep
            );
        }
        // Characters just outside those ranges, and other punctuation, are
        // not separators: they are invalid characters at position 4.
        for sep in [
            "\u{200F}",
            "\u{2016}",
            "\u{200E}",
            "\u{2061}",
            "\u{2009}\u{2016}",
            "_",
            ".",
            "/",
            "\u{2212}",
        ] {
            let typed = grouped.replacen('-', sep, 1);
            assert_eq!(
                Code::parse(&typed),
                Err(CodeError::InvalidCharacter { position: 4 }),
                "{sep:?} is not a separator"
            );
        }
    }

    #[test]
    fn one_symbol_too_many_or_too_few_is_refused() {
        let code = Code::generate(&mut rng(13));
        let canonical = code.canonical();
        assert_eq!(
            Code::parse(&canonical[..17]),
            Err(CodeError::WrongLength { found: 17 })
        );
        assert_eq!(
            Code::parse(&format!("{}0", canonical.as_str())),
            Err(CodeError::WrongLength { found: 19 })
        );
        // An invalid character after 18 symbols is still reported where it is.
        assert_eq!(
            Code::parse(&format!("{}U", canonical.as_str())),
            Err(CodeError::InvalidCharacter { position: 19 })
        );
    }

    #[test]
    fn a_wrong_check_symbol_is_refused_for_every_other_value() {
        let code = Code::generate(&mut rng(14));
        let canonical = code.canonical();
        let alphabet = ozvi_crypto::protocol::code::ALPHABET;
        let mut accepted = 0;
        for &symbol in alphabet {
            let typed = format!("{}{}", &canonical[..17], char::from(symbol));
            if Code::parse(&typed).is_ok() {
                accepted += 1;
            } else {
                assert_eq!(Code::parse(&typed), Err(CodeError::CheckFailed));
            }
        }
        assert_eq!(accepted, 1, "exactly one check symbol fits the data");
    }
}

// ---------------------------------------------------------------- padding

mod paddings {
    use super::*;

    #[test]
    fn data_that_fills_its_bucket_exactly_unpads() {
        for bucket in BUCKETS {
            let data = vec![0xa5; bucket - 4];
            let padded = padding::pad(&data).expect("fits");
            assert_eq!(padded.len(), bucket);
            assert_eq!(padding::unpad(&padded), Ok(&data[..]));
        }
        assert_eq!(
            padding::pad(&vec![1; MAX_DATA_LEN]).map(|p| p.len()),
            Some(73728)
        );
    }

    #[test]
    fn padding_bytes_that_cancel_out_are_still_refused() {
        // Two equal non-zero padding bytes: an XOR accumulator would see 0.
        let mut padded = padding::pad(b"hello").expect("fits");
        padded[200] = 0x41;
        padded[300] = 0x41;
        assert_eq!(padding::unpad(&padded), Err(ParseError::Invalid));
        // A non-zero byte right after the data, and in the last byte.
        for at in [4 + 5, padded.len() - 1] {
            let mut padded = padding::pad(b"hello").expect("fits");
            padded[at] = 0x80;
            assert_eq!(padding::unpad(&padded), Err(ParseError::Invalid), "{at}");
        }
    }

    #[test]
    fn only_bucket_lengths_and_fitting_lengths_unpad() {
        for bucket in BUCKETS {
            for len in [bucket - 1, bucket + 1] {
                let mut padded = vec![0; len];
                padded[3] = 1;
                assert_eq!(padding::unpad(&padded), Err(ParseError::Length), "{len}");
            }
            // A length one beyond the space in the bucket.
            let mut padded = vec![0; bucket];
            let too_long = u32::try_from(bucket - 3).expect("small");
            padded[..4].copy_from_slice(&too_long.to_be_bytes());
            assert_eq!(padding::unpad(&padded), Err(ParseError::Length));
        }
        assert_eq!(padding::unpad(&[]), Err(ParseError::Length));
    }

    #[test]
    fn bucket_for_is_the_smallest_fitting_bucket() {
        assert_eq!(padding::bucket_for(0), Some(1152));
        assert_eq!(padding::bucket_for(1148), Some(1152));
        assert_eq!(padding::bucket_for(1149), Some(4608));
        assert_eq!(padding::bucket_for(MAX_DATA_LEN), Some(73728));
        assert_eq!(padding::bucket_for(MAX_DATA_LEN + 1), None);
    }
}

// ----------------------------------------------------------------- base64

mod base64url {
    use super::*;

    #[test]
    fn encoding_is_unpadded_url_safe_and_decodes_back() {
        assert_eq!(b64::encode(&[]), "");
        assert_eq!(b64::encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64::encode(b"ozvi"), "b3p2aQ");
        assert_eq!(b64::decode("b3p2aQ"), Ok(b"ozvi".to_vec()));
        assert_eq!(b64::decode(""), Ok(Vec::new()));
        assert_eq!(b64::decode_array::<4>("b3p2aQ"), Ok(*b"ozvi"));
        assert_eq!(b64::decode_array::<5>("b3p2aQ"), Err(ParseError::Length));
        for bad in [
            "b3p2aQ==", "b3p2aR", "b3p2a", "b3p2aQ\n", "b3p+aQ", "b3p2aQ=", "é",
        ] {
            assert!(b64::decode(bad).is_err(), "{bad:?} is not canonical");
        }
    }
}

// --------------------------------------------------------------- requests

mod requests {
    use super::*;

    const NOW: u64 = 1_795_435_200;

    fn staff() -> StaffKeys {
        StaffKeys::generate(&mut rng(40))
    }

    fn salt() -> DeploymentSalt {
        DeploymentSalt([7; 16])
    }

    fn sign(method: &str, target: &str, ts: u64) -> Result<RequestAuth, RequestError> {
        RequestAuth::sign(&mut rng(41), &staff(), &salt(), method, target, b"{}", ts)
    }

    /// Round-trips through the header values, as the relay receives them.
    fn received(auth: &RequestAuth) -> RequestAuth {
        let [key, ts, nonce, sig] = auth.to_headers();
        assert_eq!(
            [key.0, ts.0, nonce.0, sig.0],
            ["ozvi-key", "ozvi-timestamp", "ozvi-nonce", "ozvi-signature"]
        );
        RequestAuth::from_headers(&key.1, &ts.1, &nonce.1, &sig.1).expect("canonical headers")
    }

    #[test]
    fn headers_round_trip_and_verify() {
        let auth = sign("POST", "/staff/threads?x=1", NOW).expect("signs");
        let got = received(&auth);
        assert_eq!(got, auth);
        assert_eq!(got.key, staff().public().ed25519);
        assert_eq!(
            got.verify(&salt(), "POST", "/staff/threads?x=1", b"{}", NOW),
            Ok(())
        );
        // Every other deployment, method, target or body is refused.
        assert_eq!(
            got.verify(
                &DeploymentSalt([8; 16]),
                "POST",
                "/staff/threads?x=1",
                b"{}",
                NOW
            ),
            Err(RequestError::BadSignature)
        );
        assert_eq!(
            got.verify(&salt(), "PUT", "/staff/threads?x=1", b"{}", NOW),
            Err(RequestError::BadSignature)
        );
        assert_eq!(
            got.verify(&salt(), "POST", "/staff/threads?x=2", b"{}", NOW),
            Err(RequestError::BadSignature)
        );
        assert_eq!(
            got.verify(&salt(), "POST", "/staff/threads?x=1", b"{ }", NOW),
            Err(RequestError::BadSignature)
        );
    }

    #[test]
    fn a_signature_with_any_flipped_bit_is_refused() {
        let auth = sign("GET", "/staff/inbox", NOW).expect("signs");
        for bit in [0, 7, 100, 255, 256, 300, 500, 511] {
            let mut forged = auth.clone();
            forged.signature[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                forged.verify(&salt(), "GET", "/staff/inbox", b"{}", NOW),
                Err(RequestError::BadSignature),
                "bit {bit}"
            );
        }
        let mut other_nonce = auth.clone();
        other_nonce.nonce[0] ^= 1;
        assert_eq!(
            other_nonce.verify(&salt(), "GET", "/staff/inbox", b"{}", NOW),
            Err(RequestError::BadSignature)
        );
        let mut other_time = auth;
        other_time.timestamp += 1;
        assert_eq!(
            other_time.verify(&salt(), "GET", "/staff/inbox", b"{}", NOW),
            Err(RequestError::BadSignature)
        );
    }

    #[test]
    fn the_window_is_inclusive_on_both_sides() {
        for (ts, now, ok) in [
            (NOW, NOW + REPLAY_WINDOW_SECS, true),
            (NOW, NOW - REPLAY_WINDOW_SECS, true),
            (NOW, NOW + REPLAY_WINDOW_SECS + 1, false),
            (NOW, NOW - REPLAY_WINDOW_SECS - 1, false),
        ] {
            let auth = sign("GET", "/staff/inbox", ts).expect("signs");
            let result = auth.verify(&salt(), "GET", "/staff/inbox", b"{}", now);
            if ok {
                assert_eq!(result, Ok(()), "{ts} at {now}");
            } else {
                assert_eq!(result, Err(RequestError::Stale), "{ts} at {now}");
            }
        }
    }

    #[test]
    fn timestamps_are_canonical_decimal_only() {
        let auth = sign("GET", "/staff/inbox", 0).expect("signs");
        let [key, _, nonce, sig] = auth.to_headers();
        let parse = |ts: &str| RequestAuth::from_headers(&key.1, ts, &nonce.1, &sig.1);
        assert_eq!(parse("0").map(|a| a.timestamp), Ok(0));
        assert_eq!(parse("7").map(|a| a.timestamp), Ok(7));
        assert_eq!(
            parse("18446744073709551615").map(|a| a.timestamp),
            Ok(u64::MAX)
        );
        for bad in [
            "",
            "00",
            "07",
            "+7",
            "-7",
            " 7",
            "7 ",
            "7.0",
            "1e3",
            "18446744073709551616",
            "118446744073709551615",
            "٣",
        ] {
            assert_eq!(
                parse(bad).map(|a| a.timestamp),
                Err(RequestError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn key_nonce_and_signature_headers_are_canonical_base64url_of_the_right_length() {
        let auth = sign("GET", "/staff/inbox", NOW).expect("signs");
        let [key, ts, nonce, sig] = auth.to_headers();
        let key_bytes = b64::decode(&key.1).expect("b64");
        let padded = format!("{}=", key.1);
        let short_nonce = b64::encode(&[1; 15]);
        let long_sig = b64::encode(&[1; 65]);
        let weak_key = b64::encode(&[0; 32]);
        let std_alphabet = key.1.replace('-', "+").replace('_', "/");
        let padded_nonce = format!("{}=", nonce.1);
        let cases: Vec<[&str; 4]> = vec![
            [&padded, &ts.1, &nonce.1, &sig.1],
            [&weak_key, &ts.1, &nonce.1, &sig.1],
            [&key.1, &ts.1, &short_nonce, &sig.1],
            [&key.1, &ts.1, &nonce.1, &long_sig],
            [&key.1, &ts.1, &padded_nonce, &sig.1],
        ];
        for [k, t, n, s] in cases {
            assert_eq!(
                RequestAuth::from_headers(k, t, n, s),
                Err(RequestError::Malformed),
                "{k} {t} {n} {s}"
            );
        }
        if std_alphabet != key.1 {
            assert_eq!(
                RequestAuth::from_headers(&std_alphabet, &ts.1, &nonce.1, &sig.1),
                Err(RequestError::Malformed)
            );
        }
        assert_eq!(key_bytes.len(), 32);
    }

    #[test]
    fn methods_and_targets_outside_the_grammar_cannot_be_signed_or_verified() {
        let long_target = format!("/{}", "a".repeat(MAX_TARGET_LEN - 1));
        assert!(sign("GET", &long_target, NOW).is_ok(), "2048 bytes");
        assert!(sign("ABCDEFGHIJKLMNOP", "/", NOW).is_ok(), "16 letters");
        let too_long = format!("{long_target}a");
        for (method, target) in [
            ("", "/"),
            ("get", "/"),
            ("GEt", "/"),
            ("G1", "/"),
            ("ABCDEFGHIJKLMNOPQ", "/"),
            ("GET", ""),
            ("GET", "staff"),
            ("GET", "/a b"),
            ("GET", "/a\u{7f}"),
            ("GET", "/é"),
            ("GET", "/a\n"),
            ("GET", too_long.as_str()),
        ] {
            assert_eq!(
                sign(method, target, NOW),
                Err(RequestError::Malformed),
                "{method:?} {target:?}"
            );
            let auth = sign("GET", "/", NOW).expect("signs");
            assert_eq!(
                auth.verify(&salt(), method, target, b"{}", NOW),
                Err(RequestError::Malformed),
                "{method:?} {target:?}"
            );
        }
    }
}

// ------------------------------------------------------------ proof of work

mod proof_of_work {
    use super::*;
    use sha2::{Digest, Sha256};

    /// A challenge whose nonce 0 has exactly 32 leading zero bits: found once
    /// by 2^32 hashes (a throwaway search over `"ozvi-pow-32-" ‖ counter`), so
    /// that the highest difficulty can be tested in microseconds.
    fn thirty_two_bit_challenge() -> Vec<u8> {
        let mut challenge = b"ozvi-pow-32-".to_vec();
        challenge.extend_from_slice(&0x0000_0001_42cd_4027u64.to_be_bytes());
        challenge
    }

    #[test]
    fn the_highest_difficulty_is_solvable_and_one_more_is_not() {
        let challenge = thirty_two_bit_challenge();
        assert_eq!(pow::leading_zero_bits(&pow::digest(&challenge, 0)), 32);
        assert!(pow::verify(&challenge, pow::MAX_DIFFICULTY, 0));
        assert_eq!(pow::solve(&challenge, pow::MAX_DIFFICULTY), Some(0));
        assert!(!pow::verify(&challenge, pow::MAX_DIFFICULTY + 1, 0));
        assert_eq!(pow::solve(&challenge, pow::MAX_DIFFICULTY + 1), None);
    }

    #[test]
    fn the_digest_is_sha256_of_label_challenge_and_big_endian_nonce() {
        let challenge = b"a challenge";
        let nonce = 0x0102_0304_0506_0708u64;
        let mut hasher = Sha256::new();
        hasher.update(b"ozvi/v1/pow");
        hasher.update(challenge);
        hasher.update([1, 2, 3, 4, 5, 6, 7, 8]);
        let expected: [u8; 32] = hasher.finalize().into();
        assert_eq!(pow::digest(challenge, nonce), expected);
    }

    #[test]
    fn a_nonce_with_exactly_the_difficulty_solves_it_and_one_bit_more_does_not() {
        let challenge = b"exact";
        for d in [1u8, 5, 8, 9] {
            let nonce = (0u64..)
                .find(|&n| pow::leading_zero_bits(&pow::digest(challenge, n)) == u32::from(d))
                .expect("found");
            assert!(pow::verify(challenge, d, nonce), "difficulty {d}");
            assert!(pow::verify(challenge, d - 1, nonce), "difficulty {d} - 1");
            assert!(!pow::verify(challenge, d + 1, nonce), "difficulty {d} + 1");
            assert!(pow::solve(challenge, d).expect("solvable") <= nonce);
        }
    }

    #[test]
    fn leading_zero_bits_of_a_few_digests() {
        let mut d = [0xffu8; 32];
        assert_eq!(pow::leading_zero_bits(&d), 0);
        d[0] = 0;
        d[1] = 0;
        d[2] = 1;
        assert_eq!(pow::leading_zero_bits(&d), 23);
        d[2] = 0x80;
        assert_eq!(pow::leading_zero_bits(&d), 16);
    }
}

// ------------------------------------------------------------------- keys

mod keys {
    use super::*;

    #[test]
    fn auth_verifiers_are_equal_only_for_the_same_secret() {
        let a = AuthSecret::from_bytes([1; 32]);
        let b = AuthSecret::from_bytes([2; 32]);
        assert_eq!(a.expose(), &[1; 32]);
        assert!(a.verifier() == AuthSecret::from_bytes([1; 32]).verifier());
        assert!(a.verifier() != b.verifier());
        let mut last_bit = [1; 32];
        last_bit[31] ^= 0x80;
        assert!(a.verifier() != AuthSecret::from_bytes(last_bit).verifier());
    }

    #[test]
    fn debug_output_carries_no_secret_or_identifier() {
        let person = PersonKeys::from_root(&[3; 32]);
        let staff = StaffKeys::generate(&mut rng(50));
        let mailbox = person.mailbox_id();
        assert_eq!(format!("{mailbox:?}"), "MailboxId(..)");
        assert_eq!(format!("{:?}", person.auth_secret()), "AuthSecret(..)");
        assert_eq!(
            format!("{:?}", person.auth_secret().verifier()),
            "AuthVerifier(..)"
        );
        assert_eq!(format!("{person:?}"), "PersonKeys(..)");
        assert_eq!(format!("{staff:?}"), "StaffKeys(..)");
        let salt = DeploymentSalt([0xfb; 16]);
        assert_eq!(
            format!("{salt:?}"),
            "DeploymentSalt(-_v7-_v7-_v7-_v7-_v7-w)"
        );
    }

    #[test]
    fn generated_keys_and_salts_are_fresh_and_stored_keys_come_back() {
        let mut r = rng(51);
        assert_ne!(
            DeploymentSalt::generate(&mut r),
            DeploymentSalt::generate(&mut r)
        );
        let staff = StaffKeys::generate(&mut r);
        let other = StaffKeys::generate(&mut r);
        assert_ne!(staff.public(), other.public());
        assert_ne!(staff.public().x25519, other.public().x25519);
        let (x, ed) = staff.to_bytes();
        let restored = StaffKeys::from_bytes(*x, &ed);
        assert_eq!(restored.public(), staff.public());
        assert_eq!(restored.x25519().public(), staff.public().x25519);
    }

    #[test]
    fn mailbox_ids_round_trip_through_base64url_only_at_16_bytes() {
        let mailbox = PersonKeys::from_root(&[4; 32]).mailbox_id();
        let text = mailbox.to_b64();
        assert_eq!(text.len(), 22);
        assert_eq!(MailboxId::from_b64(&text), Ok(mailbox));
        assert_eq!(
            MailboxId::from_b64(&b64::encode(&[0; 15])),
            Err(ParseError::Length)
        );
        assert_eq!(
            MailboxId::from_b64(&format!("{text}==")),
            Err(ParseError::Base64)
        );
    }

    #[test]
    fn a_persons_keys_come_from_her_root_only() {
        let a = PersonKeys::from_root(&[5; 32]);
        let b = PersonKeys::from_root(&[6; 32]);
        let again = PersonKeys::from_root(&[5; 32]);
        assert_eq!(a.public(), again.public());
        assert_eq!(a.mailbox_id(), again.mailbox_id());
        assert_eq!(a.mailbox_id(), a.public().mailbox_id());
        assert_ne!(a.mailbox_id(), b.mailbox_id());
        assert_eq!(a.x25519().public(), a.public().x25519);
        assert!(a.auth_secret().verifier() != b.auth_secret().verifier());
        assert_ne!(a.auth_secret().expose(), &[0; 32]);
    }
}

// -------------------------------------------------------------- directory

mod directories {
    use super::*;

    fn names(n: &str) -> Names {
        Names {
            cs: n.into(),
            en: n.into(),
            uk: n.into(),
        }
    }

    fn member(id: &str, keys: &StaffKeys) -> StaffMember {
        StaffMember {
            id: id.into(),
            label: "Pracovnice".into(),
            keys: keys.public(),
        }
    }

    struct Fixture {
        root: Ed25519Secret,
        zlin: StaffKeys,
        praha: StaffKeys,
        directory: Directory,
    }

    fn fixture() -> Fixture {
        let mut r = rng(60);
        let root = Ed25519Secret::generate(&mut r);
        let zlin = StaffKeys::generate(&mut r);
        let praha = StaffKeys::generate(&mut r);
        let directory = Directory {
            version: 3,
            issued_at: 1_795_435_200,
            salt: DeploymentSalt([9; 16]),
            default_centre: "ic-praha".into(),
            centres: vec![
                Centre {
                    id: "ic-zlin".into(),
                    names: names("Zlín"),
                    regions: vec!["CZ-72".into()],
                    contact: None,
                    answer_time: None,
                    acknowledgement: None,
                    staff: vec![member("zlin-1", &zlin)],
                },
                Centre {
                    id: "ic-praha".into(),
                    names: names("Praha"),
                    regions: vec!["CZ-10".into(), "CZ-20".into()],
                    contact: None,
                    answer_time: None,
                    acknowledgement: None,
                    staff: vec![member("praha-1", &praha)],
                },
            ],
        };
        Fixture {
            root,
            zlin,
            praha,
            directory,
        }
    }

    /// Signs and verifies `directory` as a client with nothing pinned.
    fn verify(f: &Fixture, directory: &Directory) -> Result<Directory, DirectoryError> {
        let json = directory.sign(&f.root)?.to_json();
        SignedDirectory::verify(json.as_bytes(), &f.root.public(), None)
    }

    /// Signs an arbitrary payload, as a careless or hostile operator tool could.
    fn signed_payload(f: &Fixture, payload: &str) -> String {
        let mut input = b"ozvi/v1/directory-signature".to_vec();
        input.extend_from_slice(payload.as_bytes());
        serde_json::json!({
            "directory": b64::encode(payload.as_bytes()),
            "signature": b64::encode(&f.root.sign(&input)),
        })
        .to_string()
    }

    fn payload(f: &Fixture) -> serde_json::Value {
        serde_json::to_value(f.directory.to_doc()).expect("serializes")
    }

    fn verify_payload(f: &Fixture, value: &serde_json::Value) -> Result<Directory, DirectoryError> {
        let json = signed_payload(f, &value.to_string());
        SignedDirectory::verify(json.as_bytes(), &f.root.public(), None)
    }

    #[test]
    fn the_valid_fixture_verifies_and_round_trips() {
        let f = fixture();
        assert_eq!(verify(&f, &f.directory), Ok(f.directory.clone()));
        assert_eq!(verify_payload(&f, &payload(&f)), Ok(f.directory.clone()));
        let doc = f.directory.to_doc();
        assert_eq!(doc.format, 1);
        assert_eq!(doc.salt, b64::encode(&[9; 16]));
        assert_eq!(doc.centres[0].staff[0].x25519, {
            b64::encode(f.zlin.public().x25519.as_bytes())
        });
        assert_eq!(
            doc.centres[1].staff[0].ed25519,
            b64::encode(&f.praha.public().ed25519.to_bytes())
        );
        assert_eq!(Directory::from_doc(doc), Ok(f.directory.clone()));
    }

    #[test]
    fn a_signature_with_any_flipped_bit_is_refused() {
        let f = fixture();
        let json = f.directory.sign(&f.root).expect("valid").to_json();
        let doc: SignedDirectoryDoc = serde_json::from_str(&json).expect("served form");
        let signature = b64::decode(&doc.signature).expect("b64");
        for bit in [0, 9, 255, 256, 333, 504, 511] {
            let mut forged = signature.clone();
            forged[bit / 8] ^= 1 << (bit % 8);
            let json =
                serde_json::json!({"directory": doc.directory, "signature": b64::encode(&forged)});
            assert_eq!(
                SignedDirectory::verify(json.to_string().as_bytes(), &f.root.public(), None),
                Err(DirectoryError::BadSignature),
                "bit {bit}"
            );
        }
        let other_root = Ed25519Secret::generate(&mut rng(61));
        assert_eq!(
            SignedDirectory::verify(json.as_bytes(), &other_root.public(), None),
            Err(DirectoryError::BadSignature)
        );
    }

    #[test]
    fn the_served_form_has_exactly_two_string_members() {
        let f = fixture();
        let json = f.directory.sign(&f.root).expect("valid").to_json();
        let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(doc.as_object().map(|o| o.len()), Some(2));
        let root = f.root.public();
        let check = |value: serde_json::Value| {
            SignedDirectory::verify(value.to_string().as_bytes(), &root, None)
        };
        let mut extra = doc.clone();
        extra["note"] = serde_json::json!("x");
        assert_eq!(check(extra), Err(DirectoryError::Malformed));
        let mut missing = doc.clone();
        missing.as_object_mut().expect("object").remove("signature");
        assert_eq!(check(missing), Err(DirectoryError::Malformed));
        let mut padded = doc.clone();
        padded["directory"] =
            serde_json::json!(format!("{}=", doc["directory"].as_str().unwrap_or("")));
        assert_eq!(check(padded), Err(DirectoryError::Malformed));
        let mut short_sig = doc.clone();
        short_sig["signature"] = serde_json::json!(b64::encode(&[0; 63]));
        assert_eq!(check(short_sig), Err(DirectoryError::Malformed));
        assert_eq!(
            check(serde_json::json!([1, 2])),
            Err(DirectoryError::Malformed)
        );
    }

    #[test]
    fn a_served_directory_of_exactly_the_size_limit_is_read_and_one_byte_more_is_not() {
        let f = fixture();
        let json = f.directory.sign(&f.root).expect("valid").to_json();
        // JSON allows trailing white space, so pad the served form to the limit.
        let at_limit = format!("{json}{}", " ".repeat(MAX_SIGNED_LEN - json.len()));
        assert_eq!(at_limit.len(), MAX_SIGNED_LEN);
        assert_eq!(
            SignedDirectory::verify(at_limit.as_bytes(), &f.root.public(), None),
            Ok(f.directory.clone())
        );
        let over = format!("{at_limit} ");
        assert_eq!(
            SignedDirectory::verify(over.as_bytes(), &f.root.public(), None),
            Err(DirectoryError::Malformed)
        );
    }

    #[test]
    fn the_format_member_decides_first() {
        let f = fixture();
        for (format, expected) in [
            (serde_json::json!(2), DirectoryError::UnsupportedVersion),
            (serde_json::json!(0), DirectoryError::UnsupportedVersion),
            (serde_json::json!("1"), DirectoryError::Malformed),
            (serde_json::json!(1.0), DirectoryError::Malformed),
            (serde_json::json!(null), DirectoryError::Malformed),
        ] {
            let mut value = payload(&f);
            value["format"] = format.clone();
            assert_eq!(verify_payload(&f, &value), Err(expected), "{format}");
        }
        let mut no_format = payload(&f);
        no_format.as_object_mut().expect("object").remove("format");
        assert_eq!(
            verify_payload(&f, &no_format),
            Err(DirectoryError::Malformed)
        );
        // A format-2 document may carry members format 1 does not know.
        let mut future = payload(&f);
        future["format"] = serde_json::json!(2);
        future["extra"] = serde_json::json!(true);
        assert_eq!(
            verify_payload(&f, &future),
            Err(DirectoryError::UnsupportedVersion)
        );
        let mut doc = f.directory.to_doc();
        doc.format = 2;
        assert_eq!(
            Directory::from_doc(doc),
            Err(DirectoryError::UnsupportedVersion)
        );
    }

    #[test]
    fn every_payload_member_is_required_and_no_other_is_allowed() {
        let f = fixture();
        let value = payload(&f);
        for key in ["version", "issued_at", "salt", "default_centre", "centres"] {
            let mut v = value.clone();
            v.as_object_mut().expect("object").remove(key);
            assert_eq!(
                verify_payload(&f, &v),
                Err(DirectoryError::Malformed),
                "{key}"
            );
        }
        let mut v = value.clone();
        v["centres"][0]["staff"][0]["role"] = serde_json::json!("admin");
        assert_eq!(verify_payload(&f, &v), Err(DirectoryError::Malformed));
        let mut v = value.clone();
        v["centres"][0]["names"]["de"] = serde_json::json!("Zlín");
        assert_eq!(verify_payload(&f, &v), Err(DirectoryError::Malformed));
        let mut v = value.clone();
        v["centres"][0]["names"]
            .as_object_mut()
            .expect("object")
            .remove("uk");
        assert_eq!(verify_payload(&f, &v), Err(DirectoryError::Malformed));
        let mut v = value.clone();
        v["version"] = serde_json::json!(-1);
        assert_eq!(verify_payload(&f, &v), Err(DirectoryError::Malformed));
        let mut v = value;
        v["version"] = serde_json::json!("3");
        assert_eq!(verify_payload(&f, &v), Err(DirectoryError::Malformed));
    }

    fn rejected(f: &Fixture, change: impl FnOnce(&mut Directory)) {
        let mut d = f.directory.clone();
        change(&mut d);
        assert_eq!(
            Directory::from_doc(d.to_doc()),
            Err(DirectoryError::Malformed)
        );
        assert_eq!(d.sign(&f.root).map(|_| ()), Err(DirectoryError::Malformed));
        let value = serde_json::to_value(d.to_doc()).expect("serializes");
        assert_eq!(verify_payload(f, &value), Err(DirectoryError::Malformed));
    }

    fn accepted(f: &Fixture, change: impl FnOnce(&mut Directory)) {
        let mut d = f.directory.clone();
        change(&mut d);
        assert_eq!(verify(f, &d), Ok(d.clone()));
    }

    #[test]
    fn shape_rules_of_the_document() {
        let f = fixture();
        rejected(&f, |d| d.centres.clear());
        rejected(&f, |d| d.version = 0);
        accepted(&f, |d| d.version = 1);
        accepted(&f, |d| d.version = u64::MAX);
        rejected(&f, |d| d.centres[1].staff.clear());
        rejected(&f, |d| d.default_centre = "ic-brno".into());
        rejected(&f, |d| d.default_centre = String::new());
        rejected(&f, |d| d.centres[1].id = "ic-zlin".into());
        // A centre serving no region is allowed (the default centre may).
        accepted(&f, |d| d.centres[1].regions.clear());
        rejected(&f, |d| d.centres[1].regions.push("CZ-10".into()));
        rejected(&f, |d| d.centres[1].regions.push("CZ-99".into()));
        rejected(&f, |d| d.centres[1].regions.push("cz-72".into()));
        accepted(&f, |d| d.centres[1].regions.push("CZ-72".into()));
    }

    #[test]
    fn staff_lists_are_bounded_and_keys_unique() {
        let f = fixture();
        let mut r = rng(62);
        let many: Vec<StaffKeys> = (0..=MAX_STAFF_PER_CENTRE)
            .map(|_| StaffKeys::generate(&mut r))
            .collect();
        let list = |n: usize| -> Vec<StaffMember> {
            many[..n]
                .iter()
                .enumerate()
                .map(|(i, k)| member(&format!("s-{i}"), k))
                .collect()
        };
        accepted(&f, |d| d.centres[0].staff = list(MAX_STAFF_PER_CENTRE));
        rejected(&f, |d| d.centres[0].staff = list(MAX_STAFF_PER_CENTRE + 1));
        // A staff id used twice, in one centre or across centres.
        rejected(&f, |d| d.centres[0].staff[0].id = "praha-1".into());
        // The same X25519 key, or the same Ed25519 key, listed twice.
        let other = StaffKeys::generate(&mut r);
        rejected(&f, |d| {
            let mut m = member("zlin-2", &other);
            m.keys.x25519 = f.praha.public().x25519;
            d.centres[0].staff.push(m);
        });
        rejected(&f, |d| {
            let mut m = member("zlin-2", &other);
            m.keys.ed25519 = f.zlin.public().ed25519;
            d.centres[0].staff.push(m);
        });
        accepted(&f, |d| d.centres[0].staff.push(member("zlin-2", &other)));
    }

    #[test]
    fn staff_keys_must_be_canonical_and_strong() {
        let f = fixture();
        let value = payload(&f);
        let low_order_x = b64::encode(&[0; 32]);
        let mut non_canonical_x = [0xff; 32];
        non_canonical_x[31] = 0x7f;
        let weak_ed = b64::encode(&{
            let mut k = [0; 32];
            k[0] = 1;
            k
        });
        for (field, bad) in [
            ("x25519", low_order_x),
            ("x25519", b64::encode(&non_canonical_x)),
            ("x25519", b64::encode(&[1; 31])),
            ("ed25519", weak_ed),
            ("ed25519", b64::encode(&[1; 33])),
            (
                "ed25519",
                format!(
                    "{}=",
                    value["centres"][0]["staff"][0]["ed25519"]
                        .as_str()
                        .unwrap_or("")
                ),
            ),
        ] {
            let mut v = value.clone();
            v["centres"][0]["staff"][0][field] = serde_json::json!(bad);
            assert_eq!(
                verify_payload(&f, &v),
                Err(DirectoryError::Malformed),
                "{field} {bad}"
            );
        }
        for salt in [
            b64::encode(&[9; 15]),
            b64::encode(&[9; 17]),
            format!("{}=", b64::encode(&[9; 16])),
        ] {
            let mut v = value.clone();
            v["salt"] = serde_json::json!(salt);
            assert_eq!(
                verify_payload(&f, &v),
                Err(DirectoryError::Malformed),
                "{salt}"
            );
        }
    }

    #[test]
    fn ids_are_lower_case_ascii_digits_and_dashes_up_to_32() {
        let f = fixture();
        let longest = "a".repeat(32);
        accepted(&f, |d| d.centres[0].id = longest.clone());
        accepted(&f, |d| d.centres[0].staff[0].id = "0-9-a".into());
        accepted(&f, |d| d.centres[0].staff[0].id = "-".into());
        for bad in [
            String::new(),
            "a".repeat(33),
            "Zlin".into(),
            "zlín".into(),
            "zlin_1".into(),
            "zlin 1".into(),
            "zlin.1".into(),
            "zlin/1".into(),
        ] {
            rejected(&f, |d| d.centres[0].staff[0].id = bad.clone());
            rejected(&f, |d| {
                d.centres[1].id = bad.clone();
                d.default_centre = bad.clone();
            });
        }
    }

    #[test]
    fn names_and_labels_are_visible_trimmed_text_of_at_most_200_characters() {
        let f = fixture();
        // 200 characters of two bytes each: counted in characters, not bytes.
        let longest = "ž".repeat(MAX_TEXT_CHARS);
        accepted(&f, |d| d.centres[0].names.cs = longest.clone());
        accepted(&f, |d| d.centres[0].staff[0].label = longest.clone());
        accepted(&f, |d| d.centres[0].names.uk = "Є".into());
        accepted(&f, |d| d.centres[0].names.en = "a b".into());
        let too_long = "ž".repeat(MAX_TEXT_CHARS + 1);
        for bad in [
            String::new(),
            too_long,
            " Zlín".into(),
            "Zlín ".into(),
            "Zlín\n".into(),
            "\u{3000}Zlín".into(),
            "Zl\u{7}ín".into(),
            "Zl\u{85}ín".into(),
            "Zl\u{200B}ín".into(),
            "Zl\u{200F}ín".into(),
            "\u{202E}nílZ".into(),
            "Zl\u{2066}ín".into(),
            "Zl\u{2069}ín".into(),
            "Zl\u{2064}ín".into(),
            "Zl\u{061C}ín".into(),
            "Zl\u{FEFF}ín".into(),
        ] {
            rejected(&f, |d| d.centres[0].names.cs = bad.clone());
            rejected(&f, |d| d.centres[0].names.en = bad.clone());
            rejected(&f, |d| d.centres[0].names.uk = bad.clone());
            rejected(&f, |d| d.centres[0].staff[0].label = bad.clone());
        }
    }

    #[test]
    fn regions_and_staff_are_found_as_listed() {
        let f = fixture();
        let d = &f.directory;
        let ids = |v: Vec<&Centre>| v.into_iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(d.centres_for_region(Some("CZ-72"))), ["ic-zlin"]);
        assert_eq!(ids(d.centres_for_region(Some("CZ-20"))), ["ic-praha"]);
        assert_eq!(ids(d.centres_for_region(Some("CZ-80"))), ["ic-praha"]);
        assert_eq!(ids(d.centres_for_region(None)), ["ic-praha"]);
        let mut both = d.clone();
        both.centres[0].regions.push("CZ-10".into());
        assert_eq!(
            ids(both.centres_for_region(Some("CZ-10"))),
            ["ic-zlin", "ic-praha"]
        );
        assert_eq!(d.centre("ic-zlin").map(|c| c.id.as_str()), Some("ic-zlin"));
        assert_eq!(
            d.centre("ic-praha").map(|c| c.id.as_str()),
            Some("ic-praha")
        );
        assert!(d.centre("ic-brno").is_none());
        let (centre, staff) = d
            .staff_by_ed25519(&f.praha.public().ed25519)
            .expect("listed");
        assert_eq!(
            (centre.id.as_str(), staff.id.as_str()),
            ("ic-praha", "praha-1")
        );
        let (centre, _) = d
            .staff_by_ed25519(&f.zlin.public().ed25519)
            .expect("listed");
        assert_eq!(centre.id, "ic-zlin");
        let outsider = StaffKeys::generate(&mut rng(63));
        assert!(d.staff_by_ed25519(&outsider.public().ed25519).is_none());
        assert_eq!(d.centres[0].staff_x25519(), vec![f.zlin.public().x25519]);
    }

    #[test]
    fn pinning_refuses_rollback_same_version_changes_and_another_deployment() {
        let f = fixture();
        let root = f.root.public();
        let served = |d: &Directory| d.sign(&f.root).expect("valid").to_json();
        let pinned = f.directory.clone();
        let check =
            |d: &Directory| SignedDirectory::verify(served(d).as_bytes(), &root, Some(&pinned));
        assert_eq!(
            check(&pinned),
            Ok(pinned.clone()),
            "the same document again"
        );
        let mut newer = pinned.clone();
        newer.version += 1;
        newer.centres[0].names.en = "Zlin".into();
        assert_eq!(check(&newer), Ok(newer.clone()));
        let mut older = pinned.clone();
        older.version -= 1;
        assert_eq!(check(&older), Err(DirectoryError::Rollback));
        let mut changed = pinned.clone();
        changed.issued_at += 1;
        assert_eq!(check(&changed), Err(DirectoryError::Rollback));
        let mut moved = newer.clone();
        moved.salt = DeploymentSalt([10; 16]);
        assert_eq!(check(&moved), Err(DirectoryError::WrongDeployment));
        // The new optional members are content too: adding one under the
        // pinned version is a different directory.
        let mut acknowledged = pinned.clone();
        with_details(&mut acknowledged);
        assert_eq!(check(&acknowledged), Err(DirectoryError::Rollback));
    }

    fn texts(text: &str) -> Texts {
        Texts {
            cs: format!("{text} cs"),
            en: format!("{text} en"),
            uk: format!("{text} uk"),
        }
    }

    /// Gives Zlín contact details, an answer time and an acknowledgement.
    fn with_details(d: &mut Directory) {
        let zlin = &mut d.centres[0];
        zlin.contact = Some(Contact {
            phone: "+420 000 000 072".into(),
            address: "Ukázková 1, Zlín".into(),
            hours: texts("Po–Pá 8–16"),
        });
        zlin.answer_time = Some(texts("Do jednoho pracovního dne"));
        zlin.acknowledgement = Some(texts("Děkujeme, zprávu jsme dostali"));
    }

    #[test]
    fn contact_answer_time_and_acknowledgement_are_optional_and_round_trip() {
        let f = fixture();
        // Without them a centre's document has exactly its old members, so
        // a directory signed before they existed reads as it always did.
        let value = payload(&f);
        let members: Vec<&String> = value["centres"][0]
            .as_object()
            .expect("object")
            .keys()
            .collect();
        assert_eq!(members, ["id", "names", "regions", "staff"]);
        accepted(&f, with_details);
        let mut d = f.directory.clone();
        with_details(&mut d);
        let value = serde_json::to_value(d.to_doc()).expect("serializes");
        assert_eq!(value["centres"][0]["contact"]["phone"], "+420 000 000 072");
        assert_eq!(
            value["centres"][0]["contact"]["hours"]["uk"],
            "Po–Pá 8–16 uk"
        );
        assert_eq!(
            value["centres"][0]["acknowledgement"]["cs"],
            "Děkujeme, zprávu jsme dostali cs"
        );
        assert_eq!(verify_payload(&f, &value), Ok(d.clone()));
        assert_eq!(Directory::from_doc(d.to_doc()), Ok(d.clone()));
        // Each one alone.
        accepted(&f, |d| {
            with_details(d);
            d.centres[0].contact = None;
        });
        accepted(&f, |d| {
            with_details(d);
            d.centres[0].answer_time = None;
            d.centres[0].acknowledgement = None;
        });
    }

    #[test]
    fn a_phone_number_is_digits_single_spaces_and_a_leading_plus() {
        let f = fixture();
        let phone = |p: &str| {
            let p = p.to_string();
            move |d: &mut Directory| {
                with_details(d);
                if let Some(c) = d.centres[0].contact.as_mut() {
                    c.phone = p;
                }
            }
        };
        for good in [
            "+420 000 000 072",
            "158",
            "+420000000072",
            "000 000 072",
            "123456789012345",
            "+1 2 3",
        ] {
            accepted(&f, phone(good));
        }
        for bad in [
            "",
            "+",
            "12",
            "+12",
            "1234567890123456",
            "+420 000 000 0720 000",
            "+420  000 000 072",
            " 420 000 000 072",
            "+420 000 000 072 ",
            "+ 420 000 000 072",
            "++420 000 000 072",
            "420+000000072",
            "+420-000-000-072",
            "(+420) 000 000 072",
            "+420\u{A0}000 000 072",
            "+420 ٠٠٠ 000 072",
            "+420 000 000 072\n",
            "tel:+420000000072",
        ] {
            rejected(&f, phone(bad));
        }
    }

    #[test]
    fn contact_and_messages_follow_the_text_rule_with_their_limits() {
        let f = fixture();
        type Edit = fn(&mut Directory, String);
        let fields: [(Edit, usize); 8] = [
            (|d, t| with_contact(d).address = t, MAX_TEXT_CHARS),
            (|d, t| with_contact(d).hours.cs = t, MAX_TEXT_CHARS),
            (|d, t| with_contact(d).hours.en = t, MAX_TEXT_CHARS),
            (|d, t| with_contact(d).hours.uk = t, MAX_TEXT_CHARS),
            (|d, t| answer(d).cs = t, MAX_MESSAGE_CHARS),
            (|d, t| answer(d).uk = t, MAX_MESSAGE_CHARS),
            (|d, t| acknowledgement(d).en = t, MAX_MESSAGE_CHARS),
            (|d, t| acknowledgement(d).uk = t, MAX_MESSAGE_CHARS),
        ];
        fn with_contact(d: &mut Directory) -> &mut Contact {
            with_details(d);
            d.centres[0].contact.as_mut().expect("set")
        }
        fn answer(d: &mut Directory) -> &mut Texts {
            with_details(d);
            d.centres[0].answer_time.as_mut().expect("set")
        }
        fn acknowledgement(d: &mut Directory) -> &mut Texts {
            with_details(d);
            d.centres[0].acknowledgement.as_mut().expect("set")
        }
        for (edit, limit) in fields {
            // Counted in characters, not bytes.
            accepted(&f, |d| edit(d, "ž".repeat(limit)));
            accepted(&f, |d| edit(d, "Пн–Пт 8:00–16:00".into()));
            for bad in [
                String::new(),
                "ž".repeat(limit + 1),
                " Zlín".into(),
                "Zlín ".into(),
                "Zlín\nZlín".into(),
                "Zl\u{7}ín".into(),
                "Zl\u{200B}ín".into(),
                "\u{202E}nílZ".into(),
                "Zl\u{2066}ín".into(),
                "Zl\u{FEFF}ín".into(),
            ] {
                rejected(&f, |d| edit(d, bad.clone()));
            }
        }
        // The limits differ: 200 for contact texts, 500 for messages.
        rejected(&f, |d| {
            with_contact(d).address = "ž".repeat(MAX_TEXT_CHARS + 1)
        });
        accepted(&f, |d| answer(d).en = "ž".repeat(MAX_TEXT_CHARS + 1));
    }

    #[test]
    fn the_new_members_have_exactly_their_shape_and_null_is_not_absent() {
        let f = fixture();
        let mut d = f.directory.clone();
        with_details(&mut d);
        let value = serde_json::to_value(d.to_doc()).expect("serializes");
        let refused = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut v = value.clone();
            change(&mut v["centres"][0]);
            assert_eq!(
                verify_payload(&f, &v),
                Err(DirectoryError::Malformed),
                "{}",
                v["centres"][0]
            );
        };
        use serde_json::json;
        for member in ["contact", "answer_time", "acknowledgement"] {
            refused(&|c| c[member] = json!(null));
            refused(&|c| c[member] = json!("Děkujeme"));
            refused(&|c| c[member] = json!({}));
        }
        for member in ["phone", "address", "hours"] {
            refused(&|c| {
                c["contact"].as_object_mut().expect("object").remove(member);
            });
            refused(&|c| c["contact"][member] = json!(null));
        }
        refused(&|c| c["contact"]["phone"] = json!(420_000_000_072_u64));
        refused(&|c| c["contact"]["email"] = json!("ic@example.org"));
        refused(&|c| c["contact"]["hours"]["de"] = json!("8–16"));
        refused(&|c| {
            c["contact"]["hours"]
                .as_object_mut()
                .expect("object")
                .remove("cs");
        });
        refused(&|c| c["answer_time"]["de"] = json!("Bald"));
        refused(&|c| {
            c["acknowledgement"]
                .as_object_mut()
                .expect("object")
                .remove("uk");
        });
        refused(&|c| c["acknowledgement"]["cs"] = json!(["Děkujeme"]));
        refused(&|c| c["answer"] = json!({"cs": "a", "en": "a", "uk": "a"}));
    }
}

// -------------------------------------------------------------- envelopes

mod envelopes {
    use super::*;

    struct World {
        person: PersonKeys,
        staff: Vec<StaffKeys>,
        directory: Directory,
    }

    fn world(staff_count: usize) -> World {
        let mut r = rng(70);
        let staff: Vec<StaffKeys> = (0..staff_count)
            .map(|_| StaffKeys::generate(&mut r))
            .collect();
        let directory = directory_of(&staff, 1);
        World {
            person: PersonKeys::from_root(&[8; 32]),
            staff,
            directory,
        }
    }

    fn recipients(w: &World) -> Vec<X25519Public> {
        let mut r = w.directory.centres[0].staff_x25519();
        r.push(w.person.public().x25519);
        r
    }

    fn person_message(w: &World, to: &[X25519Public]) -> Result<Vec<u8>, SealError> {
        let mailbox = w.person.mailbox_id();
        seal(
            &mut rng(71),
            Signer::Person(&w.person),
            Message {
                kind: Kind::PersonMessage,
                mailbox: &mailbox,
                body: b"{\"text\":\"help\"}",
                sent_at: 1000,
            },
            to,
        )
    }

    #[test]
    fn thirty_two_recipients_are_allowed_and_thirty_three_are_not() {
        let w = world(MAX_RECIPIENTS - 1);
        let to = recipients(&w);
        assert_eq!(to.len(), MAX_RECIPIENTS);
        let sealed = person_message(&w, &to).expect("32 recipients");
        let envelope = Envelope::parse(&sealed).expect("parses");
        assert_eq!(envelope.stanzas.len(), MAX_RECIPIENTS);
        assert_eq!(envelope.to_bytes(), sealed);
        assert_eq!(envelope.bucket(), BUCKETS[0]);
        let mailbox = w.person.mailbox_id();
        // The last staff member and the person open it.
        let last = w.staff.last().expect("staff");
        assert!(open(&sealed, &mailbox, last.x25519(), &w.directory).is_ok());
        assert!(open(&sealed, &mailbox, w.person.x25519(), &w.directory).is_ok());

        let extra = StaffKeys::generate(&mut rng(72)).public().x25519;
        let mut too_many = to.clone();
        too_many.push(extra);
        assert_eq!(
            person_message(&w, &too_many),
            Err(SealError::RecipientCount)
        );
        assert_eq!(person_message(&w, &[]), Err(SealError::RecipientCount));
        let twice = [to[0], w.person.public().x25519, to[0]];
        assert_eq!(
            person_message(&w, &twice),
            Err(SealError::DuplicateRecipient)
        );
    }

    #[test]
    fn the_largest_envelope_is_exactly_max_envelope_len() {
        // 32 stanzas and a person's message that fills the largest bucket:
        // the relay's body limit must be this figure, not less.
        let w = world(MAX_RECIPIENTS - 1);
        let mailbox = w.person.mailbox_id();
        let frame_overhead = 1 + 32 + 32 + 16 + 8 + 4 + 64;
        let body = vec![b'a'; MAX_DATA_LEN - frame_overhead];
        let message = |body| Message {
            kind: Kind::PersonMessage,
            mailbox: &mailbox,
            body,
            sent_at: 1000,
        };
        let sealed = seal(
            &mut rng(74),
            Signer::Person(&w.person),
            message(&body),
            &recipients(&w),
        )
        .expect("the largest message fits");
        assert_eq!(sealed.len(), MAX_ENVELOPE_LEN);
        assert_eq!(STANZA_LEN, 8 + 32 + 48);
        assert_eq!(MAX_ENVELOPE_LEN, 3 + 32 * STANZA_LEN + 24 + 73728 + 16);
        let opened = open(&sealed, &mailbox, w.person.x25519(), &w.directory).expect("opens");
        assert_eq!(opened.body, body);
        let one_more = vec![b'a'; body.len() + 1];
        assert_eq!(
            seal(
                &mut rng(74),
                Signer::Person(&w.person),
                message(&one_more),
                &recipients(&w)
            ),
            Err(SealError::TooLong)
        );
    }

    #[test]
    fn a_stanza_count_that_does_not_match_the_stanzas_is_refused() {
        let w = world(MAX_RECIPIENTS - 1);
        let sealed = person_message(&w, &recipients(&w)).expect("seals");
        // Count byte: 0, or one more than the 32 stanzas present (33).
        for count in [0u8, 33, 255] {
            let mut bad = sealed.clone();
            bad[2] = count;
            assert!(Envelope::parse(&bad).is_err(), "count {count}");
        }
        // Shifted by one stanza: 31 claimed, the last stanza read as payload.
        let mut bad = sealed.clone();
        bad[2] = 31;
        assert_eq!(Envelope::parse(&bad), Err(ParseError::Length));
    }

    #[test]
    fn zero_or_thirty_three_consistent_stanzas_are_refused() {
        // The count byte agrees with the stanzas that follow, and the payload
        // has a bucket length: only the count rule can refuse these.
        let w = world(MAX_RECIPIENTS - 1);
        let sealed = person_message(&w, &recipients(&w)).expect("seals");
        let envelope = Envelope::parse(&sealed).expect("parses");
        let mut none = envelope.clone();
        none.stanzas.clear();
        let bytes = none.to_bytes();
        assert_eq!(bytes[2], 0);
        assert_eq!(Envelope::parse(&bytes), Err(ParseError::Invalid));
        let mut too_many = envelope.clone();
        let mut extra = too_many.stanzas[0].clone();
        extra.key_id = [0xee; 8];
        too_many.stanzas.push(extra);
        let bytes = too_many.to_bytes();
        assert_eq!(bytes[2], 33);
        assert_eq!(Envelope::parse(&bytes), Err(ParseError::Invalid));
        // The same construction with 32 stanzas parses: only the count differs.
        let mut full = envelope;
        full.stanzas[0].key_id = [0xee; 8];
        assert_eq!(Envelope::parse(&full.to_bytes()), Ok(full));
    }

    #[test]
    fn parse_then_serialize_gives_the_same_bytes() {
        let w = world(2);
        let sealed = person_message(&w, &recipients(&w)).expect("seals");
        let envelope = Envelope::parse(&sealed).expect("parses");
        assert_eq!(envelope.kind, Kind::PersonMessage);
        assert_eq!(envelope.to_bytes(), sealed);
        let header = envelope.header_bytes();
        assert_eq!(header.len(), 3 + 3 * 88 + 24);
        assert_eq!(&sealed[..header.len()], &header[..]);
        assert_eq!(envelope.payload.len(), BUCKETS[0] + 16);
        for kind in [
            Kind::PersonMessage,
            Kind::StaffReply,
            Kind::StaffNote,
            Kind::CaseEntry,
        ] {
            assert_eq!(Kind::from_byte(kind.to_byte()), Ok(kind));
        }
        assert_eq!(Kind::PersonMessage.to_byte(), 1);
        assert_eq!(Kind::StaffReply.to_byte(), 2);
        assert_eq!(Kind::StaffNote.to_byte(), 3);
        assert_eq!(Kind::CaseEntry.to_byte(), 4);
        for byte in [0u8, 5, 255] {
            assert_eq!(Kind::from_byte(byte), Err(ParseError::Invalid));
        }
    }

    #[test]
    fn payloads_of_every_bucket_and_no_other_length_parse() {
        let w = world(1);
        let sealed = person_message(&w, &recipients(&w)).expect("seals");
        let header_len = Envelope::parse(&sealed)
            .expect("parses")
            .header_bytes()
            .len();
        for bucket in BUCKETS {
            for (len, ok) in [
                (bucket + 16, true),
                (bucket + 15, false),
                (bucket + 17, false),
                (bucket, false),
            ] {
                let mut bytes = sealed[..header_len].to_vec();
                bytes.resize(header_len + len, 0);
                assert_eq!(
                    Envelope::parse(&bytes).is_ok(),
                    ok,
                    "payload of {len} bytes"
                );
            }
        }
    }

    #[test]
    fn a_frame_signature_with_any_flipped_bit_is_refused() {
        let w = world(1);
        let mailbox = w.person.mailbox_id();
        let staff = &w.staff[0];
        let key = Ed25519Secret::from_seed(&staff.to_bytes().1);
        let claimed = FrameSigner::Staff {
            ed25519: staff.public().ed25519,
        };
        let frame =
            hazmat::signed_frame(&key, claimed, Kind::StaffReply, &mailbox, [3; 16], 5, b"{}");
        assert_eq!(Frame::parse(&frame.to_bytes()).as_ref(), Ok(&frame));
        let seal_frame = |frame: &Frame| {
            let padded = padding::pad(&frame.to_bytes()).expect("fits");
            hazmat::seal_padded(
                &mut rng(73),
                ozvi_crypto::format::envelope::VERSION_2,
                Kind::StaffReply,
                &mailbox,
                &recipients(&w),
                &padded,
            )
            .expect("seals")
        };
        let opened = open(
            &seal_frame(&frame),
            &mailbox,
            w.person.x25519(),
            &w.directory,
        )
        .expect("the genuine frame opens");
        assert_eq!(opened.msg_id, [3; 16]);
        for bit in [0, 200, 255, 256, 400, 511] {
            let mut forged = frame.clone();
            forged.signature[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                open(
                    &seal_frame(&forged),
                    &mailbox,
                    w.person.x25519(),
                    &w.directory
                ),
                Err(OpenError::InvalidMessage),
                "bit {bit}"
            );
        }
        // Signed for another thread or another kind.
        let other_mailbox = PersonKeys::from_root(&[9; 32]).mailbox_id();
        let elsewhere = hazmat::signed_frame(
            &key,
            claimed,
            Kind::StaffReply,
            &other_mailbox,
            [3; 16],
            5,
            b"{}",
        );
        assert_eq!(
            open(
                &seal_frame(&elsewhere),
                &mailbox,
                w.person.x25519(),
                &w.directory
            ),
            Err(OpenError::InvalidMessage)
        );
        let as_note =
            hazmat::signed_frame(&key, claimed, Kind::StaffNote, &mailbox, [3; 16], 5, b"{}");
        assert_eq!(
            open(
                &seal_frame(&as_note),
                &mailbox,
                w.person.x25519(),
                &w.directory
            ),
            Err(OpenError::InvalidMessage)
        );
    }

    #[test]
    fn frames_end_exactly_after_the_signature() {
        let w = world(1);
        let mailbox = w.person.mailbox_id();
        let staff = &w.staff[0];
        let key = Ed25519Secret::from_seed(&staff.to_bytes().1);
        let claimed = FrameSigner::Staff {
            ed25519: staff.public().ed25519,
        };
        let frame =
            hazmat::signed_frame(&key, claimed, Kind::StaffReply, &mailbox, [3; 16], 5, b"{}");
        let bytes = frame.to_bytes();
        assert_eq!(bytes.len(), 1 + 32 + 16 + 8 + 4 + 2 + 64);
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Frame::parse(&long), Err(ParseError::Length));
        assert_eq!(
            Frame::parse(&bytes[..bytes.len() - 1]),
            Err(ParseError::Length)
        );
        for role in [0u8, 3, 255] {
            let mut bad = bytes.clone();
            bad[0] = role;
            assert_eq!(Frame::parse(&bad), Err(ParseError::Invalid), "role {role}");
        }
        // A person frame carries her X25519 key too.
        let person = FrameSigner::Person {
            ed25519: w.person.public().ed25519,
            x25519: w.person.public().x25519,
        };
        let frame = hazmat::signed_frame(
            &key,
            person,
            Kind::PersonMessage,
            &mailbox,
            [4; 16],
            6,
            b"x",
        );
        let bytes = frame.to_bytes();
        assert_eq!(bytes.len(), 1 + 32 + 32 + 16 + 8 + 4 + 1 + 64);
        assert_eq!(Frame::parse(&bytes), Ok(frame.clone()));
        assert_eq!(frame.signed_part(), bytes[..bytes.len() - 64].to_vec());
        assert_eq!(bytes[0], 1);
        assert_eq!(
            &bytes[1 + 32 + 32 + 16..1 + 32 + 32 + 16 + 8],
            &6u64.to_be_bytes()
        );
        assert_eq!(
            &bytes[1 + 32 + 32 + 16 + 8..1 + 32 + 32 + 16 + 12],
            &1u32.to_be_bytes()
        );
    }
}

/// PROTOCOL.md §4.7: who must be a recipient of which envelope. The relay
/// calls `addressing::check` on every upload and transfer; each rule here is
/// one a relaxed reader would let through.
mod addressing {
    use super::*;
    use ozvi_crypto::AddressingError;
    use ozvi_crypto::protocol::addressing::{self, KeyId};

    struct World {
        person: PersonKeys,
        staff: Vec<StaffKeys>,
        centre: Centre,
    }

    fn world() -> World {
        let mut r = rng(90);
        let staff: Vec<StaffKeys> = (0..3).map(|_| StaffKeys::generate(&mut r)).collect();
        let centre = centre_of(&staff);
        World {
            person: PersonKeys::from_root(&[9; 32]),
            staff,
            centre,
        }
    }

    fn sealed(w: &World, kind: Kind, to: &[X25519Public]) -> Vec<u8> {
        let mailbox = w.person.mailbox_id();
        let signer = match kind {
            Kind::PersonMessage => Signer::Person(&w.person),
            _ => Signer::Staff(&w.staff[0]),
        };
        seal(
            &mut rng(91),
            signer,
            Message {
                kind,
                mailbox: &mailbox,
                body: b"{\"text\":\"x\"}",
                sent_at: 1000,
            },
            to,
        )
        .expect("seals")
    }

    fn person_id(w: &World) -> KeyId {
        w.person.public().x25519.key_id()
    }

    fn stranger() -> X25519Public {
        StaffKeys::generate(&mut rng(92)).public().x25519
    }

    #[test]
    fn recipients_are_the_staff_in_order_then_the_person_and_notes_have_no_person() {
        let w = world();
        let person = w.person.public().x25519;
        let staff = w.centre.staff_x25519();
        for kind in [Kind::PersonMessage, Kind::StaffReply] {
            let mut expected = staff.clone();
            expected.push(person);
            assert_eq!(
                addressing::recipients(kind, &w.centre, Some(&person)).expect("addressed"),
                expected
            );
            assert_eq!(
                addressing::recipients(kind, &w.centre, None),
                Err(SealError::RecipientCount),
                "{kind:?} needs the person"
            );
        }
        assert_eq!(
            addressing::recipients(Kind::StaffNote, &w.centre, Some(&person)).expect("note"),
            staff
        );
        assert_eq!(
            addressing::recipients(Kind::StaffNote, &w.centre, None).expect("note"),
            staff
        );
    }

    #[test]
    fn what_recipients_gives_passes_the_check_for_every_kind() {
        let w = world();
        let person = w.person.public().x25519;
        for kind in [Kind::PersonMessage, Kind::StaffReply, Kind::StaffNote] {
            let to = addressing::recipients(kind, &w.centre, Some(&person)).expect("addressed");
            let bytes = sealed(&w, kind, &to);
            let known = (kind != Kind::StaffNote).then(|| person_id(&w));
            assert!(addressing::check(&bytes, kind, &w.centre, known.as_ref()).is_ok());
            // The first message: the person is learnt from the last stanza.
            assert!(addressing::check(&bytes, kind, &w.centre, None).is_ok());
        }
    }

    #[test]
    fn wrong_format_kind_or_bytes_are_refused() {
        let w = world();
        let person = w.person.public().x25519;
        let to = addressing::recipients(Kind::PersonMessage, &w.centre, Some(&person))
            .expect("addressed");
        let bytes = sealed(&w, Kind::PersonMessage, &to);
        assert_eq!(
            addressing::check(&bytes, Kind::StaffReply, &w.centre, None).map(|_| ()),
            Err(AddressingError::Kind)
        );
        assert_eq!(
            addressing::check(
                &bytes[..bytes.len() - 1],
                Kind::PersonMessage,
                &w.centre,
                None
            )
            .map(|_| ()),
            Err(AddressingError::Malformed)
        );
        let mailbox = w.person.mailbox_id();
        let old = hazmat::seal_v1(
            &mut rng(93),
            Signer::Person(&w.person),
            Message {
                kind: Kind::PersonMessage,
                mailbox: &mailbox,
                body: b"{}",
                sent_at: 1000,
            },
            &to,
        )
        .expect("seals format 1");
        assert_eq!(
            addressing::check(&old, Kind::PersonMessage, &w.centre, None).map(|_| ()),
            Err(AddressingError::OldFormat)
        );
    }

    /// Every way the stanzas can differ from "the centre's staff, then the
    /// person" is refused, for each kind and whether the person is known.
    #[test]
    fn any_other_set_of_recipients_is_refused() {
        let w = world();
        let person = w.person.public().x25519;
        let staff = w.centre.staff_x25519();
        let with_person = |mut list: Vec<X25519Public>| {
            list.push(person);
            list
        };
        let mut replaced = staff.clone();
        replaced[1] = stranger();
        let mut reordered_person_first = vec![person];
        reordered_person_first.extend(staff.iter().copied());
        let cases: Vec<(&str, Kind, Vec<X25519Public>)> = vec![
            (
                "one staff member left out",
                Kind::PersonMessage,
                with_person(staff[..2].to_vec()),
            ),
            (
                "a stranger instead of a staff member",
                Kind::PersonMessage,
                with_person(replaced.clone()),
            ),
            (
                "a stranger added",
                Kind::PersonMessage,
                with_person([staff.clone(), vec![stranger()]].concat()),
            ),
            ("no person", Kind::PersonMessage, staff.clone()),
            (
                "the person first",
                Kind::PersonMessage,
                reordered_person_first,
            ),
            (
                "a staff reply without the person",
                Kind::StaffReply,
                staff.clone(),
            ),
            (
                "a staff reply to a stranger instead of staff",
                Kind::StaffReply,
                with_person(replaced.clone()),
            ),
            (
                "a note to the person too",
                Kind::StaffNote,
                with_person(staff.clone()),
            ),
            (
                "a note to a stranger instead of staff",
                Kind::StaffNote,
                replaced,
            ),
            (
                "a note missing a staff member",
                Kind::StaffNote,
                staff[1..].to_vec(),
            ),
        ];
        for (what, kind, to) in cases {
            let bytes = sealed(&w, kind, &to);
            for known in [None, Some(person_id(&w))] {
                assert_eq!(
                    addressing::check(&bytes, kind, &w.centre, known.as_ref()).map(|_| ()),
                    Err(AddressingError::Recipients),
                    "{what} (person known: {})",
                    known.is_some()
                );
            }
        }
    }

    #[test]
    fn the_last_stanza_must_be_the_threads_person_and_never_a_staff_key() {
        let w = world();
        let staff = w.centre.staff_x25519();
        // A later message to another person than the thread's.
        let other = PersonKeys::from_root(&[10; 32]).public().x25519;
        let to_other = [staff.clone(), vec![other]].concat();
        let bytes = sealed(&w, Kind::PersonMessage, &to_other);
        assert!(addressing::check(&bytes, Kind::PersonMessage, &w.centre, None).is_ok());
        assert_eq!(
            addressing::check(&bytes, Kind::PersonMessage, &w.centre, Some(&person_id(&w)))
                .map(|_| ()),
            Err(AddressingError::Recipients)
        );
        // A staff key in the person's place leaves the staff stanzas one
        // short of the centre (and a repeated key does not parse at all).
        let staff_last = [staff[..2].to_vec(), vec![staff[2]]].concat();
        let bytes = sealed(&w, Kind::PersonMessage, &staff_last);
        assert_eq!(
            addressing::check(&bytes, Kind::PersonMessage, &w.centre, None).map(|_| ()),
            Err(AddressingError::Recipients)
        );
        // Sealed for a two-member centre with a third staff key last: fine
        // for that centre (the key is nobody's staff key there) ...
        let mut centre = w.centre.clone();
        centre.staff.truncate(2);
        let staff2 = centre.staff_x25519();
        let bytes = sealed(
            &w,
            Kind::PersonMessage,
            &[staff2.clone(), vec![staff[2]]].concat(),
        );
        assert!(addressing::check(&bytes, Kind::PersonMessage, &centre, None).is_ok());
        let mut wider = centre.clone();
        wider.staff.push(w.centre.staff[2].clone());
        // ... and refused once that key is staff of the centre.
        assert_eq!(
            addressing::check(&bytes, Kind::PersonMessage, &wider, None).map(|_| ()),
            Err(AddressingError::Recipients)
        );
    }
}

/// PROTOCOL.md §4.8: re-wrapping for a transfer keeps the person's stanza
/// and bounds the recipients exactly as sealing does.
mod rewrapping {
    use super::*;
    use ozvi_crypto::TransferError;
    use ozvi_crypto::protocol::envelope::rewrap;

    struct World {
        person: PersonKeys,
        staff: StaffKeys,
        directory: Directory,
    }

    fn world() -> World {
        let staff = StaffKeys::generate(&mut rng(100));
        let directory = directory_of(std::slice::from_ref(&staff), 2);
        World {
            person: PersonKeys::from_root(&[11; 32]),
            staff,
            directory,
        }
    }

    fn sealed(w: &World, kind: Kind) -> Vec<u8> {
        let mailbox = w.person.mailbox_id();
        let mut to = vec![w.staff.public().x25519];
        if kind != Kind::StaffNote {
            to.push(w.person.public().x25519);
        }
        let signer = match kind {
            Kind::PersonMessage => Signer::Person(&w.person),
            _ => Signer::Staff(&w.staff),
        };
        seal(
            &mut rng(101),
            signer,
            Message {
                kind,
                mailbox: &mailbox,
                body: b"{\"text\":\"x\"}",
                sent_at: 1000,
            },
            &to,
        )
        .expect("seals")
    }

    fn new_staff(n: usize) -> Vec<X25519Public> {
        let mut r = rng(102);
        (0..n)
            .map(|_| StaffKeys::generate(&mut r).public().x25519)
            .collect()
    }

    fn rewrapped(
        w: &World,
        bytes: &[u8],
        person: bool,
        to: &[X25519Public],
    ) -> Result<Vec<u8>, TransferError> {
        let public = w.person.public().x25519;
        rewrap(
            &mut rng(103),
            bytes,
            &w.person.mailbox_id(),
            w.staff.x25519(),
            &w.directory,
            person.then_some(&public),
            to,
        )
    }

    #[test]
    fn a_note_is_rewrapped_to_the_new_staff_only_and_needs_no_person() {
        let w = world();
        let note = sealed(&w, Kind::StaffNote);
        let to = new_staff(2);
        let out = rewrapped(&w, &note, false, &to).expect("a note needs no person key");
        let parsed = Envelope::parse(&out).expect("parses");
        let ids: Vec<_> = parsed.stanzas.iter().map(|s| s.key_id).collect();
        let expected: Vec<_> = to.iter().map(X25519Public::key_id).collect();
        assert_eq!(ids, expected, "exactly the new staff, in order");
        // A person key given for a note is ignored, not added.
        let out = rewrapped(&w, &note, true, &to).expect("ignored");
        assert_eq!(Envelope::parse(&out).expect("parses").stanzas.len(), 2);
    }

    #[test]
    fn the_new_staff_and_the_person_together_are_at_most_thirty_two() {
        let w = world();
        let message = sealed(&w, Kind::PersonMessage);
        // 31 new staff and the person: 32 stanzas, the most an envelope holds.
        let out =
            rewrapped(&w, &message, true, &new_staff(MAX_RECIPIENTS - 1)).expect("32 recipients");
        let parsed = Envelope::parse(&out).expect("parses");
        assert_eq!(parsed.stanzas.len(), MAX_RECIPIENTS);
        assert_eq!(
            parsed.stanzas.last().map(|s| s.key_id),
            Some(w.person.public().x25519.key_id()),
            "the person's stanza last"
        );
        // 32 new staff and the person: one too many.
        assert!(matches!(
            rewrapped(&w, &message, true, &new_staff(MAX_RECIPIENTS)),
            Err(TransferError::Seal(SealError::RecipientCount))
        ));
        // A note may go to 32 staff.
        let note = sealed(&w, Kind::StaffNote);
        assert!(rewrapped(&w, &note, false, &new_staff(MAX_RECIPIENTS)).is_ok());
        assert!(
            rewrapped(&w, &note, false, &[]).is_err(),
            "no one to read it"
        );
        // A person message without the person's key cannot keep her stanza.
        assert!(matches!(
            rewrapped(&w, &message, false, &new_staff(2)),
            Err(TransferError::PersonStanza)
        ));
    }
}

/// The relay's side of a transfer (PROTOCOL.md §4.8): it cannot decrypt,
/// so it compares bytes. Each rule is one a relaxed relay would let through.
mod transfer_checks {
    use super::*;
    use ozvi_crypto::RewrapError;
    use ozvi_crypto::protocol::envelope::rewrap;
    use ozvi_crypto::protocol::transfer::{check_rewrap, person_key_id};

    fn world() -> (PersonKeys, StaffKeys, Directory) {
        let staff = StaffKeys::generate(&mut rng(110));
        let directory = directory_of(std::slice::from_ref(&staff), 3);
        (PersonKeys::from_root(&[13; 32]), staff, directory)
    }

    fn message(person: &PersonKeys, staff: &StaffKeys, kind: Kind, v1: bool) -> Vec<u8> {
        let mailbox = person.mailbox_id();
        let mut to = vec![staff.public().x25519];
        if kind != Kind::StaffNote {
            to.push(person.public().x25519);
        }
        let signer = match kind {
            Kind::PersonMessage => Signer::Person(person),
            _ => Signer::Staff(staff),
        };
        let m = Message {
            kind,
            mailbox: &mailbox,
            body: b"{\"text\":\"x\"}",
            sent_at: 1000,
        };
        if v1 {
            hazmat::seal_v1(&mut rng(111), signer, m, &to).expect("seals")
        } else {
            seal(&mut rng(111), signer, m, &to).expect("seals")
        }
    }

    #[test]
    fn the_person_key_comes_only_from_a_format_2_person_message() {
        let (person, staff, _) = world();
        let id = person.public().x25519.key_id();
        assert_eq!(
            person_key_id(&message(&person, &staff, Kind::PersonMessage, false)),
            Some(id)
        );
        assert_eq!(
            person_key_id(&message(&person, &staff, Kind::StaffReply, false)),
            None
        );
        assert_eq!(
            person_key_id(&message(&person, &staff, Kind::PersonMessage, true)),
            None
        );
        assert_eq!(person_key_id(b"not an envelope"), None);
    }

    #[test]
    fn a_rewrap_may_change_only_the_staff_stanzas() {
        let (person, staff, directory) = world();
        let id = person.public().x25519.key_id();
        let public = person.public().x25519;
        let mailbox = person.mailbox_id();
        let to = vec![StaffKeys::generate(&mut rng(112)).public().x25519];
        let old = message(&person, &staff, Kind::PersonMessage, false);
        let new = rewrap(
            &mut rng(113),
            &old,
            &mailbox,
            staff.x25519(),
            &directory,
            Some(&public),
            &to,
        )
        .expect("rewraps");
        assert_eq!(check_rewrap(&old, &new, Some(&id)), Ok(()));
        // Another message entirely (same kind, same person): new content.
        let other = message(&person, &staff, Kind::PersonMessage, false);
        let mut other_env = Envelope::parse(&other).expect("parses");
        other_env.nonce[0] ^= 1;
        assert_eq!(
            check_rewrap(&old, &other_env.to_bytes(), Some(&id)),
            Err(RewrapError::ContentChanged)
        );
        // The payload changed by one bit.
        let mut changed = Envelope::parse(&new).expect("parses");
        let last = changed.payload.len() - 1;
        changed.payload[last] ^= 1;
        assert_eq!(
            check_rewrap(&old, &changed.to_bytes(), Some(&id)),
            Err(RewrapError::ContentChanged)
        );
        // The person's stanza re-wrapped (or dropped): she could lose access.
        let mut restanza = Envelope::parse(&new).expect("parses");
        let her = restanza.stanzas.len() - 1;
        restanza.stanzas[her].wrapped_key[0] ^= 1;
        assert_eq!(
            check_rewrap(&old, &restanza.to_bytes(), Some(&id)),
            Err(RewrapError::PersonStanza)
        );
        assert_eq!(
            check_rewrap(&old, &new, None),
            Err(RewrapError::PersonStanza)
        );
        // Unreadable or legacy input.
        assert_eq!(
            check_rewrap(&old, b"junk", Some(&id)),
            Err(RewrapError::Malformed)
        );
        assert_eq!(
            check_rewrap(b"junk", &new, Some(&id)),
            Err(RewrapError::Malformed)
        );
        let legacy = message(&person, &staff, Kind::PersonMessage, true);
        assert_eq!(
            check_rewrap(&legacy, &new, Some(&id)),
            Err(RewrapError::Legacy)
        );
    }
}

mod auth_secrets {
    use super::*;

    #[test]
    fn an_auth_secret_exposes_exactly_its_bytes() {
        for bytes in [[0u8; 32], [1; 32], core::array::from_fn(|i| i as u8)] {
            assert_eq!(AuthSecret::from_bytes(bytes).expose(), &bytes);
        }
        let person = PersonKeys::from_root(&[12; 32]);
        let exposed = *person.auth_secret().expose();
        assert_eq!(
            AuthSecret::from_bytes(exposed).verifier(),
            person.auth_secret().verifier()
        );
    }
}

// ------------------------------------------------------------ centre records

mod centre_records {
    use super::*;
    use ozvi_crypto::protocol::addressing::centre_record_mailbox;

    #[test]
    fn the_record_mailbox_is_the_specified_hash_of_the_centre_id() {
        // Computed apart from this crate (Python's hashlib):
        // sha256(b"ozvi/v1/centre-record" + bytes([len(id)]) + id)[:16].
        for (id, hex) in [
            ("ic-zlin", "7cd020a7399818f37f2362a8e9d46b59"),
            ("ic-praha", "409498bfdb63e253fc4743e5bd015e12"),
        ] {
            let expected: Vec<u8> = (0..16)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
                .collect();
            assert_eq!(centre_record_mailbox(id).0.to_vec(), expected, "{id}");
        }
    }

    #[test]
    fn a_record_sealed_for_one_centre_does_not_open_as_another_centres() {
        let mut r = rng(71);
        let staff = vec![StaffKeys::generate(&mut r)];
        let directory = directory_of(&staff, 7);
        let mine = centre_record_mailbox("ic-zlin");
        let sealed = seal(
            &mut r,
            Signer::Staff(&staff[0]),
            Message {
                kind: Kind::StaffNote,
                mailbox: &mine,
                body: br#"{"templates":[]}"#,
                sent_at: 1,
            },
            &directory.centres[0].staff_x25519(),
        )
        .expect("seals");
        assert!(open(&sealed, &mine, staff[0].x25519(), &directory).is_ok());
        assert_eq!(
            open(
                &sealed,
                &centre_record_mailbox("ic-praha"),
                staff[0].x25519(),
                &directory
            )
            .err(),
            Some(OpenError::DecryptionFailed),
            "bound to its centre's record mailbox"
        );
    }
}
