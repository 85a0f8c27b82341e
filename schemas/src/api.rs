//! Bodies of the HTTP API, shared by the node and the client. Their JSON
//! Schemas are generated into `schemas/json/`.

use crate::bytes::{Hash32, PublicKey, SignatureBytes};
use crate::codes::Refusal;
use crate::model::{Body, Governance, HexBytes, Record, SignedRoster};
use crate::rules::Equivocation;
use crate::state::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/records`: a licensee-signed record for the node to countersign.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRecord {
    /// Canonical bytes of a `Record`.
    pub record: HexBytes,
    /// The licensee's Ed25519 signature over
    /// `kpledger/v1/record\0 || record` (R1).
    pub signature: SignatureBytes,
}

/// `POST /v1/entries`: an entry already signed by its author.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitEntry {
    /// Wire bytes: canonical entry bytes followed by the signature.
    pub entry: HexBytes,
}

/// `POST /v1/actions` (cookie authentication): the node signs `body` into
/// the log of the key named by `as`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// A participant code, a monitor id, or `chair`. May be left out when
    /// the node holds exactly one key that may write this body.
    #[serde(rename = "as", default)]
    pub as_author: Option<String>,
    /// The body to sign. The node names the entry's context itself, sets a
    /// zone status's `previous`, and fills a suspension's or
    /// reinstatement's `from` of 0 with the position after the
    /// participant's log head (`context::complete_body`).
    pub body: Body,
}

/// The answer to an accepted submission.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Submitted {
    /// The entry's id.
    pub hash: Hash32,
    /// Key of the log it is in.
    pub author: PublicKey,
    /// That log's name: `CF authority`, a monitor id, or `chair`.
    pub author_name: String,
    /// Its position in that log.
    pub seq: u64,
    /// The entry was already in the log.
    pub duplicate: bool,
    /// Accepted, but flagged (for example an R7 mismatch).
    pub flags: Vec<String>,
}

/// Every error the API returns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ApiError {
    /// Stable code; starts with the rule id where a rule applies.
    pub code: String,
    /// `R1`..`R9`, or null for errors that are not rule refusals.
    pub rule: Option<String>,
    /// What went wrong, for a person to read; not stable.
    pub message: String,
}

impl ApiError {
    /// An error with `code`, whose `rule` is the code's rule id if it starts
    /// with one (`R5.overspend` is R5), else none.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        let rule = code
            .split('.')
            .next()
            .filter(|r| r.len() == 2 && r.starts_with('R') && r.as_bytes()[1].is_ascii_digit())
            .map(str::to_string);
        Self { code: code.to_string(), rule, message: message.into() }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(&r.code, r.message)
    }
}

/// `GET /v1/entries/{hash}`: one entry, decoded for reading, with its wire
/// bytes, which are what counts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EntryView {
    /// The entry's id: `SHA-256(0x00 || bytes)`.
    pub hash: Hash32,
    /// Key of its author, whose log it is in.
    pub author: PublicKey,
    /// That log's name: `CF authority`, a monitor id, or `chair`.
    pub author_name: String,
    /// Its position in the log, from 1.
    pub seq: u64,
    /// Id of the log's previous entry, zero for the first (R3).
    pub prev: Hash32,
    /// The author's timestamp, Unix milliseconds.
    pub timestamp_ms: u64,
    /// What the entry records.
    pub body: Body,
    /// The licensee record inside a countersigned entry, decoded.
    pub record: Option<Record>,
    /// The wire bytes: canonical entry bytes, then the author's signature.
    /// The entry's context is only in them.
    pub bytes: HexBytes,
}

/// `GET /v1/logs/{author}`: a page of one log, in log order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LogPage {
    /// Key of the log's author.
    pub author: PublicKey,
    /// Entries from the position asked for, at most the limit asked for.
    pub entries: Vec<EntryView>,
    /// Sequence number to ask for next, if there is more.
    pub next: Option<u64>,
}

/// `GET /v1/logs`: one log's head as this node holds it (its last synced
/// write).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HeadView {
    /// Key of the log's author.
    pub author: PublicKey,
    /// The log's name: `CF authority`, a monitor id, or `chair`.
    pub name: String,
    /// Position, id, timestamp of its last entry, and whether it is frozen.
    pub head: Head,
}

/// `GET /v1/status`: what a node is and holds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Status {
    /// The network id.
    pub network: String,
    /// Hash of the signed roster the node runs with.
    pub roster_hash: Hash32,
    /// The kp-node version.
    pub version: String,
    /// Logs this node writes.
    pub writes: Vec<String>,
    /// Every log's head as this node holds it.
    pub logs: Vec<HeadView>,
    /// Entries in the logs: those withdrawn from a frozen log since they
    /// were accepted are not counted.
    pub entries: u64,
    /// Every equivocation kept as evidence (R3).
    pub evidence: Vec<Equivocation>,
    /// This node's own logs it signs nothing into yet: it has not yet
    /// heard from a peer how far each goes, or does not hold that far yet
    /// (`api.catching_up`). Empty once the node may write every log it
    /// holds the key of.
    #[serde(default)]
    pub catching_up: Vec<CatchingUpView>,
}

/// One of a node's own logs it does not write yet: a log moved to a new
/// machine, or restored from a backup, is written again only from its head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CatchingUpView {
    /// Key of the log's author, held by this node.
    pub author: PublicKey,
    /// The log's name: `CF authority`, a monitor id, or `chair`.
    pub name: String,
    /// Position of the log's last entry held here; 0 for none.
    pub held: u64,
    /// The head a peer reported, which the log must reach here first;
    /// none until a peer has answered.
    pub target: Option<u64>,
}

/// `GET /v1/lots/{participant}/{lot}`: a lot as the logs have made it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LotView {
    /// The lot's derived state.
    pub lot: LotState,
    /// The holder's registered name, if the holder is a licensee known here.
    pub holder_name: Option<String>,
}

/// `GET /v1/peers`: the node's place in the peer-to-peer network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct PeerStatus {
    /// This node's libp2p peer id; empty when it runs without a network.
    pub peer_id: String,
    /// Multiaddresses the node listens on.
    pub listening: Vec<String>,
    /// Peer ids of the peers connected now.
    pub connected: Vec<String>,
    /// Entries waiting for what they depend on.
    pub pending: usize,
    /// Entries stored from catch-up sync since start.
    pub synced_entries: u64,
    /// Gossiped entries accepted for forwarding since start.
    pub gossip_accepted: u64,
    /// Gossiped entries rejected (refused by a rule) since start.
    pub gossip_rejected: u64,
}

/// `GET /v1/logs/{author}/checkpoints`: a checkpoint with the cosignatures
/// this node holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckpointView {
    /// Hash of the signed checkpoint bytes.
    pub id: Hash32,
    /// Key of the log's writer, who signed the checkpoint.
    pub log: PublicKey,
    /// The log's name: `CF authority`, a monitor id, or `chair`.
    pub log_name: String,
    /// Number of entries the checkpoint covers, positions `1..=size`.
    pub size: u64,
    /// RFC 6962 root of the log's tree at `size`.
    pub root: Hash32,
    /// When the writer signed it, Unix milliseconds.
    pub timestamp_ms: u64,
    /// Cosigned by at least `quorum` other participants.
    pub witnessed: bool,
    /// Participant codes whose cosignatures verify.
    pub witnesses: Vec<String>,
    /// Cosignatures needed: the log's intersecting quorum, or the node's
    /// configured one if higher. The node's account, for display only.
    pub quorum: usize,
    /// Every cosignature this node holds for the checkpoint.
    pub cosignatures: Vec<crate::checkpoint::Cosignature>,
    /// Signed checkpoint wire bytes: checkpoint bytes, then the signature.
    pub bytes: HexBytes,
}

/// `GET /v1/proofs/inclusion`: an entry's audit path in its log's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InclusionProof {
    /// Key of the log's writer.
    pub log: PublicKey,
    /// The log's name.
    pub log_name: String,
    /// The entry's id: the tree's leaf hash.
    pub entry: Hash32,
    /// The entry's position in the log.
    pub seq: u64,
    /// `seq - 1`.
    pub leaf_index: u64,
    /// Size of the tree the proof is against.
    pub tree_size: u64,
    /// Root of the log's tree at `tree_size`.
    pub root: Hash32,
    /// The audit path (RFC 6962), from the leaf up.
    pub proof: Vec<Hash32>,
    /// The checkpoint signed at `tree_size`, if there is one.
    pub checkpoint: Option<CheckpointView>,
}

/// `GET /v1/proofs/consistency`: the tree at `size2` extends the tree at `size1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConsistencyProof {
    /// Key of the log's writer.
    pub log: PublicKey,
    /// The log's name.
    pub log_name: String,
    /// The smaller size, at least 1.
    pub size1: u64,
    /// The larger size, at most the log's size here.
    pub size2: u64,
    /// Root of the log's tree at `size1`.
    pub root1: Hash32,
    /// Root of the log's tree at `size2`.
    pub root2: Hash32,
    /// The consistency proof (RFC 6962) from `size1` to `size2`.
    pub proof: Vec<Hash32>,
}

/// `GET /v1/evidence/checkpoints`: fraud evidence against a log's writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FraudView {
    /// The evidence's id: `SHA-256("kpledger/v1/fraud\0" || Fraud bytes)`.
    pub id: Hash32,
    /// Key of the convicted writer, whose log is frozen.
    pub log: PublicKey,
    /// The log's name.
    pub log_name: String,
    /// The evidence itself: the signed checkpoints (and entry) that prove it.
    pub fraud: crate::checkpoint::Fraud,
}

/// `GET /v1/roster`: every roster version this node holds, from the signed
/// genesis roster to the one in force. A version is the network as one
/// governance entry of the chair's log left it; each names the one before
/// by its hash, so the list is one chain from the genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RosterChain {
    /// The signed genesis roster, as `GET /v1/roster/genesis` answers it:
    /// the file nodes start from and `kp verify --roster` reads.
    pub genesis: SignedRoster,
    /// Every version, the genesis first and the one in force last.
    pub versions: Vec<RosterVersion>,
}

/// One roster version of a [`RosterChain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RosterVersion {
    /// Its number: the genesis roster's `version`, then one more per
    /// governance entry.
    pub version: u64,
    /// Its hash ([`NetworkState::version_hash`]): the genesis roster's hash
    /// for the genesis.
    pub hash: Hash32,
    /// The hash of the version before it; none for the genesis.
    pub previous: Option<Hash32>,
    /// The governance entry that made it; none for the genesis.
    pub decided_by: Option<Hash32>,
    /// What that governance entry did; none for the genesis.
    pub change: Option<Governance>,
    /// When the chair signed that entry, Unix milliseconds; none for the
    /// genesis.
    pub timestamp_ms: Option<u64>,
    /// The network as this version has it: participants with their keys,
    /// nodes, conditions and suspensions, monitors, retired keys.
    pub network: NetworkState,
}

impl RosterChain {
    /// What a client can check without the governance entries themselves:
    /// the genesis roster verifies, the first version is it, every version
    /// hashes to its `hash` and names the one before, one number later.
    /// Whether each change follows from the rules is for a verifier that
    /// replays the signed entries (`kp verify BUNDLE`).
    pub fn check(&self) -> Result<(), String> {
        let (_, genesis_hash) =
            crate::roster::verify(&self.genesis).map_err(|e| format!("the genesis roster does not verify: {e}"))?;
        let first = self.versions.first().ok_or("the chain has no version, not even the genesis")?;
        if first.hash != genesis_hash || first.previous.is_some() || first.decided_by.is_some() {
            return Err(format!("the first version is not the genesis roster {genesis_hash}"));
        }
        for (i, v) in self.versions.iter().enumerate() {
            let n = &v.network;
            if (n.version, n.decided_by, n.previous) != (v.version, v.decided_by, v.previous) {
                return Err(format!("version {}: its network says otherwise", v.version));
            }
            if n.version_hash() != v.hash {
                return Err(format!("version {}: its network does not hash to {}", v.version, v.hash));
            }
            if let Some(before) = i.checked_sub(1).map(|j| &self.versions[j])
                && (v.previous != Some(before.hash) || v.version != before.version + 1 || v.decided_by.is_none())
            {
                return Err(format!("version {} does not follow version {}", v.version, before.version));
            }
        }
        Ok(())
    }
}
