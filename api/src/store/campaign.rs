use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub questionnaire_version_id: i64,
    /// The region subtree the campaign covers (and whose bureau owns it).
    pub region_code: String,
    /// Optional list of agency ids narrowing the scope.
    pub agency_ids: Option<Json>,
    /// `invitation` or `open`.
    pub mode: String,
    /// `draft`, `open` or `closed`.
    pub status: String,
    pub period_start: Date,
    pub period_end: Date,
    pub opens_at: DateTimeUtc,
    pub closes_at: DateTimeUtc,
    /// Optional `{agency_id: target}` quotas.
    pub quotas: Option<Json>,
    /// Completions faster than this are flagged `too_fast`.
    pub too_fast_secs: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
