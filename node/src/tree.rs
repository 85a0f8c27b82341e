//! Each log's RFC 6962 Merkle tree, kept in the store as the hashes of its
//! perfect subtrees. Appending an entry writes the one to few subtrees it
//! completes; a proof or a root at any past size reads about `log2(size)` of
//! them, so nothing is ever recomputed from the leaves.

use crate::store::{Column, KeyValueStore, StoreError};
use kp_schemas::merkle::{self, Subtrees};
use kp_schemas::{Hash32, PublicKey};

/// Key of one perfect subtree of a log's tree (`tree` column): the log's
/// author, the subtree's level (0 for a leaf), then its index at that level
/// big-endian, so one log's subtrees are adjacent.
pub fn node_key(author: &PublicKey, level: u8, index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(41);
    k.extend_from_slice(&author.0);
    k.push(level);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// One log's tree in the store.
pub struct LogTree<'a> {
    /// The store holding the subtrees.
    pub store: &'a dyn KeyValueStore,
    /// Key of the log's writer: whose tree this is.
    pub author: PublicKey,
}

impl Subtrees for LogTree<'_> {
    type Error = StoreError;
    fn perfect(&self, level: u8, index: u64) -> Result<Hash32, StoreError> {
        let v = self.store.get(Column::Tree, &node_key(&self.author, level, index))?.ok_or_else(|| {
            StoreError::Corrupt(format!("tree of log {}: subtree ({level}, {index}) is missing", self.author))
        })?;
        let h: [u8; 32] =
            v.as_slice().try_into().map_err(|_| StoreError::Corrupt(format!("tree node of {} bytes", v.len())))?;
        Ok(Hash32(h))
    }
}

/// Why a proof cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// Sizes no proof exists for, whatever the log holds.
    #[error("{0}")]
    BadRange(String),
    /// Beyond what the log holds.
    #[error("{0}")]
    OutOfRange(String),
    /// A subtree could not be read, or is missing from a size the log holds.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LogTree<'_> {
    /// `size` must not exceed the log's committed size; callers check.
    pub fn root(&self, size: u64) -> Result<Hash32, StoreError> {
        merkle::root_at(self, size)
    }

    /// The audit path of the entry at position `seq` (1-based) in the tree
    /// of the log's first `size` entries. `log_size` is what the log holds
    /// synced: a larger `size` is `OutOfRange` (404 `merkle.out_of_range`),
    /// a `seq` outside `1..=size` is `BadRange` (400 `merkle.bad_sizes`).
    pub fn inclusion(&self, seq: u64, size: u64, log_size: u64) -> Result<Vec<Hash32>, ProofError> {
        if seq == 0 || seq > size {
            return Err(ProofError::BadRange(format!("entry {seq} is not in the first {size} entries of a log")));
        }
        if size > log_size {
            return Err(ProofError::OutOfRange(format!(
                "entry {seq} is not in the first {size} entries of a log of {log_size}"
            )));
        }
        Ok(merkle::inclusion_proof_at(self, seq - 1, size)?)
    }

    /// The proof that the tree at `size1` is a prefix of the tree at
    /// `size2` (RFC 6962): what shows that a log only grew between two
    /// checkpoints. Needs `0 < size1 <= size2` (else `BadRange`) and
    /// `size2 <= log_size` (else `OutOfRange`).
    pub fn consistency(&self, size1: u64, size2: u64, log_size: u64) -> Result<Vec<Hash32>, ProofError> {
        if size1 == 0 || size1 > size2 {
            return Err(ProofError::BadRange(format!(
                "no consistency proof from size {size1} to {size2}: it needs 0 < from <= to"
            )));
        }
        if size2 > log_size {
            return Err(ProofError::OutOfRange(format!("size {size2} is beyond this log of {log_size} entries")));
        }
        Ok(merkle::consistency_proof_at(self, size1, size2)?)
    }
}
