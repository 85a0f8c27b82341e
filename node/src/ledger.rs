//! Typed access to the ledger in the store, and the batch that judges
//! entries against the state plus the entries already judged in it.

use crate::store::{Column, KeyValueStore, Op, StoreError};
use crate::tree::{LogTree, node_key};
use kp_schemas::checkpoint::Fraud;
use kp_schemas::encoding::{decode_trusted, encode};
use kp_schemas::merkle::Frontier;
use kp_schemas::model::{SignedRoster, Subject};
use kp_schemas::roster;
use kp_schemas::rules::{self, Accepted, Change, Equivocation, LedgerView, Verdict, Withdrawn};
use kp_schemas::state::*;
use kp_schemas::trail::TrailSource;
use kp_schemas::{Hash32, PublicKey, Refusal, SignedEntry, Verified};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

const META_ROSTER: &[u8] = b"roster";
const META_NETWORK: &[u8] = b"network";
const META_ORDER: &[u8] = b"order";
/// `gov/` and a governance entry's hash -> the network as of that entry.
const META_GOVERNANCE: &[u8] = b"gov/";
const META_GOVERNANCE_HEAD: &[u8] = b"governance-head";
/// `freeze/` and a log's author -> the log's freeze point (u64).
const META_FREEZE: &[u8] = b"freeze/";
/// Acceptance indices left empty by withdrawn entries (u64).
const META_HOLES: &[u8] = b"order-holes";

/// At most this many entries withdrawn from one frozen log are kept: what
/// honest nodes accepted before the evidence reached them, and what a
/// convicted writer may add, which must not fill the disk.
pub const MAX_WITHDRAWN_PER_LOG: usize = 4096;

mod stats;
mod withdraw;

fn freeze_key(author: &PublicKey) -> Vec<u8> {
    [META_FREEZE, &author.0[..]].concat()
}

/// Key of a void object in the `void` column: its canonical encoding, so
/// that the column reads back as `VoidKey`s.
pub fn void_key(key: &VoidKey) -> Vec<u8> {
    encode(key)
}

fn governance_key(entry: &Hash32) -> Vec<u8> {
    [META_GOVERNANCE, &entry.0[..]].concat()
}

/// The network as of each governance entry, and the newest one: few, small,
/// read by every verdict, so held in memory.
#[derive(Default)]
struct Governance {
    at: HashMap<Hash32, Arc<NetworkState>>,
    head: Option<Hash32>,
}

/// Key of position `seq` of a log: the author's key, then `seq` big-endian,
/// so one log's positions are adjacent and in order. Keys the `entries`
/// column, and starts the `evidence` key of that position.
pub fn entry_key(author: &PublicKey, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(&author.0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Key of one monitor's newest status of one zone (`zone-heads` column):
/// monitor key, participant code, `\0`, zone id.
pub fn zone_head_key(monitor: &PublicKey, participant: &str, zone: &str) -> Vec<u8> {
    [&monitor.0[..], participant.as_bytes(), b"\0", zone.as_bytes()].concat()
}

/// Key first, so one key's registrations by every participant are adjacent.
pub fn licensee_key(participant: &str, key: &PublicKey) -> Vec<u8> {
    [&key.0[..], participant.as_bytes()].concat()
}

/// Key of a licensee record taken into a participant's log (`records`
/// column): the record's hash, then the participant code. A record is
/// taken once per participant's log (`R3.duplicate_record`).
pub fn record_key(participant: &str, record: &Hash32) -> Vec<u8> {
    [&record.0[..], participant.as_bytes()].concat()
}

/// Key of a lot (`lots` column): participant code, `\0`, lot id. Lot ids
/// are unique within their participant only.
pub fn lot_key(participant: &str, lot: &str) -> Vec<u8> {
    [participant.as_bytes(), b"\0", lot.as_bytes()].concat()
}

/// Start of the keys of one subject's attestations (`attestations` column):
/// `L` and the lot's participant and id, or `C` and the certificate number,
/// each part ended by `\0`, so that no subject's keys start with another's.
pub fn subject_key(s: &Subject) -> Vec<u8> {
    match s {
        Subject::Lot { participant, lot } => [b"L\0", participant.as_bytes(), b"\0", lot.as_bytes(), b"\0"].concat(),
        Subject::Certificate { number } => [b"C\0", number.as_bytes(), b"\0"].concat(),
    }
}

/// Both entries of an equivocation, kept as evidence (R3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    /// The writer, the position both entries claim, and both entries' ids.
    pub equivocation: Equivocation,
    /// Wire bytes of the conflicting entry. The one held at the position is
    /// in the log or, once the log froze before it, withdrawn: found by its
    /// id (`existing`).
    pub conflicting_bytes: Vec<u8>,
}

/// Fraud evidence against a log's writer, with the log it freezes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFraud {
    /// Key of the log's writer, the one the evidence convicts.
    pub log: PublicKey,
    /// The two checkpoints of a split view, or a checkpoint with a wrong
    /// root and the writer's entry at its size.
    pub fraud: Fraud,
}

/// Why a ledger cannot be opened. Nothing is served from a store that
/// fails to open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A read or a write of the store failed, or what it holds does not
    /// decode.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The roster does not verify: its bytes, bounds, members' keys or the
    /// chair's signature (R1, R9).
    #[error("roster: {0}")]
    Roster(Refusal),
    /// The store belongs to another network, or to another roster of the
    /// same one: a data directory serves one genesis roster for life, its
    /// trust root, and learns the versions after it from its peers.
    #[error(
        "this data directory was created from genesis roster {stored_hash} of network {stored}, but the roster \
         given is {given_hash} of network {given}. A node is always given its network's genesis roster, the one \
         it was created with; later roster versions come from the chair's governance entries, which it learns \
         from its peers"
    )]
    OtherNetwork {
        /// The network named by the roster the store holds.
        stored: String,
        /// Hash of the roster the store holds.
        stored_hash: Hash32,
        /// The network named by the roster given.
        given: String,
        /// Hash of the roster given.
        given_hash: Hash32,
    },
    /// A new store, and no roster to start it with.
    #[error("this data directory has no roster yet: give one")]
    NoRoster,
}

/// The ledger of one node: the logs, their Merkle trees and the derived
/// state in the store, with what every verdict reads held in memory (the
/// network, each log's head, freeze points). The writer thread writes it
/// through a [`Batch`]; every other reader is served entries up to the last
/// synced write only, so nothing a power loss could take back leaves the
/// node.
pub struct Ledger {
    store: Box<dyn KeyValueStore>,
    roster: SignedRoster,
    network: RwLock<NetworkState>,
    /// The network as the roster made it.
    genesis: NetworkState,
    governance: RwLock<Governance>,
    /// Entries accepted and synced so far; also the next acceptance-order
    /// index. Index `order` and above may be in the store, written by a
    /// batch not yet synced: nothing there is served.
    order: AtomicU64,
    /// Each log's head as of the last synced write. Peers and witnesses are
    /// served these, never a head a power loss could take back: the node
    /// would then sign that position again, differently, and its peers would
    /// freeze its log.
    heads: RwLock<HashMap<PublicKey, Head>>,
    /// Set when a failed batch could not be undone: the writer stops, and a
    /// restart recovers from the store.
    broken: std::sync::atomic::AtomicBool,
    /// The right edge of each log's tree as committed, so appending needs no
    /// reads. Loaded from the store on first use.
    frontiers: Mutex<HashMap<PublicKey, Frontier>>,
    /// Off only for the benchmark baseline: a node always keeps its trees.
    trees: bool,
    /// Each frozen log's freeze point (R3), as of the last synced write.
    freeze: RwLock<HashMap<PublicKey, u64>>,
    /// Entries withdrawn from frozen logs, with their log: few, bounded,
    /// looked up by every verdict that names an unknown entry.
    withdrawn: RwLock<HashMap<Hash32, PublicKey>>,
    /// Whether any void object is stored: until one is, creating a lot or a
    /// certificate reads nothing more than it did before voids existed.
    any_void: std::sync::atomic::AtomicBool,
    /// Acceptance indices left empty by withdrawn entries.
    holes: AtomicU64,
    /// The roster version of [`Ledger::network`], sent again whenever a
    /// committed batch changed the network: the network loop follows it
    /// for whom to let in and dial.
    versions: tokio::sync::watch::Sender<u64>,
    /// The statistics book, moved forward by each committed batch.
    stats: RwLock<stats::Stats>,
    /// Committed batches the book has not counted yet: a reader held it.
    backlog: Mutex<Vec<stats::Pending>>,
    /// Off only for the benchmark baseline: a node always keeps its
    /// statistics.
    stats_on: bool,
}

fn order_index(key: &[u8]) -> Result<u64, StoreError> {
    let k: [u8; 8] = key.try_into().map_err(|e| corrupt("order key", e))?;
    Ok(u64::from_be_bytes(k))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn get_typed<T: serde::de::DeserializeOwned>(
    s: &dyn KeyValueStore,
    col: Column,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    match s.get(col, key)? {
        None => Ok(None),
        Some(v) => decode_trusted(&v).map(Some).map_err(|e| corrupt(col.name(), e)),
    }
}

impl Ledger {
    /// Open a ledger. A new store takes the roster given; an existing one must
    /// hold the same roster, or none is given.
    pub fn open(store: Box<dyn KeyValueStore>, given: Option<&SignedRoster>) -> Result<Self, OpenError> {
        let stored: Option<SignedRoster> = match store.get(Column::Meta, META_ROSTER)? {
            Some(b) => Some(serde_json::from_slice(&b).map_err(|e| corrupt("roster", e))?),
            None => None,
        };
        let roster = match (stored, given) {
            (Some(s), Some(g)) if s.bytes != g.bytes => {
                return Err(OpenError::OtherNetwork {
                    stored_hash: kp_schemas::crypto::roster_hash(&s.bytes.0),
                    stored: s.roster.network,
                    given_hash: kp_schemas::crypto::roster_hash(&g.bytes.0),
                    given: g.roster.network.clone(),
                });
            }
            (Some(s), _) => s,
            (None, Some(g)) => g.clone(),
            (None, None) => return Err(OpenError::NoRoster),
        };
        let (r, hash) = roster::verify(&roster).map_err(OpenError::Roster)?;
        let genesis = NetworkState::from_roster(&r, hash);
        let network = match get_typed::<NetworkState>(store.as_ref(), Column::Meta, META_NETWORK)? {
            Some(n) => n,
            None => {
                let n = genesis.clone();
                store.write(vec![
                    Op::Put(
                        Column::Meta,
                        META_ROSTER.to_vec(),
                        serde_json::to_vec(&roster).expect("roster serialises"),
                    ),
                    Op::Put(Column::Meta, META_NETWORK.to_vec(), encode(&n)),
                ])?;
                n
            }
        };
        let versions = tokio::sync::watch::Sender::new(network.version);
        let ledger = Self {
            versions,
            store,
            roster,
            network: RwLock::new(network),
            genesis,
            governance: RwLock::new(Governance::default()),
            order: AtomicU64::new(0),
            heads: RwLock::new(HashMap::new()),
            broken: Default::default(),
            frontiers: Mutex::new(HashMap::new()),
            trees: true,
            freeze: RwLock::new(HashMap::new()),
            withdrawn: RwLock::new(HashMap::new()),
            any_void: Default::default(),
            holes: AtomicU64::new(0),
            stats: RwLock::new(Default::default()),
            backlog: Mutex::new(Vec::new()),
            stats_on: true,
        };
        ledger.load()?;
        // A crash may have come between a freeze and its withdrawal.
        ledger.withdraw_beyond_freeze()?;
        Ok(ledger)
    }

    /// Take the in-memory state from the store, then make what the store
    /// holds durable with one synced write, so that everything loaded may be
    /// served: a buffered write that reached the store before a crash or a
    /// failed batch is kept, whole, or was never there.
    fn load(&self) -> Result<(), StoreError> {
        let store = self.store();
        let order = get_typed::<u64>(store, Column::Meta, META_ORDER)?.unwrap_or(0);
        let mut governance = Governance {
            head: get_typed::<Option<Hash32>>(store, Column::Meta, META_GOVERNANCE_HEAD)?.flatten(),
            ..Default::default()
        };
        for (k, v) in store.scan(Column::Meta, META_GOVERNANCE, b"", usize::MAX)? {
            let h: [u8; 32] = k[META_GOVERNANCE.len()..].try_into().map_err(|e| corrupt("governance key", e))?;
            let n: NetworkState = decode_trusted(&v).map_err(|e| corrupt("governance", e))?;
            governance.at.insert(Hash32(h), Arc::new(n));
        }
        let network =
            get_typed::<NetworkState>(store, Column::Meta, META_NETWORK)?.unwrap_or_else(|| self.genesis.clone());
        let mut heads = HashMap::new();
        for (k, v) in store.scan(Column::Heads, b"", b"", usize::MAX)? {
            let key: [u8; 32] = k.as_slice().try_into().map_err(|e| corrupt("head key", e))?;
            heads.insert(PublicKey(key), decode_trusted(&v).map_err(|e| corrupt("head", e))?);
        }
        let mut freeze = HashMap::new();
        for (k, v) in store.scan(Column::Meta, META_FREEZE, b"", usize::MAX)? {
            let a: [u8; 32] = k[META_FREEZE.len()..].try_into().map_err(|e| corrupt("freeze key", e))?;
            freeze.insert(PublicKey(a), decode_trusted::<u64>(&v).map_err(|e| corrupt("freeze point", e))?);
        }
        let mut withdrawn = HashMap::new();
        for (k, v) in store.scan(Column::Withdrawn, b"", b"", usize::MAX)? {
            let h: [u8; 32] = k.as_slice().try_into().map_err(|e| corrupt("withdrawn key", e))?;
            let e = SignedEntry::parse(v).map_err(|e| corrupt("withdrawn entry", e))?;
            withdrawn.insert(Hash32(h), e.entry().author);
        }
        let any_void = !store.scan(Column::Void, b"", b"", 1)?.is_empty();
        let holes = get_typed::<u64>(store, Column::Meta, META_HOLES)?.unwrap_or(0);
        self.holes.store(holes, Ordering::SeqCst);
        store.write(vec![Op::Put(Column::Meta, META_ORDER.to_vec(), encode(&order))])?;
        self.any_void.store(any_void, Ordering::SeqCst);
        *self.freeze.write().expect("freeze lock") = freeze;
        *self.withdrawn.write().expect("withdrawn lock") = withdrawn;
        let version = network.version;
        *self.network.write().expect("network lock") = network;
        *self.governance.write().expect("governance lock") = governance;
        // After a failed batch the network may be an older version again.
        self.versions.send_replace(version);
        let book = self.build_book(&heads)?;
        self.set_book(book);
        *self.heads.write().expect("heads lock") = heads;
        self.frontiers.lock().expect("frontier lock").clear();
        self.order.store(order, Ordering::SeqCst);
        Ok(())
    }

    /// After a failed batch: whatever of it reached the store is kept or
    /// not, whole chunk by whole chunk, and the in-memory state follows the
    /// store, so no acceptance index is handed out twice. If even that
    /// fails, the node is broken and must restart.
    fn recover(&self) {
        if let Err(e) = self.load() {
            tracing::error!("the store cannot be read back after a failed batch: {e}");
            self.broken.store(true, Ordering::SeqCst);
        }
    }

    /// A failed batch could not be undone: stop writing, restart.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }

    /// A ledger that keeps no statistics book: the baseline that
    /// benchmarks measure the cost of the statistics against. Its
    /// statistics answer nothing.
    pub fn without_stats(mut self) -> Self {
        self.stats_on = false;
        self.set_book(Default::default());
        self
    }

    /// A ledger that keeps no Merkle trees: the baseline that benchmarks
    /// measure the cost of the trees against. It cannot serve proofs.
    pub fn without_trees(mut self) -> Self {
        self.trees = false;
        self
    }

    /// One log's Merkle tree.
    pub fn tree(&self, author: &PublicKey) -> LogTree<'_> {
        LogTree { store: self.store(), author: *author }
    }

    /// The log's size: entries `1..=size` are its tree's leaves.
    pub fn log_size(&self, author: &PublicKey) -> Result<u64, StoreError> {
        Ok(self.head(author)?.map_or(0, |h| h.seq))
    }

    fn frontier(&self, author: &PublicKey) -> Result<Frontier, StoreError> {
        if let Some(f) = self.frontiers.lock().expect("frontier lock").get(author) {
            return Ok(f.clone());
        }
        Frontier::load(&self.tree(author), self.log_size(author)?)
    }

    /// The signed roster this store was started with: fixed for the life of
    /// the data directory, and what a verifier checks a bundle against.
    pub fn roster(&self) -> &SignedRoster {
        &self.roster
    }

    /// The network as of the last committed batch: the roster plus every
    /// governance entry accepted (admissions, suspensions, the chair). A
    /// copy: a verdict reads the network its entry's context names instead.
    pub fn network(&self) -> NetworkState {
        self.network.read().expect("network lock").clone()
    }

    /// The network as the roster made it, before any governance entry.
    pub fn genesis(&self) -> &NetworkState {
        &self.genesis
    }

    /// The newest governance entry of the last committed batch, none
    /// before the first.
    pub fn governance_head(&self) -> Option<Hash32> {
        self.governance.read().expect("governance lock").head
    }

    /// The network as of one governance entry: the roster version it made.
    pub fn roster_version(&self, governance: &Hash32) -> Option<Arc<NetworkState>> {
        self.governance.read().expect("governance lock").at.get(governance).cloned()
    }

    /// Every roster version from the genesis to the one in force, each
    /// naming the one before. Walked back from the newest by `previous`,
    /// so a version a withdrawn governance entry made is not among them.
    pub fn roster_versions(&self) -> Vec<NetworkState> {
        let newest = self.network();
        let by_hash: HashMap<Hash32, Arc<NetworkState>> = {
            let g = self.governance.read().expect("governance lock");
            g.at.values().map(|n| (n.version_hash(), n.clone())).collect()
        };
        let mut out = vec![newest];
        while let Some(previous) = out.last().and_then(|n| n.previous) {
            match by_hash.get(&previous) {
                Some(n) => out.push(n.as_ref().clone()),
                None if previous == self.genesis.version_hash() => out.push(self.genesis.clone()),
                None => break,
            }
        }
        out.reverse();
        out
    }

    /// Follows the network's roster version: marked changed after every
    /// committed batch that changed the network, whether its governance
    /// entry came from this node's chair or from a peer.
    pub fn network_versions(&self) -> tokio::sync::watch::Receiver<u64> {
        self.versions.subscribe()
    }

    /// Entries accepted and synced, those withdrawn since included: also
    /// the next acceptance index.
    pub fn entry_count(&self) -> u64 {
        self.order.load(Ordering::Acquire)
    }

    /// Entries in the logs: accepted, and not withdrawn since.
    pub fn entries_held(&self) -> u64 {
        self.entry_count().saturating_sub(self.holes.load(Ordering::Relaxed))
    }

    /// The key-value store underneath, where the witness keeps checkpoints.
    /// A read through it is not held back to the last synced write, as the
    /// reads of entries and heads here are.
    pub fn store(&self) -> &dyn KeyValueStore {
        self.store.as_ref()
    }

    /// A log's head as of the last synced write.
    pub fn head(&self, author: &PublicKey) -> Result<Option<Head>, StoreError> {
        Ok(self.heads.read().expect("heads lock").get(author).cloned())
    }

    /// Every log's head as of the last synced write, by author.
    pub fn heads(&self) -> Result<Vec<(PublicKey, Head)>, StoreError> {
        let mut out: Vec<_> = self.heads.read().expect("heads lock").iter().map(|(k, h)| (*k, h.clone())).collect();
        out.sort_by_key(|(k, _)| *k);
        Ok(out)
    }

    fn synced_seq(&self, author: &PublicKey) -> u64 {
        self.heads.read().expect("heads lock").get(author).map_or(0, |h| h.seq)
    }

    /// The entry at an acceptance index (big-endian bytes).
    fn entry_by_index(&self, index: &[u8]) -> Result<SignedEntry, StoreError> {
        let b = self.store.get(Column::Order, index)?.ok_or_else(|| corrupt("entry index", "points to no entry"))?;
        SignedEntry::parse(b).map_err(|e| corrupt("entry", e))
    }

    /// The entry at position `seq` of a log; `None` beyond the log's synced
    /// head (a frozen log's head is at most its freeze point).
    pub fn entry_at(&self, author: &PublicKey, seq: u64) -> Result<Option<SignedEntry>, StoreError> {
        if seq > self.synced_seq(author) {
            return Ok(None);
        }
        match self.store.get(Column::Entries, &entry_key(author, seq))? {
            None => Ok(None),
            Some(i) => self.entry_by_index(&i).map(Some),
        }
    }

    /// An entry of a log by its id; `None` if it is not held, not synced
    /// yet, or withdrawn (see [`Ledger::withdrawn_entry`]).
    pub fn entry_by_hash(&self, hash: &Hash32) -> Result<Option<SignedEntry>, StoreError> {
        Ok(self.indexed_entry(hash)?.map(|(_, e)| e))
    }

    /// An entry by hash with its acceptance index: entries sorted by it come
    /// after everything they rely on.
    pub fn indexed_entry(&self, hash: &Hash32) -> Result<Option<(u64, SignedEntry)>, StoreError> {
        let Some(i) = self.store.get(Column::Hashes, &hash.0)? else { return Ok(None) };
        let index: [u8; 8] = i.as_slice().try_into().map_err(|e| corrupt("entry index", e))?;
        let index = u64::from_be_bytes(index);
        if index >= self.entry_count() {
            return Ok(None);
        }
        Ok(Some((index, self.entry_by_index(&i)?)))
    }

    /// Up to `limit` entries of one log from `from`.
    pub fn log_page(&self, author: &PublicKey, from: u64, limit: usize) -> Result<Vec<SignedEntry>, StoreError> {
        let from = from.max(1);
        let limit =
            limit.min(usize::try_from((self.synced_seq(author) + 1).saturating_sub(from)).unwrap_or(usize::MAX));
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.store
            .scan(Column::Entries, &author.0, &entry_key(author, from), limit)?
            .into_iter()
            .map(|(_, i)| self.entry_by_index(&i))
            .collect()
    }

    /// Entries in acceptance order, from index `from`: replaying them
    /// rebuilds the state. Indices of entries withdrawn from a frozen log
    /// are left empty.
    pub fn ordered(&self, from: u64, limit: usize) -> Result<Vec<SignedEntry>, StoreError> {
        Ok(self.ordered_indexed(from, limit)?.into_iter().map(|(_, e)| e).collect())
    }

    /// As [`Ledger::ordered`], with each entry's acceptance index.
    pub fn ordered_indexed(&self, from: u64, limit: usize) -> Result<Vec<(u64, SignedEntry)>, StoreError> {
        let limit = self.synced_limit(from, limit);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let count = self.entry_count();
        let mut out = Vec::new();
        for (k, b) in self.store.scan(Column::Order, b"", &from.to_be_bytes(), limit)? {
            let index = order_index(&k)?;
            if index >= count {
                break;
            }
            out.push((index, SignedEntry::parse(b).map_err(|e| corrupt("entry", e))?));
        }
        Ok(out)
    }

    /// At most `limit`, and none from index `order` on.
    fn synced_limit(&self, from: u64, limit: usize) -> usize {
        limit.min(usize::try_from(self.entry_count().saturating_sub(from)).unwrap_or(usize::MAX))
    }

    /// How far this node has taken a peer's entries in the peer's
    /// acceptance order, so an interrupted catch-up resumes there.
    pub fn sync_cursor(&self, peer: &str) -> Result<u64, StoreError> {
        Ok(get_typed(self.store(), Column::Meta, format!("sync-cursor/{peer}").as_bytes())?.unwrap_or(0))
    }

    /// Save how far catch-up took a peer's acceptance order. A buffered
    /// write: a cursor lost in a crash only makes the next catch-up start
    /// earlier. Save it only once the writer answered the page it covers.
    pub fn set_sync_cursor(&self, peer: &str, index: u64) -> Result<(), StoreError> {
        self.store.write_buffered(vec![Op::Put(
            Column::Meta,
            format!("sync-cursor/{peer}").into_bytes(),
            encode(&index),
        )])
    }

    /// Wire bytes in acceptance order, unparsed: what a peer catching up
    /// asks for; with the index to ask from next.
    pub fn ordered_bytes(&self, from: u64, limit: usize, max_bytes: usize) -> Result<(Vec<Vec<u8>>, u64), StoreError> {
        let limit = self.synced_limit(from, limit);
        if limit == 0 {
            return Ok((Vec::new(), from));
        }
        let count = self.entry_count();
        let mut out = Vec::new();
        let mut next = from;
        for (k, b) in self.store.scan_bytes(Column::Order, b"", &from.to_be_bytes(), limit, max_bytes)? {
            let index = order_index(&k)?;
            if index >= count {
                break;
            }
            out.push(b);
            next = index + 1;
        }
        Ok((out, next))
    }

    /// Wire bytes of up to `limit` entries of one log from `from`, unparsed,
    /// read until they pass `max_bytes` (one at least): what a peer asks for.
    pub fn log_page_bytes(
        &self,
        author: &PublicKey,
        from: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let from = from.max(1);
        let limit =
            limit.min(usize::try_from((self.synced_seq(author) + 1).saturating_sub(from)).unwrap_or(usize::MAX));
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut size = 0usize;
        for (_, i) in self.store.scan(Column::Entries, &author.0, &entry_key(author, from), limit)? {
            let b = self.store.get(Column::Order, &i)?.ok_or_else(|| corrupt("entry index", "points to no entry"))?;
            size = size.saturating_add(b.len());
            if size > max_bytes && !out.is_empty() {
                break;
            }
            out.push(b);
        }
        Ok(out)
    }

    /// A lot by participant and lot id: holder, weight left, nature,
    /// compliance and origin (R4-R8), as last written.
    pub fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, StoreError> {
        get_typed(self.store(), Column::Lots, &lot_key(participant, lot))
    }

    /// A certificate by number, with its import confirmation once its
    /// importer confirmed it (R7).
    pub fn certificate(&self, number: &str) -> Result<Option<CertState>, StoreError> {
        get_typed(self.store(), Column::Certs, number.as_bytes())
    }

    /// One participant's registration of a licensee key (R2); the same key
    /// registered by another participant is another licensee.
    pub fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, StoreError> {
        get_typed(self.store(), Column::Licensees, &licensee_key(participant, key))
    }

    /// Every participant's registration of one key.
    pub fn registrations(&self, key: &PublicKey) -> Result<Vec<LicenseeState>, StoreError> {
        self.scan_typed(Column::Licensees, &key.0)
    }

    /// The status a zone-status entry records, by the entry's id: what a
    /// production or an entry's context names (R6).
    pub fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, StoreError> {
        get_typed(self.store(), Column::Zones, &entry.0)
    }

    /// The newest status entry of a zone in one monitor's log: what this
    /// node's writer names in the context of an entry that reads the zone.
    pub fn zone_head(&self, monitor: &PublicKey, participant: &str, zone: &str) -> Result<Option<Hash32>, StoreError> {
        get_typed(self.store(), Column::ZoneHeads, &zone_head_key(monitor, participant, zone))
    }

    /// Every zone status held, of every monitor and zone, by entry id.
    pub fn zones(&self) -> Result<Vec<ZoneRecord>, StoreError> {
        self.scan_typed(Column::Zones, b"")
    }

    /// The attestations about a lot or a certificate, in the one order every
    /// node, trail and bundle lists them (`state::sort_attestations`).
    pub fn attestations(&self, s: &Subject) -> Result<Vec<AttestationRecord>, StoreError> {
        let mut v: Vec<AttestationRecord> = self.scan_typed(Column::Attestations, &subject_key(s))?;
        sort_attestations(&mut v);
        Ok(v)
    }

    /// Whether a conflicting pair at this position of the log is kept. One
    /// pair per position is kept: a writer that signs many variants of one
    /// entry proves nothing more, and must not fill the disk.
    pub fn has_evidence_at(&self, author: &PublicKey, seq: u64) -> Result<bool, StoreError> {
        Ok(!self.store.scan(Column::Evidence, &entry_key(author, seq), b"", 1)?.is_empty())
    }

    /// A frozen log's freeze point (R3): its entries are `1..=f`.
    pub fn freeze_point(&self, author: &PublicKey) -> Option<u64> {
        self.freeze.read().expect("freeze lock").get(author).copied()
    }

    /// Every frozen log's freeze point.
    pub fn freeze_points(&self) -> HashMap<PublicKey, u64> {
        self.freeze.read().expect("freeze lock").clone()
    }

    /// Whether an entry, by id, was withdrawn from a frozen log (R3): an
    /// entry of another log that names it is void.
    pub fn is_withdrawn(&self, hash: &Hash32) -> bool {
        self.withdrawn.read().expect("withdrawn lock").contains_key(hash)
    }

    /// Wire bytes of at most `limit` entries withdrawn from frozen logs,
    /// read until they pass `max_bytes`: what a peer that missed them asks
    /// for, or, unbounded, every one.
    pub fn withdrawn_bytes(&self, limit: usize, max_bytes: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.store.scan_bytes(Column::Withdrawn, b"", b"", limit, max_bytes)?.into_iter().map(|(_, b)| b).collect())
    }

    /// The wire bytes of a withdrawn entry.
    pub fn withdrawn_entry(&self, hash: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(Column::Withdrawn, &hash.0)
    }

    /// Every void object, in key order.
    pub fn void_keys(&self) -> Result<Vec<VoidKey>, StoreError> {
        self.store
            .scan(Column::Void, b"", b"", usize::MAX)?
            .into_iter()
            .map(|(k, _)| decode_trusted(&k).map_err(|e| corrupt("void key", e)))
            .collect()
    }

    /// Whether an object exists as void: its id is taken, and an entry that
    /// reads it is void too (R3).
    pub fn is_void(&self, key: &VoidKey) -> Result<bool, StoreError> {
        Ok(self.store.get(Column::Void, &void_key(key))?.is_some())
    }

    /// Every equivocation kept, by log and position: the first conflicting
    /// pair of each position.
    pub fn evidence(&self) -> Result<Vec<Evidence>, StoreError> {
        self.scan_typed(Column::Evidence, b"")
    }

    /// Every checkpoint fraud kept against a log's writer, by fraud id.
    pub fn frauds(&self) -> Result<Vec<StoredFraud>, StoreError> {
        self.scan_typed(Column::Frauds, b"")
    }

    /// Every lot of every participant, by participant and lot id: what
    /// `kp-node check` compares with a replay of the logs.
    pub fn all_lots(&self) -> Result<Vec<LotState>, StoreError> {
        self.scan_typed(Column::Lots, b"")
    }

    /// Every certificate, by number.
    pub fn all_certificates(&self) -> Result<Vec<CertState>, StoreError> {
        self.scan_typed(Column::Certs, b"")
    }

    /// Every licensee registration, by key, then participant.
    pub fn all_licensees(&self) -> Result<Vec<LicenseeState>, StoreError> {
        self.scan_typed(Column::Licensees, b"")
    }

    fn scan_typed<T: serde::de::DeserializeOwned>(&self, col: Column, prefix: &[u8]) -> Result<Vec<T>, StoreError> {
        self.store
            .scan(col, prefix, b"", usize::MAX)?
            .into_iter()
            .map(|(_, v)| decode_trusted(&v).map_err(|e| corrupt(col.name(), e)))
            .collect()
    }

    /// A new batch, starting at the next acceptance index: it judges
    /// entries against the store plus the entries judged before them in it,
    /// and nothing of it is durable before [`Batch::commit`]. One batch at a
    /// time, on the writer thread.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            ledger: self,
            network: self.network(),
            network_changed: false,
            governance: HashMap::new(),
            governance_head: self.governance.read().expect("governance lock").head,
            hashes: HashSet::new(),
            heads: HashMap::new(),
            at: HashMap::new(),
            lots: HashMap::new(),
            certs: HashMap::new(),
            licensees: HashMap::new(),
            zones: HashMap::new(),
            zone_heads: HashMap::new(),
            records: HashSet::new(),
            ops: Vec::new(),
            order: self.entry_count(),
            failed: Default::default(),
            changed: false,
            dirty_heads: HashSet::new(),
            frontiers: HashMap::new(),
            frauds: HashSet::new(),
            evidence_at: HashSet::new(),
            freeze: HashMap::new(),
            withdrawn: HashMap::new(),
            void: HashSet::new(),
            book: Default::default(),
        }
    }
}

/// Judged entries not yet written, seen by later entries of the same batch.
/// One batch is one synced write: group commit.
pub struct Batch<'a> {
    ledger: &'a Ledger,
    network: NetworkState,
    network_changed: bool,
    /// Governance entries judged in this batch, with the network as of each.
    governance: HashMap<Hash32, Arc<NetworkState>>,
    governance_head: Option<Hash32>,
    /// Entries accepted in this batch.
    hashes: HashSet<Hash32>,
    heads: HashMap<PublicKey, Head>,
    at: HashMap<(PublicKey, u64), Hash32>,
    lots: HashMap<(String, String), LotState>,
    certs: HashMap<String, CertState>,
    licensees: HashMap<Vec<u8>, LicenseeState>,
    zones: HashMap<Hash32, ZoneRecord>,
    zone_heads: HashMap<Vec<u8>, Hash32>,
    records: HashSet<Vec<u8>>,
    ops: Vec<Op>,
    order: u64,
    /// A read or a write failed: the batch must not commit.
    failed: std::cell::RefCell<Option<String>>,
    /// Something was accepted or kept as evidence.
    changed: bool,
    /// Heads changed since the last write.
    dirty_heads: HashSet<PublicKey>,
    /// Tree edges of the logs this batch appends to.
    frontiers: HashMap<PublicKey, Frontier>,
    frauds: HashSet<Hash32>,
    /// Positions whose conflicting pair this batch keeps.
    evidence_at: HashSet<(PublicKey, u64)>,
    /// Freeze points set or lowered by this batch.
    freeze: HashMap<PublicKey, u64>,
    /// Entries this batch withdrew, with their log.
    withdrawn: HashMap<Hash32, PublicKey>,
    /// Void objects this batch made.
    void: HashSet<Vec<u8>>,
    /// What the statistics book counts of this batch, once committed.
    book: stats::Pending,
}

impl Batch<'_> {
    /// A read for a verdict or a signature. A failure is passed on, so that
    /// nothing rests on it (no refusal, no missing dependency, no context
    /// left short), and noted, so that the batch does not commit: entries
    /// judged after it may rely on the entry whose verdict it stopped.
    fn read<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &r {
            self.fail(e.to_string());
        }
        r
    }

    fn fail(&self, why: String) {
        self.failed.borrow_mut().get_or_insert(why);
    }

    /// Why the batch will not commit, once a read or a write of it failed.
    /// Nothing more should be judged in it.
    pub fn failure(&self) -> Option<String> {
        self.failed.borrow().clone()
    }

    /// Record an accepted entry, or evidence of equivocation. Returns
    /// whether anything new is to be written: a duplicate, or a conflict at a
    /// position whose pair is already kept, changes nothing.
    pub fn apply(&mut self, v: &Verified, verdict: &Verdict) -> bool {
        match verdict {
            Verdict::Accepted(a) => {
                self.accept(&v.entry, a);
                true
            }
            Verdict::Equivocation(eq) => self.evidence(&v.entry, eq),
            Verdict::Withdrawn(w) => self.withdraw(&v.entry, w),
            Verdict::Duplicate(_) => false,
        }
    }

    /// Freeze a log at `at`, or lower its freeze point to it (R3). What the
    /// store holds beyond it is withdrawn when the batch commits.
    fn set_freeze(&mut self, author: &PublicKey, at: u64) {
        if self.freeze_point(author).is_some_and(|f| f <= at) {
            return;
        }
        self.freeze.insert(*author, at);
        self.ops.push(Op::Put(Column::Meta, freeze_key(author), encode(&at)));
        self.changed = true;
        // The head says the log is frozen, as a replay makes it say (one
        // frozen before its first entry here included). A head that cannot
        // be read fails the batch (`read`).
        if let Ok(head) = self.head(author) {
            let mut head = head.unwrap_or(Head { seq: 0, hash: Hash32::ZERO, timestamp_ms: 0, frozen: true });
            if !head.frozen {
                head.frozen = true;
                self.heads.insert(*author, head);
                self.dirty_heads.insert(*author);
            }
        }
        self.inherit_freezes();
    }

    /// Freeze at 0 the logs of later keys of a holder whose replaced key's
    /// log froze below the position its rotation kept (R3).
    fn inherit_freezes(&mut self) {
        for key in self.network.inherited_freezes(|k| self.freeze_point(k)) {
            self.set_freeze(&key, 0);
        }
    }

    /// Keep an entry of a frozen log beyond its freeze point, as evidence
    /// only. Returns whether it is new here.
    fn withdraw(&mut self, entry: &SignedEntry, w: &Withdrawn) -> bool {
        if self.withdrawn.contains_key(&w.hash) || self.ledger.is_withdrawn(&w.hash) {
            return false;
        }
        let held = {
            let stored = self.ledger.withdrawn.read().expect("withdrawn lock");
            stored.values().chain(self.withdrawn.values()).filter(|a| **a == w.author).count()
        };
        if held >= MAX_WITHDRAWN_PER_LOG {
            return false;
        }
        self.changed = true;
        self.withdrawn.insert(w.hash, w.author);
        self.ops.push(Op::Put(Column::Withdrawn, w.hash.0.to_vec(), entry.bytes().to_vec()));
        true
    }

    fn accept(&mut self, entry: &SignedEntry, a: &Accepted) {
        self.changed = true;
        if self.ledger.stats_on {
            self.book.note(a);
        }
        // The bytes are keyed by acceptance index, which only grows, so
        // RocksDB moves them down the levels without rewriting them.
        let index = self.order.to_be_bytes().to_vec();
        self.ops.push(Op::Put(Column::Order, index.clone(), entry.bytes().to_vec()));
        self.ops.push(Op::Put(Column::Entries, entry_key(&a.author, a.head.seq), index.clone()));
        self.ops.push(Op::Put(Column::Hashes, a.hash.0.to_vec(), index));
        if self.ledger.trees {
            self.append_leaf(&a.author, a.hash);
        }
        self.dirty_heads.insert(a.author);
        self.order += 1;
        self.at.insert((a.author, a.head.seq), a.hash);
        self.hashes.insert(a.hash);
        self.heads.insert(a.author, a.head.clone());
        for c in &a.changes {
            match c {
                Change::Lot(l) => {
                    self.ops.push(Op::Put(Column::Lots, lot_key(&l.participant, &l.lot), encode(l)));
                    self.lots.insert((l.participant.clone(), l.lot.clone()), l.clone());
                }
                Change::Cert(x) => {
                    self.ops.push(Op::Put(Column::Certs, x.number.as_bytes().to_vec(), encode(x)));
                    self.certs.insert(x.number.clone(), x.clone());
                }
                Change::Licensee(l) => {
                    let k = licensee_key(&l.participant, &l.key);
                    self.ops.push(Op::Put(Column::Licensees, k.clone(), encode(l)));
                    self.licensees.insert(k, l.clone());
                }
                Change::Zone(z) => {
                    self.ops.push(Op::Put(Column::Zones, z.entry.0.to_vec(), encode(z)));
                    self.zones.insert(z.entry, z.clone());
                    let k = zone_head_key(&z.monitor, &z.status.participant, &z.status.zone);
                    self.ops.push(Op::Put(Column::ZoneHeads, k.clone(), encode(&z.entry)));
                    self.zone_heads.insert(k, z.entry);
                }
                Change::Record(p, h) => {
                    let k = record_key(p, h);
                    self.ops.push(Op::Put(Column::Records, k.clone(), Vec::new()));
                    self.records.insert(k);
                }
                Change::Network(n) => {
                    self.network = n.clone();
                    // A rotation closes the old key's log (R3): what the
                    // store holds beyond it is withdrawn after this write.
                    for (key, last) in n.closed_logs() {
                        self.set_freeze(key, last);
                    }
                    self.inherit_freezes();
                    self.network_changed = true;
                    self.ops.push(Op::Put(Column::Meta, governance_key(&a.hash), encode(n)));
                    self.governance.insert(a.hash, Arc::new(n.clone()));
                    self.governance_head = Some(a.hash);
                }
                Change::Attestation(x) => {
                    let k = [subject_key(&x.subject), x.entry.0.to_vec()].concat();
                    self.ops.push(Op::Put(Column::Attestations, k, encode(x)));
                }
                Change::Estimate(x) => {
                    self.ops.push(Op::Put(Column::Estimates, x.entry.0.to_vec(), encode(x)));
                }
                Change::Void(k) => {
                    let k = void_key(k);
                    self.ops.push(Op::Put(Column::Void, k.clone(), Vec::new()));
                    self.void.insert(k);
                }
            }
        }
    }

    fn append_leaf(&mut self, author: &PublicKey, leaf: Hash32) {
        if !self.frontiers.contains_key(author) {
            match self.ledger.frontier(author) {
                Ok(f) => self.frontiers.insert(*author, f),
                Err(e) => {
                    self.fail(e.to_string());
                    return;
                }
            };
        }
        let f = self.frontiers.get_mut(author).expect("loaded above");
        for (level, index, hash) in f.push(leaf) {
            self.ops.push(Op::Put(Column::Tree, node_key(author, level, index), hash.0.to_vec()));
        }
    }

    /// Keep fraud evidence against a log's writer and freeze the log (a log
    /// this node holds nothing of yet is frozen before its first entry).
    /// Returns whether the evidence is new.
    pub fn fraud(&mut self, log: &PublicKey, fraud: &Fraud) -> Result<bool, StoreError> {
        let id = fraud.id();
        if self.frauds.contains(&id) || self.read(self.ledger.store.get(Column::Frauds, &id.0))?.is_some() {
            return Ok(false);
        }
        let mut head = self.head(log)?.unwrap_or(Head { seq: 0, hash: Hash32::ZERO, timestamp_ms: 0, frozen: false });
        head.frozen = true;
        self.changed = true;
        self.frauds.insert(id);
        self.ops.push(Op::Put(Column::Frauds, id.0.to_vec(), encode(&StoredFraud { log: *log, fraud: fraud.clone() })));
        self.heads.insert(*log, head);
        self.dirty_heads.insert(*log);
        self.set_freeze(log, rules::freeze_before(fraud.size().unwrap_or(0)));
        Ok(true)
    }

    fn evidence(&mut self, entry: &SignedEntry, eq: &Equivocation) -> bool {
        // Beyond the freeze point, like the entry it conflicts with: entries
        // of other logs may name either.
        let withdrawn = Withdrawn { author: eq.author, seq: eq.seq, hash: eq.conflicting };
        let kept = self.withdraw(entry, &withdrawn);
        // A head that cannot be read fails the batch (`read`).
        let Ok(Some(mut head)) = self.head(&eq.author) else { return kept };
        if !self.evidence_at.insert((eq.author, eq.seq)) {
            return kept;
        }
        match self.read(self.ledger.has_evidence_at(&eq.author, eq.seq)) {
            Ok(false) => {}
            Ok(true) | Err(_) => return kept,
        }
        head.frozen = true;
        self.changed = true;
        let mut k = entry_key(&eq.author, eq.seq);
        k.extend_from_slice(&eq.conflicting.0);
        let ev = Evidence { equivocation: eq.clone(), conflicting_bytes: entry.bytes().to_vec() };
        self.ops.push(Op::Put(Column::Evidence, k, encode(&ev)));
        self.heads.insert(eq.author, head);
        self.dirty_heads.insert(eq.author);
        self.set_freeze(&eq.author, rules::freeze_before(eq.seq));
        true
    }

    /// Write what was judged so far without waiting for the disk, so the
    /// write overlaps other work. Each such write is atomic and carries the
    /// acceptance counter, so a crash leaves a consistent prefix.
    pub fn write_buffered(&mut self) {
        if self.ops.is_empty() || self.failed.borrow().is_some() {
            return;
        }
        let ops = self.take_ops();
        if let Err(e) = self.ledger.store.write_buffered(ops) {
            self.fail(e.to_string());
        }
    }

    fn take_ops(&mut self) -> Vec<Op> {
        let mut ops = std::mem::take(&mut self.ops);
        // A head is written once per write, not once per entry.
        for author in self.dirty_heads.drain() {
            ops.push(Op::Put(Column::Heads, author.0.to_vec(), encode(&self.heads[&author])));
        }
        ops.push(Op::Put(Column::Meta, META_ORDER.to_vec(), encode(&self.order)));
        if self.network_changed {
            ops.push(Op::Put(Column::Meta, META_NETWORK.to_vec(), encode(&self.network)));
            ops.push(Op::Put(Column::Meta, META_GOVERNANCE_HEAD.to_vec(), encode(&self.governance_head)));
        }
        ops
    }

    /// Make everything durable with one synced write. Nothing of the batch
    /// may be acknowledged before this returns.
    pub fn commit(mut self) -> Result<(), StoreError> {
        if let Some(e) = self.failed.take() {
            self.ledger.recover();
            return Err(StoreError::Backend(format!("the batch failed: {e}")));
        }
        if !self.changed {
            return Ok(());
        }
        let ops = self.take_ops();
        if let Err(e) = self.ledger.store.write(ops) {
            self.ledger.recover();
            return Err(e);
        }
        // Entries are readable before the heads and the network that name
        // them: a reader of a head, or of the newest roster version, finds
        // the entry (the governance entry that made the version) stored.
        // The book counts the batch before any head names it: a reader who
        // sees every node's heads agree sees the same statistics.
        self.ledger.count_batch(
            self.lots.values(),
            self.certs.values(),
            self.licensees.values(),
            std::mem::take(&mut self.book),
        );
        self.ledger.order.store(self.order, Ordering::Release);
        self.ledger.frontiers.lock().expect("frontier lock").extend(self.frontiers.drain());
        self.ledger.heads.write().expect("heads lock").extend(self.heads.drain());
        self.ledger.withdrawn.write().expect("withdrawn lock").extend(self.withdrawn.drain());
        if !self.void.is_empty() {
            self.ledger.any_void.store(true, Ordering::SeqCst);
        }
        if self.network_changed {
            let version = self.network.version;
            *self.ledger.network.write().expect("network lock") = self.network;
            let mut g = self.ledger.governance.write().expect("governance lock");
            g.at.extend(self.governance.drain());
            g.head = self.governance_head;
            drop(g);
            self.ledger.versions.send_replace(version);
        }
        if !self.freeze.is_empty() {
            self.ledger.freeze.write().expect("freeze lock").extend(self.freeze.drain());
            // The store may hold entries beyond a new freeze point: they are
            // withdrawn now. If that fails, the writer stops, and a restart
            // withdraws them before anything is served.
            if let Err(e) = self.ledger.withdraw_beyond_freeze() {
                tracing::error!("entries beyond a freeze point could not be withdrawn: {e}");
                self.ledger.broken.store(true, Ordering::SeqCst);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Judging reads the batch's own entries first, then the store. A read of
/// the store that fails fails the batch too (`Batch::read`).
impl LedgerView for Batch<'_> {
    type Error = StoreError;
    fn network(&self) -> &NetworkState {
        &self.network
    }
    fn genesis(&self) -> &NetworkState {
        &self.ledger.genesis
    }
    fn network_at(&self, governance: &Hash32) -> Result<Option<Arc<NetworkState>>, StoreError> {
        if let Some(n) = self.governance.get(governance) {
            return Ok(Some(n.clone()));
        }
        Ok(self.ledger.governance.read().expect("governance lock").at.get(governance).cloned())
    }
    fn governance_head(&self) -> Option<Hash32> {
        self.governance_head
    }
    fn entry_known(&self, hash: &Hash32) -> Result<bool, StoreError> {
        Ok(self.hashes.contains(hash) || self.read(self.ledger.store.get(Column::Hashes, &hash.0))?.is_some())
    }
    fn head(&self, author: &PublicKey) -> Result<Option<Head>, StoreError> {
        if let Some(h) = self.heads.get(author) {
            return Ok(Some(h.clone()));
        }
        self.read(self.ledger.head(author))
    }
    fn entry_hash_at(&self, author: &PublicKey, seq: u64) -> Result<Option<Hash32>, StoreError> {
        if let Some(h) = self.at.get(&(*author, seq)) {
            return Ok(Some(*h));
        }
        Ok(self.read(self.ledger.entry_at(author, seq))?.map(|e| e.hash()))
    }
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, StoreError> {
        if let Some(l) = self.licensees.get(&licensee_key(participant, key)) {
            return Ok(Some(l.clone()));
        }
        self.read(self.ledger.licensee(participant, key))
    }
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, StoreError> {
        if let Some(l) = self.lots.get(&(participant.to_string(), lot.to_string())) {
            return Ok(Some(l.clone()));
        }
        self.read(self.ledger.lot(participant, lot))
    }
    fn certificate(&self, number: &str) -> Result<Option<CertState>, StoreError> {
        if let Some(c) = self.certs.get(number) {
            return Ok(Some(c.clone()));
        }
        self.read(self.ledger.certificate(number))
    }
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, StoreError> {
        if let Some(z) = self.zones.get(entry) {
            return Ok(Some(z.clone()));
        }
        self.read(self.ledger.zone(entry))
    }
    fn zone_head(&self, monitor: &PublicKey, participant: &str, zone: &str) -> Result<Option<Hash32>, StoreError> {
        if let Some(h) = self.zone_heads.get(&zone_head_key(monitor, participant, zone)) {
            return Ok(Some(*h));
        }
        self.read(self.ledger.zone_head(monitor, participant, zone))
    }
    fn record_seen(&self, participant: &str, record: &Hash32) -> Result<bool, StoreError> {
        let k = record_key(participant, record);
        Ok(self.records.contains(&k) || self.read(self.ledger.store.get(Column::Records, &k))?.is_some())
    }
    fn freeze_point(&self, author: &PublicKey) -> Option<u64> {
        self.freeze.get(author).copied().or_else(|| self.ledger.freeze_point(author))
    }
    fn withdrawn(&self, hash: &Hash32) -> Result<bool, StoreError> {
        Ok(self.withdrawn.contains_key(hash) || self.ledger.is_withdrawn(hash))
    }
    fn void(&self, key: &VoidKey) -> Result<bool, StoreError> {
        if self.void.is_empty() && !self.ledger.any_void.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let k = void_key(key);
        Ok(self.void.contains(&k) || self.read(self.ledger.store.get(Column::Void, &k))?.is_some())
    }
}

/// The trail reads committed state only. A read that fails is an error of
/// the trail, never a lot, name or fact left out.
impl TrailSource for Ledger {
    type Error = StoreError;
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, StoreError> {
        Ledger::lot(self, participant, lot)
    }
    fn certificate(&self, number: &str) -> Result<Option<CertState>, StoreError> {
        Ledger::certificate(self, number)
    }
    fn zone_history(&self, participant: &str, zone: &str) -> Result<Vec<ZoneRecord>, StoreError> {
        let mut history = self.zones()?;
        history.retain(|z| z.status.participant == participant && z.status.zone == zone);
        Ok(history)
    }
    fn attestations(&self, subject: &Subject) -> Result<Vec<AttestationRecord>, StoreError> {
        Ledger::attestations(self, subject)
    }
    fn licensee_name(&self, participant: &str, key: &PublicKey) -> Result<Option<String>, StoreError> {
        Ok(Ledger::licensee(self, participant, key)?.map(|l| l.name))
    }
}
