//! R5 as a property: whatever productions, splits, mixes, exports and import
//! confirmations arrive, in whatever order and however wrong, no weight is
//! ever created or lost. For every participant, at every step:
//!
//!   produced + imported == remaining in its lots + exported
//!
//! A small model of the lots predicts each verdict, refusal codes included,
//! and refused operations must leave the ledger exactly as it was.

mod common;

use common::*;
use kp_schemas::codes;
use kp_schemas::model::*;
use kp_schemas::rules::{Refusal, Verdict};
use kp_schemas::state::LotOrigin;
use kp_schemas::{Hash32, Keypair};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// CF is under the zone regime: its productions name Berberati.
const PS: [&str; 4] = ["CF", "BW", "EU", "IN"];
const DAY: &str = "2017-03-01";

/// Two licensees per participant, each allowed every trading role, so that
/// holders, not roles, decide who may spend a lot.
struct Base {
    net: Net,
    keys: Vec<[Keypair; 2]>,
    berberati: Hash32,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut net = Net::new();
        let berberati = net.declare_zone("CF", "BER", "Berberati", ZoneState::Compliant, "2017-01-01");
        let roles = [Role::Miner, Role::Trader, Role::Exporter, Role::Importer];
        let keys = PS
            .iter()
            .map(|p| {
                [
                    net.register(p, &format!("{p} licensee A"), &roles),
                    net.register(p, &format!("{p} licensee B"), &roles),
                ]
            })
            .collect();
        net.skip_signature_checks();
        Base { net, keys, berberati }
    })
}

// ---------------------------------------------------------------- operations

/// Which lot an input takes from and how much, resolved against the lots
/// that exist when the operation runs.
#[derive(Debug, Clone)]
struct Pick {
    /// Any lot of the participant, spent or held by someone else, rather than
    /// one the submitter holds with weight left.
    any: bool,
    index: usize,
    /// Share of the lot's remaining weight; over 100 overspends.
    percent: u64,
}

#[derive(Debug, Clone)]
enum Op {
    Produce { p: usize, who: usize, weight: Weight },
    Transfer { p: usize, who: usize, inputs: Vec<Pick>, outputs: Vec<(u64, usize)>, skew: i64 },
    Export { p: usize, who: usize, inputs: Vec<Pick>, importer: usize, lines: usize, skew: i64 },
    Confirm { cert: usize, delta: i64, holder: usize },
}

fn pick() -> impl Strategy<Value = Pick> {
    // Whole lots often, so that spent lots are common.
    let percent = prop_oneof![6 => 1u64..=99, 3 => Just(100u64), 1 => 101u64..=110];
    (prop::bool::weighted(0.15), any::<usize>(), percent).prop_map(|(any, index, percent)| Pick { any, index, percent })
}

/// Mostly balanced; sometimes a hundredth of a carat off either way.
fn skew() -> impl Strategy<Value = i64> {
    prop_oneof![6 => Just(0i64), 1 => Just(-1i64), 1 => Just(1i64)]
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..2usize;
    prop_oneof![
        3 => (0..4usize, who.clone(), 1u64..=100_000).prop_map(|(p, who, weight)| Op::Produce { p, who, weight }),
        4 => (0..4usize, who.clone(), prop::collection::vec(pick(), 1..4), prop::collection::vec((1u64..=10, 0..2usize), 1..4), skew())
            .prop_map(|(p, who, inputs, outputs, skew)| Op::Transfer { p, who, inputs, outputs, skew }),
        2 => (0..4usize, who.clone(), prop::collection::vec(pick(), 1..3), 1..4usize, 1..4usize, skew())
            .prop_map(|(p, who, inputs, importer, lines, skew)| Op::Export { p, who, inputs, importer: (p + importer) % 4, lines, skew }),
        2 => (any::<usize>(), -2i64..=2, who).prop_map(|(cert, delta, holder)| Op::Confirm { cert, delta, holder }),
    ]
}

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone)]
struct ModelLot {
    holder: usize,
    remaining: Weight,
}

#[derive(Debug, Clone)]
struct ModelCert {
    number: String,
    importer: usize,
    weight: Weight,
    received: Option<Weight>,
}

#[derive(Default)]
struct Model {
    lots: [BTreeMap<String, ModelLot>; 4],
    produced: [Weight; 4],
    imported: [Weight; 4],
    exported: [Weight; 4],
    certs: Vec<ModelCert>,
    next: usize,
}

impl Model {
    fn fresh(&mut self, p: usize) -> String {
        self.next += 1;
        format!("{}/L{}", PS[p], self.next)
    }

    fn resolve(&self, p: usize, who: usize, picks: &[Pick]) -> Vec<(String, Weight)> {
        picks
            .iter()
            .map(|pk| {
                let held: Vec<&String> =
                    self.lots[p].iter().filter(|(_, l)| l.holder == who && l.remaining > 0).map(|(id, _)| id).collect();
                let all: Vec<&String> = self.lots[p].keys().collect();
                let from = if pk.any || held.is_empty() { all } else { held };
                match from.get(pk.index % from.len().max(1)) {
                    Some(id) => {
                        let remaining = self.lots[p][*id].remaining;
                        ((*id).clone(), (remaining * pk.percent / 100).max(1))
                    }
                    None => (format!("{}/none", PS[p]), 1),
                }
            })
            .collect()
    }

    /// R4 and R5 on the inputs, in the order the rules check them.
    fn spend(&self, p: usize, who: usize, takes: &[(String, Weight)]) -> Result<Weight, &'static str> {
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for (lot, w) in takes {
            if !seen.insert(lot) {
                return Err(codes::R5_DUPLICATE_INPUT);
            }
            let Some(l) = self.lots[p].get(lot) else { return Err(codes::R4_UNKNOWN_LOT) };
            if l.holder != who {
                return Err(codes::R4_NOT_HOLDER);
            }
            if l.remaining == 0 {
                return Err(codes::R5_ALREADY_SPENT);
            }
            if *w > l.remaining {
                return Err(codes::R5_OVERSPEND);
            }
            total += w;
        }
        Ok(total)
    }

    fn take(&mut self, p: usize, takes: &[(String, Weight)]) {
        for (lot, w) in takes {
            self.lots[p].get_mut(lot).expect("spent lot exists").remaining -= w;
        }
    }
}

/// `total` in parts proportional to `shares`, the last part absorbing the
/// rounding and then `skew`. A part may come out zero.
fn split(total: Weight, shares: &[u64], skew: i64) -> Vec<Weight> {
    let sum: u64 = shares.iter().sum();
    let mut parts: Vec<Weight> = shares.iter().map(|s| total * s / sum).collect();
    let rest = total - parts.iter().sum::<u64>();
    let last = parts.last_mut().expect("at least one part");
    *last = (*last as i64 + rest as i64 + skew).max(0) as Weight;
    parts
}

fn refs(v: &[(String, Weight)]) -> Vec<(&str, Weight)> {
    v.iter().map(|(l, w)| (l.as_str(), *w)).collect()
}

// ---------------------------------------------------------------- the run

struct Run {
    net: Net,
    model: Model,
}

impl Run {
    fn new() -> Self {
        Self { net: base().net.clone(), model: Model::default() }
    }

    fn key(&self, p: usize, who: usize) -> Keypair {
        base().keys[p][who].clone()
    }

    /// Apply one operation; returns the refusal code when refused.
    fn step(&mut self, op: &Op) -> Result<Option<String>, TestCaseError> {
        let before = self.net.ledger.clone();
        let (expected, got) = match op {
            Op::Produce { p, who, weight } => {
                let lot = self.model.fresh(*p);
                let zone = (*p == 0).then_some(("BER", Some(base().berberati)));
                let got =
                    self.net.submit_record(PS[*p], &self.key(*p, *who), production(&lot, "site", zone, *weight, DAY));
                if got.is_ok() {
                    self.model.lots[*p].insert(lot, ModelLot { holder: *who, remaining: *weight });
                    self.model.produced[*p] += weight;
                }
                (Ok(()), got)
            }
            Op::Transfer { p, who, inputs, outputs, skew } => {
                let takes = self.model.resolve(*p, *who, inputs);
                let asked: Weight = takes.iter().map(|(_, w)| w).sum();
                let shares: Vec<u64> = outputs.iter().map(|(s, _)| *s).collect();
                let weights = split(asked, &shares, *skew);
                let outs: Vec<(String, Weight, Keypair)> = weights
                    .iter()
                    .zip(outputs)
                    .map(|(w, (_, holder))| (self.model.fresh(*p), *w, self.key(*p, *holder)))
                    .collect();
                let expected = if weights.contains(&0) {
                    Err(codes::R9_ZERO_WEIGHT)
                } else {
                    self.model.spend(*p, *who, &takes).and_then(|taken| {
                        if weights.iter().sum::<Weight>() == taken { Ok(()) } else { Err(codes::R5_UNBALANCED) }
                    })
                };
                let out_refs: Vec<(&str, Weight, &Keypair)> =
                    outs.iter().map(|(l, w, k)| (l.as_str(), *w, k)).collect();
                let body = transfer(&refs(&takes), &out_refs, DAY);
                let got = self.net.submit_record(PS[*p], &self.key(*p, *who), body);
                if got.is_ok() {
                    self.model.take(*p, &takes);
                    for ((lot, w, _), (_, holder)) in outs.iter().zip(outputs) {
                        self.model.lots[*p].insert(lot.clone(), ModelLot { holder: *holder, remaining: *w });
                    }
                }
                (expected, got)
            }
            Op::Export { p, who, inputs, importer, lines, skew } => {
                let takes = self.model.resolve(*p, *who, inputs);
                let asked: Weight = takes.iter().map(|(_, w)| w).sum();
                let weights = split(asked, &vec![1; *lines], *skew);
                let hs_codes = ["7102.10", "7102.21", "7102.31"];
                let hs: Vec<(&str, Weight)> = weights.iter().enumerate().map(|(i, w)| (hs_codes[i % 3], *w)).collect();
                self.model.next += 1;
                let number = format!("{}-{}", PS[*p], self.model.next);
                let expected = if weights.contains(&0) {
                    Err(codes::R9_ZERO_WEIGHT)
                } else {
                    self.model.spend(*p, *who, &takes).and_then(|taken| {
                        if weights.iter().sum::<Weight>() == taken { Ok(()) } else { Err(codes::R5_UNBALANCED) }
                    })
                };
                let body = export(&number, PS[*importer], &refs(&takes), &hs, DAY);
                let got = self.net.submit_record(PS[*p], &self.key(*p, *who), body);
                if got.is_ok() {
                    self.model.take(*p, &takes);
                    self.model.exported[*p] += asked;
                    self.model.certs.push(ModelCert { number, importer: *importer, weight: asked, received: None });
                }
                (expected, got)
            }
            Op::Confirm { cert, delta, holder } => {
                if self.model.certs.is_empty() {
                    return Ok(None);
                }
                let i = cert % self.model.certs.len();
                let c = self.model.certs[i].clone();
                let received = (c.weight as i64 + delta).max(1) as Weight;
                let lot = self.model.fresh(c.importer);
                let body =
                    self.net.confirmation(&c.number, received, 2, &lot, &self.key(c.importer, *holder), "2017-04-01");
                let got = self.net.submit(&authority_key(PS[c.importer]), body);
                let expected = if c.received.is_some() { Err(codes::R7_ALREADY_CONFIRMED) } else { Ok(()) };
                if got.is_ok() {
                    self.model.certs[i].received = Some(received);
                    self.model.imported[c.importer] += received;
                    self.model.lots[c.importer].insert(lot, ModelLot { holder: *holder, remaining: received });
                }
                (expected, got)
            }
        };
        let got_code = match &got {
            Ok(Verdict::Accepted(_)) => None,
            Ok(other) => return Err(TestCaseError::fail(format!("{op:?}: unexpected verdict {other:?}"))),
            Err(Refusal { code, .. }) => Some(code.clone()),
        };
        prop_assert_eq!(got_code.as_deref(), expected.err(), "{:?}", op);
        if got_code.is_some() {
            // Refused: nothing moved.
            prop_assert_eq!(&before.lots, &self.net.ledger.lots);
            prop_assert_eq!(&before.certs, &self.net.ledger.certs);
            prop_assert_eq!(&before.heads, &self.net.ledger.heads);
            prop_assert_eq!(&before.records, &self.net.ledger.records);
        }
        Ok(got_code)
    }

    /// The balance, read from the ledger, against the model's tallies.
    fn check_balance(&self) -> Result<(), TestCaseError> {
        let ledger = &self.net.ledger;
        for (i, p) in PS.iter().enumerate() {
            let lots = self.net.lots_of(p);
            let remaining: Weight = lots.values().map(|l| l.remaining).sum();
            let produced: Weight =
                lots.values().filter(|l| matches!(l.origin, LotOrigin::Production { .. })).map(|l| l.weight).sum();
            let imported: Weight =
                lots.values().filter(|l| matches!(l.origin, LotOrigin::Import { .. })).map(|l| l.weight).sum();
            let exported: Weight = ledger.certs.values().filter(|c| c.exporter == *p).map(|c| c.weight).sum();
            prop_assert_eq!(produced, self.model.produced[i], "{} produced", p);
            prop_assert_eq!(imported, self.model.imported[i], "{} imported", p);
            prop_assert_eq!(exported, self.model.exported[i], "{} exported", p);
            prop_assert_eq!(produced + imported, remaining + exported, "{} balance", p);
            for (id, l) in &lots {
                prop_assert!(l.remaining <= l.weight, "{} {}", p, id);
                prop_assert_eq!(Some(l.remaining), self.model.lots[i].get(id).map(|m| m.remaining), "{} {}", p, id);
            }
            prop_assert_eq!(lots.len(), self.model.lots[i].len());
        }
        // Across the network: every hundredth of a carat mined is in a lot or
        // on a certificate, give or take what importers reported receiving.
        let mined: Weight = self.model.produced.iter().sum();
        let in_lots: Weight = ledger.lots.values().map(|l| l.remaining).sum();
        let certified: Weight = ledger.certs.values().map(|c| c.weight).sum();
        let received: Weight = ledger.certs.values().filter_map(|c| c.confirmation.as_ref()).map(|c| c.weight).sum();
        prop_assert_eq!(mined + received, in_lots + certified);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn weight_is_never_created_or_lost(ops in prop::collection::vec(op(), 1..40)) {
        let mut run = Run::new();
        for op in &ops {
            run.step(op)?;
            run.check_balance()?;
        }
    }
}

/// The property holds over long histories too, not only short ones: a fixed
/// long run that reaches many splits of splits and re-exports.
#[test]
fn a_long_history_balances() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let mut runner =
        TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(Config::default().rng_algorithm));
    let ops = prop::collection::vec(op(), 400).new_tree(&mut runner).expect("ops").current();
    let mut run = Run::new();
    let mut refused = BTreeMap::<String, usize>::new();
    let mut accepted = 0;
    for op in &ops {
        match run.step(op).expect("verdict as the model predicts") {
            Some(code) => *refused.entry(code).or_default() += 1,
            None => accepted += 1,
        }
        run.check_balance().expect("balance");
    }
    // The run exercises both sides of R5, not just the happy path.
    assert!(accepted > 100, "only {accepted} accepted");
    for code in [
        codes::R5_OVERSPEND,
        codes::R5_ALREADY_SPENT,
        codes::R5_UNBALANCED,
        codes::R5_DUPLICATE_INPUT,
        codes::R4_NOT_HOLDER,
        codes::R7_ALREADY_CONFIRMED,
    ] {
        assert!(refused.contains_key(code), "{code} never came up: {refused:?}");
    }
    assert!(run.model.certs.iter().any(|c| c.received.is_some_and(|r| r != c.weight)), "no mismatched confirmation");
}
