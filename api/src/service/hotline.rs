//! 12345 hotline import: a batch of the hotline's work orders (工单) becomes tickets of
//! the `hotline_12345` channel. Idempotent on the hotline's own work-order number:
//! a row already imported is reported as a duplicate and changes nothing. Every bad
//! row is reported (row, column, reason); the good rows are filed.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::imports::{RowError, Table};
use super::tickets::{self, NewTicket, Origin, Reporter};
use super::{Actor, ServiceError};
use crate::domain::Role;
use crate::domain::calendar::WorkCalendar;
use crate::domain::contact::ContactCipher;
use crate::store::{agency, ticket as ticket_row};

/// The channel of imported tickets.
pub const CHANNEL: &str = "hotline_12345";

/// Columns of the import file (header names; order free).
pub const COLUMNS: [&str; 10] = [
    "hotline_id",
    "received_at",
    "kind",
    "category",
    "region_code",
    "agency_code",
    "description",
    "reporter_name",
    "reporter_phone",
    "address",
];

const REQUIRED: [&str; 6] = [
    "hotline_id",
    "received_at",
    "kind",
    "category",
    "region_code",
    "description",
];

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct HotlineReport {
    pub rows: usize,
    /// (row, hotline id, ticket number) of the tickets filed.
    pub created: Vec<(usize, String, String)>,
    /// (row, hotline id, ticket number) of rows imported before.
    pub duplicates: Vec<(usize, String, String)>,
    pub errors: Vec<RowError>,
}

/// 投诉/举报/建议/表扬 (or the English kinds).
fn kind_of(raw: &str) -> Option<&'static str> {
    match raw.trim() {
        "投诉" | "complaint" => Some("complaint"),
        "举报" | "report" => Some("report"),
        "建议" | "意见建议" | "suggestion" => Some("suggestion"),
        "表扬" | "praise" => Some("praise"),
        _ => None,
    }
}

/// RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` in Asia/Shanghai as hotline systems export.
fn received_at(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())?;
    chrono::FixedOffset::east_opt(8 * 3600)?
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The column a service field comes from.
fn column_of(field: &str) -> String {
    match field {
        "reporter.name" => "reporter_name",
        "reporter.phone" => "reporter_phone",
        "agency_id" => "agency_code",
        "latitude" | "longitude" | "channel" | "attachments" => "row",
        other => other,
    }
    .to_owned()
}

/// Refuses a key that may not import work orders; checked before the file is read.
pub fn authorize(actor: &Actor) -> Result<(), ServiceError> {
    let allowed = match actor.role {
        Role::Admin | Role::Bureau => true,
        Role::Channel => actor.channel.as_deref() == Some(CHANNEL),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ServiceError::forbidden(
            "only admin, bureau and hotline_12345 channel keys import hotline work orders",
        ))
    }
}

/// Imports a batch (admin, bureau within its region, or a `hotline_12345` channel key).
pub async fn import(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    calendar: &WorkCalendar,
    actor: &Actor,
    table: Table,
) -> Result<HotlineReport, ServiceError> {
    authorize(actor)?;
    let index = |name: &str| table.header.iter().position(|h| h.trim() == name);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| index(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ServiceError::invalid(
            "header",
            format!(
                "missing columns {}; the columns are {}",
                missing.join(", "),
                COLUMNS.join(", ")
            ),
        ));
    }
    if table.rows.len() > super::imports::limits::MAX_ROWS {
        return Err(ServiceError::TooLarge(format!(
            "at most {} work orders per import",
            super::imports::limits::MAX_ROWS
        )));
    }
    let mut report = HotlineReport {
        rows: table.rows.len(),
        ..HotlineReport::default()
    };
    let mut seen = std::collections::HashMap::new();
    for (i, cells) in table.rows.iter().enumerate() {
        let row = i + 1;
        let cell = |name: &str| {
            index(name)
                .and_then(|j| cells.get(j))
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
        };
        let mut errors = Vec::new();
        let mut fail = |column: &str, reason: String| {
            errors.push(RowError {
                row,
                column: column.to_owned(),
                reason,
            })
        };
        let hotline_id = cell("hotline_id").unwrap_or_default();
        if hotline_id.is_empty() || hotline_id.chars().count() > 64 {
            fail("hotline_id", "required, at most 64 characters".into());
        } else if let Some(first) = seen.insert(hotline_id.clone(), row) {
            fail("hotline_id", format!("repeats row {first} of this file"));
        }
        let received = cell("received_at").as_deref().and_then(received_at);
        if received.is_none() {
            fail(
                "received_at",
                "required: RFC 3339 or YYYY-MM-DD HH:MM[:SS] (Beijing time)".into(),
            );
        }
        if received.is_some_and(|t| t > Utc::now()) {
            fail("received_at", "lies in the future".into());
        }
        let kind = cell("kind").as_deref().and_then(kind_of);
        if kind.is_none() {
            fail("kind", "must be 投诉, 举报, 建议 or 表扬".into());
        }
        let agency_id = match cell("agency_code") {
            None => None,
            Some(code) => match agency::Entity::find()
                .filter(agency::Column::Code.eq(code.as_str()))
                .one(db)
                .await?
            {
                Some(a) => Some(a.id),
                None => {
                    fail("agency_code", format!("no agency has the code {code}"));
                    None
                }
            },
        };
        let reporter = match (cell("reporter_name"), cell("reporter_phone")) {
            (Some(name), Some(phone)) => Some(Reporter { name, phone }),
            (None, None) => None,
            (Some(_), None) => {
                fail(
                    "reporter_phone",
                    "a named reporter needs a phone number".into(),
                );
                None
            }
            (None, Some(_)) => {
                fail(
                    "reporter_name",
                    "a phone number needs the reporter's name".into(),
                );
                None
            }
        };
        if !errors.is_empty() {
            report.errors.extend(errors);
            continue;
        }
        if let Some(existing) = ticket_row::Entity::find()
            .filter(ticket_row::Column::Channel.eq(CHANNEL))
            .filter(ticket_row::Column::ExternalId.eq(hotline_id.as_str()))
            .one(db)
            .await?
        {
            report.duplicates.push((row, hotline_id, existing.number));
            continue;
        }
        let new = NewTicket {
            kind: kind.unwrap_or("complaint").to_owned(),
            category: cell("category").unwrap_or_default(),
            agency_id,
            region_code: cell("region_code").unwrap_or_default(),
            description: cell("description").unwrap_or_default(),
            attachments: Vec::new(),
            latitude: None,
            longitude: None,
            address: cell("address"),
            channel: CHANNEL.to_owned(),
            reporter,
        };
        let origin = Origin {
            external_id: Some(hotline_id.clone()),
            received_at: received,
            ..Origin::default()
        };
        match tickets::file(db, cipher, calendar, actor, new, origin).await {
            Ok(filed) => report
                .created
                .push((row, hotline_id, filed.view.ticket.number)),
            Err(ServiceError::Validation(fields)) => {
                report.errors.extend(fields.into_iter().map(|f| RowError {
                    row,
                    column: column_of(&f.field),
                    reason: f.reason,
                }))
            }
            // Imported meanwhile by a concurrent batch.
            Err(ServiceError::Conflict { .. }) => {
                let number = ticket_row::Entity::find()
                    .filter(ticket_row::Column::Channel.eq(CHANNEL))
                    .filter(ticket_row::Column::ExternalId.eq(hotline_id.as_str()))
                    .one(db)
                    .await?
                    .map(|t| t.number)
                    .unwrap_or_default();
                report.duplicates.push((row, hotline_id, number));
            }
            Err(other) => return Err(other),
        }
    }
    Ok(report)
}
