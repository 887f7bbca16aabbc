//! Configuration: defaults, then a TOML file, then environment variables and
//! flags (`ozvi-relay --help`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ipnet::IpNet;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The hardest challenge the person's page accepts (docs/WEB.md): adaptive
/// difficulty never goes above it.
pub const PAGE_MAX_DIFFICULTY: u8 = 20;

/// A trusted reverse proxy: one address (`127.0.0.1`, `::1`) or a network
/// (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy(pub IpNet);

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        text.parse::<IpNet>()
            .map(|net| net.trunc())
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map(Self)
            .map_err(|_| format!("`{text}` is not an IP address or network (CIDR)"))
    }
}

impl<'de> Deserialize<'de> for TrustedProxy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Which engine holds the relay's records (`store = "sled"` or
/// `"postgres"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// sled, embedded, in the data directory: one relay per data directory.
    #[default]
    Sled,
    /// A PostgreSQL database at `database_url`, which several relays can
    /// share; attached files' bytes stay in the data directory.
    Postgres,
}

/// The PostgreSQL connection URL: it holds a password, so it is never
/// printed (`Debug` shows `***`) and is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(Zeroizing<String>);

impl DatabaseUrl {
    /// Takes `url` (and wipes it when dropped).
    pub fn new(url: String) -> Self {
        Self(Zeroizing::new(url))
    }

    /// The URL, to connect with; never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::new(String::deserialize(d)?))
    }
}

/// The relays' shared `admission_secret` (base64url of 32 random bytes):
/// mixed into the admission keys the database holds, so that the database
/// alone cannot link its address tags to addresses nor mint challenges
/// (src/admission/shared.rs). Never printed; wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct AdmissionSecret(Zeroizing<String>);

impl AdmissionSecret {
    /// Takes `text` (and wipes it when dropped).
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The 32 bytes, or why not.
    pub fn bytes(&self) -> anyhow::Result<Zeroizing<[u8; 32]>> {
        let decoded = Zeroizing::new(
            ozvi_crypto::format::b64::decode(self.0.trim()).map_err(|_| {
                anyhow::anyhow!(
                    "admission_secret is not base64url (make one with:                      head -c 32 /dev/urandom | basenc --base64url)"
                )
            })?,
        );
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!("admission_secret must be 32 bytes, base64url (43 characters)")
        })?;
        Ok(Zeroizing::new(bytes))
    }
}

impl std::fmt::Debug for AdmissionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for AdmissionSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::new(String::deserialize(d)?))
    }
}

/// Everything the relay can be told. Every field has a safe default except
/// the root key, without which the relay would accept any directory.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The data directory: sled's database, and the bytes of attached
    /// files (with either store).
    pub data: PathBuf,
    /// Which engine holds the records: `sled` (the default) or `postgres`.
    pub store: StoreKind,
    /// The PostgreSQL URL (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`)
    /// with `store = "postgres"`; better in `OZVI_DATABASE_URL` than in the
    /// file. Never logged or printed.
    pub database_url: Option<DatabaseUrl>,
    /// With `store = "postgres"`: the secret every relay on the database
    /// shares (base64url, 32 bytes), mixed into the admission keys the
    /// database holds ([`AdmissionSecret`]); better in
    /// `OZVI_ADMISSION_SECRET` than in the file. Never logged or printed.
    pub admission_secret: Option<AdmissionSecret>,
    /// The operator's Ed25519 root key (base64url); only directories it signed are served.
    pub root_key: String,
    /// A signed directory file to install at start if it is newer than the stored one.
    pub directory: Option<PathBuf>,
    /// The web client's built files, served at `/`.
    pub web_root: Option<PathBuf>,
    /// The relay is reached over TLS (through a reverse proxy): send HSTS.
    /// Needs `trusted_proxies` (the relay refuses to start without).
    pub behind_tls: bool,
    /// Addresses or networks (`127.0.0.1`, `10.0.0.0/8`, `::1`) of the
    /// reverse proxies in front of the relay. Only when the TCP peer is one of
    /// them is `X-Forwarded-For` read: its right-most address that is not a
    /// trusted proxy is the client (docs/OPERATIONS.md, "Behind TLS").
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Replaced by `trusted_proxies`; `true` is refused at start (it trusted
    /// the header from any peer, so any client could choose its address).
    pub trust_forwarded_for: bool,
    /// Proof-of-work difficulty in bits for creating a thread and posting:
    /// the price when the relay is quiet.
    pub pow_difficulty: u8,
    /// The most bits a challenge to create a thread may ask for when the
    /// relay is under pressure (adaptive difficulty, docs/API.md). At most
    /// 20: the person's page refuses harder challenges.
    pub pow_max_difficulty: u8,
    /// Days without activity after which a thread is deleted.
    pub retention_days: u32,
    /// Per-centre retention, overriding `retention_days`.
    pub retention_days_by_centre: BTreeMap<String, u32>,
    /// Most messages one thread may hold.
    pub max_messages_per_thread: u32,
    /// Most envelope bytes one thread may hold.
    pub max_bytes_per_thread: u64,
    /// New threads per centre per hour that count as quiet: above this rate
    /// every doubling adds one bit to the creation challenge (never a
    /// refusal).
    pub threads_per_centre_per_hour: u32,
    /// New threads one client address (IPv4 address, IPv6 /64) may create
    /// per clock hour; further creations from it are refused (429).
    pub threads_per_address_per_hour: u32,
    /// Requests per client address per minute (kept in memory only, under a keyed hash).
    pub requests_per_address_per_minute: u32,
    /// Messages per thread per minute.
    pub posts_per_thread_per_minute: u32,
    /// Seconds between retention sweeps.
    pub sweep_interval_secs: u64,
    /// Where `/metrics` is served: a separate listener, never the public
    /// one. `"off"` (or an empty string) serves no metrics.
    #[serde(deserialize_with = "listen_or_off")]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds between the snapshots `/metrics` reports, so that no single
    /// message can be timed from the counters.
    pub metrics_interval_secs: u64,
    /// Open event streams per thread; a new one ends the oldest.
    pub event_streams_per_thread: usize,
    /// Open event streams per staff key; a new one ends the oldest.
    pub event_streams_per_staff: usize,
    /// Open event streams per client address (IPv6: per /64); over it a new
    /// stream is refused with `too_many_streams`.
    pub event_streams_per_address: usize,
    /// Open event streams in total; over it a new stream is refused.
    pub event_streams_total: usize,
    /// Seconds after which an event stream is closed (the client reconnects
    /// or polls with its cursor).
    pub event_stream_max_secs: u64,
    /// Transfer bodies (up to 32 MiB) read at the same time; more are
    /// refused with `busy` before their body is read.
    pub concurrent_large_bodies: usize,
    /// Most files one thread's messages may claim.
    pub files_per_thread: u32,
    /// Most blob bytes one thread may hold, unclaimed uploads included.
    pub file_bytes_per_thread: u64,
    /// Most uploads of one thread that no message has claimed yet.
    pub pending_files_per_thread: u32,
    /// Seconds after which an upload no message claimed (or one that never
    /// finished) is removed by the sweeper.
    pub pending_file_secs: u64,
    /// File uploads received at the same time; more are refused with
    /// `busy` before their body is read.
    pub concurrent_uploads: usize,
    /// Staff file uploads received at the same time, apart from hers: an
    /// upload holds one of these until its signature is checked at its end,
    /// so that a copied public key cannot take her places.
    pub concurrent_staff_uploads: usize,
    /// Her uploads from one client address bucket received at the same time
    /// (more are `503 busy` before the body is read).
    pub uploads_per_address: u32,
    /// Seconds an upload may send no body byte before it is cut.
    pub upload_idle_secs: u64,
    /// Seconds after which an upload's average rate must reach
    /// `upload_min_bytes_per_sec`, or it is cut.
    pub upload_grace_secs: u64,
    /// The least average rate (bytes per second) of an upload after
    /// `upload_grace_secs`.
    pub upload_min_bytes_per_sec: u64,
    /// Most blob bytes the relay stores in all (complete and being
    /// received); an upload over it is refused before its body is read.
    pub files_max_bytes: u64,
    /// Free space left on the data directory's file system that uploads
    /// never take (the database's own writes need it).
    pub disk_reserve_bytes: u64,
    /// Content-free e-mail to staff on a schedule (`[notify]`); off unless
    /// `smtp_host` is set.
    pub notify: crate::notify::config::NotifyConfig,
}

/// `metrics_listen`: an address, or `"off"`/`""` for none.
fn listen_or_off<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_listen_or_off(&text).map_err(serde::de::Error::custom)
}

/// Parses a `metrics_listen` value: an address, or `off`/empty for none.
pub fn parse_listen_or_off(text: &str) -> Result<Option<SocketAddr>, String> {
    match text.trim() {
        "" | "off" => Ok(None),
        other => other.parse().map(Some).map_err(|_| {
            "metrics_listen must be an address such as 127.0.0.1:9464, or \"off\"".to_string()
        }),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("ozvi-data"),
            store: StoreKind::Sled,
            database_url: None,
            admission_secret: None,
            root_key: String::new(),
            directory: None,
            web_root: None,
            behind_tls: false,
            trusted_proxies: Vec::new(),
            trust_forwarded_for: false,
            pow_difficulty: 16,
            pow_max_difficulty: PAGE_MAX_DIFFICULTY,
            retention_days: 90,
            retention_days_by_centre: BTreeMap::new(),
            max_messages_per_thread: 1000,
            max_bytes_per_thread: 16 * 1024 * 1024,
            threads_per_centre_per_hour: 120,
            threads_per_address_per_hour: 10,
            requests_per_address_per_minute: 240,
            posts_per_thread_per_minute: 30,
            sweep_interval_secs: 3600,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            metrics_interval_secs: 300,
            event_streams_per_thread: 4,
            event_streams_per_staff: 8,
            event_streams_per_address: 32,
            event_streams_total: 4096,
            event_stream_max_secs: 3600,
            concurrent_large_bodies: 4,
            files_per_thread: 100,
            file_bytes_per_thread: 256 * 1024 * 1024,
            pending_files_per_thread: 10,
            pending_file_secs: 3600,
            concurrent_uploads: 256,
            concurrent_staff_uploads: 4,
            uploads_per_address: 2,
            upload_idle_secs: 30,
            upload_grace_secs: 60,
            upload_min_bytes_per_sec: 2048,
            files_max_bytes: 8 * 1024 * 1024 * 1024,
            disk_reserve_bytes: 1024 * 1024 * 1024,
            notify: crate::notify::config::NotifyConfig::default(),
        }
    }
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid relay configuration", path.display()))
    }

    /// Refuses settings the relay must not run with; the message is one line
    /// saying what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.trust_forwarded_for,
            "trust_forwarded_for is no longer supported: list your reverse proxy's address \
             instead, e.g. trusted_proxies = [\"127.0.0.1\"] (docs/OPERATIONS.md)"
        );
        anyhow::ensure!(
            !self.behind_tls || !self.trusted_proxies.is_empty(),
            "behind_tls is set but trusted_proxies is empty: every client would share the \
             proxy's rate limit; set trusted_proxies to the proxy's address, e.g. \
             trusted_proxies = [\"127.0.0.1\"] (docs/OPERATIONS.md)"
        );
        anyhow::ensure!(
            self.pow_max_difficulty <= PAGE_MAX_DIFFICULTY,
            "pow_max_difficulty must be at most {PAGE_MAX_DIFFICULTY}: the person's page refuses \
             harder challenges"
        );
        anyhow::ensure!(
            self.threads_per_address_per_hour > 0 && self.threads_per_centre_per_hour > 0,
            "threads_per_address_per_hour and threads_per_centre_per_hour must be above 0"
        );
        self.validate_store()?;
        self.notify.validate()?;
        Ok(())
    }

    /// A database URL goes with `store = "postgres"`, and only with it.
    fn validate_store(&self) -> anyhow::Result<()> {
        let url = self
            .database_url
            .as_ref()
            .filter(|u| !u.expose().trim().is_empty());
        match (self.store, url) {
            (StoreKind::Postgres, None) => anyhow::bail!(
                "store = \"postgres\" needs the database's URL: set OZVI_DATABASE_URL (or \
                 --database-url, or database_url in the file) to \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE (docs/OPERATIONS.md)"
            ),
            (StoreKind::Sled, Some(_)) => anyhow::bail!(
                "a database URL is set but store is \"sled\": set store = \"postgres\" to use \
                 the database, or remove database_url (OZVI_DATABASE_URL, --database-url)"
            ),
            _ => Ok::<(), anyhow::Error>(()),
        }?;
        if let Some(secret) = &self.admission_secret {
            anyhow::ensure!(
                self.store == StoreKind::Postgres,
                "admission_secret is for relays sharing a PostgreSQL database                  (store = \"postgres\"); a sled relay keeps its admission keys in memory"
            );
            secret.bytes()?;
        }
        Ok(())
    }

    /// The per-thread file quotas.
    pub fn file_quota(&self) -> crate::store::FileQuota {
        crate::store::FileQuota {
            files: self.files_per_thread,
            bytes: self.file_bytes_per_thread,
            pending: self.pending_files_per_thread,
        }
    }

    /// Retention in days for a centre.
    pub fn retention_days_for(&self, centre: &str) -> u32 {
        self.retention_days_by_centre
            .get(centre)
            .copied()
            .unwrap_or(self.retention_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relay.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\npow_difficulty = 4\n[retention_days_by_centre]\nic-zlin = 30\n",
        )
        .expect("write");
        let config = Config::from_file(&path).expect("valid");
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.pow_difficulty, 4);
        assert_eq!(config.retention_days_for("ic-zlin"), 30);
        assert_eq!(config.retention_days_for("ic-praha"), 90);
        assert_eq!(
            config.metrics_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9464)))
        );
        std::fs::write(&path, "metrics_listen = \"off\"\n").expect("write");
        assert_eq!(
            Config::from_file(&path).expect("valid").metrics_listen,
            None
        );
        std::fs::write(&path, "metrics_listen = \"127.0.0.1:9999\"\n").expect("write");
        assert_eq!(
            Config::from_file(&path).expect("valid").metrics_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9999)))
        );
        std::fs::write(&path, "metrics_listen = \"everywhere\"\n").expect("write");
        assert!(Config::from_file(&path).is_err());
        std::fs::write(&path, "listen_port = 1\n").expect("write");
        assert!(Config::from_file(&path).is_err());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks_and_behind_tls_needs_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relay.toml");
        std::fs::write(
            &path,
            "behind_tls = true\ntrusted_proxies = [\"127.0.0.1\", \"10.1.2.3/8\", \"::1\"]\n",
        )
        .expect("write");
        let config = Config::from_file(&path).expect("valid");
        let nets: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(|p| p.0.to_string())
            .collect();
        assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        config.validate().expect("behind TLS with a trusted proxy");
        for bad in [
            "trusted_proxies = [\"localhost\"]\n",
            "trusted_proxies = [\"10.0.0.0/33\"]\n",
        ] {
            std::fs::write(&path, bad).expect("write");
            assert!(Config::from_file(&path).is_err(), "{bad}");
        }
        let alone = Config {
            behind_tls: true,
            ..Config::default()
        };
        let message = alone.validate().expect_err("refused").to_string();
        assert!(
            message.contains("trusted_proxies") && !message.contains('\n'),
            "{message}"
        );
        let old = Config {
            trust_forwarded_for: true,
            ..Config::default()
        };
        assert!(
            old.validate()
                .expect_err("refused")
                .to_string()
                .contains("trusted_proxies")
        );
        let greedy = Config {
            pow_max_difficulty: 21,
            ..Config::default()
        };
        assert!(greedy.validate().is_err(), "the page could not solve it");
        Config::default()
            .validate()
            .expect("the defaults are valid");
    }

    #[test]
    fn an_admission_secret_is_32_bytes_for_postgres_only_and_never_shown() {
        let secret = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc";
        let postgres = Config {
            store: StoreKind::Postgres,
            database_url: Some(DatabaseUrl::new("postgres://ozvi@db/ozvi".into())),
            admission_secret: Some(AdmissionSecret::new(secret.into())),
            ..Config::default()
        };
        postgres.validate().expect("valid");
        let bytes = postgres
            .admission_secret
            .as_ref()
            .map(|s| s.bytes().expect("32 bytes"));
        assert_eq!(bytes.as_deref(), Some(&[7u8; 32]));
        let shown = format!("{postgres:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("admission_secret: Some(***)"), "{shown}");
        for (bad, why) in [("c2hvcnQ", "32 bytes"), ("not base64!", "base64url")] {
            let wrong = Config {
                admission_secret: Some(AdmissionSecret::new(bad.into())),
                ..postgres.clone()
            };
            let refused = format!("{:#}", wrong.validate().expect_err(bad));
            assert!(refused.contains(why) && !refused.contains(bad), "{refused}");
        }
        let sled = Config {
            admission_secret: Some(AdmissionSecret::new(secret.into())),
            ..Config::default()
        };
        let refused = format!("{:#}", sled.validate().expect_err("sled"));
        assert!(refused.contains("store = \"postgres\""), "{refused}");
    }

    #[test]
    fn the_store_is_sled_or_postgres_and_a_url_goes_with_postgres_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relay.toml");
        assert_eq!(Config::default().store, StoreKind::Sled);
        std::fs::write(
            &path,
            "store = \"postgres\"\ndatabase_url = \"postgres://ozvi:tajne-heslo@db/ozvi\"\n",
        )
        .expect("write");
        let config = Config::from_file(&path).expect("valid");
        assert_eq!(config.store, StoreKind::Postgres);
        assert_eq!(
            config.database_url.as_ref().map(DatabaseUrl::expose),
            Some("postgres://ozvi:tajne-heslo@db/ozvi")
        );
        config.validate().expect("postgres with a URL");
        let shown = format!("{config:?}");
        assert!(!shown.contains("tajne-heslo"), "{shown}");
        assert!(shown.contains("database_url: Some(***)"), "{shown}");

        std::fs::write(&path, "store = \"mysql\"\n").expect("write");
        let refused = format!("{:#}", Config::from_file(&path).expect_err("refused"));
        assert!(
            refused.contains("sled") && refused.contains("postgres"),
            "{refused}"
        );

        let without = Config {
            store: StoreKind::Postgres,
            ..Config::default()
        };
        let message = without.validate().expect_err("refused").to_string();
        assert!(
            message.contains("OZVI_DATABASE_URL") && !message.contains('\n'),
            "{message}"
        );
        let blank = Config {
            database_url: Some(DatabaseUrl::new("  ".into())),
            ..without
        };
        assert!(blank.validate().is_err(), "a blank URL is no URL");
        let sled_with_url = Config {
            database_url: config.database_url.clone(),
            ..Config::default()
        };
        let message = sled_with_url.validate().expect_err("refused").to_string();
        assert!(
            message.contains("store = \"postgres\"") && !message.contains("tajne-heslo"),
            "{message}"
        );
    }
}
