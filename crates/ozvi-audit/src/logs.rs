//! `ozvi-audit logs FILE…`: a relay's logs must name no one. Each line is
//! searched for IPv4 and IPv6 addresses, user agents, base64url tokens of
//! the lengths of mailbox ids (16 bytes) and secrets or keys (32 bytes),
//! codes (18 symbols whose check symbol holds), and canaries.
//!
//! The token tests are heuristics: a base64url string of 22 characters or
//! more (a mailbox id is 22, a secret or key 43, an envelope thousands) that
//! mixes upper and lower case and decodes canonically, or a run of 32 hex
//! digits or more (an id or key in hex). Random ids almost always mix case;
//! words and identifiers are almost never that long without a separator.
//! ANSI colour codes are removed first. Compressed or binary files are
//! refused rather than passed: decompress them first.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::LazyLock;

use anyhow::Context;
use ozvi_crypto::Code;
use regex::Regex;

use crate::canary::Canary;
use crate::report::Report;

static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9.])(\d{1,3}(?:\.\d{1,3}){3})(?:$|[^0-9])").expect("valid")
});
/// Starts where a word cannot continue, so `relay::db` is not `::db`.
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9A-Za-z_:.])([0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)").expect("valid")
});
static USER_AGENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(user[-_ ]agent|mozilla/\d|applewebkit/|headlesschrome|chrome/\d|firefox/\d|safari/\d|curl/\d|wget/\d|python-requests|reqwest/|okhttp)",
    )
    .expect("valid")
});
static TOKEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9_-]{22,}").expect("valid"));
static HEX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9A-Za-z])([0-9A-Fa-f]{32,})(?:$|[^0-9A-Za-z])").expect("valid")
});
static ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;]*[A-Za-z]").expect("valid"));
static CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[0-9A-Z]{3}(?:[- ]?[0-9A-Z]{3}){5}\b").expect("valid"));

/// Audits the log files `paths`.
pub fn audit(paths: &[&Path], canaries: &[Canary]) -> anyhow::Result<Report> {
    let mut report = Report::new("logs");
    for path in paths {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let magic: [&[u8]; 4] = [
            &[0x1f, 0x8b],
            &[0x28, 0xb5, 0x2f, 0xfd],
            b"\xfd7zXZ",
            b"LPKSHHRH",
        ];
        let compressed = magic.iter().any(|m| bytes.starts_with(m));
        if compressed || bytes.contains(&0) || std::str::from_utf8(&bytes).is_err() {
            anyhow::bail!(
                "{} is compressed, binary or not UTF-8 text: decompress or export it as text \
                 first (a log that cannot be read must not pass)",
                path.display()
            );
        }
        report.count("files");
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            report.count("lines");
            let at = format!("{}:{}", path.display(), n + 1);
            for problem in line_problems(line, canaries) {
                report.fail(&at, problem);
            }
        }
    }
    Ok(report)
}

/// Everything wrong with one log line.
pub fn line_problems(line: &str, canaries: &[Canary]) -> Vec<String> {
    let line = &*ANSI.replace_all(line, "");
    let mut problems = Vec::new();
    for m in IPV4.captures_iter(line) {
        if m[1].parse::<Ipv4Addr>().is_ok() {
            problems.push(format!("an IPv4 address ({})", &m[1]));
        }
    }
    for m in IPV6.captures_iter(line) {
        let candidate = m[1].trim_end_matches(['.', ':']);
        let hex = candidate.bytes().any(|b| b.is_ascii_hexdigit());
        if hex && candidate.parse::<Ipv6Addr>().is_ok() {
            problems.push(format!("an IPv6 address ({candidate})"));
        }
    }
    if let Some(m) = USER_AGENT.find(line) {
        problems.push(format!("a user agent ({})", m.as_str()));
    }
    for m in TOKEN.find_iter(line) {
        let token = m.as_str();
        let kind = match token.len() {
            22 => "a mailbox id",
            43 => "a secret, key or verifier",
            _ => "base64url data (an envelope, id or key)",
        };
        let mixed = token.bytes().any(|b| b.is_ascii_uppercase())
            && token.bytes().any(|b| b.is_ascii_lowercase());
        // Canonical base64url, whole or after a prefix such as `mbx_`.
        let decodes = |t: &str| ozvi_crypto::format::b64::decode(t).is_ok();
        let suffix_decodes = token
            .match_indices(['_', '-'])
            .any(|(i, _)| token.len() - i > 22 && decodes(&token[i + 1..]));
        if mixed && (decodes(token) || suffix_decodes) {
            problems.push(format!("what looks like {kind} ({}…)", &token[..6]));
        }
    }
    for m in HEX.captures_iter(line) {
        problems.push(format!(
            "a long hex string, like an id or key ({}…)",
            &m[1][..6]
        ));
    }
    for m in CODE.find_iter(line) {
        if Code::parse(m.as_str()).is_ok() {
            problems.push("a code".to_string());
        }
    }
    for canary in canaries {
        let forms = canary.found_in(line.as_bytes());
        if !forms.is_empty() {
            problems.push(format!(
                "the canary {:?} as {}",
                canary.text,
                forms.join(", ")
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_relay_line_passes() {
        let line = "2026-12-01T09:10:11.123456Z  INFO ozvi_relay::startup: request method=POST route=/api/v1/mailbox/messages status=201 micros=812";
        assert!(
            line_problems(line, &[]).is_empty(),
            "{:?}",
            line_problems(line, &[])
        );
        assert!(
            line_problems("listening on the configured address; version 0.1.0", &[]).is_empty()
        );
    }

    #[test]
    fn addresses_agents_ids_and_codes_are_found() {
        assert_eq!(line_problems("peer=127.0.0.1:5000", &[]).len(), 1);
        assert_eq!(line_problems("from [::1]:8080", &[]).len(), 1);
        assert_eq!(line_problems("peer 2001:db8::7", &[]).len(), 1);
        assert_eq!(line_problems("ua=Mozilla/5.0 (X11)", &[]).len(), 1);
        let mailbox = ozvi_crypto::format::b64::encode(b"0123456789ABCDEF");
        assert_eq!(mailbox.len(), 22);
        assert_eq!(line_problems(&format!("mailbox={mailbox}"), &[]).len(), 1);
        let code = Code::generate(&mut ozvi_crypto::primitives::rng::os_rng());
        let found = line_problems(&format!("typed {}", &*code.grouped()), &[]);
        assert!(found.iter().any(|p| p == "a code"), "{found:?}");
        let canary = Canary::new("KANÁREK-9").expect("canary");
        assert_eq!(line_problems("text KANÁREK-9 here", &[canary]).len(), 1);
        assert!(line_problems("version 1.2.3 build 2026.11.30", &[]).is_empty());
        assert_eq!(line_problems("rate limited 203.0.113.7.", &[]).len(), 1);
        assert_eq!(line_problems("peer 2001:db8::1: reset", &[]).len(), 1);
        assert_eq!(line_problems("\x1b[0m2001:db8::1 closed", &[]).len(), 1);
        let hex = "ab12".repeat(8);
        assert_eq!(line_problems(&format!("id={hex}"), &[]).len(), 1);
        assert_eq!(
            line_problems(&format!("thread mbx_{mailbox}"), &[]).len(),
            1
        );
        assert!(line_problems("ozvi_relay::routes::person: request", &[]).is_empty());
    }
}
