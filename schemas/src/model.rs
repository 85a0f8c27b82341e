//! The data model: roster, entry envelope, and one body per record of the
//! domain. Quantities are integers: weight in hundredths of a carat, value in
//! US cents. Dates are `YYYY-MM-DD` strings.

use crate::bytes::{Hash32, PublicKey, SignatureBytes};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Hundredths of a carat.
pub type Weight = u64;
/// US cents.
pub type Cents = u64;

/// Variable-length bytes: hex in JSON, length-prefixed on the wire.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct HexBytes(pub Vec<u8>);

impl std::fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HexBytes({})", hex::encode(&self.0))
    }
}

impl Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&hex::encode(&self.0)) } else { s.serialize_bytes(&self.0) }
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            hex::decode(s.trim()).map(HexBytes).map_err(serde::de::Error::custom)
        } else {
            // Same wire bytes as a Vec<u8> (length, then the bytes), read in
            // one copy instead of byte by byte.
            d.deserialize_byte_buf(ByteBufVisitor).map(HexBytes)
        }
    }
}

struct ByteBufVisitor;

impl<'de> serde::de::Visitor<'de> for ByteBufVisitor {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bytes")
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
    fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
}

impl JsonSchema for HexBytes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HexBytes".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^([0-9a-f]{2})*$"})
    }
}

// ---------------------------------------------------------------- roster

/// Who takes part in a network, with their keys. Signed by the chair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Roster {
    /// Network id, named in every entry so entries cannot cross networks.
    pub network: String,
    /// Increases with every re-signed roster.
    pub version: u64,
    /// The chair's governance key.
    pub chair: PublicKey,
    /// The participants at genesis, each with its authority key and nodes;
    /// governance entries admit and suspend participants later.
    pub participants: Vec<Participant>,
    /// Monitoring teams that declare zone statuses (R6) and attest.
    pub monitors: Vec<Monitor>,
    /// Read-only nodes that may connect (observers, customs).
    pub observers: Vec<NodeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
/// A participant of the Kimberley Process (a country, or the EU) as the
/// roster or an `AdmitParticipant` governance entry describes it.
pub struct Participant {
    /// ISO 3166-1 alpha-2 code, or `EU`.
    pub code: String,
    /// Display name, for example `Central African Republic` (R9: at most
    /// 128 characters, `limits::MAX_NAME`).
    pub name: String,
    /// The KP authority's signing key; its log is the participant's log.
    pub authority: PublicKey,
    /// Whether production must name a compliant zone (R6).
    pub zone_regime: bool,
    /// The participant's nodes: the peers that may connect for it.
    pub nodes: Vec<NodeInfo>,
}

/// One node of the network as the roster lists it: only peers the roster
/// lists may connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NodeInfo {
    /// libp2p peer id (base58).
    pub peer_id: String,
    /// Multiaddresses to dial.
    pub addrs: Vec<String>,
}

/// A monitoring team (the CAR Monitoring Team, say): it declares zone
/// statuses for the participants in its scope (R6) and attests about lots
/// and certificates, each in its own log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Monitor {
    /// Short id, for example `MT-CF`.
    pub id: String,
    /// Display name of the team.
    pub name: String,
    /// Signing key: the monitor's log is the log of this key.
    pub key: PublicKey,
    /// Participant codes whose zones this monitor may declare.
    pub scope: Vec<String>,
    /// The monitor's own nodes, if it runs any (often read-only).
    pub nodes: Vec<NodeInfo>,
}

/// A roster file: canonical bytes, the chair's signature over them, and a
/// readable copy that must decode from the bytes exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SignedRoster {
    /// The roster, readable; it must be exactly what `bytes` decode to.
    pub roster: Roster,
    /// The roster's canonical bytes: what the chair signed, and what the
    /// roster hash is taken over.
    pub bytes: HexBytes,
    /// The chair's Ed25519 signature over `kpledger/v1/roster\0 || bytes`.
    pub signature: SignatureBytes,
}

// ---------------------------------------------------------------- entries

/// One position of one author's log. The wire form is the canonical bytes of
/// this struct followed by the author's 64-byte signature over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Entry {
    /// Network id of the roster (R2: an entry of another network is
    /// refused).
    pub network: String,
    /// The author's key; it names the log.
    pub author: PublicKey,
    /// Gapless from 1 (R3).
    pub seq: u64,
    /// Hash of entry `seq - 1`, all zero for the first entry (R3).
    pub prev: Hash32,
    /// Milliseconds since the Unix epoch, never decreasing within a log.
    pub timestamp_ms: u64,
    /// Entries of other logs that this entry's verdict was judged against
    /// (R3, R6), in ascending order without repeats: the newest governance
    /// entry the writer held, the newest status entry of every zone the
    /// verdict reads, from each monitor whose scope covers the zone, and for
    /// an attestation the entry that created its subject, as the writing
    /// node held them. Naming them makes the verdict the same on every node,
    /// whatever order entries reach it in.
    pub context: Vec<Hash32>,
    /// What the entry records; which bodies an author may write depends on
    /// its role (R2).
    pub body: Body,
}

/// What an entry records. On the wire, the variant's `u32` tag (in this
/// order, from 0) and then its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// An authority registers a licensee (R2).
    RegisterLicensee(LicenseeRegistration),
    /// An authority revokes a licensee (R2).
    RevokeLicensee(LicenseeRevocation),
    /// A licensee's signed record, countersigned by its authority: the entry
    /// bears both signatures.
    Countersigned(Countersigned),
    /// The importing authority confirms a certificate addressed to it (R7).
    ImportConfirmation(ImportConfirmation),
    /// A monitor declares a zone's status (R6).
    ZoneStatus(ZoneStatus),
    /// An authority or a monitor attests about a lot or a certificate.
    Attestation(Attestation),
    /// The chair governs the network.
    Governance(Governance),
    /// A monitor declares a zone's estimated annual production, against
    /// which the statistics weigh what the zone's productions record.
    ZoneEstimate(ZoneEstimate),
}

impl Body {
    /// The body's name as JSON spells its variant (`register_licensee`,
    /// `zone_status`, ...), for messages and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::RegisterLicensee(_) => "register_licensee",
            Body::RevokeLicensee(_) => "revoke_licensee",
            Body::Countersigned(_) => "countersigned",
            Body::ImportConfirmation(_) => "import_confirmation",
            Body::ZoneStatus(_) => "zone_status",
            Body::Attestation(_) => "attestation",
            Body::Governance(_) => "governance",
            Body::ZoneEstimate(_) => "zone_estimate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
/// What a licensee may record (R2). A licensee holds one or more roles,
/// given at registration.
pub enum Role {
    /// Records production (mine of origin); may also transfer.
    Miner,
    /// A buying office or trader: transfers lots it holds.
    Trader,
    /// Requests exports (certificates); may also transfer.
    Exporter,
    /// Transfers lots it holds, for example the lot an import confirmation
    /// created.
    Importer,
    /// Records laboratory findings about lots (`LabResult`).
    Laboratory,
}

impl Role {
    /// Every role, in wire order.
    pub const ALL: [Role; 5] = [Role::Miner, Role::Trader, Role::Exporter, Role::Importer, Role::Laboratory];

    /// The role as JSON and the `kp` client spell it (`miner`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Miner => "miner",
            Role::Trader => "trader",
            Role::Exporter => "exporter",
            Role::Importer => "importer",
            Role::Laboratory => "laboratory",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!("unknown role `{s}` (expected one of miner, trader, exporter, importer, laboratory)")
        })
    }
}

/// An authority registers a key as one of its participant's licensees
/// (R2). Weak keys are refused (R1); a key already registered by this
/// participant is refused (`R2.licensee_exists`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseeRegistration {
    /// The licensee's Ed25519 key: it signs the licensee's records.
    pub licensee: PublicKey,
    /// The licensee's name (a company, a cooperative).
    pub name: String,
    /// What the licensee may record: 1 to 5 roles.
    pub roles: Vec<Role>,
}

/// An authority revokes one of its licensees (R2): its records are
/// refused from then on, and it can no longer receive lots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseeRevocation {
    /// The key of a licensee this participant registered.
    pub licensee: PublicKey,
    /// Why, free text.
    pub reason: String,
}

/// A licensee's record as its authority carries it: the exact bytes the
/// licensee signed, and that signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Countersigned {
    /// The canonical bytes of a `Record`, as the licensee signed them.
    pub record: HexBytes,
    /// The licensee's Ed25519 signature over
    /// `kpledger/v1/record\0 || record` (R1).
    pub signature: SignatureBytes,
}

/// What a licensee signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    /// Network id; must be the carrying entry's (R2).
    pub network: String,
    /// The licensee's key, which signs the record; a licensee of the
    /// countersigning authority's participant, active, with the role the
    /// body needs (R2).
    pub licensee: PublicKey,
    /// Makes two otherwise equal records distinct; a record is accepted once.
    pub nonce: u64,
    /// What the licensee records.
    pub body: RecordBody,
}

/// What a licensee records. On the wire, the variant's `u32` tag (in this
/// order, from 0) and then its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordBody {
    /// A miner's production: creates a lot (R4, R6).
    Production(Production),
    /// An internal hop that splits and mixes lots (R4, R5, R8).
    Transfer(Transfer),
    /// An exporter's export request: countersigned, it is the certificate
    /// (R5, R6, R7, R8).
    Export(Export),
    /// A laboratory's finding about a lot.
    LabResult(LabResult),
}

impl RecordBody {
    /// The body's name as JSON spells its variant (`production`,
    /// `lab_result`, ...), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordBody::Production(_) => "production",
            RecordBody::Transfer(_) => "transfer",
            RecordBody::Export(_) => "export",
            RecordBody::LabResult(_) => "lab_result",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
/// Natural or synthetic stones (R8): the two never mix, and each leaves
/// only under its own HS codes.
pub enum Nature {
    /// Mined rough diamonds: the Kimberley Process's subject.
    Natural,
    /// Laboratory-grown diamonds.
    Synthetic,
}

/// Mine of origin: creates a lot held by the miner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Production {
    /// Id of the new lot, unique within the participant (R4).
    pub lot: String,
    /// The mine or digging site, free text.
    pub site: String,
    /// Required where the participant is under the zone regime (R6).
    pub zone: Option<ZoneRef>,
    /// Hundredths of a carat, more than zero.
    pub weight: Weight,
    /// Number of stones in the lot.
    pub stones: u32,
    /// Production date, `YYYY-MM-DD`: the zone's status on this date
    /// decides whether the lot is compliant (R6).
    pub date: String,
    /// Natural or synthetic (R8); every lot mixed from this one has it.
    pub nature: Nature,
    /// The production's declared value in US cents, where the miner
    /// declares one: the production value statistics sum it.
    #[serde(default)]
    pub value_cents: Option<Cents>,
}

/// The zone a production names, and the zone-status entry it relies on (R3,
/// R6). No status entry means the zone was never declared: the lot is
/// recorded, and is non-compliant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneRef {
    /// Short zone id of the producing participant, for example `BER`.
    pub zone: String,
    /// Hash of the zone-status entry the miner relies on; it must lie on
    /// the zone's chain that the entry's context names (`R3.bad_context`).
    pub status_entry: Option<Hash32>,
}

/// Weight taken from one input lot held by the submitter (R4, R5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Take {
    /// Id of a lot of the submitter's participant.
    pub lot: String,
    /// Hundredths of a carat taken, at most what the lot has left (R5).
    pub weight: Weight,
}

/// A lot a transfer creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Output {
    /// Id of the new lot, unique within the participant (R4).
    pub lot: String,
    /// Hundredths of a carat; a transfer's outputs weigh exactly what its
    /// inputs took (R5).
    pub weight: Weight,
    /// New holder: a licensee of the same participant.
    pub holder: PublicKey,
}

/// An internal hop: lots may be split and mixed (R4, R5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Transfer {
    /// Lots taken from, each at most once and of one nature (R5, R8).
    pub inputs: Vec<Take>,
    /// Lots created, each held by an active licensee of the participant.
    pub outputs: Vec<Output>,
    /// Date of the hop, `YYYY-MM-DD`.
    pub date: String,
}

/// One line of a certificate: stones of one HS code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HsLine {
    /// `7102.10`, `7102.21`, `7102.31` (natural rough, KP) or `7104.21`,
    /// `7104.91` (synthetic).
    pub code: String,
    /// Hundredths of a carat; an export's lines weigh exactly what its
    /// inputs took (R5).
    pub weight: Weight,
    /// Declared value in US cents.
    pub value_cents: Cents,
}

/// An export request; countersigned by the authority, it is the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Export {
    /// `<ISO code>-<digits>`, unique per participant (R7).
    pub certificate: String,
    /// Importing participant code: another participant of the network (R7).
    pub importer: String,
    /// The consignee at the destination, free text.
    pub consignee: String,
    /// Lots exported, all compliant (R6), held by the exporter (R4).
    pub inputs: Vec<Take>,
    /// What the certificate declares, per HS code (R5, R8).
    pub lines: Vec<HsLine>,
    /// Number of parcels shipped.
    pub parcels: u32,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued: String,
    /// Date of expiry, `YYYY-MM-DD`, not before `issued` (R7).
    pub expires: String,
}

/// A laboratory's finding about a lot: recorded as an attestation, and
/// shown on the trail against the lot's recorded nature (R8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LabResult {
    /// Id of an existing lot of the laboratory's participant.
    pub lot: String,
    /// SHA-256 of the laboratory's report document.
    pub report_hash: Hash32,
    /// The nature the laboratory found.
    pub finding: Nature,
    /// Free text.
    pub note: String,
}

/// The importing authority confirms a certificate addressed to it (R7):
/// the shipment becomes a new lot of the importing participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImportConfirmation {
    /// Code of the exporting participant.
    pub exporter: String,
    /// The certificate number confirmed.
    pub certificate: String,
    /// Hash of the export entry confirmed (R3 cross-log reference).
    pub certificate_entry: Hash32,
    /// Hundredths of a carat received; a mismatch with the certificate is
    /// accepted and flagged (R7).
    pub weight: Weight,
    /// Parcels received; a mismatch is accepted and flagged (R7).
    pub parcels: u32,
    /// The lot the shipment becomes in the importing participant.
    pub lot: String,
    /// The licensee of the importing participant who holds the new lot.
    pub holder: PublicKey,
    /// Date of the confirmation, `YYYY-MM-DD`; after the certificate's
    /// expiry it is accepted and flagged (R7).
    pub date: String,
}

/// A zone's status from its effective date on (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZoneState {
    /// Production there is compliant, until a later status takes effect.
    Compliant,
    /// Production there is not compliant, until a later compliant status
    /// takes effect.
    Suspended,
    /// The designation is withdrawn: as a suspension, and it outranks one
    /// effective on the same date.
    Revoked,
}

impl ZoneState {
    /// The state as JSON spells it (`compliant`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneState::Compliant => "compliant",
            ZoneState::Suspended => "suspended",
            ZoneState::Revoked => "revoked",
        }
    }
}

/// A monitor declares a zone's status (R6), for a participant in its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneStatus {
    /// Code of the participant the zone lies in.
    pub participant: String,
    /// Short zone id, for example `BER`.
    pub zone: String,
    /// The zone's name, for example `Berberati`.
    pub name: String,
    /// The status declared.
    pub status: ZoneState,
    /// Date from which the status holds, `YYYY-MM-DD`; it may be before
    /// the entry is written.
    pub effective: String,
    /// The monitor's previous status entry for this zone, none for its
    /// first: each zone's history is a hash chain inside the monitor's log
    /// (R3), so the history behind any status entry can be proven complete.
    #[serde(default)]
    pub previous: Option<Hash32>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
/// What an attestation is about.
pub enum Subject {
    /// A lot of a participant.
    Lot {
        /// The participant's code.
        participant: String,
        /// The lot's id within the participant.
        lot: String,
    },
    /// A certificate.
    Certificate {
        /// The certificate number, `<code>-<digits>`.
        number: String,
    },
}

/// `lot CF/BER/1 of CF` or `certificate CF-000001`, as messages, verdicts
/// and the `kp` client name a subject.
impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Lot { participant, lot } => write!(f, "lot {lot} of {participant}"),
            Subject::Certificate { number } => write!(f, "certificate {number}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
/// What an attestation says about its subject.
pub enum AttestationKind {
    /// A forged-certificate report: the trail shows the certificate as a
    /// problem.
    ForgedCertificate,
    /// The lot was seized: a problem on the trail.
    Seizure,
    /// The lot is held: it is on hold while any author's last hold or
    /// release about it is a hold (`state::on_hold`).
    Hold,
    /// Lifts its author's own holds.
    Release,
    /// A remark, changing nothing; laboratory findings are recorded as
    /// notes too.
    Note,
}

impl AttestationKind {
    /// The kind as JSON spells it (`forged_certificate`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            AttestationKind::ForgedCertificate => "forged_certificate",
            AttestationKind::Seizure => "seizure",
            AttestationKind::Hold => "hold",
            AttestationKind::Release => "release",
            AttestationKind::Note => "note",
        }
    }
}

/// A monitor's estimate of what a zone can produce in a year, for a
/// participant in its scope. A later estimate of the same zone and year
/// replaces an earlier one (`stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneEstimate {
    /// Code of the participant the zone lies in.
    pub participant: String,
    /// Short zone id, for example `BER`.
    pub zone: String,
    /// The calendar year estimated.
    pub year: u16,
    /// Hundredths of a carat: the zone's estimated production that year.
    pub weight: Weight,
    /// How the estimate was made, free text.
    pub note: String,
}

/// An authority (about its own participant's lots, or any certificate) or
/// a monitor attests about a lot or a certificate. The entry's context
/// names the entry that created the subject (R3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attestation {
    /// The lot or certificate attested about; it must exist.
    pub subject: Subject,
    /// What is attested.
    pub kind: AttestationKind,
    /// Free text.
    pub note: String,
}

/// The chair's entries: who may write, as of each governance entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Governance {
    /// Admits a participant; its code must be new (`R2.participant_exists`),
    /// its authority key new to the network (`R2.key_in_use`) and not weak
    /// (R1).
    AdmitParticipant(Participant),
    /// The participant's authority may write no entry at position `from` of
    /// its log or later (R2), as judged by every entry that names this one
    /// or a later governance entry in its context. A position, not a time,
    /// so that every node agrees which entries it stops.
    SuspendParticipant {
        /// The participant's code.
        code: String,
        /// Why, free text.
        reason: String,
        /// First suspended position (`seq`) of the participant's log, at
        /// least 1.
        from: u64,
    },
    /// Entries at position `from` of the participant's log or later may be
    /// written again.
    ReinstateParticipant {
        /// The participant's code.
        code: String,
        /// First position (`seq`) written again; not before the suspension's
        /// `from` (`R2.bad_position`).
        from: u64,
    },
    /// The chair's role passes to another key: the new chair's log goes on
    /// with governance from there.
    ChairHandover {
        /// The new chair's governance key; new to the network and not weak.
        new_chair: PublicKey,
    },
    /// Admits a participant under conditions, as the 2017 plenary admitted
    /// Gabon: its logs may record production and internal hops, but its
    /// exports are refused (`R2.conditional_admission`) until the chair
    /// lifts the conditions.
    AdmitConditionally {
        /// The participant, as for [`Governance::AdmitParticipant`].
        participant: Participant,
        /// What the participant must still do, free text; at least one.
        conditions: Vec<String>,
    },
    /// The chair records that a conditionally admitted participant meets
    /// its conditions: its exports are accepted from here on.
    LiftConditions {
        /// The participant's code.
        code: String,
        /// Why, free text.
        note: String,
    },
    /// A participant's or a monitor's nodes change (a machine replaced, a
    /// new address): peers listed here may connect for it, and the ones
    /// dropped are refused.
    SetNodes {
        /// A participant's code or a monitor's id.
        holder: String,
        /// Every node of the holder from here on.
        nodes: Vec<NodeInfo>,
    },
    /// A participant authority's or a monitor's signing key is replaced.
    /// The old key's log is closed at position `last`: its entries `1..=last`
    /// stay valid, any later one is withdrawn on every node (R3, as a
    /// frozen log's), and the holder's log goes on under the new key from
    /// position 1.
    RotateKey {
        /// A participant's code or a monitor's id.
        holder: String,
        /// The new signing key; new to the network and not weak.
        new_key: PublicKey,
        /// The old key's last valid position, at least 1.
        last: u64,
        /// A planned rotation: the old key's signature over the
        /// [`KeyRotation`] this entry describes. None for a rotation the
        /// chair forces after a compromise.
        statement: Option<SignatureBytes>,
    },
}

/// What an old key signs to hand its log over to a new key (a planned
/// rotation): the signed bytes are this struct's canonical encoding, behind
/// the `kpledger/v1/key-rotation\0` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyRotation {
    /// The network id.
    pub network: String,
    /// A participant's code or a monitor's id.
    pub holder: String,
    /// The key handing over, which signs this.
    pub old_key: PublicKey,
    /// The key taking over.
    pub new_key: PublicKey,
    /// The old key's last position.
    pub last: u64,
}

/// Where a participant's certificate numbers come from: `CF-000123` is CF's.
pub fn certificate_participant(number: &str) -> Option<&str> {
    let (code, digits) = number.split_once('-')?;
    let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && is_participant_code(code);
    ok.then_some(code)
}

/// Whether `code` has the form of a participant code: two ASCII capital
/// letters (`CF`, `EU`). Whether such a participant exists is the network's.
pub fn is_participant_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// KP rough-diamond HS codes: natural stones only (R8).
pub const KP_ROUGH_HS: [&str; 3] = ["7102.10", "7102.21", "7102.31"];
/// Synthetic diamond HS codes: synthetic stones only (R8).
pub const SYNTHETIC_HS: [&str; 2] = ["7104.21", "7104.91"];

/// The nature of stones an HS code may declare (R8): natural for
/// [`KP_ROUGH_HS`], synthetic for [`SYNTHETIC_HS`], none for any other code
/// (`R8.unknown_hs_code`).
pub fn hs_nature(code: &str) -> Option<Nature> {
    if KP_ROUGH_HS.contains(&code) {
        Some(Nature::Natural)
    } else if SYNTHETIC_HS.contains(&code) {
        Some(Nature::Synthetic)
    } else {
        None
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), by
/// Howard Hinnant's civil-from-days algorithm: one function instead of a
/// date-time dependency.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
pub fn date_of_days(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Today's UTC date as `YYYY-MM-DD`, from the system clock: the default of
/// a node's trails and of `kp verify`. The rules and the trail never call
/// it; they are given the day they judge by.
pub fn today_utc() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    date_of_days((ms / 86_400_000) as i64)
}

/// Checks `YYYY-MM-DD` with a real calendar day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1900 && (1..=days).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_date("2017-12-31"));
        assert!(is_date("2016-02-29"));
        assert!(!is_date("2017-02-29"));
        assert!(!is_date("2017-13-01"));
        assert!(!is_date("2017-1-01"));
        assert!(!is_date("+017-01-01"));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(date_of_days(0), "1970-01-01");
        assert_eq!(date_of_days(17_532), "2018-01-01");
        assert_eq!(date_of_days(11_016), "2000-02-29");
        assert!(is_date(&today_utc()));
    }

    #[test]
    fn subjects_read_as_in_messages() {
        let lot = Subject::Lot { participant: "CF".into(), lot: "CF/BER/1".into() };
        assert_eq!(lot.to_string(), "lot CF/BER/1 of CF");
        assert_eq!(Subject::Certificate { number: "CF-000001".into() }.to_string(), "certificate CF-000001");
    }

    #[test]
    fn certificate_numbers() {
        assert_eq!(certificate_participant("CF-000123"), Some("CF"));
        assert_eq!(certificate_participant("EU-1"), Some("EU"));
        assert_eq!(certificate_participant("cf-1"), None);
        assert_eq!(certificate_participant("CF-"), None);
        assert_eq!(certificate_participant("CF-12a"), None);
    }

    #[test]
    fn hs_codes_have_one_nature() {
        assert_eq!(hs_nature("7102.31"), Some(Nature::Natural));
        assert_eq!(hs_nature("7104.21"), Some(Nature::Synthetic));
        assert_eq!(hs_nature("7103.10"), None);
    }
}
