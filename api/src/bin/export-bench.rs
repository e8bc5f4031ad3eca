//! Benchmark of a campaign's response export (CSV and XLSX) over HTTP.
//!
//! ```text
//! cargo run --release -p pingjia-api --bin export-bench -- [--rows 1000000]
//! ```
//!
//! Stores `rows` responses of one campaign in a fresh SQLite file (demo registry),
//! serves the real app on a loopback port and downloads
//! `GET /api/v1/campaigns/{id}/responses?format=csv|xlsx` with an admin key, counting
//! bytes as they stream in. For each format it reports the time, the size, the CSV's
//! line count, and the growth of this process's peak resident memory during the
//! download (the peak is reset before each), which shows whether the export holds
//! the rows in memory.

use std::io::Write;
use std::time::Instant;

use chrono::Utc;
use pingjia_api::domain::Role;
use pingjia_api::service::{Actor, keys};
use pingjia_api::store::response;
use pingjia_api::{demo, startup};
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Resident set and its peak (VmRSS, VmHWM) of this process, in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident memory to the current one (Linux `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Downloads `path` with HTTP/1.1 (chunked or sized) and returns the body's
/// (bytes, newlines), counted as it streams in.
async fn download(addr: std::net::SocketAddr, path: &str, key: &str) -> anyhow::Result<(u64, u64)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (read, mut write) = stream.into_split();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    write.write_all(request.as_bytes()).await?;
    let mut read = BufReader::with_capacity(1 << 16, read);
    let mut status = String::new();
    read.read_line(&mut status).await?;
    anyhow::ensure!(
        status.starts_with("HTTP/1.1 200"),
        "export answered {status}"
    );
    let mut length: Option<u64> = None;
    loop {
        let mut line = String::new();
        read.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = Some(v.trim().parse()?);
        }
    }
    let mut counted = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 16];
    match length {
        Some(n) => consume(&mut read, n, &mut buf, &mut counted).await?,
        None => loop {
            // Chunked: a hex size line, the data, CRLF; a zero size ends the body.
            let mut size = String::new();
            read.read_line(&mut size).await?;
            let n = u64::from_str_radix(size.trim(), 16)?;
            if n == 0 {
                break;
            }
            consume(&mut read, n, &mut buf, &mut counted).await?;
            let mut crlf = [0u8; 2];
            read.read_exact(&mut crlf).await?;
        },
    }
    Ok(counted)
}

/// Reads exactly `n` body bytes, adding to (bytes, newlines).
async fn consume<R: tokio::io::AsyncRead + Unpin>(
    read: &mut R,
    mut n: u64,
    buf: &mut [u8],
    counted: &mut (u64, u64),
) -> anyhow::Result<()> {
    while n > 0 {
        let want = buf.len().min(n as usize);
        let got = read.read(&mut buf[..want]).await?;
        anyhow::ensure!(got > 0, "the body ended early");
        counted.0 += got as u64;
        counted.1 += buf[..got].iter().filter(|b| **b == b'\n').count() as u64;
        n -= got as u64;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rows = 1_000_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--rows" => rows = args.next().unwrap_or_default().parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let mut out = std::io::stdout().lock();
    let dir = tempfile::tempdir()?;
    let (config, conn) = demo::scratch_database(dir.path()).await?;
    let campaign = demo::open_campaign(&conn, "export benchmark", "open")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let now = Utc::now();
    for start in (0..rows).step_by(10_000) {
        let txn = conn.begin().await?;
        for chunk_start in (start..(start + 10_000).min(rows)).step_by(1_000) {
            let chunk = (chunk_start..(chunk_start + 1_000).min(rows)).map(|i| {
                let l = |k: usize| 1 + ((i * 7 + k * 3) % 5) as i64;
                response::ActiveModel {
                    campaign_id: Set(campaign.id),
                    invitation_id: Set(None),
                    questionnaire_version_id: Set(campaign.questionnaire_version_id),
                    agency_id: Set(1 + (i % 12) as i64),
                    channel: Set("link".into()),
                    answers: Set(serde_json::json!({
                        "attitude": l(0), "credentials": i % 3 != 0, "rights": i % 4 != 0,
                        "procedure": l(3), "fairness": l(4), "integrity": i % 5 == 0,
                        "burden": l(6), "guidance": l(7), "overall": l(8).max(3),
                    })),
                    weight: Set(1.0),
                    duration_secs: Set(Some(60 + (i % 300) as i32)),
                    straight_lining: Set(false),
                    too_fast: Set(false),
                    submitted_at: Set(now),
                    ..Default::default()
                }
            });
            response::Entity::insert_many(chunk).exec(&txn).await?;
        }
        txn.commit().await?;
    }
    writeln!(
        out,
        "stored {rows} responses in {:.1} s",
        started.elapsed().as_secs_f64()
    )?;

    let admin = keys::create(
        &conn,
        &Actor::cli(),
        keys::NewKey {
            name: "export benchmark".into(),
            role: Role::Admin,
            region_code: None,
            agency_id: None,
            channel: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let addr = startup::spawn_on_loopback(startup::app(
        startup::AppState::new(conn.clone(), &config).await?,
        config.body_limit_bytes,
    ))
    .await?;
    for format in ["csv", "xlsx"] {
        let (rss_before, _) = memory_mib();
        reset_peak();
        let started = Instant::now();
        let path = format!(
            "/api/v1/campaigns/{}/responses?format={format}",
            campaign.id
        );
        let (bytes, newlines) = download(addr, &path, &admin.secret).await?;
        let secs = started.elapsed().as_secs_f64();
        let (_, peak) = memory_mib();
        write!(
            out,
            "{format:<5} {:>8.1} MB in {secs:>6.2} s = {:>6.0} rows/s; resident before {rss_before:.0} MiB, peak during {peak:.0} MiB (+{:.0} MiB)",
            bytes as f64 / 1e6,
            rows as f64 / secs,
            peak - rss_before
        )?;
        if format == "csv" {
            write!(out, "; {newlines} lines (header + {rows} rows expected)")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
