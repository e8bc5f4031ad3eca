//! Per-agency quotas of open campaigns, with a counter updated in the answer's
//! transaction so concurrent answers cannot overshoot.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CampaignQuotas::Table)
                    .col(big_integer(CampaignQuotas::CampaignId))
                    .col(big_integer(CampaignQuotas::AgencyId))
                    .col(integer(CampaignQuotas::Quota))
                    .col(integer(CampaignQuotas::Used).default(0))
                    .primary_key(
                        Index::create()
                            .col(CampaignQuotas::CampaignId)
                            .col(CampaignQuotas::AgencyId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CampaignQuotas::Table, CampaignQuotas::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CampaignQuotas::Table, CampaignQuotas::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CampaignQuotas::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Agencies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CampaignQuotas {
    Table,
    CampaignId,
    AgencyId,
    Quota,
    Used,
}
