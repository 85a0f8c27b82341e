//! Checkpoints and witnessing on five real `kp-node` processes talking
//! libp2p over loopback: every log's writer signs checkpoints, the other
//! participants check and cosign them, proofs served by one node check
//! against checkpoints held by another, a writer that signs checkpoints that
//! cannot be true is caught and frozen by every honest node, cosignatures
//! and checkpoints reach nodes that were behind or down, and a bundle
//! exported at one node verifies offline, even once the writer is gone.

use kp_client::{Client, ClientError};
use kp_dev::demo;
use kp_e2e::*;
use kp_schemas::api::{CheckpointView, ConsistencyProof, FraudView, HeadView, InclusionProof};
use kp_schemas::bundle::Report;
use kp_schemas::checkpoint::{Checkpoint, CheckpointGossip, Cosignature, Fraud, FraudClaim, SignedCheckpoint};
use kp_schemas::encoding::encode;
use kp_schemas::model::*;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry, merkle};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

const NETWORK: &str = demo::NETWORK;
/// Checkpoints every second, so that the tests wait seconds, not minutes.
const NODE_ARGS: &[&str] = &["--checkpoint-secs", "1"];
const CODES: [&str; 5] = ["CF", "BW", "EU", "AE", "IN"];

/// Every log at every node: its head and newest checkpoint.
type Witnessed = BTreeMap<String, Vec<(HeadView, CheckpointView)>>;

/// The cosignatures a checkpoint of `log` needs: the intersecting quorum
/// of its witnesses, as the roster makes them (3 of 4 in the demo).
fn quorum(net: &Net, log: &PublicKey) -> usize {
    let signed = net.client("CF").roster().unwrap();
    let (roster, hash) = kp_schemas::roster::verify(&signed).unwrap();
    let state = kp_schemas::state::NetworkState::from_roster(&roster, hash);
    kp_schemas::checkpoint::quorum(&state, log, 0)
}

/// Wait until, at every node of `nodes`, the newest checkpoint of every
/// non-empty log covers the log's head and is witnessed by the quorum, not
/// counting the participants whose node writes the log.
#[track_caller]
fn all_witnessed(net: &Net, nodes: &[&str], timeout: Duration) -> Witnessed {
    wait_for("the newest checkpoint of every log witnessed at every node", timeout, |last| {
        let mut out = Witnessed::new();
        for code in nodes {
            let c = net.client(code);
            let mut logs = Vec::new();
            for h in c.logs().ok()? {
                // A frozen log is witnessed no more, though it may still
                // grow up to its freeze point.
                if h.head.seq == 0 || h.head.frozen {
                    continue;
                }
                let Some(v) = c.checkpoints(&h.author, Some(1)).ok()?.into_iter().next() else {
                    *last = format!("{code}: no checkpoint of {} ({} entries)", h.name, h.head.seq);
                    return None;
                };
                let independent = v.witnesses.iter().filter(|w| !net.writers_of(&h.author).contains(*w)).count();
                if v.size != h.head.seq || !v.witnessed || independent < quorum(net, &h.author) {
                    *last = format!(
                        "{code}: newest checkpoint of {} is at {} of {} entries, witnessed by {:?}",
                        h.name, v.size, h.head.seq, v.witnesses
                    );
                    return None;
                }
                logs.push((h, v));
            }
            out.insert(code.to_string(), logs);
        }
        Some(out)
    })
}

/// Check a checkpoint as a node shows it, with nothing but the roster: the
/// writer's signature, the fields shown, every cosignature, and that the
/// witnesses the node names are exactly the participants whose valid
/// cosignatures it carries, never the log's own participant, nor (for the
/// monitor's log) the participant whose node writes it.
/// Returns the signed checkpoint and its witnesses.
#[track_caller]
fn check_view(net: &Net, at: &str, v: &CheckpointView) -> (SignedCheckpoint, BTreeSet<String>) {
    let cp = SignedCheckpoint::parse(v.bytes.0.clone()).unwrap_or_else(|e| panic!("{at}: {}: {e}", v.log_name));
    cp.verify().unwrap_or_else(|e| panic!("{at}: checkpoint of {} at {}: {e}", v.log_name, v.size));
    let c = cp.checkpoint();
    assert_eq!(
        (&c.network[..], c.log, c.size, c.root, c.timestamp_ms, cp.id()),
        (NETWORK, v.log, v.size, v.root, v.timestamp_ms, v.id),
        "{at}: the signed checkpoint says something else than the view of it"
    );
    let mut witnesses = BTreeSet::new();
    for s in &v.cosignatures {
        s.verify(&cp).unwrap_or_else(|e| panic!("{at}: a cosignature of {} at {}: {e}", v.log_name, v.size));
        let code =
            net.code_of(&s.witness).unwrap_or_else(|| panic!("{at}: {} cosigned by a non-participant", v.log_name));
        assert!(witnesses.insert(code.to_string()), "{at}: {code} cosigned {} at {} twice", v.log_name, v.size);
    }
    let shown: BTreeSet<String> = v.witnesses.iter().cloned().collect();
    assert_eq!(shown, witnesses, "{at}: the witnesses named for {} at {}", v.log_name, v.size);
    let writers = net.writers_of(&v.log);
    assert!(
        witnesses.is_disjoint(&writers),
        "{at}: the checkpoint of {} at {} is cosigned by {:?}, whose node writes that log: {witnesses:?}",
        v.log_name,
        v.size,
        writers
    );
    assert_eq!(v.quorum, quorum(net, &v.log), "{at}");
    assert_eq!(v.witnessed, witnesses.len() >= v.quorum, "{at}: {} at {}: {witnesses:?}", v.log_name, v.size);
    (cp, witnesses)
}

/// Every checkpoint a node holds of a log, newest first.
fn checkpoints(c: &Client, log: &PublicKey) -> Vec<CheckpointView> {
    c.checkpoints(log, Some(500)).unwrap()
}

/// Every entry of a log at a node, in order.
fn log_entries(c: &Client, log: &PublicKey) -> Vec<kp_schemas::api::EntryView> {
    let mut out = Vec::new();
    let mut from = Some(1);
    while let Some(f) = from {
        let page = c.log_page(log, Some(f), Some(500)).unwrap();
        out.extend(page.entries);
        from = page.next;
    }
    out
}

/// Run the real `kp` against a node with `--json`; assert success and
/// return what it printed.
#[track_caller]
fn kp_json_text(n: &Node, args: &[&str]) -> String {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    ok(n.kp(&all))
}

/// `kp --json ARGS` at a node, parsed as its answer type.
macro_rules! kp_json {
    ($node:expr, $args:expr $(,)?) => {{
        let out = kp_json_text($node, $args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("kp {:?} printed what is not its JSON ({e}): {out}", $args))
    }};
}

// ------------------------------------------------------------------ test 1

#[test]
fn checkpoints_are_witnessed_by_the_quorum() {
    let _x = exclusive();
    let t0 = Instant::now();
    let net = Net::start(NODE_ARGS, |_, _| {});
    // The scenario writes at every node: CF, MT-CF, BW, EU, AE and IN.
    demo::load_scenario(&net.clients(), &net.licensees, "AE").unwrap();
    converged(&net.all(), Duration::from_secs(60));
    let first = all_witnessed(&net, &CODES, Duration::from_secs(60));
    // Every log grows again, so that each has checkpoints at two sizes at least.
    for (i, code) in CODES.iter().enumerate() {
        for j in 0..3u8 {
            net.register(code, &seeded(SEED, 0x10 + i as u8, j).public(), vec![Role::Trader]);
        }
    }
    let zone = Body::ZoneStatus(ZoneStatus {
        participant: "CF".into(),
        zone: "NOL".into(),
        name: "Nola".into(),
        status: ZoneState::Compliant,
        effective: "2018-01-01".into(),
        previous: None,
    });
    net.client("CF").action(Some("MT-CF"), zone).unwrap();
    let heads = converged(&net.all(), Duration::from_secs(60));
    let second = all_witnessed(&net, &CODES, Duration::from_secs(60));

    // Every author of the scenario has a log, none frozen, nobody cheated.
    let authors: BTreeSet<PublicKey> = heads.iter().filter(|h| h.1 > 0).map(|h| h.0).collect();
    let mut expected: BTreeSet<PublicKey> = CODES.iter().map(|c| net.authority(c)).collect();
    expected.insert(net.monitor());
    assert_eq!(authors, expected, "the logs written");
    assert!(heads.iter().all(|h| !h.3), "a log is frozen: {heads:?}");
    for (code, n) in net.all() {
        assert!(n.client().checkpoint_evidence().unwrap().is_empty(), "checkpoint fraud at {code}");
        assert!(n.client().evidence().unwrap().is_empty(), "equivocation at {code}");
    }

    // At every node, every checkpoint of every log verifies, and a size was
    // signed once: every node holds the same checkpoint at each size.
    let mut by_size: BTreeMap<(PublicKey, u64), Hash32> = BTreeMap::new();
    for (code, n) in net.all() {
        let c = n.client();
        for log in &authors {
            let list = checkpoints(&c, log);
            assert!(list.len() >= 2, "{code} holds {} checkpoints of {log}", list.len());
            let mut last: Option<&CheckpointView> = None;
            for v in &list {
                check_view(&net, code, v);
                if let Some(newer) = last {
                    assert!(v.size < newer.size && v.timestamp_ms <= newer.timestamp_ms, "{code}: order of {list:?}");
                }
                last = Some(v);
                if let Some(id) = by_size.insert((*log, v.size), v.id) {
                    assert_eq!(id, v.id, "{code} holds another checkpoint of {} at {}", v.log_name, v.size);
                }
            }
        }
    }
    for (code, logs) in first.iter().chain(&second) {
        for (h, v) in logs {
            let (_, w) = check_view(&net, code, v);
            assert!(w.len() >= quorum(&net, &h.author) && v.size == h.head.seq, "{code}: {} {w:?}", h.name);
        }
    }
    // What `kp checkpoints` prints is what the node serves.
    let cf = net.authority("CF");
    let shown: Vec<CheckpointView> = kp_json!(net.node("BW"), &["checkpoints", "CF", "--limit", "2"]);
    assert_eq!(shown, net.client("BW").checkpoints(&cf, Some(2)).unwrap());

    // Inclusion: each node proves entries of other nodes' logs, and `kp`
    // checks each proof against the roster; the proof is checked again
    // against the checkpoint of that size held by yet another node, whose
    // signatures are checked here.
    let roster = net.roster_file("EU");
    let roster = roster.to_str().unwrap();
    let mut proofs = 0;
    for (i, log) in authors.iter().enumerate() {
        let (at, other) = (CODES[i % 5], CODES[(i + 2) % 5]);
        let entries = log_entries(&net.client(at), log);
        let held = checkpoints(&net.client(other), log);
        // A size witnessed at `at` before the logs grew again.
        let oldest = first[at].iter().find(|(h, _)| h.author == *log).map_or(0, |(_, v)| v.size);
        for e in [&entries[0], &entries[entries.len() / 2], entries.last().unwrap()] {
            let p: InclusionProof =
                kp_json!(net.node(at), &["proof", "inclusion", &e.hash.to_hex(), "--roster", roster]);
            assert_eq!((p.entry, p.log, p.seq, p.leaf_index), (e.hash, *log, e.seq, e.seq - 1));
            let named = p.checkpoint.as_ref().unwrap_or_else(|| panic!("{at}: no checkpoint named for {}", e.hash));
            assert!(named.witnessed && named.size == p.tree_size && p.tree_size >= e.seq, "{at}: {p:?}");
            let v = held
                .iter()
                .find(|v| v.size == p.tree_size)
                .unwrap_or_else(|| panic!("{other} holds no checkpoint of {} at {}", named.log_name, p.tree_size));
            let (_, w) = check_view(&net, other, v);
            assert!(w.len() >= quorum(&net, log), "{other}: {w:?}");
            merkle::verify_inclusion(&e.hash, e.seq - 1, v.size, &p.proof, &v.root)
                .unwrap_or_else(|err| panic!("{} #{} at {}: {err}", named.log_name, e.seq, v.size));
            // The check is not vacuous: another leaf, or another root, fails.
            assert!(merkle::verify_inclusion(&Hash32([7; 32]), e.seq - 1, v.size, &p.proof, &v.root).is_err());
            proofs += 1;
            // At an older witnessed checkpoint, when it covers the entry.
            if let Some(old) = held.iter().find(|v| v.size == oldest)
                && e.seq <= oldest
                && oldest < v.size
            {
                let size = oldest.to_string();
                let p: InclusionProof = kp_json!(
                    net.node(at),
                    &["proof", "inclusion", &e.hash.to_hex(), "--size", &size, "--roster", roster]
                );
                assert_eq!(p.tree_size, oldest);
                check_view(&net, other, old);
                merkle::verify_inclusion(&e.hash, e.seq - 1, oldest, &p.proof, &old.root)
                    .unwrap_or_else(|err| panic!("{} #{} at {oldest}: {err}", old.log_name, e.seq));
                assert!(merkle::verify_inclusion(&e.hash, e.seq - 1, v.size, &p.proof, &v.root).is_err());
                proofs += 1;
            }
        }
    }

    // Consistency: between every two successive checkpoints of every log,
    // proved by one node, checked against the roots signed in checkpoints
    // held by another.
    let mut consistent = 0;
    for (i, log) in authors.iter().enumerate() {
        let (at, other) = (CODES[(i + 1) % 5], CODES[(i + 3) % 5]);
        let held = checkpoints(&net.client(other), log);
        for pair in held.windows(2) {
            let (new, old) = (&pair[0], &pair[1]);
            let p: ConsistencyProof = kp_json!(
                net.node(at),
                &["proof", "consistency", &log.to_hex(), &old.size.to_string(), &new.size.to_string()],
            );
            assert_eq!((p.log, p.size1, p.size2, p.root1, p.root2), (*log, old.size, new.size, old.root, new.root));
            merkle::verify_consistency(old.size, new.size, &p.proof, &old.root, &new.root)
                .unwrap_or_else(|err| panic!("{} from {} to {}: {err}", new.log_name, old.size, new.size));
            assert!(merkle::verify_consistency(old.size, new.size, &p.proof, &new.root, &old.root).is_err());
            consistent += 1;
        }
    }
    assert!(consistent >= authors.len(), "{consistent} consistency proofs for {} logs", authors.len());
    println!(
        "witnessing: {} logs, {} checkpoints, {proofs} inclusion and {consistent} consistency proofs checked \
         across nodes, in {:.1} s",
        authors.len(),
        by_size.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// `kp proof inclusion` at a node that lies, stood in for by a test-side
/// HTTP server that serves a doctored copy of a real node's answers: each
/// lie makes `kp` exit 1 naming it, and prints nothing as proven. The
/// honest answer, through the same stand-in, is proven against the roster.
#[test]
fn kp_proof_inclusion_trusts_the_roster_not_the_node() {
    let _x = exclusive();
    let t0 = Instant::now();
    let net = Net::start(NODE_ARGS, |_, _| {});
    for (i, code) in CODES.iter().enumerate() {
        for j in 0..2u8 {
            net.register(code, &seeded(SEED, 0x70 + i as u8, j).public(), vec![Role::Trader]);
        }
    }
    converged(&net.all(), Duration::from_secs(30));
    all_witnessed(&net, &CODES, Duration::from_secs(60));
    let roster_file = net.roster_file("EU");
    let roster = roster_file.to_str().unwrap();
    let signed: SignedRoster = serde_json::from_str(&std::fs::read_to_string(&roster_file).unwrap()).unwrap();
    let roster_hash = kp_schemas::crypto::roster_hash(&signed.bytes.0);

    // The AE node lies about CF's log.
    let liar = HostileNode::start(&net.node("AE").url());
    let cf = net.authority("CF");
    let entries = log_entries(&net.client("AE"), &cf);
    let (asked, other) = (entries[0].hash, entries[1].hash);
    let prove = |extra: &[&str]| {
        let hash = asked.to_hex();
        let mut args = vec!["--json", "proof", "inclusion", &hash];
        args.extend_from_slice(extra);
        liar.kp(&args)
    };

    // Told nothing, the stand-in passes the real answers on: proven.
    let shown: serde_json::Value = serde_json::from_str(&ok(prove(&["--roster", roster]))).unwrap();
    let p: InclusionProof = serde_json::from_value(shown.clone()).unwrap();
    assert_eq!((p.entry, p.log, p.seq), (asked, cf, 1));
    assert_eq!(shown["checked"]["roster_hash"], serde_json::json!(roster_hash), "{shown}");
    assert_eq!(shown["checked"]["chair"], serde_json::json!(signed.roster.chair), "{shown}");
    let witnesses = shown["checked"]["witnesses"].as_array().unwrap();
    assert!(witnesses.len() >= quorum(&net, &cf) && !witnesses.contains(&"CF".into()), "{shown}");
    let text = ok(liar.kp(&["proof", "inclusion", &asked.to_hex(), "--roster", roster]));
    assert!(text.contains(&format!("checked here against the roster {roster_hash}")), "{text}");
    // The node's own roster, taken only with the hash the chair published.
    let hash = roster_hash.to_hex();
    ok(prove(&["--roster-hash", &hash]));
    // No roster at all is not a default to the node's word.
    let none = prove(&[]);
    assert_eq!(none.status.code(), Some(2), "{}", stderr(&none));
    assert!(stderr(&none).contains("--roster FILE"), "{}", stderr(&none));

    // The entries and keys the lies are made of.
    let real_other = serde_json::to_vec(&net.client("AE").inclusion_proof(&other, None).unwrap()).unwrap();
    let ae = net.key("AE", "authority-AE.json");
    let cosigners: Vec<Keypair> = ["BW", "EU"].iter().map(|c| net.key(c, &format!("authority-{c}.json"))).collect();
    // Sign `c` with `key`, whoever's log it names, and have BW and EU
    // cosign it: a lie the writer and two witnesses would have to share.
    let sign_as = move |key: &Keypair, c: &Checkpoint| -> (HexBytes, Vec<Cosignature>) {
        let mut bytes = encode(c);
        let sig = key.sign(kp_schemas::crypto::Domain::Checkpoint, &bytes);
        bytes.extend_from_slice(&sig.0);
        let cp = SignedCheckpoint::parse(bytes.clone()).unwrap();
        (HexBytes(bytes), cosigners.iter().map(|w| cp.cosign(w)).collect())
    };
    let sign_as = std::sync::Arc::new(sign_as);
    type Lie = Box<dyn Fn(&mut InclusionProof) + Send + Sync>;
    let lies: Vec<(&str, &str, Lie)> = vec![
        ("a proof for another entry", "proof.wrong_entry", Box::new(|_| {})),
        (
            "the newest checkpoint shown with one cosignature, still said to be witnessed by all",
            "proof.quorum",
            Box::new(|p| p.checkpoint.as_mut().unwrap().cosignatures.truncate(1)),
        ),
        (
            "a cosignature that does not verify",
            "proof.cosignature",
            Box::new(|p| p.checkpoint.as_mut().unwrap().cosignatures[0].signature.0[7] ^= 1),
        ),
        ("no checkpoint: a root on the node's word", "proof.unwitnessed", Box::new(|p| p.checkpoint = None)),
        (
            "the CF checkpoint signed with AE's key, cosigned by BW and EU",
            "proof.checkpoint_signature",
            Box::new({
                let (ae, sign_as) = (ae.clone(), sign_as.clone());
                move |p| {
                    let v = p.checkpoint.as_mut().unwrap();
                    let c = SignedCheckpoint::parse(v.bytes.0.clone()).unwrap().checkpoint().clone();
                    (v.bytes, v.cosignatures) = sign_as(&ae, &c);
                }
            }),
        ),
        (
            "CF's tree passed off as AE's log, in a checkpoint AE signed, cosigned by BW and EU",
            "proof.wrong_log",
            Box::new({
                let (ae, sign_as) = (ae.clone(), sign_as.clone());
                move |p| {
                    let v = p.checkpoint.as_mut().unwrap();
                    let mut c = SignedCheckpoint::parse(v.bytes.0.clone()).unwrap().checkpoint().clone();
                    c.log = ae.public();
                    (v.bytes, v.cosignatures) = sign_as(&ae, &c);
                    (p.log, v.log) = (ae.public(), ae.public());
                }
            }),
        ),
        (
            "a checkpoint of AE's log shown for CF's entry",
            "proof.wrong_checkpoint",
            Box::new({
                let (ae, sign_as) = (ae.clone(), sign_as.clone());
                move |p| {
                    let v = p.checkpoint.as_mut().unwrap();
                    let mut c = SignedCheckpoint::parse(v.bytes.0.clone()).unwrap().checkpoint().clone();
                    c.log = ae.public();
                    (v.bytes, v.cosignatures) = sign_as(&ae, &c);
                }
            }),
        ),
    ];
    for (what, code, lie) in lies {
        let other_proof = real_other.clone();
        let swap = code == "proof.wrong_entry";
        liar.doctor(move |path, body| {
            if !path.starts_with("/v1/proofs/inclusion") {
                return body;
            }
            if swap {
                return other_proof.clone();
            }
            let mut p: InclusionProof = serde_json::from_slice(&body).unwrap();
            lie(&mut p);
            serde_json::to_vec(&p).unwrap()
        });
        let out = prove(&["--roster", roster]);
        assert_eq!(out.status.code(), Some(1), "{what}: kp exits {:?}: {}{}", out.status, stdout(&out), stderr(&out));
        assert!(stderr(&out).starts_with(&format!("error: {code}: ")), "{what}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{what}: printed as proven: {}", stdout(&out));
        println!("{what}: {}", stderr(&out).trim_end());
    }

    // A roster the node serves under another chair, valid in itself, is
    // not taken for the one whose hash was given.
    let stranger = Keypair::from_seed([0x66; 32]);
    let mut other_chair = signed.roster.clone();
    other_chair.chair = stranger.public();
    let forged = serde_json::to_vec(&kp_schemas::roster::sign(other_chair, &stranger)).unwrap();
    liar.doctor(move |path, body| if path.starts_with("/v1/roster") { forged.clone() } else { body });
    let out = prove(&["--roster-hash", &hash]);
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("proof.roster"), "{}", stderr(&out));
    println!("kp proof inclusion against lying answers: every lie caught, in {:.1} s", t0.elapsed().as_secs_f64());
}

// ------------------------------------------------------------------ test 2

/// The test's peer on the checkpoint topic; the roster must list it as an
/// observer (see [`listing_observer`]).
fn checkpoints_peer(key: libp2p::identity::Keypair, addrs: Vec<libp2p::Multiaddr>) -> TestPeer {
    TestPeer::connect(key, addrs, &kp_schemas::wire::checkpoints_topic(NETWORK), None).expect("observer connects")
}

fn bare(cp: &SignedCheckpoint) -> CheckpointGossip {
    CheckpointGossip::Checkpoint { checkpoint: HexBytes(cp.bytes().to_vec()), cosignatures: vec![] }
}

fn forge(key: &Keypair, size: u64, root: Hash32) -> SignedCheckpoint {
    let checkpoint =
        Checkpoint { network: NETWORK.into(), log: key.public(), size, root, timestamp_ms: kp_node::clock::now_ms() };
    SignedCheckpoint::sign(checkpoint, key)
}

/// Wait until a node holds fraud evidence against `log` that `pick` accepts.
#[track_caller]
fn fraud_at(code: &str, n: &Node, log: &PublicKey, pick: impl Fn(&FraudView) -> bool) -> FraudView {
    wait_for(&format!("checkpoint fraud evidence at {code}"), Duration::from_secs(30), |last| {
        let all = n.client().checkpoint_evidence().ok()?;
        *last = format!("{all:?}");
        all.into_iter().find(|f| f.log == *log && pick(f))
    })
}

/// A registration of `licensee`, written after the fraud.
fn after_the_fraud(licensee: &PublicKey) -> Body {
    Body::RegisterLicensee(LicenseeRegistration {
        licensee: *licensee,
        name: "after the fraud".into(),
        roles: vec![Role::Trader],
    })
}

/// The fill of this suite's [`seeded`] keys.
const SEED: u8 = 0x3C;

/// Every honest node holds the evidence, shows it in `kp evidence`, freezes
/// the log, and refuses the next entry of its writer, from the writer's own
/// node (an action with its cookie) as from any other (a signed entry).
#[track_caller]
/// The log is frozen on every node before `size`, the position the fraud
/// names: its writer's node signs nothing more in it, and an entry of it
/// beyond the freeze point is refused everywhere, one within it taken
/// everywhere (it is the log, whoever held it when the evidence came).
fn frozen_everywhere(net: &Net, writer: &str, log: &Keypair, fraud: &FraudView, size: u64) {
    let key = log.public();
    for (code, n) in net.all() {
        let head = n.client().logs().unwrap().into_iter().find(|h| h.author == key).unwrap().head;
        assert!(head.frozen, "{writer}'s log at {code} is not frozen: {head:?}");
        assert!(head.seq < size, "{writer}'s log at {code} goes on to the fraud's size {size}: {head:?}");
        let shown: serde_json::Value = kp_json!(n, &["evidence"]);
        let frauds = shown["checkpoint_frauds"].as_array().unwrap_or_else(|| panic!("kp evidence at {code}: {shown}"));
        assert!(
            frauds.iter().any(|f| f["id"] == serde_json::to_value(fraud.id).unwrap()),
            "kp evidence at {code} does not show the fraud against {writer}: {shown}"
        );
        assert!(shown["equivocations"].as_array().is_some_and(|e| e.is_empty()), "at {code}: {shown}");
    }
    let pk = seeded(SEED, 0xF0, writer.as_bytes()[0]).public().to_hex();
    refused(
        net.node(writer)
            .kp(&["licensee", "register", "--as", writer, "--key-of", &pk, "--name", "late", "--role", "trader"]),
        "R3.log_frozen",
    );
    let e = next_entry(&net.client(writer), log, after_the_fraud(&seeded(SEED, 0xF1, writer.as_bytes()[0]).public()));
    let within = e.entry().seq < size;
    for (code, n) in net.all() {
        match n.client().submit_entry(e.bytes()) {
            Err(ClientError::Api { status: 422, error }) if !within && error.code == "R3.log_frozen" => {}
            Ok(s) if within && s.seq == e.entry().seq => {}
            r => panic!("{code} answered {r:?} to entry {} of {writer}'s log, frozen before {size}", e.entry().seq),
        }
    }
}

#[test]
fn a_writer_that_signs_inconsistent_checkpoints_is_caught_by_every_honest_node() {
    let _x = exclusive();
    let t0 = Instant::now();
    let observer = libp2p::identity::Keypair::generate_ed25519();
    let id = observer.public().to_peer_id().to_string();
    let mut net = Net::start(NODE_ARGS, listing_observer(id));
    // Several entries in each log, written in a burst: the writer signs
    // checkpoints at some sizes only.
    for (i, code) in CODES.iter().enumerate() {
        for j in 0..6 {
            net.register(code, &seeded(SEED, i as u8, j).public(), vec![Role::Trader]);
        }
    }
    converged(&net.all(), Duration::from_secs(30));
    all_witnessed(&net, &CODES, Duration::from_secs(60));

    let targets = ["EU", "IN"];
    let peer = checkpoints_peer(observer.clone(), targets.iter().map(|c| net.addr(c)).collect());

    // (a) BW's writer signs a root that is not its log's root, at a size
    // where it signed nothing else: a wrong root, which every node holding
    // the log can show against its own tree.
    let bw = net.key("BW", "authority-BW.json");
    let bw_entries = log_entries(&net.client("BW"), &bw.public());
    let signed: BTreeSet<u64> =
        net.all().iter().flat_map(|(_, n)| checkpoints(&n.client(), &bw.public())).map(|v| v.size).collect();
    let size = (1..bw_entries.len() as u64).rev().find(|s| !signed.contains(s)).unwrap_or_else(|| {
        panic!("BW signed a checkpoint at every size of its log: {signed:?}");
    });
    let leaves: Vec<Hash32> = bw_entries.iter().map(|e| e.hash).collect();
    let true_root = merkle::root(&leaves[..size as usize]);
    // The root of the log one entry longer: a plausible lie.
    let lie = forge(&bw, size, merkle::root(&leaves[..size as usize + 1]));
    assert_ne!(lie.checkpoint().root, true_root);
    peer.publish(encode(&bare(&lie)));
    let mut wrong_root = None;
    for (code, n) in net.all() {
        let f = fraud_at(code, n, &bw.public(), |f| matches!(f.fraud, Fraud::WrongRoot { .. }));
        let Fraud::WrongRoot { checkpoint, entry } = &f.fraud else { unreachable!() };
        assert_eq!(checkpoint.0, lie.bytes(), "{code} holds evidence about another checkpoint");
        assert_eq!(entry.0, bw_entries[size as usize - 1].bytes.0, "{code}: the entry at {size}");
        assert_eq!(f.id, f.fraud.id(), "{code}");
        // The evidence convinces the test, which has only the entries.
        match f.fraud.check(NETWORK).unwrap() {
            FraudClaim::AgainstLog { log, size: s, entry, claimed } => {
                assert_eq!(
                    (log, s, entry, claimed),
                    (bw.public(), size, leaves[size as usize - 1], lie.checkpoint().root)
                );
                assert_ne!(merkle::root(&leaves[..s as usize]), claimed, "{code} keeps a false claim");
            }
            other => panic!("{code}: {other:?}"),
        }
        wrong_root.get_or_insert(f);
    }
    frozen_everywhere(&net, "BW", &bw, &wrong_root.unwrap(), size);

    // (b) AE's writer signs two checkpoints at one size beyond its log with
    // different roots: a split view, which needs no log to be proven.
    let ae = net.key("AE", "authority-AE.json");
    let ae_size = net.client("AE").logs().unwrap().into_iter().find(|h| h.author == ae.public()).unwrap().head.seq;
    let (one, two) = (forge(&ae, ae_size + 5, Hash32([1; 32])), forge(&ae, ae_size + 5, Hash32([2; 32])));
    peer.publish(encode(&bare(&one)));
    peer.publish(encode(&bare(&two)));
    let mut split = None;
    for (code, n) in net.all() {
        let f = fraud_at(code, n, &ae.public(), |f| matches!(f.fraud, Fraud::SplitView { .. }));
        let Fraud::SplitView { first, second } = &f.fraud else { unreachable!() };
        let pair: HashSet<&[u8]> = [&first.0[..], &second.0[..]].into();
        assert_eq!(pair, HashSet::from([one.bytes(), two.bytes()]), "{code}");
        assert_eq!(f.fraud.check(NETWORK), Ok(FraudClaim::Proven { log: ae.public() }), "{code}");
        split.get_or_insert(f);
    }
    frozen_everywhere(&net, "AE", &ae, &split.unwrap(), ae_size + 5);
    // Nothing was said against the honest writers.
    for (code, n) in net.all() {
        let frauds = n.client().checkpoint_evidence().unwrap();
        assert!(frauds.iter().all(|f| f.log == bw.public() || f.log == ae.public()), "{code}: {frauds:?}");
    }
    drop(peer);

    // The other logs keep working: entries spread, and their new
    // checkpoints are witnessed, by BW and AE too.
    for (i, code) in ["CF", "EU", "IN"].iter().enumerate() {
        net.register(code, &seeded(SEED, 0xA0 + i as u8, 0).public(), vec![Role::Trader]);
    }
    let heads = converged(&net.all(), Duration::from_secs(30));
    let frozen: BTreeSet<PublicKey> = heads.iter().filter(|h| h.3).map(|h| h.0).collect();
    assert_eq!(frozen, BTreeSet::from([bw.public(), ae.public()]), "frozen logs: {heads:?}");
    let after = all_witnessed(&net, &CODES, Duration::from_secs(60));
    for (code, logs) in &after {
        for (h, v) in logs.iter().filter(|(h, _)| !frozen.contains(&h.author)) {
            let (_, w) = check_view(&net, code, v);
            assert!(w.len() >= quorum(&net, &h.author), "{code}: {} {w:?}", h.name);
        }
    }

    // (c) A node that was down while evidence spread learns it when it comes
    // back: nodes hand their evidence over on connecting.
    net.node_mut("CF").stop();
    let in_key = net.key("IN", "authority-IN.json");
    let in_size = net.client("IN").logs().unwrap().into_iter().find(|h| h.author == in_key.public()).unwrap().head.seq;
    let (one, two) = (forge(&in_key, in_size + 3, Hash32([3; 32])), forge(&in_key, in_size + 3, Hash32([4; 32])));
    let peer = checkpoints_peer(observer, vec![net.addr("EU")]);
    peer.publish(encode(&bare(&one)));
    peer.publish(encode(&bare(&two)));
    for code in ["BW", "EU", "AE", "IN"] {
        fraud_at(code, net.node(code), &in_key.public(), |f| matches!(f.fraud, Fraud::SplitView { .. }));
    }
    drop(peer);
    net.node_mut("CF").restart();
    let f = fraud_at("CF", net.node("CF"), &in_key.public(), |f| matches!(f.fraud, Fraud::SplitView { .. }));
    assert_eq!(f.fraud.check(NETWORK), Ok(FraudClaim::Proven { log: in_key.public() }));
    let cf_heads = net.client("CF").logs().unwrap();
    assert!(cf_heads.iter().any(|h| h.author == in_key.public() && h.head.frozen), "IN's log at CF: {cf_heads:?}");

    println!(
        "checkpoint fraud: a wrong root and a split view caught at five nodes, and learnt by a node that was down, in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// A node that hears of a checkpoint before the entries it covers keeps it
/// until they arrive. Cosignatures that reach it meanwhile are witnesses'
/// only word: each witness publishes its cosignature once, so a node that
/// drops one never hears it again.
#[test]
fn cosignatures_heard_before_the_entries_arrive_are_kept() {
    let _x = exclusive();
    let t0 = Instant::now();
    let observer = libp2p::identity::Keypair::generate_ed25519();
    let id = observer.public().to_peer_id().to_string();
    let mut net = Net::start(NODE_ARGS, listing_observer(id));
    for j in 0..3 {
        net.register("BW", &seeded(SEED, 0xB0, j).public(), vec![Role::Trader]);
    }
    converged(&net.all(), Duration::from_secs(30));
    all_witnessed(&net, &CODES, Duration::from_secs(60));

    // BW's writer signs its next entry and a checkpoint covering it, and EU
    // cosigns that checkpoint; then both nodes go down before the entry has
    // reached anyone, so nobody else will sign or cosign that checkpoint.
    let (bw, eu, inn) =
        (net.key("BW", "authority-BW.json"), net.key("EU", "authority-EU.json"), net.key("IN", "authority-IN.json"));
    net.node_mut("BW").kill9();
    net.node_mut("EU").kill9();
    let up = ["CF", "AE", "IN"];
    let entry = next_entry(&net.client("CF"), &bw, after_the_fraud(&seeded(SEED, 0xB0, 9).public()));
    let mut leaves: Vec<Hash32> = log_entries(&net.client("CF"), &bw.public()).iter().map(|e| e.hash).collect();
    leaves.push(entry.hash());
    let cp = forge(&bw, leaves.len() as u64, merkle::root(&leaves));
    let with = |k: &Keypair| CheckpointGossip::Checkpoint {
        checkpoint: HexBytes(cp.bytes().to_vec()),
        cosignatures: vec![cp.cosign(k)],
    };
    // The checkpoint as its writer sent it, then as EU and IN passed it on.
    let peer = checkpoints_peer(observer, up.iter().map(|c| net.addr(c)).collect());
    // The pauses let the nodes judge each message, in this order, while
    // they lack the entry: the verdict below does not depend on them, only
    // whether a node that keeps the last cosignatures it heard, instead of
    // all of them, is caught every time.
    for m in [bare(&cp), with(&eu), with(&inn)] {
        peer.publish(encode(&m));
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_millis(700));
    drop(peer);

    // The entry arrives; every node cosigns, and keeps EU's cosignature.
    net.client("CF").submit_entry(entry.bytes()).unwrap();
    let nodes: Vec<(&str, &Node)> = net.all().into_iter().filter(|(c, _)| up.contains(c)).collect();
    converged(&nodes, Duration::from_secs(30));
    for (code, n) in &nodes {
        let v = wait_for(
            &format!("{code} holding EU's cosignature of BW at {}", leaves.len()),
            Duration::from_secs(60),
            |last| {
                let v = n.client().checkpoints(&bw.public(), Some(1)).ok()?.into_iter().next()?;
                *last = format!("size {}, witnesses {:?}", v.size, v.witnesses);
                (v.id == cp.id() && ["CF", "AE", "IN", "EU"].iter().all(|w| v.witnesses.iter().any(|x| x == w)))
                    .then_some(v)
            },
        );
        let (_, w) = check_view(&net, code, &v);
        assert!(v.witnessed && w.len() == 4, "{code}: {w:?}");
    }
    println!("cosignatures heard before the entries: kept at three nodes, in {:.1} s", t0.elapsed().as_secs_f64());
}

/// Checkpoints travel by gossip, which reaches only the nodes up at the
/// time; one that was down when the writers signed must still come to hold
/// witnessed checkpoints of the logs it caught up with, or it can export no
/// bundle of them. On connecting, a node asks each peer for the newest
/// checkpoint of every log with its cosignatures (and every node publishes
/// them again every 90 s, should that fail).
#[test]
fn a_node_that_was_down_learns_the_checkpoints_it_missed() {
    let _x = exclusive();
    let t0 = Instant::now();
    let mut net = Net::start(NODE_ARGS, |_, _| {});
    for (i, code) in CODES.iter().enumerate() {
        net.register(code, &seeded(SEED, 0x50 + i as u8, 0).public(), vec![Role::Trader]);
    }
    converged(&net.all(), Duration::from_secs(30));
    all_witnessed(&net, &CODES, Duration::from_secs(60));
    net.node_mut("IN").stop();
    for code in ["CF", "BW"] {
        for j in 1..4 {
            net.register(code, &seeded(SEED, 0x60 + code.as_bytes()[0], j).public(), vec![Role::Trader]);
        }
    }
    let others: Vec<(&str, &Node)> = net.all().into_iter().filter(|(c, _)| *c != "IN").collect();
    converged(&others, Duration::from_secs(30));
    all_witnessed(&net, &["CF", "BW", "EU", "AE"], Duration::from_secs(60));
    // Longer than the peers' gossip offers a peer that comes back what it
    // missed (a few seconds here): a real outage lasts minutes, not seconds.
    std::thread::sleep(Duration::from_secs(15));
    net.node_mut("IN").restart();
    wait_peers("IN", net.node("IN"), 4);
    converged(&net.all(), Duration::from_secs(60));
    // No writer signs again (their logs do not grow): IN must get the
    // checkpoints it missed, with their cosignatures, from its peers.
    let t_back = Instant::now();
    all_witnessed(&net, &CODES, Duration::from_secs(120));
    // And then it can export what it caught up with.
    let cf = net.authority("CF");
    let last = log_entries(&net.client("IN"), &cf).pop().unwrap();
    let roster = net.roster_file("IN");
    let p: InclusionProof =
        kp_json!(net.node("IN"), &["proof", "inclusion", &last.hash.to_hex(), "--roster", roster.to_str().unwrap()]);
    assert!(
        p.checkpoint.as_ref().is_some_and(|c| c.witnessed && c.size == last.seq),
        "IN proves CF #{} against {p:?}",
        last.seq
    );
    println!("IN held witnessed checkpoints {:.1} s after its restart", t_back.elapsed().as_secs_f64());
    println!(
        "a node back from a stop holds witnessed checkpoints of every log, in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------ test 3

/// `kp verify FILE --roster ROSTER`: exit code, text, and the `--json` report.
fn verify(n: &Node, file: &Path, roster: &Path) -> (Option<i32>, String, Option<Report>) {
    let (f, r) = (file.to_str().unwrap(), roster.to_str().unwrap());
    let text: Output = n.kp(&["verify", f, "--roster", r]);
    let json: Output = n.kp(&["verify", f, "--roster", r, "--json"]);
    assert_eq!(text.status.code(), json.status.code(), "kp verify exits differently with --json: {}", stderr(&json));
    let report = serde_json::from_str(&stdout(&json)).ok();
    (text.status.code(), format!("{}{}", stdout(&text), stderr(&text)), report)
}

#[track_caller]
fn assert_valid(what: &str, v: &(Option<i32>, String, Option<Report>)) -> Report {
    let (code, text, report) = v;
    assert_eq!(*code, Some(0), "{what}: kp verify: {text}");
    assert!(text.lines().any(|l| l.starts_with("VALID")), "{what}: no line starts with VALID: {text}");
    let r = report.clone().unwrap_or_else(|| panic!("{what}: kp verify --json printed no report"));
    assert!(r.valid && r.problems.is_empty(), "{what}: {:?}", r.problems);
    r
}

/// What two verdicts on one certificate must share, whichever node exported
/// the bundle: validity, the logs and their checkpoints, the entries, the
/// trail's origins. (Which participants cosigned may differ by node.)
fn verdict(r: &Report) -> serde_json::Value {
    let logs: Vec<_> =
        r.logs.iter().map(|l| (l.log, l.name.clone(), l.size, l.root, l.timestamp_ms, l.entries)).collect();
    let trail = r.trail.as_ref().expect("a trail");
    serde_json::json!({
        "valid": r.valid,
        "subject": r.subject,
        "entries": r.entries,
        "logs": logs,
        "origins": trail.origins,
        "productions": trail.productions,
        "compliance": trail.compliance,
    })
}

#[test]
fn a_bundle_exported_at_one_node_verifies_offline_and_after_the_writer_is_gone() {
    let _x = exclusive();
    let t0 = Instant::now();
    let mut net = Net::start(NODE_ARGS, |_, _| {});
    demo::load_scenario(&net.clients(), &net.licensees, "AE").unwrap();
    converged(&net.all(), Duration::from_secs(60));
    all_witnessed(&net, &CODES, Duration::from_secs(60));
    let out = tempfile::tempdir().unwrap();
    let roster = net.roster_file("EU");

    // CF-000001: productions in Berberati and Nola under MT-CF's zone
    // statuses, transfers at CF, the export, the EU's confirmation.
    let cert = "CF-000001";
    let at_ae = out.path().join("ae.bundle");
    ok(net.node("AE").kp(&["bundle", "cert", cert, "-o", at_ae.to_str().unwrap()]));
    let bytes = std::fs::read(&at_ae).unwrap();
    // The library's verdict, before the command's.
    let opts = kp_schemas::bundle::VerifyOptions { quorum: 0, today: "2017-12-31".into() };
    let lib = kp_schemas::bundle::verify(&bytes, &net.client("CF").roster().unwrap(), &opts);
    assert!(lib.valid, "the bundle exported at AE: {:?}", lib.problems);

    let first = assert_valid("the bundle exported at AE", &verify(net.node("AE"), &at_ae, &roster));
    let names: BTreeSet<&str> = first.logs.iter().map(|l| l.name.as_str()).collect();
    for log in ["CF authority", "MT-CF", "EU authority"] {
        assert!(names.contains(log), "the bundle of {cert} has no checkpoint of {log}: {names:?}");
    }
    for l in &first.logs {
        assert!(
            l.witnesses.len() >= quorum(&net, &l.log) && l.quorum == quorum(&net, &l.log),
            "{}: {:?}",
            l.name,
            l.witnesses
        );
        assert!(!net.writers_of(&l.log).iter().any(|w| l.witnesses.contains(w)), "{}: {:?}", l.name, l.witnesses);
    }
    assert_eq!(first.subject, Some(Subject::Certificate { number: cert.into() }));
    let trail = first.trail.as_ref().expect("the trail of the bundle");
    assert_eq!(trail.productions, 2, "Berberati and Nola");
    assert!(trail.compliance.compliant, "{:?}", trail.compliance);
    assert!(
        trail.origins.len() == 1 && trail.origins[0].country == "CF" && (trail.origins[0].share - 1.0).abs() < 1e-9,
        "{:?}",
        trail.origins
    );

    // One byte changed anywhere that still reads as a bundle: invalid.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let flip = |at: usize| {
        let mut b = bytes.clone();
        b[at] = if b[at] == b'0' { b'1' } else { b'0' };
        b
    };
    // A hex digit in the middle of a string the bundle holds (each is unique).
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let inside = |v: &serde_json::Value| {
        let s = v.as_str().expect("a hex string");
        text.find(s).expect("the string in the file") + s.len() / 2
    };
    let entry = &value["entries"][0];
    let proof = value["entries"].as_array().unwrap().iter().find_map(|e| e["proof"].as_array()?.first().cloned());
    let mut cases = vec![
        ("an entry", inside(&entry["entry"])),
        ("a checkpoint", inside(&value["checkpoints"][0]["checkpoint"])),
        ("a cosignature", inside(&value["checkpoints"][0]["cosignatures"][0]["signature"])),
    ];
    cases.extend(proof.map(|p| ("a proof hash", inside(&p))));
    for (what, at) in cases {
        let bad = out.path().join("bad.bundle");
        std::fs::write(&bad, flip(at)).unwrap();
        let (code, shown, report) = verify(net.node("AE"), &bad, &roster);
        assert_eq!(code, Some(1), "a bundle with a byte of {what} changed: {shown}");
        assert!(shown.lines().any(|l| l.starts_with("INVALID")), "{what}: {shown}");
        let r = report.unwrap_or_else(|| panic!("{what}: no --json report"));
        assert!(!r.valid && !r.problems.is_empty(), "{what}: {r:?}");
        assert!(
            r.problems.iter().all(|p| shown.contains(&p.code)),
            "{what}: the text does not name {:?}: {shown}",
            r.problems
        );
    }
    let garbage = out.path().join("garbage.bundle");
    std::fs::write(&garbage, b"a parcel of rough diamonds, trust me").unwrap();
    assert_eq!(verify(net.node("AE"), &garbage, &roster).0, Some(2), "an unreadable bundle");

    // The writer of most of the trail (CF, which also writes MT-CF's log)
    // is gone: another node exports the same bundle, and it means the same.
    net.node_mut("CF").kill9();
    for code in ["IN", "EU"] {
        let file = out.path().join(format!("{code}.bundle"));
        ok(net.node(code).kp(&["bundle", "cert", cert, "-o", file.to_str().unwrap(), "--wait", "60"]));
        let again = assert_valid(&format!("the bundle exported at {code}"), &verify(net.node(code), &file, &roster));
        assert_eq!(verdict(&again), verdict(&first), "the verdict on the bundle exported at {code}");
    }
    let still = assert_valid("the AE bundle, again", &verify(net.node("IN"), &at_ae, &net.roster_file("IN")));
    assert_eq!(still, first);
    println!(
        "bundle: {} entries from {} logs verified offline, the same after CF's kill -9, in {:.1} s",
        first.entries,
        first.logs.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// The attack on witnessing, over libp2p: BW's writer (a test-side peer with
/// BW's node identity and authority key, its real node stopped) shows CF and
/// EU one branch of its log and AE and IN another, through its own sync
/// answers, and hands each half a checkpoint of its branch, at different
/// sizes so that no two checkpoints share a size. Each half cosigns its own:
/// two of BW's four witnesses, not a quorum. When the halves' checkpoints
/// meet, each honest node freezes BW's log, on fraud evidence or on
/// equivocation evidence, and no branch is ever witnessed.
#[test]
fn a_writer_showing_each_half_of_its_witnesses_another_branch_is_frozen_before_the_fork_everywhere() {
    use kp_schemas::wire::{LogHead, SyncRequest, SyncResponse};
    let _x = exclusive();
    let t0 = Instant::now();
    let mut net = Net::start(NODE_ARGS, |_, _| {});
    for j in 0..3 {
        net.register("BW", &seeded(SEED, 0x40, j).public(), vec![Role::Trader]);
    }
    converged(&net.all(), Duration::from_secs(30));
    all_witnessed(&net, &CODES, Duration::from_secs(60));
    let bw = net.key("BW", "authority-BW.json");
    let identity = kp_node::node::node_identity(&net.data("BW")).unwrap();
    let held = log_entries(&net.client("CF"), &bw.public());
    let n = held.len() as u64;
    let head = net.client("CF").logs().unwrap().into_iter().find(|h| h.author == bw.public()).unwrap().head;
    net.node_mut("BW").stop();

    let next = |seq: u64, prev: Hash32, name: &str| {
        let body = Body::RegisterLicensee(LicenseeRegistration {
            licensee: seeded(SEED, 0x41, seq as u8 + name.len() as u8).public(),
            name: name.into(),
            roles: vec![Role::Trader],
        });
        let e = Entry {
            network: NETWORK.into(),
            author: bw.public(),
            seq,
            prev,
            timestamp_ms: head.timestamp_ms + seq,
            context: vec![],
            body,
        };
        SignedEntry::sign(e, &bw)
    };
    let a1 = next(n + 1, head.hash, "branch A");
    let a2 = next(n + 2, a1.hash(), "branch A, again");
    let b1 = next(n + 1, head.hash, "branch B, the other story");
    let log = |branch: &[&SignedEntry]| -> Vec<Vec<u8>> {
        held.iter().map(|e| e.bytes.0.clone()).chain(branch.iter().map(|e| e.bytes().to_vec())).collect()
    };
    let (log_a, log_b) = (log(&[&a1, &a2]), log(&[&b1]));
    let root = |l: &[Vec<u8>]| merkle::root(&l.iter().map(|b| kp_schemas::crypto::entry_hash(b)).collect::<Vec<_>>());
    let (cp_a, cp_b) = (forge(&bw, n + 2, root(&log_a)), forge(&bw, n + 1, root(&log_b)));
    let peer_of = |code: &str| {
        net.addr(code)
            .iter()
            .find_map(|p| if let libp2p::multiaddr::Protocol::P2p(id) = p { Some(id) } else { None })
            .unwrap()
    };
    let half_a: HashSet<libp2p::PeerId> = ["CF", "EU"].map(peer_of).into_iter().collect();
    let author = bw.public();
    let answer: Answer = Box::new(move |peer, request| {
        let (l, cp) = if half_a.contains(&peer) { (&log_a, &cp_a) } else { (&log_b, &cp_b) };
        match request {
            SyncRequest::Heads => {
                let last = SignedEntry::parse(l.last().unwrap().clone()).unwrap();
                SyncResponse::Heads(vec![LogHead { author, seq: l.len() as u64, hash: last.hash() }])
            }
            SyncRequest::Page { author: a, from, limit } if a == author => SyncResponse::Page(
                l.iter().skip(from.max(1) as usize - 1).take(limit as usize).cloned().map(HexBytes).collect(),
            ),
            SyncRequest::Page { .. } => SyncResponse::Page(vec![]),
            SyncRequest::Since { index, .. } => SyncResponse::Ordered { entries: vec![], next: index },
            SyncRequest::Checkpoints => SyncResponse::Checkpoints(vec![bare(cp)]),
            SyncRequest::Equivocations => SyncResponse::Equivocations(vec![]),
            SyncRequest::Withdrawn => SyncResponse::Withdrawn(vec![]),
        }
    });
    let honest = ["CF", "EU", "AE", "IN"];
    let writer = SyncPeer::start(identity, honest.map(|c| net.addr(c)).to_vec(), answer);

    // Every honest node freezes BW's log before the fork, whichever branch
    // it held: all end with the history they share, and the same head.
    for code in honest {
        let n_at = net.node(code);
        let h = wait_for(&format!("{code} freezing BW's log before the fork"), Duration::from_secs(90), |last| {
            let h = n_at.client().logs().ok()?.into_iter().find(|h| h.author == author)?.head;
            *last = format!("{h:?}");
            (h.frozen && h.seq == n).then_some(h)
        });
        assert_eq!(h.hash, head.hash, "{code} ends BW's log on the shared history");
        let beyond = n_at.client().log_page(&author, Some(n + 1), Some(1)).unwrap().entries;
        assert!(beyond.is_empty(), "{code} serves no entry of either branch: {beyond:?}");
    }
    // No branch was ever witnessed: no node holds a witnessed checkpoint of
    // BW beyond the history every node shares.
    for code in honest {
        let beyond: Vec<_> =
            checkpoints(&net.client(code), &author).into_iter().filter(|v| v.size > n && v.witnessed).collect();
        assert!(beyond.is_empty(), "{code} holds a witnessed checkpoint of a branch: {beyond:?}");
    }
    drop(writer);
    println!(
        "branch attack: BW showed CF and EU one branch and AE and IN another; every honest node froze the log \
         before the fork, at the same head, and no branch was witnessed; test took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
