//! Benchmark of durable answer ingestion over HTTP.
//!
//! ```text
//! cargo run --release -p pingjia-api --bin answer-bench -- [--answers 30000] [--connections 256] [--rounds 3] [--direct | --documented]
//! ```
//!
//! The defaults are the load at which BENCHMARKS.md reports the targets (issue 4): 256
//! connections keep the writer's groups full; with far fewer, each answer waits for a
//! flush of the log of its own and the rate is bound by the disk's latency, not the
//! service's work.
//!
//! Serves the real app on SQLite (a fresh file, WAL, every acknowledged answer flushed
//! to the disk) on a loopback port, prepares one invitation per answer, then submits
//! the answers from keep-alive connections and reports the sustained rate and latency
//! percentiles. Right after, a bare poem JSON echo endpoint on the same machine,
//! driven the same way with four times as many requests, gives the ceiling. With
//! `--rounds N` the two alternate N times, each round with fresh invitations, and the
//! bench ends with the median of the rounds' ratios: on a shared VM whose speed drifts
//! by a quarter within minutes, one pair of runs says little. `--direct` submits all
//! the prepared answers to the writer without HTTP; `--documented` serves the app as
//! documented (`startup::documented_app`: the answer route through the OpenAPI
//! service, not the top-level router), to measure what the direct route saves.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use pingjia_api::service::surveys;
use pingjia_api::{demo, startup};
use poem::{EndpointExt, Route, handler, post, web::Json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// mimalloc: the answer path allocates per request and per row; glibc's allocator
/// took about a tenth of the CPU there (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[handler]
fn echo(body: Json<serde_json::Value>) -> Json<serde_json::Value> {
    body
}

/// Sends `requests` (path, body) over one keep-alive connection, once `start` says
/// go; returns latencies.
async fn drive(
    stream: TcpStream,
    start: std::sync::Arc<tokio::sync::Barrier>,
    requests: Vec<(String, String)>,
) -> anyhow::Result<Vec<Duration>> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    start.wait().await;
    let mut read = BufReader::new(read);
    let mut latencies = Vec::with_capacity(requests.len());
    for (path, body) in requests {
        let started = Instant::now();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        write.write_all(request.as_bytes()).await?;
        let mut status = String::new();
        read.read_line(&mut status).await?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            read.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse()?;
            }
        }
        let mut body = vec![0u8; length];
        read.read_exact(&mut body).await?;
        anyhow::ensure!(
            status.starts_with("HTTP/1.1 201") || status.starts_with("HTTP/1.1 200"),
            "unexpected answer: {status} {}",
            String::from_utf8_lossy(&body)
        );
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

/// Runs all requests over `connections` connections, all opened before the clock
/// starts; returns (seconds, latencies).
async fn load(
    addr: SocketAddr,
    requests: Vec<(String, String)>,
    connections: usize,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let mut shares: Vec<Vec<(String, String)>> = (0..connections).map(|_| Vec::new()).collect();
    for (i, r) in requests.into_iter().enumerate() {
        shares[i % connections].push(r);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(connections + 1));
    let mut tasks = Vec::with_capacity(connections);
    for share in shares {
        let stream = TcpStream::connect(addr).await?;
        tasks.push(tokio::spawn(drive(stream, start.clone(), share)));
    }
    start.wait().await;
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((started.elapsed().as_secs_f64(), all))
}

/// Echo requests per answer in a round: the echo is four to five times as fast, so its
/// phase then lasts about as long as the answers' and sees the VM in the same state
/// (a phase of under a second varied by a quarter from one round to the next).
const ECHO_FACTOR: usize = 4;

/// CPU time so far: this process's threads, by thread id with the thread's name (from
/// `/proc/self/task/*/stat`), and the whole machine's, by kind (from `/proc/stat`).
/// Linux's USER_HZ is 100.
struct CpuSample {
    threads: HashMap<u64, (String, f64)>,
    /// Seconds of user, nice, system, idle, iowait, irq, softirq and steal time,
    /// summed over the cores.
    machine: [f64; 8],
}

/// Field `i` of a whitespace-separated `/proc` line, as seconds.
fn ticks(fields: &[&str], i: usize) -> f64 {
    fields
        .get(i)
        .and_then(|f| f.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 100.0
}

impl CpuSample {
    fn now() -> Self {
        let mut threads = HashMap::new();
        for task in std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let name = stat[open + 1..close].to_owned();
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            let id = task.file_name().to_string_lossy().parse().unwrap_or(0);
            threads.insert(id, (name, ticks(&fields, 11) + ticks(&fields, 12)));
        }
        let mut machine = [0.0; 8];
        if let Some(line) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
        {
            let fields: Vec<&str> = line.split_whitespace().skip(1).collect();
            for (i, m) in machine.iter_mut().enumerate() {
                *m = ticks(&fields, i);
            }
        }
        Self { threads, machine }
    }
}

/// How busy the CPU was between two samples `secs` apart: cores this process used in
/// all and by each kind of thread (tokio's workers counted together), then the whole
/// machine's cores by kind of time.
fn cpu_report(
    out: &mut impl Write,
    before: &CpuSample,
    after: &CpuSample,
    secs: f64,
    requests: usize,
) -> anyhow::Result<()> {
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    for (id, (name, cpu)) in &after.threads {
        let earlier = before.threads.get(id).map_or(0.0, |(_, c)| *c);
        *by_name.entry(name.clone()).or_default() += (cpu - earlier) / secs;
    }
    let total: f64 = by_name.values().sum();
    let parts: Vec<String> = by_name
        .iter()
        .filter(|(_, cores)| **cores >= 0.005)
        .map(|(name, cores)| format!("{name} {cores:.2}"))
        .collect();
    writeln!(
        out,
        "{:<28} {total:.2} cores, {:.0} µs a request: {}",
        "  CPU",
        total * secs / requests as f64 * 1e6,
        parts.join(", ")
    )?;
    let kinds = [
        "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
    ];
    let machine: Vec<String> = kinds
        .iter()
        .zip(after.machine.iter().zip(before.machine))
        .map(|(kind, (a, b))| (kind, (a - b) / secs))
        .filter(|(_, cores)| *cores >= 0.005)
        .map(|(kind, cores)| format!("{kind} {cores:.2}"))
        .collect();
    writeln!(out, "{:<28} cores: {}", "  machine", machine.join(", "))?;
    Ok(())
}

/// A histogram's sum and count at one moment.
#[derive(Clone, Copy, Default)]
struct Sample {
    sum: f64,
    count: u64,
}

impl Sample {
    fn of(h: &prometheus::Histogram) -> Self {
        Self {
            sum: h.get_sample_sum(),
            count: h.get_sample_count(),
        }
    }

    /// The mean of what was observed between `before` and `self`.
    fn mean_since(self, before: Self) -> f64 {
        (self.sum - before.sum) / (self.count - before.count).max(1) as f64
    }
}

/// The writer's histograms at one moment, to report a round's share.
#[derive(Clone, Copy, Default)]
struct Stages {
    queued: Sample,
    group: Sample,
    group_size: Sample,
    flush: Sample,
    submit: Sample,
}

impl Stages {
    fn now(metrics: &pingjia_api::service::intake::IntakeMetrics) -> Self {
        Self {
            queued: Sample::of(&metrics.queued),
            group: Sample::of(&metrics.group),
            group_size: Sample::of(&metrics.group_size),
            flush: Sample::of(&metrics.flush),
            submit: Sample::of(&metrics.submit),
        }
    }
}

/// Where the answers waited between two snapshots of the writer's histograms: mean
/// milliseconds per stage.
fn stage_report(out: &mut impl Write, before: &Stages, after: &Stages) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:<28} queued {:.2} ms, group {:.2} ms ({:.1} answers), commit to flushed {:.2} ms; submit {:.2} ms in all",
        "  writer stages (mean)",
        after.queued.mean_since(before.queued) * 1e3,
        after.group.mean_since(before.group) * 1e3,
        after.group_size.mean_since(before.group_size),
        after.flush.mean_since(before.flush) * 1e3,
        after.submit.mean_since(before.submit) * 1e3,
    )?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn report(
    out: &mut impl Write,
    what: &str,
    secs: f64,
    mut latencies: Vec<Duration>,
) -> anyhow::Result<f64> {
    latencies.sort();
    let rate = latencies.len() as f64 / secs;
    writeln!(
        out,
        "{what:<28} {:>7} requests in {secs:.2} s = {rate:>8.0}/s  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99)
    )?;
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut answers = 30_000usize;
    let mut connections = 256usize;
    let mut rounds = 3usize;
    let mut direct = false;
    let mut documented = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--answers" => answers = args.next().unwrap_or_default().parse()?,
            "--connections" => connections = args.next().unwrap_or_default().parse()?,
            "--rounds" => rounds = args.next().unwrap_or_default().parse()?,
            "--direct" => direct = true,
            "--documented" => documented = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    anyhow::ensure!(rounds > 0, "--rounds must be at least 1");
    let mut out = std::io::stdout().lock();
    let dir = tempfile::tempdir()?;
    let (config, conn) = demo::scratch_database(dir.path()).await?;
    let (_, issued) = demo::invited_cases(&conn, answers * rounds, "BENCH")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let body = serde_json::json!({"answers": {"attitude": 4, "credentials": true, "rights": true, "procedure": 4,
        "fairness": 5, "integrity": false, "burden": 4, "guidance": 4, "overall": 5}, "duration_secs": 95})
    .to_string();
    writeln!(
        out,
        "prepared {} invitations; {connections} keep-alive connections; {rounds} round(s) of {answers} answers, each followed by {} echo requests",
        issued.len(),
        answers * ECHO_FACTOR
    )?;

    if direct {
        // The writer alone, without HTTP: as many submitters as connections.
        let intake = pingjia_api::service::intake::Intake::start(&config).await?;
        let answers: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str::<serde_json::Value>(&body)?["answers"]
                .as_object()
                .cloned()
                .unwrap_or_default();
        let mut shares: Vec<Vec<String>> = (0..connections).map(|_| Vec::new()).collect();
        for (i, inv) in issued.iter().enumerate() {
            shares[i % connections].push(inv.token.clone());
        }
        let cpu = CpuSample::now();
        let started = Instant::now();
        let tasks: Vec<_> = shares
            .into_iter()
            .map(|tokens| {
                let (intake, answers) = (intake.clone(), answers.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(tokens.len());
                    for token in tokens {
                        let t = Instant::now();
                        surveys::answer(&intake, &token, answers.clone(), Some(95), "link")
                            .await
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                        latencies.push(t.elapsed());
                    }
                    anyhow::Ok(latencies)
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        let secs = started.elapsed().as_secs_f64();
        report(&mut out, "writer alone (no HTTP)", secs, all)?;
        cpu_report(&mut out, &cpu, &CpuSample::now(), secs, issued.len())?;
        stage_report(&mut out, &Stages::default(), &Stages::now(intake.metrics()))?;
        return Ok(());
    }

    let state = startup::AppState::new(conn.clone(), &config).await?;
    let intake = state.intake.clone();
    let addr = if documented {
        startup::spawn_on_loopback(startup::documented_app(state, config.body_limit_bytes)).await?
    } else {
        startup::spawn_on_loopback(startup::app(state, config.body_limit_bytes)).await?
    };
    let echo_addr =
        startup::spawn_on_loopback(Route::new().at("/echo", post(echo)).boxed()).await?;
    let mut ratios = Vec::with_capacity(rounds);
    for (round, share) in issued.chunks(answers).enumerate() {
        if rounds > 1 {
            writeln!(out, "round {}", round + 1)?;
        }
        let requests = share
            .iter()
            .map(|i| {
                (
                    format!("/api/v1/public/invitations/{}/responses", i.token),
                    body.clone(),
                )
            })
            .collect();
        let (cpu, stages) = (CpuSample::now(), Stages::now(intake.metrics()));
        let (secs, latencies) = load(addr, requests, connections).await?;
        let rate = report(&mut out, "answers (SQLite, durable)", secs, latencies)?;
        cpu_report(&mut out, &cpu, &CpuSample::now(), secs, share.len())?;
        stage_report(&mut out, &stages, &Stages::now(intake.metrics()))?;

        let echo_requests = (0..share.len() * ECHO_FACTOR)
            .map(|_| ("/echo".to_owned(), body.clone()))
            .collect();
        let cpu = CpuSample::now();
        let (secs, latencies) = load(echo_addr, echo_requests, connections).await?;
        let ceiling = report(&mut out, "poem JSON echo (ceiling)", secs, latencies)?;
        cpu_report(
            &mut out,
            &cpu,
            &CpuSample::now(),
            secs,
            share.len() * ECHO_FACTOR,
        )?;
        let ratio = 100.0 * rate / ceiling;
        writeln!(out, "answers / echo ceiling = {ratio:.1}%")?;
        ratios.push(ratio);
    }
    if rounds > 1 {
        ratios.sort_by(f64::total_cmp);
        let median = (ratios[(rounds - 1) / 2] + ratios[rounds / 2]) / 2.0;
        writeln!(
            out,
            "answers / echo ceiling over {rounds} rounds: median {median:.1}%, lowest {:.1}%, highest {:.1}%",
            ratios[0],
            ratios[rounds - 1]
        )?;
    }
    Ok(())
}
