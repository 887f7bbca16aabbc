//! The JSON inside envelopes (PROTOCOL.md §4.6). Unknown fields are
//! ignored, as the protocol requires of receivers.

use serde::{Deserialize, Serialize};

/// A person's message (kind 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonBody {
    /// What she wrote.
    pub text: String,
    /// Her page's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The form answers; only in a thread's first message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake: Option<Intake>,
}

/// The first message's form answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    /// `self`, `witness` or `professional`.
    pub role: String,
    /// The region she named, or none for "I don't know".
    #[serde(default)]
    pub region: Option<String>,
    /// Kinds of violence: `psychological`, `physical`, `sexual`, `economic`.
    #[serde(default)]
    pub violence: Vec<String>,
    /// She is in danger right now.
    #[serde(default)]
    pub danger_now: bool,
    /// When and how she may be contacted, if she said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// A staff reply (kind 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyBody {
    /// The reply.
    pub text: String,
    /// Its language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nobody has taken it up yet.
    #[default]
    New,
    /// Someone is working on it.
    InProgress,
    /// Waiting for the person to write again.
    Waiting,
    /// Done.
    Closed,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 4] = [
        Status::New,
        Status::InProgress,
        Status::Waiting,
        Status::Closed,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::InProgress => "in_progress",
            Status::Waiting => "waiting",
            Status::Closed => "closed",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The Czech label, as staff see it.
    pub fn label_cs(self) -> &'static str {
        match self {
            Status::New => "nový",
            Status::InProgress => "řeší se",
            Status::Waiting => "čeká na klientku",
            Status::Closed => "uzavřeno",
        }
    }
}

/// One internal note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalNote {
    /// When it was written (Unix seconds).
    pub at: u64,
    /// The staff id of its author.
    pub by: String,
    /// The note.
    pub text: String,
}

/// The staff-only note of a thread (kind 3): status, assignee, internal notes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteBody {
    /// Where the case stands.
    #[serde(default)]
    pub status: Status,
    /// The staff id of whoever has the case.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Internal notes, oldest first.
    #[serde(default)]
    pub notes: Vec<InternalNote>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_example_parses_and_unknown_fields_are_ignored() {
        let text = r#"{"text":"Potřebuji pomoc. Manžel mi vyhrožuje.","lang":"cs","intake":{"role":"self","region":"CZ-72","violence":["psychological","economic"],"danger_now":false,"contact":"po 17. hodině"},"future":1}"#;
        let body: PersonBody = serde_json::from_str(text).expect("parses");
        let intake = body.intake.expect("intake");
        assert_eq!(intake.region.as_deref(), Some("CZ-72"));
        assert_eq!(intake.violence, ["psychological", "economic"]);
        assert_eq!(intake.contact.as_deref(), Some("po 17. hodině"));
    }

    #[test]
    fn a_note_round_trips_and_an_empty_one_is_new() {
        let note: NoteBody = serde_json::from_str("{}").expect("parses");
        assert_eq!(note.status, Status::New);
        let note = NoteBody {
            status: Status::Waiting,
            assignee: Some("zlin-1".into()),
            notes: vec![InternalNote {
                at: 1,
                by: "zlin-2".into(),
                text: "Volala policie.".into(),
            }],
        };
        let json = serde_json::to_string(&note).expect("serializes");
        assert!(json.contains(r#""status":"waiting""#));
        assert_eq!(
            serde_json::from_str::<NoteBody>(&json).expect("parses"),
            note
        );
        assert!(serde_json::from_str::<NoteBody>(r#"{"status":"lost"}"#).is_err());
    }
}

/// A centre's reply templates (a kind-3 envelope under the centre's record
/// mailbox, PROTOCOL.md §4.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplatesBody {
    /// The templates, in the order staff see them.
    pub templates: Vec<Template>,
}

/// One reply template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// A short id, unique in the centre (`first-cs`).
    pub id: String,
    /// The language of the text: `cs`, `en` or `uk`.
    pub lang: String,
    /// What staff see in the list.
    pub title: String,
    /// The reply text it puts in the form.
    pub text: String,
}
