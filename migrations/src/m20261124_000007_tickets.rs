//! Tickets (工单): complaints, reports, suggestions and praise; their numbering per
//! year; and every move as an event. Reporter contact data is stored encrypted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TicketSequences::Table)
                    .col(integer(TicketSequences::Year).primary_key())
                    .col(big_integer(TicketSequences::Last).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(big_pk_auto(Tickets::Id))
                    .col(string_len_uniq(Tickets::Number, 32))
                    .col(string_len(Tickets::SecretHash, 64))
                    .col(string_len(Tickets::Kind, 16))
                    .col(string_len(Tickets::Category, 64))
                    .col(big_integer_null(Tickets::AgencyId))
                    .col(string_len(Tickets::RegionCode, 12))
                    .col(text(Tickets::Description))
                    .col(json(Tickets::Attachments))
                    .col(double_null(Tickets::Latitude))
                    .col(double_null(Tickets::Longitude))
                    .col(string_len_null(Tickets::Address, 300))
                    .col(string_len(Tickets::Channel, 32))
                    .col(boolean(Tickets::Anonymous))
                    .col(text_null(Tickets::ReporterName))
                    .col(text_null(Tickets::ReporterPhone))
                    .col(string_len(Tickets::State, 16))
                    .col(small_integer(Tickets::Level).default(0))
                    .col(integer(Tickets::Revision).default(0))
                    .col(timestamp_with_time_zone(Tickets::AckDue))
                    .col(timestamp_with_time_zone(Tickets::ReplyDue))
                    .col(string_len_null(Tickets::Rating, 16))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tickets::Table, Tickets::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tickets::Table, Tickets::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_state_due")
                    .table(Tickets::Table)
                    .col(Tickets::State)
                    .col(Tickets::ReplyDue)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketEvents::Table)
                    .col(big_pk_auto(TicketEvents::Id))
                    .col(big_integer(TicketEvents::TicketId))
                    .col(string_len(TicketEvents::Action, 32))
                    .col(string_len_null(TicketEvents::FromState, 16))
                    .col(string_len(TicketEvents::ToState, 16))
                    .col(string_len(TicketEvents::Actor, 120))
                    .col(text_null(TicketEvents::Note))
                    .col(timestamp_with_time_zone(TicketEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TicketEvents::Table, TicketEvents::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_events_ticket")
                    .table(TicketEvents::Table)
                    .col(TicketEvents::TicketId)
                    .col(TicketEvents::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TicketEvents::Table.into_iden(),
            Tickets::Table.into_iden(),
            TicketSequences::Table.into_iden(),
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
enum Regions {
    Table,
    Code,
}

#[derive(DeriveIden)]
enum TicketSequences {
    Table,
    Year,
    Last,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    Number,
    SecretHash,
    Kind,
    Category,
    AgencyId,
    RegionCode,
    Description,
    Attachments,
    Latitude,
    Longitude,
    Address,
    Channel,
    Anonymous,
    /// Encrypted (XChaCha20-Poly1305, key from configuration).
    ReporterName,
    /// Encrypted likewise.
    ReporterPhone,
    State,
    Level,
    Revision,
    AckDue,
    ReplyDue,
    Rating,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TicketEvents {
    Table,
    Id,
    TicketId,
    Action,
    FromState,
    ToState,
    Actor,
    Note,
    At,
}
