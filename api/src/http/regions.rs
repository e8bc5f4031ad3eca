//! `/api/v1/regions`

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use super::{ApiTags, Created, page_type};
use crate::domain::RegionLevel;
use crate::service::{PageRequest, regions};
use crate::startup::AppState;
use crate::store::region;

/// A region (行政区划).
#[derive(Object, Debug)]
pub struct Region {
    /// Division code: 6 digits, or 9 for a town.
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<region::Model> for Region {
    fn from(m: region::Model) -> Self {
        Self {
            code: m.code,
            name: m.name,
            level: m.level,
            parent_code: m.parent_code,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

page_type!(RegionPage, Region);

/// A region to create.
#[derive(Object, Debug)]
#[oai(example)]
pub struct CreateRegion {
    /// Division code: `PPCC00` for a city, `PPCCDD` for a county, 9 digits for a town.
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    /// Required for counties and towns.
    pub parent_code: Option<String>,
}

/// Changes to a region.
#[derive(Object, Debug)]
pub struct UpdateRegion {
    pub name: Option<String>,
}

/// Region operations.
pub struct RegionsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Regions")]
impl RegionsApi {
    /// List regions
    ///
    /// Roles: any. Filter by direct parent, by subtree (`within`: the region and all
    /// below it), level or name.
    #[oai(path = "/regions", method = "get", operation_id = "listRegions")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        parent: Query<Option<String>>,
        within: Query<Option<String>>,
        level: Query<Option<RegionLevel>>,
        q: Query<Option<String>>,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
    ) -> Result<Json<RegionPage>, ReadError> {
        let req = PageRequest::parse(page.0, page_size.0)?;
        let filter = regions::RegionFilter {
            parent: parent.0,
            within: within.0,
            level: level.0,
            q: q.0,
        };
        Ok(Json(
            regions::list(&state.db, &auth.0, filter, req).await?.into(),
        ))
    }

    /// Get a region
    ///
    /// Roles: any.
    #[oai(path = "/regions/:code", method = "get", operation_id = "getRegion")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        code: Path<String>,
    ) -> Result<Json<Region>, ReadError> {
        Ok(Json(
            regions::get(&state.db, &auth.0, &code.0).await?.into(),
        ))
    }

    /// Create a region
    ///
    /// Roles: admin (anywhere), bureau (below its own region). The code must fit the
    /// level and lie within the parent's code.
    #[oai(path = "/regions", method = "post", operation_id = "createRegion")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<CreateRegion>,
    ) -> Result<Created<Region>, WriteError> {
        let b = body.0;
        let new = regions::NewRegion {
            code: b.code,
            name: b.name,
            level: b.level,
            parent_code: b.parent_code,
        };
        let model = regions::create(&state.db, &auth.0, new).await?;
        Ok(Created::Created(Json(model.into())))
    }

    /// Update a region
    ///
    /// Roles: admin, bureau (regions below its own). Only the name may change.
    #[oai(
        path = "/regions/:code",
        method = "patch",
        operation_id = "updateRegion"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        code: Path<String>,
        body: Json<UpdateRegion>,
    ) -> Result<Json<Region>, WriteError> {
        let patch = regions::RegionPatch { name: body.0.name };
        Ok(Json(
            regions::update(&state.db, &auth.0, &code.0, patch)
                .await?
                .into(),
        ))
    }
}

impl poem_openapi::types::Example for CreateRegion {
    fn example() -> Self {
        Self {
            code: "320706".into(),
            name: "海州区".into(),
            level: RegionLevel::County,
            parent_code: Some("320700".into()),
        }
    }
}
