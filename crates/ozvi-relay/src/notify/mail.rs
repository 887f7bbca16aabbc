//! The one mail the relay sends: a fixed subject and a body of one length,
//! whatever it reports. It says only whether anything new happened since
//! the last digest and how many conversations have waited over 24 and 48
//! hours for an answer: no text, code, mailbox id, region, name or time of
//! any message.

use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;

/// The subject of every notification.
pub const SUBJECT: &str = "Ozvi: přehled pro vaše centrum / digest for your centre";

/// What a digest reports for one centre.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digest {
    /// A person wrote something staff have not read since the last digest.
    pub new_activity: bool,
    /// Conversations whose oldest unanswered message is over 24 hours old.
    pub waiting_24h: u64,
    /// … over 48 hours old (the centre's promise).
    pub waiting_48h: u64,
}

/// Counts above this show as this: the body keeps its length.
const MAX_SHOWN: u64 = 99_999;

/// The body: the same length for every digest (fixed-width fields), so the
/// mail's size says nothing either.
pub fn body(digest: &Digest) -> String {
    let activity = if digest.new_activity {
        "ANO / YES"
    } else {
        "NE  / NO "
    };
    let w24 = digest.waiting_24h.min(MAX_SHOWN);
    let w48 = digest.waiting_48h.min(MAX_SHOWN);
    format!(
        "Ozvi: přehled pro vaše centrum / digest for your centre\r\n\
         \r\n\
         Nová aktivita od posledního přehledu / new activity since the last digest: {activity}\r\n\
         Konverzace bez odpovědi déle než 24 h / waiting over 24 hours: {w24:>5}\r\n\
         Konverzace bez odpovědi déle než 48 h / waiting over 48 hours: {w48:>5}\r\n\
         \r\n\
         Podrobnosti jsou jen v Ozvi desk. Tento e-mail neříká nic o tom, co kdo\r\n\
         napsal, kdo psal, ani kdy.\r\n\
         Details are only in the Ozvi desk. This e-mail says nothing about what\r\n\
         was written, who wrote, or when.\r\n"
    )
}

/// The mail to one recipient (never a shared list).
pub fn message(
    from: &Mailbox,
    to: &lettre::Address,
    digest: &Digest,
) -> Result<Message, lettre::error::Error> {
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to.clone()))
        .subject(SUBJECT)
        .header(ContentType::TEXT_PLAIN)
        .body(body(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_has_one_length() {
        let quiet = body(&Digest::default());
        for digest in [
            Digest {
                new_activity: true,
                waiting_24h: 3,
                waiting_48h: 1,
            },
            Digest {
                new_activity: false,
                waiting_24h: 12_345,
                waiting_48h: 99_999,
            },
            Digest {
                new_activity: true,
                waiting_24h: u64::MAX,
                waiting_48h: 1_000_000,
            },
        ] {
            assert_eq!(body(&digest).len(), quiet.len(), "{digest:?}");
        }
        assert!(
            body(&Digest {
                new_activity: true,
                waiting_24h: 3,
                waiting_48h: 1
            })
            .contains("ANO / YES")
        );
    }

    #[test]
    fn the_mail_has_the_fixed_subject_and_one_recipient() {
        let from: Mailbox = "Ozvi <ozvi@example.org>".parse().expect("mailbox");
        let to: lettre::Address = "jana@example.org".parse().expect("address");
        let mail = message(&from, &to, &Digest::default()).expect("builds");
        let text = String::from_utf8(mail.formatted()).expect("utf-8");
        assert!(text.contains("To: jana@example.org"), "{text}");
        assert!(!text.contains("Cc:") && !text.contains("Bcc:"), "{text}");
        let envelope = mail.envelope();
        assert_eq!(envelope.to().len(), 1);
    }
}
