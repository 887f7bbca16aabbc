//! The desk's folder on the staff member's machine:
//!
//! - `desk.toml`: the relay's address and the pinned root key (public);
//! - `staff.ozvi-keys`: the keystore (encrypted, mode 0600);
//! - `directories/`: every directory this desk has verified, by version, so
//!   that replies of staff who have since left still verify, and so that a
//!   relay serving an older directory is caught.

use std::path::{Path, PathBuf};

use ozvi_crypto::primitives::sig::Ed25519Public;
use ozvi_crypto::{Directory, SignedDirectory};
use serde::{Deserialize, Serialize};

use crate::error::DeskError;

/// The settings file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The relay's address.
    pub relay: String,
    /// The operator's root key, base64url.
    pub root_key: String,
}

impl Settings {
    /// The root key, parsed.
    pub fn root(&self) -> Result<Ed25519Public, DeskError> {
        ozvi_crypto::format::b64::decode(&self.root_key)
            .ok()
            .and_then(|b| Ed25519Public::from_bytes(&b).ok())
            .ok_or_else(|| DeskError::Invalid("root_key in desk.toml is not a valid key".into()))
    }
}

/// A desk folder.
#[derive(Debug, Clone)]
pub struct Home {
    dir: PathBuf,
}

fn io(path: &Path, e: std::io::Error) -> DeskError {
    DeskError::Io(format!("{}: {e}", path.display()))
}

impl Home {
    /// The folder `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The default folder: `$OZVI_DESK_HOME`, else `$XDG_CONFIG_HOME/ozvi-desk`,
    /// else `~/.config/ozvi-desk`.
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("ozvi-desk");
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
        PathBuf::from(home).join(".config").join("ozvi-desk")
    }

    /// The folder itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the web UI's "Uložit" (Save) writes attached files: a folder
    /// of the desk's (mode 0700), each file mode 0600.
    pub fn attachments(&self) -> PathBuf {
        self.dir.join("prilohy")
    }

    /// The keystore's path.
    pub fn keystore(&self) -> PathBuf {
        self.dir.join("staff.ozvi-keys")
    }

    fn settings_path(&self) -> PathBuf {
        self.dir.join("desk.toml")
    }

    fn directories(&self) -> PathBuf {
        self.dir.join("directories")
    }

    /// Reads `desk.toml`.
    pub fn settings(&self) -> Result<Settings, DeskError> {
        let path = self.settings_path();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            DeskError::Io(format!(
                "{}: {e}; run `ozvi-desk init` first",
                path.display()
            ))
        })?;
        toml::from_str(&text)
            .map_err(|e| DeskError::Invalid(format!("{} is not valid: {e}", path.display())))
    }

    /// Writes `desk.toml`.
    pub fn save_settings(&self, settings: &Settings) -> Result<(), DeskError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let path = self.settings_path();
        let text = toml::to_string(settings).map_err(|_| DeskError::Invalid("settings".into()))?;
        std::fs::write(&path, text).map_err(|e| io(&path, e))
    }

    /// Every directory this desk has accepted, oldest first, each verified
    /// again under `root`. Files that do not verify are ignored.
    pub fn known_directories(&self, root: &Ed25519Public) -> Vec<Directory> {
        let Ok(entries) = std::fs::read_dir(self.directories()) else {
            return Vec::new();
        };
        let mut out: Vec<Directory> = entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|json| SignedDirectory::verify(&json, root, None).ok())
            .collect();
        out.sort_by_key(|d| d.version);
        out.dedup_by_key(|d| d.version);
        out
    }

    /// Keeps a verified directory.
    pub fn remember_directory(&self, directory: &Directory, json: &[u8]) -> Result<(), DeskError> {
        let dir = self.directories();
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let path = dir.join(format!("v{:012}.json", directory.version));
        if !path.exists() {
            std::fs::write(&path, json).map_err(|e| io(&path, e))?;
        }
        Ok(())
    }
}
