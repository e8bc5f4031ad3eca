//! Internal assessment data (内部考核): case-file reviews (案卷评查) with their grade
//! thresholds and reproducible samples, the three systems (三项制度) per agency and
//! period, and officers' training (培训学时) per year.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FileReviews::Table)
                    .col(big_pk_auto(FileReviews::Id))
                    .col(big_integer(FileReviews::AgencyId))
                    .col(big_integer_null(FileReviews::CaseId))
                    .col(string_len(FileReviews::CaseNumber, 100))
                    .col(integer(FileReviews::Year))
                    .col(double(FileReviews::Score))
                    .col(string_len(FileReviews::Grade, 16))
                    .col(string_len(FileReviews::Reviewer, 100))
                    .col(json(FileReviews::Items))
                    .col(date(FileReviews::ReviewedOn))
                    .col(timestamp_with_time_zone(FileReviews::CreatedAt))
                    .col(timestamp_with_time_zone(FileReviews::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FileReviews::Table, FileReviews::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(FileReviews::Table, FileReviews::CaseId)
                            .to(Cases::Table, Cases::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_file_reviews_case")
                    .table(FileReviews::Table)
                    .col(FileReviews::AgencyId)
                    .col(FileReviews::CaseNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReviewThresholds::Table)
                    .col(string_len(ReviewThresholds::RegionCode, 12).primary_key())
                    .col(double(ReviewThresholds::Excellent))
                    .col(double(ReviewThresholds::Pass))
                    .col(timestamp_with_time_zone(ReviewThresholds::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewThresholds::Table, ReviewThresholds::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReviewSamples::Table)
                    .col(big_pk_auto(ReviewSamples::Id))
                    .col(big_integer(ReviewSamples::AgencyId))
                    .col(integer(ReviewSamples::Year))
                    .col(big_integer(ReviewSamples::Population))
                    .col(big_integer(ReviewSamples::Required))
                    .col(string_len(ReviewSamples::Seed, 24))
                    .col(json(ReviewSamples::CaseIds))
                    .col(string_len(ReviewSamples::DrawnBy, 120))
                    .col(timestamp_with_time_zone(ReviewSamples::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewSamples::Table, ReviewSamples::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ThreeSystems::Table)
                    .col(big_pk_auto(ThreeSystems::Id))
                    .col(big_integer(ThreeSystems::AgencyId))
                    .col(string_len(ThreeSystems::Period, 16))
                    .col(double(ThreeSystems::Publicity))
                    .col(double(ThreeSystems::Recording))
                    .col(double(ThreeSystems::LegalReview))
                    .col(text_null(ThreeSystems::Notes))
                    .col(timestamp_with_time_zone(ThreeSystems::CreatedAt))
                    .col(timestamp_with_time_zone(ThreeSystems::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ThreeSystems::Table, ThreeSystems::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_three_systems_period")
                    .table(ThreeSystems::Table)
                    .col(ThreeSystems::AgencyId)
                    .col(ThreeSystems::Period)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Training::Table)
                    .col(big_pk_auto(Training::Id))
                    .col(big_integer(Training::OfficerId))
                    .col(integer(Training::Year))
                    .col(double(Training::TotalHours))
                    .col(double(Training::BusinessHours))
                    .col(double(Training::DiscretionHours))
                    .col(boolean_null(Training::ExamPassed))
                    .col(double_null(Training::ExamScore))
                    .col(timestamp_with_time_zone(Training::CreatedAt))
                    .col(timestamp_with_time_zone(Training::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Training::Table, Training::OfficerId)
                            .to(Officers::Table, Officers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_training_officer_year")
                    .table(Training::Table)
                    .col(Training::OfficerId)
                    .col(Training::Year)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Training::Table.into_iden(),
            ThreeSystems::Table.into_iden(),
            ReviewSamples::Table.into_iden(),
            ReviewThresholds::Table.into_iden(),
            FileReviews::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Agencies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Officers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Regions {
    Table,
    Code,
}

#[derive(DeriveIden)]
enum FileReviews {
    Table,
    Id,
    AgencyId,
    /// The reviewed case when it is one of the ingested cases.
    CaseId,
    CaseNumber,
    /// The assessment year the review counts for.
    Year,
    Score,
    /// excellent 优秀 / pass 合格 / fail 不合格, by the thresholds in force when stored.
    Grade,
    Reviewer,
    /// Item notes: `[{"item": "…", "deduction": 2, "note": "…"}]`.
    Items,
    ReviewedOn,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReviewThresholds {
    Table,
    RegionCode,
    Excellent,
    Pass,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReviewSamples {
    Table,
    Id,
    AgencyId,
    Year,
    Population,
    Required,
    /// The u64 seed in decimal (published: 双随机、一公开).
    Seed,
    CaseIds,
    DrawnBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ThreeSystems {
    Table,
    Id,
    AgencyId,
    /// `2026`, `2026-Q3` or `2026-07`.
    Period,
    Publicity,
    Recording,
    LegalReview,
    Notes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Training {
    #[sea_orm(iden = "training_records")]
    Table,
    Id,
    OfficerId,
    Year,
    TotalHours,
    BusinessHours,
    DiscretionHours,
    ExamPassed,
    ExamScore,
    CreatedAt,
    UpdatedAt,
}
