//! `cargo xtask web`: builds the person's page into `web-client/dist/`.
//!
//! The WebAssembly module is `crates/ozvi-web` built for
//! `wasm32-unknown-unknown` with the `web` profile, then `wasm-bindgen
//! --target web`; the page's own files are copied beside it. The build is
//! reproducible: paths of this machine are remapped out of the binary, so
//! the same source gives byte-identical files wherever it is checked out.
//! It writes `dist/SHA256SUMS` and prints it, for the auditor
//! (`ozvi-audit web` compares a running relay's files with it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::process::{self, heading};
use crate::tools::{self, WASM_TARGET};

/// The page's source files, copied as they are.
const PAGE_FILES: &[&str] = &[
    "index.html",
    "favicon.svg",
    "style.css",
    "exit.js",
    "app.js",
    "api.js",
    "i18n.js",
];

/// The manifest of a build: `(path inside dist, SHA-256 hex)`, sorted.
pub type Manifest = Vec<(String, String)>;

/// Builds the page into `out` with its own Cargo target directory
/// `target_dir`, and returns the manifest it wrote.
pub fn build_into(root: &Path, out: &Path, target_dir: &Path) -> anyhow::Result<Manifest> {
    tools::ensure_wasm_target()?;
    tools::ensure_wasm_bindgen_cli(root)?;
    let remap = |from: &Path, to: &str| format!("--remap-path-prefix={}={to}", from.display());
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    // When several prefixes match, rustc applies the last one: the target
    // directory (usually inside the root) comes after the root.
    let rustflags = [
        remap(&cargo_home, "/cargo"),
        remap(root, "/ozvi"),
        remap(target_dir, "/target"),
    ]
    .join(" ");
    process::run(
        Command::new("cargo")
            .current_dir(root)
            .args(["build", "-p", "ozvi-web", "--target", WASM_TARGET])
            .args(["--profile", "web", "--locked"])
            .env("CARGO_TARGET_DIR", target_dir)
            .env("RUSTFLAGS", &rustflags)
            .env_remove("CARGO_ENCODED_RUSTFLAGS"),
    )
    .context("building crates/ozvi-web for the browser failed")?;
    let wasm = target_dir.join(WASM_TARGET).join("web/ozvi_web.wasm");

    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    fs::create_dir_all(out)?;
    process::run(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(out.join("pkg"))
            .arg(&wasm),
    )
    .context("wasm-bindgen failed")?;
    let source = root.join("web-client");
    for file in PAGE_FILES {
        fs::copy(source.join(file), out.join(file))
            .with_context(|| format!("copying web-client/{file}"))?;
    }
    let manifest = manifest(out)?;
    let text: String = manifest
        .iter()
        .map(|(path, hash)| format!("{hash}  {path}\n"))
        .collect();
    fs::write(out.join("SHA256SUMS"), &text)?;
    Ok(manifest)
}

/// Builds `web-client/dist/` and prints its manifest.
pub fn build(root: &Path) -> anyhow::Result<()> {
    let out = root.join("web-client/dist");
    let manifest = build_into(root, &out, &root.join("target/web"))?;
    print_manifest(&out, &manifest);
    Ok(())
}

/// Builds the page twice, the second time from scratch in another target
/// directory and output folder, and fails unless every file is identical.
pub fn build_reproducibly(root: &Path) -> anyhow::Result<()> {
    let out = root.join("web-client/dist");
    let first = build_into(root, &out, &root.join("target/web"))?;
    let again_target = root.join("target/web-again");
    let again_out = root.join("target/web-again-dist");
    let _ = fs::remove_dir_all(&again_target);
    let second = build_into(root, &again_out, &again_target)?;
    print_manifest(&out, &first);
    if first != second {
        let differ: Vec<_> = first
            .iter()
            .zip(&second)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.0.as_str())
            .collect();
        bail!(
            "two builds of the web client differ: {differ:?} (first: {first:?}, second: {second:?})"
        );
    }
    println!("A second build from scratch gave byte-identical files.");
    fs::remove_dir_all(&again_target).ok();
    fs::remove_dir_all(&again_out).ok();
    Ok(())
}

/// `cargo xtask web-bench [RUNS]`: builds the release relay, the load tool
/// and the web client, installs Chromium and the browser packages, and runs
/// `ozvi-load page` (crates/ozvi-load/src/page.rs): the person's page in
/// headless Chromium against the release relay at its default difficulty.
pub fn bench(root: &Path, runs: u32) -> anyhow::Result<()> {
    heading(
        1,
        3,
        "Building the release relay, the load tool and the web client",
    );
    let (relay, load) = crate::load::build(root)?;
    build(root)?;
    heading(2, 3, "Chromium and the browser packages");
    crate::tools::ensure_chromium()?;
    crate::tools::ensure_browser_packages(root)?;
    heading(3, 3, "ozvi-load page");
    process::run(
        Command::new(load)
            .arg("page")
            .arg("--relay-binary")
            .arg(relay)
            .arg("--web-root")
            .arg(root.join("web-client/dist"))
            .arg("--script")
            .arg(root.join("tests/browser/person-bench.mjs"))
            .arg("--runs")
            .arg(runs.to_string()),
    )
    .context("the page benchmark failed; see the output above")
}

fn print_manifest(out: &Path, manifest: &Manifest) {
    println!("\nWeb client in {} (SHA256SUMS):", out.display());
    for (path, hash) in manifest {
        println!("  {hash}  {path}");
    }
}

/// SHA-256 of every file below `dir` except `SHA256SUMS`, sorted by path.
pub fn manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn collect(base: &Path, dir: &Path, files: &mut Manifest) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(base, &path, files)?;
            continue;
        }
        let relative = path
            .strip_prefix(base)
            .expect("below the base")
            .to_string_lossy()
            .replace('\\', "/");
        if relative == "SHA256SUMS" {
            continue;
        }
        let hash = Sha256::digest(fs::read(&path)?);
        let hex = hash.iter().map(|b| format!("{b:02x}")).collect();
        files.push((relative, hex));
    }
    Ok(())
}
