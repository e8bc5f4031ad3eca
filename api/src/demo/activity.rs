//! A year of activity for the demo (`serve --demo`): enforcement cases, survey
//! answers of citizens and enterprises (with their statistics), complaints handled
//! through the workflow, case-file reviews, three-systems scores and training, so the
//! assessment index has something to rank. Deterministic: the same data every time.
//! Agencies differ in quality on purpose, so the ranking has something to show.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, QueryOrder};

use crate::domain::calendar::{WorkCalendar, end_of_shanghai_day, shanghai_date};
use crate::domain::contact::ContactCipher;
use crate::domain::questionnaire::{answers_to_json, validate_answers};
use crate::domain::ticket::{Move, Mover};
use crate::service::{
    Actor, ServiceError, campaigns, cases, internal, questionnaires, survey_stats, tickets,
};
use crate::store::{agency, campaign, officer, response};

/// What was added.
#[derive(Debug, Clone, Copy, Default)]
pub struct Activity {
    pub cases: usize,
    pub responses: usize,
    pub tickets: usize,
    pub reviews: usize,
}

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A 1–5 rating around `mean`.
    fn likert(&mut self, mean: f64) -> i64 {
        let noise = (self.next() + self.next() + self.next() - 1.5) * 1.6;
        (mean + noise).round().clamp(1.0, 5.0) as i64
    }
}

/// An open campaign over the whole of `year`, open since its first day.
async fn year_campaign(
    db: &DatabaseConnection,
    key: &str,
    name: &str,
    year: i32,
) -> Result<campaign::Model, ServiceError> {
    let actor = Actor::cli();
    let all = questionnaires::list(db, &actor).await?;
    let q = all
        .iter()
        .find(|w| w.questionnaire.key == key)
        .ok_or(ServiceError::NotFound {
            entity: "questionnaire",
        })?;
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
    let last = NaiveDate::from_ymd_opt(year, 12, 31).expect("date");
    let created = campaigns::create(
        db,
        &actor,
        campaigns::NewCampaign {
            name: name.to_owned(),
            questionnaire_id: q.questionnaire.id,
            version: 1,
            region_code: "320700".into(),
            agency_ids: None,
            mode: "open".to_owned(),
            period_start: first,
            period_end: last,
            opens_at: end_of_shanghai_day(first) - Duration::days(1),
            closes_at: end_of_shanghai_day(last),
            too_fast_secs: None,
            quotas: Vec::new(),
        },
    )
    .await?;
    campaigns::transition(db, &actor, created.id, campaigns::OPEN).await?;
    Ok(created)
}

/// Loads the year's activity up to `now` for every demo agency.
pub async fn load(
    db: &DatabaseConnection,
    cipher: &ContactCipher,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> Result<Activity, ServiceError> {
    let actor = Actor::cli();
    let mut rng = Lcg(20261124);
    let mut done = Activity::default();
    let today = shanghai_date(now);
    let year = today.year();
    let agencies = agency::Entity::find()
        .order_by_asc(agency::Column::Id)
        .all(db)
        .await?;
    // Each agency's quality: 2.9 … 4.6 on the 1–5 scale.
    let quality: HashMap<i64, f64> = agencies
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id, 2.9 + 1.7 * ((i * 7) % 12) as f64 / 11.0))
        .collect();

    // Cases decided through the year.
    let mut batch = Vec::new();
    for a in &agencies {
        let n = 30 + (a.id as usize * 13) % 50;
        for k in 0..n {
            let day = (k * 353 / n) as i64;
            let decided = NaiveDate::from_ymd_opt(year, 1, 1).expect("date") + Duration::days(day);
            if decided > today {
                continue;
            }
            batch.push(cases::NewCase {
                agency_id: a.id,
                case_number: format!("连{}罚〔{year}〕{k:03}号", a.id),
                kind: if k % 3 == 0 { "inspection" } else { "penalty" }.into(),
                procedure: if k % 4 == 0 { "simple" } else { "general" }.into(),
                enterprise_uscc: None,
                officer_ids: Vec::new(),
                decision_date: decided,
                hearing_held: k % 17 == 0,
                complaint_sourced: k % 23 == 0,
                officer_complained: false,
                decision_overturned: false,
            });
        }
    }
    for chunk in batch.chunks(cases::MAX_BATCH) {
        done.cases += cases::ingest(db, &actor, chunk.to_vec()).await?.len();
    }

    // Survey answers of citizens and enterprises, month by month.
    for (key, name, per_month) in [
        (
            "citizen_satisfaction",
            "全年执法满意度调查（演示）",
            30usize,
        ),
        ("enterprise_return_visit", "全年企业回访（演示）", 24usize),
    ] {
        let c = year_campaign(db, key, name, year).await?;
        let (_, questions) = questionnaires::of_campaign(db, &c).await?;
        let txn = crate::db::begin_write(db).await?;
        let mut sums = survey_stats::CellSums::default();
        let mut rows = Vec::new();
        for month in 1..=today.month() {
            for a in &agencies {
                let mean = quality[&a.id];
                for i in 0..per_month {
                    let day = 1 + (i as u32 * 7) % 27;
                    let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
                        continue;
                    };
                    if date > today {
                        continue;
                    }
                    let mut answers = serde_json::Map::new();
                    for question in questions.iter().filter(|q| q.kind.is_scored()) {
                        let v = rng.likert(mean);
                        let value = match question.kind {
                            crate::domain::questionnaire::QuestionType::YesNo => {
                                serde_json::Value::Bool((v >= 3) != question.reverse)
                            }
                            _ => serde_json::Value::from(v),
                        };
                        answers.insert(question.key.clone(), value);
                    }
                    let overall = answers.get("overall").and_then(|v| v.as_i64()).unwrap_or(3);
                    if overall <= 2 {
                        answers.insert("dissatisfied_reason".into(), serde_json::json!(["other"]));
                    }
                    let Ok(valid) = validate_answers(&questions, &answers) else {
                        continue;
                    };
                    let submitted = end_of_shanghai_day(date) - Duration::hours(8);
                    if submitted > now {
                        continue;
                    }
                    survey_stats::contribute(
                        &survey_stats::Stored {
                            campaign_id: c.id,
                            agency_id: a.id,
                            submitted_at: submitted,
                            flagged: false,
                            weight: 1.0,
                            questions: &questions,
                            answers: &valid,
                        },
                        &mut sums,
                    );
                    rows.push(response::ActiveModel {
                        campaign_id: Set(c.id),
                        invitation_id: Set(None),
                        questionnaire_version_id: Set(c.questionnaire_version_id),
                        agency_id: Set(a.id),
                        channel: Set("web".into()),
                        answers: Set(answers_to_json(&valid)),
                        weight: Set(1.0),
                        duration_secs: Set(Some(180)),
                        straight_lining: Set(false),
                        too_fast: Set(false),
                        submitted_at: Set(submitted),
                        ..Default::default()
                    });
                }
            }
        }
        done.responses += rows.len();
        survey_stats::store_bulk(&txn, rows, sums).await?;
        txn.commit().await?;
    }

    // Complaints through the year, handled through the workflow; the weakest agency
    // leaves one unanswered, long overdue, so the upkeep has one to escalate.
    let weakest = quality.values().copied().fold(f64::INFINITY, f64::min);
    for a in &agencies {
        let q = quality[&a.id];
        let count = ((4.8 - q) * 2.0).round().max(0.0) as usize;
        for k in 0..count {
            let stalled = q == weakest && k == 1;
            let back = 2 + (k as i64 * 97) % 300;
            if back > i64::from(today.ordinal()) {
                continue;
            }
            let received = now - Duration::days(back);
            let new = tickets::NewTicket {
                kind: "complaint".into(),
                category: ["乱罚款", "态度粗暴", "未亮证执法", "重复检查/扰企"][k % 4].into(),
                agency_id: Some(a.id),
                region_code: a.region_code.clone(),
                description: format!("（演示）群众反映{}执法人员存在问题，请核实处理。", a.name),
                attachments: Vec::new(),
                latitude: None,
                longitude: None,
                address: None,
                channel: "web".into(),
                reporter: None,
            };
            let origin = tickets::Origin {
                received_at: Some(received),
                ..Default::default()
            };
            let filed = tickets::file(db, cipher, calendar, &actor, new, origin).await?;
            done.tickets += 1;
            let mut t = filed.view.ticket;
            // Each step a few days after the last; every third reply comes late.
            let reply_after = if k % 3 == 2 { 12 } else { 3 };
            let steps = [
                (1, Move::Assign, None, None, None),
                (2, Move::Start, None, None, None),
                (
                    reply_after,
                    Move::Reply,
                    Some("经核实，已责令整改并向当事人说明情况。"),
                    None,
                    Some(if k % 2 == 0 {
                        "substantiated"
                    } else {
                        "unfounded"
                    }),
                ),
                (
                    reply_after + 2,
                    Move::Rate,
                    None,
                    Some(if q > 3.6 { "满意" } else { "基本满意" }),
                    None,
                ),
            ];
            // Steps still in the future (the newest complaints) are not taken yet.
            for (days, action, note, rating, finding) in steps {
                let at = received + Duration::days(days);
                if at > now || (stalled && action == Move::Reply) {
                    break;
                }
                let by = tickets::By {
                    mover: Mover::Key(crate::domain::Role::Admin),
                    label: "cli".into(),
                    region_prefix: None,
                };
                let req = tickets::MoveRequest {
                    action,
                    note: note.map(str::to_owned),
                    agency_id: None,
                    rating: rating.map(str::to_owned),
                    finding: finding.map(str::to_owned),
                };
                t = tickets::make_move(db, calendar, &t, by, req, at).await?;
            }
        }
    }

    // Case-file reviews, three systems per quarter, and training.
    let mut reviews = Vec::new();
    let mut checks = Vec::new();
    for (row, a) in agencies.iter().enumerate() {
        let q = quality[&a.id];
        for k in 0..8 {
            let score = (55.0 + (q - 2.9) * 22.0 + rng.next() * 12.0).min(100.0);
            reviews.push((
                row * 8 + k + 1,
                internal::ReviewInput {
                    agency_id: a.id,
                    case_number: format!("连{}罚〔{year}〕{:03}号", a.id, k * 3),
                    year,
                    score: (score * 2.0).round() / 2.0,
                    reviewer: "市司法局案卷评查组".into(),
                    items: Vec::new(),
                    reviewed_on: today - Duration::days(10 + k as i64),
                },
            ));
        }
        for quarter in 1..=((today.month() - 1) / 3 + 1) {
            let s = |base: f64, rng: &mut Lcg| {
                (base + (q - 2.9) * 15.0 + rng.next() * 8.0)
                    .min(100.0)
                    .round()
            };
            checks.push((
                checks.len() + 1,
                internal::ThreeSystemsInput {
                    agency_id: a.id,
                    period: format!("{year}-Q{quarter}"),
                    publicity: s(70.0, &mut rng),
                    recording: s(65.0, &mut rng),
                    legal_review: s(72.0, &mut rng),
                    notes: None,
                },
            ));
        }
    }
    done.reviews = reviews.len();
    let n = reviews.len();
    internal::ingest_reviews(db, &actor, n, reviews, Vec::new(), false).await?;
    let n = checks.len();
    internal::ingest_three_systems(db, &actor, n, checks, Vec::new(), false).await?;
    let mut training = Vec::new();
    for o in officer::Entity::find()
        .order_by_asc(officer::Column::Id)
        .all(db)
        .await?
    {
        let q = quality.get(&o.agency_id).copied().unwrap_or(3.5);
        let total = (40.0 + (q - 2.9) * 20.0 + rng.next() * 15.0).round();
        training.push((
            training.len() + 1,
            internal::TrainingInput {
                officer_id: Some(o.id),
                badge_no: None,
                year,
                total_hours: total,
                business_hours: (total * 0.65).round(),
                discretion_hours: 12.0,
                exam_passed: Some(rng.next() < 0.6 + q / 10.0),
                exam_score: None,
            },
        ));
    }
    let n = training.len();
    internal::ingest_training(db, &actor, n, training, Vec::new(), false).await?;
    Ok(done)
}
