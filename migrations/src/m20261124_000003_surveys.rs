//! Surveys: questionnaires with immutable versions, campaigns, enforcement cases with
//! their public case codes, one-time invitations and responses.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Questionnaires::Table)
                    .col(big_pk_auto(Questionnaires::Id))
                    .col(string_len_uniq(Questionnaires::Key, 64))
                    .col(string_len(Questionnaires::Title, 200))
                    .col(string_len(Questionnaires::Audience, 16))
                    .col(boolean(Questionnaires::Builtin).default(false))
                    .col(timestamp_with_time_zone(Questionnaires::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QuestionnaireVersions::Table)
                    .col(big_pk_auto(QuestionnaireVersions::Id))
                    .col(big_integer(QuestionnaireVersions::QuestionnaireId))
                    .col(integer(QuestionnaireVersions::Version))
                    .col(string_len(QuestionnaireVersions::Status, 16))
                    .col(json(QuestionnaireVersions::Questions))
                    .col(timestamp_with_time_zone(QuestionnaireVersions::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        QuestionnaireVersions::PublishedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                QuestionnaireVersions::Table,
                                QuestionnaireVersions::QuestionnaireId,
                            )
                            .to(Questionnaires::Table, Questionnaires::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_questionnaire_versions")
                    .table(QuestionnaireVersions::Table)
                    .col(QuestionnaireVersions::QuestionnaireId)
                    .col(QuestionnaireVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .col(big_pk_auto(Campaigns::Id))
                    .col(string_len(Campaigns::Name, 200))
                    .col(big_integer(Campaigns::QuestionnaireVersionId))
                    .col(string_len(Campaigns::RegionCode, 12))
                    .col(json_null(Campaigns::AgencyIds))
                    .col(string_len(Campaigns::Mode, 16))
                    .col(string_len(Campaigns::Status, 16))
                    .col(date(Campaigns::PeriodStart))
                    .col(date(Campaigns::PeriodEnd))
                    .col(timestamp_with_time_zone(Campaigns::OpensAt))
                    .col(timestamp_with_time_zone(Campaigns::ClosesAt))
                    .col(json_null(Campaigns::Quotas))
                    .col(integer(Campaigns::TooFastSecs).default(20))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Campaigns::Table, Campaigns::QuestionnaireVersionId)
                            .to(QuestionnaireVersions::Table, QuestionnaireVersions::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Campaigns::Table, Campaigns::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(big_pk_auto(Cases::Id))
                    .col(big_integer(Cases::AgencyId))
                    .col(string_len(Cases::CaseNumber, 64))
                    .col(string_len(Cases::Kind, 16))
                    .col(string_len(Cases::Procedure, 16))
                    .col(big_integer_null(Cases::EnterpriseId))
                    .col(json(Cases::OfficerIds))
                    .col(date(Cases::DecisionDate))
                    .col(boolean(Cases::HearingHeld).default(false))
                    .col(boolean(Cases::ComplaintSourced).default(false))
                    .col(boolean(Cases::OfficerComplained).default(false))
                    .col(boolean(Cases::DecisionOverturned).default(false))
                    .col(string_len_uniq(Cases::CaseCode, 32))
                    .col(timestamp_with_time_zone(Cases::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cases::Table, Cases::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Cases::Table, Cases::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_cases_agency_number")
                    .table(Cases::Table)
                    .col(Cases::AgencyId)
                    .col(Cases::CaseNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(big_pk_auto(Invitations::Id))
                    .col(big_integer(Invitations::CampaignId))
                    .col(big_integer_null(Invitations::CaseId))
                    .col(big_integer(Invitations::AgencyId))
                    .col(string_len_uniq(Invitations::TokenHash, 64))
                    .col(string_len(Invitations::Channel, 16))
                    .col(string_len(Invitations::Status, 16))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .col(timestamp_with_time_zone_null(Invitations::AnsweredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::CaseId)
                            .to(Cases::Table, Cases::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_invitations_campaign_case")
                    .table(Invitations::Table)
                    .col(Invitations::CampaignId)
                    .col(Invitations::CaseId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Responses::Table)
                    .col(big_pk_auto(Responses::Id))
                    .col(big_integer(Responses::CampaignId))
                    .col(big_integer_null(Responses::InvitationId).unique_key())
                    .col(big_integer(Responses::QuestionnaireVersionId))
                    .col(big_integer(Responses::AgencyId))
                    .col(string_len(Responses::Channel, 16))
                    .col(json(Responses::Answers))
                    .col(double(Responses::Weight).default(1.0))
                    .col(integer_null(Responses::DurationSecs))
                    .col(boolean(Responses::StraightLining).default(false))
                    .col(boolean(Responses::TooFast).default(false))
                    .col(timestamp_with_time_zone(Responses::SubmittedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Responses::Table, Responses::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Responses::Table, Responses::InvitationId)
                            .to(Invitations::Table, Invitations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Responses::Table, Responses::QuestionnaireVersionId)
                            .to(QuestionnaireVersions::Table, QuestionnaireVersions::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Responses::Table, Responses::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_campaign")
                    .table(Responses::Table)
                    .col(Responses::CampaignId)
                    .col(Responses::AgencyId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReturnVisitRules::Table)
                    .col(string_len(ReturnVisitRules::RegionCode, 12).primary_key())
                    .col(json(ReturnVisitRules::Rules))
                    .col(timestamp_with_time_zone(ReturnVisitRules::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReturnVisitRules::Table, ReturnVisitRules::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ReturnVisitRules::Table.into_iden(),
            Responses::Table.into_iden(),
            Invitations::Table.into_iden(),
            Cases::Table.into_iden(),
            Campaigns::Table.into_iden(),
            QuestionnaireVersions::Table.into_iden(),
            Questionnaires::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Regions {
    Table,
    Code,
}

#[derive(DeriveIden)]
enum Agencies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Enterprises {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Questionnaires {
    Table,
    Id,
    Key,
    Title,
    Audience,
    Builtin,
    CreatedAt,
}

#[derive(DeriveIden)]
enum QuestionnaireVersions {
    Table,
    Id,
    QuestionnaireId,
    Version,
    Status,
    Questions,
    CreatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Name,
    QuestionnaireVersionId,
    RegionCode,
    AgencyIds,
    Mode,
    Status,
    PeriodStart,
    PeriodEnd,
    OpensAt,
    ClosesAt,
    Quotas,
    TooFastSecs,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    AgencyId,
    CaseNumber,
    Kind,
    Procedure,
    EnterpriseId,
    OfficerIds,
    DecisionDate,
    HearingHeld,
    ComplaintSourced,
    OfficerComplained,
    DecisionOverturned,
    CaseCode,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    CampaignId,
    CaseId,
    AgencyId,
    TokenHash,
    Channel,
    Status,
    ExpiresAt,
    CreatedAt,
    AnsweredAt,
}

#[derive(DeriveIden)]
enum Responses {
    Table,
    Id,
    CampaignId,
    InvitationId,
    QuestionnaireVersionId,
    AgencyId,
    Channel,
    Answers,
    Weight,
    DurationSecs,
    StraightLining,
    TooFast,
    SubmittedAt,
}

#[derive(DeriveIden)]
enum ReturnVisitRules {
    Table,
    RegionCode,
    Rules,
    UpdatedAt,
}
