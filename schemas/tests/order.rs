//! Verdicts never depend on arrival order: every fact of another log that a
//! verdict reads is named in the entry's context (R3), so two ledgers that
//! receive the same entries in different orders accept the same ones and
//! derive the same state.

mod common;

use common::*;
use kp_schemas::codes;
use kp_schemas::model::*;
use kp_schemas::rules::Verdict;
use kp_schemas::{Keypair, SignedEntry};

/// Feed entries in the order given, retrying those that wait on another
/// entry, until nothing moves. Returns the codes of final refusals.
fn deliver(net: &mut Net, entries: &[&SignedEntry]) -> Vec<String> {
    let mut waiting: Vec<&SignedEntry> = entries.to_vec();
    let mut refused = Vec::new();
    loop {
        let before = waiting.len();
        waiting.retain(|e| match net.ingest(e) {
            Ok(_) => false,
            Err(r) if r.is_missing_dependency() => true,
            Err(r) => {
                refused.push(r.code);
                false
            }
        });
        if waiting.is_empty() || waiting.len() == before {
            refused.extend(waiting.iter().map(|_| "waiting".to_string()));
            return refused;
        }
    }
}

#[test]
fn r2_a_suspension_stops_the_log_from_the_position_it_names_in_either_order() {
    let mut w = World::new();
    let bw = authority_key("BW");
    let m = w.cast.bw_miner.clone();
    let base = w.net.clone();
    // BW writes on, not knowing of the suspension; the chair suspends BW
    // from the position after the head it holds.
    let rec = w.net.sign(&m, production("BW/1", "J", None, 100, "2017-03-01"));
    let before = w.net.prepare(&bw, countersigned(&rec));
    let mut chair_view = base.clone();
    let suspend = chair_view.prepare(
        &chair_key(),
        Body::Governance(Governance::SuspendParticipant { code: "BW".into(), reason: "r".into(), from: 0 }),
    );
    let from = match &suspend.entry().body {
        Body::Governance(Governance::SuspendParticipant { from, .. }) => *from,
        _ => unreachable!(),
    };
    assert_eq!(from, before.entry().seq, "the chair's node held BW up to the entry before");
    // Two ledgers, two orders: BW's entry was judged against the network
    // before the suspension, and is accepted by both.
    let (mut a, mut b) = (base.clone(), base.clone());
    assert!(deliver(&mut a, &[&before, &suspend]).is_empty());
    assert!(deliver(&mut b, &[&suspend, &before]).is_empty());
    assert_eq!(a.ledger.lots, b.ledger.lots);
    assert_eq!(a.ledger.network, b.ledger.network);
    // An entry of BW that names the suspension is refused by both.
    a.commit(&before);
    let rec = a.sign(&m, production("BW/2", "J", None, 100, "2017-03-02"));
    let after = a.prepare(&bw, countersigned(&rec));
    assert!(after.entry().context.contains(&suspend.hash()));
    assert_eq!(a.ingest(&after).unwrap_err().code, codes::R2_AUTHOR_SUSPENDED);
    assert_eq!(b.ingest(&after).unwrap_err().code, codes::R2_AUTHOR_SUSPENDED);
    // Reinstated from that position, BW writes again.
    a.commit(&suspend);
    let reinstate = a.prepare(
        &chair_key(),
        Body::Governance(Governance::ReinstateParticipant { code: "BW".into(), from: after.entry().seq }),
    );
    assert!(matches!(a.ingest(&reinstate), Ok(Verdict::Accepted(_))));
    let again = a.build_at(&bw, after.entry().seq, after.entry().prev, countersigned(&rec));
    assert!(matches!(a.ingest(&again), Ok(Verdict::Accepted(_))), "reinstated");
}

#[test]
fn r3_a_monitors_attestation_waits_for_the_entry_that_created_its_lot() {
    let mut w = World::new();
    let base = w.net.clone();
    let m = w.cast.cf_miner.clone();
    let body = w.cf_production("CF/BER/1", "BER", 100, "2017-03-01");
    let rec = w.net.sign(&m, body);
    let created = w.net.prepare(&authority_key("CF"), countersigned(&rec));
    w.net.ingest(&created).unwrap();
    let hold = w.net.prepare(
        &monitor_key(),
        Body::Attestation(Attestation {
            subject: Subject::Lot { participant: "CF".into(), lot: "CF/BER/1".into() },
            kind: AttestationKind::Hold,
            note: "site visit".into(),
        }),
    );
    assert!(hold.entry().context.contains(&created.hash()));
    let (mut a, mut b) = (base.clone(), base);
    assert!(deliver(&mut a, &[&created, &hold]).is_empty());
    assert!(deliver(&mut b, &[&hold, &created]).is_empty());
    assert_eq!(a.ledger.attestations, b.ledger.attestations);
    assert_eq!(a.ledger.attestations.len(), 1);
}

#[test]
fn r3_an_attestation_must_name_the_entry_that_created_its_subject() {
    let mut w = World::new();
    let m = w.cast.cf_miner.clone();
    w.net.record("CF", &m, w.cf_production("CF/BER/1", "BER", 100, "2017-03-01"));
    let body = Body::Attestation(Attestation {
        subject: Subject::Lot { participant: "CF".into(), lot: "CF/BER/1".into() },
        kind: AttestationKind::Hold,
        note: String::new(),
    });
    let (seq, prev) = w.net.next_of(&monitor_key());
    let e = w.net.build_with_context(&monitor_key(), seq, prev, vec![], body);
    assert_eq!(w.net.ingest(&e).unwrap_err().code, codes::R3_BAD_CONTEXT);
}

#[test]
fn r2_an_admitted_participant_waits_for_its_admission() {
    let mut world = Net::new();
    let base = world.clone();
    let na = Keypair::from_seed([50; 32]);
    let admit = world.prepare(
        &chair_key(),
        Body::Governance(Governance::AdmitParticipant(Participant {
            code: "NA".into(),
            name: "Namibia".into(),
            authority: na.public(),
            zone_regime: false,
            nodes: vec![],
        })),
    );
    world.ingest(&admit).unwrap();
    let first = world.prepare(&na, register_body(&licensee_key("na miner"), "na miner", &[Role::Miner]));
    assert!(first.entry().context.contains(&admit.hash()));
    let (mut a, mut b) = (base.clone(), base);
    assert!(deliver(&mut a, &[&admit, &first]).is_empty());
    assert!(deliver(&mut b, &[&first, &admit]).is_empty());
    assert_eq!(a.ledger.licensees, b.ledger.licensees);
}

#[test]
fn r3_the_chairs_entries_read_the_network_their_own_log_made() {
    let mut net = Net::new();
    net.govern(Governance::SuspendParticipant { code: "BW".into(), reason: "r".into(), from: 0 });
    // A governance entry naming no governance context, after the first.
    let (seq, prev) = net.next_of(&chair_key());
    let g = Body::Governance(Governance::ReinstateParticipant { code: "BW".into(), from: 5 });
    let e = net.build_with_context(&chair_key(), seq, prev, vec![], g);
    assert_eq!(net.ingest(&e).unwrap_err().code, codes::R3_BAD_CONTEXT);
}

#[test]
fn r2_a_suspended_exporter_naming_an_older_network_is_stopped_at_the_border() {
    let mut w = World::new();
    let cf = authority_key("CF");
    let (m, x) = (w.cast.cf_miner.clone(), w.cast.cf_exporter.clone());
    let body = w.cf_production("CF/BER/1", "BER", 100, "2017-03-01");
    w.net.record("CF", &m, body);
    w.net.record("CF", &m, transfer(&[("CF/BER/1", 100)], &[("CF/X", 100, &x)], "2017-03-02"));
    let before = w.net.ledger.clone();
    w.net.govern(Governance::SuspendParticipant { code: "CF".into(), reason: "r".into(), from: 0 });
    // CF's writer names the network before its suspension, as a hostile
    // one would: its own log takes the export.
    let rec = w.net.sign(&x, export("CF-1", "EU", &[("CF/X", 100)], &[("7102.31", 100)], "2017-03-03"));
    let Ok(stale) =
        kp_schemas::context::writer_context(&before, &cf.public(), &countersigned(&rec), Some(rec.record()));
    let (seq, prev) = w.net.next_of(&cf);
    let e = w.net.build_with_context(&cf, seq, prev, stale, countersigned(&rec));
    assert!(matches!(w.net.ingest(&e), Ok(Verdict::Accepted(_))));
    w.net.commit(&e);
    // The EU's node names the network it holds: the shipment is recorded,
    // flagged, and cannot leave again.
    let trader = w.cast.eu_trader.clone();
    let a = w.net.confirm("CF-1", "EU/CF-1", &trader, "2017-03-10");
    assert!(a.flags.iter().any(|f| f.starts_with("R2") && f.contains("suspended")), "{:?}", a.flags);
    assert!(!w.net.lot("EU", "EU/CF-1").compliant);
    let t = kp_schemas::trail::lot_trail(&w.net.ledger, "EU", "EU/CF-1", "2018-01-01").unwrap();
    assert!(!t.compliance.compliant, "{:?}", t.compliance);
    let r = w.net.record_refused(
        "EU",
        &trader,
        export("EU-1", "IN", &[("EU/CF-1", 100)], &[("7102.31", 100)], "2017-03-11"),
    );
    assert_eq!(r.code, codes::R6_NON_COMPLIANT_LOT);
}
