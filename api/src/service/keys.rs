//! API keys: random 256-bit secrets, stored only as SHA-256 hashes.

use chrono::Utc;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};

use super::{Actor, Scope, ServiceError, audit};
use crate::domain::{RegionCode, Role};
use crate::store::{agency, api_key, region};

const KEY_PREFIX: &str = "pj_";

/// A key as shown to its creator, once.
#[derive(Debug)]
pub struct IssuedKey {
    pub record: api_key::Model,
    /// The secret; never stored, never shown again.
    pub secret: String,
}

/// What a new key may reach.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub role: Role,
    pub region_code: Option<String>,
    pub agency_id: Option<i64>,
    /// The channel a `channel` key speaks for: its users, tickets and outbox.
    pub channel: Option<String>,
}

/// Channels a `channel` key may speak for.
pub const KEY_CHANNELS: [&str; 3] = ["telegram", "web", "hotline_12345"];

/// Result of checking a presented key.
#[derive(Debug)]
pub enum Authentication {
    Valid(Actor),
    Revoked,
    Unknown,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// Creates a key. Bureau keys need a region, agency keys an agency, other roles neither.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewKey,
) -> Result<IssuedKey, ServiceError> {
    if actor.role != Role::Admin {
        return Err(ServiceError::forbidden("only admins create keys"));
    }
    let mut v = super::error::Validator::new();
    let name = v.text("name", &new.name, 1, 100);
    match new.role {
        Role::Bureau if new.region_code.is_none() => v.add("region", "a bureau key needs --region"),
        Role::Agency if new.agency_id.is_none() => v.add("agency", "an agency key needs --agency"),
        Role::Bureau | Role::Agency => {}
        _ if new.region_code.is_some() || new.agency_id.is_some() => v.add(
            "role",
            "only bureau keys take a region and only agency keys an agency",
        ),
        _ => {}
    }
    match (&new.channel, new.role) {
        (None, Role::Channel) => v.add(
            "channel",
            format!(
                "a channel key needs --channel ({})",
                KEY_CHANNELS.join(", ")
            ),
        ),
        (Some(c), Role::Channel) if !KEY_CHANNELS.contains(&c.as_str()) => v.add(
            "channel",
            format!("must be one of {}", KEY_CHANNELS.join(", ")),
        ),
        (Some(_), role) if role != Role::Channel => {
            v.add("channel", "only channel keys speak for a channel")
        }
        _ => {}
    }
    if new.role == Role::Bureau && new.agency_id.is_some() {
        v.add("agency", "a bureau key is scoped by region, not agency");
    }
    if new.role == Role::Agency && new.region_code.is_some() {
        v.add("region", "an agency key is scoped by agency, not region");
    }
    if let Some(code) = &new.region_code
        && let Some(code) = v.parsed("region", RegionCode::parse(code))
        && region::Entity::find_by_id(code.as_str())
            .one(db)
            .await?
            .is_none()
    {
        v.add("region", format!("region {code} does not exist"));
    }
    if let Some(id) = new.agency_id
        && agency::Entity::find_by_id(id).one(db).await?.is_none()
    {
        v.add("agency", format!("agency {id} does not exist"));
    }
    v.finish()?;

    let secret = generate_secret();
    let txn = crate::db::begin_write(db).await?;
    let record = api_key::ActiveModel {
        name: Set(name),
        role: Set(new.role),
        region_code: Set(new.region_code),
        agency_id: Set(new.agency_id),
        channel: Set(new.channel),
        key_hash: Set(hash(&secret)),
        key_prefix: Set(secret[..KEY_PREFIX.len() + 8].to_owned()),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "key.create",
            entity: "api_key",
            entity_id: record.id.to_string(),
            region_path: None,
            details: Some(serde_json::json!({ "role": record.role.as_str() })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(IssuedKey { record, secret })
}

/// All keys, oldest first (hashes are never shown).
pub async fn list(db: &DatabaseConnection) -> Result<Vec<api_key::Model>, ServiceError> {
    Ok(api_key::Entity::find()
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// Revokes a key; revoking a revoked key is a conflict.
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<api_key::Model, ServiceError> {
    if actor.role != Role::Admin {
        return Err(ServiceError::forbidden("only admins revoke keys"));
    }
    let txn = crate::db::begin_write(db).await?;
    let key = api_key::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound { entity: "api key" })?;
    if key.revoked_at.is_some() {
        return Err(ServiceError::Conflict {
            code: "already_revoked",
            message: format!("key {id} is already revoked"),
        });
    }
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(Utc::now()));
    let key = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "key.revoke",
            entity: "api_key",
            entity_id: id.to_string(),
            region_path: None,
            details: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(key)
}

/// Looks a presented secret up by its hash and resolves its scope.
pub async fn authenticate(
    db: &DatabaseConnection,
    secret: &str,
) -> Result<Authentication, ServiceError> {
    let Some(key) = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash(secret.trim())))
        .one(db)
        .await?
    else {
        return Ok(Authentication::Unknown);
    };
    if key.revoked_at.is_some() {
        return Ok(Authentication::Revoked);
    }
    let scope = match key.role {
        Role::Bureau => {
            let code = key
                .region_code
                .ok_or_else(|| anyhow::anyhow!("bureau key {} has no region", key.id))?;
            let region = region::Entity::find_by_id(code.as_str())
                .one(db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("region of key {} is gone", key.id))?;
            Scope::Region {
                code,
                path: region.path,
            }
        }
        Role::Agency => {
            let id = key
                .agency_id
                .ok_or_else(|| anyhow::anyhow!("agency key {} has no agency", key.id))?;
            let agency = agency::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("agency of key {} is gone", key.id))?;
            let region = region::Entity::find_by_id(agency.region_code.as_str())
                .one(db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("region of agency {id} is gone"))?;
            Scope::Agency {
                id,
                region_path: region.path,
            }
        }
        Role::Admin | Role::Channel | Role::Evaluator => Scope::Everything,
    };
    Ok(Authentication::Valid(Actor {
        key_id: Some(key.id),
        role: key.role,
        scope,
        channel: key.channel,
        request_id: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hashed() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_PREFIX.len() + 64, "256 bits in hex");
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
    }
}
