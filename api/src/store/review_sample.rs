use sea_orm::entity::prelude::*;

/// A drawn case-file review sample: the seed and the cases it selected.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_samples")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agency_id: i64,
    pub year: i32,
    pub population: i64,
    pub required: i64,
    pub seed: String,
    pub case_ids: Json,
    pub drawn_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
