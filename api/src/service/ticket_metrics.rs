//! Ticket metrics for the assessment index, per agency and period (Asia/Shanghai
//! dates): complaints per 100 enforcement cases with the exact Poisson interval, the
//! substantiated share of verified complaints and reports, the on-time reply rate and
//! the reporters' satisfaction rate, each with its Wilson interval — all computed by
//! `pingjia-scoring`.

use chrono::NaiveDate;
use pingjia_scoring::proportion::{Interval, rate_per_100, wilson_ci};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Actor, Scope, ServiceError, regions};
use crate::domain::Role;
use crate::domain::calendar::end_of_shanghai_day;
use crate::domain::ticket::State;
use crate::store::{agency, case, ticket as ticket_row};

/// One agency's ticket metrics over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct AgencyMetrics {
    pub agency_id: i64,
    pub agency_name: String,
    /// Enforcement cases decided in the period.
    pub cases: u64,
    /// Complaints filed in the period against the agency (not counting those not
    /// accepted, 不予受理).
    pub complaints: u64,
    /// Complaints per 100 cases with the exact Poisson interval; `None` without cases.
    pub complaints_per_100_cases: Option<Interval>,
    /// Complaints and reports of the period whose verification has a finding.
    pub verified: u64,
    /// Of those, found substantiated or partly substantiated.
    pub substantiated: u64,
    pub substantiated_share: Option<Interval>,
    /// Tickets of the period whose reply is settled: replied, or past the deadline.
    pub reply_settled: u64,
    /// Of those, replied by the deadline.
    pub on_time: u64,
    pub on_time_rate: Option<Interval>,
    /// Tickets of the period the reporter rated (or was deemed to).
    pub rated: u64,
    /// Of those, 满意 or 基本满意.
    pub satisfied: u64,
    pub satisfaction_rate: Option<Interval>,
}

#[derive(Debug, FromQueryResult)]
struct CaseCount {
    agency_id: i64,
    n: i64,
}

/// Metrics of every agency in the caller's scope for the dates `from..=to`.
pub async fn by_agency(
    db: &DatabaseConnection,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    confidence: f64,
) -> Result<Vec<AgencyMetrics>, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Agency]) {
        return Err(ServiceError::forbidden(
            "only admin, bureau and agency keys read ticket metrics",
        ));
    }
    if to < from {
        return Err(ServiceError::invalid("to", "must not be before from"));
    }
    if !(confidence > 0.5 && confidence < 1.0) {
        return Err(ServiceError::invalid(
            "confidence",
            "must lie between 0.5 and 1",
        ));
    }
    let mut agencies = agency::Entity::find().order_by_asc(agency::Column::Id);
    match &actor.scope {
        Scope::Everything => {}
        Scope::Region { path, .. } => {
            agencies =
                agencies.filter(agency::Column::RegionCode.in_subquery(regions::codes_under(path)));
        }
        Scope::Agency { id, .. } => agencies = agencies.filter(agency::Column::Id.eq(*id)),
    }
    let agencies = agencies.all(db).await?;
    for_agencies(db, agencies, from, to, confidence).await
}

/// The metrics of the given agencies for the dates `from..=to`.
pub async fn for_agencies(
    db: &DatabaseConnection,
    agencies: Vec<agency::Model>,
    from: NaiveDate,
    to: NaiveDate,
    confidence: f64,
) -> Result<Vec<AgencyMetrics>, ServiceError> {
    let ids: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    let cases: Vec<CaseCount> = case::Entity::find()
        .select_only()
        .column(case::Column::AgencyId)
        .column_as(case::Column::Id.count(), "n")
        .filter(case::Column::AgencyId.is_in(ids.clone()))
        .filter(case::Column::DecisionDate.gte(from))
        .filter(case::Column::DecisionDate.lte(to))
        .group_by(case::Column::AgencyId)
        .into_model()
        .all(db)
        .await?;
    let start = end_of_shanghai_day(from) - chrono::Duration::days(1);
    let end = end_of_shanghai_day(to);
    let tickets = ticket_row::Entity::find()
        .filter(ticket_row::Column::AgencyId.is_in(ids))
        .filter(ticket_row::Column::CreatedAt.gte(start))
        .filter(ticket_row::Column::CreatedAt.lt(end))
        .all(db)
        .await?;
    let now = chrono::Utc::now();
    let interval = |k: u64, n: u64| -> Result<Option<Interval>, ServiceError> {
        wilson_ci(k, n, confidence).map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))
    };
    agencies
        .into_iter()
        .map(|a| {
            let mine: Vec<&ticket_row::Model> = tickets
                .iter()
                .filter(|t| t.agency_id == Some(a.id) && t.state != State::Rejected.as_str())
                .collect();
            let n_cases = cases
                .iter()
                .find(|c| c.agency_id == a.id)
                .map_or(0, |c| u64::try_from(c.n).unwrap_or(0));
            let complaints = mine.iter().filter(|t| t.kind == "complaint").count() as u64;
            let verified: Vec<_> = mine
                .iter()
                .filter(|t| matches!(t.kind.as_str(), "complaint" | "report"))
                .filter_map(|t| t.finding.as_deref())
                .collect();
            let substantiated = verified
                .iter()
                .filter(|f| matches!(**f, "substantiated" | "partly"))
                .count() as u64;
            let settled: Vec<bool> = mine
                .iter()
                .filter_map(|t| match t.replied_at {
                    Some(r) => Some(r <= t.reply_due),
                    None if t.reply_due <= now => Some(false),
                    None => None,
                })
                .collect();
            let on_time = settled.iter().filter(|ok| **ok).count() as u64;
            let ratings: Vec<&str> = mine.iter().filter_map(|t| t.rating.as_deref()).collect();
            let satisfied = ratings
                .iter()
                .filter(|r| matches!(**r, "满意" | "基本满意"))
                .count() as u64;
            Ok(AgencyMetrics {
                agency_id: a.id,
                agency_name: a.name,
                cases: n_cases,
                complaints,
                complaints_per_100_cases: rate_per_100(complaints, n_cases, confidence)
                    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?,
                verified: verified.len() as u64,
                substantiated,
                substantiated_share: interval(substantiated, verified.len() as u64)?,
                reply_settled: settled.len() as u64,
                on_time,
                on_time_rate: interval(on_time, settled.len() as u64)?,
                rated: ratings.len() as u64,
                satisfied,
                satisfaction_rate: interval(satisfied, ratings.len() as u64)?,
            })
        })
        .collect()
}
