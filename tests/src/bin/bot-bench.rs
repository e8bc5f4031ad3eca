//! Benchmark of the Telegram bot under 1,000 concurrent users.
//!
//! ```text
//! cargo run --release -p pingjia-tests --bin bot-bench -- [--users 1000] [--think-ms 1000-3000]
//! ```
//!
//! Each simulated user pauses before every step as a person reading and tapping
//! would (`--think-ms`, uniform; `0` sends every step at once, a stress burst).
//!
//! Serves the real API on a fresh SQLite file on a loopback port, starts a fake Bot
//! API server and the bot (long polling, its dialogue states in its own SQLite file),
//! then lets every simulated user file an anonymous complaint through the whole
//! dialogue at once (`/start` → menu → kind → agency → category → description →
//! photos → location → identity → confirm). Reports the bot's processing time per
//! update (the update queued at the fake server → the bot's reply recorded there),
//! and checks that every user's ticket exists in the API exactly once.

use std::io::Write;
use std::sync::Arc;

/// As in `pingjia` and the other benchmarks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::{Duration, Instant};

use pingjia_api::domain::Role;
use pingjia_api::service::{Actor, keys};
use pingjia_api::{demo, startup};
use pingjia_bot::api::Api;
use pingjia_bot::config::Limits;
use pingjia_bot::fake::FakeTelegram;
use pingjia_bot::handlers::Ctx;
use pingjia_bot::storage::{self, DialogueStore};
use pingjia_bot::{App, text};

/// One step: what the user does and the reply that ends it.
enum Act {
    Text(&'static str),
    Press(&'static str),
}

const FLOW: [(Act, &str); 10] = [
    (Act::Text("/start"), text::MENU),
    (Act::Press("menu:complaint"), text::ASK_COMPLAINT_KIND),
    (Act::Press("kind:complaint"), text::ASK_AGENCY),
    (Act::Press("agency:unknown"), text::ASK_CATEGORY),
    (Act::Press("cat:rudeness"), text::ASK_DESCRIPTION),
    (
        Act::Text("执法人员检查时态度粗暴，未出示执法证件，还威胁要罚款。"),
        text::ASK_PHOTOS,
    ),
    (Act::Press("photos:done"), text::ASK_LOCATION),
    (Act::Press("loc:skip"), text::ASK_IDENTITY),
    (Act::Press("id:anon"), "请核对以下内容"),
    (Act::Press("confirm:yes"), "已受理！工单号"),
];

/// Pause before each step, as a person reads and taps: uniform in `think` (ms),
/// drawn from a per-user generator so runs repeat.
async fn user_flow(
    tg: Arc<FakeTelegram>,
    user: i64,
    think: (u64, u64),
) -> anyhow::Result<Vec<Duration>> {
    let mut seen = 0;
    let mut took = Vec::with_capacity(FLOW.len());
    let mut state = user as u64 | 1;
    for (act, reply) in &FLOW {
        if think.1 > 0 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let ms = think.0 + state % (think.1 - think.0 + 1);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let sent_at = Instant::now();
        match act {
            Act::Text(t) => tg.text(user, t),
            Act::Press(d) => tg.press(user, d),
        }
        let (at, got) = tg
            .expect_message(user, seen, Duration::from_secs(120), |s| {
                s.text.as_deref().is_some_and(|t| t.contains(reply))
            })
            .await?;
        seen = at + 1;
        took.push(got.at.saturating_duration_since(sent_at));
    }
    Ok(took)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut users = 1_000i64;
    let mut think = (1_000u64, 3_000u64);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--users" => users = args.next().unwrap_or_default().parse()?,
            "--think-ms" => {
                let v = args.next().unwrap_or_default();
                think = match v.split_once('-') {
                    Some((lo, hi)) => (lo.parse()?, hi.parse()?),
                    None => (v.parse()?, v.parse()?),
                };
                anyhow::ensure!(think.0 <= think.1, "--think-ms LOW-HIGH");
            }
            other => anyhow::bail!("unknown argument {other}; use --users N --think-ms LOW-HIGH"),
        }
    }
    let dir = tempfile::tempdir()?;
    let (config, conn) = demo::scratch_database(dir.path()).await?;
    let state = startup::AppState::new(conn.clone(), &config).await?;
    let addr = startup::spawn_on_loopback(startup::app(state, config.body_limit_bytes)).await?;
    let key = keys::create(
        &conn,
        &Actor::cli(),
        keys::NewKey {
            name: "bench bot".into(),
            role: Role::Channel,
            region_code: None,
            agency_id: None,
            channel: Some("telegram".into()),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .secret;

    let tg = Arc::new(FakeTelegram::start().await?);
    let bot_db = storage::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bot.db").display()
    ))
    .await?;
    let app = App {
        bot: pingjia_bot::telegram("123:BENCH", Some(&tg.url()))?,
        ctx: Ctx::new(
            Api::new(&format!("http://{addr}"), &key)?,
            bot_db.clone(),
            Limits {
                tickets_per_day: 5,
                messages_per_minute: 1_000,
            },
            "320700".into(),
        ),
        store: DialogueStore::new(
            bot_db,
            pingjia_seal::Sealer::from_hex(&pingjia_seal::Sealer::generate_hex())
                .map_err(|e| anyhow::anyhow!(e))?,
            7,
        ),
        outbox_idle: Duration::from_millis(500),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(app.run(None, Duration::from_secs(1), async move {
        let _ = stopped.await;
    }));

    let started = Instant::now();
    let flows: Vec<_> = (0..users)
        .map(|i| tokio::spawn(user_flow(tg.clone(), 900_000_000 + i, think)))
        .collect();
    let mut all = Vec::new();
    let mut by_step: Vec<Vec<Duration>> = vec![Vec::new(); FLOW.len()];
    for f in flows {
        let took = f.await??;
        for (step, d) in took.iter().enumerate() {
            by_step[step].push(*d);
        }
        all.extend(took);
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    bot.await??;

    // Every user's ticket exists once.
    let mut missing_or_twice = 0;
    let api = Api::new(&format!("http://{addr}"), &key)?;
    for i in 0..users {
        let own = api.own_tickets(&(900_000_000 + i).to_string()).await?;
        if own.len() != 1 {
            missing_or_twice += 1;
        }
    }
    all.sort();
    let tickets = {
        use sea_orm::{EntityTrait, PaginatorTrait};
        pingjia_api::store::ticket::Entity::find()
            .count(&conn)
            .await?
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "think time per step: {}–{} ms", think.0, think.1)?;
    writeln!(
        out,
        "users: {users}, updates: {}, wall time: {:.2} s ({:.0} updates/s)",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64()
    )?;
    writeln!(
        out,
        "bot processing per update: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.95).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    )?;
    for (step, mut took) in by_step.into_iter().enumerate() {
        took.sort();
        writeln!(
            out,
            "  step {:>2} ({}): p50 {:.1} ms, p99 {:.1} ms",
            step + 1,
            FLOW[step].1.chars().take(8).collect::<String>(),
            percentile(&took, 0.50).as_secs_f64() * 1e3,
            percentile(&took, 0.99).as_secs_f64() * 1e3,
        )?;
    }
    writeln!(
        out,
        "tickets in the API: {tickets}; users without exactly one ticket: {missing_or_twice}"
    )?;
    anyhow::ensure!(
        missing_or_twice == 0 && tickets == users as u64,
        "tickets lost or doubled"
    );
    Ok(())
}
