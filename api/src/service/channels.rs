//! The people behind a channel key (channel users), what they do through it — file
//! tickets, list their own, rate the handling, bind to a contact point — and the
//! outbox of notifications the channel delivers to them.
//!
//! A channel user is known by a keyed pseudonym of the channel's own user id (see
//! `ContactCipher::pseudonym`); the id itself is kept only sealed, to address the
//! notifications. The outbox is at-least-once: an item stays pending until the
//! channel acknowledges it, and every read returns what is still pending after the
//! given cursor (a fresh read from 0 redelivers everything unacknowledged).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use sha2::{Digest, Sha256};

use super::tickets::{self, By, Filed, MoveRequest, NewTicket, Origin, RATINGS};
use super::{Actor, Page, PageRequest, ServiceError, page};
use crate::domain::Role;
use crate::domain::calendar::WorkCalendar;
use crate::domain::contact::ContactCipher;
use crate::domain::ticket::{Move, Mover};
use crate::store::{
    binding_code, channel_user, contact_point, liaison, outbox, ticket as ticket_row,
};

/// Most notifications one read returns.
pub const MAX_BATCH: u64 = 500;

/// The channel a `channel` key speaks for, or 403.
fn channel_of(actor: &Actor) -> Result<&str, ServiceError> {
    match (actor.role, actor.channel.as_deref()) {
        (Role::Channel, Some(channel)) => Ok(channel),
        (Role::Channel, None) => Err(ServiceError::forbidden(
            "this channel key names no channel; create one with --channel",
        )),
        _ => Err(ServiceError::forbidden(
            "only channel keys act for channel users",
        )),
    }
}

fn check_user_id(external_id: &str) -> Result<&str, ServiceError> {
    let id = external_id.trim();
    if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "user_id",
            "the channel's user id must have 1–128 printable characters",
        ));
    }
    Ok(id)
}

/// The channel user with this external id, created on first contact.
async fn user_for<C: ConnectionTrait>(
    db: &C,
    cipher: &ContactCipher,
    channel: &str,
    external_id: &str,
) -> Result<channel_user::Model, ServiceError> {
    let id = check_user_id(external_id)?;
    let hash = cipher.pseudonym(channel, id);
    if let Some(found) = find_user(db, channel, &hash).await? {
        return Ok(found);
    }
    channel_user::Entity::insert(channel_user::ActiveModel {
        channel: Set(channel.to_owned()),
        user_hash: Set(hash.clone()),
        user_sealed: Set(cipher.seal(id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        channel_user::Column::Channel,
        channel_user::Column::UserHash,
    ])
    .exec_without_returning(db)
    .await?;
    find_user(db, channel, &hash)
        .await?
        .ok_or_else(|| anyhow::anyhow!("channel user vanished after insert").into())
}

async fn find_user<C: ConnectionTrait>(
    db: &C,
    channel: &str,
    hash: &str,
) -> Result<Option<channel_user::Model>, ServiceError> {
    Ok(channel_user::Entity::find()
        .filter(channel_user::Column::Channel.eq(channel))
        .filter(channel_user::Column::UserHash.eq(hash))
        .one(db)
        .await?)
}

/// The id of the channel user with this external id, if the channel has seen it.
pub(crate) async fn known_user_id<C: ConnectionTrait>(
    db: &C,
    cipher: &ContactCipher,
    channel: &str,
    external_id: &str,
) -> Result<Option<i64>, ServiceError> {
    let hash = cipher.pseudonym(channel, check_user_id(external_id)?);
    Ok(find_user(db, channel, &hash).await?.map(|u| u.id))
}

/// The id of the channel user with this external id, created on first contact.
pub(crate) async fn user_id_for<C: ConnectionTrait>(
    db: &C,
    cipher: &ContactCipher,
    channel: &str,
    external_id: &str,
) -> Result<i64, ServiceError> {
    Ok(user_for(db, cipher, channel, external_id).await?.id)
}

/// The contact point a user is bound to as a liaison, if it is active.
async fn bound_contact_point<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
) -> Result<Option<contact_point::Model>, ServiceError> {
    let Some(binding) = liaison::Entity::find()
        .filter(liaison::Column::ChannelUserId.eq(user_id))
        .filter(liaison::Column::UnboundAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(contact_point::Entity::find_by_id(binding.contact_point_id)
        .one(db)
        .await?
        .filter(|cp| cp.active))
}

/// Files a ticket for a channel user. A liaison's ticket carries their contact point.
pub async fn file_ticket(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    calendar: &WorkCalendar,
    actor: &Actor,
    external_id: &str,
    mut new: NewTicket,
) -> Result<Filed, ServiceError> {
    let channel = channel_of(actor)?.to_owned();
    new.channel = channel.clone();
    // A refused ticket must not leave a user behind: check it before the first write.
    check_user_id(external_id)?;
    tickets::check(db, actor, &new).await?;
    let user = user_for(db, cipher, &channel, external_id).await?;
    let contact_point = bound_contact_point(db, user.id).await?;
    let origin = Origin {
        channel_user_id: Some(user.id),
        contact_point_id: contact_point.map(|cp| cp.id),
        ..Origin::default()
    };
    tickets::file(db, cipher, calendar, actor, new, origin).await
}

/// A channel user's own tickets, newest first (an unknown user has none).
pub async fn own_tickets(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    actor: &Actor,
    external_id: &str,
    req: PageRequest,
) -> Result<Page<ticket_row::Model>, ServiceError> {
    let channel = channel_of(actor)?;
    let hash = cipher.pseudonym(channel, check_user_id(external_id)?);
    let user_id = find_user(db, channel, &hash).await?.map_or(-1, |u| u.id);
    let select = ticket_row::Entity::find()
        .filter(ticket_row::Column::ChannelUserId.eq(user_id))
        .order_by_desc(ticket_row::Column::Id);
    Ok(page::fetch(db, select, req).await?)
}

/// One of the user's own tickets by number; anyone else's is 404.
async fn own_ticket(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    channel: &str,
    external_id: &str,
    number: &str,
) -> Result<ticket_row::Model, ServiceError> {
    let hash = cipher.pseudonym(channel, check_user_id(external_id)?);
    let user = find_user(db, channel, &hash).await?;
    ticket_row::Entity::find()
        .filter(ticket_row::Column::Number.eq(number.trim().to_ascii_uppercase()))
        .one(db)
        .await?
        .filter(|t| user.is_some_and(|u| t.channel_user_id == Some(u.id)))
        .ok_or(ServiceError::NotFound { entity: "ticket" })
}

/// The status and public timeline of one of the user's own tickets (what the status
/// page shows, without the secret: the channel vouches for its user).
pub async fn own_status(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    actor: &Actor,
    external_id: &str,
    number: &str,
) -> Result<tickets::PublicStatus, ServiceError> {
    let channel = channel_of(actor)?;
    let t = own_ticket(db, cipher, channel, external_id, number).await?;
    tickets::status_of(db, t).await
}

/// A reporter's rating of a replied ticket.
#[derive(Debug, Clone)]
pub struct Rating {
    pub number: String,
    /// 满意, 基本满意 or 不满意.
    pub rating: String,
    pub note: Option<String>,
}

/// The reporter rates the handling of a replied ticket through their channel:
/// 满意 or 基本满意 completes the return visit, 不满意 reopens it one level up.
pub async fn rate(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    calendar: &WorkCalendar,
    actor: &Actor,
    external_id: &str,
    given: Rating,
) -> Result<ticket_row::Model, ServiceError> {
    let channel = channel_of(actor)?;
    let t = own_ticket(db, cipher, channel, external_id, &given.number).await?;
    let action = match given.rating.as_str() {
        r if r == RATINGS[2] => Move::Reopen,
        r if RATINGS.contains(&r) => Move::Rate,
        _ => {
            return Err(ServiceError::invalid(
                "rating",
                format!("must be one of {}", RATINGS.join(", ")),
            ));
        }
    };
    let by = By {
        mover: Mover::Reporter,
        label: format!("reporter via {}", actor.label()),
        region_prefix: None,
    };
    let req = MoveRequest {
        action,
        note: given.note,
        agency_id: None,
        rating: Some(given.rating),
        finding: None,
    };
    tickets::make_move(db, calendar, &t, by, req, Utc::now()).await
}

pub(crate) fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().to_ascii_uppercase().as_bytes()))
}

/// A channel user redeems a binding code and becomes a liaison (联络员) of its contact
/// point, leaving any earlier binding. Each code binds once: of concurrent
/// redemptions exactly one succeeds.
pub async fn redeem(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    actor: &Actor,
    external_id: &str,
    code: &str,
) -> Result<contact_point::Model, ServiceError> {
    let channel = channel_of(actor)?.to_owned();
    check_user_id(external_id)?;
    let now = Utc::now();
    // An unknown code records no user (a redemption that loses a race to another
    // does, harmlessly: the user exists from then on).
    let known = binding_code::Entity::find()
        .filter(binding_code::Column::CodeHash.eq(hash_code(code)))
        .one(db)
        .await?;
    if known.is_none() {
        return Err(ServiceError::NotFound {
            entity: "binding code",
        });
    }
    let user = user_for(db, cipher, &channel, external_id).await?;
    // The claim is the transaction's first statement: SQLite takes the write lock
    // at once instead of upgrading a read snapshot another redemption outdated.
    let txn = crate::db::begin_write(db).await?;
    let claimed = binding_code::Entity::update_many()
        .col_expr(binding_code::Column::RedeemedAt, Expr::value(now))
        .col_expr(binding_code::Column::RedeemedBy, Expr::value(user.id))
        .filter(binding_code::Column::CodeHash.eq(hash_code(code)))
        .filter(binding_code::Column::RedeemedAt.is_null())
        .filter(binding_code::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    let found = binding_code::Entity::find()
        .filter(binding_code::Column::CodeHash.eq(hash_code(code)))
        .one(&txn)
        .await?;
    let Some(found) = found else {
        return Err(ServiceError::NotFound {
            entity: "binding code",
        });
    };
    if claimed.rows_affected == 0 {
        return Err(if found.redeemed_at.is_some() {
            ServiceError::Conflict {
                code: "code_used",
                message: "this binding code has been used".into(),
            }
        } else {
            ServiceError::Conflict {
                code: "code_expired",
                message: "this binding code has expired; ask the bureau for a new one".into(),
            }
        });
    }
    let point = contact_point::Entity::find_by_id(found.contact_point_id)
        .one(&txn)
        .await?
        .filter(|cp| cp.active)
        .ok_or(ServiceError::Conflict {
            code: "contact_point_inactive",
            message: "the contact point of this code is no longer active".into(),
        })?;
    liaison::Entity::update_many()
        .col_expr(liaison::Column::UnboundAt, Expr::value(now))
        .filter(liaison::Column::ChannelUserId.eq(user.id))
        .filter(liaison::Column::UnboundAt.is_null())
        .exec(&txn)
        .await?;
    liaison::ActiveModel {
        contact_point_id: Set(point.id),
        channel_user_id: Set(user.id),
        bound_at: Set(now),
        unbound_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(point)
}

/// Queues a notification for a channel user, in the caller's transaction.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    db: &C,
    channel: &str,
    channel_user_id: i64,
    ticket_id: Option<i64>,
    kind: &str,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    outbox::ActiveModel {
        channel: Set(channel.to_owned()),
        channel_user_id: Set(channel_user_id),
        kind: Set(kind.to_owned()),
        ticket_id: Set(ticket_id),
        payload: Set(payload),
        created_at: Set(now),
        acked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A notification as the channel receives it: whom to send it to and what.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The cursor position of this item.
    pub id: i64,
    pub kind: String,
    /// The channel's own id of the recipient.
    pub user_id: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Pending notifications of the key's channel after `after`, oldest first, at most
/// `limit`; and the cursor to read on from.
pub async fn pending(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    actor: &Actor,
    after: i64,
    limit: u64,
) -> Result<(Vec<Notification>, i64), ServiceError> {
    let channel = channel_of(actor)?;
    if !(1..=MAX_BATCH).contains(&limit) {
        return Err(ServiceError::invalid(
            "limit",
            format!("must be 1–{MAX_BATCH}"),
        ));
    }
    let items = outbox::Entity::find()
        .filter(outbox::Column::Channel.eq(channel))
        .filter(outbox::Column::AckedAt.is_null())
        .filter(outbox::Column::Id.gt(after))
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let users: std::collections::HashMap<i64, String> = channel_user::Entity::find()
        .filter(
            channel_user::Column::Id
                .is_in(items.iter().map(|i| i.channel_user_id).collect::<Vec<_>>()),
        )
        .all(db)
        .await?
        .into_iter()
        .filter_map(|u| cipher.open(&u.user_sealed).map(|id| (u.id, id)))
        .collect();
    let cursor = items.last().map_or(after, |i| i.id);
    let notes = items
        .into_iter()
        .filter_map(|i| {
            // A user sealed under another key cannot be addressed; it stays pending
            // (and visible to operators) rather than being dropped.
            let user_id = users.get(&i.channel_user_id)?.clone();
            let mut payload = i.payload;
            // A survey invitation's one-time token is kept sealed until delivery.
            if let Some(sealed) = payload
                .as_object_mut()
                .and_then(|p| p.remove("sealed_token"))
            {
                let token = sealed.as_str().and_then(|s| cipher.open(s))?;
                payload["token"] = serde_json::Value::String(token);
            }
            Some(Notification {
                id: i.id,
                kind: i.kind,
                user_id,
                payload,
                created_at: i.created_at,
            })
        })
        .collect();
    Ok((notes, cursor))
}

/// Acknowledges delivered notifications of the key's channel; the number newly
/// acknowledged (ids already acknowledged or of other channels count nothing).
pub async fn acknowledge(
    db: &DatabaseConnection,
    actor: &Actor,
    ids: &[i64],
) -> Result<u64, ServiceError> {
    let channel = channel_of(actor)?;
    if ids.is_empty() || ids.len() > MAX_BATCH as usize {
        return Err(ServiceError::invalid(
            "ids",
            format!("give 1–{MAX_BATCH} notification ids"),
        ));
    }
    let done = outbox::Entity::update_many()
        .col_expr(outbox::Column::AckedAt, Expr::value(Utc::now()))
        .filter(outbox::Column::Channel.eq(channel))
        .filter(outbox::Column::AckedAt.is_null())
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
