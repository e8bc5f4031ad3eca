use sea_orm::entity::prelude::*;

/// 培训学时: an officer's training in a year.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "training_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub officer_id: i64,
    pub year: i32,
    pub total_hours: f64,
    /// 业务知识和技能.
    pub business_hours: f64,
    /// 包容审慎监管、裁量基准、轻微免罚清单.
    pub discretion_hours: f64,
    pub exam_passed: Option<bool>,
    pub exam_score: Option<f64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
