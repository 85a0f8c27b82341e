//! The libp2p swarm: which protocols a node speaks, with which limits, and
//! whom it lets in. Only peers the roster names may connect.

use super::codec::SyncCodec;
use kp_schemas::crypto;
use kp_schemas::model::Roster;
use kp_schemas::wire;
use libp2p::gossipsub::{self, IdentTopic, MessageId};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, connection_limits, identify, identity, noise, ping,
    tcp, yamux,
};
use std::time::Duration;

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
/// How long a sync request may wait for its answer.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    pub(super) gossipsub: gossipsub::Behaviour,
    pub(super) sync: request_response::Behaviour<SyncCodec>,
}

/// The two gossip topics of a network.
pub(super) struct Topics {
    pub entries: IdentTopic,
    pub checkpoints: IdentTopic,
}

impl Topics {
    pub fn of(network: &str) -> Self {
        Self {
            entries: IdentTopic::new(wire::entries_topic(network)),
            checkpoints: IdentTopic::new(wire::checkpoints_topic(network)),
        }
    }
}

/// Build the swarm, subscribed to the topics, listening, and dialling the
/// roster's nodes and `bootstrap`.
pub(super) fn build(
    key: identity::Keypair,
    roster_addrs: &[(PeerId, Vec<Multiaddr>)],
    topics: &Topics,
    listen: Vec<Multiaddr>,
    bootstrap: Vec<Multiaddr>,
) -> anyhow::Result<Swarm<Behaviour>> {
    let local = key.public().to_peer_id();
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
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)?
        .with_behaviour(|key| {
            let mut allowed = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
            for (p, _) in roster_addrs {
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
                    request_response::Config::default().with_request_timeout(SYNC_TIMEOUT),
                ),
            })
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    swarm.behaviour_mut().gossipsub.subscribe(&topics.entries)?;
    swarm.behaviour_mut().gossipsub.subscribe(&topics.checkpoints)?;
    for addr in listen {
        swarm.listen_on(addr)?;
    }
    for (peer, addrs) in roster_addrs {
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
    for a in bootstrap {
        let _ = swarm.dial(a);
    }
    Ok(swarm)
}

/// Dial a roster peer at the roster's addresses: dialling by peer id alone
/// relies on a behaviour to remember addresses, which none here does after a
/// failed dial.
pub(super) fn dial_opts(peer: PeerId, addrs: &[Multiaddr]) -> libp2p::swarm::dial_opts::DialOpts {
    libp2p::swarm::dial_opts::DialOpts::peer_id(peer).addresses(addrs.to_vec()).build()
}

/// Peer ids and addresses of every node the roster lists.
pub(super) fn roster_peers(r: &Roster) -> Vec<(PeerId, Vec<Multiaddr>)> {
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
