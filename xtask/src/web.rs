//! `cargo xtask web`: builds the person's page into `web-client/dist/`.
//!
//! The WebAssembly module is `crates/ozvi-web` built for
//! `wasm32-unknown-unknown` with the `web` profile, then `wasm-bindgen
//! --target web --remove-name-section`; the page's own files are copied
//! beside it. The build is reproducible: paths of this machine are
//! remapped out of the binary, so the same source gives byte-identical
//! files wherever it is checked out.
//! Every compressible file gets precompressed variants beside it,
//! `NAME.gz` and `NAME.br`, made deterministically (see [`precompress`]),
//! which the relay serves to browsers that accept them. It writes
//! `dist/SHA256SUMS` (the variants included) and prints it, for the auditor
//! (`ozvi-audit web` compares a running relay's files with it, each
//! encoding of each file).

use std::fs;
use std::io::Write as _;
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
    "exit.js",
    "app.js",
    "api.js",
    "i18n.js",
    "i18n-en.js",
    "i18n-uk.js",
    "crypto.js",
    "worker.js",
    "places.js",
    "photos.js",
    "reencode.js",
    "worker-files.js",
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
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    fs::create_dir_all(out)?;
    // Two modules from crates/ozvi-web: the page's (feature `page`), and
    // the attached photos' (feature `files`), loaded only when she first
    // adds or opens a file, so the first visit does not download it.
    for (feature, name) in [("page", "ozvi_web"), ("files", "ozvi_web_files")] {
        process::run(
            Command::new("cargo")
                .current_dir(root)
                .args(["build", "-p", "ozvi-web", "--target", WASM_TARGET])
                .args(["--no-default-features", "--features", feature])
                .args(["--profile", "web", "--locked"])
                .env("CARGO_TARGET_DIR", target_dir)
                .env("RUSTFLAGS", &rustflags)
                .env_remove("CARGO_ENCODED_RUSTFLAGS"),
        )
        .with_context(|| format!("building crates/ozvi-web ({feature}) for the browser failed"))?;
        let wasm = target_dir.join(WASM_TARGET).join("web/ozvi_web.wasm");
        process::run(
            Command::new("wasm-bindgen")
                .args([
                    "--target",
                    "web",
                    "--no-typescript",
                    // The function names (45 KB, 11 KB compressed) are
                    // for debuggers; the browser never needs them.
                    "--remove-name-section",
                    "--out-name",
                    name,
                    "--out-dir",
                ])
                .arg(out.join("pkg"))
                .arg(&wasm),
        )
        .context("wasm-bindgen failed")?;
    }
    let source = root.join("web-client");
    for file in PAGE_FILES {
        fs::copy(source.join(file), out.join(file))
            .with_context(|| format!("copying web-client/{file}"))?;
    }
    precompress(out)?;
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

/// Extensions of the files worth compressing: text and WebAssembly.
/// Images in compressed formats (png, jpg, woff2) gain nothing.
const COMPRESSIBLE: &[&str] = &[
    "html", "js", "mjs", "css", "svg", "wasm", "json", "txt", "xml", "map",
];

/// Compresses a file's bytes into one variant.
type Compressor = fn(&[u8]) -> anyhow::Result<Vec<u8>>;

/// The suffixes of the precompressed variants, as the relay looks for them
/// (actix-files' `try_compressed`) and the auditor checks them.
const VARIANTS: &[(&str, Compressor)] = &[(".gz", gzip), (".br", brotli)];

/// Writes `NAME.gz` and `NAME.br` beside every compressible file below
/// `dir`, each only when it is smaller than the file itself. The output
/// depends only on the input bytes and the locked crate versions.
fn precompress(dir: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    for (relative, _) in files {
        let compressible = Path::new(&relative)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible {
            continue;
        }
        let path = dir.join(&relative);
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        for (suffix, compress) in VARIANTS {
            let packed = compress(&bytes).with_context(|| format!("compressing {relative}"))?;
            if packed.len() < bytes.len() {
                fs::write(dir.join(format!("{relative}{suffix}")), packed)?;
            }
        }
    }
    Ok(())
}

/// gzip (RFC 1952) at the highest level, with nothing of the build in the
/// header: no file name, modification time 0, operating system 255
/// ("unknown").
fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// Brotli (RFC 7932) at quality 11, the highest, with a 4 MiB window
/// (larger than any page file).
fn brotli(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

fn print_manifest(out: &Path, manifest: &Manifest) {
    println!("\nWeb client in {} (SHA256SUMS):", out.display());
    for (path, hash) in manifest {
        println!("  {hash}  {path}");
    }
}

/// SHA-256 of every file below `dir` except `SHA256SUMS`, sorted by path
/// (the precompressed variants included).
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

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    /// A fresh empty folder under the system's temp directory.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ozvi-xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn gzip_headers_carry_nothing_of_the_build_and_round_trip() {
        let text = b"<!doctype html><p>Nejsi v tom sama. ".repeat(40);
        let packed = gzip(&text).unwrap();
        // RFC 1952: magic, deflate, no flags (no name), mtime 0, XFL 2
        // (slowest, best), OS 255.
        assert_eq!(&packed[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
        assert_eq!(gzip(&text).unwrap(), packed, "the same bytes every time");
    }

    #[test]
    fn brotli_round_trips_and_is_deterministic() {
        let text = b"export const quickExit = () => location.replace('about:blank');\n".repeat(30);
        let packed = brotli(&text).unwrap();
        assert!(packed.len() < text.len() / 4);
        let mut back = Vec::new();
        brotli::Decompressor::new(&packed[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
        assert_eq!(brotli(&text).unwrap(), packed, "the same bytes every time");
    }

    #[test]
    fn variants_are_written_only_for_compressible_files_that_shrink() {
        let dir = scratch("precompress");
        fs::create_dir(dir.join("pkg")).unwrap();
        fs::write(dir.join("app.js"), "let a = 1;\n".repeat(100)).unwrap();
        fs::write(dir.join("pkg/m.wasm"), [0u8; 2000]).unwrap();
        fs::write(dir.join("tiny.css"), "a{}").unwrap();
        fs::write(dir.join("photo.png"), [7u8; 2000]).unwrap();
        precompress(&dir).unwrap();
        let names: Vec<String> = manifest(&dir).unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(
            names,
            [
                "app.js",
                "app.js.br",
                "app.js.gz",
                "photo.png",
                "pkg/m.wasm",
                "pkg/m.wasm.br",
                "pkg/m.wasm.gz",
                "tiny.css",
            ]
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
