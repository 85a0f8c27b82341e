//! Answers to peers' sync requests, read from the store. Every answer stops
//! reading at the response size limit, with room for its framing, and holds
//! only what was synced to disk (see [`Ledger`]'s reads).

use crate::ledger::Ledger;
use crate::store::StoreError;
use crate::witness::{self, Witness};
use kp_schemas::checkpoint::CheckpointGossip;
use kp_schemas::model::HexBytes;
use kp_schemas::wire::{self, LogHead, MAX_PAGE_ENTRIES, SyncRequest, SyncResponse};

/// Bytes a page of entries may take: the response limit, less the framing of
/// the answer and of each entry.
const PAGE_BUDGET: usize = wire::MAX_SYNC_RESPONSE - 64 - 8 * MAX_PAGE_ENTRIES as usize;

/// The answer to `req`; a store error is an [`SyncResponse::Error`], never
/// a shorter answer.
pub(super) fn answer(ledger: &Ledger, witness: &Witness, req: SyncRequest) -> SyncResponse {
    let result = match req {
        SyncRequest::Heads => ledger.heads().map(|h| {
            SyncResponse::Heads(h.into_iter().map(|(author, h)| LogHead { author, seq: h.seq, hash: h.hash }).collect())
        }),
        SyncRequest::Since { index, limit } => {
            ledger.ordered_bytes(index, limit.clamp(1, MAX_PAGE_ENTRIES) as usize, PAGE_BUDGET).map(
                |(entries, next)| SyncResponse::Ordered { entries: entries.into_iter().map(HexBytes).collect(), next },
            )
        }
        SyncRequest::Page { author, from, limit } => ledger
            .log_page_bytes(&author, from, limit.clamp(1, MAX_PAGE_ENTRIES) as usize, PAGE_BUDGET)
            .map(|entries| SyncResponse::Page(entries.into_iter().map(HexBytes).collect())),
        SyncRequest::Withdrawn => ledger
            .withdrawn_bytes(MAX_PAGE_ENTRIES as usize, PAGE_BUDGET)
            .map(|out| SyncResponse::Withdrawn(out.into_iter().map(HexBytes).collect())),
        SyncRequest::Equivocations => equivocations(ledger).map(SyncResponse::Equivocations),
        SyncRequest::Checkpoints => checkpoints(ledger, witness).map(SyncResponse::Checkpoints),
    };
    result.unwrap_or_else(|e| SyncResponse::Error(e.to_string()))
}

/// Fraud evidence first, since it freezes logs and is gossiped only once,
/// then the newest checkpoint of each log, within the size limit (with room
/// for the framing).
fn checkpoints(ledger: &Ledger, w: &Witness) -> Result<Vec<CheckpointGossip>, StoreError> {
    let frauds = ledger.frauds()?.into_iter().map(|f| CheckpointGossip::Fraud(f.fraud));
    let latest = witness::latest_per_log(w)?.into_values().map(|s| s.gossip());
    let mut size = 1024;
    let mut out = Vec::new();
    for m in frauds.chain(latest) {
        size += encoded_len(&m);
        if size > wire::MAX_SYNC_RESPONSE {
            break;
        }
        out.push(m);
    }
    Ok(out)
}

/// Both entries of each equivocation kept here, within the size limit.
fn equivocations(ledger: &Ledger) -> Result<Vec<HexBytes>, StoreError> {
    let mut size = 64;
    let mut out = Vec::new();
    for ev in ledger.evidence()? {
        let eq = &ev.equivocation;
        // The log froze before the pair: the held entry is withdrawn.
        let held = match ledger.entry_at(&eq.author, eq.seq)? {
            Some(e) => e.into_bytes(),
            None => match ledger.withdrawn_entry(&eq.existing)? {
                Some(b) => b,
                None => continue,
            },
        };
        size += held.len() + ev.conflicting_bytes.len() + 16;
        if size > wire::MAX_SYNC_RESPONSE {
            break;
        }
        out.push(HexBytes(held));
        out.push(HexBytes(ev.conflicting_bytes));
    }
    Ok(out)
}

/// The bytes a checkpoint message takes in a sync response, without
/// encoding it twice.
fn encoded_len(m: &CheckpointGossip) -> usize {
    use kp_schemas::checkpoint::Fraud;
    match m {
        CheckpointGossip::Checkpoint { checkpoint, cosignatures } => 20 + checkpoint.0.len() + 96 * cosignatures.len(),
        CheckpointGossip::Fraud(Fraud::SplitView { first: a, second: b })
        | CheckpointGossip::Fraud(Fraud::WrongRoot { checkpoint: a, entry: b }) => 24 + a.0.len() + b.0.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::checkpoint::{Cosignature, Fraud};
    use kp_schemas::{PublicKey, SignatureBytes};

    #[test]
    fn encoded_len_is_the_encoded_length() {
        let cs = Cosignature { witness: PublicKey([1; 32]), signature: SignatureBytes([2; 64]) };
        for m in [
            CheckpointGossip::Checkpoint { checkpoint: HexBytes(vec![7; 150]), cosignatures: vec![cs.clone(), cs] },
            CheckpointGossip::Fraud(Fraud::SplitView { first: HexBytes(vec![1; 10]), second: HexBytes(vec![2; 20]) }),
            CheckpointGossip::Fraud(Fraud::WrongRoot { checkpoint: HexBytes(vec![1; 3]), entry: HexBytes(vec![]) }),
        ] {
            assert_eq!(encoded_len(&m), kp_schemas::encoding::encode(&m).len(), "{m:?}");
        }
    }
}
