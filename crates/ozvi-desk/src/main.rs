//! `ozvi-desk`: see `ozvi-desk --help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ozvi_crypto::SignedDirectory;
use ozvi_crypto::format::b64;
use ozvi_desk::admin::{self, Enrolment};
use ozvi_desk::body::Status;
use ozvi_desk::export;
use ozvi_desk::home::{Home, Settings};
use ozvi_desk::relay::{self, Relay};
use ozvi_desk::session::{InboxEntry, Session};
use ozvi_desk::terminal::escape;
use ozvi_desk::{DeskError, keystore, terminal};
use zeroize::Zeroizing;

/// Ozvi desk: read and answer your centre's conversations. Keys stay on this
/// machine; the relay sees only ciphertext.
///
/// Every command that needs your keys asks for your passphrase, or reads it
/// from OZVI_DESK_PASSPHRASE (for scripts).
#[derive(Parser)]
#[command(name = "ozvi-desk", version)]
struct Cli {
    /// The desk's folder (settings, keystore, verified directories)
    /// [default: ~/.config/ozvi-desk]
    #[arg(long, env = "OZVI_DESK_HOME", global = true)]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Json {
    /// Print JSON for machines instead of text for people.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Create your keys (encrypted with a passphrase) and print the
    /// enrolment request to send to the operator.
    Init {
        /// The relay's address, e.g. https://ozvi.example.cz
        #[arg(long)]
        relay: String,
        /// The operator's root key (base64url), as the operator gave it to you.
        /// It may begin with '-'.
        #[arg(long, allow_hyphen_values = true)]
        root_key: String,
    },
    /// Print your enrolment request again.
    Enrolment,
    /// Your centre's conversations, newest activity first.
    Inbox(Json),
    /// Read a conversation (marks it read). THREAD is its id or the first
    /// characters of it, as the inbox shows.
    Read {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        #[command(flatten)]
        json: Json,
    },
    /// Reply to the person.
    Reply {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        /// The reply.
        #[arg(long, allow_hyphen_values = true)]
        text: String,
    },
    /// Add an internal note (only your centre's staff see it).
    Note {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        /// The note.
        #[arg(long, allow_hyphen_values = true)]
        text: String,
    },
    /// Set the case's status: new, in_progress, waiting or closed.
    Status {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        status: String,
    },
    /// Assign the case to a colleague (her staff id), or to nobody with --nobody.
    Assign {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        staff: Option<String>,
        #[arg(long, conflicts_with = "staff")]
        nobody: bool,
    },
    /// Move the conversation to another centre; the person keeps her code.
    Transfer {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        /// The receiving centre's id.
        #[arg(long)]
        to: String,
    },
    /// Write the decrypted conversation to a file for the case record.
    Export {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        /// The file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Write JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Open the desk in your browser (only on this computer).
    Serve {
        /// Port on 127.0.0.1 [default: any free port]
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Minutes without activity after which the desk locks.
        #[arg(long, default_value_t = 15)]
        lock_after: u64,
    },
    /// The operator's tools: root key, directory, enrolment, publishing.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create the root key in a passphrase-protected file (keep it offline).
    /// The passphrase comes from a prompt or OZVI_ROOT_PASSPHRASE.
    RootInit {
        /// Where to write it (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the sample directory draft (15 centres, 14 regions) and one
    /// staff keystore per centre into KEYS (passphrase: OZVI_DESK_PASSPHRASE
    /// or a prompt).
    Sample {
        /// The draft to write.
        #[arg(long)]
        draft: PathBuf,
        /// Folder for the staff keystores.
        #[arg(long)]
        keys: PathBuf,
    },
    /// Enrol a staff member from her enrolment request.
    StaffAdd {
        #[arg(long)]
        draft: PathBuf,
        /// Her centre's id.
        #[arg(long)]
        centre: String,
        /// Her staff id, e.g. zlin-3.
        #[arg(long)]
        id: String,
        /// The label colleagues see.
        #[arg(long)]
        label: String,
        /// The enrolment request file she sent.
        #[arg(long)]
        request: PathBuf,
    },
    /// Remove a staff member: new messages are no longer encrypted to her.
    StaffRemove {
        #[arg(long)]
        draft: PathBuf,
        #[arg(long)]
        id: String,
    },
    /// Sign the draft with the root key; the draft's version then moves on.
    Sign {
        #[arg(long)]
        draft: PathBuf,
        /// The root key file.
        #[arg(long)]
        root: PathBuf,
        /// The signed directory to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Publish a signed directory to the relay.
    Publish {
        /// The relay's address.
        #[arg(long)]
        relay: String,
        signed: PathBuf,
    },
    /// Verify a signed directory and summarize it.
    Show {
        signed: PathBuf,
        /// The root key (base64url). It may begin with '-'.
        #[arg(long, allow_hyphen_values = true)]
        root_key: String,
    },
}

fn main() -> ExitCode {
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

/// A passphrase from `variable` or, on a terminal, a prompt; zeroized when
/// dropped.
fn passphrase(variable: &str, prompt: &str) -> Result<Zeroizing<String>, DeskError> {
    if let Ok(value) = std::env::var(variable) {
        return Ok(Zeroizing::new(value));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(DeskError::Invalid(format!(
            "no passphrase: run in a terminal, or set {variable}"
        )));
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|e| DeskError::Io(format!("cannot read: {e}")))
}

/// A new passphrase, asked twice on a terminal.
fn new_passphrase(variable: &str) -> Result<Zeroizing<String>, DeskError> {
    if let Ok(value) = std::env::var(variable) {
        return Ok(Zeroizing::new(value));
    }
    let first = passphrase(variable, "New passphrase (at least 10 characters): ")?;
    let second = passphrase(variable, "The same passphrase again: ")?;
    if first != second {
        return Err(DeskError::Invalid("the two passphrases differ".into()));
    }
    Ok(first)
}

async fn session(home: &Home) -> Result<Session, DeskError> {
    let passphrase = passphrase("OZVI_DESK_PASSPHRASE", "Passphrase: ")?;
    Session::open(home, &passphrase).await
}

fn print_json(value: &impl serde::Serialize) -> Result<(), DeskError> {
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
        format!("{} d", hours / 24)
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
            }
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
        Command::Reply { thread, text } => {
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            let seq = session.reply(&mailbox, &text).await?;
            println!("Sent (message {seq}).");
            Ok(())
        }
        Command::Note { thread, text } => {
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            session.add_note(&mailbox, &text).await?;
            println!("Note saved (visible to your centre's staff only).");
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
        Command::Transfer { thread, to } => {
            let session = session(home).await?;
            let mailbox = session.resolve(&thread).await?;
            session.transfer(&mailbox, &to).await?;
            println!("Transferred to {to}; the person keeps her code.");
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
            keystore::write_new(&out, text.as_bytes(), false)?;
            println!("Written to {} (readable only by you).", out.display());
            Ok(())
        }
        Command::Serve { port, lock_after } => {
            ozvi_desk::web::serve(home.clone(), port, lock_after).await
        }
        Command::Admin(command) => admin(command).await,
    }
}

fn init(home: &Home, relay: String, root_key: String) -> Result<(), DeskError> {
    let settings = Settings { relay, root_key };
    settings.root()?;
    Relay::new(&settings.relay)?;
    if home.keystore().exists() {
        return Err(DeskError::Invalid(format!(
            "{} already exists; this desk already has keys",
            home.keystore().display()
        )));
    }
    let passphrase = new_passphrase("OZVI_DESK_PASSPHRASE")?;
    let keys = admin::create_staff_keystore(&home.keystore(), &passphrase)?;
    home.save_settings(&settings)?;
    let request = serde_json::to_string_pretty(&Enrolment::of(&keys))
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
        Enrolment::fingerprint(&keys)
    );
    print!("{request}");
    Ok(())
}

fn read_signed(path: &Path) -> Result<Vec<u8>, DeskError> {
    std::fs::read(path).map_err(|e| DeskError::Io(format!("{}: {e}", path.display())))
}

async fn admin(command: AdminCommand) -> Result<(), DeskError> {
    match command {
        AdminCommand::RootInit { out } => {
            let passphrase = new_passphrase("OZVI_ROOT_PASSPHRASE")?;
            let public = admin::create_root(&out, &passphrase)?;
            eprintln!(
                "Root key written to {} (encrypted). Keep it offline.",
                out.display()
            );
            eprintln!("Its public key, for the relay (root_key) and every desk:");
            println!("{}", b64::encode(&public.to_bytes()));
            Ok(())
        }
        AdminCommand::Sample { draft, keys } => {
            let passphrase = new_passphrase("OZVI_DESK_PASSPHRASE")?;
            let directory = admin::sample(&keys, &passphrase)?;
            admin::write_draft(&draft, &directory)?;
            println!(
                "Draft {} with {} centres; staff keystores in {}.",
                draft.display(),
                directory.centres.len(),
                keys.display()
            );
            Ok(())
        }
        AdminCommand::StaffAdd {
            draft,
            centre,
            id,
            label,
            request,
        } => {
            let text = std::fs::read(&request)
                .map_err(|e| DeskError::Io(format!("{}: {e}", request.display())))?;
            let enrolment: Enrolment = ozvi_crypto::format::json::from_slice(&text)
                .map_err(|_| DeskError::Invalid("not an enrolment request".into()))?;
            let keys = enrolment.keys()?;
            let mut directory = admin::read_draft(&draft)?;
            admin::add_staff(&mut directory, &centre, &id, &label, keys)?;
            admin::write_draft(&draft, &directory)?;
            println!(
                "Added {id} to {centre}. Fingerprint {} — compare it with hers. Sign and publish \
                 to make it take effect.",
                Enrolment::fingerprint(&keys)
            );
            Ok(())
        }
        AdminCommand::StaffRemove { draft, id } => {
            let mut directory = admin::read_draft(&draft)?;
            admin::remove_staff(&mut directory, &id)?;
            admin::write_draft(&draft, &directory)?;
            println!(
                "Removed {id}. Once the signed directory is published, new messages are no \
                 longer encrypted to her."
            );
            Ok(())
        }
        AdminCommand::Sign { draft, root, out } => {
            let mut directory = admin::read_draft(&draft)?;
            let passphrase = passphrase("OZVI_ROOT_PASSPHRASE", "Root key passphrase: ")?;
            let root = admin::open_root(&root, &passphrase)?;
            let version = directory.version;
            let signed = admin::sign(&mut directory, &root, relay::now())?;
            keystore::write_new(&out, signed.to_json().as_bytes(), true)?;
            admin::write_draft(&draft, &directory)?;
            println!("Signed version {version} to {}.", out.display());
            Ok(())
        }
        AdminCommand::Publish { relay, signed } => {
            let json = read_signed(&signed)?;
            Relay::new(&relay)?.publish_directory(json).await?;
            println!("Published.");
            Ok(())
        }
        AdminCommand::Show { signed, root_key } => {
            let settings = Settings {
                relay: String::new(),
                root_key,
            };
            let directory =
                SignedDirectory::verify(&read_signed(&signed)?, &settings.root()?, None)
                    .map_err(DeskError::Directory)?;
            println!(
                "Valid directory, version {}, signed {}, default centre {}.",
                directory.version,
                export::time(directory.issued_at),
                escape(&directory.default_centre)
            );
            for c in &directory.centres {
                println!(
                    "{:<20} {:<28} {}",
                    escape(&c.id),
                    escape(&c.regions.join(" ")),
                    escape(&c.names.cs)
                );
                for s in &c.staff {
                    println!(
                        "    {:<16} {:<20} {}",
                        escape(&s.id),
                        escape(&s.label),
                        Enrolment::fingerprint(&s.keys)
                    );
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            matches!(cli.command, Command::Reply { thread, text } if thread == "-x_y" && text == "- ano, zítra")
        );
        let cli = Cli::try_parse_from(["ozvi-desk", "status", "-x_y", "closed"]).expect("parses");
        assert!(
            matches!(cli.command, Command::Status { thread, status } if thread == "-x_y" && status == "closed")
        );
    }
}
