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
    pub participants: Vec<Participant>,
    pub monitors: Vec<Monitor>,
    /// Read-only nodes that may connect (observers, customs).
    pub observers: Vec<NodeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Participant {
    /// ISO 3166-1 alpha-2 code, or `EU`.
    pub code: String,
    pub name: String,
    /// The KP authority's signing key; its log is the participant's log.
    pub authority: PublicKey,
    /// Whether production must name a compliant zone (R6).
    pub zone_regime: bool,
    pub nodes: Vec<NodeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NodeInfo {
    /// libp2p peer id (base58).
    pub peer_id: String,
    /// Multiaddresses to dial.
    pub addrs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Monitor {
    /// Short id, for example `MT-CF`.
    pub id: String,
    pub name: String,
    pub key: PublicKey,
    /// Participant codes whose zones this monitor may declare.
    pub scope: Vec<String>,
    pub nodes: Vec<NodeInfo>,
}

/// A roster file: canonical bytes, the chair's signature over them, and a
/// readable copy that must decode from the bytes exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SignedRoster {
    pub roster: Roster,
    pub bytes: HexBytes,
    pub signature: SignatureBytes,
}

// ---------------------------------------------------------------- entries

/// One position of one author's log. The wire form is the canonical bytes of
/// this struct followed by the author's 64-byte signature over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Entry {
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
    /// (R3, R6), in ascending order without repeats: the newest status entry
    /// of every zone the verdict reads, from each monitor whose scope covers
    /// the zone, as the writing node held them. Naming them makes the
    /// verdict the same on every node, whatever order entries reach it in.
    pub context: Vec<Hash32>,
    pub body: Body,
}

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
}

impl Body {
    pub fn kind(&self) -> &'static str {
        match self {
            Body::RegisterLicensee(_) => "register_licensee",
            Body::RevokeLicensee(_) => "revoke_licensee",
            Body::Countersigned(_) => "countersigned",
            Body::ImportConfirmation(_) => "import_confirmation",
            Body::ZoneStatus(_) => "zone_status",
            Body::Attestation(_) => "attestation",
            Body::Governance(_) => "governance",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Miner,
    Trader,
    Exporter,
    Importer,
    Laboratory,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Miner, Role::Trader, Role::Exporter, Role::Importer, Role::Laboratory];

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseeRegistration {
    pub licensee: PublicKey,
    pub name: String,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseeRevocation {
    pub licensee: PublicKey,
    pub reason: String,
}

/// A licensee's record as its authority carries it: the exact bytes the
/// licensee signed, and that signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Countersigned {
    pub record: HexBytes,
    pub signature: SignatureBytes,
}

/// What a licensee signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    pub network: String,
    pub licensee: PublicKey,
    /// Makes two otherwise equal records distinct; a record is accepted once.
    pub nonce: u64,
    pub body: RecordBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordBody {
    Production(Production),
    Transfer(Transfer),
    Export(Export),
    /// A laboratory's finding about a lot.
    LabResult(LabResult),
}

impl RecordBody {
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
pub enum Nature {
    Natural,
    Synthetic,
}

/// Mine of origin: creates a lot held by the miner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Production {
    pub lot: String,
    pub site: String,
    /// Required where the participant is under the zone regime (R6).
    pub zone: Option<ZoneRef>,
    pub weight: Weight,
    pub stones: u32,
    pub date: String,
    pub nature: Nature,
}

/// The zone a production names, and the zone-status entry it relies on (R3,
/// R6). No status entry means the zone was never declared: the lot is
/// recorded, and is non-compliant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneRef {
    pub zone: String,
    pub status_entry: Option<Hash32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Take {
    pub lot: String,
    pub weight: Weight,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Output {
    pub lot: String,
    pub weight: Weight,
    /// New holder: a licensee of the same participant.
    pub holder: PublicKey,
}

/// An internal hop: lots may be split and mixed (R4, R5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Transfer {
    pub inputs: Vec<Take>,
    pub outputs: Vec<Output>,
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HsLine {
    /// `7102.10`, `7102.21`, `7102.31` (natural rough, KP) or `7104.21`,
    /// `7104.91` (synthetic).
    pub code: String,
    pub weight: Weight,
    pub value_cents: Cents,
}

/// An export request; countersigned by the authority, it is the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Export {
    /// `<ISO code>-<digits>`, unique per participant (R7).
    pub certificate: String,
    /// Importing participant code.
    pub importer: String,
    pub consignee: String,
    pub inputs: Vec<Take>,
    pub lines: Vec<HsLine>,
    pub parcels: u32,
    pub issued: String,
    pub expires: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LabResult {
    pub lot: String,
    /// SHA-256 of the laboratory's report document.
    pub report_hash: Hash32,
    pub finding: Nature,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImportConfirmation {
    pub exporter: String,
    pub certificate: String,
    /// Hash of the export entry confirmed (R3 cross-log reference).
    pub certificate_entry: Hash32,
    pub weight: Weight,
    pub parcels: u32,
    /// The lot the shipment becomes in the importing participant.
    pub lot: String,
    pub holder: PublicKey,
    pub date: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZoneState {
    Compliant,
    Suspended,
    Revoked,
}

impl ZoneState {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneState::Compliant => "compliant",
            ZoneState::Suspended => "suspended",
            ZoneState::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZoneStatus {
    pub participant: String,
    /// Short zone id, for example `BER`.
    pub zone: String,
    pub name: String,
    pub status: ZoneState,
    pub effective: String,
    /// The monitor's previous status entry for this zone, none for its
    /// first: each zone's history is a hash chain inside the monitor's log
    /// (R3), so the history behind any status entry can be proven complete.
    #[serde(default)]
    pub previous: Option<Hash32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Lot { participant: String, lot: String },
    Certificate { number: String },
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
pub enum AttestationKind {
    ForgedCertificate,
    Seizure,
    Hold,
    Release,
    Note,
}

impl AttestationKind {
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attestation {
    pub subject: Subject,
    pub kind: AttestationKind,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Governance {
    AdmitParticipant(Participant),
    /// The participant's authority may write no entry at position `from` of
    /// its log or later (R2), as judged by every entry that names this one
    /// or a later governance entry in its context. A position, not a time,
    /// so that every node agrees which entries it stops.
    SuspendParticipant {
        code: String,
        reason: String,
        from: u64,
    },
    /// Entries at position `from` of the participant's log or later may be
    /// written again.
    ReinstateParticipant {
        code: String,
        from: u64,
    },
    ChairHandover {
        new_chair: PublicKey,
    },
}

/// Where a participant's certificate numbers come from: `CF-000123` is CF's.
pub fn certificate_participant(number: &str) -> Option<&str> {
    let (code, digits) = number.split_once('-')?;
    let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && is_participant_code(code);
    ok.then_some(code)
}

pub fn is_participant_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// KP rough-diamond HS codes: natural stones only (R8).
pub const KP_ROUGH_HS: [&str; 3] = ["7102.10", "7102.21", "7102.31"];
/// Synthetic diamond HS codes: synthetic stones only (R8).
pub const SYNTHETIC_HS: [&str; 2] = ["7104.21", "7104.91"];

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
