//! The demo data set (`pingjia serve --demo`): 连云港市 with three counties and their
//! towns, agencies across domains, officers and enterprises with valid credit codes.
//! Names of people are invented.

pub mod activity;

use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::domain::{AgencyDomain, RegionLevel, Uscc};
use crate::service::{
    Actor, ServiceError, agencies, campaigns, cases, enterprises, officers, questionnaires,
    regions, surveys,
};
use crate::store::{campaign, region};

/// Demo regions: (code, name, level, parent).
const REGIONS: &[(&str, &str, RegionLevel, Option<&str>)] = &[
    ("320700", "连云港市", RegionLevel::City, None),
    ("320706", "海州区", RegionLevel::County, Some("320700")),
    ("320707", "赣榆区", RegionLevel::County, Some("320700")),
    ("320722", "东海县", RegionLevel::County, Some("320700")),
    ("320706001", "海州街道", RegionLevel::Town, Some("320706")),
    ("320706002", "幸福路街道", RegionLevel::Town, Some("320706")),
    ("320706003", "朐阳街道", RegionLevel::Town, Some("320706")),
    ("320707100", "青口镇", RegionLevel::Town, Some("320707")),
    ("320707101", "柘汪镇", RegionLevel::Town, Some("320707")),
    ("320722001", "牛山街道", RegionLevel::Town, Some("320722")),
    ("320722100", "白塔埠镇", RegionLevel::Town, Some("320722")),
    ("320722101", "黄川镇", RegionLevel::Town, Some("320722")),
];

/// Demo agencies: (name, domain, region).
const AGENCIES: &[(&str, AgencyDomain, &str)] = &[
    (
        "连云港市市场监督管理局",
        AgencyDomain::MarketRegulation,
        "320700",
    ),
    (
        "连云港市生态环境局",
        AgencyDomain::EcologyEnvironment,
        "320700",
    ),
    ("连云港市交通运输局", AgencyDomain::Transport, "320700"),
    (
        "连云港市应急管理局",
        AgencyDomain::EmergencyManagement,
        "320700",
    ),
    ("连云港市卫生健康委员会", AgencyDomain::Health, "320700"),
    (
        "海州区市场监督管理局",
        AgencyDomain::MarketRegulation,
        "320706",
    ),
    ("海州区城市管理局", AgencyDomain::UrbanManagement, "320706"),
    (
        "赣榆区市场监督管理局",
        AgencyDomain::MarketRegulation,
        "320707",
    ),
    ("赣榆区农业农村局", AgencyDomain::Agriculture, "320707"),
    (
        "东海县自然资源和规划局",
        AgencyDomain::NaturalResources,
        "320722",
    ),
    (
        "东海县文化广电和旅游局",
        AgencyDomain::CultureTourism,
        "320722",
    ),
    (
        "东海县人力资源和社会保障局",
        AgencyDomain::HumanResources,
        "320722",
    ),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: &[&str] = &[
    "建国", "海燕", "志强", "丽华", "文博", "晓东", "春梅", "国庆", "子涵", "明",
];
const TRADES: &[&str] = &[
    "商贸", "食品", "建材", "物流", "餐饮", "化工", "水产", "机械",
];

/// Counts of what [`load_if_empty`] created.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub regions: usize,
    pub agencies: usize,
    pub officers: usize,
    pub enterprises: usize,
}

/// Loads the demo data set unless the database already has regions.
pub async fn load_if_empty(db: &DatabaseConnection) -> Result<Option<Loaded>, ServiceError> {
    if region::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let actor = Actor::cli();
    let mut loaded = Loaded::default();
    for (code, name, level, parent) in REGIONS {
        let new = regions::NewRegion {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            level: *level,
            parent_code: parent.map(str::to_owned),
        };
        regions::create(db, &actor, new).await?;
        loaded.regions += 1;
    }
    let mut badge = 0u32;
    for (i, (name, domain, region)) in AGENCIES.iter().enumerate() {
        // 机关 credit codes: "11" + division code + 9-character organisation code.
        let code = Uscc::with_check_digit(&format!("11{region}{:09}", 1000 + i))
            .map_err(|e| anyhow::anyhow!("demo agency code: {e}"))?;
        let agency = agencies::create(
            db,
            &actor,
            agencies::NewAgency {
                code: code.to_string(),
                name: (*name).to_owned(),
                domain: *domain,
                region_code: (*region).to_owned(),
                active: true,
            },
        )
        .await?;
        loaded.agencies += 1;
        for _ in 0..3 {
            badge += 1;
            let person = format!(
                "{}{}",
                SURNAMES[badge as usize % SURNAMES.len()],
                GIVEN[(badge as usize * 7) % GIVEN.len()]
            );
            officers::create(
                db,
                &actor,
                officers::NewOfficer {
                    agency_id: agency.id,
                    badge_no: format!("{}{:05}", &region[..6], badge),
                    name: person,
                    active: true,
                },
            )
            .await?;
            loaded.officers += 1;
        }
    }
    let counties = ["320706", "320707", "320722"];
    let county_names = ["海州", "赣榆", "东海"];
    for n in 0..24usize {
        let county = counties[n % counties.len()];
        let uscc = Uscc::with_check_digit(&format!("91{county}MA{:07}", 2_000_000 + n * 37))
            .map_err(|e| anyhow::anyhow!("demo enterprise code: {e}"))?;
        let name = format!(
            "连云港市{}{}{}有限公司",
            county_names[n % county_names.len()],
            [
                "恒达", "金海", "宏远", "盛源", "新港", "瑞丰", "华晨", "东方"
            ][n % 8],
            TRADES[(n / 3) % TRADES.len()]
        );
        enterprises::create(
            db,
            &actor,
            enterprises::NewEnterprise {
                uscc: uscc.to_string(),
                name,
                region_code: county.to_owned(),
            },
        )
        .await?;
        loaded.enterprises += 1;
    }
    Ok(Some(loaded))
}

/// An open campaign of the built-in enterprise return-visit questionnaire over the
/// whole demo city (`mode` invitation or open), open from an hour ago for 30 days.
/// For benchmarks and walkthroughs on demo data.
pub async fn open_campaign(
    db: &DatabaseConnection,
    name: &str,
    mode: &str,
) -> Result<campaign::Model, ServiceError> {
    let actor = Actor::cli();
    let all = questionnaires::list(db, &actor).await?;
    let enterprise = all
        .iter()
        .find(|w| w.questionnaire.key == "enterprise_return_visit")
        .ok_or(ServiceError::NotFound {
            entity: "questionnaire",
        })?;
    let now = chrono::Utc::now();
    let today = now.date_naive();
    let created = campaigns::create(
        db,
        &actor,
        campaigns::NewCampaign {
            name: name.to_owned(),
            questionnaire_id: enterprise.questionnaire.id,
            version: 1,
            region_code: "320700".into(),
            agency_ids: None,
            mode: mode.to_owned(),
            period_start: today,
            period_end: today,
            opens_at: now - chrono::Duration::hours(1),
            closes_at: now + chrono::Duration::days(30),
            too_fast_secs: None,
            quotas: Vec::new(),
        },
    )
    .await?;
    campaigns::transition(db, &actor, created.id, campaigns::OPEN).await?;
    Ok(created)
}

/// `count` general-procedure penalty cases decided today across the 12 demo agencies
/// (case numbers `{label}-0`…), an open invitation campaign named `label`, and its
/// invitations: one per case. For benchmarks and tests of answering at volume.
pub async fn invited_cases(
    db: &DatabaseConnection,
    count: usize,
    label: &str,
) -> Result<(campaign::Model, Vec<surveys::IssuedInvitation>), ServiceError> {
    let actor = Actor::cli();
    let today = chrono::Utc::now().date_naive();
    for start in (0..count).step_by(cases::MAX_BATCH) {
        let batch = (start..(start + cases::MAX_BATCH).min(count))
            .map(|i| cases::NewCase {
                agency_id: 1 + (i % 12) as i64,
                case_number: format!("{label}-{i}"),
                kind: "penalty".into(),
                procedure: "general".into(),
                enterprise_uscc: None,
                officer_ids: Vec::new(),
                decision_date: today,
                hearing_held: false,
                complaint_sourced: false,
                officer_complained: false,
                decision_overturned: false,
            })
            .collect();
        cases::ingest(db, &actor, batch).await?;
    }
    let campaign = open_campaign(db, label, "invitation").await?;
    let generated = surveys::generate_invitations(db, &actor, campaign.id, |_| {}, Some(1)).await?;
    Ok((campaign, generated.issued))
}

/// A fresh SQLite file in `dir`, migrated, with the demo registry loaded, and a
/// configuration pointing at it (with a throwaway contact key). For benchmarks.
pub async fn scratch_database(
    dir: &std::path::Path,
) -> anyhow::Result<(crate::config::Config, DatabaseConnection)> {
    let config = crate::config::Config {
        database_url: secrecy::SecretString::from(format!(
            "sqlite://{}?mode=rwc",
            dir.join("bench.db").display()
        )),
        contact_key: Some(crate::domain::contact::ContactCipher::generate_hex().into()),
        ..crate::config::Config::default()
    };
    let conn = crate::db::connect(&config).await?;
    crate::db::migrate(&conn).await?;
    load_if_empty(&conn)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((config, conn))
}
