//! An invitation is answered when a response names it. Answering used to set the
//! invitation's status to `answered`, its `answered_at` and its channel as well, in the
//! same transaction as the response: under load that rewrote one page of
//! `invitations` per answer, more than half of what each group commit wrote to the
//! log (BENCHMARKS.md, 2026-12-03). Now answering writes only the response; the unique
//! index on `responses.invitation_id` keeps one response per invitation, and the
//! status only tells `pending` from `expired`. Answered invitations go back to
//! `pending` (their responses say they are answered) and `answered_at`, the response's
//! `submitted_at`, goes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE invitations SET status = 'pending' WHERE status = 'answered'",
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    .drop_column(Invitations::AnsweredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    .add_column(
                        ColumnDef::new(Invitations::AnsweredAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE invitations SET status = 'answered', answered_at = \
                 (SELECT submitted_at FROM responses WHERE responses.invitation_id = invitations.id) \
                 WHERE EXISTS (SELECT 1 FROM responses WHERE responses.invitation_id = invitations.id)",
            )
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    AnsweredAt,
}
