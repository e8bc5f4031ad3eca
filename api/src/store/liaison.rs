use sea_orm::entity::prelude::*;

/// 联络员: a channel user bound to a contact point until unbound.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "liaisons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub contact_point_id: i64,
    pub channel_user_id: i64,
    pub bound_at: DateTimeUtc,
    pub unbound_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
