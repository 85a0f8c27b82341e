//! The sync rules, as a state machine with no I/O: the event loop feeds it
//! what happened ([`Sync::handle`]) and carries out the [`Action`]s it asks
//! for ([`Sync::actions`]). Everything that decides what to ask whom, when a
//! log or a catch-up is free again, and when a peer has wasted enough rounds
//! lives here, so it is tested without processes, sockets or sleeps.
//!
//! Three ways entries come in, and the machine keeps them from stepping on
//! each other:
//! - **Catch-up** in a peer's acceptance order (`Since`), for a node far
//!   behind: no entry there waits for one that comes later. At most
//!   [`MAX_QUEUED_PAGES`] pages per peer wait for the writer, so memory stays
//!   bounded and transfer overlaps ingest. A saved cursor resumes it.
//! - **Log by log** (`Page`), for a node a little behind: one log is pulled
//!   from one peer at a time. A log whose page stops at an entry waiting for
//!   another log is *blocked*, and pulled again once any log moves on.
//! - **Waiting entries** (the pending pool): gossip, evidence and pages that
//!   arrived before what they depend on, handed back to the writer only after
//!   something new was stored.
//!
//! Every answer is checked against what was asked ([`Asked`]); whatever the
//! answer (or none), what the request held is released. Rounds no honest
//! peer wastes count against the peer ([`super::score`]).

use super::pending::{self, Pending};
use super::score::Scores;
use kp_schemas::PublicKey;
use kp_schemas::checkpoint::CheckpointGossip;
use kp_schemas::model::HexBytes;
use kp_schemas::wire::{LogHead, MAX_PAGE_ENTRIES, SyncRequest, SyncResponse};
use libp2p::PeerId;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// Entries per log page asked for.
pub const PAGE: u32 = 512;
/// Catch-up pages received and waiting for the writer, per peer.
pub const MAX_QUEUED_PAGES: usize = 3;
/// Peers the catch-up queue makes room for, at most: the swarm's bound on
/// established connections.
pub const MAX_PEERS: usize = 256;

/// What the machine reads of this node's ledger. All reads are of state the
/// ledger keeps in memory, except the saved catch-up cursor.
pub trait Local {
    /// Position of the newest entry of `author`'s log held here; 0 for none.
    fn head(&self, author: &PublicKey) -> u64;
    /// The freeze point of a frozen log: its entries are `1..=f` (R3).
    fn freeze_point(&self, author: &PublicKey) -> Option<u64>;
    /// Whether any log is frozen.
    fn any_frozen(&self) -> bool;
    /// Whether the network holds `author`'s log: a member's now, or a
    /// replaced key's, whose log stays readable up to its last position.
    fn is_member(&self, author: &PublicKey) -> bool;
    /// The saved position in `peer`'s acceptance order; 0 to start afresh.
    fn sync_cursor(&self, peer: &PeerId) -> u64;
    /// Entries accepted so far: grows whenever anything new is stored.
    fn stored(&self) -> u64;
}

/// A request this machine sent, named so that its answer finds it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReqId(u64);

/// What a sync request asked for, so that its answer is checked against it
/// and what it holds (a log, a catch-up) is freed whatever the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Heads,
    /// Catch-up in the peer's acceptance order, from this index.
    Since(u64),
    /// A log's page, from this position.
    Page(PublicKey, u64),
    Checkpoints,
    Equivocations,
    Withdrawn,
}

impl Asked {
    /// The request that asks it.
    pub fn request(self) -> SyncRequest {
        match self {
            Asked::Heads => SyncRequest::Heads,
            Asked::Since(index) => SyncRequest::Since { index, limit: MAX_PAGE_ENTRIES },
            Asked::Page(author, from) => SyncRequest::Page { author, from, limit: PAGE },
            Asked::Checkpoints => SyncRequest::Checkpoints,
            Asked::Equivocations => SyncRequest::Equivocations,
            Asked::Withdrawn => SyncRequest::Withdrawn,
        }
    }
}

/// A log page as the writer judged it, back from [`Action::JudgePage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageJudged {
    pub peer: PeerId,
    pub author: PublicKey,
    /// Entries in the page.
    pub asked: usize,
    /// Entries stored, not counting those already held.
    pub accepted: usize,
    /// The first entry that waits for another log's, to keep in the pool:
    /// the rest of the page waits for it (R3.gap) and is fetched again.
    pub waiting: Option<Vec<u8>>,
    /// The page was the log asked for, position after position from the one
    /// asked for.
    pub of_log: bool,
}

/// A catch-up page handed to the ordered ingester, in the peer's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedPage {
    pub peer: PeerId,
    pub entries: Vec<Vec<u8>>,
    /// The acceptance index the page was asked from.
    pub start: u64,
    /// The index after the page's last entry.
    pub next: u64,
    /// The page was not empty: there may be more.
    pub more: bool,
}

/// A catch-up page stored, in part or whole, by the ordered ingester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderedDone {
    pub peer: PeerId,
    pub accepted: usize,
    /// Every entry of the page was stored or already known.
    pub complete: bool,
    pub more: bool,
}

/// What happened, for the machine to act on.
#[derive(Debug)]
pub enum Event {
    /// A connection to `peer` is up; `first` when it is the only one.
    Connected {
        peer: PeerId,
        first: bool,
    },
    /// The last connection to `peer` closed.
    Disconnected(PeerId),
    /// Time to compare heads with every peer.
    Tick,
    /// The answer to a request.
    Answer {
        req: ReqId,
        response: SyncResponse,
    },
    /// A request that got no answer.
    Failed {
        req: ReqId,
        timeout: bool,
    },
    PageJudged(PageJudged),
    OrderedDone(OrderedDone),
    /// Entries that wait for another entry; `fresh` for those not tried
    /// since the last resubmission (they may wait for something already
    /// stored, so the next resubmission must happen even with nothing new).
    Waiting {
        entries: Vec<Vec<u8>>,
        fresh: bool,
    },
    /// A gossiped entry waits for another: keep it, and compare heads with
    /// the peer that sent it.
    GossipWaits {
        peer: PeerId,
        entry: Vec<u8>,
    },
}

/// What the machine asks the event loop to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a sync request; its answer comes back as [`Event::Answer`] or
    /// [`Event::Failed`] with the same `req`.
    Send { req: ReqId, peer: PeerId, request: SyncRequest },
    /// Check that a page is the log asked for, then have the writer judge it;
    /// comes back as [`Event::PageJudged`].
    JudgePage { peer: PeerId, author: PublicKey, from: u64, entries: Vec<Vec<u8>> },
    /// Queue a catch-up page for the ordered ingester; comes back as
    /// [`Event::OrderedDone`].
    QueueOrdered(OrderedPage),
    /// Have the writer judge entries; those still waiting come back as
    /// [`Event::Waiting`] with this `fresh`.
    Submit { entries: Vec<Vec<u8>>, fresh: bool },
    /// Hand checkpoints and fraud evidence a peer holds to the witness.
    Witness { peer: PeerId, list: Vec<CheckpointGossip> },
    /// Save how far catch-up from a peer got.
    SaveCursor { peer: PeerId, index: u64 },
    /// Close every connection to the peer.
    Disconnect(PeerId),
    /// Count a wasted round (metrics).
    CountFault,
    /// Count a peer dropped for wasting rounds (metrics).
    CountDropped,
}

/// A catch-up from one peer: at most one page asked for and a few waiting to
/// be stored.
#[derive(Debug, Default)]
struct CatchUp {
    asking: bool,
    /// Ask for no more pages: the last one failed or brought nothing new.
    ending: bool,
    queued: usize,
    /// Entries stored during this catch-up.
    stored: usize,
    /// The index to ask from once a queued page is stored.
    next: Option<u64>,
}

/// The sync state machine. See the module documentation.
pub struct Sync {
    /// Room in the ordered ingester's queue, for every peer's pages.
    ordered_capacity: usize,
    next_req: u64,
    requests: HashMap<ReqId, (PeerId, Asked)>,
    connected: HashSet<PeerId>,
    /// Logs being pulled, so one log is pulled from one peer at a time.
    pulling: HashSet<PublicKey>,
    /// Logs whose last page stopped at an entry that waits for another log,
    /// with the peer to ask again.
    blocked: HashMap<PublicKey, PeerId>,
    /// Pages of any log stored so far, and its value when each log's page
    /// was asked for: a log that blocks on a page judged before another
    /// log's page stored what it waits for must not wait for the next round.
    progress: u64,
    asked_at: HashMap<PublicKey, u64>,
    /// Peers this node is catching up from in their acceptance order.
    catching_up: HashMap<PeerId, CatchUp>,
    /// Peers whose acceptance order gave nothing: pulled log by log.
    stalled: HashSet<PeerId>,
    scores: Scores,
    pending: Pending,
    /// Entries stored when the pending pool was last resubmitted.
    retried_at: u64,
    /// Entries stored by sync, for status and progress.
    synced: u64,
    sync_started: Option<(Instant, u64)>,
    actions: Vec<Action>,
}

impl Sync {
    /// A machine for a node with `peers` peers listed: the ordered ingester
    /// has room for each one's pages.
    pub fn new(peers: usize) -> Self {
        Self {
            ordered_capacity: Self::capacity_for(peers),
            next_req: 0,
            requests: HashMap::new(),
            connected: HashSet::new(),
            pulling: HashSet::new(),
            blocked: HashMap::new(),
            progress: 0,
            asked_at: HashMap::new(),
            catching_up: HashMap::new(),
            stalled: HashSet::new(),
            scores: Scores::default(),
            pending: Pending::new(pending::MAX_PENDING, pending::MAX_PENDING_BYTES),
            retried_at: u64::MAX,
            synced: 0,
            sync_started: None,
            actions: Vec::new(),
        }
    }

    fn capacity_for(peers: usize) -> usize {
        MAX_QUEUED_PAGES * (peers.min(MAX_PEERS) + 1)
    }

    /// The capacity the ordered ingester's queue must have for any number
    /// of peers the network may list.
    pub fn max_ordered_capacity() -> usize {
        Self::capacity_for(MAX_PEERS)
    }

    /// The network now lists `peers` peers. Pages already queued stay;
    /// with fewer peers, no catch-up asks for more until the queue is back
    /// under the new bound.
    pub fn set_peers(&mut self, peers: usize) {
        self.ordered_capacity = Self::capacity_for(peers);
    }

    /// Entries waiting in the pending pool.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Entries stored by sync since start.
    pub fn synced(&self) -> u64 {
        self.synced
    }

    /// The actions asked for so far, oldest first.
    pub fn actions(&mut self) -> std::vec::Drain<'_, Action> {
        self.actions.drain(..)
    }

    pub fn handle(&mut self, local: &impl Local, now: Instant, ev: Event) {
        match ev {
            Event::Connected { peer, first } => self.on_connected(peer, first, now),
            Event::Disconnected(peer) => {
                self.connected.remove(&peer);
                // Pulls from this peer will fail; let the next round retry.
                let stale: Vec<ReqId> =
                    self.requests.iter().filter(|(_, (p, _))| *p == peer).map(|(id, _)| *id).collect();
                for id in stale {
                    if let Some((peer, asked)) = self.requests.remove(&id) {
                        self.release(peer, asked);
                    }
                }
            }
            Event::Tick => self.on_tick(local),
            Event::Answer { req, response } => self.on_answer(local, now, req, response),
            Event::Failed { req, timeout } => {
                if let Some((peer, asked)) = self.requests.remove(&req) {
                    self.release(peer, asked);
                    if timeout {
                        self.fault(peer, now, "no answer in time");
                    }
                }
            }
            Event::PageJudged(p) => self.on_page_judged(local, now, p),
            Event::OrderedDone(d) => self.on_ordered_done(local, now, d),
            Event::Waiting { entries, fresh } => {
                for e in entries {
                    self.park(e, fresh);
                }
            }
            Event::GossipWaits { peer, entry } => {
                self.park(entry, true);
                self.send(peer, Asked::Heads);
            }
        }
    }

    fn send(&mut self, peer: PeerId, asked: Asked) {
        // A page judged or stored after its peer went away would otherwise
        // ask that peer again, and the swarm would dial it, even one dropped
        // for wasting rounds. What the request would hold is free at once.
        if !self.connected.contains(&peer) {
            self.release(peer, asked);
            return;
        }
        let req = ReqId(self.next_req);
        self.next_req += 1;
        self.requests.insert(req, (peer, asked));
        self.actions.push(Action::Send { req, peer, request: asked.request() });
    }

    fn on_connected(&mut self, peer: PeerId, first: bool, now: Instant) {
        if self.scores.cooling(&peer, now) {
            tracing::debug!(%peer, "a peer dropped for wasting sync rounds came back early");
            self.actions.push(Action::Disconnect(peer));
            return;
        }
        self.connected.insert(peer);
        self.send(peer, Asked::Heads);
        // Evidence travels by gossip, which reaches only the nodes up at the
        // time: a node back from a stop asks for it.
        if first {
            for asked in [Asked::Checkpoints, Asked::Equivocations, Asked::Withdrawn] {
                self.send(peer, asked);
            }
        }
    }

    fn on_tick(&mut self, local: &impl Local) {
        let mut peers: Vec<PeerId> = self.connected.iter().copied().collect();
        peers.sort();
        // Entries that wait may name one withdrawn from a frozen log, which
        // gossip brought while this node was away or before it froze.
        let withdrawn = !self.pending.is_empty() && local.any_frozen();
        for p in peers {
            self.send(p, Asked::Heads);
            if withdrawn {
                self.send(p, Asked::Withdrawn);
            }
        }
        self.retry_pending(local);
    }

    fn on_answer(&mut self, local: &impl Local, now: Instant, req: ReqId, response: SyncResponse) {
        let Some((peer, asked)) = self.requests.remove(&req) else { return };
        match (asked, response) {
            (Asked::Heads, SyncResponse::Heads(heads)) => self.on_heads(local, now, peer, heads),
            (Asked::Page(author, from), SyncResponse::Page(entries)) => {
                let entries = entries.into_iter().map(|b| b.0).collect();
                self.actions.push(Action::JudgePage { peer, author, from, entries });
            }
            (Asked::Since(from), SyncResponse::Ordered { entries, next }) => {
                self.on_ordered(now, peer, from, entries, next)
            }
            (Asked::Checkpoints, SyncResponse::Checkpoints(list)) => {
                self.actions.push(Action::Witness { peer, list });
            }
            (Asked::Equivocations, SyncResponse::Equivocations(entries))
            | (Asked::Withdrawn, SyncResponse::Withdrawn(entries)) => {
                if !entries.is_empty() {
                    let entries = entries.into_iter().map(|b| b.0).collect();
                    self.actions.push(Action::Submit { entries, fresh: true });
                }
            }
            (asked, SyncResponse::Error(e)) => {
                tracing::warn!(%peer, "sync error from peer: {e}");
                self.release(peer, asked);
                self.fault(peer, now, "an error answer");
            }
            (asked, other) => {
                tracing::warn!(%peer, ?asked, answer = other.kind(), "sync answer of the wrong type");
                self.release(peer, asked);
                self.fault(peer, now, "an answer of the wrong type");
            }
        }
    }

    /// What a request held is free again, whatever came of it: its log may
    /// be pulled from another peer, its catch-up asked again.
    fn release(&mut self, peer: PeerId, asked: Asked) {
        match asked {
            Asked::Page(author, _) => {
                self.pulling.remove(&author);
            }
            Asked::Since(_) => {
                if let Some(c) = self.catching_up.get_mut(&peer) {
                    c.asking = false;
                    c.next = None;
                    if c.queued == 0 {
                        self.catching_up.remove(&peer);
                    }
                }
            }
            Asked::Heads | Asked::Checkpoints | Asked::Equivocations | Asked::Withdrawn => {}
        }
    }

    /// A sync round the peer wasted. One that keeps wasting them is dropped
    /// for a while: it can neither make this node loop nor starve it.
    fn fault(&mut self, peer: PeerId, now: Instant, why: &str) {
        self.actions.push(Action::CountFault);
        if self.scores.fault(peer, now) {
            tracing::warn!(%peer, "dropping a peer whose sync answers keep wasting rounds: {why}");
            self.actions.push(Action::CountDropped);
            self.stalled.remove(&peer);
            self.actions.push(Action::Disconnect(peer));
        } else {
            tracing::debug!(%peer, "sync round wasted: {why}");
        }
    }

    fn on_heads(&mut self, local: &impl Local, now: Instant, peer: PeerId, heads: Vec<LogHead>) {
        // Far behind (or new): take the peer's entries in its acceptance
        // order, which never waits on a missing dependency.
        // Peers' numbers are untrusted: saturate rather than overflow.
        let behind: u64 =
            heads.iter().map(|h| h.seq.saturating_sub(local.head(&h.author))).fold(0u64, u64::saturating_add);
        if (behind > u64::from(PAGE) && !self.stalled.contains(&peer)) || self.catching_up.contains_key(&peer) {
            if let std::collections::hash_map::Entry::Vacant(v) = self.catching_up.entry(peer) {
                v.insert(CatchUp::default());
                let from = local.sync_cursor(&peer);
                self.ask_since(now, peer, from);
            }
            return;
        }
        for h in heads {
            // A peer's heads are untrusted: pull only logs the network holds.
            if self.pulling.contains(&h.author) || !local.is_member(&h.author) {
                continue;
            }
            // A frozen log is pulled up to its freeze point, no further.
            let ours = local.head(&h.author);
            let until = h.seq.min(local.freeze_point(&h.author).unwrap_or(u64::MAX));
            if ours >= until {
                continue;
            }
            self.pull(now, peer, h.author, ours + 1);
        }
    }

    fn started(&mut self, now: Instant) {
        if self.sync_started.is_none() {
            self.sync_started = Some((now, self.synced));
        }
    }

    fn ask_since(&mut self, now: Instant, peer: PeerId, index: u64) {
        self.started(now);
        if let Some(c) = self.catching_up.get_mut(&peer) {
            c.asking = true;
        }
        self.send(peer, Asked::Since(index));
    }

    /// A page in the peer's order goes to the ordered ingester; the next one
    /// is asked for at once while fewer than [`MAX_QUEUED_PAGES`] wait.
    fn on_ordered(&mut self, now: Instant, peer: PeerId, from: u64, entries: Vec<HexBytes>, next: u64) {
        let queued: usize = self.catching_up.values().map(|c| c.queued).sum();
        let Some(c) = self.catching_up.get_mut(&peer) else { return };
        c.asking = false;
        // A short page may only mean the size limit was hit: ask until empty.
        let more = !entries.is_empty();
        // Indices of entries the peer withdrew are empty, so a page may span
        // more indices than it has entries, never fewer. The cursor moves
        // from where it was asked: entry k of the page is at `from + k` or
        // later, so a page stored in part is asked again, never skipped.
        if next < from.saturating_add(entries.len() as u64) {
            tracing::warn!(%peer, "catch-up page with an impossible index: stopping");
            self.stop_catching_up(peer);
            return;
        }
        if queued >= self.ordered_capacity {
            self.stop_catching_up(peer);
            return;
        }
        let page = OrderedPage { peer, entries: entries.into_iter().map(|b| b.0).collect(), start: from, next, more };
        self.actions.push(Action::QueueOrdered(page));
        c.queued += 1;
        if more && !c.ending {
            if c.queued < MAX_QUEUED_PAGES {
                self.ask_since(now, peer, next);
            } else {
                c.next = Some(next);
            }
        }
    }

    /// Ask for no more pages from `peer`. Pages of it still queued report
    /// back to its entry, which goes once they are all stored: removed now, a
    /// new catch-up from the peer would count their reports as its own.
    fn stop_catching_up(&mut self, peer: PeerId) {
        if let Some(c) = self.catching_up.get_mut(&peer) {
            c.next = None;
            c.ending = true;
            if c.queued == 0 && !c.asking {
                self.catching_up.remove(&peer);
            }
        }
    }

    fn count_synced(&mut self, now: Instant, accepted: usize) {
        let before = self.synced;
        self.synced += accepted as u64;
        // Progress and rate every 10,000 entries, for a node catching up.
        if let Some((t0, n0)) = self.sync_started
            && self.synced / 10_000 != before / 10_000
        {
            let rate = (self.synced - n0) as f64 / now.duration_since(t0).as_secs_f64().max(1e-3);
            tracing::info!(
                synced = self.synced,
                rate = format!("{rate:.0}/s"),
                pending = self.pending.len(),
                "catching up"
            );
        }
    }

    fn on_ordered_done(&mut self, local: &impl Local, now: Instant, d: OrderedDone) {
        self.count_synced(now, d.accepted);
        let Some(c) = self.catching_up.get_mut(&d.peer) else { return };
        c.queued = c.queued.saturating_sub(1);
        c.stored += d.accepted;
        let nothing_new = d.accepted == 0 && d.more;
        if !d.complete || nothing_new {
            // Resume from the saved cursor at the next heads round. A page
            // of entries already held ends the catch-up: a peer could
            // otherwise send the same entry for ever.
            c.next = None;
            c.ending = true;
        }
        let next = c.next.take();
        let finished = next.is_none() && !c.asking && c.queued == 0;
        let stored = c.stored;
        // Nothing new is no fault: another peer's catch-up or gossip may
        // have brought the same entries first.
        if d.accepted > 0 {
            self.scores.useful(d.peer);
        }
        if let Some(next) = next {
            self.ask_since(now, d.peer, next);
        } else if finished {
            if stored == 0 {
                // Nothing came of it: pull log by log from this peer from now
                // on, and start its acceptance order afresh if ever again.
                self.stalled.insert(d.peer);
                self.actions.push(Action::SaveCursor { peer: d.peer, index: 0 });
            }
            self.catching_up.remove(&d.peer);
            self.sync_started = None;
            if !d.more {
                tracing::info!(peer = %d.peer, synced = self.synced, "caught up");
            }
            self.retry_pending(local);
        }
    }

    fn pull(&mut self, now: Instant, peer: PeerId, author: PublicKey, from: u64) {
        self.started(now);
        self.pulling.insert(author);
        self.asked_at.insert(author, self.progress);
        self.send(peer, Asked::Page(author, from));
    }

    fn on_page_judged(&mut self, local: &impl Local, now: Instant, p: PageJudged) {
        let PageJudged { peer, author, asked, accepted, waiting, of_log } = p;
        self.pulling.remove(&author);
        if !of_log {
            self.fault(peer, now, "a page that is not the log asked for");
            return;
        }
        let waits = waiting.is_some();
        if let Some(entry) = waiting {
            self.park(entry, true);
        }
        if accepted > 0 {
            self.scores.useful(peer);
        } else if !waits {
            // Nothing new and nothing to wait for (gossip brought the page's
            // entries meanwhile): the log is not pulled again from this peer
            // until the next heads round.
            if asked == 0 && self.pulling.is_empty() {
                self.sync_started = None;
            }
            return;
        }
        self.count_synced(now, accepted);
        if accepted > 0 {
            self.progress += 1;
            self.retry_pending(local);
            // Another log moved on: logs that waited for it may go on too.
            let mut waiting: Vec<_> = self.blocked.drain().collect();
            waiting.sort();
            for (a, p) in waiting {
                self.pull_next(local, now, p, a);
            }
        }
        if asked > 0 && accepted == asked {
            // A full page: there may be more. Ask again from the new head.
            self.pull_next(local, now, peer, author);
        } else if asked > accepted
            && self.asked_at.get(&author).is_some_and(|a| a + u64::from(accepted > 0) < self.progress)
        {
            // Another log stored entries after this page was asked for,
            // perhaps the one this log waits for: pages are not reported
            // in the order the writer judged them.
            self.pull_next(local, now, peer, author);
        } else if asked > accepted {
            // This log waits for an entry of another log.
            self.blocked.insert(author, peer);
        } else if asked == 0 && self.pulling.is_empty() {
            self.sync_started = None;
        }
    }

    fn pull_next(&mut self, local: &impl Local, now: Instant, peer: PeerId, author: PublicKey) {
        if self.pulling.contains(&author) {
            return;
        }
        let head = local.head(&author);
        if local.freeze_point(&author).is_some_and(|f| head >= f) {
            return;
        }
        self.pull(now, peer, author, head + 1);
    }

    fn park(&mut self, bytes: Vec<u8>, fresh: bool) {
        if fresh {
            self.retried_at = u64::MAX;
        }
        self.pending.insert(bytes);
    }

    /// Hand back every waiting entry that could be taken now, in one batch;
    /// those still missing something come back as [`Event::Waiting`].
    fn retry_pending(&mut self, local: &impl Local) {
        // Waiting entries can only succeed once something new was stored:
        // without that, resubmitting them would only check their signatures
        // again.
        let stored = local.stored();
        if self.pending.is_empty() || stored == self.retried_at {
            return;
        }
        self.retried_at = stored;
        let entries = self.pending.ready(|a| local.head(a));
        if !entries.is_empty() {
            self.actions.push(Action::Submit { entries, fresh: false });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pending::entry;
    use super::*;
    use kp_schemas::{Hash32, Keypair};

    /// This node's logs as the machine sees them.
    #[derive(Default)]
    struct Logs {
        heads: HashMap<PublicKey, u64>,
        frozen: HashMap<PublicKey, u64>,
        members: HashSet<PublicKey>,
        cursors: HashMap<PeerId, u64>,
        stored: u64,
    }

    impl Local for Logs {
        fn head(&self, author: &PublicKey) -> u64 {
            self.heads.get(author).copied().unwrap_or(0)
        }
        fn freeze_point(&self, author: &PublicKey) -> Option<u64> {
            self.frozen.get(author).copied()
        }
        fn any_frozen(&self) -> bool {
            !self.frozen.is_empty()
        }
        fn is_member(&self, author: &PublicKey) -> bool {
            self.members.contains(author)
        }
        fn sync_cursor(&self, peer: &PeerId) -> u64 {
            self.cursors.get(peer).copied().unwrap_or(0)
        }
        fn stored(&self) -> u64 {
            self.stored
        }
    }

    fn author(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    fn logs(members: &[u8]) -> Logs {
        Logs { members: members.iter().map(|n| author(*n)).collect(), ..Logs::default() }
    }

    fn head(a: u8, seq: u64) -> LogHead {
        LogHead { author: author(a), seq, hash: Hash32([a; 32]) }
    }

    struct Harness {
        sync: Sync,
        local: Logs,
        now: Instant,
    }

    impl Harness {
        fn new(local: Logs) -> Self {
            Self { sync: Sync::new(4), local, now: Instant::now() }
        }

        fn handle(&mut self, ev: Event) -> Vec<Action> {
            self.sync.handle(&self.local, self.now, ev);
            self.sync.actions().collect()
        }

        fn connect(&mut self, peer: PeerId) -> Vec<Action> {
            self.handle(Event::Connected { peer, first: true })
        }

        fn answer(&mut self, req: ReqId, response: SyncResponse) -> Vec<Action> {
            self.handle(Event::Answer { req, response })
        }
    }

    /// The requests among the actions, with their ids.
    fn sent(actions: &[Action]) -> Vec<(ReqId, PeerId, SyncRequest)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { req, peer, request } => Some((*req, *peer, request.clone())),
                _ => None,
            })
            .collect()
    }

    fn the_request(actions: &[Action], want: impl Fn(&SyncRequest) -> bool) -> ReqId {
        let found: Vec<_> = sent(actions).into_iter().filter(|(_, _, r)| want(r)).collect();
        assert_eq!(found.len(), 1, "one such request in {actions:?}");
        found[0].0
    }

    fn heads_request(actions: &[Action]) -> ReqId {
        the_request(actions, |r| matches!(r, SyncRequest::Heads))
    }

    #[test]
    fn a_new_peer_is_asked_for_heads_and_the_evidence_it_holds() {
        let mut h = Harness::new(logs(&[1]));
        let p = PeerId::random();
        let asked: Vec<_> = sent(&h.connect(p)).into_iter().map(|(_, peer, r)| (peer, r)).collect();
        assert_eq!(
            asked,
            vec![
                (p, SyncRequest::Heads),
                (p, SyncRequest::Checkpoints),
                (p, SyncRequest::Equivocations),
                (p, SyncRequest::Withdrawn)
            ]
        );
        // A second connection to the same peer only compares heads.
        let again = h.handle(Event::Connected { peer: p, first: false });
        assert_eq!(sent(&again).len(), 1);
    }

    #[test]
    fn a_node_a_little_behind_pulls_each_members_log_from_its_head_and_a_frozen_one_only_to_its_freeze_point() {
        let mut local = logs(&[1, 2, 3]);
        local.heads.insert(author(1), 10);
        local.heads.insert(author(3), 4);
        local.frozen.insert(author(3), 6);
        let mut h = Harness::new(local);
        let p = PeerId::random();
        let heads = heads_request(&h.connect(p));
        // Log 9 is not a roster member's; log 3 is frozen at 6.
        let actions =
            h.answer(heads, SyncResponse::Heads(vec![head(1, 20), head(2, 5), head(3, 90), head(9, 50), head(1, 3)]));
        let pages: Vec<_> = sent(&actions).into_iter().map(|(_, peer, r)| (peer, r)).collect();
        assert_eq!(
            pages,
            vec![
                (p, SyncRequest::Page { author: author(1), from: 11, limit: PAGE }),
                (p, SyncRequest::Page { author: author(2), from: 1, limit: PAGE }),
                (p, SyncRequest::Page { author: author(3), from: 5, limit: PAGE }),
            ],
            "each log once, from the head held here"
        );
        // A log pulled from one peer is not pulled from another meanwhile.
        let q = PeerId::random();
        let heads = heads_request(&h.connect(q));
        assert!(sent(&h.answer(heads, SyncResponse::Heads(vec![head(1, 20)]))).is_empty());
        // A frozen log held up to its freeze point is not pulled at all.
        h.local.heads.insert(author(3), 6);
        h.sync.pulling.clear();
        let heads = heads_request(&h.handle(Event::Connected { peer: q, first: false }));
        assert!(sent(&h.answer(heads, SyncResponse::Heads(vec![head(3, 90)]))).is_empty());
    }

    #[test]
    fn a_full_page_asks_for_the_next_and_a_blocked_log_goes_on_when_another_log_moves() {
        let mut h = Harness::new(logs(&[1, 2]));
        let p = PeerId::random();
        let heads = heads_request(&h.connect(p));
        let actions = h.answer(heads, SyncResponse::Heads(vec![head(1, 3), head(2, 2)]));
        let reqs = sent(&actions);
        let (r1, r2) = (reqs[0].0, reqs[1].0);
        let page = |n: usize| SyncResponse::Page((0..n).map(|i| HexBytes(vec![i as u8])).collect());
        // The answer is handed to the writer as it came.
        let judge = h.answer(r1, page(3));
        assert!(
            matches!(&judge[..], [Action::JudgePage { author: a, from: 1, entries, .. }] if *a == author(1) && entries.len() == 3)
        );
        // Log 1 stops at an entry that waits for log 2: blocked, kept.
        let waiting = entry(&Keypair::from_seed([7; 32]), 1, "waits");
        let actions = h.handle(Event::PageJudged(PageJudged {
            peer: p,
            author: author(1),
            asked: 3,
            accepted: 0,
            waiting: Some(waiting.clone()),
            of_log: true,
        }));
        assert!(sent(&actions).is_empty(), "blocked, not asked again at once: {actions:?}");
        assert_eq!(h.sync.pending(), 1);
        // Log 2's page is stored whole: log 2 is asked for more, log 1 again,
        // and the waiting entry goes back to the writer.
        h.answer(r2, page(2));
        h.local.heads.insert(author(2), 2);
        h.local.stored = 2;
        let actions = h.handle(Event::PageJudged(PageJudged {
            peer: p,
            author: author(2),
            asked: 2,
            accepted: 2,
            waiting: None,
            of_log: true,
        }));
        let asked: Vec<_> = sent(&actions).into_iter().map(|(_, _, r)| r).collect();
        assert_eq!(
            asked,
            vec![
                SyncRequest::Page { author: author(1), from: 1, limit: PAGE },
                SyncRequest::Page { author: author(2), from: 3, limit: PAGE }
            ]
        );
        assert!(actions.contains(&Action::Submit { entries: vec![waiting], fresh: false }), "{actions:?}");
        assert_eq!(h.sync.synced(), 2);
    }

    #[test]
    fn waiting_entries_are_resubmitted_only_once_something_new_was_stored() {
        let mut h = Harness::new(logs(&[1]));
        let p = PeerId::random();
        h.connect(p);
        let key = Keypair::from_seed([1; 32]);
        let entry = entry(&key, 2, "two");
        h.local.stored = 5;
        let actions = h.handle(Event::GossipWaits { peer: p, entry: entry.clone() });
        assert_eq!(sent(&actions).len(), 1, "heads compared with the peer that sent it");
        // A fresh entry may wait for something stored before it arrived.
        // It can be taken once its log's head is the position before.
        h.local.heads.insert(key.public(), 1);
        let actions = h.handle(Event::Tick);
        assert!(actions.contains(&Action::Submit { entries: vec![entry.clone()], fresh: false }));
        // Back as still waiting: not tried again until something is stored.
        h.handle(Event::Waiting { entries: vec![entry.clone()], fresh: false });
        let actions = h.handle(Event::Tick);
        assert!(!actions.iter().any(|a| matches!(a, Action::Submit { .. })), "{actions:?}");
        h.local.stored = 6;
        let actions = h.handle(Event::Tick);
        assert!(actions.contains(&Action::Submit { entries: vec![entry], fresh: false }));
    }

    #[test]
    fn a_node_far_behind_catches_up_in_the_peers_order_from_its_saved_cursor_with_pages_in_flight() {
        let mut local = logs(&[1]);
        let p = PeerId::random();
        local.cursors.insert(p, 700);
        let mut h = Harness::new(local);
        let heads = heads_request(&h.connect(p));
        let actions = h.answer(heads, SyncResponse::Heads(vec![head(1, 5_000)]));
        let since = the_request(&actions, |r| *r == SyncRequest::Since { index: 700, limit: MAX_PAGE_ENTRIES });
        let page = |n: usize| (0..n).map(|i| HexBytes(vec![i as u8])).collect::<Vec<_>>();
        // Each page is queued in order, and the next asked for at once while
        // fewer than MAX_QUEUED_PAGES wait; a withdrawn index is stepped over.
        let actions = h.answer(since, SyncResponse::Ordered { entries: page(10), next: 711 });
        assert!(matches!(&actions[0], Action::QueueOrdered(OrderedPage { start: 700, next: 711, more: true, .. })));
        let mut req = the_request(&actions, |r| *r == SyncRequest::Since { index: 711, limit: MAX_PAGE_ENTRIES });
        let mut from = 711;
        for _ in 1..MAX_QUEUED_PAGES - 1 {
            let actions = h.answer(req, SyncResponse::Ordered { entries: page(10), next: from + 10 });
            from += 10;
            req = the_request(&actions, |r| *r == SyncRequest::Since { index: from, limit: MAX_PAGE_ENTRIES });
        }
        // The third page fills the queue: the next waits for one to be stored.
        let actions = h.answer(req, SyncResponse::Ordered { entries: page(10), next: from + 10 });
        assert!(sent(&actions).is_empty(), "{actions:?}");
        let done = OrderedDone { peer: p, accepted: 10, complete: true, more: true };
        let actions = h.handle(Event::OrderedDone(done));
        the_request(&actions, |r| *r == SyncRequest::Since { index: from + 10, limit: MAX_PAGE_ENTRIES });
        assert_eq!(h.sync.synced(), 10);
    }

    #[test]
    fn the_catch_up_queue_makes_room_for_the_peers_the_network_lists_now() {
        let mut h = Harness::new(logs(&[1]));
        let page = || (0..10).map(|i| HexBytes(vec![i])).collect::<Vec<_>>();
        // One peer fills its share of the queue.
        let catch_up = |h: &mut Harness, p: PeerId, pages: u64| -> Vec<Action> {
            let heads = heads_request(&h.connect(p));
            let mut actions = h.answer(heads, SyncResponse::Heads(vec![head(1, 5_000)]));
            for k in 0..pages {
                let since = the_request(&actions, |r| matches!(r, SyncRequest::Since { .. }));
                actions = h.answer(since, SyncResponse::Ordered { entries: page(), next: 10 * (k + 1) });
            }
            actions
        };
        catch_up(&mut h, PeerId::random(), MAX_QUEUED_PAGES as u64);
        // The network now lists no other peer: a second catch-up finds no
        // room and ends, its page not queued.
        h.sync.set_peers(0);
        let q = PeerId::random();
        let actions = catch_up(&mut h, q, 1);
        assert!(!actions.iter().any(|a| matches!(a, Action::QueueOrdered(_))), "{actions:?}");
        assert!(h.sync.catching_up.get(&q).is_none_or(|c| c.ending));
        // Listing a peer more makes room again.
        h.sync.set_peers(1);
        h.handle(Event::Disconnected(q));
        let actions = catch_up(&mut h, PeerId::random(), 1);
        assert!(actions.iter().any(|a| matches!(a, Action::QueueOrdered(_))), "{actions:?}");
    }

    #[test]
    fn a_catch_up_page_with_an_impossible_index_or_nothing_new_ends_the_catch_up() {
        let mut h = Harness::new(logs(&[1]));
        let p = PeerId::random();
        let heads = heads_request(&h.connect(p));
        let since = the_request(&h.answer(heads, SyncResponse::Heads(vec![head(1, 5_000)])), |r| {
            matches!(r, SyncRequest::Since { index: 0, .. })
        });
        // Three entries cannot end before index 3.
        let entries = vec![HexBytes(vec![1]), HexBytes(vec![2]), HexBytes(vec![3])];
        let actions = h.answer(since, SyncResponse::Ordered { entries, next: 2 });
        assert!(actions.is_empty(), "{actions:?}");
        assert!(h.sync.catching_up.is_empty());
        // A catch-up whose pages bring only entries held here ends, and the
        // peer is pulled log by log from then on, from a fresh cursor.
        let heads = heads_request(&h.handle(Event::Tick));
        let since = the_request(&h.answer(heads, SyncResponse::Heads(vec![head(1, 5_000)])), |r| {
            matches!(r, SyncRequest::Since { .. })
        });
        let actions = h.answer(since, SyncResponse::Ordered { entries: vec![HexBytes(vec![1])], next: 1 });
        let next = the_request(&actions, |r| matches!(r, SyncRequest::Since { index: 1, .. }));
        let actions = h.handle(Event::OrderedDone(OrderedDone { peer: p, accepted: 0, complete: true, more: true }));
        assert!(sent(&actions).is_empty(), "nothing new: no more pages");
        let actions = h.answer(next, SyncResponse::Ordered { entries: vec![HexBytes(vec![2])], next: 2 });
        assert!(sent(&actions).is_empty());
        let actions = h.handle(Event::OrderedDone(OrderedDone { peer: p, accepted: 0, complete: true, more: true }));
        assert!(actions.contains(&Action::SaveCursor { peer: p, index: 0 }), "{actions:?}");
        let heads = heads_request(&h.handle(Event::Tick));
        let actions = h.answer(heads, SyncResponse::Heads(vec![head(1, 5_000)]));
        the_request(&actions, |r| matches!(r, SyncRequest::Page { from: 1, .. }));
    }

    #[test]
    fn a_peer_that_keeps_wasting_rounds_is_dropped_and_what_it_held_is_free_for_others() {
        let mut h = Harness::new(logs(&[1]));
        let (p, q) = (PeerId::random(), PeerId::random());
        h.connect(p);
        h.connect(q);
        let mut dropped = false;
        for round in 0..super::super::score::MAX_FAULTS {
            let heads = heads_request(&h.handle(Event::Connected { peer: p, first: false }));
            let actions = h.answer(heads, SyncResponse::Heads(vec![head(1, 9)]));
            let page = the_request(&actions, |r| matches!(r, SyncRequest::Page { .. }));
            // Not the log asked for: wasted, and the log is free again.
            h.answer(page, SyncResponse::Page(vec![HexBytes(vec![round as u8])]));
            let actions = h.handle(Event::PageJudged(PageJudged {
                peer: p,
                author: author(1),
                asked: 1,
                accepted: 0,
                waiting: None,
                of_log: false,
            }));
            assert!(actions.contains(&Action::CountFault));
            dropped = actions.contains(&Action::Disconnect(p));
        }
        assert!(dropped, "dropped at the last fault");
        // The other peer may pull the log at once.
        let heads = heads_request(&h.handle(Event::Connected { peer: q, first: false }));
        let actions = h.answer(heads, SyncResponse::Heads(vec![head(1, 9)]));
        the_request(&actions, |r| matches!(r, SyncRequest::Page { .. }));
        // The dropped peer is turned away if it comes back early.
        assert_eq!(h.connect(p), vec![Action::Disconnect(p)]);
    }

    #[test]
    fn an_error_a_wrong_answer_a_timeout_or_a_lost_peer_frees_what_the_request_held() {
        let mut h = Harness::new(logs(&[1]));
        let (p, q) = (PeerId::random(), PeerId::random());
        h.connect(p);
        h.connect(q);
        let pull = |h: &mut Harness, peer| {
            let heads = heads_request(&h.handle(Event::Connected { peer, first: false }));
            let actions = h.answer(heads, SyncResponse::Heads(vec![head(1, 9)]));
            the_request(&actions, |r| matches!(r, SyncRequest::Page { .. }))
        };
        type End = Box<dyn Fn(&mut Harness, ReqId) -> Vec<Action>>;
        let ends: Vec<End> = vec![
            Box::new(|h, req| h.answer(req, SyncResponse::Error("no".into()))),
            Box::new(|h, req| h.answer(req, SyncResponse::Heads(vec![]))),
            Box::new(|h, req| h.handle(Event::Failed { req, timeout: true })),
            Box::new(move |h, _| h.handle(Event::Disconnected(p))),
        ];
        for (i, end) in ends.iter().enumerate() {
            let req = pull(&mut h, p);
            let actions = end(&mut h, req);
            assert_eq!(actions.contains(&Action::CountFault), i < 3, "case {i}: {actions:?}");
            pull(&mut h, q);
            h.sync.pulling.clear();
        }
        // An answer that comes after its request was given up is ignored.
        let req = pull(&mut h, p);
        h.handle(Event::Disconnected(p));
        assert!(h.answer(req, SyncResponse::Page(vec![])).is_empty());
    }

    #[test]
    fn evidence_and_withdrawn_entries_a_peer_holds_go_to_the_writer_and_a_tick_asks_for_withdrawn_ones_while_entries_wait()
     {
        let mut local = logs(&[1]);
        local.frozen.insert(author(1), 3);
        let mut h = Harness::new(local);
        let p = PeerId::random();
        let actions = h.connect(p);
        let eq = the_request(&actions, |r| *r == SyncRequest::Equivocations);
        let actions = h.answer(eq, SyncResponse::Equivocations(vec![HexBytes(vec![1]), HexBytes(vec![2])]));
        assert_eq!(actions, vec![Action::Submit { entries: vec![vec![1], vec![2]], fresh: true }]);
        // No entry waits: a tick does not ask for withdrawn entries.
        let actions = h.handle(Event::Tick);
        assert!(!sent(&actions).iter().any(|(_, _, r)| *r == SyncRequest::Withdrawn));
        h.handle(Event::Waiting { entries: vec![entry(&Keypair::from_seed([2; 32]), 5, "five")], fresh: true });
        let actions = h.handle(Event::Tick);
        assert!(sent(&actions).iter().any(|(_, _, r)| *r == SyncRequest::Withdrawn));
    }

    /// What the event loop would do with the machine's actions, kept so that
    /// their outcomes can be fed back in any order.
    #[derive(Default)]
    struct World {
        requests: Vec<(ReqId, PeerId, SyncRequest)>,
        pages: Vec<(PeerId, PublicKey, usize)>,
        ordered: std::collections::VecDeque<OrderedPage>,
    }

    impl World {
        fn take(&mut self, actions: Vec<Action>) {
            for a in actions {
                match a {
                    Action::Send { req, peer, request } => self.requests.push((req, peer, request)),
                    Action::JudgePage { peer, author, entries, .. } => self.pages.push((peer, author, entries.len())),
                    Action::QueueOrdered(p) => self.ordered.push_back(p),
                    _ => {}
                }
            }
        }
    }

    /// The machine's own bookkeeping, whatever happened before.
    fn check_invariants(h: &Harness, w: &World) {
        let s = &h.sync;
        let outstanding: Vec<&(PeerId, Asked)> = s.requests.values().collect();
        for p in s.requests.values().map(|(p, _)| p) {
            assert!(s.connected.contains(p), "a request to a peer that is gone");
        }
        for author in &s.pulling {
            let pages = outstanding.iter().filter(|(_, a)| matches!(a, Asked::Page(x, _) if x == author)).count();
            let judged = w.pages.iter().filter(|(_, a, _)| a == author).count();
            assert!(pages + judged <= 1, "a log pulled twice at once");
        }
        let mut queued = 0;
        for (peer, c) in &s.catching_up {
            let since = outstanding.iter().filter(|(p, a)| p == peer && matches!(a, Asked::Since(_))).count();
            assert!(since <= 1, "two catch-up pages asked of one peer at once");
            assert_eq!(c.asking, since == 1, "`asking` is whether a catch-up page is asked for");
            assert!(c.queued <= MAX_QUEUED_PAGES);
            queued += c.queued;
        }
        assert!(queued <= s.ordered_capacity);
        assert!(s.pending.len() <= pending::MAX_PENDING);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn the_machine_keeps_its_bookkeeping_whatever_the_order_of_events(
            steps in proptest::collection::vec((0u8..9, 0usize..64, 0u64..2_000), 1..200)
        ) {
            let peers: Vec<PeerId> = (0..3).map(|_| PeerId::random()).collect();
            let mut h = Harness::new(logs(&[1, 2, 3]));
            let mut w = World::default();
            for (kind, pick, n) in steps {
                let peer = peers[pick % peers.len()];
                let actions = match kind {
                    0 => h.handle(Event::Connected { peer, first: n % 2 == 0 }),
                    1 => {
                        w.requests.retain(|(_, p, _)| *p != peer);
                        h.handle(Event::Disconnected(peer))
                    }
                    2 => h.handle(Event::Tick),
                    3 | 4 if !w.requests.is_empty() => {
                        let (req, _, request) = w.requests.swap_remove(pick % w.requests.len());
                        let k = (n % 40) as usize;
                        let entries = || (0..k).map(|i| HexBytes(vec![i as u8])).collect::<Vec<_>>();
                        let response = match (kind, request) {
                            (4, _) => SyncResponse::Error("no".into()),
                            (_, SyncRequest::Heads) => {
                                SyncResponse::Heads(vec![head(1, n), head(2, n / 3), head(3, n % 7)])
                            }
                            (_, SyncRequest::Page { .. }) => SyncResponse::Page(entries()),
                            (_, SyncRequest::Since { index, .. }) => {
                                SyncResponse::Ordered { entries: entries(), next: index + k as u64 + n % 3 }
                            }
                            (_, SyncRequest::Checkpoints) => SyncResponse::Checkpoints(vec![]),
                            (_, SyncRequest::Equivocations) => SyncResponse::Equivocations(entries()),
                            (_, SyncRequest::Withdrawn) => SyncResponse::Withdrawn(vec![]),
                        };
                        h.handle(Event::Answer { req, response })
                    }
                    5 if !w.requests.is_empty() => {
                        let (req, ..) = w.requests.swap_remove(pick % w.requests.len());
                        h.handle(Event::Failed { req, timeout: n % 2 == 0 })
                    }
                    6 if !w.pages.is_empty() => {
                        let (peer, author, asked) = w.pages.swap_remove(pick % w.pages.len());
                        let accepted = if asked == 0 { 0 } else { (n as usize) % (asked + 1) };
                        let seq = h.local.head(&author) + accepted as u64;
                        h.local.heads.insert(author, seq);
                        h.local.stored += accepted as u64;
                        let of_log = n % 11 != 0;
                        h.handle(Event::PageJudged(PageJudged { peer, author, asked, accepted, waiting: None, of_log }))
                    }
                    7 if !w.ordered.is_empty() => {
                        let p = w.ordered.pop_front().expect("a queued page");
                        let accepted = (n as usize) % (p.entries.len() + 1);
                        h.local.stored += accepted as u64;
                        let complete = accepted == p.entries.len() || n % 2 == 0;
                        h.handle(Event::OrderedDone(OrderedDone { peer: p.peer, accepted, complete, more: p.more }))
                    }
                    8 => {
                        let key = Keypair::from_seed([(n % 5) as u8 + 1; 32]);
                        h.handle(Event::GossipWaits { peer, entry: entry(&key, n % 9 + 2, "gossip") })
                    }
                    _ => vec![],
                };
                // A request to a peer that is not connected fails at once in
                // the swarm; the machine must not count on its answer.
                w.take(actions);
                w.requests.retain(|(req, ..)| h.sync.requests.contains_key(req));
                check_invariants(&h, &w);
            }
        }
    }
}
