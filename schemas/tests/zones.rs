//! R6 over time: a zone's status as the statuses an entry names say, so no
//! lot from a zone suspended on or before its production ever leaves, and
//! every ledger reaches the same verdict whatever it holds besides. Also the
//! context's own rules (R3, R9) and R7's flag on a late confirmation.

mod common;

use common::*;
use kp_schemas::model::*;
use kp_schemas::rules::Verdict;
use kp_schemas::trail;
use kp_schemas::{Hash32, Keypair};

const TODAY: &str = "2018-06-01";

/// A production by the CF miner in `zone` on `date`, naming `status`.
fn produce(w: &mut World, lot: &str, zone: &str, status: Option<Hash32>, weight: Weight, date: &str) -> Vec<String> {
    let body = production(lot, &format!("{zone} site"), Some((zone, status)), weight, date);
    let m = w.cast.cf_miner.clone();
    w.net.record("CF", &m, body).flags
}

/// Move lots of the CF miner into one lot of the CF exporter.
fn to_exporter(w: &mut World, inputs: &[(&str, Weight)], lot: &str, date: &str) {
    let total = inputs.iter().map(|(_, w)| w).sum();
    let (m, x) = (w.cast.cf_miner.clone(), w.cast.cf_exporter.clone());
    w.net.record("CF", &m, transfer(inputs, &[(lot, total, &x)], date));
}

fn cf_export(number: &str, lot: &str, weight: Weight, date: &str) -> RecordBody {
    export(number, "EU", &[(lot, weight)], &[("7102.31", weight)], date)
}

#[test]
fn r6_a_production_after_a_suspension_is_non_compliant_whatever_status_it_names() {
    let mut w = World::new();
    let boda_compliant = w.net.declare_zone("CF", "BOD2", "Boda", ZoneState::Compliant, "2016-06-01");
    w.net.declare_zone("CF", "BOD2", "Boda", ZoneState::Suspended, "2017-05-01");
    // The miner names the old status, as a client that fetched it earlier would.
    let flags = produce(&mut w, "CF/BOD/1", "BOD2", Some(boda_compliant), 1000, "2017-06-10");
    assert!(flags.iter().any(|f| f.starts_with("R6") && f.contains("suspended from 2017-05-01")), "{flags:?}");
    assert!(!w.net.lot("CF", "CF/BOD/1").compliant);
    assert!(w.net.lot("CF", "CF/BOD/1").zones.is_empty());

    to_exporter(&mut w, &[("CF/BOD/1", 1000)], "CF/BOD/X", "2017-06-11");
    let x = w.cast.cf_exporter.clone();
    let r = w.net.record_refused("CF", &x, cf_export("CF-1", "CF/BOD/X", 1000, "2017-06-12"));
    assert_eq!(r.code, codes::R6_NON_COMPLIANT_LOT);

    // Before the suspension took effect, the same zone was compliant.
    produce(&mut w, "CF/BOD/2", "BOD2", Some(boda_compliant), 1000, "2017-04-30");
    assert!(w.net.lot("CF", "CF/BOD/2").compliant);
}

#[test]
fn r6_a_suspension_recorded_later_stops_the_lot_and_every_mix_from_leaving() {
    let mut w = World::new();
    let (gazi, ber) = (w.zones["GAZ"], w.zones["BER"]);
    produce(&mut w, "CF/GAZ/1", "GAZ", Some(gazi), 1000, "2017-06-10");
    produce(&mut w, "CF/BER/1", "BER", Some(ber), 500, "2017-06-10");
    produce(&mut w, "CF/BER/2", "BER", Some(ber), 700, "2017-06-10");
    assert!(w.net.lot("CF", "CF/GAZ/1").compliant);
    // A mix of Gazi and Berberati, split in two.
    let (m, o) = (w.cast.cf_miner.clone(), w.cast.cf_office.clone());
    w.net.record(
        "CF",
        &m,
        transfer(
            &[("CF/GAZ/1", 1000), ("CF/BER/1", 500)],
            &[("CF/MIX/a", 900, &m), ("CF/MIX/b", 600, &o)],
            "2017-06-11",
        ),
    );
    let marks = &w.net.lot("CF", "CF/MIX/a").zones;
    assert_eq!(marks.iter().map(|m| m.zone.as_str()).collect::<Vec<_>>(), vec!["BER", "GAZ"]);

    // MT-CF learns of armed groups in Gazi since June 1st, and says so later.
    w.net.declare_zone("CF", "GAZ", "Gazi", ZoneState::Suspended, "2017-06-01");
    to_exporter(&mut w, &[("CF/MIX/a", 900)], "CF/MIX/X", "2017-06-20");
    let x = w.cast.cf_exporter.clone();
    let r = w.net.record_refused("CF", &x, cf_export("CF-1", "CF/MIX/X", 900, "2017-06-21"));
    assert_eq!(r.code, codes::R6_ZONE_SUSPENDED);
    assert!(r.message.contains("zone GAZ of CF is suspended from 2017-06-01"), "{}", r.message);
    // The lot was compliant when produced, and stays recorded as such; the
    // trail shows what stops it.
    assert!(w.net.lot("CF", "CF/GAZ/1").compliant);
    let t = trail::lot_trail(&w.net.ledger, "CF", "CF/MIX/X", TODAY).unwrap();
    assert!(!t.compliance.compliant);
    assert!(
        t.compliance.problems.iter().any(|p| p.contains("GAZ") && p.contains("suspended") && p.contains("2017-06-01")),
        "{:?}",
        t.compliance
    );

    // Berberati alone still leaves.
    to_exporter(&mut w, &[("CF/BER/2", 700)], "CF/BER/X", "2017-06-20");
    w.net.record("CF", &x, cf_export("CF-2", "CF/BER/X", 700, "2017-06-21"));
}

#[test]
fn r6_a_suspension_effective_after_the_production_does_not_stop_the_lot() {
    let mut w = World::new();
    let gazi = w.zones["GAZ"];
    produce(&mut w, "CF/GAZ/1", "GAZ", Some(gazi), 1000, "2017-06-10");
    w.net.declare_zone("CF", "GAZ", "Gazi", ZoneState::Suspended, "2017-06-11");
    to_exporter(&mut w, &[("CF/GAZ/1", 1000)], "CF/GAZ/X", "2017-06-20");
    let x = w.cast.cf_exporter.clone();
    w.net.record("CF", &x, cf_export("CF-1", "CF/GAZ/X", 1000, "2017-06-21"));
    let t = trail::certificate_trail(&w.net.ledger, "CF-1", TODAY).unwrap();
    assert!(t.compliance.compliant, "{:?}", t.compliance);
}

#[test]
fn r6_a_suspension_reaches_a_shipment_exported_before_it_was_recorded() {
    let mut w = World::new();
    let gazi = w.zones["GAZ"];
    produce(&mut w, "CF/GAZ/1", "GAZ", Some(gazi), 1000, "2017-06-10");
    to_exporter(&mut w, &[("CF/GAZ/1", 1000)], "CF/GAZ/X", "2017-06-20");
    let x = w.cast.cf_exporter.clone();
    w.net.record("CF", &x, cf_export("CF-1", "CF/GAZ/X", 1000, "2017-06-21"));
    assert_eq!(w.net.cert("CF-1").zones.len(), 1);

    w.net.declare_zone("CF", "GAZ", "Gazi", ZoneState::Suspended, "2017-06-01");
    // The shipment has arrived: the EU records it, and its lot cannot leave.
    let trader = w.cast.eu_trader.clone();
    let a = w.net.confirm("CF-1", "EU/CF-1", &trader, "2017-06-25");
    assert!(a.flags.iter().any(|f| f.starts_with("R6") && f.contains("GAZ")), "{:?}", a.flags);
    assert!(!w.net.lot("EU", "EU/CF-1").compliant);
    let r = w.net.record_refused(
        "EU",
        &trader,
        export("EU-1", "IN", &[("EU/CF-1", 1000)], &[("7102.31", 1000)], "2017-06-30"),
    );
    assert_eq!(r.code, codes::R6_NON_COMPLIANT_LOT);
}

#[test]
fn r6_the_verdict_reads_the_statuses_the_entry_names_not_those_the_ledger_holds() {
    let mut w = World::new();
    let gazi = w.zones["GAZ"];
    produce(&mut w, "CF/GAZ/1", "GAZ", Some(gazi), 1000, "2017-06-10");
    to_exporter(&mut w, &[("CF/GAZ/1", 1000)], "CF/GAZ/X", "2017-06-20");
    // Two ledgers: `a` has received the suspension, `b` not yet.
    let mut b = w.net.clone();
    let suspension = w.net.prepare(&monitor_key(), zone_body("CF", "GAZ", "Gazi", ZoneState::Suspended, "2017-06-01"));
    let mut a = w.net.clone();
    assert!(matches!(a.ingest(&suspension), Ok(Verdict::Accepted(_))));

    let x = w.cast.cf_exporter.clone();
    let cf = authority_key("CF");
    let rec = a.sign(&x, cf_export("CF-1", "CF/GAZ/X", 1000, "2017-06-21"));
    let (seq, prev) = a.next_of(&cf);
    // Judged by a writer that did not hold the suspension: accepted by both.
    let before = a.build_with_context(&cf, seq, prev, vec![gazi], countersigned(&rec));
    // Judged by a writer that held it: refused by both, once `b` has it too.
    let after = a.build_with_context(&cf, seq, prev, vec![suspension.hash()], countersigned(&rec));
    let (mut a2, mut b2) = (a.clone(), b.clone());
    assert!(matches!(a2.ingest(&before), Ok(Verdict::Accepted(_))));
    assert!(matches!(b2.ingest(&before), Ok(Verdict::Accepted(_))));
    assert_eq!(a2.ledger.certs, b2.ledger.certs);

    assert_eq!(a.ingest(&after).unwrap_err().code, codes::R6_ZONE_SUSPENDED);
    let wait = b.ingest(&after).unwrap_err();
    assert!(wait.is_missing_dependency(), "{wait:?}");
    assert!(matches!(b.ingest(&suspension), Ok(Verdict::Accepted(_))));
    assert_eq!(b.ingest(&after).unwrap_err().code, codes::R6_ZONE_SUSPENDED);
}

/// Sign the next entry of `key` with an explicit context.
fn with_context(net: &mut Net, key: &Keypair, context: Vec<Hash32>, body: Body) -> SignedEntry {
    let (seq, prev) = net.next_of(key);
    net.build_with_context(key, seq, prev, context, body)
}

use kp_schemas::SignedEntry;
use kp_schemas::codes;

#[test]
fn r3_a_context_naming_a_zone_the_verdict_does_not_read_is_refused() {
    let mut w = World::new();
    let ber = w.zones["BER"];
    produce(&mut w, "CF/BER/1", "BER", Some(ber), 1000, "2017-06-10");
    let m = w.cast.cf_miner.clone();
    let x = w.cast.cf_exporter.clone();
    let rec = w.net.sign(&m, transfer(&[("CF/BER/1", 1000)], &[("CF/X", 1000, &x)], "2017-06-11"));
    let e = with_context(&mut w.net, &authority_key("CF"), vec![ber], countersigned(&rec));
    assert_eq!(w.net.ingest(&e).unwrap_err().code, codes::R3_BAD_CONTEXT);
    // A production in Nola naming Berberati's status in its context.
    let rec = w.net.sign(&m, production("CF/NOL/1", "Nola", Some(("NOL", None)), 10, "2017-06-10"));
    let e = with_context(&mut w.net, &authority_key("CF"), vec![ber], countersigned(&rec));
    assert_eq!(w.net.ingest(&e).unwrap_err().code, codes::R3_BAD_CONTEXT);
}

#[test]
fn r3_a_context_must_reach_the_status_the_record_names() {
    let mut w = World::new();
    let ber = w.zones["BER"];
    let newer = w.net.declare_zone("CF", "BER", "Berberati", ZoneState::Compliant, "2017-02-01");
    let m = w.cast.cf_miner.clone();
    let rec = w.net.sign(&m, production("CF/BER/1", "BER site", Some(("BER", Some(newer))), 10, "2017-06-10"));
    let e = with_context(&mut w.net, &authority_key("CF"), vec![ber], countersigned(&rec));
    assert_eq!(w.net.ingest(&e).unwrap_err().code, codes::R3_BAD_CONTEXT);
    let e = with_context(&mut w.net, &authority_key("CF"), vec![newer], countersigned(&rec));
    assert!(matches!(w.net.ingest(&e), Ok(Verdict::Accepted(_))));
}

#[test]
fn r3_two_statuses_of_one_zone_by_one_monitor_make_a_bad_context() {
    let mut w = World::new();
    let ber = w.zones["BER"];
    let newer = w.net.declare_zone("CF", "BER", "Berberati", ZoneState::Compliant, "2017-02-01");
    let m = w.cast.cf_miner.clone();
    let rec = w.net.sign(&m, production("CF/BER/1", "BER site", Some(("BER", Some(ber))), 10, "2017-06-10"));
    let mut both = vec![ber, newer];
    both.sort();
    let e = with_context(&mut w.net, &authority_key("CF"), both, countersigned(&rec));
    assert_eq!(w.net.ingest(&e).unwrap_err().code, codes::R3_BAD_CONTEXT);
}

#[test]
fn r9_a_context_out_of_order_or_repeated_is_refused() {
    let mut w = World::new();
    let (ber, gaz) = (w.zones["BER"], w.zones["GAZ"]);
    let m = w.cast.cf_miner.clone();
    let rec = w.net.sign(&m, production("CF/BER/1", "BER site", Some(("BER", Some(ber))), 10, "2017-06-10"));
    let (lo, hi) = if ber < gaz { (ber, gaz) } else { (gaz, ber) };
    for bad in [vec![hi, lo], vec![ber, ber]] {
        let e = with_context(&mut w.net, &authority_key("CF"), bad, countersigned(&rec));
        assert_eq!(w.net.ingest(&e).unwrap_err().code, codes::R9_BAD_CONTEXT);
    }
}

#[test]
fn r3_a_zone_status_chains_to_the_previous_status_of_its_zone() {
    let mut w = World::new();
    let ber = w.zones["BER"];
    let monitor = monitor_key();
    let status = |previous: Option<Hash32>| {
        Body::ZoneStatus(ZoneStatus {
            participant: "CF".into(),
            zone: "BER".into(),
            name: "Berberati".into(),
            status: ZoneState::Suspended,
            effective: "2017-06-01".into(),
            previous,
        })
    };
    // Signed as given, without the harness's chaining.
    for wrong in [None, Some(w.zones["GAZ"]), Some(Hash32([7; 32]))] {
        let e = with_context(&mut w.net, &monitor, vec![], status(wrong));
        assert_eq!(w.net.ingest(&e).unwrap_err().code, codes::R3_ZONE_CHAIN, "previous {wrong:?}");
    }
    let e = with_context(&mut w.net, &monitor, vec![], status(Some(ber)));
    assert!(matches!(w.net.ingest(&e), Ok(Verdict::Accepted(_))));
    // A zone never declared starts a chain of its own.
    w.net.commit(&e);
    let first = Body::ZoneStatus(ZoneStatus { zone: "NEW".into(), previous: None, ..zone_status_of(&status(None)) });
    let e = with_context(&mut w.net, &monitor, vec![], first);
    assert!(matches!(w.net.ingest(&e), Ok(Verdict::Accepted(_))));
}

fn zone_status_of(b: &Body) -> ZoneStatus {
    match b {
        Body::ZoneStatus(z) => z.clone(),
        _ => unreachable!("a zone status"),
    }
}

#[test]
fn r7_a_confirmation_after_the_certificate_expired_is_accepted_and_flagged() {
    let mut w = World::new();
    let ber = w.zones["BER"];
    produce(&mut w, "CF/BER/1", "BER", Some(ber), 1000, "2017-03-01");
    to_exporter(&mut w, &[("CF/BER/1", 1000)], "CF/BER/X", "2017-03-02");
    let x = w.cast.cf_exporter.clone();
    w.net.record("CF", &x, cf_export("CF-1", "CF/BER/X", 1000, "2017-03-03"));
    let expires = w.net.cert("CF-1").expires;
    assert_eq!(expires, "2018-03-03");
    let trader = w.cast.eu_trader.clone();
    let a = w.net.confirm("CF-1", "EU/CF-1", &trader, "2018-03-04");
    assert!(a.flags.iter().any(|f| f.starts_with("R7") && f.contains("expired on 2018-03-03")), "{:?}", a.flags);
    assert!(w.net.cert("CF-1").confirmation.unwrap().after_expiry);
    let t = trail::certificate_trail(&w.net.ledger, "CF-1", TODAY).unwrap();
    assert!(t.compliance.problems.iter().any(|p| p.contains("after it expired")), "{:?}", t.compliance);

    // On the day of expiry it is still in time.
    produce(&mut w, "CF/BER/2", "BER", Some(ber), 1000, "2017-03-01");
    to_exporter(&mut w, &[("CF/BER/2", 1000)], "CF/BER/Y", "2017-03-02");
    w.net.record("CF", &x, cf_export("CF-2", "CF/BER/Y", 1000, "2017-03-03"));
    let a = w.net.confirm("CF-2", "EU/CF-2", &trader, "2018-03-03");
    assert!(a.flags.is_empty(), "{:?}", a.flags);
}
