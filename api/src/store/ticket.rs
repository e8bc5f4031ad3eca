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
    /// The channel user who filed it (for their own list and notifications).
    pub channel_user_id: Option<i64>,
    /// The contact point, when a liaison filed it.
    pub contact_point_id: Option<i64>,
    /// The sending system's own id (12345 work-order number); unique per channel.
    pub external_id: Option<String>,
    /// Region code of the bureau supervising it after escalation.
    pub escalated_to: Option<String>,
    /// Working days given for the reply (the region's setting when filed).
    pub reply_days: i16,
    /// Return-visit deadline, set with the reply.
    pub visit_due: Option<DateTimeUtc>,
    /// substantiated / partly / unfounded (set with the reply or by an appeal).
    pub finding: Option<String>,
    pub replied_at: Option<DateTimeUtc>,
    pub rated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
