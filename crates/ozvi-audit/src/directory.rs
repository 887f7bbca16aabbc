//! `ozvi-audit directory URL --root-key KEY`: the directory the relay
//! serves must verify under the operator's root key (published out of
//! band), be well formed in every field (PROTOCOL.md §6: canonical keys,
//! unique ids, valid names, contact details and texts), and not be older than a version the auditor
//! saw before; the root key the relay hands the page must be the same key.

use ozvi_crypto::format::b64;
use ozvi_crypto::primitives::sig::Ed25519Public;
use ozvi_crypto::{Centre, SignedDirectory};

use crate::report::Report;

/// An HTTP client for the audits: no proxy for loopback, rustls with ring.
pub fn client() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        // A redirect is never expected; following one could hide where the
        // page really comes from.
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Parses the operator's root key (base64url Ed25519).
pub fn parse_root_key(text: &str) -> anyhow::Result<Ed25519Public> {
    b64::decode(text.trim())
        .ok()
        .and_then(|bytes| Ed25519Public::from_bytes(&bytes).ok())
        .ok_or_else(|| anyhow::anyhow!("the root key is not a base64url Ed25519 public key"))
}

/// Audits the relay at `base`.
pub async fn audit(base: &str, root: &Ed25519Public, min_version: u64) -> anyhow::Result<Report> {
    let base = reqwest::Url::parse(base)?.join("/").expect("the origin");
    let http = client()?;
    let mut report = Report::new("directory");
    let url = base.join(ozvi_api::routes::paths::DIRECTORY)?;
    let response = http.get(url.clone()).send().await?;
    if !response.status().is_success() {
        report.fail(url.as_str(), format!("answered {}", response.status()));
        return Ok(report);
    }
    let json = response.bytes().await?;
    match SignedDirectory::verify(&json, root, None) {
        Ok(directory) => {
            report.count("directories verified");
            let staff: usize = directory.centres.iter().map(|c| c.staff.len()).sum();
            report
                .checked
                .insert("centres".into(), directory.centres.len() as u64);
            report
                .checked
                .insert("staff keys well formed".into(), staff as u64);
            // What the person's page promises her (§6.1): a centre without
            // an answer time or acknowledgement is worth a look, not a fault.
            let count = |has: &dyn Fn(&Centre) -> bool| {
                directory.centres.iter().filter(|c| has(c)).count() as u64
            };
            let details = [
                (
                    "centres with contact details",
                    count(&|c| c.contact.is_some()),
                ),
                (
                    "centres with an answer time",
                    count(&|c| c.answer_time.is_some()),
                ),
                (
                    "centres with an acknowledgement",
                    count(&|c| c.acknowledgement.is_some()),
                ),
            ];
            for (name, n) in details {
                report.checked.insert(name.into(), n);
            }
            report.notes.push(format!(
                "version {}, issued at {} (Unix time), default centre {}",
                directory.version, directory.issued_at, directory.default_centre
            ));
            if directory.version < min_version {
                report.fail(
                    url.as_str(),
                    format!(
                        "version {} is older than {min_version}: a rollback",
                        directory.version
                    ),
                );
            }
        }
        Err(ozvi_crypto::DirectoryError::BadSignature) => {
            report.fail(url.as_str(), "not signed by this root key")
        }
        Err(e) => report.fail(url.as_str(), format!("refused: {e}")),
    }
    let config = base.join(ozvi_api::routes::paths::CONFIG)?;
    let pinned = http.get(config.clone()).send().await?;
    let served: Option<ozvi_api::public::ClientConfig> =
        serde_json::from_slice(&pinned.bytes().await?).ok();
    report.count("root key handed to the page");
    if served.map(|c| c.root_key) != Some(b64::encode(&root.to_bytes())) {
        report.fail(
            config.as_str(),
            "the page is told another root key than the operator's",
        );
    }
    Ok(report)
}
