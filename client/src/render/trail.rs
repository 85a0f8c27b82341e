//! Trails: the tree from a lot or a certificate back to every production,
//! as indented text (`kp trail`), JSON, or Graphviz DOT (`kp trail --dot`).

use super::short;
use kp_schemas::model::Weight;
use kp_schemas::rules::fmt_ct;
use kp_schemas::trail::{NodeKind, Trail, TrailNode};
use std::collections::HashMap;
use std::fmt::Write;

/// Marks a node whose weight comes, at least in part, from a zone that was
/// not compliant (R6).
pub const NON_COMPLIANT_MARK: &str = "[NON-COMPLIANT]";
/// Stands in for the inputs of a node already listed higher in the tree.
pub const SEE_ABOVE: &str = "(see above)";

/// The kind of a trail node as the text and DOT outputs name it.
pub fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Production => "production",
        NodeKind::Transfer => "transfer",
        NodeKind::Import => "import",
        NodeKind::Export => "export",
    }
}

/// `held by X`, or `exported by X` for a certificate, whose "holder" is
/// the exporting licensee.
fn holder_label(n: &TrailNode) -> String {
    let who = match (&n.holder_name, &n.holder) {
        (Some(name), _) => name.clone(),
        (None, Some(key)) => short(key),
        (None, None) => "-".into(),
    };
    let verb = if n.kind == NodeKind::Export { "exported" } else { "held" };
    format!("{verb} by {who}")
}

/// One line of the tree, without the branch drawing.
pub fn node_line(n: &TrailNode) -> String {
    let mut s = format!("{} {} {}  {}", kind_name(n.kind), n.participant, n.id, fmt_ct(n.weight));
    if let Some(t) = n.taken {
        let _ = write!(s, ", took {}", fmt_ct(t));
    }
    let _ = write!(s, "  {}  {}", holder_label(n), n.date);
    if let Some(site) = &n.site {
        let _ = write!(s, "  site {site}");
    }
    if let Some(zone) = &n.zone {
        let _ = write!(s, "  zone {zone}");
        if let Some(name) = &n.zone_name {
            let _ = write!(s, " ({name})");
        }
    }
    if !n.compliant {
        let _ = write!(s, "  {NON_COMPLIANT_MARK}");
    }
    if n.repeated {
        let _ = write!(s, "  {SEE_ABOVE}");
    }
    s
}

fn tree(out: &mut String, n: &TrailNode, prefix: &str) {
    for (i, child) in n.inputs.iter().enumerate() {
        let last = i + 1 == n.inputs.len();
        let (branch, more) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
        let _ = writeln!(out, "{prefix}{branch}{}", node_line(child));
        tree(out, child, &format!("{prefix}{more}"));
    }
}

/// The trail for people: the tree from the subject back to every
/// production, then origin shares and compliance.
pub fn trail_text(t: &Trail) -> String {
    let mut out = format!("Trail of {}\n\n", t.subject);
    let _ = writeln!(out, "{}", node_line(&t.root));
    tree(&mut out, &t.root, "");
    let hops = if t.depth == 1 { "hop" } else { "hops" };
    let prods = if t.productions == 1 { "production" } else { "productions" };
    let _ = writeln!(
        out,
        "\nOrigin of {} ({} {prods}, at most {} {hops} back):",
        fmt_ct(t.root.weight),
        t.productions,
        t.depth
    );
    if t.origins.is_empty() {
        out.push_str("  (none recorded)\n");
    }
    for o in &t.origins {
        let ct = fmt_ct(o.weight.max(0.0).round() as Weight);
        let _ = writeln!(out, "  {:<4} {:>7.2} %  {ct:>14}", o.country, o.share * 100.0);
    }
    let verdict = if t.compliance.compliant { "COMPLIANT" } else { "NOT COMPLIANT" };
    let _ = writeln!(out, "\nCompliance: {verdict}");
    for p in &t.compliance.problems {
        let _ = writeln!(out, "  problem: {p}");
    }
    for n in &t.compliance.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    out
}

/// The trail for scripts (`kp trail --json`): the API's JSON, pretty.
pub fn trail_json(t: &Trail) -> String {
    serde_json::to_string_pretty(t).expect("a trail always serializes")
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT: one node per distinct (kind, participant, id), edges from
/// each input to the node that took from it, labelled with the weight taken,
/// so the picture reads in the direction the stones travelled.
pub fn trail_dot(t: &Trail) -> String {
    struct Dot<'a> {
        ids: HashMap<(NodeKind, &'a str, &'a str), usize>,
        nodes: Vec<&'a TrailNode>,
        edges: Vec<(usize, usize, Option<Weight>)>,
    }
    impl<'a> Dot<'a> {
        fn id(&mut self, n: &'a TrailNode) -> usize {
            let key = (n.kind, n.participant.as_str(), n.id.as_str());
            if let Some(&i) = self.ids.get(&key) {
                return i;
            }
            self.nodes.push(n);
            self.ids.insert(key, self.nodes.len() - 1);
            self.nodes.len() - 1
        }
        fn walk(&mut self, n: &'a TrailNode) -> usize {
            let me = self.id(n);
            for child in &n.inputs {
                let c = self.walk(child);
                let edge = (c, me, child.taken);
                if !self.edges.contains(&edge) {
                    self.edges.push(edge);
                }
            }
            me
        }
    }
    let mut d = Dot { ids: HashMap::new(), nodes: Vec::new(), edges: Vec::new() };
    d.walk(&t.root);

    let mut out = String::from("digraph trail {\n");
    let _ = writeln!(out, "  label=\"Trail of {}\";", dot_escape(&t.subject.to_string()));
    out.push_str("  labelloc=t;\n  fontname=\"Helvetica\";\n");
    out.push_str("  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\"];\n");
    for (i, n) in d.nodes.iter().enumerate() {
        let mut lines = vec![
            format!("{} {} {}", kind_name(n.kind), n.participant, n.id),
            fmt_ct(n.weight),
            holder_label(n),
            n.date.clone(),
        ];
        if let Some(site) = &n.site {
            lines.push(format!("site {site}"));
        }
        if let Some(zone) = &n.zone {
            lines.push(match &n.zone_name {
                Some(name) => format!("zone {zone} ({name})"),
                None => format!("zone {zone}"),
            });
        }
        if !n.compliant {
            lines.push(NON_COMPLIANT_MARK.into());
        }
        let label: Vec<String> = lines.iter().map(|l| dot_escape(l)).collect();
        let mut attrs = format!("label=\"{}\"", label.join("\\n"));
        if !n.compliant {
            attrs.push_str(", color=red, fontcolor=red");
        }
        if i == 0 {
            attrs.push_str(", peripheries=2");
        }
        let _ = writeln!(out, "  n{i} [{attrs}];");
    }
    for (from, to, taken) in &d.edges {
        match taken {
            Some(w) => {
                let _ = writeln!(out, "  n{from} -> n{to} [label=\"{}\"];", fmt_ct(*w));
            }
            None => {
                let _ = writeln!(out, "  n{from} -> n{to};");
            }
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use kp_schemas::model::Subject;
    use kp_schemas::trail::{Compliance, OriginShare};
    use kp_schemas::{Hash32, PublicKey};

    pub(in crate::render) fn key(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    fn node(kind: NodeKind, p: &str, id: &str, weight: Weight, taken: Option<Weight>) -> TrailNode {
        TrailNode {
            kind,
            participant: p.into(),
            id: id.into(),
            entry: Hash32([1; 32]),
            date: "2017-10-01".into(),
            weight,
            taken,
            holder: Some(key(2)),
            holder_name: Some(format!("holder of {id}")),
            compliant: true,
            site: None,
            zone: None,
            zone_name: None,
            repeated: false,
            inputs: vec![],
        }
    }

    fn production(p: &str, id: &str, weight: Weight, taken: Weight, zone: &str) -> TrailNode {
        let mut n = node(NodeKind::Production, p, id, weight, Some(taken));
        n.site = Some(format!("pit {id}"));
        n.zone = Some(zone.into());
        n.zone_name = Some(format!("{zone} town"));
        n
    }

    /// An EU lot mixed from a CF import (Berberati and a non-compliant
    /// zone, via one CF mix) and a BW import, where the CF mix is reached
    /// twice.
    pub(in crate::render) fn sample() -> Trail {
        let ber = production("CF", "CF/BER/1", 10_000, 8_000, "BER");
        let mut bria = production("CF", "CF/BRI/1", 5_000, 2_000, "BRI");
        bria.compliant = false;
        bria.zone_name = None;
        let mut mix = node(NodeKind::Transfer, "CF", "CF/MIX/1", 10_000, Some(6_000));
        mix.compliant = false;
        mix.inputs = vec![ber, bria];
        let mut mix_again = mix.clone();
        mix_again.inputs.clear();
        mix_again.repeated = true;
        mix_again.taken = Some(4_000);
        let mut cert = node(NodeKind::Export, "CF", "CF-000001", 10_000, Some(10_000));
        cert.inputs = vec![mix, mix_again];
        let mut imp = node(NodeKind::Import, "EU", "EU/IMP/1", 10_000, Some(10_000));
        imp.inputs = vec![cert];
        let mut bw = production("BW", "BW/JW/1", 5_000, 5_000, "JW");
        bw.zone = None;
        bw.zone_name = None;
        bw.holder_name = None;
        let mut root = node(NodeKind::Transfer, "EU", "EU/MIX/1", 15_000, None);
        root.inputs = vec![imp, bw];
        Trail {
            subject: Subject::Lot { participant: "EU".into(), lot: "EU/MIX/1".into() },
            root,
            origins: vec![
                OriginShare { country: "BW".into(), share: 1.0 / 3.0, weight: 5_000.0 },
                OriginShare { country: "CF".into(), share: 2.0 / 3.0, weight: 10_000.0 },
            ],
            compliance: Compliance {
                compliant: false,
                problems: vec!["R6: lot CF/BRI/1 of CF was produced in zone BRI while it was not compliant".into()],
                notes: vec!["certificate CF-000001 is not yet confirmed by EU".into()],
            },
            productions: 3,
            depth: 4,
        }
    }

    #[test]
    fn tree_lists_every_node_once_per_appearance() {
        let text = trail_text(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Trail of lot EU/MIX/1 of EU");
        assert_eq!(lines[2], "transfer EU EU/MIX/1  150.00 ct  held by holder of EU/MIX/1  2017-10-01");
        assert_eq!(
            lines[3],
            "├─ import EU EU/IMP/1  100.00 ct, took 100.00 ct  held by holder of EU/IMP/1  2017-10-01"
        );
        assert!(
            lines[4]
                .starts_with("│  └─ export CF CF-000001  100.00 ct, took 100.00 ct  exported by holder of CF-000001")
        );
        assert!(lines[5].starts_with("│     ├─ transfer CF CF/MIX/1  100.00 ct, took 60.00 ct"));
        assert!(lines[5].ends_with(NON_COMPLIANT_MARK));
        assert_eq!(
            lines[6],
            "│     │  ├─ production CF CF/BER/1  100.00 ct, took 80.00 ct  held by holder of CF/BER/1  \
             2017-10-01  site pit CF/BER/1  zone BER (BER town)"
        );
        assert!(lines[7].starts_with("│     │  └─ production CF CF/BRI/1"));
        assert!(lines[7].contains("zone BRI  [NON-COMPLIANT]"));
        assert!(lines[8].starts_with("│     └─ transfer CF CF/MIX/1  100.00 ct, took 40.00 ct"));
        assert!(lines[8].ends_with("[NON-COMPLIANT]  (see above)"));
        // No holder name: the key stands in, shortened.
        assert!(lines[9].starts_with("└─ production BW BW/JW/1  50.00 ct, took 50.00 ct  held by 0202020202020202…"));
        assert_eq!(text.matches(SEE_ABOVE).count(), 1);
        assert!(!text.contains("zone JW"));
    }

    #[test]
    fn origins_and_compliance_follow_the_tree() {
        let text = trail_text(&sample());
        assert!(text.contains("Origin of 150.00 ct (3 productions, at most 4 hops back):"), "{text}");
        assert!(text.contains("  BW     33.33 %        50.00 ct\n"), "{text}");
        assert!(text.contains("  CF     66.67 %       100.00 ct\n"), "{text}");
        assert!(text.contains("Compliance: NOT COMPLIANT\n  problem: R6: lot CF/BRI/1"));
        assert!(text.contains("  note: certificate CF-000001 is not yet confirmed by EU"));

        let mut ok = sample();
        ok.compliance = Compliance { compliant: true, problems: vec![], notes: vec![] };
        ok.origins.clear();
        let text = trail_text(&ok);
        assert!(text.contains("Compliance: COMPLIANT\n"));
        assert!(text.contains("(none recorded)"));
    }

    #[test]
    fn json_round_trips() {
        let t = sample();
        let back: Trail = serde_json::from_str(&trail_json(&t)).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn dot_has_one_node_per_distinct_lot_and_labelled_edges() {
        let dot = trail_dot(&sample());
        assert!(dot.starts_with("digraph trail {\n"));
        assert!(dot.ends_with("}\n"));
        let nodes = dot.lines().filter(|l| l.contains(" [label=") && !l.contains("->")).count();
        // EU mix, EU import, CF cert, CF mix, BER, BRI, BW: the CF mix once.
        assert_eq!(nodes, 7, "{dot}");
        assert_eq!(dot.matches("transfer CF CF/MIX/1").count(), 1);
        // The mix feeds the certificate twice, with different weights.
        assert!(dot.contains("n3 -> n2 [label=\"60.00 ct\"];"), "{dot}");
        assert!(dot.contains("n3 -> n2 [label=\"40.00 ct\"];"), "{dot}");
        assert!(dot.contains("n6 -> n0 [label=\"50.00 ct\"];"), "{dot}");
        assert_eq!(dot.matches("->").count(), 7);
        assert_eq!(dot.matches(", color=red,").count(), 2);
        assert!(dot.contains("n0 [label=\"transfer EU EU/MIX/1\\n150.00 ct"));
        assert!(dot.contains("peripheries=2"));
    }

    #[test]
    fn dot_escapes_quotes() {
        let mut t = sample();
        t.root.holder_name = Some("Say \"Hi\" \\ Co".into());
        let dot = trail_dot(&t);
        assert!(dot.contains(r#"held by Say \"Hi\" \\ Co"#), "{dot}");
    }
}
