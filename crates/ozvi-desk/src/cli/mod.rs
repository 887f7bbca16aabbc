//! The `ozvi-desk` command line: `args` declares it, this module runs the
//! staff member's commands, [`admin`] the operator's, [`prompt`] reads
//! passphrases. Everything other people wrote is escaped before it reaches
//! the terminal ([`crate::terminal`]).

mod admin;
mod args;
mod cases;
mod prompt;

use std::process::ExitCode;

use clap::Parser;

use crate::export;
use crate::home::{Home, Settings};
use crate::plaintext::{HerState, Status};
use crate::relay::{self, RelayClient};
use crate::session::{InboxEntry, Outgoing, Session};
use crate::terminal::escape;
use crate::{DeskError, keystore, terminal};
use args::{Cli, Command};
use prompt::{new_passphrase, passphrase};

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OZVI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let home = Home::new(cli.home.clone().unwrap_or_else(Home::default_dir));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, &home)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors may quote the relay or a file: escaped like everything else.
            eprintln!("error: {}", escape(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// Unlocks the desk with the passphrase from OZVI_DESK_PASSPHRASE or a prompt.
async fn session(home: &Home) -> Result<Session, DeskError> {
    let passphrase = passphrase("OZVI_DESK_PASSPHRASE", "Passphrase: ")?;
    Session::open(home, &passphrase).await
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), DeskError> {
    let text = serde_json::to_string_pretty(value).map_err(|_| DeskError::BadResponse)?;
    println!("{}", terminal::json(&text));
    Ok(())
}

fn waited(entry: &InboxEntry) -> String {
    if entry.waiting_since == 0 {
        return "—".into();
    }
    let hours = relay::now().saturating_sub(entry.waiting_since) / 3600;
    if hours >= 48 {
        // Over the 48 hours the centre promises (the legend says so).
        format!("{hours} h >48")
    } else {
        format!("{hours} h")
    }
}

async fn run(command: Command, home: &Home) -> Result<(), DeskError> {
    match command {
        Command::Init { relay, root_key } => init(home, relay, root_key),
        Command::Enrolment => {
            let text = std::fs::read_to_string(home.dir().join("enrolment.json"))
                .map_err(|e| DeskError::Io(format!("no enrolment request ({e}); run init")))?;
            print!("{text}");
            Ok(())
        }
        Command::Templates { set, json } => {
            let session = session(home).await?;
            if let Some(path) = set {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| DeskError::Io(format!("{}: {e}", path.display())))?;
                let list: Vec<crate::plaintext::Template> = serde_json::from_str(&text)
                    .map_err(|e| DeskError::Invalid(format!("{}: {e}", path.display())))?;
                session.save_templates(list).await?;
            }
            let view = session.templates().await?;
            if json.json {
                return print_json(&view);
            }
            if let Some(problem) = &view.problem {
                println!("{}", escape(problem));
            }
            for t in &view.templates {
                println!(
                    "--- {} [{}] {}",
                    escape(&t.id),
                    escape(&t.lang),
                    escape(&t.title)
                );
                print!("{}", crate::terminal::block(&t.text));
            }
            Ok(())
        }
        Command::Notifications(json) => {
            let session = session(home).await?;
            let view = session.notifications().await?;
            if json.json {
                return print_json(&view);
            }
            println!("{}", view.line);
            Ok(())
        }
        Command::Inbox(json) => {
            let session = session(home).await?;
            let inbox = session.inbox().await?;
            if json.json {
                return print_json(&inbox);
            }
            println!(
                "{} — {}",
                escape(&session.me().centre_name),
                escape(&session.me().label)
            );
            // A failing notification is said first, where it cannot be
            // missed; a relay without the route is not an error here.
            if let Ok(n) = session.notifications().await
                && n.warning
            {
                println!("{}", n.line);
            }
            if inbox.is_empty() {
                println!("No conversations.");
            }
            println!(
                "{:<10} {:<17} {:>6} {:>8} {:<17} assignee",
                "id", "last activity", "unread", "waiting", "status"
            );
            for e in &inbox {
                let unchecked = e
                    .transfer_unchecked
                    .as_deref()
                    .map(|from| {
                        format!("  (převedeno z {from}: DOSUD NEOVĚŘENO / not yet checked)")
                    })
                    .unwrap_or_default();
                println!(
                    "{:<10} {:<17} {:>6} {:>8} {:<17} {}{}{}",
                    escape(&e.short),
                    export::time(e.last_activity),
                    e.unread,
                    waited(e),
                    e.status.label_cs(),
                    escape(
                        e.assignee_label
                            .as_deref()
                            .or(e.assignee.as_deref())
                            .unwrap_or("—")
                    ),
                    if e.note_problem.is_some() {
                        "  (note does not verify!)"
                    } else {
                        ""
                    },
                    escape(&unchecked)
                );
                // What the desk could decrypt: danger, who writes, her
                // language, the newest line (escaped: it is her text).
                let role = match e.role.as_deref() {
                    Some("self") => "ohrožená osoba / at risk",
                    Some("witness") => "svědek / witness",
                    Some("professional") => "odborník / professional",
                    _ => "—",
                };
                println!(
                    "{:<10} {}{}{} · {} · {}: {}",
                    "",
                    if e.danger {
                        "!!! V OHROŽENÍ TEĎ / IN DANGER NOW · "
                    } else {
                        ""
                    },
                    if e.under_16 {
                        "!!! MLADŠÍ 16 LET / UNDER 16 (116 111) · "
                    } else {
                        ""
                    },
                    role,
                    escape(e.lang.as_deref().unwrap_or("—")),
                    if e.latest_from_person {
                        "ona / she"
                    } else {
                        "centrum / centre"
                    },
                    escape(e.latest_line.as_deref().unwrap_or(""))
                );
                if let Some(told) = &e.her_state {
                    println!("{:<10} stav pro ni / her state: {}", "", told.state.label());
                }
                if let (true, Some(at)) = (e.expires_soon, e.expires_at) {
                    println!(
                        "{:<10} ⌛ bez další aktivity se smaže {} / deleted on {} without further \
                         activity",
                        "",
                        export::time(at),
                        export::time(at)
                    );
                }
            }
            println!(
                "waiting: od nejstarší nezodpovězené zprávy; přes 48 h = déle, než centrum slibuje \
                 / since the oldest unanswered message; over 48 h = longer than the centre promises"
            );
            Ok(())
        }
        Command::Read { thread, json } => {
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            let view = session.thread(&mailbox).await?;
            if let Some(last) = view.messages.last() {
                session.mark_read(&mailbox, last.seq).await?;
            }
            if json.json {
                return print_json(&view);
            }
            print!("{}", export::text(&view, session.me()));
            Ok(())
        }
        Command::Reply {
            thread,
            text,
            attach,
        } => {
            if attach.len() > ozvi_crypto::protocol::file::MAX_FILES_PER_MESSAGE {
                return Err(DeskError::Invalid(
                    "nejvýš 5 příloh v jedné odpovědi / at most 5 attachments in one reply".into(),
                ));
            }
            // Every file is read and checked before anything is sent.
            let files = attach
                .iter()
                .enumerate()
                .map(|(i, path)| Outgoing::read(path, i + 1))
                .collect::<Result<Vec<_>, _>>()?;
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            let seq = session.reply_with_files(&mailbox, &text, files).await?;
            println!("Sent (message {seq}).");
            Ok(())
        }
        Command::Attachment {
            thread,
            number,
            out,
        } => {
            if out.exists() {
                return Err(DeskError::Invalid(format!(
                    "{} already exists",
                    out.display()
                )));
            }
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            let file = session.attachment(&mailbox, number).await?;
            keystore::write_new(&out, &file.bytes, false)?;
            println!(
                "Příloha {number} ({}) uložena do {} (čitelné jen pro vás). / Written to {} \
                 (readable only by you).",
                crate::text::media_kind(&file.media_type),
                out.display(),
                out.display()
            );
            Ok(())
        }
        Command::Note { thread, text } => {
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            session.add_note(&mailbox, &text).await?;
            println!("Note saved (visible to your centre's staff only).");
            Ok(())
        }
        Command::Keep { thread } => {
            let session = session(home).await?;
            // A conversation, or else an eviction case.
            let mailbox = match session.resolve(&thread).await {
                Err(DeskError::UnknownThread(_)) => session.resolve_case(&thread).await?,
                other => other?,
            };
            session.keep(&mailbox).await?;
            println!(
                "Ponecháno: bez aktivity se smaže až po další lhůtě. / Kept for another retention period."
            );
            Ok(())
        }
        Command::Status { thread, status } => {
            let status = Status::parse(&status).ok_or_else(|| {
                DeskError::Invalid(format!(
                    "unknown status `{status}`; use new, in_progress, waiting or closed"
                ))
            })?;
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            session.set_status(&mailbox, status).await?;
            println!("Status: {}.", status.label_cs());
            Ok(())
        }
        Command::Assign {
            thread,
            staff,
            nobody,
        } => {
            if staff.is_none() && !nobody {
                return Err(DeskError::Invalid(
                    "name a staff id, or pass --nobody".into(),
                ));
            }
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            session.assign(&mailbox, staff.as_deref()).await?;
            println!("Assigned to {}.", staff.as_deref().unwrap_or("nobody"));
            Ok(())
        }
        Command::State {
            thread,
            state,
            note,
        } => {
            let state = HerState::parse(&state).ok_or_else(|| {
                DeskError::Invalid(format!(
                    "unknown state `{state}`; use received, in_progress, waiting or closed"
                ))
            })?;
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            let seq = session.set_her_state(&mailbox, state, &note).await?;
            println!("Sděleno / Told her (message {seq}): {}.", state.label());
            Ok(())
        }
        Command::Transfer { thread, to, reason } => {
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            session.transfer(&mailbox, &to, &reason).await?;
            println!(
                "Transferred to {to}; the person keeps her code and is told in a sealed message."
            );
            Ok(())
        }
        Command::Export { thread, out, json } => {
            if out.exists() {
                return Err(DeskError::Invalid(format!(
                    "{} already exists",
                    out.display()
                )));
            }
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            let text = if json {
                let json = serde_json::to_string_pretty(&session.thread(&mailbox).await?)
                    .map_err(|_| DeskError::BadResponse)?;
                terminal::json(&json).into_owned()
            } else {
                session.export_text(&mailbox).await?
            };
            let files = export::write_files(&session, &mailbox, &out).await?;
            keystore::write_new(&out, text.as_bytes(), false)?;
            println!("Written to {} (readable only by you).", out.display());
            if let Some((dir, written, failed)) = files {
                println!(
                    "Přílohy / attachments: {written} in {} (readable only by you).",
                    dir.display()
                );
                for why in failed {
                    println!("{}", escape(&why));
                }
            }
            Ok(())
        }
        Command::SafeContact {
            thread,
            safe,
            clear,
        } => cases::safe_contact(&session(home).await?, &thread, safe, clear).await,
        Command::Cases(json) => cases::list(&session(home).await?, json.json).await,
        Command::Case(command) => cases::run(&session(home).await?, command).await,
        Command::Stats { from, to } => cases::stats(&session(home).await?, from, to).await,
        Command::Serve { port, lock_after } => {
            crate::web::serve(home.clone(), port, lock_after).await
        }
        Command::Install => {
            print!(
                "{}",
                crate::launcher::install(home, &crate::launcher::Places::of_user()?)?
            );
            Ok(())
        }
        Command::Open { print } => {
            let url = crate::launcher::request_url(home)?;
            if print {
                println!("{url}");
                Ok(())
            } else {
                crate::launcher::open_in_browser(&url)
            }
        }
        Command::Admin(command) => admin::run(command).await,
    }
}

fn init(home: &Home, relay: String, root_key: String) -> Result<(), DeskError> {
    let settings = Settings { relay, root_key };
    settings.root()?;
    RelayClient::new(&settings.relay)?;
    if home.keystore().exists() {
        return Err(DeskError::Invalid(format!(
            "{} already exists; this desk already has keys",
            home.keystore().display()
        )));
    }
    let passphrase = new_passphrase("OZVI_DESK_PASSPHRASE")?;
    let keys = crate::admin::create_staff_keystore(&home.keystore(), &passphrase)?;
    home.save_settings(&settings)?;
    let request = serde_json::to_string_pretty(&crate::admin::Enrolment::of(&keys))
        .map_err(|_| DeskError::BadResponse)?
        + "\n";
    let path = home.dir().join("enrolment.json");
    std::fs::write(&path, &request)
        .map_err(|e| DeskError::Io(format!("{}: {e}", path.display())))?;
    eprintln!(
        "Your keys are in {} (encrypted).",
        home.keystore().display()
    );
    eprintln!(
        "Send this enrolment request to the operator ({}), and read them this fingerprint \
         over the phone: {}",
        path.display(),
        crate::admin::Enrolment::fingerprint(&keys)
    );
    print!("{request}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::args::{AdminCommand, Cli, Command};
    use clap::Parser;

    /// A base64url key begins with '-' one time in 64; clap must take it as
    /// the value, not as an unknown flag.
    #[test]
    fn a_root_key_beginning_with_a_hyphen_is_a_value() {
        let key = "-e1C8J97AFPcDzP8z_kNYmEekmDCXDuUq9-gmnkG-Ko";
        let cli = Cli::try_parse_from([
            "ozvi-desk",
            "init",
            "--relay",
            "http://x",
            "--root-key",
            key,
        ])
        .expect("parses");
        match cli.command {
            Command::Init { root_key, .. } => assert_eq!(root_key, key),
            _ => panic!("not init"),
        }
        let cli = Cli::try_parse_from(["ozvi-desk", "admin", "show", "d.json", "--root-key", key])
            .expect("parses");
        match cli.command {
            Command::Admin(AdminCommand::Show { root_key, .. }) => assert_eq!(root_key, key),
            _ => panic!("not admin show"),
        }
    }

    /// Thread ids are base64url too, and a reply may begin with a dash.
    #[test]
    fn thread_ids_and_texts_beginning_with_a_hyphen_are_values() {
        let cli = Cli::try_parse_from(["ozvi-desk", "read", "-e1C8", "--json"]).expect("parses");
        match cli.command {
            Command::Read { thread, json } => {
                assert_eq!(thread, "-e1C8");
                assert!(json.json);
            }
            _ => panic!("not read"),
        }
        let cli = Cli::try_parse_from(["ozvi-desk", "read", "--json", "-e1C8"]).expect("parses");
        assert!(matches!(cli.command, Command::Read { thread, .. } if thread == "-e1C8"));
        let cli = Cli::try_parse_from(["ozvi-desk", "reply", "-x_y", "--text", "- ano, zítra"])
            .expect("parses");
        assert!(
            matches!(cli.command, Command::Reply { thread, text, .. } if thread == "-x_y" && text == "- ano, zítra")
        );
        let cli = Cli::try_parse_from(["ozvi-desk", "status", "-x_y", "closed"]).expect("parses");
        assert!(
            matches!(cli.command, Command::Status { thread, status } if thread == "-x_y" && status == "closed")
        );
    }
}
