//! Building the app and serving it until a shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use poem::listener::TcpAcceptor;
use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, Response, Route, Server};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::domain::calendar::WorkCalendar;
use crate::domain::contact::ContactCipher;
use crate::http::{
    self,
    frame::Frame,
    metrics::{Metrics, RouteTemplates},
};
use crate::service::intake::Intake;
use crate::service::rate_limit::Limit;
use crate::service::ticket_config::SharedCalendar;

/// Shared state of one app: the pool, the answer writer, the metrics registry and
/// settings. One allocation shared by every request: the app hands each request a
/// clone, which is one reference count, not one per field and a copy of each string.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What an [`AppState`] holds (reached through `Deref`).
pub struct Shared {
    pub db: DatabaseConnection,
    /// The answer writer (group commit) and its questionnaire-version cache.
    pub intake: Intake,
    /// Seals and opens reporters' contact data.
    pub contacts: ContactCipher,
    /// Working days for ticket deadlines.
    pub calendar: SharedCalendar,
    pub metrics: Metrics,
    /// Failed authentications allowed per client address and window.
    pub auth_failure_limit: Limit,
    /// Public answers per client address and campaign.
    pub open_answer_limit: Limit,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy only).
    pub trust_forwarded_for: bool,
    /// Base URL for links and QR codes, without a trailing slash.
    pub public_url: String,
    /// Telegram bot for deep links, if one is configured.
    pub bot_username: Option<String>,
    /// Largest design weight of an imported response.
    pub max_response_weight: f64,
    /// Fewest respondents behind a survey figure shown to an agency key.
    pub anonymity_min_n: u64,
    /// The bearer token `/metrics` asks for, when one is configured.
    pub metrics_token: Option<String>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// The web link that answers an invitation.
    pub fn invitation_link(&self, token: &str) -> String {
        format!("{}/api/v1/public/invitations/{token}", self.public_url)
    }

    /// The Telegram deep link for an invitation, when a bot is configured.
    pub fn bot_link(&self, token: &str) -> Option<String> {
        self.bot_username
            .as_ref()
            .map(|bot| format!("https://t.me/{bot}?start={token}"))
    }

    /// The public page of a case code (一案一码).
    pub fn case_link(&self, code: &str) -> String {
        format!("{}/api/v1/public/cases/{code}", self.public_url)
    }

    /// Builds the state and starts the answer writer.
    pub async fn new(db: DatabaseConnection, config: &Config) -> anyhow::Result<Self> {
        let intake = Intake::start(config).await?;
        let metrics = Metrics::new();
        for collector in intake.metrics().collectors() {
            metrics.register(collector);
        }
        Ok(Self(Arc::new(Shared {
            intake,
            contacts: config.contact_cipher()?,
            calendar: {
                let shared = SharedCalendar::new(WorkCalendar::official());
                crate::service::ticket_config::refresh_calendar(&db, &shared)
                    .await
                    .map_err(|e| anyhow::anyhow!("loading stored calendars: {e}"))?;
                shared
            },
            db,
            metrics,
            auth_failure_limit: Limit {
                max: config.auth_failures_per_window,
                window_secs: config.auth_failure_window_secs.max(1),
            },
            open_answer_limit: Limit {
                max: config.open_answers_per_hour,
                window_secs: 3600,
            },
            trust_forwarded_for: config.trust_forwarded_for,
            max_response_weight: config.max_response_weight,
            anonymity_min_n: config.anonymity_min_n.max(1),
            metrics_token: config
                .metrics_token
                .as_ref()
                .map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned())
                .filter(|t| !t.is_empty()),
            public_url: config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.listen))
                .trim_end_matches('/')
                .to_owned(),
            bot_username: config.bot_username.clone().filter(|b| !b.is_empty()),
        })))
    }
}

/// Route paths of the spec plus the documentation routes, for metrics labels.
fn route_templates(spec: &str) -> RouteTemplates {
    let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
    let mut paths: Vec<String> = spec["paths"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    paths.extend(["/docs", "/docs/", "/openapi.json", "/openapi.yaml"].map(str::to_owned));
    paths.extend(http::open311::TEMPLATES.map(str::to_owned));
    RouteTemplates::new(paths)
}

/// The whole HTTP app: API, docs and spec, inside the frame middleware. The public
/// answer operation (`publicAnswer`, the busiest route) is served straight from the
/// top-level router ([`http::surveys::answer_endpoint`]), with the operation's own
/// extractors and code, so the spec describes it exactly.
pub fn app(state: AppState, body_limit: usize) -> impl Endpoint<Output = Response> {
    app_with(state, body_limit, true)
}

/// The app with every operation served through the OpenAPI service, as the spec
/// declares it: what the direct routes of [`app`] are checked against.
pub fn documented_app(state: AppState, body_limit: usize) -> impl Endpoint<Output = Response> {
    app_with(state, body_limit, false)
}

fn app_with(state: AppState, body_limit: usize, direct: bool) -> impl Endpoint<Output = Response> {
    let api = http::openapi_service();
    let spec = api.spec();
    let routes = std::sync::Arc::new(route_templates(&spec));
    let guard = http::clean_text::CleanText::new(&spec, routes.clone());
    let frame = Frame {
        metrics: state.metrics.clone(),
        routes,
        body_limit,
    };
    let mut route = Route::new();
    if direct {
        route = route.at(http::surveys::ANSWER_PATH, http::surveys::answer_endpoint());
    }
    route
        .nest("/docs", api.swagger_ui())
        .at("/openapi.json", http::spec::json_endpoint)
        .at("/openapi.yaml", http::spec::yaml_endpoint)
        .nest("/open311/v2", http::open311::routes())
        .nest("/", api)
        .data(state)
        .with(CatchPanic::new())
        .with(guard)
        .with(frame)
}

/// Serves `endpoint` on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish for up to `grace`.
pub async fn serve<E>(
    listener: tokio::net::TcpListener,
    endpoint: E,
    shutdown: impl Future<Output = ()> + Send,
    grace: Duration,
) -> std::io::Result<()>
where
    E: Endpoint + 'static,
{
    let acceptor = TcpAcceptor::from_tokio(listener)?;
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(endpoint, shutdown, Some(grace))
        .await
}

/// Periodic upkeep every `every`: expires overdue invitations, escalates overdue
/// tickets and rates replies left unrated for `rating_days` days.
pub fn spawn_upkeep(
    db: DatabaseConnection,
    calendar: SharedCalendar,
    rating_days: i64,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            let now = chrono::Utc::now();
            match crate::service::surveys::expire_due(&db, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "invitations expired"),
                Err(e) => tracing::error!(error = %e, "expiring invitations failed"),
            }
            // Years another replica loaded since the last round.
            if let Err(e) = crate::service::ticket_config::refresh_calendar(&db, &calendar).await {
                tracing::error!(error = %e, "refreshing calendars failed");
            }
            match crate::service::tickets::upkeep(&db, &calendar.current(), now, rating_days).await
            {
                Ok(done) if done == Default::default() => {}
                Ok(done) => tracing::info!(
                    escalated = done.escalated,
                    deemed_rated = done.deemed_rated,
                    "tickets upkept"
                ),
                Err(e) => tracing::error!(error = %e, "ticket upkeep failed"),
            }
        }
    })
}

/// Serves `endpoint` on a free loopback port until the process ends; its address.
/// For benchmarks and tools that drive an app over real connections.
pub async fn spawn_on_loopback<E>(endpoint: E) -> std::io::Result<std::net::SocketAddr>
where
    E: Endpoint + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(
        listener,
        endpoint,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    Ok(addr)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, draining requests"),
        () = term => tracing::info!("SIGTERM received, draining requests"),
    }
}
