//! A country analysis report as text and as Markdown: the same content as
//! its JSON, for people.

use super::answer::*;
use std::fmt::Write;

/// Hundredths of a carat as `1234.56 ct`.
pub use crate::rules::fmt_ct as ct;

/// US cents as `USD 1234.56`.
pub use crate::rules::fmt_usd as usd;

fn per_ct(c: Option<u64>) -> String {
    c.map_or("-".into(), |c| format!("{}/ct", usd(c)))
}

fn pct(bp: Option<i64>) -> String {
    match bp {
        None => "-".into(),
        Some(b) => {
            format!("{}{}.{:02} %", if b < 0 { "-" } else { "+" }, b.unsigned_abs() / 100, b.unsigned_abs() % 100)
        }
    }
}

fn share(bp: u64) -> String {
    format!("{}.{:02} %", bp / 100, bp % 100)
}

fn fig(f: &Figure) -> String {
    format!("{}, {}, {} record(s), {}", ct(f.weight), usd(f.value_cents), f.count, per_ct(f.usd_per_carat_cents))
}

/// Rows of the report, shared by both layouts: (section, lines).
fn sections(r: &Report) -> Vec<(String, Vec<String>)> {
    let mut s = Vec::new();
    let c = &r.current;
    s.push((
        "Totals".to_string(),
        vec![
            format!("Production: {}", fig(&c.production)),
            format!("Exports: {}", fig(&c.exports)),
            format!("Imports: {}", fig(&c.imports)),
            format!(
                "Shares of the network: production {}, exports {}, imports {}",
                share(r.shares.production_bp),
                share(r.shares.exports_bp),
                share(r.shares.imports_bp)
            ),
        ],
    ));
    let mut prev = vec![format!(
        "Change against the period before: production {}, exports {}, imports {}",
        pct(r.change.production_bp),
        pct(r.change.exports_bp),
        pct(r.change.imports_bp)
    )];
    for p in &r.previous {
        prev.push(format!(
            "{}: production {}, exports {}, imports {}",
            p.period.label,
            ct(p.production.weight),
            ct(p.exports.weight),
            ct(p.imports.weight)
        ));
    }
    s.push(("Previous periods".into(), prev));
    s.push((
        "US dollars per carat".into(),
        vec![
            format!("Exports: {} (network {})", per_ct(r.prices.exports), per_ct(r.prices.network_exports)),
            format!("Production: {} (network {})", per_ct(r.prices.production), per_ct(r.prices.network_production)),
        ],
    ));
    let keyed = |v: &[Keyed]| -> Vec<String> {
        if v.is_empty() {
            return vec!["none".into()];
        }
        v.iter().map(|k| format!("{}: {}", k.key, fig(&k.figure))).collect()
    };
    if !r.production_by_zone.is_empty() {
        s.push(("Production by zone".into(), keyed(&r.production_by_zone)));
    }
    s.push(("Main export destinations".into(), keyed(&r.main_export_partners)));
    s.push(("Main import origins".into(), keyed(&r.main_import_partners)));
    let mut mirror: Vec<String> = r
        .mirror
        .iter()
        .map(|m| {
            let mut line = format!(
                "{} -> {}: certified {}, confirmed {}, gap {}{}",
                m.exporter,
                m.importer,
                ct(m.exported.weight),
                ct(m.confirmed.weight),
                if m.gap_weight < 0 { "-" } else { "" },
                ct(m.gap_weight.unsigned_abs())
            );
            for (what, v) in
                [("unconfirmed", &m.unconfirmed), ("confirmed late", &m.confirmed_late), ("mismatched", &m.mismatched)]
            {
                if !v.is_empty() {
                    let n: Vec<&str> = v.iter().map(|c| c.number.as_str()).collect();
                    let _ = write!(line, "; {what}: {}", n.join(", "));
                }
            }
            line
        })
        .collect();
    if mirror.is_empty() {
        mirror.push("none".into());
    }
    s.push(("Mirror statistics".into(), mirror));
    let mut an: Vec<String> =
        r.anomalies.iter().map(|a| format!("[{:?}] {} {}: {}", a.severity, a.check, a.id, a.message)).collect();
    if an.is_empty() {
        an.push("none".into());
    }
    s.push(("Anomalies".into(), an));
    let mut gaps: Vec<String> = r.completeness.iter().map(|g| g.message.clone()).collect();
    if gaps.is_empty() {
        gaps.push("none".into());
    }
    s.push(("Completeness".into(), gaps));
    s
}

/// The report as plain text.
pub fn text(r: &Report) -> String {
    let mut out = format!("Country analysis report: {} ({}), {}\n", r.name, r.participant, r.current.period.label);
    let _ = writeln!(out, "Period {} to {}", r.current.period.from, r.current.period.to);
    for (title, lines) in sections(r) {
        let _ = writeln!(out, "\n{title}");
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
    out
}

/// The report as Markdown.
pub fn markdown(r: &Report) -> String {
    let mut out = format!("# Country analysis report: {} ({}), {}\n\n", r.name, r.participant, r.current.period.label);
    let _ = writeln!(out, "Period {} to {}.", r.current.period.from, r.current.period.to);
    for (title, lines) in sections(r) {
        let _ = writeln!(out, "\n## {title}\n");
        for l in lines {
            let _ = writeln!(out, "- {}", l.replace('|', "\\|"));
        }
    }
    out
}
