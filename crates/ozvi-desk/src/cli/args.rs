//! The command line: every command and option, as `ozvi-desk --help` shows
//! them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Ozvi desk: read and answer your centre's conversations. Keys stay on this
/// machine; the relay sees only ciphertext.
///
/// Every command that needs your keys asks for your passphrase, or reads it
/// from OZVI_DESK_PASSPHRASE (for scripts).
#[derive(Parser)]
#[command(name = "ozvi-desk", version)]
pub(crate) struct Cli {
    /// The desk's folder (settings, keystore, verified directories)
    /// [default: ~/.config/ozvi-desk]
    #[arg(long, env = "OZVI_DESK_HOME", global = true)]
    pub(crate) home: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args)]
pub(crate) struct Json {
    /// Print JSON for machines instead of text for people.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// Keep a quiet conversation (or eviction case) from deletion for
    /// another retention period.
    Keep {
        #[arg(allow_hyphen_values = true)]
        thread: String,
    },
    /// Your centre's reply templates (shared by its staff); --set FILE
    /// replaces them with a JSON list of {id, lang, title, text}.
    Templates {
        /// A JSON file with the new list.
        #[arg(long)]
        set: Option<std::path::PathBuf>,
        #[command(flatten)]
        json: Json,
    },
    /// Whether your centre's e-mail notifications are delivered (when the
    /// last one arrived, or a warning if the relay cannot send them).
    Notifications(Json),
    /// Read a conversation (marks it read). THREAD is its id or the first
    /// characters of it, as the inbox shows.
    Read {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        #[command(flatten)]
        json: Json,
    },
    /// Reply to the person, with up to five files attached.
    Reply {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        /// The reply (may be empty when a file is attached).
        #[arg(long, allow_hyphen_values = true, default_value = "")]
        text: String,
        /// A file to attach: a JPEG, PNG or PDF (by its content) of at most
        /// 16 MiB; repeat for more (at most 5). Its name goes with it.
        #[arg(long, value_name = "FILE")]
        attach: Vec<PathBuf>,
    },
    /// Save attachment N of a conversation (numbered from 1 as `read`
    /// lists them) to a new file, readable only by you. Nothing is
    /// written unless the file verifies.
    Attachment {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        /// The attachment's number.
        number: usize,
        /// The file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
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
    /// Tell her the conversation's state (sealed to her like a reply):
    /// received, in_progress, waiting (for her) or closed, with an optional
    /// one-line explanation she reads.
    State {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        state: String,
        /// The centre's one-line explanation (at most 200 characters).
        #[arg(allow_hyphen_values = true, default_value = "")]
        note: String,
    },
    /// Move the conversation to another centre; the person keeps her code
    /// and is told, in a sealed message, which centre reads it now and why.
    Transfer {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        /// The receiving centre's id.
        #[arg(long)]
        to: String,
        /// Why, in words she will read (at most 500 characters).
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        reason: String,
    },
    /// Write the decrypted conversation to a file for the case record; its
    /// attached files, verified, go into the folder OUT.prilohy beside it.
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
    /// Record when and how it is safe to contact her in a conversation
    /// (shown before any call); --clear removes it.
    SafeContact {
        #[arg(allow_hyphen_values = true)]
        thread: String,
        #[command(flatten)]
        safe: SafeContactArgs,
        /// Remove the details.
        #[arg(long)]
        clear: bool,
    },
    /// Your centre's eviction cases, the nearest deadline first (overdue
    /// ones marked).
    Cases(Json),
    /// One eviction case: register a police record, log contact attempts,
    /// close it.
    #[command(subcommand)]
    Case(CaseCommand),
    /// The annual-report figures as CSV: eviction records received,
    /// contacted within 48 h, accepted, declined; conversations opened,
    /// answered within 48 h, median first response.
    Stats {
        /// First day, YYYY-MM-DD [default: 1 January of this year]
        #[arg(long)]
        from: Option<String>,
        /// The day after the last, YYYY-MM-DD [default: a year after --from]
        #[arg(long)]
        to: Option<String>,
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
    /// Start the desk without a terminal: a per-user service (systemd) that
    /// runs `serve`, and an "Ozvi desk" launcher in the applications menu
    /// that runs `open`.
    Install,
    /// Open the running desk in the browser (a new single-use address from
    /// it); with --print, print the address instead.
    Open {
        /// Print the address instead of starting the browser.
        #[arg(long)]
        print: bool,
    },
    /// The operator's tools: root key, directory, enrolment, publishing.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// When and how it is safe to contact her.
#[derive(Args)]
pub(crate) struct SafeContactArgs {
    /// When it is safe, e.g. "weekdays 9-12, never evenings".
    #[arg(long, default_value = "")]
    pub(crate) times: String,
    /// Only chat is safe: do not call her.
    #[arg(long)]
    pub(crate) chat_only: bool,
    /// A voicemail may be left.
    #[arg(long)]
    pub(crate) voicemail: bool,
    /// The code word agreed with her.
    #[arg(long, default_value = "")]
    pub(crate) code_word: String,
}

/// Times are `YYYY-MM-DD HH:MM` in this computer's time zone, or Unix
/// seconds.
#[derive(Subcommand)]
pub(crate) enum CaseCommand {
    /// Register a police eviction record as it arrived; prints the case id.
    Open {
        /// When the police entered the home.
        #[arg(long)]
        entered: String,
        /// When the centre received the record [default: now].
        #[arg(long)]
        received: Option<String>,
        /// The police unit.
        #[arg(long, default_value = "")]
        police_unit: String,
        /// The record's number.
        #[arg(long, default_value = "")]
        record_no: String,
        /// Her name, as the record gives it.
        #[arg(long, default_value = "")]
        name: String,
        /// Her phone.
        #[arg(long, default_value = "")]
        phone: String,
        /// Her address.
        #[arg(long, default_value = "")]
        address: String,
        /// Children in the household.
        #[arg(long, default_value = "")]
        children: String,
        /// Free notes.
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        notes: String,
    },
    /// The case, its deadlines and its log.
    Show {
        #[arg(allow_hyphen_values = true)]
        case: String,
        #[command(flatten)]
        json: Json,
    },
    /// Log a contact attempt: channel phone, visit, letter or chat; outcome
    /// reached, no_answer, wrong_number, unsafe_to_talk, declined or
    /// accepted.
    Attempt {
        #[arg(allow_hyphen_values = true)]
        case: String,
        #[arg(long)]
        channel: String,
        #[arg(long)]
        outcome: String,
        /// When [default: now].
        #[arg(long)]
        at: Option<String>,
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        text: String,
    },
    /// Record when and how it is safe to contact her.
    SafeContact {
        #[arg(allow_hyphen_values = true)]
        case: String,
        #[command(flatten)]
        safe: SafeContactArgs,
    },
    /// Link an anonymous conversation to the case (she wrote after the
    /// police left).
    Link {
        #[arg(allow_hyphen_values = true)]
        case: String,
        #[arg(allow_hyphen_values = true)]
        thread: String,
    },
    /// Close the case with her choice: accepted, declined or unreachable.
    Close {
        #[arg(allow_hyphen_values = true)]
        case: String,
        #[arg(long)]
        choice: String,
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        text: String,
    },
    /// Add a note to the case's log.
    Note {
        #[arg(allow_hyphen_values = true)]
        case: String,
        #[arg(long, allow_hyphen_values = true)]
        text: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
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
