//! poem-openapi handlers, one module per tag. Handlers parse, call one service
//! function and map the result; no rules and no queries live here. The busiest
//! operation, `publicAnswer`, is also served straight from the top-level router
//! ([`surveys::answer_endpoint`]) with the operation's own extractors and code.

pub mod agencies;
pub mod audit;
pub mod auth;
pub mod channel;
pub mod clean_text;
pub mod client;
pub mod contact_points;
pub mod csv_out;
pub mod download;
pub mod enterprises;
pub mod error;
pub mod frame;
pub mod internal;
pub mod metrics;
pub mod officers;
pub mod open311;
pub mod ops;
pub mod questionnaires;
pub mod regions;
pub mod scores;
pub mod spec;
pub mod surveys;
pub mod ticket_config;
pub mod tickets;

use poem_openapi::{OpenApiService, Tags};

/// Version reported in the spec.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Operation groups in the spec.
#[derive(Tags)]
pub enum ApiTags {
    /// 行政区划: the region tree (6-digit division codes).
    Regions,
    /// 执法机关: enforcement agencies.
    Agencies,
    /// 执法人员: enforcement officers.
    Officers,
    /// 企业: enterprises and their unified social credit codes.
    Enterprises,
    /// 问卷: questionnaires and their immutable versions.
    Questionnaires,
    /// 调查批次与执法案件: campaigns, cases, invitations and results.
    Surveys,
    /// 工单: complaints, reports, suggestions and praise, and their workflow.
    Tickets,
    /// For channel adapters (bot, web, 12345): their users' tickets, bindings and
    /// the notification outbox.
    Channel,
    /// 监督联系点: contact points and their liaisons.
    ContactPoints,
    /// For respondents and reporters, no key: invitations, answers, case codes,
    /// ticket status.
    Public,
    /// 内部考核: case-file reviews and samples, the three systems, training.
    Assessment,
    /// 考核评价指标体系: index models, the AHP calculator, scores and breakdowns.
    Index,
    /// 全过程留痕: who changed what, when.
    Audit,
    /// Health, readiness and metrics.
    Operations,
}

/// All operations of the service.
pub type Apis = (
    ops::OpsApi,
    regions::RegionsApi,
    agencies::AgenciesApi,
    officers::OfficersApi,
    enterprises::EnterprisesApi,
    questionnaires::QuestionnairesApi,
    surveys::SurveysApi,
    surveys::PublicApi,
    tickets::TicketsApi,
    tickets::PublicTicketsApi,
    ticket_config::TicketConfigApi,
    channel::ChannelApi,
    contact_points::ContactPointsApi,
    internal::InternalApi,
    scores::ScoresApi,
    audit::AuditApi,
);

/// The OpenAPI service; needs no database, so the spec can be exported offline.
pub fn openapi_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            ops::OpsApi,
            regions::RegionsApi,
            agencies::AgenciesApi,
            officers::OfficersApi,
            enterprises::EnterprisesApi,
            questionnaires::QuestionnairesApi,
            surveys::SurveysApi,
            surveys::PublicApi,
            tickets::TicketsApi,
            tickets::PublicTicketsApi,
            ticket_config::TicketConfigApi,
            channel::ChannelApi,
            contact_points::ContactPointsApi,
            internal::InternalApi,
            scores::ScoresApi,
            audit::AuditApi,
        ),
        "Pingjia (评价) API",
        API_VERSION,
    )
    .description(
        "Law-enforcement evaluation service of a justice bureau (司法局): registry, \
         surveys, complaints and the assessment index. Authenticate with \
         `Authorization: Bearer <key>`; each operation lists the roles allowed. \
         Out-of-scope reads answer 404, out-of-scope writes 403. Errors share one shape: \
         `{code, message, request_id, details}`.",
    )
}

/// Declares a paginated list type for `$item`.
macro_rules! page_type {
    ($name:ident, $item:ty) => {
        #[doc = concat!("One page of ", stringify!($item), " items.")]
        #[derive(poem_openapi::Object, Debug)]
        pub struct $name {
            pub items: Vec<$item>,
            /// 1-based page number.
            pub page: u64,
            pub page_size: u64,
            /// Number of items matching the filters, over all pages.
            pub total: u64,
        }

        impl<T: Into<$item>> From<crate::service::Page<T>> for $name {
            fn from(p: crate::service::Page<T>) -> Self {
                Self {
                    items: p.items.into_iter().map(Into::into).collect(),
                    page: p.page,
                    page_size: p.page_size,
                    total: p.total,
                }
            }
        }
    };
}
pub(crate) use page_type;

/// `201 Created` with the new resource.
#[derive(poem_openapi::ApiResponse, Debug)]
pub enum Created<T: poem_openapi::types::ToJSON> {
    /// Created.
    #[oai(status = 201)]
    Created(poem_openapi::payload::Json<T>),
}
