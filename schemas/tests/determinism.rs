//! Every node, the same verdict, as a property: a history generated over five
//! authorities, a monitor and the chair (licensees, zone changes,
//! productions, splits, mixes, cross-border exports and confirmations,
//! attestations, suspensions and reinstatements, an admission and the new
//! participant's entries), written by honest writers, is delivered to five
//! in-memory ledgers, each in its own random order, retrying whatever waits
//! on a dependency. Every ledger must end with the same accepted entries and
//! the same derived state, and refuse nothing the writers accepted.
//!
//! `KP_DETERMINISM_SEEDS` sets the number of seeds (1,000 by default; the
//! longer run in docs/BENCHMARKS.md uses 100,000).

mod common;

use common::*;
use kp_schemas::entry::{SignedRecord, Verified};
use kp_schemas::memory::MemLedger;
use kp_schemas::model::*;
use kp_schemas::rules::{self, Refusal, Verdict};
use kp_schemas::state::sort_attestations;
use kp_schemas::{Keypair, SignedEntry};
use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};

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

/// The honest writers' history: each step is written by the node of its
/// author, which holds everything written before (as a network that has
/// converged between steps would). Steps the rules refuse are left out.
fn history(seed: u64) -> (MemLedger, Vec<SignedEntry>) {
    let mut rng = Rng::new(seed, 0);
    let mut net = Net::new();
    net.skip_signature_checks();
    let genesis = net.ledger.clone();
    let zones = declare_cf_zones(&mut net, "2016-06-01");
    let mut people = People::register(&mut net);
    let mut lot_no = 0;
    let mut cert_no = 0;
    let mut admitted = false;
    for _ in 0..STEPS {
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
                let _ = net.submit(&authority_key(&c.importer), body);
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
                let author = if rng.below(2) == 0 { monitor_key() } else { authority_key(&code) };
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
    // goes out.
    let entries = net.ledger.entries.values().cloned().collect();
    let _ = people;
    (genesis, entries)
}

/// Judge and apply one entry as a node does, signatures aside (the writers
/// made them; R1 has its own tests).
fn ingest(l: &mut MemLedger, e: &SignedEntry) -> Result<(), Refusal> {
    let record = match &e.entry().body {
        Body::Countersigned(c) => Some(SignedRecord::from_countersigned(c)?.record().clone()),
        _ => None,
    };
    let v = Verified { entry: e.clone(), record };
    if let Verdict::Accepted(a) = rules::judge(l, &v)? {
        l.entries.insert((a.author, a.head.seq), e.clone());
        l.apply(&a);
    }
    Ok(())
}

/// Deliver `entries` in the order given, retrying what waits on another
/// entry until nothing moves.
fn deliver(genesis: &MemLedger, entries: &[SignedEntry], order: &[usize]) -> (MemLedger, Vec<String>) {
    let mut l = genesis.clone();
    let mut waiting: Vec<usize> = order.to_vec();
    let mut refused = Vec::new();
    loop {
        let before = waiting.len();
        waiting.retain(|&i| match ingest(&mut l, &entries[i]) {
            Ok(()) => false,
            Err(r) if r.is_missing_dependency() => true,
            Err(r) => {
                refused.push(format!("{} ({})", r, entries[i].entry().body.kind()));
                false
            }
        });
        if waiting.is_empty() || waiting.len() == before {
            refused.extend(waiting.iter().map(|&i| format!("still waiting: {}", entries[i].hash())));
            return (l, refused);
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

fn assert_same(a: &MemLedger, b: &MemLedger, seed: u64) {
    let sorted = |l: &MemLedger| {
        let mut v = l.attestations.clone();
        sort_attestations(&mut v);
        v
    };
    assert_eq!(a.entries, b.entries, "seed {seed}: accepted entries differ");
    assert_eq!(a.heads, b.heads, "seed {seed}: heads differ");
    assert_eq!(a.lots, b.lots, "seed {seed}: lots differ");
    assert_eq!(a.certs, b.certs, "seed {seed}: certificates differ");
    assert_eq!(a.licensees, b.licensees, "seed {seed}: licensees differ");
    assert_eq!(a.zones, b.zones, "seed {seed}: zones differ");
    assert_eq!(a.records, b.records, "seed {seed}: records differ");
    assert_eq!(a.network, b.network, "seed {seed}: network differs");
    assert_eq!(a.governance, b.governance, "seed {seed}: governance differs");
    assert_eq!(sorted(a), sorted(b), "seed {seed}: attestations differ");
}

#[test]
fn five_ledgers_in_random_orders_reach_the_same_state() {
    let seeds: u64 = std::env::var("KP_DETERMINISM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for seed in 0..seeds {
        let (genesis, entries) = history(seed);
        for e in &entries {
            *kinds.entry(e.entry().body.kind()).or_default() += 1;
        }
        let mut rng = Rng::new(seed, 1);
        let mut first: Option<MemLedger> = None;
        for l in 0..LEDGERS {
            // The first ledger takes the entries log by log; the others in a
            // random order each.
            let order = if l == 0 { (0..entries.len()).collect() } else { shuffled(entries.len(), &mut rng) };
            let (ledger, refused) = deliver(&genesis, &entries, &order);
            assert!(refused.is_empty(), "seed {seed}, ledger {l}: refused what the writers accepted: {refused:?}");
            assert_eq!(ledger.entries.len(), entries.len(), "seed {seed}, ledger {l}");
            match &first {
                None => first = Some(ledger),
                Some(f) => assert_same(f, &ledger, seed),
            }
        }
    }
    let total: usize = kinds.values().sum();
    eprintln!(
        "{seeds} histories, {total} entries ({:.1} per history), each delivered to {LEDGERS} ledgers: {kinds:?}",
        total as f64 / seeds as f64
    );
    // The histories exercise what they claim to.
    for kind in
        ["register_licensee", "countersigned", "import_confirmation", "zone_status", "attestation", "governance"]
    {
        assert!(kinds.get(kind).copied().unwrap_or(0) >= seeds as usize / 4, "too few {kind} entries: {kinds:?}");
    }
}
