//! Statistics as tables for people, and as CSV laid out like the public KP
//! statistics tables: one row per participant, carats, US dollars and US
//! dollars per carat of production, exports and imports.

use kp_schemas::stats::render::{ct, usd};
use kp_schemas::stats::{AnomalyAnswer, Figure, MirrorAnswer, Report, StatsAnswer};
use std::fmt::Write;

fn carats(w: u64) -> String {
    format!("{}.{:02}", w / 100, w % 100)
}

fn dollars(c: u64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

fn per_ct(f: &Figure) -> String {
    f.usd_per_carat_cents.map(dollars).unwrap_or_default()
}

fn pct(bp: u64) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

fn csv_text(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("CSV to memory");
    for r in rows {
        w.write_record(&r).expect("CSV to memory");
    }
    String::from_utf8(w.into_inner().expect("CSV to memory")).expect("CSV of UTF-8 fields")
}

/// `kp stats`: a table of every participant, then the network, then gaps.
pub fn stats_text(s: &StatsAnswer) -> String {
    let mut out = format!("KP statistics {} ({} to {})", s.period.label, s.period.from, s.period.to);
    if let Some(p) = &s.partner {
        let _ = write!(out, ", trade with {p}");
    }
    if let Some(h) = &s.hs {
        let _ = write!(out, ", HS {h}");
    }
    out.push_str("\n\n");
    let _ = writeln!(
        out,
        "{:<5} {:>14} {:>16} {:>12} {:>14} {:>16} {:>12} {:>6} {:>14} {:>16} {:>6}",
        "",
        "production ct",
        "production USD",
        "USD/ct",
        "exports ct",
        "exports USD",
        "USD/ct",
        "certs",
        "imports ct",
        "imports USD",
        "certs"
    );
    let row = |out: &mut String, who: &str, p: &Figure, e: &Figure, i: &Figure| {
        let _ = writeln!(
            out,
            "{:<5} {:>14} {:>16} {:>12} {:>14} {:>16} {:>12} {:>6} {:>14} {:>16} {:>6}",
            who,
            carats(p.weight),
            dollars(p.value_cents),
            per_ct(p),
            carats(e.weight),
            dollars(e.value_cents),
            per_ct(e),
            e.count,
            carats(i.weight),
            dollars(i.value_cents),
            i.count
        );
    };
    for p in &s.participants {
        row(&mut out, &p.participant, &p.production, &p.exports.total, &p.imports.total);
    }
    row(&mut out, "all", &s.network.production, &s.network.exports, &s.network.imports);
    for p in s.participants.iter().filter(|p| !p.production_by_zone.is_empty()) {
        let zones: Vec<String> =
            p.production_by_zone.iter().map(|z| format!("{} {}", z.key, ct(z.figure.weight))).collect();
        let _ = writeln!(out, "\n{} production by zone: {}", p.participant, zones.join(", "));
    }
    if !s.completeness.is_empty() {
        out.push_str("\nCompleteness:\n");
        for g in &s.completeness {
            let _ = writeln!(out, "  {} {}: {}", g.participant, g.kind, g.message);
        }
    }
    out
}

/// `kp stats --csv`: the public KP statistics table's layout, one row per
/// participant and a last row for the network.
pub fn stats_csv(s: &StatsAnswer) -> String {
    let header = [
        "Period",
        "Participant",
        "Production (carats)",
        "Production (US$)",
        "Production (US$/carat)",
        "Exports (carats)",
        "Exports (US$)",
        "Exports (US$/carat)",
        "Export certificates",
        "Imports (carats)",
        "Imports (US$)",
        "Imports (US$/carat)",
        "Import certificates",
        "Share of production (%)",
        "Share of exports (%)",
        "Share of imports (%)",
    ];
    let row = |who: &str, p: &Figure, e: &Figure, i: &Figure, shares: [String; 3]| {
        let mut r = vec![
            s.period.label.clone(),
            who.to_string(),
            carats(p.weight),
            dollars(p.value_cents),
            per_ct(p),
            carats(e.weight),
            dollars(e.value_cents),
            per_ct(e),
            e.count.to_string(),
            carats(i.weight),
            dollars(i.value_cents),
            per_ct(i),
            i.count.to_string(),
        ];
        r.extend(shares);
        r
    };
    let mut rows: Vec<Vec<String>> = s
        .participants
        .iter()
        .map(|p| {
            let sh = [pct(p.shares.production_bp), pct(p.shares.exports_bp), pct(p.shares.imports_bp)];
            row(&p.participant, &p.production, &p.exports.total, &p.imports.total, sh)
        })
        .collect();
    let all = [pct(10_000), pct(10_000), pct(10_000)];
    rows.push(row("Total", &s.network.production, &s.network.exports, &s.network.imports, all));
    csv_text(&header, rows)
}

/// `kp mirror`: one block per pair.
pub fn mirror_text(m: &MirrorAnswer) -> String {
    let mut out = format!("Mirror statistics {} ({} to {})\n", m.period.label, m.period.from, m.period.to);
    if m.pairs.is_empty() {
        out.push_str("no certificate issued or confirmed in the period\n");
    }
    for p in &m.pairs {
        let _ = writeln!(
            out,
            "\n{} -> {}: certified {} ({}, {} certificates), confirmed {} ({}, {}), gap {}{}",
            p.exporter,
            p.importer,
            ct(p.exported.weight),
            usd(p.exported.value_cents),
            p.exported.count,
            ct(p.confirmed.weight),
            usd(p.confirmed.value_cents),
            p.confirmed.count,
            if p.gap_weight < 0 { "-" } else { "" },
            ct(p.gap_weight.unsigned_abs())
        );
        for (what, v) in
            [("unconfirmed", &p.unconfirmed), ("confirmed late", &p.confirmed_late), ("mismatched", &p.mismatched)]
        {
            for c in v.iter() {
                let got = c.received.map(|w| format!(", received {}", ct(w))).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {what}: {} issued {} expires {}, {}{got}",
                    c.number,
                    c.issued,
                    c.expires,
                    ct(c.weight)
                );
            }
        }
    }
    out
}

/// `kp mirror --csv`: one row per pair.
pub fn mirror_csv(m: &MirrorAnswer) -> String {
    let header = [
        "Period",
        "Exporter",
        "Importer",
        "Exported (carats)",
        "Exported (US$)",
        "Export certificates",
        "Confirmed (carats)",
        "Confirmed (US$)",
        "Confirmations",
        "Gap (carats)",
        "Gap (US$)",
        "Unconfirmed",
        "Confirmed late",
        "Mismatched",
    ];
    let signed = |v: i64, f: fn(u64) -> String| format!("{}{}", if v < 0 { "-" } else { "" }, f(v.unsigned_abs()));
    let numbers = |v: &[kp_schemas::stats::CertLine]| v.iter().map(|c| c.number.as_str()).collect::<Vec<_>>().join(" ");
    let rows = m
        .pairs
        .iter()
        .map(|p| {
            vec![
                m.period.label.clone(),
                p.exporter.clone(),
                p.importer.clone(),
                carats(p.exported.weight),
                dollars(p.exported.value_cents),
                p.exported.count.to_string(),
                carats(p.confirmed.weight),
                dollars(p.confirmed.value_cents),
                p.confirmed.count.to_string(),
                signed(p.gap_weight, carats),
                signed(p.gap_value_cents, dollars),
                numbers(&p.unconfirmed),
                numbers(&p.confirmed_late),
                numbers(&p.mismatched),
            ]
        })
        .collect();
    csv_text(&header, rows)
}

/// `kp anomalies`: one line per finding, with the entries that show it.
pub fn anomalies_text(a: &AnomalyAnswer) -> String {
    let mut out = format!(
        "Anomalies {} ({} to {}), as of {}: {} found\n",
        a.period.label,
        a.period.from,
        a.period.to,
        a.params.as_of,
        a.anomalies.len()
    );
    for x in &a.anomalies {
        let rule = x.rule.as_deref().map(|r| format!(" {r}")).unwrap_or_default();
        let _ = writeln!(out, "\n[{:?}]{rule} {}\n  {}", x.severity, x.id, x.message);
        for e in &x.entries {
            let _ = writeln!(out, "  entry {e}");
        }
    }
    out
}

/// `kp anomalies --csv`.
pub fn anomalies_csv(a: &AnomalyAnswer) -> String {
    let header = ["Check", "Id", "Severity", "Rule", "Participant", "Partner", "Message", "Entries"];
    let rows = a
        .anomalies
        .iter()
        .map(|x| {
            vec![
                x.check.clone(),
                x.id.clone(),
                format!("{:?}", x.severity).to_lowercase(),
                x.rule.clone().unwrap_or_default(),
                x.participant.clone(),
                x.partner.clone().unwrap_or_default(),
                x.message.clone(),
                x.entries.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" "),
            ]
        })
        .collect();
    csv_text(&header, rows)
}

/// `kp report --csv`: the report's periods as rows of the statistics table.
pub fn report_csv(r: &Report) -> String {
    let header = [
        "Participant",
        "Period",
        "Production (carats)",
        "Production (US$)",
        "Exports (carats)",
        "Exports (US$)",
        "Exports (US$/carat)",
        "Export certificates",
        "Imports (carats)",
        "Imports (US$)",
        "Import certificates",
    ];
    let rows = std::iter::once(&r.current)
        .chain(r.previous.iter())
        .map(|t| {
            vec![
                r.participant.clone(),
                t.period.label.clone(),
                carats(t.production.weight),
                dollars(t.production.value_cents),
                carats(t.exports.weight),
                dollars(t.exports.value_cents),
                per_ct(&t.exports),
                t.exports.count.to_string(),
                carats(t.imports.weight),
                dollars(t.imports.value_cents),
                t.imports.count.to_string(),
            ]
        })
        .collect();
    csv_text(&header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_fields_that_need_it() {
        let t = csv_text(&["a", "b"], vec![vec!["x, y".into(), "plain".into()]]);
        assert_eq!(t, "a,b\n\"x, y\",plain\n");
    }
}
