//! A complete ledger state in memory. The node keeps the same state in
//! RocksDB; this one serves the rule tests, the property tests, and offline
//! verification, where the whole state fits in memory. Its reads never fail
//! (`Error = Infallible`), so judging against it always reaches a verdict.

use crate::bytes::{Hash32, PublicKey};
use crate::codes::Refusal;
use crate::entry::{SignedEntry, Verified};
use crate::model::Subject;
use crate::rules::{self, Accepted, Change, LedgerView, Verdict};
use crate::state::*;
use crate::trail::TrailSource;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;

/// Every log and everything derived from them, in memory: the reference
/// the node's store is checked against (`kp-node check`), and the state a
/// bundle's entries are replayed into.
#[derive(Debug, Clone)]
pub struct MemLedger {
    /// The network as of the newest governance entry.
    pub network: NetworkState,
    /// The network as the roster made it.
    pub genesis: NetworkState,
    /// The network as of each governance entry.
    pub governance: HashMap<Hash32, Arc<NetworkState>>,
    /// The newest governance entry accepted: what a writer names in its
    /// context.
    pub governance_head: Option<Hash32>,
    /// Hashes of every accepted entry.
    pub hashes: HashSet<Hash32>,
    /// Each log's head, by author.
    pub heads: HashMap<PublicKey, Head>,
    /// Every accepted entry, by author and position.
    pub entries: BTreeMap<(PublicKey, u64), SignedEntry>,
    /// Licensees, by registering participant and key.
    pub licensees: HashMap<(String, PublicKey), LicenseeState>,
    /// Lots, by participant and lot id.
    pub lots: BTreeMap<(String, String), LotState>,
    /// Certificates, by number.
    pub certs: BTreeMap<String, CertState>,
    /// Zone statuses, by the id of the entry that declared each.
    pub zones: BTreeMap<Hash32, ZoneRecord>,
    /// `(monitor, participant, zone)` -> the newest status entry.
    pub zone_heads: BTreeMap<(PublicKey, String, String), Hash32>,
    /// `(participant, record hash)` of every licensee record a
    /// participant's log holds (`R3.duplicate_record`).
    pub records: BTreeSet<(String, Hash32)>,
    /// Every attestation and laboratory finding, in acceptance order.
    pub attestations: Vec<AttestationRecord>,
    /// Zone estimates, in acceptance order.
    pub estimates: Vec<EstimateRecord>,
    /// The statistics book, moved forward by each accepted entry as the
    /// node's writer moves its own.
    pub book: crate::stats::Book,
    /// Every equivocation found, the first per position (R3).
    pub evidence: Vec<rules::Equivocation>,
    /// Accepted entries, in the order they were accepted: what a rebuild
    /// replays.
    pub order: Vec<(PublicKey, u64)>,
    /// Each frozen log's freeze point (R3).
    pub freeze: HashMap<PublicKey, u64>,
    /// Entries withdrawn from frozen logs, kept as evidence.
    pub withdrawn: HashMap<Hash32, SignedEntry>,
    /// Objects void entries would have created, and the void entries.
    pub void: HashSet<VoidKey>,
}

impl MemLedger {
    /// An empty ledger of the network a roster makes (its genesis).
    pub fn new(network: NetworkState) -> Self {
        Self {
            genesis: network.clone(),
            network,
            governance: HashMap::new(),
            governance_head: None,
            hashes: HashSet::new(),
            heads: HashMap::new(),
            entries: BTreeMap::new(),
            licensees: HashMap::new(),
            lots: BTreeMap::new(),
            certs: BTreeMap::new(),
            zones: BTreeMap::new(),
            zone_heads: BTreeMap::new(),
            records: BTreeSet::new(),
            attestations: Vec::new(),
            estimates: Vec::new(),
            book: Default::default(),
            evidence: Vec::new(),
            order: Vec::new(),
            freeze: HashMap::new(),
            withdrawn: HashMap::new(),
            void: HashSet::new(),
        }
    }

    /// The void entries, by hash: each is a void object of its own.
    pub fn void_entries(&self) -> BTreeSet<Hash32> {
        self.void
            .iter()
            .filter_map(|k| match k {
                VoidKey::Entry { hash } => Some(*hash),
                _ => None,
            })
            .collect()
    }

    /// Freeze a log at `at` (R3), or lower its freeze point to it. What this
    /// ledger accepted beyond it is withdrawn, and everything that read it
    /// becomes void, by replaying the acceptance order: the state is then
    /// the one every node reaches, whatever it held when the evidence came.
    pub fn freeze(&mut self, author: PublicKey, at: u64) {
        if self.freeze.get(&author).is_some_and(|f| *f <= at) {
            return;
        }
        self.freeze.insert(author, at);
        match self.heads.get_mut(&author) {
            Some(h) if h.seq > at => self.rebuild(),
            Some(h) => h.frozen = true,
            // Frozen before its first entry here: the head says so.
            None => {
                self.heads.insert(author, Head { seq: 0, hash: Hash32::ZERO, timestamp_ms: 0, frozen: true });
            }
        }
        self.inherit_freezes();
    }

    /// Freeze at 0 the logs of later keys of a holder whose replaced key's
    /// log froze below the position its rotation kept.
    fn inherit_freezes(&mut self) {
        for key in self.network.inherited_freezes(|k| self.freeze.get(k).copied()) {
            self.freeze(key, 0);
        }
    }

    /// Replay every accepted entry in acceptance order against the freeze
    /// points, withdrawn entries and evidence held.
    pub fn rebuild(&mut self) {
        let mut fresh = MemLedger::new(self.genesis.clone());
        fresh.freeze = std::mem::take(&mut self.freeze);
        fresh.withdrawn = std::mem::take(&mut self.withdrawn);
        fresh.evidence = std::mem::take(&mut self.evidence);
        let mut entries = std::mem::take(&mut self.entries);
        for key in std::mem::take(&mut self.order) {
            let Some(e) = entries.remove(&key) else { continue };
            // Accepted once, so it parses and verifies; a replay never
            // refuses what was accepted, it only withdraws or voids.
            if let Err(r) = fresh.ingest(e.into_bytes()) {
                debug_assert!(false, "a replay refused an accepted entry: {r}");
            }
        }
        // A log frozen before its first entry says so, as it does when
        // frozen with nothing held.
        for author in fresh.freeze.keys() {
            fresh.heads.entry(*author).or_insert(Head { seq: 0, hash: Hash32::ZERO, timestamp_ms: 0, frozen: true });
        }
        *self = fresh;
    }

    /// Parse, verify, judge and apply wire bytes.
    pub fn ingest(&mut self, bytes: Vec<u8>) -> Result<Verdict, Refusal> {
        let signed = SignedEntry::parse(bytes)?;
        self.ingest_verified(signed.into_verified()?)
    }

    /// Judge and apply an entry whose signatures were checked.
    pub fn ingest_verified(&mut self, verified: Verified) -> Result<Verdict, Refusal> {
        let verdict = rules::judge(self, &verified)?;
        match &verdict {
            Verdict::Accepted(a) => {
                self.entries.insert((a.author, a.head.seq), verified.entry.clone());
                self.order.push((a.author, a.head.seq));
                self.apply(a);
                // A rotation closes the old key's log (R3), withdrawing
                // what this ledger holds beyond it.
                let closed: Vec<(PublicKey, u64)> = a
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::Network(n) => Some(n.closed_logs().map(|(k, l)| (*k, l)).collect::<Vec<_>>()),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                for (key, last) in closed {
                    self.freeze(key, last);
                }
                self.inherit_freezes();
            }
            Verdict::Equivocation(eq) => {
                if !self.evidence.iter().any(|x| x.author == eq.author && x.seq == eq.seq) {
                    self.evidence.push(eq.clone());
                }
                // Beyond the freeze point, like the entry it conflicts with:
                // entries of other logs may name either.
                self.withdrawn.insert(eq.conflicting, verified.entry);
                self.freeze(eq.author, rules::freeze_before(eq.seq));
            }
            Verdict::Withdrawn(w) => {
                self.withdrawn.insert(w.hash, verified.entry);
            }
            Verdict::Duplicate(_) => {}
        }
        Ok(verdict)
    }

    /// Write an accepted entry's head and changes into the state. The entry
    /// itself is [`MemLedger::ingest_verified`]'s to keep.
    pub fn apply(&mut self, a: &Accepted) {
        self.book.observe_accepted(a);
        self.heads.insert(a.author, a.head.clone());
        self.hashes.insert(a.hash);
        for c in &a.changes {
            match c {
                Change::Lot(l) => {
                    self.lots.insert((l.participant.clone(), l.lot.clone()), l.clone());
                }
                Change::Cert(x) => {
                    self.certs.insert(x.number.clone(), x.clone());
                }
                Change::Licensee(l) => {
                    self.licensees.insert((l.participant.clone(), l.key), l.clone());
                }
                Change::Zone(z) => {
                    self.zones.insert(z.entry, z.clone());
                    self.zone_heads.insert((z.monitor, z.status.participant.clone(), z.status.zone.clone()), z.entry);
                }
                Change::Record(p, h) => {
                    self.records.insert((p.clone(), *h));
                }
                Change::Network(n) => {
                    self.network = n.clone();
                    self.governance.insert(a.hash, Arc::new(n.clone()));
                    self.governance_head = Some(a.hash);
                }
                Change::Attestation(x) => self.attestations.push(x.clone()),
                Change::Estimate(x) => self.estimates.push(x.clone()),
                Change::Void(k) => {
                    self.void.insert(k.clone());
                }
            }
        }
    }
}

impl LedgerView for MemLedger {
    type Error = Infallible;
    fn network(&self) -> &NetworkState {
        &self.network
    }
    fn genesis(&self) -> &NetworkState {
        &self.genesis
    }
    fn network_at(&self, governance: &Hash32) -> Result<Option<Arc<NetworkState>>, Infallible> {
        Ok(self.governance.get(governance).cloned())
    }
    fn governance_head(&self) -> Option<Hash32> {
        self.governance_head
    }
    fn entry_known(&self, hash: &Hash32) -> Result<bool, Infallible> {
        Ok(self.hashes.contains(hash))
    }
    fn head(&self, author: &PublicKey) -> Result<Option<Head>, Infallible> {
        Ok(self.heads.get(author).cloned())
    }
    fn entry_hash_at(&self, author: &PublicKey, seq: u64) -> Result<Option<Hash32>, Infallible> {
        Ok(self.entries.get(&(*author, seq)).map(|e| e.hash()))
    }
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, Infallible> {
        Ok(self.licensees.get(&(participant.to_string(), *key)).cloned())
    }
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, Infallible> {
        Ok(self.lots.get(&(participant.to_string(), lot.to_string())).cloned())
    }
    fn certificate(&self, number: &str) -> Result<Option<CertState>, Infallible> {
        Ok(self.certs.get(number).cloned())
    }
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, Infallible> {
        Ok(self.zones.get(entry).cloned())
    }
    fn zone_head(&self, monitor: &PublicKey, participant: &str, zone: &str) -> Result<Option<Hash32>, Infallible> {
        Ok(self.zone_heads.get(&(*monitor, participant.to_string(), zone.to_string())).copied())
    }
    fn record_seen(&self, participant: &str, record: &Hash32) -> Result<bool, Infallible> {
        Ok(self.records.contains(&(participant.to_string(), *record)))
    }
    fn freeze_point(&self, author: &PublicKey) -> Option<u64> {
        self.freeze.get(author).copied()
    }
    fn withdrawn(&self, hash: &Hash32) -> Result<bool, Infallible> {
        Ok(self.withdrawn.contains_key(hash))
    }
    fn void(&self, key: &VoidKey) -> Result<bool, Infallible> {
        Ok(self.void.contains(key))
    }
}

impl TrailSource for MemLedger {
    type Error = Infallible;
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, Infallible> {
        LedgerView::lot(self, participant, lot)
    }
    fn certificate(&self, number: &str) -> Result<Option<CertState>, Infallible> {
        LedgerView::certificate(self, number)
    }
    fn zone_history(&self, participant: &str, zone: &str) -> Result<Vec<ZoneRecord>, Infallible> {
        Ok(self
            .zones
            .values()
            .filter(|z| z.status.participant == participant && z.status.zone == zone)
            .cloned()
            .collect())
    }
    fn attestations(&self, subject: &Subject) -> Result<Vec<AttestationRecord>, Infallible> {
        let mut v: Vec<_> = self.attestations.iter().filter(|a| a.subject == *subject).cloned().collect();
        sort_attestations(&mut v);
        Ok(v)
    }
    fn licensee_name(&self, participant: &str, key: &PublicKey) -> Result<Option<String>, Infallible> {
        Ok(self.licensees.get(&(participant.to_string(), *key)).map(|l| l.name.clone()))
    }
}
