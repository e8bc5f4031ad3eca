//! Index models (考核评价指标体系): immutable, numbered versions of a model tree.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IndexModels::Table)
                    .col(big_pk_auto(IndexModels::Id))
                    .col(string_len(IndexModels::Key, 48))
                    .col(integer(IndexModels::Version))
                    .col(string_len(IndexModels::Name, 100))
                    .col(json(IndexModels::Definition))
                    .col(string_len(IndexModels::CreatedBy, 120))
                    .col(timestamp_with_time_zone(IndexModels::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_index_models_version")
                    .table(IndexModels::Table)
                    .col(IndexModels::Key)
                    .col(IndexModels::Version)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IndexModels::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IndexModels {
    Table,
    Id,
    /// The model's key; versions of one key form its history.
    Key,
    Version,
    Name,
    /// The tree, rules and settings (see `domain::index_model`).
    Definition,
    CreatedBy,
    CreatedAt,
}
