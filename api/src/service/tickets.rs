//! 工单: filing tickets, moving them through the workflow, public status lookup.
//!
//! Every move goes through `domain::ticket::decide` and is applied with a
//! conditional update on the ticket's revision, with its event, in one transaction:
//! of two concurrent moves one wins and the other gets 409 `ticket_changed`.
//! Reporters' names and phone numbers are sealed with the installation's key and
//! shown in full only to admin keys and the bureaus whose region holds the ticket.

use chrono::{DateTime, Datelike, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
};
use sha2::{Digest, Sha256};

use super::{
    Actor, Page, PageRequest, Scope, ServiceError, audit, page, rate_limit, regions, ticket_config,
};
use crate::domain::calendar::WorkCalendar;
use crate::domain::contact::{self, ContactCipher};
use crate::domain::ticket::{self, Move, Mover, Refusal, State};
use crate::domain::{RegionLevel, Role};
use crate::store::{agency, region, ticket as ticket_row, ticket_event, ticket_sequence};

/// Ticket kinds (工单类型).
pub const KINDS: [&str; 4] = ["complaint", "report", "suggestion", "praise"];

/// What a reply found about a complaint or report (for the substantiated share).
pub const FINDINGS: [&str; 3] = ["substantiated", "partly", "unfounded"];

/// Where a ticket came from.
pub const CHANNELS: [&str; 5] = [
    "telegram",
    "hotline_12345",
    "web",
    "contact_point",
    "supervisor",
];

/// The actor of changes Pingjia makes itself (deadlines, deemed ratings).
const SYSTEM: &str = "system";

/// The highest escalation level (0 agency, 1 county bureau, 2 city bureau).
const TOP_LEVEL: i16 = 2;

/// A real-name reporter.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub name: String,
    pub phone: String,
}

/// A ticket to file.
#[derive(Debug, Clone)]
pub struct NewTicket {
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
    /// `None` files anonymously.
    pub reporter: Option<Reporter>,
}

/// Where a ticket came from beyond its channel: the channel user who filed it, the
/// contact point of a liaison, the sending system's own id, and when it was received
/// there (deadlines count from then; default now).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub channel_user_id: Option<i64>,
    pub contact_point_id: Option<i64>,
    pub external_id: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
}

/// A ticket as a caller may see it: contact data opened or masked.
#[derive(Debug, Clone)]
pub struct TicketView {
    pub ticket: ticket_row::Model,
    pub state: State,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// Whether the contact data above is masked for this caller.
    pub masked: bool,
}

/// A filed ticket and its lookup secret (shown only here).
#[derive(Debug, Clone)]
pub struct Filed {
    pub view: TicketView,
    pub secret: String,
}

pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

fn new_secret() -> String {
    // 80 bits in 16 Crockford-style characters: easy to read out on the phone.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    (0..16)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The next number of `year`, in the creating transaction (so a rolled-back filing
/// leaves no gap visible to anyone else).
async fn next_number(txn: &DatabaseTransaction, year: i32) -> Result<String, ServiceError> {
    ticket_sequence::Entity::insert(ticket_sequence::ActiveModel {
        year: Set(year),
        last: Set(0),
    })
    .on_conflict_do_nothing_on([ticket_sequence::Column::Year])
    .exec(txn)
    .await?;
    let mut bump = Query::update();
    bump.table(ticket_sequence::Entity)
        .value(
            ticket_sequence::Column::Last,
            Expr::col(ticket_sequence::Column::Last).add(1),
        )
        .and_where(ticket_sequence::Column::Year.eq(year))
        .returning_col(ticket_sequence::Column::Last);
    let row = txn
        .query_one(&bump)
        .await?
        .ok_or_else(|| anyhow::anyhow!("ticket sequence of {year} missing"))?;
    let last: i64 = row.try_get_by_index(0)?;
    Ok(format!("TS{year}-{last:06}"))
}

/// Files a ticket: channel keys on behalf of their users, bureaus within their
/// region, admins anywhere.
pub async fn create(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    calendar: &WorkCalendar,
    actor: &Actor,
    new: NewTicket,
) -> Result<Filed, ServiceError> {
    file(db, cipher, calendar, actor, new, Origin::default()).await
}

/// The active category a client named by its Chinese name or its code.
async fn category_named<C: ConnectionTrait>(
    db: &C,
    given: &str,
) -> Result<Result<String, String>, ServiceError> {
    let all = ticket_config::categories(db).await?;
    let given = given.trim();
    Ok(
        match all
            .iter()
            .find(|c| c.active && (c.name == given || c.code == given))
        {
            Some(c) => Ok(c.name.clone()),
            None => Err(format!(
                "must be one of {}",
                all.iter()
                    .filter(|c| c.active)
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    )
}

/// A ticket's fields once they passed every check.
pub(crate) struct Checked {
    category: String,
    description: String,
    address: Option<String>,
    reporter: Option<(String, Option<String>)>,
    region: Option<region::Model>,
}

/// Checks a ticket before anything is written: the role, every field, the region in
/// the key's scope and an agency that serves it. Filing calls it, and so does a
/// channel before it records a user it has not seen (a refused ticket leaves nothing
/// behind).
pub(crate) async fn check(
    db: &DatabaseConnection,
    actor: &Actor,
    new: &NewTicket,
) -> Result<Checked, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Channel]) {
        return Err(ServiceError::forbidden(
            "only channel, bureau and admin keys file tickets",
        ));
    }
    let mut v = super::error::Validator::new();
    if !KINDS.contains(&new.kind.as_str()) {
        v.add("kind", format!("must be one of {}", KINDS.join(", ")));
    }
    let category = match category_named(db, &new.category).await? {
        Ok(name) => name,
        Err(reason) => {
            v.add("category", reason);
            String::new()
        }
    };
    if !CHANNELS.contains(&new.channel.as_str()) {
        v.add("channel", format!("must be one of {}", CHANNELS.join(", ")));
    } else if actor.role == Role::Channel && actor.channel.as_deref() != Some(new.channel.as_str())
    {
        v.add(
            "channel",
            format!(
                "this key speaks for the channel {}",
                actor.channel.as_deref().unwrap_or("(none)")
            ),
        );
    }
    let description = v.text("description", &new.description, 10, 4000);
    let address = new.address.as_deref().map(|a| v.text("address", a, 1, 300));
    if new.attachments.len() > 20 {
        v.add("attachments", "at most 20 attachments");
    }
    if new
        .attachments
        .iter()
        .any(|a| a.trim().is_empty() || a.len() > 500)
    {
        v.add("attachments", "each reference must have 1–500 characters");
    }
    match (new.latitude, new.longitude) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) {
                v.add("latitude", "must be between -90 and 90");
            }
            if !(-180.0..=180.0).contains(&lon) {
                v.add("longitude", "must be between -180 and 180");
            }
        }
        (None, None) => {}
        _ => v.add("latitude", "give latitude and longitude together"),
    }
    let reporter = new.reporter.as_ref().map(|r| {
        let name = v.text("reporter.name", &r.name, 1, 50);
        let phone = v.parsed("reporter.phone", contact::parse_phone(&r.phone));
        (name, phone)
    });
    let region = region::Entity::find_by_id(new.region_code.clone())
        .one(db)
        .await?;
    match &region {
        None => v.add(
            "region_code",
            format!("region {} does not exist", new.region_code),
        ),
        Some(r) if !actor.covers_path(&r.path) => {
            v.add("region_code", "lies outside the key's region")
        }
        Some(_) => {}
    }
    if let Some(id) = new.agency_id {
        match agency::Entity::find_by_id(id).one(db).await? {
            None => v.add("agency_id", format!("agency {id} does not exist")),
            // The agency must serve the place of the ticket: its region is the
            // ticket's or one above it. So every bureau over the agency sees the
            // ticket, and it never counts against an agency elsewhere.
            Some(a) => {
                let seat = region::Entity::find_by_id(a.region_code.clone())
                    .one(db)
                    .await?;
                let serves = match (&region, &seat) {
                    (Some(r), Some(s)) => r.path.starts_with(s.path.as_str()),
                    _ => false,
                };
                if region.is_some() && !serves {
                    v.add(
                        "agency_id",
                        format!(
                            "agency {id} ({}) does not serve region {}: name an agency of that region or above it",
                            a.region_code, new.region_code
                        ),
                    );
                }
            }
        }
    }
    v.finish()?;
    Ok(Checked {
        category,
        description,
        address,
        reporter,
        region,
    })
}

/// Files a ticket with its origin (channel user, contact point, external id).
pub(crate) async fn file(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    calendar: &WorkCalendar,
    actor: &Actor,
    new: NewTicket,
    origin: Origin,
) -> Result<Filed, ServiceError> {
    let Checked {
        category,
        description,
        address,
        reporter,
        region,
    } = check(db, actor, &new).await?;
    let (deadlines, _) = ticket_config::deadlines_for(db, &new.region_code).await?;
    let now = Utc::now();
    let received = origin.received_at.unwrap_or(now);
    let secret = new_secret();
    let txn = crate::db::begin_write(db).await?;
    let number = next_number(
        &txn,
        crate::domain::calendar::shanghai_date(received).year(),
    )
    .await?;
    let (name, phone) = match reporter {
        Some((name, Some(phone))) => (Some(cipher.seal(&name)), Some(cipher.seal(&phone))),
        _ => (None, None),
    };
    let row = ticket_row::ActiveModel {
        number: Set(number),
        secret_hash: Set(hash_secret(&secret)),
        kind: Set(new.kind),
        category: Set(category),
        agency_id: Set(new.agency_id),
        region_code: Set(new.region_code),
        description: Set(description),
        attachments: Set(serde_json::json!(new.attachments)),
        latitude: Set(new.latitude),
        longitude: Set(new.longitude),
        address: Set(address),
        channel: Set(new.channel),
        anonymous: Set(name.is_none()),
        reporter_name: Set(name),
        reporter_phone: Set(phone),
        state: Set(State::Received.as_str().to_owned()),
        level: Set(0),
        revision: Set(0),
        ack_due: Set(calendar.deadline(received, deadlines.ack_days).due),
        reply_due: Set(calendar.deadline(received, deadlines.reply_days).due),
        reply_days: Set(i16::try_from(deadlines.reply_days).unwrap_or(i16::MAX)),
        rating: Set(None),
        created_at: Set(received),
        updated_at: Set(now),
        channel_user_id: Set(origin.channel_user_id),
        contact_point_id: Set(origin.contact_point_id),
        external_id: Set(origin.external_id),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        ServiceError::from_unique(e, "a ticket with this external id was filed already")
    })?;
    record_event(
        &txn,
        row.id,
        "create",
        None,
        State::Received,
        &actor.label(),
        None,
        received,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "ticket.create",
            entity: "ticket",
            entity_id: row.id.to_string(),
            region_path: region.as_ref().map(|r| r.path.clone()),
            // Never the description or the contact data.
            details: Some(serde_json::json!({"number": row.number, "kind": row.kind})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Filed {
        view: {
            let full = access(db, actor, &row).await?.unwrap_or(false);
            view(cipher, full, row)
        },
        secret,
    })
}

#[allow(clippy::too_many_arguments)]
async fn record_event(
    txn: &DatabaseTransaction,
    ticket_id: i64,
    action: &str,
    from: Option<State>,
    to: State,
    actor: &str,
    note: Option<String>,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    ticket_event::ActiveModel {
        ticket_id: Set(ticket_id),
        action: Set(action.to_owned()),
        from_state: Set(from.map(|s| s.as_str().to_owned())),
        to_state: Set(to.as_str().to_owned()),
        actor: Set(actor.to_owned()),
        note: Set(note),
        at: Set(at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// The regions whose tickets the bureau of `code` handles: its own and its towns.
async fn seats_of<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<std::collections::HashSet<String>, ServiceError> {
    let mut seats: std::collections::HashSet<String> = region::Entity::find()
        .filter(region::Column::ParentCode.eq(code))
        .filter(region::Column::Level.eq(crate::domain::RegionLevel::Town))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.code)
        .collect();
    seats.insert(code.to_owned());
    Ok(seats)
}

/// Whether the bureau of `code` (handling the tickets of `seats`) handles `t`: the
/// ticket's region is one of its seats, or the ticket was escalated to it.
fn handles(code: &str, seats: &std::collections::HashSet<String>, t: &ticket_row::Model) -> bool {
    seats.contains(&t.region_code) || t.escalated_to.as_deref() == Some(code)
}

/// Whether the caller may see the ticket (`None`: not), and whether it sees the
/// reporter's contact data in full: only the handling bureau does — the bureau of the
/// ticket's region (a town's county), and the bureau it was escalated to. Admins and
/// the bureaus above see it masked unless they ask to reveal it (an audited act);
/// agencies never see it.
async fn access<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    t: &ticket_row::Model,
) -> Result<Option<bool>, ServiceError> {
    Ok(match &actor.scope {
        Scope::Everything if actor.role == Role::Admin => Some(false),
        // Channel keys reach tickets through their users (issue 5's channel API).
        Scope::Everything => None,
        Scope::Region { code, path } => {
            let inside = region::Entity::find_by_id(t.region_code.clone())
                .one(db)
                .await?
                .is_some_and(|r| r.path.starts_with(path.as_str()));
            if inside {
                Some(handles(code, &seats_of(db, code).await?, t))
            } else {
                None
            }
        }
        Scope::Agency { id, .. } => (t.agency_id == Some(*id)).then_some(false),
    })
}

/// The ticket as shown: contact data opened, or masked unless `full`.
fn view(cipher: &ContactCipher, full: bool, t: ticket_row::Model) -> TicketView {
    let open = |sealed: &Option<String>| sealed.as_deref().and_then(|s| cipher.open(s));
    let (name, phone) = (open(&t.reporter_name), open(&t.reporter_phone));
    TicketView {
        reporter_name: if full {
            name
        } else {
            name.as_deref().map(contact::mask_name)
        },
        reporter_phone: if full {
            phone
        } else {
            phone.as_deref().map(contact::mask_phone)
        },
        masked: !full,
        state: State::parse(&t.state).unwrap_or(State::Received),
        ticket: t,
    }
}

/// A ticket the caller may see, and whether it sees the contact data in full.
async fn visible(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(ticket_row::Model, bool), ServiceError> {
    let not_found = || ServiceError::NotFound { entity: "ticket" };
    let t = ticket_row::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    match access(db, actor, &t).await? {
        Some(full) => Ok((t, full)),
        None => Err(not_found()),
    }
}

/// One ticket with its timeline.
/// With `reveal`, an admin or a bureau over the ticket sees the contact data in full,
/// and the audit trail records that it did; agency keys never do.
pub async fn get(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    actor: &Actor,
    id: i64,
    reveal: bool,
) -> Result<(TicketView, Vec<ticket_event::Model>), ServiceError> {
    let (t, mut full) = visible(db, actor, id).await?;
    if reveal && !full {
        if !actor.is(&[Role::Admin, Role::Bureau]) {
            return Err(ServiceError::forbidden(
                "only admin and bureau keys reveal a reporter's contact data",
            ));
        }
        let path = region::Entity::find_by_id(t.region_code.clone())
            .one(db)
            .await?
            .map(|r| r.path);
        audit::record(
            db,
            actor,
            audit::Change {
                action: "ticket.contact.reveal",
                entity: "ticket",
                entity_id: t.id.to_string(),
                region_path: path,
                details: Some(serde_json::json!({"number": t.number})),
            },
        )
        .await?;
        full = true;
    }
    let events = events_of(db, t.id).await?;
    Ok((view(cipher, full, t), events))
}

async fn events_of(
    db: &DatabaseConnection,
    ticket_id: i64,
) -> Result<Vec<ticket_event::Model>, ServiceError> {
    Ok(ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(ticket_id))
        .order_by_asc(ticket_event::Column::Id)
        .all(db)
        .await?)
}

/// Filters of the ticket list.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub state: Option<State>,
    /// Open tickets past their reply deadline.
    pub overdue: bool,
}

/// Tickets the caller handles, newest first.
pub async fn list(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    actor: &Actor,
    filter: TicketFilter,
    req: PageRequest,
) -> Result<Page<TicketView>, ServiceError> {
    let mut select = ticket_row::Entity::find().order_by_desc(ticket_row::Column::Id);
    // As [`access`]: a bureau sees contact data in full on the tickets it handles (its
    // region, its towns, escalated to it), everyone else masked.
    let handled = match &actor.scope {
        Scope::Region { code, .. } => Some((code.clone(), seats_of(db, code).await?)),
        _ => None,
    };
    let full = |t: &ticket_row::Model| {
        handled
            .as_ref()
            .is_some_and(|(code, seats)| handles(code, seats, t))
    };
    match &actor.scope {
        Scope::Everything if actor.role == Role::Admin => {}
        Scope::Everything => {
            return Err(ServiceError::forbidden(
                "channel and evaluator keys do not list tickets",
            ));
        }
        Scope::Region { path, .. } => {
            select = select
                .filter(ticket_row::Column::RegionCode.in_subquery(regions::codes_under(path)));
        }
        Scope::Agency { id, .. } => {
            select = select.filter(ticket_row::Column::AgencyId.eq(*id));
        }
    }
    if let Some(state) = filter.state {
        select = select.filter(ticket_row::Column::State.eq(state.as_str()));
    }
    if filter.overdue {
        select = select
            .filter(ticket_row::Column::State.is_in(awaiting_reply()))
            .filter(ticket_row::Column::ReplyDue.lt(Utc::now()));
    }
    Ok(page::fetch(db, select, req).await?.map(|t| {
        let full = full(&t);
        view(cipher, full, t)
    }))
}

/// A requested move.
#[derive(Debug, Clone)]
pub struct MoveRequest {
    pub action: Move,
    pub note: Option<String>,
    /// For `assign`: the handling agency (required unless the ticket names one).
    pub agency_id: Option<i64>,
    /// For `rate`/`reopen`: 满意, 基本满意 or 不满意.
    pub rating: Option<String>,
    /// For `reply` to a complaint or report: substantiated, partly or unfounded.
    pub finding: Option<String>,
}

/// Ratings of the handling (好差评).
pub const RATINGS: [&str; 3] = ["满意", "基本满意", "不满意"];

fn refused(r: Refusal) -> ServiceError {
    match r {
        Refusal::WrongState { .. } => ServiceError::Conflict {
            code: "illegal_transition",
            message: r.to_string(),
        },
        Refusal::NotAllowed(m) => ServiceError::Forbidden(m),
        Refusal::NoteRequired => ServiceError::invalid("note", "this move needs a note"),
    }
}

/// Moves a ticket by a key. The move is decided on the ticket as read and applied
/// only if nobody moved it meanwhile (409 `ticket_changed` otherwise).
pub async fn move_ticket(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    calendar: &WorkCalendar,
    actor: &Actor,
    id: i64,
    req: MoveRequest,
) -> Result<TicketView, ServiceError> {
    // A move is a write: a ticket that exists but is not the key's is a 403.
    let (t, full) = match visible(db, actor, id).await {
        Err(ServiceError::NotFound { .. })
            if ticket_row::Entity::find_by_id(id).one(db).await?.is_some() =>
        {
            return Err(ServiceError::forbidden(
                "the ticket lies outside the key's scope",
            ));
        }
        other => other?,
    };
    let by = By {
        mover: Mover::Key(actor.role),
        label: actor.label(),
        region_prefix: actor.region_prefix().map(str::to_owned),
    };
    let moved = make_move(db, calendar, &t, by, req, Utc::now()).await?;
    Ok(view(cipher, full, moved))
}

/// Who makes a move: the mover, the label recorded with it, and the region the
/// mover's key is confined to (an assigned agency must lie inside it).
pub(crate) struct By {
    pub mover: Mover,
    pub label: String,
    pub region_prefix: Option<String>,
}

/// Decides and applies a move by a key or by the reporter, made at `now`; the ticket
/// as it stands afterwards.
pub(crate) async fn make_move(
    db: &DatabaseConnection,
    calendar: &WorkCalendar,
    t: &ticket_row::Model,
    by: By,
    req: MoveRequest,
    now: DateTime<Utc>,
) -> Result<ticket_row::Model, ServiceError> {
    let from = State::parse(&t.state).ok_or_else(|| anyhow::anyhow!("bad state {}", t.state))?;
    let note = req
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if note.as_ref().is_some_and(|n| n.chars().count() > 4000) {
        return Err(ServiceError::invalid("note", "at most 4000 characters"));
    }
    let rating = match req.action {
        Move::Rate | Move::Reopen => {
            let Some(r) = req.rating.as_deref() else {
                return Err(ServiceError::invalid(
                    "rating",
                    "give 满意, 基本满意 or 不满意",
                ));
            };
            let expected = if req.action == Move::Reopen {
                &RATINGS[2..]
            } else {
                &RATINGS[..2]
            };
            if !expected.contains(&r) {
                return Err(ServiceError::invalid(
                    "rating",
                    format!("`{:?}` takes {}", req.action, expected.join(" or ")),
                ));
            }
            Some(r.to_owned())
        }
        _ => None,
    };
    let decision = ticket::decide(from, req.action, by.mover, note.as_deref()).map_err(refused)?;
    let finding = match (req.action, req.finding.as_deref()) {
        (Move::Reply, Some(f)) if FINDINGS.contains(&f) => Some(f.to_owned()),
        (Move::Reply, Some(_)) => {
            return Err(ServiceError::invalid(
                "finding",
                format!("must be one of {}", FINDINGS.join(", ")),
            ));
        }
        (Move::Reply, None) if matches!(t.kind.as_str(), "complaint" | "report") => {
            return Err(ServiceError::invalid(
                "finding",
                "a reply to a complaint or report states what verification found: \
                 substantiated, partly or unfounded",
            ));
        }
        (Move::UpholdAppeal, _) => Some(FINDINGS[2].to_owned()),
        (_, Some(_)) if req.action != Move::Reply => {
            return Err(ServiceError::invalid(
                "finding",
                "only a reply states a finding",
            ));
        }
        _ => t.finding.clone(),
    };
    let agency_id = match req.action {
        Move::Assign => match req.agency_id.or(t.agency_id) {
            Some(a) => match super::agencies::region_path_of(db, a).await? {
                None => {
                    return Err(ServiceError::invalid(
                        "agency_id",
                        format!("agency {a} does not exist"),
                    ));
                }
                Some(path)
                    if by
                        .region_prefix
                        .as_deref()
                        .is_some_and(|prefix| !path.starts_with(prefix)) =>
                {
                    return Err(ServiceError::invalid(
                        "agency_id",
                        "the agency lies outside the key's region",
                    ));
                }
                Some(path) => {
                    let place = super::regions::path_of(db, "region_code", &t.region_code).await?;
                    if !place.starts_with(path.as_str()) {
                        return Err(ServiceError::invalid(
                            "agency_id",
                            format!(
                                "agency {a} does not serve region {}: name an agency of that region or above it",
                                t.region_code
                            ),
                        ));
                    }
                    Some(a)
                }
            },
            None => {
                return Err(ServiceError::invalid(
                    "agency_id",
                    "name the handling agency to assign the ticket",
                ));
            }
        },
        _ => t.agency_id,
    };
    let event_note = match (&rating, note) {
        (Some(r), Some(n)) => Some(format!("{r}：{n}")),
        (Some(r), None) => Some(r.clone()),
        (None, n) => n,
    };
    let level = if decision.escalates {
        Ord::min(t.level + 1, TOP_LEVEL)
    } else {
        t.level
    };
    let visit_due = if decision.to == State::Replied {
        let (deadlines, _) = ticket_config::deadlines_for(db, &t.region_code).await?;
        Some(calendar.deadline(now, deadlines.visit_days).due)
    } else {
        t.visit_due
    };
    let change = Change {
        action: req.action.as_str(),
        to: decision.to,
        level,
        escalated_to: supervisor(db, t, level).await?,
        agency_id,
        rating,
        finding,
        visit_due,
        by_reporter: by.mover == Mover::Reporter,
        actor: by.label,
        note: event_note,
    };
    if !apply(db, t, change, now).await? {
        return Err(ServiceError::Conflict {
            code: "ticket_changed",
            message: "the ticket was moved meanwhile; reload it and try again".into(),
        });
    }
    ticket_row::Entity::find_by_id(t.id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound { entity: "ticket" })
}

async fn region_path<C: ConnectionTrait>(db: &C, code: &str) -> Result<String, ServiceError> {
    Ok(regions::find(db, code)
        .await?
        .map(|r| r.path)
        .ok_or_else(|| anyhow::anyhow!("region {code} of a ticket is gone"))?)
}

/// The region code of the bureau supervising a ticket at `level`: none at level 0
/// (its agency handles it), the county bureau over the ticket's region at 1, the city
/// bureau at 2 (the nearest region of that level on the ticket's path, else the
/// highest one).
async fn supervisor<C: ConnectionTrait>(
    db: &C,
    t: &ticket_row::Model,
    level: i16,
) -> Result<Option<String>, ServiceError> {
    if level == 0 {
        return Ok(None);
    }
    let path = region_path(db, &t.region_code).await?;
    let codes: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let wanted = if level == 1 {
        RegionLevel::County
    } else {
        RegionLevel::City
    };
    let on_path = region::Entity::find()
        .filter(region::Column::Code.is_in(codes.iter().copied()))
        .all(db)
        .await?;
    Ok(on_path
        .iter()
        .find(|r| r.level == wanted)
        .map(|r| r.code.clone())
        .or_else(|| codes.first().map(|c| (*c).to_owned())))
}

/// One change of a ticket: its new state, level, agency and rating, and the event
/// that records it.
struct Change {
    action: &'static str,
    to: State,
    level: i16,
    /// The supervising bureau's region at `level`.
    escalated_to: Option<String>,
    agency_id: Option<i64>,
    rating: Option<String>,
    finding: Option<String>,
    visit_due: Option<DateTime<Utc>>,
    /// The reporter made the move (they are not notified of their own moves).
    by_reporter: bool,
    /// Who made it (a key's label or `system`).
    actor: String,
    note: Option<String>,
}

/// Applies a change on the revision the ticket was read at, with its event, in one
/// transaction; false when the ticket moved meanwhile (nothing is written then).
async fn apply(
    db: &DatabaseConnection,
    t: &ticket_row::Model,
    change: Change,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let txn = crate::db::begin_write(db).await?;
    let mut update = ticket_row::Entity::update_many()
        .col_expr(ticket_row::Column::State, Expr::value(change.to.as_str()))
        .col_expr(ticket_row::Column::Revision, Expr::value(t.revision + 1))
        .col_expr(ticket_row::Column::Level, Expr::value(change.level))
        .col_expr(ticket_row::Column::AgencyId, Expr::value(change.agency_id))
        .col_expr(
            ticket_row::Column::EscalatedTo,
            Expr::value(change.escalated_to.clone()),
        )
        .col_expr(
            ticket_row::Column::Finding,
            Expr::value(change.finding.clone()),
        )
        .col_expr(ticket_row::Column::VisitDue, Expr::value(change.visit_due))
        .col_expr(ticket_row::Column::UpdatedAt, Expr::value(now));
    if let Some(r) = &change.rating {
        update = update
            .col_expr(ticket_row::Column::Rating, Expr::value(r.as_str()))
            .col_expr(ticket_row::Column::RatedAt, Expr::value(now));
    }
    if change.to == State::Replied {
        update = update.col_expr(ticket_row::Column::RepliedAt, Expr::value(now));
    }
    let applied = update
        .filter(ticket_row::Column::Id.eq(t.id))
        .filter(ticket_row::Column::Revision.eq(t.revision))
        .exec(&txn)
        .await?;
    if applied.rows_affected == 0 {
        return Ok(false);
    }
    let from = State::parse(&t.state);
    if let Some(user) = t.channel_user_id
        && let Some(kind) = notice_kind(&change, from)
    {
        let public_note = change.note.as_deref().filter(|_| is_public(change.action));
        super::channels::enqueue(
            &txn,
            &t.channel,
            user,
            Some(t.id),
            kind,
            notice_payload(kind, &t.number, change.to, public_note),
            now,
        )
        .await?;
    }
    record_event(
        &txn,
        t.id,
        change.action,
        from,
        change.to,
        &change.actor,
        change.note,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Moves whose notes the reporter sees (the public timeline and notifications).
fn is_public(action: &str) -> bool {
    matches!(action, "reply" | "reject")
}

/// What the reporter is told of a change, if anything: every new state the handling
/// side or Pingjia brings about, except the agency's appeal and its dismissal (the
/// handling goes on as before); escalations; and a request to rate each reply.
fn notice_kind(change: &Change, from: Option<State>) -> Option<&'static str> {
    if change.by_reporter {
        return None;
    }
    match change.action {
        "escalate" => Some("escalation"),
        "appeal" | "dismiss_appeal" => None,
        _ if change.to == State::Replied => Some("rating_request"),
        _ if Some(change.to) != from => Some("status_change"),
        _ => None,
    }
}

/// The notification's content: the ticket, its new state and the text for the
/// reporter (Chinese).
fn notice_payload(kind: &str, number: &str, state: State, note: Option<&str>) -> serde_json::Value {
    let text = match kind {
        "rating_request" => format!(
            "您的工单 {number} 已答复：{}\n请对办理情况作出评价：满意、基本满意或不满意。",
            note.unwrap_or("")
        ),
        "escalation" => format!("您的工单 {number} 未在期限内办结，已升级由上级司法局督办。"),
        _ => match note {
            Some(n) => format!("您的工单 {number} 状态更新为「{}」：{n}", state.label()),
            None => format!("您的工单 {number} 状态更新为「{}」。", state.label()),
        },
    };
    let mut payload = serde_json::json!({
        "number": number,
        "state": state.as_str(),
        "state_label": state.label(),
        "text": text,
    });
    if kind == "rating_request" {
        payload["ratings"] = serde_json::json!(RATINGS);
    }
    payload
}

fn awaiting_reply() -> Vec<&'static str> {
    State::AWAITING_REPLY.iter().map(|s| s.as_str()).collect()
}

/// What the public lookup shows: no personal data, no handlers' internal notes.
#[derive(Debug, Clone)]
pub struct PublicStatus {
    pub number: String,
    pub kind: String,
    pub category: String,
    pub state: State,
    /// The reporter's rating of the reply, once given.
    pub rating: Option<String>,
    pub reply_due: DateTime<Utc>,
    pub timeline: Vec<PublicStep>,
}

/// One step of the public timeline.
#[derive(Debug, Clone)]
pub struct PublicStep {
    pub at: DateTime<Utc>,
    /// The state reached.
    pub state: State,
    /// What happened, in Chinese (e.g. 转办, 逾期升级督办).
    pub step: &'static str,
    /// The reply or the reason for not accepting, when the step is one.
    pub note: Option<String>,
}

/// What a recorded action means to the reporter.
fn step_label(action: &str) -> &'static str {
    match action {
        "create" => "受理",
        "assign" => "转办至执法机关",
        "reject" => "不予受理",
        "start" => "开始核实",
        "rectify" => "督促整改",
        "reply" => "答复",
        "rate" => "评价",
        "reopen" => "不满意，重新办理并升级督办",
        "close" => "办结",
        "appeal" => "执法机关申诉复核",
        "uphold_appeal" => "申诉成立",
        "dismiss_appeal" => "申诉不成立，继续核实",
        "escalate" => "逾期未办结，升级督办",
        _ => "办理",
    }
}

/// Status by number and secret (公开查询); a wrong pair is 404. Failed lookups are
/// counted per client address (`failures` per window, kept in the database), so
/// secrets cannot be guessed: past the limit every lookup is 429 until the window ends.
pub async fn public_status(
    db: &DatabaseConnection,
    number: &str,
    secret: &str,
    client: &str,
    failures: rate_limit::Limit,
) -> Result<PublicStatus, ServiceError> {
    let bucket = format!("ticket-lookup-failure:{client}");
    if let rate_limit::Verdict::Limited { retry_after_secs } =
        rate_limit::check(db, &bucket, failures).await?
    {
        return Err(ServiceError::RateLimited { retry_after_secs });
    }
    let found = ticket_row::Entity::find()
        .filter(ticket_row::Column::Number.eq(number.trim().to_ascii_uppercase()))
        .one(db)
        .await?
        // Compare hashes, not secrets: equal-length hex, no early exit worth exploiting.
        .filter(|t| t.secret_hash == hash_secret(&secret.to_ascii_uppercase()));
    let Some(t) = found else {
        rate_limit::hit(db, &bucket, failures).await?;
        return Err(ServiceError::NotFound { entity: "ticket" });
    };
    status_of(db, t).await
}

/// A ticket as its reporter may see it: state and public timeline.
pub(crate) async fn status_of(
    db: &DatabaseConnection,
    t: ticket_row::Model,
) -> Result<PublicStatus, ServiceError> {
    let timeline = events_of(db, t.id)
        .await?
        .into_iter()
        .map(|e| PublicStep {
            at: e.at,
            state: State::parse(&e.to_state).unwrap_or(State::Received),
            step: step_label(&e.action),
            note: e.note.filter(|_| is_public(&e.action)),
        })
        .collect();
    Ok(PublicStatus {
        number: t.number,
        kind: t.kind,
        category: t.category,
        state: State::parse(&t.state).unwrap_or(State::Received),
        rating: t.rating,
        reply_due: t.reply_due,
        timeline,
    })
}

/// What one upkeep round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upkeep {
    /// Tickets raised a level for being overdue.
    pub escalated: u64,
    /// Replies whose reporter said nothing in time, deemed 基本满意.
    pub deemed_rated: u64,
}

/// The level an open ticket should have reached at `now`: its handling agency until
/// the reply deadline, the county bureau for another reply period (the ticket's
/// working days), the city bureau after that (逾期升级). Computed from the deadline, so a round that runs
/// twice changes nothing.
fn overdue_level(calendar: &WorkCalendar, t: &ticket_row::Model, now: DateTime<Utc>) -> i16 {
    let period = u32::try_from(t.reply_days).unwrap_or(1);
    if now < t.reply_due {
        0
    } else if now < calendar.deadline(t.reply_due, period).due {
        1
    } else {
        TOP_LEVEL
    }
}

/// The periodic ticket round (run by `serve`, clock injectable for tests): escalates
/// overdue open tickets one level per overdue period, and rates replies the reporter
/// left unrated for `rating_days` calendar days as 基本满意. Each change is applied on
/// the ticket's revision with its event; a ticket moved meanwhile waits for the next
/// round.
pub async fn upkeep(
    db: &DatabaseConnection,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
    rating_days: i64,
) -> Result<Upkeep, ServiceError> {
    let mut done = Upkeep::default();
    let overdue = ticket_row::Entity::find()
        .filter(ticket_row::Column::State.is_in(awaiting_reply()))
        .filter(ticket_row::Column::ReplyDue.lte(now))
        .filter(ticket_row::Column::Level.lt(TOP_LEVEL))
        .all(db)
        .await?;
    for t in overdue {
        let level = overdue_level(calendar, &t, now);
        if level <= t.level {
            continue;
        }
        let change = Change {
            action: "escalate",
            // Escalation keeps the state.
            to: State::parse(&t.state).unwrap_or(State::Received),
            level,
            escalated_to: supervisor(db, &t, level).await?,
            agency_id: t.agency_id,
            rating: None,
            finding: t.finding.clone(),
            visit_due: t.visit_due,
            by_reporter: false,
            actor: SYSTEM.to_owned(),
            note: Some(format!("逾期未办结，升级至第{level}级督办")),
        };
        if apply(db, &t, change, now).await? {
            done.escalated += 1;
        }
    }
    let silent = ticket_row::Entity::find()
        .filter(ticket_row::Column::State.eq(State::Replied.as_str()))
        .filter(ticket_row::Column::UpdatedAt.lte(now - chrono::Duration::days(rating_days)))
        .all(db)
        .await?;
    for t in silent {
        let decision = ticket::decide(State::Replied, Move::Rate, Mover::System, None)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let change = Change {
            action: Move::Rate.as_str(),
            to: decision.to,
            level: t.level,
            escalated_to: t.escalated_to.clone(),
            agency_id: t.agency_id,
            rating: Some(RATINGS[1].to_owned()),
            finding: t.finding.clone(),
            visit_due: t.visit_due,
            by_reporter: false,
            actor: SYSTEM.to_owned(),
            note: Some(format!("{rating_days}日内未评价，默认基本满意")),
        };
        if apply(db, &t, change, now).await? {
            done.deemed_rated += 1;
        }
    }
    Ok(done)
}
