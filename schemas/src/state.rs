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
    /// A lot a void production, transfer or import confirmation would have
    /// created.
    Lot {
        /// The participant whose lot id it is.
        participant: String,
        /// The lot id, taken.
        lot: String,
    },
    /// A certificate a void export would have issued.
    Cert {
        /// The certificate number, taken.
        number: String,
    },
    /// A licensee a void registration would have registered.
    Licensee {
        /// The registering participant.
        participant: String,
        /// The licensee's key.
        key: PublicKey,
    },
    /// A void entry itself: an entry that names it (a zone status, a
    /// governance entry, an attestation's subject) reads nothing it made.
    Entry {
        /// The void entry's id.
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
    /// Position of the log's last entry (1-based); 0 for a log frozen
    /// before its first entry here.
    pub seq: u64,
    /// Id of that entry: what the next entry names as `prev` (R3).
    pub hash: Hash32,
    /// Its timestamp, Unix milliseconds: the next entry's is not earlier
    /// (R3).
    pub timestamp_ms: u64,
    /// Set on evidence of equivocation or of a false checkpoint (R3): the
    /// log ends at its freeze point, and nothing beyond it is accepted.
    pub frozen: bool,
}

/// A licensee as registered by one participant (R2). The same key
/// registered by two participants is two licensees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseeState {
    /// The licensee's key, which signs its records.
    pub key: PublicKey,
    /// Code of the registering participant.
    pub participant: String,
    /// The name it was registered under.
    pub name: String,
    /// Its roles, sorted, without repeats.
    pub roles: Vec<Role>,
    /// False once revoked: its records are refused, and it may not receive
    /// lots.
    pub active: bool,
    /// Id of the registering entry.
    pub registered_by: Hash32,
}

/// How a lot came to be: its one creating entry (R4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LotOrigin {
    /// Mined: the lot of a production record.
    Production {
        /// The mine or site the miner named.
        site: String,
        /// The zone named, if any (R6).
        zone: Option<String>,
        /// The zone-status entry the miner's record relied on, if any.
        zone_status: Option<Hash32>,
        /// Number of stones produced.
        stones: u32,
        /// The declared value in US cents, if the record declares one.
        #[serde(default)]
        value_cents: Option<Cents>,
    },
    /// An output of a transfer: the trail follows its inputs.
    Transfer {
        /// The weight the transfer took from each input lot.
        inputs: Vec<Take>,
    },
    /// Created by an import confirmation: the trail follows the certificate.
    Import {
        /// The certificate number confirmed.
        certificate: String,
    },
}

/// A lot as the logs have made it so far: who holds it, how much is left
/// (R5), its nature (R8), and whether it may leave (R6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LotState {
    /// Code of the participant the lot is in; lot ids are unique within it.
    pub participant: String,
    /// The lot's id.
    pub lot: String,
    /// Key of the licensee holding it (R4: only the holder spends it).
    pub holder: PublicKey,
    /// Hundredths of a carat at creation.
    pub weight: Weight,
    /// Hundredths of a carat not yet taken (R5); 0 once spent.
    pub remaining: Weight,
    /// Natural or synthetic (R8).
    pub nature: Nature,
    /// R6: false once any weight behind it came from a non-compliant zone.
    pub compliant: bool,
    /// Id of the lot's one creating entry (R4).
    pub created_by: Hash32,
    /// Date of the creating record: production, transfer or confirmation.
    pub date: String,
    /// How the lot came to be.
    pub origin: LotOrigin,
    /// R6: the zones of the compliant productions behind this lot, each
    /// with its latest production date, so that a suspension recorded later
    /// and effective on or before that date stops the lot from leaving.
    pub zones: Vec<ZoneMark>,
}

/// A zone that weight behind a lot was mined in (R6).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct ZoneMark {
    /// Code of the participant the zone lies in.
    pub participant: String,
    /// The zone's short id.
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

/// The import confirmation of a certificate, as its certificate keeps it
/// (R7: one per certificate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Confirmation {
    /// Id of the confirming entry, in the importing authority's log.
    pub entry: Hash32,
    /// Hundredths of a carat received.
    pub weight: Weight,
    /// Parcels received.
    pub parcels: u32,
    /// The lot the shipment became in the importing participant.
    pub lot: String,
    /// Date of the confirmation, `YYYY-MM-DD`.
    pub date: String,
    /// R7: a weight or parcel mismatch is accepted, and flagged here.
    pub mismatch: bool,
    /// R7: confirmed after the certificate's expiry date: accepted, flagged.
    pub after_expiry: bool,
}

/// A KP certificate: an accepted export, and its import confirmation once
/// there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CertState {
    /// `<code>-<digits>`, unique per participant (R7).
    pub number: String,
    /// Code of the exporting participant, whose authority issued it.
    pub exporter: String,
    /// Code of the importing participant, the only one that may confirm it.
    pub importer: String,
    /// Key of the exporter licensee that signed the export record.
    pub exporter_licensee: PublicKey,
    /// The consignee at the destination.
    pub consignee: String,
    /// Id of the export entry, which an import confirmation names (R3).
    pub entry: Hash32,
    /// The export entry's position in the exporter's log.
    pub seq: u64,
    /// The weight taken from each exported lot.
    pub inputs: Vec<Take>,
    /// The HS lines declared.
    pub lines: Vec<HsLine>,
    /// Hundredths of a carat exported: what the inputs took, and what the
    /// lines weigh (R5).
    pub weight: Weight,
    /// The lines' declared values summed, in US cents.
    pub value_cents: Cents,
    /// Parcels shipped.
    pub parcels: u32,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued: String,
    /// Date of expiry, `YYYY-MM-DD`.
    pub expires: String,
    /// The nature of the stones exported (R8).
    pub nature: Nature,
    /// R6: the zone marks of the exported lots, carried into the import.
    pub zones: Vec<ZoneMark>,
    /// The importer's confirmation, none until it is accepted.
    pub confirmation: Option<Confirmation>,
}

/// A zone-status entry as the rules keep it (R6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneRecord {
    /// Id of the status entry.
    pub entry: Hash32,
    /// Key of the monitor that declared it: its log holds the zone's chain.
    pub monitor: PublicKey,
    /// The status declared.
    pub status: ZoneStatus,
}

/// An attestation, or a laboratory finding, about a lot or a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttestationRecord {
    /// Id of the entry that carries it.
    pub entry: Hash32,
    /// Who attests: the authority or monitor that wrote the entry, or, for
    /// a laboratory finding, the laboratory licensee that signed the record.
    pub author: PublicKey,
    /// The entry's timestamp, Unix milliseconds: set by its writer, so it
    /// orders attestations for display only.
    pub timestamp_ms: u64,
    /// The entry's position in the log that holds it: one author's
    /// attestations are ordered by it.
    pub seq: u64,
    /// The lot or certificate attested about.
    pub subject: Subject,
    /// What is attested; a laboratory finding is a `Note`.
    pub kind: AttestationKind,
    /// Free text.
    pub note: String,
    /// For laboratory findings.
    pub finding: Option<Nature>,
    /// For laboratory findings: SHA-256 of the laboratory's report.
    pub report_hash: Option<Hash32>,
}

/// A zone estimate as the rules keep it: the statistics weigh a zone's
/// recorded production against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EstimateRecord {
    /// Id of the entry that carries it.
    pub entry: Hash32,
    /// Key of the monitor that wrote it.
    pub monitor: PublicKey,
    /// The entry's timestamp, Unix milliseconds: of two estimates of one
    /// zone and year, the later one (then the greater key and position)
    /// stands.
    pub timestamp_ms: u64,
    /// The entry's position in the monitor's log.
    pub seq: u64,
    /// The estimate.
    pub estimate: ZoneEstimate,
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
    /// Hash of the signed roster it starts from
    /// ([`crate::crypto::roster_hash`]).
    pub roster_hash: Hash32,
    /// The network id every entry names.
    pub network: String,
    /// The chair's governance key, after any handover.
    pub chair: PublicKey,
    /// Every participant admitted, by code, suspended or not.
    pub participants: BTreeMap<String, ParticipantState>,
    /// The roster's monitors.
    pub monitors: Vec<Monitor>,
    /// The roster's read-only nodes (observers, customs).
    pub observers: Vec<NodeInfo>,
    /// This roster version's number: the genesis roster's `version`, then
    /// one more for each governance entry of the chair's log.
    pub version: u64,
    /// The governance entry that made this version, none for the genesis.
    pub decided_by: Option<Hash32>,
    /// Hash of the version before ([`NetworkState::version_hash`]), none
    /// for the genesis.
    pub previous: Option<Hash32>,
    /// Keys that signed for a role and were replaced, in the order they
    /// were: they sign for nothing again, and a participant's or a
    /// monitor's old log is closed at `last`.
    pub retired: Vec<RetiredKey>,
}

/// A key replaced by a rotation or a chair handover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetiredKey {
    /// The old key.
    pub key: PublicKey,
    /// Whose it was: a participant's code, a monitor's id, or `chair`.
    pub holder: String,
    /// The old key's last valid position in its log; a participant's or a
    /// monitor's old log is frozen there (R3).
    pub last: u64,
}

/// A participant and its suspensions, as governance made them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ParticipantState {
    /// The participant as the roster or its admission describes it.
    pub participant: Participant,
    /// Suspended now, as of this state.
    pub suspended: bool,
    /// Every suspension, as positions of the participant's log (of its
    /// current key's log: a rotation starts the new log's spans afresh).
    pub suspensions: Vec<SuspensionSpan>,
    /// Conditions of a conditional admission not yet lifted: while any
    /// remains, the participant's exports are refused
    /// (`R2.conditional_admission`).
    pub conditions: Vec<String>,
}

/// Positions `from..until` of a participant's log that were suspended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SuspensionSpan {
    /// The first suspended position.
    pub from: u64,
    /// The position reinstatement took effect from, none while it lasts.
    pub until: Option<u64>,
}

/// How a retired chair key's holder is named.
pub const CHAIR: &str = "chair";

impl ParticipantState {
    /// A participant just admitted, under these conditions (none for the
    /// roster's participants and an unconditional admission).
    pub fn admitted(participant: Participant, conditions: Vec<String>) -> Self {
        Self { participant, suspended: false, suspensions: Vec::new(), conditions }
    }

    /// Whether the entry at `seq` of the participant's log falls in a
    /// suspension.
    pub fn suspended_at(&self, seq: u64) -> bool {
        self.suspensions.iter().any(|s| s.from <= seq && s.until.is_none_or(|u| seq < u))
    }
}

/// The role an author key plays in the network (R2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorRole<'a> {
    /// A participant's KP authority: licensees, countersigned records,
    /// import confirmations, attestations.
    Authority(&'a ParticipantState),
    /// A monitor: zone statuses and attestations.
    Monitor(&'a Monitor),
    /// The chair: governance entries only.
    Chair,
}

impl NetworkState {
    /// The network as a verified roster makes it, before any governance
    /// entry (the genesis); `roster_hash` is the hash of its signed bytes.
    pub fn from_roster(roster: &Roster, roster_hash: Hash32) -> Self {
        Self {
            roster_hash,
            network: roster.network.clone(),
            chair: roster.chair,
            participants: roster
                .participants
                .iter()
                .map(|p| (p.code.clone(), ParticipantState::admitted(p.clone(), Vec::new())))
                .collect(),
            monitors: roster.monitors.clone(),
            observers: roster.observers.clone(),
            version: roster.version,
            decided_by: None,
            previous: None,
            retired: Vec::new(),
        }
    }

    /// This version's hash: the genesis roster's hash for the genesis, else
    /// the hash of this state's canonical bytes behind
    /// `kpledger/v1/roster-version\0`. Each version names the one before by
    /// it, so the versions a node holds are one chain from its genesis.
    pub fn version_hash(&self) -> Hash32 {
        if self.decided_by.is_none() {
            return self.roster_hash;
        }
        crate::crypto::roster_version_hash(&crate::encoding::encode(self))
    }

    /// The role a key had before it was replaced.
    pub fn retired(&self, key: &PublicKey) -> Option<&RetiredKey> {
        self.retired.iter().find(|r| r.key == *key)
    }

    /// Whose log `key` writes or wrote: its role now, or for a replaced
    /// key the role of its holder now. A closed log stays readable up to
    /// its last position, so it is witnessed, proven and bundled as its
    /// holder's: its witnesses are the holder's.
    pub fn log_role(&self, key: &PublicKey) -> Option<AuthorRole<'_>> {
        if let Some(role) = self.role_of(key) {
            return Some(role);
        }
        let r = self.retired(key)?;
        if r.holder == CHAIR {
            return Some(AuthorRole::Chair);
        }
        if let Some(p) = self.participants.get(&r.holder) {
            return Some(AuthorRole::Authority(p));
        }
        self.monitors.iter().find(|m| m.id == r.holder).map(AuthorRole::Monitor)
    }

    /// The participant whose authority signs or signed with `key`, a
    /// replaced key included: the licensees its entries name are that
    /// participant's.
    pub fn participant_of(&self, key: &PublicKey) -> Option<&str> {
        match self.log_role(key)? {
            AuthorRole::Authority(p) => Some(p.participant.code.as_str()),
            _ => None,
        }
    }

    /// Logs closed by a key rotation: each old key with its last position.
    /// A replaced chair key needs no freeze: every entry of the chair's log
    /// names the one before it as its network, where the key is no longer
    /// the chair's.
    pub fn closed_logs(&self) -> impl Iterator<Item = (&PublicKey, u64)> {
        self.retired.iter().filter(|r| r.holder != CHAIR).map(|r| (&r.key, r.last))
    }

    /// The holder a key signs for now, or signed for before it was
    /// replaced: a participant's code or a monitor's id (none for the
    /// chair's keys and keys the network never knew).
    pub fn holder_of(&self, key: &PublicKey) -> Option<&str> {
        match self.role_of(key) {
            Some(AuthorRole::Authority(p)) => Some(p.participant.code.as_str()),
            Some(AuthorRole::Monitor(m)) => Some(m.id.as_str()),
            Some(AuthorRole::Chair) => None,
            None => self.retired(key).map(|r| r.holder.as_str()).filter(|h| *h != CHAIR),
        }
    }

    /// The keys a holder signed with before `key`, oldest first, each with
    /// the last position of its log that stays valid.
    pub fn predecessors(&self, key: &PublicKey) -> Vec<&RetiredKey> {
        // Every entry's verdict asks: a network with no replaced key answers
        // at once, without looking up the key's role.
        if self.retired.is_empty() {
            return Vec::new();
        }
        let Some(holder) = self.holder_of(key) else { return Vec::new() };
        let before = self.retired.iter().position(|r| r.key == *key).unwrap_or(self.retired.len());
        self.retired[..before].iter().filter(|r| r.holder == holder).collect()
    }

    /// Logs an earlier key's fault freezes at 0 (R3): when a replaced key's
    /// log is frozen below the last position its rotation kept (its writer
    /// equivocated within it), what the holder signed with later keys may
    /// rest on entries every node withdraws, so every later key's log is
    /// frozen before its first entry. `freeze_point` gives each log's
    /// freeze point as known.
    pub fn inherited_freezes(&self, freeze_point: impl Fn(&PublicKey) -> Option<u64>) -> Vec<PublicKey> {
        let mut out = Vec::new();
        for (i, r) in self.retired.iter().enumerate().filter(|(_, r)| r.holder != CHAIR) {
            if freeze_point(&r.key).is_some_and(|f| f < r.last) {
                out.extend(self.retired[i + 1..].iter().filter(|x| x.holder == r.holder).map(|x| x.key));
                let now = self.participants.get(&r.holder).map(|p| p.participant.authority);
                out.extend(now.or_else(|| self.monitors.iter().find(|m| m.id == r.holder).map(|m| m.key)));
            }
        }
        out
    }

    /// Every key whose log the network holds: the chair, the authorities
    /// and the monitors now, and every replaced key, whose log stays
    /// readable up to its last position.
    pub fn log_keys(&self) -> Vec<PublicKey> {
        let mut keys = vec![self.chair];
        keys.extend(self.participants.values().map(|p| p.participant.authority));
        keys.extend(self.monitors.iter().map(|m| m.key));
        keys.extend(self.retired.iter().map(|r| r.key));
        keys
    }

    /// Every node the network lists now, with whose it is: the peers that
    /// may connect.
    pub fn nodes(&self) -> Vec<(&str, &NodeInfo)> {
        let mut out: Vec<(&str, &NodeInfo)> = Vec::new();
        for p in self.participants.values() {
            out.extend(p.participant.nodes.iter().map(|n| (p.participant.code.as_str(), n)));
        }
        for m in &self.monitors {
            out.extend(m.nodes.iter().map(|n| (m.id.as_str(), n)));
        }
        out.extend(self.observers.iter().map(|n| ("observer", n)));
        out
    }

    /// What `key` may write, if it is an author of the network: the chair
    /// first, then authorities, then monitors (one role per key, R2).
    pub fn role_of(&self, key: &PublicKey) -> Option<AuthorRole<'_>> {
        if *key == self.chair {
            return Some(AuthorRole::Chair);
        }
        if let Some(p) = self.participants.values().find(|p| p.participant.authority == *key) {
            return Some(AuthorRole::Authority(p));
        }
        self.monitors.iter().find(|m| m.key == *key).map(AuthorRole::Monitor)
    }

    /// The participant with this code, suspended or not.
    pub fn participant(&self, code: &str) -> Option<&ParticipantState> {
        self.participants.get(code)
    }

    /// A printable name for an author key; a replaced key is named after
    /// its holder (`BW authority (replaced key)`).
    pub fn author_name(&self, key: &PublicKey) -> String {
        let name = match self.log_role(key) {
            Some(AuthorRole::Authority(p)) => format!("{} authority", p.participant.code),
            Some(AuthorRole::Monitor(m)) => m.id.clone(),
            Some(AuthorRole::Chair) => "chair".into(),
            None => return key.to_hex(),
        };
        if self.role_of(key).is_none() { format!("{name} (replaced key)") } else { name }
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
