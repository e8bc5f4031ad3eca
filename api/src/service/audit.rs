//! 全过程留痕: the audit log. Entries are written in the same transaction as the change.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::{Actor, Page, PageRequest, ServiceError, page};
use crate::domain::Role;
use crate::store::audit;

/// What changed, for one audit entry.
#[derive(Debug)]
pub struct Change<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub region_path: Option<String>,
    /// Metadata such as changed field names; never personal data.
    pub details: Option<serde_json::Value>,
}

/// Writes one audit entry with `db` (pass the write's transaction).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    change: Change<'_>,
) -> Result<(), ServiceError> {
    audit::ActiveModel {
        occurred_at: Set(Utc::now()),
        actor_key_id: Set(actor.key_id),
        actor: Set(actor.label()),
        action: Set(change.action.to_owned()),
        entity: Set(change.entity.to_owned()),
        entity_id: Set(change.entity_id),
        request_id: Set(actor.request_id.clone()),
        region_path: Set(change.region_path),
        details: Set(change.details),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Filters for listing the audit log.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
}

/// Lists audit entries, newest first: admins see all, bureaus their subtree.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    filter: AuditFilter,
    req: PageRequest,
) -> Result<Page<audit::Model>, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may read the audit log",
        ));
    }
    let mut select = audit::Entity::find().order_by_desc(audit::Column::Id);
    if let Some(prefix) = actor.region_prefix() {
        select = select.filter(audit::Column::RegionPath.starts_with(prefix));
    }
    if let Some(entity) = filter.entity {
        select = select.filter(audit::Column::Entity.eq(entity));
    }
    if let Some(id) = filter.entity_id {
        select = select.filter(audit::Column::EntityId.eq(id));
    }
    if let Some(action) = filter.action {
        select = select.filter(audit::Column::Action.eq(action));
    }
    Ok(page::fetch(db, select, req).await?)
}
