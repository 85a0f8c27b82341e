//! The verdicts of `kp verify`, offline: on a bundle against a roster, and
//! on one Merkle proof file.

use super::{plural, trail_text};
use crate::proof_file::Verdict;
use kp_schemas::bundle::Report;
use std::fmt::Write;

/// The verdict on a bundle for people: one line that says whether it holds,
/// then what vouches for it (each log's checkpoint and its witnesses), the
/// trail it proves, and every problem as `[code] message`.
pub fn bundle_report_text(r: &Report) -> String {
    let what = r.subject.as_ref().map_or_else(|| "the file".to_string(), ToString::to_string);
    let network = r.network.as_ref().map(|n| format!(" (network {n})")).unwrap_or_default();
    let mut out = if r.valid {
        // A valid bundle proves the trail as recorded; whether that trail is
        // compliant is a separate verdict, said on the same line so that a
        // reader of the first line alone does not take one for the other.
        let compliance = match &r.trail {
            Some(t) if t.compliance.compliant => "; trail COMPLIANT",
            Some(_) => "; trail NOT COMPLIANT",
            None => "",
        };
        let governance = match r.governance {
            0 => String::new(),
            n => format!(" and {}", plural(n, "governance entry", "governance entries")),
        };
        format!(
            "VALID: {what}{network}: {}{governance} in {}, each checkpoint cosigned by its log's quorum{compliance}\n",
            plural(r.entries, "entry", "entries"),
            plural(r.logs.len(), "log", "logs"),
        )
    } else {
        format!("INVALID: {what}{network}: {}\n", plural(r.problems.len(), "problem", "problems"))
    };
    // What the verdict rests on: the roster given, which nothing in the
    // bundle can vouch for. Compare with what the chair publishes.
    let _ = writeln!(out, "Checked against the roster {} signed by the chair key {}", r.roster_hash, r.chair);
    // The versions since are the bundle's own governance entries, replayed
    // from that roster: say which one the checkpoints were judged under.
    if let (Some(v), Some(h), 1..) = (r.roster_version, r.roster_version_hash, r.governance) {
        let by = plural(r.governance, "governance entry", "governance entries");
        let _ = writeln!(out, "and roster version {v} ({h}), made from it by the bundle's {by}");
    }
    if !r.logs.is_empty() {
        out.push_str("\nLogs:\n");
    }
    for l in &r.logs {
        let witnesses = if l.witnesses.is_empty() { "no one".to_string() } else { l.witnesses.join(", ") };
        let _ = writeln!(
            out,
            "  {}: {} in checkpoint of size {} (root {}…), witnessed by {witnesses} (quorum {})",
            l.name,
            plural(l.entries, "entry", "entries"),
            l.size,
            &l.root.to_hex()[..8],
            l.quorum
        );
    }
    if let Some(t) = &r.trail {
        out.push('\n');
        out.push_str(&trail_text(t));
    }
    if !r.problems.is_empty() {
        out.push_str("\nProblems:\n");
    }
    for p in &r.problems {
        let _ = writeln!(out, "  [{}] {}", p.code, p.message);
    }
    out
}

/// The verdict on a proof file for people, on one line.
pub fn proof_file_text(v: &Verdict) -> String {
    if v.valid {
        format!("valid {} proof: {}\n", v.kind, v.message)
    } else {
        format!("invalid {} proof: {}: {}\n", v.kind, v.code.unwrap_or_default(), v.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::trail::tests::{key, sample};
    use kp_schemas::Hash32;
    use kp_schemas::model::Subject;

    #[test]
    fn bundle_verdicts_lead_with_the_verdict() {
        use kp_schemas::bundle::{LogReport, Problem};
        let log = |name: &str, entries, witnesses: &[&str]| LogReport {
            log: key(3),
            name: name.into(),
            size: 12,
            root: Hash32([0xab; 32]),
            timestamp_ms: 0,
            witnesses: witnesses.iter().map(|w| w.to_string()).collect(),
            quorum: 2,
            entries,
        };
        let mut r = Report {
            valid: true,
            subject: Some(Subject::Certificate { number: "AE-1234".into() }),
            network: Some("kp".into()),
            roster_hash: Hash32([0x77; 32]),
            chair: key(9),
            roster_version: Some(1),
            roster_version_hash: Some(Hash32([0x77; 32])),
            quorum: 2,
            entries: 6,
            governance: 0,
            logs: vec![log("CF authority", 5, &["BW", "EU", "IN"]), log("MT-CF", 1, &["CF", "EU"])],
            problems: vec![],
            trail: Some(sample()),
        };
        let text = bundle_report_text(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "VALID: certificate AE-1234 (network kp): 6 entries in 2 logs, each checkpoint cosigned by its log's \
             quorum; trail NOT COMPLIANT"
        );
        assert_eq!(
            lines[1],
            format!("Checked against the roster {} signed by the chair key {}", "77".repeat(32), "09".repeat(32))
        );
        assert_eq!(
            lines[4],
            "  CF authority: 5 entries in checkpoint of size 12 (root abababab…), witnessed by BW, EU, IN (quorum 2)"
        );
        assert!(lines[5].starts_with("  MT-CF: 1 entry in checkpoint"));
        assert!(text.contains("\nTrail of lot EU/MIX/1 of EU\n"));
        assert!(text.contains("  CF     66.67 %"));
        assert!(text.contains("Compliance: NOT COMPLIANT\n  problem: R6: lot CF/BRI/1"));
        assert!(!text.contains("Problems:"));

        // Governance entries carried: the version they make is named.
        let mut later = r.clone();
        (later.governance, later.roster_version, later.roster_version_hash) = (2, Some(3), Some(Hash32([0x33; 32])));
        let text = bundle_report_text(&later);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains(": 6 entries and 2 governance entries in 2 logs, "), "{text}");
        assert_eq!(
            lines[2],
            format!("and roster version 3 ({}), made from it by the bundle's 2 governance entries", "33".repeat(32))
        );

        r.valid = false;
        r.trail = None;
        r.logs[1].witnesses.clear();
        r.problems = vec![Problem {
            code: "bundle.quorum".into(),
            message: "checkpoint of the MT-CF log at size 12 is cosigned by no participant, the quorum is 2".into(),
        }];
        let text = bundle_report_text(&r);
        assert!(text.starts_with("INVALID: certificate AE-1234 (network kp): 1 problem\n"), "{text}");
        assert!(text.contains("witnessed by no one (quorum 2)"));
        assert!(text.ends_with("\nProblems:\n  [bundle.quorum] checkpoint of the MT-CF log at size 12 is cosigned by no participant, the quorum is 2\n"));
        assert!(!text.contains("Trail of"));

        let unreadable = Report { subject: None, network: None, logs: vec![], ..r };
        assert!(bundle_report_text(&unreadable).starts_with("INVALID: the file: 1 problem\n"));
    }
}
