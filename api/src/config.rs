//! Configuration: built-in defaults → optional `pingjia.toml` → environment
//! (`DATABASE_URL`, then `PINGJIA_*` with `__` for nesting, e.g. `PINGJIA_DB__MAX_CONNECTIONS`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

/// Default config file, read from the working directory when present.
pub const DEFAULT_CONFIG_FILE: &str = "pingjia.toml";

/// `PINGJIA_*` variables that are not configuration keys of the service (the tests'
/// and the bot's, which may share an environment with it).
const NOT_CONFIG_ENV: &[&str] = &[
    "CONFIG",
    "TEST_POSTGRES_URL",
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
];

/// Service configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`; may hold a password, so it is secret.
    pub database_url: SecretString,
    /// `text` (default) or `json` log lines.
    pub log_format: LogFormat,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
    /// How long a shutdown waits for in-flight requests.
    pub shutdown_timeout_secs: u64,
    /// Failed authentications allowed per client address and window before 429.
    pub auth_failures_per_window: u32,
    /// Length of that window in seconds.
    pub auth_failure_window_secs: i64,
    /// Public answers to an open campaign accepted per client address and hour.
    pub open_answers_per_hour: u32,
    /// Trust `X-Forwarded-For` for the client address (only behind your own proxy).
    pub trust_forwarded_for: bool,
    /// Base URL printed for users and put in QR codes (defaults to `http://<listen>`).
    pub public_url: Option<String>,
    /// Telegram bot username for deep links (`https://t.me/<bot>?start=<token>`).
    pub bot_username: Option<String>,
    /// Key sealing reporters' names and phone numbers (64 hex characters). When
    /// absent, the key is read from `contact_key_file`, created there on first start.
    pub contact_key: Option<SecretString>,
    /// Where the contact key lives when `contact_key` is not given.
    pub contact_key_file: std::path::PathBuf,
    /// Days a reporter has to rate a reply before it counts as 基本满意.
    pub ticket_rating_days: i64,
    /// Largest design weight an imported response may carry (positive, finite).
    pub max_response_weight: f64,
    /// Fewest respondents behind a survey figure shown to an agency key (the
    /// inspected agency never sees a small group's answers).
    pub anonymity_min_n: u64,
    /// When set, `/metrics` answers only `Authorization: Bearer <metrics_token>`.
    pub metrics_token: Option<SecretString>,
    pub db: DbConfig,
}

/// Connection pool settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DbConfig {
    pub max_connections: u32,
    /// SQLite busy timeout: how long a writer waits for the lock.
    pub busy_timeout_ms: u64,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: SecretString::from("sqlite://pingjia.db?mode=rwc"),
            log_format: LogFormat::Text,
            body_limit_bytes: 1024 * 1024,
            shutdown_timeout_secs: 30,
            auth_failures_per_window: 20,
            auth_failure_window_secs: 60,
            open_answers_per_hour: 20,
            trust_forwarded_for: false,
            public_url: None,
            bot_username: None,
            contact_key: None,
            contact_key_file: "pingjia.contact.key".into(),
            ticket_rating_days: 7,
            max_response_weight: 10_000.0,
            anonymity_min_n: 5,
            metrics_token: None,
            db: DbConfig::default(),
        }
    }
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            busy_timeout_ms: 5_000,
        }
    }
}

/// A loaded configuration and the keys that were not recognised.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub unknown_keys: Vec<String>,
    pub file: Option<PathBuf>,
}

/// Which config file to read: `explicit` (must exist), else `PINGJIA_CONFIG` (must
/// exist), else `pingjia.toml` in the working directory if it exists.
fn config_file(explicit: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    let chosen = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("PINGJIA_CONFIG").map(PathBuf::from));
    match chosen {
        Some(path) if path.is_file() => Ok(Some(path)),
        Some(path) => anyhow::bail!("config file {} does not exist", path.display()),
        None => Ok(Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file())),
    }
}

/// Loads configuration from the file (see [`config_file`]) and the environment.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Loaded> {
    let file = config_file(explicit)?;
    let mut figment = Figment::new();
    if let Some(path) = &file {
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment
        .merge(Env::raw().only(&["DATABASE_URL"]))
        .merge(Env::prefixed("PINGJIA_").split("__").ignore(NOT_CONFIG_ENV));
    from_figment(figment).map(|(config, unknown_keys)| Loaded {
        config,
        unknown_keys,
        file,
    })
}

/// Extracts the configuration, collecting keys the service does not know.
pub fn from_figment(figment: Figment) -> anyhow::Result<(Config, Vec<String>)> {
    let value: figment::value::Value = figment.extract()?;
    let mut unknown = Vec::new();
    let config: Config = serde_ignored::deserialize(&value, |path| unknown.push(path.to_string()))
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    if !(config.max_response_weight.is_finite() && config.max_response_weight >= 1.0) {
        anyhow::bail!(
            "invalid configuration: max_response_weight must be a finite number of at least 1"
        );
    }
    Ok((config, unknown))
}

impl Config {
    /// The contact-data cipher: from `contact_key`, else from `contact_key_file`,
    /// which is created with a new random key (mode 0600) if it does not exist.
    pub fn contact_cipher(&self) -> anyhow::Result<crate::domain::contact::ContactCipher> {
        use crate::domain::contact::ContactCipher;
        use secrecy::ExposeSecret;
        let from = |hex: &str, whence: &str| {
            ContactCipher::from_hex(hex).map_err(|e| anyhow::anyhow!("{whence}: {e}"))
        };
        if let Some(key) = &self.contact_key {
            return from(key.expose_secret(), "contact_key");
        }
        let path = &self.contact_key_file;
        let (hex, created) = pingjia_seal::key_file(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read or create the contact key file {}: {e}",
                path.display()
            )
        })?;
        if created {
            tracing::warn!(
                file = %path.display(),
                "created a new contact-data key; back it up with the database: without it reporters' contact data cannot be read"
            );
        }
        from(&hex, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::Serialized;
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn defaults_apply_without_sources() {
        let (config, unknown) =
            from_figment(Figment::from(Serialized::defaults(serde_json::json!({})))).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.body_limit_bytes, 1024 * 1024);
        assert!(
            config
                .database_url
                .expose_secret()
                .starts_with("sqlite://pingjia.db")
        );
        assert!(unknown.is_empty());
    }

    #[test]
    fn file_values_override_defaults_and_unknown_keys_are_reported() {
        let toml = r#"
            listen = "0.0.0.0:9000"
            colour = "blue"
            [db]
            max_connections = 3
            pool = 1
        "#;
        let (config, unknown) = from_figment(Figment::from(Toml::string(toml))).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.db.max_connections, 3);
        assert_eq!(unknown, vec!["colour".to_owned(), "db.pool".to_owned()]);
    }

    #[test]
    fn debug_output_redacts_the_database_url() {
        let toml = r#"database_url = "postgres://user:hunter2@db/pingjia""#;
        let (config, _) = from_figment(Figment::from(Toml::string(toml))).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_key() {
        let err = from_figment(Figment::from(Toml::string(r#"listen = "nowhere""#))).unwrap_err();
        assert!(
            err.to_string().contains("listen") || err.to_string().contains("socket"),
            "{err}"
        );
    }
}
