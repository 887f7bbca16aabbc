//! `cargo xtask fuzz`: a short smoke run of every fuzz target in `fuzz/`
//! with cargo-fuzz (libFuzzer) on the nightly toolchain, starting from the
//! test vectors. Not part of `test`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};

use crate::process::{self, heading, stdout_of};
use crate::{seeds, tools};

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 20;

/// `cargo xtask fuzz [--seconds N] [TARGET...]`.
#[derive(Debug, PartialEq)]
pub struct Options {
    /// How long to fuzz each target.
    pub seconds: u64,
    /// The targets to run; empty means all of them.
    pub targets: Vec<String>,
}

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut seconds = DEFAULT_SECONDS;
        let mut targets = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if let Some(value) = arg.strip_prefix("--seconds=") {
                seconds = parse_seconds(value)?;
            } else if arg == "--seconds" {
                let value = args
                    .next()
                    .context("`--seconds` needs a number, e.g. `--seconds 60`")?;
                seconds = parse_seconds(value)?;
            } else if arg.starts_with('-') {
                bail!("unknown option `{arg}`; run `cargo xtask --help` for usage");
            } else {
                targets.push(arg.clone());
            }
        }
        Ok(Self { seconds, targets })
    }
}

fn parse_seconds(value: &str) -> anyhow::Result<u64> {
    let seconds: u64 = value
        .parse()
        .with_context(|| format!("`--seconds {value}`: not a whole number of seconds"))?;
    ensure!(seconds > 0, "`--seconds` must be at least 1");
    Ok(seconds)
}

pub fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    let fuzz_dir = root.join("fuzz");
    tools::ensure_cargo_fuzz()?;
    let targets = if options.targets.is_empty() {
        list_targets(&fuzz_dir)?
    } else {
        options.targets.clone()
    };
    seed(root, &fuzz_dir)?;
    let total = targets.len();
    for (i, target) in targets.iter().enumerate() {
        heading(
            i + 1,
            total,
            &format!("fuzz {target} for {} s", options.seconds),
        );
        let mut cmd = nightly_cargo_fuzz(&fuzz_dir);
        cmd.args(["run", target, "--"])
            .arg(format!("-max_total_time={}", options.seconds));
        process::run(&mut cmd).with_context(|| {
            format!(
                "fuzz target `{target}` failed; if it found a crash, the input is in \
                 fuzz/artifacts/{target}/: replay it with \
                 `cd fuzz && cargo +nightly fuzz run {target} <that file>`"
            )
        })?;
    }
    println!(
        "\nNo crash in {total} fuzz targets ({} s each).",
        options.seconds
    );
    Ok(())
}

/// Adds the test vectors to the targets' corpora (`fuzz/corpus/`).
fn seed(root: &Path, fuzz_dir: &Path) -> anyhow::Result<()> {
    let written = seeds::write(
        &root.join("crates/ozvi-crypto/vectors"),
        &fuzz_dir.join("corpus"),
    )?;
    if written.is_empty() {
        println!(
            "no test vectors found: fuzzing without seeds (`cargo xtask vectors` writes them)"
        );
    }
    for (target, count) in written {
        println!("seeded {target} with {count} inputs from the test vectors");
    }
    Ok(())
}

/// The targets `cargo fuzz list` reports.
fn list_targets(fuzz_dir: &Path) -> anyhow::Result<Vec<String>> {
    let listed = stdout_of(nightly_cargo_fuzz(fuzz_dir).arg("list")).context(
        "`cargo +nightly fuzz list` failed in fuzz/; is the nightly toolchain installed \
         (`rustup toolchain install nightly`)?",
    )?;
    let targets: Vec<String> = listed.split_whitespace().map(str::to_owned).collect();
    ensure!(!targets.is_empty(), "fuzz/ has no fuzz targets");
    Ok(targets)
}

/// `cargo +nightly fuzz`, run in `fuzz/` (libFuzzer's sanitizer flags need
/// nightly).
fn nightly_cargo_fuzz(fuzz_dir: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(fuzz_dir).args(["+nightly", "fuzz"]);
    cmd
}
