//! A thread written out for the case record: plain text, readable without
//! Ozvi, in the staff member's time zone.

use std::fmt::Write;

use crate::plaintext::AgeBand;
use crate::session::{Me, ThreadView, Writer};
use crate::terminal::{block, escape};

/// A Unix time as `2026-11-23 13:05` in this machine's time zone.
pub fn time(unix: u64) -> String {
    local(unix, "%Y-%m-%d %H:%M")
}

/// A Unix time as a date, `2026-11-23`, in this machine's time zone.
pub fn date(unix: u64) -> String {
    local(unix, "%Y-%m-%d")
}

/// A Unix time with its zone, for the case record: `2026-11-23 13:05 CET
/// (+01:00)`, in this machine's time zone.
pub fn time_zoned(unix: u64) -> String {
    local(unix, "%Y-%m-%d %H:%M %Z (%:z)")
}

/// `unix` in this machine's time zone, as `format` (strftime) says; the
/// number itself if it is no time.
fn local(unix: u64, format: &str) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
        .map_or_else(
            || unix.to_string(),
            |t| {
                t.to_zoned(jiff::tz::TimeZone::system())
                    .strftime(format)
                    .to_string()
            },
        )
}

/// Who wrote a message, in Czech (escaped for a terminal).
pub fn author(author: &Writer) -> String {
    match author {
        Writer::Person => "Klient/ka".into(),
        Writer::Staff {
            centre,
            label,
            former,
            ..
        } => {
            let former = if *former { ", bývalá pracovnice" } else { "" };
            format!("{} ({}{former})", escape(label), escape(centre))
        }
        Writer::Unverified => "NEOVĚŘENO".into(),
    }
}

/// The whole thread as text, for a terminal (`ozvi-desk read`) and for the
/// case record (`export`).
///
/// Authorship is structural: the desk writes every header line (`--- #…`
/// for a message, `=== …` for the notes, `!!! …` for a message that does
/// not verify) at the start of a line, and every line of what anyone wrote
/// — her text, her form answers, a colleague's reply or note — indented
/// under its header with [`BODY_PREFIX`](crate::terminal::BODY_PREFIX),
/// with control and bidi characters escaped. No text can therefore start a
/// line of its own, move the cursor or reorder what is shown.
pub fn text(view: &ThreadView, me: &Me) -> String {
    let mut out = String::new();
    let e = &view.entry;
    let _ = writeln!(out, "Ozvi — konverzace {}", escape(&e.id));
    let _ = writeln!(
        out,
        "Centrum: {} ({})",
        escape(&me.centre_name),
        escape(&me.centre)
    );
    let zone = jiff::tz::TimeZone::system();
    let _ = writeln!(
        out,
        "Časové pásmo / time zone: {}",
        zone.iana_name().unwrap_or("místní / local")
    );
    let _ = writeln!(out, "Založeno: {}", time_zoned(e.created_at));
    if let Some(from) = &e.transfer_unchecked {
        let _ = writeln!(
            out,
            "POZOR: převedeno z {from}, historie DOSUD NEOVĚŘENA (not yet checked)"
        );
    }
    let _ = writeln!(out, "Stav: {}", view.note.status.label_cs());
    match &view.her_state {
        Some(told) if told.note.is_empty() => {
            let _ = writeln!(out, "Stav pro ni / her state: {}", told.state.label());
        }
        Some(told) => {
            let _ = writeln!(
                out,
                "Stav pro ni / her state: {} — {}",
                told.state.label(),
                escape(&told.note)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Stav pro ni / her state: dosud nesděleno / not told yet"
            );
        }
    }
    let intake = view.messages.iter().find_map(|m| m.intake.as_ref());
    if intake.is_some_and(|i| i.age_band == Some(AgeBand::Under16)) {
        let _ = writeln!(out, "!!! {}", crate::text::UNDER_16);
    }
    if let Some(s) = intake.and_then(|i| i.safe_contact.as_ref()) {
        let _ = writeln!(
            out,
            "Bezpečný kontakt podle ní / Safe contact, as she said: {}",
            escape(&crate::text::safe_contact(s))
        );
    }
    if let Some(a) = &e.assignee {
        let _ = writeln!(
            out,
            "Přiděleno: {}",
            escape(e.assignee_label.as_deref().unwrap_or(a))
        );
    }
    let _ = writeln!(
        out,
        "Exportovala: {} ({})",
        escape(&me.label),
        escape(&me.staff)
    );
    for m in &view.messages {
        let _ = writeln!(
            out,
            "\n--- #{} · {} · {}",
            m.seq,
            time_zoned(m.stored_at),
            author(&m.author)
        );
        if let Some(problem) = &m.problem {
            let _ = writeln!(out, "!!! {}", escape(problem));
            continue;
        }
        if let Some(i) = &m.intake {
            let violence: Vec<String> = i
                .violence
                .iter()
                .map(|v| crate::text::violence(v))
                .collect();
            let mut fields = format!(
                "Kdo píše: {}\nKraj: {}\nDruh násilí: {}\nV ohrožení teď: {}",
                escape(&crate::text::role(&i.role)),
                escape(&crate::text::region(i.region.as_deref())),
                escape(&violence.join(", ")),
                if i.danger_now { "ANO" } else { "ne" }
            );
            if let Some(c) = &i.contact {
                let _ = write!(fields, "\nKontakt: {}", escape(c));
            }
            if let Some(age) = i.age_band {
                let _ = write!(fields, "\nVěk / Age: {}", age.label());
            }
            if let Some(safe) = &i.safe_contact {
                let _ = write!(
                    fields,
                    "\nBezpečný kontakt / Safe contact: {}",
                    escape(&crate::text::safe_contact(safe))
                );
            }
            fields.push('\n');
            out.push_str(&block(&fields));
        }
        if let Some(told) = &m.status {
            let _ = writeln!(out, "=== Stav sdělen / State told: {}", told.state.label());
            if !told.note.is_empty() {
                out.push_str(&block(&told.note));
            }
        }
        if let Some(moved) = &m.transfer {
            let _ = writeln!(
                out,
                "=== Předáno centru / Transferred to {}",
                escape(&moved.to)
            );
        }
        if !m.text.is_empty() {
            out.push_str(&block(&m.text));
        }
        for f in &m.files {
            let name = f
                .name
                .as_deref()
                .map(|n| format!(" · „{}“", escape(n)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "=== Příloha {} / attachment {}: {}{name}",
                f.number,
                f.number,
                f.describe()
            );
        }
    }
    if !view.note.notes.is_empty() {
        let _ = writeln!(out, "\n=== Interní poznámky (jen pro centrum)");
        for n in &view.note.notes {
            let _ = writeln!(out, "--- {} · {}", time_zoned(n.at), escape(&n.by));
            out.push_str(&block(&n.text));
        }
    }
    out
}

/// The folder beside an export `out` that receives its attached files:
/// `OUT.prilohy`.
pub fn files_dir(out: &std::path::Path) -> std::path::PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".prilohy");
    out.with_file_name(name)
}

/// Writes every attachment of the thread that opens and verifies into
/// [`files_dir`] of `out` (mode 0700; each file 0600, `N-name`, the name
/// made safe by [`saved_name`](crate::session::files::saved_name), or
/// `N-priloha-N.ext` when that cannot be written). Returns the folder, how
/// many were written and why the others were not; none when the thread
/// has no attachments. One file that does not open or cannot be written
/// is a reason in that list, never the end of the export. Refused, before
/// anything is written, if the folder exists.
pub async fn write_files(
    session: &crate::session::Session,
    mailbox: &ozvi_crypto::MailboxId,
    out: &std::path::Path,
) -> Result<Option<(std::path::PathBuf, usize, Vec<String>)>, crate::DeskError> {
    let view = session.thread(mailbox).await?;
    if view.messages.iter().all(|m| m.files.is_empty()) {
        return Ok(None);
    }
    let dir = files_dir(out);
    if dir.exists() {
        return Err(crate::DeskError::Invalid(format!(
            "{} already exists",
            dir.display()
        )));
    }
    let files = session.all_attachments(mailbox).await?;
    crate::session::files::create_private_dir(&dir)?;
    let (written, failed) = save_all(&dir, files);
    Ok(Some((dir, written, failed)))
}

/// Saves each opened file into `dir` as `N-name`; a failure to open or to
/// write one is its reason in the list, and the others are still written.
fn save_all(
    dir: &std::path::Path,
    files: Vec<Result<crate::session::OpenedFile, (usize, String)>>,
) -> (usize, Vec<String>) {
    let mut written = 0;
    let mut failed = Vec::new();
    for file in files {
        match file {
            Ok(file) => {
                let prefix = format!("{}-", file.number);
                match crate::session::files::save_into(dir, &file, &prefix) {
                    Ok(_) => written += 1,
                    Err(e) => failed.push(crate::text::attachment_not_written(
                        file.number,
                        &e.to_string(),
                    )),
                }
            }
            Err((_, why)) => failed.push(why),
        }
    }
    (written, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::OpenedFile;

    fn opened(number: usize, name: &str) -> OpenedFile {
        OpenedFile {
            number,
            media_type: "image/jpeg".into(),
            name: Some(name.into()),
            bytes: zeroize::Zeroizing::new(b"\xFF\xD8\xFF\xE0 photo".to_vec()),
        }
    }

    #[test]
    fn a_name_of_a_hundred_four_byte_characters_is_exported_and_a_failure_is_reported() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("spis.txt.prilohy");
        crate::session::files::create_private_dir(&dir).expect("dir");
        // 400 bytes: over Linux's 255 with or without the `1-` prefix.
        let long = "\u{20000}".repeat(100);
        let (written, failed) = save_all(
            &dir,
            vec![
                Ok(opened(1, &long)),
                Err((2, "přílohu 2 nelze otevřít".into())),
                Ok(opened(3, "foto.jpg")),
            ],
        );
        assert_eq!((written, failed.len()), (2, 1), "{failed:?}");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        names.sort();
        assert_eq!(names[1], "3-foto.jpg");
        assert!(names[0].starts_with("1-\u{20000}"), "{names:?}");
        assert!(names[0].ends_with(".jpg") && names[0].len() <= 2 + 120 + 4);

        // Every write failing (the folder is gone): each file is a reason,
        // the export goes on.
        std::fs::remove_dir_all(&dir).expect("rm");
        std::fs::write(&dir, b"a file where the folder was").expect("write");
        let (written, failed) =
            save_all(&dir, vec![Ok(opened(1, "a.jpg")), Ok(opened(2, "b.jpg"))]);
        assert_eq!(written, 0);
        assert_eq!(failed.len(), 2);
        assert!(
            failed[1].contains("přílohu 2 se nepodařilo uložit"),
            "{failed:?}"
        );
    }
}
