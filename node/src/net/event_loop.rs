//! The one task that owns the swarm. It turns swarm events into the sync
//! machine's events, carries out the machine's actions, and judges gossip
//! through the writer and the witness. Work it hands off (the writer, the
//! witness) comes back through one set of futures; the loop itself never
//! waits for the disk, except to save a catch-up cursor the machine resets.

use super::gossip::{self, Fate, Judged, Witnessed};
use super::intake;
use super::swarm::{self, Behaviour, BehaviourEvent, PeerDiff, Peers, Topics, dial_opts};
use super::sync::{self, Action, Event, OrderedDone, OrderedPage, ReqId};
use super::{Command, serve, watch};
use crate::catchup::Gate;
use crate::ingest::WriterHandle;
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::witness::Witness;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use kp_schemas::PublicKey;
use kp_schemas::api::PeerStatus;
use kp_schemas::checkpoint::CheckpointGossip;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{PeerId, Swarm};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What handed-off work brings back to the loop.
pub(super) enum Done {
    Sync(Event),
    Judged(Judged),
    Witnessed(Vec<Witnessed>),
}

pub(super) struct EventLoop {
    pub swarm: Swarm<Behaviour>,
    pub topics: Topics,
    pub sync: sync::Sync,
    pub ledger: Arc<Ledger>,
    pub writer: WriterHandle,
    pub witness: Arc<Witness>,
    pub metrics: Arc<Metrics>,
    pub commands: mpsc::Receiver<Command>,
    /// Entries this node accepted from its own clients, to publish.
    pub announce: mpsc::Receiver<Vec<u8>>,
    /// Checkpoints, cosignatures and fraud evidence to publish.
    pub checkpoints: mpsc::Receiver<CheckpointGossip>,
    pub ordered: mpsc::Sender<OrderedPage>,
    pub ordered_done: mpsc::Receiver<OrderedDone>,
    /// Peers' gossip streams that gossipsub stopped reading ([`watch`]).
    pub stream_failures: mpsc::UnboundedReceiver<watch::StreamFailure>,
    /// The nodes the newest roster version lists, but this one.
    pub peers: Peers,
    /// Marked changed when a committed batch changed the network.
    pub versions: tokio::sync::watch::Receiver<u64>,
    /// Own logs the writer holds until a peer's heads say how far they go.
    pub catch_up: Arc<Gate>,
    pub requests: HashMap<OutboundRequestId, ReqId>,
    pub work: FuturesUnordered<BoxFuture<'static, Option<Done>>>,
    pub gossip_accepted: u64,
    pub gossip_rejected: u64,
}

/// The ledger as the sync machine reads it, for one event. The network's
/// logs are read out of the ledger at most once per event, not once per log
/// head a peer sends.
struct Logs<'a> {
    ledger: &'a Ledger,
    logs: std::cell::OnceCell<HashSet<PublicKey>>,
}

impl sync::Local for Logs<'_> {
    fn head(&self, author: &PublicKey) -> u64 {
        self.ledger.head(author).ok().flatten().map_or(0, |h| h.seq)
    }
    fn freeze_point(&self, author: &PublicKey) -> Option<u64> {
        self.ledger.freeze_point(author)
    }
    fn any_frozen(&self) -> bool {
        !self.ledger.freeze_points().is_empty()
    }
    fn is_member(&self, author: &PublicKey) -> bool {
        // Replaced keys' logs too: a node that was away through a rotation
        // still fetches the old log up to where it was closed.
        self.logs.get_or_init(|| self.ledger.network().log_keys().into_iter().collect()).contains(author)
    }
    fn sync_cursor(&self, peer: &PeerId) -> u64 {
        self.ledger.sync_cursor(&peer.to_string()).unwrap_or(0)
    }
    fn stored(&self) -> u64 {
        self.ledger.entry_count()
    }
}

impl EventLoop {
    pub async fn run(mut self, sync_interval: Duration) {
        let mut tick = tokio::time::interval(sync_interval);
        let mut redial = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev),
                Some(cmd) = self.commands.recv() => match cmd {
                    Command::Shutdown(done) => {
                        drop(self);
                        let _ = done.send(());
                        return;
                    }
                    Command::Status(tx) => {
                        let _ = tx.send(self.status());
                    }
                },
                Some(bytes) = self.announce.recv() => self.publish(bytes),
                Some(msg) = self.checkpoints.recv() => self.publish_checkpoint(msg),
                Some(done) = self.work.next() => match done {
                    Some(Done::Sync(ev)) => self.on_sync_event(ev),
                    Some(Done::Judged(j)) => self.on_judged(j),
                    Some(Done::Witnessed(list)) => list.into_iter().for_each(|w| self.on_witnessed(w)),
                    None => {}
                },
                Some(done) = self.ordered_done.recv() => self.on_sync_event(Event::OrderedDone(done)),
                Some(f) = self.stream_failures.recv() => self.on_stream_failure(f),
                _ = tick.tick() => self.on_sync_event(Event::Tick),
                _ = redial.tick() => self.redial(),
                Ok(()) = self.versions.changed() => self.on_network_changed(),
            }
        }
    }

    fn status(&self) -> PeerStatus {
        PeerStatus {
            peer_id: self.swarm.local_peer_id().to_string(),
            listening: self.swarm.listeners().map(|a| a.to_string()).collect(),
            connected: self.swarm.connected_peers().map(|p| p.to_string()).collect(),
            pending: self.sync.pending(),
            synced_entries: self.sync.synced(),
            gossip_accepted: self.gossip_accepted,
            gossip_rejected: self.gossip_rejected,
        }
    }

    /// Run work off the loop; what it returns comes back to the loop.
    fn spawn(&mut self, work: impl Future<Output = Done> + Send + 'static) {
        let task = tokio::spawn(work);
        self.work
            .push(Box::pin(async move { task.await.map_err(|e| tracing::error!("network work failed: {e}")).ok() }));
    }

    /// Feed the sync machine an event and carry out what it asks for.
    fn on_sync_event(&mut self, ev: Event) {
        let logs = Logs { ledger: &self.ledger, logs: Default::default() };
        self.sync.handle(&logs, Instant::now(), ev);
        let actions: Vec<Action> = self.sync.actions().collect();
        for a in actions {
            self.act(a);
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Send { req, peer, request } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.requests.insert(id, req);
            }
            Action::JudgePage { peer, author, from, entries } => {
                let writer = self.writer.clone();
                self.spawn(async move {
                    Done::Sync(Event::PageJudged(intake::judge_page(writer, peer, author, from, entries).await))
                });
            }
            Action::QueueOrdered(page) => {
                if let Err(e) = self.ordered.try_send(page) {
                    // The machine keeps within the queue's capacity; should
                    // it not, the page counts as not stored.
                    let page = e.into_inner();
                    tracing::error!(peer = %page.peer, "the catch-up queue is full");
                    let done = OrderedDone { peer: page.peer, accepted: 0, complete: false, more: page.more };
                    self.on_sync_event(Event::OrderedDone(done));
                }
            }
            Action::Submit { entries, fresh } => {
                let writer = self.writer.clone();
                self.spawn(async move {
                    Done::Sync(Event::Waiting { entries: intake::submit(writer, entries).await, fresh })
                });
            }
            Action::Witness { peer, list } => {
                let (w, writer) = (self.witness.clone(), self.writer.clone());
                self.spawn(async move { Done::Witnessed(gossip::witness_all(w, writer, peer, list).await) });
            }
            Action::SaveCursor { peer, index } => {
                if let Err(e) = self.ledger.set_sync_cursor(&peer.to_string(), index) {
                    tracing::warn!("saving the sync cursor: {e}");
                }
            }
            Action::Disconnect(peer) => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Action::CountFault => {
                self.metrics.sync_faults.inc();
            }
            Action::CountDropped => {
                self.metrics.sync_peers_dropped.inc();
            }
        }
    }

    fn publish(&mut self, bytes: Vec<u8>) {
        // No peers yet is normal at start: they pull it by sync.
        if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(self.topics.entries.clone(), bytes) {
            tracing::debug!("gossip publish: {e}");
        }
    }

    fn publish_checkpoint(&mut self, msg: CheckpointGossip) {
        let topic = self.topics.checkpoints.clone();
        if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, kp_schemas::encoding::encode(&msg)) {
            tracing::debug!("checkpoint publish: {e}");
        }
    }

    fn on_judged(&mut self, j: Judged) {
        let fate = Fate::of(&j.result);
        match fate {
            Fate::Forward => self.gossip_accepted += 1,
            Fate::Reject => {
                self.gossip_rejected += 1;
                if let Err(crate::outcome::SubmitError::Refused(r)) = &j.result {
                    tracing::warn!(peer = %j.source, code = %r.code, "gossiped entry rejected: {}", r.message);
                }
            }
            Fate::Drop => {}
            Fate::Wait => self.on_sync_event(Event::GossipWaits { peer: j.source, entry: j.bytes }),
        }
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&j.id, &j.source, fate.acceptance());
    }

    fn on_witnessed(&mut self, w: Witnessed) {
        if let Some(id) = &w.id {
            let acceptance = gossip::checkpoint_acceptance(w.verdict);
            self.swarm.behaviour_mut().gossipsub.report_message_validation_result(id, &w.source, acceptance);
        }
        for m in w.publish {
            self.publish_checkpoint(m);
        }
    }

    /// gossipsub stopped reading a peer's gossip on one connection (see
    /// [`watch`]): close that connection, so that the peer is dialled again
    /// and heard on a new one, instead of staying connected and unheard.
    fn on_stream_failure(&mut self, f: watch::StreamFailure) {
        // Another node of this process holds the connection, or it is gone.
        if !self.swarm.close_connection(f.connection) {
            return;
        }
        let reason = f.reason();
        self.metrics.gossip_connection_closed(reason);
        tracing::warn!(
            peer = %f.peer,
            reason,
            "closed the connection: the peer sent gossip this node cannot read ({}); \
             nothing more it gossips on that connection would be read",
            f.error
        );
    }

    fn redial(&mut self) {
        let connected: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        let missing: Vec<_> = self
            .peers
            .iter()
            .filter(|(p, a)| !a.is_empty() && !connected.contains(p))
            .map(|(p, a)| (*p, a.clone()))
            .collect();
        for (p, addrs) in missing {
            if let Err(e) = self.swarm.dial(dial_opts(p, &addrs)) {
                tracing::debug!(peer = %p, "redial: {e}");
            }
        }
    }

    /// A governance entry changed the network, here or at a peer: let in
    /// and dial the nodes it lists now, and turn away those it no longer
    /// lists (a machine replaced by another).
    fn on_network_changed(&mut self) {
        let network = self.ledger.network();
        let next = swarm::peers_of(&network, self.swarm.local_peer_id());
        let diff = PeerDiff::between(&self.peers, &next);
        self.peers = next;
        if diff.is_empty() {
            return;
        }
        tracing::info!(
            version = network.version,
            added = diff.added.len(),
            removed = diff.removed.len(),
            moved = diff.moved.len(),
            "the network's node list changed"
        );
        for p in diff.removed {
            // libp2p-allow-block-list closes every connection to a peer it
            // disallows, and refuses the peer from then on.
            self.swarm.behaviour_mut().allowed.disallow_peer(p);
            tracing::info!(peer = %p, "peer no longer listed: disconnected, and refused from now on");
        }
        for (p, addrs) in diff.added.into_iter().chain(diff.moved) {
            self.swarm.behaviour_mut().allowed.allow_peer(p);
            for a in &addrs {
                self.swarm.add_peer_address(p, a.clone());
            }
            if !addrs.is_empty()
                && !self.swarm.is_connected(&p)
                && let Err(e) = self.swarm.dial(dial_opts(p, &addrs))
            {
                tracing::debug!(peer = %p, "dial: {e}");
            }
        }
        self.sync.set_peers(self.peers.len());
    }

    /// A peer's heads: own logs waiting for them learn how far they go.
    fn hear_heads(&self, peer: PeerId, heads: &[kp_schemas::wire::LogHead]) {
        if self.catch_up.is_empty() {
            return;
        }
        let reported: HashMap<PublicKey, u64> = heads.iter().map(|h| (h.author, h.seq)).collect();
        let held = |k: &PublicKey| self.ledger.head(k).ok().flatten().map_or(0, |h| h.seq);
        self.catch_up.heard(peer, |k| reported.get(k).copied(), held);
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => tracing::info!("p2p listening on {address}"),
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                tracing::info!(%peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                self.on_sync_event(Event::Connected { peer: peer_id, first: num_established.get() == 1 });
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                tracing::info!(%peer_id, "peer disconnected");
                self.catch_up.gone(&peer_id);
                self.on_sync_event(Event::Disconnected(peer_id));
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source: source,
                message_id: id,
                message,
            })) => {
                if message.topic == self.topics.checkpoints.hash() {
                    // The witness reads the store and checks signatures.
                    let Ok(msg) = kp_schemas::encoding::decode::<CheckpointGossip>(&message.data) else {
                        let gossip = &mut self.swarm.behaviour_mut().gossipsub;
                        gossip.report_message_validation_result(&id, &source, MessageAcceptance::Reject);
                        return;
                    };
                    let (w, writer) = (self.witness.clone(), self.writer.clone());
                    self.spawn(async move { Done::Witnessed(vec![gossip::witness(w, writer, source, id, msg).await]) });
                } else {
                    let writer = self.writer.clone();
                    self.spawn(async move { Done::Judged(gossip::judge(writer, source, id, message.data).await) });
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(ev)) => self.on_sync(ev),
            SwarmEvent::IncomingConnectionError { error, .. } => {
                tracing::debug!("incoming connection refused: {error}")
            }
            SwarmEvent::OutgoingConnectionError { error, .. } => tracing::debug!("dial failed: {error}"),
            _ => {}
        }
    }

    fn on_sync(&mut self, ev: request_response::Event<kp_schemas::wire::SyncRequest, kp_schemas::wire::SyncResponse>) {
        match ev {
            request_response::Event::Message {
                peer,
                message: request_response::Message::Request { request, channel, .. },
                ..
            } => {
                let resp = serve::answer(&self.ledger, &self.witness, request);
                if self.swarm.behaviour_mut().sync.send_response(channel, resp).is_err() {
                    tracing::debug!(%peer, "sync response dropped: the peer went away");
                }
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { request_id, response },
                ..
            } => {
                if let Some(req) = self.requests.remove(&request_id) {
                    if let kp_schemas::wire::SyncResponse::Heads(heads) = &response {
                        self.hear_heads(peer, heads);
                    }
                    self.on_sync_event(Event::Answer { req, response });
                }
            }
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                tracing::debug!(%peer, "sync request failed: {error}");
                if let Some(req) = self.requests.remove(&request_id) {
                    let timeout = matches!(error, request_response::OutboundFailure::Timeout);
                    self.on_sync_event(Event::Failed { req, timeout });
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, "sync request from peer failed: {error}")
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
