use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agency_id: i64,
    pub case_number: String,
    pub kind: String,
    pub procedure: String,
    pub enterprise_id: Option<i64>,
    pub officer_ids: Json,
    pub decision_date: Date,
    pub hearing_held: bool,
    pub complaint_sourced: bool,
    pub officer_complained: bool,
    pub decision_overturned: bool,
    /// 一案一码: the public, unguessable case code.
    #[sea_orm(unique)]
    pub case_code: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
