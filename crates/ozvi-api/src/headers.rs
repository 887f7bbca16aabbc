//! Header names, as the relay reads them (HTTP header names are
//! case-insensitive; these are the lower-case forms), and their formats.

/// The person's mailbox id: base64url of 16 bytes (22 characters).
pub const MAILBOX: &str = "ozvi-mailbox";
/// The person's auth secret: base64url of 32 bytes (43 characters).
pub const AUTH: &str = "ozvi-auth";
/// A file id (uploads and downloads of PROTOCOL.md §12): base64url of 16
/// bytes.
pub const FILE: &str = "ozvi-file";
/// A solved proof of work for a first upload to a mailbox without a thread:
/// `<challenge base64url>.<nonce decimal>`.
pub const POW: &str = "ozvi-pow";
/// A staff request's Ed25519 public key: base64url of 32 bytes.
pub const STAFF_KEY: &str = ozvi_crypto::protocol::request::headers::KEY;
/// A staff request's Unix time in seconds: decimal, no leading zeros.
pub const STAFF_TIMESTAMP: &str = ozvi_crypto::protocol::request::headers::TIMESTAMP;
/// A staff request's single-use nonce: base64url of 16 bytes.
pub const STAFF_NONCE: &str = ozvi_crypto::protocol::request::headers::NONCE;
/// A staff request's Ed25519 signature (PROTOCOL.md §7): base64url of 64 bytes.
pub const STAFF_SIGNATURE: &str = ozvi_crypto::protocol::request::headers::SIGNATURE;

/// Regular expressions for the headers' values, as the OpenAPI document
/// states them. Canonical base64url of `n` bytes has `ceil(4n/3)` characters;
/// the last one carries only the remaining bits.
pub mod pattern {
    /// 16 bytes of base64url (mailbox id, nonce).
    pub const B64_16: &str = "^[A-Za-z0-9_-]{21}[AQgw]$";
    /// 32 bytes of base64url (auth secret, keys, verifiers).
    pub const B64_32: &str = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$";
    /// 64 bytes of base64url (signatures).
    pub const B64_64: &str = "^[A-Za-z0-9_-]{85}[AQgw]$";
    /// Base64url of any length, without padding.
    pub const B64: &str = "^[A-Za-z0-9_-]*$";
    /// Unix seconds: decimal without leading zeros.
    pub const UNIX_SECONDS: &str = "^(0|[1-9][0-9]{0,19})$";
    /// A centre id in the directory (PROTOCOL.md §6).
    pub const CENTRE_ID: &str = "^[a-z0-9-]{1,32}$";
}

/// The security headers on every response of the relay and of the desk's
/// local web UI (docs/API.md, "Security headers"): one list, so the two
/// cannot drift apart. Each adds its own Content-Security-Policy.
pub mod security {
    /// Name and value of every header both send.
    pub const EVERY_RESPONSE: &[(&str, &str)] = &[
        ("Referrer-Policy", "no-referrer"),
        // Nothing of a conversation stays in a browser's cache.
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        (
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), \
             interest-cohort=(), browsing-topics=()",
        ),
    ];

    /// The header name of the content security policy.
    pub const CSP: &str = "Content-Security-Policy";

    /// The relay's policy: the person's page and its WebAssembly, from the
    /// relay's own origin only. The one inline `<style>` block of
    /// `web-client/index.html` is allowed by its SHA-256, so the first text
    /// paints with the HTML (`tests/tests/page_style.rs` keeps the two in
    /// step); no other inline style, and no inline script.
    pub const RELAY_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
         style-src 'self' 'sha256-THyDHDTtPwdHwPtdYWx9o0doVtEXw2dyEv52iWrDHVo='; img-src 'self'; connect-src 'self'; \
         font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// The desk's local web UI's policy (no WebAssembly). `blob:` images:
    /// the page shows an attached photo, decrypted by the desk and fetched
    /// with its token, from a `blob:` URL in its own memory.
    pub const DESK_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
         img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'";

    /// HSTS, sent by a relay behind TLS.
    pub const HSTS: (&str, &str) = (
        "Strict-Transport-Security",
        "max-age=63072000; includeSubDomains",
    );
}
