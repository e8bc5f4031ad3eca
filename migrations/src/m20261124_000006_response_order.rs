//! Responses of a campaign in id order: the export pages through them with
//! `campaign_id = ? AND id > ? ORDER BY id LIMIT n`. With only the
//! (campaign, agency) index every page sorted the rest of the campaign, so a
//! 1,000,000-row export slowed as it went (quadratic in the campaign's size).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_responses_campaign_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Responses::Table)
                    .col(Responses::CampaignId)
                    .col(Responses::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Responses::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Responses {
    Table,
    Id,
    CampaignId,
}
