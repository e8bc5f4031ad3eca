//! 执法领域: the enforcement domain of an agency.

use poem_openapi::Enum;
use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};
use serde::{Deserialize, Serialize};

/// Enforcement domain (执法领域).
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
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
pub enum AgencyDomain {
    /// 市场监管
    MarketRegulation,
    /// 生态环境
    EcologyEnvironment,
    /// 城市管理
    UrbanManagement,
    /// 交通运输
    Transport,
    /// 应急管理
    EmergencyManagement,
    /// 卫生健康
    Health,
    /// 自然资源
    NaturalResources,
    /// 农业农村
    Agriculture,
    /// 文化旅游
    CultureTourism,
    /// 人力资源社会保障
    HumanResources,
    /// 其他
    Other,
}
