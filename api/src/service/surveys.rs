//! Return-visit invitations (one-time tokens), public answering and campaign results.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};

use super::campaigns::{self, Availability};
use super::intake::{Intake, Receipt, Submission, Version, check_usable};
use super::{Actor, Scope, ServiceError, audit, questionnaires, regions};
use crate::domain::Role;
use crate::domain::calendar::end_of_shanghai_day;
use crate::domain::questionnaire::{Question, answers_to_json, straight_lined, validate_answers};
use crate::store::{agency, campaign, case, invitation, questionnaire_version, response};

/// Return-visit rules (回访规则); the defaults follow DESIGN.md.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReturnVisitRules {
    /// Case kinds that are visited.
    pub kinds: Vec<String>,
    /// Share of general-procedure cases visited (policy: all).
    pub general_rate: f64,
    /// Share of simple-procedure cases visited.
    pub simple_rate: f64,
    /// Days after the decision during which the visit happens.
    pub window_days: i64,
}

impl Default for ReturnVisitRules {
    fn default() -> Self {
        Self {
            kinds: vec!["inspection".into(), "penalty".into(), "coercion".into()],
            general_rate: 1.0,
            simple_rate: 0.2,
            window_days: 30,
        }
    }
}

impl ReturnVisitRules {
    /// Checks every field; errors name it.
    pub fn validate(&self) -> Result<(), ServiceError> {
        let mut v = super::error::Validator::new();
        for (field, rate) in [
            ("general_rate", self.general_rate),
            ("simple_rate", self.simple_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                v.add(field, "must be between 0 and 1");
            }
        }
        if !(1..=365).contains(&self.window_days) {
            v.add("window_days", "must be 1–365");
        }
        if self.kinds.is_empty() {
            v.add("kinds", "list at least one case kind");
        }
        if let Some(bad) = self
            .kinds
            .iter()
            .find(|k| !super::cases::KINDS.contains(&k.as_str()))
        {
            v.add(
                "kinds",
                format!("{bad} is not one of {}", super::cases::KINDS.join(", ")),
            );
        }
        v.finish()
    }
}

/// The rules in force for a region: its own, else the nearest ancestor's, else the
/// defaults. Also returns the region whose rules apply (`None` for the defaults).
pub async fn rules_for<C: sea_orm::ConnectionTrait>(
    db: &C,
    region_code: &str,
) -> Result<(ReturnVisitRules, Option<String>), ServiceError> {
    let path = regions::path_of(db, "region_code", region_code).await?;
    for code in path.split('/').filter(|c| !c.is_empty()).rev() {
        if let Some(stored) = crate::store::return_visit_rules::Entity::find_by_id(code)
            .one(db)
            .await?
        {
            let rules = serde_json::from_value(stored.rules).map_err(|e| {
                ServiceError::Internal(anyhow::anyhow!(
                    "stored rules of {code} are unreadable: {e}"
                ))
            })?;
            return Ok((rules, Some(code.to_owned())));
        }
    }
    Ok((ReturnVisitRules::default(), None))
}

/// Sets a bureau's rules (admin, or a bureau covering the region); its subtree
/// inherits them unless a lower region sets its own.
pub async fn set_rules(
    db: &DatabaseConnection,
    actor: &Actor,
    region_code: &str,
    rules: ReturnVisitRules,
) -> Result<ReturnVisitRules, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys set return-visit rules",
        ));
    }
    rules.validate()?;
    let path = regions::path_of(db, "region_code", region_code)
        .await
        .map_err(|_| ServiceError::NotFound { entity: "region" })?;
    if !actor.covers_path(&path) {
        return Err(ServiceError::forbidden(
            "the region lies outside the key's scope",
        ));
    }
    let json = serde_json::to_value(&rules).map_err(|e| ServiceError::Internal(e.into()))?;
    let txn = crate::db::begin_write(db).await?;
    crate::store::return_visit_rules::Entity::delete_by_id(region_code)
        .exec(&txn)
        .await?;
    crate::store::return_visit_rules::ActiveModel {
        region_code: Set(region_code.to_owned()),
        rules: Set(json),
        updated_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "return_visit_rules.set",
            entity: "region",
            entity_id: region_code.to_owned(),
            region_path: Some(path),
            details: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(rules)
}

/// A new invitation with its one-time token (shown once).
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    pub invitation: invitation::Model,
    pub token: String,
    pub case_code: Option<String>,
}

/// Result of generating invitations.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The seed of the random selection; the same seed, cases and rules select the same cases.
    pub seed: u64,
    pub issued: Vec<IssuedInvitation>,
    /// Cases considered (in the campaign's scope, period and kinds, not yet invited).
    pub eligible: usize,
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// End of `date + days` in Asia/Shanghai.
fn window_end(date: chrono::NaiveDate, days: i64) -> DateTime<Utc> {
    end_of_shanghai_day(date + Duration::days(days))
}

fn is_priority(c: &case::Model) -> bool {
    c.hearing_held || c.complaint_sourced || c.officer_complained || c.decision_overturned
}

/// Generates invitations for an invitation-mode campaign from its cases: priority cases
/// (hearing, complaint-sourced, officer complained about, decision overturned) always,
/// others by procedure at the rules' rates, chosen with a seeded selection.
pub async fn generate_invitations(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_id: i64,
    overrides: impl FnOnce(&mut ReturnVisitRules),
    seed: Option<u64>,
) -> Result<Generated, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys generate invitations",
        ));
    }
    let (c, _) = campaigns::get_for_write(db, actor, campaign_id).await?;
    let (mut rules, _) = rules_for(db, &c.region_code).await?;
    overrides(&mut rules);
    rules.validate()?;
    if c.mode != "invitation" {
        return Err(ServiceError::Conflict {
            code: "not_invitation_campaign",
            message: "open campaigns take public answers without invitations".into(),
        });
    }
    if c.status == campaigns::CLOSED {
        return Err(campaigns::unavailable(Availability::Closed));
    }
    let seed = seed.unwrap_or_else(|| rand::rng().next_u64());
    let now = Utc::now();

    let mut eligible = Vec::new();
    let candidates = case::Entity::find()
        .filter(case::Column::DecisionDate.between(c.period_start, c.period_end))
        .filter(case::Column::Kind.is_in(rules.kinds.clone()))
        .order_by_asc(case::Column::Id)
        .all(db)
        .await?;
    let invited: std::collections::HashSet<i64> = invitation::Entity::find()
        .filter(invitation::Column::CampaignId.eq(c.id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|i| i.case_id)
        .collect();
    let mut agency_cache: HashMap<i64, bool> = HashMap::new();
    for k in candidates {
        if invited.contains(&k.id) {
            continue;
        }
        let covered = match agency_cache.get(&k.agency_id) {
            Some(v) => *v,
            None => {
                let covered = match agency::Entity::find_by_id(k.agency_id).one(db).await? {
                    Some(a) => campaigns::covers(db, &c, &a).await?,
                    None => false,
                };
                agency_cache.insert(k.agency_id, covered);
                covered
            }
        };
        if covered {
            eligible.push(k);
        }
    }
    let eligible_count = eligible.len();
    let (priority, rest): (Vec<_>, Vec<_>) = eligible.into_iter().partition(is_priority);
    let mut chosen = priority;
    for (procedure, rate) in [
        ("general", rules.general_rate),
        ("simple", rules.simple_rate),
    ] {
        let pool: Vec<case::Model> = rest
            .iter()
            .filter(|k| k.procedure == procedure)
            .cloned()
            .collect();
        let k = (pool.len() as f64 * rate).ceil() as u64;
        let picks =
            pingjia_scoring::sampling::select(pool.len() as u64, k.min(pool.len() as u64), seed)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        chosen.extend(picks.into_iter().map(|i| pool[i as usize].clone()));
    }

    let txn = crate::db::begin_write(db).await?;
    let mut issued = Vec::new();
    for k in chosen {
        let expires_at = window_end(k.decision_date, rules.window_days).min(c.closes_at);
        if expires_at <= now {
            continue;
        }
        let token = new_token();
        let inv = invitation::ActiveModel {
            campaign_id: Set(c.id),
            case_id: Set(Some(k.id)),
            agency_id: Set(k.agency_id),
            token_hash: Set(hash_token(&token)),
            channel: Set("link".into()),
            status: Set(super::intake::PENDING.into()),
            expires_at: Set(expires_at),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            ServiceError::from_unique(e, "invitations are being generated concurrently; retry")
        })?;
        issued.push(IssuedInvitation {
            invitation: inv,
            token,
            case_code: Some(k.case_code),
        });
    }
    audit::record(&txn, actor, audit::Change {
        action: "invitation.generate",
        entity: "campaign",
        entity_id: c.id.to_string(),
        region_path: Some(regions::path_of(&txn, "region_code", &c.region_code).await?),
        details: Some(serde_json::json!({ "seed": seed.to_string(), "issued": issued.len(), "eligible": eligible_count })),
    })
    .await?;
    txn.commit().await?;
    Ok(Generated {
        seed,
        issued,
        eligible: eligible_count,
    })
}

/// Invites the reporter of a ticket to a satisfaction survey of the agency that
/// handled it (admin, or a bureau over the ticket and the campaign): a one-time
/// invitation (channel `bot`) delivered through the reporter's channel outbox as a
/// `survey_invitation`, its token sealed until the channel reads it. One invitation
/// per ticket; the campaign must be an invitation campaign, not closed, covering the
/// ticket's agency.
pub async fn invite_reporter(
    db: &DatabaseConnection,
    cipher: &crate::domain::contact::ContactCipher,
    actor: &Actor,
    ticket_id: i64,
    campaign_id: i64,
) -> Result<invitation::Model, ServiceError> {
    use crate::store::{outbox, ticket as ticket_row};
    if !actor.is(&[Role::Admin, Role::Bureau]) {
        return Err(ServiceError::forbidden(
            "only admin and bureau keys invite reporters",
        ));
    }
    let t = ticket_row::Entity::find_by_id(ticket_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound { entity: "ticket" })?;
    if !actor.covers_path(&regions::path_of(db, "region_code", &t.region_code).await?) {
        return Err(ServiceError::forbidden(
            "the ticket lies outside the key's scope",
        ));
    }
    let c = campaigns::get(db, actor, campaign_id).await?;
    let mut v = super::error::Validator::new();
    let Some(user) = t.channel_user_id else {
        return Err(ServiceError::invalid(
            "ticket_id",
            "the reporter can be reached only when the ticket came through a channel user",
        ));
    };
    let agency = match t.agency_id {
        Some(id) => agency::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    match &agency {
        None => v.add("ticket_id", "the ticket names no agency yet"),
        Some(a) if !campaigns::covers(db, &c, a).await? => v.add(
            "campaign_id",
            "the campaign does not cover the ticket's agency",
        ),
        Some(_) => {}
    }
    if c.mode != "invitation" {
        v.add("campaign_id", "choose an invitation campaign");
    }
    // A reporter is a citizen: the enterprise return visit is not theirs to answer.
    let (version, _) = questionnaires::of_campaign(db, &c).await?;
    let audience = crate::store::questionnaire::Entity::find_by_id(version.questionnaire_id)
        .one(db)
        .await?
        .map(|q| q.audience);
    if audience.as_deref() != Some("citizen") {
        v.add(
            "campaign_id",
            "a reporter is invited to a citizen questionnaire, not an enterprise one",
        );
    }
    v.finish()?;
    if c.status == campaigns::CLOSED || c.closes_at <= Utc::now() {
        return Err(campaigns::unavailable(Availability::Closed));
    }
    let agency = agency.ok_or(ServiceError::NotFound { entity: "agency" })?;
    let now = Utc::now();
    let token = new_token();
    let txn = crate::db::begin_write(db).await?;
    let earlier = outbox::Entity::find()
        .filter(outbox::Column::TicketId.eq(t.id))
        .filter(outbox::Column::Kind.eq("survey_invitation"))
        .one(&txn)
        .await?;
    if earlier.is_some() {
        return Err(ServiceError::Conflict {
            code: "already_invited",
            message: "the reporter of this ticket has been invited already".into(),
        });
    }
    let inv = invitation::ActiveModel {
        campaign_id: Set(c.id),
        case_id: Set(None),
        agency_id: Set(agency.id),
        token_hash: Set(hash_token(&token)),
        channel: Set("bot".into()),
        status: Set(super::intake::PENDING.into()),
        expires_at: Set(c.closes_at),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    super::channels::enqueue(
        &txn,
        &t.channel,
        user,
        Some(t.id),
        "survey_invitation",
        serde_json::json!({
            "number": t.number,
            "campaign": c.name,
            "agency": agency.name,
            "expires_at": c.closes_at,
            "sealed_token": cipher.seal(&token),
            "text": format!(
                "您好！您反映的问题（工单 {}）已办理。诚邀您对{}的执法工作进行满意度评价，问卷仅需几分钟。",
                t.number, agency.name
            ),
        }),
        now,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        audit::Change {
            action: "invitation.reporter",
            entity: "ticket",
            entity_id: t.id.to_string(),
            region_path: Some(regions::path_of(&txn, "region_code", &t.region_code).await?),
            details: Some(serde_json::json!({"campaign_id": c.id, "invitation_id": inv.id})),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(inv)
}

/// What a respondent sees for an invitation token.
#[derive(Clone)]
pub struct Invited {
    pub invitation: invitation::Model,
    pub campaign: campaign::Model,
    pub agency_name: String,
    pub version: Arc<Version>,
}

/// The invitation behind a token with its campaign, in one query.
async fn find_invitation(
    db: &DatabaseConnection,
    token: &str,
) -> Result<(invitation::Model, campaign::Model), ServiceError> {
    match invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash_token(token)))
        .find_also_related(campaign::Entity)
        .one(db)
        .await?
    {
        Some((inv, Some(campaign))) => Ok((inv, campaign)),
        _ => Err(ServiceError::NotFound {
            entity: "invitation",
        }),
    }
}

/// The questionnaire behind a token, if it can still be answered.
pub async fn invited(
    db: &DatabaseConnection,
    intake: &Intake,
    token: &str,
) -> Result<Invited, ServiceError> {
    let (invitation, campaign) = find_invitation(db, token).await?;
    let answered = !super::intake::answered_among(db, [invitation.id])
        .await?
        .is_empty();
    check_usable(&invitation, answered, &campaign, Utc::now())?;
    let version = intake.version_of(db, &campaign).await?;
    let agency_name = super::agencies::public_name(db, invitation.agency_id).await?;
    Ok(Invited {
        invitation,
        campaign,
        agency_name,
        version,
    })
}

/// The channels a public answer may say it came through; `link` when unsaid.
pub const PUBLIC_CHANNELS: [&str; 3] = ["link", "qr", "bot"];

/// The channel a public answer came through, checked against [`PUBLIC_CHANNELS`].
pub fn public_channel(via: Option<&str>) -> Result<&'static str, ServiceError> {
    match via {
        None => Ok(PUBLIC_CHANNELS[0]),
        Some(v) => PUBLIC_CHANNELS
            .into_iter()
            .find(|c| *c == v)
            .ok_or_else(|| {
                ServiceError::invalid(
                    "via",
                    format!("must be one of {}", PUBLIC_CHANNELS.join(", ")),
                )
            }),
    }
}

/// Submits answers for a token, exactly once: of concurrent submissions one wins and
/// the others get `invitation_used`. Returns once the answer is durable.
pub async fn answer(
    intake: &Intake,
    token: &str,
    answers: serde_json::Map<String, serde_json::Value>,
    duration_secs: Option<i32>,
    channel: &str,
) -> Result<Receipt, ServiceError> {
    intake
        .submit(Submission {
            token_hash: hash_token(token),
            answers,
            duration_secs,
            channel: channel.to_owned(),
        })
        .await
}

/// Enters answers collected by phone (电话回访) for an invitation, by id: evaluator and
/// admin keys anywhere, bureaus in their subtree.
pub async fn answer_by_phone(
    db: &DatabaseConnection,
    intake: &Intake,
    actor: &Actor,
    invitation_id: i64,
    answers: serde_json::Map<String, serde_json::Value>,
    duration_secs: Option<i32>,
) -> Result<Receipt, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Evaluator]) {
        return Err(ServiceError::forbidden(
            "only admin, bureau and evaluator keys enter phone answers",
        ));
    }
    let not_found = || ServiceError::NotFound {
        entity: "invitation",
    };
    let inv = invitation::Entity::find_by_id(invitation_id)
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    let path = super::agencies::region_path_of(db, inv.agency_id)
        .await?
        .ok_or_else(not_found)?;
    if !actor.covers_path(&path) {
        return Err(ServiceError::forbidden(
            "the invitation lies outside the key's scope",
        ));
    }
    intake
        .submit(Submission {
            token_hash: inv.token_hash,
            answers,
            duration_secs,
            channel: "phone".to_owned(),
        })
        .await
}

/// A pending invitation for a phone visit, with what the caller needs.
#[derive(Debug, Clone)]
pub struct PendingVisit {
    pub invitation_id: i64,
    pub agency: String,
    pub case_number: Option<String>,
    pub case_code: Option<String>,
    pub case_kind: Option<String>,
    pub decision_date: Option<chrono::NaiveDate>,
    pub enterprise: Option<String>,
    pub enterprise_uscc: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Pending, unexpired invitations of a campaign, for phone visits (bureau, admin,
/// evaluator).
pub async fn pending_visits(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_id: i64,
) -> Result<Vec<PendingVisit>, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Evaluator]) {
        return Err(ServiceError::forbidden(
            "only admin, bureau and evaluator keys read the visit list",
        ));
    }
    let c = campaigns::get(db, actor, campaign_id).await?;
    let now = Utc::now();
    let pending = invitation::Entity::find()
        .filter(invitation::Column::CampaignId.eq(c.id))
        .filter(invitation::Column::Status.eq(super::intake::PENDING))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .filter(super::intake::unanswered())
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(pending.len());
    for inv in pending {
        let path = super::agencies::region_path_of(db, inv.agency_id)
            .await?
            .unwrap_or_default();
        if !actor.covers_path(&path) {
            continue;
        }
        let k = match inv.case_id {
            Some(id) => case::Entity::find_by_id(id).one(db).await?,
            None => None,
        };
        let ent = match k.as_ref().and_then(|k| k.enterprise_id) {
            Some(id) => {
                crate::store::enterprise::Entity::find_by_id(id)
                    .one(db)
                    .await?
            }
            None => None,
        };
        out.push(PendingVisit {
            invitation_id: inv.id,
            agency: super::agencies::public_name(db, inv.agency_id).await?,
            case_number: k.as_ref().map(|k| k.case_number.clone()),
            case_code: k.as_ref().map(|k| k.case_code.clone()),
            case_kind: k.as_ref().map(|k| k.kind.clone()),
            decision_date: k.as_ref().map(|k| k.decision_date),
            enterprise: ent.as_ref().map(|e| e.name.clone()),
            enterprise_uscc: ent.map(|e| e.uscc),
            expires_at: inv.expires_at,
        });
    }
    Ok(out)
}

/// How results are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Agency,
    Region,
    /// All agencies pooled, per dimension.
    Dimension,
}

/// One group × dimension estimate.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// Agency id, region code, or `all`.
    pub group: String,
    pub dimension: String,
    pub score: pingjia_scoring::GroupScore,
}

/// Per group and dimension (plus `overall_index`: every scored item) the 0–100 score
/// computed by pingjia-scoring. Agency keys see only their own agency.
pub async fn results(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_id: i64,
    by: GroupBy,
    exclude_flagged: bool,
    min_n: usize,
    anonymity_min_n: usize,
) -> Result<Vec<ResultRow>, ServiceError> {
    let c = campaigns::get(db, actor, campaign_id).await?;
    if actor.role == Role::Channel {
        return Err(ServiceError::forbidden("channel keys do not read results"));
    }
    let (_, questions) = questionnaires::of_campaign(db, &c).await?;
    let mut select = response::Entity::find()
        .filter(response::Column::CampaignId.eq(c.id))
        .order_by_asc(response::Column::Id);
    // Answers about agencies outside the caller's scope are not its to read, even
    // when the campaign covers more (a city-wide one read by a county bureau).
    let agency_key = matches!(actor.scope, Scope::Agency { .. });
    match &actor.scope {
        Scope::Agency { id, .. } => select = select.filter(response::Column::AgencyId.eq(*id)),
        Scope::Region { path, .. } => {
            let in_scope = sea_orm::sea_query::Query::select()
                .column(agency::Column::Id)
                .from(agency::Entity)
                .and_where(agency::Column::RegionCode.in_subquery(regions::codes_under(path)))
                .to_owned();
            select = select.filter(response::Column::AgencyId.in_subquery(in_scope));
        }
        Scope::Everything => {}
    }
    // An agency key reads one fixed set of its own responses, in groups of at least
    // the anonymity threshold: with a second, overlapping set (flagged answers left
    // out) the difference of two results would give one respondent's answers back.
    let exclude_flagged = exclude_flagged && !agency_key;
    let min_n = if agency_key {
        min_n.max(anonymity_min_n)
    } else {
        min_n
    };
    if exclude_flagged {
        select = select
            .filter(response::Column::StraightLining.eq(false))
            .filter(response::Column::TooFast.eq(false));
    }
    let rows = select.all(db).await?;
    let mut agency_region: HashMap<i64, String> = HashMap::new();
    if by == GroupBy::Region {
        for a in agency::Entity::find().all(db).await? {
            agency_region.insert(a.id, a.region_code);
        }
    }
    let mut dimensions: BTreeMap<String, Vec<&Question>> = BTreeMap::new();
    for q in questions.iter().filter(|q| q.kind.is_scored()) {
        if let Some(d) = &q.dimension {
            dimensions.entry(d.clone()).or_default().push(q);
            dimensions
                .entry("overall_index".into())
                .or_default()
                .push(q);
        }
    }
    let options = pingjia_scoring::GroupOptions {
        min_n,
        ..Default::default()
    };
    let mut out = Vec::new();
    for (dimension, items) in &dimensions {
        let mut data = pingjia_scoring::Responses::new(items.len())
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        for r in &rows {
            let group = match by {
                GroupBy::Agency => r.agency_id.to_string(),
                GroupBy::Region => agency_region.get(&r.agency_id).cloned().unwrap_or_default(),
                GroupBy::Dimension => "all".to_owned(),
            };
            let stored = r.answers.as_object().cloned().unwrap_or_default();
            let valid = validate_answers(&questions, &stored).unwrap_or_default();
            let by_key: HashMap<&str, &crate::domain::questionnaire::Answer> =
                valid.iter().map(|(k, a)| (k.as_str(), a)).collect();
            let coded: Vec<Option<u8>> = items
                .iter()
                .map(|q| by_key.get(q.key.as_str()).and_then(|a| a.likert(q.reverse)))
                .collect();
            data.push(&group, r.weight, &coded)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        }
        if data.is_empty() {
            continue;
        }
        let scores = pingjia_scoring::score_groups(&data, &options)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        // Below the threshold an agency key gets no row at all, not a flagged one.
        for s in scores
            .into_iter()
            .filter(|s| !agency_key || s.n as usize >= min_n)
        {
            out.push(ResultRow {
                group: s.group.clone(),
                dimension: dimension.clone(),
                score: s,
            });
        }
    }
    Ok(out)
}

/// What a respondent sees for an open (public link) campaign.
#[derive(Debug, Clone)]
pub struct OpenSurvey {
    pub campaign: campaign::Model,
    pub version: questionnaire_version::Model,
    pub questions: Vec<Question>,
    /// The agencies the respondent can evaluate: (id, name).
    pub agencies: Vec<(i64, String)>,
}

async fn open_campaign<C: sea_orm::ConnectionTrait>(
    db: &C,
    campaign_id: i64,
) -> Result<campaign::Model, ServiceError> {
    match campaign::Entity::find_by_id(campaign_id).one(db).await? {
        // Invitation campaigns are not public: do not reveal them.
        Some(c) if c.mode == "open" => Ok(c),
        _ => Err(ServiceError::NotFound { entity: "campaign" }),
    }
}

/// The questionnaire and agencies of an open campaign that takes answers now.
pub async fn open_survey(
    db: &DatabaseConnection,
    campaign_id: i64,
) -> Result<OpenSurvey, ServiceError> {
    let c = open_campaign(db, campaign_id).await?;
    match campaigns::availability(&c, Utc::now()) {
        Availability::Accepting => {}
        other => return Err(campaigns::unavailable(other)),
    }
    let (version, questions) = questionnaires::of_campaign(db, &c).await?;
    let mut agencies = Vec::new();
    for a in agency::Entity::find()
        .filter(agency::Column::Active.eq(true))
        .order_by_asc(agency::Column::Id)
        .all(db)
        .await?
    {
        if campaigns::covers(db, &c, &a).await? {
            agencies.push((a.id, a.name));
        }
    }
    Ok(OpenSurvey {
        campaign: c,
        version,
        questions,
        agencies,
    })
}

/// A public answer to an open campaign.
#[derive(Debug, Clone)]
pub struct OpenAnswer<'a> {
    pub campaign_id: i64,
    pub agency_id: i64,
    pub answers: &'a serde_json::Map<String, serde_json::Value>,
    pub duration_secs: Option<i32>,
    /// The client's address, for the per-client limit.
    pub client: &'a str,
    pub idempotency_key: Option<&'a str>,
}

/// Whether a stored answer was created now or replayed for a repeated
/// `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct Stored {
    pub response: response::Model,
    pub replayed: bool,
}

/// Stores a public answer to an open campaign. Limited per client address and
/// campaign (counted in the database, shared by replicas); a repeated
/// `Idempotency-Key` returns the first answer instead of storing another.
pub async fn answer_open(
    db: &DatabaseConnection,
    input: OpenAnswer<'_>,
    limit: super::rate_limit::Limit,
) -> Result<Stored, ServiceError> {
    let scope = format!("open-answer:{}", input.campaign_id);
    if let Some(key) = input.idempotency_key {
        if key.is_empty() || key.len() > 128 {
            return Err(ServiceError::invalid(
                "Idempotency-Key",
                "must be 1–128 characters",
            ));
        }
        if let Some(stored) = replay(db, &scope, key).await? {
            same_request(db, &stored.response, &input).await?;
            return Ok(stored);
        }
    }
    let bucket = format!("{scope}:{}", input.client);
    if let super::rate_limit::Verdict::Limited { retry_after_secs } =
        super::rate_limit::hit(db, &bucket, limit).await?
    {
        return Err(ServiceError::RateLimited { retry_after_secs });
    }
    let c = open_campaign(db, input.campaign_id).await?;
    let now = Utc::now();
    match campaigns::availability(&c, now) {
        Availability::Accepting => {}
        other => return Err(campaigns::unavailable(other)),
    }
    let covered = match agency::Entity::find_by_id(input.agency_id).one(db).await? {
        Some(a) if a.active => campaigns::covers(db, &c, &a).await?,
        _ => false,
    };
    let (version, questions) = questionnaires::of_campaign(db, &c).await?;
    let mut errors = Vec::new();
    if !covered {
        errors.push(super::FieldError::new(
            "agency_id",
            "this survey does not cover that agency",
        ));
    }
    let valid = match validate_answers(&questions, input.answers) {
        Ok(v) => v,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    let txn = crate::db::begin_write(db).await?;
    take_quota(&txn, c.id, input.agency_id).await?;
    let straight = straight_lined(&questions, &valid, 8);
    let too_fast = input.duration_secs.is_some_and(|d| d < c.too_fast_secs);
    let stored = response::ActiveModel {
        campaign_id: Set(c.id),
        invitation_id: Set(None),
        questionnaire_version_id: Set(version.id),
        agency_id: Set(input.agency_id),
        channel: Set("web".into()),
        answers: Set(answers_to_json(&valid)),
        weight: Set(1.0),
        duration_secs: Set(input.duration_secs),
        straight_lining: Set(straight),
        too_fast: Set(too_fast),
        submitted_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut sums = super::survey_stats::CellSums::default();
    super::survey_stats::contribute(
        &super::survey_stats::Stored {
            campaign_id: c.id,
            agency_id: input.agency_id,
            submitted_at: now,
            flagged: straight || too_fast,
            weight: 1.0,
            questions: &questions,
            answers: &valid,
        },
        &mut sums,
    );
    super::survey_stats::record(&txn, sums).await?;
    if let Some(key) = input.idempotency_key {
        let claimed = crate::store::idempotency::ActiveModel {
            scope: Set(scope.clone()),
            key: Set(key.to_owned()),
            resource_id: Set(stored.id),
            created_at: Set(now),
        }
        .insert(&txn)
        .await;
        if let Err(e) = claimed {
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) {
                // A concurrent request with the same key won: drop ours, return theirs.
                txn.rollback().await?;
                let theirs = replay(db, &scope, key).await?.ok_or_else(|| {
                    ServiceError::Internal(anyhow::anyhow!("idempotency key vanished"))
                })?;
                same_request(db, &theirs.response, &input).await?;
                return Ok(theirs);
            }
            return Err(e.into());
        }
    }
    txn.commit().await?;
    Ok(Stored {
        response: stored,
        replayed: false,
    })
}

/// Counts an answer against the agency's quota, if it has one; a full quota is a 409.
/// The conditional update makes concurrent answers unable to overshoot.
async fn take_quota(
    txn: &sea_orm::DatabaseTransaction,
    campaign_id: i64,
    agency_id: i64,
) -> Result<(), ServiceError> {
    use crate::store::campaign_quota::{Column, Entity};
    use sea_orm::sea_query::ExprTrait;
    let taken = Entity::update_many()
        .col_expr(
            Column::Used,
            sea_orm::sea_query::Expr::col(Column::Used).add(1),
        )
        .filter(Column::CampaignId.eq(campaign_id))
        .filter(Column::AgencyId.eq(agency_id))
        .filter(
            sea_orm::sea_query::Expr::col(Column::Used)
                .lt(sea_orm::sea_query::Expr::col(Column::Quota)),
        )
        .exec(txn)
        .await?;
    if taken.rows_affected == 0
        && Entity::find_by_id((campaign_id, agency_id))
            .one(txn)
            .await?
            .is_some()
    {
        return Err(ServiceError::Conflict {
            code: "quota_full",
            message: "this survey has enough answers about that agency; thank you".into(),
        });
    }
    Ok(())
}

/// Refuses a repeated `Idempotency-Key` whose request differs from the one that
/// stored `stored` (another agency, other answers or duration): 422, as the IETF
/// idempotency-key draft says, instead of silently answering with the first answer.
async fn same_request(
    db: &DatabaseConnection,
    stored: &response::Model,
    input: &OpenAnswer<'_>,
) -> Result<(), ServiceError> {
    let c = crate::store::campaign::Entity::find_by_id(input.campaign_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound { entity: "campaign" })?;
    let (_, questions) = questionnaires::of_campaign(db, &c).await?;
    let answers = validate_answers(&questions, input.answers)
        .ok()
        .map(|valid| answers_to_json(&valid));
    if stored.agency_id == input.agency_id
        && stored.duration_secs == input.duration_secs
        && answers.as_ref() == Some(&stored.answers)
    {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "Idempotency-Key",
            "this key was used for a different answer; send a new key with a new answer",
        ))
    }
}

async fn replay(
    db: &DatabaseConnection,
    scope: &str,
    key: &str,
) -> Result<Option<Stored>, ServiceError> {
    let Some(entry) =
        crate::store::idempotency::Entity::find_by_id((scope.to_owned(), key.to_owned()))
            .one(db)
            .await?
    else {
        return Ok(None);
    };
    let response = response::Entity::find_by_id(entry.resource_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!(
                "stored response {} is gone",
                entry.resource_id
            ))
        })?;
    Ok(Some(Stored {
        response,
        replayed: true,
    }))
}

/// Rows per page when exporting.
pub const EXPORT_PAGE: u64 = 2000;

/// Columns of a response export: fixed columns, then one per question (its text).
#[derive(Debug, Clone)]
pub struct ExportLayout {
    pub campaign_id: i64,
    pub headers: Vec<String>,
    questions: Vec<Question>,
    /// Region path the caller is confined to, if any.
    scope: Option<String>,
}

/// Checks that `actor` may export a campaign's individual responses (admin,
/// evaluator, bureau; never agencies: answers are anonymous to them) and lays out
/// the columns.
pub async fn export_layout(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_id: i64,
) -> Result<ExportLayout, ServiceError> {
    if !actor.is(&[Role::Admin, Role::Bureau, Role::Evaluator]) {
        return Err(ServiceError::forbidden(
            "individual responses are exported only by admin, bureau and evaluator keys",
        ));
    }
    let c = campaigns::get(db, actor, campaign_id).await?;
    let (_, questions) = questionnaires::of_campaign(db, &c).await?;
    let mut headers: Vec<String> = [
        "答卷编号",
        "执法机关编号",
        "执法机关",
        "渠道",
        "提交时间",
        "用时(秒)",
        "整齐划一",
        "过快",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    headers.extend(questions.iter().map(|q| format!("{}【{}】", q.text, q.key)));
    Ok(ExportLayout {
        campaign_id: c.id,
        headers,
        questions,
        scope: actor.region_prefix().map(str::to_owned),
    })
}

fn cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::Bool(b)) => if *b { "1" } else { "0" }.to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

/// One page of export rows after response id `after` (ascending); empty at the end.
/// Returns the rows and the last id.
pub async fn export_page(
    db: &DatabaseConnection,
    layout: &ExportLayout,
    after: i64,
) -> Result<(Vec<Vec<String>>, i64), ServiceError> {
    use sea_orm::QuerySelect;
    let mut select = response::Entity::find()
        .filter(response::Column::CampaignId.eq(layout.campaign_id))
        .filter(response::Column::Id.gt(after))
        .order_by_asc(response::Column::Id)
        .limit(EXPORT_PAGE);
    if let Some(prefix) = &layout.scope {
        let in_scope = sea_orm::sea_query::Query::select()
            .column(agency::Column::Id)
            .from(agency::Entity)
            .and_where(agency::Column::RegionCode.in_subquery(regions::codes_under(prefix)))
            .to_owned();
        select = select.filter(response::Column::AgencyId.in_subquery(in_scope));
    }
    let page = select.all(db).await?;
    let last = page.last().map_or(after, |r| r.id);
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut rows = Vec::with_capacity(page.len());
    for r in page {
        let name = match names.get(&r.agency_id) {
            Some(n) => n.clone(),
            None => {
                let n = super::agencies::public_name(db, r.agency_id).await?;
                names.insert(r.agency_id, n.clone());
                n
            }
        };
        let mut row = vec![
            r.id.to_string(),
            r.agency_id.to_string(),
            name,
            r.channel.clone(),
            r.submitted_at.to_rfc3339(),
            r.duration_secs.map(|d| d.to_string()).unwrap_or_default(),
            u8::from(r.straight_lining).to_string(),
            u8::from(r.too_fast).to_string(),
        ];
        row.extend(layout.questions.iter().map(|q| cell(r.answers.get(&q.key))));
        rows.push(row);
    }
    Ok((rows, last))
}

/// Marks unanswered pending invitations whose time ran out as `expired`, as of `now`;
/// returns how many changed. Run periodically by the server (expiry is also enforced
/// on every answer, so a late run never lets an expired invitation through). An
/// answer that commits while this runs stays answered: a response, not the stored
/// status, is what says so.
pub async fn expire_due(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, ServiceError> {
    let result = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            sea_orm::sea_query::Expr::value(super::intake::EXPIRED),
        )
        .filter(invitation::Column::Status.eq(super::intake::PENDING))
        .filter(invitation::Column::ExpiresAt.lte(now))
        .filter(super::intake::unanswered())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
