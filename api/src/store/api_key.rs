use sea_orm::entity::prelude::*;

use crate::domain::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub region_code: Option<String>,
    pub agency_id: Option<i64>,
    /// SHA-256 of the key, hex; the key itself is never stored.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// The first characters of the key, to recognise it in listings.
    pub key_prefix: String,
    /// The channel a `channel` key speaks for (telegram, web, hotline_12345).
    pub channel: Option<String>,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
