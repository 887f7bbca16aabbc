//! `cargo xtask`: Ozvi's project commands. Run `cargo xtask --help`.

mod demo;
mod deny;
mod fuzz;
mod load;
mod mutants;
mod process;
mod seeds;
mod test;
mod tools;
mod vectors;
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

const HELP: &str = "\
Ozvi's project commands.

Usage: cargo xtask <COMMAND> [ARGS]

Commands:
  demo [--smoke]                  Run the relay (with the sample directory) and the
                                  desk of IC Zlín until Ctrl-C; --smoke: start, check, stop
  test                            Run every test: installs cargo-deny, the wasm32
                                  target and wasm-bindgen-cli if needed, then cargo
                                  deny check (offline), fmt, clippy, native tests,
                                  wasm build and the crypto tests in WebAssembly
  web                             Build the person's page into web-client/dist/
                                  (reproducible; prints SHA256SUMS)
  vectors                         Regenerate crates/ozvi-crypto/vectors/*.json (and
                                  the mutated-*.json made without ozvi-crypto)
  fuzz [--seconds N] [TARGET...]  Fuzz every target (or the ones named) for N seconds
                                  each (default 20) with cargo-fuzz on nightly
  bench [ARGS...]                 cargo bench -p ozvi-crypto --bench crypto [ARGS...]
  mutants [--iterate] [-j N] [--file GLOB]...
                                  Mutation testing (cargo-mutants, installed if
                                  needed) of ozvi-crypto's format/ and protocol/:
                                  fails if a mutant survives (slow: over an hour)
  load [--quick]                  Build the release relay and crates/ozvi-load and
                                  load-test the relay: 64 clients posting,
                                  listing and reading the staff inbox; disk and memory
                                  at 1M messages (~10 min; --quick: ~1 min, 100k)
  web-bench [RUNS]                The person's page in headless Chromium: download
                                  size, time to interactive, Send → code, sealing
                                  against libsodium and OpenPGP.js (RUNS default 5)
  load --only OP [--seconds N]    Only /healthz and OP (healthz, post, list, inbox)
                                  for N seconds each (default 10), printing the
                                  relay's PID for a profiler
  load --only flood [--seconds N] 64 attackers (32 addresses) against one centre
                                  while a person opens a conversation every 3 s:
                                  every first contact must succeed (default 30 s)
  load --only post-pg [--seconds N] [--messages M]
                                  The relay on a throw-away PostgreSQL (fsync on):
                                  durable posting against the baseline and against
                                  pgbench sending the relay's statements, one relay
                                  against two, listing and memory at 10k and M
                                  messages (default 110000; N s rounds, default 10;
                                  ~3 min, ~10 more with --messages 1000000)
  help                            Print this help (also -h, --help)
";

/// What the user asked for.
#[derive(Debug, PartialEq)]
enum Task {
    Help,
    Demo(demo::Options),
    Test,
    Vectors,
    Web,
    Fuzz(fuzz::Options),
    Bench(Vec<String>),
    Load(Vec<String>),
    WebBench(u32),
    Mutants(mutants::Options),
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The chain of causes, without a backtrace even if RUST_BACKTRACE
            // is set: the failing command's own output is above.
            eprintln!("\nerror: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let root = workspace_root();
    match parse(std::env::args().skip(1).collect())? {
        Task::Help => print!("{HELP}"),
        Task::Demo(options) => demo::run(&root, &options)?,
        Task::Test => test::run(&root)?,
        Task::Web => web::build(&root)?,
        Task::Vectors => {
            let n = vectors::generate(&root.join("crates/ozvi-crypto/vectors"))?;
            println!("wrote {n} vector files to crates/ozvi-crypto/vectors/");
        }
        Task::Fuzz(options) => fuzz::run(&root, &options)?,
        Task::Bench(args) => bench(&root, &args)?,
        Task::Load(args) => load::run(&root, &args)?,
        Task::WebBench(runs) => web::bench(&root, runs)?,
        Task::Mutants(options) => mutants::run(&root, &options)?,
    }
    Ok(())
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

fn parse(args: Vec<String>) -> anyhow::Result<Task> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Task::Help);
    };
    let wants_help = rest.iter().any(|a| a == "-h" || a == "--help");
    let task = match command.as_str() {
        "help" | "-h" | "--help" => Task::Help,
        // Everything after `bench` belongs to `cargo bench`, `--help` included.
        "bench" => Task::Bench(rest.to_vec()),
        _ if wants_help => Task::Help,
        "demo" => Task::Demo(demo::Options::parse(rest)?),
        "test" => no_args(Task::Test, rest)?,
        "vectors" => no_args(Task::Vectors, rest)?,
        "web" => no_args(Task::Web, rest)?,
        "fuzz" => Task::Fuzz(fuzz::Options::parse(rest)?),
        "load" => Task::Load(rest.to_vec()),
        "mutants" => Task::Mutants(mutants::Options::parse(rest)?),
        "web-bench" => match rest {
            [] => Task::WebBench(5),
            [runs] => Task::WebBench(
                runs.parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .context("web-bench takes a number of runs, e.g. `cargo xtask web-bench 5`")?,
            ),
            _ => bail!("web-bench takes at most one argument, the number of runs"),
        },
        other => bail!("unknown command `{other}`; run `cargo xtask --help` for the list"),
    };
    Ok(task)
}

fn no_args(task: Task, rest: &[String]) -> anyhow::Result<Task> {
    if let Some(extra) = rest.first() {
        bail!("unexpected argument `{extra}`; run `cargo xtask --help` for usage");
    }
    Ok(task)
}

/// `cargo bench -p ozvi-crypto --bench crypto`, with the user's extra arguments.
fn bench(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .args(["bench", "-p", "ozvi-crypto", "--bench", "crypto"])
        .args(args);
    process::run(&mut cmd).context("the benchmark failed; see the output above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse(args(&[])).unwrap(), Task::Help);
        assert_eq!(parse(args(&["--help"])).unwrap(), Task::Help);
        assert_eq!(parse(args(&["test", "-h"])).unwrap(), Task::Help);
        assert_eq!(parse(args(&["test"])).unwrap(), Task::Test);
        assert_eq!(
            parse(args(&["demo"])).unwrap(),
            Task::Demo(demo::Options::default())
        );
        assert_eq!(parse(args(&["vectors"])).unwrap(), Task::Vectors);
        assert_eq!(parse(args(&["web"])).unwrap(), Task::Web);
        assert_eq!(
            parse(args(&["bench", "--", "--save-baseline", "main"])).unwrap(),
            Task::Bench(args(&["--", "--save-baseline", "main"]))
        );
        assert_eq!(
            parse(args(&["load", "--quick"])).unwrap(),
            Task::Load(args(&["--quick"]))
        );
        assert_eq!(parse(args(&["load", "--help"])).unwrap(), Task::Help);
        assert_eq!(
            parse(args(&["mutants"])).unwrap(),
            Task::Mutants(mutants::Options::default())
        );
        // `ozvi-load relay` checks the load options itself.
        assert_eq!(
            parse(args(&["load", "--slow"])).unwrap(),
            Task::Load(args(&["--slow"]))
        );
        assert!(parse(args(&["tset"])).is_err());
        assert!(parse(args(&["test", "--release"])).is_err());
    }

    #[test]
    fn parses_fuzz_options() {
        let Task::Fuzz(options) = parse(args(&["fuzz", "--seconds", "5", "code"])).unwrap() else {
            panic!("not fuzz");
        };
        assert_eq!(options.seconds, 5);
        assert_eq!(options.targets, args(&["code"]));
        let Task::Fuzz(options) = parse(args(&["fuzz", "--seconds=7"])).unwrap() else {
            panic!("not fuzz");
        };
        assert_eq!(options.seconds, 7);
        assert!(options.targets.is_empty());
        assert!(parse(args(&["fuzz", "--seconds"])).is_err());
        assert!(parse(args(&["fuzz", "--seconds", "0"])).is_err());
        assert!(parse(args(&["fuzz", "--minutes", "1"])).is_err());
    }
}
