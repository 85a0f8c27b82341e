//! R6: which status a zone had on a date. A zone's history is a hash chain of
//! status entries inside each monitor's log ([`ZoneStatus::previous`]); a
//! verdict reads the chains behind the status entries its entry names in its
//! context, so every node reads the same history whatever else it holds.

use crate::bytes::{Hash32, PublicKey};
use crate::codes::{self, Refusal};
use crate::model::*;
use crate::state::*;
use crate::view::{JudgeError, LedgerView, ReadResult};
use std::collections::BTreeSet;

/// Zones as `(participant, zone id)`.
pub type ZoneKey = (String, String);

/// Every status entry behind `heads`: each head and all it chains back to.
/// A chain whose entry is not known here is a missing dependency (R3); a
/// read that fails is passed on.
pub fn history<V: LedgerView>(view: &V, heads: &[Hash32]) -> Result<Vec<ZoneRecord>, JudgeError<V::Error>> {
    let mut out = Vec::new();
    for head in heads {
        let mut next = Some(*head);
        while let Some(h) = next {
            let Some(rec) = view.zone(&h).read()? else {
                let why = format!("zone-status entry {h} is not known here");
                return Err(Refusal::new(codes::R3_MISSING_DEPENDENCY, why).into());
            };
            next = rec.status.previous;
            out.push(rec);
        }
    }
    Ok(out)
}

/// The status in force on `date`: the one with the latest effective date on
/// or before it. On one date a status that is not compliant outranks a
/// compliant one, and the entry hash breaks the last tie, so the answer
/// depends on the set of statuses only, never on their order.
pub fn in_force<'a>(history: &'a [ZoneRecord], date: &str) -> Option<&'a ZoneRecord> {
    fn severity(s: ZoneState) -> u8 {
        match s {
            ZoneState::Compliant => 0,
            ZoneState::Suspended => 1,
            ZoneState::Revoked => 2,
        }
    }
    history.iter().filter(|z| z.status.effective.as_str() <= date).max_by(|a, b| {
        (&a.status.effective, severity(a.status.status), a.entry).cmp(&(
            &b.status.effective,
            severity(b.status.status),
            b.entry,
        ))
    })
}

/// Whether the status in force on `date` is compliant.
pub fn compliant_on(history: &[ZoneRecord], date: &str) -> bool {
    in_force(history, date).is_some_and(|z| z.status.status == ZoneState::Compliant)
}

/// The zones an entry's verdict reads (R6): a production's zone, the zones
/// behind the lots an export takes from, the zones behind a confirmed
/// certificate. `record` is the decoded record of a countersigned entry.
pub fn zones_read<V: LedgerView>(
    view: &V,
    author: &PublicKey,
    body: &Body,
    record: Option<&Record>,
) -> Result<Vec<ZoneKey>, V::Error> {
    let net = view.network();
    let Some(crate::state::AuthorRole::Authority(p)) = net.role_of(author) else { return Ok(Vec::new()) };
    let code = p.participant.code.as_str();
    let mut out = BTreeSet::new();
    match (body, record) {
        (Body::Countersigned(_), Some(r)) => match &r.body {
            RecordBody::Production(x) => {
                if let Some(z) = &x.zone {
                    out.insert((code.to_string(), z.zone.clone()));
                }
            }
            RecordBody::Export(x) => {
                for t in &x.inputs {
                    if let Some(lot) = view.lot(code, &t.lot)? {
                        out.extend(lot.zones.into_iter().map(|m| (m.participant, m.zone)));
                    }
                }
            }
            RecordBody::Transfer(_) | RecordBody::LabResult(_) => {}
        },
        (Body::ImportConfirmation(c), _) => {
            if let Some(cert) = view.certificate(&c.certificate)? {
                out.extend(cert.zones.into_iter().map(|m| (m.participant, m.zone)));
            }
        }
        _ => {}
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: u8, status: ZoneState, effective: &str) -> ZoneRecord {
        ZoneRecord {
            entry: Hash32([n; 32]),
            monitor: PublicKey([0; 32]),
            status: ZoneStatus {
                participant: "CF".into(),
                zone: "BOD".into(),
                name: "Boda".into(),
                status,
                effective: effective.into(),
                previous: None,
            },
        }
    }

    #[test]
    fn the_latest_status_effective_on_or_before_the_date_is_in_force() {
        let h = [
            rec(1, ZoneState::Compliant, "2016-06-01"),
            rec(2, ZoneState::Suspended, "2017-05-01"),
            rec(3, ZoneState::Compliant, "2018-01-01"),
        ];
        assert!(in_force(&h, "2016-05-31").is_none());
        assert!(compliant_on(&h, "2016-06-01"));
        assert!(compliant_on(&h, "2017-04-30"));
        assert!(!compliant_on(&h, "2017-05-01"));
        assert!(!compliant_on(&h, "2017-06-10"));
        assert!(compliant_on(&h, "2018-03-01"));
    }

    #[test]
    fn on_one_date_a_suspension_outranks_a_designation_in_any_order() {
        let a = [rec(1, ZoneState::Compliant, "2017-05-01"), rec(2, ZoneState::Suspended, "2017-05-01")];
        let b = [a[1].clone(), a[0].clone()];
        assert!(!compliant_on(&a, "2017-06-01"));
        assert!(!compliant_on(&b, "2017-06-01"));
    }
}
