//! What `kp` prints: trails as an indented tree, JSON or Graphviz DOT, and
//! short human renderings of the node's other views. Pure functions from
//! values to strings, so they are tested without a node.

use kp_schemas::api::{EntryView, HeadView, LogPage, LotView, Status, Submitted};
use kp_schemas::bundle::Report;
use kp_schemas::model::{
    AttestationKind, Body, Cents, Governance, Nature, Record, RecordBody, Subject, Weight, ZoneState,
};
use kp_schemas::rules::{Equivocation, fmt_ct};
use kp_schemas::state::{CertState, LicenseeState, LotOrigin, ZoneRecord};
use kp_schemas::trail::{NodeKind, Trail, TrailNode};
use kp_schemas::{Hash32, PublicKey};
use std::collections::HashMap;
use std::fmt::Write;

/// Marks a node whose weight comes, at least in part, from a zone that was
/// not compliant (R6).
pub const NON_COMPLIANT_MARK: &str = "[NON-COMPLIANT]";
/// Stands in for the inputs of a node already listed higher in the tree.
pub const SEE_ABOVE: &str = "(see above)";

pub fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Production => "production",
        NodeKind::Transfer => "transfer",
        NodeKind::Import => "import",
        NodeKind::Export => "export",
    }
}

pub fn nature_name(n: Nature) -> &'static str {
    match n {
        Nature::Natural => "natural",
        Nature::Synthetic => "synthetic",
    }
}

/// US cents as `USD 1234.56`.
pub fn fmt_usd(c: Cents) -> String {
    format!("USD {}.{:02}", c / 100, c % 100)
}

/// The first 16 hex digits of a key: enough to tell keys apart on screen.
pub fn short_key(k: &PublicKey) -> String {
    format!("{}…", &k.to_hex()[..16])
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn fmt_timestamp_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = kp_schemas::model::civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

// ---------------------------------------------------------------- trails

pub fn subject_name(s: &Subject) -> String {
    match s {
        Subject::Lot { participant, lot } => format!("lot {lot} of {participant}"),
        Subject::Certificate { number } => format!("certificate {number}"),
    }
}

/// `held by X`, or `exported by X` for a certificate, whose "holder" is
/// the exporting licensee.
fn holder_label(n: &TrailNode) -> String {
    let who = match (&n.holder_name, &n.holder) {
        (Some(name), _) => name.clone(),
        (None, Some(key)) => short_key(key),
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
    let mut out = format!("Trail of {}\n\n", subject_name(&t.subject));
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
    let _ = writeln!(out, "  label=\"Trail of {}\";", dot_escape(&subject_name(&t.subject)));
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

// ---------------------------------------------------------------- other views

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

pub fn status_text(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "network   {}", s.network);
    let _ = writeln!(out, "version   {}", s.version);
    let _ = writeln!(out, "roster    {}", s.roster_hash);
    let _ = writeln!(out, "entries   {}", s.entries);
    let writes = if s.writes.is_empty() { "(read-only)".to_string() } else { s.writes.join(", ") };
    let _ = writeln!(out, "writes    {writes}");
    let evidence = match s.evidence.len() {
        0 => "none".to_string(),
        n => format!("{n} equivocation(s): see `kp evidence`"),
    };
    let _ = writeln!(out, "evidence  {evidence}");
    if !s.logs.is_empty() {
        out.push('\n');
        out.push_str(&heads_text(&s.logs));
    }
    out
}

pub fn heads_text(heads: &[HeadView]) -> String {
    if heads.is_empty() {
        return "no logs\n".into();
    }
    let width = heads.iter().map(|h| h.name.chars().count()).max().unwrap_or(4).max(4);
    let mut out = format!("{:<width$}  {:>8}  {:<64}  HEAD\n", "LOG", "SEQ", "AUTHOR");
    for h in heads {
        let frozen = if h.head.frozen { "  FROZEN" } else { "" };
        let _ = writeln!(out, "{:<width$}  {:>8}  {}  {}{frozen}", h.name, h.head.seq, h.author, h.head.hash);
    }
    out
}

fn takes(ts: &[kp_schemas::model::Take]) -> String {
    ts.iter().map(|t| format!("{} {}", t.lot, fmt_ct(t.weight))).collect::<Vec<_>>().join(" + ")
}

/// One line about a licensee's record.
pub fn record_summary(r: &Record) -> String {
    let who = short_key(&r.licensee);
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
            let outs: Vec<_> = t
                .outputs
                .iter()
                .map(|o| format!("{} {} to {}", o.lot, fmt_ct(o.weight), short_key(&o.holder)))
                .collect();
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
            short_key(&c.holder),
            c.date
        ),
        Body::ZoneStatus(z) => {
            format!("zone {} ({}) of {} {} from {}", z.zone, z.name, z.participant, z.status.as_str(), z.effective)
        }
        Body::Attestation(a) => {
            format!("{} about {}: {}", attestation_kind(&a.kind), subject_name(&a.subject), a.note)
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
        },
    }
}

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
        LotOrigin::Production { site, zone, zone_status, stones } => {
            let mut s = format!("production at {site}, {stones} stones");
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
        let status = match s.status {
            ZoneState::Compliant => "compliant",
            ZoneState::Suspended => "suspended",
            ZoneState::Revoked => "revoked",
        };
        let _ = writeln!(
            out,
            "{:<4} {:<zw$}  {:<width$}  {status:<9}  {:<10}  {}",
            s.participant, s.zone, s.name, s.effective, z.entry
        );
    }
    out
}

pub fn evidence_text(ev: &[Equivocation]) -> String {
    if ev.is_empty() {
        return "no equivocation seen\n".into();
    }
    let mut out = String::new();
    for e in ev {
        let _ = writeln!(
            out,
            "log {} frozen at #{}: entry {} and entry {} both claim that position",
            e.author, e.seq, e.existing, e.conflicting
        );
    }
    out
}

// ---------------------------------------------------------------- bundles

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The verdict on a bundle for people: one line that says whether it holds,
/// then what vouches for it (each log's checkpoint and its witnesses), the
/// trail it proves, and every problem as `[code] message`.
pub fn bundle_report_text(r: &Report) -> String {
    let what = r.subject.as_ref().map_or_else(|| "the file".to_string(), subject_name);
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
        format!(
            "VALID: {what}{network}: {} in {}, each checkpoint cosigned by its log's quorum{compliance}\n",
            plural(r.entries, "entry", "entries"),
            plural(r.logs.len(), "log", "logs"),
        )
    } else {
        format!("INVALID: {what}{network}: {}\n", plural(r.problems.len(), "problem", "problems"))
    };
    // What the verdict rests on: the roster given, which nothing in the
    // bundle can vouch for. Compare with what the chair publishes.
    let _ = writeln!(out, "Checked against the roster {} signed by the chair key {}", r.roster_hash, r.chair);
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

/// The hash of a report document, as a laboratory names it.
pub fn report_hash(bytes: &[u8]) -> Hash32 {
    kp_schemas::crypto::sha256(&[bytes])
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::trail::{Compliance, OriginShare};

    fn key(n: u8) -> PublicKey {
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
    fn sample() -> Trail {
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
            quorum: 2,
            entries: 6,
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

    #[test]
    fn timestamps_and_money() {
        assert_eq!(fmt_timestamp_ms(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(fmt_timestamp_ms(1_512_086_400_000 + 3_723_000), "2017-12-01 01:02:03 UTC");
        assert_eq!(fmt_timestamp_ms(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(fmt_usd(123_456), "USD 1234.56");
        assert_eq!(fmt_usd(5), "USD 0.05");
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
