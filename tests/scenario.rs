//! The reference scenario of KP-DOMAIN section 6, driven through the real `kp`
//! binary against a real `kp-node` process.

use kp_e2e::*;
use serde_json::Value;
use std::path::Path;

struct Net {
    node: Node,
    licensees: std::path::PathBuf,
}

impl Net {
    fn key(&self, who: &str) -> String {
        self.licensees.join(format!("{who}.json")).display().to_string()
    }
    fn public(&self, who: &str) -> String {
        public_key(Path::new(&self.key(who)))
    }
    /// `kp --json <args>` as a licensee; returns the parsed answer.
    fn as_licensee(&self, who: &str, args: &[&str]) -> std::process::Output {
        let key = self.key(who);
        let mut all = vec!["--json", "--key", key.as_str()];
        all.extend_from_slice(args);
        self.node.kp(&all)
    }
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&ok(self.node.kp(&all))).expect("kp --json prints JSON")
    }
}

fn hash_of(v: &Value) -> String {
    v["hash"].as_str().expect("an entry hash").to_string()
}

fn find<'a>(node: &'a Value, kind: &str, id: &str) -> &'a Value {
    node["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|n| n["kind"] == kind && n["id"] == id)
        .unwrap_or_else(|| panic!("no {kind} {id} under {}", node["id"]))
}

#[test]
fn reference_scenario_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    devnet(dir.path());
    let net = Net { node: Node::start(&dir.path().join("node")), licensees: dir.path().join("licensees") };

    let people = [
        ("cf-miner", "CF", "Berberati Cooperative", vec!["miner"]),
        ("cf-buyer", "CF", "Bangui Buying Office", vec!["trader"]),
        ("cf-exporter", "CF", "Bangui Diamond Export", vec!["exporter", "trader"]),
        ("bw-miner", "BW", "Jwaneng Mine", vec!["miner"]),
        ("bw-exporter", "BW", "Gaborone Rough Sales", vec!["exporter"]),
        ("eu-trader", "EU", "Antwerp Rough Trading", vec!["importer", "trader", "exporter"]),
        ("ae-importer", "AE", "Dubai Rough Imports", vec!["importer"]),
        ("in-importer", "IN", "Mumbai Rough Imports", vec!["importer"]),
    ];
    for (who, p, name, roles) in &people {
        let pk = net.public(who);
        let mut args = vec!["licensee", "register", "--as", p, "--key-of", &pk, "--name", name];
        for r in roles {
            args.extend(["--role", r]);
        }
        net.json(&args);
    }

    // Step 1: the monitor declares five zones; Bria is never declared.
    let mut zone = std::collections::HashMap::new();
    for (id, name) in [("BER", "Berberati"), ("CAR", "Carnot"), ("NOL", "Nola"), ("BOD", "Boda"), ("GAZ", "Gazi")] {
        let v = net.json(&[
            "zone",
            "declare",
            "--as",
            "MT-CF",
            "--participant",
            "CF",
            "--zone",
            id,
            "--name",
            name,
            "--status",
            "compliant",
            "--effective",
            "2016-06-01",
        ]);
        zone.insert(id, hash_of(&v));
    }
    // R2: a participant authority may not declare zones.
    refused(
        net.node.kp(&[
            "zone",
            "declare",
            "--as",
            "CF",
            "--participant",
            "CF",
            "--zone",
            "BRI",
            "--name",
            "Bria",
            "--status",
            "compliant",
            "--effective",
            "2016-06-01",
        ]),
        "R2.not_allowed",
    );

    // Step 2.
    let (buyer, exporter) = (net.public("cf-buyer"), net.public("cf-exporter"));
    ok(net.as_licensee(
        "cf-miner",
        &[
            "produce",
            "--lot",
            "CF/BER/1",
            "--site",
            "Berberati",
            "--zone",
            "BER",
            "--zone-status",
            &zone["BER"],
            "--weight",
            "600",
            "--stones",
            "300",
            "--date",
            "2017-03-10",
        ],
    ));
    ok(net.as_licensee(
        "cf-miner",
        &[
            "produce",
            "--lot",
            "CF/NOL/1",
            "--site",
            "Nola",
            "--zone",
            "NOL",
            "--zone-status",
            &zone["NOL"],
            "--weight",
            "400.50",
            "--stones",
            "200",
            "--date",
            "2017-03-12",
        ],
    ));
    ok(net.as_licensee(
        "cf-miner",
        &["transfer", "--in", "CF/BER/1=600", "--out", &format!("CF/BO/1=600@{buyer}"), "--date", "2017-03-15"],
    ));
    ok(net.as_licensee(
        "cf-miner",
        &["transfer", "--in", "CF/NOL/1=400.50", "--out", &format!("CF/BO/2=400.50@{buyer}"), "--date", "2017-03-15"],
    ));
    ok(net.as_licensee(
        "cf-buyer",
        &[
            "transfer",
            "--in",
            "CF/BO/1=600",
            "CF/BO/2=400.50",
            "--out",
            &format!("CF/EXP/1=1000.50@{exporter}"),
            "--date",
            "2017-03-20",
        ],
    ));
    let cf_cert = net.as_licensee(
        "cf-exporter",
        &[
            "export",
            "--cert",
            "CF-000001",
            "--to",
            "EU",
            "--consignee",
            "Antwerp Rough Trading",
            "--in",
            "CF/EXP/1=1000.50",
            "--hs",
            "7102.31=800.50@1200000",
            "7102.21=200@40000",
            "--parcels",
            "2",
            "--issued",
            "2017-04-02",
            "--expires",
            "2018-04-02",
        ],
    );
    ok(cf_cert);
    let bw_exp = net.public("bw-exporter");
    ok(net.as_licensee(
        "bw-miner",
        &[
            "produce",
            "--lot",
            "BW/JWA/1",
            "--site",
            "Jwaneng",
            "--weight",
            "2000",
            "--stones",
            "900",
            "--date",
            "2017-02-20",
        ],
    ));
    ok(net.as_licensee(
        "bw-miner",
        &["transfer", "--in", "BW/JWA/1=2000", "--out", &format!("BW/EXP/1=2000@{bw_exp}"), "--date", "2017-03-01"],
    ));
    ok(net.as_licensee(
        "bw-exporter",
        &[
            "export",
            "--cert",
            "BW-000001",
            "--to",
            "EU",
            "--consignee",
            "Antwerp Rough Trading",
            "--in",
            "BW/EXP/1=1500",
            "--hs",
            "7102.31=1500@3000000",
            "--parcels",
            "3",
            "--issued",
            "2017-04-05",
            "--expires",
            "2018-04-05",
        ],
    ));

    // Step 3.
    let eu = net.public("eu-trader");
    net.json(&[
        "import",
        "confirm",
        "--as",
        "EU",
        "--cert",
        "CF-000001",
        "--weight",
        "1000.50",
        "--parcels",
        "2",
        "--lot",
        "EU/1",
        "--holder",
        &eu,
        "--date",
        "2017-05-02",
    ]);
    // A weight mismatch is accepted and flagged (R7).
    let flagged = net.json(&[
        "import",
        "confirm",
        "--as",
        "EU",
        "--cert",
        "BW-000001",
        "--weight",
        "1500",
        "--parcels",
        "2",
        "--lot",
        "EU/2",
        "--holder",
        &eu,
        "--date",
        "2017-05-02",
    ]);
    assert!(flagged["flags"].to_string().contains("R7"), "mismatch not flagged: {flagged}");
    ok(net.as_licensee(
        "eu-trader",
        &[
            "transfer",
            "--in",
            "EU/1=1000.50",
            "EU/2=1500",
            "--out",
            &format!("EU/MIX=2500.50@{eu}"),
            "--date",
            "2017-05-10",
        ],
    ));
    ok(net.as_licensee(
        "eu-trader",
        &[
            "transfer",
            "--in",
            "EU/MIX=2500.50",
            "--out",
            &format!("EU/A=1000.20@{eu}"),
            &format!("EU/B=1500.30@{eu}"),
            "--date",
            "2017-05-11",
        ],
    ));
    ok(net.as_licensee(
        "eu-trader",
        &[
            "export",
            "--cert",
            "EU-000001",
            "--to",
            "AE",
            "--consignee",
            "Dubai Rough Imports",
            "--in",
            "EU/A=1000.20",
            "--hs",
            "7102.31=1000.20@1500000",
            "--parcels",
            "1",
            "--issued",
            "2017-05-20",
            "--expires",
            "2018-05-20",
        ],
    ));
    ok(net.as_licensee(
        "eu-trader",
        &[
            "export",
            "--cert",
            "EU-000002",
            "--to",
            "IN",
            "--consignee",
            "Mumbai Rough Imports",
            "--in",
            "EU/B=1500.30",
            "--hs",
            "7102.31=1500.30@2300000",
            "--parcels",
            "1",
            "--issued",
            "2017-05-20",
            "--expires",
            "2018-05-20",
        ],
    ));
    net.json(&[
        "import",
        "confirm",
        "--as",
        "AE",
        "--cert",
        "EU-000001",
        "--weight",
        "1000.20",
        "--parcels",
        "1",
        "--lot",
        "AE/1",
        "--holder",
        &net.public("ae-importer"),
        "--date",
        "2017-06-01",
    ]);
    net.json(&[
        "import",
        "confirm",
        "--as",
        "IN",
        "--cert",
        "EU-000002",
        "--weight",
        "1500.30",
        "--parcels",
        "1",
        "--lot",
        "IN/1",
        "--holder",
        &net.public("in-importer"),
        "--date",
        "2017-06-01",
    ]);

    // Step 4: Bria's lot is recorded, non-compliant, and taints what it is mixed into.
    ok(net.as_licensee(
        "cf-miner",
        &[
            "produce",
            "--lot",
            "CF/BRI/1",
            "--site",
            "Bria",
            "--zone",
            "BRI",
            "--weight",
            "100",
            "--stones",
            "50",
            "--date",
            "2017-06-01",
        ],
    ));
    ok(net.as_licensee(
        "cf-miner",
        &[
            "produce",
            "--lot",
            "CF/CAR/1",
            "--site",
            "Carnot",
            "--zone",
            "CAR",
            "--zone-status",
            &zone["CAR"],
            "--weight",
            "300",
            "--stones",
            "100",
            "--date",
            "2017-06-02",
        ],
    ));
    ok(net.as_licensee(
        "cf-miner",
        &["transfer", "--in", "CF/BRI/1=100", "--out", &format!("CF/BO/3=100@{buyer}"), "--date", "2017-06-05"],
    ));
    ok(net.as_licensee(
        "cf-miner",
        &["transfer", "--in", "CF/CAR/1=300", "--out", &format!("CF/BO/4=300@{buyer}"), "--date", "2017-06-05"],
    ));
    ok(net.as_licensee(
        "cf-buyer",
        &[
            "transfer",
            "--in",
            "CF/BO/3=50",
            "CF/BO/4=300",
            "--out",
            &format!("CF/EXP/2=350@{exporter}"),
            "--date",
            "2017-06-06",
        ],
    ));
    let mix = net.json(&["lot", "show", "CF", "CF/EXP/2"]);
    assert_eq!(mix["lot"]["compliant"], false, "the Bria mix must be non-compliant: {mix}");
    let before = net.node.client().status().unwrap().entries;
    refused(
        net.as_licensee(
            "cf-exporter",
            &[
                "export",
                "--cert",
                "CF-000002",
                "--to",
                "EU",
                "--consignee",
                "X",
                "--in",
                "CF/EXP/2=350",
                "--hs",
                "7102.31=350@500000",
                "--parcels",
                "1",
                "--issued",
                "2017-06-10",
                "--expires",
                "2018-06-10",
            ],
        ),
        "R6.non_compliant_lot",
    );
    refused(
        net.as_licensee(
            "cf-buyer",
            &["transfer", "--in", "CF/BO/1=600", "--out", &format!("CF/BO/9=600@{exporter}"), "--date", "2017-06-11"],
        ),
        "R5.already_spent",
    );
    refused(
        net.as_licensee(
            "bw-exporter",
            &[
                "export",
                "--cert",
                "BW-000002",
                "--to",
                "EU",
                "--consignee",
                "X",
                "--in",
                "BW/EXP/1=500",
                "--hs",
                "7102.31=600@1000000",
                "--parcels",
                "1",
                "--issued",
                "2017-06-12",
                "--expires",
                "2018-06-12",
            ],
        ),
        "R5.unbalanced",
    );
    refused(
        net.node.kp(&[
            "import",
            "confirm",
            "--as",
            "EU",
            "--cert",
            "CF-000001",
            "--weight",
            "1000.50",
            "--parcels",
            "2",
            "--lot",
            "EU/3",
            "--holder",
            &eu,
            "--date",
            "2017-06-12",
        ]),
        "R7.already_confirmed",
    );
    refused(
        net.as_licensee(
            "bw-exporter",
            &[
                "export",
                "--cert",
                "BW-000003",
                "--to",
                "EU",
                "--consignee",
                "X",
                "--in",
                "BW/EXP/1=500",
                "--hs",
                "7104.21=500@800000",
                "--parcels",
                "1",
                "--issued",
                "2017-06-12",
                "--expires",
                "2018-06-12",
            ],
        ),
        "R8.nature_mismatch",
    );
    assert_eq!(net.node.client().status().unwrap().entries, before, "refusals must store nothing");

    // Step 5: the trail of the Indian lot, hop by hop.
    let t = net.json(&["trail", "lot", "IN", "IN/1", "--today", "2017-12-31"]);
    let root = &t["root"];
    assert_eq!(
        (root["kind"].as_str(), root["id"].as_str(), root["weight"].as_u64()),
        (Some("import"), Some("IN/1"), Some(150_030))
    );
    let cert = find(root, "export", "EU-000002");
    let b = find(cert, "transfer", "EU/B");
    let mixed = find(b, "transfer", "EU/MIX");
    let (eu1, eu2) = (find(mixed, "import", "EU/1"), find(mixed, "import", "EU/2"));
    assert_eq!(find(mixed, "import", "EU/1")["taken"], 100_050);
    let cf_mix = find(find(eu1, "export", "CF-000001"), "transfer", "CF/EXP/1");
    let ber = find(find(cf_mix, "transfer", "CF/BO/1"), "production", "CF/BER/1");
    let nol = find(find(cf_mix, "transfer", "CF/BO/2"), "production", "CF/NOL/1");
    assert_eq!(
        (ber["zone"].as_str(), ber["zone_name"].as_str(), ber["weight"].as_u64()),
        (Some("BER"), Some("Berberati"), Some(60_000))
    );
    assert_eq!((nol["zone"].as_str(), nol["site"].as_str()), (Some("NOL"), Some("Nola")));
    let bw = find(find(find(eu2, "export", "BW-000001"), "transfer", "BW/EXP/1"), "production", "BW/JWA/1");
    assert_eq!((bw["participant"].as_str(), bw["site"].as_str()), (Some("BW"), Some("Jwaneng")));
    assert_eq!(t["productions"], 3);

    // EU/MIX is 1000.50 ct from CF and 1500 ct from BW; every split keeps the mix's shares.
    let cf_share = 100_050.0 / 250_050.0;
    let shares: std::collections::HashMap<String, f64> = t["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["country"].as_str().unwrap().to_string(), o["share"].as_f64().unwrap()))
        .collect();
    assert_eq!(shares.len(), 2, "origins: {}", t["origins"]);
    assert!((shares["CF"] - cf_share).abs() < 1e-9, "CF share {}", shares["CF"]);
    assert!((shares["BW"] - (1.0 - cf_share)).abs() < 1e-9, "BW share {}", shares["BW"]);
    assert_eq!(t["compliance"]["compliant"], true, "compliance: {}", t["compliance"]);

    // People read the same trail as a tree; Graphviz gets DOT.
    let tree = ok(net.node.kp(&["trail", "lot", "IN", "IN/1"]));
    for want in ["Berberati", "Nola", "Jwaneng", "CF-000001", "BW-000001", "EU-000002"] {
        assert!(tree.contains(want), "tree lacks {want}:\n{tree}");
    }
    assert!(ok(net.node.kp(&["trail", "lot", "IN", "IN/1", "--dot"])).starts_with("digraph"));

    // The Bria mix's trail says why it is not compliant.
    let bad = net.json(&["trail", "lot", "CF", "CF/EXP/2"]);
    assert_eq!(bad["compliance"]["compliant"], false);
    assert!(bad["compliance"]["problems"].to_string().contains("R6"), "{}", bad["compliance"]);

    // The statistics of the same history, through `kp`: what left CF and BW
    // for the EU, and what the anomaly checks find in it.
    let stats = net.json(&["stats", "--period", "2017", "--participant", "BW"]);
    assert_eq!(stats["participants"][0]["exports"]["total"]["weight"], 150_000, "{stats}");
    assert_eq!(stats["participants"][0]["exports"]["by_partner"][0]["key"], "EU", "{stats}");
    let found = net.json(&["anomalies", "--period", "2017"]);
    let ids: Vec<&str> = found["anomalies"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    // BW-000001 was confirmed in 2 parcels of 3; the Bria mix went to the exporter.
    assert!(ids.contains(&"confirmation_mismatch/BW-000001"), "{ids:?}");
    assert!(ids.contains(&"non_compliant_to_exporter/CF/CF/EXP/2"), "{ids:?}");
    let report = ok(net.node.kp(&["report", "BW", "--period", "2017"]));
    assert!(report.contains("Country analysis report") && report.contains("BW-000001"), "{report}");
}

#[test]
fn demo_prints_the_indian_trail_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = std::process::Command::new(bin("kp-dev"))
        .args(["demo", "--exit", "--port", &demo_port().to_string(), "--dir"])
        .arg(&demo)
        .env("KP_LOG", "warn")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "demo failed: {}\n{}", text, stderr(&out));
    for want in [
        "Berberati",
        "Nola",
        "Jwaneng",
        "R6.non_compliant_lot",
        "R5.already_spent",
        "R5.unbalanced",
        "R7.already_confirmed",
        "R8.nature_mismatch",
        "R6.zone_suspended",
        "suspended from 2017-05-01",
        "Statistics of 2017",
        "confirmation_mismatch/BW-000004",
        "non_compliant_to_exporter/CF/CF/EXP/2017/0002",
    ] {
        assert!(text.contains(want), "demo output lacks {want}:\n{text}");
    }
    // The bundle it exported verifies offline with the roster alone, by the
    // real `kp`, and says where the Indian lot's weight was mined.
    assert!(text.contains("VALID: lot IN/BOM/2017/0001 of IN"), "no verified bundle in:\n{text}");
    let verify = std::process::Command::new(bin("kp"))
        .arg("verify")
        .arg(demo.join("bundle.json"))
        .arg("--roster")
        .arg(demo.join("AE").join("roster.json"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}{}", stdout(&verify), stderr(&verify));
    let report: serde_json::Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(report["valid"], true);
    let origins: Vec<&str> =
        report["trail"]["origins"].as_array().unwrap().iter().map(|o| o["country"].as_str().unwrap()).collect();
    assert_eq!(origins, ["BW", "CF"], "{report}");
    // A second run replaces the first demo folder.
    let again = std::process::Command::new(bin("kp-dev"))
        .args(["demo", "--exit", "--port", &demo_port().to_string(), "--dir"])
        .arg(&demo)
        .env("KP_LOG", "warn")
        .output()
        .unwrap();
    assert!(again.status.success(), "second demo run failed: {}", stderr(&again));
}

/// R6 over time, as a new user meets it through `kp`: a production after a
/// zone's suspension, naming the zone's older compliant status, is recorded
/// non-compliant and cannot leave; a suspension recorded later but effective
/// on or before a production stops that lot and its mixes.
#[test]
fn no_lot_from_a_suspended_zone_leaves_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    devnet(dir.path());
    let net = Net { node: Node::start(&dir.path().join("node")), licensees: dir.path().join("licensees") };
    for (who, name, role) in [("cf-miner", "Boda Cooperative", "miner"), ("cf-exporter", "Bangui Export", "exporter")] {
        let pk = net.public(who);
        net.json(&["licensee", "register", "--as", "CF", "--key-of", &pk, "--name", name, "--role", role]);
    }
    let declare = |zone: &str, name: &str, status: &str, effective: &str| {
        let args = ["zone", "declare", "--as", "MT-CF", "--participant", "CF", "--zone", zone, "--name", name];
        let mut args = args.to_vec();
        args.extend(["--status", status, "--effective", effective]);
        hash_of(&net.json(&args))
    };
    let produce = |lot: &str, zone: &str, status: &str, date: &str| {
        net.as_licensee(
            "cf-miner",
            &[
                "produce",
                "--lot",
                lot,
                "--site",
                "Boda",
                "--zone",
                zone,
                "--zone-status",
                status,
                "--weight",
                "100",
                "--stones",
                "40",
                "--date",
                date,
            ],
        )
    };
    let exporter = net.public("cf-exporter");
    let sell = |from: &str, to: &str, date: &str| {
        ok(net.as_licensee(
            "cf-miner",
            &["transfer", "--in", &format!("{from}=100"), "--out", &format!("{to}=100@{exporter}"), "--date", date],
        ));
    };
    let export = |cert: &str, lot: &str| {
        net.as_licensee(
            "cf-exporter",
            &[
                "export",
                "--cert",
                cert,
                "--to",
                "EU",
                "--consignee",
                "X",
                "--in",
                &format!("{lot}=100"),
                "--hs",
                "7102.31=100@100000",
                "--parcels",
                "1",
                "--issued",
                "2017-07-01",
                "--expires",
                "2018-07-01",
            ],
        )
    };

    let boda = declare("BOD", "Boda", "compliant", "2016-06-01");
    declare("BOD", "Boda", "suspended", "2017-05-01");
    ok(produce("CF/BOD/1", "BOD", &boda, "2017-06-10"));
    let lot = net.json(&["lot", "show", "CF", "CF/BOD/1"]);
    assert_eq!(lot["lot"]["compliant"], false, "produced after the suspension: {lot}");
    sell("CF/BOD/1", "CF/EXP/1", "2017-06-11");
    refused(export("CF-000001", "CF/EXP/1"), "R6.non_compliant_lot");

    // Gazi: compliant when produced, suspended later with an earlier date.
    let gazi = declare("GAZ", "Gazi", "compliant", "2016-06-01");
    ok(produce("CF/GAZ/1", "GAZ", &gazi, "2017-06-10"));
    assert_eq!(net.json(&["lot", "show", "CF", "CF/GAZ/1"])["lot"]["compliant"], true);
    sell("CF/GAZ/1", "CF/EXP/2", "2017-06-11");
    declare("GAZ", "Gazi", "suspended", "2017-06-01");
    refused(export("CF-000002", "CF/EXP/2"), "R6.zone_suspended");
    let trail = net.json(&["trail", "lot", "CF", "CF/EXP/2"]);
    assert_eq!(trail["compliance"]["compliant"], false);
    assert!(trail["compliance"]["problems"].to_string().contains("suspended from 2017-06-01"), "{trail}");
}
