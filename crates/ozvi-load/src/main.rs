//! `ozvi-load`: the relay and the person's page under load, driving the
//! release relay as a child process. `cargo xtask load` and
//! `cargo xtask web-bench` build what it needs and run it; see
//! docs/PERFORMANCE.md for what it measures.
//!
//! ```text
//! ozvi-load relay --relay-binary PATH [--quick | --only OP [--seconds N] | --only flood [--seconds N]]
//! ozvi-load page --relay-binary PATH --web-root DIR --script FILE [--runs N]
//! ```
//!
//! # Layout
//!
//! - [`fixture`]: keys, the signed directory, the relay's configuration,
//!   pre-sealed envelopes, seeding a data directory.
//! - [`relay`]: the relay as a child process (start, memory, stop).
//! - [`scenario`]: concurrent clients, latencies, percentiles.
//! - [`relay_load`]: the relay's scenarios and report.
//! - [`flood`]: `--only flood`, attackers against one centre while a genuine
//!   person writes.
//! - [`page`]: the person's page in headless Chromium against the relay.
#![forbid(unsafe_code)]

mod fixture;
mod flood;
mod page;
mod relay;
mod relay_load;
mod scenario;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

/// Concurrent clients in every scenario.
const CLIENTS: usize = 64;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let (command, rest) = args
        .split_first()
        .context("usage: ozvi-load relay|page --relay-binary PATH …")?;
    let (binary, rest) = relay_binary(rest)?;
    match command.as_str() {
        "relay" => relay_load::run(&binary, &relay_load::Options::parse(&rest)?),
        "page" => page::run(&binary, &page::Options::parse(&rest)?),
        other => bail!("unknown command `{other}`: relay or page"),
    }
}

/// Takes `--relay-binary PATH` out of `args`.
fn relay_binary(args: &[String]) -> anyhow::Result<(PathBuf, Vec<String>)> {
    let mut binary = None;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--relay-binary" {
            binary = Some(PathBuf::from(
                args.next().context("--relay-binary takes a path")?,
            ));
        } else {
            rest.push(arg.clone());
        }
    }
    let binary = binary.context("--relay-binary PATH is required (cargo xtask load passes it)")?;
    anyhow::ensure!(binary.is_file(), "no relay binary at {}", binary.display());
    Ok((binary, rest))
}

/// A step's heading, as `cargo xtask` prints its own.
fn heading(index: usize, total: usize, title: &str) {
    println!("\n==> [{index}/{total}] {title}");
}

fn load_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    ozvi_tests::http::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(2 * CLIENTS)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")
}
