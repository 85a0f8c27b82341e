//! kp-node: keeps the signed logs of a kpledger network in RocksDB, enforces
//! the rules R1-R9 on every entry, and serves the HTTP API.

#![deny(missing_docs)]

pub mod api;
pub mod catchup;
pub mod cli;
pub mod clock;
pub mod export;
pub mod ingest;
pub mod keys;
pub mod ledger;
pub mod metrics;
pub mod net;
pub mod node;
pub mod operate;
pub mod outcome;
pub mod rebuild;
pub mod stats_api;
pub mod store;
pub mod tree;
pub mod web;
pub mod witness;
