//! The person's page keeps its own thin fetch layer (`web-client/api.js`);
//! this holds it against the OpenAPI document the relay serves (built by
//! `ozvi-api`), in Node: tests/browser/api-contract.mjs calls every function
//! api.js exports with a recording `fetch` and checks each request's route,
//! query, headers and body against the document, and that every documented
//! error answer becomes an error the page can explain.

use std::path::Path;
use std::process::Command;

#[test]
fn the_pages_fetch_layer_keeps_the_openapi_contract() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("temp dir");
    let document = dir.path().join("openapi.json");
    std::fs::write(&document, ozvi_api::openapi::json()).expect("writes the document");
    let output = Command::new("node")
        .arg(repo.join("tests/browser/api-contract.mjs"))
        .arg(&document)
        .arg(repo.join("web-client/api.js"))
        .output()
        .expect("Node.js runs (cargo xtask test installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("api.js keeps the contract"), "{stdout}");
}
