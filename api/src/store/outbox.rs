use sea_orm::entity::prelude::*;

/// A notification waiting for its channel to deliver and acknowledge it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Increasing: the channel's cursor.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel: String,
    pub channel_user_id: i64,
    /// status_change, rating_request, escalation, survey_invitation.
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub payload: Json,
    pub created_at: DateTimeUtc,
    pub acked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
