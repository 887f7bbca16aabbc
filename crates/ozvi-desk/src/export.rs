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
/// [`files_dir`] of `out` (mode 0700; each file 0600, `N-name`). Returns
/// the folder, how many were written and why the others were not; none
/// when the thread has no attachments. Refused, before anything is
/// written, if the folder exists.
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
    let mut written = 0;
    let mut failed = Vec::new();
    for file in session.all_attachments(mailbox).await? {
        match file {
            Ok(mut file) => {
                file.name = Some(format!("{}-{}", file.number, file.file_name()));
                crate::session::files::save_into(&dir, &file)?;
                written += 1;
            }
            Err((_, why)) => failed.push(why),
        }
    }
    if written == 0 && !dir.exists() {
        crate::session::files::create_private_dir(&dir)?;
    }
    Ok(Some((dir, written, failed)))
}
