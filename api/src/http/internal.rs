//! Internal assessment data (内部考核): case-file reviews and their samples, the three
//! systems, training. Batches by JSON or CSV/XLSX, answered with a row report.

use chrono::{DateTime, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use super::surveys::{ImportBody, ImportError};
use super::{ApiTags, Created};
use crate::service::imports::{self, Table};
use crate::service::internal::{self, Batch, Report};
use crate::service::{Actor, ServiceError};
use crate::startup::AppState;
use crate::store::{file_review, three_systems};

/// What a batch did.
#[derive(Object, Debug)]
pub struct BatchReport {
    /// Records (rows) read.
    pub rows: u64,
    /// Records stored, new or updated (0 with `atomic` when any row was bad).
    pub stored: u64,
    /// The first 100 bad rows: (row — 1-based record or data row, column, reason).
    pub errors: Vec<ImportError>,
    /// How many errors there were in all.
    pub error_count: u64,
}

impl From<Report> for BatchReport {
    fn from(r: Report) -> Self {
        let (error_count, errors) = super::surveys::reported(r.errors);
        Self {
            rows: r.rows as u64,
            stored: r.stored as u64,
            errors,
            error_count,
        }
    }
}

/// The file's table, read only once the key may store `batch`.
fn table(actor: &Actor, batch: Batch, body: ImportBody) -> Result<Table, ServiceError> {
    batch.authorize(actor)?;
    match body {
        ImportBody::Csv(b) => imports::read_csv(&b.0),
        ImportBody::Xlsx(b) => imports::read_xlsx(&b.0),
    }
}

/// One item of a review.
#[derive(Object, Debug, Clone)]
pub struct ReviewItem {
    /// 评查项目, e.g. 证据是否充分.
    pub item: String,
    pub deduction: Option<f64>,
    pub note: Option<String>,
}

/// A reviewed case file.
#[derive(Object, Debug)]
pub struct ReviewRecord {
    pub agency_id: i64,
    pub case_number: String,
    /// The assessment year the review counts for.
    pub year: i32,
    /// 0–100.
    pub score: f64,
    pub reviewer: String,
    #[oai(default, validator(max_items = 100))]
    pub items: Vec<ReviewItem>,
    pub reviewed_on: NaiveDate,
}

/// Reviews to store.
#[derive(Object, Debug)]
pub struct ReviewBatch {
    /// 1–5,000 records.
    pub records: Vec<ReviewRecord>,
    /// Store none when any record is bad (default false: store the good ones).
    #[oai(default)]
    pub atomic: bool,
}

/// A stored review.
#[derive(Object, Debug)]
pub struct FileReview {
    pub id: i64,
    pub agency_id: i64,
    /// The ingested case, when the number matches one.
    pub case_id: Option<i64>,
    pub case_number: String,
    pub year: i32,
    pub score: f64,
    /// excellent, pass or fail (by the thresholds when stored).
    pub grade: String,
    /// 优秀, 合格 or 不合格.
    pub grade_label: String,
    pub reviewer: String,
    pub items: serde_json::Value,
    pub reviewed_on: NaiveDate,
    pub updated_at: DateTime<Utc>,
}

impl From<file_review::Model> for FileReview {
    fn from(r: file_review::Model) -> Self {
        Self {
            grade_label: internal::grade_label(&r.grade).to_owned(),
            id: r.id,
            agency_id: r.agency_id,
            case_id: r.case_id,
            case_number: r.case_number,
            year: r.year,
            score: r.score,
            grade: r.grade,
            reviewer: r.reviewer,
            items: r.items,
            reviewed_on: r.reviewed_on,
            updated_at: r.updated_at,
        }
    }
}

/// Grade thresholds.
#[derive(Object, Debug)]
pub struct ThresholdsBody {
    /// Scores at or above are 优秀 (default 90).
    pub excellent: f64,
    /// Scores at or above are 合格 (default 60); below, 不合格.
    pub pass: f64,
}

/// The thresholds in force for a region.
#[derive(Object, Debug)]
pub struct ThresholdsInForce {
    pub region_code: String,
    pub excellent: f64,
    pub pass: f64,
    /// The region whose setting applies; null for the defaults.
    pub source_region: Option<String>,
}

/// A sample to draw.
#[derive(Object, Debug)]
pub struct SampleRequest {
    pub agency_id: i64,
    pub year: i32,
    /// Decimal u64; random when absent. The same seed over the same cases draws the
    /// same list.
    pub seed: Option<String>,
}

/// A sampled case.
#[derive(Object, Debug)]
pub struct SampledCase {
    pub case_id: i64,
    pub case_number: String,
}

/// A drawn sample (双随机、一公开: the seed is published with it).
#[derive(Object, Debug)]
pub struct ReviewSample {
    pub id: i64,
    pub agency_id: i64,
    pub year: i32,
    /// Cases the agency decided that year.
    pub population: i64,
    /// Files to review by the rule.
    pub required: i64,
    /// Decimal u64.
    pub seed: String,
    pub cases: Vec<SampledCase>,
}

/// An agency's three-systems scores for a period (0–100 each).
#[derive(Object, Debug)]
pub struct ThreeSystemsRecord {
    pub agency_id: i64,
    /// `2026`, `2026-Q3` or `2026-07`.
    pub period: String,
    /// 行政执法公示.
    pub publicity: f64,
    /// 执法全过程记录.
    pub recording: f64,
    /// 重大执法决定法制审核.
    pub legal_review: f64,
    pub notes: Option<String>,
}

/// Three-systems scores to store.
#[derive(Object, Debug)]
pub struct ThreeSystemsBatch {
    pub records: Vec<ThreeSystemsRecord>,
    #[oai(default)]
    pub atomic: bool,
}

impl From<three_systems::Model> for ThreeSystemsRecord {
    fn from(m: three_systems::Model) -> Self {
        Self {
            agency_id: m.agency_id,
            period: m.period,
            publicity: m.publicity,
            recording: m.recording,
            legal_review: m.legal_review,
            notes: m.notes,
        }
    }
}

/// An officer's training year.
#[derive(Object, Debug)]
pub struct TrainingRecord {
    /// The officer, by id or by badge number.
    pub officer_id: Option<i64>,
    pub badge_no: Option<String>,
    pub year: i32,
    pub total_hours: f64,
    /// 业务知识和技能.
    pub business_hours: f64,
    /// 包容审慎监管、裁量基准、轻微免罚清单.
    pub discretion_hours: f64,
    pub exam_passed: Option<bool>,
    pub exam_score: Option<f64>,
}

/// Training years to store.
#[derive(Object, Debug)]
pub struct TrainingBatch {
    pub records: Vec<TrainingRecord>,
    #[oai(default)]
    pub atomic: bool,
}

/// An agency's training year against the targets.
#[derive(Object, Debug)]
pub struct TrainingSummary {
    pub agency_id: i64,
    pub agency_name: String,
    /// Active officers.
    pub officers: u64,
    pub recorded: u64,
    /// Officers with ≥ 60 hours.
    pub met_hours: u64,
    /// Officers with ≥ 60% of their hours on business knowledge.
    pub met_business_share: u64,
    /// Officers with ≥ 10 hours on discretion benchmarks and lenient lists.
    pub met_discretion: u64,
    /// Officers meeting all three.
    pub completed: u64,
    pub examined: u64,
    pub passed: u64,
    /// completed / officers (target 100%).
    pub completion_rate: Option<f64>,
    /// passed / examined (target ≥ 99%).
    pub pass_rate: Option<f64>,
    pub targets_met: bool,
}

/// Internal assessment operations.
pub struct InternalApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Assessment")]
impl InternalApi {
    /// Store case-file reviews
    ///
    /// Roles: admin, evaluator, bureau (agencies in its subtree). Upserted on agency +
    /// case number (sending a batch again changes nothing); graded by the thresholds
    /// of the agency's region. Answers a row report.
    #[oai(
        path = "/file-reviews",
        method = "post",
        operation_id = "storeFileReviews"
    )]
    async fn store_reviews(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<ReviewBatch>,
    ) -> Result<Json<BatchReport>, WriteError> {
        let b = body.0;
        let rows = b.records.len();
        let records = b
            .records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    i + 1,
                    internal::ReviewInput {
                        agency_id: r.agency_id,
                        case_number: r.case_number,
                        year: r.year,
                        score: r.score,
                        reviewer: r.reviewer,
                        items: r
                            .items
                            .into_iter()
                            .map(|i| internal::ReviewItem {
                                item: i.item,
                                deduction: i.deduction,
                                note: i.note,
                            })
                            .collect(),
                        reviewed_on: r.reviewed_on,
                    },
                )
            })
            .collect();
        let report =
            internal::ingest_reviews(&state.db, &auth.0, rows, records, Vec::new(), b.atomic)
                .await?;
        Ok(Json(report.into()))
    }

    /// Import case-file reviews (CSV/XLSX)
    ///
    /// Roles: as for storing. Columns agency_id, case_number, year, score, reviewer,
    /// reviewed_on (YYYY-MM-DD) and optionally items (`项目:扣分:说明;…`).
    #[oai(
        path = "/file-reviews/imports",
        method = "post",
        operation_id = "importFileReviews"
    )]
    async fn import_reviews(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        atomic: Query<Option<bool>>,
        body: ImportBody,
    ) -> Result<Json<BatchReport>, WriteError> {
        let t = table(&auth.0, Batch::Reviews, body)?;
        let (records, errors) = internal::reviews_from_table(&t);
        let report = internal::ingest_reviews(
            &state.db,
            &auth.0,
            t.rows.len(),
            records,
            errors,
            atomic.0.unwrap_or(false),
        )
        .await?;
        Ok(Json(report.into()))
    }

    /// List case-file reviews of a year
    ///
    /// Roles: admin (all), bureau (its subtree), agency (its own).
    #[oai(
        path = "/file-reviews",
        method = "get",
        operation_id = "listFileReviews"
    )]
    async fn list_reviews(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        year: Query<i32>,
        agency_id: Query<Option<i64>>,
    ) -> Result<Json<Vec<FileReview>>, ReadError> {
        Ok(Json(
            internal::reviews(&state.db, &auth.0, year.0, agency_id.0)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// Draw a case-file review sample
    ///
    /// Roles: admin, evaluator, bureau (its subtree). The agency's cases decided in
    /// the year; the sample size by the rule (≤ 20 all, 21–50 40%, 51–100 30%,
    /// 101–200 20%, > 200 50); a seeded random selection, seed returned and stored.
    #[oai(
        path = "/file-reviews/samples",
        method = "post",
        operation_id = "drawReviewSample"
    )]
    async fn draw_sample(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<SampleRequest>,
    ) -> Result<Created<ReviewSample>, WriteError> {
        let b = body.0;
        let seed = match b.seed.as_deref().map(str::trim) {
            None => None,
            Some(s) => Some(
                s.parse::<u64>()
                    .map_err(|_| ServiceError::invalid("seed", "must be a decimal u64"))?,
            ),
        };
        let s = internal::draw_sample(&state.db, &auth.0, b.agency_id, b.year, seed).await?;
        Ok(Created::Created(Json(ReviewSample {
            id: s.record.id,
            agency_id: s.record.agency_id,
            year: s.record.year,
            population: s.record.population,
            required: s.record.required,
            seed: s.seed.to_string(),
            cases: s
                .cases
                .into_iter()
                .map(|(case_id, case_number)| SampledCase {
                    case_id,
                    case_number,
                })
                .collect(),
        })))
    }

    /// Get a region's review grade thresholds
    ///
    /// Roles: any key. The region's own, else the nearest ancestor's, else 90 / 60.
    #[oai(
        path = "/regions/:code/review-thresholds",
        method = "get",
        operation_id = "getReviewThresholds"
    )]
    async fn get_thresholds(
        &self,
        state: Data<&AppState>,
        _auth: ApiKey,
        code: Path<String>,
    ) -> Result<Json<ThresholdsInForce>, ReadError> {
        let (t, source) = internal::thresholds_for(&state.db, &code.0)
            .await
            .map_err(|_| ServiceError::NotFound { entity: "region" })?;
        Ok(Json(ThresholdsInForce {
            region_code: code.0,
            excellent: t.excellent,
            pass: t.pass,
            source_region: source,
        }))
    }

    /// Set a region's review grade thresholds
    ///
    /// Roles: admin, bureau (its region or below). Reviews stored before keep their
    /// grade.
    #[oai(
        path = "/regions/:code/review-thresholds",
        method = "put",
        operation_id = "setReviewThresholds"
    )]
    async fn set_thresholds(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        code: Path<String>,
        body: Json<ThresholdsBody>,
    ) -> Result<Json<ThresholdsInForce>, WriteError> {
        let t = internal::Thresholds {
            excellent: body.0.excellent,
            pass: body.0.pass,
        };
        let t = internal::set_thresholds(&state.db, &auth.0, &code.0, t).await?;
        Ok(Json(ThresholdsInForce {
            region_code: code.0.clone(),
            excellent: t.excellent,
            pass: t.pass,
            source_region: Some(code.0),
        }))
    }

    /// Store three-systems scores
    ///
    /// Roles: admin, evaluator, bureau (its subtree). Upserted on agency + period.
    #[oai(
        path = "/three-systems",
        method = "post",
        operation_id = "storeThreeSystems"
    )]
    async fn store_three_systems(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<ThreeSystemsBatch>,
    ) -> Result<Json<BatchReport>, WriteError> {
        let b = body.0;
        let rows = b.records.len();
        let records = b
            .records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    i + 1,
                    internal::ThreeSystemsInput {
                        agency_id: r.agency_id,
                        period: r.period,
                        publicity: r.publicity,
                        recording: r.recording,
                        legal_review: r.legal_review,
                        notes: r.notes,
                    },
                )
            })
            .collect();
        let report =
            internal::ingest_three_systems(&state.db, &auth.0, rows, records, Vec::new(), b.atomic)
                .await?;
        Ok(Json(report.into()))
    }

    /// Import three-systems scores (CSV/XLSX)
    ///
    /// Roles: as for storing. Columns agency_id, period, publicity, recording,
    /// legal_review, notes.
    #[oai(
        path = "/three-systems/imports",
        method = "post",
        operation_id = "importThreeSystems"
    )]
    async fn import_three_systems(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        atomic: Query<Option<bool>>,
        body: ImportBody,
    ) -> Result<Json<BatchReport>, WriteError> {
        let t = table(&auth.0, Batch::ThreeSystems, body)?;
        let (records, errors) = internal::three_systems_from_table(&t);
        let report = internal::ingest_three_systems(
            &state.db,
            &auth.0,
            t.rows.len(),
            records,
            errors,
            atomic.0.unwrap_or(false),
        )
        .await?;
        Ok(Json(report.into()))
    }

    /// List three-systems scores of a period
    ///
    /// Roles: admin (all), bureau (its subtree), agency (its own).
    #[oai(
        path = "/three-systems",
        method = "get",
        operation_id = "listThreeSystems"
    )]
    async fn list_three_systems(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        period: Query<String>,
    ) -> Result<Json<Vec<ThreeSystemsRecord>>, ReadError> {
        Ok(Json(
            internal::three_systems_of(&state.db, &auth.0, &period.0)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// Store training records
    ///
    /// Roles: admin, evaluator, bureau (its subtree), agency (its own officers).
    /// Upserted on officer + year.
    #[oai(
        path = "/training-records",
        method = "post",
        operation_id = "storeTrainingRecords"
    )]
    async fn store_training(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<TrainingBatch>,
    ) -> Result<Json<BatchReport>, WriteError> {
        let b = body.0;
        let rows = b.records.len();
        let records = b
            .records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    i + 1,
                    internal::TrainingInput {
                        officer_id: r.officer_id,
                        badge_no: r.badge_no,
                        year: r.year,
                        total_hours: r.total_hours,
                        business_hours: r.business_hours,
                        discretion_hours: r.discretion_hours,
                        exam_passed: r.exam_passed,
                        exam_score: r.exam_score,
                    },
                )
            })
            .collect();
        let report =
            internal::ingest_training(&state.db, &auth.0, rows, records, Vec::new(), b.atomic)
                .await?;
        Ok(Json(report.into()))
    }

    /// Import training records (CSV/XLSX)
    ///
    /// Roles: as for storing. Columns officer_id or badge_no, year, total_hours,
    /// business_hours, discretion_hours, exam_passed (1/0, 是/否, 通过/未通过),
    /// exam_score.
    #[oai(
        path = "/training-records/imports",
        method = "post",
        operation_id = "importTrainingRecords"
    )]
    async fn import_training(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        atomic: Query<Option<bool>>,
        body: ImportBody,
    ) -> Result<Json<BatchReport>, WriteError> {
        let t = table(&auth.0, Batch::Training, body)?;
        let (records, errors) = internal::training_from_table(&t);
        let report = internal::ingest_training(
            &state.db,
            &auth.0,
            t.rows.len(),
            records,
            errors,
            atomic.0.unwrap_or(false),
        )
        .await?;
        Ok(Json(report.into()))
    }

    /// Training against the targets, per agency
    ///
    /// Roles: admin (all), bureau (its subtree), agency (its own). Per agency and year
    /// the active officers meeting ≥ 60 hours, ≥ 60% business, ≥ 10 hours on
    /// discretion; completion (all three) and exam pass rate (target ≥ 99%).
    #[oai(
        path = "/training/summary",
        method = "get",
        operation_id = "trainingSummary"
    )]
    async fn training_summary(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        year: Query<i32>,
    ) -> Result<Json<Vec<TrainingSummary>>, ReadError> {
        Ok(Json(
            internal::training_summary(&state.db, &auth.0, year.0)
                .await?
                .into_iter()
                .map(|s| TrainingSummary {
                    agency_id: s.agency_id,
                    agency_name: s.agency_name,
                    officers: s.officers,
                    recorded: s.recorded,
                    met_hours: s.met_hours,
                    met_business_share: s.met_business_share,
                    met_discretion: s.met_discretion,
                    completed: s.completed,
                    examined: s.examined,
                    passed: s.passed,
                    completion_rate: s.completion_rate,
                    pass_rate: s.pass_rate,
                    targets_met: s.targets_met,
                })
                .collect(),
        ))
    }
}
