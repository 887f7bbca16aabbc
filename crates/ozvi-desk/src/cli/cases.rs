//! The eviction-case commands: `cases`, `case …`, `safe-contact` and
//! `stats`. Everything other people wrote is escaped before it is printed.

use crate::export;
use crate::plaintext::{Attempt, CaseBody, EvictionRecord, SafeContact};
use crate::relay;
use crate::session::cases::{parse_channel, parse_choice, parse_outcome};
use crate::session::{CaseView, Session};
use crate::terminal::escape;
use crate::{DeskError, text};

use super::args::{CaseCommand, SafeContactArgs};
use super::print_json;

/// A time as staff type it: `YYYY-MM-DD HH:MM` (or `YYYY-MM-DDTHH:MM`) in
/// this computer's time zone, or Unix seconds.
pub(crate) fn parse_time(text: &str) -> Result<u64, DeskError> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    let bad = || {
        DeskError::Invalid(format!(
            "`{text}` is no time; write YYYY-MM-DD HH:MM / neplatný čas"
        ))
    };
    let civil: jiff::civil::DateTime = text.replace(' ', "T").parse().map_err(|_| bad())?;
    let zoned = civil
        .to_zoned(jiff::tz::TimeZone::system())
        .map_err(|_| bad())?;
    u64::try_from(zoned.timestamp().as_second()).map_err(|_| bad())
}

/// A day as `YYYY-MM-DD`, at midnight in this computer's time zone (or
/// Unix seconds).
fn parse_day(text: &str) -> Result<u64, DeskError> {
    if let Ok(seconds) = text.trim().parse::<u64>() {
        return Ok(seconds);
    }
    let bad = || DeskError::Invalid(format!("`{text}` is no day; write YYYY-MM-DD"));
    let day: jiff::civil::Date = text.trim().parse().map_err(|_| bad())?;
    day.to_zoned(jiff::tz::TimeZone::system())
        .ok()
        .and_then(|z| u64::try_from(z.timestamp().as_second()).ok())
        .ok_or_else(bad)
}

fn safe(args: SafeContactArgs) -> SafeContact {
    SafeContact {
        times: args.times,
        chat_only: args.chat_only,
        voicemail: args.voicemail,
        code_word: args.code_word,
    }
}

/// `ozvi-desk safe-contact THREAD …`.
pub(crate) async fn safe_contact(
    session: &Session,
    thread: &str,
    args: SafeContactArgs,
    clear: bool,
) -> Result<(), DeskError> {
    let mailbox = session.resolve(thread).await?;
    let details = (!clear).then(|| safe(args));
    session.set_safe_contact(&mailbox, details).await?;
    println!("Uloženo (vidí jen vaše centrum). / Saved (your centre's staff only).");
    Ok(())
}

/// `ozvi-desk cases`.
pub(crate) async fn list(session: &Session, json: bool) -> Result<(), DeskError> {
    let cases = session.cases().await?;
    if json {
        return print_json(&cases);
    }
    if cases.is_empty() {
        println!("Žádné případy vykázání. / No eviction cases.");
    }
    for c in &cases {
        let name = c.record.as_ref().map_or("—", |r| r.name.as_str());
        let mark = if c.overdue {
            "!!! PO LHŮTĚ / OVERDUE"
        } else if c.closed.is_some() {
            "uzavřeno / closed"
        } else {
            "otevřeno / open"
        };
        println!("{:<10} {}  {}", escape(&c.short), mark, escape(name));
        println!("{:<10} {}", "", c.deadline_line);
        if let Some(reminder) = &c.court_reminder {
            println!("{:<10} {reminder}", "");
        }
    }
    Ok(())
}

fn print_case(c: &CaseView) {
    println!("Případ / Case {}", escape(&c.id));
    if c.overdue {
        println!("!!! PO LHŮTĚ / OVERDUE");
    }
    println!("{}", c.deadline_line);
    if let Some(end) = c.eviction_end {
        println!(
            "Konec vykázání / Eviction ends: {}",
            export::time_zoned(end)
        );
    }
    if let Some(reminder) = &c.court_reminder {
        println!("{reminder}");
    }
    if let Some(s) = &c.safe_contact {
        println!(
            "BEZPEČNÝ KONTAKT / SAFE CONTACT: {}; záznamník / voicemail: {}; heslo / code word: {}",
            escape(&s.times),
            if s.voicemail { "ano / yes" } else { "NE / NO" },
            escape(if s.code_word.is_empty() {
                "—"
            } else {
                &s.code_word
            })
        );
    }
    if let Some(r) = &c.record {
        println!(
            "Osoba / Person: {}, {}, {}; děti / children: {}",
            escape(&r.name),
            escape(&r.phone),
            escape(&r.address),
            escape(&r.children)
        );
        println!(
            "Policie / Police: {} {}",
            escape(&r.police_unit),
            escape(&r.record_no)
        );
    }
    for link in &c.links {
        println!("Konverzace / Conversation: {}", escape(link));
    }
    if let Some(closed) = &c.closed {
        println!(
            "Uzavřeno / Closed {}: {}",
            export::time(closed.at),
            text::choice(closed.choice)
        );
    }
    println!("--- záznam / log");
    for e in &c.entries {
        match &e.problem {
            Some(problem) => println!("#{} {}", e.seq, escape(problem)),
            None => println!(
                "#{} {} {}: {}",
                e.seq,
                export::time(e.stored_at),
                escape(e.by.as_deref().unwrap_or("—")),
                escape(&e.line)
            ),
        }
    }
}

/// `ozvi-desk case …`.
pub(crate) async fn run(session: &Session, command: CaseCommand) -> Result<(), DeskError> {
    match command {
        CaseCommand::Open {
            entered,
            received,
            police_unit,
            record_no,
            name,
            phone,
            address,
            children,
            notes,
        } => {
            let record = EvictionRecord {
                entered_at: parse_time(&entered)?,
                received_at: received
                    .as_deref()
                    .map_or_else(|| Ok(relay::now()), parse_time)?,
                police_unit,
                record_no,
                name,
                phone,
                address,
                children,
                notes,
            };
            let case = session.open_case(record).await?;
            println!("{}", case.to_b64());
            Ok(())
        }
        CaseCommand::Show { case, json } => {
            let id = session.resolve_case(&case).await?;
            let view = session.case(&id).await?;
            if json.json {
                return print_json(&view);
            }
            print_case(&view);
            Ok(())
        }
        CaseCommand::Attempt {
            case,
            channel,
            outcome,
            at,
            text,
        } => {
            let channel = parse_channel(&channel).ok_or_else(|| {
                DeskError::Invalid(format!(
                    "unknown channel `{channel}`; use phone, visit, letter or chat"
                ))
            })?;
            let outcome = parse_outcome(&outcome).ok_or_else(|| {
                DeskError::Invalid(format!(
                    "unknown outcome `{outcome}`; use reached, no_answer, wrong_number, \
                     unsafe_to_talk, declined or accepted"
                ))
            })?;
            let at = at.as_deref().map_or_else(|| Ok(relay::now()), parse_time)?;
            let id = session.resolve_case(&case).await?;
            let body = CaseBody::Attempt(Attempt {
                at,
                channel,
                outcome,
                text,
            });
            session.add_case_entry(&id, body).await?;
            println!("{}", session.case(&id).await?.deadline_line);
            Ok(())
        }
        CaseCommand::SafeContact { case, safe: args } => {
            let id = session.resolve_case(&case).await?;
            session
                .add_case_entry(&id, CaseBody::SafeContact(safe(args)))
                .await?;
            println!("Uloženo. / Saved.");
            Ok(())
        }
        CaseCommand::Link { case, thread } => {
            let id = session.resolve_case(&case).await?;
            let conversation = session.resolve(&thread).await?;
            session
                .add_case_entry(
                    &id,
                    CaseBody::Link {
                        mailbox_id: conversation.to_b64(),
                    },
                )
                .await?;
            println!("Propojeno. / Linked.");
            Ok(())
        }
        CaseCommand::Close { case, choice, text } => {
            let choice = parse_choice(&choice).ok_or_else(|| {
                DeskError::Invalid(format!(
                    "unknown choice `{choice}`; use accepted, declined or unreachable"
                ))
            })?;
            let id = session.resolve_case(&case).await?;
            session
                .add_case_entry(&id, CaseBody::Close { choice, text })
                .await?;
            println!("Uzavřeno. / Closed.");
            Ok(())
        }
        CaseCommand::Note { case, text } => {
            let id = session.resolve_case(&case).await?;
            session.add_case_entry(&id, CaseBody::Note { text }).await?;
            println!("Uloženo. / Saved.");
            Ok(())
        }
    }
}

/// `ozvi-desk stats`.
pub(crate) async fn stats(
    session: &Session,
    from: Option<String>,
    to: Option<String>,
) -> Result<(), DeskError> {
    let from = match from {
        Some(day) => parse_day(&day)?,
        None => {
            let year = jiff::Zoned::now().year();
            parse_day(&format!("{year:04}-01-01"))?
        }
    };
    let to = match to {
        Some(day) => parse_day(&day)?,
        None => {
            let start = jiff::Timestamp::from_second(i64::try_from(from).unwrap_or(0))
                .map_err(|_| DeskError::Invalid("no such day".into()))?
                .to_zoned(jiff::tz::TimeZone::system());
            let next = start
                .checked_add(jiff::Span::new().years(1))
                .map_err(|_| DeskError::Invalid("no such day".into()))?;
            u64::try_from(next.timestamp().as_second()).unwrap_or(u64::MAX)
        }
    };
    let stats = session.statistics(from, to).await?;
    print!("{}", stats.to_csv());
    Ok(())
}
