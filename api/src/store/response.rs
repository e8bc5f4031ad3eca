use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    #[sea_orm(unique)]
    pub invitation_id: Option<i64>,
    pub questionnaire_version_id: i64,
    pub agency_id: i64,
    pub channel: String,
    pub answers: Json,
    pub weight: f64,
    pub duration_secs: Option<i32>,
    pub straight_lining: bool,
    pub too_fast: bool,
    pub submitted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
