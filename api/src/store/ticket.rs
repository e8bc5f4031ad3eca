use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// People-readable number, e.g. `TS2026-000123`.
    #[sea_orm(unique)]
    pub number: String,
    /// SHA-256 of the lookup secret given to the reporter.
    pub secret_hash: String,
    pub kind: String,
    pub category: String,
    pub agency_id: Option<i64>,
    pub region_code: String,
    pub description: String,
    /// Channel file references.
    pub attachments: Json,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    pub channel: String,
    pub anonymous: bool,
    /// Encrypted; see `domain::contact`.
    pub reporter_name: Option<String>,
    /// Encrypted; see `domain::contact`.
    pub reporter_phone: Option<String>,
    pub state: String,
    /// 0 agency, 1 county bureau, 2 city bureau.
    pub level: i16,
    /// Bumped by every move; a move applies only to the revision it was decided on.
    pub revision: i32,
    pub ack_due: DateTimeUtc,
    pub reply_due: DateTimeUtc,
    pub rating: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
