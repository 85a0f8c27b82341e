//! A read that fails is no answer. Over a view of the ledger whose reads fail
//! one at a time, judging any entry of a trade (every body kind, refused
//! entries and duplicates too), a trail and the entries of a bundle all
//! return the read error: never a verdict, a refusal, a missing dependency,
//! a shorter trail or fewer entries.

mod common;

use common::*;
use kp_schemas::bundle::{self, BundleSource};
use kp_schemas::codes;
use kp_schemas::memory::MemLedger;
use kp_schemas::model::*;
use kp_schemas::rules::{self, JudgeError, LedgerView, Verdict};
use kp_schemas::state::*;
use kp_schemas::trail::{self, TrailError, TrailSource};
use kp_schemas::{Hash32, PublicKey, SignedEntry, Verified};
use std::cell::Cell;
use std::convert::Infallible;
use std::sync::Arc;

const DAY: &str = "2017-03-01";
const TODAY: &str = "2017-12-31";

/// The read that failed, by its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fault(u64);

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "read {} failed", self.0)
    }
}

/// An in-memory ledger whose `fail_at`th read fails (none when 0).
struct Failing<'a> {
    mem: &'a MemLedger,
    reads: Cell<u64>,
    fail_at: u64,
}

impl<'a> Failing<'a> {
    fn new(mem: &'a MemLedger, fail_at: u64) -> Self {
        Self { mem, reads: Cell::new(0), fail_at }
    }

    fn read<T>(&self, r: Result<T, Infallible>) -> Result<T, Fault> {
        let n = self.reads.get() + 1;
        self.reads.set(n);
        if n == self.fail_at {
            return Err(Fault(n));
        }
        let Ok(v) = r;
        Ok(v)
    }
}

impl LedgerView for Failing<'_> {
    type Error = Fault;
    fn network(&self) -> &NetworkState {
        LedgerView::network(self.mem)
    }
    fn genesis(&self) -> &NetworkState {
        LedgerView::genesis(self.mem)
    }
    fn network_at(&self, governance: &Hash32) -> Result<Option<Arc<NetworkState>>, Fault> {
        self.read(self.mem.network_at(governance))
    }
    fn governance_head(&self) -> Option<Hash32> {
        self.mem.governance_head()
    }
    fn entry_known(&self, hash: &Hash32) -> Result<bool, Fault> {
        self.read(self.mem.entry_known(hash))
    }
    fn head(&self, author: &PublicKey) -> Result<Option<Head>, Fault> {
        self.read(self.mem.head(author))
    }
    fn entry_hash_at(&self, author: &PublicKey, seq: u64) -> Result<Option<Hash32>, Fault> {
        self.read(self.mem.entry_hash_at(author, seq))
    }
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, Fault> {
        self.read(LedgerView::licensee(self.mem, participant, key))
    }
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, Fault> {
        self.read(LedgerView::lot(self.mem, participant, lot))
    }
    fn certificate(&self, number: &str) -> Result<Option<CertState>, Fault> {
        self.read(LedgerView::certificate(self.mem, number))
    }
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, Fault> {
        self.read(LedgerView::zone(self.mem, entry))
    }
    fn zone_head(&self, monitor: &PublicKey, participant: &str, zone: &str) -> Result<Option<Hash32>, Fault> {
        self.read(self.mem.zone_head(monitor, participant, zone))
    }
    fn record_seen(&self, participant: &str, record: &Hash32) -> Result<bool, Fault> {
        self.read(self.mem.record_seen(participant, record))
    }
    fn freeze_point(&self, author: &PublicKey) -> Option<u64> {
        self.mem.freeze_point(author)
    }
    fn withdrawn(&self, hash: &Hash32) -> Result<bool, Fault> {
        self.read(self.mem.withdrawn(hash))
    }
    fn void(&self, key: &kp_schemas::state::VoidKey) -> Result<bool, Fault> {
        self.read(LedgerView::void(self.mem, key))
    }
}

impl TrailSource for Failing<'_> {
    type Error = Fault;
    fn lot(&self, participant: &str, lot: &str) -> Result<Option<LotState>, Fault> {
        self.read(TrailSource::lot(self.mem, participant, lot))
    }
    fn certificate(&self, number: &str) -> Result<Option<CertState>, Fault> {
        self.read(TrailSource::certificate(self.mem, number))
    }
    fn zone_history(&self, participant: &str, zone: &str) -> Result<Vec<ZoneRecord>, Fault> {
        self.read(self.mem.zone_history(participant, zone))
    }
    fn attestations(&self, subject: &Subject) -> Result<Vec<AttestationRecord>, Fault> {
        self.read(TrailSource::attestations(self.mem, subject))
    }
    fn licensee_name(&self, participant: &str, key: &PublicKey) -> Result<Option<String>, Fault> {
        self.read(self.mem.licensee_name(participant, key))
    }
}

impl BundleSource for Failing<'_> {
    fn licensee(&self, participant: &str, key: &PublicKey) -> Result<Option<LicenseeState>, Fault> {
        self.read(BundleSource::licensee(self.mem, participant, key))
    }
    fn participant_of(&self, author: &PublicKey) -> Option<String> {
        self.mem.participant_of(author)
    }
    fn latest_governance(&self) -> Option<Hash32> {
        self.mem.latest_governance()
    }
    fn zone(&self, entry: &Hash32) -> Result<Option<ZoneRecord>, Fault> {
        self.read(BundleSource::zone(self.mem, entry))
    }
    fn entry(&self, hash: &Hash32) -> Result<Option<SignedEntry>, Fault> {
        self.read(self.mem.entry(hash))
    }
}

/// A trade that writes every kind of body: CF and BW stones cross to the
/// EU, are mixed and leave for India, with a laboratory finding, a
/// monitor's attestation, a zone suspended after the fact, a revocation and
/// a participant suspended and reinstated.
fn scenario() -> World {
    let mut w = World::new();
    let c = &w.cast;
    let (cf_miner, cf_office, cf_exporter) = (c.cf_miner.clone(), c.cf_office.clone(), c.cf_exporter.clone());
    let (bw_miner, bw_exporter, bw_lab) = (c.bw_miner.clone(), c.bw_exporter.clone(), c.bw_lab.clone());
    let (eu, india) = (c.eu_trader.clone(), c.in_importer.clone());
    let body = w.cf_production("CF/BER/1", "BER", 1500, DAY);
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
    let note = |subject| Body::Attestation(Attestation { subject, kind: AttestationKind::Note, note: "seen".into() });
    w.net.write(&monitor_key(), note(Subject::Certificate { number: "CF-1".into() }));
    w.net.write(&monitor_key(), note(Subject::Lot { participant: "CF".into(), lot: "CF/O/1".into() }));
    w.net.record("EU", &eu, transfer(&[("EU/CF", 1000), ("EU/BW", 3000)], &[("EU/MIX", 4000, &eu)], "2017-04-01"));
    w.net.record("EU", &eu, export("EU-1", "IN", &[("EU/MIX", 4000)], &[("7102.31", 4000)], "2017-04-10"));
    w.net.confirm("EU-1", "IN/1", &india, "2017-04-20");
    w.net.declare_zone("CF", "BER", "Berberati", ZoneState::Suspended, "2017-06-01");
    let ae = w.net.register("AE", "AE trader", &[Role::Trader]);
    w.net.revoke("AE", &ae);
    w.net.govern(Governance::SuspendParticipant { code: "AE".into(), reason: "statistics missing".into(), from: 0 });
    w.net.govern(Governance::ReinstateParticipant { code: "AE".into(), from: 0 });
    w
}

/// The ledger's entries in the order it took them (the harness's clock).
fn in_order(mem: &MemLedger) -> Vec<SignedEntry> {
    let mut all: Vec<SignedEntry> = mem.entries.values().cloned().collect();
    all.sort_by_key(|e| e.entry().timestamp_ms);
    all
}

fn verified(e: &SignedEntry) -> Verified {
    e.clone().into_verified().unwrap()
}

/// Judge `v` with each read of its verdict failing in turn: each is that
/// read's error. Returns the verdict when no read fails.
fn judge_failing(mem: &MemLedger, v: &Verified, what: &str) -> Result<Verdict, rules::Refusal> {
    let clean = Failing::new(mem, 0);
    let verdict = rules::judge(&clean, v).map_err(|e| e.refusal().cloned().expect("no read failed"));
    let count = clean.reads.get();
    assert!(count > 0, "{what}: a verdict that reads nothing");
    for n in 1..=count {
        match rules::judge(&Failing::new(mem, n), v) {
            Err(JudgeError::Read(Fault(m))) => assert_eq!(m, n, "{what}"),
            other => panic!("{what}, read {n} of {count} failing: {other:?} (without it: {verdict:?})"),
        }
    }
    verdict
}

#[test]
fn judging_never_turns_a_failed_read_into_a_verdict() {
    let w = scenario();
    let mut mem = MemLedger::new(w.net.ledger.genesis.clone());
    let all = in_order(&w.net.ledger);
    for (i, e) in all.iter().enumerate() {
        let what = format!("entry {i} ({} of log {})", e.entry().body.kind(), e.entry().author);
        let v = verified(e);
        assert!(matches!(judge_failing(&mem, &v, &what), Ok(Verdict::Accepted(_))), "{what}");
        mem.ingest(e.bytes().to_vec()).unwrap();
    }
    // An entry held already, and entries the rules refuse.
    assert!(matches!(judge_failing(&mem, &verified(&all[10]), "a duplicate"), Ok(Verdict::Duplicate(_))));
    let mut net = w.net.clone();
    let (eu, ae) = (w.cast.eu_trader.clone(), w.cast.ae_importer.clone());
    let refused = [
        ("EU", &eu, transfer(&[("EU/MIX", 10)], &[("EU/MORE", 10, &eu)], "2017-05-01"), codes::R5_ALREADY_SPENT),
        ("AE", &ae, production("AE/1", "nowhere", None, 10, DAY), codes::R2_ROLE),
        ("CF", &w.cast.cf_office, transfer(&[("CF/O/1", 500)], &[("CF/O/2", 500, &ae)], DAY), codes::R2_UNKNOWN_HOLDER),
    ];
    for (code, licensee, body, expected) in refused {
        let rec = net.sign(licensee, body);
        let e = net.build(&authority_key(code), countersigned(&rec));
        let r = judge_failing(&mem, &verified(&e), expected);
        assert_eq!(r.unwrap_err().code, expected);
    }
}

#[test]
fn a_trail_or_a_bundle_over_failing_reads_is_a_read_error_not_less() {
    let w = scenario();
    let mem = &w.net.ledger;
    let subjects = [
        Subject::Lot { participant: "IN".into(), lot: "IN/1".into() },
        Subject::Certificate { number: "EU-1".into() },
        Subject::Lot { participant: "CF".into(), lot: "CF/O/1".into() },
    ];
    for subject in &subjects {
        let trail_of = |src: &Failing| match subject {
            Subject::Lot { participant, lot } => trail::lot_trail(src, participant, lot, TODAY),
            Subject::Certificate { number } => trail::certificate_trail(src, number, TODAY),
        };
        let clean = Failing::new(mem, 0);
        let full = trail_of(&clean).unwrap();
        let count = clean.reads.get();
        for n in 1..=count {
            match trail_of(&Failing::new(mem, n)) {
                Err(TrailError::Read(Fault(m))) => assert_eq!(m, n),
                Err(e) => panic!("trail of {subject:?}, read {n} of {count} failing: {e}"),
                Ok(t) => panic!(
                    "trail of {subject:?}, read {n} of {count} failing: a trail of {} productions ({} without)",
                    t.productions, full.productions
                ),
            }
        }

        let clean = Failing::new(mem, 0);
        let wanted = bundle::collect(&clean, subject).unwrap();
        let count = clean.reads.get();
        for n in 1..=count {
            match bundle::collect(&Failing::new(mem, n), subject) {
                Err(TrailError::Read(Fault(m))) => assert_eq!(m, n),
                Err(e) => panic!("bundle of {subject:?}, read {n} of {count} failing: {e}"),
                Ok(got) => panic!(
                    "bundle of {subject:?}, read {n} of {count} failing: {} entries of {}",
                    got.len(),
                    wanted.len()
                ),
            }
        }
    }
}
