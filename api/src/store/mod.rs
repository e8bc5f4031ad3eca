//! sea-orm entities, one module per table. Only the service layer uses them.

pub mod agency;
pub mod api_key;
pub mod audit;
pub mod enterprise;
pub mod officer;
pub mod rate_limit;
pub mod region;
