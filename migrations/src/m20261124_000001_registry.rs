//! Registry (regions, agencies, officers, enterprises), API keys and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Regions::Table)
                    .col(string_len(Regions::Code, 12).primary_key())
                    .col(string_len(Regions::Name, 100))
                    .col(string_len(Regions::Level, 16))
                    .col(string_len_null(Regions::ParentCode, 12))
                    .col(string_len(Regions::Path, 255))
                    .col(timestamp_with_time_zone(Regions::CreatedAt))
                    .col(timestamp_with_time_zone(Regions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Regions::Table, Regions::ParentCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;
        index(manager, "idx_regions_path", Regions::Table, Regions::Path).await?;
        index(
            manager,
            "idx_regions_parent",
            Regions::Table,
            Regions::ParentCode,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Agencies::Table)
                    .col(big_pk_auto(Agencies::Id))
                    .col(string_len_uniq(Agencies::Code, 64))
                    .col(string_len(Agencies::Name, 200))
                    .col(string_len(Agencies::Domain, 32))
                    .col(string_len(Agencies::RegionCode, 12))
                    .col(boolean(Agencies::Active).default(true))
                    .col(timestamp_with_time_zone(Agencies::CreatedAt))
                    .col(timestamp_with_time_zone(Agencies::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Agencies::Table, Agencies::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_agencies_region",
            Agencies::Table,
            Agencies::RegionCode,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Officers::Table)
                    .col(big_pk_auto(Officers::Id))
                    .col(big_integer(Officers::AgencyId))
                    .col(string_len_uniq(Officers::BadgeNo, 32))
                    .col(string_len(Officers::Name, 100))
                    .col(boolean(Officers::Active).default(true))
                    .col(timestamp_with_time_zone(Officers::CreatedAt))
                    .col(timestamp_with_time_zone(Officers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Officers::Table, Officers::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_officers_agency",
            Officers::Table,
            Officers::AgencyId,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Enterprises::Table)
                    .col(big_pk_auto(Enterprises::Id))
                    .col(string_len_uniq(Enterprises::Uscc, 18))
                    .col(string_len(Enterprises::Name, 200))
                    .col(string_len(Enterprises::RegionCode, 12))
                    .col(timestamp_with_time_zone(Enterprises::CreatedAt))
                    .col(timestamp_with_time_zone(Enterprises::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Enterprises::Table, Enterprises::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_enterprises_region",
            Enterprises::Table,
            Enterprises::RegionCode,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(string_len(ApiKeys::Name, 100))
                    .col(string_len(ApiKeys::Role, 16))
                    .col(string_len_null(ApiKeys::RegionCode, 12))
                    .col(big_integer_null(ApiKeys::AgencyId))
                    .col(string_len_uniq(ApiKeys::KeyHash, 64))
                    .col(string_len(ApiKeys::KeyPrefix, 16))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::OccurredAt))
                    .col(big_integer_null(AuditLog::ActorKeyId))
                    .col(string_len(AuditLog::Actor, 64))
                    .col(string_len(AuditLog::Action, 64))
                    .col(string_len(AuditLog::Entity, 64))
                    .col(string_len(AuditLog::EntityId, 64))
                    .col(string_len_null(AuditLog::RequestId, 64))
                    .col(string_len_null(AuditLog::RegionPath, 255))
                    .col(json_null(AuditLog::Details))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_audit_occurred",
            AuditLog::Table,
            AuditLog::OccurredAt,
        )
        .await?;
        index(
            manager,
            "idx_audit_entity",
            AuditLog::Table,
            AuditLog::EntityId,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Enterprises::Table.into_iden(),
            Officers::Table.into_iden(),
            Agencies::Table.into_iden(),
            Regions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn index<T, C>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    column: C,
) -> Result<(), DbErr>
where
    T: IntoIden,
    C: IntoIden,
{
    manager
        .create_index(
            Index::create()
                .name(name)
                .table(table)
                .col(column)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden)]
enum Regions {
    Table,
    Code,
    Name,
    Level,
    ParentCode,
    Path,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Agencies {
    Table,
    Id,
    Code,
    Name,
    Domain,
    RegionCode,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Officers {
    Table,
    Id,
    AgencyId,
    BadgeNo,
    Name,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Enterprises {
    Table,
    Id,
    Uscc,
    Name,
    RegionCode,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Role,
    RegionCode,
    AgencyId,
    KeyHash,
    KeyPrefix,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OccurredAt,
    ActorKeyId,
    Actor,
    Action,
    Entity,
    EntityId,
    RequestId,
    RegionPath,
    Details,
}
