//! Codes (PROTOCOL.md §2) and key derivation from them (§3).

use super::*;

pub(super) fn code_vectors(out: &mut Writer) -> anyhow::Result<()> {
    // A code with both a 0 and a 1 in it, to show the look-alike readings.
    let code = (0..)
        .map(|seed| Code::generate(&mut rng(100 + seed)))
        .find(|c| c.canonical().contains('0') && c.canonical().contains('1'))
        .expect("such a code turns up quickly");
    let canonical = code.canonical().to_string();
    let grouped = code.grouped().to_string();
    let ok = |input: &str, description: &str| {
        json!({"type": "code", "description": description, "input": input,
               "expect": "success", "canonical": canonical, "grouped": grouped})
    };
    let bad = |input: &str, description: &str, expect: &str| json!({"type": "code", "description": description, "input": input, "expect": expect});
    out.write(
        "code-canonical",
        ok(&canonical, "the canonical form parses"),
    )?;
    out.write("code-grouped", ok(&grouped, "the displayed form parses"))?;
    let casual = grouped.replace('-', " ").to_lowercase();
    out.write(
        "code-lowercase-spaces",
        ok(&casual, "lower case with spaces"),
    )?;
    let lookalike = canonical.replacen('0', "o", 1).replacen('1', "l", 1);
    out.write(
        "code-lookalikes",
        ok(&lookalike, "o is read as 0 and l as 1"),
    )?;
    // The Cyrillic look-alikes of PROTOCOL.md §2, written out here from the
    // spec's table rather than taken from the parser.
    let cyrillic = |upper: bool| -> String {
        grouped
            .chars()
            .map(|ch| {
                let (capital, small) = match ch {
                    'A' => ('\u{0410}', '\u{0430}'),
                    'B' => ('\u{0412}', '\u{0432}'),
                    'C' => ('\u{0421}', '\u{0441}'),
                    'E' => ('\u{0415}', '\u{0435}'),
                    'H' => ('\u{041D}', '\u{043D}'),
                    'K' => ('\u{041A}', '\u{043A}'),
                    'M' => ('\u{041C}', '\u{043C}'),
                    'P' => ('\u{0420}', '\u{0440}'),
                    'T' => ('\u{0422}', '\u{0442}'),
                    'X' => ('\u{0425}', '\u{0445}'),
                    'Y' => ('\u{0423}', '\u{0443}'),
                    'W' => ('\u{051C}', '\u{051D}'),
                    '0' => ('\u{041E}', '\u{043E}'),
                    '1' => ('\u{0406}', '\u{0456}'),
                    '3' => ('\u{0417}', '\u{0437}'),
                    other => (other, other),
                };
                if upper { capital } else { small }
            })
            .collect()
    };
    let ukrainian = cyrillic(true);
    assert!(
        !ukrainian.is_ascii(),
        "the code has letters with look-alikes"
    );
    out.write(
        "code-cyrillic-capitals",
        ok(
            &ukrainian,
            "Cyrillic capitals that look like symbols (В, Е, Ԝ, О, І, З) are read as them",
        ),
    )?;
    out.write(
        "code-cyrillic-lowercase",
        ok(
            &cyrillic(false),
            "Cyrillic look-alikes in lower case (в, е, ԝ, о, і, з): the keys of the capitals without Shift",
        ),
    )?;
    let dashes = grouped.replace('-', "\u{2013}");
    out.write(
        "code-en-dashes",
        ok(&dashes, "en dashes from a phone keyboard"),
    )?;

    let mut typo: Vec<char> = canonical.chars().collect();
    typo[4] = if typo[4] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    out.write(
        "code-typo",
        bad(&typo, "one character mistyped", "check_failed"),
    )?;
    let mut swapped: Vec<char> = canonical.chars().collect();
    let i = (0..17)
        .find(|&i| swapped[i] != swapped[i + 1])
        .expect("not all equal");
    swapped.swap(i, i + 1);
    let swapped: String = swapped.into_iter().collect();
    out.write(
        "code-swapped-neighbours",
        bad(&swapped, "two neighbours swapped", "check_failed"),
    )?;
    let mut check: Vec<char> = canonical.chars().collect();
    check[17] = if check[17] == 'Z' { 'Y' } else { 'Z' };
    let check: String = check.into_iter().collect();
    out.write(
        "code-bad-check-symbol",
        bad(&check, "the check symbol is wrong", "check_failed"),
    )?;
    out.write(
        "code-too-short",
        bad(&canonical[..17], "one character missing", "wrong_length"),
    )?;
    out.write(
        "code-too-long",
        bad(
            &format!("{canonical}0"),
            "one character extra",
            "wrong_length",
        ),
    )?;
    out.write("code-empty", bad("", "nothing typed", "wrong_length"))?;
    let with_u = format!("U{}", &canonical[1..]);
    out.write(
        "code-letter-u",
        bad(&with_u, "U is not in the alphabet", "invalid_character"),
    )?;
    let with_accent = format!("{}Č{}", &canonical[..5], &canonical[6..]);
    out.write(
        "code-non-ascii",
        bad(&with_accent, "a Czech letter", "invalid_character"),
    )?;
    // Cyrillic letters that are not look-alikes, after Cyrillic ones that are.
    // `9ВR-ІОЕ-И3D-…`: the seventh code character typed as И.
    let with_i: String = ukrainian
        .chars()
        .enumerate()
        .map(|(i, ch)| if i == 8 { '\u{0418}' } else { ch })
        .collect();
    out.write(
        "code-cyrillic-not-look-alike",
        bad(
            &with_i,
            "И (Cyrillic i) is not drawn like any symbol",
            "invalid_character",
        ),
    )?;
    assert_eq!(&canonical[1..2], "B", "the code's second symbol is B");
    let with_soft_sign = format!("{}\u{042C}{}", &canonical[..1], &canonical[2..]);
    out.write(
        "code-cyrillic-soft-sign",
        bad(
            &with_soft_sign,
            "Ь looks like a lower-case b, not like the B a code shows",
            "invalid_character",
        ),
    )?;
    Ok(())
}

pub(super) fn derive_vectors(out: &mut Writer) -> anyhow::Result<()> {
    for seed in [200u64, 201] {
        let mut r = rng(seed);
        let salt = DeploymentSalt::generate(&mut r);
        let code = Code::generate(&mut r);
        let keys = PersonKeys::derive(&code, &salt);
        out.write(
            &format!("derive-{}", seed - 199),
            json!({
                "type": "derive",
                "description": "Argon2id and HKDF from a code and a deployment salt (§3)",
                "code": code.grouped().to_string(),
                "salt": b64::encode(&salt.0),
                "expect": "success",
                "mailbox_id": keys.mailbox_id().to_b64(),
                "auth_verifier": b64::encode(&keys.auth_secret().verifier().0),
                "person_x25519": b64::encode(keys.public().x25519.as_bytes()),
                "person_ed25519": b64::encode(&keys.public().ed25519.to_bytes()),
            }),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------- envelopes
