//! Schema migrations for Pingjia. The only place the schema changes: never edit an
//! applied migration, add a new one. The same migrations run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_registry;
mod m20261124_000002_rate_limits;
mod m20261124_000003_surveys;
mod m20261124_000004_idempotency;
mod m20261124_000005_quotas;
mod m20261124_000006_response_order;
mod m20261124_000007_tickets;
mod m20261124_000008_ticket_channels;
mod m20261124_000009_internal_assessment;
mod m20261124_000010_index_models;
mod m20261124_000011_survey_stats;
mod m20261203_000012_answered_by_response;
mod m20261204_000013_questionnaire_owner;

/// All migrations, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_registry::Migration),
            Box::new(m20261124_000002_rate_limits::Migration),
            Box::new(m20261124_000003_surveys::Migration),
            Box::new(m20261124_000004_idempotency::Migration),
            Box::new(m20261124_000005_quotas::Migration),
            Box::new(m20261124_000006_response_order::Migration),
            Box::new(m20261124_000007_tickets::Migration),
            Box::new(m20261124_000008_ticket_channels::Migration),
            Box::new(m20261124_000009_internal_assessment::Migration),
            Box::new(m20261124_000010_index_models::Migration),
            Box::new(m20261124_000011_survey_stats::Migration),
            Box::new(m20261203_000012_answered_by_response::Migration),
            Box::new(m20261204_000013_questionnaire_owner::Migration),
        ]
    }
}
