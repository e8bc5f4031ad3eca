//! What bureaus configure about tickets: working-day deadlines per region (inherited
//! down the tree), the category list (问题类别), and holiday calendars beyond the
//! shipped years.

use std::sync::{Arc, RwLock};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryOrder,
};

use super::{Actor, ServiceError, audit, regions};
use crate::domain::Role;
use crate::domain::calendar::{self, CalendarDay, WorkCalendar};
use crate::store::{calendar_year, ticket_category, ticket_deadline};

/// Working days a region gives tickets: to acknowledge, to reply (DESIGN.md: 3, 5 and
/// 15 are all in use) and to make the return visit after the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub ack_days: u32,
    pub reply_days: u32,
    pub visit_days: u32,
}

/// The reply periods offered as presets (速办 3, 一般 5, 复杂 15 working days).
pub const REPLY_PRESETS: [u32; 3] = [3, 5, 15];

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            ack_days: 1,
            reply_days: 5,
            visit_days: 5,
        }
    }
}

impl Deadlines {
    fn validate(&self) -> Result<(), ServiceError> {
        let mut v = super::error::Validator::new();
        if !(1..=5).contains(&self.ack_days) {
            v.add("ack_days", "must be 1–5 working days");
        }
        if !(1..=60).contains(&self.reply_days) {
            v.add(
                "reply_days",
                "must be 1–60 working days (presets: 3, 5 or 15)",
            );
        } else if self.reply_days < self.ack_days {
            v.add("reply_days", "must not be shorter than ack_days");
        }
        if !(1..=30).contains(&self.visit_days) {
            v.add("visit_days", "must be 1–30 working days");
        }
        v.finish()
    }
}

/// The deadlines in force for a region: its own, else the nearest ancestor's, else
/// the defaults; with the region whose setting applies (`None` for the defaults).
pub async fn deadlines_for<C: ConnectionTrait>(
    db: &C,
    region_code: &str,
) -> Result<(Deadlines, Option<String>), ServiceError> {
    let path = regions::path_of(db, "region_code", region_code).await?;
    for code in path.split('/').filter(|c| !c.is_empty()).rev() {
        if let Some(row) = ticket_deadline::Entity::find_by_id(code).one(db).await? {
            let days = |d: i16| u32::try_from(d).unwrap_or(1);
            return Ok((
                Deadlines {
                    ack_days: days(row.ack_days),
                    reply_days: days(row.reply_days),
                    visit_days: days(row.visit_days),
                },
                Some(code.to_owned()),
            ));
        }
    }
    Ok((Deadlines::default(), None))
}

/// Sets a region's deadlines (admin, or a bureau over the region); its subtree
/// inherits them unless a lower region sets its own. Tickets already filed keep
/// the deadlines they were given.
pub async fn set_deadlines(
    db: &DatabaseConnection,
    actor: &Actor,
    region_code: &str,
    deadlines: Deadlines,
) -> Result<Deadlines, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys set ticket deadlines",
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
    deadlines.validate()?;
    let small = |d: u32| i16::try_from(d).unwrap_or(i16::MAX);
    let txn = crate::db::begin_write(db).await?;
    ticket_deadline::Entity::delete_by_id(region_code)
        .exec(&txn)
        .await?;
    ticket_deadline::ActiveModel {
        region_code: Set(region_code.to_owned()),
        ack_days: Set(small(deadlines.ack_days)),
        reply_days: Set(small(deadlines.reply_days)),
        visit_days: Set(small(deadlines.visit_days)),
        updated_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "ticket_deadlines.set",
            entity: "region",
            entity_id: region_code.to_owned(),
            region_path: Some(path),
            details: Some(serde_json::json!({
                "ack_days": deadlines.ack_days,
                "reply_days": deadlines.reply_days,
                "visit_days": deadlines.visit_days,
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(deadlines)
}

/// The category list in display order (inactive ones too, marked).
pub async fn categories<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<ticket_category::Model>, ServiceError> {
    Ok(ticket_category::Entity::find()
        .order_by_asc(ticket_category::Column::Position)
        .order_by_asc(ticket_category::Column::Code)
        .all(db)
        .await?)
}

/// A category to add or change.
#[derive(Debug, Clone)]
pub struct CategoryInput {
    /// ASCII code (the Open311 service code): lower-case letters, digits, `_`.
    pub code: String,
    pub name: String,
    pub position: Option<i32>,
    pub active: bool,
}

/// Adds a category or changes one (admin only: the list is shared by every region).
/// Categories are never deleted, only deactivated, so old tickets keep theirs.
pub async fn put_category(
    db: &DatabaseConnection,
    actor: &Actor,
    input: CategoryInput,
) -> Result<ticket_category::Model, ServiceError> {
    if actor.role != Role::Admin {
        return Err(ServiceError::forbidden(
            "only admins change ticket categories",
        ));
    }
    let mut v = super::error::Validator::new();
    let code_ok = (1..=48).contains(&input.code.len())
        && input
            .code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !code_ok {
        v.add("code", "1–48 characters: a–z, 0–9 and _");
    }
    let name = v.text("name", &input.name, 1, 64);
    v.finish()?;
    let txn = crate::db::begin_write(db).await?;
    let existing = ticket_category::Entity::find_by_id(input.code.clone())
        .one(&txn)
        .await?;
    let position = match (input.position, &existing) {
        (Some(p), _) => p,
        (None, Some(e)) => e.position,
        (None, None) => {
            categories(&txn)
                .await?
                .iter()
                .map(|c| c.position)
                .max()
                .unwrap_or(0)
                + 1
        }
    };
    let row = ticket_category::ActiveModel {
        code: Set(input.code.clone()),
        name: Set(name),
        position: Set(position),
        active: Set(input.active),
    };
    let saved = match existing {
        Some(_) => row.update(&txn).await,
        None => row.insert(&txn).await,
    }
    .map_err(|e| ServiceError::from_unique(e, "another category has this name"))?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "ticket_category.put",
            entity: "ticket_category",
            entity_id: saved.code.clone(),
            region_path: None,
            details: Some(serde_json::json!({"name": saved.name, "active": saved.active})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// The working-day calendar every request and the upkeep share: the shipped years
/// plus the years bureaus loaded (kept in the database, so every replica and every
/// restart sees them).
#[derive(Debug, Clone)]
pub struct SharedCalendar(Arc<RwLock<Arc<WorkCalendar>>>);

impl SharedCalendar {
    pub fn new(calendar: WorkCalendar) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(calendar))))
    }

    /// The calendar as it stands.
    pub fn current(&self) -> Arc<WorkCalendar> {
        match self.0.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, calendar: WorkCalendar) {
        let mut slot = match self.0.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(calendar);
    }
}

/// Rebuilds the shared calendar from the shipped years and the stored ones (a stored
/// year replaces a shipped one). Run at start and by every upkeep round.
pub async fn refresh_calendar<C: ConnectionTrait>(
    db: &C,
    shared: &SharedCalendar,
) -> Result<(), ServiceError> {
    let mut calendar = WorkCalendar::official();
    for stored in calendar_year::Entity::find().all(db).await? {
        match calendar::parse_year(stored.year, &stored.csv) {
            Ok(days) => calendar.set_year(stored.year, days),
            Err(errors) => tracing::error!(
                year = stored.year,
                errors = errors.len(),
                "a stored calendar no longer parses; the year is left out"
            ),
        }
    }
    if *shared.current() != calendar {
        shared.replace(calendar);
    }
    Ok(())
}

/// The special days of a year (holidays and make-up working days), or `None` when no
/// calendar is loaded for it.
pub fn year(
    shared: &SharedCalendar,
    year: i32,
) -> Option<Vec<(chrono::NaiveDate, calendar::DayKind)>> {
    let calendar = shared.current();
    calendar.covers(year).then(|| calendar.special_days(year))
}

/// Loads a year's calendar (admin keys: the calendar is the deployment's, every
/// bureau's deadlines use it) in the shipped CSV format (`date,kind,name`, kind
/// `holiday` or `workday`). Every bad line is reported and nothing is stored then; a
/// file without days replaces the year only when `allow_empty` says so.
pub async fn load_year(
    db: &DatabaseConnection,
    actor: &Actor,
    shared: &SharedCalendar,
    year: i32,
    csv: &str,
    allow_empty: bool,
) -> Result<Vec<CalendarDay>, ServiceError> {
    if !actor.is(&[Role::Admin]) {
        return Err(ServiceError::forbidden(
            "only admin keys load calendars: the calendar is the whole deployment's",
        ));
    }
    if !(2000..=2100).contains(&year) {
        return Err(ServiceError::invalid("year", "must be 2000–2100"));
    }
    let days = calendar::parse_year(year, csv).map_err(|errors| {
        ServiceError::Validation(
            errors
                .into_iter()
                .map(|e| super::FieldError::new(format!("line {}", e.line), e.reason))
                .collect(),
        )
    })?;
    if days.is_empty() && !allow_empty {
        return Err(ServiceError::invalid(
            "body",
            "the file lists no days; to leave the year without holidays send empty=true",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    calendar_year::Entity::delete_by_id(year).exec(&txn).await?;
    calendar_year::ActiveModel {
        year: Set(year),
        csv: Set(csv.to_owned()),
        loaded_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "calendar.load",
            entity: "calendar_year",
            entity_id: year.to_string(),
            region_path: None,
            details: Some(serde_json::json!({"special_days": days.len()})),
        },
    )
    .await?;
    txn.commit().await?;
    refresh_calendar(db, shared).await?;
    Ok(days)
}
