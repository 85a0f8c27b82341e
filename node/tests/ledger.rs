//! The node's write path on a real RocksDB in a temporary folder: ingest,
//! reopen, rebuild from the logs, equivocation evidence.

use kp_dev::workload;
use kp_node::ingest::{Outcome, Submission, SubmitError, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::rebuild;
use kp_node::store::RocksStore;
use kp_schemas::codes;
use kp_schemas::model::{Body, Entry, Governance};
use kp_schemas::{SignedEntry, trail};
use std::path::Path;
use std::sync::Arc;

fn open(dir: &Path, w: &workload::Workload) -> Arc<Ledger> {
    let store = RocksStore::open(dir).unwrap();
    Arc::new(Ledger::open(Box::new(store), Some(&w.keys.roster(workload::NETWORK))).unwrap())
}

fn outcomes(ledger: &Arc<Ledger>, entries: &[Vec<u8>]) -> Vec<Result<Outcome, SubmitError>> {
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    entries.chunks(512).flat_map(|c| writer.process(c.iter().cloned().map(Submission::Entry).collect())).collect()
}

/// What a client is answered for each.
fn ingest(ledger: &Arc<Ledger>, entries: &[Vec<u8>]) -> Vec<Result<kp_schemas::api::Submitted, SubmitError>> {
    outcomes(ledger, entries).into_iter().map(|r| r.and_then(Outcome::into_reply)).collect()
}

#[test]
fn generated_trade_ingests_survives_reopen_and_matches_a_rebuild() {
    let w = workload::generate(3_000, 2, &|_| {});
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path(), &w);
    for r in ingest(&ledger, &w.entries) {
        r.unwrap();
    }
    let n = w.entries.len() as u64;
    assert_eq!(ledger.entry_count(), n);
    // Ingesting the same entries again stores nothing new.
    assert!(ingest(&ledger, &w.entries[..100]).into_iter().all(|r| r.unwrap().duplicate));
    drop(ledger);

    let ledger = open(dir.path(), &w);
    assert_eq!(ledger.entry_count(), n);
    let report = rebuild::check(&ledger, |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.mismatches);
    assert_eq!(report.entries, n);

    for (p, lot) in &w.deep_lots {
        let t = trail::lot_trail(ledger.as_ref(), p, lot, "2018-01-01").unwrap();
        assert!(t.productions >= 50 && t.depth >= 5, "{} productions, depth {}", t.productions, t.depth);
        assert!(t.compliance.compliant, "{:?}", t.compliance);
    }
}

#[test]
fn equivocation_is_kept_as_evidence_and_freezes_the_log() {
    let w = workload::generate(200, 0, &|_| {});
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path(), &w);
    for r in ingest(&ledger, &w.entries) {
        r.unwrap();
    }
    let chair = &w.keys.chair;
    let sign = |seq, prev, code: &str| {
        let body =
            Body::Governance(Governance::SuspendParticipant { code: code.into(), reason: "test".into(), from: 1 });
        SignedEntry::sign(
            Entry {
                network: workload::NETWORK.into(),
                author: chair.public(),
                seq,
                prev,
                timestamp_ms: 1,
                context: vec![],
                body,
            },
            chair,
        )
    };
    let first = sign(1, kp_schemas::Hash32::ZERO, "AE");
    let second = sign(1, kp_schemas::Hash32::ZERO, "IN");
    ingest(&ledger, &[first.bytes().to_vec()])[0].as_ref().unwrap();
    let r = outcomes(&ledger, &[second.bytes().to_vec()]).remove(0);
    assert!(matches!(&r, Ok(Outcome::Evidence { new: true, .. })), "{r:?}");
    let r = r.and_then(Outcome::into_reply);
    assert!(matches!(&r, Err(SubmitError::Refused(x)) if x.code == codes::R3_EQUIVOCATION), "{r:?}");
    let third = sign(2, first.hash(), "EU");
    let r = ingest(&ledger, &[third.bytes().to_vec()]).remove(0);
    assert!(matches!(&r, Err(SubmitError::Refused(x)) if x.code == codes::R3_LOG_FROZEN), "{r:?}");
    drop(ledger);

    let ledger = open(dir.path(), &w);
    let ev = ledger.evidence().unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].equivocation.existing, ev[0].equivocation.conflicting), (first.hash(), second.hash()));
    assert_eq!(ev[0].conflicting_bytes, second.bytes());
    assert!(ledger.head(&chair.public()).unwrap().unwrap().frozen);
    let report = rebuild::check(&ledger, |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.mismatches);
}

#[test]
fn a_clients_entry_stamped_far_ahead_is_refused_a_peers_is_judged_as_any() {
    let w = workload::generate(50, 0, &|_| {});
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path(), &w);
    let chair = &w.keys.chair;
    let ahead = kp_node::clock::now_ms() + kp_node::ingest::MAX_CLOCK_AHEAD_MS + 60_000;
    let entry = SignedEntry::sign(
        Entry {
            network: workload::NETWORK.into(),
            author: chair.public(),
            seq: 1,
            prev: kp_schemas::Hash32::ZERO,
            timestamp_ms: ahead,
            context: vec![],
            body: Body::Governance(Governance::SuspendParticipant { code: "AE".into(), reason: "r".into(), from: 1 }),
        },
        chair,
    );
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    let r = writer.process(vec![Submission::Entry(entry.bytes().to_vec())]).remove(0).and_then(Outcome::into_reply);
    assert!(matches!(&r, Err(SubmitError::Refused(x)) if x.code == codes::R3_FUTURE_TIMESTAMP), "{r:?}");
    assert!(ledger.head(&chair.public()).unwrap().is_none(), "nothing stored");
    // From a peer, the same entry is accepted: its verdict may not depend on
    // when it arrives.
    let r = writer.process(vec![Submission::Peer(entry.bytes().to_vec())]).remove(0).and_then(Outcome::into_reply);
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn a_record_goes_to_the_log_of_a_participant_that_registered_its_key_and_whose_key_the_node_holds() {
    use kp_schemas::model::{LicenseeRegistration, Nature, Production, RecordBody, Role};
    let w = workload::generate(50, 0, &|_| {});
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path(), &w);
    let cf = w.keys.authority("CF").clone();
    let mut keys = Keyring::default();
    keys.insert(cf.clone());
    let cf_node = Writer::new(ledger.clone(), keys, Arc::new(Metrics::default()));
    let elsewhere = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    let miner = kp_schemas::Keypair::from_seed([77; 32]);
    let stranger = kp_schemas::Keypair::from_seed([78; 32]);
    let register = Body::RegisterLicensee(LicenseeRegistration {
        licensee: miner.public(),
        name: "miner".into(),
        roles: vec![Role::Miner],
    });
    cf_node
        .process(vec![Submission::Action { as_author: Some("CF".into()), body: register }])
        .remove(0)
        .and_then(Outcome::into_reply)
        .unwrap();
    let record = |key: &kp_schemas::Keypair| {
        let body = RecordBody::Production(Production {
            lot: "CF/X/1".into(),
            site: "s".into(),
            zone: None,
            weight: 100,
            stones: 1,
            date: "2017-01-01".into(),
            nature: Nature::Natural,
            value_cents: None,
        });
        let r = kp_schemas::entry::sign_record(workload::NETWORK, key, 1, body);
        Submission::Record { record: r.bytes().to_vec(), signature: r.signature() }
    };
    let r = elsewhere.process(vec![record(&miner)]).remove(0);
    assert!(matches!(&r, Err(SubmitError::NotWriter(m)) if m.contains("CF")), "{r:?}");
    let r = cf_node.process(vec![record(&stranger)]).remove(0);
    assert!(matches!(&r, Err(SubmitError::Refused(x)) if x.code == codes::R2_UNKNOWN_LICENSEE), "{r:?}");
    // At the CF node the record is countersigned (R6 refuses a CF lot with
    // no zone, as the rules say, so a refusal with that code is the proof
    // that it reached the rules).
    let r = cf_node.process(vec![record(&miner)]).remove(0);
    assert!(matches!(&r, Err(SubmitError::Refused(x)) if x.code == codes::R6_ZONE_REQUIRED), "{r:?}");
}
