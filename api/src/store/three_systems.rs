use sea_orm::entity::prelude::*;

/// 三项制度: an agency's scores for a period.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "three_systems")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agency_id: i64,
    pub period: String,
    /// 行政执法公示.
    pub publicity: f64,
    /// 执法全过程记录.
    pub recording: f64,
    /// 重大执法决定法制审核.
    pub legal_review: f64,
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
