//! What arrives by gossip. An entry is judged by the writer before it travels
//! further: accepted (or already known) entries are forwarded, invalid ones
//! rejected, and entries whose dependencies have not arrived wait in the
//! sync machine's pending pool while a sync pulls them. A checkpoint message
//! goes to the witness, which checks it against this node's copy of the log.
//! Both are judged off the event loop; the loop reports the verdict to
//! gossipsub, which forwards only what was accepted.

use crate::ingest::{Submission, WriterHandle};
use crate::outcome::{Outcome, SubmitError};
use crate::witness::{self, Witness};
use kp_schemas::checkpoint::CheckpointGossip;
use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use std::sync::Arc;

/// A gossiped entry as the writer judged it.
pub(super) struct Judged {
    pub id: MessageId,
    pub source: PeerId,
    pub bytes: Vec<u8>,
    pub result: Result<Outcome, SubmitError>,
}

/// A checkpoint message as the witness judged it, with what it asks to
/// publish (this node's cosignature, fraud evidence).
pub(super) struct Witnessed {
    /// The gossip message judged; none for checkpoints pulled by sync.
    pub id: Option<MessageId>,
    pub source: PeerId,
    pub verdict: witness::Verdict,
    pub publish: Vec<CheckpointGossip>,
}

/// What becomes of a judged entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Forward it: new, already known, or evidence every node must see.
    Forward,
    /// Do not forward it, and hold nothing against the peer.
    Drop,
    /// It waits for an entry not here yet: keep it and sync.
    Wait,
    /// Invalid: the peer that sent it is penalised by gossipsub.
    Reject,
}

impl Fate {
    pub fn of(result: &Result<Outcome, SubmitError>) -> Self {
        match result {
            Ok(Outcome::Stored(_) | Outcome::Duplicate(_)) => Fate::Forward,
            // Evidence of equivocation must reach every honest node, and so
            // must an entry withdrawn from a frozen log, which other logs'
            // entries may name: each is kept once, so forwarded once.
            Ok(Outcome::Evidence { .. }) => Fate::Forward,
            Ok(Outcome::Withdrawn { new: true, .. }) => Fate::Forward,
            Ok(Outcome::Withdrawn { new: false, .. }) => Fate::Drop,
            Err(SubmitError::Refused(r)) if r.is_missing_dependency() => Fate::Wait,
            Err(SubmitError::Refused(_)) => Fate::Reject,
            // The node's own trouble (storage, shutting down): not the peer's.
            Err(_) => Fate::Drop,
        }
    }

    pub fn acceptance(self) -> MessageAcceptance {
        match self {
            Fate::Forward => MessageAcceptance::Accept,
            Fate::Drop | Fate::Wait => MessageAcceptance::Ignore,
            Fate::Reject => MessageAcceptance::Reject,
        }
    }
}

/// What gossipsub is told of a witnessed checkpoint message.
pub(super) fn checkpoint_acceptance(v: witness::Verdict) -> MessageAcceptance {
    match v {
        witness::Verdict::Accept => MessageAcceptance::Accept,
        witness::Verdict::Ignore => MessageAcceptance::Ignore,
        witness::Verdict::Reject => MessageAcceptance::Reject,
    }
}

/// Have the writer judge a gossiped entry.
pub(super) async fn judge(writer: WriterHandle, source: PeerId, id: MessageId, bytes: Vec<u8>) -> Judged {
    let result = writer.submit(Submission::Peer(bytes.clone())).await;
    Judged { id, source, bytes, result }
}

/// Have the witness judge a gossiped checkpoint message.
pub(super) async fn witness(
    w: Arc<Witness>,
    writer: WriterHandle,
    source: PeerId,
    id: MessageId,
    msg: CheckpointGossip,
) -> Witnessed {
    let (verdict, publish) = witness::handle(w, writer, msg).await;
    Witnessed { id: Some(id), source, verdict, publish }
}

/// Checkpoints and fraud evidence a peer holds, asked for on connecting:
/// each goes to the witness as if gossiped, in turn.
pub(super) async fn witness_all(
    w: Arc<Witness>,
    writer: WriterHandle,
    peer: PeerId,
    list: Vec<CheckpointGossip>,
) -> Vec<Witnessed> {
    let mut out = Vec::with_capacity(list.len());
    for msg in list {
        let (verdict, publish) = witness::handle(w.clone(), writer.clone(), msg).await;
        if verdict == witness::Verdict::Reject {
            tracing::warn!(%peer, "a checkpoint from sync was refused");
        }
        out.push(Witnessed { id: None, source: peer, verdict, publish });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::Refusal;
    use kp_schemas::codes::{R3_BAD_PREV, R3_GAP, R3_MISSING_DEPENDENCY};

    #[test]
    fn an_entry_is_forwarded_only_when_valid_and_waits_only_for_a_missing_dependency() {
        let refused = |code| Err(SubmitError::Refused(Refusal::new(code, "")));
        assert_eq!(Fate::of(&refused(R3_MISSING_DEPENDENCY)), Fate::Wait);
        assert_eq!(Fate::of(&refused(R3_GAP)), Fate::Wait);
        assert_eq!(Fate::of(&refused(R3_BAD_PREV)), Fate::Reject);
        // The node's own trouble does not count against the peer.
        assert_eq!(Fate::of(&Err(SubmitError::Storage("disk".into()))), Fate::Drop);
        assert_eq!(Fate::of(&Err(SubmitError::Unavailable)), Fate::Drop);
        assert_eq!(Fate::Reject.acceptance(), MessageAcceptance::Reject);
        assert_eq!(Fate::Wait.acceptance(), MessageAcceptance::Ignore);
        assert_eq!(Fate::Forward.acceptance(), MessageAcceptance::Accept);
    }
}
