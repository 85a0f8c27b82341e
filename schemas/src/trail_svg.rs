//! The trail as a picture: a layered graph in SVG, productions in the left
//! column and the subject in the right one, each box coloured by what
//! created it and outlined by its compliance, each edge labelled with the
//! carats taken, and the origin shares as a bar above. Pure: the viewer
//! serves it (`GET /v1/trail/...?format=svg`) and `kp trail --svg` writes
//! it, with no external program.

use crate::rules::fmt_ct;
use crate::trail::{NodeKind, Trail, TrailNode};
use std::collections::HashMap;
use std::fmt::Write;

/// Width of a box.
pub const BOX_W: u32 = 220;
/// Height of a box.
pub const BOX_H: u32 = 74;
const GAP_X: u32 = 90;
const GAP_Y: u32 = 22;
const MARGIN: u32 = 20;
/// Height of the header: title, verdict and origin bar.
const HEADER: u32 = 96;

/// Fill colours of boxes by what created them, and of the origin bar.
const KIND_FILL: [(NodeKind, &str); 4] = [
    (NodeKind::Production, "#fbe9c6"),
    (NodeKind::Transfer, "#dde9fb"),
    (NodeKind::Import, "#e9e0fa"),
    (NodeKind::Export, "#d8f1e6"),
];
const COUNTRY_FILL: [&str; 6] = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948"];
const OK: &str = "#2e7d32";
const BAD: &str = "#c62828";

/// One box of the graph: a trail node listed once, however often the trail
/// repeats it.
#[derive(Debug, Clone)]
pub struct LaidNode<'a> {
    /// The trail node (its first, expanded appearance).
    pub node: &'a TrailNode,
    /// Column: 0 for productions, one more than its highest input.
    pub column: usize,
    /// Row within the column, from the top.
    pub row: usize,
}

/// An edge from an input to the node that took weight from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaidEdge {
    /// Index of the input in [`Layout::nodes`].
    pub from: usize,
    /// Index of the node that took from it.
    pub to: usize,
    /// Hundredths of a carat taken.
    pub taken: Option<u64>,
}

/// The layered layout of a trail.
#[derive(Debug, Clone)]
pub struct Layout<'a> {
    /// Every distinct node; the subject is the first.
    pub nodes: Vec<LaidNode<'a>>,
    /// Every edge, one per appearance of an input in the trail.
    pub edges: Vec<LaidEdge>,
    /// Number of columns.
    pub columns: usize,
    /// Rows of the fullest column.
    pub rows: usize,
}

type Key = (NodeKind, String, String);

fn key(n: &TrailNode) -> Key {
    (n.kind, n.participant.clone(), n.id.clone())
}

/// Lay a trail out in columns: productions at column 0, every other node
/// one column right of its highest input, the subject last. Rows follow
/// the order of the nodes they feed, so the picture reads like the tree.
pub fn layout(t: &Trail) -> Layout<'_> {
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut nodes: Vec<&TrailNode> = Vec::new();
    let mut edges = Vec::new();
    // Iterative, so a deep trail cannot exhaust the stack.
    let mut stack: Vec<(&TrailNode, Option<usize>)> = vec![(&t.root, None)];
    let mut pending_edges: Vec<(Key, usize, Option<u64>)> = Vec::new();
    while let Some((n, parent)) = stack.pop() {
        let k = key(n);
        if let Some(p) = parent {
            pending_edges.push((k.clone(), p, n.taken));
        }
        if n.repeated {
            continue;
        }
        let i = match index.get(&k) {
            Some(i) => *i,
            None => {
                index.insert(k, nodes.len());
                nodes.push(n);
                nodes.len() - 1
            }
        };
        for c in n.inputs.iter().rev() {
            stack.push((c, Some(i)));
        }
    }
    for (k, to, taken) in pending_edges {
        if let Some(from) = index.get(&k) {
            edges.push(LaidEdge { from: *from, to, taken });
        }
    }
    // Column: longest path from a production, computed over the inputs
    // (children) of each node, in an order where inputs come first.
    let mut inputs: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for e in &edges {
        inputs[e.to].push(e.from);
    }
    let mut column = vec![usize::MAX; nodes.len()];
    for start in 0..nodes.len() {
        let mut stack = vec![(start, false)];
        while let Some((i, done)) = stack.pop() {
            if column[i] != usize::MAX {
                continue;
            }
            if done {
                column[i] = inputs[i].iter().map(|c| column[*c].saturating_add(1)).max().unwrap_or(0);
                continue;
            }
            stack.push((i, true));
            for c in &inputs[i] {
                if column[*c] == usize::MAX {
                    stack.push((*c, false));
                }
            }
        }
    }
    let columns = column.iter().max().map_or(1, |c| c + 1);
    // Rows: from the subject's column leftwards, each node placed by the
    // first row of the nodes it feeds, then by its order among their inputs.
    let mut fed_by: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nodes.len()];
    for (to, ins) in inputs.iter().enumerate() {
        for (k, from) in ins.iter().enumerate() {
            fed_by[*from].push((to, k));
        }
    }
    let mut row = vec![0usize; nodes.len()];
    let mut by_column: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (i, c) in column.iter().enumerate() {
        by_column[*c].push(i);
    }
    for c in (0..columns).rev() {
        let mut col = std::mem::take(&mut by_column[c]);
        col.sort_by_key(|i| {
            let first = fed_by[*i].iter().map(|(to, k)| (row[*to], *k)).min().unwrap_or((0, 0));
            (first, *i)
        });
        for (r, i) in col.iter().enumerate() {
            row[*i] = r;
        }
        by_column[c] = col;
    }
    let rows = by_column.iter().map(Vec::len).max().unwrap_or(1);
    Layout {
        nodes: nodes.iter().enumerate().map(|(i, n)| LaidNode { node: n, column: column[i], row: row[i] }).collect(),
        edges,
        columns,
        rows,
    }
}

/// Escape text for SVG and HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode a path segment of a link (a lot id keeps its `/`).
pub fn encode_path(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).collect::<String>() + "…" }
}

/// The kind of a node as the picture names it.
pub fn kind_label(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Production => "PRODUCTION",
        NodeKind::Transfer => "TRANSFER",
        NodeKind::Import => "IMPORT",
        NodeKind::Export => "EXPORT",
    }
}

fn fill(k: NodeKind) -> &'static str {
    KIND_FILL.iter().find(|(x, _)| *x == k).map_or("#eeeeee", |(_, c)| c)
}

/// A percentage as people read it: `40 %`, `33.3 %`.
pub fn fmt_share(share: f64) -> String {
    let p = (share * 1000.0).round() / 10.0;
    if p.fract() == 0.0 { format!("{p:.0} %") } else { format!("{p:.1} %") }
}

/// Lines of a box's hover text.
fn details(n: &TrailNode) -> String {
    let mut s = format!("{} {} {}\n{}", kind_label(n.kind).to_lowercase(), n.participant, n.id, fmt_ct(n.weight));
    if let Some(t) = n.taken {
        let _ = write!(s, ", {} taken", fmt_ct(t));
    }
    let _ = write!(s, "\ndate {}", n.date);
    if let Some(h) = n.holder_name.as_ref() {
        let verb = if n.kind == NodeKind::Export { "exported by" } else { "held by" };
        let _ = write!(s, "\n{verb} {h}");
    }
    if let Some(site) = &n.site {
        let _ = write!(s, "\nsite {site}");
    }
    if let Some(z) = &n.zone {
        let _ = write!(s, "\nzone {z}{}", n.zone_name.as_ref().map(|x| format!(" ({x})")).unwrap_or_default());
    }
    let _ = write!(s, "\n{}", if n.compliant { "compliant" } else { "NON-COMPLIANT (R6)" });
    let _ = write!(s, "\nentry {}", n.entry);
    s
}

/// The SVG picture of a trail. Each box links to `{link_base}/entries/{hash}`
/// (`link_base` empty for links on the same node) and carries its details in
/// a `<title>`, which browsers show on hover.
pub fn trail_svg(t: &Trail, link_base: &str) -> String {
    let l = layout(t);
    let pitch_x = BOX_W + GAP_X;
    let pitch_y = BOX_H + GAP_Y;
    let width = (MARGIN * 2 + l.columns as u32 * pitch_x - GAP_X).max(560);
    let height = HEADER + MARGIN + l.rows as u32 * pitch_y;
    let mut rows_in = vec![0usize; l.columns];
    for n in &l.nodes {
        rows_in[n.column] += 1;
    }
    let pos = |i: usize| -> (u32, u32) {
        let n = &l.nodes[i];
        let offset = (l.rows - rows_in[n.column]) as u32 * pitch_y / 2;
        (MARGIN + n.column as u32 * pitch_x, HEADER + offset + n.row as u32 * pitch_y)
    };
    let mut s = String::with_capacity(1024 + l.nodes.len() * 900);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" class="kp-trail" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">"#
    );
    let _ = write!(s, "<title>Trail of {}</title>", escape(&t.subject.to_string()));
    s.push_str(r##"<defs><marker id="kp-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>"##);
    let _ = write!(s, r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##);
    // Header: subject, verdict, origin bar.
    let (verdict, colour) = if t.compliance.compliant { ("COMPLIANT", OK) } else { ("NOT COMPLIANT", BAD) };
    let _ = write!(
        s,
        r##"<text x="{MARGIN}" y="24" font-size="16" font-weight="bold">Trail of {}</text><text x="{MARGIN}" y="44" fill="{colour}" font-weight="bold">{verdict}</text><text x="{}" y="44" fill="#444">{} productions, {} hops deep</text>"##,
        escape(&t.subject.to_string()),
        MARGIN + 130,
        t.productions,
        t.depth
    );
    let bar_w = (width - 2 * MARGIN).min(600) as f64;
    let mut x = MARGIN as f64;
    for (i, o) in t.origins.iter().enumerate() {
        let w = bar_w * o.share.clamp(0.0, 1.0);
        let c = COUNTRY_FILL[i % COUNTRY_FILL.len()];
        let label = format!("{} {} ({})", o.country, fmt_share(o.share), fmt_ct(o.weight.round() as u64));
        let _ = write!(
            s,
            r##"<g class="origin"><title>{}: mined in {}</title><rect x="{x:.1}" y="56" width="{w:.1}" height="24" fill="{c}"/><text x="{:.1}" y="72" fill="#fff" font-weight="bold">{}</text></g>"##,
            escape(&label),
            escape(&o.country),
            x + 6.0,
            escape(&if w > 150.0 { label.clone() } else { cut(&o.country, 4) })
        );
        x += w;
    }
    // Edges under the boxes.
    for e in &l.edges {
        let (fx, fy) = pos(e.from);
        let (tx, ty) = pos(e.to);
        let (x1, y1, x2, y2) = (fx + BOX_W, fy + BOX_H / 2, tx, ty + BOX_H / 2);
        let mx = (x1 + x2) / 2;
        let _ = write!(
            s,
            r##"<path d="M{x1},{y1} C{mx},{y1} {mx},{y2} {x2},{y2}" fill="none" stroke="#777" stroke-width="1.5" marker-end="url(#kp-arrow)"/>"##
        );
        if let Some(w) = e.taken {
            // Beside the input, where the edge leaves it: edges that meet at
            // one node keep their labels apart.
            let (lx, ly) = (x1 + GAP_X / 2, y1);
            let label = fmt_ct(w);
            let lw = label.len() as u32 * 7 + 6;
            let _ = write!(
                s,
                r##"<rect x="{}" y="{}" width="{lw}" height="16" rx="3" fill="#fff" fill-opacity="0.9"/><text x="{lx}" y="{}" text-anchor="middle" font-size="11" fill="#333">{}</text>"##,
                lx - lw / 2,
                ly - 11,
                ly + 1,
                escape(&label)
            );
        }
    }
    // Boxes.
    for (i, n) in l.nodes.iter().enumerate() {
        let n = n.node;
        let (x, y) = pos(i);
        let (stroke, sw) = if n.compliant { (OK, 1.5) } else { (BAD, 3.5) };
        let href = format!("{link_base}/entries/{}", n.entry);
        let mut lines = vec![format!("{} · {}", kind_label(n.kind), n.participant), cut(&n.id, 30)];
        lines.push(format!("{} · {}", fmt_ct(n.weight), n.date));
        let last = match (n.kind, &n.zone) {
            (NodeKind::Production, Some(z)) => {
                format!("zone {z}{}", n.zone_name.as_ref().map(|x| format!(" {x}")).unwrap_or_default())
            }
            (NodeKind::Production, None) => format!("site {}", n.site.as_deref().unwrap_or("-")),
            _ => n.holder_name.clone().unwrap_or_default(),
        };
        lines.push(cut(&last, 32));
        let _ = write!(
            s,
            r#"<a class="node {} {}" href="{}" xlink:href="{}" data-entry="{}" data-kind="{}" data-id="{}"><title>{}</title><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{}" stroke="{stroke}" stroke-width="{sw}"/>"#,
            kind_label(n.kind).to_lowercase(),
            if n.compliant { "compliant" } else { "non-compliant" },
            escape(&href),
            escape(&href),
            n.entry,
            kind_label(n.kind).to_lowercase(),
            escape(&n.id),
            escape(&details(n)),
            fill(n.kind),
        );
        for (k, line) in lines.iter().enumerate() {
            let weight = if k == 0 { r#" font-weight="bold""# } else { "" };
            let _ = write!(s, r#"<text x="{}" y="{}"{weight}>{}</text>"#, x + 8, y + 17 + k as u32 * 16, escape(line));
        }
        if !n.compliant {
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end" font-size="10" font-weight="bold" fill="{BAD}">NON-COMPLIANT</text>"#,
                x + BOX_W - 6,
                y + 17
            );
        }
        s.push_str("</a>");
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Subject;
    use crate::trail::{Compliance, OriginShare};
    use crate::{Hash32, PublicKey};

    fn node(kind: NodeKind, p: &str, id: &str, w: u64, inputs: Vec<TrailNode>) -> TrailNode {
        TrailNode {
            kind,
            participant: p.into(),
            id: id.into(),
            entry: Hash32([id.len() as u8; 32]),
            date: "2017-03-10".into(),
            weight: w,
            taken: Some(w),
            holder: Some(PublicKey([1; 32])),
            holder_name: Some("Holder <&>".into()),
            compliant: true,
            site: None,
            zone: None,
            zone_name: None,
            repeated: false,
            inputs,
        }
    }

    fn prod(p: &str, id: &str, w: u64, zone: &str) -> TrailNode {
        let mut n = node(NodeKind::Production, p, id, w, Vec::new());
        n.zone = Some(zone.into());
        n.zone_name = Some(format!("{zone}-name"));
        n
    }

    /// The Indian lot's shape: a mix of a CF branch (two productions) and a
    /// BW branch (one production, two hops shallower).
    fn trail() -> Trail {
        let cf = node(
            NodeKind::Export,
            "CF",
            "CF-000001",
            100_000,
            vec![prod("CF", "CF/BER/1", 60_000, "BER"), prod("CF", "CF/NOL/1", 40_000, "NOL")],
        );
        let bw = node(NodeKind::Export, "BW", "BW-000001", 150_000, vec![prod("BW", "BW/J/1", 150_000, "J")]);
        let mix = node(
            NodeKind::Transfer,
            "EU",
            "EU/MIX",
            250_000,
            vec![
                node(NodeKind::Import, "EU", "EU/1", 100_000, vec![cf]),
                node(NodeKind::Import, "EU", "EU/2", 150_000, vec![bw]),
            ],
        );
        let mut root = node(NodeKind::Import, "IN", "IN/BOM/1", 150_000, vec![mix]);
        root.taken = None;
        Trail {
            subject: Subject::Lot { participant: "IN".into(), lot: "IN/BOM/1".into() },
            root,
            origins: vec![
                OriginShare { country: "BW".into(), share: 0.6, weight: 90_000.0 },
                OriginShare { country: "CF".into(), share: 0.4, weight: 60_000.0 },
            ],
            compliance: Compliance { compliant: true, problems: vec![], notes: vec![] },
            productions: 3,
            depth: 4,
        }
    }

    #[test]
    fn productions_in_the_first_column_and_the_subject_in_the_last() {
        let t = trail();
        let l = layout(&t);
        assert_eq!(l.nodes.len(), 9);
        assert_eq!(l.edges.len(), 8);
        assert_eq!(l.nodes[0].node.id, "IN/BOM/1");
        assert_eq!(l.nodes[0].column, l.columns - 1);
        for n in &l.nodes {
            if n.node.kind == NodeKind::Production {
                assert_eq!(n.column, 0, "{}", n.node.id);
            }
        }
        // Every edge goes right, and no two boxes share a place.
        for e in &l.edges {
            assert!(l.nodes[e.from].column < l.nodes[e.to].column);
        }
        let mut places: Vec<_> = l.nodes.iter().map(|n| (n.column, n.row)).collect();
        places.sort();
        places.dedup();
        assert_eq!(places.len(), l.nodes.len());
        // The CF productions sit above the BW one, as the tree lists them.
        let row = |id: &str| l.nodes.iter().find(|n| n.node.id == id).unwrap().row;
        assert!(row("CF/BER/1") < row("CF/NOL/1") && row("CF/NOL/1") < row("BW/J/1"));
    }

    #[test]
    fn a_repeated_node_is_drawn_once_with_both_edges() {
        let mut t = trail();
        let p = prod("CF", "CF/BER/1", 60_000, "BER");
        let mut again = p.clone();
        again.repeated = true;
        again.taken = Some(10_000);
        t.root = node(
            NodeKind::Transfer,
            "CF",
            "CF/X",
            70_000,
            vec![node(NodeKind::Transfer, "CF", "CF/Y", 60_000, vec![p]), again],
        );
        let l = layout(&t);
        assert_eq!(l.nodes.len(), 3);
        assert_eq!(l.edges.len(), 3);
        assert_eq!(l.columns, 3);
    }

    #[test]
    fn the_svg_escapes_text_links_boxes_and_labels_edges() {
        let mut t = trail();
        t.root.inputs[0].inputs[0].inputs[0].inputs[0].compliant = false;
        let svg = trail_svg(&t, "http://node:7070");
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>\n"));
        assert!(svg.contains("Holder &lt;&amp;&gt;"), "names are escaped");
        assert!(!svg.contains("Holder <&>"));
        assert!(svg.contains(r#"href="http://node:7070/entries/"#));
        assert!(svg.contains("600.00 ct"), "an edge is labelled with the carats taken");
        assert!(svg.contains("zone BER BER-name"));
        assert!(svg.contains("BW 60 % (900.00 ct)"));
        assert!(svg.contains("CF 40 % (600.00 ct)"));
        assert!(svg.contains("NON-COMPLIANT"));
        assert_eq!(svg.matches("<a class=\"node").count(), 9);
        assert_eq!(svg.matches("<path d=").count(), 8 + 1, "eight edges and the arrow head");
    }

    #[test]
    fn a_deep_chain_lays_out_without_recursion() {
        let mut n = prod("CF", "CF/P", 100, "BER");
        for i in 0..500 {
            n = node(NodeKind::Transfer, "CF", &format!("CF/T{i}"), 100, vec![n]);
        }
        let mut t = trail();
        t.root = n;
        let l = layout(&t);
        assert_eq!(l.columns, 501);
        assert_eq!(l.rows, 1);
    }

    #[test]
    fn shares_and_paths() {
        assert_eq!(fmt_share(0.4), "40 %");
        assert_eq!(fmt_share(1.0 / 3.0), "33.3 %");
        assert_eq!(encode_path("IN/BOM/2017 1", true), "IN/BOM/2017%201");
        assert_eq!(encode_path("a/b", false), "a%2Fb");
    }
}
