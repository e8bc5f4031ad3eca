//! 内部考核: internal assessment data — case-file reviews (案卷评查) with grade
//! thresholds and reproducible samples, the three systems (三项制度) and training
//! (培训学时). Batches come as JSON records or CSV/XLSX rows; each is validated into a
//! row report (row, column, reason), and the valid records are stored — upserted on
//! their natural key, so sending a batch again changes nothing — or, with `atomic`,
//! none when any row is bad.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::imports::{Cells, RowError, Table};
use super::{Actor, Scope, ServiceError, agencies, audit, regions};
use crate::domain::Role;
use crate::domain::period::Period;
use crate::store::{
    agency, case, file_review, officer, review_sample, review_threshold, three_systems,
    training_record,
};

/// The earliest date a record may carry (no assessment data predates it).
const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");

/// Most records in one batch.
pub const MAX_BATCH: usize = 5000;

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub rows: usize,
    /// Records stored (new or updated); 0 with `atomic` when any row was bad.
    pub stored: usize,
    pub errors: Vec<RowError>,
}

fn row_error(row: usize, column: &str, reason: impl Into<String>) -> RowError {
    RowError {
        row,
        column: column.to_owned(),
        reason: reason.into(),
    }
}

/// The kinds of internal-assessment batch, each with the roles that may store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    Reviews,
    ThreeSystems,
    Training,
}

impl Batch {
    /// Refuses a key whose role may not store this batch; checked before a file is
    /// read, so a refused key costs no parsing.
    pub fn authorize(self, actor: &Actor) -> Result<(), ServiceError> {
        let (roles, what): (&[Role], _) = match self {
            Self::Reviews => (
                &[Role::Admin, Role::Bureau, Role::Evaluator],
                "only admin, bureau and evaluator keys store case-file reviews",
            ),
            Self::ThreeSystems => (
                &[Role::Admin, Role::Bureau, Role::Evaluator],
                "only admin, bureau and evaluator keys store three-systems scores",
            ),
            Self::Training => (
                &[Role::Admin, Role::Bureau, Role::Evaluator, Role::Agency],
                "only admin, bureau, evaluator and agency keys store training records",
            ),
        };
        if actor.is(roles) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(what))
        }
    }
}

fn check_batch(rows: usize) -> Result<(), ServiceError> {
    if rows == 0 || rows > MAX_BATCH {
        return Err(ServiceError::invalid(
            "records",
            format!("send 1 to {MAX_BATCH} records"),
        ));
    }
    Ok(())
}

/// Whether the key may write data about an agency in `region_path`: admins and
/// evaluators anywhere, bureaus in their subtree, agency keys for themselves when
/// `agency_writes`.
fn may_write(actor: &Actor, agency_id: i64, region_path: &str, agency_writes: bool) -> bool {
    match actor.role {
        Role::Admin | Role::Evaluator => true,
        Role::Bureau => actor.covers_path(region_path),
        Role::Agency => {
            agency_writes && matches!(actor.scope, Scope::Agency { id, .. } if id == agency_id)
        }
        Role::Channel => false,
    }
}

/// The agency's region path if it exists and the key may write about it; otherwise
/// a row error on `column`.
async fn writable_agency(
    db: &DatabaseConnection,
    actor: &Actor,
    agency_id: i64,
    agency_writes: bool,
    cache: &mut HashMap<i64, Option<String>>,
) -> Result<Result<String, String>, ServiceError> {
    let path = match cache.get(&agency_id) {
        Some(p) => p.clone(),
        None => {
            let p = agencies::region_path_of(db, agency_id).await?;
            cache.insert(agency_id, p.clone());
            p
        }
    };
    Ok(match path {
        None => Err(format!("agency {agency_id} does not exist")),
        Some(p) if !may_write(actor, agency_id, &p, agency_writes) => {
            Err("the agency lies outside the key's scope".to_owned())
        }
        Some(p) => Ok(p),
    })
}

fn score_0_100(errors: &mut Vec<RowError>, row: usize, column: &str, v: f64) {
    if !(0.0..=100.0).contains(&v) || !v.is_finite() {
        errors.push(row_error(row, column, "must be between 0 and 100"));
    }
}

fn finish<T>(rows: usize, errors: Vec<RowError>, valid: Vec<T>, atomic: bool) -> (Report, Vec<T>) {
    let keep = if atomic && !errors.is_empty() {
        Vec::new()
    } else {
        valid
    };
    (
        Report {
            rows,
            stored: keep.len(),
            errors,
        },
        keep,
    )
}

// ── case-file reviews ─────────────────────────────────────────────────────────────

/// Grade thresholds (scores at or above `excellent` are 优秀, at or above `pass` 合格,
/// below 不合格).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub excellent: f64,
    pub pass: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            excellent: 90.0,
            pass: 60.0,
        }
    }
}

impl Thresholds {
    pub fn grade(&self, score: f64) -> &'static str {
        if score >= self.excellent {
            "excellent"
        } else if score >= self.pass {
            "pass"
        } else {
            "fail"
        }
    }
}

/// The grade's Chinese name.
pub fn grade_label(grade: &str) -> &'static str {
    match grade {
        "excellent" => "优秀",
        "pass" => "合格",
        _ => "不合格",
    }
}

/// The thresholds in force for a region: its own, the nearest ancestor's, or the
/// defaults (90, 60); with the region whose setting applies.
pub async fn thresholds_for<C: ConnectionTrait>(
    db: &C,
    region_code: &str,
) -> Result<(Thresholds, Option<String>), ServiceError> {
    let path = regions::path_of(db, "region_code", region_code).await?;
    for code in path.split('/').filter(|c| !c.is_empty()).rev() {
        if let Some(t) = review_threshold::Entity::find_by_id(code).one(db).await? {
            return Ok((
                Thresholds {
                    excellent: t.excellent,
                    pass: t.pass,
                },
                Some(code.to_owned()),
            ));
        }
    }
    Ok((Thresholds::default(), None))
}

/// Sets a region's grade thresholds (admin, or a bureau over the region). Reviews
/// stored before keep the grade they were given.
pub async fn set_thresholds(
    db: &DatabaseConnection,
    actor: &Actor,
    region_code: &str,
    t: Thresholds,
) -> Result<Thresholds, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys set review thresholds",
        ));
    }
    let path = regions::path_of(db, "region_code", region_code)
        .await
        .map_err(|_| ServiceError::NotFound { entity: "region" })?;
    if !actor.covers_path(&path) {
        return Err(ServiceError::forbidden(
            "the region lies outside the key's scope",
        ));
    }
    let mut v = super::error::Validator::new();
    if !(0.0..=100.0).contains(&t.excellent) {
        v.add("excellent", "must be between 0 and 100");
    }
    if !(0.0..=100.0).contains(&t.pass) || t.pass >= t.excellent {
        v.add("pass", "must be between 0 and 100 and below excellent");
    }
    v.finish()?;
    let txn = crate::db::begin_write(db).await?;
    review_threshold::Entity::delete_by_id(region_code)
        .exec(&txn)
        .await?;
    review_threshold::ActiveModel {
        region_code: Set(region_code.to_owned()),
        excellent: Set(t.excellent),
        pass: Set(t.pass),
        updated_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "review_thresholds.set",
            entity: "region",
            entity_id: region_code.to_owned(),
            region_path: Some(path),
            details: Some(serde_json::json!({"excellent": t.excellent, "pass": t.pass})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(t)
}

/// One item of a review (评查项目) with its deduction and note.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReviewItem {
    pub item: String,
    pub deduction: Option<f64>,
    pub note: Option<String>,
}

/// A reviewed case file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewInput {
    pub agency_id: i64,
    pub case_number: String,
    /// The assessment year it counts for.
    pub year: i32,
    pub score: f64,
    pub reviewer: String,
    pub items: Vec<ReviewItem>,
    pub reviewed_on: NaiveDate,
}

/// Reads review rows: agency_id, case_number, year, score, reviewer, reviewed_on and
/// optionally `items` as `项目:扣分:说明` separated by `;`.
pub fn reviews_from_table(table: &Table) -> (Vec<(usize, ReviewInput)>, Vec<RowError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for i in 0..table.rows.len() {
        let mut c = Cells::new(table, i);
        let agency_id = c.integer("agency_id");
        if agency_id.is_none() && c.text("agency_id").is_none() {
            c.fail("agency_id", "required");
        }
        // Text fields are checked with the record (blank ones included).
        let case_number = c.text("case_number").unwrap_or_default();
        let year = c.integer("year");
        let score = c.number("score");
        let reviewer = c.text("reviewer").unwrap_or_default();
        let reviewed_on = c.date("reviewed_on");
        for (col, missing) in [
            ("year", year.is_none()),
            ("score", score.is_none()),
            ("reviewed_on", reviewed_on.is_none()),
        ] {
            if missing && c.text(col).is_none() {
                c.fail(col, "required");
            }
        }
        let items = c
            .text("items")
            .map(|raw| {
                raw.split(';')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| {
                        let mut parts = s.splitn(3, ':');
                        ReviewItem {
                            item: parts.next().unwrap_or_default().trim().to_owned(),
                            deduction: parts.next().and_then(|d| d.trim().parse().ok()),
                            note: parts.next().map(|n| n.trim().to_owned()),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let row = c.row;
        if c.errors.is_empty()
            && let (Some(agency_id), Some(year), Some(score), Some(reviewed_on)) =
                (agency_id, year, score, reviewed_on)
        {
            out.push((
                row,
                ReviewInput {
                    agency_id,
                    case_number,
                    year: i32::try_from(year).unwrap_or(0),
                    score,
                    reviewer,
                    items,
                    reviewed_on,
                },
            ));
        }
        errors.append(&mut c.errors);
    }
    (out, errors)
}

/// Stores reviews (admin, evaluator, bureau in its subtree), upserted on agency +
/// case number; the grade comes from the thresholds of the agency's region.
pub async fn ingest_reviews(
    db: &DatabaseConnection,
    actor: &Actor,
    rows: usize,
    records: Vec<(usize, ReviewInput)>,
    mut errors: Vec<RowError>,
    atomic: bool,
) -> Result<Report, ServiceError> {
    Batch::Reviews.authorize(actor)?;
    check_batch(rows)?;
    let today = crate::domain::calendar::shanghai_date(Utc::now());
    let mut paths = HashMap::new();
    let mut seen = HashSet::new();
    let mut valid = Vec::new();
    for (row, r) in records {
        let before = errors.len();
        let region = match writable_agency(db, actor, r.agency_id, false, &mut paths).await? {
            Ok(path) => Some(path),
            Err(reason) => {
                errors.push(row_error(row, "agency_id", reason));
                None
            }
        };
        let number = r.case_number.trim().to_owned();
        if number.is_empty() || number.chars().count() > 100 {
            errors.push(row_error(row, "case_number", "must be 1–100 characters"));
        } else if !seen.insert((r.agency_id, number.clone())) {
            errors.push(row_error(row, "case_number", "appears twice in this batch"));
        }
        if !(2000..=2100).contains(&r.year) {
            errors.push(row_error(row, "year", "must be 2000–2100"));
        }
        score_0_100(&mut errors, row, "score", r.score);
        let reviewer = r.reviewer.trim().to_owned();
        if reviewer.is_empty() || reviewer.chars().count() > 100 {
            errors.push(row_error(row, "reviewer", "must be 1–100 characters"));
        }
        if r.items.len() > 100 || r.items.iter().any(|i| i.item.trim().is_empty()) {
            errors.push(row_error(
                row,
                "items",
                "at most 100 items, each naming its item",
            ));
        }
        if r.items
            .iter()
            .any(|i| i.deduction.is_some_and(|d| !(0.0..=100.0).contains(&d)))
        {
            errors.push(row_error(
                row,
                "items",
                "a deduction is a number of points from 0 to 100",
            ));
        }
        if r.reviewed_on > today {
            errors.push(row_error(row, "reviewed_on", "lies in the future"));
        } else if r.reviewed_on < EARLIEST_DATE {
            errors.push(row_error(row, "reviewed_on", "lies before 2000"));
        }
        if errors.len() == before
            && let Some(path) = region
        {
            let code = path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let (thresholds, _) = thresholds_for(db, &code).await?;
            let case_id = case::Entity::find()
                .filter(case::Column::AgencyId.eq(r.agency_id))
                .filter(case::Column::CaseNumber.eq(number.as_str()))
                .one(db)
                .await?
                .map(|k| k.id);
            valid.push((r, number, reviewer, thresholds, case_id));
        }
    }
    let (report, keep) = finish(rows, errors, valid, atomic);
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    for (r, number, reviewer, thresholds, case_id) in keep {
        let grade = thresholds.grade(r.score);
        let existing = file_review::Entity::find()
            .filter(file_review::Column::AgencyId.eq(r.agency_id))
            .filter(file_review::Column::CaseNumber.eq(number.as_str()))
            .one(&txn)
            .await?;
        let mut row = file_review::ActiveModel {
            agency_id: Set(r.agency_id),
            case_id: Set(case_id),
            case_number: Set(number),
            year: Set(r.year),
            score: Set(r.score),
            grade: Set(grade.to_owned()),
            reviewer: Set(reviewer),
            items: Set(serde_json::json!(r.items)),
            reviewed_on: Set(r.reviewed_on),
            updated_at: Set(now),
            ..Default::default()
        };
        match existing {
            Some(e) => {
                row.id = Set(e.id);
                row.created_at = Set(e.created_at);
                row.update(&txn).await?;
            }
            None => {
                row.created_at = Set(now);
                row.insert(&txn).await?;
            }
        }
    }
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "file_reviews.ingest",
            entity: "file_review",
            entity_id: "batch".into(),
            region_path: actor.region_prefix().map(str::to_owned),
            details: Some(serde_json::json!({"rows": report.rows, "stored": report.stored})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}

/// The agencies a key may read about: `None` for all.
async fn readable_agencies(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Option<Vec<i64>>, ServiceError> {
    Ok(match &actor.scope {
        Scope::Everything if actor.role == Role::Admin => None,
        Scope::Everything => {
            return Err(ServiceError::forbidden(
                "only admin, bureau and agency keys read assessment data",
            ));
        }
        Scope::Region { path, .. } => Some(
            agency::Entity::find()
                .filter(agency::Column::RegionCode.in_subquery(regions::codes_under(path)))
                .all(db)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect(),
        ),
        Scope::Agency { id, .. } => Some(vec![*id]),
    })
}

/// Reviews of a year (optionally one agency's), as the key may see them.
pub async fn reviews(
    db: &DatabaseConnection,
    actor: &Actor,
    year: i32,
    agency_id: Option<i64>,
) -> Result<Vec<file_review::Model>, ServiceError> {
    crate::domain::period::check_year(year)
        .map_err(|e| ServiceError::invalid("year", e.to_string()))?;
    let mut select = file_review::Entity::find()
        .filter(file_review::Column::Year.eq(year))
        .order_by_asc(file_review::Column::AgencyId)
        .order_by_asc(file_review::Column::Id);
    if let Some(ids) = readable_agencies(db, actor).await? {
        select = select.filter(file_review::Column::AgencyId.is_in(ids));
    }
    if let Some(a) = agency_id {
        select = select.filter(file_review::Column::AgencyId.eq(a));
    }
    Ok(select.all(db).await?)
}

/// A drawn sample with its cases.
#[derive(Debug, Clone)]
pub struct Sample {
    pub record: review_sample::Model,
    pub seed: u64,
    /// (case id, case number), in case-id order.
    pub cases: Vec<(i64, String)>,
}

/// Draws the case files to review for an agency-year (admin, evaluator, bureau in its
/// subtree): the agency's cases decided that year in id order, the sample size by the
/// rule (≤ 20 all; 21–50 40%; 51–100 30%; 101–200 20%; > 200 50), chosen by the seeded
/// selection of `pingjia-scoring`. The seed (given or random) is returned and stored;
/// the same seed over the same cases gives the same list.
pub async fn draw_sample(
    db: &DatabaseConnection,
    actor: &Actor,
    agency_id: i64,
    year: i32,
    seed: Option<u64>,
) -> Result<Sample, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Evaluator]) {
        return Err(ServiceError::forbidden(
            "only admin, bureau and evaluator keys draw review samples",
        ));
    }
    if !(2000..=2100).contains(&year) {
        return Err(ServiceError::invalid("year", "must be 2000–2100"));
    }
    let mut cache = HashMap::new();
    let path = match writable_agency(db, actor, agency_id, false, &mut cache).await? {
        Ok(p) => p,
        Err(reason) => return Err(ServiceError::invalid("agency_id", reason)),
    };
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year");
    let last = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid year");
    let population = case::Entity::find()
        .filter(case::Column::AgencyId.eq(agency_id))
        .filter(case::Column::DecisionDate.between(first, last))
        .order_by_asc(case::Column::Id)
        .all(db)
        .await?;
    let n = population.len() as u64;
    let required = pingjia_scoring::sampling::case_review_sample_size(n).min(n);
    let seed = seed.unwrap_or_else(rand::random);
    let picked = pingjia_scoring::sampling::select(n, required, seed)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    let cases: Vec<(i64, String)> = picked
        .into_iter()
        .filter_map(|i| population.get(i as usize))
        .map(|k| (k.id, k.case_number.clone()))
        .collect();
    let txn = crate::db::begin_write(db).await?;
    let record = review_sample::ActiveModel {
        agency_id: Set(agency_id),
        year: Set(year),
        population: Set(i64::try_from(n).unwrap_or(i64::MAX)),
        required: Set(i64::try_from(required).unwrap_or(i64::MAX)),
        seed: Set(seed.to_string()),
        case_ids: Set(serde_json::json!(
            cases.iter().map(|c| c.0).collect::<Vec<_>>()
        )),
        drawn_by: Set(actor.label()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "file_reviews.sample",
            entity: "review_sample",
            entity_id: record.id.to_string(),
            region_path: Some(path),
            details: Some(serde_json::json!({"seed": seed.to_string(), "required": required})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Sample {
        record,
        seed,
        cases,
    })
}

// ── three systems ─────────────────────────────────────────────────────────────────

/// An agency's three-systems scores (0–100) for a period.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreeSystemsInput {
    pub agency_id: i64,
    pub period: String,
    pub publicity: f64,
    pub recording: f64,
    pub legal_review: f64,
    pub notes: Option<String>,
}

/// Reads rows: agency_id, period, publicity, recording, legal_review, notes.
pub fn three_systems_from_table(table: &Table) -> (Vec<(usize, ThreeSystemsInput)>, Vec<RowError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for i in 0..table.rows.len() {
        let mut c = Cells::new(table, i);
        let agency_id = c.integer("agency_id");
        let period = c.required("period");
        let scores = ["publicity", "recording", "legal_review"].map(|col| {
            let v = c.number(col);
            if v.is_none() && c.text(col).is_none() {
                c.fail(col, "required");
            }
            v
        });
        if agency_id.is_none() && c.text("agency_id").is_none() {
            c.fail("agency_id", "required");
        }
        if c.errors.is_empty()
            && let (Some(agency_id), [Some(p), Some(r), Some(l)]) = (agency_id, scores)
        {
            out.push((
                c.row,
                ThreeSystemsInput {
                    agency_id,
                    period,
                    publicity: p,
                    recording: r,
                    legal_review: l,
                    notes: c.text("notes"),
                },
            ));
        }
        errors.append(&mut c.errors);
    }
    (out, errors)
}

/// Stores three-systems scores (admin, evaluator, bureau in its subtree), upserted on
/// agency + period.
pub async fn ingest_three_systems(
    db: &DatabaseConnection,
    actor: &Actor,
    rows: usize,
    records: Vec<(usize, ThreeSystemsInput)>,
    mut errors: Vec<RowError>,
    atomic: bool,
) -> Result<Report, ServiceError> {
    Batch::ThreeSystems.authorize(actor)?;
    check_batch(rows)?;
    let mut paths = HashMap::new();
    let mut seen = HashSet::new();
    let mut valid = Vec::new();
    for (row, r) in records {
        let before = errors.len();
        if let Err(reason) = writable_agency(db, actor, r.agency_id, false, &mut paths).await? {
            errors.push(row_error(row, "agency_id", reason));
        }
        let period = match Period::parse(&r.period) {
            Ok(p) => Some(p.to_string()),
            Err(e) => {
                errors.push(row_error(row, "period", e.to_string()));
                None
            }
        };
        if let Some(p) = &period
            && !seen.insert((r.agency_id, p.clone()))
        {
            errors.push(row_error(
                row,
                "period",
                "appears twice in this batch for the agency",
            ));
        }
        score_0_100(&mut errors, row, "publicity", r.publicity);
        score_0_100(&mut errors, row, "recording", r.recording);
        score_0_100(&mut errors, row, "legal_review", r.legal_review);
        if r.notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            errors.push(row_error(row, "notes", "at most 2000 characters"));
        }
        if errors.len() == before
            && let Some(period) = period
        {
            valid.push((r, period));
        }
    }
    let (report, keep) = finish(rows, errors, valid, atomic);
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    for (r, period) in keep {
        let existing = three_systems::Entity::find()
            .filter(three_systems::Column::AgencyId.eq(r.agency_id))
            .filter(three_systems::Column::Period.eq(period.as_str()))
            .one(&txn)
            .await?;
        let mut row = three_systems::ActiveModel {
            agency_id: Set(r.agency_id),
            period: Set(period),
            publicity: Set(r.publicity),
            recording: Set(r.recording),
            legal_review: Set(r.legal_review),
            notes: Set(r.notes),
            updated_at: Set(now),
            ..Default::default()
        };
        match existing {
            Some(e) => {
                row.id = Set(e.id);
                row.created_at = Set(e.created_at);
                row.update(&txn).await?;
            }
            None => {
                row.created_at = Set(now);
                row.insert(&txn).await?;
            }
        }
    }
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "three_systems.ingest",
            entity: "three_systems",
            entity_id: "batch".into(),
            region_path: actor.region_prefix().map(str::to_owned),
            details: Some(serde_json::json!({"rows": report.rows, "stored": report.stored})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}

/// Three-systems scores of a period, as the key may see them.
pub async fn three_systems_of(
    db: &DatabaseConnection,
    actor: &Actor,
    period: &str,
) -> Result<Vec<three_systems::Model>, ServiceError> {
    let period = Period::parse(period)
        .map_err(|e| ServiceError::invalid("period", e.to_string()))?
        .to_string();
    let mut select = three_systems::Entity::find()
        .filter(three_systems::Column::Period.eq(period))
        .order_by_asc(three_systems::Column::AgencyId);
    if let Some(ids) = readable_agencies(db, actor).await? {
        select = select.filter(three_systems::Column::AgencyId.is_in(ids));
    }
    Ok(select.all(db).await?)
}

// ── training ──────────────────────────────────────────────────────────────────────

/// Hours per officer and year: at least 60 in total, 60% of them business knowledge,
/// 10 on inclusive-prudent enforcement, discretion benchmarks and lenient lists.
pub const MIN_HOURS: f64 = 60.0;
pub const MIN_BUSINESS_SHARE: f64 = 0.6;
pub const MIN_DISCRETION_HOURS: f64 = 10.0;
/// Exam pass rate an agency must reach.
pub const PASS_RATE_TARGET: f64 = 0.99;

/// An officer's training year; the officer is named by id or badge number.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingInput {
    pub officer_id: Option<i64>,
    pub badge_no: Option<String>,
    pub year: i32,
    pub total_hours: f64,
    pub business_hours: f64,
    pub discretion_hours: f64,
    pub exam_passed: Option<bool>,
    pub exam_score: Option<f64>,
}

/// Reads rows: officer_id or badge_no, year, total_hours, business_hours,
/// discretion_hours, exam_passed, exam_score.
pub fn training_from_table(table: &Table) -> (Vec<(usize, TrainingInput)>, Vec<RowError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for i in 0..table.rows.len() {
        let mut c = Cells::new(table, i);
        let officer_id = c.integer("officer_id");
        let badge_no = c.text("badge_no");
        let year = c.integer("year");
        let hours = ["total_hours", "business_hours", "discretion_hours"].map(|col| {
            let v = c.number(col);
            if v.is_none() && c.text(col).is_none() {
                c.fail(col, "required");
            }
            v
        });
        if year.is_none() && c.text("year").is_none() {
            c.fail("year", "required");
        }
        let exam_passed = c.boolean("exam_passed");
        let exam_score = c.number("exam_score");
        if c.errors.is_empty()
            && let (Some(year), [Some(t), Some(b), Some(d)]) = (year, hours)
        {
            out.push((
                c.row,
                TrainingInput {
                    officer_id,
                    badge_no,
                    year: i32::try_from(year).unwrap_or(0),
                    total_hours: t,
                    business_hours: b,
                    discretion_hours: d,
                    exam_passed,
                    exam_score,
                },
            ));
        }
        errors.append(&mut c.errors);
    }
    (out, errors)
}

/// Stores training years (admin, evaluator, bureau in its subtree, agency for its own
/// officers), upserted on officer + year.
pub async fn ingest_training(
    db: &DatabaseConnection,
    actor: &Actor,
    rows: usize,
    records: Vec<(usize, TrainingInput)>,
    mut errors: Vec<RowError>,
    atomic: bool,
) -> Result<Report, ServiceError> {
    Batch::Training.authorize(actor)?;
    check_batch(rows)?;
    let mut paths = HashMap::new();
    let mut seen = HashSet::new();
    let mut valid = Vec::new();
    for (row, r) in records {
        let before = errors.len();
        let found = match (r.officer_id, r.badge_no.as_deref()) {
            (Some(id), _) => officer::Entity::find_by_id(id).one(db).await?,
            (None, Some(badge)) => {
                officer::Entity::find()
                    .filter(officer::Column::BadgeNo.eq(badge))
                    .one(db)
                    .await?
            }
            (None, None) => None,
        };
        let officer_id = match found {
            None => {
                errors.push(row_error(
                    row,
                    "officer_id",
                    "no such officer (give officer_id or badge_no)",
                ));
                None
            }
            Some(o) => match writable_agency(db, actor, o.agency_id, true, &mut paths).await? {
                Err(reason) => {
                    errors.push(row_error(row, "officer_id", reason));
                    None
                }
                Ok(_) => Some(o.id),
            },
        };
        if let Some(id) = officer_id
            && !seen.insert((id, r.year))
        {
            errors.push(row_error(
                row,
                "officer_id",
                "appears twice in this batch for the year",
            ));
        }
        if !(2000..=2100).contains(&r.year) {
            errors.push(row_error(row, "year", "must be 2000–2100"));
        }
        for (col, v) in [
            ("total_hours", r.total_hours),
            ("business_hours", r.business_hours),
            ("discretion_hours", r.discretion_hours),
        ] {
            if !(0.0..=2000.0).contains(&v) {
                errors.push(row_error(row, col, "must be between 0 and 2000 hours"));
            }
        }
        if r.business_hours > r.total_hours {
            errors.push(row_error(row, "business_hours", "exceeds total_hours"));
        }
        if r.discretion_hours > r.total_hours {
            errors.push(row_error(row, "discretion_hours", "exceeds total_hours"));
        }
        if let Some(s) = r.exam_score {
            score_0_100(&mut errors, row, "exam_score", s);
        }
        if errors.len() == before
            && let Some(id) = officer_id
        {
            valid.push((id, r));
        }
    }
    let (report, keep) = finish(rows, errors, valid, atomic);
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    for (officer_id, r) in keep {
        let existing = training_record::Entity::find()
            .filter(training_record::Column::OfficerId.eq(officer_id))
            .filter(training_record::Column::Year.eq(r.year))
            .one(&txn)
            .await?;
        let mut row = training_record::ActiveModel {
            officer_id: Set(officer_id),
            year: Set(r.year),
            total_hours: Set(r.total_hours),
            business_hours: Set(r.business_hours),
            discretion_hours: Set(r.discretion_hours),
            exam_passed: Set(r.exam_passed),
            exam_score: Set(r.exam_score),
            updated_at: Set(now),
            ..Default::default()
        };
        match existing {
            Some(e) => {
                row.id = Set(e.id);
                row.created_at = Set(e.created_at);
                row.update(&txn).await?;
            }
            None => {
                row.created_at = Set(now);
                row.insert(&txn).await?;
            }
        }
    }
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "training.ingest",
            entity: "training_record",
            entity_id: "batch".into(),
            region_path: actor.region_prefix().map(str::to_owned),
            details: Some(serde_json::json!({"rows": report.rows, "stored": report.stored})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}

/// An agency's training year against the targets.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSummary {
    pub agency_id: i64,
    pub agency_name: String,
    /// Active officers.
    pub officers: u64,
    /// Officers with a training record for the year.
    pub recorded: u64,
    pub met_hours: u64,
    pub met_business_share: u64,
    pub met_discretion: u64,
    /// Officers meeting all three hour requirements (completion 完成率 counts these
    /// among all active officers).
    pub completed: u64,
    /// Officers with an exam result, and those who passed.
    pub examined: u64,
    pub passed: u64,
    /// completed / officers; `None` without officers.
    pub completion_rate: Option<f64>,
    /// passed / examined; `None` without exam results.
    pub pass_rate: Option<f64>,
    /// Completion 100% and pass rate ≥ 99%.
    pub targets_met: bool,
}

/// Per agency the share of active officers meeting each training requirement.
pub async fn training_summary(
    db: &DatabaseConnection,
    actor: &Actor,
    year: i32,
) -> Result<Vec<TrainingSummary>, ServiceError> {
    crate::domain::period::check_year(year)
        .map_err(|e| ServiceError::invalid("year", e.to_string()))?;
    let mut agencies = agency::Entity::find().order_by_asc(agency::Column::Id);
    if let Some(ids) = readable_agencies(db, actor).await? {
        agencies = agencies.filter(agency::Column::Id.is_in(ids));
    }
    training_for(db, agencies.all(db).await?, year).await
}

/// The training summary of the given agencies.
pub async fn training_for(
    db: &DatabaseConnection,
    agencies: Vec<agency::Model>,
    year: i32,
) -> Result<Vec<TrainingSummary>, ServiceError> {
    let ids: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    let officers = officer::Entity::find()
        .filter(officer::Column::AgencyId.is_in(ids))
        .filter(officer::Column::Active.eq(true))
        .all(db)
        .await?;
    let records: HashMap<i64, training_record::Model> = training_record::Entity::find()
        .filter(training_record::Column::Year.eq(year))
        .filter(training_record::Column::OfficerId.is_in(officers.iter().map(|o| o.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.officer_id, r))
        .collect();
    Ok(agencies
        .into_iter()
        .map(|a| {
            let mine: Vec<&officer::Model> =
                officers.iter().filter(|o| o.agency_id == a.id).collect();
            let recs: Vec<&training_record::Model> =
                mine.iter().filter_map(|o| records.get(&o.id)).collect();
            let hours = |r: &&training_record::Model| r.total_hours >= MIN_HOURS;
            let business = |r: &&training_record::Model| {
                r.total_hours > 0.0 && r.business_hours / r.total_hours >= MIN_BUSINESS_SHARE
            };
            let discretion =
                |r: &&training_record::Model| r.discretion_hours >= MIN_DISCRETION_HOURS;
            let count = |f: &dyn Fn(&&training_record::Model) -> bool| {
                recs.iter().filter(|r| f(r)).count() as u64
            };
            let completed = count(&|r| hours(r) && business(r) && discretion(r));
            let examined = recs.iter().filter(|r| r.exam_passed.is_some()).count() as u64;
            let passed = recs.iter().filter(|r| r.exam_passed == Some(true)).count() as u64;
            let n = mine.len() as u64;
            let completion_rate = (n > 0).then(|| completed as f64 / n as f64);
            let pass_rate = (examined > 0).then(|| passed as f64 / examined as f64);
            TrainingSummary {
                agency_id: a.id,
                agency_name: a.name,
                officers: n,
                recorded: recs.len() as u64,
                met_hours: count(&hours),
                met_business_share: count(&business),
                met_discretion: count(&discretion),
                completed,
                examined,
                passed,
                targets_met: completion_rate == Some(1.0)
                    && pass_rate.is_some_and(|p| p >= PASS_RATE_TARGET),
                completion_rate,
                pass_rate,
            }
        })
        .collect())
}
