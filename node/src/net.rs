//! The network: a libp2p swarm owned by one event loop, which the rest of the
//! node talks to through a [`NetHandle`]. Gossipsub spreads new entries and
//! checkpoints; request-response sync pulls what a node missed.
//!
//! One concern per file:
//! - `sync`: the sync rules, a state machine with no I/O;
//! - `gossip`: what arrives by gossip, and what becomes of it;
//! - `intake`: what sync brings, handed to the writer;
//! - `serve`: answers to peers' sync requests;
//! - `swarm`: protocols, limits, and who may connect (the nodes the newest
//!   roster version lists);
//! - `event_loop`: the task that owns the swarm and carries out the rest;
//! - [`codec`], `pending`, `score` and [`watch`]: the pieces they use.

pub mod codec;
mod event_loop;
mod gossip;
mod intake;
mod pending;
mod score;
mod serve;
mod swarm;
mod sync;
pub mod watch;

use crate::ingest::WriterHandle;
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::witness::Witness;
use kp_schemas::api::PeerStatus;
use kp_schemas::checkpoint::CheckpointGossip;
use libp2p::{Multiaddr, PeerId, identity};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The peer-to-peer settings of a node.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Where to listen for peers (`/ip4/0.0.0.0/tcp/7171` by default).
    pub listen: Vec<Multiaddr>,
    /// Dialled at start besides the roster's addresses.
    pub bootstrap: Vec<Multiaddr>,
    /// How often heads are compared with every peer.
    pub sync_interval: Duration,
    /// Hold every own log until it is caught up from a peer, not only the
    /// logs whose store holds no entry: for a node restored from a backup,
    /// whose logs may go further than its store.
    pub catch_up_first: bool,
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

    /// This node's place in the network, as `GET /v1/peers` shows it;
    /// `None` once the event loop has stopped.
    pub async fn status(&self) -> Option<PeerStatus> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Status(tx)).await.ok()?;
        rx.await.ok()
    }
}

/// What the event loop is given besides its configuration.
pub struct NetParts {
    /// The ledger that heads, sync answers and cursors are read from.
    pub ledger: Arc<Ledger>,
    /// The writer thread, which judges what gossip and sync bring exactly
    /// as it judges a client's submission.
    pub writer: WriterHandle,
    /// The witness, which judges gossiped checkpoints and fraud claims.
    pub witness: Arc<Witness>,
    /// Entries this node accepted from its own clients, to publish.
    pub announce: mpsc::Receiver<Vec<u8>>,
    /// Checkpoint gossip this node made, to publish.
    pub checkpoints: mpsc::Receiver<CheckpointGossip>,
    /// The node's metrics: sync faults, dropped peers, broken gossip
    /// streams.
    pub metrics: Arc<Metrics>,
    /// Own logs the writer holds until they are caught up: the loop tells
    /// it what peers' heads say.
    pub catch_up: Arc<crate::catchup::Gate>,
}

/// Build the swarm and start the event loop. Whom it lets in and dials
/// follows the ledger's newest roster version, from start on.
pub async fn start(cfg: NetConfig, key: identity::Keypair, parts: NetParts) -> anyhow::Result<(NetHandle, PeerId)> {
    let NetParts { ledger, writer, witness, announce, checkpoints, metrics, catch_up } = parts;
    if !watch::installed() {
        tracing::warn!(
            "the gossip stream watch is not part of the tracing subscriber: \
             a peer whose gossip can no longer be read stays connected, unheard"
        );
    }
    let local = key.public().to_peer_id();
    // Subscribed before the network is read: a version committed in
    // between is then seen as a change, never missed.
    let versions = ledger.network_versions();
    let network = ledger.network();
    let topics = swarm::Topics::of(&network.network);
    let peers = swarm::peers_of(&network, &local);
    let swarm = swarm::build(key, &peers, &topics, cfg.listen, cfg.bootstrap)?;
    let sync = sync::Sync::new(peers.len());
    // Room for as many peers as the network may come to list: the machine
    // keeps within the bound for the peers listed now.
    let (ordered, ordered_done) =
        intake::spawn_ordered(ledger.clone(), writer.clone(), sync::Sync::max_ordered_capacity());
    let (tx, commands) = mpsc::channel(64);
    let el = event_loop::EventLoop {
        swarm,
        topics,
        sync,
        ledger,
        writer,
        witness,
        metrics,
        commands,
        announce,
        checkpoints,
        ordered,
        ordered_done,
        stream_failures: watch::subscribe(),
        peers,
        versions,
        catch_up,
        requests: HashMap::new(),
        work: Default::default(),
        gossip_accepted: 0,
        gossip_rejected: 0,
    };
    tokio::spawn(el.run(cfg.sync_interval));
    Ok((NetHandle { tx }, local))
}
