//! `pingjia`: serve the API, run migrations, export the spec, manage keys.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pingjia_api::domain::Role;
use pingjia_api::service::{Actor, keys};
use pingjia_api::{config, db, demo, http, startup, telemetry};
use pingjia_migrations::{Migrator, MigratorTrait};

/// mimalloc: the answer path allocates per request and per row; glibc's allocator
/// took about a tenth of the CPU there (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "pingjia",
    version,
    about = "Pingjia (评价): law-enforcement evaluation service"
)]
struct Cli {
    /// Config file (default: ./pingjia.toml when present; also PINGJIA_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run pending migrations, then serve the API.
    Serve {
        /// Load the demo data set into an empty database and print an admin key.
        #[arg(long)]
        demo: bool,
        /// Listen address (overrides `listen` and PINGJIA_LISTEN).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply, roll back or show migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Print the OpenAPI spec (JSON), or write openapi/openapi.{json,yaml}.
    Openapi {
        #[arg(long)]
        write: bool,
        /// Directory to write into with --write.
        #[arg(long, default_value = "openapi")]
        dir: PathBuf,
    },
    /// Per-agency survey estimates from a CSV (`agency, weight, q1..qK`).
    Score {
        file: PathBuf,
        /// Write the CSV result here instead of standard output.
        #[arg(long, conflicts_with = "json")]
        out: Option<PathBuf>,
        /// Print JSON (with flags) instead of CSV.
        #[arg(long)]
        json: bool,
        /// Agencies with fewer respondents are flagged `insufficient_sample`.
        #[arg(long, default_value_t = 30)]
        min_n: usize,
        /// Confidence level of the intervals.
        #[arg(long, default_value_t = 0.95)]
        confidence: f64,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand, Debug)]
enum MigrateAction {
    /// Apply all pending migrations (default).
    Up,
    /// Roll back the last migration (or --steps N).
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Subcommand, Debug)]
enum KeysAction {
    /// Create a key and print it once.
    Create {
        /// admin, bureau, agency, channel or evaluator.
        #[arg(long)]
        role: String,
        /// Region code (bureau keys).
        #[arg(long)]
        region: Option<String>,
        /// Agency id (agency keys).
        #[arg(long)]
        agency: Option<i64>,
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// The channel a channel key speaks for: telegram, web or hotline_12345.
        #[arg(long)]
        channel: Option<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: i64 },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let loaded = config::load(cli.config.as_deref())?;
    let mut config = loaded.config;
    telemetry::init(config.log_format);
    for key in &loaded.unknown_keys {
        tracing::warn!(key = %key, "unknown configuration key ignored");
    }
    match cli.command {
        Command::Serve { demo, listen } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            serve(config, demo).await
        }
        Command::Migrate { action } => migrate(&config, action.unwrap_or(MigrateAction::Up)).await,
        Command::Openapi { write, dir } => openapi(write, &dir),
        Command::Keys { action } => keys_command(&config, action).await,
        Command::Score {
            file,
            out,
            json,
            min_n,
            confidence,
        } => score_command(&file, out.as_deref(), json, min_n, confidence),
    }
}

async fn serve(config: config::Config, demo: bool) -> anyhow::Result<()> {
    let conn = db::connect(&config).await?;
    db::migrate(&conn).await.context("running migrations")?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    if demo {
        let mut out = std::io::stdout().lock();
        match demo::load_if_empty(&conn).await? {
            Some(l) => {
                writeln!(
                    out,
                    "Demo data loaded: {} regions, {} agencies, {} officers, {} enterprises.",
                    l.regions, l.agencies, l.officers, l.enterprises
                )?;
                let a = demo::activity::load(
                    &conn,
                    &config.contact_cipher()?,
                    &pingjia_api::domain::calendar::WorkCalendar::official(),
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                writeln!(
                    out,
                    "A year of activity: {} cases, {} survey answers, {} complaints, {} case-file reviews.",
                    a.cases, a.responses, a.tickets, a.reviews
                )?;
            }
            None => writeln!(out, "Database not empty: demo data not loaded again.")?,
        }
        let cli = Actor::cli();
        let demo_key = |name: &str, role: Role, channel: Option<&str>| {
            keys::create(
                &conn,
                &cli,
                keys::NewKey {
                    name: name.into(),
                    role,
                    region_code: None,
                    agency_id: None,
                    channel: channel.map(str::to_owned),
                },
            )
        };
        let admin = demo_key("demo admin", Role::Admin, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let web = demo_key("demo web channel (Open311)", Role::Channel, Some("web"))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let telegram = demo_key(
            "demo telegram channel (bot)",
            Role::Channel,
            Some("telegram"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        writeln!(out, "Admin key (shown once):            {}", admin.secret)?;
        writeln!(
            out,
            "Telegram channel key (shown once): {}",
            telegram.secret
        )?;
        writeln!(out, "Web channel key, Open311 api_key:  {}", web.secret)?;
        writeln!(out, "API docs:   {base}/docs")?;
        writeln!(out, "Spec:       {base}/openapi.json")?;
        writeln!(out, "Open311:    {base}/open311/v2/discovery.json")?;
        writeln!(
            out,
            "Try:        curl -H 'Authorization: Bearer {}' {base}/api/v1/agencies",
            admin.secret
        )?;
    }
    let state = startup::AppState::new(conn.clone(), &config).await?;
    // The upkeep counts working days with the same calendar as the requests.
    let upkeep = startup::spawn_upkeep(
        conn.clone(),
        state.calendar.clone(),
        config.ticket_rating_days,
        Duration::from_secs(300),
    );
    tracing::info!(listen = %addr, "serving");
    let app = startup::app(state, config.body_limit_bytes);
    startup::serve(
        listener,
        app,
        startup::shutdown_signal(),
        Duration::from_secs(config.shutdown_timeout_secs),
    )
    .await?;
    upkeep.abort();
    conn.close().await.ok();
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(config: &config::Config, action: MigrateAction) -> anyhow::Result<()> {
    let conn = db::connect(config).await?;
    let mut out = std::io::stdout().lock();
    match action {
        MigrateAction::Up => {
            Migrator::up(&conn, None).await?;
            writeln!(out, "All migrations applied.")?;
        }
        MigrateAction::Down { steps } => {
            Migrator::down(&conn, Some(steps)).await?;
            writeln!(out, "Rolled back {steps} migration(s).")?;
        }
        MigrateAction::Status => {
            for m in Migrator::get_migration_with_status(&conn).await? {
                writeln!(out, "{:<40} {}", m.name(), m.status())?;
            }
        }
    }
    Ok(())
}

fn openapi(write: bool, dir: &std::path::Path) -> anyhow::Result<()> {
    if write {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("openapi.json"), http::spec::json_text() + "\n")?;
        std::fs::write(dir.join("openapi.yaml"), http::spec::yaml_text())?;
        writeln!(
            std::io::stdout(),
            "Wrote {0}/openapi.json and {0}/openapi.yaml",
            dir.display()
        )?;
    } else {
        writeln!(std::io::stdout(), "{}", http::spec::json_text())?;
    }
    Ok(())
}

fn score_command(
    file: &std::path::Path,
    out: Option<&std::path::Path>,
    json: bool,
    min_n: usize,
    confidence: f64,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let options = pingjia_scoring::GroupOptions {
        confidence,
        min_n,
        ..Default::default()
    };
    let scores = match pingjia_api::score::score_csv(&bytes, &options) {
        Ok(scores) => scores,
        Err(errors) => {
            let mut err = std::io::stderr().lock();
            for e in &errors {
                writeln!(err, "{}: {e}", file.display())?;
            }
            anyhow::bail!("{} bad line(s) in {}", errors.len(), file.display());
        }
    };
    let text = if json {
        serde_json::to_string_pretty(&pingjia_api::score::to_json(&scores))? + "\n"
    } else {
        pingjia_api::score::to_csv(&scores)
    };
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

async fn keys_command(config: &config::Config, action: KeysAction) -> anyhow::Result<()> {
    let conn = db::connect(config).await?;
    db::migrate(&conn).await?;
    let mut out = std::io::stdout().lock();
    match action {
        KeysAction::Create {
            role,
            region,
            agency,
            name,
            channel,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use admin, bureau, agency, channel or evaluator")
            })?;
            let issued = keys::create(
                &conn,
                &Actor::cli(),
                keys::NewKey {
                    name,
                    role,
                    region_code: region,
                    agency_id: agency,
                    channel,
                },
            )
            .await
            .map_err(describe)?;
            writeln!(
                out,
                "Created key {} ({}).",
                issued.record.id,
                issued.record.role.as_str()
            )?;
            writeln!(out, "Store it now; it is not shown again:")?;
            writeln!(out, "{}", issued.secret)?;
        }
        KeysAction::List => {
            writeln!(
                out,
                "{:>4}  {:<10} {:<14} {:<8} {:<24} {:<12} name",
                "id", "role", "scope", "prefix", "created", "revoked"
            )?;
            for k in keys::list(&conn).await.map_err(describe)? {
                let scope = match (&k.region_code, k.agency_id) {
                    (Some(r), _) => format!("region {r}"),
                    (_, Some(a)) => format!("agency {a}"),
                    _ => "all".to_owned(),
                };
                let revoked = k
                    .revoked_at
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_else(|| "-".into());
                writeln!(
                    out,
                    "{:>4}  {:<10} {:<14} {:<8} {:<24} {:<12} {}",
                    k.id,
                    k.role.as_str(),
                    scope,
                    &k.key_prefix[3..],
                    k.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    revoked,
                    k.name
                )?;
            }
        }
        KeysAction::Revoke { id } => {
            keys::revoke(&conn, &Actor::cli(), id)
                .await
                .map_err(describe)?;
            writeln!(out, "Key {id} revoked.")?;
        }
    }
    Ok(())
}

/// Turns a service error into a CLI message naming the bad fields.
fn describe(err: pingjia_api::service::ServiceError) -> anyhow::Error {
    match err {
        pingjia_api::service::ServiceError::Validation(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("--{}: {}", f.field, f.reason))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::Error::new(other),
    }
}
