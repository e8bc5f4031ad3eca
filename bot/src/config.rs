//! The bot's configuration, from the environment: `TELOXIDE_TOKEN`,
//! `TELOXIDE_API_URL` (a self-hosted Bot API server), `PINGJIA_API_URL`,
//! `PINGJIA_CHANNEL_KEY` and `PINGJIA_BOT_*`.

use std::net::SocketAddr;

use figment::Figment;
use figment::providers::Env;
use secrecy::SecretString;
use serde::Deserialize;

/// Settings of one bot process.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// The bot's token from @BotFather.
    pub teloxide_token: SecretString,
    /// Bot API server (default Telegram's).
    #[serde(default)]
    pub teloxide_api_url: Option<String>,
    /// The Pingjia API, e.g. `http://127.0.0.1:8080`.
    pub api_url: String,
    /// A `channel` key created with `--channel telegram`.
    pub channel_key: SecretString,
    /// Dialogue-state database (SQLite file by default; PostgreSQL works too).
    #[serde(default = "default_database_url")]
    pub bot_database_url: String,
    /// Region code for tickets whose agency the user does not know (default: the top
    /// of the API's region tree).
    #[serde(default)]
    pub bot_region: Option<String>,
    /// Webhook mode: the public URL Telegram posts updates to (long polling when
    /// absent).
    #[serde(default)]
    pub bot_webhook_url: Option<String>,
    /// Where the webhook listens.
    #[serde(default = "default_webhook_listen")]
    pub bot_webhook_listen: SocketAddr,
    /// Secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (webhook mode).
    #[serde(default)]
    pub bot_webhook_secret: Option<SecretString>,
    #[serde(default = "default_tickets_per_day")]
    pub bot_tickets_per_day: u32,
    #[serde(default = "default_messages_per_minute")]
    pub bot_messages_per_minute: u32,
    /// How often the outbox is read when it was empty.
    #[serde(default = "default_outbox_poll_ms")]
    pub bot_outbox_poll_ms: u64,
    /// Key sealing the stored dialogue states (64 hex characters); when absent, read
    /// from `bot_state_key_file`, created there on first start.
    #[serde(default)]
    pub bot_state_key: Option<SecretString>,
    #[serde(default = "default_state_key_file")]
    pub bot_state_key_file: std::path::PathBuf,
    /// Days an untouched dialogue (an abandoned draft) is kept.
    #[serde(default = "default_dialogue_days")]
    pub bot_dialogue_days: u32,
}

fn default_state_key_file() -> std::path::PathBuf {
    "pingjia-bot.state.key".into()
}

fn default_dialogue_days() -> u32 {
    7
}

impl Config {
    /// The sealer of stored dialogue states: from `bot_state_key`, else from
    /// `bot_state_key_file` (created with a new key when missing).
    pub fn state_sealer(&self) -> anyhow::Result<pingjia_seal::Sealer> {
        use secrecy::ExposeSecret;
        let hex = match &self.bot_state_key {
            Some(key) => key.expose_secret().to_owned(),
            None => {
                let path = &self.bot_state_key_file;
                let (hex, created) = pingjia_seal::key_file(path).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot read or create the state key file {}: {e}",
                        path.display()
                    )
                })?;
                if created {
                    tracing::warn!(file = %path.display(), "created a new key for the stored dialogue states");
                }
                hex
            }
        };
        pingjia_seal::Sealer::from_hex(&hex).map_err(|e| anyhow::anyhow!("bot_state_key: {e}"))
    }
}

fn default_database_url() -> String {
    "sqlite://pingjia-bot.db?mode=rwc".into()
}

fn default_webhook_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

fn default_tickets_per_day() -> u32 {
    5
}

fn default_messages_per_minute() -> u32 {
    30
}

fn default_outbox_poll_ms() -> u64 {
    2_000
}

impl Config {
    /// Reads the environment; a missing required variable is named.
    pub fn from_env() -> anyhow::Result<Self> {
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|v| std::env::var(v).map_or(true, |s| s.trim().is_empty()))
            .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "set {}: the bot's token from @BotFather, the Pingjia API's URL and a channel key \
                 (pingjia keys create --role channel --channel telegram)",
                missing.join(", ")
            );
        }
        let figment = Figment::new()
            .merge(Env::raw().only(&["TELOXIDE_TOKEN", "TELOXIDE_API_URL"]))
            .merge(Env::prefixed("PINGJIA_").only(&[
                "API_URL",
                "CHANNEL_KEY",
                "BOT_DATABASE_URL",
                "BOT_REGION",
                "BOT_WEBHOOK_URL",
                "BOT_WEBHOOK_LISTEN",
                "BOT_WEBHOOK_SECRET",
                "BOT_TICKETS_PER_DAY",
                "BOT_MESSAGES_PER_MINUTE",
                "BOT_OUTBOX_POLL_MS",
            ]));
        figment
            .extract()
            .map_err(|e| anyhow::anyhow!("bad bot configuration: {e}"))
    }
}

/// What the bot cannot run without.
const REQUIRED: [&str; 3] = ["TELOXIDE_TOKEN", "PINGJIA_API_URL", "PINGJIA_CHANNEL_KEY"];

/// Limits per user.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub tickets_per_day: u32,
    pub messages_per_minute: u32,
}
