//! `kp verify` on real files: every published transparency-dev probe (copies
//! kept in `schemas/tests/vectors/merkle/`), and bundles written here from a
//! small in-memory ledger. The exit code is the verdict a script relies on,
//! so each of 0, 1 and 2 is checked.

use kp_schemas::bundle::{self, Report};
use kp_schemas::entry::sign_record;
use kp_schemas::fixtures::{self, Signers};
use kp_schemas::memory::MemLedger;
use kp_schemas::model::*;
use kp_schemas::roster;
use kp_schemas::rules::Verdict;
use kp_schemas::state::NetworkState;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn probe(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/tests/vectors/merkle/transparency-dev/testdata")
        .join(rel)
}

fn kp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kp")).args(args).output().expect("run kp")
}

fn verify(kind: &str, path: &std::path::Path, json: bool) -> Output {
    let path = path.to_str().unwrap();
    if json { kp(&["verify", kind, path, "--json"]) } else { kp(&["verify", kind, path]) }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn valid_proofs_exit_0() {
    for (kind, rel) in [("inclusion", "inclusion/1/happy-path.json"), ("consistency", "consistency/1/happy-path.json")]
    {
        let out = verify(kind, &probe(rel), false);
        assert_eq!(out.status.code(), Some(0), "{rel}: {}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).starts_with(&format!("valid {kind} proof: ")), "{}", stdout(&out));
        assert_eq!(stdout(&out).lines().count(), 1);
    }
}

#[test]
fn invalid_proofs_exit_1() {
    for (kind, rel, code) in [
        ("inclusion", "inclusion/1/modified-proof[0]-bit-@3.json", "merkle.bad_proof"),
        ("inclusion", "inclusion/1/removed-component.json", "merkle.wrong_proof_length"),
        ("inclusion", "inclusion/single-entry/empty-leaf.json", "merkle.malformed"),
        ("consistency", "consistency/1/modified-proof@0-bit-@4.json", "merkle.bad_proof"),
        ("consistency", "consistency/1/wrong-root2.json", "merkle.malformed"),
        (
            "consistency",
            "consistency/additional/consistency-check-on-empty-tree-size1-is-zero-is-useless.json",
            "merkle.bad_sizes",
        ),
    ] {
        let out = verify(kind, &probe(rel), false);
        assert_eq!(out.status.code(), Some(1), "{rel}: {}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).starts_with(&format!("invalid {kind} proof: {code}: ")), "{rel}: {}", stdout(&out));
    }
}

#[test]
fn json_verdicts() {
    let out = verify("inclusion", &probe("inclusion/1/happy-path.json"), true);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((v["kind"].as_str(), v["valid"].as_bool(), v["code"].is_null()), (Some("inclusion"), Some(true), true));

    let out = verify("consistency", &probe("consistency/1/swapped-roots.json"), true);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((v["valid"].as_bool(), v["code"].as_str()), (Some(false), Some("merkle.bad_proof")));
}

#[test]
fn unreadable_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "{ leafIdx: 0").unwrap();
    let bad_base64 = dir.path().join("bad-base64.json");
    std::fs::write(&bad_base64, r#"{"leafIdx": 0, "treeSize": 1, "root": "not*base64", "leafHash": "", "proof": []}"#)
        .unwrap();
    for (kind, path) in [
        ("inclusion", dir.path().join("missing.json")),
        ("inclusion", not_json),
        ("inclusion", bad_base64),
        // A consistency probe read as an inclusion proof lacks its fields.
        ("inclusion", probe("consistency/1/happy-path.json")),
    ] {
        let out = verify(kind, &path, false);
        assert_eq!(out.status.code(), Some(2), "{}: {}{}", path.display(), stdout(&out), stderr(&out));
        assert!(stderr(&out).starts_with("error: client.bad_input: "), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
}

// ---------------------------------------------------------------- all probes

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
}

/// Every probe through the binary: exit 0 where the probe expects success,
/// exit 1 (a verdict, not an unreadable file) where it expects an error.
#[test]
fn all_196_probes_give_their_expected_verdict() {
    let mut wrong = Vec::new();
    let mut count = 0;
    for kind in ["inclusion", "consistency"] {
        let mut files = Vec::new();
        json_files(&probe(kind), &mut files);
        files.sort();
        for path in files {
            let probe: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let want_err = probe["wantErr"].as_bool().unwrap_or_else(|| panic!("{}: no wantErr", path.display()));
            let out = verify(kind, &path, false);
            let (code, prefix) = if want_err { (1, "invalid ") } else { (0, "valid ") };
            if out.status.code() != Some(code) || !stdout(&out).starts_with(prefix) {
                wrong.push(format!(
                    "{} ({}): wantErr {want_err}, exit {:?}: {}{}",
                    path.display(),
                    probe["desc"],
                    out.status.code(),
                    stdout(&out),
                    stderr(&out)
                ));
            }
            count += 1;
        }
    }
    assert_eq!(count, 196, "the copied testdata holds 196 probes");
    assert!(wrong.is_empty(), "{} of 196 probes disagree:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn tree_sizes_past_2_63_are_invalid_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let inclusion = dir.path().join("inclusion.json");
    let body = format!(r#"{{"leafIdx": 0, "treeSize": 9223372036854775809, "root": "{zero}", "leafHash": "{zero}"}}"#);
    std::fs::write(&inclusion, body).unwrap();
    let consistency = dir.path().join("consistency.json");
    let body = format!(r#"{{"size1": 1, "size2": 9223372036854775809, "root1": "{zero}", "root2": "{zero}"}}"#);
    std::fs::write(&consistency, body).unwrap();
    for (kind, path) in [("inclusion", inclusion), ("consistency", consistency)] {
        let out = verify(kind, &path, false);
        assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).starts_with(&format!("invalid {kind} proof: merkle.malformed: ")), "{}", stdout(&out));
    }
}

// ---------------------------------------------------------------- bundles

const NETWORK: &str = "kp-cli-test";

fn chair() -> Keypair {
    Keypair::from_seed([1; 32])
}

/// BW, EU and IN authorities.
fn authority(code: &str) -> Keypair {
    let i = ["BW", "EU", "IN"].iter().position(|c| *c == code).expect("a participant");
    Keypair::from_seed([2 + i as u8; 32])
}

fn signed_roster() -> SignedRoster {
    let participant = |code: &str| Participant {
        code: code.into(),
        name: code.into(),
        authority: authority(code).public(),
        zone_regime: false,
        nodes: vec![],
    };
    let r = Roster {
        network: NETWORK.into(),
        version: 1,
        chair: chair().public(),
        participants: ["BW", "EU", "IN"].into_iter().map(participant).collect(),
        monitors: vec![],
        observers: vec![],
    };
    roster::sign(r, &chair())
}

/// A ledger fed entry by entry, remembering the order it took them in.
struct Chain {
    ledger: MemLedger,
    order: Vec<SignedEntry>,
    heads: HashMap<PublicKey, (u64, Hash32)>,
    clock_ms: u64,
    nonce: u64,
}

impl Chain {
    fn new() -> Self {
        let (r, hash) = roster::verify(&signed_roster()).unwrap();
        Self {
            ledger: MemLedger::new(NetworkState::from_roster(&r, hash)),
            order: Vec::new(),
            heads: HashMap::new(),
            clock_ms: 1_500_000_000_000,
            nonce: 0,
        }
    }

    fn write(&mut self, key: &Keypair, body: Body) {
        let (seq, prev) = self.heads.get(&key.public()).map_or((1, Hash32::ZERO), |(s, h)| (s + 1, *h));
        self.clock_ms += 1000;
        let entry = Entry {
            network: NETWORK.into(),
            author: key.public(),
            seq,
            prev,
            timestamp_ms: self.clock_ms,
            context: vec![],
            body,
        };
        let e = SignedEntry::sign(entry, key);
        match self.ledger.ingest(e.bytes().to_vec()) {
            Ok(Verdict::Accepted(_)) => {}
            other => panic!("entry refused: {other:?}"),
        }
        self.heads.insert(key.public(), (seq, e.hash()));
        self.order.push(e);
    }

    fn record(&mut self, authority: &Keypair, licensee: &Keypair, body: RecordBody) {
        self.nonce += 1;
        let rec = sign_record(NETWORK, licensee, self.nonce, body);
        self.write(authority, Body::Countersigned(rec.to_countersigned()));
    }

    /// The subject's bundle, each checkpoint cosigned by every other participant.
    fn bundle(&self, subject: Subject) -> Vec<u8> {
        let wanted = bundle::collect(&self.ledger, &subject).unwrap();
        let authorities = || ["BW", "EU", "IN"].into_iter().map(authority);
        let signers = Signers {
            author: &|log| authorities().find(|k| k.public() == *log).unwrap(),
            cosigners: &|log| authorities().filter(|k| k.public() != *log).collect(),
            timestamp_ms: 0,
        };
        fixtures::bundle(&signed_roster(), &self.order, subject, &wanted, &signers).to_json()
    }
}

/// BW mines and exports BW-1 to the EU, which has not confirmed it; a
/// certificate issued 2017-03-10 that expires 2018-03-10.
fn bw_export() -> Chain {
    let mut c = Chain::new();
    let (bw, miner, exporter) = (authority("BW"), Keypair::from_seed([20; 32]), Keypair::from_seed([21; 32]));
    for (key, name, role) in [(&miner, "miner", Role::Miner), (&exporter, "exporter", Role::Exporter)] {
        let body = LicenseeRegistration { licensee: key.public(), name: name.into(), roles: vec![role] };
        c.write(&bw, Body::RegisterLicensee(body));
    }
    let production = Production {
        lot: "BW/1".into(),
        site: "Jwaneng".into(),
        zone: None,
        weight: 1000,
        stones: 10,
        date: "2017-03-01".into(),
        nature: Nature::Natural,
        value_cents: None,
    };
    c.record(&bw, &miner, RecordBody::Production(production));
    let hop = Transfer {
        inputs: vec![Take { lot: "BW/1".into(), weight: 1000 }],
        outputs: vec![kp_schemas::model::Output { lot: "BW/2".into(), weight: 1000, holder: exporter.public() }],
        date: "2017-03-02".into(),
    };
    c.record(&bw, &miner, RecordBody::Transfer(hop));
    let export = Export {
        certificate: "BW-1".into(),
        importer: "EU".into(),
        consignee: "Antwerp".into(),
        inputs: vec![Take { lot: "BW/2".into(), weight: 1000 }],
        lines: vec![HsLine { code: "7102.10".into(), weight: 1000, value_cents: 150_000 }],
        parcels: 1,
        issued: "2017-03-10".into(),
        expires: "2018-03-10".into(),
    };
    c.record(&bw, &exporter, RecordBody::Export(export));
    // Not on the trail.
    let other = LicenseeRegistration {
        licensee: Keypair::from_seed([22; 32]).public(),
        name: "EU".into(),
        roles: vec![Role::Trader],
    };
    c.write(&authority("EU"), Body::RegisterLicensee(other));
    c
}

struct Files {
    _dir: tempfile::TempDir,
    bundle: PathBuf,
    roster: PathBuf,
}

fn files(bundle: &[u8]) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let (b, r) = (dir.path().join("BW-1.bundle.json"), dir.path().join("roster.json"));
    std::fs::write(&b, bundle).unwrap();
    std::fs::write(&r, serde_json::to_vec_pretty(&signed_roster()).unwrap()).unwrap();
    Files { _dir: dir, bundle: b, roster: r }
}

fn verify_bundle(f: &Files, extra: &[&str]) -> Output {
    let mut args = vec!["verify", f.bundle.to_str().unwrap(), "--roster", f.roster.to_str().unwrap()];
    args.extend_from_slice(extra);
    kp(&args)
}

#[test]
fn a_bundle_verifies_offline_with_the_roster() {
    let json = bw_export().bundle(Subject::Certificate { number: "BW-1".into() });
    let f = files(&json);
    let out = verify_bundle(&f, &["--today", "2017-12-31"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "VALID: certificate BW-1 (network kp-cli-test): 5 entries in 1 log, each checkpoint cosigned by its \
             log's quorum; trail COMPLIANT\n"
        ),
        "{text}"
    );
    assert!(text.contains("\n  BW authority: 5 entries in checkpoint of size 5 (root "), "{text}");
    assert!(text.contains("witnessed by EU, IN (quorum 2)\n"), "{text}");
    assert!(text.contains("Trail of certificate BW-1\n"), "{text}");
    assert!(text.contains("  BW    100.00 %"), "{text}");
    assert!(text.contains("note: certificate BW-1 is not yet confirmed by EU"), "{text}");
    assert!(!text.contains("Problems:"), "{text}");
    assert!(stderr(&out).is_empty());

    // The day decides expiry: a problem of the trail, not of the bundle.
    let out = verify_bundle(&f, &["--today", "2018-03-11"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).lines().next().unwrap().ends_with("; trail NOT COMPLIANT"), "{}", stdout(&out));
    assert!(stdout(&out).contains("problem: R7: certificate BW-1 expired on 2018-03-10"), "{}", stdout(&out));

    // Two witnesses per checkpoint, three asked for.
    let out = verify_bundle(&f, &["--quorum", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("INVALID: certificate BW-1 (network kp-cli-test): 1 problem\n"));
    assert!(
        stdout(&out).contains(
            "  [bundle.quorum] checkpoint of the BW authority log at size 5 is cosigned by 2 participants (EU, IN), \
             the quorum is 3\n"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_json_verdict_is_the_report() {
    let json = bw_export().bundle(Subject::Lot { participant: "BW".into(), lot: "BW/2".into() });
    let f = files(&json);
    let out = verify_bundle(&f, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let r: Report = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(r.valid && r.problems.is_empty());
    // Nothing asked beyond the rule; BW's log has two witnesses, so two.
    assert_eq!((r.entries, r.quorum, r.logs.len(), r.logs[0].quorum), (4, 0, 1, 2));
    assert_eq!(r.trail.unwrap().origins[0].country, "BW");

    let mut changed = json.clone();
    let at = changed.iter().rposition(|b| b.is_ascii_hexdigit()).unwrap();
    changed[at] = if changed[at] == b'0' { b'1' } else { b'0' };
    let f = files(&changed);
    let out = verify_bundle(&f, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let r: Report = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(!r.valid && !r.problems.is_empty() && r.trail.is_none());
}

#[test]
fn one_changed_byte_makes_a_bundle_invalid() {
    let json = bw_export().bundle(Subject::Certificate { number: "BW-1".into() });
    let text = String::from_utf8(json.clone()).unwrap();
    let cosignature = text.find("\"signature\": \"").unwrap() + "\"signature\": \"".len();
    let indent = text.find("\n  ").unwrap() + 1;
    for (at, to, code) in [
        // A hex digit of a cosignature: still a bundle, no longer signed.
        (
            cosignature + 10,
            None,
            "[bundle.cosignature] checkpoint of the BW authority log at size 5: the cosignature of",
        ),
        // A space made a tab: the same JSON value, other bytes.
        (indent, Some(b'\t'), "[bundle.not_canonical] the file differs from its canonical form at byte offset"),
    ] {
        let mut changed = json.clone();
        changed[at] = to.unwrap_or(if changed[at] == b'0' { b'1' } else { b'0' });
        let f = files(&changed);
        let out = verify_bundle(&f, &[]);
        assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).starts_with("INVALID: "), "{}", stdout(&out));
        assert!(stdout(&out).contains(code), "{}", stdout(&out));
    }

    // JSON, but not a bundle: a verdict too.
    let f = files(b"{\"format\": \"kpledger-bundle/2\"}\n");
    let out = verify_bundle(&f, &[]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("[bundle.unreadable] not a bundle: missing field"), "{}", stdout(&out));
}

#[test]
fn unreadable_bundles_and_rosters_exit_2() {
    let json = bw_export().bundle(Subject::Certificate { number: "BW-1".into() });
    let f = files(&json);
    let missing = f._dir.path().join("missing.json");
    let cut = f._dir.path().join("cut.json");
    std::fs::write(&cut, &json[..json.len() / 2]).unwrap();
    let (bundle, roster) = (f.bundle.to_str().unwrap(), f.roster.to_str().unwrap());
    let (missing, cut) = (missing.to_str().unwrap(), cut.to_str().unwrap());
    for (args, why) in [
        (vec!["verify", bundle, "--roster", missing], "cannot read the roster"),
        (vec!["verify", missing, "--roster", roster], "cannot read the bundle"),
        (vec!["verify", cut, "--roster", roster], "is not JSON"),
        // A bundle is not a roster.
        (vec!["verify", bundle, "--roster", bundle], "is not a signed roster"),
    ] {
        let out = kp(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}{}", stdout(&out), stderr(&out));
        assert!(stderr(&out).starts_with("error: client.bad_input: "), "{}", stderr(&out));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    // Usage errors are exit 2 as well.
    let out = kp(&["verify", bundle]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--roster <FILE>"), "{}", stderr(&out));
}
