//! `pingjia-bot`: the Telegram channel of Pingjia. Configuration from the environment
//! (see the README): `TELOXIDE_TOKEN`, `PINGJIA_API_URL`, `PINGJIA_CHANNEL_KEY`, …

use std::time::Duration;

use secrecy::ExposeSecret;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(pingjia_bot::log_filter())
        .init();
    let config = pingjia_bot::config::Config::from_env()?;
    let webhook = match &config.bot_webhook_url {
        Some(url) => Some((
            config.bot_webhook_listen,
            reqwest::Url::parse(url)?,
            config
                .bot_webhook_secret
                .as_ref()
                .map(|s| s.expose_secret().to_owned()),
        )),
        None => None,
    };
    let app = pingjia_bot::App::prepare(&config).await?;
    tracing::info!(webhook = webhook.is_some(), "pingjia-bot started");
    let stop = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    app.run(webhook, Duration::from_secs(10), stop).await
}
