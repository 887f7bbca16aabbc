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
    /// When and how it is safe to contact her, as staff agreed with her.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_contact: Option<SafeContact>,
}

/// When and how it is safe to contact her (a case's or a conversation's):
/// shown before any call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeContact {
    /// When it is safe (free text: "weekdays 9–12, never evenings").
    #[serde(default)]
    pub times: String,
    /// Whether a voicemail may be left.
    #[serde(default)]
    pub voicemail: bool,
    /// A code word agreed with her, if any.
    #[serde(default)]
    pub code_word: String,
}

/// One entry of a staff-only case (kind 4, PROTOCOL.md §4.11). Entries are
/// appended, never replaced: a correction is a new entry of the same type,
/// and the newest of each type is what the desk shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseBody {
    /// The police eviction record, as the centre received it.
    Record(EvictionRecord),
    /// A contact attempt.
    Attempt(Attempt),
    /// When and how it is safe to contact her.
    SafeContact(SafeContact),
    /// An anonymous conversation belongs to this case.
    Link {
        /// The conversation's mailbox id (base64url).
        mailbox_id: String,
    },
    /// The case closes with her own choice.
    Close {
        /// What she chose.
        choice: Choice,
        /// Anything staff add.
        #[serde(default)]
        text: String,
    },
    /// A free note.
    Note {
        /// The note.
        text: String,
    },
}

/// The police eviction record (vykázání, zákon 273/2008 §44–47).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvictionRecord {
    /// When the police entered the home (Unix seconds): the eviction runs
    /// ten days from then.
    pub entered_at: u64,
    /// When the centre received the record: contact is due 48 hours later
    /// (zákon 108/2006 §60a).
    pub received_at: u64,
    /// The police unit that sent it.
    #[serde(default)]
    pub police_unit: String,
    /// The record's number.
    #[serde(default)]
    pub record_no: String,
    /// The endangered person's name, as the record gives it.
    #[serde(default)]
    pub name: String,
    /// Her phone, as the record gives it.
    #[serde(default)]
    pub phone: String,
    /// Her address, as the record gives it.
    #[serde(default)]
    pub address: String,
    /// Children in the household.
    #[serde(default)]
    pub children: String,
    /// Free notes.
    #[serde(default)]
    pub notes: String,
}

/// One contact attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When (Unix seconds).
    pub at: u64,
    /// How.
    pub channel: Channel,
    /// What came of it.
    pub outcome: Outcome,
    /// Anything staff add.
    #[serde(default)]
    pub text: String,
}

/// How staff tried to reach her.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call.
    Phone,
    /// A visit.
    Visit,
    /// A letter.
    Letter,
    /// A chat or a message.
    Chat,
}

/// What came of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// She was reached.
    Reached,
    /// No answer.
    NoAnswer,
    /// A wrong number or address.
    WrongNumber,
    /// She was reached but could not talk safely.
    UnsafeToTalk,
    /// She declined help.
    Declined,
    /// She accepted help.
    Accepted,
}

impl Outcome {
    /// She was reached (whatever she then said).
    pub fn reached_her(self) -> bool {
        matches!(
            self,
            Outcome::Reached | Outcome::UnsafeToTalk | Outcome::Declined | Outcome::Accepted
        )
    }
}

impl Attempt {
    /// Whether this attempt stops the 48-hour clock: it reached her, or
    /// it is a documented attempt — a letter sent or a visit made — even
    /// when no one answered. A call or a chat that reached no one does not.
    pub fn stops_the_clock(&self) -> bool {
        self.outcome.reached_her() || matches!(self.channel, Channel::Letter | Channel::Visit)
    }
}

/// What she chose when the case closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// She accepted help.
    Accepted,
    /// She declined help.
    Declined,
    /// She could not be reached.
    Unreachable,
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
            safe_contact: None,
        };
        let json = serde_json::to_string(&note).expect("serializes");
        assert!(json.contains(r#""status":"waiting""#));
        assert_eq!(
            serde_json::from_str::<NoteBody>(&json).expect("parses"),
            note
        );
        assert!(serde_json::from_str::<NoteBody>(r#"{"status":"lost"}"#).is_err());
    }

    #[test]
    fn case_entries_parse_as_documented_and_the_clock_rule_holds() {
        let attempt: CaseBody = serde_json::from_str(
            r#"{"type":"attempt","at":5,"channel":"phone","outcome":"no_answer","future":1}"#,
        )
        .expect("parses");
        let CaseBody::Attempt(a) = attempt else {
            panic!("an attempt")
        };
        assert!(!a.stops_the_clock(), "an unanswered call");
        for (channel, outcome, stops) in [
            (Channel::Phone, Outcome::Reached, true),
            (Channel::Phone, Outcome::UnsafeToTalk, true),
            (Channel::Chat, Outcome::WrongNumber, false),
            (Channel::Letter, Outcome::NoAnswer, true),
            (Channel::Visit, Outcome::NoAnswer, true),
        ] {
            let a = Attempt {
                at: 1,
                channel,
                outcome,
                text: String::new(),
            };
            assert_eq!(a.stops_the_clock(), stops, "{channel:?} {outcome:?}");
        }
        let record: CaseBody = serde_json::from_str(
            r#"{"type":"record","entered_at":1,"received_at":2,"name":"Jana"}"#,
        )
        .expect("parses");
        assert!(matches!(record, CaseBody::Record(r) if r.name == "Jana"));
        assert!(serde_json::from_str::<CaseBody>(r#"{"type":"rumour"}"#).is_err());
        assert!(
            serde_json::from_str::<CaseBody>(
                r#"{"type":"attempt","at":1,"channel":"fax","outcome":"reached"}"#
            )
            .is_err()
        );
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
