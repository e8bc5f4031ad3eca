//! `/api/v1/audit`

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::ReadError;
use super::{ApiTags, page_type};
use crate::service::{PageRequest, audit};
use crate::startup::AppState;
use crate::store::audit as audit_store;

/// One audit log entry (全过程留痕).
#[derive(Object, Debug)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// `key:<id>` for API keys, `cli` for the command line.
    pub actor: String,
    pub actor_key_id: Option<i64>,
    /// e.g. `agency.create`.
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub request_id: Option<String>,
    /// Metadata such as the names of changed fields.
    pub details: Option<serde_json::Value>,
}

impl From<audit_store::Model> for AuditEntry {
    fn from(m: audit_store::Model) -> Self {
        Self {
            id: m.id,
            occurred_at: m.occurred_at,
            actor: m.actor,
            actor_key_id: m.actor_key_id,
            action: m.action,
            entity: m.entity,
            entity_id: m.entity_id,
            request_id: m.request_id,
            details: m.details,
        }
    }
}

page_type!(AuditPage, AuditEntry);

/// Audit log operations.
pub struct AuditApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Audit")]
impl AuditApi {
    /// List audit entries
    ///
    /// Roles: admin (all), bureau (entries about its subtree). Newest first.
    #[oai(path = "/audit", method = "get", operation_id = "listAudit")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        entity: Query<Option<String>>,
        entity_id: Query<Option<String>>,
        action: Query<Option<String>>,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
    ) -> Result<Json<AuditPage>, ReadError> {
        let req = PageRequest::parse(page.0, page_size.0)?;
        let filter = audit::AuditFilter {
            entity: entity.0,
            entity_id: entity_id.0,
            action: action.0,
        };
        Ok(Json(
            audit::list(&state.db, &auth.0, filter, req).await?.into(),
        ))
    }
}
