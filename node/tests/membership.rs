//! A node through membership changes: a machine retired after another took
//! its logs over (`kp-node retire`), a key rotation signed by the old key
//! (`kp-node rotation-statement`, `kp-node key new`) and recorded by the
//! chair, after which the node writes with the new key only, and the
//! writer holding an own log until it is caught up. The real `kp-node`
//! binary on real data directories; the real writer on real RocksDB.

use kp_node::catchup::Gate;
use kp_node::ingest::{Outcome, Submission, SubmitError, Writer};
use kp_node::keys::Keyring;
use kp_node::metrics::Metrics;
use kp_node::node::{self, layout};
use kp_schemas::crypto::{self, Domain};
use kp_schemas::model::*;
use kp_schemas::{Keypair, PublicKey, SignatureBytes, codes, encoding};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NETWORK: &str = "kp-membership";

fn kp_node(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kp-node"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env("KP_LOG", "warn")
        .env_remove("KP_DATA")
        .output()
        .expect("run kp-node")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[track_caller]
fn ok(o: Output) -> String {
    assert!(o.status.success(), "kp-node failed ({}):\n{}{}", o.status, text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

/// A one-node development network holding BW's authority and the chair.
fn init(dir: &Path) {
    ok(Command::new(env!("CARGO_BIN_EXE_kp-node"))
        .args(["init", "--participant", "BW", "--dev-network", NETWORK, "--data"])
        .arg(dir)
        .env("KP_LOG", "warn")
        .output()
        .unwrap());
}

fn register(n: u8) -> Body {
    Body::RegisterLicensee(LicenseeRegistration {
        licensee: Keypair::from_seed([0x60 + n; 32]).public(),
        name: format!("licensee {n}"),
        roles: vec![Role::Miner],
    })
}

/// The writer of the data directory's store, with the keys of its `keys/`.
fn writer(dir: &Path) -> Writer {
    let ledger = Arc::new(node::open_ledger(dir, None).unwrap());
    let keys = Keyring::load_dir(&dir.join(layout::KEYS)).unwrap();
    Writer::new(ledger, keys, Arc::new(Metrics::default()))
}

fn act(w: &Writer, as_author: &str, body: Body) -> Result<Outcome, SubmitError> {
    w.process(vec![Submission::Action { as_author: Some(as_author.into()), body }]).pop().unwrap()
}

fn stored(r: Result<Outcome, SubmitError>) -> (PublicKey, u64) {
    match r {
        Ok(Outcome::Stored(s)) => (s.author, s.seq),
        other => panic!("not stored: {other:?}"),
    }
}

#[test]
fn a_rotation_statement_signed_by_the_old_key_hands_the_log_to_a_new_key_that_alone_writes_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bw");
    init(&data);
    let old = {
        let w = writer(&data);
        for i in 0..3 {
            stored(act(&w, "BW", register(i)));
        }
        w.ledger().network().participant("BW").unwrap().participant.authority
    };

    // A new key, in a file of its own that is never overwritten.
    let out = ok(kp_node(&["key", "new", "--name", "authority-BW-2", "--json"], &data));
    let made: serde_json::Value = serde_json::from_str(&out).unwrap();
    let new = PublicKey::from_hex(made["public_key"].as_str().unwrap()).unwrap();
    let file = data.join("keys/authority-BW-2.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let again = kp_node(&["key", "new", "--name", "authority-BW-2"], &data);
    assert!(!again.status.success() && text(&again.stderr).contains("already exists"), "{}", text(&again.stderr));
    let outside = kp_node(&["key", "new", "--name", "../escape"], &data);
    assert!(!outside.status.success(), "{}", text(&outside.stdout));

    // The statement: the old key's signature over the rotation, closing
    // the log at its head in this store unless told otherwise.
    let statement = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["rotation-statement", "--holder", "BW", "--new-key"];
        let hex = new.to_hex();
        args.push(&hex);
        args.extend(extra);
        args.push("--json");
        serde_json::from_str(&ok(kp_node(&args, &data))).unwrap()
    };
    let verify = |s: &serde_json::Value, last: u64| {
        assert_eq!((s["holder"].as_str(), s["last"].as_u64()), (Some("BW"), Some(last)), "{s}");
        assert_eq!(s["new_key"].as_str(), Some(new.to_hex().as_str()));
        let sig: SignatureBytes = serde_json::from_value(s["statement"].clone()).unwrap();
        let rotation = KeyRotation { network: NETWORK.into(), holder: "BW".into(), old_key: old, new_key: new, last };
        crypto::verify(Domain::KeyRotation, &old, &encoding::encode(&rotation), &sig).unwrap();
        sig
    };
    // Signing sets the old key's file aside, where the writer does not
    // load it: a second statement finds no key to sign with. An operator
    // who signed the wrong position puts it back and signs again.
    let (active, aside) = (data.join("keys/authority-BW.json"), data.join("keys/handed-over/authority-BW.json"));
    let put_back = || std::fs::rename(&aside, &active).unwrap();
    verify(&statement(&["--last", "2"]), 2);
    assert!(!active.exists() && aside.exists(), "the old key is set aside");
    let twice = kp_node(&["rotation-statement", "--holder", "BW", "--new-key", &new.to_hex()], &data);
    assert!(!twice.status.success() && text(&twice.stderr).contains("holds no file of BW's current key"));
    put_back();
    let human = ok(kp_node(&["rotation-statement", "--holder", "BW", "--new-key", &new.to_hex()], &data));
    assert!(human.contains("closed at position 3") && human.contains("\"statement\""), "{human}");
    assert!(human.contains("set aside"), "{human}");
    put_back();
    let sig = verify(&statement(&[]), 3);
    let unknown = kp_node(&["rotation-statement", "--holder", "ZZ", "--new-key", &new.to_hex()], &data);
    assert!(!unknown.status.success() && text(&unknown.stderr).contains("no participant or monitor ZZ"));

    // The node holds the new key only. Before the chair records the
    // rotation nothing writes BW's log, so nothing acknowledged can fall
    // beyond the position the statement closes it at; after it, the new
    // key writes BW's log from position 1, and the old one never again.
    let w = writer(&data);
    assert!(act(&w, "BW", register(3)).is_err(), "no key writes BW's log in between");
    let rotate = Governance::RotateKey { holder: "BW".into(), new_key: new, last: 3, statement: Some(sig) };
    stored(act(&w, "chair", Body::Governance(rotate)));
    assert_eq!(w.ledger().freeze_point(&old), Some(3), "the old log is closed where the statement says");
    assert_eq!(stored(act(&w, "BW", register(4))), (new, 1));
    assert_eq!(stored(act(&w, "BW", register(5))), (new, 2));
    assert_eq!(w.ledger().head(&old).unwrap().unwrap().seq, 3, "nothing of the old log was lost or withdrawn");
    assert!(w.ledger().withdrawn_bytes(usize::MAX, usize::MAX).unwrap().is_empty());
}

#[test]
fn a_retired_directory_loses_its_keys_and_never_runs_a_node_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bw");
    init(&data);
    let keys: Vec<_> = std::fs::read_dir(data.join(layout::KEYS)).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(keys.len(), 2, "BW's authority and the chair");

    // Not while a node runs on it.
    let mut running = Command::new(env!("CARGO_BIN_EXE_kp-node"))
        .args(["run", "--no-p2p", "--http", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("KP_LOG", "warn")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !data.join(layout::COOKIE).exists() {
        assert!(Instant::now() < deadline, "the node did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let busy = kp_node(&["retire", "--yes"], &data);
    assert!(!busy.status.success() && text(&busy.stderr).contains("stop it first"), "{}", text(&busy.stderr));
    assert!(keys.iter().all(|k| k.exists()) && !data.join(layout::RETIRED).exists());
    Command::new("kill").args(["-TERM", &running.id().to_string()]).status().unwrap();
    assert!(running.wait().unwrap().success());

    // Without --yes: says what it would do, does nothing, exits with 2.
    let dry = kp_node(&["retire"], &data);
    assert_eq!(dry.status.code(), Some(2), "{}", text(&dry.stderr));
    for k in &keys {
        assert!(text(&dry.stdout).contains(&k.display().to_string()), "{}", text(&dry.stdout));
        assert!(k.exists());
    }
    assert!(!data.join(layout::RETIRED).exists());

    let done: serde_json::Value = serde_json::from_str(&ok(kp_node(&["retire", "--yes", "--json"], &data))).unwrap();
    assert_eq!(done["retired"], true);
    assert_eq!(done["keys"].as_array().unwrap().len(), 2);
    assert!(keys.iter().all(|k| !k.exists()), "the key files are gone");
    let marker = std::fs::read_to_string(data.join(layout::RETIRED)).unwrap();
    assert!(marker.contains("authority-BW.json"), "{marker}");

    let run = kp_node(&["run", "--no-p2p", "--http", "127.0.0.1:0"], &data);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("was retired"), "{}", text(&run.stderr));
    let key = kp_node(&["key", "new", "--name", "authority-BW-3"], &data);
    assert!(!key.status.success() && text(&key.stderr).contains("was retired"));
    // The store is still there to read.
    ok(kp_node(&["check"], &data));
}

#[test]
fn the_writer_signs_nothing_into_a_held_log_until_a_peer_says_how_far_it_goes_and_it_holds_that_far() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bw");
    init(&data);
    let bw = writer(&data).ledger().network().participant("BW").unwrap().participant.authority;
    let gate = Arc::new(Gate::new([bw]));
    let w = writer(&data).with_catch_up(gate.clone());
    let refused = act(&w, "BW", register(0)).unwrap_err();
    assert_eq!(refused.code(), codes::API_CATCHING_UP, "{refused}");
    assert_eq!(refused.status().as_u16(), 503);
    assert!(refused.to_string().contains("no peer has said yet"), "{refused}");
    // Another log of the node is not held.
    let gabon = Participant {
        code: "GA".into(),
        name: "Gabon".into(),
        authority: Keypair::from_seed([0x70; 32]).public(),
        zone_regime: false,
        nodes: vec![],
    };
    stored(act(&w, "chair", Body::Governance(Governance::AdmitParticipant(gabon))));
    // A peer holds BW's log up to 2: still held at 0.
    let peer = libp2p::PeerId::random();
    gate.heard(peer, |k| (*k == bw).then_some(2), |_| 0);
    let refused = act(&w, "BW", register(0)).unwrap_err();
    assert!(refused.to_string().contains("a peer holds it up to position 2"), "{refused}");
    // The peer goes before serving it; the next peer holds nothing of it.
    gate.gone(&peer);
    gate.heard(libp2p::PeerId::random(), |_| None, |_| 0);
    assert_eq!(stored(act(&w, "BW", register(0))), (bw, 1));
}

#[test]
fn a_data_directory_keeps_its_genesis_roster_and_says_so_when_given_another() {
    use kp_node::ledger::Ledger;
    use kp_node::store::RocksStore;
    let dir = tempfile::tempdir().unwrap();
    let keys = kp_dev::devnet::DevKeys::from_seed(80);
    let (genesis, other) = (keys.roster(NETWORK), keys.roster("kp-elsewhere"));
    let open = |r: Option<&SignedRoster>| Ledger::open(Box::new(RocksStore::open(dir.path()).unwrap()), r);
    drop(open(Some(&genesis)).unwrap());
    let err = open(Some(&other)).err().expect("another roster is refused").to_string();
    let hash = |r: &SignedRoster| crypto::roster_hash(&r.bytes.0).to_string();
    let stored = format!("created from genesis roster {} of network {NETWORK}", hash(&genesis));
    assert!(err.contains(&stored), "{err}");
    assert!(err.contains(&format!("{} of network kp-elsewhere", hash(&other))), "{err}");
    assert!(err.contains("always given its network's genesis roster") && err.contains("from its peers"), "{err}");
    drop(open(Some(&genesis)).unwrap());
    drop(open(None).unwrap());
}
