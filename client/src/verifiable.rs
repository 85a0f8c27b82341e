//! Checkpoints and Merkle proofs as a node serves them: checked here before
//! they are shown ([`crate::render`] prints them), so that `kp proof` never
//! prints a proof it has not verified. An inclusion proof is checked against
//! a roster the client holds ([`Trust`]), never the node's word: the entry's
//! own signed bytes, the audit path, the checkpoint its author signed, and
//! the cosignatures of a quorum of other participants, judged as `kp verify
//! BUNDLE` judges them ([`kp_schemas::checkpoint::judge`]).

use kp_schemas::api::{CheckpointView, ConsistencyProof, EntryView, InclusionProof};
use kp_schemas::checkpoint::{self, MAX_TREE_SIZE, SignedCheckpoint, log_name};
use kp_schemas::merkle::{verify_consistency, verify_inclusion};
use kp_schemas::model::SignedRoster;
use kp_schemas::state::NetworkState;
use kp_schemas::{Hash32, PublicKey, SignedEntry};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Why a served proof or checkpoint does not hold. `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProofFailure {
    /// `checkpoint.*`, `proof.*` or `merkle.*`.
    pub code: String,
    /// What does not hold, naming the log, the size, the witness.
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

/// What the client relies on instead of a node: a signed roster it holds
/// (or whose hash it holds), and the quorum of other participants it asks for.
#[derive(Debug, Clone)]
pub struct Trust {
    net: NetworkState,
    /// The hash of the roster's signed bytes.
    pub roster_hash: Hash32,
    /// The chair key that signed it: with the hash, what to compare with
    /// what the chair publishes.
    pub chair: PublicKey,
    /// The least number of other participants' cosignatures asked for
    /// (`--quorum`); each log's intersecting quorum applies if higher.
    pub quorum: usize,
}

impl Trust {
    /// A signed roster, checked: canonical bytes, bounds, the chair's
    /// signature. `pinned`, if given, is the hash it must have.
    pub fn new(roster: &SignedRoster, pinned: Option<&Hash32>, quorum: usize) -> Result<Trust, ProofFailure> {
        let (r, hash) = kp_schemas::roster::verify(roster)
            .map_err(|e| failure("proof.roster", format!("the roster does not verify: {e}")))?;
        if let Some(pinned) = pinned
            && *pinned != hash
        {
            return Err(failure("proof.roster", format!("the roster's hash is {hash}, not {pinned}, the hash given")));
        }
        Ok(Trust { net: NetworkState::from_roster(&r, hash), roster_hash: hash, chair: r.chair, quorum })
    }
}

/// What the client checked itself, printed with the proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    /// The roster checked against: the hash of its signed bytes, its chair.
    pub roster_hash: Hash32,
    /// The chair key that signed the roster.
    pub chair: PublicKey,
    /// The cosignatures the checkpoint needed: its log's quorum by the
    /// roster, or the one asked for if higher.
    pub quorum: usize,
    /// The participants whose cosignatures of the checkpoint verify and
    /// count, by the roster.
    pub witnesses: Vec<String>,
}

/// An inclusion proof that holds, as `kp proof inclusion` prints it: the
/// node's answer with every name and verdict in it replaced by what the
/// client found, and what it was checked against.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedInclusion {
    /// The node's proof, its checkpoint's `witnessed`, `witnesses` and
    /// `quorum` replaced by what the client found.
    #[serde(flatten)]
    pub proof: InclusionProof,
    /// What the client checked it against.
    pub checked: Checked,
}

/// One failure naming every problem found: the first one's code, and all
/// messages.
fn all_of(mut problems: Vec<ProofFailure>) -> ProofFailure {
    let first = problems.remove(0);
    let mut message = first.message;
    for p in problems {
        let _ = write!(message, "; [{}] {}", p.code, p.message);
    }
    ProofFailure { code: first.code, message }
}

/// Check a node's answer to "is the entry `asked` in its log": `entry` is
/// the node's copy of the entry, `p` its proof. The entry's bytes must hash
/// to `asked` and be signed by an author of the roster; the proof must be of
/// that entry, at the position its author signed it at, in its author's
/// log; the audit path must lead to the root of a checkpoint that author
/// signed, cosigned by a quorum of other participants as the roster says.
/// Nothing the node says about the checkpoint (witnessed, by whom) counts.
pub fn verify_inclusion_proof(
    asked: &Hash32,
    entry: &EntryView,
    p: &InclusionProof,
    trust: &Trust,
) -> Result<VerifiedInclusion, ProofFailure> {
    let net = &trust.net;
    // The entry, as its author signed it.
    let signed = SignedEntry::parse(entry.bytes.0.clone())
        .map_err(|e| failure("proof.entry", format!("the node's copy of entry {asked} does not parse: {e}")))?;
    if signed.hash() != *asked {
        let msg = format!("asked for entry {asked}, the node served entry {}", signed.hash());
        return Err(failure("proof.wrong_entry", msg));
    }
    signed.verify().map_err(|e| failure("proof.entry", format!("entry {asked} is not signed by its author: {e}")))?;
    let (author, seq) = (signed.entry().author, signed.entry().seq);
    if net.role_of(&author).is_none() {
        let msg = format!("entry {asked} is signed by the key {author}, which no author of the roster holds");
        return Err(failure("proof.unknown_log", msg));
    }
    let log = log_name(net, &author);

    // The proof: of that entry, where its author put it.
    if p.entry != *asked {
        let msg = format!("asked for entry {asked}, the node proved entry {}", p.entry);
        return Err(failure("proof.wrong_entry", msg));
    }
    if p.log != author {
        let msg = format!("the proof is of the {}, entry {asked} is in the {log}", log_name(net, &p.log));
        return Err(failure("proof.wrong_log", msg));
    }
    if p.seq != seq || p.leaf_index.checked_add(1) != Some(seq) {
        let msg = format!(
            "the proof puts entry {asked} at position {} (leaf {}), its author signed it as entry {seq} of the {log}",
            p.seq, p.leaf_index
        );
        return Err(failure("proof.wrong_position", msg));
    }
    if p.tree_size > MAX_TREE_SIZE {
        return Err(failure("merkle.malformed", format!("a tree of {} entries: no log holds 2^63", p.tree_size)));
    }
    verify_inclusion(asked, seq - 1, p.tree_size, &p.proof, &p.root)
        .map_err(|e| failure(e.code(), format!("entry {asked} in the {log} at size {}: {e}", p.tree_size)))?;

    // The checkpoint: that root, signed by the entry's author, witnessed.
    let Some(view) = &p.checkpoint else {
        let msg = format!(
            "no checkpoint of the {log} signs its tree of size {}: that root is the node's word only \
             (without --size, the node names the newest witnessed checkpoint that covers the entry; ask again \
             once there is one)",
            p.tree_size
        );
        return Err(failure("proof.unwitnessed", msg));
    };
    let cp = SignedCheckpoint::parse(view.bytes.0.clone())
        .map_err(|e| failure("proof.checkpoint", format!("the checkpoint does not parse: {} ({e})", e.code())))?;
    let c = cp.checkpoint();
    if c.log != author {
        let msg = format!(
            "the checkpoint shown is of the {}, signed with that log's key, not by the author of entry {asked}, \
             whose log is the {log}",
            log_name(net, &c.log)
        );
        return Err(failure("proof.wrong_checkpoint", msg));
    }
    if c.size != p.tree_size || c.root != p.root {
        let msg = format!(
            "the proof leads to root {} of size {}, the checkpoint signs root {} of size {}",
            p.root, p.tree_size, c.root, c.size
        );
        return Err(failure("proof.checkpoint_mismatch", msg));
    }
    let judged = checkpoint::judge(net, &cp, &view.cosignatures, trust.quorum);
    let quorum = judged.quorum;
    if !judged.problems.is_empty() {
        return Err(all_of(
            judged.problems.into_iter().map(|x| failure(&format!("proof.{}", x.fault.name()), x.message)).collect(),
        ));
    }

    let witnesses: Vec<String> = judged.witnesses.into_iter().collect();
    let name = net.author_name(&author);
    let mut proof = p.clone();
    proof.log_name = name.clone();
    proof.checkpoint = Some(CheckpointView {
        id: cp.id(),
        log: c.log,
        log_name: name,
        size: c.size,
        root: c.root,
        timestamp_ms: c.timestamp_ms,
        witnessed: true,
        witnesses: witnesses.clone(),
        quorum,
        cosignatures: view.cosignatures.clone(),
        bytes: view.bytes.clone(),
    });
    let checked = Checked { roster_hash: trust.roster_hash, chair: trust.chair, quorum, witnesses };
    Ok(VerifiedInclusion { proof, checked })
}

/// Verify a consistency proof a node served: its hashes lead from `root1`
/// at `size1` to `root2` at `size2`. Whether the roots are the log's is
/// for checkpoints to show.
pub fn check_consistency(p: &ConsistencyProof) -> Result<(), ProofFailure> {
    verify_consistency(p.size1, p.size2, &p.proof, &p.root1, &p.root2)
        .map_err(|e| failure(e.code(), format!("from size {} to {}: {e}", p.size1, p.size2)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::Keypair;
    use kp_schemas::checkpoint::Checkpoint;
    use kp_schemas::merkle::{consistency_proof, inclusion_proof, root};
    use kp_schemas::model::{Body, Entry, HexBytes, LicenseeRevocation, Participant, Roster};

    const NET: &str = "net";

    fn key(seed: u8) -> Keypair {
        Keypair::from_seed([seed; 32])
    }

    /// CF (2), BW (3), EU (4), AE (5); the chair is 1.
    fn roster() -> SignedRoster {
        let participant = |code: &str, seed: u8| Participant {
            code: code.into(),
            name: code.into(),
            authority: key(seed).public(),
            zone_regime: false,
            nodes: vec![],
        };
        let r = Roster {
            network: NET.into(),
            version: 1,
            chair: key(1).public(),
            participants: vec![participant("CF", 2), participant("BW", 3), participant("EU", 4), participant("AE", 5)],
            monitors: vec![],
            observers: vec![],
        };
        kp_schemas::roster::sign(r, &key(1))
    }

    /// `n` entries of `author`'s log.
    fn log(author: &Keypair, n: u64) -> Vec<SignedEntry> {
        let mut out: Vec<SignedEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(Hash32::ZERO, |e| e.hash());
            let body =
                Body::RevokeLicensee(LicenseeRevocation { licensee: key(90).public(), reason: format!("{seq}") });
            let e = Entry {
                network: NET.into(),
                author: author.public(),
                seq,
                prev,
                timestamp_ms: seq,
                context: vec![],
                body,
            };
            out.push(SignedEntry::sign(e, author));
        }
        out
    }

    fn entry_view(e: &SignedEntry) -> EntryView {
        let x = e.entry();
        EntryView {
            hash: e.hash(),
            author: x.author,
            author_name: "CF authority".into(),
            seq: x.seq,
            prev: x.prev,
            timestamp_ms: x.timestamp_ms,
            body: x.body.clone(),
            record: None,
            bytes: HexBytes(e.bytes().to_vec()),
        }
    }

    fn view(signer: &Keypair, leaves: &[Hash32], cosigners: &[u8]) -> CheckpointView {
        let c = Checkpoint {
            network: NET.into(),
            log: signer.public(),
            size: leaves.len() as u64,
            root: root(leaves),
            timestamp_ms: 7,
        };
        let cp = SignedCheckpoint::sign(c.clone(), signer);
        let cosignatures = cosigners.iter().map(|s| cp.cosign(&key(*s))).collect();
        CheckpointView {
            id: cp.id(),
            log: c.log,
            log_name: "CF authority".into(),
            size: c.size,
            root: c.root,
            timestamp_ms: 7,
            // What a node says: ignored.
            witnessed: true,
            witnesses: vec!["BW".into(), "EU".into(), "AE".into()],
            quorum: 2,
            cosignatures,
            bytes: HexBytes(cp.into_bytes()),
        }
    }

    fn proof_of(entries: &[SignedEntry], i: usize, checkpoint: Option<CheckpointView>) -> InclusionProof {
        let leaves: Vec<Hash32> = entries.iter().map(|e| e.hash()).collect();
        InclusionProof {
            log: entries[i].entry().author,
            log_name: "CF authority".into(),
            entry: leaves[i],
            seq: i as u64 + 1,
            leaf_index: i as u64,
            tree_size: leaves.len() as u64,
            root: root(&leaves),
            proof: inclusion_proof(&leaves, i as u64),
            checkpoint,
        }
    }

    fn code(r: Result<VerifiedInclusion, ProofFailure>) -> String {
        r.map(|_| "ok".to_string()).unwrap_or_else(|e| e.code)
    }

    #[test]
    fn an_inclusion_proof_holds_only_against_the_roster() {
        let trust = Trust::new(&roster(), None, 2).unwrap();
        let cf = key(2);
        let entries = log(&cf, 11);
        let leaves: Vec<Hash32> = entries.iter().map(|e| e.hash()).collect();
        let (asked, ev) = (entries[4].hash(), entry_view(&entries[4]));
        let honest = proof_of(&entries, 4, Some(view(&cf, &leaves, &[3, 4])));
        let ok = verify_inclusion_proof(&asked, &ev, &honest, &trust).unwrap();
        assert_eq!(ok.checked.witnesses, vec!["BW".to_string(), "EU".to_string()]);
        assert_eq!(ok.proof.checkpoint.as_ref().unwrap().witnesses, ok.checked.witnesses, "the node's names replaced");
        assert_eq!((ok.checked.roster_hash, ok.checked.chair), (trust.roster_hash, key(1).public()));
        let check = |p: &InclusionProof| code(verify_inclusion_proof(&asked, &ev, p, &trust));

        // A proof of another entry, valid as such.
        assert_eq!(check(&proof_of(&entries, 5, Some(view(&cf, &leaves, &[3, 4])))), "proof.wrong_entry");
        // The node's copy of the entry is another entry.
        assert_eq!(
            code(verify_inclusion_proof(&asked, &entry_view(&entries[5]), &honest, &trust)),
            "proof.wrong_entry"
        );
        // At another position.
        let mut moved = honest.clone();
        (moved.seq, moved.leaf_index) = (6, 5);
        assert_eq!(check(&moved), "proof.wrong_position");
        // A path that does not lead to the root.
        let mut bent = honest.clone();
        bent.proof[1].0[0] ^= 1;
        assert_eq!(check(&bent), "merkle.bad_proof");
        // No checkpoint: the node's word only.
        assert_eq!(check(&proof_of(&entries, 4, None)), "proof.unwitnessed");
        // Signed by a key that is not the entry's author: a stranger, or
        // another participant, each claiming the log is theirs.
        for signer in [key(66), key(3)] {
            let mut p = proof_of(&entries, 4, Some(view(&signer, &leaves, &[4, 5])));
            p.log = signer.public();
            assert_eq!(check(&p), "proof.wrong_log");
            p.log = cf.public();
            assert_eq!(check(&p), "proof.wrong_checkpoint");
        }
        // The author's key, a signature that does not verify.
        let mut forged = honest.clone();
        let c = forged.checkpoint.as_mut().unwrap();
        let last = c.bytes.0.len() - 1;
        c.bytes.0[last] ^= 1;
        assert_eq!(check(&forged), "proof.checkpoint_signature");
        // Too few valid cosignatures, whatever the node says.
        assert_eq!(check(&proof_of(&entries, 4, Some(view(&cf, &leaves, &[3])))), "proof.quorum");
        let e = verify_inclusion_proof(&asked, &ev, &proof_of(&entries, 4, Some(view(&cf, &leaves, &[2, 3]))), &trust)
            .unwrap_err();
        assert_eq!(e.code, "proof.cosignature", "the log's own participant does not witness it: {e}");
        assert!(e.message.contains("[proof.quorum]"), "every problem named: {e}");
        let mut garbled = honest.clone();
        garbled.checkpoint.as_mut().unwrap().cosignatures[0].signature.0[0] ^= 1;
        assert_eq!(check(&garbled), "proof.cosignature");
        // With a quorum of 3, two witnesses are not enough.
        let strict = Trust::new(&roster(), None, 3).unwrap();
        assert_eq!(code(verify_inclusion_proof(&asked, &ev, &honest, &strict)), "proof.quorum");
        // Another network's roster knows nothing of the log.
        let mut other = roster().roster;
        other.participants.retain(|p| p.code != "CF");
        let elsewhere = Trust::new(&kp_schemas::roster::sign(other, &key(1)), None, 2).unwrap();
        assert_eq!(code(verify_inclusion_proof(&asked, &ev, &honest, &elsewhere)), "proof.unknown_log");
    }

    #[test]
    fn a_pinned_roster_must_have_the_hash_given() {
        let r = roster();
        let hash = kp_schemas::crypto::roster_hash(&r.bytes.0);
        assert!(Trust::new(&r, Some(&hash), 2).is_ok());
        assert_eq!(Trust::new(&r, Some(&Hash32([1; 32])), 2).unwrap_err().code, "proof.roster");
        let mut forged = r.clone();
        forged.signature.0[0] ^= 1;
        assert_eq!(Trust::new(&forged, None, 2).unwrap_err().code, "proof.roster");
    }

    #[test]
    fn consistency_proofs_are_checked() {
        let leaves: Vec<Hash32> = log(&key(2), 11).iter().map(|e| e.hash()).collect();
        let c = ConsistencyProof {
            log: key(2).public(),
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
