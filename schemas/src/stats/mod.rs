//! KP statistics and anomaly detection, derived from the logs.
//!
//! [`Book`] is kept up to date by the node's writer from the derived state
//! each accepted entry writes; [`query`] reads statistics, mirror
//! statistics, completeness and country reports from it, and [`anomaly`]
//! runs the checks. All of it is pure: a function of the accepted entries
//! and the query, so every node holding the same logs answers the same
//! bytes.

pub mod anomaly;
pub mod answer;
pub mod book;
pub mod period;
pub mod query;
pub mod render;

pub use answer::*;
pub use book::{Book, Flow};
pub use period::Period;
