//! Open311 GeoReport v2 over tickets: services are the ticket categories, service
//! requests are tickets, `jurisdiction_id` is a region code, and statuses are `open`
//! or `closed` (closed = 已办结 or 不予受理) with the Chinese state as status notes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::tickets::{self, Filed, NewTicket, Origin};
use super::{Actor, Scope, ServiceError, rate_limit, regions, ticket_config};
use crate::domain::Role;
use crate::domain::calendar::WorkCalendar;
use crate::domain::contact::ContactCipher;
use crate::domain::ticket::State;
use crate::store::{agency, ticket as ticket_row, ticket_category, ticket_event};

/// Most requests one `GET requests` answers (the specification's default cap).
pub const MAX_REQUESTS: u64 = 1000;

/// Open311's two statuses.
pub fn is_closed(state: State) -> bool {
    matches!(state, State::Closed | State::Rejected)
}

/// The active services (categories).
pub async fn services(
    db: &DatabaseConnection,
) -> Result<Vec<ticket_category::Model>, ServiceError> {
    Ok(ticket_config::categories(db)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .collect())
}

/// One active service by code.
pub async fn service(
    db: &DatabaseConnection,
    code: &str,
) -> Result<ticket_category::Model, ServiceError> {
    services(db)
        .await?
        .into_iter()
        .find(|c| c.code == code)
        .ok_or(ServiceError::NotFound { entity: "service" })
}

/// A service request as posted.
#[derive(Debug, Clone, Default)]
pub struct PostedRequest {
    pub jurisdiction_id: Option<String>,
    pub service_code: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address_string: Option<String>,
    pub description: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub media_url: Option<String>,
    /// The poster's account: its tickets and notifications go to this channel user.
    pub account_id: Option<String>,
    /// `attribute[kind]`: complaint (default), report, suggestion or praise.
    pub kind: Option<String>,
    /// `attribute[agency_id]`.
    pub agency_id: Option<i64>,
}

/// Files a posted service request as a ticket of the key's channel.
pub async fn post_request(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    calendar: &WorkCalendar,
    actor: &Actor,
    posted: PostedRequest,
) -> Result<Filed, ServiceError> {
    let Some(channel) = actor
        .channel
        .clone()
        .filter(|_| actor.role == Role::Channel)
    else {
        return Err(ServiceError::forbidden(
            "api_key must be a channel key created with --channel",
        ));
    };
    let mut v = super::error::Validator::new();
    let region_code = posted.jurisdiction_id.unwrap_or_default();
    if region_code.is_empty() {
        v.add(
            "jurisdiction_id",
            "required: the region code of the request",
        );
    }
    let code = posted.service_code.unwrap_or_default();
    let category = match services(db).await?.into_iter().find(|c| c.code == code) {
        Some(c) => c.name,
        None => {
            v.add("service_code", format!("unknown service_code {code:?}"));
            String::new()
        }
    };
    if posted.lat.is_none() && posted.long.is_none() && posted.address_string.is_none() {
        v.add(
            "lat",
            "a location is required: lat and long, or address_string",
        );
    }
    let name = [posted.last_name, posted.first_name]
        .into_iter()
        .flatten()
        .collect::<String>();
    let reporter = match (posted.phone, name.is_empty()) {
        (Some(phone), false) => Some(tickets::Reporter { name, phone }),
        (Some(_), true) => {
            v.add(
                "first_name",
                "a real-name request gives a name with the phone",
            );
            None
        }
        (None, _) => None,
    };
    v.finish()?;
    let new = NewTicket {
        kind: posted.kind.unwrap_or_else(|| "complaint".to_owned()),
        category,
        agency_id: posted.agency_id,
        region_code,
        description: posted.description.unwrap_or_default(),
        attachments: posted.media_url.into_iter().collect(),
        latitude: posted.lat,
        longitude: posted.long,
        address: posted.address_string,
        channel,
        reporter,
    };
    // The ticket is checked before the account's user is recorded: a refused
    // request writes nothing.
    tickets::check(db, actor, &new).await?;
    let origin = match posted.account_id {
        Some(account) => Origin {
            channel_user_id: Some(
                super::channels::user_id_for(db, cipher, &new.channel, &account).await?,
            ),
            ..Origin::default()
        },
        None => Origin::default(),
    };
    tickets::file(db, cipher, calendar, actor, new, origin).await
}

/// Filters of `GET requests`.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub service_request_ids: Vec<String>,
    pub service_codes: Vec<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    /// `Some(true)` closed only, `Some(false)` open only.
    pub closed: Option<bool>,
    pub jurisdiction_id: Option<String>,
    /// The channel's user whose requests a channel key reads (required for channel
    /// keys: a channel never lists its other users' requests).
    pub account_id: Option<String>,
}

/// A service request as Open311 shows it.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub ticket: ticket_row::Model,
    pub state: State,
    pub service_code: Option<String>,
    /// The latest reply or reason for not accepting.
    pub public_note: Option<String>,
    pub agency_name: Option<String>,
}

/// Service requests the key may see: a channel key those its user (`account_id`)
/// filed through it, a bureau those in its region, an agency its own, an admin all.
/// Without dates (and without ids) the last 90 days; newest first, at most 1,000.
pub async fn requests(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    actor: &Actor,
    filter: RequestFilter,
) -> Result<Vec<RequestView>, ServiceError> {
    let mut select = ticket_row::Entity::find()
        .order_by_desc(ticket_row::Column::Id)
        .limit(MAX_REQUESTS);
    match (&actor.scope, actor.role) {
        (Scope::Everything, Role::Admin) => {}
        (Scope::Everything, Role::Channel) => {
            let channel = actor.channel.clone().unwrap_or_default();
            let Some(account) = filter.account_id.as_deref() else {
                return Err(ServiceError::invalid(
                    "account_id",
                    "a channel key reads the requests of one of its users: give account_id",
                ));
            };
            let user = super::channels::known_user_id(db, cipher, &channel, account).await?;
            select = select
                .filter(ticket_row::Column::Channel.eq(channel))
                .filter(ticket_row::Column::ChannelUserId.eq(user.unwrap_or(-1)));
        }
        (Scope::Everything, _) => {
            return Err(ServiceError::forbidden(
                "evaluator keys do not read service requests",
            ));
        }
        (Scope::Region { path, .. }, _) => {
            select = select
                .filter(ticket_row::Column::RegionCode.in_subquery(regions::codes_under(path)));
        }
        (Scope::Agency { id, .. }, _) => {
            select = select.filter(ticket_row::Column::AgencyId.eq(*id));
        }
    }
    let categories = ticket_config::categories(db).await?;
    if !filter.service_request_ids.is_empty() {
        select = select.filter(
            ticket_row::Column::Number.is_in(
                filter
                    .service_request_ids
                    .iter()
                    .map(|n| n.trim().to_ascii_uppercase()),
            ),
        );
    } else if filter.start_date.is_none() && filter.end_date.is_none() {
        select = select.filter(ticket_row::Column::CreatedAt.gte(Utc::now() - Duration::days(90)));
    }
    if !filter.service_codes.is_empty() {
        let names: Vec<String> = categories
            .iter()
            .filter(|c| filter.service_codes.contains(&c.code))
            .map(|c| c.name.clone())
            .collect();
        select = select.filter(ticket_row::Column::Category.is_in(names));
    }
    if let Some(from) = filter.start_date {
        select = select.filter(ticket_row::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.end_date {
        select = select.filter(ticket_row::Column::CreatedAt.lte(to));
    }
    if let Some(closed) = filter.closed {
        let states: Vec<&str> = State::ALL
            .into_iter()
            .filter(|s| is_closed(*s) == closed)
            .map(State::as_str)
            .collect();
        select = select.filter(ticket_row::Column::State.is_in(states));
    }
    if let Some(code) = &filter.jurisdiction_id {
        let path = regions::path_of(db, "jurisdiction_id", code).await?;
        select =
            select.filter(ticket_row::Column::RegionCode.in_subquery(regions::codes_under(&path)));
    }
    let found = select.all(db).await?;
    let ids: Vec<i64> = found.iter().map(|t| t.id).collect();
    let notes: HashMap<i64, String> = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.is_in(ids))
        .filter(ticket_event::Column::Action.is_in(["reply", "reject"]))
        .order_by_asc(ticket_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|e| e.note.map(|n| (e.ticket_id, n)))
        .collect();
    let agencies: HashMap<i64, String> = agency::Entity::find()
        .filter(agency::Column::Id.is_in(found.iter().filter_map(|t| t.agency_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let code_of: HashMap<&str, &str> = categories
        .iter()
        .map(|c| (c.name.as_str(), c.code.as_str()))
        .collect();
    Ok(found
        .into_iter()
        .map(|t| RequestView {
            state: State::parse(&t.state).unwrap_or(State::Received),
            service_code: code_of.get(t.category.as_str()).map(|c| (*c).to_owned()),
            public_note: notes.get(&t.id).cloned(),
            agency_name: t.agency_id.and_then(|a| agencies.get(&a).cloned()),
            ticket: t,
        })
        .collect())
}

/// The service request a token (the reporter's secret) belongs to; wrong tokens are
/// throttled per client like the status lookup.
pub async fn by_token(
    db: &DatabaseConnection,
    token: &str,
    client: &str,
    failures: rate_limit::Limit,
) -> Result<String, ServiceError> {
    let bucket = format!("ticket-lookup-failure:{client}");
    if let rate_limit::Verdict::Limited { retry_after_secs } =
        rate_limit::check(db, &bucket, failures).await?
    {
        return Err(ServiceError::RateLimited { retry_after_secs });
    }
    let hash = tickets::hash_secret(&token.trim().to_ascii_uppercase());
    match ticket_row::Entity::find()
        .filter(ticket_row::Column::SecretHash.eq(hash))
        .one(db)
        .await?
    {
        Some(t) => Ok(t.number),
        None => {
            rate_limit::hit(db, &bucket, failures).await?;
            Err(ServiceError::NotFound { entity: "token" })
        }
    }
}
