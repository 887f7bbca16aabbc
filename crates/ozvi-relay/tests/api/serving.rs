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

/// What one request for a page file got: status, headers and body bytes.
struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("an ASCII header"))
    }
}

/// `method path` with `Accept-Encoding: accept` (none when `None`), raw bytes
/// as they came over the wire (the test client decompresses nothing).
async fn fetch(
    app: &crate::helpers::TestApp,
    method: reqwest::Method,
    path: &str,
    accept: Option<&[u8]>,
) -> Fetched {
    let mut request = app.http.0.request(method, app.url(path));
    if let Some(accept) = accept {
        let value = reqwest::header::HeaderValue::from_bytes(accept).expect("a header value");
        request = request.header(reqwest::header::ACCEPT_ENCODING, value);
    }
    let response = request.send().await.expect("request");
    Fetched {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("body").to_vec(),
    }
}

/// A request for a page file and what it must get: (path, Accept-Encoding,
/// the file expected on the wire, its Content-Encoding).
type Case<'a> = (&'a str, Option<&'a [u8]>, &'a str, Option<&'a str>);

#[tokio::test]
async fn page_files_are_sent_precompressed_when_the_browser_accepts_the_coding() {
    // Variants as `cargo xtask web` writes them; their bytes are told apart
    // so that each answer shows which file on disk was sent.
    let site = tempfile::tempdir().expect("temp dir");
    let files: &[(&str, &[u8])] = &[
        (
            "index.html",
            b"<!doctype html><title>Ozvi</title><p>identity",
        ),
        ("index.html.br", b"\x8b\x0a\x80brotli of index.html"),
        ("index.html.gz", b"\x1f\x8b\x08\0gzip of index.html"),
        // No brotli variant: gzip is the next choice.
        ("app.js", b"export const identity = 1;"),
        ("app.js.gz", b"\x1f\x8b\x08\0gzip of app.js"),
        ("pkg/ozvi_web_bg.wasm", b"\0asm\x01\0\0\0identity"),
        ("pkg/ozvi_web_bg.wasm.br", b"brotli of the wasm"),
        ("pkg/ozvi_web_bg.wasm.gz", b"gzip of the wasm"),
        // Too small to gain: no variant at all.
        ("favicon.svg", b"<svg/>"),
    ];
    std::fs::create_dir(site.path().join("pkg")).expect("mkdir");
    for (name, bytes) in files {
        std::fs::write(site.path().join(name), bytes).expect("write");
    }
    let on_disk = |name: &str| files.iter().find(|f| f.0 == name).expect("a file").1;
    let root = site.path().to_path_buf();
    let app = spawn_app_with(move |c| c.web_root = Some(root)).await;
    let get = reqwest::Method::GET;

    let chrome = Some(&b"gzip, deflate, br, zstd"[..]);
    let cases: &[Case] = &[
        ("/", chrome, "index.html.br", Some("br")),
        ("/index.html", chrome, "index.html.br", Some("br")),
        ("/index.html", Some(b"br"), "index.html.br", Some("br")),
        (
            "/index.html",
            Some(b"gzip, deflate"),
            "index.html.gz",
            Some("gzip"),
        ),
        (
            "/index.html",
            Some(b"gzip, br"),
            "index.html.br",
            Some("br"),
        ),
        (
            "/index.html",
            Some(b"BR;Q=1, GZIP"),
            "index.html.br",
            Some("br"),
        ),
        // q-values are honoured, and q=0 refuses a coding.
        (
            "/index.html",
            Some(b"br;q=0.5, gzip;q=0.9"),
            "index.html.gz",
            Some("gzip"),
        ),
        (
            "/index.html",
            Some(b"br;q=0, gzip"),
            "index.html.gz",
            Some("gzip"),
        ),
        ("/index.html", Some(b"gzip;q=0, br;q=0"), "index.html", None),
        (
            "/index.html",
            Some(b"gzip;q=0, br;q=0, identity;q=0"),
            "index.html",
            None,
        ),
        // Nothing accepted, or only what the relay does not have.
        ("/index.html", None, "index.html", None),
        ("/index.html", Some(b""), "index.html", None),
        ("/index.html", Some(b"identity"), "index.html", None),
        ("/index.html", Some(b"deflate, zstd"), "index.html", None),
        // Odd or broken headers never fail a request: the file as it is.
        ("/index.html", Some(b"br;q=banana"), "index.html", None),
        ("/index.html", Some(b";;;,,q=, ;q=0.5"), "index.html", None),
        ("/index.html", Some(b"gzip\xff\xfe"), "index.html", None),
        (
            "/index.html",
            Some(b"x-ozvi-unknown;q=1"),
            "index.html",
            None,
        ),
        // A missing variant falls back to the next one, then to the file.
        ("/app.js", Some(b"br, gzip"), "app.js.gz", Some("gzip")),
        ("/app.js", Some(b"br"), "app.js", None),
        ("/favicon.svg", chrome, "favicon.svg", None),
        (
            "/pkg/ozvi_web_bg.wasm",
            chrome,
            "pkg/ozvi_web_bg.wasm.br",
            Some("br"),
        ),
        (
            "/pkg/ozvi_web_bg.wasm",
            Some(b"gzip"),
            "pkg/ozvi_web_bg.wasm.gz",
            Some("gzip"),
        ),
        // A variant by its own name: its bytes, not declared as a coding
        // (an auditor hashes it against its line of SHA256SUMS).
        ("/app.js.gz", chrome, "app.js.gz", None),
        ("/index.html.br", Some(b"br"), "index.html.br", None),
    ];
    for &(path, accept, expected, coding) in cases {
        let said = accept.map(String::from_utf8_lossy);
        let r = fetch(&app, get.clone(), path, accept).await;
        assert_eq!(r.status, 200, "{path} with {said:?}");
        assert_eq!(
            r.body,
            on_disk(expected),
            "{path} with {said:?} sends {expected}"
        );
        assert_eq!(r.header("content-encoding"), coding, "{path} with {said:?}");
        assert_eq!(
            r.header("content-length").map(str::to_string),
            Some(on_disk(expected).len().to_string()),
            "{path} with {said:?}"
        );
        // Every file answer may differ by Accept-Encoding, and says so once.
        let vary: Vec<_> = r.headers.get_all("vary").iter().collect();
        assert_eq!(vary.len(), 1, "{path} with {said:?}: {vary:?}");
        assert!(
            vary[0]
                .to_str()
                .expect("ascii")
                .eq_ignore_ascii_case("accept-encoding")
        );
        // The headers every file had before: no-store, the security
        // headers, no validators.
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(
            r.header("content-security-policy"),
            Some(ozvi_api::headers::security::RELAY_CSP)
        );
        assert!(r.header("permissions-policy").is_some());
        assert!(r.header("etag").is_none() && r.header("last-modified").is_none());
        assert!(r.header("set-cookie").is_none() && r.header("content-disposition").is_none());
    }

    // A variant keeps its file's own type.
    let types = [
        ("/", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript"),
        ("/pkg/ozvi_web_bg.wasm", "application/wasm"),
        ("/favicon.svg", "image/svg+xml"),
    ];
    for accept in [chrome, Some(&b"gzip"[..]), None] {
        for (path, wanted) in types {
            let r = fetch(&app, get.clone(), path, accept).await;
            assert_eq!(
                r.header("content-type"),
                Some(wanted),
                "{path} with {accept:?}"
            );
        }
    }

    // HEAD says what GET would send, without the body.
    let head = fetch(&app, reqwest::Method::HEAD, "/", chrome).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-encoding"), Some("br"));
    assert_eq!(
        head.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        head.header("content-length"),
        Some(on_disk("index.html.br").len().to_string().as_str())
    );
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert!(head.body.is_empty());
    let head = fetch(&app, reqwest::Method::HEAD, "/app.js", Some(b"identity")).await;
    assert_eq!(head.header("content-encoding"), None);
    assert_eq!(
        head.header("content-length"),
        Some(on_disk("app.js").len().to_string().as_str())
    );

    // Missing files and other methods are still the API's errors, compressed
    // variant or not.
    let missing = fetch(&app, get.clone(), "/missing.js", chrome).await;
    assert_eq!(missing.status, 404);
    assert!(missing.header("content-encoding").is_none());
    let r = app
        .http
        .post(app.url("/index.html"))
        .header("accept-encoding", "br")
        .send()
        .await
        .expect("request");
    assert_error(r, 404, "not_found").await;
}
