//! 行政执法监督联系点: contact points, the one-time codes that bind liaisons (联络员)
//! to them, and what each contact point reported in a period.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};

use super::channels::hash_code;
use super::{Actor, Page, PageRequest, Scope, ServiceError, audit, page, regions};
use crate::domain::Role;
use crate::store::{binding_code, contact_point, liaison, ticket as ticket_row};

/// Kinds of contact points.
pub const KINDS: [&str; 5] = [
    "association",
    "chamber",
    "enterprise",
    "community",
    "village",
];

/// A contact point to create, or the fields to change.
#[derive(Debug, Clone, Default)]
pub struct ContactPointInput {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub region_code: Option<String>,
    pub address: Option<String>,
    pub active: Option<bool>,
}

fn bureau_only(actor: &Actor) -> Result<(), ServiceError> {
    if actor.is(&[Role::Admin, Role::Bureau]) {
        Ok(())
    } else {
        Err(ServiceError::forbidden(
            "only admin and bureau keys manage contact points",
        ))
    }
}

/// A contact point the caller oversees (404 otherwise).
async fn visible(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(contact_point::Model, String), ServiceError> {
    overseen(db, actor, id, false).await
}

/// A contact point the caller is about to change: 404 when it does not exist, 403
/// when the key may not change it (writes answer 403, reads 404).
async fn writable(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(contact_point::Model, String), ServiceError> {
    overseen(db, actor, id, true).await
}

async fn overseen(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    write: bool,
) -> Result<(contact_point::Model, String), ServiceError> {
    let not_found = || ServiceError::NotFound {
        entity: "contact point",
    };
    let refused = || {
        if write {
            ServiceError::forbidden("the contact point lies outside the key's scope")
        } else {
            not_found()
        }
    };
    let point = contact_point::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(refused());
    }
    let path = regions::path_of(db, "region_code", &point.region_code).await?;
    if !actor.covers_path(&path) {
        return Err(refused());
    }
    Ok((point, path))
}

/// Creates a contact point in the caller's region.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: ContactPointInput,
) -> Result<contact_point::Model, ServiceError> {
    bureau_only(actor)?;
    let mut v = super::error::Validator::new();
    let name = v.text("name", input.name.as_deref().unwrap_or(""), 1, 100);
    let kind = input.kind.unwrap_or_default();
    if !KINDS.contains(&kind.as_str()) {
        v.add("kind", format!("must be one of {}", KINDS.join(", ")));
    }
    let address = input
        .address
        .as_deref()
        .map(|a| v.text("address", a, 1, 300));
    let code = input.region_code.unwrap_or_default();
    let path = match regions::find(db, &code).await? {
        None => {
            v.add("region_code", format!("region {code} does not exist"));
            None
        }
        Some(r) if !actor.covers_path(&r.path) => {
            v.add("region_code", "lies outside the key's region");
            None
        }
        Some(r) => Some(r.path),
    };
    v.finish()?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let point = contact_point::ActiveModel {
        name: Set(name),
        kind: Set(kind),
        region_code: Set(code),
        address: Set(address),
        active: Set(input.active.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "contact_point.create",
            entity: "contact_point",
            entity_id: point.id.to_string(),
            region_path: path,
            details: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(point)
}

/// Changes a contact point's name, kind, address or activity (its region stays).
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    patch: ContactPointInput,
) -> Result<contact_point::Model, ServiceError> {
    let (point, path) = writable(db, actor, id).await?;
    let mut v = super::error::Validator::new();
    if patch.region_code.is_some() {
        v.add("region_code", "a contact point's region cannot change");
    }
    let name = patch.name.as_deref().map(|n| v.text("name", n, 1, 100));
    if let Some(kind) = &patch.kind
        && !KINDS.contains(&kind.as_str())
    {
        v.add("kind", format!("must be one of {}", KINDS.join(", ")));
    }
    let address = patch
        .address
        .as_deref()
        .map(|a| v.text("address", a, 1, 300));
    v.finish()?;
    let txn = crate::db::begin_write(db).await?;
    let mut active: contact_point::ActiveModel = point.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(kind) = patch.kind {
        active.kind = Set(kind);
    }
    if let Some(address) = address {
        active.address = Set(Some(address));
    }
    if let Some(a) = patch.active {
        active.active = Set(a);
    }
    active.updated_at = Set(Utc::now());
    let point = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "contact_point.update",
            entity: "contact_point",
            entity_id: id.to_string(),
            region_path: Some(path),
            details: Some(serde_json::json!({"active": point.active})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(point)
}

/// One contact point.
pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<contact_point::Model, ServiceError> {
    Ok(visible(db, actor, id).await?.0)
}

/// Contact points in the caller's region.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    req: PageRequest,
) -> Result<Page<contact_point::Model>, ServiceError> {
    bureau_only(actor)?;
    let mut select = contact_point::Entity::find().order_by_asc(contact_point::Column::Id);
    if let Scope::Region { path, .. } = &actor.scope {
        select = select
            .filter(contact_point::Column::RegionCode.in_subquery(regions::codes_under(path)));
    }
    Ok(page::fetch(db, select, req).await?)
}

/// A binding code, shown once.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

fn new_code() -> String {
    // 50 bits in 10 characters without look-alikes: typed by hand into the bot.
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
    (0..10)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Issues a one-time binding code for an active contact point, valid `valid_hours`
/// (1–720; default 72).
pub async fn issue_code(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    valid_hours: Option<i64>,
) -> Result<IssuedCode, ServiceError> {
    let (point, path) = writable(db, actor, id).await?;
    let hours = valid_hours.unwrap_or(72);
    if !(1..=720).contains(&hours) {
        return Err(ServiceError::invalid("valid_hours", "must be 1–720"));
    }
    if !point.active {
        return Err(ServiceError::Conflict {
            code: "contact_point_inactive",
            message: "activate the contact point before binding liaisons".into(),
        });
    }
    let code = new_code();
    let now = Utc::now();
    let expires_at = now + Duration::hours(hours);
    let txn = crate::db::begin_write(db).await?;
    binding_code::ActiveModel {
        contact_point_id: Set(id),
        code_hash: Set(hash_code(&code)),
        expires_at: Set(expires_at),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "contact_point.binding_code",
            entity: "contact_point",
            entity_id: id.to_string(),
            region_path: Some(path),
            details: Some(serde_json::json!({"expires_at": expires_at})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(IssuedCode { code, expires_at })
}

/// The liaisons of a contact point, current and former, oldest first.
pub async fn liaisons(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<Vec<liaison::Model>, ServiceError> {
    visible(db, actor, id).await?;
    Ok(liaison::Entity::find()
        .filter(liaison::Column::ContactPointId.eq(id))
        .order_by_asc(liaison::Column::Id)
        .all(db)
        .await?)
}

/// Unbinds a liaison; their later tickets no longer carry the contact point.
pub async fn unbind(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    liaison_id: i64,
) -> Result<liaison::Model, ServiceError> {
    let (_, path) = writable(db, actor, id).await?;
    let txn = crate::db::begin_write(db).await?;
    let done = liaison::Entity::update_many()
        .col_expr(liaison::Column::UnboundAt, Expr::value(Utc::now()))
        .filter(liaison::Column::Id.eq(liaison_id))
        .filter(liaison::Column::ContactPointId.eq(id))
        .filter(liaison::Column::UnboundAt.is_null())
        .exec(&txn)
        .await?;
    let found = liaison::Entity::find_by_id(liaison_id)
        .one(&txn)
        .await?
        .filter(|l| l.contact_point_id == id)
        .ok_or(ServiceError::NotFound { entity: "liaison" })?;
    if done.rows_affected == 0 {
        return Err(ServiceError::Conflict {
            code: "already_unbound",
            message: "this liaison is already unbound".into(),
        });
    }
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "contact_point.unbind",
            entity: "liaison",
            entity_id: liaison_id.to_string(),
            region_path: Some(path),
            details: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(found)
}

/// What one contact point reported in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    pub contact_point_id: i64,
    pub name: String,
    pub active: bool,
    /// Liaisons bound at the end of the period.
    pub liaisons: u64,
    pub complaints: u64,
    pub reports: u64,
    pub suggestions: u64,
    pub praise: u64,
}

#[derive(Debug, FromQueryResult)]
struct KindCount {
    contact_point_id: i64,
    kind: String,
    n: i64,
}

/// Per contact point in the caller's region: tickets filed in `[from, to)` by kind,
/// and liaisons bound at `to`. Contact points that filed nothing are listed with
/// zeros.
pub async fn activity(
    db: &DatabaseConnection,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Activity>, ServiceError> {
    bureau_only(actor)?;
    if to <= from {
        return Err(ServiceError::invalid("to", "must be after from"));
    }
    let mut points = contact_point::Entity::find().order_by_asc(contact_point::Column::Id);
    if let Scope::Region { path, .. } = &actor.scope {
        points = points
            .filter(contact_point::Column::RegionCode.in_subquery(regions::codes_under(path)));
    }
    let points = points.all(db).await?;
    let ids: Vec<i64> = points.iter().map(|p| p.id).collect();
    let counts = ticket_row::Entity::find()
        .select_only()
        .column(ticket_row::Column::ContactPointId)
        .column(ticket_row::Column::Kind)
        .column_as(ticket_row::Column::Id.count(), "n")
        .filter(ticket_row::Column::ContactPointId.is_in(ids.clone()))
        .filter(ticket_row::Column::CreatedAt.gte(from))
        .filter(ticket_row::Column::CreatedAt.lt(to))
        .group_by(ticket_row::Column::ContactPointId)
        .group_by(ticket_row::Column::Kind)
        .into_model::<KindCount>()
        .all(db)
        .await?;
    let bound = liaison::Entity::find()
        .filter(liaison::Column::ContactPointId.is_in(ids))
        .filter(liaison::Column::BoundAt.lt(to))
        .all(db)
        .await?;
    Ok(points
        .into_iter()
        .map(|p| {
            let mut a = Activity {
                contact_point_id: p.id,
                name: p.name,
                active: p.active,
                liaisons: bound
                    .iter()
                    .filter(|l| l.contact_point_id == p.id)
                    .filter(|l| l.unbound_at.is_none_or(|u| u >= to))
                    .count() as u64,
                ..Activity::default()
            };
            for c in counts.iter().filter(|c| c.contact_point_id == p.id) {
                let n = u64::try_from(c.n).unwrap_or(0);
                match c.kind.as_str() {
                    "complaint" => a.complaints += n,
                    "report" => a.reports += n,
                    "suggestion" => a.suggestions += n,
                    _ => a.praise += n,
                }
            }
            a
        })
        .collect())
}
