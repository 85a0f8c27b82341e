//! Membership changes at run time, with real `kp-node` processes on
//! loopback: a participant's machine replaced by another through the
//! chair's `SetNodes` (the old peer turned away, the new one let in, syncing
//! and writing on), and a node that must not fork its own log: one whose
//! store lost the log, and one restored from a backup with
//! `--catch-up-first`.

use kp_client::ClientError;
use kp_dev::devnet::DevKeys;
use kp_e2e::*;
use kp_node::node::layout;
use kp_schemas::PublicKey;
use kp_schemas::codes;
use kp_schemas::model::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const NETWORK: &str = kp_dev::demo::NETWORK;

fn register(c: &kp_client::Client, code: &str, n: u8) -> Result<kp_schemas::api::Submitted, ClientError> {
    let key = seeded(0x7C, n, 0);
    c.action(
        Some(code),
        Body::RegisterLicensee(LicenseeRegistration {
            licensee: key.public(),
            name: format!("licensee {n}"),
            roles: vec![Role::Trader],
        }),
    )
}

#[track_caller]
fn catching_up(r: Result<kp_schemas::api::Submitted, ClientError>) {
    match r {
        Err(ClientError::Api { status: 503, error }) if error.code == codes::API_CATCHING_UP => {}
        other => panic!("expected {} (503), got {other:?}", codes::API_CATCHING_UP),
    }
}

fn head(n: &Node, key: &PublicKey) -> u64 {
    n.client().logs().unwrap().into_iter().find(|h| h.author == *key).map_or(0, |h| h.head.seq)
}

#[track_caller]
fn no_evidence(nodes: &[(&str, &Node)]) {
    for (code, n) in nodes {
        assert!(n.client().evidence().unwrap().is_empty(), "evidence at {code}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() { copy_dir(&src, &dst) } else { std::fs::copy(&src, &dst).map(|_| ()).unwrap() }
    }
}

#[test]
fn a_machine_replaced_by_set_nodes_is_turned_away_and_its_successor_syncs_and_writes_on_without_a_fork() {
    let _x = exclusive();
    // The chair's key on the CF node, so that CF records governance.
    let net = Net::five_with(|dir, plan| {
        let cf = plan.iter().find(|n| n.code == "CF").unwrap();
        std::fs::copy(dir.join("chair.json"), cf.data.join(layout::KEYS).join("chair.json")).unwrap();
    });
    let bw = net.authority("BW");
    for i in 0..2 {
        register(&net.client("BW"), "BW", i).unwrap();
    }
    converged(&net.all(), Duration::from_secs(30));

    // The new machine: BW's key and the genesis roster, a peer id of its own.
    let new = net.dir.path().join("BW-2");
    std::fs::create_dir_all(new.join(layout::KEYS)).unwrap();
    std::fs::copy(net.roster_file("BW"), new.join(layout::ROSTER)).unwrap();
    std::fs::copy(net.data("BW").join("keys/authority-BW.json"), new.join("keys/authority-BW.json")).unwrap();
    let new_id = kp_node::node::peer_id(&new).unwrap().to_string();
    let old_id = kp_node::node::peer_id(&net.data("BW")).unwrap().to_string();
    let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let nodes = vec![NodeInfo { peer_id: new_id.clone(), addrs: vec![p2p.clone()] }];
    net.client("CF")
        .action(Some("chair"), Body::Governance(Governance::SetNodes { holder: "BW".into(), nodes }))
        .unwrap();

    let successor = Node::start_with(&new, free_port(), &p2p);
    wait_peers("BW-2", &successor, 4);
    wait_caught_up("BW-2", &successor);
    let mut all: Vec<(&str, &Node)> = net.all().into_iter().filter(|(c, _)| *c != "BW").collect();
    all.push(("BW-2", &successor));
    converged(&all, Duration::from_secs(60));
    assert_eq!(head(&successor, &bw), 2, "the successor holds BW's log");

    // Every node turns the old machine away, and keeps doing so.
    let old = net.node("BW");
    let connected_to_old = |last: &mut String| {
        let mut n = old.client().peers().ok()?.connected.len();
        for (code, node) in &all {
            if node.client().peers().ok()?.connected.contains(&old_id) {
                last.push_str(code);
                n += 1;
            }
        }
        Some(n)
    };
    wait_for("nobody connected to the old BW machine", Duration::from_secs(30), |last| {
        last.clear();
        (connected_to_old(last)? == 0).then_some(())
    });
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(connected_to_old(&mut String::new()), Some(0), "the old machine got back in after a redial");
    for (code, node) in &all {
        if *code != "BW-2" {
            assert!(node.client().peers().unwrap().connected.contains(&new_id), "{code} not connected to BW-2");
        }
    }

    // BW's log goes on at the successor, from its head, everywhere.
    assert_eq!(register(&successor.client(), "BW", 2).unwrap().seq, 3);
    converged(&all, Duration::from_secs(30));
    assert_eq!(head(net.node("EU"), &bw), 3);
    no_evidence(&all);
}

/// Two nodes: A holds CF's authority and the chair, B BW's authority.
struct Pair {
    dir: tempfile::TempDir,
    keys: DevKeys,
    http: [u16; 2],
    p2p: [String; 2],
}

impl Pair {
    fn new() -> Pair {
        let dir = tempfile::tempdir().unwrap();
        let keys = DevKeys::generate().unwrap();
        let base = demo_port();
        let p2p = [0, 1].map(|i| format!("/ip4/127.0.0.1/tcp/{}", base + 100 + i));
        let mut infos = Vec::new();
        for (i, code) in ["CF", "BW"].iter().enumerate() {
            let d = dir.path().join(code);
            std::fs::create_dir_all(d.join(layout::KEYS)).unwrap();
            kp_client::keyfile::write(&d.join(format!("keys/authority-{code}.json")), keys.authority(code)).unwrap();
            let peer_id = kp_node::node::peer_id(&d).unwrap().to_string();
            infos.push((code.to_string(), NodeInfo { peer_id, addrs: vec![p2p[i].clone()] }));
        }
        kp_client::keyfile::write(&dir.path().join("CF/keys/chair.json"), &keys.chair).unwrap();
        let roster = keys.roster_with_nodes(NETWORK, &infos);
        for code in ["CF", "BW"] {
            let path = dir.path().join(code).join(layout::ROSTER);
            std::fs::write(path, serde_json::to_string(&roster).unwrap()).unwrap();
        }
        Pair { dir, keys, http: [base, base + 1], p2p }
    }

    fn data(&self, i: usize) -> PathBuf {
        self.dir.path().join(["CF", "BW"][i])
    }

    fn start(&self, i: usize, args: &[&str]) -> Node {
        Node::start_with_args(&self.data(i), self.http[i], &self.p2p[i], args)
    }
}

#[test]
fn a_node_writes_its_own_log_only_from_the_head_its_peers_hold_after_losing_its_store_or_restoring_a_backup() {
    let _x = exclusive();
    let pair = Pair::new();
    let bw = pair.keys.authority("BW").public();
    let (mut a, mut b) = (pair.start(0, &[]), pair.start(1, &[]));
    wait_peers("CF", &a, 1);
    wait_caught_up("BW", &b);
    for i in 0..3 {
        register(&b.client(), "BW", i).unwrap();
    }
    converged(&[("CF", &a), ("BW", &b)], Duration::from_secs(30));
    b.stop();
    let backup = pair.dir.path().join("backup-db");
    copy_dir(&pair.data(1).join(layout::DB), &backup);
    b.restart();
    for i in 3..5 {
        register(&b.client(), "BW", i).unwrap();
    }
    converged(&[("CF", &a), ("BW", &b)], Duration::from_secs(30));
    a.stop();
    b.stop();

    // B's store is gone; A, which holds BW's log, is down. B does not know
    // how far its log goes, so it writes nothing into it.
    std::fs::rename(pair.data(1).join(layout::DB), pair.dir.path().join("lost-db")).unwrap();
    b.restart();
    let waiting = b.client().status().unwrap().catching_up;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!((waiting[0].author, waiting[0].held, waiting[0].target), (bw, 0, None));
    catching_up(register(&b.client(), "BW", 5));
    // A back: B takes its log from A, then writes on from its head.
    a.restart();
    wait_caught_up("BW", &b);
    assert_eq!(head(&b, &bw), 5);
    assert_eq!(register(&b.client(), "BW", 5).unwrap().seq, 6);
    converged(&[("CF", &a), ("BW", &b)], Duration::from_secs(30));
    no_evidence(&[("CF", &a), ("BW", &b)]);
    a.stop();
    b.stop();

    // B restored from the backup, which ends at 3 where the network holds
    // 6: with --catch-up-first it waits as well, though its store holds
    // entries of the log.
    std::fs::remove_dir_all(pair.data(1).join(layout::DB)).unwrap();
    copy_dir(&backup, &pair.data(1).join(layout::DB));
    let b = pair.start(1, &["--catch-up-first"]);
    let waiting = b.client().status().unwrap().catching_up;
    assert_eq!(waiting.iter().map(|w| (w.author, w.held)).collect::<Vec<_>>(), vec![(bw, 3)]);
    catching_up(register(&b.client(), "BW", 6));
    a.restart();
    wait_caught_up("BW", &b);
    assert_eq!(register(&b.client(), "BW", 6).unwrap().seq, 7);
    converged(&[("CF", &a), ("BW", &b)], Duration::from_secs(30));
    no_evidence(&[("CF", &a), ("BW", &b)]);
}
