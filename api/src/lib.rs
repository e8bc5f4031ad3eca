//! Pingjia (评价): the law-enforcement evaluation service of a justice bureau.
//!
//! Layers: [`domain`] (newtypes and rules), [`service`] (use cases), [`store`]
//! (sea-orm entities), [`http`] (poem-openapi handlers), plus [`config`],
//! [`telemetry`], [`db`], [`startup`] and the [`demo`] data set.

pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod http;
pub mod score;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
