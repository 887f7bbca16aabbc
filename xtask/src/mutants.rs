//! `cargo xtask mutants`: mutation testing of the protocol's readers and
//! operations with cargo-mutants (crates/ozvi-crypto/MUTANTS.md).
//!
//! cargo-mutants changes one thing at a time in `ozvi-crypto/src/format/` and
//! `ozvi-crypto/src/protocol/` (a `<` for a `<=`, a check that always passes,
//! a function that returns a default) and runs the crate's tests against each
//! change. A change that no test notices ("missed") is a rule the tests do
//! not pin. Mutants that provably cannot change behaviour are excluded, each
//! with its reason, in `.cargo/mutants.toml`. Slow (one build and test run per
//! mutant), so not part of `cargo xtask test`.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::process::{self, heading, stdout_of};

/// The files whose mutants are tested.
pub const SCOPE: [&str; 2] = [
    "crates/ozvi-crypto/src/format/**",
    "crates/ozvi-crypto/src/protocol/**",
];

/// Where cargo-mutants writes `mutants.out/`, relative to the workspace root.
const OUTPUT: &str = "target/mutants";

/// `cargo xtask mutants [--iterate] [--jobs N] [--file GLOB]...`.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    /// Skip the mutants a previous run caught (cargo-mutants `--iterate`).
    pub iterate: bool,
    /// Parallel build and test jobs (default 1).
    pub jobs: Option<u32>,
    /// Restrict to these files (globs) inside the scope; empty: all of it.
    pub files: Vec<String>,
}

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--iterate" => options.iterate = true,
                "--jobs" | "-j" => {
                    let value = args
                        .next()
                        .context("`--jobs` needs a number, e.g. `-j 2`")?;
                    options.jobs =
                        Some(
                            value.parse().ok().filter(|&n| n > 0).with_context(|| {
                                format!("`--jobs {value}`: not a positive number")
                            })?,
                        );
                }
                "--file" | "-f" => {
                    let value = args.next().context(
                        "`--file` needs a glob, e.g. `--file crates/ozvi-crypto/src/format/b64.rs`",
                    )?;
                    if !value.starts_with("crates/ozvi-crypto/src/format/")
                        && !value.starts_with("crates/ozvi-crypto/src/protocol/")
                    {
                        bail!(
                            "`--file {value}` is outside the analysed scope ({})",
                            SCOPE.join(", ")
                        );
                    }
                    options.files.push(value.clone());
                }
                other => bail!("unknown option `{other}`; run `cargo xtask --help` for usage"),
            }
        }
        Ok(options)
    }
}

/// Installs cargo-mutants unless `cargo mutants` already works.
fn ensure_cargo_mutants() -> anyhow::Result<()> {
    if let Some(version) = stdout_of(Command::new("cargo").args(["mutants", "--version"])) {
        println!("{} is installed", version.trim());
        return Ok(());
    }
    process::run(Command::new("cargo").args(["install", "--locked", "cargo-mutants"])).context(
        "could not install cargo-mutants; try `cargo install --locked cargo-mutants` by hand",
    )
}

/// The cargo-mutants command line for `options`.
fn command(root: &Path, options: &Options) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .args(["mutants", "--package", "ozvi-crypto", "--output", OUTPUT]);
    let files: Vec<&str> = if options.files.is_empty() {
        SCOPE.to_vec()
    } else {
        options.files.iter().map(String::as_str).collect()
    };
    for file in files {
        cmd.args(["--file", file]);
    }
    cmd.args(["--jobs", &options.jobs.unwrap_or(1).to_string()]);
    if options.iterate {
        cmd.arg("--iterate");
    }
    // The unit and integration tests (vectors included), not the doctests:
    // the crate's doc comments hold no runnable examples.
    cmd.args(["--", "--lib", "--tests"]);
    cmd
}

pub fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    heading(1, 3, "cargo-mutants");
    ensure_cargo_mutants()?;
    heading(
        2,
        3,
        "mutation testing of ozvi-crypto's format/ and protocol/",
    );
    println!(
        "One build and test run per mutant: expect well over an hour on one job \
         (`--jobs N` runs N at once, `--iterate` skips what a previous run caught). \
         cargo-mutants prints each mutant as it finishes."
    );
    let mut cmd = command(root, options);
    let result = process::run(&mut cmd);
    heading(3, 3, "survivors");
    let out = root.join(OUTPUT).join("mutants.out");
    let read = |name: &str| fs::read_to_string(out.join(name)).unwrap_or_default();
    let missed = read("missed.txt");
    let timeouts = read("timeout.txt");
    for (title, list) in [("missed", &missed), ("timed out", &timeouts)] {
        let count = list.lines().filter(|l| !l.trim().is_empty()).count();
        println!("{count} {title}");
        for line in list.lines() {
            println!("  {line}");
        }
    }
    println!("full results: {}", out.display());
    if !missed.trim().is_empty() {
        bail!(
            "mutants survived: add a test or vector that fails for each, or, if one cannot \
             change behaviour, exclude it in .cargo/mutants.toml with the reason and list it \
             in crates/ozvi-crypto/MUTANTS.md"
        );
    }
    // cargo-mutants exits non-zero for timeouts too; a mutant that makes a
    // test loop forever is caught, so only a failure to run is an error here.
    if !timeouts.trim().is_empty() {
        println!("timeouts count as caught: the mutant made a test hang");
        return Ok(());
    }
    result.context("cargo-mutants failed; see its output above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_options() {
        assert_eq!(Options::parse(&[]).unwrap(), Options::default());
        let options = Options::parse(&args(&[
            "--iterate",
            "-j",
            "2",
            "--file",
            "crates/ozvi-crypto/src/format/b64.rs",
        ]))
        .unwrap();
        assert!(options.iterate);
        assert_eq!(options.jobs, Some(2));
        assert_eq!(
            options.files,
            args(&["crates/ozvi-crypto/src/format/b64.rs"])
        );
        assert!(Options::parse(&args(&["--jobs", "0"])).is_err());
        assert!(Options::parse(&args(&["--file", "crates/ozvi-relay/src/lib.rs"])).is_err());
        assert!(Options::parse(&args(&["--all"])).is_err());
    }

    #[test]
    fn the_command_is_scoped_to_the_crate_and_its_readers() {
        let cmd = command(Path::new("/w"), &Options::default());
        let line = process::describe(&cmd);
        assert_eq!(
            line,
            "cargo mutants --package ozvi-crypto --output target/mutants \
             --file crates/ozvi-crypto/src/format/** --file crates/ozvi-crypto/src/protocol/** \
             --jobs 1 -- --lib --tests"
        );
    }
}
