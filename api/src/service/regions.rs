//! 行政区划: the region tree.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::{Actor, Page, PageRequest, ServiceError, audit, error::Validator, page};
use crate::domain::{RegionCode, RegionLevel, Role, region::child_path};
use crate::store::region;

/// A region to create.
#[derive(Debug, Clone)]
pub struct NewRegion {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent_code: Option<String>,
}

/// Fields of a region that may change (the code and place in the tree may not).
#[derive(Debug, Clone, Default)]
pub struct RegionPatch {
    pub name: Option<String>,
}

/// Filters for listing regions.
#[derive(Debug, Clone, Default)]
pub struct RegionFilter {
    /// Only direct children of this region.
    pub parent: Option<String>,
    /// Only this region and everything below it.
    pub within: Option<String>,
    pub level: Option<RegionLevel>,
    /// Name contains.
    pub q: Option<String>,
}

/// Loads a region by code; unknown codes are `None`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<region::Model>, ServiceError> {
    Ok(region::Entity::find_by_id(code).one(db).await?)
}

/// Resolves a filter's region code to its path, or a 422 naming `field`.
pub async fn path_of<C: ConnectionTrait>(
    db: &C,
    field: &str,
    code: &str,
) -> Result<String, ServiceError> {
    match find(db, code).await? {
        Some(r) => Ok(r.path),
        None => Err(ServiceError::invalid(
            field,
            format!("region {code} does not exist"),
        )),
    }
}

/// Regions are reference data: every role may read all of them.
pub async fn list(
    db: &DatabaseConnection,
    _actor: &Actor,
    filter: RegionFilter,
    req: PageRequest,
) -> Result<Page<region::Model>, ServiceError> {
    let mut select = region::Entity::find().order_by_asc(region::Column::Code);
    if let Some(parent) = filter.parent {
        select = select.filter(region::Column::ParentCode.eq(parent));
    }
    if let Some(within) = filter.within {
        let path = path_of(db, "within", &within).await?;
        select = select.filter(region::Column::Path.starts_with(path));
    }
    if let Some(level) = filter.level {
        select = select.filter(region::Column::Level.eq(level));
    }
    if let Some(q) = filter.q.filter(|q| !q.trim().is_empty()) {
        select = select.filter(region::Column::Name.contains(q.trim()));
    }
    Ok(page::fetch(db, select, req).await?)
}

pub async fn get(
    db: &DatabaseConnection,
    _actor: &Actor,
    code: &str,
) -> Result<region::Model, ServiceError> {
    find(db, code)
        .await?
        .ok_or(ServiceError::NotFound { entity: "region" })
}

/// A bureau may create and rename regions strictly below its own; admins anything.
fn may_write(actor: &Actor, path: &str) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Bureau => actor
            .region_prefix()
            .is_some_and(|p| path.starts_with(p) && path != p),
        _ => false,
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewRegion,
) -> Result<region::Model, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may create regions",
        ));
    }
    let mut v = Validator::new();
    let name = v.text("name", &new.name, 1, 100);
    let code = v.parsed("code", RegionCode::parse(&new.code));
    let parent = match (&new.parent_code, new.level.parent_level()) {
        (None, None) => None,
        (Some(_), None) => {
            v.add("parent_code", "a city has no parent");
            None
        }
        (None, Some(_)) => {
            v.add("parent_code", "required for counties and towns");
            None
        }
        (Some(p), Some(expected_level)) => match find(db, p).await? {
            None => {
                v.add("parent_code", format!("region {p} does not exist"));
                None
            }
            Some(parent) if parent.level != expected_level => {
                v.add(
                    "parent_code",
                    format!(
                        "the parent of a {:?} must be a {:?}",
                        new.level, expected_level
                    )
                    .to_lowercase(),
                );
                None
            }
            Some(parent) => Some(parent),
        },
    };
    if let Some(code) = &code {
        let parent_code = parent
            .as_ref()
            .and_then(|p| RegionCode::parse(&p.code).ok());
        if let Err(e) = code.check_fits(new.level, parent_code.as_ref()) {
            v.add("code", e.to_string());
        }
    }
    v.finish()?;
    let Some(code) = code else {
        return Err(ServiceError::invalid("code", "missing"));
    };
    let path = child_path(parent.as_ref().map(|p| p.path.as_str()), &code);
    if !may_write(actor, &path) {
        return Err(ServiceError::forbidden(
            "the region lies outside the key's scope",
        ));
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model = region::ActiveModel {
        code: Set(code.as_str().to_owned()),
        name: Set(name),
        level: Set(new.level),
        parent_code: Set(parent.map(|p| p.code)),
        path: Set(path.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| ServiceError::from_unique(e, format!("region {code} already exists")))?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "region.create",
            entity: "region",
            entity_id: model.code.clone(),
            region_path: Some(path),
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
    code: &str,
    patch: RegionPatch,
) -> Result<region::Model, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may change regions",
        ));
    }
    let mut v = Validator::new();
    let name = patch.name.as_deref().map(|n| v.text("name", n, 1, 100));
    v.finish()?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, code)
        .await?
        .ok_or(ServiceError::NotFound { entity: "region" })?;
    if !may_write(actor, &current.path) {
        return Err(ServiceError::forbidden(
            "the region lies outside the key's scope",
        ));
    }
    let path = current.path.clone();
    let mut active: region::ActiveModel = current.into();
    let mut changed = Vec::new();
    if let Some(name) = name {
        active.name = Set(name);
        changed.push("name");
    }
    active.updated_at = Set(Utc::now());
    let model = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "region.update",
            entity: "region",
            entity_id: model.code.clone(),
            region_path: Some(path),
            details: Some(serde_json::json!({ "fields": changed })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Sub-select of the codes of every region at or below `path`, for subtree filters.
pub fn codes_under(path: &str) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(region::Column::Code)
        .from(region::Entity)
        .and_where(region::Column::Path.starts_with(path))
        .to_owned()
}
