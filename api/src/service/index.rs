//! 考核评价指标体系: index models (immutable numbered versions) and the computation of
//! the index per agency and period — each indicator's raw value (with n and standard
//! error where it is statistical), its 0–100 value, the weights resolved for the
//! period (by hand, AHP, or entropy over the compared agencies), the composite with
//! its variance Σ W²·Var and renormalisation over missing indicators, the deductions
//! of the model's rules, flags and the competition rank.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Utc};
use pingjia_scoring::composite::{Component, composite};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder,
};

use super::survey_stats::Sums;
use super::{Actor, Scope, ServiceError, audit, questionnaires, regions, ticket_metrics};
use crate::domain::Role;
use crate::domain::calendar::end_of_shanghai_day;
use crate::domain::index_model::{
    DEFAULT_MODEL, Definition, Direction, Node, Normalisation, Resolved, Source, Weighting,
};
use crate::domain::period::Period;
use crate::domain::questionnaire::validate_answers;
use crate::store::{
    agency, campaign, case, file_review, index_model, questionnaire, questionnaire_version,
    response, survey_stat, three_systems,
};

/// The key of the shipped model.
pub const DEFAULT_KEY: &str = "default";

fn ri() -> &'static [f64] {
    &pingjia_scoring::weights::SAATY_RI
}

fn parse(definition: &serde_json::Value) -> Result<Definition, ServiceError> {
    serde_json::from_value(definition.clone())
        .map_err(|e| ServiceError::invalid("definition", e.to_string()))
}

/// Checks a definition: every problem as a field error named by its path.
pub fn check(definition: &Definition) -> Result<HashMap<String, Resolved>, ServiceError> {
    definition.check(ri()).map_err(|problems| {
        ServiceError::Validation(
            problems
                .into_iter()
                .map(|p| super::FieldError::new(format!("definition.{}", p.path), p.reason))
                .collect(),
        )
    })
}

/// Creates the shipped model (version 1 of `default`) unless it exists.
pub async fn ensure_default(db: &DatabaseConnection) -> Result<(), ServiceError> {
    let exists = index_model::Entity::find()
        .filter(index_model::Column::Key.eq(DEFAULT_KEY))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    let definition: serde_json::Value = serde_json::from_str(DEFAULT_MODEL)
        .map_err(|e| anyhow::anyhow!("the shipped model is not JSON: {e}"))?;
    check(&parse(&definition)?)?;
    let inserted = index_model::Entity::insert(index_model::ActiveModel {
        key: Set(DEFAULT_KEY.to_owned()),
        version: Set(1),
        name: Set("默认考核评价指标体系".to_owned()),
        definition: Set(definition),
        created_by: Set("pingjia".to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([index_model::Column::Key, index_model::Column::Version])
    .exec_without_returning(db)
    .await?;
    let _ = inserted;
    Ok(())
}

/// Adds a version of a model (admin, bureau): the next number of `key`, after the
/// definition checks (weights summing to 1, AHP consistency, sources, rules).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    key: &str,
    name: &str,
    definition: serde_json::Value,
) -> Result<index_model::Model, ServiceError> {
    if !actor.is(&[Role::Admin]) {
        return Err(ServiceError::forbidden(
            "only admin keys define index models: a model is the whole deployment's",
        ));
    }
    let mut v = super::error::Validator::new();
    let key_ok = (1..=48).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        v.add("key", "1–48 characters: a–z, 0–9 and _");
    }
    let name = v.text("name", name, 1, 100);
    v.finish()?;
    check(&parse(&definition)?)?;
    // Two admins adding a version at once on PostgreSQL both read the same last
    // version; the unique (key, version) lets one insert win, and the other tries
    // again with the next number. (SQLite's write transaction serialises them.)
    let mut attempts = 0;
    loop {
        attempts += 1;
        match add_version(db, actor, key, &name, &definition).await? {
            Ok(model) => return Ok(model),
            Err(e) if attempts < 64 => {
                tracing::debug!(error = %e, attempts, "index model version taken; retrying");
            }
            Err(e) => {
                return Err(ServiceError::from_unique(
                    e,
                    "a version was added concurrently; retry",
                ));
            }
        }
    }
}

/// Stores the next version of `key` with its audit entry; `Ok(Err(_))` when another
/// transaction took that version number first.
async fn add_version(
    db: &DatabaseConnection,
    actor: &Actor,
    key: &str,
    name: &str,
    definition: &serde_json::Value,
) -> Result<Result<index_model::Model, sea_orm::DbErr>, ServiceError> {
    let txn = crate::db::begin_write(db).await?;
    let last = index_model::Entity::find()
        .filter(index_model::Column::Key.eq(key))
        .order_by_desc(index_model::Column::Version)
        .one(&txn)
        .await?
        .map_or(0, |m| m.version);
    let inserted = index_model::ActiveModel {
        key: Set(key.to_owned()),
        version: Set(last + 1),
        name: Set(name.to_owned()),
        definition: Set(definition.clone()),
        created_by: Set(actor.label()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let model = match inserted {
        Ok(model) => model,
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            return Ok(Err(e));
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "index_model.create",
            entity: "index_model",
            entity_id: model.id.to_string(),
            region_path: None,
            details: Some(serde_json::json!({"key": model.key, "version": model.version})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Ok(model))
}

/// Refuses a key that does not read scores (channel, evaluator): the models are the
/// scores' definition, read by those who read the scores.
pub fn may_read_models(actor: &Actor) -> Result<(), ServiceError> {
    if actor.is(&[Role::Admin, Role::Bureau, Role::Agency]) {
        Ok(())
    } else {
        Err(ServiceError::forbidden(
            "index models are read by admin, bureau and agency keys",
        ))
    }
}

/// Every model version, by key and version.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<index_model::Model>, ServiceError> {
    Ok(index_model::Entity::find()
        .order_by_asc(index_model::Column::Key)
        .order_by_asc(index_model::Column::Version)
        .all(db)
        .await?)
}

/// A model by `key` (latest version) or `key@version`.
pub async fn find(db: &DatabaseConnection, spec: &str) -> Result<index_model::Model, ServiceError> {
    let (key, version) = match spec.split_once('@') {
        Some((k, v)) => (
            k,
            Some(
                v.parse::<i32>()
                    .map_err(|_| ServiceError::invalid("model", "use key or key@version"))?,
            ),
        ),
        None => (spec, None),
    };
    let mut select = index_model::Entity::find()
        .filter(index_model::Column::Key.eq(key))
        .order_by_desc(index_model::Column::Version);
    if let Some(v) = version {
        select = select.filter(index_model::Column::Version.eq(v));
    }
    select.one(db).await?.ok_or(ServiceError::NotFound {
        entity: "index model",
    })
}

// ── computation ───────────────────────────────────────────────────────────────────

/// A raw indicator value with its sampling information.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Raw {
    pub value: f64,
    /// Standard error, for statistical sources.
    pub se: Option<f64>,
    /// Respondents, cases or records behind it.
    pub n: Option<u64>,
}

/// One indicator of one agency.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorScore {
    pub key: String,
    pub name: String,
    pub raw: Option<Raw>,
    /// 0–100.
    pub value: Option<f64>,
    pub se: Option<f64>,
    /// The weight it carries in the composite, renormalised over present indicators.
    pub weight: f64,
    /// weight × value: its points in the composite.
    pub contribution: f64,
    pub flags: Vec<String>,
}

/// A group of the tree with its value over its indicators.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupScore {
    pub key: String,
    pub name: String,
    /// The weights of its children as used in the period.
    pub child_weights: Vec<(String, f64)>,
    pub value: Option<f64>,
}

/// One agency's index for a period.
#[derive(Debug, Clone, PartialEq)]
pub struct AgencyScore {
    pub agency_id: i64,
    pub agency_name: String,
    pub region_code: String,
    pub domain: String,
    /// After deductions, 0–100.
    pub score: Option<f64>,
    pub composite: Option<f64>,
    pub se: Option<f64>,
    pub ci: Option<(f64, f64)>,
    /// (rule note, points) applied.
    pub deductions: Vec<(String, f64)>,
    pub rank: Option<u32>,
    /// Among how many ranked agencies.
    pub ranked: usize,
    /// The score of the previous period (same kind) and the change since.
    pub previous: Option<f64>,
    pub change: Option<f64>,
    /// Two-sided p-value of the change (z on both standard errors).
    pub change_p: Option<f64>,
    /// Whether the change holds after Benjamini–Hochberg across the agencies (5%).
    pub change_significant: Option<bool>,
    /// Shrunk toward the mean of the compared agencies (empirical Bayes): what a small
    /// agency's noisy score is best read as.
    pub eb_score: Option<f64>,
    pub flags: Vec<String>,
    /// Indicators without data (their weight went to the others).
    pub missing: Vec<String>,
    pub groups: Vec<GroupScore>,
    pub indicators: Vec<IndicatorScore>,
}

/// The index of a model for a period.
#[derive(Debug, Clone)]
pub struct Computed {
    pub model: index_model::Model,
    pub period: Period,
    pub aggregation: crate::domain::index_model::Aggregation,
    pub agencies: Vec<AgencyScore>,
}

/// Filters of a computation.
#[derive(Debug, Clone, Default)]
pub struct ScoreQuery {
    /// `key` or `key@version`; default `default`.
    pub model: Option<String>,
    pub period: String,
    /// Compare only agencies of this domain.
    pub domain: Option<String>,
    /// Only agencies in this region's subtree (within the key's scope).
    pub region: Option<String>,
    /// Compare only agencies seated at this level (city-level agencies with each
    /// other, county-level ones with each other).
    pub level: Option<crate::domain::RegionLevel>,
    /// Recompute survey indicators from the stored responses instead of the kept
    /// statistics (the benchmark's baseline; the API never sets it).
    pub recompute_surveys: bool,
    /// Fewest respondents of a survey figure an agency key may see (its own answers
    /// are anonymous to it); `None`: [`DEFAULT_ANONYMITY_MIN_N`].
    pub anonymity_min_n: Option<u64>,
}

/// Fewest respondents behind a survey figure shown to the inspected agency.
pub const DEFAULT_ANONYMITY_MIN_N: u64 = 5;

/// Hides from an agency key every figure that would show the answers of fewer than
/// `k` respondents: the small survey indicators' values, and the composite, score,
/// groups and deductions they enter (the breakdown would give them back); the
/// previous period's score likewise when its survey sample was small. Flagged
/// `suppressed_small_sample`.
fn suppress_small_samples(
    s: &mut AgencyScore,
    before: &AgencyScore,
    survey: &HashSet<String>,
    k: u64,
) {
    let small = |i: &IndicatorScore| {
        survey.contains(&i.key) && i.raw.is_some_and(|r| r.n.is_some_and(|n| n < k))
    };
    let mut hidden = false;
    for i in s.indicators.iter_mut().filter(|i| small(i)) {
        i.raw = None;
        i.value = None;
        i.se = None;
        i.contribution = 0.0;
        i.flags.push("suppressed_small_sample".to_owned());
        hidden = true;
    }
    if hidden {
        s.score = None;
        s.composite = None;
        s.se = None;
        s.ci = None;
        s.eb_score = None;
        s.deductions.clear();
        s.groups.iter_mut().for_each(|g| g.value = None);
        s.flags.push("suppressed_small_sample".to_owned());
    }
    if hidden || before.indicators.iter().any(small) {
        s.previous = None;
        s.change = None;
        s.change_p = None;
        s.change_significant = None;
    }
}

/// The agencies compared: the key's region (all for admin and agency keys), narrowed
/// by `region`, `level` and `domain`.
async fn compared(
    db: &DatabaseConnection,
    actor: &Actor,
    q: &ScoreQuery,
) -> Result<Vec<agency::Model>, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Agency]) {
        return Err(ServiceError::forbidden(
            "only admin, bureau and agency keys read scores",
        ));
    }
    let mut select = agency::Entity::find()
        .filter(agency::Column::Active.eq(true))
        .order_by_asc(agency::Column::Id);
    if let Scope::Region { path, .. } = &actor.scope {
        select = select.filter(agency::Column::RegionCode.in_subquery(regions::codes_under(path)));
    }
    if let Some(code) = &q.region {
        let path = regions::path_of(db, "region", code).await?;
        if !actor.covers_path(&path) && !matches!(actor.scope, Scope::Agency { .. }) {
            // A read: a region outside the key's scope is not revealed.
            return Err(ServiceError::NotFound { entity: "region" });
        }
        select = select.filter(agency::Column::RegionCode.in_subquery(regions::codes_under(&path)));
    }
    if let Some(level) = q.level {
        select = select.filter(
            agency::Column::RegionCode.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(crate::store::region::Column::Code)
                    .from(crate::store::region::Entity)
                    .and_where(crate::store::region::Column::Level.eq(level))
                    .to_owned(),
            ),
        );
    }
    let mut all = select.all(db).await?;
    if let Some(d) = &q.domain {
        all.retain(|a| a.domain.to_value() == *d);
    }
    Ok(all)
}

/// Computes the index for every compared agency, with the change from the previous
/// period (z-test on the two composites' standard errors, Benjamini–Hochberg across
/// the agencies at 5%), the empirical-Bayes-shrunk score and the rank. Agency keys get
/// only their own entry (with its rank among all).
pub async fn compute(
    db: &DatabaseConnection,
    actor: &Actor,
    q: ScoreQuery,
) -> Result<Computed, ServiceError> {
    let period =
        Period::parse(&q.period).map_err(|e| ServiceError::invalid("period", e.to_string()))?;
    let model = find(db, q.model.as_deref().unwrap_or(DEFAULT_KEY)).await?;
    let definition = parse(&model.definition)?;
    let resolved = check(&definition)?;
    let agencies = compared(db, actor, &q).await?;
    let how = Surveys(q.recompute_surveys);
    let mut scores = score_period(db, &agencies, &definition, &resolved, period, how).await?;
    let previous = score_period(
        db,
        &agencies,
        &definition,
        &resolved,
        period.previous(),
        how,
    )
    .await?;
    let tests: Vec<Option<pingjia_scoring::compare::TestResult>> = scores
        .iter()
        .zip(&previous)
        .map(|(now, before)| {
            let (a, sa) = (now.score?, now.se?);
            let (b, sb) = (before.score?, before.se?);
            pingjia_scoring::compare::z_difference(a, sa, b, sb)
        })
        .collect();
    let p_values: Vec<f64> = tests.iter().flatten().map(|t| t.p_value).collect();
    let (_, rejected) = pingjia_scoring::compare::benjamini_hochberg(&p_values, 0.05)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    let mut decisions = rejected.into_iter();
    let shrunk = pingjia_scoring::shrink::eb_shrink(
        &scores.iter().map(|s| s.score.zip(s.se)).collect::<Vec<_>>(),
        &vec![1.0; scores.len()],
    );
    for (i, s) in scores.iter_mut().enumerate() {
        s.previous = previous[i].score;
        s.change = s.score.zip(previous[i].score).map(|(a, b)| a - b);
        if let Some(t) = tests[i] {
            s.change_p = Some(t.p_value);
            s.change_significant = decisions.next();
        }
        s.eb_score = shrunk[i];
    }
    let ranks = pingjia_scoring::rank::competition_rank_desc(
        &scores.iter().map(|s| s.score).collect::<Vec<_>>(),
    );
    let ranked = ranks.iter().filter(|r| r.is_some()).count();
    for (s, r) in scores.iter_mut().zip(ranks) {
        s.rank = r;
        s.ranked = ranked;
    }
    if let Scope::Agency { id, .. } = actor.scope {
        let survey: HashSet<String> = definition
            .leaves()
            .iter()
            .filter(|l| {
                matches!(
                    l.indicator.as_ref().map(|i| &i.source),
                    Some(Source::Survey { .. })
                )
            })
            .map(|l| l.key.clone())
            .collect();
        let k = q.anonymity_min_n.unwrap_or(DEFAULT_ANONYMITY_MIN_N);
        for (s, before) in scores.iter_mut().zip(&previous) {
            if s.agency_id == id {
                suppress_small_samples(s, before, &survey, k);
            }
        }
        scores.retain(|s| s.agency_id == id);
    }
    Ok(Computed {
        model,
        period,
        aggregation: definition.aggregation,
        agencies: scores,
    })
}

/// Whether survey indicators are recomputed from responses (true) or read from the
/// kept statistics.
#[derive(Debug, Clone, Copy)]
struct Surveys(bool);

/// The index of every agency for one period, unranked.
async fn score_period(
    db: &DatabaseConnection,
    agencies: &[agency::Model],
    definition: &Definition,
    resolved: &HashMap<String, Resolved>,
    period: Period,
    how: Surveys,
) -> Result<Vec<AgencyScore>, ServiceError> {
    let leaves = definition.leaves();
    let mut raws: Vec<HashMap<i64, Raw>> = Vec::with_capacity(leaves.len());
    for leaf in &leaves {
        let Some(ind) = &leaf.indicator else { continue };
        raws.push(
            raw_values(
                db,
                agencies,
                period,
                &ind.source,
                definition.exclude_flagged,
                how,
            )
            .await?,
        );
    }
    // A value that is not finite (stored statistics that overflowed, say) is no data
    // for that agency and indicator: it is set aside and flagged, so one bad cell
    // neither fails the index for everyone nor skews the others' normalisation.
    let mut invalid: HashSet<(i64, usize)> = HashSet::new();
    for (i, raw) in raws.iter_mut().enumerate() {
        raw.retain(|agency, r| {
            let ok = r.value.is_finite() && r.se.is_none_or(|se| se.is_finite() && se >= 0.0);
            if !ok {
                invalid.insert((*agency, i));
            }
            ok
        });
    }
    let normalised: Vec<HashMap<i64, (f64, Option<f64>)>> = leaves
        .iter()
        .zip(&raws)
        .enumerate()
        .map(|(i, (leaf, raw))| {
            let mut values = normalise(leaf, raw);
            values.retain(|agency, (v, se)| {
                let ok = v.is_finite() && se.is_none_or(|se| se.is_finite() && se >= 0.0);
                if !ok {
                    invalid.insert((*agency, i));
                }
                ok
            });
            values
        })
        .collect();
    // Weights of each group's children for this period (entropy from the data).
    let mut child_weights: HashMap<String, (Vec<f64>, bool)> = HashMap::new();
    resolve_weights(
        &definition.root,
        resolved,
        &leaves,
        &raws,
        agencies,
        &mut child_weights,
    );
    let effective = effective_weights(&definition.root, &child_weights, 1.0);
    let z = pingjia_scoring::dist::normal_quantile(0.975);
    let mut scores = Vec::with_capacity(agencies.len());
    for a in agencies {
        let components: Vec<Component> = leaves
            .iter()
            .enumerate()
            .map(|(i, leaf)| {
                let v = normalised[i].get(&a.id);
                Component {
                    weight: effective.get(&leaf.key).copied().unwrap_or(0.0),
                    score: v.map(|v| v.0),
                    variance: v.and_then(|v| v.1).map(|se| se * se),
                }
            })
            .collect();
        let combined =
            composite(&components).map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        let mut flags = Vec::new();
        let mut indicators = Vec::with_capacity(leaves.len());
        for (i, leaf) in leaves.iter().enumerate() {
            let raw = raws[i].get(&a.id).copied();
            let value = normalised[i].get(&a.id).map(|v| v.0);
            let weight = combined.as_ref().map_or(0.0, |c| c.weights_used[i]);
            let mut iflags = Vec::new();
            if let (Some(Source::Survey { .. }), Some(r)) =
                (leaf.indicator.as_ref().map(|i| &i.source), raw)
                && r.n.is_some_and(|n| n < definition.min_n)
            {
                iflags.push("insufficient_sample".to_owned());
                flags.push(format!("insufficient_sample:{}", leaf.key));
            }
            if invalid.contains(&(a.id, i)) {
                iflags.push("invalid_data".to_owned());
                flags.push(format!("invalid_data:{}", leaf.key));
            }
            if value.is_none() {
                iflags.push("missing".to_owned());
            }
            indicators.push(IndicatorScore {
                key: leaf.key.clone(),
                name: leaf.name.clone(),
                raw,
                value,
                se: normalised[i].get(&a.id).and_then(|v| v.1),
                weight,
                contribution: weight * value.unwrap_or(0.0),
                flags: iflags,
            });
        }
        let missing: Vec<String> = indicators
            .iter()
            .filter(|i| i.value.is_none())
            .map(|i| i.key.clone())
            .collect();
        if !missing.is_empty() {
            flags.push("missing_indicators".to_owned());
        }
        for (key, (_, fallback)) in &child_weights {
            if *fallback {
                flags.push(format!("entropy_fallback_equal:{key}"));
            }
        }
        let deductions: Vec<(String, f64)> = definition
            .rules
            .iter()
            .filter_map(|rule| {
                let v = indicators.iter().find(|i| i.key == rule.indicator)?.value?;
                (v < rule.below).then(|| {
                    (
                        rule.note.clone().unwrap_or_else(|| {
                            format!(
                                "{} 低于 {}，扣 {} 分",
                                rule.indicator, rule.below, rule.deduct
                            )
                        }),
                        rule.deduct,
                    )
                })
            })
            .collect();
        let composite_score = combined.as_ref().map(|c| c.score);
        let score =
            composite_score.map(|s| (s - deductions.iter().map(|d| d.1).sum::<f64>()).max(0.0));
        let se = combined.as_ref().map(|c| c.se);
        let groups = group_scores(&definition.root, &child_weights, &leaves, &indicators);
        scores.push(AgencyScore {
            agency_id: a.id,
            agency_name: a.name.clone(),
            region_code: a.region_code.clone(),
            domain: a.domain.to_value(),
            ci: score
                .zip(se)
                .map(|(s, se)| ((s - z * se).max(0.0), (s + z * se).min(100.0))),
            score,
            composite: composite_score,
            se,
            deductions,
            rank: None,
            ranked: 0,
            previous: None,
            change: None,
            change_p: None,
            change_significant: None,
            eb_score: None,
            flags,
            missing,
            groups,
            indicators,
        });
    }
    Ok(scores)
}

/// Each agency's 0–100 value (and its standard error) of an indicator.
fn normalise(leaf: &Node, raw: &HashMap<i64, Raw>) -> HashMap<i64, (f64, Option<f64>)> {
    let Some(ind) = &leaf.indicator else {
        return HashMap::new();
    };
    match ind.normalisation {
        Normalisation::MinMax => {
            let min = raw.values().map(|r| r.value).fold(f64::INFINITY, f64::min);
            let max = raw
                .values()
                .map(|r| r.value)
                .fold(f64::NEG_INFINITY, f64::max);
            raw.iter()
                .map(|(id, r)| {
                    let range = max - min;
                    let t = if range > 0.0 {
                        (r.value - min) / range
                    } else {
                        1.0
                    };
                    let t = if ind.direction == Direction::Cost && range > 0.0 {
                        1.0 - t
                    } else {
                        t
                    };
                    let se = r.se.filter(|_| range > 0.0).map(|se| 100.0 * se / range);
                    (*id, (100.0 * t, se))
                })
                .collect()
        }
        ref n => raw
            .iter()
            .filter_map(|(id, r)| {
                let (v, slope) = n.apply(r.value)?;
                Some((*id, (v, r.se.map(|se| se * slope))))
            })
            .collect(),
    }
}

/// The weights of every group's children for the period; entropy groups use the raw
/// values of agencies with every child present, falling back to equal weights (marked
/// `true`) when fewer than two agencies qualify.
fn resolve_weights(
    node: &Node,
    resolved: &HashMap<String, Resolved>,
    leaves: &[&Node],
    raws: &[HashMap<i64, Raw>],
    agencies: &[agency::Model],
    out: &mut HashMap<String, (Vec<f64>, bool)>,
) {
    if node.children.is_empty() {
        return;
    }
    let n = node.children.len();
    let weights = match (
        &node.weights,
        resolved.get(&node.key).and_then(|r| r.weights.clone()),
    ) {
        (Some(Weighting::Entropy), _) => {
            let columns: Vec<usize> = node
                .children
                .iter()
                .filter_map(|c| leaves.iter().position(|l| l.key == c.key))
                .collect();
            let rows: Vec<Vec<f64>> = agencies
                .iter()
                .filter_map(|a| {
                    columns
                        .iter()
                        .map(|&j| raws[j].get(&a.id).map(|r| r.value))
                        .collect::<Option<Vec<f64>>>()
                })
                .collect();
            let directions: Vec<pingjia_scoring::weights::Direction> = node
                .children
                .iter()
                .map(|c| match c.indicator.as_ref().map(|i| i.direction) {
                    Some(Direction::Cost) => pingjia_scoring::weights::Direction::Cost,
                    _ => pingjia_scoring::weights::Direction::Benefit,
                })
                .collect();
            match pingjia_scoring::weights::entropy_weights(&rows, &directions) {
                Ok(e) if e.weights.iter().all(|w| w.is_finite()) => (e.weights, false),
                _ => (vec![1.0 / n as f64; n], true),
            }
        }
        (_, Some(w)) => (w, false),
        (_, None) => (vec![1.0 / n as f64; n], true),
    };
    out.insert(node.key.clone(), weights);
    for c in &node.children {
        resolve_weights(c, resolved, leaves, raws, agencies, out);
    }
}

/// Each indicator's weight in the whole model: the product of the weights on its path.
fn effective_weights(
    node: &Node,
    child_weights: &HashMap<String, (Vec<f64>, bool)>,
    factor: f64,
) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    if node.indicator.is_some() {
        out.insert(node.key.clone(), factor);
        return out;
    }
    if let Some((w, _)) = child_weights.get(&node.key) {
        for (c, wc) in node.children.iter().zip(w) {
            out.extend(effective_weights(c, child_weights, factor * wc));
        }
    }
    out
}

/// The value of every group over its present indicators (weights renormalised within
/// the group), depth-first.
fn group_scores(
    root: &Node,
    child_weights: &HashMap<String, (Vec<f64>, bool)>,
    leaves: &[&Node],
    indicators: &[IndicatorScore],
) -> Vec<GroupScore> {
    fn walk(
        node: &Node,
        child_weights: &HashMap<String, (Vec<f64>, bool)>,
        leaves: &[&Node],
        indicators: &[IndicatorScore],
        out: &mut Vec<GroupScore>,
    ) {
        if node.indicator.is_some() {
            return;
        }
        let within = effective_weights(node, child_weights, 1.0);
        let (mut sum, mut weight) = (0.0, 0.0);
        for (i, leaf) in leaves.iter().enumerate() {
            if let (Some(w), Some(v)) = (within.get(&leaf.key), indicators[i].value) {
                sum += w * v;
                weight += w;
            }
        }
        out.push(GroupScore {
            key: node.key.clone(),
            name: node.name.clone(),
            child_weights: node
                .children
                .iter()
                .zip(
                    child_weights
                        .get(&node.key)
                        .map(|w| w.0.clone())
                        .unwrap_or_default(),
                )
                .map(|(c, w)| (c.key.clone(), w))
                .collect(),
            value: (weight > 0.0).then(|| sum / weight),
        });
        for c in &node.children {
            walk(c, child_weights, leaves, indicators, out);
        }
    }
    let mut out = Vec::new();
    walk(root, child_weights, leaves, indicators, &mut out);
    out
}

/// The raw value of a source for each agency that has data in the period.
async fn raw_values(
    db: &DatabaseConnection,
    agencies: &[agency::Model],
    period: Period,
    source: &Source,
    exclude_flagged: bool,
    how: Surveys,
) -> Result<HashMap<i64, Raw>, ServiceError> {
    let ids: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    Ok(match source {
        Source::Survey {
            questionnaire: key,
            dimension,
        } if how.0 => {
            survey_means_recomputed(db, &ids, period, key, dimension, exclude_flagged).await?
        }
        Source::Survey {
            questionnaire: key,
            dimension,
        } => survey_means(db, &ids, period, key, dimension, exclude_flagged).await?,
        Source::Tickets { metric } => {
            ticket_metrics::for_agencies(db, agencies.to_vec(), period.start(), period.end(), 0.95)
                .await?
                .into_iter()
                .filter_map(|m| {
                    let pick = |est: Option<pingjia_scoring::proportion::Interval>, n: u64| {
                        est.map(|e| Raw {
                            value: e.estimate,
                            se: None,
                            n: Some(n),
                        })
                    };
                    let raw = match metric.as_str() {
                        "complaints_per_100_cases" => {
                            pick(m.complaints_per_100_cases, m.cases).map(|r| Raw {
                                // Poisson: Var(100·k/N) = 100²·k/N².
                                se: (m.cases > 0)
                                    .then(|| 100.0 * (m.complaints as f64).sqrt() / m.cases as f64),
                                ..r
                            })
                        }
                        "substantiated_share" => share(m.substantiated, m.verified),
                        "on_time_rate" => share(m.on_time, m.reply_settled),
                        _ => share(m.satisfied, m.rated),
                    };
                    raw.map(|r| (m.agency_id, r))
                })
                .collect()
        }
        Source::FileReview { metric } => {
            let reviews = file_review::Entity::find()
                .filter(file_review::Column::AgencyId.is_in(ids))
                .filter(file_review::Column::Year.eq(period.year()))
                .all(db)
                .await?;
            let mut by: BTreeMap<i64, Vec<&file_review::Model>> = BTreeMap::new();
            for r in &reviews {
                by.entry(r.agency_id).or_default().push(r);
            }
            by.into_iter()
                .filter_map(|(id, rs)| {
                    let n = rs.len() as u64;
                    let raw = match metric.as_str() {
                        "mean_score" => {
                            let mean = rs.iter().map(|r| r.score).sum::<f64>() / n as f64;
                            let var = if n > 1 {
                                rs.iter().map(|r| (r.score - mean).powi(2)).sum::<f64>()
                                    / (n - 1) as f64
                            } else {
                                0.0
                            };
                            Some(Raw {
                                value: mean,
                                se: (n > 1).then(|| (var / n as f64).sqrt()),
                                n: Some(n),
                            })
                        }
                        "pass_rate" => {
                            share(rs.iter().filter(|r| r.grade != "fail").count() as u64, n)
                        }
                        _ => share(
                            rs.iter().filter(|r| r.grade == "excellent").count() as u64,
                            n,
                        ),
                    };
                    raw.map(|r| (id, r))
                })
                .collect()
        }
        Source::ThreeSystems { metric } => {
            let wanted = [period.to_string(), period.year().to_string()];
            let rows = three_systems::Entity::find()
                .filter(three_systems::Column::AgencyId.is_in(ids))
                .filter(three_systems::Column::Period.is_in(wanted.clone()))
                .all(db)
                .await?;
            let mut out = HashMap::new();
            // The period's own record, else the year's.
            for p in wanted.iter().rev() {
                for r in rows.iter().filter(|r| &r.period == p) {
                    let value = match metric.as_str() {
                        "publicity" => r.publicity,
                        "recording" => r.recording,
                        "legal_review" => r.legal_review,
                        _ => (r.publicity + r.recording + r.legal_review) / 3.0,
                    };
                    out.insert(
                        r.agency_id,
                        Raw {
                            value,
                            se: None,
                            n: None,
                        },
                    );
                }
            }
            out
        }
        Source::Training { metric } => {
            super::internal::training_for(db, agencies.to_vec(), period.year())
                .await?
                .into_iter()
                .filter_map(|s| {
                    // An agency that reported no training at all has no value (not 0%).
                    let raw = if s.recorded == 0 {
                        None
                    } else if metric == "pass_rate" {
                        share(s.passed, s.examined)
                    } else {
                        share(s.completed, s.officers)
                    };
                    raw.map(|r| (s.agency_id, r))
                })
                .collect()
        }
    })
}

/// k of n as a share with its binomial standard error.
fn share(k: u64, n: u64) -> Option<Raw> {
    (n > 0).then(|| {
        let p = k as f64 / n as f64;
        Raw {
            value: p,
            se: Some((p * (1.0 - p) / n as f64).sqrt()),
            n: Some(n),
        }
    })
}

/// The campaigns that used any version of a questionnaire (by key).
async fn campaigns_of(
    db: &DatabaseConnection,
    questionnaire_key: &str,
) -> Result<Vec<campaign::Model>, ServiceError> {
    let Some(q) = questionnaire::Entity::find()
        .filter(questionnaire::Column::Key.eq(questionnaire_key))
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    let versions: Vec<i64> = questionnaire_version::Entity::find()
        .filter(questionnaire_version::Column::QuestionnaireId.eq(q.id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect();
    Ok(campaign::Entity::find()
        .filter(campaign::Column::QuestionnaireVersionId.is_in(versions))
        .all(db)
        .await?)
}

/// Months `YYYY-MM` of a period.
fn months(period: Period) -> Vec<String> {
    let mut out = Vec::new();
    let mut m = Period::Month(period.start().year(), period.start().month());
    while m.start() <= period.end() {
        out.push(m.to_string());
        m = m.next();
    }
    out
}

/// Per agency the weighted mean (1–5) of a dimension over the period's responses to
/// a questionnaire, with its design standard error — from the sufficient statistics
/// kept with every response (no response is read).
pub async fn survey_means(
    db: &DatabaseConnection,
    agency_ids: &[i64],
    period: Period,
    questionnaire_key: &str,
    dimension: &str,
    exclude_flagged: bool,
) -> Result<HashMap<i64, Raw>, ServiceError> {
    let campaigns: Vec<i64> = campaigns_of(db, questionnaire_key)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let mut select = survey_stat::Entity::find()
        .filter(survey_stat::Column::CampaignId.is_in(campaigns))
        .filter(survey_stat::Column::AgencyId.is_in(agency_ids.to_vec()))
        .filter(survey_stat::Column::Month.is_in(months(period)))
        .filter(survey_stat::Column::Dimension.eq(dimension));
    if exclude_flagged {
        select = select.filter(survey_stat::Column::Flagged.eq(false));
    }
    let mut by: HashMap<i64, Sums> = HashMap::new();
    for cell in select.all(db).await? {
        by.entry(cell.agency_id).or_default().merge(&Sums {
            n: cell.n,
            sw: cell.sw,
            sw2: cell.sw2,
            swy: cell.swy,
            sw2y: cell.sw2y,
            sw2y2: cell.sw2y2,
        });
    }
    Ok(by
        .into_iter()
        .filter_map(|(id, sums)| {
            let (mean, se) = sums.estimate()?;
            Some((id, to_likert(mean, se, sums.n as u64)))
        })
        .collect())
}

/// A 0–100 mean and its standard error as the 1–5 raw value the Likert normalisation
/// maps back.
fn to_likert(mean: f64, se: Option<f64>, n: u64) -> Raw {
    Raw {
        value: 1.0 + 4.0 * mean / 100.0,
        se: se.map(|se| 4.0 * se / 100.0),
        n: Some(n),
    }
}

/// The same as the statistics give, recomputed from every stored response with
/// `pingjia-scoring` (for tests and the benchmark; scores never use it).
pub async fn survey_means_recomputed(
    db: &DatabaseConnection,
    agency_ids: &[i64],
    period: Period,
    questionnaire_key: &str,
    dimension: &str,
    exclude_flagged: bool,
) -> Result<HashMap<i64, Raw>, ServiceError> {
    let campaigns = campaigns_of(db, questionnaire_key).await?;
    let start = end_of_shanghai_day(period.start()) - chrono::Duration::days(1);
    let end = end_of_shanghai_day(period.end());
    // Items of the dimension by question key, over every version in use.
    let mut item_keys: Vec<String> = Vec::new();
    let mut per_campaign = Vec::new();
    for c in &campaigns {
        let (_, questions) = questionnaires::of_campaign(db, c).await?;
        for qu in questions.iter().filter(|qu| qu.kind.is_scored()) {
            let in_dimension = qu
                .dimension
                .as_deref()
                .is_some_and(|d| dimension == "overall_index" || d == dimension);
            if in_dimension && !item_keys.contains(&qu.key) {
                item_keys.push(qu.key.clone());
            }
        }
        per_campaign.push((c.id, questions));
    }
    if item_keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut data = pingjia_scoring::Responses::new(item_keys.len())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    for (campaign_id, questions) in &per_campaign {
        let mut select = response::Entity::find()
            .filter(response::Column::CampaignId.eq(*campaign_id))
            .filter(response::Column::AgencyId.is_in(agency_ids.to_vec()))
            .filter(response::Column::SubmittedAt.gte(start))
            .filter(response::Column::SubmittedAt.lt(end));
        if exclude_flagged {
            select = select
                .filter(response::Column::StraightLining.eq(false))
                .filter(response::Column::TooFast.eq(false));
        }
        let rows = select.all(db).await?;
        for r in rows {
            let stored = r.answers.as_object().cloned().unwrap_or_default();
            let valid = validate_answers(questions, &stored).unwrap_or_default();
            let coded: Vec<Option<u8>> = item_keys
                .iter()
                .map(|k| {
                    let question = questions.iter().find(|q| &q.key == k)?;
                    valid
                        .iter()
                        .find(|(key, _)| key == k)
                        .and_then(|(_, a)| a.likert(question.reverse))
                })
                .collect();
            data.push(&r.agency_id.to_string(), r.weight, &coded)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        }
    }
    if data.is_empty() {
        return Ok(HashMap::new());
    }
    let options = pingjia_scoring::GroupOptions {
        min_n: 1,
        ..Default::default()
    };
    let scores = pingjia_scoring::score_groups(&data, &options)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(scores
        .into_iter()
        .filter_map(|s| {
            let id: i64 = s.group.parse().ok()?;
            Some((id, to_likert(s.mean?, s.se, s.n)))
        })
        .collect())
}

/// Cases each agency decided in the period (for case-weighted regions).
pub async fn cases_in(
    db: &DatabaseConnection,
    agency_ids: &[i64],
    period: Period,
) -> Result<HashMap<i64, u64>, ServiceError> {
    let mut out = HashMap::new();
    for k in case::Entity::find()
        .filter(case::Column::AgencyId.is_in(agency_ids.to_vec()))
        .filter(case::Column::DecisionDate.between(period.start(), period.end()))
        .all(db)
        .await?
    {
        *out.entry(k.agency_id).or_insert(0) += 1;
    }
    Ok(out)
}

/// A region's index: its agencies' scores combined (case-weighted or equal, as the
/// model says).
#[derive(Debug, Clone, PartialEq)]
pub struct RegionScore {
    pub region_code: String,
    pub region_name: String,
    pub score: Option<f64>,
    /// √(Σ wᵢ² seᵢ²) / Σ wᵢ.
    pub se: Option<f64>,
    /// Agencies with a score, and the weights they were given (cases, or 1 each).
    pub agencies: Vec<(i64, f64)>,
    pub rank: Option<u32>,
}

/// The index of the regions at `level` (county or city) over the computed agencies.
pub async fn by_region(
    db: &DatabaseConnection,
    actor: &Actor,
    computed: &Computed,
    level: crate::domain::RegionLevel,
) -> Result<Vec<RegionScore>, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "region scores are for admin and bureau keys",
        ));
    }
    let regions_all = crate::store::region::Entity::find().all(db).await?;
    let by_code: HashMap<&str, &crate::store::region::Model> =
        regions_all.iter().map(|r| (r.code.as_str(), r)).collect();
    let ids: Vec<i64> = computed.agencies.iter().map(|a| a.agency_id).collect();
    let cases = cases_in(db, &ids, computed.period).await?;
    let mut groups: BTreeMap<String, Vec<(&AgencyScore, f64)>> = BTreeMap::new();
    for a in &computed.agencies {
        let Some(region) = by_code.get(a.region_code.as_str()) else {
            continue;
        };
        let Some(ancestor) = region
            .path
            .split('/')
            .filter(|c| !c.is_empty())
            .filter_map(|c| by_code.get(c))
            .find(|r| r.level == level)
        else {
            continue;
        };
        let w = match computed.aggregation {
            crate::domain::index_model::Aggregation::CaseWeighted => {
                cases.get(&a.agency_id).copied().unwrap_or(0) as f64
            }
            crate::domain::index_model::Aggregation::Equal => 1.0,
        };
        groups
            .entry(ancestor.code.clone())
            .or_default()
            .push((a, w));
    }
    let mut out: Vec<RegionScore> = groups
        .into_iter()
        .map(|(code, members)| {
            let scored: Vec<(&AgencyScore, f64)> = members
                .into_iter()
                .filter(|(a, _)| a.score.is_some())
                .collect();
            // Without cases in the period, every agency counts the same.
            let total: f64 = scored.iter().map(|(_, w)| w).sum();
            let weights: Vec<f64> = if total > 0.0 {
                scored.iter().map(|(_, w)| *w).collect()
            } else {
                vec![1.0; scored.len()]
            };
            let sum: f64 = weights.iter().sum();
            let score = (sum > 0.0).then(|| {
                scored
                    .iter()
                    .zip(&weights)
                    .map(|((a, _), w)| w * a.score.unwrap_or(0.0))
                    .sum::<f64>()
                    / sum
            });
            let se = (sum > 0.0).then(|| {
                scored
                    .iter()
                    .zip(&weights)
                    .map(|((a, _), w)| (w * a.se.unwrap_or(0.0)).powi(2))
                    .sum::<f64>()
                    .sqrt()
                    / sum
            });
            RegionScore {
                region_name: by_code
                    .get(code.as_str())
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                region_code: code,
                score,
                se,
                agencies: scored
                    .iter()
                    .zip(&weights)
                    .map(|((a, _), w)| (a.agency_id, *w))
                    .collect(),
                rank: None,
            }
        })
        .collect();
    let ranks = pingjia_scoring::rank::competition_rank_desc(
        &out.iter().map(|r| r.score).collect::<Vec<_>>(),
    );
    for (r, rank) in out.iter_mut().zip(ranks) {
        r.rank = rank;
    }
    Ok(out)
}

/// The computed index as a table with Chinese headers, for CSV and XLSX: one row per
/// agency by rank, the composite with its interval, change, shrunk score, deductions,
/// flags, and each indicator's raw value and 0–100 value.
pub fn table(computed: &Computed) -> (Vec<String>, Vec<Vec<String>>) {
    let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let mut header: Vec<String> = [
        "排名",
        "执法机关",
        "区划代码",
        "执法领域",
        "综合得分",
        "标准误",
        "95%置信下限",
        "95%置信上限",
        "上期得分",
        "较上期变化",
        "变化p值",
        "变化显著(BH)",
        "经验贝叶斯得分",
        "扣分",
        "缺失指标",
        "标志",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(first) = computed.agencies.first() {
        for i in &first.indicators {
            header.push(format!("{}（原始值）", i.name));
            header.push(format!("{}（得分）", i.name));
        }
    }
    let mut ordered: Vec<&AgencyScore> = computed.agencies.iter().collect();
    ordered.sort_by_key(|s| (s.rank.is_none(), s.rank, s.agency_id));
    let rows = ordered
        .into_iter()
        .map(|s| {
            let mut row = vec![
                s.rank.map(|r| r.to_string()).unwrap_or_default(),
                s.agency_name.clone(),
                s.region_code.clone(),
                s.domain.clone(),
                num(s.score),
                num(s.se),
                num(s.ci.map(|c| c.0)),
                num(s.ci.map(|c| c.1)),
                num(s.previous),
                num(s.change),
                num(s.change_p),
                s.change_significant
                    .map(|b| if b { "是" } else { "否" }.to_owned())
                    .unwrap_or_default(),
                num(s.eb_score),
                num(Some(s.deductions.iter().map(|d| d.1).sum::<f64>()).filter(|d| *d > 0.0)),
                s.missing.join("；"),
                s.flags.join("；"),
            ];
            for i in &s.indicators {
                row.push(num(i.raw.map(|r| r.value)));
                row.push(num(i.value));
            }
            row
        })
        .collect();
    (header, rows)
}
