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
/// for an attestation, the entry that created its subject. A read that
/// fails is passed on: a context missing what could not be read would be
/// signed, and refused by every peer.
pub fn writer_context<V: LedgerView>(
    view: &V,
    author: &PublicKey,
    body: &Body,
    record: Option<&Record>,
) -> Result<Vec<Hash32>, V::Error> {
    let net = view.network();
    let mut out = Vec::new();
    for (p, z) in zones_read(view, author, body, record)? {
        for m in net.monitors.iter().filter(|m| m.scope.contains(&p)) {
            out.extend(view.zone_head(&m.key, &p, &z)?);
        }
    }
    out.extend(view.governance_head());
    if let Body::Attestation(a) = body {
        match &a.subject {
            Subject::Lot { participant, lot } => out.extend(view.lot(participant, lot)?.map(|l| l.created_by)),
            Subject::Certificate { number } => out.extend(view.certificate(number)?.map(|c| c.entry)),
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Fill in what a body's writer knows best: a zone status's previous status
/// in the monitor's own log, and the position a suspension or reinstatement
/// takes effect from when none is given (the one after the log's head as
/// this writer holds it).
pub fn complete_body<V: LedgerView>(view: &V, author: &PublicKey, body: &mut Body) -> Result<(), V::Error> {
    match body {
        Body::ZoneStatus(z) => z.previous = view.zone_head(author, &z.participant, &z.zone)?,
        Body::Governance(
            Governance::SuspendParticipant { code, from, .. } | Governance::ReinstateParticipant { code, from },
        ) if *from == 0 => {
            if let Some(p) = view.network().participant(code) {
                *from = view.head(&p.participant.authority)?.map_or(1, |h| h.seq + 1);
            }
        }
        // A forced rotation closes the old key's log at its head as this
        // writer holds it, unless the chair names an earlier position.
        Body::Governance(Governance::RotateKey { holder, last, statement: None, .. }) if *last == 0 => {
            let net = view.network();
            let key = net
                .participant(holder)
                .map(|p| p.participant.authority)
                .or_else(|| net.monitors.iter().find(|m| m.id == *holder).map(|m| m.key));
            if let Some(k) = key {
                *last = view.head(&k)?.map_or(0, |h| h.seq);
            }
        }
        _ => {}
    }
    Ok(())
}
