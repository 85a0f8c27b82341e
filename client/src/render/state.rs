//! State the node derives from the logs: a lot (`kp lot show`), a
//! certificate (`kp cert show`), a licensee (`kp licensee show`), zone
//! statuses (`kp zones`).

use super::{fmt_usd, nature_name, takes};
use kp_schemas::api::LotView;
use kp_schemas::rules::fmt_ct;
use kp_schemas::state::{CertState, LicenseeState, LotOrigin, ZoneRecord};
use std::fmt::Write;

/// A lot (`kp lot show`): holder, weights, nature, compliance, origin and
/// zone marks.
pub fn lot_text(v: &LotView) -> String {
    let l = &v.lot;
    let mut out = String::new();
    let _ = writeln!(out, "lot        {} of {}", l.lot, l.participant);
    let holder = match &v.holder_name {
        Some(name) => format!("{name} ({})", l.holder),
        None => l.holder.to_hex(),
    };
    let _ = writeln!(out, "holder     {holder}");
    let _ = writeln!(out, "weight     {}, {} left", fmt_ct(l.weight), fmt_ct(l.remaining));
    let _ = writeln!(out, "nature     {}", nature_name(l.nature));
    let compliant = if l.compliant { "yes" } else { "NO: weight from a zone that was not compliant (R6)" };
    let _ = writeln!(out, "compliant  {compliant}");
    let _ = writeln!(out, "created    {} by entry {}", l.date, l.created_by);
    let origin = match &l.origin {
        LotOrigin::Production { site, zone, zone_status, stones, value_cents } => {
            let mut s = format!("production at {site}, {stones} stones");
            if let Some(v) = value_cents {
                let _ = write!(s, ", declared {}", crate::render::fmt_usd(*v));
            }
            if let Some(z) = zone {
                let _ = write!(s, ", zone {z}");
            }
            match zone_status {
                Some(h) => {
                    let _ = write!(s, " (status entry {h})");
                }
                None if zone.is_some() => s.push_str(" (no zone-status entry)"),
                None => {}
            }
            s
        }
        LotOrigin::Transfer { inputs } => format!("transfer from {}", takes(inputs)),
        LotOrigin::Import { certificate } => format!("import under certificate {certificate}"),
    };
    let _ = writeln!(out, "origin     {origin}");
    out
}

/// A certificate (`kp cert show`): parties, shipment, HS lines, inputs and
/// its confirmation, if any.
pub fn cert_text(c: &CertState) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "certificate  {}", c.number);
    let _ = writeln!(out, "exporter     {} (licensee {})", c.exporter, c.exporter_licensee);
    let _ = writeln!(out, "importer     {}, consignee {}", c.importer, c.consignee);
    let _ = writeln!(out, "issued       {}, expires {}", c.issued, c.expires);
    let _ = writeln!(
        out,
        "shipment     {}, {}, {} parcels, {}",
        fmt_ct(c.weight),
        fmt_usd(c.value_cents),
        c.parcels,
        nature_name(c.nature)
    );
    let _ = writeln!(out, "inputs       {}", takes(&c.inputs));
    for (i, l) in c.lines.iter().enumerate() {
        let head = if i == 0 { "HS lines" } else { "" };
        let _ = writeln!(out, "{head:<12} {}  {}  {}", l.code, fmt_ct(l.weight), fmt_usd(l.value_cents));
    }
    let _ = writeln!(out, "entry        {}", c.entry);
    match &c.confirmation {
        None => {
            let _ = writeln!(out, "confirmed    not yet");
        }
        Some(k) => {
            let mismatch = if k.mismatch { "  MISMATCH (R7)" } else { "" };
            let _ = writeln!(
                out,
                "confirmed    {} as lot {}: {} in {} parcels, entry {}{mismatch}",
                k.date,
                k.lot,
                fmt_ct(k.weight),
                k.parcels,
                k.entry
            );
        }
    }
    out
}

/// A licensee (`kp licensee show`).
pub fn licensee_text(l: &LicenseeState) -> String {
    let roles: Vec<_> = l.roles.iter().map(|r| r.as_str()).collect();
    let mut out = String::new();
    let _ = writeln!(out, "licensee     {}", l.name);
    let _ = writeln!(out, "key          {}", l.key);
    let _ = writeln!(out, "participant  {}", l.participant);
    let _ = writeln!(out, "roles        {}", roles.join(", "));
    let _ = writeln!(out, "active       {}", if l.active { "yes" } else { "no (revoked)" });
    let _ = writeln!(out, "registered   by entry {}", l.registered_by);
    out
}

/// Zone statuses (`kp zones`) as a table, one row per status entry.
pub fn zones_text(zones: &[ZoneRecord]) -> String {
    if zones.is_empty() {
        return "no zone-status entries\n".into();
    }
    let width = zones.iter().map(|z| z.status.name.chars().count()).max().unwrap_or(4).max(4);
    let zw = zones.iter().map(|z| z.status.zone.len()).max().unwrap_or(4).max(4);
    let mut out =
        format!("{:<4} {:<zw$}  {:<width$}  {:<9}  {:<10}  ENTRY\n", "PART", "ZONE", "NAME", "STATUS", "EFFECTIVE");
    for z in zones {
        let s = &z.status;
        let status = s.status.as_str();
        let _ = writeln!(
            out,
            "{:<4} {:<zw$}  {:<width$}  {status:<9}  {:<10}  {}",
            s.participant, s.zone, s.name, s.effective, z.entry
        );
    }
    out
}

/// The check of a paper certificate (`kp cert check`): the verdict in
/// capitals with its stable name, then each field that differs.
pub fn cert_check_text(c: &kp_schemas::check::CertCheck) -> String {
    let mut out = String::new();
    let label = c.result.as_str().replace('_', " ").to_uppercase();
    let _ = writeln!(out, "{label} ({}): {}", c.result.as_str(), c.message);
    for d in &c.differences {
        let _ = writeln!(out, "  {:<9} paper says {}, the ledger holds {}", d.field, d.paper, d.ledger);
    }
    if !c.matching.is_empty() {
        let _ = writeln!(out, "  matching: {}", c.matching.join(", "));
    }
    for a in &c.forged_reports {
        let _ = writeln!(out, "  reported forged in entry {}: {}", a.entry, a.note);
    }
    out
}

#[cfg(test)]
mod check_tests {
    use super::*;
    use kp_schemas::check::{CertCheck, CheckResult, FieldDifference};

    #[test]
    fn a_check_names_the_fields_that_differ() {
        let c = CertCheck {
            number: "CF-000001".into(),
            result: CheckResult::DetailsDiffer,
            message: "certificate CF-000001 exists, but the paper differs in: carats".into(),
            differences: vec![FieldDifference {
                field: "carats".into(),
                paper: "1200".into(),
                ledger: "1000.00 ct".into(),
            }],
            matching: vec!["exporter".into()],
            today: "2026-01-01".into(),
            certificate: None,
            forged_reports: vec![],
        };
        let text = cert_check_text(&c);
        assert!(text.starts_with("DETAILS DIFFER (details_differ)"), "{text}");
        assert!(text.contains("carats    paper says 1200, the ledger holds 1000.00 ct"), "{text}");
        assert!(text.contains("matching: exporter"));
    }
}
