//! The statistics' answers, as the API gives them (JSON, with JSON
//! Schemas). Every figure is an integer: hundredths of a carat, US cents,
//! basis points; so any node holding the same logs answers the same bytes.

use super::period::Period;
use crate::bytes::Hash32;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A figure: weight, value and count, with the US dollars per carat they
/// make and where to list the entries behind them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Figure {
    /// Hundredths of a carat.
    pub weight: u64,
    /// US cents: certificate values, or the declared values of productions.
    pub value_cents: u64,
    /// Certificates, or production records.
    pub count: u64,
    /// Stones (production only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stones: Option<u64>,
    /// US cents per carat; for production, over the productions that
    /// declared a value. None when there is no weight to divide by.
    pub usd_per_carat_cents: Option<u64>,
    /// `GET` this path for the signed entries behind the figure.
    pub entries: String,
}

/// A figure of one partner, HS code or zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Keyed {
    /// The partner's code, the HS code, or the zone id.
    pub key: String,
    /// Its figure.
    pub figure: Figure,
}

/// Exports or imports of a participant in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Trade {
    /// All certificates.
    pub total: Figure,
    /// By partner (importer of an export, exporter of an import), by code.
    pub by_partner: Vec<Keyed>,
    /// By HS code, as the certificates' lines declare.
    pub by_hs: Vec<Keyed>,
}

/// Shares of the network's totals, in basis points (1/100 of a percent),
/// by weight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shares {
    /// Of the network's production.
    pub production_bp: u64,
    /// Of the network's exports.
    pub exports_bp: u64,
    /// Of the network's imports.
    pub imports_bp: u64,
}

/// One participant's statistics in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ParticipantStats {
    /// The participant's code.
    pub participant: String,
    /// Natural rough produced, by production date.
    pub production: Figure,
    /// Production by zone, for a participant whose productions name zones.
    pub production_by_zone: Vec<Keyed>,
    /// Certificates issued, by date of issue.
    pub exports: Trade,
    /// Certificates confirmed, by date of confirmation: weight as
    /// received, value as certified.
    pub imports: Trade,
    /// Its share of the network's totals.
    pub shares: Shares,
}

/// The network's totals in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// Production.
    pub production: Figure,
    /// Exports.
    pub exports: Figure,
    /// Imports.
    pub imports: Figure,
}

/// A gap in a participant's statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Gap {
    /// The participant.
    pub participant: String,
    /// `no_production`, `no_exports`, `no_confirmations` or
    /// `awaiting_confirmation`.
    pub kind: String,
    /// In plain words.
    pub message: String,
    /// Certificates addressed to the participant and not confirmed, for
    /// `awaiting_confirmation` and `no_confirmations`.
    pub certificates: Vec<String>,
}

/// `GET /v1/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StatsAnswer {
    /// The period.
    pub period: Period,
    /// The partner asked for, if any: trade with it only.
    pub partner: Option<String>,
    /// The HS code asked for, if any: trade under it only.
    pub hs: Option<String>,
    /// The whole network.
    pub network: Totals,
    /// Every participant asked for (all, by default), with zeros where
    /// nothing was recorded.
    pub participants: Vec<ParticipantStats>,
    /// Statistics missing where the participants' history says they should
    /// be.
    pub completeness: Vec<Gap>,
}

/// A certificate of a mirror pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CertLine {
    /// The number.
    pub number: String,
    /// The export entry.
    pub entry: Hash32,
    /// Date of issue.
    pub issued: String,
    /// Date of expiry.
    pub expires: String,
    /// Hundredths of a carat certified.
    pub weight: u64,
    /// Parcels certified.
    pub parcels: u32,
    /// The confirming entry, if confirmed.
    pub confirmation: Option<Hash32>,
    /// Date of confirmation.
    pub confirmed: Option<String>,
    /// Hundredths of a carat received.
    pub received: Option<u64>,
    /// Parcels received.
    pub parcels_received: Option<u32>,
}

/// What A's certificates say went to B, against what B confirmed from A.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MirrorPair {
    /// A, the exporter.
    pub exporter: String,
    /// B, the importer.
    pub importer: String,
    /// A's certificates to B issued in the period.
    pub exported: Figure,
    /// B's confirmations of A's certificates dated in the period.
    pub confirmed: Figure,
    /// `exported - confirmed`, hundredths of a carat.
    pub gap_weight: i64,
    /// `exported - confirmed`, US cents.
    pub gap_value_cents: i64,
    /// `exported - confirmed`, certificates.
    pub gap_count: i64,
    /// Certificates issued in the period not confirmed.
    pub unconfirmed: Vec<CertLine>,
    /// Certificates issued in the period confirmed after their expiry.
    pub confirmed_late: Vec<CertLine>,
    /// Certificates issued in the period confirmed with a weight or parcel
    /// mismatch (R7).
    pub mismatched: Vec<CertLine>,
}

/// `GET /v1/stats/mirror`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MirrorAnswer {
    /// The period.
    pub period: Period,
    /// Each pair with a certificate issued or confirmed in the period.
    pub pairs: Vec<MirrorPair>,
}

/// How bad an anomaly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Should be explained.
    Medium,
    /// Points at illicit trade or a broken record.
    High,
}

/// One anomaly found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Anomaly {
    /// The check that found it (stable, see `docs/STATISTICS.md`).
    pub check: String,
    /// `check/subject`: stable for the same finding.
    pub id: String,
    /// How bad it is.
    pub severity: Severity,
    /// The rule it bears on, if any (`R6`, `R7`, `R8`).
    pub rule: Option<String>,
    /// The participant it is about.
    pub participant: String,
    /// The other participant of a trade it is about, if any.
    pub partner: Option<String>,
    /// In plain words.
    pub message: String,
    /// The signed entries that show it, sorted.
    pub entries: Vec<Hash32>,
}

/// The checks' parameters, with their defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AnomalyParams {
    /// Dates after which unconfirmed certificates count as expired; the
    /// date of the newest entry held by default.
    pub as_of: String,
    /// `mirror_gap`: a pair's gap beyond this share of what was
    /// exported, basis points (default 500: 5 %).
    pub mirror_tolerance_bp: u64,
    /// `price_*`: flag a line this many scaled MADs from the median,
    /// tenths (default 50: 5.0).
    pub price_mads_tenths: u64,
    /// `price_*`: and at least this far from the median, basis points of
    /// it (default 5000: 50 %), so that tight markets flag only real
    /// outliers.
    pub price_min_deviation_bp: u64,
    /// `price_*`: baselines of fewer lines are not used (default 5).
    pub price_min_lines: u64,
    /// `export_surge`: a quarter's exports over this multiple of the
    /// trailing quarters' mean, tenths (default 30: 3.0).
    pub surge_factor_tenths: u64,
    /// `export_surge`: trailing quarters (default 4).
    pub surge_window: u64,
    /// `zone_over_capacity`: production beyond the estimate by more than
    /// this, basis points (default 0).
    pub capacity_tolerance_bp: u64,
}

/// `GET /v1/anomalies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AnomalyAnswer {
    /// The period searched: dates of the records looked at.
    pub period: Period,
    /// The parameters used.
    pub params: AnomalyParams,
    /// What was found: by severity, highest first, then check and id.
    pub anomalies: Vec<Anomaly>,
}

/// A period's three totals of a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PeriodTotals {
    /// The period.
    pub period: Period,
    /// Production.
    pub production: Figure,
    /// Exports.
    pub exports: Figure,
    /// Imports.
    pub imports: Figure,
}

/// Changes against the previous period, basis points of it; None where
/// the previous period had nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// Production weight.
    pub production_bp: Option<i64>,
    /// Export weight.
    pub exports_bp: Option<i64>,
    /// Import weight.
    pub imports_bp: Option<i64>,
}

/// US cents per carat of a participant against the network's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Prices {
    /// Its exports.
    pub exports: Option<u64>,
    /// The network's exports.
    pub network_exports: Option<u64>,
    /// Its declared production value.
    pub production: Option<u64>,
    /// The network's declared production value.
    pub network_production: Option<u64>,
}

/// `GET /v1/reports/{participant}`: the standard country analysis report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// The participant.
    pub participant: String,
    /// Its name.
    pub name: String,
    /// The period and its totals.
    pub current: PeriodTotals,
    /// The two periods before, newest first.
    pub previous: Vec<PeriodTotals>,
    /// Against the period before.
    pub change: Change,
    /// US dollars per carat against the network's.
    pub prices: Prices,
    /// Its shares of the network's totals.
    pub shares: Shares,
    /// Production by zone.
    pub production_by_zone: Vec<Keyed>,
    /// Main export destinations, by value, five at most.
    pub main_export_partners: Vec<Keyed>,
    /// Main import origins, by value, five at most.
    pub main_import_partners: Vec<Keyed>,
    /// Its mirror pairs, either side, with their gaps.
    pub mirror: Vec<MirrorPair>,
    /// Anomalies about it in the period.
    pub anomalies: Vec<Anomaly>,
    /// Gaps in its statistics.
    pub completeness: Vec<Gap>,
}

/// `GET /v1/stats/entries`: the signed entries behind a figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FigureEntries {
    /// `production`, `export` or `import`.
    pub flow: String,
    /// The period.
    pub period: Period,
    /// The entries, sorted: productions, exports or import confirmations;
    /// the first `limit` of them.
    pub entries: Vec<Hash32>,
    /// More entries are behind the figure than `limit`: ask a shorter
    /// period, or one participant.
    pub more: bool,
}
