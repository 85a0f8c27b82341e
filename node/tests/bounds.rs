//! What a hostile writer or peer can make a node keep or read is bounded:
//! one conflicting pair per log position, no write for a known conflict,
//! and sync answers that stop reading at their byte budget.

use kp_dev::workload;
use kp_node::ingest::{Outcome, Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::store::MemoryStore;
use kp_schemas::model::{Body, Entry, Governance};
use kp_schemas::{Hash32, SignedEntry};
use std::sync::Arc;

fn setup(n: usize) -> (workload::Workload, Arc<MemoryStore>, Arc<Ledger>, Writer) {
    let w = workload::generate(n, 0, &|_| {});
    let store = Arc::new(MemoryStore::new());
    let ledger = Arc::new(Ledger::open(Box::new(store.clone()), Some(&w.keys.roster(workload::NETWORK))).unwrap());
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    for c in w.entries.chunks(1000) {
        for r in writer.process(c.iter().cloned().map(Submission::Entry).collect()) {
            r.and_then(Outcome::into_reply).unwrap();
        }
    }
    (w, store, ledger, writer)
}

#[test]
fn a_writer_signing_many_variants_of_one_entry_leaves_one_pair_and_known_ones_write_nothing() {
    let (w, store, ledger, writer) = setup(200);
    let chair = &w.keys.chair;
    let variant = |i: u32| {
        let body = Body::Governance(Governance::SuspendParticipant {
            code: "AE".into(),
            reason: format!("variant {i}"),
            from: 1,
        });
        let e = Entry {
            network: workload::NETWORK.into(),
            author: chair.public(),
            seq: 1,
            prev: Hash32::ZERO,
            timestamp_ms: 1,
            context: vec![],
            body,
        };
        SignedEntry::sign(e, chair).into_bytes()
    };
    let code =
        |bytes: Vec<u8>| match writer.process(vec![Submission::Peer(bytes)]).remove(0).and_then(Outcome::into_reply) {
            Ok(s) => format!("stored {}", s.seq),
            Err(e) => e.to_string(),
        };
    assert_eq!(code(variant(0)), "stored 1");
    assert!(code(variant(1)).contains("both kept as evidence"));
    assert_eq!(ledger.evidence().unwrap().len(), 1);
    // Frozen before the conflict: both entries at position 1 are withdrawn,
    // kept as evidence only, and each new variant is too, up to a bound.
    assert_eq!(ledger.freeze_point(&chair.public()), Some(0));
    assert!(code(variant(2)).contains("kept as evidence only"));
    let cap = kp_node::ledger::MAX_WITHDRAWN_PER_LOG as u32;
    for i in 3..cap + 50 {
        code(variant(i));
    }
    assert_eq!(
        ledger.withdrawn_bytes(usize::MAX, usize::MAX).unwrap().len(),
        cap as usize,
        "withdrawn entries are bounded"
    );
    store.fail_write(0, false);
    // Known variants, and new ones past the bound, write nothing.
    for i in [0, 1, 2, cap + 60, cap + 61] {
        assert!(code(variant(i)).contains("kept as evidence only"), "variant {i}");
    }
    assert_eq!(store.counts().1, 0, "a known conflict causes no write");
    assert_eq!(ledger.evidence().unwrap().len(), 1, "one pair per position");
    assert!(ledger.head(&chair.public()).unwrap().unwrap().frozen);
}

#[test]
fn a_page_answer_stops_reading_at_its_byte_budget() {
    let (w, store, ledger, _) = setup(3_000);
    let (author, head) = ledger.heads().unwrap().into_iter().max_by_key(|(_, h)| h.seq).unwrap();
    assert!(head.seq > 300, "a long log: {}", head.seq);
    let one = ledger.entry_at(&author, 1).unwrap().unwrap().bytes().len();
    let budget = 10 * one;
    store.fail_read(0, false);
    let page = ledger.log_page_bytes(&author, 1, 1024, budget).unwrap();
    let (reads, _) = store.counts();
    assert!(!page.is_empty() && page.iter().map(Vec::len).sum::<usize>() <= budget, "{} entries", page.len());
    assert!(reads as usize <= page.len() + 2, "{reads} reads for a page of {}", page.len());
    // Whatever the budget, one entry at least, so that sync moves on.
    assert_eq!(ledger.log_page_bytes(&author, 1, 1024, 1).unwrap().len(), 1);
    // Acceptance order: the same bound.
    let (ordered, _) = ledger.ordered_bytes(0, 1024, budget).unwrap();
    assert!(!ordered.is_empty() && ordered.iter().map(Vec::len).sum::<usize>() <= budget);
    assert_eq!(ledger.ordered_bytes(0, 1024, 1).unwrap().0.len(), 1);
    drop(w);
}
