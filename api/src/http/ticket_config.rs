//! Ticket configuration: deadlines per region, the category list and holiday
//! calendars.

use chrono::NaiveDate;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiRequest, Object, OpenApi};

use super::ApiTags;
use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use crate::domain::calendar::DayKind;
use crate::service::{ServiceError, ticket_config};
use crate::startup::AppState;
use crate::store::ticket_category;

/// The deadlines in force for a region, in working days.
#[derive(Object, Debug)]
pub struct TicketDeadlines {
    pub region_code: String,
    /// To acknowledge a new ticket.
    pub ack_days: u32,
    /// To reply (presets 3, 5 and 15).
    pub reply_days: u32,
    /// To make the return visit after the reply.
    pub visit_days: u32,
    /// The region whose setting applies (this one or an ancestor); null for the
    /// defaults (1, 5, 5).
    pub source_region: Option<String>,
    /// The reply periods in use in the policy documents: 3, 5 and 15.
    pub reply_presets: Vec<u32>,
}

/// Deadlines to set, in working days.
#[derive(Object, Debug)]
pub struct DeadlinesBody {
    /// 1–5.
    pub ack_days: u32,
    /// 1–60; the presets are 3 (速办), 5 (一般) and 15 (复杂).
    pub reply_days: u32,
    /// 1–30.
    pub visit_days: u32,
}

/// A ticket category (问题类别).
#[derive(Object, Debug)]
pub struct Category {
    /// ASCII code, also the Open311 `service_code`.
    pub code: String,
    /// The Chinese name shown to reporters and stored with tickets.
    pub name: String,
    pub position: i32,
    /// Inactive categories are kept for old tickets but refused for new ones.
    pub active: bool,
}

impl From<ticket_category::Model> for Category {
    fn from(c: ticket_category::Model) -> Self {
        Self {
            code: c.code,
            name: c.name,
            position: c.position,
            active: c.active,
        }
    }
}

/// A category's name, place and activity.
#[derive(Object, Debug)]
pub struct CategoryBody {
    pub name: String,
    /// Display order; new categories go last by default.
    pub position: Option<i32>,
    /// Default true.
    pub active: Option<bool>,
}

/// One special day.
#[derive(Object, Debug)]
pub struct SpecialDay {
    pub date: NaiveDate,
    /// holiday (放假) or workday (调休上班).
    pub kind: String,
}

/// A year's holidays and make-up working days.
#[derive(Object, Debug)]
pub struct CalendarYear {
    pub year: i32,
    pub days: Vec<SpecialDay>,
}

/// A year's calendar in the shipped CSV format: `date,kind,name`, kind `holiday` or
/// `workday`, lines starting with `#` are comments.
#[derive(ApiRequest, Debug)]
pub enum CalendarBody {
    #[oai(content_type = "text/csv")]
    Csv(PlainText<String>),
    #[oai(content_type = "text/plain")]
    Text(PlainText<String>),
}

fn kind_name(kind: DayKind) -> String {
    match kind {
        DayKind::Holiday => "holiday",
        DayKind::Workday => "workday",
    }
    .to_owned()
}

/// Ticket configuration operations.
pub struct TicketConfigApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Tickets")]
impl TicketConfigApi {
    /// Get a region's ticket deadlines
    ///
    /// Roles: any key. The region's own, else the nearest ancestor's, else the defaults.
    #[oai(
        path = "/regions/:code/ticket-deadlines",
        method = "get",
        operation_id = "getTicketDeadlines"
    )]
    async fn get_deadlines(
        &self,
        state: Data<&AppState>,
        _auth: ApiKey,
        code: Path<String>,
    ) -> Result<Json<TicketDeadlines>, ReadError> {
        let (d, source) = ticket_config::deadlines_for(&state.db, &code.0)
            .await
            .map_err(|_| ServiceError::NotFound { entity: "region" })?;
        Ok(Json(deadlines(code.0, d, source)))
    }

    /// Set a region's ticket deadlines
    ///
    /// Roles: admin, bureau (its region or below). The subtree inherits them; tickets
    /// already filed keep theirs.
    #[oai(
        path = "/regions/:code/ticket-deadlines",
        method = "put",
        operation_id = "setTicketDeadlines"
    )]
    async fn set_deadlines(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        code: Path<String>,
        body: Json<DeadlinesBody>,
    ) -> Result<Json<TicketDeadlines>, WriteError> {
        let b = body.0;
        let d = ticket_config::Deadlines {
            ack_days: b.ack_days,
            reply_days: b.reply_days,
            visit_days: b.visit_days,
        };
        let d = ticket_config::set_deadlines(&state.db, &auth.0, &code.0, d).await?;
        Ok(Json(deadlines(code.0.clone(), d, Some(code.0))))
    }

    /// List ticket categories
    ///
    /// Roles: any key. In display order, inactive ones included (marked).
    #[oai(
        path = "/ticket-categories",
        method = "get",
        operation_id = "listTicketCategories"
    )]
    async fn categories(
        &self,
        state: Data<&AppState>,
        _auth: ApiKey,
    ) -> Result<Json<Vec<Category>>, ReadError> {
        Ok(Json(
            ticket_config::categories(&state.db)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// Add or change a ticket category
    ///
    /// Roles: admin. Categories are never deleted; set `active` false to retire one.
    #[oai(
        path = "/ticket-categories/:code",
        method = "put",
        operation_id = "putTicketCategory"
    )]
    async fn put_category(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        code: Path<String>,
        body: Json<CategoryBody>,
    ) -> Result<Json<Category>, WriteError> {
        let b = body.0;
        let input = ticket_config::CategoryInput {
            code: code.0,
            name: b.name,
            position: b.position,
            active: b.active.unwrap_or(true),
        };
        Ok(Json(
            ticket_config::put_category(&state.db, &auth.0, input)
                .await?
                .into(),
        ))
    }

    /// Get a year's holiday calendar
    ///
    /// Roles: any key. Holidays and make-up working days; 404 for a year without a
    /// calendar (deadlines there assume Monday–Friday).
    #[oai(path = "/calendar/:year", method = "get", operation_id = "getCalendar")]
    async fn get_calendar(
        &self,
        state: Data<&AppState>,
        _auth: ApiKey,
        year: Path<i32>,
    ) -> Result<Json<CalendarYear>, ReadError> {
        let days = ticket_config::year(&state.calendar, year.0).ok_or(ServiceError::NotFound {
            entity: "calendar year",
        })?;
        Ok(Json(CalendarYear {
            year: year.0,
            days: days
                .into_iter()
                .map(|(date, kind)| SpecialDay {
                    date,
                    kind: kind_name(kind),
                })
                .collect(),
        }))
    }

    /// Load a year's holiday calendar
    ///
    /// Roles: admin (the calendar is the whole deployment's). The State Council's
    /// notice as CSV, first line the header `date,kind,name`; replaces the year (also
    /// a shipped one). Every bad line is reported (422, field `line N`) and nothing is
    /// stored then; a file without days is 422 unless `empty=true`. Deadlines
    /// computed afterwards use it.
    #[oai(
        path = "/calendar/:year",
        method = "put",
        operation_id = "loadCalendar"
    )]
    async fn load_calendar(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        year: Path<i32>,
        /// Replace the year even though the file lists no days.
        empty: Query<Option<bool>>,
        body: CalendarBody,
    ) -> Result<Json<CalendarYear>, WriteError> {
        let (CalendarBody::Csv(text) | CalendarBody::Text(text)) = body;
        let days = ticket_config::load_year(
            &state.db,
            &auth.0,
            &state.calendar,
            year.0,
            &text.0,
            empty.0.unwrap_or(false),
        )
        .await?;
        Ok(Json(CalendarYear {
            year: year.0,
            days: days
                .into_iter()
                .map(|d| SpecialDay {
                    date: d.date,
                    kind: kind_name(d.kind),
                })
                .collect(),
        }))
    }
}

fn deadlines(
    region_code: String,
    d: ticket_config::Deadlines,
    source_region: Option<String>,
) -> TicketDeadlines {
    TicketDeadlines {
        region_code,
        ack_days: d.ack_days,
        reply_days: d.reply_days,
        visit_days: d.visit_days,
        source_region,
        reply_presets: ticket_config::REPLY_PRESETS.to_vec(),
    }
}
