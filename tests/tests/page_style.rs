//! The person's page carries its style inline, so that the first text paints
//! with the HTML on a slow network (docs/WEB.md). The relay's CSP allows
//! that block, and only it, by its SHA-256: this test keeps the page and the
//! policy in step. After editing the style, put the hash it prints into
//! `ozvi_api::headers::security::RELAY_CSP` (and docs/API.md).

use base64::Engine as _;
use sha2::{Digest, Sha256};

#[test]
fn the_relay_csp_allows_exactly_the_pages_inline_style() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let html = std::fs::read_to_string(root.join("web-client/index.html")).expect("read");
    let blocks: Vec<&str> = html
        .split("<style>")
        .skip(1)
        .map(|rest| rest.split_once("</style>").expect("a closed <style>").0)
        .collect();
    assert_eq!(blocks.len(), 1, "one inline <style> block, in the head");
    assert!(
        !html.contains(" style=\""),
        "no style attribute: the CSP refuses them"
    );
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(blocks[0]));
    let policy = ozvi_api::headers::security::RELAY_CSP;
    let style_src = policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("style-src "))
        .expect("a style-src directive");
    assert_eq!(
        style_src,
        format!("style-src 'self' 'sha256-{hash}'"),
        "RELAY_CSP must allow the page's inline style by its hash"
    );
    let api = std::fs::read_to_string(root.join("docs/API.md")).expect("read");
    assert!(
        api.contains(&format!("'sha256-{hash}'")),
        "docs/API.md states the policy with the hash"
    );
}
