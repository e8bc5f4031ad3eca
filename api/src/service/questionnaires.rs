//! 问卷: questionnaires with numbered, immutable versions. A version is drafted,
//! edited, then published; a published version never changes (editing it is a 409),
//! and a change is published as a new version.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::{Actor, ServiceError, audit, error::Validator};
use crate::domain::Role;
use crate::domain::builtin;
use crate::domain::questionnaire::{Question, validate_definition};
use crate::store::{questionnaire, questionnaire_version};

/// Version states.
pub const DRAFT: &str = "draft";
pub const PUBLISHED: &str = "published";

/// A questionnaire with its versions (oldest first).
#[derive(Debug, Clone)]
pub struct WithVersions {
    pub questionnaire: questionnaire::Model,
    pub versions: Vec<questionnaire_version::Model>,
}

/// A new questionnaire and its first draft.
#[derive(Debug, Clone)]
pub struct NewQuestionnaire {
    pub key: String,
    pub title: String,
    pub audience: String,
    pub questions: Vec<Question>,
}

const WRITERS: &[Role] = &[Role::Admin, Role::Bureau];

fn invalid_questions(errors: Vec<super::FieldError>) -> ServiceError {
    ServiceError::Validation(errors)
}

/// The questions of a stored version.
pub fn questions_of(version: &questionnaire_version::Model) -> Result<Vec<Question>, ServiceError> {
    serde_json::from_value(version.questions.clone()).map_err(|e| {
        ServiceError::Internal(anyhow::anyhow!(
            "stored questionnaire version {} is unreadable: {e}",
            version.id
        ))
    })
}

fn to_json(questions: &[Question]) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(questions).map_err(|e| ServiceError::Internal(e.into()))
}

/// Creates the built-in questionnaires (version 1, published) unless they exist.
pub async fn ensure_builtins(db: &DatabaseConnection) -> Result<(), ServiceError> {
    let builtins = [
        (
            builtin::CITIZEN_KEY,
            "行政执法满意度调查",
            "citizen",
            builtin::citizen_questions(),
        ),
        (
            builtin::ENTERPRISE_KEY,
            "行政执法案件企业回访问卷",
            "enterprise",
            builtin::enterprise_questions(),
        ),
    ];
    for (key, title, audience, questions) in builtins {
        if questionnaire::Entity::find()
            .filter(questionnaire::Column::Key.eq(key))
            .one(db)
            .await?
            .is_some()
        {
            continue;
        }
        let now = Utc::now();
        let txn = crate::db::begin_write(db).await?;
        let q = questionnaire::ActiveModel {
            key: Set(key.into()),
            title: Set(title.into()),
            audience: Set(audience.into()),
            builtin: Set(true),
            owner_region: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let q = match q {
            Ok(q) => q,
            // Another replica created it first.
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        questionnaire_version::ActiveModel {
            questionnaire_id: Set(q.id),
            version: Set(1),
            status: Set(PUBLISHED.into()),
            questions: Set(to_json(&questions)?),
            created_at: Set(now),
            published_at: Set(Some(now)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
    }
    Ok(())
}

async fn versions_of<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> Result<Vec<questionnaire_version::Model>, ServiceError> {
    Ok(questionnaire_version::Entity::find()
        .filter(questionnaire_version::Column::QuestionnaireId.eq(id))
        .order_by_asc(questionnaire_version::Column::Version)
        .all(db)
        .await?)
}

/// The questionnaire `id` (404 when there is none).
async fn find<C: ConnectionTrait>(db: &C, id: i64) -> Result<questionnaire::Model, ServiceError> {
    questionnaire::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound {
            entity: "questionnaire",
        })
}

/// Whether `actor` owns `q`, and so sees its drafts and may change it: admins every
/// questionnaire, a bureau those it created. Every key reads the published versions.
fn sees_drafts(actor: &Actor, q: &questionnaire::Model) -> bool {
    match (&actor.role, &actor.scope) {
        (Role::Admin, _) => true,
        (Role::Bureau, super::Scope::Region { code, .. }) => {
            q.owner_region.as_deref() == Some(code.as_str())
        }
        _ => false,
    }
}

/// The versions of `q` that `actor` may read.
async fn readable_versions(
    db: &DatabaseConnection,
    actor: &Actor,
    q: &questionnaire::Model,
) -> Result<Vec<questionnaire_version::Model>, ServiceError> {
    let mut versions = versions_of(db, q.id).await?;
    if !sees_drafts(actor, q) {
        versions.retain(|v| v.status == PUBLISHED);
    }
    Ok(versions)
}

/// Every questionnaire, with the versions the caller may read (drafts only its
/// owner's). A questionnaire with nothing published is listed only to its owner.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Vec<WithVersions>, ServiceError> {
    let all = questionnaire::Entity::find()
        .order_by_asc(questionnaire::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(all.len());
    for q in all {
        let versions = readable_versions(db, actor, &q).await?;
        if versions.is_empty() && !sees_drafts(actor, &q) {
            continue;
        }
        out.push(WithVersions {
            questionnaire: q,
            versions,
        });
    }
    Ok(out)
}

pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<WithVersions, ServiceError> {
    let q = find(db, id).await?;
    let versions = readable_versions(db, actor, &q).await?;
    if versions.is_empty() && !sees_drafts(actor, &q) {
        return Err(ServiceError::NotFound {
            entity: "questionnaire",
        });
    }
    Ok(WithVersions {
        questionnaire: q,
        versions,
    })
}

/// One version as `actor` may read it: a draft only to the questionnaire's owner.
pub async fn readable_version(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    number: i32,
) -> Result<questionnaire_version::Model, ServiceError> {
    let v = version(db, id, number).await?;
    if v.status != PUBLISHED {
        let q = find(db, id).await?;
        if !sees_drafts(actor, &q) {
            return Err(ServiceError::NotFound {
                entity: "questionnaire version",
            });
        }
    }
    Ok(v)
}

/// The questionnaire version a campaign surveys, with its questions.
pub async fn of_campaign<C: ConnectionTrait>(
    db: &C,
    campaign: &crate::store::campaign::Model,
) -> Result<(questionnaire_version::Model, Vec<Question>), ServiceError> {
    let version = questionnaire_version::Entity::find_by_id(campaign.questionnaire_version_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound {
            entity: "questionnaire version",
        })?;
    let questions = questions_of(&version)?;
    Ok((version, questions))
}

/// One version of a questionnaire.
pub async fn version<C: ConnectionTrait>(
    db: &C,
    id: i64,
    number: i32,
) -> Result<questionnaire_version::Model, ServiceError> {
    questionnaire_version::Entity::find()
        .filter(questionnaire_version::Column::QuestionnaireId.eq(id))
        .filter(questionnaire_version::Column::Version.eq(number))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound {
            entity: "questionnaire version",
        })
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewQuestionnaire,
) -> Result<WithVersions, ServiceError> {
    if !actor.is(WRITERS) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may create questionnaires",
        ));
    }
    let mut v = Validator::new();
    let key = v.text("key", &new.key, 1, 64);
    if !key.is_empty()
        && !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        v.add("key", "use lower-case letters, digits and _");
    }
    let title = v.text("title", &new.title, 1, 200);
    if !matches!(new.audience.as_str(), "citizen" | "enterprise") {
        v.add("audience", "must be citizen or enterprise");
    }
    v.finish()?;
    validate_definition(&new.questions).map_err(invalid_questions)?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let q = questionnaire::ActiveModel {
        key: Set(key.clone()),
        title: Set(title),
        audience: Set(new.audience),
        builtin: Set(false),
        owner_region: Set(match &actor.scope {
            super::Scope::Region { code, .. } => Some(code.clone()),
            _ => None,
        }),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        ServiceError::from_unique(e, format!("a questionnaire with key {key} already exists"))
    })?;
    let draft = questionnaire_version::ActiveModel {
        questionnaire_id: Set(q.id),
        version: Set(1),
        status: Set(DRAFT.into()),
        questions: Set(to_json(&new.questions)?),
        created_at: Set(now),
        published_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "questionnaire.create",
            entity: "questionnaire",
            entity_id: q.id.to_string(),
            region_path: actor.region_prefix().map(str::to_owned),
            details: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(WithVersions {
        questionnaire: q,
        versions: vec![draft],
    })
}

/// The questionnaire `actor` is about to change: 404 when it does not exist, 403
/// unless the key owns it (a bureau the questionnaires it created; an admin every one,
/// the built-ins included).
async fn owned<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> Result<questionnaire::Model, ServiceError> {
    let q = find(db, id).await?;
    if sees_drafts(actor, &q) {
        Ok(q)
    } else if q.builtin {
        Err(ServiceError::forbidden(
            "the built-in questionnaires are changed by admin keys only",
        ))
    } else {
        Err(ServiceError::forbidden(
            "only the bureau that created this questionnaire (or an admin) changes it",
        ))
    }
}

/// Drafts the next version; only one draft may exist at a time.
pub async fn create_version(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    questions: Vec<Question>,
) -> Result<questionnaire_version::Model, ServiceError> {
    if !actor.is(WRITERS) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may change questionnaires",
        ));
    }
    owned(db, actor, id).await?;
    validate_definition(&questions).map_err(invalid_questions)?;
    let txn = crate::db::begin_write(db).await?;
    let versions = versions_of(&txn, id).await?;
    if let Some(draft) = versions.iter().find(|v| v.status == DRAFT) {
        return Err(ServiceError::Conflict {
            code: "draft_exists",
            message: format!(
                "version {} is still a draft: edit or publish it first",
                draft.version
            ),
        });
    }
    let next = versions.last().map_or(1, |v| v.version + 1);
    let model = questionnaire_version::ActiveModel {
        questionnaire_id: Set(id),
        version: Set(next),
        status: Set(DRAFT.into()),
        questions: Set(to_json(&questions)?),
        created_at: Set(Utc::now()),
        published_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| ServiceError::from_unique(e, "another version was created at the same time"))?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "questionnaire.version.create",
            entity: "questionnaire",
            entity_id: id.to_string(),
            region_path: actor.region_prefix().map(str::to_owned),
            details: Some(serde_json::json!({ "version": next })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

fn published_conflict(number: i32) -> ServiceError {
    ServiceError::Conflict {
        code: "version_published",
        message: format!("version {number} is published and cannot change; draft a new version"),
    }
}

/// Changes columns of a draft version, in one transaction with its audit entry. The
/// update is conditional on the version still being a draft, so a concurrent publish
/// makes it match nothing: a published version is a 409.
async fn change_draft(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    number: i32,
    action: &str,
    changes: Vec<(questionnaire_version::Column, sea_orm::Value)>,
) -> Result<questionnaire_version::Model, ServiceError> {
    let txn = crate::db::begin_write(db).await?;
    let current = version(&txn, id, number).await?;
    let mut update = questionnaire_version::Entity::update_many();
    for (column, value) in changes {
        update = update.col_expr(column, sea_orm::sea_query::Expr::value(value));
    }
    let result = update
        .filter(questionnaire_version::Column::Id.eq(current.id))
        .filter(questionnaire_version::Column::Status.eq(DRAFT))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(published_conflict(number));
    }
    audit::record(
        &txn,
        actor,
        audit::Change {
            action,
            entity: "questionnaire",
            entity_id: id.to_string(),
            region_path: actor.region_prefix().map(str::to_owned),
            details: Some(serde_json::json!({ "version": number })),
        },
    )
    .await?;
    let changed = version(&txn, id, number).await?;
    txn.commit().await?;
    Ok(changed)
}

/// Replaces the questions of a draft.
pub async fn update_version(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    number: i32,
    questions: Vec<Question>,
) -> Result<questionnaire_version::Model, ServiceError> {
    if !actor.is(WRITERS) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may change questionnaires",
        ));
    }
    owned(db, actor, id).await?;
    validate_definition(&questions).map_err(invalid_questions)?;
    let questions = to_json(&questions)?;
    change_draft(
        db,
        actor,
        id,
        number,
        "questionnaire.version.update",
        vec![(questionnaire_version::Column::Questions, questions.into())],
    )
    .await
}

/// Publishes a draft; publishing a published version is a 409.
pub async fn publish(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    number: i32,
) -> Result<questionnaire_version::Model, ServiceError> {
    if !actor.is(WRITERS) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may publish questionnaires",
        ));
    }
    owned(db, actor, id).await?;
    change_draft(
        db,
        actor,
        id,
        number,
        "questionnaire.version.publish",
        vec![
            (questionnaire_version::Column::Status, PUBLISHED.into()),
            (
                questionnaire_version::Column::PublishedAt,
                Utc::now().into(),
            ),
        ],
    )
    .await
}
