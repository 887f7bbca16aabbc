//! `[notify]` in the relay's configuration: the SMTP server, the schedule,
//! and each centre's recipients. None of it is ever in the store.

use std::path::PathBuf;

use serde::Deserialize;
use zeroize::Zeroizing;

/// How the relay reaches the SMTP server. There is no plain-text mode: the
/// credentials and the recipients' addresses never cross a network in
/// clear.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS before anything is sent
    /// (refused if the server does not offer it). Port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS"). Port 465 by default.
    Tls,
}

/// A password: never printed (`Debug` shows `***`), wiped from memory when
/// dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(pub Zeroizing<String>);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "(none)" } else { "***" })
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(Zeroizing::new(String::deserialize(d)?)))
    }
}

/// A day of the week, as the schedule names it (`mon` … `sun`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// One centre's recipients: each gets a mail of their own.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Recipients {
    /// The centre's id in the directory (`ic-zlin`).
    pub centre: String,
    /// Staff e-mail addresses.
    pub to: Vec<String>,
}

/// `[notify]`: content-free e-mail to staff (docs/OPERATIONS.md,
/// "Notifications"). Off while `smtp_host` is empty.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// The SMTP server's host name (also the name its certificate must
    /// carry). Empty: no notifications.
    pub smtp_host: String,
    /// The port; 587 for STARTTLS and 465 for TLS when not set.
    pub smtp_port: Option<u16>,
    /// `starttls` (default) or `tls`.
    pub smtp_security: Security,
    /// A PEM file of certificate authorities to trust for the SMTP server,
    /// besides the system's (a centre's own mail server).
    pub smtp_ca_file: Option<PathBuf>,
    /// The SMTP login; empty: no authentication.
    pub smtp_username: String,
    /// The SMTP password. Better in the environment (`OZVI_SMTP_PASSWORD`)
    /// than in the file; never logged.
    pub smtp_password: Password,
    /// The sender address (`Ozvi <ozvi@centre.example>`).
    pub from: String,
    /// The time zone the schedule is in.
    pub timezone: String,
    /// Days with a mail every hour of `working_hours`.
    pub working_days: Vec<Day>,
    /// Hours (0–23) of the working days at which the digest goes out.
    pub working_hours: Vec<u8>,
    /// Hours (0–23) at which the digest goes out every day, weekends too.
    pub every_day_at: Vec<u8>,
    /// Send at every slot, also when nothing new happened ("all quiet"),
    /// so that whether a mail comes says nothing at all.
    pub all_quiet: bool,
    /// Each centre's recipients.
    pub centres: Vec<Recipients>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: None,
            smtp_security: Security::Starttls,
            smtp_ca_file: None,
            smtp_username: String::new(),
            smtp_password: Password::default(),
            from: String::new(),
            timezone: "Europe/Prague".into(),
            working_days: vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
            working_hours: (8..=16).collect(),
            every_day_at: vec![7],
            all_quiet: false,
            centres: Vec::new(),
        }
    }
}

impl NotifyConfig {
    /// Whether notifications are configured at all.
    pub fn enabled(&self) -> bool {
        !self.smtp_host.is_empty()
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_security {
            Security::Starttls => 587,
            Security::Tls => 465,
        })
    }

    /// The recipients of `centre`.
    pub fn recipients(&self, centre: &str) -> &[String] {
        self.centres
            .iter()
            .find(|c| c.centre == centre)
            .map_or(&[], |c| c.to.as_slice())
    }

    /// Refuses a configuration that could not send, in one line saying what
    /// to change. Addresses are parsed here, so a typo stops the start, not
    /// the first mail.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !self.enabled() {
            anyhow::ensure!(
                self.centres.is_empty(),
                "[notify] lists centres but no smtp_host: set smtp_host (docs/OPERATIONS.md, \
                 \"Notifications\")"
            );
            return Ok(());
        }
        self.from.parse::<lettre::message::Mailbox>().map_err(|_| {
            anyhow::anyhow!(
                "[notify] from is not an e-mail address, e.g. \"Ozvi <ozvi@example.org>\""
            )
        })?;
        jiff::tz::TimeZone::get(&self.timezone).map_err(|_| {
            anyhow::anyhow!(
                "[notify] timezone {:?} is not a time zone, e.g. \"Europe/Prague\"",
                self.timezone
            )
        })?;
        anyhow::ensure!(
            self.working_hours
                .iter()
                .chain(&self.every_day_at)
                .all(|h| *h < 24),
            "[notify] working_hours and every_day_at are hours from 0 to 23"
        );
        anyhow::ensure!(
            !self.working_hours.is_empty() || !self.every_day_at.is_empty(),
            "[notify] has no hour to send at: set working_hours or every_day_at"
        );
        anyhow::ensure!(
            self.smtp_username.is_empty() == self.smtp_password.0.is_empty(),
            "[notify] smtp_username and smtp_password (or OZVI_SMTP_PASSWORD) go together"
        );
        anyhow::ensure!(
            !self.centres.is_empty(),
            "[notify] has an smtp_host but no centre: add [[notify.centres]] with centre and to"
        );
        for centre in &self.centres {
            anyhow::ensure!(
                !centre.to.is_empty(),
                "[notify] centre {} has no recipient",
                centre.centre
            );
            for (n, address) in centre.to.iter().enumerate() {
                address.parse::<lettre::Address>().map_err(|_| {
                    // The address itself is not repeated: it is personal data.
                    anyhow::anyhow!(
                        "[notify] recipient {} of centre {} is not an e-mail address",
                        n + 1,
                        centre.centre
                    )
                })?;
            }
        }
        if let Some(path) = &self.smtp_ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("[notify] cannot read smtp_ca_file {}: {e}", path.display())
            })?;
            lettre::transport::smtp::client::Certificate::from_pem(&pem).map_err(|_| {
                anyhow::anyhow!(
                    "[notify] smtp_ca_file {} holds no PEM certificate",
                    path.display()
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<NotifyConfig> {
        let config: NotifyConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn off_by_default_and_the_schedule_defaults_to_working_hours_and_seven() {
        let config = parse("").expect("valid");
        assert!(!config.enabled());
        assert_eq!(config.working_hours, (8..=16).collect::<Vec<u8>>());
        assert_eq!(config.every_day_at, [7]);
        assert_eq!(config.timezone, "Europe/Prague");
    }

    #[test]
    fn a_complete_configuration_is_accepted_and_the_password_never_prints() {
        let config = parse(
            "smtp_host = \"mail.example.org\"\nsmtp_username = \"ozvi\"\n\
             smtp_password = \"tajné-heslo\"\nfrom = \"Ozvi <ozvi@example.org>\"\n\
             [[centres]]\ncentre = \"ic-zlin\"\nto = [\"jana@example.org\"]\n",
        )
        .expect("valid");
        assert_eq!(config.port(), 587);
        assert_eq!(config.recipients("ic-zlin"), ["jana@example.org"]);
        assert!(config.recipients("ic-praha").is_empty());
        let printed = format!("{config:?}");
        assert!(!printed.contains("tajné-heslo"), "{printed}");
    }

    #[test]
    fn each_mistake_is_refused_in_one_line_without_the_address() {
        let base = "smtp_host = \"mail.example.org\"\nfrom = \"ozvi@example.org\"\n";
        for (bad, needle) in [
            (
                format!("{base}[[centres]]\ncentre = \"ic-zlin\"\nto = [\"jana-at-example\"]\n"),
                "recipient 1 of centre ic-zlin",
            ),
            (base.to_string(), "no centre"),
            (
                format!(
                    "{base}timezone = \"Mars/Olympus\"\n[[centres]]\ncentre = \"c\"\nto = [\"a@b.cz\"]\n"
                ),
                "timezone",
            ),
            (
                format!(
                    "{base}working_hours = [24]\n[[centres]]\ncentre = \"c\"\nto = [\"a@b.cz\"]\n"
                ),
                "0 to 23",
            ),
            (
                format!(
                    "{base}smtp_username = \"u\"\n[[centres]]\ncentre = \"c\"\nto = [\"a@b.cz\"]\n"
                ),
                "go together",
            ),
            (
                "[[centres]]\ncentre = \"c\"\nto = [\"a@b.cz\"]\n".to_string(),
                "no smtp_host",
            ),
            (
                "smtp_host = \"h\"\nfrom = \"not an address\"\n".to_string(),
                "from",
            ),
        ] {
            let message = format!("{:#}", parse(&bad).expect_err(&bad));
            assert!(message.contains(needle), "{bad}: {message}");
            assert!(!message.contains("jana-at-example"), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
        assert!(
            parse("smtp_security = \"none\"\n").is_err(),
            "no plain text"
        );
    }
}
