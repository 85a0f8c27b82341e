//! A network that lives for years, on real `kp-node` processes over
//! loopback: a participant admitted under a condition joins a running
//! network from the genesis roster alone; a node moves to a new machine
//! and peer id; authority keys rotate, planned and forced; the chair hands
//! over; a node that was down through all of it catches up; and a bundle
//! spanning roster versions verifies offline with the genesis roster only.

use kp_client::{Client, ClientError};
use kp_dev::demo;
use kp_e2e::*;
use kp_schemas::entry::sign_record;
use kp_schemas::model::*;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const NETWORK: &str = demo::NETWORK;
const SEED: u8 = 0x6B;
const MINUTE: Duration = Duration::from_secs(60);

/// The chair's key goes to the EU node (the 2018 chair): its operator
/// records governance through it, as `kp governance` does.
fn chair_at_eu(dir: &Path, _: &[demo::DemoNode]) {
    std::fs::copy(dir.join("chair.json"), dir.join("EU").join("keys").join("chair.json")).unwrap();
}

fn govern(net: &Net, at: &str, g: Governance) -> kp_schemas::api::Submitted {
    net.client(at).action(Some("chair"), Body::Governance(g)).unwrap()
}

/// The newest roster version a node holds: its number and hash.
fn version(c: &Client) -> (u64, Hash32) {
    let chain = c.roster_chain().unwrap();
    let v = chain.versions.last().expect("at least the genesis");
    (v.version, v.hash)
}

/// Wait until every node holds the same newest roster version; return it.
#[track_caller]
fn same_version(nodes: &[(&str, &Node)]) -> (u64, Hash32) {
    wait_for("every node holding the same roster version", MINUTE, |last| {
        let vs: Vec<(u64, Hash32)> = nodes.iter().map(|(_, n)| version(&n.client())).collect();
        *last = format!("{vs:?}");
        vs.windows(2).all(|w| w[0] == w[1]).then(|| vs[0])
    })
}

fn kp_node(args: &[&str], data: &Path) -> std::process::Output {
    Command::new(bin("kp-node")).args(args).arg("--data").arg(data).output().expect("run kp-node")
}

/// A new machine's data folder: `kp-node init` for `code`, with the
/// network's genesis roster copied in, nothing else.
fn new_machine(net: &Net, name: &str, code: Option<&str>) -> PathBuf {
    let data = net.dir.path().join(name);
    let mut args = vec!["init"];
    if let Some(c) = code {
        args.extend(["--participant", c]);
    }
    ok(kp_node(&args, &data));
    std::fs::copy(net.roster_file("EU"), data.join(kp_node::node::layout::ROSTER)).unwrap();
    data
}

fn p2p_listen() -> String {
    format!("/ip4/127.0.0.1/tcp/{}", free_port())
}

fn production(lot: &str, weight: Weight) -> RecordBody {
    RecordBody::Production(Production {
        lot: lot.into(),
        site: "Site".into(),
        zone: None,
        weight,
        stones: 3,
        date: "2017-12-01".into(),
        nature: Nature::Natural,
        value_cents: None,
    })
}

fn export(number: &str, importer: &str, lot: &str, weight: Weight) -> RecordBody {
    RecordBody::Export(Export {
        certificate: number.into(),
        importer: importer.into(),
        consignee: format!("{importer} consignee"),
        inputs: vec![Take { lot: lot.into(), weight }],
        lines: vec![HsLine { code: "7102.31".into(), weight, value_cents: weight * 15_000 }],
        parcels: 1,
        issued: "2017-12-05".into(),
        expires: "2018-06-05".into(),
    })
}

fn code_of(e: ClientError) -> String {
    e.code().to_string()
}

#[test]
fn a_participant_admitted_under_a_condition_joins_a_running_network_from_the_genesis_roster() {
    let _x = exclusive();
    let mut net = Net::start(&["--checkpoint-secs", "1"], chair_at_eu);
    // IN's node is down through everything that follows.
    net.node_mut("IN").stop();

    // Gabon's operator makes its keys on its own machine and sends the
    // chair the public key, the peer id and the address.
    let ga_data = new_machine(&net, "GA", Some("GA"));
    let ga_key = public_key(&ga_data.join("keys").join("authority-GA.json"));
    let ga_peer = kp_node::node::peer_id(&ga_data).unwrap().to_string();
    let listen = p2p_listen();
    let gabon = Participant {
        code: "GA".into(),
        name: "Gabon".into(),
        authority: PublicKey::from_hex(&ga_key).unwrap(),
        zone_regime: false,
        nodes: vec![NodeInfo { peer_id: ga_peer, addrs: vec![listen.clone()] }],
    };
    let condition = "administrative decision 2017/1: the statistics and legislation the plenary asked for";
    govern(&net, "EU", Governance::AdmitConditionally { participant: gabon, conditions: vec![condition.into()] });

    let eu_addr = net.addr("EU").to_string();
    let ga =
        Node::start_with_args(&ga_data, free_port(), &listen, &["--bootstrap", &eu_addr, "--checkpoint-secs", "1"]);
    wait_peers("GA", &ga, 4);
    let mut all: Vec<(&str, &Node)> = net.all().into_iter().filter(|(c, _)| *c != "IN").collect();
    all.push(("GA", &ga));
    converged(&all, MINUTE);
    same_version(&all);

    // GA registers a licensee and records production; its export waits
    // for the chair.
    let gc = ga.client();
    let miner = seeded(SEED, 1, 1);
    let reg = LicenseeRegistration {
        licensee: miner.public(),
        name: "Minkebe Artisanal Cooperative".into(),
        roles: vec![Role::Miner, Role::Exporter],
    };
    wait_for("GA's node writing its log", MINUTE, |last| {
        match gc.action(Some("GA"), Body::RegisterLicensee(reg.clone())) {
            Ok(_) => Some(()),
            Err(e) => {
                *last = e.to_string();
                None
            }
        }
    });
    gc.submit_record(&sign_record(NETWORK, &miner, 1, production("GA/MIN/2017/1", 12_000))).unwrap();
    let early = gc.submit_record(&sign_record(NETWORK, &miner, 2, export("GA-000001", "EU", "GA/MIN/2017/1", 5_000)));
    assert_eq!(code_of(early.unwrap_err()), kp_schemas::codes::R2_CONDITIONAL_ADMISSION);

    govern(&net, "EU", Governance::LiftConditions { code: "GA".into(), note: "plenary: conditions met".into() });
    same_version(&all);
    let cert = gc.submit_record(&sign_record(NETWORK, &miner, 3, export("GA-000001", "EU", "GA/MIN/2017/1", 5_000)));
    let cert = cert.unwrap();

    // The EU confirms the import, naming GA's certificate entry.
    let eu_importer = seeded(SEED, 2, 1);
    net.register("EU", &eu_importer.public(), vec![Role::Importer, Role::Trader]);
    let eu = net.client("EU");
    wait_for("the EU holding GA's certificate", MINUTE, |_| eu.certificate("GA-000001").ok());
    let confirm = ImportConfirmation {
        exporter: "GA".into(),
        certificate: "GA-000001".into(),
        certificate_entry: cert.hash,
        weight: 5_000,
        parcels: 1,
        lot: "EU/GA/2017/1".into(),
        holder: eu_importer.public(),
        date: "2017-12-10".into(),
    };
    eu.action(Some("EU"), Body::ImportConfirmation(confirm)).unwrap();

    // GA's checkpoints are witnessed, and GA witnesses the others: with IN
    // down, a CF checkpoint reaches its quorum of 4 only with GA.
    let ga_log = PublicKey::from_hex(&ga_key).unwrap();
    wait_for("a witnessed checkpoint of GA's log", MINUTE, |last| {
        let cps = eu.checkpoints(&ga_log, Some(5)).ok()?;
        *last = format!("{:?}", cps.iter().map(|c| (&c.witnesses, c.quorum)).collect::<Vec<_>>());
        cps.iter().any(|c| c.witnessed).then_some(())
    });
    let cf_log = net.authority("CF");
    net.register("CF", &seeded(SEED, 3, 1).public(), vec![Role::Miner]);
    wait_for("GA cosigning a CF checkpoint", MINUTE, |last| {
        let cps = eu.checkpoints(&cf_log, Some(5)).ok()?;
        *last = format!("{:?}", cps.iter().map(|c| &c.witnesses).collect::<Vec<_>>());
        cps.iter().any(|c| c.witnesses.iter().any(|w| w == "GA")).then_some(())
    });

    // IN comes back: it catches up the admission, GA's log and the rest.
    net.node_mut("IN").restart();
    let mut six: Vec<(&str, &Node)> = net.all();
    six.push(("GA", &ga));
    let heads = converged(&six, MINUTE);
    assert!(heads.iter().any(|h| h.0 == ga_log && h.1 >= 3), "GA's log everywhere: {heads:?}");
    let (v, _) = same_version(&six);
    assert!(v >= 3, "genesis, the admission and the lift: {v}");
    for (code, n) in &six {
        let c = n.client().certificate("GA-000001").unwrap();
        assert!(c.confirmation.is_some(), "{code} holds the EU's confirmation");
    }

    // A bundle of the EU's lot, made by GA's certificate, verifies with the
    // genesis roster only: it carries the versions that admitted GA.
    let subject = Subject::Lot { participant: "EU".into(), lot: "EU/GA/2017/1".into() };
    let bundle = wait_for("a bundle of the EU's lot, witnessed", MINUTE, |last| {
        match net.node("IN").client().bundle(&subject) {
            Ok(b) => Some(b),
            Err(e) => {
                *last = e.to_string();
                None
            }
        }
    });
    let path = net.dir.path().join("eu-ga.bundle");
    std::fs::write(&path, bundle).unwrap();
    let genesis = net.roster_file("IN");
    let out = net.node("IN").kp(&["verify", path.to_str().unwrap(), "--roster", genesis.to_str().unwrap()]);
    ok(out);
}

/// Submissions made one after the other until told to stop, each made by
/// `submit` from its number; each acknowledged hash is kept, failures
/// (the node catching up, down) retried with the next number.
type Writer = (std::sync::Arc<std::sync::atomic::AtomicBool>, std::thread::JoinHandle<Vec<Hash32>>);

fn writer(submit: impl Fn(u64) -> Result<kp_schemas::api::Submitted, ClientError> + Send + 'static) -> Writer {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let t = std::thread::spawn(move || {
        let mut acked = Vec::new();
        let mut i = 0u64;
        while !flag.load(Ordering::Relaxed) {
            i += 1;
            match submit(i) {
                Ok(s) => acked.push(s.hash),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        acked
    });
    (stop, t)
}

/// BW's miner records productions at `c`.
fn productions(c: Client, miner: Keypair, tag: &'static str) -> Writer {
    writer(move |i| {
        c.submit_record(&sign_record(NETWORK, &miner, 1_000_000 + i, production(&format!("{tag}/{i}"), 100 + i)))
    })
}

/// CF's authority registers licensees at `c`, as actions of its node.
fn registrations(c: Client, fill: u8) -> Writer {
    writer(move |i| {
        let key = seeded(fill, (i >> 8) as u8, i as u8);
        let reg =
            LicenseeRegistration { licensee: key.public(), name: format!("licensee {i}"), roles: vec![Role::Trader] };
        c.action(Some("CF"), Body::RegisterLicensee(reg))
    })
}

fn stop_writer(
    w: (std::sync::Arc<std::sync::atomic::AtomicBool>, std::thread::JoinHandle<Vec<Hash32>>),
) -> Vec<Hash32> {
    w.0.store(true, std::sync::atomic::Ordering::Relaxed);
    w.1.join().unwrap()
}

#[track_caller]
fn held_everywhere(nodes: &[(&str, &Node)], acked: &[Hash32]) {
    for (code, n) in nodes {
        let c = n.client();
        for h in acked {
            assert!(c.entry(h).is_ok(), "{code} lacks acknowledged entry {h}");
        }
    }
}

#[test]
fn a_node_moves_to_a_new_machine_mid_run_without_a_fork_and_its_old_peer_id_is_refused() {
    let _x = exclusive();
    let mut net = Net::start(&[], chair_at_eu);
    let bw_miner = seeded(SEED, 10, 1);
    net.register("BW", &bw_miner.public(), vec![Role::Miner]);
    converged(&net.all(), MINUTE);
    let bw = productions(net.client("BW"), bw_miner, "BW/MOVE");
    let cf = registrations(net.client("CF"), 0x31);
    std::thread::sleep(Duration::from_secs(3));

    // The move: the old machine stops; its keys go to the new machine,
    // which has its own node key (a new peer id); the chair lists the new
    // node in place of the old one; the old machine is retired.
    let cf_acked_before = stop_writer(cf);
    let old_peer = kp_node::node::peer_id(&net.data("CF")).unwrap();
    net.node_mut("CF").stop();
    let new_data = new_machine(&net, "CF-new", None);
    for f in std::fs::read_dir(net.data("CF").join("keys")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, new_data.join("keys").join(f.file_name().unwrap())).unwrap();
    }
    let new_peer = kp_node::node::peer_id(&new_data).unwrap().to_string();
    assert_ne!(new_peer, old_peer.to_string());
    let listen = p2p_listen();
    // CF's node also runs the MT-CF monitor's: both list the new node.
    for holder in ["CF", kp_schemas::reference::MONITOR_ID] {
        let nodes = vec![NodeInfo { peer_id: new_peer.clone(), addrs: vec![listen.clone()] }];
        govern(&net, "EU", Governance::SetNodes { holder: holder.into(), nodes });
    }
    let out = kp_node(&["retire", "--yes"], &net.data("CF"));
    ok(out);
    assert_refuses_to_run(&net.data("CF"));

    let eu_addr = net.addr("EU").to_string();
    let new_cf = Node::start_with_args(&new_data, free_port(), &listen, &["--bootstrap", &eu_addr]);
    let cf = registrations(new_cf.client(), 0x32);
    wait_caught_up("CF", &new_cf);
    std::thread::sleep(Duration::from_secs(3));
    let cf_acked_after = stop_writer(cf);
    let bw_acked = stop_writer(bw);
    assert!(!cf_acked_after.is_empty(), "the new machine writes CF's log");

    let nodes: Vec<(&str, &Node)> =
        net.all().into_iter().filter(|(c, _)| *c != "CF").chain([("CF", &new_cf)]).collect();
    converged(&nodes, MINUTE);
    for (code, n) in &nodes {
        let s = n.client().status().unwrap();
        assert!(s.evidence.is_empty(), "no fork of CF's log at {code}: {:?}", s.evidence);
    }
    held_everywhere(&nodes, &cf_acked_before);
    held_everywhere(&nodes, &cf_acked_after);
    held_everywhere(&nodes, &bw_acked);

    // The old peer id is refused: a peer with the old machine's node key
    // cannot connect to any node.
    let old_key = kp_node::node::node_identity(&net.data("CF")).unwrap();
    let addrs: Vec<libp2p::Multiaddr> = nodes.iter().filter(|(c, _)| *c != "CF").map(|(_, n)| n.p2p_addr()).collect();
    let refused = TestPeer::connect(old_key, addrs, &kp_schemas::wire::entries_topic(NETWORK), None);
    assert!(refused.is_err(), "the old peer id is let in");
}

#[test]
fn keys_rotate_planned_and_forced_and_the_chair_hands_over() {
    let _x = exclusive();
    let mut net = Net::start(&[], chair_at_eu);
    let bw_miner = seeded(SEED, 20, 1);
    net.register("BW", &bw_miner.public(), vec![Role::Miner, Role::Exporter]);
    let bw = net.client("BW");
    bw.submit_record(&sign_record(NETWORK, &bw_miner, 1, production("BW/JW/2017/1", 40_000))).unwrap();
    converged(&net.all(), MINUTE);
    let old_key = net.authority("BW");
    // IN's node is down through everything that follows.
    net.node_mut("IN").stop();

    // BW's operator stops its node and makes the keys it will take over
    // with: its next authority key, the one after it, and the next chair's
    // key (BW chairs next). Planned: the old key signs the hand-over at its
    // log's head, and its file is set aside. The node restarts with the
    // new keys, and the chair records the rotation.
    let bw_data = net.data("BW");
    net.node_mut("BW").stop();
    let new_key = public_key_of_new(&bw_data, "authority-BW-2");
    let third = PublicKey::from_hex(&public_key_of_new(&bw_data, "authority-BW-3")).unwrap();
    let next_chair = PublicKey::from_hex(&public_key_of_new(&bw_data, "chair")).unwrap();
    let stmt = ok(kp_node(&["rotation-statement", "--holder", "BW", "--new-key", &new_key, "--json"], &bw_data));
    net.node_mut("BW").restart();
    wait_peers("BW", net.node("BW"), 3);
    // Until the rotation is recorded, BW's node has no key for BW's log.
    let reg =
        LicenseeRegistration { licensee: seeded(SEED, 22, 1).public(), name: "gap".into(), roles: vec![Role::Miner] };
    assert!(bw.action(Some("BW"), Body::RegisterLicensee(reg)).is_err(), "the old key is set aside");
    let stmt: serde_json::Value = serde_json::from_str(&stmt).unwrap();
    let last = stmt["last"].as_u64().unwrap();
    let statement = kp_schemas::SignatureBytes::from_hex(stmt["statement"].as_str().unwrap()).unwrap();
    let new_key = PublicKey::from_hex(&new_key).unwrap();
    govern(&net, "EU", Governance::RotateKey { holder: "BW".into(), new_key, last, statement: Some(statement) });
    same_version(&running(&net));
    let newest = bw.roster_chain().unwrap().versions.pop().unwrap().network;
    assert!(newest.retired.iter().any(|r| r.key == old_key && r.last == last), "{:?}", newest.retired);

    // BW's node writes with the new key from position 1, spending the lot
    // the old key's log recorded.
    let rec = sign_record(NETWORK, &bw_miner, 2, export("BW-000001", "EU", "BW/JW/2017/1", 10_000));
    let cert = wait_for("BW's node writing with the new key", MINUTE, |last| match bw.submit_record(&rec) {
        Ok(s) => Some(s),
        Err(e) => {
            *last = e.to_string();
            None
        }
    });
    let entry = bw.entry(&cert.hash).unwrap();
    assert_eq!(entry.author, new_key);
    assert_eq!(entry.seq, 1);
    converged(&running(&net), MINUTE);

    // Forced: the new key is stolen. The thief signs an entry after
    // position 1 and gives it to the EU node; the chair closes the log at
    // 1, and every node withdraws the thief's entry.
    let stolen = kp_client::keyfile::load(&bw_data.join("keys").join("authority-BW-2.json")).unwrap();
    let thief = seeded(SEED, 21, 1);
    let theft = LicenseeRegistration { licensee: thief.public(), name: "thief".into(), roles: vec![Role::Exporter] };
    let forged = next_naming_newest(&net.client("EU"), &stolen, Body::RegisterLicensee(theft));
    net.client("EU").submit_entry(forged.bytes()).unwrap();
    govern(&net, "EU", Governance::RotateKey { holder: "BW".into(), new_key: third, last: 1, statement: None });
    same_version(&running(&net));
    let heads = converged(&running(&net), MINUTE);
    let closed = heads.iter().find(|h| h.0 == new_key).expect("the second key's log");
    assert_eq!(closed.1, 1, "the thief's entry is withdrawn everywhere: {closed:?}");
    for (code, n) in running(&net) {
        assert!(n.client().licensee(&thief.public()).is_err(), "{code} holds the thief's licensee");
    }
    // The chair hands over to BW's node's new chair key; the old chair's
    // later version is refused everywhere.
    govern(&net, "EU", Governance::ChairHandover { new_chair: next_chair });
    same_version(&running(&net));
    let old_chair = kp_client::keyfile::load(&net.dir.path().join("chair.json")).unwrap();
    let late = Governance::SuspendParticipant { code: "AE".into(), reason: "old chair".into(), from: 1 };
    let late = next_naming_newest(&net.client("AE"), &old_chair, Body::Governance(late));
    for (code, n) in running(&net) {
        let r = n.client().submit_entry(late.bytes());
        assert_eq!(r.map(|_| ()).map_err(code_of), Err(kp_schemas::codes::R2_KEY_RETIRED.to_string()), "{code}");
    }
    // The new chair governs from BW's node.
    let suspend = Governance::SuspendParticipant { code: "AE".into(), reason: "statistics".into(), from: 0 };
    let by_new = net.client("BW").action(Some("chair"), Body::Governance(suspend)).unwrap();
    assert_eq!(by_new.author, next_chair);

    // IN comes back after all of it: it catches up every log, the closed
    // ones to where they end, and holds the same roster version.
    net.node_mut("IN").restart();
    let heads = converged(&net.all(), MINUTE);
    let (v, _) = same_version(&net.all());
    assert!(v >= 5, "the genesis, two rotations, the handover and a suspension: {v}");
    assert_eq!(heads.iter().find(|h| h.0 == new_key).map(|h| (h.1, h.3)), Some((1, true)));
    let at_in = net.client("IN");
    assert!(at_in.licensee(&thief.public()).is_err(), "IN holds the thief's licensee");
    let r = at_in.submit_entry(late.bytes()).map(|_| ()).map_err(code_of);
    assert_eq!(r, Err(kp_schemas::codes::R2_KEY_RETIRED.to_string()));

    // A bundle of BW's certificate, issued under the second key from a lot
    // the first key's log recorded, verifies offline with the genesis
    // roster only: both closed logs are witnessed up to where they end.
    let subject = Subject::Certificate { number: "BW-000001".into() };
    let bundle = wait_for("a bundle of BW-000001, witnessed", MINUTE, |last| match net.client("AE").bundle(&subject) {
        Ok(b) => Some(b),
        Err(e) => {
            *last = e.to_string();
            None
        }
    });
    let path = net.dir.path().join("bw-rotated.bundle");
    std::fs::write(&path, bundle).unwrap();
    let genesis = net.roster_file("AE");
    let verified = ok(net.node("AE").kp(&["verify", path.to_str().unwrap(), "--roster", genesis.to_str().unwrap()]));
    assert!(verified.contains("(replaced key)"), "the closed logs are shown as BW's: {verified}");
}

/// The nodes of the network but IN's, which is down.
fn running(net: &Net) -> Vec<(&str, &Node)> {
    net.all().into_iter().filter(|(c, _)| *c != "IN").collect()
}

/// `kp-node run` on a retired machine's folder exits with an error
/// instead of running.
fn assert_refuses_to_run(data: &Path) {
    let mut child = Command::new(bin("kp-node"))
        .args(["run", "--no-p2p", "--http", &format!("127.0.0.1:{}", free_port()), "--data"])
        .arg(data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for("kp-node run on a retired machine exiting", Duration::from_secs(20), |_| {
        child.try_wait().ok().flatten()
    });
    assert!(!status.success(), "a retired machine does not start");
}

/// `kp-node key new` in a node's folder; the new key's public hex.
fn public_key_of_new(data: &Path, name: &str) -> String {
    let made = ok(kp_node(&["key", "new", "--name", name, "--json"], data));
    let v: serde_json::Value = serde_json::from_str(&made).unwrap();
    v["public_key"].as_str().unwrap().to_string()
}

/// The next entry of `key`'s log as the node `c` holds it, signed by
/// `key` and naming the newest governance entry as its network, as a
/// writer that holds the key (rightly or not) would.
fn next_naming_newest(c: &Client, key: &Keypair, body: Body) -> SignedEntry {
    let chain = c.roster_chain().unwrap();
    let newest = chain.versions.last().unwrap().decided_by.expect("a governance entry");
    let head = c.logs().unwrap().into_iter().find(|h| h.author == key.public()).unwrap().head;
    let e = Entry {
        network: NETWORK.into(),
        author: key.public(),
        seq: head.seq + 1,
        prev: head.hash,
        timestamp_ms: head.timestamp_ms + 1,
        context: vec![newest],
        body,
    };
    SignedEntry::sign(e, key)
}
