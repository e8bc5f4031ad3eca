//! The answer writer's group transactions on SQLite, through a rusqlite connection of
//! its own.
//!
//! Through sqlx every statement left the writer's thread for sqlx's SQLite worker
//! thread and came back, its arguments and rows converted on both sides, and every
//! group built its multi-row SQL anew: the writer's thread and the worker together
//! spent about 110 µs of CPU per answer, and half of the worker's time was that
//! traffic (`perf`, BENCHMARKS.md). Here the writer calls SQLite in place with
//! statements prepared once. The statements are the sea-orm path's: claim and insert
//! take up to [`MAX_ROWS`] rows each (one shape per power-of-two length), the
//! statistics one cell each, a cell already seen added to by its row id. Two things
//! differ, both to spare SQLite work it would do for nothing (see [`Direct::open`]):
//! the connection does not check foreign keys, and the multi-row statements are
//! `OR FAIL`, so SQLite keeps no statement journal for them. Values are encoded
//! exactly as sqlx encodes them (timestamps as RFC 3339 text, JSON as text, booleans
//! as integers), so both paths read what the other wrote and compare timestamps the
//! same way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, params};
use sea_orm::DbErr;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::oneshot;

use super::{Claimed, Outcome, receipts};
use crate::service::ServiceError;
use crate::service::campaigns;
use crate::service::survey_stats::{Cell, CellSums};
use crate::store::response;

/// The most rows one multi-row statement carries. A longer list goes in chunks whose
/// lengths are powers of two, longest first (100 rows: 64, 32, 4), so the statements
/// have few shapes and each is prepared once.
const MAX_ROWS: usize = 64;

/// Splits `items` into [`MAX_ROWS`]-bounded chunks of power-of-two lengths.
fn chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let (chunk, rest) = items.split_at(1 << items.len().min(MAX_ROWS).ilog2());
        items = rest;
        Some(chunk)
    })
}

/// `rows` parenthesised lists of `width` anonymous parameters: `(?, ?), (?, ?)`.
fn value_rows(rows: usize, width: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row; rows].join(", ")
}

/// The SQL of each chunk length, by its base-2 logarithm.
struct Shapes {
    claim: Vec<String>,
    insert: Vec<String>,
}

/// Columns of a response row as [`Shapes::insert`] binds them.
const RESPONSE_COLUMNS: usize = 11;

impl Shapes {
    fn new() -> Self {
        let lengths = || (0..=MAX_ROWS.ilog2()).map(|log| 1usize << log);
        Self {
            // The invitations among the token hashes `?3…` that can take an answer at
            // `?1`: pending, unexpired, unanswered, their campaign open (status `?2`).
            // Only read: the response stored in the same transaction is what marks an
            // invitation answered.
            claim: lengths()
                .map(|n| {
                    format!(
                        "SELECT id, token_hash, campaign_id, agency_id FROM invitations \
                         WHERE token_hash IN ({}) AND status = 'pending' AND expires_at > ?1 \
                         AND EXISTS (SELECT 1 FROM campaigns WHERE campaigns.id = invitations.campaign_id \
                         AND campaigns.status = ?2 AND campaigns.opens_at <= ?1 AND campaigns.closes_at > ?1) \
                         AND NOT EXISTS (SELECT 1 FROM responses WHERE responses.invitation_id = invitations.id)",
                        (3..3 + n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
                    )
                })
                .collect(),
            insert: lengths()
                .map(|n| {
                    format!(
                        "INSERT OR FAIL INTO responses (campaign_id, invitation_id, \
                         questionnaire_version_id, agency_id, channel, answers, weight, duration_secs, \
                         straight_lining, too_fast, submitted_at) VALUES {} \
                         RETURNING id, invitation_id",
                        value_rows(n, RESPONSE_COLUMNS)
                    )
                })
                .collect(),
        }
    }
}

/// Adds one cell's sums to the stored statistics.
const RECORD: &str = "INSERT INTO survey_stats (campaign_id, agency_id, month, dimension, \
     flagged, n, sw, sw2, swy, sw2y, sw2y2) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
     ON CONFLICT (campaign_id, agency_id, month, dimension, flagged) DO UPDATE SET \
     n = survey_stats.n + excluded.n, sw = survey_stats.sw + excluded.sw, \
     sw2 = survey_stats.sw2 + excluded.sw2, swy = survey_stats.swy + excluded.swy, \
     sw2y = survey_stats.sw2y + excluded.sw2y, sw2y2 = survey_stats.sw2y2 + excluded.sw2y2 \
     RETURNING id";

/// Adds to a cell found by its row id (`?12`), checking its key (a rolled-back insert
/// may have left the id to another cell); `?1`–`?11` as in [`RECORD`].
const ADD: &str = "UPDATE survey_stats SET n = n + ?6, sw = sw + ?7, sw2 = sw2 + ?8, \
     swy = swy + ?9, sw2y = sw2y + ?10, sw2y2 = sw2y2 + ?11 \
     WHERE id = ?12 AND campaign_id = ?1 AND agency_id = ?2 AND month = ?3 \
     AND dimension = ?4 AND flagged = ?5";

/// Cells whose row ids the writer keeps at most (then it starts over).
const CELL_IDS: usize = 100_000;

/// A timestamp as sqlx stores a `DateTime<Utc>` in SQLite.
pub(super) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn sqlite_err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite: {e}"))
}

/// Frames the log may hold before the checkpointer, instead of copying what it can
/// beside the writer, waits for a moment without writers to copy the rest and start
/// the log over (16 MiB of 4 KiB pages).
const RESTART_FRAMES: i64 = 4_096;

/// The log file is cut back to this size when it starts over.
const LOG_SIZE_LIMIT: i64 = 64 << 20;

/// The least time between two checkpoints: under load each copies many commits' pages
/// at once (a page changed by many commits is copied once).
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(100);

/// The writer's own SQLite connection.
pub(super) struct Direct {
    conn: Connection,
    /// Row ids of statistics cells: adding to a cell by its id costs half an upsert.
    cells: RefCell<HashMap<Cell, i64, foldhash::fast::RandomState>>,
    shapes: Shapes,
    path: PathBuf,
    busy: Duration,
}

/// A connection to the database file with the pool's settings: WAL, foreign keys, the
/// busy timeout.
fn connect(path: &Path, busy: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "journal_size_limit", LOG_SIZE_LIMIT)?;
    Ok(conn)
}

impl Direct {
    /// Opens the (existing, migrated) database file of a `sqlite:` URL. Commits write
    /// the log without flushing it and do not checkpoint: [`Durability`] does both on
    /// threads of its own.
    pub(super) fn open(url: &str, busy: Duration) -> anyhow::Result<Self> {
        let options: SqliteConnectOptions = url.parse()?;
        let path = options.get_filename().to_owned();
        let conn = connect(&path, busy)?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "SQLite refused WAL mode");
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // SQLite's temporary structures in memory (the ephemeral tables of the claim's
        // `IN` list and of `RETURNING`, and any statement journal): past 64 KiB they
        // spilled into a file created and unlinked in /var/tmp for each statement, once
        // more than half of the writer's writes. A group is bounded by `MAX_GROUP`, so
        // the memory they take is too.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // No foreign-key checks on this connection: every reference the writer stores
        // comes from the invitation row its own transaction has just claimed (campaign,
        // agency, the invitation itself) or from that campaign (its questionnaire
        // version), and the service deletes none of those rows, so the checks (four
        // parent lookups per response) could never fail. Without them, and with
        // `OR FAIL` on the multi-row statements, no statement can stop half done in a
        // way SQLite would have to undo alone, so it keeps no statement journal for
        // them; any failure rolls the whole group back anyway.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        // Two statements of each chunk length, the statistics', BEGIN and COMMIT.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self {
            conn,
            cells: RefCell::default(),
            shapes: Shapes::new(),
            path,
            busy,
        })
    }

    /// Starts the thread that checkpoints the log; the writer flushes it itself
    /// ([`Durability::ack`]).
    pub(super) fn durability(&self, flush: prometheus::Histogram) -> anyhow::Result<Durability> {
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let checkpointer = connect(&self.path, self.busy)?;
        let thread = std::thread::Builder::new()
            .name("answer-checkpoint".into())
            .spawn(move || checkpoints(&checkpointer, &woken))?;
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        Ok(Durability {
            wal: PathBuf::from(wal),
            flush,
            wake,
            checkpointer: thread,
        })
    }

    /// Starts a group's transaction, taking the write lock at once (a deferred
    /// transaction that reads first could not upgrade while another connection
    /// writes, and would fail instead of waiting).
    pub(super) fn begin(&self) -> Result<Txn<'_>, DbErr> {
        self.conn
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut begin| begin.execute([]))
            .map_err(sqlite_err)?;
        Ok(Txn {
            conn: &self.conn,
            cells: &self.cells,
            shapes: &self.shapes,
            open: true,
        })
    }
}

/// The replies of one committed group.
pub(super) type Acks = Vec<(oneshot::Sender<Outcome>, Outcome)>;

/// Flushes the write-ahead log to the disk: every frame written before the call,
/// committed groups' included, survives power loss once it returns. The file is opened
/// each time, so a log SQLite has deleted and created anew is the one synced.
fn sync(wal: &Path) -> std::io::Result<()> {
    std::fs::File::open(wal)?.sync_data()
}

/// Copies committed pages from the log into the database file after commits, at most
/// every [`CHECKPOINT_PAUSE`], beside the writer (a passive checkpoint takes no lock the
/// writer needs). The log starts over only when a checkpoint has copied all of it, which
/// a writer that never pauses would prevent: past [`RESTART_FRAMES`] the checkpoint
/// waits for the writer's current commit, copies the few frames left and starts the
/// log over.
fn checkpoints(conn: &Connection, woken: &std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    let checkpoint = |mode: &str| -> rusqlite::Result<i64> {
        // Rows: (busy, frames in the log, frames checkpointed).
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(1))
    };
    while woken.recv().is_ok() {
        let done = match checkpoint("PASSIVE") {
            Ok(frames) if frames >= RESTART_FRAMES => checkpoint("RESTART").map(|_| ()),
            other => other.map(|_| ()),
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "checkpointing the answers' log");
        }
        let until = Instant::now() + CHECKPOINT_PAUSE;
        loop {
            match woken.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(()) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// Answers committed groups once the log holding them is on the disk, and has the
/// log checkpointed. The writer commits with `synchronous=NORMAL` (SQLite writes the
/// log but does not flush it), then flushes the log itself before it answers the
/// group, so an answer is acknowledged only after a flush that began after its commit
/// returned: as durable as with `synchronous=FULL`. What this gives up is that
/// another connection may read a commit a moment before it is on the disk; SQLite's
/// own guarantee for `NORMAL` (a crash never corrupts the database) holds as ever.
///
/// The flush holds the writer, and the answers that arrive meanwhile make the next
/// group larger, so each group's log pages, most of a group's cost, are shared by
/// more answers. Two syncer threads that flushed beside the writer (each answer then
/// handed between three threads) cost about a tenth more CPU an answer and were no
/// faster at any load measured (BENCHMARKS.md, 2026-12-02 afternoon).
pub(super) struct Durability {
    wal: PathBuf,
    flush: prometheus::Histogram,
    wake: std::sync::mpsc::SyncSender<()>,
    checkpointer: std::thread::JoinHandle<()>,
}

impl Durability {
    /// Flushes the log, then answers `acks`; call after their group's commit returned.
    pub(super) fn ack(&self, acks: Acks) {
        let committed = Instant::now();
        let synced = sync(&self.wal);
        // Observed before the replies, so a submitter answered sees its flush counted.
        self.flush.observe(committed.elapsed().as_secs_f64());
        if let Err(e) = &synced {
            tracing::error!(error = %e, "the write-ahead log could not be flushed; the answers of the last group are refused");
        }
        for (reply, outcome) in acks {
            let outcome = match (&synced, outcome) {
                (Err(_), Ok(_)) => Err(ServiceError::Internal(anyhow::anyhow!(
                    "the answer could not be made durable"
                ))),
                (_, outcome) => outcome,
            };
            // A submitter that went away still had its answer stored.
            let _ = reply.send(outcome);
        }
        // Full means a checkpoint is due anyway.
        let _ = self.wake.try_send(());
    }

    /// Stops the checkpointer once it has finished what it was doing.
    pub(super) fn finish(self) {
        drop(self.wake);
        if self.checkpointer.join().is_err() {
            tracing::error!("the answer writer's checkpointer panicked");
        }
    }
}

/// A group's transaction; rolled back when dropped uncommitted.
pub(super) struct Txn<'c> {
    conn: &'c Connection,
    cells: &'c RefCell<HashMap<Cell, i64, foldhash::fast::RandomState>>,
    shapes: &'c Shapes,
    open: bool,
}

impl Txn<'_> {
    /// Claims the invitations that can take an answer among the token hashes, one
    /// statement per chunk. The transaction holds the write lock from its `BEGIN`, so
    /// nothing can answer them before its responses are stored.
    pub(super) fn claim(&self, hashes: &[&str], now: DateTime<Utc>) -> Result<Vec<Claimed>, DbErr> {
        let now = timestamp(now);
        let mut claimed = Vec::with_capacity(hashes.len());
        for chunk in chunks(hashes) {
            let sql = &self.shapes.claim[chunk.len().ilog2() as usize];
            let mut claim = self.conn.prepare_cached(sql).map_err(sqlite_err)?;
            claim.raw_bind_parameter(1, &now).map_err(sqlite_err)?;
            claim
                .raw_bind_parameter(2, campaigns::OPEN)
                .map_err(sqlite_err)?;
            for (i, hash) in chunk.iter().enumerate() {
                claim.raw_bind_parameter(3 + i, hash).map_err(sqlite_err)?;
            }
            let mut rows = claim.raw_query();
            while let Some(r) = rows.next().map_err(sqlite_err)? {
                claimed.push(Claimed {
                    id: r.get(0).map_err(sqlite_err)?,
                    token_hash: r.get(1).map_err(sqlite_err)?,
                    campaign_id: r.get(2).map_err(sqlite_err)?,
                    agency_id: r.get(3).map_err(sqlite_err)?,
                });
            }
        }
        Ok(claimed)
    }

    /// Inserts the responses, a chunk per statement; each outcome carries its new id.
    pub(super) fn insert(
        &self,
        rows: Vec<(usize, response::Model)>,
    ) -> Result<Vec<(usize, Outcome)>, DbErr> {
        let mut ids: HashMap<i64, i64, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(rows.len(), Default::default());
        for chunk in chunks(&rows) {
            let sql = &self.shapes.insert[chunk.len().ilog2() as usize];
            let mut insert = self.conn.prepare_cached(sql).map_err(sqlite_err)?;
            for (j, (_, row)) in chunk.iter().enumerate() {
                let answers = serde_json::to_string(&row.answers)
                    .map_err(|e| DbErr::Custom(format!("answers as JSON: {e}")))?;
                let values = params![
                    row.campaign_id,
                    row.invitation_id,
                    row.questionnaire_version_id,
                    row.agency_id,
                    row.channel,
                    answers,
                    row.weight,
                    row.duration_secs,
                    row.straight_lining,
                    row.too_fast,
                    timestamp(row.submitted_at),
                ];
                for (k, value) in values.iter().enumerate() {
                    insert
                        .raw_bind_parameter(j * RESPONSE_COLUMNS + k + 1, value)
                        .map_err(sqlite_err)?;
                }
            }
            let mut keys = insert.raw_query();
            while let Some(k) = keys.next().map_err(sqlite_err)? {
                ids.insert(k.get(1).map_err(sqlite_err)?, k.get(0).map_err(sqlite_err)?);
            }
        }
        Ok(receipts(rows, &ids))
    }

    /// Adds the sums to the stored statistics, to a cell already seen by its row id.
    /// (One statement per cell: an `UPDATE … FROM (VALUES …)` of many cells costs more
    /// than as many updates, as SQLite first copies the join into a table of its own.)
    pub(super) fn record(&self, sums: CellSums) -> Result<(), DbErr> {
        let mut add = self.conn.prepare_cached(ADD).map_err(sqlite_err)?;
        let mut record = self.conn.prepare_cached(RECORD).map_err(sqlite_err)?;
        let mut cells = self.cells.borrow_mut();
        if cells.len() > CELL_IDS {
            cells.clear();
        }
        for (cell, s) in sums {
            let values = params![
                cell.campaign_id,
                cell.agency_id,
                cell.month,
                cell.dimension,
                cell.flagged,
                s.n,
                s.sw,
                s.sw2,
                s.swy,
                s.sw2y,
                s.sw2y2,
            ];
            if let Some(id) = cells.get(&cell) {
                let with_id = values.iter().copied().chain([id as &dyn rusqlite::ToSql]);
                let added = add
                    .execute(rusqlite::params_from_iter(with_id))
                    .map_err(sqlite_err)?;
                if added == 1 {
                    continue;
                }
            }
            let id = record.query_row(values, |r| r.get(0)).map_err(sqlite_err)?;
            cells.insert(cell, id);
        }
        Ok(())
    }

    /// Commits; a failed commit is rolled back.
    pub(super) fn commit(mut self) -> Result<(), DbErr> {
        self.conn
            .prepare_cached("COMMIT")
            .and_then(|mut commit| commit.execute([]))
            .map_err(sqlite_err)?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "rolling back an answer group");
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use sea_orm::{ConnectionTrait, Database, Statement};

    use super::*;
    use crate::service::survey_stats::Sums;

    fn cell(agency_id: i64) -> Cell {
        Cell {
            campaign_id: 1,
            agency_id,
            month: "2026-12".into(),
            dimension: "attitude".into(),
            flagged: false,
        }
    }

    fn one(cell: Cell) -> CellSums {
        let mut sums = CellSums::default();
        sums.insert(
            cell,
            Sums {
                n: 1,
                sw: 1.0,
                sw2: 1.0,
                swy: 75.0,
                sw2y: 75.0,
                sw2y2: 5625.0,
            },
        );
        sums
    }

    /// A database of only the statistics table, and the writer's connection to it.
    fn stats_database(dir: &Path) -> anyhow::Result<Direct> {
        let path = dir.join("s.db");
        Connection::open(&path)?.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE survey_stats (id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
               campaign_id bigint NOT NULL, agency_id bigint NOT NULL, month varchar(7) NOT NULL,
               dimension varchar(64) NOT NULL, flagged boolean NOT NULL, n bigint NOT NULL,
               sw double NOT NULL, sw2 double NOT NULL, swy double NOT NULL,
               sw2y double NOT NULL, sw2y2 double NOT NULL);
             CREATE UNIQUE INDEX uq_survey_stats_key
               ON survey_stats (campaign_id, agency_id, month, dimension, flagged);",
        )?;
        Direct::open(
            &format!("sqlite://{}", path.display()),
            Duration::from_secs(5),
        )
    }

    /// (agency, n, Σwy) of every statistics row, by agency.
    fn stats_rows(direct: &Direct) -> anyhow::Result<Vec<(i64, i64, f64)>> {
        Ok(direct
            .conn
            .prepare("SELECT agency_id, n, swy FROM survey_stats ORDER BY agency_id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?)
    }

    /// Leaves the writer's cache holding a stale id for cell 1 that SQLite has given
    /// to cell 2: cell 1's first insert is rolled back, then cell 2 is stored.
    fn stale_id_of_cell_1_given_to_cell_2(direct: &Direct) -> anyhow::Result<()> {
        direct.begin()?.record(one(cell(1)))?; // dropped: rolled back
        let txn = direct.begin()?;
        txn.record(one(cell(2)))?;
        txn.commit()?;
        Ok(())
    }

    /// A rolled-back insert leaves its row id in the writer's cache while SQLite hands
    /// the id to the next new cell: adding by id must not touch that other cell.
    #[test]
    fn a_stale_cell_id_after_a_rollback_does_not_add_to_another_cell() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let direct = stats_database(dir.path())?;
        stale_id_of_cell_1_given_to_cell_2(&direct)?;
        let txn = direct.begin()?;
        txn.record(one(cell(1)))?;
        txn.record(one(cell(2)))?;
        txn.commit()?;
        assert_eq!(stats_rows(&direct)?, vec![(1, 1, 75.0), (2, 2, 150.0)]);
        Ok(())
    }

    /// The same, with both cells in one call: the stale id then equals the other cell's,
    /// and each cell is added to once.
    #[test]
    fn a_stale_cell_id_shared_with_another_cell_in_one_group_adds_to_each_once()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let direct = stats_database(dir.path())?;
        stale_id_of_cell_1_given_to_cell_2(&direct)?;
        let mut both = one(cell(1));
        both.extend(one(cell(2)));
        let txn = direct.begin()?;
        txn.record(both)?;
        txn.commit()?;
        assert_eq!(stats_rows(&direct)?, vec![(1, 1, 75.0), (2, 2, 150.0)]);
        Ok(())
    }

    #[test]
    fn chunks_are_powers_of_two_longest_first() {
        let lengths = |n: usize| chunks(&vec![0; n]).map(<[_]>::len).collect::<Vec<_>>();
        assert_eq!(lengths(0), Vec::<usize>::new());
        assert_eq!(lengths(1), vec![1]);
        assert_eq!(lengths(64), vec![64]);
        assert_eq!(lengths(101), vec![64, 32, 4, 1]);
        assert_eq!(lengths(256), vec![64, 64, 64, 64]);
    }

    /// A group longer than one statement takes (101 = 64 + 32 + 4 + 1) claims each
    /// invitation once, and each receipt names the row stored for its invitation.
    #[tokio::test]
    async fn groups_longer_than_a_statement_claim_and_store_each_row_once() -> anyhow::Result<()> {
        use secrecy::ExposeSecret;

        let dir = tempfile::tempdir()?;
        let (config, db) = crate::demo::scratch_database(dir.path()).await?;
        let fail = |e: ServiceError| anyhow::anyhow!("{e}");
        let (campaign, issued) = crate::demo::invited_cases(&db, 101, "CHUNK")
            .await
            .map_err(fail)?;
        assert_eq!(issued.len(), 101);
        let hashes: Vec<&str> = issued
            .iter()
            .map(|i| i.invitation.token_hash.as_str())
            .collect();

        let direct = Direct::open(config.database_url.expose_secret(), Duration::from_secs(5))?;
        let now = Utc::now();
        let txn = direct.begin()?;
        let claimed = txn.claim(&hashes, now)?;
        let mut got: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        let mut invited: Vec<i64> = issued.iter().map(|i| i.invitation.id).collect();
        got.sort_unstable();
        invited.sort_unstable();
        assert_eq!(got, invited);
        let rows = claimed
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let row = response::Model {
                    id: 0,
                    campaign_id: c.campaign_id,
                    invitation_id: Some(c.id),
                    questionnaire_version_id: campaign.questionnaire_version_id,
                    agency_id: c.agency_id,
                    channel: "link".into(),
                    answers: serde_json::json!({"attitude": 5}),
                    weight: 1.0,
                    duration_secs: Some(60),
                    straight_lining: false,
                    too_fast: false,
                    submitted_at: now,
                };
                (index, row)
            })
            .collect();
        let receipts = txn.insert(rows)?;
        // Stored responses are what answer the invitations: none can be claimed again.
        assert!(txn.claim(&hashes, now)?.is_empty(), "claimed twice");
        txn.commit()?;
        let txn = direct.begin()?;
        assert!(txn.claim(&hashes, now)?.is_empty(), "claimed after commit");
        drop(txn);

        let stored: HashMap<i64, i64> = direct
            .conn
            .prepare("SELECT id, invitation_id FROM responses")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        assert_eq!(stored.len(), 101);
        assert_eq!(receipts.len(), 101);
        // The writer does not check foreign keys; what it stored must satisfy them.
        let dangling: Vec<String> = direct
            .conn
            .prepare("PRAGMA foreign_key_check")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        assert_eq!(dangling, Vec::<String>::new());
        for (index, outcome) in receipts {
            let receipt = outcome.map_err(fail)?;
            assert_eq!(stored[&receipt.response_id], claimed[index].id);
            assert_eq!(receipt.submitted_at, now);
        }
        Ok(())
    }

    /// The writer's timestamps must be sqlx's, byte for byte: SQLite compares the
    /// stored text (`expires_at > now`) and sea-orm decodes it.
    #[tokio::test]
    async fn timestamps_are_written_as_sqlx_writes_them() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Database::connect(&url).await?;
        db.execute_unprepared("CREATE TABLE t (at TEXT)").await?;
        let instants = [
            Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap(),
            Utc.timestamp_opt(1_795_000_000, 120_000_000).unwrap(),
            Utc.timestamp_opt(1_795_000_000, 123_456_789).unwrap(),
        ];
        for t in instants {
            db.execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "INSERT INTO t (at) VALUES (?)",
                [t.into()],
            ))
            .await?;
        }
        let conn = Connection::open(dir.path().join("t.db"))?;
        let stored: Vec<String> = conn
            .prepare("SELECT at FROM t")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let ours: Vec<String> = instants.into_iter().map(timestamp).collect();
        assert_eq!(stored, ours);
        Ok(())
    }
}
