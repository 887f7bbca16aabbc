//! A real SMTP server process on loopback: `tests/smtp/server.py` on
//! aiosmtpd (Debian's `python3-aiosmtpd`, which `cargo xtask test`
//! installs), with STARTTLS required (a certificate for 127.0.0.1 from a CA
//! made for the test) and a login. Every mail it accepts is a file the test
//! reads.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::programs;

/// The Python that has Debian's aiosmtpd (not a user's own python3).
const PYTHON: &str = "/usr/bin/python3";

/// The test server's login.
pub const USER: &str = "ozvi-relay";
/// The test server's password.
pub const PASSWORD: &str = "heslo-pro-smtp-7391";

/// A running SMTP server, killed when the test ends.
pub struct SmtpServer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The CA certificate (PEM) that signed its certificate: the relay's
    /// `smtp_ca_file`.
    pub ca_file: PathBuf,
    /// Where accepted mail is written.
    pub mailbox: PathBuf,
}

/// One accepted mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The SMTP envelope's recipients.
    pub envelope_to: Vec<String>,
    /// The mail as received (headers and body).
    pub raw: String,
}

impl Mail {
    /// The value of header `name` (the first one), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            match (&mut value, line.starts_with([' ', '\t'])) {
                (Some(v), true) => v.push_str(line.trim_start()),
                (Some(_), false) => break,
                (None, _) => {
                    if let Some((n, v)) = line.split_once(':')
                        && n.eq_ignore_ascii_case(name)
                    {
                        value = Some(v.trim().to_string());
                    }
                }
            }
        }
        value
    }

    /// The body as sent (after the blank line), still transfer-encoded.
    pub fn body(&self) -> &str {
        self.raw.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }
}

impl SmtpServer {
    /// Starts a server in `dir` (certificates and the mailbox folder go
    /// there).
    pub fn start(dir: &Path) -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Ozvi test mail CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
        let key = rcgen::KeyPair::generate().expect("server key");
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .expect("server params")
            .signed_by(&key, &ca)
            .expect("server certificate");
        let ca_file = dir.join("smtp-ca.pem");
        let cert_file = dir.join("smtp-cert.pem");
        let key_file = dir.join("smtp-key.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write");
        std::fs::write(&cert_file, cert.pem()).expect("write");
        std::fs::write(&key_file, key.serialize_pem()).expect("write");
        let mailbox = dir.join("mail");
        std::fs::create_dir_all(&mailbox).expect("mkdir");
        let mut child = Command::new(PYTHON)
            .arg(programs::repo().join("tests/smtp/server.py"))
            .arg("0")
            .args([&cert_file, &key_file])
            .args([USER, PASSWORD])
            .arg(&mailbox)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP server starts (/usr/bin/python3 with python3-aiosmtpd)");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let Some(port) = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the SMTP server did not start ({line:?}): `cargo xtask test` installs \
                 python3-aiosmtpd (apt-get install python3-aiosmtpd)"
            );
        };
        Self {
            child,
            port,
            ca_file,
            mailbox,
        }
    }

    /// The relay's `[notify]` settings for this server, with `password`
    /// and these recipients per centre.
    pub fn notify_toml(&self, password: &str, centres: &[(&str, &[&str])]) -> String {
        let mut toml = format!(
            "[notify]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_security = \"starttls\"\n\
             smtp_ca_file = \"{}\"\nsmtp_username = \"{USER}\"\nsmtp_password = \"{password}\"\n\
             from = \"Ozvi <ozvi@relay.test>\"\n",
            self.port,
            self.ca_file.display()
        );
        for (centre, to) in centres {
            let list: Vec<String> = to.iter().map(|a| format!("\"{a}\"")).collect();
            toml.push_str(&format!(
                "[[notify.centres]]\ncentre = \"{centre}\"\nto = [{}]\n",
                list.join(", ")
            ));
        }
        toml
    }

    /// The same settings as a relay configuration's `notify`, for a relay
    /// in the test's process.
    pub fn notify_config(
        &self,
        password: &str,
        centres: &[(&str, &[&str])],
    ) -> ozvi_relay::notify::config::NotifyConfig {
        use ozvi_relay::notify::config::{NotifyConfig, Password, Recipients, Security};
        NotifyConfig {
            smtp_host: "127.0.0.1".into(),
            smtp_port: Some(self.port),
            smtp_security: Security::Starttls,
            smtp_ca_file: Some(self.ca_file.clone()),
            smtp_username: USER.into(),
            smtp_password: Password(password.to_string().into()),
            from: "Ozvi <ozvi@relay.test>".into(),
            centres: centres
                .iter()
                .map(|(centre, to)| Recipients {
                    centre: (*centre).to_string(),
                    to: to.iter().map(|a| (*a).to_string()).collect(),
                })
                .collect(),
            ..NotifyConfig::default()
        }
    }

    /// Every mail accepted so far, in order.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.mailbox)
            .expect("the mailbox folder")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let raw = std::fs::read_to_string(path).expect("a mail");
                let (first, rest) = raw.split_once("\r\n").expect("envelope line");
                let (second, raw) = rest.split_once("\r\n").expect("envelope line");
                let _ = first;
                let envelope_to = second
                    .trim_start_matches("X-Test-Envelope-To: ")
                    .split(',')
                    .map(str::to_string)
                    .collect();
                Mail {
                    envelope_to,
                    raw: raw.to_string(),
                }
            })
            .collect()
    }

    /// Waits up to `limit` for at least `count` mails.
    pub fn wait_for(&self, count: usize, limit: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + limit;
        loop {
            let mails = self.mails();
            if mails.len() >= count || Instant::now() > deadline {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
