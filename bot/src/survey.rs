//! A questionnaire walked one question at a time: which questions show (`show_if`),
//! how each type is asked with buttons, what a press means, and the answer sheet
//! submitted at the end. Pure: no Telegram and no HTTP here.

use serde_json::Value;
use teloxide::types::InlineKeyboardButton;

use crate::api::Question;
use crate::state::SurveyRun;
use crate::text;

/// What a button press on a question does.
#[derive(Debug)]
pub enum Press {
    /// Answered (or skipped): go on to the next question.
    Next(SurveyRun),
    /// The same question with its buttons redrawn (a ticked option).
    Redraw(SurveyRun),
    /// Show the question now current (after "back").
    Show(SurveyRun),
    /// Not accepted: stay and say why.
    Stay(SurveyRun, String),
    /// A button of another question or another survey (an old message's): refused,
    /// and the current question shown again.
    Stale(SurveyRun),
}

/// An answer as `show_if` compares it: `"1"`…`"5"`, `"true"`/`"false"`, option values.
fn as_texts(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().flat_map(as_texts).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

fn shown(q: &Question, answers: &serde_json::Map<String, Value>) -> bool {
    match &q.show_if {
        None => true,
        Some(cond) => answers
            .get(&cond.question)
            .is_some_and(|a| as_texts(a).iter().any(|t| cond.values.contains(t))),
    }
}

impl SurveyRun {
    /// The run at the first question shown; `None` when none is.
    pub fn start(token: String, questions: Vec<Question>, now: i64) -> Option<Self> {
        let empty = serde_json::Map::new();
        let at = questions.iter().position(|q| shown(q, &empty))?;
        Some(SurveyRun {
            token,
            questions,
            at,
            started: now,
            ..SurveyRun::default()
        })
    }

    fn current(&self) -> Option<&Question> {
        self.questions.get(self.at)
    }

    /// The run at the next question shown after the current one; `None` at the end.
    pub fn advance(&self) -> Option<Self> {
        let next = (self.at + 1..self.questions.len())
            .find(|i| shown(&self.questions[*i], &self.answers))?;
        let mut run = self.clone();
        run.asked.push(self.at);
        run.at = next;
        run.ticked = ticked_of(&run);
        Some(run)
    }
}

/// The options already chosen on the current multi-choice question.
fn ticked_of(run: &SurveyRun) -> Vec<String> {
    run.current()
        .and_then(|q| run.answers.get(&q.key))
        .map(as_texts)
        .unwrap_or_default()
}

/// Whether the current question is answered by typing.
pub fn takes_text(run: &SurveyRun) -> bool {
    run.current().is_some_and(|q| q.kind == "text")
}

/// A typed answer to the current text question.
pub fn answer_text(mut run: SurveyRun, typed: &str) -> Result<SurveyRun, String> {
    let Some(q) = run.current() else {
        return Err(text::USE_BUTTONS.into());
    };
    let max = q.max_length.unwrap_or(500);
    if typed.chars().count() > max as usize {
        return Err(text::text_too_long(max));
    }
    let key = q.key.clone();
    run.answers.insert(key, Value::String(typed.to_owned()));
    Ok(run)
}

/// A short tag of the survey a button belongs to (its token's first characters): a
/// button of another survey never answers this one.
fn tag(run: &SurveyRun) -> &str {
    let end = run
        .token
        .char_indices()
        .nth(8)
        .map_or(run.token.len(), |(i, _)| i);
    &run.token[..end]
}

/// A button's callback data: `verb:tag.question.argument`, so a press names the survey
/// and the question it was shown for (at most 64 bytes, as Telegram allows).
fn data(run: &SurveyRun, verb: &str, arg: impl std::fmt::Display) -> String {
    format!("{verb}:{}.{}.{arg}", tag(run), run.at)
}

/// What a press (`ans`, `tick`, `done`, `skip`, `back` with `tag.question.argument`)
/// does. A press for another survey or another question is [`Press::Stale`].
pub fn press(mut run: SurveyRun, verb: &str, arg: &str) -> Press {
    let mut parts = arg.splitn(3, '.');
    let (given_tag, given_at, arg) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    if given_tag != Some(tag(&run)) || given_at.and_then(|a| a.parse().ok()) != Some(run.at) {
        return Press::Stale(run);
    }
    let Some(q) = run.current().cloned() else {
        return Press::Stay(run, text::USE_BUTTONS.into());
    };
    let index: Option<usize> = arg.parse().ok();
    match verb {
        "back" => match run.asked.pop() {
            Some(previous) => {
                run.at = previous;
                run.ticked = ticked_of(&run);
                Press::Show(run)
            }
            None => Press::Stay(run, text::USE_BUTTONS.into()),
        },
        "skip" if !q.required => {
            run.answers.remove(&q.key);
            Press::Next(run)
        }
        "ans" => match index.and_then(|i| value_of(&q, i)) {
            Some(v) => {
                run.answers.insert(q.key.clone(), v);
                Press::Next(run)
            }
            None => Press::Stay(run, text::USE_BUTTONS.into()),
        },
        "tick" if q.kind == "multi_choice" => match index.and_then(|i| q.options.get(i)) {
            Some(option) => {
                if let Some(at) = run.ticked.iter().position(|t| *t == option.value) {
                    run.ticked.remove(at);
                } else {
                    run.ticked.push(option.value.clone());
                }
                Press::Redraw(run)
            }
            None => Press::Stay(run, text::USE_BUTTONS.into()),
        },
        "done" if q.kind == "multi_choice" => {
            if run.ticked.is_empty() && q.required {
                return Press::Stay(run, text::CHOOSE_ONE.into());
            }
            let chosen = std::mem::take(&mut run.ticked);
            if chosen.is_empty() {
                run.answers.remove(&q.key);
            } else {
                run.answers.insert(
                    q.key.clone(),
                    Value::Array(chosen.into_iter().map(Value::String).collect()),
                );
            }
            Press::Next(run)
        }
        _ => Press::Stay(run, text::USE_BUTTONS.into()),
    }
}

/// The answer behind button `i` of a question.
fn value_of(q: &Question, i: usize) -> Option<Value> {
    match q.kind.as_str() {
        "likert5" => text::LIKERT.get(i).map(|(_, v)| Value::from(*v)),
        "yes_no" => [true, false].get(i).map(|b| Value::Bool(*b)),
        "nps" => (i <= 10).then(|| Value::from(i as i64)),
        "single_choice" => q.options.get(i).map(|o| Value::String(o.value.clone())),
        _ => None,
    }
}

fn button(label: impl Into<String>, data: impl Into<String>) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label.into(), data.into())
}

/// The current question's text and buttons.
pub fn render(run: &SurveyRun) -> (String, Vec<Vec<InlineKeyboardButton>>) {
    let Some(q) = run.current() else {
        return (text::USE_BUTTONS.into(), Vec::new());
    };
    let mut body = text::question_header(run.asked.len() + 1, &q.text);
    let mut rows: Vec<Vec<InlineKeyboardButton>> = match q.kind.as_str() {
        "likert5" => text::LIKERT
            .iter()
            .enumerate()
            .map(|(i, (label, _))| vec![button(*label, data(run, "ans", i))])
            .collect(),
        "yes_no" => vec![vec![
            button(text::YES, data(run, "ans", 0)),
            button(text::NO, data(run, "ans", 1)),
        ]],
        "nps" => vec![
            (0..=5)
                .map(|i| button(i.to_string(), data(run, "ans", i)))
                .collect(),
            (6..=10)
                .map(|i| button(i.to_string(), data(run, "ans", i)))
                .collect(),
        ],
        "single_choice" => q
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| vec![button(o.label.clone(), data(run, "ans", i))])
            .collect(),
        "multi_choice" => {
            let mut rows: Vec<Vec<InlineKeyboardButton>> = q
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let mark = if run.ticked.contains(&o.value) {
                        "☑ "
                    } else {
                        "☐ "
                    };
                    vec![button(format!("{mark}{}", o.label), data(run, "tick", i))]
                })
                .collect();
            rows.push(vec![button(text::DONE_BUTTON, data(run, "done", ""))]);
            rows
        }
        _ => {
            body = format!("{body}\n{}", text::TEXT_ANSWER);
            Vec::new()
        }
    };
    let mut nav = Vec::new();
    if !run.asked.is_empty() {
        nav.push(button(text::BACK_BUTTON, data(run, "back", "")));
    }
    if !q.required {
        nav.push(button(text::SKIP_BUTTON, data(run, "skip", "")));
    }
    nav.push(button(text::CANCEL_BUTTON, "cancel"));
    rows.push(nav);
    (body, rows)
}

/// The answers to submit: those of the questions shown, given the answers before
/// them (an answer changed after "back" may hide later questions).
pub fn finished(run: &SurveyRun) -> serde_json::Map<String, Value> {
    let mut sheet = serde_json::Map::new();
    for q in &run.questions {
        if shown(q, &sheet)
            && let Some(a) = run.answers.get(&q.key)
        {
            sheet.insert(q.key.clone(), a.clone());
        }
    }
    sheet
}

/// The token in what a user sent: a bare token, a deep link (`…?start=<token>`) or
/// an invitation link (`…/invitations/<token>`).
pub fn token_in(given: &str) -> String {
    let given = given.trim();
    let tail = match given.split_once("start=") {
        Some((_, t)) => t,
        None => given.rsplit('/').next().unwrap_or(given),
    };
    tail.split(['&', '?', '#', ' '])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Choice, ShowIf};

    fn q(key: &str, kind: &str, required: bool) -> Question {
        Question {
            key: key.into(),
            text: key.into(),
            kind: kind.into(),
            required,
            reverse: false,
            options: vec![
                Choice {
                    value: "a".into(),
                    label: "甲".into(),
                },
                Choice {
                    value: "b".into(),
                    label: "乙".into(),
                },
            ],
            max_length: Some(5),
            show_if: None,
        }
    }

    fn next(p: Press) -> SurveyRun {
        match p {
            Press::Next(r) | Press::Show(r) | Press::Redraw(r) => r,
            Press::Stay(_, why) => panic!("stayed: {why}"),
            Press::Stale(_) => panic!("a stale button"),
        }
    }

    /// A press of the current question's button `verb` with `arg`.
    fn press(run: SurveyRun, verb: &str, arg: &str) -> Press {
        let data = super::data(&run, verb, arg);
        let (verb, arg) = data.split_once(':').expect("verb");
        super::press(run.clone(), verb, arg)
    }

    #[test]
    fn a_button_of_another_question_or_survey_is_stale() {
        let questions = vec![q("a", "likert5", true), q("b", "likert5", true)];
        let run = SurveyRun::start("feedbeef00112233".into(), questions.clone(), 0).expect("start");
        let first = super::data(&run, "ans", 4);
        let run = next(press(run, "ans", "1")).advance().expect("b");
        // Question 1's button, pressed now that question 2 is asked: refused.
        let (verb, arg) = first.split_once(':').expect("verb");
        assert!(matches!(
            super::press(run.clone(), verb, arg),
            Press::Stale(_)
        ));
        assert_eq!(run.answers["a"], 4, "the answer to question 1 is kept");
        assert!(!run.answers.contains_key("b"));
        // A button of another survey at the same question number: refused too.
        let other = SurveyRun::start("0000aaaa99998888".into(), questions, 0)
            .expect("start")
            .advance();
        let other = other.map_or_else(
            || super::data(&run, "ans", 0).replacen("feedbeef", "0000aaaa", 1),
            |o| super::data(&o, "ans", 0),
        );
        let (verb, arg) = other.split_once(':').expect("verb");
        assert!(matches!(
            super::press(run.clone(), verb, arg),
            Press::Stale(_)
        ));
        // The bare old form (`ans:4`) is refused as well.
        assert!(matches!(super::press(run, "ans", "4"), Press::Stale(_)));
    }

    #[test]
    fn show_if_hides_and_back_revisits() {
        let mut reason = q("reason", "multi_choice", true);
        reason.show_if = Some(ShowIf {
            question: "overall".into(),
            values: vec!["1".into(), "2".into()],
        });
        let questions = vec![
            q("overall", "likert5", true),
            reason,
            q("note", "text", false),
        ];
        let run = SurveyRun::start("t".into(), questions, 0).expect("a question");
        // 满意 (4): the reason is not asked.
        let run = next(press(run, "ans", "1"));
        let run = run.advance().expect("note");
        assert_eq!(run.questions[run.at].key, "note");
        // Back, then 不满意 (2): the reason is asked and needs a choice.
        let run = next(press(run, "back", ""));
        assert_eq!(run.at, 0);
        let run = next(press(run, "ans", "3")).advance().expect("reason");
        assert_eq!(run.questions[run.at].key, "reason");
        let Press::Stay(run, _) = press(run, "done", "") else {
            panic!("a required multi-choice needs a tick");
        };
        let run = next(press(run, "tick", "1"));
        let run = next(press(run, "done", "")).advance().expect("note");
        assert!(answer_text(run.clone(), "太长的回答文本").is_err());
        let run = answer_text(run, "好").expect("short text");
        assert!(run.advance().is_none(), "the last question");
        let sheet = finished(&run);
        assert_eq!(sheet["overall"], 2);
        assert_eq!(sheet["reason"], serde_json::json!(["b"]));
        assert_eq!(sheet["note"], "好");
    }

    #[test]
    fn an_answer_changed_after_back_drops_what_it_hides() {
        let mut reason = q("reason", "single_choice", true);
        reason.show_if = Some(ShowIf {
            question: "overall".into(),
            values: vec!["1".into()],
        });
        let run = SurveyRun::start("t".into(), vec![q("overall", "likert5", true), reason], 0)
            .expect("start");
        let run = next(press(run, "ans", "4")).advance().expect("reason");
        let run = next(press(run, "ans", "0"));
        let run = next(press(run, "back", ""));
        let run = next(press(run, "ans", "0"));
        assert!(run.advance().is_none());
        let sheet = finished(&run);
        assert_eq!(sheet.len(), 1, "{sheet:?}");
        assert_eq!(sheet["overall"], 5);
    }

    #[test]
    fn tokens_are_found_in_links() {
        let t = "0123456789abcdef0123456789abcdef";
        assert_eq!(token_in(t), t);
        assert_eq!(token_in(&format!("https://t.me/pingjia_bot?start={t}")), t);
        assert_eq!(
            token_in(&format!(
                "http://127.0.0.1:8080/api/v1/public/invitations/{t}"
            )),
            t
        );
    }
}
