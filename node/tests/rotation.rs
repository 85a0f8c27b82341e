//! A forced key rotation on real stores (R2, R3): a thief signs past the
//! head of BW's authority log; the chair closes the log at that head. A
//! node that had accepted the thief's entry and one that sees the rotation
//! first end with the same entries and state, the new key writes BW's log
//! from position 1 on both, and the state survives a restart and a full
//! replay (`kp-node check`).

use kp_dev::workload;
use kp_node::ingest::{Outcome, Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::rebuild;
use kp_node::store::{KeyValueStore, RocksStore};
use kp_schemas::model::{Body, Entry, Governance, LicenseeRegistration, Role};
use kp_schemas::{Keypair, SignedEntry};
use std::sync::Arc;

fn open(store: Box<dyn KeyValueStore>, w: &workload::Workload) -> Arc<Ledger> {
    Arc::new(Ledger::open(store, Some(&w.keys.roster(workload::NETWORK))).unwrap())
}

fn writer(l: &Arc<Ledger>, keys: &[&Keypair]) -> Writer {
    let mut ring = Keyring::default();
    for k in keys {
        ring.insert((*k).clone());
    }
    Writer::new(l.clone(), ring, Arc::new(Metrics::default()))
}

fn submit(l: &Arc<Ledger>, entries: &[Vec<u8>]) -> Vec<Outcome> {
    let w = writer(l, &[]);
    entries
        .chunks(256)
        .flat_map(|c| w.process(c.iter().cloned().map(Submission::Entry).collect()))
        .map(|r| r.unwrap_or_else(|e| panic!("refused: {e}")))
        .collect()
}

fn act(l: &Arc<Ledger>, key: &Keypair, as_author: &str, body: Body) -> SignedEntry {
    let out = writer(l, &[key]).process(vec![Submission::Action { as_author: Some(as_author.into()), body }]);
    let Ok(Outcome::Stored(s)) = out.into_iter().next().unwrap() else { panic!("the action was not stored") };
    l.entry_by_hash(&s.hash).unwrap().expect("stored")
}

fn assert_same(a: &str, b: &str, what: &str) {
    if a != b {
        let line = a.lines().zip(b.lines()).find(|(x, y)| x != y).map(|(x, y)| {
            let at = x.bytes().zip(y.bytes()).position(|(p, q)| p != q).unwrap_or(0).saturating_sub(200);
            (
                x.get(at..(at + 600).min(x.len())).unwrap_or(x).to_string(),
                y.get(at..(at + 600).min(y.len())).unwrap_or(y).to_string(),
            )
        });
        panic!("{what}: the states differ, first at\n{line:?}");
    }
}

fn state(l: &Ledger) -> String {
    let mut freeze: Vec<_> = l.freeze_points().into_iter().collect();
    freeze.sort();
    format!(
        "heads {:?}\nlots {:?}\ncerts {:?}\nlicensees {:?}\nnetwork {:?}\nfreeze {freeze:?}\nvoid {:?}",
        l.heads().unwrap(),
        l.all_lots().unwrap(),
        l.all_certificates().unwrap(),
        l.all_licensees().unwrap(),
        l.network(),
        l.void_keys().unwrap(),
    )
}

#[test]
fn a_forced_rotation_withdraws_a_thiefs_entries_on_every_node_and_the_new_key_writes_on() {
    let w = workload::generate(1_500, 1, &|_| {});
    let old = w.keys.authority("BW").clone();
    let new = Keypair::from_seed([0x77; 32]);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // A holds everything, then the thief's entry past BW's head.
    let a = open(Box::new(RocksStore::open(a_dir.path()).unwrap()), &w);
    assert!(submit(&a, &w.entries).iter().all(|o| matches!(o, Outcome::Stored(_))));
    let head = a.head(&old.public()).unwrap().expect("BW writes in the workload");
    let theft = SignedEntry::sign(
        Entry {
            network: workload::NETWORK.into(),
            author: old.public(),
            seq: head.seq + 1,
            prev: head.hash,
            timestamp_ms: head.timestamp_ms + 1,
            context: vec![],
            body: Body::RegisterLicensee(LicenseeRegistration {
                licensee: Keypair::from_seed([0x78; 32]).public(),
                name: "thief".into(),
                roles: vec![Role::Exporter],
            }),
        },
        &old,
    );
    assert!(matches!(&submit(&a, &[theft.bytes().to_vec()])[0], Outcome::Stored(_)));

    // The chair closes BW's old log at the head the honest writer held.
    let rotate = Governance::RotateKey { holder: "BW".into(), new_key: new.public(), last: head.seq, statement: None };
    let rotation = act(&a, &w.keys.chair, "chair", Body::Governance(rotate));
    assert_eq!(a.freeze_point(&old.public()), Some(head.seq));
    assert_eq!(a.log_size(&old.public()).unwrap(), head.seq, "the thief's entry is withdrawn");

    // B holds everything but the theft, sees the rotation, then the theft.
    let b = open(Box::new(RocksStore::open(b_dir.path()).unwrap()), &w);
    submit(&b, &w.entries);
    assert!(matches!(&submit(&b, &[rotation.bytes().to_vec()])[0], Outcome::Stored(_)));
    assert!(matches!(&submit(&b, &[theft.bytes().to_vec()])[0], Outcome::Withdrawn { new: true, .. }));

    // The new key writes BW's log from position 1, at A; B takes it.
    let reg = LicenseeRegistration {
        licensee: Keypair::from_seed([0x79; 32]).public(),
        name: "after the rotation".into(),
        roles: vec![Role::Miner],
    };
    let first = act(&a, &new, "BW", Body::RegisterLicensee(reg));
    assert_eq!((first.entry().author, first.entry().seq), (new.public(), 1));
    assert!(matches!(&submit(&b, &[first.bytes().to_vec()])[0], Outcome::Stored(_)));
    // The old key no longer writes for BW: a node holding only it is refused.
    let late = writer(&a, &[&old]).process(vec![Submission::Action {
        as_author: Some("BW".into()),
        body: Body::RegisterLicensee(LicenseeRegistration {
            licensee: Keypair::from_seed([0x7A; 32]).public(),
            name: "old key".into(),
            roles: vec![Role::Miner],
        }),
    }]);
    assert!(late[0].is_err(), "a retired key signs nothing: {:?}", late[0].as_ref().map(|_| ()));

    let sa = state(&a);
    assert_same(&sa, &state(&b), "A and B");
    for (name, n) in [("A", &a), ("B", &b)] {
        let report = rebuild::check(n, |_| {}).unwrap();
        assert!(report.ok(), "{name}: {:?}", report.mismatches);
    }
    drop(a);
    let a = open(Box::new(RocksStore::open(a_dir.path()).unwrap()), &w);
    assert_same(&sa, &state(&a), "A reopened");
}
