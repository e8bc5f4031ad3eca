//! Roles of API keys.

use poem_openapi::Enum;
use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};
use serde::{Deserialize, Serialize};

/// What an API key may do; `bureau` keys are scoped to a region subtree and `agency`
/// keys to one agency.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Enum,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
pub enum Role {
    /// Operator of the installation: everything.
    Admin,
    /// 司法局: a region and everything below it.
    Bureau,
    /// 执法机关: its own agency.
    Agency,
    /// A channel adapter (bot, 12345 hotline, web).
    Channel,
    /// 第三方测评: imports survey results.
    Evaluator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Bureau => "bureau",
            Role::Agency => "agency",
            Role::Channel => "channel",
            Role::Evaluator => "evaluator",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        [
            Role::Admin,
            Role::Bureau,
            Role::Agency,
            Role::Channel,
            Role::Evaluator,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
    }
}
