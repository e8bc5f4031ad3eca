//! 执法案件: enforcement cases ingested by agencies, each with a public case code
//! (一案一码) that opens its return-visit link.

use std::collections::HashSet;

use chrono::{NaiveDate, Utc};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

use super::{Actor, Scope, ServiceError, agencies, audit, error::FieldError};
use crate::domain::{Role, Uscc};
use crate::store::{case, enterprise, officer};

/// Most cases in one request.
pub const MAX_BATCH: usize = 1000;
/// Case kinds (执法行为类型).
pub const KINDS: [&str; 5] = ["inspection", "penalty", "coercion", "license", "levy"];
/// Procedures.
pub const PROCEDURES: [&str; 2] = ["simple", "general"];

/// Alphabet of case codes: no 0/O, 1/I/L, so codes read aloud and typed safely.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// 12 characters of 31: about 59 bits.
const CODE_LENGTH: usize = 12;

/// A case as submitted.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub agency_id: i64,
    pub case_number: String,
    pub kind: String,
    pub procedure: String,
    pub enterprise_uscc: Option<String>,
    pub officer_ids: Vec<i64>,
    pub decision_date: NaiveDate,
    pub hearing_held: bool,
    pub complaint_sourced: bool,
    pub officer_complained: bool,
    pub decision_overturned: bool,
}

/// The outcome for one submitted case.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub case: case::Model,
    /// `false` when the case (agency + number) was already stored.
    pub created: bool,
}

fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LENGTH)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

fn may_write(actor: &Actor, agency_id: i64, region_path: &str) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Bureau => actor.covers_path(region_path),
        Role::Agency => matches!(actor.scope, Scope::Agency { id, .. } if id == agency_id),
        _ => false,
    }
}

/// Stores a batch atomically: every case is validated first (errors name
/// `cases[i].field`); cases already stored (same agency and number) are returned as
/// they are, so a retried batch changes nothing.
pub async fn ingest(
    db: &DatabaseConnection,
    actor: &Actor,
    batch: Vec<NewCase>,
) -> Result<Vec<Ingested>, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Agency]) {
        return Err(ServiceError::forbidden(
            "only admin, bureau and agency keys may submit cases",
        ));
    }
    if batch.is_empty() || batch.len() > MAX_BATCH {
        return Err(ServiceError::invalid(
            "cases",
            format!("send 1 to {MAX_BATCH} cases"),
        ));
    }
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut enterprises = Vec::with_capacity(batch.len());
    // A decision is dated this century and not after tomorrow (Asia/Shanghai).
    let earliest = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    let latest = crate::domain::calendar::shanghai_date(chrono::Utc::now()) + chrono::Days::new(1);
    for (i, c) in batch.iter().enumerate() {
        let at = |f: &str| format!("cases[{i}].{f}");
        let number = c.case_number.trim();
        if number.is_empty() || number.chars().count() > 64 {
            errors.push(FieldError::new(
                at("case_number"),
                "must be 1–64 characters",
            ));
        }
        if !seen.insert((c.agency_id, number.to_owned())) {
            errors.push(FieldError::new(
                at("case_number"),
                "appears twice in this batch",
            ));
        }
        if !(earliest..=latest).contains(&c.decision_date) {
            errors.push(FieldError::new(
                at("decision_date"),
                format!("must lie between {earliest} and {latest}"),
            ));
        }
        if !KINDS.contains(&c.kind.as_str()) {
            errors.push(FieldError::new(
                at("kind"),
                format!("must be one of {}", KINDS.join(", ")),
            ));
        }
        if !PROCEDURES.contains(&c.procedure.as_str()) {
            errors.push(FieldError::new(
                at("procedure"),
                "must be simple or general",
            ));
        }
        match agencies::region_path_of(db, c.agency_id).await? {
            None => errors.push(FieldError::new(
                at("agency_id"),
                format!("agency {} does not exist", c.agency_id),
            )),
            Some(path) if !may_write(actor, c.agency_id, &path) => {
                return Err(ServiceError::forbidden(format!(
                    "agency {} lies outside the key's scope",
                    c.agency_id
                )));
            }
            Some(_) => {}
        }
        let mut enterprise_id = None;
        if let Some(raw) = &c.enterprise_uscc {
            match Uscc::parse(raw) {
                Err(e) => errors.push(FieldError::new(at("enterprise_uscc"), e.to_string())),
                Ok(code) => match enterprise::Entity::find()
                    .filter(enterprise::Column::Uscc.eq(code.as_str()))
                    .one(db)
                    .await?
                {
                    Some(e) => enterprise_id = Some(e.id),
                    None => errors.push(FieldError::new(
                        at("enterprise_uscc"),
                        format!("enterprise {code} is not registered: create it first"),
                    )),
                },
            }
        }
        enterprises.push(enterprise_id);
        for officer_id in &c.officer_ids {
            match officer::Entity::find_by_id(*officer_id).one(db).await? {
                Some(o) if o.agency_id == c.agency_id => {}
                Some(_) => errors.push(FieldError::new(
                    at("officer_ids"),
                    format!("officer {officer_id} belongs to another agency"),
                )),
                None => errors.push(FieldError::new(
                    at("officer_ids"),
                    format!("officer {officer_id} does not exist"),
                )),
            }
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }

    let txn = crate::db::begin_write(db).await?;
    let mut out = Vec::with_capacity(batch.len());
    let mut created_ids = Vec::new();
    for (c, enterprise_id) in batch.into_iter().zip(enterprises) {
        let number = c.case_number.trim().to_owned();
        if let Some(existing) = case::Entity::find()
            .filter(case::Column::AgencyId.eq(c.agency_id))
            .filter(case::Column::CaseNumber.eq(number.as_str()))
            .one(&txn)
            .await?
        {
            out.push(Ingested {
                case: existing,
                created: false,
            });
            continue;
        }
        let model = case::ActiveModel {
            agency_id: Set(c.agency_id),
            case_number: Set(number),
            kind: Set(c.kind),
            procedure: Set(c.procedure),
            enterprise_id: Set(enterprise_id),
            officer_ids: Set(serde_json::json!(c.officer_ids)),
            decision_date: Set(c.decision_date),
            hearing_held: Set(c.hearing_held),
            complaint_sourced: Set(c.complaint_sourced),
            officer_complained: Set(c.officer_complained),
            decision_overturned: Set(c.decision_overturned),
            case_code: Set(new_code()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            ServiceError::from_unique(e, "the case was submitted concurrently; retry the batch")
        })?;
        created_ids.push(model.id);
        out.push(Ingested {
            case: model,
            created: true,
        });
    }
    if !created_ids.is_empty() {
        audit::record(
            &txn,
            actor,
            audit::Change {
                action: "case.ingest",
                entity: "case",
                entity_id: created_ids
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                region_path: actor.region_prefix().map(str::to_owned),
                details: Some(
                    serde_json::json!({ "created": created_ids.len(), "ids": created_ids }),
                ),
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(out)
}

/// A case by its public code (for the public case page; no personal data).
pub async fn by_code(db: &DatabaseConnection, code: &str) -> Result<case::Model, ServiceError> {
    case::Entity::find()
        .filter(case::Column::CaseCode.eq(code.trim().to_uppercase()))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound { entity: "case" })
}

/// What the public case page (一案一码) shows: no officers, no enterprise, no people.
#[derive(Debug, Clone)]
pub struct PublicCase {
    pub case_code: String,
    pub agency: String,
    pub kind: String,
    pub decision_date: NaiveDate,
}

/// The public page of a case code.
pub async fn public_page(db: &DatabaseConnection, code: &str) -> Result<PublicCase, ServiceError> {
    let c = by_code(db, code).await?;
    Ok(PublicCase {
        agency: agencies::public_name(db, c.agency_id).await?,
        case_code: c.case_code,
        kind: c.kind,
        decision_date: c.decision_date,
    })
}
