//! `/api/v1/officers`

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use super::{ApiTags, Created, page_type};
use crate::service::{PageRequest, officers};
use crate::startup::AppState;
use crate::store::officer;

/// An enforcement officer (执法人员).
#[derive(Object, Debug)]
pub struct Officer {
    pub id: i64,
    pub agency_id: i64,
    /// 执法证号
    pub badge_no: String,
    pub name: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<officer::Model> for Officer {
    fn from(m: officer::Model) -> Self {
        Self {
            id: m.id,
            agency_id: m.agency_id,
            badge_no: m.badge_no,
            name: m.name,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

page_type!(OfficerPage, Officer);

/// An officer to create.
#[derive(Object, Debug)]
#[oai(example)]
pub struct CreateOfficer {
    pub agency_id: i64,
    /// 执法证号: 4–32 ASCII letters, digits or '-'.
    pub badge_no: String,
    pub name: String,
    #[oai(default = "default_true")]
    pub active: bool,
}

fn default_true() -> bool {
    true
}

/// Changes to an officer; absent fields stay as they are.
#[derive(Object, Debug)]
pub struct UpdateOfficer {
    pub badge_no: Option<String>,
    pub name: Option<String>,
    pub active: Option<bool>,
}

/// Officer operations.
pub struct OfficersApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Officers")]
impl OfficersApi {
    /// List officers
    ///
    /// Roles: admin (all), bureau (agencies in its subtree), agency (its own).
    #[oai(path = "/officers", method = "get", operation_id = "listOfficers")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        agency_id: Query<Option<i64>>,
        active: Query<Option<bool>>,
        badge_no: Query<Option<String>>,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
    ) -> Result<Json<OfficerPage>, ReadError> {
        let req = PageRequest::parse(page.0, page_size.0)?;
        let filter = officers::OfficerFilter {
            agency_id: agency_id.0,
            active: active.0,
            badge_no: badge_no.0,
        };
        Ok(Json(
            officers::list(&state.db, &auth.0, filter, req)
                .await?
                .into(),
        ))
    }

    /// Get an officer
    ///
    /// Roles: admin, bureau, agency; outside the key's scope is 404.
    #[oai(path = "/officers/:id", method = "get", operation_id = "getOfficer")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
    ) -> Result<Json<Officer>, ReadError> {
        Ok(Json(officers::get(&state.db, &auth.0, id.0).await?.into()))
    }

    /// Create an officer
    ///
    /// Roles: admin, bureau (agencies in its subtree), agency (its own).
    #[oai(path = "/officers", method = "post", operation_id = "createOfficer")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<CreateOfficer>,
    ) -> Result<Created<Officer>, WriteError> {
        let b = body.0;
        let new = officers::NewOfficer {
            agency_id: b.agency_id,
            badge_no: b.badge_no,
            name: b.name,
            active: b.active,
        };
        let model = officers::create(&state.db, &auth.0, new).await?;
        Ok(Created::Created(Json(model.into())))
    }

    /// Update an officer
    ///
    /// Roles: admin, bureau (agencies in its subtree), agency (its own).
    #[oai(
        path = "/officers/:id",
        method = "patch",
        operation_id = "updateOfficer"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<UpdateOfficer>,
    ) -> Result<Json<Officer>, WriteError> {
        let b = body.0;
        let patch = officers::OfficerPatch {
            badge_no: b.badge_no,
            name: b.name,
            active: b.active,
        };
        Ok(Json(
            officers::update(&state.db, &auth.0, id.0, patch)
                .await?
                .into(),
        ))
    }
}

impl poem_openapi::types::Example for CreateOfficer {
    fn example() -> Self {
        Self {
            agency_id: 6,
            badge_no: "32070600123".into(),
            name: "张志强".into(),
            active: true,
        }
    }
}
