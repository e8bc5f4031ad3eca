//! `/api/v1/campaigns`, `/api/v1/cases` and the public answering endpoints.

use chrono::{DateTime, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ApiError, PublicError, ReadError, WriteError};
use super::{ApiTags, Created};
use crate::domain::questionnaire::Question;
use crate::service::{ServiceError, campaigns, cases, surveys};
use crate::startup::AppState;
use crate::store::{campaign, case};

/// A survey campaign (调查批次).
#[derive(Object, Debug)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub questionnaire_version_id: i64,
    pub region_code: String,
    #[oai(validator(max_items = 5000))]
    pub agency_ids: Option<Vec<i64>>,
    /// `invitation` or `open`.
    pub mode: String,
    /// `draft`, `open` or `closed`.
    pub status: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub too_fast_secs: i32,
    /// `{agency_id: quota}` of open campaigns.
    pub quotas: Option<serde_json::Value>,
}

impl From<campaign::Model> for Campaign {
    fn from(m: campaign::Model) -> Self {
        Self {
            agency_ids: campaigns::agency_list(&m),
            id: m.id,
            name: m.name,
            questionnaire_version_id: m.questionnaire_version_id,
            region_code: m.region_code,
            mode: m.mode,
            status: m.status,
            period_start: m.period_start,
            period_end: m.period_end,
            opens_at: m.opens_at,
            closes_at: m.closes_at,
            too_fast_secs: m.too_fast_secs,
            quotas: m.quotas,
        }
    }
}

/// A campaign to create (as a draft).
#[derive(Object, Debug)]
pub struct CreateCampaign {
    pub name: String,
    pub questionnaire_id: i64,
    /// A published version number.
    pub version: i32,
    /// The region subtree covered.
    pub region_code: String,
    /// Optionally only these agencies (within the region).
    #[oai(validator(max_items = 5000))]
    pub agency_ids: Option<Vec<i64>>,
    /// `invitation` (one-time links) or `open` (public link).
    pub mode: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Completions faster than this many seconds are flagged (default 20).
    pub too_fast_secs: Option<i32>,
    /// Most answers per agency for open campaigns.
    #[oai(default, validator(max_items = 5000))]
    pub quotas: Vec<Quota>,
}

/// A per-agency quota.
#[derive(Object, Debug)]
pub struct Quota {
    pub agency_id: i64,
    pub quota: i32,
}

/// Target state of a campaign.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum CampaignStatus {
    Open,
    Closed,
}

/// A state change.
#[derive(Object, Debug)]
pub struct Transition {
    pub status: CampaignStatus,
}

/// An enforcement case (执法案件) as submitted.
#[derive(Object, Debug)]
pub struct CaseInput {
    pub agency_id: i64,
    /// The agency's case number (案号); unique per agency.
    pub case_number: String,
    /// inspection, penalty, coercion, license or levy.
    pub kind: String,
    /// simple or general.
    pub procedure: String,
    /// 统一社会信用代码 of the enterprise concerned (registered first).
    pub enterprise_uscc: Option<String>,
    #[oai(default, validator(max_items = 50))]
    pub officer_ids: Vec<i64>,
    pub decision_date: NaiveDate,
    #[oai(default)]
    pub hearing_held: bool,
    #[oai(default)]
    pub complaint_sourced: bool,
    #[oai(default)]
    pub officer_complained: bool,
    #[oai(default)]
    pub decision_overturned: bool,
}

/// Up to 1,000 cases; retrying the same batch changes nothing.
#[derive(Object, Debug)]
pub struct CaseBatch {
    pub cases: Vec<CaseInput>,
}

/// A stored case.
#[derive(Object, Debug)]
pub struct Case {
    pub id: i64,
    pub agency_id: i64,
    pub case_number: String,
    pub kind: String,
    pub procedure: String,
    pub decision_date: NaiveDate,
    /// 一案一码: the public case code.
    pub case_code: String,
    /// `false` when the case was already stored (idempotent retry).
    pub created: bool,
}

impl Case {
    fn from(m: case::Model, created: bool) -> Self {
        Self {
            id: m.id,
            agency_id: m.agency_id,
            case_number: m.case_number,
            kind: m.kind,
            procedure: m.procedure,
            decision_date: m.decision_date,
            case_code: m.case_code,
            created,
        }
    }
}

/// Output format of a list export.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum ListFormat {
    Json,
    Csv,
    Xlsx,
}

/// A pending return visit (for phone visits, 电话回访).
#[derive(Object, Debug)]
pub struct PendingVisit {
    pub invitation_id: i64,
    pub agency: String,
    pub case_number: Option<String>,
    pub case_code: Option<String>,
    pub case_kind: Option<String>,
    pub decision_date: Option<NaiveDate>,
    pub enterprise: Option<String>,
    pub enterprise_uscc: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// The pending visit list in the requested format.
#[derive(Debug)]
pub enum VisitList {
    /// JSON list.
    Json(Json<Vec<PendingVisit>>),
    /// CSV (UTF-8 with BOM for spreadsheet programs), Chinese headers.
    Csv(poem_openapi::payload::PlainText<String>, String),
    /// XLSX workbook, Chinese headers.
    Xlsx(poem_openapi::payload::Binary<Vec<u8>>, String),
}

impl poem_openapi::ApiResponse for VisitList {
    fn meta() -> poem_openapi::registry::MetaResponses {
        use poem_openapi::payload::Payload;
        super::download::formats(
            "The pending visits: a JSON list (default), or CSV or XLSX with Chinese headers.",
            Some(<Json<Vec<PendingVisit>> as Payload>::schema_ref()),
        )
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        use poem_openapi::payload::Payload;
        <Json<Vec<PendingVisit>> as Payload>::register(registry);
    }
}

impl poem::IntoResponse for VisitList {
    fn into_response(self) -> poem::Response {
        match self {
            Self::Json(list) => list.into_response(),
            Self::Csv(text, name) => super::download::file(super::download::CSV, text.0, &name),
            Self::Xlsx(bytes, name) => super::download::file(super::download::XLSX, bytes.0, &name),
        }
    }
}

/// Column headers of the visit list.
const VISIT_HEADERS: [&str; 9] = [
    "邀请编号",
    "执法机关",
    "案号",
    "一案一码",
    "案件类型",
    "决定日期",
    "企业名称",
    "统一社会信用代码",
    "回访截止时间",
];

fn visit_cells(v: &surveys::PendingVisit) -> [String; 9] {
    [
        v.invitation_id.to_string(),
        v.agency.clone(),
        v.case_number.clone().unwrap_or_default(),
        v.case_code.clone().unwrap_or_default(),
        v.case_kind.clone().unwrap_or_default(),
        v.decision_date.map(|d| d.to_string()).unwrap_or_default(),
        v.enterprise.clone().unwrap_or_default(),
        v.enterprise_uscc.clone().unwrap_or_default(),
        v.expires_at.to_rfc3339(),
    ]
}

fn visits_csv(visits: &[surveys::PendingVisit]) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    super::csv_out::write_row(&mut w, VISIT_HEADERS).map_err(|e| e.to_string())?;
    for v in visits {
        super::csv_out::write_row(&mut w, visit_cells(v)).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    Ok(format!("\u{feff}{}", String::from_utf8_lossy(&bytes)))
}

fn visits_xlsx(visits: &[surveys::PendingVisit]) -> Result<Vec<u8>, String> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("待回访").map_err(|e| e.to_string())?;
    for (c, h) in VISIT_HEADERS.iter().enumerate() {
        sheet
            .write_string(0, c as u16, *h)
            .map_err(|e| e.to_string())?;
    }
    for (r, v) in visits.iter().enumerate() {
        for (c, cell) in visit_cells(v).iter().enumerate() {
            sheet
                .write_string(r as u32 + 1, c as u16, cell)
                .map_err(|e| e.to_string())?;
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

/// An import file.
#[derive(poem_openapi::ApiRequest, Debug)]
pub enum ImportBody {
    /// CSV, UTF-8 (a BOM is fine).
    #[oai(content_type = "text/csv")]
    Csv(poem_openapi::payload::Binary<Vec<u8>>),
    /// XLSX workbook; the first worksheet is read.
    #[oai(content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]
    Xlsx(poem_openapi::payload::Binary<Vec<u8>>),
}

/// One rejected cell (row 0 is the header).
#[derive(Object, Debug)]
pub struct ImportError {
    pub row: u64,
    pub column: String,
    pub reason: String,
}

/// The first errors of a report (at most
/// [`MAX_REPORTED_ERRORS`](crate::service::imports::limits::MAX_REPORTED_ERRORS)) and
/// how many there were in all.
pub fn reported(errors: Vec<crate::service::imports::RowError>) -> (u64, Vec<ImportError>) {
    let count = errors.len() as u64;
    let listed = errors
        .into_iter()
        .take(crate::service::imports::limits::MAX_REPORTED_ERRORS)
        .map(|e| ImportError {
            row: e.row as u64,
            column: e.column,
            reason: e.reason,
        })
        .collect();
    (count, listed)
}

/// What an import did.
#[derive(Object, Debug)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    /// Responses stored (0 with `atomic=true` when any row was bad).
    pub stored: u64,
    /// The first 100 rejected cells.
    pub errors: Vec<ImportError>,
    /// How many cells were rejected in all (`errors` lists the first 100).
    pub error_count: u64,
}

/// Export file format.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// An exported file, streamed.
pub enum ExportFile {
    /// CSV (UTF-8 with BOM), one row per response, Chinese headers (question texts).
    Csv(poem_openapi::payload::Binary<poem::Body>, String),
    /// XLSX workbook with the same columns.
    Xlsx(poem_openapi::payload::Binary<poem::Body>, String),
}

impl poem_openapi::ApiResponse for ExportFile {
    fn meta() -> poem_openapi::registry::MetaResponses {
        super::download::formats(
            "The responses: CSV (default; UTF-8 with BOM) or XLSX, one row per response, Chinese headers.",
            None,
        )
    }

    fn register(_registry: &mut poem_openapi::registry::Registry) {}
}

impl poem::IntoResponse for ExportFile {
    fn into_response(self) -> poem::Response {
        match self {
            Self::Csv(body, name) => super::download::file(super::download::CSV, body.0, &name),
            Self::Xlsx(body, name) => super::download::file(super::download::XLSX, body.0, &name),
        }
    }
}

impl std::fmt::Debug for ExportFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExportFile::Csv(..) => "ExportFile::Csv",
            ExportFile::Xlsx(..) => "ExportFile::Xlsx",
        })
    }
}

fn csv_bytes(rows: &[Vec<String>]) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        super::csv_out::write_row(&mut w, row)?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Streams the export as CSV, one database page at a time.
fn csv_stream(
    db: sea_orm::DatabaseConnection,
    layout: surveys::ExportLayout,
) -> std::io::Result<poem::Body> {
    let mut header = "\u{feff}".as_bytes().to_vec();
    header.extend(csv_bytes(std::slice::from_ref(&layout.headers))?);
    // (pending header, last exported id, finished)
    let state = (Some(header), 0i64, false);
    let stream = futures_util::stream::unfold(state, move |(header, after, finished)| {
        let (db, layout) = (db.clone(), layout.clone());
        async move {
            if let Some(h) = header {
                return Some((Ok(h), (None, after, false)));
            }
            if finished {
                return None;
            }
            match surveys::export_page(&db, &layout, after).await {
                Ok((rows, _)) if rows.is_empty() => None,
                Ok((rows, last)) => Some((csv_bytes(&rows), (None, last, false))),
                Err(e) => {
                    tracing::error!(error = %e, "export failed mid-stream");
                    Some((
                        Err(std::io::Error::other("export failed")),
                        (None, after, true),
                    ))
                }
            }
        }
    });
    Ok(poem::Body::from_bytes_stream(stream))
}

/// Builds the XLSX in constant-memory mode (rows go to a temporary file as written),
/// then streams the file.
async fn xlsx_body(
    db: &sea_orm::DatabaseConnection,
    layout: &surveys::ExportLayout,
) -> Result<poem::Body, ApiError> {
    let failed = |e: &dyn std::fmt::Display| ApiError::internal(&format!("xlsx export: {e}"));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(|e| failed(&e))?;
    sheet.set_name("答卷").map_err(|e| failed(&e))?;
    for (c, h) in layout.headers.iter().enumerate() {
        sheet.write_string(0, c as u16, h).map_err(|e| failed(&e))?;
    }
    let (mut after, mut r) = (0i64, 1u32);
    loop {
        let (rows, last) = surveys::export_page(db, layout, after).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            for (c, v) in row.iter().enumerate() {
                sheet.write_string(r, c as u16, v).map_err(|e| failed(&e))?;
            }
            r += 1;
        }
        after = last;
    }
    let file = tempfile::NamedTempFile::new().map_err(|e| failed(&e))?;
    book.save(file.path()).map_err(|e| failed(&e))?;
    // Opened before the temporary file is removed; the open handle keeps the data.
    let reader = tokio::fs::File::open(file.path())
        .await
        .map_err(|e| failed(&e))?;
    Ok(poem::Body::from_async_read(reader))
}

/// Return-visit rules (回访规则).
#[derive(Object, Debug)]
pub struct RulesBody {
    /// Case kinds visited (default inspection, penalty, coercion).
    #[oai(validator(max_items = 20))]
    pub kinds: Vec<String>,
    /// Share of general-procedure cases visited (policy: 1).
    pub general_rate: f64,
    /// Share of simple-procedure cases visited.
    pub simple_rate: f64,
    /// Days after the decision within which the visit happens (default 30).
    pub window_days: i64,
}

/// Rules in force for a region.
#[derive(Object, Debug)]
pub struct Rules {
    pub kinds: Vec<String>,
    pub general_rate: f64,
    pub simple_rate: f64,
    pub window_days: i64,
    /// The region whose rules apply; null for the built-in defaults.
    pub source_region: Option<String>,
}

impl Rules {
    fn from(r: surveys::ReturnVisitRules, source_region: Option<String>) -> Self {
        Self {
            kinds: r.kinds,
            general_rate: r.general_rate,
            simple_rate: r.simple_rate,
            window_days: r.window_days,
            source_region,
        }
    }
}

/// Overrides of the return-visit rules for one generation.
#[derive(Object, Debug)]
pub struct RulesInput {
    #[oai(validator(max_items = 20))]
    pub kinds: Option<Vec<String>>,
    pub general_rate: Option<f64>,
    pub simple_rate: Option<f64>,
    pub window_days: Option<i64>,
}

/// Generation request.
#[derive(Object, Debug)]
pub struct GenerateInvitations {
    /// Seed of the random selection (decimal u64); a random one is used and returned if absent.
    pub seed: Option<String>,
    pub rules: Option<RulesInput>,
}

/// A new invitation; the token is shown only here.
#[derive(Object, Debug)]
pub struct IssuedInvitation {
    pub id: i64,
    pub agency_id: i64,
    pub case_code: Option<String>,
    /// One-time token for `/api/v1/public/invitations/{token}`.
    pub token: String,
    /// Web link to answer.
    pub link: String,
    /// Telegram deep link, when a bot is configured.
    pub bot_link: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Generated invitations.
#[derive(Object, Debug)]
pub struct GeneratedInvitations {
    /// The seed used (publish it: 双随机、一公开).
    pub seed: String,
    /// Cases in scope, period and kinds not yet invited.
    pub eligible: u64,
    pub invitations: Vec<IssuedInvitation>,
}

/// How to group results.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ResultsBy {
    Agency,
    Region,
    Dimension,
}

/// One group × dimension estimate (0–100).
#[derive(Object, Debug)]
pub struct ResultRow {
    /// Agency id, region code or `all`.
    pub group: String,
    /// A dimension, or `overall_index` for every scored item together.
    pub dimension: String,
    pub n: u64,
    pub n_eff: Option<f64>,
    pub score: Option<f64>,
    pub se: Option<f64>,
    pub ci_lo: Option<f64>,
    pub ci_hi: Option<f64>,
    pub alpha: Option<f64>,
    pub flags: Vec<String>,
}

/// Public view of a questionnaire behind an invitation.
#[derive(Object, Debug)]
pub struct PublicSurvey {
    pub campaign: String,
    /// The agency whose enforcement is evaluated.
    pub agency: String,
    pub version: i32,
    pub questions: Vec<Question>,
    pub expires_at: DateTime<Utc>,
}

/// Answers to submit.
#[derive(Object, Debug)]
pub struct SubmitAnswers {
    /// `{question_key: answer}`: likert5 1–5, yes_no true/false, nps 0–10,
    /// single_choice an option value, multi_choice a list, text a string.
    pub answers: serde_json::Value,
    /// Seconds the respondent took (for the too-fast quality flag).
    pub duration_secs: Option<i32>,
}

/// A respondent's answers to their invitation.
#[derive(Object, Debug)]
pub struct PublicAnswers {
    /// `{question_key: answer}`: likert5 1–5, yes_no true/false, nps 0–10,
    /// single_choice an option value, multi_choice a list, text a string.
    pub answers: serde_json::Value,
    /// Seconds the respondent took (for the too-fast quality flag).
    pub duration_secs: Option<i32>,
    /// How the respondent reached the questionnaire: `link` (default), `qr` or `bot`.
    pub via: Option<String>,
}

/// A stored answer sheet.
#[derive(Object, Debug)]
pub struct Submitted {
    pub response_id: i64,
    pub submitted_at: DateTime<Utc>,
}

/// An agency a respondent may evaluate.
#[derive(Object, Debug)]
pub struct PublicAgency {
    pub id: i64,
    pub name: String,
}

/// Public view of an open campaign.
#[derive(Object, Debug)]
pub struct PublicOpenSurvey {
    pub campaign: String,
    pub version: i32,
    pub questions: Vec<Question>,
    pub agencies: Vec<PublicAgency>,
    pub closes_at: DateTime<Utc>,
}

/// An answer to an open campaign.
#[derive(Object, Debug)]
pub struct OpenAnswerBody {
    /// The agency evaluated (one of the campaign's `agencies`).
    pub agency_id: i64,
    /// `{question_key: answer}` as for invitations.
    pub answers: serde_json::Value,
    pub duration_secs: Option<i32>,
}

/// `201 Created`; a replayed idempotent request says so in a header.
#[derive(poem_openapi::ApiResponse, Debug)]
pub enum OpenAnswerCreated {
    /// Stored (or, with `Idempotent-Replayed: true`, stored earlier for the same key).
    #[oai(status = 201)]
    Created(
        Json<Submitted>,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

/// Image format of a QR code.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum QrFormat {
    Png,
    Svg,
}

/// A QR code image.
#[derive(poem_openapi::ApiResponse, Debug)]
pub enum QrImage {
    /// PNG image.
    #[oai(status = 200, content_type = "image/png")]
    Png(poem_openapi::payload::Binary<Vec<u8>>),
    /// SVG image.
    #[oai(status = 200, content_type = "image/svg+xml")]
    Svg(poem_openapi::payload::PlainText<String>),
}

/// Renders `text` as a QR image.
fn qr(text: &str, format: Option<QrFormat>) -> Result<QrImage, String> {
    match format.unwrap_or(QrFormat::Png) {
        QrFormat::Png => {
            crate::domain::qr::png(text).map(|b| QrImage::Png(poem_openapi::payload::Binary(b)))
        }
        QrFormat::Svg => {
            crate::domain::qr::svg(text).map(|s| QrImage::Svg(poem_openapi::payload::PlainText(s)))
        }
    }
}

/// A QR rendering failure is internal: logged, reported with the request id only.
fn qr_failed(reason: String) -> PublicError {
    ApiError::internal(&reason).into()
}

/// Public view of a case code (一案一码); no personal data.
#[derive(Object, Debug)]
pub struct PublicCase {
    pub case_code: String,
    pub agency: String,
    pub kind: String,
    pub decision_date: NaiveDate,
}

fn parse_seed(seed: Option<String>) -> Result<Option<u64>, ServiceError> {
    seed.map(|s| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| ServiceError::invalid("seed", "must be a decimal integer below 2^64"))
    })
    .transpose()
}

/// Campaign and case operations.
pub struct SurveysApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Surveys")]
impl SurveysApi {
    /// List campaigns
    ///
    /// Roles: admin, channel, evaluator (all); bureau (its subtree and campaigns covering
    /// it); agency (campaigns covering it).
    #[oai(path = "/campaigns", method = "get", operation_id = "listCampaigns")]
    async fn list_campaigns(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
    ) -> Result<Json<Vec<Campaign>>, ReadError> {
        let all = campaigns::list(&state.db, &auth.0).await?;
        Ok(Json(all.into_iter().map(Into::into).collect()))
    }

    /// Create a campaign
    ///
    /// Roles: admin, bureau (region in its subtree). Binds a published questionnaire
    /// version; starts as a draft.
    #[oai(path = "/campaigns", method = "post", operation_id = "createCampaign")]
    async fn create_campaign(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<CreateCampaign>,
    ) -> Result<Created<Campaign>, WriteError> {
        let b = body.0;
        let new = campaigns::NewCampaign {
            name: b.name,
            questionnaire_id: b.questionnaire_id,
            version: b.version,
            region_code: b.region_code,
            agency_ids: b.agency_ids,
            mode: b.mode,
            period_start: b.period_start,
            period_end: b.period_end,
            opens_at: b.opens_at,
            closes_at: b.closes_at,
            too_fast_secs: b.too_fast_secs,
            quotas: b
                .quotas
                .into_iter()
                .map(|q| (q.agency_id, q.quota))
                .collect(),
        };
        Ok(Created::Created(Json(
            campaigns::create(&state.db, &auth.0, new).await?.into(),
        )))
    }

    /// Get a campaign
    ///
    /// Roles: as for listing; otherwise 404.
    #[oai(path = "/campaigns/:id", method = "get", operation_id = "getCampaign")]
    async fn get_campaign(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
    ) -> Result<Json<Campaign>, ReadError> {
        Ok(Json(campaigns::get(&state.db, &auth.0, id.0).await?.into()))
    }

    /// Open or close a campaign
    ///
    /// Roles: admin, bureau (owner). draft → open → closed; anything else is 409.
    #[oai(
        path = "/campaigns/:id/status",
        method = "post",
        operation_id = "transitionCampaign"
    )]
    async fn transition(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<Transition>,
    ) -> Result<Json<Campaign>, WriteError> {
        let to = match body.0.status {
            CampaignStatus::Open => campaigns::OPEN,
            CampaignStatus::Closed => campaigns::CLOSED,
        };
        Ok(Json(
            campaigns::transition(&state.db, &auth.0, id.0, to)
                .await?
                .into(),
        ))
    }

    /// Generate return-visit invitations
    ///
    /// Roles: admin, bureau (owner). Priority cases always; others by procedure at the
    /// rules' rates, chosen reproducibly from the seed. Tokens are returned only here.
    #[oai(
        path = "/campaigns/:id/invitations",
        method = "post",
        operation_id = "generateInvitations"
    )]
    async fn generate(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<GenerateInvitations>,
    ) -> Result<Created<GeneratedInvitations>, WriteError> {
        let b = body.0;
        let seed = parse_seed(b.seed)?;
        let overrides = |rules: &mut surveys::ReturnVisitRules| {
            if let Some(r) = b.rules {
                if let Some(kinds) = r.kinds {
                    rules.kinds = kinds;
                }
                rules.general_rate = r.general_rate.unwrap_or(rules.general_rate);
                rules.simple_rate = r.simple_rate.unwrap_or(rules.simple_rate);
                rules.window_days = r.window_days.unwrap_or(rules.window_days);
            }
        };
        let g = surveys::generate_invitations(&state.db, &auth.0, id.0, overrides, seed).await?;
        Ok(Created::Created(Json(GeneratedInvitations {
            seed: g.seed.to_string(),
            eligible: g.eligible as u64,
            invitations: g
                .issued
                .into_iter()
                .map(|i| IssuedInvitation {
                    id: i.invitation.id,
                    agency_id: i.invitation.agency_id,
                    case_code: i.case_code,
                    link: state.invitation_link(&i.token),
                    bot_link: state.bot_link(&i.token),
                    token: i.token,
                    expires_at: i.invitation.expires_at,
                })
                .collect(),
        })))
    }

    /// Campaign results
    ///
    /// Roles: admin, evaluator, bureau (responses about agencies in its subtree only);
    /// agency (its own aggregates only, groups of fewer than `anonymity_min_n`
    /// respondents (default 5) left out, `exclude_flagged` ignored). Per group and
    /// dimension: the 0–100 score with its CI, n, n_eff, α and flags, computed by
    /// pingjia-scoring; `exclude_flagged` drops straight-lined and too-fast responses.
    #[oai(
        path = "/campaigns/:id/results",
        method = "get",
        operation_id = "campaignResults"
    )]
    async fn results(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        by: Query<Option<ResultsBy>>,
        exclude_flagged: Query<Option<bool>>,
        min_n: Query<Option<u32>>,
    ) -> Result<Json<Vec<ResultRow>>, ReadError> {
        let by = match by.0.unwrap_or(ResultsBy::Agency) {
            ResultsBy::Agency => surveys::GroupBy::Agency,
            ResultsBy::Region => surveys::GroupBy::Region,
            ResultsBy::Dimension => surveys::GroupBy::Dimension,
        };
        let rows = surveys::results(
            &state.db,
            &auth.0,
            id.0,
            by,
            exclude_flagged.0.unwrap_or(false),
            min_n.0.unwrap_or(30) as usize,
            state.anonymity_min_n as usize,
        )
        .await?;
        Ok(Json(
            rows.into_iter()
                .map(|r| ResultRow {
                    group: r.group,
                    dimension: r.dimension,
                    n: r.score.n,
                    n_eff: r.score.n_eff,
                    score: r.score.mean,
                    se: r.score.se,
                    ci_lo: r.score.ci_lo,
                    ci_hi: r.score.ci_hi,
                    alpha: r.score.alpha,
                    flags: r
                        .score
                        .flags
                        .iter()
                        .map(|f| f.as_str().to_owned())
                        .collect(),
                })
                .collect(),
        ))
    }

    /// Import offline results
    ///
    /// Roles: admin, evaluator, bureau (campaign in its subtree). CSV or XLSX: a header
    /// row with `agency_id` (or `agency_code`), question keys (or export headers ending
    /// in `【key】`), optional `duration_secs` and `weight`. Returns every bad cell as
    /// (row, column, reason); valid rows are stored, or none with `atomic=true`.
    #[oai(
        path = "/campaigns/:id/imports",
        method = "post",
        operation_id = "importResponses"
    )]
    async fn import(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        atomic: Query<Option<bool>>,
        body: ImportBody,
    ) -> Result<Json<ImportReport>, WriteError> {
        crate::service::imports::authorize(&auth.0)?;
        let read = || match body {
            ImportBody::Csv(b) => crate::service::imports::read_csv(&b.0),
            ImportBody::Xlsx(b) => crate::service::imports::read_xlsx(&b.0),
        };
        let report = crate::service::imports::import(
            &state.db,
            &auth.0,
            id.0,
            read,
            atomic.0.unwrap_or(false),
            state.max_response_weight,
        )
        .await?;
        let (error_count, errors) = reported(report.errors);
        Ok(Json(ImportReport {
            rows: report.rows as u64,
            stored: report.stored as u64,
            errors,
            error_count,
        }))
    }

    /// Export responses
    ///
    /// Roles: admin, evaluator, bureau (responses about its subtree); never agency keys
    /// (answers are anonymous to the inspected agency). One row per response, Chinese
    /// headers (question texts) and coded answers; streamed page by page.
    #[oai(
        path = "/campaigns/:id/responses",
        method = "get",
        operation_id = "exportResponses"
    )]
    async fn export(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        format: Query<Option<ExportFormat>>,
    ) -> Result<ExportFile, ReadError> {
        let layout = surveys::export_layout(&state.db, &auth.0, id.0).await?;
        let file =
            |ext: &str| format!("attachment; filename=\"campaign-{}-responses.{ext}\"", id.0);
        Ok(match format.0.unwrap_or(ExportFormat::Csv) {
            ExportFormat::Csv => {
                let body =
                    csv_stream(state.db.clone(), layout).map_err(|e| ApiError::internal(&e))?;
                ExportFile::Csv(poem_openapi::payload::Binary(body), file("csv"))
            }
            ExportFormat::Xlsx => {
                let body = xlsx_body(&state.db, &layout).await?;
                ExportFile::Xlsx(poem_openapi::payload::Binary(body), file("xlsx"))
            }
        })
    }

    /// Pending return visits
    ///
    /// Roles: admin, evaluator, bureau (its subtree). Pending, unexpired invitations with
    /// case and enterprise, for phone visits; `format` json, csv or xlsx.
    #[oai(
        path = "/campaigns/:id/visits",
        method = "get",
        operation_id = "pendingVisits"
    )]
    async fn visits(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        format: Query<Option<ListFormat>>,
    ) -> Result<VisitList, ReadError> {
        let visits = surveys::pending_visits(&state.db, &auth.0, id.0).await?;
        let file = |ext: &str| format!("attachment; filename=\"campaign-{}-visits.{ext}\"", id.0);
        let failed = |e: String| ReadError::from(ApiError::internal(&e));
        Ok(match format.0.unwrap_or(ListFormat::Json) {
            ListFormat::Json => VisitList::Json(Json(
                visits
                    .into_iter()
                    .map(|v| PendingVisit {
                        invitation_id: v.invitation_id,
                        agency: v.agency,
                        case_number: v.case_number,
                        case_code: v.case_code,
                        case_kind: v.case_kind,
                        decision_date: v.decision_date,
                        enterprise: v.enterprise,
                        enterprise_uscc: v.enterprise_uscc,
                        expires_at: v.expires_at,
                    })
                    .collect(),
            )),
            ListFormat::Csv => VisitList::Csv(
                poem_openapi::payload::PlainText(visits_csv(&visits).map_err(failed)?),
                file("csv"),
            ),
            ListFormat::Xlsx => VisitList::Xlsx(
                poem_openapi::payload::Binary(visits_xlsx(&visits).map_err(failed)?),
                file("xlsx"),
            ),
        })
    }

    /// Enter a phone answer
    ///
    /// Roles: admin, evaluator, bureau (its subtree). Answers collected by phone for an
    /// invitation (channel `phone`); the same rules as public answers, once per invitation.
    #[oai(
        path = "/invitations/:id/responses",
        method = "post",
        operation_id = "phoneAnswer"
    )]
    async fn phone_answer(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<SubmitAnswers>,
    ) -> Result<Created<Submitted>, WriteError> {
        let body = body.0;
        let answers = answer_sheet(body.answers)?;
        let r = surveys::answer_by_phone(
            &state.db,
            &state.intake,
            &auth.0,
            id.0,
            answers,
            body.duration_secs,
        )
        .await?;
        Ok(Created::Created(Json(Submitted {
            response_id: r.response_id,
            submitted_at: r.submitted_at,
        })))
    }

    /// Return-visit rules of a region
    ///
    /// Roles: any key. The rules in force: the region's own, else the nearest
    /// ancestor's, else the defaults (`source_region` null).
    #[oai(
        path = "/regions/:code/return-visit-rules",
        method = "get",
        operation_id = "getReturnVisitRules"
    )]
    async fn get_rules(
        &self,
        state: Data<&AppState>,
        _auth: ApiKey,
        code: Path<String>,
    ) -> Result<Json<Rules>, ReadError> {
        let (rules, source) = surveys::rules_for(&state.db, &code.0)
            .await
            .map_err(|_| ServiceError::NotFound { entity: "region" })?;
        Ok(Json(Rules::from(rules, source)))
    }

    /// Set return-visit rules
    ///
    /// Roles: admin, bureau (its region or below). The subtree inherits them.
    #[oai(
        path = "/regions/:code/return-visit-rules",
        method = "put",
        operation_id = "setReturnVisitRules"
    )]
    async fn set_rules(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        code: Path<String>,
        body: Json<RulesBody>,
    ) -> Result<Json<Rules>, WriteError> {
        let b = body.0;
        let rules = surveys::ReturnVisitRules {
            kinds: b.kinds,
            general_rate: b.general_rate,
            simple_rate: b.simple_rate,
            window_days: b.window_days,
        };
        let rules = surveys::set_rules(&state.db, &auth.0, &code.0, rules).await?;
        Ok(Json(Rules::from(rules, Some(code.0))))
    }

    /// Submit enforcement cases
    ///
    /// Roles: admin, bureau (agencies in its subtree), agency (its own). Up to 1,000 per
    /// request, all or nothing; idempotent on agency + case number. Every case gets a
    /// public case code (一案一码).
    #[oai(path = "/cases", method = "post", operation_id = "submitCases")]
    async fn submit_cases(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<CaseBatch>,
    ) -> Result<Json<Vec<Case>>, WriteError> {
        let batch = body
            .0
            .cases
            .into_iter()
            .map(|c| cases::NewCase {
                agency_id: c.agency_id,
                case_number: c.case_number,
                kind: c.kind,
                procedure: c.procedure,
                enterprise_uscc: c.enterprise_uscc,
                officer_ids: c.officer_ids,
                decision_date: c.decision_date,
                hearing_held: c.hearing_held,
                complaint_sourced: c.complaint_sourced,
                officer_complained: c.officer_complained,
                decision_overturned: c.decision_overturned,
            })
            .collect();
        let stored = cases::ingest(&state.db, &auth.0, batch).await?;
        Ok(Json(
            stored
                .into_iter()
                .map(|i| Case::from(i.case, i.created))
                .collect(),
        ))
    }
}

/// Endpoints for respondents: no key, the token or case code is the credential.
pub struct PublicApi;

#[OpenApi(prefix_path = "/api/v1/public", tag = "ApiTags::Public")]
impl PublicApi {
    /// Questionnaire for an invitation
    ///
    /// Public (the one-time token is the credential). 404 for an unknown token, 409
    /// `invitation_used`, `invitation_expired`, `campaign_not_open` or `campaign_closed`.
    #[oai(
        path = "/invitations/:token",
        method = "get",
        operation_id = "publicInvitation"
    )]
    async fn invitation(
        &self,
        state: Data<&AppState>,
        token: Path<String>,
    ) -> Result<Json<PublicSurvey>, PublicError> {
        let i = surveys::invited(&state.db, &state.intake, &token.0).await?;
        Ok(Json(PublicSurvey {
            campaign: i.campaign.name,
            agency: i.agency_name,
            version: i.version.model.version,
            questions: i.version.questions.clone(),
            expires_at: i.invitation.expires_at,
        }))
    }

    /// Answer an invitation
    ///
    /// Public. Answers are checked against the questionnaire version (each error names
    /// the question, `answers.<key>`). Exactly one submission per token succeeds; later
    /// or concurrent ones get 409 `invitation_used`.
    #[oai(
        path = "/invitations/:token/responses",
        method = "post",
        operation_id = "publicAnswer"
    )]
    async fn answer(
        &self,
        state: Data<&AppState>,
        token: Path<String>,
        body: Json<PublicAnswers>,
    ) -> Result<Created<Submitted>, PublicError> {
        submit_answers(&state, &token.0, body.0).await
    }

    /// Questionnaire of an open campaign
    ///
    /// Public. The respondent picks the agency they evaluate from `agencies`. 404 for
    /// unknown or invitation-only campaigns; 409 when not open.
    #[oai(
        path = "/campaigns/:id",
        method = "get",
        operation_id = "publicCampaign"
    )]
    async fn open_campaign(
        &self,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Json<PublicOpenSurvey>, PublicError> {
        let s = surveys::open_survey(&state.db, id.0).await?;
        Ok(Json(PublicOpenSurvey {
            campaign: s.campaign.name,
            version: s.version.version,
            questions: s.questions,
            agencies: s
                .agencies
                .into_iter()
                .map(|(id, name)| PublicAgency { id, name })
                .collect(),
            closes_at: s.campaign.closes_at,
        }))
    }

    /// Answer an open campaign
    ///
    /// Public, limited per client address (default 20 answers an hour per campaign,
    /// counted in the database). Send an `Idempotency-Key` to make retries safe: a
    /// repeated key returns the first answer (`Idempotent-Replayed: true`).
    #[oai(
        path = "/campaigns/:id/responses",
        method = "post",
        operation_id = "publicOpenAnswer"
    )]
    async fn answer_open(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        id: Path<i64>,
        #[oai(name = "Idempotency-Key")] idempotency_key: poem_openapi::param::Header<
            Option<String>,
        >,
        body: Json<OpenAnswerBody>,
    ) -> Result<OpenAnswerCreated, PublicError> {
        let body = body.0;
        let answers = &answer_sheet(body.answers)?;
        let client = super::client::address(req, state.trust_forwarded_for);
        let input = surveys::OpenAnswer {
            campaign_id: id.0,
            agency_id: body.agency_id,
            answers,
            duration_secs: body.duration_secs,
            client: &client,
            idempotency_key: idempotency_key.0.as_deref(),
        };
        let stored = surveys::answer_open(&state.db, input, state.open_answer_limit).await?;
        Ok(OpenAnswerCreated::Created(
            Json(Submitted {
                response_id: stored.response.id,
                submitted_at: stored.response.submitted_at,
            }),
            stored.replayed.then(|| "true".to_owned()),
        ))
    }

    /// QR code of an invitation
    ///
    /// Public. Encodes the Telegram deep link (`https://t.me/<bot>?start=<token>`) when a
    /// bot is configured, else the web link; for printing on return-visit letters.
    #[oai(
        path = "/invitations/:token/qr",
        method = "get",
        operation_id = "publicInvitationQr"
    )]
    async fn invitation_qr(
        &self,
        state: Data<&AppState>,
        token: Path<String>,
        format: Query<Option<QrFormat>>,
    ) -> Result<QrImage, PublicError> {
        surveys::invited(&state.db, &state.intake, &token.0).await?;
        let text = state
            .bot_link(&token.0)
            .unwrap_or_else(|| state.invitation_link(&token.0));
        qr(&text, format.0).map_err(qr_failed)
    }

    /// QR code of a case code
    ///
    /// Public (一案一码). Encodes the link to the public case page.
    #[oai(
        path = "/cases/:code/qr",
        method = "get",
        operation_id = "publicCaseQr"
    )]
    async fn case_qr(
        &self,
        state: Data<&AppState>,
        code: Path<String>,
        format: Query<Option<QrFormat>>,
    ) -> Result<QrImage, PublicError> {
        let c = cases::by_code(&state.db, &code.0).await?;
        qr(&state.case_link(&c.case_code), format.0).map_err(qr_failed)
    }

    /// Case page for a case code
    ///
    /// Public (一案一码). Shows the agency, kind and decision date; no personal data.
    #[oai(path = "/cases/:code", method = "get", operation_id = "publicCase")]
    async fn case(
        &self,
        state: Data<&AppState>,
        code: Path<String>,
    ) -> Result<Json<PublicCase>, PublicError> {
        let c = cases::public_page(&state.db, &code.0).await?;
        Ok(Json(PublicCase {
            case_code: c.case_code,
            agency: c.agency,
            kind: c.kind,
            decision_date: c.decision_date,
        }))
    }
}

/// The `answers` object of a submitted sheet.
fn answer_sheet(
    answers: serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, ServiceError> {
    match answers {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(ServiceError::invalid(
            "answers",
            "must be an object keyed by question",
        )),
    }
}

/// What `publicAnswer` does once its arguments are parsed, for the operation and for
/// [`answer_endpoint`] alike.
async fn submit_answers(
    state: &AppState,
    token: &str,
    body: PublicAnswers,
) -> Result<Created<Submitted>, PublicError> {
    let answers = answer_sheet(body.answers)?;
    let via = surveys::public_channel(body.via.as_deref())?;
    let r = surveys::answer(&state.intake, token, answers, body.duration_secs, via).await?;
    Ok(Created::Created(Json(Submitted {
        response_id: r.response_id,
        submitted_at: r.submitted_at,
    })))
}

/// The router path of `publicAnswer` (poem syntax), served by [`answer_endpoint`].
pub const ANSWER_PATH: &str = "/api/v1/public/invitations/:token/responses";

/// `publicAnswer` as a plain poem endpoint for the top-level router: answers are the
/// service's busiest route, and the OpenAPI service's layers in front of an operation
/// (its own router, the nest, one more boxed future per layer) cost about 11,500
/// instructions an answer (BENCHMARKS.md, counted by callgrind). It extracts the token
/// and the body with the very extractors the operation uses and runs the same code,
/// so statuses, errors and bodies are the operation's; a suite checks the two against
/// each other.
pub fn answer_endpoint() -> impl poem::Endpoint {
    poem::post(poem::endpoint::make(answer_request))
}

async fn answer_request(req: poem::Request) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    use poem_openapi::{ApiExtractor, ExtractParamOptions};
    // What the operation's generated code passes for an argument without attributes.
    fn options<T>(name: &'static str) -> ExtractParamOptions<T> {
        ExtractParamOptions {
            name,
            ignore_case: false,
            default_value: None,
            example_value: None,
            explode: true,
            style: None,
        }
    }
    let (req, mut body) = req.split();
    let state = req
        .data::<AppState>()
        .ok_or_else(|| poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    let token =
        <Path<String> as ApiExtractor>::from_request(&req, &mut body, options("token")).await?;
    let answers =
        <Json<PublicAnswers> as ApiExtractor>::from_request(&req, &mut body, options("body"))
            .await?;
    Ok(match submit_answers(state, &token.0, answers.0).await {
        Ok(created) => created.into_response(),
        Err(e) => e.into_response(),
    })
}

#[cfg(test)]
mod tests {
    /// The direct route must sit where the spec puts `publicAnswer`; elsewhere it would
    /// never be reached and the operation would serve every answer unnoticed.
    #[test]
    fn the_direct_answer_route_is_at_the_documented_path() {
        let spec: serde_json::Value =
            serde_json::from_str(&crate::http::openapi_service().spec()).expect("spec");
        let path = super::ANSWER_PATH.replace(":token", "{token}");
        assert_eq!(
            spec["paths"][&path]["post"]["operationId"], "publicAnswer",
            "{path}"
        );
    }
}
