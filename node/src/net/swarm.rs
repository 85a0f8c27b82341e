//! The libp2p swarm: which protocols a node speaks, with which limits, and
//! whom it lets in. Only peers the newest roster version lists may connect
//! ([`peers_of`]); as governance changes the list, [`PeerDiff`] says whom to
//! let in and dial, and whom to turn away.

use super::codec::SyncCodec;
use kp_schemas::crypto;
use kp_schemas::state::NetworkState;
use kp_schemas::wire;
use libp2p::gossipsub::{self, IdentTopic, MessageId};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, connection_limits, identify, identity, noise, ping,
    tcp, yamux,
};
use std::collections::BTreeMap;
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
    pub(super) allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
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
/// network's nodes (`peers`, this node's own left out) and `bootstrap`.
pub(super) fn build(
    key: identity::Keypair,
    peers: &Peers,
    topics: &Topics,
    listen: Vec<Multiaddr>,
    bootstrap: Vec<Multiaddr>,
) -> anyhow::Result<Swarm<Behaviour>> {
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
            for p in peers.keys() {
                allowed.allow_peer(*p);
            }
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established_per_peer(Some(2))
                .with_max_established(Some(super::sync::MAX_PEERS as u32))
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
    for (peer, addrs) in peers {
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

/// The nodes a node may connect to, by peer id, with the addresses to dial.
pub(super) type Peers = BTreeMap<PeerId, Vec<Multiaddr>>;

/// Every node the network lists now (observers included), but `local`: a
/// node listed for two holders (a participant's node that also runs its
/// monitor) once, with the addresses of both. A peer id or an address that
/// does not parse is left out: the network may list what this build cannot
/// read, and the rest still connects.
pub(super) fn peers_of(net: &NetworkState, local: &PeerId) -> Peers {
    let mut out = Peers::new();
    for (_, n) in net.nodes() {
        let Ok(peer) = n.peer_id.parse::<PeerId>() else { continue };
        if peer == *local {
            continue;
        }
        let addrs = out.entry(peer).or_default();
        for a in n.addrs.iter().filter_map(|a| a.parse::<Multiaddr>().ok()) {
            if !addrs.contains(&a) {
                addrs.push(a);
            }
        }
    }
    out
}

/// How the peer set changed from one roster version to the next.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct PeerDiff {
    /// Newly listed: let in and dial.
    pub added: Vec<(PeerId, Vec<Multiaddr>)>,
    /// Listed still, at other addresses: dial those.
    pub moved: Vec<(PeerId, Vec<Multiaddr>)>,
    /// No longer listed: turn away, and close what is open.
    pub removed: Vec<PeerId>,
}

impl PeerDiff {
    pub fn between(old: &Peers, new: &Peers) -> Self {
        let mut d = PeerDiff::default();
        for (p, addrs) in new {
            match old.get(p) {
                None => d.added.push((*p, addrs.clone())),
                Some(was) if was != addrs => d.moved.push((*p, addrs.clone())),
                Some(_) => {}
            }
        }
        d.removed = old.keys().filter(|p| !new.contains_key(p)).copied().collect();
        d
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.moved.is_empty() && self.removed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kp_schemas::model::{Monitor, NodeInfo, Participant, Roster};
    use kp_schemas::{Hash32, Keypair};

    fn node(peer: &PeerId, port: u16) -> NodeInfo {
        NodeInfo { peer_id: peer.to_string(), addrs: vec![format!("/ip4/127.0.0.1/tcp/{port}")] }
    }

    fn network(cf: Vec<NodeInfo>, bw: Vec<NodeInfo>, monitor: Vec<NodeInfo>, observers: Vec<NodeInfo>) -> NetworkState {
        let participant = |code: &str, seed: u8, nodes| Participant {
            code: code.into(),
            name: code.into(),
            authority: Keypair::from_seed([seed; 32]).public(),
            zone_regime: false,
            nodes,
        };
        let r = Roster {
            network: "kp-peers".into(),
            version: 1,
            chair: Keypair::from_seed([1; 32]).public(),
            participants: vec![participant("CF", 2, cf), participant("BW", 3, bw)],
            monitors: vec![Monitor {
                id: "MT-CF".into(),
                name: "m".into(),
                key: Keypair::from_seed([4; 32]).public(),
                scope: vec!["CF".into()],
                nodes: monitor,
            }],
            observers,
        };
        NetworkState::from_roster(&r, Hash32::ZERO)
    }

    #[test]
    fn the_peer_set_leaves_out_this_node_and_merges_a_node_listed_twice() {
        let (me, cf, obs) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut monitor = node(&cf, 2);
        monitor.addrs.push("not an address".into());
        let garbled = NodeInfo { peer_id: "not a peer id".into(), addrs: vec![] };
        let net = network(vec![node(&cf, 1)], vec![node(&me, 3), garbled], vec![monitor], vec![node(&obs, 4)]);
        let peers = peers_of(&net, &me);
        assert_eq!(peers.len(), 2, "{peers:?}");
        assert_eq!(peers[&cf], vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap(), "/ip4/127.0.0.1/tcp/2".parse().unwrap()]);
        assert_eq!(peers[&obs].len(), 1, "observers stay allowed");
    }

    #[test]
    fn a_node_list_replaced_lets_the_new_peer_in_and_turns_the_old_one_away() {
        let (me, cf, bw_old, bw_new) = (PeerId::random(), PeerId::random(), PeerId::random(), PeerId::random());
        let before = peers_of(&network(vec![node(&me, 1)], vec![node(&bw_old, 2)], vec![node(&cf, 3)], vec![]), &me);
        let after = peers_of(&network(vec![node(&me, 1)], vec![node(&bw_new, 4)], vec![node(&cf, 5)], vec![]), &me);
        let d = PeerDiff::between(&before, &after);
        assert_eq!(d.added, vec![(bw_new, vec!["/ip4/127.0.0.1/tcp/4".parse().unwrap()])]);
        assert_eq!(d.moved, vec![(cf, vec!["/ip4/127.0.0.1/tcp/5".parse().unwrap()])]);
        assert_eq!(d.removed, vec![bw_old]);
        assert!(PeerDiff::between(&after, &after).is_empty());
    }
}
