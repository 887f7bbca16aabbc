#![cfg(not(target_arch = "wasm32"))]
//! Project Wycheproof vectors against the primitives as this crate wires
//! them: through the `ozvi_crypto::primitives` wrappers wherever a wrapper
//! can express the test, and against the underlying crate where the wrapper
//! fixes a parameter (the key-wrapping ChaCha20-Poly1305 always uses the
//! all-zero nonce).
//!
//! Every test counts what it checked and asserts that enough ran, so none
//! can pass vacuously (for example if a data set stopped loading or every
//! test were skipped as "wrong size").

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use ozvi_crypto::primitives::aead::{self, TAG_LEN, WRAPPED_KEY_LEN, XNONCE_LEN};
use ozvi_crypto::primitives::kdf::hkdf_sha256;
use ozvi_crypto::primitives::sig::{Ed25519Public, SIGNATURE_LEN};
use ozvi_crypto::primitives::x25519::{X25519Public, X25519Secret};
use wycheproof::TestResult;

/// p = 2^255 − 19, big-endian.
const P_BE: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0x7f;
    p[31] = 0xed;
    p
};

/// Independent of the crate's own check: the high bit is set, or the
/// little-endian value compared as a big-endian number is at least p.
fn non_canonical_u(bytes: &[u8; 32]) -> bool {
    let mut be = *bytes;
    be.reverse();
    be[0] & 0x80 != 0 || be >= P_BE
}

#[test]
fn x25519_through_the_wrapper() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519)
        .expect("the x25519 vectors load");
    let mut agreed = 0usize;
    let mut zero_refused = 0usize;
    let mut rejected_non_canonical = 0usize;
    for group in &set.test_groups {
        for test in &group.tests {
            let id = test.tc_id;
            assert_ne!(
                test.result,
                TestResult::Invalid,
                "tc {id}: no x25519 test is invalid"
            );
            let private: [u8; 32] = test.private_key[..]
                .try_into()
                .expect("32-byte private key");
            let public: [u8; 32] = test.public_key[..].try_into().expect("32-byte public key");
            let secret = X25519Secret::from_bytes(private);
            let Ok(their) = X25519Public::from_canonical_bytes(&public) else {
                assert!(
                    non_canonical_u(&public),
                    "tc {id}: a canonical u-coordinate was rejected"
                );
                assert!(X25519Public::from_bytes(&public).is_err());
                rejected_non_canonical += 1;
                continue;
            };
            assert!(
                !non_canonical_u(&public),
                "tc {id}: a non-canonical u-coordinate was accepted"
            );
            let expect_zero = test.shared_secret.iter().all(|&b| b == 0);
            match secret.diffie_hellman(&their) {
                Some(shared) => {
                    assert!(!expect_zero, "tc {id}: an all-zero secret was returned");
                    assert_eq!(
                        &shared[..],
                        &test.shared_secret[..],
                        "tc {id}: wrong shared secret"
                    );
                    agreed += 1;
                }
                None => {
                    assert!(expect_zero, "tc {id}: a contributory exchange was refused");
                    zero_refused += 1;
                }
            }
            // The long-term parser refuses exactly the keys whose shared
            // secret is zero (the low-order points), and nothing else.
            assert_eq!(
                X25519Public::from_bytes(&public).is_err(),
                expect_zero,
                "tc {id}: low-order check disagrees with the vector"
            );
        }
    }
    eprintln!(
        "x25519: {agreed} agreed, {zero_refused} all-zero refused, \
         {rejected_non_canonical} rejected by the canonical check"
    );
    assert!(agreed > 450, "only {agreed} x25519 agreements checked");
    assert!(
        zero_refused >= 10,
        "only {zero_refused} zero secrets checked"
    );
    assert!(rejected_non_canonical >= 15);
    assert_eq!(
        agreed + zero_refused + rejected_non_canonical,
        set.number_of_tests
    );
}

#[test]
fn xchacha20_poly1305_through_the_wrapper() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::XChaCha20Poly1305)
        .expect("the XChaCha20-Poly1305 vectors load");
    let (mut valid, mut invalid, mut wrong_size) = (0usize, 0usize, 0usize);
    for group in &set.test_groups {
        for test in &group.tests {
            let id = test.tc_id;
            let sizes = (
                <[u8; 32]>::try_from(&test.key[..]),
                <[u8; XNONCE_LEN]>::try_from(&test.nonce[..]),
            );
            let (Ok(key), Ok(nonce)) = sizes else {
                // The wrapper's types cannot even express these.
                assert_eq!(test.result, TestResult::Invalid, "tc {id}");
                wrong_size += 1;
                continue;
            };
            if test.tag.len() != TAG_LEN {
                assert_eq!(test.result, TestResult::Invalid, "tc {id}");
                wrong_size += 1;
                continue;
            }
            let sealed = [&test.ct[..], &test.tag[..]].concat();
            let opened = aead::xchacha_open(&key, &nonce, &test.aad, &sealed);
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(
                        aead::xchacha_seal(&key, &nonce, &test.aad, &test.pt),
                        sealed,
                        "tc {id}: wrong ciphertext or tag"
                    );
                    assert_eq!(
                        opened.as_deref().map(Vec::as_slice),
                        Some(&test.pt[..]),
                        "tc {id}: a valid ciphertext did not open"
                    );
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(opened.is_none(), "tc {id}: an invalid ciphertext opened");
                    invalid += 1;
                }
            }
        }
    }
    eprintln!("xchacha20-poly1305: {valid} valid, {invalid} invalid, {wrong_size} wrong sizes");
    assert!(
        valid > 200 && invalid > 50,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn chacha20_poly1305_as_used_for_key_wrapping() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::ChaCha20Poly1305)
        .expect("the ChaCha20-Poly1305 vectors load");
    let (mut valid, mut invalid, mut wrong_size) = (0usize, 0usize, 0usize);
    let mut unwrap_vectors = 0usize;
    let mut wrap_cross_checks = 0usize;
    for group in &set.test_groups {
        for test in &group.tests {
            let id = test.tc_id;
            let sizes = (
                <[u8; 32]>::try_from(&test.key[..]),
                <[u8; 12]>::try_from(&test.nonce[..]),
            );
            let (Ok(key), Ok(nonce)) = sizes else {
                assert_eq!(test.result, TestResult::Invalid, "tc {id}");
                wrong_size += 1;
                continue;
            };
            if test.tag.len() != TAG_LEN {
                assert_eq!(test.result, TestResult::Invalid, "tc {id}");
                wrong_size += 1;
                continue;
            }
            // The underlying crate, with the vector's nonce.
            let cipher = ChaCha20Poly1305::new(&key.into());
            let sealed = [&test.ct[..], &test.tag[..]].concat();
            let opened = cipher.decrypt(
                &nonce.into(),
                Payload {
                    msg: &sealed,
                    aad: &test.aad,
                },
            );
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    let encrypted = cipher
                        .encrypt(
                            &nonce.into(),
                            Payload {
                                msg: &test.pt,
                                aad: &test.aad,
                            },
                        )
                        .expect("encrypts");
                    assert_eq!(encrypted, sealed, "tc {id}: wrong ciphertext or tag");
                    assert_eq!(opened.ok(), Some(test.pt.to_vec()), "tc {id}");
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(opened.is_err(), "tc {id}: an invalid ciphertext opened");
                    invalid += 1;
                }
            }
            let wrapped: Result<[u8; WRAPPED_KEY_LEN], _> = sealed[..].try_into();
            if nonce == [0u8; 12] && test.aad.is_empty() {
                // Exactly the wrapper's setting: a vector it can run as is.
                if let Ok(wrapped) = wrapped {
                    let unwrapped = aead::unwrap_key(&key, &wrapped);
                    if test.result == TestResult::Invalid {
                        assert!(unwrapped.is_none(), "tc {id}");
                    } else {
                        assert_eq!(unwrapped.as_deref().map(|k| &k[..]), Some(&test.pt[..]));
                    }
                    unwrap_vectors += 1;
                }
            }
            // No vector of this data set has the wrapper's exact setting
            // (zero nonce, no AAD, 32-byte message), so also cross-check the
            // wrapper against the crate just validated above: same key, the
            // first 32 bytes of the vector's plaintext, the zero nonce.
            if test.result == TestResult::Valid && test.pt.len() >= 32 {
                let content: [u8; 32] = test.pt[..32].try_into().expect("32 bytes");
                let wrapped = aead::wrap_key(&key, &content);
                let reference = cipher
                    .encrypt(&[0u8; 12].into(), &content[..])
                    .expect("encrypts");
                assert_eq!(&wrapped[..], &reference[..], "tc {id}: wrap_key");
                assert_eq!(
                    aead::unwrap_key(&key, &wrapped).as_deref(),
                    Some(&content),
                    "tc {id}: unwrap_key"
                );
                for i in [0, 31, 32, WRAPPED_KEY_LEN - 1] {
                    let mut tampered = wrapped;
                    tampered[i] ^= 0x01;
                    assert!(aead::unwrap_key(&key, &tampered).is_none(), "tc {id}");
                }
                wrap_cross_checks += 1;
            }
        }
    }
    eprintln!(
        "chacha20-poly1305: {valid} valid, {invalid} invalid, {wrong_size} wrong sizes; \
         {unwrap_vectors} vectors in the wrapper's exact setting, \
         {wrap_cross_checks} wrap/unwrap cross-checks"
    );
    assert!(
        valid > 200 && invalid > 50,
        "{valid} valid, {invalid} invalid"
    );
    assert!(
        wrap_cross_checks > 100,
        "{wrap_cross_checks} wrap cross-checks"
    );
}

#[test]
fn ed25519_through_the_wrapper() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519)
        .expect("the Ed25519 vectors load");
    let (mut valid, mut invalid) = (0usize, 0usize);
    let (mut acceptable_accepted, mut acceptable_rejected) = (0usize, 0usize);
    for group in &set.test_groups {
        let public = Ed25519Public::from_bytes(&group.key.pk);
        for test in &group.tests {
            let id = test.tc_id;
            let verified = match (&public, <[u8; SIGNATURE_LEN]>::try_from(&test.sig[..])) {
                (Ok(public), Ok(sig)) => public.verify(&test.msg, &sig),
                _ => false,
            };
            match test.result {
                TestResult::Valid => {
                    assert!(verified, "tc {id}: a valid signature was refused");
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(!verified, "tc {id}: an invalid signature verified");
                    invalid += 1;
                }
                // verify_strict and the weak-key check may refuse these.
                TestResult::Acceptable if verified => acceptable_accepted += 1,
                TestResult::Acceptable => acceptable_rejected += 1,
            }
        }
    }
    eprintln!(
        "ed25519: {valid} valid, {invalid} invalid, acceptable: \
         {acceptable_accepted} accepted, {acceptable_rejected} rejected"
    );
    assert!(
        valid > 60 && invalid > 50,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn hkdf_sha256_through_the_wrapper() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256)
        .expect("the HKDF-SHA256 vectors load");
    let (mut valid, mut too_long) = (0usize, 0usize);
    for group in &set.test_groups {
        for test in &group.tests {
            let id = test.tc_id;
            if test.size > 255 * 32 {
                // RFC 5869's limit. The wrapper does not return an error (no
                // caller in the crate asks for more than 32 bytes); it must
                // panic rather than produce output.
                assert_eq!(test.result, TestResult::Invalid, "tc {id}");
                let outcome = std::panic::catch_unwind(|| {
                    let mut out = vec![0u8; test.size];
                    hkdf_sha256(&test.salt, &test.ikm, &test.info, &mut out);
                    out
                });
                assert!(
                    outcome.is_err(),
                    "tc {id}: an oversized output was produced"
                );
                too_long += 1;
                continue;
            }
            let mut out = vec![0u8; test.size];
            hkdf_sha256(&test.salt, &test.ikm, &test.info, &mut out);
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(&out[..], &test.okm[..], "tc {id}: wrong output");
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert_ne!(&out[..], &test.okm[..], "tc {id}");
                }
            }
        }
    }
    eprintln!("hkdf-sha256: {valid} valid, {too_long} over-long outputs refused");
    assert!(
        valid > 75 && too_long >= 1,
        "{valid} valid, {too_long} too long"
    );
}

/// Not covered by Wycheproof's Ed25519 set (its keys are all canonical):
/// `Ed25519Public::from_bytes` promises a canonically encoded point, so the
/// encodings of y + p (for the small y where that still fits 255 bits) must be
/// refused even where the point decompresses and is not of small order.
/// (`ed25519_dalek::VerifyingKey::from_bytes` accepts them and keeps the
/// input bytes, so comparing `to_bytes()` with the input does not catch them.)
#[test]
fn ed25519_non_canonical_public_keys_are_rejected() {
    let mut decompressing = 0;
    for y in 0u8..=18 {
        for sign in [0u8, 0x80] {
            // p + y, little-endian: 0xed + y, then 0xff…, then 0x7f (| sign).
            let mut encoding = [0xffu8; 32];
            encoding[0] = 0xed + y;
            encoding[31] = 0x7f | sign;
            let Ok(point) = ed25519_dalek::VerifyingKey::from_bytes(&encoding) else {
                continue;
            };
            if !point.is_weak() {
                decompressing += 1;
            }
            // The same point's canonical encoding is fine unless it is weak.
            let canonical = point.to_edwards().compress().to_bytes();
            assert_ne!(canonical, encoding);
            assert_eq!(
                Ed25519Public::from_bytes(&canonical).is_ok(),
                !point.is_weak(),
                "y = {y}: the canonical encoding"
            );
            assert!(
                Ed25519Public::from_bytes(&encoding).is_err(),
                "the non-canonical encoding of y = {y} (sign {sign:#x}) was accepted"
            );
        }
    }
    assert!(
        decompressing > 0,
        "no non-weak non-canonical point was tried"
    );
}
