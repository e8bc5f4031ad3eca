//! Fixed-window rate limits kept in the database, so every API replica shares them.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::ServiceError;
use crate::store::rate_limit::{self, Column};

/// A limit: at most `max` hits per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_secs: i64,
}

/// Whether a bucket is over its limit, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Limited { retry_after_secs: i64 },
}

fn window_start(now: i64, limit: Limit) -> i64 {
    now - now.rem_euclid(limit.window_secs)
}

/// Reads the bucket without counting a hit.
pub async fn check<C: ConnectionTrait>(
    db: &C,
    bucket: &str,
    limit: Limit,
) -> Result<Verdict, ServiceError> {
    let now = Utc::now().timestamp();
    let start = window_start(now, limit);
    let hits = rate_limit::Entity::find()
        .filter(Column::Bucket.eq(bucket))
        .filter(Column::WindowStart.eq(start))
        .one(db)
        .await?
        .map_or(0, |r| r.hits);
    Ok(verdict(hits, now, start, limit))
}

fn verdict(hits: i32, now: i64, start: i64, limit: Limit) -> Verdict {
    if hits >= limit.max as i32 {
        Verdict::Limited {
            retry_after_secs: Ord::max(start + limit.window_secs - now, 1),
        }
    } else {
        Verdict::Allowed
    }
}

/// Counts one hit (atomically, with an upsert) and returns the verdict after it.
pub async fn hit<C: ConnectionTrait>(
    db: &C,
    bucket: &str,
    limit: Limit,
) -> Result<Verdict, ServiceError> {
    let now = Utc::now().timestamp();
    let start = window_start(now, limit);
    let upsert = Query::insert()
        .into_table(rate_limit::Entity)
        .columns([Column::Bucket, Column::WindowStart, Column::Hits])
        .values_panic([bucket.into(), start.into(), 1.into()])
        .on_conflict(
            OnConflict::columns([Column::Bucket, Column::WindowStart])
                .value(
                    Column::Hits,
                    Expr::col((rate_limit::Entity, Column::Hits)).add(1),
                )
                .to_owned(),
        )
        .returning_col(Column::Hits)
        .to_owned();
    let hits: i32 = match db.query_one(&upsert).await? {
        Some(row) => row.try_get("", "hits")?,
        None => 1,
    };
    if hits == 1 {
        // A new window began: forget windows older than a day.
        rate_limit::Entity::delete_many()
            .filter(Column::WindowStart.lt(now - 86_400))
            .exec(db)
            .await?;
    }
    // `hits` includes this one: limited once it goes past `max`.
    Ok(verdict(hits - 1, now, start, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_and_retry_after_counts_to_the_next_window() {
        let limit = Limit {
            max: 2,
            window_secs: 60,
        };
        assert_eq!(window_start(125, limit), 120);
        assert_eq!(verdict(1, 125, 120, limit), Verdict::Allowed);
        assert_eq!(
            verdict(2, 125, 120, limit),
            Verdict::Limited {
                retry_after_secs: 55
            }
        );
    }
}
