#![warn(missing_docs)]
//! pingjia-scoring: the statistics behind Pingjia's scores. Pure functions: numbers in,
//! estimates out; no I/O, no async, no database.
//!
//! - [`group`]: per-group survey estimates (weighted mean on 0–100 with the design SE
//!   of R `survey::svymean`, t intervals, Kish n_eff, top box with Wilson interval,
//!   Cronbach's α with Feldt interval, empirical-Bayes shrinkage, ranks, flags);
//! - [`proportion`]: Wilson and exact Poisson intervals, rates per 100 cases;
//! - [`weights`]: AHP and entropy weights; [`composite`]: the weighted index;
//! - [`compare`]: Welch t, two-proportion z, Benjamini–Hochberg; [`nps`];
//! - [`sampling`]: sample sizes, the case-file review rule, seeded selection;
//! - [`shrink`]: empirical-Bayes shrinkage of unit estimates;
//! - [`dist`]: quantiles accurate for any degrees of freedom.

pub mod compare;
pub mod composite;
pub mod dist;
pub mod error;
pub mod group;
pub mod nps;
pub mod proportion;
pub mod rank;
pub mod sampling;
pub mod shrink;
pub mod weights;

pub use error::ScoringError;
pub use group::{Flag, GroupOptions, GroupScore, Responses, score_groups};
