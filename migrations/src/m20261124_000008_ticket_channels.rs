//! Ticket channels and their surroundings: channel keys name their channel; channel
//! users (external ids, hashed and sealed); contact points (监督联系点), their
//! one-time binding codes and liaisons (联络员); the notification outbox; ticket
//! categories as configuration; per-region deadlines; loaded holiday calendars; and
//! the ticket columns these need (reporter user, contact point, the hotline's own id,
//! escalation target, reply period, finding, reply and rating times).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Default categories (code for Open311, Chinese name), in display order.
const CATEGORIES: [(&str, &str); 11] = [
    ("arbitrary_fines", "乱罚款"),
    ("inaction", "不作为"),
    ("rudeness", "态度粗暴"),
    ("no_credentials", "未亮证执法"),
    ("selective_enforcement", "选择性执法"),
    ("profit_driven", "逐利执法"),
    ("one_size_fits_all", "一刀切"),
    ("repeated_inspections", "重复检查/扰企"),
    ("extortion", "吃拿卡要"),
    ("procedural_violation", "程序违法"),
    ("other", "其他"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(string_len_null(ApiKeys::Channel, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChannelUsers::Table)
                    .col(big_pk_auto(ChannelUsers::Id))
                    .col(string_len(ChannelUsers::Channel, 32))
                    .col(string_len(ChannelUsers::UserHash, 64))
                    .col(text(ChannelUsers::UserSealed))
                    .col(timestamp_with_time_zone(ChannelUsers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_channel_users_hash")
                    .table(ChannelUsers::Table)
                    .col(ChannelUsers::Channel)
                    .col(ChannelUsers::UserHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ContactPoints::Table)
                    .col(big_pk_auto(ContactPoints::Id))
                    .col(string_len(ContactPoints::Name, 100))
                    .col(string_len(ContactPoints::Kind, 16))
                    .col(string_len(ContactPoints::RegionCode, 12))
                    .col(string_len_null(ContactPoints::Address, 300))
                    .col(boolean(ContactPoints::Active).default(true))
                    .col(timestamp_with_time_zone(ContactPoints::CreatedAt))
                    .col(timestamp_with_time_zone(ContactPoints::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContactPoints::Table, ContactPoints::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BindingCodes::Table)
                    .col(big_pk_auto(BindingCodes::Id))
                    .col(big_integer(BindingCodes::ContactPointId))
                    .col(string_len_uniq(BindingCodes::CodeHash, 64))
                    .col(timestamp_with_time_zone(BindingCodes::ExpiresAt))
                    .col(timestamp_with_time_zone(BindingCodes::CreatedAt))
                    .col(timestamp_with_time_zone_null(BindingCodes::RedeemedAt))
                    .col(big_integer_null(BindingCodes::RedeemedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BindingCodes::Table, BindingCodes::ContactPointId)
                            .to(ContactPoints::Table, ContactPoints::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(BindingCodes::Table, BindingCodes::RedeemedBy)
                            .to(ChannelUsers::Table, ChannelUsers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Liaisons::Table)
                    .col(big_pk_auto(Liaisons::Id))
                    .col(big_integer(Liaisons::ContactPointId))
                    .col(big_integer(Liaisons::ChannelUserId))
                    .col(timestamp_with_time_zone(Liaisons::BoundAt))
                    .col(timestamp_with_time_zone_null(Liaisons::UnboundAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Liaisons::Table, Liaisons::ContactPointId)
                            .to(ContactPoints::Table, ContactPoints::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Liaisons::Table, Liaisons::ChannelUserId)
                            .to(ChannelUsers::Table, ChannelUsers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_liaisons_user")
                    .table(Liaisons::Table)
                    .col(Liaisons::ChannelUserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(string_len(Outbox::Channel, 32))
                    .col(big_integer(Outbox::ChannelUserId))
                    .col(string_len(Outbox::Kind, 32))
                    .col(big_integer_null(Outbox::TicketId))
                    .col(json(Outbox::Payload))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::AckedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Outbox::Table, Outbox::ChannelUserId)
                            .to(ChannelUsers::Table, ChannelUsers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_pending")
                    .table(Outbox::Table)
                    .col(Outbox::Channel)
                    .col(Outbox::AckedAt)
                    .col(Outbox::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketCategories::Table)
                    .col(string_len(TicketCategories::Code, 48).primary_key())
                    .col(string_len_uniq(TicketCategories::Name, 64))
                    .col(integer(TicketCategories::Position))
                    .col(boolean(TicketCategories::Active).default(true))
                    .to_owned(),
            )
            .await?;
        let mut seed = Query::insert();
        seed.into_table(TicketCategories::Table).columns([
            TicketCategories::Code,
            TicketCategories::Name,
            TicketCategories::Position,
            TicketCategories::Active,
        ]);
        for (i, (code, name)) in CATEGORIES.iter().enumerate() {
            seed.values_panic([
                (*code).into(),
                (*name).into(),
                (i as i32 + 1).into(),
                true.into(),
            ]);
        }
        manager.exec_stmt(seed).await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketDeadlines::Table)
                    .col(string_len(TicketDeadlines::RegionCode, 12).primary_key())
                    .col(small_integer(TicketDeadlines::AckDays))
                    .col(small_integer(TicketDeadlines::ReplyDays))
                    .col(small_integer(TicketDeadlines::VisitDays))
                    .col(timestamp_with_time_zone(TicketDeadlines::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TicketDeadlines::Table, TicketDeadlines::RegionCode)
                            .to(Regions::Table, Regions::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarYears::Table)
                    .col(integer(CalendarYears::Year).primary_key())
                    .col(text(CalendarYears::Csv))
                    .col(timestamp_with_time_zone(CalendarYears::LoadedAt))
                    .to_owned(),
            )
            .await?;
        // Ticket columns, one statement each (SQLite alters one column at a time and
        // cannot add foreign keys to an existing table; the service keeps them valid).
        let columns = [
            big_integer_null(Tickets::ChannelUserId),
            big_integer_null(Tickets::ContactPointId),
            string_len_null(Tickets::ExternalId, 64),
            string_len_null(Tickets::EscalatedTo, 12),
            small_integer(Tickets::ReplyDays).default(5).to_owned(),
            timestamp_with_time_zone_null(Tickets::VisitDue),
            string_len_null(Tickets::Finding, 16),
            timestamp_with_time_zone_null(Tickets::RepliedAt),
            timestamp_with_time_zone_null(Tickets::RatedAt),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        for (name, cols) in [
            (
                "uq_tickets_external",
                vec![Tickets::Channel, Tickets::ExternalId],
            ),
            ("idx_tickets_reporter", vec![Tickets::ChannelUserId]),
            ("idx_tickets_contact_point", vec![Tickets::ContactPointId]),
            ("idx_tickets_secret", vec![Tickets::SecretHash]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Tickets::Table);
            for c in cols {
                index.col(c);
            }
            if name.starts_with("uq_") {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "uq_tickets_external",
            "idx_tickets_reporter",
            "idx_tickets_contact_point",
            "idx_tickets_secret",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Tickets::Table).to_owned())
                .await?;
        }
        for column in [
            Tickets::ChannelUserId,
            Tickets::ContactPointId,
            Tickets::ExternalId,
            Tickets::EscalatedTo,
            Tickets::ReplyDays,
            Tickets::VisitDue,
            Tickets::Finding,
            Tickets::RepliedAt,
            Tickets::RatedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            CalendarYears::Table.into_iden(),
            TicketDeadlines::Table.into_iden(),
            TicketCategories::Table.into_iden(),
            Outbox::Table.into_iden(),
            Liaisons::Table.into_iden(),
            BindingCodes::Table.into_iden(),
            ContactPoints::Table.into_iden(),
            ChannelUsers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .drop_column(ApiKeys::Channel)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    /// The channel a `channel` key speaks for (telegram, web, hotline_12345).
    Channel,
}

#[derive(DeriveIden)]
enum Regions {
    Table,
    Code,
}

#[derive(DeriveIden)]
enum ChannelUsers {
    Table,
    Id,
    Channel,
    /// HMAC-SHA-256 of the external id under a key derived from the contact key.
    UserHash,
    /// The external id sealed like contact data, to address notifications.
    UserSealed,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ContactPoints {
    Table,
    Id,
    Name,
    Kind,
    RegionCode,
    Address,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BindingCodes {
    Table,
    Id,
    ContactPointId,
    CodeHash,
    ExpiresAt,
    CreatedAt,
    RedeemedAt,
    RedeemedBy,
}

#[derive(DeriveIden)]
enum Liaisons {
    Table,
    Id,
    ContactPointId,
    ChannelUserId,
    BoundAt,
    UnboundAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Channel,
    ChannelUserId,
    Kind,
    TicketId,
    Payload,
    CreatedAt,
    AckedAt,
}

#[derive(DeriveIden)]
enum TicketCategories {
    Table,
    Code,
    Name,
    Position,
    Active,
}

#[derive(DeriveIden)]
enum TicketDeadlines {
    Table,
    RegionCode,
    AckDays,
    ReplyDays,
    VisitDays,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CalendarYears {
    Table,
    Year,
    /// The year's calendar in the shipped CSV format.
    Csv,
    LoadedAt,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    SecretHash,
    Channel,
    ChannelUserId,
    ContactPointId,
    /// The sending system's own id (the 12345 work-order number).
    ExternalId,
    /// Region code of the bureau supervising an escalated ticket.
    EscalatedTo,
    ReplyDays,
    VisitDue,
    /// substantiated / partly / unfounded, set with the reply.
    Finding,
    RepliedAt,
    RatedAt,
}
