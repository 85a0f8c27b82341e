//! Entries: what a write was accepted as, a page of a log (`kp log`), one
//! entry (`kp entry`), and one-line summaries of entry bodies and licensee
//! records.

use super::{fmt_timestamp_ms, fmt_usd, nature_name, short, takes};
use kp_schemas::api::{EntryView, LogPage, Submitted};
use kp_schemas::model::{AttestationKind, Body, Cents, Governance, Record, RecordBody, Weight};
use kp_schemas::rules::fmt_ct;
use std::fmt::Write;

/// What a write was accepted as.
pub fn submitted_text(s: &Submitted) -> String {
    let mut out = if s.duplicate {
        format!("already in the ledger: entry {} (#{} in the log of {})\n", s.hash, s.seq, s.author_name)
    } else {
        format!("accepted: entry {} (#{} in the log of {})\n", s.hash, s.seq, s.author_name)
    };
    for f in &s.flags {
        let _ = writeln!(out, "flag: {f}");
    }
    out
}

/// One line about a licensee's record.
pub fn record_summary(r: &Record) -> String {
    let who = short(&r.licensee);
    match &r.body {
        RecordBody::Production(p) => {
            let zone = match &p.zone {
                Some(z) => format!(", zone {}", z.zone),
                None => String::new(),
            };
            format!(
                "production of lot {} by {who}: {}, {} stones, site {}{zone}, {}, {}",
                p.lot,
                fmt_ct(p.weight),
                p.stones,
                p.site,
                p.date,
                nature_name(p.nature)
            )
        }
        RecordBody::Transfer(t) => {
            let outs: Vec<_> =
                t.outputs.iter().map(|o| format!("{} {} to {}", o.lot, fmt_ct(o.weight), short(&o.holder))).collect();
            format!("transfer by {who} on {}: {} -> {}", t.date, takes(&t.inputs), outs.join(", "))
        }
        RecordBody::Export(x) => {
            let weight: Weight = x.lines.iter().map(|l| l.weight).sum();
            let value: Cents = x.lines.iter().map(|l| l.value_cents).sum();
            format!(
                "export under certificate {} by {who} to {} ({}): {}, {}, {} parcels, issued {}, expires {}",
                x.certificate,
                x.importer,
                x.consignee,
                fmt_ct(weight),
                fmt_usd(value),
                x.parcels,
                x.issued,
                x.expires
            )
        }
        RecordBody::LabResult(l) => {
            format!("laboratory {who} found lot {} {} (report {})", l.lot, nature_name(l.finding), l.report_hash)
        }
    }
}

fn attestation_kind(k: &AttestationKind) -> &'static str {
    match k {
        AttestationKind::ForgedCertificate => "forged-certificate report",
        AttestationKind::Seizure => "seizure",
        AttestationKind::Hold => "hold",
        AttestationKind::Release => "release",
        AttestationKind::Note => "note",
    }
}

/// One line about an entry's body; `record` is the decoded licensee record
/// of a countersigned entry, where the node sent it.
pub fn body_summary(body: &Body, record: Option<&Record>) -> String {
    match body {
        Body::RegisterLicensee(r) => {
            let roles: Vec<_> = r.roles.iter().map(|r| r.as_str()).collect();
            format!("register licensee {} ({}) as {}", r.name, r.licensee, roles.join(", "))
        }
        Body::RevokeLicensee(r) => format!("revoke licensee {}: {}", r.licensee, r.reason),
        Body::Countersigned(_) => match record {
            Some(r) => record_summary(r),
            None => "countersigned licensee record".into(),
        },
        Body::ImportConfirmation(c) => format!(
            "import confirmation of certificate {} from {}: {} in {} parcels, as lot {} held by {}, {}",
            c.certificate,
            c.exporter,
            fmt_ct(c.weight),
            c.parcels,
            c.lot,
            short(&c.holder),
            c.date
        ),
        Body::ZoneStatus(z) => {
            format!("zone {} ({}) of {} {} from {}", z.zone, z.name, z.participant, z.status.as_str(), z.effective)
        }
        Body::Attestation(a) => {
            format!("{} about {}: {}", attestation_kind(&a.kind), a.subject, a.note)
        }
        Body::ZoneEstimate(z) => {
            format!("zone {} of {} estimated at {} for {}: {}", z.zone, z.participant, fmt_ct(z.weight), z.year, z.note)
        }
        Body::Governance(g) => match g {
            Governance::AdmitParticipant(p) => format!("admit participant {} ({})", p.code, p.name),
            Governance::SuspendParticipant { code, reason, from } => {
                format!("suspend participant {code} from entry {from} of its log: {reason}")
            }
            Governance::ReinstateParticipant { code, from } => {
                format!("reinstate participant {code} from entry {from} of its log")
            }
            Governance::ChairHandover { new_chair } => {
                format!("hand the chair over to {new_chair}")
            }
            Governance::AdmitConditionally { participant: p, conditions } => {
                format!("admit participant {} ({}) under conditions: {}", p.code, p.name, conditions.join("; "))
            }
            Governance::LiftConditions { code, note } => format!("lift the conditions of {code}: {note}"),
            Governance::SetNodes { holder, nodes } => {
                let ids: Vec<&str> = nodes.iter().map(|n| n.peer_id.as_str()).collect();
                format!("nodes of {holder}: {}", if ids.is_empty() { "none".into() } else { ids.join(", ") })
            }
            Governance::RotateKey { holder, new_key, last, statement } => format!(
                "{} key rotation of {holder} to {new_key}; the old key's log ends at entry {last}",
                if statement.is_some() { "planned" } else { "forced" }
            ),
        },
    }
}

/// A page of a log (`kp log`): one line per entry, then the command for the
/// next page if there is one.
pub fn log_page_text(p: &LogPage) -> String {
    let mut out = String::new();
    if p.entries.is_empty() {
        out.push_str("no entries\n");
    }
    for e in &p.entries {
        let _ = writeln!(
            out,
            "#{:<6} {}  {}  {}",
            e.seq,
            e.hash,
            fmt_timestamp_ms(e.timestamp_ms),
            body_summary(&e.body, e.record.as_ref())
        );
    }
    if let Some(next) = p.next {
        let _ = writeln!(out, "more: kp log {} --from {next}", p.author);
    }
    out
}

/// One entry (`kp entry`): id, log and position, previous id, time, a
/// summary, then the body (or a countersigned entry's record) as JSON.
pub fn entry_text(e: &EntryView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "entry   {}", e.hash);
    let _ = writeln!(out, "log     {} ({}), #{}", e.author_name, e.author, e.seq);
    let _ = writeln!(out, "prev    {}", e.prev);
    let _ = writeln!(out, "time    {}", fmt_timestamp_ms(e.timestamp_ms));
    let _ = writeln!(out, "what    {}", body_summary(&e.body, e.record.as_ref()));
    let detail = match (&e.body, &e.record) {
        (Body::Countersigned(_), Some(r)) => serde_json::to_string_pretty(r),
        (body, _) => serde_json::to_string_pretty(body),
    }
    .expect("bodies always serialize");
    out.push('\n');
    out.push_str(&detail);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::{Hash32, PublicKey};

    fn key(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    #[test]
    fn submissions_show_hash_seq_and_flags() {
        let s = Submitted {
            hash: Hash32([0xab; 32]),
            author: key(1),
            author_name: "EU authority".into(),
            seq: 7,
            duplicate: false,
            flags: vec!["R7: received 9.00 ct".into()],
        };
        let text = submitted_text(&s);
        assert!(text.starts_with(&format!("accepted: entry {} (#7 in the log of EU authority)\n", "ab".repeat(32))));
        assert!(text.contains("flag: R7: received 9.00 ct\n"));
    }
}
