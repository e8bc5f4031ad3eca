//! Benchmark of the assessment index over many stored responses.
//!
//! ```text
//! cargo run --release -p pingjia-api --bin index-bench -- [--responses 1000000] [--agencies 200] [--runs 21]
//! ```
//!
//! In a fresh SQLite file (demo registry plus agencies up to `agencies`), stores
//! `responses` answers to an open enterprise return-visit campaign spread over the
//! agencies and the current quarter's months — each chunk in one transaction with the
//! survey statistics it adds, as the service stores them — then computes the default
//! model's index for all agencies for the quarter `runs` times (p50, p90) and, as the
//! baseline in the same run, the same index recomputing the survey indicators from
//! the stored responses (3 runs, median), and reports the ratio.

use std::io::Write;
use std::time::Instant;

use chrono::{Duration, Utc};
use pingjia_api::domain::calendar::shanghai_date;
use pingjia_api::domain::period::Period;
use pingjia_api::domain::questionnaire::{answers_to_json, validate_answers};
use pingjia_api::service::{Actor, index, questionnaires, survey_stats};
use pingjia_api::store::{agency, response};
use pingjia_api::{demo, domain::AgencyDomain};
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut responses, mut agencies, mut runs) = (1_000_000usize, 200usize, 21usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--responses" => responses = value.parse()?,
            "--agencies" => agencies = value.parse()?,
            "--runs" => runs = value.parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let mut out = std::io::stdout().lock();
    let dir = tempfile::tempdir()?;
    let (_config, conn) = demo::scratch_database(dir.path()).await?;
    let existing = agency::Entity::find().all(&conn).await?.len();
    let counties = ["320706", "320707", "320722"];
    let now = Utc::now();
    let extra: Vec<agency::ActiveModel> = (existing..agencies)
        .map(|i| agency::ActiveModel {
            code: Set(format!("BENCH{i:04}")),
            name: Set(format!("基准测试执法机关{i}")),
            domain: Set(AgencyDomain::MarketRegulation),
            region_code: Set(counties[i % 3].to_owned()),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    if !extra.is_empty() {
        agency::Entity::insert_many(extra).exec(&conn).await?;
    }
    let ids: Vec<i64> = agency::Entity::find()
        .all(&conn)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let campaign = demo::open_campaign(&conn, "index benchmark", "open")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, questions) = questionnaires::of_campaign(&conn, &campaign)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let today = shanghai_date(now);
    let period = Period::Quarter(0, 1).holding(today);
    let days = (today - period.start()).num_days().max(0) + 1;
    let started = Instant::now();
    for start in (0..responses).step_by(10_000) {
        let txn = conn.begin().await?;
        let mut sums = survey_stats::CellSums::default();
        let mut rows = Vec::with_capacity(10_000);
        for i in start..(start + 10_000).min(responses) {
            let l = |k: usize| 1 + ((i * 7 + k * 3 + i / 13) % 5) as i64;
            let answers = serde_json::json!({
                "attitude": l(0), "credentials": i % 3 != 0, "rights": i % 4 != 0,
                "procedure": l(3), "fairness": l(4), "integrity": i % 5 == 0,
                "burden": l(6), "guidance": l(7), "overall": l(8).max(3),
            });
            let valid = validate_answers(&questions, answers.as_object().expect("object"))
                .map_err(|e| anyhow::anyhow!("benchmark answers invalid: {e:?}"))?;
            let submitted = pingjia_api::domain::calendar::end_of_shanghai_day(
                period.start() + Duration::days((i as i64 * 7919) % days),
            ) - Duration::hours(10);
            let agency_id = ids[i % ids.len()];
            let weight = 0.5 + (i % 4) as f64 * 0.5;
            survey_stats::contribute(
                &survey_stats::Stored {
                    campaign_id: campaign.id,
                    agency_id,
                    submitted_at: submitted,
                    flagged: false,
                    weight,
                    questions: &questions,
                    answers: &valid,
                },
                &mut sums,
            );
            rows.push(response::ActiveModel {
                campaign_id: Set(campaign.id),
                invitation_id: Set(None),
                questionnaire_version_id: Set(campaign.questionnaire_version_id),
                agency_id: Set(agency_id),
                channel: Set("link".into()),
                answers: Set(answers_to_json(&valid)),
                weight: Set(weight),
                duration_secs: Set(Some(120)),
                straight_lining: Set(false),
                too_fast: Set(false),
                submitted_at: Set(submitted),
                ..Default::default()
            });
        }
        survey_stats::store_bulk(&txn, rows, sums).await?;
        txn.commit().await?;
    }
    writeln!(
        out,
        "stored {responses} responses for {} agencies in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    )?;

    let actor = Actor::cli();
    let query = |recompute: bool| index::ScoreQuery {
        period: period.to_string(),
        recompute_surveys: recompute,
        ..Default::default()
    };
    // One warm-up each (connection, page cache).
    let warm = index::compute(&conn, &actor, query(false))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let scored = warm.agencies.iter().filter(|a| a.score.is_some()).count();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        index::compute(&conn, &actor, query(false))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let mut raw_times = Vec::new();
    let mut same = true;
    for _ in 0..3 {
        let t = Instant::now();
        let raw = index::compute(&conn, &actor, query(true))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        raw_times.push(t.elapsed().as_secs_f64() * 1000.0);
        same &= raw
            .agencies
            .iter()
            .zip(&warm.agencies)
            .all(|(a, b)| match (a.score, b.score) {
                (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                (x, y) => x == y,
            });
    }
    raw_times.sort_by(f64::total_cmp);
    let (p50, p90) = (percentile(&times, 0.5), percentile(&times, 0.9));
    let raw = percentile(&raw_times, 0.5);
    writeln!(
        out,
        "index {period}, {} agencies ({scored} scored): p50 {p50:.1} ms, p90 {p90:.1} ms over {runs} runs",
        warm.agencies.len()
    )?;
    writeln!(
        out,
        "recomputed from responses: median {raw:.0} ms over 3 runs; ratio {:.0}×; same scores: {same}",
        raw / p50
    )?;
    Ok(())
}
