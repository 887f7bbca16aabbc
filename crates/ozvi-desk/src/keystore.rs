//! Passphrase-encrypted key files: a staff member's keys, or the operator's
//! root key (PROTOCOL.md §11).
//!
//! A file is a 60-byte header followed by XChaCha20-Poly1305 ciphertext under
//! a key derived from the passphrase with Argon2id; the header is the
//! associated data. It is written beside its final name and renamed into
//! place, so no plaintext and no half-written file ever exists on disk.

use std::io::Write;
use std::path::Path;

use ozvi_crypto::StaffKeys;
use ozvi_crypto::primitives::aead::{XNONCE_LEN, xchacha_open, xchacha_seal};
use ozvi_crypto::primitives::kdf::{Argon2Params, argon2id};
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::primitives::sig::Ed25519Secret;
use rand_core::Rng;
use zeroize::Zeroizing;

/// The first six bytes of every keystore.
pub const MAGIC: &[u8; 6] = b"OZVIKS";
/// The format version.
pub const VERSION: u8 = 1;
/// Header length: magic, version, kind, three u32 parameters, salt, nonce.
pub const HEADER_LEN: usize = 6 + 1 + 1 + 12 + 16 + XNONCE_LEN;
/// Shortest passphrase accepted for a new keystore.
pub const MIN_PASSPHRASE_CHARS: usize = 10;

/// Argon2id parameters for new keystores: 64 MiB, 3 passes, 1 lane — about
/// a third of a second on a staff PC, once per session.
pub const PARAMS: Argon2Params = Argon2Params {
    memory_kib: 64 * 1024,
    passes: 3,
    lanes: 1,
};

/// What a keystore holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// A staff member's X25519 and Ed25519 keys.
    Staff = 1,
    /// The operator's Ed25519 root key.
    Root = 2,
}

/// Why a keystore could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The passphrase does not open the file (or the file was altered).
    #[error("wrong passphrase, or the keystore file was altered")]
    WrongPassphrase,
    /// The file is not a keystore this version can read.
    #[error("this file is not an Ozvi keystore, or it is damaged")]
    NotAKeystore,
    /// A root keystore where a staff one was expected, or the reverse.
    #[error("this keystore holds {0}, not the key expected here")]
    WrongKind(&'static str),
    /// The passphrase is too short for a new keystore.
    #[error("the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")]
    WeakPassphrase,
    /// The file already exists and would be overwritten.
    #[error("{0} already exists; refusing to overwrite a key")]
    Exists(String),
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(String),
}

fn describe(kind: KeyRole) -> &'static str {
    match kind {
        KeyRole::Staff => "a staff member's keys",
        KeyRole::Root => "the operator's root key",
    }
}

/// Encrypts `secret` under `passphrase` into keystore bytes.
pub fn seal(
    kind: KeyRole,
    secret: &[u8],
    passphrase: &str,
    params: Argon2Params,
) -> Result<Vec<u8>, KeystoreError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(KeystoreError::WeakPassphrase);
    }
    let mut rng = os_rng();
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; XNONCE_LEN];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(VERSION);
    header.push(kind as u8);
    for value in [params.memory_kib, params.passes, params.lanes] {
        header.extend_from_slice(&value.to_be_bytes());
    }
    header.extend_from_slice(&salt);
    header.extend_from_slice(&nonce);
    let key = argon2id(params, passphrase.as_bytes(), &salt);
    let mut out = header.clone();
    out.extend_from_slice(&xchacha_seal(&key, &nonce, &header, secret));
    Ok(out)
}

/// Decrypts keystore bytes of `kind`.
pub fn open(
    bytes: &[u8],
    kind: KeyRole,
    passphrase: &str,
) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let (header, ciphertext) = bytes
        .split_at_checked(HEADER_LEN)
        .ok_or(KeystoreError::NotAKeystore)?;
    if &header[..6] != MAGIC || header[6] != VERSION {
        return Err(KeystoreError::NotAKeystore);
    }
    let found = match header[7] {
        1 => KeyRole::Staff,
        2 => KeyRole::Root,
        _ => return Err(KeystoreError::NotAKeystore),
    };
    if found != kind {
        return Err(KeystoreError::WrongKind(describe(found)));
    }
    let word =
        |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let params = Argon2Params {
        memory_kib: word(8),
        passes: word(12),
        lanes: word(16),
    };
    // Bounds keep a damaged or hostile file from demanding absurd work (and
    // keep the parameters within what Argon2 accepts).
    let sane = (8 * 1024..=1024 * 1024).contains(&params.memory_kib)
        && (1..=16).contains(&params.passes)
        && (1..=8).contains(&params.lanes);
    if !sane {
        return Err(KeystoreError::NotAKeystore);
    }
    let salt = &header[20..36];
    let nonce: &[u8; XNONCE_LEN] = header[36..HEADER_LEN]
        .try_into()
        .map_err(|_| KeystoreError::NotAKeystore)?;
    let key = argon2id(params, passphrase.as_bytes(), salt);
    let plaintext =
        xchacha_open(&key, nonce, header, ciphertext).ok_or(KeystoreError::WrongPassphrase)?;
    Ok(plaintext)
}

/// Encodes staff keys for a keystore: X25519 secret ‖ Ed25519 seed.
pub fn staff_secret(keys: &StaffKeys) -> Zeroizing<Vec<u8>> {
    let (x, ed) = keys.to_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(64));
    out.extend_from_slice(x.as_ref());
    out.extend_from_slice(ed.as_ref());
    out
}

/// Decodes what [`staff_secret`] encoded.
pub fn staff_keys(secret: &[u8]) -> Result<StaffKeys, KeystoreError> {
    let (x, ed) = secret
        .split_at_checked(32)
        .filter(|(_, ed)| ed.len() == 32)
        .ok_or(KeystoreError::NotAKeystore)?;
    let x = Zeroizing::new(<[u8; 32]>::try_from(x).map_err(|_| KeystoreError::NotAKeystore)?);
    let ed = Zeroizing::new(<[u8; 32]>::try_from(ed).map_err(|_| KeystoreError::NotAKeystore)?);
    Ok(StaffKeys::from_bytes(*x, &ed))
}

/// Decodes a root keystore's secret: the Ed25519 seed.
pub fn root_key(secret: &[u8]) -> Result<Ed25519Secret, KeystoreError> {
    let seed =
        Zeroizing::new(<[u8; 32]>::try_from(secret).map_err(|_| KeystoreError::NotAKeystore)?);
    Ok(Ed25519Secret::from_seed(&seed))
}

/// Writes `bytes` to `path` (mode 0600) by writing a temporary file beside
/// it, syncing it and renaming it into place. Refuses to replace an existing
/// file unless `replace` is set.
pub fn write_new(path: &Path, bytes: &[u8], replace: bool) -> Result<(), KeystoreError> {
    let io = |e: std::io::Error| KeystoreError::Io(format!("cannot write {}: {e}", path.display()));
    if !replace && path.exists() {
        return Err(KeystoreError::Exists(path.display().to_string()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = tempfile::Builder::new()
        .prefix(".ozvi-keystore-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    if replace {
        file.persist(path).map_err(|e| io(e.error))?;
    } else {
        file.persist_noclobber(path).map_err(|e| io(e.error))?;
    }
    Ok(())
}

/// Reads a keystore file.
pub fn read(path: &Path) -> Result<Vec<u8>, KeystoreError> {
    std::fs::read(path)
        .map_err(|e| KeystoreError::Io(format!("cannot read the keystore {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Argon2Params = Argon2Params {
        memory_kib: 8 * 1024,
        passes: 1,
        lanes: 1,
    };

    #[test]
    fn a_keystore_opens_only_with_its_passphrase_and_kind() {
        let keys = StaffKeys::generate(&mut os_rng());
        let bytes = seal(
            KeyRole::Staff,
            &staff_secret(&keys),
            "correct horse battery",
            FAST,
        )
        .expect("seals");
        let secret = open(&bytes, KeyRole::Staff, "correct horse battery").expect("opens");
        assert_eq!(staff_keys(&secret).expect("keys").public(), keys.public());
        assert!(matches!(
            open(&bytes, KeyRole::Staff, "correct horse batterY"),
            Err(KeystoreError::WrongPassphrase)
        ));
        assert!(matches!(
            open(&bytes, KeyRole::Root, "correct horse battery"),
            Err(KeystoreError::WrongKind(_))
        ));
        // The plaintext key bytes are nowhere in the file.
        let (x, ed) = keys.to_bytes();
        for secret in [&x[..], &ed[..]] {
            assert!(!bytes.windows(32).any(|w| w == secret));
        }
    }

    #[test]
    fn damaged_files_are_refused_without_panicking() {
        let bytes = seal(KeyRole::Root, &[7u8; 32], "a long enough pass", FAST).expect("seals");
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 1;
            assert!(
                open(&damaged, KeyRole::Root, "a long enough pass").is_err(),
                "byte {i}"
            );
        }
        for len in 0..HEADER_LEN + 2 {
            assert!(open(&bytes[..len], KeyRole::Root, "a long enough pass").is_err());
        }
        // Absurd Argon2 parameters are refused before any work is done.
        let mut huge = bytes.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            open(&huge, KeyRole::Root, "a long enough pass"),
            Err(KeystoreError::NotAKeystore)
        ));
    }

    #[test]
    fn short_passphrases_are_refused() {
        assert!(matches!(
            seal(KeyRole::Root, &[0; 32], "short", FAST),
            Err(KeystoreError::WeakPassphrase)
        ));
    }

    #[test]
    fn files_are_written_whole_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("keys").join("staff.ozvi-keys");
        write_new(&path, b"one", false).expect("writes");
        assert_eq!(std::fs::read(&path).expect("reads"), b"one");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            write_new(&path, b"two", false),
            Err(KeystoreError::Exists(_))
        ));
        assert_eq!(std::fs::read(&path).expect("reads"), b"one");
        write_new(&path, b"three", true).expect("replaces");
        assert_eq!(std::fs::read(&path).expect("reads"), b"three");
        let leftovers = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
