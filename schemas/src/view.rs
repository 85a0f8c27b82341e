//! What the rules read ([`LedgerView`]), and why a verdict may not be
//! reached ([`JudgeError`]). A leaf of the rules: the rules and the zone
//! history both read through it, and neither through the other.

use crate::bytes::{Hash32, PublicKey};
use crate::codes::Refusal;
use crate::state::*;
use std::convert::Infallible;
use std::sync::Arc;

/// What the rules read.
///
/// A read that fails returns [`LedgerView::Error`], never an absent value:
/// "no such lot" is a verdict, "the lot could not be read" is none. The
/// network and the newest governance entry are held in memory by every
/// view, so reading them cannot fail.
pub trait LedgerView {
    /// A read that failed: a store that cannot be read, say. A view held in
    /// memory never fails ([`Infallible`]).
    type Error: std::fmt::Debug + std::fmt::Display;
    /// The network as of the newest governance entry held: for writers and
    /// readers. Verdicts read [`LedgerView::network_at`] instead.
    fn network(&self) -> &NetworkState;
    /// The network as the roster made it, before any governance entry.
    fn genesis(&self) -> &NetworkState;
    /// The network as of a governance entry (the chair's log up to and
    /// including it), if that entry is held.
    fn network_at(&self, governance: &Hash32) -> Result<Option<Arc<NetworkState>>, Self::Error>;
    /// The newest governance entry held: what a writer names.
    fn governance_head(&self) -> Option<Hash32>;
    /// Whether an entry with this hash is in a log here.
    fn entry_known(&self, hash: &Hash32) -> Result<bool, Self::Error>;
    /// The head of `author`'s log, none if no entry of it is held.
    fn head(&self, author: &PublicKey) -> Result<Option<Head>, Self::Error>;
    /// The id of the entry at position `seq` of `author`'s log, if held.
    fn entry_hash_at(&self, author: &PublicKey, seq: u64) -> Result<Option<Hash32>, Self::Error>;
    /// A licensee is a key registered by one participant: the same key
    /// registered by two participants is two licensees, so their logs never
    /// contend for it.
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, Self::Error>;
    /// A lot of a participant, none if it does not exist.
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, Self::Error>;
    /// A certificate, none if it does not exist.
    fn certificate(&self, number: &str) -> Result<Option<CertState>, Self::Error>;
    /// The zone status an entry with this id declared, none if it is not a
    /// zone-status entry held here.
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, Self::Error>;
    /// The newest status entry of a zone in a monitor's log.
    fn zone_head(&self, monitor: &PublicKey, participant: &str, zone: &str) -> Result<Option<Hash32>, Self::Error>;
    /// Whether `participant`'s log holds this licensee record already.
    fn record_seen(&self, participant: &str, record: &Hash32) -> Result<bool, Self::Error>;
    /// Where a frozen log ends (R3): entries `1..=f` are its entries,
    /// wherever each node stood when the evidence arrived; none if the log
    /// is not frozen. Held in memory by every view.
    fn freeze_point(&self, author: &PublicKey) -> Option<u64>;
    /// Whether this entry is one withdrawn from a frozen log: signed by its
    /// writer beyond the log's freeze point, kept as evidence only.
    fn withdrawn(&self, hash: &Hash32) -> Result<bool, Self::Error>;
    /// Whether this object was created by a void entry: it exists, as
    /// void, so whatever reads it is void too.
    fn void(&self, key: &VoidKey) -> Result<bool, Self::Error>;
}

/// Why [`crate::rules::judge`] gave no verdict: the entry is refused, or a read of the
/// state failed. A read failure is no verdict at all, neither a refusal nor
/// a missing dependency: the entry is judged again once the state reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JudgeError<E> {
    /// A verdict: every node that holds the same entries refuses it the same
    /// way.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The state could not be read, so no verdict was reached.
    #[error("the state could not be read: {0}")]
    Read(E),
}

impl<E> JudgeError<E> {
    /// The refusal, if the entry was refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            JudgeError::Refused(r) => Some(r),
            JudgeError::Read(_) => None,
        }
    }
}

/// A view held in memory reaches a verdict on every entry.
impl From<JudgeError<Infallible>> for Refusal {
    fn from(e: JudgeError<Infallible>) -> Self {
        match e {
            JudgeError::Refused(r) => r,
            JudgeError::Read(never) => match never {},
        }
    }
}

/// A read of the view inside a verdict: its failure is passed on as
/// [`JudgeError::Read`], never mistaken for an absent value.
pub(crate) trait ReadResult<T, E> {
    fn read(self) -> Result<T, JudgeError<E>>;
}

impl<T, E> ReadResult<T, E> for Result<T, E> {
    fn read(self) -> Result<T, JudgeError<E>> {
        self.map_err(JudgeError::Read)
    }
}
