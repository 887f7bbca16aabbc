//! `cargo xtask test`: every test of the project, in order, stopping at the
//! first failure. CI runs exactly this (`.ci/run`).
//!
//! Every cargo build and test here runs with `--locked` (as does the
//! `cargo xtask` alias in `.cargo/config.toml`): a Cargo.lock that does not
//! match the manifests fails instead of being rewritten on the way.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::process::{self, heading, stdout_of};
use crate::tools::{self, WASM_TARGET};

/// One step: a heading, what to do, and what to tell the user if it fails.
struct Step {
    title: &'static str,
    action: fn(&Path) -> anyhow::Result<()>,
    on_failure: &'static str,
}

const STEPS: &[Step] = &[
    Step {
        title: "Disk space for the build",
        action: check_disk,
        on_failure: "free disk space on the file system of target/ (e.g. `cargo clean` removes \
                     old builds) and run it again",
    },
    Step {
        title: "make and a C compiler (Debian's packages) for the relay's jemalloc",
        action: |_| tools::ensure_c_build_tools(),
        on_failure: "tikv-jemalloc-sys builds jemalloc with its configure script and make",
    },
    Step {
        title: "cargo-deny (installed if missing: about 5 minutes the first time)",
        action: |_| tools::ensure_cargo_deny(),
        on_failure: "the supply-chain check needs cargo-deny at the version in xtask/src/tools.rs",
    },
    Step {
        title: "Supply chain: cargo deny check (advisories, bans, licences, sources)",
        action: crate::deny::check,
        on_failure: "see cargo-deny's findings above and deny.toml, which says how each is \
                     decided (an advisory: upgrade, replace, or an `ignore` with its reason and a \
                     date to revisit); `cargo deny --offline check bans` shows which dependency \
                     brings in each duplicate",
    },
    Step {
        title: "WebAssembly target",
        action: |_| tools::ensure_wasm_target(),
        on_failure: "the WebAssembly build and tests need this target",
    },
    Step {
        title: "wasm-bindgen-cli at the version in Cargo.lock",
        action: tools::ensure_wasm_bindgen_cli,
        on_failure: "the WebAssembly tests need the runner of Cargo.lock's wasm-bindgen",
    },
    Step {
        title: "Chromium (Debian's package) for the browser tests",
        action: |_| tools::ensure_chromium(),
        on_failure: "the browser tests drive Debian's chromium with playwright-core",
    },
    Step {
        title: "nginx (Debian's package) for the reverse-proxy test",
        action: |_| tools::ensure_nginx(),
        on_failure: "crates/ozvi-relay/tests/nginx.rs runs the documented nginx configuration",
    },
    Step {
        title: "An SMTP server (Debian's python3-aiosmtpd) for the notification tests",
        action: |_| tools::ensure_smtp_server(),
        on_failure: "crates/ozvi-relay/tests/notify.rs sends mail to a real SMTP server on loopback",
    },
    Step {
        title: "exiftool (Debian's libimage-exiftool-perl) for the photo tests",
        action: |_| tools::ensure_exiftool(),
        on_failure: "the photo tests check with exiftool that no metadata reaches the centre",
    },
    Step {
        title: "PostgreSQL (Debian's package) for the store tests",
        action: |_| tools::ensure_postgres(),
        on_failure: "the relay's PostgreSQL store tests start a throw-away server with Debian's \
                     initdb and pg_ctl (tests/src/postgres.rs)",
    },
    Step {
        title: "playwright-core for the browser tests (npm ci)",
        action: tools::ensure_browser_packages,
        on_failure: "the browser tests need tests/browser/node_modules",
    },
    Step {
        title: "Formatting",
        action: |root| process::run(cargo(root).args(["fmt", "--all", "--", "--check"])),
        on_failure: "run `cargo fmt --all` to fix the formatting",
    },
    Step {
        title: "Clippy",
        action: |root| {
            process::run(cargo(root).args([
                "clippy",
                "--locked",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        },
        on_failure: "fix the warnings printed above",
    },
    Step {
        title: "The web client, built twice from scratch: byte-identical (cargo xtask web)",
        action: crate::web::build_reproducibly,
        on_failure: "the page must build reproducibly; the browser tests below need web-client/dist",
    },
    Step {
        title: "Native tests",
        action: |root| process::run(cargo(root).args(["test", "--locked", "--workspace"])),
        on_failure: "see the failing tests above",
    },
    Step {
        title: "The relay's API suite on PostgreSQL (OZVI_TEST_STORE=postgres)",
        action: postgres_api_suite,
        on_failure: "the API suite passes on sled but not on PostgreSQL: see the failing tests \
                     above; `OZVI_TEST_STORE=postgres cargo test -p ozvi-relay --test api` runs \
                     it alone",
    },
    Step {
        title: "The demo starts, answers and stops (cargo xtask demo --smoke)",
        action: |root| crate::demo::run(root, &crate::demo::Options { smoke: true }),
        on_failure: "README's first command must work; see the relay.log and desk.log paths above",
    },
    Step {
        title: "Build ozvi-crypto and ozvi-api for wasm32-unknown-unknown",
        action: wasm_build,
        on_failure: "the crypto library and the API types must build for the browser; see the errors above",
    },
    Step {
        title: "ozvi-crypto's vectors and ozvi-web's bindings in WebAssembly under Node",
        action: wasm_tests,
        on_failure: "see the output above",
    },
];

/// Runs every step; the error names the step that failed.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let total = STEPS.len();
    for (i, step) in STEPS.iter().enumerate() {
        let index = i + 1;
        heading(index, total, step.title);
        (step.action)(root).with_context(|| {
            format!(
                "`cargo xtask test` failed at step {index}/{total} ({}): {}",
                step.title, step.on_failure
            )
        })?;
    }
    println!("\nAll {total} steps of `cargo xtask test` passed.");
    Ok(())
}

/// The relay's API suite (`crates/ozvi-relay/tests/api`) once more, every
/// relay on a fresh database of a throw-away PostgreSQL
/// (`ozvi_tests::relay::TestStore`): the same tests as on sled, not a copy.
fn postgres_api_suite(root: &Path) -> anyhow::Result<()> {
    process::run(
        cargo(root)
            .args(["test", "--locked", "-p", "ozvi-relay", "--test", "api"])
            .env("OZVI_TEST_STORE", "postgres"),
    )
}

/// What a clean `cargo xtask test` writes to `target/`, at its peak: 3.0
/// GiB measured on a clean clone (15 GB before test builds dropped full
/// debug info; docs/PERFORMANCE.md, "`cargo xtask` itself"), with room for
/// the tools it installs and the tests' data.
const DISK_NEEDED: u64 = 5 << 30;

/// Fails early, with the figures, when the build cannot fit: a run that
/// fills the disk fails twenty minutes in with a linker's bus error.
fn check_disk(root: &Path) -> anyhow::Result<()> {
    let target = root.join("target");
    let probe = if target.exists() { &target } else { root };
    let free = fs2::available_space(probe)
        .with_context(|| format!("reading the free space of {}", probe.display()))?;
    let built = dir_size(&target);
    // What target/ holds already is mostly rebuilt in place, not added.
    let needed = DISK_NEEDED.saturating_sub(built).max(1 << 30);
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    println!(
        "{:.1} GiB free; target/ holds {:.1} GiB; this run needs about {:.1} GiB more",
        gib(free),
        gib(built),
        gib(needed)
    );
    if free < needed {
        anyhow::bail!(
            "only {:.1} GiB free on the file system of {}, and a clean run writes about {:.1} GiB",
            gib(free),
            probe.display(),
            gib(DISK_NEEDED)
        );
    }
    Ok(())
}

/// The bytes of the files below `dir` (0 if it does not exist).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// Builds the crypto library for the browser. Only the final wasm artefact
/// chooses getrandom's backend (the crate stays free of wasm-bindgen), so
/// this build chooses it as the web client will: `crypto.getRandomValues`.
fn wasm_build(root: &Path) -> anyhow::Result<()> {
    process::run(cargo(root).args([
        "build",
        "--locked",
        "-p",
        "ozvi-crypto",
        "-p",
        "ozvi-api",
        "--target",
        WASM_TARGET,
        "--features",
        "getrandom/wasm_js",
    ]))
}

/// The crypto crate's test vectors, run by `wasm-bindgen-test-runner` in Node.
fn wasm_tests(root: &Path) -> anyhow::Result<()> {
    let node = stdout_of(Command::new("node").arg("--version")).context(
        "Node.js runs the WebAssembly tests: install it (e.g. `apt-get install nodejs`) \
         so that `node` is on PATH",
    )?;
    println!("node {}", node.trim());
    process::run(
        cargo(root)
            .args(["test", "--locked", "--target", WASM_TARGET])
            .args(["-p", "ozvi-crypto", "--test", "vectors"])
            .args(["-p", "ozvi-web", "--test", "bindings"])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            ),
    )
}

/// `cargo`, run in the workspace root.
fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_size_counts_every_file_below() {
        let dir = std::env::temp_dir().join(format!("xtask-dir-size-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("one"), [0u8; 10]).unwrap();
        std::fs::write(dir.join("a/b/two"), [0u8; 32]).unwrap();
        assert_eq!(dir_size(&dir), 42);
        assert_eq!(dir_size(&dir.join("missing")), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
