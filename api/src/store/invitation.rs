use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub case_id: Option<i64>,
    pub agency_id: i64,
    /// SHA-256 of the one-time token; the token itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The channel the invitation was sent through: link, qr, bot, phone or sms (the
    /// channel an answer came through is the response's).
    pub channel: String,
    /// `pending`, or `expired` once the expiry task found it unanswered past its time.
    /// An invitation is answered when a response names it (`responses.invitation_id`,
    /// unique), whatever this says: answering writes only the response, not this row.
    pub status: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::campaign::Entity",
        from = "Column::CampaignId",
        to = "super::campaign::Column::Id"
    )]
    Campaign,
}

impl Related<super::campaign::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaign.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
