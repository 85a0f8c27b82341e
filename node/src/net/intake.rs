//! What sync brings, handed to the writer off the event loop: log pages,
//! waiting entries and evidence, and catch-up pages in a peer's acceptance
//! order. Each returns what the sync machine needs to know of the outcome.

use super::sync::{MAX_QUEUED_PAGES, OrderedDone, OrderedPage, PageJudged};
use crate::ingest::{Queued, Submission, WriterHandle};
use crate::ledger::Ledger;
use crate::outcome::{Outcome, SubmitError};
use kp_schemas::{PublicKey, SignedEntry};
use libp2p::PeerId;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Have the writer judge a log page asked from position `from`.
///
/// A page is the log asked for, position after position from the one asked
/// for. Anything else is not worth judging, and counts against the peer;
/// entries of a true page that arrived by gossip meanwhile do not. The header
/// check parses each entry without copying it; the writer checks the rest.
pub(super) async fn judge_page(
    writer: WriterHandle,
    peer: PeerId,
    author: PublicKey,
    from: u64,
    entries: Vec<Vec<u8>>,
) -> PageJudged {
    let asked = entries.len();
    let mut judged = PageJudged { peer, author, asked, accepted: 0, waiting: None, of_log: true };
    let mut bytes = Vec::with_capacity(asked);
    for (i, b) in entries.into_iter().enumerate() {
        match SignedEntry::parse(b) {
            Ok(e) if e.entry().author == author && e.entry().seq == from.saturating_add(i as u64) => {
                bytes.push(e.into_bytes())
            }
            _ => {
                judged.of_log = false;
                return judged;
            }
        }
    }
    let results = writer.submit_many(bytes.iter().cloned().map(Submission::Peer).collect()).await;
    for (r, b) in results.into_iter().zip(bytes) {
        match r {
            // An entry already held is not progress: counted as such, a peer
            // answering with one would be asked again at once, for ever.
            Ok(Outcome::Duplicate(_) | Outcome::Withdrawn { .. }) => {}
            Ok(Outcome::Stored(_)) => judged.accepted += 1,
            Ok(Outcome::Evidence { equivocation: eq, author_name, .. }) => {
                tracing::warn!(%peer, "synced entry is equivocation evidence: {author_name} at {}", eq.seq)
            }
            // Only the first entry that waits for another log is worth
            // keeping: the rest of the page waits for it (R3.gap) and is
            // fetched again once it is in.
            Err(SubmitError::Refused(r)) if r.is_missing_dependency() => {
                if judged.waiting.is_none() {
                    judged.waiting = Some(b);
                }
            }
            Err(e) => tracing::warn!(%peer, "synced entry refused: {e}"),
        }
    }
    judged
}

/// Have the writer judge entries (waiting ones, evidence a peer holds);
/// returns those that still wait for another entry.
pub(super) async fn submit(writer: WriterHandle, entries: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let results = writer.submit_many(entries.iter().cloned().map(Submission::Peer).collect()).await;
    let mut waiting = Vec::new();
    for (r, b) in results.into_iter().zip(entries) {
        match r {
            Err(SubmitError::Refused(r)) if r.is_missing_dependency() => waiting.push(b),
            Ok(Outcome::Evidence { equivocation: eq, author_name, new }) => {
                tracing::debug!(new, "equivocation evidence from a peer: {author_name} at {}", eq.seq);
            }
            _ => {}
        }
    }
    waiting
}

/// A catch-up page in the writer's queue: what its outcomes are read with.
struct QueuedPage {
    peer: PeerId,
    n: usize,
    start: u64,
    next: u64,
    more: bool,
}

/// Takes pages in a peer's acceptance order, one after the other, so that no
/// entry reaches the writer before those it depends on; records how far it
/// got, so an interrupted catch-up resumes there. `capacity` is
/// [`super::sync::Sync::max_ordered_capacity`]: the sync machine keeps
/// within a bound for the peers listed now, which governance may raise.
pub(super) fn spawn_ordered(
    ledger: Arc<Ledger>,
    writer: WriterHandle,
    capacity: usize,
) -> (mpsc::Sender<OrderedPage>, mpsc::Receiver<OrderedDone>) {
    let (tx, mut rx) = mpsc::channel::<OrderedPage>(capacity.max(MAX_QUEUED_PAGES + 1));
    let (done_tx, done_rx) = mpsc::channel(16);
    // Two stages, so that the next page is verified while the writer
    // judges and syncs this one: pages are queued in the order they came,
    // and their outcomes read in that order.
    let (queued_tx, mut queued_rx) = mpsc::channel::<(QueuedPage, Queued)>(1);
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            let page = QueuedPage { peer: p.peer, n: p.entries.len(), start: p.start, next: p.next, more: p.more };
            let queued = writer.enqueue_many(p.entries.into_iter().map(Submission::Peer).collect()).await;
            if queued_tx.send((page, queued)).await.is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        // A page stored in part stops its peer's cursor there: a page of
        // the same peer queued behind it must not move the cursor past it.
        let mut stopped: HashMap<PeerId, u64> = HashMap::new();
        while let Some((p, queued)) = queued_rx.recv().await {
            let results = queued.outcomes().await;
            let done = record(&ledger, &mut stopped, &p, &results);
            if done_tx.send(done).await.is_err() {
                return;
            }
        }
    });
    (tx, done_rx)
}

/// Save the peer's cursor after a page's outcomes, and say how it went.
fn record(
    ledger: &Ledger,
    stopped: &mut HashMap<PeerId, u64>,
    p: &QueuedPage,
    results: &[Result<Outcome, SubmitError>],
) -> OrderedDone {
    let accepted = results.iter().filter(|r| matches!(r, Ok(Outcome::Stored(_)))).count();
    // Evidence is not an entry of the log: the cursor stops before it. An
    // entry withdrawn from a frozen log is kept and passed.
    let held = |r: &Result<Outcome, SubmitError>| {
        r.as_ref().is_ok_and(|o| o.submitted().is_some() || matches!(o, Outcome::Withdrawn { .. }))
    };
    let stored = results.iter().take_while(|r| held(r)).count();
    match results.iter().find(|r| !held(r)) {
        Some(Err(e)) => tracing::warn!(peer = %p.peer, "entry from catch-up refused: {e}"),
        Some(Ok(Outcome::Evidence { equivocation: eq, author_name, .. })) => {
            tracing::warn!(peer = %p.peer, "entry from catch-up is equivocation evidence: {author_name} at {}", eq.seq)
        }
        _ => {}
    }
    let cursor = if stored == p.n { p.next } else { p.start + stored as u64 };
    let behind_a_stop = stopped.get(&p.peer).is_some_and(|at| p.start > *at);
    if !behind_a_stop {
        stopped.remove(&p.peer);
        if stored < p.n {
            stopped.insert(p.peer, cursor);
        }
        if let Err(e) = ledger.set_sync_cursor(&p.peer.to_string(), cursor) {
            tracing::warn!("saving the sync cursor: {e}");
        }
    }
    OrderedDone { peer: p.peer, accepted, complete: stored == p.n && !behind_a_stop, more: p.more }
}
