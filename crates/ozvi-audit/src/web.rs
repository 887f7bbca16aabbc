//! `ozvi-audit web URL --manifest SHA256SUMS`: the page a relay serves must
//! be, byte for byte, the published build (`cargo xtask web` writes
//! `SHA256SUMS`; anyone can rebuild it from the source), must load nothing
//! that the build does not list and nothing from another origin, and every
//! response must carry the security headers of docs/API.md.
//!
//! The build lists precompressed variants beside the files (`app.js.gz`,
//! `app.js.br`), which the relay sends to browsers that accept them. Each
//! file is fetched three times, with `Accept-Encoding: identity`, `gzip` and
//! `br`; whatever coding the relay says it sent (`Content-Encoding`), the
//! body must be that variant of the build, byte for byte, and must
//! decompress to exactly the file. A coding the build has no variant for
//! is a failure: the relay compressed something itself, or sent bytes of
//! its own.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::sync::LazyLock;

use anyhow::{Context, bail};
use regex::Regex;
use reqwest::header::HeaderMap;
use sha2::{Digest, Sha256};

use crate::report::{Report, hex};

/// What HTML and JavaScript modules load: `src` attributes, `<link href>`
/// (stylesheets, icons, preloads), module imports and `new URL(…,
/// import.meta.url)`. Links people follow (`<a href>`) load nothing.
static REFERENCES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r#"\bsrc\s*=\s*["']([^"']+)["']"#,
        r#"<link\b[^>]*\bhref\s*=\s*["']([^"']+)["']"#,
        r#"\bfrom\s*['"]([^'"]+)['"]"#,
        r#"\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)"#,
        r#"(?:^|[;}\s])import\s*['"]([^'"]+)['"]"#,
        r#"\bnew\s+Worker\(\s*['"]([^'"]+)['"]"#,
        r#"new\s+URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url"#,
    ]
    .iter()
    .map(|r| Regex::new(&format!("(?m){r}")).expect("valid"))
    .collect()
});

/// Parses a `SHA256SUMS` file: `HEX  PATH` per line.
pub fn parse_manifest(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (hash, path) = line
            .split_once("  ")
            .with_context(|| format!("line {} of the manifest is not `HASH  PATH`", n + 1))?;
        let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid || path.is_empty() || path.starts_with('/') || path.contains("..") {
            bail!("line {} of the manifest is not `HASH  PATH`", n + 1);
        }
        files.insert(path.to_string(), hash.to_ascii_lowercase());
    }
    anyhow::ensure!(
        files.contains_key("index.html"),
        "the manifest lists no index.html"
    );
    Ok(files)
}

/// Audits the page served at `base` against `manifest`.
pub async fn audit(base: &str, manifest: &BTreeMap<String, String>) -> anyhow::Result<Report> {
    let base = reqwest::Url::parse(base).context("not a URL")?;
    let base = base.join("./").expect("a directory URL");
    let http = crate::directory::client()?;
    let mut report = Report::new("web");
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    for (path, hash) in manifest {
        if is_variant(path, manifest) {
            // Checked through its file's answer to that coding.
            continue;
        }
        let url = base.join(path).expect("a relative path");
        let at = format!("/{path}");
        let Some(body) = fetch_every_coding(&http, &url, &at, path, manifest, &mut report).await?
        else {
            continue;
        };
        let served = hex(&Sha256::digest(&body));
        if served == *hash {
            report.count("files identical to the build");
        } else {
            report.fail(
                &at,
                format!("SHA-256 {served} differs from the build's {hash}"),
            );
        }
        if path.ends_with(".html") || path.ends_with(".js") || path.ends_with(".mjs") {
            let text = String::from_utf8_lossy(&body);
            for regex in REFERENCES.iter() {
                for m in regex.captures_iter(&text) {
                    let target = &m[1];
                    if target.starts_with('#') || target.starts_with("tel:") {
                        continue;
                    }
                    match url.join(target) {
                        Ok(resolved) if resolved.origin() == base.origin() => {
                            let relative = resolved
                                .path()
                                .trim_start_matches(base.path().trim_end_matches('/'));
                            referenced.insert(relative.trim_start_matches('/').to_string());
                        }
                        _ => report.fail(&at, format!("loads {target} from another origin")),
                    }
                }
            }
        }
    }
    for path in &referenced {
        report.count("references followed");
        if !manifest.contains_key(path) {
            report.fail(
                format!("/{path}"),
                "loaded by the page but not part of the build",
            );
        }
    }
    // The page as a browser opens it: the directory URL itself.
    if let Some(body) =
        fetch_every_coding(&http, &base, "/", "index.html", manifest, &mut report).await?
    {
        let served = hex(&Sha256::digest(&body));
        if Some(&served) != manifest.get("index.html") {
            report.fail(
                "/",
                "the page opened at the address is not the build's index.html",
            );
        }
    }
    Ok(report)
}

/// The content codings the relay may send, each with the suffix of its
/// variant in the build (`cargo xtask web`) and its decoder.
const CODINGS: &[(&str, &str, Decoder)] = &[("gzip", ".gz", gunzip), ("br", ".br", unbrotli)];

/// Whether `path` is a precompressed variant of a file the build lists
/// (`app.js.br` beside `app.js`). The relay serves it by that name too, as
/// plain bytes, but a browser only ever gets it as a coding of its file,
/// and that is how the audit checks it.
fn is_variant(path: &str, manifest: &BTreeMap<String, String>) -> bool {
    CODINGS.iter().any(|(_, suffix, _)| {
        path.strip_suffix(suffix)
            .is_some_and(|file| manifest.contains_key(file))
    })
}

/// More than any page file: a variant that inflates past this is cut
/// there, and so differs from its file.
const MAX_DECOMPRESSED: u64 = 64 << 20;

/// A decoder: decompresses at most `limit` bytes (the rest is never read),
/// so that a hostile relay's small body cannot fill the auditor's memory.
type Decoder = fn(&[u8], u64) -> std::io::Result<Vec<u8>>;

fn gunzip(body: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)?;
    Ok(out)
}

fn unbrotli(body: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(body, 4096)
        .take(limit)
        .read_to_end(&mut out)?;
    Ok(out)
}

/// Fetches `url` (the build's file `path`, or `/` for index.html) once with
/// `Accept-Encoding: identity` and once for each coding; checks each
/// answer's headers and, when it is compressed, its bytes against the
/// build's variant and its decompressed bytes against the file. Returns the
/// identity body for the caller to compare, or `None` (reported) when the
/// file was not served.
async fn fetch_every_coding(
    http: &reqwest::Client,
    url: &reqwest::Url,
    at: &str,
    path: &str,
    manifest: &BTreeMap<String, String>,
    report: &mut Report,
) -> anyhow::Result<Option<Vec<u8>>> {
    let mut identity = None;
    for accept in ["identity", "gzip", "br"] {
        let response = http
            .get(url.clone())
            .header(reqwest::header::ACCEPT_ENCODING, accept)
            .send()
            .await
            .with_context(|| format!("cannot fetch {url}"))?;
        report.count("requests for the page's files");
        if !response.status().is_success() {
            report.fail(
                at,
                format!(
                    "answered {} to Accept-Encoding: {accept} (no redirect is expected)",
                    response.status()
                ),
            );
            return Ok(None);
        }
        check_headers(at, response.headers(), report);
        let coding = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|c| c != "identity");
        let body = response.bytes().await?;
        if accept == "identity" {
            if let Some(coding) = coding {
                report.fail(
                    at,
                    format!("sent Content-Encoding: {coding} to Accept-Encoding: identity"),
                );
            }
            identity = Some(body.to_vec());
            continue;
        }
        let Some(coding) = coding else {
            // No variant sent: the body is the file itself.
            report.count("answers sent uncompressed to a client that accepts a coding");
            if manifest.get(path) != Some(&hex(&Sha256::digest(&body))) {
                report.fail(
                    at,
                    format!("the uncompressed answer to Accept-Encoding: {accept} is not the build's file"),
                );
            }
            continue;
        };
        if coding != accept {
            report.fail(
                at,
                format!("sent Content-Encoding: {coding} to Accept-Encoding: {accept}"),
            );
            continue;
        }
        let Some((_, suffix, decode)) = CODINGS.iter().find(|(name, _, _)| *name == coding) else {
            continue;
        };
        let variant = format!("{path}{suffix}");
        let Some(listed) = manifest.get(&variant) else {
            report.fail(
                at,
                format!("sent Content-Encoding: {coding}, but the build has no {variant}"),
            );
            continue;
        };
        let served = hex(&Sha256::digest(&body));
        if served != *listed {
            report.fail(
                at,
                format!("the {coding} answer's SHA-256 {served} differs from the build's {variant} {listed}"),
            );
            continue;
        }
        match decode(&body, MAX_DECOMPRESSED) {
            Ok(plain) if manifest.get(path) == Some(&hex(&Sha256::digest(&plain))) => {
                report
                    .count("compressed answers identical to the build, decompressing to the file");
            }
            Ok(_) => report.fail(
                at,
                format!("{variant} is the build's, but does not decompress to {path}"),
            ),
            Err(_) => report.fail(at, format!("{variant} does not decompress as {coding}")),
        }
    }
    Ok(identity)
}

/// The headers docs/API.md promises on every response.
fn check_headers(at: &str, headers: &HeaderMap, report: &mut Report) {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    // Headers that make the browser report visits elsewhere or go elsewhere.
    for name in [
        "content-security-policy-report-only",
        "report-to",
        "reporting-endpoints",
        "nel",
        "refresh",
        "link",
        "location",
    ] {
        if headers.contains_key(name) {
            report.fail(at, format!("sends a {name} header"));
        }
    }
    if headers.get_all("content-security-policy").iter().count() != 1 {
        report.fail(at, "not exactly one Content-Security-Policy header");
    }
    let csp = get("content-security-policy");
    if csp.contains("report-uri") || csp.contains("report-to") {
        report.fail(at, "the CSP reports to somewhere");
    }
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(name).map(str::trim))
    };
    if directive("default-src") != Some("'none'") {
        report.fail(at, "the CSP lacks default-src 'none'");
    }
    match directive("script-src") {
        Some(sources)
            if sources
                .split_whitespace()
                .all(|s| s == "'self'" || s == "'wasm-unsafe-eval'") => {}
        _ => report.fail(
            at,
            "the CSP's script-src allows more than 'self' (and WebAssembly)",
        ),
    }
    if csp.contains("http:") || csp.contains("https:") || csp.contains('*') || csp.contains("data:")
    {
        report.fail(at, "the CSP allows another origin");
    }
    if directive("frame-ancestors") != Some("'none'") && get("x-frame-options") != "DENY" {
        report.fail(at, "the page may be framed");
    }
    for (name, wanted) in [
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        if get(name) != wanted {
            report.fail(at, format!("{name} is not {wanted}"));
        }
    }
    if !get("cache-control").contains("no-store") {
        report.fail(at, "cache-control lacks no-store");
    }
    if get("permissions-policy").is_empty() {
        report.fail(at, "no permissions-policy");
    }
    if headers.contains_key("set-cookie") {
        report.fail(at, "sets a cookie");
    }
    report.count("responses with their headers checked");
}
