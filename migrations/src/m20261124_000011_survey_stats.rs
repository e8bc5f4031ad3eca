//! Sufficient statistics of survey scores per (campaign, agency, month, dimension,
//! flagged), kept in the transaction of every stored response, so scores never
//! rescan responses.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SurveyStats::Table)
                    .col(big_pk_auto(SurveyStats::Id))
                    .col(big_integer(SurveyStats::CampaignId))
                    .col(big_integer(SurveyStats::AgencyId))
                    .col(string_len(SurveyStats::Month, 7))
                    .col(string_len(SurveyStats::Dimension, 64))
                    .col(boolean(SurveyStats::Flagged))
                    .col(big_integer(SurveyStats::N))
                    .col(double(SurveyStats::Sw))
                    .col(double(SurveyStats::Sw2))
                    .col(double(SurveyStats::Swy))
                    .col(double(SurveyStats::Sw2y))
                    .col(double(SurveyStats::Sw2y2))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_survey_stats_key")
                    .table(SurveyStats::Table)
                    .col(SurveyStats::CampaignId)
                    .col(SurveyStats::AgencyId)
                    .col(SurveyStats::Month)
                    .col(SurveyStats::Dimension)
                    .col(SurveyStats::Flagged)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SurveyStats::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SurveyStats {
    Table,
    Id,
    CampaignId,
    AgencyId,
    /// `YYYY-MM` of the submission in Asia/Shanghai.
    Month,
    /// A dimension, or `overall_index` (every scored item).
    Dimension,
    /// Responses flagged straight-lining or too fast.
    Flagged,
    /// Respondents with at least one answered item of the dimension.
    N,
    /// Σw, Σw², Σw·y, Σw²·y, Σw²·y² with y the respondent's 0–100 score.
    Sw,
    Sw2,
    Swy,
    Sw2y,
    Sw2y2,
}
