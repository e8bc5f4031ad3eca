//! `/api/v1/questionnaires`

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ApiError, ReadError, WriteError};
use super::{ApiTags, Created};
use crate::domain::questionnaire::Question;
use crate::service::questionnaires::{self, WithVersions};
use crate::startup::AppState;
use crate::store::questionnaire_version;

/// A questionnaire version (immutable once published).
#[derive(Object, Debug)]
pub struct QuestionnaireVersion {
    pub questionnaire_id: i64,
    pub version: i32,
    /// `draft` or `published`.
    pub status: String,
    pub questions: Vec<Question>,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

impl TryFrom<questionnaire_version::Model> for QuestionnaireVersion {
    type Error = ApiError;

    fn try_from(m: questionnaire_version::Model) -> Result<Self, ApiError> {
        Ok(Self {
            questions: questionnaires::questions_of(&m)?,
            questionnaire_id: m.questionnaire_id,
            version: m.version,
            status: m.status,
            created_at: m.created_at,
            published_at: m.published_at,
        })
    }
}

/// A version in a listing.
#[derive(Object, Debug)]
pub struct VersionSummary {
    pub version: i32,
    pub status: String,
    pub published_at: Option<DateTime<Utc>>,
}

/// A questionnaire (问卷) and its versions.
#[derive(Object, Debug)]
pub struct Questionnaire {
    pub id: i64,
    /// Stable key, e.g. `citizen_satisfaction`.
    pub key: String,
    pub title: String,
    /// `citizen` or `enterprise`.
    pub audience: String,
    /// Shipped with Pingjia.
    pub builtin: bool,
    /// Region code of the bureau that owns it and alone (with admins) changes it;
    /// absent for the deployment's own (the built-ins, admin-created), which admins
    /// change.
    #[oai(skip_serializing_if_is_none)]
    pub owner_region: Option<String>,
    /// Newest published version, if any.
    pub latest_published: Option<i32>,
    pub versions: Vec<VersionSummary>,
    pub created_at: DateTime<Utc>,
}

impl From<WithVersions> for Questionnaire {
    fn from(w: WithVersions) -> Self {
        let q = w.questionnaire;
        Self {
            id: q.id,
            key: q.key,
            title: q.title,
            audience: q.audience,
            builtin: q.builtin,
            owner_region: q.owner_region,
            latest_published: w
                .versions
                .iter()
                .filter(|v| v.status == questionnaires::PUBLISHED)
                .map(|v| v.version)
                .max(),
            versions: w
                .versions
                .into_iter()
                .map(|v| VersionSummary {
                    version: v.version,
                    status: v.status,
                    published_at: v.published_at,
                })
                .collect(),
            created_at: q.created_at,
        }
    }
}

/// A questionnaire to create; its questions become draft version 1.
#[derive(Object, Debug)]
pub struct CreateQuestionnaire {
    pub key: String,
    pub title: String,
    /// `citizen` or `enterprise`.
    pub audience: String,
    pub questions: Vec<Question>,
}

/// Questions of a new or edited draft version.
#[derive(Object, Debug)]
pub struct VersionBody {
    pub questions: Vec<Question>,
}

/// Questionnaire operations.
pub struct QuestionnairesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Questionnaires")]
impl QuestionnairesApi {
    /// List questionnaires
    ///
    /// Roles: any. Includes the two built-in questionnaires.
    #[oai(
        path = "/questionnaires",
        method = "get",
        operation_id = "listQuestionnaires"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
    ) -> Result<Json<Vec<Questionnaire>>, ReadError> {
        let all = questionnaires::list(&state.db, &auth.0).await?;
        Ok(Json(all.into_iter().map(Into::into).collect()))
    }

    /// Get a questionnaire
    ///
    /// Roles: any.
    #[oai(
        path = "/questionnaires/:id",
        method = "get",
        operation_id = "getQuestionnaire"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
    ) -> Result<Json<Questionnaire>, ReadError> {
        Ok(Json(
            questionnaires::get(&state.db, &auth.0, id.0).await?.into(),
        ))
    }

    /// Create a questionnaire
    ///
    /// Roles: admin, bureau. The questions become draft version 1; every problem in
    /// them is reported with its path (`questions[2].options`).
    #[oai(
        path = "/questionnaires",
        method = "post",
        operation_id = "createQuestionnaire"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<CreateQuestionnaire>,
    ) -> Result<Created<Questionnaire>, WriteError> {
        let b = body.0;
        let new = questionnaires::NewQuestionnaire {
            key: b.key,
            title: b.title,
            audience: b.audience,
            questions: b.questions,
        };
        let created = questionnaires::create(&state.db, &auth.0, new).await?;
        Ok(Created::Created(Json(created.into())))
    }

    /// Get a questionnaire version
    ///
    /// Roles: any; a draft only its owner (the bureau that created the
    /// questionnaire) and admins, others 404.
    #[oai(
        path = "/questionnaires/:id/versions/:version",
        method = "get",
        operation_id = "getQuestionnaireVersion"
    )]
    async fn version(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        version: Path<i32>,
    ) -> Result<Json<QuestionnaireVersion>, ReadError> {
        let v = questionnaires::readable_version(&state.db, &auth.0, id.0, version.0).await?;
        Ok(Json(v.try_into()?))
    }

    /// Draft a new version
    ///
    /// Roles: admin (any, the built-ins too), bureau (the questionnaires it created). 409 while another draft exists.
    #[oai(
        path = "/questionnaires/:id/versions",
        method = "post",
        operation_id = "createQuestionnaireVersion"
    )]
    async fn create_version(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        body: Json<VersionBody>,
    ) -> Result<Created<QuestionnaireVersion>, WriteError> {
        let v = questionnaires::create_version(&state.db, &auth.0, id.0, body.0.questions).await?;
        Ok(Created::Created(Json(
            v.try_into().map_err(WriteError::from)?,
        )))
    }

    /// Edit a draft version
    ///
    /// Roles: admin (any), bureau (its own questionnaires). A published version cannot change: 409.
    #[oai(
        path = "/questionnaires/:id/versions/:version",
        method = "put",
        operation_id = "updateQuestionnaireVersion"
    )]
    async fn update_version(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        version: Path<i32>,
        body: Json<VersionBody>,
    ) -> Result<Json<QuestionnaireVersion>, WriteError> {
        let v =
            questionnaires::update_version(&state.db, &auth.0, id.0, version.0, body.0.questions)
                .await?;
        Ok(Json(v.try_into()?))
    }

    /// Publish a draft version
    ///
    /// Roles: admin (any), bureau (its own questionnaires). Publishing freezes the version; a published version is 409.
    #[oai(
        path = "/questionnaires/:id/versions/:version/publish",
        method = "post",
        operation_id = "publishQuestionnaireVersion"
    )]
    async fn publish(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        id: Path<i64>,
        version: Path<i32>,
    ) -> Result<Json<QuestionnaireVersion>, WriteError> {
        let v = questionnaires::publish(&state.db, &auth.0, id.0, version.0).await?;
        Ok(Json(v.try_into()?))
    }
}
