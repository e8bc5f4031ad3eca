//! Where a user is in a conversation. Persisted after every step (see `storage`), so
//! a restart resumes each dialogue where it was.

use serde::{Deserialize, Serialize};

use crate::api::{Question, Reporter};

/// A ticket being put together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// complaint, report, suggestion or praise.
    pub kind: String,
    pub agency_id: Option<i64>,
    pub agency_name: Option<String>,
    /// The agency's region, or the bot's default region when the agency is unknown.
    pub region_code: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    /// Telegram file ids of the photos.
    pub photos: Vec<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    /// None: anonymous.
    pub reporter: Option<Reporter>,
    /// Set once the summary was shown: a step taken from "edit" returns to it.
    pub reviewing: bool,
}

impl Draft {
    pub fn new(kind: &str) -> Self {
        Draft {
            kind: kind.to_owned(),
            ..Draft::default()
        }
    }

    /// Whether the kind takes a category (complaints and reports do; suggestions and
    /// praise are filed under 其他).
    pub fn needs_category(&self) -> bool {
        matches!(self.kind.as_str(), "complaint" | "report")
    }
}

/// A questionnaire being answered, one question at a time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SurveyRun {
    pub token: String,
    pub questions: Vec<Question>,
    /// Answers so far, by question key.
    pub answers: serde_json::Map<String, serde_json::Value>,
    /// The question being asked.
    pub at: usize,
    /// The questions asked before, for "back".
    pub asked: Vec<usize>,
    /// Options ticked so far on a multi-choice question.
    pub ticked: Vec<String>,
    /// When the first question was shown (seconds since the epoch).
    pub started: i64,
}

/// The dialogue state of one private chat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum State {
    #[default]
    Idle,
    /// 投诉 or 举报.
    ChoosingKind,
    /// Typing a name to search, or picking a search result.
    Agency(Draft),
    Category(Draft),
    Description(Draft),
    Photos(Draft),
    Location(Draft),
    Identity(Draft),
    /// Waiting for the contact button.
    Phone(Draft),
    /// The summary with confirm / edit.
    Confirm(Draft),
    /// Choosing which part to edit.
    Editing(Draft),
    /// Waiting for an invitation token.
    SurveyToken,
    Survey(SurveyRun),
    /// Waiting for a binding code.
    BindCode,
}
