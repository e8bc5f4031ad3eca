//! 企业: enterprises, identified by their unified social credit code.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::{Actor, Page, PageRequest, ServiceError, audit, error::Validator, page, regions};
use crate::domain::{Role, Uscc};
use crate::store::enterprise;

/// An enterprise to create.
#[derive(Debug, Clone)]
pub struct NewEnterprise {
    pub uscc: String,
    pub name: String,
    pub region_code: String,
}

/// Fields of an enterprise that may change (the credit code may not).
#[derive(Debug, Clone, Default)]
pub struct EnterprisePatch {
    pub name: Option<String>,
    pub region_code: Option<String>,
}

/// Filters for listing enterprises.
#[derive(Debug, Clone, Default)]
pub struct EnterpriseFilter {
    pub region: Option<String>,
    pub uscc: Option<String>,
    pub q: Option<String>,
}

const READERS: &[Role] = &[Role::Admin, Role::Bureau, Role::Agency, Role::Evaluator];
const WRITERS: &[Role] = &[Role::Admin, Role::Bureau, Role::Agency];

pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<enterprise::Model, ServiceError> {
    if !actor.is(READERS) {
        return Err(ServiceError::forbidden(
            "this key's role may not read enterprises",
        ));
    }
    let found = enterprise::Entity::find_by_id(id).one(db).await?;
    if let Some(e) = found {
        let path = regions::path_of(db, "region_code", &e.region_code).await?;
        if actor.covers_path(&path) {
            return Ok(e);
        }
    }
    Err(ServiceError::NotFound {
        entity: "enterprise",
    })
}

pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: EnterpriseFilter,
    req: PageRequest,
) -> Result<Page<enterprise::Model>, ServiceError> {
    if !actor.is(READERS) {
        return Err(ServiceError::forbidden(
            "this key's role may not read enterprises",
        ));
    }
    let mut select = enterprise::Entity::find().order_by_asc(enterprise::Column::Id);
    if let Some(prefix) = actor.region_prefix() {
        select =
            select.filter(enterprise::Column::RegionCode.in_subquery(regions::codes_under(prefix)));
    }
    if let Some(code) = filter.region {
        let path = regions::path_of(db, "region", &code).await?;
        select =
            select.filter(enterprise::Column::RegionCode.in_subquery(regions::codes_under(&path)));
    }
    if let Some(uscc) = filter.uscc {
        select = select.filter(enterprise::Column::Uscc.eq(uscc.trim().to_uppercase()));
    }
    if let Some(q) = filter.q.filter(|q| !q.trim().is_empty()) {
        select = select.filter(enterprise::Column::Name.contains(q.trim()));
    }
    Ok(page::fetch(db, select, req).await?)
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewEnterprise,
) -> Result<enterprise::Model, ServiceError> {
    if !actor.is(WRITERS) {
        return Err(ServiceError::forbidden(
            "this key's role may not create enterprises",
        ));
    }
    let mut v = Validator::new();
    let uscc = v.parsed("uscc", Uscc::parse(&new.uscc));
    let name = v.text("name", &new.name, 2, 200);
    let region = regions::find(db, &new.region_code).await?;
    if region.is_none() {
        v.add(
            "region_code",
            format!("region {} does not exist", new.region_code),
        );
    }
    v.finish()?;
    let (Some(uscc), Some(region)) = (uscc, region) else {
        return Err(ServiceError::invalid("uscc", "missing"));
    };
    if !actor.covers_path(&region.path) {
        return Err(ServiceError::forbidden(
            "the region lies outside the key's scope",
        ));
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model = enterprise::ActiveModel {
        uscc: Set(uscc.as_str().to_owned()),
        name: Set(name),
        region_code: Set(region.code),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        ServiceError::from_unique(
            e,
            format!("an enterprise with credit code {uscc} already exists"),
        )
    })?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "enterprise.create",
            entity: "enterprise",
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
    patch: EnterprisePatch,
) -> Result<enterprise::Model, ServiceError> {
    if !actor.is(WRITERS) {
        return Err(ServiceError::forbidden(
            "this key's role may not change enterprises",
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
    let current =
        enterprise::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(ServiceError::NotFound {
                entity: "enterprise",
            })?;
    let mut path = regions::path_of(&txn, "region_code", &current.region_code).await?;
    if !actor.covers_path(&path) {
        return Err(ServiceError::forbidden(
            "the enterprise lies outside the key's scope",
        ));
    }
    let mut active: enterprise::ActiveModel = current.into();
    let mut changed = Vec::new();
    if let Some(name) = name {
        active.name = Set(name);
        changed.push("name");
    }
    if let Some(region) = new_region {
        if !actor.covers_path(&region.path) {
            return Err(ServiceError::forbidden(
                "the new region lies outside the key's scope",
            ));
        }
        active.region_code = Set(region.code);
        path = region.path;
        changed.push("region_code");
    }
    active.updated_at = Set(Utc::now());
    let model = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "enterprise.update",
            entity: "enterprise",
            entity_id: id.to_string(),
            region_path: Some(path),
            details: Some(serde_json::json!({ "fields": changed })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}
