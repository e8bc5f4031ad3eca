//! `/api/v1/contact-points` (监督联系点): contact points, binding codes, liaisons and
//! activity.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use super::{ApiTags, Created, page_type};
use crate::service::{PageRequest, contact_points};
use crate::startup::AppState;
use crate::store::{contact_point, liaison};

/// A supervision contact point.
#[derive(Object, Debug)]
pub struct ContactPoint {
    pub id: i64,
    pub name: String,
    /// association 行业协会, chamber 商会, enterprise 企业, community 社区, village 村.
    pub kind: String,
    pub region_code: String,
    pub address: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<contact_point::Model> for ContactPoint {
    fn from(p: contact_point::Model) -> Self {
        Self {
            id: p.id,
            name: p.name,
            kind: p.kind,
            region_code: p.region_code,
            address: p.address,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

page_type!(ContactPointPage, ContactPoint);

/// A contact point to create.
#[derive(Object, Debug)]
pub struct NewContactPoint {
    /// 1–100 characters.
    pub name: String,
    /// association, chamber, enterprise, community or village.
    pub kind: String,
    /// Inside the key's region.
    pub region_code: String,
    pub address: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// Fields to change; absent fields stay.
#[derive(Object, Debug)]
pub struct ContactPointPatch {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub address: Option<String>,
    /// False stops new bindings and the tagging of liaisons' tickets.
    pub active: Option<bool>,
}

/// How long a new binding code stays valid.
#[derive(Object, Debug)]
pub struct CodeRequest {
    /// 1–720 hours; default 72.
    pub valid_hours: Option<i64>,
}

/// A one-time binding code, shown only here.
#[derive(Object, Debug)]
pub struct BindingCode {
    /// Give it to the liaison: they send `/bind <code>` to the bot.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// A liaison (联络员) binding.
#[derive(Object, Debug)]
pub struct Liaison {
    pub id: i64,
    pub contact_point_id: i64,
    pub bound_at: DateTime<Utc>,
    /// Set once unbound.
    pub unbound_at: Option<DateTime<Utc>>,
}

impl From<liaison::Model> for Liaison {
    fn from(l: liaison::Model) -> Self {
        Self {
            id: l.id,
            contact_point_id: l.contact_point_id,
            bound_at: l.bound_at,
            unbound_at: l.unbound_at,
        }
    }
}

/// What a contact point reported in the period.
#[derive(Object, Debug)]
pub struct Activity {
    pub contact_point_id: i64,
    pub name: String,
    pub active: bool,
    /// Liaisons bound at the end of the period.
    pub liaisons: u64,
    pub complaints: u64,
    pub reports: u64,
    pub suggestions: u64,
    pub praise: u64,
    /// All tickets filed in the period.
    pub total: u64,
}

/// Per contact point activity.
#[derive(Object, Debug)]
pub struct ActivityReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub items: Vec<Activity>,
}

/// `201` with the new code.
#[derive(ApiResponse, Debug)]
pub enum CodeIssued {
    #[oai(status = 201)]
    Created(Json<BindingCode>),
}

/// Contact point operations.
pub struct ContactPointsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::ContactPoints")]
impl ContactPointsApi {
    /// Create a contact point
    ///
    /// Roles: admin, bureau (in its subtree).
    #[oai(
        path = "/contact-points",
        method = "post",
        operation_id = "createContactPoint"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<NewContactPoint>,
    ) -> Result<Created<ContactPoint>, WriteError> {
        let b = body.0;
        let input = contact_points::ContactPointInput {
            name: Some(b.name),
            kind: Some(b.kind),
            region_code: Some(b.region_code),
            address: b.address,
            active: b.active,
        };
        let point = contact_points::create(&state.db, &auth.0, input).await?;
        Ok(Created::Created(Json(point.into())))
    }

    /// List contact points
    ///
    /// Roles: admin (all), bureau (its subtree).
    #[oai(
        path = "/contact-points",
        method = "get",
        operation_id = "listContactPoints"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
    ) -> Result<Json<ContactPointPage>, ReadError> {
        let req = PageRequest::parse(page.0, page_size.0)?;
        Ok(Json(
            contact_points::list(&state.db, &auth.0, req).await?.into(),
        ))
    }

    /// Activity per contact point
    ///
    /// Roles: admin, bureau (its subtree). Tickets filed by each contact point's
    /// liaisons in `[from, to)` by kind, and the liaisons bound at `to`.
    #[oai(
        path = "/contact-points/activity",
        method = "get",
        operation_id = "contactPointActivity"
    )]
    async fn activity(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        from: Query<DateTime<Utc>>,
        to: Query<DateTime<Utc>>,
    ) -> Result<Json<ActivityReport>, ReadError> {
        let items = contact_points::activity(&state.db, &auth.0, from.0, to.0).await?;
        Ok(Json(ActivityReport {
            from: from.0,
            to: to.0,
            items: items
                .into_iter()
                .map(|a| Activity {
                    total: a.complaints + a.reports + a.suggestions + a.praise,
                    contact_point_id: a.contact_point_id,
                    name: a.name,
                    active: a.active,
                    liaisons: a.liaisons,
                    complaints: a.complaints,
                    reports: a.reports,
                    suggestions: a.suggestions,
                    praise: a.praise,
                })
                .collect(),
        }))
    }

    /// Get a contact point
    ///
    /// Roles: admin, bureau (its subtree); others 404.
    #[oai(
        path = "/contact-points/:id",
        method = "get",
        operation_id = "getContactPoint"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
    ) -> Result<Json<ContactPoint>, ReadError> {
        Ok(Json(
            contact_points::get(&state.db, &auth.0, id.0).await?.into(),
        ))
    }

    /// Change a contact point
    ///
    /// Roles: admin, bureau (its subtree). The region cannot change.
    #[oai(
        path = "/contact-points/:id",
        method = "patch",
        operation_id = "updateContactPoint"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<ContactPointPatch>,
    ) -> Result<Json<ContactPoint>, WriteError> {
        let b = body.0;
        let patch = contact_points::ContactPointInput {
            name: b.name,
            kind: b.kind,
            region_code: None,
            address: b.address,
            active: b.active,
        };
        Ok(Json(
            contact_points::update(&state.db, &auth.0, id.0, patch)
                .await?
                .into(),
        ))
    }

    /// Issue a binding code
    ///
    /// Roles: admin, bureau (its subtree). A one-time code for an active contact
    /// point; a channel user who redeems it becomes a liaison. Stored hashed and
    /// shown only in this answer.
    #[oai(
        path = "/contact-points/:id/binding-codes",
        method = "post",
        operation_id = "issueBindingCode"
    )]
    async fn issue_code(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<CodeRequest>,
    ) -> Result<CodeIssued, WriteError> {
        let issued =
            contact_points::issue_code(&state.db, &auth.0, id.0, body.0.valid_hours).await?;
        Ok(CodeIssued::Created(Json(BindingCode {
            code: issued.code,
            expires_at: issued.expires_at,
        })))
    }

    /// List a contact point's liaisons
    ///
    /// Roles: admin, bureau (its subtree). Current and former, oldest first; never
    /// the channel's user ids.
    #[oai(
        path = "/contact-points/:id/liaisons",
        method = "get",
        operation_id = "listLiaisons"
    )]
    async fn liaisons(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
    ) -> Result<Json<Vec<Liaison>>, ReadError> {
        Ok(Json(
            contact_points::liaisons(&state.db, &auth.0, id.0)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// Unbind a liaison
    ///
    /// Roles: admin, bureau (its subtree). Their later tickets no longer carry the
    /// contact point; unbinding twice is 409 `already_unbound`.
    #[oai(
        path = "/contact-points/:id/liaisons/:liaison_id",
        method = "delete",
        operation_id = "unbindLiaison"
    )]
    async fn unbind(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        liaison_id: Path<i64>,
    ) -> Result<Json<Liaison>, WriteError> {
        Ok(Json(
            contact_points::unbind(&state.db, &auth.0, id.0, liaison_id.0)
                .await?
                .into(),
        ))
    }
}
