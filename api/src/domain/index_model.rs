//! Index models (考核评价指标体系): a tree root → groups → indicators. Each indicator
//! names its source, direction and normalisation to 0–100; each inner node says how
//! its children are weighted (by hand, AHP, or entropy from the period's data); rules
//! deduct points. Models are configuration: nothing here assumes their numbers.

use serde::{Deserialize, Serialize};

/// A node of the tree: a group with children, or an indicator (a leaf).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique in the model; ASCII.
    pub key: String,
    /// Chinese name shown in breakdowns.
    pub name: String,
    /// The node's weight under a parent weighted by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// How the children are weighted (default by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Weighting>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
    /// Present exactly on leaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<Indicator>,
}

/// How a node's children are weighted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Weighting {
    /// Each child's `weight`; they must sum to 1.
    Manual,
    /// A pairwise comparison matrix over the children (Saaty 1–9); CR must be < 0.1.
    Ahp { matrix: Vec<Vec<f64>> },
    /// Entropy weights from the period's data (children must be indicators).
    Entropy,
}

/// What an indicator measures and how it becomes 0–100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub source: Source,
    /// benefit (more is better) or cost (less is better).
    pub direction: Direction,
    pub normalisation: Normalisation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Benefit,
    Cost,
}

/// Where an indicator's raw value comes from, per agency and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// The weighted mean (1–5) of a survey dimension (or `overall_index`, every scored
    /// item) over the responses of the period to a questionnaire (by key).
    Survey {
        questionnaire: String,
        dimension: String,
    },
    /// A ticket metric: complaints_per_100_cases, substantiated_share, on_time_rate,
    /// satisfaction_rate (shares 0–1).
    Tickets { metric: String },
    /// Case-file reviews of the period's year: mean_score (0–100), pass_rate or
    /// excellent_rate (0–1).
    FileReview { metric: String },
    /// Three-systems scores (0–100): publicity, recording, legal_review or mean.
    ThreeSystems { metric: String },
    /// Training of the period's year: completion_rate or pass_rate (0–1).
    Training { metric: String },
}

/// Ticket metrics a source may name.
pub const TICKET_METRICS: [&str; 4] = [
    "complaints_per_100_cases",
    "substantiated_share",
    "on_time_rate",
    "satisfaction_rate",
];
pub const REVIEW_METRICS: [&str; 3] = ["mean_score", "pass_rate", "excellent_rate"];
pub const THREE_SYSTEMS_METRICS: [&str; 4] = ["publicity", "recording", "legal_review", "mean"];
pub const TRAINING_METRICS: [&str; 2] = ["completion_rate", "pass_rate"];

/// From a raw value to 0–100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Normalisation {
    /// A 1–5 mean: 100·(x − 1)/4.
    Likert,
    /// A share 0–1: 100·x.
    Rate,
    /// Already 0–100.
    Identity,
    /// Piecewise-linear: 0 at `floor`, 100 at `target`, clamped (for a cost indicator
    /// the floor lies above the target).
    Linear { floor: f64, target: f64 },
    /// Across the compared units: 100·(x − min)/(max − min), reversed for cost; all
    /// equal → 100.
    MinMax,
}

impl Normalisation {
    /// The 0–100 value of `x`, when it does not depend on other units, and the factor
    /// by which a standard error of `x` scales (the slope, 0 where clamped).
    pub fn apply(&self, x: f64) -> Option<(f64, f64)> {
        match *self {
            Normalisation::Likert => Some(((100.0 * (x - 1.0) / 4.0).clamp(0.0, 100.0), 25.0)),
            Normalisation::Rate => Some(((100.0 * x).clamp(0.0, 100.0), 100.0)),
            Normalisation::Identity => Some((x.clamp(0.0, 100.0), 1.0)),
            Normalisation::Linear { floor, target } => {
                let t = (x - floor) / (target - floor);
                let slope = 100.0 / (target - floor).abs();
                if t <= 0.0 {
                    Some((0.0, 0.0))
                } else if t >= 1.0 {
                    Some((100.0, 0.0))
                } else {
                    Some((100.0 * t, slope))
                }
            }
            Normalisation::MinMax => None,
        }
    }
}

/// "Deduct `deduct` points when indicator `indicator` (its 0–100 value) is below
/// `below`" — e.g. enterprise satisfaction under 85.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub indicator: String,
    pub below: f64,
    pub deduct: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a region's score combines its agencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Weighted by the agencies' cases decided in the period.
    CaseWeighted,
    Equal,
}

/// A whole model definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub root: Node,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default = "default_aggregation")]
    pub aggregation: Aggregation,
    /// Survey indicators with fewer responses are flagged `insufficient_sample`.
    #[serde(default = "default_min_n")]
    pub min_n: u64,
    /// Leave out responses flagged straight-lining or too fast (default true).
    #[serde(default = "default_exclude_flagged")]
    pub exclude_flagged: bool,
}

fn default_exclude_flagged() -> bool {
    true
}

fn default_aggregation() -> Aggregation {
    Aggregation::CaseWeighted
}

fn default_min_n() -> u64 {
    30
}

/// One problem with a definition: where (`root.children[1].weights`) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: String,
    pub reason: String,
}

/// The weights of a node's children as resolved from the definition (`None` for
/// entropy, resolved per period).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub weights: Option<Vec<f64>>,
    /// For AHP: the consistency ratio.
    pub cr: Option<f64>,
}

impl Definition {
    /// Checks the tree and resolves the fixed weights, node by node in depth-first
    /// order (keyed by node key). Every problem is reported.
    pub fn check(
        &self,
        ri: &[f64],
    ) -> Result<std::collections::HashMap<String, Resolved>, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut resolved = std::collections::HashMap::new();
        let mut keys = std::collections::HashSet::new();
        check_node(
            &self.root,
            "root",
            ri,
            &mut keys,
            &mut resolved,
            &mut problems,
        );
        for (i, rule) in self.rules.iter().enumerate() {
            let path = format!("rules[{i}]");
            if !self.leaves().iter().any(|l| l.key == rule.indicator) {
                problems.push(Problem {
                    path: format!("{path}.indicator"),
                    reason: format!("no indicator {:?} in the model", rule.indicator),
                });
            }
            if !(0.0..=100.0).contains(&rule.below) {
                problems.push(Problem {
                    path: format!("{path}.below"),
                    reason: "must be 0–100 (the indicator's normalised value)".into(),
                });
            }
            if !(rule.deduct > 0.0 && rule.deduct <= 100.0) {
                problems.push(Problem {
                    path: format!("{path}.deduct"),
                    reason: "must be more than 0 and at most 100 points".into(),
                });
            }
        }
        if self.min_n == 0 {
            problems.push(Problem {
                path: "min_n".into(),
                reason: "must be at least 1".into(),
            });
        }
        if problems.is_empty() {
            Ok(resolved)
        } else {
            Err(problems)
        }
    }

    /// The indicators, depth-first.
    pub fn leaves(&self) -> Vec<&Node> {
        fn walk<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
            if n.indicator.is_some() {
                out.push(n);
            }
            for c in &n.children {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

fn check_node(
    node: &Node,
    path: &str,
    ri: &[f64],
    keys: &mut std::collections::HashSet<String>,
    resolved: &mut std::collections::HashMap<String, Resolved>,
    problems: &mut Vec<Problem>,
) {
    let mut problem = |at: &str, reason: String| {
        problems.push(Problem {
            path: if at.is_empty() {
                path.to_owned()
            } else {
                format!("{path}.{at}")
            },
            reason,
        })
    };
    let key_ok = !node.key.is_empty()
        && node.key.len() <= 48
        && node
            .key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        problem("key", "1–48 characters: a–z, 0–9 and _".into());
    } else if !keys.insert(node.key.clone()) {
        problem("key", format!("{:?} is used twice", node.key));
    }
    if node.name.trim().is_empty() || node.name.chars().count() > 100 {
        problem("name", "must be 1–100 characters".into());
    }
    match (&node.indicator, node.children.is_empty()) {
        (Some(_), false) => problem("", "an indicator has no children".into()),
        (None, true) => problem(
            "children",
            "a group needs children (or make it an indicator)".into(),
        ),
        _ => {}
    }
    if let Some(ind) = &node.indicator {
        check_indicator(ind, &mut problem);
        if node.weights.is_some() {
            problem("weights", "an indicator weighs no children".into());
        }
        return;
    }
    let n = node.children.len();
    let weighting = node.weights.clone().unwrap_or(Weighting::Manual);
    let entry = match weighting {
        Weighting::Manual => {
            let given: Vec<Option<f64>> = node.children.iter().map(|c| c.weight).collect();
            if given
                .iter()
                .any(|w| w.is_none_or(|w| !(w.is_finite() && w >= 0.0)))
            {
                problem(
                    "children",
                    "weighting by hand: every child needs a weight ≥ 0".into(),
                );
                None
            } else {
                let w: Vec<f64> = given.into_iter().flatten().collect();
                let sum: f64 = w.iter().sum();
                if (sum - 1.0).abs() > 1e-6 {
                    problem(
                        "children",
                        format!("the children's weights sum to {sum}, not 1"),
                    );
                    None
                } else {
                    Some(Resolved {
                        weights: Some(w),
                        cr: None,
                    })
                }
            }
        }
        Weighting::Ahp { matrix } => {
            if matrix.len() != n || matrix.iter().any(|r| r.len() != n) {
                problem(
                    "weights.matrix",
                    format!("must be {n}×{n}, one row and column per child"),
                );
                None
            } else {
                match pingjia_scoring::weights::ahp(&matrix, ri) {
                    Err(e) => {
                        problem("weights.matrix", e.to_string());
                        None
                    }
                    Ok(a) if !a.is_consistent() => {
                        problem(
                            "weights.matrix",
                            format!(
                                "inconsistent comparisons: CR = {:.4} (must be below 0.1)",
                                a.cr
                            ),
                        );
                        None
                    }
                    Ok(a) => Some(Resolved {
                        weights: Some(a.weights),
                        cr: Some(a.cr),
                    }),
                }
            }
        }
        Weighting::Entropy => {
            if node.children.iter().any(|c| c.indicator.is_none()) {
                problem(
                    "weights",
                    "entropy weights need every child to be an indicator".into(),
                );
                None
            } else {
                Some(Resolved {
                    weights: None,
                    cr: None,
                })
            }
        }
    };
    if let Some(r) = entry {
        resolved.insert(node.key.clone(), r);
    }
    for (i, c) in node.children.iter().enumerate() {
        check_node(
            c,
            &format!("{path}.children[{i}]"),
            ri,
            keys,
            resolved,
            problems,
        );
    }
}

fn check_indicator(ind: &Indicator, problem: &mut impl FnMut(&str, String)) {
    let metric_ok = |m: &str, list: &[&str]| list.contains(&m);
    match &ind.source {
        Source::Survey {
            questionnaire,
            dimension,
        } if questionnaire.trim().is_empty() || dimension.trim().is_empty() => problem(
            "indicator.source",
            "a survey source names its questionnaire key and dimension".into(),
        ),
        Source::Tickets { metric } if !metric_ok(metric, &TICKET_METRICS) => problem(
            "indicator.source.metric",
            format!("must be one of {}", TICKET_METRICS.join(", ")),
        ),
        Source::FileReview { metric } if !metric_ok(metric, &REVIEW_METRICS) => problem(
            "indicator.source.metric",
            format!("must be one of {}", REVIEW_METRICS.join(", ")),
        ),
        Source::ThreeSystems { metric } if !metric_ok(metric, &THREE_SYSTEMS_METRICS) => problem(
            "indicator.source.metric",
            format!("must be one of {}", THREE_SYSTEMS_METRICS.join(", ")),
        ),
        Source::Training { metric } if !metric_ok(metric, &TRAINING_METRICS) => problem(
            "indicator.source.metric",
            format!("must be one of {}", TRAINING_METRICS.join(", ")),
        ),
        _ => {}
    }
    if let Normalisation::Linear { floor, target } = ind.normalisation
        && (!(floor.is_finite() && target.is_finite()) || floor == target)
    {
        problem(
            "indicator.normalisation",
            "floor and target must be different numbers".into(),
        );
    }
}

/// The model shipped and created at first start (documented in the README): external
/// evaluation 50% (citizen satisfaction 40%, enterprise return visits 40%, complaints
/// 20%) and internal assessment 50% (case-file review 40%, three systems 30%,
/// training 30%); 5 points off when enterprise satisfaction is below 85.
pub const DEFAULT_MODEL: &str = include_str!("../../data/index/default_model.json");

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> Definition {
        serde_json::from_str(DEFAULT_MODEL).expect("the shipped model parses")
    }

    #[test]
    fn the_shipped_model_checks_and_sums_to_one() {
        let d = default();
        let resolved = d
            .check(&pingjia_scoring::weights::SAATY_RI)
            .expect("consistent");
        assert_eq!(resolved["total"].weights, Some(vec![0.5, 0.5]));
        assert_eq!(resolved["external"].weights, Some(vec![0.4, 0.4, 0.2]));
        assert_eq!(d.leaves().len(), 6);
    }

    #[test]
    fn problems_name_their_place() {
        let mut d = default();
        d.root.children[0].children[0].weight = Some(0.9);
        d.root.children[1].weights = Some(Weighting::Ahp {
            matrix: vec![
                vec![1.0, 9.0, 1.0 / 9.0],
                vec![1.0 / 9.0, 1.0, 9.0],
                vec![9.0, 1.0 / 9.0, 1.0],
            ],
        });
        d.rules[0].indicator = "nope".into();
        let problems = d
            .check(&pingjia_scoring::weights::SAATY_RI)
            .expect_err("bad model");
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "root.children[0].children",
                "root.children[1].weights.matrix",
                "rules[0].indicator"
            ]
        );
        assert!(
            problems[1].reason.contains("CR ="),
            "{}",
            problems[1].reason
        );
    }

    #[test]
    fn normalisations_map_to_0_100() {
        assert_eq!(Normalisation::Likert.apply(4.0), Some((75.0, 25.0)));
        assert_eq!(Normalisation::Rate.apply(0.42), Some((42.0, 100.0)));
        let cost = Normalisation::Linear {
            floor: 5.0,
            target: 0.0,
        };
        assert_eq!(cost.apply(1.0), Some((80.0, 20.0)));
        assert_eq!(cost.apply(7.0), Some((0.0, 0.0)));
        assert_eq!(cost.apply(0.0), Some((100.0, 0.0)));
        let benefit = Normalisation::Linear {
            floor: 60.0,
            target: 90.0,
        };
        assert_eq!(benefit.apply(75.0), Some((50.0, 100.0 / 30.0)));
        assert_eq!(Normalisation::MinMax.apply(1.0), None);
    }
}
