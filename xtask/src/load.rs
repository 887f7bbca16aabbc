//! `cargo xtask load [ARGS]`: builds the release relay and the load tool
//! (`crates/ozvi-load`) and runs `ozvi-load relay` with ARGS (`--quick`,
//! `--only OP [--seconds N]`, `--only flood`, `--only post-pg`; the last
//! needs Debian's postgresql, which it installs if missing, as `cargo xtask
//! test` does). The load tool is its own
//! crate so that xtask does not compile the relay's stack for every command.
//! It is its own load generator and its own baseline server (the relay's
//! HTTP stack, one file, group-committed `fdatasync`), so that the run needs
//! nothing installed beyond the Rust toolchain.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::process::{self, heading};

/// Builds the release relay and the load tool; returns their binaries.
pub fn build(root: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    crate::tools::ensure_c_build_tools()?;
    process::run(Command::new("cargo").current_dir(root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "ozvi-relay",
        "-p",
        "ozvi-load",
    ]))
    .context("building the relay and the load tool failed; see the output above")?;
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    let release = target.join("release");
    Ok((release.join("ozvi-relay"), release.join("ozvi-load")))
}

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    if args.iter().any(|a| a == "post-pg") {
        // `--only post-pg` starts its own throw-away PostgreSQL server.
        crate::tools::ensure_postgres()?;
    }
    heading(1, 2, "Building the release relay and the load tool");
    let (relay, load) = build(root)?;
    heading(2, 2, "ozvi-load relay");
    process::run(
        Command::new(load)
            .arg("relay")
            .arg("--relay-binary")
            .arg(relay)
            .args(args),
    )
    .context("the load run failed; see the output above")
}
