//! Rebuild the derived state from the logs and compare it with the store:
//! the check that a crash lost nothing and corrupted nothing.

use crate::ledger::Ledger;
use kp_schemas::memory::MemLedger;
use kp_schemas::merkle::Frontier;
use kp_schemas::state::{Head, NetworkState};
use kp_schemas::{crypto, roster};

/// What `kp-node check` found.
#[derive(Debug, Default)]
pub struct Report {
    /// Entries replayed, in acceptance order.
    pub entries: u64,
    /// Each difference between the store and the replay: an entry that no
    /// longer replays as accepted, a tree whose root differs from its
    /// entries, derived state (heads, lots, certificates, licensees, zones,
    /// the network) that differs from a rebuild.
    pub mismatches: Vec<String>,
}

impl Report {
    /// The store matches its logs: no mismatch.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Replay every accepted entry in acceptance order through the pure rules,
/// then compare every derived value.
pub fn check(ledger: &Ledger, progress: impl Fn(u64)) -> anyhow::Result<Report> {
    let (r, _) = roster::verify(ledger.roster()).map_err(|e| anyhow::anyhow!("roster: {e}"))?;
    let hash = crypto::roster_hash(&ledger.roster().bytes.0);
    let mut mem = MemLedger::new(NetworkState::from_roster(&r, hash));
    // Freeze points and withdrawn entries are evidence, not log entries:
    // the replay starts from them, as the node did when it withdrew.
    mem.freeze = ledger.freeze_points();
    for bytes in ledger.withdrawn_bytes(usize::MAX, usize::MAX)? {
        let e = kp_schemas::SignedEntry::parse(bytes).map_err(|e| anyhow::anyhow!("a withdrawn entry: {e}"))?;
        mem.withdrawn.insert(e.hash(), e);
    }
    let mut report = Report::default();
    let mut from = 0u64;
    let mut trees: std::collections::HashMap<kp_schemas::PublicKey, Frontier> = Default::default();
    loop {
        let page = ledger.ordered_indexed(from, 4096)?;
        let Some((last, _)) = page.last() else { break };
        from = last + 1;
        for (_, e) in page {
            let hash = e.hash();
            trees.entry(e.entry().author).or_default().push(hash);
            match mem.ingest(e.into_bytes()) {
                Ok(kp_schemas::Verdict::Accepted(_)) => {}
                other => report.mismatches.push(format!("entry {hash} does not replay: {other:?}")),
            }
            report.entries += 1;
        }
        progress(report.entries);
    }
    if from > ledger.entry_count() {
        report.mismatches.push(format!("order index reaches {from}, counter says {}", ledger.entry_count()));
    }
    // A log frozen before its first entry here has a head that says so.
    for author in mem.freeze.keys() {
        mem.heads.entry(*author).or_insert(Head {
            seq: 0,
            hash: kp_schemas::Hash32::ZERO,
            timestamp_ms: 0,
            frozen: true,
        });
    }
    // Each log's stored tree must have the root of its entries.
    for (author, f) in &trees {
        let tree = ledger.tree(author);
        if tree.root(f.size())? != f.root() {
            report.mismatches.push(format!("the Merkle tree of log {author} differs from its entries"));
        }
    }
    let mut diff = |what: &str, same: bool| {
        if !same {
            report.mismatches.push(format!("{what} differ from a rebuild"));
        }
    };
    let mut heads = ledger.heads()?;
    heads.sort_by_key(|(k, _)| *k);
    let mut mem_heads: Vec<_> = mem.heads.iter().map(|(k, h)| (*k, h.clone())).collect();
    mem_heads.sort_by_key(|(k, _)| *k);
    diff("heads", heads == mem_heads);
    diff("lots", ledger.all_lots()? == mem.lots.values().cloned().collect::<Vec<_>>());
    diff("certificates", ledger.all_certificates()? == mem.certs.values().cloned().collect::<Vec<_>>());
    let mut licensees = ledger.all_licensees()?;
    licensees.sort_by(|a, b| (a.key, &a.participant).cmp(&(b.key, &b.participant)));
    let mut mem_licensees: Vec<_> = mem.licensees.values().cloned().collect();
    mem_licensees.sort_by(|a, b| (a.key, &a.participant).cmp(&(b.key, &b.participant)));
    diff("licensees", licensees == mem_licensees);
    let mut zones = ledger.zones()?;
    zones.sort_by_key(|z| z.entry);
    diff("zones", zones == mem.zones.values().cloned().collect::<Vec<_>>());
    diff("network state", ledger.network() == mem.network);
    Ok(report)
}
