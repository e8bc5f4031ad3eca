//! The bot's own small database (SQLite by default, PostgreSQL optional): dialogue
//! states, so a restart resumes every conversation, and per-user filing counts for
//! the daily cap. Nothing of the service's data is kept here. A state holds what a
//! user is writing (a description, a real name and phone), so it is stored sealed
//! (`pingjia_seal`, the bot's own key), and a dialogue left untouched for
//! `bot_dialogue_days` is forgotten.

use std::sync::Arc;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
};
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;

use pingjia_seal::Sealer;

use crate::state::State;

/// Dialogue states by chat.
pub mod dialogue {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bot_dialogues")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub chat_id: i64,
        /// The state as JSON.
        #[sea_orm(column_type = "Text")]
        pub state: String,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Tickets filed per user and day (Asia/Shanghai).
pub mod filing {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bot_filings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: String,
        pub count: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS bot_dialogues (chat_id BIGINT PRIMARY KEY, state TEXT NOT NULL, updated_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bot_filings (user_id BIGINT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (user_id, day))",
];

/// Opens (and creates) the bot's database.
pub async fn open(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(8).sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One connection: SQLite takes one writer at a time, and writers contending
        // for its lock wait out the busy handler's sleeps (milliseconds each), while
        // queueing for the one connection costs microseconds.
        options.max_connections(1);
        options.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(std::time::Duration::from_secs(5))
                .create_if_missing(true)
        });
    }
    let db = Database::connect(options).await?;
    for statement in SCHEMA {
        db.execute_unprepared(statement).await?;
    }
    Ok(db)
}

/// Why the dialogue store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error("a stored dialogue does not parse: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a stored dialogue does not open with the bot's state key")]
    Sealed,
}

/// teloxide's dialogue [`Storage`] over the bot's database.
#[derive(Debug, Clone)]
pub struct DialogueStore {
    db: DatabaseConnection,
    sealer: Sealer,
    /// How long an untouched dialogue is kept, in seconds.
    keep_secs: i64,
}

impl DialogueStore {
    pub fn new(db: DatabaseConnection, sealer: Sealer, keep_days: u32) -> Arc<Self> {
        Arc::new(Self {
            db,
            sealer,
            keep_secs: i64::from(keep_days.max(1)) * 86_400,
        })
    }

    /// The stored state of a chat (for tests and operators); a dialogue left longer
    /// than the keeping time is gone (and deleted now).
    pub async fn state_of(&self, chat: ChatId) -> Result<Option<State>, StoreError> {
        let Some(row) = dialogue::Entity::find_by_id(chat.0).one(&self.db).await? else {
            return Ok(None);
        };
        if row.updated_at < chrono::Utc::now().timestamp() - self.keep_secs {
            dialogue::Entity::delete_by_id(chat.0)
                .exec(&self.db)
                .await?;
            return Ok(None);
        }
        let json = if Sealer::is_sealed(&row.state) {
            self.sealer.open(&row.state).ok_or(StoreError::Sealed)?
        } else {
            // Stored before states were sealed; sealed at its next update.
            row.state
        };
        Ok(Some(serde_json::from_str(&json)?))
    }

    /// Forgets every dialogue untouched for longer than the keeping time; how many.
    pub async fn expire(&self) -> Result<u64, StoreError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let cutoff = chrono::Utc::now().timestamp() - self.keep_secs;
        let gone = dialogue::Entity::delete_many()
            .filter(dialogue::Column::UpdatedAt.lt(cutoff))
            .exec(&self.db)
            .await?;
        Ok(gone.rows_affected)
    }
}

impl Storage<State> for DialogueStore {
    type Error = StoreError;

    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> futures_util::future::BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            dialogue::Entity::delete_by_id(chat_id.0)
                .exec(&self.db)
                .await?;
            Ok(())
        })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        state: State,
    ) -> futures_util::future::BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            let row = dialogue::ActiveModel {
                chat_id: Set(chat_id.0),
                state: Set(self.sealer.seal(&serde_json::to_string(&state)?)),
                updated_at: Set(chrono::Utc::now().timestamp()),
            };
            dialogue::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(dialogue::Column::ChatId)
                        .update_columns([dialogue::Column::State, dialogue::Column::UpdatedAt])
                        .to_owned(),
                )
                .exec(&self.db)
                .await?;
            Ok(())
        })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> futures_util::future::BoxFuture<'static, Result<Option<State>, Self::Error>> {
        Box::pin(async move { self.state_of(chat_id).await })
    }
}

/// Tickets `user` filed on `day`.
pub async fn filings(db: &DatabaseConnection, user: i64, day: &str) -> Result<i32, sea_orm::DbErr> {
    Ok(filing::Entity::find_by_id((user, day.to_owned()))
        .one(db)
        .await?
        .map_or(0, |f| f.count))
}

/// Counts one more ticket of `user` on `day`.
pub async fn record_filing(
    db: &DatabaseConnection,
    user: i64,
    day: &str,
) -> Result<(), sea_orm::DbErr> {
    filing::Entity::insert(filing::ActiveModel {
        user_id: Set(user),
        day: Set(day.to_owned()),
        count: Set(1),
    })
    .on_conflict(
        OnConflict::columns([filing::Column::UserId, filing::Column::Day])
            .value(
                filing::Column::Count,
                sea_orm::sea_query::ExprTrait::add(
                    sea_orm::sea_query::Expr::col((filing::Entity, filing::Column::Count)),
                    1,
                ),
            )
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
