use sea_orm::entity::prelude::*;

/// A one-time code that makes its redeemer a liaison of a contact point.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "binding_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub contact_point_id: i64,
    /// SHA-256 of the code; the code itself is shown once.
    #[sea_orm(unique)]
    pub code_hash: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub redeemed_at: Option<DateTimeUtc>,
    pub redeemed_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
