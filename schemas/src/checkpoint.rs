//! Checkpoints: a log's writer signs the size and Merkle root of its log;
//! witnesses (the other participants) check it against the log they hold and
//! cosign it. A checkpoint cosigned by a quorum of other participants is
//! witnessed: every participant that signed saw the same log, so a writer
//! cannot show one history to some and another to others without signing
//! two checkpoints that cannot both be true, which is fraud evidence.

use crate::bytes::{Hash32, PublicKey, SignatureBytes};
use crate::codes;
use crate::crypto::{self, Domain, Keypair, SignatureError};
use crate::encoding::{self, DecodeError};
use crate::model::HexBytes;
use crate::state::{AuthorRole, NetworkState};
use crate::{SignedEntry, limits};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Witnesses a checkpoint needs beyond what [`quorum`] asks, unless
/// configured otherwise: none. A configuration may ask for more, never less.
pub const DEFAULT_QUORUM: usize = 0;
/// Largest signed checkpoint on the wire: the network name is bounded (R9).
pub const MAX_CHECKPOINT_BYTES: usize = 512;
/// Most cosignatures carried with one checkpoint: one per participant.
pub const MAX_COSIGNATURES: usize = 256;

/// What a log's writer signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Checkpoint {
    /// Network id, as in every entry: a checkpoint of another network is
    /// refused.
    pub network: String,
    /// The log: its author's key.
    pub log: PublicKey,
    /// Entries in the log: the tree's leaves are entries `1..=size`.
    pub size: u64,
    /// RFC 6962 root of those leaves.
    pub root: Hash32,
    /// When the writer signed it, Unix milliseconds.
    pub timestamp_ms: u64,
}

/// Why a signed checkpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Over [`MAX_CHECKPOINT_BYTES`] (R9); carries the length.
    #[error("checkpoint is {0} bytes, the limit is {MAX_CHECKPOINT_BYTES}")]
    TooLarge(usize),
    /// Shorter than a signature, not the canonical bytes of a
    /// [`Checkpoint`], or a network id over [`limits::MAX_ID`] (R9).
    #[error("checkpoint bytes: {0}")]
    Malformed(String),
    /// The writer's signature does not verify against the log's key (R1).
    #[error("checkpoint signature: {0}")]
    Signature(SignatureError),
    /// A checkpoint of size 0: a log with no entries has nothing to sign.
    #[error("checkpoint of an empty log")]
    Empty,
}

impl CheckpointError {
    /// The refusal code: `R9.too_large`, `R9.malformed`, or the signature
    /// error's R1 code.
    pub fn code(&self) -> &'static str {
        match self {
            CheckpointError::TooLarge(_) => codes::R9_TOO_LARGE,
            CheckpointError::Malformed(_) | CheckpointError::Empty => codes::R9_MALFORMED,
            CheckpointError::Signature(e) => e.code(),
        }
    }
}

/// A checkpoint as it travels: `checkpoint bytes || signature`, kept as
/// received so that its id and cosignatures are over exactly those bytes.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    bytes: Vec<u8>,
    checkpoint: Checkpoint,
    id: Hash32,
}

impl PartialEq for SignedCheckpoint {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for SignedCheckpoint {}

impl SignedCheckpoint {
    /// Parse untrusted bytes strictly; the signature is checked by
    /// [`SignedCheckpoint::verify`].
    pub fn parse(bytes: Vec<u8>) -> Result<Self, CheckpointError> {
        if bytes.len() > MAX_CHECKPOINT_BYTES {
            return Err(CheckpointError::TooLarge(bytes.len()));
        }
        if bytes.len() < SignatureBytes::LEN {
            return Err(CheckpointError::Malformed("shorter than a signature".into()));
        }
        let split = bytes.len() - SignatureBytes::LEN;
        let checkpoint: Checkpoint =
            encoding::decode(&bytes[..split]).map_err(|e: DecodeError| CheckpointError::Malformed(e.to_string()))?;
        if checkpoint.network.len() > limits::MAX_ID {
            return Err(CheckpointError::Malformed("network name is too long".into()));
        }
        if checkpoint.size == 0 {
            return Err(CheckpointError::Empty);
        }
        let id = crypto::checkpoint_id(&bytes);
        Ok(Self { bytes, checkpoint, id })
    }

    /// Sign a checkpoint of the log of `key`, which must be `checkpoint.log`.
    pub fn sign(checkpoint: Checkpoint, key: &Keypair) -> Self {
        debug_assert_eq!(checkpoint.log, key.public());
        let mut bytes = encoding::encode(&checkpoint);
        let sig = key.sign(Domain::Checkpoint, &bytes);
        bytes.extend_from_slice(&sig.0);
        let id = crypto::checkpoint_id(&bytes);
        Self { bytes, checkpoint, id }
    }

    /// Check the writer's signature: the log's own key.
    pub fn verify(&self) -> Result<(), CheckpointError> {
        let split = self.bytes.len() - SignatureBytes::LEN;
        let sig = SignatureBytes(self.bytes[split..].try_into().expect("64 bytes"));
        crypto::verify(Domain::Checkpoint, &self.checkpoint.log, &self.bytes[..split], &sig)
            .map_err(CheckpointError::Signature)
    }

    /// The decoded checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The wire bytes: canonical checkpoint bytes, then the writer's
    /// signature. Cosignatures are over exactly these.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The wire bytes, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The checkpoint's id:
    /// `SHA-256("kpledger/v1/checkpoint\0" || wire bytes)`.
    pub fn id(&self) -> Hash32 {
        self.id
    }

    /// A witness's signature over these exact bytes.
    pub fn cosign(&self, witness: &Keypair) -> Cosignature {
        Cosignature { witness: witness.public(), signature: witness.sign(Domain::Cosignature, &self.bytes) }
    }
}

/// One witness's signature of a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Cosignature {
    /// The witness's authority key: a participant independent of the log's
    /// writer (`checkpoint::witness_code`).
    pub witness: PublicKey,
    /// Ed25519 over `kpledger/v1/cosignature\0 ||` the checkpoint's wire
    /// bytes, its writer's signature included.
    pub signature: SignatureBytes,
}

impl Cosignature {
    /// Check the signature against `checkpoint`'s exact bytes. Whether the
    /// witness counts is [`witness_code`]'s.
    pub fn verify(&self, checkpoint: &SignedCheckpoint) -> Result<(), SignatureError> {
        crypto::verify(Domain::Cosignature, &self.witness, &checkpoint.bytes, &self.signature)
    }
}

/// Who witnesses a log: a participant authority independent of its writer
/// ([`independent_witness`]) and not suspended. A suspended participant may
/// not write (R2), and its word about another's log counts no more: its
/// cosignatures count toward no quorum, and its node makes none. Returns
/// the witness's participant code.
pub fn witness_code<'a>(net: &'a NetworkState, log: &PublicKey, witness: &PublicKey) -> Option<&'a str> {
    match net.role_of(witness) {
        Some(AuthorRole::Authority(w)) if !w.suspended => independent_witness(net, log, witness),
        _ => None,
    }
}

/// Faulty witnesses a log with `n` witnesses tolerates: fewer than a third
/// of them, as in any Byzantine quorum system.
pub fn tolerated_faults(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// The least quorum of `n` witnesses such that any two quorums share more
/// than [`tolerated_faults`] participants, so at least one honest one, who
/// cosigns one history of a log only: two branches of a log can never both
/// be witnessed. `2q - n > f`, and `q <= n - f` so that the honest witnesses
/// alone make a quorum. 4 witnesses (the five-participant demo): 3.
pub fn min_quorum(n: usize) -> usize {
    (n + tolerated_faults(n)) / 2 + 1
}

/// How many participants witness a log ([`witness_code`]).
pub fn witness_count(net: &NetworkState, log: &PublicKey) -> usize {
    net.participants.values().filter(|p| witness_code(net, log, &p.participant.authority).is_some()).count()
}

/// Cosignatures that make a checkpoint of `log` witnessed: the intersecting
/// quorum of its witnesses, or `at_least` if that is more.
pub fn quorum(net: &NetworkState, log: &PublicKey, at_least: usize) -> usize {
    min_quorum(witness_count(net, log)).max(at_least)
}

/// Check a configured quorum against a network: one below the intersecting
/// quorum of some log would not be the quorum applied (operators would be
/// misled), and one above a log's witness count would never be reached.
pub fn check_quorum(net: &NetworkState, configured: usize) -> Result<(), String> {
    if configured == 0 {
        return Ok(());
    }
    let mut logs: Vec<PublicKey> = net.participants.values().map(|p| p.participant.authority).collect();
    logs.extend(net.monitors.iter().map(|m| m.key));
    for log in logs {
        let n = witness_count(net, &log);
        let needed = min_quorum(n);
        if configured < needed {
            return Err(format!(
                "a quorum of {configured} is too small: the log of {} has {n} witnesses, and two quorums of them \
                 share an honest participant only from {needed} on (tolerating {} faulty); leave the quorum unset \
                 to apply this rule to every log",
                net.author_name(&log),
                tolerated_faults(n)
            ));
        }
        if configured > n {
            return Err(format!(
                "a quorum of {configured} can never be reached: the log of {} has {n} witnesses",
                net.author_name(&log)
            ));
        }
    }
    Ok(())
}

/// A participant authority independent of a log's writer, suspended or
/// not. That excludes the log's own participant, and for a monitor's log
/// the participants it monitors and those whose node runs it (as the roster
/// says): their word about that log is not a second opinion. A cosignature
/// by one that is not is false; one by a suspended participant is only not
/// counted, as its sender may have made or received it before the
/// suspension. A replaced key's closed log is its holder's
/// ([`NetworkState::log_role`]). Returns the witness's participant code.
pub fn independent_witness<'a>(net: &'a NetworkState, log: &PublicKey, witness: &PublicKey) -> Option<&'a str> {
    let Some(AuthorRole::Authority(w)) = net.role_of(witness) else { return None };
    let p = &w.participant;
    let independent = match net.log_role(log) {
        Some(AuthorRole::Authority(own)) => own.participant.code != p.code,
        Some(AuthorRole::Monitor(m)) => {
            !m.scope.contains(&p.code) && !p.nodes.iter().any(|n| m.nodes.iter().any(|x| x.peer_id == n.peer_id))
        }
        Some(AuthorRole::Chair) => true,
        None => false,
    };
    independent.then_some(p.code.as_str())
}

/// The participants whose valid cosignatures a checkpoint carries, each
/// counted once; invalid ones and those of non-witnesses are left out.
pub fn valid_witnesses(net: &NetworkState, cp: &SignedCheckpoint, cosignatures: &[Cosignature]) -> BTreeSet<String> {
    cosignatures
        .iter()
        .filter_map(|c| {
            let code = witness_code(net, &cp.checkpoint.log, &c.witness)?;
            c.verify(cp).ok()?;
            Some(code.to_string())
        })
        .collect()
}

/// Largest tree size a verifier checks proofs against: `merkle`'s proofs
/// overflow a shift past 2^63 leaves, and no log comes near that.
pub const MAX_TREE_SIZE: u64 = 1 << 63;

/// What can be wrong with a checkpoint judged against a roster. Each
/// verifier prefixes the name for its codes: `bundle.quorum` in the report
/// of `kp verify BUNDLE`, `proof.quorum` for `kp proof inclusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes that do not parse, or a size no log reaches.
    Malformed,
    /// Not signed by the key of the log it names.
    Signature,
    /// For another network than the roster's.
    WrongNetwork,
    /// A log no author of the roster writes.
    UnknownLog,
    /// A cosignature that does not verify, that no independent witness of
    /// the log made, or that repeats a participant.
    Cosignature,
    /// Valid cosignatures of fewer other participants than the quorum.
    Quorum,
}

impl Fault {
    /// The name after the verifier's prefix: `quorum` in `bundle.quorum`
    /// and `proof.quorum`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Malformed => "checkpoint",
            Fault::Signature => "checkpoint_signature",
            Fault::WrongNetwork => "wrong_network",
            Fault::UnknownLog => "unknown_log",
            Fault::Cosignature => "cosignature",
            Fault::Quorum => "quorum",
        }
    }
}

/// One thing wrong with a checkpoint, as [`judge`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointProblem {
    /// The kind of fault, which names the verifier's code.
    pub fault: Fault,
    /// What is wrong, naming the log, the size and the witness concerned.
    pub message: String,
}

/// A checkpoint judged against a roster: who witnessed it, and what is
/// wrong with it (nothing, when it may be relied on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The participants whose cosignatures verify and count, each once.
    pub witnesses: BTreeSet<String>,
    /// Everything wrong with it; empty when it may be relied on.
    pub problems: Vec<CheckpointProblem>,
    /// The cosignatures the checkpoint needed ([`quorum`]).
    pub quorum: usize,
}

/// `CF authority log`, or the key itself for a key the roster does not hold.
pub fn log_name(net: &NetworkState, key: &PublicKey) -> String {
    match net.log_role(key) {
        Some(_) => format!("{} log", net.author_name(key)),
        None => format!("log of the unknown key {}", key.to_hex()),
    }
}

/// Judge a signed checkpoint and the cosignatures shown with it with
/// nothing but the network a roster describes: a size a log can reach, the
/// signature of the log it names, the network, an author of the roster
/// writing that log, every cosignature valid and by an independent witness
/// of that log ([`witness_code`]), each participant once, and at least its
/// log's intersecting [`quorum`] of them (or `at_least`, if more). What a node says about a checkpoint (that it is
/// witnessed, by whom) plays no part. This is the one check of a checkpoint
/// every verifier makes: `kp verify BUNDLE` for each of a bundle's
/// checkpoints, `kp proof inclusion` for the checkpoint a proof leads to.
pub fn judge(net: &NetworkState, cp: &SignedCheckpoint, cosignatures: &[Cosignature], at_least: usize) -> Judgement {
    let mut problems = Vec::new();
    let mut witnesses = BTreeSet::new();
    let mut fault = |fault: Fault, message: String| problems.push(CheckpointProblem { fault, message });
    let c = cp.checkpoint();
    let quorum = self::quorum(net, &c.log, at_least);
    let name = format!("checkpoint of the {} at size {}", log_name(net, &c.log), c.size);
    if c.size > MAX_TREE_SIZE {
        fault(Fault::Malformed, format!("{name}: no log holds more than 2^63 entries"));
        return Judgement { witnesses, problems, quorum };
    }
    if let Err(e) = cp.verify() {
        fault(Fault::Signature, format!("{name} is not signed by its log's key: {} ({})", e, e.code()));
    }
    if c.network != net.network {
        fault(Fault::WrongNetwork, format!("{name} is for network `{}`, the roster for `{}`", c.network, net.network));
    }
    if net.log_role(&c.log).is_none() {
        fault(Fault::UnknownLog, format!("{name}: no author in the roster has the key {}", c.log));
    }
    if cosignatures.len() > MAX_COSIGNATURES {
        let msg = format!("{name} carries {} cosignatures, at most {MAX_COSIGNATURES} are read", cosignatures.len());
        fault(Fault::Cosignature, msg);
    }
    for cs in cosignatures.iter().take(MAX_COSIGNATURES) {
        let Some(code) = witness_code(net, &c.log, &cs.witness) else {
            let who = match net.role_of(&cs.witness) {
                Some(_) => net.author_name(&cs.witness),
                None => format!("the key {}, which is not in the roster", cs.witness),
            };
            let msg = format!(
                "{name} carries a cosignature by {who}; only the authorities of other participants witness a log"
            );
            fault(Fault::Cosignature, msg);
            continue;
        };
        if let Err(e) = cs.verify(cp) {
            fault(
                Fault::Cosignature,
                format!("{name}: the cosignature of {code} (key {}) does not verify: {e}", cs.witness),
            );
        } else if !witnesses.insert(code.to_string()) {
            fault(Fault::Cosignature, format!("{name} carries two cosignatures of {code}"));
        }
    }
    if witnesses.len() < quorum {
        let by = match witnesses.len() {
            0 => "no participant".to_string(),
            1 => format!("1 participant ({})", witnesses.iter().next().expect("one")),
            n => format!("{n} participants ({})", witnesses.iter().cloned().collect::<Vec<_>>().join(", ")),
        };
        fault(Fault::Quorum, format!("{name} is cosigned by {by}, the quorum is {quorum}"));
    }
    Judgement { witnesses, problems, quorum }
}

/// Gossip on a network's checkpoint topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointGossip {
    /// A signed checkpoint with the cosignatures the sender holds: the
    /// writer sends it bare, each witness with its own cosignature added.
    Checkpoint {
        /// The signed checkpoint's wire bytes.
        checkpoint: HexBytes,
        /// Cosignatures gathered, at most [`MAX_COSIGNATURES`].
        cosignatures: Vec<Cosignature>,
    },
    /// Evidence that a log's writer signed what cannot be true.
    Fraud(Fraud),
}

/// Fraud evidence about a log's writer. Either freezes the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fraud {
    /// Two checkpoints of one log at one size with different roots: two
    /// views of the log. Anyone can check this with no log at hand.
    SplitView {
        /// One signed checkpoint's wire bytes.
        first: HexBytes,
        /// The other's, same log and size, another root.
        second: HexBytes,
    },
    /// A checkpoint whose root is not the root of the log that ends at the
    /// writer's own signed entry `entry` (at position `size`). A node that
    /// holds that entry checks the root against its own tree; a writer that
    /// signs two inconsistent checkpoints always signs at least one of these.
    WrongRoot {
        /// The signed checkpoint's wire bytes.
        checkpoint: HexBytes,
        /// Wire bytes of the writer's own entry at the checkpoint's size.
        entry: HexBytes,
    },
}

/// What a fraud claim says, once its signatures are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FraudClaim {
    /// Proven by the two checkpoints alone.
    Proven {
        /// Key of the convicted writer: the log to freeze.
        log: PublicKey,
    },
    /// Proven if the tree of this log at `size`, ending at entry `entry`,
    /// does not have root `claimed`: for a node that holds the log.
    AgainstLog {
        /// Key of the accused writer.
        log: PublicKey,
        /// The checkpoint's size: the position of `entry`.
        size: u64,
        /// Id of the writer's entry at `size`, as the claim carries it.
        entry: Hash32,
        /// The root the checkpoint claims for the log at `size`.
        claimed: Hash32,
    },
}

/// Why a fraud claim proves nothing: a checkpoint or entry that does not
/// parse or verify, of another network, or that does not show what the
/// claim says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FraudError {
    /// A refusal code (`R9.malformed`, `R1.bad_signature`,
    /// `R2.wrong_network`) or `fraud.not_proven` / `fraud.entry`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

fn fraud_error(code: &'static str, message: impl Into<String>) -> FraudError {
    FraudError { code, message: message.into() }
}

impl Fraud {
    /// The log size the evidence names: the two views it proves part at or
    /// before it, so the log freezes before it (R3). None if a checkpoint
    /// does not parse, which [`Fraud::check`] refuses first.
    pub fn size(&self) -> Option<u64> {
        let b = match self {
            Fraud::SplitView { first, .. } => first,
            Fraud::WrongRoot { checkpoint, .. } => checkpoint,
        };
        SignedCheckpoint::parse(b.0.clone()).ok().map(|c| c.checkpoint().size)
    }

    /// Check the signatures and what can be checked without the log.
    pub fn check(&self, network: &str) -> Result<FraudClaim, FraudError> {
        let parse = |b: &HexBytes| -> Result<SignedCheckpoint, FraudError> {
            let cp = SignedCheckpoint::parse(b.0.clone()).map_err(|e| fraud_error(e.code(), e.to_string()))?;
            cp.verify().map_err(|e| fraud_error(e.code(), e.to_string()))?;
            if cp.checkpoint.network != network {
                return Err(fraud_error(codes::R2_WRONG_NETWORK, "checkpoint is for another network"));
            }
            Ok(cp)
        };
        match self {
            Fraud::SplitView { first, second } => {
                let (a, b) = (parse(first)?, parse(second)?);
                let (x, y) = (a.checkpoint(), b.checkpoint());
                if x.log != y.log || x.size != y.size || x.root == y.root {
                    return Err(fraud_error(
                        "fraud.not_proven",
                        "a split view needs two checkpoints of one log at one size with different roots",
                    ));
                }
                Ok(FraudClaim::Proven { log: x.log })
            }
            Fraud::WrongRoot { checkpoint, entry } => {
                let cp = parse(checkpoint)?;
                let e = SignedEntry::parse(entry.0.clone()).map_err(|r| fraud_error("fraud.entry", r.to_string()))?;
                e.verify().map_err(|r| fraud_error("fraud.entry", r.to_string()))?;
                let c = cp.checkpoint();
                if e.entry().author != c.log || e.entry().seq != c.size {
                    return Err(fraud_error(
                        "fraud.not_proven",
                        "the entry must be the writer's own, at the checkpoint's size",
                    ));
                }
                Ok(FraudClaim::AgainstLog { log: c.log, size: c.size, entry: e.hash(), claimed: c.root })
            }
        }
    }

    /// An id for storing and showing the evidence.
    pub fn id(&self) -> Hash32 {
        crypto::sha256(&[b"kpledger/v1/fraud\0", &encoding::encode(self)])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_quorums_always_share_an_honest_witness_and_the_honest_alone_make_one() {
        for n in 1..=64usize {
            let (q, f) = (super::min_quorum(n), super::tolerated_faults(n));
            assert!(2 * q > n + f, "n={n}: two quorums of {q} share {} witnesses, {f} may be faulty", 2 * q - n);
            assert!(q <= n - f, "n={n}: {} honest witnesses cannot make a quorum of {q}", n - f);
            assert!(3 * f < n, "n={n}: {f} faulty is a third or more");
        }
        assert_eq!((super::min_quorum(4), super::tolerated_faults(4)), (3, 1), "the five-participant demo");
    }

    use super::*;

    fn cp(key: &Keypair, size: u64, root: u8) -> SignedCheckpoint {
        SignedCheckpoint::sign(
            Checkpoint { network: "net".into(), log: key.public(), size, root: Hash32([root; 32]), timestamp_ms: 5 },
            key,
        )
    }

    #[test]
    fn signed_checkpoints_round_trip_and_any_flipped_bit_fails() {
        let k = Keypair::from_seed([3; 32]);
        let c = cp(&k, 10, 1);
        let parsed = SignedCheckpoint::parse(c.bytes().to_vec()).unwrap();
        assert_eq!(parsed, c);
        assert_eq!(parsed.verify(), Ok(()));
        assert_eq!(parsed.id(), c.id());
        for bit in 0..c.bytes().len() * 8 {
            let mut b = c.bytes().to_vec();
            b[bit / 8] ^= 1 << (bit % 8);
            let ok = SignedCheckpoint::parse(b).map(|p| p.verify().is_ok()).unwrap_or(false);
            assert!(!ok, "bit {bit} flipped still verifies");
        }
        let mut padded = c.bytes().to_vec();
        padded.insert(0, 0);
        assert!(SignedCheckpoint::parse(padded).map(|p| p.verify().is_err()).unwrap_or(true));
        assert_eq!(SignedCheckpoint::parse(vec![0; 600]).unwrap_err().code(), codes::R9_TOO_LARGE);
    }

    #[test]
    fn cosignatures_bind_the_exact_checkpoint() {
        let (k, w) = (Keypair::from_seed([3; 32]), Keypair::from_seed([4; 32]));
        let (a, b) = (cp(&k, 10, 1), cp(&k, 10, 2));
        let s = a.cosign(&w);
        assert_eq!(s.verify(&a), Ok(()));
        assert_eq!(s.verify(&b), Err(SignatureError::BadSignature));
        // A cosignature is not a checkpoint signature, nor the other way.
        let as_cp = Cosignature {
            witness: k.public(),
            signature: SignatureBytes(a.bytes()[a.bytes().len() - 64..].try_into().unwrap()),
        };
        assert!(as_cp.verify(&a).is_err());
    }

    #[test]
    fn witnesses_are_independent_of_the_writer() {
        use crate::model::{Monitor, NodeInfo, Participant, Roster};
        let k = |i: u8| Keypair::from_seed([i; 32]).public();
        let node = |id: &str| NodeInfo { peer_id: id.into(), addrs: vec![] };
        let p = |code: &str, i: u8, nodes: Vec<NodeInfo>| Participant {
            code: code.into(),
            name: code.into(),
            authority: k(i),
            zone_regime: false,
            nodes,
        };
        let roster = Roster {
            network: "net".into(),
            version: 1,
            chair: k(1),
            participants: vec![p("CF", 2, vec![node("a")]), p("BW", 3, vec![node("b")]), p("EU", 4, vec![node("c")])],
            monitors: vec![
                Monitor { id: "MT-CF".into(), name: "m".into(), key: k(5), scope: vec!["CF".into()], nodes: vec![] },
                Monitor { id: "MT-X".into(), name: "x".into(), key: k(6), scope: vec![], nodes: vec![node("b")] },
            ],
            observers: vec![],
        };
        let net = NetworkState::from_roster(&roster, Hash32::ZERO);
        let codes =
            |log: PublicKey| -> Vec<Option<&str>> { (1..=6).map(|i| witness_code(&net, &log, &k(i))).collect() };
        // Only authorities witness; never of their own log.
        assert_eq!(codes(k(2)), vec![None, None, Some("BW"), Some("EU"), None, None]);
        // A monitor's log: not by the participants it monitors, nor by one
        // whose node runs it.
        assert_eq!(codes(k(5)), vec![None, None, Some("BW"), Some("EU"), None, None]);
        assert_eq!(codes(k(6)), vec![None, Some("CF"), None, Some("EU"), None, None]);
        assert_eq!(codes(k(1)), vec![None, Some("CF"), Some("BW"), Some("EU"), None, None]);
        assert_eq!(codes(k(9)), vec![None; 6], "no one witnesses a key outside the roster");
    }

    #[test]
    fn a_suspended_participant_does_not_witness() {
        use crate::model::{Participant, Roster};
        let k = |i: u8| Keypair::from_seed([i; 32]);
        let p = |code: &str, i: u8| Participant {
            code: code.into(),
            name: code.into(),
            authority: k(i).public(),
            zone_regime: false,
            nodes: vec![],
        };
        let roster = Roster {
            network: "net".into(),
            version: 1,
            chair: k(1).public(),
            participants: vec![p("CF", 2), p("BW", 3), p("EU", 4), p("IN", 5)],
            monitors: vec![],
            observers: vec![],
        };
        let mut net = NetworkState::from_roster(&roster, Hash32::ZERO);
        let log = k(2).public();
        let c = cp(&k(2), 10, 1);
        let cosigs: Vec<Cosignature> = [3, 4, 5].iter().map(|i| c.cosign(&k(*i))).collect();
        let codes = |net: &NetworkState| valid_witnesses(net, &c, &cosigs).into_iter().collect::<Vec<_>>();
        assert_eq!(codes(&net), vec!["BW", "EU", "IN"]);
        net.participants.get_mut("BW").unwrap().suspended = true;
        assert_eq!(witness_code(&net, &log, &k(3).public()), None);
        assert_eq!(independent_witness(&net, &log, &k(3).public()), Some("BW"), "suspended, still independent");
        assert_eq!(codes(&net), vec!["EU", "IN"], "BW's cosignature counts toward no quorum");
        net.participants.get_mut("BW").unwrap().suspended = false;
        assert_eq!(codes(&net), vec!["BW", "EU", "IN"], "reinstated, it counts again");
    }

    #[test]
    fn a_configured_quorum_below_the_rule_or_above_a_witness_count_is_refused() {
        use crate::model::{Monitor, Participant, Roster};
        let k = |i: u8| Keypair::from_seed([i; 32]).public();
        let p = |code: &str, i: u8| Participant {
            code: code.into(),
            name: code.into(),
            authority: k(i),
            zone_regime: false,
            nodes: vec![],
        };
        let roster = Roster {
            network: "net".into(),
            version: 1,
            chair: k(1),
            participants: vec![p("CF", 2), p("BW", 3), p("EU", 4), p("AE", 5), p("IN", 6)],
            monitors: vec![Monitor {
                id: "MT-CF".into(),
                name: "m".into(),
                key: k(7),
                scope: vec!["CF".into()],
                nodes: vec![],
            }],
            observers: vec![],
        };
        let mut net = NetworkState::from_roster(&roster, Hash32::ZERO);
        // Each participant's log and the monitor's: four witnesses, 3 of them.
        assert_eq!((witness_count(&net, &k(2)), quorum(&net, &k(2), 0)), (4, 3));
        assert_eq!((witness_count(&net, &k(7)), quorum(&net, &k(7), 0)), (4, 3));
        // The chair's log: all five, 4 of them.
        assert_eq!((witness_count(&net, &k(1)), quorum(&net, &k(1), 0)), (5, 4));
        assert_eq!(quorum(&net, &k(2), 4), 4, "a verifier may ask for more");
        assert_eq!(quorum(&net, &k(2), 2), 3, "never for less");
        assert_eq!(check_quorum(&net, 0), Ok(()), "unset: the rule applies to every log");
        let low = check_quorum(&net, 2).unwrap_err();
        assert!(low.contains("too small") && low.contains("from 3 on"), "{low}");
        // 4 is what the chair's log needs, and every log can reach it.
        assert_eq!(check_quorum(&net, 4), Ok(()));
        let high = check_quorum(&net, 5).unwrap_err();
        assert!(high.contains("never be reached"), "{high}");
        // A suspended participant witnesses nothing: BW's suspension leaves
        // CF's log three witnesses, and a quorum of 2.
        net.participants.get_mut("BW").unwrap().suspended = true;
        assert_eq!((witness_count(&net, &k(2)), quorum(&net, &k(2), 0)), (3, 2));
    }

    #[test]
    fn split_views_prove_themselves() {
        let (k, other) = (Keypair::from_seed([3; 32]), Keypair::from_seed([4; 32]));
        let hex = |c: &SignedCheckpoint| HexBytes(c.bytes().to_vec());
        let f = Fraud::SplitView { first: hex(&cp(&k, 10, 1)), second: hex(&cp(&k, 10, 2)) };
        assert_eq!(f.check("net"), Ok(FraudClaim::Proven { log: k.public() }));
        assert_eq!(f.check("other").unwrap_err().code, codes::R2_WRONG_NETWORK);
        for (a, b) in
            [(cp(&k, 10, 1), cp(&k, 10, 1)), (cp(&k, 10, 1), cp(&k, 11, 2)), (cp(&k, 10, 1), cp(&other, 10, 2))]
        {
            let f = Fraud::SplitView { first: hex(&a), second: hex(&b) };
            assert_eq!(f.check("net").unwrap_err().code, "fraud.not_proven");
        }
        let mut forged = cp(&k, 10, 2).into_bytes();
        forged[20] ^= 1;
        let f = Fraud::SplitView { first: hex(&cp(&k, 10, 1)), second: HexBytes(forged) };
        assert!(f.check("net").is_err());
    }
}
