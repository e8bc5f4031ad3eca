//! 问卷: questionnaire definitions and the validation of answers against them.
//!
//! A definition is an ordered list of questions. Answers are a JSON object keyed by
//! question key: `likert5` 1–5 (非常不满意…非常满意), `yes_no` true/false, `nps` 0–10,
//! `single_choice` an option value, `multi_choice` a list of option values, `text` a
//! string. A question with `show_if` is shown only when the earlier question it names
//! was answered with one of the listed values; hidden questions must stay unanswered.

use std::collections::{HashMap, HashSet};

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::service::FieldError;

/// Question types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    /// 非常满意 5 … 非常不满意 1.
    Likert5,
    /// 是 / 否.
    YesNo,
    /// One option.
    SingleChoice,
    /// Any number of options.
    MultiChoice,
    /// Net Promoter 0–10.
    Nps,
    /// Free text, length-limited.
    Text,
}

impl QuestionType {
    /// Whether answers of this type enter dimension scores.
    pub fn is_scored(self) -> bool {
        matches!(self, QuestionType::Likert5 | QuestionType::YesNo)
    }
}

/// An option of a choice question.
#[derive(Debug, Clone, PartialEq, Eq, Object, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// Stable code stored with answers.
    pub value: String,
    /// Text shown to the respondent.
    pub label: String,
}

/// Shows a question only when an earlier answer has one of the given values.
#[derive(Debug, Clone, PartialEq, Eq, Object, Serialize, Deserialize)]
pub struct ShowIf {
    /// Key of an earlier question.
    pub question: String,
    /// Answer values (as text: `"1"`…`"5"`, `"true"`/`"false"`, option values).
    pub values: Vec<String>,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq, Object, Serialize, Deserialize)]
pub struct Question {
    /// Unique key within the questionnaire: lower-case letters, digits, `_`.
    pub key: String,
    /// Question text shown to respondents (Chinese).
    pub text: String,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: QuestionType,
    /// Dimension of a scored question (attitude, credentials, rights, procedure,
    /// fairness, integrity, burden, guidance, overall, or a new one).
    #[oai(default)]
    #[serde(default)]
    pub dimension: Option<String>,
    /// Scored in reverse (a "yes" or a high rating is the bad outcome).
    #[oai(default)]
    #[serde(default)]
    pub reverse: bool,
    #[oai(default)]
    #[serde(default)]
    pub required: bool,
    /// Options of choice questions.
    #[oai(default)]
    #[serde(default)]
    pub options: Vec<ChoiceOption>,
    /// Longest text answer in characters (text questions; default 500, at most 4000).
    #[oai(default)]
    #[serde(default)]
    pub max_length: Option<u32>,
    #[oai(default)]
    #[serde(default)]
    pub show_if: Option<ShowIf>,
}

/// Default and largest text answer length.
pub const DEFAULT_TEXT_LENGTH: u32 = 500;
pub const MAX_TEXT_LENGTH: u32 = 4000;
/// Most questions in one questionnaire.
pub const MAX_QUESTIONS: usize = 200;

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && key.as_bytes()[0].is_ascii_lowercase()
}

/// The values an answer to `q` can take, as text, or `None` when unbounded (text).
fn answer_values(q: &Question) -> Option<Vec<String>> {
    match q.kind {
        QuestionType::Likert5 => Some((1..=5).map(|v| v.to_string()).collect()),
        QuestionType::Nps => Some((0..=10).map(|v| v.to_string()).collect()),
        QuestionType::YesNo => Some(vec!["true".into(), "false".into()]),
        QuestionType::SingleChoice | QuestionType::MultiChoice => {
            Some(q.options.iter().map(|o| o.value.clone()).collect())
        }
        QuestionType::Text => None,
    }
}

/// Checks a definition; every problem is reported with its field path.
pub fn validate_definition(questions: &[Question]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if questions.is_empty() {
        errors.push(FieldError::new(
            "questions",
            "at least one question is needed",
        ));
    }
    if questions.len() > MAX_QUESTIONS {
        errors.push(FieldError::new(
            "questions",
            format!("at most {MAX_QUESTIONS} questions"),
        ));
    }
    let mut seen: HashMap<&str, &Question> = HashMap::new();
    for (i, q) in questions.iter().enumerate() {
        let at = |field: &str| format!("questions[{i}].{field}");
        if !valid_key(&q.key) {
            errors.push(FieldError::new(
                at("key"),
                "use 1–64 lower-case letters, digits and _, starting with a letter",
            ));
        } else if seen.contains_key(q.key.as_str()) {
            errors.push(FieldError::new(
                at("key"),
                format!("duplicate key {}", q.key),
            ));
        }
        let text_len = q.text.trim().chars().count();
        if text_len == 0 || text_len > 500 {
            errors.push(FieldError::new(at("text"), "must be 1–500 characters"));
        }
        let is_choice = matches!(
            q.kind,
            QuestionType::SingleChoice | QuestionType::MultiChoice
        );
        if is_choice {
            let values: HashSet<&str> = q.options.iter().map(|o| o.value.as_str()).collect();
            if q.options.len() < 2 {
                errors.push(FieldError::new(
                    at("options"),
                    "a choice question needs at least two options",
                ));
            } else if values.len() != q.options.len() {
                errors.push(FieldError::new(
                    at("options"),
                    "option values must be unique",
                ));
            }
            if q.options
                .iter()
                .any(|o| o.value.trim().is_empty() || o.label.trim().is_empty())
            {
                errors.push(FieldError::new(
                    at("options"),
                    "options need a value and a label",
                ));
            }
        } else if !q.options.is_empty() {
            errors.push(FieldError::new(
                at("options"),
                "only choice questions have options",
            ));
        }
        if q.kind.is_scored() {
            match q.dimension.as_deref() {
                Some(d) if valid_key(d) => {}
                Some(_) => errors.push(FieldError::new(
                    at("dimension"),
                    "use lower-case letters, digits and _",
                )),
                None => errors.push(FieldError::new(
                    at("dimension"),
                    "a scored question (likert5, yes_no) needs a dimension",
                )),
            }
        } else {
            if q.dimension.is_some() {
                errors.push(FieldError::new(
                    at("dimension"),
                    "only likert5 and yes_no questions are scored",
                ));
            }
            if q.reverse {
                errors.push(FieldError::new(
                    at("reverse"),
                    "only scored questions can be reversed",
                ));
            }
        }
        match (q.kind, q.max_length) {
            (QuestionType::Text, Some(n)) if n == 0 || n > MAX_TEXT_LENGTH => {
                errors.push(FieldError::new(
                    at("max_length"),
                    format!("must be 1–{MAX_TEXT_LENGTH}"),
                ));
            }
            (QuestionType::Text, _) | (_, None) => {}
            (_, Some(_)) => errors.push(FieldError::new(
                at("max_length"),
                "only text questions have a length limit",
            )),
        }
        if let Some(cond) = &q.show_if {
            match seen.get(cond.question.as_str()) {
                None => errors.push(FieldError::new(
                    at("show_if.question"),
                    format!("{} is not an earlier question", cond.question),
                )),
                Some(earlier) => match answer_values(earlier) {
                    None => errors.push(FieldError::new(
                        at("show_if.question"),
                        "cannot depend on a text answer",
                    )),
                    Some(allowed) => {
                        if cond.values.is_empty() {
                            errors.push(FieldError::new(
                                at("show_if.values"),
                                "list at least one value",
                            ));
                        }
                        if let Some(bad) = cond.values.iter().find(|v| !allowed.contains(v)) {
                            errors.push(FieldError::new(
                                at("show_if.values"),
                                format!("{bad} is not a possible answer to {}", cond.question),
                            ));
                        }
                    }
                },
            }
        }
        seen.entry(q.key.as_str()).or_insert(q);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// One validated answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Rating(u8),
    YesNo(bool),
    Choice(String),
    Choices(Vec<String>),
    Text(String),
}

impl Answer {
    /// The answer as text, for `show_if` matching.
    fn matches(&self, values: &[String]) -> bool {
        let hit = |v: &str| values.iter().any(|x| x == v);
        match self {
            Answer::Rating(r) => hit(&r.to_string()),
            Answer::YesNo(b) => hit(if *b { "true" } else { "false" }),
            Answer::Choice(c) => hit(c),
            Answer::Choices(cs) => cs.iter().any(|c| hit(c)),
            Answer::Text(_) => false,
        }
    }

    /// The scored value on 1–5 (yes = 5, no = 1), reversed when asked; `None` for
    /// unscored types.
    pub fn likert(&self, reverse: bool) -> Option<u8> {
        let v = match self {
            Answer::Rating(r) => *r,
            Answer::YesNo(true) => 5,
            Answer::YesNo(false) => 1,
            _ => return None,
        };
        Some(if reverse { 6 - v } else { v })
    }
}

/// Whether question `q` is shown given the answers so far.
fn shown(q: &Question, answers: &[(String, Answer)]) -> bool {
    match &q.show_if {
        None => true,
        Some(cond) => answers
            .iter()
            .find(|(k, _)| *k == cond.question)
            .is_some_and(|(_, a)| a.matches(&cond.values)),
    }
}

fn parse_answer(q: &Question, value: &Value) -> Result<Answer, String> {
    match q.kind {
        QuestionType::Likert5 => match value.as_u64() {
            Some(v @ 1..=5) => Ok(Answer::Rating(v as u8)),
            _ => Err("must be an integer from 1 (非常不满意) to 5 (非常满意)".into()),
        },
        QuestionType::Nps => match value.as_u64() {
            Some(v @ 0..=10) => Ok(Answer::Rating(v as u8)),
            _ => Err("must be an integer from 0 to 10".into()),
        },
        QuestionType::YesNo => value
            .as_bool()
            .map(Answer::YesNo)
            .ok_or_else(|| "must be true or false".into()),
        QuestionType::SingleChoice => match value.as_str() {
            Some(v) if q.options.iter().any(|o| o.value == v) => Ok(Answer::Choice(v.to_owned())),
            _ => Err(format!("must be one of: {}", option_list(q))),
        },
        QuestionType::MultiChoice => {
            let Some(items) = value.as_array() else {
                return Err(format!(
                    "must be a list of options from: {}",
                    option_list(q)
                ));
            };
            let mut chosen = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(v) if q.options.iter().any(|o| o.value == v) => {
                        if !chosen.iter().any(|c| c == v) {
                            chosen.push(v.to_owned());
                        }
                    }
                    _ => return Err(format!("{item} is not one of: {}", option_list(q))),
                }
            }
            if chosen.is_empty() {
                return Err("choose at least one option".into());
            }
            Ok(Answer::Choices(chosen))
        }
        QuestionType::Text => {
            let Some(text) = value.as_str() else {
                return Err("must be text".into());
            };
            let text = text.trim();
            let limit = q.max_length.unwrap_or(DEFAULT_TEXT_LENGTH) as usize;
            let len = text.chars().count();
            if len > limit {
                return Err(format!("must be at most {limit} characters, got {len}"));
            }
            if let Some(reason) = super::text::refusal(text) {
                return Err(reason);
            }
            Ok(Answer::Text(text.to_owned()))
        }
    }
}

fn option_list(q: &Question) -> String {
    q.options
        .iter()
        .map(|o| o.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Validates answers against a definition. Each error names the question
/// (`answers.<key>`). Returns the answers of shown questions, in question order.
pub fn validate_answers(
    questions: &[Question],
    answers: &serde_json::Map<String, Value>,
) -> Result<Vec<(String, Answer)>, Vec<FieldError>> {
    // Questionnaires are short: lists searched in order beat hashing here (this runs
    // for every stored answer).
    let mut errors = Vec::new();
    for key in answers.keys() {
        if !questions.iter().any(|q| q.key == *key) {
            errors.push(FieldError::new(
                format!("answers.{key}"),
                "no such question",
            ));
        }
    }
    let mut ordered: Vec<(String, Answer)> = Vec::with_capacity(questions.len());
    for q in questions {
        let field = || format!("answers.{}", q.key);
        let value = answers.get(&q.key).filter(|v| !v.is_null());
        let visible = shown(q, &ordered);
        match (value, visible) {
            (Some(_), false) => errors.push(FieldError::new(
                field(),
                "this question is not shown for the earlier answers; leave it out",
            )),
            (None, true) if q.required => errors.push(FieldError::new(field(), "required")),
            (None, _) => {}
            (Some(v), true) => match parse_answer(q, v) {
                Ok(a) => ordered.push((q.key.clone(), a)),
                Err(reason) => errors.push(FieldError::new(field(), reason)),
            },
        }
    }
    if errors.is_empty() {
        Ok(ordered)
    } else {
        Err(errors)
    }
}

/// Answers back to JSON for storage.
pub fn answers_to_json(answers: &[(String, Answer)]) -> Value {
    let mut map = serde_json::Map::new();
    for (key, a) in answers {
        let v = match a {
            Answer::Rating(r) => Value::from(*r),
            Answer::YesNo(b) => Value::from(*b),
            Answer::Choice(c) => Value::from(c.clone()),
            Answer::Choices(cs) => Value::from(cs.clone()),
            Answer::Text(t) => Value::from(t.clone()),
        };
        map.insert(key.clone(), v);
    }
    Value::Object(map)
}

/// Straight-lining: the same answer on every Likert item, with at least `min_items`.
pub fn straight_lined(
    questions: &[Question],
    answers: &[(String, Answer)],
    min_items: usize,
) -> bool {
    let likert = |key: &str| {
        questions
            .iter()
            .any(|q| q.kind == QuestionType::Likert5 && q.key == key)
    };
    let ratings: Vec<u8> = answers
        .iter()
        .filter(|(k, _)| likert(k))
        .filter_map(|(_, a)| {
            if let Answer::Rating(r) = a {
                Some(*r)
            } else {
                None
            }
        })
        .collect();
    ratings.len() >= min_items && ratings.windows(2).all(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn q(key: &str, kind: QuestionType) -> Question {
        Question {
            key: key.into(),
            text: "问题".into(),
            kind,
            dimension: kind.is_scored().then(|| "overall".to_owned()),
            reverse: false,
            required: true,
            options: if matches!(kind, QuestionType::SingleChoice | QuestionType::MultiChoice) {
                vec![
                    ChoiceOption {
                        value: "a".into(),
                        label: "甲".into(),
                    },
                    ChoiceOption {
                        value: "b".into(),
                        label: "乙".into(),
                    },
                ]
            } else {
                vec![]
            },
            max_length: None,
            show_if: None,
        }
    }

    fn fields(e: Vec<FieldError>) -> Vec<String> {
        e.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn definitions_are_checked_field_by_field() {
        let mut bad = q("Bad Key", QuestionType::Likert5);
        bad.dimension = None;
        let mut dup = q("x", QuestionType::Text);
        dup.reverse = true;
        let mut cond = q("y", QuestionType::Text);
        cond.show_if = Some(ShowIf {
            question: "later".into(),
            values: vec!["1".into()],
        });
        let errors = validate_definition(&[
            bad,
            q("x", QuestionType::Nps),
            dup,
            cond,
            q("later", QuestionType::Likert5),
        ])
        .unwrap_err();
        assert_eq!(
            fields(errors),
            [
                "questions[0].key",
                "questions[0].dimension",
                "questions[2].key",
                "questions[2].reverse",
                "questions[3].show_if.question"
            ]
        );
    }

    #[test]
    fn answers_follow_types_required_and_show_if() {
        let mut detail = q("detail", QuestionType::Text);
        detail.show_if = Some(ShowIf {
            question: "rating".into(),
            values: vec!["1".into(), "2".into()],
        });
        let questions = vec![
            q("rating", QuestionType::Likert5),
            q("pick", QuestionType::MultiChoice),
            detail,
        ];
        validate_definition(&questions).unwrap();

        let ok = validate_answers(
            &questions,
            json!({"rating": 2, "pick": ["a", "b"], "detail": "态度差"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(ok.len(), 3);
        let ok = validate_answers(
            &questions,
            json!({"rating": 5, "pick": ["b"]}).as_object().unwrap(),
        )
        .unwrap();
        assert_eq!(ok.len(), 2);

        let errors = validate_answers(
            &questions,
            json!({"rating": 5, "pick": ["z"], "detail": "x", "extra": 1})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            fields(errors),
            ["answers.extra", "answers.pick", "answers.detail"]
        );
        let errors =
            validate_answers(&questions, json!({"rating": 6}).as_object().unwrap()).unwrap_err();
        assert_eq!(fields(errors), ["answers.rating", "answers.pick"]);
    }

    #[test]
    fn yes_no_scores_as_five_or_one_and_reverses() {
        assert_eq!(Answer::YesNo(true).likert(false), Some(5));
        assert_eq!(Answer::YesNo(true).likert(true), Some(1));
        assert_eq!(Answer::Rating(4).likert(true), Some(2));
        assert_eq!(Answer::Text("x".into()).likert(false), None);
    }

    #[test]
    fn straight_lining_needs_enough_identical_ratings() {
        let questions: Vec<Question> = (0..8)
            .map(|i| q(&format!("q{i}"), QuestionType::Likert5))
            .collect();
        let same: Vec<(String, Answer)> = (0..8)
            .map(|i| (format!("q{i}"), Answer::Rating(5)))
            .collect();
        assert!(straight_lined(&questions, &same, 8));
        assert!(!straight_lined(&questions, &same[..7], 8));
        let mut varied = same.clone();
        varied[3].1 = Answer::Rating(4);
        assert!(!straight_lined(&questions, &varied, 8));
    }
}
