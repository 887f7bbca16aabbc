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
    /// When and how she may be contacted, if she said (free text, from
    /// pages before `safe_contact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The age she gave; an unknown value is taken as not given.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub age_band: Option<AgeBand>,
    /// When and how it is safe to contact her, as she said: the staff
    /// note's schema. One that breaks the schema is taken as not given.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub safe_contact: Option<SafeContact>,
}

/// The age she gave in the form (PROTOCOL.md §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgeBand {
    /// Under 16: centres serve people over 16; point her to Linka bezpečí.
    #[serde(rename = "under_16")]
    Under16,
    /// 16 or 17.
    #[serde(rename = "16_17")]
    From16To17,
    /// 18 or over.
    #[serde(rename = "adult")]
    Adult,
    /// She preferred not to say.
    #[serde(rename = "unsaid")]
    Unsaid,
}

impl AgeBand {
    /// How staff see it (Czech / English).
    pub fn label(self) -> &'static str {
        match self {
            AgeBand::Under16 => "mladší 16 let / under 16",
            AgeBand::From16To17 => "16–17 let / 16–17",
            AgeBand::Adult => "dospělá osoba / adult",
            AgeBand::Unsaid => "neuvedla / not said",
        }
    }
}

/// A value a reader must take as absent when it breaks its schema or a
/// bound (PROTOCOL.md §4.6), without failing the whole body.
trait Checked {
    fn holds(&self) -> bool {
        true
    }
}

impl Checked for AgeBand {}

/// Deserializes an optional member that is dropped, not fatal, when it
/// does not parse or holds no bound.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Checked,
{
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value::<T>(value).ok().filter(T::holds))
}

/// A staff reply (kind 2): text, or the conversation's state for her, or a
/// transfer's notice (PROTOCOL.md §4.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyBody {
    /// The reply (may be empty beside a state or a transfer).
    #[serde(default)]
    pub text: String,
    /// Its language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The conversation's state as the centre sets it for her; one with an
    /// unknown state or over its bounds is ignored.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub status: Option<StateUpdate>,
    /// The conversation moved to another centre; ignored when malformed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub transfer: Option<TransferNotice>,
    /// Attached files (PROTOCOL.md §4.6 `files`, §12.3), as written. A
    /// reader checks them with `FileRef::from_body`, entry by entry, so a
    /// bad one never hides the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<serde_json::Value>,
}

/// The conversation's state as she sees it, with the centre's own line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateUpdate {
    /// The state.
    pub state: HerState,
    /// The centre's one-line explanation (at most [`StateUpdate::NOTE_MAX`]
    /// characters, no line break).
    #[serde(default)]
    pub note: String,
}

impl StateUpdate {
    /// Most characters of a state's note.
    pub const NOTE_MAX: usize = 200;
}

impl Checked for StateUpdate {
    fn holds(&self) -> bool {
        self.note.chars().count() <= Self::NOTE_MAX && !self.note.contains(['\n', '\r'])
    }
}

/// A conversation's state as the centre tells her (PROTOCOL.md §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HerState {
    /// The centre has her message.
    Received,
    /// The centre is working on it.
    InProgress,
    /// The centre waits for her to write.
    Waiting,
    /// Closed.
    Closed,
}

impl HerState {
    /// Every state, in order.
    pub const ALL: [HerState; 4] = [
        HerState::Received,
        HerState::InProgress,
        HerState::Waiting,
        HerState::Closed,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HerState::Received => "received",
            HerState::InProgress => "in_progress",
            HerState::Waiting => "waiting",
            HerState::Closed => "closed",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// How staff see it (Czech / English): what she is shown.
    pub fn label(self) -> &'static str {
        match self {
            HerState::Received => "přijato / received",
            HerState::InProgress => "řešíme / in progress",
            HerState::Waiting => "čekáme na vás / waiting for you",
            HerState::Closed => "uzavřeno / closed",
        }
    }
}

/// The notice of a transfer: which centre reads her conversation now, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferNotice {
    /// The receiving centre's id.
    pub to: String,
    /// The transferring staff member's reason (at most
    /// [`TransferNotice::REASON_MAX`] characters).
    #[serde(default)]
    pub reason: String,
}

impl TransferNotice {
    /// Most characters of a reason.
    pub const REASON_MAX: usize = 500;
}

impl Checked for TransferNotice {
    fn holds(&self) -> bool {
        let id = (1..=32).contains(&self.to.len())
            && self
                .to
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        id && self.reason.chars().count() <= Self::REASON_MAX
    }
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

/// When and how it is safe to contact her (a case's, a conversation's, or
/// as she said in her first message): shown before any call. One schema
/// for all three (PROTOCOL.md §4.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeContact {
    /// When it is safe (free text: "weekdays 9–12, never evenings").
    #[serde(default)]
    pub times: String,
    /// Only chat (written messages) is safe: no call.
    #[serde(default)]
    pub chat_only: bool,
    /// Whether a voicemail may be left.
    #[serde(default)]
    pub voicemail: bool,
    /// A code word agreed with her, if any.
    #[serde(default)]
    pub code_word: String,
}

impl SafeContact {
    /// Most characters of `times`.
    pub const TIMES_MAX: usize = 1000;
    /// Most characters of `code_word`.
    pub const CODE_WORD_MAX: usize = 200;
}

impl Checked for SafeContact {
    fn holds(&self) -> bool {
        self.times.chars().count() <= Self::TIMES_MAX
            && self.code_word.chars().count() <= Self::CODE_WORD_MAX
    }
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
    fn a_state_or_transfer_or_intake_answer_that_breaks_its_schema_is_ignored_not_fatal() {
        let good: ReplyBody = serde_json::from_str(
            r#"{"text":"","status":{"state":"waiting","note":"Napište."},"transfer":{"to":"ic-praha","reason":"Praha"}}"#,
        )
        .expect("parses");
        assert_eq!(good.status.expect("state").state, HerState::Waiting);
        assert_eq!(good.transfer.expect("transfer").to, "ic-praha");
        let long = "x".repeat(201);
        for status in [
            r#"{"state":"lost"}"#.to_string(),
            r#"{"state":"closed","note":"a\nb"}"#.to_string(),
            format!(r#"{{"state":"closed","note":"{long}"}}"#),
            r#"{"state":"closed","extra":1}"#.to_string(),
            r#""closed""#.to_string(),
        ] {
            let body: ReplyBody =
                serde_json::from_str(&format!(r#"{{"text":"Dobrý den","status":{status}}}"#))
                    .expect("the reply still parses");
            assert_eq!(body.status, None, "{status}");
            assert_eq!(body.text, "Dobrý den");
        }
        let moved: ReplyBody =
            serde_json::from_str(r#"{"text":"t","transfer":{"to":"IC Praha!","reason":""}}"#)
                .expect("parses");
        assert_eq!(moved.transfer, None);
        let body: PersonBody = serde_json::from_str(
            r#"{"text":"t","intake":{"role":"self","age_band":"12","safe_contact":{"times":7}}}"#,
        )
        .expect("her message still parses");
        let intake = body.intake.expect("intake");
        assert_eq!((intake.age_band, intake.safe_contact), (None, None));
        let body: PersonBody = serde_json::from_str(
            r#"{"text":"t","intake":{"role":"self","age_band":"under_16","safe_contact":{"times":"ráno","chat_only":true}}}"#,
        )
        .expect("parses");
        let intake = body.intake.expect("intake");
        assert_eq!(intake.age_band, Some(AgeBand::Under16));
        assert!(intake.safe_contact.expect("safe contact").chat_only);
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
