//! The API description, unknown routes and methods, and the web client's files.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_relay_serves() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.expect("JSON");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its responses"
            );
            documented.insert((method.clone(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = ozvi_relay::routes::ROUTES
        .iter()
        .map(|(m, p)| (m.as_str().to_lowercase(), p.to_string()))
        .collect();
    let defined: BTreeSet<(String, String)> = ozvi_api::routes::all()
        .iter()
        .map(|r| (r.method.as_str().to_lowercase(), r.path.to_string()))
        .collect();
    assert_eq!(served, defined, "the relay routes exactly the API's routes");
    assert_eq!(
        served.len(),
        ozvi_relay::routes::ROUTES.len(),
        "no route twice"
    );
    assert_eq!(
        documented, served,
        "every route is documented and every documented route exists"
    );
    // Every listed route really is routed: it never answers as an unknown
    // route or method, whatever the (empty, unauthenticated) request.
    for (method, path) in &served {
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let response = app
            .http
            .request(method.clone(), app.url(path))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        if status == 404 || status == 405 {
            let body: Value = response.json().await.expect("JSON");
            assert!(
                body["code"] != "not_found" && body["code"] != "method_not_allowed",
                "{method} {path} is not routed: {body}"
            );
        }
    }
    // Schemas the request bodies refer to are in the document.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "CreateThread",
        "PostMessage",
        "Transfer",
        "ErrorBody",
        "Inbox",
    ] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
    let security = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert!(security.contains_key("mailbox") && security.contains_key("staff"));
}

#[tokio::test]
async fn unknown_routes_and_methods_get_stable_errors() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/api/v1/nothing"))
        .send()
        .await
        .expect("request");
    assert_error(r, 404, "not_found").await;
    let r = app
        .http
        .post(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_error(r, 405, "method_not_allowed").await;
    let r = app
        .http
        .delete(app.url("/api/v1/directory"))
        .send()
        .await
        .expect("request");
    // 405 says which methods the path takes.
    assert_eq!(r.headers()["allow"], "GET, PUT");
    assert_error(r, 405, "method_not_allowed").await;
    let r = app
        .http
        .put(app.url("/api/v1/mailbox/messages"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.headers()["allow"], "GET, POST");
    assert_error(r, 405, "method_not_allowed").await;
    // Without a web root, nothing is served at `/`.
    let r = app.http.get(app.url("/")).send().await.expect("request");
    assert_error(r, 404, "not_found").await;
}

#[tokio::test]
async fn the_web_client_is_served_with_strict_headers_and_nothing_else() {
    let site = tempfile::tempdir().expect("temp dir");
    let index = "<!doctype html><title>Ozvi</title><script type=module src=app.js></script>";
    std::fs::write(site.path().join("index.html"), index).expect("write");
    std::fs::write(site.path().join("app.js"), "export {};").expect("write");
    std::fs::write(site.path().join("ozvi_web_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::write(site.path().join(".secret"), "hidden").expect("write");
    std::fs::create_dir(site.path().join("assets")).expect("mkdir");
    std::fs::write(site.path().join("assets/site.css"), "body{}").expect("write");
    let outside = site.path().parent().expect("parent").join("outside.txt");
    std::fs::write(&outside, "outside").expect("write");
    let root = site.path().to_path_buf();
    let app = spawn_app_with(move |c| c.web_root = Some(root)).await;

    let page = app.http.get(app.url("/")).send().await.expect("request");
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    assert!(
        h["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let csp = h["content-security-policy"].to_str().expect("ascii");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("http"),
        "{csp}"
    );
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.get("set-cookie").is_none());
    assert!(h.get("etag").is_none() && h.get("last-modified").is_none());
    assert_eq!(page.text().await.expect("text"), index);

    let wasm = app
        .http
        .get(app.url("/ozvi_web_bg.wasm"))
        .send()
        .await
        .expect("request");
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    let js = app
        .http
        .get(app.url("/app.js"))
        .send()
        .await
        .expect("request");
    assert!(
        js.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .contains("javascript")
    );
    let css = app
        .http
        .get(app.url("/assets/site.css"))
        .send()
        .await
        .expect("request");
    assert_eq!(css.status(), 200);

    for path in [
        "/.secret",
        "/missing.js",
        "/assets/",
        "/%2e%2e/outside.txt",
        "/../outside.txt",
    ] {
        let r = app.http.get(app.url(path)).send().await.expect("request");
        assert_error(r, 404, "not_found").await;
    }
    // The API still answers, and other methods never reach the files.
    let r = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .post(app.url("/index.html"))
        .send()
        .await
        .expect("request");
    assert_error(r, 404, "not_found").await;
}
