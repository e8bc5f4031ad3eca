//! Harness for the end-to-end suites: every test gets the real app over its own fresh
//! database — a new SQLite file always, and a newly created PostgreSQL database too
//! when `PINGJIA_TEST_POSTGRES_URL` is set (dropped afterwards).

pub mod fixtures;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pingjia_api::config::Config;
use pingjia_api::domain::Role;
use pingjia_api::service::{Actor, keys};
use pingjia_api::{db, startup};
use poem::endpoint::BoxEndpoint;
use poem::http::{HeaderMap, Method, StatusCode};
use poem::test::TestClient;
use poem::{EndpointExt, Response};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use secrecy::SecretString;
use serde_json::Value;

/// Environment variable with a PostgreSQL server URL (any database on it).
pub const POSTGRES_ENV: &str = "PINGJIA_TEST_POSTGRES_URL";

/// Which database a test app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running app over a fresh database.
pub struct TestApp {
    pub backend: Backend,
    pub db: DatabaseConnection,
    config: Config,
    client: TestClient<BoxEndpoint<'static, Response>>,
    /// The app as documented (`startup::documented_app`), built on first use.
    documented: tokio::sync::OnceCell<TestClient<BoxEndpoint<'static, Response>>>,
    _dir: Option<tempfile::TempDir>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// Asserts the status, printing the body when it differs.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts the standard error shape and code.
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let reply = self.expect(status);
        let b = &reply.body;
        assert_eq!(b["code"], code, "error code; body: {}", reply.text);
        assert!(
            b["message"].as_str().is_some_and(|m| !m.is_empty()),
            "message: {}",
            reply.text
        );
        let id = b["request_id"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "request_id: {}", reply.text);
        assert_eq!(
            reply
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            Some(id),
            "body request_id equals the X-Request-Id header"
        );
        assert!(b["details"].is_object(), "details: {}", reply.text);
        reply
    }

    /// The fields named by a 422.
    pub fn fields(&self) -> Vec<String> {
        self.body["details"]["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    async fn over(
        backend: Backend,
        url: String,
        dir: Option<tempfile::TempDir>,
        mut config: Config,
    ) -> Self {
        config.database_url = SecretString::from(url);
        let body_limit = config.body_limit_bytes;
        let conn = db::connect(&config).await.expect("connect");
        db::migrate(&conn).await.expect("migrate");
        let app = startup::app(
            startup::AppState::new(conn.clone(), &config)
                .await
                .expect("app state"),
            body_limit,
        )
        .boxed();
        Self {
            backend,
            db: conn,
            config,
            client: TestClient::new(app),
            documented: tokio::sync::OnceCell::new(),
            _dir: dir,
        }
    }

    /// Serves the same app over real HTTP on a free loopback port.
    pub async fn serve(&self) -> RunningServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = startup::app(
            startup::AppState::new(self.db.clone(), &self.config)
                .await
                .expect("app state"),
            self.config.body_limit_bytes,
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(startup::serve(
            listener,
            app,
            shutdown,
            Duration::from_secs(10),
        ));
        RunningServer {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// A request with an optional key and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, path);
        if let Some(key) = key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            req = req.body_json(&body);
        }
        read(req.send().await.0).await
    }

    /// A raw request: exact headers and body bytes.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        send_raw(&self.client, method, path, headers, body).await
    }

    /// The same raw request to the app as documented: every operation served through
    /// the OpenAPI service, none by a direct route (`startup::documented_app`), over
    /// the same database.
    pub async fn raw_documented(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let client = self
            .documented
            .get_or_init(|| async {
                let state = startup::AppState::new(self.db.clone(), &self.config)
                    .await
                    .expect("app state");
                TestClient::new(
                    startup::documented_app(state, self.config.body_limit_bytes).boxed(),
                )
            })
            .await;
        send_raw(client, method, path, headers, body).await
    }

    /// The URL of this test's database.
    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret;
        self.config.database_url.expose_secret().to_owned()
    }

    /// Downloads an XLSX export with `key` and returns its first sheet.
    pub async fn xlsx_sheet(&self, path: &str, key: &str) -> calamine::Range<calamine::Data> {
        use calamine::Reader;
        let reply = self
            .raw(
                Method::GET,
                path,
                &[("Authorization", &format!("Bearer {key}"))],
                Vec::new(),
            )
            .await
            .expect(200);
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(reply.bytes)).expect("a workbook");
        book.worksheet_range_at(0)
            .expect("a sheet")
            .expect("a readable sheet")
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(key), Some(body)).await
    }

    /// Issues a key directly through the service (as `pingjia keys create` does).
    pub async fn key(&self, role: Role, region: Option<&str>, agency: Option<i64>) -> String {
        keys::create(
            &self.db,
            &Actor::cli(),
            keys::NewKey {
                name: format!("test {}", role.as_str()),
                role,
                region_code: region.map(str::to_owned),
                agency_id: agency,
                channel: (role == Role::Channel).then(|| "telegram".to_owned()),
            },
        )
        .await
        .expect("key created")
        .secret
    }

    /// A `channel` key speaking for `channel` (telegram, web, hotline_12345).
    pub async fn channel_key(&self, channel: &str) -> String {
        keys::create(
            &self.db,
            &Actor::cli(),
            keys::NewKey {
                name: format!("test channel {channel}"),
                role: Role::Channel,
                region_code: None,
                agency_id: None,
                channel: Some(channel.to_owned()),
            },
        )
        .await
        .expect("channel key created")
        .secret
    }

    pub async fn admin(&self) -> String {
        self.key(Role::Admin, None, None).await
    }

    /// Loads the demo data set (连云港市: counties 320706, 320707, 320722).
    pub async fn with_demo(&self) {
        pingjia_api::demo::load_if_empty(&self.db)
            .await
            .expect("demo data")
            .expect("empty database");
    }

    /// Loads the demo data set and its year of activity up to `now`, as
    /// `serve --demo` does.
    pub async fn with_demo_activity(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> pingjia_api::demo::activity::Activity {
        self.with_demo().await;
        pingjia_api::demo::activity::load(
            &self.db,
            &self.config.contact_cipher().expect("contact key"),
            &pingjia_api::domain::calendar::WorkCalendar::official(),
            now,
        )
        .await
        .expect("demo activity")
    }
}

/// A server started by [`TestApp::serve`].
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Sends the shutdown signal (as SIGTERM would).
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the server to finish draining and stop.
    pub async fn stopped(self) -> std::io::Result<()> {
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("server stops after draining")
            .expect("server task")
    }
}

async fn send_raw(
    client: &TestClient<BoxEndpoint<'static, Response>>,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let mut req = client.request(method, path).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    read(req.send().await.0).await
}

async fn read(resp: Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().into_bytes().await.expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
        bytes: bytes.to_vec(),
    }
}

static SKIP_NOTED: AtomicBool = AtomicBool::new(false);

/// Runs `test` on SQLite, then on PostgreSQL when [`POSTGRES_ENV`] is set.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for_each_backend_with(|_| {}, test).await;
}

/// As [`for_each_backend`], with configuration changed by `configure`.
pub async fn for_each_backend_with<C, F, Fut>(configure: C, test: F)
where
    C: Fn(&mut Config),
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    let mut config = Config {
        contact_key: Some(pingjia_api::domain::contact::ContactCipher::generate_hex().into()),
        ..Config::default()
    };
    configure(&mut config);
    let app = TestApp::over(Backend::Sqlite, url, Some(dir), config.clone()).await;
    run(test(app)).await;

    match std::env::var(POSTGRES_ENV) {
        Ok(server) if !server.is_empty() => {
            let name = format!("pingjia_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(server.as_str())
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            let url = database_url(&server, &name);
            let app = TestApp::over(Backend::Postgres, url, None, config.clone()).await;
            let conn = app.db.clone();
            let outcome = tokio::spawn(test(app)).await;
            conn.close().await.ok();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("drop test database");
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic.into_panic());
            }
        }
        _ => {
            if !SKIP_NOTED.swap(true, Ordering::Relaxed) {
                eprintln!("PostgreSQL cases skipped: {POSTGRES_ENV} is not set");
            }
        }
    }
}

async fn run<Fut: Future<Output = ()> + Send + 'static>(fut: Fut) {
    if let Err(panic) = tokio::spawn(fut).await {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// Replaces the database name in a PostgreSQL URL.
fn database_url(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn database_url_swaps_the_database_name() {
        assert_eq!(
            database_url("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            database_url("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            database_url("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}

/// Log lines captured in memory, for the suites that prove what never reaches logs.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Captures every JSON log line of the process from now on, with the service's own
    /// filter plus `directives` (e.g. `pingjia_api=trace`). Once per test binary.
    pub fn install(directives: &str) -> Self {
        use tracing_subscriber::prelude::*;

        let logs = Self::default();
        let filter = tracing_subscriber::EnvFilter::new(format!(
            "{},{directives}",
            pingjia_api::telemetry::DEFAULT_FILTER
        ));
        let subscriber = tracing_subscriber::registry().with(filter).with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(logs.clone()),
        );
        // `try_init` also forwards the `log` crate's records (teloxide logs through it).
        tracing_subscriber::util::SubscriberInitExt::try_init(subscriber)
            .expect("the only subscriber");
        logs
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8(bytes).expect("utf-8 logs")
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
