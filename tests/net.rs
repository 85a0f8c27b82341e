//! The five-node network the network and witness suites run: the nodes of
//! `kp-dev devnet --five` (CF also holds the MT-CF monitor's key; the
//! chair's key stays in the folder), started as real processes on loopback.

use crate::{Node, demo_port, wait_caught_up, wait_peers};
use kp_client::Client;
use kp_dev::demo::{self, Clients, DemoNode, Licensees};
use kp_schemas::model::*;
use kp_schemas::{Keypair, PublicKey, SignedEntry};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// Every test of a suite that runs several nodes takes this first: on two
/// cores, two such tests at once only make each other's timeouts flaky
/// without finishing sooner. Each test binary has its own lock.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A key made from a fixed seed: `fill` repeated, then `a` and `b` in the
/// first two bytes, so distinct for each `(fill, a, b)`. Each suite keeps
/// its own `fill`, so that its licensees are its own.
pub fn seeded(fill: u8, a: u8, b: u8) -> Keypair {
    let mut s = [fill; 32];
    s[0] = a;
    s[1] = b;
    Keypair::from_seed(s)
}

/// The five nodes of the demo network, running.
pub struct Net {
    /// Before `dir`: fields drop in order, so the nodes die before their folders go.
    pub nodes: Vec<(String, Node)>,
    pub dir: tempfile::TempDir,
    pub licensees: Licensees,
    pub roster: Roster,
}

impl Net {
    pub fn five() -> Net {
        Self::five_with(|_, _| {})
    }

    /// `tweak` may change the folder (the roster, say) before any node starts.
    pub fn five_with(tweak: impl FnOnce(&Path, &[DemoNode])) -> Net {
        Self::start(&[], tweak)
    }

    /// As [`Net::five_with`], each node run with the extra `kp-node run`
    /// arguments `args` (for example `--checkpoint-secs 1`).
    pub fn start(args: &[&str], tweak: impl FnOnce(&Path, &[DemoNode])) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let (plan, licensees) = demo::prepare_network(dir.path(), demo_port()).unwrap();
        tweak(dir.path(), &plan);
        let nodes: Vec<(String, Node)> = plan
            .iter()
            .map(|n| (n.code.to_string(), Node::start_with_args(&n.data, n.http.port(), &n.p2p, args)))
            .collect();
        for (code, n) in &nodes {
            wait_peers(code, n, 4);
        }
        for (code, n) in &nodes {
            wait_caught_up(code, n);
        }
        let roster = nodes[0].1.client().roster().unwrap().roster;
        Net { nodes, dir, licensees, roster }
    }

    pub fn node(&self, code: &str) -> &Node {
        &self.nodes.iter().find(|(c, _)| c == code).expect("a node of the network").1
    }

    pub fn node_mut(&mut self, code: &str) -> &mut Node {
        &mut self.nodes.iter_mut().find(|(c, _)| c == code).expect("a node of the network").1
    }

    pub fn client(&self, code: &str) -> Client {
        self.node(code).client()
    }

    pub fn clients(&self) -> Clients {
        Clients(self.nodes.iter().map(|(c, n)| (c.clone(), n.client())).collect())
    }

    pub fn all(&self) -> Vec<(&str, &Node)> {
        self.nodes.iter().map(|(c, n)| (c.as_str(), n)).collect()
    }

    pub fn data(&self, code: &str) -> PathBuf {
        self.dir.path().join(code)
    }

    /// The signed roster file a node runs with.
    pub fn roster_file(&self, code: &str) -> PathBuf {
        self.data(code).join(kp_node::node::layout::ROSTER)
    }

    /// A key from `<code>/keys/`, as the node holds it.
    pub fn key(&self, code: &str, file: &str) -> Keypair {
        kp_client::keyfile::load(&self.data(code).join("keys").join(file)).unwrap()
    }

    pub fn authority(&self, code: &str) -> PublicKey {
        self.roster.participants.iter().find(|p| p.code == code).expect("a participant").authority
    }

    pub fn monitor(&self) -> PublicKey {
        self.roster.monitors[0].key
    }

    /// Where to dial a node: its listen address and peer id.
    pub fn addr(&self, code: &str) -> libp2p::Multiaddr {
        self.node(code).p2p_addr()
    }

    /// `code`'s authority registers `key` as a licensee with `roles`, by an
    /// action at `code`'s node.
    pub fn register(&self, code: &str, key: &PublicKey, roles: Vec<Role>) -> kp_schemas::api::Submitted {
        let body =
            Body::RegisterLicensee(LicenseeRegistration { licensee: *key, name: format!("licensee {key}"), roles });
        self.client(code).action(Some(code), body).unwrap()
    }

    /// The next entry of `key`'s log as `code`'s node sees it, with `body`.
    pub fn next_entry(&self, code: &str, key: &Keypair, body: Body) -> SignedEntry {
        next_entry(&self.client(code), key, body)
    }

    /// The participant code whose authority key `key` is.
    pub fn code_of(&self, key: &PublicKey) -> Option<&str> {
        self.roster.participants.iter().find(|p| p.authority == *key).map(|p| p.code.as_str())
    }

    /// Participants whose node also writes `log`: the log's own participant,
    /// and for a monitor every participant running one of the monitor's
    /// nodes. None of them may count as a witness of `log`.
    pub fn writers_of(&self, log: &PublicKey) -> BTreeSet<String> {
        if let Some(c) = self.code_of(log) {
            return [c.to_string()].into();
        }
        let Some(m) = self.roster.monitors.iter().find(|m| m.key == *log) else { return BTreeSet::new() };
        let peers: HashSet<&str> = m.nodes.iter().map(|n| n.peer_id.as_str()).collect();
        self.roster
            .participants
            .iter()
            .filter(|p| p.nodes.iter().any(|n| peers.contains(n.peer_id.as_str())))
            .map(|p| p.code.clone())
            .collect()
    }
}

/// The next entry of `key`'s log as the node `c` talks to sees it, with
/// `body`, signed by `key`.
pub fn next_entry(c: &Client, key: &Keypair, body: Body) -> SignedEntry {
    let head = c.logs().unwrap().into_iter().find(|h| h.author == key.public()).unwrap().head;
    let e = Entry {
        network: demo::NETWORK.into(),
        author: key.public(),
        seq: head.seq + 1,
        prev: head.hash,
        timestamp_ms: head.timestamp_ms + 1,
        context: vec![],
        body,
    };
    SignedEntry::sign(e, key)
}
