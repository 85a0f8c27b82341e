//! JSON Schemas of the API bodies, generated from the types. The committed
//! copies in `schemas/json/` are checked against these by a test.

use crate::api::*;
use crate::model::{Record, SignedRoster};
use crate::rules::Equivocation;
use crate::state::{CertState, LicenseeState, ZoneRecord};
use crate::trail::Trail;
use schemars::{JsonSchema, schema_for};

fn render<T: JsonSchema>() -> String {
    let mut s = serde_json::to_string_pretty(&schema_for!(T)).expect("schemas serialise");
    s.push('\n');
    s
}

/// `(file name, schema text)` for every API body.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("action.json", render::<Action>()),
        ("api-error.json", render::<ApiError>()),
        ("bundle.json", render::<crate::bundle::Bundle>()),
        ("bundle-report.json", render::<crate::bundle::Report>()),
        ("attestations.json", render::<Vec<crate::state::AttestationRecord>>()),
        ("certificate.json", render::<CertState>()),
        ("certificate-check.json", render::<crate::check::CertCheck>()),
        ("checkpoint.json", render::<CheckpointView>()),
        ("consistency-proof.json", render::<ConsistencyProof>()),
        ("entry.json", render::<EntryView>()),
        ("equivocation.json", render::<Equivocation>()),
        ("fraud.json", render::<FraudView>()),
        ("head.json", render::<HeadView>()),
        ("inclusion-proof.json", render::<InclusionProof>()),
        ("licensee.json", render::<LicenseeState>()),
        ("log-page.json", render::<LogPage>()),
        ("peers.json", render::<PeerStatus>()),
        ("lot.json", render::<LotView>()),
        ("record.json", render::<Record>()),
        ("roster.json", render::<SignedRoster>()),
        ("roster-chain.json", render::<RosterChain>()),
        ("status.json", render::<Status>()),
        ("submit-entry.json", render::<SubmitEntry>()),
        ("submit-record.json", render::<SubmitRecord>()),
        ("submitted.json", render::<Submitted>()),
        ("trail.json", render::<Trail>()),
        ("zone.json", render::<ZoneRecord>()),
        ("stats.json", render::<crate::stats::StatsAnswer>()),
        ("stats-mirror.json", render::<crate::stats::MirrorAnswer>()),
        ("stats-entries.json", render::<crate::stats::FigureEntries>()),
        ("report.json", render::<crate::stats::Report>()),
        ("anomalies.json", render::<crate::stats::AnomalyAnswer>()),
    ]
}
