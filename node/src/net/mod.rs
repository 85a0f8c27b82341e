//! The network: a libp2p swarm owned by one event loop, which the rest of the
//! node talks to through a [`NetHandle`]. Gossipsub spreads new entries;
//! request-response catch-up sync pulls what a node missed.
//!
//! Only peers the roster names may connect. Every gossiped entry is judged by
//! the writer before it travels further: accepted (or already known) entries
//! are forwarded, invalid ones rejected, and entries whose dependencies have
//! not arrived wait in a bounded pending pool while a sync pulls them.

pub mod codec;
mod pending;
mod score;
pub mod watch;

use crate::ingest::{Submission, WriterHandle};
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::outcome::{Outcome, SubmitError};
use crate::witness::{self, Witness};
use codec::SyncCodec;
use futures::StreamExt;
use kp_schemas::api::PeerStatus;
use kp_schemas::checkpoint::CheckpointGossip;
use kp_schemas::model::{HexBytes, Roster};
use kp_schemas::wire::{self, LogHead, MAX_PAGE_ENTRIES, SyncRequest, SyncResponse};
use kp_schemas::{PublicKey, SignedEntry, crypto};
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, connection_limits, identify, identity, noise, ping,
    tcp, yamux,
};
use pending::Pending;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Entries per sync page asked for.
const PAGE: u32 = 512;
/// Catch-up pages received and waiting for the writer, per peer.
const MAX_QUEUED_PAGES: usize = 3;
/// Quiet links stay up: sync and gossip heartbeats are far more frequent.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Largest gossip message: an entry at its R9 bound, with room for framing,
/// plus one 8 KiB read. libp2p-gossipsub 0.50 checks this limit against its
/// whole read buffer, which can already hold up to 8 KiB of the next message;
/// without the extra room an entry near the bound followed closely by more
/// gossip makes the receiver drop the stream and every message buffered in it.
const MAX_GOSSIP: usize = kp_schemas::limits::MAX_ENTRY_BYTES + 1024 + 8 * 1024;
/// Control messages and subscriptions gossipsub reads in one frame, at most
/// (its default, set here so that the bound below follows it).
const MAX_CONTROL_BYTES: usize = 16 * 1024;
/// Message ids in one IHAVE this node sends. gossipsub's default (5,000
/// ids, 170 KB) makes a frame that no peer reads, whose stream then dies;
/// 400 ids of 34 bytes each on the wire, with the topic, stay within
/// [`MAX_CONTROL_BYTES`].
const MAX_IHAVE_IDS: usize = 400;

#[derive(Debug, Clone)]
pub struct NetConfig {
    pub listen: Vec<Multiaddr>,
    /// Dialled at start besides the roster's addresses.
    pub bootstrap: Vec<Multiaddr>,
    /// How often heads are compared with every peer.
    pub sync_interval: Duration,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
}

/// The bytes a checkpoint message takes in a sync response, without
/// encoding it twice.
fn encoded_len(m: &CheckpointGossip) -> usize {
    use kp_schemas::checkpoint::Fraud;
    match m {
        CheckpointGossip::Checkpoint { checkpoint, cosignatures } => 20 + checkpoint.0.len() + 96 * cosignatures.len(),
        CheckpointGossip::Fraud(Fraud::SplitView { first: a, second: b })
        | CheckpointGossip::Fraud(Fraud::WrongRoot { checkpoint: a, entry: b }) => 24 + a.0.len() + b.0.len(),
    }
}

/// Dial a roster peer at the roster's addresses: dialling by peer id alone
/// relies on a behaviour to remember addresses, which none here does after a
/// failed dial.
fn dial_opts(peer: PeerId, addrs: &[Multiaddr]) -> libp2p::swarm::dial_opts::DialOpts {
    libp2p::swarm::dial_opts::DialOpts::peer_id(peer).addresses(addrs.to_vec()).build()
}

/// Peer ids and addresses of every node the roster lists.
pub fn roster_peers(r: &Roster) -> Vec<(PeerId, Vec<Multiaddr>)> {
    let nodes = r
        .participants
        .iter()
        .flat_map(|p| &p.nodes)
        .chain(r.monitors.iter().flat_map(|m| &m.nodes))
        .chain(&r.observers);
    nodes
        .filter_map(|n| {
            let peer = n.peer_id.parse::<PeerId>().ok()?;
            Some((peer, n.addrs.iter().filter_map(|a| a.parse().ok()).collect()))
        })
        .collect()
}

enum Command {
    Status(oneshot::Sender<PeerStatus>),
    /// Stop the loop; it answers once the swarm is dropped.
    Shutdown(oneshot::Sender<()>),
}

/// Talks to the event loop.
#[derive(Clone)]
pub struct NetHandle {
    tx: mpsc::Sender<Command>,
}

impl NetHandle {
    /// Stop the event loop, so that it lets go of the writer.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub async fn status(&self) -> Option<PeerStatus> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Status(tx)).await.ok()?;
        rx.await.ok()
    }
}

/// The result of judging one gossiped entry, back to the loop.
struct Judged {
    id: MessageId,
    source: PeerId,
    bytes: Vec<u8>,
    result: Result<Outcome, SubmitError>,
}

/// A catch-up from one peer: at most one page asked for and a few waiting to
/// be stored, so memory stays bounded and transfer overlaps ingest.
#[derive(Default)]
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

struct OrderedPage {
    peer: PeerId,
    entries: Vec<Vec<u8>>,
    start: u64,
    /// The index after the page's last entry.
    next: u64,
    more: bool,
}

/// A catch-up page in the writer's queue: what its outcomes are read with.
struct QueuedPage {
    peer: PeerId,
    n: usize,
    start: u64,
    next: u64,
    more: bool,
}

/// What a sync request asked for, so that its answer is checked against it
/// and what it holds (a log, a catch-up) is freed whatever the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Heads,
    /// Catch-up in the peer's acceptance order, from this index.
    Since(u64),
    /// A log's page, from this position.
    Page(PublicKey, u64),
    Checkpoints,
    Equivocations,
    Withdrawn,
}

/// A log page handed to the writer, as it came back.
struct Synced {
    peer: PeerId,
    author: PublicKey,
    /// Entries in the page.
    asked: usize,
    /// Entries stored, not counting those already held.
    accepted: usize,
    /// An entry waits for another log's: the log is blocked, not stalled.
    waiting: bool,
    /// The page was the log asked for, from the position asked for.
    of_log: bool,
}

struct OrderedDone {
    peer: PeerId,
    accepted: usize,
    /// Every entry of the page was stored or already known.
    complete: bool,
    more: bool,
}

/// The result of handling one gossiped checkpoint message.
struct Witnessed {
    /// The gossip message judged; none for checkpoints pulled by sync.
    id: Option<MessageId>,
    source: PeerId,
    verdict: witness::Verdict,
    publish: Vec<CheckpointGossip>,
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    checkpoint_topic: IdentTopic,
    witness: Arc<Witness>,
    /// Checkpoints, cosignatures and fraud evidence to publish.
    checkpoints: mpsc::Receiver<CheckpointGossip>,
    witnessed_tx: mpsc::Sender<Witnessed>,
    witnessed_rx: mpsc::Receiver<Witnessed>,
    ledger: Arc<Ledger>,
    writer: WriterHandle,
    commands: mpsc::Receiver<Command>,
    announce: mpsc::Receiver<Vec<u8>>,
    judged_tx: mpsc::Sender<Judged>,
    judged_rx: mpsc::Receiver<Judged>,
    synced_tx: mpsc::Sender<Synced>,
    synced_rx: mpsc::Receiver<Synced>,
    /// Entries to wait in the pending pool; `true` for one not tried since
    /// the last resubmission.
    park_tx: mpsc::Sender<(Vec<u8>, bool)>,
    park_rx: mpsc::Receiver<(Vec<u8>, bool)>,
    /// Logs being pulled, so one log is pulled from one peer at a time.
    pulling: HashSet<PublicKey>,
    /// Logs whose last page stopped at an entry that waits for another log,
    /// with the peer to ask again.
    blocked: HashMap<PublicKey, PeerId>,
    /// Pages of other logs stored so far, and its value when each log's
    /// page was asked for: a log that blocks on a page judged before another
    /// log's page stored what it waits for must not wait for the next round.
    progress: u64,
    asked_at: HashMap<PublicKey, u64>,
    /// Peers this node is catching up from in their acceptance order.
    catching_up: HashMap<PeerId, CatchUp>,
    /// Peers whose acceptance order gave nothing: pulled log by log.
    stalled: HashSet<PeerId>,
    ordered_tx: mpsc::Sender<OrderedPage>,
    ordered_done_rx: mpsc::Receiver<OrderedDone>,
    requests: HashMap<request_response::OutboundRequestId, (PeerId, Asked)>,
    /// Peers whose answers waste rounds, and those dropped for it.
    scores: score::Scores,
    roster_addrs: Vec<(PeerId, Vec<Multiaddr>)>,
    pending: Pending,
    /// Entries stored when the pending pool was last resubmitted.
    retried_at: u64,
    synced: Arc<AtomicU64>,
    sync_started: Option<(Instant, u64)>,
    gossip_accepted: u64,
    gossip_rejected: u64,
    /// Peers' gossip streams that gossipsub stopped reading ([`watch`]).
    stream_failures: mpsc::UnboundedReceiver<watch::StreamFailure>,
    metrics: Arc<Metrics>,
}

/// What the event loop is given besides its configuration.
pub struct NetParts {
    pub ledger: Arc<Ledger>,
    pub writer: WriterHandle,
    pub witness: Arc<Witness>,
    /// Entries this node accepted from its own clients, to publish.
    pub announce: mpsc::Receiver<Vec<u8>>,
    /// Checkpoint gossip this node made, to publish.
    pub checkpoints: mpsc::Receiver<CheckpointGossip>,
    pub metrics: Arc<Metrics>,
}

/// Build the swarm and start the event loop.
pub async fn start(
    cfg: NetConfig,
    key: identity::Keypair,
    roster: &Roster,
    parts: NetParts,
) -> anyhow::Result<(NetHandle, PeerId)> {
    let NetParts { ledger, writer, witness, announce, checkpoints, metrics } = parts;
    if !watch::installed() {
        tracing::warn!(
            "the gossip stream watch is not part of the tracing subscriber: \
             a peer whose gossip can no longer be read stays connected, unheard"
        );
    }
    let local = key.public().to_peer_id();
    let topic = IdentTopic::new(wire::entries_topic(&roster.network));
    let checkpoint_topic = IdentTopic::new(wire::checkpoints_topic(&roster.network));
    let gossip_cfg = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(crypto::entry_hash(&m.data).0.to_vec()))
        .max_transmit_size(MAX_GOSSIP)
        .max_control_message_size(MAX_CONTROL_BYTES)
        .max_control_messages_sent(MAX_IHAVE_IDS)
        // Works from 3 to 100 nodes: small networks flood, large ones keep
        // a mesh of 6 with gossip to the rest.
        .mesh_n(6)
        .mesh_n_low(2)
        .mesh_n_high(12)
        .mesh_outbound_min(1)
        .heartbeat_interval(Duration::from_millis(500))
        .flood_publish(true)
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub config: {e}"))?;
    let roster_addrs = roster_peers(roster);
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)?
        .with_behaviour(|key| {
            let mut allowed = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
            for (p, _) in &roster_addrs {
                allowed.allow_peer(*p);
            }
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established_per_peer(Some(2))
                .with_max_established(Some(256))
                .with_max_pending_incoming(Some(64));
            Ok(Behaviour {
                allowed,
                limits: connection_limits::Behaviour::new(limits),
                identify: identify::Behaviour::new(identify::Config::new("/kpledger/1".into(), key.public())),
                ping: ping::Behaviour::default(),
                gossipsub: gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), gossip_cfg)
                    .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))?,
                sync: request_response::Behaviour::with_codec(
                    SyncCodec,
                    [(StreamProtocol::new(wire::SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
                ),
            })
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    swarm.behaviour_mut().gossipsub.subscribe(&topic)?;
    swarm.behaviour_mut().gossipsub.subscribe(&checkpoint_topic)?;
    for addr in cfg.listen {
        swarm.listen_on(addr)?;
    }
    for (peer, addrs) in &roster_addrs {
        if *peer == local {
            continue;
        }
        for a in addrs {
            swarm.add_peer_address(*peer, a.clone());
        }
        if !addrs.is_empty() {
            let _ = swarm.dial(dial_opts(*peer, addrs));
        }
    }
    for a in cfg.bootstrap {
        let _ = swarm.dial(a);
    }
    let (tx, commands) = mpsc::channel(64);
    let (judged_tx, judged_rx) = mpsc::channel(4096);
    let (synced_tx, synced_rx) = mpsc::channel(256);
    let (park_tx, park_rx) = mpsc::channel(4096);
    // Each peer queues at most MAX_QUEUED_PAGES: room for all of them, so
    // that one peer's pages never crowd out another's.
    let (ordered_tx, ordered_done_rx) =
        spawn_ordered_ingester(ledger.clone(), writer.clone(), MAX_QUEUED_PAGES * (roster_addrs.len() + 1));
    let (witnessed_tx, witnessed_rx) = mpsc::channel(1024);
    let el = EventLoop {
        swarm,
        topic,
        checkpoint_topic,
        witness,
        checkpoints,
        witnessed_tx,
        witnessed_rx,
        ledger,
        writer,
        commands,
        announce,
        judged_tx,
        judged_rx,
        synced_tx,
        synced_rx,
        park_tx,
        park_rx,
        pulling: HashSet::new(),
        blocked: HashMap::new(),
        progress: 0,
        asked_at: HashMap::new(),
        catching_up: HashMap::new(),
        stalled: HashSet::new(),
        ordered_tx,
        ordered_done_rx,
        requests: HashMap::new(),
        scores: score::Scores::default(),
        roster_addrs,
        pending: Pending::new(pending::MAX_PENDING, pending::MAX_PENDING_BYTES),
        retried_at: u64::MAX,
        synced: Arc::new(AtomicU64::new(0)),
        sync_started: None,
        gossip_accepted: 0,
        gossip_rejected: 0,
        stream_failures: watch::subscribe(),
        metrics,
    };
    tokio::spawn(el.run(cfg.sync_interval));
    Ok((NetHandle { tx }, local))
}

impl EventLoop {
    async fn run(mut self, sync_interval: Duration) {
        let mut tick = tokio::time::interval(sync_interval);
        let mut redial = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev),
                Some(cmd) = self.commands.recv() => {
                    if let Command::Shutdown(done) = cmd {
                        drop(self);
                        let _ = done.send(());
                        return;
                    }
                    self.on_command(cmd);
                }
                Some(bytes) = self.announce.recv() => self.publish(bytes),
                Some(msg) = self.checkpoints.recv() => self.publish_checkpoint(msg),
                Some(w) = self.witnessed_rx.recv() => self.on_witnessed(w),
                Some(j) = self.judged_rx.recv() => self.on_judged(j),
                Some(s) = self.synced_rx.recv() => self.on_synced(s),
                Some((bytes, fresh)) = self.park_rx.recv() => self.park(bytes, fresh),
                Some(done) = self.ordered_done_rx.recv() => self.on_ordered_done(done),
                Some(f) = self.stream_failures.recv() => self.on_stream_failure(f),
                _ = tick.tick() => self.ask_heads_all(),
                _ = redial.tick() => self.redial(),
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Status(tx) => {
                let _ = tx.send(PeerStatus {
                    peer_id: self.swarm.local_peer_id().to_string(),
                    listening: self.swarm.listeners().map(|a| a.to_string()).collect(),
                    connected: self.swarm.connected_peers().map(|p| p.to_string()).collect(),
                    pending: self.pending.len(),
                    synced_entries: self.synced.load(Ordering::Relaxed),
                    gossip_accepted: self.gossip_accepted,
                    gossip_rejected: self.gossip_rejected,
                });
            }
            Command::Shutdown(_) => unreachable!("handled in the loop"),
        }
    }

    fn publish(&mut self, bytes: Vec<u8>) {
        // No peers yet is normal at start: they pull it by sync.
        if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(self.topic.clone(), bytes) {
            tracing::debug!("gossip publish: {e}");
        }
    }

    fn publish_checkpoint(&mut self, msg: CheckpointGossip) {
        let topic = self.checkpoint_topic.clone();
        if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, kp_schemas::encoding::encode(&msg)) {
            tracing::debug!("checkpoint publish: {e}");
        }
    }

    /// Checkpoint gossip goes to the witness off the event loop: it reads
    /// the store and checks signatures.
    fn witness_gossip(&mut self, source: PeerId, id: MessageId, bytes: Vec<u8>) {
        let Ok(msg) = kp_schemas::encoding::decode::<CheckpointGossip>(&bytes) else {
            self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                &id,
                &source,
                MessageAcceptance::Reject,
            );
            return;
        };
        let (w, writer, tx) = (self.witness.clone(), self.writer.clone(), self.witnessed_tx.clone());
        tokio::spawn(async move {
            let (verdict, publish) = witness::handle(w, writer, msg).await;
            let _ = tx.send(Witnessed { id: Some(id), source, verdict, publish }).await;
        });
    }

    fn on_witnessed(&mut self, w: Witnessed) {
        let acceptance = match w.verdict {
            witness::Verdict::Accept => MessageAcceptance::Accept,
            witness::Verdict::Ignore => MessageAcceptance::Ignore,
            witness::Verdict::Reject => MessageAcceptance::Reject,
        };
        if let Some(id) = &w.id {
            self.swarm.behaviour_mut().gossipsub.report_message_validation_result(id, &w.source, acceptance);
        }
        for m in w.publish {
            self.publish_checkpoint(m);
        }
    }

    /// Fraud evidence first, since it freezes logs and is gossiped only
    /// once, then the newest checkpoint of each log, within the size limit
    /// (with room for the framing).
    fn checkpoints_to_share(&self) -> Result<Vec<CheckpointGossip>, crate::store::StoreError> {
        let frauds = self.ledger.frauds()?.into_iter().map(|f| CheckpointGossip::Fraud(f.fraud));
        let latest = crate::witness::latest_per_log(&self.witness)?.into_values().map(|s| s.gossip());
        let mut size = 1024;
        let mut out = Vec::new();
        for m in frauds.chain(latest) {
            size += encoded_len(&m);
            if size > wire::MAX_SYNC_RESPONSE {
                break;
            }
            out.push(m);
        }
        Ok(out)
    }

    /// Both entries of each equivocation kept here, within the size limit.
    fn equivocations_to_share(&self) -> Result<Vec<HexBytes>, crate::store::StoreError> {
        let mut size = 64;
        let mut out = Vec::new();
        for ev in self.ledger.evidence()? {
            let eq = &ev.equivocation;
            // The log froze before the pair: the held entry is withdrawn.
            let held = match self.ledger.entry_at(&eq.author, eq.seq)? {
                Some(e) => e.into_bytes(),
                None => match self.ledger.withdrawn_entry(&eq.existing)? {
                    Some(b) => b,
                    None => continue,
                },
            };
            size += held.len() + ev.conflicting_bytes.len() + 16;
            if size > wire::MAX_SYNC_RESPONSE {
                break;
            }
            out.push(HexBytes(held));
            out.push(HexBytes(ev.conflicting_bytes));
        }
        Ok(out)
    }

    /// A peer's equivocation evidence: the writer judges both entries of
    /// each pair, and the second of a pair whose first is held here is the
    /// evidence. Entries whose log has not come this far wait in the pending
    /// pool, like gossip.
    fn on_equivocations(&mut self, peer: PeerId, entries: Vec<HexBytes>) {
        if entries.is_empty() {
            return;
        }
        let (writer, park) = (self.writer.clone(), self.park_tx.clone());
        tokio::spawn(async move {
            let bytes: Vec<Vec<u8>> = entries.into_iter().map(|b| b.0).collect();
            let results = writer.submit_many(bytes.iter().cloned().map(Submission::Peer).collect()).await;
            for (r, b) in results.into_iter().zip(bytes) {
                match r {
                    Err(SubmitError::Refused(r)) if r.is_missing_dependency() => {
                        let _ = park.send((b, true)).await;
                    }
                    Ok(Outcome::Evidence { equivocation: eq, author_name, new }) => {
                        tracing::debug!(%peer, new, "equivocation evidence from a peer: {author_name} at {}", eq.seq);
                    }
                    _ => {}
                }
            }
        });
    }

    /// Checkpoints and fraud evidence a peer holds, asked for on
    /// connecting: each goes to the witness as if gossiped, in turn.
    fn on_checkpoints(&mut self, peer: PeerId, list: Vec<CheckpointGossip>) {
        let (w, writer, tx) = (self.witness.clone(), self.writer.clone(), self.witnessed_tx.clone());
        tokio::spawn(async move {
            for msg in list {
                let (verdict, publish) = witness::handle(w.clone(), writer.clone(), msg).await;
                if verdict == witness::Verdict::Reject {
                    tracing::warn!(%peer, "a checkpoint from sync was refused");
                }
                let _ = tx.send(Witnessed { id: None, source: peer, verdict, publish }).await;
            }
        });
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
        let local = *self.swarm.local_peer_id();
        let missing: Vec<(PeerId, Vec<Multiaddr>)> = self
            .roster_addrs
            .iter()
            .filter(|(p, a)| *p != local && !a.is_empty() && !connected.contains(p))
            .cloned()
            .collect();
        for (p, addrs) in missing {
            if let Err(e) = self.swarm.dial(dial_opts(p, &addrs)) {
                tracing::debug!(peer = %p, "redial: {e}");
            }
        }
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => tracing::info!("p2p listening on {address}"),
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                if self.scores.cooling(&peer_id, Instant::now()) {
                    tracing::debug!(%peer_id, "a peer dropped for wasting sync rounds came back early");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                tracing::info!(%peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                self.ask_heads(peer_id);
                // Evidence travels by gossip, which reaches only the nodes
                // up at the time: a node back from a stop asks for it.
                if num_established.get() == 1 {
                    for (req, asked) in [
                        (SyncRequest::Checkpoints, Asked::Checkpoints),
                        (SyncRequest::Equivocations, Asked::Equivocations),
                        (SyncRequest::Withdrawn, Asked::Withdrawn),
                    ] {
                        let id = self.swarm.behaviour_mut().sync.send_request(&peer_id, req);
                        self.requests.insert(id, (peer_id, asked));
                    }
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                tracing::info!(%peer_id, "peer disconnected");
                // Pulls from this peer will fail; let the next round retry.
                let stale: Vec<_> =
                    self.requests.iter().filter(|(_, (p, _))| *p == peer_id).map(|(id, _)| *id).collect();
                for id in stale {
                    if let Some((peer, asked)) = self.requests.remove(&id) {
                        self.release(peer, asked);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                if message.topic == self.checkpoint_topic.hash() {
                    self.witness_gossip(propagation_source, message_id, message.data);
                } else {
                    self.judge_gossip(propagation_source, message_id, message.data);
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

    fn judge_gossip(&mut self, source: PeerId, id: MessageId, bytes: Vec<u8>) {
        let writer = self.writer.clone();
        let tx = self.judged_tx.clone();
        tokio::spawn(async move {
            let result = writer.submit(Submission::Peer(bytes.clone())).await;
            let _ = tx.send(Judged { id, source, bytes, result }).await;
        });
    }

    fn on_judged(&mut self, j: Judged) {
        let acceptance = match &j.result {
            Ok(Outcome::Stored(_) | Outcome::Duplicate(_)) => MessageAcceptance::Accept,
            // Evidence of equivocation must reach every honest node, and so
            // must an entry withdrawn from a frozen log, which other logs'
            // entries may name: each is kept once, so forwarded once.
            Ok(Outcome::Evidence { .. }) => MessageAcceptance::Accept,
            Ok(Outcome::Withdrawn { new: true, .. }) => MessageAcceptance::Accept,
            Ok(Outcome::Withdrawn { new: false, .. }) => MessageAcceptance::Ignore,
            Err(SubmitError::Refused(r)) if r.is_missing_dependency() => {
                self.park(j.bytes, true);
                self.ask_heads(j.source);
                MessageAcceptance::Ignore
            }
            Err(SubmitError::Refused(r)) => {
                tracing::warn!(peer = %j.source, code = %r.code, "gossiped entry rejected: {}", r.message);
                MessageAcceptance::Reject
            }
            Err(_) => MessageAcceptance::Ignore,
        };
        match acceptance {
            MessageAcceptance::Accept => self.gossip_accepted += 1,
            MessageAcceptance::Reject => self.gossip_rejected += 1,
            MessageAcceptance::Ignore => {}
        }
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&j.id, &j.source, acceptance);
    }

    fn ask_heads_all(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        // Entries that wait may name one withdrawn from a frozen log, which
        // gossip brought while this node was away or before it froze.
        let withdrawn = !self.pending.is_empty() && !self.ledger.freeze_points().is_empty();
        for p in peers {
            self.ask_heads(p);
            if withdrawn {
                let id = self.swarm.behaviour_mut().sync.send_request(&p, SyncRequest::Withdrawn);
                self.requests.insert(id, (p, Asked::Withdrawn));
            }
        }
        self.retry_pending();
    }

    fn ask_heads(&mut self, peer: PeerId) {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, SyncRequest::Heads);
        self.requests.insert(id, (peer, Asked::Heads));
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
    fn fault(&mut self, peer: PeerId, why: &str) {
        self.metrics.sync_faults.inc();
        if self.scores.fault(peer, Instant::now()) {
            tracing::warn!(%peer, "dropping a peer whose sync answers keep wasting rounds: {why}");
            self.metrics.sync_peers_dropped.inc();
            self.stalled.remove(&peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        } else {
            tracing::debug!(%peer, "sync round wasted: {why}");
        }
    }

    fn on_sync(&mut self, ev: request_response::Event<SyncRequest, SyncResponse>) {
        match ev {
            request_response::Event::Message {
                peer,
                message: request_response::Message::Request { request, channel, .. },
                ..
            } => {
                let resp = self.serve(request);
                if self.swarm.behaviour_mut().sync.send_response(channel, resp).is_err() {
                    tracing::debug!(%peer, "sync response dropped: the peer went away");
                }
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { request_id, response },
                ..
            } => {
                let Some((_, asked)) = self.requests.remove(&request_id) else { return };
                match (asked, response) {
                    (Asked::Heads, SyncResponse::Heads(heads)) => self.on_heads(peer, heads),
                    (Asked::Page(a, from), SyncResponse::Page(entries)) => self.on_page(peer, a, from, entries),
                    (Asked::Since(from), SyncResponse::Ordered { entries, next }) => {
                        self.on_ordered(peer, from, entries, next)
                    }
                    (Asked::Checkpoints, SyncResponse::Checkpoints(list)) => self.on_checkpoints(peer, list),
                    (Asked::Equivocations, SyncResponse::Equivocations(entries))
                    | (Asked::Withdrawn, SyncResponse::Withdrawn(entries)) => self.on_equivocations(peer, entries),
                    (asked, SyncResponse::Error(e)) => {
                        tracing::warn!(%peer, "sync error from peer: {e}");
                        self.release(peer, asked);
                        self.fault(peer, "an error answer");
                    }
                    (asked, other) => {
                        tracing::warn!(%peer, ?asked, answer = other.kind(), "sync answer of the wrong type");
                        self.release(peer, asked);
                        self.fault(peer, "an answer of the wrong type");
                    }
                }
            }
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                tracing::debug!(%peer, "sync request failed: {error}");
                if let Some((_, asked)) = self.requests.remove(&request_id) {
                    self.release(peer, asked);
                    if matches!(error, request_response::OutboundFailure::Timeout) {
                        self.fault(peer, "no answer in time");
                    }
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, "sync request from peer failed: {error}")
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Answer a sync request from the store. Pages stop at the size limit.
    fn serve(&self, req: SyncRequest) -> SyncResponse {
        match req {
            SyncRequest::Heads => match self.ledger.heads() {
                Ok(h) => SyncResponse::Heads(
                    h.into_iter().map(|(author, h)| LogHead { author, seq: h.seq, hash: h.hash }).collect(),
                ),
                Err(e) => SyncResponse::Error(e.to_string()),
            },
            SyncRequest::Since { index, limit } => {
                // Room for the framing of each entry within the response limit.
                let budget = wire::MAX_SYNC_RESPONSE - 64 - 8 * MAX_PAGE_ENTRIES as usize;
                match self.ledger.ordered_bytes(index, limit.clamp(1, MAX_PAGE_ENTRIES) as usize, budget) {
                    Ok((entries, next)) => {
                        SyncResponse::Ordered { entries: entries.into_iter().map(HexBytes).collect(), next }
                    }
                    Err(e) => SyncResponse::Error(e.to_string()),
                }
            }
            // Room for the framing of each entry within the response limit.
            SyncRequest::Withdrawn => match self.ledger.withdrawn_bytes(
                MAX_PAGE_ENTRIES as usize,
                wire::MAX_SYNC_RESPONSE - 64 - 8 * MAX_PAGE_ENTRIES as usize,
            ) {
                Ok(out) => SyncResponse::Withdrawn(out.into_iter().map(HexBytes).collect()),
                Err(e) => SyncResponse::Error(e.to_string()),
            },
            SyncRequest::Equivocations => match self.equivocations_to_share() {
                Ok(out) => SyncResponse::Equivocations(out),
                Err(e) => SyncResponse::Error(e.to_string()),
            },
            SyncRequest::Checkpoints => match self.checkpoints_to_share() {
                Ok(out) => SyncResponse::Checkpoints(out),
                Err(e) => SyncResponse::Error(e.to_string()),
            },
            SyncRequest::Page { author, from, limit } => {
                // As for `Since`: reading stops at the budget, not only sending.
                let budget = wire::MAX_SYNC_RESPONSE - 64 - 8 * MAX_PAGE_ENTRIES as usize;
                match self.ledger.log_page_bytes(&author, from, limit.clamp(1, MAX_PAGE_ENTRIES) as usize, budget) {
                    Ok(entries) => SyncResponse::Page(entries.into_iter().map(HexBytes).collect()),
                    Err(e) => SyncResponse::Error(e.to_string()),
                }
            }
        }
    }

    fn on_heads(&mut self, peer: PeerId, heads: Vec<LogHead>) {
        // Far behind (or new): take the peer's entries in its acceptance
        // order, which never waits on a missing dependency.
        // Peers' numbers are untrusted: saturate rather than overflow.
        let behind: u64 = heads
            .iter()
            .map(|h| {
                let ours = self.ledger.head(&h.author).ok().flatten().map(|o| o.seq).unwrap_or(0);
                h.seq.saturating_sub(ours)
            })
            .fold(0u64, u64::saturating_add);
        if (behind > u64::from(PAGE) && !self.stalled.contains(&peer)) || self.catching_up.contains_key(&peer) {
            if let std::collections::hash_map::Entry::Vacant(v) = self.catching_up.entry(peer) {
                v.insert(CatchUp::default());
                let from = self.ledger.sync_cursor(&peer.to_string()).unwrap_or(0);
                self.ask_since(peer, from);
            }
            return;
        }
        let net = self.ledger.network();
        for h in heads {
            // A peer's heads are untrusted: pull only logs of roster members.
            if self.pulling.contains(&h.author) || net.role_of(&h.author).is_none() {
                continue;
            }
            // A frozen log is pulled up to its freeze point, no further.
            let ours = self.ledger.head(&h.author).ok().flatten();
            let until = h.seq.min(self.ledger.freeze_point(&h.author).unwrap_or(u64::MAX));
            if ours.as_ref().map_or(0, |o| o.seq) >= until {
                continue;
            }
            let from = ours.map(|o| o.seq + 1).unwrap_or(1);
            self.pull(peer, h.author, from);
        }
    }

    fn ask_since(&mut self, peer: PeerId, index: u64) {
        if self.sync_started.is_none() {
            self.sync_started = Some((Instant::now(), self.synced.load(Ordering::Relaxed)));
        }
        if let Some(c) = self.catching_up.get_mut(&peer) {
            c.asking = true;
        }
        let id =
            self.swarm.behaviour_mut().sync.send_request(&peer, SyncRequest::Since { index, limit: MAX_PAGE_ENTRIES });
        self.requests.insert(id, (peer, Asked::Since(index)));
    }

    /// A page in the peer's order goes to the ordered ingester; the next one
    /// is asked for at once while fewer than two wait to be stored.
    fn on_ordered(&mut self, peer: PeerId, from: u64, entries: Vec<HexBytes>, next: u64) {
        let Some(c) = self.catching_up.get_mut(&peer) else { return };
        c.asking = false;
        // A short page may only mean the size limit was hit: ask until empty.
        let more = !entries.is_empty();
        // Indices of entries the peer withdrew are empty, so a page may span
        // more indices than it has entries, never fewer. The cursor moves
        // from where it was asked: entry k of the page is at `from + k` or
        // later, so a page stored in part is asked again, never skipped.
        let start = from;
        if next < from + entries.len() as u64 {
            tracing::warn!(%peer, "catch-up page with an impossible index: stopping");
            self.stop_catching_up(peer);
            return;
        }
        let page = OrderedPage { peer, entries: entries.into_iter().map(|b| b.0).collect(), start, next, more };
        if self.ordered_tx.try_send(page).is_err() {
            self.stop_catching_up(peer);
            return;
        }
        c.queued += 1;
        if more && !c.ending {
            if c.queued < MAX_QUEUED_PAGES {
                self.ask_since(peer, next);
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

    fn on_ordered_done(&mut self, d: OrderedDone) {
        let total = self.synced.fetch_add(d.accepted as u64, Ordering::Relaxed) + d.accepted as u64;
        if let Some((t0, n0)) = self.sync_started
            && total / 10_000 != (total - d.accepted as u64) / 10_000
        {
            let rate = (total - n0) as f64 / t0.elapsed().as_secs_f64().max(1e-3);
            tracing::info!(synced = total, rate = format!("{rate:.0}/s"), "catching up");
        }
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
            self.ask_since(d.peer, next);
        } else if finished {
            if stored == 0 {
                // Nothing came of it: pull log by log from this peer from now
                // on, and start its acceptance order afresh if ever again.
                self.stalled.insert(d.peer);
                let _ = self.ledger.set_sync_cursor(&d.peer.to_string(), 0);
            }
            self.catching_up.remove(&d.peer);
            self.sync_started = None;
            if !d.more {
                tracing::info!(peer = %d.peer, synced = total, "caught up");
            }
            self.retry_pending();
        }
    }

    fn pull(&mut self, peer: PeerId, author: PublicKey, from: u64) {
        if self.sync_started.is_none() {
            self.sync_started = Some((Instant::now(), self.synced.load(Ordering::Relaxed)));
        }
        self.pulling.insert(author);
        self.asked_at.insert(author, self.progress);
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, SyncRequest::Page { author, from, limit: PAGE });
        self.requests.insert(id, (peer, Asked::Page(author, from)));
    }

    /// Hand a page to the writer off the loop; the outcome comes back
    /// through `synced_rx`.
    fn on_page(&mut self, peer: PeerId, author: PublicKey, from: u64, entries: Vec<HexBytes>) {
        let writer = self.writer.clone();
        let tx = self.synced_tx.clone();
        let park = self.park_tx.clone();
        let asked = entries.len();
        tokio::spawn(async move {
            // A page is the log asked for, position after position from the
            // one asked for. Anything else is not worth judging, and counts
            // against the peer; entries of a true page that arrived by gossip
            // meanwhile do not. The header check parses each entry without
            // copying it; the writer checks everything else.
            let mut bytes = Vec::with_capacity(asked);
            let mut of_log = true;
            for (i, b) in entries.into_iter().enumerate() {
                match SignedEntry::parse(b.0) {
                    Ok(e) if e.entry().author == author && e.entry().seq == from.saturating_add(i as u64) => {
                        bytes.push(e.into_bytes())
                    }
                    _ => {
                        of_log = false;
                        break;
                    }
                }
            }
            if !of_log {
                let _ = tx.send(Synced { peer, author, asked, accepted: 0, waiting: false, of_log }).await;
                return;
            }
            let results = writer.submit_many(bytes.iter().cloned().map(Submission::Peer).collect()).await;
            let mut accepted = 0;
            let mut first_blocked = true;
            for (r, b) in results.into_iter().zip(bytes) {
                match r {
                    // An entry already held is not progress: counted as
                    // such, a peer answering with one would be asked again
                    // at once, for ever.
                    Ok(Outcome::Duplicate(_) | Outcome::Withdrawn { .. }) => {}
                    Ok(Outcome::Stored(_)) => accepted += 1,
                    Ok(Outcome::Evidence { equivocation: eq, author_name, .. }) => {
                        tracing::warn!(%peer, "synced entry is equivocation evidence: {author_name} at {}", eq.seq)
                    }
                    // Only the first entry that waits for another log is
                    // worth keeping: the rest of the page waits for it (R3.gap)
                    // and is fetched again once it is in.
                    Err(SubmitError::Refused(r)) if r.is_missing_dependency() => {
                        if first_blocked {
                            let _ = park.send((b, true)).await;
                            first_blocked = false;
                        }
                    }
                    Err(e) => tracing::warn!(%peer, "synced entry refused: {e}"),
                }
            }
            let waiting = !first_blocked;
            let _ = tx.send(Synced { peer, author, asked, accepted, waiting, of_log }).await;
        });
    }

    fn on_synced(&mut self, s: Synced) {
        let Synced { peer, author, asked, accepted, waiting, of_log } = s;
        self.pulling.remove(&author);
        if !of_log {
            self.fault(peer, "a page that is not the log asked for");
            return;
        }
        if accepted > 0 {
            self.scores.useful(peer);
        } else if !waiting {
            // Nothing new and nothing to wait for (gossip brought the page's
            // entries meanwhile): the log is not pulled again from this peer
            // until the next heads round.
            if asked == 0 && self.pulling.is_empty() {
                self.sync_started = None;
            }
            return;
        }
        let total = self.synced.fetch_add(accepted as u64, Ordering::Relaxed) + accepted as u64;
        // Progress and rate every 10,000 entries, for a node catching up.
        if let Some((t0, n0)) = self.sync_started
            && total / 10_000 != (total - accepted as u64) / 10_000
        {
            let rate = (total - n0) as f64 / t0.elapsed().as_secs_f64().max(1e-3);
            tracing::info!(synced = total, rate = format!("{rate:.0}/s"), pending = self.pending.len(), "catching up");
        }
        if accepted > 0 {
            self.progress += 1;
            self.retry_pending();
            // Another log moved on: logs that waited for it may go on too.
            let waiting: Vec<_> = self.blocked.drain().collect();
            for (a, p) in waiting {
                self.pull_next(p, a);
            }
        }
        if asked > 0 && accepted == asked {
            // A full page: there may be more. Ask again from the new head.
            self.pull_next(peer, author);
        } else if asked > accepted
            && self.asked_at.get(&author).is_some_and(|a| a + u64::from(accepted > 0) < self.progress)
        {
            // Another log stored entries after this page was asked for,
            // perhaps the one this log waits for: pages are not reported
            // in the order the writer judged them.
            self.pull_next(peer, author);
        } else if asked > accepted {
            // This log waits for an entry of another log.
            self.blocked.insert(author, peer);
        } else if asked == 0 && self.pulling.is_empty() {
            self.sync_started = None;
        }
    }

    fn pull_next(&mut self, peer: PeerId, author: PublicKey) {
        if self.pulling.contains(&author) {
            return;
        }
        let from = match self.ledger.head(&author) {
            Ok(Some(h)) if self.ledger.freeze_point(&author).is_some_and(|f| h.seq >= f) => return,
            Ok(Some(h)) => h.seq + 1,
            Ok(None) => 1,
            Err(_) => return,
        };
        self.pull(peer, author, from);
    }

    /// Submit every waiting entry again, in one batch; those still missing
    /// something come back through `park`.
    /// A fresh entry may wait for something stored before it arrived here, so
    /// it makes the next resubmission happen even without new entries.
    fn park(&mut self, bytes: Vec<u8>, fresh: bool) {
        if fresh {
            self.retried_at = u64::MAX;
        }
        self.pending.insert(bytes);
    }

    fn retry_pending(&mut self) {
        // Waiting entries can only succeed once something new was stored:
        // without that, resubmitting them would only check their signatures
        // again.
        let stored = self.ledger.entry_count();
        if self.pending.is_empty() || stored == self.retried_at {
            return;
        }
        self.retried_at = stored;
        let ledger = self.ledger.clone();
        let bytes = self.pending.ready(|a| ledger.head(a).ok().flatten().map_or(0, |h| h.seq));
        if bytes.is_empty() {
            return;
        }
        let writer = self.writer.clone();
        let park = self.park_tx.clone();
        tokio::spawn(async move {
            let results = writer.submit_many(bytes.iter().cloned().map(Submission::Peer).collect()).await;
            for (r, b) in results.into_iter().zip(bytes) {
                if let Err(SubmitError::Refused(r)) = r
                    && r.is_missing_dependency()
                {
                    let _ = park.send((b, false)).await;
                }
            }
        });
    }
}

/// Takes pages in a peer's acceptance order, one after the other, so that no
/// entry reaches the writer before those it depends on; records how far it
/// got, so an interrupted catch-up resumes there.
fn spawn_ordered_ingester(
    ledger: Arc<Ledger>,
    writer: WriterHandle,
    capacity: usize,
) -> (mpsc::Sender<OrderedPage>, mpsc::Receiver<OrderedDone>) {
    let (tx, mut rx) = mpsc::channel::<OrderedPage>(capacity.max(MAX_QUEUED_PAGES + 1));
    let (done_tx, done_rx) = mpsc::channel(16);
    // Two stages, so that the next page is verified while the writer
    // judges and syncs this one: pages are queued in the order they came,
    // and their outcomes read in that order.
    let (queued_tx, mut queued_rx) = mpsc::channel::<(QueuedPage, crate::ingest::Queued)>(1);
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
            let n = p.n;
            let results = queued.outcomes().await;
            let accepted = results.iter().filter(|r| matches!(r, Ok(Outcome::Stored(_)))).count();
            // Evidence is not an entry of the log: the cursor stops before
            // it. An entry withdrawn from a frozen log is kept and passed.
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
            let cursor = if stored == n { p.next } else { p.start + stored as u64 };
            let behind_a_stop = stopped.get(&p.peer).is_some_and(|at| p.start > *at);
            if !behind_a_stop {
                stopped.remove(&p.peer);
                if stored < n {
                    stopped.insert(p.peer, cursor);
                }
                if let Err(e) = ledger.set_sync_cursor(&p.peer.to_string(), cursor) {
                    tracing::warn!("saving the sync cursor: {e}");
                }
            }
            let done = OrderedDone { peer: p.peer, accepted, complete: stored == n && !behind_a_stop, more: p.more };
            if done_tx.send(done).await.is_err() {
                return;
            }
        }
    });
    (tx, done_rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::checkpoint::{Cosignature, Fraud};
    use kp_schemas::{PublicKey, SignatureBytes};

    #[test]
    fn encoded_len_is_the_encoded_length() {
        let cs = Cosignature { witness: PublicKey([1; 32]), signature: SignatureBytes([2; 64]) };
        for m in [
            CheckpointGossip::Checkpoint { checkpoint: HexBytes(vec![7; 150]), cosignatures: vec![cs.clone(), cs] },
            CheckpointGossip::Fraud(Fraud::SplitView { first: HexBytes(vec![1; 10]), second: HexBytes(vec![2; 20]) }),
            CheckpointGossip::Fraud(Fraud::WrongRoot { checkpoint: HexBytes(vec![1; 3]), entry: HexBytes(vec![]) }),
        ] {
            assert_eq!(encoded_len(&m), kp_schemas::encoding::encode(&m).len(), "{m:?}");
        }
    }
}
