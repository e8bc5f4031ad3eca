//! The answer writer's group transactions on SQLite, through a rusqlite connection of
//! its own.
//!
//! Through sqlx every statement left the writer's thread for sqlx's SQLite worker
//! thread and came back, its arguments and rows converted on both sides, and every
//! group built its multi-row SQL anew: the writer's thread and the worker together
//! spent about 110 µs of CPU per answer, and half of the worker's time was that
//! traffic (`perf`, BENCHMARKS.md). Here the writer calls SQLite in place with
//! statements prepared once. The statements are the sea-orm path's (claim, insert,
//! statistics upsert), one row each, and a cell already seen is added to by its row
//! id; values are encoded exactly as sqlx encodes them (timestamps as
//! RFC 3339 text, JSON as text, booleans as integers), so both paths read what the
//! other wrote and compare timestamps the same way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sea_orm::DbErr;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::oneshot;

use super::{Claimed, Outcome};
use crate::service::ServiceError;
use crate::service::campaigns;
use crate::service::survey_stats::{Cell, CellSums};
use crate::store::response;

/// Claims one pending, unexpired invitation of an open campaign.
const CLAIM: &str = "UPDATE invitations SET status = 'answered', answered_at = ?1, channel = ?2 \
     WHERE token_hash = ?3 AND status = 'pending' AND expires_at > ?1 \
     AND EXISTS (SELECT 1 FROM campaigns WHERE campaigns.id = invitations.campaign_id \
     AND campaigns.status = ?4 AND campaigns.opens_at <= ?1 AND campaigns.closes_at > ?1) \
     RETURNING id, campaign_id, agency_id";

const INSERT: &str = "INSERT INTO responses (campaign_id, invitation_id, \
     questionnaire_version_id, agency_id, channel, answers, weight, duration_secs, \
     straight_lining, too_fast, submitted_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

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
        Ok(Self {
            conn,
            cells: RefCell::default(),
            path,
            busy,
        })
    }

    /// Starts the threads that flush and checkpoint the log.
    pub(super) fn durability(&self) -> anyhow::Result<Durability> {
        let (queue, acks) = std::sync::mpsc::channel::<Acks>();
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let checkpointer = connect(&self.path, self.busy)?;
        let checkpointer = std::thread::Builder::new()
            .name("answer-checkpoint".into())
            .spawn(move || checkpoints(&checkpointer, &woken))?;
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let syncer = std::thread::Builder::new()
            .name("answer-syncer".into())
            .spawn(move || {
                while let Ok(first) = acks.recv() {
                    let mut batch = vec![first];
                    batch.extend(acks.try_iter());
                    let synced = sync(&wal);
                    if let Err(e) = &synced {
                        tracing::error!(error = %e, "the write-ahead log could not be flushed; the answers of the last groups are refused");
                    }
                    for (reply, outcome) in batch.into_iter().flatten() {
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
                    let _ = wake.try_send(());
                }
            })?;
        Ok(Durability {
            queue,
            threads: [syncer, checkpointer],
        })
    }

    /// Starts a group's transaction, taking the write lock at once (a deferred
    /// transaction that reads first could not upgrade while another connection
    /// writes, and would fail instead of waiting).
    pub(super) fn begin(&self) -> Result<Txn<'_>, DbErr> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(sqlite_err)?;
        Ok(Txn {
            conn: &self.conn,
            cells: &self.cells,
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
        let until = std::time::Instant::now() + CHECKPOINT_PAUSE;
        loop {
            match woken.recv_timeout(until.saturating_duration_since(std::time::Instant::now())) {
                Ok(()) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// Answers committed groups once the log holding them is on the disk, and checkpoints
/// the log. The writer commits with `synchronous=NORMAL` (SQLite writes the log but
/// does not flush it) and goes on with the next group while the syncer thread flushes;
/// one flush covers every group committed before it. An answer is acknowledged only
/// after a flush that began after its commit returned, so it is as durable as with
/// `synchronous=FULL`; what this gives up is that another connection may read a commit
/// a moment before it is on the disk. SQLite's own guarantee for `NORMAL` (a crash
/// never corrupts the database) holds as ever.
pub(super) struct Durability {
    queue: std::sync::mpsc::Sender<Acks>,
    threads: [std::thread::JoinHandle<()>; 2],
}

impl Durability {
    /// Answers `acks` once durable; call after their group's commit returned.
    pub(super) fn ack(&self, acks: Acks) {
        if let Err(std::sync::mpsc::SendError(acks)) = self.queue.send(acks) {
            for (reply, _) in acks {
                let _ = reply.send(Err(ServiceError::Internal(anyhow::anyhow!(
                    "the answer writer has stopped"
                ))));
            }
        }
    }

    /// Waits until every group handed over is answered and the threads have stopped.
    pub(super) fn finish(self) {
        drop(self.queue);
        for thread in self.threads {
            if thread.join().is_err() {
                tracing::error!("a thread of the answer writer panicked");
            }
        }
    }
}

/// A group's transaction; rolled back when dropped uncommitted.
pub(super) struct Txn<'c> {
    conn: &'c Connection,
    cells: &'c RefCell<HashMap<Cell, i64, foldhash::fast::RandomState>>,
    open: bool,
}

impl Txn<'_> {
    /// Claims the invitations of `(token hash, channel)` pairs that can take an answer.
    pub(super) fn claim<'h>(
        &self,
        sheets: impl Iterator<Item = (&'h str, &'h str)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, DbErr> {
        let now = timestamp(now);
        let mut claim = self.conn.prepare_cached(CLAIM).map_err(sqlite_err)?;
        let mut claimed = Vec::new();
        for (hash, channel) in sheets {
            let row = claim
                .query_row(params![now, channel, hash, campaigns::OPEN], |r| {
                    Ok(Claimed {
                        id: r.get(0)?,
                        token_hash: hash.to_owned(),
                        campaign_id: r.get(1)?,
                        agency_id: r.get(2)?,
                    })
                })
                .optional()
                .map_err(sqlite_err)?;
            claimed.extend(row);
        }
        Ok(claimed)
    }

    /// Inserts the responses; each outcome carries its new id.
    pub(super) fn insert(
        &self,
        rows: Vec<(usize, response::Model)>,
    ) -> Result<Vec<(usize, Outcome)>, DbErr> {
        let mut insert = self.conn.prepare_cached(INSERT).map_err(sqlite_err)?;
        let mut stored = Vec::with_capacity(rows.len());
        for (index, mut row) in rows {
            let answers = serde_json::to_string(&row.answers)
                .map_err(|e| DbErr::Custom(format!("answers as JSON: {e}")))?;
            row.id = insert
                .insert(params![
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
                ])
                .map_err(sqlite_err)?;
            stored.push((index, Ok(row)));
        }
        Ok(stored)
    }

    /// Adds the sums to the stored statistics.
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

    pub(super) fn commit(mut self) -> Result<(), DbErr> {
        self.open = false;
        self.conn.execute_batch("COMMIT").map_err(sqlite_err)
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

    /// A rolled-back insert leaves its row id in the writer's cache while SQLite hands
    /// the id to the next new cell: adding by id must not touch that other cell.
    #[test]
    fn a_stale_cell_id_after_a_rollback_does_not_add_to_another_cell() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("s.db");
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
        let direct = Direct::open(
            &format!("sqlite://{}", path.display()),
            Duration::from_secs(5),
        )?;
        direct.begin()?.record(one(cell(1)))?; // dropped: rolled back
        let txn = direct.begin()?;
        txn.record(one(cell(2)))?;
        txn.commit()?;
        let txn = direct.begin()?;
        txn.record(one(cell(1)))?;
        txn.record(one(cell(2)))?;
        txn.commit()?;
        let rows: Vec<(i64, i64, f64)> = direct
            .conn
            .prepare("SELECT agency_id, n, swy FROM survey_stats ORDER BY agency_id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        assert_eq!(rows, vec![(1, 1, 75.0), (2, 2, 150.0)]);
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
