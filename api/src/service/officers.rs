//! 执法人员: enforcement officers. Names are personal data: they are returned to
//! callers in scope but never logged or written to the audit log.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::{
    Actor, Page, PageRequest, Scope, ServiceError, agencies, audit, error::Validator, page, regions,
};
use crate::domain::Role;
use crate::store::{agency, officer};

/// An officer to create.
#[derive(Debug, Clone)]
pub struct NewOfficer {
    pub agency_id: i64,
    pub badge_no: String,
    pub name: String,
    pub active: bool,
}

/// Fields of an officer that may change.
#[derive(Debug, Clone, Default)]
pub struct OfficerPatch {
    pub badge_no: Option<String>,
    pub name: Option<String>,
    pub active: Option<bool>,
}

/// Filters for listing officers.
#[derive(Debug, Clone, Default)]
pub struct OfficerFilter {
    pub agency_id: Option<i64>,
    pub active: Option<bool>,
    pub badge_no: Option<String>,
}

const READERS: &[Role] = &[Role::Admin, Role::Bureau, Role::Agency];

fn may_write(actor: &Actor, agency_id: i64, region_path: &str) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Bureau => actor.covers_path(region_path),
        Role::Agency => matches!(actor.scope, Scope::Agency { id, .. } if id == agency_id),
        _ => false,
    }
}

fn check_badge(v: &mut Validator, badge: &str) -> String {
    let badge = v.text("badge_no", badge, 4, 32);
    if !badge.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        v.add("badge_no", "may contain only ASCII letters, digits and '-'");
    }
    badge
}

pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<officer::Model, ServiceError> {
    if !actor.is(READERS) {
        return Err(ServiceError::forbidden(
            "this key's role may not read officers",
        ));
    }
    let not_found = ServiceError::NotFound { entity: "officer" };
    let officer = officer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(not_found)?;
    match agencies::region_path_of(db, officer.agency_id).await? {
        Some(path) if agencies::visible(actor, officer.agency_id, &path) => Ok(officer),
        _ => Err(ServiceError::NotFound { entity: "officer" }),
    }
}

pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: OfficerFilter,
    req: PageRequest,
) -> Result<Page<officer::Model>, ServiceError> {
    if !actor.is(READERS) {
        return Err(ServiceError::forbidden(
            "this key's role may not read officers",
        ));
    }
    let mut select = officer::Entity::find().order_by_asc(officer::Column::Id);
    match &actor.scope {
        Scope::Everything => {}
        Scope::Region { path, .. } => {
            let agencies_in_scope = sea_orm::sea_query::Query::select()
                .column(agency::Column::Id)
                .from(agency::Entity)
                .and_where(agency::Column::RegionCode.in_subquery(regions::codes_under(path)))
                .to_owned();
            select = select.filter(officer::Column::AgencyId.in_subquery(agencies_in_scope));
        }
        Scope::Agency { id, .. } => select = select.filter(officer::Column::AgencyId.eq(*id)),
    }
    if let Some(id) = filter.agency_id {
        select = select.filter(officer::Column::AgencyId.eq(id));
    }
    if let Some(active) = filter.active {
        select = select.filter(officer::Column::Active.eq(active));
    }
    if let Some(badge) = filter.badge_no {
        select = select.filter(officer::Column::BadgeNo.eq(badge.trim()));
    }
    Ok(page::fetch(db, select, req).await?)
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewOfficer,
) -> Result<officer::Model, ServiceError> {
    if !actor.is(READERS) {
        return Err(ServiceError::forbidden(
            "this key's role may not create officers",
        ));
    }
    let mut v = Validator::new();
    let badge = check_badge(&mut v, &new.badge_no);
    let name = v.text("name", &new.name, 1, 100);
    let path = agencies::region_path_of(db, new.agency_id).await?;
    if path.is_none() {
        v.add(
            "agency_id",
            format!("agency {} does not exist", new.agency_id),
        );
    }
    v.finish()?;
    let path = path.unwrap_or_default();
    if !may_write(actor, new.agency_id, &path) {
        return Err(ServiceError::forbidden(
            "the agency lies outside the key's scope",
        ));
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model = officer::ActiveModel {
        agency_id: Set(new.agency_id),
        badge_no: Set(badge),
        name: Set(name),
        active: Set(new.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        ServiceError::from_unique(e, "an officer with this badge number already exists")
    })?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "officer.create",
            entity: "officer",
            entity_id: model.id.to_string(),
            region_path: Some(path),
            details: Some(serde_json::json!({ "agency_id": model.agency_id })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    patch: OfficerPatch,
) -> Result<officer::Model, ServiceError> {
    if !actor.is(READERS) {
        return Err(ServiceError::forbidden(
            "this key's role may not change officers",
        ));
    }
    let mut v = Validator::new();
    let badge = patch.badge_no.as_deref().map(|b| check_badge(&mut v, b));
    let name = patch.name.as_deref().map(|n| v.text("name", n, 1, 100));
    v.finish()?;
    let txn = crate::db::begin_write(db).await?;
    let current = officer::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound { entity: "officer" })?;
    let path = agencies::region_path_of(&txn, current.agency_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("agency of officer {id} is gone"))?;
    if !may_write(actor, current.agency_id, &path) {
        return Err(ServiceError::forbidden(
            "the officer's agency lies outside the key's scope",
        ));
    }
    let mut active: officer::ActiveModel = current.into();
    let mut changed = Vec::new();
    if let Some(badge) = badge {
        active.badge_no = Set(badge);
        changed.push("badge_no");
    }
    if let Some(name) = name {
        active.name = Set(name);
        changed.push("name");
    }
    if let Some(flag) = patch.active {
        active.active = Set(flag);
        changed.push("active");
    }
    active.updated_at = Set(Utc::now());
    let model = active.update(&txn).await.map_err(|e| {
        ServiceError::from_unique(e, "an officer with this badge number already exists")
    })?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "officer.update",
            entity: "officer",
            entity_id: id.to_string(),
            region_path: Some(path),
            details: Some(serde_json::json!({ "fields": changed })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}
