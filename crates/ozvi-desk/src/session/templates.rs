//! The centre's reply templates: shared by its staff, stored on the relay
//! as one kind-3 envelope sealed to the centre's staff only, under the
//! mailbox id `ozvi-crypto` derives from the centre's id (PROTOCOL.md
//! §4.10). Until staff store their own, the desk offers built-in first
//! answers in Czech, English and Ukrainian.

use ozvi_crypto::format::b64;
use ozvi_crypto::format::envelope::Kind;
use ozvi_crypto::primitives::rng::os_rng;
use ozvi_crypto::protocol::addressing::{self, centre_record_mailbox};
use ozvi_crypto::protocol::envelope::{Message, Signer, seal};
use ozvi_crypto::{OpenError, Sender};
use serde::Serialize;

use super::Session;
use crate::error::DeskError;
use crate::plaintext::{Template, TemplatesBody};
use crate::relay;

/// The most templates a centre keeps.
pub const MAX_TEMPLATES: usize = 50;
/// The longest template text, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 4000;

/// The templates as the desk shows them.
#[derive(Debug, Clone, Serialize)]
pub struct TemplatesView {
    /// The templates.
    pub templates: Vec<Template>,
    /// Staff stored these (false: the built-in ones).
    pub stored: bool,
    /// Why the stored ones cannot be trusted (then the built-in ones are
    /// shown).
    pub problem: Option<String>,
}

impl Session {
    /// The centre's templates.
    pub async fn templates(&self) -> Result<TemplatesView, DeskError> {
        let stored = self.relay.templates(&self.signing()).await?;
        let Some(text) = stored else {
            return Ok(TemplatesView {
                templates: crate::text::default_templates(),
                stored: false,
                problem: None,
            });
        };
        match self.open_templates(&text) {
            Ok(templates) => Ok(TemplatesView {
                templates,
                stored: true,
                problem: None,
            }),
            Err(e) => Ok(TemplatesView {
                templates: crate::text::default_templates(),
                stored: true,
                problem: Some(crate::text::unopened(e)),
            }),
        }
    }

    /// Opens the stored envelope: it must be a note of this centre's staff,
    /// bound to this centre's record mailbox.
    fn open_templates(&self, text: &str) -> Result<Vec<Template>, OpenError> {
        let bytes = b64::decode(text).map_err(|_| OpenError::Malformed)?;
        let mailbox = centre_record_mailbox(&self.me.centre);
        let (opened, _) = self.open_envelope(&bytes, &mailbox)?;
        match (&opened.sender, opened.kind) {
            (Sender::Staff { centre, .. }, Kind::StaffNote) if *centre == self.me.centre => {
                ozvi_crypto::format::json::from_slice::<TemplatesBody>(&opened.body)
                    .map(|b| b.templates)
                    .map_err(|_| OpenError::Malformed)
            }
            _ => Err(OpenError::UnauthorizedSender),
        }
    }

    /// Replaces the centre's templates with `templates` (checked first).
    pub async fn save_templates(&self, templates: Vec<Template>) -> Result<(), DeskError> {
        check(&templates)?;
        let body = serde_json::to_vec(&TemplatesBody { templates })
            .map_err(|_| DeskError::Prepare("templates"))?;
        let mailbox = centre_record_mailbox(&self.me.centre);
        let envelope = seal(
            &mut os_rng(),
            Signer::Staff(&self.keys),
            Message {
                kind: Kind::StaffNote,
                mailbox: &mailbox,
                body: &body,
                sent_at: relay::now(),
            },
            &addressing::recipients(Kind::StaffNote, self.my_centre()?, None)
                .map_err(|_| DeskError::Prepare("templates"))?,
        )
        .map_err(|_| DeskError::TooLong)?;
        self.relay
            .put_templates(&self.signing(), &b64::encode(&envelope))
            .await
    }
}

/// Refuses templates staff could not use: no id, a repeated id, another
/// language than cs/en/uk, an empty or too long text, too many.
fn check(templates: &[Template]) -> Result<(), DeskError> {
    if templates.len() > MAX_TEMPLATES {
        return Err(DeskError::Invalid(format!(
            "at most {MAX_TEMPLATES} templates"
        )));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in templates {
        let id_ok = !t.id.is_empty()
            && t.id.len() <= 32
            && t.id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok || !ids.insert(t.id.as_str()) {
            return Err(DeskError::Invalid(format!(
                "template ids are unique, 1-32 of a-z, 0-9 and '-': {:?}",
                t.id
            )));
        }
        if !["cs", "en", "uk"].contains(&t.lang.as_str()) {
            return Err(DeskError::Invalid(format!(
                "template {}: lang is cs, en or uk",
                t.id
            )));
        }
        if t.text.trim().is_empty() || t.title.trim().is_empty() {
            return Err(DeskError::EmptyText);
        }
        if t.text.chars().count() > MAX_TEMPLATE_CHARS || t.title.chars().count() > 100 {
            return Err(DeskError::TooLong);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(id: &str, lang: &str, text: &str) -> Template {
        Template {
            id: id.into(),
            lang: lang.into(),
            title: "T".into(),
            text: text.into(),
        }
    }

    #[test]
    fn templates_are_checked_before_they_are_sealed() {
        assert!(check(&crate::text::default_templates()).is_ok());
        assert!(check(&[template("a", "cs", "x"), template("a", "en", "y")]).is_err());
        assert!(check(&[template("A b", "cs", "x")]).is_err());
        assert!(check(&[template("a", "de", "x")]).is_err());
        assert!(check(&[template("a", "cs", " ")]).is_err());
        assert!(check(&[template("a", "cs", &"x".repeat(MAX_TEMPLATE_CHARS + 1))]).is_err());
    }
}
