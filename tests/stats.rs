//! KP statistics and anomaly checks against a real node: the statistics
//! scenario (`kp_dev::stats_scenario`) with one case of every anomaly class
//! planted, and the same history clean; totals to the carat and cent;
//! the CLI's tables, JSON and CSV; bad queries; a restart after kill -9.

use kp_dev::{demo, stats_scenario};
use kp_e2e::*;
use kp_schemas::stats::{AnomalyAnswer, MirrorAnswer, StatsAnswer, anomaly::checks};
use std::collections::BTreeSet;

struct Loaded {
    node: Node,
    plan: stats_scenario::Plan,
    _dir: tempfile::TempDir,
}

fn load(planted: bool) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let (data, people) = demo::prepare(&dir.path().join("net")).unwrap();
    let node = Node::start(&data);
    let plan = stats_scenario::load_one_node(&node.url(), &data, &people, planted).unwrap();
    Loaded { node, plan, _dir: dir }
}

fn get(node: &Node, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut r = agent.get(format!("{}{path}", node.url())).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn json<T: serde::de::DeserializeOwned>(node: &Node, path: &str) -> T {
    let (status, body) = get(node, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

const ALL: &str = "2015-01-01..2017-12-31";

#[test]
fn every_planted_anomaly_is_found_with_its_entries_and_totals_hold_to_the_cent() {
    let mut run = load(true);
    let found: AnomalyAnswer = json(&run.node, &format!("/v1/anomalies?period={ALL}"));
    let ids: Vec<&str> = found.anomalies.iter().map(|a| a.id.as_str()).collect();
    // One planted case of every check.
    let planted_checks: BTreeSet<&str> = run.plan.planted.iter().map(|(id, _)| id.split('/').next().unwrap()).collect();
    assert_eq!(planted_checks, checks::ALL.iter().copied().collect(), "the scenario plants every check");
    for (id, entries) in &run.plan.planted {
        let a = found
            .anomalies
            .iter()
            .find(|a| a.id.starts_with(id.as_str()))
            .unwrap_or_else(|| panic!("planted {id} not found; found {ids:?}"));
        for e in entries {
            assert!(a.entries.contains(e), "{id}: entry {e} not named; it names {:?}", a.entries);
        }
        assert!(!a.message.is_empty());
    }

    // Totals per participant and year, to the carat and cent.
    for y in 2015..=2017 {
        let s: StatsAnswer = json(&run.node, &format!("/v1/stats?period={y}"));
        for p in &s.participants {
            let want = run.plan.totals.get(&(p.participant.clone(), y)).cloned().unwrap_or_default();
            let got = |f: &kp_schemas::stats::Figure| (f.weight, f.value_cents, f.count);
            assert_eq!(got(&p.production), want.production, "{} {y} production", p.participant);
            assert_eq!(got(&p.exports.total), want.exports, "{} {y} exports", p.participant);
            assert_eq!(got(&p.imports.total), want.imports, "{} {y} imports", p.participant);
        }
        let sum = |f: fn(&stats_scenario::Expected) -> u64| -> u64 {
            run.plan.totals.iter().filter(|((_, yy), _)| *yy == y).map(|(_, e)| f(e)).sum()
        };
        assert_eq!(s.network.exports.weight, sum(|e| e.exports.0), "{y} network exports");
        assert_eq!(s.network.imports.value_cents, sum(|e| e.imports.1), "{y} network imports");
        let shares: u64 = s.participants.iter().map(|p| p.shares.production_bp).sum();
        assert!((9_990..=10_000).contains(&shares), "{y}: production shares add up to {shares} bp");
    }
    // Mirror statistics: what each certified against what was confirmed
    // of those certificates, where both fall in the year.
    let m: MirrorAnswer = json(&run.node, "/v1/stats/mirror?period=2016");
    let pair = m.pairs.iter().find(|p| p.exporter == "CF" && p.importer == "EU").unwrap();
    let (certified, confirmed) = run.plan.mirror[&("CF".into(), "EU".into(), 2016)];
    assert_eq!((pair.exported.weight, pair.confirmed.weight), (certified, confirmed));
    let unconfirmed: MirrorAnswer = json(&run.node, "/v1/stats/mirror?period=2017&participant=BW&partner=EU");
    assert_eq!(unconfirmed.pairs.len(), 1);
    assert_eq!(unconfirmed.pairs[0].unconfirmed.iter().map(|c| c.number.as_str()).collect::<Vec<_>>(), ["BW-100008"]);

    // Every figure lists the entries behind it.
    let s: StatsAnswer = json(&run.node, "/v1/stats?period=2017&participant=CF");
    let behind: kp_schemas::stats::FigureEntries = json(&run.node, &s.participants[0].production.entries);
    assert_eq!(behind.entries.len() as u64, s.participants[0].production.count);

    // The CLI says the same, as JSON, CSV and text.
    let out = ok(run.node.kp(&["anomalies", "--period", ALL, "--json"]));
    let cli: AnomalyAnswer = serde_json::from_str(&out).unwrap();
    assert_eq!(cli, found);
    let csv = ok(run.node.kp(&["stats", "--period", "2016", "--csv"]));
    let cf = &run.plan.totals[&("CF".into(), 2016)];
    let row = format!("2016,CF,{}.{:02},", cf.production.0 / 100, cf.production.0 % 100);
    assert!(csv.lines().any(|l| l.starts_with(&row)), "no row {row} in\n{csv}");
    assert!(csv.starts_with("Period,Participant,Production (carats),Production (US$)"));
    let md = ok(run.node.kp(&["report", "CF", "--period", "2017", "--markdown"]));
    assert!(md.starts_with("# Country analysis report:") && md.contains("zone_over_capacity"), "{md}");
    let text = ok(run.node.kp(&["anomalies", "--period", ALL, "--check", "export_surge"]));
    assert!(text.contains("export_surge/BW/2017-Q3") && !text.contains("mirror_gap"), "{text}");
    let tight = ok(run.node.kp(&["anomalies", "--period", ALL, "--json", "--param", "mirror_tolerance_bp=0"]));
    let tight: AnomalyAnswer = serde_json::from_str(&tight).unwrap();
    assert_eq!(tight.params.mirror_tolerance_bp, 0);
    assert!(tight.anomalies.len() > found.anomalies.len(), "a zero tolerance finds more mirror gaps");

    // Bad queries: a clear error with a stable code, and the node serves on.
    for (path, status) in [
        ("/v1/stats?period=2017-Q5", 400),
        ("/v1/stats?period=2017&participant=cf", 400),
        ("/v1/stats?period=2017&colour=red", 400),
        ("/v1/reports/ZZ?period=2017", 404),
        ("/v1/anomalies?check=nonsense", 400),
        ("/v1/stats/entries?flow=smuggling", 400),
    ] {
        let (got, body) = get(&run.node, path);
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains("\"code\":\"api."), "{path}: {body}");
    }
    // Thresholds at the top of their range are answered, not a panic.
    let (got, body) = get(
        &run.node,
        "/v1/anomalies?period=2017&price_mads_tenths=18446744073709551615&capacity_tolerance_bp=18446744073709551615",
    );
    assert_eq!(got, 200, "{body}");
    let long = format!("/v1/stats?period={}", "9".repeat(5000));
    assert_eq!(get(&run.node, &long).0, 400);

    // A restart after kill -9 rebuilds the same statistics from the store.
    let before = get(&run.node, &format!("/v1/anomalies?period={ALL}")).1;
    let stats_before = get(&run.node, "/v1/stats?period=2016").1;
    run.node.kill9();
    run.node.restart();
    assert_eq!(get(&run.node, &format!("/v1/anomalies?period={ALL}")).1, before);
    assert_eq!(get(&run.node, "/v1/stats?period=2016").1, stats_before);
}

#[test]
fn the_same_history_without_planted_cases_raises_none() {
    let run = load(false);
    let found: AnomalyAnswer = json(&run.node, &format!("/v1/anomalies?period={ALL}"));
    assert!(found.anomalies.is_empty(), "a clean history raised {:#?}", found.anomalies);
    // Every participant is in the statistics, with zeros where nothing was
    // recorded, and nothing is missing.
    let s: StatsAnswer = json(&run.node, "/v1/stats?period=2016");
    let codes: Vec<&str> = s.participants.iter().map(|p| p.participant.as_str()).collect();
    assert_eq!(codes, ["AE", "BW", "CF", "EU", "IN"]);
    assert!(s.completeness.is_empty(), "{:?}", s.completeness);
}
