//! Offline bundles end to end: a certificate's trail collected from a
//! ledger, proven against witnessed checkpoints, written as canonical JSON,
//! and verified with nothing but the roster; then broken in every way a
//! bundle can be broken, each by the code that names it.
//!
//! The bundles are assembled by hand (leaves, roots, checkpoints,
//! cosignatures, proofs) by the test writer of `kp_schemas::fixtures`, not
//! by the node's exporter, so the verifier is checked against an
//! independent writer.

mod common;

use common::*;
use kp_schemas::bundle::{self, Bundle, Report, VerifyOptions, codes};
use kp_schemas::checkpoint::SignedCheckpoint;
use kp_schemas::fixtures::{self, Signers};
use kp_schemas::model::*;
use kp_schemas::roster;
use kp_schemas::trail;
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::OnceLock;

const DAY: &str = "2017-03-01";
const TODAY: &str = "2017-12-31";

fn opts(quorum: usize) -> VerifyOptions {
    VerifyOptions { quorum, today: TODAY.into() }
}

fn signed_roster() -> SignedRoster {
    roster::sign(dev_roster(), &chair_key())
}

/// Every key of the development network that writes a log.
fn author_key(author: &PublicKey) -> Keypair {
    PARTICIPANTS
        .iter()
        .map(|(code, _, _)| authority_key(code))
        .chain([monitor_key(), chair_key()])
        .find(|k| k.public() == *author)
        .unwrap_or_else(|| panic!("no key for author {author}"))
}

/// Participant authorities other than the log's own participant.
/// The authorities independent of a log's writer: not its own, and for the
/// monitor's log not CF, the participant it monitors.
fn other_authorities(log: &PublicKey) -> Vec<Keypair> {
    let monitored = *log == monitor_key().public();
    PARTICIPANTS
        .iter()
        .filter(|(code, _, _)| !(monitored && *code == "CF"))
        .map(|(code, _, _)| authority_key(code))
        .filter(|k| k.public() != *log)
        .collect()
}

/// Writes a bundle the way a node would: the chosen entries in acceptance
/// order, one checkpoint per log at that log's full size, signed by the
/// log's author and cosigned by `cosigners(log)`.
struct Writer {
    /// Every entry of every log, in acceptance order.
    all: Vec<SignedEntry>,
    cosigners: fn(&PublicKey) -> Vec<Keypair>,
}

impl Writer {
    fn new(all: Vec<SignedEntry>) -> Self {
        Self { all, cosigners: |log| other_authorities(log).into_iter().take(3).collect() }
    }

    /// A ledger's entries in the order it took them: the harness's clock
    /// advances with every entry it signs, and the scenarios ingest each
    /// entry as soon as it is signed.
    fn from_ledger(w: &World) -> Self {
        let mut all: Vec<SignedEntry> = w.net.ledger.entries.values().cloned().collect();
        all.sort_by_key(|e| e.entry().timestamp_ms);
        Self::new(all)
    }

    fn bundle(&self, subject: Subject, wanted: &BTreeSet<Hash32>) -> Bundle {
        let signers = Signers { author: &author_key, cosigners: &self.cosigners, timestamp_ms: 1_600_000_000_000 };
        fixtures::bundle(&signed_roster(), &self.all, subject, wanted, &signers)
    }
}

fn cert(number: &str) -> Subject {
    Subject::Certificate { number: number.into() }
}

fn lot(participant: &str, lot: &str) -> Subject {
    Subject::Lot { participant: participant.into(), lot: lot.into() }
}

/// CF and BW stones cross to the EU, are mixed there and leave for India as
/// EU-1. Around the trail: a split in CF whose other half goes to the buying
/// office, a laboratory finding, a monitor's note, a zone suspended after
/// the fact, and activity that has nothing to do with EU-1.
fn scenario() -> World {
    let mut w = World::new();
    let c = &w.cast;
    let (cf_miner, cf_office, cf_exporter) = (c.cf_miner.clone(), c.cf_office.clone(), c.cf_exporter.clone());
    let (bw_miner, bw_exporter, bw_lab) = (c.bw_miner.clone(), c.bw_exporter.clone(), c.bw_lab.clone());
    let (eu, india) = (c.eu_trader.clone(), c.in_importer.clone());

    let body = w.cf_production("CF/BER/1", "BER", 1500, DAY);
    w.net.record("CF", &cf_miner, body);
    let body = w.cf_production("CF/NOL/1", "NOL", 800, DAY);
    w.net.record("CF", &cf_miner, body);
    w.net.record(
        "CF",
        &cf_miner,
        transfer(&[("CF/BER/1", 1500)], &[("CF/X/1", 1000, &cf_exporter), ("CF/O/1", 500, &cf_office)], DAY),
    );
    w.net.record("CF", &cf_exporter, export("CF-1", "EU", &[("CF/X/1", 1000)], &[("7102.31", 1000)], "2017-03-10"));
    w.net.record("BW", &bw_miner, production("BW/JWA/1", "Jwaneng", None, 3000, DAY));
    w.net.record("BW", &bw_miner, transfer(&[("BW/JWA/1", 3000)], &[("BW/X/1", 3000, &bw_exporter)], DAY));
    w.net.record(
        "BW",
        &bw_lab,
        RecordBody::LabResult(LabResult {
            lot: "BW/JWA/1".into(),
            report_hash: Hash32([7; 32]),
            finding: Nature::Natural,
            note: "spectroscopy".into(),
        }),
    );
    w.net.record("BW", &bw_exporter, export("BW-1", "EU", &[("BW/X/1", 3000)], &[("7102.10", 3000)], "2017-03-10"));
    w.net.confirm("CF-1", "EU/CF", &eu, "2017-03-20");
    w.net.confirm("BW-1", "EU/BW", &eu, "2017-03-20");
    w.net.write(
        &monitor_key(),
        Body::Attestation(Attestation {
            subject: cert("CF-1"),
            kind: AttestationKind::Note,
            note: "seal checked".into(),
        }),
    );
    w.net.record("EU", &eu, transfer(&[("EU/CF", 1000), ("EU/BW", 3000)], &[("EU/MIX", 4000, &eu)], "2017-04-01"));
    w.net.record("EU", &eu, export("EU-1", "IN", &[("EU/MIX", 4000)], &[("7102.31", 4000)], "2017-04-10"));
    w.net.confirm("EU-1", "IN/1", &india, "2017-04-20");
    w.net.declare_zone("CF", "BER", "Berberati", ZoneState::Suspended, "2017-06-01");
    w.net.register("AE", "AE trader", &[Role::Trader]);
    w
}

struct Fixture {
    world: World,
    /// The canonical bytes of EU-1's bundle.
    json: Vec<u8>,
    bundle: Bundle,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let world = scenario();
        let wanted = bundle::collect(&world.net.ledger, &cert("EU-1")).unwrap();
        let bundle = Writer::from_ledger(&world).bundle(cert("EU-1"), &wanted);
        Fixture { json: bundle.to_json(), bundle, world }
    })
}

fn check(bytes: &[u8], quorum: usize) -> Report {
    bundle::verify(bytes, &signed_roster(), &opts(quorum))
}

fn codes_of(r: &Report) -> Vec<&str> {
    r.problems.iter().map(|p| p.code.as_str()).collect()
}

/// The report's problems, for assertion messages.
fn listed(r: &Report) -> String {
    r.problems.iter().map(|p| format!("\n  [{}] {}", p.code, p.message)).collect()
}

fn has(r: &Report, code: &str, words: &[&str]) -> bool {
    r.problems.iter().any(|p| p.code == code && words.iter().all(|w| p.message.contains(w)))
}

/// Verify a changed bundle, written canonically so that only the change
/// itself can fail.
fn check_changed(change: impl FnOnce(&mut Bundle), quorum: usize) -> Report {
    let mut b = fixture().bundle.clone();
    change(&mut b);
    let r = check(&b.to_json(), quorum);
    assert!(!r.valid && !r.problems.is_empty(), "the change went unnoticed");
    r
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn entry_at(b: &Bundle, i: usize) -> SignedEntry {
    SignedEntry::parse(b.entries[i].entry.0.clone()).unwrap()
}

fn position_of(b: &Bundle, what: impl Fn(&SignedEntry) -> bool) -> usize {
    (0..b.entries.len()).find(|&i| what(&entry_at(b, i))).expect("the bundle holds such an entry")
}

/// The countersigned record of an entry, if any.
fn record_of(e: &SignedEntry) -> Option<Record> {
    match &e.entry().body {
        Body::Countersigned(c) => {
            Some(kp_schemas::entry::SignedRecord::from_countersigned(c).unwrap().record().clone())
        }
        _ => None,
    }
}

fn creates_lot(e: &SignedEntry, id: &str) -> bool {
    match record_of(e).map(|r| r.body) {
        Some(RecordBody::Transfer(t)) => t.outputs.iter().any(|o| o.lot == id),
        Some(RecordBody::Production(p)) => p.lot == id,
        _ => false,
    }
}

// ---------------------------------------------------------------- valid

#[test]
fn a_certificate_bundle_verifies_with_only_the_roster() {
    let f = fixture();
    let r = check(&f.json, 3);
    assert!(r.valid, "{}", listed(&r));
    assert_eq!((r.subject.as_ref(), r.network.as_deref(), r.quorum), (Some(&cert("EU-1")), Some(NETWORK), 3));

    // The trail rebuilt from the bundle is the trail the full ledger shows.
    let full = trail::certificate_trail(&f.world.net.ledger, "EU-1", TODAY).unwrap();
    let t = r.trail.as_ref().expect("a valid bundle has its trail");
    assert_eq!(t, &full);
    let shares: Vec<(&str, f64)> = t.origins.iter().map(|o| (o.country.as_str(), o.share)).collect();
    assert_eq!(shares.len(), 2, "{shares:?}");
    assert!(shares[0].0 == "BW" && close(shares[0].1, 0.75), "{shares:?}");
    assert!(shares[1].0 == "CF" && close(shares[1].1, 0.25), "{shares:?}");
    assert!(t.compliance.compliant);
    assert!(t.compliance.notes.iter().any(|n| n.contains("suspended") && n.contains("CF/BER/1")), "{t:?}");
    assert!(t.compliance.notes.iter().any(|n| n.contains("laboratory")), "{:?}", t.compliance.notes);

    // One log report per log touched, each with what the bundle holds of it.
    let names: BTreeSet<&str> = r.logs.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["CF authority", "BW authority", "EU authority", "IN authority", "MT-CF"]));
    assert_eq!(r.logs.iter().map(|l| l.entries).sum::<usize>(), r.entries + r.governance);
    assert_eq!((r.entries, r.governance), (f.bundle.entries.len(), 0));
    assert_eq!(r.roster_version, Some(dev_roster().version), "no governance entry: the genesis is in force");
    for l in &r.logs {
        assert_eq!(l.witnesses.len(), 3, "{l:?}");
        assert!(l.witnesses.windows(2).all(|w| w[0] < w[1]), "sorted: {l:?}");
        let head = f.world.net.ledger.heads[&l.log].seq;
        assert_eq!(l.size, head, "{l:?}");
    }
    // The AE registration and the unrelated Nola lot are left out.
    let ae = f.world.net.ledger.heads.get(&authority_key("AE").public());
    assert!(ae.is_some() && r.logs.iter().all(|l| l.log != authority_key("AE").public()));
}

#[test]
fn collect_takes_the_trail_and_what_replaying_it_needs() {
    let f = fixture();
    let l = &f.world.net.ledger;
    let wanted = bundle::collect(l, &cert("EU-1")).unwrap();
    let reg = |name: &str| {
        let key = licensee_key(name).public();
        l.licensees.values().find(|x| x.key == key).expect("registered").registered_by
    };
    // The buying office holds nothing on the trail, but received the other
    // half of a split on it: the split does not replay without it.
    for name in ["CF miner", "CF exporter", "CF buying office", "BW miner", "BW exporter", "BW laboratory"] {
        assert!(wanted.contains(&reg(name)), "{name}");
    }
    for name in ["EU trader", "IN importer"] {
        assert!(wanted.contains(&reg(name)), "{name}");
    }
    assert!(!wanted.contains(&reg("AE importer")));
    let nola = l.lots[&("CF".to_string(), "CF/NOL/1".to_string())].created_by;
    assert!(!wanted.contains(&nola));
    // Every Berberati status, none of the other zones'.
    for z in l.zones.values() {
        assert_eq!(wanted.contains(&z.entry), z.status.zone == "BER", "{z:?}");
    }
    assert!(l.attestations.iter().all(|a| wanted.contains(&a.entry)));

    // A lot's bundle stops at the lot.
    let bw = bundle::collect(l, &lot("BW", "BW/X/1")).unwrap();
    assert!(bw.is_subset(&wanted) && bw.len() < wanted.len());
    assert!(bw.contains(&l.lots[&("BW".to_string(), "BW/X/1".to_string())].created_by));
    assert!(!bw.contains(&l.certs["BW-1"].entry));

    assert_eq!(bundle::collect(l, &lot("CF", "CF/none")).unwrap_err().code(), "R4.unknown_lot");
    assert_eq!(bundle::collect(l, &cert("CF-404")).unwrap_err().code(), "R7.unknown_certificate");
}

#[test]
fn a_lot_bundle_verifies_and_shows_the_same_trail() {
    let f = fixture();
    let subject = lot("IN", "IN/1");
    let wanted = bundle::collect(&f.world.net.ledger, &subject).unwrap();
    let json = Writer::from_ledger(&f.world).bundle(subject, &wanted).to_json();
    let r = check(&json, 2);
    assert!(r.valid, "{}", listed(&r));
    assert_eq!(r.trail.unwrap(), trail::lot_trail(&f.world.net.ledger, "IN", "IN/1", TODAY).unwrap());
}

#[test]
fn a_non_compliant_trail_is_a_valid_bundle() {
    let mut w = World::new();
    let (m, o) = (w.cast.cf_miner.clone(), w.cast.cf_office.clone());
    w.net.record("CF", &m, production("CF/BRI/1", "Bria", Some(("BRI", None)), 1000, DAY));
    w.net.record("CF", &m, transfer(&[("CF/BRI/1", 1000)], &[("CF/B", 1000, &o)], DAY));
    let wanted = bundle::collect(&w.net.ledger, &lot("CF", "CF/B")).unwrap();
    let r = check(&Writer::from_ledger(&w).bundle(lot("CF", "CF/B"), &wanted).to_json(), 2);
    assert!(r.valid, "{}", listed(&r));
    let t = r.trail.unwrap();
    assert!(!t.compliance.compliant);
    assert!(t.compliance.problems.iter().any(|p| p.contains("R6") && p.contains("CF/BRI/1")), "{t:?}");
}

// ---------------------------------------------------------------- the file

#[test]
fn not_a_bundle_or_not_canonical() {
    let f = fixture();
    let r = check(b"{\"format\": 1}", 2);
    assert_eq!(codes_of(&r), vec![codes::UNREADABLE]);
    assert!(r.problems[0].message.contains("line 1 column"), "{}", listed(&r));
    assert!(r.subject.is_none() && r.trail.is_none());

    // The same bundle, compact: the first byte that differs is named.
    let compact = serde_json::to_vec(&f.bundle).unwrap();
    let r = check(&compact, 2);
    assert_eq!(codes_of(&r), vec![codes::NOT_CANONICAL]);
    assert!(has(&r, codes::NOT_CANONICAL, &["byte offset 1 (line 1, column 2)"]), "{}", listed(&r));

    // Upper-case hex parses to the same bundle and is still refused.
    let text = String::from_utf8(f.json.clone()).unwrap();
    let hex = f.bundle.roster_hash.to_hex();
    let at = text.find(&hex).unwrap();
    let digit = at + hex.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let mut upper = f.json.clone();
    upper[digit] = upper[digit].to_ascii_uppercase();
    let line = text[..digit].matches('\n').count() + 1;
    let r = check(&upper, 2);
    assert_eq!(codes_of(&r), vec![codes::NOT_CANONICAL]);
    assert!(has(&r, codes::NOT_CANONICAL, &[&format!("byte offset {digit} (line {line},")]), "{}", listed(&r));

    // A missing final newline.
    let r = check(&f.json[..f.json.len() - 1], 2);
    assert!(has(&r, codes::NOT_CANONICAL, &["the end of the file"]), "{}", listed(&r));

    let r = check_changed(|b| b.format = "kpledger-bundle/1".into(), 2);
    assert_eq!(codes_of(&r), vec![codes::FORMAT]);
}

#[test]
fn the_roster_must_be_the_one_the_bundle_was_made_under() {
    let f = fixture();
    // Re-signed with a new version: same members, another hash.
    let mut newer = dev_roster();
    newer.version = 2;
    let r = bundle::verify(&f.json, &roster::sign(newer, &chair_key()), &opts(2));
    assert_eq!(codes_of(&r), vec![codes::ROSTER], "{}", listed(&r));
    assert!(has(&r, codes::ROSTER, &["hash"]));

    // Signed by someone who is not its chair.
    let r = bundle::verify(&f.json, &roster::sign(dev_roster(), &stranger_key()), &opts(2));
    assert_eq!(codes_of(&r), vec![codes::ROSTER], "{}", listed(&r));
    assert!(has(&r, codes::ROSTER, &["does not verify", "R1.bad_signature"]), "{}", listed(&r));

    // Another network whose authorities have other keys: nothing vouches.
    let mut other = dev_roster();
    other.network = "kp-other".into();
    for (i, p) in other.participants.iter_mut().enumerate() {
        p.authority = Keypair::from_seed([50 + i as u8; 32]).public();
    }
    let r = bundle::verify(&f.json, &roster::sign(other, &chair_key()), &opts(2));
    assert!(has(&r, codes::ROSTER, &["kp-dev", "kp-other"]), "{}", listed(&r));
    assert!(codes_of(&r).contains(&codes::WRONG_NETWORK), "{}", listed(&r));
    assert!(codes_of(&r).contains(&codes::UNKNOWN_LOG), "{}", listed(&r));
    assert!(r.trail.is_none());

    let r = check_changed(|b| b.roster_hash = Hash32([1; 32]), 2);
    assert_eq!(codes_of(&r), vec![codes::ROSTER]);
}

// ---------------------------------------------------------------- witnesses

#[test]
fn every_checkpoint_needs_the_quorum_of_other_participants() {
    let f = fixture();
    let r = check(&f.json, 4);
    assert_eq!(r.problems.len(), f.bundle.checkpoints.len(), "{}", listed(&r));
    assert!(codes_of(&r).iter().all(|c| *c == codes::QUORUM));
    assert!(has(&r, codes::QUORUM, &["checkpoint of the CF authority log at size", "3 participants (", "quorum is 4"]));
    assert!(r.trail.is_none(), "no replay without the signatures");

    // One cosignature dropped from the BW log's checkpoint.
    let bw = r.logs.iter().position(|l| l.name == "BW authority").unwrap();
    let r = check_changed(|b| _ = b.checkpoints[bw].cosignatures.remove(1), 3);
    assert_eq!(codes_of(&r), vec![codes::QUORUM], "{}", listed(&r));
    assert!(has(&r, codes::QUORUM, &["BW authority log", "2 participants", "the quorum is 3"]), "{}", listed(&r));
    // With one left: "1 participant (XX)".
    let r = check_changed(|b| b.checkpoints[bw].cosignatures.truncate(1), 2);
    let only = f.bundle.checkpoints[bw].cosignatures[0].witness;
    let code = PARTICIPANTS.iter().find(|(c, _, _)| authority_key(c).public() == only).unwrap().0;
    assert!(
        // Asked for 2, but the log's intersecting quorum (3 of 4) applies.
        has(&r, codes::QUORUM, &[&format!("cosigned by 1 participant ({code}), the quorum is 3")]),
        "{}",
        listed(&r)
    );

    // A witness counts once, however often it signs.
    let r = check_changed(
        |b| {
            let c = b.checkpoints[bw].cosignatures[0].clone();
            b.checkpoints[bw].cosignatures = vec![c.clone(), c];
        },
        2,
    );
    assert!(codes_of(&r).contains(&codes::QUORUM) && codes_of(&r).contains(&codes::COSIGNATURE), "{}", listed(&r));
}

#[test]
fn a_log_cannot_witness_itself() {
    let f = fixture();
    let wanted = bundle::collect(&f.world.net.ledger, &cert("EU-1")).unwrap();
    let mut w = Writer::from_ledger(&f.world);
    w.cosigners = |log| vec![author_key(log)];
    let r = check(&w.bundle(cert("EU-1"), &wanted).to_json(), 1);
    assert!(!r.valid);
    let n = f.bundle.checkpoints.len();
    assert_eq!(codes_of(&r).iter().filter(|c| **c == codes::QUORUM).count(), n, "{}", listed(&r));
    assert_eq!(codes_of(&r).iter().filter(|c| **c == codes::COSIGNATURE).count(), n, "{}", listed(&r));
    assert!(has(&r, codes::COSIGNATURE, &["CF authority log", "cosignature by CF authority"]), "{}", listed(&r));
    assert!(has(&r, codes::QUORUM, &["cosigned by no participant"]), "{}", listed(&r));

    // A stranger's signature counts for nothing either.
    w.cosigners = |_| vec![stranger_key()];
    let r = check(&w.bundle(cert("EU-1"), &wanted).to_json(), 1);
    assert!(has(&r, codes::COSIGNATURE, &["not in the roster"]), "{}", listed(&r));
}

// ---------------------------------------------------------------- bits

#[test]
fn a_flipped_bit_is_named_where_it_is() {
    let f = fixture();
    let b = &f.bundle;
    let export = position_of(b, |e| record_of(e).is_some_and(|r| matches!(r.body, RecordBody::Export(_))));
    let cp = b.entries[export].checkpoint;

    // The entry's author signature.
    let last_bit = (b.entries[export].entry.0.len() - 1) * 8;
    let r = check_changed(|b| flip(&mut b.entries[export].entry.0, last_bit), 2);
    assert!(has(&r, codes::ENTRY, &[&format!("entry {} (", export + 1), "R1.bad_signature"]), "{}", listed(&r));
    assert!(codes_of(&r).contains(&codes::INCLUSION), "the leaf changed too: {}", listed(&r));
    assert!(r.trail.is_none());

    // The entry's timestamp: still parses, no longer signed, no longer the leaf.
    let e = entry_at(b, export);
    let ts_at = e.bytes().windows(8).position(|w| w == e.entry().timestamp_ms.to_le_bytes()).unwrap();
    let r = check_changed(|b| flip(&mut b.entries[export].entry.0, ts_at * 8 + 3), 2);
    assert!(has(&r, codes::ENTRY, &["R1.bad_signature"]) && has(&r, codes::INCLUSION, &["merkle.bad_proof"]));

    // The checkpoint's root: its signature fails, every cosignature fails,
    // and every proof of the log no longer leads to it.
    let cpb = SignedCheckpoint::parse(b.checkpoints[cp].checkpoint.0.clone()).unwrap();
    let root_at = cpb.bytes().windows(32).position(|w| w == cpb.checkpoint().root.0).unwrap();
    let r = check_changed(|b| flip(&mut b.checkpoints[cp].checkpoint.0, root_at * 8), 2);
    let c = codes_of(&r);
    assert!(has(&r, codes::CHECKPOINT_SIGNATURE, &["not signed by its log's key"]), "{}", listed(&r));
    assert_eq!(c.iter().filter(|x| **x == codes::COSIGNATURE).count(), 3, "{}", listed(&r));
    assert!(c.contains(&codes::QUORUM));
    let in_log = b.entries.iter().filter(|e| e.checkpoint == cp).count();
    assert_eq!(c.iter().filter(|x| **x == codes::INCLUSION).count(), in_log, "{}", listed(&r));

    // The checkpoint's signature alone.
    let r = check_changed(|b| flip(&mut b.checkpoints[cp].checkpoint.0, (cpb.bytes().len() - 10) * 8), 2);
    assert!(codes_of(&r).contains(&codes::CHECKPOINT_SIGNATURE));
    assert!(!codes_of(&r).contains(&codes::INCLUSION), "{}", listed(&r));

    // Truncated checkpoint bytes do not parse.
    let r = check_changed(|b| _ = b.checkpoints[cp].checkpoint.0.remove(3), 2);
    assert!(has(&r, codes::CHECKPOINT, &[&format!("checkpoint {} of the bundle", cp + 1)]), "{}", listed(&r));

    // One cosignature: two of the log's four witnesses are left, no quorum.
    let r = check_changed(|b| b.checkpoints[cp].cosignatures[2].signature.0[5] ^= 0x10, 2);
    assert_eq!(codes_of(&r), vec![codes::COSIGNATURE, codes::QUORUM], "{}", listed(&r));
    assert!(has(&r, codes::COSIGNATURE, &["does not verify"]));

    // One proof hash, and two swapped.
    let r = check_changed(|b| b.entries[export].proof[0].0[31] ^= 1, 2);
    assert_eq!(codes_of(&r), vec![codes::INCLUSION], "{}", listed(&r));
    assert!(has(&r, codes::INCLUSION, &[&format!("entry {} (", export + 1), "merkle.bad_proof"]), "{}", listed(&r));
    assert!(b.entries[export].proof.len() >= 2);
    let r = check_changed(|b| b.entries[export].proof.swap(0, 1), 2);
    assert_eq!(codes_of(&r), vec![codes::INCLUSION], "{}", listed(&r));
    let r = check_changed(|b| _ = b.entries[export].proof.pop(), 2);
    assert!(has(&r, codes::INCLUSION, &["merkle.wrong_proof_length"]), "{}", listed(&r));
}

#[test]
fn entries_must_name_their_own_logs_checkpoint_once() {
    let f = fixture();
    let b = &f.bundle;
    let first = &b.entries[0];
    let other = (first.checkpoint + 1) % b.checkpoints.len();
    let r = check_changed(|b| b.entries[0].checkpoint = other, 2);
    assert!(has(&r, codes::WRONG_CHECKPOINT, &["entry 1 (", "not of its own log"]), "{}", listed(&r));
    let r = check_changed(|b| b.entries[0].checkpoint = 99, 2);
    assert!(has(&r, codes::WRONG_CHECKPOINT, &["index 99"]), "{}", listed(&r));

    let r = check_changed(|b| b.entries.push(b.entries[3].clone()), 2);
    assert_eq!(codes_of(&r), vec![codes::DUPLICATE_ENTRY], "{}", listed(&r));
    assert!(has(&r, codes::DUPLICATE_ENTRY, &[&format!("entry {} (", b.entries.len() + 1), "repeats entry 4"]));

    let r = check_changed(|b| b.checkpoints.push(b.checkpoints[0].clone()), 2);
    assert_eq!(codes_of(&r), vec![codes::DUPLICATE_LOG], "{}", listed(&r));
}

// ---------------------------------------------------------------- rules

#[test]
fn a_bundle_without_an_input_lot_fails_r4() {
    let f = fixture();
    let split = position_of(&f.bundle, |e| creates_lot(e, "CF/X/1"));
    let r = check_changed(|b| _ = b.entries.remove(split), 2);
    assert!(has(&r, "R4.unknown_lot", &["CF/X/1", "CF authority log"]), "{}", listed(&r));
    assert!(r.trail.is_none());
    // The signatures and proofs of what is left all hold.
    assert!(r.problems.iter().all(|p| p.code.starts_with('R')), "{}", listed(&r));
}

#[test]
fn an_entry_before_what_it_relies_on_is_refused() {
    let f = fixture();
    let b = &f.bundle;
    let production = position_of(b, |e| creates_lot(e, "CF/BER/1"));
    let status = position_of(b, |e| matches!(&e.entry().body, Body::ZoneStatus(z) if z.zone == "BER"));
    assert!(status < production);
    let r = check_changed(
        |b| {
            let s = b.entries.remove(status);
            b.entries.push(s);
        },
        2,
    );
    assert!(has(&r, "R3.missing_dependency", &["context entry"]), "{}", listed(&r));
}

#[test]
fn a_subject_the_entries_do_not_create_is_missing() {
    let r = check_changed(|b| b.subject = cert("EU-2"), 2);
    assert_eq!(codes_of(&r), vec![codes::SUBJECT_MISSING], "{}", listed(&r));
    assert!(has(&r, codes::SUBJECT_MISSING, &["certificate EU-2"]));
}

/// Entries signed straight into their logs, past the rules: every log
/// signs a checkpoint over them, so only the replay can catch them.
fn forged_logs(last: impl FnOnce(&mut Net, &Cast) -> (SignedEntry, Subject)) -> Report {
    let mut net = Net::new();
    let cast = Cast::register(&mut net);
    net.write(&monitor_key(), zone_body("CF", "BER", "Berberati", ZoneState::Compliant, "2017-01-01"));
    net.record("BW", &cast.bw_miner, production("BW/1", "Jwaneng", None, 1000, DAY));
    let (forged, subject) = last(&mut net, &cast);
    let mut all: Vec<SignedEntry> = net.ledger.entries.values().cloned().collect();
    all.sort_by_key(|e| e.entry().timestamp_ms);
    all.push(forged);
    let w = Writer::new(all);
    let everything: BTreeSet<Hash32> = w.all.iter().map(|e| e.hash()).collect();
    check(&w.bundle(subject, &everything).to_json(), 2)
}

#[test]
fn an_overspend_signed_into_a_log_fails_r5() {
    let r = forged_logs(|net, cast| {
        let body = transfer(&[("BW/1", 1500)], &[("BW/2", 1500, &cast.bw_exporter)], DAY);
        let rec = net.sign(&cast.bw_miner, body.clone());
        let e = net.prepare(&authority_key("BW"), countersigned(&rec));
        // The ledger itself refuses it, so the bundle is all that carries it.
        assert_eq!(net.clone().ingest(&e).unwrap_err().code, "R5.overspend");
        (e, lot("BW", "BW/2"))
    });
    assert!(!r.valid);
    assert!(has(&r, "R5.overspend", &["BW authority log", "BW/1", "10.00 ct left"]), "{}", listed(&r));
    assert!(r.problems.iter().all(|p| p.code.starts_with('R')), "{}", listed(&r));
}

#[test]
fn an_export_of_a_non_compliant_lot_signed_into_a_log_fails_r6() {
    let r = forged_logs(|net, cast| {
        let (m, x) = (cast.cf_miner.clone(), cast.cf_exporter.clone());
        net.record("CF", &m, production("CF/BRI/1", "Bria", Some(("BRI", None)), 1000, DAY));
        net.record("CF", &m, transfer(&[("CF/BRI/1", 1000)], &[("CF/X", 1000, &x)], DAY));
        let rec = net.sign(&x, export("CF-1", "EU", &[("CF/X", 1000)], &[("7102.31", 1000)], DAY));
        (net.prepare(&authority_key("CF"), countersigned(&rec)), cert("CF-1"))
    });
    assert!(has(&r, "R6.non_compliant_lot", &["CF/X"]), "{}", listed(&r));
}

// ---------------------------------------------------------------- roster versions

/// Gabon, admitted after the genesis.
fn gabon_key() -> Keypair {
    Keypair::from_seed([60; 32])
}

/// BW's authority key after its rotation.
fn new_bw_key() -> Keypair {
    Keypair::from_seed([61; 32])
}

/// A network that changed after its genesis: the chair admits GA, BW's
/// old key records a production, BW's key is rotated (planned) after it,
/// and the new key transfers the lot and exports it to GA, which confirms.
/// The certificate's trail runs through both BW logs and GA's.
struct Membership {
    world: World,
    /// The admission, the rotation.
    admission: Hash32,
    rotation: Hash32,
    /// The old BW log's last position.
    last: u64,
}

fn membership() -> Membership {
    let mut w = World::new();
    let (ga, new) = (gabon_key(), new_bw_key());
    let gabon = Participant {
        code: "GA".into(),
        name: "Gabon".into(),
        authority: ga.public(),
        zone_regime: false,
        nodes: vec![],
    };
    let admission = w.net.govern(Governance::AdmitParticipant(gabon)).hash;
    let importer = licensee_key("GA importer");
    w.net.write(&ga, register_body(&importer, "GA importer", &[Role::Importer]));
    let (miner, exporter) = (w.cast.bw_miner.clone(), w.cast.bw_exporter.clone());
    w.net.record("BW", &miner, production("BW/1", "Jwaneng", None, 1000, DAY));

    let old = authority_key("BW");
    let last = w.net.next_of(&old).0 - 1;
    let handing = KeyRotation {
        network: NETWORK.into(),
        holder: "BW".into(),
        old_key: old.public(),
        new_key: new.public(),
        last,
    };
    let statement = old.sign(kp_schemas::crypto::Domain::KeyRotation, &kp_schemas::encoding::encode(&handing));
    let rotation = w
        .net
        .govern(Governance::RotateKey { holder: "BW".into(), new_key: new.public(), last, statement: Some(statement) })
        .hash;

    let rec = w.net.sign(&miner, transfer(&[("BW/1", 1000)], &[("BW/X", 1000, &exporter)], DAY));
    w.net.write(&new, countersigned(&rec));
    let rec = w.net.sign(&exporter, export("BW-9", "GA", &[("BW/X", 1000)], &[("7102.10", 1000)], DAY));
    w.net.write(&new, countersigned(&rec));
    let confirmation = w.net.confirmation("BW-9", 1000, 2, "GA/1", &importer, "2017-03-20");
    w.net.write(&ga, confirmation);
    Membership { world: w, admission, rotation, last }
}

/// Keys of every log of the membership network, the replaced BW key
/// included.
fn membership_key(log: &PublicKey) -> Keypair {
    [gabon_key(), new_bw_key()].into_iter().find(|k| k.public() == *log).unwrap_or_else(|| author_key(log))
}

/// Every authority of the version in force (BW's new key, GA's) that may
/// witness `log`: not its own participant, old key or new, and for the
/// monitor's log not CF.
fn membership_cosigners(log: &PublicKey) -> Vec<Keypair> {
    let bw = [authority_key("BW").public(), new_bw_key().public()];
    let now: Vec<Keypair> = PARTICIPANTS
        .iter()
        .filter(|(code, _, _)| *code != "BW")
        .map(|(code, _, _)| authority_key(code))
        .chain([new_bw_key(), gabon_key()])
        .collect();
    now.into_iter()
        .filter(|k| k.public() != *log && !(bw.contains(log) && bw.contains(&k.public())))
        .filter(|k| !(*log == monitor_key().public() && k.public() == authority_key("CF").public()))
        .collect()
}

/// The bundle of BW-9 with `extra` entries signed into the logs beyond
/// what the ledger holds, and wanted.
fn membership_bundle(m: &Membership, extra: &[SignedEntry]) -> Bundle {
    let mut all: Vec<SignedEntry> = m.world.net.ledger.entries.values().cloned().collect();
    all.sort_by_key(|e| e.entry().timestamp_ms);
    all.extend(extra.iter().cloned());
    let mut wanted = bundle::collect(&m.world.net.ledger, &cert("BW-9")).unwrap();
    wanted.extend(extra.iter().map(|e| e.hash()));
    let signers =
        Signers { author: &membership_key, cosigners: &membership_cosigners, timestamp_ms: 1_600_000_000_000 };
    fixtures::bundle(&signed_roster(), &all, cert("BW-9"), &wanted, &signers)
}

#[test]
fn a_bundle_across_an_admission_and_a_key_rotation_verifies_with_the_genesis_roster_only() {
    let m = membership();
    let b = membership_bundle(&m, &[]);
    let governance: Vec<Hash32> =
        b.governance.iter().map(|g| SignedEntry::parse(g.entry.0.clone()).unwrap().hash()).collect();
    assert_eq!(governance, [m.admission, m.rotation], "the whole chain, oldest first");
    assert_eq!(
        bundle::governance_chain(&m.world.net.ledger).unwrap().iter().map(|e| e.hash()).collect::<Vec<_>>(),
        governance
    );

    let r = check(&b.to_json(), 0);
    assert!(r.valid, "{}", listed(&r));
    let now = &m.world.net.ledger.network;
    assert_eq!((r.roster_version, r.roster_version_hash), (Some(now.version), Some(now.version_hash())));
    assert_eq!((r.governance, r.roster_version), (2, Some(dev_roster().version + 2)));
    let names: BTreeSet<&str> = r.logs.iter().map(|l| l.name.as_str()).collect();
    for log in ["chair", "GA authority", "BW authority", "BW authority (replaced key)"] {
        assert!(names.contains(log), "{names:?}");
    }
    // The closed log is witnessed as its holder's: by everyone but BW.
    let old = r.logs.iter().find(|l| l.name == "BW authority (replaced key)").unwrap();
    assert_eq!(old.witnesses, ["AE", "CF", "EU", "GA", "IN"]);
    assert_eq!(old.size, m.last);
    assert_eq!(r.trail.unwrap(), trail::certificate_trail(&m.world.net.ledger, "BW-9", TODAY).unwrap());
}

#[test]
fn an_entry_of_a_replaced_key_beyond_its_closed_log_fails() {
    // The thief of BW's old key signs on after the rotation, naming the
    // network before it, where the key still signed for BW: the rules
    // alone would take it; the version in force closes that log.
    let mut m = membership();
    let old = authority_key("BW");
    let prev = m.world.net.ledger.entries[&(old.public(), m.last)].hash();
    let thief = licensee_key("thief");
    let body = register_body(&thief, "thief", &[Role::Miner]);
    let forged = m.world.net.build_with_context(&old, m.last + 1, prev, vec![m.admission], body);
    let r = check(&membership_bundle(&m, &[forged]).to_json(), 0);
    assert_eq!(codes_of(&r), vec![codes::CLOSED_LOG], "{}", listed(&r));
    let position = format!("beyond position {}", m.last);
    assert!(has(&r, codes::CLOSED_LOG, &["BW authority (replaced key) log", "replaced", &position]), "{}", listed(&r));
    assert!(r.trail.is_none());
}

#[test]
fn governance_that_does_not_follow_from_the_genesis_fails() {
    let m = membership();
    let b = membership_bundle(&m, &[]);

    // The admission left out: the chain starts at the chair's entry 2.
    let mut without = b.clone();
    without.governance.remove(0);
    let r = check(&without.to_json(), 0);
    assert!(has(&r, codes::GOVERNANCE, &["governance entry 1 (chair log, entry 2)", "R3.gap"]), "{}", listed(&r));
    assert!(r.trail.is_none() && r.roster_version.is_none());

    // The rotation left out: a version older than the chair's checkpoint
    // vouches for, under which BW's new log is no one's.
    let mut stale = b.clone();
    stale.governance.pop();
    let r = check(&stale.to_json(), 0);
    assert!(has(&r, codes::GOVERNANCE, &["entries 1 to 1 of the chair log", "at size 2"]), "{}", listed(&r));
    assert!(codes_of(&r).contains(&codes::UNKNOWN_LOG), "{}", listed(&r));

    // A genesis GA was in from the start: the admission is refused there.
    let mut other = dev_roster();
    other.participants.push(Participant {
        code: "GA".into(),
        name: "Gabon".into(),
        authority: gabon_key().public(),
        zone_regime: false,
        nodes: vec![],
    });
    let other = roster::sign(other, &chair_key());
    let mut moved = b.clone();
    moved.roster_hash = kp_schemas::crypto::roster_hash(&other.bytes.0);
    let r = bundle::verify(&moved.to_json(), &other, &opts(0));
    assert_eq!(codes_of(&r), vec![codes::GOVERNANCE], "{}", listed(&r));
    assert!(
        has(&r, codes::GOVERNANCE, &["does not follow from the genesis roster", "R2.participant_exists"]),
        "{}",
        listed(&r)
    );

    // An admission the chair signed but never wrote into its witnessed
    // log: not proven, and the rotation names another entry before it.
    let mut forged = b.clone();
    let mut net = Net::new();
    let stranger = Participant {
        code: "ZZ".into(),
        name: "Nowhere".into(),
        authority: stranger_key().public(),
        zone_regime: false,
        nodes: vec![],
    };
    let fake = net.build(&chair_key(), Body::Governance(Governance::AdmitParticipant(stranger)));
    forged.governance[0].entry = HexBytes(fake.bytes().to_vec());
    let r = check(&forged.to_json(), 0);
    assert!(has(&r, codes::INCLUSION, &["governance entry 1 (chair log, entry 1)"]), "{}", listed(&r));
    assert!(has(&r, codes::GOVERNANCE, &["governance entry 2 (chair log, entry 2)"]), "{}", listed(&r));

    // A governance entry among the trail's.
    let mut mixed = b.clone();
    let admission = mixed.governance.remove(0);
    mixed.entries.insert(0, admission);
    let r = check(&mixed.to_json(), 0);
    assert!(has(&r, codes::GOVERNANCE, &["entry 1 (", "is a governance entry"]), "{}", listed(&r));
}

// ---------------------------------------------------------------- any byte

/// A plausible typo or tamper: a hex digit becomes another hex digit, any
/// other byte changes its lowest bit.
fn mutate(b: u8, step: u8) -> u8 {
    const HEX: &[u8] = b"0123456789abcdef";
    match HEX.iter().position(|&h| h == b) {
        Some(i) => HEX[(i + 1 + usize::from(step % 15)) % 16],
        None => b ^ 1,
    }
}

fn assert_every_change_fails(json: &[u8], positions: impl IntoIterator<Item = usize>, step: u8) -> usize {
    let positions: Vec<usize> = positions.into_iter().collect();
    // Two cores: half the positions each.
    let failures: Vec<String> = std::thread::scope(|s| {
        let (a, b) = positions.split_at(positions.len() / 2);
        let work = |part: &[usize]| {
            part.iter()
                .filter_map(|&at| {
                    let mut changed = json.to_vec();
                    changed[at] = mutate(changed[at], step);
                    let r = check(&changed, 2);
                    r.valid.then(|| format!("byte {at} ({:?} -> {:?})", json[at] as char, changed[at] as char))
                })
                .collect::<Vec<_>>()
        };
        let h = s.spawn(move || work(a));
        let mut out = work(b);
        out.extend(h.join().unwrap());
        out
    });
    assert!(failures.is_empty(), "{} changes still verify: {:?}", failures.len(), &failures[..failures.len().min(20)]);
    positions.len()
}

#[test]
fn any_changed_byte_of_a_small_bundle_fails() {
    let f = fixture();
    let wanted = bundle::collect(&f.world.net.ledger, &lot("BW", "BW/X/1")).unwrap();
    let json = Writer::from_ledger(&f.world).bundle(lot("BW", "BW/X/1"), &wanted).to_json();
    assert!(check(&json, 2).valid);
    assert_eq!(assert_every_change_fails(&json, 0..json.len(), 0), json.len());
}

/// Where a field's hex value sits in the JSON.
fn span_of(json: &[u8], hex: &str) -> std::ops::Range<usize> {
    let text = std::str::from_utf8(json).unwrap();
    let at = text.find(&format!("\"{hex}\"")).expect("the value is in the file") + 1;
    at..at + hex.len()
}

#[test]
fn any_changed_hex_digit_of_an_entry_or_a_checkpoint_fails() {
    let f = fixture();
    let export = position_of(&f.bundle, |e| record_of(e).is_some_and(|r| matches!(r.body, RecordBody::Export(_))));
    let entry = span_of(&f.json, &hex::encode(&f.bundle.entries[export].entry.0));
    let cp = span_of(&f.json, &hex::encode(&f.bundle.checkpoints[f.bundle.entries[export].checkpoint].checkpoint.0));
    let n = assert_every_change_fails(&f.json, entry.chain(cp), 7);
    assert!(n > 500, "{n}");
}

#[test]
fn any_changed_hex_digit_of_a_governance_entry_fails() {
    let m = membership();
    let b = membership_bundle(&m, &[]);
    let json = b.to_json();
    assert!(check(&json, 0).valid);
    let spans: Vec<usize> = b.governance.iter().flat_map(|g| span_of(&json, &hex::encode(&g.entry.0))).collect();
    let n = assert_every_change_fails(&json, spans, 3);
    assert!(n > 500, "{n}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    #[test]
    fn any_changed_byte_of_a_certificate_bundle_fails(at in any::<prop::sample::Index>(), step in 0u8..15) {
        let f = fixture();
        let at = at.index(f.json.len());
        let mut changed = f.json.clone();
        changed[at] = mutate(changed[at], step);
        let r = check(&changed, 2);
        prop_assert!(!r.valid, "byte {} ({:?}) changed still verifies", at, f.json[at] as char);
    }
}
