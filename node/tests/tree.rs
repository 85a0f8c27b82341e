//! Each log's Merkle tree as the node stores it, on a real RocksDB: every
//! proof it serves verifies against the root of the log's own entries, at
//! any past size, across a reopen; a changed bit fails.

use kp_dev::workload;
use kp_node::ingest::{Submission, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::rebuild;
use kp_node::store::RocksStore;
use kp_schemas::merkle::{root, verify_consistency, verify_inclusion};
use kp_schemas::{Hash32, PublicKey, SignedEntry};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

fn open(dir: &Path, w: &workload::Workload) -> Arc<Ledger> {
    let store = RocksStore::open(dir).unwrap();
    Arc::new(Ledger::open(Box::new(store), Some(&w.keys.roster(workload::NETWORK))).unwrap())
}

fn ingest(ledger: &Arc<Ledger>, entries: &[Vec<u8>]) {
    let writer = Writer::new(ledger.clone(), Keyring::default(), Arc::new(Metrics::default()));
    for chunk in entries.chunks(700) {
        for r in writer.process(chunk.iter().cloned().map(Submission::Entry).collect()) {
            r.unwrap();
        }
    }
}

/// Each log's entry hashes in order: the leaves, computed apart from the
/// store.
fn leaves(entries: &[Vec<u8>]) -> BTreeMap<PublicKey, Vec<Hash32>> {
    let mut logs: BTreeMap<PublicKey, Vec<(u64, Hash32)>> = BTreeMap::new();
    for b in entries {
        let e = SignedEntry::parse(b.clone()).unwrap();
        logs.entry(e.entry().author).or_default().push((e.entry().seq, e.hash()));
    }
    logs.into_iter()
        .map(|(k, mut v)| {
            v.sort();
            (k, v.into_iter().map(|(_, h)| h).collect())
        })
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    ledger: Arc<Ledger>,
    logs: Vec<(PublicKey, Vec<Hash32>)>,
}

/// One store for all property cases: ingested in two halves with a reopen
/// between, so the tree edge is reloaded from the store once.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let w = workload::generate(2_500, 1, &|_| {});
        let dir = tempfile::tempdir().unwrap();
        let half = w.entries.len() / 2;
        let ledger = open(dir.path(), &w);
        ingest(&ledger, &w.entries[..half]);
        drop(ledger);
        let ledger = open(dir.path(), &w);
        ingest(&ledger, &w.entries[half..]);
        let logs = leaves(&w.entries).into_iter().collect();
        Fixture { _dir: dir, ledger, logs }
    })
}

fn flip(h: &mut Hash32, bit: usize) {
    h.0[bit / 8] ^= 1 << (bit % 8);
}

/// Flip one bit, chosen by `bit_seed`, of all the hashes a proof check
/// reads: the proof's, then `a`, then `b`.
fn flip_one(bit_seed: usize, proof: &mut [Hash32], a: &mut Hash32, b: &mut Hash32) {
    let bit = bit_seed % (256 * (proof.len() + 2));
    match bit / 256 {
        i if i < proof.len() => flip(&mut proof[i], bit % 256),
        i if i == proof.len() => flip(a, bit % 256),
        _ => flip(b, bit % 256),
    }
}

#[test]
fn stored_roots_are_the_roots_of_the_logs_at_every_size() {
    let f = fixture();
    assert!(f.logs.len() >= 5, "the workload writes the five authorities' logs and more");
    for (author, leaves) in &f.logs {
        let tree = f.ledger.tree(author);
        assert_eq!(f.ledger.log_size(author).unwrap(), leaves.len() as u64);
        for size in (1..=leaves.len()).step_by(37).chain([leaves.len()]) {
            assert_eq!(tree.root(size as u64).unwrap(), root(&leaves[..size]), "log {author} at size {size}");
        }
    }
    let report = rebuild::check(&f.ledger, |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.mismatches);
}

#[test]
fn proofs_out_of_range_are_refused_not_made_up() {
    let f = fixture();
    let (author, leaves) = &f.logs[0];
    let n = leaves.len() as u64;
    let tree = f.ledger.tree(author);
    assert!(tree.inclusion(0, n, n).is_err());
    assert!(tree.inclusion(n, n - 1, n).is_err());
    assert!(tree.inclusion(1, n + 1, n).is_err());
    assert!(tree.consistency(0, n, n).is_err());
    assert!(tree.consistency(3, 2, n).is_err());
    assert!(tree.consistency(1, n + 1, n).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_inclusion_proof_served_verifies_and_any_flipped_bit_fails(
        log in 0usize..64, size_seed: u64, seq_seed: u64, bit_seed: usize,
    ) {
        let f = fixture();
        let (author, leaves) = &f.logs[log % f.logs.len()];
        let n = leaves.len() as u64;
        let size = 1 + size_seed % n;
        let seq = 1 + seq_seed % size;
        let proof = f.ledger.tree(author).inclusion(seq, size, n).unwrap();
        let r = root(&leaves[..size as usize]);
        let leaf = leaves[seq as usize - 1];
        prop_assert_eq!(verify_inclusion(&leaf, seq - 1, size, &proof, &r), Ok(()));

        let (mut proof, mut r, mut leaf) = (proof, r, leaf);
        flip_one(bit_seed, &mut proof, &mut r, &mut leaf);
        prop_assert!(verify_inclusion(&leaf, seq - 1, size, &proof, &r).is_err());
    }

    #[test]
    fn every_consistency_proof_served_verifies_and_any_flipped_bit_fails(
        log in 0usize..64, size2_seed: u64, size1_seed: u64, bit_seed: usize,
    ) {
        let f = fixture();
        let (author, leaves) = &f.logs[log % f.logs.len()];
        let n = leaves.len() as u64;
        let size2 = 1 + size2_seed % n;
        let size1 = 1 + size1_seed % size2;
        let proof = f.ledger.tree(author).consistency(size1, size2, n).unwrap();
        let (r1, r2) = (root(&leaves[..size1 as usize]), root(&leaves[..size2 as usize]));
        prop_assert_eq!(verify_consistency(size1, size2, &proof, &r1, &r2), Ok(()));

        let (mut proof, mut r1, mut r2) = (proof, r1, r2);
        flip_one(bit_seed, &mut proof, &mut r1, &mut r2);
        prop_assert!(verify_consistency(size1, size2, &proof, &r1, &r2).is_err());
    }
}
