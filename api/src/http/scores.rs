//! `/api/v1/index-models`, `/api/v1/ahp` and `/api/v1/scores`: the assessment index.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use super::{ApiTags, Created};
use crate::service::{ServiceError, index};
use crate::startup::AppState;
use crate::store::index_model;

/// A version of an index model.
#[derive(Object, Debug)]
pub struct IndexModel {
    pub id: i64,
    pub key: String,
    pub version: i32,
    pub name: String,
    /// `{root, rules, aggregation, min_n}`: see the README for the format.
    pub definition: serde_json::Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<index_model::Model> for IndexModel {
    fn from(m: index_model::Model) -> Self {
        Self {
            id: m.id,
            key: m.key,
            version: m.version,
            name: m.name,
            definition: m.definition,
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

/// A model version to add.
#[derive(Object, Debug)]
pub struct NewIndexModel {
    /// a–z, 0–9, _; a new version when the key exists.
    pub key: String,
    pub name: String,
    pub definition: serde_json::Value,
}

/// A pairwise comparison matrix.
#[derive(Object, Debug)]
pub struct AhpRequest {
    /// n×n, positive and reciprocal (a[j][i] = 1/a[i][j]), Saaty's 1–9 scale.
    #[oai(validator(max_items = 20))]
    pub matrix: Vec<Vec<f64>>,
}

/// AHP weights and consistency.
#[derive(Object, Debug)]
pub struct AhpResult {
    pub weights: Vec<f64>,
    pub lambda_max: f64,
    /// (λmax − n)/(n − 1).
    pub ci: f64,
    /// CI / RI(n) (Saaty's RI).
    pub cr: f64,
    /// CR < 0.1.
    pub consistent: bool,
}

/// One agency's index in a list.
#[derive(Object, Debug)]
pub struct ScoreRow {
    pub agency_id: i64,
    pub agency_name: String,
    pub region_code: String,
    pub domain: String,
    /// After deductions; null when no indicator has data.
    pub score: Option<f64>,
    pub se: Option<f64>,
    /// 95% interval of the score.
    pub ci_lo: Option<f64>,
    pub ci_hi: Option<f64>,
    /// Competition rank (1224) among the compared agencies with a score.
    pub rank: Option<u32>,
    pub ranked: u64,
    /// e.g. missing_indicators, insufficient_sample:citizen_satisfaction.
    pub flags: Vec<String>,
    pub missing: Vec<String>,
    /// The previous period's score and the change since.
    pub previous: Option<f64>,
    pub change: Option<f64>,
    /// Two-sided p-value of the change (z-test on both standard errors).
    pub change_p: Option<f64>,
    /// The change holds after Benjamini–Hochberg across the agencies at 5%.
    pub change_significant: Option<bool>,
    /// Shrunk toward the compared agencies' mean (empirical Bayes).
    pub eb_score: Option<f64>,
}

/// The index of a period.
#[derive(Object, Debug)]
pub struct ScoreList {
    pub model: String,
    pub model_version: i32,
    pub period: String,
    /// Ranked first, then unranked.
    pub items: Vec<ScoreRow>,
}

/// An indicator in a breakdown.
#[derive(Object, Debug)]
pub struct IndicatorBreakdown {
    pub key: String,
    pub name: String,
    /// The source's value (1–5 mean, share 0–1, count per 100 cases, score 0–100).
    pub raw: Option<f64>,
    pub raw_se: Option<f64>,
    /// Respondents, cases or records behind it.
    pub n: Option<u64>,
    /// 0–100.
    pub value: Option<f64>,
    pub se: Option<f64>,
    /// Its weight in the composite (renormalised over present indicators).
    pub weight: f64,
    /// weight × value.
    pub contribution: f64,
    pub flags: Vec<String>,
}

/// A child's weight.
#[derive(Object, Debug)]
pub struct ChildWeight {
    pub key: String,
    pub weight: f64,
}

/// A group in a breakdown.
#[derive(Object, Debug)]
pub struct GroupBreakdown {
    pub key: String,
    pub name: String,
    /// Over its present indicators.
    pub value: Option<f64>,
    pub child_weights: Vec<ChildWeight>,
}

/// A deduction by a rule of the model.
#[derive(Object, Debug)]
pub struct Deduction {
    pub rule: String,
    pub points: f64,
}

/// Why an agency scored what it did.
#[derive(Object, Debug)]
pub struct Breakdown {
    pub model: String,
    pub model_version: i32,
    pub period: String,
    #[oai(flatten)]
    pub summary: ScoreRow,
    /// Before deductions.
    pub composite: Option<f64>,
    pub deductions: Vec<Deduction>,
    pub groups: Vec<GroupBreakdown>,
    pub indicators: Vec<IndicatorBreakdown>,
}

fn row(s: &index::AgencyScore) -> ScoreRow {
    ScoreRow {
        agency_id: s.agency_id,
        agency_name: s.agency_name.clone(),
        region_code: s.region_code.clone(),
        domain: s.domain.clone(),
        score: s.score,
        se: s.se,
        ci_lo: s.ci.map(|c| c.0),
        ci_hi: s.ci.map(|c| c.1),
        rank: s.rank,
        ranked: s.ranked as u64,
        flags: s.flags.clone(),
        missing: s.missing.clone(),
        previous: s.previous,
        change: s.change,
        change_p: s.change_p,
        change_significant: s.change_significant,
        eb_score: s.eb_score,
    }
}

/// A region's index.
#[derive(Object, Debug)]
pub struct RegionRow {
    pub region_code: String,
    pub region_name: String,
    pub score: Option<f64>,
    pub se: Option<f64>,
    pub rank: Option<u32>,
    /// Agencies combined and their weights (cases in the period, or 1 each).
    pub agencies: Vec<AgencyWeight>,
}

/// An agency's weight in its region.
#[derive(Object, Debug)]
pub struct AgencyWeight {
    pub agency_id: i64,
    pub weight: f64,
}

/// Regions' index of a period.
#[derive(Object, Debug)]
pub struct RegionList {
    pub model: String,
    pub model_version: i32,
    pub period: String,
    pub items: Vec<RegionRow>,
}

/// One period of an agency's trend.
#[derive(Object, Debug)]
pub struct TrendPoint {
    pub period: String,
    pub score: Option<f64>,
    pub se: Option<f64>,
    pub rank: Option<u32>,
    pub change_p: Option<f64>,
}

/// Export format.
#[derive(poem_openapi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
}

/// A downloaded table.
pub enum Download {
    Csv(poem_openapi::payload::Binary<Vec<u8>>, String),
    Xlsx(poem_openapi::payload::Binary<Vec<u8>>, String),
}

impl poem_openapi::ApiResponse for Download {
    fn meta() -> poem_openapi::registry::MetaResponses {
        super::download::formats(
            "The scores table: CSV (default; UTF-8 with BOM) or XLSX, Chinese headers.",
            None,
        )
    }

    fn register(_registry: &mut poem_openapi::registry::Registry) {}
}

impl poem::IntoResponse for Download {
    fn into_response(self) -> poem::Response {
        match self {
            Self::Csv(body, name) => super::download::file(super::download::CSV, body.0, &name),
            Self::Xlsx(body, name) => super::download::file(super::download::XLSX, body.0, &name),
        }
    }
}

fn csv_bytes(header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, ServiceError> {
    // A BOM so spreadsheet programs read the Chinese headers as UTF-8.
    let mut out = "\u{feff}".as_bytes().to_vec();
    let mut w = csv::Writer::from_writer(&mut out);
    super::csv_out::write_row(&mut w, header).map_err(|e| anyhow::anyhow!("{e}"))?;
    for r in rows {
        super::csv_out::write_row(&mut w, r).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    drop(w);
    Ok(out)
}

fn xlsx_bytes(header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, ServiceError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let fail = |e: rust_xlsxwriter::XlsxError| ServiceError::Internal(anyhow::anyhow!("{e}"));
    for (j, h) in header.iter().enumerate() {
        sheet.write_string(0, j as u16, h).map_err(fail)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (j, cell) in r.iter().enumerate() {
            let (row, col) = (i as u32 + 1, j as u16);
            match cell.parse::<f64>() {
                Ok(v) if !cell.is_empty() => sheet.write_number(row, col, v).map_err(fail)?,
                _ => sheet.write_string(row, col, cell).map_err(fail)?,
            };
        }
    }
    book.save_to_buffer().map_err(fail)
}

/// The index of a period as a list: ranked agencies by rank, then (unless
/// `ranked_only`) the unranked.
fn score_list(computed: &index::Computed, ranked_only: bool) -> ScoreList {
    let mut items: Vec<ScoreRow> = computed
        .agencies
        .iter()
        .filter(|s| !ranked_only || s.rank.is_some())
        .map(row)
        .collect();
    items.sort_by_key(|r| (r.rank.is_none(), r.rank, r.agency_id));
    ScoreList {
        model: computed.model.key.clone(),
        model_version: computed.model.version,
        period: computed.period.to_string(),
        items,
    }
}

/// The query of a model and period (no filters).
fn query(state: &AppState, model: Option<String>, period: String) -> index::ScoreQuery {
    index::ScoreQuery {
        model,
        period,
        anonymity_min_n: Some(state.anonymity_min_n),
        ..Default::default()
    }
}

/// Index operations.
pub struct ScoresApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Index")]
impl ScoresApi {
    /// Add an index model version
    ///
    /// Roles: admin (a model is the whole deployment's). The definition is checked: keys unique, hand weights
    /// summing to 1, AHP matrices consistent (CR < 0.1, else 422 with the CR), sources
    /// and rules valid; every problem is named by its path (`definition.root.…`).
    #[oai(
        path = "/index-models",
        method = "post",
        operation_id = "createIndexModel"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<NewIndexModel>,
    ) -> Result<Created<IndexModel>, WriteError> {
        let b = body.0;
        let m = index::create(&state.db, &auth.0, &b.key, &b.name, b.definition).await?;
        Ok(Created::Created(Json(m.into())))
    }

    /// List index models
    ///
    /// Roles: admin, bureau, agency (those who read scores). Every version, by key.
    #[oai(
        path = "/index-models",
        method = "get",
        operation_id = "listIndexModels"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
    ) -> Result<Json<Vec<IndexModel>>, ReadError> {
        index::may_read_models(&auth.0)?;
        Ok(Json(
            index::list(&state.db)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// Get an index model
    ///
    /// Roles: admin, bureau, agency. `key` (its latest version) or `key@version`.
    #[oai(
        path = "/index-models/:spec",
        method = "get",
        operation_id = "getIndexModel"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        spec: Path<String>,
    ) -> Result<Json<IndexModel>, ReadError> {
        index::may_read_models(&auth.0)?;
        Ok(Json(index::find(&state.db, &spec.0).await?.into()))
    }

    /// AHP calculator
    ///
    /// Roles: any key. Weights, λmax, CI and CR of a pairwise comparison matrix; an
    /// invalid matrix is 422 naming its first bad cell.
    #[oai(path = "/ahp", method = "post", operation_id = "ahp")]
    async fn ahp(
        &self,
        _auth: ApiKey,
        body: Json<AhpRequest>,
    ) -> Result<Json<AhpResult>, WriteError> {
        let a = pingjia_scoring::weights::ahp(&body.0.matrix, &pingjia_scoring::weights::SAATY_RI)
            .map_err(|e| ServiceError::invalid("matrix", e.to_string()))?;
        Ok(Json(AhpResult {
            consistent: a.is_consistent(),
            weights: a.weights,
            lambda_max: a.lambda_max,
            ci: a.ci,
            cr: a.cr,
        }))
    }

    /// The index of a period
    ///
    /// Roles: admin (all agencies), bureau (its subtree), agency (its own row, ranked
    /// among all). `period`: `2026`, `2026-Q3` or `2026-07`; `model`: key or
    /// key@version (default `default`); optionally only a `domain`, a `region`
    /// subtree or the agencies seated at one `level` (`city`, `county`): ranks are
    /// among the agencies compared.
    #[oai(path = "/scores", method = "get", operation_id = "listScores")]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn scores(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        period: Query<String>,
        model: Query<Option<String>>,
        domain: Query<Option<String>>,
        region: Query<Option<String>>,
        level: Query<Option<crate::domain::RegionLevel>>,
    ) -> Result<Json<ScoreList>, ReadError> {
        let filters = index::ScoreQuery {
            domain: domain.0,
            region: region.0,
            level: level.0,
            ..query(&state, model.0, period.0)
        };
        let computed = index::compute(&state.db, &auth.0, filters).await?;
        Ok(Json(score_list(&computed, false)))
    }

    /// The ranking of a period
    ///
    /// Roles: admin, bureau (its subtree), agency (its own place). The ranked agencies
    /// only, best first; ties share a rank (1224). Filters as for `/scores`.
    #[oai(
        path = "/scores/ranking",
        method = "get",
        operation_id = "scoreRanking"
    )]
    #[allow(clippy::too_many_arguments)] // one per query parameter
    async fn ranking(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        period: Query<String>,
        model: Query<Option<String>>,
        domain: Query<Option<String>>,
        region: Query<Option<String>>,
        level: Query<Option<crate::domain::RegionLevel>>,
    ) -> Result<Json<ScoreList>, ReadError> {
        let filters = index::ScoreQuery {
            domain: domain.0,
            region: region.0,
            level: level.0,
            ..query(&state, model.0, period.0)
        };
        let computed = index::compute(&state.db, &auth.0, filters).await?;
        Ok(Json(score_list(&computed, true)))
    }

    /// The index of the regions
    ///
    /// Roles: admin, bureau (its subtree). The compared agencies' scores combined per
    /// county (or city, `level=city`), weighted by their cases in the period or equally
    /// as the model says; ranked.
    #[oai(
        path = "/scores/regions",
        method = "get",
        operation_id = "regionScores"
    )]
    async fn regions(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        period: Query<String>,
        model: Query<Option<String>>,
        level: Query<Option<crate::domain::RegionLevel>>,
    ) -> Result<Json<RegionList>, ReadError> {
        let computed = index::compute(&state.db, &auth.0, query(&state, model.0, period.0)).await?;
        let level = level.0.unwrap_or(crate::domain::RegionLevel::County);
        let mut items: Vec<RegionRow> = index::by_region(&state.db, &auth.0, &computed, level)
            .await?
            .into_iter()
            .map(|r| RegionRow {
                region_code: r.region_code,
                region_name: r.region_name,
                score: r.score,
                se: r.se,
                rank: r.rank,
                agencies: r
                    .agencies
                    .into_iter()
                    .map(|(agency_id, weight)| AgencyWeight { agency_id, weight })
                    .collect(),
            })
            .collect();
        items.sort_by_key(|r| (r.rank.is_none(), r.rank));
        Ok(Json(RegionList {
            model: computed.model.key,
            model_version: computed.model.version,
            period: computed.period.to_string(),
            items,
        }))
    }

    /// An agency's trend
    ///
    /// Roles: admin, bureau (its subtree), agency (its own). The `periods` (default 4,
    /// up to 12) periods ending with `period`, each with score, rank and the p-value of
    /// its change from the one before.
    #[oai(path = "/scores/trend", method = "get", operation_id = "scoreTrend")]
    async fn trend(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        agency_id: Query<i64>,
        period: Query<String>,
        model: Query<Option<String>>,
        periods: Query<Option<u32>>,
    ) -> Result<Json<Vec<TrendPoint>>, ReadError> {
        let count = periods.0.unwrap_or(4);
        if !(1..=12).contains(&count) {
            return Err(ServiceError::invalid("periods", "must be 1–12").into());
        }
        let mut at = crate::domain::period::Period::parse(&period.0)
            .map_err(|e| ServiceError::invalid("period", e.to_string()))?;
        let mut points = Vec::new();
        for _ in 0..count {
            let computed = index::compute(
                &state.db,
                &auth.0,
                query(&state, model.0.clone(), at.to_string()),
            )
            .await?;
            let s = computed
                .agencies
                .iter()
                .find(|s| s.agency_id == agency_id.0)
                .ok_or(ServiceError::NotFound { entity: "agency" })?;
            points.push(TrendPoint {
                period: at.to_string(),
                score: s.score,
                se: s.se,
                rank: s.rank,
                change_p: s.change_p,
            });
            at = at.previous();
        }
        points.reverse();
        Ok(Json(points))
    }

    /// Download the index (CSV or XLSX)
    ///
    /// Roles: as for the index. Chinese headers: rank, agency, region, domain, score
    /// with its interval, change and its p-value and BH decision, shrunk score,
    /// deductions, missing indicators, flags, and each indicator's raw value and score.
    #[oai(path = "/scores/export", method = "get", operation_id = "exportScores")]
    async fn export(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        period: Query<String>,
        model: Query<Option<String>>,
        format: Query<Option<Format>>,
    ) -> Result<Download, ReadError> {
        let computed = index::compute(&state.db, &auth.0, query(&state, model.0, period.0)).await?;
        let (header, rows) = index::table(&computed);
        let name = format!("scores-{}-{}", computed.model.key, computed.period);
        Ok(match format.0.unwrap_or(Format::Csv) {
            Format::Csv => Download::Csv(
                poem_openapi::payload::Binary(csv_bytes(&header, &rows)?),
                format!("attachment; filename=\"{name}.csv\""),
            ),
            Format::Xlsx => Download::Xlsx(
                poem_openapi::payload::Binary(xlsx_bytes(&header, &rows)?),
                format!("attachment; filename=\"{name}.xlsx\""),
            ),
        })
    }

    /// One agency's breakdown
    ///
    /// Roles: admin, bureau (its subtree), agency (its own). Every group and indicator
    /// with its raw value, 0–100 value, weight and contribution, the deductions, flags
    /// and rank.
    #[oai(
        path = "/scores/agencies/:id",
        method = "get",
        operation_id = "agencyScore"
    )]
    async fn agency(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        period: Query<String>,
        model: Query<Option<String>>,
    ) -> Result<Json<Breakdown>, ReadError> {
        let computed = index::compute(&state.db, &auth.0, query(&state, model.0, period.0)).await?;
        let s = computed
            .agencies
            .iter()
            .find(|s| s.agency_id == id.0)
            .ok_or(ServiceError::NotFound { entity: "agency" })?;
        Ok(Json(Breakdown {
            model: computed.model.key.clone(),
            model_version: computed.model.version,
            period: computed.period.to_string(),
            summary: row(s),
            composite: s.composite,
            deductions: s
                .deductions
                .iter()
                .map(|(rule, points)| Deduction {
                    rule: rule.clone(),
                    points: *points,
                })
                .collect(),
            groups: s
                .groups
                .iter()
                .map(|g| GroupBreakdown {
                    key: g.key.clone(),
                    name: g.name.clone(),
                    value: g.value,
                    child_weights: g
                        .child_weights
                        .iter()
                        .map(|(key, weight)| ChildWeight {
                            key: key.clone(),
                            weight: *weight,
                        })
                        .collect(),
                })
                .collect(),
            indicators: s
                .indicators
                .iter()
                .map(|i| IndicatorBreakdown {
                    key: i.key.clone(),
                    name: i.name.clone(),
                    raw: i.raw.map(|r| r.value),
                    raw_se: i.raw.and_then(|r| r.se),
                    n: i.raw.and_then(|r| r.n),
                    value: i.value,
                    se: i.se,
                    weight: i.weight,
                    contribution: i.contribution,
                    flags: i.flags.clone(),
                })
                .collect(),
        }))
    }
}
