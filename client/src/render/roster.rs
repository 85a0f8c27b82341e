//! The roster's versions (`kp roster`): one line per version, then who may
//! write and connect as the newest version has it.

use super::{body_summary, fmt_timestamp_ms, short};
use kp_schemas::api::RosterChain;
use kp_schemas::model::{Body, NodeInfo};
use kp_schemas::state::{CHAIR, NetworkState};
use std::fmt::Write;

/// The chain, oldest first: number, hash prefix, and the governance entry
/// that made each version with what it did; then the version in force.
pub fn roster_chain_text(c: &RosterChain) -> String {
    let g = &c.genesis.roster;
    let mut out = format!("Roster of network {} (genesis chair {})\n\nVersions:\n", g.network, short(&g.chair));
    for v in &c.versions {
        let what = match (&v.decided_by, &v.change) {
            (None, _) => "genesis roster".to_string(),
            (Some(entry), change) => {
                let when = v.timestamp_ms.map(fmt_timestamp_ms).unwrap_or_default();
                let did = change.as_ref().map_or_else(
                    || "a governance entry".to_string(),
                    |g| body_summary(&Body::Governance(g.clone()), None),
                );
                format!("entry {} {when}: {did}", short(entry))
            }
        };
        let _ = writeln!(out, "  v{:<4} {}  {what}", v.version, &v.hash.to_hex()[..16]);
    }
    let Some(newest) = c.versions.last() else { return out };
    let _ = writeln!(out, "\nIn force: version {} ({})", newest.version, newest.hash);
    out.push_str(&network_text(&newest.network));
    out
}

fn nodes_line(out: &mut String, nodes: &[NodeInfo]) {
    for n in nodes {
        let addrs = if n.addrs.is_empty() { "no address".to_string() } else { n.addrs.join(" ") };
        let _ = writeln!(out, "      node {} {addrs}", n.peer_id);
    }
}

/// Participants, monitors, observers and retired keys of one version.
fn network_text(n: &NetworkState) -> String {
    let mut out = String::from("\nParticipants:\n");
    for p in n.participants.values() {
        let x = &p.participant;
        let regime = if x.zone_regime { ", zone regime" } else { "" };
        let _ = writeln!(out, "  {}  {}{regime}", x.code, x.name);
        let _ = writeln!(out, "      authority {}", x.authority);
        nodes_line(&mut out, &x.nodes);
        for c in &p.conditions {
            let _ = writeln!(out, "      condition: {c} (exports refused until lifted)");
        }
        for s in &p.suspensions {
            let span = match s.until {
                Some(u) => format!("suspended for entries {} to {} of its log", s.from, u.saturating_sub(1)),
                None => format!("SUSPENDED from entry {} of its log", s.from),
            };
            let _ = writeln!(out, "      {span}");
        }
    }
    if !n.monitors.is_empty() {
        out.push_str("\nMonitors:\n");
    }
    for m in &n.monitors {
        let _ = writeln!(out, "  {}  {} (scope {})", m.id, m.name, m.scope.join(", "));
        let _ = writeln!(out, "      key {}", m.key);
        nodes_line(&mut out, &m.nodes);
    }
    if !n.observers.is_empty() {
        out.push_str("\nObservers:\n");
        nodes_line(&mut out, &n.observers);
    }
    let _ = writeln!(out, "\nChair: {}", n.chair);
    if !n.retired.is_empty() {
        out.push_str("\nRetired keys:\n");
    }
    for r in &n.retired {
        let closed = if r.holder == CHAIR {
            format!("chair until entry {} of its log", r.last)
        } else {
            format!("{}, its log closed after entry {}", r.holder, r.last)
        };
        let _ = writeln!(out, "  {}  {closed}", r.key);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::api::RosterVersion;
    use kp_schemas::model::{Governance, Participant, Roster};
    use kp_schemas::state::{ParticipantState, RetiredKey, SuspensionSpan};
    use kp_schemas::{Hash32, Keypair};

    #[test]
    fn one_line_per_version_then_the_newest() {
        let chair = Keypair::from_seed([1; 32]);
        let ga = Participant {
            code: "GA".into(),
            name: "Gabon".into(),
            authority: Keypair::from_seed([2; 32]).public(),
            zone_regime: false,
            nodes: vec![NodeInfo { peer_id: "12D3KooWGa".into(), addrs: vec!["/ip4/10.0.0.1/tcp/7171".into()] }],
        };
        let roster = Roster {
            network: "kp-test".into(),
            version: 1,
            chair: chair.public(),
            participants: vec![],
            monitors: vec![],
            observers: vec![],
        };
        let genesis = kp_schemas::roster::sign(roster.clone(), &chair);
        let (_, hash) = kp_schemas::roster::verify(&genesis).unwrap();
        let v1 = NetworkState::from_roster(&roster, hash);
        let mut v2 = v1.clone();
        let mut state = ParticipantState::admitted(ga.clone(), vec!["statistics".into()]);
        state.suspensions.push(SuspensionSpan { from: 4, until: None });
        v2.participants.insert("GA".into(), state);
        v2.retired.push(RetiredKey { key: Keypair::from_seed([3; 32]).public(), holder: "BW".into(), last: 7 });
        (v2.version, v2.decided_by, v2.previous) = (2, Some(Hash32([9; 32])), Some(v1.version_hash()));
        let change = Governance::AdmitConditionally { participant: ga, conditions: vec!["statistics".into()] };
        let version = |n: &NetworkState, change: Option<Governance>| RosterVersion {
            version: n.version,
            hash: n.version_hash(),
            previous: n.previous,
            decided_by: n.decided_by,
            timestamp_ms: n.decided_by.map(|_| 1_509_494_415_000),
            change,
            network: n.clone(),
        };
        let chain = RosterChain { genesis, versions: vec![version(&v1, None), version(&v2, Some(change))] };
        chain.check().unwrap();
        let text = roster_chain_text(&chain);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[3].starts_with("  v1    ") && lines[3].ends_with("genesis roster"), "{text}");
        assert!(lines[4].starts_with("  v2    ") && lines[4].contains("admit participant GA (Gabon) under conditions"));
        assert!(lines[4].contains("2017-11-01 00:00:15 UTC"), "{text}");
        assert!(text.contains("In force: version 2 ("), "{text}");
        assert!(text.contains("  GA  Gabon\n      authority "), "{text}");
        assert!(text.contains("      node 12D3KooWGa /ip4/10.0.0.1/tcp/7171\n"), "{text}");
        assert!(text.contains("      condition: statistics (exports refused until lifted)\n"), "{text}");
        assert!(text.contains("      SUSPENDED from entry 4 of its log\n"), "{text}");
        assert!(text.contains("  BW, its log closed after entry 7\n"), "{text}");
    }
}
