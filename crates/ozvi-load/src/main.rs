//! `ozvi-load`: the relay and the person's page under load, driving the
//! release relay as a child process. `cargo xtask load` and
//! `cargo xtask web-bench` build what it needs and run it; see
//! docs/PERFORMANCE.md for what it measures.
//!
//! ```text
//! ozvi-load relay --relay-binary PATH [--quick | --only OP [--seconds N] | --only flood [--seconds N]
//!                                     | --only post-pg [--seconds N]]
//! ozvi-load page --relay-binary PATH --web-root DIR --script FILE [--runs N]
//! ozvi-load --listen ADDR baseline --data DIR
//! ```
//!
//! # Layout
//!
//! - [`fixture`]: keys, the signed directory, the relay's configuration,
//!   pre-sealed envelopes, seeding a data directory.
//! - [`relay`]: the relay as a child process (start, memory, stop).
//! - [`generator`]: the load generator's lean HTTP/1.1 connection.
//! - [`scenario`]: concurrent clients, latencies, percentiles.
//! - [`baseline`]: the baseline server (`baseline`, started by `relay`):
//!   the relay's HTTP stack, one file and group-committed `fdatasync`.
//! - [`relay_load`]: the relay's scenarios and report.
//! - [`flood`]: `--only flood`, attackers against one centre while a genuine
//!   person writes.
//! - [`postgres_load`]: `--only post-pg`, the relay on PostgreSQL: durable
//!   posting against the baseline, one relay against two, listing and memory
//!   against the store's size.
//! - [`page`]: the person's page in headless Chromium against the relay.
#![forbid(unsafe_code)]

mod baseline;
mod fixture;
mod flood;
mod generator;
mod page;
mod postgres_load;
mod relay;
mod relay_load;
mod scenario;
mod sled_alone;

use std::path::PathBuf;
use std::process::ExitCode;

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
    // The baseline is started as the relay is: `--listen ADDR` first.
    let (listen, args) = match args {
        [flag, address, rest @ ..] if flag == "--listen" => (Some(address.as_str()), rest),
        _ => (None, args),
    };
    let (command, rest) = args
        .split_first()
        .context("usage: ozvi-load relay|page --relay-binary PATH …")?;
    if command == "baseline" {
        return baseline::serve(&baseline::Options::parse(listen, rest)?);
    }
    anyhow::ensure!(listen.is_none(), "--listen goes with baseline only");
    let (binary, rest) = relay_binary(rest)?;
    match command.as_str() {
        "relay" => relay_load::run(&binary, &relay_load::Options::parse(&rest)?),
        "page" => page::run(&binary, &page::Options::parse(&rest)?),
        other => bail!("unknown command `{other}`: relay, page or baseline"),
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
