//! Derived state: what the rules read and write besides the logs. Every value
//! here can be rebuilt by replaying the logs in order.

use crate::bytes::{Hash32, PublicKey};
use crate::model::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An object that a void entry would have created (R3). It exists, as void:
/// its id is taken, and every entry that reads it is void too, so a void
/// entry's effects stop the same way on every node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoidKey {
    Lot {
        participant: String,
        lot: String,
    },
    Cert {
        number: String,
    },
    Licensee {
        participant: String,
        key: PublicKey,
    },
    /// A void entry itself: an entry that names it (a zone status, a
    /// governance entry, an attestation's subject) reads nothing it made.
    Entry {
        hash: Hash32,
    },
}

impl std::fmt::Display for VoidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VoidKey::Lot { participant, lot } => write!(f, "lot {lot} of {participant}"),
            VoidKey::Cert { number } => write!(f, "certificate {number}"),
            VoidKey::Licensee { participant, key } => write!(f, "licensee {key} of {participant}"),
            VoidKey::Entry { hash } => write!(f, "entry {hash}"),
        }
    }
}

/// The tip of one author's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash32,
    pub timestamp_ms: u64,
    /// Set on evidence of equivocation or of a false checkpoint (R3): the
    /// log ends at its freeze point, and nothing beyond it is accepted.
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
    /// R6: the zones of the compliant productions behind this lot, each
    /// with its latest production date, so that a suspension recorded later
    /// and effective on or before that date stops the lot from leaving.
    pub zones: Vec<ZoneMark>,
}

/// A zone that weight behind a lot was mined in (R6).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct ZoneMark {
    pub participant: String,
    pub zone: String,
    /// The latest production date behind the lot in this zone: a suspension
    /// effective on or before it reaches at least that production.
    pub date: String,
}

/// The union of the zone marks of several lots: one mark per zone, with the
/// latest date.
pub fn merge_marks<'a>(marks: impl IntoIterator<Item = &'a ZoneMark>) -> Vec<ZoneMark> {
    let mut out: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for m in marks {
        let d = out.entry((m.participant.as_str(), m.zone.as_str())).or_insert(m.date.as_str());
        if m.date.as_str() > *d {
            *d = m.date.as_str();
        }
    }
    out.into_iter()
        .map(|((p, z), d)| ZoneMark { participant: p.to_string(), zone: z.to_string(), date: d.to_string() })
        .collect()
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
    /// R7: confirmed after the certificate's expiry date: accepted, flagged.
    pub after_expiry: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CertState {
    pub number: String,
    pub exporter: String,
    pub importer: String,
    pub exporter_licensee: PublicKey,
    pub consignee: String,
    pub entry: Hash32,
    /// The export entry's position in the exporter's log.
    pub seq: u64,
    pub inputs: Vec<Take>,
    pub lines: Vec<HsLine>,
    pub weight: Weight,
    pub value_cents: Cents,
    pub parcels: u32,
    pub issued: String,
    pub expires: String,
    pub nature: Nature,
    /// R6: the zone marks of the exported lots, carried into the import.
    pub zones: Vec<ZoneMark>,
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
    /// The entry's position in the log that holds it: one author's
    /// attestations are ordered by it.
    pub seq: u64,
    pub subject: Subject,
    pub kind: AttestationKind,
    pub note: String,
    /// For laboratory findings.
    pub finding: Option<Nature>,
    pub report_hash: Option<Hash32>,
}

/// The one order in which nodes, bundles and the trail list attestations:
/// by the author's timestamp, then author and position, so that it depends
/// on the set of attestations only, never on the order they arrived in.
pub fn sort_attestations(v: &mut [AttestationRecord]) {
    v.sort_by_key(|a| (a.timestamp_ms, a.author, a.seq));
}

/// Whether a subject is on hold: some author's last hold or release, in
/// that author's own log order, is a hold. A release lifts its own
/// author's holds; timestamps, which each author sets, decide nothing.
pub fn on_hold(v: &[AttestationRecord]) -> bool {
    let mut last: BTreeMap<PublicKey, (u64, bool)> = BTreeMap::new();
    for a in v {
        let held = match a.kind {
            AttestationKind::Hold => true,
            AttestationKind::Release => false,
            _ => continue,
        };
        let e = last.entry(a.author).or_insert((a.seq, held));
        if a.seq >= e.0 {
            *e = (a.seq, held);
        }
    }
    last.values().any(|(_, held)| *held)
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
    /// Suspended now, as of this state.
    pub suspended: bool,
    /// Every suspension, as positions of the participant's log.
    pub suspensions: Vec<SuspensionSpan>,
}

/// Positions `from..until` of a participant's log that were suspended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SuspensionSpan {
    pub from: u64,
    /// The position reinstatement took effect from, none while it lasts.
    pub until: Option<u64>,
}

impl ParticipantState {
    /// Whether the entry at `seq` of the participant's log falls in a
    /// suspension.
    pub fn suspended_at(&self, seq: u64) -> bool {
        self.suspensions.iter().any(|s| s.from <= seq && s.until.is_none_or(|u| seq < u))
    }
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
                .map(|p| {
                    (
                        p.code.clone(),
                        ParticipantState { participant: p.clone(), suspended: false, suspensions: Vec::new() },
                    )
                })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn att(author: u8, seq: u64, ts: u64, kind: AttestationKind) -> AttestationRecord {
        AttestationRecord {
            entry: Hash32([seq as u8; 32]),
            author: PublicKey([author; 32]),
            timestamp_ms: ts,
            seq,
            subject: Subject::Certificate { number: "CF-1".into() },
            kind,
            note: String::new(),
            finding: None,
            report_hash: None,
        }
    }

    #[test]
    fn holds_read_the_same_in_every_order() {
        let v = vec![
            att(1, 1, 900, AttestationKind::Hold),
            att(1, 2, 50, AttestationKind::Release),
            att(2, 1, 10, AttestationKind::Hold),
            att(2, 5, 10, AttestationKind::Release),
            att(3, 4, 5, AttestationKind::Release),
            att(3, 7, 5, AttestationKind::Hold),
        ];
        let mut orders = vec![v.clone()];
        let mut r = v.clone();
        r.reverse();
        orders.push(r);
        let mut s = v.clone();
        sort_attestations(&mut s);
        orders.push(s);
        for o in &orders {
            assert!(on_hold(o), "author 3's last is a hold");
        }
        let released: Vec<_> = v.into_iter().filter(|a| a.author.0[0] != 3).collect();
        assert!(!on_hold(&released));
    }
}
