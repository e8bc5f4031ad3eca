//! The `pingjia` binary as an operator uses it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pingjia");

fn pingjia(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("PINGJIA_DATABASE_URL")
        .env_remove("PINGJIA_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run pingjia")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn keys_are_created_listed_without_secret_and_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let created = pingjia(
        dir.path(),
        &["keys", "create", "--role", "admin", "--name", "ops desk"],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let out = stdout(&created);
    let secret = out
        .lines()
        .find(|l| l.starts_with("pj_"))
        .expect("secret printed")
        .to_owned();
    assert_eq!(secret.len(), 67, "pj_ + 64 hex digits (256 bits)");
    assert!(
        dir.path().join("pingjia.db").exists(),
        "default SQLite file created in the working directory"
    );

    let listed = pingjia(dir.path(), &["keys", "list"]);
    let text = stdout(&listed);
    assert!(
        text.contains("ops desk") && text.contains("admin"),
        "{text}"
    );
    assert!(!text.contains(&secret[3..]), "the secret is never listed");

    let revoked = pingjia(dir.path(), &["keys", "revoke", "1"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let again = pingjia(dir.path(), &["keys", "revoke", "1"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already revoked"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn scoped_keys_need_their_scope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = pingjia(
        dir.path(),
        &["keys", "create", "--role", "bureau", "--name", "x"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--region"), "{}", stderr(&o));
    let o = pingjia(
        dir.path(),
        &[
            "keys", "create", "--role", "bureau", "--region", "320706", "--name", "x",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    let o = pingjia(
        dir.path(),
        &["keys", "create", "--role", "mayor", "--name", "x"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown role"), "{}", stderr(&o));
}

#[test]
fn migrations_go_up_down_and_report_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(pingjia(dir.path(), &["migrate"]).status.success());
    let status = stdout(&pingjia(dir.path(), &["migrate", "status"]));
    assert!(
        status.contains("m20261124_000001_registry") && status.contains("Applied"),
        "{status}"
    );
    let down = pingjia(dir.path(), &["migrate", "down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    let status = stdout(&pingjia(dir.path(), &["migrate", "status"]));
    assert!(status.contains("Pending"), "{status}");
    assert!(pingjia(dir.path(), &["migrate", "up"]).status.success());
    let status = stdout(&pingjia(dir.path(), &["migrate", "status"]));
    assert!(!status.contains("Pending"), "{status}");
}

#[test]
fn openapi_prints_and_writes_the_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = pingjia(dir.path(), &["openapi"]);
    let spec: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON spec");
    assert!(spec["paths"]["/api/v1/agencies"].is_object());
    let o = pingjia(dir.path(), &["openapi", "--write", "--dir", "spec"]);
    assert!(o.status.success());
    assert!(dir.path().join("spec/openapi.json").exists());
    assert!(dir.path().join("spec/openapi.yaml").exists());
}

#[test]
fn unknown_config_keys_are_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("pingjia.toml"),
        "colour = \"blue\"\n[db]\nmax_connections = 2\n",
    )
    .expect("write");
    let o = pingjia(dir.path(), &["migrate", "status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("unknown configuration key") && err.contains("colour"),
        "{err}"
    );
    assert!(!err.contains("max_connections"), "{err}");
}

/// `pingjia serve --demo` in `dir` on a free loopback port, on `database_url` or the
/// default SQLite file: the child, its address and the admin key it printed.
fn serve_demo(dir: &Path, database_url: Option<&str>) -> (std::process::Child, String, String) {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--demo"])
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("PINGJIA_DATABASE_URL");
    if let Some(url) = database_url {
        command.env("PINGJIA_DATABASE_URL", url);
    }
    let mut child = command
        .env("PINGJIA_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut key, mut base) = (String::new(), String::new());
    let started = Instant::now();
    while key.is_empty() || base.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "demo start timed out"
        );
        let line = lines.next().expect("output line").expect("utf-8");
        if let Some(k) = line.strip_prefix("Admin key (shown once): ") {
            key = k.trim().to_owned();
        }
        if let Some(url) = line.strip_prefix("API docs:") {
            base = url.trim().trim_end_matches("/docs").to_owned();
        }
    }
    // Keep reading: a server whose stdout is closed fails its next line and stops.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = base.trim_start_matches("http://").to_owned();
    (child, addr, key)
}

#[test]
fn serve_demo_prints_a_working_admin_key_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr, key) = serve_demo(dir.path(), None);
    let (status, json) = call(
        &addr,
        "GET",
        "/api/v1/agencies?page_size=100",
        Some(&key),
        &serde_json::Value::Null,
    )
    .expect("agencies");
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["total"], 12);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit after SIGTERM: {status}");
}

/// One request on a connection of its own, with `body` unless it is `Null`: the status
/// and the JSON body (`Null` when empty). An error means the server could not be
/// reached or hung up.
fn call(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &serde_json::Value,
) -> std::io::Result<(u16, serde_json::Value)> {
    let mut stream = TcpStream::connect(addr)?;
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {response:?}")))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = if body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(body).map_err(std::io::Error::other)?
    };
    Ok((status, json))
}

/// Killed with SIGKILL while answers pour in, the server has lost none it acknowledged:
/// every 201's response is stored for its invitation, the database is intact, each
/// stored response names its own pending invitation, and the survey statistics count exactly
/// the stored responses. (A killed process leaves the page cache to the kernel, so this
/// shows that no answer is acknowledged before its commit; surviving power loss rests
/// on the flush before the acknowledgement: the writer's on SQLite, PostgreSQL's own.)
#[test]
fn acknowledged_answers_survive_a_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("pingjia.db").display());
    kill_9_while_answering(dir.path(), None, &url);
}

/// The same on PostgreSQL, in a database of its own (dropped afterwards), when
/// `PINGJIA_TEST_POSTGRES_URL` names a server.
#[test]
fn acknowledged_answers_survive_a_kill_9_on_postgres() {
    use sea_orm::ConnectionTrait;
    use sea_orm::sqlx::ConnectOptions;
    use sea_orm::sqlx::postgres::PgConnectOptions;
    let server = match std::env::var("PINGJIA_TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => server,
        _ => {
            eprintln!("PostgreSQL case skipped: PINGJIA_TEST_POSTGRES_URL is not set");
            return;
        }
    };
    let name = format!("pingjia_kill_{}", std::process::id());
    let options: PgConnectOptions = server.parse().expect("PostgreSQL URL");
    let url = options.database(&name).to_url_lossy().to_string();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let admin = runtime
        .block_on(sea_orm::Database::connect(server.as_str()))
        .expect("connect to PostgreSQL");
    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    runtime
        .block_on(admin.execute_unprepared(&drop))
        .expect("drop");
    runtime
        .block_on(admin.execute_unprepared(&format!("CREATE DATABASE {name}")))
        .expect("create test database");
    let dir = tempfile::tempdir().expect("tempdir");
    let outcome = std::panic::catch_unwind(|| kill_9_while_answering(dir.path(), Some(&url), &url));
    runtime
        .block_on(admin.execute_unprepared(&drop))
        .expect("drop");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Serves `database_url` (the default SQLite file when `None`), answers until it is
/// killed, then checks through `read_url` what was stored.
fn kill_9_while_answering(dir: &Path, database_url: Option<&str>, read_url: &str) {
    use serde_json::json;
    let (mut child, addr, key) = serve_demo(dir, database_url);
    let admin = Some(key.as_str());
    let ok = |what: &str, (status, body): (u16, serde_json::Value), want: u16| {
        assert_eq!(status, want, "{what}: {body}");
        body
    };

    let today = chrono::Utc::now().date_naive();
    let decided = (today - chrono::Duration::days(3)).to_string();
    let cases: Vec<_> = (0..300)
        .map(|i| {
            json!({"agency_id": 1 + i % 12, "case_number": format!("KILL-{i}"), "kind": "penalty",
                   "procedure": "general", "decision_date": decided})
        })
        .collect();
    let post = |path: &str, body: serde_json::Value| call(&addr, "POST", path, admin, &body);
    ok(
        "cases",
        post("/api/v1/cases", json!({"cases": cases})).expect("cases"),
        200,
    );
    let questionnaires = ok(
        "questionnaires",
        call(
            &addr,
            "GET",
            "/api/v1/questionnaires",
            admin,
            &serde_json::Value::Null,
        )
        .expect("questionnaires"),
        200,
    );
    let questionnaire = questionnaires
        .as_array()
        .and_then(|l| l.iter().find(|q| q["key"] == "enterprise_return_visit"))
        .and_then(|q| q["id"].as_i64())
        .expect("built-in enterprise questionnaire");
    let now = chrono::Utc::now();
    let campaign = ok(
        "campaign",
        post(
            "/api/v1/campaigns",
            json!({"name": "kill -9", "questionnaire_id": questionnaire, "version": 1,
                   "region_code": "320700", "mode": "invitation",
                   "period_start": (today - chrono::Duration::days(30)).to_string(),
                   "period_end": today.to_string(),
                   "opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                   "closes_at": (now + chrono::Duration::days(30)).to_rfc3339()}),
        )
        .expect("campaign"),
        201,
    )["id"]
        .as_i64()
        .expect("campaign id");
    let status = format!("/api/v1/campaigns/{campaign}/status");
    ok(
        "open",
        post(&status, json!({"status": "open"})).expect("open"),
        200,
    );
    let generated = ok(
        "invitations",
        post(
            &format!("/api/v1/campaigns/{campaign}/invitations"),
            json!({}),
        )
        .expect("generate"),
        201,
    );
    let invitations: Vec<(i64, String)> = generated["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| {
            let id = i["id"].as_i64().expect("id");
            (id, i["token"].as_str().expect("token").to_owned())
        })
        .collect();
    assert!(
        invitations.len() >= 300,
        "{} invitations",
        invitations.len()
    );

    // Eight submitters answer until the server is gone; each keeps what was acknowledged.
    let sheet = json!({"answers": {"attitude": 4, "credentials": true, "rights": true,
        "procedure": 4, "fairness": 5, "integrity": false, "burden": 4, "guidance": 4,
        "overall": 5}, "duration_secs": 95});
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let submitters: Vec<_> = (0..8)
        .map(|k| {
            let share: Vec<(i64, String)> =
                invitations.iter().skip(k).step_by(8).cloned().collect();
            let (addr, sheet, acknowledged) = (addr.clone(), sheet.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                for (invitation, token) in share {
                    let path = format!("/api/v1/public/invitations/{token}/responses");
                    match call(&addr, "POST", &path, None, &sheet) {
                        Ok((201, body)) => {
                            let response = body["response_id"].as_i64().expect("response id");
                            acknowledged
                                .lock()
                                .expect("lock")
                                .push((invitation, response));
                        }
                        Ok((status, body)) => panic!("answer refused: {status} {body}"),
                        // Killed: the connection is refused or cut.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().expect("lock").len() < 100 {
        assert!(Instant::now() < deadline, "answers too slow");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    for s in submitters {
        s.join().expect("submitter");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() < invitations.len(),
        "the kill came after the last answer: nothing in flight was tested"
    );

    let stored = stored_after_the_crash(read_url, campaign);
    for (invitation, response) in &acknowledged {
        assert_eq!(
            stored.responses.get(response),
            Some(invitation),
            "acknowledged response {response} lost"
        );
    }
    let n = stored.responses.len() as i64;
    assert_eq!(stored.answered, n, "responses and their invitations differ");
    assert_eq!(stored.counted, n, "statistics and responses differ");
}

/// What a campaign has in the database: its responses (id → invitation), the distinct
/// pending invitations of the same campaign and agency they name, and the respondents
/// its statistics count.
struct Stored {
    responses: std::collections::HashMap<i64, i64>,
    answered: i64,
    counted: i64,
}

/// Reads [`Stored`] through a connection of its own; on SQLite first checks the file.
fn stored_after_the_crash(url: &str, campaign: i64) -> Stored {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let db = sea_orm::Database::connect(url).await.expect("reopen");
        let backend = db.get_database_backend();
        let rows = |sql: String| {
            let db = &db;
            async move {
                db.query_all_raw(Statement::from_string(backend, sql))
                    .await
                    .expect("query")
            }
        };
        if backend == DatabaseBackend::Sqlite {
            let check = rows("PRAGMA integrity_check".into()).await;
            let ok: String = check[0].try_get_by_index(0).expect("integrity");
            assert_eq!(ok, "ok");
            // The answer writer's own connection does not check foreign keys.
            let dangling = rows("PRAGMA foreign_key_check".into()).await;
            assert!(
                dangling.is_empty(),
                "{} rows break a foreign key",
                dangling.len()
            );
        }
        let responses = rows(format!(
            "SELECT id, invitation_id FROM responses WHERE campaign_id = {campaign}"
        ))
        .await
        .iter()
        .map(|r| {
            let id: i64 = r.try_get_by_index(0).expect("id");
            let invitation: i64 = r.try_get_by_index(1).expect("invitation");
            (id, invitation)
        })
        .collect();
        let count = |sql: String| {
            let rows = rows(sql);
            async move {
                let r = rows.await;
                r[0].try_get_by_index::<i64>(0).expect("count")
            }
        };
        Stored {
            responses,
            answered: count(format!(
                "SELECT COUNT(DISTINCT invitations.id) FROM responses JOIN invitations \
                 ON invitations.id = responses.invitation_id \
                 AND invitations.campaign_id = responses.campaign_id \
                 AND invitations.agency_id = responses.agency_id \
                 WHERE responses.campaign_id = {campaign} AND invitations.status = 'pending'"
            ))
            .await,
            counted: count(format!(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM survey_stats \
                 WHERE campaign_id = {campaign} AND dimension = 'overall_index'"
            ))
            .await,
        }
    })
}
