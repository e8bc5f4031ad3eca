//! sea-orm entities, one module per table. Only the service layer uses them.

pub mod agency;
pub mod api_key;
pub mod audit;
pub mod campaign;
pub mod campaign_quota;
pub mod case;
pub mod enterprise;
pub mod idempotency;
pub mod invitation;
pub mod officer;
pub mod questionnaire;
pub mod questionnaire_version;
pub mod rate_limit;
pub mod region;
pub mod response;
pub mod return_visit_rules;
pub mod ticket;
pub mod ticket_event;
pub mod ticket_sequence;
