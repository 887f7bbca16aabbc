//! `docs/openapi.json` is the document the relay serves, byte for byte, so a
//! client can be generated (or checked, as `web-client/api.js` is by
//! tests/browser/api-contract.mjs) without a running relay. After a change
//! to the API, `OZVI_BLESS=1 cargo test -p ozvi-api --test document` writes
//! it anew; review the diff like code.

use std::path::Path;

#[test]
fn docs_openapi_json_is_the_served_document() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let document = format!("{}\n", ozvi_api::openapi::json());
    if std::env::var_os("OZVI_BLESS").is_some() {
        std::fs::write(&path, &document).expect("writes docs/openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == document,
        "docs/openapi.json is not the document the relay serves; run \
         `OZVI_BLESS=1 cargo test -p ozvi-api --test document` and review the diff"
    );
}
