//! `/api/v1/tickets` (工单) and the public status lookup.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{PublicError, ReadError, WriteError};
use super::{ApiTags, Created, page_type};
use crate::domain::ticket::{Move, State};
use crate::service::{PageRequest, tickets};
use crate::startup::AppState;
use crate::store::ticket_event;

/// A ticket as the caller may see it.
#[derive(Object, Debug)]
pub struct Ticket {
    pub id: i64,
    /// e.g. `TS2026-000123`.
    pub number: String,
    /// complaint 投诉, report 举报, suggestion 建议, praise 表扬.
    pub kind: String,
    pub category: String,
    pub agency_id: Option<i64>,
    pub region_code: String,
    pub description: String,
    pub attachments: Vec<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    pub channel: String,
    pub anonymous: bool,
    /// In full for admin keys and the bureaus over the ticket's region; masked
    /// (`张*`) for everyone else.
    pub reporter_name: Option<String>,
    /// In full for admin keys and the bureaus over the ticket's region; masked
    /// (`138****1234`) for everyone else.
    pub reporter_phone: Option<String>,
    /// Whether the reporter fields above are masked for this key.
    pub contact_masked: bool,
    pub state: State,
    /// The state in Chinese, e.g. 已受理.
    pub state_label: String,
    /// 0 agency, 1 county bureau, 2 city bureau.
    pub level: i16,
    /// Bumped by every move.
    pub revision: i32,
    pub ack_due: DateTime<Utc>,
    pub reply_due: DateTime<Utc>,
    /// The reporter's rating of the handling, once given.
    pub rating: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
    /// Working days given for the reply (the region's setting when filed).
    pub reply_days: i16,
    pub replied_at: Option<DateTime<Utc>>,
    /// The return visit is due by then (set with the reply).
    pub visit_due: Option<DateTime<Utc>>,
    /// substantiated, partly or unfounded (with the reply, or unfounded by an
    /// upheld appeal).
    pub finding: Option<String>,
    /// Region code of the bureau supervising the ticket after escalation.
    pub escalated_to: Option<String>,
    /// The contact point (监督联系点) of the liaison who filed it.
    pub contact_point_id: Option<i64>,
    /// The sending system's own id (e.g. the 12345 work-order number).
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<tickets::TicketView> for Ticket {
    fn from(v: tickets::TicketView) -> Self {
        let t = v.ticket;
        Self {
            id: t.id,
            number: t.number,
            kind: t.kind,
            category: t.category,
            agency_id: t.agency_id,
            region_code: t.region_code,
            description: t.description,
            attachments: serde_json::from_value(t.attachments).unwrap_or_default(),
            latitude: t.latitude,
            longitude: t.longitude,
            address: t.address,
            channel: t.channel,
            anonymous: t.anonymous,
            reporter_name: v.reporter_name,
            reporter_phone: v.reporter_phone,
            contact_masked: v.masked,
            state: v.state,
            state_label: v.state.label().to_owned(),
            level: t.level,
            revision: t.revision,
            ack_due: t.ack_due,
            reply_due: t.reply_due,
            rating: t.rating,
            rated_at: t.rated_at,
            reply_days: t.reply_days,
            replied_at: t.replied_at,
            visit_due: t.visit_due,
            finding: t.finding,
            escalated_to: t.escalated_to,
            contact_point_id: t.contact_point_id,
            external_id: t.external_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

page_type!(TicketPage, Ticket);

/// One recorded move.
#[derive(Object, Debug)]
pub struct TicketEvent {
    /// `create` or the move.
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    /// Who moved it (`key:<id>`, `reporter`, `system`).
    pub actor: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<ticket_event::Model> for TicketEvent {
    fn from(e: ticket_event::Model) -> Self {
        Self {
            action: e.action,
            from_state: e.from_state,
            to_state: e.to_state,
            actor: e.actor,
            note: e.note,
            at: e.at,
        }
    }
}

/// A ticket with its timeline.
#[derive(Object, Debug)]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub events: Vec<TicketEvent>,
}

/// A real-name reporter (实名).
#[derive(Object, Debug)]
pub struct ReporterBody {
    pub name: String,
    /// Mainland mobile number, 11 digits.
    pub phone: String,
}

/// A ticket to file.
#[derive(Object, Debug)]
pub struct FileTicket {
    /// complaint, report, suggestion or praise.
    pub kind: String,
    /// An active category by name or code (`GET /ticket-categories`); by default
    /// 乱罚款, 不作为, 态度粗暴, 未亮证执法, 选择性执法, 逐利执法, 一刀切,
    /// 重复检查/扰企, 吃拿卡要, 程序违法, 其他.
    pub category: String,
    /// The agency concerned, if known (set at triage otherwise).
    pub agency_id: Option<i64>,
    pub region_code: String,
    /// 10–4000 characters.
    pub description: String,
    /// Channel file references (e.g. Telegram file ids), at most 20.
    #[oai(default)]
    pub attachments: Vec<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    /// telegram, hotline_12345, web, contact_point or supervisor.
    pub channel: String,
    /// Absent for an anonymous ticket.
    pub reporter: Option<ReporterBody>,
}

/// A filed ticket with its lookup secret, shown only here.
#[derive(Object, Debug)]
pub struct FiledTicket {
    pub ticket: Ticket,
    /// Give it to the reporter: with the number it opens the public status page.
    pub secret: String,
}

/// A move on a ticket.
#[derive(Object, Debug)]
pub struct MoveBody {
    pub action: Move,
    /// Required for reject, rectify, reply, appeal and the appeal decisions.
    pub note: Option<String>,
    /// For `assign`: the handling agency, unless the ticket already names one.
    pub agency_id: Option<i64>,
    /// For `rate` (满意 or 基本满意) and `reopen` (不满意).
    pub rating: Option<String>,
    /// For `reply` to a complaint or report (required there): what verification
    /// found — substantiated (属实), partly (部分属实) or unfounded (不属实).
    pub finding: Option<String>,
}

/// One imported work order.
#[derive(Object, Debug)]
pub struct ImportedOrder {
    /// 1-based data row.
    pub row: u64,
    pub hotline_id: String,
    /// The ticket number (`TS…`).
    pub number: String,
}

/// What a hotline import did.
#[derive(Object, Debug)]
pub struct HotlineReport {
    /// Data rows read.
    pub rows: u64,
    /// Tickets filed now.
    pub created: Vec<ImportedOrder>,
    /// Rows imported before (unchanged).
    pub duplicates: Vec<ImportedOrder>,
    /// The first 100 rejected rows: (row, column, reason); nothing was filed for them.
    pub errors: Vec<super::surveys::ImportError>,
    /// How many errors there were in all.
    pub error_count: u64,
}

fn orders(list: Vec<(usize, String, String)>) -> Vec<ImportedOrder> {
    list.into_iter()
        .map(|(row, hotline_id, number)| ImportedOrder {
            row: row as u64,
            hotline_id,
            number,
        })
        .collect()
}

/// An estimate with its confidence interval.
#[derive(Object, Debug)]
pub struct Estimate {
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
}

impl From<pingjia_scoring::proportion::Interval> for Estimate {
    fn from(i: pingjia_scoring::proportion::Interval) -> Self {
        Self {
            estimate: i.estimate,
            lo: i.lo,
            hi: i.hi,
        }
    }
}

/// One agency's ticket metrics over the period.
#[derive(Object, Debug)]
pub struct AgencyTicketMetrics {
    pub agency_id: i64,
    pub agency_name: String,
    /// Enforcement cases decided in the period.
    pub cases: u64,
    /// Complaints filed in the period (those not accepted left out).
    pub complaints: u64,
    /// Complaints per 100 cases, exact Poisson interval; null without cases.
    pub complaints_per_100_cases: Option<Estimate>,
    /// Complaints and reports with a verification finding.
    pub verified: u64,
    /// Of those, substantiated or partly substantiated.
    pub substantiated: u64,
    /// substantiated / verified, Wilson interval; null when nothing was verified.
    pub substantiated_share: Option<Estimate>,
    /// Tickets replied, or unreplied past their deadline.
    pub reply_settled: u64,
    /// Of those, replied by the deadline.
    pub on_time: u64,
    pub on_time_rate: Option<Estimate>,
    /// Tickets rated by the reporter (or deemed 基本满意 after the rating period).
    pub rated: u64,
    /// Of those, 满意 or 基本满意.
    pub satisfied: u64,
    pub satisfaction_rate: Option<Estimate>,
}

/// Ticket metrics per agency.
#[derive(Object, Debug)]
pub struct TicketMetrics {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub confidence: f64,
    pub agencies: Vec<AgencyTicketMetrics>,
}

/// The campaign to invite a ticket's reporter to.
#[derive(Object, Debug)]
pub struct InviteReporterBody {
    pub campaign_id: i64,
}

/// The invitation sent through the reporter's channel.
#[derive(Object, Debug)]
pub struct ReporterInvitation {
    pub invitation_id: i64,
    pub campaign_id: i64,
    pub agency_id: i64,
    pub expires_at: DateTime<Utc>,
}

/// Ticket operations.
pub struct TicketsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Tickets")]
impl TicketsApi {
    /// File a ticket
    ///
    /// Roles: channel (on behalf of its users), bureau (its subtree), admin. The
    /// number is `TS<year>-<sequence>`; deadlines are in working days (Asia/Shanghai,
    /// official holidays and make-up days). The reporter's name and phone are stored
    /// encrypted.
    #[oai(path = "/tickets", method = "post", operation_id = "fileTicket")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<FileTicket>,
    ) -> Result<Created<FiledTicket>, WriteError> {
        let b = body.0;
        let new = tickets::NewTicket {
            kind: b.kind,
            category: b.category,
            agency_id: b.agency_id,
            region_code: b.region_code,
            description: b.description,
            attachments: b.attachments,
            latitude: b.latitude,
            longitude: b.longitude,
            address: b.address,
            channel: b.channel,
            reporter: b.reporter.map(|r| tickets::Reporter {
                name: r.name,
                phone: r.phone,
            }),
        };
        let filed = tickets::create(
            &state.db,
            &state.contacts,
            &state.calendar.current(),
            &auth.0,
            new,
        )
        .await?;
        Ok(Created::Created(Json(FiledTicket {
            ticket: filed.view.into(),
            secret: filed.secret,
        })))
    }

    /// List tickets
    ///
    /// Roles: admin (all), bureau (its subtree), agency (tickets assigned to it).
    /// `overdue=true`: open tickets past their reply deadline.
    #[oai(path = "/tickets", method = "get", operation_id = "listTickets")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        #[oai(name = "state")] ticket_state: Query<Option<State>>,
        overdue: Query<Option<bool>>,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
    ) -> Result<Json<TicketPage>, ReadError> {
        let req = PageRequest::parse(page.0, page_size.0)?;
        let filter = tickets::TicketFilter {
            state: ticket_state.0,
            overdue: overdue.0.unwrap_or(false),
        };
        Ok(Json(
            tickets::list(&state.db, &state.contacts, &auth.0, filter, req)
                .await?
                .into(),
        ))
    }

    /// Import 12345 hotline work orders
    ///
    /// Roles: admin, bureau (its subtree), channel (keys of the `hotline_12345`
    /// channel). CSV or XLSX with the columns hotline_id, received_at (RFC 3339 or
    /// `YYYY-MM-DD HH:MM[:SS]` Beijing time), kind (投诉/举报/建议/表扬), category,
    /// region_code, description and optionally agency_code, reporter_name,
    /// reporter_phone, address. Idempotent on hotline_id: rows imported before are
    /// listed as duplicates. Bad rows are reported (row, column, reason) and the
    /// others filed; deadlines count from received_at.
    #[oai(
        path = "/tickets/imports/hotline",
        method = "post",
        operation_id = "importHotlineOrders"
    )]
    async fn import_hotline(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: super::surveys::ImportBody,
    ) -> Result<Json<HotlineReport>, WriteError> {
        crate::service::hotline::authorize(&auth.0)?;
        let table = match body {
            super::surveys::ImportBody::Csv(b) => crate::service::imports::read_csv(&b.0)?,
            super::surveys::ImportBody::Xlsx(b) => crate::service::imports::read_xlsx(&b.0)?,
        };
        let report = crate::service::hotline::import(
            &state.db,
            &state.contacts,
            &state.calendar.current(),
            &auth.0,
            table,
        )
        .await?;
        let (error_count, errors) = super::surveys::reported(report.errors);
        Ok(Json(HotlineReport {
            rows: report.rows as u64,
            created: orders(report.created),
            duplicates: orders(report.duplicates),
            errors,
            error_count,
        }))
    }

    /// Ticket metrics per agency
    ///
    /// Roles: admin (all agencies), bureau (its subtree), agency (its own). For
    /// tickets filed and cases decided on the dates `from`..=`to` (Asia/Shanghai):
    /// complaints per 100 cases (exact Poisson interval), substantiated share of
    /// verified complaints and reports, on-time reply rate and reporter satisfaction
    /// (Wilson intervals), at `confidence` (default 0.95).
    #[oai(
        path = "/ticket-metrics",
        method = "get",
        operation_id = "ticketMetrics"
    )]
    async fn metrics(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        from: Query<chrono::NaiveDate>,
        to: Query<chrono::NaiveDate>,
        confidence: Query<Option<f64>>,
    ) -> Result<Json<TicketMetrics>, ReadError> {
        let confidence = confidence.0.unwrap_or(0.95);
        let rows =
            crate::service::ticket_metrics::by_agency(&state.db, &auth.0, from.0, to.0, confidence)
                .await?;
        Ok(Json(TicketMetrics {
            from: from.0,
            to: to.0,
            confidence,
            agencies: rows
                .into_iter()
                .map(|m| AgencyTicketMetrics {
                    agency_id: m.agency_id,
                    agency_name: m.agency_name,
                    cases: m.cases,
                    complaints: m.complaints,
                    complaints_per_100_cases: m.complaints_per_100_cases.map(Into::into),
                    verified: m.verified,
                    substantiated: m.substantiated,
                    substantiated_share: m.substantiated_share.map(Into::into),
                    reply_settled: m.reply_settled,
                    on_time: m.on_time,
                    on_time_rate: m.on_time_rate.map(Into::into),
                    rated: m.rated,
                    satisfied: m.satisfied,
                    satisfaction_rate: m.satisfaction_rate.map(Into::into),
                })
                .collect(),
        }))
    }

    /// Invite the reporter to a satisfaction survey
    ///
    /// Roles: admin, bureau (over the ticket and the campaign). For a ticket filed by a
    /// channel user: a one-time invitation of an invitation campaign covering the
    /// ticket's agency, delivered as a `survey_invitation` in the channel's outbox
    /// (with the token and answer links). Once per ticket (409 `already_invited`).
    #[oai(
        path = "/tickets/:id/survey-invitation",
        method = "post",
        operation_id = "inviteTicketReporter"
    )]
    async fn invite_reporter(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<InviteReporterBody>,
    ) -> Result<Created<ReporterInvitation>, WriteError> {
        let inv = crate::service::surveys::invite_reporter(
            &state.db,
            &state.contacts,
            &auth.0,
            id.0,
            body.0.campaign_id,
        )
        .await?;
        Ok(Created::Created(Json(ReporterInvitation {
            invitation_id: inv.id,
            campaign_id: inv.campaign_id,
            agency_id: inv.agency_id,
            expires_at: inv.expires_at,
        })))
    }

    /// Get a ticket with its timeline
    ///
    /// Roles: as for listing; others get 404. The reporter's name and phone are shown
    /// in full to the handling bureau (the bureau of the ticket's region, or of a
    /// town's county, and the bureau it was escalated to), masked to everyone else;
    /// `reveal=true` shows them to an admin or a bureau over the ticket and records
    /// that in the audit trail.
    #[oai(path = "/tickets/:id", method = "get", operation_id = "getTicket")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        /// Show the reporter's contact data in full (admin, bureaus over the ticket);
        /// recorded in the audit trail. The handling bureau sees it without asking.
        reveal: Query<Option<bool>>,
    ) -> Result<Json<TicketDetail>, ReadError> {
        let (view, events) = tickets::get(
            &state.db,
            &state.contacts,
            &auth.0,
            id.0,
            reveal.0.unwrap_or(false),
        )
        .await?;
        Ok(Json(TicketDetail {
            ticket: view.into(),
            events: events.into_iter().map(Into::into).collect(),
        }))
    }

    /// Move a ticket
    ///
    /// Roles: bureau (its subtree) and admin assign, reject, close, decide appeals and
    /// enter the reporter's rating; agency keys start, rectify, reply and appeal on
    /// tickets assigned to them (bureaus may too). The workflow: received →assign→ assigned →start→ verifying →rectify→
    /// rectifying →reply→ replied →rate→ return_visited →close→ closed; reject from
    /// received; reopen (不满意, escalates one level) from replied; appeal (agency)
    /// from assigned or verifying, then uphold_appeal (closed) or dismiss_appeal
    /// (verifying) by the bureau. A move from the wrong state is 409
    /// `illegal_transition`, by the wrong role 403, without a required note 422; if
    /// the ticket moved meanwhile, 409 `ticket_changed`.
    #[oai(
        path = "/tickets/:id/moves",
        method = "post",
        operation_id = "moveTicket"
    )]
    async fn move_ticket(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<MoveBody>,
    ) -> Result<Json<Ticket>, WriteError> {
        let b = body.0;
        let req = tickets::MoveRequest {
            action: b.action,
            note: b.note,
            agency_id: b.agency_id,
            rating: b.rating,
            finding: b.finding,
        };
        Ok(Json(
            tickets::move_ticket(
                &state.db,
                &state.contacts,
                &state.calendar.current(),
                &auth.0,
                id.0,
                req,
            )
            .await?
            .into(),
        ))
    }
}

/// One step of the public timeline.
#[derive(Object, Debug)]
pub struct PublicStep {
    pub at: DateTime<Utc>,
    pub state: State,
    pub state_label: String,
    /// What happened, e.g. 转办至执法机关, 答复, 逾期未办结，升级督办.
    pub step: String,
    /// The reply or the reason for not accepting, when this step is one.
    pub note: Option<String>,
}

/// What a reporter sees: no personal data.
#[derive(Object, Debug)]
pub struct PublicTicket {
    pub number: String,
    pub kind: String,
    pub category: String,
    pub state: State,
    pub state_label: String,
    pub reply_due: DateTime<Utc>,
    pub timeline: Vec<PublicStep>,
}

/// The public ticket lookup.
pub struct PublicTicketsApi;

#[OpenApi(prefix_path = "/api/v1/public", tag = "ApiTags::Public")]
impl PublicTicketsApi {
    /// Ticket status by number and secret
    ///
    /// Public. Shows the status and timeline, never personal data; an unknown number
    /// or a wrong secret is 404, and after `auth_failures_per_window` of those from one
    /// client address every lookup is 429 (with `Retry-After`) until the window ends.
    #[oai(
        path = "/tickets/:number",
        method = "get",
        operation_id = "publicTicket"
    )]
    async fn status(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        number: Path<String>,
        secret: Query<String>,
    ) -> Result<Json<PublicTicket>, PublicError> {
        let client = super::client::address(req, state.trust_forwarded_for);
        let s = tickets::public_status(
            &state.db,
            &number.0,
            &secret.0,
            &client,
            state.auth_failure_limit,
        )
        .await?;
        Ok(Json(s.into()))
    }
}

impl From<tickets::PublicStatus> for PublicTicket {
    fn from(s: tickets::PublicStatus) -> Self {
        PublicTicket {
            number: s.number,
            kind: s.kind,
            category: s.category,
            state: s.state,
            state_label: s.state.label_for_reporter(s.rating.as_deref()),
            reply_due: s.reply_due,
            timeline: s
                .timeline
                .into_iter()
                .map(|s| PublicStep {
                    at: s.at,
                    state: s.state,
                    state_label: s.state.label().to_owned(),
                    step: s.step.to_owned(),
                    note: s.note,
                })
                .collect(),
        }
    }
}
