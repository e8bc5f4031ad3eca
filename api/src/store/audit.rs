use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: DateTimeUtc,
    pub actor_key_id: Option<i64>,
    /// `key:<id>` for API keys, `cli` for the command line, `system` for the service.
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub request_id: Option<String>,
    /// Region path of the affected entity, so bureaus see the entries of their subtree.
    pub region_path: Option<String>,
    /// Names of changed fields and similar metadata; never personal data.
    pub details: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
