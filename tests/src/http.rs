//! HTTP clients for tests: with the TLS provider chosen, bound to a given
//! loopback address, and [`Http`], which holds every answer against the
//! API's definition.

use std::net::IpAddr;

use serde_json::Value;

/// Chooses rustls's crypto provider (ring) for this process. In a workspace
/// build reqwest carries rustls without a built-in provider (the desk's and
/// the auditor's choice), so every client needs one chosen first; choosing
/// twice is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How long a client keeps an idle connection for its next request: less
/// than the relay's keep-alive (actix-web's 5 s), so that a request never
/// goes out on a connection the relay is closing at that moment. A test
/// that waits some seconds between two requests (holding uploads open, say)
/// otherwise fails now and then with a connection error when the machine
/// is busy.
pub const IDLE_CONNECTION: std::time::Duration = std::time::Duration::from_secs(3);

/// A plain reqwest client.
pub fn client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .pool_idle_timeout(IDLE_CONNECTION)
        .build()
        .expect("client")
}

/// A client whose connections come from `source` (any 127.x address is
/// this machine's loopback): a second or a hundredth client address.
pub fn client_from(source: &str) -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .pool_idle_timeout(IDLE_CONNECTION)
        .local_address(source.parse::<IpAddr>().expect("an address"))
        .build()
        .expect("client")
}

/// The client the API tests use: reqwest's, except that every answer to an
/// API route is held against the API's definition (`ozvi_api::routes`, from
/// which the OpenAPI document is built). A status the document does not
/// list for the route fails the test that saw it, so the document cannot
/// fall behind what the relay answers.
#[derive(Clone)]
pub struct Http(pub reqwest::Client);

impl Http {
    /// [`client`], checked.
    pub fn new() -> Self {
        Self(client())
    }

    /// [`client_from`], checked.
    pub fn from_address(source: &str) -> Self {
        Self(client_from(source))
    }

    /// A GET request.
    pub fn get(&self, url: impl AsRef<str>) -> Request {
        self.request(reqwest::Method::GET, url)
    }

    /// A POST request.
    pub fn post(&self, url: impl AsRef<str>) -> Request {
        self.request(reqwest::Method::POST, url)
    }

    /// A PUT request.
    pub fn put(&self, url: impl AsRef<str>) -> Request {
        self.request(reqwest::Method::PUT, url)
    }

    /// A DELETE request.
    pub fn delete(&self, url: impl AsRef<str>) -> Request {
        self.request(reqwest::Method::DELETE, url)
    }

    /// A request of any method.
    pub fn request(&self, method: reqwest::Method, url: impl AsRef<str>) -> Request {
        let url = url.as_ref().to_string();
        Request {
            inner: self.0.request(method.clone(), &url),
            method,
            url,
        }
    }
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

/// A request on its way; see [`Http`].
pub struct Request {
    inner: reqwest::RequestBuilder,
    method: reqwest::Method,
    url: String,
}

impl Request {
    /// Adds a header.
    pub fn header(self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        Self {
            inner: self.inner.header(name.as_ref(), value.as_ref()),
            ..self
        }
    }

    /// A JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(self, body: &T) -> Self {
        Self {
            inner: self.inner.json(body),
            ..self
        }
    }

    /// A raw body.
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self {
            inner: self.inner.body(body),
            ..self
        }
    }

    /// Sends it; fails the test if the answer's status is not documented
    /// for the route.
    pub async fn send(self) -> reqwest::Result<reqwest::Response> {
        let response = self.inner.send().await?;
        check_documented(&self.method, &self.url, response.status().as_u16());
        Ok(response)
    }
}

/// Fails if `status` is not an answer the API's definition lists for the
/// route (`405` for a known path and another method). Paths outside the
/// API (the web client's files, unknown paths) are not checked here.
pub fn check_documented(method: &reqwest::Method, url: &str, status: u16) {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
        .unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let known = ozvi_api::routes::Method::parse(method.as_str())
        .and_then(|m| ozvi_api::routes::find(m, path));
    match known {
        Some(route) => assert!(
            route.answers(status),
            "{method} {path} answered {status}, which the API's definition (and so the \
             OpenAPI document) does not list for it: add the error code to the route in \
             crates/ozvi-api/src/routes.rs"
        ),
        None if ozvi_api::routes::allow_header(path).is_some() => {
            assert_eq!(
                status, 405,
                "{method} {path}: a known path with another method"
            );
        }
        None => {}
    }
}

/// Asserts an error response's status and stable code, and that the body is
/// exactly `{code, message}` (nothing echoed).
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status().as_u16(), status, "status for {code}");
    let body: Value = response.json().await.expect("an error body is JSON");
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "only code and message: {body}"
    );
}
