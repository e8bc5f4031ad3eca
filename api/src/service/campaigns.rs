//! 调查批次: campaigns bind a published questionnaire version to a period, a scope
//! (region subtree, optionally a list of agencies) and a mode, and move
//! draft → open → closed.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::{
    Actor, Scope, ServiceError, agencies, audit, error::Validator, questionnaires, regions,
};
use crate::domain::Role;
use crate::store::{agency, campaign};

/// Campaign states.
pub const DRAFT: &str = "draft";
pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";

/// A campaign to create.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub questionnaire_id: i64,
    pub version: i32,
    pub region_code: String,
    pub agency_ids: Option<Vec<i64>>,
    /// `invitation` or `open`.
    pub mode: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub too_fast_secs: Option<i32>,
    /// Most answers per agency (open campaigns): (agency id, quota).
    pub quotas: Vec<(i64, i32)>,
}

/// Whether a campaign takes answers now, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Accepting,
    NotYetOpen,
    Closed,
}

/// What the campaign's state and times say about answering at `now`.
pub fn availability(c: &campaign::Model, now: DateTime<Utc>) -> Availability {
    match c.status.as_str() {
        OPEN if now < c.opens_at => Availability::NotYetOpen,
        OPEN if now >= c.closes_at => Availability::Closed,
        OPEN => Availability::Accepting,
        DRAFT => Availability::NotYetOpen,
        _ => Availability::Closed,
    }
}

/// The error an answer to an unavailable campaign gets.
pub fn unavailable(a: Availability) -> ServiceError {
    match a {
        Availability::NotYetOpen => ServiceError::Conflict {
            code: "campaign_not_open",
            message: "this survey is not open yet".into(),
        },
        _ => ServiceError::Conflict {
            code: "campaign_closed",
            message: "this survey has closed".into(),
        },
    }
}

/// The agency ids a campaign lists, if it narrows its scope that way.
pub fn agency_list(c: &campaign::Model) -> Option<Vec<i64>> {
    c.agency_ids
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Whether the campaign covers an agency at `agency_region_path`.
pub async fn covers<C: ConnectionTrait>(
    db: &C,
    c: &campaign::Model,
    agency: &agency::Model,
) -> Result<bool, ServiceError> {
    if let Some(list) = agency_list(c) {
        return Ok(list.contains(&agency.id));
    }
    let campaign_path = regions::path_of(db, "region_code", &c.region_code).await?;
    let agency_path = regions::path_of(db, "region_code", &agency.region_code).await?;
    Ok(agency_path.starts_with(&campaign_path))
}

async fn region_path(
    db: &impl ConnectionTrait,
    c: &campaign::Model,
) -> Result<String, ServiceError> {
    regions::path_of(db, "region_code", &c.region_code).await
}

/// Whether `actor` may see the campaign: admins, channel and evaluator keys all;
/// bureaus those in their subtree or covering their region; agencies those covering
/// their agency.
async fn visible<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    c: &campaign::Model,
) -> Result<bool, ServiceError> {
    let path = region_path(db, c).await?;
    Ok(match &actor.scope {
        Scope::Everything => true,
        Scope::Region { path: own, .. } => path.starts_with(own.as_str()) || own.starts_with(&path),
        Scope::Agency { id, .. } => match agency::Entity::find_by_id(*id).one(db).await? {
            Some(a) => covers(db, c, &a).await?,
            None => false,
        },
    })
}

pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<campaign::Model, ServiceError> {
    no_channel(actor)?;
    let c = campaign::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound { entity: "campaign" })?;
    if visible(db, actor, &c).await? {
        Ok(c)
    } else {
        Err(ServiceError::NotFound { entity: "campaign" })
    }
}

/// Channel keys speak for citizens and never read campaigns (a citizen reaches a
/// survey through its public link).
fn no_channel(actor: &Actor) -> Result<(), ServiceError> {
    if actor.role == Role::Channel {
        Err(ServiceError::forbidden(
            "channel keys do not read campaigns",
        ))
    } else {
        Ok(())
    }
}

/// A campaign the caller is about to change: 404 when it does not exist, 403 when it
/// lies outside the key's region scope (writes answer 403, reads 404). Returns the
/// campaign and its region path.
pub async fn get_for_write(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(campaign::Model, String), ServiceError> {
    let c = campaign::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound { entity: "campaign" })?;
    let path = region_path(db, &c).await?;
    if !actor.covers_path(&path) {
        return Err(ServiceError::forbidden(
            "the campaign lies outside the key's scope",
        ));
    }
    Ok((c, path))
}

pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Vec<campaign::Model>, ServiceError> {
    no_channel(actor)?;
    let all = campaign::Entity::find()
        .order_by_desc(campaign::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for c in all {
        if visible(db, actor, &c).await? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Only the owning bureau (region in its subtree) or an admin may change a campaign.
async fn may_write<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    region_code: &str,
) -> Result<bool, ServiceError> {
    Ok(match actor.role {
        Role::Admin => true,
        Role::Bureau => actor.covers_path(&regions::path_of(db, "region_code", region_code).await?),
        _ => false,
    })
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewCampaign,
) -> Result<campaign::Model, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys may create campaigns",
        ));
    }
    let mut v = Validator::new();
    let name = v.text("name", &new.name, 2, 200);
    if !matches!(new.mode.as_str(), "invitation" | "open") {
        v.add("mode", "must be invitation or open");
    }
    if new.period_end < new.period_start {
        v.add("period_end", "must not be before period_start");
    }
    if new.closes_at <= new.opens_at {
        v.add("closes_at", "must be after opens_at");
    }
    if let Some(secs) = new.too_fast_secs
        && !(0..=3600).contains(&secs)
    {
        v.add("too_fast_secs", "must be 0–3600");
    }
    let version = match questionnaires::version(db, new.questionnaire_id, new.version).await {
        Ok(version) if version.status == questionnaires::PUBLISHED => Some(version),
        Ok(_) => {
            v.add("version", "only a published version can be surveyed");
            None
        }
        Err(ServiceError::NotFound { .. }) => {
            v.add(
                "version",
                format!(
                    "questionnaire {} has no version {}",
                    new.questionnaire_id, new.version
                ),
            );
            None
        }
        Err(e) => return Err(e),
    };
    let region = regions::find(db, &new.region_code).await?;
    if region.is_none() {
        v.add(
            "region_code",
            format!("region {} does not exist", new.region_code),
        );
    }
    if let (Some(ids), Some(region)) = (&new.agency_ids, &region) {
        if ids.is_empty() {
            v.add("agency_ids", "list at least one agency or leave it out");
        }
        for id in ids {
            match agencies::region_path_of(db, *id).await? {
                Some(path) if path.starts_with(&region.path) => {}
                Some(_) => v.add(
                    "agency_ids",
                    format!("agency {id} lies outside region {}", region.code),
                ),
                None => v.add("agency_ids", format!("agency {id} does not exist")),
            }
        }
    }
    if let Some(region) = &region {
        let mut seen = std::collections::HashSet::new();
        for (agency_id, quota) in &new.quotas {
            if *quota < 1 {
                v.add(
                    "quotas",
                    format!("the quota of agency {agency_id} must be at least 1"),
                );
            }
            if !seen.insert(*agency_id) {
                v.add("quotas", format!("agency {agency_id} has two quotas"));
            }
            let listed = new
                .agency_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(agency_id));
            match agencies::region_path_of(db, *agency_id).await? {
                Some(path) if path.starts_with(&region.path) && listed => {}
                _ => v.add(
                    "quotas",
                    format!("agency {agency_id} is not covered by the campaign"),
                ),
            }
        }
    }
    v.finish()?;
    let (Some(version), Some(region)) = (version, region) else {
        return Err(ServiceError::invalid("version", "missing"));
    };
    if !may_write(db, actor, &region.code).await? {
        return Err(ServiceError::forbidden(
            "the region lies outside the key's scope",
        ));
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model = campaign::ActiveModel {
        name: Set(name),
        questionnaire_version_id: Set(version.id),
        region_code: Set(region.code),
        agency_ids: Set(new.agency_ids.map(|ids| serde_json::json!(ids))),
        mode: Set(new.mode),
        status: Set(DRAFT.into()),
        period_start: Set(new.period_start),
        period_end: Set(new.period_end),
        opens_at: Set(new.opens_at),
        closes_at: Set(new.closes_at),
        quotas: Set((!new.quotas.is_empty()).then(|| {
            serde_json::Value::Object(
                new.quotas
                    .iter()
                    .map(|(a, q)| (a.to_string(), serde_json::json!(q)))
                    .collect(),
            )
        })),
        too_fast_secs: Set(new.too_fast_secs.unwrap_or(20)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for (agency_id, quota) in &new.quotas {
        crate::store::campaign_quota::ActiveModel {
            campaign_id: Set(model.id),
            agency_id: Set(*agency_id),
            quota: Set(*quota),
            used: Set(0),
        }
        .insert(&txn)
        .await?;
    }
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "campaign.create",
            entity: "campaign",
            entity_id: model.id.to_string(),
            region_path: Some(region.path),
            details: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Moves a campaign draft → open or open → closed; any other move is a 409.
pub async fn transition(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    to: &str,
) -> Result<campaign::Model, ServiceError> {
    let from = match to {
        OPEN => DRAFT,
        CLOSED => OPEN,
        _ => return Err(ServiceError::invalid("status", "must be open or closed")),
    };
    let txn = crate::db::begin_write(db).await?;
    let current = campaign::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound { entity: "campaign" })?;
    if !may_write(&txn, actor, &current.region_code).await? {
        return Err(ServiceError::forbidden(
            "the campaign lies outside the key's scope",
        ));
    }
    let updated = campaign::Entity::update_many()
        .col_expr(
            campaign::Column::Status,
            sea_orm::sea_query::Expr::value(to),
        )
        .col_expr(
            campaign::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(campaign::Column::Id.eq(id))
        .filter(campaign::Column::Status.eq(from))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(ServiceError::Conflict {
            code: "invalid_transition",
            message: format!("a {} campaign cannot become {to}", current.status),
        });
    }
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "campaign.transition",
            entity: "campaign",
            entity_id: id.to_string(),
            region_path: Some(region_path(&txn, &current).await?),
            details: Some(serde_json::json!({ "from": from, "to": to })),
        },
    )
    .await?;
    let model = campaign::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound { entity: "campaign" })?;
    txn.commit().await?;
    Ok(model)
}
