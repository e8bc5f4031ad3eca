//! Database connections: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL.

use std::time::Duration;

use pingjia_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use secrecy::ExposeSecret;

use crate::config::Config;

/// Opens a pool for `config.database_url`.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    open(config, config.db.max_connections, DEFAULT_STATEMENT_CACHE).await
}

/// Prepared statements kept per connection (sqlx's default).
const DEFAULT_STATEMENT_CACHE: usize = 100;

/// Opens the answer writer's own single connection. Its statement cache is large
/// enough for every group size's statements, so they are parsed once.
pub async fn connect_writer(config: &Config) -> anyhow::Result<DatabaseConnection> {
    open(config, 1, 1024).await
}

async fn open(
    config: &Config,
    max_connections: u32,
    statement_cache: usize,
) -> anyhow::Result<DatabaseConnection> {
    let url = config.database_url.expose_secret().to_owned();
    let is_sqlite = url.starts_with("sqlite:");
    if is_sqlite && (url.contains(":memory:") || url.contains("mode=memory")) {
        // Every acknowledged write must survive a restart, and the answer writer opens
        // a connection of its own, which would see a different in-memory database.
        anyhow::bail!("an in-memory SQLite database is not supported; give a file path");
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
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
                .statement_cache_capacity(statement_cache)
        });
    } else {
        options.map_sqlx_postgres_opts(move |o| o.statement_cache_capacity(statement_cache));
    }
    Database::connect(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))
}

/// Applies every pending migration and creates the built-in questionnaires and the
/// default index model.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    crate::service::questionnaires::ensure_builtins(db)
        .await
        .map_err(|e| anyhow::anyhow!("creating the built-in questionnaires: {e}"))?;
    crate::service::index::ensure_default(db)
        .await
        .map_err(|e| anyhow::anyhow!("creating the default index model: {e}"))?;
    Ok(())
}

/// Begins a transaction that is going to write. On SQLite it begins `IMMEDIATE`: it
/// takes the write lock at once, waiting out the busy timeout while another writer
/// holds it. A deferred transaction that reads first and writes later fails at once
/// with `SQLITE_BUSY_SNAPSHOT` (code 517) when another connection committed in
/// between, whatever the busy timeout; every read-then-write use case (an update
/// after a lookup, a number drawn from a sequence) must begin here. PostgreSQL takes
/// its row locks as it goes and ignores the mode.
pub async fn begin_write<C: sea_orm::TransactionTrait>(
    db: &C,
) -> Result<C::Transaction, sea_orm::DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
