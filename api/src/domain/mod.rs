//! Domain newtypes and enums: values that carry rules are built only through `parse`.

pub mod agency_domain;
pub mod agency_names;
pub mod builtin;
pub mod calendar;
pub mod contact;
pub mod index_model;
pub mod period;
pub mod qr;
pub mod questionnaire;
pub mod region;
pub mod role;
pub mod text;
pub mod ticket;
pub mod uscc;

pub use agency_domain::AgencyDomain;
pub use region::{RegionCode, RegionLevel};
pub use role::Role;
pub use uscc::Uscc;

/// Why a value was rejected, phrased for the API client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}
