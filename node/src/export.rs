//! Export a bundle: the entries a certificate's or a lot's trail relies on,
//! each with an inclusion proof to the newest witnessed checkpoint of its
//! log, for `kp verify BUNDLE` to check offline.

use crate::ledger::Ledger;
use crate::store::StoreError;
use crate::tree::ProofError;
use crate::witness::{StoredCheckpoint, Witness};
use kp_schemas::bundle::{self, Bundle, BundleCheckpoint, BundleEntry, BundleSource};
use kp_schemas::model::{HexBytes, Subject};
use kp_schemas::state::{LicenseeState, ZoneRecord};
use kp_schemas::trail::TrailError;
use kp_schemas::{Hash32, PublicKey, SignedEntry, checkpoint, crypto};
use std::collections::BTreeMap;

/// Why no bundle is exported. The API answers each with its own status.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No such lot or certificate, or a trail too deep.
    #[error(transparent)]
    NotFound(TrailError),
    /// Some log of the trail has no witnessed checkpoint covering it yet
    /// (409 `bundle.unwitnessed`): checkpoints are signed every few seconds
    /// and cosigned as they spread, so a retry soon may succeed.
    #[error("{0}")]
    Unwitnessed(String),
    /// A read failed, or the store contradicts itself (an entry the trail
    /// names is not stored): 500 `api.storage`, never a bundle with entries
    /// missing.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A read that fails while collecting is a storage error: never a bundle
/// with entries missing, nor an unknown lot.
impl From<TrailError<StoreError>> for ExportError {
    fn from(e: TrailError<StoreError>) -> Self {
        match e {
            TrailError::Read(s) => ExportError::Store(s),
            TrailError::UnknownLot { participant, lot } => {
                ExportError::NotFound(TrailError::UnknownLot { participant, lot })
            }
            TrailError::UnknownCertificate(number) => ExportError::NotFound(TrailError::UnknownCertificate(number)),
            TrailError::TooDeep => ExportError::NotFound(TrailError::TooDeep),
        }
    }
}

impl From<ProofError> for ExportError {
    fn from(e: ProofError) -> Self {
        match e {
            ProofError::Store(s) => ExportError::Store(s),
            ProofError::OutOfRange(m) | ProofError::BadRange(m) => ExportError::Store(StoreError::Corrupt(m)),
        }
    }
}

impl BundleSource for Ledger {
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, StoreError> {
        Ledger::licensee(self, participant, key)
    }
    fn participant_of(&self, author: &PublicKey) -> Option<String> {
        self.network().participant_of(author).map(str::to_string)
    }
    fn latest_governance(&self) -> Option<Hash32> {
        self.governance_head()
    }
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, StoreError> {
        Ledger::zone(self, entry)
    }
    fn entry(&self, hash: &Hash32) -> Result<Option<SignedEntry>, StoreError> {
        self.entry_by_hash(hash)
    }
}

/// The bundle of a certificate or a lot: every entry its trail relies on,
/// in acceptance order (each after what it relies on, as a verifier replays
/// them), and the chair's logs from their first entries, each entry with
/// an inclusion proof to the newest checkpoint of its log that covers it
/// and is witnessed by the log's quorum. A chair's log is carried up to
/// that checkpoint's size, so the roster version in force is the one its
/// witnesses vouch for; the checkpoints keep only the cosignatures a
/// verifier holding the genesis roster and those governance entries can
/// count.
pub fn export(ledger: &Ledger, witness: &Witness, subject: &Subject) -> Result<Bundle, ExportError> {
    let hashes = bundle::collect(ledger, subject)?;
    let mut found = Vec::with_capacity(hashes.len());
    for h in hashes {
        let found_entry = ledger
            .indexed_entry(&h)?
            .ok_or_else(|| StoreError::Corrupt(format!("the trail names entry {h}, which is not stored")))?;
        found.push(found_entry);
    }
    // Acceptance order puts every entry after what it relies on, which is
    // the order a verifier replays them in.
    found.sort_by_key(|(index, _)| *index);

    // Each chair's log in the order the chairs held the role, with its last
    // position on the chain.
    let mut chair_logs: Vec<(PublicKey, u64)> = Vec::new();
    for e in bundle::governance_chain(ledger)? {
        let (author, seq) = (e.entry().author, e.entry().seq);
        match chair_logs.last_mut() {
            Some((log, last)) if *log == author => *last = seq,
            _ => chair_logs.push((author, seq)),
        }
    }
    let mut need: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for (_, e) in &found {
        let x = e.entry();
        let seq = need.entry(x.author).or_default();
        *seq = (*seq).max(x.seq);
    }
    let now = ledger.network();
    let mut chosen: Vec<(PublicKey, StoredCheckpoint, u64)> = Vec::new();
    let mut missing = Vec::new();
    for (log, seq) in chair_logs.iter().copied().chain(need) {
        match witness.witnessed_covering(&log, seq)? {
            Some(s) => {
                let size = s.signed()?.checkpoint().size;
                chosen.push((log, s, size));
            }
            None => missing.push(format!("{} (up to entry {seq})", now.author_name(&log))),
        }
    }
    if !missing.is_empty() {
        return Err(ExportError::Unwitnessed(format!(
            "no checkpoint witnessed by its log's quorum covers {} yet: checkpoints are signed every few \
             seconds and cosigned as they spread, so try again shortly",
            missing.join(", ")
        )));
    }

    let mut governance = Vec::new();
    for (log, _, size) in &chosen[..chair_logs.len()] {
        for seq in 1..=*size {
            let e = ledger.entry_at(log, seq)?.ok_or_else(|| {
                StoreError::Corrupt(format!("entry {seq} of the chair's log {log} is under its checkpoint, not stored"))
            })?;
            governance.push(e);
        }
    }
    let in_force = match governance.last() {
        Some(e) => ledger
            .roster_version(&e.hash())
            .map(|n| n.as_ref().clone())
            .ok_or_else(|| StoreError::Corrupt(format!("governance entry {} made no roster version here", e.hash())))?,
        None => ledger.genesis().clone(),
    };

    let mut checkpoints = Vec::with_capacity(chosen.len());
    let mut sizes: BTreeMap<PublicKey, (usize, u64)> = BTreeMap::new();
    for (log, s, size) in chosen {
        // Only the cosignatures that count under the version in force: a
        // cosignature made before its participant was suspended is kept,
        // but a verifier cannot know it no longer counts.
        let cosignatures = s
            .cosignatures
            .into_iter()
            .filter(|c| checkpoint::witness_code(&in_force, &log, &c.witness).is_some())
            .collect();
        sizes.insert(log, (checkpoints.len(), size));
        checkpoints.push(BundleCheckpoint { checkpoint: s.checkpoint, cosignatures });
    }
    let proven = |e: SignedEntry| -> Result<BundleEntry, ExportError> {
        let x = e.entry();
        let (checkpoint, size) = sizes[&x.author];
        let proof = ledger.tree(&x.author).inclusion(x.seq, size, ledger.log_size(&x.author)?)?;
        Ok(BundleEntry { entry: HexBytes(e.into_bytes()), checkpoint, proof })
    };
    Ok(Bundle {
        format: bundle::FORMAT.to_string(),
        network: now.network.clone(),
        roster_hash: crypto::roster_hash(&ledger.roster().bytes.0),
        subject: subject.clone(),
        checkpoints,
        governance: governance.into_iter().map(&proven).collect::<Result<_, _>>()?,
        entries: found.into_iter().map(|(_, e)| proven(e)).collect::<Result<_, _>>()?,
    })
}
