//! Export a bundle: the entries a certificate's or a lot's trail relies on,
//! each with an inclusion proof to the newest witnessed checkpoint of its
//! log, for `kp verify BUNDLE` to check offline.

use crate::ledger::Ledger;
use crate::store::StoreError;
use crate::tree::ProofError;
use crate::witness::Witness;
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
        match self.network().role_of(author)? {
            kp_schemas::state::AuthorRole::Authority(p) => Some(p.participant.code.clone()),
            _ => None,
        }
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
/// them), each with an inclusion proof to the newest checkpoint of its log
/// that covers it and is witnessed by the log's quorum, and those
/// checkpoints with only the cosignatures a verifier holding the roster
/// can count.
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

    let mut need: BTreeMap<PublicKey, u64> = BTreeMap::new();
    for (_, e) in &found {
        let x = e.entry();
        let seq = need.entry(x.author).or_default();
        *seq = (*seq).max(x.seq);
    }
    let net = ledger.network();
    let mut checkpoints = Vec::new();
    let mut sizes: BTreeMap<PublicKey, (usize, u64)> = BTreeMap::new();
    let mut missing = Vec::new();
    for (log, seq) in &need {
        match witness.witnessed_covering(log, *seq)? {
            Some(s) => {
                let size = s.signed()?.checkpoint().size;
                // Only the cosignatures that count here: a cosignature made
                // before its participant was suspended is kept, but a
                // verifier that holds only the roster cannot know it no
                // longer counts.
                let cosignatures = s
                    .cosignatures
                    .into_iter()
                    .filter(|c| checkpoint::witness_code(&net, log, &c.witness).is_some())
                    .collect();
                sizes.insert(*log, (checkpoints.len(), size));
                checkpoints.push(BundleCheckpoint { checkpoint: s.checkpoint, cosignatures });
            }
            None => missing.push(format!("{} (up to entry {seq})", net.author_name(log))),
        }
    }
    if !missing.is_empty() {
        return Err(ExportError::Unwitnessed(format!(
            "no checkpoint witnessed by its log's quorum covers {} yet: checkpoints are signed every few \
             seconds and cosigned as they spread, so try again shortly",
            missing.join(", ")
        )));
    }
    let mut entries = Vec::with_capacity(found.len());
    for (_, e) in found {
        let x = e.entry();
        let (checkpoint, size) = sizes[&x.author];
        let proof = ledger.tree(&x.author).inclusion(x.seq, size, ledger.log_size(&x.author)?)?;
        entries.push(BundleEntry { entry: HexBytes(e.into_bytes()), checkpoint, proof });
    }
    Ok(Bundle {
        format: bundle::FORMAT.to_string(),
        network: net.network.clone(),
        roster_hash: crypto::roster_hash(&ledger.roster().bytes.0),
        subject: subject.clone(),
        checkpoints,
        entries,
    })
}
