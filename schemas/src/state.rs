//! Derived state: what the rules read and write besides the logs. Every value
//! here can be rebuilt by replaying the logs in order.

use crate::bytes::{Hash32, PublicKey};
use crate::model::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The tip of one author's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash32,
    pub timestamp_ms: u64,
    /// Set on equivocation (R3): nothing more is accepted into this log.
    pub frozen: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseeState {
    pub key: PublicKey,
    pub participant: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub active: bool,
    pub registered_by: Hash32,
}

/// How a lot came to be: its one creating entry (R4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LotOrigin {
    Production { site: String, zone: Option<String>, zone_status: Option<Hash32>, stones: u32 },
    Transfer { inputs: Vec<Take> },
    Import { certificate: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LotState {
    pub participant: String,
    pub lot: String,
    pub holder: PublicKey,
    pub weight: Weight,
    pub remaining: Weight,
    pub nature: Nature,
    /// R6: false once any weight behind it came from a non-compliant zone.
    pub compliant: bool,
    pub created_by: Hash32,
    pub date: String,
    pub origin: LotOrigin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Confirmation {
    pub entry: Hash32,
    pub weight: Weight,
    pub parcels: u32,
    pub lot: String,
    pub date: String,
    /// R7: a weight or parcel mismatch is accepted, and flagged here.
    pub mismatch: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CertState {
    pub number: String,
    pub exporter: String,
    pub importer: String,
    pub exporter_licensee: PublicKey,
    pub consignee: String,
    pub entry: Hash32,
    pub inputs: Vec<Take>,
    pub lines: Vec<HsLine>,
    pub weight: Weight,
    pub value_cents: Cents,
    pub parcels: u32,
    pub issued: String,
    pub expires: String,
    pub nature: Nature,
    pub confirmation: Option<Confirmation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneRecord {
    pub entry: Hash32,
    pub monitor: PublicKey,
    pub status: ZoneStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttestationRecord {
    pub entry: Hash32,
    pub author: PublicKey,
    pub timestamp_ms: u64,
    pub subject: Subject,
    pub kind: AttestationKind,
    pub note: String,
    /// For laboratory findings.
    pub finding: Option<Nature>,
    pub report_hash: Option<Hash32>,
}

/// Who may write what: the roster with governance applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkState {
    pub roster_hash: Hash32,
    pub network: String,
    pub chair: PublicKey,
    pub participants: BTreeMap<String, ParticipantState>,
    pub monitors: Vec<Monitor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ParticipantState {
    pub participant: Participant,
    pub suspended: bool,
}

/// The role an author key plays in the network (R2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorRole<'a> {
    Authority(&'a ParticipantState),
    Monitor(&'a Monitor),
    Chair,
}

impl NetworkState {
    pub fn from_roster(roster: &Roster, roster_hash: Hash32) -> Self {
        Self {
            roster_hash,
            network: roster.network.clone(),
            chair: roster.chair,
            participants: roster
                .participants
                .iter()
                .map(|p| (p.code.clone(), ParticipantState { participant: p.clone(), suspended: false }))
                .collect(),
            monitors: roster.monitors.clone(),
        }
    }

    pub fn role_of(&self, key: &PublicKey) -> Option<AuthorRole<'_>> {
        if *key == self.chair {
            return Some(AuthorRole::Chair);
        }
        if let Some(p) = self.participants.values().find(|p| p.participant.authority == *key) {
            return Some(AuthorRole::Authority(p));
        }
        self.monitors.iter().find(|m| m.key == *key).map(AuthorRole::Monitor)
    }

    pub fn participant(&self, code: &str) -> Option<&ParticipantState> {
        self.participants.get(code)
    }

    /// A printable name for an author key.
    pub fn author_name(&self, key: &PublicKey) -> String {
        match self.role_of(key) {
            Some(AuthorRole::Authority(p)) => format!("{} authority", p.participant.code),
            Some(AuthorRole::Monitor(m)) => m.id.clone(),
            Some(AuthorRole::Chair) => "chair".into(),
            None => key.to_hex(),
        }
    }
}
