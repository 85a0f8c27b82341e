//! Storage: a small key-value trait with atomic, synced batches over an enum
//! of column families, one RocksDB implementation behind it, and an
//! in-memory one that can fail on demand, for tests of storage faults.

mod memory;
mod rocks;

pub use memory::MemoryStore;
pub use rocks::RocksStore;

/// Column families. The names are on disk: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// `author || seq (u64 BE)` -> acceptance index (u64 BE).
    Entries,
    /// entry hash -> acceptance index.
    Hashes,
    /// author -> `Head`.
    Heads,
    /// acceptance index (u64 BE) -> entry wire bytes: replaying in this
    /// order rebuilds the derived state.
    Order,
    /// `participant \0 lot id` -> `LotState`.
    Lots,
    /// certificate number -> `CertState`.
    Certs,
    /// zone-status entry hash -> `ZoneRecord`.
    Zones,
    /// `licensee key || participant` -> `LicenseeState`.
    Licensees,
    /// `record hash || participant` -> empty: a participant's log takes a
    /// record once.
    Records,
    /// `subject key \0 entry hash` -> `AttestationRecord`.
    Attestations,
    /// `author || seq || conflicting hash` -> `Evidence`.
    Evidence,
    /// Node metadata: roster, network state, counters.
    Meta,
    /// `author || level (u8) || index (u64 BE)` -> hash of that perfect
    /// subtree of the author's log tree (level 0: the entry hashes).
    Tree,
    /// `author || size (u64 BE)` -> `StoredCheckpoint`.
    Checkpoints,
    /// fraud id -> `Fraud` evidence against a log's writer.
    Frauds,
    /// `monitor || participant \0 zone` -> hash of that monitor's newest
    /// status entry of the zone (R6).
    ZoneHeads,
    /// entry hash -> wire bytes of an entry withdrawn from a frozen log
    /// (beyond its freeze point): evidence only, never part of a log.
    Withdrawn,
    /// encoded `VoidKey` -> empty: an object a void entry would have made.
    Void,
    /// zone-estimate entry hash -> `EstimateRecord`.
    Estimates,
}

impl Column {
    /// Every column, in the order their column families are created.
    pub const ALL: [Column; 19] = [
        Column::Entries,
        Column::Hashes,
        Column::Heads,
        Column::Order,
        Column::Lots,
        Column::Certs,
        Column::Zones,
        Column::Licensees,
        Column::Records,
        Column::Attestations,
        Column::Evidence,
        Column::Meta,
        Column::Tree,
        Column::Checkpoints,
        Column::Frauds,
        Column::ZoneHeads,
        Column::Withdrawn,
        Column::Void,
        Column::Estimates,
    ];

    /// The column family's name on disk; never renamed, or stores written
    /// before would not open.
    pub fn name(self) -> &'static str {
        match self {
            Column::Entries => "entries",
            Column::Hashes => "hashes",
            Column::Heads => "heads",
            Column::Order => "order",
            Column::Lots => "lots",
            Column::Certs => "certs",
            Column::Zones => "zones",
            Column::Licensees => "licensees",
            Column::Records => "records",
            Column::Attestations => "attestations",
            Column::Evidence => "evidence",
            Column::Meta => "meta",
            Column::Tree => "tree",
            Column::Checkpoints => "checkpoints",
            Column::Frauds => "frauds",
            Column::ZoneHeads => "zone-heads",
            Column::Withdrawn => "withdrawn",
            Column::Void => "void",
            Column::Estimates => "estimates",
        }
    }
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set a key of a column to a value.
    Put(Column, Vec<u8>, Vec<u8>),
    /// Remove a key of a column; removing an absent key is no error.
    Delete(Column, Vec<u8>),
}

/// A store that cannot be read or written, or holds what this node could
/// not have written. The API answers it `api.storage`; it is never taken
/// for an absent value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (a disk error, a database held by another
    /// process).
    #[error("storage: {0}")]
    Backend(String),
    /// A stored value does not decode, or contradicts another.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
}

/// What the store's operations return.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The store the ledger is kept in: columns of ordered keys, and atomic
/// batches. One RocksDB implementation ([`RocksStore`]) and one in memory
/// for fault tests ([`MemoryStore`]).
pub trait KeyValueStore: Send + Sync + 'static {
    /// The value of a key, as of the last write (synced or buffered).
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Apply all operations or none, durably: when this returns, the batch
    /// and every buffered write before it survive a crash.
    fn write(&self, ops: Vec<Op>) -> Result<()>;
    /// Apply all operations or none, without waiting for the disk. A crash
    /// may lose them, never half of them; a later [`KeyValueStore::write`]
    /// makes them durable.
    fn write_buffered(&self, ops: Vec<Op>) -> Result<()>;
    /// Up to `limit` pairs with keys starting with `prefix`, from `start`
    /// (inclusive) in key order.
    fn scan(&self, col: Column, prefix: &[u8], start: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// As [`KeyValueStore::scan`], but reading stops once the values read
    /// pass `max_bytes` (the pair that passes it is left out, unless it is
    /// the first): what a peer may ask for is bounded by what is read, not
    /// only by what is sent.
    fn scan_bytes(
        &self,
        col: Column,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = self.scan(col, prefix, start, limit)?;
        let mut size = 0;
        let keep = out
            .iter()
            .position(|(_, v)| {
                size += v.len();
                size > max_bytes
            })
            .map_or(out.len(), |i| i.max(1));
        out.truncate(keep);
        Ok(out)
    }
    /// Up to `limit` pairs with keys starting with `prefix`, last key first.
    fn scan_back(&self, col: Column, prefix: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
}

/// A store shared with whoever made it: a test keeps a handle to inject
/// faults into the store a ledger owns.
impl<T: KeyValueStore> KeyValueStore for std::sync::Arc<T> {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).get(col, key)
    }
    fn write(&self, ops: Vec<Op>) -> Result<()> {
        (**self).write(ops)
    }
    fn write_buffered(&self, ops: Vec<Op>) -> Result<()> {
        (**self).write_buffered(ops)
    }
    fn scan(&self, col: Column, prefix: &[u8], start: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        (**self).scan(col, prefix, start, limit)
    }
    fn scan_bytes(
        &self,
        col: Column,
        prefix: &[u8],
        start: &[u8],
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        (**self).scan_bytes(col, prefix, start, limit, max_bytes)
    }
    fn scan_back(&self, col: Column, prefix: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        (**self).scan_back(col, prefix, limit)
    }
}
