//! Helpers for tests, compiled only for them (`--features fixtures`):
//! a bundle written by hand, leaf by leaf, as a node would write it, so that
//! the verifier is checked against a writer that is not the node's
//! exporter.

use crate::bundle::{Bundle, BundleCheckpoint, BundleEntry, FORMAT};
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::model::{Body, HexBytes, SignedRoster, Subject};
use crate::{Hash32, Keypair, PublicKey, SignedEntry, merkle};
use std::collections::{BTreeMap, BTreeSet};

/// Who signs the checkpoints of a hand-written bundle.
pub struct Signers<'a> {
    /// The key of a log's author, which signs the log's checkpoint.
    pub author: &'a dyn Fn(&PublicKey) -> Keypair,
    /// The keys that cosign a checkpoint of the log.
    pub cosigners: &'a dyn Fn(&PublicKey) -> Vec<Keypair>,
    /// The time every checkpoint claims.
    pub timestamp_ms: u64,
}

/// The bundle of `subject` holding the `wanted` entries of `all` (every
/// entry of every log, in acceptance order), in that order, and every
/// governance entry of `all` in its own list: one checkpoint per log at the
/// log's full size, in the order the logs first appear among the
/// governance entries and then the chosen ones, each with its `signers`;
/// one inclusion proof per entry. The network is the roster's.
pub fn bundle(
    roster: &SignedRoster,
    all: &[SignedEntry],
    subject: Subject,
    wanted: &BTreeSet<Hash32>,
    signers: &Signers,
) -> Bundle {
    let network = &roster.roster.network;
    let governs = |e: &SignedEntry| matches!(e.entry().body, Body::Governance(_));
    let governance: Vec<&SignedEntry> = all.iter().filter(|e| governs(e)).collect();
    let chosen: Vec<&SignedEntry> = all.iter().filter(|e| wanted.contains(&e.hash()) && !governs(e)).collect();
    let wanted_governance = governance.iter().filter(|e| wanted.contains(&e.hash())).count();
    assert_eq!(chosen.len() + wanted_governance, wanted.len(), "every wanted entry is in the logs");
    let mut logs: Vec<PublicKey> = Vec::new();
    let mut leaves: BTreeMap<PublicKey, Vec<Hash32>> = BTreeMap::new();
    let mut checkpoints = Vec::new();
    for e in governance.iter().chain(&chosen) {
        let log = e.entry().author;
        if logs.contains(&log) {
            continue;
        }
        let l = log_leaves(all, &log);
        let cp = SignedCheckpoint::sign(
            Checkpoint {
                network: network.clone(),
                log,
                size: l.len() as u64,
                root: merkle::root(&l),
                timestamp_ms: signers.timestamp_ms,
            },
            &(signers.author)(&log),
        );
        let cosignatures = (signers.cosigners)(&log).iter().map(|k| cp.cosign(k)).collect();
        checkpoints.push(BundleCheckpoint { checkpoint: HexBytes(cp.into_bytes()), cosignatures });
        logs.push(log);
        leaves.insert(log, l);
    }
    let proven = |e: &&SignedEntry| {
        let log = e.entry().author;
        BundleEntry {
            entry: HexBytes(e.bytes().to_vec()),
            checkpoint: logs.iter().position(|l| *l == log).unwrap(),
            proof: merkle::inclusion_proof(&leaves[&log], e.entry().seq - 1),
        }
    };
    Bundle {
        format: FORMAT.into(),
        network: network.clone(),
        roster_hash: crate::crypto::roster_hash(&roster.bytes.0),
        subject,
        checkpoints,
        governance: governance.iter().map(proven).collect(),
        entries: chosen.iter().map(proven).collect(),
    }
}

/// The leaves of `log`: its entries' hashes by seq, which must run from 1
/// without a gap.
fn log_leaves(all: &[SignedEntry], log: &PublicKey) -> Vec<Hash32> {
    let mut own: Vec<&SignedEntry> = all.iter().filter(|e| e.entry().author == *log).collect();
    own.sort_by_key(|e| e.entry().seq);
    own.iter().enumerate().for_each(|(i, e)| assert_eq!(e.entry().seq, i as u64 + 1, "log {log} has a gap"));
    own.iter().map(|e| e.hash()).collect()
}
