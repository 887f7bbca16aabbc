//! `ozvi-load page` (`cargo xtask web-bench`): the person's page in headless
//! Chromium (tests/browser/person-bench.mjs) against the release relay
//! serving the built web client, with proof of work at the relay's default
//! difficulty. Prints sizes, time to interactive, Send → code and the
//! sealing comparison.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::fixture::Fixture;
use crate::relay;
use crate::{heading, load_runtime};

/// `--web-root DIR --script FILE [--runs N]`.
#[derive(Debug, PartialEq)]
pub struct Options {
    /// The built web client (`web-client/dist`).
    pub web_root: PathBuf,
    /// The browser script.
    pub script: PathBuf,
    /// Page loads measured.
    pub runs: u32,
}

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let (mut web_root, mut script, mut runs) = (None, None, 5);
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} takes a value"));
            match arg.as_str() {
                "--web-root" => web_root = Some(PathBuf::from(value()?)),
                "--script" => script = Some(PathBuf::from(value()?)),
                "--runs" => {
                    runs = value()?
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .context("--runs takes a positive whole number")?
                }
                other => bail!("unexpected argument `{other}`"),
            }
        }
        Ok(Self {
            web_root: web_root.context("--web-root DIR is required")?,
            script: script.context("--script FILE is required")?,
            runs,
        })
    }
}

pub fn run(binary: &Path, options: &Options) -> anyhow::Result<()> {
    let work = tempfile::Builder::new()
        .prefix("ozvi-web-bench-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let runtime = load_runtime()?;
    let default_difficulty = ozvi_tests::relay::Config::default().pow_difficulty;
    runtime.block_on(async {
        let fixture = Fixture::new(0)?;
        let config =
            fixture.write_config_with(work.path(), default_difficulty, Some(&options.web_root))?;
        let relay = relay::start(
            binary,
            &config,
            &work.path().join("data"),
            &work.path().join("relay.log"),
        )?;
        heading(1, 2, "The page in headless Chromium");
        println!("proof of work at difficulty {default_difficulty} (the relay's default)");
        let status = std::process::Command::new("node")
            .arg(&options.script)
            .arg(&relay.base)
            .arg(options.runs.to_string())
            .status()
            .context("cannot run node")?;
        heading(2, 2, "Stopping the relay");
        relay::stop(relay)?;
        anyhow::ensure!(status.success(), "the page benchmark failed ({status})");
        Ok(())
    })
}
