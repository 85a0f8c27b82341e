//! Bodies of the HTTP API, shared by the node and the client. Their JSON
//! Schemas are generated into `schemas/json/`.

use crate::bytes::{Hash32, PublicKey, SignatureBytes};
use crate::codes::Refusal;
use crate::model::{Body, HexBytes, Record};
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
    pub body: Body,
}

/// The answer to an accepted submission.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Submitted {
    pub hash: Hash32,
    pub author: PublicKey,
    pub author_name: String,
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
    pub message: String,
}

impl ApiError {
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

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EntryView {
    pub hash: Hash32,
    pub author: PublicKey,
    pub author_name: String,
    pub seq: u64,
    pub prev: Hash32,
    pub timestamp_ms: u64,
    pub body: Body,
    /// The licensee record inside a countersigned entry, decoded.
    pub record: Option<Record>,
    pub bytes: HexBytes,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LogPage {
    pub author: PublicKey,
    pub entries: Vec<EntryView>,
    /// Sequence number to ask for next, if there is more.
    pub next: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HeadView {
    pub author: PublicKey,
    pub name: String,
    pub head: Head,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Status {
    pub network: String,
    pub roster_hash: Hash32,
    pub version: String,
    /// Logs this node writes.
    pub writes: Vec<String>,
    pub logs: Vec<HeadView>,
    /// Entries in the logs: those withdrawn from a frozen log since they
    /// were accepted are not counted.
    pub entries: u64,
    pub evidence: Vec<Equivocation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LotView {
    pub lot: LotState,
    pub holder_name: Option<String>,
}

/// `GET /v1/peers`: the node's place in the peer-to-peer network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct PeerStatus {
    /// This node's libp2p peer id; empty when it runs without a network.
    pub peer_id: String,
    pub listening: Vec<String>,
    pub connected: Vec<String>,
    /// Entries waiting for what they depend on.
    pub pending: usize,
    /// Entries stored from catch-up sync since start.
    pub synced_entries: u64,
    pub gossip_accepted: u64,
    pub gossip_rejected: u64,
}

/// `GET /v1/logs/{author}/checkpoints`: a checkpoint with the cosignatures
/// this node holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckpointView {
    /// Hash of the signed checkpoint bytes.
    pub id: Hash32,
    pub log: PublicKey,
    pub log_name: String,
    pub size: u64,
    pub root: Hash32,
    pub timestamp_ms: u64,
    /// Cosigned by at least `quorum` other participants.
    pub witnessed: bool,
    /// Participant codes whose cosignatures verify.
    pub witnesses: Vec<String>,
    pub quorum: usize,
    pub cosignatures: Vec<crate::checkpoint::Cosignature>,
    /// Signed checkpoint wire bytes: checkpoint bytes, then the signature.
    pub bytes: HexBytes,
}

/// `GET /v1/proofs/inclusion`: an entry's audit path in its log's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InclusionProof {
    pub log: PublicKey,
    pub log_name: String,
    pub entry: Hash32,
    pub seq: u64,
    /// `seq - 1`.
    pub leaf_index: u64,
    pub tree_size: u64,
    pub root: Hash32,
    pub proof: Vec<Hash32>,
    /// The checkpoint signed at `tree_size`, if there is one.
    pub checkpoint: Option<CheckpointView>,
}

/// `GET /v1/proofs/consistency`: the tree at `size2` extends the tree at `size1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConsistencyProof {
    pub log: PublicKey,
    pub log_name: String,
    pub size1: u64,
    pub size2: u64,
    pub root1: Hash32,
    pub root2: Hash32,
    pub proof: Vec<Hash32>,
}

/// `GET /v1/evidence/checkpoints`: fraud evidence against a log's writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FraudView {
    pub id: Hash32,
    pub log: PublicKey,
    pub log_name: String,
    pub fraud: crate::checkpoint::Fraud,
}
