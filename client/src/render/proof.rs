//! Checkpoints (`kp checkpoints`) and the Merkle proofs `kp proof` printed
//! once it had verified them.

use super::{fmt_timestamp_ms, short};
use crate::verifiable::{VerifiedInclusion, check_checkpoint};
use kp_schemas::api::{CheckpointView, ConsistencyProof};
use std::fmt::Write;

fn witnesses_text(c: &CheckpointView) -> String {
    if c.witnesses.is_empty() { "nobody yet".to_string() } else { c.witnesses.join(", ") }
}

/// A log's checkpoints (`kp checkpoints`), one per line. Each one's
/// signature is checked here and an invalid one is marked so; who
/// witnessed it is the node's account.
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
            fmt_timestamp_ms(c.timestamp_ms),
            witnesses,
            state
        );
    }
    out
}

/// An inclusion proof the client verified (`kp proof inclusion`): the
/// entry, the tree, the checkpoint and its witnesses, the roster checked
/// against, then the audit path.
pub fn inclusion_text(v: &VerifiedInclusion) -> String {
    let (p, k) = (&v.proof, &v.checked);
    let mut out = String::new();
    let _ = writeln!(out, "entry {} is entry {} of the {} log, signed by its author", p.entry, p.seq, p.log_name);
    let _ = writeln!(
        out,
        "included in the tree of size {} with root {} (proof of {} hashes, verified here)",
        p.tree_size,
        p.root,
        p.proof.len()
    );
    if let Some(c) = &p.checkpoint {
        let _ = writeln!(
            out,
            "that tree is checkpoint {} signed by the log's author, cosigned by {} (quorum {}): witnessed",
            short(&c.id),
            witnesses_text(c),
            k.quorum
        );
    }
    let _ = writeln!(out, "checked here against the roster {} signed by the chair key {}", k.roster_hash, k.chair);
    for (i, h) in p.proof.iter().enumerate() {
        let _ = writeln!(out, "  {i:>2} {h}");
    }
    out
}

/// A consistency proof the client verified (`kp proof consistency`), and
/// its hashes.
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
