//! Storage faults on the write path, on the in-memory store that fails on
//! demand: a batch larger than one chunk fails at each of its writes and at
//! reads spread over all of its chunks, and a power loss strikes between a
//! chunk's buffered write and the batch's synced one.

use kp_dev::workload;
use kp_node::ingest::{Outcome, Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::rebuild;
use kp_node::store::{Column, KeyValueStore, MemoryStore};
use kp_schemas::Hash32;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Entries stored before the batch that fails.
const BEFORE: usize = 150;
/// The failing batch: three pipeline chunks.
const BATCH: usize = 600;

struct Setup {
    w: workload::Workload,
}

impl Setup {
    fn new() -> Self {
        let w = workload::generate(BEFORE + BATCH + 200, 0, &|_| {});
        assert!(w.entries.len() >= BEFORE + BATCH + 100);
        Setup { w }
    }

    fn open(&self, store: Arc<MemoryStore>) -> Arc<Ledger> {
        let roster = self.w.keys.roster(workload::NETWORK);
        Arc::new(Ledger::open(Box::new(store), Some(&roster)).unwrap())
    }

    /// A ledger holding the first `BEFORE` entries.
    fn start(&self) -> (Arc<MemoryStore>, Arc<Ledger>) {
        let store = Arc::new(MemoryStore::new());
        let ledger = self.open(store.clone());
        for r in process(&ledger, &self.w.entries[..BEFORE]) {
            r.unwrap();
        }
        (store, ledger)
    }

    fn batch(&self) -> &[Vec<u8>] {
        &self.w.entries[BEFORE..BEFORE + BATCH]
    }
}

fn process(ledger: &Arc<Ledger>, entries: &[Vec<u8>]) -> Vec<Result<kp_schemas::api::Submitted, String>> {
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    writer
        .process(entries.iter().cloned().map(Submission::Entry).collect())
        .into_iter()
        .map(|r| r.and_then(Outcome::into_reply).map_err(|e| e.to_string()))
        .collect()
}

/// Every position of every log holds an entry of that log at that position,
/// and every acknowledged entry is there.
fn assert_consistent(ledger: &Ledger, acknowledged: &HashSet<Hash32>, when: &str) {
    for (author, head) in ledger.heads().unwrap() {
        for seq in 1..=head.seq {
            let e = ledger.entry_at(&author, seq).unwrap().unwrap_or_else(|| panic!("{when}: {author} {seq} missing"));
            assert_eq!((e.entry().author, e.entry().seq), (author, seq), "{when}: an index was handed out twice");
        }
    }
    for h in acknowledged {
        assert!(ledger.entry_by_hash(h).unwrap().is_some(), "{when}: acknowledged entry {h} lost");
    }
}

/// After a fault: retry the batch and go on with more, then every derived
/// value must equal a replay of the logs.
fn finish(s: &Setup, ledger: &Arc<Ledger>, acknowledged: &HashSet<Hash32>, when: &str) {
    assert!(!ledger.is_broken(), "{when}: the ledger could not recover");
    assert_consistent(ledger, acknowledged, when);
    let rest = &s.w.entries[BEFORE..BEFORE + BATCH + 100];
    for (i, r) in process(ledger, rest).into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("{when}: entry {i} after the fault: {e}"));
    }
    assert_eq!(ledger.entry_count(), (BEFORE + BATCH + 100) as u64, "{when}");
    assert_consistent(ledger, acknowledged, when);
    let report = rebuild::check(ledger, |_| {}).unwrap();
    assert!(report.ok(), "{when}: {:?}", report.mismatches);
}

fn acknowledged(results: &[Result<kp_schemas::api::Submitted, String>]) -> HashSet<Hash32> {
    results.iter().filter_map(|r| r.as_ref().ok()).map(|s| s.hash).collect()
}

#[test]
fn a_batch_failing_at_any_step_leaves_no_trace_and_reuses_no_index() {
    let s = Setup::new();
    // How many reads and writes the batch takes, to fail each in turn.
    let (store, ledger) = s.start();
    store.fail_read(0, false);
    store.fail_write(0, false);
    for r in process(&ledger, s.batch()) {
        r.unwrap();
    }
    let (reads, writes) = store.counts();
    assert!(writes >= 3, "a batch of {BATCH} is written in chunks, then synced: {writes} writes");

    let mut points: Vec<(bool, u64)> = (1..=writes).map(|n| (false, n)).collect();
    let stride = (reads / 60).max(1);
    points.extend((1..=reads).step_by(stride as usize).map(|n| (true, n)));
    for (read, n) in points {
        for sticky in [false, true] {
            let when = format!(
                "{} {n} of the batch failing{}",
                if read { "read" } else { "write" },
                if sticky { " and every one after" } else { "" }
            );
            let (store, ledger) = s.start();
            if read {
                store.fail_read(n, sticky);
            } else {
                store.fail_write(n, sticky);
            }
            let results = process(&ledger, s.batch());
            let acked = acknowledged(&results);
            store.fail_read(0, false);
            store.fail_write(0, false);
            if sticky {
                // The store stayed down: restart on what a power loss leaves.
                let ledger = s.open(Arc::new(store.crash()));
                finish(&s, &ledger, &acked, &when);
            } else {
                finish(&s, &ledger, &acked, &when);
            }
        }
    }
}

#[test]
fn nothing_unsynced_is_served_and_a_power_loss_takes_back_nothing_served() {
    let s = Setup::new();
    let (store, ledger) = s.start();
    let before_heads = ledger.heads().unwrap();
    let before_count = ledger.entry_count();
    let batch: Vec<_> = s.batch().iter().map(|b| kp_schemas::SignedEntry::parse(b.clone()).unwrap()).collect();
    let seen = Arc::new(Mutex::new(None));
    {
        let (ledger, store2, seen) = (Arc::downgrade(&ledger), Arc::downgrade(&store), seen.clone());
        let batch = batch.clone();
        store.before_sync(move || {
            let (Some(ledger), Some(store)) = (ledger.upgrade(), store2.upgrade()) else { return };
            // Chunks of the batch are in the store by now, unsynced.
            let first = &batch[0];
            let buffered = store.get(Column::Hashes, &first.hash().0).unwrap().is_some();
            let served = (
                ledger.heads().unwrap(),
                ledger.entry_count(),
                ledger.ordered_bytes(0, usize::MAX, usize::MAX).unwrap().0.len() as u64,
                batch.iter().filter(|e| ledger.entry_by_hash(&e.hash()).unwrap().is_some()).count(),
                batch
                    .iter()
                    .filter(|e| {
                        let a = e.entry().author;
                        ledger.log_page(&a, e.entry().seq, 1).unwrap().first().is_some_and(|x| x.hash() == e.hash())
                            || ledger.entry_at(&a, e.entry().seq).unwrap().is_some_and(|x| x.hash() == e.hash())
                    })
                    .count(),
            );
            *seen.lock().unwrap() = Some((buffered, served, store.crash()));
        });
    }
    for r in process(&ledger, s.batch()) {
        r.unwrap();
    }
    let (buffered, (heads, count, ordered, by_hash, by_position), crashed) =
        seen.lock().unwrap().take().expect("the batch was synced");
    assert!(buffered, "the batch's first chunk was written before its synced write");
    assert_eq!(heads, before_heads, "heads served before the synced write");
    assert_eq!((count, ordered), (before_count, before_count));
    assert_eq!((by_hash, by_position), (0, 0), "entries of the batch served before the synced write");
    // A power loss at that moment: the node restarts with what it served.
    let restarted = s.open(Arc::new(crashed));
    assert_eq!(restarted.heads().unwrap(), before_heads);
    assert_eq!(restarted.entry_count(), before_count);
    // And once synced, all of it is served.
    assert_eq!(ledger.entry_count(), (BEFORE + BATCH) as u64);
    assert!(batch.iter().all(|e| ledger.entry_by_hash(&e.hash()).unwrap().is_some()));
}
