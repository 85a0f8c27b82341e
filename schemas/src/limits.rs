//! R9: bounds on sizes, counts and strings, checked before any other work.

use crate::codes::{self, Refusal};
use crate::model::*;

/// Largest entry on the wire, signature included (`R9.too_large`).
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// Largest licensee record a countersigned entry carries (`R9.too_large`):
/// room is left for the entry around it.
pub const MAX_RECORD_BYTES: usize = 48 * 1024;
/// Lot ids, site and zone ids, certificate numbers, network id.
pub const MAX_ID: usize = 64;
/// Names of people, sites, consignees.
pub const MAX_NAME: usize = 128;
/// Free-text notes and reasons.
pub const MAX_NOTE: usize = 1024;
/// Input lots of one transfer or export.
pub const MAX_INPUTS: usize = 256;
/// Output lots of one transfer.
pub const MAX_OUTPUTS: usize = 256;
/// HS lines of one export.
pub const MAX_HS_LINES: usize = 32;
/// 10 tonnes in hundredths of a carat: far above any real lot, far below
/// overflow when summed over every input.
pub const MAX_WEIGHT: Weight = 5_000_000_000;
/// Value of one HS line, in US cents: ten billion dollars.
pub const MAX_VALUE_CENTS: Cents = 1_000_000_000_000;
/// Parcels of one export or import confirmation.
pub const MAX_PARCELS: u32 = 100_000;
/// Stones of one production.
pub const MAX_STONES: u32 = 100_000_000;
/// Participants, monitors and observers of a roster, each; and the
/// participant codes of one monitor's scope.
pub const MAX_ROSTER_MEMBERS: usize = 512;
/// Nodes of one roster member, and addresses of one node.
pub const MAX_NODES_PER_MEMBER: usize = 16;
/// Conditions of one conditional admission.
pub const MAX_CONDITIONS: usize = 16;
/// Status entries an entry's context names: one per zone and monitor that
/// its verdict reads.
pub const MAX_CONTEXT: usize = 256;

fn too_long(field: &str, limit: usize) -> Refusal {
    Refusal::new(codes::R9_TOO_LONG, format!("{field} is longer than {limit} characters"))
}

/// Ids are printable ASCII without separators, so they can key the store and
/// URLs unambiguously.
pub fn check_id(field: &str, s: &str) -> Result<(), Refusal> {
    if s.is_empty() {
        return Err(Refusal::new(codes::R9_EMPTY, format!("{field} is empty")));
    }
    if s.len() > MAX_ID {
        return Err(too_long(field, MAX_ID));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.:".contains(&b)) {
        return Err(Refusal::new(
            codes::R9_BAD_ID,
            format!("{field} `{s}` may use only letters, digits and / - _ . :"),
        ));
    }
    Ok(())
}

/// Free text: at most `limit` characters (not bytes), none a control
/// character (`R9.too_long`, `R9.bad_text`). `field` names it in the message.
pub fn check_text(field: &str, s: &str, limit: usize) -> Result<(), Refusal> {
    if s.chars().count() > limit {
        return Err(too_long(field, limit));
    }
    if s.chars().any(char::is_control) {
        return Err(Refusal::new(codes::R9_BAD_TEXT, format!("{field} contains control characters")));
    }
    Ok(())
}

/// A real calendar day as `YYYY-MM-DD`, 1900 or later (`R9.bad_date`).
pub fn check_date(field: &str, s: &str) -> Result<(), Refusal> {
    if !is_date(s) {
        return Err(Refusal::new(codes::R9_BAD_DATE, format!("{field} `{s}` is not a YYYY-MM-DD date")));
    }
    Ok(())
}

/// A participant code: two ASCII capital letters (`R9.bad_participant`).
pub fn check_code(field: &str, s: &str) -> Result<(), Refusal> {
    if !is_participant_code(s) {
        return Err(Refusal::new(
            codes::R9_BAD_PARTICIPANT,
            format!("{field} `{s}` is not a participant code (two capital letters, for example CF or EU)"),
        ));
    }
    Ok(())
}

fn check_count(field: &str, n: usize, min: usize, max: usize) -> Result<(), Refusal> {
    if n < min {
        return Err(Refusal::new(codes::R9_EMPTY, format!("{field} needs at least {min}")));
    }
    if n > max {
        return Err(Refusal::new(codes::R9_TOO_MANY, format!("{field} has {n} items, the limit is {max}")));
    }
    Ok(())
}

fn check_weight(field: &str, w: Weight) -> Result<(), Refusal> {
    if w == 0 {
        return Err(Refusal::new(codes::R9_ZERO_WEIGHT, format!("{field} must weigh more than zero")));
    }
    if w > MAX_WEIGHT {
        return Err(Refusal::new(codes::R9_TOO_HEAVY, format!("{field} is over {MAX_WEIGHT} hundredths of a carat")));
    }
    Ok(())
}

fn check_takes(field: &str, takes: &[Take]) -> Result<(), Refusal> {
    check_count(field, takes.len(), 1, MAX_INPUTS)?;
    for t in takes {
        check_id("input lot", &t.lot)?;
        check_weight("input weight", t.weight)?;
    }
    Ok(())
}

fn check_node_infos(nodes: &[NodeInfo]) -> Result<(), Refusal> {
    check_count("nodes", nodes.len(), 0, MAX_NODES_PER_MEMBER)?;
    for n in nodes {
        check_text("peer id", &n.peer_id, MAX_NAME)?;
        check_count("addresses", n.addrs.len(), 0, MAX_NODES_PER_MEMBER)?;
        for a in &n.addrs {
            check_text("address", a, MAX_NAME)?;
        }
    }
    Ok(())
}

/// The bounds of a participant, in a roster or an `AdmitParticipant`
/// governance entry: its code, name and nodes.
pub fn check_participant(p: &Participant) -> Result<(), Refusal> {
    check_code("participant code", &p.code)?;
    check_text("participant name", &p.name, MAX_NAME)?;
    check_node_infos(&p.nodes)
}

/// The bounds of a roster: its network id, member counts, and each
/// participant, monitor and observer.
pub fn check_roster(r: &Roster) -> Result<(), Refusal> {
    check_id("network", &r.network)?;
    check_count("participants", r.participants.len(), 0, MAX_ROSTER_MEMBERS)?;
    check_count("monitors", r.monitors.len(), 0, MAX_ROSTER_MEMBERS)?;
    check_count("observers", r.observers.len(), 0, MAX_ROSTER_MEMBERS)?;
    for p in &r.participants {
        check_participant(p)?;
    }
    for m in &r.monitors {
        check_id("monitor id", &m.id)?;
        check_text("monitor name", &m.name, MAX_NAME)?;
        check_count("monitor scope", m.scope.len(), 0, MAX_ROSTER_MEMBERS)?;
        for c in &m.scope {
            check_code("monitor scope", c)?;
        }
        check_node_infos(&m.nodes)?;
    }
    check_node_infos(&r.observers)
}

/// The bounds of a decoded entry, in the order `docs/PROTOCOL.md` lists
/// them: network id, `seq` of at least 1, its context, and its body's
/// fields. A countersigned record is only measured here; its own bounds are
/// [`check_record`]'s, when it is decoded.
pub fn check_entry(e: &Entry) -> Result<(), Refusal> {
    check_id("network", &e.network)?;
    if e.seq == 0 {
        return Err(Refusal::new(codes::R3_BAD_SEQ, "sequence numbers start at 1"));
    }
    check_count("context", e.context.len(), 0, MAX_CONTEXT)?;
    if !e.context.windows(2).all(|w| w[0] < w[1]) {
        return Err(Refusal::new(codes::R9_BAD_CONTEXT, "context entries must be in ascending order without repeats"));
    }
    match &e.body {
        Body::RegisterLicensee(r) => {
            check_text("licensee name", &r.name, MAX_NAME)?;
            check_count("roles", r.roles.len(), 1, Role::ALL.len())
        }
        Body::RevokeLicensee(r) => check_text("reason", &r.reason, MAX_NOTE),
        // The record's own bounds are checked when it is decoded.
        Body::Countersigned(c) => {
            if c.record.0.len() > MAX_RECORD_BYTES {
                return Err(Refusal::new(codes::R9_TOO_LARGE, "countersigned record is too large"));
            }
            Ok(())
        }
        Body::ImportConfirmation(c) => {
            check_code("exporter", &c.exporter)?;
            check_id("certificate", &c.certificate)?;
            check_weight("received weight", c.weight)?;
            if c.parcels > MAX_PARCELS {
                return Err(Refusal::new(codes::R9_TOO_MANY, "too many parcels"));
            }
            check_id("lot", &c.lot)?;
            check_date("date", &c.date)
        }
        Body::ZoneStatus(z) => {
            check_code("participant", &z.participant)?;
            check_id("zone", &z.zone)?;
            check_text("zone name", &z.name, MAX_NAME)?;
            check_date("effective date", &z.effective)
        }
        Body::ZoneEstimate(z) => {
            check_code("participant", &z.participant)?;
            check_id("zone", &z.zone)?;
            if !(1000..=9999).contains(&z.year) {
                return Err(Refusal::new(codes::R9_BAD_DATE, format!("year {} is not a four-digit year", z.year)));
            }
            check_weight("estimated weight", z.weight)?;
            check_text("note", &z.note, MAX_NOTE)
        }
        Body::Attestation(a) => {
            check_subject(&a.subject)?;
            check_text("note", &a.note, MAX_NOTE)
        }
        Body::Governance(g) => match g {
            Governance::AdmitParticipant(p) => check_participant(p),
            Governance::SuspendParticipant { code, reason, from } => {
                check_code("participant", code)?;
                check_position(*from)?;
                check_text("reason", reason, MAX_NOTE)
            }
            Governance::ReinstateParticipant { code, from } => {
                check_code("participant", code)?;
                check_position(*from)
            }
            Governance::ChairHandover { .. } | Governance::RotateKey { .. } => Ok(()),
            Governance::AdmitConditionally { participant, conditions } => {
                check_participant(participant)?;
                check_count("conditions", conditions.len(), 1, MAX_CONDITIONS)?;
                conditions.iter().try_for_each(|c| check_text("condition", c, MAX_NOTE))
            }
            Governance::LiftConditions { code, note } => {
                check_code("participant", code)?;
                check_text("note", note, MAX_NOTE)
            }
            Governance::SetNodes { holder, nodes } => {
                check_id("holder", holder)?;
                check_node_infos(nodes)
            }
        },
    }
}

fn check_position(from: u64) -> Result<(), Refusal> {
    if from == 0 {
        return Err(Refusal::new(codes::R9_BAD_POSITION, "log positions start at 1"));
    }
    Ok(())
}

fn check_subject(s: &Subject) -> Result<(), Refusal> {
    match s {
        Subject::Lot { participant, lot } => {
            check_code("participant", participant)?;
            check_id("lot", lot)
        }
        Subject::Certificate { number } => check_id("certificate", number),
    }
}

/// The bounds of a decoded licensee record: its network id and its body's
/// fields (lots, weights, dates, HS lines, parcels).
pub fn check_record(r: &Record) -> Result<(), Refusal> {
    check_id("network", &r.network)?;
    match &r.body {
        RecordBody::Production(p) => {
            check_id("lot", &p.lot)?;
            check_text("site", &p.site, MAX_NAME)?;
            if let Some(z) = &p.zone {
                check_id("zone", &z.zone)?;
            }
            check_weight("production weight", p.weight)?;
            if p.stones > MAX_STONES {
                return Err(Refusal::new(codes::R9_TOO_MANY, "stone count is over the limit"));
            }
            if p.value_cents.is_some_and(|v| v > MAX_VALUE_CENTS) {
                return Err(Refusal::new(codes::R9_TOO_LARGE, "production value is over the limit"));
            }
            check_date("production date", &p.date)
        }
        RecordBody::Transfer(t) => {
            check_takes("transfer inputs", &t.inputs)?;
            check_count("transfer outputs", t.outputs.len(), 1, MAX_OUTPUTS)?;
            for o in &t.outputs {
                check_id("output lot", &o.lot)?;
                check_weight("output weight", o.weight)?;
            }
            check_date("transfer date", &t.date)
        }
        RecordBody::Export(x) => {
            check_id("certificate", &x.certificate)?;
            check_code("importer", &x.importer)?;
            check_text("consignee", &x.consignee, MAX_NAME)?;
            check_takes("export inputs", &x.inputs)?;
            check_count("HS lines", x.lines.len(), 1, MAX_HS_LINES)?;
            for l in &x.lines {
                check_id("HS code", &l.code)?;
                check_weight("HS line weight", l.weight)?;
                if l.value_cents > MAX_VALUE_CENTS {
                    return Err(Refusal::new(codes::R9_TOO_LARGE, "HS line value is over the limit"));
                }
            }
            if x.parcels == 0 || x.parcels > MAX_PARCELS {
                return Err(Refusal::new(codes::R9_BAD_PARCELS, format!("parcels must be 1..={MAX_PARCELS}")));
            }
            check_date("issue date", &x.issued)?;
            check_date("expiry date", &x.expires)
        }
        RecordBody::LabResult(l) => {
            check_id("lot", &l.lot)?;
            check_text("note", &l.note, MAX_NOTE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_text() {
        assert!(check_id("lot", "CF/BER/2017/00042").is_ok());
        assert_eq!(check_id("lot", "").unwrap_err().code, codes::R9_EMPTY);
        assert_eq!(check_id("lot", "a b").unwrap_err().code, codes::R9_BAD_ID);
        assert_eq!(check_id("lot", &"x".repeat(MAX_ID + 1)).unwrap_err().code, codes::R9_TOO_LONG);
        assert_eq!(check_text("name", "a\nb", 10).unwrap_err().code, codes::R9_BAD_TEXT);
        assert!(check_text("name", "Société Minière", MAX_NAME).is_ok());
    }
}
