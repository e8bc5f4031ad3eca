//! The two built-in questionnaires, created at first start: the citizen
//! law-enforcement satisfaction survey (执法满意度调查) and the enterprise return visit
//! (行政执法案件企业回访). Dimensions follow DESIGN.md.

use super::questionnaire::{ChoiceOption, Question, QuestionType, ShowIf};

/// Key of the citizen satisfaction survey.
pub const CITIZEN_KEY: &str = "citizen_satisfaction";
/// Key of the enterprise return-visit questionnaire.
pub const ENTERPRISE_KEY: &str = "enterprise_return_visit";

fn scored(key: &str, text: &str, kind: QuestionType, dimension: &str, reverse: bool) -> Question {
    Question {
        key: key.into(),
        text: text.into(),
        kind,
        dimension: Some(dimension.into()),
        reverse,
        required: true,
        options: Vec::new(),
        max_length: None,
        show_if: None,
    }
}

fn follow_ups() -> Vec<Question> {
    vec![
        Question {
            key: "dissatisfied_reason".into(),
            text: "您不满意的主要原因是？（可多选）".into(),
            kind: QuestionType::MultiChoice,
            dimension: None,
            reverse: false,
            required: true,
            options: [
                ("attitude", "态度粗暴"),
                ("procedure", "程序不规范"),
                ("fairness", "处罚不公、选择性执法"),
                ("integrity", "吃拿卡要、乱收费"),
                ("burden", "检查过多、影响经营"),
                ("other", "其他"),
            ]
            .into_iter()
            .map(|(value, label)| ChoiceOption {
                value: value.into(),
                label: label.into(),
            })
            .collect(),
            max_length: None,
            show_if: Some(ShowIf {
                question: "overall".into(),
                values: vec!["1".into(), "2".into()],
            }),
        },
        Question {
            key: "suggestion".into(),
            text: "您对改进执法工作有什么意见和建议？".into(),
            kind: QuestionType::Text,
            dimension: None,
            reverse: false,
            required: false,
            options: Vec::new(),
            max_length: Some(1000),
            show_if: None,
        },
    ]
}

/// 执法满意度调查 (citizens).
pub fn citizen_questions() -> Vec<Question> {
    use QuestionType::{Likert5, YesNo};
    let mut q = vec![
        scored(
            "attitude",
            "执法人员在执法过程中是否文明礼貌，有无粗暴执法？",
            Likert5,
            "attitude",
            false,
        ),
        scored(
            "credentials",
            "执法人员是否主动出示执法证件？",
            YesNo,
            "credentials",
            false,
        ),
        scored(
            "rights",
            "执法人员是否告知您陈述、申辩的权利及救济途径？",
            YesNo,
            "rights",
            false,
        ),
        scored(
            "procedure",
            "执法程序是否规范（如按规定着装、现场录音录像）？",
            Likert5,
            "procedure",
            false,
        ),
        scored(
            "fairness",
            "执法是否公正，有无选择性执法，处罚是否过罚相当？",
            Likert5,
            "fairness",
            false,
        ),
        scored(
            "integrity",
            "执法人员有无吃拿卡要、乱收费、乱罚款等行为？",
            YesNo,
            "integrity",
            true,
        ),
        scored(
            "guidance",
            "执法人员是否进行普法宣传和行政指导？",
            Likert5,
            "guidance",
            false,
        ),
        scored(
            "overall",
            "您对本次执法的总体评价是？",
            Likert5,
            "overall",
            false,
        ),
    ];
    q.extend(follow_ups());
    q
}

/// 行政执法案件企业回访 (enterprises after a case).
pub fn enterprise_questions() -> Vec<Question> {
    use QuestionType::{Likert5, YesNo};
    let mut q = vec![
        scored(
            "attitude",
            "执法人员在检查或处罚过程中是否文明规范？",
            Likert5,
            "attitude",
            false,
        ),
        scored(
            "credentials",
            "执法人员是否主动出示执法证件？",
            YesNo,
            "credentials",
            false,
        ),
        scored(
            "rights",
            "是否告知企业陈述、申辩、听证等权利及救济途径？",
            YesNo,
            "rights",
            false,
        ),
        scored(
            "procedure",
            "执法程序是否规范、文书是否完整？",
            Likert5,
            "procedure",
            false,
        ),
        scored(
            "fairness",
            "处罚或处理是否公正，是否过罚相当？",
            Likert5,
            "fairness",
            false,
        ),
        scored(
            "integrity",
            "执法人员有无吃拿卡要、乱收费、乱罚款等行为？",
            YesNo,
            "integrity",
            true,
        ),
        scored(
            "burden",
            "检查频次是否合理，有无重复检查、干扰企业正常经营？",
            Likert5,
            "burden",
            false,
        ),
        scored(
            "guidance",
            "执法中是否进行政策宣传和合规指导？",
            Likert5,
            "guidance",
            false,
        ),
        scored(
            "overall",
            "您对本次执法的总体评价是？",
            Likert5,
            "overall",
            false,
        ),
    ];
    q.extend(follow_ups());
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::validate_definition;

    #[test]
    fn built_in_questionnaires_are_valid() {
        validate_definition(&citizen_questions()).unwrap();
        validate_definition(&enterprise_questions()).unwrap();
        assert!(
            enterprise_questions()
                .iter()
                .any(|q| q.dimension.as_deref() == Some("burden"))
        );
    }
}
