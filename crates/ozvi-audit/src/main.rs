//! `ozvi-audit`: the auditor's command line. Exit status 0 when every check
//! holds, 1 when something does not (the report says what and where), 2
//! when the audit could not run (bad arguments, unreadable input).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ozvi_audit::canary::Canary;
use ozvi_audit::report::Report;
use ozvi_audit::{directory, logs, store, web};

#[derive(Parser)]
#[command(
    name = "ozvi-audit",
    version,
    about = "Checks that an Ozvi relay stores only ciphertext, logs no one and serves the \
             published client. Exit 0: every check holds; 1: findings; 2: could not audit."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print the report as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Every tree and record of a relay export (`ozvi-relay export`) or a
    /// stopped relay's data directory; or, with --database-url, every table
    /// and row of a relay's PostgreSQL database, read in one read-only
    /// snapshot, and its blobs (--files).
    Store {
        /// The sled database folder (audited as sled even when
        /// OZVI_DATABASE_URL is set).
        #[arg(required_unless_present = "database_url")]
        path: Option<PathBuf>,
        /// The relay's PostgreSQL database,
        /// postgres://USER:PASSWORD@HOST:PORT/DATABASE (never printed; better
        /// in the environment than on the command line)
        #[arg(long, env = "OZVI_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// With --database-url: the relay's blob directory (its DATA/files).
        #[arg(long, value_name = "DIR")]
        files: Option<PathBuf>,
        /// Known plaintext to search for in every byte (repeatable).
        #[arg(long = "canary", value_name = "TEXT", allow_hyphen_values = true)]
        canaries: Vec<String>,
        /// The operator's root public key: the stored directory must verify
        /// under it (without it, only its shape is checked).
        #[arg(long, allow_hyphen_values = true)]
        root_key: Option<String>,
        /// Earlier signed directories of this relay (a JSON file, or a folder
        /// of them such as a desk's `directories/`; repeatable): stanzas for
        /// staff removed since are then recognised. Verified under
        /// `--root-key` when given.
        #[arg(long = "directories", value_name = "PATH")]
        directories: Vec<PathBuf>,
    },
    /// IP addresses, user agents, mailbox ids, secrets, codes and canaries
    /// in relay logs.
    Logs {
        /// Log files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Known plaintext to search for (repeatable).
        #[arg(long = "canary", value_name = "TEXT", allow_hyphen_values = true)]
        canaries: Vec<String>,
    },
    /// The web client a relay serves, against the published build.
    Web {
        /// The page's address, e.g. https://ozvi.example/
        url: String,
        /// The build's SHA256SUMS (`cargo xtask web` writes web-client/dist/SHA256SUMS).
        #[arg(long)]
        manifest: PathBuf,
    },
    /// The directory a relay serves, under the operator's root key.
    Directory {
        /// The relay's address, e.g. https://ozvi.example/
        url: String,
        /// The operator's root public key (base64url), published out of band.
        #[arg(long, allow_hyphen_values = true)]
        root_key: String,
        /// Fail on a directory older than this version (one seen before).
        #[arg(long, default_value_t = 0)]
        min_version: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(report) => {
            if cli.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("ozvi-audit: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn canaries(texts: &[String]) -> anyhow::Result<Vec<Canary>> {
    texts.iter().map(|t| Canary::new(t)).collect()
}

fn run(command: Command) -> anyhow::Result<Report> {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    match command {
        Command::Store {
            path,
            database_url,
            files,
            canaries: c,
            root_key,
            directories,
        } => {
            let root = root_key
                .as_deref()
                .map(directory::parse_root_key)
                .transpose()?;
            let mut earlier = Vec::new();
            for dir in &directories {
                earlier.extend(store::read_directories(dir, root.as_ref())?);
            }
            let canaries = canaries(&c)?;
            // A sled path wins over a URL the environment may hold.
            let url = database_url.map(zeroize::Zeroizing::new);
            match (path, url, files) {
                (Some(path), _, None) => store::audit(&path, &canaries, root.as_ref(), &earlier),
                (None, Some(url), Some(files)) => {
                    store::postgres::audit(&url, &files, &canaries, root.as_ref(), &earlier)
                }
                (None, _, None) => anyhow::bail!(
                    "--database-url needs --files DIR, the relays' blob directory (DATA/files)"
                ),
                (_, _, Some(_)) => anyhow::bail!(
                    "--files goes with --database-url, not with a sled database (whose blobs \
                     are in its files/)"
                ),
            }
        }
        Command::Logs { files, canaries: c } => {
            let paths: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
            logs::audit(&paths, &canaries(&c)?)
        }
        Command::Web { url, manifest } => {
            let text = std::fs::read_to_string(&manifest).map_err(|e| {
                anyhow::anyhow!("cannot read the manifest {}: {e}", manifest.display())
            })?;
            let manifest = web::parse_manifest(&text)?;
            runtime()?.block_on(web::audit(&url, &manifest))
        }
        Command::Directory {
            url,
            root_key,
            min_version,
        } => {
            let root = directory::parse_root_key(&root_key)?;
            runtime()?.block_on(directory::audit(&url, &root, min_version))
        }
    }
}
