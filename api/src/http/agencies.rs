//! `/api/v1/agencies`

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use super::{ApiTags, Created, page_type};
use crate::domain::AgencyDomain;
use crate::service::{PageRequest, agencies};
use crate::startup::AppState;
use crate::store::agency;

/// An enforcement agency (执法机关).
#[derive(Object, Debug)]
pub struct Agency {
    pub id: i64,
    /// The bureau's own code for the agency (e.g. its credit code).
    pub code: String,
    pub name: String,
    pub domain: AgencyDomain,
    pub region_code: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<agency::Model> for Agency {
    fn from(m: agency::Model) -> Self {
        Self {
            id: m.id,
            code: m.code,
            name: m.name,
            domain: m.domain,
            region_code: m.region_code,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

page_type!(AgencyPage, Agency);

/// An agency to create.
#[derive(Object, Debug)]
#[oai(example)]
pub struct CreateAgency {
    pub code: String,
    pub name: String,
    pub domain: AgencyDomain,
    pub region_code: String,
    #[oai(default = "default_true")]
    pub active: bool,
}

fn default_true() -> bool {
    true
}

/// Changes to an agency; absent fields stay as they are.
#[derive(Object, Debug)]
pub struct UpdateAgency {
    pub name: Option<String>,
    pub domain: Option<AgencyDomain>,
    pub region_code: Option<String>,
    pub active: Option<bool>,
}

/// Agency operations.
pub struct AgenciesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Agencies")]
impl AgenciesApi {
    /// List agencies
    ///
    /// Roles: admin, channel, evaluator (all); bureau (its subtree); agency (itself).
    /// `region` filters to a region and everything below it.
    #[oai(path = "/agencies", method = "get", operation_id = "listAgencies")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        region: Query<Option<String>>,
        domain: Query<Option<AgencyDomain>>,
        active: Query<Option<bool>>,
        q: Query<Option<String>>,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
    ) -> Result<Json<AgencyPage>, ReadError> {
        let req = PageRequest::parse(page.0, page_size.0)?;
        let filter = agencies::AgencyFilter {
            region: region.0,
            domain: domain.0,
            active: active.0,
            q: q.0,
        };
        Ok(Json(
            agencies::list(&state.db, &auth.0, filter, req)
                .await?
                .into(),
        ))
    }

    /// Get an agency
    ///
    /// Roles: as for listing; an agency outside the key's scope is 404.
    #[oai(path = "/agencies/:id", method = "get", operation_id = "getAgency")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
    ) -> Result<Json<Agency>, ReadError> {
        Ok(Json(agencies::get(&state.db, &auth.0, id.0).await?.into()))
    }

    /// Create an agency
    ///
    /// Roles: admin, bureau (in its subtree).
    #[oai(path = "/agencies", method = "post", operation_id = "createAgency")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<CreateAgency>,
    ) -> Result<Created<Agency>, WriteError> {
        let b = body.0;
        let new = agencies::NewAgency {
            code: b.code,
            name: b.name,
            domain: b.domain,
            region_code: b.region_code,
            active: b.active,
        };
        let model = agencies::create(&state.db, &auth.0, new).await?;
        Ok(Created::Created(Json(model.into())))
    }

    /// Update an agency
    ///
    /// Roles: admin, bureau (agency and new region in its subtree).
    #[oai(
        path = "/agencies/:id",
        method = "patch",
        operation_id = "updateAgency"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<UpdateAgency>,
    ) -> Result<Json<Agency>, WriteError> {
        let b = body.0;
        let patch = agencies::AgencyPatch {
            name: b.name,
            domain: b.domain,
            region_code: b.region_code,
            active: b.active,
        };
        Ok(Json(
            agencies::update(&state.db, &auth.0, id.0, patch)
                .await?
                .into(),
        ))
    }
}

impl poem_openapi::types::Example for CreateAgency {
    fn example() -> Self {
        Self {
            code: "11320706MB0000001X".into(),
            name: "海州区市场监督管理局".into(),
            domain: AgencyDomain::MarketRegulation,
            region_code: "320706".into(),
            active: true,
        }
    }
}
