//! Messages between nodes (docs/PROTOCOL.md). Gossip carries entry wire bytes
//! as they are; catch-up sync exchanges these request and response types,
//! encoded with [`crate::encoding`] behind a 4-byte big-endian length.

use crate::bytes::{Hash32, PublicKey};
use crate::model::HexBytes;
use serde::{Deserialize, Serialize};

/// Largest sync request on the wire.
pub const MAX_SYNC_REQUEST: usize = 4 * 1024;
/// Largest sync response on the wire (the decoder's own limit is 1 MiB).
pub const MAX_SYNC_RESPONSE: usize = crate::encoding::MAX_DECODE_BYTES;
/// Most entries in one page.
pub const MAX_PAGE_ENTRIES: u32 = 1024;

/// A catch-up request on [`SYNC_PROTOCOL`]. On the wire, the variant's `u32`
/// tag (in this order, from 0) and then its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// The tip of every log the peer holds.
    Heads,
    /// Entries `from..` of one log, at most `limit` (capped at
    /// [`MAX_PAGE_ENTRIES`]) and at most [`MAX_SYNC_RESPONSE`] bytes.
    Page {
        /// Key of the log's author.
        author: PublicKey,
        /// First position asked for; 0 counts as 1.
        from: u64,
        /// Most entries wanted.
        limit: u32,
    },
    /// Entries in the order the peer accepted them, from its acceptance
    /// index `index`: each entry comes after everything it depends on, so a
    /// node catching up can take them in sequence.
    Since {
        /// The responder's acceptance index to start from, 0 for its first
        /// entry: the `next` of its previous answer.
        index: u64,
        /// Most entries wanted, capped at [`MAX_PAGE_ENTRIES`].
        limit: u32,
    },
    /// The newest checkpoint of every log the peer holds, with every
    /// cosignature it knows: what a node that was away missed of them.
    Checkpoints,
    /// Both entries of every equivocation the peer keeps as evidence.
    Equivocations,
    /// The entries the peer keeps as withdrawn from frozen logs (beyond a
    /// freeze point): entries of other logs that name one are void.
    Withdrawn,
}

/// One log's head in a `Heads` answer: 72 bytes on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    /// Key of the log's author.
    pub author: PublicKey,
    /// Position of the last entry held; never beyond a frozen log's freeze
    /// point, and 0 for a frozen log of which no entry is held.
    pub seq: u64,
    /// Id of that entry; zero when `seq` is 0.
    pub hash: Hash32,
}

/// The answer to a [`SyncRequest`]. On the wire, the variant's `u32` tag
/// (in this order, from 0) and then its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// Answer to `Heads`: one per log the responder holds, in no particular
    /// order.
    Heads(Vec<LogHead>),
    /// Wire bytes of consecutive entries of the log asked for.
    Page(Vec<HexBytes>),
    /// The request could not be served.
    Error(String),
    /// Answer to `Since`: entries, and the index to ask from next.
    Ordered {
        /// Entry wire bytes, in the responder's acceptance order; empty
        /// when the asker has everything.
        entries: Vec<HexBytes>,
        /// The index to ask from next. Withdrawn entries leave their
        /// indices empty, so it is to be taken as given, never computed.
        next: u64,
    },
    /// Answer to `Checkpoints`: fraud evidence, then checkpoints.
    Checkpoints(Vec<crate::checkpoint::CheckpointGossip>),
    /// Answer to `Equivocations`: entry wire bytes, in pairs (the entry the
    /// peer's log holds, then the other one).
    Equivocations(Vec<HexBytes>),
    /// Answer to `Withdrawn`: entry wire bytes, at most
    /// [`MAX_SYNC_RESPONSE`] bytes of them.
    Withdrawn(Vec<HexBytes>),
}

impl SyncResponse {
    /// The variant's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncResponse::Heads(_) => "heads",
            SyncResponse::Page(_) => "page",
            SyncResponse::Error(_) => "error",
            SyncResponse::Ordered { .. } => "ordered",
            SyncResponse::Checkpoints(_) => "checkpoints",
            SyncResponse::Equivocations(_) => "equivocations",
            SyncResponse::Withdrawn(_) => "withdrawn",
        }
    }
}

/// The gossipsub topic of a network's entries.
pub fn entries_topic(network: &str) -> String {
    format!("/kpledger/{network}/entries/1")
}

/// The gossipsub topic of a network's checkpoints, cosignatures and fraud
/// evidence ([`crate::checkpoint::CheckpointGossip`]).
pub fn checkpoints_topic(network: &str) -> String {
    format!("/kpledger/{network}/checkpoints/1")
}

/// The request-response protocol id of catch-up sync.
pub const SYNC_PROTOCOL: &str = "/kpledger/sync/1";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{decode, encode};

    #[test]
    fn sync_messages_round_trip_with_stable_tags() {
        let req = SyncRequest::Page { author: PublicKey([7; 32]), from: 3, limit: 100 };
        let bytes = encode(&req);
        // Variant index as u32 little-endian first: 1 = Page.
        assert_eq!(&bytes[..4], &[1, 0, 0, 0]);
        assert_eq!(bytes.len(), 4 + 32 + 8 + 4);
        assert_eq!(decode::<SyncRequest>(&bytes).unwrap(), req);
        assert_eq!(encode(&SyncRequest::Heads), vec![0, 0, 0, 0]);
        // The worked bytes of docs/PROTOCOL.md.
        let since = SyncRequest::Since { index: 3, limit: 1024 };
        assert_eq!(hex::encode(encode(&since)), "02000000030000000000000000040000");
        let ordered = SyncResponse::Ordered { entries: vec![], next: 3 };
        assert_eq!(hex::encode(encode(&ordered)), "0300000000000000000000000300000000000000");
        assert_eq!(decode::<SyncResponse>(&encode(&ordered)).unwrap(), ordered);
        assert_eq!(encode(&SyncRequest::Checkpoints), vec![3, 0, 0, 0]);
        assert_eq!(encode(&SyncRequest::Equivocations), vec![4, 0, 0, 0]);
        assert_eq!(&encode(&SyncResponse::Equivocations(vec![]))[..4], &[5, 0, 0, 0]);
        // The `Withdrawn` rows of docs/PROTOCOL.md, section 5 (frame bodies).
        assert_eq!(hex::encode(encode(&SyncRequest::Withdrawn)), "05000000");
        assert_eq!(hex::encode(encode(&SyncResponse::Withdrawn(vec![]))), "060000000000000000000000");
        let cps = SyncResponse::Checkpoints(vec![]);
        assert_eq!(hex::encode(encode(&cps)), "040000000000000000000000");
        let resp = SyncResponse::Page(vec![HexBytes(vec![1, 2, 3])]);
        assert_eq!(decode::<SyncResponse>(&encode(&resp)).unwrap(), resp);
    }
}
