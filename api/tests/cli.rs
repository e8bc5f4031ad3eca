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

fn http_get(addr: &str, path: &str, key: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn serve_demo_prints_a_working_admin_key_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(BIN)
        .args(["serve", "--demo"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
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
    let addr = base.trim_start_matches("http://").to_owned();
    let response = http_get(&addr, "/api/v1/agencies?page_size=100", &key);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = &response[response.find("\r\n\r\n").expect("body") + 4..];
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
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
