//! Database connections: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL.

use std::time::Duration;

use pingjia_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use secrecy::ExposeSecret;

use crate::config::Config;

/// Opens a pool for `config.database_url`.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = config.database_url.expose_secret().to_owned();
    let is_sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(config.db.max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if is_sqlite {
        let busy = Duration::from_millis(config.db.busy_timeout_ms);
        options.map_sqlx_sqlite_opts(move |o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                // FULL: an acknowledged write survives power loss, not only a crash.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(busy)
                .create_if_missing(true)
        });
    }
    Database::connect(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))
}

/// Applies every pending migration and creates the built-in questionnaires.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    crate::service::questionnaires::ensure_builtins(db)
        .await
        .map_err(|e| anyhow::anyhow!("creating the built-in questionnaires: {e}"))?;
    Ok(())
}
