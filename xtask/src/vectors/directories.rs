//! Signed directories (PROTOCOL.md §6).

use super::*;

pub(super) fn directory_vectors(w: &World, out: &mut Writer) -> anyhow::Result<()> {
    let root_key = b64::encode(&w.root.public().to_bytes());
    let vector = |description: &str, signed: &str, pinned: Option<&str>, expect: &str| {
        let mut v = json!({"type": "directory", "description": description, "signed": signed,
                           "root_key": root_key, "pinned": pinned, "expect": expect});
        if expect == "success" {
            let json: Value = serde_json::from_str(signed).expect("valid JSON");
            let payload =
                b64::decode(json["directory"].as_str().expect("a string")).expect("canonical");
            let doc: Value = serde_json::from_slice(&payload).expect("valid JSON");
            v["version"] = doc["version"].clone();
            v["centres"] = json!(doc["centres"].as_array().map_or(0, Vec::len));
        }
        v
    };
    let sign = |d: &Directory| d.sign(&w.root).expect("valid").to_json();
    // Signs any payload, valid or not, exactly as the operator's tool would.
    let sign_raw = |payload: &Value| {
        let bytes = serde_json::to_vec(payload).expect("serializable");
        let sig = w.root.sign(&[labels::DIRECTORY_SIGNATURE, &bytes].concat());
        json!({"directory": b64::encode(&bytes), "signature": b64::encode(&sig)}).to_string()
    };
    let doc = serde_json::to_value(w.directory.to_doc())?;

    out.write(
        "directory-valid",
        vector("the sample directory", &w.signed, None, "success"),
    )?;
    let mut newer = w.directory.clone();
    newer.version = 6;
    newer.centres[0].staff.pop();
    out.write(
        "directory-newer-version",
        vector(
            "a newer version replaces the pinned one (a staff member removed)",
            &sign(&newer),
            Some(&w.signed),
            "success",
        ),
    )?;
    out.write(
        "directory-same-version-again",
        vector(
            "the same document again",
            &w.signed,
            Some(&w.signed),
            "success",
        ),
    )?;
    let mut older = w.directory.clone();
    older.version = 4;
    out.write(
        "directory-older-version",
        vector(
            "an older version than the pinned one",
            &sign(&older),
            Some(&w.signed),
            "rollback",
        ),
    )?;
    let mut same_version = w.directory.clone();
    same_version.issued_at += 1;
    out.write(
        "directory-same-version-other-content",
        vector(
            "the pinned version number with other content",
            &sign(&same_version),
            Some(&w.signed),
            "rollback",
        ),
    )?;
    let mut other_salt = w.directory.clone();
    other_salt.version = 6;
    other_salt.salt = DeploymentSalt([9; 16]);
    out.write(
        "directory-salt-changed",
        vector(
            "a newer version with another deployment salt",
            &sign(&other_salt),
            Some(&w.signed),
            "wrong_deployment",
        ),
    )?;

    let signed: Value = serde_json::from_str(&w.signed)?;
    let mut sig = b64::decode(signed["signature"].as_str().expect("a string"))?;
    sig[10] ^= 1;
    let bad_sig =
        json!({"directory": signed["directory"], "signature": b64::encode(&sig)}).to_string();
    out.write(
        "directory-bad-signature",
        vector(
            "one signature byte flipped",
            &bad_sig,
            None,
            "bad_signature",
        ),
    )?;
    let mut payload = b64::decode(signed["directory"].as_str().expect("a string"))?;
    let at = payload
        .iter()
        .position(|&b| b == b'5')
        .expect("version 5 appears");
    payload[at] = b'9';
    let changed =
        json!({"directory": b64::encode(&payload), "signature": signed["signature"]}).to_string();
    out.write(
        "directory-changed-after-signing",
        vector(
            "the version changed after signing",
            &changed,
            None,
            "bad_signature",
        ),
    )?;
    let impostor = Ed25519Secret::from_seed(&[0x66; 32]);
    let other_root = w.directory.sign(&impostor).expect("valid").to_json();
    out.write(
        "directory-other-root-key",
        vector(
            "signed by a key other than the pinned root",
            &other_root,
            None,
            "bad_signature",
        ),
    )?;
    let nc = json!({"directory": signed["directory"],
                    "signature": with_trailing_bits(signed["signature"].as_str().expect("a string"))}).to_string();
    out.write(
        "directory-base64-trailing-bits",
        vector(
            "the signature in non-canonical base64url",
            &nc,
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-not-json",
        vector("not JSON", "directory", None, "malformed"),
    )?;

    let edit = |f: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        f(&mut d);
        sign_raw(&d)
    };
    out.write(
        "directory-format-2",
        vector(
            "a format this implementation does not read",
            &edit(&|d| d["format"] = json!(2)),
            None,
            "unsupported_version",
        ),
    )?;
    out.write(
        "directory-version-0",
        vector(
            "version 0",
            &edit(&|d| d["version"] = json!(0)),
            None,
            "malformed",
        ),
    )?;
    // Strict JSON (§1.3): a member name twice is malformed at every level,
    // whichever copy a lax parser would keep.
    let sign_text = |payload: &str| {
        let sig = w
            .root
            .sign(&[labels::DIRECTORY_SIGNATURE, payload.as_bytes()].concat());
        json!({"directory": b64::encode(payload.as_bytes()), "signature": b64::encode(&sig)})
            .to_string()
    };
    let text = serde_json::to_string(&doc)?;
    let once = |from: &str, to: &str| {
        assert!(text.contains(from), "{from} appears");
        text.replacen(from, to, 1)
    };
    let outsider = json!({"id": "intruder", "label": "Vetřelec",
        "x25519": b64::encode(w.outsider.public().x25519.as_bytes()),
        "ed25519": b64::encode(&w.outsider.public().ed25519.to_bytes())});
    let at_end = |extra: &str| {
        let body = text.strip_suffix('}').expect("an object");
        format!("{body},{extra}}}")
    };
    // `doc` is a serde_json::Value: its members are in name order, so a
    // staff entry ends with `x25519`.
    let zlin1_x = b64::encode(w.zlin1.public().x25519.as_bytes());
    // Each repeated member comes last, where a parser that keeps the last
    // copy would take it: a different version, an outsider on Zlín's staff,
    // another name, another key.
    let duplicates = [
        (
            "directory-duplicate-member-top-level",
            "`version` twice at the top level",
            at_end("\"version\":9"),
        ),
        (
            "directory-duplicate-member-escaped",
            "`version` twice, the second written with an escape",
            at_end("\"\\u0076ersion\":9"),
        ),
        (
            "directory-duplicate-member-second-staff-list",
            "a centre with a second `staff` list naming an outsider",
            once(
                "]},{\"id\":\"ic-praha\"",
                &format!("],\"staff\":[{outsider}]}},{{\"id\":\"ic-praha\""),
            ),
        ),
        (
            "directory-duplicate-member-names",
            "a centre's `cs` name twice",
            once(
                "\"uk\":\"Інтервенційний центр Злінського краю\"}",
                "\"uk\":\"Інтервенційний центр Злінського краю\",\"cs\":\"Jiné jméno\"}",
            ),
        ),
        (
            "directory-duplicate-member-staff-key",
            "a staff entry's `x25519` key twice",
            once(
                &format!("\"x25519\":\"{zlin1_x}\"}}"),
                &format!(
                    "\"x25519\":\"{zlin1_x}\",\"x25519\":\"{}\"}}",
                    b64::encode(w.outsider.public().x25519.as_bytes())
                ),
            ),
        ),
    ];
    for (name, description, payload) in duplicates {
        anyhow::ensure!(
            serde_json::from_str::<Value>(&payload).is_ok(),
            "{name}: a lax parser reads it"
        );
        out.write(
            name,
            vector(description, &sign_text(&payload), None, "malformed"),
        )?;
    }
    let good_sig = signed["signature"].as_str().expect("a string");
    let twice_signed = format!(
        "{{\"directory\":\"{}\",\"signature\":\"{}\",\"signature\":\"{good_sig}\"}}",
        signed["directory"].as_str().expect("a string"),
        b64::encode(&[0u8; 64]),
    );
    out.write(
        "directory-duplicate-member-signed-form",
        vector(
            "the served form with `signature` twice, the valid one last",
            &twice_signed,
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-unknown-field",
        vector(
            "an unknown field",
            &edit(&|d| d["extra"] = json!(true)),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-unknown-region",
        vector(
            "a region code that does not exist",
            &edit(&|d| d["centres"][0]["regions"][0] = json!("CZ-99")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-duplicate-staff-id",
        vector(
            "two staff members with one id",
            &edit(&|d| d["centres"][0]["staff"][1]["id"] = json!("zlin-1")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-duplicate-centre-id",
        vector(
            "two centres with one id",
            &edit(&|d| d["centres"][1]["id"] = json!("ic-zlin")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-missing-default-centre",
        vector(
            "the default centre is not listed",
            &edit(&|d| d["default_centre"] = json!("ic-brno")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-no-staff",
        vector(
            "a centre without staff",
            &edit(&|d| d["centres"][1]["staff"] = json!([])),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-low-order-x25519",
        vector(
            "a staff X25519 key that is the all-zero point",
            &edit(&|d| d["centres"][0]["staff"][0]["x25519"] = json!(b64::encode(&[0; 32]))),
            None,
            "malformed",
        ),
    )?;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    out.write(
        "directory-weak-ed25519",
        vector(
            "a staff Ed25519 key that is the identity point",
            &edit(&|d| d["centres"][0]["staff"][0]["ed25519"] = json!(b64::encode(&identity))),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-short-salt",
        vector(
            "a salt of 8 bytes",
            &edit(&|d| d["salt"] = json!(b64::encode(&[1; 8]))),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-bidi-override-in-name",
        vector(
            "a right-to-left override in a name",
            &edit(&|d| d["centres"][0]["names"]["en"] = json!("Centre \u{202E}nilZ")),
            None,
            "malformed",
        ),
    )?;
    out.write(
        "directory-format-2-new-fields",
        vector(
            "a future format with fields this one does not know",
            &edit(&|d| {
                d["format"] = json!(2);
                d["revocations"] = json!([]);
            }),
            None,
            "unsupported_version",
        ),
    )?;
    out.write(
        "directory-blank-name",
        vector(
            "an empty Ukrainian name",
            &edit(&|d| d["centres"][0]["names"]["uk"] = json!("")),
            None,
            "malformed",
        ),
    )?;
    centre_details(&doc, &vector, &sign_raw, out)?;
    Ok(())
}

/// Builds a vector: name, description, signed directory (or none), expectation.
type VectorFn<'a> = &'a dyn Fn(&str, &str, Option<&str>, &str) -> Value;

/// One negative or boundary case: name, description, expectation, the edit.
type DetailCase = (&'static str, &'static str, &'static str, fn(&mut Value));

/// A centre's optional contact details, answer time and acknowledgement
/// (§6.1), written into the payload as JSON here rather than through
/// `ozvi-crypto`'s types; each negative vector changes one member of the
/// valid one.
fn centre_details(
    doc: &Value,
    vector: VectorFn<'_>,
    sign_raw: &dyn Fn(&Value) -> String,
    out: &mut Writer,
) -> anyhow::Result<()> {
    let mut detailed = doc.clone();
    let zlin = &mut detailed["centres"][0];
    assert_eq!(zlin["id"], "ic-zlin");
    zlin["contact"] = json!({
        "phone": "+420 000 000 072",
        "address": "Ukázková 1, 760 01 Zlín (ukázková data)",
        "hours": {
            "cs": "Po–Pá 8:00–16:00",
            "en": "Mon–Fri 8 am – 4 pm",
            "uk": "Пн–Пт 8:00–16:00"
        }
    });
    zlin["answer_time"] = json!({
        "cs": "Obvykle odpovídáme do jednoho pracovního dne; lidi po policejním vykázání kontaktujeme do 48 hodin.",
        "en": "We usually answer within one working day; after a police eviction we contact people within 48 hours.",
        "uk": "Зазвичай ми відповідаємо протягом одного робочого дня; після поліцейського виселення кривдника ми зв’язуємося з людьми протягом 48 годин."
    });
    zlin["acknowledgement"] = json!({
        "cs": "Děkujeme, vaši zprávu jsme dostali. Přečte ji pracovnice nebo pracovník intervenčního centra. Toto je automatická zpráva.",
        "en": "Thank you, we have received your message. A worker of the intervention centre will read it. This is an automatic message.",
        "uk": "Дякуємо, ми отримали ваше повідомлення. Його прочитає працівниця або працівник інтервенційного центру. Це автоматичне повідомлення."
    });
    let ok = "success";
    let bad = "malformed";
    out.write(
        "directory-centre-details",
        vector(
            "a centre with contact details, an answer time and an acknowledgement",
            &sign_raw(&detailed),
            None,
            ok,
        ),
    )?;
    let cases: [DetailCase; 17] = [
        (
            "directory-details-phone-15-digits",
            "a phone number of 15 digits, the most allowed",
            ok,
            |c| c["contact"]["phone"] = json!("+420 000 000 072 000"),
        ),
        (
            "directory-details-phone-16-digits",
            "a phone number of 16 digits",
            bad,
            |c| c["contact"]["phone"] = json!("+420 000 000 072 0000"),
        ),
        (
            "directory-details-phone-3-digits",
            "a phone number of 3 digits, the fewest allowed",
            ok,
            |c| c["contact"]["phone"] = json!("158"),
        ),
        (
            "directory-details-phone-2-digits",
            "a phone number of 2 digits",
            bad,
            |c| c["contact"]["phone"] = json!("15"),
        ),
        (
            "directory-details-phone-dashes",
            "a phone number with dashes",
            bad,
            |c| c["contact"]["phone"] = json!("+420-000-000-072"),
        ),
        (
            "directory-details-phone-double-space",
            "a phone number with two spaces in a row",
            bad,
            |c| c["contact"]["phone"] = json!("+420  000 000 072"),
        ),
        (
            "directory-details-acknowledgement-500-characters",
            "an acknowledgement of 500 characters, the most allowed",
            ok,
            |c| c["acknowledgement"]["uk"] = json!("ж".repeat(500)),
        ),
        (
            "directory-details-acknowledgement-501-characters",
            "an acknowledgement of 501 characters",
            bad,
            |c| c["acknowledgement"]["uk"] = json!("ж".repeat(501)),
        ),
        (
            "directory-details-hours-201-characters",
            "opening hours of 201 characters (200 is the most)",
            bad,
            |c| c["contact"]["hours"]["cs"] = json!("ž".repeat(201)),
        ),
        (
            "directory-details-bidi-override-in-acknowledgement",
            "a right-to-left override in an acknowledgement",
            bad,
            |c| c["acknowledgement"]["en"] = json!("Thank you \u{202E}.egassem"),
        ),
        (
            "directory-details-line-break-in-answer-time",
            "a line break (a control character) in an answer time",
            bad,
            |c| c["answer_time"]["cs"] = json!("Obvykle odpovídáme\ndo jednoho dne."),
        ),
        (
            "directory-details-blank-address",
            "an empty address",
            bad,
            |c| c["contact"]["address"] = json!(""),
        ),
        (
            "directory-details-null-answer-time",
            "an answer time of null (leave the member out instead)",
            bad,
            |c| c["answer_time"] = Value::Null,
        ),
        (
            "directory-details-unknown-contact-member",
            "contact details with an unknown member",
            bad,
            |c| c["contact"]["email"] = json!("ic@example.org"),
        ),
        (
            "directory-details-missing-hours",
            "contact details without opening hours",
            bad,
            |c| {
                c["contact"].as_object_mut().map(|o| o.remove("hours"));
            },
        ),
        (
            "directory-details-answer-time-missing-language",
            "an answer time without its Ukrainian text",
            bad,
            |c| {
                c["answer_time"].as_object_mut().map(|o| o.remove("uk"));
            },
        ),
        (
            "directory-details-acknowledgement-as-text",
            "an acknowledgement given as one string instead of three languages",
            bad,
            |c| c["acknowledgement"] = json!("Děkujeme."),
        ),
    ];
    for (name, description, expect, change) in cases {
        let mut d = detailed.clone();
        change(&mut d["centres"][0]);
        out.write(name, vector(description, &sign_raw(&d), None, expect))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- padding
