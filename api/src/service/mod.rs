//! Use cases. Every rule (validation, scope, audit) lives here; HTTP handlers and the
//! CLI only parse input, call one function and map the result.

pub mod actor;
pub mod agencies;
pub mod audit;
pub mod campaigns;
pub mod cases;
pub mod channels;
pub mod contact_points;
pub mod enterprises;
pub mod error;
pub mod hotline;
pub mod imports;
pub mod index;
pub mod intake;
pub mod internal;
pub mod keys;
pub mod officers;
pub mod open311;
pub mod page;
pub mod questionnaires;
pub mod rate_limit;
pub mod regions;
pub mod survey_stats;
pub mod surveys;
pub mod ticket_config;
pub mod ticket_metrics;
pub mod tickets;

pub use actor::{Actor, Scope};
pub use error::{FieldError, ServiceError};
pub use page::{Page, PageRequest};
