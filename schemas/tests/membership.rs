//! Membership over the years (R2, R3): conditional admission, a node list
//! replaced, keys rotated (planned and forced), and the chain of roster
//! versions that governance makes. Every test runs the pure rules on an
//! in-memory ledger, in more than one order where order could matter.

mod common;

use common::*;
use kp_schemas::codes;
use kp_schemas::crypto::Domain;
use kp_schemas::encoding;
use kp_schemas::model::*;
use kp_schemas::rules::Verdict;
use kp_schemas::{Keypair, SignedEntry};

const DAY: &str = "2017-03-01";

fn gabon() -> (Keypair, Participant) {
    let key = Keypair::from_seed([60; 32]);
    let p = Participant {
        code: "GA".into(),
        name: "Gabon".into(),
        authority: key.public(),
        zone_regime: false,
        nodes: vec![NodeInfo { peer_id: "12D3KooWGabon".into(), addrs: vec![] }],
    };
    (key, p)
}

fn gov(g: Governance) -> Body {
    Body::Governance(g)
}

#[test]
fn r2_a_conditionally_admitted_participant_records_production_but_exports_only_once_the_conditions_are_lifted() {
    let mut net = Net::new();
    let (ga, p) = gabon();
    let conditions = vec!["administrative decision: statistics and legislation".to_string()];
    net.govern(Governance::AdmitConditionally { participant: p, conditions });
    let miner = licensee_key("ga-miner");
    net.write(&ga, register_body(&miner, "ga-miner", &[Role::Miner, Role::Exporter]));
    let write = |net: &mut Net, body: RecordBody| {
        let rec = net.sign(&miner, body);
        net.submit(&ga, countersigned(&rec))
    };
    expect_accepted(write(&mut net, production("GA/1", "Minkebe", None, 1000, DAY)));
    expect_accepted(write(&mut net, transfer(&[("GA/1", 1000)], &[("GA/2", 1000, &miner)], DAY)));
    let exp = export("GA-000001", "EU", &[("GA/2", 400)], &[("7102.31", 400)], DAY);
    let r = expect_refused(write(&mut net, exp.clone()));
    assert_eq!(r.code, codes::R2_CONDITIONAL_ADMISSION);
    assert!(r.message.contains("statistics and legislation"), "{}", r.message);

    // Lifting conditions twice, or of an unconditional participant, changes nothing.
    let lift = |code: &str| gov(Governance::LiftConditions { code: code.into(), note: "met".into() });
    assert_eq!(net.refused(&chair_key(), lift("BW")).code, codes::R2_NO_CHANGE);
    assert_eq!(net.refused(&chair_key(), lift("ZZ")).code, codes::R2_UNKNOWN_PARTICIPANT);
    net.write(&chair_key(), lift("GA"));
    assert_eq!(net.refused(&chair_key(), lift("GA")).code, codes::R2_NO_CHANGE);
    expect_accepted(write(&mut net, exp));
}

#[test]
fn r2_an_export_judged_against_the_network_before_the_lift_stays_refused() {
    // The verdict reads the network the entry names, not the newest one:
    // an export signed while the conditions stood is refused on every node,
    // whenever it arrives.
    let mut net = Net::new();
    let (ga, p) = gabon();
    net.govern(Governance::AdmitConditionally { participant: p, conditions: vec!["c".into()] });
    let miner = licensee_key("ga-miner");
    net.write(&ga, register_body(&miner, "ga-miner", &[Role::Miner, Role::Exporter]));
    let rec = net.sign(&miner, production("GA/1", "Minkebe", None, 1000, DAY));
    net.write(&ga, countersigned(&rec));
    let rec = net.sign(&miner, export("GA-000001", "EU", &[("GA/1", 400)], &[("7102.31", 400)], DAY));
    let early = net.build(&ga, countersigned(&rec));
    net.govern(Governance::LiftConditions { code: "GA".into(), note: "met".into() });
    assert_eq!(expect_refused(net.ingest(&early)).code, codes::R2_CONDITIONAL_ADMISSION);
}

#[test]
fn r2_a_node_is_listed_for_one_holder_only() {
    let mut net = Net::new();
    let node = |id: &str| NodeInfo { peer_id: id.into(), addrs: vec!["/ip4/127.0.0.1/tcp/1".into()] };
    net.govern(Governance::SetNodes { holder: "CF".into(), nodes: vec![node("12D3KooWcf")] });
    assert_eq!(net.ledger.network.participants["CF"].participant.nodes, vec![node("12D3KooWcf")]);
    let taken = gov(Governance::SetNodes { holder: "BW".into(), nodes: vec![node("12D3KooWcf")] });
    assert_eq!(net.refused(&chair_key(), taken).code, codes::R2_NODE_IN_USE);
    let (_, mut p) = gabon();
    p.nodes = vec![node("12D3KooWcf")];
    assert_eq!(net.refused(&chair_key(), gov(Governance::AdmitParticipant(p))).code, codes::R2_NODE_IN_USE);
    // A monitor's node may be a participant's (CF's node runs MT-CF), and
    // a holder that is neither is refused.
    net.govern(Governance::SetNodes { holder: "MT-CF".into(), nodes: vec![node("12D3KooWcf")] });
    assert_eq!(net.ledger.network.monitors[0].nodes, vec![node("12D3KooWcf")]);
    let nobody = gov(Governance::SetNodes { holder: "XX".into(), nodes: vec![] });
    assert_eq!(net.refused(&chair_key(), nobody).code, codes::R2_UNKNOWN_PARTICIPANT);
    // The machine moving, for both holders it serves, drops the old one.
    net.govern(Governance::SetNodes { holder: "CF".into(), nodes: vec![node("12D3KooWcf2")] });
    net.govern(Governance::SetNodes { holder: "MT-CF".into(), nodes: vec![node("12D3KooWcf2")] });
    let ids: Vec<_> = net.ledger.network.nodes().into_iter().map(|(_, n)| n.peer_id.clone()).collect();
    assert!(!ids.contains(&"12D3KooWcf".to_string()) && ids.contains(&"12D3KooWcf2".to_string()), "{ids:?}");
}

fn statement(old: &Keypair, holder: &str, new: &Keypair, last: u64) -> SignatureBytesOf {
    let r = KeyRotation {
        network: NETWORK.into(),
        holder: holder.into(),
        old_key: old.public(),
        new_key: new.public(),
        last,
    };
    old.sign(Domain::KeyRotation, &encoding::encode(&r))
}
type SignatureBytesOf = kp_schemas::SignatureBytes;

#[test]
fn r2_a_planned_rotation_hands_the_log_to_the_new_key_and_keeps_the_participants_lots_and_licensees() {
    let mut w = World::new();
    let old = authority_key("BW");
    let new = Keypair::from_seed([61; 32]);
    w.net.record("BW", &w.cast.bw_miner, production("BW/1", "Jwaneng", None, 500, DAY));
    let (next, _) = w.net.next_of(&old);
    let last = next - 1;
    // A statement signed by another key, or for another position, is refused.
    let forged = statement(&new, "BW", &new, last);
    let rotate =
        |sig| gov(Governance::RotateKey { holder: "BW".into(), new_key: new.public(), last, statement: Some(sig) });
    assert_eq!(w.net.refused(&chair_key(), rotate(forged)).code, codes::R1_BAD_SIGNATURE);
    let wrong = statement(&old, "BW", &new, last + 1);
    assert_eq!(w.net.refused(&chair_key(), rotate(wrong)).code, codes::R1_BAD_SIGNATURE);
    w.net.write(&chair_key(), rotate(statement(&old, "BW", &new, last)));

    assert_eq!(w.net.ledger.network.participants["BW"].participant.authority, new.public());
    assert_eq!(w.net.ledger.freeze.get(&old.public()), Some(&last), "the old log is closed at its last position");
    // The old key signs nothing more; the new key's log starts at 1 and
    // spends the lot the old key's log recorded, for the same licensee.
    let late = w.net.submit(&old, register_body(&licensee_key("x"), "x", &[Role::Miner]));
    assert!(matches!(late, Ok(Verdict::Withdrawn(_))), "kept as evidence only: {late:?}");
    let rec = w.net.sign(&w.cast.bw_miner, transfer(&[("BW/1", 500)], &[("BW/2", 500, &w.cast.bw_miner)], DAY));
    let a = expect_accepted(w.net.submit(&new, countersigned(&rec)));
    assert_eq!(a.head.seq, 1);
    // A key once replaced is never given a role again.
    let (_, mut p) = gabon();
    p.authority = old.public();
    assert_eq!(w.net.refused(&chair_key(), gov(Governance::AdmitParticipant(p))).code, codes::R2_KEY_IN_USE);
}

#[test]
fn r3_a_forced_rotation_withdraws_the_old_keys_later_entries_in_every_order() {
    // BW's key is stolen: the thief signs two entries after position 3.
    // The chair closes the old log at 3. A node that accepted the thief's
    // entries before the rotation and one that sees the rotation first end
    // with the same state.
    let mut base = Net::new();
    let old = authority_key("BW");
    for i in 0..3 {
        let l = licensee_key(&format!("bw-{i}"));
        base.write(&old, register_body(&l, "bw", &[Role::Miner]));
    }
    let mut thief = base.clone();
    let stolen: Vec<SignedEntry> = (0..2)
        .map(|i| thief.prepare(&old, register_body(&licensee_key(&format!("thief-{i}")), "t", &[Role::Miner])))
        .collect();
    let new = Keypair::from_seed([62; 32]);
    let forced = gov(Governance::RotateKey { holder: "BW".into(), new_key: new.public(), last: 3, statement: None });

    let mut a = base.clone();
    for e in &stolen {
        expect_accepted(a.ingest(e));
    }
    let rotation = a.prepare(&chair_key(), forced);
    expect_accepted(a.ingest(&rotation));

    let mut b = base.clone();
    expect_accepted(b.ingest(&rotation));
    for e in &stolen {
        assert!(matches!(b.ingest(e), Ok(Verdict::Withdrawn(_))), "beyond the closed log's last position");
    }
    for n in [&a, &b] {
        assert_eq!(n.ledger.heads[&old.public()].seq, 3);
        assert!(!n.ledger.licensees.keys().any(|(_, k)| *k == licensee_key("thief-0").public()));
        assert_eq!(n.ledger.network.participants["BW"].participant.authority, new.public());
    }
    assert_eq!(a.ledger.licensees, b.ledger.licensees);
    assert_eq!(a.ledger.withdrawn.len(), 2);
    assert_eq!(b.ledger.withdrawn.len(), 2);
}

#[test]
fn r2_a_monitor_key_rotates_and_the_chair_hands_over() {
    let mut net = Net::new();
    let new_mt = Keypair::from_seed([63; 32]);
    net.govern(Governance::RotateKey { holder: "MT-CF".into(), new_key: new_mt.public(), last: 0, statement: None });
    assert_eq!(net.ledger.network.monitors[0].key, new_mt.public());
    net.write(&new_mt, zone_body("CF", "BER", "Berberati", ZoneState::Compliant, DAY));
    // The old monitor key's log had no entry: it is closed at 0.
    let late = net.submit(&monitor_key(), zone_body("CF", "NOL", "Nola", ZoneState::Compliant, DAY));
    assert!(matches!(late, Ok(Verdict::Withdrawn(_))), "{late:?}");

    let next = Keypair::from_seed([64; 32]);
    net.govern(Governance::ChairHandover { new_chair: next.public() });
    let lift = gov(Governance::SuspendParticipant { code: "BW".into(), reason: "r".into(), from: 0 });
    assert_eq!(net.refused(&chair_key(), lift.clone()).code, codes::R2_KEY_RETIRED);
    net.write(&next, lift);
    let again = gov(Governance::ChairHandover { new_chair: chair_key().public() });
    assert_eq!(net.refused(&next, again).code, codes::R2_KEY_IN_USE, "a replaced chair key never returns");
}

#[test]
fn every_governance_entry_makes_the_next_roster_version_naming_the_one_before() {
    let mut net = Net::new();
    let genesis = net.ledger.network.clone();
    assert_eq!(genesis.version_hash(), genesis.roster_hash);
    let (_, p) = gabon();
    let a = net.govern(Governance::AdmitConditionally { participant: p, conditions: vec!["c".into()] });
    let v2 = net.ledger.network.clone();
    assert_eq!(
        (v2.version, v2.decided_by, v2.previous),
        (genesis.version + 1, Some(a.hash), Some(genesis.roster_hash))
    );
    let b = net.govern(Governance::LiftConditions { code: "GA".into(), note: "met".into() });
    let v3 = net.ledger.network.clone();
    assert_eq!((v3.version, v3.decided_by, v3.previous), (v2.version + 1, Some(b.hash), Some(v2.version_hash())));
    assert_ne!(v2.version_hash(), v3.version_hash());
    // A refused governance entry makes no version.
    net.refused(&chair_key(), gov(Governance::LiftConditions { code: "GA".into(), note: "again".into() }));
    assert_eq!(net.ledger.network, v3);
}

#[test]
fn r3_the_new_keys_log_waits_for_the_old_keys_log_up_to_the_position_the_rotation_kept() {
    // A node may receive the rotation and the new key's first entry before
    // the old log's last entries: the new entry spends a lot the old log
    // made, so it waits for them instead of being refused.
    let mut w = World::new();
    let old = authority_key("BW");
    let new = Keypair::from_seed([65; 32]);
    let base = w.net.ledger.clone();
    let rec = w.net.sign(&w.cast.bw_miner, production("BW/9", "J", None, 700, DAY));
    let production_entry = w.net.prepare(&old, countersigned(&rec));
    w.net.ingest(&production_entry).unwrap();
    let rotation = w.net.prepare(
        &chair_key(),
        gov(Governance::RotateKey { holder: "BW".into(), new_key: new.public(), last: 0, statement: None }),
    );
    expect_accepted(w.net.ingest(&rotation));
    w.net.rotated_to("BW", new.clone());
    let rec = w.net.sign(&w.cast.bw_miner, transfer(&[("BW/9", 700)], &[("BW/10", 700, &w.cast.bw_miner)], DAY));
    let spend = w.net.prepare(&new, countersigned(&rec));
    expect_accepted(w.net.ingest(&spend));

    let mut late = w.net.clone();
    late.ledger = base;
    expect_accepted(late.ingest(&rotation));
    let r = expect_refused(late.ingest(&spend));
    assert_eq!(r.code, codes::R3_MISSING_DEPENDENCY, "{r:?}");
    expect_accepted(late.ingest(&production_entry));
    expect_accepted(late.ingest(&spend));
    assert_eq!(late.ledger.lots, w.net.ledger.lots);
}

#[test]
fn the_roster_chain_a_node_serves_checks_from_its_genesis() {
    use kp_schemas::api::{RosterChain, RosterVersion};
    let mut net = Net::new();
    let genesis = kp_schemas::roster::sign(dev_roster(), &chair_key());
    let (_, p) = gabon();
    net.govern(Governance::AdmitConditionally { participant: p, conditions: vec!["c".into()] });
    net.govern(Governance::LiftConditions { code: "GA".into(), note: "met".into() });
    let mut versions = vec![net.ledger.genesis.clone()];
    let mut later: Vec<_> = net.ledger.governance.values().map(|n| n.as_ref().clone()).collect();
    later.sort_by_key(|n| n.version);
    versions.extend(later);
    let version = |n: &kp_schemas::state::NetworkState| RosterVersion {
        version: n.version,
        hash: n.version_hash(),
        previous: n.previous,
        decided_by: n.decided_by,
        change: None,
        timestamp_ms: None,
        network: n.clone(),
    };
    let chain = RosterChain { genesis: genesis.clone(), versions: versions.iter().map(version).collect() };
    assert_eq!(chain.check(), Ok(()));

    let mut skipped = chain.clone();
    skipped.versions.remove(1);
    assert!(skipped.check().unwrap_err().contains("does not follow version"), "{:?}", skipped.check());
    let mut edited = chain.clone();
    edited.versions[2].network.participants.remove("GA");
    assert!(edited.check().unwrap_err().contains("does not hash to"));
    let mut other = chain.clone();
    other.genesis = kp_schemas::roster::sign(Roster { version: 9, ..dev_roster() }, &chair_key());
    assert!(other.check().unwrap_err().contains("is not the genesis roster"));
    let mut forged = chain;
    forged.genesis.signature.0[0] ^= 1;
    assert!(forged.check().unwrap_err().contains("does not verify"));
}
