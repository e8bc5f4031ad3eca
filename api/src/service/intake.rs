//! 答卷入库: durable intake of invitation answers by group commit.
//!
//! Each app runs one writer task. It takes every answer that is waiting (up to
//! [`MAX_GROUP`]) and, in one transaction, claims their invitations with one
//! conditional `SELECT` (pending, not expired, not answered, campaign open), validates
//! each sheet against its questionnaire version (cached: published versions and a
//! campaign's version never change), stores the responses with one multi-row
//! `INSERT … RETURNING id`, commits, and only then answers each submitter.
//!
//! Under load one commit (one flush of the log) carries many answers; a lone answer is
//! committed at once, so nothing waits for a timer. An answer is never acknowledged
//! before its transaction is durable, and a group whose transaction fails is retried
//! answer by answer so that one bad answer cannot fail the others. Exactly-once rests
//! on the response itself: an invitation is answered when a response names it, and the
//! unique index on `responses.invitation_id` admits one, so no interleaving (another
//! replica, the expiry task) can store an answer twice. Answering writes nothing to the
//! invitation's row, whose status only tells `pending` from `expired`. Tried and
//! dropped: a separate lookup before the claim (a third of the writer's time) and
//! checking the next group while the previous one commits (smaller groups, lower
//! throughput).
//!
//! On SQLite the group transaction runs on a rusqlite connection of the writer's own,
//! with statements prepared once (claims and inserts many rows each, statistics one
//! cell each); the writer flushes the log after each commit, and a thread of its own
//! checkpoints it ([`sqlite`]); on PostgreSQL everything goes through sea-orm with
//! multi-row statements. Both claim, insert and add to the statistics alike, and the
//! survey suites run on both.

mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use prometheus::{Histogram, HistogramOpts};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbErr, EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter, QuerySelect, QueryTrait,
    TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};

use super::ServiceError;
use super::campaigns::{self, Availability};
use crate::config::Config;
use crate::domain::questionnaire::{Question, answers_to_json, straight_lined, validate_answers};
use crate::store::{campaign, invitation, questionnaire_version, response};

/// The most answers committed in one transaction.
pub const MAX_GROUP: usize = 256;

/// Answers on at least this many Likert items, all the same, are flagged as
/// straight-lining.
const STRAIGHT_LINE_MIN_ITEMS: usize = 8;

/// One answer sheet for an invitation.
pub struct Submission {
    /// SHA-256 of the invitation token (see `surveys::hash_token`).
    pub token_hash: String,
    /// `{question_key: answer}` as submitted.
    pub answers: serde_json::Map<String, serde_json::Value>,
    pub duration_secs: Option<i32>,
    /// The channel the answer came through (link, bot, phone…).
    pub channel: String,
}

/// A published questionnaire version with its parsed questions.
pub struct Version {
    pub model: questionnaire_version::Model,
    pub questions: Vec<Question>,
}

/// What a submitter learns of its stored answer (the stored row stays with the writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub response_id: i64,
    pub submitted_at: DateTime<Utc>,
}

type Outcome = Result<Receipt, ServiceError>;
/// A submission, where its outcome goes, and when it was queued.
type Job = (Submission, oneshot::Sender<Outcome>, Instant);
type Versions = Arc<Mutex<HashMap<i64, Arc<Version>>>>;

/// Handle to the app's answer writer and its cache of published questionnaire
/// versions. Cloning is cheap; the writer stops when the last handle is dropped,
/// after committing what it was given.
#[derive(Clone)]
pub struct Intake {
    queue: mpsc::Sender<Job>,
    versions: Versions,
    metrics: IntakeMetrics,
}

/// Where answers spend their time on the way to the disk (Prometheus histograms), so
/// an operator can tell a busy writer from a slow disk: an answer waits in the queue
/// for its group, the group's transaction runs, and (on SQLite) the log is flushed
/// before the submitter is answered.
#[derive(Clone)]
pub struct IntakeMetrics {
    /// Seconds an answer waited in the queue before its group began.
    pub queued: Histogram,
    /// Answers per group transaction.
    pub group_size: Histogram,
    /// Seconds a group's transaction took, claim to commit.
    pub group: Histogram,
    /// Seconds from a group's commit until its log was on the disk (SQLite; a
    /// PostgreSQL commit is durable when it returns).
    pub flush: Histogram,
    /// Seconds from submission to outcome, as the submitter waited.
    pub submit: Histogram,
}

impl IntakeMetrics {
    fn new() -> Self {
        let seconds = |name: &str, help: &str| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]))
            .expect("static metric definition")
        };
        Self {
            queued: seconds(
                "pingjia_answer_queued_seconds",
                "Time an answer waited for its group to begin",
            ),
            group_size: Histogram::with_opts(
                HistogramOpts::new("pingjia_answer_group_size", "Answers per group commit")
                    .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            )
            .expect("static metric definition"),
            group: seconds(
                "pingjia_answer_group_seconds",
                "Time a group's transaction took, claim to commit",
            ),
            flush: seconds(
                "pingjia_answer_flush_seconds",
                "Time from a group's commit until its log was on the disk (SQLite)",
            ),
            submit: seconds(
                "pingjia_answer_submit_seconds",
                "Time from submission to outcome",
            ),
        }
    }

    /// Every histogram, for registering with the app's registry.
    pub fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 5] {
        [
            Box::new(self.queued.clone()),
            Box::new(self.group_size.clone()),
            Box::new(self.group.clone()),
            Box::new(self.flush.clone()),
            Box::new(self.submit.clone()),
        ]
    }
}

impl Intake {
    /// Starts the writer on a thread of its own (a single-threaded runtime) with its
    /// own database connection: on the shared runtime each of its round trips queued
    /// behind the HTTP tasks, and the groups' turnaround, not the CPU, bounded the
    /// answer rate. Returns once the writer's connection is open.
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let (queue, jobs) = mpsc::channel(4 * MAX_GROUP);
        let versions = Versions::default();
        let metrics = IntakeMetrics::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (opened, open) = oneshot::channel();
        let (config, cache, timings) = (config.clone(), versions.clone(), metrics.clone());
        std::thread::Builder::new()
            .name("answer-writer".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match open_writer(&config).await {
                        Ok((db, direct)) => {
                            let _ = opened.send(Ok(()));
                            run(&db, direct.as_ref(), cache, &timings, jobs).await;
                            if let Err(e) = db.close().await {
                                tracing::warn!(error = %e, "closing the answer writer's connection");
                            }
                        }
                        Err(e) => {
                            let _ = opened.send(Err(e));
                        }
                    }
                })
            })?;
        open.await
            .map_err(|_| anyhow::anyhow!("the answer writer did not start"))??;
        Ok(Self {
            queue,
            versions,
            metrics,
        })
    }

    /// Stores one answer sheet; returns once it is durable, or why it was refused
    /// (unknown token, `invitation_used`, `invitation_expired`, campaign not open, or
    /// the questions the answers break).
    pub async fn submit(&self, submission: Submission) -> Outcome {
        let (reply, outcome) = oneshot::channel();
        let submitted = Instant::now();
        self.queue
            .send((submission, reply, submitted))
            .await
            .map_err(|_| anyhow::anyhow!("the answer writer has stopped"))?;
        let outcome = outcome
            .await
            .map_err(|_| anyhow::anyhow!("the answer writer stopped before answering"))?;
        self.metrics
            .submit
            .observe(submitted.elapsed().as_secs_f64());
        outcome
    }

    /// The writer's timings.
    pub fn metrics(&self) -> &IntakeMetrics {
        &self.metrics
    }

    /// The questionnaire version a campaign surveys, from the cache after first use.
    pub async fn version_of(
        &self,
        db: &impl ConnectionTrait,
        campaign: &campaign::Model,
    ) -> Result<Arc<Version>, ServiceError> {
        version_of(&self.versions, db, campaign).await
    }
}

/// The writer's sea-orm connection and, on SQLite, its direct connection for the
/// group transactions (the sea-orm one then only reads).
async fn open_writer(
    config: &Config,
) -> anyhow::Result<(DatabaseConnection, Option<sqlite::Direct>)> {
    use secrecy::ExposeSecret;
    let db = crate::db::connect_writer(config).await?;
    let url = config.database_url.expose_secret();
    let direct = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => Some(sqlite::Direct::open(
            url,
            std::time::Duration::from_millis(config.db.busy_timeout_ms),
        )?),
        _ => None,
    };
    Ok((db, direct))
}

async fn version_of(
    versions: &Versions,
    db: &impl ConnectionTrait,
    campaign: &campaign::Model,
) -> Result<Arc<Version>, ServiceError> {
    let id = campaign.questionnaire_version_id;
    let cached = versions.lock().ok().and_then(|v| v.get(&id).cloned());
    if let Some(v) = cached {
        return Ok(v);
    }
    let (model, questions) = super::questionnaires::of_campaign(db, campaign).await?;
    let v = Arc::new(Version { model, questions });
    if let Ok(mut versions) = versions.lock() {
        versions.insert(id, v.clone());
    }
    Ok(v)
}

/// Whether an invitation (and its campaign) can take an answer at `now`; `answered`
/// says whether a response names it.
pub(crate) fn check_usable(
    invitation: &invitation::Model,
    answered: bool,
    campaign: &campaign::Model,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if answered {
        return Err(used());
    }
    if invitation.status == EXPIRED || now >= invitation.expires_at {
        return Err(expired());
    }
    match campaigns::availability(campaign, now) {
        Availability::Accepting => Ok(()),
        other => Err(campaigns::unavailable(other)),
    }
}

fn used() -> ServiceError {
    ServiceError::Conflict {
        code: "invitation_used",
        message: "this invitation has already been answered; thank you".into(),
    }
}

fn expired() -> ServiceError {
    ServiceError::Conflict {
        code: "invitation_expired",
        message: "this invitation has expired".into(),
    }
}

fn unknown() -> ServiceError {
    ServiceError::NotFound {
        entity: "invitation",
    }
}

async fn run(
    db: &DatabaseConnection,
    direct: Option<&sqlite::Direct>,
    versions: Versions,
    metrics: &IntakeMetrics,
    mut jobs: mpsc::Receiver<Job>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut campaigns = Campaigns::default();
    let durability = match direct
        .map(|d| d.durability(metrics.flush.clone()))
        .transpose()
    {
        Ok(durability) => durability,
        Err(e) => {
            tracing::error!(error = %e, "the answer writer's checkpointer did not start; answers are refused");
            return;
        }
    };
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        let began = Instant::now();
        metrics.group_size.observe(group.len() as f64);
        let (subs, replies): (Vec<Submission>, Vec<_>) = group
            .drain(..)
            .map(|(sub, reply, queued)| {
                metrics
                    .queued
                    .observe(began.duration_since(queued).as_secs_f64());
                (sub, reply)
            })
            .unzip();
        let mut writer = Writer {
            db,
            direct,
            versions: &versions,
            campaigns: &mut campaigns,
        };
        let outcomes = match writer.write(&subs).await {
            Ok(outcomes) => outcomes,
            Err(err) if subs.len() > 1 => {
                tracing::warn!(error = %err, answers = subs.len(), "group commit failed; committing its answers one by one");
                let mut outcomes = Vec::with_capacity(subs.len());
                for one in subs.chunks(1) {
                    outcomes.push(match writer.write(one).await {
                        Ok(mut o) => o.pop().unwrap_or_else(|| Err(unknown())),
                        Err(err) => Err(stored_error(err)),
                    });
                }
                outcomes
            }
            Err(err) => vec![Err(stored_error(err))],
        };
        metrics.group.observe(began.elapsed().as_secs_f64());
        match &durability {
            Some(durability) => durability.ack(replies.into_iter().zip(outcomes).collect()),
            None => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // A submitter that went away still had its answer stored.
                    let _ = reply.send(outcome);
                }
            }
        }
    }
    if let Some(durability) = durability {
        durability.finish();
    }
}

/// A lone answer's failure to store: the unique index on `responses.invitation_id`
/// refusing it means another writer (another replica) answered the invitation first.
fn stored_error(err: DbErr) -> ServiceError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => used(),
        _ => err.into(),
    }
}

/// What answering needs of a campaign. None of it changes once a campaign exists
/// (campaigns only change status), so the writer keeps it; whether the campaign
/// accepts answers is checked in SQL by every claim.
struct Surveyed {
    too_fast_secs: i32,
    version: Arc<Version>,
}

type Campaigns = HashMap<i64, Arc<Surveyed>>;

/// An invitation as its claim returned it.
#[derive(Debug, FromQueryResult)]
struct Claimed {
    id: i64,
    token_hash: String,
    campaign_id: i64,
    agency_id: i64,
}

/// The writer's view of the database for one group.
struct Writer<'a> {
    db: &'a DatabaseConnection,
    direct: Option<&'a sqlite::Direct>,
    versions: &'a Versions,
    campaigns: &'a mut Campaigns,
}

impl Writer<'_> {
    /// Claims, validates and stores a group in one transaction; the outcomes are in
    /// `subs` order.
    ///
    /// The claim comes first (`SELECT … WHERE token_hash IN … AND status = 'pending'
    /// AND not expired AND the campaign is open AND no response names it`), so the
    /// common case costs one statement before the insert. A claimed sheet that fails
    /// validation rolls the attempt back and the group is claimed again without it
    /// (validation does not change, so the second attempt stores the rest).
    async fn write(&mut self, subs: &[Submission]) -> Result<Vec<Outcome>, DbErr> {
        let mut outcomes: Vec<Option<Outcome>> = subs.iter().map(|_| None).collect();
        // Of several answers to one invitation in a group only the first may claim it.
        let mut first: HashMap<&str, usize, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(subs.len(), Default::default());
        for (i, sub) in subs.iter().enumerate() {
            if first.contains_key(sub.token_hash.as_str()) {
                outcomes[i] = Some(Err(used()));
            } else {
                first.insert(&sub.token_hash, i);
            }
        }
        loop {
            let now = Utc::now();
            let txn = match self.direct {
                Some(direct) => Txn::Direct(direct.begin()?),
                None => Txn::Orm(self.db.begin().await?),
            };
            let claimed = txn.claim(&first, now).await?;
            let mut rows = Vec::with_capacity(claimed.len());
            // The score statistics change in the same transaction as the responses.
            let mut sums = super::survey_stats::CellSums::default();
            let mut invalid = Vec::new();
            for c in &claimed {
                let index = first[c.token_hash.as_str()];
                match self.prepare(&txn, c, &subs[index], now, &mut sums).await? {
                    Ok(row) => rows.push((index, row)),
                    Err(e) => invalid.push((index, e)),
                }
            }
            if !invalid.is_empty() {
                txn.rollback().await?;
                for (index, e) in invalid {
                    first.remove(subs[index].token_hash.as_str());
                    outcomes[index] = Some(Err(e));
                }
                continue;
            }
            let refused: Vec<(&str, usize)> = {
                let got: HashSet<&str> = claimed.iter().map(|c| c.token_hash.as_str()).collect();
                first
                    .iter()
                    .filter(|(h, _)| !got.contains(*h))
                    .map(|(h, i)| (*h, *i))
                    .collect()
            };
            for (index, outcome) in txn.insert(rows).await? {
                outcomes[index] = Some(outcome);
            }
            txn.record(sums).await?;
            txn.commit().await?;
            for (index, why) in self.refusals(&refused, now).await? {
                outcomes[index] = Some(Err(why));
            }
            return Ok(outcomes
                .into_iter()
                .map(|o| o.unwrap_or_else(|| Err(unknown())))
                .collect());
        }
    }

    /// Validates a claimed sheet: the response to store (id unset), or why not.
    async fn prepare(
        &mut self,
        txn: &Txn<'_>,
        c: &Claimed,
        sub: &Submission,
        now: DateTime<Utc>,
        sums: &mut super::survey_stats::CellSums,
    ) -> Result<Result<response::Model, ServiceError>, DbErr> {
        let surveyed = match txn {
            Txn::Orm(txn) => self.surveyed(txn, c.campaign_id).await,
            // The direct transaction is SQLite's: the sea-orm connection is free to read.
            Txn::Direct(_) => {
                let db = self.db;
                self.surveyed(db, c.campaign_id).await
            }
        };
        let surveyed = match surveyed {
            Ok(s) => s,
            Err(ServiceError::Internal(e)) => return Err(DbErr::Custom(format!("{e:#}"))),
            Err(e) => return Ok(Err(e)),
        };
        let version = &surveyed.version;
        let valid = match validate_answers(&version.questions, &sub.answers) {
            Ok(valid) => valid,
            Err(fields) => return Ok(Err(ServiceError::Validation(fields))),
        };
        let straight = straight_lined(&version.questions, &valid, STRAIGHT_LINE_MIN_ITEMS);
        let too_fast = sub
            .duration_secs
            .is_some_and(|d| d < surveyed.too_fast_secs);
        super::survey_stats::contribute(
            &super::survey_stats::Stored {
                campaign_id: c.campaign_id,
                agency_id: c.agency_id,
                submitted_at: now,
                flagged: straight || too_fast,
                weight: 1.0,
                questions: &version.questions,
                answers: &valid,
            },
            sums,
        );
        Ok(Ok(response::Model {
            id: 0,
            campaign_id: c.campaign_id,
            invitation_id: Some(c.id),
            questionnaire_version_id: version.model.id,
            agency_id: c.agency_id,
            channel: sub.channel.clone(),
            answers: answers_to_json(&valid),
            weight: 1.0,
            duration_secs: sub.duration_secs,
            straight_lining: straight,
            too_fast,
            submitted_at: now,
        }))
    }

    /// A campaign's answering facts, from the writer's cache after first use.
    async fn surveyed(
        &mut self,
        txn: &impl ConnectionTrait,
        campaign_id: i64,
    ) -> Result<Arc<Surveyed>, ServiceError> {
        if let Some(s) = self.campaigns.get(&campaign_id) {
            return Ok(s.clone());
        }
        let campaign = campaign::Entity::find_by_id(campaign_id)
            .one(txn)
            .await?
            .ok_or(ServiceError::NotFound { entity: "campaign" })?;
        let s = Arc::new(Surveyed {
            too_fast_secs: campaign.too_fast_secs,
            version: version_of(self.versions, txn, &campaign).await?,
        });
        self.campaigns.insert(campaign_id, s.clone());
        Ok(s)
    }

    /// Why each unclaimed sheet was refused: unknown token, used, expired, or the
    /// campaign not open.
    async fn refusals(
        &self,
        refused: &[(&str, usize)],
        now: DateTime<Utc>,
    ) -> Result<Vec<(usize, ServiceError)>, DbErr> {
        if refused.is_empty() {
            return Ok(Vec::new());
        }
        let found: HashMap<String, (invitation::Model, Option<campaign::Model>)> =
            invitation::Entity::find()
                .filter(invitation::Column::TokenHash.is_in(refused.iter().map(|(h, _)| *h)))
                .find_also_related(campaign::Entity)
                .all(self.db)
                .await?
                .into_iter()
                .map(|(inv, c)| (inv.token_hash.clone(), (inv, c)))
                .collect();
        let answered = answered_among(self.db, found.values().map(|(inv, _)| inv.id)).await?;
        Ok(refused
            .iter()
            .map(|(hash, index)| {
                let why = match found.get(*hash) {
                    Some((inv, Some(c))) => check_usable(inv, answered.contains(&inv.id), c, now)
                        .err()
                        // Claimable now but not a moment ago: answered meanwhile.
                        .unwrap_or_else(used),
                    _ => unknown(),
                };
                (*index, why)
            })
            .collect())
    }
}

/// A group's transaction on either path.
enum Txn<'c> {
    Orm(DatabaseTransaction),
    Direct(sqlite::Txn<'c>),
}

impl Txn<'_> {
    /// Claims the pending, unexpired, unanswered invitations of open campaigns among
    /// the group's first sheets; returns what the answers need.
    async fn claim(
        &self,
        first: &HashMap<&str, usize, foldhash::fast::RandomState>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, DbErr> {
        let hashes: Vec<&str> = first.keys().copied().collect();
        match self {
            Txn::Orm(txn) => claim(txn, hashes, now).await,
            Txn::Direct(txn) => txn.claim(&hashes, now),
        }
    }

    async fn insert(
        &self,
        rows: Vec<(usize, response::Model)>,
    ) -> Result<Vec<(usize, Outcome)>, DbErr> {
        match self {
            Txn::Orm(txn) => insert(txn, rows).await,
            Txn::Direct(txn) => txn.insert(rows),
        }
    }

    async fn record(&self, sums: super::survey_stats::CellSums) -> Result<(), DbErr> {
        match self {
            Txn::Orm(txn) => super::survey_stats::record(txn, sums).await,
            Txn::Direct(txn) => txn.record(sums),
        }
    }

    async fn commit(self) -> Result<(), DbErr> {
        match self {
            Txn::Orm(txn) => txn.commit().await,
            Txn::Direct(txn) => txn.commit(),
        }
    }

    async fn rollback(self) -> Result<(), DbErr> {
        match self {
            Txn::Orm(txn) => txn.rollback().await,
            // Dropping it rolls it back.
            Txn::Direct(_) => Ok(()),
        }
    }
}

/// Claims the pending, unexpired, unanswered invitations of open campaigns among the
/// token hashes; returns what the answers need. The claim only reads: the response
/// the same transaction stores marks the invitation answered, and the unique index on
/// `responses.invitation_id` lets only one transaction store it (on PostgreSQL a
/// concurrent one waits for that index entry and then fails, and its group is retried
/// answer by answer).
async fn claim(
    txn: &DatabaseTransaction,
    hashes: Vec<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<Claimed>, DbErr> {
    // A correlated EXISTS, not `campaign_id IN (…)`: with an IN the planner may
    // prefer the campaign index over the token index and scan the whole campaign.
    let open = Query::select()
        .expr(Expr::val(1))
        .from(campaign::Entity)
        .and_where(
            Expr::col((campaign::Entity, campaign::Column::Id))
                .equals((invitation::Entity, invitation::Column::CampaignId)),
        )
        .and_where(campaign::Column::Status.eq(campaigns::OPEN))
        .and_where(campaign::Column::OpensAt.lte(now))
        .and_where(campaign::Column::ClosesAt.gt(now))
        .to_owned();
    invitation::Entity::find()
        .select_only()
        .columns([
            invitation::Column::Id,
            invitation::Column::TokenHash,
            invitation::Column::CampaignId,
            invitation::Column::AgencyId,
        ])
        .filter(invitation::Column::TokenHash.is_in(padded(hashes)))
        .filter(invitation::Column::Status.eq(PENDING))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .filter(Expr::exists(open))
        .filter(unanswered())
        .into_model::<Claimed>()
        .all(txn)
        .await
}

/// The stored status of an invitation not expired by the expiry task; whether it has
/// been answered is whether a response names it ([`unanswered`]).
pub(crate) const PENDING: &str = "pending";

/// The stored status the expiry task gives an unanswered invitation past its time.
pub(crate) const EXPIRED: &str = "expired";

/// Which of the invitations `ids` a response names.
pub(crate) async fn answered_among(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashSet<i64>, DbErr> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let named: Vec<Option<i64>> = response::Entity::find()
        .select_only()
        .column(response::Column::InvitationId)
        .filter(response::Column::InvitationId.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(named.into_iter().flatten().collect())
}

/// A condition on `invitations`: no response names the invitation.
pub(crate) fn unanswered() -> sea_orm::sea_query::SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(response::Entity)
            .and_where(
                Expr::col((response::Entity, response::Column::InvitationId))
                    .equals((invitation::Entity, invitation::Column::Id)),
            )
            .to_owned(),
    )
    .not()
}

/// The list padded to a power of two by repeating its last element, so that the
/// database sees few distinct statements (and its statement cache keeps them).
fn padded(mut list: Vec<&str>) -> Vec<&str> {
    if let Some(last) = list.last().copied() {
        list.resize(list.len().next_power_of_two(), last);
    }
    list
}

/// Inserts the responses with one statement returning only their keys.
async fn insert(
    txn: &DatabaseTransaction,
    rows: Vec<(usize, response::Model)>,
) -> Result<Vec<(usize, Outcome)>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut insert = response::Entity::insert_many(rows.iter().map(|(_, row)| {
        let mut row = row.clone().into_active_model();
        row.id = NotSet;
        row
    }))
    .into_query();
    insert.returning(
        Query::returning().columns([response::Column::Id, response::Column::InvitationId]),
    );
    let keys: HashMap<i64, i64> = txn
        .query_all(&insert)
        .await?
        .into_iter()
        .map(|k| Ok((k.try_get_by_index(1)?, k.try_get_by_index(0)?)))
        .collect::<Result<_, DbErr>>()?;
    Ok(receipts(rows, &keys))
}

/// The receipts of inserted rows, from the response ids their insert returned by
/// invitation id (RETURNING rows come in no promised order; each carries its
/// invitation).
fn receipts<S: std::hash::BuildHasher>(
    rows: Vec<(usize, response::Model)>,
    ids: &HashMap<i64, i64, S>,
) -> Vec<(usize, Outcome)> {
    rows.into_iter()
        .map(|(index, row)| {
            let outcome = match row.invitation_id.and_then(|i| ids.get(&i)) {
                Some(id) => Ok(Receipt {
                    response_id: *id,
                    submitted_at: row.submitted_at,
                }),
                None => Err(anyhow::anyhow!("an inserted response returned no key").into()),
            };
            (index, outcome)
        })
        .collect()
}
