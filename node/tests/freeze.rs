//! A frozen log looks the same on every node (R3), on real stores: a writer
//! signs a second entry at the position of an export that another
//! participant confirmed and mixed on. One node held the log far beyond
//! that position, another held it only up to it and took the other branch.
//! Both end with the log frozen before the conflict, the same entries and
//! the same derived state: what each held beyond the freeze point is
//! withdrawn, and the confirmation and everything that read it is void,
//! in its place in the importer's log. A store that fails at any write of
//! the freeze ends, once restarted and given the evidence again, in the
//! same state.

use kp_dev::workload;
use kp_node::ingest::{Outcome, Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::rebuild;
use kp_node::store::{KeyValueStore, MemoryStore, RocksStore};
use kp_schemas::model::{Body, Entry, LicenseeRegistration, Role};
use kp_schemas::state::VoidKey;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use std::sync::Arc;

struct Fork {
    w: workload::Workload,
    log: PublicKey,
    /// The position both branches claim.
    at: u64,
    /// The other branch's entry there.
    other: Vec<u8>,
    /// The importer's confirmation of the export at `at`, and its lot.
    confirmation: SignedEntry,
    lot: VoidKey,
}

fn fork() -> Fork {
    let w = workload::generate(1_500, 1, &|_| {});
    let parsed: Vec<SignedEntry> = w.entries.iter().map(|b| SignedEntry::parse(b.clone()).unwrap()).collect();
    let by_hash: std::collections::HashMap<Hash32, &SignedEntry> = parsed.iter().map(|e| (e.hash(), e)).collect();
    let (confirmation, export) = parsed
        .iter()
        .find_map(|e| match &e.entry().body {
            Body::ImportConfirmation(c) => Some((e.clone(), by_hash[&c.certificate_entry])),
            _ => None,
        })
        .expect("the workload confirms an export");
    let Body::ImportConfirmation(c) = &confirmation.entry().body else { unreachable!() };
    let x = export.entry();
    let code = c.exporter.clone();
    let key: &Keypair = w.keys.authority(&code);
    assert_eq!(key.public(), x.author);
    let other = SignedEntry::sign(
        Entry {
            network: workload::NETWORK.into(),
            author: x.author,
            seq: x.seq,
            prev: x.prev,
            timestamp_ms: x.timestamp_ms,
            context: vec![],
            body: Body::RegisterLicensee(LicenseeRegistration {
                licensee: Keypair::from_seed([9; 32]).public(),
                name: "the other branch".into(),
                roles: vec![Role::Trader],
            }),
        },
        key,
    )
    .into_bytes();
    let importer = w
        .keys
        .roster(workload::NETWORK)
        .roster
        .participants
        .iter()
        .find(|p| p.authority == confirmation.entry().author)
        .unwrap()
        .code
        .clone();
    let lot = VoidKey::Lot { participant: importer, lot: c.lot.clone() };
    let (log, at) = (x.author, x.seq);
    Fork { w, log, at, other, confirmation, lot }
}

fn submit(ledger: &Arc<Ledger>, entries: &[Vec<u8>]) -> Vec<Result<Outcome, String>> {
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    entries
        .chunks(256)
        .flat_map(|c| writer.process(c.iter().cloned().map(Submission::Entry).collect()))
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

fn open(store: Box<dyn KeyValueStore>, w: &workload::Workload) -> Arc<Ledger> {
    Arc::new(Ledger::open(store, Some(&w.keys.roster(workload::NETWORK))).unwrap())
}

/// Everything a node serves of the ledger, and what it holds as evidence.
fn state(l: &Ledger) -> String {
    let mut withdrawn: Vec<Hash32> = l
        .withdrawn_bytes(usize::MAX, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|b| SignedEntry::parse(b).unwrap().hash())
        .collect();
    withdrawn.sort();
    let mut freeze: Vec<_> = l.freeze_points().into_iter().collect();
    freeze.sort();
    let mut zones = l.zones().unwrap();
    zones.sort_by_key(|z| z.entry);
    format!(
        "heads {:?}\nlots {:?}\ncerts {:?}\nlicensees {:?}\nzones {:?}\nnetwork {:?}\nfreeze {freeze:?}\n\
         withdrawn {withdrawn:?}\nvoid {:?}",
        l.heads().unwrap(),
        l.all_lots().unwrap(),
        l.all_certificates().unwrap(),
        l.all_licensees().unwrap(),
        zones,
        l.network(),
        l.void_keys().unwrap(),
    )
}

fn assert_same(a: &str, b: &str, what: &str) {
    if a != b {
        let line = a.lines().zip(b.lines()).find(|(x, y)| x != y);
        panic!("{what}: the states differ, first at\n{line:?}");
    }
}

#[test]
fn nodes_that_held_different_lengths_of_a_frozen_log_end_with_the_same_entries_and_state() {
    let f = fork();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // A held the log well beyond the fork, and everything built on it.
    let a = open(Box::new(RocksStore::open(a_dir.path()).unwrap()), &f.w);
    assert!(submit(&a, &f.w.entries).iter().all(|r| matches!(r, Ok(Outcome::Stored(_)))));
    let held = a.log_size(&f.log).unwrap();
    assert!(held > f.at + 5, "A holds the log well beyond the fork: {held} > {}", f.at);
    assert!(
        a.lot(
            match &f.lot {
                VoidKey::Lot { participant, .. } => participant,
                _ => unreachable!(),
            },
            match &f.lot {
                VoidKey::Lot { lot, .. } => lot,
                _ => unreachable!(),
            }
        )
        .unwrap()
        .is_some()
    );
    let r = submit(&a, std::slice::from_ref(&f.other));
    assert!(matches!(&r[0], Ok(Outcome::Evidence { new: true, .. })), "{r:?}");

    // B held the log only up to the fork, and took the other branch there.
    let b = open(Box::new(RocksStore::open(b_dir.path()).unwrap()), &f.w);
    let before: Vec<Vec<u8>> =
        f.w.entries
            .iter()
            .filter(|e| {
                let e = SignedEntry::parse((*e).clone()).unwrap();
                e.entry().author != f.log || e.entry().seq < f.at
            })
            .cloned()
            .collect();
    submit(&b, &before);
    assert_eq!(b.log_size(&f.log).unwrap(), f.at - 1);
    assert!(matches!(&submit(&b, std::slice::from_ref(&f.other))[0], Ok(Outcome::Stored(_))));
    // Then everything, as sync brings it: the export at the fork is the
    // evidence, the rest of the log is withdrawn, its dependents void.
    let r = submit(&b, &f.w.entries);
    assert!(r.iter().all(|r| r.is_ok()), "{:?}", r.iter().find(|r| r.is_err()));

    for (name, n) in [("A", &a), ("B", &b)] {
        assert_eq!(n.log_size(&f.log).unwrap(), f.at - 1, "{name}: frozen before the conflict");
        assert_eq!(n.freeze_point(&f.log), Some(f.at - 1));
        // The confirmation keeps its place in the importer's log, void.
        let c = f.confirmation.entry();
        let held = n.entry_at(&c.author, c.seq).unwrap().expect("the confirmation is in its log");
        assert_eq!(held.hash(), f.confirmation.hash(), "{name}");
        assert!(n.is_void(&f.lot).unwrap(), "{name}: the imported lot is void");
        let report = rebuild::check(n, |_| {}).unwrap();
        assert!(report.ok(), "{name}: {:?}", report.mismatches);
    }
    let size = f.at - 1;
    assert_eq!(a.tree(&f.log).root(size).unwrap(), b.tree(&f.log).root(size).unwrap());
    // Both count what their logs hold, withdrawn entries not included.
    assert_eq!(a.entries_held(), b.entries_held());
    let sa = state(&a);
    assert_same(&sa, &state(&b), "A and B");
    assert!(!a.void_keys().unwrap().is_empty());

    // What A wrote is what it reads back after a restart.
    drop(a);
    let a = open(Box::new(RocksStore::open(a_dir.path()).unwrap()), &f.w);
    assert_same(&sa, &state(&a), "A reopened");
}

#[test]
fn a_store_failing_at_any_write_of_a_freeze_ends_in_the_same_state_once_restarted() {
    let f = fork();
    let reference = {
        let store = Arc::new(MemoryStore::new());
        let l = open(Box::new(store), &f.w);
        submit(&l, &f.w.entries);
        submit(&l, std::slice::from_ref(&f.other));
        state(&l)
    };
    let mut n = 1;
    loop {
        let store = Arc::new(MemoryStore::new());
        let l = open(Box::new(store.clone()), &f.w);
        submit(&l, &f.w.entries);
        store.fail_write(n, false);
        submit(&l, std::slice::from_ref(&f.other));
        let writes = store.counts().1;
        drop(l);
        // A power loss after the failure: a restart finds the last synced
        // state, finishes what it holds of the freeze, and takes the
        // evidence again as sync brings it back.
        let restarted = Arc::new(store.crash());
        let l = open(Box::new(restarted), &f.w);
        submit(&l, std::slice::from_ref(&f.other));
        assert_same(&reference, &state(&l), &format!("write {n} failed"));
        let report = rebuild::check(&l, |_| {}).unwrap();
        assert!(report.ok(), "write {n} failed: {:?}", report.mismatches);
        if n >= writes {
            break;
        }
        n += 1;
    }
    assert!(n >= 2, "the freeze takes more than one write: {n}");
}

#[test]
fn a_checkpoint_heard_while_a_withdrawal_is_written_is_not_kept_beyond_the_freeze_point() {
    use kp_node::witness::{CheckpointConfig, Witness};
    use kp_schemas::checkpoint::{Checkpoint, CheckpointGossip, SignedCheckpoint};
    use kp_schemas::model::HexBytes;
    use std::sync::Mutex;

    let f = fork();
    let store = Arc::new(MemoryStore::new());
    let l = open(Box::new(store.clone()), &f.w);
    submit(&l, &f.w.entries);
    // The writer's checkpoint of its log as this node holds it: true until
    // the other branch convicts the writer.
    let held = l.log_size(&f.log).unwrap();
    assert!(held > f.at);
    let code =
        f.w.keys
            .roster(workload::NETWORK)
            .roster
            .participants
            .iter()
            .find(|p| p.authority == f.log)
            .unwrap()
            .code
            .clone();
    let cp = SignedCheckpoint::sign(
        Checkpoint {
            network: workload::NETWORK.into(),
            log: f.log,
            size: held,
            root: l.tree(&f.log).root(held).unwrap(),
            timestamp_ms: 1,
        },
        f.w.keys.authority(&code),
    );
    let gossip = CheckpointGossip::Checkpoint { checkpoint: HexBytes(cp.into_bytes()), cosignatures: vec![] };
    let witness = Arc::new(Witness::new(l.clone(), Keyring::default(), CheckpointConfig::default()));
    // The witness hears it on its own thread while the withdrawal is
    // written: once the freeze point is known, before the log's tail and
    // its checkpoints are gone from the store.
    let heard = Arc::new(Mutex::new(0));
    {
        let (w, l, heard, log) = (witness.clone(), l.clone(), heard.clone(), f.log);
        store.before_sync(move || {
            // Once the store no longer holds the tree at that size, the
            // witness cannot judge the checkpoint at all (a read error).
            if l.freeze_point(&log).is_some() && l.log_size(&log).unwrap() == held && w.receive(gossip.clone()).is_ok()
            {
                *heard.lock().unwrap() += 1;
            }
        });
    }
    submit(&l, std::slice::from_ref(&f.other));
    assert!(*heard.lock().unwrap() > 0, "the checkpoint was heard while the withdrawal was written");
    assert_eq!(l.log_size(&f.log).unwrap(), f.at - 1);
    let beyond = |w: &Witness| (f.at..=held).filter(|s| w.stored(&f.log, *s).unwrap().is_some()).collect::<Vec<_>>();
    assert_eq!(beyond(&witness), Vec::<u64>::new(), "a checkpoint beyond the freeze point was kept");
    // Nor does one come back after a power loss.
    let l = open(Box::new(store.crash()), &f.w);
    assert_eq!(beyond(&Witness::new(l, Keyring::default(), CheckpointConfig::default())), Vec::<u64>::new());
}

/// How long a node's writer waits while a freeze withdraws a log's tail
/// from a large ledger: a figure for docs/BENCHMARKS.md, not a check.
/// `KP_FREEZE_ENTRIES=300000 cargo test --release -p kp-node --test freeze -- --ignored --nocapture`
#[test]
#[ignore]
fn time_a_withdrawal_from_a_large_ledger() {
    let n: usize = std::env::var("KP_FREEZE_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
    let w = workload::generate(n, 0, &|_| {});
    let parsed: Vec<SignedEntry> = w.entries.iter().map(|b| SignedEntry::parse(b.clone()).unwrap()).collect();
    // Fork the busiest authority's log halfway.
    let mut count: std::collections::HashMap<PublicKey, u64> = Default::default();
    for e in &parsed {
        *count.entry(e.entry().author).or_default() += 1;
    }
    let (log, len) = count.into_iter().max_by_key(|(_, c)| *c).unwrap();
    let at = parsed.iter().find(|e| e.entry().author == log && e.entry().seq == len / 2).unwrap().entry().clone();
    let code =
        w.keys.roster(workload::NETWORK).roster.participants.iter().find(|p| p.authority == log).unwrap().code.clone();
    let other = SignedEntry::sign(
        Entry {
            context: vec![],
            body: Body::RegisterLicensee(LicenseeRegistration {
                licensee: Keypair::from_seed([8; 32]).public(),
                name: "the other branch".into(),
                roles: vec![Role::Trader],
            }),
            ..at
        },
        w.keys.authority(&code),
    );
    let dir = tempfile::tempdir().unwrap();
    let l = open(Box::new(RocksStore::open(dir.path()).unwrap()), &w);
    kp_dev::workload::ingest(l.clone(), &w.entries, kp_node::ingest::MAX_BATCH).unwrap();
    let t = std::time::Instant::now();
    submit(&l, &[other.into_bytes()]);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "withdrawing {} of {len} entries of one log from a ledger of {} entries: {secs:.2} s; {} void objects",
        len - l.log_size(&log).unwrap(),
        w.entries.len(),
        l.void_keys().unwrap().len()
    );
}
