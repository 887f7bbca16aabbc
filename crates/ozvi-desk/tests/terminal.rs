//! The person's text cannot act on the staff member's terminal or forge
//! lines of the desk's own: `ozvi-desk read`, `read --json`, `inbox` and
//! `export` (text and JSON) against a real relay, checked byte by byte.

mod common;

use common::*;
use ozvi_desk::terminal::{BODY_PREFIX, is_unsafe};
use serde_json::Value;

/// Clear the screen, an OSC 8 link, a carriage return overwriting the line,
/// an 8-bit CSI, bidi overrides and isolates, separators, and lines that
/// copy the desk's own headers: a staff reply and an internal note.
fn hostile(now: &str) -> String {
    format!(
        "Pomozte mi.\u{1b}[2J\u{1b}[H\u{1b}]8;;https://evil.example/\u{7}odkaz\u{1b}]8;;\u{1b}\\\
         \rPŘEPSÁNO \u{9b}31m \u{202e}ynnaJ\u{202c} \u{2066}x\u{2069}\u{200f}\u{61c}\u{200e}\
         \u{2028}\u{2029}\u{85}\u{7f}\u{feff}\u{e0041}\n\
         --- #2 · {now} · Jana (ic-zlin)\n\
         Přijďte sama v noci, FALEŠNÁ-ODPOVĚĎ.\r\n\
         \n=== Interní poznámky (jen pro centrum)\n\
         --- {now} · zlin-a\n\
         FALEŠNÁ-POZNÁMKA: klientka lže.\n\
         !!! PODEZŘELÁ ZPRÁVA"
    )
}

/// No byte of `out` can act on a terminal or reorder text: no control
/// character but the newline, no C1, DEL, bidi or invisible format
/// character.
fn assert_inert(out: &str, what: &str) {
    for (i, c) in out.char_indices() {
        assert!(
            c == '\n' || !is_unsafe(c),
            "{what}: U+{:04X} at byte {i}: {:?}",
            c as u32,
            &out[i.saturating_sub(40)..(i + 8).min(out.len())]
        );
    }
    for forbidden in [0x1b_u8, 0x07, 0x0d, 0x7f, 0x00, 0x08] {
        assert!(
            !out.as_bytes().contains(&forbidden),
            "{what}: byte {forbidden:#x}"
        );
    }
}

/// The only header lines are the desk's own: one `--- #seq` per real
/// message, in order, no `===` line unless there are real notes, and every
/// line of her text indented under her message's header.
fn assert_structure(out: &str, messages: &[(u64, &str)], real_notes: bool) {
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("--- #")).collect();
    assert_eq!(headers.len(), messages.len(), "{out}");
    for (header, (seq, author)) in headers.iter().zip(messages) {
        assert!(header.starts_with(&format!("--- #{seq} ·")), "{header}");
        assert!(header.ends_with(author), "{header}");
    }
    assert_eq!(
        out.lines().any(|l| l.starts_with("===")),
        real_notes,
        "{out}"
    );
    for line in out.lines() {
        for forged in ["FALEŠNÁ", "PŘEPSÁNO", "Přijďte", "Pomozte", "!!! PODEZŘELÁ"] {
            if line.contains(forged) {
                assert!(
                    line.starts_with(BODY_PREFIX),
                    "her text outside its block: {line:?}"
                );
            }
        }
    }
    assert!(!out.lines().any(|l| l.starts_with("!!!")), "{out}");
    assert!(
        out.contains("\\x1b[2J"),
        "the escape is shown, visibly: {out}"
    );
    assert!(out.contains("\\u{202e}ynnaJ"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn her_text_cannot_drive_the_terminal_or_forge_staff_lines() {
    let deployment = Deployment::new(&[JANA]).await;
    let (relay, home) = (&deployment.relay, deployment.home());

    let now = ozvi_desk::export::time(ozvi_desk::relay::now());
    let text = hostile(&now);
    let anna = deployment.person(4);
    anna.write_first("ic-zlin", &text).await;
    let id = anna.mailbox().to_b64();
    // One real staff reply, and her second hostile message after it.
    desk_ok(Some(&home), &["reply", &id, "--text", "Skutečná odpověď."]).await;
    anna.write_more(&text).await;
    let messages = [(1, "Klient/ka"), (2, "Jana (ic-zlin)"), (3, "Klient/ka")];

    let out = desk_ok(Some(&home), &["read", &id]).await;
    assert_inert(&out, "read");
    assert_structure(&out, &messages, false);

    // With a real note the `===` section appears once, and her copy of it
    // stays inside her message.
    desk_ok(Some(&home), &["note", &id, "--text", "Skutečná poznámka."]).await;
    let out = desk_ok(Some(&home), &["read", &id]).await;
    assert_inert(&out, "read with a note");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("===")).count(),
        1,
        "{out}"
    );
    assert!(
        out.contains(&format!("{BODY_PREFIX}Skutečná poznámka.")),
        "{out}"
    );

    let export = deployment.dir.path().join("case.txt");
    desk_ok(
        Some(&home),
        &["export", &id, "--out", export.to_str().expect("utf-8")],
    )
    .await;
    let exported = std::fs::read_to_string(&export).expect("export");
    assert_inert(&exported, "export");
    assert_eq!(
        exported.lines().filter(|l| l.starts_with("--- #")).count(),
        3
    );

    // JSON: inert too, and still exactly what she wrote once parsed.
    for args in [vec!["read", &id, "--json"], vec!["inbox", "--json"]] {
        let out = desk_ok(Some(&home), &args).await;
        assert_inert(&out, "json");
        let value: Value = serde_json::from_str(&out).expect("JSON");
        if args[0] == "read" {
            assert_eq!(value["messages"][0]["text"], text.as_str(), "lossless");
        }
    }
    let json_export = deployment.dir.path().join("case.json");
    desk_ok(
        Some(&home),
        &[
            "export",
            &id,
            "--out",
            json_export.to_str().expect("utf-8"),
            "--json",
        ],
    )
    .await;
    let exported = std::fs::read_to_string(&json_export).expect("export");
    assert_inert(&exported, "json export");
    let value: Value = serde_json::from_str(&exported).expect("JSON");
    assert_eq!(value["messages"][2]["text"], text.as_str());
    assert_inert(&desk_ok(Some(&home), &["inbox"]).await, "inbox");
    relay.handle.stop(true).await;
}
