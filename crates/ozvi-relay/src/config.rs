//! Configuration: defaults, then a TOML file, then environment variables and
//! flags (`ozvi-relay --help`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Everything the relay can be told. Every field has a safe default except
/// the root key, without which the relay would accept any directory.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The sled data directory.
    pub data: PathBuf,
    /// The operator's Ed25519 root key (base64url); only directories it signed are served.
    pub root_key: String,
    /// A signed directory file to install at start if it is newer than the stored one.
    pub directory: Option<PathBuf>,
    /// The web client's built files, served at `/`.
    pub web_root: Option<PathBuf>,
    /// The relay is reached over TLS (through a reverse proxy): send HSTS.
    pub behind_tls: bool,
    /// Take the client address for rate limiting from the last
    /// `X-Forwarded-For` entry (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Proof-of-work difficulty in bits for creating a thread and posting.
    pub pow_difficulty: u8,
    /// Days without activity after which a thread is deleted.
    pub retention_days: u32,
    /// Per-centre retention, overriding `retention_days`.
    pub retention_days_by_centre: BTreeMap<String, u32>,
    /// Most messages one thread may hold.
    pub max_messages_per_thread: u32,
    /// Most envelope bytes one thread may hold.
    pub max_bytes_per_thread: u64,
    /// New threads per centre per hour.
    pub threads_per_centre_per_hour: u32,
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
            root_key: String::new(),
            directory: None,
            web_root: None,
            behind_tls: false,
            trust_forwarded_for: false,
            pow_difficulty: 16,
            retention_days: 90,
            retention_days_by_centre: BTreeMap::new(),
            max_messages_per_thread: 1000,
            max_bytes_per_thread: 16 * 1024 * 1024,
            threads_per_centre_per_hour: 120,
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
}
