//! Withdraw what the store holds beyond a frozen log's freeze point (R3).
//!
//! Nodes hold different lengths of a log when evidence against its writer
//! reaches them. Each ends with the same entries, `1..=f`, and the same
//! derived state: the entries it accepted in acceptance order are replayed
//! through the pure rules with the freeze points known, those beyond a
//! freeze point are moved to the `withdrawn` column, entries of other logs
//! that read them turn void, and the derived state is rewritten from the
//! replay, all in one synced write. Rare (a writer must be caught), and
//! linear in the ledger: the replay holds the ledger in memory while the
//! writer waits.

use super::*;
use kp_schemas::memory::MemLedger;
use rayon::prelude::*;

/// Columns whose every value follows from the logs, rewritten whole.
const DERIVED: [Column; 10] = [
    Column::Lots,
    Column::Certs,
    Column::Licensees,
    Column::Zones,
    Column::ZoneHeads,
    Column::Records,
    Column::Attestations,
    Column::Heads,
    Column::Void,
    Column::Estimates,
];

impl Ledger {
    /// Withdraw every entry held beyond its log's freeze point, if any is.
    /// Returns whether anything was withdrawn.
    pub(crate) fn withdraw_beyond_freeze(&self) -> Result<bool, StoreError> {
        let freeze = self.freeze_points();
        let beyond: Vec<PublicKey> = {
            let heads = self.heads.read().expect("heads lock");
            freeze.iter().filter(|(a, f)| heads.get(*a).is_some_and(|h| h.seq > **f)).map(|(a, _)| *a).collect()
        };
        if beyond.is_empty() {
            return Ok(false);
        }
        tracing::warn!(logs = beyond.len(), "withdrawing entries beyond the freeze point of frozen logs");
        let mut mem = MemLedger::new(self.genesis.clone());
        mem.freeze = freeze.clone();
        for (k, v) in self.store.scan(Column::Withdrawn, b"", b"", usize::MAX)? {
            let h: [u8; 32] = k.as_slice().try_into().map_err(|e| corrupt("withdrawn key", e))?;
            mem.withdrawn.insert(Hash32(h), SignedEntry::parse(v).map_err(|e| corrupt("withdrawn entry", e))?);
        }
        let mut ops = Vec::new();
        let mut holes = 0u64;
        let mut from = 0;
        loop {
            let page = self.ordered_indexed(from, 4096)?;
            let Some((last, _)) = page.last() else { break };
            from = last + 1;
            // This node checked these signatures when it accepted the
            // entries; the replay judges them again, it does not verify
            // them again (`kp-node check` does).
            let verified: Vec<(u64, Result<kp_schemas::Verified, Refusal>)> =
                page.into_par_iter().map(|(index, e)| (index, e.into_trusted())).collect();
            for (index, v) in verified {
                let v = v.map_err(|r| corrupt("replay", format!("a stored entry does not decode: {r}")))?;
                let e = v.entry.entry();
                let (author, seq, hash) = (e.author, e.seq, v.entry.hash());
                let bytes = v.entry.bytes().to_vec();
                match mem.ingest_verified(v) {
                    Ok(Verdict::Accepted(_)) => {}
                    Ok(Verdict::Withdrawn(_)) => {
                        holes += 1;
                        ops.push(Op::Delete(Column::Order, index.to_be_bytes().to_vec()));
                        ops.push(Op::Delete(Column::Entries, entry_key(&author, seq)));
                        ops.push(Op::Delete(Column::Hashes, hash.0.to_vec()));
                        ops.push(Op::Put(Column::Withdrawn, hash.0.to_vec(), bytes));
                    }
                    other => {
                        return Err(corrupt("replay", format!("entry {hash} accepted once now reads {other:?}")));
                    }
                }
            }
        }
        // A log frozen before its first entry here has a head that says so.
        for author in freeze.keys() {
            mem.heads.entry(*author).or_insert(Head { seq: 0, hash: Hash32::ZERO, timestamp_ms: 0, frozen: true });
        }
        for col in DERIVED {
            for (k, _) in self.store.scan(col, b"", b"", usize::MAX)? {
                ops.push(Op::Delete(col, k));
            }
        }
        for (k, _) in self.store.scan(Column::Meta, META_GOVERNANCE, b"", usize::MAX)? {
            ops.push(Op::Delete(Column::Meta, k));
        }
        ops.extend(derived_ops(&mem));
        let holes = self.holes.load(Ordering::SeqCst) + holes;
        ops.push(Op::Put(Column::Meta, META_HOLES.to_vec(), encode(&holes)));
        for author in &beyond {
            ops.extend(self.retree(&mem, author)?);
        }
        self.store.write(ops)?;
        self.load()?;
        Ok(true)
    }

    /// A frozen log's tree and checkpoints as of its freeze point.
    fn retree(&self, mem: &MemLedger, author: &PublicKey) -> Result<Vec<Op>, StoreError> {
        let mut ops = Vec::new();
        for (k, _) in self.store.scan(Column::Tree, &author.0, b"", usize::MAX)? {
            ops.push(Op::Delete(Column::Tree, k));
        }
        let size = mem.heads.get(author).map_or(0, |h| h.seq);
        for (k, _) in self.store.scan(Column::Checkpoints, &author.0, &entry_key(author, size + 1), usize::MAX)? {
            ops.push(Op::Delete(Column::Checkpoints, k));
        }
        if self.trees && size > 0 {
            let mut f = Frontier::default();
            for (_, e) in mem.entries.range((*author, 1)..=(*author, size)) {
                for (level, index, hash) in f.push(e.hash()) {
                    ops.push(Op::Put(Column::Tree, crate::tree::node_key(author, level, index), hash.0.to_vec()));
                }
            }
        }
        Ok(ops)
    }
}

/// The derived state of a replay, as the batch writes it.
fn derived_ops(mem: &MemLedger) -> Vec<Op> {
    let mut ops = Vec::new();
    for l in mem.lots.values() {
        ops.push(Op::Put(Column::Lots, lot_key(&l.participant, &l.lot), encode(l)));
    }
    for c in mem.certs.values() {
        ops.push(Op::Put(Column::Certs, c.number.as_bytes().to_vec(), encode(c)));
    }
    for x in &mem.estimates {
        ops.push(Op::Put(Column::Estimates, x.entry.0.to_vec(), encode(x)));
    }
    for l in mem.licensees.values() {
        ops.push(Op::Put(Column::Licensees, licensee_key(&l.participant, &l.key), encode(l)));
    }
    for z in mem.zones.values() {
        ops.push(Op::Put(Column::Zones, z.entry.0.to_vec(), encode(z)));
    }
    for ((m, p, z), h) in &mem.zone_heads {
        ops.push(Op::Put(Column::ZoneHeads, zone_head_key(m, p, z), encode(h)));
    }
    for (p, h) in &mem.records {
        ops.push(Op::Put(Column::Records, record_key(p, h), Vec::new()));
    }
    for x in &mem.attestations {
        let k = [subject_key(&x.subject), x.entry.0.to_vec()].concat();
        ops.push(Op::Put(Column::Attestations, k, encode(x)));
    }
    for (a, h) in &mem.heads {
        ops.push(Op::Put(Column::Heads, a.0.to_vec(), encode(h)));
    }
    for k in &mem.void {
        ops.push(Op::Put(Column::Void, void_key(k), Vec::new()));
    }
    for (h, n) in &mem.governance {
        ops.push(Op::Put(Column::Meta, governance_key(h), encode(n.as_ref())));
    }
    ops.push(Op::Put(Column::Meta, META_NETWORK.to_vec(), encode(&mem.network)));
    ops.push(Op::Put(Column::Meta, META_GOVERNANCE_HEAD.to_vec(), encode(&mem.governance_head)));
    ops
}
