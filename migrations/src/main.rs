//! Stand-alone migration CLI (`DATABASE_URL=… pingjia-migrations up|down|status|fresh`).
//! The service binary runs the same migrations with `pingjia migrate`.

use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(pingjia_migrations::Migrator).await;
}
