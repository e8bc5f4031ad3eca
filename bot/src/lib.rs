//! Pingjia's Telegram bot (pingjia-bot): citizens and contact-point liaisons file
//! complaints and suggestions, follow their tickets, rate the handling and answer
//! surveys in chat. A channel adapter: it speaks to the Pingjia API over HTTP with a
//! `channel` key and keeps only its dialogue states in its own database.

pub mod api;
pub mod config;
pub mod fake;
pub mod handlers;
pub mod notify;
pub mod state;
pub mod storage;
pub mod survey;
pub mod text;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use secrecy::ExposeSecret;
use teloxide::prelude::*;
use teloxide::update_listeners::Polling;

use crate::config::{Config, Limits};
use crate::handlers::Ctx;
use crate::storage::DialogueStore;

/// Log directives the bot always runs with: teloxide logs an update it cannot parse
/// (and an unhandled one) whole, names and usernames included, from these two
/// modules and nothing else there; they are silenced so no personal data reaches
/// the log.
pub const LOG_DIRECTIVES: &str =
    "teloxide::dispatching::dispatcher=off,teloxide::update_listeners::webhooks=off";

/// The bot's log filter: `RUST_LOG` (default `info`) with [`LOG_DIRECTIVES`].
pub fn log_filter() -> tracing_subscriber::EnvFilter {
    let base = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    tracing_subscriber::EnvFilter::new(format!("{base},{LOG_DIRECTIVES}"))
}

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

/// Today in Asia/Shanghai, `YYYY-MM-DD`.
pub fn shanghai_today() -> String {
    Utc::now()
        .with_timezone(&shanghai())
        .format("%Y-%m-%d")
        .to_string()
}

/// A time as users read it: `MM-DD HH:MM`, Asia/Shanghai.
pub fn shanghai_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&shanghai())
        .format("%m-%d %H:%M")
        .to_string()
}

/// A Telegram client, against Telegram or the given Bot API server.
pub fn telegram(token: &str, api_url: Option<&str>) -> anyhow::Result<Bot> {
    let bot = Bot::new(token);
    Ok(match api_url {
        Some(url) => bot.set_api_url(reqwest::Url::parse(url)?),
        None => bot,
    })
}

/// Everything a running bot needs.
#[derive(Clone)]
pub struct App {
    pub bot: Bot,
    pub ctx: Arc<Ctx>,
    pub store: Arc<DialogueStore>,
    /// Pause of the outbox reader when it found nothing.
    pub outbox_idle: Duration,
}

impl App {
    /// Opens the bot's database and resolves the default region from the API.
    pub async fn prepare(config: &Config) -> anyhow::Result<Self> {
        let bot = telegram(
            config.teloxide_token.expose_secret(),
            config.teloxide_api_url.as_deref(),
        )?;
        let api = api::Api::new(&config.api_url, config.channel_key.expose_secret())?;
        let region = match &config.bot_region {
            Some(r) => r.clone(),
            None => api
                .root_region()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot read regions from the API at {}: {e}",
                        config.api_url
                    )
                })?
                .map(|r| r.code)
                .ok_or_else(|| anyhow::anyhow!("the API has no regions; set PINGJIA_BOT_REGION"))?,
        };
        let db = storage::open(&config.bot_database_url).await?;
        let limits = Limits {
            tickets_per_day: config.bot_tickets_per_day,
            messages_per_minute: config.bot_messages_per_minute,
        };
        let store =
            DialogueStore::new(db.clone(), config.state_sealer()?, config.bot_dialogue_days);
        Ok(Self {
            bot,
            ctx: Ctx::new(api, db, limits, region),
            store,
            outbox_idle: Duration::from_millis(config.bot_outbox_poll_ms),
        })
    }

    /// Runs the dispatcher (long polling with `poll_timeout`, or the webhook of
    /// `config`) and the outbox delivery until `stop` resolves, then drains.
    pub async fn run(
        self,
        webhook: Option<(std::net::SocketAddr, reqwest::Url, Option<String>)>,
        poll_timeout: Duration,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mut dispatcher = Dispatcher::builder(self.bot.clone(), handlers::schema())
            .dependencies(dptree::deps![self.ctx.clone(), self.store.clone()])
            .default_handler(|_| async {})
            .error_handler(LoggingErrorHandler::with_custom_text("a handler failed"))
            .build();
        let token = dispatcher.shutdown_token();
        let (stopped, stop_rx) = tokio::sync::watch::channel(false);
        // Abandoned dialogues (drafts with what users wrote) are forgotten hourly.
        let sweeper = {
            let store = self.store.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(3600));
                loop {
                    every.tick().await;
                    match store.expire().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(dialogues = n, "abandoned dialogues forgotten"),
                        Err(e) => tracing::warn!(error = %e, "expiring dialogues failed"),
                    }
                }
            })
        };
        let notifier = {
            let mut rx = stop_rx.clone();
            tokio::spawn(notify::run(
                self.bot.clone(),
                self.ctx.api.clone(),
                self.outbox_idle,
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                },
            ))
        };
        let stopper = tokio::spawn(async move {
            stop.await;
            let _ = stopped.send(true);
            // The dispatcher may not have started yet; retry until it takes the signal.
            loop {
                match token.shutdown() {
                    Ok(done) => {
                        done.await;
                        return;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        match webhook {
            Some((address, url, secret)) => {
                let mut options = teloxide::update_listeners::webhooks::Options::new(address, url);
                if let Some(secret) = secret {
                    options = options.secret_token(secret);
                }
                let listener =
                    teloxide::update_listeners::webhooks::axum(self.bot.clone(), options).await?;
                dispatcher
                    .dispatch_with_listener(
                        listener,
                        LoggingErrorHandler::with_custom_text("the webhook failed"),
                    )
                    .await;
            }
            None => {
                let listener = Polling::builder(self.bot.clone())
                    .timeout(poll_timeout)
                    .delete_webhook()
                    .await
                    .build();
                dispatcher
                    .dispatch_with_listener(
                        listener,
                        LoggingErrorHandler::with_custom_text("polling failed"),
                    )
                    .await;
            }
        }
        stopper.abort();
        sweeper.abort();
        let _ = notifier.await;
        drop(stop_rx);
        Ok(())
    }
}
