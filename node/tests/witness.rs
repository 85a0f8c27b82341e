//! Checkpoints and witnessing between nodes, each with its own real
//! RocksDB: the writer signs, witnesses cosign what matches the log they
//! hold, and what cannot be true becomes evidence that freezes the log.
//! Gossip is handed from one witness to the next by hand; tests/witness.rs
//! runs the same over libp2p between kp-node processes.

use kp_dev::workload;
use kp_node::ingest::{Outcome as Written, Submission, SubmitError, Writer};
use kp_node::keys::Keyring;
use kp_node::ledger::Ledger;
use kp_node::metrics::Metrics;
use kp_node::rebuild;
use kp_node::store::RocksStore;
use kp_node::witness::{CheckpointConfig, Outcome, Verdict, Witness};
use kp_schemas::checkpoint::{Checkpoint, CheckpointGossip, Fraud, SignedCheckpoint};
use kp_schemas::codes;
use kp_schemas::model::{Body, Entry, Governance, HexBytes};
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use std::sync::Arc;
use std::time::Duration;

struct Node {
    _dir: tempfile::TempDir,
    ledger: Arc<Ledger>,
    witness: Witness,
    writer: Writer,
    metrics: Arc<Metrics>,
}

fn node(w: &workload::Workload, keys: &[&Keypair], entries: &[Vec<u8>], every_entries: u64) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open(dir.path()).unwrap();
    let ledger = Arc::new(Ledger::open(Box::new(store), Some(&w.keys.roster(workload::NETWORK))).unwrap());
    let metrics = Arc::new(Metrics::default());
    let writer = Writer::new(ledger.clone(), Keyring::default(), metrics.clone());
    for chunk in entries.chunks(1000) {
        for r in writer.process(chunk.iter().cloned().map(Submission::Entry).collect()) {
            r.and_then(Written::into_reply).unwrap();
        }
    }
    let mut ring = Keyring::default();
    for k in keys {
        ring.insert((*k).clone());
    }
    let cfg = CheckpointConfig { every_entries, every: Duration::from_secs(3600), quorum: 2 };
    let witness = Witness::new(ledger.clone(), ring, cfg).with_metrics(metrics.clone());
    Node { _dir: dir, ledger, witness, writer, metrics }
}

impl Node {
    /// What the node does with an outcome: keep its frauds (the writer
    /// freezes the logs).
    fn settle(&self, out: &Outcome) {
        for bytes in &out.conflicts {
            let r = self.writer.process(vec![Submission::Peer(bytes.clone())]).remove(0);
            assert!(matches!(&r, Ok(Written::Evidence { .. })), "{r:?}");
            let r = r.and_then(Written::into_reply);
            assert!(matches!(&r, Err(SubmitError::Refused(x)) if x.code == codes::R3_EQUIVOCATION), "{r:?}");
        }
        for (log, fraud) in &out.frauds {
            self.writer.freeze(log, fraud).unwrap();
        }
    }

    fn receive(&self, msg: &CheckpointGossip) -> (Verdict, Outcome) {
        let (v, out) = self.witness.receive(msg.clone()).unwrap();
        self.settle(&out);
        (v, out)
    }

    fn frozen(&self, log: &PublicKey) -> bool {
        self.ledger.head(log).unwrap().is_some_and(|h| h.frozen)
    }
}

fn counter(m: &Metrics, name: &str) -> u64 {
    let text = m.render();
    let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name}: {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn forged(key: &Keypair, size: u64, root: Hash32) -> SignedCheckpoint {
    SignedCheckpoint::sign(
        Checkpoint { network: workload::NETWORK.into(), log: key.public(), size, root, timestamp_ms: 1 },
        key,
    )
}

fn gossip(cp: &SignedCheckpoint) -> CheckpointGossip {
    CheckpointGossip::Checkpoint { checkpoint: HexBytes(cp.bytes().to_vec()), cosignatures: vec![] }
}

/// The next entry of `key`'s log, after the ledger's head.
fn next_entry(ledger: &Ledger, key: &Keypair) -> Vec<u8> {
    let head = ledger.head(&key.public()).unwrap().unwrap();
    let licensee = Keypair::from_seed([head.seq as u8 ^ 0x5a; 32]).public();
    let body = Body::RegisterLicensee(kp_schemas::model::LicenseeRegistration {
        licensee,
        name: format!("late licensee {}", head.seq),
        roles: vec![kp_schemas::model::Role::Trader],
    });
    let e = Entry {
        network: workload::NETWORK.into(),
        author: key.public(),
        seq: head.seq + 1,
        prev: head.hash,
        timestamp_ms: head.timestamp_ms + 1,
        context: vec![],
        body,
    };
    SignedEntry::sign(e, key).into_bytes()
}

#[test]
fn the_writer_signs_and_a_quorum_of_other_participants_witnesses() {
    let w = workload::generate(600, 0, &|_| {});
    let keys = &w.keys;
    let (cf, bw, eu, india) = (keys.authority("CF"), keys.authority("BW"), keys.authority("EU"), keys.authority("IN"));
    // Checkpoints by time only, here: one per tick with new entries.
    let writer = node(&w, &[cf], &w.entries, 1_000_000);
    let (a, b) = (node(&w, &[bw], &w.entries, 100), node(&w, &[eu], &w.entries, 100));
    let i = node(&w, &[india], &w.entries, 100);
    let log = cf.public();
    let size = writer.ledger.log_size(&log).unwrap();

    let out = writer.witness.tick(10).unwrap();
    assert_eq!(out.publish.len(), 1, "one own log, one checkpoint");
    assert!(writer.metrics.render().contains("kp_checkpoints_signed_total 1\n"), "{}", writer.metrics.render());
    assert!(writer.witness.tick(11).unwrap().publish.is_empty(), "nothing new: nothing due");
    let stored = writer.witness.latest(&log, 1).unwrap().remove(0);
    let cp = stored.signed().unwrap();
    assert_eq!((cp.checkpoint().size, cp.checkpoint().root), (size, writer.ledger.tree(&log).root(size).unwrap()));
    assert_eq!(cp.verify(), Ok(()));
    assert!(writer.witness.witnessed_covering(&log, size).unwrap().is_none());

    // Each witness checks it against its own copy, cosigns and passes it on.
    let (v, out_a) = a.receive(&out.publish[0]);
    assert_eq!((v, out_a.publish.len()), (Verdict::Accept, 1));
    assert!(a.metrics.render().contains("kp_cosignatures_made_total 1\n"));
    let (v, out_b) = b.receive(&out_a.publish[0]);
    assert_eq!((v, out_b.publish.len()), (Verdict::Accept, 1));
    // The same message again adds nothing.
    assert_eq!(b.receive(&out_a.publish[0]).0, Verdict::Ignore);
    assert_eq!(writer.receive(&out_b.publish[0]).0, Verdict::Accept);
    // CF's log has four witnesses: two of them are not a quorum, since two
    // other ones could witness another branch.
    assert_eq!(writer.witness.quorum(&writer.ledger.network(), &log), 3);
    assert!(writer.witness.witnessed_covering(&log, size).unwrap().is_none(), "BW and EU are 2 of 4");
    let (_, out_i) = i.receive(&out_b.publish[0]);
    assert_eq!(writer.receive(&out_i.publish[0]).0, Verdict::Accept);
    let witnessed = writer.witness.witnessed_covering(&log, size).unwrap().expect("witnessed by BW, EU and IN");
    assert_eq!(writer.witness.witnesses(&witnessed).unwrap(), vec!["BW".to_string(), "EU".to_string(), "IN".into()]);
    assert!(writer.witness.witnessed_covering(&log, size + 1).unwrap().is_none());
    // A writer's own cosignature does not count towards its quorum.
    let own =
        CheckpointGossip::Checkpoint { checkpoint: HexBytes(cp.bytes().to_vec()), cosignatures: vec![cp.cosign(cf)] };
    assert_eq!(a.receive(&own).0, Verdict::Reject);
    assert!(!writer.frozen(&log));
}

#[test]
fn a_suspended_participant_neither_cosigns_nor_counts_toward_the_quorum() {
    let w = workload::generate(600, 0, &|_| {});
    let keys = &w.keys;
    let (cf, bw, eu, india) = (keys.authority("CF"), keys.authority("BW"), keys.authority("EU"), keys.authority("IN"));
    let suspend = Entry {
        network: workload::NETWORK.into(),
        author: keys.chair.public(),
        seq: 1,
        prev: Hash32::ZERO,
        timestamp_ms: 1,
        context: vec![],
        body: Body::Governance(Governance::SuspendParticipant {
            code: "BW".into(),
            reason: "no statistics".into(),
            from: 1,
        }),
    };
    let entries: Vec<Vec<u8>> =
        w.entries.iter().cloned().chain([SignedEntry::sign(suspend, &keys.chair).into_bytes()]).collect();
    let writer = node(&w, &[cf], &entries, 1_000_000);
    let (b, e, i) = (node(&w, &[bw], &entries, 100), node(&w, &[eu], &entries, 100), node(&w, &[india], &entries, 100));
    let log = cf.public();
    let size = writer.ledger.log_size(&log).unwrap();
    let out = writer.witness.tick(10).unwrap();

    // BW's node checks the checkpoint against its log and keeps it, but
    // makes no cosignature.
    let (v, out_b) = b.receive(&out.publish[0]);
    assert_eq!((v, out_b.publish.len()), (Verdict::Accept, 0));
    assert_eq!(counter(&b.metrics, "kp_cosignatures_made_total"), 0);

    // A BW cosignature made all the same (before the suspension, or by a
    // node that has not seen it) is not false: the message is taken, and
    // the cosignature left out of what is kept and passed on.
    let cp = writer.witness.latest(&log, 1).unwrap().remove(0).signed().unwrap();
    let with_bw =
        CheckpointGossip::Checkpoint { checkpoint: HexBytes(cp.bytes().to_vec()), cosignatures: vec![cp.cosign(bw)] };
    let (v, out_e) = e.receive(&with_bw);
    assert_eq!((v, out_e.publish.len()), (Verdict::Accept, 1));
    let CheckpointGossip::Checkpoint { cosignatures, .. } = &out_e.publish[0] else { panic!("{:?}", out_e.publish) };
    assert_eq!(cosignatures.iter().map(|c| c.witness).collect::<Vec<_>>(), vec![eu.public()]);
    assert_eq!(writer.receive(&out_e.publish[0]).0, Verdict::Accept);
    assert_eq!(writer.receive(&with_bw).0, Verdict::Ignore, "nothing that counts is new");
    assert!(writer.witness.witnessed_covering(&log, size).unwrap().is_none(), "EU alone is not a quorum of 2");

    // A third participant that is not suspended makes the quorum.
    let (_, out_i) = i.receive(&out_e.publish[0]);
    assert_eq!(writer.receive(&out_i.publish[0]).0, Verdict::Accept);
    let s = writer.witness.witnessed_covering(&log, size).unwrap().expect("witnessed by EU and IN");
    assert_eq!(writer.witness.witnesses(&s).unwrap(), vec!["EU".to_string(), "IN".to_string()]);
}

#[test]
fn a_log_that_grew_by_many_times_n_is_signed_every_n_entries() {
    let w = workload::generate(600, 0, &|_| {});
    let cf = w.keys.authority("CF");
    let n = node(&w, &[cf], &w.entries, 10);
    let log = cf.public();
    let size = n.ledger.log_size(&log).unwrap();
    assert!(size > 30, "the CF log has {size} entries");
    let signed = |out: &Outcome| -> Vec<u64> {
        out.publish
            .iter()
            .map(|m| match m {
                CheckpointGossip::Checkpoint { checkpoint, .. } => {
                    SignedCheckpoint::parse(checkpoint.0.clone()).unwrap().checkpoint().size
                }
                other => panic!("{other:?}"),
            })
            .collect()
    };
    // The first tick: every tenth size, and the size now since none was signed.
    let mut want: Vec<u64> = (1..=size / 10).map(|k| 10 * k).collect();
    if !size.is_multiple_of(10) {
        want.push(size);
    }
    assert_eq!(signed(&n.witness.tick(1_000).unwrap()), want);
    // Each verifies and has the root of the log at its size.
    for s in &want {
        let stored = n.witness.stored(&log, *s).unwrap().unwrap().signed().unwrap();
        assert_eq!(stored.verify(), Ok(()));
        assert_eq!(stored.checkpoint().root, n.ledger.tree(&log).root(*s).unwrap());
    }
    // Nothing new: nothing to sign, however long it has been.
    assert!(signed(&n.witness.tick(1_000_000).unwrap()).is_empty());
    // Five more entries: under N and before T, nothing; after T, that size.
    for _ in 0..5 {
        let e = next_entry(&n.ledger, cf);
        assert!(
            !n.writer.process(vec![Submission::Entry(e)]).remove(0).and_then(Written::into_reply).unwrap().duplicate
        );
    }
    assert!(signed(&n.witness.tick(1_001).unwrap()).is_empty());
    assert_eq!(signed(&n.witness.tick(1_000 + 3_600_000).unwrap()), vec![size + 5]);
}

#[test]
fn a_checkpoint_that_is_not_the_log_is_fraud_and_freezes_the_log_everywhere() {
    let w = workload::generate(400, 0, &|_| {});
    let cf = w.keys.authority("CF");
    let honest = node(&w, &[w.keys.authority("BW")], &w.entries, 100);
    let other = node(&w, &[w.keys.authority("IN")], &w.entries, 100);
    let log = cf.public();
    let size = honest.ledger.log_size(&log).unwrap();
    let good = honest.ledger.tree(&log).root(size).unwrap();

    // A false claim of fraud, about a checkpoint that is true, is refused.
    let true_cp = forged(cf, size, good);
    let entry = honest.ledger.entry_at(&log, size).unwrap().unwrap();
    let claim =
        Fraud::WrongRoot { checkpoint: HexBytes(true_cp.bytes().to_vec()), entry: HexBytes(entry.bytes().to_vec()) };
    assert_eq!(other.receive(&CheckpointGossip::Fraud(claim)).0, Verdict::Reject);
    assert!(!other.frozen(&log));

    let mut bad_root = good;
    bad_root.0[0] ^= 1;
    let (v, out) = honest.receive(&gossip(&forged(cf, size, bad_root)));
    assert_eq!(v, Verdict::Reject);
    assert!(matches!(out.frauds.as_slice(), [(l, Fraud::WrongRoot { .. })] if *l == log));
    assert!(honest.frozen(&log));
    let evidence = out.publish.iter().find(|m| matches!(m, CheckpointGossip::Fraud(_))).expect("evidence to gossip");

    // Another honest node checks the evidence against its own copy. The
    // evidence goes through the writer but is not counted as an entry.
    let accepted = counter(&other.metrics, "kp_entries_accepted_total");
    let (v, _) = other.receive(evidence);
    assert_eq!(counter(&other.metrics, "kp_entries_accepted_total"), accepted);
    assert_eq!(v, Verdict::Accept);
    assert!(other.frozen(&log));
    assert_eq!(other.receive(evidence).0, Verdict::Ignore, "kept once");
    assert_eq!(other.ledger.frauds().unwrap().len(), 1);

    // Both freeze the log before the false checkpoint's size, whatever
    // they held: the entry at that size is withdrawn, as evidence only.
    for n in [&honest, &other] {
        assert_eq!(n.ledger.log_size(&log).unwrap(), size - 1);
        assert!(n.ledger.is_withdrawn(&entry.hash()));
    }
    // Nothing more enters the log; other logs carry on.
    let r = other.writer.process(vec![Submission::Entry(next_entry(&other.ledger, cf))]).remove(0);
    let r = r.and_then(Written::into_reply);
    assert!(matches!(&r, Err(SubmitError::Refused(x)) if x.code == codes::R3_LOG_FROZEN), "{r:?}");
    let bw = w.keys.authority("BW");
    other
        .writer
        .process(vec![Submission::Entry(next_entry(&other.ledger, bw))])
        .remove(0)
        .and_then(Written::into_reply)
        .unwrap();

    let report = rebuild::check(&other.ledger, |_| {}).unwrap();
    assert!(report.ok(), "{:?}", report.mismatches);
}

#[test]
fn two_views_of_one_size_prove_themselves_even_without_the_log() {
    let w = workload::generate(300, 0, &|_| {});
    let cf = w.keys.authority("CF");
    let n = node(&w, &[w.keys.authority("EU")], &[], 100);
    let log = cf.public();
    let (x, y) = (forged(cf, 50, Hash32([1; 32])), forged(cf, 50, Hash32([2; 32])));
    // Beyond the log held here: it waits for the entries...
    assert_eq!(n.receive(&gossip(&x)).0, Verdict::Accept);
    assert!(!n.frozen(&log));
    // ...until a second view of the same size shows up.
    let (v, out) = n.receive(&gossip(&y));
    assert_eq!(v, Verdict::Reject);
    assert!(matches!(out.frauds.as_slice(), [(l, Fraud::SplitView { .. })] if *l == log));
    assert!(n.frozen(&log));
    // Frozen before size 50: CF's entries up to 49 still come in, as on
    // every node that held them before the evidence; none beyond.
    let r = n.writer.process(w.entries.iter().cloned().map(Submission::Entry).collect());
    let cf_entries: Vec<_> = w
        .entries
        .iter()
        .zip(r)
        .filter_map(|(b, r)| {
            let e = SignedEntry::parse(b.clone()).unwrap();
            (e.entry().author == log).then(|| (e.entry().seq, r.and_then(Written::into_reply)))
        })
        .collect();
    assert!(cf_entries.len() > 49, "CF writes past the false size: {}", cf_entries.len());
    for (seq, r) in cf_entries {
        match r {
            Ok(s) => assert!(seq <= 49 && s.seq == seq),
            Err(SubmitError::Refused(x)) => assert!(seq > 49 && x.code == codes::R3_LOG_FROZEN, "{seq}: {x}"),
            Err(e) => panic!("{seq}: {e}"),
        }
    }
    assert_eq!(n.ledger.log_size(&log).unwrap(), 49);
}

#[test]
fn a_checkpoint_ahead_of_the_log_waits_for_the_entries_then_is_cosigned() {
    let w = workload::generate(400, 0, &|_| {});
    let cf = w.keys.authority("CF");
    let writer = node(&w, &[cf], &w.entries, 1_000_000);
    let half = w.entries.len() / 2;
    let late = node(&w, &[w.keys.authority("AE")], &w.entries[..half], 1_000_000);
    let log = cf.public();
    let out = writer.witness.tick(5).unwrap();
    let msg = out.publish.iter().find(|m| matches!(m, CheckpointGossip::Checkpoint { .. })).unwrap();
    assert_eq!(late.receive(msg).0, Verdict::Accept);
    assert!(late.witness.latest(&log, 1).unwrap().is_empty(), "not stored before it is checked");
    for r in late.writer.process(w.entries[half..].iter().cloned().map(Submission::Entry).collect()) {
        r.and_then(Written::into_reply).unwrap();
    }
    let out = late.witness.tick(6).unwrap();
    // The AE node also signs its own log's checkpoint; this is about CF's.
    let cosigned = out.publish.iter().find_map(|m| match m {
        CheckpointGossip::Checkpoint { checkpoint, cosignatures }
            if SignedCheckpoint::parse(checkpoint.0.clone()).unwrap().checkpoint().log == log =>
        {
            Some(cosignatures.clone())
        }
        _ => None,
    });
    let cosigned = cosigned.expect("cosigned once the entries arrived");
    assert_eq!(cosigned.len(), 1);
    assert_eq!(cosigned[0].witness, w.keys.authority("AE").public());
    assert_eq!(late.witness.latest(&log, 1).unwrap().len(), 1);
}

/// The attack on witnessing: a writer shows one branch of its log to two
/// witnesses and another to the other two, and signs a checkpoint of each.
/// With four witnesses a quorum is three, so no branch is witnessed by its
/// half alone; and a node shown the other branch's checkpoint with the
/// writer's own entry at a position it holds differently keeps both
/// entries as evidence, freezes the log, and passes the claim on.
#[test]
fn two_branches_shown_to_disjoint_halves_are_never_both_witnessed_and_convict_the_writer() {
    let w = workload::generate(600, 0, &|_| {});
    let keys = &w.keys;
    let cf = keys.authority("CF");
    let log = cf.public();
    let base = node(&w, &[cf], &w.entries, 1_000_000);
    let size = base.ledger.log_size(&log).unwrap();
    // Branch A and branch B differ at the next position.
    let a_entry = next_entry(&base.ledger, cf);
    let b_entry = {
        let head = base.ledger.head(&log).unwrap().unwrap();
        let e = Entry {
            network: workload::NETWORK.into(),
            author: log,
            seq: head.seq + 1,
            prev: head.hash,
            timestamp_ms: head.timestamp_ms + 2,
            context: vec![],
            body: Body::RegisterLicensee(kp_schemas::model::LicenseeRegistration {
                licensee: Keypair::from_seed([0xb0; 32]).public(),
                name: "branch B licensee".into(),
                roles: vec![kp_schemas::model::Role::Trader],
            }),
        };
        SignedEntry::sign(e, cf).into_bytes()
    };
    assert_ne!(a_entry, b_entry);
    let with =
        |extra: &[&Vec<u8>]| -> Vec<Vec<u8>> { w.entries.iter().chain(extra.iter().copied()).cloned().collect() };
    // Branch A is one entry longer, so its checkpoint is at another size
    // than B's: no two checkpoints of one size, no split view.
    let a_two = next_entry(&node(&w, &[], &with(&[&a_entry]), 100).ledger, cf);
    let branch_a = with(&[&a_entry, &a_two]);
    let branch_b = with(&[&b_entry]);
    let (bw, eu, ae, india) = (keys.authority("BW"), keys.authority("EU"), keys.authority("AE"), keys.authority("IN"));
    let (w_bw, w_eu) = (node(&w, &[bw], &branch_a, 100), node(&w, &[eu], &branch_a, 100));
    let (w_ae, w_in) = (node(&w, &[ae], &branch_b, 100), node(&w, &[india], &branch_b, 100));
    let writer_a = node(&w, &[cf], &branch_a, 1_000_000);
    let writer_b = node(&w, &[cf], &branch_b, 1_000_000);
    let cp_a = writer_a.witness.tick(10).unwrap().publish.remove(0);
    let cp_b = writer_b.witness.tick(10).unwrap().publish.remove(0);

    // Each half cosigns its own branch: two cosignatures each, not three.
    let (_, o) = w_bw.receive(&cp_a);
    let (_, o) = w_eu.receive(&o.publish[0]);
    let a_cosigned = o.publish[0].clone();
    let (_, o) = w_ae.receive(&cp_b);
    let (_, o) = w_in.receive(&o.publish[0]);
    let b_cosigned = o.publish[0].clone();
    for (writer, msg) in [(&writer_a, &a_cosigned), (&writer_b, &b_cosigned)] {
        assert_eq!(writer.receive(msg).0, Verdict::Accept);
        assert!(
            writer.witness.witnessed_covering(&log, size + 1).unwrap().is_none(),
            "half the witnesses are no quorum"
        );
    }

    // The halves meet: each refuses the other's checkpoint as a false root,
    // naming the writer's own entry...
    let (v, o) = w_bw.receive(&b_cosigned);
    assert_eq!(v, Verdict::Reject);
    let claim =
        o.publish.iter().find(|m| matches!(m, CheckpointGossip::Fraud(Fraud::WrongRoot { .. }))).unwrap().clone();
    // ...which, at a node of the other branch, is a second entry at a
    // position it holds: equivocation evidence, kept and passed on.
    let (v, o) = w_ae.receive(&claim);
    assert_eq!(v, Verdict::Accept, "the claim is forwarded");
    assert_eq!(o.conflicts.len(), 1);
    assert!(w_ae.frozen(&log), "the node of the other branch froze the log");
    assert_eq!(w_ae.ledger.evidence().unwrap().len(), 1);
    assert!(w_bw.frozen(&log));
    // Again: nothing new, no write, not forwarded.
    assert_eq!(w_ae.receive(&claim).0, Verdict::Ignore);
    // Frozen nodes cosign nothing more of the log.
    assert!(w_in.receive(&claim).1.conflicts.len() == 1 && w_in.frozen(&log));
    let (_, o) = w_in.receive(&cp_a);
    assert!(o.publish.iter().all(|m| matches!(m, CheckpointGossip::Fraud(_))), "{o:?}");
}

/// One writer floods the pool of checkpoints ahead of the log: it cannot
/// push out another log's, nor the smallest of its own.
#[test]
fn one_writer_cannot_flush_the_checkpoints_waiting_for_entries() {
    let w = workload::generate(600, 0, &|_| {});
    let keys = &w.keys;
    let (cf, ae, eu) = (keys.authority("CF"), keys.authority("AE"), keys.authority("EU"));
    let full = node(&w, &[], &w.entries, 100);
    let behind_n = w.entries.len() - 40;
    let behind = node(&w, &[eu], &w.entries[..behind_n], 100);
    let (cf_log, ae_log) = (cf.public(), ae.public());
    let (cf_have, ae_have) = (behind.ledger.log_size(&cf_log).unwrap(), behind.ledger.log_size(&ae_log).unwrap());
    let (cf_full, ae_full) = (full.ledger.log_size(&cf_log).unwrap(), full.ledger.log_size(&ae_log).unwrap());
    assert!(cf_full > cf_have && ae_full > ae_have, "the node is behind on both logs");
    let honest = |key: &Keypair, size: u64| forged(key, size, full.ledger.tree(&key.public()).root(size).unwrap());
    // Checkpoints the node cannot check yet: CF's, and AE's smallest ahead.
    assert_eq!(behind.receive(&gossip(&honest(cf, cf_full))).0, Verdict::Accept);
    assert_eq!(behind.receive(&gossip(&honest(ae, ae_have + 1))).0, Verdict::Accept);
    // AE floods checkpoints far ahead of anything it wrote.
    for size in 0..2_000u64 {
        behind.receive(&gossip(&forged(ae, ae_full + 1_000 + size, Hash32([7; 32]))));
    }
    // The entries arrive: both waiting checkpoints are checked and cosigned.
    for r in behind.writer.process(w.entries[behind_n..].iter().cloned().map(Submission::Peer).collect()) {
        r.and_then(Written::into_reply).unwrap();
    }
    behind.settle(&behind.witness.tick(1).unwrap());
    for (log, size) in [(cf_log, cf_full), (ae_log, ae_have + 1)] {
        let s =
            behind.witness.stored(&log, size).unwrap().unwrap_or_else(|| panic!("checkpoint {size} was pushed out"));
        assert_eq!(behind.witness.witnesses(&s).unwrap(), vec!["EU".to_string()], "cosigned once checked");
    }
}
