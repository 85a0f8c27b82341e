//! Checkpoints and Merkle proofs as a node serves them: checked here, with
//! the roster's keys, before they are shown, so that `kp proof` never
//! prints a proof it has not verified.

use kp_schemas::api::{CheckpointView, ConsistencyProof, FraudView, InclusionProof};
use kp_schemas::checkpoint::{Fraud, SignedCheckpoint};
use kp_schemas::merkle::{verify_consistency, verify_inclusion};
use std::fmt::Write;

/// Why a served proof or checkpoint does not hold. `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProofFailure {
    pub code: String,
    pub message: String,
}

fn failure(code: &str, message: impl Into<String>) -> ProofFailure {
    ProofFailure { code: code.to_string(), message: message.into() }
}

/// The checkpoint bytes must be signed by the log's key and say what the
/// view around them says.
pub fn check_checkpoint(v: &CheckpointView) -> Result<SignedCheckpoint, ProofFailure> {
    let cp = SignedCheckpoint::parse(v.bytes.0.clone()).map_err(|e| failure("checkpoint.malformed", e.to_string()))?;
    cp.verify().map_err(|e| failure("checkpoint.bad_signature", e.to_string()))?;
    let c = cp.checkpoint();
    if c.log != v.log || c.size != v.size || c.root != v.root || c.timestamp_ms != v.timestamp_ms {
        return Err(failure("checkpoint.mismatch", "the signed bytes say something else than the fields shown"));
    }
    Ok(cp)
}

pub fn check_inclusion(p: &InclusionProof) -> Result<(), ProofFailure> {
    verify_inclusion(&p.entry, p.leaf_index, p.tree_size, &p.proof, &p.root)
        .map_err(|e| failure(e.code(), format!("entry {} at size {}: {e}", p.entry, p.tree_size)))?;
    if p.leaf_index + 1 != p.seq {
        return Err(failure("merkle.bad_index", "leaf index is not seq - 1"));
    }
    if let Some(c) = &p.checkpoint {
        check_checkpoint(c)?;
        if c.log != p.log || c.size != p.tree_size || c.root != p.root {
            return Err(failure("checkpoint.mismatch", "the proof is not against the checkpoint it names"));
        }
    }
    Ok(())
}

pub fn check_consistency(p: &ConsistencyProof) -> Result<(), ProofFailure> {
    verify_consistency(p.size1, p.size2, &p.proof, &p.root1, &p.root2)
        .map_err(|e| failure(e.code(), format!("from size {} to {}: {e}", p.size1, p.size2)))
}

fn witnesses_text(c: &CheckpointView) -> String {
    if c.witnesses.is_empty() { "nobody yet".to_string() } else { c.witnesses.join(", ") }
}

fn short(h: &impl std::fmt::Display) -> String {
    let s = h.to_string();
    format!("{}…", &s[..s.len().min(16)])
}

pub fn checkpoints_text(list: &[CheckpointView]) -> String {
    let mut out = String::new();
    if list.is_empty() {
        out.push_str("no checkpoints of this log yet\n");
    }
    for c in list {
        let state = match check_checkpoint(c) {
            Err(e) => format!("INVALID ({e})"),
            Ok(_) if c.witnessed => "witnessed".to_string(),
            Ok(_) => format!("not yet witnessed (quorum {})", c.quorum),
        };
        let witnesses = witnesses_text(c);
        let _ = writeln!(
            out,
            "{} size {:>8}  root {}  {}  cosigned by {}  [{}]",
            c.log_name,
            c.size,
            short(&c.root),
            crate::render::fmt_timestamp_ms(c.timestamp_ms),
            witnesses,
            state
        );
    }
    out
}

pub fn inclusion_text(p: &InclusionProof) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "entry {} is entry {} of the {} log", p.entry, p.seq, p.log_name);
    let _ = writeln!(
        out,
        "included in the tree of size {} with root {} (proof of {} hashes, verified here)",
        p.tree_size,
        p.root,
        p.proof.len()
    );
    match &p.checkpoint {
        Some(c) => {
            let _ = writeln!(
                out,
                "that tree is checkpoint {} signed by the log's writer, cosigned by {} ({})",
                short(&c.id),
                witnesses_text(c),
                if c.witnessed { "witnessed" } else { "not yet witnessed" }
            );
        }
        None => out.push_str("no checkpoint was signed at that size yet: the root is this node's word only\n"),
    }
    for (i, h) in p.proof.iter().enumerate() {
        let _ = writeln!(out, "  {i:>2} {h}");
    }
    out
}

pub fn consistency_text(p: &ConsistencyProof) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "the {} log at size {} (root {}) extends itself at size {} (root {}); proof of {} hashes, verified here",
        p.log_name,
        p.size2,
        short(&p.root2),
        p.size1,
        short(&p.root1),
        p.proof.len()
    );
    for (i, h) in p.proof.iter().enumerate() {
        let _ = writeln!(out, "  {i:>2} {h}");
    }
    out
}

pub fn frauds_text(list: &[FraudView]) -> String {
    if list.is_empty() {
        return "no checkpoint fraud seen\n".into();
    }
    let mut out = String::new();
    for f in list {
        let what = match &f.fraud {
            Fraud::SplitView { .. } => "signed two checkpoints of one size with different roots",
            Fraud::WrongRoot { .. } => "signed a checkpoint whose root is not the root of its own log",
        };
        let _ = writeln!(out, "{} {what}: the log is frozen (evidence {})", f.log_name, short(&f.id));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::Keypair;
    use kp_schemas::checkpoint::Checkpoint;
    use kp_schemas::crypto::entry_hash;
    use kp_schemas::merkle::{consistency_proof, inclusion_proof, root};
    use kp_schemas::model::HexBytes;

    fn view(key: &Keypair, leaves: &[kp_schemas::Hash32]) -> CheckpointView {
        let c = Checkpoint {
            network: "n".into(),
            log: key.public(),
            size: leaves.len() as u64,
            root: root(leaves),
            timestamp_ms: 7,
        };
        let cp = SignedCheckpoint::sign(c.clone(), key);
        CheckpointView {
            id: cp.id(),
            log: c.log,
            log_name: "CF authority".into(),
            size: c.size,
            root: c.root,
            timestamp_ms: 7,
            witnessed: false,
            witnesses: vec![],
            quorum: 2,
            cosignatures: vec![],
            bytes: HexBytes(cp.into_bytes()),
        }
    }

    #[test]
    fn served_proofs_are_checked_against_their_checkpoint() {
        let key = Keypair::from_seed([9; 32]);
        let leaves: Vec<_> = (0..11u8).map(|i| entry_hash(&[i])).collect();
        let cp = view(&key, &leaves);
        let mut p = InclusionProof {
            log: key.public(),
            log_name: "CF authority".into(),
            entry: leaves[4],
            seq: 5,
            leaf_index: 4,
            tree_size: 11,
            root: root(&leaves),
            proof: inclusion_proof(&leaves, 4),
            checkpoint: Some(cp.clone()),
        };
        assert_eq!(check_inclusion(&p), Ok(()));
        p.proof[1].0[0] ^= 1;
        assert_eq!(check_inclusion(&p).unwrap_err().code, "merkle.bad_proof");
        p.proof = inclusion_proof(&leaves, 4);
        let mut forged = cp.clone();
        forged.root.0[0] ^= 1;
        p.checkpoint = Some(forged);
        assert_eq!(check_inclusion(&p).unwrap_err().code, "checkpoint.mismatch");
        let mut resigned = cp;
        resigned.bytes.0[10] ^= 1;
        assert!(check_checkpoint(&resigned).is_err());

        let c = ConsistencyProof {
            log: key.public(),
            log_name: "CF authority".into(),
            size1: 4,
            size2: 11,
            root1: root(&leaves[..4]),
            root2: root(&leaves),
            proof: consistency_proof(&leaves, 4, 11),
        };
        assert_eq!(check_consistency(&c), Ok(()));
        assert!(check_consistency(&ConsistencyProof { root1: root(&leaves[..5]), ..c }).is_err());
    }
}
