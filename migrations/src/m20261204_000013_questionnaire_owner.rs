//! A questionnaire belongs to whoever may change it: `owner_region` is the region code
//! of the bureau that created it, or NULL for the deployment's own (the built-ins and
//! those an admin created), which only admins change. Before this any bureau could
//! edit and publish another bureau's draft, and a bureau's draft of a built-in blocked
//! every other bureau. Questionnaires that exist already become the deployment's
//! (NULL): nothing recorded who owned them, and an admin can still change them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Questionnaires::Table)
                    .add_column(ColumnDef::new(Questionnaires::OwnerRegion).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Questionnaires::Table)
                    .drop_column(Questionnaires::OwnerRegion)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Questionnaires {
    Table,
    OwnerRegion,
}
