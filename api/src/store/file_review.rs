use sea_orm::entity::prelude::*;

/// 案卷评查: one reviewed case file.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "file_reviews")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agency_id: i64,
    pub case_id: Option<i64>,
    pub case_number: String,
    pub year: i32,
    pub score: f64,
    /// excellent / pass / fail.
    pub grade: String,
    pub reviewer: String,
    pub items: Json,
    pub reviewed_on: Date,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
