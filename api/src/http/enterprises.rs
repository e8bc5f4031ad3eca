//! `/api/v1/enterprises`

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use super::{ApiTags, Created, page_type};
use crate::service::{PageRequest, enterprises};
use crate::startup::AppState;
use crate::store::enterprise;

/// An enterprise (企业).
#[derive(Object, Debug)]
pub struct Enterprise {
    pub id: i64,
    /// 统一社会信用代码 (GB 32100-2015).
    pub uscc: String,
    pub name: String,
    pub region_code: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<enterprise::Model> for Enterprise {
    fn from(m: enterprise::Model) -> Self {
        Self {
            id: m.id,
            uscc: m.uscc,
            name: m.name,
            region_code: m.region_code,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

page_type!(EnterprisePage, Enterprise);

/// An enterprise to create.
#[derive(Object, Debug)]
#[oai(example)]
pub struct CreateEnterprise {
    /// 18 characters with a valid GB 32100 check digit; an invalid code is a 422.
    pub uscc: String,
    pub name: String,
    pub region_code: String,
}

/// Changes to an enterprise; the credit code never changes.
#[derive(Object, Debug)]
pub struct UpdateEnterprise {
    pub name: Option<String>,
    pub region_code: Option<String>,
}

/// Enterprise operations.
pub struct EnterprisesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Enterprises")]
impl EnterprisesApi {
    /// List enterprises
    ///
    /// Roles: admin, evaluator (all); bureau (its subtree); agency (its region's
    /// subtree).
    #[oai(
        path = "/enterprises",
        method = "get",
        operation_id = "listEnterprises"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        region: Query<Option<String>>,
        uscc: Query<Option<String>>,
        q: Query<Option<String>>,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
    ) -> Result<Json<EnterprisePage>, ReadError> {
        let req = PageRequest::parse(page.0, page_size.0)?;
        let filter = enterprises::EnterpriseFilter {
            region: region.0,
            uscc: uscc.0,
            q: q.0,
        };
        Ok(Json(
            enterprises::list(&state.db, &auth.0, filter, req)
                .await?
                .into(),
        ))
    }

    /// Get an enterprise
    ///
    /// Roles: as for listing; outside the key's scope is 404.
    #[oai(
        path = "/enterprises/:id",
        method = "get",
        operation_id = "getEnterprise"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
    ) -> Result<Json<Enterprise>, ReadError> {
        Ok(Json(
            enterprises::get(&state.db, &auth.0, id.0).await?.into(),
        ))
    }

    /// Create an enterprise
    ///
    /// Roles: admin, bureau (its subtree), agency (its region's subtree).
    #[oai(
        path = "/enterprises",
        method = "post",
        operation_id = "createEnterprise"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<CreateEnterprise>,
    ) -> Result<Created<Enterprise>, WriteError> {
        let b = body.0;
        let new = enterprises::NewEnterprise {
            uscc: b.uscc,
            name: b.name,
            region_code: b.region_code,
        };
        let model = enterprises::create(&state.db, &auth.0, new).await?;
        Ok(Created::Created(Json(model.into())))
    }

    /// Update an enterprise
    ///
    /// Roles: admin, bureau (its subtree), agency (its region's subtree).
    #[oai(
        path = "/enterprises/:id",
        method = "patch",
        operation_id = "updateEnterprise"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<UpdateEnterprise>,
    ) -> Result<Json<Enterprise>, WriteError> {
        let b = body.0;
        let patch = enterprises::EnterprisePatch {
            name: b.name,
            region_code: b.region_code,
        };
        Ok(Json(
            enterprises::update(&state.db, &auth.0, id.0, patch)
                .await?
                .into(),
        ))
    }
}

impl poem_openapi::types::Example for CreateEnterprise {
    fn example() -> Self {
        Self {
            uscc: "91110000802100433B".into(),
            name: "连云港市海州恒达商贸有限公司".into(),
            region_code: "320706".into(),
        }
    }
}
