//! `ozvi-relay`: see `ozvi-relay --help`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ozvi_relay::admin;
use ozvi_relay::config::{AdmissionSecret, Config, DatabaseUrl, StoreKind};
use ozvi_relay::logging;
use ozvi_relay::startup::{self, Engine};
use ozvi_relay::state::{Clock as _, SystemClock};
use ozvi_relay::store::postgres::{PgError, PgStore};
use ozvi_relay::store::{SledStore, Store};

/// jemalloc (Cargo.toml says why; its options are in .cargo/config.toml).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The Ozvi relay: stores only ciphertext and serves the web client.
///
/// Settings come from the defaults, then the TOML file given with --config,
/// then environment variables, then flags.
#[derive(Parser)]
#[command(name = "ozvi-relay", version)]
struct Cli {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "OZVI_LISTEN")]
    listen: Option<SocketAddr>,
    /// Data directory (sled's database; attached files with either store)
    /// [default: ozvi-data]
    #[arg(long, env = "OZVI_DATA")]
    data: Option<PathBuf>,
    /// Which engine holds the records [default: sled]
    #[arg(long, env = "OZVI_STORE", value_enum)]
    store: Option<StoreKind>,
    /// The PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE, with
    /// --store postgres (better here or in the environment than in the
    /// file; never logged or printed)
    #[arg(long, env = "OZVI_DATABASE_URL", hide_env_values = true, value_parser = database_url)]
    database_url: Option<DatabaseUrl>,
    /// With --store postgres: the secret every relay on the database shares,
    /// base64url of 32 random bytes (docs/OPERATIONS.md; never logged or
    /// printed)
    #[arg(long, env = "OZVI_ADMISSION_SECRET", hide_env_values = true, value_parser = admission_secret)]
    admission_secret: Option<AdmissionSecret>,
    /// TOML configuration file
    #[arg(long, env = "OZVI_CONFIG")]
    config: Option<PathBuf>,
    /// The operator's Ed25519 root key, base64url
    #[arg(long, env = "OZVI_ROOT_KEY", allow_hyphen_values = true)]
    root_key: Option<String>,
    /// A signed directory file to install if it is newer than the stored one
    #[arg(long, env = "OZVI_DIRECTORY")]
    directory: Option<PathBuf>,
    /// Directory of the built web client, served at /
    #[arg(long, env = "OZVI_WEB_ROOT")]
    web_root: Option<PathBuf>,
    /// Proof-of-work difficulty in bits
    #[arg(long, env = "OZVI_POW_DIFFICULTY")]
    pow_difficulty: Option<u8>,
    /// Address for /metrics (never the public listener), or "off"
    /// [default: 127.0.0.1:9464]
    #[arg(long, env = "OZVI_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// The SMTP password of [notify] (better here than in the file; never
    /// logged)
    #[arg(long, env = "OZVI_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve (the default).
    Serve,
    /// Write a consistent snapshot of the data directory (--data) to OUT,
    /// for backups and for `ozvi-audit store`. Works while the relay runs
    /// (it asks the relay over DATA/admin.sock) and when it is stopped.
    Export {
        /// Where to write the snapshot (must not exist yet).
        out: PathBuf,
    },
    /// Send the staff notification digest now, as at a scheduled slot
    /// ([notify] in the configuration), through the running relay; prints
    /// what happened for each centre. A way to test the mail settings.
    Notify,
}

/// `--database-url`: taken as is (checked when connecting), never echoed.
fn database_url(text: &str) -> Result<DatabaseUrl, std::convert::Infallible> {
    Ok(DatabaseUrl::new(text.to_string()))
}

/// `--admission-secret`: taken as is (checked with the configuration),
/// never echoed.
fn admission_secret(text: &str) -> Result<AdmissionSecret, std::convert::Infallible> {
    Ok(AdmissionSecret::new(text.to_string()))
}

impl Cli {
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(v) = self.listen {
            config.listen = v;
        }
        if let Some(v) = &self.data {
            config.data = v.clone();
        }
        if let Some(v) = self.store {
            config.store = v;
        }
        if let Some(v) = &self.database_url {
            config.database_url = Some(v.clone());
        }
        if let Some(v) = &self.admission_secret {
            config.admission_secret = Some(v.clone());
        }
        if let Some(v) = &self.root_key {
            config.root_key = v.clone();
        }
        if let Some(v) = &self.directory {
            config.directory = Some(v.clone());
        }
        if let Some(v) = &self.web_root {
            config.web_root = Some(v.clone());
        }
        if let Some(v) = self.pow_difficulty {
            config.pow_difficulty = v;
        }
        if let Some(v) = &self.smtp_password {
            config.notify.smtp_password =
                ozvi_relay::notify::config::Password(zeroize::Zeroizing::new(v.clone()));
        }
        if let Some(v) = &self.metrics_listen {
            config.metrics_listen = ozvi_relay::config::parse_listen_or_off(v)
                .map_err(|e| anyhow::anyhow!("--metrics-listen: {e}"))?;
        }
        Ok(config)
    }
}

/// Runs the command; a failure is printed as one line (its causes joined
/// with `: `) and exit status 1. Never the `Debug` form that returning the
/// error from `main` prints: with `RUST_BACKTRACE` set, that adds a
/// backtrace an operator has no use for.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let http_layer_errors = logging::init();
    let config = cli.config()?;
    match cli.command {
        Some(Command::Export { out }) => export(&config, &out),
        Some(Command::Notify) => notify(&config),
        None | Some(Command::Serve) => {
            logging::summarize(http_layer_errors);
            serve(config)
        }
    }
}

/// `ozvi-relay notify`: asks the running relay to send the digest now.
fn notify(config: &Config) -> anyhow::Result<()> {
    let report =
        admin::request(&admin::socket_path(&config.data), "notify")?.with_context(|| {
            format!(
                "no relay is running on {} (the digest is sent by the running relay)",
                config.data.display()
            )
        })?;
    print!("{report}");
    Ok(())
}

/// `ozvi-relay export OUT`: on sled, through the running relay if there
/// is one, otherwise straight from the data directory; on PostgreSQL, from
/// the database itself in one read-only snapshot (the relays keep serving)
/// into the same sled layout, blobs from the data directory.
fn export(config: &Config, out: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(!out.exists(), "{} already exists", out.display());
    if config.store == StoreKind::Postgres {
        return export_postgres(config, out);
    }
    let bytes = match admin::request_export(&admin::socket_path(&config.data), out)? {
        Some(bytes) => bytes,
        None => {
            let store = SledStore::open(&config.data).map_err(|e| {
                anyhow::anyhow!(
                    "cannot open {} (if a relay is running on it, its control socket did not \
                     answer): {e}",
                    config.data.display()
                )
            })?;
            admin::export(&store, &std::path::absolute(out)?)?
        }
    };
    println!("exported to {} ({bytes} bytes)", out.display());
    Ok(())
}

/// `ozvi-relay export OUT` with `store = "postgres"`
/// (`ozvi_relay::store::postgres::export`). The URL never appears in a
/// message.
fn export_postgres(config: &Config, out: &std::path::Path) -> anyhow::Result<()> {
    let url = config
        .database_url
        .as_ref()
        .context("store = \"postgres\" needs database_url")?;
    let out = std::path::absolute(out)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let exported = runtime
        .block_on(ozvi_relay::store::postgres::export::export(
            url.expose(),
            &config.data,
            &out,
        ))
        .map_err(|e| anyhow::anyhow!("export failed: {e}"))?;
    let bytes = admin::exported_size(&out)?;
    println!(
        "exported to {} ({bytes} bytes: {} threads, {} messages, {} files)",
        out.display(),
        exported.threads,
        exported.messages,
        exported.files
    );
    Ok(())
}

/// Opens the configured store: the engine behind the seam, and the sled
/// store itself when it is sled (for the control socket's export and the
/// final flush). Every failure is one line without the database URL or its
/// password.
async fn open_engine(config: &Config) -> anyhow::Result<(Engine, Option<Arc<SledStore>>)> {
    match (config.store, &config.database_url) {
        (StoreKind::Postgres, Some(url)) => {
            let unusable = |e: PgError| anyhow::anyhow!("the PostgreSQL store cannot be used: {e}");
            let store = PgStore::open(url.expose(), &config.data)
                .await
                .map_err(unusable)?;
            let secret = match &config.admission_secret {
                Some(secret) => Some(secret.bytes()?),
                None => {
                    tracing::warn!(
                        "admission_secret is not set: whoever can read the database can link \
                         this hour's rate-limit tags to client addresses and make \
                         proof-of-work challenges (docs/OPERATIONS.md)"
                    );
                    None
                }
            };
            let engine = Engine::postgres_keyed(store, url.expose(), secret, SystemClock.now())
                .await
                .map_err(unusable)?;
            tracing::info!("store: postgres");
            Ok((engine, None))
        }
        (StoreKind::Postgres, None) => anyhow::bail!("store = \"postgres\" needs database_url"),
        (StoreKind::Sled, _) => {
            let store = Arc::new(SledStore::open(&config.data).map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the data directory {}: {e}",
                    config.data.display()
                )
            })?);
            Ok((
                Engine::embedded(Arc::clone(&store) as Arc<dyn Store>)?,
                Some(store),
            ))
        }
    }
}

#[actix_web::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    config.validate()?;
    let (engine, sled) = open_engine(&config).await?;
    let config_data = config.data.clone();
    let listener = TcpListener::bind(config.listen).with_context(|| {
        format!(
            "cannot listen on the configured port {}",
            config.listen.port()
        )
    })?;
    let address = listener.local_addr()?;
    let metrics_listen = config.metrics_listen;
    let state = startup::build(config, engine, Arc::new(SystemClock)).await?;
    startup::start_sweeper(state.clone());
    ozvi_relay::notify::Notifier::start(Arc::clone(&state.notifier), state.clone());
    admin::start(&config_data, sled.clone(), state.clone())?;
    let metrics = match metrics_listen.map(TcpListener::bind) {
        Some(Ok(listener)) => {
            let port = listener.local_addr()?.port();
            tracing::info!(port, "metrics served");
            Some(startup::run_metrics(listener, state.clone())?)
        }
        Some(Err(_)) => {
            tracing::warn!(
                port = metrics_listen.map_or(0, |a| a.port()),
                "cannot listen on the metrics port; metrics are not served"
            );
            None
        }
        None => None,
    };
    // The port only: no IP address ever appears in the log, not even ours.
    tracing::info!(port = address.port(), "listening");
    let server = startup::run(listener, state)?;
    if let Some(metrics) = metrics {
        let handle = metrics.handle();
        tokio::spawn(metrics);
        server.await?;
        handle.stop(true).await;
    } else {
        server.await?;
    }
    let _ = std::fs::remove_file(admin::socket_path(&config_data));
    // PostgreSQL's commits are durable already; sled's last writes are
    // flushed here.
    if let Some(store) = &sled {
        store
            .flush()
            .map_err(|e| anyhow::anyhow!("final flush failed: {e}"))?;
    }
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A base64url key begins with '-' one time in 64; clap must take it as
    /// the value, not as an unknown flag.
    #[test]
    fn a_root_key_beginning_with_a_hyphen_is_a_value() {
        let key = "-e1C8J97AFPcDzP8z_kNYmEekmDCXDuUq9-gmnkG-Ko";
        let cli = Cli::try_parse_from(["ozvi-relay", "--root-key", key]).expect("parses");
        assert_eq!(cli.root_key.as_deref(), Some(key));
    }
}
