//! The trail of a lot or a certificate: origin shares through splits and
//! mixes, compliance with its reasons, and a DAG walked once per lot.

mod common;

use common::*;
use kp_schemas::codes;
use kp_schemas::model::*;
use kp_schemas::trail::{self, NodeKind, Trail, TrailNode};

const DAY: &str = "2017-03-01";
const TODAY: &str = "2017-12-31";

fn lot_trail(w: &World, p: &str, lot: &str) -> Trail {
    trail::lot_trail(&w.net.ledger, p, lot, TODAY).unwrap_or_else(|e| panic!("trail of {lot}: {e}"))
}

fn share(t: &Trail, country: &str) -> f64 {
    t.origins.iter().find(|o| o.country == country).map_or(0.0, |o| o.share)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn nodes(t: &Trail) -> Vec<&TrailNode> {
    fn walk<'a>(n: &'a TrailNode, out: &mut Vec<&'a TrailNode>) {
        out.push(n);
        for c in &n.inputs {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    walk(&t.root, &mut out);
    out
}

fn has(lines: &[String], words: &[&str]) -> bool {
    lines.iter().any(|l| words.iter().all(|w| l.contains(w)))
}

/// A CF Berberati lot and a BW lot of the given weights, each exported to
/// and confirmed by the EU as `EU/CF` and `EU/BW`, held by the EU trader.
fn eu_imports(w: &mut World, cf: Weight, bw: Weight) {
    let c = &w.cast;
    let (cf_miner, cf_exporter, bw_miner, bw_exporter, eu) =
        (c.cf_miner.clone(), c.cf_exporter.clone(), c.bw_miner.clone(), c.bw_exporter.clone(), c.eu_trader.clone());
    let body = w.cf_production("CF/BER/1", "BER", cf, DAY);
    w.net.record("CF", &cf_miner, body);
    w.net.record("CF", &cf_miner, transfer(&[("CF/BER/1", cf)], &[("CF/X/1", cf, &cf_exporter)], DAY));
    w.net.record("CF", &cf_exporter, export("CF-1", "EU", &[("CF/X/1", cf)], &[("7102.31", cf)], "2017-03-10"));
    w.net.record("BW", &bw_miner, production("BW/JWA/1", "Jwaneng", None, bw, DAY));
    w.net.record("BW", &bw_miner, transfer(&[("BW/JWA/1", bw)], &[("BW/X/1", bw, &bw_exporter)], DAY));
    w.net.record("BW", &bw_exporter, export("BW-1", "EU", &[("BW/X/1", bw)], &[("7102.10", bw)], "2017-03-10"));
    w.net.confirm("CF-1", "EU/CF", &eu, "2017-03-20");
    w.net.confirm("BW-1", "EU/BW", &eu, "2017-03-20");
}

#[test]
fn shares_follow_the_weight_taken_through_splits_and_mixes() {
    let mut w = World::new();
    eu_imports(&mut w, 3000, 1000);
    let eu = w.cast.eu_trader.clone();

    // A lot of one origin is wholly that origin.
    let t = lot_trail(&w, "EU", "EU/CF");
    assert_eq!(t.origins.len(), 1);
    assert_eq!((t.origins[0].country.as_str(), t.origins[0].share, t.origins[0].weight), ("CF", 1.0, 3000.0));

    // Split: each part keeps the origin of the whole.
    w.net.record("EU", &eu, transfer(&[("EU/CF", 3000)], &[("EU/X", 1000, &eu), ("EU/Y", 2000, &eu)], "2017-04-01"));
    assert!(close(share(&lot_trail(&w, "EU", "EU/Y"), "CF"), 1.0));
    // Mix 1000 CF with 1000 BW: half each.
    w.net.record("EU", &eu, transfer(&[("EU/X", 1000), ("EU/BW", 1000)], &[("EU/M", 2000, &eu)], "2017-04-02"));
    let t = lot_trail(&w, "EU", "EU/M");
    assert!(close(share(&t, "CF"), 0.5) && close(share(&t, "BW"), 0.5), "{:?}", t.origins);
    // Mix half of M with 500 of Y: the share counts the weight taken, not the
    // weight of the lot taken from. CF = (1000 * 0.5 + 500) / 1500 = 2/3.
    w.net.record("EU", &eu, transfer(&[("EU/M", 1000), ("EU/Y", 500)], &[("EU/N", 1500, &eu)], "2017-04-03"));
    let t = lot_trail(&w, "EU", "EU/N");
    assert!(close(share(&t, "CF"), 2.0 / 3.0) && close(share(&t, "BW"), 1.0 / 3.0), "{:?}", t.origins);
    let weights: Vec<(&str, f64)> = t.origins.iter().map(|o| (o.country.as_str(), o.weight)).collect();
    assert!(close(weights[0].1, 500.0) && close(weights[1].1, 1000.0), "{weights:?}");
    assert!(close(t.origins.iter().map(|o| o.share).sum(), 1.0));
    assert_eq!(t.productions, 2);
    assert!(t.compliance.compliant, "{:?}", t.compliance);
    // EU/N, EU/M, EU/X, EU/CF, CF-1, CF/X/1, CF/BER/1.
    assert_eq!(t.depth, 6);
    let root_inputs: Vec<(&str, Option<Weight>, Weight)> =
        t.root.inputs.iter().map(|n| (n.id.as_str(), n.taken, n.weight)).collect();
    assert_eq!(root_inputs, vec![("EU/M", Some(1000), 2000), ("EU/Y", Some(500), 2000)]);
    assert_eq!(t.root.holder_name.as_deref(), Some("EU trader"));

    // Exported, the certificate carries the same shares.
    w.net.record("EU", &eu, export("EU-1", "IN", &[("EU/N", 1500)], &[("7102.31", 1500)], "2017-04-10"));
    let t = trail::certificate_trail(&w.net.ledger, "EU-1", TODAY).unwrap();
    assert_eq!((t.root.kind, t.root.id.as_str(), t.root.weight), (NodeKind::Export, "EU-1", 1500));
    assert!(close(share(&t, "CF"), 2.0 / 3.0) && close(share(&t, "BW"), 1.0 / 3.0));
}

#[test]
fn production_nodes_carry_site_zone_and_holder() {
    let mut w = World::new();
    let body = w.cf_production("CF/NOL/1", "NOL", 700, DAY);
    let a = w.net.record("CF", &w.cast.cf_miner, body);
    let t = lot_trail(&w, "CF", "CF/NOL/1");
    let n = &t.root;
    assert_eq!((n.kind, n.entry, n.weight, n.taken), (NodeKind::Production, a.hash, 700, None));
    assert_eq!(
        (n.site.as_deref(), n.zone.as_deref(), n.zone_name.as_deref()),
        (Some("NOL site"), Some("NOL"), Some("Nola"))
    );
    assert_eq!((n.holder, n.holder_name.as_deref()), (Some(w.cast.cf_miner.public()), Some("CF miner")));
    assert_eq!((t.productions, t.depth), (1, 0));
    assert!(t.compliance.compliant && t.compliance.problems.is_empty() && t.compliance.notes.is_empty());
}

#[test]
fn a_non_compliant_lot_shows_why() {
    let mut w = World::new();
    let (m, o) = (w.cast.cf_miner.clone(), w.cast.cf_office.clone());
    w.net.record("CF", &m, production("CF/BRI/1", "Bria", Some(("BRI", None)), 1000, DAY));
    let body = w.cf_production("CF/CAR/1", "CAR", 4000, DAY);
    w.net.record("CF", &m, body);
    w.net.record("CF", &m, transfer(&[("CF/BRI/1", 200), ("CF/CAR/1", 4000)], &[("CF/MIX", 4200, &o)], DAY));
    w.net.record("CF", &o, transfer(&[("CF/MIX", 4200)], &[("CF/A", 4000, &o), ("CF/B", 200, &o)], DAY));

    for lot in ["CF/BRI/1", "CF/MIX", "CF/A"] {
        let t = lot_trail(&w, "CF", lot);
        assert!(!t.compliance.compliant, "{lot}");
        assert!(has(&t.compliance.problems, &["R6", "CF/BRI/1", "BRI"]), "{lot}: {:?}", t.compliance.problems);
        assert!(!t.root.compliant);
    }
    let t = lot_trail(&w, "CF", "CF/A");
    let flags: Vec<(&str, bool)> = nodes(&t).iter().map(|n| (n.id.as_str(), n.compliant)).collect();
    assert_eq!(flags, vec![("CF/A", false), ("CF/MIX", false), ("CF/BRI/1", false), ("CF/CAR/1", true)]);
    // Still all CF, and still traced.
    assert!(close(share(&t, "CF"), 1.0));
    assert_eq!(t.productions, 2);
    // The Carnot lot on its own is fine.
    assert!(lot_trail(&w, "CF", "CF/CAR/1").compliance.compliant);
}

#[test]
fn a_zone_suspended_after_the_fact_is_a_note() {
    let mut w = World::new();
    let m = w.cast.cf_miner.clone();
    let body = w.cf_production("CF/BER/1", "BER", 1000, DAY);
    w.net.record("CF", &m, body);
    w.net.declare_zone("CF", "BER", "Berberati", ZoneState::Suspended, "2017-05-01");

    let t = lot_trail(&w, "CF", "CF/BER/1");
    assert!(t.compliance.compliant, "{:?}", t.compliance);
    assert!(has(&t.compliance.notes, &["BER", "suspended", "2017-05-01", "CF/BER/1"]), "{:?}", t.compliance.notes);
    assert!(w.net.lot("CF", "CF/BER/1").compliant);
    // The lot still leaves.
    let x = w.cast.cf_exporter.clone();
    w.net.record("CF", &m, transfer(&[("CF/BER/1", 1000)], &[("CF/X", 1000, &x)], "2017-06-01"));
    w.net.record("CF", &x, export("CF-1", "EU", &[("CF/X", 1000)], &[("7102.31", 1000)], "2017-06-02"));
    let t = trail::certificate_trail(&w.net.ledger, "CF-1", TODAY).unwrap();
    assert!(t.compliance.compliant);
    assert!(has(&t.compliance.notes, &["suspended"]));

    // Revoked later still: another note, still compliant.
    w.net.declare_zone("CF", "BER", "Berberati", ZoneState::Revoked, "2017-07-01");
    let t = lot_trail(&w, "CF", "CF/BER/1");
    assert!(t.compliance.compliant);
    assert!(has(&t.compliance.notes, &["revoked", "2017-07-01"]));
}

#[test]
fn production_relying_on_a_status_already_superseded_is_non_compliant() {
    let mut w = World::new();
    let m = w.cast.cf_miner.clone();
    let suspended = w.net.declare_zone("CF", "BER", "Berberati", ZoneState::Suspended, "2017-05-01");
    // Produced after the suspension took effect, naming the older compliant
    // status: the writer's context names the suspension, which decides.
    let body = w.cf_production("CF/BER/LATE", "BER", 1000, "2017-06-01");
    let flags = w.net.record("CF", &m, body).flags;
    assert!(flags.iter().any(|f| f.contains("R6") && f.contains("suspended from 2017-05-01")), "{flags:?}");
    assert!(!w.net.lot("CF", "CF/BER/LATE").compliant);
    let t = lot_trail(&w, "CF", "CF/BER/LATE");
    assert!(!t.compliance.compliant);
    assert!(has(&t.compliance.problems, &["R6", "BER", "CF/BER/LATE", "not compliant"]), "{:?}", t.compliance);

    // Naming the suspension itself: non-compliant from the start.
    w.net.record("CF", &m, production("CF/BER/LATE2", "BER site", Some(("BER", Some(suspended))), 1000, "2017-06-01"));
    let t = lot_trail(&w, "CF", "CF/BER/LATE2");
    assert!(!t.compliance.compliant);
    assert!(has(&t.compliance.problems, &["R6", "CF/BER/LATE2"]));

    // Declared compliant again: production then relying on the first status
    // is fine.
    w.net.declare_zone("CF", "BER", "Berberati", ZoneState::Compliant, "2017-08-01");
    let body = w.cf_production("CF/BER/AGAIN", "BER", 1000, "2017-09-01");
    w.net.record("CF", &m, body);
    let t = lot_trail(&w, "CF", "CF/BER/AGAIN");
    assert!(t.compliance.compliant, "{:?}", t.compliance);
}

#[test]
fn a_forged_certificate_report_is_a_problem() {
    let mut w = World::new();
    eu_imports(&mut w, 1000, 1000);
    let note = |kind| {
        Body::Attestation(Attestation {
            subject: Subject::Certificate { number: "CF-1".into() },
            kind,
            note: "seal does not match the issuing office".into(),
        })
    };
    // A plain note changes nothing.
    w.net.write(&monitor_key(), note(AttestationKind::Note));
    assert!(lot_trail(&w, "EU", "EU/CF").compliance.compliant);

    w.net.write(&monitor_key(), note(AttestationKind::ForgedCertificate));
    let t = trail::certificate_trail(&w.net.ledger, "CF-1", TODAY).unwrap();
    assert!(!t.compliance.compliant);
    assert!(has(&t.compliance.problems, &["CF-1", "forged", "seal does not match"]), "{:?}", t.compliance.problems);
    // Everything downstream of it inherits the problem.
    let t = lot_trail(&w, "EU", "EU/CF");
    assert!(!t.compliance.compliant);
    assert!(has(&t.compliance.problems, &["CF-1", "forged"]));
    // The BW import beside it is unaffected.
    assert!(lot_trail(&w, "EU", "EU/BW").compliance.compliant);
    // An importing authority may report it too.
    let by_eu = Body::Attestation(Attestation {
        subject: Subject::Certificate { number: "BW-1".into() },
        kind: AttestationKind::ForgedCertificate,
        note: "forged stamp".into(),
    });
    w.net.write(&authority_key("EU"), by_eu);
    assert!(has(&lot_trail(&w, "EU", "EU/BW").compliance.problems, &["BW-1", "forged stamp"]));
}

#[test]
fn an_unconfirmed_certificate_past_expiry_is_a_problem() {
    let mut w = World::new();
    let (m, x) = (w.cast.bw_miner.clone(), w.cast.bw_exporter.clone());
    w.net.record("BW", &m, production("BW/1", "Jwaneng", None, 1000, DAY));
    w.net.record("BW", &m, transfer(&[("BW/1", 1000)], &[("BW/2", 1000, &x)], DAY));
    w.net.record("BW", &x, export("BW-1", "EU", &[("BW/2", 500)], &[("7102.10", 500)], "2017-03-10"));
    w.net.record("BW", &x, export("BW-2", "EU", &[("BW/2", 500)], &[("7102.10", 500)], "2017-03-10"));
    assert_eq!(w.net.cert("BW-1").expires, "2018-03-10");
    let at = |w: &World, number: &str, today: &str| trail::certificate_trail(&w.net.ledger, number, today).unwrap();

    // Before expiry: a note that it waits for confirmation.
    let t = at(&w, "BW-1", "2018-03-10");
    assert!(t.compliance.compliant);
    assert!(has(&t.compliance.notes, &["BW-1", "not yet confirmed", "EU"]));
    // After: a problem.
    let t = at(&w, "BW-1", "2018-03-11");
    assert!(!t.compliance.compliant);
    assert!(has(&t.compliance.problems, &["R7", "BW-1", "expired", "2018-03-10"]), "{:?}", t.compliance.problems);

    // Once confirmed, expiry no longer matters.
    let eu = w.cast.eu_trader.clone();
    w.net.confirm("BW-2", "EU/2", &eu, "2017-03-20");
    let t = at(&w, "BW-2", "2019-01-01");
    assert!(t.compliance.compliant && t.compliance.notes.is_empty(), "{:?}", t.compliance);
    let t = trail::lot_trail(&w.net.ledger, "EU", "EU/2", "2019-01-01").unwrap();
    assert!(t.compliance.compliant);
}

#[test]
fn a_confirmation_mismatch_is_a_note() {
    let mut w = World::new();
    let (m, x, eu) = (w.cast.bw_miner.clone(), w.cast.bw_exporter.clone(), w.cast.eu_trader.clone());
    w.net.record("BW", &m, production("BW/1", "Jwaneng", None, 1000, DAY));
    w.net.record("BW", &m, transfer(&[("BW/1", 1000)], &[("BW/2", 1000, &x)], DAY));
    w.net.record("BW", &x, export("BW-1", "EU", &[("BW/2", 1000)], &[("7102.10", 1000)], "2017-03-10"));
    let body = w.net.confirmation("BW-1", 990, 2, "EU/1", &eu, "2017-03-20");
    w.net.write(&authority_key("EU"), body);
    let t = lot_trail(&w, "EU", "EU/1");
    assert!(t.compliance.compliant);
    assert!(has(&t.compliance.notes, &["R7", "9.90 ct", "10.00 ct", "BW-1"]), "{:?}", t.compliance.notes);
    // The import node weighs what arrived, the certificate what left.
    assert_eq!((t.root.weight, t.root.inputs[0].weight, t.root.inputs[0].taken), (990, 1000, Some(990)));
    assert!(close(t.origins[0].weight, 990.0));
}

#[test]
fn holds_seizures_and_lab_findings() {
    let mut w = World::new();
    let (m, lab) = (w.cast.bw_miner.clone(), w.cast.bw_lab.clone());
    w.net.record("BW", &m, production("BW/1", "Jwaneng", None, 1000, DAY));
    let attest = |kind, note: &str| {
        Body::Attestation(Attestation {
            subject: Subject::Lot { participant: "BW".into(), lot: "BW/1".into() },
            kind,
            note: note.into(),
        })
    };
    w.net.write(&authority_key("BW"), attest(AttestationKind::Hold, "inspection"));
    assert!(has(&lot_trail(&w, "BW", "BW/1").compliance.problems, &["BW/1", "on hold"]));
    w.net.write(&authority_key("BW"), attest(AttestationKind::Release, "cleared"));
    assert!(lot_trail(&w, "BW", "BW/1").compliance.compliant);

    let finding = |nature| {
        RecordBody::LabResult(LabResult {
            lot: "BW/1".into(),
            report_hash: kp_schemas::Hash32([5; 32]),
            finding: nature,
            note: "spectroscopy".into(),
        })
    };
    w.net.record("BW", &lab, finding(Nature::Natural));
    let t = lot_trail(&w, "BW", "BW/1");
    assert!(t.compliance.compliant && has(&t.compliance.notes, &["laboratory", "BW/1"]));
    w.net.record("BW", &lab, finding(Nature::Synthetic));
    assert!(has(&lot_trail(&w, "BW", "BW/1").compliance.problems, &["R8", "BW/1"]));

    // Downstream lots inherit a seizure.
    w.net.write(&monitor_key(), attest(AttestationKind::Seizure, "seized at the border"));
    let x = w.cast.bw_exporter.clone();
    w.net.record("BW", &m, transfer(&[("BW/1", 1000)], &[("BW/2", 1000, &x)], DAY));
    assert!(has(&lot_trail(&w, "BW", "BW/2").compliance.problems, &["BW/1", "seized at the border"]));
}

#[test]
fn a_lot_reached_twice_is_expanded_once() {
    let mut w = World::new();
    let (m, x) = (w.cast.bw_miner.clone(), w.cast.bw_exporter.clone());
    w.net.record("BW", &m, production("BW/P", "Jwaneng", None, 1000, DAY));
    w.net.record("BW", &m, transfer(&[("BW/P", 1000)], &[("BW/A", 400, &x), ("BW/B", 600, &x)], DAY));
    // Mix the two halves back: the production is behind both.
    w.net.record("BW", &x, transfer(&[("BW/A", 100), ("BW/B", 600)], &[("BW/D", 700, &x)], DAY));
    let t = lot_trail(&w, "BW", "BW/D");
    let seen: Vec<(&str, bool, usize)> =
        nodes(&t).iter().map(|n| (n.id.as_str(), n.repeated, n.inputs.len())).collect();
    assert_eq!(
        seen,
        vec![("BW/D", false, 2), ("BW/A", false, 1), ("BW/P", false, 0), ("BW/B", false, 1), ("BW/P", true, 0)]
    );
    assert_eq!(t.productions, 1);
    assert_eq!(t.depth, 2);
    assert!(close(share(&t, "BW"), 1.0));
    // The repeated node still says what was taken from it for B: B's part
    // (600 of 1000) of the split that made A and B.
    let again = &t.root.inputs[1].inputs[0];
    assert_eq!((again.kind, again.taken, again.weight), (NodeKind::Production, Some(600), 1000));
    assert_eq!(t.root.inputs[0].inputs[0].taken, Some(400));
    assert_eq!((t.root.inputs[1].taken, t.root.inputs[1].weight), (Some(600), 600));

    // Across a border: an import reached through two lots of a mix.
    eu_imports(&mut w, 1000, 3000);
    let eu = w.cast.eu_trader.clone();
    w.net.record("EU", &eu, transfer(&[("EU/BW", 3000)], &[("EU/1", 1000, &eu), ("EU/2", 2000, &eu)], "2017-04-01"));
    w.net.record(
        "EU",
        &eu,
        transfer(&[("EU/1", 1000), ("EU/2", 1000), ("EU/CF", 1000)], &[("EU/3", 3000, &eu)], "2017-04-02"),
    );
    let t = lot_trail(&w, "EU", "EU/3");
    let bw_import: Vec<bool> = nodes(&t).iter().filter(|n| n.id == "EU/BW").map(|n| n.repeated).collect();
    assert_eq!(bw_import, vec![false, true]);
    let bw_cert = nodes(&t).iter().filter(|n| n.id == "BW-1").count();
    assert_eq!(bw_cert, 1, "the certificate behind the repeated import is listed once");
    assert_eq!(t.productions, 2);
    assert!(close(share(&t, "BW"), 2.0 / 3.0) && close(share(&t, "CF"), 1.0 / 3.0), "{:?}", t.origins);
}

#[test]
fn unknown_subjects_are_errors() {
    let w = World::new();
    let e = trail::lot_trail(&w.net.ledger, "CF", "CF/none", TODAY).unwrap_err();
    assert_eq!(e.code(), codes::R4_UNKNOWN_LOT);
    let e = trail::certificate_trail(&w.net.ledger, "CF-404", TODAY).unwrap_err();
    assert_eq!(e.code(), codes::R7_UNKNOWN_CERTIFICATE);
}

#[test]
fn a_trail_deeper_than_its_bound_is_an_error() {
    let mut w = World::new();
    w.net.skip_signature_checks();
    let bw = w.cast.bw_miner.clone();
    let lot = |i: usize| format!("BW/{i}");
    w.net.record("BW", &bw, production(&lot(0), "Jwaneng", None, 100, DAY));
    for i in 1..=trail::MAX_DEPTH {
        w.net.record("BW", &bw, transfer(&[(&lot(i - 1), 100)], &[(&lot(i), 100, &bw)], DAY));
    }
    assert_eq!(lot_trail(&w, "BW", &lot(trail::MAX_DEPTH)).depth, trail::MAX_DEPTH);
    let deeper = lot(trail::MAX_DEPTH + 1);
    w.net.record("BW", &bw, transfer(&[(&lot(trail::MAX_DEPTH), 100)], &[(&deeper, 100, &bw)], DAY));
    let e = trail::lot_trail(&w.net.ledger, "BW", &deeper, TODAY).unwrap_err();
    assert_eq!(e.code(), codes::R9_TOO_DEEP);
}

/// One order for holds (R-order of KP-DOMAIN's attestations): each author's
/// last hold or release in its own log decides, so a timestamp an author
/// sets far ahead outranks nothing, and the trail and a bundle's replay read
/// the same.
#[test]
fn a_release_stamped_far_ahead_does_not_lift_a_later_hold() {
    let mut w = World::new();
    let m = w.cast.bw_miner.clone();
    w.net.record("BW", &m, production("BW/1", "Jwaneng", None, 1000, DAY));
    let attest = |kind| {
        Body::Attestation(Attestation {
            subject: Subject::Lot { participant: "BW".into(), lot: "BW/1".into() },
            kind,
            note: String::new(),
        })
    };
    // BW's authority holds and releases with a clock years ahead.
    let now = 1_600_000_000_000;
    w.net.set_clock_ms(now + 10 * 365 * 86_400_000);
    w.net.write(&authority_key("BW"), attest(AttestationKind::Hold));
    w.net.write(&authority_key("BW"), attest(AttestationKind::Release));
    // Then the monitor puts the lot on hold, with a true clock.
    w.net.set_clock_ms(now);
    w.net.write(&monitor_key(), attest(AttestationKind::Hold));
    let t = lot_trail(&w, "BW", "BW/1");
    assert!(has(&t.compliance.problems, &["BW/1", "on hold"]), "{:?}", t.compliance);
    // Only the monitor lifts its own hold.
    w.net.set_clock_ms(now + 11 * 365 * 86_400_000);
    w.net.write(&authority_key("BW"), attest(AttestationKind::Release));
    assert!(!lot_trail(&w, "BW", "BW/1").compliance.compliant);
    w.net.write(&monitor_key(), attest(AttestationKind::Release));
    assert!(lot_trail(&w, "BW", "BW/1").compliance.compliant);
}
