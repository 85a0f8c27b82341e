//! Development networks: rosters and keys made on one machine, for the demo,
//! tests and benchmarks. Real networks assemble their roster from each
//! participant's public keys (docs/OPERATING.md); `kp-node init
//! --dev-network` makes the roster of a one-node network.

use kp_schemas::model::{Monitor, NodeInfo, Participant, Roster, SignedRoster};
use kp_schemas::{Keypair, roster};

/// The participants of the reference scenario (code, name, zone regime)
/// and its monitor.
pub use kp_schemas::reference::{MONITOR_ID, PARTICIPANTS};

fn participant(code: &str, name: &str, key: &Keypair, zone_regime: bool) -> Participant {
    Participant { code: code.into(), name: name.into(), authority: key.public(), zone_regime, nodes: vec![] }
}

fn monitor(id: &str, key: &Keypair, scope: Vec<String>) -> Monitor {
    Monitor { id: id.into(), name: format!("Monitoring team {id}"), key: key.public(), scope, nodes: vec![] }
}

/// The keys of a development network of the reference participants.
pub struct DevKeys {
    /// The KP chair's key: signs the roster and governance entries.
    pub chair: Keypair,
    /// The key of the CAR monitoring team (MT-CF).
    pub monitor: Keypair,
    /// In the order of [`PARTICIPANTS`].
    pub authorities: Vec<(String, Keypair)>,
}

impl DevKeys {
    /// Fresh random keys.
    pub fn generate() -> anyhow::Result<Self> {
        let fresh = || -> anyhow::Result<Keypair> {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            Ok(Keypair::from_seed(seed))
        };
        Ok(Self {
            chair: fresh()?,
            monitor: fresh()?,
            authorities: PARTICIPANTS
                .iter()
                .map(|(c, ..)| Ok((c.to_string(), fresh()?)))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// Keys from fixed seeds, for reproducible benchmarks.
    pub fn from_seed(seed: u8) -> Self {
        let k = |i: u8| Keypair::from_seed([seed.wrapping_add(i); 32]);
        Self {
            chair: k(0),
            monitor: k(1),
            authorities: PARTICIPANTS.iter().enumerate().map(|(i, (c, ..))| (c.to_string(), k(2 + i as u8))).collect(),
        }
    }

    /// The authority key of a reference participant; panics on another code.
    pub fn authority(&self, code: &str) -> &Keypair {
        &self.authorities.iter().find(|(c, _)| c == code).expect("a reference participant").1
    }

    /// The chair-signed roster of `network`, with no node addresses.
    pub fn roster(&self, network: &str) -> SignedRoster {
        self.roster_with_nodes(network, &[])
    }

    /// The roster with the node of each participant code given; the monitor
    /// runs on the CF node.
    pub fn roster_with_nodes(&self, network: &str, nodes: &[(String, NodeInfo)]) -> SignedRoster {
        let node_of = |code: &str| nodes.iter().filter(|(c, _)| c == code).map(|(_, n)| n.clone()).collect::<Vec<_>>();
        let participants = PARTICIPANTS
            .iter()
            .zip(&self.authorities)
            .map(|((code, name, zr), (_, k))| Participant { nodes: node_of(code), ..participant(code, name, k, *zr) })
            .collect();
        let r = Roster {
            network: network.into(),
            version: 1,
            chair: self.chair.public(),
            participants,
            monitors: vec![Monitor { nodes: node_of("CF"), ..monitor(MONITOR_ID, &self.monitor, vec!["CF".into()]) }],
            observers: vec![],
        };
        roster::sign(r, &self.chair)
    }
}
