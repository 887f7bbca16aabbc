//! The bindings as JavaScript sees them, run inside WebAssembly under Node
//! (`cargo xtask test`): each converts faithfully, and every failure is one
//! of the stable codes the page translates.
#![cfg(target_arch = "wasm32")]

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use ozvi_crypto::protocol::directory::{Contact, Texts};
use ozvi_crypto::protocol::envelope::{Message, Signer, open, seal};
use ozvi_crypto::protocol::pow;
use ozvi_crypto::{Directory, MailboxId, StaffKeys};
use ozvi_tests::cast::{Cast, centre, zlin};
use ozvi_web::{
    Conversation, Deployment, Person, check_code, codes, new_code, open_file, seal_file, sha256,
    solve_pow,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

/// The message of what a binding threw.
fn thrown<T>(result: Result<T, wasm_bindgen::JsError>) -> String {
    let Err(error) = result else {
        panic!("expected an error");
    };
    js_sys::Error::from(JsValue::from(error))
        .message()
        .as_string()
        .expect("a string")
}

struct World {
    root: Ed25519Secret,
    directory: Directory,
    staff: StaffKeys,
    signed: String,
}

/// Praha (the default centre) and Zlín, each with one staff member (the
/// harness's cast); directory version 3.
fn world() -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(0x0077_6562);
    let staff = StaffKeys::generate(&mut rng);
    let praha = StaffKeys::generate(&mut rng);
    let cast = Cast::new(
        &mut rng,
        vec![
            centre("ic-praha", "CZ-10", [("praha-1", &praha)]),
            zlin(std::slice::from_ref(&staff)),
        ],
    );
    let Cast {
        root,
        mut directory,
    } = cast;
    directory.version = 3;
    let signed = directory.sign(&root).expect("signs").to_json();
    World {
        root,
        directory,
        staff,
        signed,
    }
}

fn root_key(world: &World) -> String {
    b64::encode(&world.root.public().to_bytes())
}

#[wasm_bindgen_test]
fn a_new_code_checks_and_typos_get_their_own_codes() {
    let code = new_code();
    assert_eq!(code.len(), 23, "{code}");
    assert_eq!(
        check_code(&code.to_lowercase().replace('-', " ")).expect("valid"),
        code
    );
    assert_eq!(thrown(check_code(&code[..20])), codes::CODE_LENGTH);
    assert_eq!(
        thrown(check_code(&code.replacen(&code[..1], "U", 1))),
        codes::CODE_CHARACTER
    );
    let swapped: String = {
        let c: Vec<char> = code.chars().collect();
        let mut c2 = c.clone();
        c2.swap(0, 1);
        if c[0] == c[1] {
            c2.swap(0, 2);
        }
        c2.into_iter().collect()
    };
    assert_eq!(thrown(check_code(&swapped)), codes::CODE_TYPO);
}

#[wasm_bindgen_test]
fn a_code_typed_with_cyrillic_look_alikes_checks_as_the_latin_code() {
    let code = new_code();
    // Every symbol with a Cyrillic look-alike typed in Cyrillic (PROTOCOL.md §2).
    let cyrillic: String = code
        .chars()
        .map(|ch| match ch {
            'A' => 'А',
            'B' => 'в',
            'C' => 'С',
            'E' => 'е',
            'H' => 'Н',
            'K' => 'к',
            'M' => 'М',
            'P' => 'р',
            'T' => 'Т',
            'X' => 'х',
            'Y' => 'У',
            '0' => 'О',
            '1' => 'І',
            '3' => 'З',
            other => other,
        })
        .collect();
    assert_eq!(check_code(&cyrillic).expect("look-alikes"), code);
    // И is not drawn like any symbol: the character error, not a typo.
    let with_i = format!("И{}", &code[1..]);
    assert_eq!(thrown(check_code(&with_i)), codes::CODE_CHARACTER);
}

fn texts(text: &str) -> Texts {
    Texts {
        cs: format!("{text} cs"),
        en: format!("{text} en"),
        uk: format!("{text} uk"),
    }
}

#[wasm_bindgen_test]
fn centres_carry_contact_details_answer_time_and_acknowledgement_only_when_listed() {
    let mut w = world();
    let zlin = w
        .directory
        .centres
        .iter_mut()
        .find(|c| c.id == "ic-zlin")
        .expect("listed");
    zlin.contact = Some(Contact {
        phone: "+420 000 000 072".into(),
        address: "Ukázková 1, Zlín (ukázková data)".into(),
        hours: texts("Po–Pá 8–16"),
    });
    zlin.answer_time = Some(texts("Do jednoho pracovního dne"));
    zlin.acknowledgement = Some(texts("Děkujeme, zprávu jsme dostali"));
    let signed = w.directory.sign(&w.root).expect("signs").to_json();
    let deployment = Deployment::new(&signed, &root_key(&w)).expect("verifies");
    let centres: serde_json::Value =
        serde_json::from_str(&deployment.centres_json()).expect("json");
    // The exact shape the page codes against.
    assert_eq!(
        centres[1],
        serde_json::json!({
            "id": "ic-zlin",
            "names": {"cs": "Centrum ic-zlin", "en": "Centre ic-zlin", "uk": "Центр ic-zlin"},
            "regions": ["CZ-72"],
            "contact": {
                "phone": "+420 000 000 072",
                "address": "Ukázková 1, Zlín (ukázková data)",
                "hours": {"cs": "Po–Pá 8–16 cs", "en": "Po–Pá 8–16 en", "uk": "Po–Pá 8–16 uk"}
            },
            "answer_time": {
                "cs": "Do jednoho pracovního dne cs",
                "en": "Do jednoho pracovního dne en",
                "uk": "Do jednoho pracovního dne uk"
            },
            "acknowledgement": {
                "cs": "Děkujeme, zprávu jsme dostali cs",
                "en": "Děkujeme, zprávu jsme dostali en",
                "uk": "Děkujeme, zprávu jsme dostali uk"
            }
        })
    );
    // Praha lists none of them: the members are absent, not null.
    assert_eq!(
        centres[0],
        serde_json::json!({
            "id": "ic-praha",
            "names": {"cs": "Centrum ic-praha", "en": "Centre ic-praha", "uk": "Центр ic-praha"},
            "regions": ["CZ-10"]
        })
    );
}

#[wasm_bindgen_test]
fn the_directory_verifies_only_under_its_root_and_routes_regions() {
    let w = world();
    let deployment = Deployment::new(&w.signed, &root_key(&w)).expect("verifies");
    assert_eq!(deployment.version(), 3.0);
    let centres: serde_json::Value =
        serde_json::from_str(&deployment.centres_json()).expect("json");
    assert_eq!(centres[1]["id"], "ic-zlin");
    assert_eq!(centres[1]["names"]["uk"], "Центр ic-zlin");
    assert_eq!(deployment.centre_for(Some("CZ-72".into())), "ic-zlin");
    assert_eq!(
        deployment.centre_for(None),
        "ic-praha",
        "I don't know → default"
    );

    let other = b64::encode(&Ed25519Secret::generate(&mut os_rng()).public().to_bytes());
    assert_eq!(
        thrown(Deployment::new(&w.signed, &other)),
        codes::DIRECTORY_SIGNATURE
    );
    assert_eq!(
        thrown(Deployment::new("{}", &root_key(&w))),
        codes::DIRECTORY_INVALID
    );
    assert_eq!(
        thrown(Deployment::new(&w.signed, "not a key")),
        codes::DIRECTORY_INVALID
    );
}

#[wasm_bindgen_test]
fn her_message_opens_for_staff_and_her_and_a_reply_opens_verified() {
    let w = world();
    let deployment = Deployment::new(&w.signed, &root_key(&w)).expect("verifies");
    let code = new_code();
    let person = Person::derive(&code, &deployment).expect("derives");
    let mailbox = MailboxId::from_b64(&person.mailbox_id()).expect("mailbox id");
    assert_eq!(
        b64::decode(&person.auth_secret()).expect("b64").len(),
        32,
        "auth secret"
    );
    // The same code gives the same keys.
    let again = Person::derive(&code.to_lowercase(), &deployment).expect("derives");
    assert_eq!(again.mailbox_id(), person.mailbox_id());
    assert_eq!(again.verifier(), person.verifier());

    let body = r#"{"text":"Pomoc","lang":"cs"}"#;
    let envelope = person
        .seal(&deployment, "ic-zlin", body, 1_700_000_123.9)
        .expect("seals");
    let bytes = b64::decode(&envelope).expect("b64");
    let opened = open(&bytes, &mailbox, w.staff.x25519(), &w.directory).expect("staff opens");
    assert_eq!(opened.body, body.as_bytes());
    assert_eq!(opened.sent_at, 1_700_000_123);
    // Staff learn her reply key from her message's frame.
    let ozvi_crypto::Sender::Person(her) = opened.sender else {
        panic!("a person message");
    };
    let mine: serde_json::Value =
        serde_json::from_str(&person.open(&deployment, &envelope).expect("she opens"))
            .expect("json");
    assert_eq!(mine["from"], "person");
    assert_eq!(mine["body"], body);
    assert_eq!(
        thrown(person.seal(&deployment, "ic-nowhere", body, 0.0)),
        codes::UNKNOWN_CENTRE
    );

    let reply = seal(
        &mut os_rng(),
        Signer::Staff(&w.staff),
        Message {
            kind: Kind::StaffReply,
            mailbox: &mailbox,
            body: br#"{"text":"Jsme tu."}"#,
            sent_at: 5,
        },
        &[w.staff.public().x25519, her.x25519],
    )
    .expect("seals");
    let view: serde_json::Value = serde_json::from_str(
        &person
            .open(&deployment, &b64::encode(&reply))
            .expect("opens"),
    )
    .expect("json");
    assert_eq!(view["from"], "staff");
    assert_eq!(view["staff"], "Pracovnice", "her label in the directory");
    assert_eq!(view["centre"], "ic-zlin");

    let mut tampered = reply.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        thrown(person.open(&deployment, &b64::encode(&tampered))),
        codes::UNVERIFIED
    );
    assert_eq!(thrown(person.open(&deployment, "%%%")), codes::UNVERIFIED);
}

#[wasm_bindgen_test]
fn proof_of_work_solutions_verify() {
    let challenge = [7u8; 43];
    let nonce = solve_pow(&b64::encode(&challenge), 10).expect("solves");
    assert!(pow::verify(&challenge, 10, nonce as u64));
    assert_eq!(thrown(solve_pow("***", 4)), codes::POW_INVALID);
    assert_eq!(
        thrown(solve_pow(&b64::encode(&challenge), 40)),
        codes::POW_INVALID
    );
}

#[wasm_bindgen_test]
fn a_replayed_message_is_shown_once_and_flagged_by_the_conversation_check() {
    let w = world();
    let deployment = Deployment::new(&w.signed, &root_key(&w)).expect("verifies");
    let person = Person::derive(&new_code(), &deployment).expect("derives");
    let first = person
        .seal(&deployment, "ic-zlin", r#"{"text":"Pomoc"}"#, 1.0)
        .expect("seals");
    let second = person
        .seal(&deployment, "ic-zlin", r#"{"text":"Ještě"}"#, 2.0)
        .expect("seals");
    let check = |c: &mut Conversation, seq: f64, envelope: &str| -> serde_json::Value {
        serde_json::from_str(&person.open_in_thread(&deployment, c, seq, envelope)).expect("json")
    };
    let mut c = Conversation::new();
    let shown = check(&mut c, 1.0, &first);
    assert_eq!(shown["check"], "show");
    assert_eq!(shown["from"], "person");
    assert_eq!(shown["body"], r#"{"text":"Pomoc"}"#);
    assert_eq!(check(&mut c, 2.0, "%%%")["check"], "unverified");
    // The relay (or anyone) delivers her first message again, as new.
    let replay = check(&mut c, 3.0, &first);
    assert_eq!(replay["check"], "replay");
    assert_eq!(replay["first_seq"], 1);
    assert!(replay.get("body").is_none(), "a replay is not shown again");
    assert_eq!(check(&mut c, 3.0, &second)["check"], "out_of_order");
    assert_eq!(check(&mut c, 4.0, &second)["check"], "show");
    // A fresh conversation (the thread opened again) shows it once more.
    assert_eq!(
        check(&mut Conversation::new(), 3.0, &first)["check"],
        "show"
    );

    // A body that repeats a member name is not strict JSON: not genuine.
    let twice = person
        .seal(&deployment, "ic-zlin", r#"{"text":"A","text":"B"}"#, 3.0)
        .expect("seals");
    assert_eq!(thrown(person.open(&deployment, &twice)), codes::UNVERIFIED);
    assert_eq!(check(&mut c, 5.0, &twice)["check"], "unverified");
}

#[wasm_bindgen_test]
fn a_photo_seals_opens_only_with_its_reference_and_mailbox_and_rides_in_her_message() {
    let w = world();
    let deployment = Deployment::new(&w.signed, &root_key(&w)).expect("verifies");
    let person = Person::derive(&new_code(), &deployment).expect("derives");
    let mailbox = person.mailbox_id();
    let photo: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let mut sealed = seal_file(&mailbox, &photo, "image/jpeg", 640, 480).expect("seals");
    let blob = sealed.take_blob();
    assert!(sealed.take_blob().is_empty(), "the blob is handed out once");
    assert_eq!(blob.len(), 20 + 2 * 65552, "two chunks: the 128 KiB bucket");
    // The page hashes the blob with WebCrypto; `sha256` is its fallback.
    let digest = sha256(&blob);
    assert_eq!(digest.len(), 32);
    assert_eq!(
        thrown(sealed.reference(&digest[..31])),
        codes::FILE_INVALID_REFERENCE
    );
    let reference = sealed.reference(&digest).expect("a reference");
    let json: serde_json::Value = serde_json::from_str(&reference).expect("json");
    assert_eq!(json["id"], sealed.id());
    assert_eq!(
        (json["type"].as_str(), json["width"].as_u64()),
        (Some("image/jpeg"), Some(640))
    );
    assert_eq!(
        open_file(&mailbox, &reference, &blob).expect("opens"),
        photo
    );

    // Another mailbox, a changed byte, a cut blob, a bad reference.
    let other = Person::derive(&new_code(), &deployment).expect("derives");
    let mut changed = blob.clone();
    changed[100] ^= 1;
    assert_eq!(
        thrown(open_file(&other.mailbox_id(), &reference, &blob)),
        codes::FILE_DECRYPTION_FAILED
    );
    assert_eq!(
        thrown(open_file(&mailbox, &reference, &changed)),
        codes::FILE_HASH
    );
    assert_eq!(
        thrown(open_file(&mailbox, &reference, &blob[..65572])),
        codes::FILE_LENGTH
    );
    assert_eq!(
        thrown(open_file(&mailbox, "{}", &blob)),
        codes::FILE_INVALID_REFERENCE
    );
    assert_eq!(
        thrown(open_file(&mailbox, "not json", &blob)),
        codes::FILE_INVALID_REFERENCE
    );
    assert_eq!(
        thrown(open_file("???", &reference, &blob)),
        codes::MAILBOX_INVALID
    );
    // A reference made with another hash names a file no reader opens.
    let mut digest_changed = digest.clone();
    digest_changed[0] ^= 1;
    let wrong = sealed.reference(&digest_changed).expect("a reference");
    assert_eq!(thrown(open_file(&mailbox, &wrong, &blob)), codes::FILE_HASH);
    assert_eq!(
        thrown(seal_file(&mailbox, &photo, "application/zip", 1, 1)),
        codes::FILE_INVALID_REFERENCE
    );
    assert_eq!(
        thrown(seal_file(&mailbox, &photo, "image/png", 0, 1)),
        codes::FILE_INVALID_REFERENCE
    );

    // The reference rides in her message and comes back to her as sent.
    let body = format!(r#"{{"text":"Fotka","files":[{reference}]}}"#);
    let envelope = person
        .seal(&deployment, "ic-zlin", &body, 1.0)
        .expect("seals");
    let opened: serde_json::Value =
        serde_json::from_str(&person.open(&deployment, &envelope).expect("opens")).expect("json");
    let carried: serde_json::Value =
        serde_json::from_str(opened["body"].as_str().expect("body")).expect("json");
    assert_eq!(carried["files"][0], json);
}
