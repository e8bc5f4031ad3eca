//! Sufficient statistics of survey scores, maintained in the transaction that stores
//! each response: per (campaign, agency, month in Asia/Shanghai, dimension, flagged)
//! the respondents n and Σw, Σw², Σw·y, Σw²·y, Σw²·y², where y is a respondent's
//! 0–100 score on the dimension (25·(Σx − c)/c over the c answered items, exactly as
//! `pingjia-scoring` scores a row). From them the weighted mean and its design
//! standard error follow without reading a response:
//!
//! ```text
//! m  = Σwy / Σw
//! SE = √( n/(n−1) · (Σw²y² − 2m·Σw²y + m²·Σw²) ) / Σw
//! ```

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use crate::domain::calendar::shanghai_date;
use crate::domain::questionnaire::{Answer, Question};
use crate::store::survey_stat;

/// The pseudo-dimension of every scored item.
pub const OVERALL: &str = "overall_index";

/// Where a response's contribution goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cell {
    pub campaign_id: i64,
    pub agency_id: i64,
    pub month: String,
    pub dimension: String,
    pub flagged: bool,
}

/// The sums of a batch of responses by cell.
pub type CellSums = HashMap<Cell, Sums, foldhash::fast::RandomState>;

/// Sums of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    pub n: i64,
    pub sw: f64,
    pub sw2: f64,
    pub swy: f64,
    pub sw2y: f64,
    pub sw2y2: f64,
}

impl Sums {
    fn add(&mut self, w: f64, y: f64) {
        self.n += 1;
        self.sw += w;
        self.sw2 += w * w;
        self.swy += w * y;
        self.sw2y += w * w * y;
        self.sw2y2 += w * w * y * y;
    }

    pub fn merge(&mut self, o: &Sums) {
        self.n += o.n;
        self.sw += o.sw;
        self.sw2 += o.sw2;
        self.swy += o.swy;
        self.sw2y += o.sw2y;
        self.sw2y2 += o.sw2y2;
    }

    /// The weighted mean (0–100) and its design standard error (`None` for one
    /// respondent).
    pub fn estimate(&self) -> Option<(f64, Option<f64>)> {
        if self.n == 0 || self.sw <= 0.0 {
            return None;
        }
        let m = self.swy / self.sw;
        let n = self.n as f64;
        let ss = (self.sw2y2 - 2.0 * m * self.sw2y + m * m * self.sw2).max(0.0);
        let se = (self.n > 1).then(|| (n / (n - 1.0) * ss).sqrt() / self.sw);
        Some((m, se))
    }
}

/// `YYYY-MM` of an instant in Asia/Shanghai.
pub fn month_of(t: DateTime<Utc>) -> String {
    let d = shanghai_date(t);
    format!("{}-{:02}", d.year(), d.month())
}

/// A stored response as the statistics need it.
pub struct Stored<'a> {
    pub campaign_id: i64,
    pub agency_id: i64,
    pub submitted_at: DateTime<Utc>,
    pub flagged: bool,
    pub weight: f64,
    pub questions: &'a [Question],
    pub answers: &'a [(String, Answer)],
}

/// Adds a response's scores to `into`, per dimension of its scored items and overall.
pub fn contribute(r: &Stored<'_>, into: &mut CellSums) {
    // (dimension, items answered, their sum): a handful, so a list.
    let mut per: Vec<(&str, u32, u32)> = Vec::with_capacity(8);
    for q in r.questions.iter().filter(|q| q.kind.is_scored()) {
        let Some(dimension) = q.dimension.as_deref() else {
            continue;
        };
        let Some(x) = r
            .answers
            .iter()
            .find(|(k, _)| k == &q.key)
            .and_then(|(_, a)| a.likert(q.reverse))
        else {
            continue;
        };
        for d in [dimension, OVERALL] {
            match per.iter_mut().find(|(k, _, _)| *k == d) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += u32::from(x);
                }
                None => per.push((d, 1, u32::from(x))),
            }
        }
    }
    let month = month_of(r.submitted_at);
    for (dimension, answered, total) in per {
        let y = 25.0 * f64::from(total - answered) / f64::from(answered);
        into.entry(Cell {
            campaign_id: r.campaign_id,
            agency_id: r.agency_id,
            month: month.clone(),
            dimension: dimension.to_owned(),
            flagged: r.flagged,
        })
        .or_default()
        .add(r.weight, y);
    }
}

/// Stores responses loaded in bulk (demo data, benchmarks) with the statistics they
/// add, in the caller's transaction; inserts in chunks under SQLite's parameter limit.
pub async fn store_bulk<C: ConnectionTrait>(
    db: &C,
    rows: Vec<crate::store::response::ActiveModel>,
    sums: CellSums,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(1_000) {
        crate::store::response::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    record(db, sums).await
}

/// Refuses sums that are not all finite, before they reach the stored statistics
/// (where one infinite cell would make every estimate over it unusable).
pub fn check_finite(sums: &CellSums) -> Result<(), super::ServiceError> {
    let finite = |s: &Sums| {
        [s.sw, s.sw2, s.swy, s.sw2y, s.sw2y2]
            .iter()
            .all(|v| v.is_finite())
    };
    if sums.values().all(finite) {
        Ok(())
    } else {
        Err(super::ServiceError::invalid(
            "weight",
            "the weights are too large: the survey statistics would overflow",
        ))
    }
}

/// Adds the sums to the stored statistics in the caller's transaction (one statement:
/// insert, or add to the existing cell).
pub async fn record<C: ConnectionTrait>(db: &C, sums: CellSums) -> Result<(), DbErr> {
    if sums.is_empty() {
        return Ok(());
    }
    use survey_stat::Column as C;
    let added = |c: C| {
        let name = match c {
            C::N => "n",
            C::Sw => "sw",
            C::Sw2 => "sw2",
            C::Swy => "swy",
            C::Sw2y => "sw2y",
            _ => "sw2y2",
        };
        (
            c,
            Expr::cust(format!("survey_stats.{name} + excluded.{name}")),
        )
    };
    let rows: Vec<survey_stat::ActiveModel> = sums
        .into_iter()
        .map(|(cell, s)| survey_stat::ActiveModel {
            campaign_id: Set(cell.campaign_id),
            agency_id: Set(cell.agency_id),
            month: Set(cell.month),
            dimension: Set(cell.dimension),
            flagged: Set(cell.flagged),
            n: Set(s.n),
            sw: Set(s.sw),
            sw2: Set(s.sw2),
            swy: Set(s.swy),
            sw2y: Set(s.sw2y),
            sw2y2: Set(s.sw2y2),
            ..Default::default()
        })
        .collect();
    // 11 values a row: 1,000 rows stay below SQLite's 32,766 bound parameters.
    for chunk in rows.chunks(1_000) {
        survey_stat::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    C::CampaignId,
                    C::AgencyId,
                    C::Month,
                    C::Dimension,
                    C::Flagged,
                ])
                .values([
                    added(C::N),
                    added(C::Sw),
                    added(C::Sw2),
                    added(C::Swy),
                    added(C::Sw2y),
                    added(C::Sw2y2),
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
