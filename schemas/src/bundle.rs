//! Offline verification bundles: every entry of a lot's or a certificate's
//! trail, each with an inclusion proof to a witnessed checkpoint of its log,
//! and those checkpoints with their cosignatures. `kp verify BUNDLE` checks
//! one with nothing but the network roster: signatures, proofs, the
//! cosignature quorum, and rules R4-R8 replayed along the trail.
//!
//! The file is canonical JSON (what [`Bundle::to_json`] writes): a verifier
//! refuses any other bytes, so a change to any byte of a bundle fails.

use crate::bytes::{Hash32, PublicKey};
use crate::checkpoint::Cosignature;
use crate::model::{HexBytes, Subject};
use crate::state::{LicenseeState, ZoneRecord};
use crate::trail::{Trail, TrailSource};
use serde::{Deserialize, Serialize};

/// The `format` field of every bundle this version writes.
pub const FORMAT: &str = "kpledger-bundle/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub network: String,
    /// Hash of the signed roster the exporting node runs.
    pub roster_hash: Hash32,
    pub subject: Subject,
    /// One checkpoint per log the trail touches.
    pub checkpoints: Vec<BundleCheckpoint>,
    /// In an order where each entry comes after every entry it relies on
    /// (the exporting node's acceptance order).
    pub entries: Vec<BundleEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleCheckpoint {
    /// Signed checkpoint wire bytes.
    pub checkpoint: HexBytes,
    pub cosignatures: Vec<Cosignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// Entry wire bytes; its leaf index is `seq - 1`.
    pub entry: HexBytes,
    /// Index into `checkpoints`: the checkpoint of this entry's log.
    pub checkpoint: usize,
    /// Inclusion proof of the entry at the checkpoint's size.
    pub proof: Vec<Hash32>,
}

impl Bundle {
    /// The canonical bytes: pretty JSON and a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a bundle serialises");
        v.push(b'\n');
        v
    }
}

/// What collecting a trail's entries reads besides the trail itself.
pub trait BundleSource: TrailSource {
    fn licensee(&self, key: &PublicKey) -> Option<LicenseeState>;
    fn zone(&self, entry: &Hash32) -> Option<ZoneRecord>;
}

/// How a verifier judges a bundle: its own choices, never the bundle's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Distinct other participants whose cosignatures a checkpoint needs.
    pub quorum: usize,
    /// `YYYY-MM-DD`, for compliance notes such as an expired certificate.
    pub today: String,
}

/// One thing wrong with a bundle. `code` is stable: `bundle.*` for the
/// file, its signatures and proofs, a rule id (`R5.overspend`) for a rule
/// the trail breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Problem {
    pub code: String,
    pub message: String,
}

/// A log as the bundle shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogReport {
    pub log: PublicKey,
    pub name: String,
    pub size: u64,
    pub root: Hash32,
    pub timestamp_ms: u64,
    /// Participant codes whose cosignatures verify.
    pub witnesses: Vec<String>,
    pub entries: usize,
}

/// The verdict on a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub valid: bool,
    pub subject: Option<Subject>,
    pub network: Option<String>,
    pub quorum: usize,
    pub entries: usize,
    pub logs: Vec<LogReport>,
    pub problems: Vec<Problem>,
    /// The trail rebuilt from the bundle's entries, when they replay.
    pub trail: Option<Trail>,
}
