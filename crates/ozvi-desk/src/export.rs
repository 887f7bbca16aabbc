//! A thread written out for the case record: plain text, readable without
//! Ozvi, in the staff member's time zone.

use std::fmt::Write;

use crate::session::{Author, Me, ThreadView};

/// A Unix time as `2026-11-23 13:05` in this machine's time zone.
pub fn time(unix: u64) -> String {
    let Ok(seconds) = i64::try_from(unix) else {
        return unix.to_string();
    };
    match jiff::Timestamp::from_second(seconds) {
        Ok(t) => t
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => unix.to_string(),
    }
}

/// Who wrote a message, in Czech.
pub fn author(author: &Author) -> String {
    match author {
        Author::Person => "Klient/ka".into(),
        Author::Staff {
            centre,
            label,
            former,
            ..
        } => {
            let former = if *former { ", bývalá pracovnice" } else { "" };
            format!("{label} ({centre}{former})")
        }
        Author::Unverified => "NEOVĚŘENO".into(),
    }
}

/// The whole thread as text.
pub fn text(view: &ThreadView, me: &Me) -> String {
    let mut out = String::new();
    let e = &view.entry;
    let _ = writeln!(out, "Ozvi — konverzace {}", e.id);
    let _ = writeln!(out, "Centrum: {} ({})", me.centre_name, me.centre);
    let _ = writeln!(out, "Založeno: {}", time(e.created_at));
    if let Some(from) = &e.transfer_unchecked {
        let _ = writeln!(
            out,
            "POZOR: převedeno z {from}, historie DOSUD NEOVĚŘENA (not yet checked)"
        );
    }
    let _ = writeln!(out, "Stav: {}", view.note.status.label_cs());
    if let Some(a) = &e.assignee {
        let _ = writeln!(
            out,
            "Přiděleno: {}",
            e.assignee_label.as_deref().unwrap_or(a)
        );
    }
    let _ = writeln!(out, "Exportovala: {} ({})", me.label, me.staff);
    for m in &view.messages {
        let _ = writeln!(
            out,
            "\n--- #{} · {} · {}",
            m.seq,
            time(m.stored_at),
            author(&m.author)
        );
        if let Some(problem) = &m.problem {
            let _ = writeln!(out, "!!! {problem}");
            continue;
        }
        if let Some(i) = &m.intake {
            let _ = writeln!(out, "Role: {}", i.role);
            let _ = writeln!(out, "Kraj: {}", i.region.as_deref().unwrap_or("neví"));
            let _ = writeln!(out, "Násilí: {}", i.violence.join(", "));
            let _ = writeln!(
                out,
                "V ohrožení teď: {}",
                if i.danger_now { "ANO" } else { "ne" }
            );
            if let Some(c) = &i.contact {
                let _ = writeln!(out, "Kontakt: {c}");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{}", m.text);
    }
    if !view.note.notes.is_empty() {
        let _ = writeln!(out, "\n=== Interní poznámky (jen pro centrum)");
        for n in &view.note.notes {
            let _ = writeln!(out, "{} · {}: {}", time(n.at), n.by, n.text);
        }
    }
    out
}
