//! Every node, the same verdict, as a property: a history generated over five
//! authorities, a monitor and the chair (licensees, zone changes,
//! productions, splits, mixes, cross-border exports and confirmations,
//! attestations, suspensions and reinstatements, an admission and the new
//! participant's entries, a forced key rotation after a theft), written by
//! honest writers, is delivered to five in-memory ledgers, each in its own
//! random order, retrying whatever waits on a dependency. Every ledger must end with the same accepted entries and
//! the same derived state, and refuse nothing the writers accepted.
//!
//! Two histories in three also hold one or two equivocations: an authority or the
//! monitor signs a second entry at a position of its log it had already
//! used, while the honest writers, which never see it, go on building on the
//! first. Every ledger receives both entries of each equivocation, so each
//! must freeze that log on the position before it, whatever it held when the
//! evidence arrived: the log ends there, what its writer signed beyond is
//! withdrawn, and the entries of other logs that read it (an importer's
//! confirmation of a withdrawn certificate, what the importer then does with
//! the lot, a production on a withdrawn zone status) are void, as is what
//! reads their void objects in turn. The writers' own ledger, given the
//! second entries only at the end, must reach the same state. A thief's
//! entry past the position a forced rotation closes its log at is withdrawn
//! on every ledger, before or after the rotation reaches it. (An entry
//! that continues one branch is refused with R3.bad_prev by a ledger
//! holding the other branch's entry at its position and not its own; the
//! harness gives it again, as a peer's answer to `SyncRequest::Withdrawn`
//! does once the log is frozen, and it must end withdrawn: see [`deliver`].)
//! The run prints how many histories had an equivocation, a withdrawn
//! entry, a void entry and a void entry reading a void object.
//!
//! `KP_DETERMINISM_SEEDS` sets the number of seeds (1,000 by default; the
//! longer run in docs/BENCHMARKS.md uses 100,000).

mod common;

use common::*;
use kp_schemas::codes;
use kp_schemas::entry::{SignedRecord, Verified};
use kp_schemas::memory::MemLedger;
use kp_schemas::model::*;
use kp_schemas::rules::{Refusal, Verdict};
use kp_schemas::state::sort_attestations;
use kp_schemas::stats::{AnomalyParams, Book, Period, anomaly, query};
use kp_schemas::{Hash32, Keypair, PublicKey, SignedEntry};
use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};
use std::collections::{BTreeMap, BTreeSet, HashSet};

const LEDGERS: usize = 5;
const STEPS: usize = 70;
const CODES: [&str; 5] = ["CF", "BW", "EU", "AE", "IN"];

struct Rng(TestRng);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        bytes[8..16].copy_from_slice(&stream.to_le_bytes());
        Rng(TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
    }
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        (!v.is_empty()).then(|| &v[self.below(v.len())])
    }
    fn date(&mut self) -> String {
        format!("2017-{:02}-{:02}", 1 + self.below(12), 1 + self.below(28))
    }
}

/// Every licensee of the history, by participant: (key, may export).
struct People {
    of: Vec<(String, Keypair, bool)>,
}

impl People {
    fn register(net: &mut Net) -> Self {
        let mut of = Vec::new();
        for code in CODES {
            for i in 0..2 {
                let name = format!("{code} licensee {i}");
                let roles = [Role::Miner, Role::Trader, Role::Exporter, Role::Importer];
                of.push((code.to_string(), net.register(code, &name, &roles), true));
            }
        }
        Self { of }
    }
    fn of(&self, code: &str) -> Vec<&Keypair> {
        self.of.iter().filter(|(c, _, _)| c == code).map(|(_, k, _)| k).collect()
    }
}

/// A generated history.
struct History {
    genesis: MemLedger,
    /// Everything signed, log by log in position order, each second entry
    /// of an equivocation right after the entry whose position it takes.
    entries: Vec<SignedEntry>,
    /// The second entries of the equivocations, which no honest writer saw.
    forks: Vec<SignedEntry>,
    /// Entries a thief signed with an authority key beyond the position a
    /// forced rotation then closed its log at, which no honest writer saw.
    thefts: Vec<SignedEntry>,
    /// Where each frozen log must end: for a log with an equivocation, the
    /// lowest position signed twice, minus one; for a log a rotation
    /// closed, its last position; the lower of the two for both.
    freeze: BTreeMap<PublicKey, u64>,
    /// Logs whose freeze point an equivocation set (a rotation closing the
    /// log no lower): each ledger holds the evidence.
    evidence: BTreeMap<PublicKey, u64>,
    /// Logs of a later key frozen at 0 because the log of the key it
    /// replaced equivocated below the position the rotation kept.
    inherited: usize,
    /// The writers' ledger: everything but the forks, in the order written.
    writers: MemLedger,
}

/// The writer of `key`'s log signs a second, different entry at one of its
/// last positions, with the same `prev` as the entry it holds there: a
/// licensee registration (an authority) or a new zone's status (the
/// monitor), which nothing else reads. The writers' ledger is left as it
/// was.
fn fork(net: &mut Net, rng: &mut Rng, n: usize) -> Option<SignedEntry> {
    let writers: Vec<Keypair> = CODES.iter().map(|c| net.authority(c)).chain([monitor_key()]).collect();
    let key = rng.pick(&writers)?.clone();
    let head = net.ledger.heads.get(&key.public())?.seq;
    let seq = head - rng.below(head.min(8) as usize) as u64;
    let prev = if seq == 1 { Hash32::ZERO } else { net.ledger.entries[&(key.public(), seq - 1)].hash() };
    let body = if key.public() == monitor_key().public() {
        zone_body("CF", &format!("FK{n}"), "Fork", ZoneState::Compliant, &rng.date())
    } else {
        let licensee = licensee_key(&format!("fork {n}"));
        register_body(&licensee, "fork", &[Role::Miner, Role::Trader])
    };
    let e = net.build_at(&key, seq, prev, body);
    assert_ne!(e.hash(), net.ledger.entries[&(key.public(), seq)].hash());
    Some(e)
}

/// The honest writers' history: each step is written by the node of its
/// author, which holds everything written before (as a network that has
/// converged between steps would). Steps the rules refuse are left out.
/// Between steps, up to two equivocations are signed (from their own
/// random stream, so the honest steps are those of a history without
/// any), and never shown to the writers.
fn history(seed: u64) -> History {
    let mut rng = Rng::new(seed, 0);
    let mut frk = Rng::new(seed, 2);
    let mut forks_left = frk.below(3);
    let mut forks = Vec::new();
    let mut net = Net::new();
    net.skip_signature_checks();
    let genesis = net.ledger.clone();
    let zones = declare_cf_zones(&mut net, "2016-06-01");
    let mut people = People::register(&mut net);
    let mut lot_no = 0;
    let mut cert_no = 0;
    let mut admitted = false;
    let mut thefts = Vec::new();
    let mut closed = BTreeMap::new();
    for _ in 0..STEPS {
        if forks_left > 0
            && frk.below(11) == 0
            && let Some(e) = fork(&mut net, &mut frk, forks.len())
        {
            forks.push(e);
            forks_left -= 1;
        }
        lot_no += 1;
        match rng.below(11) {
            0 | 1 => {
                let code = *rng.pick(&CODES).unwrap();
                let miner = people.of(code)[0].clone();
                let zone = (code == "CF").then(|| {
                    let (z, _) = CF_ZONES[rng.below(CF_ZONES.len())];
                    (z, zones.get(z).copied())
                });
                let body =
                    production(&format!("{code}/P/{lot_no}"), "site", zone, 100 + rng.below(900) as u64, &rng.date());
                let _ = net.submit_record(code, &miner, body);
            }
            2..=4 => {
                // A split or a mix of what one licensee holds.
                let code = *rng.pick(&CODES).unwrap();
                let mut held: Vec<(String, kp_schemas::state::LotState)> =
                    net.lots_of(code).into_iter().filter(|(_, l)| l.remaining > 0).collect();
                if held.is_empty() {
                    continue;
                }
                let first = held.remove(rng.below(held.len()));
                let mut inputs = vec![(first.0.clone(), first.1.remaining)];
                if let Some((id, l)) =
                    held.iter().find(|(_, l)| l.holder == first.1.holder && l.nature == first.1.nature)
                    && rng.below(2) == 0
                {
                    inputs.push((id.clone(), l.remaining.div_ceil(2)));
                }
                let total: u64 = inputs.iter().map(|(_, w)| w).sum();
                let holders = people.of(code);
                let to = holders[rng.below(holders.len())].clone();
                let back = holders[rng.below(holders.len())].clone();
                let half = total / 2;
                let outs: Vec<(String, u64, Keypair)> = if half > 0 && rng.below(2) == 0 {
                    vec![(format!("{code}/T/{lot_no}a"), half, to), (format!("{code}/T/{lot_no}b"), total - half, back)]
                } else {
                    vec![(format!("{code}/T/{lot_no}"), total, to)]
                };
                let owner = people.of.iter().find(|(c, k, _)| c == code && k.public() == first.1.holder);
                let Some((_, owner, _)) = owner else { continue };
                let owner = owner.clone();
                let ins: Vec<(&str, u64)> = inputs.iter().map(|(l, w)| (l.as_str(), *w)).collect();
                let outs: Vec<(&str, u64, &Keypair)> = outs.iter().map(|(l, w, k)| (l.as_str(), *w, k)).collect();
                let _ = net.submit_record(code, &owner, transfer(&ins, &outs, &rng.date()));
            }
            5 | 6 => {
                // An export of a whole lot to another participant.
                let code = *rng.pick(&CODES).unwrap();
                let held: Vec<_> = net.lots_of(code).into_iter().filter(|(_, l)| l.remaining > 0).collect();
                let Some((id, l)) = rng.pick(&held).cloned() else { continue };
                let Some((_, owner, _)) = people.of.iter().find(|(c, k, _)| c == code && k.public() == l.holder) else {
                    continue;
                };
                let owner = owner.clone();
                let to = loop {
                    let t = *rng.pick(&CODES).unwrap();
                    if t != code {
                        break t;
                    }
                };
                cert_no += 1;
                let number = format!("{code}-{cert_no}");
                let hs = if l.nature == Nature::Natural { "7102.31" } else { "7104.21" };
                let body = export(&number, to, &[(&id, l.remaining)], &[(hs, l.remaining)], &rng.date());
                let _ = net.submit_record(code, &owner, body);
            }
            7 => {
                // The importer confirms one waiting certificate.
                let waiting: Vec<_> = net.ledger.certs.values().filter(|c| c.confirmation.is_none()).cloned().collect();
                let Some(c) = rng.pick(&waiting).cloned() else { continue };
                let holder = people.of(&c.importer)[rng.below(2)].clone();
                let weight = if rng.below(4) == 0 { c.weight - 1 } else { c.weight };
                let body = net.confirmation(
                    &c.number,
                    weight,
                    c.parcels,
                    &format!("{}/I/{lot_no}", c.importer),
                    &holder,
                    &rng.date(),
                );
                let _ = net.submit(&net.authority(&c.importer), body);
            }
            8 => {
                // The monitor changes a zone's status, with any effective date.
                let (z, name) = CF_ZONES[rng.below(CF_ZONES.len())];
                let status = [ZoneState::Compliant, ZoneState::Suspended, ZoneState::Revoked][rng.below(3)];
                let _ = net.submit(&monitor_key(), zone_body("CF", z, name, status, &rng.date()));
            }
            9 => {
                // A hold or release by the monitor or by the lot's authority.
                let lots: Vec<_> = net.ledger.lots.keys().cloned().collect();
                let Some((code, lot)) = rng.pick(&lots).cloned() else { continue };
                let kind =
                    [AttestationKind::Hold, AttestationKind::Release, AttestationKind::Note][rng.below(3)].clone();
                let author = if rng.below(2) == 0 { monitor_key() } else { net.authority(&code) };
                let body = Body::Attestation(Attestation {
                    subject: Subject::Lot { participant: code.clone(), lot },
                    kind,
                    note: String::new(),
                });
                let _ = net.submit(&author, body);
            }
            _ => {
                // Governance: suspend or reinstate, or admit Namibia once.
                if !admitted && rng.below(3) == 0 {
                    let na = Keypair::from_seed([50; 32]);
                    let p = Participant {
                        code: "NA".into(),
                        name: "Namibia".into(),
                        authority: na.public(),
                        zone_regime: false,
                        nodes: vec![],
                    };
                    if net.submit(&chair_key(), Body::Governance(Governance::AdmitParticipant(p))).is_ok() {
                        admitted = true;
                        for i in 0..2 {
                            let key = licensee_key(&format!("NA licensee {i}"));
                            let body = register_body(
                                &key,
                                "NA licensee",
                                &[Role::Miner, Role::Trader, Role::Exporter, Role::Importer],
                            );
                            if net.submit(&na, body).is_ok() {
                                people.of.push(("NA".into(), key, true));
                            }
                        }
                    }
                    continue;
                }
                let code = *rng.pick(&CODES).unwrap();
                let suspended = net.ledger.network.participants[code].suspended;
                if closed.is_empty() && !suspended && rng.below(3) == 0 {
                    // The authority's key is stolen: the thief signs past
                    // the log's head, and the chair forces a rotation that
                    // closes the log at the head the honest writer holds.
                    let old = net.authority(code);
                    let (seq, prev) = net.next_of(&old);
                    let thief = licensee_key(&format!("thief of {code}"));
                    let stolen = net.build_at(&old, seq, prev, register_body(&thief, "thief", &[Role::Exporter]));
                    let new = Keypair::from_seed([0x70 + CODES.iter().position(|c| *c == code).unwrap() as u8; 32]);
                    let g =
                        Governance::RotateKey { holder: code.into(), new_key: new.public(), last: 0, statement: None };
                    if net.submit(&chair_key(), Body::Governance(g)).is_ok() {
                        net.rotated_to(code, new);
                        thefts.push(stolen);
                        closed.insert(old.public(), seq - 1);
                    }
                    continue;
                }
                let g = if suspended {
                    Governance::ReinstateParticipant { code: code.into(), from: 0 }
                } else {
                    Governance::SuspendParticipant { code: code.into(), reason: "statistics".into(), from: 0 }
                };
                let _ = net.submit(&chair_key(), Body::Governance(g));
            }
        }
    }
    // The writers' ledger also holds what the harness set up: all of it
    // goes out, with the forks.
    let _ = people;
    let mut evidence = BTreeMap::new();
    for f in &forks {
        let (author, seq) = (f.entry().author, f.entry().seq);
        let at = evidence.entry(author).or_insert(seq - 1);
        *at = (*at).min(seq - 1);
    }
    let mut freeze = evidence.clone();
    for (author, last) in &closed {
        let at = freeze.entry(*author).or_insert(*last);
        *at = (*at).min(*last);
    }
    // A rotation closing a log below an equivocation withdraws both of its
    // entries before either is judged: a ledger may hold the evidence or
    // not, as they reached it.
    let inherited = net.ledger.network.inherited_freezes(|k| freeze.get(k).copied());
    for key in &inherited {
        freeze.insert(*key, 0);
    }
    evidence.retain(|author, f| freeze[author] == *f && closed.get(author).is_none_or(|c| *f < *c));
    let mut entries: Vec<_> = net.ledger.entries.values().map(|e| (e.entry().author, e.entry().seq, 0, e)).collect();
    entries.extend(forks.iter().chain(&thefts).enumerate().map(|(i, e)| (e.entry().author, e.entry().seq, 1 + i, e)));
    entries.sort_by_key(|(author, seq, n, _)| (*author, *seq, *n));
    let entries = entries.into_iter().map(|(_, _, _, e)| e.clone()).collect();
    let inherited = inherited.len();
    History { genesis, entries, forks, thefts, freeze, evidence, inherited, writers: net.ledger }
}

/// Judge and apply one entry as a node does, signatures aside (the writers
/// made them; R1 has its own tests).
fn ingest(l: &mut MemLedger, e: &SignedEntry) -> Result<Verdict, Refusal> {
    let record = match &e.entry().body {
        Body::Countersigned(c) => Some(SignedRecord::from_countersigned(c)?.record().clone()),
        _ => None,
    };
    l.ingest_verified(Verified { entry: e.clone(), record })
}

/// What a delivery left undone.
#[derive(Default)]
struct Delivery {
    /// Entries refused, or still waiting when nothing moves.
    refused: Vec<String>,
    /// Entries refused with R3.bad_prev at some point, and delivered again.
    bad_prev: BTreeSet<Hash32>,
}

/// Deliver `entries` in the order given to `l`, retrying what waits on
/// another entry until nothing moves. An entry beyond a freeze point is
/// withdrawn, the second entry of an equivocation is evidence: neither is
/// refused.
///
/// An entry that continues one branch of an equivocation, reaching a ledger
/// that holds the other branch's entry before its own, names a `prev` that
/// ledger does not hold (R3.bad_prev): a final refusal, though once the
/// evidence arrives the same entry is withdrawn. A node does not get it
/// back by itself; the harness delivers it again, as a peer would resend
/// it, and records it: each must end withdrawn.
fn deliver(l: &mut MemLedger, entries: &[SignedEntry], order: &[usize]) -> Delivery {
    let mut waiting: Vec<usize> = order.to_vec();
    let mut out = Delivery::default();
    loop {
        let before = waiting.len();
        waiting.retain(|&i| match ingest(l, &entries[i]) {
            Ok(Verdict::Accepted(_) | Verdict::Withdrawn(_) | Verdict::Equivocation(_)) => false,
            Ok(Verdict::Duplicate(_)) => {
                out.refused.push(format!("duplicate: {}", entries[i].hash()));
                false
            }
            Err(r) if r.is_missing_dependency() => true,
            Err(r) if r.code == codes::R3_BAD_PREV => {
                out.bad_prev.insert(entries[i].hash());
                true
            }
            Err(r) => {
                let e = entries[i].entry();
                out.refused.push(format!("{r} ({} {} of {})", e.body.kind(), e.seq, e.author));
                false
            }
        });
        if waiting.is_empty() || waiting.len() == before {
            out.refused.extend(waiting.iter().map(|&i| format!("still waiting: {}", entries[i].hash())));
            return out;
        }
    }
}

fn shuffled(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        v.swap(i, rng.below(i + 1));
    }
    v
}

fn assert_same(a: &MemLedger, b: &MemLedger, seed: u64, which: &str) {
    let sorted = |l: &MemLedger| {
        let mut v = l.attestations.clone();
        sort_attestations(&mut v);
        v
    };
    let withdrawn = |l: &MemLedger| l.withdrawn.keys().copied().collect::<BTreeSet<_>>();
    let freeze = |l: &MemLedger| l.freeze.iter().map(|(k, f)| (*k, *f)).collect::<BTreeMap<_, _>>();
    let void = |l: &MemLedger| l.void.iter().map(|k| k.to_string()).collect::<BTreeSet<_>>();
    let seed = format!("seed {seed}, {which}");
    assert_eq!(a.entries, b.entries, "{seed}: accepted entries differ");
    assert_eq!(a.hashes, b.hashes, "{seed}: accepted hashes differ");
    assert_eq!(a.heads, b.heads, "{seed}: heads differ");
    assert_eq!(a.lots, b.lots, "{seed}: lots differ");
    assert_eq!(a.certs, b.certs, "{seed}: certificates differ");
    assert_eq!(a.licensees, b.licensees, "{seed}: licensees differ");
    assert_eq!(a.zones, b.zones, "{seed}: zones differ");
    assert_eq!(a.zone_heads, b.zone_heads, "{seed}: zone heads differ");
    assert_eq!(a.records, b.records, "{seed}: records differ");
    assert_eq!(a.network, b.network, "{seed}: network differs");
    assert_eq!(a.governance, b.governance, "{seed}: governance differs");
    assert_eq!(a.governance_head, b.governance_head, "{seed}: governance head differs");
    assert_eq!(sorted(a), sorted(b), "{seed}: attestations differ");
    assert_eq!(freeze(a), freeze(b), "{seed}: freeze points differ");
    assert_eq!(withdrawn(a), withdrawn(b), "{seed}: withdrawn entries differ");
    assert_eq!(void(a), void(b), "{seed}: void objects differ");
    assert_eq!(a.void_entries(), b.void_entries(), "{seed}: void entries differ");
    // The statistics book each moved forward entry by entry, in its own
    // order, answers what the other's does, and what a book rebuilt from
    // the derived state answers, as a node's start rebuilds it.
    let rebuilt = |l: &MemLedger| {
        let attestations = l.attestations.clone();
        Book::from_state(
            l.lots.values(),
            l.certs.values(),
            &attestations,
            &l.estimates,
            l.licensees.values(),
            l.heads.values().map(|h| h.timestamp_ms).max().unwrap_or(0),
        )
    };
    assert_eq!(statistics(&a.book), statistics(&b.book), "{seed}: statistics differ");
    assert_eq!(statistics(&a.book), statistics(&rebuilt(a)), "{seed}: statistics differ from a rebuilt book");
}

/// Every statistic and anomaly of a book, as the API would answer them.
fn statistics(book: &Book) -> String {
    let all = Period::parse("2000-01-01..2030-12-31").unwrap();
    let codes: Vec<String> = ["AE", "BW", "CF", "EU", "IN"].map(String::from).to_vec();
    let q = query::Query { period: all.clone(), participant: None, partner: None, hs: None };
    let params = AnomalyParams::defaults("2030-01-01".into());
    [
        serde_json::to_string(&query::stats(book, &codes, &q)).unwrap(),
        serde_json::to_string(&query::mirror(book, &q)).unwrap(),
        serde_json::to_string(&anomaly::scan(book, &all, &params)).unwrap(),
    ]
    .join("\n")
}

/// What must hold of each ledger on its own: every entry delivered is
/// either in its log or withdrawn; each log with an equivocation is frozen
/// where the lowest one says, ends exactly there, and holds the evidence
/// of that one; nothing else is frozen.
fn assert_complete(l: &MemLedger, h: &History, seed: u64, which: &str) {
    let accepted: HashSet<Hash32> = l.entries.values().map(|e| e.hash()).collect();
    for e in &h.entries {
        let (a, w) = (accepted.contains(&e.hash()), l.withdrawn.contains_key(&e.hash()));
        assert!(
            a != w,
            "seed {seed}, {which}: {} {} at {} of {} is accepted {a}, withdrawn {w}",
            if h.forks.contains(e) { "fork" } else { "entry" },
            e.entry().body.kind(),
            e.entry().seq,
            e.entry().author
        );
        let f = h.freeze.get(&e.entry().author);
        assert_eq!(w, f.is_some_and(|f| e.entry().seq > *f), "seed {seed}, {which}: entry {}", e.hash());
    }
    assert_eq!(l.entries.len() + l.withdrawn.len(), h.entries.len(), "seed {seed}, {which}");
    let freeze: BTreeMap<_, _> = l.freeze.iter().map(|(k, f)| (*k, *f)).collect();
    assert_eq!(freeze, h.freeze, "seed {seed}, {which}: freeze points");
    for (author, f) in &h.freeze {
        assert_eq!(l.heads.get(author).map(|h| (h.seq, h.frozen)), Some((*f, true)), "seed {seed}, {which}");
    }
    for (author, f) in &h.evidence {
        // Two or three entries may share that position: the evidence names
        // two of them.
        let at: BTreeSet<Hash32> = h
            .entries
            .iter()
            .filter(|e| e.entry().author == *author && e.entry().seq == f + 1)
            .map(|e| e.hash())
            .collect();
        assert!(
            l.evidence.iter().any(|x| x.author == *author
                && x.seq == f + 1
                && at.contains(&x.existing)
                && at.contains(&x.conflicting)),
            "seed {seed}, {which}: no evidence of the equivocation at {}",
            f + 1
        );
    }
}

/// An entry's kind, and its record's for a countersigned one.
fn kind_of(e: &SignedEntry) -> String {
    match &e.entry().body {
        Body::Countersigned(c) => match SignedRecord::from_countersigned(c) {
            Ok(r) => format!("countersigned {}", r.record().body.kind()),
            Err(_) => "countersigned".into(),
        },
        body => body.kind().into(),
    }
}

/// Whether a void entry is void by reading an object a void entry made
/// (rather than by naming a withdrawn entry itself): a cascade.
fn void_by_void(l: &MemLedger, e: &SignedEntry) -> bool {
    let e = e.entry();
    let mut named = e.context.clone();
    match &e.body {
        Body::ImportConfirmation(c) => named.push(c.certificate_entry),
        Body::Countersigned(c) => {
            if let Ok(r) = SignedRecord::from_countersigned(c)
                && let RecordBody::Production(Production { zone: Some(ZoneRef { status_entry: Some(h), .. }), .. }) =
                    &r.record().body
            {
                named.push(*h);
            }
        }
        _ => {}
    }
    !named.iter().any(|h| l.withdrawn.contains_key(h))
}

#[derive(Default, Debug)]
struct Coverage {
    forked: usize,
    forks: usize,
    /// Histories where a forced rotation closed a log a thief wrote past.
    rotated: usize,
    /// Histories where a later key's log froze for its predecessor's fault.
    inherited: usize,
    /// Histories where an entry other than the two of an equivocation was
    /// withdrawn: the honest writer went on past the fork.
    withdrawn_beyond: usize,
    withdrawn: usize,
    voided: usize,
    void_entries: usize,
    /// Histories where an entry was void by reading a void object.
    cascaded: usize,
    cascade_entries: usize,
    /// Void entries by kind.
    void_kinds: BTreeMap<String, usize>,
    /// Entries refused with R3.bad_prev, and delivered again.
    bad_prev: usize,
}

#[test]
fn five_ledgers_in_random_orders_reach_the_same_state() {
    let seeds: u64 = std::env::var("KP_DETERMINISM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut kinds = BTreeMap::<&str, usize>::new();
    let mut cov = Coverage::default();
    for seed in 0..seeds {
        let h = history(seed);
        for e in &h.entries {
            *kinds.entry(e.entry().body.kind()).or_default() += 1;
        }
        let mut rng = Rng::new(seed, 1);
        let mut first: Option<MemLedger> = None;
        for l in 0..LEDGERS {
            // The first ledger takes the entries log by log, each fork
            // right after the entry it conflicts with; the others in a
            // random order each.
            let order = if l == 0 { (0..h.entries.len()).collect() } else { shuffled(h.entries.len(), &mut rng) };
            let mut ledger = h.genesis.clone();
            let d = deliver(&mut ledger, &h.entries, &order);
            let which = format!("ledger {l}");
            assert!(d.refused.is_empty(), "seed {seed}, {which}: refused what the writers accepted: {:?}", d.refused);
            assert_complete(&ledger, &h, seed, &which);
            assert!(d.bad_prev.iter().all(|h| ledger.withdrawn.contains_key(h)), "seed {seed}, {which}: bad prev");
            cov.bad_prev += d.bad_prev.len();
            match &first {
                None => first = Some(ledger),
                Some(f) => assert_same(f, &ledger, seed, &which),
            }
        }
        let first = first.expect("five ledgers");
        // The writers' ledger, which held everything else when the forks
        // came.
        let mut writers = h.writers.clone();
        let late: Vec<SignedEntry> = h.forks.iter().chain(&h.thefts).cloned().collect();
        let d = deliver(&mut writers, &late, &(0..late.len()).collect::<Vec<_>>());
        assert!(d.refused.is_empty() && d.bad_prev.is_empty(), "seed {seed}, the writers' ledger: {:?}", d.refused);
        assert_complete(&writers, &h, seed, "the writers' ledger");
        assert_same(&first, &writers, seed, "the writers' ledger");

        if !h.forks.is_empty() {
            cov.forked += 1;
            cov.forks += h.forks.len();
        }
        cov.rotated += usize::from(!h.thefts.is_empty());
        cov.inherited += usize::from(h.inherited > 0);
        cov.withdrawn += first.withdrawn.len();
        let at_fork = |e: &SignedEntry| {
            h.forks
                .iter()
                .chain(&h.thefts)
                .any(|f| (f.entry().author, f.entry().seq) == (e.entry().author, e.entry().seq))
        };
        cov.withdrawn_beyond += usize::from(first.withdrawn.values().any(|e| !at_fork(e)));
        let void_entries = first.void_entries();
        cov.voided += usize::from(!void_entries.is_empty());
        cov.void_entries += void_entries.len();
        let mut cascade = 0;
        for e in first.entries.values().filter(|e| void_entries.contains(&e.hash())) {
            *cov.void_kinds.entry(kind_of(e)).or_default() += 1;
            cascade += usize::from(void_by_void(&first, e));
        }
        cov.cascaded += usize::from(cascade > 0);
        cov.cascade_entries += cascade;
    }
    let total: usize = kinds.values().sum();
    eprintln!(
        "{seeds} histories, {total} entries ({:.1} per history), each delivered to {LEDGERS} ledgers: {kinds:?}",
        total as f64 / seeds as f64
    );
    eprintln!(
        "equivocations: {} histories with one ({} in all); {} with an entry withdrawn beyond the two signed at one \
         position ({} withdrawn in all); {} with a void entry ({} in all); {} with an entry void by reading a void \
         object ({} in all)",
        cov.forked,
        cov.forks,
        cov.withdrawn_beyond,
        cov.withdrawn,
        cov.voided,
        cov.void_entries,
        cov.cascaded,
        cov.cascade_entries
    );
    eprintln!("void entries by kind: {:?}", cov.void_kinds);
    eprintln!(
        "forced rotations closing a log a thief wrote past: {} histories; of them {} where the old log had \
         equivocated below the position kept, freezing the new key's log at 0",
        cov.rotated, cov.inherited
    );
    eprintln!(
        "{} times a ledger refused an entry with R3.bad_prev (the next entry of one branch of an equivocation, \
         where the other branch was held) and, given it again, withdrew it",
        cov.bad_prev
    );
    // The histories exercise what they claim to.
    for kind in
        ["register_licensee", "countersigned", "import_confirmation", "zone_status", "attestation", "governance"]
    {
        assert!(kinds.get(kind).copied().unwrap_or(0) >= seeds as usize / 4, "too few {kind} entries: {kinds:?}");
    }
    // Equivocations, with writers going on past them, and entries of other
    // logs void for it, some by reading what a void entry made.
    let n = seeds as usize;
    for (what, count, min) in [
        ("with an equivocation", cov.forked, n / 4),
        ("with a forced rotation", cov.rotated, n / 10),
        ("with a new key's log frozen for its predecessor", cov.inherited, n / 50),
        ("with an entry withdrawn beyond an equivocation", cov.withdrawn_beyond, n / 4),
        ("with a void entry", cov.voided, n / 10),
        ("with an entry void by reading a void object", cov.cascaded, n / 20),
    ] {
        assert!(count >= min && (n < 20 || count > 0), "too few histories {what}: {cov:?}");
    }
    for kind in ["import_confirmation", "countersigned transfer", "countersigned export", "countersigned production"] {
        assert!(
            n < 1000 || cov.void_kinds.get(kind).copied().unwrap_or(0) > 0,
            "no void {kind} entry: {:?}",
            cov.void_kinds
        );
    }
}
