//! 执法机关: enforcement agencies.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::{
    Actor, Page, PageRequest, Scope, ServiceError, audit, error::Validator, page, regions,
};
use crate::domain::{AgencyDomain, Role};
use crate::store::agency;

/// An agency to create.
#[derive(Debug, Clone)]
pub struct NewAgency {
    pub code: String,
    pub name: String,
    pub domain: AgencyDomain,
    pub region_code: String,
    pub active: bool,
}

/// Fields of an agency that may change.
#[derive(Debug, Clone, Default)]
pub struct AgencyPatch {
    pub name: Option<String>,
    pub domain: Option<AgencyDomain>,
    pub region_code: Option<String>,
    pub active: Option<bool>,
}

/// Filters for listing agencies.
#[derive(Debug, Clone, Default)]
pub struct AgencyFilter {
    /// This region and everything below it.
    pub region: Option<String>,
    pub domain: Option<AgencyDomain>,
    pub active: Option<bool>,
    /// Name contains (or, for a short name such as 市场监管 or 城管, the official
    /// name it stands for).
    pub q: Option<String>,
}

/// An agency with the path of its region, for scope checks.
struct Located {
    agency: agency::Model,
    region_path: String,
}

async fn locate<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<Located>, ServiceError> {
    let Some(agency) = agency::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let region_path = regions::path_of(db, "region_code", &agency.region_code).await?;
    Ok(Some(Located {
        agency,
        region_path,
    }))
}

/// Whether `actor` may see an agency at `region_path`.
pub fn visible(actor: &Actor, id: i64, region_path: &str) -> bool {
    match &actor.scope {
        Scope::Everything => true,
        Scope::Region { path, .. } => region_path.starts_with(path.as_str()),
        Scope::Agency { id: own, .. } => *own == id,
    }
}

/// Whether `actor` may create or change agencies at `region_path`.
fn may_write(actor: &Actor, region_path: &str) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Bureau => actor.covers_path(region_path),
        _ => false,
    }
}

/// Loads an agency the caller may see; otherwise 404 (existence is not revealed).
pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<agency::Model, ServiceError> {
    match locate(db, id).await? {
        Some(l) if visible(actor, id, &l.region_path) => Ok(l.agency),
        _ => Err(ServiceError::NotFound { entity: "agency" }),
    }
}

pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: AgencyFilter,
    req: PageRequest,
) -> Result<Page<agency::Model>, ServiceError> {
    let mut select = agency::Entity::find().order_by_asc(agency::Column::Id);
    match &actor.scope {
        Scope::Everything => {}
        Scope::Region { path, .. } => {
            select =
                select.filter(agency::Column::RegionCode.in_subquery(regions::codes_under(path)));
        }
        Scope::Agency { id, .. } => select = select.filter(agency::Column::Id.eq(*id)),
    }
    if let Some(code) = filter.region {
        let path = regions::path_of(db, "region", &code).await?;
        select = select.filter(agency::Column::RegionCode.in_subquery(regions::codes_under(&path)));
    }
    if let Some(domain) = filter.domain {
        select = select.filter(agency::Column::Domain.eq(domain));
    }
    if let Some(active) = filter.active {
        select = select.filter(agency::Column::Active.eq(active));
    }
    if let Some(q) = filter.q.filter(|q| !q.trim().is_empty()) {
        // Everyday short names (市场监管, 城管 …) find the official names too.
        let mut any = sea_orm::Condition::any();
        for term in crate::domain::agency_names::search_terms(&q) {
            any = any.add(agency::Column::Name.contains(term));
        }
        select = select.filter(any);
    }
    Ok(page::fetch(db, select, req).await?)
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewAgency,
) -> Result<agency::Model, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may create agencies",
        ));
    }
    let mut v = Validator::new();
    let code = v.text("code", &new.code, 1, 64);
    let name = v.text("name", &new.name, 2, 200);
    let region = regions::find(db, &new.region_code).await?;
    if region.is_none() {
        v.add(
            "region_code",
            format!("region {} does not exist", new.region_code),
        );
    }
    v.finish()?;
    let Some(region) = region else {
        return Err(ServiceError::invalid("region_code", "missing"));
    };
    if !may_write(actor, &region.path) {
        return Err(ServiceError::forbidden(
            "the region lies outside the key's scope",
        ));
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model = agency::ActiveModel {
        code: Set(code.clone()),
        name: Set(name),
        domain: Set(new.domain),
        region_code: Set(region.code),
        active: Set(new.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        ServiceError::from_unique(e, format!("an agency with code {code} already exists"))
    })?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "agency.create",
            entity: "agency",
            entity_id: model.id.to_string(),
            region_path: Some(region.path),
            details: None,
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
    patch: AgencyPatch,
) -> Result<agency::Model, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may change agencies",
        ));
    }
    let mut v = Validator::new();
    let name = patch.name.as_deref().map(|n| v.text("name", n, 2, 200));
    let new_region = match &patch.region_code {
        Some(code) => {
            let found = regions::find(db, code).await?;
            if found.is_none() {
                v.add("region_code", format!("region {code} does not exist"));
            }
            found
        }
        None => None,
    };
    v.finish()?;
    let txn = crate::db::begin_write(db).await?;
    let current = locate(&txn, id)
        .await?
        .ok_or(ServiceError::NotFound { entity: "agency" })?;
    if !may_write(actor, &current.region_path) {
        return Err(ServiceError::forbidden(
            "the agency lies outside the key's scope",
        ));
    }
    if let Some(region) = &new_region
        && !may_write(actor, &region.path)
    {
        return Err(ServiceError::forbidden(
            "the new region lies outside the key's scope",
        ));
    }
    let mut path = current.region_path;
    let mut active: agency::ActiveModel = current.agency.into();
    let mut changed = Vec::new();
    if let Some(name) = name {
        active.name = Set(name);
        changed.push("name");
    }
    if let Some(domain) = patch.domain {
        active.domain = Set(domain);
        changed.push("domain");
    }
    if let Some(region) = new_region {
        active.region_code = Set(region.code);
        path = region.path;
        changed.push("region_code");
    }
    if let Some(flag) = patch.active {
        active.active = Set(flag);
        changed.push("active");
    }
    active.updated_at = Set(Utc::now());
    let model = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "agency.update",
            entity: "agency",
            entity_id: id.to_string(),
            region_path: Some(path),
            details: Some(serde_json::json!({ "fields": changed })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// The agency and its region path for writes on things it owns (officers): `None` when
/// it does not exist.
pub(crate) async fn region_path_of<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> Result<Option<String>, ServiceError> {
    Ok(locate(db, id).await?.map(|l| l.region_path))
}

/// An agency's name, for public pages (agency names are public information).
pub async fn public_name<C: ConnectionTrait>(db: &C, id: i64) -> Result<String, ServiceError> {
    Ok(agency::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|a| a.name)
        .unwrap_or_default())
}
