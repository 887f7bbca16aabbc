//! The supply-chain step of `cargo xtask test`: `cargo deny check` (RustSec
//! advisories, licences, sources, duplicate versions) with the rules in
//! `deny.toml`.
//!
//! The machines reach no network but the package registries, so the RustSec
//! advisory database comes from the snapshot the repository carries
//! (`vendor/advisory-db/`, a git bundle): it is cloned to the folder where
//! cargo-deny looks for it, and cargo-deny runs with `--offline`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use crate::process::{self, stdout_of};

/// The snapshot of the RustSec advisory database (vendor/advisory-db/README.md).
const BUNDLE: &str = "vendor/advisory-db/advisory-db.bundle";

/// `deny.toml`'s `[advisories] db-path`, relative to the workspace root.
const DB_PATH: &str = "target/advisory-dbs";

/// The folder under [`DB_PATH`] where cargo-deny opens the default RustSec
/// database: `advisory-db-` and cargo-deny's hash of its URL.
const DB_FOLDER: &str = "advisory-db-3157b0e258782691";

/// Older than this, the snapshot earns a warning: advisories published since
/// are not checked. (cargo-deny's own limit for an unfetched database.)
const MAX_AGE_DAYS: u64 = 90;

/// Prepares the advisory database, then runs `cargo deny check` offline.
pub fn check(root: &Path) -> anyhow::Result<()> {
    let text = fs::read_to_string(root.join("deny.toml")).context("reading deny.toml")?;
    let configured = configured_db_path(&text)?;
    if configured != DB_PATH {
        bail!(
            "deny.toml's [advisories] db-path is \"{configured}\", but this step puts the \
             advisory database under \"{DB_PATH}\" (xtask/src/deny.rs): make them agree"
        );
    }
    advisory_db(root)?;
    // cargo-deny reads `cargo metadata`; offline, every crate must be local.
    process::run(cargo(root).args(["fetch", "--locked"]))
        .context("`cargo fetch --locked` failed: is Cargo.lock up to date and committed?")?;
    // With the inclusion graph (which dependency brings a crate in) for
    // advisories, licences and sources; without it for bans, where the
    // graphs of the duplicate-version warnings alone run to ~1,000 lines.
    let deny = |hide_graph: bool, checks: &[&str]| {
        let mut cmd = cargo(root);
        cmd.args(["deny", "--locked", "--offline", "check"]);
        if hide_graph {
            cmd.arg("--hide-inclusion-graph");
        }
        process::run(cmd.args(checks))
    };
    deny(false, &["advisories", "licenses", "sources"])?;
    deny(true, &["bans"])
}

/// Clones the snapshot to `target/advisory-dbs/advisory-db-…` unless the
/// clone there is already of it, and says how old it is.
fn advisory_db(root: &Path) -> anyhow::Result<()> {
    let bundle = root.join(BUNDLE);
    let mut list_heads = Command::new("git");
    list_heads.args(["bundle", "list-heads"]).arg(&bundle);
    let heads = stdout_of(&mut list_heads).with_context(|| {
        format!(
            "`git bundle list-heads {BUNDLE}` failed: is git installed, and is the file there \
             (vendor/advisory-db/README.md)?"
        )
    })?;
    let wanted = bundle_head(&heads).with_context(|| format!("{BUNDLE} names no commit"))?;
    let db = root.join(DB_PATH).join(DB_FOLDER);
    let shown = format!("{DB_PATH}/{DB_FOLDER}");
    let have = stdout_of(clone_git(&db).args(["rev-parse", "HEAD"]));
    if have.as_deref().map(str::trim) == Some(wanted) {
        println!("{shown} holds the snapshot in {BUNDLE}");
    } else {
        println!("cloning {BUNDLE} to {shown}");
        if db.exists() {
            fs::remove_dir_all(&db).with_context(|| format!("removing {}", db.display()))?;
        }
        fs::create_dir_all(root.join(DB_PATH))
            .with_context(|| format!("creating {}", root.join(DB_PATH).display()))?;
        let mut clone = Command::new("git");
        clone
            .args(["-c", "init.defaultBranch=master", "clone", "--quiet"])
            .arg(&bundle)
            .arg(&db);
        process::run(&mut clone).context("cloning the advisory database snapshot failed")?;
    }
    let dated = stdout_of(clone_git(&db).args(["show", "-s", "--format=%cs %ct", "HEAD"]))
        .context("reading the advisory database snapshot's date failed")?;
    let (date, days) = snapshot_age(&dated, SystemTime::now())
        .with_context(|| format!("unexpected date of the snapshot: {dated:?}"))?;
    println!("RustSec advisory database: the snapshot of {date} ({days} days old)");
    if days > MAX_AGE_DAYS {
        println!(
            "warning: the advisory database snapshot is more than {MAX_AGE_DAYS} days old: \
             advisories published after {date} are not checked. Refresh it on a machine with \
             network access (vendor/advisory-db/README.md)."
        );
    }
    Ok(())
}

/// `git` on the clone in `db`. `--git-dir`: in a folder that is not a
/// clone, `git -C` would find the workspace's own repository above it.
fn clone_git(db: &Path) -> Command {
    let mut git = Command::new("git");
    git.arg("--git-dir").arg(db.join(".git"));
    git
}

/// The snapshot's date and its age in whole days at `now`, from
/// `git show --format="%cs %ct"` (`2026-08-21 1787293720`).
fn snapshot_age(dated: &str, now: SystemTime) -> Option<(&str, u64)> {
    let (date, seconds) = dated.trim().split_once(' ')?;
    let seconds: u64 = seconds.parse().ok()?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some((date, now.saturating_sub(seconds) / 86_400))
}

/// The commit of the first head `git bundle list-heads` prints.
fn bundle_head(list: &str) -> Option<&str> {
    let commit = list.split_whitespace().next()?;
    (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())).then_some(commit)
}

/// `cargo`, run in the workspace root (deny.toml's `db-path` is relative to it).
fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root);
    cmd
}

/// `deny.toml`'s `[advisories] db-path`.
fn configured_db_path(deny_toml: &str) -> anyhow::Result<String> {
    let config: toml::Table = toml::from_str(deny_toml).context("parsing deny.toml")?;
    let Some(path) = config
        .get("advisories")
        .and_then(|a| a.get("db-path"))
        .and_then(|p| p.as_str())
    else {
        bail!("deny.toml has no [advisories] db-path");
    };
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bundle_head() {
        let list = "963093b8e754b157b8143fb169577f86287a7064 refs/heads/master\n";
        assert_eq!(
            bundle_head(list),
            Some("963093b8e754b157b8143fb169577f86287a7064")
        );
        assert_eq!(bundle_head(""), None);
        assert_eq!(bundle_head("error: not a bundle\n"), None);
    }

    #[test]
    fn dates_the_snapshot() {
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_787_293_720 + 103 * 86_400 + 5);
        assert_eq!(
            snapshot_age("2026-08-21 1787293720\n", now),
            Some(("2026-08-21", 103))
        );
        assert_eq!(snapshot_age("2026-08-21", now), None);
        assert_eq!(snapshot_age("", now), None);
    }

    #[test]
    fn deny_toml_uses_the_folder_this_step_fills() {
        let root = crate::workspace_root();
        let text = fs::read_to_string(root.join("deny.toml")).unwrap();
        assert_eq!(configured_db_path(&text).unwrap(), DB_PATH);
        assert!(root.join(BUNDLE).is_file(), "{BUNDLE} is missing");
    }
}
