//! What an honest writer adds to an entry before signing it: the context
//! (the entries of other logs its verdict reads, R3) and the positions and
//! links that only the writer's own log can give. Peers check all of it;
//! the writer fills it so that clients need not.

use crate::bytes::{Hash32, PublicKey};
use crate::model::*;
use crate::rules::LedgerView;
use crate::zone::zones_read;

/// The context an honest writer names: the newest governance entry it
/// holds; for every zone the verdict reads, the newest status entry it
/// holds from each monitor whose scope covers the zone's participant; and
/// for an attestation, the entry that created its subject.
pub fn writer_context(view: &impl LedgerView, author: &PublicKey, body: &Body, record: Option<&Record>) -> Vec<Hash32> {
    let net = view.network();
    let mut out: Vec<Hash32> = zones_read(view, author, body, record)
        .iter()
        .flat_map(|(p, z)| {
            net.monitors
                .iter()
                .filter(|m| m.scope.contains(p))
                .filter_map(|m| view.zone_head(&m.key, p, z))
                .collect::<Vec<_>>()
        })
        .collect();
    out.extend(view.governance_head());
    if let Body::Attestation(a) = body {
        match &a.subject {
            Subject::Lot { participant, lot } => out.extend(view.lot(participant, lot).map(|l| l.created_by)),
            Subject::Certificate { number } => out.extend(view.certificate(number).map(|c| c.entry)),
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Fill in what a body's writer knows best: a zone status's previous status
/// in the monitor's own log, and the position a suspension or reinstatement
/// takes effect from when none is given (the one after the log's head as
/// this writer holds it).
pub fn complete_body(view: &impl LedgerView, author: &PublicKey, body: &mut Body) {
    match body {
        Body::ZoneStatus(z) => z.previous = view.zone_head(author, &z.participant, &z.zone),
        Body::Governance(
            Governance::SuspendParticipant { code, from, .. } | Governance::ReinstateParticipant { code, from },
        ) if *from == 0 => {
            if let Some(p) = view.network().participant(code) {
                *from = view.head(&p.participant.authority).map_or(1, |h| h.seq + 1);
            }
        }
        _ => {}
    }
}
