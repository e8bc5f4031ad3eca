use sea_orm::entity::prelude::*;

/// Sufficient statistics of one (campaign, agency, month, dimension, flagged) cell.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_stats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub agency_id: i64,
    pub month: String,
    pub dimension: String,
    pub flagged: bool,
    pub n: i64,
    pub sw: f64,
    pub sw2: f64,
    pub swy: f64,
    pub sw2y: f64,
    pub sw2y2: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
